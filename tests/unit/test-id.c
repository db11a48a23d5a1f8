/* Unit tests: container id validation (libhusk/id.c). */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "libhusk/id.h"
#include "libhusk/utils.h"

static void expect_ok(const char *id)
{
	cleanup_error husk_error_t err = {0};
	if (husk_id_validate(id, &err) != 0)
		fail_msg("\"%s\" refused: %s", id, husk_error_msg(&err));
}

static void expect_refused(const char *id, const char *msg_part)
{
	cleanup_error husk_error_t err = {0};
	assert_int_equal(husk_id_validate(id, &err), -1);
	if (strstr(husk_error_msg(&err), msg_part) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", husk_error_msg(&err), msg_part);
	assert_null(strchr(husk_error_msg(&err), '\n'));
}

static void test_valid_ids(void **state)
{
	(void)state;
	expect_ok("a");
	expect_ok("abc-DEF_0.9+x");
	expect_ok("...a");
	expect_ok("a..b");
	expect_ok("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
}

static void test_refused_ids(void **state)
{
	(void)state;
	expect_refused(NULL, "empty");
	expect_refused("", "empty");
	expect_refused(".", "invalid container id \".\"");
	expect_refused("..", "invalid container id \"..\"");
	expect_refused("a/b", "character 0x2f at offset 1");
	expect_refused("/", "character 0x2f at offset 0");
	expect_refused("x\n", "character 0x0a at offset 1");
	expect_refused("a b", "character 0x20");
	expect_refused("caf\xc3\xa9", "character 0xc3");
	expect_refused("tab\t", "character 0x09");
}

static void test_length_limit(void **state)
{
	char id[HUSK_ID_MAX + 2];
	(void)state;
	memset(id, 'a', sizeof id);
	id[HUSK_ID_MAX] = '\0';
	expect_ok(id);
	id[HUSK_ID_MAX] = 'a';
	id[HUSK_ID_MAX + 1] = '\0';
	expect_refused(id, "longer than 1024");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_ids),
		cmocka_unit_test(test_refused_ids),
		cmocka_unit_test(test_length_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
