/*
 * Unit tests for libhusk/cgroup*.c: path resolution and value conversions (pure), then
 * real-effect tests that create cgroups named /husk-test-<pid>/... on the running host
 * (root only; the v1/hybrid group skips on a pure v2 host and the v2 group skips elsewhere).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "libhusk/cgroup-internal.h"
#include "libhusk/cgroup.h"
#include "libhusk/utils.h"

/* ---------------------------------------------------------------- pure logic */

static char *path_of(const char *cgroups_path, bool systemd, husk_error_t *err)
{
	char *out = NULL;
	if (husk_cgroup_path_from_spec(cgroups_path, "ctr1", systemd, &out, err) < 0)
		return NULL;
	return out;
}

static void expect_path(const char *in, bool systemd, const char *want)
{
	husk_error_t err = {0};
	char *got = path_of(in, systemd, &err);
	if (got == NULL)
		fail_msg("\"%s\": %s", in ? in : "(null)", husk_error_msg(&err));
	assert_string_equal(got, want);
	free(got);
}

static void expect_path_error(const char *in, bool systemd, const char *msg_part)
{
	husk_error_t err = {0};
	char *got = path_of(in, systemd, &err);
	if (got != NULL)
		fail_msg("\"%s\" accepted as \"%s\"", in, got);
	assert_non_null(strstr(husk_error_msg(&err), msg_part));
	husk_error_clear(&err);
}

static void test_path_cgroupfs(void **state)
{
	expect_path(NULL, false, "/husk/ctr1");
	expect_path("", false, "/husk/ctr1");
	expect_path("/a/b", false, "/a/b");
	expect_path("a/b", false, "/a/b");
	expect_path("//a//b/", false, "/a/b");
	expect_path("/a/./b", false, "/a/b");
	expect_path("/a/..b/c..", false, "/a/..b/c..");
	expect_path_error("/a/../b", false, "linux.cgroupsPath: \"..\" not allowed");
	expect_path_error("..", false, "\"..\" not allowed");
	expect_path_error("/a/..", false, "\"..\" not allowed");
	expect_path_error("/", false, "root cgroup");
}

static void test_path_systemd(void **state)
{
	expect_path(NULL, true, "/system.slice/husk-ctr1.scope");
	expect_path("system.slice:docker:abc", true, "/system.slice/docker-abc.scope");
	expect_path("a-b.slice:pre:name", true, "/a.slice/a-b.slice/pre-name.scope");
	expect_path("a-b-c.slice:p:n", true, "/a.slice/a-b.slice/a-b-c.slice/p-n.scope");
	expect_path(":p:n", true, "/system.slice/p-n.scope");
	expect_path("-.slice:p:n", true, "/p-n.scope");
	expect_path("user.slice::n", true, "/user.slice/n.scope");
	expect_path("machine.slice:p:", true, "/machine.slice/p-ctr1.scope");
	expect_path("a.slice:p:a-x.slice", true, "/a.slice/a-x.slice");
	expect_path_error("foo", true, "slice:prefix:name");
	expect_path_error("a.slice:b", true, "slice:prefix:name");
	expect_path_error("a:b:c:d", true, "slice:prefix:name");
	expect_path_error("a--b.slice:p:n", true, "invalid slice name");
	expect_path_error("-a.slice:p:n", true, "invalid slice name");
	expect_path_error("a-.slice:p:n", true, "invalid slice name");
	expect_path_error("a/b.slice:p:n", true, "invalid slice name");
	expect_path_error("nodot:p:n", true, "invalid slice name");
	expect_path_error("a.slice:p:..", true, "invalid unit name");
}

static void test_expand_slice(void **state)
{
	husk_error_t err = {0};
	char *out = NULL;

	assert_int_equal(husk_cgroup_expand_slice("-.slice", &out, &err), 0);
	assert_string_equal(out, "");
	free(out);
	assert_int_equal(husk_cgroup_expand_slice("x.slice", &out, &err), 0);
	assert_string_equal(out, "/x.slice");
	free(out);
	assert_int_equal(husk_cgroup_expand_slice("x-y-z.slice", &out, &err), 0);
	assert_string_equal(out, "/x.slice/x-y.slice/x-y-z.slice");
	free(out);
	assert_int_equal(husk_cgroup_expand_slice(".slice", &out, &err), -1);
	husk_error_clear(&err);
	assert_int_equal(husk_cgroup_expand_slice("x.scope", &out, &err), -1);
	husk_error_clear(&err);
}

