/**
 * Typed arrays of the column buffers, kept for reuse when a buffer grows or
 * its writer closes. In a VM every first touch of a fresh page is a costly
 * fault, and a freed large ArrayBuffer goes back to the OS: a collector that
 * restarts its writers (a new collection in the same process, a re-attach)
 * would fault its row-group buffers in again. Bounded in bytes.
 */
export type NumericArray = BigInt64Array | Float64Array | Int32Array | Uint8Array;
type Ctor<T extends NumericArray> = new (n: number) => T;

// Row groups are one drain of rows since every drain is synced: a few MB of arrays is what a
// writer reuses; more only pinned arrays of sizes nobody asked for again (64 MB measured in a soak).
const MAX_POOLED_BYTES = 8 << 20;
const free = new Map<Ctor<NumericArray>, NumericArray[]>();
let pooledBytes = 0;

/**
 * An array of exactly `length` elements, from the pool when one fits. Only a
 * Uint8Array (a null bitmap) is zeroed: value arrays are written before read,
 * and zeroing would touch every page again.
 */
export function acquire<T extends NumericArray>(ctor: Ctor<T>, length: number): T {
  const list = free.get(ctor as Ctor<NumericArray>);
  const i = list ? list.findIndex((a) => a.length === length) : -1;
  if (i < 0) return new ctor(length);
  const [arr] = list!.splice(i, 1) as T[];
  pooledBytes -= arr!.byteLength;
  if (arr instanceof Uint8Array) arr.fill(0);
  return arr!;
}

/** Hands an array back; dropped (left to the GC) when the pool is full. */
export function release(arr: NumericArray | null | undefined): void {
  if (!arr || pooledBytes + arr.byteLength > MAX_POOLED_BYTES) return;
  const ctor = arr.constructor as Ctor<NumericArray>;
  const list = free.get(ctor) ?? [];
  list.push(arr);
  free.set(ctor, list);
  pooledBytes += arr.byteLength;
}

/** Bytes held for reuse. */
export function pooled(): number {
  return pooledBytes;
}
