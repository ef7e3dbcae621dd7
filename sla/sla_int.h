/* sla_int.h: what the files of the sla module share; not for other modules. */
#ifndef SLA_INT_H
#define SLA_INT_H

#include <stddef.h>

#include "sla.h"

/* A calendar file built into the binary (generated from sla/calendars/cn/ by tools/embed). */
struct sla_blob {
	const char *name; /* base name, e.g. "2025.txt" */
	const char *data; /* text, NUL-terminated */
	size_t len;       /* bytes, without the NUL */
};

extern const struct sla_blob sla_builtin_files[]; /* ends with { NULL, NULL, 0 } */

#endif
