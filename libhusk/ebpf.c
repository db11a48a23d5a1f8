/* husk: the cgroup v2 device filter, an eBPF program (BPF_PROG_TYPE_CGROUP_DEVICE).
 *
 * cgroup v2 has no devices controller: the kernel asks every BPF_CGROUP_DEVICE program attached
 * to the cgroup and its ancestors, and one "0" denies. husk's v1 path writes deny-all, the
 * config's rules and the default devices to devices.allow/deny; here the same rule list is run
 * through a model of what the v1 controller keeps (a default and a list of exceptions) and the
 * result is compiled to raw BPF instructions, so a container gets the same devices on both.
 */
#include "config.h"
#include "ebpf.h"
#include "cgroup.h"
#include "utils.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/bpf.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define ACC_ALL (BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE)
/* v1 stores "*" as ~0; a literal 4294967295 means the same there, and so it does here. */
#define DEV_ANY UINT32_MAX

/* Registers of the generated program (r1 holds the context on entry, then is scratch). */
#define R_CTX BPF_REG_1
#define R_TMP BPF_REG_1
#define R_ACCESS BPF_REG_2
#define R_TYPE BPF_REG_3
#define R_MAJOR BPF_REG_4
#define R_MINOR BPF_REG_5

/* ---------------------------------------------------------------- the v1 model */

typedef struct {
	uint8_t type; /* BPF_DEVCG_DEV_BLOCK or BPF_DEVCG_DEV_CHAR */
	uint32_t major, minor;
	uint8_t access; /* BPF_DEVCG_ACC_* bits */
} exception_t;

typedef struct {
	bool deny_all; /* the default; exceptions are allows when true, denies when false */
	exception_t *ex;
	size_t len;
} v1_state_t;

static void v1_state_free(v1_state_t *s)
{
	free(s->ex);
	s->ex = NULL;
	s->len = 0;
}

#define cleanup_v1_state __attribute__((cleanup(v1_state_free)))

typedef struct {
	bool allow;
	char type; /* 'a', 'b', 'c' */
	exception_t ex;
} rule_t;

static int parse_number(bool has, int64_t v, const char *what, const char *field, size_t i,
			uint32_t *out, husk_error_t *err)
{
	if (!has || v < 0) {
		*out = DEV_ANY;
		return 0;
	}
	if (v > (int64_t)UINT32_MAX)
		return husk_error_set(err, EINVAL, "%s[%zu]: %s %" PRId64 " is out of range", field,
				      i, what, v);
	*out = (uint32_t)v;
	return 0;
}

/* A rule as the v1 path writes it ("TYPE MAJOR:MINOR ACCESS"), decoded as the kernel would. */
static int parse_rule(const husk_device_cgroup_t *r, const char *field, size_t i, rule_t *out,
		      husk_error_t *err)
{
	const char *type = r->type && *r->type ? r->type : "a";
	const char *access = r->access && *r->access ? r->access : "rwm";

	memset(out, 0, sizeof *out);
	out->allow = r->allow;
	if (strlen(type) != 1 || strchr("abc", type[0]) == NULL)
		return husk_error_set(err, EINVAL, "%s[%zu]: invalid type \"%s\"", field, i, type);
	out->type = type[0];
	out->ex.type = type[0] == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR;
	for (const char *p = access; *p; p++) {
		switch (*p) {
		case 'r':
			out->ex.access |= BPF_DEVCG_ACC_READ;
			break;
		case 'w':
			out->ex.access |= BPF_DEVCG_ACC_WRITE;
			break;
		case 'm':
			out->ex.access |= BPF_DEVCG_ACC_MKNOD;
			break;
		default:
			return husk_error_set(err, EINVAL, "%s[%zu]: invalid access \"%s\"", field,
					      i, access);
		}
	}
	if (parse_number(r->has_major, r->major, "major", field, i, &out->ex.major, err) < 0 ||
	    parse_number(r->has_minor, r->minor, "minor", field, i, &out->ex.minor, err) < 0)
		return -1;
	return 0;
}

