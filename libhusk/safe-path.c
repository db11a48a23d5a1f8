/* husk: open paths inside an untrusted rootfs without ever leaving it. */
#include "config.h"
#include "safe-path.h"
#include "utils.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Same limit as the kernel's MAXSYMLINKS, so both resolvers fail alike on loops. */
#define SAFE_MAX_SYMLINKS 40
#define PROC_ROOT_INO 1

static atomic_bool force_fallback;
/* openat2 missing is a property of the kernel, not of a container: caching it is harmless. */
static atomic_bool openat2_missing;

void husk_safe_path_force_fallback(bool force)
{
	atomic_store(&force_fallback, force);
}

/* ---------------------------------------------------------------- userspace walk */

typedef struct {
	int *fds; /* fds[0] is the root; fds[depth-1] the current directory */
	size_t depth, cap;
} dir_stack_t;

static void dir_stack_free(dir_stack_t *s)
{
	for (size_t i = 0; i < s->depth; i++)
		close(s->fds[i]);
	free(s->fds);
	s->fds = NULL;
	s->depth = 0;
}

static void dir_stack_push(dir_stack_t *s, int fd)
{
	if (s->depth == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 16;
		s->fds = realloc(s->fds, s->cap * sizeof(int));
		if (s->fds == NULL)
			abort();
	}
	s->fds[s->depth++] = fd;
}

static int dir_stack_top(const dir_stack_t *s)
{
	return s->fds[s->depth - 1];
}

/* ".." at the root stays at the root, which is what RESOLVE_IN_ROOT does too. */
static void dir_stack_pop(dir_stack_t *s)
{
	if (s->depth > 1)
		close(s->fds[--s->depth]);
}

static void dir_stack_unwind_to_root(dir_stack_t *s)
{
	while (s->depth > 1)
		close(s->fds[--s->depth]);
}

/* Pop the next component off *rest (a heap buffer we own); NULL when none is left. */
static char *next_component(char **cursor)
{
	char *p = *cursor, *start;
	while (*p == '/')
		p++;
	if (*p == '\0')
		return NULL;
	start = p;
	while (*p && *p != '/')
		p++;
	if (*p)
		*p++ = '\0';
	*cursor = p;
	return start;
}

static bool only_slashes(const char *p)
{
	while (*p == '/')
		p++;
	return *p == '\0';
}

/*
 * procfs symlinks whose target is an absolute path or an "anon:[inode]" name are magic links
 * (fd/N, exe, cwd, root, ns/...); plain ones (self, thread-self, mounts, net) are relative.
 * Refusing the magic ones mirrors RESOLVE_NO_MAGICLINKS.
 */
static bool is_magic_link(int linkfd, const char *target)
{
	struct statfs sfs;
	if (fstatfs(linkfd, &sfs) < 0 || sfs.f_type != PROC_SUPER_MAGIC)
		return false;
	return target[0] == '/' || strchr(target, ':') != NULL;
}

/* Replace the pending path with "<target>/<rest>", so the link's components come next. */
static char *splice_link(const char *target, const char *rest)
{
	char *joined = NULL;
	if (asprintf(&joined, "%s/%s", target, rest) < 0)
		abort();
	return joined;
}

