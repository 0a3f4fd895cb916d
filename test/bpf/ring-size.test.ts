import { describe, expect, it } from 'vitest';
import { ringBytes } from '../../src/bpf/ring-size.js';

describe('ringBytes', () => {
  it('holds the budget for a few seconds, as a power of two between 1 MiB and the maximum', () => {
    expect(ringBytes(1000, 400, 16 << 20)).toBe(2 << 20);          // 1000/s × 408 B × 4 s = 1.6 MB
    expect(ringBytes(10, 400, 16 << 20)).toBe(1 << 20);
    expect(ringBytes(1e6, 400, 16 << 20)).toBe(16 << 20);
    expect(ringBytes(null, 400, 16 << 20)).toBe(16 << 20);
  });
});
