/**
 * Run one SQL query in a throwaway in-memory DuckDB, typically over the
 * dataset: `SELECT … FROM read_parquet('<out>/queries/**\/*.parquet', hive_partitioning=true)`.
 *
 * Values come back as plain JS: BIGINT/HUGEINT → bigint (exact), INTEGER/DOUBLE
 * → number, VARCHAR → string, DATE/TIMESTAMP → Date, DECIMAL → number (lossy:
 * cast to VARCHAR or HUGEINT in SQL when exactness matters, e.g. avg()).
 */
import fs from 'node:fs';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { tableGlob } from './paths.js';
import { PgscoutError } from '../util/errors.js';

export async function queryParquet(sql: string): Promise<Record<string, unknown>[]> {
  const db = await DuckDBInstance.create(':memory:');
  try {
    const con = await db.connect();
    try {
      const reader = await con.runAndReadAll(sql);
      return reader.getRowObjectsJS() as Record<string, unknown>[];
    } catch (err) {
      throw new PgscoutError(`query failed: ${(err as Error).message}`, { cause: err });
    } finally {
      con.closeSync();
    }
  } finally {
    db.closeSync();
  }
}

/** Quote a path or string for use inside a DuckDB SQL string literal. */
export function sqlString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** `read_parquet(…)` over every completed file of one table of a dataset (Hive partitions as columns). */
export function tableSource(outDir: string, table: string): string {
  return `read_parquet(${sqlString(tableGlob(outDir, table))}, hive_partitioning=true, union_by_name=true)`;
}

/** Whether the dataset holds at least one completed file of this table. */
export function hasTable(outDir: string, table: string): boolean {
  const dir = path.join(outDir, table);
  return fs.existsSync(dir) && fs.readdirSync(dir, { recursive: true })
    .some((f) => String(f).endsWith('.parquet') && !path.basename(String(f)).startsWith('.'));
}

/** Rows of one table (all columns), filtered by a SQL condition; [] when the table has no file yet. */
export async function readTable(outDir: string, table: string, where = 'true'): Promise<Record<string, unknown>[]> {
  if (!hasTable(outDir, table)) return [];
  return queryParquet(`SELECT * FROM ${tableSource(outDir, table)} WHERE ${where}`);
}
