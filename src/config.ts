/**
 * One typed configuration for `collect` (and `demo`): defaults, then
 * PGSCOUT_* environment overrides, then flags; validate() says in one line
 * what is wrong.
 */
import os from 'node:os';
import { ConfigError } from './util/errors.js';

export type Level = 'statement' | 'operator';

export interface CollectConfig {
  pg: string;
  out: string;
  intervalMs: number;
  /** null: until SIGINT/SIGTERM. */
  durationMs: number | null;
  host: string;
  level: Level;
  /** Operator level: fraction of client backends whose operators are probed (1: all, incl. parallel workers). */
  sample: number;
  /** Operator level with sample < 1: how often the sampled backends rotate. */
  sampleRotateMs: number;
  statusLine: boolean;
}

export const DEFAULTS: Omit<CollectConfig, 'pg' | 'out'> = {
  intervalMs: 1000,
  durationMs: null,
  host: os.hostname(),
  level: 'statement',
  sample: 1,
  sampleRotateMs: 10_000,
  statusLine: process.stderr.isTTY === true,
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
  duration?: string;
  host?: string;
  level?: string;
  sample?: string;
  'sample-rotate'?: string;
}

export function collectConfig(flags: RawCollectOptions, env: NodeJS.ProcessEnv = process.env): CollectConfig {
  const pick = (flag: string | undefined, name: string) => flag ?? env[`PGSCOUT_${name}`];
  const interval = pick(flags.interval, 'INTERVAL');
  const duration = pick(flags.duration, 'DURATION');
  const cfg: CollectConfig = {
    ...DEFAULTS,
    pg: pick(flags.pg, 'PG') ?? '',
    out: pick(flags.out, 'OUT') ?? '',
    intervalMs: interval ? parseDuration(interval, '--interval') : DEFAULTS.intervalMs,
    durationMs: duration ? parseDuration(duration, '--duration') : null,
    host: pick(flags.host, 'HOST') ?? DEFAULTS.host,
    level: (pick(flags.level, 'LEVEL') ?? DEFAULTS.level) as Level,
    sample: parseSample(pick(flags.sample, 'SAMPLE')),
    sampleRotateMs: (() => {
      const r = pick(flags['sample-rotate'], 'SAMPLE_ROTATE');
      return r ? parseDuration(r, '--sample-rotate') : DEFAULTS.sampleRotateMs;
    })(),
  };
  validate(cfg);
  return cfg;
}

function parseSample(value: string | undefined): number {
  if (value === undefined) return DEFAULTS.sample;
  const n = Number(value);
  if (!/^\d*\.?\d+$/.test(value.trim()) || !(n > 0 && n <= 1)) {
    throw new ConfigError(`--sample '${value}' must be a fraction in (0, 1], e.g. 0.1 for 10% of backends`);
  }
  return n;
}

export function validate(cfg: CollectConfig): void {
  if (!cfg.pg) throw new ConfigError('--pg <conninfo> is required (e.g. --pg "host=/var/run/postgresql user=postgres")');
  if (!cfg.out) throw new ConfigError('--out <dir> is required: where the Parquet dataset is written');
  if (cfg.intervalMs < 50 || cfg.intervalMs > 3_600_000) {
    throw new ConfigError(`--interval must be between 50ms and 1h, got ${cfg.intervalMs}ms`);
  }
  if (cfg.durationMs !== null && cfg.durationMs <= 0) throw new ConfigError('--duration must be positive');
  if (cfg.level !== 'statement' && cfg.level !== 'operator') {
    throw new ConfigError(`--level '${cfg.level}' is not a level: use statement or operator`);
  }
  if (cfg.sampleRotateMs < 100) throw new ConfigError('--sample-rotate must be at least 100ms');
  if (!/^[A-Za-z0-9._-]+$/.test(cfg.host)) throw new ConfigError(`--host '${cfg.host}' may only contain letters, digits, '.', '_' and '-'`);
}
