#include "config.h"
#include "terminal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>

#include "sync.h"
#include "utils.h"

int husk_pty_open(int *master, int *slave, unsigned width, unsigned height, husk_error_t *err)
{
	cleanup_close int m = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	char name[128];
	int s;

	if (m < 0)
		return husk_error_errno(err, "open `/dev/ptmx`");
	if (unlockpt(m) < 0)
		return husk_error_errno(err, "unlockpt");
	if (ptsname_r(m, name, sizeof name) != 0)
		return husk_error_errno(err, "ptsname");
	s = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (s < 0)
		return husk_error_errno(err, "open pty slave `%s`", name);
	if (width && height) {
		struct winsize ws = {.ws_row = (unsigned short)height,
				     .ws_col = (unsigned short)width};
		ioctl(s, TIOCSWINSZ, &ws);
	}
	*master = steal_fd(&m);
	*slave = s;
	return 0;
}

int husk_pty_become_controlling(int slave, husk_error_t *err)
{
	if (setsid() < 0)
		return husk_error_errno(err, "setsid");
	if (ioctl(slave, TIOCSCTTY, 0) < 0)
		return husk_error_errno(err, "set controlling terminal");
	for (int fd = 0; fd <= 2; fd++)
		if (dup2(slave, fd) < 0)
			return husk_error_errno(err, "dup2 pty to fd %d", fd);
	return 0;
}

int husk_console_socket_connect(const char *socket_path, husk_error_t *err)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	cleanup_close int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (s < 0)
		return husk_error_errno(err, "console socket: socket");
	if (strlen(socket_path) >= sizeof addr.sun_path)
		return husk_error_set(err, 0, "console socket `%s`: path too long", socket_path);
	strcpy(addr.sun_path, socket_path);
	if (connect(s, (struct sockaddr *)&addr, sizeof addr) < 0)
		return husk_error_errno(err, "connect to console socket `%s`", socket_path);
	return steal_fd(&s);
}

int husk_console_socket_send(const char *socket_path, int master, husk_error_t *err)
{
	cleanup_close int s = husk_console_socket_connect(socket_path, err);
	if (s < 0)
		return -1;
	if (husk_send_fd(s, master, "/dev/ptmx", err) < 0)
		return husk_error_wrap(err, "console socket `%s`", socket_path);
	return 0;
}

static int copy_some(int from, int to)
{
	char buf[8192];
	ssize_t r = read(from, buf, sizeof buf);
	if (r <= 0)
		return r == 0 || errno == EIO ? 0 : (errno == EINTR || errno == EAGAIN ? 1 : -1);
	if (husk_write_all(to, buf, (size_t)r) < 0)
		return -1;
	return 1;
}

int husk_pty_relay(int master, husk_error_t *err)
{
	struct termios saved, raw;
	bool restore = false;
	bool stdin_open = true;

	if (isatty(0) && tcgetattr(0, &saved) == 0) {
		raw = saved;
		cfmakeraw(&raw);
		if (tcsetattr(0, TCSANOW, &raw) == 0)
			restore = true;
		struct winsize ws;
		if (ioctl(0, TIOCGWINSZ, &ws) == 0)
			ioctl(master, TIOCSWINSZ, &ws);
	}
	for (;;) {
		struct pollfd p[2] = {{.fd = master, .events = POLLIN},
				      {.fd = stdin_open ? 0 : -1, .events = POLLIN}};
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			if (copy_some(master, 1) <= 0)
				break;
		}
		if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			if (copy_some(0, master) <= 0)
				stdin_open = false;
		}
	}
	if (restore)
		tcsetattr(0, TCSANOW, &saved);
	(void)err;
	return 0;
}
