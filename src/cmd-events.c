/* husk events: resource usage and OOM notices of a container, as runc prints them. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "libhusk/control.h"
#include "libhusk/utils.h"

#define DEFAULT_INTERVAL_MS 5000

/* A Go duration as runc takes it: "5s", "250ms", "1m30s", "1.5h"; units ns us µs ms s m h. */
static int parse_duration_ms(const char *s, unsigned *out)
{
	static const struct {
		const char *name;
		double ms;
	} units[] = {{"ns", 1e-6}, {"us", 1e-3}, {"\xc2\xb5s", 1e-3}, {"ms", 1},
		     {"s", 1000},  {"m", 60000}, {"h", 3600000}};
	const char *p = s;
	double total = 0;

	if (strcmp(s, "0") == 0 || *s == '\0')
		return -1;
	while (*p) {
		char *end;
		double v;
		size_t best = 0, which = 0;

		if (!isdigit((unsigned char)*p) && *p != '.')
			return -1;
		errno = 0;
		v = strtod(p, &end);
		if (errno || end == p)
			return -1;
		p = end;
		/* The longest matching unit: "ms" before "m". */
		for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
			size_t n = strlen(units[i].name);
			if (strncmp(p, units[i].name, n) == 0 && n > best) {
				best = n;
				which = i;
			}
		}
		if (best == 0)
			return -1;
		total += v * units[which].ms;
		p += best;
	}
	if (total <= 0 || total > 4000000000.0)
		return -1;
	/* Sub-millisecond intervals round up: the loop cannot tick faster anyway. */
	*out = total < 1 ? 1 : (unsigned)total;
	return 0;
}

static int print_event(const husk_event_t *ev, void *data, husk_error_t *err)
{
	cleanup_free char *json = husk_event_json(ev);

	(void)data;
	if (fputs(json, stdout) == EOF || fputc('\n', stdout) == EOF || fflush(stdout) == EOF)
		return husk_error_errno(err, "events: write to stdout");
	return 0;
}

static int print_stats_once(const char *root, const char *id, husk_error_t *err)
{
	husk_cgroup_stats_t st;
	husk_event_t ev = {.type = HUSK_EVENT_STATS, .id = id, .stats = &st};

	if (husk_container_stats(root, id, &st, err) < 0)
		return -1;
	return print_event(&ev, NULL, err);
}

static void print_help(void)
{
	printf(
	    "Usage: husk [GLOBAL OPTIONS] events [--stats] [--interval DURATION] CONTAINER-ID\n\n"
	    "Print the container's events as JSON lines, as runc does:\n"
	    "  {\"type\":\"stats\",\"id\":ID,\"data\":{\"cpu\":..,\"memory\":..,\"pids\":..}}\n"
	    "every --interval (default 5s; Go durations: 500ms, 1m30s, ...), and\n"
	    "  {\"type\":\"oom\",\"id\":ID}\n"
	    "when a process of the container is OOM-killed, until the container's init\n"
	    "exits. --stats prints one stats event and exits.\n\n"
	    "Options:\n"
	    "      --stats              print one stats event and exit\n"
	    "      --interval DURATION  time between stats events (default 5s)\n");
	cli_help_footer();
}

int cmd_events(int argc, char **argv, const husk_globals_t *g)
{
	static const struct option opts[] = {{"stats", no_argument, NULL, 's'},
					     {"interval", required_argument, NULL, 'i'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	cleanup_error husk_error_t err = {0};
	unsigned interval_ms = DEFAULT_INTERVAL_MS;
	bool stats = false;
	int c;

	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			stats = true;
			break;
		case 'i':
			if (parse_duration_ms(optarg, &interval_ms) < 0)
				return cli_usage_error("events",
						       "--interval: \"%s\" is not a positive "
						       "duration (e.g. 5s, 500ms)",
						       optarg);
			break;
		case 'h':
			print_help();
			exit(0);
		default:
			return cli_bad_option("events", argv);
		}
	}
	if (cli_require_args("events", argc - optind, 1, "container id"))
		return 1;
	if (stats) {
		if (print_stats_once(g->root, argv[optind], &err) < 0)
			return cli_fail(&err);
		return 0;
	}
	if (husk_container_events(g->root, argv[optind], interval_ms, print_event, NULL, &err) < 0)
		return cli_fail(&err);
	return 0;
}
