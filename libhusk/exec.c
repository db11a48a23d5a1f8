/* husk: `exec` — a new process in every namespace and the cgroup of a running container. */
#include "config.h"
#include "container.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "cgroup.h"
#include "clone.h"
#include "container-internal.h"
#include "exec-process.h"
#include "namespaces.h"
#include "process.h"
#include "sync.h"
#include "terminal.h"
#include "utils.h"

typedef struct {
	const husk_exec_opts_t *o;
	const husk_spec_t *spec; /* the container's config, process already replaced */
	pid_t target;		 /* container init, host pid */
	int pidfd;
	int ns_flags; /* namespaces of the target we are not already in */
	int sync_fd;
	husk_cgroup_join_t *join; /* joiner: the v1 cgroups to join itself; NULL for none */
} exec_ctx_t;

/* Namespaces where the target differs from us: setns on the same one may fail (user). */
static int differing_namespaces(pid_t pid)
{
	int flags = 0;

	for (const husk_ns_info_t *n = husk_ns_table; n->type; n++) {
		char theirs[64], ours[64];
		struct stat a, b;
		snprintf(theirs, sizeof theirs, "/proc/%d/ns/%s", (int)pid, n->proc);
		snprintf(ours, sizeof ours, "/proc/self/ns/%s", n->proc);
		if (stat(theirs, &a) < 0 || stat(ours, &b) < 0)
			continue;
		if (a.st_ino != b.st_ino || a.st_dev != b.st_dev)
			flags |= n->flag;
	}
	return flags;
}

/* The container's notify listener serves its init; an exec'd process gets the filter
 * without a second listener, as runc does. */
static int exec_load_seccomp(exec_ctx_t *c, husk_error_t *err)
{
	int notify_fd = -1;

	if (c->spec->linux_ == NULL || c->spec->linux_->seccomp == NULL)
		return 0;
	if (husk_seccomp_load(c->spec->linux_->seccomp, &notify_fd, err) < 0)
		return -1;
	if (notify_fd >= 0)
		close(notify_fd);
	return 0;
}

static int exec_final(exec_ctx_t *c, husk_error_t *err)
{
	const husk_process_t *p = c->spec->process;

	if (p->terminal) {
		int master = -1, slave = -1;
		if (husk_pty_open(&master, &slave, p->console_width, p->console_height, err) < 0)
			return -1;
		if (husk_sync_send(c->sync_fd, HUSK_SYNC_PTY_MASTER, 0, master, err) < 0)
			return -1;
		close(master);
		if (husk_pty_become_controlling(slave, err) < 0)
			return -1;
		close(slave);
	} else if (setsid() < 0) {
		/* Its own session, as the init's and runc's exec'd processes: not the caller's
		 * (criu refuses a pid namespace with a session led from outside it). */
		return husk_error_errno(err, "exec: setsid");
	}
	if (husk_process_setup_early(p, err) < 0)
		return -1;
	if (c->spec->linux_ &&
	    husk_process_set_personality(c->spec->linux_->personality, err) < 0)
		return -1;
	if (chdir(p->cwd) < 0)
		return husk_error_errno(err, "exec: chdir \"%s\"", p->cwd);
	if (husk_exec_lookup_check(p, err) < 0)
		return -1;
	/* Same order as create: without no_new_privs the filter needs CAP_SYS_ADMIN. */
	if (!p->no_new_privileges && exec_load_seccomp(c, err) < 0)
		return -1;
	if (husk_process_set_identity(p, err) < 0)
		return -1;
	if (p->no_new_privileges &&
	    (husk_process_no_new_privs(err) < 0 || exec_load_seccomp(c, err) < 0))
		return -1;
	husk_close_fds_from(3 + c->o->preserve_fds);
	/* sync_fd is close-on-exec: the parent reads EOF once execve has succeeded. */
	return husk_process_exec(p, err);
}

/* All at once through the pidfd; without pidfds (kernel < 5.3), one /proc/PID/ns file at a
 * time in husk_ns_table's order (user first, mount last). */
static int join_namespaces(exec_ctx_t *c, husk_error_t *err)
{
	if (c->pidfd >= 0) {
		if (setns(c->pidfd, c->ns_flags) < 0)
			return husk_error_errno(err, "exec: join the namespaces of pid %d",
						(int)c->target);
		return 0;
	}
	for (const husk_ns_info_t *n = husk_ns_table; n->type; n++) {
		char path[64];
		if (!(c->ns_flags & n->flag))
			continue;
		snprintf(path, sizeof path, "/proc/%d/ns/%s", (int)c->target, n->proc);
		if (husk_ns_join_path(path, n->flag, err) < 0)
			return husk_error_wrap(err, "exec");
	}
	return 0;
}

/* The first child: joins the namespaces, then forks the process that execs (a new pid
 * namespace applies to children only) as a sibling, so `husk exec` can wait for it. */
