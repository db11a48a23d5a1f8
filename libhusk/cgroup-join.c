/* husk: how a new process joins its cgroup: the files opened for it, the self-join, the
 * parent's part, and the hand-over of the v1 `tasks` fds over the sync socket. */
#include "config.h"
#include "cgroup.h"
#include "cgroup-internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sync.h"
#include "utils.h"

void husk_cgroup_join_add(husk_cgroup_join_t *j, int fd, char *name)
{
	j->tasks = xrealloc(j->tasks, (j->len + 1) * sizeof *j->tasks);
	j->names = xrealloc(j->names, (j->len + 1) * sizeof *j->names);
	j->tasks[j->len] = fd;
	j->names[j->len] = name;
	j->len++;
}

static int join_open(const husk_cgroup_t *cg, husk_cgroup_join_t *j, unsigned parts,
		     husk_error_t *err)
{
	int r = 0;

	if (husk_cg_check(cg, err) < 0)
		return -1;
	/* Nothing to open: systemd puts the process into its unit after the clone. */
	if (cg->sd)
		return 0;
	if (cg->mode != HUSK_CGROUP_MODE_UNIFIED)
		r = husk_cgroup_v1_join_open(cg, j, parts, err);
	else if (parts & HUSK_CG_JOIN_V2)
		r = j->v2_dir = husk_cg_open(HUSK_CGROUP_MNT, cg->path, true, err);
	if (r < 0) {
		husk_cgroup_join_close(j);
		return -1;
	}
	return 0;
}

int husk_cgroup_join_open(const husk_cgroup_t *cg, husk_cgroup_join_t *j, husk_error_t *err)
{
	*j = (husk_cgroup_join_t)HUSK_CGROUP_JOIN_INIT;
	return join_open(cg, j, HUSK_CG_JOIN_V2 | HUSK_CG_JOIN_V1, err);
}

int husk_cgroup_join_open_v2(const husk_cgroup_t *cg, husk_cgroup_join_t *j, husk_error_t *err)
{
	*j = (husk_cgroup_join_t)HUSK_CGROUP_JOIN_INIT;
	return join_open(cg, j, HUSK_CG_JOIN_V2, err);
}

int husk_cgroup_join_open_v1(const husk_cgroup_t *cg, husk_cgroup_join_t *j, husk_error_t *err)
{
	return join_open(cg, j, HUSK_CG_JOIN_V1, err);
}

int husk_cgroup_join_self(husk_cgroup_join_t *j, husk_error_t *err)
{
	int r = 0;

	for (size_t i = 0; i < j->len; i++) {
		if (r == 0 && husk_write_all(j->tasks[i], "0", 1) < 0)
			r = husk_error_errno(err, "enter cgroup: write \"0\" to `%s`", j->names[i]);
	}
	husk_cgroup_join_close(j);
	return r;
}

int husk_cgroup_join_finish(const husk_cgroup_t *cg, const husk_cgroup_join_t *j, pid_t pid,
			    bool cloned_into, husk_error_t *err)
{
	if (cg->sd)
		return husk_cgroup_systemd_start(cg, pid, err);
	if (cloned_into || j->v2_dir < 0)
		return 0;
	if (cg->mode == HUSK_CGROUP_MODE_UNIFIED)
		return husk_cgroup_enter(cg, pid, err);
	return husk_cgroup_v1_enter_unified(cg, pid, err);
}

static void close_tasks(husk_cgroup_join_t *j)
{
	for (size_t i = 0; i < j->len; i++) {
		husk_closep(&j->tasks[i]);
		free(j->names[i]);
	}
	free(j->tasks);
	free(j->names);
	j->tasks = NULL;
	j->names = NULL;
	j->len = 0;
}

void husk_cgroup_join_close(husk_cgroup_join_t *j)
{
	husk_closep(&j->v2_dir);
	close_tasks(j);
}

/* The names travel as one text, a line each; one that does not fit is named by its index. */
static void names_text(const husk_cgroup_join_t *j, char *buf, size_t size)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < j->len; i++) {
		int w = snprintf(buf + used, size - used, "%s\n", j->names[i]);
		if (w < 0 || (size_t)w >= size - used) {
			buf[used] = '\0';
			return;
		}
		used += (size_t)w;
	}
}

int husk_cgroup_join_send(int sock, husk_cgroup_join_t *j, husk_error_t *err)
{
	char text[sizeof(husk_sync_msg_t){0}.msg];
	int r;

	names_text(j, text, sizeof text);
	r = husk_sync_send_fds(sock, HUSK_SYNC_CGROUP, text, j->tasks, j->len, err);
	close_tasks(j);
	return r;
}

int husk_cgroup_join_recv(int sock, husk_cgroup_join_t *j, husk_error_t *err)
{
	int fds[HUSK_SYNC_MAX_FDS];
	husk_sync_msg_t m;
	size_t n = 0;
	char *save = NULL, *line;

	if (husk_sync_expect_fds(sock, HUSK_SYNC_CGROUP, &m, fds, HUSK_SYNC_MAX_FDS, &n, err) < 0)
		return -1;
	if (n != (size_t)m.value) {
		for (size_t i = 0; i < n; i++)
			close(fds[i]);
		return husk_error_set(err, EMFILE,
				      "enter cgroup: %zu of %lld `tasks` files arrived", n,
				      (long long)m.value);
	}
	line = strtok_r(m.msg, "\n", &save);
	for (size_t i = 0; i < n; i++, line = line ? strtok_r(NULL, "\n", &save) : NULL) {
		char *name;
		if (line)
			name = xstrdup(line);
		else if (asprintf(&name, "tasks file %zu", i) < 0)
			abort();
		husk_cgroup_join_add(j, fds[i], name);
	}
	return 0;
}
