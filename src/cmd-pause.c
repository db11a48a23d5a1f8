/* husk pause: freeze every process of a running container. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "libhusk/control.h"
#include "libhusk/utils.h"

int cmd_pause(int argc, char **argv, const husk_globals_t *g)
{
	static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	cleanup_error husk_error_t err = {0};
	int c;

	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		if (c != 'h')
			return cli_bad_option("pause", argv);
		printf("Usage: husk [GLOBAL OPTIONS] pause CONTAINER-ID\n\n"
		       "Freeze every process of a running container (its cgroup's freezer);\n"
		       "its status then reads \"paused\" until 'husk resume'.\n\n"
		       "Options:\n");
		cli_help_footer();
		exit(0);
	}
	if (cli_require_args("pause", argc - optind, 1, "container id"))
		return 1;
	if (husk_container_pause(g->root, argv[optind], &err) < 0)
		return cli_fail(&err);
	return 0;
}
