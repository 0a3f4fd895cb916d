#!/usr/bin/env node
/**
 * Exactness on request/response traffic that is not pgbench's: one throwaway cluster, a collector
 * in this process (default flags, or --exact), a mixed workload — psql sending a script one
 * statement a message (DDL, DML, transaction blocks with savepoints, SQL PREPARE / EXECUTE /
 * DEALLOCATE, cursors, COPY TO, CALL with COMMIT, DO with notices, LISTEN / NOTIFY, EXPLAIN ANALYZE,
 * failures in and out of blocks, a COMMIT a deferred constraint fails, a statement cancelled by
 * statement_timeout, large results, psql's \gdesc, \gset, COPY FROM STDIN, \copy, \lo_import) and pgbench custom scripts in the simple, extended and prepared
 * protocols — then, per query id, query_stats.calls against pg_stat_statements.calls.
 *
 *   node bench/coverage-mix.mjs [--exact] [--loops 10] [--tls] [--python] [--jdbc]
 *
 * `--python`: Python applications' traffic as well (bench/drivers/mix.py: psycopg2 and psycopg 3 —
 * client-side and server-side parameters, statements prepared by the driver, named cursors, COPY,
 * errors in and out of transactions; Debian's python3-psycopg2 and python3-psycopg).
 * `--jdbc`: Java applications' traffic (bench/drivers/Mix.java, javac/java and pgjdbc from Debian's
 * libpostgresql-jdbc-java: autocommit and transactions, statements past prepareThreshold, failures,
 * setFetchSize, executeBatch). pgjdbc sends BEGIN with a transaction's first statement and a batch's
 * inserts in one round trip: the default source counts those in `coalesced` (docs/dataset.md), so
 * with it a query id whose calls + coalesced equal pg_stat_statements' calls, and BEGIN, are
 * reported as "in coalesced", not as differing.
 *
 * `--tls`: the cluster has `ssl = on` (a throwaway self-signed certificate) and psql and pgbench
 * connect over TCP with sslmode=require, so no reply can be read in the clear.
 *
 * Left out of the comparison, with the reason printed: pgscout's own statements (catalog lookups;
 * pgscout leaves its own backends out in the kernel), the bench's pg_stat_statements_reset() and the queries of foreign-key checks a
 * deferred constraint runs at COMMIT (pg_stat_statements lists them as top-level; no client sent
 * them). Exit 1 when any other query id differs. Needs root and `npm run build`.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { startCluster } from '../dist/demo/cluster.js';
import { pgbench } from '../dist/demo/workload.js';
import { queryParquet, tableSource } from '../dist/dataset/read-back.js';
import { Collection } from '../dist/collect/collection.js';
import { collectConfig } from '../dist/config.js';
import { argv, flag, log, run, sleep } from './lib/harness.mjs';

const EXACT = argv.includes('--exact');
const TLS = argv.includes('--tls');
const LOOPS = Number(flag('loops', '10'));
const PYTHON = argv.includes('--python');
const JDBC = argv.includes('--jdbc');

const SCRIPT = String.raw`
CREATE TABLE IF NOT EXISTS mix (id int primary key, v text);
INSERT INTO mix SELECT g, md5(g::text) FROM generate_series(1, 1000) g ON CONFLICT DO NOTHING;
CREATE TABLE IF NOT EXISTS mix_ref (id int primary key, p int references mix (id) deferrable initially deferred);
SELECT count(*) FROM mix;
SELECT * FROM mix WHERE id = 5;
UPDATE mix SET v = 'x' WHERE id = 7;
DELETE FROM mix_ref WHERE id = 9;
BEGIN;
SELECT v FROM mix WHERE id = 10;
SAVEPOINT s1;
UPDATE mix SET v = 'y' WHERE id = 11;
ROLLBACK TO SAVEPOINT s1;
RELEASE SAVEPOINT s1;
COMMIT;
SET work_mem = '8MB';
SHOW work_mem;
RESET work_mem;
SELECT * FROM mix;
SELECT repeat('x', 20000);
SELECT pg_sleep(0.012);
VACUUM mix;
ANALYZE mix;
CREATE OR REPLACE PROCEDURE mix_p() LANGUAGE plpgsql AS $$ BEGIN UPDATE mix SET v = 'z' WHERE id = 1; COMMIT; UPDATE mix SET v = 'w' WHERE id = 2; COMMIT; END $$;
CALL mix_p();
DO $$ BEGIN PERFORM 1; END $$;
DO $$ BEGIN RAISE NOTICE 'n'; END $$;
DO $$ BEGIN RAISE WARNING 'w'; END $$;
DROP TABLE IF EXISTS mix_no_such_table;
PREPARE mix_q(int) AS SELECT v FROM mix WHERE id = $1;
EXECUTE mix_q(1);
EXECUTE mix_q(2);
DEALLOCATE mix_q;
BEGIN;
DECLARE mix_c CURSOR FOR SELECT * FROM mix;
FETCH 10 FROM mix_c;
CLOSE mix_c;
COMMIT;
COPY mix TO STDOUT;
LISTEN mix_ch;
NOTIFY mix_ch, 'x';
NOTIFY mix_ch;
UNLISTEN mix_ch;
EXPLAIN SELECT * FROM mix WHERE id = 1;
EXPLAIN ANALYZE SELECT * FROM mix WHERE id = 1;
SELECT 1 / 0;
SELECT 1 / (g - 500) FROM generate_series(1, 1000) g;
SELECT v FROM mix WHERE id = 3;
BEGIN;
SELECT 1 / 0;
SELECT 1;
ROLLBACK;
BEGIN;
INSERT INTO mix_ref VALUES (1, 999999) ON CONFLICT DO NOTHING;
COMMIT;
SET statement_timeout = '5ms';
SELECT pg_sleep(0.05);
RESET statement_timeout;
WITH x AS (UPDATE mix SET v = v WHERE id < 50 RETURNING id) SELECT count(*) FROM x;
INSERT INTO mix VALUES (5000, 'a') ON CONFLICT (id) DO UPDATE SET v = excluded.v;
DELETE FROM mix WHERE id = 5000;
CREATE TEMP TABLE mix_tmp AS SELECT * FROM mix;
SELECT count(*) FROM mix_tmp;
DROP TABLE mix_tmp;
SELECT id, v FROM mix WHERE id = 12 \gdesc
SELECT id AS mix_id FROM mix WHERE id = 13 \gset
CREATE TEMP TABLE mix_in (id int, v text);
COPY mix_in FROM STDIN;
1	a
2	b
\.
\copy mix_in FROM '/etc/hostname'
SELECT count(*) FROM mix_in;
\lo_import '/etc/hostname'
SELECT lo_unlink(:LASTOID);
`;

const PGBENCH_SCRIPT = String.raw`
\set id random(1, 1000)
SELECT v FROM mix WHERE id = :id;
UPDATE mix SET v = md5(v) WHERE id = :id;
BEGIN;
SELECT count(*) FROM mix WHERE id < :id;
END;
`;

/** Statements no client of the workload sent, with why they are left out. */
const NOT_CLIENT = [
  [/pg_database|pg_roles/, "pgscout's own (left out in the kernel)"],
  [/pg_stat_statements_reset/, "this bench's reset of pg_stat_statements, sent after the collector started"],
  [/FOR KEY SHARE OF x/, 'a deferred foreign-key check run at COMMIT (pg_stat_statements lists it as top-level)'],
];

