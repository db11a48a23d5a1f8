/*
 * Real-effect tests of rootfs.c: each case forks a child into a new mount namespace, builds a
 * container filesystem from a busybox rootfs with husk_rootfs_prepare/pivot/finalize, and
 * looks at the result from inside; failures come back through a pipe. The host is checked
 * afterwards: nothing mounted, nothing created outside the temp dir.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "libhusk/rootfs.h"
#include "libhusk/safe-path.h"
#include "libhusk/utils.h"

/* Short fixed buffers: mkdtemp names are short, and it keeps every join below in bounds. */
static char tmpdir[64];	   /* everything we create lives below */
static char rootfs[128];   /* tmpdir/rootfs */
static char outside[128];  /* tmpdir/outside: a host dir the container must not touch */
static char vol[128];	   /* tmpdir/vol: a bind source directory */
static char hostfile[128]; /* tmpdir/hostfile: a bind source file */
static int msgfd = -1;	   /* child -> parent failure messages */

/* ---------------------------------------------------------------- helpers (host side) */

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void mkdir_in(const char *base, const char *sub)
{
	char p[PATH_MAX];
	snprintf(p, sizeof p, "%s%s", base, sub);
	assert_true(mkdir(p, 0755) == 0 || errno == EEXIST);
}

static void copy_file(const char *from, const char *to, mode_t mode)
{
	int in = open(from, O_RDONLY | O_CLOEXEC), out;
	char buf[65536];
	ssize_t n;

	assert_true(in >= 0);
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	assert_true(out >= 0);
	while ((n = read(in, buf, sizeof buf)) > 0)
		assert_int_equal(husk_write_all(out, buf, (size_t)n), 0);
	close(in);
	close(out);
}

static void remove_tree(const char *path)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return;
	if (S_ISDIR(st.st_mode)) {
		DIR *d = opendir(path);
		struct dirent *e;
		while (d && (e = readdir(d)) != NULL) {
			char child[PATH_MAX * 2];
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			snprintf(child, sizeof child, "%s/%s", path, e->d_name);
			remove_tree(child);
		}
		if (d)
			closedir(d);
		rmdir(path);
		return;
	}
	unlink(path);
}

/* A busybox-static rootfs: bin/{busybox,sh,cat,ls,stat,test}, etc/, a few files. */
static void build_rootfs(void)
{
	static const char *const applets[] = {"sh", "cat", "ls", "stat", "test"};
	char p[PATH_MAX * 2];

	remove_tree(rootfs);
	mkdir_in(rootfs, "");
	mkdir_in(rootfs, "/bin");
	mkdir_in(rootfs, "/etc");
	snprintf(p, sizeof p, "%s/bin/busybox", rootfs);
	copy_file("/bin/busybox", p, 0755);
	for (size_t i = 0; i < sizeof applets / sizeof applets[0]; i++) {
		snprintf(p, sizeof p, "%s/bin/%s", rootfs, applets[i]);
		assert_int_equal(symlink("busybox", p), 0);
	}
	snprintf(p, sizeof p, "%s/etc/maskme", rootfs);
	write_text(p, "secret in image");
	snprintf(p, sizeof p, "%s/etc/secret", rootfs);
	write_text(p, "leaked");
}

static int setup_all(void **state)
{
	char p[PATH_MAX * 2];
	(void)state;
	snprintf(tmpdir, sizeof tmpdir, "/tmp/husk-test-rootfs-XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	snprintf(rootfs, sizeof rootfs, "%s/rootfs", tmpdir);
	snprintf(outside, sizeof outside, "%s/outside", tmpdir);
	snprintf(vol, sizeof vol, "%s/vol", tmpdir);
	snprintf(hostfile, sizeof hostfile, "%s/hostfile", tmpdir);
	mkdir(outside, 0755);
	mkdir(vol, 0755);
	snprintf(p, sizeof p, "%s/hello", vol);
	write_text(p, "hello from the host");
	write_text(hostfile, "host data");
	return 0;
}

static int teardown_all(void **state)
{
	(void)state;
	remove_tree(tmpdir);
	return 0;
}

static int setup_each(void **state)
{
	(void)state;
	husk_safe_path_force_fallback(false);
	build_rootfs();
	return 0;
}

/* Count the host's mounts whose mount point lies below tmpdir, or is /etc. */
static int host_mounts_touching_us(void)
{
	cleanup_free char *text = NULL;
	int n = 0;
	char *save = NULL;

	assert_int_equal(husk_read_file_at(AT_FDCWD, "/proc/self/mountinfo", &text, NULL, NULL), 0);
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char mp[PATH_MAX];
		if (sscanf(l, "%*s %*s %*s %*s %4095s", mp) != 1)
			continue;
		if (strncmp(mp, tmpdir, strlen(tmpdir)) == 0 || strcmp(mp, "/etc") == 0)
			n++;
	}
	return n;
}

