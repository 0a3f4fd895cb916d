// SPDX-License-Identifier: GPL-2.0
/* Instrumented operator source: PostgreSQL's own per-node Instrumentation,
 * read once per statement at standard_ExecutorEnd.
 *
 * When a statement ran instrumented (auto_explain with log_analyze, or any
 * other user of instrument_options), every PlanState carries the counts
 * EXPLAIN ANALYZE prints. At ExecutorEnd (before ExecEndPlan frees them) the
 * program walks queryDesc->planstate — lefttree/righttree, the children of
 * Append/MergeAppend/BitmapAnd/BitmapOr/SubqueryScan/CustomScan, and the
 * initPlan/subPlan lists — and hands each node's Plan header and raw
 * Instrumentation to user space, which decodes them with the layout of the
 * target's major version. An uninstrumented statement costs a few pointer
 * reads. Parallel workers' own ExecutorEnd is skipped: the leader's nodes
 * already hold leader + workers. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "user_read.h"
#include "stats.h"
#include "plan_nodes.h"
#include "own_pids.h"
#include "pgscout.h"
#include "sched_thread.h"
#include "keep_rate.h"
#include "map_slot.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 target_postmaster = 0;
const volatile __u64 pwn_addr = 0;            /* &ParallelWorkerNumber */
const volatile __u32 off_qd_planstate = 0, off_qd_plannedstmt = 0, off_pstmt_query_id = 0;
const volatile __u32 off_ps_plan = 0, off_ps_instrument = 0, off_ps_worker_instrument = 0;
const volatile __u32 off_ps_lefttree = 0, off_ps_righttree = 0, off_ps_initplan = 0, off_ps_subplan = 0;
const volatile __u32 off_list_length = 0, off_list_elements = 0, off_sps_planstate = 0;
const volatile __u32 off_plan_node_id = 0;
const volatile __u32 instr_size = 8;          /* sizeof(Instrumentation), at most PN_INSTR_MAX */
const volatile __u32 plan_size = 8;           /* the Plan header bytes to copy, at most PN_PLAN_MAX */
const volatile __u32 hdr_size = 8;            /* the PlanState header bytes to copy, at most PN_HDR_MAX */
const volatile __u32 qd_size = 8;             /* the QueryDesc bytes to copy, at most PN_QD_MAX */
/* Node tags and offsets of the states with children outside lefttree/righttree. */
const volatile __u32 tag_append = ~0u, off_append_plans = 0, off_append_n = 0;
const volatile __u32 tag_merge_append = ~0u, off_merge_plans = 0, off_merge_n = 0;
const volatile __u32 tag_bitmap_and = ~0u, tag_bitmap_or = ~0u, off_bitmap_plans = 0, off_bitmap_n = 0;
const volatile __u32 tag_subquery_scan = ~0u, off_subquery_subplan = 0;
/* Instrumentation fields summed in the kernel (offsets inside the struct). */
const volatile __u32 off_in_running = 0, off_in_need_timer = 0, off_in_firsttuple = 0, off_in_tuplecount = 0;
const volatile __u32 off_in_counter = 0, off_in_startup = 0, off_in_total = 0, off_in_ntuples = 0, off_in_nloops = 0;
const volatile __u32 off_in_nfiltered1 = 0, off_in_nfiltered2 = 0;
const volatile __u32 counter_is_timespec = 1;  /* instr_time: struct timespec up to PostgreSQL 15, int64 ns after */
const volatile __u32 off_in_buf[PN_NBUF] = {};
const volatile __u32 off_in_wal[PN_NWAL] = {};
const volatile __u32 off_plan_rows = 0, off_plan_total_cost = 0;
const volatile __u32 off_qd_totaltime = 0;
const volatile __u32 off_wi_instrument = 8;    /* WorkerInstrumentation.instrument[] */

const volatile struct pn_event *btf_anchor_event = 0;
const volatile enum pn_flag btf_anchor_flag = 0;
const volatile enum pn_stat btf_anchor_stat = 0;
const volatile struct pn_agg_key *btf_anchor_agg_key = 0;
const volatile struct pn_agg *btf_anchor_agg = 0;
const volatile struct pn_ctl *btf_anchor_ctl = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);
} plan_nodes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PN_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} pn_stats SEC(".maps");

