/* husk: one spec mount at a time, onto targets held by fd inside the rootfs. */
#include "config.h"
#include "rootfs.h"
#include "safe-path.h"
#include "utils.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif

/* Flags that only a remount can change on a bind mount (MS_BIND ignores them). */
#define BIND_REMOUNT_FLAGS                                                                         \
	(MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME | MS_RELATIME | \
	 MS_STRICTATIME | MS_NOSYMFOLLOW)
#define PROPAGATION_FLAGS (MS_PRIVATE | MS_SHARED | MS_SLAVE | MS_UNBINDABLE)
#define ATIME_FLAGS (MS_NOATIME | MS_RELATIME | MS_STRICTATIME)

int husk_mount_fds(const husk_rootfs_ctx_t *ctx, const char *source, int srcfd, int dstfd,
		   const char *type, unsigned long flags, const void *data)
{
	char src_path[32], dst_path[32];
	int r, saved;

	if (srcfd >= 0) {
		snprintf(src_path, sizeof src_path, "self/fd/%d", srcfd);
		source = src_path;
	}
	snprintf(dst_path, sizeof dst_path, "self/fd/%d", dstfd);
	/* mount(2) has no dirfd: borrow the cwd so the magic links resolve in the verified procfs,
	 * whatever "/proc" means at this moment. */
	if (fchdir(ctx->procfd) < 0)
		return -1;
	r = mount(source, dst_path, type, flags, data);
	saved = errno;
	if (fchdir(ctx->cwdfd) < 0 && r == 0) {
		saved = errno;
		r = -1;
	}
	errno = saved;
	return r;
}

/*
 * In a user namespace the kernel locks nosuid/nodev/noexec/atime of mounts inherited from
 * the host: a remount must repeat them or fail with EPERM. Carry over whatever the caller
 * did not ask to change.
 */
static unsigned long locked_flags(int fd, unsigned long flags, unsigned long clear_flags)
{
	struct statvfs sv;
	unsigned long keep = 0;

	if (fstatvfs(fd, &sv) < 0)
		return 0;
	if (sv.f_flag & ST_NOSUID)
		keep |= MS_NOSUID;
	if (sv.f_flag & ST_NODEV)
		keep |= MS_NODEV;
	if (sv.f_flag & ST_NOEXEC)
		keep |= MS_NOEXEC;
	if (sv.f_flag & ST_NODIRATIME)
		keep |= MS_NODIRATIME;
	if (!(flags & ATIME_FLAGS) && !(clear_flags & ATIME_FLAGS)) {
		if (sv.f_flag & ST_NOATIME)
			keep |= MS_NOATIME;
		else if (sv.f_flag & ST_RELATIME)
			keep |= MS_RELATIME;
		else
			keep |= MS_STRICTATIME;
	}
	return keep & ~clear_flags;
}

int husk_remount_bind(const husk_rootfs_ctx_t *ctx, int dstfd, unsigned long flags,
		      unsigned long clear_flags)
{
	unsigned long all = MS_REMOUNT | MS_BIND | (flags & BIND_REMOUNT_FLAGS) |
			    locked_flags(dstfd, flags, clear_flags);
	return husk_mount_fds(ctx, NULL, -1, dstfd, NULL, all, NULL);
}

/* ---------------------------------------------------------------- idmapped binds */

static int write_id_map(int procfd, pid_t pid, const char *file, const husk_idmap_t *map,
			size_t len, husk_error_t *err)
{
	char path[64];
	cleanup_free char *text = NULL;
	size_t used = 0;

	text = xmalloc0(len * 40 + 1);
	for (size_t i = 0; i < len; i++)
		used += (size_t)sprintf(text + used, "%u %u %u\n", map[i].container_id,
					map[i].host_id, map[i].size);
	snprintf(path, sizeof path, "%d/%s", pid, file);
	return husk_write_file_at(procfd, path, text, err);
}

/*
 * A user namespace carrying the mount's mapping: a helper child unshares one, we write its
 * maps and keep a reference to it through /proc/<pid>/ns/user, then let it go.
 */
