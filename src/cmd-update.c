/* husk update: change the resource limits of a live container. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "libhusk/control.h"
#include "libhusk/spec.h"
#include "libhusk/utils.h"

enum {
	OPT_MEMORY = 1000,
	OPT_MEMORY_RESERVATION,
	OPT_MEMORY_SWAP,
	OPT_CPU_SHARES,
	OPT_CPU_QUOTA,
	OPT_CPU_PERIOD,
	OPT_CPU_BURST,
	OPT_CPU_IDLE,
	OPT_CPU_RT_RUNTIME,
	OPT_CPU_RT_PERIOD,
	OPT_CPUSET_CPUS,
	OPT_CPUSET_MEMS,
	OPT_PIDS_LIMIT,
	OPT_BLKIO_WEIGHT,
	OPT_LAST,
};

#define N_FLAGS (OPT_LAST - OPT_MEMORY)

static const struct option update_opts[] = {
    {"resources", required_argument, NULL, 'r'},
    {"memory", required_argument, NULL, OPT_MEMORY},
    {"memory-reservation", required_argument, NULL, OPT_MEMORY_RESERVATION},
    {"memory-swap", required_argument, NULL, OPT_MEMORY_SWAP},
    {"cpu-shares", required_argument, NULL, OPT_CPU_SHARES},
    {"cpu-share", required_argument, NULL, OPT_CPU_SHARES}, /* runc's spelling */
    {"cpu-quota", required_argument, NULL, OPT_CPU_QUOTA},
    {"cpu-period", required_argument, NULL, OPT_CPU_PERIOD},
    {"cpu-burst", required_argument, NULL, OPT_CPU_BURST},
    {"cpu-idle", required_argument, NULL, OPT_CPU_IDLE},
    {"cpu-rt-runtime", required_argument, NULL, OPT_CPU_RT_RUNTIME},
    {"cpu-rt-period", required_argument, NULL, OPT_CPU_RT_PERIOD},
    {"cpuset-cpus", required_argument, NULL, OPT_CPUSET_CPUS},
    {"cpuset-mems", required_argument, NULL, OPT_CPUSET_MEMS},
    {"pids-limit", required_argument, NULL, OPT_PIDS_LIMIT},
    {"blkio-weight", required_argument, NULL, OPT_BLKIO_WEIGHT},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static void print_help(void)
{
	printf("Usage: husk [GLOBAL OPTIONS] update [OPTIONS] CONTAINER-ID\n\n"
	       "Change the cgroup limits of a created, running or paused container.\n"
	       "The values of --resources (a linux.resources JSON object; - reads stdin)\n"
	       "are applied first, overridden by the flags. The saved config.json is not\n"
	       "rewritten: 'husk events --stats' shows the live values.\n\n"
	       "Options:\n"
	       "  -r, --resources FILE         linux.resources JSON (- for stdin)\n"
	       "  --memory SIZE                memory limit (e.g. 64m, 1g; -1 unlimited)\n"
	       "  --memory-reservation SIZE    memory soft limit\n"
	       "  --memory-swap SIZE           memory+swap limit (-1 unlimited)\n"
	       "  --cpu-shares N               CPU shares (relative weight); also --cpu-share\n"
	       "  --cpu-quota N                CFS quota in microseconds per period (-1 none)\n"
	       "  --cpu-period N               CFS period in microseconds\n"
	       "  --cpu-burst N                CFS burst in microseconds\n"
	       "  --cpu-idle N                 1: SCHED_IDLE for the cgroup\n"
	       "  --cpu-rt-runtime N           realtime runtime in microseconds per period\n"
	       "  --cpu-rt-period N            realtime period in microseconds\n"
	       "  --cpuset-cpus LIST           CPUs allowed (e.g. 0-1,3)\n"
	       "  --cpuset-mems LIST           memory nodes allowed\n"
	       "  --pids-limit N               maximum number of tasks (-1: unlimited)\n"
	       "  --blkio-weight N             block IO weight (10-1000)\n"
	       "  -h, --help                   show this help\n\n"
	       "SIZE is bytes, or a number with a k, m, g, t or p suffix (powers of 1024; an\n"
	       "optional trailing b or ib is accepted, as runc does). A --pids-limit of 0 is a\n"
	       "real limit (runtime-spec); any negative value means unlimited.\n");
}

