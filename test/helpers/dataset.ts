/** Reading a dataset back with DuckDB, a reader independent of the writer. */
import fs from 'node:fs';
import path from 'node:path';
import { queryParquet, sqlString } from '../../src/dataset/read-back.js';
import { tableGlob } from '../../src/dataset/paths.js';

export function tableSource(outDir: string, table: string): string {
  return `read_parquet(${sqlString(tableGlob(outDir, table))}, hive_partitioning=true, union_by_name=true)`;
}

export function hasTable(outDir: string, table: string): boolean {
  const dir = path.join(outDir, table);
  return fs.existsSync(dir) && fs.readdirSync(dir, { recursive: true }).some((f) => String(f).endsWith('.parquet'));
}

export async function readTable(outDir: string, table: string, where = 'true'): Promise<Record<string, unknown>[]> {
  if (!hasTable(outDir, table)) return [];
  return queryParquet(`SELECT * FROM ${tableSource(outDir, table)} WHERE ${where}`);
}

/** Every value of every column of every table, as text (decompressed by DuckDB). */
export async function allValuesAsText(outDir: string): Promise<string> {
  const parts: string[] = [];
  for (const table of fs.readdirSync(outDir)) {
    if (!hasTable(outDir, table)) continue;
    const rows = await queryParquet(`SELECT * FROM ${tableSource(outDir, table)}`);
    for (const row of rows) parts.push(Object.values(row).map((v) => String(v)).join('\u0001'));
  }
  return parts.join('\n');
}

export function listFiles(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true }).map(String).filter((f) => fs.statSync(path.join(dir, f)).isFile());
}
