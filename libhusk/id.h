/* husk: container id validation. */
#ifndef HUSK_ID_H
#define HUSK_ID_H

#include "error.h"

#define HUSK_ID_MAX 1024

/* Accept what runc accepts: [A-Za-z0-9_+.-], not "." or "..", 1..1024 characters.
 * An id becomes a directory name under --root, so nothing else may pass. */
int husk_id_validate(const char *id, husk_error_t *err);

#endif
