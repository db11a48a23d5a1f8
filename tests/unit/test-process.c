/* Unit and real-effect tests of libhusk/process.c and caps.c. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "libhusk/caps.h"
#include "libhusk/container.h"
#include "libhusk/process.h"
#include "libhusk/utils.h"

/* ---- helpers ---- */

static void expect_error(int rc, husk_error_t *err, const char *msg)
{
	assert_int_equal(rc, -1);
	assert_non_null(err->msg);
	assert_string_equal(err->msg, msg);
	husk_error_clear(err);
}

static bool have_effective_cap(cap_value_t cap)
{
	cap_t c = cap_get_proc();
	cap_flag_value_t v = CAP_CLEAR;

	if (c != NULL) {
		cap_get_flag(c, cap, CAP_EFFECTIVE, &v);
		cap_free(c);
	}
	return v == CAP_SET;
}

#define REQUIRE_ROOT()                                                                             \
	do {                                                                                       \
		if (geteuid() != 0 || !have_effective_cap(CAP_SETUID) ||                           \
		    !have_effective_cap(CAP_SYS_ADMIN))                                            \
			skip();                                                                    \
	} while (0)

/* ---- name tables ---- */

static void test_cap_names(void **state)
{
	const char *const *names = husk_cap_known_names();
	int last = husk_cap_last_cap();
	size_t n = 0;

	assert_int_equal(husk_cap_from_name("CAP_CHOWN"), 0);
	assert_int_equal(husk_cap_from_name("CAP_NET_RAW"), 13);
	assert_int_equal(husk_cap_from_name("CAP_SYS_ADMIN"), 21);
	assert_int_equal(husk_cap_from_name("CAP_AUDIT_READ"), 37);
	assert_int_equal(husk_cap_from_name("CAP_PERFMON"), 38);
	assert_int_equal(husk_cap_from_name("CAP_BPF"), 39);
	assert_int_equal(husk_cap_from_name("CAP_CHECKPOINT_RESTORE"), 40);
	assert_int_equal(husk_cap_from_name("cap_sys_admin"), 21);
	assert_int_equal(husk_cap_from_name("CAP_FOO"), -1);
	assert_int_equal(husk_cap_from_name("SYS_ADMIN"), -1);
	assert_int_equal(husk_cap_from_name(""), -1);
	assert_int_equal(husk_cap_from_name(NULL), -1);

	/* The kernel's last capability, read another way than caps.c does. */
	{
		cleanup_free char *s = NULL;
		if (husk_read_file_at(AT_FDCWD, "/proc/sys/kernel/cap_last_cap", &s, NULL, NULL) ==
		    0)
			assert_int_equal(last, atoi(s));
	}
	assert_string_equal(names[0], "CAP_CHOWN");
	for (; names[n] != NULL; n++)
		assert_int_equal(husk_cap_from_name(names[n]), (int)n);
	assert_int_equal(n, (size_t)(last < 40 ? last + 1 : 41));
	/* Same static array every time. */
	assert_ptr_equal(names, husk_cap_known_names());
}

