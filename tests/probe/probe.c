/* probe: runs inside a container and reports what it sees as one JSON object on stdout.
 *
 * Linked -static so it works in any rootfs.  It writes its JSON by hand: no library may
 * be assumed inside the container.  Anything it cannot read is reported as null; the
 * probe itself must never be the reason a test fails.
 *
 *   probe [report]            everything the process sees (see report())
 *   probe exit N              exit with status N
 *   probe sleep SECONDS       sleep (fractions allowed; "inf" sleeps forever)
 *   probe signal-self SIG     kill itself with SIG (name or number)
 *   probe stat PATH           lstat() PATH
 *   probe ls PATH             list a directory
 *   probe read PATH           read up to 4 KiB of PATH
 *   probe write PATH TEXT     write TEXT to PATH (created 0644, truncated)
 *   probe mkdir PATH          mkdir PATH 0755
 *   probe syscall NAME [PATH] call one raw syscall: getcwd getpid uname mkdir mkdirat chmod
 *                             fchmodat
 *   probe fork N              fork N children, report how many succeeded, reap them
 *   probe alloc MB            allocate and touch MB mebibytes
 *   probe wait-signal         print "ready", wait for HUP/INT/USR1/USR2/TERM, report it
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* getresuid, pipe2, utsname.domainname */
#endif
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/fsuid.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <sys/wait.h>

extern char **environ;

#define USAGE_EXIT 2
#define READ_LIMIT 4096

/* ------------------------------------------------------------------ JSON writer */

/* Nesting state: whether the next value at each depth needs a leading comma. */
static struct {
	int depth;
	bool need_comma[64];
	bool after_key;
} jw;

static void jw_separate(void)
{
	if (jw.after_key) {
		jw.after_key = false;
		return;
	}
	if (jw.need_comma[jw.depth])
		putchar(',');
	jw.need_comma[jw.depth] = true;
}

static void jw_open(char c)
{
	jw_separate();
	putchar(c);
	jw.depth++;
	jw.need_comma[jw.depth] = false;
}

static void jw_close(char c)
{
	jw.depth--;
	putchar(c);
}

/* Length of a valid UTF-8 sequence starting at s (at most n bytes), or 0 if invalid. */
static size_t utf8_sequence_length(const unsigned char *s, size_t n)
{
	size_t len, i;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0 && s[0] >= 0xc2)
		len = 2;
	else if ((s[0] & 0xf0) == 0xe0)
		len = 3;
	else if ((s[0] & 0xf8) == 0xf0 && s[0] <= 0xf4)
		len = 4;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return len;
}

/* Arbitrary bytes (file contents, paths) must still give valid JSON text: control
 * characters are escaped, and bytes that are not valid UTF-8 become \u00XX. */
static void jw_raw_string(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, len;

	putchar('"');
	while (i < n) {
		unsigned char c = s[i];

		if (c == '"' || c == '\\') {
			putchar('\\');
			putchar(c);
		} else if (c == '\n') {
			fputs("\\n", stdout);
		} else if (c == '\t') {
			fputs("\\t", stdout);
		} else if (c == '\r') {
			fputs("\\r", stdout);
		} else if (c < 0x20 || c == 0x7f) {
			printf("\\u%04x", c);
		} else if (c >= 0x80) {
			len = utf8_sequence_length(s + i, n - i);
			if (len == 0) {
				printf("\\u%04x", c);
			} else {
				fwrite(s + i, 1, len, stdout);
				i += len;
				continue;
			}
		} else {
			putchar(c);
		}
		i++;
	}
	putchar('"');
}

static void jw_key(const char *key)
{
	jw_separate();
	jw_raw_string(key, strlen(key));
	putchar(':');
	jw.after_key = true;
}

static void jw_null(void)
{
	jw_separate();
	fputs("null", stdout);
}

static void jw_str(const char *s)
{
	if (!s) {
		jw_null();
		return;
	}
	jw_separate();
	jw_raw_string(s, strlen(s));
}

static void jw_strn(const char *s, size_t n)
{
	jw_separate();
	jw_raw_string(s, n);
}

static void jw_int(long long v)
{
	jw_separate();
	printf("%lld", v);
}

static void jw_bool(bool v)
{
	jw_separate();
	fputs(v ? "true" : "false", stdout);
}

static void kv_str(const char *k, const char *v)
{
	jw_key(k);
	jw_str(v);
}

static void kv_int(const char *k, long long v)
{
	jw_key(k);
	jw_int(v);
}

