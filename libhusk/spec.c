/* husk: config.json parser (OCI runtime-spec v1.3.0, Linux fields) built on yajl_tree. */
#include "config.h"
#include "spec.h"
#include "utils.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yajl/yajl_parse.h>
#include <yajl/yajl_tree.h>

enum { OPTIONAL = 0, REQUIRED = 1 };

/* Deeper nesting than any real config: bounds the recursion of yajl_tree_free on hostile input. */
#define MAX_JSON_DEPTH 256
/* A config.json bigger than this is not a config; refuse it before it eats the memory. */
#define MAX_CONFIG_SIZE (64u << 20)

/* ------------------------------------------------------------------ freeing */

static void kv_free(husk_kv_t *kv, size_t n)
{
	for (size_t i = 0; i < n && kv; i++) {
		free(kv[i].key);
		free(kv[i].value);
	}
	free(kv);
}

static void capabilities_free(husk_capabilities_t *c)
{
	if (c == NULL)
		return;
	strv_free(c->bounding);
	strv_free(c->effective);
	strv_free(c->inheritable);
	strv_free(c->permitted);
	strv_free(c->ambient);
	free(c);
}

static void rlimits_free(husk_rlimit_t *r, size_t n)
{
	for (size_t i = 0; i < n && r; i++)
		free(r[i].type);
	free(r);
}

static void scheduler_free(husk_scheduler_t *s)
{
	if (s == NULL)
		return;
	free(s->policy);
	strv_free(s->flags);
	free(s);
}

void husk_process_free(husk_process_t *p)
{
	if (p == NULL)
		return;
	free(p->user.additional_gids);
	free(p->user.username);
	strv_free(p->args);
	free(p->command_line);
	strv_free(p->env);
	free(p->cwd);
	capabilities_free(p->capabilities);
	rlimits_free(p->rlimits, p->rlimits_len);
	free(p->apparmor_profile);
	scheduler_free(p->scheduler);
	free(p->selinux_label);
	if (p->io_priority)
		free(p->io_priority->class_);
	free(p->io_priority);
	if (p->exec_cpu_affinity) {
		free(p->exec_cpu_affinity->initial);
		free(p->exec_cpu_affinity->final);
	}
	free(p->exec_cpu_affinity);
	free(p);
}

static void mounts_free(husk_mount_t *m, size_t n)
{
	for (size_t i = 0; i < n && m; i++) {
		free(m[i].destination);
		free(m[i].type);
		free(m[i].source);
		strv_free(m[i].options);
		free(m[i].uid_mappings);
		free(m[i].gid_mappings);
	}
	free(m);
}

static void hook_list_clear(husk_hook_list_t *l)
{
	for (size_t i = 0; i < l->len && l->v; i++) {
		free(l->v[i].path);
		strv_free(l->v[i].args);
		strv_free(l->v[i].env);
	}
	free(l->v);
}

static void hooks_free(husk_hooks_t *h)
{
	if (h == NULL)
		return;
	hook_list_clear(&h->prestart);
	hook_list_clear(&h->create_runtime);
	hook_list_clear(&h->create_container);
	hook_list_clear(&h->start_container);
	hook_list_clear(&h->poststart);
	hook_list_clear(&h->poststop);
	free(h);
}

static void device_cgroups_free(husk_device_cgroup_t *d, size_t n)
{
	for (size_t i = 0; i < n && d; i++) {
		free(d[i].type);
		free(d[i].access);
	}
	free(d);
}

static void blkio_free(husk_blkio_t *b)
{
	if (b == NULL)
		return;
	free(b->weight_device);
	free(b->throttle_read_bps_device);
	free(b->throttle_write_bps_device);
	free(b->throttle_read_iops_device);
	free(b->throttle_write_iops_device);
	free(b);
}

static void network_free(husk_network_t *n)
{
	if (n == NULL)
		return;
	for (size_t i = 0; i < n->priorities_len && n->priorities; i++)
		free(n->priorities[i].name);
	free(n->priorities);
	free(n);
}

void husk_resources_free(husk_resources_t *r)
{
	if (r == NULL)
		return;
	device_cgroups_free(r->devices, r->devices_len);
	free(r->memory);
	if (r->cpu) {
		free(r->cpu->cpus);
		free(r->cpu->mems);
	}
	free(r->cpu);
	blkio_free(r->block_io);
	for (size_t i = 0; i < r->hugepage_limits_len && r->hugepage_limits; i++)
		free(r->hugepage_limits[i].page_size);
	free(r->hugepage_limits);
	network_free(r->network);
	for (size_t i = 0; i < r->rdma_len && r->rdma; i++)
		free(r->rdma[i].device);
	free(r->rdma);
	kv_free(r->unified, r->unified_len);
	free(r);
}

static void seccomp_free(husk_seccomp_t *s)
{
	if (s == NULL)
		return;
	free(s->default_action);
	strv_free(s->architectures);
	strv_free(s->flags);
	free(s->listener_path);
	free(s->listener_metadata);
	for (size_t i = 0; i < s->syscalls_len && s->syscalls; i++) {
		husk_seccomp_syscall_t *sc = &s->syscalls[i];
		strv_free(sc->names);
		free(sc->action);
		for (size_t j = 0; j < sc->args_len && sc->args; j++)
			free(sc->args[j].op);
		free(sc->args);
	}
	free(s->syscalls);
	free(s);
}

static void linux_free(husk_linux_t *l)
{
	if (l == NULL)
		return;
	for (size_t i = 0; i < l->namespaces_len && l->namespaces; i++) {
		free(l->namespaces[i].type);
		free(l->namespaces[i].path);
	}
	free(l->namespaces);
	free(l->uid_mappings);
	free(l->gid_mappings);
	for (size_t i = 0; i < l->time_offsets_len && l->time_offsets; i++)
		free(l->time_offsets[i].clock);
	free(l->time_offsets);
	for (size_t i = 0; i < l->devices_len && l->devices; i++) {
		free(l->devices[i].type);
		free(l->devices[i].path);
	}
	free(l->devices);
	for (size_t i = 0; i < l->net_devices_len && l->net_devices; i++) {
		free(l->net_devices[i].host_name);
		free(l->net_devices[i].name);
	}
	free(l->net_devices);
	free(l->cgroups_path);
	husk_resources_free(l->resources);
	if (l->intel_rdt) {
		free(l->intel_rdt->clos_id);
		free(l->intel_rdt->l3_cache_schema);
		free(l->intel_rdt->mem_bw_schema);
		strv_free(l->intel_rdt->schemata);
	}
	free(l->intel_rdt);
	if (l->memory_policy) {
		free(l->memory_policy->mode);
		free(l->memory_policy->nodes);
		strv_free(l->memory_policy->flags);
	}
	free(l->memory_policy);
	kv_free(l->sysctl, l->sysctl_len);
	seccomp_free(l->seccomp);
	free(l->rootfs_propagation);
	strv_free(l->masked_paths);
	strv_free(l->readonly_paths);
	free(l->mount_label);
	if (l->personality) {
		free(l->personality->domain);
		strv_free(l->personality->flags);
	}
	free(l->personality);
	free(l);
}

void husk_spec_free(husk_spec_t *spec)
{
	if (spec == NULL)
		return;
	free(spec->oci_version);
	if (spec->root)
		free(spec->root->path);
	free(spec->root);
	mounts_free(spec->mounts, spec->mounts_len);
	husk_process_free(spec->process);
	free(spec->hostname);
	free(spec->domainname);
	hooks_free(spec->hooks);
	kv_free(spec->annotations, spec->annotations_len);
	linux_free(spec->linux_);
	free(spec);
}

void husk_specp(husk_spec_t **p)
{
	husk_spec_free(*p);
}

void husk_processp(husk_process_t **p)
{
	husk_process_free(*p);
}

void husk_resourcesp(husk_resources_t **p)
{
	husk_resources_free(*p);
}

static void yajl_valp(yajl_val *v)
{
	if (*v)
		yajl_tree_free(*v);
}
#define cleanup_yajl_val __attribute__((cleanup(yajl_valp)))

/* ------------------------------------------------------------------ the walker */

/*
 * The walker carries the JSON path of the value being looked at, so that every
 * error can name it: "config.json: process.args[1]: expected string, got number".
 */
struct walker {
	const char *origin;
	char *path;
	size_t len;
	size_t cap;
	husk_error_t *err;
};

static void walker_reserve(struct walker *w, size_t more)
{
	size_t need = w->len + more + 1;
	if (need <= w->cap)
		return;
	size_t cap = w->cap ? w->cap : 128;
	while (cap < need)
		cap *= 2;
	char *p = realloc(w->path, cap);
	if (p == NULL)
		abort();
	w->path = p;
	w->cap = cap;
}

static void walker_append(struct walker *w, const char *s, size_t n)
{
	walker_reserve(w, n);
	memcpy(w->path + w->len, s, n);
	w->len += n;
	w->path[w->len] = '\0';
}

/* Append s as the body of a JSON string: quotes, backslashes and control bytes escaped,
 * so that messages stay on one line whatever the config contains. */
