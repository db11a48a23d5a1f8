/* husk: the container process's last steps: limits, scheduling, identity, capabilities, exec. */
#include "config.h"
#include "process.h"
#include "caps.h"
#include "utils.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* A sane ceiling for CPU numbers in a list, so a typo cannot make us allocate gigabytes. */
#define MAX_CPU 65535

/* ---- name tables (kernel ABI values) ---- */

typedef struct {
	const char *name;
	int value;
} name_value_t;

static int lookup(const name_value_t *table, size_t n, const char *name)
{
	for (size_t i = 0; name && i < n; i++)
		if (strcmp(table[i].name, name) == 0)
			return table[i].value;
	return -1;
}

#define LOOKUP(table, name) lookup(table, sizeof table / sizeof table[0], name)
#define RL(r)                                                                                      \
	{                                                                                          \
#r, r                                                                              \
	}

static const name_value_t rlimits[] = {
    RL(RLIMIT_AS),     RL(RLIMIT_CORE),	  RL(RLIMIT_CPU),	 RL(RLIMIT_DATA),
    RL(RLIMIT_FSIZE),  RL(RLIMIT_LOCKS),  RL(RLIMIT_MEMLOCK),	 RL(RLIMIT_MSGQUEUE),
    RL(RLIMIT_NICE),   RL(RLIMIT_NOFILE), RL(RLIMIT_NPROC),	 RL(RLIMIT_RSS),
    RL(RLIMIT_RTPRIO), RL(RLIMIT_RTTIME), RL(RLIMIT_SIGPENDING), RL(RLIMIT_STACK),
};

/* Values from include/uapi/linux/sched.h; SCHED_ISO is reserved there (the kernel refuses it
 * with EINVAL), but the spec lists it. */
static const name_value_t sched_policies[] = {
    {"SCHED_OTHER", 0}, {"SCHED_FIFO", 1}, {"SCHED_RR", 2},	  {"SCHED_BATCH", 3},
    {"SCHED_ISO", 4},	{"SCHED_IDLE", 5}, {"SCHED_DEADLINE", 6},
};

static const name_value_t sched_flags[] = {
    {"SCHED_FLAG_RESET_ON_FORK", 0x01},	 {"SCHED_FLAG_RECLAIM", 0x02},
    {"SCHED_FLAG_DL_OVERRUN", 0x04},	 {"SCHED_FLAG_KEEP_POLICY", 0x08},
    {"SCHED_FLAG_KEEP_PARAMS", 0x10},	 {"SCHED_FLAG_UTIL_CLAMP_MIN", 0x20},
    {"SCHED_FLAG_UTIL_CLAMP_MAX", 0x40},
};

static const name_value_t ioprio_classes[] = {
    {"IOPRIO_CLASS_RT", 1},
    {"IOPRIO_CLASS_BE", 2},
    {"IOPRIO_CLASS_IDLE", 3},
};

static const name_value_t personality_domains[] = {
    {"LINUX", PER_LINUX},
    {"LINUX32", PER_LINUX32},
};

int husk_rlimit_from_name(const char *name)
{
	return LOOKUP(rlimits, name);
}

/* ---- CPU lists ---- */

static int parse_cpu_number(const char **s, unsigned long *out)
{
	char *end;

	if (**s < '0' || **s > '9')
		return -1;
	errno = 0;
	*out = strtoul(*s, &end, 10);
	if (errno != 0 || *out > MAX_CPU)
		return -1;
	*s = end;
	return 0;
}

/* Walks "0-3,7" calling back for every range; returns the highest CPU or -1 on bad syntax. */
static long walk_cpu_list(const char *list, cpu_set_t *set, size_t size)
{
	const char *s = list;
	long max = -1;

	for (;;) {
		unsigned long lo, hi;

		if (parse_cpu_number(&s, &lo) < 0)
			return -1;
		hi = lo;
		if (*s == '-') {
			s++;
			if (parse_cpu_number(&s, &hi) < 0 || hi < lo)
				return -1;
		}
		for (unsigned long c = lo; set != NULL && c <= hi; c++)
			CPU_SET_S(c, size, set);
		if ((long)hi > max)
			max = (long)hi;
		if (*s == '\0')
			return max;
		if (*s != ',')
			return -1;
		s++;
	}
}

