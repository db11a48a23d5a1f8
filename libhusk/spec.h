/* husk: the parsed config.json model (OCI runtime-spec v1.3.0, Linux fields). */
#ifndef HUSK_SPEC_H
#define HUSK_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define HUSK_OCI_VERSION "1.3.0"

/*
 * Conventions for every struct below:
 * - strings are heap-allocated, NULL when absent;
 * - string arrays are NULL-terminated `char **` with a `_len` count, NULL when absent;
 * - arrays of structs are `T *x; size_t x_len;`;
 * - an optional scalar has a `has_<name>` flag beside it;
 * - an optional object is a pointer, NULL when absent.
 * Everything is freed by husk_spec_free().
 */

typedef struct {
	char *key;
	char *value;
} husk_kv_t;

typedef struct {
	uint32_t container_id;
	uint32_t host_id;
	uint32_t size;
} husk_idmap_t;

/* ---- process ---- */

typedef struct {
	char *type; /* "RLIMIT_NOFILE" ... */
	uint64_t soft;
	uint64_t hard;
} husk_rlimit_t;

typedef struct {
	char **bounding;
	size_t bounding_len;
	char **effective;
	size_t effective_len;
	char **inheritable;
	size_t inheritable_len;
	char **permitted;
	size_t permitted_len;
	char **ambient;
	size_t ambient_len;
} husk_capabilities_t;

typedef struct {
	uint32_t uid;
	uint32_t gid;
	bool has_umask;
	uint32_t umask;
	uint32_t *additional_gids;
	size_t additional_gids_len;
	char *username;
} husk_user_t;

typedef struct {
	char *policy; /* "SCHED_OTHER" ... */
	bool has_nice;
	int32_t nice;
	bool has_priority;
	int32_t priority;
	char **flags;
	size_t flags_len;
	bool has_runtime;
	uint64_t runtime;
	bool has_deadline;
	uint64_t deadline;
	bool has_period;
	uint64_t period;
} husk_scheduler_t;

typedef struct {
	char *class_; /* "IOPRIO_CLASS_RT" | "IOPRIO_CLASS_BE" | "IOPRIO_CLASS_IDLE" */
	int32_t priority;
} husk_io_priority_t;

typedef struct {
	char *initial;
	char *final;
} husk_cpu_affinity_t;

typedef struct {
	bool terminal;
	bool has_console_size;
	uint32_t console_height;
	uint32_t console_width;
	husk_user_t user;
	char **args;
	size_t args_len;
	char *command_line;
	char **env;
	size_t env_len;
	char *cwd;
	husk_capabilities_t *capabilities;
	husk_rlimit_t *rlimits;
	size_t rlimits_len;
	bool no_new_privileges;
	char *apparmor_profile;
	bool has_oom_score_adj;
	int32_t oom_score_adj;
	husk_scheduler_t *scheduler;
	char *selinux_label;
	husk_io_priority_t *io_priority;
	husk_cpu_affinity_t *exec_cpu_affinity;
} husk_process_t;

/* ---- root, mounts, hooks ---- */

typedef struct {
	char *path;
	bool readonly;
} husk_root_t;

typedef struct {
	char *destination;
	char *type;
	char *source;
	char **options;
	size_t options_len;
	husk_idmap_t *uid_mappings;
	size_t uid_mappings_len;
	husk_idmap_t *gid_mappings;
	size_t gid_mappings_len;
} husk_mount_t;

typedef struct {
	char *path;
	char **args;
	size_t args_len;
	char **env;
	size_t env_len;
	bool has_timeout;
	int32_t timeout; /* seconds, > 0 */
} husk_hook_t;

typedef struct {
	husk_hook_t *v;
	size_t len;
} husk_hook_list_t;

typedef struct {
	husk_hook_list_t prestart;
	husk_hook_list_t create_runtime;
	husk_hook_list_t create_container;
	husk_hook_list_t start_container;
	husk_hook_list_t poststart;
	husk_hook_list_t poststop;
} husk_hooks_t;

/* ---- linux ---- */

typedef struct {
	char *type; /* "pid" "network" "mount" "ipc" "uts" "user" "cgroup" "time" */
	char *path; /* NULL: create a new one */
} husk_namespace_t;

typedef struct {
	char *clock; /* "monotonic" | "boottime" */
	int64_t secs;
	uint32_t nanosecs;
} husk_time_offset_t;

