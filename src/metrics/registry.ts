/**
 * Every metric pgscout exports, in one table: OpenTelemetry name, kind,
 * unit, attributes, where the value comes from. Instruments are created
 * from it, docs/metrics.md describes it, and the dashboard tests check
 * every PromQL expression against the Prometheus names derived from it.
 *
 * Naming: the OpenTelemetry database conventions define client-side metrics
 * (`db.client.operation.duration`: what an application waited for). pgscout
 * observes the server from the inside (scheduler, executor, kernel I/O
 * accounting), which no semantic convention covers, so its metrics live in
 * their own `pgscout.` namespace (not `postgresql.`, which the Collector's
 * postgresqlreceiver uses for statistics-view metrics). Attributes reuse the
 * conventions wherever they fit: `db.namespace`, `db.operation.name`,
 * `disk.io.direction`, `network.io.direction`, `process.context_switch.type`,
 * `cpu.mode`, `error.type`; pgscout-specific ones are `pgscout.*`. The
 * collector's own process metrics use the standard `process.*` names.
 */
import { HISTOGRAM_BOUNDARIES_S } from '../dataset/histogram.js';
import {
  ATTR_DB_NAMESPACE, ATTR_DB_OPERATION_NAME, ATTR_ERROR_TYPE,
} from '@opentelemetry/semantic-conventions';
import { prometheusSeriesNames, type MetricKind } from './prometheus-names.js';

export const ATTR = {
  dbNamespace: ATTR_DB_NAMESPACE,
  dbOperation: ATTR_DB_OPERATION_NAME,
  errorType: ATTR_ERROR_TYPE,
  // Incubating conventions, spelled out as the semantic-conventions package recommends.
  diskDirection: 'disk.io.direction',
  networkDirection: 'network.io.direction',
  contextSwitchType: 'process.context_switch.type',
  cpuMode: 'cpu.mode',
  nodeType: 'pgscout.node.type',
  probeSite: 'pgscout.probe.site',
  probe: 'pgscout.probe',
  map: 'pgscout.map',
  dropReason: 'pgscout.drop.reason',
  table: 'pgscout.table',
  bpfOperation: 'pgscout.bpf.operation',
  queryId: 'pgscout.query.id',
  fingerprint: 'pgscout.query.fingerprint',
} as const;

/** Statement latencies: powers of two from 2 µs to 8.4 s, the buckets of query_stats (src/dataset/histogram.ts). */
export const STATEMENT_BUCKETS = HISTOGRAM_BOUNDARIES_S;
/** Exclusive time of one plan node: 1 µs … 10 s. */
export const OPERATOR_BUCKETS = [
  0.000001, 0.0000025, 0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
  0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];
/** One drain tick: 0.5 ms … 5 s. */
export const DRAIN_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
export const SYSCALL_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512];

export interface MetricSpec {
  name: string;
  kind: MetricKind;
  /** Synchronous (recorded on the drain path) or observed when a reader collects. */
  observable: boolean;
  unit: string;
  description: string;
  attributes: readonly string[];
  source: string;
  buckets?: readonly number[];
  /** When the metric has data: always unless said here. */
  when?: string;
}

const STMT = [ATTR.dbNamespace, ATTR.dbOperation];

