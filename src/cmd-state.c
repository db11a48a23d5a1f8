/* husk state: the OCI state of a container. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "libhusk/utils.h"
#include "libhusk/container.h"

int cmd_state(int argc, char **argv, const husk_globals_t *g)
{
	static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	cleanup_error husk_error_t err = {0};
	char *json = NULL;
	int c;

	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		if (c != 'h')
			return cli_bad_option("state", argv);
		printf("Usage: husk [GLOBAL OPTIONS] state CONTAINER-ID\n\n"
		       "Print the state of a container as JSON (runtime-spec \"State\").\n\n"
		       "Options:\n");
		cli_help_footer();
		exit(0);
	}
	if (cli_require_args("state", argc - optind, 1, "container id"))
		return 1;
	if (husk_container_state(g->root, argv[optind], &json, &err) < 0)
		return cli_fail(&err);
	fputs(json, stdout);
	free(json);
	return 0;
}
