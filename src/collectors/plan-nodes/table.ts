/**
 * The plan_nodes table: one row per plan node of each instrumented statement,
 * from PostgreSQL's own Instrumentation at executor end (what EXPLAIN ANALYZE
 * prints). Parallel workers' counts are in the leader's nodes.
 */
import { column, type ColumnSpec, type TableSpec } from '../../dataset/schema.js';
import { PN_BUF_FIELDS, PN_WAL_FIELDS } from './abi.js';

const c = column;
const INSTR = 'PlanState.instrument at standard_ExecutorEnd:';
const PLAN = 'PlanState.plan:';

const BUF_WHAT: Record<(typeof PN_BUF_FIELDS)[number], string> = {
  shared_blks_hit: 'Shared buffer hits', shared_blks_read: 'Shared blocks read', shared_blks_dirtied: 'Shared blocks dirtied',
  shared_blks_written: 'Shared blocks written', local_blks_hit: 'Local buffer hits', local_blks_read: 'Local blocks read',
  local_blks_dirtied: 'Local blocks dirtied', local_blks_written: 'Local blocks written',
  temp_blks_read: 'Temporary blocks read', temp_blks_written: 'Temporary blocks written',
};
const WAL_WHAT: Record<(typeof PN_WAL_FIELDS)[number], [string, string]> = {
  wal_records: ['records', 'WAL records generated'], wal_fpi: ['pages', 'WAL full-page images generated'],
  wal_bytes: ['bytes', 'WAL bytes generated'],
};

export const PLAN_NODE_COLUMNS: readonly ColumnSpec[] = [
  c('statement_id', 'INT64', false, '', 'pid << 32 | per-process count of instrumented statements', 'The instrumented statement this node belongs to (unique within a run)'),
  c('exec_id', 'INT64', true, '', 'pid << 32 | the default statement source\'s statement number (its task storage, read at ExecutorEnd)', 'Joins queries.exec_id (when that execution was sampled too); a nested statement carries its top-level statement\'s; null with --operator-probes (the exact source numbers statements itself) or before the backend was first seen'),
  c('end_ns', 'INT64', false, 'ns since Unix epoch', 'bpf_ktime_get_ns at standard_ExecutorEnd', 'When the statement\'s executor ended'),
  c('query_id', 'INT64', true, '', 'QueryDesc.plannedstmt->queryId', "PostgreSQL's queryid (joins query_stats); null when 0"),
  c('fingerprint', 'STRING', true, '', 'libpg-query fingerprint (text seen by the statement collector)', 'Parse-tree fingerprint of the statement; null when its text was not seen'),
  c('query_text', 'STRING', true, '', 'normalized by libpg-query', 'Normalized statement text (no literals); null when not seen'),
  c('pid', 'INT32', false, '', 'bpf_get_current_pid_tgid', 'Backend that ran the statement'),
  c('plan_node_id', 'INT32', false, '', `${PLAN} plan_node_id`, 'Plan node id (as in EXPLAIN VERBOSE / auto_explain)'),
  c('parent_node_id', 'INT32', true, '', 'the walk from queryDesc->planstate', 'plan_node_id of the parent node (for a subplan root: the node whose initPlan/subPlan list holds it); null for the root'),
  c('depth', 'INT32', false, '', 'the walk from queryDesc->planstate', 'Depth below the tree root'),
  c('is_subplan', 'BOOLEAN', false, '', 'PlanState.initPlan / subPlan lists', 'Root of an InitPlan/SubPlan tree'),
  c('node_type', 'STRING', false, '', 'PlanState NodeTag, EXPLAIN spelling', "EXPLAIN's Node Type (Seq Scan, Hash Join, Aggregate, …)"),
  c('est_startup_cost', 'DOUBLE', false, '', `${PLAN} startup_cost`, 'Planner startup cost'),
  c('est_total_cost', 'DOUBLE', false, '', `${PLAN} total_cost`, 'Planner total cost'),
  c('est_rows', 'DOUBLE', false, 'rows', `${PLAN} plan_rows`, 'Planner row estimate (per loop)'),
  c('est_width', 'INT32', false, 'bytes', `${PLAN} plan_width`, 'Planner average row width'),
  c('rows', 'INT64', false, 'rows', `${INSTR} ntuples (+ tuplecount of a loop still running)`, 'Rows returned over all loops (EXPLAIN ANALYZE: actual rows × loops)'),
  c('loops', 'INT64', false, 'count', `${INSTR} nloops (+1 for a loop still running)`, "EXPLAIN ANALYZE's loops (0: never executed)"),
  c('rows_removed_by_filter', 'INT64', false, 'rows', `${INSTR} nfiltered1`, 'Rows removed by the filter (scans, joins: join filter is the next column)'),
  c('rows_removed_by_join_filter', 'INT64', false, 'rows', `${INSTR} nfiltered2`, 'Rows removed by the join filter (or, for scans, by the index recheck)'),
  c('timed', 'BOOLEAN', false, '', `${INSTR} need_timer`, 'Node times were measured (auto_explain.log_timing / EXPLAIN TIMING); the time columns are null otherwise'),
  c('startup_ns', 'INT64', true, 'ns', `${INSTR} startup`, 'Time to the first row, summed over loops (EXPLAIN: actual startup time × loops); null when not timed'),
  c('total_ns', 'INT64', true, 'ns', `${INSTR} total`, 'Time in the node, children included, summed over loops; null when not timed'),
  c('excl_ns', 'INT64', true, 'ns', 'total_ns minus the children\'s total_ns (computed by pgscout)', 'Time in the node itself; null when not timed'),
  ...usageColumns('', 'children included'),
  c('workers', 'INT32', false, 'count', 'PlanState.worker_instrument->num_workers', 'Parallel workers planned for this node (those that ran are summed into it, and have their own plan_node_workers rows); 0: none'),
  c('sample_weight', 'DOUBLE', false, '', '1 / the probability the statement was kept with (bpf/plan_nodes.bpf.c)', 'How many instrumented executions this statement stands for (1: kept because slow, or every statement kept); plan_node_stats has the exact sums'),
];

