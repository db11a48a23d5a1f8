/*
 * Unit tests for libhusk/ebpf.c: the generated device filter is run through a small BPF
 * interpreter (only the instructions the generator may emit; anything else fails the test)
 * against hand-written tables of what the v1 devices controller answers. As root, the same
 * tables are then asked of the real kernel: once through a v1 devices cgroup holding the rules
 * (the reference: husk's v1 path writes exactly these), once through a cgroup2 directory with
 * the loaded program attached. Each part skips when its hierarchy is missing.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/bpf.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/magic.h>

#include <dirent.h>

#include <cmocka.h>

#include "libhusk/cgroup.h"
#include "libhusk/ebpf.h"
#include "libhusk/utils.h"

#define M BPF_DEVCG_ACC_MKNOD
#define R BPF_DEVCG_ACC_READ
#define W BPF_DEVCG_ACC_WRITE
#define BLK BPF_DEVCG_DEV_BLOCK
#define CHR BPF_DEVCG_DEV_CHAR

/* ---------------------------------------------------------------- a tiny interpreter */

/* Runs prog on one request; fails the test on any instruction outside the emitted subset, a
 * backward jump (so it always ends), a read outside the context or of an unset register. */
static int interpret(const husk_ebpf_prog_t *prog, uint32_t type, uint32_t major, uint32_t minor,
		     uint32_t access)
{
	struct bpf_cgroup_dev_ctx ctx = {
	    .access_type = (access << 16) | type, .major = major, .minor = minor};
	uint64_t reg[11] = {0};
	bool set[11] = {false};
	int ctx_reg = BPF_REG_1;

	set[BPF_REG_1] = true;
	for (size_t pc = 0; pc < prog->len; pc++) {
		const struct bpf_insn *in = &prog->insns[pc];
		uint8_t cls = BPF_CLASS(in->code);
		uint8_t d = in->dst_reg, s = in->src_reg;

		assert_true(d <= BPF_REG_10 && s <= BPF_REG_10);
		switch (cls) {
		case BPF_LDX: {
			uint32_t v;
			assert_int_equal(in->code, BPF_LDX | BPF_MEM | BPF_W);
			assert_int_equal(s, ctx_reg);
			assert_true(in->off >= 0 && in->off % 4 == 0 &&
				    (size_t)in->off + 4 <= sizeof ctx);
			memcpy(&v, (const char *)&ctx + in->off, 4);
			reg[d] = v;
			set[d] = true;
			if (d == ctx_reg)
				ctx_reg = -1;
			break;
		}
		case BPF_ALU:
		case BPF_ALU64: {
			uint64_t src;
			if (BPF_SRC(in->code) == BPF_X) {
				assert_true(set[s] && s != ctx_reg);
				src = reg[s];
			} else {
				src = (uint64_t)(int64_t)in->imm;
			}
			if (BPF_OP(in->code) != BPF_MOV)
				assert_true(set[d] && d != ctx_reg);
			switch (BPF_OP(in->code)) {
			case BPF_MOV:
				reg[d] = src;
				break;
			case BPF_AND:
				reg[d] &= src;
				break;
			case BPF_RSH:
				assert_int_equal(BPF_SRC(in->code), BPF_K);
				reg[d] = cls == BPF_ALU ? (uint32_t)reg[d] >> (src & 31)
							: reg[d] >> (src & 63);
				break;
			default:
				fail_msg("insn %zu: unexpected ALU op 0x%x", pc, in->code);
			}
			if (cls == BPF_ALU)
				reg[d] = (uint32_t)reg[d];
			set[d] = true;
			if (d == ctx_reg)
				ctx_reg = -1;
			break;
		}
		case BPF_JMP32: {
			bool taken = false;
			assert_int_equal(BPF_SRC(in->code), BPF_K);
			assert_true(set[d] && d != ctx_reg);
			if (BPF_OP(in->code) == BPF_JEQ)
				taken = (uint32_t)reg[d] == (uint32_t)in->imm;
			else if (BPF_OP(in->code) == BPF_JNE)
				taken = (uint32_t)reg[d] != (uint32_t)in->imm;
			else
				fail_msg("insn %zu: unexpected JMP32 op 0x%x", pc, in->code);
			assert_true(in->off >= 0 && pc + 1 + (size_t)in->off < prog->len);
			if (taken)
				pc += (size_t)in->off;
			break;
		}
		case BPF_JMP:
			assert_int_equal(in->code, BPF_JMP | BPF_EXIT);
			assert_true(set[BPF_REG_0]);
			assert_true(reg[BPF_REG_0] <= 1);
			return (int)reg[BPF_REG_0];
		default:
			fail_msg("insn %zu: unexpected class 0x%x", pc, in->code);
		}
	}
	fail_msg("fell off the end of the program");
	return -1;
}