static void test_rlimit_names(void **state)
{
	static const struct {
		const char *name;
		int value;
	} all[] = {
	    {"RLIMIT_AS", RLIMIT_AS},
	    {"RLIMIT_CORE", RLIMIT_CORE},
	    {"RLIMIT_CPU", RLIMIT_CPU},
	    {"RLIMIT_DATA", RLIMIT_DATA},
	    {"RLIMIT_FSIZE", RLIMIT_FSIZE},
	    {"RLIMIT_LOCKS", RLIMIT_LOCKS},
	    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
	    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
	    {"RLIMIT_NICE", RLIMIT_NICE},
	    {"RLIMIT_NOFILE", RLIMIT_NOFILE},
	    {"RLIMIT_NPROC", RLIMIT_NPROC},
	    {"RLIMIT_RSS", RLIMIT_RSS},
	    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
	    {"RLIMIT_RTTIME", RLIMIT_RTTIME},
	    {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
	    {"RLIMIT_STACK", RLIMIT_STACK},
	};
	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
		assert_int_equal(husk_rlimit_from_name(all[i].name), all[i].value);
	assert_int_equal(husk_rlimit_from_name("RLIMIT_FOO"), -1);
	assert_int_equal(husk_rlimit_from_name("rlimit_nofile"), -1);
	assert_int_equal(husk_rlimit_from_name("NOFILE"), -1);
	assert_int_equal(husk_rlimit_from_name(NULL), -1);
}

/* ---- CPU lists ---- */

static void test_cpu_list_parse(void **state)
{
	husk_error_t err = {0};
	cpu_set_t *set = NULL;
	size_t size = 0;

	assert_int_equal(husk_cpu_list_parse("0-3,7", "f", &set, &size, &err), 0);
	assert_int_equal(CPU_COUNT_S(size, set), 5);
	for (int c = 0; c <= 3; c++)
		assert_true(CPU_ISSET_S(c, size, set));
	assert_false(CPU_ISSET_S(4, size, set));
	assert_false(CPU_ISSET_S(6, size, set));
	assert_true(CPU_ISSET_S(7, size, set));
	CPU_FREE(set);

	assert_int_equal(husk_cpu_list_parse("5", "f", &set, &size, &err), 0);
	assert_int_equal(CPU_COUNT_S(size, set), 1);
	assert_true(CPU_ISSET_S(5, size, set));
	CPU_FREE(set);

	/* Beyond glibc's fixed 1024-CPU cpu_set_t. */
	assert_int_equal(husk_cpu_list_parse("2000-2001,3", "f", &set, &size, &err), 0);
	assert_true(size * 8 >= 2002);
	assert_int_equal(CPU_COUNT_S(size, set), 3);
	assert_true(CPU_ISSET_S(2001, size, set));
	CPU_FREE(set);

	static const char *const bad[] = {"",	    "3-1", "a",	 "1,",	",1",	    "1-",    "-1",
					  "0-3,,7", "1 ",  " 1", "0x1", "99999999", "1-2-3", "1;2"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char expected[128];
		set = NULL;
		snprintf(expected, sizeof expected,
			 "process.execCPUAffinity.final: invalid CPU list \"%s\"", bad[i]);
		expect_error(
		    husk_cpu_list_parse(bad[i], "process.execCPUAffinity.final", &set, &size, &err),
		    &err, expected);
		assert_null(set);
	}
}

static void test_cpu_affinity_apply(void **state)
{
	husk_error_t err = {0};
	cpu_set_t before, after;

	assert_int_equal(sched_getaffinity(0, sizeof before, &before), 0);
	/* Empty or absent: leave it alone. */
	assert_int_equal(husk_cpu_affinity_apply(0, NULL, "f", &err), 0);
	assert_int_equal(husk_cpu_affinity_apply(0, "", "f", &err), 0);
	assert_int_equal(sched_getaffinity(0, sizeof after, &after), 0);
	assert_true(CPU_EQUAL(&before, &after));

	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (husk_cpu_affinity_apply(0, "0", "f", &err) < 0)
			_exit(2);
		if (sched_getaffinity(0, sizeof after, &after) < 0)
			_exit(3);
		_exit(CPU_COUNT(&after) == 1 && CPU_ISSET(0, &after) ? 0 : 4);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);

	/* A CPU that does not exist: the kernel refuses, and the message names the field. */
	expect_error(
	    husk_cpu_affinity_apply(0, "4000", "process.execCPUAffinity.final", &err), &err,
	    "process.execCPUAffinity.final: set CPU affinity to \"4000\": Invalid argument");
}

/* ---- validation ---- */

static char *caps_list_ok[] = {"CAP_CHOWN", "CAP_KILL", NULL};
static char *caps_list_bad[] = {"CAP_CHOWN", "CAP_KILL", "CAP_FOO", NULL};

static void test_validate_ok(void **state)
{
	husk_error_t err = {0};
	husk_capabilities_t caps = {.bounding = caps_list_ok, .bounding_len = 2};
	husk_rlimit_t rl[] = {{"RLIMIT_NOFILE", 1024, 2048}, {"RLIMIT_CORE", 0, 0}};
	char *flags[] = {"SCHED_FLAG_RESET_ON_FORK", NULL};
	husk_scheduler_t sched = {
	    .policy = "SCHED_BATCH", .has_nice = true, .nice = 19, .flags = flags, .flags_len = 1};
	husk_io_priority_t io = {.class_ = "IOPRIO_CLASS_IDLE", .priority = 7};
	husk_cpu_affinity_t aff = {.initial = "0-1", .final = "0"};
	husk_process_t p = {.capabilities = &caps,
			    .rlimits = rl,
			    .rlimits_len = 2,
			    .scheduler = &sched,
			    .io_priority = &io,
			    .exec_cpu_affinity = &aff};
	husk_personality_t pers = {.domain = "LINUX32"};

	assert_int_equal(husk_process_validate(&p, &err), 0);
	assert_null(err.msg);
	assert_int_equal(husk_process_validate(NULL, &err), 0);
	assert_int_equal(husk_personality_validate(&pers, &err), 0);
	assert_int_equal(husk_personality_validate(NULL, &err), 0);
	/* An empty process is valid: everything is optional here. */
	husk_process_t empty = {0};
	assert_int_equal(husk_process_validate(&empty, &err), 0);
}

static char last_warning[512];

static void record_warning(const char *msg)
{
	snprintf(last_warning, sizeof last_warning, "%s", msg);
}

