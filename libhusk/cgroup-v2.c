/* husk: cgroups: the cgroup v2 manager (pure v2, and the hybrid's unified hierarchy). */
#include "config.h"
#include "cgroup-internal.h"
#include "ebpf.h"
#include "utils.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define FREEZE_TIMEOUT_MS 10000

/* ---------------------------------------------------------------- creation */

static bool word_in(const char *list, const char *word, size_t wlen)
{
	for (const char *p = list; p && *p;) {
		size_t n;
		while (*p == ' ' || *p == '\n')
			p++;
		n = strcspn(p, " \n");
		if (n == wlen && strncmp(p, word, wlen) == 0)
			return true;
		p += n;
	}
	return false;
}

/* Enable in dirfd's subtree_control what is wanted (NULL = all), offered and not yet on. */
static int enable_controllers(int dirfd, const char *dir, const char *want, husk_error_t *err)
{
	cleanup_free char *offered = NULL;
	cleanup_free char *enabled = NULL;
	cleanup_free char *add = NULL;
	size_t len = 0;
	const char *src;

	if (want && *want == '\0')
		return 0;
	if (husk_cg_read(dirfd, "cgroup.controllers", &offered, err) < 0 ||
	    husk_cg_read(dirfd, "cgroup.subtree_control", &enabled, err) < 0)
		return husk_error_wrap(err, "cgroup `%s`", dir);
	src = want ? want : offered;
	add = xmalloc0(strlen(src) * 2 + 2);
	for (const char *p = src; *p;) {
		size_t n;
		while (*p == ' ' || *p == '\n')
			p++;
		n = strcspn(p, " \n");
		if (n && word_in(offered, p, n) && !word_in(enabled, p, n))
			len += (size_t)sprintf(add + len, "%s+%.*s", len ? " " : "", (int)n, p);
		p += n;
	}
	if (len == 0)
		return 0;
	if (husk_cg_write(dirfd, "cgroup.subtree_control", add, NULL, err) == 0)
		return 0;
	/* One controller the kernel refuses (cpu with realtime tasks, say) must not cost the
	 * others; a resource needing the missing one fails later with the file name. */
	husk_error_clear(err);
	for (char *tok = strtok(add, " "); tok; tok = strtok(NULL, " ")) {
		cleanup_error husk_error_t ignored = {0};
		husk_cg_write(dirfd, "cgroup.subtree_control", tok, NULL, &ignored);
	}
	return 0;
}

static int v2_make_once(const char *mnt, const char *path, const char *want,
			husk_cg_undo_t *undo, husk_error_t *err);

int husk_cgroup_v2_make(const char *mnt, const char *path, const char *want, husk_cg_undo_t *undo,
			husk_error_t *err)
{
	/* A delete may remove an empty default parent between our mkdirs (ENOENT): retry. */
	for (int attempt = 0;; attempt++) {
		int r = v2_make_once(mnt, path, want, undo, err);
		if (r == 0 || err == NULL || err->errnum != ENOENT || attempt >= 3)
			return r;
		husk_error_clear(err);
	}
}

