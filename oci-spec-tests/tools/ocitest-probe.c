// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ocitest-probe: a tiny static helper that runs as a container process and reports
 * what it sees, for the oci-spec-tests suite.  It is built at session start with
 * `cc -static -O2` so that it needs nothing from the rootfs.
 *
 *   ocitest-probe report            one JSON object: ids, groups, umask, cwd, caps,
 *                                   no_new_privs, seccomp, rlimits, hostname, domainname,
 *                                   oom_score_adj, personality, isatty, uid/gid maps,
 *                                   cgroup, namespaces, open fds, env, args
 *   ocitest-probe stat PATH...      one JSON object per path: type, major, minor, mode,
 *                                   uid, gid (or errno)
 *   ocitest-probe access PATH r|w.. tries open(2) for reading or writing, per pair;
 *                                   prints {"PATH:r": "ok" or the errno name, ...}
 *   ocitest-probe syscall NAME      calls getcwd/chmod/mkdir directly through syscall(2)
 *                                   and prints "ok" or the errno number, to see seccomp
 *   ocitest-probe write PATH TEXT   creates PATH containing TEXT
 *
 * Output is written with one write(2) per line so that nothing is lost if the
 * container is killed right after.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <unistd.h>

extern char **environ;

struct buf {
	char data[65536];
	size_t len;
};

static void buf_add(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->len >= sizeof(b->data))
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->data + b->len, sizeof(b->data) - b->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		b->len += (size_t)n < sizeof(b->data) - b->len ? (size_t)n
							   : sizeof(b->data) - b->len - 1;
}

/* JSON string escaping for arbitrary bytes (env values, hostnames). */
static void buf_add_json_string(struct buf *b, const char *s)
{
	buf_add(b, "\"");
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			buf_add(b, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			buf_add(b, "\\u%04x", c);
		else
			buf_add(b, "%c", c);
	}
	buf_add(b, "\"");
}

static void buf_flush(struct buf *b)
{
	size_t off = 0;

	while (off < b->len) {
		ssize_t n = write(1, b->data + off, b->len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	b->len = 0;
}

/* Copies the value of "Key:\t..." from /proc/self/status, or "" when absent. */
static void status_field(const char *key, char *out, size_t size)
{
	char line[512];
	size_t klen = strlen(key);
	FILE *f = fopen("/proc/self/status", "re");

	out[0] = '\0';
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
			char *v = line + klen + 1;

			v += strspn(v, " \t");
			v[strcspn(v, "\n")] = '\0';
			snprintf(out, size, "%s", v);
			break;
		}
	}
	fclose(f);
}

static void report_status_fields(struct buf *b)
{
	static const char *const keys[] = { "CapInh", "CapPrm", "CapEff", "CapBnd",
					    "CapAmb", "NoNewPrivs", "Seccomp", "Umask" };
	char value[256];

	buf_add(b, "\"status\":{");
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		status_field(keys[i], value, sizeof(value));
		buf_add(b, "%s\"%s\":", i ? "," : "", keys[i]);
		buf_add_json_string(b, value);
	}
	buf_add(b, "},");
}

static void report_rlimits(struct buf *b)
{
	static const struct {
		const char *name;
		int resource;
	} limits[] = {
		{ "RLIMIT_AS", RLIMIT_AS },	      { "RLIMIT_CORE", RLIMIT_CORE },
		{ "RLIMIT_CPU", RLIMIT_CPU },	      { "RLIMIT_DATA", RLIMIT_DATA },
		{ "RLIMIT_FSIZE", RLIMIT_FSIZE },     { "RLIMIT_LOCKS", RLIMIT_LOCKS },
		{ "RLIMIT_MEMLOCK", RLIMIT_MEMLOCK }, { "RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE },
		{ "RLIMIT_NICE", RLIMIT_NICE },	      { "RLIMIT_NOFILE", RLIMIT_NOFILE },
		{ "RLIMIT_NPROC", RLIMIT_NPROC },     { "RLIMIT_RSS", RLIMIT_RSS },
		{ "RLIMIT_RTPRIO", RLIMIT_RTPRIO },   { "RLIMIT_RTTIME", RLIMIT_RTTIME },
		{ "RLIMIT_SIGPENDING", RLIMIT_SIGPENDING }, { "RLIMIT_STACK", RLIMIT_STACK },
	};

	buf_add(b, "\"rlimits\":{");
	for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
		struct rlimit rl;

		if (getrlimit(limits[i].resource, &rl) < 0)
			continue;
		/* RLIM_INFINITY is reported as -1 so JSON consumers need no 64-bit magic. */
		buf_add(b, "%s\"%s\":{\"soft\":%lld,\"hard\":%lld}", i ? "," : "", limits[i].name,
			rl.rlim_cur == RLIM_INFINITY ? -1LL : (long long)rl.rlim_cur,
			rl.rlim_max == RLIM_INFINITY ? -1LL : (long long)rl.rlim_max);
	}
	buf_add(b, "},");
}