static void append_escaped(struct walker *w, const char *s, size_t max)
{
	size_t n = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++, n++) {
		char buf[8];
		if (n == max) {
			walker_append(w, "...", 3);
			return;
		}
		if (*p == '"' || *p == '\\') {
			buf[0] = '\\';
			buf[1] = (char)*p;
			walker_append(w, buf, 2);
		} else if (*p < 0x20 || *p == 0x7f) {
			snprintf(buf, sizeof buf, "\\u%04x", *p);
			walker_append(w, buf, 6);
		} else {
			walker_append(w, (const char *)p, 1);
		}
	}
}

static bool is_plain_key(const char *key)
{
	if (*key == '\0')
		return false;
	for (const char *p = key; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
			return false;
	return true;
}

/* Keys that are not identifiers (sysctl names, annotation keys) are written ["..."]. */
static size_t path_push_key(struct walker *w, const char *key)
{
	size_t mark = w->len;
	if (is_plain_key(key)) {
		if (w->len > 0)
			walker_append(w, ".", 1);
		walker_append(w, key, strlen(key));
	} else {
		walker_append(w, "[\"", 2);
		append_escaped(w, key, 128);
		walker_append(w, "\"]", 2);
	}
	return mark;
}

static size_t path_push_index(struct walker *w, size_t i)
{
	char buf[32];
	size_t mark = w->len;
	int n = snprintf(buf, sizeof buf, "[%zu]", i);
	walker_append(w, buf, (size_t)n);
	return mark;
}

static void path_pop(struct walker *w, size_t mark)
{
	w->len = mark;
	if (w->path)
		w->path[mark] = '\0';
}

/* A quoted, escaped copy of a config value for a message, truncated when huge. */
static char *quote(const char *s)
{
	struct walker tmp = {0};
	walker_append(&tmp, "\"", 1);
	append_escaped(&tmp, s, 64);
	walker_append(&tmp, "\"", 1);
	return tmp.path;
}

static int fail(struct walker *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct walker *w, const char *fmt, ...)
{
	va_list ap;
	char *msg = NULL;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (w->len > 0)
		husk_error_set(w->err, 0, "%s: %s: %s", w->origin, w->path,
			       msg ? msg : "invalid value");
	else
		husk_error_set(w->err, 0, "%s: %s", w->origin, msg ? msg : "invalid value");
	if (w->err)
		w->err->errnum = EINVAL;
	free(msg);
	return -1;
}

/* fail() with the path temporarily extended by key. */
static int fail_at(struct walker *w, const char *key, const char *msg)
{
	size_t mark = path_push_key(w, key);
	fail(w, "%s", msg);
	path_pop(w, mark);
	return -1;
}

static const char *type_name(yajl_val v)
{
	switch (v->type) {
	case yajl_t_string:
		return "string";
	case yajl_t_number:
		return "number";
	case yajl_t_object:
		return "object";
	case yajl_t_array:
		return "array";
	case yajl_t_true:
	case yajl_t_false:
		return "boolean";
	case yajl_t_null:
		return "null";
	default:
		return "unknown";
	}
}

/* The value of key in obj; the last one wins on duplicates, like Go's encoding/json.
 * A null value counts as absent. */
static yajl_val field(yajl_val obj, const char *key)
{
	for (size_t i = obj->u.object.len; i > 0; i--) {
		if (strcmp(obj->u.object.keys[i - 1], key) == 0) {
			yajl_val v = obj->u.object.values[i - 1];
			return (v == NULL || v->type == yajl_t_null) ? NULL : v;
		}
	}
	return NULL;
}

/*
 * Step into obj[key]. Returns 1 with the path extended (undo with path_pop(*mark)) when
 * present, 0 when absent and allowed to be, -1 when absent and required.
 */
static int enter(struct walker *w, yajl_val obj, const char *key, bool required, yajl_val *v,
		 size_t *mark)
{
	*v = field(obj, key);
	if (*v == NULL)
		return required ? fail_at(w, key, "required property missing") : 0;
	*mark = path_push_key(w, key);
	return 1;
}

/* ------------------------------------------------------------------ scalars */

static int expect_type(struct walker *w, yajl_val v, yajl_type type, const char *name)
{
	if (v->type == type)
		return 0;
	return fail(w, "expected %s, got %s", name, type_name(v));
}

static int as_string(struct walker *w, yajl_val v, char **out)
{
	if (expect_type(w, v, yajl_t_string, "string") < 0)
		return -1;
	free(*out);
	*out = xstrdup(v->u.string);
	return 0;
}

static int as_bool(struct walker *w, yajl_val v, bool *out)
{
	if (v->type != yajl_t_true && v->type != yajl_t_false)
		return fail(w, "expected boolean, got %s", type_name(v));
	*out = v->type == yajl_t_true;
	return 0;
}

/* The raw text of a number; yajl keeps it, so integers are exact up to uint64. */
static int integer_text(struct walker *w, yajl_val v, const char **text)
{
	if (v->type != yajl_t_number)
		return fail(w, "expected integer, got %s", type_name(v));
	*text = v->u.number.r;
	if (*text == NULL || strpbrk(*text, ".eE") != NULL)
		return fail(w, "expected integer, got %.40s%s", *text ? *text : "?",
			    *text && strlen(*text) > 40 ? "..." : "");
	return 0;
}

static int as_int(struct walker *w, yajl_val v, int64_t min, int64_t max, int64_t *out)
{
	const char *text;
	char *end;
	long long x;

	if (integer_text(w, v, &text) < 0)
		return -1;
	errno = 0;
	x = strtoll(text, &end, 10);
	if (errno != 0 || *end != '\0' || x < min || x > max)
		return fail(w, "expected integer in %" PRId64 "..%" PRId64 ", got %.40s%s", min,
			    max, text, strlen(text) > 40 ? "..." : "");
	*out = x;
	return 0;
}

static int as_uint(struct walker *w, yajl_val v, uint64_t max, uint64_t *out)
{
	const char *text;
	char *end;
	unsigned long long x;

	if (integer_text(w, v, &text) < 0)
		return -1;
	errno = 0;
	/* strtoull accepts "-1" and wraps it; only "-0" is a non-negative negative. */
	if (text[0] == '-' && strspn(text + 1, "0") != strlen(text + 1))
		errno = ERANGE;
	x = errno ? 0 : strtoull(text, &end, 10);
	if (errno != 0 || *end != '\0' || x > max)
		return fail(w, "expected integer in 0..%" PRIu64 ", got %.40s%s", max, text,
			    strlen(text) > 40 ? "..." : "");
	*out = x;
	return 0;
}

/* ------------------------------------------------------------------ typed fields */

static int get_string(struct walker *w, yajl_val obj, const char *key, bool required, char **out)
{
	yajl_val v;
	size_t mark;
	int r = enter(w, obj, key, required, &v, &mark);
	if (r <= 0)
		return r;
	r = as_string(w, v, out);
	path_pop(w, mark);
	return r;
}

static int get_bool(struct walker *w, yajl_val obj, const char *key, bool *out, bool *has)
{
	yajl_val v;
	size_t mark;
	int r = enter(w, obj, key, OPTIONAL, &v, &mark);
	if (r <= 0)
		return r;
	r = as_bool(w, v, out);
	path_pop(w, mark);
	if (r == 0 && has)
		*has = true;
	return r;
}

static int get_int(struct walker *w, yajl_val obj, const char *key, bool required, int64_t min,
		   int64_t max, int64_t *out, bool *has)
{
	yajl_val v;
	size_t mark;
	int r = enter(w, obj, key, required, &v, &mark);
	if (r <= 0)
		return r;
	r = as_int(w, v, min, max, out);
	path_pop(w, mark);
	if (r == 0 && has)
		*has = true;
	return r;
}

static int get_uint(struct walker *w, yajl_val obj, const char *key, bool required, uint64_t max,
		    uint64_t *out, bool *has)
{
	yajl_val v;
	size_t mark;
	int r = enter(w, obj, key, required, &v, &mark);
	if (r <= 0)
		return r;
	r = as_uint(w, v, max, out);
	path_pop(w, mark);
	if (r == 0 && has)
		*has = true;
	return r;
}

static int get_i64(struct walker *w, yajl_val obj, const char *key, bool required, int64_t *out,
		   bool *has)
{
	return get_int(w, obj, key, required, INT64_MIN, INT64_MAX, out, has);
}

static int get_i32(struct walker *w, yajl_val obj, const char *key, bool required, int32_t *out,
		   bool *has)
{
	int64_t x = 0;
	bool present = false;
	if (get_int(w, obj, key, required, INT32_MIN, INT32_MAX, &x, &present) < 0)
		return -1;
	if (present) {
		*out = (int32_t)x;
		if (has)
			*has = true;
	}
	return 0;
}

static int get_u64(struct walker *w, yajl_val obj, const char *key, bool required, uint64_t *out,
		   bool *has)
{
	return get_uint(w, obj, key, required, UINT64_MAX, out, has);
}

static int get_u32(struct walker *w, yajl_val obj, const char *key, bool required, uint32_t *out,
		   bool *has)
{
	uint64_t x = 0;
	bool present = false;
	if (get_uint(w, obj, key, required, UINT32_MAX, &x, &present) < 0)
		return -1;
	if (present) {
		*out = (uint32_t)x;
		if (has)
			*has = true;
	}
	return 0;
}

static int get_u16(struct walker *w, yajl_val obj, const char *key, uint16_t *out, bool *has)
{
	uint64_t x = 0;
	bool present = false;
	if (get_uint(w, obj, key, OPTIONAL, UINT16_MAX, &x, &present) < 0)
		return -1;
	if (present) {
		*out = (uint16_t)x;
		*has = true;
	}
	return 0;
}

/* An array of strings, stored NULL-terminated. */
static int get_strv(struct walker *w, yajl_val obj, const char *key, char ***out, size_t *len)
{
	yajl_val v;
	size_t mark;
	int r = enter(w, obj, key, OPTIONAL, &v, &mark);
	if (r <= 0)
		return r;
	if (expect_type(w, v, yajl_t_array, "array") < 0)
		return -1;
	size_t n = v->u.array.len;
	strv_free(*out);
	/* Attached before it is filled, so that the model's free releases a partial array. */
	*out = xmalloc0((n + 1) * sizeof(char *));
	*len = n;
	for (size_t i = 0; i < n; i++) {
		size_t imark = path_push_index(w, i);
		if (as_string(w, v->u.array.values[i], &(*out)[i]) < 0)
			return -1;
		path_pop(w, imark);
	}
	path_pop(w, mark);
	return 0;
}

/* An object of strings ("annotations", "sysctl", "unified"), in JSON order. */
static int get_kv(struct walker *w, yajl_val obj, const char *key, husk_kv_t **out, size_t *len)
{
	yajl_val v;
	size_t mark;
	int r = enter(w, obj, key, OPTIONAL, &v, &mark);
	if (r <= 0)
		return r;
	if (expect_type(w, v, yajl_t_object, "object") < 0)
		return -1;
	size_t n = v->u.object.len;
	*out = xmalloc0(n * sizeof(husk_kv_t));
	*len = n;
	for (size_t i = 0; i < n; i++) {
		size_t kmark = path_push_key(w, v->u.object.keys[i]);
		(*out)[i].key = xstrdup(v->u.object.keys[i]);
		if (v->u.object.values[i]->type == yajl_t_null)
			return fail(w, "expected string, got null");
		if (as_string(w, v->u.object.values[i], &(*out)[i].value) < 0)
			return -1;
		path_pop(w, kmark);
	}
	path_pop(w, mark);
	return 0;
}

typedef int (*parse_fn)(struct walker *w, yajl_val v, void *out);

/* An array of objects, each parsed by fn into an element of elem_size bytes. */
static int get_array(struct walker *w, yajl_val obj, const char *key, bool required,
		     size_t elem_size, parse_fn fn, void **out, size_t *len)
{
	yajl_val v;
	size_t mark;
	int r = enter(w, obj, key, required, &v, &mark);
	if (r <= 0)
		return r;
	if (expect_type(w, v, yajl_t_array, "array") < 0)
		return -1;
	size_t n = v->u.array.len;
	if (n > SIZE_MAX / elem_size)
		return fail(w, "too many entries");
	*out = xmalloc0(n * elem_size);
	*len = n;
	for (size_t i = 0; i < n; i++) {
		size_t imark = path_push_index(w, i);
		yajl_val e = v->u.array.values[i];
		if (expect_type(w, e, yajl_t_object, "object") < 0)
			return -1;
		if (fn(w, e, (char *)*out + i * elem_size) < 0)
			return -1;
		path_pop(w, imark);
	}
	path_pop(w, mark);
	return 0;
}

/* An object parsed by fn into an existing struct. Sets *has when present. */
static int get_object_into(struct walker *w, yajl_val obj, const char *key, bool required,
			   parse_fn fn, void *dst, bool *has)
{
	yajl_val v;
	size_t mark;
	int r = enter(w, obj, key, required, &v, &mark);
	if (r <= 0)
		return r;
	if (expect_type(w, v, yajl_t_object, "object") < 0 || fn(w, v, dst) < 0)
		return -1;
	path_pop(w, mark);
	if (has)
		*has = true;
	return 0;
}

/* An optional object parsed by fn into a newly allocated struct of size bytes. */
static int get_object(struct walker *w, yajl_val obj, const char *key, size_t size, parse_fn fn,
		      void **out)
{
	yajl_val v;
	size_t mark;
	int r = enter(w, obj, key, OPTIONAL, &v, &mark);
	if (r <= 0)
		return r;
	if (expect_type(w, v, yajl_t_object, "object") < 0)
		return -1;
	*out = xmalloc0(size);
	if (fn(w, v, *out) < 0)
		return -1;
	path_pop(w, mark);
	return 0;
}

/* A map whose values are objects (netDevices, rdma, timeOffsets): fn gets the key too. */
typedef int (*parse_entry_fn)(struct walker *w, const char *key, yajl_val v, void *out);

static int get_map(struct walker *w, yajl_val obj, const char *key, size_t elem_size,
		   parse_entry_fn fn, void **out, size_t *len)
{
	yajl_val v;
	size_t mark;
	int r = enter(w, obj, key, OPTIONAL, &v, &mark);
	if (r <= 0)
		return r;
	if (expect_type(w, v, yajl_t_object, "object") < 0)
		return -1;
	size_t n = v->u.object.len;
	*out = xmalloc0(n * elem_size);
	*len = n;
	for (size_t i = 0; i < n; i++) {
		size_t kmark = path_push_key(w, v->u.object.keys[i]);
		yajl_val e = v->u.object.values[i];
		if (expect_type(w, e, yajl_t_object, "object") < 0)
			return -1;
		if (fn(w, v->u.object.keys[i], e, (char *)*out + i * elem_size) < 0)
			return -1;
		path_pop(w, kmark);
	}
	path_pop(w, mark);
	return 0;
}

/* ------------------------------------------------------------------ value checks */

static bool in_list(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(s, *list) == 0)
			return true;
	return false;
}

