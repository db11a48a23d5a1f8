/*
 * Fuzz husk_id_validate. An id becomes a directory name under --root, so the property
 * that matters is that nothing but a plain, bounded file name passes. The oracle below
 * restates the rule of id.h independently of id.c's code.
 */
#include "config.h"

#include <stdbool.h>

#include "fuzz.h"
#include "libhusk/id.h"

static bool oracle_valid(const char *id)
{
	size_t len = strlen(id);

	if (len == 0 || len > HUSK_ID_MAX)
		return false;
	if (strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
		return false;
	return strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_+-.") ==
	       len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cleanup_free char *id = fuzz_strndup(data, size);
	cleanup_error husk_error_t err = {0};
	int r = husk_id_validate(id, &err);
	bool want = oracle_valid(id);

	fuzz_assert(r == 0 || r == -1, "returned %d", r);
	fuzz_assert((r == 0) == want, "\"%s\" (%zu bytes): husk says %s, the rule says %s", id,
		    strlen(id), r == 0 ? "valid" : husk_error_msg(&err),
		    want ? "valid" : "invalid");
	if (r == 0) {
		fuzz_assert(err.msg == NULL, "success with a message: %s", err.msg);
		fuzz_assert(strchr(id, '/') == NULL, "a valid id contains '/'");
	} else {
		fuzz_assert(err.msg != NULL, "failure without a message");
	}
	return 0;
}
