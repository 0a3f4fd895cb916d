// SPDX-License-Identifier: GPL-2.0
/* Statement-level collector: one record per top-level statement execution,
 * aggregated in the kernel and handed to user space only when finished.
 *
 * Lifecycle of a backend's record (per thread, in `threads`):
 *   NONE --(query__start | parse/plan/execute start)--> OPEN
 *   OPEN --(query__done | top-level execute__done in extended protocol)--> CLOSING
 *   CLOSING --(next recv on a socket | next statement | exit)--> finished map
 * CLOSING exists because the backend flushes the tail of the result and
 * ReadyForQuery after the statement ends; those bytes belong to it. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/usdt.bpf.h>
#include "statements.h"
#include "stmt_agg.h"
#include "stats.h"
#include "usage_read.h"
#include "query_verb.h"

static void stat_inc(__u32 idx);
#define PGS_ON_THREAD_FULL() stat_inc(PGS_STAT_THREAD_FULL)
#include "threads.h"

char LICENSE[] SEC("license") = "GPL";

/* Every execution is summed per (query_id, database) in the kernel maps of
 * stmt_agg.h (query_stats); only sampled, slow and failed ones reach `finished`. */

/* Set by user space before load (from collectors/layouts/pg<N>.json and the
 * binary's symbol table). Zero disables the feature that needs it. */
const volatile __u64 dqs_addr = 0;          /* &debug_query_string in the backend */
const volatile __u64 dbid_addr = 0;         /* &MyDatabaseId */
const volatile __u64 mybeentry_addr = 0;    /* &MyBEEntry */
const volatile __u32 off_st_query_id = 0;   /* PgBackendStatus.st_query_id */
const volatile __u32 off_qd_estate = 0;     /* QueryDesc.estate */
const volatile __u32 off_estate_processed = 0; /* EState.es_processed */
const volatile __u32 off_qd_plannedstmt = 0;   /* QueryDesc.plannedstmt */
const volatile __u32 off_pstmt_query_id = 0;   /* PlannedStmt.queryId */
/* Lean mode (--exact without --phases): no query__done, pgstat_report_query_id,
 * transaction or executor probes — three traps a simple-protocol statement, two
 * an extended one. A record spans the top-level PortalRun in both protocols
 * (execution time, as pg_stat_statements' exec time); query__start only marks a
 * Query message (protocol, statement index, the PREPARE check). The query id is
 * PgBackendStatus.st_query_id at the end of the top-level PortalRun; an
 * execution an error unwound is found when the backend next goes idle (at its
 * next sleep or socket read). */
const volatile __u32 lean = 0;
const volatile __u32 off_st_state = 0;      /* PgBackendStatus.st_state */
const volatile __u32 off_st_activity_raw = 0; /* PgBackendStatus.st_activity_raw */
const volatile __u32 state_running = 2;     /* STATE_RUNNING */
/* Keep these types in the object's BTF, where the layout test finds them. */
const volatile struct stmt_text_event *btf_anchor_stmt_text_event = 0;
const volatile struct stmt_agg_key *btf_anchor_agg_key = 0;
const volatile struct stmt_ctl *btf_anchor_ctl = 0;
const volatile enum pgs_stmt_flag btf_anchor_stmt_flag = 0;
const volatile enum pgs_stmt_stat btf_anchor_stmt_stat = 0;
const volatile enum pgs_counter btf_anchor_counter = 0;
const volatile enum rec_state btf_anchor_rec_state = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct stmt_key);
	__type(value, struct stmt_record);
} finished SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, __u8);   /* QID_* bits */
} seen_qids SEC(".maps");

/* What is known of a query id (seen_qids). */
#define QID_TEXT_SENT   1   /* its text reached user space */
#define QID_NOT_PREPARE 2   /* run by a Query message that starts with neither PREPARE nor EXECUTE */

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 22);
} texts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PGS_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} stmt_stats SEC(".maps");

static __always_inline void stat_inc(__u32 idx)
{
	stat_add(&stmt_stats, idx, 1);
}

