/* husk: cgroups: mode detection, path resolution, value conversions, dispatch. */
#include "config.h"
#include "cgroup.h"
#include "cgroup-internal.h"
#include "utils.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>

static char *cg_strdup_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *cg_strdup_printf(const char *fmt, ...)
{
	char *s = NULL;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r < 0)
		abort();
	return s;
}

/* ---------------------------------------------------------------- mode */

static bool is_cgroup2(const char *path)
{
	struct statfs st;
	return statfs(path, &st) == 0 && st.f_type == CGROUP2_SUPER_MAGIC;
}

int husk_cgroup_mode(husk_cgroup_mode_t *mode, husk_error_t *err)
{
	/* The layout cannot change under a running process; a race between two first callers
	 * only computes the same answer twice. */
	static int cached = -1;
	struct statfs st;

	if (cached >= 0) {
		*mode = (husk_cgroup_mode_t)cached;
		return 0;
	}
	if (statfs(HUSK_CGROUP_MNT, &st) < 0)
		return husk_error_errno(err, "statfs `%s`", HUSK_CGROUP_MNT);
	if (st.f_type == CGROUP2_SUPER_MAGIC)
		cached = HUSK_CGROUP_MODE_UNIFIED;
	else if (is_cgroup2(HUSK_CGROUP_HYBRID_UNIFIED_MNT))
		cached = HUSK_CGROUP_MODE_HYBRID;
	else
		cached = HUSK_CGROUP_MODE_LEGACY;
	*mode = (husk_cgroup_mode_t)cached;
	return 0;
}

/* ---------------------------------------------------------------- paths */

/* Collapse repeated and trailing slashes, refuse "..", make it absolute. */
static int normalize_path(const char *in, char **out, husk_error_t *err)
{
	size_t n = strlen(in);
	cleanup_free char *buf = xmalloc0(n + 2);
	size_t o = 0;
	const char *p = in;

	while (*p) {
		const char *end;
		size_t len;

		while (*p == '/')
			p++;
		if (*p == '\0')
			break;
		end = strchr(p, '/');
		len = end ? (size_t)(end - p) : strlen(p);
		if (len == 2 && p[0] == '.' && p[1] == '.')
			return husk_error_set(err, EINVAL, "linux.cgroupsPath: \"..\" not allowed");
		if (!(len == 1 && p[0] == '.')) {
			buf[o++] = '/';
			memcpy(buf + o, p, len);
			o += len;
		}
		p += len;
	}
	if (o == 0)
		return husk_error_set(
		    err, EINVAL, "linux.cgroupsPath: \"%s\": the root cgroup is not allowed", in);
	buf[o] = '\0';
	*out = steal_pointer(&buf);
	return 0;
}

int husk_cgroup_expand_slice(const char *slice, char **out, husk_error_t *err)
{
	static const char suffix[] = ".slice";
	size_t len = strlen(slice), slen = sizeof(suffix) - 1;
	cleanup_free char *name = NULL;
	cleanup_free char *path = NULL;
	size_t plen = 0, cap;

	if (len <= slen || strcmp(slice + len - slen, suffix) != 0 || strchr(slice, '/'))
		return husk_error_set(err, EINVAL, "invalid slice name \"%s\"", slice);
	if (strcmp(slice, "-.slice") == 0) {
		*out = xstrdup("");
		return 0;
	}
	name = strndup(slice, len - slen);
	if (name == NULL)
		abort();
	/* Every dash starts a nested slice: "a-b" lives in "a.slice/a-b.slice". */
	cap = (len + slen + 2) * (len + 1);
	path = xmalloc0(cap);
	for (const char *p = name;; p++) {
		if (*p != '-' && *p != '\0')
			continue;
		if (p == name || p[-1] == '-' || (*p == '-' && p[1] == '\0') ||
		    (*p == '\0' && p[-1] == '-'))
			return husk_error_set(err, EINVAL, "invalid slice name \"%s\"", slice);
		plen += (size_t)snprintf(path + plen, cap - plen, "/%.*s%s", (int)(p - name), name,
					 suffix);
		if (*p == '\0')
			break;
	}
	*out = steal_pointer(&path);
	return 0;
}

