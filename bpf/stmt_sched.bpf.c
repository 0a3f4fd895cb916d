// SPDX-License-Identifier: GPL-2.0
/* Statement collector, default source: no trap per statement.
 *
 * A backend ends a statement by going idle (PgBackendStatus.st_state IDLE /
 * IDLE IN TRANSACTION [ABORTED]) and then sending ReadyForQuery: the first
 * socket send after the idle report (sock_send_length, in the backend's
 * context) is where the end is seen, whether the backend then sleeps in its
 * client wait or finds the next message already there. Kernels without that
 * tracepoint see ends at the backend's switch-out instead (sched_switch,
 * prev = the backend, so its memory is readable), which misses a statement
 * when the next request arrives before the backend sleeps. Both are
 * tracepoints the kernel passes anyway: nothing in PostgreSQL is patched. A
 * new st_activity_start_timestamp since the last end = one more statement;
 * its window is [first switch-in after the previous end, now].
 *
 * Per statement: query_id/database/user from PgBackendStatus, buffer and WAL
 * usage as deltas of the backend's pgBufferUsage/pgWalUsage, task counters
 * as deltas (CO-RE), on/off-CPU and run-queue time from the scheduler.
 * Everything is summed per (query_id, database, user) in one of two hash
 * maps (user space drains the one not being written), and a sampled few are
 * handed over one by one through a ring buffer. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/usdt.bpf.h>
#include "user_read.h"
#include "stats.h"
#include "statements.h"
#include "stmt_sched.h"
#include "sched_thread.h"
#include "usage_read.h"
#include "query_verb.h"

char LICENSE[] SEC("license") = "GPL";

/* Set before load from the binary's symbols and collectors/layouts/pg<N>.json. */
const volatile __u32 target_postmaster = 0;
const volatile __u64 mybeentry_addr = 0;      /* &MyBEEntry */
const volatile __u64 myproc_addr = 0;         /* &MyProc */
const volatile __u32 off_be_type = 0;         /* PgBackendStatus.st_backendType */
const volatile __u32 off_be_procpid = 0;      /* .st_procpid */
const volatile __u32 off_be_changecount = 0;  /* .st_changecount */
const volatile __u32 off_be_act_start = 0;    /* .st_activity_start_timestamp */
const volatile __u32 off_be_state_start = 0;  /* .st_state_start_timestamp */
const volatile __u32 off_be_dbid = 0;         /* .st_databaseid */
const volatile __u32 off_be_userid = 0;       /* .st_userid */
const volatile __u32 off_be_state = 0;        /* .st_state */
const volatile __u32 off_be_activity = 0;     /* .st_activity_raw */
const volatile __u32 off_be_ssl = 0;          /* .st_ssl (0: unknown) */
const volatile __u32 off_be_query_id = 0;     /* .st_query_id */
const volatile __u32 off_proc_lxid = 0;       /* PGPROC.lxid (0: coalescing not detected) */
const volatile __u32 be_size = 8;             /* sizeof(PgBackendStatus), at most BE_SNAP (checked by the loader) */
const volatile __u32 be_type_client = 3;      /* B_BACKEND */
const volatile __u32 state_idle = 1, state_idle_tx = 3, state_idle_tx_aborted = 5;
const volatile __u32 end_at_send = 0;         /* sock_send is attached: ends are seen at ReadyForQuery */
/* --exact: a call is the end of a top-level PortalRun (USDT query__execute__done,
 * the one trap a statement), so statements that share a round trip (pipelined,
 * multi-statement strings) are told apart; the round trip's ReadyForQuery still
 * closes the last one. Needs end_at_send. */
const volatile __u32 count_at_execute = 0;
const volatile __u64 active_portal_addr = 0;  /* &ActivePortal: non-NULL after a nested PortalRun (SQL EXECUTE's) */
const volatile __u64 dqs_addr = 0;            /* &debug_query_string: the message's text, for the PREPARE check */

/* Keep these types in the object's BTF, where the layout test finds them. */
const volatile struct stmt_sample *btf_anchor_sample = 0;
const volatile struct stmt_text_event *btf_anchor_text_event = 0;
const volatile struct stmt_agg_key *btf_anchor_agg_key = 0;
const volatile struct stmt_ctl *btf_anchor_ctl = 0;
const volatile enum pgs_sched_flag btf_anchor_sched_flag = 0;
const volatile enum pgs_sched_stat btf_anchor_sched_stat = 0;

/* struct stmt_thread and the task storage `sched_threads`: bpf/sched_thread.h (the plan-node reader shares it). */



struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20);
} samples SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, __u8);   /* QID_* bits */
} seen_qids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} texts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PGS_SSTAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} sched_stats SEC(".maps");


static __always_inline void sstat_inc(__u32 idx, __u64 n)
{
	stat_add(&sched_stats, idx, n);
}


static __always_inline void read_task(struct task_struct *t, __u64 out[STMT_NTASK])
{
	out[0] = t->nvcsw;
	out[1] = t->nivcsw;
	out[2] = t->min_flt;
	out[3] = t->maj_flt;
	out[4] = t->ioac.read_bytes;
	out[5] = t->ioac.write_bytes;
	out[6] = t->ioac.rchar;
	out[7] = t->ioac.wchar;
	out[8] = t->ioac.syscr;
	out[9] = t->ioac.syscw;
}

static __always_inline __u32 read_lxid(struct stmt_thread *th)
{
	if (!off_proc_lxid)
		return 0;
	if (!th->proc)
		th->proc = read_u64(myproc_addr);   /* fixed for the backend's life */
	return th->proc ? read_u32(th->proc + off_proc_lxid) : 0;
}

/*
 * One copy of the backend's whole PgBackendStatus per check: a single user
 * read instead of one per field (each read pays the fault-safe copy set-up,
 * and a statement end needed eight of them).
 */
