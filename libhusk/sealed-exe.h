/* husk: run from a sealed in-memory copy of our own binary (the CVE-2019-5736 defence). */
#ifndef HUSK_SEALED_EXE_H
#define HUSK_SEALED_EXE_H

#include "error.h"

/*
 * A process in the container can open /proc/<pid>/exe of a husk process that has joined
 * its namespaces (exec, the container's init before execve) and, once husk exits, write to
 * the host's husk binary through that fd. Before joining anything, re-execute husk from a
 * memfd copy sealed against writes: /proc/<pid>/exe then names the copy, which nobody can
 * change and which vanishes with the process.
 *
 * Returns 0 when already running from a sealed copy; otherwise does not return on success
 * (fexecve), and returns -1 with *err filled on failure.
 */
int husk_exec_sealed_self(char **argv, husk_error_t *err);

#endif
