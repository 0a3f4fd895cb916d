// SPDX-License-Identifier: GPL-2.0
/* Operator-level collector: one record per plan node instance per statement
 * execution (and per parallel process), with features read from the plan at
 * ExecInitNode and labels counted at every call of the node's own function.
 *
 * The per-node functions (ExecSeqScan, ExecHashJoin, ...) are static in a
 * stripped binary: ExecInitNode's return value tells their addresses
 * (PlanState.ExecProcNodeReal), reported once through `node_fn_events`; user
 * space then probes them (entry: node_enter, return: node_exit). Nodes run
 * by MultiExecProcNode use the exported MultiExec* functions instead. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "user_read.h"
#include "stats.h"
#include "operators.h"
#include "statements.h"
#include "threads.h"

char LICENSE[] SEC("license") = "GPL";

/* Struct offsets from collectors/layouts/pg<N>.json, set before load. */
const volatile __u32 off_ps_plan = 8, off_ps_state = 16, off_ps_real = 32;
const volatile __u32 off_plan_type = 0, off_plan_startup = 8, off_plan_total = 16, off_plan_rows = 24;
const volatile __u32 off_plan_width = 32, off_plan_parallel_aware = 36, off_plan_node_id = 40;
const volatile __u32 off_plan_lefttree = 72, off_plan_righttree = 80;
const volatile __u32 off_slot_flags = 4, tts_flag_empty = 2;
const volatile __u32 off_hs_hashtable = 200, off_ht_partial = 96, off_ht_nbuckets = 0, off_ht_nbatch = 0;
const volatile __u32 off_es_rtable = 24, off_es_subplanstates = 200, off_es_top_eflags = 176;
const volatile __u32 exec_flag_explain_only = 1;
const volatile __u32 off_list_elements = 16, off_rte_relid = 8;
const volatile __u32 off_subplan_plan_id = 24;
const volatile __u32 off_proc_leader = 840, off_proc_pid = 64;
const volatile __u64 myproc_addr = 0, pwn_addr = 0;   /* &MyProc, &ParallelWorkerNumber */
const volatile __u32 tag_hash_state = 0, tag_bitmap_index_state = 0, tag_bitmap_and_state = 0, tag_bitmap_or_state = 0;
/* Per plan tag: offsets (0xffff: none) of up to PGS_NFEATURES plan fields. */
const volatile __u16 feat_off[PGS_MAX_TAG][PGS_NFEATURES] = {};
const volatile __u8 feat_flags[PGS_MAX_TAG][PGS_NFEATURES] = {};

const volatile struct node_fn_event *btf_anchor_fn_event = 0;
const volatile enum pgs_node_flag btf_anchor_node_flag = 0;
const volatile enum pgs_node_stat btf_anchor_node_stat = 0;

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);   /* errors leave nodes behind: LRU evicts them */
	__uint(max_entries, 65536);
	__type(key, struct node_key);
	__type(value, struct node_record);
} nodes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct node_done_key);
	__type(value, struct node_record);
} finished_nodes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, __u8);
} seen_fns SEC(".maps");

/* Filled by user space once a function's probes are attached. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, __u8);
} probed_fns SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 16);
} node_fn_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PGS_NSTAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} node_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct node_record);
} scratch SEC(".maps");

static __always_inline void nstat_inc(__u32 idx)
{
	stat_add(&node_stats, idx, 1);
}


static __always_inline struct node_record *node_of(__u64 ps)
{
	struct node_key key = { .pid = (__u32)bpf_get_current_pid_tgid(), .planstate = ps };
	return bpf_map_lookup_elem(&nodes, &key);
}

/* The node of backend `pid`'s innermost active call (ts: its state). */
static __always_inline struct node_record *top_node(struct thread_state *ts, __u32 pid)
{
	__u32 d = ts->op_depth;
	if (d == 0 || d > OP_DEPTH)
		return 0;
	struct node_key key = { .pid = pid, .planstate = ts->frames[(d - 1) & (OP_DEPTH - 1)].ps };
	return bpf_map_lookup_elem(&nodes, &key);
}

