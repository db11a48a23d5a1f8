#include "config.h"
#include "log.h"

#include <fcntl.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <yajl/yajl_gen.h>

#include "libhusk/json-gen.h"
#include "libhusk/status.h"
#include "libhusk/utils.h"

static int log_fd = -1;
static bool log_json;
static bool log_debug;

int husk_log_open(const char *path, bool json, bool debug)
{
	log_json = json;
	log_debug = debug;
	if (path == NULL)
		return 0;
	log_fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	return log_fd < 0 ? -1 : 0;
}

static void write_json_line(int fd, const char *level, const char *msg, const char *time)
{
	cleanup_json_gen yajl_gen g = husk_json_new(false);
	cleanup_free char *line = NULL;
	size_t len;

	yajl_gen_map_open(g);
	husk_json_key_str(g, "level", level);
	husk_json_key_str(g, "msg", msg);
	husk_json_key_str(g, "time", time);
	yajl_gen_map_close(g);
	line = husk_json_finish(g, &len);
	line[len] = '\0';
	husk_write_all(fd, line, len);
}

/* logrus-style: time="..." level=... msg="..." with quotes and backslashes escaped. */
static void write_text_line(int fd, const char *level, const char *msg, const char *time)
{
	size_t n = strlen(msg);
	cleanup_free char *esc = malloc(n * 2 + 1);
	char *o = esc;

	if (esc == NULL)
		return;
	for (const char *p = msg; *p; p++) {
		if (*p == '"' || *p == '\\')
			*o++ = '\\';
		*o++ = *p == '\n' ? ' ' : *p;
	}
	*o = '\0';
	dprintf(fd, "time=\"%s\" level=%s msg=\"%s\"\n", time, level, esc);
}

void husk_log(const char *level, const char *msg)
{
	cleanup_free char *now = NULL;

	if (strcmp(level, "debug") == 0 && !log_debug)
		return;
	if (log_fd < 0) {
		/* Without --log, warnings and debug go to stderr; errors are printed by the caller. */
		if (strcmp(level, "error") != 0)
			fprintf(stderr, "husk: %s: %s\n", level, msg);
		return;
	}
	now = husk_now_rfc3339();
	if (log_json)
		write_json_line(log_fd, level, msg, now);
	else
		write_text_line(log_fd, level, msg, now);
}

void husk_log_warning_handler(const char *msg)
{
	husk_log("warning", msg);
}

void husk_log_debug_handler(const char *msg)
{
	husk_log("debug", msg);
}
