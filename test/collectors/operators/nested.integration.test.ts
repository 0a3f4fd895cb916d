/**
 * Statements run nested in another (here PL/pgSQL) start their own plans,
 * whose plan_node_ids repeat the outer plan's: every plan gets its own
 * plan_seq, so no node row overwrites another and each tree stays whole.
 * The outer plan equals EXPLAIN ANALYZE; each nested run has its own counts.
 */
import pg from 'pg';
import { expect, it } from 'vitest';
import { toClientConfig } from '../../../src/pg/target.js';
import { Collection, type CollectionSummary } from '../../../src/collect/collection.js';
import { collectConfig } from '../../../src/config.js';
import { describeBpf } from '../../helpers/bpf-env.js';
import { useCluster } from '../../helpers/cluster-fixture.js';
import { readTable } from '../../helpers/dataset.js';
import { explainAnalyze, explainedRows } from './explain.js';

const CALLS = 3;
const OUTER = `SELECT sum(nt_f(i)) FROM generate_series(1, ${CALLS}) i`;
const NESTED = (i: number) => `SELECT (SELECT count(*) FROM nt WHERE a < ${i} * 100)`;

type Node = { type: string; id: number; parent: number | null; rows: number };
const byId = (a: Node, b: Node) => a.id - b.id;

describeBpf('operators: plans of nested statements', () => {
  let summary: CollectionSummary;
  const explained = new Map<string, Omit<Node, 'id' | 'parent'>[]>();

  const db = useCluster({
    outPrefix: 'pgscout-nested-',
    setup: async (cluster, out) => {
      await cluster.psql(`CREATE TABLE nt(a int); INSERT INTO nt SELECT generate_series(1, 1000); ANALYZE nt;
        CREATE FUNCTION nt_f(i int) RETURNS bigint LANGUAGE plpgsql AS $$ BEGIN RETURN (SELECT count(*) FROM nt WHERE a < i * 100); END $$`);
      const collection = await Collection.start(collectConfig({ pg: cluster.conninfo, out, interval: '200ms', level: 'operator', 'operator-probes': '1' }));
      const client = new pg.Client(toClientConfig(cluster.conninfo));
      await client.connect();
      await client.query(OUTER);
      for (const sql of [OUTER, ...Array.from({ length: CALLS }, (_, i) => NESTED(i + 1))]) {
        explained.set(sql, explainedRows(await explainAnalyze(client, sql)));
      }
      await client.end();
      summary = await collection.stop();
    },
  });

  /** The first execution of OUTER: its node rows by plan_seq, in start order. */
  const plans = async () => {
    const [stmt] = await readTable(db.out, 'queries', "starts_with(query_text, 'SELECT sum(nt_f(')");
    const rows = await readTable(db.out, 'operators', `query_id = ${stmt!.query_id}`);
    const first = rows.map((r) => r.exec_id as bigint).sort((a, b) => (a < b ? -1 : 1))[0];
    const byPlan = new Map<bigint, Node[]>();
    for (const r of rows.filter((x) => x.exec_id === first)) {
      const node = { type: String(r.node_type), id: Number(r.plan_node_id), parent: r.parent_node_id === null ? null : Number(r.parent_node_id), rows: Number(r.tuples) };
      byPlan.set(r.plan_seq as bigint, [...(byPlan.get(r.plan_seq as bigint) ?? []), node]);
    }
    return [...byPlan.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, nodes]) => nodes.sort(byId));
  };

  it('the statement\'s own plan is the lowest plan_seq and equals EXPLAIN ANALYZE', async () => {
    const [own] = await plans();
    expect(own!.map(({ type, rows }) => ({ type, rows }))).toEqual(explained.get(OUTER));
  });

  it('each nested run is a whole tree of its own, with its own counts', async () => {
    const [, ...nested] = await plans();
    expect(nested).toHaveLength(CALLS);
    nested.forEach((tree, i) => {
      expect(tree.map(({ type, rows }) => ({ type, rows }))).toEqual(explained.get(NESTED(i + 1)));
      expect(tree.filter((n) => n.parent === null)).toHaveLength(1);
      for (const n of tree) if (n.parent !== null) expect(tree.map((x) => x.id)).toContain(n.parent);
    });
  });

  it('loses no node row: (exec_id, plan_seq, plan_node_id, pid) is unique and nothing was dropped', async () => {
    const rows = await readTable(db.out, 'operators', 'true');
    const keys = new Set(rows.map((r) => `${r.exec_id}/${r.plan_seq}/${r.plan_node_id}/${r.pid}`));
    expect(keys.size).toBe(rows.length);
    expect(summary.collectors.operators!.drops.reduce((a, d) => a + d.count, 0)).toBe(0);
    // Every node that finished in the kernel was drained (pgscout's own included), none after the last drain.
    const ops = summary.collectors.operators!;
    expect(ops.kernel!.nodes_done).toBe(BigInt(ops.maps[0]!.drained));
  });
});
