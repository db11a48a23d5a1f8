/* Unit tests for the config.json parser and the default spec (libhusk/spec.c, spec-default.c). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "libhusk/spec.h"
#include "libhusk/utils.h"

#ifndef SPEC_FIXTURES
#error "SPEC_FIXTURES must name tests/unit/spec-fixtures"
#endif

/* Test inputs are written with ' for " so that they stay readable as C literals. */
static char *json_of(const char *s)
{
	char *j = xstrdup(s);
	for (char *p = j; *p; p++)
		if (*p == '\'')
			*p = '"';
	return j;
}

static husk_spec_t *parse_ok(const char *text)
{
	cleanup_free char *json = json_of(text);
	husk_error_t err = {0};
	husk_spec_t *spec = NULL;
	int r = husk_spec_parse(json, strlen(json), "config.json", &spec, &err);
	if (r < 0)
		fail_msg("unexpected parse failure: %s", husk_error_msg(&err));
	husk_error_clear(&err);
	assert_non_null(spec);
	return spec;
}

/* The message of a parse that must fail (heap string). */
static char *parse_err(const char *text)
{
	cleanup_free char *json = json_of(text);
	husk_error_t err = {0};
	husk_spec_t *spec = NULL;
	int r = husk_spec_parse(json, strlen(json), "config.json", &spec, &err);
	if (r == 0) {
		husk_spec_free(spec);
		fail_msg("parse of %s succeeded, expected failure", text);
	}
	assert_null(spec);
	assert_int_equal(err.errnum, EINVAL);
	assert_non_null(err.msg);
	assert_null(strchr(err.msg, '\n'));
	return err.msg;
}

static char *read_fixture(const char *dir, const char *name, size_t *len)
{
	char path[4096];
	char *text = NULL;
	husk_error_t err = {0};
	snprintf(path, sizeof path, "%s/%s/%s", SPEC_FIXTURES, dir, name);
	if (husk_read_file_at(AT_FDCWD, path, &text, len, &err) < 0)
		fail_msg("%s", husk_error_msg(&err));
	return text;
}

/* The spec's spec-example.json still carries the draft version "0.5.0-dev", which husk
 * refuses (major must be 1): its fields are tested with the version made "1.0.0-dev". */
static void make_draft_v1(char *text)
{
	char *v = strstr(text, "\"0.5.0-dev\"");
	if (v)
		v[1] = '1', v[3] = '0';
}

static husk_spec_t *parse_fixture(const char *dir, const char *name)
{
	size_t len;
	cleanup_free char *text = read_fixture(dir, name, &len);
	husk_error_t err = {0};
	husk_spec_t *spec = NULL;
	make_draft_v1(text);
	if (husk_spec_parse(text, len, "config.json", &spec, &err) < 0)
		fail_msg("%s/%s: %s", dir, name, husk_error_msg(&err));
	return spec;
}

static void assert_strv(char **v, size_t len, const char *const *want)
{
	size_t n = 0;
	while (want[n])
		n++;
	assert_int_equal(len, n);
	assert_non_null(v);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(v[i], want[i]);
	assert_null(v[n]);
}

/* ------------------------------------------------------------ the spec's examples */

static void test_good_fixtures_parse(void **state)
{
	static const char *const names[] = {"minimal.json",	 "minimal-for-start.json",
					    "spec-example.json", "linux-netdevice.json",
					    "linux-rdma.json",	 NULL};
	(void)state;
	for (const char *const *n = names; *n; n++) {
		cleanup_spec husk_spec_t *spec = parse_fixture("good", *n);
		assert_non_null(spec->root);
		assert_string_equal(spec->root->path, "rootfs");
	}
}

static void test_spec_example_draft_version_refused(void **state)
{
	size_t len;
	cleanup_free char *text = read_fixture("good", "spec-example.json", &len);
	cleanup_error husk_error_t err = {0};
	husk_spec_t *spec = NULL;
	(void)state;
	assert_int_equal(husk_spec_parse(text, len, "config.json", &spec, &err), -1);
	assert_null(spec);
	assert_string_equal(husk_error_msg(&err), "config.json: ociVersion: unsupported version "
						  "\"0.5.0-dev\" (husk implements 1.3.0)");
}

static void test_minimal(void **state)
{
	(void)state;
	cleanup_spec husk_spec_t *spec = parse_fixture("good", "minimal.json");
	assert_string_equal(spec->oci_version, "1.0.0");
	assert_false(spec->root->readonly);
	assert_null(spec->process);
	assert_null(spec->linux_);
	assert_null(spec->hooks);
	assert_null(spec->mounts);
	assert_int_equal(spec->mounts_len, 0);
	assert_null(husk_spec_namespace(spec, "pid"));
	assert_null(husk_spec_annotation(spec, "x"));

	cleanup_spec husk_spec_t *start = parse_fixture("good", "minimal-for-start.json");
	assert_string_equal(start->process->cwd, "/");
	assert_string_equal(start->process->args[0], "sh");
	assert_int_equal(start->process->args_len, 1);
	assert_int_equal(start->process->user.uid, 0);
	assert_false(start->process->terminal);
	assert_null(start->process->capabilities);
	assert_false(start->process->has_oom_score_adj);
}

