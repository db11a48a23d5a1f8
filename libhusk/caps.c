/* husk: capability names and the five capability sets of the container process. */
#include "config.h"
#include "caps.h"
#include "container.h"
#include "process.h"
#include "utils.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/capability.h>
#include <sys/prctl.h>

#define CAP_NAME(c) [c] = #c

/* Indexed by capability number; the numbers are kernel ABI and never change. */
static const char *const cap_names[] = {
    CAP_NAME(CAP_CHOWN),
    CAP_NAME(CAP_DAC_OVERRIDE),
    CAP_NAME(CAP_DAC_READ_SEARCH),
    CAP_NAME(CAP_FOWNER),
    CAP_NAME(CAP_FSETID),
    CAP_NAME(CAP_KILL),
    CAP_NAME(CAP_SETGID),
    CAP_NAME(CAP_SETUID),
    CAP_NAME(CAP_SETPCAP),
    CAP_NAME(CAP_LINUX_IMMUTABLE),
    CAP_NAME(CAP_NET_BIND_SERVICE),
    CAP_NAME(CAP_NET_BROADCAST),
    CAP_NAME(CAP_NET_ADMIN),
    CAP_NAME(CAP_NET_RAW),
    CAP_NAME(CAP_IPC_LOCK),
    CAP_NAME(CAP_IPC_OWNER),
    CAP_NAME(CAP_SYS_MODULE),
    CAP_NAME(CAP_SYS_RAWIO),
    CAP_NAME(CAP_SYS_CHROOT),
    CAP_NAME(CAP_SYS_PTRACE),
    CAP_NAME(CAP_SYS_PACCT),
    CAP_NAME(CAP_SYS_ADMIN),
    CAP_NAME(CAP_SYS_BOOT),
    CAP_NAME(CAP_SYS_NICE),
    CAP_NAME(CAP_SYS_RESOURCE),
    CAP_NAME(CAP_SYS_TIME),
    CAP_NAME(CAP_SYS_TTY_CONFIG),
    CAP_NAME(CAP_MKNOD),
    CAP_NAME(CAP_LEASE),
    CAP_NAME(CAP_AUDIT_WRITE),
    CAP_NAME(CAP_AUDIT_CONTROL),
    CAP_NAME(CAP_SETFCAP),
    CAP_NAME(CAP_MAC_OVERRIDE),
    CAP_NAME(CAP_MAC_ADMIN),
    CAP_NAME(CAP_SYSLOG),
    CAP_NAME(CAP_WAKE_ALARM),
    CAP_NAME(CAP_BLOCK_SUSPEND),
    CAP_NAME(CAP_AUDIT_READ),
    [38] = "CAP_PERFMON",
    [39] = "CAP_BPF",
    [40] = "CAP_CHECKPOINT_RESTORE",
};

#define N_CAP_NAMES ((int)(sizeof cap_names / sizeof cap_names[0]))

int husk_config_error(husk_error_t *err, const char *fmt, ...)
{
	va_list ap;
	cleanup_free char *msg = NULL;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	husk_error_set(err, 0, "%s", msg ? msg : "invalid configuration");
	if (err != NULL)
		err->errnum = EINVAL;
	return -1;
}

int husk_cap_from_name(const char *name)
{
	if (name == NULL)
		return -1;
	/* Case-insensitive like libcap's cap_from_name, so "cap_chown" works as crun accepts it. */
	for (int i = 0; i < N_CAP_NAMES; i++)
		if (cap_names[i] != NULL && strcasecmp(cap_names[i], name) == 0)
			return i;
	return -1;
}

int husk_cap_last_cap(void)
{
	/* PR_CAPBSET_READ answers EINVAL past the kernel's last capability. Asking the kernel
	 * directly works after pivot_root too, when /proc/sys may not be mounted. The answer
	 * is the kernel's, the same for every process: asked once (a create asks five times). */
	static int last = -1;

	if (last >= 0)
		return last;
	int probe = 0;
	while (probe < 63 && prctl(PR_CAPBSET_READ, probe + 1, 0, 0, 0) >= 0)
		probe++;
	last = probe;
	return last;
}

static const char *known_names[N_CAP_NAMES + 1];
static pthread_once_t known_names_once = PTHREAD_ONCE_INIT;

static void fill_known_names(void)
{
	int last = husk_cap_last_cap();
	int libcap_last = (int)cap_max_bits() - 1;
	int n = 0;

	for (int i = 0; i < N_CAP_NAMES && i <= last && i <= libcap_last; i++)
		if (cap_names[i] != NULL)
			known_names[n++] = cap_names[i];
	known_names[n] = NULL;
}

const char *const *husk_cap_known_names(void)
{
	pthread_once(&known_names_once, fill_known_names);
	return known_names;
}

/* config.md: a capability that maps to nothing the kernel knows MUST be logged as a warning,
 * and the runtime SHOULD NOT fail: it is left out of the set. */
static int names_to_mask(char *const *names, size_t len, const char *set, int last_cap,
			 bool warn, uint64_t *mask)
{
	*mask = 0;
	for (size_t i = 0; i < len; i++) {
		int cap = husk_cap_from_name(names[i]);
		if (cap < 0 || cap > last_cap) {
			if (warn)
				husk_warn("process.capabilities.%s[%zu]: %s capability \"%s\" ignored",
					  set, i, cap < 0 ? "unknown" : "unsupported",
					  names[i] ? names[i] : "");
			continue;
		}
		*mask |= UINT64_C(1) << cap;
	}
	return 0;
}

