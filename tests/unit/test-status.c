/* Unit tests: the state directory and the derived status (libhusk/status.c). */
#include "config.h"

#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "libhusk/status.h"
#include "libhusk/utils.h"

static char root_path[] = "/tmp/husk-test-status.XXXXXX";

static int make_root(void **state)
{
	(void)state;
	strcpy(root_path, "/tmp/husk-test-status.XXXXXX");
	return mkdtemp(root_path) ? 0 : -1;
}

static int remove_root(void **state)
{
	char cmd[128];
	(void)state;
	snprintf(cmd, sizeof cmd, "rm -rf %s", root_path);
	return system(cmd) == 0 ? 0 : -1;
}

static int open_root(void)
{
	int fd = husk_root_open(root_path, false, NULL);
	assert_true(fd >= 0);
	return fd;
}

static void fill_state(husk_state_t *st, const char *id)
{
	memset(st, 0, sizeof *st);
	st->id = xstrdup(id);
	st->bundle = xstrdup("/b");
	st->rootfs = xstrdup("/b/rootfs");
	st->created_at = xstrdup("2026-01-01T00:00:00.000000000Z");
	st->owner = xstrdup("0");
	st->annotations = xmalloc0(sizeof(husk_kv_t) * 2);
	st->annotations[0].key = xstrdup("k");
	st->annotations[0].value = xstrdup("v \"quoted\"");
	st->annotations_len = 1;
}

static void test_roundtrip(void **state)
{
	cleanup_close int rootfd = open_root();
	cleanup_close int dirfd = husk_state_dir_create(rootfd, "c1", NULL);
	husk_state_t in, out;
	(void)state;

	assert_true(dirfd >= 0);
	fill_state(&in, "c1");
	in.created = true;
	in.pid = 4242;
	in.pid_start = 123456789ULL;
	in.cgroup_path = xstrdup("/husk/c1");
	assert_int_equal(husk_state_write(dirfd, &in, NULL), 0);
	assert_int_equal(husk_state_read(dirfd, "c1", &out, NULL), 0);
	assert_string_equal(out.id, "c1");
	assert_true(out.created);
	assert_int_equal(out.pid, 4242);
	assert_true(out.pid_start == 123456789ULL);
	assert_string_equal(out.bundle, "/b");
	assert_string_equal(out.cgroup_path, "/husk/c1");
	assert_int_equal(out.annotations_len, 1);
	assert_string_equal(out.annotations[0].value, "v \"quoted\"");
	husk_state_clear(&in);
	husk_state_clear(&out);
}

static void test_duplicate_and_missing(void **state)
{
	cleanup_close int rootfd = open_root();
	cleanup_error husk_error_t err = {0};
	cleanup_close int a = husk_state_dir_create(rootfd, "dup", &err);
	(void)state;

	assert_true(a >= 0);
	assert_int_equal(husk_state_dir_create(rootfd, "dup", &err), -1);
	assert_string_equal(husk_error_msg(&err), "container \"dup\" already exists");
	assert_int_equal(husk_state_dir_open(rootfd, "nope", &err), -1);
	assert_string_equal(husk_error_msg(&err), "container \"nope\" does not exist");
	assert_int_equal(husk_state_dir_remove(rootfd, "dup", NULL), 0);
	assert_int_equal(faccessat(rootfd, "dup", F_OK, 0), -1);
	/* Removing what is not there is fine. */
	assert_int_equal(husk_state_dir_remove(rootfd, "dup", NULL), 0);
}

static void test_corrupt_state(void **state)
{
	cleanup_close int rootfd = open_root();
	cleanup_close int dirfd = husk_state_dir_create(rootfd, "bad", NULL);
	cleanup_error husk_error_t err = {0};
	husk_state_t st;
	(void)state;

	assert_int_equal(husk_write_file_atomic(dirfd, HUSK_STATE_FILE, "{\"id\":", 6, NULL), 0);
	assert_int_equal(husk_state_read(dirfd, "bad", &st, &err), -1);
	assert_string_equal(husk_error_msg(&err), "container \"bad\": corrupt state file state.json");
	husk_error_clear(&err);
	assert_int_equal(husk_write_file_atomic(dirfd, HUSK_STATE_FILE, "[1,2]", 5, NULL), 0);
	assert_int_equal(husk_state_read(dirfd, "bad", &st, &err), -1);
	assert_non_null(strstr(husk_error_msg(&err), "corrupt state file"));
	husk_error_clear(&err);
	unlinkat(dirfd, HUSK_STATE_FILE, 0);
	assert_int_equal(husk_state_read(dirfd, "bad", &st, &err), -1);
	assert_non_null(strstr(husk_error_msg(&err), "No such file or directory"));
}