static void test_spec_example_process(void **state)
{
	(void)state;
	cleanup_spec husk_spec_t *spec = parse_fixture("good", "spec-example.json");
	husk_process_t *p = spec->process;

	assert_string_equal(spec->oci_version, "1.0.0-dev");
	assert_string_equal(spec->hostname, "slartibartfast");
	assert_string_equal(spec->domainname, "foobarbaz.test");
	assert_true(spec->root->readonly);

	assert_non_null(p);
	assert_true(p->terminal);
	assert_int_equal(p->user.uid, 1);
	assert_int_equal(p->user.gid, 1);
	assert_false(p->user.has_umask);
	assert_int_equal(p->user.additional_gids_len, 2);
	assert_int_equal(p->user.additional_gids[0], 5);
	assert_int_equal(p->user.additional_gids[1], 6);
	assert_strv(p->args, p->args_len, (const char *const[]){"sh", NULL});
	assert_strv(p->env, p->env_len,
		    (const char *const[]){
			"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			"TERM=xterm", NULL});
	assert_string_equal(p->cwd, "/");
	assert_strv(
	    p->capabilities->bounding, p->capabilities->bounding_len,
	    (const char *const[]){"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE", NULL});
	assert_strv(p->capabilities->effective, p->capabilities->effective_len,
		    (const char *const[]){"CAP_AUDIT_WRITE", "CAP_KILL", NULL});
	assert_strv(p->capabilities->ambient, p->capabilities->ambient_len,
		    (const char *const[]){"CAP_NET_BIND_SERVICE", NULL});
	assert_int_equal(p->capabilities->inheritable_len, 3);
	assert_int_equal(p->capabilities->permitted_len, 3);
	assert_int_equal(p->rlimits_len, 2);
	assert_string_equal(p->rlimits[0].type, "RLIMIT_CORE");
	assert_int_equal(p->rlimits[0].hard, 1024);
	assert_int_equal(p->rlimits[0].soft, 1024);
	assert_string_equal(p->rlimits[1].type, "RLIMIT_NOFILE");
	assert_string_equal(p->apparmor_profile, "acme_secure_profile");
	assert_string_equal(p->selinux_label, "system_u:system_r:svirt_lxc_net_t:s0:c124,c675");
	assert_true(p->no_new_privileges);
	assert_null(p->scheduler);
	assert_null(p->io_priority);
}

static void test_spec_example_mounts_hooks(void **state)
{
	(void)state;
	cleanup_spec husk_spec_t *spec = parse_fixture("good", "spec-example.json");

	assert_int_equal(spec->mounts_len, 7);
	assert_string_equal(spec->mounts[0].destination, "/proc");
	assert_string_equal(spec->mounts[0].type, "proc");
	assert_string_equal(spec->mounts[0].source, "proc");
	assert_null(spec->mounts[0].options);
	assert_int_equal(spec->mounts[0].options_len, 0);
	assert_strv(spec->mounts[2].options, spec->mounts[2].options_len,
		    (const char *const[]){"nosuid", "noexec", "newinstance", "ptmxmode=0666",
					  "mode=0620", "gid=5", NULL});
	assert_string_equal(spec->mounts[6].destination, "/sys/fs/cgroup");
	assert_string_equal(spec->mounts[6].options[4], "ro");

	husk_hooks_t *h = spec->hooks;
	assert_non_null(h);
	assert_int_equal(h->prestart.len, 2);
	assert_string_equal(h->prestart.v[0].path, "/usr/bin/fix-mounts");
	assert_strv(h->prestart.v[0].args, h->prestart.v[0].args_len,
		    (const char *const[]){"fix-mounts", "arg1", "arg2", NULL});
	assert_strv(h->prestart.v[0].env, h->prestart.v[0].env_len,
		    (const char *const[]){"key1=value1", NULL});
	assert_string_equal(h->prestart.v[1].path, "/usr/bin/setup-network");
	assert_null(h->prestart.v[1].args);
	assert_int_equal(h->create_runtime.len, 2);
	assert_int_equal(h->create_container.len, 1);
	assert_string_equal(h->create_container.v[0].args[0], "-mount");
	assert_int_equal(h->start_container.len, 1);
	assert_string_equal(h->start_container.v[0].path, "/usr/bin/refresh-ldcache");
	assert_int_equal(h->poststart.len, 1);
	assert_true(h->poststart.v[0].has_timeout);
	assert_int_equal(h->poststart.v[0].timeout, 5);
	assert_false(h->prestart.v[0].has_timeout);
	assert_int_equal(h->poststop.len, 1);
	assert_string_equal(h->poststop.v[0].path, "/usr/sbin/cleanup.sh");

	assert_int_equal(spec->annotations_len, 2);
	assert_string_equal(spec->annotations[0].key, "com.example.key1");
	assert_string_equal(spec->annotations[1].value, "value2");
	assert_string_equal(husk_spec_annotation(spec, "com.example.key2"), "value2");
	assert_null(husk_spec_annotation(spec, "com.example.key3"));
}

static void test_spec_example_linux(void **state)
{
	(void)state;
	cleanup_spec husk_spec_t *spec = parse_fixture("good", "spec-example.json");
	husk_linux_t *l = spec->linux_;
	assert_non_null(l);

	assert_int_equal(l->devices_len, 2);
	assert_string_equal(l->devices[0].path, "/dev/fuse");
	assert_string_equal(l->devices[0].type, "c");
	assert_int_equal(l->devices[0].major, 10);
	assert_int_equal(l->devices[0].minor, 229);
	assert_true(l->devices[0].has_file_mode);
	assert_int_equal(l->devices[0].file_mode, 438);
	assert_true(l->devices[0].has_uid);
	assert_int_equal(l->devices[1].file_mode, 432);
	assert_string_equal(l->devices[1].type, "b");

	assert_int_equal(l->uid_mappings_len, 1);
	assert_int_equal(l->uid_mappings[0].container_id, 0);
	assert_int_equal(l->uid_mappings[0].host_id, 1000);
	assert_int_equal(l->uid_mappings[0].size, 32000);
	assert_int_equal(l->gid_mappings_len, 1);
	assert_int_equal(l->gid_mappings[0].host_id, 1000);

	assert_int_equal(l->sysctl_len, 2);
	assert_string_equal(l->sysctl[0].key, "net.ipv4.ip_forward");
	assert_string_equal(l->sysctl[0].value, "1");
	assert_string_equal(l->sysctl[1].key, "net.core.somaxconn");
	assert_string_equal(l->sysctl[1].value, "256");
	assert_string_equal(l->cgroups_path, "/myRuntime/myContainer");
	assert_string_equal(l->rootfs_propagation, "slave");
	assert_string_equal(l->mount_label, "system_u:object_r:svirt_sandbox_file_t:s0:c715,c811");
	assert_int_equal(l->masked_paths_len, 4);
	assert_string_equal(l->masked_paths[3], "/proc/sched_debug");
	assert_int_equal(l->readonly_paths_len, 6);
	assert_string_equal(l->readonly_paths[5], "/proc/sysrq-trigger");

	assert_int_equal(l->namespaces_len, 8);
	static const char *const ns[] = {"pid",	  "network", "ipc",    "uts",
					 "mount", "user",    "cgroup", "time"};
	for (size_t i = 0; i < 8; i++) {
		assert_string_equal(l->namespaces[i].type, ns[i]);
		assert_null(l->namespaces[i].path);
		assert_ptr_equal(husk_spec_namespace(spec, ns[i]), &l->namespaces[i]);
	}

	assert_int_equal(l->time_offsets_len, 2);
	assert_string_equal(l->time_offsets[0].clock, "monotonic");
	assert_int_equal(l->time_offsets[0].secs, 172800);
	assert_string_equal(l->time_offsets[1].clock, "boottime");
	assert_int_equal(l->time_offsets[1].secs, 604800);
	assert_int_equal(l->time_offsets[1].nanosecs, 0);

	husk_seccomp_t *sc = l->seccomp;
	assert_non_null(sc);
	assert_string_equal(sc->default_action, "SCMP_ACT_ALLOW");
	assert_false(sc->has_default_errno_ret);
	assert_strv(sc->architectures, sc->architectures_len,
		    (const char *const[]){"SCMP_ARCH_X86", "SCMP_ARCH_X32", NULL});
	assert_int_equal(sc->syscalls_len, 1);
	assert_strv(sc->syscalls[0].names, sc->syscalls[0].names_len,
		    (const char *const[]){"getcwd", "chmod", NULL});
	assert_string_equal(sc->syscalls[0].action, "SCMP_ACT_ERRNO");
	assert_false(sc->syscalls[0].has_errno_ret);
	assert_int_equal(sc->syscalls[0].args_len, 0);
}

static void test_spec_example_resources(void **state)
{
	(void)state;
	cleanup_spec husk_spec_t *spec = parse_fixture("good", "spec-example.json");
	husk_resources_t *r = spec->linux_->resources;
	assert_non_null(r);

	assert_true(r->network->has_class_id);
	assert_int_equal(r->network->class_id, 1048577);
	assert_int_equal(r->network->priorities_len, 2);
	assert_string_equal(r->network->priorities[1].name, "eth1");
	assert_int_equal(r->network->priorities[1].priority, 1000);

	assert_true(r->has_pids_limit);
	assert_int_equal(r->pids_limit, 32771);

	assert_int_equal(r->hugepage_limits_len, 2);
	assert_string_equal(r->hugepage_limits[0].page_size, "2MB");
	assert_true(r->hugepage_limits[0].limit == 9223372036854772000ULL);
	assert_string_equal(r->hugepage_limits[1].page_size, "64KB");
	assert_int_equal(r->hugepage_limits[1].limit, 1000000);

	husk_memory_t *m = r->memory;
	assert_true(m->has_limit);
	assert_int_equal(m->limit, 536870912);
	assert_int_equal(m->reservation, 536870912);
	assert_int_equal(m->swap, 536870912);
	assert_true(m->has_kernel);
	assert_true(m->kernel == -1);
	assert_true(m->kernel_tcp == -1);
	assert_true(m->has_swappiness);
	assert_int_equal(m->swappiness, 0);
	assert_true(m->has_disable_oom_killer);
	assert_false(m->disable_oom_killer);
	assert_true(m->has_use_hierarchy);
	assert_true(m->has_check_before_update);

	husk_cpu_t *c = r->cpu;
	assert_int_equal(c->shares, 1024);
	assert_int_equal(c->quota, 1000000);
	assert_true(c->has_burst);
	assert_int_equal(c->burst, 1000000);
	assert_int_equal(c->period, 500000);
	assert_int_equal(c->realtime_runtime, 950000);
	assert_int_equal(c->realtime_period, 1000000);
	assert_string_equal(c->cpus, "2-3");
	assert_string_equal(c->mems, "0-7");
	assert_false(c->has_idle);

	assert_int_equal(r->devices_len, 3);
	assert_false(r->devices[0].allow);
	assert_null(r->devices[0].type);
	assert_false(r->devices[0].has_major);
	assert_string_equal(r->devices[0].access, "rwm");
	assert_true(r->devices[1].allow);
	assert_string_equal(r->devices[1].type, "c");
	assert_int_equal(r->devices[1].major, 10);
	assert_int_equal(r->devices[1].minor, 229);
	assert_string_equal(r->devices[2].access, "r");

	husk_blkio_t *b = r->block_io;
	assert_int_equal(b->weight, 10);
	assert_int_equal(b->leaf_weight, 10);
	assert_int_equal(b->weight_device_len, 2);
	assert_int_equal(b->weight_device[0].major, 8);
	assert_int_equal(b->weight_device[0].weight, 500);
	assert_true(b->weight_device[0].has_leaf_weight);
	assert_int_equal(b->weight_device[0].leaf_weight, 300);
	assert_int_equal(b->weight_device[1].minor, 16);
	assert_false(b->weight_device[1].has_leaf_weight);
	assert_int_equal(b->throttle_read_bps_device_len, 1);
	assert_int_equal(b->throttle_read_bps_device[0].rate, 600);
	assert_int_equal(b->throttle_write_iops_device_len, 1);
	assert_int_equal(b->throttle_write_iops_device[0].rate, 300);
	assert_int_equal(b->throttle_write_bps_device_len, 0);
	assert_null(b->throttle_read_iops_device);

	assert_null(r->rdma);
	assert_null(r->unified);
}

static void test_netdevice_rdma_order(void **state)
{
	(void)state;
	cleanup_spec husk_spec_t *nd = parse_fixture("good", "linux-netdevice.json");
	assert_int_equal(nd->linux_->net_devices_len, 3);
	assert_string_equal(nd->linux_->net_devices[0].host_name, "eth0");
	assert_string_equal(nd->linux_->net_devices[0].name, "container_eth0");
	assert_string_equal(nd->linux_->net_devices[1].host_name, "ens4");
	assert_null(nd->linux_->net_devices[1].name);
	assert_string_equal(nd->linux_->net_devices[2].host_name, "ens5");

	cleanup_spec husk_spec_t *rd = parse_fixture("good", "linux-rdma.json");
	husk_resources_t *r = rd->linux_->resources;
	assert_int_equal(r->rdma_len, 3);
	assert_string_equal(r->rdma[0].device, "mlx5_1");
	assert_true(r->rdma[0].has_hca_handles);
	assert_int_equal(r->rdma[0].hca_handles, 3);
	assert_int_equal(r->rdma[0].hca_objects, 10000);
	assert_string_equal(r->rdma[1].device, "mlx4_0");
	assert_false(r->rdma[1].has_hca_handles);
	assert_int_equal(r->rdma[1].hca_objects, 1000);
	assert_string_equal(r->rdma[2].device, "rxe3");
}

static void test_bad_fixtures(void **state)
{
	static const struct {
		const char *file;
		const char *prefix;
	} cases[] = {
	    {"invalid-json.json", "config.json: invalid JSON: "},
	    {"linux-hugepage.json", "config.json: linux.resources.hugepageLimits[0].pageSize: "
				    "invalid page size \"64kB\""},
	    {"linux-netdevice.json",
	     "config.json: linux.netDevices.eth0.name: expected string, got number"},
	    {"linux-rdma.json",
	     "config.json: linux.resources.rdma.mlx5_1.hcaHandles: expected integer, got string"},
	};
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		size_t len;
		cleanup_free char *text = read_fixture("bad", cases[i].file, &len);
		husk_error_t err = {0};
		husk_spec_t *spec = NULL;
		assert_int_equal(husk_spec_parse(text, len, "config.json", &spec, &err), -1);
		assert_null(spec);
		if (strncmp(err.msg, cases[i].prefix, strlen(cases[i].prefix)) != 0)
			fail_msg("%s: got \"%s\", want prefix \"%s\"", cases[i].file, err.msg,
				 cases[i].prefix);
		husk_error_clear(&err);
	}
}

/* ------------------------------------------------------------ broken inputs */

#define V "'ociVersion':'1.0.0'"

static const struct {
	const char *json;
	const char *msg;
} broken[] = {
    /* wrong types, at several depths */
    {"{" V ",'process':{'cwd':'/','args':['sh',1]}}",
     "config.json: process.args[1]: expected string, got number"},
    {"{" V ",'linux':{'resources':{'memory':{'limit':'1G'}}}}",
     "config.json: linux.resources.memory.limit: expected integer, got string"},
    {"{" V ",'process':[]}", "config.json: process: expected object, got array"},
    {"{" V ",'process':{'cwd':'/','terminal':'yes'}}",
     "config.json: process.terminal: expected boolean, got string"},
    {"{" V ",'mounts':{}}", "config.json: mounts: expected array, got object"},
    {"{" V ",'mounts':['/proc']}", "config.json: mounts[0]: expected object, got string"},
    {"{" V ",'hostname':7}", "config.json: hostname: expected string, got number"},
    {"{" V ",'linux':{'seccomp':{'defaultAction':'SCMP_ACT_ALLOW',"
     "'syscalls':[{'names':['read'],'action':'SCMP_ACT_ERRNO'},{'names':[3],'action':'x'}]}}}",
     "config.json: linux.seccomp.syscalls[1].names[0]: expected string, got number"},
    {"{" V ",'linux':{'seccomp':{'defaultAction':'SCMP_ACT_ALLOW',"
     "'syscalls':[{'names':['read'],'action':1}]}}}",
     "config.json: linux.seccomp.syscalls[0].action: expected string, got number"},
    {"{" V ",'linux':{'seccomp':{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['read'],"
     "'action':'SCMP_ACT_ERRNO','args':[{'index':0,'value':'1','op':'SCMP_CMP_EQ'}]}]}}}",
     "config.json: linux.seccomp.syscalls[0].args[0].value: expected integer, got string"},
    {"{" V ",'annotations':{'com.example.key':1}}",
     "config.json: annotations[\"com.example.key\"]: expected string, got number"},
    {"{" V ",'linux':{'sysctl':{'net.ipv4.ip_forward':true}}}",
     "config.json: linux.sysctl[\"net.ipv4.ip_forward\"]: expected string, got boolean"},
    {"{" V ",'linux':{'resources':{'blockIO':{'weightDevice':[{'major':8,'minor':'0',"
     "'weight':1}]}}}}",
     "config.json: linux.resources.blockIO.weightDevice[0].minor: expected integer, got string"},
    {"{" V ",'linux':{'resources':{'cpu':{'shares':1.5}}}}",
     "config.json: linux.resources.cpu.shares: expected integer, got 1.5"},
    {"{" V ",'linux':{'resources':{'cpu':{'shares':1e3}}}}",
     "config.json: linux.resources.cpu.shares: expected integer, got 1e3"},
    /* missing required properties */
    {"{" V ",'process':{'args':['sh']}}", "config.json: process.cwd: required property missing"},
    {"{" V ",'mounts':[{'destination':'/a'},{'destination':'/b'},{'type':'tmpfs'}]}",
     "config.json: mounts[2].destination: required property missing"},
    {"{" V ",'root':{'readonly':true}}", "config.json: root.path: required property missing"},
    {"{'root':{'path':'rootfs'}}", "config.json: ociVersion: required property missing"},
    {"{" V ",'process':{'cwd':'/','user':{'gid':0}}}",
     "config.json: process.user.uid: required property missing"},
    {"{" V ",'process':{'cwd':'/','user':{'uid':0}}}",
     "config.json: process.user.gid: required property missing"},
    {"{" V ",'hooks':{'prestart':[{'args':['x']}]}}",
     "config.json: hooks.prestart[0].path: required property missing"},
    {"{" V ",'linux':{'uidMappings':[{'containerID':0,'size':1}]}}",
     "config.json: linux.uidMappings[0].hostID: required property missing"},
    {"{" V ",'linux':{'namespaces':[{'path':'/proc/1/ns/pid'}]}}",
     "config.json: linux.namespaces[0].type: required property missing"},
    {"{" V ",'linux':{'devices':[{'type':'c','path':'/dev/null','minor':3}]}}",
     "config.json: linux.devices[0].major: required property missing"},
    {"{" V ",'linux':{'seccomp':{'syscalls':[]}}}",
     "config.json: linux.seccomp.defaultAction: required property missing"},
    {"{" V ",'linux':{'resources':{'devices':[{'access':'rwm'}]}}}",
     "config.json: linux.resources.devices[0].allow: required property missing"},
    {"{" V ",'process':{'cwd':'/','rlimits':[{'type':'RLIMIT_NOFILE','soft':1}]}}",
     "config.json: process.rlimits[0].hard: required property missing"},
    {"{" V ",'process':{'cwd':'/','consoleSize':{'height':24}}}",
     "config.json: process.consoleSize.width: required property missing"},
    {"{" V ",'process':{'cwd':null}}", "config.json: process.cwd: required property missing"},
    /* bad ociVersion */
    {"{'ociVersion':'2.0.0'}",
     "config.json: ociVersion: unsupported version \"2.0.0\" (husk implements 1.3.0)"},
    {"{'ociVersion':'1.0'}",
     "config.json: ociVersion: unsupported version \"1.0\" (husk implements 1.3.0)"},
    {"{'ociVersion':'v1.0.0'}",
     "config.json: ociVersion: unsupported version \"v1.0.0\" (husk implements 1.3.0)"},
    {"{'ociVersion':''}",
     "config.json: ociVersion: unsupported version \"\" (husk implements 1.3.0)"},
    {"{'ociVersion':1}", "config.json: ociVersion: expected string, got number"},
    /* enumerations and other value rules */
    {"{" V ",'linux':{'namespaces':[{'type':'pid'},{'type':'network'},{'type':'ipc'},"
     "{'type':'pid'}]}}",
     "config.json: linux.namespaces[3]: duplicate namespace type \"pid\""},
    {"{" V ",'linux':{'namespaces':[{'type':'net'}]}}",
     "config.json: linux.namespaces[0].type: unsupported value \"net\""},
    {"{" V ",'linux':{'namespaces':[{'type':'net','path':'ns/net'}]}}",
     "config.json: linux.namespaces[0].type: unsupported value \"net\""},
    {"{" V ",'linux':{'namespaces':[{'type':'network','path':'ns/net'}]}}",
     "config.json: linux.namespaces[0].path: must be an absolute path, got \"ns/net\""},
    {"{" V ",'linux':{'rootfsPropagation':'everywhere'}}",
     "config.json: linux.rootfsPropagation: unsupported value \"everywhere\""},
    {"{" V ",'hooks':{'poststart':[{'path':'/bin/true','timeout':0}]}}",
     "config.json: hooks.poststart[0].timeout: expected integer in 1..2147483647, got 0"},
    {"{" V ",'hooks':{'poststop':[{'path':'true'}]}}",
     "config.json: hooks.poststop[0].path: must be an absolute path, got \"true\""},
    {"{" V ",'mounts':[{'destination':''}]}",
     "config.json: mounts[0].destination: must not be empty"},
    {"{" V ",'mounts':[{'destination':'/m','uidMappings':[{'containerID':0,'hostID':1,"
     "'size':1}]}]}",
     "config.json: mounts[0]: uidMappings and gidMappings must be specified together"},
    {"{" V ",'linux':{'devices':[{'type':'x','path':'/dev/x'}]}}",
     "config.json: linux.devices[0].type: unsupported value \"x\""},
    {"{" V ",'linux':{'resources':{'devices':[{'allow':true,'access':'rwx'}]}}}",
     "config.json: linux.resources.devices[0].access: expected a combination of \"r\", \"w\" "
     "and \"m\", got \"rwx\""},
    {"{" V ",'process':{'cwd':'tmp'}}",
     "config.json: process.cwd: must be an absolute path, got \"tmp\""},
    {"{" V ",'process':{'cwd':'/','args':[]}}",
     "config.json: process.args: expected at least one entry"},
    {"{" V ",'process':{'cwd':'/','rlimits':[{'type':'RLIMIT_NOFILE','soft':1,'hard':1},"
     "{'type':'RLIMIT_NOFILE','soft':2,'hard':2}]}}",
     "config.json: process.rlimits[1]: duplicate rlimit type \"RLIMIT_NOFILE\""},
    {"{" V ",'process':{'cwd':'/','rlimits':[{'type':'RLIMIT_FOO','soft':1,'hard':1}]}}",
     "config.json: process.rlimits[0].type: unsupported value \"RLIMIT_FOO\""},
    {"{" V ",'process':{'cwd':'/','ioPriority':{'class':'IOPRIO_CLASS_NONE'}}}",
     "config.json: process.ioPriority.class: unsupported value \"IOPRIO_CLASS_NONE\""},
    {"{" V ",'process':{'cwd':'/','scheduler':{'policy':'SCHED_FOO'}}}",
     "config.json: process.scheduler.policy: unsupported value \"SCHED_FOO\""},
    {"{" V ",'linux':{'personality':{'domain':'LINUX64'}}}",
     "config.json: linux.personality.domain: unsupported value \"LINUX64\""},
    {"{" V ",'linux':{'seccomp':{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':[],"
     "'action':'SCMP_ACT_ERRNO'}]}}}",
     "config.json: linux.seccomp.syscalls[0].names: expected at least one entry"},
    {"{" V ",'linux':{'resources':{'rdma':{'mlx5_1':{}}}}}",
     "config.json: linux.resources.rdma.mlx5_1: expected at least one of hcaHandles or "
     "hcaObjects"},
    {"{" V ",'linux':{'intelRdt':{'memBwSchema':'L3:0=ff'}}}",
     "config.json: linux.intelRdt.memBwSchema: must start with \"MB:\""},
    /* numbers out of range */
    {"{" V ",'process':{'cwd':'/','user':{'uid':-1,'gid':0}}}",
     "config.json: process.user.uid: expected integer in 0..4294967295, got -1"},
    {"{" V ",'linux':{'uidMappings':[{'containerID':0,'hostID':0,'size':4294967296}]}}",
     "config.json: linux.uidMappings[0].size: expected integer in 0..4294967295, got "
     "4294967296"},
    {"{" V ",'process':{'cwd':'/','rlimits':[{'type':'RLIMIT_NOFILE','soft':-5,'hard':1}]}}",
     "config.json: process.rlimits[0].soft: expected integer in 0..18446744073709551615, got "
     "-5"},
    {"{" V ",'process':{'cwd':'/','rlimits':[{'type':'RLIMIT_NOFILE','hard':1,"
     "'soft':18446744073709551616}]}}",
     "config.json: process.rlimits[0].soft: expected integer in 0..18446744073709551615, got "
     "18446744073709551616"},
    {"{" V ",'linux':{'resources':{'memory':{'limit':9223372036854775808}}}}",
     "config.json: linux.resources.memory.limit: expected integer in "
     "-9223372036854775808..9223372036854775807, got 9223372036854775808"},
    {"{" V ",'linux':{'resources':{'blockIO':{'weight':65536}}}}",
     "config.json: linux.resources.blockIO.weight: expected integer in 0..65535, got 65536"},
    {"{" V ",'process':{'cwd':'/','oomScoreAdj':2147483648}}",
     "config.json: process.oomScoreAdj: expected integer in -2147483648..2147483647, got "
     "2147483648"},
    {"{" V ",'process':{'cwd':'/','user':{'uid':0,'gid':0,'additionalGids':[1,-2]}}}",
     "config.json: process.user.additionalGids[1]: expected integer in 0..4294967295, got -2"},
    {"{" V ",'linux':{'resources':{'memory':{'swappiness':-1}}}}",
     "config.json: linux.resources.memory.swappiness: expected integer in "
     "0..18446744073709551615, got -1"},
    {"{" V ",'linux':{'timeOffsets':{'monotonic':{'secs':1,'nanosecs':-1}}}}",
     "config.json: linux.timeOffsets.monotonic.nanosecs: expected integer in 0..4294967295, "
     "got -1"},
    /* whole documents that are not configs */
    {"", "config.json: invalid JSON: empty document"},
    {" \n\t ", "config.json: invalid JSON: empty document"},
    {"[]", "config.json: expected object, got array"},
    {"'config'", "config.json: expected object, got string"},
    {"null", "config.json: expected object, got null"},
    /* messages stay on one line whatever the keys and values contain */
    {"{" V ",'annotations':{'a\\nb':1}}",
     "config.json: annotations[\"a\\u000ab\"]: expected string, got number"},
    {"{'ociVersion':'1.0.0\\n'}",
     "config.json: ociVersion: unsupported version \"1.0.0\\u000a\" (husk implements 1.3.0)"},
};

static void test_broken_inputs(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof broken / sizeof broken[0]; i++) {
		cleanup_free char *msg = parse_err(broken[i].json);
		if (strcmp(msg, broken[i].msg) != 0)
			fail_msg("input %s\n got: %s\nwant: %s", broken[i].json, msg,
				 broken[i].msg);
	}
}

