/* husk: /dev inside the container: default devices, linux.devices and the /dev symlinks. */
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
#include <sys/sysmacros.h>
#include <unistd.h>

typedef struct {
	const char *path;
	mode_t type; /* S_IFCHR, S_IFBLK, S_IFIFO */
	unsigned int major, minor;
	mode_t mode;
	bool has_uid, has_gid;
	uid_t uid;
	gid_t gid;
} device_t;

/* config-linux.md "Default Devices" (console and ptmx are handled apart). */
static const device_t default_devices[] = {
    {"/dev/null", S_IFCHR, 1, 3, 0666},	   {"/dev/zero", S_IFCHR, 1, 5, 0666},
    {"/dev/full", S_IFCHR, 1, 7, 0666},	   {"/dev/random", S_IFCHR, 1, 8, 0666},
    {"/dev/urandom", S_IFCHR, 1, 9, 0666}, {"/dev/tty", S_IFCHR, 5, 0, 0666},
};

static const char *type_letter(mode_t type)
{
	return type == S_IFBLK ? "b" : type == S_IFIFO ? "p" : "c";
}

static bool node_matches(const struct stat *st, const device_t *d)
{
	if ((st->st_mode & S_IFMT) != d->type)
		return false;
	return d->type == S_IFIFO || st->st_rdev == makedev(d->major, d->minor);
}

