/* husk: the container lifecycle of runtime.md: create, start, run, kill, delete, state,
 * list, ps, exec. The CLI calls exactly one of these per command. */
#ifndef HUSK_CONTAINER_H
#define HUSK_CONTAINER_H

#include <stdbool.h>
#include <sys/types.h>

#include "error.h"
#include "status.h"

typedef struct {
	const char *root;   /* state root (--root) */
	const char *id;
	const char *bundle; /* NULL: current directory */
	const char *pid_file;
	const char *console_socket;
	bool no_pivot;
	bool no_new_keyring;
	int preserve_fds;
	bool systemd_cgroup;
	bool keep_child; /* run in the foreground: the caller waits for the container process */
} husk_create_opts_t;

/* What a create leaves to its caller when it keeps the container process as a child. */
typedef struct {
	pid_t pid;
	int pty_master; /* -1 unless terminal is on and there is no console socket */
} husk_created_t;

/* `create`: the container process is left waiting on the exec barrier. */
int husk_container_create(const husk_create_opts_t *o, husk_created_t *out, husk_error_t *err);

/* `start`: release the barrier exactly once, then run the poststart hooks. */
int husk_container_start(const char *root, const char *id, husk_error_t *err);

/* `run`: create + start; detach: return at once; otherwise wait (forwarding signals, relaying
 * the terminal), delete the container unless keep, and store the exit status (128+N for a
 * signal). */
int husk_container_run(const husk_create_opts_t *o, bool detach, bool keep, int *exit_status,
		       husk_error_t *err);

int husk_container_kill(const char *root, const char *id, int sig, bool all, husk_error_t *err);
int husk_container_delete(const char *root, const char *id, bool force, husk_error_t *err);

/* OCI state JSON of one container (pretty-printed). */
int husk_container_state(const char *root, const char *id, char **json, husk_error_t *err);

typedef struct {
	husk_state_t state;
	husk_status_t status;
} husk_list_entry_t;

int husk_container_list(const char *root, husk_list_entry_t **entries, size_t *n,
			husk_error_t *err);
void husk_list_free(husk_list_entry_t *entries, size_t n);

/* Host pids of the container's processes. */
int husk_container_ps(const char *root, const char *id, pid_t **pids, size_t *n,
		      husk_error_t *err);

typedef struct {
	const char *root;
	const char *id;
	const char *process_file; /* --process: a process.json; NULL = from args + flags */
	char *const *args;
	bool tty;
	bool detach;
	const char *pid_file;
	const char *console_socket;
	const char *cwd;
	char *const *env; /* extra K=V */
	const char *user; /* "uid[:gid]" */
	char *const *caps; /* extra capabilities */
	bool no_new_privs;
	int preserve_fds;
} husk_exec_opts_t;

int husk_container_exec(const husk_exec_opts_t *o, int *exit_status, husk_error_t *err);

/* Warnings that do not fail an operation (poststart/poststop hooks, cleanup leftovers).
 * The CLI installs a handler that logs them; default: ignored. */
typedef void (*husk_warning_fn)(const char *msg);
void husk_set_warning_handler(husk_warning_fn fn);
void husk_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Debug messages (the CLI's --debug); default: dropped. */
void husk_set_debug_handler(husk_warning_fn fn);
void husk_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