int husk_cgroup_systemd_path(const char *cgroups_path, const char *id, char **out,
			     husk_error_t *err)
{
	cleanup_free char *copy = NULL;
	cleanup_free char *slice_path = NULL;
	char *slice, *prefix, *name, *c1, *c2;

	if (cgroups_path == NULL || *cgroups_path == '\0') {
		*out = cg_strdup_printf("/system.slice/husk-%s.scope", id);
		return 0;
	}
	copy = xstrdup(cgroups_path);
	c1 = strchr(copy, ':');
	c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	if (c1 == NULL || c2 == NULL || strchr(c2 + 1, ':'))
		return husk_error_set(err, EINVAL,
				      "linux.cgroupsPath: \"%s\": expected \"slice:prefix:name\" "
				      "for systemd cgroups",
				      cgroups_path);
	*c1 = *c2 = '\0';
	slice = copy;
	prefix = c1 + 1;
	name = c2 + 1;
	if (*slice == '\0')
		slice = "system.slice";
	if (*name == '\0')
		name = (char *)id;
	if (strchr(prefix, '/') || strchr(name, '/') || strcmp(name, "..") == 0 ||
	    strcmp(name, ".") == 0)
		return husk_error_set(err, EINVAL, "linux.cgroupsPath: \"%s\": invalid unit name",
				      cgroups_path);
	if (husk_cgroup_expand_slice(slice, &slice_path, err) < 0)
		return husk_error_wrap(err, "linux.cgroupsPath");
	/* A name that is itself a slice is used as is; anything else becomes a scope. */
	if (strlen(name) > 6 && strcmp(name + strlen(name) - 6, ".slice") == 0)
		*out = cg_strdup_printf("%s/%s", slice_path, name);
	else if (*prefix)
		*out = cg_strdup_printf("%s/%s-%s.scope", slice_path, prefix, name);
	else
		*out = cg_strdup_printf("%s/%s.scope", slice_path, name);
	return 0;
}

int husk_cgroup_path_from_spec(const char *cgroups_path, const char *id, bool systemd, char **out,
			       husk_error_t *err)
{
	cleanup_free char *raw = NULL;

	if (systemd) {
		if (husk_cgroup_systemd_path(cgroups_path, id, &raw, err) < 0)
			return -1;
	} else if (cgroups_path == NULL || *cgroups_path == '\0') {
		if (id == NULL || *id == '\0' || strchr(id, '/'))
			return husk_error_set(err, EINVAL,
					      "invalid container id for a cgroup path");
		if (asprintf(&raw, HUSK_CGROUP_DEFAULT_PARENT "/%s", id) < 0)
			abort();
	} else {
		raw = xstrdup(cgroups_path);
	}
	return normalize_path(raw, out, err);
}

int husk_cgroup_resolve(const husk_spec_t *spec, const char *id, bool systemd, husk_cgroup_t *cg,
			husk_error_t *err)
{
	const char *cgroups_path = spec && spec->linux_ ? spec->linux_->cgroups_path : NULL;
	husk_cgroup_mode_t mode;
	char *path = NULL;

	if (husk_cgroup_mode(&mode, err) < 0)
		return -1;
	if (husk_cgroup_path_from_spec(cgroups_path, id, systemd, &path, err) < 0)
		return -1;
	memset(cg, 0, sizeof *cg);
	cg->mode = mode;
	cg->path = path;
	cg->systemd = systemd;
	if (spec && spec->linux_) {
		cg->devices = spec->linux_->devices;
		cg->devices_len = spec->linux_->devices_len;
	}
	return 0;
}

static void made_free(husk_cgroup_t *cg)
{
	if (cg->made == NULL)
		return;
	husk_cg_undo_free(cg->made);
	free(cg->made);
	cg->made = NULL;
}

void husk_cgroup_free(husk_cgroup_t *cg)
{
	if (cg == NULL)
		return;
	free(cg->path);
	cg->path = NULL;
	made_free(cg);
	husk_cgroup_systemd_free(cg);
}

