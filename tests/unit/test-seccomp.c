/* Unit and real-effect tests of libhusk/seccomp.c. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "libhusk/process.h"
#include "libhusk/seccomp.h"
#include "libhusk/utils.h"

static void expect_error(int rc, husk_error_t *err, const char *msg)
{
	assert_int_equal(rc, -1);
	assert_non_null(err->msg);
	assert_string_equal(err->msg, msg);
	assert_int_equal(err->errnum, EINVAL);
	husk_error_clear(err);
}

/* ---- name tables ---- */

static void test_actions(void **state)
{
	uint32_t v;

	assert_int_equal(husk_seccomp_action_from_name("SCMP_ACT_KILL", 0, &v), 0);
	assert_int_equal(v, SCMP_ACT_KILL);
	assert_int_equal(husk_seccomp_action_from_name("SCMP_ACT_KILL_PROCESS", 0, &v), 0);
	assert_int_equal(v, SCMP_ACT_KILL_PROCESS);
	assert_int_equal(husk_seccomp_action_from_name("SCMP_ACT_KILL_THREAD", 0, &v), 0);
	assert_int_equal(v, SCMP_ACT_KILL_THREAD);
	assert_int_equal(husk_seccomp_action_from_name("SCMP_ACT_TRAP", 0, &v), 0);
	assert_int_equal(v, SCMP_ACT_TRAP);
	assert_int_equal(husk_seccomp_action_from_name("SCMP_ACT_ERRNO", EXDEV, &v), 0);
	assert_int_equal(v, SCMP_ACT_ERRNO(EXDEV));
	assert_int_equal(husk_seccomp_action_from_name("SCMP_ACT_TRACE", 7, &v), 0);
	assert_int_equal(v, SCMP_ACT_TRACE(7));
	assert_int_equal(husk_seccomp_action_from_name("SCMP_ACT_ALLOW", 5, &v), 0);
	assert_int_equal(v, SCMP_ACT_ALLOW);
	assert_int_equal(husk_seccomp_action_from_name("SCMP_ACT_LOG", 0, &v), 0);
	assert_int_equal(v, SCMP_ACT_LOG);
	assert_int_equal(husk_seccomp_action_from_name("SCMP_ACT_NOTIFY", 0, &v), 0);
	assert_int_equal(v, SCMP_ACT_NOTIFY);
	assert_int_equal(husk_seccomp_action_from_name("SCMP_ACT_FOO", 0, &v), -1);
	assert_int_equal(husk_seccomp_action_from_name("scmp_act_allow", 0, &v), -1);
	assert_int_equal(husk_seccomp_action_from_name(NULL, 0, &v), -1);

	assert_true(husk_seccomp_action_takes_errno("SCMP_ACT_ERRNO"));
	assert_true(husk_seccomp_action_takes_errno("SCMP_ACT_TRACE"));
	assert_false(husk_seccomp_action_takes_errno("SCMP_ACT_ALLOW"));
	assert_false(husk_seccomp_action_takes_errno("SCMP_ACT_FOO"));
}