/* Fail naming obj.key when the (present) string value is not one of list. */
static int check_enum(struct walker *w, const char *key, const char *value, const char *const *list)
{
	if (value == NULL || in_list(value, list))
		return 0;
	cleanup_free char *q = quote(value);
	size_t mark = path_push_key(w, key);
	fail(w, "unsupported value %s", q);
	path_pop(w, mark);
	return -1;
}

static int check_enum_strv(struct walker *w, const char *key, char **values,
			   const char *const *list)
{
	for (size_t i = 0; values && values[i]; i++) {
		if (in_list(values[i], list))
			continue;
		cleanup_free char *q = quote(values[i]);
		size_t mark = path_push_key(w, key);
		path_push_index(w, i);
		fail(w, "unsupported value %s", q);
		path_pop(w, mark);
		return -1;
	}
	return 0;
}

static int check_absolute(struct walker *w, const char *key, const char *value)
{
	if (value == NULL || value[0] == '/')
		return 0;
	cleanup_free char *q = quote(value);
	size_t mark = path_push_key(w, key);
	fail(w, "must be an absolute path, got %s", q);
	path_pop(w, mark);
	return -1;
}

/* ------------------------------------------------------------------ process */

static int parse_user(struct walker *w, yajl_val v, void *out)
{
	husk_user_t *u = out;
	if (get_u32(w, v, "uid", REQUIRED, &u->uid, NULL) < 0 ||
	    get_u32(w, v, "gid", REQUIRED, &u->gid, NULL) < 0 ||
	    get_u32(w, v, "umask", OPTIONAL, &u->umask, &u->has_umask) < 0 ||
	    get_string(w, v, "username", OPTIONAL, &u->username) < 0)
		return -1;

	yajl_val gids;
	size_t mark;
	int r = enter(w, v, "additionalGids", OPTIONAL, &gids, &mark);
	if (r <= 0)
		return r;
	if (expect_type(w, gids, yajl_t_array, "array") < 0)
		return -1;
	u->additional_gids = xmalloc0(gids->u.array.len * sizeof(uint32_t));
	u->additional_gids_len = gids->u.array.len;
	for (size_t i = 0; i < gids->u.array.len; i++) {
		uint64_t g;
		size_t imark = path_push_index(w, i);
		if (as_uint(w, gids->u.array.values[i], UINT32_MAX, &g) < 0)
			return -1;
		u->additional_gids[i] = (uint32_t)g;
		path_pop(w, imark);
	}
	path_pop(w, mark);
	return 0;
}

static int parse_capabilities(struct walker *w, yajl_val v, void *out)
{
	husk_capabilities_t *c = out;
	if (get_strv(w, v, "bounding", &c->bounding, &c->bounding_len) < 0 ||
	    get_strv(w, v, "effective", &c->effective, &c->effective_len) < 0 ||
	    get_strv(w, v, "inheritable", &c->inheritable, &c->inheritable_len) < 0 ||
	    get_strv(w, v, "permitted", &c->permitted, &c->permitted_len) < 0 ||
	    get_strv(w, v, "ambient", &c->ambient, &c->ambient_len) < 0)
		return -1;
	return 0;
}

