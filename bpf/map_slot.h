/* An aggregate's slot in a hash map, shared by the statement and plan-node
 * programs. Include after the BPF headers. */
#ifndef PGSCOUT_MAP_SLOT_H
#define PGSCOUT_MAP_SLOT_H

/* The key's value in `map`, created from `zeros` (an array map whose slot 0 is
 * all zero) when missing; *created says so (its first execution of the
 * interval). Pass each map directly at its call site: a map pointer that
 * varies at one call site keeps the verifier from inlining the lookup. */
static __always_inline void *map_slot(void *map, const void *key, void *zeros, bool *created)
{
	void *v = bpf_map_lookup_elem(map, key);
	if (v)
		return v;
	*created = true;
	__u32 zero = 0;
	void *z = bpf_map_lookup_elem(zeros, &zero);
	if (!z)
		return 0;
	bpf_map_update_elem(map, key, z, BPF_NOEXIST);   /* a racing insert is fine */
	return bpf_map_lookup_elem(map, key);
}

#endif
