/* The keep probability of sampled rows, set by the programs themselves from
 * the execution rate: user space writes only the budget (rows per second,
 * in the control block) and needs no timer to follow the rate.
 *
 * Each CPU re-estimates the rate of the whole collector every KEEP_RATE_NS,
 * at its first execution past that, from the sum over CPUs of the per-CPU
 * count of executions the program keeps anyway: no atomics, no shared cache
 * line written per execution. A rate goes up at once (a burst is sampled at
 * once) and comes down with a time constant of KEEP_FALL_NS (a lull does not
 * open the gates). Each kept row records the probability it was kept with,
 * so weights stay exact while the probability moves. Include after the BPF
 * headers. */
#ifndef PGSCOUT_KEEP_RATE_H
#define PGSCOUT_KEEP_RATE_H

#define KEEP_ALL_P32 0xffffffffu       /* probability 1 */
#define KEEP_NO_BUDGET 0xffffffffu     /* control block budget: every execution is a row */
#define KEEP_RATE_NS (25ull * 1000000)
/* Until a CPU has measured the rate for this long it keeps every execution:
 * short, because a busy server's first statements would all be rows. */
#define KEEP_FIRST_NS (20ull * 1000000)
#define KEEP_FALL_NS (700ull * 1000000)
#define KEEP_MAX_CPUS 1024

/* One CPU's view of the rate (a PERCPU_ARRAY of one). */
struct keep_rate {
	__u64 next_ns;            /* re-estimate at the first execution from then on */
	__u64 last_ns;            /* when the count was last summed (0: never) */
	__u64 last_total;         /* the sum then */
	__u64 rate;               /* executions per second, smoothed */
	__u32 p32;                /* keep probability × 2^32 in force */
	__u32 budget;             /* the budget p32 was computed for */
};

#ifdef __BPF__
const volatile __u32 keep_ncpus = 1;   /* possible CPUs: copies of the per-CPU count */

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct keep_rate);
} keep_rate SEC(".maps");

/* Executions counted so far on every CPU: slot `idx` of the per-CPU `counts`. */
static __always_inline __u64 keep_count_all(void *counts, __u32 idx)
{
	__u64 total = 0;
	for (__u32 cpu = 0; cpu < KEEP_MAX_CPUS; cpu++) {
		if (cpu >= keep_ncpus)
			break;
		__u64 *v = bpf_map_lookup_percpu_elem(counts, &idx, cpu);
		if (v)
			total += *v;
	}
	return total;
}

/* Rate `per_s` smoothed into r->rate over `dt` ns: up at once, down by
 * dt / (dt + KEEP_FALL_NS) of the gap (a first-order exp(-dt/T)). */
static __always_inline void keep_smooth(struct keep_rate *r, __u64 per_s, __u64 dt)
{
	if (per_s >= r->rate || dt >= 16 * KEEP_FALL_NS)
		r->rate = per_s;
	else
		r->rate -= (r->rate - per_s) * dt / (dt + KEEP_FALL_NS);
}

/* The keep probability (× 2^32) for an execution ending at `now`, given the
 * budget in rows per second; `counts`/`idx` count executions per CPU. */
static __always_inline __u32 keep_p32(__u32 budget, __u64 now, void *counts, __u32 idx)
{
	if (budget == KEEP_NO_BUDGET)
		return KEEP_ALL_P32;
	__u32 zero = 0;
	struct keep_rate *r = bpf_map_lookup_elem(&keep_rate, &zero);
	if (!r)
		return KEEP_ALL_P32;
	if (now < r->next_ns && r->budget == budget)
		return r->p32;
	__u64 total = keep_count_all(counts, idx);
	__u64 dt = now - r->last_ns;
	if (!r->last_ns || r->budget != budget) {
		r->last_ns = now;
		r->last_total = total;
		r->next_ns = now + KEEP_FIRST_NS;
		r->budget = budget;
		r->rate = 0;
		r->p32 = KEEP_ALL_P32;
		return r->p32;
	}
	__u64 dt_us = dt / 1000;
	keep_smooth(r, (total - r->last_total) * 1000000 / (dt_us ? dt_us : 1), dt);
	r->last_ns = now;
	r->last_total = total;
	r->next_ns = now + KEEP_RATE_NS;
	if (r->rate <= budget) {
		r->p32 = KEEP_ALL_P32;
	} else {
		__u64 p = ((__u64)budget << 32) / r->rate;
		r->p32 = p ? (__u32)p : 1;
	}
	return r->p32;
}

/* One draw: keep with probability p32 / 2^32 (KEEP_ALL_P32: always, 0: never). */
static __always_inline bool keep_draw(__u32 p32)
{
	return p32 == KEEP_ALL_P32 || (p32 && bpf_get_prandom_u32() < p32);
}
#endif

#endif