/* ---------------------------------------------------------------- conversions */

uint64_t husk_cgroup_shares_to_weight(uint64_t shares)
{
	if (shares == 0)
		return 0;
	if (shares < 2)
		shares = 2;
	if (shares > 262144)
		shares = 262144;
	return 1 + ((shares - 2) * 9999) / 262142;
}

uint64_t husk_cgroup_blkio_to_io_weight(uint64_t weight)
{
	if (weight == 0)
		return 0;
	if (weight < 10)
		weight = 10;
	if (weight > 1000)
		weight = 1000;
	return 1 + ((weight - 10) * 9999) / 990;
}

int husk_cgroup_swap_to_v2(bool has_swap, int64_t swap, bool has_limit, int64_t limit, int64_t *out,
			   bool *set, husk_error_t *err)
{
	int64_t mem = has_limit ? limit : 0;

	*out = 0;
	*set = false;
	/* v1 habit: an unlimited memory with no swap given means unlimited swap too. */
	if (mem == -1 && (!has_swap || swap == 0)) {
		*out = -1;
		*set = true;
		return 0;
	}
	if (!has_swap || swap == 0)
		return 0;
	if (swap == -1) {
		*out = -1;
		*set = true;
		return 0;
	}
	if (swap < 0)
		return husk_error_set(err, EINVAL,
				      "linux.resources.memory.swap: invalid value %" PRId64, swap);
	if (mem <= 0)
		return husk_error_set(
		    err, EINVAL, "linux.resources.memory.swap: a swap limit needs a memory limit");
	if (swap < mem)
		return husk_error_set(err, EINVAL,
				      "linux.resources.memory.swap: %" PRId64
				      " is lower than memory.limit %" PRId64
				      " (swap is memory+swap)",
				      swap, mem);
	*out = swap - mem;
	*set = true;
	return 0;
}

static const char *parse_uint(const char *p, unsigned long *v)
{
	char *end;
	if (!isdigit((unsigned char)*p))
		return NULL;
	errno = 0;
	*v = strtoul(p, &end, 10);
	if (errno)
		return NULL;
	return end;
}

/* One "N", "N-M" or "N-M:used/group" element; returns the end or NULL. */
static const char *parse_cpu_range(const char *p)
{
	unsigned long a, b, used, group;

	if ((p = parse_uint(p, &a)) == NULL)
		return NULL;
	if (*p != '-')
		return p;
	if ((p = parse_uint(p + 1, &b)) == NULL || b < a)
		return NULL;
	if (*p != ':')
		return p;
	if ((p = parse_uint(p + 1, &used)) == NULL || *p != '/')
		return NULL;
	if ((p = parse_uint(p + 1, &group)) == NULL || used == 0 || group == 0 || used > group)
		return NULL;
	return p;
}

int husk_cgroup_check_cpu_list(const char *list, const char *field, husk_error_t *err)
{
	const char *p = list;

	if (list == NULL || *list == '\0')
		return 0;
	for (;;) {
		p = parse_cpu_range(p);
		if (p == NULL)
			break;
		if (*p == '\0' || (*p == '\n' && p[1] == '\0'))
			return 0;
		if (*p != ',')
			break;
		p++;
	}
	return husk_error_set(err, EINVAL, "%s: invalid list \"%s\"", field, list);
}

int husk_cgroup_check_unified_key(const char *key, husk_error_t *err)
{
	const char *dot = strchr(key, '.');

	if (*key == '\0' || strchr(key, '/') || strcmp(key, "..") == 0 || dot == NULL ||
	    dot == key || dot[1] == '\0')
		return husk_error_set(err, EINVAL,
				      "linux.resources.unified: key \"%s\": invalid name", key);
	return 0;
}