static __always_inline void read_task_io(__u64 io[6], __u64 flt[2])
{
	/* Plain loads from the BTF-typed task (CO-RE relocated): a BPF_CORE_READ
	 * is a probe-read helper call per field. */
	struct task_struct *t = bpf_get_current_task_btf();
	io[0] = t->ioac.read_bytes;
	io[1] = t->ioac.write_bytes;
	io[2] = t->ioac.rchar;
	io[3] = t->ioac.wchar;
	io[4] = t->ioac.syscr;
	io[5] = t->ioac.syscw;
	flt[0] = t->min_flt;
	flt[1] = t->maj_flt;
}

static __always_inline void open_record(struct thread_state *ts, __u64 now)
{
	__u64 vals[PGS_NCOUNTERS] = {};
	__builtin_memset(&ts->rec, 0, sizeof(ts->rec));
	ts->rec.pid = (__u32)bpf_get_current_pid_tgid();
	ts->rec.start_ns = now;
	ts->rec.stmt_index = ts->next_stmt_index;
	if (!ts->dbid && dbid_addr)
		bpf_probe_read_user(&ts->dbid, sizeof(ts->dbid), (void *)dbid_addr);
	ts->rec.dbid = ts->dbid;
	ts->rec.counter_mask = read_all(vals);
	for (int i = 0; i < PGS_NCOUNTERS; i++) {
		ts->ctr_base[i] = vals[i];
		ts->ctr_acc[i] = 0;
	}
	read_task_io(ts->io_start, ts->flt_start);
	if (bufusage_addr)
		read_usage(ts->buf_start, ts->wal_start);
	ts->oncpu_since = now;
	ts->offcpu_since = 0;
	ts->has_exec = 0;
	ts->last_cpu = bpf_get_smp_processor_id();
	ts->state = ST_OPEN;
}

/* OPEN -> CLOSING: freeze the time- and CPU-based values. */
static __always_inline void end_record(struct thread_state *ts)
{
	__u64 now;
	__u64 vals[PGS_NCOUNTERS] = {};
	__u64 io[6], flt[2];
	if (ts->state != ST_OPEN)
		return;
	/* Leave OPEN first: this program may be preempted, and sched_switch must
	 * not account the task concurrently. Time is read after that, so
	 * on_cpu_ns + off_cpu_ns == end_ns - start_ns holds exactly. */
	ts->state = ST_CLOSING;
	asm volatile("" ::: "memory");
	now = bpf_ktime_get_ns();
	ts->rec.end_ns = now;
	ts->rec.on_cpu_ns += now - ts->oncpu_since;
	__u32 mask = read_all(vals) & ts->rec.counter_mask;
	ts->rec.counter_mask = mask;
	for (int i = 0; i < PGS_NCOUNTERS; i++)
		ts->rec.counters[i] = ts->ctr_acc[i] + (vals[i] - ts->ctr_base[i]);
	read_task_io(io, flt);
	ts->rec.io_read_bytes = io[0] - ts->io_start[0];
	ts->rec.io_write_bytes = io[1] - ts->io_start[1];
	ts->rec.rchar = io[2] - ts->io_start[2];
	ts->rec.wchar = io[3] - ts->io_start[3];
	ts->rec.syscr = io[4] - ts->io_start[4];
	ts->rec.syscw = io[5] - ts->io_start[5];
	ts->rec.minflt = flt[0] - ts->flt_start[0];
	ts->rec.majflt = flt[1] - ts->flt_start[1];
	/* In the backend's own context (its probes), so its memory is readable;
	 * at process exit it may be gone, and the columns stay 0. */
	if (bufusage_addr && !read_usage(ts->rec.buf, ts->rec.wal)) {
		for (int i = 0; i < STMT_NBUF; i++)
			ts->rec.buf[i] -= ts->buf_start[i];
		for (int i = 0; i < STMT_NWAL; i++)
			ts->rec.wal[i] -= ts->wal_start[i];
	} else {
		__builtin_memset(ts->rec.buf, 0, sizeof(ts->rec.buf));
		__builtin_memset(ts->rec.wal, 0, sizeof(ts->rec.wal));
	}
}

/* Sums one execution into the interval's aggregate of its (query_id, database).
 * A failed one counts in `errors` only, as pg_stat_statements leaves it out. */
