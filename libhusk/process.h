/* husk: the last steps before execve in the container process. */
#ifndef HUSK_PROCESS_H
#define HUSK_PROCESS_H

#include <stdbool.h>

#include "error.h"
#include "spec.h"

/*
 * The container process calls these in this order (container.c drives it):
 *   1. husk_process_setup_early(): while still root in the container: rlimits, oomScoreAdj,
 *      scheduler, ioPriority, personality, execCPUAffinity.final (initial is applied by the
 *      parent), umask.
 *   2. (rootfs pivot, hooks, ... done by others)
 *   3. husk_process_set_identity(): setgroups(additionalGids), setresgid, setresuid keeping
 *      capabilities across the switch (PR_SET_KEEPCAPS), then applies all five capability
 *      sets exactly as configured (bounding dropped first, ambient raised last); chdir(cwd)
 *      happens in container.c.
 *   4. husk_process_no_new_privs() if noNewPrivileges.
 *   5. husk_seccomp_load() last; with SCMP_ACT_NOTIFY in the profile it returns the listener
 *      fd in *notify_fd (else -1).
 *   6. husk_process_exec(): resolve args[0] through PATH from process.env, execve.
 *      Returns only on failure.
 */
int husk_process_setup_early(const husk_process_t *p, husk_error_t *err);
int husk_process_set_identity(const husk_process_t *p, husk_error_t *err);
int husk_process_no_new_privs(husk_error_t *err);
int husk_seccomp_load(const husk_seccomp_t *seccomp, int *notify_fd, husk_error_t *err);
int husk_process_exec(const husk_process_t *p, husk_error_t *err);

/* Validate without side effects what can be checked before any process exists: capability
 * names, rlimit types, scheduler policy, ioPriority class, seccomp action/arch/op names.
 * Error messages name the field ("process.capabilities.bounding[2]: unknown capability
 * \"CAP_FOO\""). Used by `create` so bad configs fail fast and leave nothing behind. */
int husk_process_validate(const husk_process_t *p, husk_error_t *err);
int husk_seccomp_validate(const husk_seccomp_t *seccomp, husk_error_t *err);

/* Capability name <-> number ("CAP_SYS_ADMIN" <-> 21); -1 if unknown. */
int husk_cap_from_name(const char *name);
/* Names of every capability the running kernel and libcap know (static strings), for `features`. */
const char *const *husk_cap_known_names(void);

#endif
