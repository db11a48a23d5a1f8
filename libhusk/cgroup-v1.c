/* husk: cgroups: the cgroup v1 manager (legacy, and hybrid with its unified hierarchy). */
#include "config.h"
#include "cgroup-internal.h"
#include "utils.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define FREEZE_TIMEOUT_MS 10000
#define MAX_HIERARCHIES 32

enum {
	CG_CPU = 1u << 0,
	CG_CPUACCT = 1u << 1,
	CG_CPUSET = 1u << 2,
	CG_MEMORY = 1u << 3,
	CG_PIDS = 1u << 4,
	CG_BLKIO = 1u << 5,
	CG_DEVICES = 1u << 6,
	CG_FREEZER = 1u << 7,
	CG_HUGETLB = 1u << 8,
	CG_NET_CLS = 1u << 9,
	CG_NET_PRIO = 1u << 10,
	CG_PERF_EVENT = 1u << 11,
	CG_RDMA = 1u << 12,
	CG_NAME_SYSTEMD = 1u << 13,
	CG_UNIFIED = 1u << 14, /* the hybrid's cgroup2 mount */
};

static const struct {
	const char *name;
	unsigned bit;
} managed[] = {
    {"cpu", CG_CPU},	       {"cpuacct", CG_CPUACCT},
    {"cpuset", CG_CPUSET},     {"memory", CG_MEMORY},
    {"pids", CG_PIDS},	       {"blkio", CG_BLKIO},
    {"devices", CG_DEVICES},   {"freezer", CG_FREEZER},
    {"hugetlb", CG_HUGETLB},   {"net_cls", CG_NET_CLS},
    {"net_prio", CG_NET_PRIO}, {"perf_event", CG_PERF_EVENT},
    {"rdma", CG_RDMA},	       {"name=systemd", CG_NAME_SYSTEMD},
};

typedef struct {
	char *mnt;
	unsigned mask;
} hier_t;

typedef struct {
	hier_t v[MAX_HIERARCHIES];
	size_t len;
	unsigned all; /* union of the masks */
} layout_t;

static void layout_free(layout_t *l)
{
	for (size_t i = 0; i < l->len; i++)
		free(l->v[i].mnt);
	l->len = 0;
}

