/* husk: `create` — the parent half (state, cgroup, clone, id maps, runtime hooks) and
 * the container process half (namespaces, rootfs, process set-up, exec barrier). */
#include "config.h"
#include "container.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "activation.h"
#include "cgroup.h"
#include "clone.h"
#include "container-internal.h"
#include "hooks.h"
#include "id.h"
#include "mempolicy.h"
#include "namespaces.h"
#include "process.h"
#include "rootfs.h"
#include "spec.h"
#include "sync.h"
#include "terminal.h"
#include "utils.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

/* Everything create has made so far, undone in reverse when it fails. */
typedef struct {
	int rootfd;
	int dirfd;
	const char *id;
	bool dir_made;
	husk_cgroup_t cg;
	bool cg_made;
	pid_t child;
	int sync_fd;
	int pty_master;
	int kept_fds; /* fds from 3 the process keeps: LISTEN_FDS + --preserve-fds */
	bool hooks_started; /* prestart hooks ran: a failure now also runs poststop */
} create_ctx_t;

static void create_ctx_undo(create_ctx_t *c)
{
	cleanup_error husk_error_t ignored = {0};

	if (c->child > 0) {
		kill(c->child, SIGKILL);
		waitpid(c->child, NULL, 0);
	}
	if (c->cg_made && husk_cgroup_destroy(&c->cg, &ignored) < 0)
		husk_warn("remove cgroup: %s", husk_error_msg(&ignored));
	/* The parents this create made, when it failed before the cgroup was complete. */
	husk_cgroup_create_abort(&c->cg);
	if (c->dir_made && husk_state_dir_remove(c->rootfd, c->id, &ignored) < 0)
		husk_warn("remove state: %s", husk_error_msg(&ignored));
}

/* runtime.md: once hooks have run, a failed create continues the lifecycle at step 12:
 * the container is destroyed, then the poststop hooks run (their failures only warn). */
static void destroy_after_hooks(create_ctx_t *c, const husk_spec_t *spec, const char *bundle)
{
	cleanup_free char *state = NULL;

	create_ctx_undo(c);
	c->child = 0;
	c->cg_made = false;
	c->dir_made = false;
	if (spec->hooks == NULL || spec->hooks->poststop.len == 0)
		return;
	state = husk_hook_state_json(spec, c->id, bundle, 0, "stopped");
	husk_hooks_run_all(&spec->hooks->poststop, "poststop", state, husk_warn_msg);
}

static void create_ctx_close(create_ctx_t *c)
{
	husk_closep(&c->sync_fd);
	husk_closep(&c->pty_master);
	husk_closep(&c->dirfd);
	husk_closep(&c->rootfd);
	husk_cgroup_free(&c->cg);
}

/* ------------------------------------------------------------------ container side */

typedef struct {
	const husk_spec_t *spec;
	const husk_create_opts_t *o;
	const char *rootfs;
	const char *bundle;
	pid_t host_pid; /* our pid as the host sees it, for hook state */
	int sync_fd;
	husk_exec_barrier_t barrier;
	int new_flags; /* new namespaces clone did not create: unshared by the child */
	int kept_fds;
	int cgroupns_fd; /* the cgroup namespace to join (linux.namespaces path), or -1 */
	bool in_cgroup;	 /* joined the cgroup and entered the cgroup namespace */
	int *idmap_trees; /* per spec mount, the runtime's idmapped trees (-1: none); or NULL */
} child_ctx_t;

/* Until the parent has written our id maps: the idmapped mount trees it made for us. */
static int child_wait_for_maps(child_ctx_t *c, husk_error_t *err)
{
	size_t len = c->spec->mounts_len;

	for (;;) {
		husk_sync_msg_t m;
		int fd = -1;

		if (husk_sync_recv(c->sync_fd, &m, &fd, err) < 0)
			return -1;
		if (m.type == HUSK_SYNC_MAPS_DONE)
			return 0;
		if (m.type == HUSK_SYNC_ERROR)
			return husk_sync_error_of(&m, err);
		if (m.type != HUSK_SYNC_IDMAP_TREE || fd < 0 || m.value < 0 ||
		    (size_t)m.value >= len) {
			if (fd >= 0)
				close(fd);
			return husk_error_set(err, 0, "sync: unexpected message %d", (int)m.type);
		}
		if (c->idmap_trees == NULL) {
			c->idmap_trees = xmalloc0(len * sizeof *c->idmap_trees);
			for (size_t i = 0; i < len; i++)
				c->idmap_trees[i] = -1;
		}
		husk_closep(&c->idmap_trees[m.value]);
		c->idmap_trees[m.value] = fd;
	}
}