/* chmod through the verified procfs: mknod's mode was cut by the umask. */
static int set_owner_and_mode(const husk_rootfs_ctx_t *ctx, int parentfd, const char *name,
			      const device_t *d, husk_error_t *err)
{
	cleanup_close int fd = openat(parentfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	char path[32];

	if (fd < 0)
		return husk_error_errno(err, "open device \"%s\"", d->path);
	snprintf(path, sizeof path, "self/fd/%d", fd);
	if (fchmodat(ctx->procfd, path, d->mode & 07777, 0) < 0)
		return husk_error_errno(err, "chmod device \"%s\"", d->path);
	if ((d->has_uid || d->has_gid) &&
	    fchownat(parentfd, name, d->has_uid ? d->uid : (uid_t)-1,
		     d->has_gid ? d->gid : (gid_t)-1, AT_SYMLINK_NOFOLLOW) < 0)
		return husk_error_errno(err, "chown device \"%s\"", d->path);
	return 0;
}

/*
 * mknod is refused in a user namespace: bind the host's node onto an empty file instead,
 * after checking the host path really is that device.
 */
static int bind_host_device(const husk_rootfs_ctx_t *ctx, int parentfd, const char *name,
			    const device_t *d, husk_error_t *err)
{
	cleanup_close int src = open(d->path, O_PATH | O_CLOEXEC);
	cleanup_close int dst = -1;
	struct stat st;

	if (src < 0)
		return husk_error_errno(err, "open host device \"%s\"", d->path);
	if (fstat(src, &st) < 0 || !node_matches(&st, d))
		return husk_error_set(err, ENODEV, "host \"%s\" is not device %s %u:%u", d->path,
				      type_letter(d->type), d->major, d->minor);
	if (mknodat(parentfd, name, S_IFREG | 0644, 0) < 0 && errno != EEXIST)
		return husk_error_errno(err, "create \"%s\"", d->path);
	dst = openat(parentfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (dst < 0 || fstat(dst, &st) < 0)
		return husk_error_errno(err, "open \"%s\"", d->path);
	if (!S_ISREG(st.st_mode))
		return husk_error_set(err, EEXIST, "\"%s\" exists and is not device %s %u:%u",
				      d->path, type_letter(d->type), d->major, d->minor);
	if (husk_mount_fds(ctx, NULL, src, dst, NULL, MS_BIND, NULL) < 0)
		return husk_error_errno(err, "bind host device \"%s\"", d->path);
	return 0;
}

static int create_device(const husk_rootfs_ctx_t *ctx, const device_t *d, husk_error_t *err)
{
	cleanup_free char *name = NULL;
	cleanup_close int parentfd = husk_safe_open_parent(ctx->rootfd, d->path, true, &name, err);
	struct stat st;

	if (parentfd < 0)
		return husk_error_wrap(err, "create device \"%s\"", d->path);
	/* Spec: an existing file that is not the requested device is an error. */
	if (fstatat(parentfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (!node_matches(&st, d))
			return husk_error_set(err, EEXIST,
					      "\"%s\" exists and is not device %s %u:%u", d->path,
					      type_letter(d->type), d->major, d->minor);
		return set_owner_and_mode(ctx, parentfd, name, d, err);
	}
	if (mknodat(parentfd, name, d->type | (d->mode & 07777), makedev(d->major, d->minor)) < 0) {
		if (errno == EPERM && d->type != S_IFIFO)
			return bind_host_device(ctx, parentfd, name, d, err);
		return husk_error_errno(err, "mknod \"%s\"", d->path);
	}
	return set_owner_and_mode(ctx, parentfd, name, d, err);
}

static int spec_device(const husk_device_t *in, device_t *out, husk_error_t *err)
{
	memset(out, 0, sizeof *out);
	if (in->path == NULL || in->type == NULL)
		return husk_error_set(err, EINVAL, "linux.devices: entry without path or type");
	if (strcmp(in->type, "c") == 0 || strcmp(in->type, "u") == 0)
		out->type = S_IFCHR;
	else if (strcmp(in->type, "b") == 0)
		out->type = S_IFBLK;
	else if (strcmp(in->type, "p") == 0)
		out->type = S_IFIFO;
	else
		return husk_error_set(err, EINVAL, "linux.devices: \"%s\": unknown type \"%s\"",
				      in->path, in->type);
	out->path = in->path;
	out->major = (unsigned int)in->major;
	out->minor = (unsigned int)in->minor;
	out->mode = in->has_file_mode ? (mode_t)in->file_mode : 0666;
	out->has_uid = in->has_uid;
	out->uid = in->uid;
	out->has_gid = in->has_gid;
	out->gid = in->gid;
	return 0;
}

static int create_dev_symlink(int devfd, const char *target, const char *name, husk_error_t *err)
{
	if (symlinkat(target, devfd, name) < 0 && errno != EEXIST)
		return husk_error_errno(err, "symlink \"/dev/%s\" -> \"%s\"", name, target);
	return 0;
}

/* /dev/ptmx must lead to this container's devpts instance, whatever the image shipped. */
static int create_ptmx_symlink(int devfd, husk_error_t *err)
{
	if (unlinkat(devfd, "ptmx", 0) < 0 && errno != ENOENT)
		return husk_error_errno(err, "remove \"/dev/ptmx\"");
	return create_dev_symlink(devfd, "pts/ptmx", "ptmx", err);
}

static int create_dev_symlinks(const husk_rootfs_ctx_t *ctx, husk_error_t *err)
{
	static const char *const links[][2] = {
	    {"/proc/self/fd", "fd"},
	    {"/proc/self/fd/0", "stdin"},
	    {"/proc/self/fd/1", "stdout"},
	    {"/proc/self/fd/2", "stderr"},
	};
	cleanup_close int devfd = husk_safe_mkdir_p(ctx->rootfd, "/dev", 0755, err);

	if (devfd < 0)
		return -1;
	for (size_t i = 0; i < sizeof links / sizeof links[0]; i++)
		if (create_dev_symlink(devfd, links[i][0], links[i][1], err) < 0)
			return -1;
	return create_ptmx_symlink(devfd, err);
}

int husk_rootfs_create_devices(const husk_rootfs_ctx_t *ctx, const husk_spec_t *spec,
			       husk_error_t *err)
{
	for (size_t i = 0; i < sizeof default_devices / sizeof default_devices[0]; i++)
		if (create_device(ctx, &default_devices[i], err) < 0)
			return -1;
	if (spec->linux_ != NULL) {
		for (size_t i = 0; i < spec->linux_->devices_len; i++) {
			device_t d;
			if (spec_device(&spec->linux_->devices[i], &d, err) < 0 ||
			    create_device(ctx, &d, err) < 0)
				return -1;
		}
	}
	return create_dev_symlinks(ctx, err);
}
