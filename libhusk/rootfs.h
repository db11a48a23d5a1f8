/* husk: the container's filesystem: mounts, /dev, pivot_root, masked and readonly paths. */
#ifndef HUSK_ROOTFS_H
#define HUSK_ROOTFS_H

#include <stdbool.h>

#include "error.h"
#include "spec.h"

/*
 * Called in the container process, already inside its new mount namespace (and user
 * namespace when there is one), with the host's / still visible.
 * `rootfs` is the absolute host path of root.path (already resolved against the bundle).
 *
 * husk_rootfs_prepare: make / private (or rootfsPropagation), bind the rootfs onto itself,
 *   then perform spec->mounts in order, create the default devices and linux.devices,
 *   the /dev symlinks (fd, stdin, stdout, stderr, ptmx), /dev/pts and /dev/shm defaults as
 *   given by the mounts, all resolved relative to a rootfs fd (never string-joined).
 * husk_rootfs_pivot: pivot_root into the rootfs and detach the old root; with no_pivot,
 *   MS_MOVE + chroot instead. Afterwards cwd is "/".
 * husk_rootfs_finalize: after pivot: maskedPaths, readonlyPaths, root.readonly,
 *   rootfsPropagation of "/".
 */
int husk_rootfs_prepare(const husk_spec_t *spec, const char *rootfs, husk_error_t *err);
int husk_rootfs_pivot(const husk_spec_t *spec, const char *rootfs, bool no_pivot,
		      husk_error_t *err);
int husk_rootfs_finalize(const husk_spec_t *spec, husk_error_t *err);

#endif
