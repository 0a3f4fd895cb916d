/**
 * The default source ends statements at ReadyForQuery, so statements that
 * share a round trip are one call. They are not merged silently: a round trip
 * whose status-slot writes fit no single statement gets its reply read, and
 * the commands it completed beyond the counted one go to `coalesced` (per
 * query_stats row, in the kernel counter and in the records-dropped metric
 * under `coalesced`). Checked against pg_stat_statements, which counts every
 * statement: per round-trip kind, query_stats calls + coalesced over the ids
 * its statements have = pg_stat_statements calls over the same ids. Single
 * statements that write the slot more than usual (NOTIFY, VACUUM, COPY, CALL
 * with COMMIT) stay one call with nothing coalesced; a multi-statement reply
 * too big for one send is counted in `unread_round_trips`.
 */
import { expect, it } from 'vitest';
import { Collection, type CollectionSummary } from '../../../src/collect/collection.js';
import { collectConfig } from '../../../src/config.js';
import { queryParquet, tableSource } from '../../../src/dataset/read-back.js';
import { describeBpf } from '../../helpers/bpf-env.js';
import { useCluster } from '../../helpers/cluster-fixture.js';
import { frontend as F, RawConnection } from '../../helpers/raw-protocol.js';

const ROUNDS = 5;

/** Round trips of several statements, each kind with the text its statements match in pg_stat_statements. */
const SHARED: [kind: string, pattern: string, statements: number, messages: () => Buffer[]][] = [
  ['multi-statement string', 'co_m[123]', 3, () => [F.query('SELECT 1 AS co_m1; SELECT count(*) AS co_m2 FROM co_t; SELECT max(a) AS co_m3 FROM co_t')]],
  ['three Parse + Bind + Execute, one Sync', 'co_x[123]', 3, () => [
    F.parse('SELECT min(a) AS co_x1 FROM co_t'), F.bind(''), F.execute('', 0),
    F.parse('SELECT sum(a) AS co_x2 FROM co_t'), F.bind(''), F.execute('', 0),
    F.parse('SELECT avg(a) AS co_x3 FROM co_t'), F.bind(''), F.describe('P', ''), F.execute('', 0), F.sync()]],
  ['a prepared statement bound and executed twice, one Sync', 'co_b1', 2, () => [
    F.bind('', 'co_b'), F.execute('', 0), F.bind('', 'co_b'), F.execute('', 0), F.sync()]],
  // JDBC with autocommit off: BEGIN goes out with the transaction's first statement.
  ['BEGIN sent with the first statement', 'co_j1', 1, () => [
    ...begin(), F.parse('SELECT a AS co_j1 FROM co_t WHERE a = 1'), F.bind(''), F.describe('P', ''), F.execute('', 0), F.sync()]],
];
const begin = () => [F.parse('BEGIN'), F.bind(''), F.execute('', 0)];

/** Single statements that write the status slot more often than a plain statement does. */
const SINGLE: [pattern: string, sql: string][] = [
  ['^NOTIFY co_ch', 'NOTIFY co_ch'],
  ['^VACUUM co_t', 'VACUUM co_t'],
  ['^COPY co_t', 'COPY co_t TO STDOUT'],
  ['^CALL co_p', 'CALL co_p()'],
];

