/* Unit tests: the parent/child protocol's fd passing (libhusk/sync.c) and the hand-over of a
 * cgroup join's `tasks` fds with their names (libhusk/cgroup-join.c). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "libhusk/cgroup-internal.h"
#include "libhusk/cgroup.h"
#include "libhusk/sync.h"
#include "libhusk/utils.h"

static void pair(int fds[2])
{
	cleanup_error husk_error_t err = {0};
	assert_int_equal(husk_sync_pair(fds, &err), 0);
}

/* Same file on both ends: the passed fd is a new descriptor of the same open file. */
static void assert_same_file(int a, int b)
{
	struct stat sa, sb;
	assert_int_equal(fstat(a, &sa), 0);
	assert_int_equal(fstat(b, &sb), 0);
	assert_int_equal(sa.st_ino, sb.st_ino);
	assert_int_equal(sa.st_dev, sb.st_dev);
	assert_int_not_equal(a, b);
}

static bool is_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

static void test_several_fds_in_one_message(void **state)
{
	cleanup_error husk_error_t err = {0};
	int s[2], fds[3], got[8];
	husk_sync_msg_t m;
	size_t n = 0;
	(void)state;

	pair(s);
	for (int i = 0; i < 3; i++)
		fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	assert_int_equal(husk_sync_send_fds(s[0], HUSK_SYNC_CGROUP, "a\nb\nc\n", fds, 3, &err), 0);
	assert_int_equal(husk_sync_recv_fds(s[1], &m, got, 8, &n, &err), 0);
	assert_int_equal(m.type, HUSK_SYNC_CGROUP);
	assert_int_equal(m.value, 3);
	assert_string_equal(m.msg, "a\nb\nc\n");
	assert_int_equal(n, 3);
	for (int i = 0; i < 3; i++) {
		assert_same_file(fds[i], got[i]);
		assert_true(fcntl(got[i], F_GETFD) & FD_CLOEXEC);
		close(got[i]);
		close(fds[i]);
	}
	close(s[0]);
	close(s[1]);
}

