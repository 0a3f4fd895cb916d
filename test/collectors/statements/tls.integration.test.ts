/**
 * Both statement sources over TLS, where the replies a backend sends are
 * encrypted and cannot be read: a statement prepared in a round trip of its
 * own (Parse + Sync: pgbench -M prepared, libpq's PQprepare; Parse + Describe
 * + Sync: asyncpg, pgx, Npgsql) is still not a call, as in
 * pg_stat_statements — the default source tells it from the backend's status
 * slot alone; nor is an SQL PREPARE, told by the activity's first word.
 * Failures outside a block are told by the sizes of their reply's records;
 * a portal fetched in several round trips is one call.
 * Per query_id, query_stats.calls must equal pg_stat_statements.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { Collection } from '../../../src/collect/collection.js';
import { collectConfig } from '../../../src/config.js';
import { queryParquet, tableSource } from '../../../src/dataset/read-back.js';
import { pgbench } from '../../../src/demo/workload.js';
import { describeBpf } from '../../helpers/bpf-env.js';
import { useCluster } from '../../helpers/cluster-fixture.js';
import { fetchInRoundTrips, frontend, prepareThenExecute, RawConnection } from '../../helpers/raw-protocol.js';
import { selfSignedCert } from '../../helpers/tls-cert.js';

const SCRIPT = String.raw`
\set id random(1, 100)
SELECT v FROM tls_t WHERE id = :id;
UPDATE tls_t SET v = v WHERE id = :id;
`;
const DESCRIBED = 'SELECT v, id FROM tls_t WHERE id = 7';
const DESCRIBED_IN_BLOCK = 'SELECT id FROM tls_t WHERE id > 90';
const FETCHED = 'SELECT id, v FROM tls_t WHERE id <= 20 ORDER BY id';

/** pgbench over TCP with sslmode=require (pgbench takes the last -h). */
async function pgbenchTls(cluster: Parameters<typeof pgbench>[0], args: string[]): Promise<void> {
  const before = process.env.PGSSLMODE;
  process.env.PGSSLMODE = 'require';
  try {
    await pgbench(cluster, ['-h', '127.0.0.1', ...args]);
  } finally {
    if (before === undefined) delete process.env.PGSSLMODE;
    else process.env.PGSSLMODE = before;
  }
}

const tlsFiles = selfSignedCert();

