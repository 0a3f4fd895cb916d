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
import { ParquetWriter, type ColumnSource, type SchemaElement } from 'hyparquet-writer';
import { ConfigError, PgscoutError } from '../util/errors.js';
import { logger } from '../util/log.js';
import { ColumnBuffer } from './column-buffer.js';
import { compressorsFor, defaultCompression, type Compression } from './compression.js';
import { FileSink } from './file-sink.js';
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
}

/** Counts completed (renamed, visible) files only. */
export interface WriterStats {
  rowsWritten: number;
  filesWritten: number;
  bytesWritten: number;
}

function schemaElement(c: ColumnSpec): SchemaElement {
  const repetition_type = c.nullable ? 'OPTIONAL' : 'REQUIRED';
  if (c.type === 'STRING') {
    return { name: c.name, type: 'BYTE_ARRAY', converted_type: 'UTF8', logical_type: { type: 'STRING' }, repetition_type };
  }
  return { name: c.name, type: c.type, repetition_type };
}

function checkOptions(o: TableWriterOptions): Required<TableWriterOptions> {
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
}

export class ParquetTableWriter {
  private readonly opts: Required<TableWriterOptions>;
  private readonly buffer: ColumnBuffer;
  private readonly schema: SchemaElement[];
  private readonly kvMetadata: { key: string; value: string }[];
  private readonly completed: string[] = [];
  private readonly counters: WriterStats = { rowsWritten: 0, filesWritten: 0, bytesWritten: 0 };
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

  /** Validates the whole batch first: on a bad row nothing of the batch is kept. */
  append(rows: readonly Row[]): Promise<void> {
    return this.enqueue(async () => {
      this.buffer.validate(rows);
      let i = 0;
      while (i < rows.length) {
        if (this.startedAt === null) this.startClock();
        const end = Math.min(rows.length, i + this.groupTarget() - this.buffer.length);
        this.buffer.push(rows, i, end);
        i = end;
        if (this.buffer.length >= this.groupTarget()) await this.writeGroup();
      }
    });
  }

  /** Writes buffered rows and completes the current file, if it has any rows. */
  flush(): Promise<void> {
    return this.enqueue(() => this.finishFile());
  }

  close(): Promise<WriterStats> {
    return this.enqueue(async () => {
      try {
        await this.finishFile();
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

  private async writeGroup(): Promise<void> {
    const rows = this.buffer.length;
    if (rows === 0) return;
    const columns = this.buffer.take();
    try {
      const file = this.file ?? (this.file = await this.openFile());
      const columnData: ColumnSource[] = this.opts.table.columns.map((c, k) => ({ name: c.name, data: columns[k] }));
      await file.pq.write({ columnData, rowGroupSize: rows });
      file.rows += rows;
    } catch (err) {
      await this.abortFile();
      throw new PgscoutError(`writing ${this.opts.table.name} row group failed: ${(err as Error).message}`, { cause: err });
    }
    if (this.file && this.file.rows >= this.opts.maxFileRows) await this.finishFile();
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
      kvMetadata: this.kvMetadata,
      createdBy: 'pgscout (hyparquet-writer)',
    });
    return { sink, pq, rows: 0 };
  }

  private async finishFile(): Promise<void> {
    await this.writeGroup();
    const file = this.file;
    if (file) {
      try {
        await file.pq.finish();
        const bytes = await file.sink.commit();
        this.counters.rowsWritten += file.rows;
        this.counters.filesWritten += 1;
        this.counters.bytesWritten += bytes;
        this.completed.push(file.sink.finalPath);
        log.debug(`wrote ${file.sink.finalPath} (${file.rows} rows, ${bytes} bytes)`);
      } catch (err) {
        await this.abortFile();
        throw new PgscoutError(`completing ${file.sink.finalPath} failed: ${(err as Error).message}`, { cause: err });
      }
    }
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
