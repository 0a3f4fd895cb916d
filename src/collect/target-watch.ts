/**
 * Following the target through restarts: is its postmaster still there, and
 * waiting (bounded by the caller's stop flag) for one that answers again.
 */
import fs from 'node:fs';
import { discoverTarget, type Target } from '../pg/target.js';
import { logger } from '../util/log.js';
import { TargetError } from '../util/errors.js';

const log = logger('target');

/** How often a gone target is looked for, and how often a running one is checked. */
export const TARGET_POLL_MS = 250;

/**
 * Whether the postmaster still runs (a zombie has exited), asked every
 * TARGET_POLL_MS: one read of an open /proc/<pid>/stat instead of opening,
 * reading and closing /proc/<pid>/status, whose text the kernel builds with
 * the postmaster's memory map locked. The open file stays tied to the process
 * it was opened for: once that one is gone the read fails, even if its pid
 * already names another process.
 */
export class PostmasterWatch {
  private open: { pid: number; fd: number } | null = null;
  private readonly buf = Buffer.alloc(512);

  alive(pid: number): boolean {
    try {
      if (this.open?.pid !== pid) {
        this.close();
        this.open = { pid, fd: fs.openSync(`/proc/${pid}/stat`, 'r') };
      }
      const n = fs.readSync(this.open.fd, this.buf, 0, this.buf.length, 0);
      const text = this.buf.toString('latin1', 0, n);
      const state = text.charAt(text.lastIndexOf(')') + 2);
      if (state !== 'Z' && state !== 'X' && state !== '') return true;
    } catch {
      // ENOENT at open, ESRCH at read: gone.
    }
    this.close();
    return false;
  }

  close(): void {
    if (this.open === null) return;
    try {
      fs.closeSync(this.open.fd);
    } catch {
      // already closed
    }
    this.open = null;
  }
}

/**
 * Discovers the target until it answers, or until `stopping()` (null then).
 * A server that answers but is not one pgscout can follow (another major
 * version after an upgrade) ends the wait with its error.
 */
export async function waitForTarget(conninfo: string, stopping: () => boolean, what: string): Promise<Target | null> {
  let said = false;
  while (!stopping()) {
    try {
      return await discoverTarget(conninfo);
    } catch (err) {
      if (err instanceof TargetError && !/cannot connect|starting up|shutting down|recovery/.test(err.message)) throw err;
      if (!said) log.warn(`${what}: ${(err as Error).message}`);
      said = true;
    }
    await new Promise((r) => setTimeout(r, TARGET_POLL_MS));
  }
  return null;
}
