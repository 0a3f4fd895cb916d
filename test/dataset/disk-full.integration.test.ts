/**
 * A full disk under the writer (a 1 MB tmpfs): files written before stay,
 * rows wait in memory up to one row group, the rest are counted as dropped,
 * and writing resumes when space comes back — no throw, no lost file.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ParquetTableWriter } from '../../src/dataset/parquet-writer.js';
import { tableGlob } from '../../src/dataset/paths.js';
import { queryParquet, sqlString } from '../../src/dataset/read-back.js';
import type { ColumnSpec, Row, TableSpec } from '../../src/dataset/schema.js';
import { describeBpf } from '../helpers/bpf-env.js';

const col = (name: string, type: ColumnSpec['type']): ColumnSpec => ({ name, type, nullable: false, unit: '', source: 'test', description: name });
const TABLE: TableSpec = { name: 'queries', columns: [col('seq', 'INT64'), col('noise', 'STRING')] };
// Incompressible text: every row costs its bytes on disk.
const rows = (from: number, n: number): Row[] =>
  Array.from({ length: n }, (_, k) => ({ seq: BigInt(from + k), noise: Buffer.from(Array.from({ length: 150 }, () => Math.random() * 256)).toString('base64') }));

// Mounting needs root; the BPF gate is the same one (root + BTF).
describeBpf('the writer on a full disk', () => {
  let mnt = '';
  beforeAll(() => {
    mnt = fs.mkdtempSync(path.join(os.tmpdir(), 'pgscout-full-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mnt]);
  });
  afterAll(() => {
    if (mnt) execFileSync('umount', [mnt]);
    fs.rmSync(mnt, { recursive: true, force: true });
  });

  it('keeps the files written before, counts what it cannot keep, and resumes when space is back', async () => {
    const out = path.join(mnt, 'out');
    const filler = path.join(mnt, 'filler');
    fs.writeFileSync(filler, Buffer.alloc(400 << 10, 1));
    const w = new ParquetTableWriter({ outDir: out, table: TABLE, host: 'h', rowGroupRows: 500, maxFileRows: 1000, compression: 'UNCOMPRESSED' });
    let appended = 0;
    while (w.waitingFor === null && appended < 50_000) {
      await w.append(rows(appended, 250));
      appended += 250;
    }
    expect(w.waitingFor).toBe('ENOSPC');
    const before = w.listFiles();
    expect(before.length).toBeGreaterThan(0);
    for (let i = 0; i < 8; i++) {
      await w.append(rows(appended, 250));
      appended += 250;
    }
    expect(w.stats.rowsDropped).toBeGreaterThan(0);
    expect(w.stats.rowsDropped).toBeLessThan(appended);
    for (const f of before) expect(fs.existsSync(f)).toBe(true);

    fs.rmSync(filler);
    await w.append(rows(appended, 250));
    appended += 250;
    expect(w.waitingFor).toBeNull();
    const stats = await w.close();
    expect(stats.rowsWritten + stats.rowsDropped).toBe(appended);
    const [back] = await queryParquet(`SELECT count(*)::BIGINT AS n, count(DISTINCT seq)::BIGINT AS d FROM read_parquet(${sqlString(tableGlob(out, 'queries'))})`);
    expect(Number(back!.n)).toBe(stats.rowsWritten);
    expect(Number(back!.d)).toBe(stats.rowsWritten);
    expect(fs.readdirSync(out, { recursive: true }).filter((f) => String(f).endsWith('.tmp'))).toEqual([]);
  });

  it('closing while the disk is still full keeps the row groups already on disk, with a footer', async () => {
    const out = path.join(mnt, 'out2');
    fs.rmSync(path.join(mnt, 'out'), { recursive: true, force: true });
    const w = new ParquetTableWriter({ outDir: out, table: TABLE, host: 'h', rowGroupRows: 500, maxFileRows: 100_000, compression: 'UNCOMPRESSED' });
    let appended = 0;
    while (w.waitingFor === null && appended < 50_000) {
      await w.append(rows(appended, 250));
      appended += 250;
    }
    expect(w.waitingFor).toBe('ENOSPC');
    expect(w.listFiles()).toEqual([]);   // one big file, still open when the disk filled
    const stats = await w.close();
    expect(stats.filesWritten).toBe(1);
    expect(stats.rowsWritten).toBeGreaterThan(0);
    expect(stats.rowsWritten + stats.rowsDropped).toBe(appended);
    const [back] = await queryParquet(`SELECT count(*)::BIGINT AS n, min(seq)::BIGINT AS lo, max(seq)::BIGINT AS hi FROM read_parquet(${sqlString(tableGlob(out, 'queries'))})`);
    expect(Number(back!.n)).toBe(stats.rowsWritten);
    expect([Number(back!.lo), Number(back!.hi)]).toEqual([0, stats.rowsWritten - 1]);   // the first rows, in order
  });
});
