#include "config.h"
#include "clone.h"

#include <errno.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

static pid_t clone3_fork(int ns_flags, int cgroup_fd)
{
	struct clone_args args;

	memset(&args, 0, sizeof args);
	args.flags = (uint64_t)(unsigned)ns_flags;
	args.exit_signal = SIGCHLD;
	if (cgroup_fd >= 0) {
		args.flags |= CLONE_INTO_CGROUP;
		args.cgroup = (uint64_t)cgroup_fd;
	}
	return (pid_t)syscall(SYS_clone3, &args, sizeof args);
}

static pid_t clone_fork(int ns_flags)
{
	/* With a NULL stack the raw clone syscall behaves like fork(). */
	return (pid_t)syscall(SYS_clone, (unsigned long)ns_flags | SIGCHLD, NULL, NULL, NULL,
			      NULL);
}

static bool clone3_allowed(void)
{
	const char *force = getenv("HUSK_TEST_NO_CLONE3");
	return force == NULL || strcmp(force, "1") != 0;
}

pid_t husk_clone(int ns_flags, int cgroup_fd, bool *into_cgroup, husk_error_t *err)
{
	pid_t pid;

	*into_cgroup = false;
	if (clone3_allowed()) {
		pid = clone3_fork(ns_flags, cgroup_fd);
		if (pid >= 0) {
			*into_cgroup = cgroup_fd >= 0;
			return pid;
		}
		if (errno != ENOSYS && errno != E2BIG)
			return (pid_t)husk_error_errno(err, "clone3 container process");
	}
	pid = clone_fork(ns_flags);
	if (pid < 0)
		return (pid_t)husk_error_errno(err, "clone container process");
	return pid;
}
