/**
 * Moves finished statement records from the kernel to Parquet: one ring
 * buffer consume (no syscall) and a few batch lookup-and-delete syscalls per
 * interval, never an event per statement.
 */
import { syscallCounter } from '../bpf/map.js';
import type { StatName } from '../bpf/records.js';
import { ParquetTableWriter } from '../dataset/parquet-writer.js';
import type { Row } from '../dataset/schema.js';
import { QUERIES_TABLE, QUERY_ERRORS_TABLE } from '../dataset/tables/queries.js';
import { DatabaseNames } from '../pg/database-names.js';
import { ownBackends } from '../pg/own-backends.js';
import { QueryTextCache } from '../query/text-cache.js';
import type { MetricsSink } from '../metrics/sink.js';
import { MonotonicToWall } from './clock.js';
import { isError, statementRow, type RowContext } from './statement-rows.js';
import type { StatementSource, StmtRecord } from './statement-source.js';

export interface DrainStats {
  drains: number;
  lastDrainMs: number;
  lastDrainSyscalls: number;
  recordsDrained: number;
  rowsWritten: number;
  errorRowsWritten: number;
  textsReceived: number;
  kernel: Partial<Record<StatName, bigint>>;
}

export interface DrainerOptions { outDir: string; host: string; conninfo: string }

export class StatementDrainer {
  readonly queries: ParquetTableWriter;
  readonly errors: ParquetTableWriter;
  private readonly ctx: RowContext;
  readonly clock: MonotonicToWall;
  /** Set by the collection when metrics are exported. */
  sink: MetricsSink | null = null;
  readonly stats: DrainStats = {
    drains: 0, lastDrainMs: 0, lastDrainSyscalls: 0, recordsDrained: 0, rowsWritten: 0,
    errorRowsWritten: 0, textsReceived: 0, kernel: {},
  };

  constructor(private readonly source: StatementSource, opts: DrainerOptions) {
    this.queries = new ParquetTableWriter({ outDir: opts.outDir, table: QUERIES_TABLE, host: opts.host });
    this.errors = new ParquetTableWriter({ outDir: opts.outDir, table: QUERY_ERRORS_TABLE, host: opts.host });
    this.clock = new MonotonicToWall();
    this.ctx = { clock: this.clock, texts: new QueryTextCache(), databases: new DatabaseNames(opts.conninfo) };
  }

  private async write(all: StmtRecord[]): Promise<void> {
    // pgscout's own catalog lookups and warm-up are not the workload.
    const records = all.filter((r) => !ownBackends.has(r.pid));
    await this.ctx.databases.resolve(records.map((r) => r.dbid));
    const ok: Row[] = [];
    const failed: Row[] = [];
    for (const rec of records) (isError(rec) ? failed : ok).push(statementRow(rec, this.ctx));
    if (ok.length) await this.queries.append(ok);
    if (failed.length) await this.errors.append(failed);
    this.sink?.statements(ok, failed);
    this.stats.recordsDrained += records.length;
    this.stats.rowsWritten += ok.length;
    this.stats.errorRowsWritten += failed.length;
  }

  async drainOnce(): Promise<number> {
    const t0 = performance.now();
    const syscalls0 = syscallCounter.total;
    const { records, texts } = this.source.drain();
    for (const t of texts) this.ctx.texts.add(t.queryId, t.text, t.stmtIndex);
    this.stats.textsReceived += texts.length;
    await this.write(records);
    this.stats.kernel = this.source.readStats();
    this.stats.drains++;
    this.stats.lastDrainSyscalls = syscallCounter.total - syscalls0;
    this.stats.lastDrainMs = performance.now() - t0;
    return records.length;
  }

  /** Detach, take everything still in the kernel, close every file. */
  /** Takes everything still in the kernel and closes every file (probes stay attached: detaching is slow). */
  async finish(): Promise<void> {
    await this.drainOnce();
    await this.write(this.source.takeClosing());
    await this.queries.close();
    await this.errors.close();
    await this.ctx.databases.close();
  }
}
