/* husk: the parent/child protocol over a SOCK_SEQPACKET socketpair. */
#ifndef HUSK_SYNC_H
#define HUSK_SYNC_H

#include <stdint.h>
#include <sys/types.h>

#include "error.h"

typedef enum {
	HUSK_SYNC_MAPS_DONE = 1,	  /* parent -> child: id maps written */
	HUSK_SYNC_RUN_RUNTIME_HOOKS, /* child -> parent: namespaces ready, run prestart/createRuntime */
	HUSK_SYNC_HOOKS_DONE,	     /* parent -> child */
	HUSK_SYNC_PTY_MASTER,	     /* child -> parent: carries the pty master fd */
	HUSK_SYNC_READY,	     /* child -> parent: waiting on the exec barrier */
	HUSK_SYNC_ERROR,	     /* either way: msg holds the error */
	HUSK_SYNC_PID,		     /* exec helper -> parent: value holds the pid */
	HUSK_SYNC_SECCOMP_FD,	     /* child -> parent: the seccomp notify fd, for listenerPath */
	HUSK_SYNC_SECCOMP_DONE,	     /* parent -> child: the listener has it */
	HUSK_SYNC_CGROUP,	     /* parent -> child: the cgroup exists; the v1 `tasks` fds */
	HUSK_SYNC_IDMAP_TREE,	     /* parent -> child: an idmapped mount tree for mounts[value] */
} husk_sync_type_t;

/* At most this many fds in one message. */
#define HUSK_SYNC_MAX_FDS 32

typedef struct {
	int32_t type;
	int32_t errnum;
	int64_t value;
	char msg[3072];
} husk_sync_msg_t;

int husk_sync_pair(int fds[2], husk_error_t *err);

int husk_sync_send(int fd, husk_sync_type_t type, int64_t value, int sendfd, husk_error_t *err);
int husk_sync_send_error(int fd, const husk_error_t *what);

/* Receive one message; *recvfd gets a passed fd (or -1). A closed peer is an error
 * "container init exited before it was ready". */
int husk_sync_recv(int fd, husk_sync_msg_t *msg, int *recvfd, husk_error_t *err);

/* Several fds in one message (value = their count), with a text in msg. */
int husk_sync_send_fds(int fd, husk_sync_type_t type, const char *text, const int *fds, size_t n,
		       husk_error_t *err);
/* Receive one message, keeping up to max passed fds in fds[] (*n of them; more are closed). */
int husk_sync_recv_fds(int fd, husk_sync_msg_t *msg, int *fds, size_t max, size_t *n,
		       husk_error_t *err);

/* An ERROR message into *err (its text and errnum, as the sender had them); returns -1. */
int husk_sync_error_of(const husk_sync_msg_t *msg, husk_error_t *err);
/* Receive and require `type` (an ERROR message becomes *err), keeping up to max fds. */
int husk_sync_expect_fds(int fd, husk_sync_type_t type, husk_sync_msg_t *msg, int *fds, size_t max,
			 size_t *n, husk_error_t *err);
/* Receive and require `type`; an ERROR message becomes *err. */
int husk_sync_expect(int fd, husk_sync_type_t type, husk_sync_msg_t *msg, int *recvfd,
		     husk_error_t *err);

/* SCM_RIGHTS over any unix socket (console socket). */
int husk_send_fd(int sock, int fd, const char *name, husk_error_t *err);

#endif
