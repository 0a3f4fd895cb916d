/**
 * Default-source drain: the interval's per-query aggregates → `query_stats`,
 * the sampled executions → `queries`. Work grows with distinct queries and
 * the row budget, not with executions.
 */
import type { Catalog } from '../../pg/catalog.js';
import { sharedQueryTexts } from '../../query/text-cache.js';
import type { MonotonicToWall } from '../../util/clock.js';
import type { TableRows } from '../collector.js';
import type { SchedStatName } from './sched-abi.js';
import { sampleColumns } from './sample-columns.js';
import { sampleIds } from './sample-rows.js';
import { aggregateRow, type SchedRowContext } from './sched-rows.js';
import type { SchedStatementSource } from './sched-source.js';
import type { StmtTextEvent } from './source.js';
import { QUERY_STATS_TABLE } from './stats-table.js';
import { QUERIES_TABLE } from './tables.js';

export interface SchedDrainStats {
  drains: number;
  samplesDrained: number;
  aggregatesDrained: number;
  calls: number;
  kernel: Partial<Record<SchedStatName, bigint>>;
}

export class SchedDrainer {
  private readonly ctx: SchedRowContext;
  readonly stats: SchedDrainStats = { drains: 0, samplesDrained: 0, aggregatesDrained: 0, calls: 0, kernel: {} };

  constructor(private readonly source: SchedStatementSource, clock: MonotonicToWall, private readonly catalog: Catalog) {
    this.ctx = { clock, texts: sharedQueryTexts, databases: catalog.databases, users: catalog.users, netRecv: source.netRecv,
      source: source.exact ? 'exact' : 'scheduler', userKnown: true, errors: source.endAtSend };
  }

  /** First-seen texts into the shared cache now, ahead of the next drain. */
  ingestTexts(): void {
    this.addTexts(this.source.takeTexts());
  }

  private addTexts(texts: readonly StmtTextEvent[]): void {
    for (const t of texts) this.ctx.texts.add(t.queryId, t.text, t.stmtIndex);
  }

  /** `final`: the last drain, after detach. */
  async drainOnce(final = false): Promise<TableRows[]> {
    const d = await this.source.drain(final);
    this.addTexts(d.texts);
    const ids = sampleIds(d.samples);
    const dbids = [...d.aggregates.map((a) => a.dbid), ...ids.dbids];
    const userids = [...d.aggregates.map((a) => a.userid), ...ids.userids];
    await this.catalog.databases.resolve(dbids);
    await this.catalog.users.resolve(userids);
    const interval = { startNs: d.intervalStartNs, endNs: d.intervalEndNs };
    const stats = d.aggregates.map((a) => aggregateRow(a, interval, this.ctx));
    const rows = sampleColumns(d.samples, this.ctx);
    this.stats.drains++;
    this.stats.samplesDrained += d.samples.count;
    this.stats.aggregatesDrained += d.aggregates.length;
    for (const a of d.aggregates) this.stats.calls += Number(a.agg.calls as bigint);
    this.stats.kernel = this.source.readStats();
    return [{ table: QUERY_STATS_TABLE, rows: stats }, { table: QUERIES_TABLE, rows }];
  }
}
