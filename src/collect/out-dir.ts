/**
 * The output directory is checked before anything is attached: a path that
 * is a file, read-only, or on a pseudo filesystem fails at start with one
 * line, instead of a writer error (and a stuck shutdown) at the first rotation.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ConfigError } from '../util/errors.js';
import { FileLock } from './lock.js';

/** Filesystems that look writable but keep nothing (statfs f_type). */
const PSEUDO_FS: Record<number, string> = { 0x9fa0: 'proc', 0x62656572: 'sysfs', 0x64626720: 'debugfs', 0x74726163: 'tracefs', 0xcafe4a11: 'bpf', 0x27e0eb: 'cgroup', 0x63677270: 'cgroup2' };

/** Creates `out` if needed and proves it takes a durable file; throws one ConfigError line otherwise. */
export function checkOutDir(out: string): string {
  const dir = resolve(out);
  const bad = (why: string) => new ConfigError(`--out ${out} ${why}`);
  if (fs.existsSync(dir) && !fs.statSync(dir).isDirectory()) throw bad('is not a directory: give a directory (it is created if missing)');
  // Node's recursive mkdir spins forever below /proc (it retries the ENOENT): look at the
  // nearest existing ancestor first, then create the missing levels one by one.
  const missing: string[] = [];
  let existing = dir;
  while (!fs.existsSync(existing)) {
    missing.unshift(existing);
    existing = dirname(existing);
  }
  const fsType = Number(fs.statfsSync(existing).type);
  if (PSEUDO_FS[fsType]) throw bad(`is on ${PSEUDO_FS[fsType]}, which keeps no files: give a directory on a real filesystem`);
  try {
    for (const level of missing) fs.mkdirSync(level);
  } catch (err) {
    throw bad(`cannot be created (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): give a directory pgscout may write`);
  }
  const probe = join(dir, `.pgscout-probe-${process.pid}`);
  try {
    const fd = fs.openSync(probe, 'wx', 0o640);
    try {
      fs.writeSync(fd, 'pgscout');
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch (err) {
    throw bad(`is not writable (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): give a directory pgscout may write, or fix its permissions`);
  } finally {
    fs.rmSync(probe, { force: true });
  }
  return dir;
}

/** One writer per output directory: two collectors into one directory would write every row twice. */
export function lockOutDir(dir: string): FileLock {
  return FileLock.acquire(join(dir, '.pgscout.lock'), `into ${dir}`, 'stop it, or give this one another --out');
}

/** Where cluster locks live: /run is per boot (a lock never outlives a reboot). */
const LOCK_DIR = process.env.PGSCOUT_LOCK_DIR || '/run/pgscout';

/** One collector per cluster (data directory + port): two would attach twice and count every statement twice. */
export function lockCluster(dataDir: string, port: number): FileLock {
  const key = createHash('sha256').update(`${dataDir}\0${port}`).digest('hex').slice(0, 16);
  return FileLock.acquire(join(LOCK_DIR, `cluster-${key}.lock`), `from the cluster in ${dataDir} (port ${port})`,
    'stop it first; one pgscout per cluster is enough (its dataset and metrics cover every database)');
}
