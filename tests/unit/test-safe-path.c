/* Unit tests: resolving paths inside a root, with openat2 and with the userspace fallback. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "libhusk/safe-path.h"
#include "libhusk/utils.h"

static char root[PATH_MAX];
static int rootfd = -1;

static void make_file(const char *rel, const char *text)
{
	char p[PATH_MAX * 2];
	FILE *f;
	snprintf(p, sizeof p, "%s/%s", root, rel);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void make_dir(const char *rel)
{
	assert_int_equal(mkdirat(rootfd, rel, 0755), 0);
}

static void make_link(const char *target, const char *rel)
{
	assert_int_equal(symlinkat(target, rootfd, rel), 0);
}

/*
 * root/
 *   etc/passwd           "inside"
 *   dir/sub/             dir/up -> ..
 *   abs_etc -> /etc      rel_up -> ../../../../../etc
 *   loop1 -> loop2 -> loop1, self -> self
 *   chain -> dir/up/abs_etc/passwd
 *   dangling -> /nonexistent, dangling_file -> /var/made, dangling_rel -> ../../../outside
 *   magic -> /proc/self/exe
 */
static int setup_root(void **state)
{
	(void)state;
	snprintf(root, sizeof root, "/tmp/husk-test-safe-path-XXXXXX");
	if (mkdtemp(root) == NULL)
		return -1;
	rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return -1;
	make_dir("etc");
	make_file("etc/passwd", "inside");
	make_dir("dir");
	make_dir("dir/sub");
	make_link("..", "dir/up");
	make_link("/etc", "abs_etc");
	make_link("../../../../../etc", "rel_up");
	make_link("loop2", "loop1");
	make_link("loop1", "loop2");
	make_link("self", "self");
	make_link("dir/up/abs_etc/passwd", "chain");
	make_link("/nonexistent", "dangling");
	make_link("/var/made", "dangling_file");
	make_link("../../../outside", "dangling_rel");
	make_link("/proc/self/exe", "magic");
	return 0;
}

static int remove_tree(const char *path)
{
	/* The tree is ours and tiny: walk it by hand rather than shell out. */
	struct stat st;
	if (lstat(path, &st) < 0)
		return 0;
	if (S_ISDIR(st.st_mode)) {
		DIR *d = opendir(path);
		struct dirent *e;
		if (d != NULL) {
			while ((e = readdir(d)) != NULL) {
				char child[PATH_MAX * 2];
				if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
					continue;
				snprintf(child, sizeof child, "%s/%s", path, e->d_name);
				remove_tree(child);
			}
			closedir(d);
		}
		return rmdir(path);
	}
	return unlink(path);
}

static int teardown_root(void **state)
{
	(void)state;
	close(rootfd);
	return remove_tree(root);
}

static int use_kernel(void **state)
{
	(void)state;
	husk_safe_path_force_fallback(false);
	return 0;
}

static int use_fallback(void **state)
{
	(void)state;
	husk_safe_path_force_fallback(true);
	return 0;
}

static void assert_reads_inside(const char *path)
{
	husk_error_t err = {0};
	char buf[64] = {0};
	int fd = husk_safe_open(rootfd, path, O_RDONLY, &err);

	if (fd < 0)
		fail_msg("%s: %s", path, husk_error_msg(&err));
	assert_true(read(fd, buf, sizeof buf - 1) > 0);
	assert_string_equal(buf, "inside");
	close(fd);
}

static void assert_fails(const char *path, int flags, int want_errno)
{
	husk_error_t err = {0};
	int fd = husk_safe_open(rootfd, path, flags, &err);

	if (fd >= 0)
		fail_msg("%s: opened, expected %s", path, strerror(want_errno));
	assert_int_equal(err.errnum, want_errno);
	assert_non_null(strstr(husk_error_msg(&err), path));
	husk_error_clear(&err);
}

static void test_stays_inside(void **state)
{
	(void)state;
	assert_reads_inside("etc/passwd");
	assert_reads_inside("/etc/passwd");
	assert_reads_inside("abs_etc/passwd");
	assert_reads_inside("/abs_etc/passwd");
	assert_reads_inside("rel_up/passwd");
	assert_reads_inside("../../../etc/passwd");
	assert_reads_inside("dir/../../../../etc/passwd");
	assert_reads_inside("dir/up/dir/up/../../etc/passwd");
	assert_reads_inside("dir/sub/../up/abs_etc/../etc/passwd");
	assert_reads_inside("chain");
	assert_reads_inside("//etc//./passwd");
}

static void test_errors(void **state)
{
	(void)state;
	assert_fails("loop1", O_RDONLY, ELOOP);
	assert_fails("self/x", O_PATH, ELOOP);
	assert_fails("dangling", O_RDONLY, ENOENT);
	assert_fails("etc/passwd/x", O_PATH, ENOTDIR);
	assert_fails("etc/missing", O_PATH, ENOENT);
	assert_fails("etc/passwd", O_PATH | O_DIRECTORY, ENOTDIR);
	/* The image's own /proc/self/exe does not exist; it must not become the host's. */
	assert_fails("magic", O_PATH, ENOENT);
}

static void test_nofollow_last(void **state)
{
	husk_error_t err = {0};
	struct stat st;
	int fd;
	(void)state;

	fd = husk_safe_open(rootfd, "abs_etc", O_PATH | O_NOFOLLOW, &err);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	close(fd);
	assert_fails("abs_etc", O_RDONLY | O_NOFOLLOW, ELOOP);
}

