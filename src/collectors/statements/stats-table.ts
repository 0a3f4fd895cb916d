/**
 * The per-query aggregate table: one row per (interval, query_id, database,
 * user) with calls, sums of every numeric label of `queries`, min/max/sum of
 * squares of the duration and a log-scale latency histogram. The default
 * source sums in the kernel; the trap-based one sums its (complete) rows in user space.
 * docs/dataset.md is checked against this list by test/dataset/dataset-doc.test.ts.
 */
import { column, type ColumnSpec, type TableSpec } from '../../dataset/schema.js';
import { histogramColumn, histogramLowerUs } from '../../dataset/histogram.js';
import { STMT_NHIST } from './sched-abi.js';
import { USAGE_COLUMNS } from './tables.js';

const c = column;
const sum = (name: string, unit: string, what: string) => c(name, 'INT64', false, unit, `sum of queries.${name}`, `${what}, summed over the calls`);

export const HISTOGRAM_COLUMNS: readonly ColumnSpec[] = Array.from({ length: STMT_NHIST }, (_, i) => {
  const upper = i === STMT_NHIST - 1 ? '∞' : `${2 ** (i + 1)} µs`;
  return c(histogramColumn(i), 'INT64', false, 'calls', 'log2 of the duration in µs',
    `Calls with duration in [${histogramLowerUs(i)} µs, ${upper})`);
});

export const QUERY_STATS_COLUMNS: readonly ColumnSpec[] = [
  c('interval_start', 'INT64', false, 'ns since Unix epoch', 'drain interval', 'Start of the interval these calls ended in'),
  c('interval_end', 'INT64', false, 'ns since Unix epoch', 'drain interval', 'End of the interval (exclusive)'),
  c('query_id', 'INT64', true, '', 'PgBackendStatus.st_query_id at statement end (default) / at the end of the top-level PortalRun (--exact) / as queries.query_id (trap-based source)', "PostgreSQL's queryid, as pg_stat_statements shows it"),
  c('fingerprint', 'STRING', true, '', 'libpg-query fingerprint', 'Parse-tree fingerprint of the normalized text'),
  c('query_text', 'STRING', true, '', 'normalized by libpg-query', 'Normalized statement text (no literals)'),
  c('command', 'STRING', true, '', 'libpg-query parse tree', 'SELECT, INSERT, UPDATE, DELETE, MERGE or UTILITY'),
  c('database', 'STRING', true, '', 'PgBackendStatus.st_databaseid, name from pg_database', 'Database'),
  c('user', 'STRING', true, '', 'PgBackendStatus.st_userid, name from pg_roles', 'Role; null with the trap-based source (--phases, --cpu-clock, --operator-probes)'),
  c('toplevel', 'BOOLEAN', false, '', 'pgscout counts top-level statements only', 'Always true (as pg_stat_statements.toplevel with track = top)'),
  c('source', 'STRING', false, '', 'collect mode', "'scheduler' (default) or 'exact' (--exact, --phases, --operator-probes)"),
  c('calls', 'INT64', false, 'calls', 'statement ends seen', 'Executions that ended in the interval (pg_stat_statements.calls)'),
  c('coalesced', 'INT64', true, 'calls', 'CommandComplete messages beyond the one counted in round trips whose status-slot writes fit no single statement; PGPROC.lxid advance where ends are seen at switch-outs', 'Further statements that shared a round trip with a call of this key (pipelined, multi-statement string), not in calls; null with --exact'),
  c('errors', 'INT64', true, 'calls', 'default and --exact: the transaction left aborted, or the reply (ReadyForQuery sent alone after an ErrorResponse); query_errors rows (trap-based source)', 'Executions that ended in an error (not in calls, as pg_stat_statements leaves them out); null in the default source on kernels without sock_send_length (ends seen at switch-outs) and over TLS/GSS-encrypted connections counted as calls'),
  sum('duration_ns', 'ns', 'Elapsed time'),
  c('min_duration_ns', 'INT64', false, 'ns', 'min of queries.duration_ns', 'Fastest call'),
  c('max_duration_ns', 'INT64', false, 'ns', 'max of queries.duration_ns', 'Slowest call'),
  c('sumsq_duration_us2', 'DOUBLE', false, 'µs²', 'sum of squared durations in µs', 'For the standard deviation: sqrt(sumsq/calls - (duration_ns/1000/calls)²)'),
  sum('on_cpu_ns', 'ns', 'On-CPU time'),
  sum('off_cpu_ns', 'ns', 'Off-CPU time'),
  sum('runq_wait_ns', 'ns', 'Run-queue wait'),
  c('rows', 'INT64', true, 'rows', 'sum of queries.rows (trap-based source)', 'Rows returned or affected; null in the scheduler-based source (default, --exact)'),
  sum('voluntary_ctx_switches', 'count', 'Voluntary context switches'),
  sum('involuntary_ctx_switches', 'count', 'Involuntary context switches'),
  sum('minor_faults', 'count', 'Minor page faults'),
  sum('major_faults', 'count', 'Major page faults'),
  sum('disk_read_bytes', 'bytes', 'Block-device reads caused'),
  sum('disk_write_bytes', 'bytes', 'Bytes dirtied for writeback'),
  sum('read_syscall_bytes', 'bytes', 'Bytes of read-family syscalls'),
  sum('write_syscall_bytes', 'bytes', 'Bytes of write-family syscalls'),
  sum('read_syscalls', 'count', 'Read-family syscalls'),
  sum('write_syscalls', 'count', 'Write-family syscalls'),
  c('net_recv_bytes', 'INT64', true, 'bytes', 'sum of queries.net_recv_bytes', 'Socket bytes received, summed over the calls; null in the default source unless --net-recv'),
  sum('net_send_bytes', 'bytes', 'Socket bytes sent'),
  ...USAGE_COLUMNS.map((u) => ({ ...u, description: `${u.description}, summed` })),
  ...HISTOGRAM_COLUMNS,
];

export const QUERY_STATS_TABLE: TableSpec = { name: 'query_stats', columns: QUERY_STATS_COLUMNS, metrics: 'statement_stats' };