/* Parallel workers report to their leader's statement. */
static __always_inline void read_worker(struct thread_state *ts)
{
	__u32 self = (__u32)bpf_get_current_pid_tgid();
	if (ts->worker != -2)
		return;
	ts->worker = -1;
	ts->leader_pid = self;
	if (!pwn_addr || !myproc_addr)
		return;
	__s32 n = (__s32)read_u32(pwn_addr);
	if (n < 0)
		return;
	__u64 proc = read_u64(myproc_addr);
	__u64 leader = proc ? read_u64(proc + off_proc_leader) : 0;
	if (!leader)
		return;
	ts->worker = n;
	ts->leader_pid = read_u32(leader + off_proc_pid);
}

/* ---- initialization: features and tree shape ---- */

/* The number of the plan whose tree starts initializing now, distinct for
 * every plan a backend starts: a nested statement (PL/pgSQL, SQL function)
 * starts its own, whose plan_node_ids repeat the outer plan's. The InitPlan
 * and SubPlan trees of a plan are initialized just before its main tree,
 * with the same EState and no node called in between: they share its number
 * (a later statement's EState may reuse the address, but nodes ran since).
 * A parallel worker runs part of the plan its leader is executing: the one
 * of the leader's innermost node call. */
static __always_inline __u32 next_plan_seq(struct thread_state *ts, __u64 estate)
{
	if (ts->worker < 0) {
		bool same_plan = estate == ts->init_estate && !ts->ran_since_init && ts->plan_count;
		ts->ran_since_init = 0;
		return same_plan ? ts->init_plan : ts->plan_count++;
	}
	struct thread_state *lt = get_state(ts->leader_pid, false);
	if (!lt)
		return 0;
	struct node_record *n = top_node(lt, ts->leader_pid);
	return n ? n->plan_seq : lt->init_plan;
}

SEC("uprobe")
int BPF_KPROBE(init_enter, void *plan, void *estate)
{
	struct thread_state *ts = current_state(true);
	if (!ts)
		return 0;
	read_worker(ts);
	__u32 d = ts->init_depth++;
	if (d == 0) {
		ts->init_plan = next_plan_seq(ts, (__u64)estate);
		ts->init_estate = (__u64)estate;
		ts->explain_only = read_u32((__u64)estate + off_es_top_eflags) & exec_flag_explain_only;
	}
	if (d < INIT_DEPTH)
		ts->init_ids[d & (INIT_DEPTH - 1)] = (__s32)read_u32((__u64)plan + off_plan_node_id);
	return 0;
}

static __always_inline __u64 relation_of(__u64 estate, __u32 rti)
{
	if (!rti || !estate)
		return 0;
	__u64 list = read_u64(estate + off_es_rtable);
	__u64 elements = list ? read_u64(list + off_list_elements) : 0;
	__u64 rte = elements ? read_u64(elements + 8 * (__u64)(rti - 1)) : 0;
	return rte ? read_u32(rte + off_rte_relid) : 0;
}

static __always_inline void read_features(struct node_record *n, __u64 plan, __u32 plan_tag, __u64 estate)
{
	__u32 t = plan_tag & (PGS_MAX_TAG - 1);
	for (int i = 0; i < PGS_NFEATURES; i++) {
		__u16 off = feat_off[t][i];
		if (off == 0xffff)
			continue;
		__u64 v = read_u64(plan + off);
		if (feat_flags[t][i] & PGS_FEAT_RELATION)
			v = relation_of(estate, (__u32)v);
		n->features[i] = v;
	}
}

static __always_inline void report_fn(__u64 fn, __u32 tag, __u32 plan_tag)
{
	__u8 one = 1;
	if (!fn || bpf_map_lookup_elem(&seen_fns, &fn))
		return;
	struct node_fn_event *ev = bpf_ringbuf_reserve(&node_fn_events, sizeof(*ev), 0);
	if (!ev)
		return;
	ev->fn_addr = fn;
	ev->tag = tag;
	ev->plan_tag = plan_tag;
	bpf_ringbuf_submit(ev, 0);
	bpf_map_update_elem(&seen_fns, &fn, &one, BPF_ANY);
	nstat_inc(PGS_NSTAT_FN_EVENTS);
}