/* All but the cgroup namespace, which is rooted where the process is when it is made (or
 * joined): that waits for the cgroup (child_enter_cgroup). Its path is opened now, while
 * paths still resolve in the runtime's mount namespace. */
static int child_enter_namespaces(child_ctx_t *c, husk_error_t *err)
{
	int late = CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNS;
	const husk_namespace_t *user = husk_spec_namespace(c->spec, "user");
	const husk_namespace_t *cgroup = husk_spec_namespace(c->spec, "cgroup");

	if (user && (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0))
		return husk_error_errno(err, "become root in the user namespace");
	if (cgroup && cgroup->path &&
	    (c->cgroupns_fd = husk_ns_open_path(cgroup->path, CLONE_NEWCGROUP, err)) < 0)
		return husk_error_wrap(err, "linux.namespaces: cgroup");
	if (husk_ns_join_all(c->spec, late, err) < 0)
		return -1;
	if (unshare(c->new_flags & late) < 0)
		return husk_error_errno(err, "unshare namespaces");
	if (husk_ns_set_names(c->spec, err) < 0)
		return -1;
	return 0;
}

/* Once the parent has made the cgroup (while we set up the namespaces and the first mounts):
 * join it through the `tasks` fds it sends, then make or join the cgroup namespace. Runs
 * before the first cgroup mount, or after the mounts when there is none. */
static int child_enter_cgroup(void *arg, husk_error_t *err)
{
	child_ctx_t *c = arg;
	cleanup_cgroup_join husk_cgroup_join_t join = HUSK_CGROUP_JOIN_INIT;
	cleanup_close int nsfd = steal_fd(&c->cgroupns_fd);

	if (c->in_cgroup)
		return 0;
	c->in_cgroup = true;
	if (husk_cgroup_join_recv(c->sync_fd, &join, err) < 0 ||
	    husk_cgroup_join_self(&join, err) < 0)
		return -1;
	if (nsfd >= 0 && setns(nsfd, CLONE_NEWCGROUP) < 0)
		return husk_error_errno(err, "linux.namespaces: join the cgroup namespace");
	if ((c->new_flags & CLONE_NEWCGROUP) && unshare(CLONE_NEWCGROUP) < 0)
		return husk_error_errno(err, "unshare the cgroup namespace");
	return 0;
}

static int child_join_session_keyring(const husk_create_opts_t *o, husk_error_t *err)
{
	char name[HUSK_ID_NAME_MAX];

	if (o->no_new_keyring)
		return 0;
	snprintf(name, sizeof name, "_ses.%s", o->id);
	/* KEYCTL_JOIN_SESSION_KEYRING = 1; keyrings may be absent or denied to a user ns. */
	if (syscall(SYS_keyctl, 1, name, 0, 0, 0) < 0 && errno != ENOSYS && errno != EPERM &&
	    errno != EACCES)
		return husk_error_errno(err, "join session keyring");
	return 0;
}

static int child_runtime_hooks(child_ctx_t *c, husk_error_t *err)
{
	husk_sync_msg_t m;

	if (husk_sync_send(c->sync_fd, HUSK_SYNC_RUN_RUNTIME_HOOKS, 0, -1, err) < 0)
		return -1;
	if (husk_sync_expect(c->sync_fd, HUSK_SYNC_HOOKS_DONE, &m, NULL, err) < 0)
		return -1;
	c->host_pid = (pid_t)m.value;
	/* runtime.md: hooks run in the container namespace see the pid as the container does. */
	if (c->spec->hooks && c->spec->hooks->create_container.len > 0) {
		cleanup_free char *state =
			husk_hook_state_json(c->spec, c->o->id, c->bundle, getpid(), "creating");
		if (husk_hooks_run(&c->spec->hooks->create_container, "createContainer", state,
				   err) < 0)
			return -1;
	}
	return 0;
}

static int child_terminal(child_ctx_t *c, husk_error_t *err)
{
	const husk_process_t *p = c->spec->process;
	cleanup_close int master = -1;
	cleanup_close int slave = -1;

	/* The init leads its own session, as with runc and crun: it must not stay in the
	 * session of whoever ran husk (criu refuses to dump a pid namespace whose init's
	 * session leader is outside it). With a terminal, becoming its controller does it. */
	if (!p->terminal)
		return setsid() < 0 ? husk_error_errno(err, "setsid") : 0;
	if (husk_pty_open(&master, &slave, p->console_width, p->console_height, err) < 0)
		return husk_error_wrap(err, "process.terminal");
	if (husk_rootfs_setup_console(slave, err) < 0)
		return husk_error_wrap(err, "process.terminal");
	if (husk_sync_send(c->sync_fd, HUSK_SYNC_PTY_MASTER, 0, master, err) < 0)
		return -1;
	return husk_pty_become_controlling(slave, err);
}

