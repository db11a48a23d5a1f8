#include "config.h"
#include "status.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/mount.h>
#include <signal.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <yajl/yajl_tree.h>

#include "cgroup.h"
#include "json-gen.h"
#include "utils.h"

const char *husk_status_name(husk_status_t status)
{
	switch (status) {
	case HUSK_STATUS_CREATING:
		return "creating";
	case HUSK_STATUS_CREATED:
		return "created";
	case HUSK_STATUS_RUNNING:
		return "running";
	case HUSK_STATUS_PAUSED:
		return "paused";
	case HUSK_STATUS_STOPPED:
		return "stopped";
	}
	return "unknown";
}

int husk_root_open(const char *root, bool create, husk_error_t *err)
{
	int fd;

	if (create && husk_mkdir_p(root, 0700, err) < 0)
		return husk_error_wrap(err, "create state root");
	fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return husk_error_errno(err, "open state root `%s`", root);
	return fd;
}

int husk_state_dir_create(int rootfd, const char *id, husk_error_t *err)
{
	int fd;

	if (mkdirat(rootfd, id, 0711) < 0) {
		if (errno == EEXIST)
			return husk_error_set(err, 0, "container \"%s\" already exists", id);
		return husk_error_errno(err, "create state directory for \"%s\"", id);
	}
	fd = openat(rootfd, id, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return husk_error_errno(err, "open state directory for \"%s\"", id);
	return fd;
}

int husk_state_dir_open(int rootfd, const char *id, husk_error_t *err)
{
	int fd = openat(rootfd, id, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ENOENT)
			return husk_error_set(err, 0, "container \"%s\" does not exist", id);
		return husk_error_errno(err, "open state directory for \"%s\"", id);
	}
	return fd;
}

/* A directory in the state dir is a mount point a restore left when it was killed (the
 * rootfs bound for criu): detach it and remove the directory. */
static int remove_mount_dir(int dfd, const char *name)
{
	char path[64 + NAME_MAX];

	snprintf(path, sizeof path, "/proc/self/fd/%d/%s", dfd, name);
	umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW);
	return unlinkat(dfd, name, AT_REMOVEDIR);
}

int husk_state_dir_remove(int rootfd, const char *id, husk_error_t *err)
{
	cleanup_close int dfd = openat(rootfd, id, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	DIR *d;
	struct dirent *de;

	if (dfd < 0) {
		if (errno == ENOENT)
			return 0;
		return husk_error_errno(err, "open state directory for \"%s\"", id);
	}
	d = fdopendir(fcntl(dfd, F_DUPFD_CLOEXEC, 0));
	if (d == NULL)
		return husk_error_errno(err, "read state directory for \"%s\"", id);
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (de->d_type == DT_DIR && remove_mount_dir(dfd, de->d_name) == 0)
			continue;
		if (unlinkat(dfd, de->d_name, 0) < 0 && errno != ENOENT) {
			int e = errno;
			closedir(d);
			return husk_error_set(err, e, "remove `%s/%s`", id, de->d_name);
		}
	}
	closedir(d);
	if (unlinkat(rootfd, id, AT_REMOVEDIR) < 0 && errno != ENOENT)
		return husk_error_errno(err, "remove state directory for \"%s\"", id);
	return 0;
}

int husk_state_lock(int dirfd, husk_error_t *err)
{
	while (flock(dirfd, LOCK_EX) < 0) {
		if (errno != EINTR)
			return husk_error_errno(err, "lock state directory");
	}
	return 0;
}

char *husk_now_rfc3339(void)
{
	struct timespec ts;
	struct tm tm;
	char *out = NULL;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	/* Not strftime: glibc's loads /etc/localtime for it, a file read per create. */
	if (asprintf(&out, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", tm.tm_year + 1900,
		     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec) < 0)
		abort();
	return out;
}

unsigned long long husk_pid_start_time(pid_t pid)
{
	char path[64];
	cleanup_free char *buf = NULL;
	char *p;
	unsigned long long start = 0;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if (husk_read_file_at(AT_FDCWD, path, &buf, NULL, NULL) < 0)
		return 0;
	/* comm may hold spaces and parentheses: fields resume after the last ')'. */
	p = strrchr(buf, ')');
	if (p == NULL)
		return 0;
	p++;
	/* starttime is field 22; after ')' we are at field 3. */
	for (int field = 3; field < 22 && p; field++) {
		p = strchr(p + 1, ' ');
	}
	if (p == NULL || sscanf(p, " %llu", &start) != 1)
		return 0;
	return start;
}