#define BE_SNAP 512
struct be_snap {
	__u8 b[BE_SNAP];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct be_snap);
} be_scratch SEC(".maps");

static __always_inline struct be_snap *snap_be(__u64 be)
{
	__u32 zero = 0;
	struct be_snap *snap = bpf_map_lookup_elem(&be_scratch, &zero);
	if (!snap)
		return 0;
	__u32 n = be_size;
	if (n > BE_SNAP)
		n = BE_SNAP;
	if (n < 8)
		n = 8;
	if (bpf_probe_read_user(snap->b, n, (void *)be))
		return 0;
	return snap;
}

/* Field reads from the copy; offsets are the fields' natural alignment. */
static __always_inline __u64 snap_u64(struct be_snap *snap, __u32 off)
{
	return *(__u64 *)&snap->b[off & (BE_SNAP - 8)];
}

static __always_inline __u32 snap_u32(struct be_snap *snap, __u32 off)
{
	return *(__u32 *)&snap->b[off & (BE_SNAP - 4)];
}

static __always_inline __u8 snap_u8(struct be_snap *snap, __u32 off)
{
	return snap->b[off & (BE_SNAP - 1)];
}

static __always_inline bool is_idle(__u32 state)
{
	return state == state_idle || state == state_idle_tx || state == state_idle_tx_aborted;
}

static __always_inline bool in_block(__u32 state)
{
	return state == state_idle_tx || state == state_idle_tx_aborted;
}

/* The backend's connection is TLS-encrypted (st_ssl; 0 where the layout lacks it): its replies cannot be read. */
static __always_inline bool on_tls(struct be_snap *be)
{
	return off_be_ssl && snap_u8(be, off_be_ssl);
}

static __always_inline __u32 task_tgid(struct task_struct *task)
{
	return task->tgid;
}

/* Client backends are children of the target postmaster: two loads rule out
 * every other task of the machine before a task-storage lookup (a backend
 * orphaned by a dying postmaster is no longer followed; process_exit still
 * finds its entry). */
static __always_inline bool is_backend(struct task_struct *task)
{
	return task->real_parent->tgid == target_postmaster;
}

/* The backend's state entry for `task` (current); created for a client
 * backend of the target cluster seen for the first time. */
static struct stmt_thread *thread_of(struct task_struct *task, __u32 tid, bool create)
{
	struct stmt_thread *th = bpf_task_storage_get(&sched_threads, task, 0, 0);
	if (th || !create || !is_backend(task))
		return th;
	__u64 be = read_u64(mybeentry_addr);
	if (!be)
		return 0;           /* not set up yet: try again at its next switch */
	/* Until pgstat_bestart fills the slot it holds its previous occupant's
	 * state: wait for our own pid in it. */
	if (read_u32(be + off_be_procpid) != task_tgid(task))
		return 0;
	/* Created zeroed and filled in place: the state is too big for the stack. */
	th = bpf_task_storage_get(&sched_threads, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!th) {
		sstat_inc(PGS_SSTAT_THREAD_FULL, 1);
		return 0;
	}
	th->be = be;
	/* The slot's backend type may still be its previous occupant's here: it is
	 * checked at each statement end instead, when the slot is surely ours. */
	if (bpf_map_lookup_elem(&own_pids, &tid))
		th->ignored = 1;
	/* A statement that ended before we saw the backend is not ours to count. */
	th->last_act = read_u64(be + off_be_act_start);
	th->last_cc = read_u32(be + off_be_changecount);   /* the next round trip's slot writes count from here */
	if (!is_idle(read_u32(be + off_be_state)))
		th->partial = 1;
	th->lxid = read_lxid(th);
	read_task(task, th->task);
	read_usage(th->buf, th->wal);
	return th;
}

/* A statement's window sums and counter deltas into its aggregate. */
static __always_inline void add_sums(struct stmt_agg *a, struct stmt_sample *s)
{
	a->coalesced += s->coalesced;
	a->on_cpu_ns += s->on_cpu_ns;
	a->off_cpu_ns += s->off_cpu_ns;
	a->runq_ns += s->runq_ns;
	a->net_recv_bytes += s->net_recv_bytes;
	a->net_send_bytes += s->net_send_bytes;
#pragma unroll
	for (int i = 0; i < STMT_NTASK; i++)
		a->task[i] += s->task[i];
#pragma unroll
	for (int i = 0; i < STMT_NBUF; i++)
		a->buf[i] += s->buf[i];
#pragma unroll
	for (int i = 0; i < STMT_NWAL; i++)
		a->wal[i] += s->wal[i];
}

/* Returns true when the key is new in this map (its first statement of the
 * interval). A failed execution counts in `errors` only, as pg_stat_statements
 * leaves it out. */
static __always_inline bool aggregate(void *map, struct stmt_agg_key *key, struct stmt_sample *s, __u64 dur,
				      bool failed)
{
	bool created = false;
	struct stmt_agg *a = agg_slot(map, key, &created);
	if (!a) {
		sstat_inc(PGS_SSTAT_AGG_FULL, 1);
		return created;
	}
	if (failed) {
		a->errors++;
		a->coalesced += s->coalesced;
		return created;
	}
	agg_call(a, dur);
	add_sums(a, s);
	return created;
}

/* Over TLS, more of a portal fetched (tls_fetch_more): its time and counters
 * into the query's sums, no call (counted at the portal's first round trip). */
static __always_inline void aggregate_more(void *map, struct stmt_agg_key *key, struct stmt_sample *s, __u64 dur)
{
	bool created = false;
	struct stmt_agg *a = agg_slot(map, key, &created);
	if (!a) {
		sstat_inc(PGS_SSTAT_AGG_FULL, 1);
		return;
	}
	a->total_ns += dur;
	add_sums(a, s);
}