/* Two per-CPU maps written alternately (pn_ctl.gen): user space takes the idle one whole. */
#define PN_AGG_MAP(name) \
	struct { \
		__uint(type, BPF_MAP_TYPE_PERCPU_HASH); \
		__uint(max_entries, 8192); \
		__type(key, struct pn_agg_key); \
		__type(value, struct pn_agg); \
	} name SEC(".maps")
PN_AGG_MAP(pn_agg0);
PN_AGG_MAP(pn_agg1);

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pn_ctl);
} pn_ctl SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pn_agg);
} zero_pn_agg SEC(".maps");

struct walk {
	__u64 ps[PN_STACK];
	__s32 parent[PN_STACK];
	__u32 depth[PN_STACK];
	__u32 flags[PN_STACK];
	__u32 sp;
	__u32 emitted;
	__u64 query_id;
	__u64 stmt_ns;
	__u32 pid;
	__u32 gen;                /* aggregate map of this statement */
	__u32 keep;               /* the nodes go to the ring as rows */
	__u32 exec_seq;           /* the backend's statement number (sched_threads), when has_seq */
	__u32 has_seq;
	__u32 p32;                /* ... kept with this probability × 2^32 (0: slow) */
	__u8 hdr[PN_HDR_MAX];     /* the node being read: its PlanState header, */
	__u8 plan[PN_PLAN_MAX];   /* Plan header, */
	__u8 instr[PN_INSTR_MAX]; /* and Instrumentation */
	__u8 qd[PN_QD_MAX];       /* the QueryDesc */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct walk);
} walks SEC(".maps");

static __always_inline void stat_inc(__u32 idx)
{
	stat_add(&pn_stats, idx, 1);
}

static __always_inline void push(struct walk *w, __u64 ps, __s32 parent, __u32 depth, __u32 flags)
{
	if (!ps)
		return;
	__u32 sp = w->sp;
	if (sp >= PN_STACK) {
		stat_inc(PN_STAT_STACK_FULL);
		return;
	}
	w->ps[sp] = ps;
	w->parent[sp] = parent;
	w->depth[sp] = depth;
	w->flags[sp] = flags;
	w->sp = sp + 1;
}

/* Children held in an array of PlanState pointers (Append, MergeAppend, BitmapAnd/Or). */
static __always_inline void push_array(struct walk *w, __u64 arr, __u32 n, __s32 parent, __u32 depth)
{
	if (!arr)
		return;
	if (n > PN_MAX_CHILDREN) {
		stat_inc(PN_STAT_CHILDREN_CUT);
		n = PN_MAX_CHILDREN;
	}
	for (__u32 i = 0; i < PN_MAX_CHILDREN; i++) {
		if (i >= n)
			break;
		push(w, read_u64(arr + i * 8), parent, depth, 0);
	}
}

/* initPlan / subPlan: a List of SubPlanState, each with its own tree. */
static __always_inline void push_subplans(struct walk *w, __u64 list, __s32 parent, __u32 depth, __u32 flags)
{
	if (!list)
		return;
	__u32 n = read_u32(list + off_list_length);
	__u64 elems = read_u64(list + off_list_elements);
	if (n > PN_MAX_CHILDREN) {
		stat_inc(PN_STAT_CHILDREN_CUT);
		n = PN_MAX_CHILDREN;
	}
	for (__u32 i = 0; i < PN_MAX_CHILDREN; i++) {
		if (i >= n || !elems)
			break;
		__u64 sps = read_u64(elems + i * 8);
		if (sps)
			push(w, read_u64(sps + off_sps_planstate), parent, depth, flags);
	}
}

/* floor(d × mul) of a non-negative IEEE double given as its bits (mul < 2^31):
 * exact for integers below 2^53 at mul 1, 31 significant bits otherwise. BPF
 * has no floating point, and the Instrumentation counts are doubles. */
static __always_inline __u64 dbl_scaled(__u64 bits, __u64 mul)
{
	__u32 exp = (bits >> 52) & 0x7ff;
	if ((bits >> 63) || exp == 0 || exp == 0x7ff)
		return 0;   /* negative, zero/subnormal, inf/NaN */
	__u64 mant = (bits & ((1ull << 52) - 1)) | (1ull << 52);
	__s32 e = (__s32)exp - 1075;   /* d = mant × 2^e */
	if (mul != 1) {
		mant >>= 22;
		e += 22;
		mant *= mul;
	}
	if (e >= 0)
		return e > 10 ? ~0ull : mant << e;
	if (e <= -64)
		return 0;
	return mant >> (-e);
}

