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
#define HUSK_EXEC_DONE "exec.done"

/* OCI state JSON as hooks receive it on stdin. */
char *husk_hook_state_json(const husk_spec_t *spec, const char *id, const char *bundle, pid_t pid,
			   const char *status);

/* Fill a fresh state for `create`: created=false, the creator's pid, annotations copied. */
void husk_state_init(husk_state_t *st, const husk_spec_t *spec, const char *id,
		     const char *bundle, const char *rootfs);
void husk_statep(husk_state_t *st);
#define cleanup_state __attribute__((cleanup(husk_statep)))

/*
 * The exec barrier: two fifos in the state dir, both held O_RDWR by the container process.
 * `start` writes a byte to exec.fifo (the process blocks reading it), then reads exec.done
 * until EOF: that comes when the process's copy closes on execve (or exit), and anything
 * read before it is the error that stopped the process (a startContainer hook, exec).
 */
typedef struct {
	int start_fd; /* exec.fifo */
	int done_fd;  /* exec.done */
} husk_exec_barrier_t;

int husk_exec_barrier_make(int dirfd, husk_exec_barrier_t *b, husk_error_t *err);
void husk_exec_barrier_close(husk_exec_barrier_t *b);
#define cleanup_barrier __attribute__((cleanup(husk_exec_barrier_close)))

/* `start`'s half: release the process and wait until it has exec'd. On failure
 * *process_failed says whether the process itself failed (and is gone or going). */
int husk_exec_barrier_release(int dirfd, const char *id, bool *process_failed,
			      husk_error_t *err);

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

/* --pid-file: the host pid, replaced atomically in the file's directory. */
int husk_write_pid_file(const char *path, pid_t pid, husk_error_t *err);

/* Load the config copy saved in the state dir at create time. */
int husk_state_load_spec(int dirfd, husk_spec_t **spec, husk_error_t *err);

/* Open + lock + read a container's state. Returns the locked dir fd. */
int husk_state_open_locked(const char *root, const char *id, int *rootfd, husk_state_t *st,
			   husk_error_t *err);

/* husk_warn() for callbacks that take a plain message. */
void husk_warn_msg(const char *msg);

/* Wait for pid in the foreground: forward signals to it, relay the pty when pty_master >= 0
 * (and close it), and store its exit status (128+N for signal N). */
int husk_wait_foreground(pid_t pid, int pty_master, int *exit_status);

/* The bundle's absolute path and its parsed config.json (create, run, restore). */
int husk_bundle_load_config(const char *bundle_arg, char **bundle, char **text, size_t *len,
			    husk_spec_t **spec, husk_error_t *err);
/* root.path of the config, absolute and resolved against the bundle; must be a directory. */
int husk_bundle_rootfs(const husk_spec_t *spec, const char *bundle, char **out,
		       husk_error_t *err);

/* create and restore: the root dir, then the container's new state dir (an id in use
 * fails), locked, with the copy of config.json. *dirfd >= 0 once the dir exists, also on a
 * later failure, so that the caller knows to remove it. */
int husk_state_dir_begin(const char *root, const char *id, const char *config, size_t len,
			 int *rootfd, int *dirfd, husk_error_t *err);

#endif
