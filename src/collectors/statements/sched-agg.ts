/**
 * The default source's aggregation maps are per-CPU (plain adds instead of
 * atomics two cores fight over); here every CPU's copy of one key becomes
 * one aggregate, and the maps are sized so their kernel memory stays bounded
 * whatever the CPU count.
 */
import { compileDecoder } from '../../bpf/struct-layout.js';
import { stmtAggLayout } from './sched-abi.js';

const decodeAgg = compileDecoder(stmtAggLayout);

export type Agg = Record<string, number | bigint | bigint[]>;

/** One aggregate from every CPU's copy: sums, except min and max (CPUs without calls left out). */
export function sumCopies(buf: Buffer, base: number, ncpus: number): Agg {
  let out: Agg | null = null;
  for (let c = 0; c < ncpus; c++) {
    const a = decodeAgg(buf, base + c * stmtAggLayout.size) as Agg;
    if ((a.calls as bigint) === 0n && (a.coalesced as bigint) === 0n && (a.errors as bigint) === 0n) continue;
    if (!out) { out = a; continue; }
    const o: Agg = out;
    const oHasCalls = (o.calls as bigint) > 0n;
    const aHasCalls = (a.calls as bigint) > 0n;
    for (const [name, v] of Object.entries(a)) {
      if (name === 'min_ns') {
        if (aHasCalls && (!oHasCalls || (v as bigint) < (o.min_ns as bigint))) o.min_ns = v;
      } else if (name === 'max_ns') {
        if ((v as bigint) > (o.max_ns as bigint)) o.max_ns = v;
      } else if (Array.isArray(v)) {
        (o[name] as bigint[]).forEach((x, i, arr) => { arr[i] = x + v[i]!; });
      } else {
        o[name] = (o[name] as bigint) + (v as bigint);
      }
    }
  }
  return out ?? (decodeAgg(buf, base) as Agg);
}

/** Kernel memory one aggregate map may take: per-CPU values grow with the CPU count. */
const AGG_MAP_BYTES = 32 << 20;

/** Distinct (query, db, user) keys per interval that fit the memory bound; overflow is counted as agg_full. */
export function aggEntries(ncpus: number, valueSize = stmtAggLayout.size): number {
  const fit = Math.floor(AGG_MAP_BYTES / (valueSize * Math.max(1, ncpus)));
  return Math.max(1024, Math.min(16384, fit));
}

