/* husk: capability sets of the container process (internal to libhusk). */
#ifndef HUSK_CAPS_H
#define HUSK_CAPS_H

#include <stdint.h>

#include "error.h"
#include "spec.h"

/* The five configured sets as bit masks over capability numbers. Capabilities beyond the
 * running kernel's last one are left out: requesting them is not an error (spec: runtimes
 * SHOULD NOT fail for capabilities that cannot be granted). */
typedef struct {
	uint64_t bounding;
	uint64_t effective;
	uint64_t permitted;
	uint64_t inheritable;
	uint64_t ambient;
} husk_cap_sets_t;

/* A config error: the exact message (no strerror suffix) with errnum EINVAL. Returns -1. Shared
 * by the process and seccomp validators. */
int husk_config_error(husk_error_t *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Highest capability number the running kernel knows (CAP_LAST_CAP). */
int husk_cap_last_cap(void);

/* Name lists -> masks. caps == NULL gives all-empty sets (runc: absent means none).
 * An unknown name fails with "process.capabilities.bounding[2]: unknown capability \"X\"". */
/* Names to bitmasks; names the kernel or libcap do not know are left out (with a warning
 * through husk_warn() when warn). Never fails. */
int husk_caps_to_sets(const husk_capabilities_t *caps, husk_cap_sets_t *out, bool warn);

/* Drop from the bounding set every capability not in sets->bounding. Done while the process
 * still has CAP_SETPCAP, i.e. before the uid switch. */
int husk_caps_drop_bounding(const husk_cap_sets_t *sets, husk_error_t *err);

/* Set effective/permitted/inheritable with capset, then clear the ambient set and raise the
 * configured ambient capabilities. Capabilities the process does not hold any more (so cannot
 * grant) are left out rather than failing. */
int husk_caps_apply(const husk_cap_sets_t *sets, husk_error_t *err);

#endif
