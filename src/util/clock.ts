/**
 * BPF timestamps are CLOCK_MONOTONIC (bpf_ktime_get_ns), as is Node's
 * hrtime. One offset, measured at start, maps them to Unix epoch ns so the
 * dataset joins with server logs and other tables.
 */
export class MonotonicToWall {
  readonly offsetNs: bigint;

  constructor() {
    // Take the sample with the smallest bracket to bound the error.
    let best = { width: BigInt(Number.MAX_SAFE_INTEGER), offset: 0n };
    for (let i = 0; i < 50; i++) {
      const before = process.hrtime.bigint();
      const wall = BigInt(Date.now()) * 1_000_000n;
      const after = process.hrtime.bigint();
      if (after - before < best.width) best = { width: after - before, offset: wall - (before + after) / 2n };
    }
    this.offsetNs = best.offset;
  }

  toWall(monotonicNs: bigint): bigint {
    return monotonicNs + this.offsetNs;
  }
}
