/* Per-backend state shared by the statement and operator collectors: the
 * `threads` map is created by statements.bpf.o and reused (same fd) by
 * operators.bpf.o, so operator rows join the statement being executed. */
#ifndef PGSCOUT_THREADS_H
#define PGSCOUT_THREADS_H

#include "statements.h"

/* An includer that counts untracked backends defines this before including. */
#ifndef PGS_ON_THREAD_FULL
#define PGS_ON_THREAD_FULL() do { } while (0)
#endif

enum rec_state { ST_NONE = 0, ST_OPEN = 1, ST_CLOSING = 2 };

#define RUN_STACK 8
#define OP_DEPTH 32
#define INIT_DEPTH 32

/* One active plan-node call: times of its children are subtracted from it to
 * give exclusive time; off-CPU time is charged to the innermost frame. */
struct node_frame {
	__u64 ps;                 /* PlanState * */
	__u64 sp;                 /* user stack pointer at the call: its return leaves sp + 8 */
	__u64 start;
	__u64 child_ns;
	__u64 off_ns;
	__u64 runq_ns;
	__u64 io_start[2];        /* ioac read_bytes, write_bytes */
	__u64 child_io[2];
	__u64 ctr_start[PGS_NCOUNTERS];
	__u64 child_ctr[PGS_NCOUNTERS];
};

struct thread_state {
	struct stmt_record rec;
	__u64 cur_qid;            /* last query id reported outside execution */
	__u64 phase_start;        /* start of the current parse/plan phase */
	__u64 exec_start;         /* start of the top-level PortalRun */
	__u64 run_start;          /* start of the outermost ExecutorRun */
	__u64 oncpu_since;
	__u64 offcpu_since;
	__u64 ctr_base[PGS_NCOUNTERS];
	__u64 ctr_acc[PGS_NCOUNTERS];
	__u64 io_start[6];        /* read_bytes, write_bytes, rchar, wchar, syscr, syscw */
	__u64 flt_start[2];
	__u64 buf_start[STMT_NBUF];
	__u64 wal_start[STMT_NWAL];
	__u64 run_qd[RUN_STACK];  /* queryDesc of each nested ExecutorRun */
	__u32 seq;
	__u32 state;
	__u32 in_query;           /* inside query__start..query__done (simple protocol) */
	__u32 exec_depth;         /* PortalRun nesting */
	__u32 run_depth;          /* ExecutorRun nesting */
	__u32 has_exec;           /* the open record reached a top-level PortalRun */
	__u32 next_stmt_index;
	__u32 last_cpu;
	/* operator level */
	__u32 op_depth;
	__u32 init_depth;
	__s32 worker;             /* ParallelWorkerNumber: -1 leader, -2 not read yet */
	__u32 leader_pid;
	__u32 explain_only;       /* ExecInitNode of an EXPLAIN without ANALYZE */
	__u32 plan_count;         /* plan trees this backend started */
	__u32 init_plan;          /* number of the plan tree being initialized */
	__u32 ran_since_init;     /* a node was called since the last tree was initialized */
	__u64 init_estate;        /* EState * of the ExecInitNode in progress */
	__u64 be;                 /* MyBEEntry (PgBackendStatus *): fixed for the backend's life */
	__u32 dbid;               /* MyDatabaseId, once the backend has connected (idem) */
	__u32 own_checked;        /* own_pids was looked up after the backend's first statement */
	__s32 init_ids[INIT_DEPTH];
	struct node_frame frames[OP_DEPTH];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct thread_state);
} threads SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct thread_state);
} zero_state SEC(".maps");

/* Postmaster of the target cluster: the probes fire in every process running
 * the binary (other clusters on the host too); only its children are tracked. */
const volatile __u32 target_postmaster = 0;

/* One PERF_EVENT_ARRAY per counter, filled per CPU by user space; a counter
 * the kernel lacks simply has no entries and reads fail. */
