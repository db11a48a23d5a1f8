/* husk: cgroups: the systemd driver (--systemd-cgroup). The container's cgroup is a
 * transient unit: a scope with Delegate=yes holding the container's init (or a slice, when
 * linux.cgroupsPath names one), started over sd-bus with the resources systemd knows as
 * unit properties; everything else goes through cgroupfs on the same path, as runc and
 * crun do. libsystemd is dlopen()ed on first use, so only runs with --systemd-cgroup pay
 * for it; where no systemd answers, husk falls back to cgroupfs at the same path. */
#include "config.h"
#include "cgroup-internal.h"
#include "utils.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct husk_cgroup_systemd {
	void *bus;   /* sd_bus *, opaque here so that the pure parts need no libsystemd */
	bool direct; /* systemd's private socket: a peer, not a bus (no sender names) */
	char *unit;  /* "prefix-name.scope" or "a-b.slice" */
	char *slice; /* the slice a scope goes in */
	const husk_resources_t *res; /* borrowed from the spec, create only */
	bool foreign;		     /* the unit turned out to be somebody else's: never stop it */
};


/* ---------------------------------------------------------------- cgroupfs after systemd */

static bool is_scope(const struct husk_cgroup_systemd *s)
{
	size_t n = strlen(s->unit);
	return n > 6 && strcmp(s->unit + n - 6, ".scope") == 0;
}

/* v2: systemd's Delegate=yes enables the controllers it knows in the parent; anything else
 * a resource needs (hugetlb, rdma, misc) is enabled here, as runc does. */
static int apply_v2_after_start(const husk_cgroup_t *cg, pid_t pid, const husk_resources_t *res,
				husk_error_t *err)
{
	cleanup_free char *want = husk_cgroup_v2_needed(res, false);
	husk_cg_undo_t undo = {0};
	cleanup_close int fd = -1;
	int r;

	r = husk_cgroup_v2_make(HUSK_CGROUP_MNT, cg->path, want, &undo, err);
	husk_cg_undo_free(&undo);
	if (r < 0)
		return -1;
	if (!is_scope(cg->sd) && husk_cgroup_enter(cg, pid, err) < 0)
		return -1;
	if ((fd = husk_cg_open(HUSK_CGROUP_MNT, cg->path, false, err)) < 0)
		return -1;
	return husk_cgroup_v2_apply(fd, res, err);
}

/* v1/hybrid: systemd made the unit's cgroup in the hierarchies it manages; the others
 * (cpuset, freezer, net_cls, ...) are made here, and the pid joins them all. */
static int apply_v1_after_start(const husk_cgroup_t *cg, pid_t pid, const husk_resources_t *res,
				husk_error_t *err)
{
	if (husk_cgroup_v1_create(cg, res, err) < 0)
		return -1;
	return husk_cgroup_v1_enter(cg, pid, err);
}

static int apply_after_start(const husk_cgroup_t *cg, pid_t pid, husk_error_t *err)
{
	if (cg->mode == HUSK_CGROUP_MODE_UNIFIED)
		return apply_v2_after_start(cg, pid, cg->sd->res, err);
	return apply_v1_after_start(cg, pid, cg->sd->res, err);
}

#ifdef HAVE_SYSTEMD

#include <dlfcn.h>
#include <pthread.h>
#include <systemd/sd-bus.h>

#define SD_DEST "org.freedesktop.systemd1"
#define SD_PATH "/org/freedesktop/systemd1"
#define SD_MANAGER "org.freedesktop.systemd1.Manager"
#define SD_PRIVATE "unix:path=/run/systemd/private"
#define SD_CALL_TIMEOUT_USEC (10ULL * 1000000)
#define SD_JOB_TIMEOUT_USEC (10ULL * 1000000)

/* ---------------------------------------------------------------- libsystemd, on demand */

#define SD_SYMBOLS(X)                                                                              \
	X(sd_bus_new)                                                                              \
	X(sd_bus_set_address)                                                                      \
	X(sd_bus_start)                                                                            \
	X(sd_bus_open_system)                                                                      \
	X(sd_bus_flush_close_unref)                                                                \
	X(sd_bus_message_new_method_call)                                                          \
	X(sd_bus_message_append)                                                                   \
	X(sd_bus_message_append_basic)                                                             \
	X(sd_bus_message_append_array)                                                             \
	X(sd_bus_message_open_container)                                                           \
	X(sd_bus_message_close_container)                                                          \
	X(sd_bus_message_read)                                                                     \
	X(sd_bus_message_unref)                                                                    \
	X(sd_bus_call)                                                                             \
	X(sd_bus_add_match)                                                                        \
	X(sd_bus_slot_unref)                                                                       \
	X(sd_bus_process)                                                                          \
	X(sd_bus_wait)                                                                             \
	X(sd_bus_error_free)                                                                       \
	X(sd_bus_error_has_name)

