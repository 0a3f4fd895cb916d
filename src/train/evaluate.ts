/** Held-out figures: q-error (max(pred/actual, actual/pred)), MAE, R², overall and per node type. */

/** Times below 1 µs are taken as 1 µs: a q-error of sub-microsecond noise says nothing. */
const FLOOR_NS = 1000;

export interface Figures { n: number; median_qerror: number; p90_qerror: number; mae_ms: number; r2: number }

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}

export function qError(pred: number, actual: number): number {
  const p = Math.max(pred, FLOOR_NS);
  const a = Math.max(actual, FLOOR_NS);
  return Math.max(p / a, a / p);
}

export function figures(pred: readonly number[], actual: readonly number[]): Figures {
  const q = pred.map((p, i) => qError(p, actual[i]!)).sort((a, b) => a - b);
  const mean = actual.reduce((a, v) => a + v, 0) / Math.max(1, actual.length);
  let ssRes = 0;
  let ssTot = 0;
  let abs = 0;
  actual.forEach((a, i) => {
    ssRes += (a - pred[i]!) ** 2;
    ssTot += (a - mean) ** 2;
    abs += Math.abs(a - pred[i]!);
  });
  const round = (v: number, d = 3) => Number(v.toFixed(d));
  return {
    n: actual.length,
    median_qerror: round(quantile(q, 0.5)),
    p90_qerror: round(quantile(q, 0.9)),
    mae_ms: round(abs / Math.max(1, actual.length) / 1e6, 4),
    r2: round(ssTot > 0 ? 1 - ssRes / ssTot : NaN),
  };
}

/** Least-squares fit of time = a · cost + b on the training split: PostgreSQL's cost model turned into time. */
export function fitCostToTime(cost: readonly number[], actual: readonly number[]): { a: number; b: number } {
  const n = cost.length;
  const mx = cost.reduce((s, v) => s + v, 0) / n;
  const my = actual.reduce((s, v) => s + v, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (cost[i]! - mx) * (actual[i]! - my);
    sxx += (cost[i]! - mx) ** 2;
  }
  const a = sxx > 0 ? sxy / sxx : 0;
  return { a, b: my - a * mx };
}

/**
 * Indices of `items` grouped by `key`, the largest group first (ties: the group
 * seen first). `pgscout train`'s by_node_type and the report's panels both use
 * it, so they list node types in the same order.
 */
export function groupIndices<T>(items: readonly T[], key: (item: T) => string): [string, number[]][] {
  const groups = new Map<string, number[]>();
  items.forEach((item, i) => {
    const k = key(item);
    const group = groups.get(k);
    if (group) group.push(i);
    else groups.set(k, [i]);
  });
  return [...groups].sort((a, b) => b[1].length - a[1].length);
}
