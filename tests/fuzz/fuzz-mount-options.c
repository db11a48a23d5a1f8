/*
 * Fuzz husk_mount_options_parse, which sorts a config's mounts[].options. The input is
 * split into options at newlines, commas and NULs (empty options included).
 *
 * Property: the parse is a left fold of the options, "later options win", as in mount(8).
 * The oracle parses each option alone and folds the results; it must match parsing the
 * whole list, whatever the option tables hold:
 *   - a flag is either set or asked off, never both, and the last option for it decides;
 *   - recursive attributes likewise (the atime field is a value: its clear mask is the
 *     whole MOUNT_ATTR__ATIME field, so set & clr may overlap only there);
 *   - propagation entries are kept in order, at most HUSK_MAX_PROPAGATION;
 *   - unknown options end up in data, comma-joined in order, and nothing else does.
 */
#include "config.h"

#include <sys/mount.h>

#include "fuzz.h"
#include "libhusk/rootfs.h"

#define MAX_OPTIONS 256

static size_t split_options(char *text, size_t size, char **opts)
{
	size_t n = 0;
	char *start = text;

	for (size_t i = 0; i <= size && n < MAX_OPTIONS; i++) {
		if (i == size || text[i] == '\n' || text[i] == ',' || text[i] == '\0') {
			text[i] = '\0';
			opts[n++] = start;
			start = text + i + 1;
		}
	}
	opts[n] = NULL;
	return n;
}

static void append(char **joined, const char *opt)
{
	char *next = NULL;

	if (*joined == NULL) {
		*joined = xstrdup(opt);
		return;
	}
	if (asprintf(&next, "%s,%s", *joined, opt) < 0)
		abort();
	free(*joined);
	*joined = next;
}

/* Fold one option, parsed alone, into the expected result. */
static void fold(husk_mount_options_t *want, const husk_mount_options_t *one, const char *opt)
{
	want->flags = (want->flags & ~one->clear_flags) | one->flags;
	want->clear_flags = (want->clear_flags & ~one->flags) | one->clear_flags;
	want->rec_attr_set = (want->rec_attr_set & ~one->rec_attr_clr) | one->rec_attr_set;
	want->rec_attr_clr = (want->rec_attr_clr & ~one->rec_attr_set) | one->rec_attr_clr;
	for (size_t i = 0; i < one->propagation_len; i++)
		if (want->propagation_len < HUSK_MAX_PROPAGATION)
			want->propagation[want->propagation_len++] = one->propagation[i];
	want->idmap = want->idmap || one->idmap;
	want->rec_idmap = want->rec_idmap || one->rec_idmap;
	want->tmpcopyup = want->tmpcopyup || one->tmpcopyup;
	if (one->data != NULL)
		append(&want->data, opt);
}

static void check_single(const char *opt, const husk_mount_options_t *one)
{
	fuzz_assert(one->propagation_len <= 1, "\"%s\" alone gives %zu propagation entries", opt,
		    one->propagation_len);
	if (one->data != NULL)
		fuzz_assert(strcmp(one->data, opt) == 0, "\"%s\" alone gives data \"%s\"", opt,
			    one->data);
	if (*opt == '\0')
		fuzz_assert(one->data == NULL && one->flags == 0 && one->clear_flags == 0,
			    "the empty option changes something");
}

static void check_invariants(const husk_mount_options_t *got)
{
	fuzz_assert((got->flags & got->clear_flags) == 0, "flags %#lx both set and cleared",
		    got->flags & got->clear_flags);
	fuzz_assert((got->rec_attr_set & got->rec_attr_clr & ~(uint64_t)MOUNT_ATTR__ATIME) == 0,
		    "recursive attributes %#llx both set and cleared",
		    (unsigned long long)(got->rec_attr_set & got->rec_attr_clr));
	fuzz_assert(got->propagation_len <= HUSK_MAX_PROPAGATION, "%zu propagation entries",
		    got->propagation_len);
	fuzz_assert(!got->rec_idmap || got->idmap, "ridmap without idmap");
	fuzz_assert(got->data == NULL || got->data[0] != '\0', "empty data string");
}

static void check_equal(const husk_mount_options_t *got, const husk_mount_options_t *want)
{
	fuzz_assert(got->flags == want->flags && got->clear_flags == want->clear_flags,
		    "flags %#lx/%#lx, fold gives %#lx/%#lx", got->flags, got->clear_flags,
		    want->flags, want->clear_flags);
	fuzz_assert(got->rec_attr_set == want->rec_attr_set &&
			got->rec_attr_clr == want->rec_attr_clr,
		    "recursive attributes %#llx/%#llx, fold gives %#llx/%#llx",
		    (unsigned long long)got->rec_attr_set, (unsigned long long)got->rec_attr_clr,
		    (unsigned long long)want->rec_attr_set, (unsigned long long)want->rec_attr_clr);
	fuzz_assert(got->propagation_len == want->propagation_len &&
			memcmp(got->propagation, want->propagation,
			       got->propagation_len * sizeof got->propagation[0]) == 0,
		    "propagation differs from the fold");
	fuzz_assert(got->idmap == want->idmap && got->rec_idmap == want->rec_idmap &&
			got->tmpcopyup == want->tmpcopyup,
		    "idmap/ridmap/tmpcopyup differ from the fold");
	fuzz_assert((got->data == NULL && want->data == NULL) ||
			(got->data && want->data && strcmp(got->data, want->data) == 0),
		    "data \"%s\", fold gives \"%s\"", got->data ? got->data : "(null)",
		    want->data ? want->data : "(null)");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cleanup_free char *text = fuzz_strndup(data, size);
	char *opts[MAX_OPTIONS + 1];
	size_t n = split_options(text, size, opts);
	husk_mount_options_t got, want = {0};

	husk_mount_options_parse(opts, n, &got);
	check_invariants(&got);
	for (size_t i = 0; i < n; i++) {
		husk_mount_options_t one;
		husk_mount_options_parse(&opts[i], 1, &one);
		check_single(opts[i], &one);
		fold(&want, &one, opts[i]);
		husk_mount_options_free(&one);
	}
	check_equal(&got, &want);
	husk_mount_options_free(&got);
	husk_mount_options_free(&want);
	return 0;
}
