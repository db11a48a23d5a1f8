/* husk create / run: the options they share, and create itself. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "libhusk/utils.h"
#include "cmd-create-opts.h"
#include "libhusk/container.h"

static void create_usage(const char *cmd, FILE *f)
{
	bool run = strcmp(cmd, "run") == 0;
	fprintf(f,
		"Usage: husk [GLOBAL OPTIONS] %s [OPTIONS] CONTAINER-ID\n\n"
		"%s\n\n"
		"Options:\n"
		"  -b, --bundle DIR         bundle directory (default: current directory)\n"
		"      --pid-file FILE      write the container process's host pid to FILE\n"
		"      --console-socket S   send the pty master to the AF_UNIX socket S\n"
		"      --no-pivot           use MS_MOVE + chroot instead of pivot_root\n"
		"      --no-new-keyring     keep the caller's session keyring\n"
		"      --preserve-fds N     pass N extra fds (from fd 3) to the process\n"
		"      --no-subreaper       accepted for runc compatibility (husk never\n"
		"                           becomes a subreaper)\n"
		"%s"
		"  -h, --help               show this help\n",
		cmd,
		run ? "Create and start a container. In the foreground (the default) husk waits,\n"
		      "forwards signals, deletes the container when it exits and exits with its\n"
		      "status (128+N when killed by signal N)."
		    : "Create a container: its process waits until 'husk start'.",
		run ? "  -d, --detach             return once the container is started\n"
		      "      --keep               do not delete the container when it exits\n"
		    : "");
}

int parse_create_opts(int argc, char **argv, const husk_globals_t *g, husk_create_opts_t *o,
		      bool *detach, bool *keep)
{
	static const struct option opts[] = {
		{"bundle", required_argument, NULL, 'b'},
		{"pid-file", required_argument, NULL, 'p'},
		{"console-socket", required_argument, NULL, 'c'},
		{"no-pivot", no_argument, NULL, 'P'},
		{"no-new-keyring", no_argument, NULL, 'K'},
		{"preserve-fds", required_argument, NULL, 'f'},
		{"detach", no_argument, NULL, 'd'},
		{"no-subreaper", no_argument, NULL, 'S'},
		{"keep", no_argument, NULL, 'k'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *cmd = argv[0];
	int c;

	memset(o, 0, sizeof *o);
	o->root = g->root;
	o->systemd_cgroup = g->systemd_cgroup;
	while ((c = getopt_long(argc, argv, "+b:dh", opts, NULL)) != -1) {
		switch (c) {
		case 'b':
			o->bundle = optarg;
			break;
		case 'p':
			o->pid_file = optarg;
			break;
		case 'c':
			o->console_socket = optarg;
			break;
		case 'P':
			o->no_pivot = true;
			break;
		case 'K':
			o->no_new_keyring = true;
			break;
		case 'f': {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || v < 0 || v > 10000)
				return cli_usage_error(cmd, "--preserve-fds: invalid number \"%s\"",
						       optarg);
			o->preserve_fds = (int)v;
			break;
		}
		case 'd':
			if (detach == NULL)
				return cli_usage_error(cmd, "unknown option --detach");
			*detach = true;
			break;
		case 'S':
			/* runc's option; husk's foreground run waits for its own child. */
			break;
		case 'k':
			if (keep == NULL)
				return cli_usage_error(cmd, "unknown option --keep");
			*keep = true;
			break;
		case 'h':
			create_usage(cmd, stdout);
			exit(0);
		default:
			return cli_bad_option(cmd, argv);
		}
	}
	if (cli_require_args(cmd, argc - optind, 1, "container id"))
		return 1;
	o->id = argv[optind];
	return 0;
}

int cmd_create(int argc, char **argv, const husk_globals_t *g)
{
	husk_create_opts_t o;
	cleanup_error husk_error_t err = {0};

	if (parse_create_opts(argc, argv, g, &o, NULL, NULL))
		return 1;
	if (husk_container_create(&o, NULL, &err) < 0)
		return cli_fail(&err);
	return 0;
}
