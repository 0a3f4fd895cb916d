/**
 * `collect` runs for months next to a database, so it starts with memory
 * settings that V8 and glibc only read at process start (bench/soak.mjs,
 * docs/benchmarks.md "Soak": RSS ~330 MB → under 150 MB):
 * - a 1 MiB young generation (V8's default grows it to 2 × 16 MiB of
 *   semi-spaces that stay resident),
 * - old-space growth of 20 % over the live set after each full GC (the default
 *   lets it reach ~3× the live set before collecting the drain's garbage),
 * - one malloc arena: V8's background threads otherwise keep 64 MiB arenas
 *   half resident after compile and GC bursts.
 * So the process replaces itself once (execve: same pid, same fds) with them.
 */
import koffi from 'koffi';
import { logger } from './log.js';

const log = logger('memory');

export const DAEMON_NODE_FLAGS = ['--max-semi-space-size=1', '--heap-growing-percent=20'];
const MARK = 'PGSCOUT_DAEMON_EXEC';
const F_SETFD = 2;

/** True when this process already runs with the daemon settings (or opted out with PGSCOUT_DAEMON_EXEC=0). */
export function hasDaemonSettings(): boolean {
  return process.env[MARK] !== undefined;
}

/**
 * Re-executes node with DAEMON_NODE_FLAGS and MALLOC_ARENA_MAX=1, keeping the
 * script and its arguments; returns only if that is not possible (then the
 * runtime part of tuneDaemonMemory still applies).
 */
export function reexecWithDaemonSettings(script: string, args: readonly string[]): void {
  if (hasDaemonSettings()) return;
  const argv = [process.execPath, ...DAEMON_NODE_FLAGS, ...process.execArgv, script, ...args];
  const env = { ...process.env, [MARK]: '1', MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? '1' };
  const envp = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  try {
    const libc = koffi.load('libc.so.6');
    const fcntl = libc.func('int fcntl(int fd, int cmd, ...)');
    const execve = libc.func('int execve(const char *path, const char **argv, const char **envp)');
    // libuv marks stdin/stdout/stderr close-on-exec; the new image must keep them.
    for (const fd of [0, 1, 2]) fcntl(fd, F_SETFD, 'int', 0);
    execve(process.execPath, [...argv, null], [...envp, null]);
    log.debug('execve returned: running with the default memory settings');
  } catch (err) {
    log.debug(`execve unavailable (${(err as Error).message}): running with the default memory settings`);
  }
}