/* yajl's own words, flattened, with where it stopped. */
static void test_malformed_json(void **state)
{
	static const struct {
		const char *json;
		const char *msg;
	} cases[] = {
	    {"{]", "config.json: invalid JSON: parse error: invalid object key (must be a string) "
		   "(near line 1, column 2)"},
	    {"{\n  'ociVersion': '1.0.0',\n}",
	     "config.json: invalid JSON: parse error: invalid object key (must be a string) "
	     "(near line 3, column 1)"},
	    {"{'ociVersion':'1.0.0'", "config.json: invalid JSON: parse error: premature EOF "
				      "(near line 1, column 21)"},
	    {"{'ociVersion':'1.0.0'} x",
	     "config.json: invalid JSON: parse error: trailing garbage (near line 1, column 24)"},
	    {"{'ociVersion':'1.0.0' 'x':1}",
	     "config.json: invalid JSON: parse error: after key and value, inside map, I expect "
	     "',' or '}' (near line 1, column 24)"},
	    {"{/* c */'ociVersion':'1.0.0'}",
	     "config.json: invalid JSON: lexical error: probable comment found in input text, "
	     "comments are not enabled. (near line 1, column 1)"},
	    {"{'ociVersion':'1.0.0','x':tru}",
	     "config.json: invalid JSON: lexical error: invalid string in json text. "
	     "(near line 1, column 29)"},
	};
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		cleanup_free char *msg = parse_err(cases[i].json);
		if (strcmp(msg, cases[i].msg) != 0)
			fail_msg("input %s\n got: %s\nwant: %s", cases[i].json, msg, cases[i].msg);
	}
}

