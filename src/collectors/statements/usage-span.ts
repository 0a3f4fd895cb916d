/**
 * Where the default source reads a backend's pgBufferUsage and pgWalUsage.
 * Both are globals of the postgres binary and neighbours in its .bss on the
 * builds we know (PostgreSQL 15 on Debian: pgWalUsage 32 bytes before
 * pgBufferUsage): one user-memory read over both instead of two, at every
 * statement end. Farther apart than the program's scratch (256 bytes), the
 * program falls back to two reads (usage_len = 0).
 */
import { STMT_NBUF, STMT_NWAL } from './sched-abi.js';

export const USAGE_SPAN_MAX = 256;

export interface UsageSpan {
  usage_base: bigint;
  usage_len: number;
  usage_buf_off: number;
  usage_wal_off: number;
}

/** The one read covering both counter blocks, or usage_len 0 when they are too far apart. */
export function usageSpan(bufAddr: bigint, walAddr: bigint): UsageSpan {
  const bufLen = BigInt(STMT_NBUF * 8);
  const walLen = BigInt(STMT_NWAL * 8);
  const base = bufAddr < walAddr ? bufAddr : walAddr;
  const end = bufAddr + bufLen > walAddr + walLen ? bufAddr + bufLen : walAddr + walLen;
  const len = end - base;
  if (len > BigInt(USAGE_SPAN_MAX)) return { usage_base: 0n, usage_len: 0, usage_buf_off: 0, usage_wal_off: 0 };
  return { usage_base: base, usage_len: Number(len), usage_buf_off: Number(bufAddr - base), usage_wal_off: Number(walAddr - base) };
}
