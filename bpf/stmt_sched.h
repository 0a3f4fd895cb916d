/* Statement collector, default source (bpf/stmt_sched.bpf.c): structs shared
 * with src/collectors/statements/sched-abi.ts. */
#ifndef PGSCOUT_STMT_SCHED_H
#define PGSCOUT_STMT_SCHED_H

#include "stmt_agg.h"

/* stmt_sample.flags */
enum pgs_sched_flag {
	PGS_S_SLOW      = 1u << 0,  /* kept because it ran at least --slow */
	PGS_S_PARTIAL   = 1u << 1,  /* began before the backend was first seen: times are partial */
	PGS_S_AT_SWITCH = 1u << 2,  /* end seen at a switch-out (kernel without sock_send_length), not at ReadyForQuery */
};

/* One sampled execution (ring buffer `samples`). */
struct stmt_sample {
	__u64 query_id;
	__u64 start_ns;
	__u64 end_ns;
	__u64 on_cpu_ns;
	__u64 off_cpu_ns;
	__u64 runq_ns;
	__u64 net_recv_bytes;
	__u64 net_send_bytes;
	__u64 pg_start_us;        /* st_activity_start_timestamp (µs since 2000-01-01) */
	__u64 pg_end_us;          /* st_state_start_timestamp of the idle state */
	__u64 task[STMT_NTASK];
	__u64 buf[STMT_NBUF];
	__u64 wal[STMT_NWAL];
	__u32 pid;
	__u32 seq;
	__u32 dbid;
	__u32 userid;
	__u32 flags;
	__u32 sample_p32;         /* probability it was kept with, × 2^32 (0: kept as slow) */
	__u32 coalesced;
	__u32 state;              /* BackendState it ended in */
};

enum pgs_sched_stat {
	PGS_SSTAT_STATEMENTS = 0,  /* statement ends seen */
	PGS_SSTAT_SAMPLED,
	PGS_SSTAT_SAMPLE_DROP,     /* ring buffer full: sampled row lost */
	PGS_SSTAT_AGG_FULL,        /* aggregation map full: statement not counted */
	PGS_SSTAT_TEXT_SENT,
	PGS_SSTAT_TEXT_DROP,
	PGS_SSTAT_THREAD_FULL,
	PGS_SSTAT_COALESCED,
	PGS_SSTAT_NO_EXECUTION,    /* a round trip that ran nothing: Parse + Sync (PQprepare), Parse + Describe + Sync */
	PGS_SSTAT_SLOT_REUSED,     /* at exit, the status slot held another backend already: nothing counted */
	PGS_SSTAT_FAILED,          /* ended by an error (ErrorResponse, or the transaction left aborted): in errors, not calls */
	PGS_SSTAT_PREPARE,         /* SQL PREPARE (CommandComplete "PREPARE"): not an execution, as in pg_stat_statements */
	PGS_SSTAT_SUSPENDED,       /* a round trip that left its portal suspended (Execute with a row limit): part of one call */
	PGS_SSTAT_UNREAD_ROUND_TRIPS, /* slot writes of more than one statement, reply unreadable (TLS, several sends): one call */
	PGS_SSTAT_MAX,
};

#endif
