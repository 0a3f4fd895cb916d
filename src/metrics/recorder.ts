/**
 * The MetricsSink behind --prometheus / --otlp: turns drained rows into
 * low-cardinality instruments (by database and statement kind, by plan node
 * type) and observes the collector's own state when a reader collects.
 * Counters are summed per batch and attribute set before they reach the
 * SDK, so the cost per row is one histogram record.
 */
import type {
  Attributes, Counter, Histogram, Meter, ObservableCounter, ObservableGauge, ObservableResult, ObservableUpDownCounter,
} from '@opentelemetry/api';
import { syscallCounter } from '../bpf/map.js';
import type { Row, TableSpec } from '../dataset/schema.js';
import { logger } from '../util/log.js';
import { BackendCount } from './backend-count.js';
import type { CollectorView } from './collector-view.js';
import { ATTR, METRICS, type MetricSpec } from './registry.js';
import type { CollectionErrorKind, DrainSample, MetricsSink } from './sink.js';
import { TopQueries } from './top-queries.js';
import { HISTOGRAM_BUCKETS, histogramColumn } from '../dataset/histogram.js';
import type { DurationHistogram } from './duration-histogram.js';

const log = logger('metrics');

const COLLECTION_ERRORS: readonly CollectionErrorKind[] = ['drain', 'metrics_export'];

const BPF_OPERATIONS = ['map_lookup_and_delete_batch', 'map_lookup_elem', 'map_update_elem'];

function num(v: Row[string] | undefined): number {
  if (typeof v === 'bigint') return Number(v);
  return typeof v === 'number' ? v : 0;
}
const seconds = (v: Row[string] | undefined) => num(v) / 1e9;
const str = (v: Row[string] | undefined) => (typeof v === 'string' && v !== '' ? v : null);

interface StmtSums {
  attrs: Attributes;
  cpu: number; offCpu: number; runq: number; rows: number;
  diskRead: number; diskWrite: number; netRecv: number; netSend: number;
  vcsw: number; ivcsw: number; errors: number;
}

interface OpSums { attrs: Attributes; tuples: number; loops: number }

export interface RecorderOptions { topQueries: number; durations: DurationHistogram }

/** Per plan_node_stats row, at most this many histogram records of its mean exclusive time. */
const MAX_MEAN_RECORDS = 1000;

export class MetricsRecorder implements MetricsSink {
  private view: CollectorView | null = null;
  private readonly errorCounts = new Map<string, number>(COLLECTION_ERRORS.map((k) => [k, 0]));
  private readonly top: TopQueries | null;
  private readonly stmtAttrs = new Map<string, Attributes>();
  private readonly opAttrs = new Map<string, Attributes>();
  private backends: BackendCount | null = null;
  /** Records drained per map at the previous drain tick, and the fill of each map over that tick. */
  private readonly lastDrained = new Map<string, number>();
  private fill = new Map<string, number>();
  private warned = false;

  private readonly stmtCpu: Counter;
  private readonly stmtOffCpu: Counter;
  private readonly stmtRunq: Counter;
  private readonly stmtRows: Counter;
  private readonly stmtDisk: Counter;
  private readonly stmtNet: Counter;
  private readonly stmtErrors: Counter;
  private readonly ctxSwitches: Counter;
  private readonly opDuration: Histogram;
  private readonly opTuples: Counter;
  private readonly opLoops: Counter;
  private readonly drainDuration: Histogram;
  private readonly drainSyscalls: Histogram;

  private readonly durations: DurationHistogram;

  constructor(private readonly meter: Meter, opts: RecorderOptions) {
    this.durations = opts.durations;
    this.top = opts.topQueries > 0 ? new TopQueries(opts.topQueries) : null;
    this.stmtCpu = this.counter(METRICS.statementCpuTime);
    this.stmtOffCpu = this.counter(METRICS.statementOffCpuTime);
    this.stmtRunq = this.counter(METRICS.statementRunqueueTime);
    this.stmtRows = this.counter(METRICS.statementRows);
    this.stmtDisk = this.counter(METRICS.statementDiskIo);
    this.stmtNet = this.counter(METRICS.statementNetworkIo);
    this.stmtErrors = this.counter(METRICS.statementErrors);
    this.ctxSwitches = this.counter(METRICS.contextSwitches);
    this.opDuration = this.histogram(METRICS.operatorDuration);
    this.opTuples = this.counter(METRICS.operatorTuples);
    this.opLoops = this.counter(METRICS.operatorLoops);
    this.drainDuration = this.histogram(METRICS.drainDuration);
    this.drainSyscalls = this.histogram(METRICS.drainSyscalls);
    this.observe();
  }