static void test_arches_ops_flags(void **state)
{
	static const char *const spec_arches[] = {
	    "SCMP_ARCH_X86",	  "SCMP_ARCH_X86_64",	   "SCMP_ARCH_X32",
	    "SCMP_ARCH_ARM",	  "SCMP_ARCH_AARCH64",	   "SCMP_ARCH_MIPS",
	    "SCMP_ARCH_MIPS64",	  "SCMP_ARCH_MIPS64N32",   "SCMP_ARCH_MIPSEL",
	    "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC",
	    "SCMP_ARCH_PPC64",	  "SCMP_ARCH_PPC64LE",	   "SCMP_ARCH_S390",
	    "SCMP_ARCH_S390X",	  "SCMP_ARCH_PARISC",	   "SCMP_ARCH_PARISC64",
	    "SCMP_ARCH_RISCV64",  "SCMP_ARCH_LOONGARCH64", "SCMP_ARCH_M68K",
	    "SCMP_ARCH_SH",	  "SCMP_ARCH_SHEB"};
	uint32_t token;
	int op;
	unsigned int flag;

	for (size_t i = 0; i < sizeof spec_arches / sizeof spec_arches[0]; i++)
		assert_int_equal(husk_seccomp_arch_from_name(spec_arches[i], &token), 0);
	assert_int_equal(husk_seccomp_arch_from_name("SCMP_ARCH_X86_64", &token), 0);
	assert_int_equal(token, SCMP_ARCH_X86_64);
	assert_int_equal(husk_seccomp_arch_from_name("SCMP_ARCH_AARCH64", &token), 0);
	assert_int_equal(token, SCMP_ARCH_AARCH64);
	assert_int_equal(husk_seccomp_arch_from_name("SCMP_ARCH_VAX", &token), -1);

	static const struct {
		const char *name;
		int op;
	} all_ops[] = {{"SCMP_CMP_NE", SCMP_CMP_NE},
		       {"SCMP_CMP_LT", SCMP_CMP_LT},
		       {"SCMP_CMP_LE", SCMP_CMP_LE},
		       {"SCMP_CMP_EQ", SCMP_CMP_EQ},
		       {"SCMP_CMP_GE", SCMP_CMP_GE},
		       {"SCMP_CMP_GT", SCMP_CMP_GT},
		       {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ}};
	for (size_t i = 0; i < sizeof all_ops / sizeof all_ops[0]; i++) {
		assert_int_equal(husk_seccomp_op_from_name(all_ops[i].name, &op), 0);
		assert_int_equal(op, all_ops[i].op);
	}
	assert_int_equal(husk_seccomp_op_from_name("SCMP_CMP_FOO", &op), -1);

	assert_int_equal(husk_seccomp_flag_from_name("SECCOMP_FILTER_FLAG_TSYNC", &flag), 0);
	assert_int_equal(flag, SECCOMP_FILTER_FLAG_TSYNC);
	assert_int_equal(husk_seccomp_flag_from_name("SECCOMP_FILTER_FLAG_LOG", &flag), 0);
	assert_int_equal(flag, SECCOMP_FILTER_FLAG_LOG);
	assert_int_equal(husk_seccomp_flag_from_name("SECCOMP_FILTER_FLAG_SPEC_ALLOW", &flag), 0);
	assert_int_equal(flag, SECCOMP_FILTER_FLAG_SPEC_ALLOW);
	assert_int_equal(
	    husk_seccomp_flag_from_name("SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", &flag), 0);
	assert_int_equal(flag, 1U << 5);
	assert_int_equal(husk_seccomp_flag_from_name("SECCOMP_FILTER_FLAG_NEW_LISTENER", &flag),
			 -1);
}

/* ---- validation ---- */

static char *getpgid_names[] = {"getpgid", NULL};

