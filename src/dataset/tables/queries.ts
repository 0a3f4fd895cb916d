/**
 * The statement table: one row per top-level statement execution.
 * docs/dataset.md is checked against this list by test/docs/dataset-doc.test.ts.
 */
import type { ColumnSpec, TableSpec } from '../schema.js';

const c = (name: string, type: ColumnSpec['type'], nullable: boolean, unit: string, source: string, description: string): ColumnSpec =>
  ({ name, type, nullable, unit, source, description });

const ns = (name: string, source: string, description: string) => c(name, 'INT64', false, 'ns', source, description);
const counter = (name: string, source: string, description: string) => c(name, 'INT64', false, 'count', source, description);
const bytes = (name: string, source: string, description: string) => c(name, 'INT64', false, 'bytes', source, description);
const hw = (name: string, description: string) =>
  c(name, 'INT64', true, 'count', 'perf_event hardware counter, bpf_perf_event_read_value at sched_switch (per task)', `${description}; null when the kernel exposes no hardware counters`);

export const QUERY_COLUMNS: readonly ColumnSpec[] = [
  c('exec_id', 'INT64', false, '', 'pid << 32 | per-backend sequence', 'Statement execution id; unique per (host, pid) within one collector run; joins operator rows to their statement'),
  c('query_id', 'INT64', true, '', 'pgstat_report_query_id (uprobe), last report before the top-level PortalRun', "PostgreSQL's queryid (signed, as pg_stat_statements shows it); null when compute_query_id is off"),
  c('fingerprint', 'STRING', true, '', 'libpg-query fingerprint of the statement text', 'Parse-tree fingerprint (16 hex digits), constant-insensitive; null when the text was not captured or did not parse'),
  c('query_text', 'STRING', true, '', 'debug_query_string read at query__execute__start, normalized by libpg-query', 'Normalized statement text: every constant replaced by $n, comments removed; null when unavailable'),
  c('command', 'STRING', true, '', 'libpg-query parse tree', 'SELECT, INSERT, UPDATE, DELETE, MERGE or UTILITY'),
  c('database', 'STRING', true, '', 'MyDatabaseId read at statement start, name from pg_database', 'Database the backend is connected to'),
  c('pid', 'INT32', false, '', 'bpf_get_current_pid_tgid', 'Backend process id'),
  c('protocol', 'STRING', false, '', 'query__start seen or not', "'simple' (Query message) or 'extended' (Parse/Bind/Execute)"),
  c('stmt_index', 'INT32', false, '', 'count of top-level statements within one query string', 'Position of the statement in a multi-statement simple query (0 otherwise)'),
  c('start_ns', 'INT64', false, 'ns since Unix epoch', 'query__start, or the first parse/plan/execute probe (extended protocol)', 'Statement start, CLOCK_MONOTONIC converted to wall clock with an offset measured at collector start'),
  c('end_ns', 'INT64', false, 'ns since Unix epoch', 'query__done (simple) or top-level query__execute__done (extended)', 'Statement end'),
  ns('duration_ns', 'end_ns - start_ns', 'Elapsed time of the statement'),
  ns('parse_ns', 'query__parse__start/done', 'Time in the raw parser (top level only)'),
  ns('plan_ns', 'query__plan__start/done', 'Time in the planner (top level only; 0 for a cached generic plan)'),
  ns('execute_ns', 'query__execute__start/done (PortalRun)', 'Time in the top-level PortalRun'),
  ns('executor_ns', 'uprobe/uretprobe standard_ExecutorRun', 'Time in the outermost ExecutorRun calls'),
  ns('on_cpu_ns', 'tp_btf/sched_switch', 'Time the backend was on a CPU during the statement'),
  ns('off_cpu_ns', 'tp_btf/sched_switch', 'Time the backend was switched out during the statement (on_cpu_ns + off_cpu_ns = duration_ns)'),
  ns('runq_wait_ns', 'tp_btf/sched_switch (switched out while runnable)', 'Part of off_cpu_ns spent preempted, waiting for a CPU'),
  c('cpu_clock_ns', 'INT64', true, 'ns', 'software cpu-clock perf counter, bpf_perf_event_read_value, virtualized at sched_switch', 'CPU time counted by the per-CPU cpu-clock event while this task ran'),
  hw('cycles', 'CPU cycles'),
  hw('instructions', 'Instructions retired'),
  hw('cache_references', 'Last-level cache references'),
  hw('cache_misses', 'Last-level cache misses'),
  hw('ref_cycles', 'Reference cycles (not scaled by frequency)'),
  counter('voluntary_ctx_switches', 'tp_btf/sched_switch (prev_state != RUNNING)', 'Times the backend blocked (I/O, locks, sleep, client)'),
  counter('involuntary_ctx_switches', 'tp_btf/sched_switch (preempted)', 'Times the backend was preempted'),
  counter('cpu_migrations', 'tp_btf/sched_switch', 'Times the backend resumed on a different CPU'),
  c('rows', 'INT64', true, 'rows', 'EState.es_processed at the return of the outermost standard_ExecutorRun', 'Rows returned or affected by the executor; null for statements without an executor run (most utility statements)'),
  bytes('disk_read_bytes', 'task_struct.ioac.read_bytes delta (CO-RE)', 'Bytes the backend caused to be read from block devices (page-cache hits not included)'),
  bytes('disk_write_bytes', 'task_struct.ioac.write_bytes delta (CO-RE)', 'Bytes the backend dirtied in the page cache for writeback to block devices'),
  bytes('read_syscall_bytes', 'task_struct.ioac.rchar delta (CO-RE)', 'Bytes returned by read-family syscalls on any fd (page-cache hits and sockets included)'),
  bytes('write_syscall_bytes', 'task_struct.ioac.wchar delta (CO-RE)', 'Bytes passed to write-family syscalls on any fd'),
  counter('read_syscalls', 'task_struct.ioac.syscr delta (CO-RE)', 'Read-family syscalls'),
  counter('write_syscalls', 'task_struct.ioac.syscw delta (CO-RE)', 'Write-family syscalls'),
  bytes('net_recv_bytes', 'tp_btf/sock_recv_length', 'Bytes received on sockets during the statement (the client connection, TCP or Unix)'),
  bytes('net_send_bytes', 'tp_btf/sock_send_length', 'Bytes sent on sockets from statement start until the backend next reads its socket (includes the final flush and ReadyForQuery)'),
  counter('minor_faults', 'task_struct.min_flt delta (CO-RE)', 'Minor page faults'),
  counter('major_faults', 'task_struct.maj_flt delta (CO-RE)', 'Major page faults'),
  c('xact_lxid', 'INT64', true, '', 'USDT transaction__commit / transaction__abort argument', 'Local transaction id, when the transaction ended with this statement'),
  c('xact_outcome', 'STRING', true, '', 'USDT transaction__commit / transaction__abort', "'commit' or 'abort' when the transaction ended with this statement, else null"),
  c('truncated', 'BOOLEAN', false, '', 'tracepoint sched/sched_process_exit', 'The backend exited before the statement finished'),
];

/** Successful statement executions. */
export const QUERIES_TABLE: TableSpec = { name: 'queries', columns: QUERY_COLUMNS };

/** Executions that ended in an error (pg_stat_statements does not count them): same columns. */
export const QUERY_ERRORS_TABLE: TableSpec = { name: 'query_errors', columns: QUERY_COLUMNS };
