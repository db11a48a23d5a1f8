/* husk: helpers shared by the lifecycle files. */
#include "config.h"
#include "container-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>

#include "id.h"
#include "json-gen.h"
#include "process.h"
#include "sync.h"
#include "utils.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

static husk_warning_fn warning_handler;

void husk_set_warning_handler(husk_warning_fn fn)
{
	warning_handler = fn;
}

static husk_warning_fn debug_handler;

void husk_set_debug_handler(husk_warning_fn fn)
{
	debug_handler = fn;
}

static void deliver(husk_warning_fn fn, const char *fmt, va_list ap)
{
	char *msg = NULL;

	if (fn == NULL)
		return;
	if (vasprintf(&msg, fmt, ap) >= 0) {
		fn(msg);
		free(msg);
	}
}

void husk_warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	deliver(warning_handler, fmt, ap);
	va_end(ap);
}

void husk_debug(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	deliver(debug_handler, fmt, ap);
	va_end(ap);
}

void husk_warn_msg(const char *msg)
{
	husk_warn("%s", msg);
}

static void gen_annotations(yajl_gen g, const husk_spec_t *spec)
{
	if (spec->annotations_len == 0)
		return;
	husk_json_key(g, "annotations");
	yajl_gen_map_open(g);
	for (size_t i = 0; i < spec->annotations_len; i++)
		husk_json_key_str(g, spec->annotations[i].key, spec->annotations[i].value);
	yajl_gen_map_close(g);
}

char *husk_hook_state_json(const husk_spec_t *spec, const char *id, const char *bundle, pid_t pid,
			   const char *status)
{
	cleanup_json_gen yajl_gen g = husk_json_new(false);

	yajl_gen_map_open(g);
	husk_json_key_str(g, "ociVersion", HUSK_OCI_VERSION);
	husk_json_key_str(g, "id", id);
	husk_json_key_str(g, "status", status);
	husk_json_key_int(g, "pid", pid);
	husk_json_key_str(g, "bundle", bundle);
	gen_annotations(g, spec);
	yajl_gen_map_close(g);
	return husk_json_finish(g, NULL);
}

void husk_state_init(husk_state_t *st, const husk_spec_t *spec, const char *id,
		     const char *bundle, const char *rootfs)
{
	memset(st, 0, sizeof *st);
	st->id = xstrdup(id);
	st->creator_pid = getpid();
	st->creator_start = husk_pid_start_time(st->creator_pid);
	st->bundle = xstrdup(bundle);
	st->rootfs = xstrdup(rootfs);
	st->created_at = husk_now_rfc3339();
	if (asprintf(&st->owner, "%u", (unsigned)getuid()) < 0)
		abort();
	st->annotations = xmalloc0(sizeof(husk_kv_t) * (spec->annotations_len + 1));
	for (size_t i = 0; i < spec->annotations_len; i++) {
		st->annotations[i].key = xstrdup(spec->annotations[i].key);
		st->annotations[i].value = xstrdup(spec->annotations[i].value);
	}
	st->annotations_len = spec->annotations_len;
}

void husk_statep(husk_state_t *st)
{
	husk_state_clear(st);
}