static void test_validate(void **state)
{
	husk_error_t err = {0};
	char *arches[] = {"SCMP_ARCH_X86_64", "SCMP_ARCH_FOO", NULL};
	char *flags[] = {"SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_FOO", NULL};
	husk_seccomp_arg_t args[] = {{.index = 0, .value = 1, .op = "SCMP_CMP_EQ"},
				     {.index = 1, .value = 1, .op = "SCMP_CMP_FOO"}};
	husk_seccomp_syscall_t rules[4] = {
	    {.names = getpgid_names, .names_len = 1, .action = "SCMP_ACT_ALLOW"},
	    {.names = getpgid_names, .names_len = 1, .action = "SCMP_ACT_ERRNO"},
	    {.names = getpgid_names, .names_len = 1, .action = "SCMP_ACT_LOG"},
	    {.names = getpgid_names, .names_len = 1, .action = "SCMP_ACT_FOO"},
	};
	husk_seccomp_t s = {
	    .default_action = "SCMP_ACT_ALLOW", .syscalls = rules, .syscalls_len = 4};

	assert_int_equal(husk_seccomp_validate(NULL, &err), 0);
	expect_error(husk_seccomp_validate(&s, &err), &err,
		     "linux.seccomp.syscalls[3].action: unknown action \"SCMP_ACT_FOO\"");
	rules[3].action = "SCMP_ACT_TRACE";
	assert_int_equal(husk_seccomp_validate(&s, &err), 0);

	rules[2].has_errno_ret = true;
	expect_error(husk_seccomp_validate(&s, &err), &err,
		     "linux.seccomp.syscalls[2].action: action \"SCMP_ACT_LOG\" does not take an "
		     "errno");
	rules[2].has_errno_ret = false;
	rules[1].has_errno_ret = true;
	rules[3].has_errno_ret = true;
	assert_int_equal(husk_seccomp_validate(&s, &err), 0);

	rules[1].names_len = 0;
	expect_error(husk_seccomp_validate(&s, &err), &err,
		     "linux.seccomp.syscalls[1].names: must contain at least one entry");
	rules[1].names_len = 1;

	rules[2].args = args;
	rules[2].args_len = 2;
	expect_error(husk_seccomp_validate(&s, &err), &err,
		     "linux.seccomp.syscalls[2].args[1].op: unknown operator \"SCMP_CMP_FOO\"");
	args[1].op = "SCMP_CMP_MASKED_EQ";
	args[1].index = 6;
	expect_error(husk_seccomp_validate(&s, &err), &err,
		     "linux.seccomp.syscalls[2].args[1].index: 6 is out of range 0-5");
	args[1].index = 5;
	assert_int_equal(husk_seccomp_validate(&s, &err), 0);

	s.default_action = "SCMP_ACT_BAR";
	expect_error(husk_seccomp_validate(&s, &err), &err,
		     "linux.seccomp.defaultAction: unknown action \"SCMP_ACT_BAR\"");
	s.default_action = "SCMP_ACT_KILL_PROCESS";
	s.has_default_errno_ret = true;
	expect_error(husk_seccomp_validate(&s, &err), &err,
		     "linux.seccomp.defaultAction: action \"SCMP_ACT_KILL_PROCESS\" does not take "
		     "an errno");
	s.default_action = "SCMP_ACT_ERRNO";
	assert_int_equal(husk_seccomp_validate(&s, &err), 0);
	s.has_default_errno_ret = false;
	s.default_action = "SCMP_ACT_NOTIFY";
	expect_error(husk_seccomp_validate(&s, &err), &err,
		     "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action");
	s.default_action = NULL;
	expect_error(husk_seccomp_validate(&s, &err), &err, "linux.seccomp.defaultAction: missing");
	s.default_action = "SCMP_ACT_ALLOW";

	s.architectures = arches;
	s.architectures_len = 2;
	expect_error(husk_seccomp_validate(&s, &err), &err,
		     "linux.seccomp.architectures[1]: unknown architecture \"SCMP_ARCH_FOO\"");
	s.architectures_len = 1;

	s.flags = flags;
	s.flags_len = 2;
	expect_error(husk_seccomp_validate(&s, &err), &err,
		     "linux.seccomp.flags[1]: unknown flag \"SECCOMP_FILTER_FLAG_FOO\"");
	s.flags_len = 1;

	s.listener_metadata = "meta";
	expect_error(husk_seccomp_validate(&s, &err), &err,
		     "linux.seccomp.listenerMetadata: set without listenerPath");
	s.listener_path = "/run/agent.sock";
	assert_int_equal(husk_seccomp_validate(&s, &err), 0);

	/* Loading validates first and so fails the same way, without installing anything. */
	s.default_action = "SCMP_ACT_BAR";
	int nfd = 5;
	expect_error(husk_seccomp_load(&s, &nfd, &err), &err,
		     "linux.seccomp.defaultAction: unknown action \"SCMP_ACT_BAR\"");
	assert_int_equal(nfd, -1);
	assert_int_equal(husk_seccomp_load(NULL, &nfd, &err), 0);
	assert_int_equal(nfd, -1);
}

/* ---- real effect ---- */

/* Loads the profile in a child (with no_new_privs, so root is not needed), then calls
 * getpgid(arg) for each arg and writes one result per call: "E<errno>" or "R<value>". The
 * child's wait status is returned, the results in out. */
