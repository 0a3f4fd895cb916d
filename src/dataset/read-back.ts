/**
 * Run one SQL query in a throwaway in-memory DuckDB, typically over the
 * dataset: `SELECT … FROM read_parquet('<out>/queries/**\/*.parquet', hive_partitioning=true)`.
 *
 * Values come back as plain JS: BIGINT/HUGEINT → bigint (exact), INTEGER/DOUBLE
 * → number, VARCHAR → string, DATE/TIMESTAMP → Date, DECIMAL → number (lossy:
 * cast to VARCHAR or HUGEINT in SQL when exactness matters, e.g. avg()).
 */
import { DuckDBInstance } from '@duckdb/node-api';
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