bool husk_pid_is(pid_t pid, unsigned long long start_time)
{
	char path[64], state = 0;
	int ppid = 0;
	cleanup_free char *buf = NULL;
	char *p;

	if (pid <= 0)
		return false;
	if (husk_pid_start_time(pid) != start_time)
		return false;
	/* A zombie has exited, but its exit status is still waiting for its parent: a
	 * supervisor (conmon, a containerd shim) records it when it reaps. Until then the
	 * container reads as running, as with runc, so that an engine asking for the state
	 * never finds "stopped" before that record exists. A zombie left to pid 1 has no
	 * supervisor: it is stopped (some inits never reap). */
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if (husk_read_file_at(AT_FDCWD, path, &buf, NULL, NULL) < 0)
		return false;
	p = strrchr(buf, ')');
	if (p && sscanf(p + 1, " %c %d", &state, &ppid) == 2) {
		if (state == 'X')
			return false;
		if (state == 'Z')
			return ppid > 1;
	}
	return true;
}

static void gen_annotations(yajl_gen g, const husk_kv_t *kv, size_t n)
{
	yajl_gen_map_open(g);
	for (size_t i = 0; i < n; i++)
		husk_json_key_str(g, kv[i].key, kv[i].value);
	yajl_gen_map_close(g);
}

int husk_state_write(int dirfd, const husk_state_t *st, husk_error_t *err)
{
	cleanup_json_gen yajl_gen g = husk_json_new(false);
	cleanup_free char *text = NULL;
	size_t len;

	yajl_gen_map_open(g);
	husk_json_key_str(g, "id", st->id);
	husk_json_key_bool(g, "created", st->created);
	husk_json_key_int(g, "pid", st->pid);
	husk_json_key_int(g, "pidStart", (long long)st->pid_start);
	husk_json_key_int(g, "creatorPid", st->creator_pid);
	husk_json_key_int(g, "creatorStart", (long long)st->creator_start);
	husk_json_key_str(g, "bundle", st->bundle);
	husk_json_key_str(g, "rootfs", st->rootfs);
	husk_json_key_str(g, "createdAt", st->created_at);
	husk_json_key_str(g, "owner", st->owner);
	husk_json_key_str(g, "cgroupPath", st->cgroup_path);
	husk_json_key_bool(g, "cgroupSystemd", st->cgroup_systemd);
	husk_json_key_bool(g, "detachedInit", st->detached_init);
	husk_json_key(g, "annotations");
	gen_annotations(g, st->annotations, st->annotations_len);
	yajl_gen_map_close(g);
	text = husk_json_finish(g, &len);
	return husk_write_file_atomic(dirfd, HUSK_STATE_FILE, text, len, err);
}

static const char *tree_str(yajl_val root, const char *key)
{
	const char *path[] = {key, NULL};
	yajl_val v = yajl_tree_get(root, path, yajl_t_string);
	return v ? YAJL_GET_STRING(v) : NULL;
}

static long long tree_int(yajl_val root, const char *key)
{
	const char *path[] = {key, NULL};
	yajl_val v = yajl_tree_get(root, path, yajl_t_number);
	return v && YAJL_IS_INTEGER(v) ? YAJL_GET_INTEGER(v) : 0;
}

static bool tree_bool(yajl_val root, const char *key)
{
	const char *path[] = {key, NULL};
	yajl_val v = yajl_tree_get(root, path, yajl_t_true);
	return v != NULL;
}

static void read_annotations(yajl_val root, husk_state_t *st)
{
	const char *path[] = {"annotations", NULL};
	yajl_val v = yajl_tree_get(root, path, yajl_t_object);
	size_t n;

	if (v == NULL)
		return;
	n = YAJL_GET_OBJECT(v)->len;
	st->annotations = xmalloc0(sizeof(husk_kv_t) * (n + 1));
	for (size_t i = 0; i < n; i++) {
		yajl_val val = YAJL_GET_OBJECT(v)->values[i];
		if (!YAJL_IS_STRING(val))
			continue;
		st->annotations[st->annotations_len].key = xstrdup(YAJL_GET_OBJECT(v)->keys[i]);
		st->annotations[st->annotations_len].value = xstrdup(YAJL_GET_STRING(val));
		st->annotations_len++;
	}
}

