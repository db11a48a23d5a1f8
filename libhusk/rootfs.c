/* husk: the container's filesystem: prepare the rootfs, pivot into it, finalize it. */
#include "config.h"
#include "rootfs.h"
#include "safe-path.h"
#include "utils.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif

static bool spec_has_namespace(const husk_spec_t *spec, const char *type)
{
	if (spec->linux_ == NULL)
		return false;
	for (size_t i = 0; i < spec->linux_->namespaces_len; i++)
		if (spec->linux_->namespaces[i].type &&
		    strcmp(spec->linux_->namespaces[i].type, type) == 0)
			return true;
	return false;
}

static const char *rootfs_propagation(const husk_spec_t *spec)
{
	return spec->linux_ ? spec->linux_->rootfs_propagation : NULL;
}

static int propagation_flag(const char *name, unsigned long *out, husk_error_t *err)
{
	static const struct {
		const char *name;
		unsigned long flag;
	} table[] = {
	    {"private", MS_PRIVATE},	   {"rprivate", MS_PRIVATE | MS_REC},
	    {"shared", MS_SHARED},	   {"rshared", MS_SHARED | MS_REC},
	    {"slave", MS_SLAVE},	   {"rslave", MS_SLAVE | MS_REC},
	    {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
	};
	for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
		if (strcmp(name, table[i].name) == 0) {
			*out = table[i].flag;
			return 0;
		}
	}
	return husk_error_set(err, EINVAL, "linux.rootfsPropagation: unknown value \"%s\"", name);
}

static void ctx_close(husk_rootfs_ctx_t *ctx)
{
	husk_closep(&ctx->procfd);
	husk_closep(&ctx->rootfd);
	if (ctx->cwdfd >= 0 && fchdir(ctx->cwdfd) < 0) {
		/* nothing sensible left to do: the caller's cwd is gone */
	}
	husk_closep(&ctx->cwdfd);
}

/*
 * Nothing we mount may leak to the host: "/" becomes private before anything else (slave
 * when the config wants host mounts to keep propagating into the container).
 */
static int make_root_private(const husk_spec_t *spec, husk_error_t *err)
{
	const char *prop = rootfs_propagation(spec);
	unsigned long flag = MS_PRIVATE;

	if (prop && (strcmp(prop, "slave") == 0 || strcmp(prop, "rslave") == 0))
		flag = MS_SLAVE;
	if (mount(NULL, "/", NULL, MS_REC | flag, NULL) < 0)
		return husk_error_errno(err, "make \"/\" %s",
					flag == MS_SLAVE ? "rslave" : "rprivate");
	return 0;
}