/* Statement the node belongs to, as far as known now (fixed at first call). */
static __always_inline void identify(struct node_record *n, struct thread_state *ts)
{
	if (ts->worker >= 0) {
		__u32 leader = ts->leader_pid;
		struct thread_state *lt = get_state(leader, false);
		n->leader_pid = leader;
		if (lt) {
			n->seq = lt->seq;
			n->query_id = lt->rec.query_id;
		}
		return;
	}
	n->leader_pid = (__u32)bpf_get_current_pid_tgid();
	/* A CLOSING record takes seq at finalize; the next statement gets seq + 1. */
	n->seq = ts->state == ST_CLOSING ? ts->seq + 1 : ts->seq;
	n->query_id = ts->state == ST_OPEN && ts->has_exec ? ts->rec.query_id : ts->cur_qid;
}

SEC("uretprobe")
int BPF_KRETPROBE(init_exit, void *ret)
{
	struct thread_state *ts = current_state(false);
	if (!ts || ts->init_depth == 0)
		return 0;
	__u32 d = --ts->init_depth;
	__u64 ps = (__u64)ret;
	if (!ps)
		return 0;
	if (ts->explain_only) {
		/* EXPLAIN without ANALYZE runs nothing, but its plans reveal node functions. */
		report_fn(read_u64(ps + off_ps_real), read_u32(ps), 0);
		return 0;
	}
	__u32 zero = 0;
	struct node_record *n = bpf_map_lookup_elem(&scratch, &zero);
	if (!n)
		return 0;
	__builtin_memset(n, 0, sizeof(*n));
	__u64 plan = read_u64(ps + off_ps_plan);
	n->tag = read_u32(ps);
	n->plan_tag = read_u32(plan + off_plan_type);
	n->fn_addr = read_u64(ps + off_ps_real);
	n->startup_cost_bits = read_u64(plan + off_plan_startup);
	n->total_cost_bits = read_u64(plan + off_plan_total);
	n->plan_rows_bits = read_u64(plan + off_plan_rows);
	n->plan_width = read_u32(plan + off_plan_width);
	n->parallel_aware = read_u32(plan + off_plan_parallel_aware) & 0xff;
	n->plan_node_id = read_u32(plan + off_plan_node_id);
	n->plan_seq = ts->init_plan;
	n->parent_node_id = d > 0 && d <= INIT_DEPTH ? ts->init_ids[(d - 1) & (INIT_DEPTH - 1)] : -1;
	n->depth = d;
	__u64 left = read_u64(plan + off_plan_lefttree), right = read_u64(plan + off_plan_righttree);
	n->left_child_id = left ? (__s32)read_u32(left + off_plan_node_id) : -1;
	n->right_child_id = right ? (__s32)read_u32(right + off_plan_node_id) : -1;
	n->pid = (__u32)bpf_get_current_pid_tgid();
	n->worker = ts->worker;
	read_features(n, plan, n->plan_tag, ts->init_estate);
	identify(n, ts);
	bool multi = n->tag == tag_hash_state || n->tag == tag_bitmap_index_state ||
		     n->tag == tag_bitmap_and_state || n->tag == tag_bitmap_or_state;
	if (multi || bpf_map_lookup_elem(&probed_fns, &n->fn_addr))
		n->flags |= PGS_N_PROBED;
	else
		nstat_inc(PGS_NSTAT_UNPROBED);
	if (!multi)
		report_fn(n->fn_addr, n->tag, n->plan_tag);
	struct node_key key = { .pid = n->pid, .planstate = ps };
	bpf_map_update_elem(&nodes, &key, n, BPF_ANY);
	return 0;
}

/* ExecInitSubPlan(SubPlan *, PlanState *parent): subplan trees are built
 * before the main tree; this links their root to the node that uses them. */
SEC("uprobe")
int BPF_KPROBE(init_subplan, void *subplan, void *parent)
{
	__u32 plan_id = read_u32((__u64)subplan + off_subplan_plan_id);
	__u64 estate = read_u64((__u64)parent + off_ps_state);
	__u64 list = estate ? read_u64(estate + off_es_subplanstates) : 0;
	__u64 elements = list ? read_u64(list + off_list_elements) : 0;
	if (!elements || !plan_id)
		return 0;
	__u64 root = read_u64(elements + 8 * (__u64)(plan_id - 1));
	struct node_record *n = node_of(root);
	if (!n)
		return 0;
	__u64 pplan = read_u64((__u64)parent + off_ps_plan);
	n->parent_node_id = (__s32)read_u32(pplan + off_plan_node_id);
	n->subplan = 1;
	return 0;
}