/* What is known of a query id (seen_qids). */
#define QID_TEXT_SENT   1   /* its text reached user space */
#define QID_NOT_PREPARE 2   /* (--exact) run by a message that starts with neither PREPARE nor EXECUTE */
#define QID_PREPARED    4   /* (--exact) an SQL PREPARE reported it: NOT_PREPARE no longer says enough */

/* Sets `bit` in a query id's seen_qids entry (`known`, or a new one). */
static __always_inline void qid_mark(__u64 *qid, __u8 *known, __u8 bit)
{
	if (known)
		*known |= bit;
	else
		bpf_map_update_elem(&seen_qids, qid, &bit, BPF_ANY);
}

/* Hands the backend's current activity over as the text of `qid`, the
 * statement at `stmt_index` in it (~0: the last one, which st_query_id names
 * when a string's statements are seen as one). */
static __always_inline bool submit_text(struct stmt_thread *th, __u64 qid, __u32 stmt_index)
{
	struct stmt_text_event *ev = bpf_ringbuf_reserve(&texts, sizeof(*ev), 0);
	if (!ev) {
		sstat_inc(PGS_SSTAT_TEXT_DROP, 1);
		return false;
	}
	ev->query_id = qid;
	ev->pid = 0;
	ev->stmt_index = stmt_index;
	__u64 raw = read_u64(th->be + off_be_activity);
	long n = raw ? bpf_probe_read_user_str(ev->text, sizeof(ev->text), (void *)raw) : 0;
	ev->len = n > 0 ? n - 1 : 0;
	bpf_ringbuf_submit(ev, BPF_RB_NO_WAKEUP);
	sstat_inc(PGS_SSTAT_TEXT_SENT, 1);
	return true;
}

static __always_inline void send_text(struct stmt_thread *th, __u64 qid)
{
	__u8 *known = qid ? bpf_map_lookup_elem(&seen_qids, &qid) : 0;
	if (qid && !(known && (*known & QID_TEXT_SENT)) && submit_text(th, qid, ~0u))
		qid_mark(&qid, known, QID_TEXT_SENT);
}

/* The counters marked (th->mark_*) less the baselines; the marks become the
 * baselines. */
static __always_inline void deltas_to_mark(struct stmt_thread *th, struct stmt_sample *s)
{
#pragma unroll
	for (int i = 0; i < STMT_NTASK; i++) {
		s->task[i] = th->mark_task[i] - th->task[i];
		th->task[i] = th->mark_task[i];
	}
#pragma unroll
	for (int i = 0; i < STMT_NBUF; i++) {
		s->buf[i] = th->mark_buf[i] - th->buf[i];
		th->buf[i] = th->mark_buf[i];
	}
#pragma unroll
	for (int i = 0; i < STMT_NWAL; i++) {
		s->wal[i] = th->mark_wal[i] - th->wal[i];
		th->wal[i] = th->mark_wal[i];
	}
}

/* The task, buffer and WAL counters now, into the marks. */
static __always_inline void mark_counters(struct stmt_thread *th, struct task_struct *task)
{
	read_task(task, th->mark_task);
	read_usage(th->mark_buf, th->mark_wal);
}

/* Counter deltas since the last statement end, then the new baselines (read
 * through the marks, which no pending execution needs where this is called). */
static __always_inline void take_deltas(struct stmt_thread *th, struct task_struct *task, struct stmt_sample *s)
{
	mark_counters(th, task);
	deltas_to_mark(th, s);
}

/* Bytes a backend sends for Parse + Sync: ParseComplete (5) + ReadyForQuery (6). */
#define PARSE_ONLY_REPLY 11

/* Per-CPU scratch for the sample being built (too big for the stack). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct stmt_sample);
} sample_scratch SEC(".maps");

/*
 * What the statement's reply says, from the send that carries its
 * ReadyForQuery ('Z', length 5, status): pg_stat_statements counts neither a
 * failed execution nor an SQL PREPARE, and neither shows in PgBackendStatus
 * (an autocommit statement goes idle either way; a PREPARE reports the id
 * its EXECUTEs are counted under). Two reply sizes say it, so other replies
 * cost no read:
 * - 19 bytes, CommandComplete "PREPARE" + ReadyForQuery: a PREPARE;
 * - 6 bytes, ReadyForQuery alone: PostgreSQL flushes an ErrorResponse (with
 *   whatever was buffered before it) as it reports the error, so after a
 *   failure the ReadyForQuery goes out by itself, from the start of the same
 *   send buffer; the previous send, still in that buffer, ends with the
 *   ErrorResponse, whose fields include 'V' "ERROR".
 * Anything else (TLS or GSS encryption among them) counts as today.
 */
enum reply_kind { REPLY_UNKNOWN, REPLY_ERROR, REPLY_PREPARE };

#define ERR_WINDOW 1024   /* the end of the previous send searched for the ErrorResponse's 'V' field */

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u8[ERR_WINDOW + 8]);   /* + 8: a field read at any masked index stays inside */
} err_scratch SEC(".maps");

struct err_scan {
	const __u8 *b;
	__u32 n;
	bool found;
};

/* NUL 'V' "ERROR" NUL at i: the end of the severity field, then the
 * non-localized one of an ErrorResponse (a NoticeResponse has "NOTICE",
 * "WARNING"…; FATAL and PANIC end the backend before any ReadyForQuery). */
static long verror_at(__u64 i, struct err_scan *c)
{
	__u32 j = (__u32)i & (ERR_WINDOW - 1);
	barrier_var(j);
	if (j + 8 > c->n)
		return 1;
	const __u8 *p = c->b + j;
	if (!p[0] && p[1] == 'V' && p[2] == 'E' && p[3] == 'R' && p[4] == 'R' && p[5] == 'O' && p[6] == 'R' && !p[7]) {
		c->found = true;
		return 1;
	}
	return 0;
}