/* ---------------------------------------------------------------- tables */

typedef struct {
	uint32_t type, major, minor, access;
	int allow;
} check_t;

#define RULE(a, t, ma, mi, acc)                                                                    \
	{                                                                                          \
		.allow = (a), .type = (t), .has_major = (ma) != ANY, .major = (ma),                \
		.has_minor = (mi) != ANY, .minor = (mi), .access = (acc)                           \
	}
#define ANY (-1)

typedef struct {
	const char *name;
	bool container; /* husk_ebpf_container_filter (deny all first, defaults after) */
	const husk_device_cgroup_t *rules;
	size_t n;
	const check_t *checks;
	size_t nchecks;
} scenario_t;

/* No config rules: only the default devices. */
static const check_t defaults_checks[] = {
    {CHR, 1, 3, R | W, 1}, {CHR, 1, 3, M, 1},	    {CHR, 1, 5, R, 1},	  {CHR, 1, 9, R | W, 1},
    {CHR, 5, 2, R | W, 1}, {CHR, 136, 7, R | W, 1}, {CHR, 136, 7, M, 1},  {CHR, 1, 1, R, 0},
    {CHR, 4, 1, R | W, 0}, {CHR, 10, 200, R, 0},    {CHR, 10, 200, M, 1}, {BLK, 8, 0, R, 0},
    {BLK, 8, 0, W, 0},	   {BLK, 8, 0, M, 1},	    {BLK, 1, 3, R, 0},	  {CHR, 137, 0, R, 0},
    {CHR, 3000, 3, R, 0},  {CHR, 3000, 3, M, 1},
};

/* The spec's example. */
static const husk_device_cgroup_t spec_rules[] = {
    RULE(false, NULL, ANY, ANY, "rwm"),
    RULE(true, "c", 10, 229, "rw"),
    RULE(true, "b", 8, 0, "r"),
};
static const check_t spec_checks[] = {
    {CHR, 10, 229, R, 1}, {CHR, 10, 229, W, 1}, {CHR, 10, 229, R | W, 1}, {CHR, 10, 229, M, 1},
    {BLK, 8, 0, R, 1},	  {BLK, 8, 0, W, 0},	{BLK, 8, 0, R | W, 0},	  {BLK, 8, 1, R, 0},
    {CHR, 8, 0, R, 0},	  {CHR, 10, 228, R, 0}, {CHR, 1, 3, R | W, 1},	  {BLK, 10, 229, R, 0},
};

/* A config that allows all: the defaults (allows too) change nothing. */
static const husk_device_cgroup_t allow_all_rules[] = {
    RULE(true, "a", ANY, ANY, "rwm"),
    RULE(false, "c", 3001, 5, "w"),
};
static const check_t allow_all_checks[] = {
    {CHR, 3001, 5, R, 1}, {CHR, 3001, 5, W, 0}, {CHR, 3001, 5, R | W, 0}, {CHR, 3001, 5, M, 1},
    {CHR, 3001, 6, W, 1}, {BLK, 3001, 5, W, 1}, {BLK, 8, 0, R | W, 1},	  {CHR, 10, 200, M, 1},
};

