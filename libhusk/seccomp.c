/* husk: the seccomp filter of the container process (linux.seccomp), built with libseccomp. */
#include "config.h"
#include "seccomp.h"
#include "container.h"
#include "caps.h"
#include "process.h"
#include "utils.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>

/* ---- name tables ---- */

typedef struct {
	const char *name;
	uint32_t action; /* for the errno actions: the base, errno or-ed in */
	bool takes_errno;
} action_entry_t;

static const action_entry_t actions[] = {
    {"SCMP_ACT_KILL", SCMP_ACT_KILL, false},
    {"SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS, false},
    {"SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD, false},
    {"SCMP_ACT_TRAP", SCMP_ACT_TRAP, false},
    {"SCMP_ACT_ERRNO", SCMP_ACT_ERRNO(0), true},
    {"SCMP_ACT_TRACE", SCMP_ACT_TRACE(0), true},
    {"SCMP_ACT_ALLOW", SCMP_ACT_ALLOW, false},
    {"SCMP_ACT_LOG", SCMP_ACT_LOG, false},
    {"SCMP_ACT_NOTIFY", SCMP_ACT_NOTIFY, false},
};

static const action_entry_t *find_action(const char *name)
{
	for (size_t i = 0; name && i < sizeof actions / sizeof actions[0]; i++)
		if (strcmp(actions[i].name, name) == 0)
			return &actions[i];
	return NULL;
}

int husk_seccomp_action_from_name(const char *name, uint32_t errno_ret, uint32_t *out)
{
	const action_entry_t *a = find_action(name);
	if (a == NULL)
		return -1;
	*out = a->takes_errno ? (a->action | (errno_ret & 0xffffU)) : a->action;
	return 0;
}

bool husk_seccomp_action_takes_errno(const char *name)
{
	const action_entry_t *a = find_action(name);
	return a != NULL && a->takes_errno;
}

/* Every architecture the spec lists; 0 where the installed libseccomp predates it. */
static const struct {
	const char *name;
	uint32_t token;
} arches[] = {
    {"SCMP_ARCH_X86", SCMP_ARCH_X86},
    {"SCMP_ARCH_X86_64", SCMP_ARCH_X86_64},
    {"SCMP_ARCH_X32", SCMP_ARCH_X32},
    {"SCMP_ARCH_ARM", SCMP_ARCH_ARM},
    {"SCMP_ARCH_AARCH64", SCMP_ARCH_AARCH64},
    {"SCMP_ARCH_MIPS", SCMP_ARCH_MIPS},
    {"SCMP_ARCH_MIPS64", SCMP_ARCH_MIPS64},
    {"SCMP_ARCH_MIPS64N32", SCMP_ARCH_MIPS64N32},
    {"SCMP_ARCH_MIPSEL", SCMP_ARCH_MIPSEL},
    {"SCMP_ARCH_MIPSEL64", SCMP_ARCH_MIPSEL64},
    {"SCMP_ARCH_MIPSEL64N32", SCMP_ARCH_MIPSEL64N32},
    {"SCMP_ARCH_PPC", SCMP_ARCH_PPC},
    {"SCMP_ARCH_PPC64", SCMP_ARCH_PPC64},
    {"SCMP_ARCH_PPC64LE", SCMP_ARCH_PPC64LE},
    {"SCMP_ARCH_S390", SCMP_ARCH_S390},
    {"SCMP_ARCH_S390X", SCMP_ARCH_S390X},
    {"SCMP_ARCH_PARISC", SCMP_ARCH_PARISC},
    {"SCMP_ARCH_PARISC64", SCMP_ARCH_PARISC64},
    {"SCMP_ARCH_RISCV64", SCMP_ARCH_RISCV64},
#ifdef SCMP_ARCH_LOONGARCH64
    {"SCMP_ARCH_LOONGARCH64", SCMP_ARCH_LOONGARCH64},
#else
    {"SCMP_ARCH_LOONGARCH64", 0},
#endif
#ifdef SCMP_ARCH_M68K
    {"SCMP_ARCH_M68K", SCMP_ARCH_M68K},
#else
    {"SCMP_ARCH_M68K", 0},
#endif
#ifdef SCMP_ARCH_SH
    {"SCMP_ARCH_SH", SCMP_ARCH_SH},
#else
    {"SCMP_ARCH_SH", 0},
#endif
#ifdef SCMP_ARCH_SHEB
    {"SCMP_ARCH_SHEB", SCMP_ARCH_SHEB},
#else
    {"SCMP_ARCH_SHEB", 0},
#endif
};

int husk_seccomp_arch_from_name(const char *name, uint32_t *out)
{
	for (size_t i = 0; name && i < sizeof arches / sizeof arches[0]; i++) {
		if (strcmp(arches[i].name, name) == 0) {
			*out = arches[i].token;
			return 0;
		}
	}
	return -1;
}

static const struct {
	const char *name;
	enum scmp_compare op;
} ops[] = {
    {"SCMP_CMP_NE", SCMP_CMP_NE},
    {"SCMP_CMP_LT", SCMP_CMP_LT},
    {"SCMP_CMP_LE", SCMP_CMP_LE},
    {"SCMP_CMP_EQ", SCMP_CMP_EQ},
    {"SCMP_CMP_GE", SCMP_CMP_GE},
    {"SCMP_CMP_GT", SCMP_CMP_GT},
    {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
};

int husk_seccomp_op_from_name(const char *name, int *out)
{
	for (size_t i = 0; name && i < sizeof ops / sizeof ops[0]; i++) {
		if (strcmp(ops[i].name, name) == 0) {
			*out = ops[i].op;
			return 0;
		}
	}
	return -1;
}

static const struct {
	const char *name;
	unsigned int flag;
} filter_flags[] = {
    {"SECCOMP_FILTER_FLAG_TSYNC", SECCOMP_FILTER_FLAG_TSYNC},
    {"SECCOMP_FILTER_FLAG_LOG", SECCOMP_FILTER_FLAG_LOG},
    {"SECCOMP_FILTER_FLAG_SPEC_ALLOW", SECCOMP_FILTER_FLAG_SPEC_ALLOW},
    {"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", 1U << 5},
};

int husk_seccomp_flag_from_name(const char *name, unsigned int *out)
{
	for (size_t i = 0; name && i < sizeof filter_flags / sizeof filter_flags[0]; i++) {
		if (strcmp(filter_flags[i].name, name) == 0) {
			*out = filter_flags[i].flag;
			return 0;
		}
	}
	return -1;
}

/* ---- validation ---- */

static int validate_action(const char *field, const char *action, bool has_errno, husk_error_t *err)
{
	if (action == NULL)
		return husk_config_error(err, "%s: missing", field);
	if (find_action(action) == NULL)
		return husk_config_error(err, "%s: unknown action \"%s\"", field, action);
	/* Spec: an errno on an action that cannot return one is an error. */
	if (has_errno && !husk_seccomp_action_takes_errno(action))
		return husk_config_error(err, "%s: action \"%s\" does not take an errno", field,
					 action);
	return 0;
}

static int validate_rule(const husk_seccomp_syscall_t *sc, size_t i, husk_error_t *err)
{
	char field[96];

	if (sc->names_len == 0)
		return husk_config_error(err,
					 "linux.seccomp.syscalls[%zu].names: must contain at least "
					 "one entry",
					 i);
	snprintf(field, sizeof field, "linux.seccomp.syscalls[%zu].action", i);
	if (validate_action(field, sc->action, sc->has_errno_ret, err) < 0)
		return -1;
	for (size_t j = 0; j < sc->args_len; j++) {
		const husk_seccomp_arg_t *a = &sc->args[j];
		int op;

		if (a->index > 5)
			return husk_config_error(
			    err,
			    "linux.seccomp.syscalls[%zu].args[%zu].index: %u is "
			    "out of range 0-5",
			    i, j, a->index);
		if (husk_seccomp_op_from_name(a->op, &op) < 0)
			return husk_config_error(
			    err,
			    "linux.seccomp.syscalls[%zu].args[%zu].op: unknown "
			    "operator \"%s\"",
			    i, j, a->op ? a->op : "");
	}
	return 0;
}

int husk_seccomp_validate(const husk_seccomp_t *s, husk_error_t *err)
{
	if (s == NULL)
		return 0;
	if (validate_action("linux.seccomp.defaultAction", s->default_action,
			    s->has_default_errno_ret, err) < 0)
		return -1;
	/* The kernel has nobody to ask before the listener fd exists. */
	if (strcmp(s->default_action, "SCMP_ACT_NOTIFY") == 0)
		return husk_config_error(err, "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY "
					      "cannot be the default action");
	for (size_t i = 0; i < s->architectures_len; i++) {
		uint32_t token;
		if (husk_seccomp_arch_from_name(s->architectures[i], &token) < 0)
			return husk_config_error(err,
						 "linux.seccomp.architectures[%zu]: unknown "
						 "architecture \"%s\"",
						 i, s->architectures[i]);
	}
	for (size_t i = 0; i < s->flags_len; i++) {
		unsigned int flag;
		if (husk_seccomp_flag_from_name(s->flags[i], &flag) < 0)
			return husk_config_error(
			    err, "linux.seccomp.flags[%zu]: unknown flag \"%s\"", i, s->flags[i]);
	}
	if (s->listener_metadata != NULL && s->listener_path == NULL)
		return husk_config_error(err, "linux.seccomp.listenerMetadata: set without "
					      "listenerPath");
	for (size_t i = 0; i < s->syscalls_len; i++)
		if (validate_rule(&s->syscalls[i], i, err) < 0)
			return -1;
	return 0;
}

/* ---- building and loading the filter ---- */

static void release_ctx(scmp_filter_ctx *ctx)
{
	if (*ctx != NULL)
		seccomp_release(*ctx);
}
#define cleanup_scmp __attribute__((cleanup(release_ctx)))

static uint32_t errno_or_eperm(bool has, uint32_t value)
{
	return has ? value : EPERM;
}

static int add_arches(scmp_filter_ctx ctx, const husk_seccomp_t *s, husk_error_t *err)
{
	for (size_t i = 0; i < s->architectures_len; i++) {
		uint32_t token = 0;
		int rc;

		husk_seccomp_arch_from_name(s->architectures[i], &token);
		/* An architecture this libseccomp cannot describe cannot run here either. */
		if (token == 0)
			continue;
		rc = seccomp_arch_add(ctx, token);
		if (rc < 0 && rc != -EEXIST)
			return husk_error_set(err, -rc, "seccomp: add architecture %s",
					      s->architectures[i]);
	}
	return 0;
}

static bool has_repeated_index(const husk_seccomp_syscall_t *sc)
{
	unsigned int seen = 0;
	for (size_t j = 0; j < sc->args_len; j++) {
		if (seen & (1U << sc->args[j].index))
			return true;
		seen |= 1U << sc->args[j].index;
	}
	return false;
}

static struct scmp_arg_cmp make_cmp(const husk_seccomp_arg_t *a)
{
	int op = SCMP_CMP_EQ;
	struct scmp_arg_cmp c;

	husk_seccomp_op_from_name(a->op, &op);
	c.arg = a->index;
	c.op = (enum scmp_compare)op;
	/* For MASKED_EQ the spec's value is the mask and valueTwo the datum; the other
	 * operators compare against value alone. */
	c.datum_a = a->value;
	c.datum_b = a->has_value_two ? a->value_two : 0;
	return c;
}

static int add_rule_for_syscall(scmp_filter_ctx ctx, uint32_t action, int nr,
				const husk_seccomp_syscall_t *sc, const char *name, size_t i,
				husk_error_t *err)
{
	struct scmp_arg_cmp cmps[6];
	int rc;

	if (sc->args_len == 0) {
		rc = seccomp_rule_add_array(ctx, action, nr, 0, NULL);
	} else if (has_repeated_index(sc) || sc->args_len > 6) {
		/* libseccomp takes one comparison per argument in a rule. With the same argument
		 * compared twice, each comparison becomes its own rule (matching any of them),
		 * as runc does. */
		rc = 0;
		for (size_t j = 0; j < sc->args_len && rc == 0; j++) {
			cmps[0] = make_cmp(&sc->args[j]);
			rc = seccomp_rule_add_array(ctx, action, nr, 1, cmps);
		}
	} else {
		for (size_t j = 0; j < sc->args_len; j++)
			cmps[j] = make_cmp(&sc->args[j]);
		rc = seccomp_rule_add_array(ctx, action, nr, (unsigned int)sc->args_len, cmps);
	}
	if (rc == -EEXIST)
		return husk_error_set(err, EEXIST,
				      "linux.seccomp.syscalls[%zu]: \"%s\" already has a rule with "
				      "the same arguments and another action",
				      i, name);
	if (rc < 0)
		return husk_error_set(err, -rc, "linux.seccomp.syscalls[%zu]: add rule for \"%s\"",
				      i, name);
	return 0;
}

static int add_rules(scmp_filter_ctx ctx, const husk_seccomp_t *s, uint32_t default_action,
		     bool *uses_notify, husk_error_t *err)
{
	*uses_notify = false;
	for (size_t i = 0; i < s->syscalls_len; i++) {
		const husk_seccomp_syscall_t *sc = &s->syscalls[i];
		uint32_t action;

		if (husk_seccomp_action_from_name(
			sc->action, errno_or_eperm(sc->has_errno_ret, sc->errno_ret), &action) < 0)
			return husk_config_error(
			    err,
			    "linux.seccomp.syscalls[%zu].action: unknown action "
			    "\"%s\"",
			    i, sc->action ? sc->action : "");
		/* libseccomp refuses rules that repeat the default action; they change nothing. */
		if (action == default_action)
			continue;
		for (size_t n = 0; n < sc->names_len; n++) {
			int nr = seccomp_syscall_resolve_name(sc->names[n]);
			/* Profiles name syscalls of newer kernels or other architectures. */
			if (nr == __NR_SCMP_ERROR)
				continue;
			if (add_rule_for_syscall(ctx, action, nr, sc, sc->names[n], i, err) < 0)
				return -1;
			if (action == SCMP_ACT_NOTIFY)
				*uses_notify = true;
		}
	}
	return 0;
}

/* The BPF program libseccomp generated, copied out through a memfd (a pipe could fill up and
 * block with a large profile). */
static int export_bpf(scmp_filter_ctx ctx, struct sock_filter **prog, size_t *count,
		      husk_error_t *err)
{
	cleanup_close int fd = memfd_create("husk-seccomp", MFD_CLOEXEC);
	cleanup_free struct sock_filter *buf = NULL;
	struct stat st;
	int rc;

	if (fd < 0)
		return husk_error_errno(err, "seccomp: memfd_create");
	rc = seccomp_export_bpf(ctx, fd);
	if (rc < 0)
		return husk_error_set(err, -rc, "seccomp: export the BPF program");
	if (fstat(fd, &st) < 0)
		return husk_error_errno(err, "seccomp: stat the BPF program");
	if (st.st_size <= 0 || st.st_size % sizeof(struct sock_filter) != 0 ||
	    st.st_size / sizeof(struct sock_filter) > BPF_MAXINSNS)
		return husk_error_set(err, E2BIG, "seccomp: BPF program of %lld bytes",
				      (long long)st.st_size);
	buf = xmalloc0((size_t)st.st_size);
	if (pread(fd, buf, (size_t)st.st_size, 0) != st.st_size)
		return husk_error_errno(err, "seccomp: read the BPF program");
	*count = (size_t)st.st_size / sizeof(struct sock_filter);
	*prog = steal_pointer(&buf);
	return 0;
}

static unsigned int kernel_flags(const husk_seccomp_t *s, bool uses_notify)
{
	unsigned int flags = 0;

	for (size_t i = 0; i < s->flags_len; i++) {
		unsigned int f = 0;
		husk_seccomp_flag_from_name(s->flags[i], &f);
		flags |= f;
	}
	if (uses_notify) {
		flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
		/* TSYNC reports a thread it could not sync in the return value, which is also
		 * where the listener fd comes back; TSYNC_ESRCH makes that an error instead. */
		if (flags & SECCOMP_FILTER_FLAG_TSYNC)
			flags |= SECCOMP_FILTER_FLAG_TSYNC_ESRCH;
	} else {
		/* The kernel accepts WAIT_KILLABLE_RECV only together with a listener. */
		flags &= ~(1U << 5);
	}
	return flags;
}

int husk_seccomp_load(const husk_seccomp_t *s, int *notify_fd, husk_error_t *err)
{
	cleanup_scmp scmp_filter_ctx ctx = NULL;
	cleanup_free struct sock_filter *insns = NULL;
	struct sock_fprog prog;
	uint32_t default_action;
	unsigned int flags;
	bool uses_notify;
	size_t count = 0;
	long rc;

	if (notify_fd)
		*notify_fd = -1;
	if (s == NULL)
		return 0;
	if (husk_seccomp_validate(s, err) < 0)
		return -1;
	husk_seccomp_action_from_name(
	    s->default_action, errno_or_eperm(s->has_default_errno_ret, s->default_errno_ret),
	    &default_action);
	ctx = seccomp_init(default_action);
	if (ctx == NULL)
		return husk_error_set(err, EINVAL, "seccomp: init with default action %s",
				      s->default_action);
	if (add_arches(ctx, s, err) < 0 || add_rules(ctx, s, default_action, &uses_notify, err) < 0)
		return -1;
	if (export_bpf(ctx, &insns, &count, err) < 0)
		return -1;

	/* Loaded with seccomp(2) rather than seccomp_load() so that every spec flag works,
	 * whatever the libseccomp version knows (WAIT_KILLABLE_RECV needs 2.6). */
	flags = kernel_flags(s, uses_notify);
	prog.len = (unsigned short)count;
	prog.filter = insns;
	rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
	if (rc < 0)
		return husk_error_errno(err, "load the seccomp filter (flags %#x)", flags);
	if (uses_notify) {
		if (notify_fd)
			*notify_fd = (int)rc;
		else
			close((int)rc);
	}
	return 0;
}

void husk_seccomp_debug_unknown(const husk_seccomp_t *s)
{
	const struct scmp_version *v = seccomp_version();

	for (size_t i = 0; s && i < s->syscalls_len; i++)
		for (size_t n = 0; n < s->syscalls[i].names_len; n++)
			if (seccomp_syscall_resolve_name(s->syscalls[i].names[n]) == __NR_SCMP_ERROR)
				husk_debug("linux.seccomp.syscalls[%zu].names[%zu]: \"%s\" is unknown "
					   "to libseccomp %u.%u.%u: skipped",
					   i, n, s->syscalls[i].names[n], v->major, v->minor, v->micro);
}
