/* husk: `checkpoint` and `restore` — criu through libcriu, loaded with dlopen() so that
 * only these two commands pay for it (and a husk without criu installed still runs). */
#include "config.h"
#include "checkpoint.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "cgroup.h"
#include "container-internal.h"
#include "container.h"
#include "hooks.h"
#include "id.h"
#include "json-gen.h"
#include "spec.h"
#include "status.h"
#include "utils.h"

#define CRIU_LIBRARY "libcriu.so.2"
#define DESCRIPTORS_FILE "descriptors.json"
/* What else restore must know about the dump: {"shellJob": BOOL}. */
#define HUSK_CHECKPOINT_FILE "husk-checkpoint.json"
#define DUMP_LOG "dump.log"
#define RESTORE_LOG "restore.log"
/* The rootfs bound onto itself for criu's --root (criu wants a mount point), in the state dir. */
#define CRIU_ROOT "criu-root"
/* The marker criu's inventory image: its absence means "no checkpoint here". */
#define CRIU_INVENTORY "inventory.img"
#define EXT_NETNS_KEY "extRootNetNS"

int husk_criu_cgroups_mode_parse(const char *s, husk_criu_cgroups_mode_t *mode, husk_error_t *err)
{
	static const char *const names[] = {"soft", "full", "strict", "ignore"};

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		if (strcmp(s, names[i]) == 0) {
			*mode = (husk_criu_cgroups_mode_t)i;
			return 0;
		}
	}
	return husk_error_set(err, 0,
			      "--manage-cgroups-mode: unknown mode \"%s\" (soft, full, "
			      "strict or ignore)",
			      s);
}

#ifdef HAVE_CRIU

/*
 * The part of libcriu's ABI husk uses. criu.h is not included: it pulls in protobuf-c's
 * headers, which the criu package does not depend on, and dlsym() needs only the names.
 * The signatures and the enum values are those of criu.h (stable since criu 3.x).
 */
enum {
	CRIU_CG_MODE_IGNORE = 0,
	CRIU_CG_MODE_SOFT = 3,
	CRIU_CG_MODE_FULL = 4,
	CRIU_CG_MODE_STRICT = 5
};
enum { CRIU_LOG_DEBUG = 4 };

typedef struct criu_opts criu_opts;

typedef struct {
	void *handle;
	int (*init_opts)(criu_opts **);
	void (*free_opts)(criu_opts *);
	void (*set_pid)(criu_opts *, int);
	void (*set_images_dir_fd)(criu_opts *, int);
	void (*set_work_dir_fd)(criu_opts *, int);
	int (*set_log_file)(criu_opts *, const char *);
	void (*set_log_level)(criu_opts *, int);
	int (*set_root)(criu_opts *, const char *);
	void (*set_leave_running)(criu_opts *, bool);
	void (*set_tcp_established)(criu_opts *, bool);
	void (*set_ext_unix_sk)(criu_opts *, bool);
	void (*set_shell_job)(criu_opts *, bool);
	void (*set_file_locks)(criu_opts *, bool);
	void (*set_manage_cgroups)(criu_opts *, bool);
	void (*set_manage_cgroups_mode)(criu_opts *, int);
	int (*set_freeze_cgroup)(criu_opts *, const char *);
	int (*add_ext_mount)(criu_opts *, const char *, const char *);
	int (*add_cg_root)(criu_opts *, const char *, const char *);
	int (*add_inherit_fd)(criu_opts *, int, const char *);
	int (*add_external)(criu_opts *, const char *);
	void (*set_notify_cb)(criu_opts *, int (*)(char *, void *));
	int (*notify_pid)(void *);
	int (*dump)(criu_opts *);
	int (*restore_child)(criu_opts *);
} criu_api_t;

#define CRIU_SYM(field, name)                                                                      \
	{                                                                                          \
		offsetof(criu_api_t, field), name                                                  \
	}