#define cleanup_layout __attribute__((cleanup(layout_free)))

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape_octal(char *s)
{
	char *o = s;
	for (char *p = s; *p; p++) {
		if (p[0] == '\\' && p[1] >= '0' && p[1] <= '7' && p[2] >= '0' && p[2] <= '7' &&
		    p[3] >= '0' && p[3] <= '7') {
			*o++ = (char)(((p[1] - '0') << 6) | ((p[2] - '0') << 3) | (p[3] - '0'));
			p += 3;
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
}

static unsigned controllers_of(const char *superopts)
{
	cleanup_free char *copy = xstrdup(superopts);
	unsigned mask = 0;

	for (char *save = NULL, *o = strtok_r(copy, ",", &save); o; o = strtok_r(NULL, ",", &save))
		for (size_t i = 0; i < sizeof managed / sizeof managed[0]; i++)
			if (strcmp(o, managed[i].name) == 0)
				mask |= managed[i].bit;
	return mask;
}

static void layout_add(layout_t *l, const char *mnt, unsigned mask)
{
	/* Bind mounts of one hierarchy show up twice: first one wins. */
	for (size_t i = 0; i < l->len; i++)
		if (l->v[i].mask == mask)
			return;
	if (l->len == MAX_HIERARCHIES)
		return;
	l->v[l->len].mnt = xstrdup(mnt);
	l->v[l->len].mask = mask;
	l->len++;
	l->all |= mask;
}

/* One mountinfo line: "ID PARENT M:N ROOT MNT OPTS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTS". */
static void parse_mountinfo_line(layout_t *l, char *line)
{
	char *fields[6] = {0};
	char *save = NULL, *tok, *fstype, *superopts;
	size_t n = 0;
	unsigned mask;

	for (tok = strtok_r(line, " ", &save); tok && n < 6; tok = strtok_r(NULL, " ", &save))
		fields[n++] = tok;
	if (n < 6)
		return;
	while (tok && strcmp(tok, "-") != 0)
		tok = strtok_r(NULL, " ", &save);
	if (tok == NULL || (fstype = strtok_r(NULL, " ", &save)) == NULL ||
	    strtok_r(NULL, " ", &save) == NULL ||
	    (superopts = strtok_r(NULL, " \n", &save)) == NULL)
		return;
	if (strcmp(fstype, "cgroup") != 0)
		return;
	unescape_octal(fields[4]);
	if (strncmp(fields[4], HUSK_CGROUP_MNT "/", sizeof(HUSK_CGROUP_MNT)) != 0)
		return;
	mask = controllers_of(superopts);
	if (mask)
		layout_add(l, fields[4], mask);
}

static void layout_copy(layout_t *to, const layout_t *from)
{
	*to = *from;
	for (size_t i = 0; i < from->len; i++)
		to->v[i].mnt = xstrdup(from->v[i].mnt);
}

/* The hierarchies a husk process sees do not change while it runs (create reads them twice:
 * to make the cgroup, then to join it): mountinfo is parsed once per process and mode. */
static int layout_load(const husk_cgroup_t *cg, layout_t *l, husk_error_t *err)
{
	static layout_t cache;
	static husk_cgroup_mode_t cache_mode;
	cleanup_free char *buf = NULL;

	if (cache.len > 0 && cache_mode == cg->mode) {
		layout_copy(l, &cache);
		return 0;
	}
	memset(l, 0, sizeof *l);
	if (husk_read_file_at(AT_FDCWD, "/proc/self/mountinfo", &buf, NULL, err) < 0)
		return -1;
	/* The unified hierarchy goes first: its cgroup.procs lists every process once. */
	if (cg->mode == HUSK_CGROUP_MODE_HYBRID)
		layout_add(l, HUSK_CGROUP_HYBRID_UNIFIED_MNT, CG_UNIFIED);
	for (char *save = NULL, *line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		parse_mountinfo_line(l, line);
	if (l->len == 0)
		return husk_error_set(err, ENOENT, "no cgroup hierarchy mounted under %s",
				      HUSK_CGROUP_MNT);
	layout_free(&cache);
	layout_copy(&cache, l);
	cache_mode = cg->mode;
	return 0;
}

static const hier_t *layout_find(const layout_t *l, unsigned bit)
{
	for (size_t i = 0; i < l->len; i++)
		if (l->v[i].mask & bit)
			return &l->v[i];
	return NULL;
}

/* The cgroup's directory in the hierarchy holding `bit`; -1 with ENOENT set in err when that
 * controller is not mounted (callers decide whether that matters). */
static int open_ctl(const layout_t *l, unsigned bit, const char *path, const char *field,
		    husk_error_t *err)
{
	const hier_t *h = layout_find(l, bit);
	const char *name = "?";

	for (size_t i = 0; i < sizeof managed / sizeof managed[0]; i++)
		if (managed[i].bit == bit)
			name = managed[i].name;
	if (h == NULL)
		return husk_error_set(err, ENOENT, "%s: the %s controller is not mounted", field,
				      name);
	return husk_cg_open(h->mnt, path, false, err);
}

/* ---------------------------------------------------------------- creation */

static int fill_cpuset_depth(int dirfd, int parentfd, int depth, husk_error_t *err);

/* The parent's value, filled first when empty: a parent that another husk has just
 * created may not be filled yet, and copying its empty value would leave us a cpuset that
 * refuses every task (ENOSPC). */
static int read_parent_cpuset(int parentfd, const char *file, int depth, char **value,
			      husk_error_t *err)
{
	cleanup_close int grandparent = -1;

	if (husk_cg_read(parentfd, file, value, err) < 0)
		return -1;
	if (**value || depth >= 32)
		return 0;
	grandparent = openat(parentfd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (grandparent < 0)
		return husk_error_errno(err, "open the parent of a cpuset cgroup");
	free(*value);
	*value = NULL;
	if (fill_cpuset_depth(parentfd, grandparent, depth + 1, err) < 0)
		return -1;
	return husk_cg_read(parentfd, file, value, err);
}

static int fill_cpuset_depth(int dirfd, int parentfd, int depth, husk_error_t *err)
{
	static const char *const files[] = {"cpuset.cpus", "cpuset.mems"};

	for (size_t i = 0; i < 2; i++) {
		cleanup_free char *own = NULL;
		cleanup_free char *parent = NULL;
		if (husk_cg_read(dirfd, files[i], &own, err) < 0)
			return -1;
		if (*own)
			continue;
		if (read_parent_cpuset(parentfd, files[i], depth, &parent, err) < 0 ||
		    husk_cg_write(dirfd, files[i], parent, NULL, err) < 0)
			return -1;
	}
	return 0;
}

/* A new cpuset cgroup starts with empty cpus/mems and refuses tasks until they are set. */
static int fill_cpuset(int dirfd, int parentfd, husk_error_t *err)
{
	return fill_cpuset_depth(dirfd, parentfd, 0, err);
}

/* ---------------------------------------------------------------- resources */

static int write_i64(int fd, const char *file, int64_t v, const char *field, husk_error_t *err)
{
	return husk_cg_writef(fd, file, field, err, "%" PRId64, v);
}

static int write_u64(int fd, const char *file, uint64_t v, const char *field, husk_error_t *err)
{
	return husk_cg_writef(fd, file, field, err, "%" PRIu64, v);
}

static int set_memory_and_swap(int fd, const husk_memory_t *m, husk_error_t *err)
{
	static const char lim[] = "memory.limit_in_bytes", sw[] = "memory.memsw.limit_in_bytes";
	static const char flim[] = "linux.resources.memory.limit";
	static const char fsw[] = "linux.resources.memory.swap";
	bool memsw = husk_cg_exists(fd, sw);
	int64_t limit = m->has_limit ? m->limit : 0;
	int64_t swap = m->has_swap ? m->swap : 0;
	uint64_t current;

	/* Unlimited memory with swap unspecified means unlimited memory+swap too; and without
	 * swap accounting (no memsw file) a swap limit is ignored, as runc does. */
	if (limit == -1 && swap == 0)
		swap = -1;
	if (!memsw)
		swap = 0;
	if (limit != 0 && swap != 0) {
		if (husk_cg_read_u64(fd, lim, &current, err) < 0)
			return -1;
		/* memsw must stay >= limit after each single write. */
		if (swap == -1 || current < (uint64_t)swap) {
			if (write_i64(fd, sw, swap, fsw, err) < 0 ||
			    write_i64(fd, lim, limit, flim, err) < 0)
				return -1;
			return 0;
		}
	}
	if (limit != 0 && write_i64(fd, lim, limit, flim, err) < 0)
		return -1;
	if (swap != 0 && write_i64(fd, sw, swap, fsw, err) < 0)
		return -1;
	return 0;
}

static int v1_memory(int fd, const husk_memory_t *m, husk_error_t *err)
{
	if (set_memory_and_swap(fd, m, err) < 0)
		return -1;
	if (m->has_reservation && m->reservation != 0 &&
	    write_i64(fd, "memory.soft_limit_in_bytes", m->reservation,
		      "linux.resources.memory.reservation", err) < 0)
		return -1;
	/* memory.kmem.limit_in_bytes is gone from the kernel (5.16); runc ignores `kernel`. */
	if (m->has_kernel_tcp && m->kernel_tcp != 0 &&
	    write_i64(fd, "memory.kmem.tcp.limit_in_bytes", m->kernel_tcp,
		      "linux.resources.memory.kernelTCP", err) < 0)
		return -1;
	if (m->has_swappiness && write_u64(fd, "memory.swappiness", m->swappiness,
					   "linux.resources.memory.swappiness", err) < 0)
		return -1;
	if (m->has_disable_oom_killer &&
	    husk_cg_write(fd, "memory.oom_control", m->disable_oom_killer ? "1" : "0",
			  "linux.resources.memory.disableOOMKiller", err) < 0)
		return -1;
	if (m->has_use_hierarchy &&
	    husk_cg_write(fd, "memory.use_hierarchy", m->use_hierarchy ? "1" : "0",
			  "linux.resources.memory.useHierarchy", err) < 0)
		return -1;
	return 0;
}

/*
 * A period and its budget (cfs quota, rt runtime) are checked against each other by the
 * kernel at every write; the order that works depends on the old values, so try the period
 * first and, if refused, the budget first.
 */
static int write_period_pair(int fd, bool has_period, uint64_t period, const char *pfile,
			     const char *pfield, bool has_budget, int64_t budget, const char *bfile,
			     const char *bfield, husk_error_t *err)
{
	if (has_period && period != 0) {
		cleanup_error husk_error_t first = {0};
		if (write_u64(fd, pfile, period, pfield, &first) < 0) {
			if (!has_budget || budget == 0 || first.errnum != EINVAL) {
				*err = first;
				first.msg = NULL;
				return -1;
			}
			if (write_i64(fd, bfile, budget, bfield, err) < 0 ||
			    write_u64(fd, pfile, period, pfield, err) < 0)
				return -1;
			return 0;
		}
	}
	if (has_budget && budget != 0 && write_i64(fd, bfile, budget, bfield, err) < 0)
		return -1;
	return 0;
}

static int v1_cpu(int fd, const husk_cpu_t *c, husk_error_t *err)
{
	if (c->has_shares && c->shares != 0 &&
	    write_u64(fd, "cpu.shares", c->shares, "linux.resources.cpu.shares", err) < 0)
		return -1;
	if (write_period_pair(fd, c->has_period, c->period, "cpu.cfs_period_us",
			      "linux.resources.cpu.period", c->has_quota,
			      c->quota < 0 ? -1 : c->quota, "cpu.cfs_quota_us",
			      "linux.resources.cpu.quota", err) < 0)
		return -1;
	if (c->has_burst &&
	    write_u64(fd, "cpu.cfs_burst_us", c->burst, "linux.resources.cpu.burst", err) < 0)
		return -1;
	if (write_period_pair(fd, c->has_realtime_period, c->realtime_period, "cpu.rt_period_us",
			      "linux.resources.cpu.realtimePeriod", c->has_realtime_runtime,
			      c->realtime_runtime, "cpu.rt_runtime_us",
			      "linux.resources.cpu.realtimeRuntime", err) < 0)
		return -1;
	if (c->has_idle && write_i64(fd, "cpu.idle", c->idle, "linux.resources.cpu.idle", err) < 0)
		return -1;
	return 0;
}

static int v1_cpuset(int fd, const husk_cpu_t *c, husk_error_t *err)
{
	if (c->cpus && *c->cpus &&
	    husk_cg_write(fd, "cpuset.cpus", c->cpus, "linux.resources.cpu.cpus", err) < 0)
		return -1;
	if (c->mems && *c->mems &&
	    husk_cg_write(fd, "cpuset.mems", c->mems, "linux.resources.cpu.mems", err) < 0)
		return -1;
	return 0;
}

static int v1_pids(int fd, int64_t limit, husk_error_t *err)
{
	/* The spec: 0 is a real limit; only negative means unlimited. */
	if (limit < 0)
		return husk_cg_write(fd, "pids.max", "max", "linux.resources.pids.limit", err);
	return write_i64(fd, "pids.max", limit, "linux.resources.pids.limit", err);
}

static int write_throttle(int fd, const char *file, const husk_throttle_device_t *v, size_t len,
			  const char *field, husk_error_t *err)
{
	for (size_t i = 0; i < len; i++)
		if (husk_cg_writef(fd, file, field, err, "%" PRId64 ":%" PRId64 " %" PRIu64,
				   v[i].major, v[i].minor, v[i].rate) < 0)
			return -1;
	return 0;
}

static int v1_blkio(int fd, const husk_blkio_t *b, husk_error_t *err)
{
	/* With BFQ as the only proportional scheduler the files carry its prefix. */
	bool plain = husk_cg_exists(fd, "blkio.weight");
	const char *wfile = plain ? "blkio.weight" : "blkio.bfq.weight";
	const char *wdfile = plain ? "blkio.weight_device" : "blkio.bfq.weight_device";

	if (b->has_weight && b->weight != 0 &&
	    write_u64(fd, wfile, b->weight, "linux.resources.blockIO.weight", err) < 0)
		return -1;
	if (b->has_leaf_weight && b->leaf_weight != 0 &&
	    write_u64(fd, "blkio.leaf_weight", b->leaf_weight, "linux.resources.blockIO.leafWeight",
		      err) < 0)
		return -1;
	for (size_t i = 0; i < b->weight_device_len; i++) {
		const husk_weight_device_t *d = &b->weight_device[i];
		if (d->has_weight &&
		    husk_cg_writef(fd, wdfile, "linux.resources.blockIO.weightDevice", err,
				   "%" PRId64 ":%" PRId64 " %u", d->major, d->minor,
				   (unsigned)d->weight) < 0)
			return -1;
		if (d->has_leaf_weight &&
		    husk_cg_writef(fd, "blkio.leaf_weight_device",
				   "linux.resources.blockIO.weightDevice", err,
				   "%" PRId64 ":%" PRId64 " %u", d->major, d->minor,
				   (unsigned)d->leaf_weight) < 0)
			return -1;
	}
	if (write_throttle(fd, "blkio.throttle.read_bps_device", b->throttle_read_bps_device,
			   b->throttle_read_bps_device_len,
			   "linux.resources.blockIO.throttleReadBpsDevice", err) < 0 ||
	    write_throttle(fd, "blkio.throttle.write_bps_device", b->throttle_write_bps_device,
			   b->throttle_write_bps_device_len,
			   "linux.resources.blockIO.throttleWriteBpsDevice", err) < 0 ||
	    write_throttle(fd, "blkio.throttle.read_iops_device", b->throttle_read_iops_device,
			   b->throttle_read_iops_device_len,
			   "linux.resources.blockIO.throttleReadIOPSDevice", err) < 0 ||
	    write_throttle(fd, "blkio.throttle.write_iops_device", b->throttle_write_iops_device,
			   b->throttle_write_iops_device_len,
			   "linux.resources.blockIO.throttleWriteIOPSDevice", err) < 0)
		return -1;
	return 0;
}

static int v1_hugetlb(int fd, const husk_resources_t *res, husk_error_t *err)
{
	for (size_t i = 0; i < res->hugepage_limits_len; i++) {
		const husk_hugepage_limit_t *h = &res->hugepage_limits[i];
		char file[128];

		if (h->page_size == NULL || strchr(h->page_size, '/'))
			return husk_error_set(err, EINVAL,
					      "linux.resources.hugepageLimits: invalid pageSize");
		snprintf(file, sizeof file, "hugetlb.%s.limit_in_bytes", h->page_size);
		if (write_u64(fd, file, h->limit, "linux.resources.hugepageLimits", err) < 0)
			return -1;
		snprintf(file, sizeof file, "hugetlb.%s.rsvd.limit_in_bytes", h->page_size);
		if (husk_cg_exists(fd, file) &&
		    write_u64(fd, file, h->limit, "linux.resources.hugepageLimits", err) < 0)
			return -1;
	}
	return 0;
}

static void format_device_rule(const husk_device_cgroup_t *r, char *buf, size_t size)
{
	const char *type = r->type && *r->type ? r->type : "a";
	char major[24] = "*", minor[24] = "*";

	if (r->has_major && r->major >= 0)
		snprintf(major, sizeof major, "%" PRId64, r->major);
	if (r->has_minor && r->minor >= 0)
		snprintf(minor, sizeof minor, "%" PRId64, r->minor);
	snprintf(buf, size, "%s %s:%s %s", type, major, minor,
		 r->access && *r->access ? r->access : "rwm");
}

static int write_device_rule(int fd, const husk_device_cgroup_t *r, const char *field,
			     husk_error_t *err)
{
	char rule[96];
	format_device_rule(r, rule, sizeof rule);
	return husk_cg_write(fd, r->allow ? "devices.allow" : "devices.deny", rule, field, err);
}

/* runc's order: deny everything, the config's rules, then the devices every container
 * gets (null, zero, tty, pts, ...). linux.devices are not allowed on their own: as with
 * runc, their access is whatever linux.resources.devices says, so a deny there holds. */
static int v1_devices(int fd, const husk_cgroup_t *cg, const husk_resources_t *res,
		      husk_error_t *err)
{
	(void)cg;
	if (husk_cg_write(fd, "devices.deny", "a", "linux.resources.devices", err) < 0)
		return -1;
	for (size_t i = 0; res && i < res->devices_len; i++) {
		char field[64];
		snprintf(field, sizeof field, "linux.resources.devices[%zu]", i);
		if (write_device_rule(fd, &res->devices[i], field, err) < 0)
			return -1;
	}
	for (size_t i = 0; i < husk_cgroup_default_devices_len; i++)
		if (write_device_rule(fd, &husk_cgroup_default_devices[i], "default devices", err) <
		    0)
			return -1;
	return 0;
}

static int v1_network(const layout_t *l, const char *path, const husk_network_t *n,
		      husk_error_t *err)
{
	if (n->has_class_id) {
		cleanup_close int fd =
		    open_ctl(l, CG_NET_CLS, path, "linux.resources.network.classID", err);
		if (fd < 0)
			return -1;
		if (write_u64(fd, "net_cls.classid", n->class_id, "linux.resources.network.classID",
			      err) < 0)
			return -1;
	}
	if (n->priorities_len) {
		cleanup_close int fd =
		    open_ctl(l, CG_NET_PRIO, path, "linux.resources.network.priorities", err);
		if (fd < 0)
			return -1;
		for (size_t i = 0; i < n->priorities_len; i++)
			if (husk_cg_writef(fd, "net_prio.ifpriomap",
					   "linux.resources.network.priorities", err, "%s %" PRIu32,
					   n->priorities[i].name, n->priorities[i].priority) < 0)
				return -1;
	}
	return 0;
}

/* Resources the hybrid host keeps on its cgroup2 mount: hugetlb when v1 lacks it, unified. */
static int hybrid_unified(const layout_t *l, const char *path, const husk_resources_t *res,
			  husk_error_t *err)
{
	bool hugetlb = res->hugepage_limits_len && !(l->all & CG_HUGETLB);
	cleanup_close int fd = -1;

	if (!hugetlb && res->unified_len == 0)
		return 0;
	if (!(l->all & CG_UNIFIED))
		return husk_error_set(err, ENOTSUP, "%s: cgroup v2 is not mounted",
				      hugetlb ? "linux.resources.hugepageLimits"
					      : "linux.resources.unified");
	if ((fd = husk_cg_open(HUSK_CGROUP_HYBRID_UNIFIED_MNT, path, false, err)) < 0)
		return -1;
	if (hugetlb && husk_cgroup_v2_apply_hugetlb(fd, res, err) < 0)
		return -1;
	return husk_cgroup_v2_apply_unified(fd, res, err);
}

/* Apply res; `creating` also installs the device rules when the config has none. */
static int v1_apply(const layout_t *l, const husk_cgroup_t *cg, const husk_resources_t *res,
		    bool creating, husk_error_t *err)
{
	const char *path = cg->path;

	if (res && res->memory) {
		cleanup_close int fd = open_ctl(l, CG_MEMORY, path, "linux.resources.memory", err);
		if (fd < 0 || v1_memory(fd, res->memory, err) < 0)
			return -1;
	}
	if (res && res->cpu) {
		const husk_cpu_t *c = res->cpu;
		bool wants_cpu = c->has_shares || c->has_quota || c->has_period || c->has_burst ||
				 c->has_realtime_runtime || c->has_realtime_period || c->has_idle;
		if (wants_cpu) {
			cleanup_close int fd =
			    open_ctl(l, CG_CPU, path, "linux.resources.cpu", err);
			if (fd < 0 || v1_cpu(fd, c, err) < 0)
				return -1;
		}
		if ((c->cpus && *c->cpus) || (c->mems && *c->mems)) {
			cleanup_close int fd =
			    open_ctl(l, CG_CPUSET, path, "linux.resources.cpu", err);
			if (fd < 0 || v1_cpuset(fd, c, err) < 0)
				return -1;
		}
	}
	if (res && res->has_pids_limit) {
		cleanup_close int fd = open_ctl(l, CG_PIDS, path, "linux.resources.pids", err);
		if (fd < 0 || v1_pids(fd, res->pids_limit, err) < 0)
			return -1;
	}
	if (res && res->block_io) {
		cleanup_close int fd = open_ctl(l, CG_BLKIO, path, "linux.resources.blockIO", err);
		if (fd < 0 || v1_blkio(fd, res->block_io, err) < 0)
			return -1;
	}
	if (res && res->hugepage_limits_len && (l->all & CG_HUGETLB)) {
		cleanup_close int fd =
		    open_ctl(l, CG_HUGETLB, path, "linux.resources.hugepageLimits", err);
		if (fd < 0 || v1_hugetlb(fd, res, err) < 0)
			return -1;
	}
	if (res && res->network && v1_network(l, path, res->network, err) < 0)
		return -1;
	if (res && res->rdma_len) {
		cleanup_close int fd = open_ctl(l, CG_RDMA, path, "linux.resources.rdma", err);
		if (fd < 0 || husk_cgroup_v2_apply_rdma(fd, res, err) < 0)
			return -1;
	}
	if ((creating || (res && res->devices_len)) && (l->all & CG_DEVICES)) {
		cleanup_close int fd =
		    open_ctl(l, CG_DEVICES, path, "linux.resources.devices", err);
		if (fd < 0 || v1_devices(fd, cg, res, err) < 0)
			return -1;
	}
	return 0;
}

/* ---------------------------------------------------------------- operations */

/* The hybrid's cgroup2 part: made before the clone, so that the new process is born in it
 * (CLONE_INTO_CGROUP; a write of its pid to cgroup.procs would wait for an RCU grace
 * period). Nothing on a v1-only host. */
int husk_cgroup_v1_create_early(const husk_cgroup_t *cg, const husk_resources_t *res,
				husk_cg_undo_t *undo, husk_error_t *err)
{
	cleanup_layout layout_t l = {0};
	cleanup_free char *want = NULL;

	if (layout_load(cg, &l, err) < 0)
		return -1;
	if (!(l.all & CG_UNIFIED))
		return res ? hybrid_unified(&l, cg->path, res, err) : 0;
	want = husk_cgroup_v2_needed(res, true);
	if (husk_cgroup_v2_make(HUSK_CGROUP_HYBRID_UNIFIED_MNT, cg->path, want, undo, err) < 0)
		return -1;
	return res ? hybrid_unified(&l, cg->path, res, err) : 0;
}

/* Every v1 hierarchy, with the resources: the new process joins them itself. */
int husk_cgroup_v1_create_late(const husk_cgroup_t *cg, const husk_resources_t *res,
			       husk_cg_undo_t *undo, husk_error_t *err)
{
	cleanup_layout layout_t l = {0};

	if (layout_load(cg, &l, err) < 0)
		return -1;
	for (size_t i = 0; i < l.len; i++) {
		const hier_t *h = &l.v[i];
		husk_cg_created_fn fill = (h->mask & CG_CPUSET) ? fill_cpuset : NULL;
		if (h->mask & CG_UNIFIED)
			continue;
		if (husk_cg_mkdir(h->mnt, cg->path, undo, fill, err) < 0)
			return -1;
	}
	return v1_apply(&l, cg, res, true, err);
}

int husk_cgroup_v1_create(const husk_cgroup_t *cg, const husk_resources_t *res, husk_error_t *err)
{
	husk_cg_undo_t undo = {0};
	int r = husk_cgroup_v1_create_early(cg, res, &undo, err);

	if (r == 0)
		r = husk_cgroup_v1_create_late(cg, res, &undo, err);
	if (r < 0)
		husk_cg_undo_rollback(&undo);
	husk_cg_undo_free(&undo);
	return r;
}

int husk_cgroup_v1_update(const husk_cgroup_t *cg, const husk_resources_t *res, husk_error_t *err)
{
	cleanup_layout layout_t l = {0};

	if (layout_load(cg, &l, err) < 0)
		return -1;
	if (v1_apply(&l, cg, res, false, err) < 0)
		return -1;
	return res ? hybrid_unified(&l, cg->path, res, err) : 0;
}

int husk_cgroup_v1_enter(const husk_cgroup_t *cg, pid_t pid, husk_error_t *err)
{
	cleanup_layout layout_t l = {0};

	if (layout_load(cg, &l, err) < 0)
		return -1;
	for (size_t i = 0; i < l.len; i++) {
		cleanup_close int fd = husk_cg_open(l.v[i].mnt, cg->path, false, err);
		if (fd < 0 || husk_cg_writef(fd, "cgroup.procs", NULL, err, "%d", (int)pid) < 0)
			return husk_error_wrap(err, "enter cgroup `%s%s`", l.v[i].mnt, cg->path);
	}
	return 0;
}

int husk_cgroup_v1_join_open(const husk_cgroup_t *cg, husk_cgroup_join_t *j, unsigned parts,
			     husk_error_t *err)
{
	cleanup_layout layout_t l = {0};

	if (layout_load(cg, &l, err) < 0)
		return -1;
	for (size_t i = 0; i < l.len; i++) {
		char *name;
		int fd;

		if (l.v[i].mask & CG_UNIFIED) {
			if (!(parts & HUSK_CG_JOIN_V2))
				continue;
			j->v2_dir = husk_cg_open(l.v[i].mnt, cg->path, true, err);
			if (j->v2_dir < 0)
				return -1;
			continue;
		}
		if (!(parts & HUSK_CG_JOIN_V1))
			continue;
		if (asprintf(&name, "%s%s/tasks", l.v[i].mnt, cg->path) < 0)
			abort();
		fd = open(name, O_WRONLY | O_CLOEXEC | O_NOCTTY);
		if (fd < 0) {
			husk_error_errno(err, "open `%s`", name);
			free(name);
			return -1;
		}
		husk_cgroup_join_add(j, fd, name);
	}
	return 0;
}

int husk_cgroup_v1_enter_unified(const husk_cgroup_t *cg, pid_t pid, husk_error_t *err)
{
	cleanup_close int fd = husk_cg_open(HUSK_CGROUP_HYBRID_UNIFIED_MNT, cg->path, false, err);

	if (fd < 0 || husk_cg_writef(fd, "cgroup.procs", NULL, err, "%d", (int)pid) < 0)
		return husk_error_wrap(err, "enter cgroup `%s%s`", HUSK_CGROUP_HYBRID_UNIFIED_MNT,
				       cg->path);
	return 0;
}

int husk_cgroup_v1_destroy(const husk_cgroup_t *cg, husk_error_t *err)
{
	cleanup_layout layout_t l = {0};
	int r = 0;

	if (layout_load(cg, &l, err) < 0)
		return -1;
	/* Keep going after a failure so that one busy hierarchy does not leak the others. */
	for (size_t i = 0; i < l.len; i++) {
		cleanup_error husk_error_t e = {0};
		if (husk_cg_remove(l.v[i].mnt, cg->path, r == 0 ? err : &e) < 0)
			r = -1;
	}
	return r;
}

int husk_cgroup_v1_open_procs_dir(const husk_cgroup_t *cg, husk_error_t *err)
{
	cleanup_layout layout_t l = {0};

	if (layout_load(cg, &l, err) < 0)
		return -1;
	for (size_t i = 0; i < l.len; i++) {
		cleanup_error husk_error_t e = {0};
		int fd = husk_cg_open(l.v[i].mnt, cg->path, false, &e);
		if (fd >= 0)
			return fd;
	}
	return husk_error_set(err, ENOENT, "cgroup `%s` not found in any hierarchy", cg->path);
}

static int read_freezer_state(int fd, char **state, husk_error_t *err)
{
	return husk_cg_read(fd, "freezer.state", state, err);
}

static int freezer_set(int fd, bool frozen, husk_error_t *err)
{
	const char *want = frozen ? "FROZEN" : "THAWED";

	/* FREEZING can stick while a task is in an uninterruptible sleep; writing FROZEN again
	 * retries the freeze. */
	for (int waited = 0; waited < FREEZE_TIMEOUT_MS; waited += 5) {
		cleanup_free char *state = NULL;
		if (waited % 100 == 0 && husk_cg_write(fd, "freezer.state", want, NULL, err) < 0)
			return -1;
		if (read_freezer_state(fd, &state, err) < 0)
			return -1;
		if (strcmp(state, want) == 0)
			return 0;
		husk_cg_sleep_ms(5);
	}
	if (frozen) {
		cleanup_error husk_error_t ignored = {0};
		husk_cg_write(fd, "freezer.state", "THAWED", NULL, &ignored);
	}
	return husk_error_set(err, ETIMEDOUT, "%s cgroup: timed out", frozen ? "freeze" : "thaw");
}

static int open_freezer(const husk_cgroup_t *cg, husk_error_t *err)
{
	cleanup_layout layout_t l = {0};

	if (layout_load(cg, &l, err) < 0)
		return -1;
	return open_ctl(&l, CG_FREEZER, cg->path, "freezer", err);
}

char *husk_cgroup_v1_freezer_dir(const husk_cgroup_t *cg, husk_error_t *err)
{
	cleanup_layout layout_t l = {0};
	const hier_t *h;
	char *dir;

	if (layout_load(cg, &l, err) < 0)
		return NULL;
	if ((h = layout_find(&l, CG_FREEZER)) == NULL) {
		husk_error_set(err, ENOENT, "the freezer controller is not mounted");
		return NULL;
	}
	if (asprintf(&dir, "%s%s", h->mnt, cg->path) < 0)
		abort();
	return dir;
}

int husk_cgroup_v1_freeze(const husk_cgroup_t *cg, bool frozen, husk_error_t *err)
{
	cleanup_close int fd = open_freezer(cg, err);

	if (fd < 0)
		return -1;
	return freezer_set(fd, frozen, err);
}

int husk_cgroup_v1_is_frozen(const husk_cgroup_t *cg, bool *frozen, husk_error_t *err)
{
	cleanup_close int fd = open_freezer(cg, err);
	cleanup_free char *state = NULL;

	if (fd < 0 || read_freezer_state(fd, &state, err) < 0)
		return -1;
	*frozen = strcmp(state, "FROZEN") == 0;
	return 0;
}

int husk_cgroup_v1_kill_all(const husk_cgroup_t *cg, int sig, husk_error_t *err)
{
	cleanup_layout layout_t l = {0};
	cleanup_close int ffd = -1;
	cleanup_close int pfd = -1;
	cleanup_free char *state = NULL;
	bool was_frozen;
	int r;

	if (layout_load(cg, &l, err) < 0)
		return -1;
	if (!(l.all & CG_FREEZER)) {
		if ((pfd = husk_cgroup_v1_open_procs_dir(cg, err)) < 0)
			return -1;
		return husk_cg_signal_procs(pfd, sig, err);
	}
	/* Frozen, nobody can fork between our reading cgroup.procs and the signal. */
	if ((ffd = open_ctl(&l, CG_FREEZER, cg->path, "freezer", err)) < 0 ||
	    read_freezer_state(ffd, &state, err) < 0)
		return -1;
	was_frozen = strcmp(state, "FROZEN") == 0;
	if (!was_frozen && freezer_set(ffd, true, err) < 0)
		return -1;
	r = husk_cg_signal_procs(ffd, sig, err);
	/* v1 frozen tasks do not die until thawed; a paused container stays paused otherwise. */
	if (!was_frozen || sig == SIGKILL) {
		cleanup_error husk_error_t e = {0};
		if (freezer_set(ffd, false, r < 0 ? &e : err) < 0 && r == 0)
			r = -1;
	}
	return r;
}

static void opt_u64(int fd, const char *file, uint64_t *out)
{
	cleanup_error husk_error_t ignored = {0};
	husk_cg_read_u64(fd, file, out, &ignored);
}

static int memory_stats(int fd, husk_cgroup_stats_t *st, husk_error_t *err)
{
	cleanup_error husk_error_t ignored = {0};

	st->has_memory = true;
	if (husk_cg_read_u64(fd, "memory.usage_in_bytes", &st->memory_usage, err) < 0 ||
	    husk_cg_read_u64(fd, "memory.limit_in_bytes", &st->memory_limit, err) < 0)
		return -1;
	opt_u64(fd, "memory.max_usage_in_bytes", &st->memory_max_usage);
	opt_u64(fd, "memory.failcnt", &st->memory_failcnt);
	husk_cg_read_keyed(fd, "memory.oom_control", "oom_kill", &st->memory_oom_kill, &ignored);
	opt_u64(fd, "memory.memsw.usage_in_bytes", &st->swap_usage);
	st->swap_limit = UINT64_MAX;
	opt_u64(fd, "memory.memsw.limit_in_bytes", &st->swap_limit);
	return 0;
}

static int cpu_stats(int fd, husk_cgroup_stats_t *st, husk_error_t *err)
{
	if (husk_cg_read_u64(fd, "cpuacct.usage", &st->cpu_usage_ns, err) < 0)
		return -1;
	st->has_cpu = true;
	opt_u64(fd, "cpuacct.usage_user", &st->cpu_user_ns);
	opt_u64(fd, "cpuacct.usage_sys", &st->cpu_system_ns);
	return 0;
}

int husk_cgroup_v1_stats(const husk_cgroup_t *cg, husk_cgroup_stats_t *st, husk_error_t *err)
{
	cleanup_layout layout_t l = {0};

	if (layout_load(cg, &l, err) < 0)
		return -1;
	if (l.all & CG_MEMORY) {
		cleanup_close int fd = open_ctl(&l, CG_MEMORY, cg->path, "memory", err);
		if (fd < 0 || memory_stats(fd, st, err) < 0)
			return -1;
	}
	if (l.all & CG_PIDS) {
		cleanup_close int fd = open_ctl(&l, CG_PIDS, cg->path, "pids", err);
		if (fd < 0 || husk_cg_read_u64(fd, "pids.current", &st->pids_current, err) < 0 ||
		    husk_cg_read_u64(fd, "pids.max", &st->pids_limit, err) < 0)
			return -1;
		st->has_pids = true;
	}
	if (l.all & CG_CPUACCT) {
		cleanup_close int fd = open_ctl(&l, CG_CPUACCT, cg->path, "cpuacct", err);
		if (fd < 0 || cpu_stats(fd, st, err) < 0)
			return -1;
	}
	return 0;
}