/* runc creates a missing cwd; do the same, in the container's own tree and before the
 * root may turn read-only. */
static int child_make_cwd(const husk_process_t *p, husk_error_t *err)
{
	if (p->cwd[0] != '/')
		return husk_error_set(err, 0, "process.cwd: \"%s\" is not absolute", p->cwd);
	if (husk_mkdir_p(p->cwd, 0755, err) < 0)
		return husk_error_wrap(err, "process.cwd");
	return 0;
}

static int child_cwd(const husk_process_t *p, husk_error_t *err)
{
	if (chdir(p->cwd) < 0)
		return husk_error_errno(err, "process.cwd: chdir \"%s\"", p->cwd);
	return 0;
}

static int child_wait_for_start(child_ctx_t *c, husk_error_t *err)
{
	char byte;
	ssize_t r;
	int flags = fcntl(c->barrier.start_fd, F_GETFL);

	fcntl(c->barrier.start_fd, F_SETFL, flags & ~O_NONBLOCK);
	do
		r = read(c->barrier.start_fd, &byte, 1);
	while (r < 0 && errno == EINTR);
	if (r != 1)
		return husk_error_errno(err, "wait for start");
	husk_closep(&c->barrier.start_fd);
	return 0;
}

/* The notify fd goes to the runtime side, which reaches listenerPath in the host's mount
 * namespace (the container's view has no such path). */
static int child_load_seccomp(child_ctx_t *c, husk_error_t *err)
{
	const husk_spec_t *spec = c->spec;
	cleanup_close int notify_fd = -1;
	husk_sync_msg_t m;

	if (spec->linux_ == NULL || spec->linux_->seccomp == NULL)
		return 0;
	if (husk_seccomp_load(spec->linux_->seccomp, &notify_fd, err) < 0)
		return -1;
	if (notify_fd < 0)
		return 0;
	if (husk_sync_send(c->sync_fd, HUSK_SYNC_SECCOMP_FD, 0, notify_fd, err) < 0)
		return -1;
	return husk_sync_expect(c->sync_fd, HUSK_SYNC_SECCOMP_DONE, &m, NULL, err);
}

static int child_process_early(child_ctx_t *c, husk_error_t *err)
{
	/* config.md: execCPUAffinity does not apply to the container's init process. */
	husk_process_t init = *c->spec->process;

	init.exec_cpu_affinity = NULL;
	if (husk_process_setup_early(&init, err) < 0)
		return -1;
	if (c->spec->linux_ &&
	    (husk_process_set_personality(c->spec->linux_->personality, err) < 0 ||
	     husk_mempolicy_apply(c->spec->linux_->memory_policy, err) < 0))
		return -1;
	return 0;
}

static int child_setup(child_ctx_t *c, husk_error_t *err)
{
	const husk_spec_t *spec = c->spec;
	husk_rootfs_runtime_t from_runtime = {.before_cgroup = child_enter_cgroup, .arg = c};
	cleanup_close int proc_fd = -1;

	if (child_wait_for_maps(c, err) < 0)
		return -1;
	if (child_enter_namespaces(c, err) < 0 || child_join_session_keyring(c->o, err) < 0)
		return -1;
	/* config.md: a relative mount source is relative to the bundle. */
	if (chdir(c->bundle) < 0)
		return husk_error_errno(err, "chdir to bundle \"%s\"", c->bundle);
	from_runtime.idmap_trees = c->idmap_trees;
	if (husk_rootfs_prepare(spec, c->rootfs, &from_runtime, err) < 0)
		return -1;
	husk_rootfs_trees_close(c->idmap_trees, spec->mounts_len);
	c->idmap_trees = NULL;
	/* The runtime hooks see the process in its cgroup. */
	if (child_enter_cgroup(c, err) < 0 || child_runtime_hooks(c, err) < 0)
		return -1;
	if (husk_rootfs_pivot(spec, c->rootfs, c->o->no_pivot, err) < 0)
		return -1;
	if (child_terminal(c, err) < 0 || child_make_cwd(spec->process, err) < 0)
		return -1;
	/* sysctl before finalize: readonlyPaths usually include /proc/sys. */
	if (spec->linux_ && spec->linux_->sysctl_len > 0) {
		proc_fd = husk_proc_fd_verified(err);
		if (proc_fd < 0 || husk_ns_apply_sysctl(spec, proc_fd, err) < 0)
			return -1;
	}
	if (husk_rootfs_finalize(spec, err) < 0)
		return -1;
	if (child_process_early(c, err) < 0 || child_cwd(spec->process, err) < 0)
		return -1;
	if (husk_exec_lookup_check(spec->process, err) < 0)
		return -1;
	/* Without no_new_privs only CAP_SYS_ADMIN allows a filter: load it while we have it. */
	if (!spec->process->no_new_privileges && child_load_seccomp(c, err) < 0)
		return -1;
	if (husk_process_set_identity(spec->process, err) < 0)
		return -1;
	/* With it, the filter comes last before the exec barrier, as close to execve as we can
	 * while the sync socket still carries the notify fd and errors back to `create`. */
	if (spec->process->no_new_privileges &&
	    (husk_process_no_new_privs(err) < 0 || child_load_seccomp(c, err) < 0))
		return -1;
	return 0;
}

