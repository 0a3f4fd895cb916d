import { describe, expect, it } from 'vitest';
import { STMT_NBUF, STMT_NWAL } from '../../../src/collectors/statements/sched-abi.js';
import { USAGE_SPAN_MAX, usageSpan } from '../../../src/collectors/statements/usage-span.js';

describe('usageSpan: one read over pgBufferUsage and pgWalUsage', () => {
  it('covers both blocks from the lower address when they are neighbours (PostgreSQL 15 on Debian)', () => {
    // nm: pgWalUsage 0x8870e0, pgBufferUsage 0x887100
    const s = usageSpan(0x887100n, 0x8870e0n);
    expect(s).toEqual({ usage_base: 0x8870e0n, usage_len: 0x20 + STMT_NBUF * 8, usage_buf_off: 0x20, usage_wal_off: 0 });
  });

  it('works in either order', () => {
    const s = usageSpan(0x1000n, 0x1000n + BigInt(STMT_NBUF * 8));
    expect(s).toEqual({ usage_base: 0x1000n, usage_len: (STMT_NBUF + STMT_NWAL) * 8, usage_buf_off: 0, usage_wal_off: STMT_NBUF * 8 });
  });

  it('falls back to two reads (usage_len 0) when they are farther apart than the scratch', () => {
    expect(usageSpan(0x1000n, 0x1000n + BigInt(USAGE_SPAN_MAX)).usage_len).toBe(0);
    expect(usageSpan(0x5000n, 0x1000n).usage_len).toBe(0);
  });
});