static const char *const rlimit_names[] = {
    "RLIMIT_AS",
    "RLIMIT_CORE",
    "RLIMIT_CPU",
    "RLIMIT_DATA",
    "RLIMIT_FSIZE",
    "RLIMIT_LOCKS",
    "RLIMIT_MEMLOCK",
    "RLIMIT_MSGQUEUE",
    "RLIMIT_NICE",
    "RLIMIT_NOFILE",
    "RLIMIT_NPROC",
    "RLIMIT_RSS",
    "RLIMIT_RTPRIO",
    "RLIMIT_RTTIME",
    "RLIMIT_SIGPENDING",
    "RLIMIT_STACK",
    NULL,
};

static int parse_rlimit(struct walker *w, yajl_val v, void *out)
{
	husk_rlimit_t *r = out;
	if (get_string(w, v, "type", REQUIRED, &r->type) < 0 ||
	    get_u64(w, v, "soft", REQUIRED, &r->soft, NULL) < 0 ||
	    get_u64(w, v, "hard", REQUIRED, &r->hard, NULL) < 0)
		return -1;
	/* "must map to a kernel interface": checking here also bounds the duplicate scan. */
	return check_enum(w, "type", r->type, rlimit_names);
}

static int check_rlimit_duplicates(struct walker *w, const husk_process_t *p)
{
	for (size_t i = 1; i < p->rlimits_len; i++) {
		for (size_t j = 0; j < i; j++) {
			if (strcmp(p->rlimits[i].type, p->rlimits[j].type) != 0)
				continue;
			size_t mark = path_push_key(w, "rlimits");
			path_push_index(w, i);
			fail(w, "duplicate rlimit type \"%s\"", p->rlimits[i].type);
			path_pop(w, mark);
			return -1;
		}
	}
	return 0;
}

static const char *const sched_policies[] = {"SCHED_OTHER",    "SCHED_FIFO", "SCHED_RR",
					     "SCHED_BATCH",    "SCHED_ISO",  "SCHED_IDLE",
					     "SCHED_DEADLINE", NULL};
static const char *const sched_flags[] = {"SCHED_FLAG_RESET_ON_FORK",  "SCHED_FLAG_RECLAIM",
					  "SCHED_FLAG_DL_OVERRUN",     "SCHED_FLAG_KEEP_POLICY",
					  "SCHED_FLAG_KEEP_PARAMS",    "SCHED_FLAG_UTIL_CLAMP_MIN",
					  "SCHED_FLAG_UTIL_CLAMP_MAX", NULL};

static int parse_scheduler(struct walker *w, yajl_val v, void *out)
{
	husk_scheduler_t *s = out;
	if (get_string(w, v, "policy", REQUIRED, &s->policy) < 0 ||
	    check_enum(w, "policy", s->policy, sched_policies) < 0 ||
	    get_i32(w, v, "nice", OPTIONAL, &s->nice, &s->has_nice) < 0 ||
	    get_i32(w, v, "priority", OPTIONAL, &s->priority, &s->has_priority) < 0 ||
	    get_strv(w, v, "flags", &s->flags, &s->flags_len) < 0 ||
	    check_enum_strv(w, "flags", s->flags, sched_flags) < 0 ||
	    get_u64(w, v, "runtime", OPTIONAL, &s->runtime, &s->has_runtime) < 0 ||
	    get_u64(w, v, "deadline", OPTIONAL, &s->deadline, &s->has_deadline) < 0 ||
	    get_u64(w, v, "period", OPTIONAL, &s->period, &s->has_period) < 0)
		return -1;
	return 0;
}

static const char *const ioprio_classes[] = {"IOPRIO_CLASS_RT", "IOPRIO_CLASS_BE",
					     "IOPRIO_CLASS_IDLE", NULL};

static int parse_io_priority(struct walker *w, yajl_val v, void *out)
{
	husk_io_priority_t *io = out;
	if (get_string(w, v, "class", REQUIRED, &io->class_) < 0 ||
	    check_enum(w, "class", io->class_, ioprio_classes) < 0 ||
	    get_i32(w, v, "priority", OPTIONAL, &io->priority, NULL) < 0)
		return -1;
	return 0;
}

static int check_cpu_list(struct walker *w, const char *key, const char *value)
{
	if (value == NULL || strspn(value, "0123456789, -") == strlen(value))
		return 0;
	cleanup_free char *q = quote(value);
	size_t mark = path_push_key(w, key);
	fail(w, "invalid CPU list %s", q);
	path_pop(w, mark);
	return -1;
}

static int parse_cpu_affinity(struct walker *w, yajl_val v, void *out)
{
	husk_cpu_affinity_t *a = out;
	if (get_string(w, v, "initial", OPTIONAL, &a->initial) < 0 ||
	    check_cpu_list(w, "initial", a->initial) < 0 ||
	    get_string(w, v, "final", OPTIONAL, &a->final) < 0 ||
	    check_cpu_list(w, "final", a->final) < 0)
		return -1;
	return 0;
}

static int parse_console_size(struct walker *w, yajl_val v, void *out)
{
	husk_process_t *p = out;
	if (get_u32(w, v, "height", REQUIRED, &p->console_height, NULL) < 0 ||
	    get_u32(w, v, "width", REQUIRED, &p->console_width, NULL) < 0)
		return -1;
	return 0;
}

static int parse_process(struct walker *w, yajl_val v, void *out)
{
	husk_process_t *p = out;

	if (get_bool(w, v, "terminal", &p->terminal, NULL) < 0 ||
	    get_object_into(w, v, "consoleSize", OPTIONAL, parse_console_size, p,
			    &p->has_console_size) < 0 ||
	    get_object_into(w, v, "user", OPTIONAL, parse_user, &p->user, NULL) < 0 ||
	    get_strv(w, v, "args", &p->args, &p->args_len) < 0 ||
	    get_string(w, v, "commandLine", OPTIONAL, &p->command_line) < 0 ||
	    get_strv(w, v, "env", &p->env, &p->env_len) < 0 ||
	    get_string(w, v, "cwd", REQUIRED, &p->cwd) < 0 ||
	    check_absolute(w, "cwd", p->cwd) < 0 ||
	    get_object(w, v, "capabilities", sizeof(husk_capabilities_t), parse_capabilities,
		       (void **)&p->capabilities) < 0 ||
	    get_array(w, v, "rlimits", OPTIONAL, sizeof(husk_rlimit_t), parse_rlimit,
		      (void **)&p->rlimits, &p->rlimits_len) < 0 ||
	    check_rlimit_duplicates(w, p) < 0 ||
	    get_bool(w, v, "noNewPrivileges", &p->no_new_privileges, NULL) < 0 ||
	    get_string(w, v, "apparmorProfile", OPTIONAL, &p->apparmor_profile) < 0 ||
	    get_i32(w, v, "oomScoreAdj", OPTIONAL, &p->oom_score_adj, &p->has_oom_score_adj) < 0 ||
	    get_object(w, v, "scheduler", sizeof(husk_scheduler_t), parse_scheduler,
		       (void **)&p->scheduler) < 0 ||
	    get_string(w, v, "selinuxLabel", OPTIONAL, &p->selinux_label) < 0 ||
	    get_object(w, v, "ioPriority", sizeof(husk_io_priority_t), parse_io_priority,
		       (void **)&p->io_priority) < 0 ||
	    get_object(w, v, "execCPUAffinity", sizeof(husk_cpu_affinity_t), parse_cpu_affinity,
		       (void **)&p->exec_cpu_affinity) < 0)
		return -1;
	/* execvp needs a file name: an args array, when given, has at least one entry. */
	if (p->args != NULL && p->args_len == 0)
		return fail_at(w, "args", "expected at least one entry");
	return 0;
}

/* ------------------------------------------------------------------ root, mounts, hooks */

static int parse_root(struct walker *w, yajl_val v, void *out)
{
	husk_root_t *r = out;
	if (get_string(w, v, "path", REQUIRED, &r->path) < 0 ||
	    get_bool(w, v, "readonly", &r->readonly, NULL) < 0)
		return -1;
	return 0;
}

static int parse_idmap(struct walker *w, yajl_val v, void *out)
{
	husk_idmap_t *m = out;
	if (get_u32(w, v, "containerID", REQUIRED, &m->container_id, NULL) < 0 ||
	    get_u32(w, v, "hostID", REQUIRED, &m->host_id, NULL) < 0 ||
	    get_u32(w, v, "size", REQUIRED, &m->size, NULL) < 0)
		return -1;
	return 0;
}

