/* Operator collector: the structs operators.bpf.c shares with
 * src/collectors/operators/abi.ts. */
#ifndef PGSCOUT_OPERATORS_H
#define PGSCOUT_OPERATORS_H

#include "pgscout.h"

#define PGS_NFEATURES 4
#define PGS_MAX_TAG 64            /* plan node tags index the feature table */

/* node_record.flags */
enum pgs_node_flag {
	PGS_N_RAN        = 1u << 0,  /* called since the last loop boundary */
	PGS_N_PROBED     = 1u << 2,  /* its function was probed when it was initialized */
	PGS_N_FIRST_TUP  = 1u << 3,
	PGS_N_IDENTIFIED = 1u << 4,  /* statement identity taken at first call */
};

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
	__u32 plan_seq;
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
	__u32 plan_seq;              /* the backend's plan-tree number (threads.h plan_count) */
	__u32 _pad;
};

/* A node function address seen for the first time (user space probes it). */
struct node_fn_event {
	__u64 fn_addr;
	__u32 tag;
	__u32 plan_tag;
};

/* feature slot flags (rodata table) */
#define PGS_FEAT_RELATION 1          /* value is a range-table index: resolve to relid */

enum pgs_node_stat {
	PGS_NSTAT_NODES_DONE = 0,
	PGS_NSTAT_DROP_FULL,
	PGS_NSTAT_FN_EVENTS,
	PGS_NSTAT_STACK_OVERFLOW,
	PGS_NSTAT_UNPROBED,
	PGS_NSTAT_STALE_FRAME,       /* a call whose return was never seen, dropped by a later return */
	PGS_NSTAT_DROP_DUPLICATE,    /* a finished node whose key was already waiting in finished_nodes */
	PGS_NSTAT_MAX,
};

#endif
