/**
 * Finished statement records → rows of `queries` and `query_errors`: one
 * ring buffer consume (no syscall) and a few batch lookup-and-delete
 * syscalls per interval, never an event per statement.
 */
import type { Row } from '../../dataset/schema.js';
import type { Catalog } from '../../pg/catalog.js';
import { ownBackends } from '../../pg/own-backends.js';
import { sharedQueryTexts } from '../../query/text-cache.js';
import type { MonotonicToWall } from '../../util/clock.js';
import type { TableRows } from '../collector.js';
import type { StmtStatName } from './abi.js';
import { isError, statementRow, type RowContext } from './rows.js';
import type { StatementSource, StmtRecord } from './source.js';
import { QUERIES_TABLE, QUERY_ERRORS_TABLE } from './tables.js';
import { QUERY_STATS_TABLE } from './stats-table.js';
import { StatsAggregator } from './stats-aggregator.js';
import { RowSampler, type RowBudget } from './row-sampler.js';

export interface StmtDrainStats {
  drains: number;
  recordsDrained: number;
  textsReceived: number;
  kernel: Partial<Record<StmtStatName, bigint>>;
}

export class StatementDrainer {
  private readonly ctx: RowContext;
  readonly stats: StmtDrainStats = { drains: 0, recordsDrained: 0, textsReceived: 0, kernel: {} };

  private readonly sampler: RowSampler;

  constructor(private readonly source: StatementSource, clock: MonotonicToWall, private readonly catalog: Catalog, budget: RowBudget) {
    this.ctx = { clock, texts: sharedQueryTexts, databases: catalog.databases };
    this.sampler = new RowSampler(budget);
  }

  private readonly aggregator = new StatsAggregator();
  private intervalStart = process.hrtime.bigint();

  /** query_stats for the records drained since the last call (summed in user space: this source hands over all). */
  private statsRows(): TableRows {
    const end = process.hrtime.bigint();
    const rows = this.aggregator.take(this.ctx.clock.toWall(this.intervalStart), this.ctx.clock.toWall(end));
    this.intervalStart = end;
    return { table: QUERY_STATS_TABLE, rows };
  }

  private async rows(all: StmtRecord[]): Promise<TableRows[]> {
    // pgscout's own catalog lookups and warm-up are not the workload.
    const records = all.filter((r) => !ownBackends.has(r.pid));
    await this.catalog.databases.resolve(records.map((r) => r.dbid));
    const ok: Row[] = [];
    const failed: Row[] = [];
    for (const rec of records) (isError(rec) ? failed : ok).push(statementRow(rec, this.ctx));
    for (const row of ok) this.aggregator.add(row);
    for (const row of failed) this.aggregator.addError(row);
    this.stats.recordsDrained += records.length;
    // query_stats saw every execution above; `queries` gets the budget's sample, errors all.
    return [{ table: QUERIES_TABLE, rows: this.sampler.take(ok) }, { table: QUERY_ERRORS_TABLE, rows: failed }];
  }

  async drainOnce(): Promise<TableRows[]> {
    const { records, texts } = this.source.drain();
    for (const t of texts) this.ctx.texts.add(t.queryId, t.text, t.stmtIndex);
    this.stats.textsReceived += texts.length;
    const out = await this.rows(records);
    this.stats.kernel = this.source.readStats();
    this.stats.drains++;
    return [...out, this.statsRows()];
  }

  /** Everything still in the kernel, including statements that ended but were not yet handed over. */
  async finish(): Promise<TableRows[]> {
    const drained = await this.drainOnce();
    const closing = await this.rows(this.source.takeClosing());
    return [...drained, ...closing, this.statsRows()];
  }
}