#define SD_FIELD(name) __typeof__(name) *name;
static struct {
	SD_SYMBOLS(SD_FIELD)
} sd_api;
#undef SD_FIELD

/* Written once under pthread_once, read-only after: shared by every container of a
 * process without getting in each other's way. */
static char *sd_api_error;
static pthread_once_t sd_api_once = PTHREAD_ONCE_INIT;

#define SD(name) (sd_api.name)

static void sd_api_load(void)
{
	void *h = dlopen("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL);

	if (h == NULL) {
		const char *e = dlerror();
		sd_api_error = xstrdup(e ? e : "libsystemd.so.0: cannot load");
		return;
	}
#define SD_LOAD(name)                                                                              \
	if ((sd_api.name = (__typeof__(name) *)dlsym(h, #name)) == NULL) {                         \
		if (asprintf(&sd_api_error, "libsystemd.so.0 has no %s", #name) < 0)               \
			abort();                                                                   \
		return;                                                                            \
	}
	SD_SYMBOLS(SD_LOAD)
#undef SD_LOAD
}

static void bus_msg_unrefp(sd_bus_message **m)
{
	if (*m)
		SD(sd_bus_message_unref)(*m);
}

static void bus_slot_unrefp(sd_bus_slot **s)
{
	if (*s)
		SD(sd_bus_slot_unref)(*s);
}

static void bus_error_freep(sd_bus_error *e)
{
	SD(sd_bus_error_free)(e);
}

#define cleanup_bus_msg __attribute__((cleanup(bus_msg_unrefp)))
#define cleanup_bus_slot __attribute__((cleanup(bus_slot_unrefp)))
#define cleanup_bus_error __attribute__((cleanup(bus_error_freep)))

/* "what unit: message" from a failed call. */
static int bus_fail(husk_error_t *err, int r, const sd_bus_error *e, const char *what,
		    const char *unit)
{
	/* systemd's own message says it all; else the errno does. */
	if (e && e->message)
		return husk_error_set(err, 0, "systemd: %s \"%s\": %s", what, unit, e->message);
	return husk_error_set(err, r < 0 ? -r : EIO, "systemd: %s \"%s\"", what, unit);
}

/* ---------------------------------------------------------------- connection */

static int open_private(sd_bus **out)
{
	sd_bus *bus = NULL;
	int r = SD(sd_bus_new)(&bus);

	if (r >= 0)
		r = SD(sd_bus_set_address)(bus, SD_PRIVATE);
	if (r >= 0)
		r = SD(sd_bus_start)(bus);
	if (r < 0) {
		if (bus)
			SD(sd_bus_flush_close_unref)(bus);
		return r;
	}
	*out = bus;
	return 0;
}

/* As systemctl does as root: the private socket first (no dbus-daemon in the way), then
 * the system bus. 0, or -1 with *why saying what is missing. */
static int sd_connect(struct husk_cgroup_systemd *s, char **why)
{
	sd_bus *bus = NULL;
	int r1, r2;

	if (geteuid() != 0) {
		*why = xstrdup("not running as root (systemd's user bus is not supported)");
		return -1;
	}
	pthread_once(&sd_api_once, sd_api_load);
	if (sd_api_error) {
		if (asprintf(why, "cannot use libsystemd: %s", sd_api_error) < 0)
			abort();
		return -1;
	}
	r1 = open_private(&bus);
	if (r1 >= 0) {
		s->bus = bus;
		s->direct = true;
		return 0;
	}
	r2 = SD(sd_bus_open_system)(&bus);
	if (r2 >= 0) {
		s->bus = bus;
		s->direct = false;
		return 0;
	}
	if (asprintf(why, "no systemd on %s (%s) nor on the system bus (%s)",
		     SD_PRIVATE + strlen("unix:path="), strerror(-r1), strerror(-r2)) < 0)
		abort();
	return -1;
}

static void sd_disconnect(struct husk_cgroup_systemd *s)
{
	if (s->bus)
		SD(sd_bus_flush_close_unref)((sd_bus *)s->bus);
	s->bus = NULL;
}

static int new_call(struct husk_cgroup_systemd *s, const char *member, sd_bus_message **m)
{
	return SD(sd_bus_message_new_method_call)((sd_bus *)s->bus, m, SD_DEST, SD_PATH, SD_MANAGER,
						  member);
}

/* Manager.<member>(unit) with no other argument (GetUnit, ResetFailedUnit). */
static int call_on_unit(struct husk_cgroup_systemd *s, const char *member, sd_bus_error *e)
{
	cleanup_bus_msg sd_bus_message *m = NULL;
	cleanup_bus_msg sd_bus_message *reply = NULL;
	int r = new_call(s, member, &m);

	if (r >= 0)
		r = SD(sd_bus_message_append)(m, "s", s->unit);
	if (r >= 0)
		r = SD(sd_bus_call)((sd_bus *)s->bus, m, SD_CALL_TIMEOUT_USEC, e, &reply);
	return r;
}

/* 1 = the unit is loaded, 0 = no such unit, < 0 = systemd did not answer (e filled). */
static int unit_loaded(struct husk_cgroup_systemd *s, sd_bus_error *e)
{
	int r = call_on_unit(s, "GetUnit", e);

	if (r >= 0)
		return 1;
	if (SD(sd_bus_error_has_name)(e, "org.freedesktop.systemd1.NoSuchUnit")) {
		SD(sd_bus_error_free)(e);
		return 0;
	}
	return r;
}

static void reset_failed(struct husk_cgroup_systemd *s)
{
	cleanup_bus_error sd_bus_error e = SD_BUS_ERROR_NULL;
	/* Best effort: a unit that is not failed (or not loaded) has nothing to reset. */
	call_on_unit(s, "ResetFailedUnit", &e);
}

/* ---------------------------------------------------------------- properties on the bus */

static const char *prop_signature(husk_sd_type_t t)
{
	switch (t) {
	case HUSK_SD_BOOL:
		return "b";
	case HUSK_SD_U64:
		return "t";
	case HUSK_SD_STRING:
		return "s";
	case HUSK_SD_BYTES:
		return "ay";
	case HUSK_SD_U32S:
		return "au";
	case HUSK_SD_DEVICES:
		return "a(ss)";
	}
	return "";
}

static int append_devices(sd_bus_message *m, const husk_sd_prop_t *p)
{
	const char *const *pairs = p->data;
	int r = SD(sd_bus_message_open_container)(m, 'a', "(ss)");

	for (size_t i = 0; r >= 0 && i < p->len; i++)
		r = SD(sd_bus_message_append)(m, "(ss)", pairs[2 * i], pairs[2 * i + 1]);
	return r < 0 ? r : SD(sd_bus_message_close_container)(m);
}

static int append_value(sd_bus_message *m, const husk_sd_prop_t *p)
{
	int b = p->b;

	switch (p->type) {
	case HUSK_SD_BOOL:
		return SD(sd_bus_message_append_basic)(m, 'b', &b);
	case HUSK_SD_U64:
		return SD(sd_bus_message_append_basic)(m, 't', &p->u);
	case HUSK_SD_STRING:
		return SD(sd_bus_message_append_basic)(m, 's', p->s);
	case HUSK_SD_BYTES:
		return SD(sd_bus_message_append_array)(m, 'y', p->data, p->len);
	case HUSK_SD_U32S:
		return SD(sd_bus_message_append_array)(m, 'u', p->data, p->len * sizeof(uint32_t));
	case HUSK_SD_DEVICES:
		return append_devices(m, p);
	}
	return -EINVAL;
}

static int append_prop(sd_bus_message *m, const husk_sd_prop_t *p)
{
	int r = SD(sd_bus_message_open_container)(m, 'r', "sv");

	if (r >= 0)
		r = SD(sd_bus_message_append_basic)(m, 's', p->name);
	if (r >= 0)
		r = SD(sd_bus_message_open_container)(m, 'v', prop_signature(p->type));
	if (r >= 0)
		r = append_value(m, p);
	if (r >= 0)
		r = SD(sd_bus_message_close_container)(m);
	if (r >= 0)
		r = SD(sd_bus_message_close_container)(m);
	return r;
}

static int append_props(sd_bus_message *m, const husk_sd_props_t *props)
{
	int r = SD(sd_bus_message_open_container)(m, 'a', "(sv)");

	for (size_t i = 0; r >= 0 && i < props->len; i++)
		r = append_prop(m, &props->v[i]);
	if (r >= 0)
		r = SD(sd_bus_message_close_container)(m);
	return r;
}

/* ---------------------------------------------------------------- jobs */

typedef struct {
	const char *job; /* the object path the call returned */
	char *result;	 /* JobRemoved's result for it, heap */
} job_wait_t;

static int on_job_removed(sd_bus_message *m, void *data, sd_bus_error *ret_error)
{
	job_wait_t *w = data;
	uint32_t id;
	const char *path, *unit, *result;

	if (SD(sd_bus_message_read)(m, "uoss", &id, &path, &unit, &result) < 0)
		return 0;
	if (w->job && w->result == NULL && strcmp(path, w->job) == 0)
		w->result = xstrdup(result);
	return 0;
}

/* Before the call, so that a job finishing at once is not missed. On the private socket
 * messages carry no sender, and systemd sends its signals to every direct peer; on the
 * bus it sends JobRemoved to the job's creator. */
static int watch_jobs(struct husk_cgroup_systemd *s, sd_bus_slot **slot, job_wait_t *w)
{
	const char *rule = s->direct ? "type='signal',path='" SD_PATH "',interface='" SD_MANAGER
				       "',member='JobRemoved'"
				     : "type='signal',sender='" SD_DEST "',path='" SD_PATH
				       "',interface='" SD_MANAGER "',member='JobRemoved'";
	return SD(sd_bus_add_match)((sd_bus *)s->bus, slot, rule, on_job_removed, w);
}

static uint64_t now_usec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static int wait_job(struct husk_cgroup_systemd *s, job_wait_t *w, const char *what,
		    husk_error_t *err)
{
	uint64_t deadline = now_usec() + SD_JOB_TIMEOUT_USEC;

	while (w->result == NULL) {
		uint64_t now = now_usec();
		int r = SD(sd_bus_process)((sd_bus *)s->bus, NULL);
		if (r > 0)
			continue;
		if (r == 0 && now < deadline)
			r = SD(sd_bus_wait)((sd_bus *)s->bus, deadline - now);
		if (r < 0 && r != -EINTR)
			return bus_fail(err, r, NULL, what, s->unit);
		if (now >= deadline)
			return husk_error_set(err, 0,
					      "systemd: %s \"%s\": no answer for job %s in %llu s",
					      what, s->unit, w->job, SD_JOB_TIMEOUT_USEC / 1000000);
	}
	if (strcmp(w->result, "done") != 0)
		return husk_error_set(err, 0, "systemd: %s \"%s\": job %s", what, s->unit,
				      w->result);
	return 0;
}

/* Send a call that returns a job ("o"), and wait for the job to finish. e keeps the call's
 * error for the caller to look at its name. */
static int run_job(struct husk_cgroup_systemd *s, sd_bus_message *call, const char *what,
		   sd_bus_error *e, husk_error_t *err)
{
	cleanup_bus_slot sd_bus_slot *slot = NULL;
	cleanup_bus_msg sd_bus_message *reply = NULL;
	job_wait_t w = {0};
	const char *job = NULL;
	int r;

	if ((r = watch_jobs(s, &slot, &w)) < 0)
		return bus_fail(err, r, NULL, what, s->unit);
	r = SD(sd_bus_call)((sd_bus *)s->bus, call, SD_CALL_TIMEOUT_USEC, e, &reply);
	if (r >= 0)
		r = SD(sd_bus_message_read)(reply, "o", &job);
	if (r < 0)
		return bus_fail(err, r, e, what, s->unit);
	w.job = job;
	r = wait_job(s, &w, what, err);
	free(w.result);
	return r;
}

/* ---------------------------------------------------------------- the operations */

static int start_unit(struct husk_cgroup_systemd *s, const husk_sd_props_t *props,
		      husk_error_t *err)
{
	cleanup_bus_msg sd_bus_message *m = NULL;
	cleanup_bus_error sd_bus_error e = SD_BUS_ERROR_NULL;
	int r = new_call(s, "StartTransientUnit", &m);

	if (r >= 0)
		r = SD(sd_bus_message_append)(m, "ss", s->unit, "replace");
	if (r >= 0)
		r = append_props(m, props);
	if (r >= 0)
		r = SD(sd_bus_message_append)(m, "a(sa(sv))", 0);
	if (r < 0)
		return bus_fail(err, r, NULL, "start unit", s->unit);
	if (run_job(s, m, "start unit", &e, err) == 0)
		return 0;
	if (SD(sd_bus_error_has_name)(&e, "org.freedesktop.systemd1.UnitExists")) {
		/* Another container got there between our check and our start. */
		s->foreign = true;
		return husk_error_set(err, 0, "systemd: unit \"%s\" already exists", s->unit);
	}
	return -1;
}

static int stop_unit(struct husk_cgroup_systemd *s, husk_error_t *err)
{
	cleanup_bus_msg sd_bus_message *m = NULL;
	cleanup_bus_error sd_bus_error e = SD_BUS_ERROR_NULL;
	int r = new_call(s, "StopUnit", &m);

	if (r >= 0)
		r = SD(sd_bus_message_append)(m, "ss", s->unit, "replace");
	if (r < 0)
		return bus_fail(err, r, NULL, "stop unit", s->unit);
	if (run_job(s, m, "stop unit", &e, err) < 0) {
		/* Gone already: systemd collects an empty scope as soon as its last process
		 * exits, and a fallback never made one. */
		if (!SD(sd_bus_error_has_name)(&e, "org.freedesktop.systemd1.NoSuchUnit"))
			return -1;
		husk_error_clear(err);
	}
	reset_failed(s);
	return 0;
}

static int set_unit_properties(struct husk_cgroup_systemd *s, const husk_sd_props_t *props,
			       husk_error_t *err)
{
	cleanup_bus_msg sd_bus_message *m = NULL;
	cleanup_bus_msg sd_bus_message *reply = NULL;
	cleanup_bus_error sd_bus_error e = SD_BUS_ERROR_NULL;
	int r = new_call(s, "SetUnitProperties", &m);

	if (r >= 0)
		r = SD(sd_bus_message_append)(m, "sb", s->unit, 1);
	if (r >= 0)
		r = append_props(m, props);
	if (r >= 0)
		r = SD(sd_bus_call)((sd_bus *)s->bus, m, SD_CALL_TIMEOUT_USEC, &e, &reply);
	/* A unit that is not there (the create fell back to cgroupfs) has nothing to set. */
	if (r < 0 && SD(sd_bus_error_has_name)(&e, "org.freedesktop.systemd1.NoSuchUnit"))
		return 0;
	if (r < 0)
		return bus_fail(err, r, &e, "set properties of unit", s->unit);
	return 0;
}

/* Connected, and systemd answers: 1; no systemd: 0 with *why; -1: the unit exists. */
static int sd_open_checked(struct husk_cgroup_systemd *s, char **why, husk_error_t *err)
{
	cleanup_bus_error sd_bus_error e = SD_BUS_ERROR_NULL;
	int r;

	if (sd_connect(s, why) < 0)
		return 0;
	r = unit_loaded(s, &e);
	if (r > 0) {
		/* A leftover that failed is reset (and collected) once, as runc does. */
		reset_failed(s);
		r = unit_loaded(s, &e);
		if (r > 0)
			return husk_error_set(err, 0, "systemd: unit \"%s\" already exists",
					      s->unit);
	}
	if (r < 0) {
		if (asprintf(why, "systemd does not answer: %s",
			     e.message ? e.message : strerror(-r)) < 0)
			abort();
		sd_disconnect(s);
		return 0;
	}
	return 1;
}

#else /* !HAVE_SYSTEMD */

static void sd_disconnect(struct husk_cgroup_systemd *s)
{
}

static int sd_open_checked(struct husk_cgroup_systemd *s, char **why, husk_error_t *err)
{
	*why = xstrdup("husk was built without libsystemd");
	return 0;
}

static int sd_connect(struct husk_cgroup_systemd *s, char **why)
{
	*why = xstrdup("husk was built without libsystemd");
	return -1;
}

static int start_unit(struct husk_cgroup_systemd *s, const husk_sd_props_t *props,
		      husk_error_t *err)
{
	return husk_error_set(err, ENOTSUP, "systemd: husk was built without libsystemd");
}

static int stop_unit(struct husk_cgroup_systemd *s, husk_error_t *err)
{
	return 0;
}

static int set_unit_properties(struct husk_cgroup_systemd *s, const husk_sd_props_t *props,
			       husk_error_t *err)
{
	return 0;
}

#endif

/* ---------------------------------------------------------------- dispatch entry points */

static void sd_state_free(struct husk_cgroup_systemd *s)
{
	if (s == NULL)
		return;
	sd_disconnect(s);
	free(s->unit);
	free(s->slice);
	free(s);
}

static void sd_state_freep(struct husk_cgroup_systemd **s)
{
	sd_state_free(*s);
}

#define cleanup_sd_state __attribute__((cleanup(sd_state_freep)))

static struct husk_cgroup_systemd *sd_state_new(const char *path, husk_error_t *err)
{
	struct husk_cgroup_systemd *s = xmalloc0(sizeof *s);

	if (husk_sd_unit_from_path(path, &s->unit, &s->slice, err) < 0) {
		free(s);
		return NULL;
	}
	return s;
}

int husk_cgroup_systemd_prepare(husk_cgroup_t *cg, const husk_resources_t *res, husk_error_t *err)
{
	cleanup_sd_state struct husk_cgroup_systemd *s = NULL;
	cleanup_props husk_sd_props_t props = {0};
	char *why = NULL;
	int r;

	if ((s = sd_state_new(cg->path, err)) == NULL)
		return husk_error_wrap(err, "linux.cgroupsPath");
	/* Refused now rather than after the clone, with nothing to undo. */
	if (husk_sd_props_resources(&props, cg->mode, res, err) < 0)
		return -1;
	r = sd_open_checked(s, &why, err);
	if (r < 0)
		return -1;
	if (r == 0) {
		free(cg->systemd_fallback);
		cg->systemd_fallback = why;
		return 0;
	}
	s->res = res;
	cg->sd = steal_pointer(&s);
	return 1;
}

int husk_cgroup_systemd_start(const husk_cgroup_t *cg, pid_t pid, husk_error_t *err)
{
	struct husk_cgroup_systemd *s = cg->sd;
	cleanup_props husk_sd_props_t props = {0};
	cleanup_free char *description = NULL;

	if (asprintf(&description, "husk container %s", cg->id ? cg->id : s->unit) < 0)
		abort();
	husk_sd_props_unit(&props, cg->mode, s->unit, s->slice, description, pid);
	if (husk_sd_props_resources(&props, cg->mode, s->res, err) < 0)
		return -1;
	if (start_unit(s, &props, err) < 0)
		return -1;
	if (apply_after_start(cg, pid, err) < 0)
		return husk_error_wrap(err, "systemd unit \"%s\"", s->unit);
	return 0;
}

/* Another husk process (delete, update): the unit its path names, connected; NULL when the
 * path names no unit (it never had one) or no systemd answers now (cgroupfs then does
 * everything). */
static struct husk_cgroup_systemd *sd_state_for_path(const char *path)
{
	cleanup_sd_state struct husk_cgroup_systemd *s = NULL;
	cleanup_error husk_error_t ignored = {0};
	cleanup_free char *why = NULL;

	if ((s = sd_state_new(path, &ignored)) == NULL || sd_connect(s, &why) < 0)
		return NULL;
	return steal_pointer(&s);
}

int husk_cgroup_systemd_stop(const husk_cgroup_t *cg, husk_error_t *err)
{
	cleanup_sd_state struct husk_cgroup_systemd *local = NULL;
	struct husk_cgroup_systemd *s = cg->sd;

	/* This create found no systemd: there is no unit to stop. */
	if (cg->systemd_fallback)
		return 0;
	if (s && s->foreign)
		return 1;
	if (s == NULL && (s = local = sd_state_for_path(cg->path)) == NULL)
		return 0;
	return stop_unit(s, err);
}

int husk_cgroup_systemd_set(const husk_cgroup_t *cg, const husk_resources_t *res, husk_error_t *err)
{
	cleanup_sd_state struct husk_cgroup_systemd *local = NULL;
	cleanup_props husk_sd_props_t props = {0};
	struct husk_cgroup_systemd *s = cg->sd;

	if (husk_sd_props_resources(&props, cg->mode, res, err) < 0)
		return -1;
	if (s == NULL && (s = local = sd_state_for_path(cg->path)) == NULL)
		return 0;
	return set_unit_properties(s, &props, err);
}

void husk_cgroup_systemd_free(husk_cgroup_t *cg)
{
	sd_state_free(cg->sd);
	cg->sd = NULL;
	free(cg->systemd_fallback);
	cg->systemd_fallback = NULL;
}
