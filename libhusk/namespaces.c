#include "config.h"
#include "namespaces.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <linux/nsfs.h>

#include "utils.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

const husk_ns_info_t husk_ns_table[] = {
	{"user", "user", CLONE_NEWUSER},  {"pid", "pid", CLONE_NEWPID},
	{"network", "net", CLONE_NEWNET}, {"ipc", "ipc", CLONE_NEWIPC},
	{"uts", "uts", CLONE_NEWUTS},	  {"cgroup", "cgroup", CLONE_NEWCGROUP},
	{"time", "time", CLONE_NEWTIME},  {"mount", "mnt", CLONE_NEWNS},
	{NULL, NULL, 0},
};

const husk_ns_info_t *husk_ns_lookup(const char *type)
{
	for (const husk_ns_info_t *i = husk_ns_table; i->type; i++)
		if (strcmp(i->type, type) == 0)
			return i;
	return NULL;
}

static int ns_check_path(const char *path, int flag, int *out_fd, husk_error_t *err)
{
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
	int type;

	if (fd < 0)
		return husk_error_errno(err, "open namespace `%s`", path);
	type = ioctl(fd, NS_GET_NSTYPE);
	if (type < 0)
		return husk_error_set(err, errno == ENOTTY ? 0 : errno,
				      "`%s` is not a namespace", path);
	if (type != flag)
		return husk_error_set(err, 0, "`%s` is a namespace of another type", path);
	if (out_fd)
		*out_fd = steal_fd(&fd);
	return 0;
}

/* Which namespace owns a sysctl key, by prefix; 0 = not namespaced (refused). */
static int sysctl_namespace(const char *key)
{
	static const char *const ipc_keys[] = {"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni",
					       "kernel.sem",	"kernel.shmall", "kernel.shmmax",
					       "kernel.shmmni", "kernel.shm_rmid_forced", NULL};
	for (const char *const *k = ipc_keys; *k; k++)
		if (strcmp(key, *k) == 0)
			return CLONE_NEWIPC;
	if (strncmp(key, "fs.mqueue.", 10) == 0)
		return CLONE_NEWIPC;
	if (strncmp(key, "net.", 4) == 0)
		return CLONE_NEWNET;
	if (strcmp(key, "kernel.hostname") == 0 || strcmp(key, "kernel.domainname") == 0)
		return CLONE_NEWUTS;
	return 0;
}

static bool has_ns(const husk_spec_t *spec, const char *type)
{
	return husk_spec_namespace(spec, type) != NULL;
}

static int validate_sysctl(const husk_spec_t *spec, husk_error_t *err)
{
	const husk_linux_t *l = spec->linux_;
	for (size_t i = 0; l && i < l->sysctl_len; i++) {
		const char *key = l->sysctl[i].key;
		int flag = sysctl_namespace(key);
		const husk_ns_info_t *ns = NULL;

		if (strstr(key, "..") || strchr(key, '/'))
			return husk_error_set(err, 0, "linux.sysctl: invalid key \"%s\"", key);
		if (flag == 0)
			return husk_error_set(err, 0,
					      "linux.sysctl: \"%s\" is not namespaced and cannot "
					      "be set for a container",
					      key);
		for (const husk_ns_info_t *t = husk_ns_table; t->type; t++)
			if (t->flag == flag)
				ns = t;
		if (!has_ns(spec, ns->type))
			return husk_error_set(err, 0,
					      "linux.sysctl: \"%s\" needs a %s namespace in "
					      "linux.namespaces",
					      key, ns->type);
	}
	return 0;
}

int husk_ns_validate(const husk_spec_t *spec, husk_error_t *err)
{
	const husk_linux_t *l = spec->linux_;

	for (size_t i = 0; l && i < l->namespaces_len; i++) {
		const husk_namespace_t *n = &l->namespaces[i];
		const husk_ns_info_t *info = husk_ns_lookup(n->type);
		if (info == NULL)
			return husk_error_set(err, 0, "linux.namespaces[%zu].type: unknown "
						      "namespace type \"%s\"", i, n->type);
		if (n->path && ns_check_path(n->path, info->flag, NULL, err) < 0)
			return husk_error_wrap(err, "linux.namespaces[%zu].path", i);
	}
	if ((spec->hostname || spec->domainname) && !has_ns(spec, "uts"))
		return husk_error_set(err, 0, "%s: needs a uts namespace in linux.namespaces",
				      spec->hostname ? "hostname" : "domainname");
	if (l && l->time_offsets_len > 0 && !has_ns(spec, "time"))
		return husk_error_set(err, 0,
				      "linux.timeOffsets: needs a time namespace in linux.namespaces");
	if (l && (l->uid_mappings_len || l->gid_mappings_len) && !has_ns(spec, "user"))
		return husk_error_set(err, 0,
				      "linux.uidMappings: needs a user namespace in linux.namespaces");
	if (has_ns(spec, "user") && husk_spec_namespace(spec, "user")->path == NULL &&
	    (!l || l->uid_mappings_len == 0 || l->gid_mappings_len == 0))
		return husk_error_set(err, 0, "linux.uidMappings and linux.gidMappings: required "
					      "with a new user namespace");
	return validate_sysctl(spec, err);
}

