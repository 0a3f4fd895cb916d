/**
 * What the collection path knows about metrics: a sink it hands rows and
 * drain timings to. Drainers hold `sink: MetricsSink | null`; with no
 * metrics configured the only cost is a null check per batch. Every method
 * must never throw.
 */
import type { Row } from '../dataset/schema.js';

export interface DrainSample {
  /** Wall time of the whole drain tick (operators + statements); null for the shutdown drain. */
  seconds: number | null;
  /** bpf() syscalls made during the tick. */
  syscalls: number;
}

/** Kinds of collector errors counted by `pgscout.errors` (error.type). */
export type CollectorErrorKind = 'drain' | 'node_function_discovery' | 'sample_rotation' | 'metrics_export';

export interface MetricsSink {
  /** Rows of one drain batch: `ok` went to `queries`, `failed` to `query_errors`. */
  statements(ok: readonly Row[], failed: readonly Row[]): void;
  /** Rows written to `operators` in one drain batch. */
  operators(rows: readonly Row[]): void;
  /** Called after every drain tick (and once after the shutdown drain). */
  drain(sample: DrainSample): void;
  error(kind: CollectorErrorKind): void;
}
