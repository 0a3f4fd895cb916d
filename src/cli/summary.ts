/** `pgscout summary <dir>`: what a dataset holds, read back from its Parquet files. */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { queryParquet, sqlString } from '../dataset/read-back.js';
import { tableGlob } from '../dataset/paths.js';
import { ConfigError } from '../util/errors.js';

function hasFiles(dir: string): boolean {
  if (!fs.existsSync(dir)) return false;
  return fs.readdirSync(dir, { recursive: true }).some((f) => String(f).endsWith('.parquet') && !path.basename(String(f)).startsWith('.'));
}

const ms = (v: unknown) => (Number(v) / 1e6).toFixed(2);

export async function summarize(outDir: string): Promise<string> {
  const queriesDir = path.join(outDir, 'queries');
  if (!hasFiles(queriesDir)) throw new ConfigError(`${outDir} holds no pgscout dataset (no ${queriesDir}/**/*.parquet)`);
  const src = `read_parquet(${sqlString(tableGlob(outDir, 'queries'))}, hive_partitioning=true)`;
  const [tot] = await queryParquet(`SELECT count(*) AS n, count(DISTINCT query_id) AS ids, count(DISTINCT pid) AS pids,
      sum(duration_ns) AS dur, sum(on_cpu_ns) AS cpu, sum(off_cpu_ns) AS off, sum(runq_wait_ns) AS runq,
      sum(net_send_bytes) AS sent, sum(disk_read_bytes) AS rd, min(start_ns) AS t0, max(end_ns) AS t1 FROM ${src}`);
  const top = await queryParquet(`SELECT any_value(query_text) AS text, count(*) AS calls, sum(duration_ns) AS total,
      avg(duration_ns)::BIGINT AS mean, sum(on_cpu_ns) AS cpu, sum(off_cpu_ns) AS off, sum(coalesce(rows, 0)) AS rows
      FROM ${src} GROUP BY query_id ORDER BY total DESC LIMIT 10`);
  const kinds = await queryParquet(`SELECT coalesce(command, '?') AS command, protocol, count(*) AS n FROM ${src} GROUP BY ALL ORDER BY n DESC`);
  const t = tot!;
  const lines = [
    `dataset ${outDir}`,
    `  statements ${t.n}, distinct query_id ${t.ids}, backends ${t.pids}, span ${((Number(t.t1) - Number(t.t0)) / 1e9).toFixed(1)} s`,
    `  time: total ${ms(t.dur)} ms = on-CPU ${ms(t.cpu)} ms + off-CPU ${ms(t.off)} ms (run-queue wait ${ms(t.runq)} ms)`,
    `  I/O: ${t.sent} bytes sent to clients, ${t.rd} bytes read from disk`,
    `  by kind: ${kinds.map((k) => `${k.command}/${k.protocol} ${k.n}`).join(', ')}`,
    '  top statements by total time:',
    '      calls   total ms    mean ms  on-CPU %        rows  query',
    ...top.map((r) => `  ${String(r.calls).padStart(9)} ${ms(r.total).padStart(10)} ${ms(r.mean).padStart(10)} ` +
      `${(100 * Number(r.cpu) / Math.max(1, Number(r.total))).toFixed(0).padStart(9)} ${String(r.rows).padStart(11)}  ` +
      `${String(r.text ?? '(text not captured)').replace(/\s+/g, ' ').slice(0, 70)}`),
  ];
  if (hasFiles(path.join(outDir, 'operators'))) lines.push(...(await operatorSummary(outDir)));
  const errDir = path.join(outDir, 'query_errors');
  if (hasFiles(errDir)) {
    const [e] = await queryParquet(`SELECT count(*) AS n FROM read_parquet(${sqlString(tableGlob(outDir, 'query_errors'))}, hive_partitioning=true)`);
    lines.push(`  failed statements (query_errors): ${e!.n}`);
  }
  return lines.join('\n');
}

async function operatorSummary(outDir: string): Promise<string[]> {
  const src = `read_parquet(${sqlString(tableGlob(outDir, 'operators'))}, hive_partitioning=true)`;
  const rows = await queryParquet(`SELECT node_type, count(*) AS n, count(DISTINCT exec_id) AS execs, sum(loops) AS loops,
      sum(tuples) AS tuples, sum(excl_ns) AS excl, sum(excl_off_cpu_ns) AS off FROM ${src} GROUP BY 1 ORDER BY excl DESC`);
  return [
    '  plan nodes by type (operators table):',
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