static void test_root_itself(void **state)
{
	husk_error_t err = {0};
	struct stat a, b;
	(void)state;

	for (const char *const *p = (const char *const[]){"/", "", ".", "..", "/../..", NULL}; *p;
	     p++) {
		int fd = husk_safe_open(rootfd, *p, O_PATH | O_DIRECTORY, &err);
		assert_true(fd >= 0);
		assert_int_equal(fstat(fd, &a), 0);
		assert_int_equal(fstat(rootfd, &b), 0);
		assert_int_equal(a.st_ino, b.st_ino);
		close(fd);
	}
}

/* The host's magic links are refused too, when the root is the real "/". */
static void test_magic_links_refused(void **state)
{
	husk_error_t err = {0};
	int hostroot = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	int fd;
	(void)state;

	fd = husk_safe_open(hostroot, "/proc/self/exe", O_PATH, &err);
	assert_true(fd < 0);
	assert_int_equal(err.errnum, ELOOP);
	husk_error_clear(&err);
	fd = husk_safe_open(hostroot, "/proc/self/fd/0", O_PATH, &err);
	assert_true(fd < 0);
	assert_int_equal(err.errnum, ELOOP);
	husk_error_clear(&err);
	/* /proc/self itself is an ordinary symlink. */
	fd = husk_safe_open(hostroot, "/proc/self/status", O_RDONLY, &err);
	assert_true(fd >= 0);
	close(fd);
	close(hostroot);
}

static void assert_exists_in_root(const char *rel, mode_t type)
{
	struct stat st;
	if (fstatat(rootfd, rel, &st, AT_SYMLINK_NOFOLLOW) < 0)
		fail_msg("%s/%s: %s", root, rel, strerror(errno));
	assert_int_equal(st.st_mode & S_IFMT, type);
}

static void test_create_inside(void **state)
{
	husk_error_t err = {0};
	bool fb = *(bool *)*state;
	char dir[64], file[64], rel[64];
	int fd;

	/* Distinct names per pass: both resolvers must create, not find. */
	snprintf(dir, sizeof dir, "abs_etc/new%d/deep", fb);
	snprintf(file, sizeof file, "rel_up/../dir/up/etc/made%d", fb);
	fd = husk_safe_mkdir_p(rootfd, dir, 0755, &err);
	if (fd < 0)
		fail_msg("%s", husk_error_msg(&err));
	close(fd);
	snprintf(rel, sizeof rel, "etc/new%d/deep", fb);
	assert_exists_in_root(rel, S_IFDIR);

	fd = husk_safe_mount_target(rootfd, file, false, &err);
	if (fd < 0)
		fail_msg("%s", husk_error_msg(&err));
	close(fd);
	snprintf(rel, sizeof rel, "etc/made%d", fb);
	assert_exists_in_root(rel, S_IFREG);

	/* Existing entries are accepted as they are. */
	fd = husk_safe_mount_target(rootfd, "/etc/passwd", false, &err);
	assert_true(fd >= 0);
	close(fd);
	fd = husk_safe_mount_target(rootfd, "/abs_etc", true, &err);
	assert_true(fd >= 0);
	close(fd);
}

/* A dangling symlink as a target is created where it points, inside the root. */
static void test_dangling_targets(void **state)
{
	husk_error_t err = {0};
	int fd;
	(void)state;

	fd = husk_safe_mount_target(rootfd, "dangling_file", false, &err);
	if (fd < 0)
		fail_msg("%s", husk_error_msg(&err));
	close(fd);
	assert_exists_in_root("var/made", S_IFREG);
	assert_int_equal(access("/var/made", F_OK), -1);

	fd = husk_safe_mount_target(rootfd, "dangling_rel", false, &err);
	if (fd < 0)
		fail_msg("%s", husk_error_msg(&err));
	close(fd);
	assert_exists_in_root("outside", S_IFREG);
	unlinkat(rootfd, "var/made", 0);
	unlinkat(rootfd, "var", AT_REMOVEDIR);
	unlinkat(rootfd, "outside", 0);
	/* Through a loop nothing can be created. */
	fd = husk_safe_mount_target(rootfd, "loop1", false, &err);
	assert_true(fd < 0);
	husk_error_clear(&err);
}

static void test_proc_verified(void **state)
{
	husk_error_t err = {0};
	int fd = husk_proc_fd_verified(&err);
	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(faccessat(fd, "self/status", R_OK, 0), 0);
	close(fd);
}

#define BOTH(fn)                                                                                   \
	cmocka_unit_test_prestate_setup_teardown(fn, use_kernel, NULL, &kernel_state),             \
	    cmocka_unit_test_prestate_setup_teardown(fn, use_fallback, NULL, &fallback_state)

int main(void)
{
	static bool kernel_state = false, fallback_state = true;
	const struct CMUnitTest tests[] = {
	    BOTH(test_stays_inside),	    BOTH(test_errors),
	    BOTH(test_nofollow_last),	    BOTH(test_root_itself),
	    BOTH(test_magic_links_refused), BOTH(test_create_inside),
	    BOTH(test_dangling_targets),    cmocka_unit_test(test_proc_verified),
	};
	return cmocka_run_group_tests(tests, setup_root, teardown_root);
}
