/* husk: open paths inside an untrusted rootfs without ever leaving it. */
#ifndef HUSK_SAFE_PATH_H
#define HUSK_SAFE_PATH_H

#include <stdbool.h>
#include <sys/types.h>

#include "error.h"

/*
 * Every path below is interpreted inside the tree rooted at `rootfd`, as if that directory
 * were "/": absolute symlinks restart at rootfd, ".." never climbs above it, and magic links
 * (/proc/<pid>/fd/N, /proc/<pid>/exe, ...) are refused with ELOOP. Absolute and relative
 * paths mean the same thing ("etc/passwd" == "/etc/passwd").
 *
 * The kernel does the work (openat2 RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS); on kernels
 * without openat2 (ENOSYS) a userspace walk does the same, one component at a time with
 * O_NOFOLLOW, expanding symlinks itself.
 */

/*
 * Open `path` inside the root. `flags` are open(2) flags (O_CLOEXEC is always added);
 * O_NOFOLLOW applies to the last component only, O_CREAT is refused (use the create
 * helpers). Returns the fd, or -1 with errno set and *err filled.
 */
int husk_safe_open(int rootfd, const char *path, int flags, husk_error_t *err);

/* The same, always through the userspace walk (for tests and for comparison). */
int husk_safe_open_fallback(int rootfd, const char *path, int flags, husk_error_t *err);

/* Make husk_safe_open() skip openat2 in this process (tests of the fallback). */
void husk_safe_path_force_fallback(bool force);

/*
 * mkdir -p `path` inside the root (missing components get `mode`); a symlink in the way is
 * followed inside the root. Returns an O_PATH|O_DIRECTORY fd of the final directory.
 */
int husk_safe_mkdir_p(int rootfd, const char *path, mode_t mode, husk_error_t *err);

/*
 * Make sure a mount target exists at `path` inside the root: a directory when `dir`,
 * otherwise an empty regular file (parents are created as directories, 0755).
 * An existing entry of either kind is accepted (mount(2) reports a mismatch).
 * Returns an O_PATH fd of the target.
 */
int husk_safe_mount_target(int rootfd, const char *path, bool dir, husk_error_t *err);

/*
 * Split `path` (interpreted inside the root) into its parent and its last name:
 * returns an O_PATH|O_DIRECTORY fd of the parent (created when `create_parents`),
 * and a heap copy of the last component in *name ("." for the root itself).
 */
int husk_safe_open_parent(int rootfd, const char *path, bool create_parents, char **name,
			  husk_error_t *err);

/* Open /proc (O_PATH|O_DIRECTORY) and check it really is the root of a procfs mount. */
int husk_proc_fd_verified(husk_error_t *err);

#endif
