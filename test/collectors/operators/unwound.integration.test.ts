/**
 * A plan-node call whose return is never seen — an error caught inside the
 * plan (PL/pgSQL EXCEPTION) unwinds the nested executor by longjmp, past
 * the return probes of its nodes — must not shift the calls that follow onto
 * the wrong frames: every later return is matched to its call by the stack
 * pointer, the unwound calls are dropped and counted, and the outer plan and
 * the next statements still equal EXPLAIN ANALYZE.
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

const CALLS = 200;
/** Each call of uw_f runs a nested query that fails at its first row and is caught. */
const UNWINDING = `SELECT sum(uw_f(i)) FROM generate_series(1, ${CALLS}) i`;
const PLAIN = 'SELECT count(*) FROM uw WHERE a < 500';

type Nodes = { type: string; rows: number }[];
const sorted = (nodes: Nodes) => [...nodes].sort((a, b) => a.type.localeCompare(b.type) || a.rows - b.rows);

describeBpf('operators: calls unwound by a caught error', () => {
  let summary: CollectionSummary;
  const explained = new Map<string, Nodes>();

  const db = useCluster({
    outPrefix: 'pgscout-unwound-',
    setup: async (cluster, out) => {
      await cluster.psql(`CREATE TABLE uw(a int); INSERT INTO uw SELECT generate_series(1, 1000); ANALYZE uw;
        CREATE FUNCTION uw_f(i int) RETURNS int LANGUAGE plpgsql AS $$
        BEGIN RETURN (SELECT count(*) FROM uw WHERE a / (i - i) > 0);
        EXCEPTION WHEN division_by_zero THEN RETURN -1; END $$`);
      const collection = await Collection.start(collectConfig({
        pg: cluster.conninfo, out, interval: '200ms', level: 'operator', 'operator-probes': '1',
      }));
      const client = new pg.Client(toClientConfig(cluster.conninfo));
      await client.connect();
      for (const sql of [UNWINDING, PLAIN, UNWINDING, PLAIN]) await client.query(sql);
      for (const sql of [UNWINDING, PLAIN]) explained.set(sql, sorted(explainedRows(await explainAnalyze(client, sql))));
      await client.end();
      summary = await collection.stop();
    },
  });

  /** Node rows of each execution of a statement, oldest first. */
  const executions = async (sqlPrefix: string) => {
    const [stmt] = await readTable(db.out, 'queries', `starts_with(query_text, '${sqlPrefix}')`);
    expect(stmt, sqlPrefix).toBeDefined();
    const rows = await readTable(db.out, 'operators', `query_id = ${stmt!.query_id}`);
    const byExec = new Map<bigint, Nodes>();
    for (const r of rows) byExec.set(r.exec_id as bigint, [...(byExec.get(r.exec_id as bigint) ?? []), { type: String(r.node_type), rows: Number(r.tuples) }]);
    return [...byExec.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, nodes]) => sorted(nodes));
  };

  it('the plan whose nested calls were unwound equals EXPLAIN ANALYZE, every execution', async () => {
    const execs = await executions('SELECT sum(uw_f(i))');
    expect(execs.length).toBeGreaterThanOrEqual(2);
    for (const e of execs) expect(e).toEqual(explained.get(UNWINDING));
    expect(explained.get(UNWINDING)).toContainEqual({ type: 'Function Scan', rows: CALLS });
  });

  it('the statements after it equal EXPLAIN ANALYZE', async () => {
    const execs = await executions('SELECT count(*) FROM uw WHERE a <');
    expect(execs.length).toBeGreaterThanOrEqual(2);
    for (const e of execs) expect(e).toEqual(explained.get(PLAIN));
    expect(explained.get(PLAIN)).toContainEqual({ type: 'Seq Scan', rows: 499 });
  });

  it('counts every unwound call where users look (pgscout.errors, the summary)', () => {
    // Two statements (and EXPLAIN's run) of CALLS caught errors, each unwinding at least one node call.
    expect(summary.collectors.operators!.errors.operator_return_missed).toBeGreaterThanOrEqual(3 * CALLS);
    expect(summary.collectors.operators!.errors.operator_stack_overflow).toBe(0);
  });
});
