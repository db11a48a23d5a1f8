/*
 * Unit tests for the pure parts of libhusk/cgroup-systemd.c: unit and slice names from a
 * cgroup path, CPU quota and cpu-list conversions, and the unit properties built for
 * StartTransientUnit/SetUnitProperties. No bus, no systemd: those are tested end to end by
 * tests/integration/test_cgroup_systemd.py in the systemd VM.
 */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "libhusk/cgroup-internal.h"
#include "libhusk/cgroup.h"
#include "libhusk/utils.h"

#define MiB (1024LL * 1024)

/* ---------------------------------------------------------------- unit names */

static void expect_unit(const char *path, const char *unit, const char *slice)
{
	husk_error_t err = {0};
	char *u = NULL, *s = NULL;

	if (husk_sd_unit_from_path(path, &u, &s, &err) < 0)
		fail_msg("\"%s\": %s", path, husk_error_msg(&err));
	assert_string_equal(u, unit);
	assert_string_equal(s, slice);
	free(u);
	free(s);
}

static void expect_unit_error(const char *path, const char *msg_part)
{
	husk_error_t err = {0};
	char *u = NULL, *s = NULL;

	if (husk_sd_unit_from_path(path, &u, &s, &err) == 0)
		fail_msg("\"%s\" accepted as unit \"%s\" in \"%s\"", path, u, s);
	if (strstr(husk_error_msg(&err), msg_part) == NULL)
		fail_msg("\"%s\": \"%s\" does not say \"%s\"", path, husk_error_msg(&err),
			 msg_part);
	assert_null(u);
	husk_error_clear(&err);
}

static void test_unit_from_path(void **state)
{
	expect_unit("/system.slice/husk-ctr1.scope", "husk-ctr1.scope", "system.slice");
	expect_unit("/a.slice/a-b.slice/p-n.scope", "p-n.scope", "a-b.slice");
	expect_unit("/p-n.scope", "p-n.scope", "-.slice");
	expect_unit("/system.slice/system-foo.slice", "system-foo.slice", "system.slice");
	expect_unit("/machine.slice", "machine.slice", "-.slice");
	expect_unit("/system.slice/a:b_c.d\\x2d.scope", "a:b_c.d\\x2d.scope", "system.slice");
}

static void test_unit_from_path_errors(void **state)
{
	/* systemd puts x.slice at /x.slice, whatever the path says. */
	expect_unit_error("/system.slice/x.slice", "lives at \"/x.slice\"");
	expect_unit_error("/a.slice/b.slice/p-n.scope", "\"b.slice\" lives at \"/b.slice\"");
	expect_unit_error("/system.slice/name", "not a scope or a slice");
	expect_unit_error("/system.slice/a b.scope", "invalid character ' '");
	expect_unit_error("/system.slice/a@b.scope", "invalid character '@'");
	expect_unit_error("/foo/p-n.scope", "invalid slice name \"foo\"");
	expect_unit_error("/system.slice/", "no unit");
	expect_unit_error("relative.scope", "no unit");
}

static void test_unit_name_too_long(void **state)
{
	char path[400] = "/system.slice/";
	size_t n = strlen(path);

	memset(path + n, 'x', 250);
	strcpy(path + n + 250, ".scope");
	expect_unit_error(path, "longer than 255");
	path[n + 240] = '\0';
	strcat(path, ".scope");
	expect_unit(path, path + n, "system.slice");
}

/* ---------------------------------------------------------------- conversions */

static void test_cpu_quota_per_sec(void **state)
{
	assert_int_equal(husk_sd_cpu_quota_per_sec(50000, 100000), 500000);
	assert_int_equal(husk_sd_cpu_quota_per_sec(200000, 100000), 2000000);
	/* 12.345% is rounded up to 13%: systemd keeps whole percents. */
	assert_int_equal(husk_sd_cpu_quota_per_sec(12345, 100000), 130000);
	assert_int_equal(husk_sd_cpu_quota_per_sec(1, 1000000), 10000);
	/* No period: the kernel's default 100 ms. */
	assert_int_equal(husk_sd_cpu_quota_per_sec(25000, 0), 250000);
	assert_true(husk_sd_cpu_quota_per_sec(-1, 100000) == UINT64_MAX);
	/* No overflow in quota * 1e6. */
	assert_true(husk_sd_cpu_quota_per_sec(INT64_MAX / 2, 1000) < UINT64_MAX);
}