static void test_validate_errors(void **state)
{
	husk_error_t err = {0};
	husk_process_t p = {0};
	husk_capabilities_t caps = {0};

	/* config.md: a capability that maps to nothing MUST be logged as a warning, and the
	 * runtime SHOULD NOT fail. */
	p.capabilities = &caps;
	caps.bounding = caps_list_bad;
	caps.bounding_len = 3;
	husk_set_warning_handler(record_warning);
	assert_int_equal(husk_process_validate(&p, &err), 0);
	assert_string_equal(last_warning,
			    "process.capabilities.bounding[2]: unknown capability \"CAP_FOO\" ignored");
	caps.bounding = caps_list_ok;
	caps.bounding_len = 2;
	caps.ambient = caps_list_bad + 1;
	caps.ambient_len = 2;
	assert_int_equal(husk_process_validate(&p, &err), 0);
	assert_string_equal(last_warning,
			    "process.capabilities.ambient[1]: unknown capability \"CAP_FOO\" ignored");
	husk_set_warning_handler(NULL);
	caps.ambient_len = 1;
	assert_int_equal(husk_process_validate(&p, &err), 0);
	p.capabilities = NULL;

	husk_rlimit_t rl[] = {{"RLIMIT_NOFILE", 1, 2}, {"RLIMIT_FOO", 1, 2}};
	p.rlimits = rl;
	p.rlimits_len = 2;
	expect_error(husk_process_validate(&p, &err), &err,
		     "process.rlimits[1].type: unknown rlimit \"RLIMIT_FOO\"");
	assert_int_equal(err.errnum, 0);
	rl[1].type = "RLIMIT_NOFILE";
	expect_error(husk_process_validate(&p, &err), &err,
		     "process.rlimits[1].type: duplicate \"RLIMIT_NOFILE\"");
	rl[1].type = "RLIMIT_CORE";
	rl[1].soft = 3;
	expect_error(husk_process_validate(&p, &err), &err,
		     "process.rlimits[1]: soft limit 3 above hard limit 2");
	p.rlimits_len = 0;

	husk_scheduler_t sched = {.policy = "SCHED_FOO"};
	p.scheduler = &sched;
	expect_error(husk_process_validate(&p, &err), &err,
		     "process.scheduler.policy: unknown policy \"SCHED_FOO\"");
	char *flags[] = {"SCHED_FLAG_RECLAIM", "SCHED_FLAG_FOO", NULL};
	sched.policy = "SCHED_DEADLINE";
	sched.flags = flags;
	sched.flags_len = 2;
	expect_error(husk_process_validate(&p, &err), &err,
		     "process.scheduler.flags[1]: unknown flag \"SCHED_FLAG_FOO\"");
	sched.flags_len = 1;
	sched.has_nice = true;
	sched.nice = 20;
	expect_error(husk_process_validate(&p, &err), &err,
		     "process.scheduler.nice: 20 is out of range -20..19");
	sched.nice = -20;
	assert_int_equal(husk_process_validate(&p, &err), 0);
	p.scheduler = NULL;

	husk_io_priority_t io = {.class_ = "IOPRIO_CLASS_NONE", .priority = 0};
	p.io_priority = &io;
	expect_error(husk_process_validate(&p, &err), &err,
		     "process.ioPriority.class: unknown class \"IOPRIO_CLASS_NONE\"");
	io.class_ = "IOPRIO_CLASS_RT";
	io.priority = 8;
	expect_error(husk_process_validate(&p, &err), &err,
		     "process.ioPriority.priority: 8 is out of range 0..7");
	io.priority = -1;
	expect_error(husk_process_validate(&p, &err), &err,
		     "process.ioPriority.priority: -1 is out of range 0..7");
	p.io_priority = NULL;

	husk_cpu_affinity_t aff = {.initial = "0-", .final = "1"};
	p.exec_cpu_affinity = &aff;
	expect_error(husk_process_validate(&p, &err), &err,
		     "process.execCPUAffinity.initial: invalid CPU list \"0-\"");
	aff.initial = NULL;
	aff.final = "x";
	expect_error(husk_process_validate(&p, &err), &err,
		     "process.execCPUAffinity.final: invalid CPU list \"x\"");
	aff.final = "";
	assert_int_equal(husk_process_validate(&p, &err), 0);

	husk_personality_t pers = {.domain = "LINUX64"};
	expect_error(husk_personality_validate(&pers, &err), &err,
		     "linux.personality.domain: unknown domain \"LINUX64\"");
	char *pflags[] = {"ADDR_NO_RANDOMIZE", NULL};
	pers.domain = "LINUX";
	pers.flags = pflags;
	pers.flags_len = 1;
	expect_error(husk_personality_validate(&pers, &err), &err,
		     "linux.personality.flags[0]: unsupported flag \"ADDR_NO_RANDOMIZE\"");
	/* The applying function validates too, before touching the process. */
	expect_error(husk_process_set_personality(&pers, &err), &err,
		     "linux.personality.flags[0]: unsupported flag \"ADDR_NO_RANDOMIZE\"");
}

/* ---- PATH lookup and exec ---- */