static int parse_mount(struct walker *w, yajl_val v, void *out)
{
	husk_mount_t *m = out;
	if (get_string(w, v, "destination", REQUIRED, &m->destination) < 0)
		return -1;
	if (m->destination[0] == '\0')
		return fail_at(w, "destination", "must not be empty");
	if (get_string(w, v, "type", OPTIONAL, &m->type) < 0 ||
	    get_string(w, v, "source", OPTIONAL, &m->source) < 0 ||
	    get_strv(w, v, "options", &m->options, &m->options_len) < 0 ||
	    get_array(w, v, "uidMappings", OPTIONAL, sizeof(husk_idmap_t), parse_idmap,
		      (void **)&m->uid_mappings, &m->uid_mappings_len) < 0 ||
	    get_array(w, v, "gidMappings", OPTIONAL, sizeof(husk_idmap_t), parse_idmap,
		      (void **)&m->gid_mappings, &m->gid_mappings_len) < 0)
		return -1;
	if ((m->uid_mappings == NULL) != (m->gid_mappings == NULL))
		return fail(w, "uidMappings and gidMappings must be specified together");
	return 0;
}

static int parse_hook(struct walker *w, yajl_val v, void *out)
{
	husk_hook_t *h = out;
	int64_t timeout = 0;
	if (get_string(w, v, "path", REQUIRED, &h->path) < 0 ||
	    check_absolute(w, "path", h->path) < 0 ||
	    get_strv(w, v, "args", &h->args, &h->args_len) < 0 ||
	    get_strv(w, v, "env", &h->env, &h->env_len) < 0 ||
	    get_int(w, v, "timeout", OPTIONAL, 1, INT32_MAX, &timeout, &h->has_timeout) < 0)
		return -1;
	h->timeout = (int32_t)timeout;
	return 0;
}

static int get_hook_list(struct walker *w, yajl_val v, const char *key, husk_hook_list_t *l)
{
	return get_array(w, v, key, OPTIONAL, sizeof(husk_hook_t), parse_hook, (void **)&l->v,
			 &l->len);
}

static int parse_hooks(struct walker *w, yajl_val v, void *out)
{
	husk_hooks_t *h = out;
	if (get_hook_list(w, v, "prestart", &h->prestart) < 0 ||
	    get_hook_list(w, v, "createRuntime", &h->create_runtime) < 0 ||
	    get_hook_list(w, v, "createContainer", &h->create_container) < 0 ||
	    get_hook_list(w, v, "startContainer", &h->start_container) < 0 ||
	    get_hook_list(w, v, "poststart", &h->poststart) < 0 ||
	    get_hook_list(w, v, "poststop", &h->poststop) < 0)
		return -1;
	return 0;
}

/* ------------------------------------------------------------------ linux.resources */

static int parse_device_cgroup(struct walker *w, yajl_val v, void *out)
{
	static const char *const types[] = {"a", "c", "b", NULL};
	husk_device_cgroup_t *d = out;
	bool has_allow = false;

	if (get_bool(w, v, "allow", &d->allow, &has_allow) < 0)
		return -1;
	if (!has_allow)
		return fail_at(w, "allow", "required property missing");
	if (get_string(w, v, "type", OPTIONAL, &d->type) < 0 ||
	    check_enum(w, "type", d->type, types) < 0 ||
	    get_i64(w, v, "major", OPTIONAL, &d->major, &d->has_major) < 0 ||
	    get_i64(w, v, "minor", OPTIONAL, &d->minor, &d->has_minor) < 0 ||
	    get_string(w, v, "access", OPTIONAL, &d->access) < 0)
		return -1;
	if (d->access && strspn(d->access, "rwm") != strlen(d->access)) {
		cleanup_free char *q = quote(d->access);
		size_t mark = path_push_key(w, "access");
		fail(w, "expected a combination of \"r\", \"w\" and \"m\", got %s", q);
		path_pop(w, mark);
		return -1;
	}
	return 0;
}

static int parse_memory(struct walker *w, yajl_val v, void *out)
{
	husk_memory_t *m = out;
	if (get_i64(w, v, "limit", OPTIONAL, &m->limit, &m->has_limit) < 0 ||
	    get_i64(w, v, "reservation", OPTIONAL, &m->reservation, &m->has_reservation) < 0 ||
	    get_i64(w, v, "swap", OPTIONAL, &m->swap, &m->has_swap) < 0 ||
	    get_i64(w, v, "kernel", OPTIONAL, &m->kernel, &m->has_kernel) < 0 ||
	    get_i64(w, v, "kernelTCP", OPTIONAL, &m->kernel_tcp, &m->has_kernel_tcp) < 0 ||
	    get_u64(w, v, "swappiness", OPTIONAL, &m->swappiness, &m->has_swappiness) < 0 ||
	    get_bool(w, v, "disableOOMKiller", &m->disable_oom_killer, &m->has_disable_oom_killer) <
		0 ||
	    get_bool(w, v, "useHierarchy", &m->use_hierarchy, &m->has_use_hierarchy) < 0 ||
	    get_bool(w, v, "checkBeforeUpdate", &m->check_before_update,
		     &m->has_check_before_update) < 0)
		return -1;
	return 0;
}

static int parse_cpu(struct walker *w, yajl_val v, void *out)
{
	husk_cpu_t *c = out;
	if (get_u64(w, v, "shares", OPTIONAL, &c->shares, &c->has_shares) < 0 ||
	    get_i64(w, v, "quota", OPTIONAL, &c->quota, &c->has_quota) < 0 ||
	    get_u64(w, v, "burst", OPTIONAL, &c->burst, &c->has_burst) < 0 ||
	    get_u64(w, v, "period", OPTIONAL, &c->period, &c->has_period) < 0 ||
	    get_i64(w, v, "realtimeRuntime", OPTIONAL, &c->realtime_runtime,
		    &c->has_realtime_runtime) < 0 ||
	    get_u64(w, v, "realtimePeriod", OPTIONAL, &c->realtime_period,
		    &c->has_realtime_period) < 0 ||
	    get_string(w, v, "cpus", OPTIONAL, &c->cpus) < 0 ||
	    get_string(w, v, "mems", OPTIONAL, &c->mems) < 0 ||
	    get_i64(w, v, "idle", OPTIONAL, &c->idle, &c->has_idle) < 0)
		return -1;
	return 0;
}

static int parse_weight_device(struct walker *w, yajl_val v, void *out)
{
	husk_weight_device_t *d = out;
	if (get_i64(w, v, "major", REQUIRED, &d->major, NULL) < 0 ||
	    get_i64(w, v, "minor", REQUIRED, &d->minor, NULL) < 0 ||
	    get_u16(w, v, "weight", &d->weight, &d->has_weight) < 0 ||
	    get_u16(w, v, "leafWeight", &d->leaf_weight, &d->has_leaf_weight) < 0)
		return -1;
	if (!d->has_weight && !d->has_leaf_weight)
		return fail(w, "expected at least one of weight or leafWeight");
	return 0;
}

static int parse_throttle_device(struct walker *w, yajl_val v, void *out)
{
	husk_throttle_device_t *d = out;
	if (get_i64(w, v, "major", REQUIRED, &d->major, NULL) < 0 ||
	    get_i64(w, v, "minor", REQUIRED, &d->minor, NULL) < 0 ||
	    get_u64(w, v, "rate", REQUIRED, &d->rate, NULL) < 0)
		return -1;
	return 0;
}

static int get_throttle(struct walker *w, yajl_val v, const char *key, husk_throttle_device_t **out,
			size_t *len)
{
	return get_array(w, v, key, OPTIONAL, sizeof(husk_throttle_device_t), parse_throttle_device,
			 (void **)out, len);
}

static int parse_blkio(struct walker *w, yajl_val v, void *out)
{
	husk_blkio_t *b = out;
	if (get_u16(w, v, "weight", &b->weight, &b->has_weight) < 0 ||
	    get_u16(w, v, "leafWeight", &b->leaf_weight, &b->has_leaf_weight) < 0 ||
	    get_array(w, v, "weightDevice", OPTIONAL, sizeof(husk_weight_device_t),
		      parse_weight_device, (void **)&b->weight_device, &b->weight_device_len) < 0 ||
	    get_throttle(w, v, "throttleReadBpsDevice", &b->throttle_read_bps_device,
			 &b->throttle_read_bps_device_len) < 0 ||
	    get_throttle(w, v, "throttleWriteBpsDevice", &b->throttle_write_bps_device,
			 &b->throttle_write_bps_device_len) < 0 ||
	    get_throttle(w, v, "throttleReadIOPSDevice", &b->throttle_read_iops_device,
			 &b->throttle_read_iops_device_len) < 0 ||
	    get_throttle(w, v, "throttleWriteIOPSDevice", &b->throttle_write_iops_device,
			 &b->throttle_write_iops_device_len) < 0)
		return -1;
	return 0;
}

/* "2MB", "64KB", "1GB": the schema's ^[1-9][0-9]*[KMG]B$. */
static bool valid_page_size(const char *s)
{
	size_t digits = strspn(s, "0123456789");
	return digits > 0 && s[0] != '0' && strchr("KMG", s[digits]) != NULL && s[digits] != '\0' &&
	       s[digits + 1] == 'B' && s[digits + 2] == '\0';
}

