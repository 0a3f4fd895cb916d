// SPDX-License-Identifier: GPL-2.0
/* Not part of a collector: test/bpf/uprobe-multi.integration.test.ts attaches
 * these two programs through uprobe_multi links (src/bpf/uprobe-multi.ts) and
 * counts their hits. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} hits SEC(".maps");

static __always_inline void count(__u32 slot)
{
	__u64 *n = bpf_map_lookup_elem(&hits, &slot);
	if (n)
		__sync_fetch_and_add(n, 1);
}

SEC("uprobe")
int entry_hit(struct pt_regs *ctx)
{
	count(0);
	return 0;
}

SEC("uretprobe")
int return_hit(struct pt_regs *ctx)
{
	count(1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
