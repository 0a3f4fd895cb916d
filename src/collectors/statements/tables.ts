/**
 * The statement table: one row per top-level statement execution.
 * docs/dataset.md is checked against this list by test/dataset/dataset-doc.test.ts.
 */
import { column, type ColumnSpec, type TableSpec } from '../../dataset/schema.js';

const c = column;

const ns = (name: string, source: string, description: string) => c(name, 'INT64', false, 'ns', source, description);
/** Seen by the trap-based source only (--phases, --cpu-clock, --operator-probes): null in rows of the scheduler-based one (default, --exact). */
const exactNs = (name: string, source: string, description: string) => c(name, 'INT64', true, 'ns', source, `${description}; null without the trap-based source (--phases)`);
const counter = (name: string, source: string, description: string) => c(name, 'INT64', false, 'count', source, description);
const bytes = (name: string, source: string, description: string) => c(name, 'INT64', false, 'bytes', source, description);
const hw = (name: string, description: string) =>
  c(name, 'INT64', true, 'count', 'perf_event hardware counter, bpf_perf_event_read_value at sched_switch (per task)', `${description}; null when the kernel exposes no hardware counters`);

/** pg_stat_statements' buffer and WAL columns, from the backend's own pgBufferUsage/pgWalUsage. */
const usage = (name: string, unit: string, what: string) =>
  c(name, 'INT64', true, unit, `delta of the backend's ${name.startsWith('wal_') ? 'pgWalUsage' : 'pgBufferUsage'}.${name} (read in BPF)`, `${what}, as pg_stat_statements counts it`);

export const USAGE_COLUMNS: readonly ColumnSpec[] = [
  usage('shared_blks_hit', 'blocks', 'Shared buffer hits'),
  usage('shared_blks_read', 'blocks', 'Shared blocks read'),
  usage('shared_blks_dirtied', 'blocks', 'Shared blocks dirtied'),
  usage('shared_blks_written', 'blocks', 'Shared blocks written'),
  usage('local_blks_hit', 'blocks', 'Local buffer hits'),
  usage('local_blks_read', 'blocks', 'Local blocks read'),
  usage('local_blks_dirtied', 'blocks', 'Local blocks dirtied'),
  usage('local_blks_written', 'blocks', 'Local blocks written'),
  usage('temp_blks_read', 'blocks', 'Temp blocks read'),
  usage('temp_blks_written', 'blocks', 'Temp blocks written'),
  usage('wal_records', 'records', 'WAL records generated'),
  usage('wal_fpi', 'records', 'WAL full page images generated'),
  usage('wal_bytes', 'bytes', 'WAL bytes generated'),
];

