/* husk: cgroups: one interface over cgroupfs v2, cgroupfs v1/hybrid and systemd. */
#ifndef HUSK_CGROUP_H
#define HUSK_CGROUP_H

#include <stdbool.h>
#include <sys/types.h>

#include "error.h"
#include "spec.h"

typedef enum {
	HUSK_CGROUP_MODE_UNIFIED, /* pure v2 at /sys/fs/cgroup */
	HUSK_CGROUP_MODE_HYBRID,  /* v1 controllers + cgroup2 at /sys/fs/cgroup/unified */
	HUSK_CGROUP_MODE_LEGACY,  /* v1 only */
} husk_cgroup_mode_t;

/* Detect once per process from statfs of /sys/fs/cgroup (and /sys/fs/cgroup/unified). */
int husk_cgroup_mode(husk_cgroup_mode_t *mode, husk_error_t *err);

/*
 * A container's cgroup, identified by its path relative to each hierarchy's root
 * (e.g. "/husk/ID" or the absolute linux.cgroupsPath). `path` is what state.json stores,
 * so that delete/pause/ps in another husk process find it again.
 */
typedef struct {
	husk_cgroup_mode_t mode;
	char *path;
	bool systemd;
} husk_cgroup_t;

/* Resolve linux.cgroupsPath (absolute; relative = under husk's default parent; empty =
 * "/husk/<id>") into cg->path. systemd: "slice:prefix:name" form. */
int husk_cgroup_resolve(const husk_spec_t *spec, const char *id, bool systemd, husk_cgroup_t *cg,
			husk_error_t *err);

/* Create the cgroup (every v1 controller husk manages, or the v2 directory with the needed
 * controllers enabled in the parents) and apply linux.resources. On failure removes what it
 * created. */
int husk_cgroup_create(husk_cgroup_t *cg, const husk_resources_t *res, husk_error_t *err);

/* v2 only: an O_PATH|O_DIRECTORY fd of the cgroup for clone3(CLONE_INTO_CGROUP); -1 + ENOTSUP
 * on v1/hybrid. */
int husk_cgroup_open_dir(const husk_cgroup_t *cg, husk_error_t *err);

/* Move pid into the cgroup in every hierarchy. */
int husk_cgroup_enter(const husk_cgroup_t *cg, pid_t pid, husk_error_t *err);

/* Remove the cgroup everywhere (after its processes are gone); absent is not an error. */
int husk_cgroup_destroy(const husk_cgroup_t *cg, husk_error_t *err);

/* Processes in the cgroup (cgroup.procs), heap array. */
int husk_cgroup_pids(const husk_cgroup_t *cg, pid_t **pids, size_t *n, husk_error_t *err);

/* Signal every process in the cgroup (kill --all, delete --force). */
int husk_cgroup_kill_all(const husk_cgroup_t *cg, int sig, husk_error_t *err);

/* Freeze/thaw (cgroup.freeze on v2, freezer.state on v1) and query. */
int husk_cgroup_freeze(const husk_cgroup_t *cg, bool frozen, husk_error_t *err);
int husk_cgroup_is_frozen(const husk_cgroup_t *cg, bool *frozen, husk_error_t *err);

/* Apply new resources to a live cgroup (update). */
int husk_cgroup_update(const husk_cgroup_t *cg, const husk_resources_t *res, husk_error_t *err);

void husk_cgroup_free(husk_cgroup_t *cg);

#endif