static __always_inline bool previous_send_was_error(__u64 buf, __u32 prev_len)
{
	__u32 zero = 0;
	__u8 *b = bpf_map_lookup_elem(&err_scratch, &zero);
	if (!b)
		return false;
	/* (masked: prev_len < ERR_WINDOW there, the mask is for the verifier) */
	__u32 n = prev_len >= ERR_WINDOW ? ERR_WINDOW : prev_len & (ERR_WINDOW - 1);
	if (n < 16 || bpf_probe_read_user(b, n, (void *)(buf + prev_len - n)))
		return false;
	/* An ErrorResponse ends with its last field's NUL and its own. */
	if (b[(n - 1) & (ERR_WINDOW - 1)] || b[(n - 2) & (ERR_WINDOW - 1)])
		return false;
	struct err_scan c = { .b = b, .n = n };
	bpf_loop(ERR_WINDOW, verror_at, &c, 0);
	return c.found;
}

static __always_inline bool is_ready_for_query(const __u8 *z)
{
	return z[0] == 'Z' && !z[1] && !z[2] && !z[3] && z[4] == 5;
}

/* send(2)'s buffer, from the registers the syscall was entered with. */
static __always_inline __u64 send_buffer(struct task_struct *task)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);
	return regs ? PT_REGS_PARM2_SYSCALL(regs) : 0;
}

static __always_inline enum reply_kind reply_kind(struct task_struct *task, __u32 len, bool may_fail, __u32 prev_len)
{
	__u8 t[19];
	if (len != 19 && !(len == 6 && may_fail))
		return REPLY_UNKNOWN;
	__u64 buf = send_buffer(task);
	if (!buf)
		return REPLY_UNKNOWN;
	if (bpf_probe_read_user(t, len == 19 ? 19 : 6, (void *)buf))
		return REPLY_UNKNOWN;
	if (len == 6)
		return is_ready_for_query(t) && previous_send_was_error(buf, prev_len) ? REPLY_ERROR : REPLY_UNKNOWN;
	bool prepare = t[0] == 'C' && !t[1] && !t[2] && !t[3] && t[4] == 12 && t[5] == 'P' && t[6] == 'R' &&
		       t[7] == 'E' && t[8] == 'P' && t[9] == 'A' && t[10] == 'R' && t[11] == 'E' && !t[12];
	return prepare && is_ready_for_query(&t[13]) ? REPLY_PREPARE : REPLY_UNKNOWN;
}

/* The reply ends with PortalSuspended ('s', length 4) + ReadyForQuery in a
 * transaction block ('Z', length 5, 'T'): the Execute's row limit left its
 * portal open, to be fetched by a later Execute, and pg_stat_statements
 * counts the portal's one ExecutorEnd. Read only for statements that leave a
 * transaction block open (no portal survives outside one). */
static __always_inline bool portal_suspended(struct task_struct *task, __u32 len)
{
	__u8 t[11];
	if (len < sizeof(t))
		return false;
	__u64 buf = send_buffer(task);
	if (!buf || bpf_probe_read_user(t, sizeof(t), (void *)(buf + len - sizeof(t))))
		return false;
	return t[0] == 's' && !t[1] && !t[2] && !t[3] && t[4] == 4 && is_ready_for_query(&t[5]) && t[10] == 'T';
}

/* Where statement_end is called from. */
enum end_site {
	END_AT_SEND,     /* a socket send: ReadyForQuery follows the idle report */
	END_AT_SLEEP,    /* a switch-out into a wait (kernels without sock_send_length) */
	END_AT_PREEMPT,  /* a switch-out while runnable (idem) */
	END_AT_EXIT,     /* the backend exits */
};

/*
 * A round trip that parsed a statement (and maybe described it) and executed
 * nothing: Parse + Sync (libpq's PQprepare) or Parse + Describe + Sync (how
 * asyncpg, pgx and Npgsql's Prepare() prepare a statement). The Parse reports
 * the activity and the query id as a statement would, and pg_stat_statements
 * does not count it. The backend's status slot tells it, in the copy taken
 * anyway: each write of the slot adds 2 to st_changecount, and on PostgreSQL
 * 15 (test/collectors/statements/slot-writes.integration.test.ts) a round
 * trip that only parsed writes it 5 times outside a transaction block
 * (activity, transaction start, query id, transaction end, idle), where a
 * simple-protocol statement writes it 6 times, a Bind and an Execute 2 more
 * each, and a COMMIT or ROLLBACK that ends a block 5 (told apart by the state
 * before it). An empty query (EmptyQueryResponse, not a call either) writes
 * it 4 times. Outside a block that is enough, without the reply (so over TLS
 * too). Inside one the parse writes it 3 times, as does an Execute that
 * fetches more of a suspended portal: there the reply decides, read only
 * then (one send of ParseComplete, ParameterDescription, RowDescription or
 * NoData, ReadyForQuery).
 */
#define PARSED_ONLY_WRITES 10      /* st_changecount steps outside a block */
#define PARSED_ONLY_WRITES_BLOCK 6 /* inside one */
#define DESCRIBE_MIN_REPLY 22      /* 5 + 6 + 5 + 6: no parameter, NoData */

static __always_inline __u32 be32(const __u8 *p)
{
	return (__u32)p[0] << 24 | (__u32)p[1] << 16 | (__u32)p[2] << 8 | p[3];
}

/* Over TLS, the round trip's one send is one record holding the 11 bytes of
 * ParseComplete + ReadyForQuery: 33 bytes with TLS 1.3, 40 with TLS 1.2
 * AES-GCM, 32 with ChaCha20-Poly1305 (record sizes: tls_failed()). Of the
 * round trips that write the slot as little, an Execute fetching more of a
 * portal sends at least 18 bytes (40 with TLS 1.3: a row of no column). */
static __always_inline bool tls_parse_reply(struct stmt_thread *th, struct be_snap *be, __u32 len)
{
	if (!on_tls(be) || th->net_send != len)
		return false;
	return len == 33 || len == 40 || len == 32;
}

