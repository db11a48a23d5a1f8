/* Unit tests: OCI mount option strings -> mount(2) flags, propagation, mount_setattr attrs. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mount.h>

#include <cmocka.h>

#include "libhusk/rootfs.h"

typedef struct {
	const char *opt;
	unsigned long flags;
	unsigned long clear_flags;
	unsigned long propagation; /* 0: none expected */
	uint64_t attr_set, attr_clr;
} option_case_t;

static const option_case_t cases[] = {
    {"defaults", 0, 0, 0, 0, 0},
    {"ro", MS_RDONLY, 0, 0, 0, 0},
    {"rw", 0, MS_RDONLY, 0, 0, 0},
    {"nosuid", MS_NOSUID, 0, 0, 0, 0},
    {"suid", 0, MS_NOSUID, 0, 0, 0},
    {"nodev", MS_NODEV, 0, 0, 0, 0},
    {"dev", 0, MS_NODEV, 0, 0, 0},
    {"noexec", MS_NOEXEC, 0, 0, 0, 0},
    {"exec", 0, MS_NOEXEC, 0, 0, 0},
    {"sync", MS_SYNCHRONOUS, 0, 0, 0, 0},
    {"async", 0, MS_SYNCHRONOUS, 0, 0, 0},
    {"dirsync", MS_DIRSYNC, 0, 0, 0, 0},
    {"remount", MS_REMOUNT, 0, 0, 0, 0},
    {"mand", MS_MANDLOCK, 0, 0, 0, 0},
    {"nomand", 0, MS_MANDLOCK, 0, 0, 0},
    {"atime", 0, MS_NOATIME, 0, 0, 0},
    {"noatime", MS_NOATIME, 0, 0, 0, 0},
    {"diratime", 0, MS_NODIRATIME, 0, 0, 0},
    {"nodiratime", MS_NODIRATIME, 0, 0, 0, 0},
    {"relatime", MS_RELATIME, 0, 0, 0, 0},
    {"norelatime", 0, MS_RELATIME, 0, 0, 0},
    {"strictatime", MS_STRICTATIME, 0, 0, 0, 0},
    {"nostrictatime", 0, MS_STRICTATIME, 0, 0, 0},
    {"lazytime", MS_LAZYTIME, 0, 0, 0, 0},
    {"nolazytime", 0, MS_LAZYTIME, 0, 0, 0},
    {"iversion", MS_I_VERSION, 0, 0, 0, 0},
    {"noiversion", 0, MS_I_VERSION, 0, 0, 0},
    {"silent", MS_SILENT, 0, 0, 0, 0},
    {"loud", 0, MS_SILENT, 0, 0, 0},
    {"nosymfollow", MS_NOSYMFOLLOW, 0, 0, 0, 0},
    {"symfollow", 0, MS_NOSYMFOLLOW, 0, 0, 0},
    {"bind", MS_BIND, 0, 0, 0, 0},
    {"rbind", MS_BIND | MS_REC, 0, 0, 0, 0},
    {"private", 0, 0, MS_PRIVATE, 0, 0},
    {"rprivate", 0, 0, MS_PRIVATE | MS_REC, 0, 0},
    {"shared", 0, 0, MS_SHARED, 0, 0},
    {"rshared", 0, 0, MS_SHARED | MS_REC, 0, 0},
    {"slave", 0, 0, MS_SLAVE, 0, 0},
    {"rslave", 0, 0, MS_SLAVE | MS_REC, 0, 0},
    {"unbindable", 0, 0, MS_UNBINDABLE, 0, 0},
    {"runbindable", 0, 0, MS_UNBINDABLE | MS_REC, 0, 0},
    {"rro", 0, 0, 0, MOUNT_ATTR_RDONLY, 0},
    {"rrw", 0, 0, 0, 0, MOUNT_ATTR_RDONLY},
    {"rnosuid", 0, 0, 0, MOUNT_ATTR_NOSUID, 0},
    {"rsuid", 0, 0, 0, 0, MOUNT_ATTR_NOSUID},
    {"rnodev", 0, 0, 0, MOUNT_ATTR_NODEV, 0},
    {"rdev", 0, 0, 0, 0, MOUNT_ATTR_NODEV},
    {"rnoexec", 0, 0, 0, MOUNT_ATTR_NOEXEC, 0},
    {"rexec", 0, 0, 0, 0, MOUNT_ATTR_NOEXEC},
    {"rnodiratime", 0, 0, 0, MOUNT_ATTR_NODIRATIME, 0},
    {"rdiratime", 0, 0, 0, 0, MOUNT_ATTR_NODIRATIME},
    {"rnoatime", 0, 0, 0, MOUNT_ATTR_NOATIME, MOUNT_ATTR__ATIME},
    {"ratime", 0, 0, 0, MOUNT_ATTR_RELATIME, MOUNT_ATTR__ATIME},
    {"rrelatime", 0, 0, 0, MOUNT_ATTR_RELATIME, MOUNT_ATTR__ATIME},
    {"rnorelatime", 0, 0, 0, MOUNT_ATTR_STRICTATIME, MOUNT_ATTR__ATIME},
    {"rstrictatime", 0, 0, 0, MOUNT_ATTR_STRICTATIME, MOUNT_ATTR__ATIME},
    {"rnostrictatime", 0, 0, 0, MOUNT_ATTR_RELATIME, MOUNT_ATTR__ATIME},
    {"rnosymfollow", 0, 0, 0, MOUNT_ATTR_NOSYMFOLLOW, 0},
    {"rsymfollow", 0, 0, 0, 0, MOUNT_ATTR_NOSYMFOLLOW},
};

