/* husk spec: write a default config.json into the bundle. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "libhusk/spec.h"
#include "libhusk/utils.h"

int cmd_spec(int argc, char **argv, const husk_globals_t *g)
{
	static const struct option opts[] = {{"bundle", required_argument, NULL, 'b'},
					     {"rootless", no_argument, NULL, 'r'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	const char *bundle = ".";
	bool rootless = false;
	cleanup_error husk_error_t err = {0};
	cleanup_free char *json = NULL;
	cleanup_close int dfd = -1;
	cleanup_close int fd = -1;
	int c;

	(void)g;
	while ((c = getopt_long(argc, argv, "+b:h", opts, NULL)) != -1) {
		switch (c) {
		case 'b':
			bundle = optarg;
			break;
		case 'r':
			rootless = true;
			break;
		case 'h':
			printf("Usage: husk [GLOBAL OPTIONS] spec [--bundle DIR] [--rootless]\n\n"
			       "Write a default config.json (runtime-spec %s) into DIR (default: "
			       "the current\ndirectory). --rootless writes the variant with a user "
			       "namespace mapping\nthe caller's ids.\n\n"
			       "Options:\n"
			       "  -b, --bundle DIR         where to write config.json\n"
			       "      --rootless           the rootless variant\n",
			       HUSK_OCI_VERSION);
			cli_help_footer();
			exit(0);
		default:
			return cli_bad_option("spec", argv);
		}
	}
	if (cli_require_args("spec", argc - optind, 0, ""))
		return 1;
	dfd = open(bundle, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		husk_error_errno(&err, "bundle \"%s\"", bundle);
		return cli_fail(&err);
	}
	fd = openat(dfd, "config.json", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		if (errno == EEXIST)
			husk_error_set(&err, 0, "%s/config.json exists: remove it first", bundle);
		else
			husk_error_errno(&err, "create %s/config.json", bundle);
		return cli_fail(&err);
	}
	json = husk_spec_default_json(rootless, getuid(), getgid());
	if (husk_write_all(fd, json, strlen(json)) < 0) {
		husk_error_errno(&err, "write %s/config.json", bundle);
		return cli_fail(&err);
	}
	return 0;
}
