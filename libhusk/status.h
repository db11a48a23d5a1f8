/* husk: the state directory <root>/<id>/: state.json, the config copy, the exec fifo, the lock. */
#ifndef HUSK_STATUS_H
#define HUSK_STATUS_H

#include <stdbool.h>
#include <sys/types.h>

#include "cgroup.h"
#include "error.h"
#include "spec.h"

#define HUSK_DEFAULT_ROOT "/run/husk"
#define HUSK_STATE_FILE "state.json"
#define HUSK_CONFIG_FILE "config.json"
#define HUSK_EXEC_FIFO "exec.fifo"

typedef enum {
	HUSK_STATUS_CREATING,
	HUSK_STATUS_CREATED,
	HUSK_STATUS_RUNNING,
	HUSK_STATUS_PAUSED,
	HUSK_STATUS_STOPPED,
} husk_status_t;

/* What state.json holds. The OCI status is derived at read time, never stored stale. */
typedef struct {
	char *id;
	bool created; /* false while `create` is still working */
	pid_t pid;    /* container init, 0 before it exists */
	unsigned long long pid_start; /* /proc/<pid>/stat starttime, guards against pid reuse */
	pid_t creator_pid;	      /* the `husk create` process, while !created */
	unsigned long long creator_start;
	char *bundle;
	char *rootfs;
	char *created_at; /* RFC 3339 */
	char *owner;
	char *cgroup_path; /* NULL: no cgroup */
	bool cgroup_systemd;
	bool detached_init; /* init is not our child: reap is someone else's job */
	husk_kv_t *annotations;
	size_t annotations_len;
} husk_state_t;

const char *husk_status_name(husk_status_t status);

/* Open <root> (creating it 0700) and return an O_DIRECTORY fd. */
int husk_root_open(const char *root, bool create, husk_error_t *err);

/* mkdir <root>/<id> exclusively: "container \"ID\" already exists" if taken. Returns dir fd. */
int husk_state_dir_create(int rootfd, const char *id, husk_error_t *err);
/* Open an existing state dir: "container \"ID\" does not exist". Returns dir fd. */
int husk_state_dir_open(int rootfd, const char *id, husk_error_t *err);
/* Remove the state dir and everything in it. */
int husk_state_dir_remove(int rootfd, const char *id, husk_error_t *err);

/* flock the state dir exclusively (blocking); the lock lives as long as the fd. */
int husk_state_lock(int dirfd, husk_error_t *err);

int husk_state_write(int dirfd, const husk_state_t *st, husk_error_t *err);
int husk_state_read(int dirfd, const char *id, husk_state_t *st, husk_error_t *err);
void husk_state_clear(husk_state_t *st);

/* The container's cgroup as its state records it: 1 with *cg filled (cg->path borrowed from
 * st), 0 when it has none, -1 on error. */
int husk_state_cgroup(const husk_state_t *st, husk_cgroup_t *cg, husk_error_t *err);

/* Derive the OCI status from the stored state and the live system. */
husk_status_t husk_state_status(int dirfd, const husk_state_t *st);

/* True when pid is alive and is still the process that started at start_time. */
bool husk_pid_is(pid_t pid, unsigned long long start_time);
/* starttime of /proc/<pid>/stat; 0 on failure. */
unsigned long long husk_pid_start_time(pid_t pid);

/* Serialize the OCI state (runtime.md "State") of a container. */
char *husk_state_oci_json(const husk_state_t *st, husk_status_t status, bool pretty);

/* Ids of every state dir under root, sorted; NULL-terminated. */
int husk_state_list_ids(int rootfd, char ***ids, husk_error_t *err);

/* Now as RFC 3339 with nanoseconds, UTC (heap). */
char *husk_now_rfc3339(void);

#endif