static void test_each_option(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *opts[] = {(char *)cases[i].opt, NULL};
		husk_mount_options_t o;

		husk_mount_options_parse(opts, 1, &o);
		if (o.flags != cases[i].flags || o.clear_flags != cases[i].clear_flags ||
		    o.propagation_len != (cases[i].propagation ? 1u : 0u) ||
		    (cases[i].propagation && o.propagation[0] != cases[i].propagation) ||
		    o.rec_attr_set != cases[i].attr_set || o.rec_attr_clr != cases[i].attr_clr ||
		    o.data != NULL || o.idmap)
			fail_msg(
			    "option \"%s\": flags %#lx clear %#lx prop %zu set %#llx clr %#llx",
			    cases[i].opt, o.flags, o.clear_flags, o.propagation_len,
			    (unsigned long long)o.rec_attr_set, (unsigned long long)o.rec_attr_clr);
		husk_mount_options_free(&o);
	}
}

static void test_unknown_options_become_data(void **state)
{
	char *opts[] = {"nosuid", "mode=755", "strictatime", "size=65536k", "newinstance", NULL};
	husk_mount_options_t o;
	(void)state;

	husk_mount_options_parse(opts, 5, &o);
	assert_string_equal(o.data, "mode=755,size=65536k,newinstance");
	assert_int_equal(o.flags, MS_NOSUID | MS_STRICTATIME);
	husk_mount_options_free(&o);
	assert_null(o.data);
}

static void test_later_option_wins(void **state)
{
	char *opts[] = {"ro", "rw", "nosuid", "suid", "noexec", NULL};
	husk_mount_options_t o;
	(void)state;

	husk_mount_options_parse(opts, 5, &o);
	assert_int_equal(o.flags, MS_NOEXEC);
	assert_int_equal(o.clear_flags, MS_RDONLY | MS_NOSUID);
	husk_mount_options_free(&o);
}

static void test_recursive_atime_replaces(void **state)
{
	char *opts[] = {"rnoatime", "rstrictatime", "rro", NULL};
	husk_mount_options_t o;
	(void)state;

	husk_mount_options_parse(opts, 3, &o);
	assert_int_equal(o.rec_attr_set, MOUNT_ATTR_STRICTATIME | MOUNT_ATTR_RDONLY);
	assert_int_equal(o.rec_attr_clr, MOUNT_ATTR__ATIME);
	husk_mount_options_free(&o);
}

static void test_propagation_kept_in_order(void **state)
{
	char *opts[] = {"rbind", "rprivate", "shared", "ro", NULL};
	husk_mount_options_t o;
	(void)state;

	husk_mount_options_parse(opts, 4, &o);
	assert_int_equal(o.flags, MS_BIND | MS_REC | MS_RDONLY);
	assert_int_equal(o.propagation_len, 2);
	assert_int_equal(o.propagation[0], MS_PRIVATE | MS_REC);
	assert_int_equal(o.propagation[1], MS_SHARED);
	husk_mount_options_free(&o);
}

static void test_idmap_and_tmpcopyup(void **state)
{
	char *a[] = {"bind", "idmap", NULL};
	char *b[] = {"rbind", "ridmap", "tmpcopyup", NULL};
	husk_mount_options_t o;
	(void)state;

	husk_mount_options_parse(a, 2, &o);
	assert_true(o.idmap);
	assert_false(o.rec_idmap);
	assert_false(o.tmpcopyup);
	assert_null(o.data);
	husk_mount_options_free(&o);

	husk_mount_options_parse(b, 3, &o);
	assert_true(o.idmap);
	assert_true(o.rec_idmap);
	assert_true(o.tmpcopyup);
	assert_null(o.data);
	husk_mount_options_free(&o);
}

static void test_empty(void **state)
{
	husk_mount_options_t o;
	(void)state;

	husk_mount_options_parse(NULL, 0, &o);
	assert_int_equal(o.flags, 0);
	assert_int_equal(o.propagation_len, 0);
	assert_null(o.data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_each_option),
	    cmocka_unit_test(test_unknown_options_become_data),
	    cmocka_unit_test(test_later_option_wins),
	    cmocka_unit_test(test_recursive_atime_replaces),
	    cmocka_unit_test(test_propagation_kept_in_order),
	    cmocka_unit_test(test_idmap_and_tmpcopyup),
	    cmocka_unit_test(test_empty),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