export const METRICS = {
  statementDuration: {
    name: 'pgscout.statement.duration', kind: 'histogram', observable: false, unit: 's', attributes: STMT,
    buckets: STATEMENT_BUCKETS,
    description: 'Elapsed time of top-level statement executions that completed (every call, from the kernel aggregates; values at the middle of their power-of-two bucket)',
    source: 'query_stats.duration_ns',
  },
  statementCpuTime: {
    name: 'pgscout.statement.cpu.time', kind: 'counter', observable: false, unit: 's', attributes: STMT,
    description: 'Time backends were on a CPU while running statements', source: 'query_stats.on_cpu_ns',
  },
  statementOffCpuTime: {
    name: 'pgscout.statement.off_cpu.time', kind: 'counter', observable: false, unit: 's', attributes: STMT,
    description: 'Time backends were switched out (blocked or preempted) while running statements',
    source: 'query_stats.off_cpu_ns',
  },
  statementRunqueueTime: {
    name: 'pgscout.statement.runqueue.time', kind: 'counter', observable: false, unit: 's', attributes: STMT,
    description: 'Part of the off-CPU time backends spent runnable, waiting for a CPU', source: 'query_stats.runq_wait_ns',
  },
  statementRows: {
    name: 'pgscout.statement.rows', kind: 'counter', observable: false, unit: '{row}', attributes: STMT,
    description: 'Rows returned or affected by the executor', source: 'query_stats.rows',
  },
  statementDiskIo: {
    name: 'pgscout.statement.disk.io', kind: 'counter', observable: false, unit: 'By',
    attributes: [...STMT, ATTR.diskDirection],
    description: 'Bytes backends caused to be read from block devices (read) or dirtied for writeback (write)',
    source: 'query_stats.disk_read_bytes, query_stats.disk_write_bytes',
  },
  statementNetworkIo: {
    name: 'pgscout.statement.network.io', kind: 'counter', observable: false, unit: 'By',
    attributes: [...STMT, ATTR.networkDirection],
    description: 'Socket bytes backends received (receive) and sent (transmit) during statements',
    source: 'query_stats.net_recv_bytes, query_stats.net_send_bytes',
  },
  statementErrors: {
    name: 'pgscout.statement.errors', kind: 'counter', observable: false, unit: '{statement}', attributes: STMT,
    description: 'Statement executions that ended in an error (not in calls; the default source: where ends are seen at ReadyForQuery, in the clear)', source: 'query_stats.errors',
  },
  contextSwitches: {
    name: 'pgscout.backend.context_switches', kind: 'counter', observable: false, unit: '{switch}',
    attributes: [ATTR.dbNamespace, ATTR.contextSwitchType],
    description: 'Context switches of backends while running statements (voluntary: blocked; involuntary: preempted)',
    source: 'query_stats.voluntary_ctx_switches, query_stats.involuntary_ctx_switches',
  },
  targetRestarts: {
    name: 'pgscout.target.restarts', kind: 'counter', observable: true, unit: '{restart}', attributes: [],
    description: 'Times the target\'s postmaster went away (restart, crash) and pgscout attached again to the next one',
    source: 'the postmaster pid, checked every 250 ms',
  },
  backends: {
    name: 'pgscout.backend.count', kind: 'gauge', observable: true, unit: '{backend}', attributes: [],
    description: 'Processes of the target postmaster (client backends, parallel workers, auxiliary processes)',
    source: '/proc (children of the postmaster)',
  },
  backendsSampled: {
    name: 'pgscout.backend.sampled', kind: 'gauge', observable: true, unit: '{backend}', attributes: [],
    description: 'Backends whose plan nodes are probed: all of them with --operator-probes 1, the rotating sample otherwise',
    source: 'operator probe targets', when: '--operator-probes',
  },
  backendsInstrumented: {
    name: 'pgscout.backend.instrumented', kind: 'gauge', observable: true, unit: '{backend}', attributes: [],
    description: 'Client backends that load auto_explain (their statements are instrumented, with --sample); sessions older than --setup-instrumentation are not',
    source: '/proc/<pid>/maps of client backends', when: '--level operator',
  },
  operatorDuration: {
    name: 'pgscout.operator.exclusive.duration', kind: 'histogram', observable: false, unit: 's',
    attributes: [ATTR.nodeType], buckets: OPERATOR_BUCKETS,
    description: 'Exclusive time of executed plan node instances (children excluded)',
    source: 'plan_node_stats.excl_ns / timed_calls (each timed call at the mean), operators.excl_ns (rows with loops > 0)', when: '--level operator',
  },
  operatorTuples: {
    name: 'pgscout.operator.tuples', kind: 'counter', observable: false, unit: '{tuple}', attributes: [ATTR.nodeType],
    description: 'Tuples produced by plan nodes, as EXPLAIN ANALYZE counts them', source: 'plan_node_stats.rows, operators.tuples',
    when: '--level operator',
  },
  operatorLoops: {
    name: 'pgscout.operator.loops', kind: 'counter', observable: false, unit: '{loop}', attributes: [ATTR.nodeType],
    description: 'Loops (rescans) of plan nodes', source: 'plan_node_stats.loops, operators.loops', when: '--level operator',
  },
  operatorFunctions: {
    name: 'pgscout.operator.functions', kind: 'gauge', observable: true, unit: '{function}', attributes: [ATTR.probeSite],
    description: 'Per-node executor functions probed so far; slow: the probe site must be single-stepped (~11 µs a call)',
    source: 'CollectorStats.probeSites', when: '--level operator',
  },
  queryTime: {
    name: 'pgscout.query.time', kind: 'counter', observable: true, unit: 's',
    attributes: [ATTR.queryId, ATTR.fingerprint, ATTR.dbOperation],
    description: 'Total elapsed time of the top N query_ids by total time since start',
    source: 'query_stats.duration_ns by query_id', when: '--top-queries N',
  },
  queryCalls: {
    name: 'pgscout.query.calls', kind: 'counter', observable: true, unit: '{call}',
    attributes: [ATTR.queryId, ATTR.fingerprint, ATTR.dbOperation],
    description: 'Executions of the top N query_ids by total time since start',
    source: 'query_stats.calls by query_id', when: '--top-queries N',
  },
  drainDuration: {
    name: 'pgscout.drain.duration', kind: 'histogram', observable: false, unit: 's', attributes: [],
    buckets: DRAIN_BUCKETS,
    description: 'Wall time of one drain tick (kernel maps → rows → Parquet buffers), operators and statements',
    source: 'Collection drain tick',
  },
  drainSyscalls: {
    name: 'pgscout.drain.syscalls', kind: 'histogram', observable: false, unit: '{syscall}', attributes: [],
    buckets: SYSCALL_BUCKETS,
    description: 'bpf() syscalls made by one drain tick', source: 'syscallCounter delta over the tick',
  },
  bpfSyscalls: {
    name: 'pgscout.bpf.syscalls', kind: 'counter', observable: true, unit: '{syscall}', attributes: [ATTR.bpfOperation],
    description: 'Every bpf() syscall the daemon made, by operation', source: 'syscallCounter.byOp',
  },
  drainRecords: {
    name: 'pgscout.drain.records', kind: 'counter', observable: true, unit: '{record}', attributes: [ATTR.map],
    description: 'Records taken out of the kernel maps (finished: statements, finished_nodes: plan nodes)',
    source: 'CollectorStats.maps[].drained',
  },
  mapFill: {
    name: 'pgscout.map.fill', kind: 'gauge', observable: true, unit: '1', attributes: [ATTR.map],
    description: 'Records drained by the last drain divided by the map capacity; at 1 the kernel drops records',
    source: 'records drained per drain / max_entries',
  },
  recordsDropped: {
    name: 'pgscout.records.dropped', kind: 'counter', observable: true, unit: '{record}',
    attributes: [ATTR.map, ATTR.dropReason],
    description: 'Records lost: map or ring buffer full in the kernel, backends not tracked, rows a table writer could not keep (disk_full)',
    source: 'kernel stats maps (stats, op_stats), WriterStats.rowsDropped',
  },
  probeAttached: {
    name: 'pgscout.probe.attached', kind: 'gauge', observable: true, unit: '', attributes: [ATTR.probe],
    description: '1 if the statement collector probe is attached, 0 if it could not be (optional probes only)',
    source: 'StatementSource.attachStates',
  },
  datasetRows: {
    name: 'pgscout.dataset.rows', kind: 'counter', observable: true, unit: '{row}', attributes: [ATTR.table],
    description: 'Rows in completed Parquet files', source: 'ParquetTableWriter.stats.rowsWritten',
  },
  datasetWritten: {
    name: 'pgscout.dataset.written', kind: 'counter', observable: true, unit: 'By', attributes: [ATTR.table],
    description: 'Bytes of completed Parquet files', source: 'ParquetTableWriter.stats.bytesWritten',
  },
  datasetFiles: {
    name: 'pgscout.dataset.files', kind: 'counter', observable: true, unit: '{file}', attributes: [ATTR.table],
    description: 'Completed Parquet files', source: 'ParquetTableWriter.stats.filesWritten',
  },
  errors: {
    name: 'pgscout.errors', kind: 'counter', observable: true, unit: '{error}', attributes: [ATTR.errorType],
    description: 'Collector errors by kind: drain, node_function_discovery, sample_rotation, metrics_export, operator_stack_overflow, operator_return_missed, node_function_not_probed',
    source: 'Collection error paths, OTLP export results, op_stats.stack_overflow/stale_frame, OperatorDrainer.stats.unprobed',
  },
  processCpuTime: {
    name: 'process.cpu.time', kind: 'counter', observable: true, unit: 's', attributes: [ATTR.cpuMode],
    description: 'CPU time of the pgscout process (user, system): its user-space overhead',
    source: 'process.cpuUsage()',
  },
  processMemory: {
    name: 'process.memory.usage', kind: 'updowncounter', observable: true, unit: 'By', attributes: [],
    description: 'Resident memory of the pgscout process', source: 'process.memoryUsage().rss',
  },
} as const satisfies Record<string, MetricSpec>;

export type MetricKey = keyof typeof METRICS;

export const ALL_METRICS: readonly MetricSpec[] = Object.values(METRICS);

/** Series names a Prometheus fed by pgscout holds (plus target_info, the resource). */
export function exportedPrometheusNames(): Set<string> {
  const names = new Set<string>(['target_info']);
  for (const m of ALL_METRICS) for (const n of prometheusSeriesNames(m.name, m.unit, m.kind)) names.add(n);
  return names;
}
