/* husk CLI: log lines in runc's formats: text or JSON ({"level","msg","time"}). */
#ifndef HUSK_LOG_H
#define HUSK_LOG_H

#include <stdbool.h>

/* path NULL: no log file (errors still go to stderr). */
int husk_log_open(const char *path, bool json, bool debug);
void husk_log(const char *level, const char *msg);
void husk_log_warning_handler(const char *msg);
void husk_log_debug_handler(const char *msg);

#endif