static void test_shares_to_weight(void **state)
{
	assert_int_equal(husk_cgroup_shares_to_weight(0), 0);
	assert_int_equal(husk_cgroup_shares_to_weight(1), 1);
	assert_int_equal(husk_cgroup_shares_to_weight(2), 1);
	assert_int_equal(husk_cgroup_shares_to_weight(512), 20);
	assert_int_equal(husk_cgroup_shares_to_weight(1024), 39);
	assert_int_equal(husk_cgroup_shares_to_weight(262144), 10000);
	assert_int_equal(husk_cgroup_shares_to_weight(1000000), 10000);
}

static void test_blkio_weight(void **state)
{
	assert_int_equal(husk_cgroup_blkio_to_io_weight(0), 0);
	assert_int_equal(husk_cgroup_blkio_to_io_weight(10), 1);
	assert_int_equal(husk_cgroup_blkio_to_io_weight(500), 4950);
	assert_int_equal(husk_cgroup_blkio_to_io_weight(1000), 10000);
	assert_int_equal(husk_cgroup_blkio_to_io_weight(5), 1);
}

static void expect_swap(bool has_swap, int64_t swap, bool has_limit, int64_t limit, bool set,
			int64_t want)
{
	husk_error_t err = {0};
	int64_t out = 12345;
	bool is_set = !set;

	if (husk_cgroup_swap_to_v2(has_swap, swap, has_limit, limit, &out, &is_set, &err) < 0)
		fail_msg("swap %lld limit %lld: %s", (long long)swap, (long long)limit,
			 husk_error_msg(&err));
	assert_int_equal(is_set, set);
	if (set)
		assert_int_equal(out, want);
}

static void expect_swap_error(int64_t swap, bool has_limit, int64_t limit, const char *part)
{
	husk_error_t err = {0};
	int64_t out;
	bool set;

	assert_int_equal(husk_cgroup_swap_to_v2(true, swap, has_limit, limit, &out, &set, &err),
			 -1);
	assert_non_null(strstr(husk_error_msg(&err), part));
	husk_error_clear(&err);
}

static void test_swap_conversion(void **state)
{
	expect_swap(true, 200 << 20, true, 100 << 20, true, 100 << 20);
	expect_swap(true, 100 << 20, true, 100 << 20, true, 0); /* no swap at all */
	expect_swap(true, -1, true, 100 << 20, true, -1);
	expect_swap(false, 0, true, -1, true, -1); /* unlimited memory: unlimited swap */
	expect_swap(false, 0, true, 100 << 20, false, 0);
	expect_swap(false, 0, false, 0, false, 0);
	expect_swap_error(50 << 20, true, 100 << 20, "lower than memory.limit");
	expect_swap_error(50 << 20, false, 0, "needs a memory limit");
	expect_swap_error(-5, true, 100, "invalid value");
}

static void test_cpu_list(void **state)
{
	static const char *const good[] = {"0", "0-3,7", "0-7:2/4", "1,3,5", "0-1\n", "", NULL};
	static const char *const bad[] = {"3-1", "0-", "a",	  "0,,1",  "1 2", ",1",
					  "1,",	 "-1", "0-7:3/2", "0-7:2", NULL};
	husk_error_t err = {0};

	for (size_t i = 0; good[i]; i++)
		if (husk_cgroup_check_cpu_list(good[i], "f", &err) < 0)
			fail_msg("\"%s\" refused: %s", good[i], husk_error_msg(&err));
	assert_int_equal(husk_cgroup_check_cpu_list(NULL, "f", &err), 0);
	for (size_t i = 0; bad[i]; i++) {
		if (husk_cgroup_check_cpu_list(bad[i], "linux.resources.cpu.cpus", &err) == 0)
			fail_msg("\"%s\" accepted", bad[i]);
		assert_non_null(strstr(husk_error_msg(&err), "linux.resources.cpu.cpus: invalid"));
		husk_error_clear(&err);
	}
}

static void test_unified_keys(void **state)
{
	static const char *const bad[] = {"..",	  "memory/../x", "a/b.max", "foo",
					  ".max", "memory.",	 "",	    NULL};
	husk_error_t err = {0};

	assert_int_equal(husk_cgroup_check_unified_key("memory.max", &err), 0);
	assert_int_equal(husk_cgroup_check_unified_key("hugetlb.1GB.max", &err), 0);
	for (size_t i = 0; bad[i]; i++) {
		if (husk_cgroup_check_unified_key(bad[i], &err) == 0)
			fail_msg("key \"%s\" accepted", bad[i]);
		assert_non_null(strstr(husk_error_msg(&err), "linux.resources.unified: key"));
		husk_error_clear(&err);
	}
}