/* "64m", "1.5g", "512 KiB", "1024": runc's (docker's RAMInBytes) sizes, in powers of 1024. */
static int parse_size(const char *s, int64_t *out)
{
	static const char units[] = "kmgtp";
	const char *p = s;
	double v, mult = 1;
	char *end;

	if (strcmp(s, "-1") == 0) {
		*out = -1;
		return 0;
	}
	if (!isdigit((unsigned char)*p))
		return -1;
	while (isdigit((unsigned char)*p) || *p == '.')
		p++;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end != p)
		return -1;
	if (*p == ' ')
		p++;
	if (*p && strchr(units, tolower((unsigned char)*p))) {
		for (const char *u = units; *u; u++) {
			mult *= 1024;
			if (*u == tolower((unsigned char)*p))
				break;
		}
		p++;
		if (*p == 'i' || *p == 'I')
			p++;
	}
	if (*p == 'b' || *p == 'B')
		p++;
	if (*p != '\0' || v * mult >= 9223372036854775807.0)
		return -1;
	*out = (int64_t)(v * mult);
	return 0;
}

static int parse_i64(const char *s, int64_t *out)
{
	long long v;

	if (husk_parse_int64(s, &v) < 0)
		return -1;
	*out = v;
	return 0;
}

static int parse_u64(const char *s, uint64_t *out)
{
	int64_t v;

	if (parse_i64(s, &v) < 0 || v < 0)
		return -1;
	*out = (uint64_t)v;
	return 0;
}

static int bad_value(const char *flag, const char *value, const char *what)
{
	return cli_usage_error("update", "--%s: \"%s\" is not %s", flag, value, what);
}

static const char *flag_name(int opt)
{
	for (const struct option *o = update_opts; o->name; o++)
		if (o->val == opt)
			return o->name;
	return "?";
}

static husk_memory_t *memory_of(husk_resources_t *r)
{
	if (r->memory == NULL)
		r->memory = xmalloc0(sizeof *r->memory);
	return r->memory;
}

static husk_cpu_t *cpu_of(husk_resources_t *r)
{
	if (r->cpu == NULL)
		r->cpu = xmalloc0(sizeof *r->cpu);
	return r->cpu;
}

static int apply_memory_flag(husk_resources_t *r, int opt, const char *v)
{
	husk_memory_t *m;
	int64_t n;

	if (parse_size(v, &n) < 0)
		return bad_value(flag_name(opt), v, "a size (e.g. 64m)");
	m = memory_of(r);
	switch (opt) {
	case OPT_MEMORY:
		m->has_limit = true;
		m->limit = n;
		break;
	case OPT_MEMORY_RESERVATION:
		m->has_reservation = true;
		m->reservation = n;
		break;
	default:
		m->has_swap = true;
		m->swap = n;
	}
	return 0;
}

static int apply_cpu_string(husk_resources_t *r, int opt, const char *v)
{
	husk_cpu_t *c = cpu_of(r);
	char **field = opt == OPT_CPUSET_CPUS ? &c->cpus : &c->mems;

	free(*field);
	*field = xstrdup(v);
	return 0;
}

static int apply_signed_flag(husk_resources_t *r, int opt, const char *v)
{
	int64_t n;

	if (parse_i64(v, &n) < 0)
		return bad_value(flag_name(opt), v, "an integer");
	switch (opt) {
	case OPT_CPU_QUOTA:
		cpu_of(r)->has_quota = true;
		cpu_of(r)->quota = n;
		break;
	case OPT_CPU_IDLE:
		cpu_of(r)->has_idle = true;
		cpu_of(r)->idle = n;
		break;
	case OPT_CPU_RT_RUNTIME:
		cpu_of(r)->has_realtime_runtime = true;
		cpu_of(r)->realtime_runtime = n;
		break;
	default: /* OPT_PIDS_LIMIT */
		r->has_pids_limit = true;
		r->pids_limit = n;
	}
	return 0;
}

static int apply_blkio_weight(husk_resources_t *r, const char *v)
{
	uint64_t n;

	if (parse_u64(v, &n) < 0 || n > UINT16_MAX)
		return bad_value("blkio-weight", v, "a weight (10-1000)");
	if (r->block_io == NULL)
		r->block_io = xmalloc0(sizeof *r->block_io);
	r->block_io->has_weight = true;
	r->block_io->weight = (uint16_t)n;
	return 0;
}

