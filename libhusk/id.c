#include "config.h"
#include "id.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

static bool id_char_ok(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '+' || c == '-' || c == '.';
}

int husk_id_validate(const char *id, husk_error_t *err)
{
	size_t len;

	if (id == NULL || *id == '\0')
		return husk_error_set(err, 0, "invalid container id: empty");
	len = strlen(id);
	if (len > HUSK_ID_MAX)
		return husk_error_set(err, 0, "invalid container id: longer than %d characters",
				      HUSK_ID_MAX);
	if (strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
		return husk_error_set(err, 0, "invalid container id \"%s\"", id);
	for (size_t i = 0; i < len; i++) {
		if (!id_char_ok((unsigned char)id[i]))
			return husk_error_set(err, 0,
					      "invalid container id: character 0x%02x at offset %zu "
					      "(allowed: letters, digits, '_', '+', '-', '.')",
					      (unsigned char)id[i], i);
	}
	return 0;
}
