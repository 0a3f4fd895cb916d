/**
 * The operator accuracy suite (test/collectors/operators/suite.ts, every node
 * type of issue 3, parallel plans included) against the instrumented source,
 * as a user runs it: `--level operator --sample 1 --setup-instrumentation`.
 * Each case runs twice on one connection: as EXPLAIN ANALYZE (that very
 * execution's plan_nodes rows must equal EXPLAIN node by node, rows × loops
 * exact, parallel workers summed in) and as the plain statement, which only
 * auto_explain instruments (serial cases: the same counts as EXPLAIN's; a
 * parallel plan's per-process loops depend on the workers it got).
 */
import pg from 'pg';
import { expect, it } from 'vitest';
import { Collection } from '../../../src/collect/collection.js';
import { collectConfig } from '../../../src/config.js';
import { toClientConfig } from '../../../src/pg/target.js';
import { describeBpf } from '../../helpers/bpf-env.js';
import { useCluster } from '../../helpers/cluster-fixture.js';
import { readTable } from '../../helpers/dataset.js';
import { explainJson, matchNodes, runRolledBack, tupleBounds, walkExplain, type ExplainNode } from '../operators/explain.js';
import { BASE_SETTINGS, CASES, COVERED_NODE_TYPES, setupSchema } from '../operators/suite.js';

type Row = Record<string, unknown>;
interface Run { name: string; parallel: boolean; explain: ExplainNode; rows: Row[]; workers: Row[] }

const parallel = (settings: Record<string, string> | undefined) => Number(settings?.max_parallel_workers_per_gather ?? 0) > 0;

