/* husk: cgroups: one interface over cgroupfs v2, cgroupfs v1/hybrid and systemd. */
#ifndef HUSK_CGROUP_H
#define HUSK_CGROUP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "spec.h"

/* Where containers without linux.cgroupsPath go: HUSK_CGROUP_DEFAULT_PARENT/<id>. */
#define HUSK_CGROUP_DEFAULT_PARENT "/husk"

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
	/* create/update only, not persisted (borrowed from the spec): linux.devices; on v1 each
	 * one is allowed "rwm" after the linux.resources.devices rules, as runc does. */
	const husk_device_t *devices;
	size_t devices_len;
	/* create only, borrowed: the container id, for the systemd unit's Description. */
	const char *id;
	/* --systemd-cgroup, process-local, never persisted: the connection to systemd while it
	 * manages the unit for this create (NULL otherwise), and why husk fell back to cgroupfs
	 * (heap, NULL when it did not; libhusk does not print, the caller warns). Both are freed
	 * by husk_cgroup_free. */
	struct husk_cgroup_systemd *sd;
	char *systemd_fallback;
	/* create only, process-local: the directories husk_cgroup_create_early and _late made,
	 * until husk_cgroup_create_commit (or husk_cgroup_create_abort removes them). */
	struct husk_cg_undo *made;
} husk_cgroup_t;

/* Resolve linux.cgroupsPath into cg->path and detect cg->mode. Absolute: used as is below
 * every hierarchy root; relative: taken from the hierarchy root too (like crun: on v1 the
 * runtime's own cgroup differs per controller, and one path must fit all of them); empty:
 * "/husk/<id>". ".." components are refused. systemd: "slice:prefix:name" is expanded to
 * the path systemd gives that unit ("a-b.slice:p:n" -> "/a.slice/a-b.slice/p-n.scope"; empty
 * = "system.slice:husk:<id>"); husk_cgroup_create then asks systemd for that unit
 * (cgroup-systemd.c), or falls back to cgroupfs at the same path. */
int husk_cgroup_resolve(const husk_spec_t *spec, const char *id, bool systemd, husk_cgroup_t *cg,
			husk_error_t *err);

/* Create the cgroup (every v1 controller husk manages, or the v2 directory with the needed
 * controllers enabled in the parents) and apply linux.resources. On failure removes what it
 * created. With cg->systemd, when systemd answers: only checks the unit name, that no such
 * unit exists yet and the resources; the unit (a transient scope with Delegate=yes, or a
 * slice) is started for the new process by husk_cgroup_join_finish. When systemd does not
 * answer, sets cg->systemd_fallback and creates the cgroup through cgroupfs as above. res
 * is borrowed until husk_cgroup_join_finish. */
int husk_cgroup_create(husk_cgroup_t *cg, const husk_resources_t *res, husk_error_t *err);

/* husk_cgroup_create in two halves, so that `create` can make the v1 hierarchies while the
 * container's process sets itself up. _early makes what the clone needs: on v2 the whole
 * cgroup (the process is born in it), on a hybrid host the cgroup2 part, on v1 nothing;
 * with systemd the checks. _late makes the v1 hierarchies and applies their resources.
 * _early removes what it made on failure. Until _commit, a failure of _late or of anything
 * after it is undone by husk_cgroup_destroy then _abort, which removes the directories both
 * made (parents included, each only while empty). */
int husk_cgroup_create_early(husk_cgroup_t *cg, const husk_resources_t *res, husk_error_t *err);
int husk_cgroup_create_late(husk_cgroup_t *cg, const husk_resources_t *res, husk_error_t *err);
void husk_cgroup_create_abort(husk_cgroup_t *cg);
void husk_cgroup_create_commit(husk_cgroup_t *cg);

/* v2 only: an O_PATH|O_DIRECTORY fd of the cgroup for clone3(CLONE_INTO_CGROUP); -1 + ENOTSUP
 * on v1/hybrid. */
int husk_cgroup_open_dir(const husk_cgroup_t *cg, husk_error_t *err);

/*
 * How a new process (the container's, or exec's) joins the cgroup, opened before it is
 * cloned. The cgroup2 part (pure v2, or the hybrid's unified mount) goes by
 * clone3(CLONE_INTO_CGROUP) of v2_dir, or by the parent writing cgroup.procs where that flag
 * is not available. Each v1 hierarchy's `tasks` file is written "0" by the new process
 * itself: the kernel moves a single thread that names itself without taking the global
 * threadgroup lock, whose RCU grace period makes a write of another process's pid wait
 * 10-20 ms on the first hierarchy. The files are opened by the parent, so the kernel checks
 * the opener's credentials, and a child already in a new user namespace can still join.
 */
typedef struct {
	int v2_dir;    /* O_PATH dir of the cgroup2 cgroup, or -1 */
	int *tasks;    /* v1 `tasks` files, O_WRONLY */
	char **names;  /* their paths, for messages */
	size_t len;
} husk_cgroup_join_t;

