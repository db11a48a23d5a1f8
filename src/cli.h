/* husk CLI: global options and the command table. */
#ifndef HUSK_CLI_H
#define HUSK_CLI_H

#include <stdbool.h>

#include "libhusk/error.h"

typedef struct {
	const char *root;
	const char *log_path;
	bool log_json;
	bool debug;
	bool systemd_cgroup;
	const char *rootless;
} husk_globals_t;

typedef int (*husk_cmd_fn)(int argc, char **argv, const husk_globals_t *g);

typedef struct {
	const char *name;
	husk_cmd_fn fn;
	const char *summary;
	/* Enters a container's namespaces: run from a sealed copy of the binary first. */
	bool joins_container;
} husk_command_t;

/* Each command parses its own options (argv[0] is the command name) and returns the exit
 * status. Errors go through cli_fail(), which prints once and returns 1. */
int cmd_spec(int argc, char **argv, const husk_globals_t *g);
int cmd_features(int argc, char **argv, const husk_globals_t *g);
int cmd_state(int argc, char **argv, const husk_globals_t *g);
int cmd_list(int argc, char **argv, const husk_globals_t *g);
int cmd_create(int argc, char **argv, const husk_globals_t *g);
int cmd_start(int argc, char **argv, const husk_globals_t *g);
int cmd_run(int argc, char **argv, const husk_globals_t *g);
int cmd_kill(int argc, char **argv, const husk_globals_t *g);
int cmd_delete(int argc, char **argv, const husk_globals_t *g);
int cmd_ps(int argc, char **argv, const husk_globals_t *g);
int cmd_exec(int argc, char **argv, const husk_globals_t *g);
int cmd_pause(int argc, char **argv, const husk_globals_t *g);
int cmd_resume(int argc, char **argv, const husk_globals_t *g);
int cmd_update(int argc, char **argv, const husk_globals_t *g);
int cmd_events(int argc, char **argv, const husk_globals_t *g);
int cmd_checkpoint(int argc, char **argv, const husk_globals_t *g);
int cmd_restore(int argc, char **argv, const husk_globals_t *g);

/* Print the error (stderr text line + log file line) and return 1. */
int cli_fail(const husk_error_t *err);
/* A usage error: "husk CMD: msg" plus a hint; returns 1. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The option every command takes, printed last in --help. */
void cli_help_footer(void);
/* getopt returned '?': name the option it choked on (argv[optind - 1]). */
int cli_bad_option(const char *cmd, char **argv);
/* Exactly n positional args are required after options; else a usage error. */
int cli_require_args(const char *cmd, int have, int want, const char *what);

#endif
