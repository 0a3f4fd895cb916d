/**
 * One typed configuration for `collect` (and `demo`): defaults, then
 * PGSCOUT_* environment overrides, then flags; validate() says in one line
 * what is wrong.
 */
import net from 'node:net';
import os from 'node:os';
import { ConfigError } from './util/errors.js';

export type Level = 'statement' | 'operator';

/** Where the Prometheus endpoint listens. */
export interface ListenAddress { host: string; port: number }

export const MAX_TOP_QUERIES = 100;

export interface CollectConfig {
  pg: string;
  out: string;
  intervalMs: number;
  /**
   * --sync-interval: how often the rows drained so far become row groups that
   * are fsync'd and journaled (what a SIGKILL cannot take away). Every drain
   * when at most --interval. Each sync is a row group per table with rows, its
   * footer and two fsyncs: syncing every 1 s drain cost more CPU than the rows.
   */
  syncIntervalMs: number;
  /** null: until SIGINT/SIGTERM. */
  durationMs: number | null;
  host: string;
  level: Level;
  /**
   * Operator level: fraction of statements instrumented (auto_explain.sample_rate
   * under --setup-instrumentation; with the server's own auto_explain, its
   * sample_rate is in force and this must stay 1).
   */
  sample: number;
  /** --operator-probes: fraction of client backends whose operators the per-call probes follow; null: no probes. */
  operatorProbes: number | null;
  /** --operator-probes below 1: how often the probed backends rotate. */
  sampleRotateMs: number;
  /** --operator-timing: fraction of the time node timing is on (auto_explain.log_timing, switched in slices). */
  operatorTiming: number;
  /** --operator-rows: instrumented statements per second whose nodes become plan_nodes rows; null: every one. */
  operatorRows: number | null;
  statusLine: boolean;
  /** Prometheus scrape endpoint (--prometheus); null: none. */
  prometheus: ListenAddress | null;
  /** OTLP/HTTP protobuf metrics URL (--otlp); null: no push. */
  otlp: string | null;
  otlpIntervalMs: number;
  /** Per-query_id series for the top N query_ids by total time (0: none). */
  topQueries: number;
  /** --exact: every execution counted at the end of its top-level PortalRun (one trap a statement), pipelines and multi-statement strings included. */
  exact: boolean;
  /** --statement-rows: sampled `queries` rows per second for the whole collector; null: every execution. */
  statementRows: number | null;
  /** --slow: executions at least this long are always kept as `queries` rows (0: none). */
  slowMs: number;
  /** --phases (with --exact): the trap-based source with its parse/plan, transaction and executor probes, for parse_ns/plan_ns/rows. */
  phases: boolean;
  /**
   * --cpu-clock (with --exact or --operator-probes): read the software cpu-clock
   * perf counter into cpu_clock_ns. Off by default: it counts the task's own CPU
   * time, which on_cpu_ns already has, at two counter reads per statement
   * boundary and tracked switch (docs/benchmarks.md, run I).
   */
  cpuClock: boolean;
  /**
   * --net-recv (default source): trace socket reads too, for net_recv_bytes and
   * for telling apart statements a client pipelines (otherwise counted as
   * coalesced); ~0.4 µs more per statement (docs/benchmarks.md).
   */
  netRecv: boolean;
  /**
   * --setup-instrumentation (operator level): load auto_explain for new
   * sessions via ALTER SYSTEM (instrumenting, never logging), undone at exit.
   */
  setupInstrumentation: boolean;
  /**
   * --skip-warmup (--operator-probes): no EXPLAIN of catalog plans at start to
   * reveal node functions; the first execution of each node type is then
   * written without labels (operators.probed = false).
   */
  skipWarmup: boolean;
  /** --wait: a PostgreSQL that does not answer yet is waited for (until it does, or a signal), not an error. */
  wait: boolean;
}

export const DEFAULTS: Omit<CollectConfig, 'pg' | 'out'> = {
  intervalMs: 1000,
  syncIntervalMs: 5000,
  durationMs: null,
  host: os.hostname(),
  level: 'statement',
  sample: 1,
  operatorProbes: null,
  sampleRotateMs: 10_000,
  // Two clock reads per tuple per node cost 0.81–0.83 of bare on an analytical mix (docs/benchmarks.md): time a tenth.
  operatorTiming: 0.1,
  operatorRows: 500,
  statusLine: process.stderr.isTTY === true,
  prometheus: null,
  otlp: null,
  otlpIntervalMs: 10_000,
  topQueries: 20,
  exact: false,
  // 500/s: a row costs ~28 µs of daemon CPU end to end (decode, row, column buffers, Parquet, GC): 1.4 % of a core (docs/benchmarks.md, run E).
  statementRows: 500,
  slowMs: 10,
  phases: false,
  cpuClock: false,
  netRecv: false,
  setupInstrumentation: false,
  skipWarmup: false,
  wait: false,
};

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** "500ms", "1s", "2.5m", "1h"; a bare number is seconds. */
export function parseDuration(value: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
  if (!m) throw new ConfigError(`${flag} '${value}' is not a duration: use e.g. 500ms, 1s, 30s, 5m`);
  return Math.round(Number(m[1]) * UNITS[m[2] ?? 's']!);
}

