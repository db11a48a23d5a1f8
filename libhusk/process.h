/* husk: the last steps before execve in the container process. */
#ifndef HUSK_PROCESS_H
#define HUSK_PROCESS_H

#include <sched.h>
#include <stdbool.h>
#include <sys/types.h>

#include "error.h"
#include "spec.h"

/*
 * The container process calls these in this order (container.c drives it):
 *   1. husk_process_setup_early(): while still root in the container: rlimits, oomScoreAdj,
 *      scheduler, ioPriority, execCPUAffinity.final (initial is applied by the parent with
 *      husk_cpu_affinity_apply()), umask; and husk_process_set_personality(linux.personality).
 *   2. (rootfs pivot, hooks, ... done by others)
 *   3. husk_process_set_identity(): drops the bounding set first (needs CAP_SETPCAP, so while
 *      still root), setgroups(additionalGids), setresgid, setresuid keeping capabilities
 *      across the switch (PR_SET_KEEPCAPS), then effective/permitted/inheritable with capset
 *      and the ambient set raised last. Absent process.capabilities means all five sets
 *      empty (runc). chdir(cwd) happens in container.c.
 *   4. husk_process_no_new_privs() if noNewPrivileges.
 *   5. husk_seccomp_load(); with SCMP_ACT_NOTIFY in the profile it returns the listener fd in
 *      *notify_fd (else -1).
 *   6. husk_process_exec(): resolve args[0] through PATH from process.env, execve.
 *      Returns only on failure.
 *
 * Where seccomp goes depends on noNewPrivileges, because the kernel lets a process install a
 * filter only with no_new_privs set or with CAP_SYS_ADMIN (in its user namespace):
 *   - noNewPrivileges true:  3, 4, 5, 6 as above: the filter comes last and only has to
 *     allow what remains before execve (close_range, sending the notify fd, execve).
 *   - noNewPrivileges false: 5 BEFORE 3 (order 5, 3, 6), while the process still holds
 *     CAP_SYS_ADMIN; the configured uid/caps may not have it. The profile then also filters
 *     setgroups/setresuid/capset/prctl of step 3 (runc does the same; default profiles allow
 *     them).
 * A SCMP_ACT_NOTIFY rule on a syscall the runtime itself makes between loading and execve
 * (e.g. sendmsg of the notify fd) would block the container process: nobody holds the listener
 * yet.
 */
int husk_process_setup_early(const husk_process_t *p, husk_error_t *err);
int husk_process_set_identity(const husk_process_t *p, husk_error_t *err);
int husk_process_no_new_privs(husk_error_t *err);
int husk_seccomp_load(const husk_seccomp_t *seccomp, int *notify_fd, husk_error_t *err);
int husk_process_exec(const husk_process_t *p, husk_error_t *err);

/* linux.personality: domain LINUX or LINUX32 (the spec defines no flags). NULL: no-op. */
int husk_process_set_personality(const husk_personality_t *personality, husk_error_t *err);
int husk_personality_validate(const husk_personality_t *personality, husk_error_t *err);

/* Pin pid (0: the caller) to a CPU list such as "0-3,7" (execCPUAffinity.initial in the
 * parent, .final in the container). NULL or "" leaves the affinity alone. field names the
 * config field in errors. */
int husk_cpu_affinity_apply(pid_t pid, const char *list, const char *field, husk_error_t *err);
/* Parse a CPU list into a CPU_ALLOC'ed set of *size bytes (caller CPU_FREEs it). */
int husk_cpu_list_parse(const char *list, const char *field, cpu_set_t **set, size_t *size,
			husk_error_t *err);

/* "RLIMIT_NOFILE" -> RLIMIT_NOFILE; -1 if unknown. */
int husk_rlimit_from_name(const char *name);

/* execvp-like lookup: name with a '/' is returned as is; otherwise the first regular file with
 * an execute bit in the PATH of env (default
 * "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"); *out is heap-allocated.
 * Not found: "exec \"foo\": executable file not found in $PATH" (ENOENT). */
int husk_process_find_executable(const char *name, char *const *env, char **out,
				 husk_error_t *err);

/* Validate without side effects what can be checked before any process exists: capability
 * names, rlimit types, scheduler policy, ioPriority class, seccomp action/arch/op names.
 * Error messages name the field ("process.capabilities.bounding[2]: unknown capability
 * \"CAP_FOO\""). Used by `create` so bad configs fail fast and leave nothing behind. */
int husk_process_validate(const husk_process_t *p, husk_error_t *err);
int husk_seccomp_validate(const husk_seccomp_t *seccomp, husk_error_t *err);
/* husk_debug() each syscall name the installed libseccomp does not know (they are skipped). */
void husk_seccomp_debug_unknown(const husk_seccomp_t *seccomp);

/* Capability name <-> number ("CAP_SYS_ADMIN" <-> 21); -1 if unknown. */
int husk_cap_from_name(const char *name);
/* Names of every capability the running kernel and libcap know (static strings), for `features`. */
const char *const *husk_cap_known_names(void);

#endif
