// User-space CPU per statement record on the drain path: decode, row building, Parquet append/close.
// Run after `npm run build:ts`: node bench/drain-cpu.mjs  (no root needed; synthetic records)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { decodeRecord } from '../dist/collectors/statements/source.js';
import { statementRow } from '../dist/collectors/statements/rows.js';
import { stmtRecordLayout } from '../dist/collectors/statements/abi.js';
import { MonotonicToWall } from '../dist/util/clock.js';
import { ParquetTableWriter } from '../dist/dataset/parquet-writer.js';
import { QUERIES_TABLE } from '../dist/collectors/statements/tables.js';
const N = 100000;
const OUT = fs.mkdtempSync(path.join(os.tmpdir(), 'pgscout-drain-cpu-'));
const buf = Buffer.alloc(N * stmtRecordLayout.size);
for (let i = 0; i < N; i++) { buf.writeBigUInt64LE(123456789n + BigInt(i % 20), i * stmtRecordLayout.size); buf.writeBigUInt64LE(1000000000n + BigInt(i), i*stmtRecordLayout.size+8); buf.writeBigUInt64LE(1000050000n + BigInt(i), i*stmtRecordLayout.size+16); }
const ctx = { clock: new MonotonicToWall(), texts: { get: () => ({ normalized: 'SELECT 1', fingerprint: 'abcd', command: 'SELECT' }) }, databases: { get: () => 'postgres' } };
let t = performance.now();
const recs = []; for (let i = 0; i < N; i++) recs.push(decodeRecord(buf, i * stmtRecordLayout.size, i));
const t1 = performance.now();
const rows = recs.map((r) => statementRow(r, ctx));
const t2 = performance.now();
const w = new ParquetTableWriter({ outDir: OUT, table: QUERIES_TABLE, host: 'h' });
for (let i = 0; i < N; i += 5000) await w.append(rows.slice(i, i + 5000));
const t3 = performance.now();
await w.close();
const t4 = performance.now();
console.log({ decode_us: (t1 - t) * 1000 / N, row_us: (t2 - t1) * 1000 / N, append_us: (t3 - t2) * 1000 / N, close_us: (t4 - t3) * 1000 / N });
fs.rmSync(OUT, { recursive: true, force: true });