/* A `type` field at `off` of one of the walk's copies (`arr`: w->instr, w->hdr,
 * w->plan, w->qd); 0 past the copy. The bound keeps the verifier's offset in range. */
#define COPIED(type, arr, off) \
	((off) > sizeof(arr) - sizeof(type) ? (type)0 : *(type *)((arr) + (off)))

#define NS 1000000000ull

/* The node's counts added to its aggregate, as EXPLAIN's InstrEndLoop would
 * fold a loop still running at executor end. */
static __always_inline void add_node(struct walk *w, struct pn_agg_key *key, __u32 workers)
{
	/* One call per map: a map pointer that varies at one call site keeps the
	 * verifier from inlining the lookup (a helper call through a retpoline). */
	bool created = false;
	struct pn_agg *a = w->gen ? map_slot(&pn_agg1, key, &zero_pn_agg, &created) : map_slot(&pn_agg0, key, &zero_pn_agg, &created);
	if (!a) {
		stat_inc(PN_STAT_AGG_FULL);
		return;
	}
	bool running = COPIED(__u8, w->instr, off_in_running) != 0;
	a->calls++;
	a->rows += dbl_scaled(COPIED(__u64, w->instr, off_in_ntuples), 1) + (running ? dbl_scaled(COPIED(__u64, w->instr, off_in_tuplecount), 1) : 0);
	a->loops += dbl_scaled(COPIED(__u64, w->instr, off_in_nloops), 1) + (running ? 1 : 0);
	a->nfiltered1 += dbl_scaled(COPIED(__u64, w->instr, off_in_nfiltered1), 1);
	a->nfiltered2 += dbl_scaled(COPIED(__u64, w->instr, off_in_nfiltered2), 1);
	if (COPIED(__u8, w->instr, off_in_need_timer)) {
		a->timed_calls++;
		__u64 startup = dbl_scaled(COPIED(__u64, w->instr, off_in_startup), NS);
		__u64 total = dbl_scaled(COPIED(__u64, w->instr, off_in_total), NS);
		if (running) {
			startup += dbl_scaled(COPIED(__u64, w->instr, off_in_firsttuple), NS);
			total += counter_is_timespec ? COPIED(__u64, w->instr, off_in_counter) * NS + COPIED(__u64, w->instr, off_in_counter + 8) : COPIED(__u64, w->instr, off_in_counter);
		}
		a->startup_ns += startup;
		a->total_ns += total;
	}
#pragma unroll
	for (int i = 0; i < PN_NBUF; i++)
		a->buf[i] += COPIED(__u64, w->instr, off_in_buf[i]);
#pragma unroll
	for (int i = 0; i < PN_NWAL; i++)
		a->wal[i] += COPIED(__u64, w->instr, off_in_wal[i]);
	a->est_rows += dbl_scaled(COPIED(__u64, w->plan, off_plan_rows), 1);
	a->est_cost_milli += dbl_scaled(COPIED(__u64, w->plan, off_plan_total_cost), 1000);
	a->workers += workers;
}

/* A kept statement's per-worker detail of one node: worker_instrument holds
 * each worker's own Instrumentation (the node's already sums them with the
 * leader's). Read straight into the ring record. */
