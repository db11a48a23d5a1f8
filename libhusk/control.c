/* husk: pause, resume, update, stats and events: the operations that act on a container
 * through its cgroup. */
#include "config.h"
#include "control.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <yajl/yajl_gen.h>

#include "container-internal.h"
#include "json-gen.h"
#include "status.h"
#include "utils.h"

/* How often events looks at the OOM-kill counter and the init, whatever the interval. */
#define OOM_POLL_MS 100

/* The container's cgroup from its state; cg->path is borrowed from st. */
static int cgroup_of(const husk_state_t *st, const char *what, husk_cgroup_t *cg, husk_error_t *err)
{
	int has = husk_state_cgroup(st, cg, err);

	if (has < 0)
		return husk_error_wrap(err, "%s container \"%s\"", what, st->id);
	if (has == 0)
		return husk_error_set(err, 0, "cannot %s container \"%s\": it has no cgroup", what,
				      st->id);
	return 0;
}

static bool status_is_live(husk_status_t s)
{
	return s == HUSK_STATUS_CREATED || s == HUSK_STATUS_RUNNING || s == HUSK_STATUS_PAUSED;
}

/* Open and lock the state, and check the status is `want` (or any live one if want < 0). */
static int open_in_status(const char *root, const char *id, const char *what, int want,
			  husk_state_t *st, husk_error_t *err)
{
	cleanup_close int dirfd = husk_state_open_locked(root, id, NULL, st, err);
	husk_status_t status;

	if (dirfd < 0)
		return -1;
	status = husk_state_status(dirfd, st);
	if (want >= 0 && status != (husk_status_t)want)
		return husk_error_set(err, 0, "cannot %s container \"%s\": status is %s, not %s",
				      what, id, husk_status_name(status),
				      husk_status_name((husk_status_t)want));
	if (want < 0 && !status_is_live(status))
		return husk_error_set(err, 0, "cannot %s container \"%s\": status is %s", what, id,
				      husk_status_name(status));
	return steal_fd(&dirfd);
}

static int set_frozen(const char *root, const char *id, bool frozen, husk_error_t *err)
{
	const char *what = frozen ? "pause" : "resume";
	cleanup_state husk_state_t st = {0};
	cleanup_close int dirfd = open_in_status(
	    root, id, what, frozen ? HUSK_STATUS_RUNNING : HUSK_STATUS_PAUSED, &st, err);
	husk_cgroup_t cg;

	if (dirfd < 0 || cgroup_of(&st, what, &cg, err) < 0)
		return -1;
	if (husk_cgroup_freeze(&cg, frozen, err) < 0)
		return husk_error_wrap(err, "%s container \"%s\"", what, id);
	return 0;
}

int husk_container_pause(const char *root, const char *id, husk_error_t *err)
{
	return set_frozen(root, id, true, err);
}

int husk_container_resume(const char *root, const char *id, husk_error_t *err)
{
	return set_frozen(root, id, false, err);
}

/* ---------------------------------------------------------------- update */

/* v2 reads "max" (UINT64_MAX); v1 reads the page counter's maximum, 2^63 - 4096 on x86-64.
 * No real limit comes near 2^62. */
static bool is_unlimited(uint64_t limit)
{
	return limit >= (1ULL << 62);
}

/*
 * With swap accounting, memsw must stay >= the memory limit. When swap is disabled
 * (memsw == limit), a new limit alone would either be refused (raised above memsw) or
 * silently enable swap (lowered): move memsw along with it instead.
 */
static void keep_swap_disabled(const husk_cgroup_t *cg, const husk_resources_t *res,
			       husk_memory_t *mem)
{
	cleanup_error husk_error_t ignored = {0};
	husk_cgroup_stats_t cur;

	if (res->memory == NULL || !res->memory->has_limit || res->memory->limit <= 0 ||
	    (res->memory->has_swap && res->memory->swap != 0))
		return;
	if (husk_cgroup_stats(cg, &cur, &ignored) < 0 || !cur.has_memory ||
	    is_unlimited(cur.memory_limit) || cur.swap_limit != cur.memory_limit)
		return;
	*mem = *res->memory;
	mem->has_swap = true;
	mem->swap = res->memory->limit;
}

