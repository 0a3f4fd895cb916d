/**
 * What the HTML report shows, read back from a dataset's Parquet files with
 * DuckDB. Aggregates only: every value here is a sum, count or quantile of
 * columns already in the dataset, or the dataset's own (normalized) text.
 */
import { planNodeTypes, type PlanNodeTypeStats } from './plan-node-data.js';
import fs from 'node:fs';
import path from 'node:path';
import { hasTable, queryParquet, tableSource } from '../dataset/read-back.js';
import { ConfigError } from '../util/errors.js';
import { loadModelPictures, type ModelPicture } from './model-data.js';

/** Latency histogram buckets per power of ten: bucket b holds durations in [10^(b/k), 10^((b+1)/k)) ns. */
export const BUCKETS_PER_DECADE = 4;
/** Fingerprints in the CPU breakdown chart and in the table. */
export const TOP_CHART = 10;
export const TOP_TABLE = 20;

export interface Overview {
  statements: bigint;
  failed: bigint;
  fingerprints: bigint;
  backends: bigint;
  hosts: string[];
  firstNs: bigint | null;
  lastNs: bigint | null;
  totalNs: bigint;
  onCpuNs: bigint;
  offCpuNs: bigint;
  runqNs: bigint;
}

export interface LatencyBucket {
  /** floor(log10(duration_ns) * BUCKETS_PER_DECADE). */
  index: number;
  loNs: number;
  hiNs: number;
  count: bigint;
}

export interface Latency {
  /** Contiguous from the lowest to the highest non-empty bucket (empty ones included, count 0). */
  buckets: LatencyBucket[];
  p50: bigint | null;
  p95: bigint | null;
  p99: bigint | null;
}

export interface FingerprintStats {
  /** null groups every statement whose text was not captured or did not parse. */
  fingerprint: string | null;
  text: string | null;
  command: string | null;
  calls: bigint;
  totalNs: bigint;
  meanNs: bigint;
  p95Ns: bigint;
  /** null when no execution of it had an executor run (utility statements). */
  rows: bigint | null;
  onCpuNs: bigint;
  offCpuNs: bigint;
  runqNs: bigint;
}

export interface NodeTypeStats {
  nodeType: string;
  nodes: bigint;
  statements: bigint;
  exclNs: bigint;
  onCpuNs: bigint;
  offCpuNs: bigint;
  runqNs: bigint;
}

export interface ReportData {
  dataset: string;
  overview: Overview;
  latency: Latency;
  top: FingerprintStats[];
  /** null when the dataset has no operators table (collected without --operator-probes). */
  nodeTypes: NodeTypeStats[] | null;
  /** null when the dataset has no plan_node_stats (collected without --level operator). */
  planNodeTypes: PlanNodeTypeStats[] | null;
  /** Saved models scored on their held-out templates; [] when none was trained, null without plan_nodes. */
  models: ModelPicture[] | null;
}

/** True when dir holds at least one completed (not hidden) Parquet file. */
const big = (v: unknown): bigint => (v === null || v === undefined ? 0n : BigInt(v as bigint | number));
const bigOrNull = (v: unknown): bigint | null => (v === null || v === undefined ? null : BigInt(v as bigint | number));
const strOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

async function overview(outDir: string, src: string): Promise<Overview> {
  const [t] = await queryParquet(`SELECT count(*) AS n, count(DISTINCT fingerprint) AS fps, count(DISTINCT (host, pid)) AS pids,
      list(DISTINCT host ORDER BY host) AS hosts, min(start_ns) AS t0, max(end_ns) AS t1, sum(duration_ns) AS dur,
      sum(on_cpu_ns) AS cpu, sum(off_cpu_ns) AS off, sum(runq_wait_ns) AS runq FROM ${src}`);
  let failed = 0n;
  if (hasTable(outDir, 'query_errors')) {
    const [e] = await queryParquet(`SELECT count(*) AS n FROM ${tableSource(outDir, 'query_errors')}`);
    failed = big(e!.n);
  }
  return {
    statements: big(t!.n), failed, fingerprints: big(t!.fps), backends: big(t!.pids),
    hosts: ((t!.hosts as unknown[] | null) ?? []).map(String),
    firstNs: bigOrNull(t!.t0), lastNs: bigOrNull(t!.t1),
    totalNs: big(t!.dur), onCpuNs: big(t!.cpu), offCpuNs: big(t!.off), runqNs: big(t!.runq),
  };
}

