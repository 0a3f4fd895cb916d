/* Reads of the traced process's memory (the backend's globals and shared
 * structs), as plain values: 0 when unreadable. */
#ifndef PGSCOUT_USER_READ_H
#define PGSCOUT_USER_READ_H

static __always_inline __u64 read_u64(__u64 addr)
{
	__u64 v = 0;
	bpf_probe_read_user(&v, sizeof(v), (void *)addr);
	return v;
}

static __always_inline __u32 read_u32(__u64 addr)
{
	__u32 v = 0;
	bpf_probe_read_user(&v, sizeof(v), (void *)addr);
	return v;
}

#endif
