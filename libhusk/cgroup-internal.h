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
typedef struct {
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

int husk_cgroup_v1_create(const husk_cgroup_t *cg, const husk_resources_t *res, husk_error_t *err);
int husk_cgroup_v1_update(const husk_cgroup_t *cg, const husk_resources_t *res, husk_error_t *err);
int husk_cgroup_v1_enter(const husk_cgroup_t *cg, pid_t pid, husk_error_t *err);
/* Open the `tasks` file of every v1 hierarchy (and v2_dir on the hybrid's unified mount). */
int husk_cgroup_v1_join_open(const husk_cgroup_t *cg, husk_cgroup_join_t *j, husk_error_t *err);
/* Move pid into the hybrid's unified cgroup only (when clone3 could not). */
int husk_cgroup_v1_enter_unified(const husk_cgroup_t *cg, pid_t pid, husk_error_t *err);
int husk_cgroup_v1_destroy(const husk_cgroup_t *cg, husk_error_t *err);
int husk_cgroup_v1_open_procs_dir(const husk_cgroup_t *cg, husk_error_t *err);
int husk_cgroup_v1_freeze(const husk_cgroup_t *cg, bool frozen, husk_error_t *err);
int husk_cgroup_v1_is_frozen(const husk_cgroup_t *cg, bool *frozen, husk_error_t *err);
int husk_cgroup_v1_kill_all(const husk_cgroup_t *cg, int sig, husk_error_t *err);
int husk_cgroup_v1_stats(const husk_cgroup_t *cg, husk_cgroup_stats_t *st, husk_error_t *err);

#endif