static int parse_hugepage_limit(struct walker *w, yajl_val v, void *out)
{
	husk_hugepage_limit_t *h = out;
	if (get_string(w, v, "pageSize", REQUIRED, &h->page_size) < 0)
		return -1;
	if (!valid_page_size(h->page_size)) {
		cleanup_free char *q = quote(h->page_size);
		size_t mark = path_push_key(w, "pageSize");
		fail(w, "invalid page size %s (expected e.g. \"2MB\")", q);
		path_pop(w, mark);
		return -1;
	}
	return get_u64(w, v, "limit", REQUIRED, &h->limit, NULL);
}

static int parse_net_priority(struct walker *w, yajl_val v, void *out)
{
	husk_net_priority_t *p = out;
	if (get_string(w, v, "name", REQUIRED, &p->name) < 0 ||
	    get_u32(w, v, "priority", REQUIRED, &p->priority, NULL) < 0)
		return -1;
	return 0;
}

static int parse_network(struct walker *w, yajl_val v, void *out)
{
	husk_network_t *n = out;
	if (get_u32(w, v, "classID", OPTIONAL, &n->class_id, &n->has_class_id) < 0 ||
	    get_array(w, v, "priorities", OPTIONAL, sizeof(husk_net_priority_t), parse_net_priority,
		      (void **)&n->priorities, &n->priorities_len) < 0)
		return -1;
	return 0;
}

static int parse_rdma_entry(struct walker *w, const char *key, yajl_val v, void *out)
{
	husk_rdma_t *r = out;
	r->device = xstrdup(key);
	if (get_u32(w, v, "hcaHandles", OPTIONAL, &r->hca_handles, &r->has_hca_handles) < 0 ||
	    get_u32(w, v, "hcaObjects", OPTIONAL, &r->hca_objects, &r->has_hca_objects) < 0)
		return -1;
	if (!r->has_hca_handles && !r->has_hca_objects)
		return fail(w, "expected at least one of hcaHandles or hcaObjects");
	return 0;
}

static int parse_pids(struct walker *w, yajl_val v, void *out)
{
	husk_resources_t *r = out;
	return get_i64(w, v, "limit", OPTIONAL, &r->pids_limit, &r->has_pids_limit);
}

static int parse_resources(struct walker *w, yajl_val v, void *out)
{
	husk_resources_t *r = out;
	if (get_array(w, v, "devices", OPTIONAL, sizeof(husk_device_cgroup_t), parse_device_cgroup,
		      (void **)&r->devices, &r->devices_len) < 0 ||
	    get_object(w, v, "memory", sizeof(husk_memory_t), parse_memory, (void **)&r->memory) <
		0 ||
	    get_object(w, v, "cpu", sizeof(husk_cpu_t), parse_cpu, (void **)&r->cpu) < 0 ||
	    get_object_into(w, v, "pids", OPTIONAL, parse_pids, r, NULL) < 0 ||
	    get_object(w, v, "blockIO", sizeof(husk_blkio_t), parse_blkio, (void **)&r->block_io) <
		0 ||
	    get_array(w, v, "hugepageLimits", OPTIONAL, sizeof(husk_hugepage_limit_t),
		      parse_hugepage_limit, (void **)&r->hugepage_limits,
		      &r->hugepage_limits_len) < 0 ||
	    get_object(w, v, "network", sizeof(husk_network_t), parse_network,
		       (void **)&r->network) < 0 ||
	    get_map(w, v, "rdma", sizeof(husk_rdma_t), parse_rdma_entry, (void **)&r->rdma,
		    &r->rdma_len) < 0 ||
	    get_kv(w, v, "unified", &r->unified, &r->unified_len) < 0)
		return -1;
	return 0;
}

/* ------------------------------------------------------------------ linux */

static const char *const namespace_types[] = {"pid",  "network", "mount", "ipc", "uts",
					      "user", "cgroup",	 "time",  NULL};

static int parse_namespace(struct walker *w, yajl_val v, void *out)
{
	husk_namespace_t *ns = out;
	if (get_string(w, v, "type", REQUIRED, &ns->type) < 0 ||
	    check_enum(w, "type", ns->type, namespace_types) < 0 ||
	    get_string(w, v, "path", OPTIONAL, &ns->path) < 0 ||
	    check_absolute(w, "path", ns->path) < 0)
		return -1;
	return 0;
}

static int check_namespace_duplicates(struct walker *w, const husk_linux_t *l)
{
	for (size_t i = 1; i < l->namespaces_len; i++) {
		for (size_t j = 0; j < i; j++) {
			if (strcmp(l->namespaces[i].type, l->namespaces[j].type) != 0)
				continue;
			size_t mark = path_push_key(w, "namespaces");
			path_push_index(w, i);
			fail(w, "duplicate namespace type \"%s\"", l->namespaces[i].type);
			path_pop(w, mark);
			return -1;
		}
	}
	return 0;
}

static int parse_time_offset(struct walker *w, const char *key, yajl_val v, void *out)
{
	husk_time_offset_t *t = out;
	t->clock = xstrdup(key);
	if (get_i64(w, v, "secs", OPTIONAL, &t->secs, NULL) < 0 ||
	    get_u32(w, v, "nanosecs", OPTIONAL, &t->nanosecs, NULL) < 0)
		return -1;
	return 0;
}

static int parse_device(struct walker *w, yajl_val v, void *out)
{
	static const char *const types[] = {"c", "b", "u", "p", NULL};
	husk_device_t *d = out;
	if (get_string(w, v, "type", REQUIRED, &d->type) < 0 ||
	    check_enum(w, "type", d->type, types) < 0 ||
	    get_string(w, v, "path", REQUIRED, &d->path) < 0 ||
	    check_absolute(w, "path", d->path) < 0)
		return -1;
	/* A FIFO has no device number; every other type needs both. */
	bool need_numbers = strcmp(d->type, "p") != 0;
	if (get_i64(w, v, "major", need_numbers, &d->major, NULL) < 0 ||
	    get_i64(w, v, "minor", need_numbers, &d->minor, NULL) < 0 ||
	    get_u32(w, v, "fileMode", OPTIONAL, &d->file_mode, &d->has_file_mode) < 0 ||
	    get_u32(w, v, "uid", OPTIONAL, &d->uid, &d->has_uid) < 0 ||
	    get_u32(w, v, "gid", OPTIONAL, &d->gid, &d->has_gid) < 0)
		return -1;
	return 0;
}

static int parse_net_device(struct walker *w, const char *key, yajl_val v, void *out)
{
	husk_net_device_t *d = out;
	d->host_name = xstrdup(key);
	return get_string(w, v, "name", OPTIONAL, &d->name);
}

static int check_no_newline(struct walker *w, const char *key, const char *value)
{
	if (value == NULL || strchr(value, '\n') == NULL)
		return 0;
	return fail_at(w, key, "must not contain a newline");
}

static int parse_intel_rdt(struct walker *w, yajl_val v, void *out)
{
	husk_intel_rdt_t *r = out;
	if (get_string(w, v, "closID", OPTIONAL, &r->clos_id) < 0 ||
	    get_string(w, v, "l3CacheSchema", OPTIONAL, &r->l3_cache_schema) < 0 ||
	    get_string(w, v, "memBwSchema", OPTIONAL, &r->mem_bw_schema) < 0 ||
	    check_no_newline(w, "memBwSchema", r->mem_bw_schema) < 0 ||
	    get_strv(w, v, "schemata", &r->schemata, &r->schemata_len) < 0 ||
	    get_bool(w, v, "enableMonitoring", &r->enable_monitoring, &r->has_enable_monitoring) <
		0)
		return -1;
	if (r->mem_bw_schema && strncmp(r->mem_bw_schema, "MB:", 3) != 0)
		return fail_at(w, "memBwSchema", "must start with \"MB:\"");
	for (size_t i = 0; i < r->schemata_len; i++) {
		if (strchr(r->schemata[i], '\n') == NULL)
			continue;
		size_t mark = path_push_key(w, "schemata");
		path_push_index(w, i);
		fail(w, "must not contain a newline");
		path_pop(w, mark);
		return -1;
	}
	return 0;
}

static int parse_memory_policy(struct walker *w, yajl_val v, void *out)
{
	static const char *const modes[] = {
	    "MPOL_DEFAULT",   "MPOL_BIND",	     "MPOL_INTERLEAVE", "MPOL_WEIGHTED_INTERLEAVE",
	    "MPOL_PREFERRED", "MPOL_PREFERRED_MANY", "MPOL_LOCAL",	NULL};
	static const char *const flags[] = {"MPOL_F_NUMA_BALANCING", "MPOL_F_RELATIVE_NODES",
					    "MPOL_F_STATIC_NODES", NULL};
	husk_memory_policy_t *m = out;
	if (get_string(w, v, "mode", REQUIRED, &m->mode) < 0 ||
	    check_enum(w, "mode", m->mode, modes) < 0 ||
	    get_string(w, v, "nodes", OPTIONAL, &m->nodes) < 0 ||
	    get_strv(w, v, "flags", &m->flags, &m->flags_len) < 0 ||
	    check_enum_strv(w, "flags", m->flags, flags) < 0)
		return -1;
	return 0;
}

