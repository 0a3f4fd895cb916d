// SPDX-License-Identifier: GPL-2.0
/* The operator collector's trap floor: the program names and section types
 * of operators.bpf.c with empty bodies, and no maps (nothing is shared with
 * the statement collector). bench/operators.mjs attaches it by hand to the
 * probe points the operator collector uses: ExecInitNode entry/return,
 * ExecInitSubPlan, ExecReScan, ExecEndNode, the MultiExec* entry/return,
 * index_getbitmap's return (all at the same probe sites as
 * collectors/operators.json) and every discovered per-node function
 * (node_enter / node_exit at the offsets OperatorSource discovered), and
 * compares run time per hit and throughput with the real programs. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

/* ---- initialization ---- */

SEC("uprobe")
int init_enter(struct pt_regs *ctx)
{
	return 0;
}

SEC("uretprobe")
int init_exit(struct pt_regs *ctx)
{
	return 0;
}

SEC("uprobe")
int init_subplan(struct pt_regs *ctx)
{
	return 0;
}

/* ---- execution ---- */

SEC("uprobe")
int node_enter(struct pt_regs *ctx)
{
	return 0;
}

SEC("uretprobe")
int node_exit(struct pt_regs *ctx)
{
	return 0;
}

SEC("uretprobe")
int multi_exit(struct pt_regs *ctx)
{
	return 0;
}

SEC("uretprobe")
int getbitmap_exit(struct pt_regs *ctx)
{
	return 0;
}

SEC("uprobe")
int rescan(struct pt_regs *ctx)
{
	return 0;
}

SEC("uprobe")
int end_node(struct pt_regs *ctx)
{
	return 0;
}

/* ---- sockets ---- */

SEC("tp_btf/sock_send_length")
int BPF_PROG(op_sock_send)
{
	return 0;
}

SEC("tp_btf/sock_recv_length")
int BPF_PROG(op_sock_recv)
{
	return 0;
}