typedef struct {
	char *type; /* "c" "b" "u" "p" */
	char *path;
	int64_t major;
	int64_t minor;
	bool has_file_mode;
	uint32_t file_mode;
	bool has_uid;
	uint32_t uid;
	bool has_gid;
	uint32_t gid;
} husk_device_t;

typedef struct {
	bool allow;
	char *type; /* "a" "c" "b", NULL = all */
	bool has_major;
	int64_t major;
	bool has_minor;
	int64_t minor;
	char *access; /* subset of "rwm", NULL = "rwm" */
} husk_device_cgroup_t;

typedef struct {
	bool has_limit;
	int64_t limit;
	bool has_reservation;
	int64_t reservation;
	bool has_swap;
	int64_t swap;
	bool has_kernel;
	int64_t kernel;
	bool has_kernel_tcp;
	int64_t kernel_tcp;
	bool has_swappiness;
	uint64_t swappiness;
	bool has_disable_oom_killer;
	bool disable_oom_killer;
	bool has_use_hierarchy;
	bool use_hierarchy;
	bool has_check_before_update;
	bool check_before_update;
} husk_memory_t;

typedef struct {
	bool has_shares;
	uint64_t shares;
	bool has_quota;
	int64_t quota;
	bool has_burst;
	uint64_t burst;
	bool has_period;
	uint64_t period;
	bool has_realtime_runtime;
	int64_t realtime_runtime;
	bool has_realtime_period;
	uint64_t realtime_period;
	char *cpus;
	char *mems;
	bool has_idle;
	int64_t idle;
} husk_cpu_t;

typedef struct {
	int64_t major;
	int64_t minor;
	bool has_weight;
	uint16_t weight;
	bool has_leaf_weight;
	uint16_t leaf_weight;
} husk_weight_device_t;

typedef struct {
	int64_t major;
	int64_t minor;
	uint64_t rate;
} husk_throttle_device_t;

typedef struct {
	bool has_weight;
	uint16_t weight;
	bool has_leaf_weight;
	uint16_t leaf_weight;
	husk_weight_device_t *weight_device;
	size_t weight_device_len;
	husk_throttle_device_t *throttle_read_bps_device;
	size_t throttle_read_bps_device_len;
	husk_throttle_device_t *throttle_write_bps_device;
	size_t throttle_write_bps_device_len;
	husk_throttle_device_t *throttle_read_iops_device;
	size_t throttle_read_iops_device_len;
	husk_throttle_device_t *throttle_write_iops_device;
	size_t throttle_write_iops_device_len;
} husk_blkio_t;

typedef struct {
	char *page_size; /* "2MB" ... */
	uint64_t limit;
} husk_hugepage_limit_t;

typedef struct {
	char *name;
	uint32_t priority;
} husk_net_priority_t;

typedef struct {
	bool has_class_id;
	uint32_t class_id;
	husk_net_priority_t *priorities;
	size_t priorities_len;
} husk_network_t;

typedef struct {
	char *device; /* map key */
	bool has_hca_handles;
	uint32_t hca_handles;
	bool has_hca_objects;
	uint32_t hca_objects;
} husk_rdma_t;

typedef struct {
	husk_device_cgroup_t *devices;
	size_t devices_len;
	husk_memory_t *memory;
	husk_cpu_t *cpu;
	bool has_pids_limit; /* pids.limit present */
	int64_t pids_limit;  /* < 0: unlimited ("max"); 0 is a real limit (config-linux.md) */
	husk_blkio_t *block_io;
	husk_hugepage_limit_t *hugepage_limits;
	size_t hugepage_limits_len;
	husk_network_t *network;
	husk_rdma_t *rdma;
	size_t rdma_len;
	husk_kv_t *unified;
	size_t unified_len;
} husk_resources_t;

typedef struct {
	char *clos_id;
	char *l3_cache_schema;
	char *mem_bw_schema;
	char **schemata;
	size_t schemata_len;
	bool has_enable_monitoring;
	bool enable_monitoring;
} husk_intel_rdt_t;

typedef struct {
	char *mode; /* "MPOL_DEFAULT" ... */
	char *nodes;
	char **flags;
	size_t flags_len;
} husk_memory_policy_t;