static void test_check_resources(void **state)
{
	husk_cpu_t cpu = {.has_quota = true, .quota = 1000, .has_burst = true, .burst = 2000};
	husk_memory_t mem = {.has_swappiness = true, .swappiness = 101};
	husk_resources_t res = {.cpu = &cpu};
	husk_error_t err = {0};

	assert_int_equal(husk_cgroup_check_resources(&res, &err), -1);
	assert_non_null(strstr(husk_error_msg(&err), "linux.resources.cpu.burst"));
	cpu.burst = 1000;
	assert_int_equal(husk_cgroup_check_resources(&res, &err), 0);
	cpu.cpus = "0-";
	assert_int_equal(husk_cgroup_check_resources(&res, &err), -1);
	assert_non_null(strstr(husk_error_msg(&err), "linux.resources.cpu.cpus"));
	cpu.cpus = NULL;
	res.memory = &mem;
	assert_int_equal(husk_cgroup_check_resources(&res, &err), -1);
	assert_non_null(strstr(husk_error_msg(&err), "swappiness"));
	husk_error_clear(&err);
}

/* ---------------------------------------------------------------- real effect */

typedef struct {
	husk_cgroup_t cg;
	char parent[64];
	pid_t children[4];
	size_t nchildren;
} fixture_t;

static const char *const v1_dirs[] = {"cpu",	 "cpuacct", "cpuset",  "memory",  "pids", "blkio",
				      "devices", "freezer", "systemd", "unified", NULL};

static bool mode_is(bool want_unified)
{
	husk_cgroup_mode_t m;
	husk_error_t err = {0};
	if (husk_cgroup_mode(&m, &err) < 0)
		return false;
	return want_unified ? m == HUSK_CGROUP_MODE_UNIFIED : m != HUSK_CGROUP_MODE_UNIFIED;
}