static __attribute__((noreturn)) void exec_joiner(exec_ctx_t *c)
{
	husk_error_t err = {0};
	husk_sync_msg_t m;
	pid_t pid;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (husk_sync_expect(c->sync_fd, HUSK_SYNC_MAPS_DONE, &m, NULL, &err) < 0)
		_exit(1);
	/* The cgroup first: a joined cgroup namespace would hide the container's path. */
	if (c->join && husk_cgroup_join_self(c->join, &err) < 0) {
		husk_sync_send_error(c->sync_fd, &err);
		_exit(1);
	}
	if (c->ns_flags && join_namespaces(c, &err) < 0) {
		husk_sync_send_error(c->sync_fd, &err);
		_exit(1);
	}
	if ((c->ns_flags & CLONE_NEWUSER) && (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)) {
		husk_error_errno(&err, "exec: become root in the user namespace");
		husk_sync_send_error(c->sync_fd, &err);
		_exit(1);
	}
	pid = (pid_t)syscall(SYS_clone, CLONE_PARENT | SIGCHLD, NULL, NULL, NULL, NULL);
	if (pid < 0) {
		husk_error_errno(&err, "exec: fork");
		husk_sync_send_error(c->sync_fd, &err);
		_exit(1);
	}
	if (pid == 0) {
		if (exec_final(c, &err) < 0)
			husk_sync_send_error(c->sync_fd, &err);
		_exit(127);
	}
	/* setns(CLONE_NEWPID) changed only our children's namespace: clone returned the pid
	 * in ours, which is the host's view the parent needs. */
	husk_sync_send(c->sync_fd, HUSK_SYNC_PID, pid, -1, &err);
	_exit(0);
}

static int collect_child(exec_ctx_t *c, pid_t *pid, int *pty_master, husk_error_t *err)
{
	*pid = -1;
	*pty_master = -1;
	for (;;) {
		husk_sync_msg_t m;
		int fd = -1;
		husk_error_t rerr = {0};

		if (husk_sync_recv(c->sync_fd, &m, &fd, &rerr) < 0) {
			husk_error_clear(&rerr);
			/* EOF: every holder of the socket exec'd or exited. */
			return *pid > 0 ? 0 : husk_error_set(err, 0, "exec: process did not start");
		}
		if (m.type == HUSK_SYNC_ERROR) {
			if (fd >= 0)
				close(fd);
			return husk_sync_error_of(&m, err);
		}
		if (m.type == HUSK_SYNC_PID)
			*pid = (pid_t)m.value;
		if (m.type == HUSK_SYNC_PTY_MASTER)
			*pty_master = fd;
		else if (fd >= 0)
			close(fd);
	}
}

int husk_container_exec(const husk_exec_opts_t *o, int *exit_status, husk_error_t *err)
{
	cleanup_state husk_state_t st = {0};
	cleanup_spec husk_spec_t *spec = NULL;
	cleanup_close int pidfd = -1;
	husk_status_t status;
	husk_cgroup_t cg = {0};
	cleanup_cgroup_join husk_cgroup_join_t join = HUSK_CGROUP_JOIN_INIT;
	exec_ctx_t c = {.o = o};
	const husk_cpu_affinity_t *affinity;
	bool into_cgroup = false;
	int fds[2], pty_master = -1, has_cg;
	pid_t joiner, child;

	*exit_status = 0;
	{
		cleanup_close int dirfd = husk_state_open_locked(o->root, o->id, NULL, &st, err);
		if (dirfd < 0)
			return -1;
		status = husk_state_status(dirfd, &st);
		if (status != HUSK_STATUS_RUNNING && status != HUSK_STATUS_CREATED)
			return husk_error_set(err, 0, "cannot exec in container \"%s\": status is %s",
					      o->id, husk_status_name(status));
		if (husk_state_load_spec(dirfd, &spec, err) < 0)
			return -1;
	}
	if (husk_exec_build_process(spec, o, err) < 0)
		return -1;
	if (spec->process->terminal && o->detach && o->console_socket == NULL)
		return husk_error_set(err, 0, "exec --tty --detach needs --console-socket");
	affinity = spec->process->exec_cpu_affinity;
	pidfd = husk_pidfd_open(st.pid);
	if ((pidfd < 0 && errno != ENOSYS) || !husk_pid_is(st.pid, st.pid_start))
		return husk_error_errno(err, "exec: container process %d", (int)st.pid);
	c.spec = spec;
	c.target = st.pid;
	c.pidfd = pidfd;
	c.ns_flags = differing_namespaces(st.pid);
	has_cg = husk_state_cgroup(&st, &cg, err);
	if (has_cg < 0 || (has_cg > 0 && husk_cgroup_join_open(&cg, &join, err) < 0))
		return husk_error_wrap(err, "exec");
	if (husk_sync_pair(fds, err) < 0)
		return -1;
	/* config.md: execCPUAffinity.initial holds until the process reaches the cgroup, so
	 * then it is not born there. */
	joiner = husk_clone(0, affinity ? -1 : join.v2_dir, &into_cgroup, err);
	if (joiner < 0) {
		close(fds[0]);
		close(fds[1]);
		return husk_error_wrap(err, "exec");
	}
	if (joiner == 0) {
		close(fds[0]);
		husk_closep(&join.v2_dir);
		c.sync_fd = fds[1];
		c.join = &join;
		exec_joiner(&c);
	}
	close(fds[1]);
	c.sync_fd = fds[0];
	if ((affinity && husk_cpu_affinity_apply(joiner, affinity->initial,
						 "process.execCPUAffinity.initial", err) < 0) ||
	    (has_cg > 0 &&
	     husk_cgroup_join_finish(&cg, &join, joiner, into_cgroup, err) < 0)) {
		kill(joiner, SIGKILL);
		waitpid(joiner, NULL, 0);
		close(c.sync_fd);
		return husk_error_wrap(err, "exec");
	}
	husk_cgroup_join_close(&join);
	husk_sync_send(c.sync_fd, HUSK_SYNC_MAPS_DONE, 0, -1, NULL);
	{
		int r = collect_child(&c, &child, &pty_master, err);
		waitpid(joiner, NULL, 0);
		close(c.sync_fd);
		if (r < 0) {
			if (child > 0)
				waitpid(child, NULL, 0);
			return -1;
		}
	}
	if (child <= 0)
		return husk_error_set(err, 0, "exec: lost track of the process");
	return husk_exec_wait(o, child, pty_master, exit_status, err);
}