static void expect_mask(const char *list, const uint8_t *want, size_t want_len)
{
	husk_error_t err = {0};
	uint8_t *mask = NULL;
	size_t len = 99;

	if (husk_sd_cpu_list_to_mask(list, "cpus", &mask, &len, &err) < 0)
		fail_msg("\"%s\": %s", list, husk_error_msg(&err));
	assert_int_equal(len, want_len);
	if (want_len)
		assert_memory_equal(mask, want, want_len);
	else
		assert_null(mask);
	free(mask);
}

static void expect_mask_error(const char *list, const char *msg_part)
{
	husk_error_t err = {0};
	uint8_t *mask = NULL;
	size_t len = 0;

	assert_int_equal(husk_sd_cpu_list_to_mask(list, "linux.resources.cpu.cpus", &mask, &len,
						  &err),
			 -1);
	if (strstr(husk_error_msg(&err), msg_part) == NULL)
		fail_msg("\"%s\": \"%s\" does not say \"%s\"", list, husk_error_msg(&err),
			 msg_part);
	assert_null(mask);
	husk_error_clear(&err);
}

static void test_cpu_list_to_mask(void **state)
{
	expect_mask("0", (const uint8_t[]){0x01}, 1);
	expect_mask("0-3,7", (const uint8_t[]){0x8f}, 1);
	expect_mask("9", (const uint8_t[]){0x00, 0x02}, 2);
	expect_mask("1,0", (const uint8_t[]){0x03}, 1);
	expect_mask("0-15", (const uint8_t[]){0xff, 0xff}, 2);
	/* The kernel's stride form: of each group of 4 from 0, the first 2. */
	expect_mask("0-7:2/4", (const uint8_t[]){0x33}, 1);
	expect_mask("0-1\n", (const uint8_t[]){0x03}, 1);
	expect_mask("", NULL, 0);
	expect_mask_error("x", "linux.resources.cpu.cpus: invalid list \"x\"");
	expect_mask_error("3-1", "invalid list");
	expect_mask_error("0,", "invalid list");
	expect_mask_error("8192", "cpu 8192 in \"8192\" is above 8191");
}

/* ---------------------------------------------------------------- properties */

static const husk_sd_prop_t *need(const husk_sd_props_t *p, const char *name,
				  husk_sd_type_t type)
{
	const husk_sd_prop_t *prop = husk_sd_props_find(p, name);
	if (prop == NULL)
		fail_msg("no property %s", name);
	assert_int_equal(prop->type, type);
	return prop;
}

static void expect_u64(const husk_sd_props_t *p, const char *name, uint64_t want)
{
	const husk_sd_prop_t *prop = need(p, name, HUSK_SD_U64);
	if (prop->u != want)
		fail_msg("%s = %llu, want %llu", name, (unsigned long long)prop->u,
			 (unsigned long long)want);
}

static void expect_bool(const husk_sd_props_t *p, const char *name, bool want)
{
	assert_int_equal(need(p, name, HUSK_SD_BOOL)->b, want);
}

static void expect_absent(const husk_sd_props_t *p, const char *name)
{
	if (husk_sd_props_find(p, name))
		fail_msg("unexpected property %s", name);
}

static void test_props_scope_v2(void **state)
{
	husk_sd_props_t p = {0};
	const husk_sd_prop_t *pids;

	husk_sd_props_unit(&p, HUSK_CGROUP_MODE_UNIFIED, "husk-c1.scope", "system.slice",
			   "husk container c1", 4242);
	assert_string_equal(need(&p, "Description", HUSK_SD_STRING)->s, "husk container c1");
	assert_string_equal(need(&p, "Slice", HUSK_SD_STRING)->s, "system.slice");
	expect_bool(&p, "Delegate", true);
	expect_bool(&p, "DefaultDependencies", false);
	pids = need(&p, "PIDs", HUSK_SD_U32S);
	assert_int_equal(pids->len, 1);
	assert_int_equal(((const uint32_t *)pids->data)[0], 4242);
	expect_bool(&p, "CPUAccounting", true);
	expect_bool(&p, "MemoryAccounting", true);
	expect_bool(&p, "TasksAccounting", true);
	expect_bool(&p, "IOAccounting", true);
	expect_absent(&p, "BlockIOAccounting");
	/* v2: husk's eBPF program survives systemd re-applying the unit; no policy needed. */
	expect_absent(&p, "DevicePolicy");
	expect_absent(&p, "DeviceAllow");
	husk_sd_props_free(&p);
	assert_null(p.v);
	assert_int_equal(p.len, 0);
}