export interface RawCollectOptions {
  pg?: string;
  out?: string;
  interval?: string;
  'sync-interval'?: string;
  duration?: string;
  host?: string;
  level?: string;
  sample?: string;
  'sample-rotate'?: string;
  prometheus?: string;
  otlp?: string;
  'otlp-interval'?: string;
  'top-queries'?: string;
  exact?: boolean;
  'statement-rows'?: string;
  slow?: string;
  phases?: boolean;
  'cpu-clock'?: boolean;
  'net-recv'?: boolean;
  'operator-probes'?: string;
  'operator-timing'?: string;
  'operator-rows'?: string;
  'setup-instrumentation'?: boolean;
  'skip-warmup'?: boolean;
  wait?: boolean;
}

export function collectConfig(flags: RawCollectOptions, env: NodeJS.ProcessEnv = process.env): CollectConfig {
  const pick = (flag: string | undefined, name: string) => flag ?? env[`PGSCOUT_${name}`];
  const interval = pick(flags.interval, 'INTERVAL');
  const duration = pick(flags.duration, 'DURATION');
  const syncInterval = pick(flags['sync-interval'], 'SYNC_INTERVAL');
  const cfg: CollectConfig = {
    ...DEFAULTS,
    pg: pick(flags.pg, 'PG') ?? '',
    out: pick(flags.out, 'OUT') ?? '',
    intervalMs: interval ? parseDuration(interval, '--interval') : DEFAULTS.intervalMs,
    syncIntervalMs: syncInterval ? parseDuration(syncInterval, '--sync-interval') : DEFAULTS.syncIntervalMs,
    durationMs: duration ? parseDuration(duration, '--duration') : null,
    host: pick(flags.host, 'HOST') ?? DEFAULTS.host,
    level: (pick(flags.level, 'LEVEL') ?? DEFAULTS.level) as Level,
    sample: optional(pick(flags.sample, 'SAMPLE'), (v) => parseFraction(v, '--sample', 'of statements instrumented', false)) ?? DEFAULTS.sample,
    operatorProbes: optional(pick(flags['operator-probes'], 'OPERATOR_PROBES'), (v) => parseFraction(v, '--operator-probes', 'of backends probed', false)),
    operatorTiming: optional(pick(flags['operator-timing'], 'OPERATOR_TIMING'), (v) => parseFraction(v, '--operator-timing', 'of the time node timing is on', true))
      ?? DEFAULTS.operatorTiming,
    operatorRows: (() => {
      const v = pick(flags['operator-rows'], 'OPERATOR_ROWS');
      return v === undefined || v.trim() === '' ? DEFAULTS.operatorRows : parseRowsRate(v.trim(), '--operator-rows');
    })(),
    sampleRotateMs: (() => {
      const r = pick(flags['sample-rotate'], 'SAMPLE_ROTATE');
      return r ? parseDuration(r, '--sample-rotate') : DEFAULTS.sampleRotateMs;
    })(),
    prometheus: optional(pick(flags.prometheus, 'PROMETHEUS'), parseListenAddress),
    otlp: optional(pick(flags.otlp, 'OTLP'), parseOtlpUrl),
    otlpIntervalMs: optional(pick(flags['otlp-interval'], 'OTLP_INTERVAL'), (v) => parseDuration(v, '--otlp-interval'))
      ?? DEFAULTS.otlpIntervalMs,
    topQueries: optional(pick(flags['top-queries'], 'TOP_QUERIES'), parseTopQueries) ?? DEFAULTS.topQueries,
    exact: flags.exact ?? parseBool(env.PGSCOUT_EXACT, 'PGSCOUT_EXACT') ?? DEFAULTS.exact,
    statementRows: (() => {
      const v = pick(flags['statement-rows'], 'STATEMENT_ROWS');
      return v === undefined || v.trim() === '' ? DEFAULTS.statementRows : parseRowsRate(v.trim(), '--statement-rows');
    })(),
    slowMs: optional(pick(flags.slow, 'SLOW'), (v) => (v === '0' ? 0 : parseDuration(v, '--slow'))) ?? DEFAULTS.slowMs,
    phases: flags.phases ?? parseBool(env.PGSCOUT_PHASES, 'PGSCOUT_PHASES') ?? DEFAULTS.phases,
    cpuClock: flags['cpu-clock'] ?? parseBool(env.PGSCOUT_CPU_CLOCK, 'PGSCOUT_CPU_CLOCK') ?? DEFAULTS.cpuClock,
    netRecv: flags['net-recv'] ?? parseBool(env.PGSCOUT_NET_RECV, 'PGSCOUT_NET_RECV') ?? DEFAULTS.netRecv,
    setupInstrumentation: flags['setup-instrumentation'] ?? parseBool(env.PGSCOUT_SETUP_INSTRUMENTATION, 'PGSCOUT_SETUP_INSTRUMENTATION')
      ?? DEFAULTS.setupInstrumentation,
    skipWarmup: flags['skip-warmup'] ?? parseBool(env.PGSCOUT_SKIP_WARMUP, 'PGSCOUT_SKIP_WARMUP') ?? DEFAULTS.skipWarmup,
    wait: flags.wait ?? parseBool(env.PGSCOUT_WAIT, 'PGSCOUT_WAIT') ?? DEFAULTS.wait,
  };
  const explicitTop = pick(flags['top-queries'], 'TOP_QUERIES');
  if (explicitTop !== undefined && explicitTop.trim() !== '' && cfg.topQueries > 0 && !cfg.prometheus && !cfg.otlp) {
    throw new ConfigError('--top-queries exports metrics: give --prometheus <host:port> or --otlp <url> as well');
  }
  validate(cfg);
  return cfg;
}