static const struct {
	size_t offset;
	const char *name;
} criu_symbols[] = {
    CRIU_SYM(init_opts, "criu_local_init_opts"),
    CRIU_SYM(free_opts, "criu_local_free_opts"),
    CRIU_SYM(set_pid, "criu_local_set_pid"),
    CRIU_SYM(set_images_dir_fd, "criu_local_set_images_dir_fd"),
    CRIU_SYM(set_work_dir_fd, "criu_local_set_work_dir_fd"),
    CRIU_SYM(set_log_file, "criu_local_set_log_file"),
    CRIU_SYM(set_log_level, "criu_local_set_log_level"),
    CRIU_SYM(set_root, "criu_local_set_root"),
    CRIU_SYM(set_leave_running, "criu_local_set_leave_running"),
    CRIU_SYM(set_tcp_established, "criu_local_set_tcp_established"),
    CRIU_SYM(set_ext_unix_sk, "criu_local_set_ext_unix_sk"),
    CRIU_SYM(set_shell_job, "criu_local_set_shell_job"),
    CRIU_SYM(set_file_locks, "criu_local_set_file_locks"),
    CRIU_SYM(set_manage_cgroups, "criu_local_set_manage_cgroups"),
    CRIU_SYM(set_manage_cgroups_mode, "criu_local_set_manage_cgroups_mode"),
    CRIU_SYM(set_freeze_cgroup, "criu_local_set_freeze_cgroup"),
    CRIU_SYM(add_ext_mount, "criu_local_add_ext_mount"),
    CRIU_SYM(add_cg_root, "criu_local_add_cg_root"),
    CRIU_SYM(add_inherit_fd, "criu_local_add_inherit_fd"),
    CRIU_SYM(add_external, "criu_local_add_external"),
    CRIU_SYM(set_notify_cb, "criu_local_set_notify_cb"),
    CRIU_SYM(notify_pid, "criu_notify_pid"),
    CRIU_SYM(dump, "criu_local_dump"),
    CRIU_SYM(restore_child, "criu_local_restore_child"),
};

static int criu_load(criu_api_t *api, const char *what, husk_error_t *err)
{
	memset(api, 0, sizeof *api);
	api->handle = dlopen(CRIU_LIBRARY, RTLD_NOW | RTLD_LOCAL);
	if (api->handle == NULL)
		return husk_error_set(err, 0, "%s: %s not found: install criu", what, CRIU_LIBRARY);
	for (size_t i = 0; i < sizeof criu_symbols / sizeof criu_symbols[0]; i++) {
		void *sym = dlsym(api->handle, criu_symbols[i].name);
		if (sym == NULL) {
			husk_error_set(err, 0, "%s: %s has no %s (criu too old?)", what,
				       CRIU_LIBRARY, criu_symbols[i].name);
			dlclose(api->handle);
			api->handle = NULL;
			return -1;
		}
		memcpy((char *)api + criu_symbols[i].offset, &sym, sizeof sym);
	}
	return 0;
}

/* A loaded library with one set of options; both released together. */
typedef struct {
	criu_api_t api;
	criu_opts *opts;
} criu_t;

static void criu_close(criu_t *c)
{
	if (c->opts)
		c->api.free_opts(c->opts);
	c->opts = NULL;
	if (c->api.handle)
		dlclose(c->api.handle);
	c->api.handle = NULL;
}

#define cleanup_criu __attribute__((cleanup(criu_close)))

static int criu_open(criu_t *c, const char *what, husk_error_t *err)
{
	if (criu_load(&c->api, what, err) < 0)
		return -1;
	if (c->api.init_opts(&c->opts) < 0 || c->opts == NULL)
		return husk_error_set(err, ENOMEM, "%s: criu options", what);
	return 0;
}

/* ------------------------------------------------------------------ shared set-up */

/* mkdir -p + open, for --image-path and --work-path. */
static int open_dir_made(const char *path, const char *option, husk_error_t *err)
{
	int fd;

	if (husk_mkdir_p(path, 0700, err) < 0)
		return husk_error_wrap(err, "%s", option);
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return husk_error_errno(err, "%s: open \"%s\"", option, path);
	return fd;
}

static const char *image_path_of(const husk_criu_opts_t *o)
{
	return o->image_path ? o->image_path : "checkpoint";
}

static const char *work_path_of(const husk_criu_opts_t *o)
{
	return o->work_path ? o->work_path : image_path_of(o);
}

static int criu_cgroups_mode(husk_criu_cgroups_mode_t m)
{
	switch (m) {
	case HUSK_CRIU_CGROUPS_FULL:
		return CRIU_CG_MODE_FULL;
	case HUSK_CRIU_CGROUPS_STRICT:
		return CRIU_CG_MODE_STRICT;
	case HUSK_CRIU_CGROUPS_IGNORE:
		return CRIU_CG_MODE_IGNORE;
	default:
		return CRIU_CG_MODE_SOFT;
	}
}

/* The options every dump and restore shares: directories, log, flags, cgroup mode. */
static void criu_set_common(criu_t *c, const husk_criu_opts_t *o, int images_fd, int work_fd,
			    const char *log)
{
	c->api.set_images_dir_fd(c->opts, images_fd);
	c->api.set_work_dir_fd(c->opts, work_fd);
	c->api.set_log_file(c->opts, log);
	c->api.set_log_level(c->opts, CRIU_LOG_DEBUG);
	c->api.set_tcp_established(c->opts, o->tcp_established);
	c->api.set_ext_unix_sk(c->opts, o->ext_unix_sk);
	c->api.set_shell_job(c->opts, o->shell_job);
	c->api.set_file_locks(c->opts, o->file_locks);
	c->api.set_manage_cgroups(c->opts, true);
	c->api.set_manage_cgroups_mode(c->opts, criu_cgroups_mode(o->cgroups_mode));
}

