/**
 * The one interface every collector implements. A collector owns its BPF
 * object, maps, records, row building and tables; `Collection` and the
 * metrics code only loop over collectors and read these shapes, so nothing
 * outside a collector's folder names its maps, records or tables.
 *
 * Lifecycle: start (open → rodata → load → attach) → drain() every interval
 * → finish() (the shutdown drain; probes still attached) → detach() → close().
 */
import type { AttachState } from '../bpf/attacher.js';
import type { BpfObject } from '../bpf/object.js';
import type { CollectConfig } from '../config.js';
import type { Row, TableSpec } from '../dataset/schema.js';
import type { ColumnarRows } from '../dataset/column-buffer.js';
import type { Catalog } from '../pg/catalog.js';
import type { Target } from '../pg/target.js';
import type { MonotonicToWall } from '../util/clock.js';

/** Rows for one table, produced by one drain (`R`: Row[] where a drainer only builds objects). */
export interface TableRows<R extends Row[] | ColumnarRows = Row[] | ColumnarRows> { table: TableSpec; rows: R }

/** A kernel map records are drained from: how many so far, and how many it holds. */
export interface MapStats { map: string; drained: number; capacity: number }

/** Records that never reached a table, by map and reason (counted where users look). */
export interface DropCount { map: string; reason: string; count: number }

/** What the metrics, the status line and the summary read from a collector. */
export interface CollectorStats {
  drains: number;
  maps: MapStats[];
  drops: DropCount[];
  probes: readonly AttachState[];
  /** Errors that did not stop collection, by kind (pgscout.errors error.type); zeros included. */
  errors: Record<string, number>;
  /** The collector's kernel-side counters, by its own stat names. */
  kernel: Record<string, bigint>;
  /** Backends probed: null when the collector does not sample backends. */
  sampledBackends: number | 'all' | null;
  /** Functions probed at an emulated (fast) or single-stepped (slow) site; null when none are discovered. */
  probeSites: { fast: number; slow: number } | null;
  /** Client backends with PostgreSQL's instrumentation loaded (auto_explain.so mapped); absent when not asked. */
  instrumentedBackends?: { instrumented: number; clients: number };
  /** The most of them seen at once during the run. */
  instrumentedPeak?: { instrumented: number; clients: number };
}

/** What a collector is given when it starts. */
export interface CollectorContext {
  config: CollectConfig;
  target: Target;
  /** One clock for every collector, so rows of different tables line up. */
  clock: MonotonicToWall;
  catalog: Catalog;
  /** The collectors started before this one, by name (e.g. operators reuse the statements' maps). */
  started: ReadonlyMap<string, Collector>;
}

export interface Collector {
  readonly name: string;
  readonly tables: readonly TableSpec[];
  start(ctx: CollectorContext): Promise<void>;
  /** Takes finished records out of the kernel; never writes files itself. */
  drain(): Promise<TableRows[]>;
  /**
   * Moves first-seen query texts from the kernel into the shared text cache.
   * Called for every collector before any drains: dependents drain first
   * (operators before the statements they join) and their rows need the texts
   * of statements that ended in the same interval.
   */
  ingestTexts?(): void;
  /** The shutdown drain: everything still in the kernel, timers stopped, probes still attached. */
  finish(): Promise<TableRows[]>;
  stats(): CollectorStats;
  /** Stops new events (off the event loop: detaching uprobes is slow); maps stay readable. */
  detach(): Promise<void>;
  close(): void;
  /** One line for the end-of-run summary (works after close). */
  summarize(stats: CollectorStats, rowsByTable: Readonly<Record<string, number>>): string;
  /** The loaded BPF objects (benchmarks read per-program run time and counts from them). */
  objects(): BpfObject[];
  /** fd of a map other collectors may share (statements: threads, perf counters). */
  sharedMapFd?(name: string): number;
  /** Bit i: perf counter i is open in the shared counter maps (statements). */
  sharedCounterMask?(): number;
}

/** Records of `map` that never reached a table for `reason`. */
export function droppedCount(stats: CollectorStats, map: string, reason = 'map_full'): number {
  return stats.drops.find((d) => d.map === map && d.reason === reason)?.count ?? 0;
}

/** Records a collector lost, every map and reason. */
export function totalDropped(stats: CollectorStats): number {
  return stats.drops.reduce((a, d) => a + d.count, 0);
}

/** One line of src/collectors/registry.ts. */
export interface CollectorRegistration {
  name: string;
  /** Whether this configuration runs it. */
  wanted(config: CollectConfig): boolean;
  create(): Collector;
}
