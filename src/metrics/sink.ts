/**
 * What the collection path knows about metrics: a sink it hands rows and
 * drain timings to. With no metrics configured the collection holds no sink
 * at all. Every method must never throw.
 */
import type { Row, TableSpec } from '../dataset/schema.js';

export interface DrainSample {
  /** Wall time of the whole drain tick (every collector); null for the shutdown drain. */
  seconds: number | null;
  /** bpf() syscalls made during the tick. */
  syscalls: number;
}

/** Errors of the collection itself (collectors report their own in CollectorStats.errors). */
export type CollectionErrorKind = 'drain' | 'metrics_export';

export interface MetricsSink {
  /** Rows of one drain batch for one table; the table's `metrics` role says which metrics they feed. */
  rows(table: TableSpec, rows: readonly Row[]): void;
  /** Called after every drain tick (and once after the shutdown drain). */
  drain(sample: DrainSample): void;
  error(kind: CollectionErrorKind): void;
}
