/**
 * Row validation against a TableSpec and transposition into column arrays
 * (what hyparquet-writer consumes). Holds at most one row group: the owner
 * takes the columns out with takeColumns() after every row group.
 */
import { PgscoutError } from '../util/errors.js';
import type { ColumnSpec, ColumnType, Row, TableSpec } from './schema.js';
import { acquire, release } from './typed-pool.js';

/** A row does not match the table's schema; `column` names the offending column. */
export class RowValidationError extends PgscoutError {
  constructor(readonly table: string, readonly column: string, message: string) {
    super(`${table}.${column}: ${message}`);
  }
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

type Value = Row[string];

// One cheap check per value; range checks are here (not left to the encoder)
// so a bad value is rejected before anything of its batch is written.
const CHECKS: Record<ColumnType, { expected: string; ok: (v: Value) => boolean }> = {
  INT64: { expected: 'bigint in int64 range', ok: (v) => typeof v === 'bigint' && v >= INT64_MIN && v <= INT64_MAX },
  INT32: { expected: 'integer number in int32 range', ok: (v) => typeof v === 'number' && (v | 0) === v },
  DOUBLE: { expected: 'number', ok: (v) => typeof v === 'number' },
  BOOLEAN: { expected: 'boolean', ok: (v) => typeof v === 'boolean' },
  STRING: { expected: 'string', ok: (v) => typeof v === 'string' },
};

function describe(v: unknown): string {
  if (typeof v === 'string') return `string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)}`;
  if (typeof v === 'bigint') return `bigint ${v}`;
  return `${typeof v} ${String(v)}`;
}

/*
 * The two per-value loops are generated per table: a property read by a
 * constant name is inline-cached by V8, a read by a name held in a variable
 * is a generic lookup (5–10× slower; the drain does one per value of every row).
 */
const prop = (name: string) => `o[${JSON.stringify(name)}]`;

/** (rows, ok per column) → [row, column] of the first bad value, or null. */
function compileFirstBad(table: TableSpec): (rows: readonly Row[], ok: ((v: Value) => boolean)[]) => [number, number] | null {
  const body = table.columns.map((c, k) => `v = ${prop(c.name)};
      if (v === null || v === undefined) { ${c.nullable ? '' : `return [r, ${k}];`} } else if (!ok[${k}](v)) return [r, ${k}];`).join('\n      ');
  // eslint-disable-next-line no-new-func
  return new Function('rows', 'ok', `
    for (let r = 0; r < rows.length; r++) {
      const o = rows[r];
      if (o === null || typeof o !== 'object') return [r, 0];
      let v;
      ${body}
    }
    return null;`) as ReturnType<typeof compileFirstBad>;
}

/**
 * Numeric columns wait for their row group in typed arrays, not as one heap
 * object per value: a bigint per INT64 value kept for a minute is what the
 * garbage collector spent most of the drain's CPU on (promoting and marking
 * them); the values become JS values again only when the row group is written.
 */
interface TypedColumn { values: BigInt64Array | Float64Array | Int32Array; nulls: Uint8Array | null }
/*
 * Other columns (strings, booleans) are plain arrays of a fixed capacity,
 * filled with null and written by index: an empty array that push() makes
 * grow starts with small-integer elements, and its first string or null
 * deoptimizes the compiled push function (~75 ms of optimizing compiler each
 * time, for every column, every row group: docs/benchmarks.md, run F).
 */
export type Stored = Value[] | TypedColumn;

/**
 * Rows that are never objects: a batch that stores its values straight into
 * the buffer's columns (sampled executions decoded from the kernel's records:
 * src/collectors/statements/sample-columns.ts). Its values are of the column
 * types by construction, so it is not validated row by row.
 */
export interface ColumnarRows {
  readonly columnar: true;
  readonly length: number;
  /** Stores rows [from, to) into `columns` (in `table`'s order) from index `at` on; `constants` fill the columns they name. */
  pushInto(table: TableSpec, columns: Stored[], from: number, to: number, at: number,
    constants: Readonly<Record<string, Value>> | undefined): void;
  /** The same rows as objects (metrics, tests). */
  toRows(): Row[];
}

export type RowBatch = readonly Row[] | ColumnarRows;

export function isColumnar(rows: RowBatch): rows is ColumnarRows {
  return (rows as ColumnarRows).columnar === true;
}

const plainColumn = (capacity: number): Value[] => new Array<Value>(capacity).fill(null);

const TYPED: Partial<Record<ColumnType, new (n: number) => BigInt64Array | Float64Array | Int32Array>> = {
  INT64: BigInt64Array, DOUBLE: Float64Array, INT32: Int32Array,
};

/** (rows, from, to, columns, at) → stores each row's values from index `at` on (typed) or by push (others). */
function compilePush(table: TableSpec): (rows: readonly Row[], from: number, to: number, columns: Stored[], at: number) => void {
  const setup: string[] = [];
  const body: string[] = [];
  table.columns.forEach((c, k) => {
    if (!TYPED[c.type]) {
      setup.push(`const c${k} = columns[${k}];`);
      body.push(`c${k}[i] = ${prop(c.name)} ?? null;`);
    } else if (c.nullable) {
      setup.push(`const t${k} = columns[${k}].values, n${k} = columns[${k}].nulls;`);
      body.push(`v = ${prop(c.name)}; if (v === null || v === undefined) n${k}[i] = 1; else t${k}[i] = v;`);
    } else {
      setup.push(`const t${k} = columns[${k}].values;`);
      body.push(`t${k}[i] = ${prop(c.name)};`);
    }
  });
  // eslint-disable-next-line no-new-func
  return new Function('rows', 'from', 'to', 'columns', 'at', `
    ${setup.join(' ')}
    let v;
    for (let r = from, i = at; r < to; r++, i++) { const o = rows[r]; ${body.join(' ')} }`) as ReturnType<typeof compilePush>;
}

function typedColumn(type: ColumnType, nullable: boolean, capacity: number): TypedColumn {
  return { values: acquire(TYPED[type]!, capacity), nulls: nullable ? acquire(Uint8Array, capacity) : null };
}

function releaseColumn(col: Stored): void {
  if (Array.isArray(col)) return;
  release(col.values);
  release(col.nulls);
}

/**
 * What a row group hands to the encoder for one column: a plain array, or a
 * typed column (its own copy of values and nulls). Numeric columns are
 * encoded from the typed arrays themselves (src/dataset/typed-chunk.ts);
 * slice() makes JS values for hyparquet-writer's general path.
 */
export type EncodableColumn = Value[] | LazyColumn;

/** A typed column (own copy of its values; nulls[i] = 1 marks a null, no nulls: null). */
export class LazyColumn {
  constructor(readonly values: BigInt64Array | Float64Array | Int32Array, readonly nulls: Uint8Array | null,
    readonly nullCount = 0) {}

