/* pgscout's own backends (catalog lookups, sampler, instrumentation setup):
 * not the workload. Filled by src/collectors/statements/own-pids-map.ts.
 * Include after the BPF headers. */
#ifndef PGSCOUT_OWN_PIDS_H
#define PGSCOUT_OWN_PIDS_H

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u8);
} own_pids SEC(".maps");

#endif
