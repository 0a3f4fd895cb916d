import { describe, expect, it } from 'vitest';
import { KEEP_ALL, keepProbability, keepProbabilityMoved, sampleWeight } from '../../../src/collectors/statements/agg-maps.js';

describe('keep probability', () => {
  it('is the row budget over the statement rate, as a fraction of 2^32, and its weight the inverse', () => {
    expect(keepProbability(500, 40_000)).toBe(Math.floor((500 / 40_000) * 2 ** 32));
    expect(sampleWeight(keepProbability(500, 40_000))).toBeCloseTo(80, 6);
    expect(keepProbability(500, 100)).toBe(KEEP_ALL);
    expect(keepProbability(null, 1e6)).toBe(KEEP_ALL);
  });

  it('is written to the kernel again only when it moved by more than 1/32 or to or from keep-all', () => {
    const p = keepProbability(500, 40_000);
    expect(keepProbabilityMoved(p, p)).toBe(false);
    expect(keepProbabilityMoved(p, keepProbability(500, 40_800))).toBe(false); // 2 % more statements
    expect(keepProbabilityMoved(p, keepProbability(500, 42_000))).toBe(true);  // 5 %
    expect(keepProbabilityMoved(p, keepProbability(500, 38_000))).toBe(true);
    expect(keepProbabilityMoved(KEEP_ALL, p)).toBe(true);
    expect(keepProbabilityMoved(p, KEEP_ALL)).toBe(true);
  });
});