static int child_after_start(child_ctx_t *c, husk_error_t *err)
{
	const husk_spec_t *spec = c->spec;

	if (child_wait_for_start(c, err) < 0)
		return -1;
	if (spec->hooks && spec->hooks->start_container.len > 0) {
		cleanup_free char *state =
			husk_hook_state_json(spec, c->o->id, c->bundle, getpid(), "created");
		if (husk_hooks_run(&spec->hooks->start_container, "startContainer", state, err) < 0)
			return -1;
	}
	husk_close_fds_from(3 + c->kept_fds);
	return husk_process_exec(spec->process, err);
}

static __attribute__((noreturn)) void child_main(child_ctx_t *c)
{
	husk_error_t err = {0};

	/* Die with a `create` that dies before READY; nothing would clean up after us. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (child_setup(c, &err) < 0) {
		husk_sync_send_error(c->sync_fd, &err);
		_exit(1);
	}
	/* The identity change cleared the death signal; a foreground run wants it back. */
	prctl(PR_SET_PDEATHSIG, c->o->keep_child ? SIGKILL : 0);
	if (husk_sync_send(c->sync_fd, HUSK_SYNC_READY, 0, -1, &err) < 0)
		_exit(1);
	husk_closep(&c->sync_fd);
	child_after_start(c, &err);
	/* After start the sync socket is gone: `start` reads the error from exec.done, and
	 * stderr (the container's) gets it too. */
	dprintf(c->barrier.done_fd, "%s\n", husk_error_msg(&err));
	dprintf(2, "husk: %s\n", husk_error_msg(&err));
	_exit(127);
}

/* ------------------------------------------------------------------ runtime side */

int husk_bundle_rootfs(const husk_spec_t *spec, const char *bundle, char **out,
		       husk_error_t *err)
{
	cleanup_free char *joined = NULL;
	char real[PATH_MAX];
	struct stat st;

	if (spec->root == NULL || spec->root->path == NULL)
		return husk_error_set(err, 0, "config.json: root.path: required property missing");
	if (spec->root->path[0] == '/')
		joined = xstrdup(spec->root->path);
	else if (asprintf(&joined, "%s/%s", bundle, spec->root->path) < 0)
		abort();
	if (realpath(joined, real) == NULL)
		return husk_error_errno(err, "root.path: \"%s\"", joined);
	if (stat(real, &st) < 0 || !S_ISDIR(st.st_mode))
		return husk_error_set(err, ENOTDIR, "root.path: \"%s\"", joined);
	*out = xstrdup(real);
	return 0;
}

static bool host_has_lsm(const char *probe_path, char yes)
{
	cleanup_free char *text = NULL;

	if (husk_read_file_at(AT_FDCWD, probe_path, &text, NULL, NULL) < 0)
		return false;
	return yes == 0 || text[0] == yes;
}

/* runtime.md: a runtime unable to create the environment the config asks for MUST error.
 * Fields husk does not implement are refused rather than ignored; LSM labels are only
 * meaningless (and ignored, as runc does) on a host without that LSM. */
static int validate_unsupported(const husk_spec_t *spec, husk_error_t *err)
{
	const husk_linux_t *l = spec->linux_;
	const husk_process_t *p = spec->process;

	if (l && l->intel_rdt)
		return husk_error_set(err, 0, "linux.intelRdt: not supported by husk");
	if (l && l->net_devices_len > 0)
		return husk_error_set(err, 0, "linux.netDevices: not supported by husk");
	if (p->apparmor_profile && *p->apparmor_profile &&
	    host_has_lsm("/sys/module/apparmor/parameters/enabled", 'Y'))
		return husk_error_set(err, 0, "process.apparmorProfile: AppArmor is not "
						    "supported by husk");
	if (((p->selinux_label && *p->selinux_label) || (l && l->mount_label && *l->mount_label)) &&
	    host_has_lsm("/sys/fs/selinux/enforce", 0))
		return husk_error_set(err, 0, "process.selinuxLabel: SELinux is not "
						    "supported by husk");
	return 0;
}

