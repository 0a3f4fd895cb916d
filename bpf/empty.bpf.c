// SPDX-License-Identifier: GPL-2.0
/* The trap floor: the statement collector's program names and section types
 * with empty bodies. Attached through collectors/statements-empty.json (the
 * same probe points as collectors/statements.json), it measures what the
 * uprobe/USDT traps and tracepoint dispatch cost before any work is done;
 * bench/overhead.mjs compares it with the real collector.
 *
 * The usdt programs are plain functions rather than BPF_USDT(): BPF_USDT
 * fetches each declared argument (a spec-map lookup plus a user read), which
 * is already work. usdt.bpf.h is still included because libbpf's USDT attach
 * needs the spec maps it defines. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>

char LICENSE[] SEC("license") = "GPL";

/* ---- query lifecycle (USDT) ---- */

SEC("usdt")
int query_start(struct pt_regs *ctx)
{
	return 0;
}

SEC("usdt")
int query_done(struct pt_regs *ctx)
{
	return 0;
}

SEC("usdt")
int parse_start(struct pt_regs *ctx)
{
	return 0;
}

SEC("usdt")
int parse_done(struct pt_regs *ctx)
{
	return 0;
}

SEC("usdt")
int plan_start(struct pt_regs *ctx)
{
	return 0;
}

SEC("usdt")
int plan_done(struct pt_regs *ctx)
{
	return 0;
}

SEC("usdt")
int execute_start(struct pt_regs *ctx)
{
	return 0;
}

SEC("usdt")
int execute_done(struct pt_regs *ctx)
{
	return 0;
}

SEC("usdt")
int xact_commit(struct pt_regs *ctx)
{
	return 0;
}

SEC("usdt")
int xact_abort(struct pt_regs *ctx)
{
	return 0;
}

/* ---- uprobes on exported functions ---- */

SEC("uprobe")
int report_query_id(struct pt_regs *ctx)
{
	return 0;
}

SEC("uprobe")
int executor_run(struct pt_regs *ctx)
{
	return 0;
}

SEC("uretprobe")
int executor_run_ret(struct pt_regs *ctx)
{
	return 0;
}

/* ---- tracepoints ---- */

SEC("tp_btf/sched_switch")
int BPF_PROG(sched_switch)
{
	return 0;
}

SEC("tp_btf/sock_send_length")
int BPF_PROG(sock_send)
{
	return 0;
}

SEC("tp_btf/sock_recv_length")
int BPF_PROG(sock_recv)
{
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(process_exit)
{
	return 0;
}