/* Hostile text: deep nesting, NUL bytes, invalid UTF-8, a buffer without a terminator. */
static void test_hostile_text(void **state)
{
	(void)state;
	husk_error_t err = {0};
	husk_spec_t *spec = NULL;

	size_t depth = 100000;
	cleanup_free char *deep = xmalloc0(2 * depth + 64);
	strcpy(deep, "{\"ociVersion\":\"1.0.0\",\"x\":");
	size_t n = strlen(deep);
	memset(deep + n, '[', depth);
	memset(deep + n + depth, ']', depth);
	strcpy(deep + n + 2 * depth, "}");
	assert_int_equal(husk_spec_parse(deep, strlen(deep), NULL, &spec, &err), -1);
	assert_string_equal(err.msg, "config.json: invalid JSON: nested deeper than 256 levels");

	/* Unknown properties may nest, up to the limit. */
	memset(deep + n, '[', 200);
	memset(deep + n + 200, ']', 200);
	strcpy(deep + n + 400, "}");
	assert_int_equal(husk_spec_parse(deep, strlen(deep), NULL, &spec, &err), 0);
	husk_spec_free(spec);
	spec = NULL;

	static const char nul[] = "{\"ociVersion\":\"1.0.0\0\"}";
	assert_int_equal(husk_spec_parse(nul, sizeof nul - 1, "config.json", &spec, &err), -1);
	assert_non_null(strstr(err.msg, "config.json: invalid JSON: lexical error"));

	static const char bad_utf8[] = "{\"ociVersion\":\"1.0.0\",\"hostname\":\"\xff\xfe\"}";
	assert_int_equal(husk_spec_parse(bad_utf8, strlen(bad_utf8), "config.json", &spec, &err),
			 -1);
	assert_non_null(strstr(err.msg, "invalid JSON: lexical error: invalid bytes in UTF8"));

	/* Only len bytes are read: the rest of the buffer is not part of the document. */
	static const char prefix[] = "{\"ociVersion\":\"1.0.0\"}garbage";
	assert_int_equal(husk_spec_parse(prefix, 22, "config.json", &spec, &err), 0);
	husk_spec_free(spec);
	spec = NULL;

	assert_int_equal(husk_spec_parse(NULL, 0, "config.json", &spec, &err), -1);
	assert_string_equal(err.msg, "config.json: invalid JSON: empty document");

	/* A huge number is cut short in the message. */
	char big[200] = "{\"ociVersion\":\"1.0.0\",\"process\":{\"cwd\":\"/\",\"oomScoreAdj\":";
	size_t b = strlen(big);
	memset(big + b, '9', 100);
	strcpy(big + b + 100, "}}");
	assert_int_equal(husk_spec_parse(big, strlen(big), "config.json", &spec, &err), -1);
	assert_string_equal(err.msg, "config.json: process.oomScoreAdj: expected integer in "
				     "-2147483648..2147483647, got "
				     "9999999999999999999999999999999999999999...");
	husk_error_clear(&err);
}