/* A NOTIFY rule needs somebody listening on the host: check before anything exists. */
static int validate_seccomp_listener(const husk_seccomp_t *s, husk_error_t *err)
{
	bool notify = false;
	struct stat st;

	for (size_t i = 0; i < s->syscalls_len; i++)
		if (s->syscalls[i].action && strcmp(s->syscalls[i].action, "SCMP_ACT_NOTIFY") == 0)
			notify = true;
	if (!notify)
		return 0;
	if (s->listener_path == NULL)
		return husk_error_set(err, 0, "linux.seccomp.listenerPath: required with "
					      "SCMP_ACT_NOTIFY");
	if (stat(s->listener_path, &st) < 0)
		return husk_error_errno(err, "linux.seccomp.listenerPath: \"%s\"", s->listener_path);
	if (!S_ISSOCK(st.st_mode))
		return husk_error_set(err, ENOTSOCK, "linux.seccomp.listenerPath: \"%s\"",
				      s->listener_path);
	return 0;
}

static int validate_config(const husk_spec_t *spec, const husk_create_opts_t *o,
			   husk_error_t *err)
{
	if (spec->process == NULL)
		return husk_error_set(err, 0, "config.json: process: required to create a container");
	if (spec->process->args_len == 0)
		return husk_error_set(err, 0, "config.json: process.args: must not be empty");
	if (spec->process->terminal && o->console_socket == NULL && !o->keep_child)
		return husk_error_set(err, 0, "process.terminal is true: --console-socket is "
					      "required for a detached container");
	if (!spec->process->terminal && o->console_socket != NULL)
		return husk_error_set(err, 0, "--console-socket given but process.terminal is "
					      "false");
	if (husk_ns_validate(spec, err) < 0 || husk_hooks_validate(spec->hooks, err) < 0)
		return -1;
	if (husk_process_validate(spec->process, err) < 0 || validate_unsupported(spec, err) < 0)
		return -1;
	if (spec->linux_ && husk_mempolicy_validate(spec->linux_->memory_policy, err) < 0)
		return -1;
	if (spec->linux_ && spec->linux_->seccomp &&
	    (husk_seccomp_validate(spec->linux_->seccomp, err) < 0 ||
	     validate_seccomp_listener(spec->linux_->seccomp, err) < 0))
		return -1;
	if (spec->linux_)
		husk_seccomp_debug_unknown(spec->linux_->seccomp);
	return 0;
}

static int parent_prepare_namespaces(const husk_spec_t *spec, husk_error_t *err)
{
	const husk_namespace_t *pid = husk_spec_namespace(spec, "pid");
	const husk_namespace_t *time = husk_spec_namespace(spec, "time");

	/* pid and time namespaces apply to children only: set them up here, before clone. */
	if (pid && pid->path && husk_ns_join_path(pid->path, CLONE_NEWPID, err) < 0)
		return husk_error_wrap(err, "linux.namespaces: pid");
	if (time && time->path && husk_ns_join_path(time->path, CLONE_NEWTIME, err) < 0)
		return husk_error_wrap(err, "linux.namespaces: time");
	if (time && time->path == NULL) {
		if (unshare(CLONE_NEWTIME) < 0)
			return husk_error_errno(err, "linux.namespaces: unshare time namespace");
		if (husk_ns_write_time_offsets(spec, err) < 0)
			return -1;
	}
	return 0;
}

static int parent_handle_pty(create_ctx_t *c, const husk_create_opts_t *o, int master,
			     husk_error_t *err)
{
	if (o->console_socket) {
		int r = husk_console_socket_send(o->console_socket, master, err);
		close(master);
		return r;
	}
	c->pty_master = master;
	return 0;
}

static int parent_runtime_hooks(create_ctx_t *c, const husk_spec_t *spec,
				const husk_create_opts_t *o, const char *bundle, pid_t pid,
				husk_error_t *err)
{
	cleanup_free char *state = NULL;

	if (spec->hooks == NULL)
		return 0;
	c->hooks_started = true;
	state = husk_hook_state_json(spec, o->id, bundle, pid, "creating");
	if (husk_hooks_run(&spec->hooks->prestart, "prestart", state, err) < 0)
		return -1;
	return husk_hooks_run(&spec->hooks->create_runtime, "createRuntime", state, err);
}

/* The container process died without a word: say how, and whether the memory limit did it. */
static int explain_child_death(create_ctx_t *c, husk_error_t *err)
{
	husk_cgroup_stats_t stats;
	int status = 0;
	pid_t r;

	do
		r = waitpid(c->child, &status, 0);
	while (r < 0 && errno == EINTR);
	if (r != c->child)
		return -1;
	c->child = 0;
	if (WIFSIGNALED(status))
		husk_error_append(err, "killed by signal %d", WTERMSIG(status));
	else if (WIFEXITED(status))
		husk_error_append(err, "exit status %d", WEXITSTATUS(status));
	if (c->cg_made && husk_cgroup_stats(&c->cg, &stats, NULL) == 0 && stats.memory_oom_kill > 0)
		husk_error_append(err, "out of memory: linux.resources.memory.limit is too low to start "
				     "the container");
	return -1;
}