static void test_props_slice_v1(void **state)
{
	husk_sd_props_t p = {0};

	husk_sd_props_unit(&p, HUSK_CGROUP_MODE_HYBRID, "system-x.slice", "system.slice", "d",
			   4242);
	/* A slice gets neither Slice= (its name says where it goes) nor processes. */
	expect_absent(&p, "Slice");
	expect_absent(&p, "PIDs");
	expect_absent(&p, "Delegate");
	expect_bool(&p, "BlockIOAccounting", true);
	expect_absent(&p, "IOAccounting");
	/* v1: without a policy systemd would write "a" to devices.allow on a reload. */
	assert_string_equal(need(&p, "DevicePolicy", HUSK_SD_STRING)->s, "strict");
	{
		const husk_sd_prop_t *allow = need(&p, "DeviceAllow", HUSK_SD_DEVICES);
		const char *const *pairs = allow->data;
		assert_true(allow->len >= 9);
		assert_string_equal(pairs[0], "/dev/null");
		assert_string_equal(pairs[1], "rwm");
		assert_string_equal(pairs[2 * (allow->len - 1)], "char-pts");
	}
	husk_sd_props_free(&p);
}

static void test_props_resources_v2(void **state)
{
	husk_memory_t mem = {.has_limit = true, .limit = 64 * MiB, .has_swap = true,
			     .swap = 96 * MiB, .has_reservation = true, .reservation = 32 * MiB};
	husk_cpu_t cpu = {.has_shares = true, .shares = 1024, .has_quota = true, .quota = 50000,
			  .has_period = true, .period = 100000, .cpus = "0-1", .mems = "0"};
	husk_blkio_t io = {.has_weight = true, .weight = 500};
	husk_resources_t res = {.memory = &mem, .cpu = &cpu, .has_pids_limit = true,
				.pids_limit = 32, .block_io = &io};
	husk_sd_props_t p = {0};
	husk_error_t err = {0};
	const husk_sd_prop_t *cpus;

	if (husk_sd_props_resources(&p, HUSK_CGROUP_MODE_UNIFIED, &res, &err) < 0)
		fail_msg("%s", husk_error_msg(&err));
	expect_u64(&p, "MemoryMax", 64 * MiB);
	expect_u64(&p, "MemoryLow", 32 * MiB);
	/* memory.swap is memory+swap; MemorySwapMax is swap alone. */
	expect_u64(&p, "MemorySwapMax", 32 * MiB);
	expect_u64(&p, "CPUWeight", husk_cgroup_shares_to_weight(1024));
	expect_u64(&p, "CPUQuotaPerSecUSec", 500000);
	expect_u64(&p, "CPUQuotaPeriodUSec", 100000);
	expect_u64(&p, "TasksMax", 32);
	expect_u64(&p, "IOWeight", husk_cgroup_blkio_to_io_weight(500));
	cpus = need(&p, "AllowedCPUs", HUSK_SD_BYTES);
	assert_int_equal(cpus->len, 1);
	assert_int_equal(((const uint8_t *)cpus->data)[0], 0x03);
	assert_int_equal(need(&p, "AllowedMemoryNodes", HUSK_SD_BYTES)->len, 1);
	expect_absent(&p, "MemoryLimit");
	expect_absent(&p, "CPUShares");
	expect_absent(&p, "BlockIOWeight");
	husk_sd_props_free(&p);
}

static void test_props_resources_v1(void **state)
{
	husk_memory_t mem = {.has_limit = true, .limit = 64 * MiB, .has_swap = true,
			     .swap = 96 * MiB, .has_reservation = true, .reservation = 32 * MiB};
	husk_cpu_t cpu = {.has_shares = true, .shares = 512, .cpus = "0"};
	husk_blkio_t io = {.has_weight = true, .weight = 300};
	husk_resources_t res = {.memory = &mem, .cpu = &cpu, .block_io = &io};
	husk_sd_props_t p = {0};
	husk_error_t err = {0};

	if (husk_sd_props_resources(&p, HUSK_CGROUP_MODE_LEGACY, &res, &err) < 0)
		fail_msg("%s", husk_error_msg(&err));
	expect_u64(&p, "MemoryLimit", 64 * MiB);
	expect_u64(&p, "CPUShares", 512);
	expect_u64(&p, "BlockIOWeight", 300);
	/* v1 has no such properties: cgroupfs sets memsw, soft limit and cpuset itself. */
	expect_absent(&p, "MemoryMax");
	expect_absent(&p, "MemorySwapMax");
	expect_absent(&p, "MemoryLow");
	expect_absent(&p, "AllowedCPUs");
	expect_absent(&p, "TasksMax");
	expect_absent(&p, "CPUQuotaPerSecUSec");
	husk_sd_props_free(&p);
}

