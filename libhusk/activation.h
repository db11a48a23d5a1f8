/* husk: LISTEN_FDS and NOTIFY_SOCKET passed from husk's environment into the container. */
#ifndef HUSK_ACTIVATION_H
#define HUSK_ACTIVATION_H

#include "spec.h"

/* With LISTEN_FDS=N in husk's environment: set LISTEN_FDS=N and LISTEN_PID=1 in the process's
 * env and return N, the fds 3..3+N-1 the container keeps (before --preserve-fds ones). */
int husk_activation_listen_fds(husk_process_t *p);

/* With NOTIFY_SOCKET=/path (a unix socket) in husk's environment: bind it into the container
 * at /run/notify/notify.sock and point the process's NOTIFY_SOCKET there. */
void husk_activation_notify_socket(husk_spec_t *spec);

#endif
