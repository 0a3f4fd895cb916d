/**
 * One collector per cluster, one writer per output directory: a lock file
 * created with O_EXCL holds the owner's pid. Node has no flock(), and a pid
 * file also names the holder in the error line. A lock whose process is gone
 * (pgscout killed) is stale and taken over; one held by a live process —
 * this one included, for a second Collection in the same process — is not.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError } from '../util/errors.js';

interface LockContent { pid: number; token: string; what: string; since: string }

/** Locks this process holds, by path: a second taker in the same process is refused too. */
const held = new Set<string>();

export class FileLock {
  private released = false;

  private constructor(readonly path: string, private readonly token: string) {}

  /**
   * Takes the lock or throws a ConfigError naming the holder. `what` says
   * what is locked ("the cluster in /var/lib/…", "output directory /data/x")
   * and `instead` what the user can do about it.
   */
  static acquire(path: string, what: string, instead: string): FileLock {
    fs.mkdirSync(dirname(path), { recursive: true });
    const token = randomBytes(8).toString('hex');
    const content: LockContent = { pid: process.pid, token, what, since: new Date().toISOString() };
    for (let attempt = 0; attempt < 3; attempt++) {
      const holder = readHolder(path);
      if (held.has(path) || (holder && isAlive(holder.pid))) {
        throw new ConfigError(`another pgscout (pid ${held.has(path) ? process.pid : holder!.pid}) is already collecting ${what}: ${instead}`);
      }
      if (holder) fs.rmSync(path, { force: true });   // stale: its process is gone
      try {
        fs.writeFileSync(path, JSON.stringify(content), { flag: 'wx', mode: 0o644 });
        held.add(path);
        return new FileLock(path, token);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
          throw new ConfigError(`cannot create the lock ${path} (${(err as Error).message}): ${what} needs a writable place for it`);
        }
        // Another starter won the race (or wrote the file between our read and create): look again.
      }
    }
    throw new ConfigError(`cannot take the lock ${path}: it keeps changing hands`);
  }

  /** Removes the file if it is still ours (idempotent). */
  release(): void {
    if (this.released) return;
    this.released = true;
    held.delete(this.path);
    try {
      const current = JSON.parse(fs.readFileSync(this.path, 'utf8')) as LockContent;
      if (current.token === this.token) fs.rmSync(this.path, { force: true });
    } catch {
      // Gone already, or unreadable: nothing of ours to remove.
    }
  }
}

function readHolder(path: string): { pid: number } | null {
  let text: string;
  try {
    text = fs.readFileSync(path, 'utf8');
  } catch {
    return null;
  }
  try {
    const pid = (JSON.parse(text) as Partial<LockContent>).pid;
    // A torn or foreign file holds no live pgscout: treated as stale.
    return { pid: Number.isInteger(pid) && pid! > 0 ? pid! : 0 };
  } catch {
    return { pid: 0 };
  }
}

function isAlive(pid: number): boolean {
  if (pid <= 0) return false;
  // Our own pid in a file we do not hold: an earlier process that had it (containers reuse pid 1).
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A zombie has exited: its lock is stale.
  try {
    return !/^State:\s+Z/m.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}