static int run_filtered(const husk_seccomp_t *s, const long *argv, size_t argc, char *out,
			size_t outlen, int *notify_seen)
{
	int fds[2], status;
	size_t used = 0;
	ssize_t n;
	pid_t pid;

	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		husk_error_t err = {0};
		char buf[256];
		int nfd = -1;

		close(fds[0]);
		/* SIGSYS would dump core; and cmocka catches SIGSYS, which would turn a TRAP into
		 * a test failure in a forked copy of the test runner. */
		prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
		signal(SIGSYS, SIG_DFL);
		if (husk_process_no_new_privs(&err) < 0 || husk_seccomp_load(s, &nfd, &err) < 0) {
			snprintf(buf, sizeof buf, "L%s", husk_error_msg(&err));
			(void)!write(fds[1], buf, strlen(buf));
			_exit(1);
		}
		if (nfd >= 0) {
			(void)!write(fds[1], "N ", 2);
			close(nfd);
		}
		for (size_t i = 0; i < argc; i++) {
			errno = 0;
			/* A second argument of 0 so that rules can look at it too. */
			long r = syscall(SYS_getpgid, argv[i], 0L);
			int len = r < 0 ? snprintf(buf, sizeof buf, "E%d ", errno)
					: snprintf(buf, sizeof buf, "R%ld ", r);
			(void)!write(fds[1], buf, (size_t)len);
		}
		_exit(0);
	}
	close(fds[1]);
	while (used + 1 < outlen && (n = read(fds[0], out + used, outlen - 1 - used)) > 0)
		used += (size_t)n;
	out[used] = '\0';
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (notify_seen)
		*notify_seen = strncmp(out, "N ", 2) == 0;
	return status;
}

static void expect_results(const husk_seccomp_t *s, const long *argv, size_t argc,
			   const char *expected)
{
	char out[256];
	int status = run_filtered(s, argv, argc, out, sizeof out, NULL);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("child status %#x: %s", status, out);
	assert_string_equal(out, expected);
}

static void test_every_operator(void **state)
{
	/* getpgid(99/100/101): ESRCH (3) unless the filter answers EDOM (33). A pid that exists
	 * would give "R..." instead, so pick ids above any pid_max-free range: use big numbers. */
	static const struct {
		const char *op;
		uint64_t value, value_two;
		const char *expected;
	} cases[] = {
	    {"SCMP_CMP_NE", 1000000100, 0, "E33 E3 E33 "},
	    {"SCMP_CMP_LT", 1000000100, 0, "E33 E3 E3 "},
	    {"SCMP_CMP_LE", 1000000100, 0, "E33 E33 E3 "},
	    {"SCMP_CMP_EQ", 1000000100, 0, "E3 E33 E3 "},
	    {"SCMP_CMP_GE", 1000000100, 0, "E3 E33 E33 "},
	    {"SCMP_CMP_GT", 1000000100, 0, "E3 E3 E33 "},
	    /* value is the mask, valueTwo the datum: x & ~1 == 1000000100 */
	    {"SCMP_CMP_MASKED_EQ", ~(uint64_t)1, 1000000100, "E3 E33 E33 "},
	};
	static const long argv[] = {1000000099, 1000000100, 1000000101};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		husk_seccomp_arg_t arg = {.index = 0,
					  .value = cases[i].value,
					  .has_value_two = cases[i].value_two != 0,
					  .value_two = cases[i].value_two,
					  .op = (char *)cases[i].op};
		husk_seccomp_syscall_t rule = {.names = getpgid_names,
					       .names_len = 1,
					       .action = "SCMP_ACT_ERRNO",
					       .has_errno_ret = true,
					       .errno_ret = EDOM,
					       .args = &arg,
					       .args_len = 1};
		husk_seccomp_t s = {
		    .default_action = "SCMP_ACT_ALLOW", .syscalls = &rule, .syscalls_len = 1};
		print_message("%s\n", cases[i].op);
		expect_results(&s, argv, 3, cases[i].expected);
	}
}