static void kv_bool(const char *k, bool v)
{
	jw_key(k);
	jw_bool(v);
}

static void kv_null(const char *k)
{
	jw_key(k);
	jw_null();
}

/* Ends the one JSON document of this run. */
static void jw_finish(void)
{
	putchar('\n');
	fflush(stdout);
}

/* ------------------------------------------------------------------ errno names */

#define E(x)                                                                                       \
	{                                                                                          \
		x, #x                                                                              \
	}
static const struct {
	int num;
	const char *name;
} errno_names[] = {
    E(EPERM),	   E(ENOENT),	   E(ESRCH),	    E(EINTR),	  E(EIO),	   E(ENXIO),
    E(E2BIG),	   E(ENOEXEC),	   E(EBADF),	    E(ECHILD),	  E(EAGAIN),	   E(ENOMEM),
    E(EACCES),	   E(EFAULT),	   E(EBUSY),	    E(EEXIST),	  E(EXDEV),	   E(ENODEV),
    E(ENOTDIR),	   E(EISDIR),	   E(EINVAL),	    E(ENFILE),	  E(EMFILE),	   E(ENOTTY),
    E(ETXTBSY),	   E(EFBIG),	   E(ENOSPC),	    E(ESPIPE),	  E(EROFS),	   E(EMLINK),
    E(EPIPE),	   E(EDOM),	   E(ERANGE),	    E(EDEADLK),	  E(ENAMETOOLONG), E(ENOLCK),
    E(ENOSYS),	   E(ENOTEMPTY),   E(ELOOP),	    E(ENODATA),	  E(EOVERFLOW),	   E(EOPNOTSUPP),
    E(EADDRINUSE), E(ENETUNREACH), E(ECONNREFUSED), E(ETIMEDOUT), E(EDQUOT),	   E(ECANCELED),
    E(EOWNERDEAD),
};
#undef E

static const char *errno_name(int e)
{
	size_t i;

	for (i = 0; i < sizeof(errno_names) / sizeof(errno_names[0]); i++)
		if (errno_names[i].num == e)
			return errno_names[i].name;
	return "EUNKNOWN";
}

/* The usual failure report of the single-operation modes. */
static void kv_errno(int e)
{
	kv_int("errno", e);
	kv_str("errno_name", errno_name(e));
	kv_str("error", strerror(e));
}

/* ------------------------------------------------------------------ small readers */

/* Reads a whole file into a malloc'ed NUL-terminated buffer.  Returns NULL with errno
 * set on failure.  /proc files report size 0, so grow until read() returns 0. */