/** Unset or empty: null (an empty environment variable means "not set"). */
function optional<T>(value: string | undefined, parse: (v: string) => T): T | null {
  return value === undefined || value.trim() === '' ? null : parse(value.trim());
}

const LISTEN_HELP = 'use a port (9464: listens on 127.0.0.1), host:port (127.0.0.1:9464, [::1]:9464), or 0.0.0.0:9464 to listen on every interface';

/**
 * `9464`, `:9464`, `host:9464`, `[v6]:9464`. Without a host it is 127.0.0.1:
 * the endpoint is reachable from outside only when an address says so.
 */
export function parseListenAddress(value: string): ListenAddress {
  let host = '127.0.0.1';
  let portText = value;
  if (!/^\d+$/.test(value)) {
    const m = /^(?:\[([^\]]*)\]|([^:[\]]*)):(\d+)$/.exec(value);
    if (!m) throw new ConfigError(`--prometheus '${value}' is not a port or host:port; ${LISTEN_HELP}`);
    portText = m[3]!;
    if (m[1] !== undefined) {
      if (net.isIP(m[1]) !== 6) throw new ConfigError(`--prometheus '${value}': '${m[1]}' is not an IPv6 address; ${LISTEN_HELP}`);
      host = m[1];
    } else if (m[2]) {
      const bad = !/^[A-Za-z0-9.-]+$/.test(m[2]) || (/^[\d.]+$/.test(m[2]) && net.isIP(m[2]) !== 4);
      if (bad) throw new ConfigError(`--prometheus '${value}': '${m[2]}' is not a host name or IPv4 address; ${LISTEN_HELP}`);
      host = m[2];
    }
  }
  const port = Number(portText);
  if (!(port >= 1 && port <= 65535)) throw new ConfigError(`--prometheus '${value}': the port must be 1-65535, got ${portText}`);
  return { host, port };
}

/** An http(s) URL; a bare origin (no path) gets the standard /v1/metrics path. */
export function parseOtlpUrl(value: string): string {
  const bad = () => new ConfigError(`--otlp '${value}' is not an http:// or https:// URL (OTLP/HTTP); use e.g. http://127.0.0.1:4318/v1/metrics`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw bad();
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || !url.hostname) throw bad();
  if (url.pathname === '/') url.pathname = '/v1/metrics';
  return url.toString();
}

function parseTopQueries(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > MAX_TOP_QUERIES) {
    throw new ConfigError(`--top-queries '${value}' must be an integer from 0 to ${MAX_TOP_QUERIES}`);
  }
  return n;
}

/** `2000/s`, `2000` (per second) or `all`. */
function parseRowsRate(value: string, flag: string): number | null {
  if (value === 'all') return null;
  const m = /^(\d+)(?:\/s)?$/.exec(value);
  if (!m || Number(m[1]) < 1 || Number(m[1]) > 1_000_000) {
    throw new ConfigError(`${flag} '${value}' must be a rate like 2000/s (1 to 1000000 per second) or 'all'`);
  }
  return Number(m[1]);
}

