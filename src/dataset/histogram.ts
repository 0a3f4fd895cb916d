/**
 * The latency histogram convention of the aggregate tables: columns
 * `duration_hist_00` … `duration_hist_23`, bucket i holding calls with
 * duration in [2^i, 2^(i+1)) µs (bucket 0 from 0, the last open-ended).
 * Powers of two so BPF computes the bucket with shifts, and so the metric
 * histogram can use the same boundaries.
 */
export const HISTOGRAM_BUCKETS = 24;

export const histogramColumn = (i: number): string => `duration_hist_${String(i).padStart(2, '0')}`;

/** Lower bound (µs) of bucket i. */
export function histogramLowerUs(i: number): number {
  return i === 0 ? 0 : 2 ** i;
}

/** Upper bounds (seconds) of buckets 0 … n-2: the boundaries of a matching metric histogram. */
export const HISTOGRAM_BOUNDARIES_S: readonly number[] = Array.from({ length: HISTOGRAM_BUCKETS - 1 }, (_, i) => 2 ** (i + 1) / 1e6);
