/**
 * What the observed (pull-time) metrics read from a running collection:
 * each collector's stats and each table writer's stats. Built from the
 * collection's public parts by structure, so the metrics code depends on
 * the Collector interface only, never on a particular collector.
 */
import type { CollectorStats } from '../collectors/collector.js';
import type { WriterStats } from '../dataset/parquet-writer.js';

export interface CollectorView {
  /** The current postmaster (a new one after a restart). */
  readonly postmasterPid: number;
  /** Times the collectors were attached again after the postmaster went away. */
  restarts: () => number;
  /** Stats of every running collector. */
  collectors: () => CollectorStats[];
  writers: () => { table: string; stats: WriterStats }[];
}

/** The parts of a Collection this reads (structural: collection.ts passes itself). */
export interface ObservedCollection {
  target: { postmasterPid: number };
  restarts: number;
  collectors: readonly { stats(): CollectorStats }[];
  writers: ReadonlyMap<string, { stats: WriterStats }>;
}

export function collectorView(c: ObservedCollection): CollectorView {
  return {
    get postmasterPid() { return c.target.postmasterPid; },
    restarts: () => c.restarts,
    collectors: () => c.collectors.map((x) => x.stats()),
    writers: () => [...c.writers].map(([table, w]) => ({ table, stats: w.stats })),
  };
}