static int v2_make_once(const char *mnt, const char *path, const char *want,
			husk_cg_undo_t *undo, husk_error_t *err)
{
	cleanup_free char *full = NULL;
	size_t base = strlen(mnt);

	if (asprintf(&full, "%s%s", mnt, path) < 0)
		abort();
	/* Walk down: each ancestor must delegate the controllers before its child exists. */
	for (char *p = full + base + 1;; p++) {
		char saved = *p;
		char *slash;
		cleanup_close int pfd = -1;

		if (saved != '/' && saved != '\0')
			continue;
		*p = '\0';
		slash = strrchr(full, '/');
		*slash = '\0';
		pfd = open(slash == full ? "/" : full, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (pfd < 0) {
			int e = errno;
			*slash = '/';
			return husk_error_set(err, e, "open cgroup parent of `%s`", full);
		}
		if (enable_controllers(pfd, full, want, err) < 0) {
			*slash = '/';
			return -1;
		}
		*slash = '/';
		if (mkdir(full, 0755) == 0)
			husk_cg_undo_add(undo, full);
		else if (errno != EEXIST)
			return husk_error_errno(err, "create cgroup `%s`", full);
		*p = saved;
		if (saved == '\0')
			return 0;
	}
}

static void add_word(char **list, const char *w)
{
	char *n = NULL;
	if (*list && word_in(*list, w, strlen(w)))
		return;
	if (asprintf(&n, "%s%s%s", *list ? *list : "", *list ? " " : "", w) < 0)
		abort();
	free(*list);
	*list = n;
}

char *husk_cgroup_v2_needed(const husk_resources_t *res, bool only_hugetlb)
{
	char *list = NULL;

	if (res == NULL)
		return xstrdup("");
	if (res->hugepage_limits_len)
		add_word(&list, "hugetlb");
	for (size_t i = 0; i < res->unified_len; i++) {
		const char *key = res->unified[i].key;
		const char *dot = strchr(key, '.');
		char ctl[64];
		if (dot == NULL || (size_t)(dot - key) >= sizeof ctl)
			continue;
		snprintf(ctl, sizeof ctl, "%.*s", (int)(dot - key), key);
		if (strcmp(ctl, "cgroup") != 0)
			add_word(&list, ctl);
	}
	if (!only_hugetlb) {
		if (res->memory)
			add_word(&list, "memory");
		if (res->cpu) {
			add_word(&list, "cpu");
			if (res->cpu->cpus || res->cpu->mems)
				add_word(&list, "cpuset");
		}
		if (res->has_pids_limit)
			add_word(&list, "pids");
		if (res->block_io)
			add_word(&list, "io");
		if (res->rdma_len)
			add_word(&list, "rdma");
	}
	return list ? list : xstrdup("");
}

/* ---------------------------------------------------------------- resources */

static int write_i64_max(int dirfd, const char *file, int64_t v, const char *field,
			 husk_error_t *err)
{
	if (v < 0)
		return husk_cg_write(dirfd, file, "max", field, err);
	return husk_cg_writef(dirfd, file, field, err, "%" PRId64, v);
}

static int check_before_update(int dirfd, const husk_memory_t *m, husk_error_t *err)
{
	uint64_t current;

	if (!m->has_check_before_update || !m->check_before_update || !m->has_limit ||
	    m->limit <= 0 || !husk_cg_exists(dirfd, "memory.current"))
		return 0;
	if (husk_cg_read_u64(dirfd, "memory.current", &current, err) < 0)
		return -1;
	if (current > (uint64_t)m->limit)
		return husk_error_set(err, EBUSY,
				      "linux.resources.memory.limit: %" PRId64
				      " is lower than the current usage %" PRIu64,
				      m->limit, current);
	return 0;
}

static int apply_memory(int dirfd, const husk_memory_t *m, husk_error_t *err)
{
	int64_t swap;
	bool swap_set;

	if (m == NULL)
		return 0;
	if (husk_cgroup_swap_to_v2(m->has_swap, m->swap, m->has_limit, m->limit, &swap, &swap_set,
				   err) < 0)
		return -1;
	if (check_before_update(dirfd, m, err) < 0)
		return -1;
	/* Without swap accounting there is no memory.swap.max; like runc, that is not fatal. */
	if (swap_set && husk_cg_exists(dirfd, "memory.swap.max") &&
	    write_i64_max(dirfd, "memory.swap.max", swap, "linux.resources.memory.swap", err) < 0)
		return -1;
	if (m->has_limit && m->limit != 0 &&
	    write_i64_max(dirfd, "memory.max", m->limit, "linux.resources.memory.limit", err) < 0)
		return -1;
	if (m->has_reservation && m->reservation != 0 &&
	    write_i64_max(dirfd, "memory.low", m->reservation, "linux.resources.memory.reservation",
			  err) < 0)
		return -1;
	/* swappiness, disableOOMKiller, useHierarchy, kernel, kernelTCP have no v2 file. */
	return 0;
}

static int write_cpu_max(int dirfd, const husk_cpu_t *c, husk_error_t *err)
{
	char buf[64];
	int n;

	if (!(c->has_quota && c->quota != 0) && !(c->has_period && c->period != 0))
		return 0;
	if (c->has_quota && c->quota > 0)
		n = snprintf(buf, sizeof buf, "%" PRId64, c->quota);
	else if (c->has_quota && c->quota != 0)
		n = snprintf(buf, sizeof buf, "max");
	else
		n = 0; /* only the period: keep the current quota */
	if (c->has_period && c->period != 0) {
		if (n == 0) {
			cleanup_free char *cur = NULL;
			if (husk_cg_read(dirfd, "cpu.max", &cur, err) < 0)
				return husk_error_wrap(err, "linux.resources.cpu.period");
			n = snprintf(buf, sizeof buf, "%.*s", (int)strcspn(cur, " "), cur);
		}
		snprintf(buf + n, sizeof buf - (size_t)n, " %" PRIu64, c->period);
	}
	return husk_cg_write(dirfd, "cpu.max", buf, "linux.resources.cpu.quota", err);
}

static int apply_cpu(int dirfd, const husk_cpu_t *c, husk_error_t *err)
{
	if (c == NULL)
		return 0;
	if ((c->has_realtime_runtime && c->realtime_runtime != 0) ||
	    (c->has_realtime_period && c->realtime_period != 0))
		return husk_error_set(err, ENOTSUP,
				      "linux.resources.cpu.realtimeRuntime/realtimePeriod: not "
				      "supported on cgroup v2");
	if (c->has_shares && c->shares != 0 &&
	    husk_cg_writef(dirfd, "cpu.weight", "linux.resources.cpu.shares", err, "%" PRIu64,
			   husk_cgroup_shares_to_weight(c->shares)) < 0)
		return -1;
	if (c->has_burst) {
		/* The kernel wants burst <= quota at every moment: try burst first (lowering
		 * it), and if it does not fit the old quota yet, set it after cpu.max. */
		cleanup_error husk_error_t first = {0};
		if (husk_cg_writef(dirfd, "cpu.max.burst", "linux.resources.cpu.burst", &first,
				   "%" PRIu64, c->burst) < 0) {
			if (write_cpu_max(dirfd, c, err) < 0 ||
			    husk_cg_writef(dirfd, "cpu.max.burst", "linux.resources.cpu.burst", err,
					   "%" PRIu64, c->burst) < 0)
				return -1;
		} else if (write_cpu_max(dirfd, c, err) < 0) {
			return -1;
		}
	} else if (write_cpu_max(dirfd, c, err) < 0) {
		return -1;
	}
	if (c->has_idle && husk_cg_writef(dirfd, "cpu.idle", "linux.resources.cpu.idle", err,
					  "%" PRId64, c->idle) < 0)
		return -1;
	if (c->cpus && *c->cpus &&
	    husk_cg_write(dirfd, "cpuset.cpus", c->cpus, "linux.resources.cpu.cpus", err) < 0)
		return -1;
	if (c->mems && *c->mems &&
	    husk_cg_write(dirfd, "cpuset.mems", c->mems, "linux.resources.cpu.mems", err) < 0)
		return -1;
	return 0;
}

static int apply_pids(int dirfd, const husk_resources_t *res, husk_error_t *err)
{
	if (!res->has_pids_limit)
		return 0;
	if (res->pids_limit < 0)
		return husk_cg_write(dirfd, "pids.max", "max", "linux.resources.pids.limit", err);
	return husk_cg_writef(dirfd, "pids.max", "linux.resources.pids.limit", err, "%" PRId64,
			      res->pids_limit);
}

static int write_io_max(int dirfd, const husk_throttle_device_t *v, size_t len, const char *key,
			const char *field, husk_error_t *err)
{
	for (size_t i = 0; i < len; i++) {
		/* 0 would block all I/O; in runc's conversion it means "no limit". */
		if (v[i].rate == 0) {
			if (husk_cg_writef(dirfd, "io.max", field, err,
					   "%" PRId64 ":%" PRId64 " %s=max", v[i].major, v[i].minor,
					   key) < 0)
				return -1;
		} else if (husk_cg_writef(dirfd, "io.max", field, err,
					  "%" PRId64 ":%" PRId64 " %s=%" PRIu64, v[i].major,
					  v[i].minor, key, v[i].rate) < 0) {
			return -1;
		}
	}
	return 0;
}

static int apply_io(int dirfd, const husk_blkio_t *b, husk_error_t *err)
{
	/* BFQ takes the blkio scale as is; the generic io.weight has its own range. */
	bool bfq = husk_cg_exists(dirfd, "io.bfq.weight");
	const char *wfile = bfq ? "io.bfq.weight" : "io.weight";

	if (b == NULL)
		return 0;
	if (b->has_weight && b->weight != 0 &&
	    husk_cg_writef(dirfd, wfile, "linux.resources.blockIO.weight", err, "default %" PRIu64,
			   bfq ? (uint64_t)b->weight : husk_cgroup_blkio_to_io_weight(b->weight)) <
		0)
		return -1;
	for (size_t i = 0; i < b->weight_device_len; i++) {
		const husk_weight_device_t *d = &b->weight_device[i];
		if (!d->has_weight || d->weight == 0)
			continue;
		if (husk_cg_writef(dirfd, wfile, "linux.resources.blockIO.weightDevice", err,
				   "%" PRId64 ":%" PRId64 " %" PRIu64, d->major, d->minor,
				   bfq ? (uint64_t)d->weight
				       : husk_cgroup_blkio_to_io_weight(d->weight)) < 0)
			return -1;
	}
	if (write_io_max(dirfd, b->throttle_read_bps_device, b->throttle_read_bps_device_len,
			 "rbps", "linux.resources.blockIO.throttleReadBpsDevice", err) < 0 ||
	    write_io_max(dirfd, b->throttle_write_bps_device, b->throttle_write_bps_device_len,
			 "wbps", "linux.resources.blockIO.throttleWriteBpsDevice", err) < 0 ||
	    write_io_max(dirfd, b->throttle_read_iops_device, b->throttle_read_iops_device_len,
			 "riops", "linux.resources.blockIO.throttleReadIOPSDevice", err) < 0 ||
	    write_io_max(dirfd, b->throttle_write_iops_device, b->throttle_write_iops_device_len,
			 "wiops", "linux.resources.blockIO.throttleWriteIOPSDevice", err) < 0)
		return -1;
	return 0;
}

int husk_cgroup_v2_apply_hugetlb(int dirfd, const husk_resources_t *res, husk_error_t *err)
{
	for (size_t i = 0; i < res->hugepage_limits_len; i++) {
		const husk_hugepage_limit_t *h = &res->hugepage_limits[i];
		char file[128];

		if (h->page_size == NULL || strchr(h->page_size, '/'))
			return husk_error_set(err, EINVAL,
					      "linux.resources.hugepageLimits: invalid pageSize");
		snprintf(file, sizeof file, "hugetlb.%s.max", h->page_size);
		if (husk_cg_writef(dirfd, file, "linux.resources.hugepageLimits", err, "%" PRIu64,
				   h->limit) < 0)
			return -1;
		/* Reservation accounting, when the kernel has it, is what the spec prefers. */
		snprintf(file, sizeof file, "hugetlb.%s.rsvd.max", h->page_size);
		if (husk_cg_exists(dirfd, file) &&
		    husk_cg_writef(dirfd, file, "linux.resources.hugepageLimits", err, "%" PRIu64,
				   h->limit) < 0)
			return -1;
	}
	return 0;
}

int husk_cgroup_v2_apply_rdma(int dirfd, const husk_resources_t *res, husk_error_t *err)
{
	for (size_t i = 0; i < res->rdma_len; i++) {
		const husk_rdma_t *r = &res->rdma[i];
		char buf[256];
		int n;

		if (r->device == NULL || strpbrk(r->device, " \n"))
			return husk_error_set(err, EINVAL, "linux.resources.rdma: invalid device");
		n = snprintf(buf, sizeof buf, "%s", r->device);
		if (r->has_hca_handles)
			n += snprintf(buf + n, sizeof buf - (size_t)n, " hca_handle=%" PRIu32,
				      r->hca_handles);
		if (r->has_hca_objects)
			snprintf(buf + n, sizeof buf - (size_t)n, " hca_object=%" PRIu32,
				 r->hca_objects);
		if (husk_cg_write(dirfd, "rdma.max", buf, "linux.resources.rdma", err) < 0)
			return -1;
	}
	return 0;
}

/* Multi-line values (io.max for several devices) take one line per write. */
static int write_lines(int dirfd, const char *file, const char *value, const char *field,
		       husk_error_t *err)
{
	cleanup_free char *copy = xstrdup(value);
	bool wrote = false;

	for (char *save = NULL, *line = strtok_r(copy, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (husk_cg_write(dirfd, file, line, field, err) < 0)
			return -1;
		wrote = true;
	}
	return wrote ? 0 : husk_cg_write(dirfd, file, value, field, err);
}

int husk_cgroup_v2_apply_unified(int dirfd, const husk_resources_t *res, husk_error_t *err)
{
	cleanup_free char *offered = NULL;

	if (res->unified_len == 0)
		return 0;
	if (husk_cg_read(dirfd, "cgroup.controllers", &offered, err) < 0)
		return husk_error_wrap(err, "linux.resources.unified");
	for (size_t i = 0; i < res->unified_len; i++) {
		const char *key = res->unified[i].key;
		const char *value = res->unified[i].value ? res->unified[i].value : "";
		cleanup_free char *field = NULL;
		size_t clen;

		if (husk_cgroup_check_unified_key(key, err) < 0)
			return -1;
		clen = (size_t)(strchr(key, '.') - key);
		if (asprintf(&field, "linux.resources.unified: key \"%s\"", key) < 0)
			abort();
		/* Core files (cgroup.*) and per-cgroup files like cpu.pressure exist without
		 * the controller; anything else needs the controller enabled here. */
		if (!(clen == 6 && strncmp(key, "cgroup", 6) == 0) &&
		    !word_in(offered, key, clen) && !husk_cg_exists(dirfd, key))
			return husk_error_set(err, ENOTSUP,
					      "%s: controller \"%.*s\" is not available", field,
					      (int)clen, key);
		if (write_lines(dirfd, key, value, field, err) < 0)
			return -1;
	}
	return 0;
}

/* v2 has no devices controller: the rules become an eBPF program (ebpf.c). A new cgroup gets
 * one even without rules (deny all but the default devices, as on v1); on update the program
 * is replaced only when rules are given, as v1 rewrites its lists only then. */
static int apply_devices(int dirfd, const husk_resources_t *res, husk_error_t *err)
{
	husk_ebpf_prog_t prog = {0};
	size_t n = res ? res->devices_len : 0;
	bool has = false;
	int r;

	if (n == 0) {
		if (husk_ebpf_has_device_filter(dirfd, &has, err) < 0)
			return husk_error_wrap(err, "linux.resources.devices");
		if (has)
			return 0;
	}
	if (husk_ebpf_container_filter(n ? res->devices : NULL, n, &prog, err) < 0)
		return -1;
	r = husk_ebpf_replace_device_filter(dirfd, &prog, err);
	husk_ebpf_prog_free(&prog);
	return r;
}

int husk_cgroup_v2_apply(int dirfd, const husk_resources_t *res, husk_error_t *err)
{
	if (apply_devices(dirfd, res, err) < 0)
		return -1;
	if (res == NULL)
		return 0;
	if (apply_memory(dirfd, res->memory, err) < 0 || apply_cpu(dirfd, res->cpu, err) < 0 ||
	    apply_pids(dirfd, res, err) < 0 || apply_io(dirfd, res->block_io, err) < 0 ||
	    husk_cgroup_v2_apply_hugetlb(dirfd, res, err) < 0 ||
	    husk_cgroup_v2_apply_rdma(dirfd, res, err) < 0)
		return -1;
	if (res->network && (res->network->has_class_id || res->network->priorities_len))
		return husk_error_set(err, ENOTSUP,
				      "linux.resources.network: net_cls/net_prio do not exist on "
				      "cgroup v2");
	return husk_cgroup_v2_apply_unified(dirfd, res, err);
}

/* ---------------------------------------------------------------- freezer, kill */

int husk_cgroup_v2_is_frozen(int dirfd, bool *frozen, husk_error_t *err)
{
	uint64_t v;

	if (husk_cg_read_u64(dirfd, "cgroup.freeze", &v, err) < 0)
		return -1;
	*frozen = v == 1;
	return 0;
}

int husk_cgroup_v2_freeze(int dirfd, bool frozen, husk_error_t *err)
{
	if (husk_cg_write(dirfd, "cgroup.freeze", frozen ? "1" : "0", NULL, err) < 0)
		return -1;
	/* cgroup.freeze is the request; cgroup.events says when every task got there. */
	for (int waited = 0; waited < FREEZE_TIMEOUT_MS; waited += 5) {
		uint64_t state;
		if (husk_cg_read_keyed(dirfd, "cgroup.events", "frozen", &state, err) < 0)
			return -1;
		if ((state == 1) == frozen)
			return 0;
		husk_cg_sleep_ms(5);
	}
	/* A freeze that never completes must not leave the container half-frozen. */
	if (frozen)
		husk_cg_write(dirfd, "cgroup.freeze", "0", NULL, NULL);
	return husk_error_set(err, ETIMEDOUT, "%s cgroup: timed out", frozen ? "freeze" : "thaw");
}

int husk_cgroup_v2_kill_all(int dirfd, int sig, husk_error_t *err)
{
	bool was_frozen = false;

	if (sig == SIGKILL && husk_cg_exists(dirfd, "cgroup.kill"))
		return husk_cg_write(dirfd, "cgroup.kill", "1", NULL, err);
	/* Freezing first stops a fork between reading cgroup.procs and the signal. */
	if (husk_cgroup_v2_is_frozen(dirfd, &was_frozen, err) < 0)
		return -1;
	if (!was_frozen && husk_cgroup_v2_freeze(dirfd, true, err) < 0)
		return -1;
	if (husk_cg_signal_procs(dirfd, sig, err) < 0) {
		cleanup_error husk_error_t ignored = {0};
		if (!was_frozen)
			husk_cgroup_v2_freeze(dirfd, false, &ignored);
		return -1;
	}
	if (!was_frozen && husk_cgroup_v2_freeze(dirfd, false, err) < 0)
		return -1;
	return 0;
}

/* ---------------------------------------------------------------- stats */

static void read_opt_u64(int dirfd, const char *file, uint64_t *out)
{
	cleanup_error husk_error_t ignored = {0};
	husk_cg_read_u64(dirfd, file, out, &ignored);
}

static void read_opt_keyed(int dirfd, const char *file, const char *key, uint64_t *out)
{
	cleanup_error husk_error_t ignored = {0};
	husk_cg_read_keyed(dirfd, file, key, out, &ignored);
}

int husk_cgroup_v2_stats(int dirfd, husk_cgroup_stats_t *st, husk_error_t *err)
{
	if (husk_cg_exists(dirfd, "memory.current")) {
		uint64_t swap = 0, swap_max = UINT64_MAX;
		st->has_memory = true;
		if (husk_cg_read_u64(dirfd, "memory.current", &st->memory_usage, err) < 0 ||
		    husk_cg_read_u64(dirfd, "memory.max", &st->memory_limit, err) < 0)
			return -1;
		read_opt_u64(dirfd, "memory.peak", &st->memory_max_usage);
		read_opt_keyed(dirfd, "memory.events", "max", &st->memory_failcnt);
		read_opt_keyed(dirfd, "memory.events", "oom_kill", &st->memory_oom_kill);
		read_opt_u64(dirfd, "memory.swap.current", &swap);
		read_opt_u64(dirfd, "memory.swap.max", &swap_max);
		/* Report memory+swap, the v1 meaning every consumer of these numbers expects. */
		st->swap_usage = swap + st->memory_usage;
		st->swap_limit = (swap_max == UINT64_MAX || st->memory_limit == UINT64_MAX)
				     ? UINT64_MAX
				     : swap_max + st->memory_limit;
	}
	if (husk_cg_exists(dirfd, "pids.current")) {
		st->has_pids = true;
		if (husk_cg_read_u64(dirfd, "pids.current", &st->pids_current, err) < 0 ||
		    husk_cg_read_u64(dirfd, "pids.max", &st->pids_limit, err) < 0)
			return -1;
	}
	if (husk_cg_exists(dirfd, "cpu.stat")) {
		uint64_t usage = 0, user = 0, sys = 0;
		if (husk_cg_read_keyed(dirfd, "cpu.stat", "usage_usec", &usage, err) < 0)
			return -1;
		read_opt_keyed(dirfd, "cpu.stat", "user_usec", &user);
		read_opt_keyed(dirfd, "cpu.stat", "system_usec", &sys);
		st->has_cpu = true;
		st->cpu_usage_ns = usage * 1000;
		st->cpu_user_ns = user * 1000;
		st->cpu_system_ns = sys * 1000;
	}
	return 0;
}
