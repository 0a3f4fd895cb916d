/**
 * The real chain: PostgreSQL 15 started by the harness, BPF programs in this
 * kernel, drain, Parquet, read back with DuckDB; ground truth from
 * pg_stat_statements and known workloads.
 */
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { expect, it } from 'vitest';
import { toClientConfig } from '../../../src/pg/target.js';
import { Collection, type CollectionSummary } from '../../../src/collect/collection.js';
import { collectConfig } from '../../../src/config.js';
import { describeBpf } from '../../helpers/bpf-env.js';
import { useCluster } from '../../helpers/cluster-fixture.js';
import { allValuesAsText, listFiles, readTable } from '../../helpers/dataset.js';

const N_SIMPLE = 25;
const N_EXTENDED = 40;
const SECRET = 'needle-literal-7731';
const SECRET_NUM = 987654321;

/** A backend killed by pg_terminate_backend 0.4 s into `SELECT pg_sleep(30.5)`. */
async function terminateMidStatement(conninfo: string): Promise<void> {
  const victim = new pg.Client(toClientConfig(conninfo));
  victim.on('error', () => undefined);
  await victim.connect();
  const pid = (await victim.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number;
  const sleeping = victim.query('SELECT pg_sleep(30.5)').catch(() => undefined);
  await new Promise((r) => setTimeout(r, 400));
  const killer = new pg.Client(toClientConfig(conninfo));
  await killer.connect();
  await killer.query('SELECT pg_terminate_backend($1)', [pid]);
  await killer.end();
  await sleeping;
  await victim.end().catch(() => undefined);
}

describeBpf('statement collection against a real PostgreSQL', () => {
  let summary: CollectionSummary;
  let pgssCalls: Map<string, number>;
  let pgssBlocks: Map<string, number>;

  const db = useCluster({
    outPrefix: 'pgscout-it-',
    setup: async (cluster, out) => {
      await cluster.psql(`CREATE TABLE items(id int PRIMARY KEY, v text); INSERT INTO items SELECT g, md5(g::text) FROM generate_series(1, 20000) g; ANALYZE items`);
      const collection = await Collection.start(collectConfig({ pg: cluster.conninfo, out, interval: '200ms', exact: true, phases: true, 'cpu-clock': true, 'statement-rows': 'all' }));
      await cluster.psql('SELECT pg_stat_statements_reset()');
      for (let i = 0; i < N_SIMPLE; i++) await cluster.psql(`SELECT count(*) FROM items WHERE v > '${SECRET}' AND id < ${SECRET_NUM}`);
      const client = new pg.Client(toClientConfig(cluster.conninfo));
      await client.connect();
      for (let i = 0; i < N_EXTENDED; i++) await client.query('SELECT v FROM items WHERE id = $1', [i + 1]);
      await client.end();
      await cluster.psql('SELECT pg_sleep(0.2)');
      await cluster.psql('SELECT sum(x * 2) FROM generate_series(1, 4000000) x');
      await cluster.psql(`SELECT repeat('y', 1000) FROM generate_series(1, 3000)`);
      await cluster.psql(`SELECT 1 / (id - id) FROM items WHERE id = 5`).catch(() => undefined);
      await terminateMidStatement(cluster.conninfo);
      summary = await collection.stop();
      pgssCalls = new Map((await cluster.psql('SELECT queryid, calls FROM pg_stat_statements WHERE toplevel'))
        .split('\n').filter(Boolean).map((l) => { const [id, n] = l.split('|'); return [id!, Number(n)]; }));
      pgssBlocks = new Map((await cluster.psql('SELECT queryid, shared_blks_hit + shared_blks_read FROM pg_stat_statements WHERE toplevel'))
        .split('\n').filter(Boolean).map((l) => { const [id, n] = l.split('|'); return [id!, Number(n)]; }));
    },
  });

  const byText = async (pattern: string) => readTable(db.out, 'queries', `query_text LIKE '${pattern}'`);

  it('reads buffer usage from the backend, at least what pg_stat_statements counts (it leaves out planning)', async () => {
    const scan = await byText('SELECT count(*) FROM items WHERE v > $1 AND id < $2');
    const ours = scan.reduce((a, r) => a + Number(r.shared_blks_hit) + Number(r.shared_blks_read), 0);
    const theirs = pgssBlocks.get(String(scan[0]!.query_id))!;
    expect(theirs).toBeGreaterThan(0);
    expect(ours).toBeGreaterThanOrEqual(theirs);
    // The rest is parse analysis and planning: each psql run is a fresh backend loading its catalog caches.
    expect(ours).toBeLessThan(theirs + 250 * scan.length);
    const stats = await readTable(db.out, 'query_stats', `query_id = ${scan[0]!.query_id}`);
    expect(stats.reduce((a, r) => a + (r.calls as bigint), 0n)).toBe(BigInt(N_SIMPLE));
    expect(stats.reduce((a, r) => a + Number(r.shared_blks_hit) + Number(r.shared_blks_read), 0)).toBe(ours);
  });

  it('writes exactly N rows per repeated statement, with pg_stat_statements query_id', async () => {
    const simple = await byText('SELECT count(*) FROM items WHERE v > $1 AND id < $2');
    expect(simple).toHaveLength(N_SIMPLE);
    expect(new Set(simple.map((r) => String(r.query_id))).size).toBe(1);
    expect(pgssCalls.get(String(simple[0]!.query_id))).toBe(N_SIMPLE);
    expect(simple.every((r) => r.protocol === 'simple' && r.rows === 1n && r.command === 'SELECT')).toBe(true);
    const extended = await byText('SELECT v FROM items WHERE id = $1');
    expect(extended).toHaveLength(N_EXTENDED);
    expect(pgssCalls.get(String(extended[0]!.query_id))).toBe(N_EXTENDED);
    expect(extended.every((r) => r.protocol === 'extended' && r.rows === 1n)).toBe(true);
  });

  it('matches pg_stat_statements calls for every query_id it saw', async () => {
    const counts = await readTable(db.out, 'queries', 'query_id IS NOT NULL');
    const ours = new Map<string, number>();
    for (const r of counts) ours.set(String(r.query_id), (ours.get(String(r.query_id)) ?? 0) + 1);
    for (const [id, n] of ours) expect([id, pgssCalls.get(id)]).toEqual([id, n]);
    expect(ours.size).toBeGreaterThanOrEqual(6);
  });

  it('pg_sleep(0.2) is off-CPU time, not on-CPU', async () => {
    const [row] = await byText('SELECT pg_sleep($1)');
    // Seen once under CPU load and not reproduced since: should it recur, show every candidate row.
    if (Number(row!.off_cpu_ns) < 200e6) console.log('pg_sleep rows and failures:', await byText('SELECT pg_sleep($1)'), await readTable(db.out, 'query_errors'));
    expect(Number(row!.off_cpu_ns)).toBeGreaterThanOrEqual(200e6);
    expect(Number(row!.on_cpu_ns)).toBeLessThan(30e6);
    expect(Number(row!.voluntary_ctx_switches)).toBeGreaterThanOrEqual(1);
    expect(row!.on_cpu_ns as bigint + (row!.off_cpu_ns as bigint)).toBe(row!.duration_ns);
  });

  it('a CPU-bound statement is on-CPU for about its whole duration, and cpu-clock agrees', async () => {
    const [row] = await byText('SELECT sum(x * $1) FROM generate_series($2, $3) x');
    const on = Number(row!.on_cpu_ns);
    const dur = Number(row!.duration_ns);
    expect(dur).toBeGreaterThan(100e6);
    // It never blocks: any off-CPU time is run-queue wait (another process had the CPU).
    expect((on + Number(row!.runq_wait_ns)) / dur).toBeGreaterThan(0.95);
    expect(on / dur).toBeGreaterThan(0.25);
    expect(Math.abs(Number(row!.cpu_clock_ns) - on) / on).toBeLessThan(0.05);
  });

  it('counts network bytes sent of at least the result size', async () => {
    const [row] = await byText('SELECT repeat($1, $2) FROM generate_series($3, $4)');
    expect(row!.rows).toBe(3000n);
    expect(Number(row!.net_send_bytes)).toBeGreaterThanOrEqual(3000 * 1000);
  });

  it('keeps failed executions out of the statement table', async () => {
    const failed = await readTable(db.out, 'query_errors');
    expect(failed.some((r) => String(r.query_text).startsWith('SELECT $1 / (id - id)'))).toBe(true);
    expect(await byText('SELECT $1 / (id - id)%')).toHaveLength(0);
  });

  it('closes the statement of a backend terminated inside it as aborted: a query_errors row, not a call', async () => {
    const [row, ...more] = await readTable(db.out, 'query_errors', `query_text = 'SELECT pg_sleep($1)' AND aborted`);
    expect(more).toHaveLength(0);
    expect(Number(row!.duration_ns)).toBeGreaterThanOrEqual(300e6);
    expect(pgssCalls.get(String(row!.query_id))).toBe(1); // only the pg_sleep(0.2) that finished
    const stats = await readTable(db.out, 'query_stats', `query_id = ${row!.query_id}`);
    expect(stats.reduce((a, r) => a + (r.calls as bigint), 0n)).toBe(1n);
    expect(stats.reduce((a, r) => a + (r.errors as bigint), 0n)).toBe(1n);
    expect(summary.rows.query_errors).toBeGreaterThanOrEqual(2);
  });

  it('never writes a literal of the test queries, in any file', async () => {
    const text = await allValuesAsText(db.out);
    expect(text.length).toBeGreaterThan(1000);
    for (const lit of [SECRET, String(SECRET_NUM), '4000000', "'y'"]) expect(text).not.toContain(lit);
    for (const f of listFiles(db.out)) expect(fs.readFileSync(path.join(db.out, f)).includes(SECRET)).toBe(false);
  });

  it('closes every file: no temporary files left, summary counts what is on disk', async () => {
    expect(listFiles(db.out).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    const rows = await readTable(db.out, 'queries');
    expect(rows.length).toBe(summary.rows.queries);
    expect(summary.collectors.statements!.kernel.drop_full).toBe(0n);
    expect(rows.every((r) => typeof r.start_ns === 'bigint' && (r.end_ns as bigint) >= (r.start_ns as bigint))).toBe(true);
    const now = BigInt(Date.now()) * 1_000_000n;
    expect(rows.every((r) => now - (r.start_ns as bigint) < 600_000_000_000n)).toBe(true);
  });
});
