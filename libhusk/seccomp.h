/* husk: seccomp name tables (internal; the entry points are in process.h). */
#ifndef HUSK_SECCOMP_H
#define HUSK_SECCOMP_H

#include <stdbool.h>
#include <stdint.h>

/* "SCMP_ACT_ERRNO" + errno -> libseccomp action value. -1 if the name is unknown. */
int husk_seccomp_action_from_name(const char *name, uint32_t errno_ret, uint32_t *out);
/* True for the actions that carry an errno (SCMP_ACT_ERRNO, SCMP_ACT_TRACE). */
bool husk_seccomp_action_takes_errno(const char *name);
/* "SCMP_ARCH_X86_64" -> libseccomp token. -1 if unknown; *out = 0 for a name the spec lists
 * but this libseccomp build does not support (skipped when loading). */
int husk_seccomp_arch_from_name(const char *name, uint32_t *out);
/* "SCMP_CMP_EQ" -> enum scmp_compare value. -1 if unknown. */
int husk_seccomp_op_from_name(const char *name, int *out);
/* "SECCOMP_FILTER_FLAG_LOG" -> kernel SECCOMP_FILTER_FLAG_* bit. -1 if unknown. */
int husk_seccomp_flag_from_name(const char *name, unsigned int *out);

#endif
