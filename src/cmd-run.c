/* husk run: create + start (+ wait and delete in the foreground). */
#include "config.h"

#include "cli.h"
#include "libhusk/utils.h"
#include "cmd-create-opts.h"
#include "libhusk/container.h"

int cmd_run(int argc, char **argv, const husk_globals_t *g)
{
	husk_create_opts_t o;
	cleanup_error husk_error_t err = {0};
	bool detach = false, keep = false;
	int status = 0;

	if (parse_create_opts(argc, argv, g, &o, &detach, &keep))
		return 1;
	if (husk_container_run(&o, detach, keep, &status, &err) < 0)
		return cli_fail(&err);
	return status;
}
