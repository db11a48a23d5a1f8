#include "config.h"
#include "mempolicy.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "utils.h"

/* Values from the kernel's uapi linux/mempolicy.h (not installed everywhere). */
/* Indexed by the kernel's values (uapi linux/mempolicy.h: MPOL_DEFAULT = 0 ...). */
const char *const husk_mempolicy_modes[] = {
	"MPOL_DEFAULT", "MPOL_PREFERRED",      "MPOL_BIND",		   "MPOL_INTERLEAVE",
	"MPOL_LOCAL",	"MPOL_PREFERRED_MANY", "MPOL_WEIGHTED_INTERLEAVE", NULL};
enum { MODE_DEFAULT = 0, MODE_PREFERRED = 1, MODE_LOCAL = 4 };

/* Bits 15, 14, 13: MPOL_F_STATIC_NODES, MPOL_F_RELATIVE_NODES, MPOL_F_NUMA_BALANCING. */
const char *const husk_mempolicy_flags[] = {"MPOL_F_STATIC_NODES", "MPOL_F_RELATIVE_NODES",
					    "MPOL_F_NUMA_BALANCING", NULL};

#define MAX_NODES 1024
#define WORD_BITS (8 * sizeof(unsigned long))

static int index_of(const char *const *names, const char *name)
{
	for (int i = 0; names[i]; i++)
		if (strcmp(names[i], name) == 0)
			return i;
	return -1;
}

static int bad_nodes(const char *s, husk_error_t *err)
{
	return husk_error_set(err, 0, "linux.memoryPolicy.nodes: invalid node list \"%s\"", s);
}

/* "0-3,7" into a bitmask of MAX_NODES bits; true when at least one node is set. */
static int parse_nodes(const char *s, unsigned long *mask, bool *any, husk_error_t *err)
{
	const char *p = s;

	*any = false;
	while (*p) {
		char *end;
		unsigned long lo = strtoul(p, &end, 10), hi;
		if (end == p)
			return bad_nodes(s, err);
		hi = lo;
		if (*end == '-') {
			p = end + 1;
			hi = strtoul(p, &end, 10);
			if (end == p)
				return bad_nodes(s, err);
		}
		if (lo > hi || hi >= MAX_NODES)
			return bad_nodes(s, err);
		for (unsigned long n = lo; n <= hi; n++)
			mask[n / WORD_BITS] |= 1UL << (n % WORD_BITS);
		*any = true;
		if (*end == ',')
			end++;
		else if (*end != '\0')
			return bad_nodes(s, err);
		p = end;
	}
	return 0;
}

/* set_mempolicy(2): some modes want no nodes, the others at least one. */
static int check_nodes_for_mode(int mode, bool any, husk_error_t *err)
{
	bool wants_none = mode == MODE_DEFAULT || mode == MODE_LOCAL;

	if (wants_none && any)
		return husk_error_set(err, 0, "linux.memoryPolicy.nodes: must be empty for "
						   "this mode");
	if (!wants_none && mode != MODE_PREFERRED && !any)
		return husk_error_set(err, 0, "linux.memoryPolicy.nodes: required for this "
						   "mode");
	return 0;
}

static int resolve(const husk_memory_policy_t *mp, int *mode, unsigned long *mask, bool *any,
		   husk_error_t *err)
{
	*mode = index_of(husk_mempolicy_modes, mp->mode ? mp->mode : "");
	if (*mode < 0)
		return husk_error_set(err, 0, "linux.memoryPolicy.mode: unknown mode \"%s\"",
				      mp->mode ? mp->mode : "");
	for (size_t i = 0; i < mp->flags_len; i++) {
		int f = index_of(husk_mempolicy_flags, mp->flags[i]);
		if (f < 0)
			return husk_error_set(err, EINVAL,
					      "linux.memoryPolicy.flags[%zu]: unknown flag \"%s\"", i,
					      mp->flags[i]);
		*mode |= 1 << (15 - f);
	}
	*any = false;
	if (mp->nodes && parse_nodes(mp->nodes, mask, any, err) < 0)
		return -1;
	return check_nodes_for_mode(*mode & 0xff, *any, err);
}

int husk_mempolicy_validate(const husk_memory_policy_t *mp, husk_error_t *err)
{
	unsigned long mask[MAX_NODES / WORD_BITS] = {0};
	bool any;
	int mode;

	if (mp == NULL)
		return 0;
	return resolve(mp, &mode, mask, &any, err);
}

int husk_mempolicy_apply(const husk_memory_policy_t *mp, husk_error_t *err)
{
	unsigned long mask[MAX_NODES / WORD_BITS] = {0};
	bool any;
	int mode;

	if (mp == NULL)
		return 0;
	if (resolve(mp, &mode, mask, &any, err) < 0)
		return -1;
	if (syscall(SYS_set_mempolicy, mode, any ? mask : NULL, any ? MAX_NODES + 1 : 0) < 0)
		return husk_error_errno(err, "linux.memoryPolicy: set_mempolicy %s%s%s", mp->mode,
					mp->nodes ? " nodes " : "", mp->nodes ? mp->nodes : "");
	return 0;
}