static char tmpdir[64];

static void make_file(const char *dir, const char *name, mode_t mode)
{
	char path[256];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "#!/bin/sh\nexit 9\n", 17), 17);
	close(fd);
	assert_int_equal(chmod(path, mode), 0);
}

static int setup_tmpdir(void **state)
{
	char path[256];
	snprintf(tmpdir, sizeof tmpdir, "/tmp/husk-test-process.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	snprintf(path, sizeof path, "%s/d1", tmpdir);
	mkdir(path, 0755);
	snprintf(path, sizeof path, "%s/d2", tmpdir);
	mkdir(path, 0755);
	snprintf(path, sizeof path, "%s/d1/subdir", tmpdir);
	mkdir(path, 0755);
	return 0;
}

static int teardown_tmpdir(void **state)
{
	static const char *const files[] = {"d1/noexec", "d1/subdir", "d1/tool", "d2/tool",
					    "d2/noexec", "d2/subdir", "d1",	 "d2"};
	char path[256];
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		snprintf(path, sizeof path, "%s/%s", tmpdir, files[i]);
		if (unlink(path) < 0)
			rmdir(path);
	}
	return rmdir(tmpdir);
}

static void test_find_executable(void **state)
{
	husk_error_t err = {0};
	char d1[128], d2[128], pathenv[400], expected[256];
	char *out = NULL;

	snprintf(d1, sizeof d1, "%s/d1", tmpdir);
	snprintf(d2, sizeof d2, "%s/d2", tmpdir);
	make_file(d1, "noexec", 0644);
	make_file(d2, "noexec", 0755);
	make_file(d2, "tool", 0700);
	make_file(d2, "subdir", 0755);
	snprintf(pathenv, sizeof pathenv, "PATH=/nonexistent:%s:%s", d1, d2);
	char *env[] = {"HOME=/", pathenv, "PATH=/bin", NULL};

	/* A non-executable file and a directory are passed over, as execvp does. */
	assert_int_equal(husk_process_find_executable("noexec", env, &out, &err), 0);
	snprintf(expected, sizeof expected, "%s/noexec", d2);
	assert_string_equal(out, expected);
	free(out);
	assert_int_equal(husk_process_find_executable("subdir", env, &out, &err), 0);
	snprintf(expected, sizeof expected, "%s/subdir", d2);
	assert_string_equal(out, expected);
	free(out);
	/* First match wins. */
	make_file(d1, "tool", 0755);
	assert_int_equal(husk_process_find_executable("tool", env, &out, &err), 0);
	snprintf(expected, sizeof expected, "%s/tool", d1);
	assert_string_equal(out, expected);
	free(out);

	/* A name with a slash is taken as is, existing or not. */
	assert_int_equal(husk_process_find_executable("./x/y", env, &out, &err), 0);
	assert_string_equal(out, "./x/y");
	free(out);

	expect_error(husk_process_find_executable("husk-no-such-tool", env, &out, &err), &err,
		     "exec \"husk-no-such-tool\": executable file not found in $PATH");
	assert_int_equal(husk_process_find_executable("husk-no-such-tool", env, &out, &err), -1);
	assert_int_equal(err.errnum, ENOENT);
	husk_error_clear(&err);

	/* Without PATH in the env: the default list, which has /bin. */
	char *noenv[] = {"HOME=/", NULL};
	assert_int_equal(husk_process_find_executable("sh", noenv, &out, &err), 0);
	assert_true(strcmp(out, "/usr/sbin/sh") == 0 || strcmp(out, "/usr/bin/sh") == 0 ||
		    strcmp(out, "/bin/sh") == 0 || strcmp(out, "/sbin/sh") == 0 ||
		    strcmp(out, "/usr/local/bin/sh") == 0);
	free(out);
	assert_int_equal(husk_process_find_executable("sh", NULL, &out, &err), 0);
	free(out);

	/* An empty entry is the current directory. */
	char cwd[256];
	assert_non_null(getcwd(cwd, sizeof cwd));
	assert_int_equal(chdir(d1), 0);
	char *dotenv[] = {"PATH=/nonexistent::/also-nonexistent", NULL};
	assert_int_equal(husk_process_find_executable("tool", dotenv, &out, &err), 0);
	assert_string_equal(out, "./tool");
	free(out);
	char *trailing[] = {"PATH=/nonexistent:", NULL};
	assert_int_equal(husk_process_find_executable("tool", trailing, &out, &err), 0);
	assert_string_equal(out, "./tool");
	free(out);
	assert_int_equal(chdir(cwd), 0);
}

