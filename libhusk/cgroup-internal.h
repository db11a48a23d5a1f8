/* husk: cgroups: what cgroup.c, cgroup-v1.c and cgroup-v2.c share; not part of the API. */
#ifndef HUSK_CGROUP_INTERNAL_H
#define HUSK_CGROUP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cgroup.h"
#include "error.h"
#include "spec.h"

#define HUSK_CGROUP_MNT "/sys/fs/cgroup"
#define HUSK_CGROUP_HYBRID_UNIFIED_MNT "/sys/fs/cgroup/unified"

/* ---- pure conversions and validation (no filesystem access; unit-tested) ---- */

/* linux.cgroupsPath (may be NULL) -> the path below each hierarchy root. */
int husk_cgroup_path_from_spec(const char *cgroups_path, const char *id, bool systemd, char **out,
			       husk_error_t *err);
/* "a-b.slice" -> "/a.slice/a-b.slice"; "-.slice" -> "". */
int husk_cgroup_expand_slice(const char *slice, char **out, husk_error_t *err);
/* "slice:prefix:name" -> the cgroupfs path systemd gives that unit. */
int husk_cgroup_systemd_path(const char *cgroups_path, const char *id, char **out,
			     husk_error_t *err);

/* cpu.shares (2..262144) -> cpu.weight (1..10000); 0 stays 0 (unset). */
uint64_t husk_cgroup_shares_to_weight(uint64_t shares);
/* blkio.weight (10..1000) -> io.weight (1..10000); 0 stays 0 (unset). */
uint64_t husk_cgroup_blkio_to_io_weight(uint64_t weight);
/*
 * The spec's memory.swap is memory+swap (v1 memsw); v2's memory.swap.max is swap alone.
 * *out: -1 = "max", 0 with *set false = leave the file alone, else the v2 value.
 */
int husk_cgroup_swap_to_v2(bool has_swap, int64_t swap, bool has_limit, int64_t limit, int64_t *out,
			   bool *set, husk_error_t *err);
/* A kernel cpu/node list: "0-3,7", "0-7:2/4"; empty is accepted (unset). */
int husk_cgroup_check_cpu_list(const char *list, const char *field, husk_error_t *err);
/* A linux.resources.unified key: "controller.file", no '/', not "." or "..". */
int husk_cgroup_check_unified_key(const char *key, husk_error_t *err);
/* Checks that need no kernel: cpu lists, swappiness, burst <= quota, unified keys. */
int husk_cgroup_check_resources(const husk_resources_t *res, husk_error_t *err);

/* ---- cgroupfs file helpers (cgroup.c) ---- */

/* Write value to file (relative to dirfd). On failure: `FIELD: write "V" to FILE: strerror`. */
int husk_cg_write(int dirfd, const char *file, const char *value, const char *field,
		  husk_error_t *err);
