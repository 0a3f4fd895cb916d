/**
 * The OLTP workload: pgbench's TPC-B-like transaction on a schema of its own,
 * plus secondary-index point lookups and range scans of varying width.
 */
import type { Rng } from './rng.js';

export const OLTP_MARKER = 'wl_oltp_meta';
const ACCOUNTS_PER_SCALE = 100_000;

export function oltpSchemaSql(scale: number): string[] {
  const branches = Math.max(1, Math.round(scale));
  const accounts = Math.max(1000, Math.round(ACCOUNTS_PER_SCALE * scale));
  return [
    `DROP TABLE IF EXISTS wl_history, wl_accounts, wl_tellers, wl_branches, ${OLTP_MARKER}`,
    `CREATE TABLE wl_branches (bid int PRIMARY KEY, bbalance bigint NOT NULL DEFAULT 0)`,
    `INSERT INTO wl_branches(bid) SELECT generate_series(1, ${branches})`,
    `CREATE TABLE wl_tellers (tid int PRIMARY KEY, bid int NOT NULL, tbalance bigint NOT NULL DEFAULT 0)`,
    `INSERT INTO wl_tellers(tid, bid) SELECT g, 1 + (g - 1) / 10 FROM generate_series(1, ${branches * 10}) g`,
    `CREATE TABLE wl_accounts (aid int PRIMARY KEY, bid int NOT NULL, abalance bigint NOT NULL DEFAULT 0, email text NOT NULL,
       created_at timestamptz NOT NULL)`,
    `INSERT INTO wl_accounts(aid, bid, email, created_at) SELECT g, 1 + (g - 1) % ${branches}, 'user' || md5(g::text) || '@example.com',
       timestamptz '2020-01-01' + (g * interval '17 minutes') FROM generate_series(1, ${accounts}) g`,
    `CREATE INDEX ON wl_accounts (email)`,
    `CREATE INDEX ON wl_accounts (created_at)`,
    `CREATE TABLE wl_history (tid int, bid int, aid int, delta int, mtime timestamptz)`,
    `ANALYZE wl_branches, wl_tellers, wl_accounts, wl_history`,
    `CREATE TABLE ${OLTP_MARKER} (scale float8 NOT NULL, accounts int NOT NULL)`,
    `INSERT INTO ${OLTP_MARKER} VALUES (${scale}, ${accounts})`,
  ];
}

export interface OltpStep { name: string; statements: { sql: string; params: unknown[] }[] }

/** One unit of the mix: 50 % TPC-B transactions, 25 % email lookups, 15 % date ranges, 10 % aid ranges. */
export function oltpStep(rng: Rng, accounts: number): OltpStep {
  const branches = Math.max(1, Math.round(accounts / ACCOUNTS_PER_SCALE));
  const aid = rng.int(1, accounts);
  const roll = rng.next();
  if (roll < 0.5) {
    const tid = rng.int(1, branches * 10);
    const bid = rng.int(1, branches);
    const delta = rng.int(-5000, 5000);
    return {
      name: 'tpcb',
      statements: [
        { sql: 'BEGIN', params: [] },
        { sql: 'UPDATE wl_accounts SET abalance = abalance + $1 WHERE aid = $2', params: [delta, aid] },
        { sql: 'SELECT abalance FROM wl_accounts WHERE aid = $1', params: [aid] },
        { sql: 'UPDATE wl_tellers SET tbalance = tbalance + $1 WHERE tid = $2', params: [delta, tid] },
        { sql: 'UPDATE wl_branches SET bbalance = bbalance + $1 WHERE bid = $2', params: [delta, bid] },
        { sql: 'INSERT INTO wl_history (tid, bid, aid, delta, mtime) VALUES ($1, $2, $3, $4, now())', params: [tid, bid, aid, delta] },
        { sql: 'COMMIT', params: [] },
      ],
    };
  }
  if (roll < 0.75) {
    return { name: 'email_lookup', statements: [{ sql: 'SELECT aid, abalance FROM wl_accounts WHERE email = \'user\' || md5($1::text) || \'@example.com\'', params: [aid] }] };
  }
  if (roll < 0.9) {
    const minutes = Math.round(Math.exp(rng.uniform(Math.log(17), Math.log(17 * 5000))));
    const from = new Date(Date.UTC(2020, 0, 1) + aid * 17 * 60_000).toISOString();
    return { name: 'date_range', statements: [{ sql: 'SELECT count(*), sum(abalance) FROM wl_accounts WHERE created_at >= $1 AND created_at < $1::timestamptz + $2 * interval \'1 minute\'', params: [from, minutes] }] };
  }
  const width = Math.round(Math.exp(rng.uniform(0, Math.log(2000))));
  return { name: 'aid_range', statements: [{ sql: 'SELECT aid, abalance FROM wl_accounts WHERE aid BETWEEN $1 AND $2 ORDER BY abalance DESC LIMIT 10', params: [aid, aid + width] }] };
}