/* The round trip's one send is a Parse + Describe's reply. */
static __always_inline bool describe_reply(struct stmt_thread *th, struct task_struct *task, __u32 len)
{
	__u8 h[10];
	if (len < DESCRIBE_MIN_REPLY || th->net_send != len)
		return false;
	__u64 buf = send_buffer(task);
	if (!buf || bpf_probe_read_user(h, sizeof(h), (void *)buf))
		return false;
	if (!(h[0] == '1' && !h[1] && !h[2] && !h[3] && h[4] == 4 && h[5] == 't'))
		return false;
	/* The message after ParameterDescription: RowDescription or NoData … */
	__u64 at = 6 + (__u64)be32(&h[6]);
	if (at + 5 + 6 > len || bpf_probe_read_user(h, 5, (void *)(buf + at)))
		return false;
	if (h[0] != 'T' && h[0] != 'n')
		return false;
	/* … and then only the ReadyForQuery, the send's last 6 bytes. */
	return at + 1 + be32(&h[1]) + 6 == len;
}

#include "reply_scan.h"

/* Over TLS, inside a block, a round trip that wrote the slot as little as a
 * Parse or an Execute alone: an Execute fetches more of the portal the round
 * trip before opened, with that round trip's query id (tls_fetch_more); any
 * other id is a statement parsed (and described) and not run — asyncpg
 * prepares so inside transactions, its reply a size no record size tells. */
static __always_inline bool tls_new_statement(struct stmt_thread *th, struct be_snap *be)
{
	if (!on_tls(be))
		return false;
	__u64 qid = snap_u64(be, off_be_query_id);
	return !(qid && qid == th->last_qid);
}

static __always_inline bool parsed_only(struct stmt_thread *th, struct task_struct *task, struct be_snap *be, __u32 writes,
					__u32 state, enum end_site site, __u32 reply_len)
{
	if (state == state_idle)
		return !in_block(th->last_state) && writes <= PARSED_ONLY_WRITES;
	return state == state_idle_tx && th->last_state == state_idle_tx && writes <= PARSED_ONLY_WRITES_BLOCK &&
	       site == END_AT_SEND &&
	       (describe_reply(th, task, reply_len) || tls_parse_reply(th, be, reply_len) || tls_new_statement(th, be));
}

/* Over TLS the reply cannot be read: an SQL PREPARE (not a call; in the
 * clear its 19-byte reply tells it) is told by the first word of the
 * activity, read only for a simple-protocol round trip that wrote the slot as
 * often as a PREPARE does (7 times outside a block, 5 inside: one more than
 * other statements, as EXECUTE and SET application_name), on a TLS
 * connection. */
#define PREPARE_WRITES 14
#define PREPARE_WRITES_BLOCK 10

static __always_inline bool tls_prepare(struct be_snap *be, __u32 writes, __u32 state)
{
	if (!on_tls(be))
		return false;
	if (writes != (state == state_idle ? PREPARE_WRITES : PREPARE_WRITES_BLOCK))
		return false;
	return verb_of((const char *)snap_u64(be, off_be_activity)) == VERB_PREPARE;
}

/* Over TLS a failure's reply cannot be read either, but its shape shows: the
 * ErrorResponse went out in a send of its own, and the ReadyForQuery alone
 * in one record — 28 bytes with TLS 1.3 (5-byte header, 6 bytes, the content
 * type, a 16-byte tag), 35 with TLS 1.2 AES-GCM (an 8-byte explicit nonce, no
 * content type), 27 with TLS 1.2 ChaCha20-Poly1305. No successful reply
 * makes a record of those sizes (its last one holds at least a 9-byte
 * CommandComplete with the ReadyForQuery). What is told wrong: a statement
 * whose commit raised a notice (flushed with its CommandComplete, leaving
 * the ReadyForQuery alone). */
static __always_inline bool tls_failed(struct stmt_thread *th, struct be_snap *be, __u32 len)
{
	if (!on_tls(be) || th->net_send <= len)
		return false;
	return len == 28 || len == 35 || len == 27;
}

/* Over TLS, an Execute that fetched more of a portal the round trip before
 * left suspended (JDBC's setFetchSize; in the clear the reply's
 * PortalSuspended tells it: portal_suspended()). Inside a block, an Execute
 * alone writes the slot 3 times, and its query id is the portal's, the
 * previous round trip's. The portal's first round trip was counted as the
 * call; the rest add their time and counters to the query's sums only (so
 * its duration histogram, min and max see the first round trip alone). A
 * Parse + Describe of the statement just run writes the slot as little, and
 * is no call either. */
static __always_inline bool tls_fetch_more(struct stmt_thread *th, struct be_snap *be, __u32 writes, __u32 state, __u64 qid)
{
	if (!on_tls(be))
		return false;
	return state == state_idle_tx && th->last_state == state_idle_tx && writes <= PARSED_ONLY_WRITES_BLOCK && qid &&
	       qid == th->last_qid;
}

/* A statement's window: [start, end], with the on-CPU, run-queue and socket
 * sums the scheduler and socket programs kept for it. */
static __always_inline void fill_window(struct stmt_sample *s, __u64 start, __u64 end, __u64 on_cpu, __u64 runq,
					__u64 net_recv, __u64 net_send)
{
	__u64 dur = end - start;
	s->start_ns = start;
	s->end_ns = end;
	s->on_cpu_ns = on_cpu < dur ? on_cpu : dur;
	s->off_cpu_ns = dur - s->on_cpu_ns;
	s->runq_ns = runq < s->off_cpu_ns ? runq : s->off_cpu_ns;
	s->net_recv_bytes = net_recv;
	s->net_send_bytes = net_send;
}

/* Sums a finished statement into the interval's aggregate and hands it over
 * when the row budget keeps it. `text`: look for its text now (the backend's
 * activity is this statement's). */