for (const [source, options] of [['default', {}], ['--exact', { exact: true }]] as const) describeBpf(`${source} source over TLS: statements prepared in a round trip of their own are not calls`, () => {
  let pgss = new Map<string, { calls: number; query: string }>();
  let tlsBackends = 0;
  let noExecution = 0n;
  let suspended = 0n;
  let trips: number[] = [];
  const db = useCluster({
    outPrefix: 'pgscout-tls-',
    settings: tlsFiles.settings,
    setup: async (cluster, out) => {
      await cluster.psql("CREATE TABLE tls_t (id int primary key, v text); INSERT INTO tls_t SELECT g, 'v' || g FROM generate_series(1, 100) g");
      const script = path.join(out, 'tls.pgbench');
      fs.writeFileSync(script, SCRIPT);
      const collection = await Collection.start(collectConfig({ pg: cluster.conninfo, out: path.join(out, 'data'), interval: '300ms', ...options }));
      try {
        await cluster.psql('SELECT pg_stat_statements_reset()');
        for (const mode of ['prepared', 'extended', 'simple']) await pgbenchTls(cluster, ['-n', '-M', mode, '-f', script, '-c', '2', '-j', '2', '-t', '50']);
        const raw = await RawConnection.openTls(cluster.port);
        try {
          tlsBackends = Number(await cluster.psql('SELECT count(*) FROM pg_stat_ssl WHERE ssl'));
          await prepareThenExecute(raw, 'tls_described', DESCRIBED, 3);
          // Inside a block (asyncpg prepares so in a transaction): the Parse + Describe writes the slot as little
          // as an Execute fetching more of a portal, and is told from one by its query id (not the last one's).
          await raw.roundTrip(frontend.query('BEGIN'));
          await prepareThenExecute(raw, 'tls_described_in_block', DESCRIBED_IN_BLOCK, 2);
          await raw.roundTrip(frontend.query('COMMIT'));
          // SQL PREPARE reports the id its EXECUTEs are counted under, and is not a call: outside a block and inside one.
          for (const block of [false, true]) {
            if (block) await raw.roundTrip(frontend.query('BEGIN'));
            await raw.roundTrip(frontend.query('PREPARE tls_q(int) AS SELECT id FROM tls_t WHERE id < $1'));
            await raw.roundTrip(frontend.query('EXECUTE tls_q(3)'));
            await raw.roundTrip(frontend.query('EXECUTE tls_q(4)'));
            await raw.roundTrip(frontend.query('DEALLOCATE tls_q'));
            if (block) await raw.roundTrip(frontend.query('COMMIT'));
          }
          // A portal fetched in several round trips (Execute with a row limit, then Sync; JDBC's setFetchSize).
          trips = await fetchInRoundTrips(raw, FETCHED, 4, 3);
          // Failures outside a block (inside one the aborted state tells them): simple and extended protocol;
          // and a statement that succeeds after a notice went out in a send of its own.
          for (let i = 0; i < 3; i++) {
            await raw.roundTrip(frontend.query('SELECT 1 / (id - id) FROM tls_t WHERE id = 1'));
            await raw.roundTrip(frontend.parse('SELECT 2 / (id - id) FROM tls_t WHERE id = 2'), frontend.bind(''), frontend.execute('', 0), frontend.sync());
            await raw.roundTrip(frontend.query("DO $$ BEGIN RAISE NOTICE 'n'; PERFORM count(*) FROM tls_t; END $$"));
          }
        } finally {
          raw.close();
        }
        await new Promise((r) => setTimeout(r, 400));
      } finally {
        const summary = await collection.stop();
        noExecution = summary.collectors.statements?.kernel.no_execution ?? 0n;
        suspended = summary.collectors.statements?.kernel.suspended ?? 0n;
      }
      pgss = new Map((await cluster.psql("SELECT queryid, calls, query FROM pg_stat_statements WHERE toplevel AND query ~ 'tls_t'"))
        .split('\n').filter(Boolean).map((l) => {
          const [id, calls, ...q] = l.split('|');
          return [id!, { calls: Number(calls), query: q.join('|') }];
        }));
    },
  });

  it('query_stats.calls equals pg_stat_statements.calls for every query id, the connections being TLS ones', async () => {
    expect(tlsBackends).toBeGreaterThanOrEqual(1);
    const rows = await queryParquet(`SELECT query_id::VARCHAR AS id, sum(calls)::BIGINT AS calls
        FROM ${tableSource(path.join(db.out, 'data'), 'query_stats')} GROUP BY 1`);
    const ours = new Map(rows.map((r) => [String(r.id), Number(r.calls)]));
    // SELECT and UPDATE with parameters and with constants, the two described ones, the SQL-prepared one, the DO, the fetched one
    expect(pgss.size).toBe(9);
    const diff = [...pgss].filter(([id, p]) => (ours.get(id) ?? 0) !== p.calls).map(([id, p]) => `${p.query}: pgss ${p.calls}, ours ${ours.get(id) ?? 0}`);
    expect(diff).toEqual([]);
    expect([...pgss.values()].find((p) => p.query.startsWith('SELECT v, id'))?.calls).toBe(3);
    expect([...pgss.values()].find((p) => p.query.startsWith('SELECT id FROM tls_t WHERE id >'))?.calls).toBe(2);
    expect([...pgss.values()].find((p) => p.query.startsWith('PREPARE tls_q'))?.calls).toBe(4);
    // Each portal fetched in 6 round trips is one call; the other 5 round trips' time and bytes are in its sums.
    expect(trips).toEqual([6, 6, 6]);
    expect([...pgss.values()].find((p) => p.query.startsWith('SELECT id, v FROM tls_t'))?.calls).toBe(3);
    expect(suspended).toBe(15n);
    // Failed executions: in errors, not in calls (pg_stat_statements has no row for them).
    const failed = await queryParquet(`WITH k AS (SELECT query_id, sum(calls) AS calls, sum(errors) AS errors
        FROM ${tableSource(path.join(db.out, 'data'), 'query_stats')} GROUP BY 1 HAVING sum(errors) > 0)
        SELECT sum(calls)::BIGINT AS calls, sum(errors)::BIGINT AS errors FROM k`);
    expect([Number(failed[0]!.calls), Number(failed[0]!.errors)]).toEqual([0, 6]);
    const notice = await queryParquet(`SELECT sum(calls)::BIGINT AS calls FROM ${tableSource(path.join(db.out, 'data'), 'query_stats')}
        WHERE query_text LIKE 'DO %'`);
    expect(Number(notice[0]!.calls)).toBe(3);
    // pgbench -M prepared: each of 2 connections prepared 2 statements (Parse + Sync), plus the two Parse + Describe.
    if (source === 'default') expect(noExecution).toBeGreaterThanOrEqual(6n);
  });
});