int husk_ns_new_flags(const husk_spec_t *spec)
{
	int flags = 0;
	for (size_t i = 0; spec->linux_ && i < spec->linux_->namespaces_len; i++) {
		const husk_namespace_t *n = &spec->linux_->namespaces[i];
		const husk_ns_info_t *info = husk_ns_lookup(n->type);
		if (info && n->path == NULL)
			flags |= info->flag;
	}
	return flags;
}

int husk_ns_open_path(const char *path, int flag, husk_error_t *err)
{
	int fd = -1;

	if (ns_check_path(path, flag, &fd, err) < 0)
		return -1;
	return fd;
}

int husk_ns_join_path(const char *path, int flag, husk_error_t *err)
{
	cleanup_close int fd = -1;
	if (ns_check_path(path, flag, &fd, err) < 0)
		return -1;
	if (setns(fd, flag) < 0)
		return husk_error_errno(err, "join namespace `%s`", path);
	return 0;
}

int husk_ns_join_all(const husk_spec_t *spec, int flags, husk_error_t *err)
{
	/* husk_ns_table order: user first so later joins happen with its privileges,
	 * mount last so paths resolve in the runtime's mount namespace until then. */
	for (const husk_ns_info_t *t = husk_ns_table; t->type; t++) {
		const husk_namespace_t *n = husk_spec_namespace(spec, t->type);
		if (!(flags & t->flag) || n == NULL || n->path == NULL)
			continue;
		if (husk_ns_join_path(n->path, t->flag, err) < 0)
			return -1;
	}
	return 0;
}

static int write_map(pid_t pid, const char *file, const husk_idmap_t *m, size_t n,
		     husk_error_t *err)
{
	char path[64], buf[4096];
	size_t used = 0;

	for (size_t i = 0; i < n; i++) {
		int w = snprintf(buf + used, sizeof buf - used, "%u %u %u\n", m[i].container_id,
				 m[i].host_id, m[i].size);
		if (w < 0 || (size_t)w >= sizeof buf - used)
			return husk_error_set(err, 0, "%s: too many mappings", file);
		used += (size_t)w;
	}
	snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, file);
	if (husk_write_file_at(AT_FDCWD, path, buf, err) < 0)
		return -1;
	return 0;
}

int husk_ns_write_id_maps(pid_t pid, const husk_spec_t *spec, husk_error_t *err)
{
	const husk_linux_t *l = spec->linux_;
	if (write_map(pid, "uid_map", l->uid_mappings, l->uid_mappings_len, err) < 0)
		return husk_error_wrap(err, "linux.uidMappings");
	if (write_map(pid, "gid_map", l->gid_mappings, l->gid_mappings_len, err) < 0)
		return husk_error_wrap(err, "linux.gidMappings");
	return 0;
}

int husk_ns_write_time_offsets(const husk_spec_t *spec, husk_error_t *err)
{
	const husk_linux_t *l = spec->linux_;
	char buf[256];
	size_t used = 0;

	for (size_t i = 0; l && i < l->time_offsets_len; i++) {
		const husk_time_offset_t *o = &l->time_offsets[i];
		int w = snprintf(buf + used, sizeof buf - used, "%s %lld %u\n", o->clock,
				 (long long)o->secs, o->nanosecs);
		if (w < 0 || (size_t)w >= sizeof buf - used)
			return husk_error_set(err, 0, "linux.timeOffsets: too many entries");
		used += (size_t)w;
	}
	if (used == 0)
		return 0;
	if (husk_write_file_at(AT_FDCWD, "/proc/self/timens_offsets", buf, err) < 0)
		return husk_error_wrap(err, "linux.timeOffsets");
	return 0;
}

int husk_ns_set_names(const husk_spec_t *spec, husk_error_t *err)
{
	if (spec->hostname && sethostname(spec->hostname, strlen(spec->hostname)) < 0)
		return husk_error_errno(err, "hostname: sethostname \"%s\"", spec->hostname);
	if (spec->domainname && setdomainname(spec->domainname, strlen(spec->domainname)) < 0)
		return husk_error_errno(err, "domainname: setdomainname \"%s\"", spec->domainname);
	return 0;
}

int husk_ns_apply_sysctl(const husk_spec_t *spec, int proc_fd, husk_error_t *err)
{
	const husk_linux_t *l = spec->linux_;
	for (size_t i = 0; l && i < l->sysctl_len; i++) {
		char path[512];
		size_t n = (size_t)snprintf(path, sizeof path, "sys/%s", l->sysctl[i].key);
		if (n >= sizeof path)
			return husk_error_set(err, 0, "linux.sysctl: key too long");
		for (char *p = path + 4; *p; p++)
			if (*p == '.')
				*p = '/';
		if (husk_write_file_at(proc_fd, path, l->sysctl[i].value, err) < 0)
			return husk_error_wrap(err, "linux.sysctl \"%s\"", l->sysctl[i].key);
	}
	return 0;
}