static __always_inline void aggregate(void *map, struct stmt_record *r, __u64 dur, bool failed)
{
	struct stmt_agg_key key = { .query_id = r->query_id, .dbid = r->dbid, .userid = 0 };
	bool created = false;
	struct stmt_agg *a = agg_slot(map, &key, &created);
	stat_inc(PGS_STAT_CALLS);
	if (!a) {
		stat_inc(PGS_STAT_AGG_FULL);
		return;
	}
	if (failed) {
		a->errors++;
		return;
	}
	agg_call(a, dur);
	a->on_cpu_ns += r->on_cpu_ns;
	a->off_cpu_ns += r->off_cpu_ns;
	a->runq_ns += r->runq_ns;
	a->net_recv_bytes += r->net_recv_bytes;
	a->net_send_bytes += r->net_send_bytes;
	/* The default source's task[] order: nvcsw, nivcsw, minflt, majflt, read_bytes,
	 * write_bytes, rchar, wchar, syscr, syscw. */
	a->task[0] += r->nvcsw;
	a->task[1] += r->nivcsw;
	a->task[2] += r->minflt;
	a->task[3] += r->majflt;
	a->task[4] += r->io_read_bytes;
	a->task[5] += r->io_write_bytes;
	a->task[6] += r->rchar;
	a->task[7] += r->wchar;
	a->task[8] += r->syscr;
	a->task[9] += r->syscw;
#pragma unroll
	for (int i = 0; i < STMT_NBUF; i++)
		a->buf[i] += r->buf[i];
#pragma unroll
	for (int i = 0; i < STMT_NWAL; i++)
		a->wal[i] += r->wal[i];
	if (r->flags & PGS_F_HAS_ROWS) {
		a->rows += r->rows;
		a->rows_calls++;
	}
}

/* Hands the record to user space, or drops it when it never executed. Its
 * end time stands for "now" where the row budget needs one (no clock read). */
static __always_inline void finalize(struct thread_state *ts)
{
	if (ts->state == ST_NONE)
		return;
	end_record(ts);
	ts->state = ST_NONE;
	__u64 now = ts->rec.end_ns;
	/* pgscout puts its own backends in own_pids before their first statement:
	 * one lookup per backend, not one per statement (a backend found there
	 * stays marked by own_checked = 2). */
	if (!ts->own_checked)
		ts->own_checked = bpf_map_lookup_elem(&own_pids, &ts->rec.pid) ? 2 : 1;
	if (!ts->has_exec || (ts->rec.flags & PGS_F_NOT_A_CALL) || ts->own_checked == 2) {
		stat_inc(PGS_STAT_DISCARDED);
		return;
	}
	bool failed = ts->rec.flags & PGS_F_ERROR;
	__u64 dur = ts->rec.end_ns - ts->rec.start_ns;
	__u32 zero = 0;
	struct stmt_ctl *ctl = bpf_map_lookup_elem(&stmt_ctl, &zero);
	if (!ctl)
		return;
	/* One call per map: a map pointer that varies at one call site makes the
	 * verifier give up inlining the lookup (a helper call through a retpoline). */
	if (ctl->gen & 1)
		aggregate(&stmt_agg1, &ts->rec, dur, failed);
	else
		aggregate(&stmt_agg0, &ts->rec, dur, failed);
	bool slow;
	if (failed)
		stat_inc(PGS_STAT_ERRORS);
	/* Every failed execution is a query_errors row. */
	__u32 p32 = keep_p32(ctl->rows_per_s, now, &stmt_stats, PGS_STAT_CALLS);
	if (!agg_keep(ctl, p32, dur, &slow) && !failed) {
		ts->seq++;
		return;
	}
	ts->rec.sample_p32 = slow || failed ? 0 : p32;
	struct stmt_key key = { .pid = ts->rec.pid, .seq = ts->seq++ };
	if (bpf_map_update_elem(&finished, &key, &ts->rec, BPF_NOEXIST))
		stat_inc(PGS_STAT_DROP_FULL);
	else
		stat_inc(PGS_STAT_FINISHED);
}

/* A new statement begins: close what is pending and open a fresh record. */
static __always_inline void begin_statement(struct thread_state *ts, __u64 now)
{
	if (ts->state != ST_NONE)
		finalize(ts);
	open_record(ts, now);
}