static int run_exec_child(husk_process_t *p, char *msg, size_t msglen)
{
	int fds[2];
	int status;
	pid_t pid;
	ssize_t n;

	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		husk_error_t err = {0};
		close(fds[0]);
		husk_process_exec(p, &err);
		(void)!write(fds[1], husk_error_msg(&err), strlen(husk_error_msg(&err)));
		_exit(100);
	}
	close(fds[1]);
	n = read(fds[0], msg, msglen - 1);
	msg[n > 0 ? n : 0] = '\0';
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void test_exec(void **state)
{
	char msg[512], path[256], expected[300];
	char *args[] = {"sh", "-c", "test \"$HUSK_X\" = 1 && exit 7; exit 3", NULL};
	char *env[] = {"PATH=/nonexistent:/usr/bin:/bin", "HUSK_X=1", NULL};
	husk_process_t p = {.args = args, .args_len = 3, .env = env, .env_len = 2};
	husk_error_t err = {0};

	/* The command runs with process.env, found through its PATH. */
	assert_int_equal(run_exec_child(&p, msg, sizeof msg), 7);
	assert_string_equal(msg, "");

	char *missing[] = {"husk-no-such-tool", NULL};
	p.args = missing;
	p.args_len = 1;
	assert_int_equal(run_exec_child(&p, msg, sizeof msg), 100);
	assert_string_equal(msg, "exec \"husk-no-such-tool\": executable file not found in $PATH");

	/* Found with '/' but not executable: the execve error itself. */
	snprintf(path, sizeof path, "%s/d1/noexec", tmpdir);
	make_file(tmpdir, "d1/noexec", 0644);
	char *noexec[] = {path, NULL};
	p.args = noexec;
	assert_int_equal(run_exec_child(&p, msg, sizeof msg), 100);
	snprintf(expected, sizeof expected, "exec \"%s\": Permission denied", path);
	assert_string_equal(msg, expected);

	p.args = NULL;
	p.args_len = 0;
	expect_error(husk_process_exec(&p, &err), &err,
		     "process.args: at least one entry is required");
}

/* ---- real effect: a child applies a whole process config and reports what it became ---- */

static int send_fd(int sock, int fd)
{
	char byte = 'F';
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr msg = {
	    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);

	memset(u.buf, 0, sizeof u.buf);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof fd);
	return sendmsg(sock, &msg, 0) == 1 ? 0 : -1;
}

static int recv_fd(int sock)
{
	char byte;
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr msg = {
	    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
	struct cmsghdr *c;
	int fd;

	if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) != 1)
		return -1;
	c = CMSG_FIRSTHDR(&msg);
	if (c == NULL || c->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(c), sizeof fd);
	return fd;
}

static void report(int out, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	(void)!write(out, buf, (size_t)n);
}

static void child_fail(int out, const char *step, husk_error_t *err)
{
	report(out, "ERROR %s: %s\n", step, husk_error_msg(err));
	_exit(1);
}

/* Copies the /proc/self/status lines the test looks at, trailing blanks trimmed. */
static void report_status(int out)
{
	static const char *const keys[] = {
	    "Uid:",    "Gid:",	  "Groups:",	 "CapInh:",  "CapPrm:", "CapEff:",
	    "CapBnd:", "CapAmb:", "NoNewPrivs:", "Seccomp:", "Umask:"};
	cleanup_free char *status = NULL;
	char *save = NULL;

	if (husk_read_file_at(AT_FDCWD, "/proc/self/status", &status, NULL, NULL) < 0)
		return;
	for (char *line = strtok_r(status, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
			if (strncmp(line, keys[i], strlen(keys[i])) != 0)
				continue;
			size_t n = strlen(line);
			while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t'))
				line[--n] = '\0';
			report(out, "%s\n", line);
		}
	}
}

typedef struct {
	const husk_process_t *process;
	const husk_seccomp_t *seccomp;
	const husk_personality_t *personality;
	bool seccomp_first; /* the documented order without noNewPrivileges */
	bool probe_syscalls;
} scenario_t;

