/**
 * A long-running collector's memory: measured in bench/soak.mjs, most of its
 * RSS beyond the code was not live data but memory freed and kept — V8's
 * young generation and old-space headroom (set at start: daemon-exec.ts), and
 * glibc's heap: ~70 MB of it with only 15–20 MB in use, the rest free chunks
 * between live ones that only malloc_trim gives back (the top-of-heap trim
 * threshold cannot reach them).
 */
import v8 from 'node:v8';
import koffi from 'koffi';
import { DAEMON_NODE_FLAGS } from './daemon-exec.js';
import { logger } from './log.js';

const log = logger('memory');

const M_TRIM_THRESHOLD = -1;
const M_MMAP_THRESHOLD = -3;
const M_ARENA_MAX = -8;

/** How often the free pages inside the heap go back to the OS. */
export const HEAP_TRIM_INTERVAL_MS = 10_000;

type TrimFn = { async: (pad: number, cb: (err: unknown, released: number) => void) => void };
let trimFn: TrimFn | null = null;

export function tuneDaemonMemory(): void {
  // Effective only where the process did not start with them (daemon-exec.ts): then
  // the old-space growth still applies, the semi-space size does not.
  for (const flag of DAEMON_NODE_FLAGS) v8.setFlagsFromString(flag);
  try {
    const libc = koffi.load('libc.so.6');
    const mallopt = libc.func('int mallopt(int param, int value)');
    mallopt(M_MMAP_THRESHOLD, 128 << 10);
    mallopt(M_TRIM_THRESHOLD, 128 << 10);
    mallopt(M_ARENA_MAX, 1);
    trimFn = libc.func('int malloc_trim(size_t pad)') as unknown as TrimFn;
  } catch (err) {
    // Not glibc (musl has no mallopt or malloc_trim): only the V8 part applies.
    log.debug(`mallopt unavailable: ${(err as Error).message}`);
  }
}

export interface HeapTrimmer { stop(): void; trimNow(): void; readonly trims: number }

/**
 * Every `intervalMs`, malloc_trim(0) on a libuv pool thread (it walks the free
 * chunks for 30–220 ms; the event loop goes on). Never throws; unref'd.
 */
export function startHeapTrimmer(intervalMs = HEAP_TRIM_INTERVAL_MS): HeapTrimmer {
  let running = false;
  const state = { trims: 0 };
  const trim = () => {
    if (!trimFn || running) return;
    running = true;
    try {
      trimFn.async(0, (err) => {
        running = false;
        if (err) log.debug(`malloc_trim failed: ${String(err)}`);
        else state.trims++;
      });
    } catch (err) {
      running = false;
      log.debug(`malloc_trim unavailable: ${(err as Error).message}`);
    }
  };
  const timer = setInterval(trim, intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer), trimNow: trim, get trims() { return state.trims; } };
}
