/* husk: the cgroup v2 device filter, an eBPF program (BPF_PROG_TYPE_CGROUP_DEVICE). */
#ifndef HUSK_EBPF_H
#define HUSK_EBPF_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "spec.h"

struct bpf_insn;

/* The name husk gives its programs: how update tells its own filter from anyone else's. */
#define HUSK_EBPF_DEVICE_PROG_NAME "husk_devices"

typedef struct {
	struct bpf_insn *insns;
	size_t len;
} husk_ebpf_prog_t;

void husk_ebpf_prog_free(husk_ebpf_prog_t *prog);

/*
 * Compile a device rule list into a program that answers exactly as the v1 devices controller
 * does after the same rules are written to a new cgroup below the root (allow all, no
 * exceptions): a type "a" rule (or no type) resets to allow-all or deny-all whatever its
 * major/minor/access; an allow in deny-all mode adds an exception (merged into one with the
 * same type, major and minor), a deny there removes those access bits from the exception with
 * the same type, major and minor; the other way round in allow-all mode. An access is allowed in
 * deny-all mode when one exception alone covers every requested bit; in allow-all mode when no
 * exception shares a requested bit. `field` prefixes errors as "FIELD[i]: ..." (invalid type,
 * access or a major/minor that does not fit in 32 bits).
 */
int husk_ebpf_compile_rules(const husk_device_cgroup_t *rules, size_t n, const char *field,
			    husk_ebpf_prog_t *prog, husk_error_t *err);

/* A container's filter, as husk's v1 path writes the rules: deny all, linux.resources.devices
 * in order (rules may be NULL when n is 0), then husk_cgroup_default_devices. */
int husk_ebpf_container_filter(const husk_device_cgroup_t *rules, size_t n, husk_ebpf_prog_t *prog,
			       husk_error_t *err);

/* bpf(BPF_PROG_LOAD) with the name HUSK_EBPF_DEVICE_PROG_NAME; returns an O_CLOEXEC fd. On
 * failure the error carries the verifier's log when it gave one. */
int husk_ebpf_load(const husk_ebpf_prog_t *prog, husk_error_t *err);

/* Whether a program named HUSK_EBPF_DEVICE_PROG_NAME is attached to this cgroup itself (not
 * inherited). cgroup_fd: the cgroup v2 directory, opened O_RDONLY|O_DIRECTORY. */
int husk_ebpf_has_device_filter(int cgroup_fd, bool *has, husk_error_t *err);

/*
 * Load prog and attach it to the cgroup (BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI), then detach every
 * other husk device filter attached to that cgroup, so that there is never a moment without
 * one (while both are attached the kernel asks both: the stricter wins). Programs husk did not
 * attach (other names, or attached to ancestors) are left alone. Errors are prefixed with
 * "linux.resources.devices: ".
 */
int husk_ebpf_replace_device_filter(int cgroup_fd, const husk_ebpf_prog_t *prog, husk_error_t *err);

#endif
