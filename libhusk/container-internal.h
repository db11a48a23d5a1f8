/* husk: helpers shared by the lifecycle files (create, start, run, delete, exec). */
#ifndef HUSK_CONTAINER_INTERNAL_H
#define HUSK_CONTAINER_INTERNAL_H

#include <stdbool.h>
#include <sys/types.h>

#include "container.h"
#include "error.h"
#include "spec.h"
#include "status.h"

#define HUSK_ID_NAME_MAX 1100

/* OCI state JSON as hooks receive it on stdin. */
char *husk_hook_state_json(const husk_spec_t *spec, const char *id, const char *bundle, pid_t pid,
			   const char *status);

/* Fill a fresh state for `create`: created=false, the creator's pid, annotations copied. */
void husk_state_init(husk_state_t *st, const husk_spec_t *spec, const char *id,
		     const char *bundle, const char *rootfs);
void husk_statep(husk_state_t *st);
#define cleanup_state __attribute__((cleanup(husk_statep)))

/* mkfifo exec.fifo in the state dir and open it O_RDWR|O_NONBLOCK for the container
 * process, which blocks reading it until `start` writes a byte. */
int husk_exec_fifo_make(int dirfd, husk_error_t *err);

/* Fail before the barrier, as runc does, when args[0] cannot be executed. */
int husk_exec_lookup_check(const husk_process_t *p, husk_error_t *err);

/* Mark every fd >= from close-on-exec. */
void husk_close_fds_from(int from);

/* Send the seccomp notify fd and the container state to linux.seccomp.listenerPath. */
int husk_seccomp_send_listener(const husk_spec_t *spec, const char *id, const char *bundle,
			       pid_t pid, int notify_fd, husk_error_t *err);

/* create without the public wrapper's restrictions: used by run. */
int husk_container_create_kept(const husk_create_opts_t *o, husk_created_t *out,
			       husk_error_t *err);

/* Load the config copy saved in the state dir at create time. */
int husk_state_load_spec(int dirfd, husk_spec_t **spec, husk_error_t *err);

/* Open + lock + read a container's state. Returns the locked dir fd. */
int husk_state_open_locked(const char *root, const char *id, int *rootfd, husk_state_t *st,
			   husk_error_t *err);

/* Wait for pid in the foreground: forward signals to it, relay the pty when pty_master >= 0
 * (and close it), and store its exit status (128+N for signal N). */
int husk_wait_foreground(pid_t pid, int pty_master, int *exit_status);

#endif