static void test_props_unlimited(void **state)
{
	husk_memory_t mem = {.has_limit = true, .limit = -1};
	husk_cpu_t cpu = {.has_quota = true, .quota = -1};
	husk_resources_t res = {.memory = &mem, .cpu = &cpu, .has_pids_limit = true,
				.pids_limit = -1};
	husk_sd_props_t p = {0};
	husk_error_t err = {0};

	assert_int_equal(husk_sd_props_resources(&p, HUSK_CGROUP_MODE_UNIFIED, &res, &err), 0);
	expect_u64(&p, "MemoryMax", UINT64_MAX);
	/* v1 habit: unlimited memory without a swap value means unlimited swap. */
	expect_u64(&p, "MemorySwapMax", UINT64_MAX);
	expect_u64(&p, "CPUQuotaPerSecUSec", UINT64_MAX);
	expect_u64(&p, "TasksMax", UINT64_MAX);
	expect_absent(&p, "CPUQuotaPeriodUSec");
	husk_sd_props_free(&p);
}

static void test_props_nothing_to_say(void **state)
{
	husk_memory_t mem = {.has_limit = true, .limit = 0};
	husk_cpu_t cpu = {.has_shares = true, .shares = 0, .has_quota = true, .quota = 0};
	husk_resources_t res = {.memory = &mem, .cpu = &cpu, .has_pids_limit = true,
				.pids_limit = 0};
	husk_sd_props_t p = {0};
	husk_error_t err = {0};

	assert_int_equal(husk_sd_props_resources(&p, HUSK_CGROUP_MODE_UNIFIED, NULL, &err), 0);
	assert_int_equal(p.len, 0);
	/* Zeros are "unset", and TasksMax=0 is refused by systemd: pids.max gets it alone. */
	assert_int_equal(husk_sd_props_resources(&p, HUSK_CGROUP_MODE_UNIFIED, &res, &err), 0);
	assert_int_equal(p.len, 0);
	husk_sd_props_free(&p);
}

static void test_props_errors(void **state)
{
	husk_memory_t mem = {.has_limit = true, .limit = 64 * MiB, .has_swap = true,
			     .swap = 32 * MiB};
	husk_cpu_t cpu = {.cpus = "0-", .mems = NULL};
	husk_resources_t res = {.memory = &mem};
	husk_sd_props_t p = {0};
	husk_error_t err = {0};

	assert_int_equal(husk_sd_props_resources(&p, HUSK_CGROUP_MODE_UNIFIED, &res, &err), -1);
	assert_non_null(strstr(husk_error_msg(&err), "linux.resources.memory.swap"));
	husk_error_clear(&err);
	husk_sd_props_free(&p);
	res.memory = NULL;
	res.cpu = &cpu;
	assert_int_equal(husk_sd_props_resources(&p, HUSK_CGROUP_MODE_UNIFIED, &res, &err), -1);
	assert_non_null(strstr(husk_error_msg(&err), "linux.resources.cpu.cpus"));
	husk_error_clear(&err);
	husk_sd_props_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_unit_from_path),
	    cmocka_unit_test(test_unit_from_path_errors),
	    cmocka_unit_test(test_unit_name_too_long),
	    cmocka_unit_test(test_cpu_quota_per_sec),
	    cmocka_unit_test(test_cpu_list_to_mask),
	    cmocka_unit_test(test_props_scope_v2),
	    cmocka_unit_test(test_props_slice_v1),
	    cmocka_unit_test(test_props_resources_v2),
	    cmocka_unit_test(test_props_resources_v1),
	    cmocka_unit_test(test_props_unlimited),
	    cmocka_unit_test(test_props_nothing_to_say),
	    cmocka_unit_test(test_props_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
