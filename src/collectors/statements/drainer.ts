/**
 * --exact drain: the interval's per-query aggregates (every execution,
 * summed in the kernel) → `query_stats`; the sampled, slow and failed
 * executions the kernel kept → `queries` and `query_errors`. One ring buffer
 * consume (no syscall) and a few batch lookup-and-delete syscalls per
 * interval, never an event per statement.
 */
import type { Row } from '../../dataset/schema.js';
import type { Catalog } from '../../pg/catalog.js';
import { isOwnBackend } from '../../pg/own-backends.js';
import { sharedQueryTexts } from '../../query/text-cache.js';
import type { MonotonicToWall } from '../../util/clock.js';
import type { TableRows } from '../collector.js';
import type { StmtStatName } from './abi.js';
import { isError, statementRow, type RowContext } from './rows.js';
import { aggregateRow, type SchedRowContext } from './sched-rows.js';
import type { StatementSource, StmtRecord, StmtTextEvent } from './source.js';
import { QUERIES_TABLE, QUERY_ERRORS_TABLE } from './tables.js';
import { QUERY_STATS_TABLE } from './stats-table.js';
import { StatsAggregator } from './stats-aggregator.js';

export interface StmtDrainStats {
  drains: number;
  recordsDrained: number;
  aggregatesDrained: number;
  textsReceived: number;
  kernel: Partial<Record<StmtStatName, bigint>>;
}

export class StatementDrainer {
  private readonly ctx: RowContext;
  private readonly aggCtx: SchedRowContext;
  readonly stats: StmtDrainStats = { drains: 0, recordsDrained: 0, aggregatesDrained: 0, textsReceived: 0, kernel: {} };

  constructor(private readonly source: StatementSource, clock: MonotonicToWall, private readonly catalog: Catalog) {
    this.ctx = { clock, texts: sharedQueryTexts, databases: catalog.databases };
    this.aggCtx = { clock, texts: sharedQueryTexts, databases: catalog.databases, users: catalog.users, netRecv: true, source: 'exact', userKnown: false, errors: true };
  }

  private async rows(all: StmtRecord[]): Promise<TableRows<Row[]>[]> {
    // pgscout's own catalog lookups and warm-up are not the workload (the kernel leaves out those it knows).
    const records = all.filter((r) => !isOwnBackend(r.pid));
    await this.catalog.databases.resolve(records.map((r) => r.dbid));
    const ok: Row[] = [];
    const failed: Row[] = [];
    for (const rec of records) (isError(rec) ? failed : ok).push(statementRow(rec, this.ctx));
    this.stats.recordsDrained += records.length;
    return [{ table: QUERIES_TABLE, rows: ok }, { table: QUERY_ERRORS_TABLE, rows: failed }];
  }

  /** First-seen texts into the shared cache now, ahead of the next drain. */
  ingestTexts(): void {
    this.addTexts(this.source.takeTexts());
  }

  private addTexts(texts: readonly StmtTextEvent[]): void {
    for (const t of texts) this.ctx.texts.add(t.queryId, t.text, t.stmtIndex);
    this.stats.textsReceived += texts.length;
  }

  async drainOnce(final = false): Promise<TableRows[]> {
    const d = await this.source.drain(final);
    this.addTexts(d.texts);
    await this.catalog.databases.resolve(d.aggregates.map((a) => a.dbid));
    const interval = { startNs: d.intervalStartNs, endNs: d.intervalEndNs };
    const stats = d.aggregates.map((a) => aggregateRow(a, interval, this.aggCtx));
    this.stats.aggregatesDrained += d.aggregates.length;
    const out = await this.rows(d.records);
    this.stats.kernel = this.source.readStats();
    this.stats.drains++;
    return [...out, { table: QUERY_STATS_TABLE, rows: stats }];
  }

  /**
   * Everything still in the kernel, including statements that ended but were
   * not yet handed over: those were never summed in the kernel, so they are
   * summed here, as one more query_stats interval. Detached first, so a
   * statement a backend finishes meanwhile is in exactly one of the two.
   */
  async finish(): Promise<TableRows[]> {
    await this.source.detach();
    const drained = await this.drainOnce(true);
    const start = process.hrtime.bigint();
    const closing = this.source.takeClosing().filter((r) => !isOwnBackend(r.pid));
    const rows = await this.rows(closing);
    const aggregator = new StatsAggregator();
    for (const t of rows) for (const row of t.rows) (t.table === QUERY_ERRORS_TABLE ? aggregator.addError(row) : aggregator.add(row));
    const stats = aggregator.take(this.ctx.clock.toWall(start), this.ctx.clock.toWall(process.hrtime.bigint()));
    return [...drained, ...rows, { table: QUERY_STATS_TABLE, rows: stats }];
  }
}
