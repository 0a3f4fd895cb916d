/**
 * Numeric chunks written from typed arrays (src/dataset/typed-chunk.ts)
 * against hyparquet-writer's general path on the same values: DuckDB reads
 * both files to the same values and the same statistics, extremes included.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it, describe } from 'vitest';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { ParquetTableWriter } from '../../src/dataset/parquet-writer.js';
import { tableGlob } from '../../src/dataset/paths.js';
import { queryParquet, sqlString } from '../../src/dataset/read-back.js';
import { TYPED_CHUNKS } from '../../src/dataset/typed-chunk.js';
import type { ColumnSpec, Row, TableSpec } from '../../src/dataset/schema.js';

const col = (name: string, type: ColumnSpec['type'], nullable: boolean): ColumnSpec =>
  ({ name, type, nullable, unit: '', source: 'test', description: name });

const TABLE: TableSpec = {
  name: 'numbers',
  columns: [col('i64', 'INT64', false), col('i64n', 'INT64', true), col('i32', 'INT32', false), col('i32n', 'INT32', true),
    col('f64', 'DOUBLE', false), col('f64n', 'DOUBLE', true)],
};

// Extremes, the sign boundary and low words with the top bit set (compared unsigned).
const INT64S = [0n, -1n, 1n, -(2n ** 63n), 2n ** 63n - 1n, 2n ** 32n - 1n, 2n ** 32n, -(2n ** 32n), 0x80000000n, -0x80000001n,
  1_800_000_000_000_000_001n, -5n];
const INT32S = [0, -1, 2 ** 31 - 1, -(2 ** 31), 7, -7];
const DOUBLES = [0.5, -0, 0, Number.NaN, -1e300, 1e300, Number.MIN_VALUE, 3.25];

function rowsOf(n: number): Row[] {
  return Array.from({ length: n }, (_, i) => ({
    i64: INT64S[i % INT64S.length]!,
    i64n: i % 4 === 1 ? null : INT64S[(i * 7) % INT64S.length]!,
    i32: INT32S[i % INT32S.length]!,
    i32n: i % 3 === 0 ? null : INT32S[(i * 5) % INT32S.length]!,
    f64: DOUBLES[i % DOUBLES.length]!,
    f64n: i % 5 === 2 ? null : DOUBLES[(i * 3) % DOUBLES.length]!,
  }));
}

describe('typed numeric chunks', () => {
  let dir: string;
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'pgscout-typed-')); });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('is the path taken on this CPU', () => expect(TYPED_CHUNKS).toBe(true));

  it('reads back like hyparquet-writer\'s general path: same values, same statistics', async () => {
    const rows = rowsOf(97);
    const w = new ParquetTableWriter({ outDir: dir, table: TABLE, host: 'h', compression: 'GZIP' });
    await w.append(rows);
    await w.close();
    const general = join(dir, 'general.parquet');
    const type = (c: ColumnSpec) => (c.type === 'INT64' ? 'INT64' : c.type === 'INT32' ? 'INT32' : 'DOUBLE');
    writeFileSync(general, Buffer.from(parquetWriteBuffer({
      columnData: TABLE.columns.map((c) => ({ name: c.name, data: rows.map((r) => r[c.name]), type: type(c), nullable: c.nullable })),
      codec: 'UNCOMPRESSED',
    })));
    const typed = tableGlob(dir, TABLE.name);
    const cols = TABLE.columns.map((c) => `${c.name}::VARCHAR AS ${c.name}`).join(', ');
    const values = async (file: string) => queryParquet(`SELECT ${cols} FROM read_parquet(${sqlString(file)})`);
    const mine = await values(typed);
    expect(mine).toHaveLength(rows.length);
    // The general path's dictionary merges -0 into 0 (a Map key); the typed path keeps the bits.
    const zero = (r: Record<string, unknown>) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v === '-0.0' ? '0.0' : v]));
    expect(mine.map(zero)).toEqual((await values(general)).map(zero));
    rows.forEach((r, i) => expect(mine[i]!.f64n === '-0.0').toBe(Object.is(r.f64n, -0)));
    expect(mine[4]!.i64).toBe(String(2n ** 63n - 1n));
    const stats = async (file: string) => queryParquet(`SELECT path_in_schema AS c, stats_min_value AS lo, stats_max_value AS hi,
        stats_null_count AS nulls FROM parquet_metadata(${sqlString(file)}) ORDER BY c`);
    const got = await stats(typed);
    expect(got).toEqual(await stats(general));
    const of = (c: string) => got.find((s) => s.c === c)!;
    expect([of('i64').lo, of('i64').hi]).toEqual([String(-(2n ** 63n)), String(2n ** 63n - 1n)]);
    expect([of('i32').lo, of('i32').hi]).toEqual([String(-(2 ** 31)), String(2 ** 31 - 1)]);
    expect(Number(of('i64n').nulls)).toBe(rows.filter((r) => r.i64n === null).length);
  });
});