static bool dir_exists(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static bool dir_exists(const char *fmt, ...)
{
	char path[512];
	struct stat st;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof path, fmt, ap);
	va_end(ap);
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Remove what a test may have left, in every hierarchy, whatever failed. */
static void remove_everywhere(const char *path)
{
	char full[512];

	if (mode_is(true)) {
		snprintf(full, sizeof full, "/sys/fs/cgroup%s", path);
		rmdir(full);
		return;
	}
	for (size_t i = 0; v1_dirs[i]; i++) {
		snprintf(full, sizeof full, "/sys/fs/cgroup/%s%s", v1_dirs[i], path);
		rmdir(full);
	}
}

static int setup_real(void **state)
{
	fixture_t *f = xmalloc0(sizeof *f);
	husk_error_t err = {0};

	snprintf(f->parent, sizeof f->parent, "/husk-test-%d", (int)getpid());
	if (husk_cgroup_mode(&f->cg.mode, &err) < 0)
		fail_msg("%s", husk_error_msg(&err));
	if (asprintf(&f->cg.path, "%s/c1", f->parent) < 0)
		abort();
	/* Grandchildren of the pids test must come back to us to be reaped. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	*state = f;
	return 0;
}

/* Skip (from the test body, so cmocka reports SKIPPED) unless root on the right host. */
static void require_host(bool unified)
{
	if (geteuid() != 0) {
		print_message("skipped: real cgroup tests need root\n");
		skip();
	}
	if (!mode_is(unified)) {
		print_message("skipped: this host is not in %s cgroup mode\n",
			      unified ? "the unified (pure v2)" : "a v1/hybrid");
		skip();
	}
}

static void reap_all(void)
{
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

static int teardown_real(void **state)
{
	fixture_t *f = *state;
	husk_error_t err = {0};

	if (f == NULL)
		return 0;
	for (size_t i = 0; i < f->nchildren; i++) {
		kill(f->children[i], SIGKILL);
		waitpid(f->children[i], NULL, 0);
	}
	husk_cgroup_kill_all(&f->cg, SIGKILL, &err);
	husk_error_clear(&err);
	for (int i = 0; i < 100; i++) {
		reap_all();
		usleep(10000);
	}
	husk_cgroup_destroy(&f->cg, &err);
	husk_error_clear(&err);
	remove_everywhere(f->cg.path);
	remove_everywhere(f->parent);
	husk_cgroup_free(&f->cg);
	free(f);
	return 0;
}

/* Read a control file; v1 looks in /sys/fs/cgroup/<ctl>, v2 ignores ctl. */
static char *read_ctl(const fixture_t *f, const char *ctl, const char *file)
{
	char path[512];
	char *buf = NULL;
	husk_error_t err = {0};
	size_t len;

	if (f->cg.mode == HUSK_CGROUP_MODE_UNIFIED)
		snprintf(path, sizeof path, "/sys/fs/cgroup%s/%s", f->cg.path, file);
	else
		snprintf(path, sizeof path, "/sys/fs/cgroup/%s%s/%s", ctl, f->cg.path, file);
	if (husk_read_file_at(AT_FDCWD, path, &buf, &len, &err) < 0)
		fail_msg("%s", husk_error_msg(&err));
	while (len > 0 && buf[len - 1] == '\n')
		buf[--len] = '\0';
	return buf;
}

static void expect_ctl(const fixture_t *f, const char *ctl, const char *file, const char *want)
{
	char *got = read_ctl(f, ctl, file);
	if (strcmp(got, want) != 0)
		fail_msg("%s: \"%s\", expected \"%s\"", file, got, want);
	free(got);
}

/* A child that waits until told to exit (its stdin pipe closes). */
static pid_t spawn_sleeper(fixture_t *f)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		for (;;)
			pause();
	}
	f->children[f->nchildren++] = pid;
	return pid;
}

static void expect_proc_cgroup(const fixture_t *f, pid_t pid)
{
	char path[64], *buf = NULL, *save = NULL;
	husk_error_t err = {0};
	size_t matched = 0;

	snprintf(path, sizeof path, "/proc/%d/cgroup", (int)pid);
	assert_int_equal(husk_read_file_at(AT_FDCWD, path, &buf, NULL, &err), 0);
	for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		assert_non_null(c2);
		if (strcmp(c2 + 1, f->cg.path) != 0)
			fail_msg("%s: \"%s\" is not in %s", path, line, f->cg.path);
		matched++;
	}
	/* v2: one line; hybrid: every v1 hierarchy plus 0:: */
	assert_true(matched >= 1);
	if (f->cg.mode == HUSK_CGROUP_MODE_HYBRID)
		assert_true(matched >= 9);
	free(buf);
}

static void fill_resources(husk_resources_t *res, husk_memory_t *mem, husk_cpu_t *cpu)
{
	mem->has_limit = true;
	mem->limit = 64 << 20;
	cpu->has_shares = true;
	cpu->shares = 512;
	cpu->has_quota = true;
	cpu->quota = 50000;
	cpu->has_period = true;
	cpu->period = 100000;
	cpu->cpus = "0";
	cpu->mems = "0";
	res->memory = mem;
	res->cpu = cpu;
	res->has_pids_limit = true;
	res->pids_limit = 10;
}

