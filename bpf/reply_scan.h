/* Default source: statements that share a round trip (a multi-statement query
 * string, Executes pipelined before one Sync, JDBC's BEGIN sent with the
 * first statement of a transaction) end at one ReadyForQuery and are counted
 * as one call. They are not merged silently: a round trip that wrote the
 * status slot differently from any one statement gets its reply read, and
 * the commands it completed beyond the one counted go to `coalesced`.
 * Included by stmt_sched.bpf.c after send_buffer() and be32(). */
#ifndef PGSCOUT_REPLY_SCAN_H
#define PGSCOUT_REPLY_SCAN_H

/*
 * How often one statement's round trip writes the status slot (st_changecount
 * steps, 2 a write) on PostgreSQL 15, measured by
 * test/collectors/statements/slot-writes.integration.test.ts: a simple query
 * 12 from idle to idle, 2 fewer for each end inside a transaction block
 * (BEGIN 10, COMMIT 10, a statement inside one 8); Bind + Execute + Sync 2
 * more, Parse + Bind + Execute + Sync (Describes write nothing) 6 more; an
 * Execute alone, fetching more of a suspended portal, 2 fewer. Each further
 * statement of a query string adds 4, each further Bind + Execute 8, Parse +
 * Bind + Execute 12: no count of several statements equals a count of one.
 * Some single statements write more (progress reports of VACUUM, ANALYZE,
 * COPY; NOTIFY; CALL with COMMIT): their reply is read as well, and says one.
 */
static __always_inline bool one_statement_writes(__u32 writes, __u32 last_state, __u32 state)
{
	__u32 base = 12;
	if (in_block(last_state))
		base -= 2;
	if (state != state_idle)
		base -= 2;
	return writes == base || writes == base + 2 || writes == base + 6 || writes == base - 2;
}

/* A reply sent whole (PostgreSQL's send buffer is 8 KB: larger replies go out
 * in several sends, the last one starting inside a message). */
#define REPLY_MAX 8192

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u8[REPLY_MAX + 16]);   /* + 16: a header and tag read at any masked offset stay inside */
} reply_scratch SEC(".maps");

struct reply_walk {
	const __u8 *b;
	__u32 n;
	__u32 off;
	__u32 commands;
	bool whole;   /* the walk reached the ReadyForQuery that ends the send */
};

/* CommandComplete tags of statements pg_stat_statements does not count. */
static __always_inline bool not_a_call(const __u8 *t)
{
	if (t[0] == 'P')
		return t[1] == 'R' && t[2] == 'E' && t[3] == 'P' && t[4] == 'A' && t[5] == 'R' && t[6] == 'E' && !t[7];
	return t[0] == 'D' && t[1] == 'E' && t[2] == 'A' && t[3] == 'L' && t[4] == 'L' && t[5] == 'O' && t[6] == 'C' &&
	       t[7] == 'A' && t[8] == 'T' && t[9] == 'E' && (!t[10] || t[10] == ' ');
}

static long walk_message(__u64 i, struct reply_walk *w)
{
	__u32 off = w->off;
	if (off + 5 > w->n)
		return 1;
	__u32 j = off & (REPLY_MAX - 1);
	barrier_var(j);
	const __u8 *p = w->b + j;
	__u32 len = be32(p + 1);
	if (len < 4 || len > w->n)
		return 1;
	if (p[0] == 'Z') {
		w->whole = off + 1 + len == w->n;
		return 1;
	}
	if (p[0] == 'C' && !not_a_call(p + 5))
		w->commands++;
	w->off = off + 1 + len;
	return 0;
}

/* The commands the round trip's reply completed (CommandComplete messages,
 * less SQL PREPARE and DEALLOCATE), from its one send of `len` bytes; -1 when
 * it could not be read whole. */
static __always_inline int reply_commands(struct task_struct *task, __u32 len)
{
	__u32 zero = 0;
	__u8 *b = bpf_map_lookup_elem(&reply_scratch, &zero);
	__u64 buf = send_buffer(task);
	__u32 n = len;
	if (!b || !buf || n < 6 || n >= REPLY_MAX)
		return -1;
	barrier_var(n);
	if (bpf_probe_read_user(b, n & (REPLY_MAX - 1), (void *)buf))
		return -1;
	struct reply_walk w = { .b = b, .n = n };
	bpf_loop(REPLY_MAX / 5 + 1, walk_message, &w, 0);
	return w.whole ? (int)w.commands : -1;
}

/*
 * Statements this round trip completed besides the one counted as its call:
 * 0 when the slot's writes fit one statement (no read: every ordinary round
 * trip); else from its reply, when that went out in one send in the clear.
 * `unread`: the writes do not fit one statement and the reply could not be
 * read (TLS or GSS encryption, a reply of several sends) — counted in the
 * kernel counter `unread_round_trips`, the call counted as one.
 */
static __always_inline __u32 merged_statements(struct stmt_thread *th, struct task_struct *task, struct be_snap *be,
					       __u32 writes, __u32 state, __u32 reply_len, bool *unread)
{
	*unread = false;
	if (one_statement_writes(writes, th->last_state, state))
		return 0;
	int n = on_tls(be) || th->net_send != reply_len ? -1 : reply_commands(task, reply_len);
	if (n < 0) {
		*unread = true;
		return 0;
	}
	return n > 1 ? n - 1 : 0;
}

#endif