static void test_unknown_properties_ignored(void **state)
{
	(void)state;
	cleanup_spec husk_spec_t *spec =
	    parse_ok("{'ociVersion':'1.3.0','future':{'a':[1,2,{'b':null}]},'windows':{'x':1},"
		     "'process':{'cwd':'/','user':{'uid':1,'gid':2,'sid':'S-1'},'newThing':true},"
		     "'root':{'path':'r','compression':'zstd'},"
		     "'linux':{'resources':{'oomScoreAdj':100,'memory':{'limit':5,'colour':'red'}},"
		     "'namespaces':[{'type':'pid','label':'x'}],'futureField':[]},"
		     "'mounts':[{'destination':'/x','extra':{}}]}");
	assert_string_equal(spec->process->cwd, "/");
	assert_int_equal(spec->process->user.uid, 1);
	assert_int_equal(spec->process->user.gid, 2);
	assert_string_equal(spec->root->path, "r");
	assert_int_equal(spec->linux_->resources->memory->limit, 5);
	assert_int_equal(spec->linux_->namespaces_len, 1);
	assert_int_equal(spec->mounts_len, 1);
}

static void test_nulls_duplicates_and_edges(void **state)
{
	(void)state;
	/* null is absence; on duplicated keys the last wins; -0 is a valid unsigned zero. */
	cleanup_spec husk_spec_t *spec = parse_ok(
	    "{'ociVersion':'1.3.0','hostname':'a','hostname':'b','domainname':null,"
	    "'process':{'cwd':'/','env':null,'user':{'uid':-0,'gid':4294967295,'umask':18}},"
	    "'annotations':{'k':'1','k':'2'},"
	    "'linux':{'resources':{'pids':{'limit':-1},'unified':{'memory.max':'max',"
	    "'io.weight':'100'}},'uidMappings':[],"
	    "'rootfsPropagation':'rprivate','timeOffsets':{'boottime':{}}}}");
	assert_string_equal(spec->hostname, "b");
	assert_null(spec->domainname);
	assert_null(spec->process->env);
	assert_int_equal(spec->process->user.uid, 0);
	assert_int_equal(spec->process->user.gid, 4294967295u);
	assert_true(spec->process->user.has_umask);
	assert_int_equal(spec->process->user.umask, 18);
	assert_string_equal(husk_spec_annotation(spec, "k"), "2");
	assert_true(spec->linux_->resources->has_pids_limit);
	assert_true(spec->linux_->resources->pids_limit == -1);
	assert_int_equal(spec->linux_->resources->unified_len, 2);
	assert_string_equal(spec->linux_->resources->unified[0].key, "memory.max");
	assert_string_equal(spec->linux_->resources->unified[1].value, "100");
	assert_non_null(spec->linux_->uid_mappings);
	assert_int_equal(spec->linux_->uid_mappings_len, 0);
	assert_string_equal(spec->linux_->rootfs_propagation, "rprivate");
	assert_int_equal(spec->linux_->time_offsets_len, 1);
	assert_int_equal(spec->linux_->time_offsets[0].secs, 0);

	/* Full-range values land exactly. */
	cleanup_spec husk_spec_t *wide =
	    parse_ok("{'ociVersion':'1.2.1-rc.1+build.5','process':{'cwd':'/','rlimits':[{'type':"
		     "'RLIMIT_CORE','soft':18446744073709551615,'hard':18446744073709551615}],"
		     "'oomScoreAdj':-1000},'linux':{'resources':{'memory':{'limit':"
		     "-9223372036854775808},'cpu':{'quota':9223372036854775807}},"
		     "'devices':[{'type':'p','path':'/dev/fifo'}]}}");
	assert_true(wide->process->rlimits[0].soft == UINT64_MAX);
	assert_true(wide->process->oom_score_adj == -1000);
	assert_true(wide->linux_->resources->memory->limit == INT64_MIN);
	assert_true(wide->linux_->resources->cpu->quota == INT64_MAX);
	assert_string_equal(wide->linux_->devices[0].type, "p");
	assert_false(wide->linux_->devices[0].has_file_mode);
}

