/*
 * Fuzz the config parsers: config.json (husk_spec_parse), exec's process.json
 * (husk_process_parse) and update's resources.json (husk_resources_parse). All three see
 * every input: the walkers share their helpers, and each ignores what it does not know.
 *
 * Besides memory errors, the target checks the parsers' contract:
 *   - they read exactly `len` bytes (the input is passed as libFuzzer's unterminated buffer,
 *     so one byte too far is an ASan report);
 *   - success leaves no message and returns an object; failure returns none and a
 *     one-line message that starts with the origin given.
 */
#include "config.h"

#include "fuzz.h"
#include "libhusk/spec.h"

typedef void (*free_fn)(void *);

static void check_result(const char *what, int r, void *out, husk_error_t *err, const char *origin)
{
	if (r == 0) {
		fuzz_assert(out != NULL, "%s: success without an object", what);
		fuzz_assert(err->msg == NULL, "%s: success with a message: %s", what, err->msg);
		return;
	}
	fuzz_assert(r < 0, "%s: returned %d", what, r);
	fuzz_assert(out == NULL, "%s: failure left an object behind", what);
	fuzz_assert(err->msg != NULL, "%s: failure without a message", what);
	fuzz_assert(strncmp(err->msg, origin, strlen(origin)) == 0 &&
			strncmp(err->msg + strlen(origin), ": ", 2) == 0,
		    "%s: message does not start with \"%s: \": %s", what, origin, err->msg);
	int at = fuzz_bad_message_byte(err->msg);
	fuzz_assert(at < 0, "%s: control byte 0x%02x at %d in message: %s", what,
		    (unsigned char)err->msg[at < 0 ? 0 : at], at, err->msg);
}

static void fuzz_spec(const char *json, size_t len)
{
	cleanup_error husk_error_t err = {0};
	cleanup_spec husk_spec_t *spec = NULL;
	int r = husk_spec_parse(json, len, "config.json", &spec, &err);

	check_result("husk_spec_parse", r, spec, &err, "config.json");
	if (r == 0) {
		/* The lookups callers make right after parsing walk the parsed arrays. */
		(void)husk_spec_namespace(spec, "user");
		(void)husk_spec_namespace(spec, "mount");
		(void)husk_spec_annotation(spec, "org.opencontainers.image.os");
	}
}

static void fuzz_process(const char *json, size_t len)
{
	cleanup_error husk_error_t err = {0};
	cleanup_process husk_process_t *p = NULL;
	int r = husk_process_parse(json, len, "process.json", &p, &err);

	check_result("husk_process_parse", r, p, &err, "process.json");
}

static void fuzz_resources(const char *json, size_t len)
{
	cleanup_error husk_error_t err = {0};
	cleanup_resources husk_resources_t *res = NULL;
	int r = husk_resources_parse(json, len, "resources.json", &res, &err);

	check_result("husk_resources_parse", r, res, &err, "resources.json");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *json = (const char *)data;

	fuzz_spec(json, size);
	fuzz_process(json, size);
	fuzz_resources(json, size);
	return 0;
}
