/** The --out and cluster locks: a live holder is named, a dead one's lock is taken over. */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FileLock } from '../../src/collect/lock.js';
import { checkOutDir, lockOutDir } from '../../src/collect/out-dir.js';
import { ConfigError } from '../../src/util/errors.js';

const dirs: string[] = [];
function tempDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'pgscout-lock-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

describe('FileLock', () => {
  it('refuses a second taker in the same process, naming the holder, and frees the lock on release', () => {
    const file = path.join(tempDir(), 'x.lock');
    const lock = FileLock.acquire(file, 'into /x', 'use another');
    expect(() => FileLock.acquire(file, 'into /x', 'use another')).toThrow(new ConfigError(`another pgscout (pid ${process.pid}) is already collecting into /x: use another`));
    lock.release();
    expect(fs.existsSync(file)).toBe(false);
    FileLock.acquire(file, 'into /x', 'use another').release();
  });

  it('refuses a lock held by another live process', () => {
    const file = path.join(tempDir(), 'x.lock');
    const other = spawn('sleep', ['30']);
    try {
      fs.writeFileSync(file, JSON.stringify({ pid: other.pid, token: 't', what: 'w', since: '' }));
      expect(() => FileLock.acquire(file, 'from the cluster', 'stop it')).toThrow(`pid ${other.pid}`);
    } finally {
      other.kill();
    }
  });

  it('takes over the lock of a process that is gone (a killed pgscout), and of a torn file', () => {
    const file = path.join(tempDir(), 'x.lock');
    const gone = spawnSync('sh', ['-c', 'echo $$']).stdout.toString().trim();
    fs.writeFileSync(file, JSON.stringify({ pid: Number(gone), token: 't', what: 'w', since: '' }));
    const lock = FileLock.acquire(file, 'w', 'x');
    expect(JSON.parse(fs.readFileSync(file, 'utf8')).pid).toBe(process.pid);
    lock.release();
    fs.writeFileSync(file, '{"pid": 12');
    FileLock.acquire(file, 'w', 'x').release();
  });

  it('leaves a lock alone that is no longer its own', () => {
    const file = path.join(tempDir(), 'x.lock');
    const lock = FileLock.acquire(file, 'w', 'x');
    fs.writeFileSync(file, JSON.stringify({ pid: 1, token: 'someone else', what: 'w', since: '' }));
    lock.release();
    expect(fs.existsSync(file)).toBe(true);
  });
});

describe('checkOutDir', () => {
  it('creates a missing directory and leaves no probe file behind', () => {
    const out = path.join(tempDir(), 'a', 'b');
    expect(checkOutDir(out)).toBe(out);
    expect(fs.readdirSync(out)).toEqual([]);
    lockOutDir(out).release();
  });

  it('refuses a file, a pseudo filesystem and a path that cannot be created, in one line each', () => {
    const file = path.join(tempDir(), 'f');
    fs.writeFileSync(file, '');
    expect(() => checkOutDir(file)).toThrow(/is not a directory/);
    expect(() => checkOutDir('/proc/self')).toThrow(/is on proc/);
    expect(() => checkOutDir('/proc/foo')).toThrow(/is on proc/);
    expect(() => checkOutDir(path.join(file, 'sub'))).toThrow(/cannot be created \(ENOTDIR\)/);
  });
});
