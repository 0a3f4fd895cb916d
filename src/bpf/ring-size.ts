/**
 * Ring buffers are mapped into pgscout twice (the data pages are mapped back
 * to back), and every page cycles through its RSS: a ring is sized for what it
 * must hold between drains, not for the worst case of every configuration.
 */

const MIN_RING = 1 << 20;

/** The smallest power-of-two multiple of `min` that holds `want`, at most `max`: how rings and budget-sized maps grow. */
export function powerOfTwoFor(want: number, min: number, max: number): number {
  let n = min;
  while (n < want && n < max) n *= 2;
  return Math.min(n, max);
}

/**
 * Bytes for `perSecond` records of `recordBytes` held `seconds` long (a few
 * drain intervals of slack): a power of two from 1 MiB up to `max`. Without a
 * budget (every record wanted) the ring gets `max`.
 */
export function ringBytes(perSecond: number | null, recordBytes: number, max: number, seconds = 4): number {
  if (perSecond === null) return max;
  return powerOfTwoFor(perSecond * (recordBytes + 8) * seconds, MIN_RING, max);   // + the ring's 8-byte record header
}
