/* husk ps: the processes of a container. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "libhusk/utils.h"
#include "libhusk/container.h"

static void print_ps_table(const pid_t *pids, size_t n)
{
	printf("%-8s %s\n", "PID", "CMD");
	for (size_t i = 0; i < n; i++) {
		char path[64], cmd[256] = "";
		FILE *f;
		snprintf(path, sizeof path, "/proc/%d/comm", (int)pids[i]);
		f = fopen(path, "re");
		if (f) {
			if (fgets(cmd, sizeof cmd, f))
				cmd[strcspn(cmd, "\n")] = '\0';
			fclose(f);
		}
		printf("%-8d %s\n", (int)pids[i], cmd);
	}
}

int cmd_ps(int argc, char **argv, const husk_globals_t *g)
{
	static const struct option opts[] = {{"format", required_argument, NULL, 'f'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	cleanup_error husk_error_t err = {0};
	bool json = false;
	pid_t *pids = NULL;
	size_t n = 0;
	int c;

	while ((c = getopt_long(argc, argv, "+f:h", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (strcmp(optarg, "json") != 0 && strcmp(optarg, "table") != 0)
				return cli_usage_error("ps", "--format: \"%s\" is not table or json",
						       optarg);
			json = strcmp(optarg, "json") == 0;
			break;
		case 'h':
			printf("Usage: husk [GLOBAL OPTIONS] ps [OPTIONS] CONTAINER-ID\n\n"
			       "List the host pids of the container's processes.\n\n"
			       "Options:\n"
			       "  -f, --format FORMAT      table (default) or json\n");
			cli_help_footer();
			exit(0);
		default:
			return cli_bad_option("ps", argv);
		}
	}
	if (argc - optind < 1)
		return cli_require_args("ps", 0, 1, "container id");
	if (husk_container_ps(g->root, argv[optind], &pids, &n, &err) < 0)
		return cli_fail(&err);
	if (json) {
		printf("[");
		for (size_t i = 0; i < n; i++)
			printf("%s%d", i ? "," : "", (int)pids[i]);
		printf("]\n");
	} else {
		print_ps_table(pids, n);
	}
	free(pids);
	return 0;
}
