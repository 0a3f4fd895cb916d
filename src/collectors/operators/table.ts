/**
 * The operator table: one row per plan node instance per statement
 * execution, per process (parallel workers get rows of their own).
 */
import { column, type ColumnSpec, type TableSpec } from '../../dataset/schema.js';
import { COUNTERS } from '../../bpf/perf.js';

const c = column;
const INIT = 'uretprobe ExecInitNode: Plan fields';
const CALLS = 'uprobe/uretprobe on the node function (discovered at ExecInitNode)';
const label = (name: string, type: ColumnSpec['type'], unit: string, source: string, description: string) =>
  c(name, type, true, unit, source, `${description}; null when probed = false`);
const feat = (name: string, type: ColumnSpec['type'], source: string, description: string) => c(name, type, true, '', `${INIT} ${source}`, `${description}; null for node types without it`);

export const OPERATOR_COLUMNS: readonly ColumnSpec[] = [
  c('exec_id', 'INT64', false, '', 'leader pid << 32 | statement sequence (as queries.exec_id)', 'Statement execution this node ran in; joins queries.exec_id'),
  c('query_id', 'INT64', true, '', "the leader's statement record at the node's first call", 'PostgreSQL queryid of the statement'),
  c('pid', 'INT32', false, '', 'bpf_get_current_pid_tgid', 'Process that ran the node (the worker for parallel workers)'),
  c('leader_pid', 'INT32', false, '', 'MyProc->lockGroupLeader->pid in workers', 'Backend that ran the statement'),
  c('worker', 'INT32', false, '', 'ParallelWorkerNumber', '-1 for the leader, 0..n-1 for parallel workers'),
  c('plan_seq', 'INT64', false, '', 'ExecInitNode of a tree root, counted per backend (a worker: its leader\'s tree)',
    'Which plan tree of the execution the node belongs to: distinct for every tree the backend starts, increasing; the lowest in an exec_id is the statement\'s own plan, the others are plans of statements it ran nested (PL/pgSQL, SQL functions). (exec_id, plan_seq, plan_node_id, pid) is unique'),
  c('plan_node_id', 'INT32', false, '', `${INIT} plan_node_id`, 'Plan node id (as in EXPLAIN VERBOSE / auto_explain)'),
  c('parent_node_id', 'INT32', true, '', 'ExecInitNode nesting; ExecInitSubPlan for subplan roots', 'plan_node_id of the parent node; null for the root'),
  c('depth', 'INT32', false, '', 'ExecInitNode nesting', 'Depth below the tree root (subplan trees count from their own root)'),
  c('left_child_id', 'INT32', true, '', `${INIT} lefttree->plan_node_id`, 'Outer (left) child node; null if none'),
  c('right_child_id', 'INT32', true, '', `${INIT} righttree->plan_node_id`, 'Inner (right) child node; null if none (Append/SubqueryScan children: see parent_node_id)'),
  c('is_subplan', 'BOOLEAN', false, '', 'uprobe ExecInitSubPlan', 'Root of an InitPlan/SubPlan tree'),
  c('node_type', 'STRING', false, '', 'PlanState NodeTag, EXPLAIN spelling', "EXPLAIN's Node Type (Seq Scan, Hash Join, Aggregate, …)"),
  c('est_startup_cost', 'DOUBLE', false, '', `${INIT} startup_cost`, 'Planner startup cost'),
  c('est_total_cost', 'DOUBLE', false, '', `${INIT} total_cost`, 'Planner total cost'),
  c('est_rows', 'DOUBLE', false, 'rows', `${INIT} plan_rows`, 'Planner row estimate (per loop)'),
  c('est_width', 'INT32', false, 'bytes', `${INIT} plan_width`, 'Planner average row width'),
  c('parallel_aware', 'BOOLEAN', false, '', `${INIT} parallel_aware`, 'Node is parallel aware'),
  feat('relation', 'STRING', 'Scan.scanrelid / ModifyTable.nominalRelation → range table → pg_class', 'Relation scanned or modified'),
  feat('relation_oid', 'INT64', 'Scan.scanrelid → es_range_table → RangeTblEntry.relid', 'Oid of that relation'),
  feat('index_name', 'STRING', 'IndexScan/IndexOnlyScan/BitmapIndexScan.indexid → pg_class', 'Index used'),
  feat('join_type', 'STRING', 'Join.jointype', 'Inner, Left, Full, Right, Semi, Anti'),
  feat('inner_unique', 'BOOLEAN', 'Join.inner_unique', 'Inner side known unique'),
  feat('strategy', 'STRING', 'Agg.aggstrategy / SetOp.strategy', 'Plain, Sorted, Hashed, Mixed'),
  feat('num_groups', 'INT64', 'Agg.numGroups / SetOp.numGroups / RecursiveUnion.numGroups', 'Planner estimate of groups'),
  feat('key_cols', 'INT32', 'numCols of Agg, Group, Unique, Sort, IncrementalSort, SetOp, MergeAppend, GatherMerge, RecursiveUnion; Memoize.numKeys', 'Grouping/sort/cache key columns'),
  feat('presorted_cols', 'INT32', 'IncrementalSort.nPresortedCols', 'Presorted key columns'),
  feat('limit_option', 'STRING', 'Limit.limitOption', 'Count or With Ties'),
  feat('est_entries', 'INT64', 'Memoize.est_entries', 'Planner estimate of cache entries'),
  feat('setop_cmd', 'STRING', 'SetOp.cmd', 'Intersect, Intersect All, Except, Except All'),
  feat('window_part_cols', 'INT32', 'WindowAgg.partNumCols', 'PARTITION BY columns'),
  feat('window_order_cols', 'INT32', 'WindowAgg.ordNumCols', 'ORDER BY columns'),
  feat('frame_options', 'INT32', 'WindowAgg.frameOptions', 'FRAMEOPTION_* bit mask'),
  feat('workers_planned', 'INT32', 'Gather/GatherMerge.num_workers', 'Workers planned'),
  feat('operation', 'STRING', 'ModifyTable.operation', 'Insert, Update, Delete, Merge'),
  feat('cte_plan_id', 'INT32', 'CteScan.ctePlanId', 'SubPlan id of the CTE'),
  feat('func_ordinality', 'BOOLEAN', 'FunctionScan.funcordinality', 'WITH ORDINALITY'),
  c('hash_buckets', 'INT64', true, '', 'uretprobe MultiExecHash: HashJoinTable.nbuckets', 'Hash buckets used (Hash nodes)'),
  c('hash_batches', 'INT64', true, '', 'uretprobe MultiExecHash: HashJoinTable.nbatch', 'Hash batches used (Hash nodes)'),
  c('probed', 'BOOLEAN', false, '', 'probed_fns at ExecInitNode (and ExecEndNode for Parallel Hash Join)', "Labels measured: false for a node that ran before its function was probed (the first of a node type the warm-up missed); its labels are then null and its time is in its parent's exclusive figures"),
];