static __always_inline void emit(struct stmt_thread *th, struct stmt_ctl *ctl, struct stmt_sample *s, __u64 now,
				 bool failed, bool text)
{
	__u64 dur = s->end_ns - s->start_ns;
	struct stmt_agg_key key = { .query_id = s->query_id, .dbid = s->dbid, .userid = s->userid };
	/* The text is looked for only at a key's first statement of an interval,
	 * not at every statement. */
	bool new_key = (ctl->gen & 1) ? aggregate(&stmt_agg1, &key, s, dur, failed) : aggregate(&stmt_agg0, &key, s, dur, failed);
	if (s->coalesced)
		sstat_inc(PGS_SSTAT_COALESCED, s->coalesced);
	if (failed) {
		/* No row for it. */
		sstat_inc(PGS_SSTAT_FAILED, 1);
	} else {
		sstat_inc(PGS_SSTAT_STATEMENTS, 1);
		bool slow;
		__u32 p32 = keep_p32(ctl->rows_per_s, now, &sched_stats, PGS_SSTAT_STATEMENTS);
		if (agg_keep(ctl, p32, dur, &slow)) {
			s->flags |= slow ? PGS_S_SLOW : 0;
			s->sample_p32 = slow ? 0 : p32;
			if (bpf_ringbuf_output(&samples, s, sizeof(*s), BPF_RB_NO_WAKEUP))
				sstat_inc(PGS_SSTAT_SAMPLE_DROP, 1);
			else
				sstat_inc(PGS_SSTAT_SAMPLED, 1);
		}
	}
	if (new_key && text)
		send_text(th, s->query_id);
}

/* More of a portal fetched over TLS (tls_fetch_more): into its query's sums. */
static __always_inline void emit_more(struct stmt_ctl *ctl, struct stmt_sample *s)
{
	struct stmt_agg_key key = { .query_id = s->query_id, .dbid = s->dbid, .userid = s->userid };
	if (ctl->gen & 1)
		aggregate_more(&stmt_agg1, &key, s, s->end_ns - s->start_ns);
	else
		aggregate_more(&stmt_agg0, &key, s, s->end_ns - s->start_ns);
	sstat_inc(PGS_SSTAT_SUSPENDED, 1);
}

/* The identity of the statement and of its backend, from the status copy.
 * `seq`: its number (th->seq while it ran, which the plan-node reader took). */
static __always_inline void fill_identity(struct stmt_sample *s, struct stmt_thread *th, struct be_snap *be, __u32 tid,
					  __u64 qid, __u64 act, __u32 state, __u32 seq)
{
	s->query_id = qid;
	s->dbid = snap_u32(be, off_be_dbid);
	s->userid = snap_u32(be, off_be_userid);
	s->pg_start_us = act;
	s->pg_end_us = snap_u64(be, off_be_state_start);
	s->pid = tid;
	s->seq = seq;
	s->state = state;
	s->flags = th->partial ? PGS_S_PARTIAL : 0;
	s->coalesced = 0;
	th->partial = 0;
}

/* A statement end opens the next window. Sleeping: it opens at the wake-up.
 * At a send the next request may already be there (no sleep follows): it
 * opens now, and a sleep before that request restarts it. Preempted: the
 * next statement is already being read, its window starts now. */
static __always_inline void reset_window(struct stmt_thread *th, __u64 now, bool sleeping, enum end_site site, __u32 state)
{
	th->last_state = state;
	th->partial = 0;
	th->on_cpu = th->off_cpu = th->runq = 0;
	th->net_recv = th->net_send = 0;
	th->win_start = sleeping ? 0 : now;
	th->win_pending = site == END_AT_SEND;
	th->oncpu_since = now;   /* the CPU time so far is accounted for */
}

/* A round trip that left its portal suspended: its window's times and bytes
 * are carried into the call that completes the portal (the counters, whose
 * baselines stay, run on by themselves), and the next window opens. */
static __always_inline void carry_window(struct stmt_thread *th, __u64 now, __u32 state)
{
	if (th->oncpu_since)
		th->on_cpu += now - th->oncpu_since;
	__u64 dur = now - (th->win_start ? th->win_start : now);
	__u64 on = th->on_cpu < dur ? th->on_cpu : dur;
	__u64 off = dur - on;
	th->carry_ns += dur;
	th->carry_on_cpu += on;
	th->carry_off_cpu += off;
	th->carry_runq += th->runq < off ? th->runq : off;
	th->carry_net_recv += th->net_recv;
	th->carry_net_send += th->net_send;
	sstat_inc(PGS_SSTAT_SUSPENDED, 1);
	reset_window(th, now, false, END_AT_SEND, state);
}

/* Adds what earlier round trips of the same portal carried: its window
 * starts that much earlier (start_ns = end_ns − the round trips' active
 * time; the client's time between them is in no call). */
static __always_inline void apply_carry(struct stmt_thread *th, struct stmt_sample *s)
{
	if (!th->carry_ns)
		return;
	s->coalesced += th->carry_coalesced;
	th->carry_coalesced = 0;
	s->start_ns -= th->carry_ns;
	s->on_cpu_ns += th->carry_on_cpu;
	s->off_cpu_ns += th->carry_off_cpu;
	s->runq_ns += th->carry_runq;
	s->net_recv_bytes += th->carry_net_recv;
	s->net_send_bytes += th->carry_net_send;
	th->carry_ns = th->carry_on_cpu = th->carry_off_cpu = th->carry_runq = 0;
	th->carry_net_recv = th->carry_net_send = 0;
}

/* Closes the open window at `now` into `s`: its times and sums, what earlier
 * round trips of its portal carried, the counter deltas. */
static __always_inline void close_window(struct stmt_thread *th, struct task_struct *task, struct stmt_sample *s, __u64 now)
{
	fill_window(s, th->win_start ? th->win_start : now, now, th->on_cpu, th->runq, th->net_recv, th->net_send);
	apply_carry(th, s);
	take_deltas(th, task, s);
}

