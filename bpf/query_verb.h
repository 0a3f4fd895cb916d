/* The first word of the query string, when it matters for counting: SQL
 * PREPARE reports the id its EXECUTEs are counted under (the prepared
 * query's), but pg_stat_statements counts only the EXECUTEs. Only the first
 * statement of a string can be checked this way (a PREPARE later in a
 * multi-statement string is counted: docs/dataset.md). Shared by both
 * statement sources; `dqs_addr` is &debug_query_string in the backend. */
#ifndef PGSCOUT_QUERY_VERB_H
#define PGSCOUT_QUERY_VERB_H

enum verb { VERB_OTHER, VERB_PREPARE, VERB_EXECUTE };

static __always_inline enum verb first_verb(__u64 dqs_addr)
{
	const char *src = 0;
	__u64 head = 0;
	if (!dqs_addr || bpf_probe_read_user(&src, sizeof(src), (void *)dqs_addr) || !src)
		return VERB_OTHER;
	if (bpf_probe_read_user(&head, sizeof(head), src))
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

#endif