/** Buffer and WAL usage of a node (EXPLAIN BUFFERS / WAL; 0 when auto_explain.log_buffers / log_wal is off). */
function usageColumns(prefix: string, scope: string): ColumnSpec[] {
  return [
    ...PN_BUF_FIELDS.map((f) => c(f, 'INT64', false, 'blocks', `${INSTR} bufusage.${f}`, `${prefix}${BUF_WHAT[f]} (${scope})`)),
    ...PN_WAL_FIELDS.map((f) => c(f, 'INT64', false, WAL_WHAT[f][0], `${INSTR} walusage.${f}`, `${prefix}${WAL_WHAT[f][1]} (${scope})`)),
  ];
}

export const PLAN_NODES_TABLE: TableSpec = { name: 'plan_nodes', columns: PLAN_NODE_COLUMNS };

const WORKER = 'PlanState.worker_instrument->instrument[worker] at standard_ExecutorEnd:';
const byName = new Map(PLAN_NODE_COLUMNS.map((col) => [col.name, col]));
const same = (...names: string[]) => names.map((n) => byName.get(n)!);

/**
 * plan_node_workers: each parallel worker's own share of a node of a kept
 * statement (EXPLAIN ANALYZE VERBOSE's "Worker N:" lines). The node's
 * plan_nodes row already sums leader and workers; leader = node − Σ workers.
 */
export const PLAN_NODE_WORKER_COLUMNS: readonly ColumnSpec[] = [
  ...same('statement_id', 'exec_id', 'end_ns', 'query_id'),
  c('pid', 'INT32', false, '', 'bpf_get_current_pid_tgid', 'The leader backend (the worker processes have exited by executor end)'),
  ...same('plan_node_id', 'node_type'),
  c('worker', 'INT32', false, '', 'index in worker_instrument (ParallelWorkerNumber)', "EXPLAIN's Worker Number"),
  c('rows', 'INT64', false, 'rows', `${WORKER} ntuples`, "Rows this worker returned over its loops (EXPLAIN: the worker's actual rows × loops)"),
  c('loops', 'INT64', false, 'count', `${WORKER} nloops`, "The worker's loops (workers that never ran the node have no row, as in EXPLAIN)"),
  c('rows_removed_by_filter', 'INT64', false, 'rows', `${WORKER} nfiltered1`, 'Rows this worker removed by the filter'),
  c('rows_removed_by_join_filter', 'INT64', false, 'rows', `${WORKER} nfiltered2`, 'Rows this worker removed by the join filter'),
  c('timed', 'BOOLEAN', false, '', `${WORKER} need_timer`, 'Times were measured; the time columns are null otherwise'),
  c('startup_ns', 'INT64', true, 'ns', `${WORKER} startup`, "The worker's time to its first row, summed over loops; null when not timed"),
  c('total_ns', 'INT64', true, 'ns', `${WORKER} total`, "The worker's time in the node, children included, summed over loops; null when not timed"),
  ...usageColumns('This worker\'s ', 'children included'),
  ...same('sample_weight'),
];