/* ---- execution: calls, tuples, inclusive/exclusive time and resources ---- */

static __always_inline void read_io(__u64 io[2])
{
	struct task_struct *t = bpf_get_current_task_btf();
	io[0] = BPF_CORE_READ(t, ioac.read_bytes);
	io[1] = BPF_CORE_READ(t, ioac.write_bytes);
}

/* Drops the innermost frames of calls the stack has unwound past — their
 * return was never seen (an error's longjmp, a return probe not yet
 * attached) — given the entry stack pointer of a call starting or returning
 * now: a live frame's call is always at or above it. Returns the depth. */
static __always_inline __u32 drop_unwound(struct thread_state *ts, __u64 entry_sp)
{
	__u32 d = ts->op_depth;
	for (int i = 0; i < OP_DEPTH && d > 0 && d <= OP_DEPTH; i++) {
		if (ts->frames[(d - 1) & (OP_DEPTH - 1)].sp >= entry_sp)
			break;
		d--;
		nstat_inc(PGS_NSTAT_STALE_FRAME);
	}
	ts->op_depth = d;
	return d;
}

/* The depth + 1 of the frame a return at user stack pointer `sp` closes
 * (the return popped the address its call pushed), or 0 for a call that
 * was never pushed (deeper than OP_DEPTH, or not tracked). */
static __always_inline __u32 frame_of_return(struct thread_state *ts, __u64 sp)
{
	__u32 d = drop_unwound(ts, sp - 8);
	if (d == 0 || d > OP_DEPTH || ts->frames[(d - 1) & (OP_DEPTH - 1)].sp != sp - 8)
		return 0;
	return d;
}

SEC("uprobe")
int BPF_KPROBE(node_enter, void *planstate)
{
	struct thread_state *ts = current_state(false);
	if (!ts)
		return 0;
	__u64 ps = (__u64)planstate;
	struct node_record *n = node_of(ps);
	if (!n)
		return 0;
	/* Only functions probed at both ends before the plan started are
	 * tracked: a call seen at entry only (its return probe not yet attached)
	 * would leave a frame no return pops. */
	ts->ran_since_init = 1;
	if (!(n->flags & PGS_N_PROBED))
		return 0;
	__u64 sp = PT_REGS_SP(ctx);
	__u32 d = drop_unwound(ts, sp);
	if (d >= OP_DEPTH) {
		nstat_inc(PGS_NSTAT_STACK_OVERFLOW);
		return 0;
	}
	barrier_var(d);   /* keeps the index mask below: the verifier lost d's bound in the loop */
	__u64 now = bpf_ktime_get_ns();
	if (!(n->flags & PGS_N_IDENTIFIED)) {
		identify(n, ts);
		n->flags |= PGS_N_IDENTIFIED;
	}
	if (n->calls == 0 && !(n->flags & PGS_N_RAN))
		n->first_call_ns = now;
	n->flags |= PGS_N_RAN;
	if (d == 0 && ts->state != ST_OPEN) {
		/* A parallel worker (no statement of its own): start tracking it. */
		__u64 vals[PGS_NCOUNTERS] = {};
		read_all(vals);
		for (int i = 0; i < PGS_NCOUNTERS; i++) {
			ts->ctr_base[i] = vals[i];
			ts->ctr_acc[i] = 0;
		}
		ts->offcpu_since = 0;
	}
	struct node_frame *f = &ts->frames[d & (OP_DEPTH - 1)];
	f->ps = ps;
	f->sp = sp;
	f->start = now;
	f->child_ns = 0;
	f->off_ns = 0;
	f->runq_ns = 0;
	f->child_io[0] = f->child_io[1] = 0;
	read_io(f->io_start);
	vctr_now(ts, f->ctr_start);
	for (int i = 0; i < PGS_NCOUNTERS; i++)
		f->child_ctr[i] = 0;
	ts->op_depth = d + 1;
	return 0;
}

