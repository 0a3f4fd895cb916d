/* The default source's --exact mode (bpf/stmt_sched.bpf.c, count_at_execute):
 * a call is the end of a top-level PortalRun, seen at USDT
 * query__execute__done — the one trap a statement. pg_stat_statements counts
 * a call where the executor (or a utility command) finishes, which is inside
 * that PortalRun: an execution an error unwinds never reaches the probe, and
 * statements that share a round trip (a pipeline, a multi-statement string)
 * each reach it. The round trip's ReadyForQuery (statement_end at a send)
 * closes the last execution, so its reply and its commit are its own; an
 * earlier one is closed when the next one ends, with the counters and window
 * sums marked at its own end. Failures are found at ReadyForQuery as the
 * default source finds them. Included by stmt_sched.bpf.c only. */
#ifndef PGSCOUT_STMT_EXEC_H
#define PGSCOUT_STMT_EXEC_H

/* The counters and window sums at an execution's end, for a cut there. The
 * current on-CPU stretch is folded into the window's sum first, so the sums
 * only grow between marks. */
static __always_inline void mark_execution_end(struct stmt_thread *th, struct task_struct *task, __u64 now)
{
	if (th->oncpu_since) {
		th->on_cpu += now - th->oncpu_since;
		th->oncpu_since = now;
	}
	/* Inside a round trip for sure: a sleep from here on is not the client wait. */
	th->win_pending = 0;
	th->mark_ns = now;
	th->mark_on_cpu = th->on_cpu;
	th->mark_off_cpu = th->off_cpu;
	th->mark_runq = th->runq;
	th->mark_net_send = th->net_send;
	mark_counters(th, task);
}

static __always_inline __u64 sat_sub(__u64 a, __u64 b)
{
	return a > b ? a - b : 0;
}

/* The pending execution was not its round trip's last: it ends at its mark,
 * and the rest of the window is the next one's. `call`: it is counted (not a
 * PREPARE found late). */
static __always_inline void cut_pending(struct stmt_thread *th, struct be_snap *be, __u32 tid, bool call)
{
	struct stmt_sample *s = sample_buf();
	struct stmt_ctl *ctl = ctl_of();
	if (!s || !ctl)
		return;
	fill_identity(s, th, be, tid, th->pend_qid, th->pend_act, snap_u32(be, off_be_state), th->pend_seq);
	s->pg_end_us = 0;   /* it did not go idle */
	/* (A window restarted after the mark — a sleep taken for the client
	 * wait before the mark cleared win_pending — leaves this one empty.) */
	__u64 start = th->win_start && th->win_start < th->mark_ns ? th->win_start : th->mark_ns;
	fill_window(s, start, th->mark_ns, th->mark_on_cpu, th->mark_runq, th->net_recv, th->mark_net_send);
	apply_carry(th, s);
	deltas_to_mark(th, s);
	if (call)
		emit(th, ctl, s, th->mark_ns, false, false);
	th->on_cpu = sat_sub(th->on_cpu, th->mark_on_cpu);
	th->off_cpu = sat_sub(th->off_cpu, th->mark_off_cpu);
	th->runq = sat_sub(th->runq, th->mark_runq);
	th->net_send = sat_sub(th->net_send, th->mark_net_send);
	th->net_recv = 0;
	th->win_start = th->mark_ns;
	th->pending = 0;
}

/* The pending execution was an SQL PREPARE after all: not a call, and its
 * id's messages are read from now on. */
static __always_inline void drop_prepare(struct stmt_thread *th)
{
	sstat_inc(PGS_SSTAT_PREPARE, 1);
	__u64 qid = th->pend_qid;
	__u8 *known = qid ? bpf_map_lookup_elem(&seen_qids, &qid) : 0;
	if (known)
		*known = (*known & ~QID_NOT_PREPARE) | QID_PREPARED;
	else if (qid)
		qid_mark(&qid, 0, QID_PREPARED);
}

