/**
 * The instrumented operator source against EXPLAIN ANALYZE: an EXPLAIN
 * (ANALYZE, FORMAT JSON) statement is itself an instrumented execution, so
 * the nodes read at its ExecutorEnd must carry exactly the rows and loops its
 * JSON prints (rows × loops, node by node, matched by type in tree order).
 * Plain statements are instrumented by auto_explain (session_preload_libraries,
 * log_analyze, never logging).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PlanNodeSource, type PlanNode } from '../../../src/collectors/plan-nodes/source.js';
import { pgbenchInit } from '../../../src/demo/workload.js';
import { discoverTarget } from '../../../src/pg/target.js';
import { packageRoot } from '../../../src/util/package-root.js';
import { describeBpf } from '../../helpers/bpf-env.js';
import { useCluster } from '../../helpers/cluster-fixture.js';

interface ExplainNode { 'Node Type': string; 'Actual Rows': number; 'Actual Loops': number; Plans?: ExplainNode[] }

const QUERIES = [
  'SELECT b.bid, count(*), sum(a.abalance) FROM pgbench_accounts a JOIN pgbench_branches b USING (bid) GROUP BY b.bid ORDER BY 3 DESC',
  'SELECT aid, abalance FROM pgbench_accounts WHERE aid % 7 = 3 ORDER BY abalance DESC, aid LIMIT 20',
  'SELECT t.tid, (SELECT count(*) FROM pgbench_accounts a WHERE a.bid = t.bid AND a.aid < 500) FROM pgbench_tellers t ORDER BY 1',
  'SELECT * FROM pgbench_branches WHERE bid IN (SELECT bid FROM pgbench_tellers WHERE tid < 5) UNION ALL SELECT * FROM pgbench_branches',
  'SELECT count(*) FROM pgbench_accounts a JOIN pgbench_tellers t ON t.bid = a.bid WHERE a.aid BETWEEN 1 AND 2000 AND t.tid % 2 = 0',
];

/** EXPLAIN JSON nodes in pre-order: [type, rows × loops, loops]. */
function flatten(n: ExplainNode, out: [string, number, number][] = []): [string, number, number][] {
  out.push([n['Node Type'], n['Actual Rows'] * n['Actual Loops'], n['Actual Loops']]);
  for (const c of n.Plans ?? []) flatten(c, out);
  return out;
}

const key = ([type, rows]: [string, number, number]) => `${type}:${Math.round(rows)}`;

describeBpf('instrumented operator source: PostgreSQL\'s own per-node counts at ExecutorEnd', () => {
  let source: PlanNodeSource;
  const explained: [string, number, number][][] = [];
  const byStatement = new Map<bigint, PlanNode[]>();
  const db = useCluster({
    outPrefix: 'pgscout-plan-nodes-',
    settings: {
      session_preload_libraries: 'auto_explain', 'auto_explain.log_analyze': 'on', 'auto_explain.log_buffers': 'on',
      'auto_explain.log_timing': 'off', 'auto_explain.log_min_duration': '3600000', max_parallel_workers_per_gather: '0',
    },
    setup: async (cluster) => {
      await pgbenchInit(cluster, 1);
      await cluster.psql('VACUUM ANALYZE');
      source = new PlanNodeSource(await discoverTarget(cluster.conninfo), packageRoot(), { rowsPerSecond: null, slowNs: 0 });
      for (const q of QUERIES) {
        const json = await cluster.psql(`EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) ${q}`);
        explained.push(flatten((JSON.parse(json) as { Plan: ExplainNode }[])[0]!.Plan));
      }
      for (const q of QUERIES) await cluster.psql(q);
      await new Promise((r) => setTimeout(r, 200));
      for (const n of source.drain()) {
        const list = byStatement.get(n.statementNs) ?? [];
        list.push(n);
        byStatement.set(n.statementNs, list);
      }
    },
    teardown: () => source?.close(),
  });

  it('reads every node of each EXPLAIN ANALYZE with its rows × loops', () => {
    const statements = [...byStatement.values()].filter((nodes) => nodes.every((n) => n.instrumented));
    // each EXPLAIN ANALYZE and each auto_explain-instrumented statement (psql's own queries may add more)
    expect(statements.length).toBeGreaterThanOrEqual(2 * QUERIES.length);
    for (const want of explained) {
      const wantKeys = want.map(key).sort();
      const match = statements.find((nodes) => nodes.length === want.length
        && nodes.map((n) => key([n.nodeType, n.rows, n.loops])).sort().join('|') === wantKeys.join('|'));
      expect(match, `no statement read with nodes ${wantKeys.join(', ')}`).toBeDefined();
    }
  });

  it('reads plain statements instrumented by auto_explain the same way, with buffers and the tree shape', () => {
    for (const want of explained) {
      const wantKeys = want.map(key).sort().join('|');
      const copies = [...byStatement.values()].filter((nodes) => nodes.map((n) => key([n.nodeType, n.rows, n.loops])).sort().join('|') === wantKeys);
      // once as EXPLAIN ANALYZE, once as the plain statement
      expect(copies.length, wantKeys).toBeGreaterThanOrEqual(2);
      for (const nodes of copies) {
        const roots = nodes.filter((n) => n.parentId === null);
        expect(roots).toHaveLength(1);
        const ids = new Set(nodes.map((n) => n.planNodeId));
        for (const n of nodes) if (n.parentId !== null) expect(ids.has(n.parentId)).toBe(true);
        expect(nodes.some((n) => n.buf[0]! + n.buf[1]! > 0n)).toBe(true);
      }
    }
  });

  it('finds the subplan and the append children', () => {
    const all = [...byStatement.values()].flat();
    expect(all.some((n) => n.subplanRoot)).toBe(true);
    expect(all.some((n) => n.nodeType === 'Append')).toBe(true);
    expect(source.readStats().nodes_cut).toBe(0n);
  });
});