static char *read_whole(const char *path, size_t *len_out)
{
	size_t cap = 4096, len = 0;
	char *buf, *tmp;
	ssize_t r;
	int fd, saved;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	buf = malloc(cap);
	if (!buf)
		goto fail;
	for (;;) {
		if (cap - len < 2) {
			tmp = realloc(buf, cap * 2);
			if (!tmp)
				goto fail;
			buf = tmp;
			cap *= 2;
		}
		r = read(fd, buf + len, cap - len - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			goto fail;
		if (r == 0)
			break;
		len += r;
	}
	close(fd);
	buf[len] = '\0';
	if (len_out)
		*len_out = len;
	return buf;
fail:
	saved = errno;
	free(buf);
	close(fd);
	errno = saved;
	return NULL;
}

/* The value of "Name:\tvalue" in /proc/self/status, or NULL. */
static char *status_field(const char *status, const char *name, char *out, size_t outlen)
{
	size_t namelen = strlen(name);
	const char *line = status, *val, *end;

	while (line && *line) {
		if (strncmp(line, name, namelen) == 0 && line[namelen] == ':') {
			val = line + namelen + 1;
			while (*val == ' ' || *val == '\t')
				val++;
			end = strchr(val, '\n');
			if (!end)
				end = val + strlen(val);
			if ((size_t)(end - val) >= outlen)
				return NULL;
			memcpy(out, val, end - val);
			out[end - val] = '\0';
			return out;
		}
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return NULL;
}

static void kv_status_str(const char *status, const char *key, const char *field)
{
	char buf[256];

	kv_str(key, status ? status_field(status, field, buf, sizeof(buf)) : NULL);
}

static void kv_status_int(const char *status, const char *key, const char *field)
{
	char buf[64];

	if (status && status_field(status, field, buf, sizeof(buf)))
		kv_int(key, strtoll(buf, NULL, 10));
	else
		kv_null(key);
}

static void kv_file_str(const char *key, const char *path)
{
	char *content = read_whole(path, NULL);

	kv_str(key, content);
	free(content);
}

static void kv_file_int(const char *key, const char *path)
{
	char *content = read_whole(path, NULL);

	if (content)
		kv_int(key, strtoll(content, NULL, 10));
	else
		kv_null(key);
	free(content);
}

/* Emits the lines of a file as a JSON array, null if it cannot be read. */
static void kv_file_lines(const char *key, const char *path)
{
	char *content = read_whole(path, NULL), *line, *save = NULL;

	jw_key(key);
	if (!content) {
		jw_null();
		return;
	}
	jw_open('[');
	for (line = strtok_r(content, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		jw_str(line);
	jw_close(']');
	free(content);
}

static void kv_readlink(const char *key, const char *path)
{
	char target[PATH_MAX];
	ssize_t n = readlink(path, target, sizeof(target) - 1);

	if (n < 0) {
		kv_null(key);
		return;
	}
	jw_key(key);
	jw_strn(target, n);
}

/* ------------------------------------------------------------------ report pieces */

/* Must run before anything else opens a file, so that only inherited fds are listed. */
static void report_fds(void)
{
	char path[sizeof("/proc/self/fd/") + sizeof(((struct dirent *)0)->d_name)];
	char target[PATH_MAX];
	struct dirent *de;
	ssize_t n;
	DIR *dir;

	jw_key("fds");
	dir = opendir("/proc/self/fd");
	if (!dir) {
		jw_null();
		return;
	}
	jw_open('{');
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.' || atoi(de->d_name) == dirfd(dir))
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%s", de->d_name);
		n = readlink(path, target, sizeof(target) - 1);
		jw_key(de->d_name);
		if (n < 0)
			jw_null();
		else
			jw_strn(target, n);
	}
	jw_close('}');
	closedir(dir);
}

static void report_ids(void)
{
	uid_t ruid, euid, suid;
	gid_t rgid, egid, sgid;
	gid_t groups[NGROUPS_MAX];
	int i, n;

	getresuid(&ruid, &euid, &suid);
	getresgid(&rgid, &egid, &sgid);
	kv_int("uid", ruid);
	kv_int("euid", euid);
	kv_int("suid", suid);
	/* setfsuid(-1) fails and returns the current value without changing anything. */
	kv_int("fsuid", setfsuid(-1));
	kv_int("gid", rgid);
	kv_int("egid", egid);
	kv_int("sgid", sgid);
	kv_int("fsgid", setfsgid(-1));
	jw_key("groups");
	n = getgroups(NGROUPS_MAX, groups);
	if (n < 0) {
		jw_null();
		return;
	}
	jw_open('[');
	for (i = 0; i < n; i++)
		jw_int(groups[i]);
	jw_close(']');
}

static void report_status(const char *status)
{
	kv_status_str(status, "umask", "Umask");
	kv_status_str(status, "cap_inh", "CapInh");
	kv_status_str(status, "cap_prm", "CapPrm");
	kv_status_str(status, "cap_eff", "CapEff");
	kv_status_str(status, "cap_bnd", "CapBnd");
	kv_status_str(status, "cap_amb", "CapAmb");
	kv_int("no_new_privs", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
	kv_status_int(status, "seccomp", "Seccomp");
	kv_status_int(status, "seccomp_filters", "Seccomp_filters");
	kv_status_str(status, "cpus_allowed", "Cpus_allowed_list");
	kv_status_str(status, "mems_allowed", "Mems_allowed_list");
}

static const struct {
	int resource;
	const char *name;
} rlimit_names[] = {
    {RLIMIT_AS, "RLIMIT_AS"},
    {RLIMIT_CORE, "RLIMIT_CORE"},
    {RLIMIT_CPU, "RLIMIT_CPU"},
    {RLIMIT_DATA, "RLIMIT_DATA"},
    {RLIMIT_FSIZE, "RLIMIT_FSIZE"},
    {RLIMIT_LOCKS, "RLIMIT_LOCKS"},
    {RLIMIT_MEMLOCK, "RLIMIT_MEMLOCK"},
    {RLIMIT_MSGQUEUE, "RLIMIT_MSGQUEUE"},
    {RLIMIT_NICE, "RLIMIT_NICE"},
    {RLIMIT_NOFILE, "RLIMIT_NOFILE"},
    {RLIMIT_NPROC, "RLIMIT_NPROC"},
    {RLIMIT_RSS, "RLIMIT_RSS"},
    {RLIMIT_RTPRIO, "RLIMIT_RTPRIO"},
    {RLIMIT_RTTIME, "RLIMIT_RTTIME"},
    {RLIMIT_SIGPENDING, "RLIMIT_SIGPENDING"},
    {RLIMIT_STACK, "RLIMIT_STACK"},
};

static long long rlim_value(rlim_t v)
{
	return v == RLIM_INFINITY ? -1 : (long long)v;
}

static void report_rlimits(void)
{
	struct rlimit rl;
	size_t i;

	jw_key("rlimits");
	jw_open('{');
	for (i = 0; i < sizeof(rlimit_names) / sizeof(rlimit_names[0]); i++) {
		jw_key(rlimit_names[i].name);
		if (getrlimit(rlimit_names[i].resource, &rl) < 0) {
			jw_null();
			continue;
		}
		jw_open('{');
		kv_int("soft", rlim_value(rl.rlim_cur));
		kv_int("hard", rlim_value(rl.rlim_max));
		jw_close('}');
	}
	jw_close('}');
}

static void report_uname(void)
{
	struct utsname u;

	if (uname(&u) < 0) {
		kv_null("hostname");
		kv_null("domainname");
		return;
	}
	kv_str("hostname", u.nodename);
	kv_str("domainname", u.domainname);
}

static void report_strings(const char *key, char **list)
{
	jw_key(key);
	jw_open('[');
	for (; list && *list; list++)
		jw_str(*list);
	jw_close(']');
}

/* mountinfo escapes space, tab, newline and backslash as \ooo; undo it in place. */
static char *unescape_octal(char *s)
{
	char *r = s, *w = s;

	while (*r) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
		    r[3] >= '0' && r[3] <= '7') {
			*w++ = (char)(((r[1] - '0') << 6) | ((r[2] - '0') << 3) | (r[3] - '0'));
			r += 4;
		} else {
			*w++ = *r++;
		}
	}
	*w = '\0';
	return s;
}

/* One mountinfo line: ID PARENT MAJ:MIN ROOT POINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER */
static void report_mount_line(char *line)
{
	char *fields[64], *save = NULL, *tok;
	int n = 0, dash = -1, i;

	for (tok = strtok_r(line, " ", &save); tok && n < 64; tok = strtok_r(NULL, " ", &save)) {
		if (dash < 0 && n >= 6 && strcmp(tok, "-") == 0)
			dash = n;
		fields[n++] = tok;
	}
	if (dash < 0 || n < dash + 3)
		return;
	jw_open('{');
	kv_int("id", atoll(fields[0]));
	kv_int("parent", atoll(fields[1]));
	kv_str("major_minor", fields[2]);
	kv_str("root", unescape_octal(fields[3]));
	kv_str("mount_point", unescape_octal(fields[4]));
	kv_str("options", fields[5]);
	jw_key("optional");
	jw_open('[');
	for (i = 6; i < dash; i++)
		jw_str(fields[i]);
	jw_close(']');
	kv_str("fstype", fields[dash + 1]);
	kv_str("source", unescape_octal(fields[dash + 2]));
	kv_str("super_options", n > dash + 3 ? fields[dash + 3] : "");
	jw_close('}');
}

static void report_mounts(void)
{
	char *content = read_whole("/proc/self/mountinfo", NULL), *line, *save = NULL;

	jw_key("mounts");
	if (!content) {
		jw_null();
		return;
	}
	jw_open('[');
	for (line = strtok_r(content, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		report_mount_line(line);
	jw_close(']');
	free(content);
}

static void report_namespaces(void)
{
	static const char *const names[] = {
	    "cgroup", "ipc", "mnt", "net", "pid", "pid_for_children", "time", "time_for_children",
	    "user",   "uts"};
	char path[64];
	size_t i;

	jw_key("namespaces");
	jw_open('{');
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "/proc/self/ns/%s", names[i]);
		kv_readlink(names[i], path);
	}
	jw_close('}');
}

static void report_scheduling(void)
{
	struct sched_param sp;
	int prio, ioprio;

	kv_int("personality", personality(0xffffffff));
	kv_int("sched_policy", sched_getscheduler(0));
	if (sched_getparam(0, &sp) == 0)
		kv_int("sched_priority", sp.sched_priority);
	else
		kv_null("sched_priority");
	/* getpriority() may legitimately return -1, so errno is the only failure signal. */
	errno = 0;
	prio = getpriority(PRIO_PROCESS, 0);
	if (errno)
		kv_null("nice");
	else
		kv_int("nice", prio);
	/* IOPRIO_WHO_PROCESS = 1; the value packs class << 13 | level. */
	ioprio = (int)syscall(SYS_ioprio_get, 1, 0);
	if (ioprio < 0) {
		kv_null("ioprio");
		kv_null("ioprio_class");
		kv_null("ioprio_level");
	} else {
		kv_int("ioprio", ioprio);
		kv_int("ioprio_class", ioprio >> 13);
		kv_int("ioprio_level", ioprio & 0x1fff);
	}
}

static void report_terminal(void)
{
	static const char *const names[] = {"stdin", "stdout", "stderr"};
	const char *tty = NULL;
	int fd;

	jw_key("terminal");
	jw_open('{');
	for (fd = 0; fd < 3; fd++) {
		bool is = isatty(fd);

		kv_bool(names[fd], is);
		if (is && !tty)
			tty = ttyname(fd);
	}
	kv_str("ttyname", tty);
	jw_close('}');
}

static int report(char **argv)
{
	char *status;
	char cwd[PATH_MAX];

	jw_open('{');
	report_fds();
	status = read_whole("/proc/self/status", NULL);
	kv_int("pid", getpid());
	kv_int("ppid", getppid());
	kv_int("pgid", getpgid(0));
	kv_int("sid", getsid(0));
	report_ids();
	report_status(status);
	free(status);
	report_rlimits();
	report_uname();
	kv_str("cwd", getcwd(cwd, sizeof(cwd)));
	report_strings("env", environ);
	report_strings("args", argv);
	kv_file_lines("cgroup", "/proc/self/cgroup");
	report_mounts();
	report_namespaces();
	kv_file_int("oom_score_adj", "/proc/self/oom_score_adj");
	report_scheduling();
	report_terminal();
	kv_file_str("uid_map", "/proc/self/uid_map");
	kv_file_str("gid_map", "/proc/self/gid_map");
	kv_file_str("setgroups", "/proc/self/setgroups");
	kv_file_str("attr_current", "/proc/self/attr/current");
	jw_close('}');
	jw_finish();
	return 0;
}

/* ------------------------------------------------------------------ argument helpers */

static void die_usage(const char *fmt, ...)
{
	va_list ap;

	fputs("probe: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(USAGE_EXIT);
}

static long parse_long(const char *s, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end)
		die_usage("%s: not a number: \"%s\"", what, s);
	return v;
}

static const struct {
	int num;
	const char *name;
} signal_names[] = {
    {SIGHUP, "HUP"},	   {SIGINT, "INT"},   {SIGQUIT, "QUIT"},   {SIGILL, "ILL"},
    {SIGTRAP, "TRAP"},	   {SIGABRT, "ABRT"}, {SIGBUS, "BUS"},	   {SIGFPE, "FPE"},
    {SIGKILL, "KILL"},	   {SIGUSR1, "USR1"}, {SIGSEGV, "SEGV"},   {SIGUSR2, "USR2"},
    {SIGPIPE, "PIPE"},	   {SIGALRM, "ALRM"}, {SIGTERM, "TERM"},   {SIGCHLD, "CHLD"},
    {SIGCONT, "CONT"},	   {SIGSTOP, "STOP"}, {SIGTSTP, "TSTP"},   {SIGTTIN, "TTIN"},
    {SIGTTOU, "TTOU"},	   {SIGURG, "URG"},   {SIGXCPU, "XCPU"},   {SIGXFSZ, "XFSZ"},
    {SIGVTALRM, "VTALRM"}, {SIGPROF, "PROF"}, {SIGWINCH, "WINCH"}, {SIGSYS, "SYS"},
};

static int parse_signal(const char *s)
{
	size_t i;

	if (isdigit((unsigned char)s[0]))
		return (int)parse_long(s, "signal");
	if (strncasecmp(s, "SIG", 3) == 0)
		s += 3;
	for (i = 0; i < sizeof(signal_names) / sizeof(signal_names[0]); i++)
		if (strcasecmp(s, signal_names[i].name) == 0)
			return signal_names[i].num;
	die_usage("unknown signal \"%s\"", s);
	return -1;
}

static const char *signal_name(int sig)
{
	static char buf[32];
	size_t i;

	for (i = 0; i < sizeof(signal_names) / sizeof(signal_names[0]); i++)
		if (signal_names[i].num == sig) {
			snprintf(buf, sizeof(buf), "SIG%s", signal_names[i].name);
			return buf;
		}
	snprintf(buf, sizeof(buf), "SIG%d", sig);
	return buf;
}

/* ------------------------------------------------------------------ other modes */

static int mode_exit(const char *code)
{
	return (int)parse_long(code, "exit status");
}

static int mode_sleep(const char *arg)
{
	struct timespec ts;
	double secs;
	char *end;

	if (strcmp(arg, "inf") == 0 || strcmp(arg, "infinity") == 0) {
		for (;;)
			pause();
	}
	secs = strtod(arg, &end);
	if (end == arg || *end || secs < 0)
		die_usage("sleep: not a number of seconds: \"%s\"", arg);
	ts.tv_sec = (time_t)secs;
	ts.tv_nsec = (long)((secs - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
	return 0;
}

/* Deliberately triggers a hardware fault for sig, if one exists on this architecture. */
static void fault_with(int sig)
{
	volatile int zero = 0;

	if (sig == SIGSEGV)
		*(volatile int *)(uintptr_t)zero = 1;
	else if (sig == SIGFPE)
		zero = 1 / zero;
	else if (sig == SIGILL)
		__builtin_trap();
}

static int mode_signal_self(const char *arg)
{
	int sig = parse_signal(arg);
	sigset_t set;

	fflush(stdout);
	signal(sig, SIG_DFL);
	sigemptyset(&set);
	sigaddset(&set, sig);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	raise(sig);
	/* Still alive: the init of a pid namespace ignores signals it sends itself when
	 * their action is the default.  Faults are forced by the kernel, so use one. */
	fault_with(sig);
	jw_open('{');
	kv_int("signal", sig);
	kv_bool("survived", true);
	kv_int("pid", getpid());
	jw_close('}');
	jw_finish();
	return 1;
}

static const char *file_type(mode_t m)
{
	switch (m & S_IFMT) {
	case S_IFREG:
		return "file";
	case S_IFDIR:
		return "dir";
	case S_IFLNK:
		return "symlink";
	case S_IFCHR:
		return "char";
	case S_IFBLK:
		return "block";
	case S_IFIFO:
		return "fifo";
	case S_IFSOCK:
		return "socket";
	}
	return "unknown";
}

static int mode_stat(const char *path)
{
	char mode[8];
	struct stat st;

	jw_open('{');
	kv_str("path", path);
	if (lstat(path, &st) < 0) {
		kv_bool("exists", false);
		kv_errno(errno);
	} else {
		kv_bool("exists", true);
		kv_str("type", file_type(st.st_mode));
		kv_int("mode", st.st_mode & 07777);
		snprintf(mode, sizeof(mode), "%04o", st.st_mode & 07777);
		kv_str("mode_octal", mode);
		kv_int("uid", st.st_uid);
		kv_int("gid", st.st_gid);
		kv_int("rdev_major", major(st.st_rdev));
		kv_int("rdev_minor", minor(st.st_rdev));
		kv_int("size", st.st_size);
		kv_int("nlink", st.st_nlink);
		if (S_ISLNK(st.st_mode))
			kv_readlink("target", path);
	}
	jw_close('}');
	jw_finish();
	return 0;
}

static int mode_ls(const char *path)
{
	struct dirent *de;
	DIR *dir;

	jw_open('{');
	kv_str("path", path);
	dir = opendir(path);
	if (!dir) {
		kv_bool("ok", false);
		kv_errno(errno);
	} else {
		kv_bool("ok", true);
		jw_key("entries");
		jw_open('[');
		while ((de = readdir(dir)))
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
				jw_str(de->d_name);
		jw_close(']');
		closedir(dir);
	}
	jw_close('}');
	jw_finish();
	return 0;
}

static int mode_read(const char *path)
{
	char buf[READ_LIMIT + 1];
	size_t len = 0;
	ssize_t r = 0;
	int fd, e = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		e = errno;
	} else {
		while (len < sizeof(buf)) {
			r = read(fd, buf + len, sizeof(buf) - len);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				break;
			len += r;
		}
		if (r < 0)
			e = errno;
		close(fd);
	}
	jw_open('{');
	kv_str("path", path);
	kv_bool("ok", e == 0);
	if (e) {
		kv_errno(e);
	} else {
		jw_key("content");
		jw_strn(buf, len > READ_LIMIT ? READ_LIMIT : len);
		kv_bool("truncated", len > READ_LIMIT);
	}
	jw_close('}');
	jw_finish();
	return 0;
}

static int write_all(int fd, const char *s, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = write(fd, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		s += w;
		n -= w;
	}
	return 0;
}

static int mode_write(const char *path, const char *text)
{
	int fd, e = 0;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		e = errno;
	} else {
		if (write_all(fd, text, strlen(text)) < 0)
			e = errno;
		/* Some filesystems (cgroup, proc) only report errors at close. */
		if (close(fd) < 0 && !e)
			e = errno;
	}
	jw_open('{');
	kv_str("path", path);
	kv_bool("ok", e == 0);
	if (e)
		kv_errno(e);
	jw_close('}');
	jw_finish();
	return 0;
}

static int mode_mkdir(const char *path)
{
	int e = mkdir(path, 0755) < 0 ? errno : 0;

	jw_open('{');
	kv_str("path", path);
	kv_bool("ok", e == 0);
	if (e)
		kv_errno(e);
	jw_close('}');
	jw_finish();
	return 0;
}

/* Raw syscalls, not libc wrappers: glibc implements mkdir() with mkdirat and chmod()
 * with fchmodat, and a seccomp rule names the syscall the kernel actually sees. */
static long call_syscall(const char *name, const char *path, bool *known)
{
	char buf[PATH_MAX];
	struct utsname u;
	struct stat st;
	long ret;

	*known = true;
	if (strcmp(name, "getcwd") == 0)
		return syscall(SYS_getcwd, buf, sizeof(buf));
	if (strcmp(name, "getpid") == 0)
		return syscall(SYS_getpid);
	if (strcmp(name, "uname") == 0)
		return syscall(SYS_uname, &u);
	if (strcmp(name, "mkdir") == 0 || strcmp(name, "mkdirat") == 0) {
		path = path ? path : "/tmp/.probe-syscall-mkdir";
#ifdef SYS_mkdir
		if (strcmp(name, "mkdir") == 0)
			ret = syscall(SYS_mkdir, path, 0755);
		else
#endif
			ret = syscall(SYS_mkdirat, AT_FDCWD, path, 0755);
		/* Leave nothing behind: the call, not the directory, is what is tested. */
		if (ret == 0)
			rmdir(path);
		return ret;
	}
	if (strcmp(name, "chmod") == 0 || strcmp(name, "fchmodat") == 0) {
		/* Re-apply the current mode so that a successful call changes nothing. */
		path = path ? path : "/";
		if (stat(path, &st) < 0)
			return -1;
#ifdef SYS_chmod
		if (strcmp(name, "chmod") == 0)
			return syscall(SYS_chmod, path, st.st_mode & 07777);
#endif
		return syscall(SYS_fchmodat, AT_FDCWD, path, st.st_mode & 07777);
	}
	*known = false;
	errno = ENOSYS;
	return -1;
}

static int mode_syscall(const char *name, const char *path)
{
	bool known;
	long ret;
	int e;

	errno = 0;
	ret = call_syscall(name, path, &known);
	e = ret < 0 ? errno : 0;
	if (!known)
		die_usage("syscall: unsupported name \"%s\"", name);
	jw_open('{');
	kv_str("syscall", name);
	kv_bool("ok", ret >= 0);
	kv_int("ret", ret);
	kv_int("errno", e);
	kv_str("errno_name", e ? errno_name(e) : NULL);
	jw_close('}');
	jw_finish();
	return 0;
}

/* Children block on a pipe and exit when the parent closes it, so they stay alive
 * (counting against a pids limit) until every fork has been attempted. */
static int mode_fork(const char *arg)
{
	long n = parse_long(arg, "fork count"), i, forked = 0;
	int pipefd[2], first_errno = 0;
	char c;
	pid_t pid;

	if (pipe2(pipefd, O_CLOEXEC) < 0)
		die_usage("fork: pipe: %s", strerror(errno));
	fflush(stdout);
	for (i = 0; i < n; i++) {
		pid = fork();
		if (pid == 0) {
			close(pipefd[1]);
			while (read(pipefd[0], &c, 1) < 0 && errno == EINTR)
				;
			_exit(0);
		}
		if (pid < 0) {
			first_errno = errno;
			break;
		}
		forked++;
	}
	close(pipefd[1]);
	close(pipefd[0]);
	while (wait(NULL) > 0 || errno == EINTR)
		;
	jw_open('{');
	kv_int("requested", n);
	kv_int("forked", forked);
	kv_int("errno", first_errno);
	kv_str("errno_name", first_errno ? errno_name(first_errno) : NULL);
	jw_close('}');
	jw_finish();
	return 0;
}

static int mode_alloc(const char *arg)
{
	long mb = parse_long(arg, "mebibytes");
	size_t size = (size_t)mb << 20, off;
	long page = sysconf(_SC_PAGESIZE);
	char *mem;

	if (mb < 0)
		die_usage("alloc: negative size");
	mem =
	    mmap(NULL, size ? size : 1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	jw_open('{');
	kv_int("requested_mb", mb);
	if (mem == MAP_FAILED) {
		kv_bool("ok", false);
		kv_errno(errno);
	} else {
		/* Writing every page is what makes the memory count against a limit. */
		for (off = 0; off < size; off += page)
			mem[off] = 1;
		kv_bool("ok", true);
		munmap(mem, size ? size : 1);
	}
	jw_close('}');
	jw_finish();
	return 0;
}

static int mode_wait_signal(void)
{
	static const int sigs[] = {SIGHUP, SIGINT, SIGUSR1, SIGUSR2, SIGTERM};
	siginfo_t info;
	sigset_t set;
	size_t i;

	/* Blocked and collected with sigwaitinfo: no handler, so no race with "ready". */
	sigemptyset(&set);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaddset(&set, sigs[i]);
	sigprocmask(SIG_BLOCK, &set, NULL);
	fputs("ready\n", stdout);
	fflush(stdout);
	while (sigwaitinfo(&set, &info) < 0)
		if (errno != EINTR)
			die_usage("sigwaitinfo: %s", strerror(errno));
	jw_open('{');
	kv_str("signal", signal_name(info.si_signo));
	kv_int("signo", info.si_signo);
	kv_int("sender_pid", info.si_pid);
	jw_close('}');
	jw_finish();
	return 0;
}

/* Adapters from the command line to the modes; argv[2] is the first operand. */
static int run_report(char **argv)
{
	return report(argv);
}
static int run_exit(char **argv)
{
	return mode_exit(argv[2]);
}
static int run_sleep(char **argv)
{
	return mode_sleep(argv[2]);
}
static int run_signal_self(char **argv)
{
	return mode_signal_self(argv[2]);
}
static int run_stat(char **argv)
{
	return mode_stat(argv[2]);
}
static int run_ls(char **argv)
{
	return mode_ls(argv[2]);
}
static int run_read(char **argv)
{
	return mode_read(argv[2]);
}
static int run_write(char **argv)
{
	return mode_write(argv[2], argv[3]);
}
static int run_mkdir(char **argv)
{
	return mode_mkdir(argv[2]);
}
static int run_syscall(char **argv)
{
	return mode_syscall(argv[2], argv[3]);
}
static int run_fork(char **argv)
{
	return mode_fork(argv[2]);
}
static int run_alloc(char **argv)
{
	return mode_alloc(argv[2]);
}
static int run_wait_signal(char **argv)
{
	return mode_wait_signal();
}

static const struct {
	const char *name;
	int operands;
	const char *usage;
	int (*run)(char **argv);
} modes[] = {
    {"report", 0, "report", run_report},
    {"exit", 1, "exit N", run_exit},
    {"sleep", 1, "sleep SECONDS", run_sleep},
    {"signal-self", 1, "signal-self SIGNAL", run_signal_self},
    {"stat", 1, "stat PATH", run_stat},
    {"ls", 1, "ls PATH", run_ls},
    {"read", 1, "read PATH", run_read},
    {"write", 2, "write PATH TEXT", run_write},
    {"mkdir", 1, "mkdir PATH", run_mkdir},
    {"syscall", 1, "syscall NAME [PATH]", run_syscall},
    {"fork", 1, "fork N", run_fork},
    {"alloc", 1, "alloc MB", run_alloc},
    {"wait-signal", 0, "wait-signal", run_wait_signal},
};

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "report";
	size_t i;

	/* One JSON document per run: buffer it and flush once. */
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		if (strcmp(mode, modes[i].name) != 0)
			continue;
		if (argc > 1 && argc - 2 < modes[i].operands)
			die_usage("usage: probe %s", modes[i].usage);
		return modes[i].run(argv);
	}
	die_usage("unknown mode \"%s\"", mode);
	return USAGE_EXIT;
}