async function latency(src: string): Promise<Latency> {
  const k = BUCKETS_PER_DECADE;
  const rows = await queryParquet(`SELECT floor(log10(greatest(duration_ns, 1)) * ${k})::INTEGER AS b, count(*) AS n
      FROM ${src} GROUP BY 1 ORDER BY 1`);
  const [q] = await queryParquet(`SELECT quantile_disc(duration_ns, 0.5) AS p50, quantile_disc(duration_ns, 0.95) AS p95,
      quantile_disc(duration_ns, 0.99) AS p99 FROM ${src}`);
  const counts = new Map(rows.map((r) => [Number(r.b), big(r.n)]));
  const buckets: LatencyBucket[] = [];
  if (rows.length > 0) {
    const lo = Number(rows[0]!.b);
    const hi = Number(rows[rows.length - 1]!.b);
    for (let b = lo; b <= hi; b++) {
      buckets.push({ index: b, loNs: 10 ** (b / k), hiNs: 10 ** ((b + 1) / k), count: counts.get(b) ?? 0n });
    }
  }
  return { buckets, p50: bigOrNull(q?.p50), p95: bigOrNull(q?.p95), p99: bigOrNull(q?.p99) };
}

async function topFingerprints(src: string): Promise<FingerprintStats[]> {
  const rows = await queryParquet(`SELECT fingerprint, any_value(query_text) AS text, any_value(command) AS command,
      count(*) AS calls, sum(duration_ns) AS total, quantile_disc(duration_ns, 0.95) AS p95, sum(rows) AS rows,
      sum(on_cpu_ns) AS cpu, sum(off_cpu_ns) AS off, sum(runq_wait_ns) AS runq
      FROM ${src} GROUP BY fingerprint ORDER BY total DESC, fingerprint NULLS LAST LIMIT ${TOP_TABLE}`);
  return rows.map((r) => ({
    fingerprint: strOrNull(r.fingerprint),
    text: strOrNull(r.text),
    command: strOrNull(r.command),
    calls: big(r.calls),
    totalNs: big(r.total),
    meanNs: big(r.total) / big(r.calls),
    p95Ns: big(r.p95),
    rows: bigOrNull(r.rows),
    onCpuNs: big(r.cpu),
    offCpuNs: big(r.off),
    runqNs: big(r.runq),
  }));
}

async function nodeTypes(outDir: string): Promise<NodeTypeStats[] | null> {
  if (!hasTable(outDir, 'operators')) return null;
  const rows = await queryParquet(`SELECT node_type, count(*) AS nodes, count(DISTINCT (host, exec_id)) AS execs,
      sum(excl_ns) AS excl, sum(excl_on_cpu_ns) AS cpu, sum(excl_off_cpu_ns) AS off, sum(excl_runq_wait_ns) AS runq
      FROM ${tableSource(outDir, 'operators')} GROUP BY 1 ORDER BY excl DESC, node_type`);
  return rows.map((r) => ({
    nodeType: String(r.node_type),
    nodes: big(r.nodes),
    statements: big(r.execs),
    exclNs: big(r.excl),
    onCpuNs: big(r.cpu),
    offCpuNs: big(r.off),
    runqNs: big(r.runq),
  }));
}

/** Reads everything the report shows; ConfigError when `outDir` is not a pgscout dataset. */
export async function loadReportData(outDir: string): Promise<ReportData> {
  const queriesDir = path.join(outDir, 'queries');
  if (!fs.existsSync(outDir)) throw new ConfigError(`${outDir} does not exist: give the directory pgscout collect --out wrote`);
  if (!hasTable(outDir, 'queries')) throw new ConfigError(`${outDir} holds no pgscout dataset (no ${queriesDir}/**/*.parquet)`);
  const src = tableSource(outDir, 'queries');
  return {
    dataset: outDir,
    overview: await overview(outDir, src),
    latency: await latency(src),
    top: await topFingerprints(src),
    nodeTypes: await nodeTypes(outDir),
    planNodeTypes: await planNodeTypes(outDir),
    models: await loadModelPictures(outDir),
  };
}
