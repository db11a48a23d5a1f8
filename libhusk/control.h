/* husk: the cgroup-facing operations on an existing container: pause, resume, update, stats
 * and the events stream. The CLI calls exactly one of these per command. */
#ifndef HUSK_CONTROL_H
#define HUSK_CONTROL_H

#include <stdint.h>

#include "cgroup.h"
#include "error.h"
#include "spec.h"

/* `pause`: freeze the cgroup of a running container; its status then reads "paused". */
int husk_container_pause(const char *root, const char *id, husk_error_t *err);

/* `resume`: thaw the cgroup of a paused container. */
int husk_container_resume(const char *root, const char *id, husk_error_t *err);

/*
 * `update`: apply res to the live cgroup of a created, running or paused container. The
 * saved config.json is left as it was: it records what the container was created with,
 * and `events --stats` reads the live values. On a v1 host with swap accounting, a new
 * memory limit without a swap value keeps swap disabled when it was (memsw == limit), so
 * that raising the limit is not refused by the old memsw.
 */
int husk_container_update(const char *root, const char *id, const husk_resources_t *res,
			  husk_error_t *err);

/* Resource usage of a created, running or paused container (`events --stats`). */
int husk_container_stats(const char *root, const char *id, husk_cgroup_stats_t *st,
			 husk_error_t *err);

typedef enum {
	HUSK_EVENT_STATS,
	HUSK_EVENT_OOM,
} husk_event_type_t;

typedef struct {
	husk_event_type_t type;
	const char *id;
	const husk_cgroup_stats_t *stats; /* HUSK_EVENT_STATS only */
} husk_event_t;

/* Receives each event; returning < 0 (with err filled) ends the stream with that error. */
typedef int (*husk_event_fn)(const husk_event_t *ev, void *data, husk_error_t *err);

/*
 * `events`: a stats event every interval_ms (the first one after one interval, as runc)
 * and an oom event each time the cgroup's OOM-kill counter is seen to grow (polled every
 * 100 ms at most). Returns 0 when the container's init exits; an OOM kill that stopped it
 * is still reported first. The state lock is not held while streaming, so delete works.
 */
int husk_container_events(const char *root, const char *id, unsigned interval_ms, husk_event_fn fn,
			  void *data, husk_error_t *err);

/* One event as runc prints it: {"type":"stats","id":ID,"data":{cpu, memory, pids}} or
 * {"type":"oom","id":ID}; compact, no trailing newline (heap). */
char *husk_event_json(const husk_event_t *ev);

#endif
