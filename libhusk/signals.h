/* husk: signal names and numbers as kill(1) and runc accept them. */
#ifndef HUSK_SIGNALS_H
#define HUSK_SIGNALS_H

#include "error.h"

/* "TERM", "SIGTERM", "sigterm", "15", "RTMIN+3", "SIGRTMAX-1" -> number. */
int husk_signal_parse(const char *text, int *signo, husk_error_t *err);

/* "SIGTERM"; NULL when unnamed. */
const char *husk_signal_name(int signo);

#endif
