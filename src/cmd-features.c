/* husk features: what this build implements, as features.md describes. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "libhusk/features.h"

int cmd_features(int argc, char **argv, const husk_globals_t *g)
{
	static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	char *json;
	int c;

	(void)g;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		if (c != 'h')
			return cli_bad_option("features", argv);
		printf("Usage: husk [GLOBAL OPTIONS] features\n\n"
		       "Print the features of this build as JSON (runtime-spec features.md).\n\n"
		       "Options:\n");
		cli_help_footer();
		exit(0);
	}
	if (cli_require_args("features", argc - optind, 0, ""))
		return 1;
	json = husk_features_json();
	fputs(json, stdout);
	free(json);
	return 0;
}
