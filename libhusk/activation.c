/* husk: what a supervisor hands to the container through husk's own environment, as runc
 * does: socket activation (LISTEN_FDS) and the sd_notify socket (NOTIFY_SOCKET). */
#include "config.h"
#include "activation.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "utils.h"

#define CONTAINER_NOTIFY_SOCKET "/run/notify/notify.sock"

static int listen_fds_count(void)
{
	const char *s = getenv("LISTEN_FDS");
	long long n;

	if (s == NULL || husk_parse_int64(s, &n) < 0 || n <= 0 || n > 4096)
		return 0;
	return (int)n;
}

int husk_activation_listen_fds(husk_process_t *p)
{
	int n = listen_fds_count();
	char buf[64];

	if (n == 0)
		return 0;
	/* The fds start at 3 in the container too, ahead of --preserve-fds. */
	snprintf(buf, sizeof buf, "LISTEN_FDS=%d", n);
	husk_env_set(&p->env, &p->env_len, buf);
	husk_env_set(&p->env, &p->env_len, "LISTEN_PID=1");
	return n;
}

static void add_bind_mount(husk_spec_t *spec, const char *source, const char *dest)
{
	husk_mount_t *m;

	spec->mounts = realloc(spec->mounts, sizeof(husk_mount_t) * (spec->mounts_len + 1));
	if (spec->mounts == NULL)
		abort();
	m = &spec->mounts[spec->mounts_len++];
	memset(m, 0, sizeof *m);
	m->destination = xstrdup(dest);
	m->type = xstrdup("bind");
	m->source = xstrdup(source);
	m->options = xmalloc0(sizeof(char *) * 3);
	m->options[0] = xstrdup("bind");
	m->options[1] = xstrdup("nosuid");
	m->options_len = 2;
}

void husk_activation_notify_socket(husk_spec_t *spec)
{
	const char *host = getenv("NOTIFY_SOCKET");
	struct stat st;

	/* Only a socket on the filesystem can be bind-mounted; abstract ones start with '@'. */
	if (spec->process == NULL || host == NULL || host[0] != '/' || stat(host, &st) < 0 ||
	    !S_ISSOCK(st.st_mode))
		return;
	add_bind_mount(spec, host, CONTAINER_NOTIFY_SOCKET);
	husk_env_set(&spec->process->env, &spec->process->env_len,
		     "NOTIFY_SOCKET=" CONTAINER_NOTIFY_SOCKET);
}
