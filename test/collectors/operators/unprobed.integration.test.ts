/**
 * A node type seen for the first time after start (here: every one, with
 * --skip-warmup) runs before its function is probed. Its rows are kept with
 * exact plan features, `probed = false` and null labels; later executions of
 * the same plan are fully labelled and match EXPLAIN ANALYZE.
 */
import pg from 'pg';
import { expect, it } from 'vitest';
import { toClientConfig } from '../../../src/pg/target.js';
import { Collection, type CollectionSummary } from '../../../src/collect/collection.js';
import { collectConfig } from '../../../src/config.js';
import { loadCollectorSpec } from '../../../src/bpf/collector-spec.js';
import { kernelHas } from '../../../src/bpf/variants.js';
import { packageRoot } from '../../../src/util/package-root.js';
import { describeBpf } from '../../helpers/bpf-env.js';
import { useCluster } from '../../helpers/cluster-fixture.js';
import { readTable } from '../../helpers/dataset.js';
import { explainAnalyze, explainedRows } from './explain.js';

const QUERY = 'SELECT u.a % 5 AS k, count(*) FROM unprobed u JOIN unprobed v USING (a) WHERE u.a < 3000 GROUP BY 1 ORDER BY 1';
const RUNS = 4;

describeBpf('operators: nodes that ran before their function was probed', () => {
  let summary: CollectionSummary;
  let explainNodes: { type: string; rows: number }[] = [];
  let nodeLinks: string[] = [];

  const db = useCluster({
    outPrefix: 'pgscout-unprobed-',
    setup: async (cluster, out) => {
      await cluster.psql('CREATE TABLE unprobed(a int); INSERT INTO unprobed SELECT generate_series(1, 20000); ANALYZE unprobed');
      const collection = await Collection.start(collectConfig({
        pg: cluster.conninfo, out, interval: '200ms', level: 'operator', 'operator-probes': '1', 'skip-warmup': true,
      }));
      const client = new pg.Client(toClientConfig(cluster.conninfo));
      await client.connect();
      for (let i = 0; i < RUNS; i++) {
        await client.query(QUERY);
        await new Promise((r) => setTimeout(r, 100)); // discovery runs every 10 ms
      }
      explainNodes = explainedRows(await explainAnalyze(client, QUERY));
      await client.end();
      nodeLinks = collection.collectors.flatMap((c) => c.objects().flatMap((o) => o.links))
        .map((l) => l.description).filter((d) => /→ node_(enter|exit)(_multi)?$/.test(d));
      summary = await collection.stop();
    },
  });

  const executions = async () => {
    const [stmt] = await readTable(db.out, 'queries', "query_text LIKE 'SELECT u.a % $1 AS k%'");
    const rows = await readTable(db.out, 'operators', `query_id = ${stmt!.query_id}`);
    const byExec = new Map<bigint, typeof rows>();
    for (const r of rows) byExec.set(r.exec_id as bigint, [...(byExec.get(r.exec_id as bigint) ?? []), r]);
    return [...byExec.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, nodes]) => nodes);
  };

  it('keeps every node of the first execution, features exact, labels null where the function was not probed', async () => {
    const [first] = await executions();
    expect(first!.length).toBe(explainNodes.length);
    const unprobed = first!.filter((r) => r.probed === false);
    expect(unprobed.length).toBeGreaterThanOrEqual(1);
    for (const r of unprobed) {
      expect([r.node_type, r.calls, r.tuples, r.loops, r.excl_ns, r.incl_ns, r.start_ns]).toEqual([r.node_type, null, null, null, null, null, null]);
      expect(Number(r.est_rows)).toBeGreaterThan(0);
    }
    expect(new Set(first!.map((r) => r.node_type))).toEqual(new Set(explainNodes.map((n) => n.type)));
  });

  it('probes the node functions it discovers through uprobe_multi links: two per discovery round, not two per function', () => {
    expect(kernelHas('uprobe_multi')).toBe(true);
    expect(nodeLinks.length).toBeGreaterThan(0);
    expect(nodeLinks.every((d) => d.includes('multi'))).toBe(true);
    const sites = (program: string) => nodeLinks.filter((d) => d.endsWith(program))
      .reduce((n, d) => n + Number(/\((\d+) sites\)/.exec(d)?.[1] ?? 0), 0);
    // Each discovered function sits in one entry link and one return link (the entry program
    // also sits on the MultiExec* functions of the spec, in a link of their own); the query's
    // node types are among them (pgscout's own catalog lookups may add more).
    const exportedEntries = loadCollectorSpec(packageRoot(), 'operators').probes.filter((p) => p.program === 'node_enter').length;
    expect(sites('node_enter_multi')).toBe(sites('node_exit_multi') + exportedEntries);
    expect(sites('node_exit_multi')).toBeGreaterThanOrEqual(new Set(explainNodes.map((n) => n.type)).size);
  });

  it('labels every node of the later executions, with EXPLAIN ANALYZE row counts', async () => {
    const all = await executions();
    expect(all).toHaveLength(RUNS);
    const last = all.at(-1)!;
    expect(last.every((r) => r.probed === true)).toBe(true);
    const ours = last.map((r) => ({ type: String(r.node_type), rows: Number(r.tuples) })).sort((a, b) => a.type.localeCompare(b.type) || a.rows - b.rows);
    const theirs = [...explainNodes].sort((a, b) => a.type.localeCompare(b.type) || a.rows - b.rows);
    expect(ours).toEqual(theirs);
  });

  it('counts the unlabelled rows where users look: pgscout.errors and the summary', async () => {
    const unprobed = (await readTable(db.out, 'operators', 'NOT probed')).length;
    expect(unprobed).toBeGreaterThanOrEqual(1);
    expect(summary.collectors.operators!.errors.node_function_not_probed).toBe(unprobed);
    expect(summary.collectors.operators!.drops.reduce((a, d) => a + d.count, 0)).toBe(0);
  });
});
