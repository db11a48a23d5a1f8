/*
 * Fuzz husk_state_read, which parses <root>/<id>/state.json. There is no pure parser to
 * call: the input is written as state.json into a scratch directory (under $TMPDIR) and
 * read from there.
 *
 * Properties: a failure has a message and leaves the state zeroed; a success has an id.
 * What was read survives husk_state_write + husk_state_read unchanged (the file that
 * `create` writes is the file every later command reads), and husk_state_oci_json
 * gives a JSON object with the same id.
 */
#include "config.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <yajl/yajl_tree.h>

#include "fuzz.h"
#include "libhusk/status.h"

static char scratch[4096];
static int in_fd = -1;	/* <scratch>/in: the fuzzer's input as state.json */
static int out_fd = -1; /* <scratch>/out: where the round trip writes */

static void remove_scratch(void)
{
	char path[4200];
	const char *files[] = {"in/" HUSK_STATE_FILE, "out/" HUSK_STATE_FILE, "in", "out", NULL};

	for (const char **f = files; *f; f++) {
		snprintf(path, sizeof path, "%s/%s", scratch, *f);
		if (unlink(path) < 0)
			rmdir(path);
	}
	rmdir(scratch);
}

static int open_subdir(const char *name)
{
	char path[4200];
	int fd;

	snprintf(path, sizeof path, "%s/%s", scratch, name);
	if (mkdir(path, 0700) < 0 || (fd = open(path, O_DIRECTORY | O_RDONLY | O_CLOEXEC)) < 0) {
		perror(path);
		abort();
	}
	return fd;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");

	(void)argc;
	(void)argv;
	snprintf(scratch, sizeof scratch, "%s/fuzz-state.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (mkdtemp(scratch) == NULL) {
		perror(scratch);
		abort();
	}
	atexit(remove_scratch);
	in_fd = open_subdir("in");
	out_fd = open_subdir("out");
	return 0;
}

static void write_input(const uint8_t *data, size_t size)
{
	int fd = openat(in_fd, HUSK_STATE_FILE, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	fuzz_assert(fd >= 0, "open state.json: %m");
	fuzz_assert(husk_write_all(fd, data, size) == 0, "write state.json: %m");
	close(fd);
}

static bool same_str(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

static void check_same_state(const husk_state_t *a, const husk_state_t *b)
{
	fuzz_assert(same_str(a->id, b->id) && same_str(a->bundle, b->bundle) &&
			same_str(a->rootfs, b->rootfs) && same_str(a->created_at, b->created_at) &&
			same_str(a->owner, b->owner) && same_str(a->cgroup_path, b->cgroup_path),
		    "a string field changed in the round trip");
	fuzz_assert(a->created == b->created && a->pid == b->pid && a->pid_start == b->pid_start &&
			a->creator_pid == b->creator_pid && a->creator_start == b->creator_start &&
			a->cgroup_systemd == b->cgroup_systemd &&
			a->detached_init == b->detached_init,
		    "a number or flag changed in the round trip");
	fuzz_assert(a->annotations_len == b->annotations_len, "annotations: %zu, then %zu",
		    a->annotations_len, b->annotations_len);
	for (size_t i = 0; i < a->annotations_len; i++)
		fuzz_assert(same_str(a->annotations[i].key, b->annotations[i].key) &&
				same_str(a->annotations[i].value, b->annotations[i].value),
			    "annotation %zu changed in the round trip", i);
}

static void check_round_trip(const husk_state_t *st)
{
	cleanup_error husk_error_t err = {0};
	husk_state_t again;

	fuzz_assert(husk_state_write(out_fd, st, &err) == 0, "write: %s", husk_error_msg(&err));
	fuzz_assert(husk_state_read(out_fd, "fuzz", &again, &err) == 0,
		    "reading back what was written: %s", husk_error_msg(&err));
	check_same_state(st, &again);
	husk_state_clear(&again);
}

static void check_oci_json(const husk_state_t *st)
{
	cleanup_free char *json = husk_state_oci_json(st, HUSK_STATUS_STOPPED, false);
	char errbuf[256] = "";
	const char *id_path[] = {"id", NULL};
	yajl_val tree, id;

	fuzz_assert(json != NULL, "no OCI state JSON");
	tree = yajl_tree_parse(json, errbuf, sizeof errbuf);
	fuzz_assert(tree != NULL && YAJL_IS_OBJECT(tree), "OCI state is not a JSON object: %s: %s",
		    errbuf, json);
	id = yajl_tree_get(tree, id_path, yajl_t_string);
	fuzz_assert(id != NULL && strcmp(YAJL_GET_STRING(id), st->id) == 0,
		    "OCI state id differs: %s", json);
	yajl_tree_free(tree);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cleanup_error husk_error_t err = {0};
	husk_state_t st;
	int r;

	write_input(data, size);
	r = husk_state_read(in_fd, "fuzz", &st, &err);
	if (r < 0) {
		static const husk_state_t zero;
		fuzz_assert(r == -1, "returned %d", r);
		fuzz_assert(err.msg != NULL, "failure without a message");
		fuzz_assert(memcmp(&st, &zero, sizeof st) == 0, "failure left fields set");
		return 0;
	}
	fuzz_assert(err.msg == NULL, "success with a message: %s", err.msg);
	fuzz_assert(st.id != NULL, "success without an id");
	check_oci_json(&st);
	check_round_trip(&st);
	husk_state_clear(&st);
	return 0;
}