static bool same_device(const exception_t *a, const exception_t *b)
{
	return a->type == b->type && a->major == b->major && a->minor == b->minor;
}

/* v1 merges an exception into one for the same type, major and minor (wildcards compared as
 * written, not as ranges). */
static void exception_add(v1_state_t *s, const exception_t *ex)
{
	for (size_t i = 0; i < s->len; i++) {
		if (same_device(&s->ex[i], ex)) {
			s->ex[i].access |= ex->access;
			return;
		}
	}
	s->ex = realloc(s->ex, (s->len + 1) * sizeof *s->ex);
	if (s->ex == NULL)
		abort();
	s->ex[s->len++] = *ex;
}

/* ... and removes access bits only from that same exact entry: a "c *:* w" deny does not touch
 * an allowed "c 1:3 rw". */
static void exception_remove(v1_state_t *s, const exception_t *ex)
{
	size_t kept = 0;

	for (size_t i = 0; i < s->len; i++) {
		if (same_device(&s->ex[i], ex))
			s->ex[i].access &= (uint8_t)~ex->access;
		if (s->ex[i].access)
			s->ex[kept++] = s->ex[i];
	}
	s->len = kept;
}

static void v1_apply(v1_state_t *s, const rule_t *r)
{
	if (r->type == 'a') {
		/* "a" replaces the whole list, whatever major:minor and access follow it. */
		s->len = 0;
		s->deny_all = !r->allow;
		return;
	}
	/* In deny-all mode the exceptions are allows; in allow-all mode they are denies. */
	if (r->allow == s->deny_all)
		exception_add(s, &r->ex);
	else
		exception_remove(s, &r->ex);
}

static int v1_apply_list(v1_state_t *s, const husk_device_cgroup_t *rules, size_t n,
			 const char *field, husk_error_t *err)
{
	for (size_t i = 0; i < n; i++) {
		rule_t r;
		if (parse_rule(&rules[i], field, i, &r, err) < 0)
			return -1;
		v1_apply(s, &r);
	}
	return 0;
}

/* ---------------------------------------------------------------- code generation */

typedef struct {
	struct bpf_insn *insns;
	size_t len, cap;
} emitter_t;

static size_t emit(emitter_t *e, uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
	if (e->len == e->cap) {
		e->cap = e->cap ? e->cap * 2 : 64;
		e->insns = realloc(e->insns, e->cap * sizeof *e->insns);
		if (e->insns == NULL)
			abort();
	}
	e->insns[e->len] =
	    (struct bpf_insn){.code = code, .dst_reg = dst, .src_reg = src, .off = off, .imm = imm};
	return e->len++;
}

static void emit_load_u32(emitter_t *e, uint8_t dst, int16_t ctx_off)
{
	emit(e, BPF_LDX | BPF_MEM | BPF_W, dst, R_CTX, ctx_off, 0);
}

static void emit_alu32_imm(emitter_t *e, uint8_t op, uint8_t dst, int32_t imm)
{
	emit(e, BPF_ALU | op | BPF_K, dst, 0, 0, imm);
}

