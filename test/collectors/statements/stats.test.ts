/** query_stats in user space (--exact) and the histogram convention shared with the kernel. */
import { describe, expect, it } from 'vitest';
import { HISTOGRAM_BOUNDARIES_S, HISTOGRAM_BUCKETS, histogramColumn, histogramLowerUs } from '../../../src/dataset/histogram.js';
import { histogramBucket, StatsAggregator } from '../../../src/collectors/statements/stats-aggregator.js';
import { sampleWeight } from '../../../src/collectors/statements/agg-maps.js';
import { QUERY_STATS_COLUMNS } from '../../../src/collectors/statements/stats-table.js';

describe('duration histogram', () => {
  it('puts a duration in [2^i, 2^(i+1)) µs into bucket i, 0 from zero, the last open-ended', () => {
    expect(histogramBucket(0n)).toBe(0);
    expect(histogramBucket(1_999n)).toBe(0);
    expect(histogramBucket(2_000n)).toBe(1);
    expect(histogramBucket(3_999n)).toBe(1);
    expect(histogramBucket(4_000n)).toBe(2);
    expect(histogramBucket(1_000_000n)).toBe(9); // 1000 µs: 512 ≤ 1000 < 1024
    expect(histogramBucket(3_600_000_000_000n)).toBe(HISTOGRAM_BUCKETS - 1);
    for (let i = 1; i < HISTOGRAM_BUCKETS; i++) expect(histogramBucket(BigInt(histogramLowerUs(i)) * 1000n)).toBe(i);
  });

  it('has metric boundaries at the upper bound of every bucket but the last', () => {
    expect(HISTOGRAM_BOUNDARIES_S).toHaveLength(HISTOGRAM_BUCKETS - 1);
    HISTOGRAM_BOUNDARIES_S.forEach((b, i) => expect(b * 1e6).toBeCloseTo(histogramLowerUs(i + 1), 6));
  });
});

describe('StatsAggregator', () => {
  const row = (over: Record<string, unknown>) => ({
    query_id: 1n, fingerprint: 'f', query_text: 'SELECT $1', command: 'SELECT', database: 'db',
    duration_ns: 1_000n, on_cpu_ns: 600n, off_cpu_ns: 400n, runq_wait_ns: 0n, rows: 1n, shared_blks_hit: 3n, wal_bytes: null,
    ...over,
  });

  it('sums calls, labels and buckets per query_id and database; errors apart; one row per key per interval', () => {
    const agg = new StatsAggregator();
    agg.add(row({}));
    agg.add(row({ duration_ns: 5_000_000n, on_cpu_ns: 5_000_000n, off_cpu_ns: 0n, rows: 2n }));
    agg.add(row({ database: 'other' }));
    agg.addError(row({}));
    const rows = agg.take(10n, 20n);
    expect(rows).toHaveLength(2);
    const r = rows.find((x) => x.database === 'db')!;
    expect(r).toMatchObject({
      interval_start: 10n, interval_end: 20n, calls: 2n, errors: 1n, duration_ns: 5_001_000n, min_duration_ns: 1_000n,
      max_duration_ns: 5_000_000n, on_cpu_ns: 5_000_600n, rows: 3n, shared_blks_hit: 6n, wal_bytes: null, source: 'exact',
    });
    expect(r.sumsq_duration_us2).toBe(1 + 5000 * 5000);
    expect(r[histogramColumn(0)]).toBe(1n);
    expect(r[histogramColumn(12)]).toBe(1n); // 5000 µs: 4096 ≤ 5000 < 8192
    expect(agg.take(20n, 30n)).toEqual([]);
  });

  it('fills every query_stats column', () => {
    const agg = new StatsAggregator();
    agg.add(row({}));
    const [r] = agg.take(0n, 1n);
    for (const c of QUERY_STATS_COLUMNS) {
      expect(r, c.name).toHaveProperty(c.name);
      if (!c.nullable) expect(r![c.name], c.name).not.toBeNull();
    }
  });
});

describe('sample weights', () => {
  it('is 1 / probability; 1 for kept-because-slow and keep-all', () => {
    expect(sampleWeight(0)).toBe(1);
    expect(sampleWeight(0xffffffff)).toBe(1);
    expect(sampleWeight(2 ** 31)).toBe(2);
    expect(sampleWeight(2 ** 30)).toBe(4);
  });
});
