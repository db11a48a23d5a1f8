#include "config.h"
#include "hooks.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "utils.h"

static void hook_child(const husk_hook_t *h, int stdin_fd)
{
	char *default_argv[] = {h->path, NULL};
	char *empty_env[] = {NULL};

	if (dup2(stdin_fd, 0) < 0)
		_exit(127);
	/* The hook must not inherit the runtime's other descriptors. */
	syscall(SYS_close_range, 3, ~0U, 0);
	execve(h->path, h->args ? h->args : default_argv, h->env ? h->env : empty_env);
	_exit(127);
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for pid, at most timeout_s seconds (0 = forever). Returns 1 on timeout. */
static int wait_with_timeout(pid_t pid, int timeout_s, int *status)
{
	long long deadline = timeout_s > 0 ? now_ms() + timeout_s * 1000LL : 0;
	int pidfd = husk_pidfd_open(pid);

	for (;;) {
		pid_t r = waitpid(pid, status, deadline ? WNOHANG : 0);
		if (r == pid)
			break;
		if (r < 0 && errno != EINTR) {
			*status = 0;
			break;
		}
		if (deadline && now_ms() >= deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, status, 0);
			if (pidfd >= 0)
				close(pidfd);
			return 1;
		}
		if (deadline && pidfd >= 0) {
			struct pollfd p = {.fd = pidfd, .events = POLLIN};
			poll(&p, 1, (int)(deadline - now_ms()));
		} else if (deadline) {
			struct timespec ts = {0, 2 * 1000 * 1000};
			nanosleep(&ts, NULL);
		}
	}
	if (pidfd >= 0)
		close(pidfd);
	return 0;
}

static int run_one(const husk_hook_t *h, const char *stage, size_t idx, const char *state_json,
		   husk_error_t *err)
{
	int p[2], status = 0;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return husk_error_errno(err, "%s hook #%zu: pipe", stage, idx);
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return husk_error_errno(err, "%s hook #%zu: fork", stage, idx);
	}
	if (pid == 0)
		hook_child(h, p[0]);
	close(p[0]);
	/* A hook that ignores stdin must not block us: SIGPIPE is ignored by MSG_NOSIGNAL-less
	 * write only if we ignore it, so check EPIPE explicitly. */
	{
		struct sigaction old, ign = {.sa_handler = SIG_IGN};
		sigaction(SIGPIPE, &ign, &old);
		husk_write_all(p[1], state_json, strlen(state_json));
		sigaction(SIGPIPE, &old, NULL);
	}
	close(p[1]);
	if (wait_with_timeout(pid, h->has_timeout ? h->timeout : 0, &status))
		return husk_error_set(err, 0, "%s hook #%zu \"%s\": timed out after %ds", stage,
				      idx, h->path, h->timeout);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127 && access(h->path, X_OK) < 0)
		return husk_error_errno(err, "%s hook #%zu \"%s\"", stage, idx, h->path);
	if (WIFSIGNALED(status))
		return husk_error_set(err, 0, "%s hook #%zu \"%s\": killed by signal %d", stage,
				      idx, h->path, WTERMSIG(status));
	return husk_error_set(err, 0, "%s hook #%zu \"%s\": exit status %d", stage, idx, h->path,
			      WEXITSTATUS(status));
}

int husk_hooks_run(const husk_hook_list_t *hooks, const char *stage, const char *state_json,
		   husk_error_t *err)
{
	for (size_t i = 0; hooks && i < hooks->len; i++)
		if (run_one(&hooks->v[i], stage, i, state_json, err) < 0)
			return -1;
	return 0;
}

void husk_hooks_run_all(const husk_hook_list_t *hooks, const char *stage, const char *state_json,
			void (*warn)(const char *msg))
{
	for (size_t i = 0; hooks && i < hooks->len; i++) {
		husk_error_t err = {0};
		if (run_one(&hooks->v[i], stage, i, state_json, &err) < 0 && warn)
			warn(husk_error_msg(&err));
		husk_error_clear(&err);
	}
}

static int validate_list(const husk_hook_list_t *l, const char *stage, husk_error_t *err)
{
	for (size_t i = 0; i < l->len; i++) {
		if (l->v[i].path == NULL || l->v[i].path[0] != '/')
			return husk_error_set(err, 0, "hooks.%s[%zu].path: must be absolute", stage,
					      i);
	}
	return 0;
}

int husk_hooks_validate(const husk_hooks_t *h, husk_error_t *err)
{
	if (h == NULL)
		return 0;
	if (validate_list(&h->prestart, "prestart", err) < 0 ||
	    validate_list(&h->create_runtime, "createRuntime", err) < 0 ||
	    validate_list(&h->create_container, "createContainer", err) < 0 ||
	    validate_list(&h->start_container, "startContainer", err) < 0 ||
	    validate_list(&h->poststart, "poststart", err) < 0 ||
	    validate_list(&h->poststop, "poststop", err) < 0)
		return -1;
	return 0;
}