function parseBool(value: string | undefined, name: string): boolean | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  if (/^(1|true|yes|on)$/i.test(value.trim())) return true;
  if (/^(0|false|no|off)$/i.test(value.trim())) return false;
  throw new ConfigError(`${name} '${value}' must be true or false`);
}

function parseFraction(value: string, flag: string, what: string, zeroOk: boolean): number {
  const n = Number(value);
  if (!/^\d*\.?\d+$/.test(value) || !((zeroOk ? n >= 0 : n > 0) && n <= 1)) {
    throw new ConfigError(`${flag} '${value}' must be a fraction in ${zeroOk ? '[0' : '(0'}, 1], e.g. 0.1 for 10% ${what}`);
  }
  return n;
}

/**
 * Calls are counted on all traffic, pipelined and multi-statement round trips
 * included (--exact, or the operator probes, which need the trap-based source).
 */
export function usesExactSource(cfg: Pick<CollectConfig, 'exact' | 'operatorProbes'>): boolean {
  return cfg.exact || cfg.operatorProbes !== null;
}

/**
 * Statements come from the trap-based source (bpf/statements.bpf.c) when
 * something needs its probes: parse/plan phases, perf counters, or the
 * operator probes, which join their rows to its statements. Otherwise from
 * the scheduler-based one, --exact included (one trap a statement there).
 */
export function usesTrapSource(cfg: Pick<CollectConfig, 'phases' | 'cpuClock' | 'operatorProbes'>): boolean {
  return cfg.phases || cfg.cpuClock || cfg.operatorProbes !== null;
}

export function validate(cfg: CollectConfig): void {
  if (!cfg.pg) throw new ConfigError('--pg <conninfo> is required (e.g. --pg "host=/var/run/postgresql user=postgres")');
  if (!cfg.out) throw new ConfigError('--out <dir> is required: where the Parquet dataset is written');
  if (cfg.intervalMs < 50 || cfg.intervalMs > 3_600_000) {
    throw new ConfigError(`--interval must be between 50ms and 1h, got ${cfg.intervalMs}ms`);
  }
  if (cfg.syncIntervalMs > 3_600_000) throw new ConfigError(`--sync-interval must be at most 1h, got ${cfg.syncIntervalMs}ms`);
  if (cfg.durationMs !== null && cfg.durationMs <= 0) throw new ConfigError('--duration must be positive');
  if (cfg.level !== 'statement' && cfg.level !== 'operator') {
    throw new ConfigError(`--level '${cfg.level}' is not a level: use statement or operator`);
  }
  if (cfg.sampleRotateMs < 100) throw new ConfigError('--sample-rotate must be at least 100ms');
  if (cfg.otlpIntervalMs < 100 || cfg.otlpIntervalMs > 3_600_000) {
    throw new ConfigError(`--otlp-interval must be between 100ms and 1h, got ${cfg.otlpIntervalMs}ms`);
  }
  const operatorOnly = ([
    ['--setup-instrumentation', cfg.setupInstrumentation], ['--operator-probes', cfg.operatorProbes !== null],
  ] as const)
    .find(([, given]) => given);
  if (operatorOnly && cfg.level !== 'operator') {
    throw new ConfigError(`${operatorOnly[0]} is part of the operator level: add --level operator`);
  }
  if (cfg.skipWarmup && cfg.operatorProbes === null) {
    throw new ConfigError('--skip-warmup is for --operator-probes (its warm-up reveals node functions to the per-call probes): add --level operator --operator-probes 1, or drop it');
  }
  if (cfg.level !== 'operator' && cfg.sample !== 1) {
    throw new ConfigError('--sample is the fraction of statements instrumented at --level operator: add --level operator');
  }
  if (cfg.phases && !usesExactSource(cfg)) {
    throw new ConfigError('--phases needs --exact: the default source sees no parse/plan boundaries (it traps nothing per statement)');
  }
  if (cfg.cpuClock && !usesExactSource(cfg)) {
    throw new ConfigError('--cpu-clock needs --exact or --operator-probes: the default source reads no perf counters (on_cpu_ns is its CPU time)');
  }
  if (cfg.netRecv && usesTrapSource(cfg)) {
    throw new ConfigError('--net-recv is for the scheduler-based statement source: --phases, --cpu-clock and --operator-probes trace socket reads already');
  }
  if (!/^[A-Za-z0-9._-]+$/.test(cfg.host)) throw new ConfigError(`--host '${cfg.host}' may only contain letters, digits, '.', '_' and '-'`);
}
