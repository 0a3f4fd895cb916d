import { describe, expect, it } from 'vitest';
import { acquire, pooled, release } from '../../src/dataset/typed-pool.js';

describe('typed-array pool of the column buffers', () => {
  it('hands a released array out again for the same type and length only; null bitmaps zeroed', () => {
    const a = acquire(BigInt64Array, 4096);
    a[7] = 42n;
    release(a);
    expect(pooled()).toBeGreaterThanOrEqual(a.byteLength);
    expect(acquire(Float64Array, 4096)).not.toBe(a);
    expect(acquire(BigInt64Array, 4096)).toBe(a);
    const n = acquire(Uint8Array, 100);
    n[3] = 1;
    release(n);
    const again = acquire(Uint8Array, 100);
    expect(again).toBe(n);
    expect(again[3]).toBe(0);
  });

  it('keeps at most 8 MiB: further arrays are left to the garbage collector', () => {
    const before = pooled();
    const big = Array.from({ length: 10 }, () => acquire(Uint8Array, 1 << 20));
    for (const x of big) release(x);
    expect(pooled()).toBeLessThanOrEqual(8 << 20);
    expect(pooled()).toBeGreaterThan(before);
    for (let i = 0; i < 10; i++) acquire(Uint8Array, 1 << 20);
  });
});
