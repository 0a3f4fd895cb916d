/**
 * Both statement sources (default flags, and --exact) on request/response
 * traffic that is not pgbench's: SQL PREPARE / EXECUTE / DEALLOCATE as their own messages,
 * statements that fail outside and inside a transaction block (simple and
 * extended protocol; a COMMIT a deferred constraint fails, which pg_stat_statements
 * does count), and the statements around them. pg_stat_statements
 * counts neither a PREPARE nor a failed execution; per query_id,
 * query_stats.calls must equal its calls, and the failures are in `errors`.
 * Also a portal fetched in several round trips (Execute with a row limit,
 * then Sync, inside a transaction, as JDBC's setFetchSize does): one call;
 * and a statement prepared in a round trip of its own with Parse + Describe +
 * Sync (asyncpg, pgx, Npgsql's Prepare()), which is not a call.
 */
import pg from 'pg';
import { expect, it } from 'vitest';
import { Collection, type CollectionSummary } from '../../../src/collect/collection.js';
import { collectConfig } from '../../../src/config.js';
import { queryParquet, tableSource } from '../../../src/dataset/read-back.js';
import { describeBpf } from '../../helpers/bpf-env.js';
import { useCluster } from '../../helpers/cluster-fixture.js';
import { fetchInRoundTrips, frontend, prepareThenExecute, RawConnection } from '../../helpers/raw-protocol.js';

const ROUNDS = 5;
/** pg_stat_statements rows of this workload (not pgscout's own catalog lookups). */
const WORKLOAD = String.raw`replies_t|^(BEGIN|COMMIT|ROLLBACK|PREPARE|DEALLOCATE)`;
const FETCHED = 'SELECT id, v FROM replies_t WHERE id <= 20 ORDER BY id';
const DESCRIBED = 'SELECT v, id FROM replies_t WHERE id = 7';
const DESCRIBED_IN_BLOCK = 'SELECT id FROM replies_t WHERE id > 90';

