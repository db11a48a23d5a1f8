/* husk: the OCI mount "options" strings, sorted into mount(2) and mount_setattr(2) terms. */
#include "config.h"
#include "rootfs.h"
#include "utils.h"

#include <string.h>
#include <sys/mount.h>

#ifndef MS_NOSYMFOLLOW
#define MS_NOSYMFOLLOW 256
#endif

typedef struct {
	const char *name;
	bool clear; /* the option turns the flag off */
	unsigned long flag;
} flag_option_t;

/* The mount(8) filesystem-independent options. */
static const flag_option_t flag_options[] = {
    {"defaults", false, 0},
    {"ro", false, MS_RDONLY},
    {"rw", true, MS_RDONLY},
    {"nosuid", false, MS_NOSUID},
    {"suid", true, MS_NOSUID},
    {"nodev", false, MS_NODEV},
    {"dev", true, MS_NODEV},
    {"noexec", false, MS_NOEXEC},
    {"exec", true, MS_NOEXEC},
    {"sync", false, MS_SYNCHRONOUS},
    {"async", true, MS_SYNCHRONOUS},
    {"dirsync", false, MS_DIRSYNC},
    {"remount", false, MS_REMOUNT},
    {"mand", false, MS_MANDLOCK},
    {"nomand", true, MS_MANDLOCK},
    {"atime", true, MS_NOATIME},
    {"noatime", false, MS_NOATIME},
    {"diratime", true, MS_NODIRATIME},
    {"nodiratime", false, MS_NODIRATIME},
    {"relatime", false, MS_RELATIME},
    {"norelatime", true, MS_RELATIME},
    {"strictatime", false, MS_STRICTATIME},
    {"nostrictatime", true, MS_STRICTATIME},
    {"lazytime", false, MS_LAZYTIME},
    {"nolazytime", true, MS_LAZYTIME},
    {"iversion", false, MS_I_VERSION},
    {"noiversion", true, MS_I_VERSION},
    {"silent", false, MS_SILENT},
    {"loud", true, MS_SILENT},
    {"nosymfollow", false, MS_NOSYMFOLLOW},
    {"symfollow", true, MS_NOSYMFOLLOW},
    {"bind", false, MS_BIND},
    {"rbind", false, MS_BIND | MS_REC},
};

static const struct {
	const char *name;
	unsigned long flag;
} propagation_options[] = {
    {"private", MS_PRIVATE},	   {"rprivate", MS_PRIVATE | MS_REC},
    {"shared", MS_SHARED},	   {"rshared", MS_SHARED | MS_REC},
    {"slave", MS_SLAVE},	   {"rslave", MS_SLAVE | MS_REC},
    {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
};

/*
 * Recursive forms, applied with mount_setattr(AT_RECURSIVE). The kernel takes atime as one
 * field: changing it means clearing all of MOUNT_ATTR__ATIME and setting one value.
 */
static const struct {
	const char *name;
	uint64_t set, clr;
} recursive_options[] = {
    {"rro", MOUNT_ATTR_RDONLY, 0},
    {"rrw", 0, MOUNT_ATTR_RDONLY},
    {"rnosuid", MOUNT_ATTR_NOSUID, 0},
    {"rsuid", 0, MOUNT_ATTR_NOSUID},
    {"rnodev", MOUNT_ATTR_NODEV, 0},
    {"rdev", 0, MOUNT_ATTR_NODEV},
    {"rnoexec", MOUNT_ATTR_NOEXEC, 0},
    {"rexec", 0, MOUNT_ATTR_NOEXEC},
    {"rnodiratime", MOUNT_ATTR_NODIRATIME, 0},
    {"rdiratime", 0, MOUNT_ATTR_NODIRATIME},
    {"rrelatime", MOUNT_ATTR_RELATIME, MOUNT_ATTR__ATIME},
    {"rnorelatime", MOUNT_ATTR_STRICTATIME, MOUNT_ATTR__ATIME},
    {"rnoatime", MOUNT_ATTR_NOATIME, MOUNT_ATTR__ATIME},
    {"ratime", MOUNT_ATTR_RELATIME, MOUNT_ATTR__ATIME},
    {"rstrictatime", MOUNT_ATTR_STRICTATIME, MOUNT_ATTR__ATIME},
    {"rnostrictatime", MOUNT_ATTR_RELATIME, MOUNT_ATTR__ATIME},
    {"rnosymfollow", MOUNT_ATTR_NOSYMFOLLOW, 0},
    {"rsymfollow", 0, MOUNT_ATTR_NOSYMFOLLOW},
};

#define N_ELEMENTS(a) (sizeof(a) / sizeof((a)[0]))

static bool parse_flag_option(const char *opt, husk_mount_options_t *out)
{
	for (size_t i = 0; i < N_ELEMENTS(flag_options); i++) {
		if (strcmp(opt, flag_options[i].name) != 0)
			continue;
		/* Later options win over earlier ones, as in mount(8). */
		if (flag_options[i].clear) {
			out->flags &= ~flag_options[i].flag;
			out->clear_flags |= flag_options[i].flag;
		} else {
			out->flags |= flag_options[i].flag;
			out->clear_flags &= ~flag_options[i].flag;
		}
		return true;
	}
	return false;
}

static bool parse_propagation_option(const char *opt, husk_mount_options_t *out)
{
	for (size_t i = 0; i < N_ELEMENTS(propagation_options); i++) {
		if (strcmp(opt, propagation_options[i].name) != 0)
			continue;
		if (out->propagation_len < HUSK_MAX_PROPAGATION)
			out->propagation[out->propagation_len++] = propagation_options[i].flag;
		return true;
	}
	return false;
}

static bool parse_recursive_option(const char *opt, husk_mount_options_t *out)
{
	for (size_t i = 0; i < N_ELEMENTS(recursive_options); i++) {
		if (strcmp(opt, recursive_options[i].name) != 0)
			continue;
		if (recursive_options[i].clr & MOUNT_ATTR__ATIME)
			out->rec_attr_set &= ~(uint64_t)MOUNT_ATTR__ATIME;
		out->rec_attr_set &= ~recursive_options[i].clr;
		out->rec_attr_clr &= ~recursive_options[i].set;
		out->rec_attr_set |= recursive_options[i].set;
		out->rec_attr_clr |= recursive_options[i].clr;
		return true;
	}
	return false;
}

static void append_data(husk_mount_options_t *out, const char *opt)
{
	char *joined = NULL;
	if (out->data == NULL) {
		out->data = xstrdup(opt);
		return;
	}
	if (asprintf(&joined, "%s,%s", out->data, opt) < 0)
		abort();
	free(out->data);
	out->data = joined;
}

void husk_mount_options_parse(char *const *options, size_t len, husk_mount_options_t *out)
{
	memset(out, 0, sizeof *out);
	for (size_t i = 0; i < len && options && options[i]; i++) {
		const char *opt = options[i];

		if (*opt == '\0')
			continue;
		if (parse_flag_option(opt, out) || parse_propagation_option(opt, out) ||
		    parse_recursive_option(opt, out))
			continue;
		if (strcmp(opt, "idmap") == 0 || strcmp(opt, "ridmap") == 0) {
			out->idmap = true;
			out->rec_idmap = out->rec_idmap || opt[0] == 'r';
			continue;
		}
		if (strcmp(opt, "tmpcopyup") == 0) {
			out->tmpcopyup = true;
			continue;
		}
		append_data(out, opt);
	}
}

void husk_mount_options_free(husk_mount_options_t *o)
{
	free(o->data);
	o->data = NULL;
}
