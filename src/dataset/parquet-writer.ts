/**
 * Streams rows of one table into rotating, Hive-partitioned Parquet files.
 *
 * Built on hyparquet-writer (pure JS): measured in bench/parquet-writers.mjs
 * and docs/parquet-writer.md, it is the writer with bounded memory that
 * round-trips int64 exactly. Memory: at most one row group of rows is
 * buffered in JS (rowGroupRows), each row group is encoded and drained to
 * disk before the next is accepted, and per-file footer metadata is bounded
 * by maxFileRows.
 */
import { basename } from 'node:path';
import { ParquetWriter, type SchemaElement } from 'hyparquet-writer';
import { ConfigError, PgscoutError } from '../util/errors.js';
import { logger } from '../util/log.js';
import { ColumnBuffer, isColumnar, type RowBatch } from './column-buffer.js';
import { compressorsFor, defaultCompression, type Compression } from './compression.js';
import { FileSink } from './file-sink.js';
import { writeJournal } from './footer-journal.js';
import { writeRowGroup, type WriterInternals } from './row-group.js';
import { PARTITION_COLUMNS, partitionDir, partitionValue } from './paths.js';
import type { ColumnSpec, Row, TableSpec } from './schema.js';

const log = logger('parquet');

export { defaultCompression, type Compression } from './compression.js';

export interface TableWriterOptions {
  outDir: string;
  table: TableSpec;
  host: string;
  /**
   * Rows per row group, also the most rows ever buffered in memory. Default
   * 16 384: a few MB of column buffers per table, and at the default 500
   * sampled rows/s one or two row groups per 60 s file.
   */
  rowGroupRows?: number;
  /** Rotate to a new file after this many rows. Default 1 000 000. */
  maxFileRows?: number;
  /** Rotate even a small file this long after its first row (Infinity: never). Default 60 000. */
  maxFileAgeMs?: number;
  /**
   * Default ZSTD when this Node has a zstd compressor (≥ 22.15), else GZIP at
   * level 1 (native zlib): on Node 20 it is both faster and ~30 % smaller than
   * hyparquet-writer's pure-JS SNAPPY (docs/parquet-writer.md).
   */
  compression?: Compression;
  /** Where the rows came from: metadata of every file, and columns every row carries. */
  provenance?: FileProvenance;
}

/** Provenance a writer puts in each file (issue 11): src/collect/provenance.ts builds it. */
export interface FileProvenance {
  /** Key-value metadata of every file, read when the file is opened. */
  metadata(): { key: string; value: string }[];
  /** Records lost so far, all tables and reasons: the file's footer gets the count over its span. */
  dropsSoFar(): number;
  /** Columns of the table every row gets the same value of (run_id). */
  constants: Record<string, string>;
}

/** Counts completed (renamed, visible) files only. */
export interface WriterStats {
  rowsWritten: number;
  filesWritten: number;
  bytesWritten: number;
  /** Rows that could not be kept: the disk stayed full (or unwritable) longer than the backlog lasted. */
  rowsDropped: number;
}

function schemaElement(c: ColumnSpec): SchemaElement {
  const repetition_type = c.nullable ? 'OPTIONAL' : 'REQUIRED';
  if (c.type === 'STRING') {
    return { name: c.name, type: 'BYTE_ARRAY', converted_type: 'UTF8', logical_type: { type: 'STRING' }, repetition_type };
  }
  return { name: c.name, type: c.type, repetition_type };
}

type CheckedOptions = Required<Omit<TableWriterOptions, 'provenance'>> & Pick<TableWriterOptions, 'provenance'>;

function checkOptions(o: TableWriterOptions): CheckedOptions {
  const positive = (name: string, v: number) => {
    if (!(Number.isInteger(v) && v > 0)) throw new ConfigError(`${name} must be a positive integer, got ${v}`);
    return v;
  };
  const names = new Set<string>();
  for (const c of o.table.columns) {
    if (names.has(c.name)) throw new ConfigError(`table ${o.table.name}: duplicate column ${c.name}`);
    if (PARTITION_COLUMNS.includes(c.name)) {
      throw new ConfigError(`table ${o.table.name}: column ${c.name} clashes with the Hive partition key of the same name`);
    }
    names.add(c.name);
  }
  if (names.size === 0) throw new ConfigError(`table ${o.table.name} has no columns`);
  partitionValue(o.host); // fail at startup, not at the first file
  const maxFileAgeMs = o.maxFileAgeMs ?? 60_000;
  if (!(maxFileAgeMs > 0)) throw new ConfigError(`maxFileAgeMs must be > 0, got ${maxFileAgeMs}`);
  const compression = o.compression ?? defaultCompression();
  compressorsFor(compression); // ZSTD on Node 20 fails here, at startup
  return {
    ...o,
    rowGroupRows: positive('rowGroupRows', o.rowGroupRows ?? 65_536),
    maxFileRows: positive('maxFileRows', o.maxFileRows ?? 1_000_000),
    maxFileAgeMs,
    compression,
  };
}