int husk_cg_writef(int dirfd, const char *file, const char *field, husk_error_t *err,
		   const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Read a file; trailing newline removed. */
int husk_cg_read(int dirfd, const char *file, char **out, husk_error_t *err);
/* Read a single number; "max" reads as UINT64_MAX. */
int husk_cg_read_u64(int dirfd, const char *file, uint64_t *out, husk_error_t *err);
/* Find "key value" in a flat-keyed file (memory.events, cgroup.events, cpu.stat). */
int husk_cg_read_keyed(int dirfd, const char *file, const char *key, uint64_t *out,
		       husk_error_t *err);
bool husk_cg_exists(int dirfd, const char *file);
/* cg has a usable path: absolute, without ".." (EINVAL otherwise). */
int husk_cg_check(const husk_cgroup_t *cg, husk_error_t *err);
/* Open mnt + path as a directory (O_RDONLY, or O_PATH when opath). */
int husk_cg_open(const char *mnt, const char *path, bool opath, husk_error_t *err);
/* Parse cgroup.procs of dirfd. */
int husk_cg_read_pids(int dirfd, pid_t **pids, size_t *n, husk_error_t *err);
/* Remove mnt + path and its sub-cgroups, retrying EBUSY while processes exit; absent is ok. */
int husk_cg_remove(const char *mnt, const char *path, husk_error_t *err);
/* Send sig to every pid of the cgroup (ESRCH ignored). */
int husk_cg_signal_procs(int dirfd, int sig, husk_error_t *err);
/* Sleep a little while polling for a cgroup state change. */
void husk_cg_sleep_ms(unsigned ms);

/* Directories created by one husk_cgroup_create, removed in reverse on failure. */
typedef struct husk_cg_undo {
	char **dirs;
	size_t len;
} husk_cg_undo_t;

void husk_cg_undo_add(husk_cg_undo_t *u, const char *dir);
void husk_cg_undo_rollback(husk_cg_undo_t *u);
void husk_cg_undo_free(husk_cg_undo_t *u);

/* Create every missing component of mnt + path; each new dir goes to undo. For each new dir
 * (deepest last) calls created(dirfd, parentfd) when given. */
typedef int (*husk_cg_created_fn)(int dirfd, int parentfd, husk_error_t *err);
int husk_cg_mkdir(const char *mnt, const char *path, husk_cg_undo_t *undo,
		  husk_cg_created_fn created, husk_error_t *err);

/* ---- the v2 manager (cgroup-v2.c); mnt is /sys/fs/cgroup or the hybrid's unified mount ---- */

/* Create mnt + path, enabling in every ancestor the controllers in `want` (space-separated;
 * NULL = every controller the ancestor offers). */
int husk_cgroup_v2_make(const char *mnt, const char *path, const char *want, husk_cg_undo_t *undo,
			husk_error_t *err);
/* Apply everything in res (may be NULL) to a pure v2 cgroup, the eBPF device filter included. */
int husk_cgroup_v2_apply(int dirfd, const husk_resources_t *res, husk_error_t *err);
int husk_cgroup_v2_apply_hugetlb(int dirfd, const husk_resources_t *res, husk_error_t *err);
/* rdma.max lines: the same format on v1 and v2. */
int husk_cgroup_v2_apply_rdma(int dirfd, const husk_resources_t *res, husk_error_t *err);
int husk_cgroup_v2_apply_unified(int dirfd, const husk_resources_t *res, husk_error_t *err);
/* The controllers a set of resources needs on v2 (space-separated, heap). */
char *husk_cgroup_v2_needed(const husk_resources_t *res, bool only_hugetlb);
int husk_cgroup_v2_freeze(int dirfd, bool frozen, husk_error_t *err);
int husk_cgroup_v2_is_frozen(int dirfd, bool *frozen, husk_error_t *err);
int husk_cgroup_v2_kill_all(int dirfd, int sig, husk_error_t *err);
int husk_cgroup_v2_stats(int dirfd, husk_cgroup_stats_t *st, husk_error_t *err);

/* ---- the v1 manager (cgroup-v1.c), legacy and hybrid ---- */

/* The two halves of husk_cgroup_create on v1/hybrid: the hybrid's cgroup2 part (before the
 * clone), then every v1 hierarchy (while the new process sets itself up). Dirs made go to undo. */
int husk_cgroup_v1_create_early(const husk_cgroup_t *cg, const husk_resources_t *res,
				husk_cg_undo_t *undo, husk_error_t *err);
int husk_cgroup_v1_create_late(const husk_cgroup_t *cg, const husk_resources_t *res,
			       husk_cg_undo_t *undo, husk_error_t *err);
/* Both halves at once; removes what it made on failure. */
int husk_cgroup_v1_create(const husk_cgroup_t *cg, const husk_resources_t *res, husk_error_t *err);
int husk_cgroup_v1_update(const husk_cgroup_t *cg, const husk_resources_t *res, husk_error_t *err);
int husk_cgroup_v1_enter(const husk_cgroup_t *cg, pid_t pid, husk_error_t *err);
/* What a join opens: the cgroup2 dir (v2_dir), the v1 `tasks` files. */
#define HUSK_CG_JOIN_V2 1u
#define HUSK_CG_JOIN_V1 2u
/* Open the `tasks` file of every v1 hierarchy (V1) and v2_dir on the hybrid's unified
 * mount (V2). */
int husk_cgroup_v1_join_open(const husk_cgroup_t *cg, husk_cgroup_join_t *j, unsigned parts,
			     husk_error_t *err);
/* Append a `tasks` fd and its path (taken) to j. */
void husk_cgroup_join_add(husk_cgroup_join_t *j, int fd, char *name);
/* Move pid into the hybrid's unified cgroup only (when clone3 could not). */
int husk_cgroup_v1_enter_unified(const husk_cgroup_t *cg, pid_t pid, husk_error_t *err);
int husk_cgroup_v1_destroy(const husk_cgroup_t *cg, husk_error_t *err);
int husk_cgroup_v1_open_procs_dir(const husk_cgroup_t *cg, husk_error_t *err);
int husk_cgroup_v1_freeze(const husk_cgroup_t *cg, bool frozen, husk_error_t *err);
char *husk_cgroup_v1_freezer_dir(const husk_cgroup_t *cg, husk_error_t *err);
int husk_cgroup_v1_is_frozen(const husk_cgroup_t *cg, bool *frozen, husk_error_t *err);
int husk_cgroup_v1_kill_all(const husk_cgroup_t *cg, int sig, husk_error_t *err);
int husk_cgroup_v1_stats(const husk_cgroup_t *cg, husk_cgroup_stats_t *st, husk_error_t *err);

/* ---- the systemd driver (cgroup-systemd.c) ---- */

/* Pure parts (unit-tested). A cgroup path as husk_cgroup_systemd_path makes it ->
 * its unit ("p-n.scope" or "a-b.slice") and the slice that unit goes in ("-.slice" at the
 * root). A slice unit's parent comes from its name, so "/system.slice/x.slice" is refused
 * (systemd would put x.slice at "/x.slice"). */
int husk_sd_unit_from_path(const char *path, char **unit, char **slice, husk_error_t *err);
/* CPUQuotaPerSecUSec from quota/period (period 0 = the kernel's 100000): rounded up to
 * 10 ms, the 1% granularity systemd keeps CPUQuota= in; quota < 0 = UINT64_MAX (none). */
uint64_t husk_sd_cpu_quota_per_sec(int64_t quota, uint64_t period);
/* A cpu/node list ("0-3,7", "0-7:2/4") -> systemd's bitmask: bit i%8 of byte i/8 = cpu i. */
int husk_sd_cpu_list_to_mask(const char *list, const char *field, uint8_t **mask, size_t *len,
			     husk_error_t *err);

typedef enum {
	HUSK_SD_BOOL,
	HUSK_SD_U64,
	HUSK_SD_STRING,
	HUSK_SD_BYTES, /* "ay" */
	HUSK_SD_U32S,  /* "au" */
	HUSK_SD_DEVICES, /* "a(ss)": data is const char *[2 * len], path and access pairs */
} husk_sd_type_t;

/* One unit property, as StartTransientUnit/SetUnitProperties take it ("(sv)"). */
typedef struct {
	const char *name;
	husk_sd_type_t type;
	bool b;
	uint64_t u;
	char *s;	/* heap */
	void *data; /* heap: bytes, or uint32_t values */
	size_t len; /* elements of data */
} husk_sd_prop_t;

typedef struct {
	husk_sd_prop_t *v;
	size_t len;
} husk_sd_props_t;

/* The unit's own properties: Description, Slice (scopes), PIDs (scopes, pid > 0),
 * Delegate (scopes), DefaultDependencies=no, accounting for every controller systemd has. */
void husk_sd_props_unit(husk_sd_props_t *p, husk_cgroup_mode_t mode, const char *unit,
			const char *slice, const char *description, pid_t pid);
/* linux.resources (may be NULL) as the properties systemd has for them; the rest is
 * cgroupfs's business. */
int husk_sd_props_resources(husk_sd_props_t *p, husk_cgroup_mode_t mode,
			    const husk_resources_t *res, husk_error_t *err);
const husk_sd_prop_t *husk_sd_props_find(const husk_sd_props_t *p, const char *name);
void husk_sd_props_free(husk_sd_props_t *p);
#define cleanup_props __attribute__((cleanup(husk_sd_props_free)))

/* The dispatch side (cgroup.c). prepare: 1 = systemd will manage the unit (cg->sd set),
 * 0 = it does not answer (cg->systemd_fallback set), -1 = error (bad unit name, the unit
 * exists, bad resources). start: the unit with pid in it, then cgroupfs. stop: 1 = leave
 * the cgroup alone (the unit belongs to somebody else), else 0/-1. set: the unit's
 * properties for res (no systemd = nothing to do). */
int husk_cgroup_systemd_prepare(husk_cgroup_t *cg, const husk_resources_t *res,
				husk_error_t *err);
int husk_cgroup_systemd_start(const husk_cgroup_t *cg, pid_t pid, husk_error_t *err);
int husk_cgroup_systemd_stop(const husk_cgroup_t *cg, husk_error_t *err);
int husk_cgroup_systemd_set(const husk_cgroup_t *cg, const husk_resources_t *res,
			    husk_error_t *err);
void husk_cgroup_systemd_free(husk_cgroup_t *cg);

#endif
