/** Moves finished plan-node records from the kernel to <out>/operators/. */
import { ParquetTableWriter } from '../dataset/parquet-writer.js';
import { OPERATORS_TABLE } from '../dataset/tables/operators.js';
import { RelationNames } from '../pg/relation-names.js';
import { ownBackends } from '../pg/own-backends.js';
import type { MonotonicToWall } from './clock.js';
import { isComplete, operatorRow, relationOids, type OperatorRowContext } from './operator-rows.js';
import type { OperatorSource } from './operator-source.js';
import type { OpStatName } from './operator-records.js';
import type { MetricsSink } from '../metrics/sink.js';

export interface OperatorStats {
  nodesDrained: number;
  rowsWritten: number;
  /** Nodes whose function was not probed yet when they started (first sight of a node type). */
  incomplete: number;
  functionsProbed: number;
  slowFunctions: number;
  sampledBackends: number;
  kernel: Partial<Record<OpStatName, bigint>>;
}

export class OperatorDrainer {
  readonly writer: ParquetTableWriter;
  private readonly ctx: OperatorRowContext;
  /** Set by the collection when metrics are exported. */
  sink: MetricsSink | null = null;
  readonly stats: OperatorStats = {
    nodesDrained: 0, rowsWritten: 0, incomplete: 0, functionsProbed: 0, slowFunctions: 0, sampledBackends: 0, kernel: {},
  };

  constructor(private readonly source: OperatorSource, opts: { outDir: string; host: string; conninfo: string; clock: MonotonicToWall }) {
    this.writer = new ParquetTableWriter({ outDir: opts.outDir, table: OPERATORS_TABLE, host: opts.host });
    this.ctx = { clock: opts.clock, layout: source.layout, features: source.features, relations: new RelationNames(opts.conninfo) };
  }

  async drainOnce(): Promise<number> {
    const recs = this.source.drain();
    const complete = recs.filter((r) => isComplete(r) && !ownBackends.has(r.leader_pid));
    await this.ctx.relations.resolve(relationOids(complete, this.ctx.features));
    if (complete.length) {
      const rows = complete.map((r) => operatorRow(r, this.ctx));
      await this.writer.append(rows);
      this.sink?.operators(rows);
    }
    this.stats.nodesDrained += recs.length;
    this.stats.rowsWritten += complete.length;
    this.stats.incomplete += recs.filter((r) => !isComplete(r)).length;
    this.stats.functionsProbed = this.source.sites.size;
    this.stats.slowFunctions = [...this.source.sites.values()].filter((s) => !s.fast).length;
    this.stats.sampledBackends = this.source.targets.filter((p) => p > 0).length;
    this.stats.kernel = this.source.readStats();
    return recs.length;
  }

  /** Takes everything still in the kernel and closes the file (probes stay attached: detaching is slow). */
  async finish(): Promise<void> {
    await this.drainOnce();
    await this.writer.close();
    await this.ctx.relations.close();
  }
}
