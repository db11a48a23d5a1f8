/* husk checkpoint: dump a running container's processes with criu. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "cmd-criu-opts.h"
#include "libhusk/checkpoint.h"
#include "libhusk/utils.h"

enum {
	OPT_LEAVE_RUNNING = OPT_CRIU_END,
};

static void checkpoint_usage(void)
{
	printf("Usage: husk [GLOBAL OPTIONS] checkpoint [OPTIONS] CONTAINER-ID\n\n"
	       "Save the processes of a running (or paused) container with criu into an image\n"
	       "directory; the container is then deleted unless --leave-running.\n\n"
	       "Options:\n"
	       "      --image-path DIR     where criu writes the images (default ./checkpoint)\n"
	       "      --work-path DIR      where criu writes dump.log (default: the image path)\n"
	       "      --leave-running      keep the container running after the dump\n"
	       "      --tcp-established    dump established TCP connections\n"
	       "      --ext-unix-sk        allow unix sockets connected outside the container\n"
	       "      --shell-job          allow a process tree attached to a terminal session\n"
	       "      --file-locks         dump file locks\n"
	       "      --manage-cgroups-mode MODE\n"
	       "                           soft (default), full, strict or ignore\n");
	cli_help_footer();
}

int cmd_checkpoint(int argc, char **argv, const husk_globals_t *g)
{
	static const struct option opts[] = {
	    {"leave-running", no_argument, NULL, OPT_LEAVE_RUNNING},
	    CRIU_LONG_OPTIONS,
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	husk_checkpoint_opts_t o = {.root = g->root};
	cleanup_error husk_error_t err = {0};
	int c, r;

	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_LEAVE_RUNNING:
			o.leave_running = true;
			break;
		case 'h':
			checkpoint_usage();
			exit(0);
		default:
			r = parse_criu_opt(c, "checkpoint", &o.criu);
			if (r < 0)
				return 1;
			if (r == 0)
				return cli_bad_option("checkpoint", argv);
		}
	}
	if (cli_require_args("checkpoint", argc - optind, 1, "container id"))
		return 1;
	o.id = argv[optind];
	if (husk_container_checkpoint(&o, &err) < 0)
		return cli_fail(&err);
	return 0;
}
