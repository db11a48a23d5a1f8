#include "config.h"
#include "exec-process.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "container-internal.h"
#include "process.h"
#include "terminal.h"
#include "utils.h"

static char **strv_copy(char *const *v, size_t *len)
{
	size_t n = strv_len(v);
	char **out = xmalloc0(sizeof(char *) * (n + 1));
	for (size_t i = 0; i < n; i++)
		out[i] = xstrdup(v[i]);
	*len = n;
	return out;
}

static void strv_add_unique(char ***v, size_t *len, const char *s)
{
	for (size_t i = 0; i < *len; i++)
		if (strcmp((*v)[i], s) == 0)
			return;
	*v = realloc(*v, sizeof(char *) * (*len + 2));
	if (*v == NULL)
		abort();
	(*v)[(*len)++] = xstrdup(s);
	(*v)[*len] = NULL;
}

static int parse_user(const char *user, husk_process_t *p, husk_error_t *err)
{
	char *end;
	unsigned long uid = strtoul(user, &end, 10);

	if (end == user || (*end != '\0' && *end != ':') || uid > UINT32_MAX)
		return husk_error_set(err, 0, "exec --user: \"%s\" is not UID[:GID]", user);
	p->user.uid = (uint32_t)uid;
	if (*end == ':') {
		const char *g = end + 1;
		unsigned long gid = strtoul(g, &end, 10);
		if (end == g || *end != '\0' || gid > UINT32_MAX)
			return husk_error_set(err, 0, "exec --user: \"%s\" is not UID[:GID]", user);
		p->user.gid = (uint32_t)gid;
	}
	return 0;
}

/* --cap adds to bounding, effective and permitted only: never inheritable or ambient
 * (CVE-2022-29162: an inheritable set would leak through execve of setcap binaries). */
static void add_caps(husk_process_t *p, char *const *caps)
{
	husk_capabilities_t *c;

	if (caps == NULL || caps[0] == NULL)
		return;
	if (p->capabilities == NULL)
		p->capabilities = xmalloc0(sizeof *p->capabilities);
	c = p->capabilities;
	for (char *const *cap = caps; *cap; cap++) {
		strv_add_unique(&c->bounding, &c->bounding_len, *cap);
		strv_add_unique(&c->effective, &c->effective_len, *cap);
		strv_add_unique(&c->permitted, &c->permitted_len, *cap);
	}
}

static int process_from_file(husk_spec_t *spec, const char *path, husk_error_t *err)
{
	cleanup_free char *text = NULL;
	husk_process_t *p = NULL;
	size_t len = 0;

	if (husk_read_file_at(AT_FDCWD, path, &text, &len, err) < 0)
		return husk_error_wrap(err, "exec --process");
	if (husk_process_parse(text, len, path, &p, err) < 0)
		return -1;
	husk_process_free(spec->process);
	spec->process = p;
	return 0;
}

int husk_exec_build_process(husk_spec_t *spec, const husk_exec_opts_t *o, husk_error_t *err)
{
	husk_process_t *p;

	if (o->process_file)
		return process_from_file(spec, o->process_file, err);
	if (spec->process == NULL)
		return husk_error_set(err, 0, "exec: the container has no process to start from");
	if (o->args == NULL || o->args[0] == NULL)
		return husk_error_set(err, 0, "exec: no command given");
	p = spec->process;
	strv_free(p->args);
	p->args = strv_copy(o->args, &p->args_len);
	p->terminal = o->tty;
	if (o->cwd) {
		free(p->cwd);
		p->cwd = xstrdup(o->cwd);
	}
	for (char *const *e = o->env; e && *e; e++) {
		if (strchr(*e, '=') == NULL)
			return husk_error_set(err, 0, "exec --env: \"%s\" is not KEY=VALUE", *e);
		husk_env_set(&p->env, &p->env_len, *e);
	}
	if (o->user && parse_user(o->user, p, err) < 0)
		return -1;
	add_caps(p, o->caps);
	if (o->no_new_privs)
		p->no_new_privileges = true;
	return husk_process_validate(p, err);
}

int husk_exec_wait(const husk_exec_opts_t *o, pid_t pid, int pty_master, int *exit_status,
		   husk_error_t *err)
{
	if (o->pid_file && husk_write_pid_file(o->pid_file, pid, err) < 0)
		return -1;
	if (pty_master >= 0 && o->console_socket) {
		int r = husk_console_socket_send(o->console_socket, pty_master, err);
		close(pty_master);
		pty_master = -1;
		if (r < 0)
			return -1;
	}
	if (o->detach) {
		if (pty_master >= 0)
			close(pty_master);
		return 0;
	}
	return husk_wait_foreground(pid, pty_master, exit_status);
}