/** A self-signed certificate the cluster's user owns, and the settings that turn TLS on with it. */
function tlsSettings(dir) {
  const cert = join(dir, 'server.crt');
  const key = join(dir, 'server.key');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString());
  for (const f of [dir, cert, key]) chownSync(f, uid, gid);
  chmodSync(key, 0o600);
  return { ssl: 'on', ssl_cert_file: cert, ssl_key_file: key };
}

run(async () => {
  const dir = mkdtempSync(join(os.tmpdir(), 'pgscout-mix-'));
  const cluster = await startCluster(TLS ? { settings: tlsSettings(dir) } : {});
  // Over TLS: TCP, sslmode=require (psql and pgbench take the last -h); the server refuses TCP without it.
  if (TLS) {
    process.env.PGSSLMODE = 'require';
    const hba = join(cluster.dataDir, 'pg_hba.conf');
    writeFileSync(hba, `hostnossl all all all reject\n${readFileSync(hba, 'utf8')}`);
    await cluster.psql('SELECT pg_reload_conf()');
  }
  const host = TLS ? ['-h', '127.0.0.1'] : [];
  try {
    const script = join(dir, 'mix.sql');
    const custom = join(dir, 'mix.pgbench');
    writeFileSync(script, SCRIPT);
    writeFileSync(custom, PGBENCH_SCRIPT);
    // psql -f: one Query message a statement; errors do not stop the script.
    const psqlFile = () => execFileSync(join(cluster.binDir, 'psql'),
      ['-h', cluster.host, ...host, '-p', String(cluster.port), '-U', 'postgres', '-X', '-q', '-f', script, 'postgres'], { stdio: 'ignore' });
    psqlFile();
    const out = join(dir, 'out');
    const collection = await Collection.start(collectConfig({ pg: cluster.conninfo, out, interval: '1s', ...(EXACT ? { exact: true } : {}) }));
    await cluster.psql('SELECT pg_stat_statements_reset()');
    log(`${EXACT ? '--exact' : 'default source'}: ${LOOPS} × the psql script, then pgbench custom scripts (simple, extended, prepared)`);
    for (let i = 0; i < LOOPS; i++) psqlFile();
    for (const mode of ['simple', 'extended', 'prepared']) await pgbench(cluster, [...host, '-n', '-M', mode, '-f', custom, '-c', '2', '-j', '2', '-t', '200']);
    if (PYTHON) {
      const dsn = TLS ? `host=127.0.0.1 port=${cluster.port} user=postgres dbname=postgres sslmode=require`
        : `host=${cluster.host} port=${cluster.port} user=postgres dbname=postgres`;
      log(execFileSync('/usr/bin/python3', [new URL('./drivers/mix.py', import.meta.url).pathname, dsn, String(LOOPS)], { encoding: 'utf8' }).trim());
    }
    if (JDBC) {
      const jar = '/usr/share/java/postgresql.jar';
      execFileSync('javac', ['-cp', jar, '-d', dir, new URL('./drivers/Mix.java', import.meta.url).pathname]);
      const url = `jdbc:postgresql://127.0.0.1:${cluster.port}/postgres?user=postgres${TLS ? '&sslmode=require' : ''}`;
      log(`pgjdbc: ${execFileSync('java', ['-cp', `${jar}:${dir}`, 'Mix', url, String(LOOPS)], { encoding: 'utf8' }).trim()}`);
    }
    await sleep(1500);
    await collection.stop();
    const ours = new Map((await queryParquet(`SELECT query_id::VARCHAR AS id, sum(calls)::BIGINT AS calls, sum(errors)::BIGINT AS errors,
        sum(coalesced)::BIGINT AS coalesced
        FROM ${tableSource(out, 'query_stats')} WHERE query_id IS NOT NULL GROUP BY 1`)).map((r) => [String(r.id), r]));
    const pgss = (await cluster.psql("SELECT queryid, calls, regexp_replace(query, '\\s+', ' ', 'g') FROM pg_stat_statements WHERE toplevel"))
      .split('\n').filter(Boolean).map((l) => { const [id, calls, ...q] = l.split('|'); return { id, calls: Number(calls), query: q.join('|') }; });
    let compared = 0;
    const mismatches = [];
    for (const p of pgss) {
      const skip = NOT_CLIENT.find(([re]) => re.test(p.query));
      const n = Number(ours.get(p.id)?.calls ?? 0);
      if (skip) {
        log(`left out: ${p.query.slice(0, 70)} (pgss ${p.calls}, ours ${n}): ${skip[1]}`);
        continue;
      }
      compared++;
      const coalesced = Number(ours.get(p.id)?.coalesced ?? 0);
      if (n !== p.calls && !EXACT && JDBC && (n + coalesced === p.calls || p.query === 'BEGIN')) {
        log(`in coalesced: ${p.query.slice(0, 70)} (pgss ${p.calls}, ours ${n} + ${coalesced} coalesced): statements pgjdbc sends in one round trip`);
        continue;
      }
      if (n !== p.calls) mismatches.push(`${p.query.slice(0, 90)}: pg_stat_statements ${p.calls}, query_stats ${n}`);
    }
    const pgssIds = new Set(pgss.map((p) => p.id));
    for (const [id, r] of ours) {
      if (!pgssIds.has(id) && Number(r.calls) > 0) mismatches.push(`query id ${id}: query_stats ${r.calls} calls, none in pg_stat_statements`);
    }
    const errors = [...ours.values()].reduce((a, r) => a + Number(r.errors ?? 0), 0);
    const coalesced = [...ours.values()].reduce((a, r) => a + Number(r.coalesced ?? 0), 0);
    console.log(`${EXACT ? '--exact' : 'default source'}${TLS ? ' over TLS' : ''}${PYTHON ? ' with Python drivers' : ''}${JDBC ? ' with pgjdbc' : ''}: ${compared} query ids compared, ` +
      `${mismatches.length} differ; ${errors} failed executions in query_stats.errors, ${coalesced} statements in coalesced`);
    for (const m of mismatches) console.log(`  ${m}`);
    if (mismatches.length) process.exitCode = 1;
  } finally {
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