/* A top-level PortalRun ended (in the backend's context). */
static __always_inline void exact_execution_end(struct stmt_thread *th, struct task_struct *task, __u32 tid)
{
	struct be_snap *be = snap_be(th->be);
	if (!be || !counts_backend(th, be, tid))
		return;
	__u64 qid = snap_u64(be, off_be_query_id);
	__u64 act = snap_u64(be, off_be_act_start);
	/* Every message reports a new activity start: the first execution of one. */
	bool first = act != th->exec_act;
	th->exec_act = act;
	th->exec_index = first ? 0 : th->exec_index + 1;
	/* The second execution of a multi-statement string: the first one's
	 * verdict came from the cache, but a PREPARE shares its id with plain
	 * runs of its query. The string's first word is still there to read. */
	bool late_prepare = !first && th->pending && th->pend_unchecked && first_verb(dqs_addr) == VERB_PREPARE;
	if (late_prepare)
		drop_prepare(th);
	__u8 *known = qid ? bpf_map_lookup_elem(&seen_qids, &qid) : 0;
	__u8 add = 0;
	bool unchecked = first && known && (*known & (QID_NOT_PREPARE | QID_PREPARED)) == QID_NOT_PREPARE;
	if (first && !unchecked) {
		/* Remembered for ids other statements run (two user reads a statement
		 * become a lookup), until a PREPARE is seen to report the id too (a
		 * PREPARE reports its query's id, which statements of the same text
		 * run as well): then checked at every message. */
		enum verb verb = first_verb(dqs_addr);
		if (verb == VERB_PREPARE) {
			sstat_inc(PGS_SSTAT_PREPARE, 1);
			return;
		}
		if (verb == VERB_OTHER && !(known && (*known & QID_PREPARED)))
			add |= QID_NOT_PREPARE;
	}
	__u64 now = bpf_ktime_get_ns();
	if (th->pending) {
		cut_pending(th, be, tid, !late_prepare);
		th->seq++;
	}
	mark_execution_end(th, task, now);
	th->pending = 1;
	/* Its number is th->seq until the next execution ends: the plan-node
	 * reader takes it at ExecutorEnd, which comes after PortalRun. */
	th->pend_seq = th->seq;
	th->pend_unchecked = unchecked;
	th->pend_qid = qid;
	th->pend_act = act;
	/* The backend's activity is this statement's now (a later one of a
	 * pipeline replaces it before the round trip ends). */
	if (qid && !(known && (*known & QID_TEXT_SENT)) && submit_text(th, qid, th->exec_index))
		add |= QID_TEXT_SENT;
	if (qid && add)
		qid_mark(&qid, known, add);
}

/* ReadyForQuery (or the backend's exit) in --exact mode: closes the round
 * trip's last execution, or counts the failure that ended it. */
static __always_inline void exact_round_trip_end(struct stmt_thread *th, struct task_struct *task, __u32 tid, __u64 now,
						 struct be_snap *be, enum end_site site, __u32 reply_len)
{
	__u32 state = snap_u32(be, off_be_state);
	if (site == END_AT_EXIT ? !th->pending : !is_idle(state))
		return;
	__u32 cc = snap_u32(be, off_be_changecount);
	__u32 writes = cc - th->last_cc;   /* the slot's writes in this round trip, × 2 */
	th->last_cc = cc;
	__u64 act = snap_u64(be, off_be_act_start);
	if (!th->pending && act == th->last_act) {
		/* Woken without a statement: none of it is the next statement's. */
		th->win_start = 0;
		th->on_cpu = th->off_cpu = th->runq = 0;
		th->net_recv = th->net_send = 0;
		return;
	}
	th->last_act = act;
	if (!counts_backend(th, be, tid)) {
		th->pending = 0;
		return;
	}
	struct stmt_sample *s = sample_buf();
	struct stmt_ctl *ctl = ctl_of();
	if (!s || !ctl)
		return;
	enum reply_kind kind = site == END_AT_SEND ? reply_kind(task, reply_len, state == state_idle, th->last_send) : REPLY_UNKNOWN;
	if (kind == REPLY_UNKNOWN && site == END_AT_SEND && state == state_idle && tls_failed(th, be, reply_len))
		kind = REPLY_ERROR;
	bool failed = state == state_idle_tx_aborted || kind == REPLY_ERROR;
	__u64 qid = snap_u64(be, off_be_query_id);
	/* A PREPARE alone in its message whose id the cache held for other
	 * statements' (its first word was not read). */
	if (th->pending && kind == REPLY_PREPARE) {
		drop_prepare(th);
		th->pending = 0;
	}
	if (th->pending && state == state_idle_tx && portal_suspended(task, reply_len)) {
		/* Its portal is fetched on by a later Execute: that one is the call. */
		th->pending = 0;
		carry_window(th, now, state);
		return;
	}
	if (th->oncpu_since)
		th->on_cpu += now - th->oncpu_since;
	if (th->pending && tls_fetch_more(th, be, writes, state, th->pend_qid)) {
		/* Over TLS, more of the portal the last round trip counted. */
		th->pending = 0;
		fill_identity(s, th, be, tid, th->pend_qid, th->pend_act, state, th->pend_seq);
		close_window(th, task, s, now);
		emit_more(ctl, s);
	} else if (th->pending) {
		th->pending = 0;
		th->last_qid = th->pend_qid;
		fill_identity(s, th, be, tid, th->pend_qid, th->pend_act, state, th->pend_seq);
		th->seq = th->pend_seq + 1;
		close_window(th, task, s, now);
		emit(th, ctl, s, now, false, false);
		/* A later statement of the round trip failed (not a COMMIT of the
		 * same id failing after it ran, which pg_stat_statements counts). */
		if (failed && qid != th->pend_qid) {
			s->query_id = qid;
			emit(th, ctl, s, now, true, true);
		}
	} else if (failed) {
		fill_identity(s, th, be, tid, qid, act, state, th->seq++);
		close_window(th, task, s, now);   /* (a portal's last fetch failed: nothing carried on) */
		emit(th, ctl, s, now, true, true);
	} else {
		/* No execution reached its end: Parse/Bind/Describe only, a PREPARE, an empty query. */
		sstat_inc(PGS_SSTAT_NO_EXECUTION, 1);
		take_deltas(th, task, s);
	}
	reset_window(th, now, site == END_AT_EXIT, site, state);
}

#endif
