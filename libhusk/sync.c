#include "config.h"
#include "sync.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "utils.h"

int husk_sync_pair(int fds[2], husk_error_t *err)
{
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) < 0)
		return husk_error_errno(err, "socketpair");
	return 0;
}

static int send_with_fds(int sock, const void *buf, size_t len, const int *fds, size_t n)
{
	struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
	union {
		char buf[CMSG_SPACE(sizeof(int) * HUSK_SYNC_MAX_FDS)];
		struct cmsghdr align;
	} ctl;
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	ssize_t r;

	if (n > HUSK_SYNC_MAX_FDS) {
		errno = E2BIG;
		return -1;
	}
	if (n > 0) {
		struct cmsghdr *c;
		memset(&ctl, 0, sizeof ctl);
		mh.msg_control = ctl.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * n);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * n);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
	}
	do
		r = sendmsg(sock, &mh, MSG_NOSIGNAL);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -1 : 0;
}

static int send_with_fd(int sock, const void *buf, size_t len, int sendfd)
{
	return send_with_fds(sock, buf, len, &sendfd, sendfd >= 0 ? 1 : 0);
}

int husk_sync_send(int fd, husk_sync_type_t type, int64_t value, int sendfd, husk_error_t *err)
{
	husk_sync_msg_t m = {.type = type, .value = value};
	if (send_with_fd(fd, &m, sizeof m, sendfd) < 0)
		return husk_error_errno(err, "sync: send message %d", (int)type);
	return 0;
}

int husk_sync_send_error(int fd, const husk_error_t *what)
{
	husk_sync_msg_t m = {.type = HUSK_SYNC_ERROR, .errnum = what->errnum};
	snprintf(m.msg, sizeof m.msg, "%s", husk_error_msg(what));
	return send_with_fd(fd, &m, sizeof m, -1);
}

/* Keeps up to max passed fds in fds[] (*n of them), closes any beyond. */
static void take_fds(struct msghdr *mh, int *fds, size_t max, size_t *n)
{
	*n = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		size_t count;
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < count; i++) {
			int got;
			memcpy(&got, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (*n < max)
				fds[(*n)++] = got;
			else
				close(got);
		}
	}
}

int husk_sync_recv_fds(int fd, husk_sync_msg_t *msg, int *fds, size_t max, size_t *n,
		       husk_error_t *err)
{
	struct iovec iov = {.iov_base = msg, .iov_len = sizeof *msg};
	union {
		char buf[CMSG_SPACE(sizeof(int) * HUSK_SYNC_MAX_FDS)];
		struct cmsghdr align;
	} ctl;
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	int reset_seen = 0;
	ssize_t r;

	*n = 0;
	mh.msg_control = ctl.buf;
	mh.msg_controllen = sizeof ctl.buf;
	/* A peer that exits with our messages unread leaves ECONNRESET to report first (once):
	 * what it sent before, its error most of all, is still queued behind it. */
	do
		r = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
	while (r < 0 && (errno == EINTR || (errno == ECONNRESET && !reset_seen++)));
	if (r < 0)
		return husk_error_errno(err, "sync: receive");
	take_fds(&mh, fds, max, n);
	if (r == 0)
		return husk_error_set(err, 0, "container init exited before it was ready");
	if ((size_t)r != sizeof *msg || (mh.msg_flags & MSG_CTRUNC)) {
		for (size_t i = 0; i < *n; i++)
			close(fds[i]);
		*n = 0;
		/* MSG_CTRUNC: passed fds were lost (e.g. RLIMIT_NOFILE reached). */
		if (mh.msg_flags & MSG_CTRUNC)
			return husk_error_set(err, EMFILE,
					      "sync: passed file descriptors were lost");
		return husk_error_set(err, 0, "sync: short message (%zd bytes)", r);
	}
	msg->msg[sizeof msg->msg - 1] = '\0';
	return 0;
}

int husk_sync_recv(int fd, husk_sync_msg_t *msg, int *recvfd, husk_error_t *err)
{
	int got = -1;
	size_t n = 0;
	int r = husk_sync_recv_fds(fd, msg, &got, recvfd ? 1 : 0, &n, err);

	if (recvfd)
		*recvfd = n > 0 ? got : -1;
	return r;
}

int husk_sync_send_fds(int fd, husk_sync_type_t type, const char *text, const int *fds, size_t n,
		       husk_error_t *err)
{
	husk_sync_msg_t m = {.type = type, .value = (int64_t)n};

	snprintf(m.msg, sizeof m.msg, "%s", text ? text : "");
	if (send_with_fds(fd, &m, sizeof m, fds, n) < 0)
		return husk_error_errno(err, "sync: send message %d", (int)type);
	return 0;
}

int husk_sync_error_of(const husk_sync_msg_t *msg, husk_error_t *err)
{
	/* The text already ends with the strerror of errnum: keep errnum without adding it. */
	husk_error_set(err, 0, "%s", msg->msg);
	err->errnum = msg->errnum;
	return -1;
}

int husk_sync_expect_fds(int fd, husk_sync_type_t type, husk_sync_msg_t *msg, int *fds, size_t max,
			 size_t *n, husk_error_t *err)
{
	if (husk_sync_recv_fds(fd, msg, fds, max, n, err) < 0)
		return -1;
	if (msg->type == (int32_t)type)
		return 0;
	for (size_t i = 0; i < *n; i++)
		close(fds[i]);
	*n = 0;
	if (msg->type == HUSK_SYNC_ERROR)
		return husk_sync_error_of(msg, err);
	return husk_error_set(err, 0, "sync: expected message %d, got %d", (int)type,
			      (int)msg->type);
}

int husk_sync_expect(int fd, husk_sync_type_t type, husk_sync_msg_t *msg, int *recvfd,
		     husk_error_t *err)
{
	int got = -1;
	size_t n = 0;
	int r = husk_sync_expect_fds(fd, type, msg, &got, recvfd ? 1 : 0, &n, err);

	if (recvfd)
		*recvfd = n > 0 ? got : -1;
	return r;
}

int husk_send_fd(int sock, int fd, const char *name, husk_error_t *err)
{
	const char *payload = name && *name ? name : "/dev/console";
	if (send_with_fd(sock, payload, strlen(payload), fd) < 0)
		return husk_error_errno(err, "send fd over socket");
	return 0;
}