int husk_cgroup_check_resources(const husk_resources_t *res, husk_error_t *err)
{
	if (res == NULL)
		return 0;
	if (res->cpu) {
		const husk_cpu_t *c = res->cpu;
		if (husk_cgroup_check_cpu_list(c->cpus, "linux.resources.cpu.cpus", err) < 0 ||
		    husk_cgroup_check_cpu_list(c->mems, "linux.resources.cpu.mems", err) < 0)
			return -1;
		if (c->has_burst && c->has_quota && c->quota > 0 && c->burst > (uint64_t)c->quota)
			return husk_error_set(err, EINVAL,
					      "linux.resources.cpu.burst: %" PRIu64
					      " is larger than quota %" PRId64,
					      c->burst, c->quota);
	}
	if (res->memory && res->memory->has_swappiness && res->memory->swappiness > 100)
		return husk_error_set(err, EINVAL,
				      "linux.resources.memory.swappiness: %" PRIu64
				      " is out of range 0-100",
				      res->memory->swappiness);
	for (size_t i = 0; i < res->unified_len; i++)
		if (husk_cgroup_check_unified_key(res->unified[i].key, err) < 0)
			return -1;
	return 0;
}

/* ---------------------------------------------------------------- default devices */

/* rwm on one character device. */
#define CHAR_DEVICE(maj, min)                                                                      \
	{                                                                                          \
		.allow = true, .type = "c", .has_major = true, .major = (maj), .has_minor = true,  \
		.minor = (min), .access = "rwm"                                                    \
	}

const husk_device_cgroup_t husk_cgroup_default_devices[] = {
	{.allow = true, .type = "c", .access = "m"}, /* mknod of any device */
	{.allow = true, .type = "b", .access = "m"},
	CHAR_DEVICE(1, 3), /* null */
	CHAR_DEVICE(1, 5), /* zero */
	CHAR_DEVICE(1, 7), /* full */
	CHAR_DEVICE(1, 8), /* random */
	CHAR_DEVICE(1, 9), /* urandom */
	CHAR_DEVICE(5, 0), /* tty */
	CHAR_DEVICE(5, 1), /* console */
	CHAR_DEVICE(5, 2), /* ptmx */
	{.allow = true, .type = "c", .has_major = true, .major = 136, .access = "rwm"}, /* pts */
};
const size_t husk_cgroup_default_devices_len =
    sizeof(husk_cgroup_default_devices) / sizeof(husk_cgroup_default_devices[0]);

/* ---------------------------------------------------------------- file helpers */

int husk_cg_write(int dirfd, const char *file, const char *value, const char *field,
		  husk_error_t *err)
{
	cleanup_close int fd = openat(dirfd, file, O_WRONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0 || husk_write_all(fd, value, strlen(value)) < 0) {
		if (field)
			return husk_error_errno(err, "%s: write \"%s\" to %s", field, value, file);
		return husk_error_errno(err, "write \"%s\" to %s", value, file);
	}
	return 0;
}

int husk_cg_writef(int dirfd, const char *file, const char *field, husk_error_t *err,
		   const char *fmt, ...)
{
	cleanup_free char *value = NULL;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&value, fmt, ap);
	va_end(ap);
	if (r < 0)
		abort();
	return husk_cg_write(dirfd, file, value, field, err);
}

int husk_cg_read(int dirfd, const char *file, char **out, husk_error_t *err)
{
	size_t len = 0;
	char *buf = NULL;

	if (husk_read_file_at(dirfd, file, &buf, &len, err) < 0)
		return -1;
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
		buf[--len] = '\0';
	*out = buf;
	return 0;
}

static int parse_u64_value(const char *s, uint64_t *out)
{
	char *end;

	if (strcmp(s, "max") == 0) {
		*out = UINT64_MAX;
		return 0;
	}
	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	*out = strtoull(s, &end, 10);
	if (errno || (*end != '\0' && *end != '\n' && *end != ' '))
		return -1;
	return 0;
}

int husk_cg_read_u64(int dirfd, const char *file, uint64_t *out, husk_error_t *err)
{
	cleanup_free char *buf = NULL;

	if (husk_cg_read(dirfd, file, &buf, err) < 0)
		return -1;
	if (parse_u64_value(buf, out) < 0)
		return husk_error_set(err, EINVAL, "parse `%s`: unexpected \"%s\"", file, buf);
	return 0;
}