static void test_every_linux_field(void **state)
{
	(void)state;
	cleanup_spec husk_spec_t *spec = parse_ok(
	    "{'ociVersion':'1.3.0','process':{'cwd':'/w','terminal':true,"
	    "'consoleSize':{'height':24,'width':80},'commandLine':'sh -c x',"
	    "'user':{'uid':1,'gid':1,'username':'u'},"
	    "'scheduler':{'policy':'SCHED_DEADLINE','nice':-5,'priority':0,"
	    "'flags':['SCHED_FLAG_RESET_ON_FORK'],'runtime':100,'deadline':200,'period':300},"
	    "'ioPriority':{'class':'IOPRIO_CLASS_RT','priority':3},"
	    "'execCPUAffinity':{'initial':'0-1','final':'2, 3'}},"
	    "'mounts':[{'destination':'/m','source':'/s','type':'none','options':['bind','idmap'],"
	    "'uidMappings':[{'containerID':0,'hostID':100,'size':10}],"
	    "'gidMappings':[{'containerID':0,'hostID':200,'size':20}]}],"
	    "'linux':{'netDevices':{'eth1':{'name':'e'}},"
	    "'intelRdt':{'closID':'c','l3CacheSchema':'L3:0=f','memBwSchema':'MB:0=50',"
	    "'schemata':['L2:0=1'],'enableMonitoring':true},"
	    "'memoryPolicy':{'mode':'MPOL_BIND','nodes':'0-1','flags':['MPOL_F_STATIC_NODES']},"
	    "'personality':{'domain':'LINUX32','flags':[]},"
	    "'seccomp':{'defaultAction':'SCMP_ACT_ERRNO','defaultErrnoRet':1,"
	    "'flags':['SECCOMP_FILTER_FLAG_LOG'],'listenerPath':'/run/l.sock',"
	    "'listenerMetadata':'m','syscalls':[{'names':['kill'],'action':'SCMP_ACT_ERRNO',"
	    "'errnoRet':38,'args':[{'index':1,'value':9,'valueTwo':10,'op':'SCMP_CMP_EQ'}]}]},"
	    "'resources':{'cpu':{'idle':1},'network':{'priorities':[]},"
	    "'blockIO':{'throttleReadIOPSDevice':[{'major':1,'minor':2,'rate':3}],"
	    "'throttleWriteBpsDevice':[{'major':4,'minor':5,'rate':6}]}}}}");
	husk_process_t *p = spec->process;
	assert_true(p->has_console_size);
	assert_int_equal(p->console_height, 24);
	assert_int_equal(p->console_width, 80);
	assert_string_equal(p->command_line, "sh -c x");
	assert_string_equal(p->user.username, "u");
	assert_string_equal(p->scheduler->policy, "SCHED_DEADLINE");
	assert_true(p->scheduler->has_nice);
	assert_true(p->scheduler->nice == -5);
	assert_true(p->scheduler->has_priority);
	assert_int_equal(p->scheduler->flags_len, 1);
	assert_int_equal(p->scheduler->runtime, 100);
	assert_int_equal(p->scheduler->deadline, 200);
	assert_int_equal(p->scheduler->period, 300);
	assert_string_equal(p->io_priority->class_, "IOPRIO_CLASS_RT");
	assert_int_equal(p->io_priority->priority, 3);
	assert_string_equal(p->exec_cpu_affinity->initial, "0-1");
	assert_string_equal(p->exec_cpu_affinity->final, "2, 3");

	husk_mount_t *m = &spec->mounts[0];
	assert_int_equal(m->uid_mappings_len, 1);
	assert_int_equal(m->uid_mappings[0].host_id, 100);
	assert_int_equal(m->gid_mappings[0].size, 20);

	husk_linux_t *l = spec->linux_;
	assert_string_equal(l->net_devices[0].name, "e");
	assert_string_equal(l->intel_rdt->clos_id, "c");
	assert_string_equal(l->intel_rdt->l3_cache_schema, "L3:0=f");
	assert_string_equal(l->intel_rdt->mem_bw_schema, "MB:0=50");
	assert_int_equal(l->intel_rdt->schemata_len, 1);
	assert_true(l->intel_rdt->has_enable_monitoring && l->intel_rdt->enable_monitoring);
	assert_string_equal(l->memory_policy->mode, "MPOL_BIND");
	assert_string_equal(l->memory_policy->nodes, "0-1");
	assert_string_equal(l->memory_policy->flags[0], "MPOL_F_STATIC_NODES");
	assert_string_equal(l->personality->domain, "LINUX32");
	assert_int_equal(l->personality->flags_len, 0);
	husk_seccomp_t *sc = l->seccomp;
	assert_true(sc->has_default_errno_ret);
	assert_int_equal(sc->default_errno_ret, 1);
	assert_string_equal(sc->flags[0], "SECCOMP_FILTER_FLAG_LOG");
	assert_string_equal(sc->listener_path, "/run/l.sock");
	assert_string_equal(sc->listener_metadata, "m");
	assert_true(sc->syscalls[0].has_errno_ret);
	assert_int_equal(sc->syscalls[0].errno_ret, 38);
	assert_int_equal(sc->syscalls[0].args[0].index, 1);
	assert_int_equal(sc->syscalls[0].args[0].value, 9);
	assert_true(sc->syscalls[0].args[0].has_value_two);
	assert_int_equal(sc->syscalls[0].args[0].value_two, 10);
	assert_string_equal(sc->syscalls[0].args[0].op, "SCMP_CMP_EQ");
	husk_resources_t *r = l->resources;
	assert_true(r->cpu->has_idle);
	assert_int_equal(r->cpu->idle, 1);
	assert_false(r->network->has_class_id);
	assert_int_equal(r->block_io->throttle_read_iops_device[0].rate, 3);
	assert_int_equal(r->block_io->throttle_write_bps_device[0].major, 4);
}