/* What husk's v1 path and runc write: allowing linux.resources.devices after a deny. */
static const husk_device_cgroup_t disk_rules[] = {
    RULE(false, NULL, ANY, ANY, "rwm"),
    RULE(true, "c", 1, 3, "rwm"),
    RULE(true, "b", 3002, ANY, "rw"),
    RULE(false, "", 1, 1, ""), /* "" type and access: "a" and "rwm", so deny all again */
    RULE(true, "b", 3002, 7, "r"),
};
static const check_t disk_checks[] = {
    {BLK, 3002, 7, R, 1}, {BLK, 3002, 7, W, 0}, {BLK, 3002, 7, R | W, 0}, {BLK, 3002, 8, R, 0},
    {BLK, 3002, 7, M, 1}, {CHR, 1, 3, R, 1},	{CHR, 1, 1, R, 0},
};

/* Raw lists (a new cgroup: allow all, no exceptions). */

static const husk_device_cgroup_t partial_deny_rules[] = {
    RULE(false, "b", 3003, 0, "w"),
};
static const check_t partial_deny_checks[] = {
    {BLK, 3003, 0, R, 1}, {BLK, 3003, 0, W, 0}, {BLK, 3003, 0, R | W, 0},
    {BLK, 3003, 0, M, 1}, {BLK, 3003, 1, W, 1}, {CHR, 3003, 0, W, 1},
};

/* v1 removes access only from the entry with the very same major:minor: a deny of "c 3004:3
 * w" leaves the "c 3004:* rw" allow whole. Last-match-wins would deny that write. */
static const husk_device_cgroup_t exact_removal_rules[] = {
    RULE(false, "a", ANY, ANY, "rwm"),
    RULE(true, "c", 3004, ANY, "rw"),
    RULE(false, "c", 3004, 3, "w"),
};
static const check_t exact_removal_checks[] = {
    {CHR, 3004, 3, W, 1},
    {CHR, 3004, 3, R | W, 1},
    {CHR, 3004, 3, M, 0},
    {CHR, 3005, 3, R, 0},
};

/* One exception must cover the whole request; same-device allows merge into one. */
static const husk_device_cgroup_t cover_rules[] = {
    RULE(false, "a", ANY, ANY, "rwm"), RULE(true, "c", 3006, ANY, "r"),
    RULE(true, "c", 3006, 3, "w"),     RULE(true, "c", 3007, 1, "r"),
    RULE(true, "c", 3007, 1, "w"),     RULE(true, "c", 3008, 0, "rwm"),
    RULE(false, "c", 3008, 0, "w"),
};
static const check_t cover_checks[] = {
    {CHR, 3006, 3, R, 1}, {CHR, 3006, 3, W, 1},	    {CHR, 3006, 3, R | W, 0}, {CHR, 3006, 4, R, 1},
    {CHR, 3006, 4, W, 0}, {CHR, 3007, 1, R | W, 1}, {CHR, 3007, 1, M, 0},     {CHR, 3008, 0, R, 1},
    {CHR, 3008, 0, W, 0}, {CHR, 3008, 0, M, 1},	    {CHR, 3008, 0, R | W, 0},
};

/* "a" resets the whole list whatever access it names. */
static const husk_device_cgroup_t reset_rules[] = {
    RULE(true, "c", 3009, 1, "r"), /* allow-all mode: removes nothing */
    RULE(false, "c", 3009, 2, "r"),
    RULE(false, "a", ANY, ANY, "r"), /* deny ALL, also w and m */
    RULE(true, "b", ANY, ANY, "r"),
};
static const check_t reset_checks[] = {
    {BLK, 3010, 7, R, 1}, {BLK, 3010, 7, W, 0}, {BLK, 3010, 7, M, 0},
    {CHR, 3009, 1, R, 0}, {CHR, 3009, 2, R, 0}, {CHR, 3009, 3, M, 0},
};