for (const [source, options] of [['default', {}], ['--exact', { exact: true }]] as const) describeBpf(`${source} source: failed statements and SQL PREPARE counted as pg_stat_statements does`, () => {
  let summary: CollectionSummary;
  let trips: number[] = [];
  let pgss = new Map<string, { calls: number; query: string }>();
  const db = useCluster({
    outPrefix: 'pgscout-replies-',
    setup: async (cluster, out) => {
      await cluster.psql("CREATE TABLE replies_t (id int primary key, v text); INSERT INTO replies_t SELECT g, 'v' || g FROM generate_series(1, 100) g; " +
        'CREATE TABLE replies_c (p int REFERENCES replies_t (id) DEFERRABLE INITIALLY DEFERRED)');
      const collection = await Collection.start(collectConfig({ pg: cluster.conninfo, out, interval: '300ms', ...options }));
      const client = new pg.Client({ host: cluster.host, port: cluster.port, user: 'postgres', database: 'postgres' });
      await client.connect();
      try {
        await cluster.psql('SELECT pg_stat_statements_reset()');
        const failing = (sql: string, values?: unknown[]) => client.query(sql, values).then(() => { throw new Error(`${sql} did not fail`); }, () => undefined);
        for (let i = 0; i < ROUNDS; i++) {
          // Simple protocol (no parameters): one Query message each.
          await client.query('PREPARE replies_q(int) AS SELECT v FROM replies_t WHERE id = $1');
          await client.query('EXECUTE replies_q(1)');
          await client.query('EXECUTE replies_q(2)');
          await client.query('DEALLOCATE replies_q');
          await failing('SELECT 1 / (id - id) FROM replies_t WHERE id = 1');
          await client.query('SELECT v FROM replies_t WHERE id = 3');
          await client.query('BEGIN');
          await client.query("UPDATE replies_t SET v = 'x' WHERE id = 4");
          await failing('SELECT 2 / (id - id) FROM replies_t WHERE id = 2');
          await client.query('ROLLBACK');
          await client.query('BEGIN');
          await client.query('SELECT count(*) FROM replies_t');
          await client.query('COMMIT');
          // A COMMIT that fails (deferred constraint): pg_stat_statements counted it when it ran.
          await client.query('BEGIN');
          await client.query('INSERT INTO replies_c VALUES (100000)');
          await failing('COMMIT');
          // Extended protocol (parameters): Parse/Bind/Execute/Sync.
          await client.query('SELECT v FROM replies_t WHERE id = $1', [5]);
          await failing('SELECT v::int / $1 FROM replies_t WHERE id = 6', [1]);
        }
        // 20 rows, 4 a round trip: each portal is suspended 5 times, then completed by a sixth fetch.
        const raw = await RawConnection.open(cluster.host, cluster.port);
        try {
          trips = await fetchInRoundTrips(raw, FETCHED, 4, 3);
        } finally {
          raw.close();
        }
        // Prepared in a round trip of its own (Parse + Describe + Sync) — the first of a new connection —
        // outside a block and inside one.
        const fresh = await RawConnection.open(cluster.host, cluster.port);
        try {
          await prepareThenExecute(fresh, 'described', DESCRIBED, 2);
          await fresh.roundTrip(frontend.query('BEGIN'));
          await prepareThenExecute(fresh, 'described_in_block', DESCRIBED_IN_BLOCK, 3);
          await fresh.roundTrip(frontend.query('COMMIT'));
        } finally {
          fresh.close();
        }
        await new Promise((r) => setTimeout(r, 400));
        summary = await collection.stop();
      } finally {
        await client.end();
      }
      // (The deferred check's own query runs at COMMIT, outside any executor: pg_stat_statements lists it as
      // top-level, but no client sent it, and neither source counts it.)
      pgss = new Map((await cluster.psql(`SELECT queryid, calls, query FROM pg_stat_statements
          WHERE toplevel AND query ~ '${WORKLOAD}' AND query !~ 'FOR KEY SHARE'`))
        .split('\n').filter(Boolean).map((l) => {
          const [id, calls, ...q] = l.split('|');
          return [id!, { calls: Number(calls), query: q.join('|') }];
        }));
    },
  });

  const stats = () => queryParquet(`SELECT query_id::VARCHAR AS id, sum(calls)::BIGINT AS calls, sum(errors)::BIGINT AS errors,
      bool_and(errors IS NOT NULL) AS known, any_value(query_text) AS text FROM ${tableSource(db.out, 'query_stats')} GROUP BY 1`);

  it('query_stats.calls equals pg_stat_statements.calls for every query id of the workload', async () => {
    const ours = new Map((await stats()).map((r) => [String(r.id), Number(r.calls)]));
    expect(pgss.size).toBeGreaterThanOrEqual(7);
    const diff = [...pgss].filter(([id, p]) => (ours.get(id) ?? 0) !== p.calls).map(([id, p]) => `${p.query}: pgss ${p.calls}, ours ${ours.get(id) ?? 0}`);
    expect(diff).toEqual([]);
    // Each EXECUTE is a call of the prepared query, as is the extended-protocol statement of the same text;
    // the PREPARE that reported the same id is not.
    const prepared = [...pgss.values()].find((p) => p.query.startsWith('PREPARE'));
    expect(prepared?.calls).toBe(3 * ROUNDS);
    // (the fetches' transaction and the in-block prepare's)
    expect([...pgss.values()].find((p) => p.query === 'COMMIT')?.calls).toBe(2 * ROUNDS + 2);
    if (source === 'default') expect(summary.collectors.statements!.kernel.prepare).toBe(BigInt(ROUNDS));
    // A statement prepared by Parse + Describe + Sync is counted at its executions only.
    for (const [sql, executions] of [[DESCRIBED, 2], [DESCRIBED_IN_BLOCK, 3]] as const) {
      expect([...pgss.values()].find((p) => p.query.startsWith(sql.slice(0, 20)))?.calls).toBe(executions);
    }
    if (source === 'default') expect(summary.collectors.statements!.kernel.no_execution).toBe(2n);
  });

  it('counts a portal fetched in several round trips once, with every round trip\'s time and rows in that call', async () => {
    expect(trips).toEqual([6, 6, 6]);
    const [row] = await queryParquet(`SELECT sum(calls)::BIGINT AS calls, sum(net_send_bytes)::BIGINT AS sent FROM ${tableSource(db.out, 'query_stats')}
        WHERE query_text LIKE 'SELECT id, v FROM replies_t WHERE id <= $1 ORDER BY id'`);
    expect(Number(row!.calls)).toBe(3);
    // 20 DataRows a portal (each ≥ 11 bytes) went out in its round trips: all of them are in its call.
    expect(Number(row!.sent)).toBeGreaterThan(3 * 20 * 11);
    expect(summary.collectors.statements!.kernel.suspended).toBe(15n);
  });

  it('counts each failed execution in errors, not in calls: outside a block, inside one, extended protocol', async () => {
    const rows = await stats();
    expect(rows.every((r) => r.known === true)).toBe(true);
    const failed = (pattern: RegExp) => rows.filter((r) => pattern.test(String(r.text)));
    for (const pattern of [/^SELECT \$1 \/ \(id - id\)/, /^SELECT v::int \/ \$1/]) {
      const [row, ...more] = failed(pattern);
      expect(more).toEqual([]);
      expect(Number(row!.calls)).toBe(0);
    }
    // The two simple-protocol failures share a query id ($1 / (id - id)): one outside a block, one inside.
    expect(Number(failed(/^SELECT \$1 \/ \(id - id\)/)[0]!.errors)).toBe(2 * ROUNDS);
    expect(Number(failed(/^SELECT v::int \/ \$1/)[0]!.errors)).toBe(ROUNDS);
    if (source === 'default') expect(summary.collectors.statements!.kernel.failed).toBeGreaterThanOrEqual(BigInt(3 * ROUNDS));
  });
});