static bool mount_is_bind(const husk_mount_t *m)
{
	if (m->type && strcmp(m->type, "bind") == 0)
		return true;
	for (size_t i = 0; i < m->options_len; i++)
		if (strcmp(m->options[i], "bind") == 0 || strcmp(m->options[i], "rbind") == 0)
			return true;
	return false;
}

/* The host path of a bind mount's source: config.md makes a relative one relative to the
 * bundle. */
static char *bind_source(const husk_mount_t *m, const char *bundle)
{
	char *out = NULL;

	if (m->source == NULL || m->source[0] == '/')
		return xstrdup(m->source ? m->source : m->destination);
	if (asprintf(&out, "%s/%s", bundle, m->source) < 0)
		abort();
	return out;
}

static const char *const default_devices[] = {"/dev/null",   "/dev/zero",    "/dev/full",
					      "/dev/random", "/dev/urandom", "/dev/tty"};

/*
 * criu cannot dump or restore a mount whose source lies outside the container: each bind
 * mount of config.json is an "external mount", named by its destination. On dump the value
 * is the key again (only the name goes into the image); on restore it is the source in the
 * new bundle. Devices count too: in a user namespace they are bind mounts of the host's
 * nodes (an entry that matches no mount is unused).
 */
static int criu_add_external_mounts(criu_t *c, const husk_spec_t *spec, const char *bundle,
				    husk_error_t *err)
{
	const husk_linux_t *lx = spec->linux_;

	for (size_t i = 0; i < spec->mounts_len; i++) {
		const husk_mount_t *m = &spec->mounts[i];
		cleanup_free char *source = NULL;

		if (!mount_is_bind(m))
			continue;
		source = bundle ? bind_source(m, bundle) : xstrdup(m->destination);
		if (c->api.add_ext_mount(c->opts, m->destination, source) < 0)
			return husk_error_set(err, ENOMEM, "criu: external mount \"%s\"",
					      m->destination);
	}
	for (size_t i = 0; i < sizeof default_devices / sizeof default_devices[0]; i++)
		if (c->api.add_ext_mount(c->opts, default_devices[i], default_devices[i]) < 0)
			return husk_error_set(err, ENOMEM, "criu: external mount \"%s\"",
					      default_devices[i]);
	for (size_t i = 0; lx && i < lx->devices_len; i++)
		if (c->api.add_ext_mount(c->opts, lx->devices[i].path, lx->devices[i].path) < 0)
			return husk_error_set(err, ENOMEM, "criu: external mount \"%s\"",
					      lx->devices[i].path);
	return 0;
}

/* The first "Error" line of criu's log (the cause; the last one is "Dumping FAILED"), so
 * that the message says what went wrong. */
static char *criu_log_error(int work_fd, const char *log)
{
	cleanup_free char *text = NULL;
	char *line, *save = NULL;

	if (husk_read_file_at(work_fd, log, &text, NULL, NULL) < 0)
		return NULL;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *e = strstr(line, "Error (");
		if (e != NULL)
			return xstrdup(e);
	}
	return NULL;
}

static int criu_failed(int r, const char *what, const husk_criu_opts_t *o, int work_fd,
		       const char *log, husk_error_t *err)
{
	cleanup_free char *detail = criu_log_error(work_fd, log);
	char path[PATH_MAX];

	snprintf(path, sizeof path, "%s/%s", work_path_of(o), log);
	/* libcriu's negative returns are its own codes (-EBADE for "criu said no"), not a
	 * cause worth a strerror: the log has the cause. */
	(void)r;
	husk_error_set(err, 0, "%s: criu failed (log: %s)", what, path);
	if (detail)
		husk_error_append(err, "%s", detail);
	return -1;
}

/* ------------------------------------------------------------------ checkpoint */

static char *fd_target(pid_t pid, int fd)
{
	char link[64], target[PATH_MAX];
	ssize_t n;

	snprintf(link, sizeof link, "/proc/%d/fd/%d", (int)pid, fd);
	n = readlink(link, target, sizeof target - 1);
	if (n < 0)
		return xstrdup("");
	target[n] = '\0';
	return xstrdup(target);
}

/* descriptors.json: what the init's fds 0-2 were ("pipe:[N]", a path, ...), like runc's,
 * so that restore can hand criu its own stdio in place of the pipes. */
