/** The default source's per-CPU aggregates: merging every CPU's copy, and the memory bound on the maps. */
import { describe, expect, it } from 'vitest';
import { aggEntries, sumCopies } from '../../../src/collectors/statements/sched-agg.js';
import { stmtAggKeyLayout, stmtAggLayout } from '../../../src/collectors/statements/sched-abi.js';
import { AggregateMaps, STMT_AGG_MAPS } from '../../../src/collectors/statements/agg-maps.js';
import type { BpfObject } from '../../../src/bpf/object.js';

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

/** A map that hands out fixed entries once (the kernel's lookup-and-delete). */
function fakeMap(entries: [bigint, Buffer][]) {
  const keySize = stmtAggKeyLayout.size;
  return {
    maxEntries: 16, fd: -1,
    update: () => undefined,
    drain() {
      const keys = Buffer.alloc(keySize * entries.length);
      entries.forEach(([qid], i) => keys.writeBigUInt64LE(qid, i * keySize + stmtAggKeyLayout.byName.get('query_id')!.offset));
      const out = { count: entries.length, keys, values: Buffer.concat(entries.map(([, v]) => v)) };
      entries = [];
      return out;
    },
  };
}

describe('AggregateMaps.drainAll', () => {
  it('takes both maps after detach: a key written to each is one aggregate, merged like more CPUs', () => {
    const maps: Record<string, ReturnType<typeof fakeMap>> = {
      stmt_ctl: fakeMap([]),
      stmt_agg0: fakeMap([[7n, copies([{ calls: 2n, total_ns: 30n, min_ns: 10n, max_ns: 20n }, {}])], [8n, copies([{ calls: 1n, min_ns: 5n, max_ns: 5n }, {}])]]),
      stmt_agg1: fakeMap([[7n, copies([{}, { calls: 1n, total_ns: 4n, min_ns: 4n, max_ns: 4n }])]]),
    };
    const obj = { map: (name: string) => maps[name] } as unknown as BpfObject;
    const aggs = new AggregateMaps(obj, 2, { slowNs: 0, rowsPerSecond: null }, STMT_AGG_MAPS);
    const drained = aggs.drainAll().aggregates.sort((a, b) => Number(a.queryId - b.queryId));
    expect(drained.map((d) => [d.queryId, d.agg.calls, d.agg.total_ns, d.agg.min_ns, d.agg.max_ns])).toEqual([
      [7n, 3n, 34n, 4n, 20n],
      [8n, 1n, 0n, 5n, 5n],
    ]);
    expect(aggs.drainAll().aggregates).toEqual([]);
  });
});