/* ------------------------------------------------------------ process.json, resources.json */

static void test_process_parse(void **state)
{
	(void)state;
	husk_error_t err = {0};
	cleanup_process husk_process_t *p = NULL;
	cleanup_free char *ok = json_of("{'cwd':'/tmp','args':['ls','-l'],'env':['A=1'],"
					"'capabilities':{'bounding':['CAP_KILL']}}");
	assert_int_equal(husk_process_parse(ok, strlen(ok), "process.json", &p, &err), 0);
	assert_string_equal(p->cwd, "/tmp");
	assert_int_equal(p->args_len, 2);
	assert_string_equal(p->capabilities->bounding[0], "CAP_KILL");

	husk_process_t *bad = NULL;
	cleanup_free char *nocwd = json_of("{'args':['ls']}");
	assert_int_equal(husk_process_parse(nocwd, strlen(nocwd), "process.json", &bad, &err), -1);
	assert_null(bad);
	assert_string_equal(err.msg, "process.json: cwd: required property missing");
	cleanup_free char *badarg = json_of("{'cwd':'/','args':['ls',{}]}");
	assert_int_equal(husk_process_parse(badarg, strlen(badarg), "process.json", &bad, &err),
			 -1);
	assert_string_equal(err.msg, "process.json: args[1]: expected string, got object");
	husk_error_clear(&err);
}

static void test_resources_parse(void **state)
{
	(void)state;
	husk_error_t err = {0};
	cleanup_resources husk_resources_t *r = NULL;
	cleanup_free char *ok = json_of("{'memory':{'limit':1048576,'swap':-1},'pids':{'limit':10},"
					"'cpu':{'cpus':'0'}}");
	assert_int_equal(husk_resources_parse(ok, strlen(ok), "resources.json", &r, &err), 0);
	assert_int_equal(r->memory->limit, 1048576);
	assert_true(r->memory->swap == -1);
	assert_true(r->has_pids_limit);
	assert_int_equal(r->pids_limit, 10);
	assert_string_equal(r->cpu->cpus, "0");
	assert_null(r->block_io);

	/* pids without a limit changes nothing. */
	cleanup_resources husk_resources_t *nolimit = NULL;
	assert_int_equal(husk_resources_parse("{\"pids\":{}}", 11, "r", &nolimit, &err), 0);
	assert_false(nolimit->has_pids_limit);

	husk_resources_t *bad = NULL;
	cleanup_free char *badj = json_of("{'memory':{'limit':true}}");
	assert_int_equal(husk_resources_parse(badj, strlen(badj), "resources.json", &bad, &err),
			 -1);
	assert_null(bad);
	assert_string_equal(err.msg, "resources.json: memory.limit: expected integer, got boolean");
	assert_int_equal(husk_resources_parse("[1]", 3, "resources.json", &bad, &err), -1);
	assert_string_equal(err.msg, "resources.json: expected object, got array");
	husk_error_clear(&err);
}

