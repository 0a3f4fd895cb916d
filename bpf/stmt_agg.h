/* Per-query aggregates in per-CPU kernel maps, shared by both statement
 * sources (bpf/stmt_sched.bpf.c, bpf/statements.bpf.c): the structs user
 * space decodes (src/collectors/statements/sched-abi.ts), the maps both
 * sources own (aggregates, control block, pgscout's own pids) and the helpers
 * that add one execution. Include after the BPF headers. */
#ifndef PGSCOUT_STMT_AGG_H
#define PGSCOUT_STMT_AGG_H

#include "pgscout.h"
#include "keep_rate.h"
#include "map_slot.h"

#define STMT_NHIST 24     /* duration buckets: [2^i, 2^(i+1)) µs, bucket 0 from 0, the last open-ended */

/* Aggregation key: one query_stats row per interval. */
struct stmt_agg_key {
	__u64 query_id;
	__u32 dbid;
	__u32 userid;
};

struct stmt_agg {
	__u64 calls;
	__u64 coalesced;          /* further statements ended unseen (autocommit: local xid advanced > 1) */
	__u64 total_ns;
	__u64 min_ns;
	__u64 max_ns;
	__u64 sumsq_us;           /* sum of squared durations, in µs² */
	__u64 on_cpu_ns;
	__u64 off_cpu_ns;
	__u64 runq_ns;
	__u64 net_recv_bytes;
	__u64 net_send_bytes;
	__u64 task[STMT_NTASK];
	__u64 buf[STMT_NBUF];
	__u64 wal[STMT_NWAL];
	__u64 hist[STMT_NHIST];
	__u64 errors;             /* --exact: executions an error ended (not in calls) */
	__u64 rows;               /* --exact: sum of rows over the calls that reported them */
	__u64 rows_calls;         /* --exact: calls that reported rows */
};

/* Control block (array map `stmt_ctl`, written by user space every interval). */
struct stmt_ctl {
	__u32 gen;                /* which aggregation map programs write: 0 or 1 */
	__u32 rows_per_s;         /* row budget for executions faster than slow_ns (KEEP_NO_BUDGET: all) */
	__u64 slow_ns;            /* executions at least this long are always kept */
};

#ifdef __BPF__
/* Two per-CPU maps written alternately (stmt_ctl.gen): user space takes the
 * idle one whole. Per-CPU: the programs run with migration off, so plain
 * adds replace the atomics two cores fought over (user space sums the copies). */
#define AGG_MAP(name) \
	struct { \
		__uint(type, BPF_MAP_TYPE_PERCPU_HASH); \
		__uint(max_entries, 16384); \
		__type(key, struct stmt_agg_key); \
		__type(value, struct stmt_agg); \
	} name SEC(".maps")
AGG_MAP(stmt_agg0);
AGG_MAP(stmt_agg1);

#include "own_pids.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct stmt_ctl);
} stmt_ctl SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct stmt_agg);
} zero_agg SEC(".maps");

/* The key's slot in `map` (stmt_agg0 or stmt_agg1), created when missing. */
static __always_inline struct stmt_agg *agg_slot(void *map, struct stmt_agg_key *key, bool *created)
{
	return map_slot(map, key, &zero_agg, created);
}

/* floor(log2(µs)) capped at the last bucket, 0 below 2 µs: five shifts
 * instead of a compare per bucket on every statement. */
static __always_inline __u32 hist_bucket(__u64 ns)
{
	__u64 us = ns / 1000;
	__u32 b = 0;
	if (us >> 32) { us >>= 32; b += 32; }
	if (us >> 16) { us >>= 16; b += 16; }
	if (us >> 8) { us >>= 8; b += 8; }
	if (us >> 4) { us >>= 4; b += 4; }
	if (us >> 2) { us >>= 2; b += 2; }
	if (us >> 1)
		b += 1;
	return b < STMT_NHIST - 1 ? b : STMT_NHIST - 1;
}

/* One call of `dur` ns: count, min/max, sum, sum of squares, histogram. */
static __always_inline void agg_call(struct stmt_agg *a, __u64 dur)
{
	__u64 us = dur / 1000;
	a->calls++;
	a->total_ns += dur;
	a->sumsq_us += us * us;
	if (a->calls == 1 || dur < a->min_ns)
		a->min_ns = dur;
	if (dur > a->max_ns)
		a->max_ns = dur;
	__u32 b = hist_bucket(dur);
	if (b < STMT_NHIST)
		a->hist[b] += 1;
}

/* Should this execution be handed over as a row? Slow ones always, the rest
 * with probability p32 (keep_p32(): the row budget over the execution rate). */
static __always_inline bool agg_keep(struct stmt_ctl *ctl, __u32 p32, __u64 dur, bool *slow)
{
	*slow = ctl->slow_ns && dur >= ctl->slow_ns;
	return *slow || keep_draw(p32);
}
#endif

#endif
