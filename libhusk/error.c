#include "config.h"
#include "error.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *vformat(const char *fmt, va_list ap)
{
	char *out = NULL;
	if (vasprintf(&out, fmt, ap) < 0)
		return NULL;
	return out;
}

int husk_error_set(husk_error_t *err, int errnum, const char *fmt, ...)
{
	va_list ap;
	char *base;

	if (err == NULL)
		return -1;
	va_start(ap, fmt);
	base = vformat(fmt, ap);
	va_end(ap);
	free(err->msg);
	err->msg = NULL;
	err->errnum = errnum;
	if (base != NULL && errnum != 0) {
		if (asprintf(&err->msg, "%s: %s", base, strerror(errnum)) < 0)
			err->msg = NULL;
		free(base);
	} else {
		err->msg = base;
	}
	return -1;
}

/* Join a formatted piece to the message: before it ("piece: msg") or after ("msg: piece"). */
static int join_message(husk_error_t *err, bool before, const char *fmt, va_list ap)
{
	char *piece, *joined = NULL;
	int r;

	if (err == NULL)
		return -1;
	piece = vformat(fmt, ap);
	if (piece == NULL)
		return -1;
	if (before)
		r = asprintf(&joined, "%s: %s", piece, husk_error_msg(err));
	else
		r = asprintf(&joined, "%s: %s", husk_error_msg(err), piece);
	if (r >= 0) {
		free(err->msg);
		err->msg = joined;
	}
	free(piece);
	return -1;
}

int husk_error_wrap(husk_error_t *err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	join_message(err, true, fmt, ap);
	va_end(ap);
	return -1;
}

int husk_error_append(husk_error_t *err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	join_message(err, false, fmt, ap);
	va_end(ap);
	return -1;
}

void husk_error_clear(husk_error_t *err)
{
	if (err == NULL)
		return;
	free(err->msg);
	err->msg = NULL;
	err->errnum = 0;
}

const char *husk_error_msg(const husk_error_t *err)
{
	if (err == NULL || err->msg == NULL)
		return "unknown error";
	return err->msg;
}
