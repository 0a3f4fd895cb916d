/**
 * What a dataset came from (issue 11): the run, the pgscout build, the server
 * and the settings that shape its plans, the kernel and its counters, the
 * sampling in force. Every Parquet file carries it as key-value metadata, every
 * row carries run_id, and `<out>/_runs/<run-id>.json` holds it with the run's
 * start, end, rows and drops.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { COUNTERS, counterWanted, openCounter } from '../bpf/perf.js';
import { column, type ColumnSpec } from '../dataset/schema.js';
import { utcStamp } from '../dataset/paths.js';
import { connectOwn } from '../pg/own-backends.js';
import type { Target } from '../pg/target.js';
import { packageRoot } from '../util/package-root.js';
import { usesExactSource, usesTrapSource, type CollectConfig } from '../config.js';

/** Bumped whenever a table gains, loses or changes a column. */
export const DATASET_SCHEMA_VERSION = 2;

/** Settings that change plans or their cost: a model trained under one set may not transfer. */
export const PLAN_SETTINGS: readonly string[] = [
  'work_mem', 'shared_buffers', 'effective_cache_size', 'random_page_cost', 'seq_page_cost',
  'cpu_tuple_cost', 'cpu_index_tuple_cost', 'cpu_operator_cost', 'effective_io_concurrency',
  'jit', 'jit_above_cost', 'max_parallel_workers_per_gather', 'max_parallel_workers', 'max_worker_processes',
  'parallel_setup_cost', 'parallel_tuple_cost', 'min_parallel_table_scan_size', 'min_parallel_index_scan_size',
  'default_statistics_target', 'hash_mem_multiplier', 'enable_hashjoin', 'enable_mergejoin', 'enable_nestloop',
  'enable_seqscan', 'enable_indexscan', 'enable_bitmapscan', 'enable_hashagg', 'enable_sort', 'enable_memoize',
];

export const RUN_ID_COLUMN: ColumnSpec = column('run_id', 'STRING', false, '', 'pgscout collect: one id per run',
  'The collection run this row came from: <out>/_runs/<run_id>.json and every file\'s metadata describe it');

export interface Provenance {
  run_id: string;
  dataset_schema_version: number;
  pgscout_version: string;
  pgscout_commit: string | null;
  postgres_version: string;
  postgres_settings: Record<string, string>;
  kernel_release: string;
  counters_available: string[];
  counters_unavailable: string[];
  /** Counters this run read (per-task virtualized): none with the default source, cpu_clock_ns only with --cpu-clock. */
  counters_collected?: string[];
  sampling: Record<string, number | string | null>;
  level: string;
  source: string;
  host: string;
  started_at: string;
}

function pgscoutVersion(): { version: string; commit: string | null } {
  const root = packageRoot();
  const version = String(JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).version);
  let commit: string | null = process.env.PGSCOUT_GIT_COMMIT ?? null;
  if (!commit && fs.existsSync(path.join(root, '.git'))) {
    try {
      commit = execFileSync('git', ['-C', root, 'rev-parse', 'HEAD'], { encoding: 'utf8', timeout: 2000, stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      commit = null; // no git binary, or not a checkout: the version still says what was run
    }
  }
  return { version, commit };
}

/** Which perf counters this kernel/CPU opens for a task (opened on one CPU and closed at once). */
function counterAvailability(): { available: string[]; unavailable: string[] } {
  const available: string[] = [];
  const unavailable: string[] = [];
  for (const spec of COUNTERS) {
    const opened = openCounter(spec, 1);
    if ('reason' in opened) unavailable.push(spec.name);
    else {
      available.push(spec.name);
      for (const fd of opened.fds) fs.closeSync(fd);
    }
  }
  return { available, unavailable };
}

/** The counters the statement programs read: the trap-based source only, the software clock on request. */
function countersCollected(config: CollectConfig, available: string[]): string[] {
  if (!usesTrapSource(config)) return [];
  return COUNTERS.filter((spec) => available.includes(spec.name) && counterWanted(spec, config.cpuClock)).map((spec) => spec.name);
}

async function planSettings(conninfo: string): Promise<Record<string, string>> {
  // An own backend: its statement is not part of the dataset.
  const client = await connectOwn(conninfo);
  try {
    const r = await client.query('SELECT name, setting, unit FROM pg_settings WHERE name = ANY($1) ORDER BY name', [PLAN_SETTINGS]);
    return Object.fromEntries(r.rows.map((row) => [row.name, row.unit ? `${row.setting} ${row.unit}` : row.setting]));
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function gatherProvenance(config: CollectConfig, target: Target, at = new Date()): Promise<Provenance> {
  const { version, commit } = pgscoutVersion();
  const counters = counterAvailability();
  return {
    run_id: `${utcStamp(at)}-${randomBytes(4).toString('hex')}`,
    dataset_schema_version: DATASET_SCHEMA_VERSION,
    pgscout_version: version,
    pgscout_commit: commit,
    postgres_version: target.version,
    postgres_settings: await planSettings(config.pg),
    kernel_release: os.release(),
    counters_available: counters.available,
    counters_unavailable: counters.unavailable,
    counters_collected: countersCollected(config, counters.available),
    sampling: {
      statement_rows_per_s: config.statementRows,
      slow_ms: config.slowMs,
      operator_sample: config.level === 'operator' ? config.sample : null,
      operator_probes: config.operatorProbes,
      operator_timing: config.level === 'operator' ? config.operatorTiming : null,
      operator_rows_per_s: config.level === 'operator' ? config.operatorRows : null,
    },
    level: config.level,
    source: usesExactSource(config) ? 'exact' : 'scheduler',
    host: config.host,
    started_at: at.toISOString(),
  };
}

/** The file metadata: one key per field (values JSON), so readers can pick one without parsing all. */
export function provenanceMetadata(p: Provenance): { key: string; value: string }[] {
  return [
    { key: 'pgscout.provenance', value: JSON.stringify(p) },
    ...Object.entries(p).map(([k, v]) => ({ key: `pgscout.${k}`, value: typeof v === 'string' ? v : JSON.stringify(v) })),
  ];
}

export interface RunRecord extends Provenance {
  ended_at: string | null;
  rows: Record<string, number> | null;
  records_dropped: number | null;
}

export function runsDir(outDir: string): string {
  return path.join(outDir, '_runs');
}

/** Written at start (ended_at null: a run that never ended was killed) and again at the end. */
export function writeRunRecord(outDir: string, record: RunRecord): void {
  const dir = runsDir(outDir);
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${record.run_id}.json`);
  fs.writeFileSync(`${file}.tmp`, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o640 });
  fs.renameSync(`${file}.tmp`, file);
}

export function readRunRecords(outDir: string): RunRecord[] {
  const dir = runsDir(outDir);
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort()
    .map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as RunRecord);
}
