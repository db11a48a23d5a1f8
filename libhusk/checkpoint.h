/* husk: checkpoint and restore of a container's process tree with criu (libcriu, loaded
 * with dlopen at the first use: only these two commands need it). */
#ifndef HUSK_CHECKPOINT_H
#define HUSK_CHECKPOINT_H

#include <stdbool.h>

#include "error.h"

/* --manage-cgroups-mode, as runc names them. */
typedef enum {
	HUSK_CRIU_CGROUPS_SOFT, /* the default */
	HUSK_CRIU_CGROUPS_FULL,
	HUSK_CRIU_CGROUPS_STRICT,
	HUSK_CRIU_CGROUPS_IGNORE,
} husk_criu_cgroups_mode_t;

/* "soft", "full", "strict" or "ignore"; -1 with a message naming the value otherwise. */
int husk_criu_cgroups_mode_parse(const char *s, husk_criu_cgroups_mode_t *mode, husk_error_t *err);

/* What both operations hand to criu. */
typedef struct {
	const char *image_path; /* NULL: "checkpoint" (relative to the cwd), made if missing */
	const char *work_path;	/* NULL: image_path; criu's dump.log/restore.log go here */
	bool tcp_established;
	bool ext_unix_sk;
	bool shell_job;
	bool file_locks;
	husk_criu_cgroups_mode_t cgroups_mode;
} husk_criu_opts_t;

typedef struct {
	const char *root;
	const char *id;
	husk_criu_opts_t criu;
	bool leave_running;
} husk_checkpoint_opts_t;

/*
 * `checkpoint`: dump the process tree of a running (or paused) container into the image
 * directory, with descriptors.json (what the init's fds 0-2 were, for restore). Without
 * leave_running the container is then deleted as `delete --force` does (its processes are
 * gone: criu ends them after a successful dump). On failure the container is left as it was.
 */
int husk_container_checkpoint(const husk_checkpoint_opts_t *o, husk_error_t *err);

typedef struct {
	const char *root;
	const char *id;
	const char *bundle; /* NULL: the current directory */
	const char *pid_file;
	const char *console_socket;
	bool systemd_cgroup;
	bool detach;
	husk_criu_opts_t criu;
} husk_restore_opts_t;

/*
 * `restore`: a new container ID from the bundle's config.json (state dir and cgroup as
 * `create` makes them), its process tree restored from the image directory by criu: status
 * running. The prestart and createRuntime hooks run once criu has made the namespaces.
 * detach: return at once; otherwise wait for the restored init (forwarding signals), delete
 * the container and store its exit status (128+N for signal N). On failure nothing is left.
 */
int husk_container_restore(const husk_restore_opts_t *o, int *exit_status, husk_error_t *err);

#endif