int husk_caps_to_sets(const husk_capabilities_t *caps, husk_cap_sets_t *out, bool warn)
{
	int last = husk_cap_last_cap();
	struct {
		char *const *names;
		size_t len;
		const char *set;
		uint64_t *mask;
	} lists[5];

	memset(out, 0, sizeof *out);
	if (caps == NULL)
		return 0;
	lists[0] =
	    (typeof(lists[0])){caps->bounding, caps->bounding_len, "bounding", &out->bounding};
	lists[1] =
	    (typeof(lists[0])){caps->effective, caps->effective_len, "effective", &out->effective};
	lists[2] = (typeof(lists[0])){caps->inheritable, caps->inheritable_len, "inheritable",
				      &out->inheritable};
	lists[3] =
	    (typeof(lists[0])){caps->permitted, caps->permitted_len, "permitted", &out->permitted};
	lists[4] = (typeof(lists[0])){caps->ambient, caps->ambient_len, "ambient", &out->ambient};
	for (size_t i = 0; i < 5; i++)
		names_to_mask(lists[i].names, lists[i].len, lists[i].set, last, warn,
			      lists[i].mask);
	return 0;
}

int husk_caps_drop_bounding(const husk_cap_sets_t *sets, husk_error_t *err)
{
	int last = husk_cap_last_cap();

	for (int cap = 0; cap <= last; cap++) {
		if (sets->bounding & (UINT64_C(1) << cap))
			continue;
		/* Already gone (e.g. dropped by whoever started us): nothing to do, and dropping
		 * would need CAP_SETPCAP we might not have. */
		if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 0)
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
			return husk_error_errno(err, "drop %s from the bounding set",
						cap < N_CAP_NAMES && cap_names[cap] ? cap_names[cap]
										    : "capability");
	}
	return 0;
}

static void free_cap(cap_t *c)
{
	if (*c != NULL)
		cap_free(*c);
}
#define cleanup_cap __attribute__((cleanup(free_cap)))

static uint64_t flag_mask(cap_t c, cap_flag_t flag, int last)
{
	uint64_t mask = 0;
	for (int cap = 0; cap <= last; cap++) {
		cap_flag_value_t v = CAP_CLEAR;
		if (cap_get_flag(c, cap, flag, &v) == 0 && v == CAP_SET)
			mask |= UINT64_C(1) << cap;
	}
	return mask;
}

static uint64_t bounding_mask(int last)
{
	uint64_t mask = 0;
	for (int cap = 0; cap <= last; cap++)
		if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1)
			mask |= UINT64_C(1) << cap;
	return mask;
}

static int set_flag_mask(cap_t c, cap_flag_t flag, uint64_t mask, int last)
{
	for (int cap = 0; cap <= last; cap++) {
		cap_value_t v = cap;
		if ((mask & (UINT64_C(1) << cap)) && cap_set_flag(c, flag, 1, &v, CAP_SET) < 0)
			return -1;
	}
	return 0;
}

static int apply_ambient(uint64_t ambient, uint64_t permitted, uint64_t inheritable, int last,
			 husk_error_t *err)
{
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0) {
		/* Kernels before 4.3 have no ambient set; fine as long as none is asked for. */
		if (errno == EINVAL && ambient == 0)
			return 0;
		return husk_error_errno(err, "clear the ambient capability set");
	}
	for (int cap = 0; cap <= last; cap++) {
		uint64_t bit = UINT64_C(1) << cap;
		if (!(ambient & bit))
			continue;
		/* The kernel only allows ambient capabilities that are permitted and inheritable;
		 * one we could not grant there cannot be ambient either. */
		if (!(permitted & bit) || !(inheritable & bit))
			continue;
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
			return husk_error_errno(err, "raise ambient capability %s", cap_names[cap]);
	}
	return 0;
}

int husk_caps_apply(const husk_cap_sets_t *sets, husk_error_t *err)
{
	int last = husk_cap_last_cap();
	cleanup_cap cap_t cur = cap_get_proc();
	cleanup_cap cap_t want = cap_init();
	uint64_t held, old_inh, eff, prm, inh;

	if (cur == NULL || want == NULL)
		return husk_error_errno(err, "read the process capabilities");
	held = flag_mask(cur, CAP_PERMITTED, last);
	old_inh = flag_mask(cur, CAP_INHERITABLE, last);

	/* Only what we hold can be granted; the kernel also keeps new inheritable capabilities
	 * within the bounding set. */
	prm = sets->permitted & held;
	eff = sets->effective & held;
	inh = sets->inheritable & (held | old_inh) & (bounding_mask(last) | old_inh);

	if (set_flag_mask(want, CAP_PERMITTED, prm, last) < 0 ||
	    set_flag_mask(want, CAP_EFFECTIVE, eff, last) < 0 ||
	    set_flag_mask(want, CAP_INHERITABLE, inh, last) < 0)
		return husk_error_errno(err, "build the capability sets");
	if (cap_set_proc(want) < 0)
		return husk_error_errno(err,
					"set capabilities (effective %#llx, permitted %#llx, "
					"inheritable %#llx)",
					(unsigned long long)eff, (unsigned long long)prm,
					(unsigned long long)inh);
	return apply_ambient(sets->ambient, prm, inh, last, err);
}
