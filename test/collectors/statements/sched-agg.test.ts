/** The default source's per-CPU aggregates: merging every CPU's copy, and the memory bound on the maps. */
import { describe, expect, it } from 'vitest';
import { aggEntries, sumCopies } from '../../../src/collectors/statements/sched-agg.js';
import { stmtAggLayout } from '../../../src/collectors/statements/sched-abi.js';

function copies(perCpu: Record<string, bigint | bigint[]>[]): Buffer {
  const size = stmtAggLayout.size;
  const buf = Buffer.alloc(size * perCpu.length);
  perCpu.forEach((fields, cpu) => {
    for (const [name, v] of Object.entries(fields)) {
      const f = stmtAggLayout.byName.get(name)!;
      const values = Array.isArray(v) ? v : [v];
      values.forEach((x, i) => buf.writeBigUInt64LE(x, cpu * size + f.offset + 8 * i));
    }
  });
  return buf;
}

describe('sumCopies', () => {
  it('adds counters and buckets, takes min and max over the CPUs that saw calls', () => {
    const buf = copies([
      { calls: 2n, total_ns: 300n, min_ns: 100n, max_ns: 200n, hist: [2n] },
      { calls: 0n, coalesced: 1n },
      { calls: 3n, total_ns: 900n, min_ns: 50n, max_ns: 500n, hist: [1n, 2n] },
      {},
    ]);
    const a = sumCopies(buf, 0, 4);
    expect(a.calls).toBe(5n);
    expect(a.coalesced).toBe(1n);
    expect(a.total_ns).toBe(1_200n);
    expect(a.min_ns).toBe(50n);
    expect(a.max_ns).toBe(500n);
    expect((a.hist as bigint[]).slice(0, 2)).toEqual([3n, 2n]);
  });

  it('keeps a lone CPU copy as it is, and a key with only coalesced statements has no min', () => {
    const one = sumCopies(copies([{}, { calls: 1n, total_ns: 70n, min_ns: 70n, max_ns: 70n }]), 0, 2);
    expect([one.calls, one.min_ns, one.max_ns]).toEqual([1n, 70n, 70n]);
    const none = sumCopies(copies([{ coalesced: 2n }, {}]), 0, 2);
    expect([none.calls, none.coalesced, none.min_ns]).toEqual([0n, 2n, 0n]);
  });
});

describe('aggEntries', () => {
  it('holds a map to 32 MiB of kernel memory, between 1024 and 16384 keys', () => {
    expect(aggEntries(2)).toBe(16_384);
    const at64 = aggEntries(64);
    expect(at64 * stmtAggLayout.size * 64).toBeLessThanOrEqual(32 << 20);
    expect(at64).toBeGreaterThanOrEqual(1024);
    expect(aggEntries(4096)).toBe(1024);
  });
});