static int idmap_userns_fd(const husk_rootfs_ctx_t *ctx, const husk_mount_t *m, husk_error_t *err)
{
	int ready[2], go[2], fd = -1, status;
	char c = 0, path[64];
	pid_t pid, proc_pid = 0;

	if (pipe2(ready, O_CLOEXEC) < 0)
		return husk_error_errno(err, "create pipe");
	if (pipe2(go, O_CLOEXEC) < 0) {
		close(ready[0]);
		close(ready[1]);
		return husk_error_errno(err, "create pipe");
	}
	pid = fork();
	if (pid == 0) {
		close(ready[0]);
		close(go[1]);
		char self[32] = "";
		if (unshare(CLONE_NEWUSER) < 0)
			_exit(1);
		/* fork() gave the parent our pid in the container's pid namespace; the procfs it
		 * writes through may belong to another (the host's): tell it our pid there. */
		if (readlinkat(ctx->procfd, "self", self, sizeof self - 1) <= 0)
			_exit(1);
		proc_pid = (pid_t)atoi(self);
		if (write(ready[1], &proc_pid, sizeof proc_pid) != sizeof proc_pid)
			_exit(1);
		/* EOF on `go` means the parent holds the namespace: we may leave. */
		while (read(go[0], &c, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	close(ready[1]);
	close(go[0]);
	if (pid < 0) {
		husk_error_errno(err, "fork the id-mapping helper");
		goto out;
	}
	if (read(ready[0], &proc_pid, sizeof proc_pid) != sizeof proc_pid || proc_pid <= 0) {
		husk_error_set(err, EIO, "the id-mapping helper failed to create a user namespace");
		goto out;
	}
	if (write_id_map(ctx->procfd, proc_pid, "uid_map", m->uid_mappings, m->uid_mappings_len,
			 err) < 0 ||
	    write_id_map(ctx->procfd, proc_pid, "gid_map", m->gid_mappings, m->gid_mappings_len,
			 err) < 0)
		goto out;
	snprintf(path, sizeof path, "%d/ns/user", proc_pid);
	fd = openat(ctx->procfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		husk_error_errno(err, "open \"/proc/%s\"", path);
out:
	close(ready[0]);
	close(go[1]);
	if (pid > 0)
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	return fd;
}

/* No mapping of its own: the spec allows the container's user namespace instead. */
static int mount_userns_fd(const husk_rootfs_ctx_t *ctx, const husk_mount_t *m, husk_error_t *err)
{
	int fd;
	if (m->uid_mappings_len > 0 || m->gid_mappings_len > 0) {
		if (m->uid_mappings_len == 0 || m->gid_mappings_len == 0)
			return husk_error_set(err, EINVAL,
					      "uidMappings and gidMappings must be given together");
		return idmap_userns_fd(ctx, m, err);
	}
	if (!ctx->userns)
		return husk_error_set(
		    err, EINVAL, "idmap without uidMappings/gidMappings needs a user namespace");
	fd = openat(ctx->procfd, "self/ns/user", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return husk_error_errno(err, "open \"/proc/self/ns/user\"");
	return fd;
}

/* Only a detached tree can be idmapped: a clone of srcfd's mount, mapped through usernsfd. */
static int idmapped_tree(const husk_mount_t *m, const husk_mount_options_t *o, int srcfd,
			 int usernsfd, husk_error_t *err)
{
	unsigned int tree_flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH;
	struct mount_attr attr = {.attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)usernsfd};
	cleanup_close int tree = -1;

	if (o->flags & MS_REC)
		tree_flags |= AT_RECURSIVE;
	tree = open_tree(srcfd, "", tree_flags);
	if (tree < 0)
		return husk_error_errno(err, "clone mount \"%s\"", m->source);
	if (mount_setattr(tree, "", AT_EMPTY_PATH | (o->rec_idmap ? AT_RECURSIVE : 0), &attr,
			  sizeof attr) < 0)
		return husk_error_errno(err, "idmap mount \"%s\"", m->source);
	return steal_fd(&tree);
}

/* made: the tree the runtime made for this mount when we may not (or -1): it only needs
 * attaching. */
static int idmapped_bind(const husk_rootfs_ctx_t *ctx, const husk_mount_t *m,
			 const husk_mount_options_t *o, int made, int srcfd, int dstfd,
			 husk_error_t *err)
{
	cleanup_close int tree = -1;
	cleanup_close int usernsfd = -1;

	if (made < 0) {
		if ((usernsfd = mount_userns_fd(ctx, m, err)) < 0 ||
		    (tree = idmapped_tree(m, o, srcfd, usernsfd, err)) < 0)
			return -1;
		made = tree;
	}
	if (move_mount(made, "", dstfd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return husk_error_errno(err, "mount \"%s\" to \"%s\"", m->source, m->destination);
	return 0;
}

void husk_rootfs_trees_close(int *trees, size_t len)
{
	for (size_t i = 0; trees && i < len; i++)
		if (trees[i] >= 0)
			close(trees[i]);
	free(trees);
}

static int idmapped_tree_of(const husk_rootfs_ctx_t *ctx, const husk_mount_t *m,
			    const husk_mount_options_t *o, const char *bundle, const char *userns,
			    husk_error_t *err)
{
	cleanup_free char *path = NULL;
	cleanup_close int srcfd = -1;
	cleanup_close int usernsfd = -1;

	if (m->source == NULL)
		return husk_error_set(err, EINVAL, "mount \"%s\": no source", m->destination);
	if (m->source[0] == '/')
		path = xstrdup(m->source);
	else if (asprintf(&path, "%s/%s", bundle, m->source) < 0)
		abort();
	if ((srcfd = open(path, O_PATH | O_CLOEXEC)) < 0)
		return husk_error_errno(err, "mount \"%s\" to \"%s\"", m->source, m->destination);
	if (m->uid_mappings_len || m->gid_mappings_len)
		usernsfd = mount_userns_fd(ctx, m, err);
	else if ((usernsfd = open(userns, O_RDONLY | O_CLOEXEC)) < 0)
		husk_error_errno(err, "open the container's user namespace `%s`", userns);
	if (usernsfd < 0)
		return -1;
	return idmapped_tree(m, o, srcfd, usernsfd, err);
}

int husk_rootfs_idmapped_trees(const husk_spec_t *spec, const char *bundle, const char *userns,
			       int **trees, size_t *n, husk_error_t *err)
{
	husk_rootfs_ctx_t ctx = {.procfd = -1, .rootfd = -1, .cwdfd = -1, .userns = true};
	int *v = xmalloc0((spec->mounts_len + 1) * sizeof *v);
	int r = 0;

	*n = 0;
	for (size_t i = 0; i < spec->mounts_len; i++)
		v[i] = -1;
	for (size_t i = 0; r == 0 && i < spec->mounts_len; i++) {
		const husk_mount_t *m = &spec->mounts[i];
		husk_mount_options_t o __attribute__((cleanup(husk_mount_options_free)));

		husk_mount_options_parse(m->options, m->options_len, &o);
		if (!(o.flags & MS_BIND) || !o.idmap)
			continue;
		if (ctx.procfd < 0 && (ctx.procfd = husk_proc_fd_verified(err)) < 0)
			r = -1;
		else if ((v[i] = idmapped_tree_of(&ctx, m, &o, bundle, userns, err)) < 0)
			r = husk_error_wrap(err, "mounts[%zu]", i);
		else
			(*n)++;
	}
	husk_closep(&ctx.procfd);
	if (r < 0) {
		husk_rootfs_trees_close(v, spec->mounts_len);
		*n = 0;
		return -1;
	}
	*trees = v;
	return 0;
}

/* ---------------------------------------------------------------- cgroups */

typedef struct {
	char *mountpoint; /* host path, e.g. /sys/fs/cgroup/cpu */
	char *fstype;	  /* cgroup or cgroup2 */
	char *options;	  /* superblock options without rw/ro, e.g. "cpu,cpuacct" */
} cgroup_mount_t;

static void cgroup_mounts_free(cgroup_mount_t *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].mountpoint);
		free(v[i].fstype);
		free(v[i].options);
	}
	free(v);
}

static char *strip_rw_ro(const char *superopts)
{
	cleanup_free char *copy = xstrdup(superopts);
	char *out = xmalloc0(strlen(superopts) + 1), *save = NULL;

	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (strcmp(t, "rw") == 0 || strcmp(t, "ro") == 0)
			continue;
		if (*out)
			strcat(out, ",");
		strcat(out, t);
	}
	return out;
}

/* The host's hierarchies directly below /sys/fs/cgroup, from our (still host) mountinfo. */
static int host_cgroup_mounts(const husk_rootfs_ctx_t *ctx, cgroup_mount_t **out, size_t *n,
			      husk_error_t *err)
{
	cleanup_free char *text = NULL;
	cgroup_mount_t *v = NULL;
	size_t len = 0;
	char *save = NULL;

	if (husk_read_file_at(ctx->procfd, "self/mountinfo", &text, NULL, err) < 0)
		return -1;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char mp[4096], fstype[64], superopts[1024];
		char *sep = strstr(line, " - ");
		const char *base;

		if (sep == NULL || sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1 ||
		    sscanf(sep + 3, "%63s %*s %1023s", fstype, superopts) != 2)
			continue;
		if (strcmp(fstype, "cgroup") != 0 && strcmp(fstype, "cgroup2") != 0)
			continue;
		if (strncmp(mp, "/sys/fs/cgroup/", 15) != 0)
			continue;
		base = mp + 15;
		if (*base == '\0' || strchr(base, '/') != NULL)
			continue;
		v = realloc(v, (len + 1) * sizeof *v);
		if (v == NULL)
			abort();
		v[len].mountpoint = xstrdup(mp);
		v[len].fstype = xstrdup(fstype);
		v[len].options = strip_rw_ro(superopts);
		len++;
	}
	*out = v;
	*n = len;
	return 0;
}

/* Our cgroup in a hierarchy, from /proc/self/cgroup ("ID:controllers:path"). */
static char *own_cgroup_path(const husk_rootfs_ctx_t *ctx, const char *controllers)
{
	cleanup_free char *text = NULL;
	char *save = NULL;

	if (husk_read_file_at(ctx->procfd, "self/cgroup", &text, NULL, NULL) < 0)
		return NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *c = strchr(line, ':'), *p;
		if (c == NULL || (p = strchr(c + 1, ':')) == NULL)
			continue;
		*p = '\0';
		if (strcmp(c + 1, controllers) == 0)
			return xstrdup(p + 1);
	}
	return NULL;
}

