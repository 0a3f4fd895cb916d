/** Reading a dataset back with DuckDB, a reader independent of the writer. */
import fs from 'node:fs';
import path from 'node:path';
import { hasTable, queryParquet, readTable, tableSource } from '../../src/dataset/read-back.js';

export { hasTable, readTable, tableSource };

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