/* Pops the frame of the returning call into its node's labels; returns the node. */
static __always_inline struct node_record *pop_frame(struct thread_state *ts, __u64 sp, __u64 *ps_out)
{
	__u32 d = frame_of_return(ts, sp);
	if (d == 0 || d > OP_DEPTH)
		return 0;
	__u64 now = bpf_ktime_get_ns();
	struct node_frame *f = &ts->frames[(d - 1) & (OP_DEPTH - 1)];
	ts->op_depth = d - 1;
	__u64 incl = now - f->start;
	__u64 io[2], ctr[PGS_NCOUNTERS] = {};
	read_io(io);
	__u32 mask = vctr_now(ts, ctr);
	/* Always a valid slot (masked index), so the verifier needs no null
	 * path; has_parent says whether it is a caller's frame. */
	bool has_parent = d >= 2;
	struct node_frame *parent = &ts->frames[(d - 2) & (OP_DEPTH - 1)];
	struct node_record *n = node_of(f->ps);
	*ps_out = f->ps;
	if (has_parent) {
		parent->child_ns += incl;
		parent->child_io[0] += io[0] - f->io_start[0];
		parent->child_io[1] += io[1] - f->io_start[1];
	}
	for (int i = 0; i < PGS_NCOUNTERS; i++) {
		__u64 c = ctr[i] - f->ctr_start[i];
		if (has_parent)
			parent->child_ctr[i] += c;
		if (n)
			n->counters[i] += c - f->child_ctr[i];
	}
	if (!n)
		return 0;
	n->counter_mask = n->calls == 0 ? mask : (n->counter_mask & mask);
	n->calls++;
	n->incl_ns += incl;
	n->excl_ns += incl - f->child_ns;
	n->excl_off_cpu_ns += f->off_ns;
	n->excl_runq_ns += f->runq_ns;
	n->disk_read_bytes += io[0] - f->io_start[0] - f->child_io[0];
	n->disk_write_bytes += io[1] - f->io_start[1] - f->child_io[1];
	return n;
}

static __always_inline void count_tuple(struct node_record *n)
{
	n->tuples++;
	if (!(n->flags & PGS_N_FIRST_TUP)) {
		n->flags |= PGS_N_FIRST_TUP;
		n->first_tuple_ns = bpf_ktime_get_ns() - n->first_call_ns;
	}
}

/* Return of a node function: a tuple unless NULL or an empty slot (scans
 * end with an empty slot, other nodes with NULL). */
SEC("uretprobe")
int BPF_KRETPROBE(node_exit, void *slot)
{
	struct thread_state *ts = current_state(false);
	if (!ts)
		return 0;
	__u64 ps;
	struct node_record *n = pop_frame(ts, PT_REGS_SP(ctx), &ps);
	if (!n || !slot)
		return 0;
	__u16 flags = 0;
	bpf_probe_read_user(&flags, sizeof(flags), slot + off_slot_flags);
	if (!(flags & tts_flag_empty))
		count_tuple(n);
	return 0;
}

/* The same programs for uprobe_multi links (collectors/operators.json,
 * "uprobeMulti"): one link per program and target instead of one per site,
 * and detaching a link removes all its sites after one wait, where each
 * per-site link waited ~0.1 s. The loader gives them that attach type (a
 * program of it cannot be attached the per-site way). */
SEC("uprobe")
int node_enter_multi(struct pt_regs *ctx)
{
	return ____node_enter(ctx, (void *)PT_REGS_PARM1(ctx));
}

SEC("uretprobe")
int node_exit_multi(struct pt_regs *ctx)
{
	return ____node_exit(ctx, (void *)PT_REGS_RC(ctx));
}

/* An integral, non-negative IEEE-754 double as an integer, with integer
 * operations only (the verifier rejects floating point). */
static __always_inline __u64 double_to_u64(__u64 bits)
{
	__u64 exp = (bits >> 52) & 0x7ff;
	if (bits >> 63 || exp < 1023)
		return 0;
	__u64 mant = (bits & ((1ULL << 52) - 1)) | (1ULL << 52);
	if (exp >= 1075)
		return exp - 1075 > 11 ? ~0ULL : mant << (exp - 1075);
	return mant >> (1075 - exp);
}

