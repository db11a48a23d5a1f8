/* husk: cgroups: the systemd driver's pure parts — unit and slice names from a cgroup path,
 * conversions of linux.resources into unit property values, and the property lists that
 * cgroup-systemd.c sends over sd-bus. No libsystemd here: unit-tested on any host. */
#include "config.h"
#include "cgroup-internal.h"
#include "utils.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Above this a cpu list is surely a typo: systemd's own limit is 8192 too. */
#define SD_MAX_CPUS 8192
#define SD_UNIT_NAME_MAX 255

/* ---------------------------------------------------------------- pure conversions */

static bool unit_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       strchr(":-_.\\", c) != NULL;
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n > m && strcmp(s + n - m, suffix) == 0;
}

static int check_unit_name(const char *unit, husk_error_t *err)
{
	size_t len = strlen(unit);

	if (!has_suffix(unit, ".scope") && !has_suffix(unit, ".slice"))
		return husk_error_set(err, EINVAL, "systemd unit \"%s\": not a scope or a slice",
				      unit);
	if (len > SD_UNIT_NAME_MAX)
		return husk_error_set(err, EINVAL, "systemd unit \"%s\": name longer than %d", unit,
				      SD_UNIT_NAME_MAX);
	for (const char *p = unit; *p; p++)
		if (!unit_char_ok(*p))
			return husk_error_set(
			    err, EINVAL, "systemd unit \"%s\": invalid character '%c'", unit, *p);
	return 0;
}

/* A slice's place in the tree is its name: "a-b.slice" must be at "/a.slice/a-b.slice". */
static int check_slice_at(const char *slice, const char *expected, const char *what,
			  husk_error_t *err)
{
	cleanup_free char *path = NULL;

	if (husk_cgroup_expand_slice(slice, &path, err) < 0)
		return -1;
	if (strcmp(path, expected) != 0)
		return husk_error_set(err, EINVAL,
				      "systemd %s \"%s\" lives at \"%s\", not at \"%s\" (a slice's "
				      "parent is given by its name)",
				      what, slice, *path ? path : "/", *expected ? expected : "/");
	return 0;
}

int husk_sd_unit_from_path(const char *path, char **unit, char **slice, husk_error_t *err)
{
	const char *last = strrchr(path, '/');
	cleanup_free char *parent = NULL;
	cleanup_free char *parent_slice = NULL;
	const char *pslash;

	if (path[0] != '/' || last == NULL || last[1] == '\0')
		return husk_error_set(err, EINVAL, "systemd cgroup \"%s\": no unit in the path",
				      path);
	if (check_unit_name(last + 1, err) < 0)
		return -1;
	parent = strndup(path, (size_t)(last - path));
	if (parent == NULL)
		abort();
	pslash = strrchr(parent, '/');
	parent_slice = xstrdup(pslash ? pslash + 1 : "-.slice");
	if (check_slice_at(parent_slice, parent, "slice", err) < 0)
		return -1;
	if (has_suffix(last + 1, ".slice") && check_slice_at(last + 1, path, "slice unit", err) < 0)
		return -1;
	*unit = xstrdup(last + 1);
	*slice = steal_pointer(&parent_slice);
	return 0;
}

uint64_t husk_sd_cpu_quota_per_sec(int64_t quota, uint64_t period)
{
	unsigned __int128 usec;

	if (quota < 0)
		return UINT64_MAX;
	if (period == 0)
		period = 100000;
	usec = (unsigned __int128)quota * 1000000 / period;
	/* systemd keeps CPUQuota= as a percentage: a fraction of 1% would be lost, and the
	 * quota it then writes would be lower than asked. */
	if (usec % 10000)
		usec = (usec / 10000 + 1) * 10000;
	return usec >= UINT64_MAX ? UINT64_MAX - 1 : (uint64_t)usec;
}

static void mask_set(uint8_t *mask, unsigned long cpu)
{
	mask[cpu / 8] |= (uint8_t)(1u << (cpu % 8));
}

/* One "N", "N-M" or "N-M:used/group" element (already validated); returns its end. */
static const char *mask_add_range(uint8_t *mask, const char *p, unsigned long *top)
{
	char *end;
	unsigned long a = strtoul(p, &end, 10), b = a, used = 1, group = 1;

	if (*end == '-')
		b = strtoul(end + 1, &end, 10);
	if (*end == ':') {
		used = strtoul(end + 1, &end, 10);
		group = strtoul(end + 1, &end, 10);
	}
	if (b >= SD_MAX_CPUS) {
		*top = b;
		return NULL;
	}
	for (unsigned long i = a; i <= b; i++)
		if ((i - a) % group < used)
			mask_set(mask, i);
	if (b + 1 > *top)
		*top = b + 1;
	return end;
}

