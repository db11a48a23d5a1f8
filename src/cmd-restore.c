/* husk restore: a new container from a bundle, its processes restored by criu. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "cmd-criu-opts.h"
#include "libhusk/checkpoint.h"
#include "libhusk/utils.h"

enum {
	OPT_PID_FILE = OPT_CRIU_END,
	OPT_CONSOLE_SOCKET,
	OPT_NO_PIVOT,
	OPT_NO_SUBREAPER,
};

static void restore_usage(void)
{
	printf(
	    "Usage: husk [GLOBAL OPTIONS] restore [OPTIONS] CONTAINER-ID\n\n"
	    "Create a container from a bundle and restore the processes saved by\n"
	    "'husk checkpoint' into it with criu. In the foreground (the default) husk waits,\n"
	    "forwards signals, deletes the container when it exits and exits with its\n"
	    "status (128+N when killed by signal N).\n\n"
	    "Options:\n"
	    "  -b, --bundle DIR         bundle directory (default: current directory)\n"
	    "      --image-path DIR     where the images are (default ./checkpoint)\n"
	    "      --work-path DIR      where criu writes restore.log (default: the image path)\n"
	    "  -d, --detach             return once the container is restored\n"
	    "      --pid-file FILE      write the restored init's host pid to FILE\n"
	    "      --console-socket S   accepted for runc compatibility: a container with a\n"
	    "                           terminal cannot be restored yet\n"
	    "      --tcp-established    restore established TCP connections\n"
	    "      --ext-unix-sk        allow unix sockets connected outside the container\n"
	    "      --shell-job          allow a process tree attached to a terminal session\n"
	    "      --file-locks         restore file locks\n"
	    "      --manage-cgroups-mode MODE\n"
	    "                           soft (default), full or ignore (strict is refused)\n"
	    "      --no-pivot           accepted for runc compatibility (criu sets the root)\n"
	    "      --no-subreaper       accepted for runc compatibility (the restored init is\n"
	    "                           husk's own child)\n");
	cli_help_footer();
}

int cmd_restore(int argc, char **argv, const husk_globals_t *g)
{
	static const struct option opts[] = {
	    {"bundle", required_argument, NULL, 'b'},
	    {"detach", no_argument, NULL, 'd'},
	    {"pid-file", required_argument, NULL, OPT_PID_FILE},
	    {"console-socket", required_argument, NULL, OPT_CONSOLE_SOCKET},
	    {"no-pivot", no_argument, NULL, OPT_NO_PIVOT},
	    {"no-subreaper", no_argument, NULL, OPT_NO_SUBREAPER},
	    CRIU_LONG_OPTIONS,
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	husk_restore_opts_t o = {.root = g->root, .systemd_cgroup = g->systemd_cgroup};
	cleanup_error husk_error_t err = {0};
	int c, r, status = 0;

	while ((c = getopt_long(argc, argv, "+b:dh", opts, NULL)) != -1) {
		switch (c) {
		case 'b':
			o.bundle = optarg;
			break;
		case 'd':
			o.detach = true;
			break;
		case OPT_PID_FILE:
			o.pid_file = optarg;
			break;
		case OPT_CONSOLE_SOCKET:
			o.console_socket = optarg;
			break;
		case OPT_NO_PIVOT:
		case OPT_NO_SUBREAPER:
			break;
		case 'h':
			restore_usage();
			exit(0);
		default:
			r = parse_criu_opt(c, "restore", &o.criu);
			if (r < 0)
				return 1;
			if (r == 0)
				return cli_bad_option("restore", argv);
		}
	}
	if (cli_require_args("restore", argc - optind, 1, "container id"))
		return 1;
	o.id = argv[optind];
	if (husk_container_restore(&o, &status, &err) < 0)
		return cli_fail(&err);
	return status;
}