static void run_scenario_child(const scenario_t *sc, int out, int sock)
{
	husk_error_t err = {0};
	int nfd = -1;

	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	if (husk_process_setup_early(sc->process, &err) < 0)
		child_fail(out, "setup_early", &err);
	if (husk_process_set_personality(sc->personality, &err) < 0)
		child_fail(out, "personality", &err);
	if (sc->seccomp_first && husk_seccomp_load(sc->seccomp, &nfd, &err) < 0)
		child_fail(out, "seccomp", &err);
	if (husk_process_set_identity(sc->process, &err) < 0)
		child_fail(out, "identity", &err);
	if (sc->process->no_new_privileges && husk_process_no_new_privs(&err) < 0)
		child_fail(out, "nnp", &err);
	if (!sc->seccomp_first && husk_seccomp_load(sc->seccomp, &nfd, &err) < 0)
		child_fail(out, "seccomp", &err);
	report(out, "notify_fd_valid=%d\n", nfd >= 0 && fcntl(nfd, F_GETFD) == FD_CLOEXEC);
	if (nfd >= 0) {
		send_fd(sock, nfd);
		close(nfd);
	}
	close(sock);

	report_status(out);
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	report(out, "nofile=%llu/%llu\n", (unsigned long long)rl.rlim_cur,
	       (unsigned long long)rl.rlim_max);
	getrlimit(RLIMIT_CORE, &rl);
	report(out, "core=%llu/%llu\n", (unsigned long long)rl.rlim_cur,
	       (unsigned long long)rl.rlim_max);
	errno = 0;
	int nice = getpriority(PRIO_PROCESS, 0);
	report(out, "policy=%d nice=%d\n", sched_getscheduler(0), nice);
	report(out, "ioprio=%ld\n", syscall(SYS_ioprio_get, 1, 0));
	report(out, "personality=%#x\n", personality(0xffffffff));
	cpu_set_t cpus;
	sched_getaffinity(0, sizeof cpus, &cpus);
	report(out, "cpus=%d cpu0=%d\n", CPU_COUNT(&cpus), CPU_ISSET(0, &cpus) ? 1 : 0);
	{
		cleanup_free char *oom = NULL;
		husk_read_file_at(AT_FDCWD, "/proc/self/oom_score_adj", &oom, NULL, NULL);
		report(out, "oom_score_adj=%d\n", oom ? atoi(oom) : -9999);
	}
	if (sc->probe_syscalls) {
		char buf[256];
		long r;
		errno = 0;
		r = syscall(SYS_getcwd, buf, sizeof buf);
		report(out, "getcwd=%ld/%d\n", r, r < 0 ? errno : 0);
		errno = 0;
		r = syscall(SYS_mkdir, "/husk-nonexistent/x", 0755);
		report(out, "mkdir0755=%ld/%d\n", r, r < 0 ? errno : 0);
		errno = 0;
		r = syscall(SYS_mkdir, "/husk-nonexistent/x", 0055);
		report(out, "mkdir0055=%ld/%d\n", r, r < 0 ? errno : 0);
		errno = 0;
		r = syscall(SYS_getpgid, 0);
		report(out, "getpgid=%ld\n", r);
	}
	_exit(0);
}

/* Runs the scenario in a child, answering its seccomp notification (if any) with 4242, and
 * returns its report. *notified gets the syscall number the child was stopped in. */
