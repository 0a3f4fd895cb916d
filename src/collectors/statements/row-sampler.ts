/**
 * --exact hands every execution to user space (query_stats needs them all),
 * but writing each one as a `queries` row is what costs: ~15 µs of Parquet
 * work per row against ~1 µs to aggregate it. So rows follow the same
 * budget as the default source: per drain, keep each execution with
 * p = budget / executions (at most 1), every slow one with weight 1, and
 * record 1/p as sample_weight.
 */
import type { Row } from '../../dataset/schema.js';

export interface RowBudget {
  /** Rows per second for the whole collector; null keeps every row. */
  rowsPerSecond: number | null;
  /** Executions at least this long are always kept (weight 1). */
  slowNs: number;
}

export class RowSampler {
  private last = process.hrtime.bigint();

  constructor(private readonly budget: RowBudget, private readonly random: () => number = Math.random) {}

  /** The rows to write from one drain's executions (all of them, each a `queries` row with duration_ns). */
  take(rows: Row[]): Row[] {
    const now = process.hrtime.bigint();
    const seconds = Number(now - this.last) / 1e9;
    this.last = now;
    const { rowsPerSecond, slowNs } = this.budget;
    if (rowsPerSecond === null || rows.length === 0) return rows;
    const p = Math.min(1, (rowsPerSecond * Math.max(seconds, 1e-3)) / rows.length);
    if (p >= 1) return rows;
    const kept: Row[] = [];
    for (const row of rows) {
      if (slowNs > 0 && Number(row.duration_ns) >= slowNs) kept.push(row);
      else if (this.random() < p) kept.push({ ...row, sample_weight: 1 / p });
    }
    return kept;
  }
}