export const PLAN_NODE_WORKERS_TABLE: TableSpec = { name: 'plan_node_workers', columns: PLAN_NODE_WORKER_COLUMNS };

const SUM = 'summed over the interval\'s instrumented executions in the kernel:';

/** plan_node_stats: per (interval, query_id, plan node), every instrumented execution summed — exact while rows are sampled. */
export const PLAN_NODE_STATS_COLUMNS: readonly ColumnSpec[] = [
  c('interval_start', 'INT64', false, 'ns since Unix epoch', 'drain interval', 'Start of the interval these executions ended in'),
  c('interval_end', 'INT64', false, 'ns since Unix epoch', 'drain interval', 'End of the interval (exclusive)'),
  c('query_id', 'INT64', true, '', 'QueryDesc.plannedstmt->queryId', "PostgreSQL's queryid (joins query_stats and plan_nodes); null when 0"),
  c('fingerprint', 'STRING', true, '', 'libpg-query fingerprint', 'Parse-tree fingerprint; null when the text was not seen'),
  c('query_text', 'STRING', true, '', 'normalized by libpg-query', 'Normalized statement text (no literals); null when not seen'),
  c('plan_node_id', 'INT32', false, '', `${PLAN} plan_node_id`, 'Plan node id'),
  c('parent_node_id', 'INT32', true, '', 'the walk from queryDesc->planstate', 'plan_node_id of the parent; null for the root (plans of one query_id are summed together where node id, type and parent agree)'),
  c('is_subplan', 'BOOLEAN', false, '', 'PlanState.initPlan / subPlan lists', 'Root of an InitPlan/SubPlan tree'),
  c('node_type', 'STRING', false, '', 'PlanState NodeTag, EXPLAIN spelling', "EXPLAIN's Node Type"),
  c('calls', 'INT64', false, 'calls', `${SUM} count`, 'Instrumented executions this node was part of'),
  c('timed_calls', 'INT64', false, 'calls', `${SUM} need_timer`, 'Of those, executions with node timing (auto_explain.log_timing in force)'),
  c('rows', 'INT64', false, 'rows', `${SUM} ntuples (+ tuplecount of a loop still running)`, 'Rows returned, all loops of all calls'),
  c('loops', 'INT64', false, 'count', `${SUM} nloops`, 'Loops, all calls'),
  c('rows_removed_by_filter', 'INT64', false, 'rows', `${SUM} nfiltered1`, 'Rows removed by the filter'),
  c('rows_removed_by_join_filter', 'INT64', false, 'rows', `${SUM} nfiltered2`, 'Rows removed by the join filter (scans: index recheck)'),
  c('startup_ns', 'INT64', true, 'ns', `${SUM} startup (timed calls)`, 'Time to first row, summed over the timed calls; null when none was timed'),
  c('total_ns', 'INT64', true, 'ns', `${SUM} total (timed calls)`, 'Inclusive time summed over the timed calls; null when none was timed'),
  c('excl_ns', 'INT64', true, 'ns', 'total_ns minus the children\'s total_ns (computed by pgscout)', 'Exclusive time summed over the timed calls; null when none was timed'),
  ...usageColumns('', 'children included, summed over calls'),
  c('est_rows', 'INT64', false, 'rows', `${SUM} Plan.plan_rows`, 'Planner row estimates (per loop) summed over calls: est_rows / calls is the mean estimate'),
  c('est_total_cost', 'DOUBLE', false, '', `${SUM} Plan.total_cost (milli-units)`, 'Planner total costs summed over calls'),
  c('workers', 'INT64', false, 'count', `${SUM} worker_instrument->num_workers`, 'Parallel workers planned for this node, summed over calls'),
];

export const PLAN_NODE_STATS_TABLE: TableSpec = { name: 'plan_node_stats', columns: PLAN_NODE_STATS_COLUMNS, metrics: 'plan_node_stats' };
