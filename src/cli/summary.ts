/** `pgscout summary <dir>`: what a dataset holds, read back from its Parquet files. */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { hasTable, queryParquet, tableSource } from '../dataset/read-back.js';
import { ConfigError } from '../util/errors.js';
import { planNodeSummary } from './plan-node-summary.js';
import { readRunRecords } from '../collect/provenance.js';

const ms = (v: unknown) => (Number(v) / 1e6).toFixed(2);

export async function summarize(outDir: string): Promise<string> {
  if (!hasTable(outDir, 'query_stats')) {
    throw new ConfigError(`${outDir} holds no pgscout dataset (no ${path.join(outDir, 'query_stats')}/**/*.parquet)`);
  }
  const stats = tableSource(outDir, 'query_stats');
  const [tot] = await queryParquet(`SELECT sum(calls) AS n, count(DISTINCT query_id) AS ids, sum(coalesced) AS coalesced,
      sum(duration_ns) AS dur, sum(on_cpu_ns) AS cpu, sum(off_cpu_ns) AS off, sum(runq_wait_ns) AS runq,
      sum(net_send_bytes) AS sent, sum(disk_read_bytes) AS rd, sum(shared_blks_hit) AS hit, sum(shared_blks_read) AS blkrd,
      sum(wal_bytes) AS wal, min(interval_start) AS t0, max(interval_end) AS t1, any_value(source) AS source FROM ${stats}`);
  const top = await queryParquet(`SELECT any_value(query_text) AS text, sum(calls) AS calls, sum(duration_ns) AS total,
      (sum(duration_ns) / greatest(sum(calls), 1))::BIGINT AS mean, sum(on_cpu_ns) AS cpu, sum(rows) AS rows,
      sum(shared_blks_hit) + sum(shared_blks_read) AS blks
      FROM ${stats} GROUP BY query_id ORDER BY total DESC LIMIT 10`);
  const kinds = await queryParquet(`SELECT coalesce(command, '?') AS command, sum(calls) AS n FROM ${stats} GROUP BY ALL ORDER BY n DESC`);
  const [sampled] = hasTable(outDir, 'queries')
    ? await queryParquet(`SELECT count(*) AS n, sum(sample_weight) AS w FROM ${tableSource(outDir, 'queries')}`) : [{ n: 0, w: 0 }];
  const t = tot!;
  const opt = (v: unknown) => (v === null || v === undefined ? 'n/a' : String(v));
  const lines = [
    `dataset ${outDir} (source: ${t.source})`,
    `  statements ${t.n}, distinct query_id ${t.ids}, span ${((Number(t.t1) - Number(t.t0)) / 1e9).toFixed(1)} s` +
      (Number(t.coalesced ?? 0) > 0 ? `, ${t.coalesced} more ended coalesced (not separable)` : ''),
    `  sampled execution rows (queries): ${sampled!.n}, standing for ${Math.round(Number(sampled!.w ?? 0))} executions`,
    `  time: total ${ms(t.dur)} ms = on-CPU ${ms(t.cpu)} ms + off-CPU ${ms(t.off)} ms (run-queue wait ${ms(t.runq)} ms)`,
    `  I/O: ${t.sent} bytes sent to clients, ${t.rd} bytes read from disk; buffers ${opt(t.hit)} hit / ${opt(t.blkrd)} read, WAL ${opt(t.wal)} bytes`,
    `  by kind: ${kinds.map((k) => `${k.command} ${k.n}`).join(', ')}`,
    '  top statements by total time:',
    '      calls   total ms    mean ms  on-CPU %        rows      blocks  query',
    ...top.map((r) => `  ${String(r.calls).padStart(9)} ${ms(r.total).padStart(10)} ${ms(r.mean).padStart(10)} ` +
      `${(100 * Number(r.cpu) / Math.max(1, Number(r.total))).toFixed(0).padStart(9)} ${opt(r.rows).padStart(11)} ${opt(r.blks).padStart(11)}  ` +
      `${String(r.text ?? '(text not captured)').replace(/\s+/g, ' ').slice(0, 70)}`),
  ];
  lines.push(...(await planNodeSummary(outDir)));
  if (hasTable(outDir, 'operators')) lines.push(...(await operatorSummary(outDir)));
  if (hasTable(outDir, 'query_errors')) {
    const [e] = await queryParquet(`SELECT count(*) AS n FROM ${tableSource(outDir, 'query_errors')}`);
    lines.push(`  failed statements (query_errors): ${e!.n}`);
  }
  lines.push(...runLines(outDir));
  return lines.join('\n');
}

/** Provenance: one block per collection run that wrote here (`_runs/*.json`). */
function runLines(outDir: string): string[] {
  return readRunRecords(outDir).flatMap((r) => [
    `  run ${r.run_id}: pgscout ${r.pgscout_version}${r.pgscout_commit ? ` (${r.pgscout_commit.slice(0, 12)})` : ''}, dataset schema ${r.dataset_schema_version}, ` +
      `${r.level} level, ${r.source} source`,
    `    ${r.started_at} → ${r.ended_at ?? 'did not end (killed?)'}; rows ${r.rows ? Object.values(r.rows).reduce((a, n) => a + n, 0) : 'n/a'}, ` +
      `records dropped ${r.records_dropped ?? 'n/a'}`,
    `    PostgreSQL ${r.postgres_version}, kernel ${r.kernel_release}; perf counters read ${r.counters_collected ? r.counters_collected.join(', ') || 'none' : 'not recorded'}` +
      `; the kernel has ${r.counters_available.join(', ') || 'none'}` +
      (r.counters_unavailable.length ? ` (not: ${r.counters_unavailable.join(', ')})` : ''),
    `    sampling ${Object.entries(r.sampling).filter(([, v]) => v !== null).map(([k, v]) => `${k}=${v}`).join(', ')}`,
    `    plan settings ${Object.entries(r.postgres_settings).map(([k, v]) => `${k}=${v}`).join(', ')}`,
  ]);
}

async function operatorSummary(outDir: string): Promise<string[]> {
  const src = tableSource(outDir, 'operators');
  const rows = await queryParquet(`SELECT node_type, count(*) AS n, count(DISTINCT exec_id) AS execs, sum(loops) AS loops,
      sum(tuples) AS tuples, sum(excl_ns) AS excl, sum(excl_off_cpu_ns) AS off FROM ${src} GROUP BY 1 ORDER BY excl DESC`);
  return [
    '  plan nodes by type (operators table, per-call probes):',
    '    node type              nodes   statements        loops         tuples   excl ms  off-CPU %',
    ...rows.map((r) => `    ${String(r.node_type).padEnd(20)} ${String(r.n).padStart(7)} ${String(r.execs).padStart(12)} ` +
      `${String(r.loops).padStart(12)} ${String(r.tuples).padStart(14)} ${ms(r.excl).padStart(9)} ` +
      `${(100 * Number(r.off) / Math.max(1, Number(r.excl))).toFixed(0).padStart(10)}`),
  ];
}

export async function runSummary(args: string[]): Promise<number> {
  const { positionals } = parseArgs({ args, options: {}, strict: true, allowPositionals: true });
  if (positionals.length !== 1) throw new ConfigError('usage: pgscout summary <dataset dir>');
  process.stdout.write(`${await summarize(positionals[0]!)}\n`);
  return 0;
}