/* More fds than the receiver keeps: the rest are closed, not leaked. */
static void test_extra_fds_are_closed(void **state)
{
	cleanup_error husk_error_t err = {0};
	int s[2], fds[4], got[1] = {-1};
	husk_sync_msg_t m;
	size_t n = 0;
	int probe;
	(void)state;

	pair(s);
	for (int i = 0; i < 4; i++)
		fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	assert_int_equal(husk_sync_send_fds(s[0], HUSK_SYNC_CGROUP, NULL, fds, 4, &err), 0);
	for (int i = 0; i < 4; i++)
		close(fds[i]);
	assert_int_equal(husk_sync_recv_fds(s[1], &m, got, 1, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_true(is_open(got[0]));
	close(got[0]);
	/* The three it did not keep were closed: the lowest free fds are theirs again. */
	probe = open("/dev/null", O_RDONLY | O_CLOEXEC);
	assert_true(probe <= got[0] + 1);
	close(probe);
	close(s[0]);
	close(s[1]);
}

/* The one-fd calls still work, and a message with no fd gives -1. */
static void test_single_fd_calls(void **state)
{
	cleanup_error husk_error_t err = {0};
	int s[2], fd = open("/dev/null", O_RDONLY | O_CLOEXEC), got = 7;
	husk_sync_msg_t m;
	(void)state;

	pair(s);
	assert_int_equal(husk_sync_send(s[0], HUSK_SYNC_PTY_MASTER, 0, fd, &err), 0);
	assert_int_equal(husk_sync_recv(s[1], &m, &got, &err), 0);
	assert_same_file(fd, got);
	close(got);
	assert_int_equal(husk_sync_send(s[0], HUSK_SYNC_READY, 5, -1, &err), 0);
	assert_int_equal(husk_sync_recv(s[1], &m, &got, &err), 0);
	assert_int_equal(m.value, 5);
	assert_int_equal(got, -1);
	close(fd);
	close(s[0]);
	close(s[1]);
}

static void test_too_many_fds_refused(void **state)
{
	cleanup_error husk_error_t err = {0};
	int s[2], fds[HUSK_SYNC_MAX_FDS + 1];
	(void)state;

	pair(s);
	for (int i = 0; i <= HUSK_SYNC_MAX_FDS; i++)
		fds[i] = 0;
	assert_int_equal(
	    husk_sync_send_fds(s[0], HUSK_SYNC_CGROUP, NULL, fds, HUSK_SYNC_MAX_FDS + 1, &err), -1);
	assert_non_null(strstr(husk_error_msg(&err), "sync: send message"));
	close(s[0]);
	close(s[1]);
}

/* The receiver is out of descriptors: the kernel drops fds it cannot install and says so
 * (MSG_CTRUNC); that is an error, not a message with fewer fds. */
static void test_lost_fds_are_an_error(void **state)
{
	cleanup_error husk_error_t err = {0};
	int s[2], fds[5], got[8], spare;
	husk_sync_msg_t m;
	struct rlimit old, low;
	size_t n = 9;
	(void)state;

	pair(s);
	for (int i = 0; i < 5; i++)
		fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	assert_int_equal(husk_sync_send_fds(s[0], HUSK_SYNC_CGROUP, NULL, fds, 5, &err), 0);
	/* Room for two more descriptors only. */
	spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	low = old;
	low.rlim_cur = (rlim_t)spare + 2;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	close(spare);
	assert_int_equal(husk_sync_recv_fds(s[1], &m, got, 8, &n, &err), -1);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	assert_int_equal(n, 0);
	assert_non_null(strstr(husk_error_msg(&err), "lost"));
	for (int i = 0; i < 5; i++)
		close(fds[i]);
	close(s[0]);
	close(s[1]);
}

/* The peer said why it failed, then exited without reading what we sent it: the kernel
 * reports ECONNRESET first, but its error is what the receiver must get. */
static void test_error_of_a_peer_that_left_unread_messages(void **state)
{
	cleanup_error husk_error_t err = {0};
	cleanup_error husk_error_t why = {0};
	husk_sync_msg_t m;
	int s[2];
	(void)state;

	pair(s);
	husk_error_set(&why, 0, "mount \"/sys\": a symlink");
	assert_int_equal(husk_sync_send_error(s[1], &why), 0);
	assert_int_equal(husk_sync_send(s[0], HUSK_SYNC_CGROUP, 0, -1, &err), 0);
	close(s[1]); /* with the CGROUP message unread */
	assert_int_equal(husk_sync_recv(s[0], &m, NULL, &err), 0);
	assert_int_equal(m.type, HUSK_SYNC_ERROR);
	assert_string_equal(m.msg, "mount \"/sys\": a symlink");
	assert_int_equal(husk_sync_recv(s[0], &m, NULL, &err), -1);
	assert_non_null(strstr(husk_error_msg(&err), "exited before it was ready"));
	close(s[0]);
}

static void add_null_fd(husk_cgroup_join_t *j, const char *name)
{
	husk_cgroup_join_add(j, open("/dev/null", O_WRONLY | O_CLOEXEC), xstrdup(name));
}

/* The join arrives with its fds and their names; the sender's copies are closed. */
static void test_join_hand_over(void **state)
{
	cleanup_error husk_error_t err = {0};
	cleanup_cgroup_join husk_cgroup_join_t sent = HUSK_CGROUP_JOIN_INIT;
	cleanup_cgroup_join husk_cgroup_join_t got = HUSK_CGROUP_JOIN_INIT;
	int s[2];
	(void)state;

	pair(s);
	add_null_fd(&sent, "/sys/fs/cgroup/cpu/x/tasks");
	add_null_fd(&sent, "/sys/fs/cgroup/memory/x/tasks");
	assert_int_equal(husk_cgroup_join_send(s[0], &sent, &err), 0);
	assert_int_equal(sent.len, 0);
	assert_int_equal(husk_cgroup_join_recv(s[1], &got, &err), 0);
	assert_int_equal(got.len, 2);
	assert_string_equal(got.names[0], "/sys/fs/cgroup/cpu/x/tasks");
	assert_string_equal(got.names[1], "/sys/fs/cgroup/memory/x/tasks");
	assert_true(is_open(got.tasks[0]) && is_open(got.tasks[1]));
	/* Writing "0" to /dev/null stands in for joining. */
	assert_int_equal(husk_cgroup_join_self(&got, &err), 0);
	assert_int_equal(got.len, 0);
	close(s[0]);
	close(s[1]);
}

/* Names too long for one message: the fds still arrive, named by their index. */
static void test_join_names_that_do_not_fit(void **state)
{
	cleanup_error husk_error_t err = {0};
	cleanup_cgroup_join husk_cgroup_join_t sent = HUSK_CGROUP_JOIN_INIT;
	cleanup_cgroup_join husk_cgroup_join_t got = HUSK_CGROUP_JOIN_INIT;
	char long_name[2000];
	int s[2];
	(void)state;

	pair(s);
	memset(long_name, 'a', sizeof long_name - 1);
	long_name[sizeof long_name - 1] = '\0';
	add_null_fd(&sent, "/short/tasks");
	add_null_fd(&sent, long_name);
	add_null_fd(&sent, long_name);
	assert_int_equal(husk_cgroup_join_send(s[0], &sent, &err), 0);
	assert_int_equal(husk_cgroup_join_recv(s[1], &got, &err), 0);
	assert_int_equal(got.len, 3);
	assert_string_equal(got.names[0], "/short/tasks");
	assert_string_equal(got.names[1], long_name);
	assert_string_equal(got.names[2], "tasks file 2");
	close(s[0]);
	close(s[1]);
}

/* The child waits for the cgroup but gets the parent's error instead. */
static void test_join_recv_gets_an_error(void **state)
{
	cleanup_error husk_error_t err = {0};
	cleanup_error husk_error_t why = {0};
	cleanup_cgroup_join husk_cgroup_join_t got = HUSK_CGROUP_JOIN_INIT;
	int s[2];
	(void)state;

	pair(s);
	husk_error_set(&why, ENOMEM, "linux.resources.memory.limit: too low");
	assert_int_equal(husk_sync_send_error(s[0], &why), 0);
	assert_int_equal(husk_cgroup_join_recv(s[1], &got, &err), -1);
	/* The sender's text, strerror included once, and its errnum. */
	assert_string_equal(husk_error_msg(&err), "linux.resources.memory.limit: too low: Cannot "
						  "allocate memory");
	assert_int_equal(err.errnum, ENOMEM);
	assert_int_equal(husk_sync_send(s[0], HUSK_SYNC_READY, 0, -1, &err), 0);
	husk_error_clear(&err);
	assert_int_equal(husk_cgroup_join_recv(s[1], &got, &err), -1);
	assert_non_null(strstr(husk_error_msg(&err), "expected message"));
	close(s[0]);
	close(s[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_several_fds_in_one_message),
	    cmocka_unit_test(test_extra_fds_are_closed),
	    cmocka_unit_test(test_single_fd_calls),
	    cmocka_unit_test(test_too_many_fds_refused),
	    cmocka_unit_test(test_lost_fds_are_an_error),
	    cmocka_unit_test(test_error_of_a_peer_that_left_unread_messages),
	    cmocka_unit_test(test_join_hand_over),
	    cmocka_unit_test(test_join_names_that_do_not_fit),
	    cmocka_unit_test(test_join_recv_gets_an_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
