/* husk: small helpers shared by every file: cleanup attributes and fd/file I/O. */
#ifndef HUSK_UTILS_H
#define HUSK_UTILS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <unistd.h>

#include "error.h"

void husk_freep(void *p);
void husk_closep(int *fd);
void husk_fclosep(FILE **f);
void husk_strvfreep(char ***v);
void husk_errorp(husk_error_t *err);

#define cleanup_free __attribute__((cleanup(husk_freep)))
#define cleanup_close __attribute__((cleanup(husk_closep)))
#define cleanup_fclose __attribute__((cleanup(husk_fclosep)))
#define cleanup_strv __attribute__((cleanup(husk_strvfreep)))
#define cleanup_error __attribute__((cleanup(husk_errorp)))

/* Hand ownership out of a cleanup variable. */
#define steal_pointer(pp)                                                                          \
	({                                                                                         \
		__typeof__(*(pp)) _p = *(pp);                                                      \
		*(pp) = NULL;                                                                      \
		_p;                                                                                \
	})
#define steal_fd(fdp)                                                                              \
	({                                                                                         \
		int _fd = *(fdp);                                                                  \
		*(fdp) = -1;                                                                       \
		_fd;                                                                               \
	})

void *xmalloc0(size_t size);
void *xrealloc(void *p, size_t size);
char *xstrdup(const char *s);
void strv_free(char **v);
size_t strv_len(char *const *v);

/* Set KEY=VALUE in a NULL-terminated environment: the first KEY= is replaced in place and
 * later duplicates dropped; appended when absent. */
void husk_env_set(char ***env, size_t *len, const char *kv);

/* Read a whole file (relative to dirfd, or AT_FDCWD) into a NUL-terminated buffer. */
int husk_read_file_at(int dirfd, const char *path, char **out, size_t *len, husk_error_t *err);
/* Write all of buf to an fd, retrying on EINTR and short writes. */
int husk_write_all(int fd, const void *buf, size_t len);
/* Open path (relative to dirfd) O_WRONLY and write a string; for /proc and cgroup files. */
int husk_write_file_at(int dirfd, const char *path, const char *data, husk_error_t *err);
/* Replace a file atomically: temp file in the same directory, then rename. */
int husk_write_file_atomic(int dirfd, const char *name, const char *data, size_t len,
			   husk_error_t *err);
/* Create a new file (O_EXCL) and write it whole: for files nobody reads before we unlock. */
int husk_write_file_new(int dirfd, const char *name, const char *data, size_t len,
			husk_error_t *err);
/* mkdir -p with mode; ok if it exists. */
int husk_mkdir_p(const char *path, mode_t mode, husk_error_t *err);

/* pidfd_open(2); HUSK_TEST_NO_PIDFD=1 in the environment makes it fail with ENOSYS, so that
 * the fallbacks for kernels without pidfds (< 5.3) are tested too. */
int husk_pidfd_open(pid_t pid);

/* Parse a base-10 integer in full; -1 with errno set on error. */
int husk_parse_int64(const char *s, long long *out);

#endif
