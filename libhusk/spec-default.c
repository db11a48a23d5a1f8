/* husk: the default config.json written by `husk spec`, shaped like `runc spec`. */
#include "config.h"
#include "spec.h"
#include "utils.h"

#include <stdio.h>
#include <string.h>
#include <yajl/yajl_gen.h>

struct default_mount {
	const char *destination;
	const char *type;
	const char *source;
	const char *const *options;
};

static const char *const proc_opts[] = {NULL};
static const char *const dev_opts[] = {"nosuid", "strictatime", "mode=755", "size=65536k", NULL};
static const char *const devpts_opts[] = {"nosuid",    "noexec", "newinstance", "ptmxmode=0666",
					  "mode=0620", "gid=5",	 NULL};
/* Without gid=5: group 5 is not mapped in a rootless container's user namespace. */
static const char *const devpts_rootless_opts[] = {"nosuid",	    "noexec",	 "newinstance",
						   "ptmxmode=0666", "mode=0620", NULL};
static const char *const shm_opts[] = {"nosuid",    "noexec",	   "nodev",
				       "mode=1777", "size=65536k", NULL};
static const char *const mqueue_opts[] = {"nosuid", "noexec", "nodev", NULL};
static const char *const sysfs_opts[] = {"nosuid", "noexec", "nodev", "ro", NULL};
/* Mounting sysfs needs a network namespace owned by the container's user namespace; the
 * rootless config keeps the host's network, so it binds the host's /sys read-only instead. */
static const char *const sys_bind_opts[] = {"rbind", "nosuid", "noexec", "nodev", "ro", NULL};
static const char *const cgroup_opts[] = {"nosuid", "noexec", "nodev", "relatime", "ro", NULL};

static const struct default_mount mounts_common_head[] = {
    {"/proc", "proc", "proc", proc_opts},
    {"/dev", "tmpfs", "tmpfs", dev_opts},
};

static const struct default_mount mounts_tail[] = {
    {"/dev/shm", "tmpfs", "shm", shm_opts},
    {"/dev/mqueue", "mqueue", "mqueue", mqueue_opts},
};

static const char *const default_caps[] = {"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE",
					   NULL};

