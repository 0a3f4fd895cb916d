/**
 * A long-running collector's memory: measured in bench/soak.mjs, most of its
 * RSS beyond the code was not live data but memory freed and kept — V8's
 * young generation at its default 16 MiB semi-spaces, and glibc arenas of
 * V8's background threads (a 64 MiB arena heap resident after compile and GC
 * bursts). Both are told to give back: small semi-spaces, and fixed malloc
 * thresholds (a freed large block is unmapped, the heap top is trimmed).
 */
import v8 from 'node:v8';
import koffi from 'koffi';
import { logger } from './log.js';

const log = logger('memory');

const M_TRIM_THRESHOLD = -1;
const M_MMAP_THRESHOLD = -3;

export function tuneDaemonMemory(): void {
  v8.setFlagsFromString('--max-semi-space-size=2');
  try {
    const mallopt = koffi.load('libc.so.6').func('int mallopt(int param, int value)');
    mallopt(M_MMAP_THRESHOLD, 128 << 10);
    mallopt(M_TRIM_THRESHOLD, 128 << 10);
  } catch (err) {
    // Not glibc (musl has no mallopt): only the V8 part applies.
    log.debug(`mallopt unavailable: ${(err as Error).message}`);
  }
}
