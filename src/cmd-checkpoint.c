/* husk checkpoint: dump a running container's processes with criu. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "libhusk/checkpoint.h"
#include "libhusk/utils.h"

enum {
	OPT_IMAGE_PATH = 1000,
	OPT_WORK_PATH,
	OPT_LEAVE_RUNNING,
	OPT_TCP_ESTABLISHED,
	OPT_EXT_UNIX_SK,
	OPT_SHELL_JOB,
	OPT_FILE_LOCKS,
	OPT_CGROUPS_MODE,
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
	    {"image-path", required_argument, NULL, OPT_IMAGE_PATH},
	    {"work-path", required_argument, NULL, OPT_WORK_PATH},
	    {"leave-running", no_argument, NULL, OPT_LEAVE_RUNNING},
	    {"tcp-established", no_argument, NULL, OPT_TCP_ESTABLISHED},
	    {"ext-unix-sk", no_argument, NULL, OPT_EXT_UNIX_SK},
	    {"shell-job", no_argument, NULL, OPT_SHELL_JOB},
	    {"file-locks", no_argument, NULL, OPT_FILE_LOCKS},
	    {"manage-cgroups-mode", required_argument, NULL, OPT_CGROUPS_MODE},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	husk_checkpoint_opts_t o = {.root = g->root};
	cleanup_error husk_error_t err = {0};
	int c;

	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_IMAGE_PATH:
			o.criu.image_path = optarg;
			break;
		case OPT_WORK_PATH:
			o.criu.work_path = optarg;
			break;
		case OPT_LEAVE_RUNNING:
			o.leave_running = true;
			break;
		case OPT_TCP_ESTABLISHED:
			o.criu.tcp_established = true;
			break;
		case OPT_EXT_UNIX_SK:
			o.criu.ext_unix_sk = true;
			break;
		case OPT_SHELL_JOB:
			o.criu.shell_job = true;
			break;
		case OPT_FILE_LOCKS:
			o.criu.file_locks = true;
			break;
		case OPT_CGROUPS_MODE:
			if (husk_criu_cgroups_mode_parse(optarg, &o.criu.cgroups_mode, &err) < 0)
				return cli_usage_error("checkpoint", "%s", husk_error_msg(&err));
			break;
		case 'h':
			checkpoint_usage();
			exit(0);
		default:
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
