/* husk: clone3 with a fallback to clone for kernels without it. */
#ifndef HUSK_CLONE_H
#define HUSK_CLONE_H

#include <stdbool.h>
#include <sys/types.h>

#include "error.h"

/* Fork-like: returns 0 in the child, the pid in the parent, -1 on error.
 * cgroup_fd >= 0 asks for the child to be born in that cgroup v2 (CLONE_INTO_CGROUP);
 * *into_cgroup says whether that happened (not on the clone fallback), so that the
 * caller moves the child itself otherwise.
 * HUSK_TEST_NO_CLONE3=1 in the environment forces the fallback (for tests). */
pid_t husk_clone(int ns_flags, int cgroup_fd, bool *into_cgroup, husk_error_t *err);

#endif