int husk_container_update(const char *root, const char *id, const husk_resources_t *res,
			  husk_error_t *err)
{
	cleanup_state husk_state_t st = {0};
	cleanup_close int dirfd = open_in_status(root, id, "update", -1, &st, err);
	cleanup_spec husk_spec_t *spec = NULL;
	husk_resources_t effective;
	husk_memory_t mem;
	husk_cgroup_t cg;

	if (dirfd < 0 || cgroup_of(&st, "update", &cg, err) < 0)
		return -1;
	if (res == NULL)
		return 0;
	/* Device rules are rebuilt from scratch on v1: linux.devices must be allowed again. */
	if (res->devices_len > 0) {
		if (husk_state_load_spec(dirfd, &spec, err) < 0)
			return husk_error_wrap(err, "update container \"%s\"", id);
		if (spec->linux_) {
			cg.devices = spec->linux_->devices;
			cg.devices_len = spec->linux_->devices_len;
		}
	}
	effective = *res;
	mem = (husk_memory_t){0};
	keep_swap_disabled(&cg, res, &mem);
	if (mem.has_swap)
		effective.memory = &mem;
	if (husk_cgroup_update(&cg, &effective, err) < 0)
		return husk_error_wrap(err, "update container \"%s\"", id);
	return 0;
}

/* ---------------------------------------------------------------- stats and events */

