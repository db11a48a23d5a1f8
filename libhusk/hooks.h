/* husk: running OCI hooks with the state on stdin, their env, args and timeout. */
#ifndef HUSK_HOOKS_H
#define HUSK_HOOKS_H

#include "error.h"
#include "spec.h"

/* Run every hook of the list in order; stop at the first failure.
 * `stage` names the list in messages ("createRuntime"); state_json goes to each stdin. */
int husk_hooks_run(const husk_hook_list_t *hooks, const char *stage, const char *state_json,
		   husk_error_t *err);

/* Run every hook of the list even when some fail (poststart, poststop: runtime.md says a
 * failure is a warning and the remaining hooks still run); each failure goes to warn(). */
void husk_hooks_run_all(const husk_hook_list_t *hooks, const char *stage, const char *state_json,
			void (*warn)(const char *msg));

/* Check what can be checked before create: absolute paths. */
int husk_hooks_validate(const husk_hooks_t *hooks, husk_error_t *err);

#endif
