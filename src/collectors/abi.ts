/**
 * The TypeScript view of bpf/pgscout.h: what every collector's records share
 * (the perf counter slots). Checked against the objects' BTF by
 * test/collectors/abi.test.ts.
 */
import { COUNTERS } from '../bpf/perf.js';

/** Length of every `counters[]` array (enum pgs_counter has one slot per COUNTERS entry). */
export const PGS_NCOUNTERS = COUNTERS.length;

/** enum pgs_counter: slot index by counter name. */
export const COUNTER_SLOTS: Readonly<Record<string, number>> = Object.fromEntries(COUNTERS.map((c, i) => [c.name, i]));

/** Perf counter maps a collector object declares (bpf/threads.h CTR_MAP). */
export const COUNTER_MAPS: readonly string[] = COUNTERS.map((c) => c.map);

/** STMT_NBUF / STMT_NWAL in bpf/pgscout.h: PostgreSQL's BufferUsage and WalUsage counters, as int64 arrays. */
export const STMT_NBUF = 10;
export const STMT_NWAL = 3;
