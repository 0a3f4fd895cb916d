/* The backend's pgBufferUsage and pgWalUsage (cumulative counters of its own
 * memory): both statement sources read them at statement boundaries and
 * keep deltas. Call only in the backend's context. */
#ifndef PGSCOUT_USAGE_READ_H
#define PGSCOUT_USAGE_READ_H

#include "statements.h"

const volatile __u64 bufusage_addr = 0;       /* &pgBufferUsage (0: no buffer/WAL columns) */
const volatile __u64 walusage_addr = 0;       /* &pgWalUsage */
/* pgBufferUsage and pgWalUsage are neighbours in the binary's .bss: when they
 * lie within USAGE_SPAN bytes, one user read from usage_base takes both
 * (each bpf_probe_read_user pays the fault-safe copy set-up). 0: two reads.
 * Set by src/collectors/statements/usage-span.ts. */
const volatile __u64 usage_base = 0;
const volatile __u32 usage_len = 0;
const volatile __u32 usage_buf_off = 0, usage_wal_off = 0;

#define USAGE_SPAN 256
struct usage_span {
	__u8 b[USAGE_SPAN];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct usage_span);
} usage_scratch SEC(".maps");

/* The backend's counters now; 0 when read, non-zero when its memory is not
 * readable (e.g. at exit), and then buf/wal are not to be used. */
static __always_inline long read_usage(__u64 buf[STMT_NBUF], __u64 wal[STMT_NWAL])
{
	__u32 zero = 0;
	/* The loader checks the offsets; the bounds here are for the verifier. */
	__u32 n = usage_len, bo = usage_buf_off, wo = usage_wal_off;
	struct usage_span *span = n ? bpf_map_lookup_elem(&usage_scratch, &zero) : 0;
	if (span && n <= USAGE_SPAN && bo <= USAGE_SPAN - STMT_NBUF * 8 && wo <= USAGE_SPAN - STMT_NWAL * 8) {
		if (bpf_probe_read_user(span->b, n, (void *)usage_base))
			return -1;
		__builtin_memcpy(buf, &span->b[bo], STMT_NBUF * sizeof(__u64));
		__builtin_memcpy(wal, &span->b[wo], STMT_NWAL * sizeof(__u64));
		return 0;
	}
	return bpf_probe_read_user(buf, STMT_NBUF * sizeof(__u64), (void *)bufusage_addr) |
	       bpf_probe_read_user(wal, STMT_NWAL * sizeof(__u64), (void *)walusage_addr);
}

#endif