/* A client backend of ours (not autovacuum, a walsender, or one of
 * pgscout's own, which it puts in own_pids before their first statement:
 * one lookup per backend, not one per statement). */
static __always_inline bool counts_backend(struct stmt_thread *th, struct be_snap *be, __u32 tid)
{
	if (snap_u32(be, off_be_type) != be_type_client || (!th->own_checked && bpf_map_lookup_elem(&own_pids, &tid))) {
		th->ignored = 1;
		return false;
	}
	th->own_checked = 1;
	return true;
}

static __always_inline struct stmt_sample *sample_buf(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&sample_scratch, &zero);
}

static __always_inline struct stmt_ctl *ctl_of(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&stmt_ctl, &zero);
}

#include "stmt_exec.h"

/* Called in the backend's context: counts a statement if one ended since the last call. */
static __always_inline void statement_end(struct stmt_thread *th, struct task_struct *task, __u32 tid,
					  __u64 now, enum end_site site, __u32 reply_len)
{
	bool sleeping = site == END_AT_SLEEP || site == END_AT_EXIT;
	struct be_snap *be = snap_be(th->be);
	if (!be)
		return;
	/* At exit the slot was released at backend shutdown (st_procpid 0) and a
	 * new backend may already hold it: its statement is not ours to count
	 * (under CPU load the dying process can lag behind the next connection). */
	if (site == END_AT_EXIT) {
		__u32 pid = snap_u32(be, off_be_procpid);
		/* An odd st_changecount: the next backend is writing the slot right now. */
		if ((pid && pid != task_tgid(task)) || (snap_u32(be, off_be_changecount) & 1)) {
			sstat_inc(PGS_SSTAT_SLOT_REUSED, 1);
			return;
		}
	}
	if (count_at_execute) {
		exact_round_trip_end(th, task, tid, now, be, site, reply_len);
		return;
	}
	__u32 state = snap_u32(be, off_be_state);
	if (!is_idle(state))
		return;
	__u32 cc = snap_u32(be, off_be_changecount);
	__u32 writes = cc - th->last_cc;   /* the slot's writes since the last round trip's end, × 2 */
	th->last_cc = cc;
	__u64 act = snap_u64(be, off_be_act_start);
	if (act == th->last_act) {
		if (sleeping || site == END_AT_SEND) {
			/* Woken without a statement (or the connection's startup
			 * messages): none of it is the next statement's. */
			th->win_start = 0;
			th->on_cpu = th->off_cpu = th->runq = 0;
			th->net_recv = th->net_send = 0;
		}
		return;
	}
	th->last_act = act;
	if (!counts_backend(th, be, tid))
		return;
	struct stmt_sample *s = sample_buf();
	struct stmt_ctl *ctl = ctl_of();
	if (!s || !ctl)
		return;

	/* Ends seen at switch-outs can miss one: an autocommit statement between
	 * two observations shows as a local transaction id advanced by more than
	 * one. Seen at every ReadyForQuery, none is missed that way, and a step > 1
	 * means one statement ran several transactions (VACUUM, CALL with COMMIT):
	 * not read at all then (one user read less per statement). */
	__u32 lxid = end_at_send ? 0 : read_lxid(th);
	__u32 lxid_step = lxid - th->lxid;
	bool lxid_known = !end_at_send && off_proc_lxid && th->lxid;
	th->lxid = lxid;
	if (th->net_send == PARSE_ONLY_REPLY || parsed_only(th, task, be, writes, state, site, reply_len)) {
		/* ParseComplete + ReadyForQuery and nothing else, or a round trip
		 * that only parsed: a prepare, not an execution (pg_stat_statements
		 * does not count it either). */
		sstat_inc(PGS_SSTAT_NO_EXECUTION, 1);
		take_deltas(th, task, s);
		goto reset;
	}
	__u64 qid = snap_u64(be, off_be_query_id);
	if (tls_fetch_more(th, be, writes, state, qid)) {
		if (th->oncpu_since)
			th->on_cpu += now - th->oncpu_since;
		fill_identity(s, th, be, tid, qid, act, state, th->seq);
		close_window(th, task, s, now);
		emit_more(ctl, s);
		goto reset;
	}
	th->last_qid = qid;
	/* A transaction left aborted: this statement failed. Otherwise the
	 * reply (reply_kind): an autocommit statement may have failed; one in a
	 * transaction block did not (the block would be aborted). */
	bool failed = state == state_idle_tx_aborted;
	if (!failed && site == END_AT_SEND) {
		enum reply_kind kind = reply_kind(task, reply_len, state == state_idle, th->last_send);
		if (kind == REPLY_UNKNOWN && tls_prepare(be, writes, state))
			kind = REPLY_PREPARE;
		else if (kind == REPLY_UNKNOWN && state == state_idle && tls_failed(th, be, reply_len))
			kind = REPLY_ERROR;
		if (kind == REPLY_PREPARE) {
			sstat_inc(PGS_SSTAT_PREPARE, 1);
			take_deltas(th, task, s);
			goto reset;
		}
		/* From a block to idle with an error: the COMMIT failed (a deferred
		 * constraint, a serialization failure). The error came after the
		 * statement ran, and pg_stat_statements counts it as a call. */
		failed = kind == REPLY_ERROR && th->last_state != state_idle_tx;
		if (state == state_idle_tx && portal_suspended(task, reply_len)) {
			/* Begun outside a block, the round trip opened one: a BEGIN
			 * went with the portal's first Execute (JDBC's setFetchSize). */
			if (!in_block(th->last_state))
				th->carry_coalesced++;
			carry_window(th, now, state);
			return;
		}
	}
	bool unread = false;
	__u32 merged = 0;
	if (site == END_AT_SEND) {
		if (failed) {
			unread = !one_statement_writes(writes, th->last_state, state);
			/* From outside a block into an aborted one: the statement that
			 * opened the block completed before the failure (JDBC sends BEGIN
			 * with a transaction's first statement). */
			if (state == state_idle_tx_aborted && !in_block(th->last_state))
				merged = 1;
		} else {
			merged = merged_statements(th, task, be, writes, state, reply_len, &unread);
		}
		if (unread)
			sstat_inc(PGS_SSTAT_UNREAD_ROUND_TRIPS, 1);
	}
	if (th->oncpu_since)
		th->on_cpu += now - th->oncpu_since;
	fill_identity(s, th, be, tid, qid, act, state, th->seq++);
	s->flags |= site == END_AT_SEND ? 0 : PGS_S_AT_SWITCH;
	close_window(th, task, s, now);
	/* The switch into this wait is counted already: it is not the statement's. */
	if (sleeping && s->task[0])
		s->task[0]--;
	s->coalesced = (lxid_known && lxid_step > 1 && lxid_step < 1024) ? lxid_step - 1 : s->coalesced + merged;
	emit(th, ctl, s, now, failed, true);
reset:
	reset_window(th, now, sleeping, site, state);
}

