/* husk resume: thaw a paused container. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "libhusk/control.h"
#include "libhusk/utils.h"

int cmd_resume(int argc, char **argv, const husk_globals_t *g)
{
	static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	cleanup_error husk_error_t err = {0};
	int c;

	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		if (c != 'h')
			return cli_bad_option("resume", argv);
		printf("Usage: husk [GLOBAL OPTIONS] resume CONTAINER-ID\n\n"
		       "Thaw every process of a paused container; its status reads \"running\"\n"
		       "again.\n\n"
		       "Options:\n");
		cli_help_footer();
		exit(0);
	}
	if (cli_require_args("resume", argc - optind, 1, "container id"))
		return 1;
	if (husk_container_resume(g->root, argv[optind], &err) < 0)
		return cli_fail(&err);
	return 0;
}
