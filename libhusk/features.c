/* husk: `husk features` — built from the same tables and validators the runtime uses, so
 * that it claims only what a config can really ask for. */
#include "config.h"
#include "features.h"

#include <string.h>

#include "json-gen.h"
#include "mempolicy.h"
#include "namespaces.h"
#include "process.h"
#include "rootfs.h"
#include "spec.h"
#include "utils.h"

/* +CRIU: checkpoint/restore are built in (libcriu.so.2 is dlopen()ed by those commands). */
#ifdef HAVE_CRIU
#define HUSK_FEATURE_CRIU "+CRIU"
#else
#define HUSK_FEATURE_CRIU "-CRIU"
#endif

const char *husk_build_features(void)
{
	/* +SYSTEMD: the systemd cgroup driver is built in (libsystemd is dlopen()ed when
	 * --systemd-cgroup is used). */
#ifdef HAVE_SYSTEMD
	return "+SECCOMP +CAP +YAJL +SYSTEMD " HUSK_FEATURE_CRIU;
#else
	return "+SECCOMP +CAP +YAJL -SYSTEMD " HUSK_FEATURE_CRIU;
#endif
}

static const char *const hook_names[] = {"prestart",	  "createRuntime", "createContainer",
					 "startContainer", "poststart",	    "poststop",
					 NULL};

/* Every option name of config.md and runc; only those the mount code understands are listed. */
static const char *const mount_option_candidates[] = {
	"async",      "atime",	     "bind",	    "defaults",	   "dev",	  "diratime",
	"dirsync",    "exec",	     "idmap",	    "iversion",	   "lazytime",	  "loud",
	"mand",	      "noatime",     "nodev",	    "nodiratime",  "noexec",	  "noiversion",
	"nolazytime", "nomand",	     "norelatime",  "nostrictatime", "nosuid",	  "nosymfollow",
	"private",    "ratime",	     "rbind",	    "rdev",	   "rdiratime",	  "relatime",
	"remount",    "rexec",	     "ridmap",	    "rnoatime",	   "rnodev",	  "rnodiratime",
	"rnoexec",    "rnorelatime", "rnostrictatime", "rnosuid",  "rnosymfollow", "ro",
	"rprivate",   "rrelatime",   "rro",	    "rrw",	   "rshared",	  "rslave",
	"rstrictatime", "rsuid",     "rsymfollow",  "runbindable", "rw",	  "shared",
	"silent",     "slave",	     "strictatime", "suid",	   "symfollow",	  "sync",
	"tmpcopyup",  "unbindable",  NULL,
};

static bool mount_option_known(const char *name)
{
	husk_mount_options_t o;
	char *v[] = {(char *)name, NULL};
	bool known;

	husk_mount_options_parse(v, 1, &o);
	/* Options the parser passes through as data are not implemented by husk itself;
	 * tmpcopyup is recognised but not implemented. */
	known = o.data == NULL && !o.tmpcopyup;
	husk_mount_options_free(&o);
	return known;
}

static void gen_mount_options(yajl_gen g)
{
	husk_json_key(g, "mountOptions");
	yajl_gen_array_open(g);
	for (const char *const *o = mount_option_candidates; *o; o++)
		if (mount_option_known(*o))
			husk_json_str(g, *o);
	yajl_gen_array_close(g);
}

static void gen_namespaces(yajl_gen g)
{
	husk_json_key(g, "namespaces");
	yajl_gen_array_open(g);
	for (const husk_ns_info_t *n = husk_ns_table; n->type; n++)
		husk_json_str(g, n->type);
	yajl_gen_array_close(g);
}

static const char *const seccomp_actions[] = {
	"SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS",
	"SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY", "SCMP_ACT_TRACE",
	"SCMP_ACT_TRAP", NULL};
static const char *const seccomp_ops[] = {"SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT",
					  "SCMP_CMP_LE", "SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ",
					  "SCMP_CMP_NE", NULL};
static const char *const seccomp_archs[] = {
	"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM", "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64",
	"SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32",
	"SCMP_ARCH_PPC", "SCMP_ARCH_PPC64", "SCMP_ARCH_PPC64LE", "SCMP_ARCH_RISCV64",
	"SCMP_ARCH_S390", "SCMP_ARCH_S390X", "SCMP_ARCH_X32", "SCMP_ARCH_X86", "SCMP_ARCH_X86_64",
	NULL};
static const char *const seccomp_flags[] = {
	"SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_TSYNC",
	"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", NULL};