int husk_sd_cpu_list_to_mask(const char *list, const char *field, uint8_t **mask, size_t *len,
			     husk_error_t *err)
{
	cleanup_free uint8_t *m = xmalloc0(SD_MAX_CPUS / 8);
	unsigned long top = 0;

	*mask = NULL;
	*len = 0;
	if (husk_cgroup_check_cpu_list(list, field, err) < 0)
		return -1;
	for (const char *p = list; p && *p && *p != '\n';) {
		p = mask_add_range(m, p, &top);
		if (p == NULL)
			return husk_error_set(err, EINVAL, "%s: cpu %lu in \"%s\" is above %d",
					      field, top, list, SD_MAX_CPUS - 1);
		if (*p == ',')
			p++;
	}
	*len = (top + 7) / 8;
	*mask = *len ? steal_pointer(&m) : NULL;
	return 0;
}

/* ---------------------------------------------------------------- properties */

static husk_sd_prop_t *prop_add(husk_sd_props_t *p, const char *name, husk_sd_type_t type)
{
	husk_sd_prop_t *n = xrealloc(p->v, (p->len + 1) * sizeof *p->v);

	p->v = n;
	n = &p->v[p->len++];
	memset(n, 0, sizeof *n);
	n->name = name;
	n->type = type;
	return n;
}

static void prop_bool(husk_sd_props_t *p, const char *name, bool b)
{
	prop_add(p, name, HUSK_SD_BOOL)->b = b;
}

static void prop_u64(husk_sd_props_t *p, const char *name, uint64_t u)
{
	prop_add(p, name, HUSK_SD_U64)->u = u;
}

static void prop_string(husk_sd_props_t *p, const char *name, const char *s)
{
	prop_add(p, name, HUSK_SD_STRING)->s = xstrdup(s);
}

/* An unlimited spec value (< 0) is systemd's "infinity". */
static uint64_t limit_or_infinity(int64_t v)
{
	return v < 0 ? UINT64_MAX : (uint64_t)v;
}

/*
 * v1: with Delegate=yes the devices controller is in the unit's mask, and whenever systemd
 * re-applies the unit (a daemon-reload, a set-property) it rewrites devices.allow: to "a"
 * (everything) unless the unit has a device policy. So the unit gets a strict policy with
 * the devices every container has; husk's full rules (linux.resources.devices, and
 * linux.devices) go to devices.allow through cgroupfs after the start. After such a rewrite
 * a container is left with the defaults only: less than it was given, never more. (On v2
 * systemd only detaches its own BPF program and husk's stays.)
 */
static void props_v1_devices(husk_sd_props_t *p)
{
	static const char *const defaults[] = {
	    "/dev/null", "rwm", "/dev/zero",	"rwm", "/dev/full", "rwm", "/dev/random", "rwm",
	    "/dev/urandom", "rwm", "/dev/tty", "rwm", "/dev/console", "rwm", "/dev/ptmx", "rwm",
	    "char-pts", "rwm",
	};
	husk_sd_prop_t *allow;

	prop_string(p, "DevicePolicy", "strict");
	allow = prop_add(p, "DeviceAllow", HUSK_SD_DEVICES);
	allow->data = xmalloc0(sizeof defaults);
	memcpy(allow->data, defaults, sizeof defaults);
	allow->len = sizeof defaults / sizeof defaults[0] / 2;
}

void husk_sd_props_unit(husk_sd_props_t *p, husk_cgroup_mode_t mode, const char *unit,
			const char *slice, const char *description, pid_t pid)
{
	bool scope = has_suffix(unit, ".scope");

	prop_string(p, "Description", description);
	if (scope) {
		/* A slice's parent is its name; setting Slice= on one is refused. */
		prop_string(p, "Slice", slice);
		/* The container's cgroup is husk's to manage below the unit (runc, crun). */
		prop_bool(p, "Delegate", true);
	}
	if (scope && pid > 0) {
		husk_sd_prop_t *pids = prop_add(p, "PIDs", HUSK_SD_U32S);
		uint32_t *v = xmalloc0(sizeof *v);
		*v = (uint32_t)pid;
		pids->data = v;
		pids->len = 1;
	}
	/* No ordering after basic.target nor Conflicts=shutdown.target: a container may start
	 * early at boot and must not be stopped by systemd's own shutdown logic first. */
	prop_bool(p, "DefaultDependencies", false);
	prop_bool(p, "CPUAccounting", true);
	prop_bool(p, "MemoryAccounting", true);
	prop_bool(p, "TasksAccounting", true);
	prop_bool(p, mode == HUSK_CGROUP_MODE_UNIFIED ? "IOAccounting" : "BlockIOAccounting", true);
	if (mode != HUSK_CGROUP_MODE_UNIFIED)
		props_v1_devices(p);
}