static int write_descriptors(int images_fd, pid_t pid, husk_error_t *err)
{
	cleanup_json_gen yajl_gen g = husk_json_new(false);
	cleanup_free char *json = NULL;
	size_t len = 0;

	yajl_gen_array_open(g);
	for (int fd = 0; fd < 3; fd++) {
		cleanup_free char *target = fd_target(pid, fd);
		husk_json_str(g, target);
	}
	yajl_gen_array_close(g);
	json = husk_json_finish(g, &len);
	if (husk_write_file_atomic(images_fd, DESCRIPTORS_FILE, json, len, err) < 0)
		return husk_error_wrap(err, "checkpoint: %s", DESCRIPTORS_FILE);
	return 0;
}

/* False when the init's session began outside the container (husk's init calls setsid;
 * one made by another tool, or by a husk before that, may not). criu then needs
 * --shell-job, on dump and again on restore (which puts the tree into the restoring
 * runtime's session). */
static bool init_leads_its_session(pid_t pid)
{
	cleanup_free char *stat = NULL;
	char path[64], *p;
	int ppid = 0, pgrp = 0, session = 0;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if (husk_read_file_at(AT_FDCWD, path, &stat, NULL, NULL) < 0)
		return true; /* criu will say what is wrong */
	p = strrchr(stat, ')');
	if (p == NULL || sscanf(p + 1, " %*c %d %d %d", &ppid, &pgrp, &session) != 3)
		return true;
	return session == pid;
}

static int write_checkpoint_info(int images_fd, bool shell_job, husk_error_t *err)
{
	cleanup_json_gen yajl_gen g = husk_json_new(false);
	cleanup_free char *json = NULL;
	size_t len = 0;

	yajl_gen_map_open(g);
	husk_json_key_bool(g, "shellJob", shell_job);
	yajl_gen_map_close(g);
	json = husk_json_finish(g, &len);
	if (husk_write_file_atomic(images_fd, HUSK_CHECKPOINT_FILE, json, len, err) < 0)
		return husk_error_wrap(err, "checkpoint: %s", HUSK_CHECKPOINT_FILE);
	return 0;
}

/* A network namespace joined by path is not the container's to dump: criu leaves it out
 * under a key, and restore joins the same one again (runc's extRootNetNS). */
static int criu_add_external_netns(criu_t *c, const husk_spec_t *spec, pid_t pid, husk_error_t *err)
{
	const husk_namespace_t *net = husk_spec_namespace(spec, "network");
	char path[64], key[128];
	struct stat sb;

	if (net == NULL || net->path == NULL)
		return 0;
	snprintf(path, sizeof path, "/proc/%d/ns/net", (int)pid);
	if (stat(path, &sb) < 0)
		return husk_error_errno(err, "checkpoint: stat \"%s\"", path);
	snprintf(key, sizeof key, "net[%llu]:%s", (unsigned long long)sb.st_ino, EXT_NETNS_KEY);
	if (c->api.add_external(c->opts, key) < 0)
		return husk_error_set(err, ENOMEM, "criu: external %s", key);
	return 0;
}

/* criu freezes the tree through the container's freezer (one write) rather than by
 * stopping each task with ptrace, and leaves a paused container paused. */
static int criu_set_freezer(criu_t *c, const husk_state_t *st, husk_error_t *err)
{
	husk_cgroup_t cg;
	cleanup_free char *dir = NULL;
	int has = husk_state_cgroup(st, &cg, err);

	if (has <= 0)
		return has;
	if (cg.systemd)
		return 0; /* systemd may own the freezer of its scope */
	/* Without a freezer hierarchy criu stops the tasks itself. */
	if ((dir = husk_cgroup_freezer_dir(&cg, err)) == NULL) {
		if (err->errnum != ENOENT)
			return -1;
		husk_error_clear(err);
		return 0;
	}
	if (c->api.set_freeze_cgroup(c->opts, dir) < 0)
		return husk_error_set(err, ENOMEM, "criu: freeze cgroup");
	return 0;
}

static int checkpoint_check_status(int dirfd, const husk_state_t *st, husk_error_t *err)
{
	husk_status_t status = husk_state_status(dirfd, st);

	if (status != HUSK_STATUS_RUNNING && status != HUSK_STATUS_PAUSED)
		return husk_error_set(err, 0,
				      "cannot checkpoint container \"%s\": status is %s, "
				      "not running",
				      st->id, husk_status_name(status));
	return 0;
}

/* What criu cannot dump or give back: refuse before it freezes anything. */
static int checkpoint_check_config(const husk_spec_t *spec, const husk_state_t *st,
				   husk_error_t *err)
{
	const husk_namespace_t *pid = husk_spec_namespace(spec, "pid");

	if (spec->process && spec->process->terminal)
		return husk_error_set(err, 0,
				      "cannot checkpoint container \"%s\": process.terminal "
				      "is not supported by husk checkpoint",
				      st->id);
	/* criu restores a session only from its leader, which must be inside the tree. */
	if (pid && pid->path == NULL && !init_leads_its_session(st->pid))
		return husk_error_set(err, 0,
				      "cannot checkpoint container \"%s\": its init (pid %d) "
				      "does not lead its session, and criu needs it to in a "
				      "pid namespace",
				      st->id, (int)st->pid);
	return 0;
}