/* A child entered into the cgroup forks until the pids limit stops it; reports the count. */
static void check_pids_limit(fixture_t *f, int expected_forks)
{
	int go[2], report[2];
	husk_error_t err = {0};
	pid_t pid;
	int result[2] = {0, 0};

	assert_int_equal(pipe2(go, O_CLOEXEC), 0);
	assert_int_equal(pipe2(report, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char c;
		int n = 0;
		if (read(go[0], &c, 1) != 1)
			_exit(1);
		for (;;) {
			pid_t g = fork();
			if (g == 0) {
				for (;;)
					pause();
			}
			if (g < 0)
				break;
			n++;
		}
		result[0] = n;
		result[1] = errno;
		if (write(report[1], result, sizeof result) != sizeof result)
			_exit(1);
		for (;;)
			pause();
	}
	f->children[f->nchildren++] = pid;
	if (husk_cgroup_enter(&f->cg, pid, &err) < 0)
		fail_msg("%s", husk_error_msg(&err));
	assert_int_equal(write(go[1], "x", 1), 1);
	assert_int_equal(read(report[0], result, sizeof result), sizeof result);
	assert_int_equal(result[1], EAGAIN);
	assert_int_equal(result[0], expected_forks);
	close(go[0]);
	close(go[1]);
	close(report[0]);
	close(report[1]);
}

static void wait_cgroup_empty(fixture_t *f)
{
	husk_error_t err = {0};

	for (int i = 0; i < 500; i++) {
		pid_t *pids = NULL;
		size_t n = 0;
		reap_all();
		if (husk_cgroup_pids(&f->cg, &pids, &n, &err) < 0)
			fail_msg("%s", husk_error_msg(&err));
		free(pids);
		if (n == 0)
			return;
		usleep(10000);
	}
	fail_msg("processes left in %s after kill_all", f->cg.path);
}

static bool pid_listed(fixture_t *f, pid_t want)
{
	husk_error_t err = {0};
	pid_t *pids = NULL;
	size_t n = 0;
	bool found = false;

	if (husk_cgroup_pids(&f->cg, &pids, &n, &err) < 0)
		fail_msg("%s", husk_error_msg(&err));
	for (size_t i = 0; i < n; i++)
		found |= pids[i] == want;
	free(pids);
	return found;
}

/* The lifecycle both managers must support, checked from the host. */
static void run_lifecycle(fixture_t *f)
{
	husk_memory_t mem = {0};
	husk_cpu_t cpu = {0};
	husk_resources_t res = {0};
	husk_error_t err = {0};
	bool frozen = true;
	pid_t child;

	fill_resources(&res, &mem, &cpu);
	if (husk_cgroup_create(&f->cg, &res, &err) < 0)
		fail_msg("create: %s", husk_error_msg(&err));

	child = spawn_sleeper(f);
	if (husk_cgroup_enter(&f->cg, child, &err) < 0)
		fail_msg("enter: %s", husk_error_msg(&err));
	expect_proc_cgroup(f, child);
	assert_true(pid_listed(f, child));

	assert_int_equal(husk_cgroup_is_frozen(&f->cg, &frozen, &err), 0);
	assert_false(frozen);
	if (husk_cgroup_freeze(&f->cg, true, &err) < 0)
		fail_msg("freeze: %s", husk_error_msg(&err));
	assert_int_equal(husk_cgroup_is_frozen(&f->cg, &frozen, &err), 0);
	assert_true(frozen);
	if (f->cg.mode == HUSK_CGROUP_MODE_UNIFIED)
		expect_ctl(f, NULL, "cgroup.freeze", "1");
	else
		expect_ctl(f, "freezer", "freezer.state", "FROZEN");
	{
		/* What checkpoint hands criu to freeze with: the dir that holds that file. */
		cleanup_free char *dir = husk_cgroup_freezer_dir(&f->cg, &err);
		cleanup_free char *want = NULL;
		assert_non_null(dir);
		assert_true(asprintf(&want, "/sys/fs/cgroup%s%s",
				     f->cg.mode == HUSK_CGROUP_MODE_UNIFIED ? "" : "/freezer",
				     f->cg.path) > 0);
		assert_string_equal(dir, want);
	}
	assert_int_equal(husk_cgroup_freeze(&f->cg, false, &err), 0);
	assert_int_equal(husk_cgroup_is_frozen(&f->cg, &frozen, &err), 0);
	assert_false(frozen);
	if (f->cg.mode != HUSK_CGROUP_MODE_UNIFIED)
		expect_ctl(f, "freezer", "freezer.state", "THAWED");

	/* pids.max 10 = the sleeper + the forker + 8 forks. */
	check_pids_limit(f, 8);

	if (husk_cgroup_kill_all(&f->cg, SIGKILL, &err) < 0)
		fail_msg("kill_all: %s", husk_error_msg(&err));
	for (size_t i = 0; i < f->nchildren; i++) {
		int status;
		assert_int_equal(waitpid(f->children[i], &status, 0), f->children[i]);
		assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	}
	f->nchildren = 0;
	wait_cgroup_empty(f);

	if (husk_cgroup_destroy(&f->cg, &err) < 0)
		fail_msg("destroy: %s", husk_error_msg(&err));
	/* destroying twice is fine: absent is not an error */
	assert_int_equal(husk_cgroup_destroy(&f->cg, &err), 0);
}

static void check_v1_destroyed(fixture_t *f)
{
	for (size_t i = 0; v1_dirs[i]; i++)
		if (dir_exists("/sys/fs/cgroup/%s%s", v1_dirs[i], f->cg.path))
			fail_msg("/sys/fs/cgroup/%s%s left behind", v1_dirs[i], f->cg.path);
}

static void test_v1_lifecycle(void **state)
{
	fixture_t *f = *state;
	husk_memory_t mem = {0};
	husk_cpu_t cpu = {0};
	husk_resources_t res = {0};
	husk_error_t err = {0};
	char *devices;

	require_host(false);

	/* Values first, on their own cgroup. */
	fill_resources(&res, &mem, &cpu);
	if (husk_cgroup_create(&f->cg, &res, &err) < 0)
		fail_msg("create: %s", husk_error_msg(&err));
	expect_ctl(f, "memory", "memory.limit_in_bytes", "67108864");
	expect_ctl(f, "pids", "pids.max", "10");
	expect_ctl(f, "cpu", "cpu.shares", "512");
	expect_ctl(f, "cpu", "cpu.cfs_quota_us", "50000");
	expect_ctl(f, "cpu", "cpu.cfs_period_us", "100000");
	expect_ctl(f, "cpuset", "cpuset.cpus", "0");
	expect_ctl(f, "cpuset", "cpuset.mems", "0");
	/* deny-all then the default devices: /dev/null yes, everything no */
	devices = read_ctl(f, "devices", "devices.list");
	assert_non_null(strstr(devices, "c 1:3 rwm"));
	assert_non_null(strstr(devices, "c 136:* rwm"));
	assert_null(strstr(devices, "a *:* rwm"));
	free(devices);
	if (f->cg.mode == HUSK_CGROUP_MODE_HYBRID)
		assert_true(dir_exists("/sys/fs/cgroup/unified%s", f->cg.path));

	/* update: new values land, the ones not given stay */
	{
		husk_resources_t upd = {.has_pids_limit = true, .pids_limit = -1};
		if (husk_cgroup_update(&f->cg, &upd, &err) < 0)
			fail_msg("update: %s", husk_error_msg(&err));
		expect_ctl(f, "pids", "pids.max", "max");
		expect_ctl(f, "memory", "memory.limit_in_bytes", "67108864");
	}
	assert_int_equal(husk_cgroup_destroy(&f->cg, &err), 0);
	check_v1_destroyed(f);

	run_lifecycle(f);
	check_v1_destroyed(f);
}

/* A value the kernel refuses: the error names field and file; nothing is left behind. */
static void test_v1_create_rollback(void **state)
{
	fixture_t *f = *state;
	husk_cpu_t cpu = {.cpus = "1023"};
	husk_resources_t res = {.cpu = &cpu};
	husk_error_t err = {0};

	require_host(false);

	assert_int_equal(husk_cgroup_create(&f->cg, &res, &err), -1);
	/* the kernel says ERANGE or EINVAL depending on its version */
	assert_string_equal(husk_error_msg(&err) + strlen(husk_error_msg(&err)) -
				strlen(strerror(err.errnum)),
			    strerror(err.errnum));
	assert_int_equal(strncmp(husk_error_msg(&err),
				 "linux.resources.cpu.cpus: write \"1023\" to cpuset.cpus: ", 55),
			 0);
	husk_error_clear(&err);
	check_v1_destroyed(f);
	for (size_t i = 0; v1_dirs[i]; i++)
		if (dir_exists("/sys/fs/cgroup/%s%s", v1_dirs[i], f->parent))
			fail_msg("parent left behind in %s", v1_dirs[i]);
}

/* Lowering memory.limit below what a process holds: the kernel says EBUSY (v1). */
static void test_v1_memory_busy(void **state)
{
	fixture_t *f = *state;
	husk_memory_t mem = {.has_limit = true, .limit = 256 << 20};
	husk_resources_t res = {.memory = &mem};
	husk_error_t err = {0};
	int ready[2];
	pid_t pid;
	char c;

	require_host(false);

	if (husk_cgroup_create(&f->cg, &res, &err) < 0)
		fail_msg("create: %s", husk_error_msg(&err));
	assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* wait to be entered, then hold 32M of anonymous memory */
		size_t size = 32 << 20;
		volatile char *p; /* volatile: the compiler must not drop the stores */
		if (read(ready[0], &c, 1) != 1)
			_exit(1);
		p = malloc(size);
		if (p == NULL)
			_exit(1);
		for (size_t i = 0; i < size; i += 4096)
			p[i] = 1;
		for (;;)
			pause();
	}
	f->children[f->nchildren++] = pid;
	if (husk_cgroup_enter(&f->cg, pid, &err) < 0)
		fail_msg("enter: %s", husk_error_msg(&err));
	assert_int_equal(write(ready[1], "x", 1), 1);
	usleep(1000);
	for (int i = 0; i < 500; i++) {
		char *usage = read_ctl(f, "memory", "memory.usage_in_bytes");
		long long u = atoll(usage);
		free(usage);
		if (u >= (30 << 20))
			break;
		usleep(10000);
	}
	mem.limit = 1 << 20;
	mem.has_swap = false;
	if (husk_cgroup_update(&f->cg, &res, &err) == 0) {
		char *usage = read_ctl(f, "memory", "memory.usage_in_bytes");
		fail_msg("1M limit accepted with usage %s", usage);
	}
	assert_string_equal(husk_error_msg(&err),
			    "linux.resources.memory.limit: write \"1048576\" to "
			    "memory.limit_in_bytes: Device or resource busy");
	husk_error_clear(&err);
	expect_ctl(f, "memory", "memory.limit_in_bytes", "268435456");
	close(ready[0]);
	close(ready[1]);
}