/* Seccomp strings are kept as they are: their meaning is checked where the filter is built. */
static int parse_seccomp_arg(struct walker *w, yajl_val v, void *out)
{
	husk_seccomp_arg_t *a = out;
	if (get_u32(w, v, "index", REQUIRED, &a->index, NULL) < 0 ||
	    get_u64(w, v, "value", REQUIRED, &a->value, NULL) < 0 ||
	    get_u64(w, v, "valueTwo", OPTIONAL, &a->value_two, &a->has_value_two) < 0 ||
	    get_string(w, v, "op", REQUIRED, &a->op) < 0)
		return -1;
	return 0;
}

static int parse_seccomp_syscall(struct walker *w, yajl_val v, void *out)
{
	husk_seccomp_syscall_t *s = out;
	if (field(v, "names") == NULL)
		return fail_at(w, "names", "required property missing");
	if (get_strv(w, v, "names", &s->names, &s->names_len) < 0)
		return -1;
	if (s->names_len == 0)
		return fail_at(w, "names", "expected at least one entry");
	if (get_string(w, v, "action", REQUIRED, &s->action) < 0 ||
	    get_u32(w, v, "errnoRet", OPTIONAL, &s->errno_ret, &s->has_errno_ret) < 0 ||
	    get_array(w, v, "args", OPTIONAL, sizeof(husk_seccomp_arg_t), parse_seccomp_arg,
		      (void **)&s->args, &s->args_len) < 0)
		return -1;
	return 0;
}

static int parse_seccomp(struct walker *w, yajl_val v, void *out)
{
	husk_seccomp_t *s = out;
	if (get_string(w, v, "defaultAction", REQUIRED, &s->default_action) < 0 ||
	    get_u32(w, v, "defaultErrnoRet", OPTIONAL, &s->default_errno_ret,
		    &s->has_default_errno_ret) < 0 ||
	    get_strv(w, v, "architectures", &s->architectures, &s->architectures_len) < 0 ||
	    get_strv(w, v, "flags", &s->flags, &s->flags_len) < 0 ||
	    get_string(w, v, "listenerPath", OPTIONAL, &s->listener_path) < 0 ||
	    get_string(w, v, "listenerMetadata", OPTIONAL, &s->listener_metadata) < 0 ||
	    get_array(w, v, "syscalls", OPTIONAL, sizeof(husk_seccomp_syscall_t),
		      parse_seccomp_syscall, (void **)&s->syscalls, &s->syscalls_len) < 0)
		return -1;
	if (s->listener_metadata && s->listener_path == NULL)
		return fail_at(w, "listenerMetadata", "must not be set without listenerPath");
	return 0;
}

static int parse_personality(struct walker *w, yajl_val v, void *out)
{
	static const char *const domains[] = {"LINUX", "LINUX32", NULL};
	husk_personality_t *p = out;
	if (get_string(w, v, "domain", REQUIRED, &p->domain) < 0 ||
	    check_enum(w, "domain", p->domain, domains) < 0 ||
	    get_strv(w, v, "flags", &p->flags, &p->flags_len) < 0)
		return -1;
	return 0;
}

/* The spec's four values, plus the recursive spellings Docker and runc accept. */
static const char *const propagations[] = {"private",	 "shared",	"slave",
					   "unbindable", "rprivate",	"rshared",
					   "rslave",	 "runbindable", NULL};

static int parse_linux(struct walker *w, yajl_val v, void *out)
{
	husk_linux_t *l = out;
	if (get_array(w, v, "namespaces", OPTIONAL, sizeof(husk_namespace_t), parse_namespace,
		      (void **)&l->namespaces, &l->namespaces_len) < 0 ||
	    check_namespace_duplicates(w, l) < 0 ||
	    get_array(w, v, "uidMappings", OPTIONAL, sizeof(husk_idmap_t), parse_idmap,
		      (void **)&l->uid_mappings, &l->uid_mappings_len) < 0 ||
	    get_array(w, v, "gidMappings", OPTIONAL, sizeof(husk_idmap_t), parse_idmap,
		      (void **)&l->gid_mappings, &l->gid_mappings_len) < 0 ||
	    get_map(w, v, "timeOffsets", sizeof(husk_time_offset_t), parse_time_offset,
		    (void **)&l->time_offsets, &l->time_offsets_len) < 0 ||
	    get_array(w, v, "devices", OPTIONAL, sizeof(husk_device_t), parse_device,
		      (void **)&l->devices, &l->devices_len) < 0 ||
	    get_map(w, v, "netDevices", sizeof(husk_net_device_t), parse_net_device,
		    (void **)&l->net_devices, &l->net_devices_len) < 0 ||
	    get_string(w, v, "cgroupsPath", OPTIONAL, &l->cgroups_path) < 0 ||
	    get_object(w, v, "resources", sizeof(husk_resources_t), parse_resources,
		       (void **)&l->resources) < 0 ||
	    get_object(w, v, "intelRdt", sizeof(husk_intel_rdt_t), parse_intel_rdt,
		       (void **)&l->intel_rdt) < 0 ||
	    get_object(w, v, "memoryPolicy", sizeof(husk_memory_policy_t), parse_memory_policy,
		       (void **)&l->memory_policy) < 0 ||
	    get_kv(w, v, "sysctl", &l->sysctl, &l->sysctl_len) < 0 ||
	    get_object(w, v, "seccomp", sizeof(husk_seccomp_t), parse_seccomp,
		       (void **)&l->seccomp) < 0 ||
	    get_string(w, v, "rootfsPropagation", OPTIONAL, &l->rootfs_propagation) < 0 ||
	    check_enum(w, "rootfsPropagation", l->rootfs_propagation, propagations) < 0 ||
	    get_strv(w, v, "maskedPaths", &l->masked_paths, &l->masked_paths_len) < 0 ||
	    get_strv(w, v, "readonlyPaths", &l->readonly_paths, &l->readonly_paths_len) < 0 ||
	    get_string(w, v, "mountLabel", OPTIONAL, &l->mount_label) < 0 ||
	    get_object(w, v, "personality", sizeof(husk_personality_t), parse_personality,
		       (void **)&l->personality) < 0)
		return -1;
	return 0;
}

/* ------------------------------------------------------------------ top level */

/* SemVer's MAJOR.MINOR.PATCH, then an optional -prerelease / +build that we do not read. */
static bool parse_semver_major(const char *v, unsigned long *major)
{
	const char *p = v;
	for (int part = 0; part < 3; part++) {
		size_t digits = strspn(p, "0123456789");
		if (digits == 0 || digits > 9 || (digits > 1 && p[0] == '0'))
			return false;
		if (part == 0)
			*major = strtoul(p, NULL, 10);
		p += digits;
		if (part < 2 && *p++ != '.')
			return false;
	}
	return *p == '\0' || *p == '-' || *p == '+';
}

static int check_oci_version(struct walker *w, const char *version)
{
	unsigned long major = 0;
	/* 1.x is compatible by SemVer; 0.x drafts predate the stable format and are refused
	 * (features.json says ociVersionMin 1.0.0). */
	if (parse_semver_major(version, &major) && major == 1)
		return 0;
	cleanup_free char *q = quote(version);
	size_t mark = path_push_key(w, "ociVersion");
	fail(w, "unsupported version %s (husk implements " HUSK_OCI_VERSION ")", q);
	path_pop(w, mark);
	return -1;
}

/* config.md: annotation keys MUST NOT be empty. */
static int check_annotation_keys(struct walker *w, const husk_spec_t *s)
{
	for (size_t i = 0; i < s->annotations_len; i++) {
		if (s->annotations[i].key[0] == '\0') {
			size_t mark = path_push_key(w, "annotations");
			fail(w, "keys must not be empty");
			path_pop(w, mark);
			return -1;
		}
	}
	return 0;
}

static int parse_spec(struct walker *w, yajl_val v, void *out)
{
	husk_spec_t *s = out;
	if (get_string(w, v, "ociVersion", REQUIRED, &s->oci_version) < 0)
		return -1;
	if (check_oci_version(w, s->oci_version) < 0)
		return -1;
	if (get_object(w, v, "root", sizeof(husk_root_t), parse_root, (void **)&s->root) < 0 ||
	    get_array(w, v, "mounts", OPTIONAL, sizeof(husk_mount_t), parse_mount,
		      (void **)&s->mounts, &s->mounts_len) < 0 ||
	    get_object(w, v, "process", sizeof(husk_process_t), parse_process,
		       (void **)&s->process) < 0 ||
	    get_string(w, v, "hostname", OPTIONAL, &s->hostname) < 0 ||
	    get_string(w, v, "domainname", OPTIONAL, &s->domainname) < 0 ||
	    get_object(w, v, "hooks", sizeof(husk_hooks_t), parse_hooks, (void **)&s->hooks) < 0 ||
	    get_kv(w, v, "annotations", &s->annotations, &s->annotations_len) < 0 ||
	    check_annotation_keys(w, s) < 0 ||
	    get_object(w, v, "linux", sizeof(husk_linux_t), parse_linux, (void **)&s->linux_) < 0)
		return -1;
	return 0;
}

