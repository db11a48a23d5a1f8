/* husk CLI: the criu options checkpoint and restore share (as runc names them). */
#ifndef HUSK_CMD_CRIU_OPTS_H
#define HUSK_CMD_CRIU_OPTS_H

#include <getopt.h>

#include "libhusk/checkpoint.h"

enum {
	OPT_CRIU_IMAGE_PATH = 1000,
	OPT_CRIU_WORK_PATH,
	OPT_CRIU_TCP_ESTABLISHED,
	OPT_CRIU_EXT_UNIX_SK,
	OPT_CRIU_SHELL_JOB,
	OPT_CRIU_FILE_LOCKS,
	OPT_CRIU_CGROUPS_MODE,
	OPT_CRIU_END, /* a command's own options start here */
};

/* Their getopt_long entries, to put in a command's option table. */
#define CRIU_LONG_OPTIONS                                                                          \
	{"image-path", required_argument, NULL, OPT_CRIU_IMAGE_PATH},                              \
	    {"work-path", required_argument, NULL, OPT_CRIU_WORK_PATH},                            \
	    {"tcp-established", no_argument, NULL, OPT_CRIU_TCP_ESTABLISHED},                      \
	    {"ext-unix-sk", no_argument, NULL, OPT_CRIU_EXT_UNIX_SK},                              \
	    {"shell-job", no_argument, NULL, OPT_CRIU_SHELL_JOB},                                  \
	    {"file-locks", no_argument, NULL, OPT_CRIU_FILE_LOCKS},                                \
	    {"manage-cgroups-mode", required_argument, NULL, OPT_CRIU_CGROUPS_MODE}

/* getopt's c for cmd: 1 when it was a criu option (o filled), 0 when it was not, -1 after
 * printing a usage error (the command then exits 1). */
int parse_criu_opt(int c, const char *cmd, husk_criu_opts_t *o);

#endif