static const husk_device_cgroup_t wildcard_deny_rules[] = {
    RULE(false, "c", 3011, ANY, "rw"),
    RULE(false, "b", ANY, 5, "m"),
};
static const check_t wildcard_deny_checks[] = {
    {CHR, 3011, 9, R, 0}, {CHR, 3011, 9, W, 0}, {CHR, 3011, 9, M, 1}, {CHR, 3012, 9, R, 1},
    {BLK, 3013, 5, M, 0}, {BLK, 3013, 5, R, 1}, {BLK, 3013, 6, M, 1},
};

/* Numbers above INT32_MAX: the compares must be 32-bit, not sign-extended. */
static const husk_device_cgroup_t big_rules[] = {
    RULE(false, "a", ANY, ANY, "rwm"),
    RULE(true, "c", 4294967294LL, 2147483648LL, "r"),
};
static const check_t big_checks[] = {
    {CHR, 4294967294u, 2147483648u, R, 1},
    {CHR, 4294967294u, 0, R, 0},
    {CHR, 0xfffffffeu, 0x80000001u, R, 0},
    {CHR, 0x7ffffffeu, 2147483648u, R, 0},
};

#define SCENARIO(name, container, rules, checks)                                                   \
	{                                                                                          \
		name, container, rules, sizeof(rules) / sizeof(rules[0]), checks,                  \
		    sizeof(checks) / sizeof(checks[0])                                             \
	}

static const scenario_t scenarios[] = {
    {"defaults", true, NULL, 0, defaults_checks, sizeof defaults_checks / sizeof(check_t)},
    SCENARIO("spec example", true, spec_rules, spec_checks),
    SCENARIO("allow all", true, allow_all_rules, allow_all_checks),
    SCENARIO("disk", true, disk_rules, disk_checks),
    SCENARIO("partial deny", false, partial_deny_rules, partial_deny_checks),
    SCENARIO("exact removal", false, exact_removal_rules, exact_removal_checks),
    SCENARIO("cover", false, cover_rules, cover_checks),
    SCENARIO("reset", false, reset_rules, reset_checks),
    SCENARIO("wildcard deny", false, wildcard_deny_rules, wildcard_deny_checks),
    SCENARIO("big numbers", false, big_rules, big_checks),
};
#define NSCENARIOS (sizeof scenarios / sizeof scenarios[0])

static void compile(const scenario_t *sc, husk_ebpf_prog_t *prog)
{
	husk_error_t err = {0};
	int r = sc->container ? husk_ebpf_container_filter(sc->rules, sc->n, prog, &err)
			      : husk_ebpf_compile_rules(sc->rules, sc->n, "rules", prog, &err);
	if (r < 0)
		fail_msg("%s: %s", sc->name, husk_error_msg(&err));
	assert_true(prog->len > 0);
}

static const char *acc_str(uint32_t a, char *buf)
{
	char *p = buf;
	if (a & R)
		*p++ = 'r';
	if (a & W)
		*p++ = 'w';
	if (a & M)
		*p++ = 'm';
	*p = '\0';
	return buf;
}

static void test_interpreted(void **state)
{
	(void)state;
	for (size_t i = 0; i < NSCENARIOS; i++) {
		const scenario_t *sc = &scenarios[i];
		husk_ebpf_prog_t prog = {0};

		compile(sc, &prog);
		for (size_t j = 0; j < sc->nchecks; j++) {
			const check_t *c = &sc->checks[j];
			char acc[4];
			int got = interpret(&prog, c->type, c->major, c->minor, c->access);
			if (got != c->allow)
				fail_msg("%s: %c %" PRIu32 ":%" PRIu32 " %s: got %s, want %s",
					 sc->name, c->type == BLK ? 'b' : 'c', c->major, c->minor,
					 acc_str(c->access, acc), got ? "allow" : "deny",
					 c->allow ? "allow" : "deny");
		}
		husk_ebpf_prog_free(&prog);
	}
}

