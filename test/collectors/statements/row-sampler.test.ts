/** --exact's user-space row sampling: budget per drain, slow executions always kept, weights 1/p. */
import { describe, expect, it } from 'vitest';
import { RowSampler } from '../../../src/collectors/statements/row-sampler.js';

const rows = (n: number, durationNs = 1_000n) => Array.from({ length: n }, (_, i) => ({ exec_id: BigInt(i), duration_ns: durationNs, sample_weight: 1 }));

describe('RowSampler', () => {
  it('keeps every row when the budget is null or not exceeded', () => {
    expect(new RowSampler({ rowsPerSecond: null, slowNs: 0 }).take(rows(5000))).toHaveLength(5000);
    expect(new RowSampler({ rowsPerSecond: 1e6, slowNs: 0 }).take(rows(50))).toHaveLength(50);
  });

  it('over budget keeps about budget × seconds rows, each weighted 1/p, so weights add up to the executions', async () => {
    const sampler = new RowSampler({ rowsPerSecond: 1000, slowNs: 0 });
    await new Promise((r) => setTimeout(r, 100));
    const kept = sampler.take(rows(10_000));
    expect(kept.length).toBeGreaterThan(40);
    expect(kept.length).toBeLessThan(400);
    const weights = kept.reduce((a, r) => a + Number(r.sample_weight), 0);
    expect(weights).toBeGreaterThan(5_000);
    expect(weights).toBeLessThan(20_000);
    for (const r of kept) expect(r.sample_weight).toBe(kept[0]!.sample_weight);
  });

  it('keeps slow executions always, with weight 1', () => {
    const sampler = new RowSampler({ rowsPerSecond: 1, slowNs: 10_000_000 }, () => 0.999);
    const kept = sampler.take([...rows(1000), ...rows(3, 50_000_000n)]);
    expect(kept).toHaveLength(3);
    for (const r of kept) expect(r.sample_weight).toBe(1);
  });
});