  get length(): number {
    return this.values.length;
  }

  slice(from = 0, to = this.values.length): Value[] {
    const end = Math.min(to, this.values.length);
    const out: Value[] = new Array(Math.max(0, end - from));
    const { values, nulls } = this;
    if (nulls === null) for (let i = from; i < end; i++) out[i - from] = values[i]!;
    else for (let i = from; i < end; i++) out[i - from] = nulls[i] === 1 ? null : values[i]!;
    return out;
  }
}

/** The first `n` values of `col`, detached from the buffer's arrays (they are reused). */
function encodable(col: Stored, n: number): EncodableColumn {
  if (Array.isArray(col)) return col.slice(0, n);
  const nulls = col.nulls === null ? 0 : countOnes(col.nulls, n);
  if (nulls === n && n > 0) return new Array<Value>(n).fill(null);
  return new LazyColumn(col.values.slice(0, n), nulls === 0 ? null : col.nulls!.slice(0, n), nulls);
}

function countOnes(flags: Uint8Array, n: number): number {
  let ones = 0;
  for (let i = 0; i < n; i++) ones += flags[i]!;
  return ones;
}

export class ColumnBuffer {
  private readonly checks: { spec: ColumnSpec; ok: (v: Value) => boolean; expected: string }[];
  private columns: Stored[];
  private rowCount = 0;
  private capacity = 0;
  private readonly okByColumn: ((v: Value) => boolean)[];
  private readonly firstBad: (rows: readonly Row[], ok: ((v: Value) => boolean)[]) => [number, number] | null;
  private readonly pushRows: ReturnType<typeof compilePush>;

