import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ColumnBuffer, RowValidationError } from '../../src/dataset/column-buffer.js';
import { ParquetTableWriter, defaultCompression } from '../../src/dataset/parquet-writer.js';
import { tableGlob } from '../../src/dataset/paths.js';
import { queryParquet, sqlString } from '../../src/dataset/read-back.js';
import type { ColumnSpec, Row, TableSpec } from '../../src/dataset/schema.js';
import { ConfigError, PgscoutError } from '../../src/util/errors.js';

const col = (name: string, type: ColumnSpec['type'], nullable: boolean): ColumnSpec =>
  ({ name, type, nullable, unit: '', source: 'test', description: name });

const TABLE: TableSpec = {
  name: 'queries',
  columns: [
    col('seq', 'INT64', false),
    col('start_ns', 'INT64', false),
    col('temp_bytes', 'INT64', true),
    col('pid', 'INT32', false),
    col('workers', 'INT32', true),
    col('cost', 'DOUBLE', false),
    col('ratio', 'DOUBLE', true),
    col('jit', 'BOOLEAN', false),
    col('cached', 'BOOLEAN', true),
    col('query', 'STRING', false),
    col('app', 'STRING', true),
  ],
};

const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);
const TEXTS = ['SELECT 1', '', 'naïve café ✓', '日本語のクエリ', 'emoji 📈🐘 and a combining é', "it's \"quoted\"\n\ttab"];

function makeRow(i: number): Row {
  return {
    seq: BigInt(i),
    start_ns: 1_800_000_000_000_000_001n + BigInt(i) * 1_000_003n, // odd, > 2^53
    temp_bytes: i % 3 === 0 ? null : i === 1 ? INT64_MAX : i === 2 ? INT64_MIN : BigInt(i) * 8192n,
    pid: i === 4 ? 2 ** 31 - 1 : i === 5 ? -(2 ** 31) : 1000 + i,
    workers: i % 2 === 0 ? null : i % 5,
    cost: i === 6 ? Number.MAX_VALUE : i === 7 ? Number.MIN_VALUE : i * 1.25 - 3.5,
    ratio: i % 4 === 1 ? null : i / 7,
    jit: i % 2 === 1,
    cached: i % 5 === 0 ? null : i % 3 === 0,
    query: TEXTS[i % TEXTS.length],
    app: i % 4 === 0 ? null : `app-${TEXTS[(i + 2) % TEXTS.length]}`,
  };
}

const rows = (from: number, to: number): Row[] => Array.from({ length: to - from }, (_, k) => makeRow(from + k));

let outDir: string;
beforeEach(() => {
  outDir = mkdtempSync(join(tmpdir(), 'pgscout-pq-'));
});
afterEach(() => {
  rmSync(outDir, { recursive: true, force: true });
});

function writer(extra: Partial<ConstructorParameters<typeof ParquetTableWriter>[0]> = {}): ParquetTableWriter {
  return new ParquetTableWriter({ outDir, table: TABLE, host: 'db1', ...extra });
}

const readAll = (dir = outDir) => queryParquet(
  `SELECT * FROM read_parquet(${sqlString(tableGlob(dir, TABLE.name))}, hive_partitioning=true) ORDER BY seq`);

/** Every file and directory name under dir, recursively. */
function walk(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? [e.name + '/', ...walk(join(dir, e.name))] : [e.name]);
}

