/* Unit tests: signal names and numbers (libhusk/signals.c). */
#include "config.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "libhusk/signals.h"
#include "libhusk/utils.h"

static int parse(const char *text)
{
	cleanup_error husk_error_t err = {0};
	int sig = -1;
	if (husk_signal_parse(text, &sig, &err) < 0)
		return -1000;
	return sig;
}

static void test_names(void **state)
{
	(void)state;
	assert_int_equal(parse("TERM"), SIGTERM);
	assert_int_equal(parse("SIGTERM"), SIGTERM);
	assert_int_equal(parse("sigkill"), SIGKILL);
	assert_int_equal(parse("Kill"), SIGKILL);
	assert_int_equal(parse("HUP"), SIGHUP);
	assert_int_equal(parse("SIGUSR1"), SIGUSR1);
	assert_int_equal(parse("WINCH"), SIGWINCH);
	assert_int_equal(parse("CLD"), SIGCHLD);
	assert_int_equal(parse("SIGPWR"), SIGPWR);
}

static void test_numbers(void **state)
{
	(void)state;
	assert_int_equal(parse("9"), 9);
	assert_int_equal(parse("15"), 15);
	/* 0: kill(2)'s existence check, which engines send. */
	assert_int_equal(parse("0"), 0);
	assert_int_equal(parse("64"), SIGRTMAX);
	assert_int_equal(parse("65"), -1000);
	assert_int_equal(parse("-9"), -1000);
	assert_int_equal(parse("9x"), -1000);
}

static void test_realtime(void **state)
{
	(void)state;
	assert_int_equal(parse("RTMIN"), SIGRTMIN);
	assert_int_equal(parse("SIGRTMIN+3"), SIGRTMIN + 3);
	assert_int_equal(parse("RTMAX"), SIGRTMAX);
	assert_int_equal(parse("rtmax-2"), SIGRTMAX - 2);
	assert_int_equal(parse("RTMIN-1"), -1000);
	assert_int_equal(parse("RTMAX+1"), -1000);
	assert_int_equal(parse("RTMIN+99"), -1000);
}

static void test_errors(void **state)
{
	cleanup_error husk_error_t err = {0};
	int sig;
	(void)state;
	assert_int_equal(husk_signal_parse("SIGFOO", &sig, &err), -1);
	assert_string_equal(husk_error_msg(&err), "invalid signal \"SIGFOO\"");
	husk_error_clear(&err);
	assert_int_equal(husk_signal_parse("", &sig, &err), -1);
	assert_string_equal(husk_error_msg(&err), "invalid signal: empty");
}

static void test_names_back(void **state)
{
	(void)state;
	assert_string_equal(husk_signal_name(SIGTERM), "SIGTERM");
	assert_string_equal(husk_signal_name(SIGKILL), "SIGKILL");
	assert_null(husk_signal_name(0));
	assert_null(husk_signal_name(SIGRTMIN + 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),	 cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_realtime), cmocka_unit_test(test_errors),
		cmocka_unit_test(test_names_back),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