typedef struct {
	uint32_t index; /* operand index, 0..5 */
	uint64_t value;
	bool has_value_two;
	uint64_t value_two;
	char *op; /* "SCMP_CMP_EQ" ... */
} husk_seccomp_arg_t;

typedef struct {
	char **names;
	size_t names_len;
	char *action;
	bool has_errno_ret;
	uint32_t errno_ret;
	husk_seccomp_arg_t *args;
	size_t args_len;
} husk_seccomp_syscall_t;

typedef struct {
	char *default_action;
	bool has_default_errno_ret;
	uint32_t default_errno_ret;
	char **architectures;
	size_t architectures_len;
	char **flags;
	size_t flags_len;
	char *listener_path;
	char *listener_metadata;
	husk_seccomp_syscall_t *syscalls;
	size_t syscalls_len;
} husk_seccomp_t;

typedef struct {
	char *domain; /* "LINUX", "LINUX32" */
	char **flags;
	size_t flags_len;
} husk_personality_t;

typedef struct {
	char *host_name; /* map key: the device name on the host */
	char *name;      /* name inside the container, NULL = same */
} husk_net_device_t;

typedef struct {
	husk_namespace_t *namespaces;
	size_t namespaces_len;
	husk_idmap_t *uid_mappings;
	size_t uid_mappings_len;
	husk_idmap_t *gid_mappings;
	size_t gid_mappings_len;
	husk_time_offset_t *time_offsets;
	size_t time_offsets_len;
	husk_device_t *devices;
	size_t devices_len;
	husk_net_device_t *net_devices;
	size_t net_devices_len;
	char *cgroups_path;
	husk_resources_t *resources;
	husk_intel_rdt_t *intel_rdt;
	husk_memory_policy_t *memory_policy;
	husk_kv_t *sysctl;
	size_t sysctl_len;
	husk_seccomp_t *seccomp;
	char *rootfs_propagation;
	char **masked_paths;
	size_t masked_paths_len;
	char **readonly_paths;
	size_t readonly_paths_len;
	char *mount_label;
	husk_personality_t *personality;
} husk_linux_t;

typedef struct {
	char *oci_version;
	husk_root_t *root;
	husk_mount_t *mounts;
	size_t mounts_len;
	husk_process_t *process;
	char *hostname;
	char *domainname;
	husk_hooks_t *hooks;
	husk_kv_t *annotations;
	size_t annotations_len;
	husk_linux_t *linux_;
} husk_spec_t;

/*
 * Parse config.json text. On failure *err names the JSON path:
 *   "config.json: process.args[1]: expected string, got number".
 * `origin` is the name used in messages ("config.json", "process.json").
 * Unknown properties are ignored; an ociVersion whose major is not 1 is refused.
 */
int husk_spec_parse(const char *json, size_t len, const char *origin, husk_spec_t **out,
		    husk_error_t *err);

/* Read and parse <bundle>/config.json. */
int husk_spec_load_bundle(const char *bundle, husk_spec_t **out, husk_error_t *err);

/* Parse a process object alone (exec --process FILE). */
int husk_process_parse(const char *json, size_t len, const char *origin, husk_process_t **out,
		       husk_error_t *err);

/* Parse a linux.resources object alone (update --resources FILE). */
int husk_resources_parse(const char *json, size_t len, const char *origin,
			 husk_resources_t **out, husk_error_t *err);

void husk_spec_free(husk_spec_t *spec);
void husk_process_free(husk_process_t *p);
void husk_resources_free(husk_resources_t *r);

void husk_specp(husk_spec_t **p);
void husk_processp(husk_process_t **p);
void husk_resourcesp(husk_resources_t **p);
#define cleanup_spec __attribute__((cleanup(husk_specp)))
#define cleanup_process __attribute__((cleanup(husk_processp)))
#define cleanup_resources __attribute__((cleanup(husk_resourcesp)))

/* Look up a namespace entry by type; NULL when the config does not list it. */
const husk_namespace_t *husk_spec_namespace(const husk_spec_t *spec, const char *type);

/* Look up an annotation value; NULL if absent. */
const char *husk_spec_annotation(const husk_spec_t *spec, const char *key);

/* The default config.json of `husk spec`, as pretty-printed JSON (heap string).
 * rootless: the variant with a user namespace mapping the caller's ids. */
char *husk_spec_default_json(bool rootless, uint32_t uid, uint32_t gid);

#endif
