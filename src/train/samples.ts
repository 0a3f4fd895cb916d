/**
 * Training samples read from a dataset's plan_nodes (sampled instrumented
 * executions): plan features only — what the planner knew before running —
 * and the measured time as the label. Nothing measured leaks into features.
 */
import { hasTable, queryParquet, tableSource } from '../dataset/read-back.js';
import { ConfigError } from '../util/errors.js';

export type Target = 'operator' | 'statement';

export interface Sample {
  /** The query template (libpg-query fingerprint): the unit of the train/test split. */
  template: string;
  nodeType: string;
  /** Numeric plan features, in NUMERIC_FEATURES[target] order. */
  numeric: number[];
  /** Node types of the plan and how often (statement target). */
  typeCounts: Record<string, number>;
  /** PostgreSQL's own estimate the baseline scales: the node's exclusive cost / the plan's total cost. */
  cost: number;
  /** Label: exclusive ns of the node / executor ns of the statement. */
  actualNs: number;
  key: string;
}

export const NUMERIC_FEATURES: Record<Target, readonly string[]> = {
  operator: ['est_startup_cost', 'est_total_cost', 'est_rows', 'est_width', 'depth', 'is_subplan', 'workers',
    'children', 'child_total_cost', 'child_rows', 'excl_cost'],
  statement: ['est_startup_cost', 'est_total_cost', 'est_rows', 'est_width', 'nodes', 'max_depth', 'sum_est_rows', 'workers'],
};

const NODES = (src: string) => `
  WITH n AS (SELECT * FROM ${src} WHERE fingerprint IS NOT NULL),
  kids AS (SELECT statement_id, parent_node_id AS parent, count(*) AS children, sum(est_total_cost) AS child_total_cost,
             sum(est_rows) AS child_rows FROM n WHERE parent_node_id IS NOT NULL AND NOT is_subplan GROUP BY ALL)`;

const OPERATOR_SQL = (src: string) => `${NODES(src)}
  SELECT n.fingerprint, n.node_type, n.statement_id, n.plan_node_id, n.est_startup_cost, n.est_total_cost, n.est_rows, n.est_width,
         n.depth, n.is_subplan::INT AS is_subplan, n.workers, coalesce(k.children, 0) AS children,
         coalesce(k.child_total_cost, 0) AS child_total_cost, coalesce(k.child_rows, 0) AS child_rows,
         greatest(n.est_total_cost - coalesce(k.child_total_cost, 0), 0) AS excl_cost, n.excl_ns AS actual
  FROM n LEFT JOIN kids k ON k.statement_id = n.statement_id AND k.parent = n.plan_node_id
  WHERE n.timed AND n.excl_ns IS NOT NULL AND n.loops > 0`;

const STATEMENT_SQL = (src: string) => `${NODES(src)}
  SELECT r.fingerprint, r.node_type, r.statement_id, r.est_startup_cost, r.est_total_cost, r.est_rows, r.est_width,
         a.nodes, a.max_depth, a.sum_est_rows, a.workers, a.types, r.total_ns AS actual
  FROM n r JOIN (SELECT statement_id, count(*) AS nodes, max(depth) AS max_depth, sum(est_rows) AS sum_est_rows,
                        sum(workers) AS workers, list(node_type) AS types FROM n GROUP BY 1) a USING (statement_id)
  WHERE r.parent_node_id IS NULL AND NOT r.is_subplan AND r.timed AND r.total_ns IS NOT NULL AND r.loops > 0`;

export async function loadSamples(outDir: string, target: Target): Promise<Sample[]> {
  if (!hasTable(outDir, 'plan_nodes')) {
    throw new ConfigError(`${outDir} has no plan_nodes table: collect with --level operator (--setup-instrumentation) first`);
  }
  const src = tableSource(outDir, 'plan_nodes');
  const rows = await queryParquet(target === 'operator' ? OPERATOR_SQL(src) : STATEMENT_SQL(src));
  const names = NUMERIC_FEATURES[target];
  return rows.map((r) => {
    const typeCounts: Record<string, number> = {};
    for (const t of (r.types as string[] | undefined) ?? []) typeCounts[t] = (typeCounts[t] ?? 0) + 1;
    return {
      template: String(r.fingerprint),
      nodeType: String(r.node_type),
      numeric: names.map((name) => Number(r[name] ?? 0)),
      typeCounts,
      cost: Number(target === 'operator' ? r.excl_cost : r.est_total_cost),
      actualNs: Number(r.actual),
      key: target === 'operator' ? `${r.statement_id}:${r.plan_node_id}` : String(r.statement_id),
    };
  });
}