/* A send to the container process failed. When the peer is gone it died, most likely after
 * saying why: that is the error to report. */
static int child_gone(create_ctx_t *c, husk_error_t *err)
{
	husk_sync_msg_t m;

	if (err->errnum != EPIPE && err->errnum != ECONNRESET)
		return -1;
	husk_error_clear(err);
	if (husk_sync_recv(c->sync_fd, &m, NULL, err) < 0)
		return err->errnum == 0 ? explain_child_death(c, err) : -1;
	if (m.type == HUSK_SYNC_ERROR)
		return husk_sync_error_of(&m, err);
	return husk_error_set(err, 0, "sync: unexpected message %d", (int)m.type);
}

/* The parent's step failed while the child worked on: if the child failed first (its death
 * can be what failed us), its error says more. */
static int child_error_first(create_ctx_t *c, husk_error_t *err)
{
	struct pollfd p = {.fd = c->sync_fd, .events = POLLIN};
	cleanup_error husk_error_t ignored = {0};
	husk_sync_msg_t m;

	if (poll(&p, 1, 0) != 1 || !(p.revents & POLLIN))
		return -1;
	if (husk_sync_recv(c->sync_fd, &m, NULL, &ignored) == 0 && m.type == HUSK_SYNC_ERROR) {
		husk_error_clear(err);
		husk_sync_error_of(&m, err);
	}
	return -1;
}

static int parent_sync_loop(create_ctx_t *c, const husk_spec_t *spec, const husk_create_opts_t *o,
			    const char *bundle, husk_error_t *err)
{
	for (;;) {
		husk_sync_msg_t m;
		int fd = -1;

		if (husk_sync_recv(c->sync_fd, &m, &fd, err) < 0)
			return explain_child_death(c, err);
		switch (m.type) {
		case HUSK_SYNC_ERROR:
			return husk_sync_error_of(&m, err);
		case HUSK_SYNC_RUN_RUNTIME_HOOKS:
			if (parent_runtime_hooks(c, spec, o, bundle, c->child, err) < 0)
				return -1;
			if (husk_sync_send(c->sync_fd, HUSK_SYNC_HOOKS_DONE, c->child, -1, err) < 0)
				return child_gone(c, err);
			break;
		case HUSK_SYNC_SECCOMP_FD: {
			cleanup_close int nfd = fd;
			if (nfd < 0)
				return husk_error_set(err, 0, "seccomp: no notify fd received");
			if (husk_seccomp_send_listener(spec, o->id, bundle, c->child, nfd, err) < 0)
				return -1;
			if (husk_sync_send(c->sync_fd, HUSK_SYNC_SECCOMP_DONE, 0, -1, err) < 0)
				return child_gone(c, err);
			break;
		}
		case HUSK_SYNC_PTY_MASTER:
			if (fd < 0)
				return husk_error_set(err, 0, "terminal: no pty received");
			if (parent_handle_pty(c, o, fd, err) < 0)
				return -1;
			break;
		case HUSK_SYNC_READY:
			return 0;
		default:
			if (fd >= 0)
				close(fd);
			return husk_error_set(err, 0, "sync: unexpected message %d", (int)m.type);
		}
	}
}

/* With a user namespace the container process may not idmap a mount of a host filesystem:
 * the runtime makes those trees and hands them over before the maps are done (runc too). */
static int parent_idmapped_trees(create_ctx_t *c, const husk_spec_t *spec, const char *bundle,
				 husk_error_t *err)
{
	const husk_namespace_t *user = husk_spec_namespace(spec, "user");
	char own[64];
	int *trees = NULL;
	size_t n = 0;
	int r = 0;

	if (user == NULL)
		return 0;
	snprintf(own, sizeof own, "/proc/%d/ns/user", (int)c->child);
	if (husk_rootfs_idmapped_trees(spec, bundle, user->path ? user->path : own, &trees, &n,
				       err) < 0)
		return -1;
	for (size_t i = 0; r == 0 && n > 0 && i < spec->mounts_len; i++)
		if (trees[i] >= 0 &&
		    husk_sync_send(c->sync_fd, HUSK_SYNC_IDMAP_TREE, (int64_t)i, trees[i], err) < 0)
			r = child_gone(c, err);
	husk_rootfs_trees_close(trees, spec->mounts_len);
	return r;
}