describe('ParquetTableWriter', () => {
  it('round-trips every value exactly through DuckDB over the hive glob', async () => {
    const w = writer();
    const input = rows(0, 300);
    await w.append(input.slice(0, 120));
    await w.append(input.slice(120));
    const stats = await w.close();
    expect(stats).toMatchObject({ rowsWritten: 300, filesWritten: 1 });
    expect(stats.bytesWritten).toBeGreaterThan(0);

    const back = await readAll();
    expect(back).toHaveLength(300);
    const stamp = basename(w.listFiles()[0]).slice(5, 13); // yyyymmdd the file was started
    const day = `${stamp.slice(0, 4)}-${stamp.slice(4, 6)}-${stamp.slice(6, 8)}`;
    back.forEach((got, i) => {
      expect(got.host).toBe('db1');
      expect((got.date as Date).toISOString().slice(0, 10)).toBe(day);
      for (const c of TABLE.columns) {
        expect([c.name, got[c.name]]).toStrictEqual([c.name, input[i][c.name]]);
      }
    });
    const [agg] = await queryParquet(
      `SELECT sum(start_ns)::HUGEINT AS s, max(temp_bytes) AS hi, min(temp_bytes) AS lo
       FROM read_parquet(${sqlString(tableGlob(outDir, TABLE.name))})`);
    expect(agg.s).toBe(input.reduce((a, r) => a + (r.start_ns as bigint), 0n));
    expect(agg.hi).toBe(INT64_MAX);
    expect(agg.lo).toBe(INT64_MIN);
  });


  it('encodes typed columns without nulls, with some and with only nulls, statistics included (DuckDB reads them back)', async () => {
    const w = writer();
    // Row group 1: temp_bytes/ratio have nulls, workers none; row group 2: temp_bytes only nulls, ratio none.
    const first: Row[] = rows(0, 40).map((r, i) => ({ ...r, workers: i + 1 }));
    const second: Row[] = rows(40, 70).map((r, i) => ({ ...r, temp_bytes: null, ratio: i / 3 }));
    await w.append(first);
    await w.sync();
    await w.append(second);
    await w.close();
    const back = await readAll();
    const input = [...first, ...second];
    expect(back).toHaveLength(input.length);
    back.forEach((got, i) => {
      for (const c of TABLE.columns) expect([c.name, got[c.name]]).toStrictEqual([c.name, input[i][c.name]]);
    });
    const stats = await queryParquet(
      `SELECT row_group_id AS g, path_in_schema AS c, stats_min_value AS lo, stats_max_value AS hi, stats_null_count AS nulls
       FROM parquet_metadata(${sqlString(tableGlob(outDir, TABLE.name))})
       WHERE path_in_schema IN ('seq', 'temp_bytes', 'workers', 'ratio') ORDER BY g, c`);
    const of = (g: number, c: string) => stats.find((s) => Number(s.g) === g && s.c === c)!;
    const range = (vals: unknown[]) => {
      const present = vals.filter((v) => v !== null) as (bigint | number)[];
      return [String(present.reduce((a, b) => (b < a ? b : a))), String(present.reduce((a, b) => (b > a ? b : a)))];
    };
    expect([of(0, 'seq').lo, of(0, 'seq').hi]).toEqual(['0', '39']);
    expect([of(0, 'temp_bytes').lo, of(0, 'temp_bytes').hi]).toEqual(range(first.map((r) => r.temp_bytes)));
    expect(Number(of(0, 'temp_bytes').nulls)).toBe(first.filter((r) => r.temp_bytes === null).length);
    expect([of(0, 'workers').lo, of(0, 'workers').hi, Number(of(0, 'workers').nulls)]).toEqual(['1', '40', 0]);
    expect(Number(of(1, 'temp_bytes').nulls)).toBe(30);
    expect(of(1, 'temp_bytes').lo).toBeNull();
    expect(Number(of(1, 'ratio').nulls)).toBe(0);
    expect(Number(of(1, 'ratio').hi)).toBeCloseTo(29 / 3, 12);
  });
  it('lays files out as <table>/host=…/date=…/part-<stamp>-<pid>-<seq>.parquet', async () => {
    const w = new ParquetTableWriter({ outDir, table: TABLE, host: 'db/1 prod' });
    await w.append(rows(0, 3));
    await w.close();
    const [file] = w.listFiles();
    const rel = file.slice(outDir.length + 1);
    expect(rel).toMatch(new RegExp(`^queries/host=db_1_prod/date=\\d{4}-\\d{2}-\\d{2}/part-\\d{8}T\\d{6}-${process.pid}-\\d{6}\\.parquet$`));
    expect(rel).toContain(`date=${basename(file).slice(5, 9)}-${basename(file).slice(9, 11)}-${basename(file).slice(11, 13)}/`);
  });

  it('rotates files by rows and never lets a row group straddle two files', async () => {
    const w = writer({ rowGroupRows: 4, maxFileRows: 10 });
    await w.append(rows(0, 7));
    await w.append(rows(7, 25));
    expect(w.listFiles()).toHaveLength(2); // 20 rows done, 5 still pending
    expect(w.stats).toEqual({ rowsWritten: 20, filesWritten: 2, bytesWritten: expect.any(Number), rowsDropped: 0 });
    const stats = await w.close();
    expect(stats.rowsWritten).toBe(25);
    const files = w.listFiles();
    expect(files).toHaveLength(3);
    expect(new Set(files).size).toBe(3);

    const groups = await queryParquet(
      `SELECT file_name, row_group_id, any_value(row_group_num_rows) AS n
       FROM parquet_metadata([${files.map(sqlString).join(', ')}]) GROUP BY ALL ORDER BY file_name, row_group_id`);
    const perFile = files.map((f) => groups.filter((g) => g.file_name === f).map((g) => Number(g.n)));
    expect(perFile).toEqual([[4, 4, 2], [4, 4, 2], [4, 1]]);
    expect((await readAll()).map((r) => r.seq)).toEqual(rows(0, 25).map((r) => r.seq));
  });

  it('writes no file and no directory when closed with zero rows', async () => {
    const w = writer();
    await w.append([]);
    await w.flush();
    expect(await w.close()).toEqual({ rowsWritten: 0, filesWritten: 0, bytesWritten: 0, rowsDropped: 0 });
    expect(w.listFiles()).toEqual([]);
    expect(walk(outDir)).toEqual([]);
  });

  it('keeps an incomplete file hidden as .tmp until it is complete', async () => {
    const w = writer({ rowGroupRows: 10 });
    await w.append(rows(0, 25)); // two row groups already streamed to disk
    // The temp file and its footer journal (what a crash would be recovered from).
    const during = walk(outDir).filter((n) => !n.endsWith('/')).sort();
    expect(during).toHaveLength(2);
    expect(during[0]).toMatch(/^\.part-.*\.parquet\.tmp$/);
    expect(during[1]).toBe(`${during[0]}.footer`);
    expect(during.some((n) => n.endsWith('.parquet'))).toBe(false);

    await w.flush();
    const after = walk(outDir).filter((n) => !n.endsWith('/'));
    expect(after).toEqual([basename(w.listFiles()[0])]);
    expect(statSync(w.listFiles()[0]!).mode & 0o777).toBe(0o640);   // the group reads, others do not
    expect(await readAll()).toHaveLength(25);
    await w.close();
  });

  it('rotates a small file once it is maxFileAgeMs old', async () => {
    const w = writer({ maxFileAgeMs: 50 });
    await w.append(rows(0, 5));
    expect(w.listFiles()).toHaveLength(0);
    await new Promise((r) => setTimeout(r, 300));
    expect(w.listFiles()).toHaveLength(1);
    await w.append(rows(5, 8));
    await w.close();
    expect(w.listFiles()).toHaveLength(2);
    expect(await readAll()).toHaveLength(8);
  });

  it('rejects a bad batch as a whole and names the column', async () => {
    const w = writer();
    await w.append(rows(0, 2));
    const missing = { ...makeRow(3) } as Record<string, unknown>;
    delete missing.start_ns;
    await expect(w.append([makeRow(2), missing as Row])).rejects.toThrow(/queries\.start_ns: missing/);
    await expect(w.append([{ ...makeRow(4), seq: 4 }])).rejects.toThrow(/queries\.seq: expected bigint/);
    await expect(w.append([{ ...makeRow(4), pid: 1.5 }])).rejects.toBeInstanceOf(RowValidationError);
    await expect(w.append([{ ...makeRow(4), temp_bytes: 2n ** 63n }])).rejects.toThrow(/temp_bytes/);
    await expect(w.append([{ ...makeRow(4), query: null }])).rejects.toThrow(/queries\.query: null/);
    await expect(w.append([{ ...makeRow(4), app: undefined as unknown as null }])).resolves.toBeUndefined();
    await w.close();
    const back = await readAll();
    expect(back.map((r) => r.seq)).toEqual([0n, 1n, 4n]);
    expect(back[2].app).toBeNull();
  });

  it('refuses use after close, and bad options at construction', async () => {
    const w = writer();
    await w.close();
    await expect(w.append(rows(0, 1))).rejects.toBeInstanceOf(PgscoutError);
    expect(() => new ParquetTableWriter({ outDir, host: 'h', table: { name: 't', columns: [col('host', 'STRING', false)] } }))
      .toThrow(ConfigError);
    expect(() => writer({ rowGroupRows: 0 })).toThrow(ConfigError);
    expect(() => writer({ host: '..' })).toThrow(ConfigError);
  });

  it('keeps the rows while the filesystem refuses a file, and writes them once it takes it again', async () => {
    writeFileSync(join(outDir, 'queries'), 'not a directory');
    const w = writer();
    await w.append(rows(0, 3));
    await w.flush();
    expect(w.waitingFor).toBe('ENOTDIR');
    rmSync(join(outDir, 'queries'));
    await w.append(rows(3, 5));
    expect(w.waitingFor).toBeNull();
    expect(await w.close()).toMatchObject({ rowsWritten: 5, filesWritten: 1, rowsDropped: 0 });
    expect((await readAll()).map((r) => r.seq)).toEqual([0n, 1n, 2n, 3n, 4n]);
  });

  it('counts what it cannot keep when the filesystem still refuses at close, and throws nothing', async () => {
    writeFileSync(join(outDir, 'queries'), 'not a directory');
    const w = writer({ rowGroupRows: 4 });
    await w.append(rows(0, 10));   // 4 wait in memory, 6 dropped
    expect(w.stats.rowsDropped).toBe(6);
    expect(await w.close()).toMatchObject({ rowsWritten: 0, filesWritten: 0, rowsDropped: 10 });
  });

  it('compresses with ZSTD when this Node has it, else GZIP', async () => {
    const hasZstd = 'zstdCompressSync' in (await import('node:zlib'));
    expect(defaultCompression()).toBe(hasZstd ? 'ZSTD' : 'GZIP');
    if (!hasZstd) expect(() => writer({ compression: 'ZSTD' })).toThrow(/ZSTD compression needs Node/);
    for (const compression of ['SNAPPY', 'UNCOMPRESSED', defaultCompression()] as const) {
      const dir = mkdtempSync(join(tmpdir(), 'pgscout-pq-'));
      try {
        const w = new ParquetTableWriter({ outDir: dir, table: TABLE, host: 'db1', compression });
        await w.append(rows(0, 50));
        await w.close();
        const meta = await queryParquet(
          `SELECT DISTINCT compression FROM parquet_metadata(${sqlString(w.listFiles()[0])})`);
        expect(meta.map((m) => m.compression)).toEqual([compression]);
        expect((await readAll(dir)).map((r) => r.query)).toEqual(rows(0, 50).map((r) => r.query));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  });
});

/** What ColumnBuffer.takeColumns() hands the encoder, as JS values (what the encoder's slice() sees). */
const takeValues = (b: ColumnBuffer) => b.takeColumns().map((col) => col.slice());

describe('ColumnBuffer', () => {
  it('transposes rows into columns and hands them over', () => {
    const b = new ColumnBuffer(TABLE);
    const input = rows(0, 3);
    b.validate(input);
    b.push(input, 1, 3);
    expect(b.length).toBe(2);
    const cols = takeValues(b);
    expect(cols[0]).toEqual([1n, 2n]);
    expect(b.length).toBe(0);
  });

  it('starts every row group clean in the arrays it keeps: no value or null of the previous one shows', () => {
    const b = new ColumnBuffer(TABLE);
    const first = rows(0, 3000).map((r, i) => ({ ...r, temp_bytes: i % 2 ? null : BigInt(i), ratio: i % 3 ? 0.5 : null }));
    b.validate(first);
    b.push(first, 0, first.length);
    const a = takeValues(b);
    expect(a[2]!.filter((v) => v === null)).toHaveLength(1500);
    const second = rows(10, 13).map((r, i) => ({ ...r, temp_bytes: i === 1 ? null : 7n, ratio: 0.25 }));
    b.push(second, 0, second.length);
    const cols = takeValues(b);
    expect(cols[0]).toEqual([10n, 11n, 12n]);
    expect(cols[2]).toEqual([7n, null, 7n]);
    expect(cols[6]).toEqual([0.25, 0.25, 0.25]);
    expect(cols[9]).toEqual(second.map((r) => (r as Record<string, unknown>).query));
    // what the first take handed over is not changed by the second group
    expect(a[0]!.slice(0, 2)).toEqual([0n, 1n]);
  });
});