export const QUERY_COLUMNS: readonly ColumnSpec[] = [
  c('exec_id', 'INT64', false, '', 'pid << 32 | per-backend sequence', 'Statement execution id; unique per (host, pid) within one collector run; joins operator rows to their statement'),
  c('query_id', 'INT64', true, '', 'pgstat_report_query_id (uprobe), last report before the top-level PortalRun', "PostgreSQL's queryid (signed, as pg_stat_statements shows it); null when compute_query_id is off"),
  c('fingerprint', 'STRING', true, '', 'libpg-query fingerprint of the statement text', 'Parse-tree fingerprint (16 hex digits), constant-insensitive; null when the text was not captured or did not parse'),
  c('query_text', 'STRING', true, '', 'debug_query_string read at query__execute__start, normalized by libpg-query', 'Normalized statement text: every constant replaced by $n, comments removed; null when unavailable'),
  c('command', 'STRING', true, '', 'libpg-query parse tree', 'SELECT, INSERT, UPDATE, DELETE, MERGE or UTILITY'),
  c('database', 'STRING', true, '', 'MyDatabaseId read at statement start, name from pg_database', 'Database the backend is connected to'),
  c('pid', 'INT32', false, '', 'bpf_get_current_pid_tgid', 'Backend process id'),
  c('protocol', 'STRING', true, '', 'query__start seen or not', "'simple' (Query message) or 'extended' (Parse/Bind/Execute); null without the trap-based source (--phases)"),
  c('stmt_index', 'INT32', true, '', 'count of top-level statements within one query string', 'Position of the statement in a multi-statement simple query (0 otherwise)'),
  c('start_ns', 'INT64', false, 'ns since Unix epoch', 'default and --exact: the wake-up that read the request (sched_switch), or the end of the previous execution of the same round trip (--exact); trap-based source: top-level query__execute__start, with --phases query__start (simple) or the first parse/plan/execute probe (extended)', 'Statement start, CLOCK_MONOTONIC converted to wall clock with an offset measured at collector start'),
  c('end_ns', 'INT64', false, 'ns since Unix epoch', 'default: the ReadyForQuery send (sock_send_length); --exact: that send for the last execution of a round trip, query__execute__done for an earlier one; trap-based source: top-level query__execute__done, with --phases query__done (simple)', 'Statement end'),
  ns('duration_ns', 'end_ns - start_ns', 'Elapsed time of the statement'),
  exactNs('parse_ns', 'query__parse__start/done', 'Time in the raw parser (top level only)'),
  exactNs('plan_ns', 'query__plan__start/done', 'Time in the planner (top level only; 0 for a cached generic plan)'),
  exactNs('execute_ns', 'query__execute__start/done (PortalRun)', 'Time in the top-level PortalRun'),
  exactNs('executor_ns', 'uprobe/uretprobe standard_ExecutorRun', 'Time in the outermost ExecutorRun calls'),
  ns('on_cpu_ns', 'tp_btf/sched_switch', 'Time the backend was on a CPU during the statement'),
  ns('off_cpu_ns', 'tp_btf/sched_switch', 'Time the backend was switched out during the statement (on_cpu_ns + off_cpu_ns = duration_ns)'),
  ns('runq_wait_ns', 'tp_btf/sched_switch (switched out while runnable)', 'Part of off_cpu_ns spent preempted, waiting for a CPU'),
  c('cpu_clock_ns', 'INT64', true, 'ns', 'software cpu-clock perf counter, bpf_perf_event_read_value, virtualized at sched_switch', 'CPU time counted by the per-CPU cpu-clock event while this task ran; null unless --cpu-clock (it equals on_cpu_ns)'),
  hw('cycles', 'CPU cycles'),
  hw('instructions', 'Instructions retired'),
  hw('cache_references', 'Last-level cache references'),
  hw('cache_misses', 'Last-level cache misses'),
  hw('ref_cycles', 'Reference cycles (not scaled by frequency)'),
  counter('voluntary_ctx_switches', 'tp_btf/sched_switch (prev_state != RUNNING)', 'Times the backend blocked (I/O, locks, sleep, client)'),
  counter('involuntary_ctx_switches', 'tp_btf/sched_switch (preempted)', 'Times the backend was preempted'),
  c('cpu_migrations', 'INT64', true, 'count', 'tp_btf/sched_switch', 'Times the backend resumed on a different CPU; null without the trap-based source (--phases)'),
  c('rows', 'INT64', true, 'rows', 'EState.es_processed at the return of the outermost standard_ExecutorRun', 'Rows returned or affected by the executor; null for statements without an executor run (most utility statements)'),
  bytes('disk_read_bytes', 'task_struct.ioac.read_bytes delta (CO-RE)', 'Bytes the backend caused to be read from block devices (page-cache hits not included)'),
  bytes('disk_write_bytes', 'task_struct.ioac.write_bytes delta (CO-RE)', 'Bytes the backend dirtied in the page cache for writeback to block devices'),
  bytes('read_syscall_bytes', 'task_struct.ioac.rchar delta (CO-RE)', 'Bytes returned by read-family syscalls on any fd (page-cache hits and sockets included)'),
  bytes('write_syscall_bytes', 'task_struct.ioac.wchar delta (CO-RE)', 'Bytes passed to write-family syscalls on any fd'),
  counter('read_syscalls', 'task_struct.ioac.syscr delta (CO-RE)', 'Read-family syscalls'),
  counter('write_syscalls', 'task_struct.ioac.syscw delta (CO-RE)', 'Write-family syscalls'),
  c('net_recv_bytes', 'INT64', true, 'bytes', 'tp_btf/sock_recv_length', 'Bytes received on sockets during the statement (the client connection, TCP or Unix); null in the default source unless --net-recv'),
  bytes('net_send_bytes', 'tp_btf/sock_send_length', 'Bytes sent on sockets from statement start until the backend next reads its socket (includes the final flush and ReadyForQuery)'),
  counter('minor_faults', 'task_struct.min_flt delta (CO-RE)', 'Minor page faults'),
  counter('major_faults', 'task_struct.maj_flt delta (CO-RE)', 'Major page faults'),
  c('xact_lxid', 'INT64', true, '', 'USDT transaction__commit / transaction__abort argument', 'Local transaction id, when the transaction ended with this statement'),
  c('xact_outcome', 'STRING', true, '', 'USDT transaction__commit / transaction__abort', "'commit' or 'abort' when the transaction ended with this statement, else null"),
  c('truncated', 'BOOLEAN', false, '', 'tp_btf/sched_process_exit; default source: backend first seen mid-statement', 'The times cover only part of the statement (the backend exited, or was first seen, while it ran)'),
  c('aborted', 'BOOLEAN', false, '', 'tp_btf/sched_process_exit while the statement ran (trap-based source; always false from the scheduler-based one)', 'The backend died inside the statement (pg_terminate_backend, crash, restart): a query_errors row, never counted in calls'),
  c('source', 'STRING', false, '', 'collect mode', "'scheduler' (default: statements seen at the backend's ReadyForQuery, no trap) or 'exact' (--exact: every execution counted at the end of its top-level PortalRun; also --phases and --operator-probes: query lifecycle probes)"),
  c('sample_weight', 'DOUBLE', false, '', '1 / probability the row was kept with (chosen in BPF from the row budget and the execution rate, both sources)', 'Executions this row stands for: 1 for kept-because-slow and --statement-rows all; reweight aggregates with it'),
  c('user', 'STRING', true, '', 'PgBackendStatus.st_userid, name from pg_roles', 'Role the backend runs as; null unless the default source'),
  c('coalesced', 'INT32', true, '', 'CommandComplete messages of the round trip\'s reply beyond the one counted (read only when the status slot\'s writes fit no single statement); PGPROC.lxid advance where ends are seen at switch-outs', 'Further statements that ended in the same round trip (pipelined, multi-statement string) and are not calls of their own; null with --exact'),
  ...USAGE_COLUMNS,
];

/** Successful statement executions. */
export const QUERIES_TABLE: TableSpec = { name: 'queries', columns: QUERY_COLUMNS };

/** Executions that ended in an error (pg_stat_statements does not count them): same columns. */
export const QUERY_ERRORS_TABLE: TableSpec = { name: 'query_errors', columns: QUERY_COLUMNS };