static void report_groups(struct buf *b)
{
	gid_t groups[256];
	int n = getgroups(256, groups);

	buf_add(b, "\"groups\":[");
	for (int i = 0; i < n; i++)
		buf_add(b, "%s%u", i ? "," : "", (unsigned)groups[i]);
	buf_add(b, "],");
}

static void report_string_list(struct buf *b, const char *key, char **list, int count)
{
	buf_add(b, "\"%s\":[", key);
	for (int i = 0; count < 0 ? list[i] != NULL : i < count; i++) {
		if (i)
			buf_add(b, ",");
		buf_add_json_string(b, list[i]);
	}
	buf_add(b, "]");
}

static void report_file_first_line(struct buf *b, const char *key, const char *path)
{
	char line[256] = "";
	FILE *f = fopen(path, "re");

	if (f) {
		if (!fgets(line, sizeof(line), f))
			line[0] = '\0';
		fclose(f);
	}
	line[strcspn(line, "\n")] = '\0';
	buf_add(b, "\"%s\":", key);
	buf_add_json_string(b, line);
	buf_add(b, ",");
}

static void report_namespaces(struct buf *b)
{
	static const char *const names[] = { "cgroup", "ipc", "mnt", "net", "pid",
					     "time", "user", "uts" };

	buf_add(b, "\"ns\":{");
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char path[64], target[128];
		ssize_t n;

		snprintf(path, sizeof(path), "/proc/self/ns/%s", names[i]);
		n = readlink(path, target, sizeof(target) - 1);
		target[n > 0 ? n : 0] = '\0';
		buf_add(b, "%s\"%s\":", i ? "," : "", names[i]);
		buf_add_json_string(b, target);
	}
	buf_add(b, "},");
}

/* The fds open in this process, minus the one opendir() itself uses to list them. */
static void report_fds(struct buf *b)
{
	DIR *dir = opendir("/proc/self/fd");
	struct dirent *de;
	int first = 1;

	buf_add(b, "\"fds\":[");
	if (dir) {
		while ((de = readdir(dir)) != NULL) {
			if (de->d_name[0] == '.' || atoi(de->d_name) == dirfd(dir))
				continue;
			buf_add(b, "%s%s", first ? "" : ",", de->d_name);
			first = 0;
		}
		closedir(dir);
	}
	buf_add(b, "],");
}

static void report_file(struct buf *b, const char *key, const char *path)
{
	char data[4096];
	ssize_t n = -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		n = read(fd, data, sizeof(data) - 1);
		close(fd);
	}
	data[n > 0 ? n : 0] = '\0';
	buf_add(b, "\"%s\":", key);
	buf_add_json_string(b, data);
	buf_add(b, ",");
}

static int cmd_report(int argc, char **argv)
{
	static struct buf b;
	char cwd[4096];
	struct utsname uts;
	mode_t mask = umask(0);

	umask(mask);
	buf_add(&b, "{\"uid\":%u,\"euid\":%u,\"gid\":%u,\"egid\":%u,", (unsigned)getuid(),
		(unsigned)geteuid(), (unsigned)getgid(), (unsigned)getegid());
	buf_add(&b, "\"pid\":%d,\"ppid\":%d,\"umask\":%u,", (int)getpid(), (int)getppid(),
		(unsigned)mask);
	report_groups(&b);
	buf_add(&b, "\"cwd\":");
	buf_add_json_string(&b, getcwd(cwd, sizeof(cwd)) ? cwd : "");
	buf_add(&b, ",");
	report_status_fields(&b);
	buf_add(&b, "\"no_new_privs\":%d,", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
	report_rlimits(&b);
	if (uname(&uts) == 0) {
		buf_add(&b, "\"hostname\":");
		buf_add_json_string(&b, uts.nodename);
		buf_add(&b, ",\"domainname\":");
		buf_add_json_string(&b, uts.domainname);
		buf_add(&b, ",\"machine\":");
		buf_add_json_string(&b, uts.machine);
		buf_add(&b, ",");
	}
	report_file_first_line(&b, "oom_score_adj", "/proc/self/oom_score_adj");
	report_file(&b, "uid_map", "/proc/self/uid_map");
	report_file(&b, "gid_map", "/proc/self/gid_map");
	report_file(&b, "cgroup", "/proc/self/cgroup");
	report_namespaces(&b);
	report_fds(&b);
	buf_add(&b, "\"personality\":%d,", personality(0xffffffff));
	buf_add(&b, "\"isatty\":[%d,%d,%d],", isatty(0), isatty(1), isatty(2));
	report_string_list(&b, "env", environ, -1);
	buf_add(&b, ",");
	report_string_list(&b, "args", argv, argc);
	buf_add(&b, "}\n");
	buf_flush(&b);
	return 0;
}

static const char *file_type(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFCHR:
		return "c";
	case S_IFBLK:
		return "b";
	case S_IFIFO:
		return "p";
	case S_IFDIR:
		return "d";
	case S_IFLNK:
		return "l";
	case S_IFREG:
		return "f";
	case S_IFSOCK:
		return "s";
	}
	return "?";
}

