/* Instrumented operator source (bpf/plan_nodes.bpf.c): structs shared with
 * src/collectors/plan-nodes/abi.ts. */
#ifndef PGSCOUT_PLAN_NODES_H
#define PGSCOUT_PLAN_NODES_H

#define PN_PLAN_MAX 64        /* Plan header bytes copied (type .. plan_node_id) */
#define PN_INSTR_MAX 512      /* sizeof(Instrumentation) must fit (448 in PostgreSQL 15) */
#define PN_STACK 64           /* pending nodes of one walk */
#define PN_MAX_NODES 512      /* nodes read per statement */
#define PN_MAX_CHILDREN 16    /* children read per array/list */

enum pn_flag {
	PN_F_INSTRUMENTED = 1u << 0,  /* the node has an Instrumentation */
	PN_F_SUBPLAN_ROOT = 1u << 1,  /* root of an initPlan/subPlan tree */
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
	__u32 _pad;
	__u8 plan[PN_PLAN_MAX];   /* the Plan's first bytes, decoded with the target's layout */
	__u8 instr[PN_INSTR_MAX]; /* Instrumentation, raw */
};

enum pn_stat {
	PN_STAT_STATEMENTS = 0,   /* instrumented statements read */
	PN_STAT_RING_FULL,        /* node lost: ring buffer full */
	PN_STAT_STACK_FULL,       /* subtree not read: walk stack full */
	PN_STAT_CHILDREN_CUT,     /* children beyond PN_MAX_CHILDREN not read */
	PN_STAT_NODES_CUT,        /* statement with more than PN_MAX_NODES nodes */
	PN_STAT_MAX,
};

#endif
