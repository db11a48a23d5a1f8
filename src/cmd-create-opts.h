/* husk CLI: the option parser create and run share. */
#ifndef HUSK_CMD_CREATE_OPTS_H
#define HUSK_CMD_CREATE_OPTS_H

#include <stdbool.h>

#include "cli.h"
#include "libhusk/container.h"

/* Returns 0 when o is filled, 1 after printing a usage error.
 * detach/keep NULL: the command has no --detach/--keep (create). */
int parse_create_opts(int argc, char **argv, const husk_globals_t *g, husk_create_opts_t *o,
		      bool *detach, bool *keep);

#endif