/* Ask the seccomp validator about one name by building the smallest profile using it. */
static bool seccomp_accepts(const char *action, const char *op, const char *arch,
			    const char *flag)
{
	char *names[] = {"getcwd", NULL};
	char *archs[] = {(char *)arch, NULL};
	char *flags[] = {(char *)flag, NULL};
	husk_seccomp_arg_t arg = {.index = 0, .value = 1, .op = (char *)op};
	husk_seccomp_syscall_t sc = {.names = names, .names_len = 1,
				     .action = (char *)(action ? action : "SCMP_ACT_ERRNO"),
				     .args = op ? &arg : NULL, .args_len = op ? 1 : 0};
	husk_seccomp_t s = {.default_action = "SCMP_ACT_ALLOW",
			    .architectures = arch ? archs : NULL, .architectures_len = arch ? 1 : 0,
			    .flags = flag ? flags : NULL, .flags_len = flag ? 1 : 0,
			    .listener_path = "/run/husk-features.sock",
			    .syscalls = &sc, .syscalls_len = 1};
	husk_error_t err = {0};
	int r = husk_seccomp_validate(&s, &err);
	husk_error_clear(&err);
	return r == 0;
}

static void gen_filtered(yajl_gen g, const char *key, const char *const *names, int which)
{
	husk_json_key(g, key);
	yajl_gen_array_open(g);
	for (const char *const *n = names; *n; n++) {
		bool ok = seccomp_accepts(which == 0 ? *n : NULL, which == 1 ? *n : NULL,
					  which == 2 ? *n : NULL, which == 3 ? *n : NULL);
		if (ok)
			husk_json_str(g, *n);
	}
	yajl_gen_array_close(g);
}

static void gen_seccomp(yajl_gen g)
{
	husk_json_key(g, "seccomp");
	yajl_gen_map_open(g);
	husk_json_key_bool(g, "enabled", true);
	gen_filtered(g, "actions", seccomp_actions, 0);
	gen_filtered(g, "operators", seccomp_ops, 1);
	gen_filtered(g, "archs", seccomp_archs, 2);
	gen_filtered(g, "knownFlags", seccomp_flags, 3);
	gen_filtered(g, "supportedFlags", seccomp_flags, 3);
	yajl_gen_map_close(g);
}

static void gen_linux(yajl_gen g)
{
	husk_json_key(g, "linux");
	yajl_gen_map_open(g);
	gen_namespaces(g);
	husk_json_key(g, "capabilities");
	husk_json_strv(g, husk_cap_known_names());
	husk_json_key(g, "cgroup");
	yajl_gen_map_open(g);
	husk_json_key_bool(g, "v1", true);
	husk_json_key_bool(g, "v2", true);
#ifdef HAVE_SYSTEMD
	/* The driver exists; where systemd does not answer at run time, husk falls back to
	 * cgroupfs with a warning. */
	husk_json_key_bool(g, "systemd", true);
#else
	husk_json_key_bool(g, "systemd", false);
#endif
	/* Rootless --systemd-cgroup (systemd's user bus) is not implemented. */
	husk_json_key_bool(g, "systemdUser", false);
	husk_json_key_bool(g, "rdma", true);
	yajl_gen_map_close(g);
	gen_seccomp(g);
	husk_json_key(g, "apparmor");
	yajl_gen_map_open(g);
	husk_json_key_bool(g, "enabled", false);
	yajl_gen_map_close(g);
	husk_json_key(g, "selinux");
	yajl_gen_map_open(g);
	husk_json_key_bool(g, "enabled", false);
	yajl_gen_map_close(g);
	husk_json_key(g, "intelRdt");
	yajl_gen_map_open(g);
	husk_json_key_bool(g, "enabled", false);
	yajl_gen_map_close(g);
	husk_json_key(g, "mountExtensions");
	yajl_gen_map_open(g);
	husk_json_key(g, "idmap");
	yajl_gen_map_open(g);
	husk_json_key_bool(g, "enabled", mount_option_known("idmap"));
	yajl_gen_map_close(g);
	yajl_gen_map_close(g);
	husk_json_key(g, "memoryPolicy");
	yajl_gen_map_open(g);
	husk_json_key(g, "modes");
	husk_json_strv(g, husk_mempolicy_modes);
	husk_json_key(g, "flags");
	husk_json_strv(g, husk_mempolicy_flags);
	yajl_gen_map_close(g);
	husk_json_key(g, "netDevices");
	yajl_gen_map_open(g);
	husk_json_key_bool(g, "enabled", false);
	yajl_gen_map_close(g);
	yajl_gen_map_close(g);
}

char *husk_features_json(void)
{
	cleanup_json_gen yajl_gen g = husk_json_new(true);

	yajl_gen_map_open(g);
	husk_json_key_str(g, "ociVersionMin", "1.0.0");
	husk_json_key_str(g, "ociVersionMax", HUSK_OCI_VERSION);
	husk_json_key(g, "hooks");
	husk_json_strv(g, hook_names);
	gen_mount_options(g);
	gen_linux(g);
	husk_json_key(g, "annotations");
	yajl_gen_map_open(g);
	husk_json_key_str(g, "io.github.husk.version", PACKAGE_VERSION);
	husk_json_key_str(g, "io.github.husk.commit", GIT_COMMIT);
	yajl_gen_map_close(g);
	yajl_gen_map_close(g);
	return husk_json_finish(g, NULL);
}