/*
 * The host still sees nothing of what the child did, and `outside` stayed empty. With
 * `dev_tmpfs` the devices went onto a tmpfs: the image's /dev must not have them.
 */
static void assert_host_clean(bool dev_tmpfs)
{
	DIR *d = opendir(outside);
	struct dirent *e;
	int entries = 0;
	char p[PATH_MAX * 2];

	assert_int_equal(host_mounts_touching_us(), 0);
	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			entries++;
	closedir(d);
	assert_int_equal(entries, 0);
	snprintf(p, sizeof p, "%s/dev/null", rootfs);
	if (dev_tmpfs)
		assert_int_equal(access(p, F_OK), -1);
	assert_int_equal(access("/etc/maskme", F_OK), -1);
}

static void assert_host_untouched(void)
{
	assert_host_clean(true);
}

typedef int (*child_fn)(void *arg);

/* Run fn in a child after unshare(flags); assert it exits 0, printing what it reported. */
static void run_child(child_fn fn, void *arg, int flags)
{
	int p[2], status;
	char buf[4096];
	ssize_t n;
	size_t used = 0;
	pid_t pid;

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		msgfd = p[1];
		if (unshare(flags) < 0) {
			dprintf(msgfd, "unshare: %s", strerror(errno));
			_exit(1);
		}
		_exit(fn(arg));
	}
	close(p[1]);
	while (used < sizeof buf - 1 && (n = read(p[0], buf + used, sizeof buf - 1 - used)) > 0)
		used += (size_t)n;
	buf[used] = '\0';
	close(p[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("child failed (status %#x): %s", status, buf);
}

/* ---------------------------------------------------------------- helpers (child side) */

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			dprintf(msgfd, "%s:%d: %s: ", __FILE__, __LINE__, #cond);                  \
			dprintf(msgfd, __VA_ARGS__);                                               \
			return 1;                                                                  \
		}                                                                                  \
	} while (0)

#define CHECK_OK(call, err) CHECK((call) == 0, "%s", husk_error_msg(&(err)))

typedef struct {
	const char *dst, *type, *src;
	const char *opts[8];
} mount_def_t;

static husk_mount_t *make_mounts(const mount_def_t *defs, size_t n)
{
	husk_mount_t *m = xmalloc0(n * sizeof *m);
	for (size_t i = 0; i < n; i++) {
		size_t k = 0;
		m[i].destination = (char *)defs[i].dst;
		m[i].type = (char *)defs[i].type;
		m[i].source = (char *)defs[i].src;
		while (k < 8 && defs[i].opts[k])
			k++;
		m[i].options = xmalloc0((k + 1) * sizeof(char *));
		for (size_t j = 0; j < k; j++)
			m[i].options[j] = (char *)defs[i].opts[j];
		m[i].options_len = k;
	}
	return m;
}

/* The top-most mount at `mp` in our mountinfo: its fs type and per-mount options. */
static bool find_mount(const char *mp, char *fstype, char *opts)
{
	cleanup_free char *text = NULL;
	char *save = NULL;
	bool found = false;

	if (husk_read_file_at(AT_FDCWD, "/proc/self/mountinfo", &text, NULL, NULL) < 0)
		return false;
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char p[PATH_MAX], o[256], t[64];
		char *sep = strstr(l, " - ");
		if (sep == NULL || sscanf(l, "%*s %*s %*s %*s %4095s %255s", p, o) != 2 ||
		    sscanf(sep + 3, "%63s", t) != 1 || strcmp(p, mp) != 0)
			continue;
		strcpy(fstype, t);
		strcpy(opts, o);
		found = true;
	}
	return found;
}

