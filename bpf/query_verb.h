/* The first word of the query string, when it matters for counting: SQL
 * PREPARE reports the id its EXECUTEs are counted under (the prepared
 * query's), but pg_stat_statements counts only the EXECUTEs. Only the first
 * statement of a string can be checked this way (a PREPARE later in a
 * multi-statement string is counted: docs/dataset.md). Shared by both
 * statement sources: from debug_query_string (--exact, the trap-based
 * source) or the status slot's activity (the default source, over TLS). */
#ifndef PGSCOUT_QUERY_VERB_H
#define PGSCOUT_QUERY_VERB_H

enum verb { VERB_OTHER, VERB_PREPARE, VERB_EXECUTE };

/* The first word of the string at `src`. */
static __always_inline enum verb verb_of(const char *src)
{
	__u64 head = 0;
	if (!src || bpf_probe_read_user(&head, sizeof(head), src))
		return VERB_OTHER;
	/* ASCII letters | 0x20 are lower case; the 7-letter word, then one blank. */
	const __u64 prepare = (__u64)'p' | (__u64)'r' << 8 | (__u64)'e' << 16 | (__u64)'p' << 24 |
			      (__u64)'a' << 32 | (__u64)'r' << 40 | (__u64)'e' << 48;
	const __u64 execute = (__u64)'e' | (__u64)'x' << 8 | (__u64)'e' << 16 | (__u64)'c' << 24 |
			      (__u64)'u' << 32 | (__u64)'t' << 40 | (__u64)'e' << 48;
	__u64 word = (head | 0x2020202020202020ull) & 0x00ffffffffffffffull;
	char next = (char)(head >> 56);
	if (next != ' ' && next != '\t' && next != '\n' && next != '\r')
		return VERB_OTHER;
	return word == prepare ? VERB_PREPARE : word == execute ? VERB_EXECUTE : VERB_OTHER;
}

/* The first word of the string the pointer at `addr` points to. */
static __always_inline enum verb first_verb(__u64 addr)
{
	const char *src = 0;
	if (!addr || bpf_probe_read_user(&src, sizeof(src), (void *)addr))
		return VERB_OTHER;
	return verb_of(src);
}

#endif