  private histogram(spec: MetricSpec): Histogram {
    return this.meter.createHistogram(spec.name, {
      unit: spec.unit, description: spec.description, advice: { explicitBucketBoundaries: [...spec.buckets!] },
    });
  }

  private counter(spec: MetricSpec): Counter {
    return this.meter.createCounter(spec.name, { unit: spec.unit, description: spec.description });
  }

  /** The collection to observe; pull-time metrics report nothing before this. */
  attach(view: CollectorView): void {
    this.view = view;
    this.backends = new BackendCount(() => view.postmasterPid);
  }

  /** A failure on the metrics path is logged once and never reaches the collection. */
  private guard(what: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      if (!this.warned) log.warn(`metrics: ${what} failed: ${(err as Error).message}`);
      this.warned = true;
    }
  }

  private stmtKey(db: string | null, cmd: string | null): { key: string; attrs: Attributes } {
    const key = `${db ?? ''}\u0000${cmd ?? ''}`;
    let attrs = this.stmtAttrs.get(key);
    if (!attrs) {
      attrs = {};
      if (db) attrs[ATTR.dbNamespace] = db;
      if (cmd) attrs[ATTR.dbOperation] = cmd;
      this.stmtAttrs.set(key, attrs);
    }
    return { key, attrs };
  }

  rows(table: TableSpec, rows: readonly Row[]): void {
    if (table.metrics === 'statement_stats') this.statements(rows);
    else if (table.metrics === 'operators') this.operators(rows);
    else if (table.metrics === 'plan_node_stats') this.planNodeStats(rows);
  }

  /** Per-query aggregates (query_stats rows): exact whether or not executions are sampled. */
  private statements(stats: readonly Row[]): void {
    this.guard('statement metrics', () => {
      const sums = new Map<string, StmtSums>();
      const sumsFor = (row: Row) => {
        const { key, attrs } = this.stmtKey(str(row.database), str(row.command));
        let s = sums.get(key);
        if (!s) {
          s = { attrs, cpu: 0, offCpu: 0, runq: 0, rows: 0, diskRead: 0, diskWrite: 0, netRecv: 0, netSend: 0, vcsw: 0, ivcsw: 0, errors: 0 };
          sums.set(key, s);
        }
        return s;
      };
      for (const row of stats) {
        const s = sumsFor(row);
        const calls = num(row.calls);
        this.recordDurations(this.stmtKey(str(row.database), str(row.command)).key, row, s.attrs);
        s.cpu += seconds(row.on_cpu_ns);
        s.offCpu += seconds(row.off_cpu_ns);
        s.runq += seconds(row.runq_wait_ns);
        s.rows += num(row.rows);
        s.diskRead += num(row.disk_read_bytes);
        s.diskWrite += num(row.disk_write_bytes);
        s.netRecv += num(row.net_recv_bytes);
        s.netSend += num(row.net_send_bytes);
        s.vcsw += num(row.voluntary_ctx_switches);
        s.ivcsw += num(row.involuntary_ctx_switches);
        s.errors += num(row.errors);
        if (this.top && calls > 0 && row.query_id !== null && row.query_id !== undefined) {
          this.top.add(String(row.query_id), str(row.fingerprint), str(row.command), seconds(row.duration_ns), calls);
        }
      }
      for (const s of sums.values()) {
        const a = s.attrs;
        if (s.cpu) this.stmtCpu.add(s.cpu, a);
        if (s.offCpu) this.stmtOffCpu.add(s.offCpu, a);
        if (s.runq) this.stmtRunq.add(s.runq, a);
        this.stmtRows.add(s.rows, a);
        this.stmtDisk.add(s.diskRead, { ...a, [ATTR.diskDirection]: 'read' });
        this.stmtDisk.add(s.diskWrite, { ...a, [ATTR.diskDirection]: 'write' });
        this.stmtNet.add(s.netRecv, { ...a, [ATTR.networkDirection]: 'receive' });
        this.stmtNet.add(s.netSend, { ...a, [ATTR.networkDirection]: 'transmit' });
        const db = a[ATTR.dbNamespace];
        const ctx = db === undefined ? {} : { [ATTR.dbNamespace]: db };
        this.ctxSwitches.add(s.vcsw, { ...ctx, [ATTR.contextSwitchType]: 'voluntary' });
        this.ctxSwitches.add(s.ivcsw, { ...ctx, [ATTR.contextSwitchType]: 'involuntary' });
        this.stmtErrors.add(s.errors, a);
      }
    });
  }

  /** The duration histogram from the row's power-of-two buckets, with the exact sum, min and max. */
  private recordDurations(key: string, row: Row, attrs: Attributes): void {
    const buckets = Array.from({ length: HISTOGRAM_BUCKETS }, (_, i) => num(row[histogramColumn(i)]));
    this.durations.add(key, attrs, buckets, seconds(row.duration_ns), seconds(row.min_duration_ns), seconds(row.max_duration_ns));
  }

  private operators(rows: readonly Row[]): void {
    this.guard('operator metrics', () => {
      const sums = new Map<string, OpSums>();
      for (const row of rows) {
        const type = str(row.node_type) ?? 'unknown';
        let s = sums.get(type);
        if (!s) {
          let attrs = this.opAttrs.get(type);
          if (!attrs) this.opAttrs.set(type, (attrs = { [ATTR.nodeType]: type }));
          s = { attrs, tuples: 0, loops: 0 };
          sums.set(type, s);
        }
        const loops = num(row.loops);
        if (loops > 0) this.opDuration.record(seconds(row.excl_ns), s.attrs);
        s.tuples += num(row.tuples);
        s.loops += loops;
      }
      for (const s of sums.values()) {
        this.opTuples.add(s.tuples, s.attrs);
        this.opLoops.add(s.loops, s.attrs);
      }
    });
  }

  /**
   * The instrumented source's per-node sums (exact while rows are sampled).
   * Exclusive time is known as a sum over the timed calls: each counts once
   * at the mean (bounded per row, so a hot node cannot stall a drain).
   */
  private planNodeStats(rows: readonly Row[]): void {
    this.guard('operator metrics', () => {
      for (const row of rows) {
        const type = str(row.node_type) ?? 'unknown';
        let attrs = this.opAttrs.get(type);
        if (!attrs) this.opAttrs.set(type, (attrs = { [ATTR.nodeType]: type }));
        this.opTuples.add(num(row.rows), attrs);
        this.opLoops.add(num(row.loops), attrs);
        const timed = num(row.timed_calls);
        if (timed > 0 && row.excl_ns !== null) {
          const mean = seconds(row.excl_ns) / timed;
          for (let i = 0; i < Math.min(timed, MAX_MEAN_RECORDS); i++) this.opDuration.record(mean, attrs);
        }
      }
    });
  }

  drain(sample: DrainSample): void {
    this.guard('drain metrics', () => {
      if (sample.seconds !== null) {
        this.drainDuration.record(sample.seconds);
        this.drainSyscalls.record(sample.syscalls);
      }
      const v = this.view;
      if (!v) return;
      const fill = new Map<string, number>();
      for (const m of v.collectors().flatMap((c) => c.maps)) {
        fill.set(m.map, (m.drained - (this.lastDrained.get(m.map) ?? 0)) / m.capacity);
        this.lastDrained.set(m.map, m.drained);
      }
      this.fill = fill;
    });
  }

  error(kind: CollectionErrorKind): void {
    this.errorCounts.set(kind, (this.errorCounts.get(kind) ?? 0) + 1);
  }

  private observable(spec: MetricSpec, report: (r: ObservableResult, v: CollectorView) => void): void {
    const opts = { unit: spec.unit, description: spec.description };
    let inst: ObservableCounter | ObservableGauge | ObservableUpDownCounter;
    if (spec.kind === 'counter') inst = this.meter.createObservableCounter(spec.name, opts);
    else if (spec.kind === 'updowncounter') inst = this.meter.createObservableUpDownCounter(spec.name, opts);
    else inst = this.meter.createObservableGauge(spec.name, opts);
    inst.addCallback((r) => {
      const v = this.view;
      if (v) this.guard(spec.name, () => report(r, v));
    });
  }

  private observe(): void {
    this.observable(METRICS.backends, (r) => r.observe(this.backends!.get()));
    this.observable(METRICS.targetRestarts, (r, v) => r.observe(v.restarts()));
    this.observable(METRICS.backendsSampled, (r, v) => {
      for (const c of v.collectors()) {
        if (c.sampledBackends !== null) r.observe(c.sampledBackends === 'all' ? this.backends!.get() : c.sampledBackends);
      }
    });
    this.observable(METRICS.backendsInstrumented, (r, v) => {
      for (const c of v.collectors()) if (c.instrumentedBackends) r.observe(c.instrumentedBackends.instrumented);
    });
    this.observable(METRICS.operatorFunctions, (r, v) => {
      for (const c of v.collectors()) {
        if (!c.probeSites) continue;
        r.observe(c.probeSites.fast, { [ATTR.probeSite]: 'fast' });
        r.observe(c.probeSites.slow, { [ATTR.probeSite]: 'slow' });
      }
    });
    if (this.top) {
      const top = this.top;
      const attrs = (t: { queryId: string; fingerprint: string; command: string | null }) => ({
        [ATTR.queryId]: t.queryId, [ATTR.fingerprint]: t.fingerprint, ...(t.command ? { [ATTR.dbOperation]: t.command } : {}),
      });
      this.observable(METRICS.queryTime, (r) => { for (const t of top.current()) r.observe(t.seconds, attrs(t)); });
      this.observable(METRICS.queryCalls, (r) => { for (const t of top.current()) r.observe(t.calls, attrs(t)); });
    }
    this.observable(METRICS.bpfSyscalls, (r) => {
      // The drain's operations are always reported (0 before the first), others once they happen.
      const ops = new Map<string, number>(BPF_OPERATIONS.map((op) => [op, 0]));
      for (const [op, n] of syscallCounter.byOp) ops.set(op, n);
      for (const [op, n] of ops) r.observe(n, { [ATTR.bpfOperation]: op });
    });
    this.observable(METRICS.drainRecords, (r, v) => {
      for (const m of v.collectors().flatMap((c) => c.maps)) r.observe(m.drained, { [ATTR.map]: m.map });
    });
    this.observable(METRICS.mapFill, (r, v) => {
      for (const m of v.collectors().flatMap((c) => c.maps)) r.observe(this.fill.get(m.map) ?? 0, { [ATTR.map]: m.map });
    });
    this.observable(METRICS.recordsDropped, (r, v) => {
      for (const d of v.collectors().flatMap((c) => c.drops)) r.observe(d.count, { [ATTR.map]: d.map, [ATTR.dropReason]: d.reason });
      // Rows a table's writer could not keep (the disk full or refusing writes longer than its backlog lasted).
      for (const w of v.writers()) r.observe(w.stats.rowsDropped, { [ATTR.map]: w.table, [ATTR.dropReason]: 'disk_full' });
    });
    this.observable(METRICS.probeAttached, (r, v) => {
      for (const p of v.collectors().flatMap((c) => c.probes)) r.observe(p.attached ? 1 : 0, { [ATTR.probe]: p.probe });
    });
    this.observable(METRICS.datasetRows, (r, v) => {
      for (const w of v.writers()) r.observe(w.stats.rowsWritten, { [ATTR.table]: w.table });
    });
    this.observable(METRICS.datasetWritten, (r, v) => {
      for (const w of v.writers()) r.observe(w.stats.bytesWritten, { [ATTR.table]: w.table });
    });
    this.observable(METRICS.datasetFiles, (r, v) => {
      for (const w of v.writers()) r.observe(w.stats.filesWritten, { [ATTR.table]: w.table });
    });
    this.observable(METRICS.errors, (r, v) => {
      const counts = new Map(this.errorCounts);
      for (const c of v.collectors()) for (const [kind, n] of Object.entries(c.errors)) counts.set(kind, (counts.get(kind) ?? 0) + n);
      for (const [kind, n] of counts) r.observe(n, { [ATTR.errorType]: kind });
    });
    this.observable(METRICS.processCpuTime, (r) => {
      const u = process.cpuUsage();
      r.observe(u.user / 1e6, { [ATTR.cpuMode]: 'user' });
      r.observe(u.system / 1e6, { [ATTR.cpuMode]: 'system' });
    });
    this.observable(METRICS.processMemory, (r) => r.observe(process.memoryUsage.rss()));
  }
}