static void emit_return(emitter_t *e, int32_t verdict)
{
	emit(e, BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, verdict);
	emit(e, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
}

/* A 32-bit compare (so that a u32 immediate above INT32_MAX compares right) whose target is
 * patched once the end of the block is known. */
static size_t emit_jump32_imm(emitter_t *e, uint8_t op, uint8_t reg, uint32_t imm)
{
	return emit(e, BPF_JMP32 | op | BPF_K, reg, 0, 0, (int32_t)imm);
}

/*
 * One exception: fall through to the next when the device differs or the access does not match;
 * else return the exception's verdict. In deny-all mode an (allow) exception matches when it
 * covers every requested bit; in allow-all mode a (deny) exception when it shares any bit.
 */
static void emit_exception(emitter_t *e, const exception_t *ex, bool deny_all)
{
	size_t jumps[4];
	size_t n = 0;

	jumps[n++] = emit_jump32_imm(e, BPF_JNE, R_TYPE, ex->type);
	if (ex->major != DEV_ANY)
		jumps[n++] = emit_jump32_imm(e, BPF_JNE, R_MAJOR, ex->major);
	if (ex->minor != DEV_ANY)
		jumps[n++] = emit_jump32_imm(e, BPF_JNE, R_MINOR, ex->minor);
	emit(e, BPF_ALU | BPF_MOV | BPF_X, R_TMP, R_ACCESS, 0, 0);
	if (deny_all) {
		emit_alu32_imm(e, BPF_AND, R_TMP, ~ex->access & ACC_ALL);
		jumps[n++] = emit_jump32_imm(e, BPF_JNE, R_TMP, 0);
	} else {
		emit_alu32_imm(e, BPF_AND, R_TMP, ex->access);
		jumps[n++] = emit_jump32_imm(e, BPF_JEQ, R_TMP, 0);
	}
	emit_return(e, deny_all ? 1 : 0);
	for (size_t i = 0; i < n; i++)
		e->insns[jumps[i]].off = (int16_t)(e->len - jumps[i] - 1);
}

static int emit_program(const v1_state_t *s, husk_ebpf_prog_t *prog, husk_error_t *err)
{
	emitter_t e = {0};

	/* access_type is (BPF_DEVCG_ACC_* << 16) | BPF_DEVCG_DEV_*. */
	emit_load_u32(&e, R_ACCESS, offsetof(struct bpf_cgroup_dev_ctx, access_type));
	emit_load_u32(&e, R_MAJOR, offsetof(struct bpf_cgroup_dev_ctx, major));
	emit_load_u32(&e, R_MINOR, offsetof(struct bpf_cgroup_dev_ctx, minor));
	emit(&e, BPF_ALU | BPF_MOV | BPF_X, R_TYPE, R_ACCESS, 0, 0);
	emit_alu32_imm(&e, BPF_AND, R_TYPE, 0xffff);
	emit_alu32_imm(&e, BPF_RSH, R_ACCESS, 16);
	for (size_t i = 0; i < s->len; i++) {
		emit_exception(&e, &s->ex[i], s->deny_all);
		/* Jump offsets are 16 bits; the verifier's own limit is far above this. */
		if (e.len > INT16_MAX) {
			free(e.insns);
			return husk_error_set(err, E2BIG, "device filter: too many rules");
		}
	}
	emit_return(&e, s->deny_all ? 0 : 1);
	prog->insns = e.insns;
	prog->len = e.len;
	return 0;
}

void husk_ebpf_prog_free(husk_ebpf_prog_t *prog)
{
	if (prog == NULL)
		return;
	free(prog->insns);
	prog->insns = NULL;
	prog->len = 0;
}

int husk_ebpf_compile_rules(const husk_device_cgroup_t *rules, size_t n, const char *field,
			    husk_ebpf_prog_t *prog, husk_error_t *err)
{
	/* A new v1 cgroup under the root starts as allow-all with no exceptions. */
	cleanup_v1_state v1_state_t s = {.deny_all = false};

	if (v1_apply_list(&s, rules, n, field, err) < 0)
		return -1;
	return emit_program(&s, prog, err);
}

int husk_ebpf_container_filter(const husk_device_cgroup_t *rules, size_t n, husk_ebpf_prog_t *prog,
			       husk_error_t *err)
{
	cleanup_v1_state v1_state_t s = {.deny_all = true};

	if (v1_apply_list(&s, rules, n, "linux.resources.devices", err) < 0 ||
	    v1_apply_list(&s, husk_cgroup_default_devices, husk_cgroup_default_devices_len,
			  "default devices", err) < 0)
		return -1;
	return emit_program(&s, prog, err);
}

/* ---------------------------------------------------------------- the kernel side */

static int sys_bpf(int cmd, union bpf_attr *attr)
{
	return (int)syscall(SYS_bpf, cmd, attr, sizeof *attr);
}

static bool is_verifier_stats(const char *line)
{
	return strncmp(line, "processed ", 10) == 0 ||
	       strncmp(line, "verification time", 17) == 0 || strncmp(line, "stack depth", 11) == 0;
}

/* The reason in the verifier's log: its last line that is not a statistic (the lines before it
 * are the instructions it walked). Cuts log in place. */
static const char *verifier_reason(char *log)
{
	char *end = log + strlen(log);

	for (;;) {
		char *line;
		while (end > log && (end[-1] == '\n' || end[-1] == ' '))
			*--end = '\0';
		if (end == log)
			return log;
		line = end;
		while (line > log && line[-1] != '\n')
			line--;
		if (!is_verifier_stats(line))
			return line;
		*line = '\0';
		end = line;
	}
}

static int prog_load(const husk_ebpf_prog_t *prog, char *log, size_t log_size)
{
	/* No helper is called, so the license does not need to be GPL-compatible. */
	static const char license[] = "Apache-2.0";
	union bpf_attr attr;

	memset(&attr, 0, sizeof attr);
	attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
	attr.insns = (uint64_t)(uintptr_t)prog->insns;
	attr.insn_cnt = (uint32_t)prog->len;
	attr.license = (uint64_t)(uintptr_t)license;
	attr.prog_flags = 0;
	snprintf(attr.prog_name, sizeof attr.prog_name, "%s", HUSK_EBPF_DEVICE_PROG_NAME);
	if (log) {
		log[0] = '\0';
		attr.log_level = 1;
		attr.log_buf = (uint64_t)(uintptr_t)log;
		attr.log_size = (uint32_t)log_size;
	}
	/* bpf() fds are O_CLOEXEC from birth. */
	return sys_bpf(BPF_PROG_LOAD, &attr);
}

int husk_ebpf_load(const husk_ebpf_prog_t *prog, husk_error_t *err)
{
	enum { LOG_SIZE = 64 * 1024 };
	cleanup_free char *log = NULL;
	int fd, e;

	fd = prog_load(prog, NULL, 0);
	if (fd >= 0)
		return fd;
	e = errno;
	if (e != EACCES && e != EINVAL)
		return husk_error_set(err, e, "load the device filter");
	/* Ask again with a log: the verifier says why, which errno alone does not. */
	log = xmalloc0(LOG_SIZE);
	fd = prog_load(prog, log, LOG_SIZE);
	if (fd >= 0)
		return fd;
	e = errno;
	if (*log)
		return husk_error_set(err, e, "load the device filter: %s", verifier_reason(log));
	return husk_error_set(err, e, "load the device filter");
}

static int prog_info(int fd, struct bpf_prog_info *info, husk_error_t *err)
{
	union bpf_attr attr;

	memset(info, 0, sizeof *info);
	memset(&attr, 0, sizeof attr);
	attr.info.bpf_fd = (uint32_t)fd;
	attr.info.info_len = sizeof *info;
	attr.info.info = (uint64_t)(uintptr_t)info;
	if (sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &attr) < 0)
		return husk_error_errno(err, "get info of a device filter");
	return 0;
}

