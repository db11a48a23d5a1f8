/* husk kill: send a signal to the container. */
#include "config.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "libhusk/utils.h"
#include "libhusk/container.h"
#include "libhusk/signals.h"

int cmd_kill(int argc, char **argv, const husk_globals_t *g)
{
	static const struct option opts[] = {{"all", no_argument, NULL, 'a'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	cleanup_error husk_error_t err = {0};
	bool all = false;
	int c, sig = SIGTERM, nargs;

	while ((c = getopt_long(argc, argv, "+ah", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			all = true;
			break;
		case 'h':
			printf("Usage: husk [GLOBAL OPTIONS] kill [--all] CONTAINER-ID [SIGNAL]\n\n"
			       "Send SIGNAL (default SIGTERM; a name like KILL or SIGKILL, or a "
			       "number)\nto the container's init process, or with --all to every "
			       "process in its cgroup.\n\n"
			       "Options:\n"
			       "  -a, --all                signal every process of the container\n");
			cli_help_footer();
			exit(0);
		default:
			return cli_bad_option("kill", argv);
		}
	}
	nargs = argc - optind;
	if (nargs < 1 || nargs > 2)
		return cli_require_args("kill", nargs, nargs < 1 ? 1 : 2, "container id");
	if (nargs == 2 && husk_signal_parse(argv[optind + 1], &sig, &err) < 0)
		return cli_fail(&err);
	if (husk_container_kill(g->root, argv[optind], sig, all, &err) < 0)
		return cli_fail(&err);
	return 0;
}