/* ---- query lifecycle (USDT) ---- */

SEC("usdt")
int BPF_USDT(query_start)
{
	struct thread_state *ts = current_state(true);
	if (!ts)
		return 0;
	/* An error longjmp skips every *_done probe: reset the nesting here. */
	ts->exec_depth = 0;
	ts->run_depth = 0;
	ts->op_depth = 0;
	ts->init_depth = 0;
	ts->next_stmt_index = 0;
	ts->cur_qid = 0;
	ts->in_query = 1;
	/* Lean: the statement opens at its PortalRun (an unwound one was closed
	 * at the socket read of this message). */
	if (!lean)
		begin_statement(ts, bpf_ktime_get_ns());
	return 0;
}

SEC("usdt")
int BPF_USDT(query_done)
{
	struct thread_state *ts = current_state(false);
	if (!ts)
		return 0;
	end_record(ts);
	ts->in_query = 0;
	return 0;
}

/* In the extended protocol a statement starts with its first phase probe. */
static __always_inline struct thread_state *phase_begin(__u64 now)
{
	struct thread_state *ts = current_state(true);
	if (!ts || ts->exec_depth > 0)
		return 0;
	if (!ts->in_query && ts->state != ST_OPEN) {
		ts->next_stmt_index = 0;
		begin_statement(ts, now);
		ts->rec.flags |= PGS_F_EXTENDED;
	}
	ts->phase_start = now;
	return ts;
}

static __always_inline struct thread_state *phase_end(__u64 now, __u64 *elapsed)
{
	struct thread_state *ts = current_state(false);
	if (!ts || ts->exec_depth > 0 || ts->state != ST_OPEN || !ts->phase_start)
		return 0;
	*elapsed = now - ts->phase_start;
	ts->phase_start = 0;
	return ts;
}

SEC("usdt")
int BPF_USDT(parse_start)
{
	phase_begin(bpf_ktime_get_ns());
	return 0;
}

SEC("usdt")
int BPF_USDT(parse_done)
{
	__u64 d;
	struct thread_state *ts = phase_end(bpf_ktime_get_ns(), &d);
	if (ts)
		ts->rec.parse_ns += d;
	return 0;
}

SEC("usdt")
int BPF_USDT(plan_start)
{
	__u64 now = bpf_ktime_get_ns();
	struct thread_state *ts = current_state(true);
	/* The planner of a later statement in a multi-statement string runs
	 * after the previous statement executed: split there. */
	if (ts && ts->exec_depth == 0 && ts->in_query && ts->state == ST_OPEN && ts->has_exec) {
		ts->next_stmt_index++;
		begin_statement(ts, now);
	}
	phase_begin(now);
	return 0;
}

SEC("usdt")
int BPF_USDT(plan_done)
{
	__u64 d;
	struct thread_state *ts = phase_end(bpf_ktime_get_ns(), &d);
	if (ts)
		ts->rec.plan_ns += d;
	return 0;
}

/* Sets `bit` in a query id's seen_qids entry (`known`, or a new one). */
static __always_inline void qid_mark(__u64 *qid, __u8 *known, __u8 bit, __u64 flags)
{
	if (known)
		*known |= bit;
	else
		bpf_map_update_elem(&seen_qids, qid, &bit, flags);
}

/* Whether this Query message's first statement is a PREPARE. A query id run
 * by any other statement is remembered (two user reads a statement become a
 * lookup); not one a PREPARE or an EXECUTE ran: the two share it. */
static __always_inline bool is_prepare(__u64 qid)
{
	__u8 *known = qid ? bpf_map_lookup_elem(&seen_qids, &qid) : 0;
	if (known && (*known & QID_NOT_PREPARE))
		return false;
	enum verb verb = first_verb(dqs_addr);
	if (qid && verb == VERB_OTHER)
		qid_mark(&qid, known, QID_NOT_PREPARE, BPF_NOEXIST);
	return verb == VERB_PREPARE;
}

/* This backend's PgBackendStatus: MyBEEntry is set once at backend start,
 * so it is read once, not at every field read. 0 when not set (yet). */
