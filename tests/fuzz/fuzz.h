/* husk fuzz targets: what every target shares. Built by tests/fuzz/run-fuzz.sh. */
#ifndef HUSK_FUZZ_H
#define HUSK_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libhusk/error.h"
#include "libhusk/utils.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * A broken property is a finding like a crash: abort() makes libFuzzer save the input
 * and print the reproducer. The message says which property broke.
 */
#define fuzz_assert(cond, ...)                                                                     \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: property broken: %s: ", __FILE__, __LINE__,        \
				#cond);                                                            \
			fprintf(stderr, __VA_ARGS__);                                              \
			fputc('\n', stderr);                                                       \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* The C-string APIs take text; the fuzzer's bytes are not NUL-terminated. */
static inline char *fuzz_strndup(const uint8_t *data, size_t size)
{
	char *s = xmalloc0(size + 1);
	memcpy(s, data, size);
	return s;
}

/* Error messages are printed one per line (text log) or embedded in JSON log lines:
 * whatever the input, a message is a single line without control bytes. */
static inline int fuzz_bad_message_byte(const char *msg)
{
	for (const unsigned char *p = (const unsigned char *)msg; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return (int)(p - (const unsigned char *)msg);
	return -1;
}

#endif