  constructor(readonly table: TableSpec) {
    this.checks = table.columns.map((spec) => ({ spec, ...CHECKS[spec.type] }));
    this.okByColumn = this.checks.map((c) => c.ok);
    this.columns = this.fresh(1024);
    this.firstBad = compileFirstBad(table);
    this.pushRows = compilePush(table);
  }

  get length(): number {
    return this.rowCount;
  }

  private fresh(capacity: number): Stored[] {
    this.capacity = capacity;
    return this.table.columns.map((c) => (TYPED[c.type] ? typedColumn(c.type, c.nullable, capacity) : plainColumn(capacity)));
  }

  /** Room for `n` rows: columns grow by doubling, keeping what they hold. */
  private reserve(n: number): void {
    if (n <= this.capacity) return;
    let capacity = this.capacity;
    while (capacity < n) capacity *= 2;
    const grown = this.fresh(capacity);
    const held = this.rowCount;
    this.columns = this.columns.map((col, k) => {
      if (Array.isArray(col)) {
        const next = grown[k] as Value[];
        for (let i = 0; i < held; i++) next[i] = col[i]!;
        return next;
      }
      const next = grown[k] as TypedColumn;
      (next.values as BigInt64Array).set(col.values as BigInt64Array);
      next.nulls?.set(col.nulls!);
      releaseColumn(col);
      return next;
    });
  }

  /** Throws RowValidationError for the first bad value; checks the whole batch so appends are all-or-nothing. */
  validate(rows: RowBatch): void {
    if (isColumnar(rows)) return;
    const bad = this.firstBad(rows, this.okByColumn);
    if (bad === null) return;
    const [r, k] = bad;
    const row = rows[r];
    if (row === null || typeof row !== 'object') {
      throw new RowValidationError(this.table.name, '*', `row ${r} of the batch is ${describe(row)}, not an object`);
    }
    const { spec, expected } = this.checks[k]!;
    const v = row[spec.name];
    if (v === null || v === undefined) {
      throw new RowValidationError(this.table.name, spec.name,
        `${v === null ? 'null' : 'missing'} in row ${r} of the batch, but the column is not nullable`);
    }
    throw new RowValidationError(this.table.name, spec.name,
      `expected ${expected} (${spec.type}), got ${describe(v)} in row ${r} of the batch`);
  }

  /** Appends rows[from, to) without validating (call validate first); `constants` only for columnar rows (objects carry theirs). */
  push(rows: RowBatch, from: number, to: number, constants?: Readonly<Record<string, Value>>): void {
    if (to <= from) return;
    this.reserve(this.rowCount + (to - from));
    if (isColumnar(rows)) rows.pushInto(this.table, this.columns, from, to, this.rowCount, constants);
    else this.pushRows(rows, from, to, this.columns, this.rowCount);
    this.rowCount += to - from;
  }

  /**
   * Hands over the buffered columns (in TableSpec order) for encoding, and
   * starts over in the same typed arrays: fresh ones would be faulted in page
   * by page again for every row group (a page fault is the costliest part of
   * a push in a VM), so they stay at their high-water mark (one row group).
   */
  takeColumns(): EncodableColumn[] {
    const out = this.columns.map((col) => encodable(col, this.rowCount));
    this.clear();
    return out;
  }

  /** Gives the typed arrays back to the pool; the buffer is empty and unusable afterwards. */
  dispose(): void {
    for (const col of this.columns) releaseColumn(col);
    this.columns = [];
    this.rowCount = 0;
    this.capacity = 0;
  }

  /** Drops the buffered rows (after a take, or a failed write), keeping the arrays (no strings held). */
  clear(): void {
    const n = this.rowCount;
    for (const col of this.columns) {
      if (Array.isArray(col)) col.fill(null, 0, n);
      else col.nulls?.fill(0, 0, n);
    }
    this.rowCount = 0;
  }
}