int husk_cpu_list_parse(const char *list, const char *field, cpu_set_t **set, size_t *size,
			husk_error_t *err)
{
	long max = list ? walk_cpu_list(list, NULL, 0) : -1;
	cpu_set_t *s;

	if (max < 0)
		return husk_config_error(err, "%s: invalid CPU list \"%s\"", field,
					 list ? list : "");
	s = CPU_ALLOC((int)max + 1);
	if (s == NULL)
		return husk_error_set(err, ENOMEM, "%s: allocate a CPU set", field);
	*size = CPU_ALLOC_SIZE((int)max + 1);
	CPU_ZERO_S(*size, s);
	walk_cpu_list(list, s, *size);
	*set = s;
	return 0;
}

static void cpu_freep(cpu_set_t **s)
{
	if (*s != NULL)
		CPU_FREE(*s);
}

int husk_cpu_affinity_apply(pid_t pid, const char *list, const char *field, husk_error_t *err)
{
	__attribute__((cleanup(cpu_freep))) cpu_set_t *set = NULL;
	size_t size = 0;

	/* Spec: omitted or empty means the kernel decides. */
	if (list == NULL || *list == '\0')
		return 0;
	if (husk_cpu_list_parse(list, field, &set, &size, err) < 0)
		return -1;
	if (sched_setaffinity(pid, size, set) < 0)
		return husk_error_errno(err, "%s: set CPU affinity to \"%s\"", field, list);
	return 0;
}

/* ---- validation ---- */

static int validate_rlimits(const husk_process_t *p, husk_error_t *err)
{
	for (size_t i = 0; i < p->rlimits_len; i++) {
		const char *type = p->rlimits[i].type;

		if (husk_rlimit_from_name(type) < 0)
			return husk_config_error(err,
						 "process.rlimits[%zu].type: unknown rlimit \"%s\"",
						 i, type ? type : "");
		for (size_t j = 0; j < i; j++)
			if (strcmp(p->rlimits[j].type, type) == 0)
				return husk_config_error(err,
							 "process.rlimits[%zu].type: duplicate "
							 "\"%s\"",
							 i, type);
		/* setrlimit would say EINVAL; name the field instead. */
		if (p->rlimits[i].soft > p->rlimits[i].hard)
			return husk_config_error(err,
						 "process.rlimits[%zu]: soft limit %llu above hard "
						 "limit %llu",
						 i, (unsigned long long)p->rlimits[i].soft,
						 (unsigned long long)p->rlimits[i].hard);
	}
	return 0;
}

static int validate_scheduler(const husk_scheduler_t *s, husk_error_t *err)
{
	if (s == NULL)
		return 0;
	if (LOOKUP(sched_policies, s->policy) < 0)
		return husk_config_error(err, "process.scheduler.policy: unknown policy \"%s\"",
					 s->policy ? s->policy : "");
	for (size_t i = 0; i < s->flags_len; i++)
		if (LOOKUP(sched_flags, s->flags[i]) < 0)
			return husk_config_error(
			    err, "process.scheduler.flags[%zu]: unknown flag \"%s\"", i,
			    s->flags[i]);
	if (s->has_nice && (s->nice < -20 || s->nice > 19))
		return husk_config_error(err, "process.scheduler.nice: %d is out of range -20..19",
					 s->nice);
	return 0;
}

static int validate_io_priority(const husk_io_priority_t *io, husk_error_t *err)
{
	if (io == NULL)
		return 0;
	if (LOOKUP(ioprio_classes, io->class_) < 0)
		return husk_config_error(err, "process.ioPriority.class: unknown class \"%s\"",
					 io->class_ ? io->class_ : "");
	if (io->priority < 0 || io->priority > 7)
		return husk_config_error(
		    err, "process.ioPriority.priority: %d is out of range 0..7", io->priority);
	return 0;
}