static __always_inline __u64 backend_entry(struct thread_state *ts)
{
	if (!ts->be && mybeentry_addr)
		bpf_probe_read_user(&ts->be, sizeof(ts->be), (void *)mybeentry_addr);
	return ts->be;
}

/* A field of this backend's PgBackendStatus (0 when unreadable). */
static __always_inline __u64 backend_u64(struct thread_state *ts, __u32 off)
{
	__u64 be = backend_entry(ts), v = 0;
	if (be && off)
		bpf_probe_read_user(&v, sizeof(v), (void *)(be + off));
	return v;
}

static __always_inline __u32 backend_u32(struct thread_state *ts, __u32 off)
{
	__u64 be = backend_entry(ts);
	__u32 v = 0;
	if (be && off)
		bpf_probe_read_user(&v, sizeof(v), (void *)(be + off));
	return v;
}

static __always_inline void send_text(struct thread_state *ts)
{
	__u64 qid = ts->rec.query_id;
	if (!qid || !dqs_addr)
		return;
	__u8 *known = bpf_map_lookup_elem(&seen_qids, &qid);
	if (known && (*known & QID_TEXT_SENT))
		return;
	struct stmt_text_event *ev = bpf_ringbuf_reserve(&texts, sizeof(*ev), 0);
	if (!ev) {
		stat_inc(PGS_STAT_TEXT_DROP);
		return;
	}
	const char *src = 0;
	long n = -1;
	bpf_probe_read_user(&src, sizeof(src), (void *)dqs_addr);
	/* Between messages (an error found at idle) debug_query_string is reset:
	 * the backend's activity still holds the text. */
	if (!src)
		src = (const char *)backend_u64(ts, off_st_activity_raw);
	if (src)
		n = bpf_probe_read_user_str(ev->text, sizeof(ev->text), src);
	if (n <= 0) {
		bpf_ringbuf_discard(ev, 0);
		return;
	}
	ev->query_id = qid;
	ev->pid = ts->rec.pid;
	ev->stmt_index = ts->rec.stmt_index;
	ev->len = n - 1;
	bpf_ringbuf_submit(ev, 0);
	qid_mark(&qid, known, QID_TEXT_SENT, BPF_ANY);
	stat_inc(PGS_STAT_TEXT_SENT);
}

SEC("usdt")
int BPF_USDT(execute_start)
{
	__u64 now = bpf_ktime_get_ns();
	struct thread_state *ts = current_state(true);
	if (!ts)
		return 0;
	if (ts->exec_depth++ > 0)
		return 0;
	if (ts->state != ST_OPEN || ts->has_exec) {
		/* Multi-statement string without a plan phase (utility), or a
		 * re-executed extended-protocol portal. */
		if (ts->state == ST_OPEN && ts->has_exec && ts->in_query)
			ts->next_stmt_index++;
		begin_statement(ts, now);
		if (!ts->in_query)
			ts->rec.flags |= PGS_F_EXTENDED;
	}
	ts->has_exec = 1;
	ts->exec_start = now;
	ts->rec.query_id = ts->cur_qid;
	ts->cur_qid = 0;
	if (lean)
		return 0;
	if (!ts->in_query && mybeentry_addr && off_st_query_id) {
		/* Extended protocol: take the id PostgreSQL itself shows for this Execute
		 * (pg_stat_activity.query_id). A re-executed prepared utility statement
		 * has none: pg_stat_statements zeroes its cached queryId and counts it no more. */
		__u64 be = backend_entry(ts), qid = 0;
		if (be && !bpf_probe_read_user(&qid, sizeof(qid), (void *)(be + off_st_query_id)))
			ts->rec.query_id = qid;
	}
	send_text(ts);
	return 0;
}

