/** The operator level in `summary`: per node type, the exact sums, buffers, exclusive time and the rows q-error. */
import { planNodeTypes } from '../report/plan-node-data.js';

const ms = (v: bigint | null) => (v === null ? 'n/a' : (Number(v) / 1e6).toFixed(2));
const q = (v: number | null) => (v === null ? 'n/a' : v.toFixed(2));

export async function planNodeSummary(outDir: string): Promise<string[]> {
  const types = await planNodeTypes(outDir);
  if (types === null) return [];
  const nodes = types.reduce((a, t) => a + t.qerrorNodes, 0);
  return [
    `  plan nodes by type (plan_node_stats: every instrumented execution; rows q-error from ${nodes} sampled plan_nodes rows):`,
    '    node type              calls         rows        loops   shared hit  shared read  temp blks   excl ms (timed calls)  rows q-error median / p90',
    ...types.map((t) => `    ${t.nodeType.padEnd(20)} ${String(t.calls).padStart(7)} ${String(t.rows).padStart(12)} ` +
      `${String(t.loops).padStart(12)} ${String(t.sharedHit).padStart(12)} ${String(t.sharedRead).padStart(12)} ${String(t.tempBlocks).padStart(10)} ` +
      `${ms(t.exclNs).padStart(9)} (${String(t.timedCalls).padStart(7)})  ${t.qerrorNodes ? `${q(t.qerrorMedian)} / ${q(t.qerrorP90)}` : 'n/a'}`),
    ...(types.length === 0 ? ['    (no instrumented statement: see docs/dataset.md, operator level)'] : []),
  ];
}
