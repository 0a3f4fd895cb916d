/**
 * What the observed (pull-time) metrics read from a running collection:
 * cumulative drain stats, Parquet writer stats, probe states, map
 * capacities. Built from the collection's public parts by structure, so the
 * metrics code does not depend on how the collection is assembled.
 */
import type { AttachState } from '../bpf/attacher.js';
import type { WriterStats } from '../dataset/parquet-writer.js';
import type { DrainStats } from '../drain/statement-drainer.js';
import type { OperatorStats } from '../drain/operator-drainer.js';

export interface CollectorView {
  postmasterPid: number;
  statements: () => DrainStats;
  operators: () => OperatorStats | null;
  writers: () => { table: string; stats: WriterStats }[];
  probes: () => readonly AttachState[];
  /** null: statement level (no operator probes). */
  sampledBackends: () => number | 'all' | null;
  capacity: { finished: number; finished_nodes: number | null };
}

interface Writer { stats: WriterStats }

/** The parts of a Collection this reads (structural: collection.ts passes itself). */
export interface ObservedCollection {
  target: { postmasterPid: number };
  source: { attachStates: readonly AttachState[]; finishedCapacity: number };
  drainer: { stats: DrainStats; queries: Writer; errors: Writer };
  operators: {
    source: { targets: number[]; finishedCapacity: number };
    drainer: { stats: OperatorStats; writer: Writer };
    sampler: unknown;
  } | null;
}


export function collectorView(c: ObservedCollection): CollectorView {
  const ops = c.operators;
  return {
    postmasterPid: c.target.postmasterPid,
    statements: () => c.drainer.stats,
    operators: () => ops?.drainer.stats ?? null,
    writers: () => [
      { table: 'queries', stats: c.drainer.queries.stats },
      { table: 'query_errors', stats: c.drainer.errors.stats },
      ...(ops ? [{ table: 'operators', stats: ops.drainer.writer.stats }] : []),
    ],
    probes: () => c.source.attachStates,
    sampledBackends: () => {
      if (!ops) return null;
      if (!ops.sampler) return 'all';
      return ops.source.targets.filter((p) => p > 0).length;
    },
    capacity: { finished: c.source.finishedCapacity, finished_nodes: ops ? ops.source.finishedCapacity : null },
  };
}