static char *run_scenario(const scenario_t *sc, long *notified)
{
	int pfd[2], sp[2], status;
	char *buf = xmalloc0(8192);
	size_t used = 0;
	ssize_t n;
	pid_t pid;

	assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(pfd[0]);
		close(sp[0]);
		run_scenario_child(sc, pfd[1], sp[1]);
	}
	close(pfd[1]);
	close(sp[1]);

	*notified = -1;
	int nfd = recv_fd(sp[0]);
	close(sp[0]);
	if (nfd >= 0) {
		struct seccomp_notif *req = NULL;
		struct seccomp_notif_resp *resp = NULL;
		assert_int_equal(seccomp_notify_alloc(&req, &resp), 0);
		assert_int_equal(seccomp_notify_receive(nfd, req), 0);
		*notified = req->data.nr;
		resp->id = req->id;
		resp->val = 4242;
		resp->error = 0;
		resp->flags = 0;
		assert_int_equal(seccomp_notify_respond(nfd, resp), 0);
		seccomp_notify_free(req, resp);
		close(nfd);
	}
	while ((n = read(pfd[0], buf + used, 8191 - used)) > 0)
		used += (size_t)n;
	close(pfd[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("child failed (status %#x): %s", status, buf);
	return buf;
}

static void expect_line(const char *rep, const char *line)
{
	char *found = strstr(rep, line);
	if (found == NULL || (found != rep && found[-1] != '\n') ||
	    (found[strlen(line)] != '\n' && found[strlen(line)] != '\0'))
		fail_msg("expected line \"%s\" in report:\n%s", line, rep);
}

static char *bnd[] = {"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_BPF", NULL};
static char *prm[] = {"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", NULL};
static char *eff[] = {"CAP_CHOWN", "CAP_NET_BIND_SERVICE", NULL};
static char *inh[] = {"CAP_NET_BIND_SERVICE", NULL};

static void test_effect_unprivileged_user(void **state)
{
	REQUIRE_ROOT();
	uint32_t groups[] = {1001, 1002};
	husk_capabilities_t caps = {.bounding = bnd,
				    .bounding_len = 4,
				    .permitted = prm,
				    .permitted_len = 3,
				    .effective = eff,
				    .effective_len = 2,
				    .inheritable = inh,
				    .inheritable_len = 1,
				    .ambient = inh,
				    .ambient_len = 1};
	husk_rlimit_t rl[] = {{"RLIMIT_NOFILE", 1000, 2000}, {"RLIMIT_CORE", 0, 0}};
	husk_scheduler_t sched = {.policy = "SCHED_BATCH", .has_nice = true, .nice = 5};
	husk_io_priority_t io = {.class_ = "IOPRIO_CLASS_BE", .priority = 6};
	husk_cpu_affinity_t aff = {.final = "0"};
	husk_process_t p = {
	    .user = {.uid = 1000,
		     .gid = 1000,
		     .has_umask = true,
		     .umask = 027,
		     .additional_gids = groups,
		     .additional_gids_len = 2},
	    .capabilities = &caps,
	    .rlimits = rl,
	    .rlimits_len = 2,
	    .no_new_privileges = true,
	    .has_oom_score_adj = true,
	    .oom_score_adj = 500,
	    .scheduler = &sched,
	    .io_priority = &io,
	    .exec_cpu_affinity = &aff,
	};

	char *getcwd_names[] = {"getcwd", NULL};
	char *mkdir_names[] = {"mkdir", NULL};
	char *notify_names[] = {"getpgid", "husk_no_such_syscall", NULL};
	/* mkdir fails only when the owner bits of mode are all set: mask 0700, value 0700. */
	husk_seccomp_arg_t mkdir_args[] = {{.index = 1,
					    .value = 0700,
					    .has_value_two = true,
					    .value_two = 0700,
					    .op = "SCMP_CMP_MASKED_EQ"}};
	husk_seccomp_syscall_t rules[] = {
	    {.names = getcwd_names,
	     .names_len = 1,
	     .action = "SCMP_ACT_ERRNO",
	     .has_errno_ret = true,
	     .errno_ret = EXDEV},
	    {.names = mkdir_names,
	     .names_len = 1,
	     .action = "SCMP_ACT_ERRNO",
	     .args = mkdir_args,
	     .args_len = 1},
	    {.names = notify_names, .names_len = 2, .action = "SCMP_ACT_NOTIFY"},
	};
	char *arches[] = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", NULL};
	husk_seccomp_t seccomp = {.default_action = "SCMP_ACT_ALLOW",
				  .architectures = arches,
				  .architectures_len = 3,
				  .syscalls = rules,
				  .syscalls_len = 3};
	husk_personality_t pers = {.domain = "LINUX"};
	husk_error_t err = {0};
	scenario_t sc = {
	    .process = &p, .seccomp = &seccomp, .personality = &pers, .probe_syscalls = true};
	long notified;

	assert_int_equal(husk_process_validate(&p, &err), 0);
	assert_int_equal(husk_seccomp_validate(&seccomp, &err), 0);
	cleanup_free char *rep = run_scenario(&sc, &notified);

	assert_int_equal(notified, SYS_getpgid);
	expect_line(rep, "notify_fd_valid=1");
	expect_line(rep, "Uid:\t1000\t1000\t1000\t1000");
	expect_line(rep, "Gid:\t1000\t1000\t1000\t1000");
	expect_line(rep, "Groups:\t1001 1002");
	expect_line(rep, "CapInh:\t0000000000000400");
	expect_line(rep, "CapPrm:\t0000000000000421");
	expect_line(rep, "CapEff:\t0000000000000401");
	expect_line(rep, "CapBnd:\t0000008000000421");
	expect_line(rep, "CapAmb:\t0000000000000400");
	expect_line(rep, "NoNewPrivs:\t1");
	expect_line(rep, "Seccomp:\t2");
	expect_line(rep, "Umask:\t0027");
	expect_line(rep, "nofile=1000/2000");
	expect_line(rep, "core=0/0");
	expect_line(rep, "policy=3 nice=5");
	expect_line(rep, "ioprio=16390"); /* (IOPRIO_CLASS_BE << 13) | 6 */
	expect_line(rep, "personality=0");
	expect_line(rep, "cpus=1 cpu0=1");
	expect_line(rep, "oom_score_adj=500");
	expect_line(rep, "getcwd=-1/18");
	expect_line(rep, "mkdir0755=-1/1");
	expect_line(rep, "mkdir0055=-1/2");
	expect_line(rep, "getpgid=4242");
}

static void test_effect_root_no_caps(void **state)
{
	REQUIRE_ROOT();
	/* No capabilities object: every set ends empty (runc). No noNewPrivileges, so seccomp
	 * goes first while CAP_SYS_ADMIN is still there. */
	husk_process_t p = {.user = {.uid = 0, .gid = 0}};
	char *names[] = {"getcwd", NULL};
	husk_seccomp_syscall_t rules[] = {
	    {.names = names, .names_len = 1, .action = "SCMP_ACT_ERRNO"}};
	husk_seccomp_t seccomp = {
	    .default_action = "SCMP_ACT_ALLOW", .syscalls = rules, .syscalls_len = 1};
	husk_personality_t pers = {.domain = "LINUX32"};
	scenario_t sc = {
	    .process = &p, .seccomp = &seccomp, .personality = &pers, .seccomp_first = true};
	long notified;

	cleanup_free char *rep = run_scenario(&sc, &notified);
	assert_int_equal(notified, -1);
	expect_line(rep, "notify_fd_valid=0");
	expect_line(rep, "Uid:\t0\t0\t0\t0");
	expect_line(rep, "Groups:");
	expect_line(rep, "CapInh:\t0000000000000000");
	expect_line(rep, "CapPrm:\t0000000000000000");
	expect_line(rep, "CapEff:\t0000000000000000");
	expect_line(rep, "CapBnd:\t0000000000000000");
	expect_line(rep, "CapAmb:\t0000000000000000");
	expect_line(rep, "NoNewPrivs:\t0");
	expect_line(rep, "Seccomp:\t2");
	expect_line(rep, "personality=0x8");
}

static void test_effect_root_keeps_configured_caps(void **state)
{
	REQUIRE_ROOT();
	/* uid 0 with a capability list: exactly those, nothing more. */
	husk_capabilities_t caps = {.bounding = prm,
				    .bounding_len = 3,
				    .permitted = prm,
				    .permitted_len = 3,
				    .effective = prm,
				    .effective_len = 3};
	husk_process_t p = {.user = {.uid = 0, .gid = 0}, .capabilities = &caps};
	scenario_t sc = {.process = &p};
	long notified;

	cleanup_free char *rep = run_scenario(&sc, &notified);
	expect_line(rep, "CapPrm:\t0000000000000421");
	expect_line(rep, "CapEff:\t0000000000000421");
	expect_line(rep, "CapBnd:\t0000000000000421");
	expect_line(rep, "CapInh:\t0000000000000000");
	expect_line(rep, "CapAmb:\t0000000000000000");
	expect_line(rep, "Seccomp:\t0");
	expect_line(rep, "NoNewPrivs:\t0");
}

/* Runs one step in a child and returns the error message it produced. */
static char *child_error(int (*step)(const husk_process_t *, husk_error_t *),
			 const husk_process_t *p)
{
	int fds[2], status;
	char *buf = xmalloc0(1024);
	pid_t pid;
	ssize_t n;

	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		husk_error_t err = {0};
		close(fds[0]);
		if (step(p, &err) == 0)
			_exit(0);
		report(fds[1], "%s", husk_error_msg(&err));
		_exit(1);
	}
	close(fds[1]);
	n = read(fds[0], buf, 1023);
	buf[n > 0 ? n : 0] = '\0';
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 1);
	return buf;
}