static int validate_cpu_list(const char *list, const char *field, husk_error_t *err)
{
	if (list == NULL || *list == '\0')
		return 0;
	if (walk_cpu_list(list, NULL, 0) < 0)
		return husk_config_error(err, "%s: invalid CPU list \"%s\"", field, list);
	return 0;
}

int husk_process_validate(const husk_process_t *p, husk_error_t *err)
{
	husk_cap_sets_t sets;

	if (p == NULL)
		return 0;
	if (husk_caps_to_sets(p->capabilities, &sets, true) < 0 || validate_rlimits(p, err) < 0 ||
	    validate_scheduler(p->scheduler, err) < 0 ||
	    validate_io_priority(p->io_priority, err) < 0)
		return -1;
	if (p->exec_cpu_affinity != NULL &&
	    (validate_cpu_list(p->exec_cpu_affinity->initial, "process.execCPUAffinity.initial",
			       err) < 0 ||
	     validate_cpu_list(p->exec_cpu_affinity->final, "process.execCPUAffinity.final", err) <
		 0))
		return -1;
	return 0;
}

int husk_personality_validate(const husk_personality_t *pers, husk_error_t *err)
{
	if (pers == NULL)
		return 0;
	if (LOOKUP(personality_domains, pers->domain) < 0)
		return husk_config_error(err, "linux.personality.domain: unknown domain \"%s\"",
					 pers->domain ? pers->domain : "");
	/* The spec defines no flag yet; accepting one silently would pretend to apply it. */
	if (pers->flags_len > 0)
		return husk_config_error(err, "linux.personality.flags[0]: unsupported flag \"%s\"",
					 pers->flags[0]);
	return 0;
}

/* ---- step 1: before the rootfs is set up ---- */

static int set_rlimits(const husk_process_t *p, husk_error_t *err)
{
	for (size_t i = 0; i < p->rlimits_len; i++) {
		const husk_rlimit_t *r = &p->rlimits[i];
		int resource = husk_rlimit_from_name(r->type);
		struct rlimit lim = {.rlim_cur = r->soft, .rlim_max = r->hard};

		if (resource < 0)
			return husk_config_error(err,
						 "process.rlimits[%zu].type: unknown rlimit \"%s\"",
						 i, r->type ? r->type : "");
		if (setrlimit(resource, &lim) < 0)
			return husk_error_errno(err, "setrlimit %s (soft %llu, hard %llu)", r->type,
						(unsigned long long)r->soft,
						(unsigned long long)r->hard);
	}
	return 0;
}

static int set_oom_score_adj(const husk_process_t *p, husk_error_t *err)
{
	cleanup_close int fd = -1;
	char buf[32];

	if (!p->has_oom_score_adj)
		return 0;
	fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return husk_error_errno(err, "open \"/proc/self/oom_score_adj\"");
	snprintf(buf, sizeof buf, "%d", p->oom_score_adj);
	if (husk_write_all(fd, buf, strlen(buf)) < 0)
		return husk_error_errno(err, "set oom_score_adj to %d", p->oom_score_adj);
	return 0;
}

/* Our own copy of the kernel's struct: glibc only recently grew one, and the uapi header
 * clashes with <sched.h> on some systems. */
struct husk_sched_attr {
	uint32_t size;
	uint32_t sched_policy;
	uint64_t sched_flags;
	int32_t sched_nice;
	uint32_t sched_priority;
	uint64_t sched_runtime;
	uint64_t sched_deadline;
	uint64_t sched_period;
};