static void test_same_argument_twice_means_any(void **state)
{
	husk_seccomp_arg_t args[] = {{.index = 0, .value = 1000000099, .op = "SCMP_CMP_EQ"},
				     {.index = 0, .value = 1000000101, .op = "SCMP_CMP_EQ"}};
	husk_seccomp_syscall_t rule = {.names = getpgid_names,
				       .names_len = 1,
				       .action = "SCMP_ACT_ERRNO",
				       .args = args,
				       .args_len = 2};
	husk_seccomp_t s = {
	    .default_action = "SCMP_ACT_ALLOW", .syscalls = &rule, .syscalls_len = 1};
	static const long argv[] = {1000000099, 1000000100, 1000000101};

	/* Default errno is EPERM (1). */
	expect_results(&s, argv, 3, "E1 E3 E1 ");

	/* Different arguments in one rule: all must match. */
	husk_seccomp_arg_t both[] = {{.index = 0, .value = 1000000100, .op = "SCMP_CMP_GE"},
				     {.index = 1, .value = 0, .op = "SCMP_CMP_EQ"}};
	rule.args = both;
	expect_results(&s, argv, 3, "E3 E1 E1 ");
	both[1].value = 1;
	expect_results(&s, argv, 3, "E3 E3 E3 ");
}

static void test_actions_effect(void **state)
{
	static const long argv[] = {1000000100};
	husk_seccomp_syscall_t rule = {.names = getpgid_names, .names_len = 1};
	husk_seccomp_t s = {
	    .default_action = "SCMP_ACT_ALLOW", .syscalls = &rule, .syscalls_len = 1};
	char out[256];
	int status;

	static const char *const killers[] = {"SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD",
					      "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_TRAP"};
	for (size_t i = 0; i < sizeof killers / sizeof killers[0]; i++) {
		rule.action = (char *)killers[i];
		status = run_filtered(&s, argv, 1, out, sizeof out, NULL);
		print_message("%s: status %#x\n", killers[i], status);
		assert_true(WIFSIGNALED(status));
		assert_int_equal(WTERMSIG(status), SIGSYS);
		assert_string_equal(out, "");
	}

	/* No tracer attached: the kernel fails the syscall with ENOSYS (38). */
	rule.action = "SCMP_ACT_TRACE";
	expect_results(&s, argv, 1, "E38 ");
	rule.action = "SCMP_ACT_LOG";
	expect_results(&s, argv, 1, "E3 ");
	rule.action = "SCMP_ACT_ERRNO";
	rule.has_errno_ret = true;
	rule.errno_ret = EXDEV;
	expect_results(&s, argv, 1, "E18 ");

	/* The same syscall and argument test with two different actions cannot be both. (Without
	 * arguments libseccomp 2.5 silently keeps the first.) */
	husk_seccomp_arg_t eq = {.index = 0, .value = 1000000100, .op = "SCMP_CMP_EQ"};
	husk_seccomp_syscall_t conflicting[] = {rule, rule};
	conflicting[0].args = conflicting[1].args = &eq;
	conflicting[0].args_len = conflicting[1].args_len = 1;
	conflicting[0].action = "SCMP_ACT_ERRNO";
	conflicting[1].action = "SCMP_ACT_LOG";
	conflicting[1].has_errno_ret = false;
	husk_seccomp_t bad = {
	    .default_action = "SCMP_ACT_ALLOW", .syscalls = conflicting, .syscalls_len = 2};
	status = run_filtered(&bad, argv, 1, out, sizeof out, NULL);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 1);
	assert_string_equal(out,
			    "Llinux.seccomp.syscalls[1]: \"getpgid\" already has a rule with the "
			    "same arguments and another action: File exists");

	/* A rule repeating the default action is dropped (libseccomp would refuse it). */
	rule.action = "SCMP_ACT_ALLOW";
	rule.has_errno_ret = false;
	expect_results(&s, argv, 1, "E3 ");
}

