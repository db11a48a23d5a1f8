/* husk: linux.memoryPolicy through set_mempolicy(2). */
#ifndef HUSK_MEMPOLICY_H
#define HUSK_MEMPOLICY_H

#include "error.h"
#include "spec.h"

/* Every mode and flag name husk knows (NULL-terminated), for `features`. */
extern const char *const husk_mempolicy_modes[];
extern const char *const husk_mempolicy_flags[];

/* Check mode, flags and nodes without side effects (before anything exists). */
int husk_mempolicy_validate(const husk_memory_policy_t *mp, husk_error_t *err);

/* Set the calling process's NUMA memory policy; execve keeps it. NULL: no-op. */
int husk_mempolicy_apply(const husk_memory_policy_t *mp, husk_error_t *err);

#endif
