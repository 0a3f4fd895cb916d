/**
 * collect --level operator end to end (the server's own auto_explain): a cluster whose sessions load auto_explain
 * (log_analyze, log_buffers, log_timing, never logging), a few analytical
 * statements, the plan_nodes table read back with DuckDB: every statement's
 * nodes carry EXPLAIN ANALYZE's rows × loops, the tree is whole, and the
 * exclusive times add up to the root's total.
 */
import { expect, it } from 'vitest';
import { Collection } from '../../../src/collect/collection.js';
import { collectConfig } from '../../../src/config.js';
import { queryParquet, tableSource } from '../../../src/dataset/read-back.js';
import { pgbenchInit } from '../../../src/demo/workload.js';
import { describeBpf } from '../../helpers/bpf-env.js';
import { useCluster } from '../../helpers/cluster-fixture.js';

interface ExplainNode { 'Node Type': string; 'Actual Rows': number; 'Actual Loops': number; Plans?: ExplainNode[] }

const QUERIES = [
  'SELECT b.bid, count(*), sum(a.abalance) FROM pgbench_accounts a JOIN pgbench_branches b USING (bid) GROUP BY b.bid ORDER BY 3 DESC',
  'SELECT t.tid, (SELECT count(*) FROM pgbench_accounts a WHERE a.bid = t.bid AND a.aid < 500) AS n FROM pgbench_tellers t ORDER BY 1',
  'SELECT aid, abalance FROM pgbench_accounts WHERE aid % 7 = 3 ORDER BY abalance DESC, aid LIMIT 20',
];

function flatten(n: ExplainNode, out: string[] = []): string[] {
  out.push(`${n['Node Type']}:${n['Actual Rows'] * n['Actual Loops']}`);
  for (const c of n.Plans ?? []) flatten(c, out);
  return out;
}

describeBpf('collect --level operator: PostgreSQL\'s per-node instrumentation in the dataset', () => {
  const explained: string[][] = [];
  const db = useCluster({
    outPrefix: 'pgscout-plan-nodes-collect-',
    settings: {
      session_preload_libraries: 'auto_explain', 'auto_explain.log_analyze': 'on', 'auto_explain.log_buffers': 'on',
      'auto_explain.log_timing': 'on', 'auto_explain.log_min_duration': '3600000', max_parallel_workers_per_gather: '0',
    },
    setup: async (cluster, out) => {
      await pgbenchInit(cluster, 1);
      await cluster.psql('VACUUM ANALYZE');
      for (const q of QUERIES) {
        explained.push(flatten((JSON.parse(await cluster.psql(`EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) ${q}`)) as { Plan: ExplainNode }[])[0]!.Plan).sort());
      }
      const collection = await Collection.start(collectConfig({ pg: cluster.conninfo, out, interval: '300ms', level: 'operator' }));
      for (let i = 0; i < 2; i++) for (const q of QUERIES) await cluster.psql(q);
      await new Promise((r) => setTimeout(r, 400));
      await collection.stop();
    },
  });

  async function statements(): Promise<Map<string, Record<string, unknown>[]>> {
    const rows = await queryParquet(`SELECT statement_id::VARCHAR AS sid, query_text, node_type, rows, loops, plan_node_id, parent_node_id,
        timed, total_ns, excl_ns, shared_blks_hit FROM ${tableSource(db.out, 'plan_nodes')} ORDER BY statement_id, plan_node_id`);
    const out = new Map<string, Record<string, unknown>[]>();
    for (const r of rows) out.set(String(r.sid), [...(out.get(String(r.sid)) ?? []), r]);
    return out;
  }

  it('writes each run of each statement with EXPLAIN ANALYZE\'s rows × loops per node', async () => {
    const all = [...(await statements()).values()];
    for (const [i, q] of QUERIES.entries()) {
      const runs = all.filter((nodes) => nodes.map((n) => `${n.node_type}:${Number(n.rows)}`).sort().join('|') === explained[i]!.join('|'));
      expect(runs.length, q).toBe(2);
    }
    // the statement collector's text joins in (normalized, no literals)
    expect(all.some((nodes) => String(nodes[0]!.query_text).startsWith('SELECT aid, abalance FROM pgbench_accounts WHERE aid % $1'))).toBe(true);
  });

  it('keeps the tree whole and the exclusive times add up to the root\'s total', async () => {
    for (const nodes of (await statements()).values()) {
      const ids = new Set(nodes.map((n) => n.plan_node_id));
      const roots = nodes.filter((n) => n.parent_node_id === null);
      expect(roots).toHaveLength(1);
      for (const n of nodes) if (n.parent_node_id !== null) expect(ids.has(n.parent_node_id)).toBe(true);
      expect(nodes.every((n) => n.timed === true)).toBe(true);
      const excl = nodes.reduce((a, n) => a + Number(n.excl_ns), 0);
      expect(Math.abs(excl - Number(roots[0]!.total_ns))).toBeLessThanOrEqual(nodes.length);
      for (const n of nodes) expect(Number(n.excl_ns)).toBeLessThanOrEqual(Number(n.total_ns));
      expect(nodes.some((n) => Number(n.shared_blks_hit) > 0)).toBe(true);
    }
  });

  it('sums every execution per node in the kernel: plan_node_stats equals the sum of the rows it stands for', async () => {
    const cols = ['rows', 'loops', 'rows_removed_by_filter', 'shared_blks_hit', 'shared_blks_read', 'temp_blks_written', 'wal_records'];
    const sum = (t: string, extra: string) => queryParquet(`SELECT query_id, plan_node_id, node_type, ${extra}
        ${cols.map((c) => `, sum(${c})::BIGINT AS ${c}`).join('')}, sum(total_ns)::BIGINT AS total_ns
        FROM ${tableSource(db.out, t)} WHERE query_id IS NOT NULL GROUP BY ALL ORDER BY ALL`);
    const stats = await sum('plan_node_stats', 'sum(calls)::BIGINT AS n');
    const rows = await sum('plan_nodes', 'count(*)::BIGINT AS n');
    expect(stats.length).toBeGreaterThanOrEqual(QUERIES.length * 3);
    expect(stats.map((r) => ({ ...r, total_ns: null }))).toEqual(rows.map((r) => ({ ...r, total_ns: null })));
    // Times: the kernel converts PostgreSQL's double seconds with 31 significant bits; user space with a double.
    stats.forEach((r, i) => expect(Math.abs(Number(r.total_ns) - Number(rows[i]!.total_ns))).toBeLessThanOrEqual(Math.max(16, Number(r.total_ns) * 1e-8)));
    const [w] = await queryParquet(`SELECT min(sample_weight) AS lo, max(sample_weight) AS hi FROM ${tableSource(db.out, 'plan_nodes')}`);
    expect([w!.lo, w!.hi]).toEqual([1, 1]);
  });

  it('joins queries by exec_id: each statement\'s nodes name the execution the statement source sampled', async () => {
    const [r] = await queryParquet(`WITH p AS (SELECT DISTINCT statement_id, exec_id, query_id FROM ${tableSource(db.out, 'plan_nodes')})
      SELECT count(*) AS n, count(p.exec_id) AS with_id, count(q.exec_id) AS joined, count(DISTINCT p.exec_id) AS distinct_ids
      FROM p LEFT JOIN ${tableSource(db.out, 'queries')} q ON q.exec_id = p.exec_id AND q.query_id = p.query_id`);
    expect(Number(r!.n)).toBeGreaterThanOrEqual(QUERIES.length * 2);
    expect(Number(r!.with_id)).toBe(Number(r!.n));
    expect(Number(r!.joined)).toBe(Number(r!.n));
    expect(Number(r!.distinct_ids)).toBe(Number(r!.n));
  });
});