static __always_inline void emit_workers(struct walk *w, __u64 wi, __u32 workers, __u32 tag, __s32 id, __s32 parent,
					 __u32 depth, __u32 flags)
{
	__u32 n = instr_size;
	if (n > PN_INSTR_MAX)
		n = PN_INSTR_MAX;
	if (workers > PN_MAX_WORKERS) {
		stat_inc(PN_STAT_WORKERS_CUT);
		workers = PN_MAX_WORKERS;
	}
	for (__u32 i = 0; i < PN_MAX_WORKERS; i++) {
		if (i >= workers)
			break;
		struct pn_event *ev = bpf_ringbuf_reserve(&plan_nodes, sizeof(*ev), 0);
		if (!ev) {
			stat_inc(PN_STAT_RING_FULL);
			return;
		}
		ev->query_id = w->query_id;
		ev->stmt_ns = w->stmt_ns;
		ev->pid = w->pid;
		ev->tag = tag;
		ev->plan_node_id = id;
		ev->parent_id = parent;
		ev->depth = depth;
		ev->flags = flags | PN_F_WORKER | PN_F_INSTRUMENTED | (w->has_seq ? PN_F_EXEC_SEQ : 0);
		ev->workers = workers;
		ev->sample_p32 = w->p32;
		ev->exec_seq = w->exec_seq;
		ev->worker = i;
		bpf_probe_read_kernel(ev->plan, sizeof(ev->plan), w->plan);
		if (n == 0 || bpf_probe_read_user(ev->instr, n, (void *)(wi + off_wi_instrument + (__u64)i * n)))
			__builtin_memset(ev->instr, 0, sizeof(ev->instr));
		bpf_ringbuf_submit(ev, 0);
	}
}

/* One node per iteration; the walk state lives in the per-CPU `walks` slot
 * (bpf_loop's context must be on the stack, the walk is too big for it). */
