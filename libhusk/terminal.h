/* husk: the container's terminal: pty creation, --console-socket, and the foreground relay. */
#ifndef HUSK_TERMINAL_H
#define HUSK_TERMINAL_H

#include <stdbool.h>
#include <sys/types.h>

#include "error.h"

/* In the container after pivot: open a pty from the container's /dev/ptmx.
 * Sets the window size when width/height are non-zero. */
int husk_pty_open(int *master, int *slave, unsigned width, unsigned height, husk_error_t *err);

/* Make the slave the controlling terminal and stdin/stdout/stderr of this process. */
int husk_pty_become_controlling(int slave, husk_error_t *err);

/* Connect to the console socket and pass the master fd (SCM_RIGHTS), as runc does. */
int husk_console_socket_send(const char *socket_path, int master, husk_error_t *err);

/* Connect to the console socket now (to fail early on a bad path); returns the socket fd. */
int husk_console_socket_connect(const char *socket_path, husk_error_t *err);

/* Copy between our stdin/stdout and the pty master until the master hangs up.
 * Puts our stdin in raw mode while relaying when it is a terminal. */
int husk_pty_relay(int master, husk_error_t *err);

#endif