static int checkpoint_dump(const husk_checkpoint_opts_t *o, const husk_state_t *st,
			   const husk_spec_t *spec, husk_error_t *err)
{
	husk_criu_opts_t co_ = o->criu, *co = &co_;
	cleanup_criu criu_t c = {0};
	cleanup_close int images_fd = -1;
	cleanup_close int work_fd = -1;
	int r;

	co->shell_job = co->shell_job || !init_leads_its_session(st->pid);

	if (criu_open(&c, "checkpoint", err) < 0)
		return -1;
	if ((images_fd = open_dir_made(image_path_of(co), "--image-path", err)) < 0 ||
	    (work_fd = open_dir_made(work_path_of(co), "--work-path", err)) < 0)
		return -1;
	if (write_descriptors(images_fd, st->pid, err) < 0 ||
	    write_checkpoint_info(images_fd, co->shell_job, err) < 0)
		return -1;
	criu_set_common(&c, co, images_fd, work_fd, DUMP_LOG);
	c.api.set_pid(c.opts, st->pid);
	c.api.set_leave_running(c.opts, o->leave_running);
	if (c.api.set_root(c.opts, st->rootfs) < 0)
		return husk_error_set(err, ENOMEM, "criu: root");
	if (criu_add_external_mounts(&c, spec, NULL, err) < 0 ||
	    criu_add_external_netns(&c, spec, st->pid, err) < 0 ||
	    criu_set_freezer(&c, st, err) < 0)
		return -1;
	husk_debug("checkpoint \"%s\": criu dump of pid %d into %s", o->id, (int)st->pid,
		   image_path_of(co));
	r = c.api.dump(c.opts);
	if (r < 0)
		return criu_failed(r, "checkpoint", co, work_fd, DUMP_LOG, err);
	return 0;
}

int husk_container_checkpoint(const husk_checkpoint_opts_t *o, husk_error_t *err)
{
	cleanup_state husk_state_t st = {0};
	cleanup_spec husk_spec_t *spec = NULL;
	cleanup_close int dirfd = husk_state_open_locked(o->root, o->id, NULL, &st, err);

	if (dirfd < 0)
		return -1;
	if (checkpoint_check_status(dirfd, &st, err) < 0 ||
	    husk_state_load_spec(dirfd, &spec, err) < 0 ||
	    checkpoint_check_config(spec, &st, err) < 0)
		return -1;
	if (checkpoint_dump(o, &st, spec, err) < 0)
		return -1;
	if (o->leave_running)
		return 0;
	/* runc: a checkpointed container is destroyed. Its processes are gone already; delete
	 * takes the lock itself. */
	husk_closep(&dirfd);
	if (husk_container_delete(o->root, o->id, true, err) < 0)
		return husk_error_wrap(err, "checkpoint: delete container \"%s\"", o->id);
	return 0;
}

/* ------------------------------------------------------------------ restore */

/* Everything restore has made so far, undone in reverse when it fails. */
typedef struct {
	const husk_restore_opts_t *o;
	const husk_spec_t *spec;
	const char *bundle;
	int rootfd;
	int dirfd;
	bool dir_made;
	husk_cgroup_t cg;
	bool cg_made;
	char *criu_root;       /* the bind mount of the rootfs, while mounted */
	pid_t pid;	       /* the restored init, once criu has made it */
	husk_error_t hook_err; /* a failing prestart/createRuntime hook, from the callback */
} restore_ctx_t;

static void restore_unmount_root(restore_ctx_t *c)
{
	if (c->criu_root == NULL)
		return;
	if (umount2(c->criu_root, MNT_DETACH) < 0)
		husk_warn("unmount \"%s\": %s", c->criu_root, strerror(errno));
	else
		rmdir(c->criu_root);
	free(c->criu_root);
	c->criu_root = NULL;
}

static void restore_undo(restore_ctx_t *c)
{
	cleanup_error husk_error_t ignored = {0};

	if (c->pid > 0) {
		kill(c->pid, SIGKILL);
		waitpid(c->pid, NULL, 0);
	}
	restore_unmount_root(c);
	if (c->cg_made) {
		/* criu's helpers or half-restored tasks may still be in it. */
		husk_cgroup_kill_all(&c->cg, SIGKILL, NULL);
		if (husk_cgroup_destroy(&c->cg, &ignored) < 0)
			husk_warn("remove cgroup: %s", husk_error_msg(&ignored));
	}
	if (c->dir_made && husk_state_dir_remove(c->rootfd, c->o->id, &ignored) < 0)
		husk_warn("remove state: %s", husk_error_msg(&ignored));
}