/* ------------------------------------------------------------------ JSON text */

struct depth_guard {
	unsigned depth;
	bool too_deep;
};

static int depth_open(void *ctx)
{
	struct depth_guard *g = ctx;
	if (++g->depth > MAX_JSON_DEPTH) {
		g->too_deep = true;
		return 0;
	}
	return 1;
}

static int depth_close(void *ctx)
{
	struct depth_guard *g = ctx;
	g->depth--;
	return 1;
}

static const yajl_callbacks depth_callbacks = {
    .yajl_start_map = depth_open,
    .yajl_end_map = depth_close,
    .yajl_start_array = depth_open,
    .yajl_end_array = depth_close,
};

static void yajl_handlep(yajl_handle *h)
{
	if (*h)
		yajl_free(*h);
}

/* yajl's messages end with a newline and may contain more; ours are one line. */
static void flatten(char *s)
{
	char *out = s;
	bool space = false;
	for (char *p = s; *p; p++) {
		if (*p == '\n' || *p == '\r' || *p == '\t' || *p == ' ') {
			space = out != s;
			continue;
		}
		if (space)
			*out++ = ' ';
		space = false;
		*out++ = *p;
	}
	*out = '\0';
}

/* at: how far yajl got, which is just past the token it choked on, hence "near". */
static int invalid_json(struct walker *w, yajl_handle h, const char *json, size_t len, size_t at)
{
	unsigned char *raw = yajl_get_error(h, 0, NULL, 0);
	size_t line = 1, col = 1;

	if (at > len)
		at = len;
	if (at > 0)
		at--;
	for (size_t i = 0; i < at; i++) {
		if (json[i] == '\n') {
			line++;
			col = 1;
		} else {
			col++;
		}
	}
	cleanup_free char *msg = xstrdup(raw ? (char *)raw : "parse error");
	if (raw)
		yajl_free_error(h, raw);
	flatten(msg);
	return fail(w, "invalid JSON: %s (near line %zu, column %zu)", msg, line, col);
}

/* The caller's buffer need not be NUL-terminated: look at len bytes, no more. */
static bool only_whitespace(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
			return false;
	return true;
}

/*
 * A strict pass over the text before yajl_tree sees it: no comments (yajl_tree_parse
 * allows them), UTF-8 checked, and a depth limit, with the position of the first error.
 */
static int check_json_text(struct walker *w, const char *json, size_t len)
{
	struct depth_guard guard = {0};
	__attribute__((cleanup(yajl_handlep))) yajl_handle h = NULL;

	if (only_whitespace(json, len))
		return fail(w, "invalid JSON: empty document");
	h = yajl_alloc(&depth_callbacks, NULL, &guard);
	if (h == NULL)
		abort();
	yajl_status st = yajl_parse(h, (const unsigned char *)json, len);
	size_t at = yajl_get_bytes_consumed(h);
	if (st == yajl_status_ok) {
		/* What fails only at the end (premature EOF) fails at the end. */
		st = yajl_complete_parse(h);
		at = len;
	}
	if (guard.too_deep)
		return fail(w, "invalid JSON: nested deeper than %d levels", MAX_JSON_DEPTH);
	if (st != yajl_status_ok)
		return invalid_json(w, h, json, len, at);
	return 0;
}

/* Parse text into a tree whose root must be an object. */
static int parse_tree(struct walker *w, const char *json, size_t len, yajl_val *out)
{
	char errbuf[256] = "";
	cleanup_free char *copy = NULL;

	if (json == NULL)
		return fail(w, "invalid JSON: empty document");
	if (check_json_text(w, json, len) < 0)
		return -1;
	/* yajl_tree_parse wants a NUL-terminated string; the caller's buffer may not be. */
	copy = xmalloc0(len + 1);
	memcpy(copy, json, len);
	*out = yajl_tree_parse(copy, errbuf, sizeof errbuf);
	if (*out == NULL) {
		flatten(errbuf);
		return fail(w, "invalid JSON: %s", errbuf[0] ? errbuf : "out of memory");
	}
	return expect_type(w, *out, yajl_t_object, "object");
}

/* Run fn on a whole document; the result is attached to *out as it is built, so that on
 * failure free_fn(*out) releases whatever was filled in. */
static int parse_document(const char *json, size_t len, const char *origin, size_t size,
			  parse_fn fn, void **out, husk_error_t *err)
{
	struct walker w = {.origin = origin ? origin : "config.json", .err = err};
	cleanup_yajl_val yajl_val tree = NULL;
	int r;

	*out = NULL;
	r = parse_tree(&w, json, len, &tree);
	if (r == 0) {
		*out = xmalloc0(size);
		r = fn(&w, tree, *out);
	}
	free(w.path);
	return r;
}

int husk_spec_parse(const char *json, size_t len, const char *origin, husk_spec_t **out,
		    husk_error_t *err)
{
	husk_spec_t *spec = NULL;
	if (parse_document(json, len, origin, sizeof *spec, parse_spec, (void **)&spec, err) < 0) {
		husk_spec_free(spec);
		return -1;
	}
	*out = spec;
	return 0;
}

int husk_process_parse(const char *json, size_t len, const char *origin, husk_process_t **out,
		       husk_error_t *err)
{
	husk_process_t *p = NULL;
	if (parse_document(json, len, origin, sizeof *p, parse_process, (void **)&p, err) < 0) {
		husk_process_free(p);
		return -1;
	}
	*out = p;
	return 0;
}

int husk_resources_parse(const char *json, size_t len, const char *origin, husk_resources_t **out,
			 husk_error_t *err)
{
	husk_resources_t *r = NULL;
	if (parse_document(json, len, origin, sizeof *r, parse_resources, (void **)&r, err) < 0) {
		husk_resources_free(r);
		return -1;
	}
	*out = r;
	return 0;
}

/* An error with its errno but without strerror's words, which would only repeat the reason. */
static int config_refused(husk_error_t *err, int errnum, const char *why)
{
	husk_error_set(err, 0, "config.json: %s", why);
	if (err)
		err->errnum = errnum;
	return -1;
}

/* Read an open regular file whole, refusing anything that could not be a config. */
static int read_config(int fd, char **out, size_t *len, husk_error_t *err)
{
	struct stat st;
	cleanup_free char *buf = NULL;
	size_t used = 0;

	if (fstat(fd, &st) < 0)
		return husk_error_errno(err, "config.json");
	if (!S_ISREG(st.st_mode))
		return config_refused(err, EINVAL, "not a regular file");
	if ((uint64_t)st.st_size > MAX_CONFIG_SIZE)
		return config_refused(err, EFBIG, "larger than 64 MiB");
	/* One byte more than the size, so that a file still growing is noticed. */
	size_t cap = (size_t)st.st_size + 1;
	buf = xmalloc0(cap + 1);
	for (;;) {
		ssize_t r = read(fd, buf + used, cap - used);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return husk_error_errno(err, "config.json: read");
		if (r == 0)
			break;
		used += (size_t)r;
		if (used == cap) {
			if (cap > MAX_CONFIG_SIZE)
				return config_refused(err, EFBIG, "larger than 64 MiB");
			char *n = realloc(buf, cap * 2 + 1);
			if (n == NULL)
				return husk_error_set(err, ENOMEM, "config.json: read");
			buf = n;
			cap *= 2;
		}
	}
	buf[used] = '\0';
	*len = used;
	*out = steal_pointer(&buf);
	return 0;
}

int husk_spec_load_bundle(const char *bundle, husk_spec_t **out, husk_error_t *err)
{
	cleanup_close int dirfd = -1;
	cleanup_close int fd = -1;
	cleanup_free char *text = NULL;
	size_t len = 0;

	dirfd = open(bundle, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return husk_error_errno(err, "bundle `%s`", bundle);
	fd = openat(dirfd, "config.json", O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return husk_error_errno(err, "config.json");
	if (read_config(fd, &text, &len, err) < 0)
		return -1;
	return husk_spec_parse(text, len, "config.json", out, err);
}

/* ------------------------------------------------------------------ lookups */

const husk_namespace_t *husk_spec_namespace(const husk_spec_t *spec, const char *type)
{
	if (spec == NULL || spec->linux_ == NULL || type == NULL)
		return NULL;
	for (size_t i = 0; i < spec->linux_->namespaces_len; i++)
		if (strcmp(spec->linux_->namespaces[i].type, type) == 0)
			return &spec->linux_->namespaces[i];
	return NULL;
}

const char *husk_spec_annotation(const husk_spec_t *spec, const char *key)
{
	if (spec == NULL || key == NULL)
		return NULL;
	/* Backwards: on a duplicated key the last one wins, as for every other property. */
	for (size_t i = spec->annotations_len; i > 0; i--)
		if (strcmp(spec->annotations[i - 1].key, key) == 0)
			return spec->annotations[i - 1].value;
	return NULL;
}
