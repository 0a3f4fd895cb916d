/* Per-CPU counter slots (a PERCPU_ARRAY of __u64 indexed by a collector's
 * stat enum): one add, summed over CPUs by user space. */
#ifndef PGSCOUT_STATS_H
#define PGSCOUT_STATS_H

static __always_inline void stat_add(void *map, __u32 idx, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(map, &idx);
	if (v)
		*v += n;
}

#endif