int husk_cg_read_keyed(int dirfd, const char *file, const char *key, uint64_t *out,
		       husk_error_t *err)
{
	cleanup_free char *buf = NULL;
	size_t klen = strlen(key);

	if (husk_cg_read(dirfd, file, &buf, err) < 0)
		return -1;
	for (char *line = buf; line && *line;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		if (strncmp(line, key, klen) == 0 && line[klen] == ' ')
			return parse_u64_value(line + klen + 1, out) < 0
				   ? husk_error_set(err, EINVAL, "parse `%s`: bad \"%s\"", file,
						    line)
				   : 0;
		line = nl ? nl + 1 : NULL;
	}
	return husk_error_set(err, ENOENT, "`%s` has no \"%s\"", file, key);
}

bool husk_cg_exists(int dirfd, const char *file)
{
	return faccessat(dirfd, file, F_OK, 0) == 0;
}

int husk_cg_open(const char *mnt, const char *path, bool opath, husk_error_t *err)
{
	cleanup_free char *full = NULL;
	int fd;

	if (asprintf(&full, "%s%s", mnt, path) < 0)
		abort();
	fd = open(full, (opath ? O_PATH : O_RDONLY) | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return husk_error_errno(err, "open cgroup `%s`", full);
	return fd;
}

int husk_cg_read_pids(int dirfd, pid_t **pids, size_t *n, husk_error_t *err)
{
	cleanup_free char *buf = NULL;
	cleanup_free pid_t *v = NULL;
	size_t len = 0, cap = 0;

	if (husk_cg_read(dirfd, "cgroup.procs", &buf, err) < 0)
		return -1;
	for (char *p = buf; *p;) {
		char *end;
		long pid = strtol(p, &end, 10);
		if (end == p)
			return husk_error_set(err, EINVAL, "parse cgroup.procs: \"%s\"", p);
		if (len == cap) {
			pid_t *nv;
			cap = cap ? cap * 2 : 16;
			nv = realloc(v, cap * sizeof *v);
			if (nv == NULL)
				abort();
			v = nv;
		}
		v[len++] = (pid_t)pid;
		p = end;
		while (*p == '\n')
			p++;
	}
	*pids = len ? steal_pointer(&v) : xmalloc0(sizeof(pid_t));
	*n = len;
	return 0;
}

void husk_cg_sleep_ms(unsigned ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* rmdir, waiting for exiting processes to leave (EBUSY) for up to ~5s. */
static int rmdir_retry(const char *dir, husk_error_t *err)
{
	for (int i = 0;; i++) {
		if (rmdir(dir) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY || i >= 500)
			return husk_error_errno(err, "remove cgroup `%s`", dir);
		husk_cg_sleep_ms(10);
	}
}

/* Sub-cgroups first: a container with its own cgroup namespace may have made some. */
static int remove_tree(const char *dir, int depth, husk_error_t *err)
{
	DIR *d;
	struct dirent *de;
	int r = 0;

	if (depth > 64)
		return husk_error_set(err, ELOOP, "remove cgroup `%s`: too deep", dir);
	/* Usually a leaf: one rmdir, no listing. A busy or non-empty one is walked. */
	if (rmdir(dir) == 0 || errno == ENOENT)
		return 0;
	d = opendir(dir);
	if (d == NULL)
		return errno == ENOENT ? 0 : husk_error_errno(err, "open cgroup `%s`", dir);
	while (r == 0 && (de = readdir(d)) != NULL) {
		cleanup_free char *sub = NULL;
		if (de->d_type != DT_DIR || strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (asprintf(&sub, "%s/%s", dir, de->d_name) < 0)
			abort();
		r = remove_tree(sub, depth + 1, err);
	}
	closedir(d);
	if (r < 0)
		return r;
	return rmdir_retry(dir, err);
}

int husk_cg_remove(const char *mnt, const char *path, husk_error_t *err)
{
	cleanup_free char *full = NULL;

	if (asprintf(&full, "%s%s", mnt, path) < 0)
		abort();
	if (remove_tree(full, 0, err) < 0)
		return -1;
	/* The default parent "/husk" is ours: drop it once its last container is gone.
	 * Still in use (ENOTEMPTY/EBUSY) is fine; a racing create retries its mkdir. */
	if (strncmp(path, HUSK_CGROUP_DEFAULT_PARENT "/", strlen(HUSK_CGROUP_DEFAULT_PARENT) + 1) == 0) {
		char *slash = strrchr(full, '/');
		*slash = '\0';
		rmdir(full);
	}
	return 0;
}

int husk_cg_signal_procs(int dirfd, int sig, husk_error_t *err)
{
	cleanup_free pid_t *pids = NULL;
	size_t n = 0;

	if (husk_cg_read_pids(dirfd, &pids, &n, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (kill(pids[i], sig) < 0 && errno != ESRCH)
			return husk_error_errno(err, "kill %d with signal %d", (int)pids[i], sig);
	return 0;
}

void husk_cg_undo_add(husk_cg_undo_t *u, const char *dir)
{
	char **nv = realloc(u->dirs, (u->len + 1) * sizeof *nv);
	if (nv == NULL)
		abort();
	u->dirs = nv;
	u->dirs[u->len++] = xstrdup(dir);
}

void husk_cg_undo_rollback(husk_cg_undo_t *u)
{
	/* Best effort: the error being reported is the one that made us roll back. Plain
	 * rmdir, newest first: a parent we made may by now hold another husk's new cgroup,
	 * which must stay (a recursive removal would take it). */
	for (size_t i = u->len; i > 0; i--)
		rmdir(u->dirs[i - 1]);
}

void husk_cg_undo_free(husk_cg_undo_t *u)
{
	for (size_t i = 0; i < u->len; i++)
		free(u->dirs[i]);
	free(u->dirs);
	u->dirs = NULL;
	u->len = 0;
}

static int cg_mkdir_once(const char *mnt, const char *path, husk_cg_undo_t *undo,
			 husk_cg_created_fn created, husk_error_t *err);

int husk_cg_mkdir(const char *mnt, const char *path, husk_cg_undo_t *undo,
		  husk_cg_created_fn created, husk_error_t *err)
{
	/* A delete may remove an empty default parent between our mkdirs (ENOENT): retry. */
	for (int attempt = 0;; attempt++) {
		int r = cg_mkdir_once(mnt, path, undo, created, err);
		if (r == 0 || err == NULL || err->errnum != ENOENT || attempt >= 3)
			return r;
		husk_error_clear(err);
	}
}

static int cg_mkdir_once(const char *mnt, const char *path, husk_cg_undo_t *undo,
			 husk_cg_created_fn created, husk_error_t *err)
{
	cleanup_free char *full = NULL;
	size_t base;

	if (asprintf(&full, "%s%s", mnt, path) < 0)
		abort();
	base = strlen(mnt);
	for (char *p = full + base + 1;; p++) {
		char saved = *p;
		if (saved != '/' && saved != '\0')
			continue;
		*p = '\0';
		if (mkdir(full, 0755) == 0) {
			husk_cg_undo_add(undo, full);
			if (created) {
				cleanup_close int fd =
				    open(full, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
				cleanup_close int pfd = -1;
				char *slash = strrchr(full, '/');
				*slash = '\0';
				pfd = open(full, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
				*slash = '/';
				if (fd < 0 || pfd < 0)
					return husk_error_errno(err, "open cgroup `%s`", full);
				if (created(fd, pfd, err) < 0)
					return -1;
			}
		} else if (errno != EEXIST) {
			return husk_error_errno(err, "create cgroup `%s`", full);
		}
		*p = saved;
		if (saved == '\0')
			return 0;
	}
}

/* ---------------------------------------------------------------- dispatch */

static bool is_v2(const husk_cgroup_t *cg)
{
	return cg->mode == HUSK_CGROUP_MODE_UNIFIED;
}

int husk_cg_check(const husk_cgroup_t *cg, husk_error_t *err)
{
	if (cg == NULL || cg->path == NULL || cg->path[0] != '/' || strstr(cg->path, "/.."))
		return husk_error_set(err, EINVAL, "invalid cgroup path");
	return 0;
}

static int v2_open(const husk_cgroup_t *cg, husk_error_t *err)
{
	return husk_cg_open(HUSK_CGROUP_MNT, cg->path, false, err);
}

void husk_cgroup_create_abort(husk_cgroup_t *cg)
{
	if (cg->made)
		husk_cg_undo_rollback(cg->made);
	made_free(cg);
}

static int v2_create(const husk_cgroup_t *cg, const husk_resources_t *res, husk_cg_undo_t *undo,
		     husk_error_t *err)
{
	cleanup_close int fd = -1;

	if (husk_cgroup_v2_make(HUSK_CGROUP_MNT, cg->path, NULL, undo, err) < 0)
		return -1;
	if ((fd = v2_open(cg, err)) < 0)
		return -1;
	/* Even without linux.resources: the device filter (deny all but the defaults) applies. */
	return husk_cgroup_v2_apply(fd, res, err);
}

int husk_cgroup_create_early(husk_cgroup_t *cg, const husk_resources_t *res, husk_error_t *err)
{
	int r;

	made_free(cg);
	if (husk_cg_check(cg, err) < 0 || husk_cgroup_check_resources(res, err) < 0)
		return -1;
	/* systemd makes the unit's cgroup once the process exists (join_finish). */
	if (cg->systemd && (r = husk_cgroup_systemd_prepare(cg, res, err)) != 0)
		return r < 0 ? -1 : 0;
	cg->made = xmalloc0(sizeof *cg->made);
	r = is_v2(cg) ? v2_create(cg, res, cg->made, err)
		      : husk_cgroup_v1_create_early(cg, res, cg->made, err);
	if (r < 0)
		husk_cgroup_create_abort(cg);
	return r;
}

int husk_cgroup_create_late(husk_cgroup_t *cg, const husk_resources_t *res, husk_error_t *err)
{
	int r = 0;

	if (cg->made == NULL)
		return 0; /* systemd's, or v2: all made early */
	if (!is_v2(cg))
		r = husk_cgroup_v1_create_late(cg, res, cg->made, err);
	return r;
}

void husk_cgroup_create_commit(husk_cgroup_t *cg)
{
	made_free(cg);
}

int husk_cgroup_create(husk_cgroup_t *cg, const husk_resources_t *res, husk_error_t *err)
{
	if (husk_cgroup_create_early(cg, res, err) < 0)
		return -1;
	if (husk_cgroup_create_late(cg, res, err) < 0) {
		husk_cgroup_create_abort(cg);
		return -1;
	}
	husk_cgroup_create_commit(cg);
	return 0;
}

int husk_cgroup_open_dir(const husk_cgroup_t *cg, husk_error_t *err)
{
	if (husk_cg_check(cg, err) < 0)
		return -1;
	if (!is_v2(cg)) {
		errno = ENOTSUP;
		return husk_error_set(err, ENOTSUP, "open cgroup `%s` for CLONE_INTO_CGROUP",
				      cg->path);
	}
	return husk_cg_open(HUSK_CGROUP_MNT, cg->path, true, err);
}

int husk_cgroup_enter(const husk_cgroup_t *cg, pid_t pid, husk_error_t *err)
{
	cleanup_close int fd = -1;

	if (husk_cg_check(cg, err) < 0)
		return -1;
	if (!is_v2(cg))
		return husk_cgroup_v1_enter(cg, pid, err);
	if ((fd = v2_open(cg, err)) < 0)
		return -1;
	if (husk_cg_writef(fd, "cgroup.procs", NULL, err, "%d", (int)pid) < 0)
		return husk_error_wrap(err, "enter cgroup `%s`", cg->path);
	return 0;
}

int husk_cgroup_destroy(const husk_cgroup_t *cg, husk_error_t *err)
{
	cleanup_error husk_error_t later = {0};
	int stopped = 0, r;

	if (husk_cg_check(cg, err) < 0)
		return -1;
	/* The unit first: stopping it removes what systemd made; cgroupfs takes the rest, even
	 * when the stop failed (on v1 systemd never made the cpuset, freezer, ... dirs). */
	if (cg->systemd && (stopped = husk_cgroup_systemd_stop(cg, err)) > 0)
		return 0;
	r = !is_v2(cg) ? husk_cgroup_v1_destroy(cg, stopped < 0 ? &later : err)
		       : husk_cg_remove(HUSK_CGROUP_MNT, cg->path, stopped < 0 ? &later : err);
	return stopped < 0 ? -1 : r;
}

int husk_cgroup_pids(const husk_cgroup_t *cg, pid_t **pids, size_t *n, husk_error_t *err)
{
	cleanup_close int fd = -1;

	if (husk_cg_check(cg, err) < 0)
		return -1;
	fd = is_v2(cg) ? v2_open(cg, err) : husk_cgroup_v1_open_procs_dir(cg, err);
	if (fd < 0)
		return -1;
	return husk_cg_read_pids(fd, pids, n, err);
}

int husk_cgroup_kill_all(const husk_cgroup_t *cg, int sig, husk_error_t *err)
{
	cleanup_close int fd = -1;

	if (husk_cg_check(cg, err) < 0)
		return -1;
	if (!is_v2(cg))
		return husk_cgroup_v1_kill_all(cg, sig, err);
	if ((fd = v2_open(cg, err)) < 0)
		return -1;
	return husk_cgroup_v2_kill_all(fd, sig, err);
}

char *husk_cgroup_freezer_dir(const husk_cgroup_t *cg, husk_error_t *err)
{
	char *dir;

	if (husk_cg_check(cg, err) < 0)
		return NULL;
	if (!is_v2(cg))
		return husk_cgroup_v1_freezer_dir(cg, err);
	if (asprintf(&dir, "%s%s", HUSK_CGROUP_MNT, cg->path) < 0)
		abort();
	return dir;
}

int husk_cgroup_freeze(const husk_cgroup_t *cg, bool frozen, husk_error_t *err)
{
	cleanup_close int fd = -1;

	if (husk_cg_check(cg, err) < 0)
		return -1;
	if (!is_v2(cg))
		return husk_cgroup_v1_freeze(cg, frozen, err);
	if ((fd = v2_open(cg, err)) < 0)
		return -1;
	return husk_cgroup_v2_freeze(fd, frozen, err);
}

int husk_cgroup_is_frozen(const husk_cgroup_t *cg, bool *frozen, husk_error_t *err)
{
	cleanup_close int fd = -1;

	if (husk_cg_check(cg, err) < 0)
		return -1;
	if (!is_v2(cg))
		return husk_cgroup_v1_is_frozen(cg, frozen, err);
	if ((fd = v2_open(cg, err)) < 0)
		return -1;
	return husk_cgroup_v2_is_frozen(fd, frozen, err);
}

int husk_cgroup_update(const husk_cgroup_t *cg, const husk_resources_t *res, husk_error_t *err)
{
	cleanup_close int fd = -1;

	if (husk_cg_check(cg, err) < 0 || husk_cgroup_check_resources(res, err) < 0)
		return -1;
	if (res == NULL)
		return 0;
	/* systemd's view first: it rewrites the files from its properties when it re-applies
	 * the unit (a daemon-reload, say), so they must agree with what cgroupfs gets. */
	if (cg->systemd && husk_cgroup_systemd_set(cg, res, err) < 0)
		return -1;
	if (!is_v2(cg))
		return husk_cgroup_v1_update(cg, res, err);
	if ((fd = v2_open(cg, err)) < 0)
		return -1;
	return husk_cgroup_v2_apply(fd, res, err);
}

int husk_cgroup_stats(const husk_cgroup_t *cg, husk_cgroup_stats_t *st, husk_error_t *err)
{
	cleanup_close int fd = -1;

	memset(st, 0, sizeof *st);
	if (husk_cg_check(cg, err) < 0)
		return -1;
	if (!is_v2(cg))
		return husk_cgroup_v1_stats(cg, st, err);
	if ((fd = v2_open(cg, err)) < 0)
		return -1;
	return husk_cgroup_v2_stats(fd, st, err);
}