static __always_inline void on_switch(bool preempt, struct task_struct *prev, struct task_struct *next)
{
	__u64 now = 0;
	__u32 prev_tid = prev->pid;
	struct stmt_thread *th = is_backend(prev) ? thread_of(prev, prev_tid, true) : 0;
	if (th && !th->ignored && end_at_send && th->win_pending && !preempt) {
		/* Asleep after a statement end: the window restarts at the wake-up,
		 * nothing of this switch is kept (no clock read). */
		th->oncpu_since = 0;
		th->off_since = 0;
		th->preempted = 0;
	} else if (th && !th->ignored) {
		now = bpf_ktime_get_ns();
		if (!end_at_send)
			statement_end(th, prev, prev_tid, now, preempt ? END_AT_PREEMPT : END_AT_SLEEP, 0);
		if (th->oncpu_since) {
			th->on_cpu += now - th->oncpu_since;
			th->oncpu_since = 0;
		}
		th->off_since = now;
		th->preempted = preempt;
	}
	th = is_backend(next) ? bpf_task_storage_get(&sched_threads, next, 0, 0) : 0;
	if (th && !th->ignored) {
		if (!now)
			now = bpf_ktime_get_ns();
		if (!th->win_start || (th->win_pending && !th->preempted)) {
			/* A new window: nothing before this wake-up belongs to it. */
			th->win_start = now;
			th->on_cpu = th->off_cpu = th->runq = 0;
			th->win_pending = 0;
		} else if (th->off_since) {
			__u64 off = now - th->off_since;
			th->off_cpu += off;
			if (th->preempted)
				th->runq += off;
		}
		th->off_since = 0;
		th->oncpu_since = now;
	}
}

SEC("tp_btf/sched_switch")
int BPF_PROG(sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	on_switch(preempt, prev, next);
	return 0;
}

static __always_inline struct stmt_thread *thread_of_task(struct task_struct *task)
{
	struct stmt_thread *th = bpf_task_storage_get(&sched_threads, task, 0, 0);
	return th && !th->ignored ? th : 0;
}

/* The hot socket tracepoints fire for every task of the machine: each other
 * task is ruled out by its parent before the storage lookup. */
static __always_inline struct stmt_thread *backend_thread(struct task_struct *task)
{
	return is_backend(task) ? thread_of_task(task) : 0;
}

SEC("tp_btf/sock_send_length")
int BPF_PROG(sock_send, struct sock *sk, int ret, int flags)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct stmt_thread *th = backend_thread(task);
	if (!th)
		return 0;
	__u32 sent = ret > 0 ? ret : 0;
	th->net_send += sent;
	/* The ReadyForQuery flush (its bytes counted above) ends the statement. */
	if (end_at_send)
		statement_end(th, task, task->pid, bpf_ktime_get_ns(), END_AT_SEND, sent);
	th->last_send = sent;
	return 0;
}

/* --exact only: the end of a PortalRun (USDT query__execute__done, its sites
 * inside PortalRun). A plain function, not BPF_USDT: it reads no argument. */
SEC("usdt")
int execute_done(struct pt_regs *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u32 tid = task->pid;
	struct stmt_thread *th = thread_of(task, tid, true);
	/* ActivePortal is restored when PortalRun returns: set, this run was
	 * nested in another one (SQL EXECUTE runs its prepared statement in a
	 * PortalRun of its own), which is the call. */
	if (!th || th->ignored || read_u64(active_portal_addr))
		return 0;
	exact_execution_end(th, task, tid);
	return 0;
}

/* --net-recv only: bytes received (ends are seen at sends). */
SEC("tp_btf/sock_recv_length")
int BPF_PROG(sock_recv, struct sock *sk, int ret, int flags)
{
	struct stmt_thread *th = ret > 0 && !(flags & 2 /* MSG_PEEK */) ? backend_thread(bpf_get_current_task_btf()) : 0;
	if (th)
		th->net_recv += ret;
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(process_exit, struct task_struct *task)
{
	struct task_struct *self = bpf_get_current_task_btf();
	__u32 tid = self->pid;
	struct stmt_thread *th = thread_of_task(self);
	/* A client that sends Terminate right behind its last request: the
	 * backend finishes that statement and exits without sleeping in between.
	 * Its memory is still mapped here (the tracepoint precedes exit_mm), and
	 * its status slot keeps the last statement's fields (only st_procpid is
	 * cleared at backend shutdown). */
	if (th)
		statement_end(th, self, tid, bpf_ktime_get_ns(), END_AT_EXIT, 0);
	bpf_task_storage_delete(&sched_threads, self);
	bpf_map_delete_elem(&own_pids, &tid);   /* the pid may come back as a client backend */
	return 0;
}