describeBpf('instrumented operator rows equal EXPLAIN ANALYZE, node by node (the 55-case suite)', () => {
  const explained: Run[] = [];
  const plain: Run[] = [];

  useCluster({
    settings: { max_worker_processes: '8', max_parallel_workers: '8' },
    outPrefix: 'pgscout-pn-accuracy-',
    setup: async (cluster, out) => {
      await setupSchema((sql) => cluster.psql(sql));
      const collection = await Collection.start(collectConfig({
        pg: cluster.conninfo, out, interval: '250ms', level: 'operator', sample: '1', 'setup-instrumentation': true,
        'operator-timing': '1', 'operator-rows': 'all',
      }));
      // A session started after the setup: it loads auto_explain.
      const client = new pg.Client(toClientConfig(cluster.conninfo));
      await client.connect();
      const pid = (client as unknown as { processID: number }).processID;
      const explains: ExplainNode[] = [];
      for (const c of CASES) {
        const settings = { ...BASE_SETTINGS, ...c.settings };
        explains.push((await explainJson(client, c.sql, settings, 'ANALYZE, VERBOSE, TIMING OFF')).plan);
        await runRolledBack(client, c.sql, settings);
      }
      await client.end();
      await collection.stop();
      const rows = await readTable(out, 'plan_nodes', `pid = ${pid}`);
      const workers = await readTable(out, 'plan_node_workers', `pid = ${pid}`);
      const ids = [...new Set(rows.map((r) => r.statement_id as bigint))].sort((a, b) => (a < b ? -1 : 1));
      expect(ids).toHaveLength(2 * CASES.length);
      CASES.forEach((c, i) => {
        const of = (id: bigint) => rows.filter((r) => r.statement_id === id);
        const workersOf = (id: bigint) => workers.filter((r) => r.statement_id === id);
        const base = { name: c.name, parallel: parallel(c.settings), explain: explains[i]! };
        explained.push({ ...base, rows: of(ids[2 * i]!), workers: workersOf(ids[2 * i]!) });
        plain.push({ ...base, rows: of(ids[2 * i + 1]!), workers: workersOf(ids[2 * i + 1]!) });
      });
    },
  });

  const shape = (r: Run) => r.rows.map((x) => ({
    plan_node_id: x.plan_node_id as number, parent_node_id: x.parent_node_id as number | null, node_type: x.node_type as string,
  }));

  /** Problems of one run against its EXPLAIN: tree shape, then rows and loops per node. */
  function compare(r: Run, { loops }: { loops: boolean }): string[] {
    let matched: Map<number, ExplainNode>;
    try {
      matched = matchNodes(shape(r), r.explain);
    } catch (err) {
      return [`${r.name}: ${(err as Error).message}`];
    }
    const total = [...walkExplain(r.explain)].length;
    const problems = matched.size === total ? [] : [`${r.name}: matched ${matched.size} of ${total} EXPLAIN nodes`];
    for (const [id, ex] of matched) {
      const mine = r.rows.filter((x) => x.plan_node_id === id);
      if (mine.length !== 1) { problems.push(`${r.name} #${id}: ${mine.length} rows`); continue; }
      const [lo, hi] = tupleBounds(ex.actualRows, ex.actualLoops);
      const got = Number(mine[0]!.rows);
      if (loops && Number(mine[0]!.loops) !== ex.actualLoops) problems.push(`${r.name} #${id} ${ex.nodeType}: loops ${mine[0]!.loops}, EXPLAIN ${ex.actualLoops}`);
      if (got < lo || got > hi) problems.push(`${r.name} #${id} ${ex.nodeType}: rows ${got}, EXPLAIN ${ex.actualRows} x ${ex.actualLoops}`);
    }
    return problems;
  }

  it('covers every node type of the suite', () => {
    const seen = new Set(explained.flatMap((r) => r.rows.map((x) => x.node_type as string)));
    for (const t of COVERED_NODE_TYPES) expect(seen, t).toContain(t);
  });

  it('EXPLAIN ANALYZE executions: same tree, rows × loops exact on every node, workers included', () => {
    expect(explained.flatMap((r) => compare(r, { loops: true }))).toEqual([]);
  });

  it("EXPLAIN ANALYZE executions: each parallel worker's rows × loops per node equal EXPLAIN VERBOSE's Worker lines", () => {
    const problems: string[] = [];
    let compared = 0;
    for (const r of explained) {
      let matched: Map<number, ExplainNode>;
      try { matched = matchNodes(shape(r), r.explain); } catch { continue; }   // the tree test reports it
      for (const [id, ex] of matched) {
        const mine = r.workers.filter((w) => w.plan_node_id === id).sort((a, b) => (a.worker as number) - (b.worker as number));
        const theirs = (ex.workers ?? []).filter((w) => w.actualLoops > 0);
        if (mine.map((w) => w.worker).join() !== theirs.map((w) => w.worker).join()) {
          problems.push(`${r.name} #${id} ${ex.nodeType}: workers [${mine.map((w) => w.worker)}], EXPLAIN [${theirs.map((w) => w.worker)}]`);
          continue;
        }
        theirs.forEach((w, k) => {
          compared++;
          const [lo, hi] = tupleBounds(w.actualRows, w.actualLoops);
          const got = mine[k]!;
          if (Number(got.loops) !== w.actualLoops || Number(got.rows) < lo || Number(got.rows) > hi) {
            problems.push(`${r.name} #${id} worker ${w.worker}: ${got.rows} rows / ${got.loops} loops, EXPLAIN ${w.actualRows} x ${w.actualLoops}`);
          }
        });
        // The node sums leader and workers: no worker has more than the node.
        for (const w of mine) if (Number(w.rows) > Number(r.rows.find((x) => x.plan_node_id === id)!.rows)) problems.push(`${r.name} #${id}: worker ${w.worker} above the node`);
      }
    }
    expect(problems).toEqual([]);
    expect(compared).toBeGreaterThan(5);
  });

  it('plain executions instrumented by auto_explain: the same counts (loops too on serial plans)', () => {
    const problems = plain.flatMap((r) => compare(r, { loops: !r.parallel }).filter((p) => !r.parallel || !/rows \d+, EXPLAIN/.test(p) || !isUnderGather(r, p)));
    expect(problems).toEqual([]);
    expect(plain.filter((r) => !r.parallel).length).toBeGreaterThan(40);
  });

  it('plain executions are timed (operator timing 1): exclusive times add up to the root (serial plans: under Gather, times sum over processes)', () => {
    for (const r of plain) {
      expect(r.rows.every((x) => x.timed === true), r.name).toBe(true);
      if (r.parallel) continue;
      const root = r.rows.find((x) => x.parent_node_id === null)!;
      const excl = r.rows.reduce((a, x) => a + Number(x.excl_ns), 0);
      expect(Math.abs(excl - Number(root.total_ns)), r.name).toBeLessThanOrEqual(r.rows.length);
    }
  });

  it('every row has its plan features and query_id', () => {
    for (const r of [...explained, ...plain]) {
      for (const x of r.rows) {
        expect(x.query_id, `${r.name} query_id`).not.toBeNull();
        expect(Number(x.est_total_cost)).toBeGreaterThanOrEqual(0);
        expect(Number(x.est_rows)).toBeGreaterThanOrEqual(0);
      }
    }
  });
});

/** A parallel plan's nodes below Gather count per process: how many workers it got decides partial counts. */
function isUnderGather(r: Run, problem: string): boolean {
  const id = Number(/#(\d+)/.exec(problem)?.[1]);
  let node = r.rows.find((x) => x.plan_node_id === id);
  while (node && node.parent_node_id !== null) {
    node = r.rows.find((x) => x.plan_node_id === node!.parent_node_id);
    if (node && /^Gather/.test(node.node_type as string)) return true;
  }
  return false;
}