static void expect_compile_error(const husk_device_cgroup_t *r, size_t n, const char *want)
{
	husk_ebpf_prog_t prog = {0};
	husk_error_t err = {0};

	assert_int_equal(husk_ebpf_container_filter(r, n, &prog, &err), -1);
	assert_string_equal(husk_error_msg(&err), want);
	assert_null(prog.insns);
	husk_error_clear(&err);
}

static void test_invalid_rules(void **state)
{
	const husk_device_cgroup_t bad_type[] = {RULE(true, "c", 1, 3, "r"),
						 RULE(true, "x", 1, 3, "r")};
	const husk_device_cgroup_t long_type[] = {RULE(true, "cb", 1, 3, "r")};
	const husk_device_cgroup_t bad_access[] = {RULE(true, "c", 1, 3, "rx")};
	const husk_device_cgroup_t big_major[] = {RULE(true, "c", 1LL << 32, 3, "r")};
	const husk_device_cgroup_t big_minor[] = {RULE(true, "b", 1, 1LL << 40, "r")};

	(void)state;
	expect_compile_error(bad_type, 2,
			     "linux.resources.devices[1]: invalid type \"x\": Invalid argument");
	expect_compile_error(long_type, 1,
			     "linux.resources.devices[0]: invalid type \"cb\": Invalid argument");
	expect_compile_error(bad_access, 1,
			     "linux.resources.devices[0]: invalid access \"rx\": Invalid argument");
	expect_compile_error(big_major, 1,
			     "linux.resources.devices[0]: major 4294967296 is out of range: "
			     "Invalid argument");
	expect_compile_error(big_minor, 1,
			     "linux.resources.devices[0]: minor 1099511627776 is out of range: "
			     "Invalid argument");
}

/* ---------------------------------------------------------------- the real kernel */

static char tmpdir[64];

static bool mounted_as(const char *path, long magic)
{
	struct statfs st;
	return statfs(path, &st) == 0 && st.f_type == magic;
}

/* The cgroup2 mount: /sys/fs/cgroup (pure v2) or /sys/fs/cgroup/unified (hybrid). */
static const char *cgroup2_mount(void)
{
	if (mounted_as("/sys/fs/cgroup", CGROUP2_SUPER_MAGIC))
		return "/sys/fs/cgroup";
	if (mounted_as("/sys/fs/cgroup/unified", CGROUP2_SUPER_MAGIC))
		return "/sys/fs/cgroup/unified";
	return NULL;
}

static const char *v1_devices_mount(void)
{
	static const char *p = "/sys/fs/cgroup/devices";
	return access("/sys/fs/cgroup/devices/devices.allow", F_OK) == 0 ? p : NULL;
}

static void node_path(char *buf, size_t size, const check_t *c)
{
	snprintf(buf, size, "%s/%c-%" PRIu32 "-%" PRIu32, tmpdir, c->type == BLK ? 'b' : 'c',
		 c->major, c->minor);
}

/* Only made-up majors (nothing behind them, opening cannot touch a real device) and /dev/null
 * are asked of the kernel; and only numbers mknod can encode. */
static bool kernel_testable(const check_t *c)
{
	return c->major < 4096 && c->minor < (1u << 20) &&
	       ((c->major >= 3000) || (c->type == CHR && c->major == 1 && c->minor == 3));
}

/* Make the nodes the checks open (outside the restricted cgroups). */
static void make_nodes(const scenario_t *sc)
{
	for (size_t j = 0; j < sc->nchecks; j++) {
		const check_t *c = &sc->checks[j];
		char path[128];
		if (!kernel_testable(c))
			continue;
		node_path(path, sizeof path, c);
		if (mknod(path, (c->type == BLK ? S_IFBLK : S_IFCHR) | 0600,
			  makedev(c->major, c->minor)) < 0 &&
		    errno != EEXIST)
			fail_msg("mknod %s: %s", path, strerror(errno));
	}
}