interface OpenFile {
  sink: FileSink;
  pq: ParquetWriter;
  rows: number;
  /** The footer is encoded: no more row groups; it is committed once its bytes are on disk. */
  sealed: boolean;
  /** Where each row group ends in the file, and its rows: what a full disk lets us keep. */
  groups: { end: number; rows: number }[];
  /** FileProvenance.dropsSoFar() when the file was opened. */
  dropsAtOpen: number;
}

/** A write the filesystem refused: the writer waits for it, keeping what it has. */
function isStorageError(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException)?.code;
  return typeof code === 'string' && /^E[A-Z]+$/.test(code);
}

export class ParquetTableWriter {
  private readonly opts: CheckedOptions;
  private readonly buffer: ColumnBuffer;
  private readonly schema: SchemaElement[];
  private readonly kvMetadata: { key: string; value: string }[];
  private readonly completed: string[] = [];
  private readonly counters: WriterStats = { rowsWritten: 0, filesWritten: 0, bytesWritten: 0, rowsDropped: 0 };
  /** The write the filesystem refused last (ENOSPC…): set while the writer waits for space. */
  private stalled: NodeJS.ErrnoException | null = null;
  /** When the current file's first row arrived; names and dates the file, starts its age. */
  private startedAt: Date | null = null;
  private file: OpenFile | null = null;
  private ageTimer: NodeJS.Timeout | null = null;
  /** Serialises append/flush/close and timer-driven rotation. */
  private queue: Promise<unknown> = Promise.resolve();
  /** A failure of a timer-driven rotation, reported by the next call. */
  private deferredError: unknown = null;
  private closed = false;

  constructor(opts: TableWriterOptions) {
    this.opts = checkOptions(opts);
    this.buffer = new ColumnBuffer(opts.table);
    this.schema = [{ name: 'root', num_children: opts.table.columns.length }, ...opts.table.columns.map(schemaElement)];
    this.kvMetadata = [
      { key: 'pgscout.table', value: opts.table.name },
      // self-describing files: units and sources travel with the data
      { key: 'pgscout.columns', value: JSON.stringify(opts.table.columns) },
    ];
  }

  get stats(): WriterStats {
    return { ...this.counters };
  }

  /** Paths of the files completed so far, oldest first. */
  listFiles(): string[] {
    return [...this.completed];
  }

  /** Why the writer is waiting for the filesystem (ENOSPC, EROFS…), or null. */
  get waitingFor(): string | null {
    return this.stalled ? (this.stalled.code ?? 'error') : null;
  }

  /**
   * Validates the whole batch first: on a bad row nothing of the batch is kept.
   * While the disk is full, rows wait in memory up to one row group; the rest
   * are counted in rowsDropped, never thrown at the caller.
   */
  append(rows: RowBatch): Promise<void> {
    return this.enqueue(async () => {
      const constants = this.opts.provenance?.constants;
      if (constants && !isColumnar(rows)) for (const row of rows) Object.assign(row, constants);
      this.buffer.validate(rows);
      if (this.stalled && (await this.writable()) && this.buffer.length >= this.groupTarget()) await this.writeGroup();
      let i = 0;
      while (i < rows.length) {
        if (this.startedAt === null) this.startClock();
        const room = this.groupTarget() - this.buffer.length;
        if (room <= 0) {
          this.drop(rows.length - i);
          break;
        }
        const end = Math.min(rows.length, i + room);
        this.buffer.push(rows, i, end, constants);
        i = end;
        if (this.buffer.length >= this.groupTarget()) await this.writeGroup();
      }
    });
  }

  private drop(rows: number): void {
    this.counters.rowsDropped += rows;
  }

  /** Notes a refused write; says so once per episode. */
  private stall(err: unknown): void {
    if (!this.stalled) {
      log.error(`writing ${this.opts.table.name} to ${this.opts.outDir} failed (${(err as Error).message}): ` +
        'keeping what is written and up to one row group in memory, retrying at every drain; rows beyond that are counted as dropped');
    }
    this.stalled = err as NodeJS.ErrnoException;
  }

