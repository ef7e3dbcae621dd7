/* names.c: the names of the clocks as stored and as the API spells them (the names of roles,
 * kinds, channels and states are the store's: db/db_names.c). */
#include <string.h>

#include "core_int.h"

static const char *const clocks[CLOCK__MAX] = {
	[CLOCK_FORWARD] = "forward",
	[CLOCK_REPLY] = "reply",
	[CLOCK_EXPLAIN] = "explain",
};

static int
find(const char *const *table, int n, const char *s)
{
	int i;

	if (s == NULL)
		return -1;
	for (i = 0; i < n; i++)
		if (strcmp(table[i], s) == 0)
			return i;
	return -1;
}

const char *
clock_label(enum clock_name c)
{
	return (unsigned)c < CLOCK__MAX ? clocks[c] : "?";
}

int
clock_parse(const char *s)
{
	return find(clocks, CLOCK__MAX, s);
}