static bool has_opt(const char *opts, const char *opt)
{
	size_t n = strlen(opt);
	for (const char *p = opts; (p = strstr(p, opt)) != NULL; p += n)
		if ((p == opts || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
			return true;
	return false;
}

static int check_mount(const char *mp, const char *want_type, const char *want_opt)
{
	char t[64], o[256];
	if (!find_mount(mp, t, o)) {
		cleanup_free char *text = NULL;
		husk_read_file_at(AT_FDCWD, "/proc/self/mountinfo", &text, NULL, NULL);
		dprintf(msgfd, "mountinfo:\n%s\n", text ? text : "");
	}
	CHECK(find_mount(mp, t, o), "no mount at %s\n", mp);
	CHECK(want_type == NULL || strcmp(t, want_type) == 0, "%s is %s, not %s\n", mp, t,
	      want_type);
	CHECK(want_opt == NULL || has_opt(o, want_opt), "%s options %s lack %s\n", mp, o, want_opt);
	return 0;
}

static int check_device(const char *path, mode_t type, unsigned maj, unsigned min)
{
	struct stat st;
	CHECK(stat(path, &st) == 0, "stat %s: %s\n", path, strerror(errno));
	CHECK((st.st_mode & S_IFMT) == type, "%s has type %o\n", path, st.st_mode & S_IFMT);
	CHECK(type == S_IFIFO || st.st_rdev == makedev(maj, min), "%s is %u:%u\n", path,
	      major(st.st_rdev), minor(st.st_rdev));
	return 0;
}

static int check_link(const char *path, const char *target)
{
	char buf[PATH_MAX];
	ssize_t n = readlink(path, buf, sizeof buf - 1);
	CHECK(n > 0, "readlink %s: %s\n", path, strerror(errno));
	buf[n] = '\0';
	CHECK(strcmp(buf, target) == 0, "%s -> %s, not %s\n", path, buf, target);
	return 0;
}

static int check_read(const char *path, const char *want)
{
	cleanup_free char *text = NULL;
	CHECK(husk_read_file_at(AT_FDCWD, path, &text, NULL, NULL) == 0, "read %s\n", path);
	CHECK(strcmp(text, want) == 0, "%s reads \"%s\", not \"%s\"\n", path, text, want);
	return 0;
}

static int check_write_fails(const char *path, int want_errno)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	int e = errno;
	if (fd >= 0)
		close(fd);
	CHECK(fd < 0 && e == want_errno, "write %s: %s, wanted %s\n", path,
	      fd >= 0 ? "succeeded" : strerror(e), strerror(want_errno));
	return 0;
}

static int check_dir_empty(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int n = 0;
	CHECK(d != NULL, "opendir %s: %s\n", path, strerror(errno));
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	CHECK(n == 0, "%s has %d entries\n", path, n);
	return 0;
}

/* Run a busybox command in the container; its exit status. */
static int run_in_container(const char *script)
{
	int status;
	pid_t pid = fork();
	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", script, (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/* ---------------------------------------------------------------- the full container */

typedef struct {
	bool fallback;
	bool no_pivot;
	bool no_cgroupns; /* cgroup hierarchies bound from the host instead of mounted */
	const char *propagation;
} full_opts_t;

static int full_container_child(void *arg)
{
	const full_opts_t *fo = arg;
	husk_error_t err = {0};
	const mount_def_t defs[] = {
	    {"/proc", "proc", "proc", {NULL}},
	    {"/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}},
	    {"/dev/pts",
	     "devpts",
	     "devpts",
	     {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}},
	    {"/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777"}},
	    {"/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}},
	    {"/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}},
	    {"/sys/fs/cgroup", "cgroup", "cgroup", {"nosuid", "noexec", "nodev", "relatime", "ro"}},
	    {"/data", "none", vol, {"rbind", "ro"}},
	    {"etc/hostdata", "none", hostfile, {"bind", "ro", "nosuid"}},
	    {"/rtmp", "tmpfs", "tmpfs", {"rro", "rnosuid", "private"}},
	    {"/idmapped", "none", vol, {"bind", "idmap"}},
	};
	husk_idmap_t map = {.container_id = 0, .host_id = 1000, .size = 1};
	husk_namespace_t ns[] = {{"mount", NULL}, {"cgroup", NULL}};
	husk_device_t devs[] = {
	    {"c", "/dev/fuse", 10, 229, true, 0600, true, 1, true, 2},
	    {"p", "/dev/mypipe", 0, 0, false, 0, false, 0, false, 0},
	};
	char *masked[] = {"/proc/timer_list", "/proc/kcore", "/sys/firmware", NULL};
	char *readonly[] = {"/proc/sys", "/proc/keys", "/nope", NULL};
	husk_root_t root = {.path = rootfs, .readonly = true};
	husk_linux_t lx = {
	    .namespaces = ns,
	    .namespaces_len = fo->no_cgroupns ? 1 : 2,
	    .devices = devs,
	    .devices_len = 2,
	    .masked_paths = masked,
	    .masked_paths_len = 3,
	    .readonly_paths = readonly,
	    .readonly_paths_len = 3,
	    .rootfs_propagation = (char *)fo->propagation,
	};
	husk_spec_t spec = {.root = &root, .linux_ = &lx};
	struct stat st;
	char cwd[PATH_MAX];

	spec.mounts = make_mounts(defs, sizeof defs / sizeof defs[0]);
	spec.mounts_len = sizeof defs / sizeof defs[0];
	spec.mounts[10].uid_mappings = &map; /* on-disk 0 shows as 1000 */
	spec.mounts[10].uid_mappings_len = 1;
	spec.mounts[10].gid_mappings = &map;
	spec.mounts[10].gid_mappings_len = 1;
	husk_safe_path_force_fallback(fo->fallback);

	CHECK_OK(husk_rootfs_prepare(&spec, rootfs, NULL, &err), err);
	CHECK_OK(husk_rootfs_pivot(&spec, rootfs, fo->no_pivot, &err), err);
	CHECK_OK(husk_rootfs_finalize(&spec, &err), err);

	CHECK(getcwd(cwd, sizeof cwd) && strcmp(cwd, "/") == 0, "cwd is %s\n", cwd);
	CHECK(access("/bin/busybox", X_OK) == 0, "no busybox\n");
	CHECK(access(tmpdir, F_OK) < 0, "the host's %s is visible\n", tmpdir);

	/* mounts, in order, with their options */
	if (check_mount("/proc", "proc", NULL) || check_mount("/dev", "tmpfs", "nosuid") ||
	    check_mount("/dev/pts", "devpts", "noexec") ||
	    check_mount("/dev/shm", "tmpfs", "nodev") ||
	    check_mount("/dev/mqueue", "mqueue", NULL) || check_mount("/sys", "sysfs", "ro") ||
	    check_mount("/sys/fs/cgroup", "tmpfs", "ro") ||
	    check_mount("/sys/fs/cgroup/memory", "cgroup", "ro") ||
	    check_mount("/sys/fs/cgroup/unified", "cgroup2", NULL) ||
	    check_mount("/data", NULL, "ro") || check_mount("/etc/hostdata", NULL, "ro") ||
	    check_mount("/etc/hostdata", NULL, "nosuid") || check_mount("/rtmp", "tmpfs", "ro") ||
	    check_mount("/rtmp", "tmpfs", "nosuid") || check_mount("/", NULL, "ro"))
		return 1;
	CHECK(access("/sys/fs/cgroup/memory/memory.limit_in_bytes", F_OK) == 0, "no memory ctl\n");

	/* devices and /dev symlinks */
	if (check_device("/dev/null", S_IFCHR, 1, 3) || check_device("/dev/zero", S_IFCHR, 1, 5) ||
	    check_device("/dev/full", S_IFCHR, 1, 7) ||
	    check_device("/dev/random", S_IFCHR, 1, 8) ||
	    check_device("/dev/urandom", S_IFCHR, 1, 9) ||
	    check_device("/dev/tty", S_IFCHR, 5, 0) ||
	    check_device("/dev/fuse", S_IFCHR, 10, 229) ||
	    check_device("/dev/mypipe", S_IFIFO, 0, 0))
		return 1;
	CHECK(stat("/dev/null", &st) == 0 && (st.st_mode & 07777) == 0666, "null mode %o\n",
	      st.st_mode & 07777);
	CHECK(stat("/dev/fuse", &st) == 0 && (st.st_mode & 07777) == 0600 && st.st_uid == 1 &&
		  st.st_gid == 2,
	      "fuse mode %o uid %u gid %u\n", st.st_mode & 07777, st.st_uid, st.st_gid);
	if (check_link("/dev/fd", "/proc/self/fd") || check_link("/dev/stdin", "/proc/self/fd/0") ||
	    check_link("/dev/stdout", "/proc/self/fd/1") ||
	    check_link("/dev/stderr", "/proc/self/fd/2") || check_link("/dev/ptmx", "pts/ptmx"))
		return 1;
	{
		/* An fd surely open here (the caller's stdin may be closed, e.g. CI's). */
		char fdpath[32];
		int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		snprintf(fdpath, sizeof fdpath, "/dev/fd/%d", fd);
		CHECK(fd >= 0 && access(fdpath, F_OK) == 0, "/dev/fd does not work\n");
		close(fd);
	}

	/* bind mounts: contents, read-only, idmapped */
	if (check_read("/data/hello", "hello from the host") ||
	    check_read("/etc/hostdata", "host data") || check_write_fails("/data/hello", EROFS) ||
	    check_write_fails("/etc/hostdata", EROFS) || check_write_fails("/rtmp/x", EROFS))
		return 1;
	CHECK(stat("/idmapped/hello", &st) == 0 && st.st_uid == 1000 && st.st_gid == 1000,
	      "idmapped owner %u:%u\n", st.st_uid, st.st_gid);
	CHECK(stat("/data/hello", &st) == 0 && st.st_uid == 0, "plain bind owner %u\n", st.st_uid);

	/* masked and read-only paths, read-only root */
	if (check_read("/proc/timer_list", "") || check_dir_empty("/sys/firmware") ||
	    check_write_fails("/proc/sys/kernel/domainname", EROFS) ||
	    check_write_fails("/proc/keys", EROFS) || check_write_fails("/newfile", EROFS))
		return 1;
	CHECK(check_mount("/sys/firmware", "tmpfs", "ro") == 0, "\n");
	CHECK(access("/nope", F_OK) < 0 && access("/proc/kcore", F_OK) < 0,
	      "missing paths were created\n");

	/* a real process runs in there */
	CHECK(run_in_container("test -c /dev/null && test -L /dev/ptmx && cat /etc/hostdata "
			       ">/dev/null && exit 7") == 7,
	      "busybox inside failed\n");
	return 0;
}

static void test_full_container(void **state)
{
	full_opts_t fo = {.fallback = false};
	(void)state;
	run_child(full_container_child, &fo, CLONE_NEWNS | CLONE_NEWCGROUP);
	assert_host_untouched();
}

static void test_full_container_fallback_resolver(void **state)
{
	full_opts_t fo = {.fallback = true, .propagation = "rslave"};
	(void)state;
	run_child(full_container_child, &fo, CLONE_NEWNS | CLONE_NEWCGROUP);
	assert_host_untouched();
}

static void test_full_container_without_cgroupns(void **state)
{
	full_opts_t fo = {.no_cgroupns = true};
	(void)state;
	run_child(full_container_child, &fo, CLONE_NEWNS);
	assert_host_untouched();
}

static void test_full_container_no_pivot(void **state)
{
	full_opts_t fo = {.no_pivot = true, .propagation = "shared"};
	(void)state;
	run_child(full_container_child, &fo, CLONE_NEWNS | CLONE_NEWCGROUP);
	assert_host_untouched();
}

/* ---------------------------------------------------------------- errors */

static int expect_prepare_error(const husk_mount_t *mounts, size_t n, const char *want)
{
	husk_error_t err = {0};
	husk_spec_t spec = {.mounts = (husk_mount_t *)mounts, .mounts_len = n};

	CHECK(husk_rootfs_prepare(&spec, rootfs, NULL, &err) < 0, "prepare succeeded\n");
	CHECK(strstr(husk_error_msg(&err), want) != NULL, "error \"%s\" lacks \"%s\"\n",
	      husk_error_msg(&err), want);
	return 0;
}

static int missing_source_child(void *arg)
{
	const mount_def_t defs[] = {{"/data", "none", "/nonexistent", {"rbind", "ro"}}};
	(void)arg;
	return expect_prepare_error(
	    make_mounts(defs, 1), 1,
	    "mount \"/nonexistent\" to \"/data\": No such file or directory");
}

static void test_missing_bind_source(void **state)
{
	(void)state;
	run_child(missing_source_child, NULL, CLONE_NEWNS);
	assert_host_untouched();
}

static int proc_on_symlink_child(void *arg)
{
	const mount_def_t defs[] = {{"/proc", "proc", "proc", {NULL}}};
	char p[PATH_MAX * 2];
	(void)arg;
	snprintf(p, sizeof p, "%s/proc", rootfs);
	CHECK(symlink("/etc", p) == 0, "symlink\n");
	return expect_prepare_error(make_mounts(defs, 1), 1,
				    "mount \"proc\" on \"/proc\": destination is a symlink");
}

static void test_proc_on_symlink_refused(void **state)
{
	(void)state;
	run_child(proc_on_symlink_child, NULL, CLONE_NEWNS);
	assert_host_untouched();
}

/* ---------------------------------------------------------------- hostile rootfs */

/*
 * The image plants: /evil -> /etc (a host path), /dev -> <tmpdir>/outside (absolute host
 * path), and the config uses ".." to climb. Every mount and device must land inside.
 */
static int hostile_child(void *arg)
{
	husk_error_t err = {0};
	char p[PATH_MAX * 2], climb[PATH_MAX * 2], t[64], o[256];
	mount_def_t defs[] = {
	    {"/evil", "tmpfs", "tmpfs", {"size=1m"}},
	    {NULL, "tmpfs", "tmpfs", {"size=1m"}},
	    {"/evil/../../../../etc/file-target", "none", hostfile, {"bind"}},
	};
	husk_spec_t spec = {0};
	bool fallback = *(bool *)arg;

	husk_safe_path_force_fallback(fallback);
	snprintf(p, sizeof p, "%s/evil", rootfs);
	CHECK(symlink("/etc", p) == 0, "symlink evil\n");
	snprintf(p, sizeof p, "%s/dev", rootfs);
	CHECK(symlink(outside, p) == 0, "symlink dev\n");
	snprintf(climb, sizeof climb, "../../../../../..%s/climbed", outside);
	defs[1].dst = climb;
	spec.mounts = make_mounts(defs, 3);
	spec.mounts_len = 3;

	CHECK_OK(husk_rootfs_prepare(&spec, rootfs, NULL, &err), err);
	/* Before the pivot our mountinfo still has host paths: nothing may be at /etc. */
	CHECK(!find_mount("/etc", t, o), "something was mounted on the host's /etc\n");
	CHECK(!find_mount(climb + 17, t, o), "the climb reached %s\n", climb + 17);
	snprintf(p, sizeof p, "%s/etc", rootfs);
	CHECK(find_mount(p, t, o) && strcmp(t, "tmpfs") == 0, "/evil did not land in rootfs/etc\n");
	snprintf(p, sizeof p, "%s%s/climbed", rootfs, outside);
	CHECK(find_mount(p, t, o), "the climb did not land at %s\n", p);
	snprintf(p, sizeof p, "%s%s/null", rootfs, outside);
	CHECK(access(p, F_OK) == 0, "devices not created at %s\n", p);

	CHECK_OK(husk_rootfs_pivot(&spec, rootfs, false, &err), err);
	if (check_device("/dev/null", S_IFCHR, 1, 3) || check_read("/etc/file-target", "host data"))
		return 1;
	return 0;
}

static void test_hostile_symlinks(void **state)
{
	bool fallback = false;
	(void)state;
	run_child(hostile_child, &fallback, CLONE_NEWNS);
	assert_host_untouched();
}

static void test_hostile_symlinks_fallback(void **state)
{
	bool fallback = true;
	(void)state;
	run_child(hostile_child, &fallback, CLONE_NEWNS);
	assert_host_untouched();
}

/* /dev/null swapped for a symlink, then for a regular file, before masking: both refused. */
static int bad_dev_null_child(void *arg)
{
	husk_error_t err = {0};
	char *masked[] = {"/etc/maskme", NULL};
	husk_linux_t lx = {.masked_paths = masked, .masked_paths_len = 1};
	husk_spec_t spec = {.linux_ = &lx};
	const mount_def_t defs[] = {{"/proc", "proc", "proc", {NULL}}};
	(void)arg;

	spec.mounts = make_mounts(defs, 1);
	spec.mounts_len = 1;
	CHECK_OK(husk_rootfs_prepare(&spec, rootfs, NULL, &err), err);
	CHECK_OK(husk_rootfs_pivot(&spec, rootfs, false, &err), err);

	CHECK(unlink("/dev/null") == 0 && symlink("/etc/secret", "/dev/null") == 0, "swap\n");
	CHECK(husk_rootfs_finalize(&spec, &err) < 0, "finalize accepted a symlinked /dev/null\n");
	CHECK(strstr(husk_error_msg(&err), "/dev/null") != NULL, "%s\n", husk_error_msg(&err));
	if (check_read("/etc/maskme", "secret in image"))
		return 1;

	CHECK(unlink("/dev/null") == 0, "unlink\n");
	{
		FILE *f = fopen("/dev/null", "w");
		CHECK(f != NULL, "create /dev/null\n");
		fputs("leak", f);
		fclose(f);
	}
	CHECK(husk_rootfs_finalize(&spec, &err) < 0, "finalize accepted a regular /dev/null\n");
	CHECK(strstr(husk_error_msg(&err), "is not the character device 1:3") != NULL, "%s\n",
	      husk_error_msg(&err));
	if (check_read("/etc/maskme", "secret in image"))
		return 1;
	husk_error_clear(&err);
	return 0;
}

static void test_dev_null_verified_before_masking(void **state)
{
	(void)state;
	run_child(bad_dev_null_child, NULL, CLONE_NEWNS);
	/* No /dev mount in that config: the devices were made in the image's own /dev. */
	assert_host_clean(false);
}

/* ---------------------------------------------------------------- user namespace */

/*
 * In a user namespace mknod is refused: the default devices become binds of the host nodes.
 * The rootfs sits on a nosuid,nodev tmpfs whose flags get locked in the user namespace, so
 * the read-only remount of "/" must keep them.
 */
static int userns_child(void *arg)
{
	int *sync_fds = arg; /* [0]: we write "ready", [1]: parent closes when maps are written */
	husk_error_t err = {0};
	husk_namespace_t ns[] = {{"user", NULL}, {"mount", NULL}};
	husk_root_t root = {.path = rootfs, .readonly = true};
	husk_linux_t lx = {.namespaces = ns, .namespaces_len = 2};
	const mount_def_t defs[] = {
	    {"/dev", "tmpfs", "tmpfs", {"nosuid", "mode=755"}},
	    {"/data", "none", vol, {"rbind", "ro"}},
	};
	husk_spec_t spec = {.root = &root, .linux_ = &lx};
	char c = 'r', p[PATH_MAX * 2];
	struct statvfs sv;

	CHECK(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0, "private\n");
	CHECK(mount("tmpfs", rootfs, "tmpfs", MS_NOSUID | MS_NODEV, "mode=755") == 0, "tmpfs\n");
	snprintf(p, sizeof p, "%s/etc", rootfs);
	CHECK(mkdir(p, 0755) == 0, "mkdir\n");
	CHECK(unshare(CLONE_NEWUSER | CLONE_NEWNS) == 0, "unshare user: %s\n", strerror(errno));
	CHECK(write(sync_fds[0], &c, 1) == 1, "sync\n");
	CHECK(read(sync_fds[1], &c, 1) == 0, "sync\n");
	CHECK(setresgid(0, 0, 0) == 0 && setresuid(0, 0, 0) == 0, "setresuid\n");

	spec.mounts = make_mounts(defs, 2);
	spec.mounts_len = 2;
	CHECK_OK(husk_rootfs_prepare(&spec, rootfs, NULL, &err), err);
	CHECK_OK(husk_rootfs_pivot(&spec, rootfs, false, &err), err);
	CHECK_OK(husk_rootfs_finalize(&spec, &err), err);

	/* No /proc in here (it would need a pid namespace): look with stat instead. */
	if (check_device("/dev/null", S_IFCHR, 1, 3) || check_device("/dev/tty", S_IFCHR, 5, 0) ||
	    check_write_fails("/x", EROFS) || check_write_fails("/data/new", EROFS))
		return 1;
	{
		struct stat null_st, dev_st;
		CHECK(stat("/dev/null", &null_st) == 0 && stat("/dev", &dev_st) == 0 &&
			  null_st.st_dev != dev_st.st_dev,
		      "/dev/null is not a bind mount from the host\n");
	}
	{
		int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
		CHECK(fd >= 0 && write(fd, "x", 1) == 1, "write /dev/null\n");
		close(fd);
	}
	CHECK(statvfs("/", &sv) == 0 && (sv.f_flag & ST_NOSUID) && (sv.f_flag & ST_NODEV),
	      "locked flags lost\n");
	return 0;
}

static void write_map(pid_t pid, const char *file)
{
	char p[64];
	snprintf(p, sizeof p, "/proc/%d/%s", pid, file);
	write_text(p, "0 0 4294967295\n");
}

static void test_userns_devices_are_bound(void **state)
{
	int ready[2], go[2], msg[2], status;
	char buf[4096] = {0}, c;
	size_t used = 0;
	ssize_t n;
	pid_t pid;
	(void)state;

	assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
	assert_int_equal(pipe2(go, O_CLOEXEC), 0);
	assert_int_equal(pipe2(msg, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fds[2] = {ready[1], go[0]};
		close(ready[0]);
		close(go[1]);
		close(msg[0]);
		msgfd = msg[1];
		if (unshare(CLONE_NEWNS) < 0)
			_exit(1);
		_exit(userns_child(fds));
	}
	close(ready[1]);
	close(go[0]);
	close(msg[1]);
	if (read(ready[0], &c, 1) == 1) {
		write_map(pid, "uid_map");
		write_map(pid, "gid_map");
	}
	close(go[1]);
	while (used < sizeof buf - 1 && (n = read(msg[0], buf + used, sizeof buf - 1 - used)) > 0)
		used += (size_t)n;
	close(msg[0]);
	close(ready[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("child failed (status %#x): %s", status, buf);
	assert_host_untouched();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_full_container, setup_each),
	    cmocka_unit_test_setup(test_full_container_fallback_resolver, setup_each),
	    cmocka_unit_test_setup(test_full_container_no_pivot, setup_each),
	    cmocka_unit_test_setup(test_full_container_without_cgroupns, setup_each),
	    cmocka_unit_test_setup(test_missing_bind_source, setup_each),
	    cmocka_unit_test_setup(test_proc_on_symlink_refused, setup_each),
	    cmocka_unit_test_setup(test_hostile_symlinks, setup_each),
	    cmocka_unit_test_setup(test_hostile_symlinks_fallback, setup_each),
	    cmocka_unit_test_setup(test_dev_null_verified_before_masking, setup_each),
	    cmocka_unit_test_setup(test_userns_devices_are_bound, setup_each),
	};
	if (geteuid() != 0) {
		fprintf(stderr, "test-rootfs needs root: skipped\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
