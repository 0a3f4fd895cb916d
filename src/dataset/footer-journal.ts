/**
 * Crash safety of an open Parquet file: after each row group reaches the
 * disk, the footer the file would get if it ended there is kept next to it
 * (`.<name>.tmp.footer`: the data length, the row count, the footer bytes),
 * written to a new file, fsync'd and renamed over the last one. A pgscout
 * killed with SIGKILL leaves the temp file and its journal; the next start on
 * the same --out cuts the temp file to the journal's length, appends the
 * footer and publishes it: what a drain wrote survives, not only whole files.
 */
import { closeSync, fsyncSync, openSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeSync, ftruncateSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ParquetWriter } from 'hyparquet-writer';
import { encodeFooter, type FooterFields } from './footer-encode.js';
import { logger } from '../util/log.js';

const log = logger('parquet');

const MAGIC = 0x31524150; // "PAR1"
const HEADER = 16;        // u64 data length, u64 rows

export const journalPath = (tempPath: string): string => `${tempPath}.footer`;

/** Records the footer for the row groups written so far; the data must be durable first. */
export async function writeJournal(tempPath: string, dataLength: number, pq: ParquetWriter): Promise<void> {
  const w = pq as unknown as FooterFields;
  const body = encodeFooter(w);
  const out = Buffer.alloc(HEADER + body.length);
  out.writeBigUInt64LE(BigInt(dataLength), 0);
  out.writeBigUInt64LE(w.num_rows, 8);
  out.set(body, HEADER);
  const next = `${journalPath(tempPath)}.new`;
  const fh = await open(next, 'w', 0o640);
  try {
    await fh.write(out);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(next, journalPath(tempPath));
}

export async function removeJournal(tempPath: string): Promise<void> {
  await rm(journalPath(tempPath), { force: true });
  await rm(`${journalPath(tempPath)}.new`, { force: true });
}

export interface Recovered { files: number; rows: number; discarded: number }

/**
 * Publishes what dead writers left under `outDir` (call with the --out lock
 * held: no live writer owns a temp file then). A temp file with a journal
 * becomes a Parquet file of the row groups the journal names; one without
 * (killed before its first row group reached the disk) holds no row and goes.
 */
export function recoverLeftovers(outDir: string): Recovered {
  const out: Recovered = { files: 0, rows: 0, discarded: 0 };
  for (const temp of tempFiles(outDir)) {
    const journal = journalPath(temp);
    let rows = 0;
    try {
      rows = publish(temp, readFileSync(journal));
      out.files++;
      out.rows += rows;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') log.warn(`cannot recover ${temp}: ${(err as Error).message}; removing it`);
      rmSync(temp, { force: true });
      out.discarded++;
    }
    rmSync(journal, { force: true });
    rmSync(`${journal}.new`, { force: true });
  }
  return out;
}

function tempFiles(dir: string): string[] {
  const found: string[] = [];
  let entries: string[];
  try {
    entries = readdirSync(dir, { recursive: true }) as string[];
  } catch {
    return found;
  }
  for (const e of entries) {
    const name = e.split('/').at(-1)!;
    if (name.startsWith('.') && name.endsWith('.parquet.tmp')) found.push(join(dir, e));
  }
  return found;
}

/** Cuts the temp file to the journal's length, appends the footer, renames it to its final name. */
function publish(temp: string, journal: Buffer): number {
  if (journal.length < HEADER) throw new Error('journal too short');
  const dataLength = Number(journal.readBigUInt64LE(0));
  const rows = Number(journal.readBigUInt64LE(8));
  const footer = journal.subarray(HEADER);
  if (statSync(temp).size < dataLength) throw new Error(`${temp} is shorter than its journal says`);
  const tail = Buffer.alloc(8);
  tail.writeUInt32LE(footer.length, 0);
  tail.writeUInt32LE(MAGIC, 4);
  const fd = openSync(temp, 'r+');
  try {
    ftruncateSync(fd, dataLength);
    writeSync(fd, footer, 0, footer.length, dataLength);
    writeSync(fd, tail, 0, tail.length, dataLength + footer.length);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  const name = temp.split('/').at(-1)!;
  renameSync(temp, join(dirname(temp), name.slice(1, -'.tmp'.length)));
  const dfd = openSync(dirname(temp), 'r');
  try {
    fsyncSync(dfd);
  } finally {
    closeSync(dfd);
  }
  return rows;
}