/* While the child makes its namespaces and first mounts: the rest of the cgroup (the v1
 * hierarchies; systemd's unit), then the child gets the `tasks` fds to join it. */
static int parent_cgroup(create_ctx_t *c, const husk_spec_t *spec, husk_cgroup_join_t *join,
			 bool into_cgroup, husk_error_t *err)
{
	const husk_resources_t *res = spec->linux_ ? spec->linux_->resources : NULL;

	if (husk_cgroup_create_late(&c->cg, res, err) < 0 ||
	    husk_cgroup_join_open_v1(&c->cg, join, err) < 0 ||
	    husk_cgroup_join_finish(&c->cg, join, c->child, into_cgroup, err) < 0)
		return child_error_first(c, err);
	if (husk_cgroup_join_send(c->sync_fd, join, err) < 0)
		return child_gone(c, err);
	return 0;
}

/*
 * The namespaces but the cgroup one are made while the process is still in the runtime's
 * memory cgroup, so that their memory is not charged to the container (as with crun). On
 * cgroup v1 and hybrid hosts only the pid namespace (and a new user namespace, which owns it
 * and whose maps the parent writes) come with the clone: the child makes the others itself
 * while the parent makes the v1 hierarchies. On cgroup v2 the process is born in its cgroup
 * (CLONE_INTO_CGROUP: moving it would wait for an RCU grace period), with nothing left to
 * overlap: the namespaces come with the clone. With a user namespace joined by path, the
 * child joins it before anything else and makes the others after.
 */
static int clone_namespaces(const husk_cgroup_t *cg, const husk_spec_t *spec, int new_flags)
{
	const husk_namespace_t *user = husk_spec_namespace(spec, "user");
	int at_clone = CLONE_NEWUSER | CLONE_NEWPID;

	if (cg->mode == HUSK_CGROUP_MODE_UNIFIED && cg->sd == NULL)
		at_clone |= CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNS;
	if (user && user->path)
		at_clone = CLONE_NEWPID;
	return new_flags & at_clone;
}

static int parent_spawn(create_ctx_t *c, const husk_spec_t *spec, const husk_create_opts_t *o,
			const char *bundle, const char *rootfs, const husk_exec_barrier_t *barrier,
			husk_error_t *err)
{
	int fds[2];
	int new_flags = husk_ns_new_flags(spec);
	const husk_namespace_t *user = husk_spec_namespace(spec, "user");
	int clone_flags = clone_namespaces(&c->cg, spec, new_flags);
	cleanup_cgroup_join husk_cgroup_join_t join = HUSK_CGROUP_JOIN_INIT;
	bool into_cgroup = false;
	pid_t pid;

	if (husk_cgroup_join_open_v2(&c->cg, &join, err) < 0)
		return -1;
	if (husk_sync_pair(fds, err) < 0)
		return -1;
	pid = husk_clone(clone_flags, join.v2_dir, &into_cgroup, err);
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		child_ctx_t cc = {.spec = spec, .o = o, .rootfs = rootfs, .bundle = bundle,
				  .sync_fd = fds[1], .barrier = *barrier,
				  .new_flags = new_flags & ~clone_flags,
				  .kept_fds = c->kept_fds, .cgroupns_fd = -1};
		close(fds[0]);
		/* Our copy of the locked state dir would keep `start` waiting on the lock. */
		husk_closep(&c->dirfd);
		husk_closep(&c->rootfd);
		husk_cgroup_join_close(&join);
		if (user && user->path) {
			husk_error_t e = {0};
			if (husk_ns_join_path(user->path, CLONE_NEWUSER, &e) < 0) {
				husk_sync_send_error(cc.sync_fd, &e);
				_exit(1);
			}
		}
		child_main(&cc);
	}
	close(fds[1]);
	c->child = pid;
	c->sync_fd = fds[0];
	husk_debug("container process %d cloned (flags 0x%x%s)", (int)pid, (unsigned)clone_flags,
		   into_cgroup ? ", into its cgroup" : "");
	if ((clone_flags & CLONE_NEWUSER) && husk_ns_write_id_maps(pid, spec, err) < 0)
		return -1;
	if (parent_idmapped_trees(c, spec, bundle, err) < 0)
		return -1;
	if (husk_sync_send(c->sync_fd, HUSK_SYNC_MAPS_DONE, 0, -1, err) < 0)
		return child_gone(c, err);
	return parent_cgroup(c, spec, &join, into_cgroup, err);
}

