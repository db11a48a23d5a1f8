/* husk delete: remove a stopped container (or any, with --force). */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "libhusk/utils.h"
#include "libhusk/container.h"

int cmd_delete(int argc, char **argv, const husk_globals_t *g)
{
	static const struct option opts[] = {{"force", no_argument, NULL, 'f'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	cleanup_error husk_error_t err = {0};
	bool force = false;
	int c;

	while ((c = getopt_long(argc, argv, "+fh", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			force = true;
			break;
		case 'h':
			printf("Usage: husk [GLOBAL OPTIONS] delete [--force] CONTAINER-ID\n\n"
			       "Delete a stopped or created container: its cgroup, its state, and\n"
			       "the poststop hooks.\n\n"
			       "Options:\n"
			       "  -f, --force              kill a running or paused container first\n");
			cli_help_footer();
			exit(0);
		default:
			return cli_bad_option("delete", argv);
		}
	}
	if (cli_require_args("delete", argc - optind, 1, "container id"))
		return 1;
	if (husk_container_delete(g->root, argv[optind], force, &err) < 0)
		return cli_fail(&err);
	return 0;
}
