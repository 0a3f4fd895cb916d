/**
 * Dataset file layout: Hive-style partitions so DuckDB, Spark and pandas pick
 * up `host` and `date` as columns without any pgscout-specific reader:
 *
 *   <out>/<table>/host=<host>/date=<YYYY-MM-DD>/part-<yyyymmddThhmmss>-<pid>-<seq>.parquet
 *
 * All times are UTC so files from hosts in different time zones line up.
 */
import { join } from 'node:path';
import { ConfigError } from '../util/errors.js';

/** Column names a table may not use: readers add them from the directory names. */
export const PARTITION_COLUMNS: readonly string[] = ['host', 'date'];

/**
 * Partition values become directory names and are parsed back by readers, so
 * keep them to characters that need no escaping anywhere ('/' or '=' would
 * break the layout; readers disagree on %-decoding).
 */
export function partitionValue(value: string): string {
  const cleaned = value.replace(/[^A-Za-z0-9._-]/g, '_');
  if (cleaned === '' || cleaned === '.' || cleaned === '..') {
    throw new ConfigError(`invalid partition value ${JSON.stringify(value)}: use a host name such as "db1"`);
  }
  return cleaned;
}

/** YYYY-MM-DD of `at` in UTC. */
export function utcDate(at: Date): string {
  return at.toISOString().slice(0, 10);
}

/** yyyymmddThhmmss of `at` in UTC. */
export function utcStamp(at: Date): string {
  return at.toISOString().replace(/[-:]/g, '').slice(0, 15);
}

export function partitionDir(outDir: string, table: string, host: string, at: Date): string {
  return join(outDir, table, `host=${partitionValue(host)}`, `date=${utcDate(at)}`);
}

export function partFileName(at: Date, pid: number, seq: number): string {
  return `part-${utcStamp(at)}-${pid}-${String(seq).padStart(6, '0')}.parquet`;
}

/**
 * Where a file is written before it is complete. Hidden (leading dot) and not
 * ending in .parquet, so neither `**\/*.parquet` globs nor Spark/Hive listings
 * (which skip '.' and '_' files) ever see a half-written file.
 */
export function tempFileName(finalName: string): string {
  return `.${finalName}.tmp`;
}

/** Glob matching every completed file of a table, for read_parquet(…, hive_partitioning=true). */
export function tableGlob(outDir: string, table: string): string {
  return join(outDir, table, '**', '*.parquet');
}
