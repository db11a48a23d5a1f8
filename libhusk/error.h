/* husk: errors carried up the call chain with their context. */
#ifndef HUSK_ERROR_H
#define HUSK_ERROR_H

#include <stdarg.h>

/*
 * A failing function returns < 0 and fills *err once; callers prefix context
 * on the way up with husk_error_wrap(). msg is heap-allocated and owned by err.
 */
typedef struct husk_error {
	int errnum; /* errno of the root cause, 0 when none */
	char *msg;
} husk_error_t;

/* Set err to the formatted message, followed by ": strerror(errnum)" when errnum != 0.
 * Always returns -1 so that callers can write `return husk_error_set(...)`. */
int husk_error_set(husk_error_t *err, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Same, with errno captured at the call. */
#define husk_error_errno(err, ...) husk_error_set((err), errno, __VA_ARGS__)

/* Prefix the existing message with "context: ". Returns -1. */
int husk_error_wrap(husk_error_t *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Append ": detail" to the existing message. Returns -1. */
int husk_error_append(husk_error_t *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void husk_error_clear(husk_error_t *err);

/* Message or a placeholder, never NULL. */
const char *husk_error_msg(const husk_error_t *err);

#endif
