/** Finished plan-node records → rows of `operators`. */
import type { Catalog } from '../../pg/catalog.js';
import { isOwnBackend } from '../../pg/own-backends.js';
import type { MonotonicToWall } from '../../util/clock.js';
import type { TableRows } from '../collector.js';
import type { NodeStatName } from './abi.js';
import { isProbed, operatorRow, relationOids, type OperatorRowContext } from './rows.js';
import type { OperatorSource } from './source.js';
import { OPERATORS_TABLE } from './table.js';

export interface NodeDrainStats {
  drains: number;
  nodesDrained: number;
  /** Nodes whose function was not probed yet when they started (first sight of a node type): rows without labels. */
  unprobed: number;
  kernel: Partial<Record<NodeStatName, bigint>>;
}

export class OperatorDrainer {
  private readonly ctx: OperatorRowContext;
  readonly stats: NodeDrainStats = { drains: 0, nodesDrained: 0, unprobed: 0, kernel: {} };

  constructor(private readonly source: OperatorSource, clock: MonotonicToWall, private readonly catalog: Catalog) {
    this.ctx = { clock, layout: source.layout, features: source.features, relations: catalog.relations };
  }

  async drainOnce(): Promise<TableRows[]> {
    const recs = this.source.drain();
    const kept = recs.filter((r) => !isOwnBackend(r.leader_pid));
    await this.catalog.relations.resolve(relationOids(kept, this.ctx.features));
    const rows = kept.map((r) => operatorRow(r, this.ctx));
    this.stats.nodesDrained += recs.length;
    this.stats.unprobed += kept.filter((r) => !isProbed(r)).length;
    this.stats.kernel = this.source.readStats();
    this.stats.drains++;
    return [{ table: OPERATORS_TABLE, rows }];
  }
}