/*
 * Without a cgroup namespace the container sees only its own cgroup, bound from the host;
 * in one, a fresh mount of the hierarchy shows the namespace's root already, and takes the
 * mount's flags (ro included) at once. *bound says which it was: a bind needs a remount.
 */
static int mount_one_hierarchy(const husk_rootfs_ctx_t *ctx, const husk_mount_t *m,
			       const husk_mount_options_t *o, const char *fstype,
			       const char *host_mountpoint, const char *options, int dstfd,
			       bool *bound, husk_error_t *err)
{
	unsigned long flags = o->flags & ~(MS_BIND | MS_REC | MS_REMOUNT);
	cleanup_free char *own = NULL;
	cleanup_free char *host_path = NULL;
	cleanup_close int srcfd = -1;

	*bound = false;
	if (ctx->cgroupns) {
		if (husk_mount_fds(ctx, "cgroup", -1, dstfd, fstype, flags,
				   *options ? options : NULL) == 0)
			return 0;
		if (errno != EPERM && errno != EBUSY)
			return husk_error_errno(err, "mount \"%s\" on \"%s\"", fstype,
						m->destination);
	}
	own = own_cgroup_path(ctx, strcmp(fstype, "cgroup2") == 0 ? "" : options);
	if (asprintf(&host_path, "%s%s", host_mountpoint, own ? own : "/") < 0)
		abort();
	srcfd = open(host_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (srcfd < 0)
		return husk_error_errno(err, "mount \"%s\" to \"%s\"", host_path, m->destination);
	if (husk_mount_fds(ctx, NULL, srcfd, dstfd, NULL, MS_BIND | MS_REC, NULL) < 0)
		return husk_error_errno(err, "mount \"%s\" to \"%s\"", host_path, m->destination);
	*bound = true;
	return 0;
}

static int reopen_and_remount(const husk_rootfs_ctx_t *ctx, const char *path,
			      const husk_mount_options_t *o, husk_error_t *err)
{
	cleanup_close int fd = husk_safe_open(ctx->rootfd, path, O_PATH, err);
	if (fd < 0)
		return -1;
	if (husk_remount_bind(ctx, fd, o->flags, o->clear_flags) < 0)
		return husk_error_errno(err, "remount \"%s\"", path);
	return 0;
}

/* cgroup v1 or hybrid host: a tmpfs with one directory per hierarchy, like runc. */
static int mount_cgroup_v1(const husk_rootfs_ctx_t *ctx, const husk_mount_t *m,
			   const husk_mount_options_t *o, int dstfd, husk_error_t *err)
{
	unsigned long tmpfs_flags = (o->flags & ~(MS_RDONLY | MS_BIND | MS_REC | MS_REMOUNT)) |
				    MS_NOSUID | MS_NODEV | MS_NOEXEC;
	cgroup_mount_t *hier = NULL;
	size_t n = 0;
	int ret = -1;

	if (husk_mount_fds(ctx, "tmpfs", -1, dstfd, "tmpfs", tmpfs_flags, "mode=755") < 0)
		return husk_error_errno(err, "mount \"tmpfs\" on \"%s\"", m->destination);
	if (host_cgroup_mounts(ctx, &hier, &n, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const char *name = hier[i].mountpoint + 15;
		cleanup_free char *sub = NULL;
		cleanup_close int subfd = -1;
		bool bound;

		if (asprintf(&sub, "%s/%s", m->destination, name) < 0)
			abort();
		subfd = husk_safe_mkdir_p(ctx->rootfd, sub, 0755, err);
		if (subfd < 0 || mount_one_hierarchy(ctx, m, o, hier[i].fstype, hier[i].mountpoint,
						     hier[i].options, subfd, &bound, err) < 0)
			goto out;
		/* Bound host dirs ignore ro at bind time: remount. */
		if (bound && (o->flags & BIND_REMOUNT_FLAGS) &&
		    reopen_and_remount(ctx, sub, o, err) < 0)
			goto out;
	}
	if (o->flags & MS_RDONLY) {
		cleanup_close int top = husk_safe_open(ctx->rootfd, m->destination, O_PATH, err);
		if (top < 0)
			goto out;
		if (husk_mount_fds(ctx, NULL, -1, top, NULL, MS_REMOUNT | MS_RDONLY | tmpfs_flags,
				   NULL) < 0) {
			husk_error_errno(err, "remount \"%s\" read-only", m->destination);
			goto out;
		}
	}
	ret = 0;
out:
	cgroup_mounts_free(hier, n);
	return ret;
}

static int mount_cgroup(const husk_rootfs_ctx_t *ctx, const husk_mount_t *m,
			const husk_mount_options_t *o, int dstfd, husk_error_t *err)
{
	struct statfs sfs;

	if (statfs("/sys/fs/cgroup", &sfs) == 0 && sfs.f_type == CGROUP2_SUPER_MAGIC) {
		const char *opts = o->data ? o->data : "";
		bool bound;
		if (mount_one_hierarchy(ctx, m, o, "cgroup2", "/sys/fs/cgroup", opts, dstfd, &bound,
					err) < 0)
			return -1;
		if (bound && (o->flags & BIND_REMOUNT_FLAGS))
			return reopen_and_remount(ctx, m->destination, o, err);
		return 0;
	}
	return mount_cgroup_v1(ctx, m, o, dstfd, err);
}

/* ---------------------------------------------------------------- one spec mount */

static bool is_type(const husk_mount_t *m, const char *type)
{
	return m->type != NULL && strcmp(m->type, type) == 0;
}

/* proc and sysfs on a symlink could land anywhere; runc refuses them too. */
static int refuse_symlink_destination(const husk_rootfs_ctx_t *ctx, const husk_mount_t *m,
				      husk_error_t *err)
{
	cleanup_close int fd =
	    husk_safe_open(ctx->rootfd, m->destination, O_PATH | O_NOFOLLOW, NULL);
	struct stat st;

	if (fd >= 0 && fstat(fd, &st) == 0 && S_ISLNK(st.st_mode))
		return husk_error_set(err, ELOOP,
				      "mount \"%s\" on \"%s\": destination is a symlink", m->type,
				      m->destination);
	return 0;
}

/* sysfs needs a network namespace of our own user namespace; without, bind the host's. */
static int mount_sysfs_fallback(const husk_rootfs_ctx_t *ctx, const husk_mount_t *m, int dstfd,
				husk_error_t *err)
{
	cleanup_close int srcfd = open("/sys", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (srcfd < 0 || husk_mount_fds(ctx, NULL, srcfd, dstfd, NULL, MS_BIND | MS_REC, NULL) < 0)
		return husk_error_errno(err, "mount \"/sys\" to \"%s\"", m->destination);
	return 0;
}

static int mount_filesystem(const husk_rootfs_ctx_t *ctx, const husk_mount_t *m,
			    const husk_mount_options_t *o, int dstfd, bool *was_bound,
			    husk_error_t *err)
{
	unsigned long flags = o->flags & ~PROPAGATION_FLAGS;
	const char *source = m->source ? m->source : (m->type ? m->type : "none");

	if (husk_mount_fds(ctx, source, -1, dstfd, m->type, flags, o->data) == 0)
		return 0;
	if (errno == EPERM && is_type(m, "sysfs") && !(flags & MS_REMOUNT)) {
		*was_bound = true;
		return mount_sysfs_fallback(ctx, m, dstfd, err);
	}
	return husk_error_errno(err, "mount \"%s\" on \"%s\"", source, m->destination);
}

static int open_bind_source(const husk_mount_t *m, bool *is_dir, husk_error_t *err)
{
	struct stat st;
	/* Host side, relative to the caller's cwd (the bundle); the config is trusted. */
	int fd = m->source ? open(m->source, O_PATH | O_CLOEXEC) : (errno = EINVAL, -1);

	if (fd < 0)
		return husk_error_errno(err, "mount \"%s\" to \"%s\"",
					m->source ? m->source : "(no source)", m->destination);
	if (fstat(fd, &st) < 0) {
		husk_error_errno(err, "stat \"%s\"", m->source);
		close(fd);
		return -1;
	}
	*is_dir = S_ISDIR(st.st_mode);
	return fd;
}

static int apply_after_mount(const husk_rootfs_ctx_t *ctx, const husk_mount_t *m,
			     const husk_mount_options_t *o, bool bound, husk_error_t *err)
{
	cleanup_close int top = -1;

	/* The target fd still names the covered directory: reopen to reach the new mount. */
	top = husk_safe_open(ctx->rootfd, m->destination, O_PATH, err);
	if (top < 0)
		return husk_error_wrap(err, "mount \"%s\"", m->destination);
	if (bound && (o->flags & BIND_REMOUNT_FLAGS) &&
	    husk_remount_bind(ctx, top, o->flags, o->clear_flags) < 0)
		return husk_error_errno(err, "remount \"%s\"", m->destination);
	for (size_t i = 0; i < o->propagation_len; i++)
		if (husk_mount_fds(ctx, NULL, -1, top, NULL, o->propagation[i], NULL) < 0)
			return husk_error_errno(err, "set propagation of \"%s\"", m->destination);
	if (o->rec_attr_set || o->rec_attr_clr) {
		struct mount_attr attr = {.attr_set = o->rec_attr_set, .attr_clr = o->rec_attr_clr};
		if (mount_setattr(top, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) < 0)
			return husk_error_errno(err, "set recursive attributes of \"%s\"",
						m->destination);
	}
	return 0;
}

int husk_rootfs_do_mount(const husk_rootfs_ctx_t *ctx, const husk_spec_t *spec,
			 const husk_mount_t *m, husk_error_t *err)
{
	husk_mount_options_t o __attribute__((cleanup(husk_mount_options_free)));
	cleanup_close int srcfd = -1;
	cleanup_close int dstfd = -1;
	bool bind, is_dir = true, bound;

	husk_mount_options_parse(m->options, m->options_len, &o);
	if (m->destination == NULL)
		return husk_error_set(err, EINVAL, "mount without a destination");
	bind = (o.flags & MS_BIND) != 0;
	bound = bind;
	if (bind) {
		srcfd = open_bind_source(m, &is_dir, err);
		if (srcfd < 0)
			return -1;
	}
	if ((is_type(m, "proc") || is_type(m, "sysfs")) &&
	    refuse_symlink_destination(ctx, m, err) < 0)
		return -1;
	dstfd = husk_safe_mount_target(ctx->rootfd, m->destination, is_dir, err);
	if (dstfd < 0)
		return husk_error_wrap(err, "mount \"%s\"", m->destination);

	if (bind && o.idmap) {
		int made = ctx->idmap_trees ? ctx->idmap_trees[m - spec->mounts] : -1;
		if (idmapped_bind(ctx, m, &o, made, srcfd, dstfd, err) < 0)
			return -1;
	} else if (bind) {
		if (husk_mount_fds(ctx, NULL, srcfd, dstfd, NULL, MS_BIND | (o.flags & MS_REC),
				   NULL) < 0)
			return husk_error_errno(err, "mount \"%s\" to \"%s\"", m->source,
						m->destination);
	} else if ((is_type(m, "cgroup") || is_type(m, "cgroup2")) && !(o.flags & MS_REMOUNT)) {
		if (mount_cgroup(ctx, m, &o, dstfd, err) < 0)
			return -1;
		bound = false;
		o.flags &= ~BIND_REMOUNT_FLAGS;
	} else if (mount_filesystem(ctx, m, &o, dstfd, &bound, err) < 0) {
		return -1;
	}
	return apply_after_mount(ctx, m, &o, bound, err);
}