SEC("usdt")
int BPF_USDT(execute_done)
{
	struct thread_state *ts = current_state(false);
	if (!ts || ts->exec_depth == 0)
		return 0;
	if (--ts->exec_depth > 0)
		return 0;
	bool open = ts->state == ST_OPEN;
	if (lean || !ts->in_query) {
		/* The record ends with the run: one clock read for both. */
		end_record(ts);
		if (open)
			ts->rec.execute_ns += ts->rec.end_ns - ts->exec_start;
	} else if (open) {
		ts->rec.execute_ns += bpf_ktime_get_ns() - ts->exec_start;
	}
	if (lean && open) {
		/* After the run: SQL EXECUTE has reported its prepared statement's id by now. */
		__u64 qid = backend_u64(ts, off_st_query_id);
		ts->rec.query_id = qid;
		if (ts->in_query && ts->rec.stmt_index == 0 && is_prepare(qid))
			ts->rec.flags |= PGS_F_NOT_A_CALL;
		else
			send_text(ts);
	}
	if (lean && ts->in_query)
		ts->next_stmt_index++;   /* the next statement of a multi-statement string */
	return 0;
}

static __always_inline void xact_end(__u32 lxid, __u32 flag)
{
	struct thread_state *ts = current_state(false);
	if (!ts || ts->state == ST_NONE)
		return;
	if (flag == PGS_F_ABORT && ts->exec_depth > 0 && ts->state == ST_OPEN) {
		/* Abort while executing: an error unwound the executor. */
		ts->rec.flags |= PGS_F_ERROR;
		ts->exec_depth = 0;
		ts->run_depth = 0;
		ts->op_depth = 0;
		end_record(ts);
	}
	ts->rec.flags |= flag;
	ts->rec.lxid = lxid;
}

SEC("usdt")
int BPF_USDT(xact_commit, __u32 lxid)
{
	xact_end(lxid, PGS_F_COMMIT);
	return 0;
}

SEC("usdt")
int BPF_USDT(xact_abort, __u32 lxid)
{
	xact_end(lxid, PGS_F_ABORT);
	return 0;
}

/* ---- uprobes on exported functions ---- */

/* pgstat_report_query_id(uint64 queryId, bool force) is called by parse
 * analysis, Bind, Execute and ExecutorStart. The last non-zero id reported
 * outside execution before the top-level PortalRun is the statement's: the
 * top-level ExecutorStart (or Execute message) reports after any nested query
 * the planner may have run. Reports during execution are nested queries. */
