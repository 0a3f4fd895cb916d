// SPDX-License-Identifier: GPL-2.0
/* Not attached anywhere: test/bpf/keep-rate.test.ts runs it with
 * BPF_PROG_RUN to drive bpf/keep_rate.h (the keep probability the statement
 * and plan-node programs set from the execution rate) with a clock and an
 * execution count it chooses. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "keep_rate.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} executions SEC(".maps");

/* Arguments: now (ns), budget (rows per second), executions to count on this
 * CPU first. Returns the keep probability × 2^32 for an execution at `now`. */
SEC("raw_tp/sys_enter")
int keep_rate_step(__u64 *ctx)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&executions, &zero);
	if (n)
		*n += ctx[2];
	return keep_p32((__u32)ctx[1], ctx[0], &executions, 0);
}

char LICENSE[] SEC("license") = "GPL";