static int reopen_final(int parentfd, const char *name, int finalfd, int flags)
{
	struct stat want, got;
	int fd;

	if (fstat(finalfd, &want) < 0)
		return -1;
	if ((flags & O_DIRECTORY) && !S_ISDIR(want.st_mode) && !S_ISLNK(want.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	if (flags & O_PATH)
		return fcntl(finalfd, F_DUPFD_CLOEXEC, 3);
	if (S_ISDIR(want.st_mode))
		return openat(finalfd, ".", (flags & ~O_NOFOLLOW) | O_CLOEXEC);
	if (parentfd < 0 || name == NULL) {
		errno = EINVAL;
		return -1;
	}
	/* Reopen by name under O_NOFOLLOW, then make sure it is still the inode we checked. */
	fd = openat(parentfd, name, flags | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fstat(fd, &got) < 0 || got.st_dev != want.st_dev || got.st_ino != want.st_ino) {
		close(fd);
		errno = EXDEV;
		return -1;
	}
	return fd;
}

static int walk_in_root(int rootfd, const char *path, int flags)
{
	dir_stack_t stack = {0};
	cleanup_free char *pending = xstrdup(path);
	cleanup_free char *last_name = NULL;
	char *cursor = pending, *comp;
	int links = 0, rootdup, result = -1, saved;
	cleanup_close int finalfd = -1;
	cleanup_close int parentfd = -1;

	rootdup = openat(rootfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootdup < 0)
		return -1;
	dir_stack_push(&stack, rootdup);

	while ((comp = next_component(&cursor)) != NULL) {
		bool last = only_slashes(cursor);
		struct stat st;
		int fd;

		if (strcmp(comp, ".") == 0)
			continue;
		if (strcmp(comp, "..") == 0) {
			dir_stack_pop(&stack);
			continue;
		}
		fd = openat(dir_stack_top(&stack), comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			goto out;
		if (fstat(fd, &st) < 0) {
			saved = errno;
			close(fd);
			errno = saved;
			goto out;
		}
		if (S_ISLNK(st.st_mode) && !(last && (flags & O_NOFOLLOW))) {
			char target[PATH_MAX];
			ssize_t n = readlinkat(fd, "", target, sizeof target - 1);
			char *spliced;

			saved = n < 0 ? errno : 0;
			if (n >= 0)
				target[n] = '\0';
			if (n >= 0 && (n == 0 || is_magic_link(fd, target)))
				saved = n == 0 ? ENOENT : ELOOP;
			close(fd);
			if (saved == 0 && ++links > SAFE_MAX_SYMLINKS)
				saved = ELOOP;
			if (saved != 0) {
				errno = saved;
				goto out;
			}
			if (target[0] == '/')
				dir_stack_unwind_to_root(&stack);
			spliced = splice_link(target, cursor);
			free(pending);
			pending = spliced;
			cursor = pending;
			continue;
		}
		if (last) {
			/* Keep the parent and name: a non-directory is reopened by name. */
			finalfd = fd;
			parentfd = fcntl(dir_stack_top(&stack), F_DUPFD_CLOEXEC, 3);
			last_name = xstrdup(comp);
			break;
		}
		if (!S_ISDIR(st.st_mode)) {
			close(fd);
			errno = ENOTDIR;
			goto out;
		}
		dir_stack_push(&stack, fd);
	}
	if (finalfd < 0)
		finalfd = fcntl(dir_stack_top(&stack), F_DUPFD_CLOEXEC, 3);
	if (finalfd < 0)
		goto out;
	result = reopen_final(parentfd, last_name, finalfd, flags);
out:
	saved = errno;
	dir_stack_free(&stack);
	errno = saved;
	return result;
}

/* ---------------------------------------------------------------- public */

static int open_in_root_kernel(int rootfd, const char *path, int flags)
{
	struct open_how how = {
	    .flags = (uint64_t)(flags | O_CLOEXEC),
	    .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	int fd;

	/* EAGAIN: a concurrent rename raced the lookup; the kernel asks us to retry. */
	for (int i = 0; i < 32; i++) {
		fd = (int)syscall(SYS_openat2, rootfd, path, &how, sizeof how);
		if (fd >= 0 || errno != EAGAIN)
			break;
	}
	return fd;
}

static const char *nonempty(const char *path)
{
	return (path == NULL || *path == '\0') ? "." : path;
}

int husk_safe_open_fallback(int rootfd, const char *path, int flags, husk_error_t *err)
{
	int fd;
	if (flags & O_CREAT) {
		errno = EINVAL;
		return husk_error_errno(err, "open \"%s\" inside the rootfs: O_CREAT", path);
	}
	fd = walk_in_root(rootfd, nonempty(path), flags);
	if (fd < 0)
		return husk_error_errno(err, "open \"%s\" inside the rootfs", path);
	return fd;
}

int husk_safe_open(int rootfd, const char *path, int flags, husk_error_t *err)
{
	int fd;

	if (atomic_load(&force_fallback) || atomic_load(&openat2_missing))
		return husk_safe_open_fallback(rootfd, path, flags, err);
	if (flags & O_CREAT) {
		errno = EINVAL;
		return husk_error_errno(err, "open \"%s\" inside the rootfs: O_CREAT", path);
	}
	fd = open_in_root_kernel(rootfd, nonempty(path), flags);
	if (fd < 0 && errno == ENOSYS) {
		atomic_store(&openat2_missing, true);
		return husk_safe_open_fallback(rootfd, path, flags, err);
	}
	if (fd < 0)
		return husk_error_errno(err, "open \"%s\" inside the rootfs", path);
	return fd;
}

/* "a/b/c/" -> parent "a/b", name "c"; "c" -> parent "/", name "c"; "/" -> "/", ".". */
static void split_path(const char *path, char **parent, char **name)
{
	cleanup_free char *copy = xstrdup(nonempty(path));
	size_t len = strlen(copy);
	char *slash;

	while (len > 1 && copy[len - 1] == '/')
		copy[--len] = '\0';
	if (only_slashes(copy)) {
		*parent = xstrdup("/");
		*name = xstrdup(".");
		return;
	}
	slash = strrchr(copy, '/');
	if (slash == NULL) {
		*parent = xstrdup("/");
		*name = xstrdup(copy);
		return;
	}
	*name = xstrdup(slash + 1);
	*slash = '\0';
	*parent = xstrdup(*copy ? copy : "/");
}

/* Where a symlink named `name` in `parentfd` points, as a path inside the root. */
static char *link_target_path(int parentfd, const char *name, const char *parent_path)
{
	char target[PATH_MAX];
	char *joined = NULL;
	ssize_t n = readlinkat(parentfd, name, target, sizeof target - 1);

	if (n <= 0)
		return NULL;
	target[n] = '\0';
	if (target[0] == '/')
		return xstrdup(target);
	if (asprintf(&joined, "%s/%s", parent_path, target) < 0)
		abort();
	return joined;
}

static int mkdir_p_in_root(int rootfd, const char *path, mode_t mode, int depth, husk_error_t *err)
{
	cleanup_free char *parent = NULL;
	cleanup_free char *name = NULL;
	cleanup_free char *target = NULL;
	cleanup_close int parentfd = -1;
	int fd;

	fd = husk_safe_open(rootfd, path, O_PATH | O_DIRECTORY, NULL);
	if (fd >= 0)
		return fd;
	if (errno != ENOENT || depth > SAFE_MAX_SYMLINKS)
		return husk_error_errno(err, "mkdir \"%s\" inside the rootfs", path);

	split_path(path, &parent, &name);
	if ((strcmp(name, ".") == 0 || strcmp(name, "..") == 0) && strcmp(parent, "/") == 0)
		return husk_error_set(err, ENOENT, "mkdir \"%s\" inside the rootfs", path);
	/* For "a/.." the missing piece is "a" itself: creating the parent is enough. */
	parentfd = mkdir_p_in_root(rootfd, parent, mode, depth, err);
	if (parentfd < 0)
		return -1;
	if (strcmp(name, ".") != 0 && strcmp(name, "..") != 0 &&
	    mkdirat(parentfd, name, mode) < 0) {
		if (errno != EEXIST)
			return husk_error_errno(err, "mkdir \"%s\" inside the rootfs", path);
		/* A dangling symlink is in the way: create what it points to, inside the root. */
		target = link_target_path(parentfd, name, parent);
		if (target != NULL)
			return mkdir_p_in_root(rootfd, target, mode, depth + 1, err);
	}
	fd = husk_safe_open(rootfd, path, O_PATH | O_DIRECTORY, err);
	if (fd < 0)
		return husk_error_wrap(err, "mkdir \"%s\" inside the rootfs", path);
	return fd;
}

int husk_safe_mkdir_p(int rootfd, const char *path, mode_t mode, husk_error_t *err)
{
	return mkdir_p_in_root(rootfd, path, mode, 0, err);
}

int husk_safe_open_parent(int rootfd, const char *path, bool create_parents, char **name,
			  husk_error_t *err)
{
	cleanup_free char *parent = NULL;
	cleanup_free char *last = NULL;
	int fd;

	split_path(path, &parent, &last);
	if (create_parents)
		fd = husk_safe_mkdir_p(rootfd, parent, 0755, err);
	else
		fd = husk_safe_open(rootfd, parent, O_PATH | O_DIRECTORY, err);
	if (fd < 0)
		return -1;
	*name = steal_pointer(&last);
	return fd;
}

/* An existing dangling symlink is followed (inside the root) and its target created. */
static int create_file_target(int rootfd, const char *path, int depth, husk_error_t *err)
{
	cleanup_free char *name = NULL;
	cleanup_close int parentfd = -1;
	int fd;

	if (depth > SAFE_MAX_SYMLINKS)
		return husk_error_set(err, ELOOP, "create \"%s\" inside the rootfs", path);
	parentfd = husk_safe_open_parent(rootfd, path, true, &name, err);
	if (parentfd < 0)
		return -1;
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return husk_safe_open(rootfd, path, O_PATH, err);
	/* mknodat never follows a symlink: a planted link cannot redirect the creation. */
	if (mknodat(parentfd, name, S_IFREG | 0644, 0) < 0 && errno != EEXIST)
		return husk_error_errno(err, "create \"%s\" inside the rootfs", path);
	fd = husk_safe_open(rootfd, path, O_PATH, NULL);
	if (fd >= 0)
		return fd;
	if (errno != ENOENT)
		return husk_error_errno(err, "open \"%s\" inside the rootfs", path);
	{
		cleanup_free char *parent = NULL;
		cleanup_free char *dummy = NULL;
		cleanup_free char *next = NULL;
		split_path(path, &parent, &dummy);
		next = link_target_path(parentfd, name, parent);
		if (next == NULL)
			return husk_error_set(err, ENOENT, "create \"%s\" inside the rootfs", path);
		return create_file_target(rootfd, next, depth + 1, err);
	}
}

int husk_safe_mount_target(int rootfd, const char *path, bool dir, husk_error_t *err)
{
	if (dir)
		return husk_safe_mkdir_p(rootfd, path, 0755, err);
	return create_file_target(rootfd, path, 0, err);
}

int husk_proc_fd_verified(husk_error_t *err)
{
	cleanup_close int fd = open("/proc", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct statfs sfs;
	struct stat st;

	if (fd < 0)
		return husk_error_errno(err, "open \"/proc\"");
	if (fstatfs(fd, &sfs) < 0 || fstat(fd, &st) < 0)
		return husk_error_errno(err, "stat \"/proc\"");
	/* Only the root of a real procfs: not tmpfs dressed up, not a bind of /proc/<pid>. */
	if (sfs.f_type != PROC_SUPER_MAGIC || st.st_ino != PROC_ROOT_INO)
		return husk_error_set(err, EXDEV, "\"/proc\" is not the root of a procfs mount");
	return steal_fd(&fd);
}
