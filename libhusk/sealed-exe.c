#include "config.h"
#include "sealed-exe.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "utils.h"

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif

#define HUSK_SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

extern char **environ;

static int memfd_executable(void)
{
	/* Kernels with vm.memfd_noexec want MFD_EXEC to allow fexecve; older ones reject it. */
	int fd = memfd_create("husk", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
	if (fd < 0 && errno == EINVAL)
		fd = memfd_create("husk", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	return fd;
}

static int copy_all(int from, int to, off_t size)
{
	off_t done = 0;
	while (done < size) {
		ssize_t n = sendfile(to, from, NULL, (size_t)(size - done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		done += n;
	}
	return 0;
}

int husk_exec_sealed_self(char **argv, husk_error_t *err)
{
	cleanup_close int self = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	cleanup_close int copy = -1;
	struct stat st;
	int seals;

	if (self < 0)
		return husk_error_errno(err, "open /proc/self/exe");
	seals = fcntl(self, F_GET_SEALS);
	if (seals >= 0 && (seals & HUSK_SEALS) == HUSK_SEALS)
		return 0;
	if (fstat(self, &st) < 0)
		return husk_error_errno(err, "stat /proc/self/exe");
	copy = memfd_executable();
	if (copy < 0)
		return husk_error_errno(err, "memfd_create for a sealed copy of husk");
	if (copy_all(self, copy, st.st_size) < 0)
		return husk_error_errno(err, "copy husk into a memfd");
	if (fcntl(copy, F_ADD_SEALS, HUSK_SEALS) < 0)
		return husk_error_errno(err, "seal the copy of husk");
	fexecve(copy, argv, environ);
	return husk_error_errno(err, "execute the sealed copy of husk");
}
