/* husk start: release a created container's process. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "libhusk/utils.h"
#include "libhusk/container.h"

int cmd_start(int argc, char **argv, const husk_globals_t *g)
{
	static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	cleanup_error husk_error_t err = {0};
	int c;

	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		if (c != 'h')
			return cli_bad_option("start", argv);
		printf("Usage: husk [GLOBAL OPTIONS] start CONTAINER-ID\n\n"
		       "Start the user process of a created container (exactly once).\n\n"
		       "Options:\n");
		cli_help_footer();
		exit(0);
	}
	if (cli_require_args("start", argc - optind, 1, "container id"))
		return 1;
	if (husk_container_start(g->root, argv[optind], &err) < 0)
		return cli_fail(&err);
	return 0;
}