static void test_rlimit_refused(void **state)
{
	/* Raising the hard limit needs CAP_SYS_RESOURCE. */
	if (have_effective_cap(CAP_SYS_RESOURCE))
		skip();
	husk_rlimit_t rl[] = {{"RLIMIT_NOFILE", 1048576, 1048576}};
	husk_process_t p = {.rlimits = rl, .rlimits_len = 1};
	cleanup_free char *msg = child_error(husk_process_setup_early, &p);
	assert_string_equal(msg,
			    "setrlimit RLIMIT_NOFILE (soft 1048576, hard 1048576): Operation not "
			    "permitted");
}

static void test_identity_errors(void **state)
{
	REQUIRE_ROOT();
	husk_capabilities_t caps = {0};
	husk_process_t p = {.capabilities = &caps};

	/* Effective beyond permitted is the kernel's to refuse. */
	caps.effective = caps_list_ok;
	caps.effective_len = 2;
	caps.bounding = caps_list_ok;
	caps.bounding_len = 2;
	caps.permitted = caps_list_ok;
	caps.permitted_len = 1;
	cleanup_free char *msg = child_error(husk_process_set_identity, &p);
	assert_string_equal(msg,
			    "set capabilities (effective 0x21, permitted 0x1, inheritable 0): "
			    "Operation not permitted");
}

static void test_scheduler_errors(void **state)
{
	/* SCHED_ISO is in the spec but the kernel has none. */
	husk_scheduler_t sched = {.policy = "SCHED_ISO"};
	husk_process_t p = {.scheduler = &sched};
	cleanup_free char *msg = child_error(husk_process_setup_early, &p);
	assert_string_equal(msg, "sched_setattr SCHED_ISO (nice 0, priority 0): Invalid argument");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cap_names),
	    cmocka_unit_test(test_rlimit_names),
	    cmocka_unit_test(test_cpu_list_parse),
	    cmocka_unit_test(test_cpu_affinity_apply),
	    cmocka_unit_test(test_validate_ok),
	    cmocka_unit_test(test_validate_errors),
	    cmocka_unit_test(test_find_executable),
	    cmocka_unit_test(test_exec),
	    cmocka_unit_test(test_effect_unprivileged_user),
	    cmocka_unit_test(test_effect_root_no_caps),
	    cmocka_unit_test(test_effect_root_keeps_configured_caps),
	    cmocka_unit_test(test_rlimit_refused),
	    cmocka_unit_test(test_identity_errors),
	    cmocka_unit_test(test_scheduler_errors),
	};
	return cmocka_run_group_tests(tests, setup_tmpdir, teardown_tmpdir);
}