/* On a hybrid host the v2 code also drives the cgroup2 mount: freezer, kill, core files. */
static void test_hybrid_v2_core(void **state)
{
	fixture_t *f = *state;
	husk_kv_t unified[] = {{"cgroup.max.depth", "3"}};
	husk_resources_t res = {.unified = unified, .unified_len = 1};
	husk_cg_undo_t undo = {0};
	husk_error_t err = {0};
	char procs[256];
	int fd, status;
	uint64_t frozen = 9;
	pid_t child;

	require_host(false);
	if (f->cg.mode != HUSK_CGROUP_MODE_HYBRID) {
		print_message("skipped: no cgroup2 mount next to v1\n");
		skip();
	}
	if (husk_cgroup_create(&f->cg, &res, &err) < 0)
		fail_msg("create: %s", husk_error_msg(&err));
	fd = husk_cg_open(HUSK_CGROUP_HYBRID_UNIFIED_MNT, f->cg.path, false, &err);
	assert_true(fd >= 0);
	{
		char *depth = NULL;
		assert_int_equal(husk_cg_read(fd, "cgroup.max.depth", &depth, &err), 0);
		assert_string_equal(depth, "3");
		free(depth);
	}
	/* pids is a v1 controller here: a unified key for it must be refused */
	unified[0] = (husk_kv_t){"pids.max", "5"};
	assert_int_equal(husk_cgroup_update(&f->cg, &res, &err), -1);
	assert_string_equal(husk_error_msg(&err), "linux.resources.unified: key \"pids.max\": "
						  "controller \"pids\" is not available: "
						  "Operation not supported");
	husk_error_clear(&err);

	child = spawn_sleeper(f);
	assert_int_equal(husk_cgroup_enter(&f->cg, child, &err), 0);
	if (husk_cgroup_v2_freeze(fd, true, &err) < 0)
		fail_msg("v2 freeze: %s", husk_error_msg(&err));
	assert_int_equal(husk_cg_read_keyed(fd, "cgroup.events", "frozen", &frozen, &err), 0);
	assert_int_equal(frozen, 1);
	assert_int_equal(husk_cgroup_v2_freeze(fd, false, &err), 0);
	assert_int_equal(husk_cg_read_keyed(fd, "cgroup.events", "frozen", &frozen, &err), 0);
	assert_int_equal(frozen, 0);
	/* a non-KILL signal goes through freeze, signal each pid, thaw */
	assert_int_equal(husk_cgroup_v2_kill_all(fd, SIGTERM, &err), 0);
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
	f->nchildren = 0;
	/* SIGKILL goes through cgroup.kill */
	child = spawn_sleeper(f);
	assert_int_equal(husk_cgroup_enter(&f->cg, child, &err), 0);
	assert_int_equal(husk_cgroup_v2_kill_all(fd, SIGKILL, &err), 0);
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	f->nchildren = 0;
	close(fd);

	/* v2_make + rollback on the cgroup2 mount, with no controller wanted */
	snprintf(procs, sizeof procs, "%s/x/y", f->parent);
	assert_int_equal(
	    husk_cgroup_v2_make(HUSK_CGROUP_HYBRID_UNIFIED_MNT, procs, "", &undo, &err), 0);
	assert_int_equal(undo.len, 2);
	assert_true(dir_exists("/sys/fs/cgroup/unified%s", procs));
	husk_cg_undo_rollback(&undo);
	husk_cg_undo_free(&undo);
	assert_false(dir_exists("/sys/fs/cgroup/unified%s/x", f->parent));
	assert_int_equal(husk_cgroup_destroy(&f->cg, &err), 0);
	check_v1_destroyed(f);
}

