/* husk list: every container under --root. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "libhusk/container.h"
#include "libhusk/json-gen.h"
#include "libhusk/utils.h"

static void print_json(const husk_list_entry_t *e, size_t n)
{
	cleanup_json_gen yajl_gen gen = husk_json_new(false);
	cleanup_free char *out = NULL;

	yajl_gen_array_open(gen);
	for (size_t i = 0; i < n; i++) {
		const husk_state_t *st = &e[i].state;
		bool live = e[i].status != HUSK_STATUS_STOPPED;
		yajl_gen_map_open(gen);
		husk_json_key_str(gen, "ociVersion", HUSK_OCI_VERSION);
		husk_json_key_str(gen, "id", st->id);
		husk_json_key_int(gen, "pid", live ? st->pid : 0);
		husk_json_key_str(gen, "status", husk_status_name(e[i].status));
		husk_json_key_str(gen, "bundle", st->bundle);
		husk_json_key_str(gen, "rootfs", st->rootfs);
		husk_json_key_str(gen, "created", st->created_at);
		husk_json_key_str(gen, "owner", st->owner);
		yajl_gen_map_close(gen);
	}
	yajl_gen_array_close(gen);
	out = husk_json_finish(gen, NULL);
	fputs(out, stdout);
}

static void print_table(const husk_list_entry_t *e, size_t n, bool quiet)
{
	if (!quiet)
		printf("%-20s %-8s %-10s %-40s %-32s %s\n", "ID", "PID", "STATUS", "BUNDLE",
		       "CREATED", "OWNER");
	for (size_t i = 0; i < n; i++) {
		const husk_state_t *st = &e[i].state;
		if (quiet) {
			printf("%s\n", st->id);
			continue;
		}
		printf("%-20s %-8d %-10s %-40s %-32s %s\n", st->id,
		       e[i].status == HUSK_STATUS_STOPPED ? 0 : (int)st->pid,
		       husk_status_name(e[i].status), st->bundle ? st->bundle : "",
		       st->created_at ? st->created_at : "", st->owner ? st->owner : "");
	}
}

int cmd_list(int argc, char **argv, const husk_globals_t *g)
{
	static const struct option opts[] = {{"format", required_argument, NULL, 'f'},
					     {"quiet", no_argument, NULL, 'q'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	cleanup_error husk_error_t err = {0};
	husk_list_entry_t *entries = NULL;
	bool json = false, quiet = false;
	size_t n = 0;
	int c;

	while ((c = getopt_long(argc, argv, "+f:qh", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (strcmp(optarg, "json") != 0 && strcmp(optarg, "table") != 0)
				return cli_usage_error("list", "--format: \"%s\" is not table or "
							       "json", optarg);
			json = strcmp(optarg, "json") == 0;
			break;
		case 'q':
			quiet = true;
			break;
		case 'h':
			printf("Usage: husk [GLOBAL OPTIONS] list [OPTIONS]\n\n"
			       "List the containers under --root.\n\n"
			       "Options:\n"
			       "  -f, --format FORMAT      table (default) or json\n"
			       "  -q, --quiet              print only the ids\n");
			cli_help_footer();
			exit(0);
		default:
			return cli_bad_option("list", argv);
		}
	}
	if (cli_require_args("list", argc - optind, 0, ""))
		return 1;
	if (husk_container_list(g->root, &entries, &n, &err) < 0)
		return cli_fail(&err);
	if (json)
		print_json(entries, n);
	else
		print_table(entries, n, quiet);
	husk_list_free(entries, n);
	return 0;
}
