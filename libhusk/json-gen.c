#include "config.h"
#include "json-gen.h"

#include <string.h>

#include "utils.h"

yajl_gen husk_json_new(bool pretty)
{
	yajl_gen g = yajl_gen_alloc(NULL);
	if (g == NULL)
		abort();
	if (pretty) {
		yajl_gen_config(g, yajl_gen_beautify, 1);
		yajl_gen_config(g, yajl_gen_indent_string, "  ");
	}
	return g;
}

void husk_json_genp(yajl_gen *g)
{
	if (*g)
		yajl_gen_free(*g);
}

void husk_json_str(yajl_gen g, const char *s)
{
	if (s == NULL)
		yajl_gen_null(g);
	else
		yajl_gen_string(g, (const unsigned char *)s, strlen(s));
}

void husk_json_int(yajl_gen g, long long v)
{
	yajl_gen_integer(g, v);
}

void husk_json_key(yajl_gen g, const char *key)
{
	husk_json_str(g, key);
}

void husk_json_key_str(yajl_gen g, const char *key, const char *value)
{
	husk_json_key(g, key);
	husk_json_str(g, value);
}

void husk_json_key_int(yajl_gen g, const char *key, long long value)
{
	husk_json_key(g, key);
	yajl_gen_integer(g, value);
}

void husk_json_key_bool(yajl_gen g, const char *key, bool value)
{
	husk_json_key(g, key);
	yajl_gen_bool(g, value);
}

void husk_json_strv(yajl_gen g, const char *const *v)
{
	yajl_gen_array_open(g);
	for (; v && *v; v++)
		husk_json_str(g, *v);
	yajl_gen_array_close(g);
}

char *husk_json_finish(yajl_gen g, size_t *len)
{
	const unsigned char *buf;
	size_t n;
	char *out;

	yajl_gen_get_buf(g, &buf, &n);
	out = xmalloc0(n + 2);
	memcpy(out, buf, n);
	if (n > 0 && out[n - 1] != '\n')
		out[n++] = '\n';
	if (len)
		*len = n;
	return out;
}
