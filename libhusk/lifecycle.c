/* husk: the operations on an existing container: start, kill, delete, state, list, ps. */
#include "config.h"
#include "container.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>

#include "cgroup.h"
#include "container-internal.h"
#include "hooks.h"
#include "id.h"
#include "utils.h"

static int signal_init(const husk_state_t *st, int sig, husk_error_t *err)
{
	int pidfd = husk_pidfd_open(st->pid);

	if (pidfd >= 0) {
		/* The pidfd pins the process: check it is still ours, then signal race-free. */
		int r = -1;
		if (!husk_pid_is(st->pid, st->pid_start))
			errno = ESRCH;
		else
			r = (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
		int e = errno;
		close(pidfd);
		if (r < 0)
			return husk_error_set(err, e, "kill container \"%s\"", st->id);
		return 0;
	}
	if (!husk_pid_is(st->pid, st->pid_start) || kill(st->pid, sig) < 0)
		return husk_error_errno(err, "kill container \"%s\"", st->id);
	return 0;
}

/* Release the barrier and run poststart, with the state dir locked. 1: the container must
 * be destroyed (the process failed before exec, or a poststart hook failed). */
static int start_locked(const char *root, const char *id, husk_error_t *err)
{
	cleanup_state husk_state_t st = {0};
	cleanup_close int dirfd = husk_state_open_locked(root, id, NULL, &st, err);
	cleanup_spec husk_spec_t *spec = NULL;
	husk_status_t status;
	bool process_failed;

	if (dirfd < 0)
		return -1;
	status = husk_state_status(dirfd, &st);
	if (status != HUSK_STATUS_CREATED)
		return husk_error_set(err, 0, "cannot start container \"%s\": status is %s, not "
					      "created", id, husk_status_name(status));
	if (husk_state_load_spec(dirfd, &spec, err) < 0)
		return -1;
	if (husk_exec_barrier_release(dirfd, id, &process_failed, err) < 0)
		return process_failed ? 1 : -1;
	if (spec->hooks && spec->hooks->poststart.len > 0) {
		cleanup_free char *state =
			husk_hook_state_json(spec, id, st.bundle, st.pid, "running");
		if (husk_hooks_run(&spec->hooks->poststart, "poststart", state, err) < 0)
			return 1;
	}
	return 0;
}

int husk_container_start(const char *root, const char *id, husk_error_t *err)
{
	cleanup_error husk_error_t del_err = {0};
	int r = start_locked(root, id, err);

	if (r <= 0)
		return r;
	/* runtime.md: a failing startContainer or poststart hook stops the container and the
	 * lifecycle goes on at step 12: destroy it, then the poststop hooks. */
	if (husk_container_delete(root, id, true, &del_err) < 0)
		husk_warn("%s", husk_error_msg(&del_err));
	return -1;
}

int husk_container_kill(const char *root, const char *id, int sig, bool all, husk_error_t *err)
{
	cleanup_state husk_state_t st = {0};
	cleanup_close int dirfd = husk_state_open_locked(root, id, NULL, &st, err);
	husk_status_t status;
	husk_cgroup_t cg;

	if (dirfd < 0)
		return -1;
	status = husk_state_status(dirfd, &st);
	/* runc: --all on a container that is gone is done already. */
	if (all && status == HUSK_STATUS_STOPPED)
		return 0;
	/* "container not running" is the wording containerd's shim matches to know the
	 * process is simply gone. */
	if (status != HUSK_STATUS_CREATED && status != HUSK_STATUS_RUNNING &&
	    status != HUSK_STATUS_PAUSED)
		return husk_error_set(err, 0, "cannot kill container \"%s\": container not running "
					      "(status is %s)", id, husk_status_name(status));
	if (all) {
		int r = husk_state_cgroup(&st, &cg, err);
		if (r < 0)
			return -1;
		if (r > 0)
			return husk_cgroup_kill_all(&cg, sig, err);
	}
	if (signal_init(&st, sig, err) < 0)
		return -1;
	/* A frozen task dies only once thawed (v1 freezer): let SIGKILL finish what it asked. */
	if (status == HUSK_STATUS_PAUSED && sig == SIGKILL && husk_state_cgroup(&st, &cg, NULL) > 0)
		husk_cgroup_freeze(&cg, false, NULL);
	return 0;
}

static bool cgroup_has_processes(const husk_cgroup_t *cg)
{
	cleanup_free pid_t *pids = NULL;
	size_t n = 0;

	return husk_cgroup_pids(cg, &pids, &n, NULL) < 0 || n > 0;
}

static void wait_until_gone(const husk_state_t *st)
{
	int pidfd = husk_pidfd_open(st->pid);

	/* 5 s at most: a process stuck in D state must not hang delete forever. */
	if (pidfd >= 0) {
		struct pollfd p = {.fd = pidfd, .events = POLLIN};
		if (husk_pid_is(st->pid, st->pid_start))
			poll(&p, 1, 5000);
		close(pidfd);
		return;
	}
	for (int i = 0; i < 5000 && husk_pid_is(st->pid, st->pid_start); i++) {
		struct timespec ts = {0, 1000 * 1000};
		nanosleep(&ts, NULL);
	}
}

static int kill_everything(const husk_state_t *st, husk_error_t *err)
{
	husk_cgroup_t cg;
	int r = husk_state_cgroup(st, &cg, err);

	if (r < 0)
		return -1;
	if (r > 0 && husk_cgroup_kill_all(&cg, SIGKILL, err) < 0)
		return -1;
	if (husk_pid_is(st->pid, st->pid_start))
		kill(st->pid, SIGKILL);
	wait_until_gone(st);
	return 0;
}

static void run_poststop(int dirfd, const husk_state_t *st)
{
	cleanup_spec husk_spec_t *spec = NULL;
	cleanup_error husk_error_t e = {0};
	cleanup_free char *state = NULL;

	if (husk_state_load_spec(dirfd, &spec, &e) < 0) {
		husk_warn("poststop hooks not run: %s", husk_error_msg(&e));
		return;
	}
	if (spec->hooks == NULL || spec->hooks->poststop.len == 0)
		return;
	state = husk_hook_state_json(spec, st->id, st->bundle, 0, "stopped");
	/* runtime.md: a failing poststop hook is a warning; the others and delete go on. */
	husk_hooks_run_all(&spec->hooks->poststop, "poststop", state, husk_warn_msg);
}

/* delete --force of a container that does not exist (or whose state is unreadable, as a
 * create killed before its first write leaves it) succeeds, as with runc: engines end every
 * container with it. Whatever directory is there goes. */
static int delete_missing(const char *root, const char *id, husk_error_t *err)
{
	cleanup_close int rootfd = husk_root_open(root, false, NULL);

	if (husk_id_validate(id, err) < 0)
		return -1;
	if (rootfd < 0)
		return 0;
	return husk_state_dir_remove(rootfd, id, err);
}

int husk_container_delete(const char *root, const char *id, bool force, husk_error_t *err)
{
	cleanup_state husk_state_t st = {0};
	cleanup_close int rootfd = -1;
	cleanup_close int dirfd = husk_state_open_locked(root, id, &rootfd, &st, err);
	husk_status_t status;
	husk_cgroup_t cg;
	int r;

	if (dirfd < 0 && force) {
		husk_error_clear(err);
		return delete_missing(root, id, err);
	}
	if (dirfd < 0)
		return -1;
	status = husk_state_status(dirfd, &st);
	/* runtime.md: deleting a container that is not stopped MUST fail (runc and crun do
	 * delete a created one; husk asks for --force, which engines pass). */
	if ((status == HUSK_STATUS_RUNNING || status == HUSK_STATUS_PAUSED ||
	     status == HUSK_STATUS_CREATED) && !force)
		return husk_error_set(err, 0, "cannot delete container \"%s\" that is not stopped: "
					      "status is %s (use --force)",
				      id, husk_status_name(status));
	if (status == HUSK_STATUS_CREATING && !force)
		return husk_error_set(err, 0, "cannot delete container \"%s\": it is being created",
				      id);
	if (status != HUSK_STATUS_STOPPED && kill_everything(&st, err) < 0)
		return -1;
	r = husk_state_cgroup(&st, &cg, err);
	if (r < 0)
		return -1;
	if (r > 0) {
		/* Processes left by exec or by a killed create die with the container. */
		if (cgroup_has_processes(&cg))
			husk_cgroup_kill_all(&cg, SIGKILL, NULL);
		if (husk_cgroup_destroy(&cg, err) < 0)
			return husk_error_wrap(err, "delete container \"%s\"", id);
	}
	if (st.created)
		run_poststop(dirfd, &st);
	return husk_state_dir_remove(rootfd, id, err);
}

int husk_container_state(const char *root, const char *id, char **json, husk_error_t *err)
{
	cleanup_state husk_state_t st = {0};
	cleanup_close int dirfd = husk_state_open_locked(root, id, NULL, &st, err);

	if (dirfd < 0)
		return -1;
	*json = husk_state_oci_json(&st, husk_state_status(dirfd, &st), true);
	return 0;
}

int husk_container_list(const char *root, husk_list_entry_t **entries, size_t *n,
			husk_error_t *err)
{
	cleanup_close int rootfd = husk_root_open(root, false, NULL);
	cleanup_strv char **ids = NULL;
	husk_list_entry_t *out;
	size_t count = 0;

	*entries = NULL;
	*n = 0;
	if (rootfd < 0)
		return errno == ENOENT ? 0 : husk_error_errno(err, "open state root `%s`", root);
	if (husk_state_list_ids(rootfd, &ids, err) < 0)
		return -1;
	out = xmalloc0(sizeof(husk_list_entry_t) * (strv_len(ids) + 1));
	for (size_t i = 0; ids[i]; i++) {
		cleanup_close int dirfd = husk_state_dir_open(rootfd, ids[i], NULL);
		/* A dir without a readable state is skipped, as runc skips it. */
		if (dirfd < 0 || husk_state_read(dirfd, ids[i], &out[count].state, NULL) < 0)
			continue;
		out[count].status = husk_state_status(dirfd, &out[count].state);
		count++;
	}
	*entries = out;
	*n = count;
	return 0;
}

void husk_list_free(husk_list_entry_t *entries, size_t n)
{
	for (size_t i = 0; i < n; i++)
		husk_state_clear(&entries[i].state);
	free(entries);
}

int husk_container_ps(const char *root, const char *id, pid_t **pids, size_t *n,
		      husk_error_t *err)
{
	cleanup_state husk_state_t st = {0};
	cleanup_close int dirfd = husk_state_open_locked(root, id, NULL, &st, err);
	husk_status_t status;
	husk_cgroup_t cg;
	int r;

	if (dirfd < 0)
		return -1;
	status = husk_state_status(dirfd, &st);
	if (status == HUSK_STATUS_STOPPED) {
		*pids = NULL;
		*n = 0;
		return 0;
	}
	r = husk_state_cgroup(&st, &cg, err);
	if (r < 0)
		return -1;
	if (r > 0)
		return husk_cgroup_pids(&cg, pids, n, err);
	*pids = xmalloc0(sizeof(pid_t));
	(*pids)[0] = st.pid;
	*n = 1;
	return 0;
}
