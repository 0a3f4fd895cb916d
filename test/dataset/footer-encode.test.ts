/**
 * The journal's footer, assembled from row groups encoded once, is byte for
 * byte the footer encoded whole — at every size of the row-group list (its
 * header changes form past 14 groups), with nulls, strings and statistics, and
 * for the widest real table.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { encodeFooter, encodeFooterWhole, footerEncodings, type FooterFields } from '../../src/dataset/footer-encode.js';
import { ParquetTableWriter } from '../../src/dataset/parquet-writer.js';
import type { Row, TableSpec } from '../../src/dataset/schema.js';
import { PLAN_NODES_TABLE } from '../../src/collectors/plan-nodes/table.js';

let out = '';
beforeEach(() => { out = fs.mkdtempSync(path.join(os.tmpdir(), 'pgscout-footer-')); });
afterEach(() => { fs.rmSync(out, { recursive: true, force: true }); });

/** Values that vary per row group, so every group's statistics differ. */
function rowsOf(table: TableSpec, group: number, n: number): Row[] {
  return Array.from({ length: n }, (_, k) => Object.fromEntries(table.columns.map((c, ci) => {
    const v = group * 1000 + k * 7 + ci;
    if (c.nullable && (v % 5 === 0)) return [c.name, null];
    switch (c.type) {
      case 'INT64': return [c.name, BigInt(v) * 1_000_000_007n];
      case 'INT32': return [c.name, v % 100_000];
      case 'DOUBLE': return [c.name, v / 3];
      case 'BOOLEAN': return [c.name, v % 2 === 0];
      default: return [c.name, `v${v}`.repeat(1 + (v % 4))];
    }
  })));
}

it('equals the whole encoding at 1…40 row groups of the widest table', async () => {
  const w = new ParquetTableWriter({ outDir: out, table: PLAN_NODES_TABLE, host: 'h' });
  const sizes = new Set([1, 2, 14, 15, 16, 40]);
  for (let g = 1; g <= 40; g++) {
    await w.append(rowsOf(PLAN_NODES_TABLE, g, 20 + g));
    await w.sync();
    if (!sizes.has(g)) continue;
    const fields = (w as unknown as { file: { pq: FooterFields } }).file.pq;
    expect(fields.row_groups).toHaveLength(g);
    const before = footerEncodings.assembled;
    const assembled = encodeFooter(fields);
    expect(footerEncodings.assembled).toBe(before + 1);   // not the whole-encoding fallback
    expect(Buffer.from(assembled).equals(Buffer.from(encodeFooterWhole(fields)))).toBe(true);
    // Asked again (every group now cached), still the same bytes.
    expect(Buffer.from(encodeFooter(fields)).equals(Buffer.from(assembled))).toBe(true);
  }
  await w.close();
});