static int apply_unsigned_flag(husk_resources_t *r, int opt, const char *v)
{
	uint64_t n;

	if (parse_u64(v, &n) < 0)
		return bad_value(flag_name(opt), v, "a non-negative integer");
	switch (opt) {
	case OPT_CPU_SHARES:
		cpu_of(r)->has_shares = true;
		cpu_of(r)->shares = n;
		break;
	case OPT_CPU_PERIOD:
		cpu_of(r)->has_period = true;
		cpu_of(r)->period = n;
		break;
	case OPT_CPU_BURST:
		cpu_of(r)->has_burst = true;
		cpu_of(r)->burst = n;
		break;
	default: /* OPT_CPU_RT_PERIOD */
		cpu_of(r)->has_realtime_period = true;
		cpu_of(r)->realtime_period = n;
	}
	return 0;
}

static int apply_flag(husk_resources_t *r, int opt, const char *v)
{
	switch (opt) {
	case OPT_MEMORY:
	case OPT_MEMORY_RESERVATION:
	case OPT_MEMORY_SWAP:
		return apply_memory_flag(r, opt, v);
	case OPT_CPUSET_CPUS:
	case OPT_CPUSET_MEMS:
		return apply_cpu_string(r, opt, v);
	case OPT_CPU_QUOTA:
	case OPT_CPU_IDLE:
	case OPT_CPU_RT_RUNTIME:
	case OPT_PIDS_LIMIT:
		return apply_signed_flag(r, opt, v);
	case OPT_BLKIO_WEIGHT:
		return apply_blkio_weight(r, v);
	default:
		return apply_unsigned_flag(r, opt, v);
	}
}

static int read_stdin(char **out, size_t *len, husk_error_t *err)
{
	size_t cap = 4096, used = 0;
	cleanup_free char *buf = xmalloc0(cap);

	for (;;) {
		ssize_t n;
		if (used + 1 >= cap) {
			char *nb = realloc(buf, cap * 2);
			if (nb == NULL)
				abort();
			buf = nb;
			cap *= 2;
		}
		n = read(STDIN_FILENO, buf + used, cap - used - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return husk_error_errno(err, "--resources: read stdin");
		if (n == 0)
			break;
		used += (size_t)n;
	}
	buf[used] = '\0';
	*len = used;
	*out = steal_pointer(&buf);
	return 0;
}

static int load_resources(const char *file, husk_resources_t **out, husk_error_t *err)
{
	cleanup_free char *text = NULL;
	size_t len = 0;
	bool from_stdin = strcmp(file, "-") == 0;

	if (from_stdin ? read_stdin(&text, &len, err) < 0
		       : husk_read_file_at(AT_FDCWD, file, &text, &len, err) < 0)
		return from_stdin ? -1 : husk_error_wrap(err, "--resources");
	return husk_resources_parse(text, len, from_stdin ? "stdin" : file, out, err);
}

int cmd_update(int argc, char **argv, const husk_globals_t *g)
{
	cleanup_error husk_error_t err = {0};
	cleanup_resources husk_resources_t *res = NULL;
	const char *flags[N_FLAGS] = {0};
	const char *resources_file = NULL;
	int c;

	while ((c = getopt_long(argc, argv, "+r:h", update_opts, NULL)) != -1) {
		if (c == 'h') {
			print_help();
			exit(0);
		} else if (c == 'r') {
			resources_file = optarg;
		} else if (c >= OPT_MEMORY && c < OPT_LAST) {
			flags[c - OPT_MEMORY] = optarg;
		} else {
			return cli_bad_option("update", argv);
		}
	}
	if (cli_require_args("update", argc - optind, 1, "container id"))
		return 1;
	if (resources_file && load_resources(resources_file, &res, &err) < 0)
		return cli_fail(&err);
	if (res == NULL)
		res = xmalloc0(sizeof *res);
	for (int i = 0; i < N_FLAGS; i++)
		if (flags[i] && apply_flag(res, OPT_MEMORY + i, flags[i]) != 0)
			return 1;
	if (husk_container_update(g->root, argv[optind], res, &err) < 0)
		return cli_fail(&err);
	return 0;
}