/* pivot_root needs the rootfs to be a mount point: bind it onto itself. */
static int bind_rootfs(const char *rootfs, husk_error_t *err)
{
	if (mount(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
		return husk_error_errno(err, "bind rootfs \"%s\" onto itself", rootfs);
	return 0;
}

static int open_ctx(husk_rootfs_ctx_t *ctx, const husk_spec_t *spec, const char *root,
		    husk_error_t *err)
{
	ctx->procfd = ctx->rootfd = ctx->cwdfd = -1;
	ctx->userns = spec_has_namespace(spec, "user");
	ctx->cgroupns = spec_has_namespace(spec, "cgroup");
	ctx->cwdfd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (ctx->cwdfd < 0)
		return husk_error_errno(err, "open the current directory");
	ctx->procfd = husk_proc_fd_verified(err);
	if (ctx->procfd < 0)
		return -1;
	ctx->rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (ctx->rootfd < 0)
		return husk_error_errno(err, "open rootfs \"%s\"", root);
	return 0;
}

/* The mounts the container process may make before it is in its cgroup: binds and the
 * kernel's pseudo filesystems, which open no device. A cgroup mount needs the cgroup (and
 * the cgroup namespace); any other mount may open a device, which the v1 devices cgroup
 * must check. */
static bool needs_cgroup(const husk_mount_t *m)
{
	static const char *const no_device[] = {"proc", "sysfs", "tmpfs", "devpts", "mqueue"};
	husk_mount_options_t o __attribute__((cleanup(husk_mount_options_free)));

	husk_mount_options_parse(m->options, m->options_len, &o);
	if (o.flags & MS_BIND)
		return false;
	for (size_t i = 0; m->type && i < sizeof no_device / sizeof no_device[0]; i++)
		if (strcmp(m->type, no_device[i]) == 0)
			return false;
	return true;
}

static int enter_cgroup(husk_rootfs_before_cgroup_fn *before_cgroup, void *arg, husk_error_t *err)
{
	husk_rootfs_before_cgroup_fn fn = *before_cgroup;

	*before_cgroup = NULL;
	return fn ? fn(arg, err) : 0;
}

int husk_rootfs_prepare(const husk_spec_t *spec, const char *rootfs,
			const husk_rootfs_runtime_t *runtime, husk_error_t *err)
{
	husk_rootfs_ctx_t ctx __attribute__((cleanup(ctx_close))) = {-1, -1, -1, false, false};
	husk_rootfs_before_cgroup_fn before_cgroup = runtime ? runtime->before_cgroup : NULL;
	void *arg = runtime ? runtime->arg : NULL;

	if (rootfs == NULL || rootfs[0] != '/')
		return husk_error_set(err, EINVAL, "rootfs \"%s\" is not an absolute path",
				      rootfs ? rootfs : "(null)");
	if (make_root_private(spec, err) < 0 || bind_rootfs(rootfs, err) < 0)
		return -1;
	if (open_ctx(&ctx, spec, rootfs, err) < 0)
		return -1;
	ctx.idmap_trees = runtime ? runtime->idmap_trees : NULL;
	if (!(rootfs_propagation(spec) && strstr(rootfs_propagation(spec), "slave")) &&
	    husk_mount_fds(&ctx, NULL, -1, ctx.rootfd, NULL, MS_PRIVATE | MS_REC, NULL) < 0)
		return husk_error_errno(err, "make rootfs \"%s\" rprivate", rootfs);
	for (size_t i = 0; i < spec->mounts_len; i++) {
		if (needs_cgroup(&spec->mounts[i]) && enter_cgroup(&before_cgroup, arg, err) < 0)
			return -1;
		if (husk_rootfs_do_mount(&ctx, spec, &spec->mounts[i], err) < 0)
			return -1;
	}
	/* mknod too is the devices cgroup's to check. */
	if (enter_cgroup(&before_cgroup, arg, err) < 0)
		return -1;
	return husk_rootfs_create_devices(&ctx, spec, err);
}

/* ---------------------------------------------------------------- pivot */

static int move_and_chroot(const char *rootfs, husk_error_t *err)
{
	if (mount(rootfs, "/", NULL, MS_MOVE, NULL) < 0)
		return husk_error_errno(err, "move rootfs \"%s\" onto \"/\"", rootfs);
	if (chroot(".") < 0)
		return husk_error_errno(err, "chroot into \"%s\"", rootfs);
	return 0;
}

/*
 * pivot_root(".", ".") stacks the old root on top of the new one at "/": detaching "."
 * then drops the old root without needing a put_old directory in the image.
 */
static int pivot_and_detach(const char *rootfs, husk_error_t *err)
{
	cleanup_close int oldroot = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (oldroot < 0)
		return husk_error_errno(err, "open the old root");
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return husk_error_errno(err, "pivot_root into \"%s\"", rootfs);
	/* cwd is still the new root: step onto the old one, stacked on top of it, so that
	 * making it rslave below leaves the new tree's propagation (shared mounts) alone. */
	if (fchdir(oldroot) < 0)
		return husk_error_errno(err, "chdir to the old root");
	/* Make sure the unmount of the old root cannot propagate anywhere. */
	if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
		return husk_error_errno(err, "make the old root rslave");
	if (umount2(".", MNT_DETACH) < 0)
		return husk_error_errno(err, "detach the old root");
	return 0;
}

int husk_rootfs_pivot(const husk_spec_t *spec, const char *rootfs, bool no_pivot, husk_error_t *err)
{
	cleanup_close int rootfd = -1;
	int r;

	(void)spec;
	rootfd = open(rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return husk_error_errno(err, "open rootfs \"%s\"", rootfs);
	if (fchdir(rootfd) < 0)
		return husk_error_errno(err, "chdir to rootfs \"%s\"", rootfs);
	r = no_pivot ? move_and_chroot(rootfs, err) : pivot_and_detach(rootfs, err);
	if (r < 0)
		return -1;
	if (chdir("/") < 0)
		return husk_error_errno(err, "chdir to \"/\"");
	return 0;
}

/* ---------------------------------------------------------------- finalize */

/*
 * The /dev/null we bind over masked files must be the real device: an image could ship a
 * symlink or a regular file there, which would turn "masking" into exposing something.
 */
static int open_verified_dev_null(int rootfd, husk_error_t *err)
{
	cleanup_close int fd = husk_safe_open(rootfd, "/dev/null", O_PATH | O_NOFOLLOW, err);
	struct stat st;

	if (fd < 0)
		return husk_error_wrap(err, "mask paths");
	if (fstat(fd, &st) < 0)
		return husk_error_errno(err, "stat \"/dev/null\"");
	if (!S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3))
		return husk_error_set(err, EXDEV,
				      "mask paths: \"/dev/null\" is not the character device 1:3");
	return steal_fd(&fd);
}

/* Open a path that may be missing: 0 and *fd = -1 when it is. */
static int open_if_exists(int rootfd, const char *path, int *fd, husk_error_t *err)
{
	*fd = husk_safe_open(rootfd, path, O_PATH, err);
	if (*fd >= 0)
		return 0;
	if (errno == ENOENT) {
		husk_error_clear(err);
		return 0;
	}
	return -1;
}

static int need_proc(const husk_rootfs_ctx_t *ctx, const char *what, husk_error_t *err)
{
	if (ctx->procfd >= 0)
		return 0;
	return husk_error_set(err, ENOENT, "%s: needs a procfs mounted at \"/proc\"", what);
}

static int mask_path(husk_rootfs_ctx_t *ctx, const char *path, int *devnull, husk_error_t *err)
{
	cleanup_close int fd = -1;
	struct stat st;

	if (open_if_exists(ctx->rootfd, path, &fd, err) < 0)
		return husk_error_wrap(err, "mask \"%s\"", path);
	if (fd < 0)
		return 0;
	if (need_proc(ctx, "mask paths", err) < 0 || fstat(fd, &st) < 0)
		return -1;
	if (S_ISDIR(st.st_mode)) {
		if (husk_mount_fds(ctx, "tmpfs", -1, fd, "tmpfs", MS_RDONLY, NULL) < 0)
			return husk_error_errno(err, "mask \"%s\" with a read-only tmpfs", path);
		return 0;
	}
	if (*devnull < 0) {
		*devnull = open_verified_dev_null(ctx->rootfd, err);
		if (*devnull < 0)
			return -1;
	}
	if (husk_mount_fds(ctx, NULL, *devnull, fd, NULL, MS_BIND, NULL) < 0)
		return husk_error_errno(err, "mask \"%s\" with \"/dev/null\"", path);
	return 0;
}

static int make_path_readonly(husk_rootfs_ctx_t *ctx, const char *path, husk_error_t *err)
{
	struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY};
	cleanup_close int fd = -1;
	cleanup_close int top = -1;

	if (open_if_exists(ctx->rootfd, path, &fd, err) < 0)
		return husk_error_wrap(err, "make \"%s\" read-only", path);
	if (fd < 0)
		return 0;
	if (need_proc(ctx, "readonly paths", err) < 0)
		return -1;
	if (husk_mount_fds(ctx, NULL, fd, fd, NULL, MS_BIND | MS_REC, NULL) < 0)
		return husk_error_errno(err, "bind \"%s\" onto itself", path);
	top = husk_safe_open(ctx->rootfd, path, O_PATH, err);
	if (top < 0)
		return husk_error_wrap(err, "make \"%s\" read-only", path);
	if (mount_setattr(top, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) == 0)
		return 0;
	/* Old kernel: the classic remount covers the top mount only. */
	if (errno != ENOSYS || husk_remount_bind(ctx, top, MS_RDONLY, 0) < 0)
		return husk_error_errno(err, "remount \"%s\" read-only", path);
	return 0;
}

static int make_root_readonly(husk_rootfs_ctx_t *ctx, husk_error_t *err)
{
	cleanup_close int fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	struct statvfs sv;
	unsigned long flags = MS_REMOUNT | MS_BIND | MS_RDONLY;

	if (fd < 0 || fstatvfs(fd, &sv) < 0)
		return husk_error_errno(err, "stat \"/\"");
	/* In a user namespace these are locked: dropping them would be EPERM. */
	if (sv.f_flag & ST_NOSUID)
		flags |= MS_NOSUID;
	if (sv.f_flag & ST_NODEV)
		flags |= MS_NODEV;
	if (sv.f_flag & ST_NOEXEC)
		flags |= MS_NOEXEC;
	if (sv.f_flag & ST_NOATIME)
		flags |= MS_NOATIME;
	else if (sv.f_flag & ST_RELATIME)
		flags |= MS_RELATIME;
	else
		flags |= MS_STRICTATIME;
	if (sv.f_flag & ST_NODIRATIME)
		flags |= MS_NODIRATIME;
	/* "/" is unambiguous here: the root is ours since the pivot. */
	if (mount(NULL, "/", NULL, flags, NULL) < 0)
		return husk_error_errno(err, "remount \"/\" read-only");
	return 0;
}

static int apply_rootfs_propagation(const husk_spec_t *spec, husk_error_t *err)
{
	const char *prop = rootfs_propagation(spec);
	unsigned long flag = 0;

	if (prop == NULL)
		return 0;
	if (propagation_flag(prop, &flag, err) < 0)
		return -1;
	if (mount(NULL, "/", NULL, flag, NULL) < 0)
		return husk_error_errno(err, "make \"/\" %s", prop);
	return 0;
}

/* After the pivot "/" is the container; its /proc may legitimately be absent. */
static int open_final_ctx(husk_rootfs_ctx_t *ctx, const husk_spec_t *spec, husk_error_t *err)
{
	ctx->userns = spec_has_namespace(spec, "user");
	ctx->cgroupns = spec_has_namespace(spec, "cgroup");
	ctx->cwdfd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (ctx->cwdfd < 0)
		return husk_error_errno(err, "open the current directory");
	ctx->rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (ctx->rootfd < 0)
		return husk_error_errno(err, "open \"/\"");
	ctx->procfd = husk_proc_fd_verified(NULL);
	return 0;
}

int husk_rootfs_finalize(const husk_spec_t *spec, husk_error_t *err)
{
	husk_rootfs_ctx_t ctx __attribute__((cleanup(ctx_close))) = {-1, -1, -1, false, false};
	cleanup_close int devnull = -1;
	const husk_linux_t *lx = spec->linux_;

	if (open_final_ctx(&ctx, spec, err) < 0)
		return -1;
	for (size_t i = 0; lx && i < lx->readonly_paths_len; i++)
		if (make_path_readonly(&ctx, lx->readonly_paths[i], err) < 0)
			return -1;
	for (size_t i = 0; lx && i < lx->masked_paths_len; i++)
		if (mask_path(&ctx, lx->masked_paths[i], &devnull, err) < 0)
			return -1;
	if (spec->root && spec->root->readonly && make_root_readonly(&ctx, err) < 0)
		return -1;
	return apply_rootfs_propagation(spec, err);
}

/* ---------------------------------------------------------------- console */

int husk_rootfs_setup_console(int pty_slave_fd, husk_error_t *err)
{
	husk_rootfs_ctx_t ctx __attribute__((cleanup(ctx_close))) = {-1, -1, -1, false, false};
	cleanup_close int target = -1;
	husk_spec_t none = {0};

	if (open_final_ctx(&ctx, &none, err) < 0 ||
	    (ctx.procfd < 0 && need_proc(&ctx, "set up /dev/console", err) < 0))
		return -1;
	target = husk_safe_mount_target(ctx.rootfd, "/dev/console", false, err);
	if (target < 0)
		return husk_error_wrap(err, "set up /dev/console");
	if (husk_mount_fds(&ctx, NULL, pty_slave_fd, target, NULL, MS_BIND, NULL) < 0)
		return husk_error_errno(err, "bind the terminal onto \"/dev/console\"");
	return 0;
}