/* Return of MultiExecHash / MultiExecBitmapIndexScan / MultiExecBitmapAnd/Or. */
SEC("uretprobe")
int BPF_KRETPROBE(multi_exit)
{
	struct thread_state *ts = current_state(false);
	if (!ts)
		return 0;
	__u64 ps;
	struct node_record *n = pop_frame(ts, PT_REGS_SP(ctx), &ps);
	if (!n || n->tag != tag_hash_state)
		return 0;
	/* EXPLAIN counts hashtable->partialTuples of every build (a rescan may rebuild). */
	__u64 ht = read_u64(ps + off_hs_hashtable);
	if (!ht)
		return 0;
	n->tuples += double_to_u64(read_u64(ht + off_ht_partial));
	n->hash_buckets = read_u32(ht + off_ht_nbuckets);
	n->hash_batches = read_u32(ht + off_ht_nbatch);
	return 0;
}

/* multi_exit for an uprobe_multi link (see node_enter_multi). */
SEC("uretprobe")
int multi_exit_multi(struct pt_regs *ctx)
{
	return ____multi_exit(ctx);
}

/* index_getbitmap() returns the TIDs a Bitmap Index Scan produced. */
SEC("uretprobe")
int BPF_KRETPROBE(getbitmap_exit, long ntids)
{
	struct thread_state *ts = current_state(false);
	if (!ts || ntids <= 0)
		return 0;
	struct node_record *n = top_node(ts, (__u32)bpf_get_current_pid_tgid());
	if (n && n->tag == tag_bitmap_index_state)
		n->tuples += ntids;
	return 0;
}

/* ExecReScan ends a loop of a node that ran in it, like InstrEndLoop. */
SEC("uprobe")
int BPF_KPROBE(rescan, void *planstate)
{
	struct node_record *n = node_of((__u64)planstate);
	if (n && (n->flags & PGS_N_RAN)) {
		n->loops++;
		n->flags &= ~PGS_N_RAN;
	}
	return 0;
}

/* ExecEndNode runs once for every node of a finished plan. */
SEC("uprobe")
int BPF_KPROBE(end_node, void *planstate)
{
	struct node_key key = { .pid = (__u32)bpf_get_current_pid_tgid(), .planstate = (__u64)planstate };
	struct node_record *n = bpf_map_lookup_elem(&nodes, &key);
	if (!n)
		return 0;
	if (n->flags & PGS_N_RAN) {
		n->loops++;
		n->flags &= ~PGS_N_RAN;
	}
	/* A parallel-aware Hash Join switches to ExecParallelHashJoin after init:
	 * report that function, and keep the row only if it was already probed. */
	__u64 real = read_u64((__u64)planstate + off_ps_real);
	if (real && real != n->fn_addr) {
		report_fn(real, n->tag, n->plan_tag);
		if (!bpf_map_lookup_elem(&probed_fns, &real))
			n->flags &= ~PGS_N_PROBED;
	}
	struct node_done_key done = {
		.leader_pid = n->leader_pid, .seq = n->seq, .plan_seq = n->plan_seq,
		.plan_node_id = n->plan_node_id, .pid = n->pid,
	};
	/* NOEXIST: a key taken twice (a nested plan whose node functions were
	 * never probed reusing its predecessor's EState) is a counted drop, never
	 * a silent overwrite. */
	long err = bpf_map_update_elem(&finished_nodes, &done, n, BPF_NOEXIST);
	if (err == -17 /* EEXIST */)
		nstat_inc(PGS_NSTAT_DROP_DUPLICATE);
	else if (err)
		nstat_inc(PGS_NSTAT_DROP_FULL);
	else
		nstat_inc(PGS_NSTAT_NODES_DONE);
	bpf_map_delete_elem(&nodes, &key);
	return 0;
}

/* ---- sockets: bytes charged to the innermost active node ---- */

static __always_inline struct node_record *innermost(void)
{
	struct thread_state *ts = current_state(false);
	return ts ? top_node(ts, (__u32)bpf_get_current_pid_tgid()) : 0;
}

SEC("tp_btf/sock_send_length")
int BPF_PROG(op_sock_send, struct sock *sk, int ret, int flags)
{
	if (ret <= 0)
		return 0;
	struct node_record *n = innermost();
	if (n)
		n->net_send_bytes += ret;
	return 0;
}

SEC("tp_btf/sock_recv_length")
int BPF_PROG(op_sock_recv, struct sock *sk, int ret, int flags)
{
	if (ret <= 0 || (flags & 2))
		return 0;
	struct node_record *n = innermost();
	if (n)
		n->net_recv_bytes += ret;
	return 0;
}