static int fifo_make(int dirfd, const char *name, husk_error_t *err)
{
	int fd;

	if (mkfifoat(dirfd, name, 0600) < 0)
		return husk_error_errno(err, "create %s", name);
	/* O_RDWR never blocks on a fifo and keeps it open from both ends. */
	fd = openat(dirfd, name, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return husk_error_errno(err, "open %s", name);
	return fd;
}

int husk_exec_barrier_make(int dirfd, husk_exec_barrier_t *b, husk_error_t *err)
{
	b->start_fd = fifo_make(dirfd, HUSK_EXEC_FIFO, err);
	if (b->start_fd < 0)
		return -1;
	b->done_fd = fifo_make(dirfd, HUSK_EXEC_DONE, err);
	return b->done_fd < 0 ? -1 : 0;
}

void husk_exec_barrier_close(husk_exec_barrier_t *b)
{
	husk_closep(&b->start_fd);
	husk_closep(&b->done_fd);
	b->start_fd = b->done_fd = -1;
}

/* Everything the process writes to exec.done before it closes: its error, if any. */
static int read_until_eof(int fd, char *buf, size_t size)
{
	size_t used = 0;

	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t r;
		if (poll(&p, 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		r = read(fd, buf + used, size - 1 - used);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r <= 0)
			break;
		used += (size_t)r;
		if (used == size - 1)
			break;
	}
	buf[used] = '\0';
	return (int)used;
}

int husk_exec_barrier_release(int dirfd, const char *id, bool *process_failed,
			      husk_error_t *err)
{
	cleanup_close int start = openat(dirfd, HUSK_EXEC_FIFO, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	cleanup_close int done = -1;
	char msg[2048];

	*process_failed = false;
	if (start < 0) {
		*process_failed = errno == ENXIO;
		if (errno == ENXIO)
			return husk_error_set(err, 0, "start container \"%s\": its process is gone",
					      id);
		return husk_error_errno(err, "start container \"%s\": open exec fifo", id);
	}
	done = openat(dirfd, HUSK_EXEC_DONE, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (done < 0)
		return husk_error_errno(err, "start container \"%s\": open %s", id, HUSK_EXEC_DONE);
	if (husk_write_all(start, "0", 1) < 0)
		return husk_error_errno(err, "start container \"%s\": release exec fifo", id);
	/* Unlinked now: a second start finds no fifo and the status reads "running". */
	unlinkat(dirfd, HUSK_EXEC_FIFO, 0);
	unlinkat(dirfd, HUSK_EXEC_DONE, 0);
	if (read_until_eof(done, msg, sizeof msg) > 0) {
		*process_failed = true;
		msg[strcspn(msg, "\n")] = '\0';
		return husk_error_set(err, 0, "start container \"%s\": %s", id, msg);
	}
	return 0;
}

int husk_exec_lookup_check(const husk_process_t *p, husk_error_t *err)
{
	cleanup_free char *path = NULL;
	struct stat st;

	if (husk_process_find_executable(p->args[0], p->env, &path, err) < 0)
		return -1;
	/* A name with '/' comes back unchecked: it must be an executable file too. */
	if (stat(path, &st) < 0)
		return husk_error_errno(err, "exec \"%s\"", p->args[0]);
	if (!S_ISREG(st.st_mode))
		return husk_error_set(err, EACCES, "exec \"%s\"", p->args[0]);
	if (access(path, X_OK) < 0)
		return husk_error_errno(err, "exec \"%s\"", p->args[0]);
	return 0;
}

void husk_close_fds_from(int from)
{
	if (syscall(SYS_close_range, from, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
		return;
	/* Older kernels: walk the fds we have. */
	for (int fd = from; fd < 65536; fd++) {
		int flags = fcntl(fd, F_GETFD);
		if (flags >= 0)
			fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
	}
}

int husk_seccomp_send_listener(const husk_spec_t *spec, const char *id, const char *bundle,
			       pid_t pid, int notify_fd, husk_error_t *err)
{
	const husk_seccomp_t *s = spec->linux_->seccomp;
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	cleanup_close int sock = -1;
	cleanup_free char *state = NULL;
	cleanup_close int nfd = notify_fd;

	if (s->listener_path == NULL)
		return husk_error_set(err, 0, "linux.seccomp.listenerPath: required with "
					      "SCMP_ACT_NOTIFY");
	if (strlen(s->listener_path) >= sizeof addr.sun_path)
		return husk_error_set(err, 0, "linux.seccomp.listenerPath: too long");
	strcpy(addr.sun_path, s->listener_path);
	sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (sock < 0 || connect(sock, (struct sockaddr *)&addr, sizeof addr) < 0)
		return husk_error_errno(err, "linux.seccomp.listenerPath: connect \"%s\"",
					s->listener_path);
	/* config-linux.md: the container process state, with the fd listed in "fds". */
	{
		cleanup_json_gen yajl_gen g = husk_json_new(false);
		yajl_gen_map_open(g);
		husk_json_key_str(g, "ociVersion", HUSK_OCI_VERSION);
		husk_json_key(g, "fds");
		yajl_gen_array_open(g);
		husk_json_str(g, "seccompFd");
		yajl_gen_array_close(g);
		husk_json_key_int(g, "pid", pid);
		husk_json_key_str(g, "metadata", s->listener_metadata ? s->listener_metadata : "");
		husk_json_key(g, "state");
		{
			yajl_gen_map_open(g);
			husk_json_key_str(g, "ociVersion", HUSK_OCI_VERSION);
			husk_json_key_str(g, "id", id);
			husk_json_key_str(g, "status", "creating");
			husk_json_key_int(g, "pid", pid);
			husk_json_key_str(g, "bundle", bundle);
			yajl_gen_map_close(g);
		}
		yajl_gen_map_close(g);
		state = husk_json_finish(g, NULL);
	}
	if (husk_send_fd(sock, nfd, state, err) < 0)
		return husk_error_wrap(err, "linux.seccomp.listenerPath");
	return 0;
}

/* Written whole or not at all: an engine polls for it and reads it once it exists. */
int husk_write_pid_file(const char *path, pid_t pid, husk_error_t *err)
{
	char buf[32];
	cleanup_free char *copy = xstrdup(path);
	cleanup_free char *dir = NULL;
	const char *slash = strrchr(copy, '/');
	cleanup_close int dfd = -1;

	snprintf(buf, sizeof buf, "%d", (int)pid);
	if (slash == NULL) {
		dir = xstrdup(".");
	} else {
		dir = strndup(copy, (size_t)(slash - copy) ? (size_t)(slash - copy) : 1);
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return husk_error_errno(err, "pid file `%s`", path);
	if (husk_write_file_atomic(dfd, slash ? slash + 1 : copy, buf, strlen(buf), err) < 0)
		return husk_error_wrap(err, "pid file `%s`", path);
	return 0;
}

int husk_state_load_spec(int dirfd, husk_spec_t **spec, husk_error_t *err)
{
	cleanup_free char *text = NULL;
	size_t len = 0;

	if (husk_read_file_at(dirfd, HUSK_CONFIG_FILE, &text, &len, err) < 0)
		return husk_error_wrap(err, "saved config");
	return husk_spec_parse(text, len, "saved config.json", spec, err);
}

int husk_state_open_locked(const char *root, const char *id, int *rootfd, husk_state_t *st,
			   husk_error_t *err)
{
	cleanup_close int rfd = -1;
	cleanup_close int dfd = -1;

	if (husk_id_validate(id, err) < 0)
		return -1;
	rfd = husk_root_open(root, false, NULL);
	if (rfd < 0)
		return husk_error_set(err, 0, "container \"%s\" does not exist", id);
	if ((dfd = husk_state_dir_open(rfd, id, err)) < 0)
		return -1;
	if (husk_state_lock(dfd, err) < 0 || husk_state_read(dfd, id, st, err) < 0)
		return -1;
	if (rootfd)
		*rootfd = steal_fd(&rfd);
	return steal_fd(&dfd);
}

int husk_state_dir_begin(const char *root, const char *id, const char *config, size_t len,
			 int *rootfd, int *dirfd, husk_error_t *err)
{
	if ((*rootfd = husk_root_open(root, true, err)) < 0)
		return -1;
	if ((*dirfd = husk_state_dir_create(*rootfd, id, err)) < 0)
		return -1;
	if (husk_state_lock(*dirfd, err) < 0 ||
	    husk_write_file_new(*dirfd, HUSK_CONFIG_FILE, config, len, err) < 0)
		return -1;
	return 0;
}
