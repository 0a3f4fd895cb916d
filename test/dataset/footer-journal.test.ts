/**
 * Crash safety of the open file: a writer abandoned mid-file (as SIGKILL
 * leaves it) is published by the next start from its footer journal, with
 * every row of every row group that reached the disk, read back by DuckDB.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { recoverLeftovers } from '../../src/dataset/footer-journal.js';
import { ParquetTableWriter } from '../../src/dataset/parquet-writer.js';
import { tableGlob } from '../../src/dataset/paths.js';
import { queryParquet, sqlString } from '../../src/dataset/read-back.js';
import type { ColumnSpec, Row, TableSpec } from '../../src/dataset/schema.js';

const col = (name: string, type: ColumnSpec['type'], nullable = false): ColumnSpec => ({ name, type, nullable, unit: '', source: 'test', description: name });
const TABLE: TableSpec = { name: 'queries', columns: [col('seq', 'INT64'), col('text', 'STRING', true), col('x', 'DOUBLE')] };
const rows = (from: number, n: number): Row[] =>
  Array.from({ length: n }, (_, k) => ({ seq: 9_000_000_000_000_000_000n + BigInt(from + k), text: k % 3 ? `q${from + k}` : null, x: (from + k) / 4 }));

let out = '';
beforeEach(() => { out = fs.mkdtempSync(path.join(os.tmpdir(), 'pgscout-journal-')); });
afterEach(() => { fs.rmSync(out, { recursive: true, force: true }); });

const temps = () => (fs.readdirSync(out, { recursive: true }) as string[]).filter((f) => f.endsWith('.tmp'));
const readBack = () => queryParquet(`SELECT seq::VARCHAR AS seq, text, x FROM read_parquet(${sqlString(tableGlob(out, 'queries'))}) ORDER BY seq`);

describe('recoverLeftovers', () => {
  it('publishes an abandoned file with every synced row, cutting a half-written row group off', async () => {
    const w = new ParquetTableWriter({ outDir: out, table: TABLE, host: 'h', rowGroupRows: 10 });
    await w.append(rows(0, 25));
    await w.sync();
    // A row group being written when the process died: bytes past the journal's length.
    const [temp] = temps();
    fs.appendFileSync(path.join(out, temp!), Buffer.alloc(777, 7));
    expect(recoverLeftovers(out)).toEqual({ files: 1, rows: 25, discarded: 0 });
    expect(temps()).toEqual([]);
    const back = await readBack();
    expect(back.map((r) => r.seq)).toEqual(rows(0, 25).map((r) => String(r.seq)));
    expect(back.map((r) => r.text)).toEqual(rows(0, 25).map((r) => r.text));
    expect(back.map((r) => r.x)).toEqual(rows(0, 25).map((r) => r.x));
  });

  it('removes a temp file that never got a row group to disk, and leaves completed files alone', async () => {
    const done = new ParquetTableWriter({ outDir: out, table: TABLE, host: 'h' });
    await done.append(rows(0, 5));
    await done.close();
    const w = new ParquetTableWriter({ outDir: out, table: TABLE, host: 'h', rowGroupRows: 100 });
    await w.append(rows(100, 5));   // buffered, not yet a row group: the file does not exist yet
    const dir = path.dirname(done.listFiles()[0]!);
    fs.writeFileSync(path.join(dir, '.queries-killed.parquet.tmp'), 'PAR1 half');
    expect(recoverLeftovers(out)).toEqual({ files: 0, rows: 0, discarded: 1 });
    expect(temps()).toEqual([]);
    expect((await readBack()).length).toBe(5);
  });
});
