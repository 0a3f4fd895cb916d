/**
 * A hyparquet-writer byte sink that streams to a hidden temp file and only
 * publishes it (fsync, rename, fsync dir) once the footer is written, so a
 * reader never sees a partial .parquet and a crash leaves only a hidden .tmp.
 *
 * ParquetWriter calls flush() after every row group, which drains the buffer
 * to disk: the in-memory buffer never holds more than one encoded row group
 * (plus the footer at the end). A write that fails (disk full) keeps the bytes
 * not yet written, and the next flush() writes them first: the file on disk
 * stays a prefix of the file it will be.
 */
import { existsSync } from 'node:fs';
import { mkdir, open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { ByteWriter } from 'hyparquet-writer';
import { PgscoutError } from '../util/errors.js';
import { partFileName, tempFileName } from './paths.js';
import { removeJournal } from './footer-journal.js';

/** Shared by every sink in the process so two writers never pick the same name. */
let nextSeq = 1;

export class FileSink extends ByteWriter {
  private constructor(
    private readonly fh: FileHandle,
    readonly dir: string,
    readonly tempPath: string,
    readonly finalPath: string,
  ) {
    super(1 << 20);
  }

  /**
   * Creates the directory and the temp file. The name is chosen so that neither
   * the final nor the temp name exists yet: a restarted daemon may reuse a pid
   * within the same second (pid 1 in containers), and rename would overwrite.
   */
  static async create(dir: string, startedAt: Date): Promise<FileSink> {
    await mkdir(dir, { recursive: true });
    for (;;) {
      const name = partFileName(startedAt, process.pid, nextSeq++);
      const finalPath = join(dir, name);
      const tempPath = join(dir, tempFileName(name));
      if (existsSync(finalPath)) continue;
      try {
        // 0640: the dataset may hold query texts; the group (e.g. pgscout-readers) reads, others do not.
        const fh = await open(tempPath, 'wx', 0o640);
        return new FileSink(fh, dir, tempPath, finalPath);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue;
        throw new PgscoutError(`cannot create ${tempPath}: ${(err as Error).message}`, { cause: err });
      }
    }
  }

  /** Bytes encoded but not yet on disk (a failed write left them). */
  private unwritten: Buffer | null = null;
  /** Bytes on disk: the file is this long, and a prefix of what `offset` describes. */
  durable = 0;

  /** Called by ParquetWriter after each row group; awaited before the next one is encoded. */
  async flush(): Promise<void> {
    const fresh = this.getBytes();
    const bytes = this.unwritten ? Buffer.concat([this.unwritten, fresh]) : Buffer.from(fresh.buffer, fresh.byteOffset, fresh.length);
    this.unwritten = null;
    let done = 0;
    try {
      while (done < bytes.length) {
        const { bytesWritten } = await this.fh.write(bytes, done, bytes.length - done);
        done += bytesWritten;
        this.durable += bytesWritten;
      }
    } catch (err) {
      this.unwritten = Buffer.from(bytes.subarray(done));
      throw err;
    } finally {
      this.index = 0;
    }
  }

  /**
   * Forgets everything after `end` (a row group boundary): what waits for the
   * disk and what reached it. Frees the space a half-written row group took.
   */
  async truncateTo(end: number): Promise<void> {
    await this.fh.truncate(end);
    this.unwritten = null;
    this.index = 0;
    this.offset = end;
    this.durable = end;
  }

  /** What was flushed reaches stable storage (before a journal claims it). */
  async syncData(): Promise<void> {
    await this.fh.datasync();
  }

  /** Bytes that wait for the disk (kept in memory until a flush succeeds). */
  get pendingBytes(): number {
    return this.unwritten?.length ?? 0;
  }

  /** Called by ParquetWriter.finish() after the footer. */
  override finish(): Promise<void> {
    return this.flush();
  }

  /** Makes the file durable and visible under its final name; returns its size in bytes. */
  async commit(): Promise<number> {
    await this.fh.sync();
    await this.fh.close();
    await rename(this.tempPath, this.finalPath);
    await removeJournal(this.tempPath);
    // the rename itself is only durable once the directory entry is synced
    const dh = await open(this.dir, 'r');
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
    return this.offset;
  }

  /** Best effort: drop the temp file after a failure. */
  async abort(): Promise<void> {
    await this.fh.close().catch(() => undefined);
    await unlink(this.tempPath).catch(() => undefined);
    await removeJournal(this.tempPath).catch(() => undefined);
  }
}
