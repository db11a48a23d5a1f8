#include "config.h"
#include "signals.h"

#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "utils.h"

struct signal_name {
	const char *name;
	int signo;
};

static const struct signal_name signal_names[] = {
	{"HUP", SIGHUP},       {"INT", SIGINT},	      {"QUIT", SIGQUIT},     {"ILL", SIGILL},
	{"TRAP", SIGTRAP},     {"ABRT", SIGABRT},     {"IOT", SIGIOT},	     {"BUS", SIGBUS},
	{"FPE", SIGFPE},       {"KILL", SIGKILL},     {"USR1", SIGUSR1},     {"SEGV", SIGSEGV},
	{"USR2", SIGUSR2},     {"PIPE", SIGPIPE},     {"ALRM", SIGALRM},     {"TERM", SIGTERM},
	{"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD},     {"CLD", SIGCHLD},	     {"CONT", SIGCONT},
	{"STOP", SIGSTOP},     {"TSTP", SIGTSTP},     {"TTIN", SIGTTIN},     {"TTOU", SIGTTOU},
	{"URG", SIGURG},       {"XCPU", SIGXCPU},     {"XFSZ", SIGXFSZ},     {"VTALRM", SIGVTALRM},
	{"PROF", SIGPROF},     {"WINCH", SIGWINCH},   {"IO", SIGIO},	     {"POLL", SIGPOLL},
	{"PWR", SIGPWR},       {"SYS", SIGSYS},
};

static int parse_number(const char *s, int *out)
{
	long long v;
	/* 0 is kill(2)'s liveness check: engines send it to a running container. */
	if (!isdigit((unsigned char)*s) || husk_parse_int64(s, &v) < 0 || v < 0 || v > SIGRTMAX)
		return -1;
	*out = (int)v;
	return 0;
}

/* RTMIN, RTMIN+N, RTMAX, RTMAX-N */
static int parse_realtime(const char *s, int *out)
{
	int base, dir, n = 0;
	if (strncasecmp(s, "RTMIN", 5) == 0) {
		base = SIGRTMIN;
		dir = 1;
	} else if (strncasecmp(s, "RTMAX", 5) == 0) {
		base = SIGRTMAX;
		dir = -1;
	} else {
		return -1;
	}
	s += 5;
	if (*s != '\0') {
		if ((dir > 0 && *s != '+') || (dir < 0 && *s != '-') || parse_number(s + 1, &n) < 0)
			return -1;
	}
	n = base + dir * n;
	if (n < SIGRTMIN || n > SIGRTMAX)
		return -1;
	*out = n;
	return 0;
}

/* One line whatever the input: control characters shown as '?'. */
static int invalid_signal(const char *text, husk_error_t *err)
{
	char shown[64];
	size_t i = 0;

	for (; text[i] && i < sizeof shown - 1; i++)
		shown[i] = iscntrl((unsigned char)text[i]) ? '?' : text[i];
	shown[i] = '\0';
	return husk_error_set(err, 0, "invalid signal \"%s\"", shown);
}

int husk_signal_parse(const char *text, int *signo, husk_error_t *err)
{
	const char *s = text;

	if (s == NULL || *s == '\0')
		return husk_error_set(err, 0, "invalid signal: empty");
	if (parse_number(s, signo) == 0)
		return 0;
	if (strncasecmp(s, "SIG", 3) == 0)
		s += 3;
	for (size_t i = 0; i < sizeof signal_names / sizeof signal_names[0]; i++) {
		if (strcasecmp(s, signal_names[i].name) == 0) {
			*signo = signal_names[i].signo;
			return 0;
		}
	}
	if (parse_realtime(s, signo) == 0)
		return 0;
	return invalid_signal(text, err);
}

const char *husk_signal_name(int signo)
{
	static const char *const full[] = {
		[SIGHUP] = "SIGHUP",   [SIGINT] = "SIGINT",	[SIGQUIT] = "SIGQUIT",
		[SIGILL] = "SIGILL",   [SIGTRAP] = "SIGTRAP",	[SIGABRT] = "SIGABRT",
		[SIGBUS] = "SIGBUS",   [SIGFPE] = "SIGFPE",	[SIGKILL] = "SIGKILL",
		[SIGUSR1] = "SIGUSR1", [SIGSEGV] = "SIGSEGV",	[SIGUSR2] = "SIGUSR2",
		[SIGPIPE] = "SIGPIPE", [SIGALRM] = "SIGALRM",	[SIGTERM] = "SIGTERM",
		[SIGSTKFLT] = "SIGSTKFLT", [SIGCHLD] = "SIGCHLD", [SIGCONT] = "SIGCONT",
		[SIGSTOP] = "SIGSTOP", [SIGTSTP] = "SIGTSTP",	[SIGTTIN] = "SIGTTIN",
		[SIGTTOU] = "SIGTTOU", [SIGURG] = "SIGURG",	[SIGXCPU] = "SIGXCPU",
		[SIGXFSZ] = "SIGXFSZ", [SIGVTALRM] = "SIGVTALRM", [SIGPROF] = "SIGPROF",
		[SIGWINCH] = "SIGWINCH", [SIGIO] = "SIGIO",	[SIGPWR] = "SIGPWR",
		[SIGSYS] = "SIGSYS",
	};
	if (signo <= 0 || (size_t)signo >= sizeof full / sizeof full[0])
		return NULL;
	return full[signo];
}
