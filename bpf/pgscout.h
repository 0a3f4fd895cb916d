/* What every collector shares with user space: the perf counter slots.
 * Each collector has its own header of plain structs (statements.h,
 * operators.h): fixed-width fields only, every field naturally aligned, so
 * the layout is the same for clang -target bpf and for the TypeScript view in
 * src/collectors/<name>/abi.ts (test/collectors/abi.test.ts checks it
 * against the object's BTF, enums and array sizes included). */
#ifndef PGSCOUT_H
#define PGSCOUT_H

#define PGS_NCOUNTERS 6
enum pgs_counter {
	PGS_CTR_CPU_CLOCK = 0,   /* software cpu-clock, ns */
	PGS_CTR_CYCLES = 1,
	PGS_CTR_INSTRUCTIONS = 2,
	PGS_CTR_CACHE_REFS = 3,
	PGS_CTR_CACHE_MISSES = 4,
	PGS_CTR_REF_CYCLES = 5,
};

/* PostgreSQL's per-backend usage counters, read as arrays of int64 */
#define STMT_NBUF 10      /* BufferUsage: shared hit/read/dirtied/written, local ×4, temp read/written */
#define STMT_NWAL 3       /* WalUsage: records, fpi, bytes */
#define STMT_NTASK 10     /* task: nvcsw, nivcsw, minflt, majflt, read_bytes, write_bytes, rchar, wchar, syscr, syscw */

#endif
