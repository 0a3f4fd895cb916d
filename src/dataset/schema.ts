/**
 * Declarative table schemas. One definition drives the Parquet schema,
 * the row validation and docs/dataset.md (kept in sync by a test).
 */
export type ColumnType = 'INT64' | 'INT32' | 'DOUBLE' | 'BOOLEAN' | 'STRING';

export interface ColumnSpec {
  name: string;
  type: ColumnType;
  /** null is written when the value is unknown (never a fabricated 0). */
  nullable: boolean;
  /** ns, bytes, count, … ('' when unitless). */
  unit: string;
  /** Probe or computation the value comes from. */
  source: string;
  description: string;
}

/** One column spec, in the order the table files write them. */
export const column = (name: string, type: ColumnType, nullable: boolean, unit: string, source: string, description: string): ColumnSpec =>
  ({ name, type, nullable, unit, source, description });

/** Which metrics a table's rows feed (src/metrics/recorder.ts); none when absent. */
export type RowMetrics = 'statement_stats' | 'operators' | 'plan_node_stats';

export interface TableSpec {
  /** Directory name under <out>/ (e.g. "queries"). */
  name: string;
  columns: readonly ColumnSpec[];
  metrics?: RowMetrics;
}

/** A row: INT64 → bigint, INT32/DOUBLE → number, BOOLEAN → boolean, STRING → string; null when nullable. */
export type Row = Record<string, bigint | number | boolean | string | null>;
