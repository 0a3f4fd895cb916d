/** `pgscout report <dir> [--out <file.html>]`: one self-contained HTML page of charts, read back from the Parquet files. */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError } from '../util/errors.js';
import { loadReportData } from '../report/data.js';
import { renderReport } from '../report/page.js';

/** Writes the report of dataset `outDir` to `file` (default `<outDir>/report.html`); returns the file's absolute path. */
export async function writeReport(outDir: string, file = path.join(outDir, 'report.html')): Promise<string> {
  const html = renderReport(await loadReportData(outDir));
  const target = path.resolve(file);
  const tmp = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.tmp`);
  try {
    fs.writeFileSync(tmp, html);
    fs.renameSync(tmp, target);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    const e = err as NodeJS.ErrnoException;
    throw new ConfigError(`cannot write ${target}: ${e.code ?? e.message}; pass --out <file.html> in a writable directory`, { cause: err });
  }
  return target;
}

export async function runReport(args: string[]): Promise<number> {
  const { positionals, values } = parseArgs({ args, options: { out: { type: 'string' } }, strict: true, allowPositionals: true });
  if (positionals.length !== 1) throw new ConfigError('usage: pgscout report <dataset dir> [--out <file.html>]');
  if (values.out !== undefined && values.out.trim() === '') throw new ConfigError('--out needs a file name, e.g. --out report.html');
  process.stdout.write(`${await writeReport(positionals[0]!, values.out)}\n`);
  return 0;
}