static int cmd_stat(int argc, char **argv)
{
	static struct buf b;

	buf_add(&b, "{");
	for (int i = 0; i < argc; i++) {
		struct stat st;

		if (i)
			buf_add(&b, ",");
		buf_add_json_string(&b, argv[i]);
		if (lstat(argv[i], &st) < 0) {
			buf_add(&b, ":{\"errno\":%d}", errno);
			continue;
		}
		buf_add(&b,
			":{\"type\":\"%s\",\"major\":%u,\"minor\":%u,\"mode\":%u,\"uid\":%u,"
			"\"gid\":%u}",
			file_type(st.st_mode), major(st.st_rdev), minor(st.st_rdev),
			(unsigned)(st.st_mode & 07777), (unsigned)st.st_uid, (unsigned)st.st_gid);
	}
	buf_add(&b, "}\n");
	buf_flush(&b);
	return 0;
}

static const char *errno_name(int e)
{
	const char *name = strerrorname_np(e);

	return name ? name : "EUNKNOWN";
}

/* PATH MODE pairs; prints {"PATH:MODE":"ok"|"EACCES",...}. */
static int cmd_access(int argc, char **argv)
{
	static struct buf b;

	buf_add(&b, "{");
	for (int i = 0; i + 1 < argc; i += 2) {
		int fd = open(argv[i], (strcmp(argv[i + 1], "w") == 0 ? O_WRONLY : O_RDONLY) |
					       O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
		char key[4200];

		snprintf(key, sizeof(key), "%s:%s", argv[i], argv[i + 1]);
		buf_add(&b, "%s", i ? "," : "");
		buf_add_json_string(&b, key);
		buf_add(&b, ":");
		buf_add_json_string(&b, fd < 0 ? errno_name(errno) : "ok");
		if (fd >= 0)
			close(fd);
	}
	buf_add(&b, "}\n");
	buf_flush(&b);
	return 0;
}

/* Direct syscalls, so that libc cannot pick a different syscall than the one filtered. */
static int cmd_syscall(const char *name)
{
	static struct buf b;
	char cwd[256];
	long rc;

	if (strcmp(name, "getcwd") == 0)
		rc = syscall(SYS_getcwd, cwd, sizeof(cwd));
	else if (strcmp(name, "chmod") == 0)
		rc = syscall(SYS_chmod, "/", 0755);
	else if (strcmp(name, "mkdir") == 0)
		rc = syscall(SYS_mkdir, "/tmp/ocitest-mkdir", 0700);
	else {
		buf_add(&b, "unknown syscall %s\n", name);
		buf_flush(&b);
		return 2;
	}
	if (rc < 0)
		buf_add(&b, "errno %d\n", errno);
	else
		buf_add(&b, "ok\n");
	buf_flush(&b);
	return 0;
}

static int cmd_write(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	size_t len = strlen(text);

	if (fd < 0 || write(fd, text, len) != (ssize_t)len) {
		static struct buf b;

		buf_add(&b, "write %s: %s\n", path, errno_name(errno));
		buf_flush(&b);
		return 1;
	}
	close(fd);
	return 0;
}

static int usage(void)
{
	static const char msg[] = "usage: ocitest-probe report | stat PATH... | access [PATH r|w]... "
				  "| syscall NAME | write PATH TEXT\n";

	if (write(2, msg, sizeof(msg) - 1) < 0)
		return 2;
	return 2;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage();
	if (strcmp(argv[1], "report") == 0)
		return cmd_report(argc, argv);
	if (strcmp(argv[1], "stat") == 0)
		return cmd_stat(argc - 2, argv + 2);
	if (strcmp(argv[1], "access") == 0)
		return cmd_access(argc - 2, argv + 2);
	if (strcmp(argv[1], "syscall") == 0 && argc == 3)
		return cmd_syscall(argv[2]);
	if (strcmp(argv[1], "write") == 0 && argc == 4)
		return cmd_write(argv[2], argv[3]);
	return usage();
}