static void restore_close(restore_ctx_t *c)
{
	husk_closep(&c->dirfd);
	husk_closep(&c->rootfd);
	husk_cgroup_free(&c->cg);
	husk_error_clear(&c->hook_err);
}

static int restore_check_config(const husk_spec_t *spec, const husk_restore_opts_t *o,
				husk_error_t *err)
{
	if (spec->process == NULL)
		return husk_error_set(err, 0,
				      "config.json: process: required to restore a "
				      "container");
	if (spec->process->terminal)
		return husk_error_set(err, 0,
				      "restore: process.terminal is not supported by husk "
				      "restore");
	if (o->console_socket)
		return husk_error_set(err, 0,
				      "--console-socket given but process.terminal is "
				      "false");
	return 0;
}

/* Before anything is made: an image directory without criu's inventory holds no checkpoint. */
static int open_images(const husk_criu_opts_t *co, husk_error_t *err)
{
	const char *path = image_path_of(co);
	cleanup_close int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return husk_error_errno(err, "restore: --image-path \"%s\"", path);
	if (faccessat(fd, CRIU_INVENTORY, R_OK, 0) < 0)
		return husk_error_set(err, 0, "restore: no checkpoint in \"%s\" (%s is missing)",
				      path, CRIU_INVENTORY);
	return steal_fd(&fd);
}

/* The state dir, the config copy and the cgroup, as create makes them (state on record
 * before the cgroup exists, so that a killed restore leaves something delete can find). */
static int restore_make_container(restore_ctx_t *c, husk_state_t *st, const char *text, size_t len,
				  husk_error_t *err)
{
	const husk_restore_opts_t *o = c->o;
	const husk_linux_t *lx = c->spec->linux_;
	int r;

	r = husk_state_dir_begin(o->root, o->id, text, len, &c->rootfd, &c->dirfd, err);
	c->dir_made = c->dirfd >= 0;
	if (r < 0)
		return -1;
	if (husk_cgroup_resolve(c->spec, o->id, o->systemd_cgroup, &c->cg, err) < 0)
		return -1;
	st->cgroup_path = xstrdup(c->cg.path);
	if (husk_state_write(c->dirfd, st, err) < 0)
		return -1;
	/* The systemd driver starts its scope for a process it is given (join_finish): criu
	 * restores into a cgroup that must exist before, so the cgroup is made through
	 * cgroupfs here. */
	c->cg.systemd = false;
	c->cg.id = o->id;
	r = husk_cgroup_create(&c->cg, lx ? lx->resources : NULL, err);
	if (r < 0)
		return husk_error_wrap(err, "restore: cgroup");
	c->cg_made = true;
	return 0;
}

/* criu's --root must be a mount point: the rootfs bound onto a directory of the state dir
 * (as runc does), detached again once the tree is restored. */
static int restore_mount_root(restore_ctx_t *c, const char *rootfs, husk_error_t *err)
{
	cleanup_free char *path = NULL;

	if (asprintf(&path, "%s/%s/%s", c->o->root, c->o->id, CRIU_ROOT) < 0)
		abort();
	if (mkdirat(c->dirfd, CRIU_ROOT, 0700) < 0)
		return husk_error_errno(err, "restore: mkdir \"%s\"", path);
	if (mount(rootfs, path, NULL, MS_BIND | MS_REC, NULL) < 0) {
		husk_error_errno(err, "restore: bind \"%s\" on \"%s\"", rootfs, path);
		unlinkat(c->dirfd, CRIU_ROOT, AT_REMOVEDIR);
		return -1;
	}
	c->criu_root = steal_pointer(&path);
	return 0;
}

/* The init's stdio pipes were the old runtime's: criu gets ours in their place (keyed by
 * what descriptors.json says they were), as runc does. */
static int criu_inherit_stdio(criu_t *c, int images_fd, husk_error_t *err)
{
	cleanup_free char *text = NULL;
	char errbuf[128];
	yajl_val tree, v;

	if (husk_read_file_at(images_fd, DESCRIPTORS_FILE, &text, NULL, NULL) < 0)
		return 0; /* not made by husk checkpoint: criu restores what it can */
	tree = yajl_tree_parse(text, errbuf, sizeof errbuf);
	if (tree == NULL || !YAJL_IS_ARRAY(tree)) {
		yajl_tree_free(tree);
		return husk_error_set(err, 0, "restore: %s: not a JSON array", DESCRIPTORS_FILE);
	}
	for (size_t fd = 0; fd < 3 && fd < tree->u.array.len; fd++) {
		const char *what;

		v = tree->u.array.values[fd];
		what = YAJL_IS_STRING(v) ? YAJL_GET_STRING(v) : NULL;
		if (what == NULL || strncmp(what, "pipe:", 5) != 0)
			continue;
		if (c->api.add_inherit_fd(c->opts, (int)fd, what) < 0) {
			yajl_tree_free(tree);
			return husk_error_set(err, ENOMEM, "criu: inherit fd %zu", fd);
		}
	}
	yajl_tree_free(tree);
	return 0;
}

