/**
 * The plan_nodes table: one row per plan node of each instrumented statement,
 * from PostgreSQL's own Instrumentation at executor end (what EXPLAIN ANALYZE
 * prints). Parallel workers' counts are in the leader's nodes.
 */
import { column, type ColumnSpec, type TableSpec } from '../../dataset/schema.js';

const c = column;
const INSTR = 'PlanState.instrument at standard_ExecutorEnd:';
const PLAN = 'PlanState.plan:';

export const PLAN_NODE_COLUMNS: readonly ColumnSpec[] = [
  c('statement_id', 'INT64', false, '', 'pid << 32 | per-process count of instrumented statements', 'The instrumented statement this node belongs to (unique within a run)'),
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
  c('shared_blks_hit', 'INT64', false, 'blocks', `${INSTR} bufusage`, 'Shared buffer hits in the node and its children (EXPLAIN BUFFERS; 0 without log_buffers)'),
  c('shared_blks_read', 'INT64', false, 'blocks', `${INSTR} bufusage`, 'Shared blocks read, children included'),
  c('temp_blks_read', 'INT64', false, 'blocks', `${INSTR} bufusage`, 'Temporary blocks read, children included'),
  c('temp_blks_written', 'INT64', false, 'blocks', `${INSTR} bufusage`, 'Temporary blocks written, children included'),
  c('workers', 'INT32', false, 'count', 'PlanState.worker_instrument->num_workers', 'Parallel workers whose counts are summed into this node (0: none)'),
];

export const PLAN_NODES_TABLE: TableSpec = { name: 'plan_nodes', columns: PLAN_NODE_COLUMNS };
