/* husk: namespace types, joining by path, id maps, time offsets, hostname, sysctl. */
#ifndef HUSK_NAMESPACES_H
#define HUSK_NAMESPACES_H

#include <stdbool.h>
#include <sys/types.h>

#include "error.h"
#include "spec.h"

typedef struct {
	const char *type;    /* config name: "network" */
	const char *proc;    /* /proc/PID/ns name: "net" */
	int flag;	     /* CLONE_NEWNET */
} husk_ns_info_t;

/* NULL-terminated table of every namespace type husk knows. */
extern const husk_ns_info_t husk_ns_table[];

const husk_ns_info_t *husk_ns_lookup(const char *type);

/* Check linux.namespaces: known types, join paths are namespaces of the right type,
 * hostname/domainname need a new uts, timeOffsets need a time namespace, id mappings need
 * a user namespace, sysctl keys belong to namespaces the container owns. */
int husk_ns_validate(const husk_spec_t *spec, husk_error_t *err);

/* Flags of the namespaces to create fresh (no path). */
int husk_ns_new_flags(const husk_spec_t *spec);

/* Open the namespace at path for a later setns(), checking that it has the expected type. */
int husk_ns_open_path(const char *path, int flag, husk_error_t *err);

/* setns() into the namespace at path, checking that it has the expected type. */
int husk_ns_join_path(const char *path, int flag, husk_error_t *err);

/* Join the namespaces with a path among `flags` (the order: user first, mount last). */
int husk_ns_join_all(const husk_spec_t *spec, int flags, husk_error_t *err);

/* Write /proc/<pid>/{uid,gid}_map (and setgroups) from linux.{uid,gid}Mappings. */
int husk_ns_write_id_maps(pid_t pid, const husk_spec_t *spec, husk_error_t *err);

/* Write /proc/self/timens_offsets (after unshare(CLONE_NEWTIME), before any child). */
int husk_ns_write_time_offsets(const husk_spec_t *spec, husk_error_t *err);

/* hostname, domainname (in the new uts ns). */
int husk_ns_set_names(const husk_spec_t *spec, husk_error_t *err);

/* linux.sysctl through the container's /proc/sys (proc_fd is a verified procfs). */
int husk_ns_apply_sysctl(const husk_spec_t *spec, int proc_fd, husk_error_t *err);

#endif
