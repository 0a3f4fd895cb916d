/**
 * Sampled executions of the default source (`stmt_sample` records, kept as
 * bytes in a RecordBatch) → rows of `queries`, by one function compiled for
 * the record layout: each row is one object literal with every column (one
 * hidden class, no property added later), its int64 values read signed
 * straight from the record. Decoding a record into an object first and
 * adding the task / buffer / WAL columns one by one made ~3 KB of garbage
 * per row and most of the daemon's young-generation collections.
 */
import type { RecordBatch } from '../../bpf/record-batch.js';
import type { LaidOutField, StructLayout } from '../../bpf/struct-layout.js';
import type { Row } from '../../dataset/schema.js';
import type { NormalizedQuery } from '../../query/normalize.js';
import { sampleWeight } from './agg-maps.js';
import { execId } from './rows.js';
import { BUFFER_FIELDS, SCHED_FLAGS, stmtSampleLayout, TASK_FIELDS, WAL_FIELDS } from './sched-abi.js';
import type { SchedRowContext } from './sched-rows.js';

/** What the compiled builder calls out to (closures over the drain's context). */
export interface Helpers {
  toWall(ns: bigint): bigint;
  text(queryId: bigint): NormalizedQuery | null;
  database(dbid: number): string | null;
  user(userid: number): string | null;
  execId(pid: number, seq: number): bigint;
  weight(p32: number): number;
  netRecv: boolean;
  source: 'scheduler' | 'exact';
}

type Builder = (i64: BigInt64Array, u64: BigUint64Array, u32: Uint32Array, b: number, h: Helpers) => Row;

function field(layout: StructLayout, name: string): LaidOutField {
  const f = layout.byName.get(name);
  if (!f) throw new Error(`${layout.name} has no field ${name}`);
  return f;
}

/** (column, JS expression) pairs of one row; `b` is the record's byte offset. */
export function columnExpressions(layout: StructLayout): [string, string][] {
  const w64 = (name: string, i = 0) => `((b + ${field(layout, name).offset + i * 8}) >> 3)`;
  const w32 = (name: string) => `u32[(b + ${field(layout, name).offset}) >> 2]`;
  const i64 = (name: string, i = 0) => `i64[${w64(name, i)}]`;
  const array = (names: readonly string[], arrayField: string): [string, string][] =>
    names.map((col, i) => [col, i64(arrayField, i)]);
  return [
    ['exec_id', `h.execId(${w32('pid')}, ${w32('seq')})`],
    ['pid', w32('pid')],
    ['protocol', 'null'], ['stmt_index', 'null'],
    ['start_ns', 'h.toWall(start)'], ['end_ns', 'h.toWall(end)'],
    ['duration_ns', 'BigInt.asIntN(64, end - start)'],
    ['parse_ns', 'null'], ['plan_ns', 'null'], ['execute_ns', 'null'], ['executor_ns', 'null'],
    ['on_cpu_ns', i64('on_cpu_ns')], ['off_cpu_ns', i64('off_cpu_ns')], ['runq_wait_ns', i64('runq_ns')],
    ['cpu_clock_ns', 'null'], ['cycles', 'null'], ['instructions', 'null'], ['cache_references', 'null'],
    ['cache_misses', 'null'], ['ref_cycles', 'null'], ['cpu_migrations', 'null'], ['rows', 'null'],
    ['net_recv_bytes', `h.netRecv ? ${i64('net_recv_bytes')} : null`],
    ['net_send_bytes', i64('net_send_bytes')],
    ['xact_lxid', 'null'], ['xact_outcome', 'null'],
    ['truncated', `(${w32('flags')} & ${SCHED_FLAGS.PARTIAL}) !== 0`],
    ['aborted', 'false'], ['source', 'h.source'],
    ['sample_weight', `h.weight(${w32('sample_p32')})`],
    ['coalesced', `h.source === 'exact' ? null : ${w32('coalesced')}`],
    ['query_id', `qid === 0n ? null : ${i64('query_id')}`],
    ['fingerprint', 'text === null ? null : text.fingerprint'],
    ['query_text', 'text === null ? null : text.normalized'],
    ['command', 'text === null ? null : text.command'],
    ['database', `h.database(${w32('dbid')})`],
    ['user', `h.user(${w32('userid')})`],
    ...array(TASK_FIELDS, 'task'), ...array(BUFFER_FIELDS, 'buf'), ...array(WAL_FIELDS, 'wal'),
  ];
}

/** What every column's expression may use: the window's ends, the query id and its text. */
export function recordLocals(layout: StructLayout): string {
  const w64 = (name: string) => `((b + ${field(layout, name).offset}) >> 3)`;
  return `const start = u64[${w64('start_ns')}], end = u64[${w64('end_ns')}], qid = u64[${w64('query_id')}];
    const text = qid === 0n ? null : h.text(qid);`;
}

function compile(layout: StructLayout): Builder {
  const literal = columnExpressions(layout).map(([col, expr]) => `${JSON.stringify(col)}: ${expr}`).join(',\n    ');
  // eslint-disable-next-line no-new-func
  return new Function('i64', 'u64', 'u32', 'b', 'h', `
    ${recordLocals(layout)}
    return {
    ${literal}
    };`) as Builder;
}

const buildSampleRow = compile(stmtSampleLayout);

/** The (database, user) ids of the batch's records, for resolving their names before rows are built. */
export function sampleIds(batch: RecordBatch): { dbids: number[]; userids: number[] } {
  const dbOff = field(stmtSampleLayout, 'dbid').offset;
  const userOff = field(stmtSampleLayout, 'userid').offset;
  const dbids: number[] = [];
  const userids: number[] = [];
  for (let i = 0; i < batch.count; i++) {
    dbids.push(batch.u32At(i, dbOff));
    userids.push(batch.u32At(i, userOff));
  }
  return { dbids, userids };
}

/** The builders' call-outs for one drain. */
export function helpers(ctx: SchedRowContext): Helpers {
  return {
    toWall: (ns) => ctx.clock.toWall(ns),
    text: (qid) => ctx.texts.get(qid),
    database: (id) => ctx.databases.get(id),
    user: (id) => ctx.users.get(id),
    execId,
    weight: sampleWeight,
    netRecv: ctx.netRecv,
    source: ctx.source,
  };
}

/** One `queries` row per record of the batch (names resolved already). */
export function sampleRows(batch: RecordBatch, ctx: SchedRowContext): Row[] {
  const h = helpers(ctx);
  const { i64, u64, u32, size } = batch;
  const rows: Row[] = new Array(batch.count);
  for (let i = 0; i < batch.count; i++) rows[i] = buildSampleRow(i64, u64, u32, i * size, h);
  return rows;
}