  /** Writes what waits for the disk; true when the writer is usable again. */
  private async writable(): Promise<boolean> {
    if (!this.stalled) return true;
    const file = this.file;
    try {
      if (file) {
        await file.sink.flush();
        if (file.sealed) await this.commit(file);
      }
    } catch (err) {
      this.stall(err);
      return false;
    }
    log.warn(`writing ${this.opts.table.name} works again (${this.counters.rowsDropped} rows dropped meanwhile)`);
    this.stalled = null;
    return true;
  }

  /**
   * Makes every row appended so far durable without completing the file: the
   * buffered rows become a row group, the file is fsync'd and its footer
   * journaled (a SIGKILL after this loses none of them). Called after every drain.
   */
  sync(): Promise<void> {
    return this.enqueue(async () => {
      if (this.buffer.length > 0) await this.writeGroup();
    });
  }

  /** Writes buffered rows and completes the current file, if it has any rows. */
  flush(): Promise<void> {
    return this.enqueue(() => this.finishFile());
  }

  close(): Promise<WriterStats> {
    return this.enqueue(async () => {
      try {
        await this.finishFile(true);
      } finally {
        this.closed = true;
        this.buffer.dispose();
      }
      return this.stats;
    });
  }

  private enqueue<T>(op: () => Promise<T>, internal = false): Promise<T> {
    const run = this.queue.then(() => {
      if (!internal) {
        if (this.closed) throw new PgscoutError(`parquet writer for ${this.opts.table.name} is closed`);
        if (this.deferredError) {
          const err = this.deferredError;
          this.deferredError = null;
          throw err;
        }
      }
      return op();
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Rows the next row group may hold: a row group never straddles two files. */
  private groupTarget(): number {
    return Math.min(this.opts.rowGroupRows, this.opts.maxFileRows - (this.file?.rows ?? 0));
  }

  private startClock(): void {
    const startedAt = new Date();
    this.startedAt = startedAt;
    // setTimeout fires at once for delays beyond 2^31-1 ms; treat those (and Infinity) as "never"
    if (!(this.opts.maxFileAgeMs <= 2_147_483_647)) return;
    this.ageTimer = setTimeout(() => {
      this.enqueue(async () => {
        if (this.startedAt === startedAt && !this.closed) await this.finishFile();
      }, true).catch((err: unknown) => {
        log.error(`rotating ${this.opts.table.name} file failed: ${(err as Error).message}`);
        this.deferredError = err;
      });
    }, this.opts.maxFileAgeMs);
    this.ageTimer.unref(); // an idle writer must not keep the process alive
  }

  /** Encodes the buffered rows as a row group; while the disk refuses, they stay buffered. */
  private async writeGroup(): Promise<void> {
    const rows = this.buffer.length;
    if (rows === 0 || !(await this.writable()) || this.file?.sealed) return;
    let file: OpenFile;
    try {
      file = this.file ?? (this.file = await this.openFile());
    } catch (err) {
      const cause = (err as Error).cause ?? err;
      if (!isStorageError(cause)) throw err;
      this.stall(cause);
      return;
    }
    const columns = this.buffer.takeColumns();
    try {
      await writeRowGroup(file.pq, columns, rows);
    } catch (err) {
      if (isStorageError(err)) {
        // The row group is in the file's footer-to-be; its bytes wait in the sink.
        file.rows += rows;
        file.groups.push({ end: file.sink.offset, rows });
        this.stall(err);
        return;
      }
      await this.abortFile();
      throw new PgscoutError(`writing ${this.opts.table.name} row group failed: ${(err as Error).message}`, { cause: err });
    }
    file.rows += rows;
    file.groups.push({ end: file.sink.offset, rows });
    await this.journal(file);
    if (this.file && this.file.rows >= this.opts.maxFileRows) await this.finishFile();
  }

  /** The row groups on disk so far survive a crash: data fsync'd, then the footer for them recorded. */
  private async journal(file: OpenFile): Promise<void> {
    try {
      await file.sink.syncData();
      await writeJournal(file.sink.tempPath, file.sink.durable, file.pq);
    } catch (err) {
      // The previous journal still describes a prefix of the file; the next row group tries again.
      log.warn(`journaling ${file.sink.tempPath} failed (${(err as Error).message}): a crash now would lose its newest rows`);
    }
  }

  private async openFile(): Promise<OpenFile> {
    const at = this.startedAt ?? new Date();
    const dir = partitionDir(this.opts.outDir, this.opts.table.name, this.opts.host, at);
    const sink = await FileSink.create(dir, at);
    const pq = new ParquetWriter({
      writer: sink,
      schema: this.schema,
      codec: this.opts.compression,
      compressors: compressorsFor(this.opts.compression),
      kvMetadata: [...this.kvMetadata, ...(this.opts.provenance?.metadata() ?? [])],
      createdBy: 'pgscout (hyparquet-writer)',
    });
    return { sink, pq, rows: 0, sealed: false, groups: [], dropsAtOpen: this.opts.provenance?.dropsSoFar() ?? 0 };
  }

  /**
   * Completes the current file. While the disk refuses, a rotation waits
   * (its timer is set again); the last one (`final`, at close) gives up:
   * what could not be written is counted as dropped, and the half file goes.
   */
  private async finishFile(final = false): Promise<void> {
    try {
      // Rows kept while the disk was full can be more than one group's worth of a file's room.
      while (this.buffer.length > 0 && !this.file?.sealed) {
        const before = this.buffer.length;
        await this.writeGroup();
        if (this.stalled) throw this.stalled;
        if (this.buffer.length === before) break;
      }
      if (!(await this.writable())) throw this.stalled;
      const file = this.file;
      if (file && !file.sealed) {
        file.sealed = true;
        this.noteSpanDrops(file);
        await file.pq.finish();
      }
      if (file) await this.commit(file);
    } catch (err) {
      if (!isStorageError(err)) {
        await this.abortFile();
        throw new PgscoutError(`completing ${this.file?.sink.finalPath ?? this.opts.table.name} failed: ${(err as Error).message}`, { cause: err });
      }
      this.stall(err);
      if (!final) {
        if (this.startedAt) this.startClock();
        return;
      }
      this.drop(this.buffer.length);
      this.buffer.clear();
      if (this.file && (await this.salvage(this.file))) return;
      this.drop(this.file?.rows ?? 0);
      log.error(`closing ${this.opts.table.name}: the disk still refuses (${(err as Error).message}); ${this.counters.rowsDropped} rows dropped in all`);
      await this.abortFile();
      return;
    }
    this.resetFile();
  }

  /**
   * The last close on a full disk: the row groups that reached the disk are
   * kept — the file is cut after the last of them (freeing what a half-written
   * group took) and given a footer for them. False when even that does not fit.
   */
  private async salvage(file: OpenFile): Promise<boolean> {
    const kept = file.groups.filter((g) => g.end <= file.sink.durable);
    if (kept.length === 0) return false;
    const pq = file.pq as unknown as WriterInternals;
    const columns = pq.pendingIndexes.length / Math.max(1, file.groups.length);
    for (const g of file.groups.slice(kept.length)) {
      pq.row_groups.pop();
      pq.pendingIndexes.splice(-columns, columns);
      pq.num_rows -= BigInt(g.rows);
      file.rows -= g.rows;
      this.drop(g.rows);
    }
    file.groups = kept;
    try {
      await file.sink.truncateTo(kept.at(-1)!.end);
      this.noteSpanDrops(file);
      await file.pq.finish();
      await this.commit(file);
    } catch (err) {
      log.debug(`salvaging ${file.sink.tempPath} failed: ${(err as Error).message}`);
      return false;
    }
    log.error(`closing ${this.opts.table.name} on a full disk: kept the ${file.rows} rows already on disk in ${basename(file.sink.finalPath)}; ` +
      `${this.counters.rowsDropped} rows dropped in all`);
    return true;
  }

  /** The footer says how many records were lost (any table, any reason) while this file was open. */
  private noteSpanDrops(file: OpenFile): void {
    const provenance = this.opts.provenance;
    if (!provenance) return;
    const kv = (file.pq as unknown as { kvMetadata: { key: string; value: string }[] }).kvMetadata;
    kv.push({ key: 'pgscout.records_dropped_in_span', value: String(provenance.dropsSoFar() - file.dropsAtOpen) });
  }

  /** Makes a sealed file durable and visible, and counts it. */
  private async commit(file: OpenFile): Promise<void> {
    const bytes = await file.sink.commit();
    this.counters.rowsWritten += file.rows;
    this.counters.filesWritten += 1;
    this.counters.bytesWritten += bytes;
    this.completed.push(file.sink.finalPath);
    log.debug(`wrote ${file.sink.finalPath} (${file.rows} rows, ${bytes} bytes)`);
    this.resetFile();
  }

  /** Drops the current file and its buffered rows after a failure; the next append starts afresh. */
  private async abortFile(): Promise<void> {
    const sink = this.file?.sink;
    this.buffer.clear();
    this.resetFile();
    if (sink) await sink.abort();
  }

  private resetFile(): void {
    this.file = null;
    this.startedAt = null;
    if (this.ageTimer) clearTimeout(this.ageTimer);
    this.ageTimer = null;
  }
}
