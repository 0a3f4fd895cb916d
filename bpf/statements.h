/* Statement collector: the structs statements.bpf.c shares with
 * src/collectors/statements/abi.ts. */
#ifndef PGSCOUT_STATEMENTS_H
#define PGSCOUT_STATEMENTS_H

#include "pgscout.h"

#define PGS_TEXT_MAX 4096

/* stmt_record.flags (an enum, so BTF carries the values for the layout test) */
enum pgs_stmt_flag {
	PGS_F_ERROR     = 1u << 0,  /* aborted by an error inside execution */
	PGS_F_EXTENDED  = 1u << 1,  /* extended protocol (no query__start) */
	PGS_F_COMMIT    = 1u << 2,  /* the transaction committed with this statement */
	PGS_F_ABORT     = 1u << 3,  /* the transaction aborted with this statement */
	PGS_F_HAS_ROWS  = 1u << 4,  /* an executor run reported es_processed */
	PGS_F_TRUNCATED = 1u << 5,  /* finalized early (backend exit) */
	PGS_F_NOT_A_CALL = 1u << 6, /* ran no query pg_stat_statements counts (SQL PREPARE): discarded */
	PGS_F_ABORTED   = 1u << 7,  /* the backend exited while the statement ran (terminated, crashed) */
};

struct stmt_key {
	__u32 pid;
	__u32 seq;
};

struct stmt_record {
	__u64 query_id;
	__u64 start_ns;          /* CLOCK_MONOTONIC (bpf_ktime_get_ns) */
	__u64 end_ns;
	__u64 parse_ns;
	__u64 plan_ns;
	__u64 execute_ns;        /* top-level PortalRun */
	__u64 executor_ns;       /* outermost standard_ExecutorRun */
	__u64 on_cpu_ns;
	__u64 off_cpu_ns;
	__u64 runq_ns;           /* off-CPU while runnable (preempted) */
	__u64 nvcsw;
	__u64 nivcsw;
	__u64 rows;
	__u64 io_read_bytes;     /* task ioac.read_bytes: storage reads */
	__u64 io_write_bytes;    /* task ioac.write_bytes: dirtied for writeback */
	__u64 rchar;             /* task ioac.rchar: read-family syscalls, all fds */
	__u64 wchar;
	__u64 syscr;
	__u64 syscw;
	__u64 net_recv_bytes;    /* sock:sock_recv_length */
	__u64 net_send_bytes;    /* sock:sock_send_length */
	__u64 minflt;
	__u64 majflt;
	__u64 counters[PGS_NCOUNTERS];
	__u64 buf[STMT_NBUF];    /* pgBufferUsage delta */
	__u64 wal[STMT_NWAL];    /* pgWalUsage delta */
	__u32 counter_mask;      /* bit i: counters[i] valid */
	__u32 flags;             /* PGS_F_* */
	__u32 pid;
	__u32 stmt_index;        /* index within a multi-statement query string */
	__u32 lxid;              /* local transaction id at commit/abort */
	__u32 cpu_migrations;
	__u32 dbid;              /* MyDatabaseId of the backend */
	__u32 sample_p32;        /* probability it was kept with, × 2^32 (~0: all; 0: kept as slow or failed) */
};

/* Ring buffer event: the source text of a query id seen for the first time.
 * Literals are removed in user space before anything is written. */
struct stmt_text_event {
	__u64 query_id;
	__u32 pid;
	__u32 stmt_index;
	__u32 len;
	__u32 _pad;
	char text[PGS_TEXT_MAX];
};

/* Collector self-metrics, a per-CPU array indexed by these. */
enum pgs_stmt_stat {
	PGS_STAT_FINISHED = 0,    /* records put in the finished map (sampled, slow or failed executions) */
	PGS_STAT_DROP_FULL,       /* finished map full: record lost */
	PGS_STAT_TEXT_SENT,
	PGS_STAT_TEXT_DROP,       /* ring buffer full */
	PGS_STAT_THREAD_FULL,     /* thread map full: backend not tracked */
	PGS_STAT_DISCARDED,       /* started but never executed (parse error, prepare only) */
	PGS_STAT_ERRORS,
	PGS_STAT_CALLS,           /* executions summed into the aggregate maps (calls + errors) */
	PGS_STAT_AGG_FULL,        /* aggregate map full: execution not summed */
	PGS_STAT_MAX,
};

#endif