/* The ids of the device programs attached to the cgroup itself; heap array. */
static int query_device_progs(int cgroup_fd, uint32_t **ids, uint32_t *n, husk_error_t *err)
{
	uint32_t cap = 16;

	for (;;) {
		cleanup_free uint32_t *buf = xmalloc0(cap * sizeof *buf);
		union bpf_attr attr;

		memset(&attr, 0, sizeof attr);
		attr.query.target_fd = (uint32_t)cgroup_fd;
		attr.query.attach_type = BPF_CGROUP_DEVICE;
		attr.query.prog_ids = (uint64_t)(uintptr_t)buf;
		attr.query.prog_cnt = cap;
		if (sys_bpf(BPF_PROG_QUERY, &attr) == 0) {
			*n = attr.query.prog_cnt;
			*ids = steal_pointer(&buf);
			return 0;
		}
		/* ENOSPC: more than cap attached; prog_cnt says how many. */
		if (errno != ENOSPC || attr.query.prog_cnt <= cap)
			return husk_error_errno(err, "query the device filters of the cgroup");
		cap = attr.query.prog_cnt;
	}
}

/* *out: an fd of program `id` when it is a husk device filter, else -1 (gone, or not ours). */
static int open_husk_prog(uint32_t id, int *out, husk_error_t *err)
{
	cleanup_close int fd = -1;
	struct bpf_prog_info info;
	union bpf_attr attr;

	*out = -1;
	memset(&attr, 0, sizeof attr);
	attr.prog_id = id;
	fd = sys_bpf(BPF_PROG_GET_FD_BY_ID, &attr);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0; /* detached and freed since the query */
		return husk_error_errno(err, "open device filter %" PRIu32, id);
	}
	if (prog_info(fd, &info, err) < 0)
		return -1;
	if (info.type == BPF_PROG_TYPE_CGROUP_DEVICE &&
	    strncmp(info.name, HUSK_EBPF_DEVICE_PROG_NAME, sizeof info.name) == 0)
		*out = steal_fd(&fd);
	return 0;
}