static void test_v2_lifecycle(void **state)
{
	fixture_t *f = *state;
	husk_memory_t mem = {0};
	husk_cpu_t cpu = {0};
	husk_resources_t res = {0};
	husk_kv_t unified[] = {{"pids.max", "7"}};
	husk_error_t err = {0};
	char path[256], *ctl = NULL;
	int fd;

	require_host(true);

	fill_resources(&res, &mem, &cpu);
	if (husk_cgroup_create(&f->cg, &res, &err) < 0)
		fail_msg("create: %s", husk_error_msg(&err));
	snprintf(path, sizeof path, "/sys/fs/cgroup%s/cgroup.subtree_control", f->parent);
	assert_int_equal(husk_read_file_at(AT_FDCWD, path, &ctl, NULL, &err), 0);
	assert_non_null(strstr(ctl, "memory"));
	assert_non_null(strstr(ctl, "pids"));
	assert_non_null(strstr(ctl, "cpu"));
	free(ctl);
	expect_ctl(f, NULL, "memory.max", "67108864");
	expect_ctl(f, NULL, "pids.max", "10");
	expect_ctl(f, NULL, "cpu.weight", "20");
	expect_ctl(f, NULL, "cpu.max", "50000 100000");
	expect_ctl(f, NULL, "cpuset.cpus", "0");

	fd = husk_cgroup_open_dir(&f->cg, &err);
	if (fd < 0)
		fail_msg("open_dir: %s", husk_error_msg(&err));
	close(fd);

	res = (husk_resources_t){.unified = unified, .unified_len = 1};
	if (husk_cgroup_update(&f->cg, &res, &err) < 0)
		fail_msg("update: %s", husk_error_msg(&err));
	expect_ctl(f, NULL, "pids.max", "7");
	unified[0] = (husk_kv_t){"memory.foo", "1"};
	assert_int_equal(husk_cgroup_update(&f->cg, &res, &err), -1);
	assert_non_null(
	    strstr(husk_error_msg(&err), "linux.resources.unified: key \"memory.foo\""));
	husk_error_clear(&err);
	unified[0] = (husk_kv_t){"../pids.max", "1"};
	assert_int_equal(husk_cgroup_update(&f->cg, &res, &err), -1);
	husk_error_clear(&err);

	assert_int_equal(husk_cgroup_destroy(&f->cg, &err), 0);
	assert_false(dir_exists("/sys/fs/cgroup%s", f->cg.path));

	run_lifecycle(f);
	assert_false(dir_exists("/sys/fs/cgroup%s", f->cg.path));
}

