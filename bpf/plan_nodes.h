/* Instrumented operator source (bpf/plan_nodes.bpf.c): structs shared with
 * src/collectors/plan-nodes/abi.ts. */
#ifndef PGSCOUT_PLAN_NODES_H
#define PGSCOUT_PLAN_NODES_H

#define PN_PLAN_MAX 64        /* Plan header bytes copied (type .. plan_node_id) */
#define PN_HDR_MAX 128        /* PlanState header bytes copied (type .. subPlan) */
#define PN_QD_MAX 128         /* QueryDesc bytes copied (.. totaltime) */
#define PN_INSTR_MAX 512      /* sizeof(Instrumentation) must fit (448 in PostgreSQL 15) */
#define PN_STACK 64           /* pending nodes of one walk */
#define PN_MAX_NODES 512      /* nodes read per statement */
#define PN_MAX_CHILDREN 16    /* children read per array/list */
#define PN_MAX_WORKERS 16     /* per-worker records of one node */

enum pn_flag {
	PN_F_INSTRUMENTED = 1u << 0,  /* the node has an Instrumentation */
	PN_F_SUBPLAN_ROOT = 1u << 1,  /* root of an initPlan/subPlan tree */
	PN_F_INITPLAN = 1u << 2,      /* ... from an initPlan list (CTEs too): runs inside whichever node needs it first */
	PN_F_EXEC_SEQ = 1u << 3,      /* exec_seq is the default statement source's statement number */
	PN_F_WORKER = 1u << 4,        /* one parallel worker's share of the node (worker_instrument[worker]) */
};

/* One plan node of an instrumented statement (ring buffer `plan_nodes`). */
struct pn_event {
	__u64 query_id;           /* PlannedStmt.queryId */
	__u64 stmt_ns;            /* CLOCK_MONOTONIC at ExecutorEnd: one value per statement */
	__u32 pid;
	__u32 tag;                /* PlanState NodeTag */
	__s32 plan_node_id;
	__s32 parent_id;          /* -1 for the root */
	__u32 depth;
	__u32 flags;              /* PN_F_* */
	__u32 workers;            /* WorkerInstrumentation.num_workers (0: none) */
	__u32 sample_p32;         /* keep probability × 2^32 the statement was kept with (0: kept as slow) */
	__u32 exec_seq;           /* with PN_F_EXEC_SEQ: queries.exec_id = pid << 32 | exec_seq */
	__u32 worker;             /* with PN_F_WORKER: ParallelWorkerNumber of that worker */
	__u8 plan[PN_PLAN_MAX];   /* the Plan's first bytes, decoded with the target's layout */
	__u8 instr[PN_INSTR_MAX]; /* Instrumentation (with PN_F_WORKER: that worker's), raw */
};

/* Per-node aggregate key: one plan_node_stats row per interval. Plans of one
 * query_id that differ keep apart as long as node id, type or parent differ. */
struct pn_agg_key {
	__u64 query_id;
	__s32 plan_node_id;
	__s32 parent_id;
	__u32 tag;
	__u32 flags;              /* PN_F_SUBPLAN_ROOT, PN_F_INITPLAN */
};

#define PN_NBUF 10   /* shared hit/read/dirtied/written, local hit/read/dirtied/written, temp read/written */
#define PN_NWAL 3    /* records, full-page images, bytes */

/* Sums over every instrumented execution of the interval (integers: BPF has
 * no floating point; the Instrumentation doubles are converted exactly). */
struct pn_agg {
	__u64 calls;              /* statements the node was part of */
	__u64 timed_calls;        /* of which timed (startup/total below sum these only) */
	__u64 rows;
	__u64 loops;
	__u64 nfiltered1;
	__u64 nfiltered2;
	__u64 startup_ns;
	__u64 total_ns;
	__u64 buf[PN_NBUF];
	__u64 wal[PN_NWAL];
	__u64 est_rows;           /* sum of Plan.plan_rows */
	__u64 est_cost_milli;     /* sum of Plan.total_cost × 1000 */
	__u64 workers;            /* sum of parallel workers launched */
};

/* Control block (array map `pn_ctl`, written by user space every interval):
 * the same layout as stmt_agg.h's stmt_ctl. */
struct pn_ctl {
	__u32 gen;                /* which aggregation map the program writes: 0 or 1 */
	__u32 rows_per_s;         /* budget of statements whose nodes become rows (KEEP_NO_BUDGET: all) */
	__u64 slow_ns;            /* statements whose executor ran at least this long are always kept */
};

enum pn_stat {
	PN_STAT_STATEMENTS = 0,   /* instrumented statements read */
	PN_STAT_RING_FULL,        /* node lost: ring buffer full */
	PN_STAT_STACK_FULL,       /* subtree not read: walk stack full */
	PN_STAT_CHILDREN_CUT,     /* children beyond PN_MAX_CHILDREN not read */
	PN_STAT_NODES_CUT,        /* statement with more than PN_MAX_NODES nodes */
	PN_STAT_AGG_FULL,         /* node not summed: aggregate map full */
	PN_STAT_KEPT,             /* statements whose nodes went to the ring as rows */
	PN_STAT_WORKERS_CUT,      /* per-worker records beyond PN_MAX_WORKERS not read */
	PN_STAT_MAX,
};

#endif