static long visit(__u64 index, void *ctx)
{
	__u32 zero = 0;
	struct walk *w = bpf_map_lookup_elem(&walks, &zero);
	if (!w)
		return 1;
	__u32 sp = w->sp;
	if (sp == 0 || sp > PN_STACK)
		return 1;
	sp--;
	w->sp = sp;
	__u64 ps = w->ps[sp];
	__s32 parent = w->parent[sp];
	__u32 depth = w->depth[sp], flags = w->flags[sp];

	/* One read for the PlanState's pointers, one for the Plan header, one for the Instrumentation. */
	__u32 n = hdr_size;
	if (n > PN_HDR_MAX)
		n = PN_HDR_MAX;
	if (n == 0 || bpf_probe_read_user(w->hdr, n, (void *)ps))
		return 0;
	__u64 plan = COPIED(__u64, w->hdr, off_ps_plan);
	__u64 instr = COPIED(__u64, w->hdr, off_ps_instrument);
	__u32 tag = *(__u32 *)w->hdr;
	__u32 workers = 0;
	__u64 wi = COPIED(__u64, w->hdr, off_ps_worker_instrument);
	if (wi)
		workers = read_u32(wi);   /* WorkerInstrumentation.num_workers comes first */
	n = plan_size;
	if (n > PN_PLAN_MAX)
		n = PN_PLAN_MAX;
	if (!plan || n == 0 || bpf_probe_read_user(w->plan, n, (void *)plan))
		__builtin_memset(w->plan, 0, sizeof(w->plan));
	__s32 id = plan ? (__s32)COPIED(__u32, w->plan, off_plan_node_id) : -1;
	n = instr_size;
	if (n > PN_INSTR_MAX)
		n = PN_INSTR_MAX;
	if (!instr || n == 0 || bpf_probe_read_user(w->instr, n, (void *)instr))
		__builtin_memset(w->instr, 0, sizeof(w->instr));

	if (instr) {
		struct pn_agg_key key = { .query_id = w->query_id, .plan_node_id = id, .parent_id = parent, .tag = tag,
					  .flags = flags & (PN_F_SUBPLAN_ROOT | PN_F_INITPLAN) };
		add_node(w, &key, workers);
	}
	if (w->keep) {
		struct pn_event *ev = bpf_ringbuf_reserve(&plan_nodes, sizeof(*ev), 0);
		if (!ev) {
			stat_inc(PN_STAT_RING_FULL);
		} else {
			ev->query_id = w->query_id;
			ev->stmt_ns = w->stmt_ns;
			ev->pid = w->pid;
			ev->tag = tag;
			ev->parent_id = parent;
			ev->depth = depth;
			ev->flags = flags | (instr ? PN_F_INSTRUMENTED : 0);
			ev->plan_node_id = id;
			ev->workers = workers;
			ev->sample_p32 = w->p32;
			ev->exec_seq = w->exec_seq;
			if (w->has_seq)
				ev->flags |= PN_F_EXEC_SEQ;
			bpf_probe_read_kernel(ev->plan, sizeof(ev->plan), w->plan);
			bpf_probe_read_kernel(ev->instr, sizeof(ev->instr), w->instr);
			bpf_ringbuf_submit(ev, 0);
		}
	}
	if (w->keep && wi && workers)
		emit_workers(w, wi, workers, tag, id, parent, depth, flags);
	w->emitted++;

	__u32 d = depth + 1;
	push_subplans(w, COPIED(__u64, w->hdr, off_ps_subplan), id, d, PN_F_SUBPLAN_ROOT);
	push_subplans(w, COPIED(__u64, w->hdr, off_ps_initplan), id, d, PN_F_SUBPLAN_ROOT | PN_F_INITPLAN);
	__u64 left = COPIED(__u64, w->hdr, off_ps_lefttree);
	push(w, COPIED(__u64, w->hdr, off_ps_righttree), id, d, 0);
	if (tag == tag_append)
		push_array(w, read_u64(ps + off_append_plans), read_u32(ps + off_append_n), id, d);
	else if (tag == tag_merge_append)
		push_array(w, read_u64(ps + off_merge_plans), read_u32(ps + off_merge_n), id, d);
	else if (tag == tag_bitmap_and || tag == tag_bitmap_or)
		push_array(w, read_u64(ps + off_bitmap_plans), read_u32(ps + off_bitmap_n), id, d);
	else if (tag == tag_subquery_scan)
		push(w, read_u64(ps + off_subquery_subplan), id, d, 0);
	push(w, left, id, d, 0);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(executor_end, void *query_desc)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task_btf();
	if (task->real_parent->tgid != target_postmaster)
		return 0;
	/* A parallel worker's nodes are summed into the leader's. */
	if (pwn_addr && (__s32)read_u32(pwn_addr) >= 0)
		return 0;
	__u32 pid = (__u32)bpf_get_current_pid_tgid();
	if (bpf_map_lookup_elem(&own_pids, &pid))
		return 0;
	__u32 zero = 0;
	struct walk *w = bpf_map_lookup_elem(&walks, &zero);
	if (!w)
		return 0;
	__u32 n = qd_size;
	if (n > PN_QD_MAX)
		n = PN_QD_MAX;
	if (n == 0 || bpf_probe_read_user(w->qd, n, query_desc))
		return 0;
	__u64 root = COPIED(__u64, w->qd, off_qd_planstate);
	if (!root || !read_u64(root + off_ps_instrument))
		return 0;   /* not instrumented: nothing to read */
	w->sp = 0;
	w->emitted = 0;
	w->pid = pid;
	w->stmt_ns = bpf_ktime_get_ns();
	__u64 pstmt = COPIED(__u64, w->qd, off_qd_plannedstmt);
	w->query_id = pstmt ? read_u64(pstmt + off_pstmt_query_id) : 0;
	struct pn_ctl *ctl = bpf_map_lookup_elem(&pn_ctl, &zero);
	if (!ctl)
		return 0;
	w->gen = ctl->gen;
	/* The default statement source's statement number: joins queries.exec_id (a nested statement
	 * reads its top-level statement's, which is still running). */
	struct stmt_thread *th = bpf_task_storage_get(&sched_threads, task, 0, 0);
	w->has_seq = th != 0;
	w->exec_seq = th ? th->seq : 0;
	/* Rows: every statement whose executor ran at least slow_ns (the
	 * executor's own total, kept by auto_explain / pg_stat_statements in
	 * queryDesc->totaltime), the rest with the budget's probability. */
	__u64 tt = COPIED(__u64, w->qd, off_qd_totaltime);
	bool slow = ctl->slow_ns && tt && dbl_scaled(read_u64(tt + off_in_total), NS) >= ctl->slow_ns;
	__u32 p32 = keep_p32(ctl->rows_per_s, w->stmt_ns, &pn_stats, PN_STAT_STATEMENTS);
	w->keep = slow || keep_draw(p32);
	w->p32 = slow ? 0 : p32;
	if (w->keep)
		stat_inc(PN_STAT_KEPT);
	push(w, root, -1, 0, 0);
	bpf_loop(PN_MAX_NODES, visit, NULL, 0);
	stat_inc(PN_STAT_STATEMENTS);
	if (w->sp)
		stat_inc(PN_STAT_NODES_CUT);   /* more than PN_MAX_NODES nodes: the rest is counted, not read */
	return 0;
}