static int set_scheduler(const husk_scheduler_t *s, husk_error_t *err)
{
	struct husk_sched_attr attr = {.size = sizeof attr};
	int policy;

	if (s == NULL)
		return 0;
	policy = LOOKUP(sched_policies, s->policy);
	if (policy < 0)
		return husk_config_error(err, "process.scheduler.policy: unknown policy \"%s\"",
					 s->policy ? s->policy : "");
	attr.sched_policy = (uint32_t)policy;
	for (size_t i = 0; i < s->flags_len; i++) {
		int flag = LOOKUP(sched_flags, s->flags[i]);
		if (flag < 0)
			return husk_config_error(
			    err, "process.scheduler.flags[%zu]: unknown flag \"%s\"", i,
			    s->flags[i]);
		attr.sched_flags |= (uint64_t)flag;
	}
	/* Unset values are 0, as the spec says. */
	attr.sched_nice = s->has_nice ? s->nice : 0;
	attr.sched_priority = s->has_priority ? (uint32_t)s->priority : 0;
	attr.sched_runtime = s->has_runtime ? s->runtime : 0;
	attr.sched_deadline = s->has_deadline ? s->deadline : 0;
	attr.sched_period = s->has_period ? s->period : 0;
	if (syscall(SYS_sched_setattr, 0, &attr, 0) < 0)
		return husk_error_errno(err, "sched_setattr %s (nice %d, priority %u)", s->policy,
					attr.sched_nice, attr.sched_priority);
	return 0;
}

/* IOPRIO_WHO_PROCESS with who = 0 sets the calling process; children inherit it at fork, so
 * the whole container gets it. IOPRIO_WHO_PGRP would also reach whatever else shares our
 * process group before the container makes its own (e.g. the shell running `husk run`). runc
 * and crun use the process too. */
#define HUSK_IOPRIO_WHO_PROCESS 1
#define HUSK_IOPRIO_CLASS_SHIFT 13

static int set_io_priority(const husk_io_priority_t *io, husk_error_t *err)
{
	int class_;

	if (io == NULL)
		return 0;
	class_ = LOOKUP(ioprio_classes, io->class_);
	if (class_ < 0)
		return husk_config_error(err, "process.ioPriority.class: unknown class \"%s\"",
					 io->class_ ? io->class_ : "");
	if (syscall(SYS_ioprio_set, HUSK_IOPRIO_WHO_PROCESS, 0,
		    (class_ << HUSK_IOPRIO_CLASS_SHIFT) | io->priority) < 0)
		return husk_error_errno(err, "ioprio_set %s priority %d", io->class_, io->priority);
	return 0;
}

int husk_process_set_personality(const husk_personality_t *pers, husk_error_t *err)
{
	int domain;

	if (pers == NULL)
		return 0;
	if (husk_personality_validate(pers, err) < 0)
		return -1;
	domain = LOOKUP(personality_domains, pers->domain);
	if (personality((unsigned long)domain) < 0)
		return husk_error_errno(err, "personality %s", pers->domain);
	return 0;
}

int husk_process_setup_early(const husk_process_t *p, husk_error_t *err)
{
	if (set_rlimits(p, err) < 0 || set_oom_score_adj(p, err) < 0 ||
	    set_scheduler(p->scheduler, err) < 0 || set_io_priority(p->io_priority, err) < 0)
		return -1;
	if (p->exec_cpu_affinity != NULL &&
	    husk_cpu_affinity_apply(0, p->exec_cpu_affinity->final, "process.execCPUAffinity.final",
				    err) < 0)
		return -1;
	if (p->user.has_umask)
		umask((mode_t)p->user.umask);
	return 0;
}

/* ---- step 3: who the process is ---- */

/* In a user namespace whose setgroups file says "deny" the kernel refuses setgroups(2). */
static bool setgroups_denied(void)
{
	cleanup_free char *content = NULL;

	if (husk_read_file_at(AT_FDCWD, "/proc/self/setgroups", &content, NULL, NULL) < 0)
		return false;
	return strncmp(content, "deny", 4) == 0;
}

static char *format_gids(const uint32_t *gids, size_t n)
{
	size_t cap = n * 11 + 3;
	char *out = xmalloc0(cap);
	size_t used = 0;

	out[used++] = '[';
	for (size_t i = 0; i < n; i++)
		used += (size_t)snprintf(out + used, cap - used, i ? " %u" : "%u", gids[i]);
	snprintf(out + used, cap - used, "]");
	return out;
}

