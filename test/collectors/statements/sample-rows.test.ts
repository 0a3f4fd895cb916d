import { beforeAll, describe, expect, it } from 'vitest';
import { RecordBatch } from '../../../src/bpf/record-batch.js';
import { RUN_ID_COLUMN } from '../../../src/collect/provenance.js';
import { sampleColumns } from '../../../src/collectors/statements/sample-columns.js';
import { sampleIds, sampleRows } from '../../../src/collectors/statements/sample-rows.js';
import { BUFFER_FIELDS, SCHED_FLAGS, stmtSampleLayout, TASK_FIELDS, WAL_FIELDS } from '../../../src/collectors/statements/sched-abi.js';
import type { SchedRowContext } from '../../../src/collectors/statements/sched-rows.js';
import { QUERIES_TABLE } from '../../../src/collectors/statements/tables.js';
import { ColumnBuffer, LazyColumn, type EncodableColumn } from '../../../src/dataset/column-buffer.js';
import type { NameCache } from '../../../src/pg/catalog.js';
import { initParser } from '../../../src/query/normalize.js';
import { QueryTextCache } from '../../../src/query/text-cache.js';
import type { MonotonicToWall } from '../../../src/util/clock.js';

const off = (name: string) => stmtSampleLayout.byName.get(name)!.offset;

/** One stmt_sample record as the kernel writes it: fields at the layout's offsets. */
function record(v: { qid: bigint; start: bigint; end: bigint; pid: number; seq: number; p32: number; flags: number; k: bigint }): Buffer {
  const b = Buffer.alloc(stmtSampleLayout.size);
  b.writeBigUInt64LE(v.qid, off('query_id'));
  b.writeBigUInt64LE(v.start, off('start_ns'));
  b.writeBigUInt64LE(v.end, off('end_ns'));
  b.writeBigUInt64LE(100n + v.k, off('on_cpu_ns'));
  b.writeBigUInt64LE(200n + v.k, off('off_cpu_ns'));
  b.writeBigUInt64LE(50n + v.k, off('runq_ns'));
  b.writeBigUInt64LE(300n + v.k, off('net_recv_bytes'));
  b.writeBigUInt64LE(400n + v.k, off('net_send_bytes'));
  for (let i = 0; i < TASK_FIELDS.length; i++) b.writeBigUInt64LE(1000n * v.k + BigInt(i), off('task') + i * 8);
  for (let i = 0; i < BUFFER_FIELDS.length; i++) b.writeBigUInt64LE(2000n * v.k + BigInt(i), off('buf') + i * 8);
  for (let i = 0; i < WAL_FIELDS.length; i++) b.writeBigUInt64LE(3000n * v.k + BigInt(i), off('wal') + i * 8);
  b.writeUInt32LE(v.pid, off('pid'));
  b.writeUInt32LE(v.seq, off('seq'));
  b.writeUInt32LE(5, off('dbid'));
  b.writeUInt32LE(10, off('userid'));
  b.writeUInt32LE(v.flags, off('flags'));
  b.writeUInt32LE(v.p32, off('sample_p32'));
  b.writeUInt32LE(Number(v.k), off('coalesced'));
  return b;
}

function context(netRecv: boolean): SchedRowContext {
  const texts = new QueryTextCache();
  texts.add(0xfedcba9876543210n, 'SELECT abalance FROM pgbench_accounts WHERE aid = 42', 0xffffffff);
  const names = (m: Record<number, string>) => ({ get: (oid: number) => m[oid] ?? null }) as unknown as NameCache;
  return {
    clock: { toWall: (ns: bigint) => ns + 1_000_000_000n } as MonotonicToWall,
    texts, databases: names({ 5: 'bench' }), users: names({ 10: 'postgres' }), netRecv, source: 'scheduler', userKnown: true, errors: true,
  };
}

beforeAll(() => initParser());