static int props_memory(husk_sd_props_t *p, bool v2, const husk_memory_t *m, husk_error_t *err)
{
	int64_t swap;
	bool swap_set;

	if (m->has_limit && m->limit != 0)
		prop_u64(p, v2 ? "MemoryMax" : "MemoryLimit", limit_or_infinity(m->limit));
	if (!v2)
		return 0;
	if (m->has_reservation && m->reservation != 0)
		prop_u64(p, "MemoryLow", limit_or_infinity(m->reservation));
	if (husk_cgroup_swap_to_v2(m->has_swap, m->swap, m->has_limit, m->limit, &swap, &swap_set,
				   err) < 0)
		return -1;
	if (swap_set)
		prop_u64(p, "MemorySwapMax", limit_or_infinity(swap));
	return 0;
}

static int prop_cpu_mask(husk_sd_props_t *p, const char *name, const char *list, const char *field,
			 husk_error_t *err)
{
	uint8_t *mask = NULL;
	size_t len = 0;
	husk_sd_prop_t *prop;

	if (list == NULL || *list == '\0')
		return 0;
	if (husk_sd_cpu_list_to_mask(list, field, &mask, &len, err) < 0)
		return -1;
	prop = prop_add(p, name, HUSK_SD_BYTES);
	prop->data = mask;
	prop->len = len;
	return 0;
}

static int props_cpu(husk_sd_props_t *p, bool v2, const husk_cpu_t *c, husk_error_t *err)
{
	if (c->has_shares && c->shares != 0) {
		if (v2)
			prop_u64(p, "CPUWeight", husk_cgroup_shares_to_weight(c->shares));
		else
			prop_u64(p, "CPUShares", c->shares);
	}
	if (c->has_quota && c->quota != 0)
		prop_u64(p, "CPUQuotaPerSecUSec",
			 husk_sd_cpu_quota_per_sec(c->quota, c->has_period ? c->period : 0));
	if (c->has_period && c->period != 0)
		prop_u64(p, "CPUQuotaPeriodUSec", c->period);
	/* systemd's cpuset properties exist for cgroup v2 only. */
	if (!v2)
		return 0;
	if (prop_cpu_mask(p, "AllowedCPUs", c->cpus, "linux.resources.cpu.cpus", err) < 0 ||
	    prop_cpu_mask(p, "AllowedMemoryNodes", c->mems, "linux.resources.cpu.mems", err) < 0)
		return -1;
	return 0;
}

int husk_sd_props_resources(husk_sd_props_t *p, husk_cgroup_mode_t mode,
			    const husk_resources_t *res, husk_error_t *err)
{
	bool v2 = mode == HUSK_CGROUP_MODE_UNIFIED;

	if (res == NULL)
		return 0;
	if (res->memory && props_memory(p, v2, res->memory, err) < 0)
		return -1;
	if (res->cpu && props_cpu(p, v2, res->cpu, err) < 0)
		return -1;
	/* systemd refuses TasksMax=0; a limit of 0 is left to pids.max alone. */
	if (res->has_pids_limit && res->pids_limit != 0)
		prop_u64(p, "TasksMax", limit_or_infinity(res->pids_limit));
	if (res->block_io && res->block_io->has_weight && res->block_io->weight != 0) {
		if (v2)
			prop_u64(p, "IOWeight",
				 husk_cgroup_blkio_to_io_weight(res->block_io->weight));
		else
			prop_u64(p, "BlockIOWeight", res->block_io->weight);
	}
	return 0;
}

const husk_sd_prop_t *husk_sd_props_find(const husk_sd_props_t *p, const char *name)
{
	for (size_t i = 0; i < p->len; i++)
		if (strcmp(p->v[i].name, name) == 0)
			return &p->v[i];
	return NULL;
}

void husk_sd_props_free(husk_sd_props_t *p)
{
	for (size_t i = 0; i < p->len; i++) {
		free(p->v[i].s);
		free(p->v[i].data);
	}
	free(p->v);
	p->v = NULL;
	p->len = 0;
}