static int set_groups(const husk_user_t *u, husk_error_t *err)
{
	cleanup_free gid_t *gids = NULL;

	if (setgroups_denied()) {
		/* Nothing asked for: keep going like runc, the groups simply stay as mapped. */
		if (u->additional_gids_len == 0)
			return 0;
		cleanup_free char *list = format_gids(u->additional_gids, u->additional_gids_len);
		return husk_error_set(err, EPERM,
				      "setgroups %s: /proc/self/setgroups is \"deny\" in this user "
				      "namespace",
				      list);
	}
	gids = xmalloc0(sizeof(gid_t) * (u->additional_gids_len + 1));
	for (size_t i = 0; i < u->additional_gids_len; i++)
		gids[i] = u->additional_gids[i];
	/* Called with an empty list too: root's own supplementary groups must not leak in. */
	if (setgroups(u->additional_gids_len, gids) < 0) {
		cleanup_free char *list = format_gids(u->additional_gids, u->additional_gids_len);
		return husk_error_errno(err, "setgroups %s", list);
	}
	return 0;
}

static int switch_ids(const husk_user_t *u, husk_error_t *err)
{
	if (set_groups(u, err) < 0)
		return -1;
	if (setresgid(u->gid, u->gid, u->gid) < 0)
		return husk_error_errno(err, "setresgid %u", u->gid);
	/* Without KEEPCAPS, leaving uid 0 empties the permitted set and the configured
	 * capabilities could not be set afterwards. */
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return husk_error_errno(err, "prctl PR_SET_KEEPCAPS");
	if (setresuid(u->uid, u->uid, u->uid) < 0)
		return husk_error_errno(err, "setresuid %u", u->uid);
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
		return husk_error_errno(err, "prctl PR_SET_KEEPCAPS");
	return 0;
}

int husk_process_set_identity(const husk_process_t *p, husk_error_t *err)
{
	husk_cap_sets_t sets;

	if (husk_caps_to_sets(p->capabilities, &sets, false) < 0)
		return -1;
	if (husk_caps_drop_bounding(&sets, err) < 0)
		return -1;
	if (switch_ids(&p->user, err) < 0)
		return -1;
	return husk_caps_apply(&sets, err);
}

int husk_process_no_new_privs(husk_error_t *err)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return husk_error_errno(err, "prctl PR_SET_NO_NEW_PRIVS");
	return 0;
}

/* ---- step 6: exec ---- */

static const char *env_path(char *const *env)
{
	for (size_t i = 0; env && env[i]; i++)
		if (strncmp(env[i], "PATH=", 5) == 0)
			return env[i] + 5;
	return DEFAULT_PATH;
}

static bool is_executable_file(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111) != 0;
}

int husk_process_find_executable(const char *name, char *const *env, char **out, husk_error_t *err)
{
	const char *path;

	if (name == NULL || *name == '\0')
		return husk_error_set(err, ENOENT, "exec \"\": empty command");
	if (strchr(name, '/') != NULL) {
		*out = xstrdup(name);
		return 0;
	}
	path = env_path(env);
	for (const char *dir = path;; dir++) {
		const char *end = strchrnul(dir, ':');
		/* An empty PATH entry means the current directory, as for execvp. */
		int dirlen = end == dir ? 1 : (int)(end - dir);
		const char *dirname = end == dir ? "." : dir;
		cleanup_free char *candidate = NULL;

		if (asprintf(&candidate, "%.*s/%s", dirlen, dirname, name) < 0)
			return husk_error_set(err, ENOMEM, "exec \"%s\"", name);
		if (is_executable_file(candidate)) {
			*out = steal_pointer(&candidate);
			return 0;
		}
		dir = end;
		if (*end == '\0')
			break;
	}
	husk_error_set(err, 0, "exec \"%s\": executable file not found in $PATH", name);
	if (err != NULL)
		err->errnum = ENOENT;
	return -1;
}

int husk_process_exec(const husk_process_t *p, husk_error_t *err)
{
	static char *const empty_env[] = {NULL};
	cleanup_free char *path = NULL;

	if (p->args == NULL || p->args_len == 0 || p->args[0] == NULL)
		return husk_config_error(err, "process.args: at least one entry is required");
	if (husk_process_find_executable(p->args[0], p->env, &path, err) < 0)
		return -1;
	execve(path, p->args, p->env ? p->env : empty_env);
	return husk_error_errno(err, "exec \"%s\"", path);
}