#define HUSK_CGROUP_JOIN_INIT {.v2_dir = -1}

int husk_cgroup_join_open(const husk_cgroup_t *cg, husk_cgroup_join_t *j, husk_error_t *err);
/* The same in two steps, for `create`: the cgroup2 dir before the clone (_v2, which
 * initialises j), the v1 `tasks` files once husk_cgroup_create_late made them (_v1). */
int husk_cgroup_join_open_v2(const husk_cgroup_t *cg, husk_cgroup_join_t *j, husk_error_t *err);
int husk_cgroup_join_open_v1(const husk_cgroup_t *cg, husk_cgroup_join_t *j, husk_error_t *err);
/* Hand j's `tasks` fds to the new process over the sync socket (one HUSK_SYNC_CGROUP
 * message; closes them here), and take them there (an ERROR message becomes err). */
int husk_cgroup_join_send(int sock, husk_cgroup_join_t *j, husk_error_t *err);
int husk_cgroup_join_recv(int sock, husk_cgroup_join_t *j, husk_error_t *err);
/* In the new process, first thing: join every v1 hierarchy; closes j's fds. */
int husk_cgroup_join_self(husk_cgroup_join_t *j, husk_error_t *err);
/* In the parent after the clone: move pid into the cgroup2 part unless it was cloned there.
 * With systemd managing the unit: start it with pid in it, wait for its job, then apply the
 * resources (and, on v1, join the hierarchies systemd left out) through cgroupfs. */
int husk_cgroup_join_finish(const husk_cgroup_t *cg, const husk_cgroup_join_t *j, pid_t pid,
			    bool cloned_into, husk_error_t *err);
void husk_cgroup_join_close(husk_cgroup_join_t *j);

#define cleanup_cgroup_join __attribute__((cleanup(husk_cgroup_join_close)))

/* Move pid into the cgroup in every hierarchy. */
int husk_cgroup_enter(const husk_cgroup_t *cg, pid_t pid, husk_error_t *err);

/* Remove the cgroup everywhere (after its processes are gone); absent is not an error.
 * systemd: stops the unit first (a unit that is gone, or no systemd, is fine). */
int husk_cgroup_destroy(const husk_cgroup_t *cg, husk_error_t *err);

/* Processes in the cgroup (cgroup.procs), heap array. */
int husk_cgroup_pids(const husk_cgroup_t *cg, pid_t **pids, size_t *n, husk_error_t *err);

/* Signal every process in the cgroup (kill --all, delete --force). */
int husk_cgroup_kill_all(const husk_cgroup_t *cg, int sig, husk_error_t *err);

/* Freeze/thaw (cgroup.freeze on v2, freezer.state on v1) and query. */
int husk_cgroup_freeze(const husk_cgroup_t *cg, bool frozen, husk_error_t *err);
int husk_cgroup_is_frozen(const husk_cgroup_t *cg, bool *frozen, husk_error_t *err);
/* The directory of the cgroup that freezes it (heap): the v2 cgroup, or the cgroup in the v1
 * freezer hierarchy wherever that is mounted; NULL with ENOENT when it is not. */
char *husk_cgroup_freezer_dir(const husk_cgroup_t *cg, husk_error_t *err);

/* Apply new resources to a live cgroup (update). systemd: the unit's properties first
 * (SetUnitProperties, runtime), then cgroupfs; without systemd answering, cgroupfs only. */
int husk_cgroup_update(const husk_cgroup_t *cg, const husk_resources_t *res, husk_error_t *err);

/* Resource usage for `events --stats`. Unlimited values are UINT64_MAX; has_* is false when
 * the controller is not available for the cgroup. */
typedef struct {
	bool has_memory;
	uint64_t memory_usage;
	uint64_t memory_max_usage; /* v1 only (v2: memory.peak when present) */
	uint64_t memory_limit;
	uint64_t memory_failcnt; /* v1 failcnt; v2 memory.events "max" */
	uint64_t memory_oom_kill;
	uint64_t swap_usage; /* memory+swap, as v1 reports it */
	uint64_t swap_limit;
	bool has_pids;
	uint64_t pids_current;
	uint64_t pids_limit;
	bool has_cpu;
	uint64_t cpu_usage_ns;
	uint64_t cpu_user_ns;
	uint64_t cpu_system_ns;
} husk_cgroup_stats_t;

int husk_cgroup_stats(const husk_cgroup_t *cg, husk_cgroup_stats_t *st, husk_error_t *err);

/* The device rules appended after linux.resources.devices (runc's defaults): mknod of any
 * char/block device, /dev/null, zero, full, random, urandom, tty, console, ptmx, pts/N. */
extern const husk_device_cgroup_t husk_cgroup_default_devices[];
extern const size_t husk_cgroup_default_devices_len;

void husk_cgroup_free(husk_cgroup_t *cg);

#endif
