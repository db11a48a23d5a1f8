#include "config.h"
#include "utils.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>

void husk_freep(void *p)
{
	free(*(void **)p);
}

void husk_closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}

void husk_fclosep(FILE **f)
{
	if (*f != NULL)
		fclose(*f);
}

void husk_strvfreep(char ***v)
{
	strv_free(*v);
}

void husk_errorp(husk_error_t *err)
{
	husk_error_clear(err);
}

void *xmalloc0(size_t size)
{
	void *p = calloc(1, size ? size : 1);
	if (p == NULL)
		abort();
	return p;
}

void *xrealloc(void *p, size_t size)
{
	void *n = realloc(p, size ? size : 1);
	if (n == NULL)
		abort();
	return n;
}

char *xstrdup(const char *s)
{
	char *p;
	if (s == NULL)
		return NULL;
	p = strdup(s);
	if (p == NULL)
		abort();
	return p;
}

void strv_free(char **v)
{
	if (v == NULL)
		return;
	for (char **i = v; *i; i++)
		free(*i);
	free(v);
}

size_t strv_len(char *const *v)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	return n;
}

void husk_env_set(char ***env, size_t *len, const char *kv)
{
	size_t keylen = strcspn(kv, "="), out = 0;
	bool set = false;

	/* The first KEY= becomes kv; any later duplicate of KEY goes. */
	for (size_t i = 0; i < *len; i++) {
		char *e = (*env)[i];
		if (strncmp(e, kv, keylen) == 0 && e[keylen] == '=') {
			free(e);
			if (set)
				continue;
			e = xstrdup(kv);
			set = true;
		}
		(*env)[out++] = e;
	}
	*len = out;
	if (*env)
		(*env)[out] = NULL;
	if (set)
		return;
	*env = realloc(*env, sizeof(char *) * (*len + 2));
	if (*env == NULL)
		abort();
	(*env)[(*len)++] = xstrdup(kv);
	(*env)[*len] = NULL;
}

int husk_read_file_at(int dirfd, const char *path, char **out, size_t *len, husk_error_t *err)
{
	cleanup_close int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
	cleanup_free char *buf = NULL;
	size_t used = 0, cap = 0;

	if (fd < 0)
		return husk_error_errno(err, "open `%s`", path);
	for (;;) {
		ssize_t r;
		if (cap - used < 4096) {
			char *n;
			cap = cap ? cap * 2 : 8192;
			n = realloc(buf, cap + 1);
			if (n == NULL)
				return husk_error_set(err, ENOMEM, "read `%s`", path);
			buf = n;
		}
		r = read(fd, buf + used, cap - used);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return husk_error_errno(err, "read `%s`", path);
		if (r == 0)
			break;
		used += (size_t)r;
	}
	if (buf == NULL)
		buf = xmalloc0(1);
	buf[used] = '\0';
	if (len)
		*len = used;
	*out = steal_pointer(&buf);
	return 0;
}

int husk_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

int husk_write_file_at(int dirfd, const char *path, const char *data, husk_error_t *err)
{
	cleanup_close int fd = openat(dirfd, path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return husk_error_errno(err, "open `%s`", path);
	if (husk_write_all(fd, data, strlen(data)) < 0)
		return husk_error_errno(err, "write `%s` to `%s`", data, path);
	return 0;
}

int husk_write_file_atomic(int dirfd, const char *name, const char *data, size_t len,
			   husk_error_t *err)
{
	char tmp[PATH_MAX];
	cleanup_close int fd = -1;

	snprintf(tmp, sizeof tmp, ".%s.tmp", name);
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return husk_error_errno(err, "create `%s`", tmp);
	/* No fsync: what husk writes this way is runtime state on /run (tmpfs), gone at reboot
	 * anyway; rename keeps readers from ever seeing a half-written file. */
	if (husk_write_all(fd, data, len) < 0) {
		int e = errno;
		unlinkat(dirfd, tmp, 0);
		return husk_error_set(err, e, "write `%s`", tmp);
	}
	if (renameat(dirfd, tmp, dirfd, name) < 0) {
		int e = errno;
		unlinkat(dirfd, tmp, 0);
		return husk_error_set(err, e, "rename `%s` to `%s`", tmp, name);
	}
	return 0;
}

int husk_write_file_new(int dirfd, const char *name, const char *data, size_t len,
			husk_error_t *err)
{
	cleanup_close int fd =
		openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return husk_error_errno(err, "create `%s`", name);
	if (husk_write_all(fd, data, len) < 0)
		return husk_error_errno(err, "write `%s`", name);
	return 0;
}

int husk_mkdir_p(const char *path, mode_t mode, husk_error_t *err)
{
	cleanup_free char *copy = xstrdup(path);
	for (char *p = copy + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(copy, mode) < 0 && errno != EEXIST)
			return husk_error_errno(err, "mkdir `%s`", copy);
		*p = '/';
	}
	if (mkdir(copy, mode) < 0 && errno != EEXIST)
		return husk_error_errno(err, "mkdir `%s`", copy);
	return 0;
}

int husk_pidfd_open(pid_t pid)
{
	const char *off = getenv("HUSK_TEST_NO_PIDFD");

	if (off && strcmp(off, "1") == 0) {
		errno = ENOSYS;
		return -1;
	}
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

int husk_parse_int64(const char *s, long long *out)
{
	char *end;
	long long v;
	if (s == NULL || *s == '\0') {
		errno = EINVAL;
		return -1;
	}
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0)
		return -1;
	if (*end != '\0') {
		errno = EINVAL;
		return -1;
	}
	*out = v;
	return 0;
}