static void test_default_errno_with_allow_list(void **state)
{
	/* Only what the child needs after loading is allowed; getpgid gets defaultErrnoRet.
	 * sigaltstack, mmap, futex, rt_sigprocmask: what ASan's _exit path calls in a sanitizer
	 * build (refused, it spins forever). */
	char *allowed[] = {"write",	  "exit_group", "exit", "close",	  "munmap", "brk",
			   "madvise",	  "sigaltstack", "mmap", "futex", "rt_sigprocmask", NULL};
	husk_seccomp_syscall_t rule = {
	    .names = allowed, .names_len = 11, .action = "SCMP_ACT_ALLOW"};
	husk_seccomp_t s = {.default_action = "SCMP_ACT_ERRNO",
			    .has_default_errno_ret = true,
			    .default_errno_ret = ENOTSUP,
			    .syscalls = &rule,
			    .syscalls_len = 1};
	static const long argv[] = {0};
	char expected[16];

	snprintf(expected, sizeof expected, "E%d ", ENOTSUP);
	expect_results(&s, argv, 1, expected);

	/* Without defaultErrnoRet: EPERM. */
	s.has_default_errno_ret = false;
	expect_results(&s, argv, 1, "E1 ");
}

static void test_flags_arches_and_unknown_names(void **state)
{
	static const long argv[] = {1000000100};
	char *names[] = {"husk_no_such_syscall", "getpgid", "socketcall", NULL};
	husk_seccomp_syscall_t rule = {.names = names,
				       .names_len = 3,
				       .action = "SCMP_ACT_ERRNO",
				       .has_errno_ret = true,
				       .errno_ret = EDOM};
	char *arches[] = {"SCMP_ARCH_X86_64",  "SCMP_ARCH_X86",	 "SCMP_ARCH_X32",
			  "SCMP_ARCH_AARCH64", "SCMP_ARCH_M68K", NULL};
	char *flags[] = {"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
			 "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
			 NULL};
	husk_seccomp_t s = {.default_action = "SCMP_ACT_ALLOW",
			    .architectures = arches,
			    .architectures_len = 5,
			    .flags = flags,
			    .flags_len = 4,
			    .syscalls = &rule,
			    .syscalls_len = 1};
	char out[256];
	int notified = -1;

	/* WAIT_KILLABLE_RECV without a listener is dropped rather than refused by the kernel. */
	expect_results(&s, argv, 1, "E33 ");

	/* With a NOTIFY rule the same flags (TSYNC + listener needs TSYNC_ESRCH) give an fd. */
	char *notify_names[] = {"getppid", NULL};
	husk_seccomp_syscall_t rules[] = {
	    rule, {.names = notify_names, .names_len = 1, .action = "SCMP_ACT_NOTIFY"}};
	s.syscalls = rules;
	s.syscalls_len = 2;
	int status = run_filtered(&s, argv, 1, out, sizeof out, &notified);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(notified, 1);
	assert_string_equal(out, "N E33 ");
}

static void test_load_refused_without_privilege(void **state)
{
	/* Neither no_new_privs nor CAP_SYS_ADMIN: the kernel says no, and we say what failed. */
	int fds[2], status;
	char buf[256] = "";
	pid_t pid;

	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		husk_error_t err = {0};
		husk_seccomp_t s = {.default_action = "SCMP_ACT_ALLOW"};
		close(fds[0]);
		/* Drop CAP_SYS_ADMIN from the effective set by becoming an unprivileged user. */
		if (geteuid() == 0 && setresuid(65534, 65534, 65534) < 0)
			_exit(2);
		if (husk_seccomp_load(&s, NULL, &err) == 0)
			_exit(3);
		(void)!write(fds[1], husk_error_msg(&err), strlen(husk_error_msg(&err)));
		_exit(0);
	}
	close(fds[1]);
	(void)!read(fds[0], buf, sizeof buf - 1);
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_string_equal(buf, "load the seccomp filter (flags 0): Permission denied");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_actions),
	    cmocka_unit_test(test_arches_ops_flags),
	    cmocka_unit_test(test_validate),
	    cmocka_unit_test(test_every_operator),
	    cmocka_unit_test(test_same_argument_twice_means_any),
	    cmocka_unit_test(test_actions_effect),
	    cmocka_unit_test(test_default_errno_with_allow_list),
	    cmocka_unit_test(test_flags_arches_and_unknown_names),
	    cmocka_unit_test(test_load_refused_without_privilege),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
