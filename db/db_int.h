/* db_int.h: what the files of the storage module share; not for other modules. */
#ifndef DB_INT_H
#define DB_INT_H

#include <stddef.h>

/* A migration built into the binary (generated from schema/*.sql by tools/embed). */
struct db_blob {
	const char *name; /* base name, e.g. "001_init.sql" */
	const char *data; /* SQL text, NUL-terminated */
	size_t len;
};

extern const struct db_blob db_migrations[]; /* sorted by name; ends with { NULL, NULL, 0 } */

#endif