static const char *const default_env[] = {
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm", NULL};

static const char *const masked_paths[] = {"/proc/acpi",
					   "/proc/asound",
					   "/proc/kcore",
					   "/proc/keys",
					   "/proc/latency_stats",
					   "/proc/timer_list",
					   "/proc/timer_stats",
					   "/proc/sched_debug",
					   "/sys/firmware",
					   "/proc/scsi",
					   "/sys/devices/virtual/powercap",
					   NULL};

static const char *const readonly_paths[] = {
    "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL};

/* yajl_gen calls only fail on misuse or bad UTF-8; remember the first failure. */
struct gen {
	yajl_gen g;
	bool failed;
};

static void check(struct gen *g, yajl_gen_status st)
{
	if (st != yajl_gen_status_ok)
		g->failed = true;
}

static void put_string(struct gen *g, const char *s)
{
	check(g, yajl_gen_string(g->g, (const unsigned char *)s, strlen(s)));
}

static void open_map(struct gen *g)
{
	check(g, yajl_gen_map_open(g->g));
}

static void close_map(struct gen *g)
{
	check(g, yajl_gen_map_close(g->g));
}

static void open_array(struct gen *g)
{
	check(g, yajl_gen_array_open(g->g));
}

static void close_array(struct gen *g)
{
	check(g, yajl_gen_array_close(g->g));
}

static void key_string(struct gen *g, const char *key, const char *value)
{
	put_string(g, key);
	put_string(g, value);
}

static void key_bool(struct gen *g, const char *key, bool value)
{
	put_string(g, key);
	check(g, yajl_gen_bool(g->g, value));
}

static void key_int(struct gen *g, const char *key, long long value)
{
	put_string(g, key);
	check(g, yajl_gen_integer(g->g, value));
}

static void key_strv(struct gen *g, const char *key, const char *const *v)
{
	put_string(g, key);
	open_array(g);
	for (; *v; v++)
		put_string(g, *v);
	close_array(g);
}

static void gen_process(struct gen *g)
{
	put_string(g, "process");
	open_map(g);
	key_bool(g, "terminal", true);
	put_string(g, "user");
	open_map(g);
	key_int(g, "uid", 0);
	key_int(g, "gid", 0);
	close_map(g);
	key_strv(g, "args", (const char *const[]){"sh", NULL});
	key_strv(g, "env", default_env);
	key_string(g, "cwd", "/");
	put_string(g, "capabilities");
	open_map(g);
	key_strv(g, "bounding", default_caps);
	key_strv(g, "effective", default_caps);
	key_strv(g, "permitted", default_caps);
	close_map(g);
	put_string(g, "rlimits");
	open_array(g);
	open_map(g);
	key_string(g, "type", "RLIMIT_NOFILE");
	key_int(g, "hard", 1024);
	key_int(g, "soft", 1024);
	close_map(g);
	close_array(g);
	key_bool(g, "noNewPrivileges", true);
	close_map(g);
}

static void gen_mount(struct gen *g, const struct default_mount *m)
{
	open_map(g);
	key_string(g, "destination", m->destination);
	key_string(g, "type", m->type);
	key_string(g, "source", m->source);
	if (m->options[0] != NULL)
		key_strv(g, "options", m->options);
	close_map(g);
}

static void gen_mounts(struct gen *g, bool rootless)
{
	put_string(g, "mounts");
	open_array(g);
	for (size_t i = 0; i < sizeof mounts_common_head / sizeof mounts_common_head[0]; i++)
		gen_mount(g, &mounts_common_head[i]);
	gen_mount(g, &(struct default_mount){"/dev/pts", "devpts", "devpts",
					     rootless ? devpts_rootless_opts : devpts_opts});
	for (size_t i = 0; i < sizeof mounts_tail / sizeof mounts_tail[0]; i++)
		gen_mount(g, &mounts_tail[i]);
	if (rootless) {
		gen_mount(g, &(struct default_mount){"/sys", "none", "/sys", sys_bind_opts});
	} else {
		gen_mount(g, &(struct default_mount){"/sys", "sysfs", "sysfs", sysfs_opts});
		gen_mount(
		    g, &(struct default_mount){"/sys/fs/cgroup", "cgroup", "cgroup", cgroup_opts});
	}
	close_array(g);
}

static void gen_idmap(struct gen *g, const char *key, uint32_t host_id)
{
	put_string(g, key);
	open_array(g);
	open_map(g);
	key_int(g, "containerID", 0);
	key_int(g, "hostID", host_id);
	key_int(g, "size", 1);
	close_map(g);
	close_array(g);
}

static void gen_linux(struct gen *g, bool rootless, uint32_t uid, uint32_t gid)
{
	static const char *const ns_root[] = {"pid",   "network", "ipc", "uts",
					      "mount", "cgroup",  NULL};
	static const char *const ns_rootless[] = {"pid",    "ipc",  "uts", "mount",
						  "cgroup", "user", NULL};

	put_string(g, "linux");
	open_map(g);
	if (rootless) {
		gen_idmap(g, "uidMappings", uid);
		gen_idmap(g, "gidMappings", gid);
	} else {
		/* Deny every device; the runtime adds back the ones the spec requires. */
		put_string(g, "resources");
		open_map(g);
		put_string(g, "devices");
		open_array(g);
		open_map(g);
		key_bool(g, "allow", false);
		key_string(g, "access", "rwm");
		close_map(g);
		close_array(g);
		close_map(g);
	}
	put_string(g, "namespaces");
	open_array(g);
	for (const char *const *ns = rootless ? ns_rootless : ns_root; *ns; ns++) {
		open_map(g);
		key_string(g, "type", *ns);
		close_map(g);
	}
	close_array(g);
	key_strv(g, "maskedPaths", masked_paths);
	key_strv(g, "readonlyPaths", readonly_paths);
	close_map(g);
}

char *husk_spec_default_json(bool rootless, uint32_t uid, uint32_t gid)
{
	struct gen g = {.g = yajl_gen_alloc(NULL)};
	const unsigned char *buf;
	size_t len;
	char *out = NULL;

	if (g.g == NULL)
		return NULL;
	yajl_gen_config(g.g, yajl_gen_beautify, 1);
	yajl_gen_config(g.g, yajl_gen_indent_string, "  ");
	yajl_gen_config(g.g, yajl_gen_validate_utf8, 1);

	open_map(&g);
	key_string(&g, "ociVersion", HUSK_OCI_VERSION);
	gen_process(&g);
	put_string(&g, "root");
	open_map(&g);
	key_string(&g, "path", "rootfs");
	key_bool(&g, "readonly", true);
	close_map(&g);
	key_string(&g, "hostname", "husk");
	gen_mounts(&g, rootless);
	gen_linux(&g, rootless, uid, gid);
	close_map(&g);

	if (!g.failed && yajl_gen_get_buf(g.g, &buf, &len) == yajl_gen_status_ok) {
		out = xmalloc0(len + 1);
		memcpy(out, buf, len);
	}
	yajl_gen_free(g.g);
	return out;
}