int husk_bundle_load_config(const char *bundle_arg, char **bundle, char **text, size_t *len,
			     husk_spec_t **spec, husk_error_t *err)
{
	char real[PATH_MAX];
	cleanup_close int bfd = -1;
	const char *b = bundle_arg ? bundle_arg : ".";

	if (realpath(b, real) == NULL)
		return husk_error_errno(err, "bundle \"%s\"", b);
	bfd = open(real, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (bfd < 0)
		return husk_error_errno(err, "bundle \"%s\"", b);
	if (husk_read_file_at(bfd, "config.json", text, len, err) < 0)
		return husk_error_set(err, err->errnum, "bundle \"%s\": config.json", b);
	if (husk_spec_parse(*text, *len, "config.json", spec, err) < 0)
		return -1;
	*bundle = xstrdup(real);
	return 0;
}

static int record_created(create_ctx_t *c, husk_state_t *st, const husk_create_opts_t *o,
			  husk_error_t *err)
{
	/* From here the container owns its cgroup: no failure removes the parents made. */
	husk_cgroup_create_commit(&c->cg);
	st->created = true;
	st->pid = c->child;
	st->pid_start = husk_pid_start_time(c->child);
	st->creator_pid = 0;
	st->creator_start = 0;
	st->detached_init = !o->keep_child;
	if (o->pid_file && husk_write_pid_file(o->pid_file, c->child, err) < 0)
		return -1;
	return husk_state_write(c->dirfd, st, err);
}

static int create_in(create_ctx_t *c, const husk_create_opts_t *o, husk_error_t *err)
{
	cleanup_free char *bundle = NULL, *text = NULL, *rootfs = NULL;
	cleanup_spec husk_spec_t *spec = NULL;
	cleanup_barrier husk_exec_barrier_t barrier = {-1, -1};
	cleanup_state husk_state_t st = {0};
	size_t len = 0;
	int r;

	if (husk_id_validate(o->id, err) < 0)
		return -1;
	if (husk_bundle_load_config(o->bundle, &bundle, &text, &len, &spec, err) < 0)
		return -1;
	if (spec->process) {
		c->kept_fds = husk_activation_listen_fds(spec->process) + o->preserve_fds;
		husk_activation_notify_socket(spec);
	}
	if (husk_bundle_rootfs(spec, bundle, &rootfs, err) < 0 || validate_config(spec, o, err) < 0)
		return -1;
	r = husk_state_dir_begin(o->root, o->id, text, len, &c->rootfd, &c->dirfd, err);
	c->dir_made = c->dirfd >= 0;
	if (r < 0)
		return -1;
	husk_state_init(&st, spec, o->id, bundle, rootfs);
	if (husk_cgroup_resolve(spec, o->id, o->systemd_cgroup, &c->cg, err) < 0)
		return -1;
	/* The cgroup is on record before it exists: if we are killed from here on,
	 * `delete` still finds everything to remove. */
	st.cgroup_path = xstrdup(c->cg.path);
	st.cgroup_systemd = c->cg.systemd;
	if (husk_state_write(c->dirfd, &st, err) < 0)
		return -1;
	if (husk_exec_barrier_make(c->dirfd, &barrier, err) < 0)
		return -1;
	c->cg.id = o->id;
	/* The v1 hierarchies follow in parent_spawn, while the container process sets up. */
	r = husk_cgroup_create_early(&c->cg, spec->linux_ ? spec->linux_->resources : NULL, err);
	if (c->cg.systemd_fallback) {
		husk_warn("systemd cgroup driver: %s: using cgroupfs", c->cg.systemd_fallback);
		/* On record as cgroupfs: a later delete or update must not stop or change a
		 * unit of that name that systemd may know by then (somebody else's). */
		st.cgroup_systemd = false;
	}
	if (r < 0)
		return -1;
	c->cg_made = true;
	husk_debug("create \"%s\": bundle %s, rootfs %s, cgroup %s", o->id, bundle, rootfs,
		   c->cg.path);
	if (parent_prepare_namespaces(spec, err) < 0 ||
	    parent_spawn(c, spec, o, bundle, rootfs, &barrier, err) < 0 ||
	    parent_sync_loop(c, spec, o, bundle, err) < 0) {
		if (c->hooks_started)
			destroy_after_hooks(c, spec, bundle);
		return -1;
	}
	return record_created(c, &st, o, err);
}

int husk_container_create_kept(const husk_create_opts_t *o, husk_created_t *out,
			       husk_error_t *err)
{
	create_ctx_t c = {.rootfd = -1, .dirfd = -1, .id = o->id, .sync_fd = -1,
			  .pty_master = -1};
	int r = create_in(&c, o, err);

	if (r < 0)
		create_ctx_undo(&c);
	else if (out) {
		out->pid = c.child;
		out->pty_master = steal_fd(&c.pty_master);
	}
	create_ctx_close(&c);
	return r;
}

int husk_container_create(const husk_create_opts_t *o, husk_created_t *out, husk_error_t *err)
{
	return husk_container_create_kept(o, out, err);
}
