/**
 * `pgscout export <out> --table T --format csv [--to file]`: one table as CSV
 * for readers without a Parquet library (pandas without pyarrow), with a
 * header, the types in `<file>.types.json` and the provenance of the runs in
 * `<file>.provenance.json`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { readRunRecords } from '../collect/provenance.js';
import { hasTable, queryParquet, sqlString, tableSource } from '../dataset/read-back.js';
import { ConfigError } from '../util/errors.js';

export async function exportCsv(outDir: string, table: string, file: string): Promise<{ rows: number; file: string }> {
  if (!/^[a-z_]+$/.test(table) || !hasTable(outDir, table)) throw new ConfigError(`${outDir} has no table '${table}' (no ${path.join(outDir, table)}/**/*.parquet)`);
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const src = tableSource(outDir, table);
  await queryParquet(`COPY (SELECT * FROM ${src}) TO ${sqlString(path.resolve(file))} (FORMAT csv, HEADER true)`);
  const types = await queryParquet(`DESCRIBE SELECT * FROM ${src}`);
  fs.writeFileSync(`${file}.types.json`, `${JSON.stringify(Object.fromEntries(types.map((t) => [t.column_name, t.column_type])), null, 2)}\n`);
  fs.writeFileSync(`${file}.provenance.json`, `${JSON.stringify(readRunRecords(outDir), null, 2)}\n`);
  const [n] = await queryParquet(`SELECT count(*) AS n FROM ${src}`);
  return { rows: Number(n!.n), file };
}

export async function runExport(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: { table: { type: 'string' }, format: { type: 'string' }, to: { type: 'string' } }, strict: true, allowPositionals: true });
  if (positionals.length !== 1 || !values.table) throw new ConfigError('usage: pgscout export <dataset dir> --table <name> [--format csv] [--to file]');
  if ((values.format ?? 'csv') !== 'csv') throw new ConfigError(`--format '${values.format}' is not supported: use csv (Parquet readers can read the dataset itself)`);
  const outDir = positionals[0]!;
  const r = await exportCsv(outDir, values.table, values.to ?? path.join(outDir, '_export', `${values.table}.csv`));
  process.stdout.write(`exported ${r.rows} rows of ${values.table} to ${r.file} (types in ${r.file}.types.json, provenance in ${r.file}.provenance.json)\n`);
  return 0;
}