describeBpf('collect --level operator --exact: the statements of one round trip keep their own exec_id', () => {
  const db = useCluster({
    outPrefix: 'pgscout-plan-nodes-exact-',
    settings: {
      session_preload_libraries: 'auto_explain', 'auto_explain.log_analyze': 'on', 'auto_explain.log_timing': 'off',
      'auto_explain.log_min_duration': '3600000', max_parallel_workers_per_gather: '0',
    },
    setup: async (cluster, out) => {
      await pgbenchInit(cluster, 1);
      const collection = await Collection.start(collectConfig({
        pg: cluster.conninfo, out, interval: '300ms', level: 'operator', exact: true, 'statement-rows': 'all',
      }));
      // One Query message, three statements: --exact counts each at the end of its PortalRun.
      for (let i = 0; i < 3; i++) await cluster.psql(QUERIES.join('; '));
      await new Promise((r) => setTimeout(r, 400));
      await collection.stop();
    },
  });

  it('numbers each statement of a multi-statement string before the next one runs: every plan joins its own queries row', async () => {
    const [r] = await queryParquet(`WITH p AS (SELECT DISTINCT statement_id, exec_id, query_id FROM ${tableSource(db.out, 'plan_nodes')})
      SELECT count(*) AS n, count(q.exec_id) AS joined, count(DISTINCT p.exec_id) AS distinct_ids, count(DISTINCT p.query_id) AS ids
      FROM p LEFT JOIN ${tableSource(db.out, 'queries')} q ON q.exec_id = p.exec_id AND q.query_id = p.query_id`);
    expect(Number(r!.n)).toBe(QUERIES.length * 3);
    expect(Number(r!.ids)).toBe(QUERIES.length);
    expect(Number(r!.joined)).toBe(Number(r!.n));
    expect(Number(r!.distinct_ids)).toBe(Number(r!.n));
  });
});
