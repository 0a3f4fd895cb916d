/**
 * The operator level in `summary`: per node type, what every instrumented
 * execution summed to (plan_node_stats, exact) — buffers and exclusive time —
 * and how far the planner's row estimates were from the actual rows (plan_nodes,
 * per execution: the q-error a cost-model user looks at first).
 */
import { hasTable, queryParquet, tableSource } from '../dataset/read-back.js';

const ms = (v: unknown) => (v === null || v === undefined ? 'n/a' : (Number(v) / 1e6).toFixed(2));
const q = (v: unknown) => (v === null || v === undefined ? 'n/a' : Number(v).toFixed(2));

export async function planNodeSummary(outDir: string): Promise<string[]> {
  if (!hasTable(outDir, 'plan_node_stats')) return [];
  const sums = await queryParquet(`SELECT node_type, sum(calls) AS calls, sum(rows) AS rows, sum(loops) AS loops,
      sum(shared_blks_hit) AS hit, sum(shared_blks_read) AS rd, sum(temp_blks_read) + sum(temp_blks_written) AS tmp,
      sum(excl_ns) AS excl, sum(timed_calls) AS timed
      FROM ${tableSource(outDir, 'plan_node_stats')} GROUP BY 1 ORDER BY sum(shared_blks_hit) + sum(shared_blks_read) DESC, 1`);
  const qerr = new Map<string, { med: unknown; p90: unknown; n: unknown }>();
  if (hasTable(outDir, 'plan_nodes')) {
    // Per executed node: estimate per loop against actual rows per loop, both at least 1 (as the literature does).
    const rows = await queryParquet(`WITH e AS (SELECT node_type, greatest(est_rows, 1) AS est,
        greatest(rows::DOUBLE / loops, 1) AS act FROM ${tableSource(outDir, 'plan_nodes')} WHERE loops > 0)
      SELECT node_type, median(greatest(est / act, act / est)) AS med,
        quantile_cont(greatest(est / act, act / est), 0.9) AS p90, count(*) AS n FROM e GROUP BY 1`);
    for (const r of rows) qerr.set(String(r.node_type), { med: r.med, p90: r.p90, n: r.n });
  }
  const total = sums.reduce((a, r) => a + Number(r.calls), 0);
  return [
    `  plan nodes by type (plan_node_stats: every instrumented execution; q-error from ${[...qerr.values()].reduce((a, r) => a + Number(r.n), 0)} plan_nodes rows):`,
    '    node type              calls         rows        loops   shared hit  shared read  temp blks   excl ms (timed calls)  rows q-error median / p90',
    ...sums.map((r) => {
      const e = qerr.get(String(r.node_type));
      return `    ${String(r.node_type).padEnd(20)} ${String(r.calls).padStart(7)} ${String(r.rows).padStart(12)} ` +
        `${String(r.loops).padStart(12)} ${String(r.hit).padStart(12)} ${String(r.rd).padStart(12)} ${String(r.tmp).padStart(10)} ` +
        `${ms(r.excl).padStart(9)} (${String(r.timed).padStart(7)})  ${e ? `${q(e.med)} / ${q(e.p90)}` : 'n/a'}`;
    }),
    ...(total === 0 ? ['    (no instrumented statement: see docs/dataset.md, operator level)'] : []),
  ];
}
