/**
 * Sampled executions of the default source → the `queries` table's columns,
 * with no row object in between: one function compiled for the record layout
 * and the table's column order stores each record's values straight into the
 * writer's column buffers. A 64-bit counter copied as it is in the record
 * (task, buffer and WAL counters, times) moves as two 32-bit words, so it is
 * never a BigInt on the heap; the row objects of sample-rows.ts (one BigInt
 * per such column, ~1 KB a row) were the daemon's largest allocation.
 * The expressions are sample-rows.ts's: both paths give the same values
 * (test/collectors/statements/sample-columns.test.ts).
 */
import type { RecordBatch } from '../../bpf/record-batch.js';
import type { StructLayout } from '../../bpf/struct-layout.js';
import type { ColumnarRows, Stored } from '../../dataset/column-buffer.js';
import type { ColumnSpec, Row, TableSpec } from '../../dataset/schema.js';
import { columnExpressions, helpers, recordLocals, sampleRows, type Helpers } from './sample-rows.js';
import { stmtSampleLayout } from './sched-abi.js';
import type { SchedRowContext } from './sched-rows.js';

type Value = Row[string];
type Pusher = (u64: BigUint64Array, i64: BigInt64Array, u32: Uint32Array, size: number, h: Helpers,
  columns: Stored[], from: number, to: number, at: number, cst: Readonly<Record<string, Value>> | undefined) => void;

/** `i64[((b + N) >> 3)]`: the record's int64 at byte N, copied as it is. */
const RAW_I64 = /^i64\[\(\(b \+ (\d+)\) >> 3\)\]$/;

/** Setup and per-row statement of column `k`. */
function columnCode(c: ColumnSpec, k: number, expr: string): [setup: string, body: string] {
  const raw = c.type === 'INT64' ? RAW_I64.exec(expr) : null;
  if (raw) {
    // Two 32-bit words of the record into the two of the column's slot (little-endian both); a null flag stays 0.
    const word = Number(raw[1]) / 4;
    return [`const d${k} = columns[${k}].values, w${k} = new Uint32Array(d${k}.buffer, d${k}.byteOffset, d${k}.length * 2);`,
      `w${k}[i * 2] = u32[(b >> 2) + ${word}]; w${k}[i * 2 + 1] = u32[(b >> 2) + ${word + 1}];`];
  }
  if (c.type === 'INT64' || c.type === 'INT32' || c.type === 'DOUBLE') {
    if (!c.nullable) return [`const t${k} = columns[${k}].values;`, `t${k}[i] = ${expr};`];
    return [`const t${k} = columns[${k}].values, n${k} = columns[${k}].nulls;`,
      `v = ${expr}; if (v === null || v === undefined) n${k}[i] = 1; else t${k}[i] = v;`];
  }
  return [`const c${k} = columns[${k}];`, `c${k}[i] = ${expr} ?? null;`];
}

function compile(layout: StructLayout, table: TableSpec): Pusher {
  const exprs = new Map(columnExpressions(layout));
  const code = table.columns.map((c, k) =>
    columnCode(c, k, exprs.get(c.name) ?? `(cst === undefined ? null : cst[${JSON.stringify(c.name)}])`));
  // eslint-disable-next-line no-new-func
  return new Function('u64', 'i64', 'u32', 'size', 'h', 'columns', 'from', 'to', 'at', 'cst', `
    ${code.map(([setup]) => setup).join('\n    ')}
    let v;
    for (let r = from, i = at; r < to; r++, i++) {
      const b = r * size;
      ${recordLocals(layout)}
      ${code.map(([, body]) => body).join('\n      ')}
    }`) as Pusher;
}

const pushers = new Map<TableSpec, Pusher>();

/** Compiled once per table spec a column buffer holds (the writer's: the table's columns + run_id). */
function pusherFor(table: TableSpec): Pusher {
  let push = pushers.get(table);
  if (!push) pushers.set(table, (push = compile(stmtSampleLayout, table)));
  return push;
}

/** The batch's records as `queries` rows (names resolved already); valid until the source's next drain. */
export function sampleColumns(batch: RecordBatch, ctx: SchedRowContext): ColumnarRows {
  const h = helpers(ctx);
  const { u64, i64, u32, size, count } = batch;
  return {
    columnar: true,
    length: count,
    pushInto: (table, columns, from, to, at, cst) => pusherFor(table)(u64, i64, u32, size, h, columns, from, to, at, cst),
    toRows: () => sampleRows(batch, ctx),
  };
}
