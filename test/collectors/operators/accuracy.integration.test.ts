/**
 * Operator accuracy against PostgreSQL's own instrumentation: every case of
 * the suite runs as EXPLAIN ANALYZE while `--level operator --sample 1`
 * collects; that very execution's rows must match EXPLAIN node by node.
 */
import pg from 'pg';
import { expect, it } from 'vitest';
import { toClientConfig } from '../../../src/pg/target.js';
import { Collection } from '../../../src/collect/collection.js';
import { collectConfig } from '../../../src/config.js';
import { describeBpf } from '../../helpers/bpf-env.js';
import { useCluster } from '../../helpers/cluster-fixture.js';
import { readTable } from '../../helpers/dataset.js';
import { BASE_SETTINGS, CASES, COVERED_NODE_TYPES, setupSchema } from './suite.js';
import { explainJson, matchNodes, tupleBounds, walkExplain, type ExplainNode } from './explain.js';

type Row = Record<string, unknown>;

interface CaseResult { name: string; explain: ExplainNode; rows: Row[] }

describeBpf('operator rows equal EXPLAIN ANALYZE, node by node', () => {
  const results: CaseResult[] = [];

  useCluster({
    settings: { max_worker_processes: '8', max_parallel_workers: '8' },
    outPrefix: 'pgscout-ops-',
    setup: async (cluster, out) => {
      await setupSchema((sql) => cluster.psql(sql));
      const collection = await Collection.start(collectConfig({ pg: cluster.conninfo, out, interval: '250ms', level: 'operator', 'operator-probes': '1' }));
      const client = new pg.Client(toClientConfig(cluster.conninfo));
      await client.connect();
      const pid = (client as unknown as { processID: number }).processID;
      const explains: ExplainNode[] = [];
      for (const c of CASES) explains.push((await explainJson(client, c.sql, { ...BASE_SETTINGS, ...c.settings })).plan);
      await client.end();
      await collection.stop();
      const rows = await readTable(out, 'operators', `leader_pid = ${pid}`);
      const execs = [...new Set(rows.map((r) => r.exec_id as bigint))].sort((a, b) => (a < b ? -1 : 1));
      if (execs.length !== CASES.length) {
        const summary = execs.map((e) => rows.filter((r) => r.exec_id === e).map((r) => `${r.plan_node_id}:${r.node_type}`).join(' '));
        const want = CASES.map((c, i) => `${c.name}: ${[...walkExplain(explains[i]!)].map((n) => n.nodeType).join(' ')}`);
        console.log(JSON.stringify({ got: summary, want }, null, 1));
      }
      expect(execs).toHaveLength(CASES.length);
      CASES.forEach((c, i) => results.push({ name: c.name, explain: explains[i]!, rows: rows.filter((r) => r.exec_id === execs[i]) }));
    },
  });

  const leaderRows = (r: CaseResult) => r.rows.filter((x) => x.worker === -1).map((x) => ({
    plan_node_id: x.plan_node_id as number, parent_node_id: x.parent_node_id as number | null, node_type: x.node_type as string,
  }));

  it('covers every node type the issue lists', () => {
    const seen = new Set(results.flatMap((r) => r.rows.map((x) => x.node_type as string)));
    for (const t of COVERED_NODE_TYPES) expect(seen, t).toContain(t);
  });

  it('has a row for every EXPLAIN node, with the same tree shape and node types', () => {
    const problems: string[] = [];
    for (const r of results) {
      try {
        const matched = matchNodes(leaderRows(r), r.explain);
        const total = [...walkExplain(r.explain)].length;
        if (matched.size !== total) problems.push(`${r.name}: matched ${matched.size} of ${total} EXPLAIN nodes`);
      } catch (err) {
        problems.push(`${r.name}: ${(err as Error).message}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('tuples and loops equal EXPLAIN ANALYZE (exact when loops = 1), workers included', () => {
    const problems: string[] = [];
    for (const r of results) {
      let matched: Map<number, ExplainNode>;
      try { matched = matchNodes(leaderRows(r), r.explain); } catch { continue; }
      for (const [id, ex] of matched) {
        const mine = r.rows.filter((x) => x.plan_node_id === id);
        const tuples = mine.reduce((s, x) => s + Number(x.tuples), 0);
        const loops = mine.reduce((s, x) => s + Number(x.loops), 0);
        const [lo, hi] = tupleBounds(ex.actualRows, ex.actualLoops);
        if (loops !== ex.actualLoops) problems.push(`${r.name} #${id} ${ex.nodeType}: loops ${loops}, EXPLAIN ${ex.actualLoops}`);
        if (tuples < lo || tuples > hi) problems.push(`${r.name} #${id} ${ex.nodeType}: tuples ${tuples}, EXPLAIN ${ex.actualRows} x ${ex.actualLoops}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it("exclusive times of a statement's leader nodes sum to the root's inclusive time within 5%", () => {
    const problems: string[] = [];
    for (const r of results) {
      const leader = r.rows.filter((x) => x.worker === -1);
      const root = leader.filter((x) => x.parent_node_id === null && !x.is_subplan)
        .sort((a, b) => (a.plan_node_id as number) - (b.plan_node_id as number))[0];
      if (!root) { problems.push(`${r.name}: no root row`); continue; }
      const sum = leader.reduce((s, x) => s + Number(x.excl_ns), 0);
      const incl = Number(root.incl_ns);
      if (Math.abs(sum - incl) > 0.05 * incl) problems.push(`${r.name}: sum(excl) ${sum} vs root incl ${incl}`);
    }
    expect(problems).toEqual([]);
  });

  it('every row has its plan features and query_id', () => {
    for (const r of results) {
      for (const x of r.rows) {
        expect(x.query_id, `${r.name} query_id`).not.toBeNull();
        expect(typeof x.node_type).toBe('string');
        expect(Number(x.est_total_cost)).toBeGreaterThanOrEqual(0);
        expect(Number(x.est_rows)).toBeGreaterThanOrEqual(0);
        if (/^(Seq|Index|Index Only|Bitmap Heap) Scan$/.test(x.node_type as string)) expect(x.relation, `${r.name} ${x.node_type}`).not.toBeNull();
        if (/Join|Nested Loop/.test(x.node_type as string)) expect(x.join_type).not.toBeNull();
        if (x.node_type === 'Aggregate') expect(x.strategy).not.toBeNull();
        for (const child of [x.left_child_id, x.right_child_id]) {
          if (child === null || x.worker !== -1) continue;
          const c = r.rows.find((y) => y.worker === -1 && y.plan_node_id === child);
          expect(c?.parent_node_id, `${r.name}: child ${child} of ${x.plan_node_id}`).toBe(x.plan_node_id);
        }
      }
    }
  });
});