/* ------------------------------------------------------------ bundles */

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static void test_load_bundle(void **state)
{
	(void)state;
	char dir[] = "/tmp/husk-test-spec-XXXXXX";
	char path[256], missing[300];
	husk_error_t err = {0};
	husk_spec_t *spec = NULL;

	assert_non_null(mkdtemp(dir));
	snprintf(missing, sizeof missing, "%s/nope", dir);
	assert_int_equal(husk_spec_load_bundle(missing, &spec, &err), -1);
	char want[400];
	snprintf(want, sizeof want, "bundle `%s`: No such file or directory", missing);
	assert_string_equal(err.msg, want);
	assert_int_equal(err.errnum, ENOENT);

	assert_int_equal(husk_spec_load_bundle(dir, &spec, &err), -1);
	assert_string_equal(err.msg, "config.json: No such file or directory");

	snprintf(path, sizeof path, "%s/config.json", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(husk_spec_load_bundle(dir, &spec, &err), -1);
	assert_string_equal(err.msg, "config.json: not a regular file");
	assert_int_equal(rmdir(path), 0);

	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(husk_spec_load_bundle(dir, &spec, &err), -1);
	assert_string_equal(err.msg, "config.json: not a regular file");
	assert_int_equal(unlink(path), 0);

	write_file(path, "{\"ociVersion\": \"1.0.0\", \"process\": {\"cwd\": 5}}");
	assert_int_equal(husk_spec_load_bundle(dir, &spec, &err), -1);
	assert_string_equal(err.msg, "config.json: process.cwd: expected string, got number");

	cleanup_free char *text = husk_spec_default_json(false, 0, 0);
	write_file(path, text);
	assert_int_equal(husk_spec_load_bundle(dir, &spec, &err), 0);
	assert_string_equal(spec->hostname, "husk");
	husk_spec_free(spec);
	husk_error_clear(&err);

	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
}

/* ------------------------------------------------------------ default spec */

static const char *const default_masked[] = {"/proc/acpi",
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

static void check_default_common(husk_spec_t *spec)
{
	static const char *const caps[] = {"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE",
					   NULL};
	husk_process_t *p = spec->process;

	assert_string_equal(spec->oci_version, "1.3.0");
	assert_true(p->terminal);
	assert_int_equal(p->user.uid, 0);
	assert_int_equal(p->user.gid, 0);
	assert_strv(p->args, p->args_len, (const char *const[]){"sh", NULL});
	assert_strv(p->env, p->env_len,
		    (const char *const[]){
			"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			"TERM=xterm", NULL});
	assert_string_equal(p->cwd, "/");
	assert_strv(p->capabilities->bounding, p->capabilities->bounding_len, caps);
	assert_strv(p->capabilities->effective, p->capabilities->effective_len, caps);
	assert_strv(p->capabilities->permitted, p->capabilities->permitted_len, caps);
	assert_null(p->capabilities->inheritable);
	assert_null(p->capabilities->ambient);
	assert_int_equal(p->rlimits_len, 1);
	assert_string_equal(p->rlimits[0].type, "RLIMIT_NOFILE");
	assert_int_equal(p->rlimits[0].soft, 1024);
	assert_int_equal(p->rlimits[0].hard, 1024);
	assert_true(p->no_new_privileges);
	assert_string_equal(spec->root->path, "rootfs");
	assert_true(spec->root->readonly);
	assert_string_equal(spec->hostname, "husk");
	assert_string_equal(spec->mounts[0].destination, "/proc");
	assert_string_equal(spec->mounts[1].destination, "/dev");
	assert_string_equal(spec->mounts[1].type, "tmpfs");
	assert_string_equal(spec->mounts[2].destination, "/dev/pts");
	assert_string_equal(spec->mounts[3].destination, "/dev/shm");
	assert_string_equal(spec->mounts[4].destination, "/dev/mqueue");
	assert_string_equal(spec->mounts[5].destination, "/sys");
	assert_strv(spec->linux_->masked_paths, spec->linux_->masked_paths_len, default_masked);
	assert_strv(spec->linux_->readonly_paths, spec->linux_->readonly_paths_len,
		    (const char *const[]){"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
					  "/proc/sysrq-trigger", NULL});
	assert_null(spec->hooks);
	assert_null(spec->annotations);
}

static husk_spec_t *parse_default(bool rootless, uint32_t uid, uint32_t gid)
{
	cleanup_free char *text = husk_spec_default_json(rootless, uid, gid);
	husk_error_t err = {0};
	husk_spec_t *spec = NULL;
	assert_non_null(text);
	/* Pretty-printed with two-space indentation, ends with a newline. */
	assert_non_null(strstr(text, "{\n  \"ociVersion\": \"1.3.0\",\n  \"process\": {\n    \""));
	assert_int_equal(text[strlen(text) - 1], '\n');
	if (husk_spec_parse(text, strlen(text), "config.json", &spec, &err) < 0)
		fail_msg("default spec does not parse: %s", husk_error_msg(&err));
	return spec;
}

static void test_default_spec(void **state)
{
	(void)state;
	cleanup_spec husk_spec_t *spec = parse_default(false, 1000, 1000);
	check_default_common(spec);

	assert_int_equal(spec->mounts_len, 7);
	assert_strv(spec->mounts[2].options, spec->mounts[2].options_len,
		    (const char *const[]){"nosuid", "noexec", "newinstance", "ptmxmode=0666",
					  "mode=0620", "gid=5", NULL});
	assert_string_equal(spec->mounts[5].type, "sysfs");
	assert_strv(spec->mounts[5].options, spec->mounts[5].options_len,
		    (const char *const[]){"nosuid", "noexec", "nodev", "ro", NULL});
	assert_string_equal(spec->mounts[6].destination, "/sys/fs/cgroup");
	assert_string_equal(spec->mounts[6].type, "cgroup");

	husk_linux_t *l = spec->linux_;
	assert_null(l->uid_mappings);
	assert_null(l->gid_mappings);
	assert_int_equal(l->resources->devices_len, 1);
	assert_false(l->resources->devices[0].allow);
	assert_string_equal(l->resources->devices[0].access, "rwm");
	assert_null(l->resources->devices[0].type);
	static const char *const ns[] = {"pid", "network", "ipc", "uts", "mount", "cgroup"};
	assert_int_equal(l->namespaces_len, 6);
	for (size_t i = 0; i < 6; i++)
		assert_string_equal(l->namespaces[i].type, ns[i]);
	assert_null(husk_spec_namespace(spec, "user"));
}

static void test_default_spec_rootless(void **state)
{
	(void)state;
	cleanup_spec husk_spec_t *spec = parse_default(true, 1234, 5678);
	check_default_common(spec);

	assert_int_equal(spec->mounts_len, 6);
	assert_strv(spec->mounts[2].options, spec->mounts[2].options_len,
		    (const char *const[]){"nosuid", "noexec", "newinstance", "ptmxmode=0666",
					  "mode=0620", NULL});
	assert_string_equal(spec->mounts[5].source, "/sys");
	assert_string_equal(spec->mounts[5].type, "none");
	assert_strv(spec->mounts[5].options, spec->mounts[5].options_len,
		    (const char *const[]){"rbind", "nosuid", "noexec", "nodev", "ro", NULL});
	for (size_t i = 0; i < spec->mounts_len; i++)
		assert_string_not_equal(spec->mounts[i].type, "cgroup");

	husk_linux_t *l = spec->linux_;
	assert_null(l->resources);
	assert_int_equal(l->uid_mappings_len, 1);
	assert_int_equal(l->uid_mappings[0].container_id, 0);
	assert_int_equal(l->uid_mappings[0].host_id, 1234);
	assert_int_equal(l->uid_mappings[0].size, 1);
	assert_int_equal(l->gid_mappings_len, 1);
	assert_int_equal(l->gid_mappings[0].container_id, 0);
	assert_int_equal(l->gid_mappings[0].host_id, 5678);
	assert_int_equal(l->gid_mappings[0].size, 1);
	assert_non_null(husk_spec_namespace(spec, "user"));
	assert_null(husk_spec_namespace(spec, "network"));
	assert_non_null(husk_spec_namespace(spec, "pid"));
	assert_non_null(husk_spec_namespace(spec, "mount"));

	/* The full uint32 range of ids survives the trip. */
	cleanup_spec husk_spec_t *max = parse_default(true, UINT32_MAX - 1, UINT32_MAX - 1);
	assert_int_equal(max->linux_->uid_mappings[0].host_id, UINT32_MAX - 1);
}

/* Run validate-schema.py on both default variants; skipped without python3-jsonschema. */
static void test_default_spec_schema(void **state)
{
	(void)state;
	char dir[] = "/tmp/husk-test-schema-XXXXXX";
	char root[300], rootless[300];
	const char *python = "/usr/bin/python3";

	if (access(python, X_OK) < 0) {
		skip();
		return;
	}
	assert_non_null(mkdtemp(dir));
	snprintf(root, sizeof root, "%s/root.json", dir);
	snprintf(rootless, sizeof rootless, "%s/rootless.json", dir);
	cleanup_free char *a = husk_spec_default_json(false, 0, 0);
	cleanup_free char *b = husk_spec_default_json(true, 1000, 1000);
	write_file(root, a);
	write_file(rootless, b);

	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		execl(python, python, SPEC_UNIT_DIR "/validate-schema.py", root, rootless,
		      (char *)NULL);
		_exit(127);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	unlink(root);
	unlink(rootless);
	rmdir(dir);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77) {
		skip();
		return;
	}
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(int argc, char **argv)
{
	/* `test-spec --dump-default [--rootless]` prints the default spec, for schema checks by
	 * hand. */
	if (argc > 1 && strcmp(argv[1], "--dump-default") == 0) {
		bool rootless = argc > 2 && strcmp(argv[2], "--rootless") == 0;
		char *text = husk_spec_default_json(rootless, getuid(), getgid());
		if (text == NULL)
			return 1;
		fputs(text, stdout);
		free(text);
		return 0;
	}

	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_good_fixtures_parse),
	    cmocka_unit_test(test_spec_example_draft_version_refused),
	    cmocka_unit_test(test_minimal),
	    cmocka_unit_test(test_spec_example_process),
	    cmocka_unit_test(test_spec_example_mounts_hooks),
	    cmocka_unit_test(test_spec_example_linux),
	    cmocka_unit_test(test_spec_example_resources),
	    cmocka_unit_test(test_netdevice_rdma_order),
	    cmocka_unit_test(test_bad_fixtures),
	    cmocka_unit_test(test_broken_inputs),
	    cmocka_unit_test(test_malformed_json),
	    cmocka_unit_test(test_hostile_text),
	    cmocka_unit_test(test_unknown_properties_ignored),
	    cmocka_unit_test(test_nulls_duplicates_and_edges),
	    cmocka_unit_test(test_every_linux_field),
	    cmocka_unit_test(test_process_parse),
	    cmocka_unit_test(test_resources_parse),
	    cmocka_unit_test(test_load_bundle),
	    cmocka_unit_test(test_default_spec),
	    cmocka_unit_test(test_default_spec_rootless),
	    cmocka_unit_test(test_default_spec_schema),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