/* A child that stays alive until killed: a stand-in for a container process. */
static pid_t spawn_sleeper(void)
{
	pid_t pid = fork();
	if (pid == 0) {
		pause();
		_exit(0);
	}
	return pid;
}

static void test_derived_status(void **state)
{
	cleanup_close int rootfd = open_root();
	cleanup_close int dirfd = husk_state_dir_create(rootfd, "live", NULL);
	husk_state_t st;
	pid_t pid = spawn_sleeper();
	(void)state;

	fill_state(&st, "live");
	/* Being created by a live creator. */
	st.creator_pid = getpid();
	st.creator_start = husk_pid_start_time(getpid());
	assert_int_equal(husk_state_status(dirfd, &st), HUSK_STATUS_CREATING);
	/* The creator died mid-create. */
	st.creator_start += 1;
	assert_int_equal(husk_state_status(dirfd, &st), HUSK_STATUS_STOPPED);
	/* Created, waiting on the barrier: the fifo exists. */
	st.created = true;
	st.pid = pid;
	st.pid_start = husk_pid_start_time(pid);
	assert_true(st.pid_start > 0);
	assert_int_equal(mkfifoat(dirfd, HUSK_EXEC_FIFO, 0600), 0);
	assert_int_equal(husk_state_status(dirfd, &st), HUSK_STATUS_CREATED);
	unlinkat(dirfd, HUSK_EXEC_FIFO, 0);
	assert_int_equal(husk_state_status(dirfd, &st), HUSK_STATUS_RUNNING);
	/* Another process got the pid (different start time). */
	st.pid_start += 1;
	assert_int_equal(husk_state_status(dirfd, &st), HUSK_STATUS_STOPPED);
	st.pid_start -= 1;
	/* Exited but not reaped by its (live) parent, us: still running, as runc says, until
	 * the supervisor has collected the exit status; reaped: stopped. */
	kill(pid, SIGKILL);
	usleep(100 * 1000);
	assert_int_equal(husk_state_status(dirfd, &st), HUSK_STATUS_RUNNING);
	waitpid(pid, NULL, 0);
	assert_int_equal(husk_state_status(dirfd, &st), HUSK_STATUS_STOPPED);
	husk_state_clear(&st);
}

static void test_oci_json(void **state)
{
	husk_state_t st;
	char *running, *stopped;
	(void)state;

	fill_state(&st, "j");
	st.pid = 77;
	running = husk_state_oci_json(&st, HUSK_STATUS_RUNNING, false);
	stopped = husk_state_oci_json(&st, HUSK_STATUS_STOPPED, false);
	assert_non_null(strstr(running, "\"ociVersion\":\"1.3.0\""));
	assert_non_null(strstr(running, "\"status\":\"running\""));
	assert_non_null(strstr(running, "\"pid\":77"));
	assert_non_null(strstr(running, "\"bundle\":\"/b\""));
	assert_non_null(strstr(running, "\"annotations\":{\"k\":\"v \\\"quoted\\\"\"}"));
	/* runtime.md: pid is for created and running containers only. */
	assert_non_null(strstr(stopped, "\"pid\":0"));
	free(running);
	free(stopped);
	husk_state_clear(&st);
}

static void test_list_sorted(void **state)
{
	cleanup_close int rootfd = open_root();
	cleanup_strv char **ids = NULL;
	(void)state;

	assert_int_equal(mkdirat(rootfd, "zeta", 0700), 0);
	assert_int_equal(mkdirat(rootfd, "alpha", 0700), 0);
	assert_int_equal(mkdirat(rootfd, ".hidden", 0700), 0);
	assert_int_equal(husk_state_list_ids(rootfd, &ids, NULL), 0);
	/* Earlier tests left "c1", "bad", "live". */
	assert_non_null(ids[0]);
	for (size_t i = 1; ids[i]; i++)
		assert_true(strcmp(ids[i - 1], ids[i]) < 0);
	for (size_t i = 0; ids[i]; i++)
		assert_true(ids[i][0] != '.');
}

static void test_now_format(void **state)
{
	cleanup_free char *now = husk_now_rfc3339();
	(void)state;
	/* 2026-11-23T16:06:52.502477929Z */
	assert_int_equal(strlen(now), 30);
	assert_true(now[4] == '-' && now[10] == 'T' && now[19] == '.' && now[29] == 'Z');
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),   cmocka_unit_test(test_duplicate_and_missing),
		cmocka_unit_test(test_corrupt_state), cmocka_unit_test(test_derived_status),
		cmocka_unit_test(test_oci_json),    cmocka_unit_test(test_list_sorted),
		cmocka_unit_test(test_now_format),
	};
	return cmocka_run_group_tests(tests, make_root, remove_root);
}