#define CTR_MAP(name) \
	struct { \
		__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY); \
		__uint(key_size, sizeof(__u32)); \
		__uint(value_size, sizeof(__u32)); \
	} name SEC(".maps")
CTR_MAP(ctr_cpu_clock);
CTR_MAP(ctr_cycles);
CTR_MAP(ctr_instructions);
CTR_MAP(ctr_cache_refs);
CTR_MAP(ctr_cache_misses);
CTR_MAP(ctr_ref_cycles);

static __always_inline int read_ctr(void *map, __u64 *out)
{
	struct bpf_perf_event_value v = {};
	if (bpf_perf_event_read_value(map, BPF_F_CURRENT_CPU, &v, sizeof(v)))
		return -1;
	*out = v.counter;
	return 0;
}

/* Bit i: user space opened counter i on every CPU. A read of a counter the
 * kernel lacks fails, but only after the helper call and the map lookup: on a
 * VM without a PMU that was five calls for nothing at every statement boundary
 * and tracked switch. The verifier drops the branches of the cleared bits. */
const volatile __u32 ctr_mask = (1u << PGS_NCOUNTERS) - 1;

/* Reads every counter of this CPU; bit i of the result says counters[i] is valid. */
static __always_inline __u32 read_all(__u64 vals[PGS_NCOUNTERS])
{
	__u32 mask = 0;
	if ((ctr_mask & (1 << 0)) && !read_ctr(&ctr_cpu_clock, &vals[0])) mask |= 1 << 0;
	if ((ctr_mask & (1 << 1)) && !read_ctr(&ctr_cycles, &vals[1])) mask |= 1 << 1;
	if ((ctr_mask & (1 << 2)) && !read_ctr(&ctr_instructions, &vals[2])) mask |= 1 << 2;
	if ((ctr_mask & (1 << 3)) && !read_ctr(&ctr_cache_refs, &vals[3])) mask |= 1 << 3;
	if ((ctr_mask & (1 << 4)) && !read_ctr(&ctr_cache_misses, &vals[4])) mask |= 1 << 4;
	if ((ctr_mask & (1 << 5)) && !read_ctr(&ctr_ref_cycles, &vals[5])) mask |= 1 << 5;
	return mask;
}

/* Counters of this task since tracking began: valid while it is tracked
 * (a statement is open or a plan node is active), see sched_switch. */
static __always_inline __u32 vctr_now(struct thread_state *ts, __u64 out[PGS_NCOUNTERS])
{
	__u64 vals[PGS_NCOUNTERS] = {};
	__u32 mask = read_all(vals);
	for (int i = 0; i < PGS_NCOUNTERS; i++)
		out[i] = ts->ctr_acc[i] + (vals[i] - ts->ctr_base[i]);
	return mask;
}

static __always_inline bool is_tracked(struct thread_state *ts)
{
	return ts->state == ST_OPEN || ts->op_depth > 0;
}

/* Whether `task` (a BTF pointer) may be a backend of the target cluster: two
 * loads rule out every other task of the machine before a hash lookup. A
 * parallel worker is a child of the postmaster too. */
static __always_inline bool maybe_backend(struct task_struct *task)
{
	return !target_postmaster || task->real_parent->tgid == target_postmaster;
}

static __always_inline struct thread_state *get_state(__u32 tid, bool create)
{
	struct thread_state *ts = bpf_map_lookup_elem(&threads, &tid);
	if (ts || !create)
		return ts;
	if (!maybe_backend(bpf_get_current_task_btf()))
		return 0;
	__u32 zero = 0;
	struct thread_state *z = bpf_map_lookup_elem(&zero_state, &zero);
	if (!z)
		return 0;
	z->worker = -2;
	if (bpf_map_update_elem(&threads, &tid, z, BPF_NOEXIST)) {
		PGS_ON_THREAD_FULL();
		return 0;
	}
	return bpf_map_lookup_elem(&threads, &tid);
}

static __always_inline struct thread_state *current_state(bool create)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	return get_state(tid, create);
}

#endif
