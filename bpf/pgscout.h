/* Structs shared by the BPF programs and the TypeScript decoders.
 * Plain fixed-width fields only, every field naturally aligned, so the
 * layout is the same for clang -target bpf and for the TS decoder in
 * src/bpf/records.ts (test/bpf/records.test.ts checks it against BTF). */
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

#define PGS_TEXT_MAX 4096

/* stmt_record.flags */
#define PGS_F_ERROR      (1u << 0)  /* aborted by an error inside execution */
#define PGS_F_EXTENDED   (1u << 1)  /* extended protocol (no query__start) */
#define PGS_F_COMMIT     (1u << 2)  /* the transaction committed with this statement */
#define PGS_F_ABORT      (1u << 3)  /* the transaction aborted with this statement */
#define PGS_F_HAS_ROWS   (1u << 4)  /* an executor run reported es_processed */
#define PGS_F_TRUNCATED  (1u << 5)  /* finalized early (backend exit) */

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
	__u32 counter_mask;      /* bit i: counters[i] valid */
	__u32 flags;             /* PGS_F_* */
	__u32 pid;
	__u32 stmt_index;        /* index within a multi-statement query string */
	__u32 lxid;              /* local transaction id at commit/abort */
	__u32 cpu_migrations;
	__u32 dbid;              /* MyDatabaseId of the backend */
	__u32 _pad;
};

/* Ring buffer event: the source text of a query id seen for the first time.
 * Literals are removed in user space before anything is written. */
struct text_event {
	__u64 query_id;
	__u32 pid;
	__u32 stmt_index;
	__u32 len;
	__u32 _pad;
	char text[PGS_TEXT_MAX];
};

/* Collector self-metrics, a per-CPU array indexed by these. */
enum pgs_stat {
	PGS_STAT_FINISHED = 0,    /* records put in the finished map */
	PGS_STAT_DROP_FULL,       /* finished map full: record lost */
	PGS_STAT_TEXT_SENT,
	PGS_STAT_TEXT_DROP,       /* ring buffer full */
	PGS_STAT_THREAD_FULL,     /* thread map full: backend not tracked */
	PGS_STAT_DISCARDED,       /* started but never executed (parse error, prepare only) */
	PGS_STAT_ERRORS,
	PGS_STAT_MAX,
};


/* ---- operator level ---- */

#define PGS_NFEATURES 4
#define PGS_MAX_TAG 64            /* plan node tags index the feature table */

/* node_record.flags */
#define PGS_N_RAN        (1u << 0)  /* called since the last loop boundary */
#define PGS_N_PROBED     (1u << 2)  /* its function was probed when it was initialized */
#define PGS_N_FIRST_TUP  (1u << 3)
#define PGS_N_IDENTIFIED (1u << 4)  /* statement identity taken at first call */

/* Live node instances, keyed by process and PlanState address. */
struct node_key {
	__u32 pid;
	__u32 _pad;
	__u64 planstate;
};

/* Finished node instances, keyed by statement execution and node. */
struct node_done_key {
	__u32 leader_pid;
	__u32 seq;
	__u32 plan_node_id;
	__u32 pid;
};

struct node_record {
	__u64 query_id;
	__u64 fn_addr;               /* ExecProcNodeReal */
	__u64 startup_cost_bits;     /* double */
	__u64 total_cost_bits;       /* double */
	__u64 plan_rows_bits;        /* double */
	__u64 features[PGS_NFEATURES];
	__u64 calls;
	__u64 tuples;
	__u64 loops;
	__u64 first_call_ns;
	__u64 first_tuple_ns;        /* first tuple - first call */
	__u64 incl_ns;
	__u64 excl_ns;
	__u64 excl_off_cpu_ns;
	__u64 excl_runq_ns;
	__u64 net_recv_bytes;
	__u64 net_send_bytes;
	__u64 disk_read_bytes;
	__u64 disk_write_bytes;
	__u64 hash_buckets;
	__u64 hash_batches;
	__u64 counters[PGS_NCOUNTERS];   /* exclusive */
	__u32 counter_mask;
	__u32 flags;
	__u32 pid;
	__u32 leader_pid;
	__u32 seq;
	__u32 plan_node_id;
	__s32 parent_node_id;
	__s32 worker;
	__u32 depth;
	__u32 tag;                   /* executor state NodeTag */
	__u32 plan_tag;              /* plan NodeTag */
	__u32 plan_width;
	__u32 parallel_aware;
	__u32 subplan;               /* 1: root of an InitPlan/SubPlan tree */
	__s32 left_child_id;         /* Plan.lefttree->plan_node_id, -1: none */
	__s32 right_child_id;        /* Plan.righttree->plan_node_id, -1: none */
};

/* A node function address seen for the first time (user space probes it). */
struct fn_event {
	__u64 fn_addr;
	__u32 tag;
	__u32 plan_tag;
};

/* feature slot flags (rodata table) */
#define PGS_FEAT_RELATION 1          /* value is a range-table index: resolve to relid */

enum pgs_op_stat {
	PGS_OSTAT_NODES_DONE = 0,
	PGS_OSTAT_DROP_FULL,
	PGS_OSTAT_FN_EVENTS,
	PGS_OSTAT_STACK_OVERFLOW,
	PGS_OSTAT_UNPROBED,
	PGS_OSTAT_MAX,
};

#endif