int husk_ebpf_has_device_filter(int cgroup_fd, bool *has, husk_error_t *err)
{
	cleanup_free uint32_t *ids = NULL;
	uint32_t n = 0;

	*has = false;
	if (query_device_progs(cgroup_fd, &ids, &n, err) < 0)
		return -1;
	for (uint32_t i = 0; i < n && !*has; i++) {
		cleanup_close int fd = -1;
		if (open_husk_prog(ids[i], &fd, err) < 0)
			return -1;
		*has = fd >= 0;
	}
	return 0;
}

static int attach(int cgroup_fd, int prog_fd, husk_error_t *err)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof attr);
	attr.target_fd = (uint32_t)cgroup_fd;
	attr.attach_bpf_fd = (uint32_t)prog_fd;
	attr.attach_type = BPF_CGROUP_DEVICE;
	/* MULTI: other managers' programs (systemd's, an ancestor's) stay, and an old husk
	 * program can stay attached until the new one is in. */
	attr.attach_flags = BPF_F_ALLOW_MULTI;
	if (sys_bpf(BPF_PROG_ATTACH, &attr) < 0)
		return husk_error_errno(err, "attach the device filter to the cgroup");
	return 0;
}

static int detach(int cgroup_fd, int prog_fd, uint32_t id, husk_error_t *err)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof attr);
	attr.target_fd = (uint32_t)cgroup_fd;
	attr.attach_bpf_fd = (uint32_t)prog_fd;
	attr.attach_type = BPF_CGROUP_DEVICE;
	if (sys_bpf(BPF_PROG_DETACH, &attr) < 0 && errno != ENOENT)
		return husk_error_errno(err, "detach the old device filter %" PRIu32, id);
	return 0;
}

/* Detach every husk device filter of the cgroup except `keep`. */
static int detach_old(int cgroup_fd, uint32_t keep, husk_error_t *err)
{
	cleanup_free uint32_t *ids = NULL;
	uint32_t n = 0;

	if (query_device_progs(cgroup_fd, &ids, &n, err) < 0)
		return -1;
	for (uint32_t i = 0; i < n; i++) {
		cleanup_close int fd = -1;
		if (ids[i] == keep)
			continue;
		if (open_husk_prog(ids[i], &fd, err) < 0)
			return -1;
		if (fd >= 0 && detach(cgroup_fd, fd, ids[i], err) < 0)
			return -1;
	}
	return 0;
}

int husk_ebpf_replace_device_filter(int cgroup_fd, const husk_ebpf_prog_t *prog, husk_error_t *err)
{
	cleanup_close int fd = husk_ebpf_load(prog, err);
	struct bpf_prog_info info;

	if (fd < 0 || prog_info(fd, &info, err) < 0 || attach(cgroup_fd, fd, err) < 0 ||
	    detach_old(cgroup_fd, info.id, err) < 0)
		return husk_error_wrap(err, "linux.resources.devices");
	/* The attachment holds its own reference: closing fd does not unload the program. */
	return 0;
}