int husk_state_read(int dirfd, const char *id, husk_state_t *st, husk_error_t *err)
{
	cleanup_free char *text = NULL;
	char errbuf[256];
	yajl_val root;

	memset(st, 0, sizeof *st);
	if (husk_read_file_at(dirfd, HUSK_STATE_FILE, &text, NULL, err) < 0)
		return husk_error_wrap(err, "container \"%s\": state", id);
	root = yajl_tree_parse(text, errbuf, sizeof errbuf);
	if (root == NULL || !YAJL_IS_OBJECT(root) || tree_str(root, "id") == NULL) {
		yajl_tree_free(root);
		return husk_error_set(err, 0, "container \"%s\": corrupt state file %s", id,
				      HUSK_STATE_FILE);
	}
	st->id = xstrdup(tree_str(root, "id"));
	st->created = tree_bool(root, "created");
	st->pid = (pid_t)tree_int(root, "pid");
	st->pid_start = (unsigned long long)tree_int(root, "pidStart");
	st->creator_pid = (pid_t)tree_int(root, "creatorPid");
	st->creator_start = (unsigned long long)tree_int(root, "creatorStart");
	st->bundle = xstrdup(tree_str(root, "bundle"));
	st->rootfs = xstrdup(tree_str(root, "rootfs"));
	st->created_at = xstrdup(tree_str(root, "createdAt"));
	st->owner = xstrdup(tree_str(root, "owner"));
	st->cgroup_path = xstrdup(tree_str(root, "cgroupPath"));
	st->cgroup_systemd = tree_bool(root, "cgroupSystemd");
	st->detached_init = tree_bool(root, "detachedInit");
	read_annotations(root, st);
	yajl_tree_free(root);
	return 0;
}

void husk_state_clear(husk_state_t *st)
{
	free(st->id);
	free(st->bundle);
	free(st->rootfs);
	free(st->created_at);
	free(st->owner);
	free(st->cgroup_path);
	for (size_t i = 0; i < st->annotations_len; i++) {
		free(st->annotations[i].key);
		free(st->annotations[i].value);
	}
	free(st->annotations);
	memset(st, 0, sizeof *st);
}

int husk_state_cgroup(const husk_state_t *st, husk_cgroup_t *cg, husk_error_t *err)
{
	memset(cg, 0, sizeof *cg);
	if (st->cgroup_path == NULL)
		return 0;
	if (husk_cgroup_mode(&cg->mode, err) < 0)
		return -1;
	cg->path = st->cgroup_path;
	cg->systemd = st->cgroup_systemd;
	return 1;
}

static bool state_is_frozen(const husk_state_t *st)
{
	husk_cgroup_t cg;
	bool frozen = false;

	if (husk_state_cgroup(st, &cg, NULL) <= 0)
		return false;
	if (husk_cgroup_is_frozen(&cg, &frozen, NULL) < 0)
		return false;
	return frozen;
}

husk_status_t husk_state_status(int dirfd, const husk_state_t *st)
{
	struct stat sb;

	if (!st->created) {
		if (husk_pid_is(st->creator_pid, st->creator_start))
			return HUSK_STATUS_CREATING;
		return HUSK_STATUS_STOPPED;
	}
	if (!husk_pid_is(st->pid, st->pid_start))
		return HUSK_STATUS_STOPPED;
	if (fstatat(dirfd, HUSK_EXEC_FIFO, &sb, AT_SYMLINK_NOFOLLOW) == 0)
		return HUSK_STATUS_CREATED;
	if (state_is_frozen(st))
		return HUSK_STATUS_PAUSED;
	return HUSK_STATUS_RUNNING;
}

char *husk_state_oci_json(const husk_state_t *st, husk_status_t status, bool pretty)
{
	cleanup_json_gen yajl_gen g = husk_json_new(pretty);

	yajl_gen_map_open(g);
	husk_json_key_str(g, "ociVersion", HUSK_OCI_VERSION);
	husk_json_key_str(g, "id", st->id);
	husk_json_key_str(g, "status", husk_status_name(status));
	/* runtime.md: pid is REQUIRED when status is created or running. */
	if (status == HUSK_STATUS_CREATED || status == HUSK_STATUS_RUNNING ||
	    status == HUSK_STATUS_PAUSED)
		husk_json_key_int(g, "pid", st->pid);
	else
		husk_json_key_int(g, "pid", 0);
	husk_json_key_str(g, "bundle", st->bundle);
	husk_json_key_str(g, "rootfs", st->rootfs);
	husk_json_key_str(g, "created", st->created_at);
	husk_json_key_str(g, "owner", st->owner ? st->owner : "");
	if (st->annotations_len > 0) {
		husk_json_key(g, "annotations");
		gen_annotations(g, st->annotations, st->annotations_len);
	}
	yajl_gen_map_close(g);
	return husk_json_finish(g, NULL);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int husk_state_list_ids(int rootfd, char ***ids, husk_error_t *err)
{
	DIR *d = fdopendir(dup(rootfd));
	struct dirent *de;
	size_t n = 0, cap = 8;
	char **out;

	if (d == NULL)
		return husk_error_errno(err, "read state root");
	out = xmalloc0(sizeof(char *) * cap);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
			continue;
		if (n + 1 >= cap) {
			cap *= 2;
			out = realloc(out, sizeof(char *) * cap);
			if (out == NULL)
				abort();
		}
		out[n++] = xstrdup(de->d_name);
		out[n] = NULL;
	}
	closedir(d);
	qsort(out, n, sizeof(char *), cmp_str);
	*ids = out;
	return 0;
}
