/*
 * Fuzz husk_signal_parse, which reads `kill` and `--signal` arguments.
 *
 * Properties: a parsed signal is a real one (1..SIGRTMAX), or 0 (kill(2)'s liveness check)
 * when given as a number; a named signal parses back
 * to itself from its name with and without "SIG" and in lower case; a failure has a
 * message and leaves the output alone.
 */
#include "config.h"

#include <ctype.h>
#include <signal.h>

#include "fuzz.h"
#include "libhusk/signals.h"

static void check_parses_to(const char *text, int want)
{
	cleanup_error husk_error_t err = {0};
	int signo = -1;

	fuzz_assert(husk_signal_parse(text, &signo, &err) == 0 && signo == want,
		    "\"%s\" gives %d (%s), want %d", text, signo, husk_error_msg(&err), want);
}

static void check_name_round_trip(int signo)
{
	const char *name = husk_signal_name(signo);
	char lower[32];
	size_t i;

	if (name == NULL)
		return;
	fuzz_assert(strncmp(name, "SIG", 3) == 0, "name of %d is %s", signo, name);
	check_parses_to(name, signo);
	check_parses_to(name + 3, signo);
	for (i = 0; name[i] && i < sizeof lower - 1; i++)
		lower[i] = (char)tolower((unsigned char)name[i]);
	lower[i] = '\0';
	check_parses_to(lower, signo);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cleanup_free char *text = fuzz_strndup(data, size);
	cleanup_error husk_error_t err = {0};
	int signo = -12345;
	int r = husk_signal_parse(text, &signo, &err);

	if (r < 0) {
		fuzz_assert(r == -1, "returned %d", r);
		fuzz_assert(err.msg != NULL, "failure without a message");
		fuzz_assert(signo == -12345, "failure wrote signo %d", signo);
		return 0;
	}
	fuzz_assert(r == 0, "returned %d", r);
	fuzz_assert(err.msg == NULL, "success with a message: %s", err.msg);
	fuzz_assert(signo >= 0 && signo <= SIGRTMAX, "\"%s\" gives signal %d", text, signo);
	fuzz_assert(signo != 0 || strspn(text, "0123456789") == strlen(text),
		    "\"%s\" gives signal 0, which only a number may ask for", text);
	check_name_round_trip(signo);
	return 0;
}
