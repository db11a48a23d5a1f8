#include "config.h"
#include "sealed-exe.h"

#include <elf.h>
#include <errno.h>
#include <string.h>
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

/*
 * The part of our ELF file that the kernel and ld.so read: up to the end of the furthest
 * segment in the program headers. Debug info, the symbol table and the section headers lie
 * beyond it (three quarters of an unstripped husk), and copying them costs time on every
 * create, run and exec. Anything but a well-formed ELF64 is copied whole. Sanitizer builds
 * keep everything: their reports symbolize from the running image.
 */
static off_t loaded_size(int fd, off_t file_size, Elf64_Ehdr *eh)
{
	off_t end;

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_UNDEFINED__)
	return file_size;
#endif
	if (pread(fd, eh, sizeof *eh, 0) != (ssize_t)sizeof *eh ||
	    memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phnum == 0)
		return file_size;
	end = (off_t)(eh->e_phoff + (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr));
	for (unsigned i = 0; i < eh->e_phnum; i++) {
		Elf64_Phdr ph;
		off_t at = (off_t)(eh->e_phoff + i * sizeof ph);
		if (pread(fd, &ph, sizeof ph, at) != (ssize_t)sizeof ph)
			return file_size;
		if (ph.p_offset + ph.p_filesz > (uint64_t)end)
			end = (off_t)(ph.p_offset + ph.p_filesz);
	}
	return end < file_size ? end : file_size;
}

/* The copy has no section headers: say so in its ELF header. */
static int drop_section_headers(int copy, Elf64_Ehdr eh)
{
	eh.e_shoff = 0;
	eh.e_shnum = 0;
	eh.e_shstrndx = SHN_UNDEF;
	return pwrite(copy, &eh, sizeof eh, 0) == (ssize_t)sizeof eh ? 0 : -1;
}

int husk_exec_sealed_self(char **argv, husk_error_t *err)
{
	cleanup_close int self = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	cleanup_close int copy = -1;
	struct stat st;
	Elf64_Ehdr eh;
	off_t size;
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
	size = loaded_size(self, st.st_size, &eh);
	if (copy_all(self, copy, size) < 0 ||
	    (size < st.st_size && drop_section_headers(copy, eh) < 0))
		return husk_error_errno(err, "copy husk into a memfd");
	if (fcntl(copy, F_ADD_SEALS, HUSK_SEALS) < 0)
		return husk_error_errno(err, "seal the copy of husk");
	fexecve(copy, argv, environ);
	return husk_error_errno(err, "execute the sealed copy of husk");
}
