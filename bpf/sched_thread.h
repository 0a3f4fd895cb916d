/* The default statement source's per-backend state (bpf/stmt_sched.bpf.c),
 * in task storage. The plan-node reader (bpf/plan_nodes.bpf.c) shares the map
 * (user space hands it the fd before load) to read `seq`: the number of the
 * statement the backend is running, which makes the exec_id of `queries`.
 * Include after the BPF headers and pgscout.h. */
#ifndef PGSCOUT_SCHED_THREAD_H
#define PGSCOUT_SCHED_THREAD_H

struct stmt_thread {
	__u64 be;              /* PgBackendStatus * of the backend */
	__u64 proc;            /* its PGPROC * (MyProc), once set */
	__u64 last_act;        /* activity start of the last statement counted */
	__u64 win_start;       /* start of the current statement window; 0: none */
	__u64 oncpu_since;     /* 0 while off-CPU */
	__u64 off_since;
	__u64 on_cpu;
	__u64 off_cpu;
	__u64 runq;
	__u64 net_recv;
	__u64 net_send;
	__u64 task[STMT_NTASK];   /* values at the last statement end */
	__u64 buf[STMT_NBUF];
	__u64 wal[STMT_NWAL];
	__u32 lxid;
	__u32 seq;
	__u32 preempted;
	__u32 ignored;         /* not a client backend, or one of pgscout's own */
	__u32 partial;         /* the open window began before we saw the backend */
	__u32 win_pending;     /* the window opened at a statement end: a sleep before the next request restarts it */
	__u32 own_checked;     /* own_pids looked up at a statement end: pgscout registers its backends before their first statement */
	__u32 last_send;       /* bytes of the backend's previous send (an ErrorResponse is flushed by itself) */
	__u32 last_state;      /* BackendState at the last statement end */
	__u64 last_qid;        /* st_query_id at the last statement end */
	__u32 last_cc;         /* st_changecount at the last round trip's end: the status writes of a round trip tell how many messages reported */
	/* A portal fetched in several round trips (Execute with a row limit, then
	 * Sync) is one call: the windows of the round trips that left it
	 * suspended, carried into the one that completes it. */
	__u32 carry_coalesced;  /* statements completed in those round trips besides the portal's (the BEGIN that opened its block) */
	__u64 carry_ns;
	__u64 carry_on_cpu;
	__u64 carry_off_cpu;
	__u64 carry_runq;
	__u64 carry_net_recv;
	__u64 carry_net_send;
	/* --exact (count_at_execute): a call is the end of a top-level PortalRun.
	 * The last one of a round trip is counted at its ReadyForQuery (the reply
	 * and the commit are its own); an earlier one when the next ends, with the
	 * counters marked at its own end. */
	__u32 pending;         /* an execution ended and is not counted yet */
	__u32 pend_seq;        /* its statement number */
	__u32 exec_index;      /* the execution's number in its message (a multi-statement string's statement index) */
	__u32 pend_unchecked;  /* it began its message, and the cache spared reading the message's first word */
	__u64 pend_qid;        /* its st_query_id */
	__u64 pend_act;        /* its message's activity start */
	__u64 exec_act;        /* activity start at the last top-level execution end (a new one: a new message) */
	__u64 mark_ns;         /* at its end: the clock, the window's sums so far, the counters (take_deltas reads into them too) */
	__u64 mark_on_cpu;
	__u64 mark_off_cpu;
	__u64 mark_runq;
	__u64 mark_net_send;
	__u64 mark_task[STMT_NTASK];
	__u64 mark_buf[STMT_NBUF];
	__u64 mark_wal[STMT_NWAL];
};

/* Task-local: found from the task itself (a pointer check for every task
 * that is not a backend, where a tid-keyed hash paid a lookup on every
 * context switch and socket operation of the machine), freed with the task. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct stmt_thread);
} sched_threads SEC(".maps");

#endif
