/* husk CLI: the criu options checkpoint and restore share. */
#include "config.h"
#include "cmd-criu-opts.h"

#include <stdbool.h>

#include "cli.h"
#include "libhusk/utils.h"

int parse_criu_opt(int c, const char *cmd, husk_criu_opts_t *o)
{
	cleanup_error husk_error_t err = {0};

	switch (c) {
	case OPT_CRIU_IMAGE_PATH:
		o->image_path = optarg;
		return 1;
	case OPT_CRIU_WORK_PATH:
		o->work_path = optarg;
		return 1;
	case OPT_CRIU_TCP_ESTABLISHED:
		o->tcp_established = true;
		return 1;
	case OPT_CRIU_EXT_UNIX_SK:
		o->ext_unix_sk = true;
		return 1;
	case OPT_CRIU_SHELL_JOB:
		o->shell_job = true;
		return 1;
	case OPT_CRIU_FILE_LOCKS:
		o->file_locks = true;
		return 1;
	case OPT_CRIU_CGROUPS_MODE:
		if (husk_criu_cgroups_mode_parse(optarg, &o->cgroups_mode, &err) < 0) {
			cli_usage_error(cmd, "%s", husk_error_msg(&err));
			return -1;
		}
		return 1;
	}
	return 0;
}
