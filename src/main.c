/* husk: command-line entry point: global options, then one command. */
#include "config.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "libhusk/utils.h"
#include "log.h"
#include "libhusk/container.h"
#include "libhusk/features.h"
#include "libhusk/sealed-exe.h"
#include "libhusk/spec.h"
#include "libhusk/status.h"

static const husk_command_t commands[] = {
	{"create", cmd_create, "create a container", true},
	{"start", cmd_start, "start the user process of a created container"},
	{"run", cmd_run, "create and start a container", true},
	{"exec", cmd_exec, "run a new process inside a running container", true},
	{"kill", cmd_kill, "send a signal to the container's init process"},
	{"delete", cmd_delete, "delete a container and everything it holds"},
	{"state", cmd_state, "print the state of a container"},
	{"list", cmd_list, "list the containers under --root"},
	{"ps", cmd_ps, "list the processes of a container"},
	{"pause", cmd_pause, "freeze every process of a running container"},
	{"resume", cmd_resume, "thaw a paused container"},
	{"update", cmd_update, "change the resource limits of a container"},
	{"events", cmd_events, "print resource usage and OOM events of a container"},
	{"checkpoint", cmd_checkpoint, "save a running container's processes with criu"},
	{"restore", cmd_restore, "restore a checkpointed container with criu"},
	{"spec", cmd_spec, "write a default config.json"},
	{"features", cmd_features, "print what this build of husk supports"},
	{NULL, NULL, NULL, false},
};

static void print_usage(FILE *f)
{
	fprintf(f, "Usage: husk [GLOBAL OPTIONS] COMMAND [OPTIONS] [ARGS]\n\n"
		   "husk is a low-level OCI container runtime (runtime-spec %s).\n\n"
		   "Commands:\n",
		HUSK_OCI_VERSION);
	for (const husk_command_t *c = commands; c->name; c++)
		fprintf(f, "  %-10s %s\n", c->name, c->summary);
	fprintf(f, "\nGlobal options:\n"
		   "  --root DIR            state directory (default %s)\n"
		   "  --log FILE            write log lines to FILE\n"
		   "  --log-format FORMAT   text (default) or json\n"
		   "  --debug               log debug messages\n"
		   "  --systemd-cgroup      cgroupsPath is \"slice:prefix:name\" (systemd form)\n"
		   "  --rootless VALUE      true, false or auto (accepted for runc compatibility)\n"
		   "  -h, --help            show this help\n"
		   "  -v, --version         show the version\n\n"
		   "Run 'husk COMMAND --help' for the options of a command.\n",
		HUSK_DEFAULT_ROOT);
}

static void print_version(void)
{
	printf("husk version %s\ncommit: %s\nspec: %s\n%s\n", PACKAGE_VERSION, GIT_COMMIT,
	       HUSK_OCI_VERSION, husk_build_features());
}

int cli_fail(const husk_error_t *err)
{
	const char *msg = husk_error_msg(err);
	fprintf(stderr, "husk: %s\n", msg);
	husk_log("error", msg);
	return 1;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	char *msg = NULL;
	cleanup_error husk_error_t err = {0};

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	husk_error_set(&err, 0, "%s: %s (see 'husk %s --help')", cmd, msg ? msg : "usage error",
		       cmd);
	free(msg);
	return cli_fail(&err);
}

void cli_help_footer(void)
{
	printf("  -h, --help               show this help\n");
}

int cli_bad_option(const char *cmd, char **argv)
{
	return cli_usage_error(cmd, "unknown option or missing argument: %s", argv[optind - 1]);
}

int cli_require_args(const char *cmd, int have, int want, const char *what)
{
	if (have < want)
		return cli_usage_error(cmd, "missing %s", what);
	if (have > want)
		return cli_usage_error(cmd, "too many arguments");
	return 0;
}

enum { OPT_ROOT = 1000, OPT_LOG, OPT_LOG_FORMAT, OPT_DEBUG, OPT_SYSTEMD, OPT_ROOTLESS };

static int parse_globals(int argc, char **argv, husk_globals_t *g)
{
	static const struct option opts[] = {
		{"root", required_argument, NULL, OPT_ROOT},
		{"log", required_argument, NULL, OPT_LOG},
		{"log-format", required_argument, NULL, OPT_LOG_FORMAT},
		{"debug", no_argument, NULL, OPT_DEBUG},
		{"systemd-cgroup", no_argument, NULL, OPT_SYSTEMD},
		{"rootless", required_argument, NULL, OPT_ROOTLESS},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'v'},
		{NULL, 0, NULL, 0},
	};
	int c;

	while ((c = getopt_long(argc, argv, "+hv", opts, NULL)) != -1) {
		switch (c) {
		case OPT_ROOT:
			g->root = optarg;
			break;
		case OPT_LOG:
			g->log_path = optarg;
			break;
		case OPT_LOG_FORMAT:
			if (strcmp(optarg, "json") != 0 && strcmp(optarg, "text") != 0) {
				fprintf(stderr, "husk: --log-format: unknown format \"%s\" "
						"(text or json)\n", optarg);
				return -1;
			}
			g->log_json = strcmp(optarg, "json") == 0;
			break;
		case OPT_DEBUG:
			g->debug = true;
			break;
		case OPT_SYSTEMD:
			g->systemd_cgroup = true;
			break;
		case OPT_ROOTLESS:
			g->rootless = optarg;
			break;
		case 'h':
			print_usage(stdout);
			exit(0);
		case 'v':
			print_version();
			exit(0);
		default:
			fprintf(stderr, "husk: unknown global option (see 'husk --help')\n");
			return -1;
		}
	}
	return optind;
}

int main(int argc, char **argv)
{
	husk_globals_t g = {.root = HUSK_DEFAULT_ROOT};
	cleanup_error husk_error_t err = {0};
	int first;

	/* Option errors are reported once, in husk's own one-line format. */
	opterr = 0;
	first = parse_globals(argc, argv, &g);

	if (first < 0)
		return 1;
	if (husk_log_open(g.log_path, g.log_json, g.debug) < 0) {
		fprintf(stderr, "husk: --log: cannot open \"%s\"\n", g.log_path);
		return 1;
	}
	husk_set_warning_handler(husk_log_warning_handler);
	if (g.debug)
		husk_set_debug_handler(husk_log_debug_handler);
	if (first >= argc) {
		print_usage(stderr);
		return 1;
	}
	for (const husk_command_t *c = commands; c->name; c++) {
		if (strcmp(c->name, argv[first]) == 0) {
			if (c->joins_container && husk_exec_sealed_self(argv, &err) < 0)
				return cli_fail(&err);
			optind = 1;
			return c->fn(argc - first, argv + first, &g);
		}
	}
	fprintf(stderr, "husk: unknown command \"%s\" (see 'husk --help')\n", argv[first]);
	husk_log("error", "unknown command");
	return 1;
}
