/* husk: the container's filesystem: mounts, /dev, pivot_root, masked and readonly paths. */
#ifndef HUSK_ROOTFS_H
#define HUSK_ROOTFS_H

#include <stdbool.h>

#include "error.h"
#include "spec.h"

/*
 * Called in the container process, already inside its new mount namespace (and user
 * namespace when there is one), with the host's / still visible.
 * `rootfs` is the absolute host path of root.path (already resolved against the bundle).
 *
 * husk_rootfs_prepare: make / private (or rootfsPropagation), bind the rootfs onto itself,
 *   then perform spec->mounts in order, create the default devices and linux.devices,
 *   the /dev symlinks (fd, stdin, stdout, stderr, ptmx), /dev/pts and /dev/shm defaults as
 *   given by the mounts, all resolved relative to a rootfs fd (never string-joined).
 *   before_cgroup(arg), when given, runs once: before the first mount that is not a bind
 *   or a pseudo filesystem without a device (proc, sysfs, tmpfs, devpts, mqueue), or else
 *   before the devices are created. `create` joins the container's cgroup and its cgroup
 *   namespace there, so that the mounts before it overlap with the making of the cgroup,
 *   and a cgroup mount, a device a mount opens, or a mknod happen in the cgroup.
 * husk_rootfs_pivot: pivot_root into the rootfs and detach the old root; with no_pivot,
 *   MS_MOVE + chroot instead. Afterwards cwd is "/".
 * husk_rootfs_finalize: after pivot: maskedPaths, readonlyPaths, root.readonly,
 *   rootfsPropagation of "/".
 */
typedef int (*husk_rootfs_before_cgroup_fn)(void *arg, husk_error_t *err);
/* What `create`'s runtime side gives the container process for its mounts (NULL: nothing). */
typedef struct {
	husk_rootfs_before_cgroup_fn before_cgroup;
	void *arg;
	/* Per spec mount: its detached idmapped tree from husk_rootfs_idmapped_trees, or -1;
	 * NULL when there are none. */
	const int *idmap_trees;
} husk_rootfs_runtime_t;
int husk_rootfs_prepare(const husk_spec_t *spec, const char *rootfs,
			const husk_rootfs_runtime_t *runtime, husk_error_t *err);

/*
 * Runtime side, in the host's mount namespace, for a container with a user namespace, where
 * the container process may not idmap a mount of a host filesystem (only a holder of
 * CAP_SYS_ADMIN over the filesystem's user namespace may): for each idmap/ridmap bind, a
 * detached clone of its source (relative sources from `bundle`) mapped through the mount's
 * own uid/gidMappings or, without them, through the container's user namespace (the ns
 * file at `userns`, opened only when needed). *trees gets spec->mounts_len fds, -1 for the
 * other mounts; *n the number made. Free with husk_rootfs_trees_close.
 */
int husk_rootfs_idmapped_trees(const husk_spec_t *spec, const char *bundle, const char *userns,
			       int **trees, size_t *n, husk_error_t *err);
void husk_rootfs_trees_close(int *trees, size_t len);
int husk_rootfs_pivot(const husk_spec_t *spec, const char *rootfs, bool no_pivot,
		      husk_error_t *err);
int husk_rootfs_finalize(const husk_spec_t *spec, husk_error_t *err);

/*
 * process.terminal: bind the pty slave (an fd of this process) onto /dev/console, created as
 * an empty file inside the current root. Call it after husk_rootfs_pivot.
 */
int husk_rootfs_setup_console(int pty_slave_fd, husk_error_t *err);

/* Open /proc (O_PATH) after checking it is the root of a real procfs (statfs f_type);
 * use it for every later write under /proc. Defined in safe-path.c. */
int husk_proc_fd_verified(husk_error_t *err);

/* ---- mount options (mount-options.c) ---- */

#define HUSK_MAX_PROPAGATION 8

/* One mount's "options" array, sorted into what each syscall needs. */
typedef struct {
	unsigned long flags; /* MS_* set, for mount(2) (ro, nosuid, bind, rbind, remount ...) */
	unsigned long clear_flags; /* MS_* asked off (rw, suid, dev, exec, atime ...) */
	/* MS_PRIVATE/MS_SHARED/MS_SLAVE/MS_UNBINDABLE, | MS_REC for the r-forms, in order */
	unsigned long propagation[HUSK_MAX_PROPAGATION];
	size_t propagation_len;
	/* MOUNT_ATTR_* for mount_setattr(AT_RECURSIVE): rro rnosuid rnoatime ... */
	uint64_t rec_attr_set;
	uint64_t rec_attr_clr;
	bool idmap;	/* idmap or ridmap */
	bool rec_idmap; /* ridmap */
	bool tmpcopyup; /* recognised, not implemented: the tmpfs starts empty */
	char *data;	/* unknown options, comma-joined, for mount(2)'s data; NULL when none */
} husk_mount_options_t;

/* Never fails: unknown options become data. Free with husk_mount_options_free. */
void husk_mount_options_parse(char *const *options, size_t len, husk_mount_options_t *out);
void husk_mount_options_free(husk_mount_options_t *o);

/* ---- internal: shared by rootfs.c, mounts.c and devices.c ---- */

/* What every step of building the rootfs works through; the fds are owned by the caller. */
typedef struct {
	int procfd;  /* a verified procfs root: mount targets are its "self/fd/N" magic links */
	int rootfd;  /* the container's root directory (O_PATH) */
	int cwdfd;   /* where to return after borrowing the cwd for a mount */
	bool userns; /* in a user namespace: mknod is refused, host nodes are bind-mounted */
	bool cgroupns;
	const int *idmap_trees; /* per spec mount, made on the runtime side; NULL: none */
} husk_rootfs_ctx_t;

/*
 * mount(2) with fd targets: source is `source`, or the fd `srcfd` when >= 0; the target is
 * the fd `dstfd` (so nothing can swap a symlink in after it was opened). Sets errno.
 */
int husk_mount_fds(const husk_rootfs_ctx_t *ctx, const char *source, int srcfd, int dstfd,
		   const char *type, unsigned long flags, const void *data);
/* Remount a bind mount (dstfd: its root) with `flags`, keeping its locked flags. */
int husk_remount_bind(const husk_rootfs_ctx_t *ctx, int dstfd, unsigned long flags,
		      unsigned long clear_flags);
/* Perform one spec mount inside ctx->rootfd. */
int husk_rootfs_do_mount(const husk_rootfs_ctx_t *ctx, const husk_spec_t *spec,
			 const husk_mount_t *m, husk_error_t *err);
/* Default devices, linux.devices and the /dev symlinks. */
int husk_rootfs_create_devices(const husk_rootfs_ctx_t *ctx, const husk_spec_t *spec,
			       husk_error_t *err);

#endif