describe('sampled executions → queries rows', () => {
  const batch = new RecordBatch(stmtSampleLayout.size, 1);   // grows on the second record
  const sampled = batch;
  batch.append(record({ qid: 0xfedcba9876543210n, start: 5_000n, end: 12_345n, pid: 4242, seq: 7, p32: 2 ** 30, flags: SCHED_FLAGS.PARTIAL, k: 1n }));
  batch.append(record({ qid: 0n, start: 20_000n, end: 20_001n, pid: 4243, seq: 0, p32: 0, flags: SCHED_FLAGS.SLOW, k: 2n }));

  it('gives every column of the table, of the types it declares', () => {
    const rows = sampleRows(batch, context(false));
    expect(rows).toHaveLength(2);
    for (const row of rows) expect(Object.keys(row).sort()).toEqual(QUERIES_TABLE.columns.map((c) => c.name).sort());
    new ColumnBuffer(QUERIES_TABLE).validate(rows); // throws on a wrong type or a null in a non-null column
  });

  it('reads each field of the record into its column', () => {
    const [a, b] = sampleRows(batch, context(true));
    expect(a).toMatchObject({
      exec_id: (4242n << 32n) | 7n, pid: 4242, start_ns: 1_000_005_000n, end_ns: 1_000_012_345n, duration_ns: 7_345n,
      on_cpu_ns: 101n, off_cpu_ns: 201n, runq_wait_ns: 51n, net_recv_bytes: 301n, net_send_bytes: 401n,
      truncated: true, aborted: false, source: 'scheduler', sample_weight: 4, coalesced: 1,
      query_id: BigInt.asIntN(64, 0xfedcba9876543210n), command: 'SELECT', database: 'bench', user: 'postgres',
      rows: null, parse_ns: null, cycles: null,
    });
    expect(a!.query_text).toBe('SELECT abalance FROM pgbench_accounts WHERE aid = $1');
    TASK_FIELDS.forEach((col, i) => expect([col, a![col]]).toEqual([col, 1000n + BigInt(i)]));
    BUFFER_FIELDS.forEach((col, i) => expect([col, b![col]]).toEqual([col, 4000n + BigInt(i)]));
    WAL_FIELDS.forEach((col, i) => expect([col, b![col]]).toEqual([col, 6000n + BigInt(i)]));
    // a slow execution is kept whatever the probability: weight 1; no query id: no text
    expect(b).toMatchObject({ sample_weight: 1, truncated: false, query_id: null, query_text: null, fingerprint: null, duration_ns: 1n });
  });

  it('leaves net_recv_bytes null when socket reads are not traced', () => {
    expect(sampleRows(batch, context(false))[0]!.net_recv_bytes).toBeNull();
  });

  it('stores the same values straight into the writer\'s column buffer as the rows do, with no row object', () => {
    const table = { ...QUERIES_TABLE, columns: [...QUERIES_TABLE.columns, RUN_ID_COLUMN] };
    const values = (cols: EncodableColumn[]) => cols.map((c) => (c instanceof LazyColumn ? c.slice() : c));
    // and counters beyond 32 bits, one above 2^63 (an int64 column holds it negative, as the rows do)
    const wide = new RecordBatch(stmtSampleLayout.size, 1);
    const rec = record({ qid: 7n, start: 1n << 40n, end: (1n << 40n) + 3n, pid: 1, seq: 2, p32: 3, flags: 0, k: 3n });
    rec.writeBigUInt64LE(0xffff_ffff_0000_0001n, off('buf'));
    rec.writeBigUInt64LE((1n << 33n) + 5n, off('wal') + 8);
    wide.append(rec);
    wide.append(rec);
    for (const [netRecv, batch] of [[false, sampled], [true, sampled], [true, wide]] as const) {
      const viaRows = new ColumnBuffer(table);
      const rows = sampleRows(batch, context(netRecv)).map((r) => ({ ...r, run_id: 'r1' }));
      expect(rows.length).toBe(2);
      viaRows.validate(rows);
      viaRows.push(rows, 0, rows.length);
      const viaColumns = new ColumnBuffer(table);
      const columnar = sampleColumns(batch, context(netRecv));
      expect(columnar.length).toBe(2);
      // in two pushes, as a row group's end cuts a batch: the second from index 1 on
      viaColumns.push(columnar, 0, 1, { run_id: 'r1' });
      viaColumns.push(columnar, 1, 2, { run_id: 'r1' });
      const [expected, got] = [values(viaRows.takeColumns()), values(viaColumns.takeColumns())];
      table.columns.forEach((c, k) => expect([c.name, got[k]]).toEqual([c.name, expected[k]]));
    }
  });

  it('lists the ids whose names the drain resolves first', () => {
    expect(sampleIds(batch)).toEqual({ dbids: [5, 5], userids: [10, 10] });
  });
});

describe('RecordBatch', () => {
  it('keeps records back to back across growth, zero-pads a short one, and starts over after clear', () => {
    const b = new RecordBatch(16, 1);
    b.append(Buffer.from([1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0]));
    b.append(Buffer.from([3, 0, 0, 0]));
    expect(b.count).toBe(2);
    expect([...b.u64.subarray(0, 4)]).toEqual([1n, 2n, 3n, 0n]);
    b.clear();
    b.append(Buffer.from([9, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0]));
    expect(b.count).toBe(1);
    expect(b.u32At(0, 8)).toBe(8);
    expect(() => new RecordBatch(12)).toThrow(RangeError);
  });

  it('gives back what a burst grew it to once the batches are small again', () => {
    const b = new RecordBatch(64, 1);
    const rec = Buffer.alloc(64, 7);
    for (let i = 0; i < 40_000; i++) b.append(rec);   // 2.5 MB
    const grown = b.capacityBytes;
    expect(grown).toBeGreaterThanOrEqual(40_000 * 64);
    b.clear();                                          // a full batch: kept for the next one
    expect(b.capacityBytes).toBe(grown);
    b.append(rec);
    b.clear();                                          // one record: back to 1 MiB
    expect(b.capacityBytes).toBe(1 << 20);
    b.append(rec);
    expect(b.count).toBe(1);
    expect(b.u64[0]).toBe(0x0707070707070707n);
  });
});
