/* husk: small helpers over yajl_gen for the JSON husk writes (state, features, list). */
#ifndef HUSK_JSON_GEN_H
#define HUSK_JSON_GEN_H

#include <stdbool.h>
#include <yajl/yajl_gen.h>

yajl_gen husk_json_new(bool pretty);
void husk_json_genp(yajl_gen *g);
#define cleanup_json_gen __attribute__((cleanup(husk_json_genp)))

void husk_json_str(yajl_gen g, const char *s); /* NULL -> null */
void husk_json_int(yajl_gen g, long long v);
void husk_json_key(yajl_gen g, const char *key);
void husk_json_key_str(yajl_gen g, const char *key, const char *value);
void husk_json_key_int(yajl_gen g, const char *key, long long value);
void husk_json_key_bool(yajl_gen g, const char *key, bool value);
void husk_json_strv(yajl_gen g, const char *const *v); /* NULL-terminated -> array */

/* A heap copy of the generated text, with a trailing newline when pretty. */
char *husk_json_finish(yajl_gen g, size_t *len);

#endif