/** Labels: measured by the node function's probes, null when probed = false. */
export const LABEL_COLUMNS: readonly ColumnSpec[] = [
  label('calls', 'INT64', 'count', CALLS, 'Calls of the node function (tuples + end-of-data returns, across loops)'),
  label('loops', 'INT64', 'count', `${CALLS}; uprobe ExecReScan, ExecEndNode`, "EXPLAIN's loops: runs in which the node was called (0: never executed)"),
  label('tuples', 'INT64', 'rows', `${CALLS}: non-NULL, non-empty slots returned; Hash: HashJoinTable.partialTuples; Bitmap Index Scan: index_getbitmap() result`, 'Rows produced over all loops, exactly as EXPLAIN ANALYZE counts them'),
  label('first_tuple_ns', 'INT64', 'ns', CALLS, 'From the first call to the first tuple (startup time of the first loop); null when no tuple'),
  label('start_ns', 'INT64', 'ns since Unix epoch', CALLS, 'First call of the node; null if never executed'),
  label('incl_ns', 'INT64', 'ns', CALLS, 'Time inside the node, children included'),
  label('excl_ns', 'INT64', 'ns', `${CALLS}, minus child node calls (per-backend stack in the kernel)`, 'Time in the node itself'),
  label('excl_on_cpu_ns', 'INT64', 'ns', 'excl_ns - excl_off_cpu_ns', 'On-CPU part of excl_ns'),
  label('excl_off_cpu_ns', 'INT64', 'ns', 'tp_btf/sched_switch charged to the innermost active node', 'Off-CPU time while this node was the innermost active one'),
  label('excl_runq_wait_ns', 'INT64', 'ns', 'tp_btf/sched_switch (preempted)', 'Part of excl_off_cpu_ns spent runnable, waiting for a CPU'),
  ...COUNTERS.map((k, i) => label(k.name, 'INT64', i === 0 ? 'ns' : 'count', 'perf counter, virtualized per task, exclusive of child nodes', `Exclusive ${k.name}; null when the kernel lacks the counter${i === 0 ? ' or without --cpu-clock' : ''}`)),
  label('disk_read_bytes', 'INT64', 'bytes', 'task ioac.read_bytes, exclusive of child nodes', 'Block-device reads caused while this node was innermost'),
  label('disk_write_bytes', 'INT64', 'bytes', 'task ioac.write_bytes, exclusive of child nodes', 'Page-cache bytes dirtied while this node was innermost'),
  label('net_recv_bytes', 'INT64', 'bytes', 'sock:sock_recv_length while innermost', 'Socket bytes received while this node was innermost'),
  label('net_send_bytes', 'INT64', 'bytes', 'sock:sock_send_length while innermost', 'Socket bytes sent while this node was innermost (result rows flushed during execution)'),
];

export const OPERATORS_TABLE: TableSpec = { name: 'operators', columns: [...OPERATOR_COLUMNS, ...LABEL_COLUMNS], metrics: 'operators' };