/* husk-checkpoint.json's shellJob: restore needs --shell-job where the dump did. */
static bool checkpoint_was_shell_job(int images_fd)
{
	cleanup_free char *text = NULL;
	const char *key[] = {"shellJob", NULL};
	char errbuf[128];
	yajl_val tree, v;
	bool yes;

	if (husk_read_file_at(images_fd, HUSK_CHECKPOINT_FILE, &text, NULL, NULL) < 0)
		return false;
	tree = yajl_tree_parse(text, errbuf, sizeof errbuf);
	v = tree ? yajl_tree_get(tree, key, yajl_t_true) : NULL;
	yes = v != NULL;
	yajl_tree_free(tree);
	return yes;
}

static int criu_join_netns(criu_t *c, const husk_spec_t *spec, int *netns_fd, husk_error_t *err)
{
	const husk_namespace_t *net = husk_spec_namespace(spec, "network");

	if (net == NULL || net->path == NULL)
		return 0;
	*netns_fd = open(net->path, O_RDONLY | O_CLOEXEC);
	if (*netns_fd < 0)
		return husk_error_errno(err, "linux.namespaces: network: open \"%s\"", net->path);
	/* libcriu forks and execs criu, which looks the fd up by number: it must survive that
	 * exec. Closed once the restore call returns; meanwhile the prestart/createRuntime
	 * hooks, which run on the host, inherit it too. */
	if (fcntl(*netns_fd, F_SETFD, 0) < 0)
		return husk_error_errno(err, "linux.namespaces: network: \"%s\"", net->path);
	if (c->api.add_inherit_fd(c->opts, *netns_fd, EXT_NETNS_KEY) < 0)
		return husk_error_set(err, ENOMEM, "criu: inherit netns");
	return 0;
}

/*
 * libcriu's notification callback takes no user pointer: the restore in progress is
 * reached through this one, set only for the duration of criu's restore call (libcriu
 * is not reentrant either).
 */
static restore_ctx_t *notify_ctx;
static criu_api_t *notify_api;

/* "setup-namespaces": the restored init exists in its namespaces and has no children yet.
 * With --manage-cgroups-mode ignore it joins the cgroup now (its children follow it; in
 * the other modes criu puts each task where the dump found it, below the cgroup root),
 * and the prestart and createRuntime hooks run, as runc runs them at this point. */
static int restore_notify(char *action, void *na)
{
	restore_ctx_t *c = notify_ctx;
	const husk_hooks_t *hooks;
	cleanup_free char *state = NULL;
	pid_t pid;

	if (c == NULL || strcmp(action, "setup-namespaces") != 0)
		return 0;
	pid = notify_api->notify_pid(na);
	if (c->cg_made && c->o->criu.cgroups_mode == HUSK_CRIU_CGROUPS_IGNORE &&
	    husk_cgroup_enter(&c->cg, pid, &c->hook_err) < 0)
		return -1;
	hooks = c->spec->hooks;
	if (hooks == NULL)
		return 0;
	state = husk_hook_state_json(c->spec, c->o->id, c->bundle, pid, "creating");
	if (husk_hooks_run(&hooks->prestart, "prestart", state, &c->hook_err) < 0 ||
	    husk_hooks_run(&hooks->create_runtime, "createRuntime", state, &c->hook_err) < 0)
		return -1;
	return 0;
}

