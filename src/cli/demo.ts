/**
 * `pgscout demo`: a throwaway PostgreSQL of its own, a mixed workload
 * (pgbench simple + extended protocol, analytical queries), statement- and
 * operator-level collection into ./pgscout-demo/, then a summary read back
 * from the Parquet files, a cross-check of per-query_id counts against
 * pg_stat_statements, and an HTML report.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { collectConfig } from '../config.js';
import { Collection } from '../collect/collection.js';
import { pgbench, pgbenchInit } from '../demo/workload.js';
import { startCluster, type Cluster } from '../demo/cluster.js';
import { queryParquet, tableSource } from '../dataset/read-back.js';
import { requireBpfReady } from '../collect/preflight.js';
import { printCollectSummary } from './collect.js';
import { summarize } from './summary.js';
import { writeReport } from './report.js';
import { ConfigError } from '../util/errors.js';
import { ANALYTICAL_TEMPLATES } from '../workload/analytical-templates.js';
import { ensureSchema, runWorkload } from '../workload/runner.js';

/** Small enough to generate in seconds, large enough for hash joins and sorts that spill nowhere. */
const DEMO_SCALE = 0.1;

const say = (m: string) => process.stdout.write(`[demo] ${m}\n`);

/** Compares our per-query_id calls (query_stats) with pg_stat_statements.calls. */
export async function compareWithPgss(cluster: Cluster, outDir: string): Promise<{ matched: number; total: number; mismatches: string[] }> {
  const ours = await queryParquet(`SELECT query_id::VARCHAR AS id, sum(calls)::BIGINT AS n FROM ${tableSource(outDir, 'query_stats')} WHERE query_id IS NOT NULL AND query_id <> 0 GROUP BY 1 HAVING sum(calls) > 0`);
  const pgss = new Map(
    (await cluster.psql('SELECT queryid, calls FROM pg_stat_statements WHERE toplevel'))
      .split('\n').filter(Boolean).map((l) => l.split('|') as [string, string]),
  );
  const mismatches: string[] = [];
  for (const row of ours) {
    const calls = pgss.get(String(row.id));
    if (calls !== String(row.n)) mismatches.push(`${row.id}: pgscout ${row.n}, pg_stat_statements ${calls ?? 'none'}`);
  }
  return { matched: ours.length - mismatches.length, total: ours.length, mismatches };
}

export async function runDemo(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { out: { type: 'string' }, seconds: { type: 'string' } }, strict: true });
  const out = path.resolve(values.out ?? 'pgscout-demo');
  const seconds = Number(values.seconds ?? 20);
  if (!Number.isFinite(seconds) || seconds < 4) throw new ConfigError('--seconds must be a number ≥ 4');
  requireBpfReady();
  fs.rmSync(out, { recursive: true, force: true });
  say('starting a throwaway PostgreSQL cluster');
  const cluster = await startCluster();
  try {
    say(`PostgreSQL on port ${cluster.port}; pgbench -i -s 10`);
    await pgbenchInit(cluster, 10);
    say(`analytical schema (pgscout workload analytical --scale ${DEMO_SCALE}: a TPC-H-like snowflake generated in SQL)`);
    await ensureSchema('analytical', cluster.conninfo, DEMO_SCALE);
    // Operator level: PostgreSQL's own per-node counts of every statement (auto_explain set up on the throwaway
    // cluster, undone at exit), statement rows complete either way.
    const collection = await Collection.start(collectConfig({
      pg: cluster.conninfo, out, interval: '1s', level: 'operator', 'setup-instrumentation': true,
    }));
    await cluster.psql('SELECT pg_stat_statements_reset()');
    const part = Math.max(2, Math.floor(seconds / 3));
    say(`collecting; pgbench tpcb-like (simple protocol, 2 clients, ${part} s)`);
    const tpcb = await pgbench(cluster, ['-c', '2', '-j', '2', '-T', String(part)]);
    say(`pgbench select-only (extended protocol, 2 clients, ${part} s)`);
    const sel = await pgbench(cluster, ['-S', '-M', 'extended', '-c', '2', '-j', '2', '-T', String(part)]);
    say(`analytical workload (${ANALYTICAL_TEMPLATES.length} templates, random parameters, 2 clients, ${part} s)`);
    const run = await runWorkload({ kind: 'analytical', conninfo: cluster.conninfo, scale: DEMO_SCALE, durationMs: part * 1000, clients: 2, seed: 1 });
    const analytical = Object.values(run.executions).reduce((a, n) => a + n, 0);
    say(`workload done: tpcb ${tpcb.tps.toFixed(0)} tps, select-only ${sel.tps.toFixed(0)} tps, ${analytical} analytical queries`);
    const summary = await collection.stop();
    printCollectSummary(summary);
    process.stdout.write(`${await summarize(out)}\n`);
    const cmp = await compareWithPgss(cluster, out);
    say(`per-query_id counts equal to pg_stat_statements.calls for ${cmp.matched}/${cmp.total} query ids`);
    for (const m of cmp.mismatches.slice(0, 10)) say(`  mismatch ${m}`);
    say(`report: ${await writeReport(out)} (open it in a browser)`);
    say(`dataset in ${out} — try: duckdb -c "SELECT * FROM read_parquet('${out}/queries/**/*.parquet', hive_partitioning=true) LIMIT 5"`);
    return cmp.mismatches.length === 0 ? 0 : 1;
  } finally {
    await cluster.stop();
  }
}
