/* husk: the process of an `exec`, built from --process or from the container's own
 * process with the command-line overrides; and how exec waits for it. */
#ifndef HUSK_EXEC_PROCESS_H
#define HUSK_EXEC_PROCESS_H

#include <sys/types.h>

#include "container.h"
#include "error.h"
#include "spec.h"

/* Replace spec->process with what exec runs. */
int husk_exec_build_process(husk_spec_t *spec, const husk_exec_opts_t *o, husk_error_t *err);

/* Pid file, console socket, then detach or wait in the foreground. */
int husk_exec_wait(const husk_exec_opts_t *o, pid_t pid, int pty_master, int *exit_status,
		   husk_error_t *err);

#endif
