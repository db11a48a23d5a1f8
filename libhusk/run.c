/* husk: `run` — create, start, and in the foreground wait, forward signals, delete. */
#include "config.h"
#include "container.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "container-internal.h"
#include "terminal.h"
#include "utils.h"

static volatile sig_atomic_t forward_pid;

static void forward_signal(int sig)
{
	if (forward_pid > 0)
		kill(forward_pid, sig);
}

/* Everything a terminal or a supervisor may send us goes on to the container. */
static const int forwarded_signals[] = {SIGHUP,	 SIGINT,  SIGQUIT, SIGTERM, SIGUSR1,
					SIGUSR2, SIGWINCH, SIGCONT, SIGALRM, SIGPIPE};

static void install_forwarding(pid_t pid)
{
	struct sigaction sa = {.sa_handler = forward_signal};

	sigemptyset(&sa.sa_mask);
	forward_pid = pid;
	for (size_t i = 0; i < sizeof forwarded_signals / sizeof forwarded_signals[0]; i++)
		sigaction(forwarded_signals[i], &sa, NULL);
}

static void remove_forwarding(void)
{
	struct sigaction sa = {.sa_handler = SIG_DFL};

	forward_pid = 0;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof forwarded_signals / sizeof forwarded_signals[0]; i++)
		sigaction(forwarded_signals[i], &sa, NULL);
}

static int wait_exit_status(pid_t pid)
{
	int status = 0;

	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return 255;
	}
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 255;
}

static void *relay_thread(void *arg)
{
	int master = *(int *)arg;
	husk_pty_relay(master, NULL);
	return NULL;
}

int husk_wait_foreground(pid_t pid, int pty_master, int *exit_status)
{
	pthread_t relay;
	bool relaying = false;
	int master = pty_master;

	install_forwarding(pid);
	if (master >= 0 && pthread_create(&relay, NULL, relay_thread, &master) == 0)
		relaying = true;
	*exit_status = wait_exit_status(pid);
	remove_forwarding();
	if (relaying) {
		/* The relay ends when the last slave closes; a process of the container that
		 * outlives it (no pid namespace) must not keep us here. */
		struct timespec deadline;
		clock_gettime(CLOCK_REALTIME, &deadline);
		deadline.tv_sec += 1;
		if (pthread_timedjoin_np(relay, NULL, &deadline) != 0) {
			pthread_cancel(relay);
			pthread_join(relay, NULL);
		}
	}
	if (master >= 0)
		close(master);
	return 0;
}

int husk_container_run(const husk_create_opts_t *o, bool detach, bool keep, int *exit_status,
		       husk_error_t *err)
{
	husk_create_opts_t co = *o;
	husk_created_t created = {.pid = -1, .pty_master = -1};
	cleanup_error husk_error_t del_err = {0};

	co.keep_child = !detach;
	*exit_status = 0;
	if (husk_container_create_kept(&co, &created, err) < 0)
		return -1;
	if (husk_container_start(o->root, o->id, err) < 0) {
		husk_container_delete(o->root, o->id, true, &del_err);
		if (created.pty_master >= 0)
			close(created.pty_master);
		return -1;
	}
	if (detach) {
		if (created.pty_master >= 0)
			close(created.pty_master);
		return 0;
	}
	husk_wait_foreground(created.pid, created.pty_master, exit_status);
	if (!keep && husk_container_delete(o->root, o->id, true, &del_err) < 0)
		husk_warn("%s", husk_error_msg(&del_err));
	return 0;
}
