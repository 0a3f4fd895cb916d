/**
 * Row validation against a TableSpec and transposition into column arrays
 * (what hyparquet-writer consumes). Holds at most one row group: the owner
 * takes the columns out with take() after every row group.
 */
import { PgscoutError } from '../util/errors.js';
import type { ColumnSpec, ColumnType, Row, TableSpec } from './schema.js';

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

/** (rows, from, to, columns) → appends each row's values to the columns, undefined as null. */
function compilePush(table: TableSpec): (rows: readonly Row[], from: number, to: number, columns: Value[][]) => void {
  const cols = table.columns.map((_, k) => `const c${k} = columns[${k}];`).join(' ');
  const body = table.columns.map((c, k) => `c${k}.push(${prop(c.name)} ?? null);`).join(' ');
  // eslint-disable-next-line no-new-func
  return new Function('rows', 'from', 'to', 'columns', `
    ${cols}
    for (let r = from; r < to; r++) { const o = rows[r]; ${body} }`) as ReturnType<typeof compilePush>;
}

export class ColumnBuffer {
  private readonly names: string[];
  private readonly checks: { spec: ColumnSpec; ok: (v: Value) => boolean; expected: string }[];
  private columns: Value[][];
  private readonly okByColumn: ((v: Value) => boolean)[];
  private readonly firstBad: (rows: readonly Row[], ok: ((v: Value) => boolean)[]) => [number, number] | null;
  private readonly pushRows: (rows: readonly Row[], from: number, to: number, columns: Value[][]) => void;

  constructor(readonly table: TableSpec) {
    this.names = table.columns.map((c) => c.name);
    this.checks = table.columns.map((spec) => ({ spec, ...CHECKS[spec.type] }));
    this.okByColumn = this.checks.map((c) => c.ok);
    this.columns = this.names.map(() => []);
    this.firstBad = compileFirstBad(table);
    this.pushRows = compilePush(table);
  }

  get length(): number {
    return this.columns[0]?.length ?? 0;
  }

  /** Throws RowValidationError for the first bad value; checks the whole batch so appends are all-or-nothing. */
  validate(rows: readonly Row[]): void {
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

  /** Appends rows[from, to) without validating (call validate first). */
  push(rows: readonly Row[], from: number, to: number): void {
    this.pushRows(rows, from, to, this.columns);
  }

  /** Hands over the buffered columns (in TableSpec order) and starts empty ones. */
  take(): Value[][] {
    const out = this.columns;
    this.columns = this.names.map(() => []);
    return out;
  }

  clear(): void {
    this.columns = this.names.map(() => []);
  }
}