static void test_v2_create_rollback(void **state)
{
	fixture_t *f = *state;
	husk_cpu_t cpu = {.cpus = "1023"};
	husk_resources_t res = {.cpu = &cpu};
	husk_error_t err = {0};

	require_host(true);

	assert_int_equal(husk_cgroup_create(&f->cg, &res, &err), -1);
	assert_non_null(strstr(husk_error_msg(&err), "linux.resources.cpu.cpus: write \"1023\" to "
						     "cpuset.cpus"));
	husk_error_clear(&err);
	assert_false(dir_exists("/sys/fs/cgroup%s", f->cg.path));
	assert_false(dir_exists("/sys/fs/cgroup%s", f->parent));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_path_cgroupfs),
	    cmocka_unit_test(test_path_systemd),
	    cmocka_unit_test(test_expand_slice),
	    cmocka_unit_test(test_shares_to_weight),
	    cmocka_unit_test(test_blkio_weight),
	    cmocka_unit_test(test_swap_conversion),
	    cmocka_unit_test(test_cpu_list),
	    cmocka_unit_test(test_unified_keys),
	    cmocka_unit_test(test_check_resources),
	    cmocka_unit_test_setup_teardown(test_v1_lifecycle, setup_real, teardown_real),
	    cmocka_unit_test_setup_teardown(test_v1_create_rollback, setup_real, teardown_real),
	    cmocka_unit_test_setup_teardown(test_v1_memory_busy, setup_real, teardown_real),
	    cmocka_unit_test_setup_teardown(test_hybrid_v2_core, setup_real, teardown_real),
	    cmocka_unit_test_setup_teardown(test_v2_lifecycle, setup_real, teardown_real),
	    cmocka_unit_test_setup_teardown(test_v2_create_rollback, setup_real, teardown_real),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