static int restore_run_criu(restore_ctx_t *c, criu_t *cr, int images_fd, husk_error_t *err)
{
	const husk_criu_opts_t *co = &c->o->criu;
	cleanup_close int work_fd = -1;
	cleanup_close int netns_fd = -1;
	int r;

	if ((work_fd = open_dir_made(work_path_of(co), "--work-path", err)) < 0)
		return -1;
	criu_set_common(cr, co, images_fd, work_fd, RESTORE_LOG);
	if (checkpoint_was_shell_job(images_fd))
		cr->api.set_shell_job(cr->opts, true);
	if (cr->api.set_root(cr->opts, c->criu_root) < 0)
		return husk_error_set(err, ENOMEM, "criu: root");
	/* The tree goes where the dump found it, below the new container's cgroup. */
	if (c->cg_made && cr->api.add_cg_root(cr->opts, NULL, c->cg.path) < 0)
		return husk_error_set(err, ENOMEM, "criu: cgroup root");
	if (criu_add_external_mounts(cr, c->spec, c->bundle, err) < 0 ||
	    criu_inherit_stdio(cr, images_fd, err) < 0 ||
	    criu_join_netns(cr, c->spec, &netns_fd, err) < 0)
		return -1;
	cr->api.set_notify_cb(cr->opts, restore_notify);
	notify_ctx = c;
	notify_api = &cr->api;
	r = cr->api.restore_child(cr->opts);
	notify_ctx = NULL;
	notify_api = NULL;
	if (c->hook_err.msg) {
		if (r > 0)
			c->pid = r;
		husk_error_set(err, c->hook_err.errnum, "%s", c->hook_err.msg);
		return husk_error_wrap(err, "restore");
	}
	if (r <= 0)
		return criu_failed(r, "restore", co, work_fd, RESTORE_LOG, err);
	c->pid = r;
	return 0;
}

static int restore_record(restore_ctx_t *c, husk_state_t *st, husk_error_t *err)
{
	st->created = true;
	st->pid = c->pid;
	st->pid_start = husk_pid_start_time(c->pid);
	st->creator_pid = 0;
	st->creator_start = 0;
	st->detached_init = c->o->detach;
	if (c->o->pid_file && husk_write_pid_file(c->o->pid_file, c->pid, err) < 0)
		return -1;
	return husk_state_write(c->dirfd, st, err);
}

static int restore_in(restore_ctx_t *c, husk_error_t *err)
{
	const husk_restore_opts_t *o = c->o;
	cleanup_free char *bundle = NULL, *text = NULL, *rootfs = NULL;
	cleanup_spec husk_spec_t *spec = NULL;
	cleanup_state husk_state_t st = {0};
	cleanup_close int images_fd = -1;
	cleanup_criu criu_t cr = {0};
	size_t len = 0;

	if (husk_id_validate(o->id, err) < 0)
		return -1;
	if (husk_bundle_load_config(o->bundle, &bundle, &text, &len, &spec, err) < 0 ||
	    husk_bundle_rootfs(spec, bundle, &rootfs, err) < 0 ||
	    restore_check_config(spec, o, err) < 0)
		return -1;
	/* Before anything exists: without libcriu there is nothing to undo. */
	if (criu_open(&cr, "restore", err) < 0)
		return -1;
	if ((images_fd = open_images(&o->criu, err)) < 0)
		return -1;
	c->spec = spec;
	c->bundle = bundle;
	husk_state_init(&st, spec, o->id, bundle, rootfs);
	if (restore_make_container(c, &st, text, len, err) < 0 ||
	    restore_mount_root(c, rootfs, err) < 0)
		return -1;
	husk_debug("restore \"%s\": bundle %s, images %s, cgroup %s", o->id, bundle,
		   image_path_of(&o->criu), c->cg.path);
	if (restore_run_criu(c, &cr, images_fd, err) < 0)
		return -1;
	restore_unmount_root(c);
	return restore_record(c, &st, err);
}

int husk_container_restore(const husk_restore_opts_t *o, int *exit_status, husk_error_t *err)
{
	restore_ctx_t c = {.o = o, .rootfd = -1, .dirfd = -1};
	cleanup_error husk_error_t del_err = {0};
	pid_t pid;
	int r;

	*exit_status = 0;
	/* criu strict makes the container's cgroup itself and restores only cgroupfs files
	 * into it: husk's device rules (an eBPF program on v2) would be lost. */
	if (o->criu.cgroups_mode == HUSK_CRIU_CGROUPS_STRICT)
		return husk_error_set(err, EINVAL,
				      "restore: --manage-cgroups-mode strict is not supported "
				      "(criu would remake the cgroup without the device rules)");
	r = restore_in(&c, err);
	if (r < 0)
		restore_undo(&c);
	pid = c.pid;
	restore_close(&c);
	if (r < 0 || o->detach)
		return r;
	husk_wait_foreground(pid, -1, exit_status);
	if (husk_container_delete(o->root, o->id, true, &del_err) < 0)
		husk_warn("%s", husk_error_msg(&del_err));
	return 0;
}

#else /* !HAVE_CRIU */

int husk_container_checkpoint(const husk_checkpoint_opts_t *o, husk_error_t *err)
{
	(void)o;
	return husk_error_set(err, 0, "checkpoint: husk was built without libcriu");
}

int husk_container_restore(const husk_restore_opts_t *o, int *exit_status, husk_error_t *err)
{
	(void)o;
	*exit_status = 0;
	return husk_error_set(err, 0, "restore: husk was built without libcriu");
}

#endif