describeBpf('default source: statements sharing a round trip are counted in coalesced, never merged silently', () => {
  let summary: CollectionSummary;
  let pgss: { id: string; calls: number; query: string }[] = [];
  const db = useCluster({
    outPrefix: 'pgscout-coalesced-',
    setup: async (cluster, out) => {
      await cluster.psql('CREATE TABLE co_t (a int); INSERT INTO co_t SELECT generate_series(1, 50); ' +
        'CREATE PROCEDURE co_p() LANGUAGE plpgsql AS $$ BEGIN INSERT INTO co_t VALUES (0); COMMIT; DELETE FROM co_t WHERE a = 0; END $$');
      const collection = await Collection.start(collectConfig({ pg: cluster.conninfo, out, interval: '300ms' }));
      const raw = await RawConnection.open(cluster.host, cluster.port);
      try {
        await cluster.psql('SELECT pg_stat_statements_reset()');
        await raw.roundTrip(F.parse('SELECT count(*) AS co_b1 FROM co_t WHERE a > 10', 'co_b'), F.sync());
        for (let i = 0; i < ROUNDS; i++) {
          for (const [, , , messages] of SHARED) await raw.roundTrip(...messages());
          await raw.roundTrip(F.query('COMMIT'));   // the transaction the BEGIN round trip opened
          for (const [, sql] of SINGLE) await raw.roundTrip(F.query(sql));
          // BEGIN with a statement that fails: the block is left aborted, the BEGIN completed.
          await raw.roundTrip(...begin(), F.parse('SELECT 1 / (a - a) AS co_f1 FROM co_t WHERE a = 1'), F.bind(''), F.execute('', 0), F.sync());
          await raw.roundTrip(F.query('ROLLBACK'));
          // BEGIN with a portal's first fetch (JDBC's setFetchSize): the portal's call carries it.
          let types = await raw.roundTrip(...begin(), F.parse('SELECT a AS co_r1 FROM co_t WHERE a <= 20 ORDER BY a'), F.bind('co_r'),
            F.execute('co_r', 4), F.sync());
          while (types.includes('s')) types = await raw.roundTrip(F.execute('co_r', 4), F.sync());
          await raw.roundTrip(F.query('COMMIT'));
          // Several statements whose reply does not fit one send: told, not read.
          await raw.roundTrip(F.query("SELECT repeat('x', 20000) AS co_big; SELECT a + 1 AS co_after_big FROM co_t WHERE a = 2"));
        }
        await new Promise((r) => setTimeout(r, 400));
        summary = await collection.stop();
      } finally {
        raw.close();
      }
      pgss = (await cluster.psql("SELECT queryid, calls, query FROM pg_stat_statements WHERE toplevel AND query ~ 'co_|^BEGIN$|^COMMIT$|^ROLLBACK$'"))
        .split('\n').filter(Boolean).map((l) => {
          const [id, calls, ...q] = l.split('|');
          return { id: id!, calls: Number(calls), query: q.join('|') };
        });
    },
  });

  const ours = async () => new Map((await queryParquet(`SELECT query_id::VARCHAR AS id, sum(calls)::BIGINT AS calls,
      sum(coalesced)::BIGINT AS coalesced FROM ${tableSource(db.out, 'query_stats')} GROUP BY 1`))
    .map((r) => [String(r.id), { calls: Number(r.calls), coalesced: Number(r.coalesced) }]));

  it('each round trip is one call, its other statements are in coalesced: together pg_stat_statements\' calls', async () => {
    const rows = await ours();
    for (const [kind, pattern, statements] of SHARED) {
      const ids = pgss.filter((p) => new RegExp(pattern).test(p.query));
      const theirs = ids.reduce((a, p) => a + p.calls, 0);
      const calls = ids.reduce((a, p) => a + (rows.get(p.id)?.calls ?? 0), 0);
      const coalesced = ids.reduce((a, p) => a + (rows.get(p.id)?.coalesced ?? 0), 0);
      // (PostgreSQL's query ids ignore column aliases: the statements differ in shape, not only in name.)
      expect(theirs, kind).toBe(statements * ROUNDS);
      const begins = kind.startsWith('BEGIN') ? ROUNDS : 0;
      expect({ kind, calls, coalesced }).toEqual({ kind, calls: ROUNDS, coalesced: (statements - 1) * ROUNDS + begins });
    }
  });

  it('a BEGIN sent with a statement that fails, or with a portal\'s first fetch, is in coalesced too', async () => {
    const [failing] = await queryParquet(`SELECT sum(calls)::BIGINT AS calls, sum(errors)::BIGINT AS errors, sum(coalesced)::BIGINT AS coalesced
        FROM ${tableSource(db.out, 'query_stats')} WHERE query_text LIKE '%co_f1%'`);
    expect([failing!.calls, failing!.errors, failing!.coalesced].map(Number)).toEqual([0, ROUNDS, ROUNDS]);
    const fetched = pgss.find((p) => p.query.includes('co_r1'))!;
    expect(fetched.calls).toBe(ROUNDS);
    expect((await ours()).get(fetched.id)).toEqual({ calls: ROUNDS, coalesced: ROUNDS });
    // pg_stat_statements counted each BEGIN (three kinds of round trip send one); no call of ours has its id.
    const begin = pgss.find((p) => p.query === 'BEGIN')!;
    expect(begin.calls).toBe(3 * ROUNDS);
    expect((await ours()).get(begin.id)?.calls ?? 0).toBe(0);
  });

  it('single statements that write the status slot more often stay one call, nothing coalesced', async () => {
    const rows = await ours();
    for (const [pattern] of SINGLE) {
      const [p, ...more] = pgss.filter((q) => new RegExp(pattern).test(q.query));
      expect(more, pattern).toEqual([]);
      expect({ pattern, ...rows.get(p!.id) }).toEqual({ pattern, calls: p!.calls, coalesced: 0 });
    }
    expect(pgss.find((p) => p.query === 'COMMIT')?.calls).toBe(2 * ROUNDS);
    expect(rows.get(pgss.find((p) => p.query === 'COMMIT')!.id)).toEqual({ calls: 2 * ROUNDS, coalesced: 0 });
  });

  it('counts what it could not read where users look: the kernel counter and the dropped-records metric', () => {
    const stats = summary.collectors.statements!;
    // the shared round trips' other statements, and the three kinds' BEGINs
    const shared = SHARED.reduce((a, [, , n]) => a + (n - 1) * ROUNDS, 0) + 3 * ROUNDS;
    expect(stats.kernel.coalesced).toBe(BigInt(shared));
    // The big reply, and the failed round trips: a failure's reply goes out in two sends, not read;
    // the BEGIN is known from the block it left aborted, more statements could have run before it.
    expect(stats.kernel.unread_round_trips).toBe(BigInt(2 * ROUNDS));
    const reasons = Object.fromEntries(stats.drops.filter((d) => d.map === 'stmt_agg').map((d) => [d.reason, d.count]));
    expect(reasons).toMatchObject({ coalesced: shared, maybe_coalesced: 2 * ROUNDS });
  });
});