int husk_container_stats(const char *root, const char *id, husk_cgroup_stats_t *st,
			 husk_error_t *err)
{
	cleanup_state husk_state_t state = {0};
	cleanup_close int dirfd = open_in_status(root, id, "get stats of", -1, &state, err);
	husk_cgroup_t cg;

	if (dirfd < 0 || cgroup_of(&state, "get stats of", &cg, err) < 0)
		return -1;
	if (husk_cgroup_stats(&cg, st, err) < 0)
		return husk_error_wrap(err, "stats of container \"%s\"", id);
	return 0;
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* A pidfd of the init, checked to be the same process the state names; -1 if gone or if
 * pidfds are not available (the caller then polls /proc). */
static int open_init_pidfd(const husk_state_t *st)
{
	int fd = husk_pidfd_open(st->pid);

	if (fd >= 0 && !husk_pid_is(st->pid, st->pid_start)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Wait up to ms; true when the init is still alive afterwards. */
static bool wait_init(const husk_state_t *st, int pidfd, unsigned ms)
{
	if (pidfd >= 0) {
		struct pollfd p = {.fd = pidfd, .events = POLLIN};
		int r;
		do
			r = poll(&p, 1, (int)ms);
		while (r < 0 && errno == EINTR);
		/* A pidfd polls readable once the process has exited. */
		if (r > 0)
			return false;
	} else {
		struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
	}
	return husk_pid_is(st->pid, st->pid_start);
}

static int emit(husk_event_fn fn, void *data, husk_event_type_t type, const char *id,
		const husk_cgroup_stats_t *stats, husk_error_t *err)
{
	husk_event_t ev = {.type = type, .id = id, .stats = stats};
	return fn(&ev, data, err);
}

/* Snapshot what the stream needs, then let go of the lock: events may run for hours. */
static int events_prepare(const char *root, const char *id, husk_state_t *st, uint64_t *oom,
			  husk_error_t *err)
{
	cleanup_close int dirfd = open_in_status(root, id, "get events of", -1, st, err);
	husk_cgroup_stats_t cur;
	husk_cgroup_t cg;

	if (dirfd < 0 || cgroup_of(st, "get events of", &cg, err) < 0)
		return -1;
	if (husk_cgroup_stats(&cg, &cur, err) < 0)
		return husk_error_wrap(err, "events of container \"%s\"", id);
	*oom = cur.memory_oom_kill;
	return 0;
}

int husk_container_events(const char *root, const char *id, unsigned interval_ms, husk_event_fn fn,
			  void *data, husk_error_t *err)
{
	cleanup_state husk_state_t st = {0};
	cleanup_close int pidfd = -1;
	uint64_t last_oom = 0, next_stats;
	husk_cgroup_t cg;

	if (interval_ms == 0)
		return husk_error_set(err, EINVAL, "events: the interval must be positive");
	if (events_prepare(root, id, &st, &last_oom, err) < 0 ||
	    cgroup_of(&st, "get events of", &cg, err) < 0)
		return -1;
	pidfd = open_init_pidfd(&st);
	next_stats = now_ms() + interval_ms;
	for (;;) {
		cleanup_error husk_error_t stats_err = {0};
		husk_cgroup_stats_t cur;
		uint64_t now = now_ms();
		unsigned wait_ms = next_stats > now ? (unsigned)(next_stats - now) : 0;
		/* Liveness first: an OOM kill that ends the init is counted before it exits,
		 * so the stats read after a death still show it. */
		bool alive = wait_init(&st, pidfd, wait_ms < OOM_POLL_MS ? wait_ms : OOM_POLL_MS);
		int r = husk_cgroup_stats(&cg, &cur, &stats_err);

		if (r == 0 && cur.memory_oom_kill > last_oom) {
			last_oom = cur.memory_oom_kill;
			if (emit(fn, data, HUSK_EVENT_OOM, id, NULL, err) < 0)
				return -1;
		}
		if (!alive)
			return 0;
		if (r < 0) {
			*err = stats_err;
			stats_err = (husk_error_t){0};
			return husk_error_wrap(err, "events of container \"%s\"", id);
		}
		if (now_ms() >= next_stats) {
			next_stats += interval_ms;
			if (emit(fn, data, HUSK_EVENT_STATS, id, &cur, err) < 0)
				return -1;
		}
	}
}

/* ---------------------------------------------------------------- JSON */

static void json_u64(yajl_gen g, const char *key, uint64_t v)
{
	char buf[24];
	int n = snprintf(buf, sizeof buf, "%" PRIu64, v);

	husk_json_key(g, key);
	yajl_gen_number(g, buf, (size_t)n);
}

static void json_cpu(yajl_gen g, const husk_cgroup_stats_t *s)
{
	husk_json_key(g, "cpu");
	yajl_gen_map_open(g);
	husk_json_key(g, "usage");
	yajl_gen_map_open(g);
	json_u64(g, "total", s->cpu_usage_ns);
	json_u64(g, "kernel", s->cpu_system_ns);
	json_u64(g, "user", s->cpu_user_ns);
	yajl_gen_map_close(g);
	yajl_gen_map_close(g);
}

static void json_memory(yajl_gen g, const husk_cgroup_stats_t *s)
{
	husk_json_key(g, "memory");
	yajl_gen_map_open(g);
	husk_json_key(g, "usage");
	yajl_gen_map_open(g);
	json_u64(g, "limit", s->memory_limit);
	json_u64(g, "usage", s->memory_usage);
	json_u64(g, "max", s->memory_max_usage);
	json_u64(g, "failcnt", s->memory_failcnt);
	yajl_gen_map_close(g);
	husk_json_key(g, "swap");
	yajl_gen_map_open(g);
	json_u64(g, "limit", s->swap_limit);
	json_u64(g, "usage", s->swap_usage);
	yajl_gen_map_close(g);
	json_u64(g, "oom_kill", s->memory_oom_kill);
	yajl_gen_map_close(g);
}

static void json_pids(yajl_gen g, const husk_cgroup_stats_t *s)
{
	husk_json_key(g, "pids");
	yajl_gen_map_open(g);
	json_u64(g, "current", s->pids_current);
	/* runc reports an unlimited pids.max as 0. */
	json_u64(g, "limit", s->pids_limit == UINT64_MAX ? 0 : s->pids_limit);
	yajl_gen_map_close(g);
}

char *husk_event_json(const husk_event_t *ev)
{
	cleanup_json_gen yajl_gen g = husk_json_new(false);
	const husk_cgroup_stats_t *s = ev->stats;
	size_t len = 0;
	char *json;

	yajl_gen_map_open(g);
	husk_json_key_str(g, "type", ev->type == HUSK_EVENT_OOM ? "oom" : "stats");
	husk_json_key_str(g, "id", ev->id);
	if (ev->type == HUSK_EVENT_STATS && s) {
		husk_json_key(g, "data");
		yajl_gen_map_open(g);
		if (s->has_cpu)
			json_cpu(g, s);
		if (s->has_memory)
			json_memory(g, s);
		if (s->has_pids)
			json_pids(g, s);
		yajl_gen_map_close(g);
	}
	yajl_gen_map_close(g);
	json = husk_json_finish(g, &len);
	/* One event per line is the caller's framing to add. */
	if (len > 0 && json[len - 1] == '\n')
		json[len - 1] = '\0';
	return json;
}