SEC("uprobe")
int BPF_KPROBE(report_query_id, __u64 qid)
{
	struct thread_state *ts = current_state(true);
	if (!ts || ts->exec_depth > 0 || !qid)
		return 0;
	ts->cur_qid = qid;
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(executor_run, void *query_desc)
{
	struct thread_state *ts = current_state(false);
	if (!ts || ts->state != ST_OPEN)
		return 0;
	__u32 d = ts->run_depth++;
	if (d == 0)
		ts->run_start = bpf_ktime_get_ns();
	if (d == 0 && !ts->rec.query_id && off_qd_plannedstmt) {
		/* SQL-level EXECUTE has no query id of its own: like pg_stat_statements,
		 * count it under the prepared statement's. */
		void *pstmt = 0;
		__u64 qid = 0;
		if (!bpf_probe_read_user(&pstmt, sizeof(pstmt), query_desc + off_qd_plannedstmt) && pstmt &&
		    !bpf_probe_read_user(&qid, sizeof(qid), pstmt + off_pstmt_query_id) && qid) {
			ts->rec.query_id = qid;
			send_text(ts);
		}
	}
	if (d < RUN_STACK)
		ts->run_qd[d & (RUN_STACK - 1)] = (__u64)query_desc;
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(executor_run_ret)
{
	struct thread_state *ts = current_state(false);
	if (!ts || ts->run_depth == 0)
		return 0;
	__u32 d = --ts->run_depth;
	if (d != 0 || ts->state != ST_OPEN)
		return 0;
	ts->rec.executor_ns += bpf_ktime_get_ns() - ts->run_start;
	if (!off_qd_estate || !off_estate_processed)
		return 0;
	void *estate = 0;
	__u64 processed = 0;
	void *qd = (void *)ts->run_qd[0];
	if (bpf_probe_read_user(&estate, sizeof(estate), qd + off_qd_estate) || !estate)
		return 0;
	if (bpf_probe_read_user(&processed, sizeof(processed), estate + off_estate_processed))
		return 0;
	ts->rec.rows += processed;
	ts->rec.flags |= PGS_F_HAS_ROWS;
	return 0;
}

/* ---- scheduler: on/off-CPU time and per-task virtualized counters ---- */

static __always_inline void switch_out(struct thread_state *ts, __u64 now, bool involuntary)
{
	__u64 vals[PGS_NCOUNTERS] = {};
	read_all(vals);
	for (int i = 0; i < PGS_NCOUNTERS; i++)
		ts->ctr_acc[i] += vals[i] - ts->ctr_base[i];
	ts->rec.on_cpu_ns += now - ts->oncpu_since;
	ts->offcpu_since = now;
	if (involuntary) {
		ts->rec.nivcsw++;
		/* high bit: preempted, so the coming off-CPU time is run-queue wait */
		ts->last_cpu |= 0x80000000u;
	} else {
		ts->rec.nvcsw++;
		ts->last_cpu &= 0x7fffffffu;
	}
}

static __always_inline void switch_in(struct thread_state *ts, __u64 now)
{
	__u64 vals[PGS_NCOUNTERS] = {};
	read_all(vals);
	for (int i = 0; i < PGS_NCOUNTERS; i++)
		ts->ctr_base[i] = vals[i];
	if (ts->offcpu_since) {
		__u64 off = now - ts->offcpu_since;
		bool runq = ts->last_cpu & 0x80000000u;
		ts->rec.off_cpu_ns += off;
		if (runq)
			ts->rec.runq_ns += off;
		/* Off-CPU time belongs to the innermost active plan node. */
		__u32 d = ts->op_depth;
		if (d > 0 && d <= OP_DEPTH) {
			struct node_frame *f = &ts->frames[(d - 1) & (OP_DEPTH - 1)];
			f->off_ns += off;
			if (runq)
				f->runq_ns += off;
		}
	}
	__u32 cpu = bpf_get_smp_processor_id();
	if ((ts->last_cpu & 0x7fffffffu) != cpu)
		ts->rec.cpu_migrations++;
	ts->last_cpu = (ts->last_cpu & 0x80000000u) | cpu;
	ts->oncpu_since = now;
	ts->offcpu_since = 0;
}

/* Lean mode: an execution still open while the backend is no longer running
 * was unwound by an error (the *_done probes were skipped). Call only in the
 * backend's own context. */
static __always_inline bool unwound_by_error(struct thread_state *ts)
{
	if (!lean || ts->state != ST_OPEN || ts->exec_depth == 0)
		return false;
	if (backend_u32(ts, off_st_state) == state_running)
		return false;
	ts->rec.flags |= PGS_F_ERROR;
	ts->exec_depth = 0;
	ts->run_depth = 0;
	ts->op_depth = 0;
	ts->in_query = 0;
	/* Idle keeps the failed statement's id (it is reset only when the next one runs). */
	__u64 qid = backend_u64(ts, off_st_query_id);
	if (qid)
		ts->rec.query_id = qid;
	send_text(ts);
	end_record(ts);
	return true;
}

/* Lean mode reads the id at execute_done; a statement that blocks inside
 * the executor has it (and its text) now, and keeps it should the backend
 * die there (at exit the backend entry is cleared). In the backend's context. */
static __always_inline void remember_query_id(struct thread_state *ts)
{
	if (!lean || ts->state != ST_OPEN || ts->exec_depth == 0 || ts->rec.query_id)
		return;
	ts->rec.query_id = backend_u64(ts, off_st_query_id);
	send_text(ts);
}

/* The state of `task` when it may be a backend of the target (see
 * maybe_backend): the switch passes every task of the machine twice. `btf`:
 * the task pointer is BTF-typed (tp_btf) and read with plain loads. */
static __always_inline struct thread_state *switch_state(struct task_struct *task, bool btf)
{
	if (btf)
		return maybe_backend(task) ? get_state(task->pid, false) : 0;
	if (target_postmaster && BPF_CORE_READ(task, real_parent, tgid) != target_postmaster)
		return 0;
	return get_state(BPF_CORE_READ(task, pid), false);
}

static __always_inline void on_switch(bool preempt, struct task_struct *prev, struct task_struct *next,
				     unsigned int prev_state, bool btf)
{
	__u64 now = 0;
	struct thread_state *ts = switch_state(prev, btf);
	if (ts && is_tracked(ts)) {
		now = bpf_ktime_get_ns();
		switch_out(ts, now, preempt || prev_state == 0);
		if (!preempt && !unwound_by_error(ts))
			remember_query_id(ts);
	}
	ts = switch_state(next, btf);
	if (ts && is_tracked(ts)) {
		if (!now)
			now = bpf_ktime_get_ns();
		switch_in(ts, now);
	}
}

SEC("tp_btf/sched_switch")
int BPF_PROG(sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next,
	     unsigned int prev_state)
{
	on_switch(preempt, prev, next, prev_state, true);
	return 0;
}

/* Variant for kernels without BTF-typed tracepoints (chosen by feature probe). */
SEC("raw_tp/sched_switch")
int sched_switch_raw(struct bpf_raw_tracepoint_args *ctx)
{
	on_switch((bool)ctx->args[0], (struct task_struct *)ctx->args[1],
		  (struct task_struct *)ctx->args[2], (unsigned int)ctx->args[3], false);
	return 0;
}

/* ---- sockets: bytes of the client connection ---- */

/* current_state() for the socket tracepoints, which every task of the machine passes. */
static __always_inline struct thread_state *current_backend(void)
{
	return maybe_backend(bpf_get_current_task_btf()) ? current_state(false) : 0;
}

static __always_inline void on_send(int ret)
{
	if (ret <= 0)
		return;
	struct thread_state *ts = current_backend();
	if (ts && ts->state != ST_NONE)
		ts->rec.net_send_bytes += ret;
}

static __always_inline void on_recv(int ret, bool peek)
{
	struct thread_state *ts = current_backend();
	if (!ts)
		return;
	/* Lean: a message read ends the Query message's statements; the next
	 * PortalRun is an Execute's unless query__start says otherwise. */
	if (lean && ret > 0)
		ts->in_query = 0;
	if (ts->state == ST_NONE)
		return;
	if (unwound_by_error(ts))
		return;
	if (ts->state == ST_CLOSING) {
		/* The backend wants its next message: the statement is over. */
		finalize(ts);
		return;
	}
	if (ret > 0 && !peek)
		ts->rec.net_recv_bytes += ret;
}

/* BTF-typed tracepoints attach through the bpf syscall: no tracefs needed. */
SEC("tp_btf/sock_send_length")
int BPF_PROG(sock_send, struct sock *sk, int ret, int flags)
{
	on_send(ret);
	return 0;
}

SEC("tp_btf/sock_recv_length")
int BPF_PROG(sock_recv, struct sock *sk, int ret, int flags)
{
	on_recv(ret, flags & 2 /* MSG_PEEK */);
	return 0;
}

/* Variants for kernels before 6.3 (no sock tracepoints) that have kprobes;
 * this one has neither kprobes nor the need, so they stay unloaded here. */
SEC("kretprobe/sock_sendmsg")
int BPF_KRETPROBE(sock_send_kret, int ret)
{
	on_send(ret);
	return 0;
}

SEC("kretprobe/sock_recvmsg")
int BPF_KRETPROBE(sock_recv_kret, int ret)
{
	on_recv(ret, false);
	return 0;
}

static __always_inline void on_process_exit(void)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct thread_state *ts = get_state(tid, false);
	if (!ts)
		return;
	/* Died inside the statement (still open, or unwound by the FATAL error
	 * with no request read since): pg_stat_statements never counts it, so it
	 * is a failed execution (query_errors, query_stats.errors), marked aborted. */
	if (ts->state == ST_OPEN)
		ts->rec.flags |= PGS_F_TRUNCATED | PGS_F_ABORTED | PGS_F_ERROR;
	else if (ts->state == ST_CLOSING && (ts->rec.flags & PGS_F_ERROR))
		ts->rec.flags |= PGS_F_ABORTED;
	finalize(ts);
	bpf_map_delete_elem(&threads, &tid);
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(process_exit, struct task_struct *task)
{
	on_process_exit();
	return 0;
}

/* Variant for kernels whose BTF lacks the tracepoint (needs tracefs mounted). */
SEC("tp/sched/sched_process_exit")
int process_exit_tp(void *ctx)
{
	on_process_exit();
	return 0;
}
