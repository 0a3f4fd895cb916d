/**
 * Per node type, from the operator level's tables: what every instrumented
 * execution summed to (plan_node_stats, exact) and how far the planner's row
 * estimates were from the actual rows (plan_nodes, per execution, weighted by
 * sample_weight: the q-error a cost-model user looks at first). Shared by
 * `summary` and `report`.
 */
import { hasTable, queryParquet, tableSource } from '../dataset/read-back.js';

export interface PlanNodeTypeStats {
  nodeType: string;
  calls: bigint;
  rows: bigint;
  loops: bigint;
  sharedHit: bigint;
  sharedRead: bigint;
  tempBlocks: bigint;
  /** Over the timed calls only; null when none was timed. */
  exclNs: bigint | null;
  timedCalls: bigint;
  /** Rows q-error max(est/actual, actual/est) per executed node (both ≥ 1), weighted median and p90; null without plan_nodes rows. */
  qerrorMedian: number | null;
  qerrorP90: number | null;
  /** plan_nodes rows the q-error comes from. */
  qerrorNodes: number;
}

const big = (v: unknown) => (v === null || v === undefined ? 0n : BigInt(v as bigint | number));

/** null when the dataset has no plan_node_stats (collected without --level operator). */
export async function planNodeTypes(outDir: string): Promise<PlanNodeTypeStats[] | null> {
  if (!hasTable(outDir, 'plan_node_stats')) return null;
  const sums = await queryParquet(`SELECT node_type, sum(calls) AS calls, sum(rows) AS rows, sum(loops) AS loops,
      sum(shared_blks_hit) AS hit, sum(shared_blks_read) AS rd, sum(temp_blks_read) + sum(temp_blks_written) AS tmp,
      sum(excl_ns) AS excl, sum(timed_calls) AS timed
      FROM ${tableSource(outDir, 'plan_node_stats')} GROUP BY 1 ORDER BY sum(shared_blks_hit) + sum(shared_blks_read) DESC, 1`);
  const qerr = new Map<string, { med: unknown; p90: unknown; n: unknown }>();
  if (hasTable(outDir, 'plan_nodes')) {
    // Estimate per loop against actual rows per loop, both at least 1 (as the cardinality literature does).
    const rows = await queryParquet(`WITH e AS (SELECT node_type, sample_weight AS w,
          greatest(greatest(est_rows, 1) / greatest(rows::DOUBLE / loops, 1), greatest(rows::DOUBLE / loops, 1) / greatest(est_rows, 1)) AS q
        FROM ${tableSource(outDir, 'plan_nodes')} WHERE loops > 0)
      SELECT node_type, count(*) AS n, list(q ORDER BY q) AS qs, list(w ORDER BY q) AS ws FROM e GROUP BY 1`);
    for (const r of rows) {
      const qs = (r.qs as number[]).map(Number);
      const ws = (r.ws as number[]).map(Number);
      qerr.set(String(r.node_type), { med: weightedQuantile(qs, ws, 0.5), p90: weightedQuantile(qs, ws, 0.9), n: r.n });
    }
  }
  return sums.map((r) => {
    const q = qerr.get(String(r.node_type));
    return {
      nodeType: String(r.node_type), calls: big(r.calls), rows: big(r.rows), loops: big(r.loops),
      sharedHit: big(r.hit), sharedRead: big(r.rd), tempBlocks: big(r.tmp),
      exclNs: r.excl === null || r.excl === undefined ? null : big(r.excl), timedCalls: big(r.timed),
      qerrorMedian: q ? Number(q.med) : null, qerrorP90: q ? Number(q.p90) : null, qerrorNodes: q ? Number(q.n) : 0,
    };
  });
}

/** The value below which `p` of the total weight lies (values sorted ascending). */
export function weightedQuantile(values: readonly number[], weights: readonly number[], p: number): number | null {
  const total = weights.reduce((a, w) => a + w, 0);
  if (values.length === 0 || total <= 0) return null;
  let acc = 0;
  for (let i = 0; i < values.length; i++) {
    acc += weights[i]!;
    if (acc >= p * total) return values[i]!;
  }
  return values[values.length - 1]!;
}