/* In the child: 1 when the kernel allows the access, 0 when the device cgroup refuses (EPERM);
 * any other failure comes from the missing driver, after the cgroup said yes. */
static int kernel_allows(const check_t *c)
{
	char path[128];
	int fd;

	if (c->access == M) {
		snprintf(path, sizeof path, "%s/mknod-%d", tmpdir, (int)getpid());
		if (mknod(path, (c->type == BLK ? S_IFBLK : S_IFCHR) | 0600,
			  makedev(c->major, c->minor)) < 0)
			return errno == EPERM ? 0 : 2;
		unlink(path);
		return 1;
	}
	node_path(path, sizeof path, c);
	fd = open(path, ((c->access & R) && (c->access & W) ? O_RDWR
			 : (c->access & W)		    ? O_WRONLY
							    : O_RDONLY) |
			    O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd >= 0) {
		close(fd);
		return 1;
	}
	return errno == EPERM ? 0 : 1;
}

/* Fork a child that joins the cgroup (procs file given) and answers every testable check;
 * results come back one byte per check. */
static void ask_kernel(const scenario_t *sc, const char *procs, char *answers)
{
	int p[2];
	pid_t pid;
	int status;

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		husk_error_t err = {0};
		close(p[0]);
		if (husk_write_file_at(AT_FDCWD, procs, "0", &err) < 0)
			_exit(3);
		for (size_t j = 0; j < sc->nchecks; j++) {
			char a = kernel_testable(&sc->checks[j])
				     ? (char)('0' + kernel_allows(&sc->checks[j]))
				     : '-';
			if (write(p[1], &a, 1) != 1)
				_exit(4);
		}
		_exit(0);
	}
	close(p[1]);
	for (size_t got = 0; got < sc->nchecks;) {
		ssize_t n = read(p[0], answers + got, sc->nchecks - got);
		if (n <= 0)
			break; /* the child failed: its status says how */
		got += (size_t)n;
	}
	close(p[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void compare(const scenario_t *sc, const char *answers, const char *how)
{
	for (size_t j = 0; j < sc->nchecks; j++) {
		const check_t *c = &sc->checks[j];
		char acc[4];
		if (answers[j] == '-')
			continue;
		if (answers[j] == '2')
			fail_msg("%s via %s: mknod %c %" PRIu32 ":%" PRIu32 " failed oddly",
				 sc->name, how, c->type == BLK ? 'b' : 'c', c->major, c->minor);
		if (answers[j] - '0' != c->allow)
			fail_msg("%s via %s: %c %" PRIu32 ":%" PRIu32
				 " %s: kernel says %s, want %s",
				 sc->name, how, c->type == BLK ? 'b' : 'c', c->major, c->minor,
				 acc_str(c->access, acc), answers[j] == '1' ? "allow" : "deny",
				 c->allow ? "allow" : "deny");
	}
}

static int setup_kernel(void **state)
{
	(void)state;
	if (geteuid() != 0)
		return 0;
	snprintf(tmpdir, sizeof tmpdir, "/tmp/husk-ebpf-test-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_kernel(void **state)
{
	const char *mnts[] = {cgroup2_mount(), v1_devices_mount()};
	char path[256];
	struct dirent *de;
	DIR *dir;

	(void)state;
	/* A failed check leaves its cgroup behind (its child has exited: rmdir works). */
	for (size_t i = 0; i < 2; i++) {
		if (mnts[i] == NULL)
			continue;
		snprintf(path, sizeof path, "%s/husk-ebpf-test-%d", mnts[i], (int)getpid());
		rmdir(path);
	}
	if (tmpdir[0] == '\0' || tmpdir[0] == 'X')
		return 0;
	/* The directory is this test's own (mkdtemp): everything in it is a node it made. */
	dir = opendir(tmpdir);
	while (dir && (de = readdir(dir)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			unlinkat(dirfd(dir), de->d_name, 0);
	if (dir)
		closedir(dir);
	rmdir(tmpdir);
	tmpdir[0] = '\0';
	return 0;
}

static void format_rule(const husk_device_cgroup_t *r, char *buf, size_t size)
{
	char major[24] = "*", minor[24] = "*";
	if (r->has_major && r->major >= 0)
		snprintf(major, sizeof major, "%" PRId64, r->major);
	if (r->has_minor && r->minor >= 0)
		snprintf(minor, sizeof minor, "%" PRId64, r->minor);
	snprintf(buf, size, "%s %s:%s %s", r->type && *r->type ? r->type : "a", major, minor,
		 r->access && *r->access ? r->access : "rwm");
}

static void write_v1_rules(const char *dir, const husk_device_cgroup_t *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char file[256], rule[96];
		husk_error_t err = {0};
		snprintf(file, sizeof file, "%s/%s", dir,
			 r[i].allow ? "devices.allow" : "devices.deny");
		format_rule(&r[i], rule, sizeof rule);
		if (husk_write_file_at(AT_FDCWD, file, rule, &err) < 0)
			fail_msg("%s", husk_error_msg(&err));
	}
}

/* The reference: the v1 devices controller itself (hybrid and legacy hosts). */
static void test_kernel_v1_agrees(void **state)
{
	const char *mnt = v1_devices_mount();
	const husk_device_cgroup_t deny_all = RULE(false, "a", ANY, ANY, "rwm");

	(void)state;
	if (geteuid() != 0 || mnt == NULL)
		skip();
	for (size_t i = 0; i < NSCENARIOS; i++) {
		const scenario_t *sc = &scenarios[i];
		char dir[128], procs[160], answers[64];

		assert_true(sc->nchecks <= sizeof answers);
		snprintf(dir, sizeof dir, "%s/husk-ebpf-test-%d", mnt, (int)getpid());
		snprintf(procs, sizeof procs, "%s/cgroup.procs", dir);
		assert_int_equal(mkdir(dir, 0755), 0);
		make_nodes(sc);
		if (sc->container) {
			write_v1_rules(dir, &deny_all, 1);
			write_v1_rules(dir, sc->rules, sc->n);
			write_v1_rules(dir, husk_cgroup_default_devices,
				       husk_cgroup_default_devices_len);
		} else {
			write_v1_rules(dir, sc->rules, sc->n);
		}
		ask_kernel(sc, procs, answers);
		assert_int_equal(rmdir(dir), 0);
		compare(sc, answers, "v1 devices controller");
	}
}

/* The program itself, loaded and attached to a cgroup2 directory (no controller needed: device
 * programs work in the hybrid's unified hierarchy too). */
static void test_kernel_ebpf_agrees(void **state)
{
	const char *mnt = cgroup2_mount();

	(void)state;
	if (geteuid() != 0 || mnt == NULL)
		skip();
	for (size_t i = 0; i < NSCENARIOS; i++) {
		const scenario_t *sc = &scenarios[i];
		char dir[128], procs[160], answers[64];
		husk_ebpf_prog_t prog = {0};
		husk_error_t err = {0};
		cleanup_close int fd = -1;
		bool has = true;

		snprintf(dir, sizeof dir, "%s/husk-ebpf-test-%d", mnt, (int)getpid());
		snprintf(procs, sizeof procs, "%s/cgroup.procs", dir);
		assert_int_equal(mkdir(dir, 0755), 0);
		fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		assert_true(fd >= 0);
		assert_int_equal(husk_ebpf_has_device_filter(fd, &has, &err), 0);
		assert_false(has);
		compile(sc, &prog);
		if (husk_ebpf_replace_device_filter(fd, &prog, &err) < 0)
			fail_msg("%s: %s", sc->name, husk_error_msg(&err));
		assert_int_equal(husk_ebpf_has_device_filter(fd, &has, &err), 0);
		assert_true(has);
		husk_ebpf_prog_free(&prog);
		make_nodes(sc);
		ask_kernel(sc, procs, answers);
		/* Removing the cgroup releases its programs. */
		assert_int_equal(rmdir(dir), 0);
		compare(sc, answers, "eBPF");
	}
}

static uint32_t attached_count(int fd)
{
	union bpf_attr attr;
	uint32_t ids[16];

	memset(&attr, 0, sizeof attr);
	attr.query.target_fd = (uint32_t)fd;
	attr.query.attach_type = BPF_CGROUP_DEVICE;
	attr.query.prog_ids = (uint64_t)(uintptr_t)ids;
	attr.query.prog_cnt = 16;
	assert_int_equal(syscall(SYS_bpf, BPF_PROG_QUERY, &attr, sizeof attr), 0);
	return attr.query.prog_cnt;
}

/* Update: the new program replaces husk's old one (one attached, the new rules in force). */
static void test_kernel_replace(void **state)
{
	const char *mnt = cgroup2_mount();
	const husk_device_cgroup_t allow_null[] = {RULE(true, "c", 3020, 1, "rw")};
	const check_t allowed[] = {{CHR, 3020, 1, R | W, 1}, {CHR, 1, 3, R, 1}};
	const check_t denied[] = {{CHR, 3020, 1, R | W, 0}, {CHR, 1, 3, R, 1}};
	const scenario_t first = {"before update", true, NULL, 0, denied, 2};
	const scenario_t second = {"after update", true, allow_null, 1, allowed, 2};
	char dir[128], procs[160], answers[4];
	husk_ebpf_prog_t prog = {0};
	husk_error_t err = {0};
	cleanup_close int fd = -1;

	(void)state;
	if (geteuid() != 0 || mnt == NULL)
		skip();
	snprintf(dir, sizeof dir, "%s/husk-ebpf-test-%d", mnt, (int)getpid());
	snprintf(procs, sizeof procs, "%s/cgroup.procs", dir);
	assert_int_equal(mkdir(dir, 0755), 0);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	make_nodes(&first);

	compile(&first, &prog);
	if (husk_ebpf_replace_device_filter(fd, &prog, &err) < 0)
		fail_msg("%s", husk_error_msg(&err));
	husk_ebpf_prog_free(&prog);
	assert_int_equal(attached_count(fd), 1);
	ask_kernel(&first, procs, answers);
	compare(&first, answers, "eBPF");

	compile(&second, &prog);
	if (husk_ebpf_replace_device_filter(fd, &prog, &err) < 0)
		fail_msg("%s", husk_error_msg(&err));
	husk_ebpf_prog_free(&prog);
	assert_int_equal(attached_count(fd), 1);
	ask_kernel(&second, procs, answers);
	assert_int_equal(rmdir(dir), 0);
	compare(&second, answers, "eBPF");
}

/* A program the verifier refuses: the error carries the verifier's reason. */
static void test_load_error(void **state)
{
	struct bpf_insn bad[] = {
	    {.code = BPF_JMP | BPF_EXIT}, /* r0 never set */
	};
	husk_ebpf_prog_t prog = {bad, 1};
	husk_error_t err = {0};

	(void)state;
	if (geteuid() != 0)
		skip();
	assert_int_equal(husk_ebpf_load(&prog, &err), -1);
	print_message("%s\n", husk_error_msg(&err));
	assert_non_null(strstr(husk_error_msg(&err), "load the device filter: "));
	assert_non_null(strstr(husk_error_msg(&err), "R0 !read_ok"));
	husk_error_clear(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_interpreted),
	    cmocka_unit_test(test_invalid_rules),
	    cmocka_unit_test(test_load_error),
	    cmocka_unit_test_setup_teardown(test_kernel_v1_agrees, setup_kernel, teardown_kernel),
	    cmocka_unit_test_setup_teardown(test_kernel_ebpf_agrees, setup_kernel, teardown_kernel),
	    cmocka_unit_test_setup_teardown(test_kernel_replace, setup_kernel, teardown_kernel),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
