/*
 * pages.h: the pages under / (DESIGN.md "Interfaces", Fixed contract: /, /submit, /track, /board,
 * /staff/, each taking ?lang=zh-Hans|zh-Hant|en and remembering it). A way in like service/api:
 * handlers read requests, change items through service/core and render with web/.
 */
#ifndef PAGES_H
#define PAGES_H

#include <stddef.h>

struct route;
struct pages;

/* The routes of the pages (lent, static). */
extern const struct route pages_routes[];
extern const size_t pages_nroutes;

/* The pages' state: the engine over dir (NULL or "": the pages built into the binary) and a
 * random key that signs the citizens' form tokens. NULL with a sentence in err on failure. */
struct pages *pages_new(const char *dir, char *err, size_t errsize);
void pages_free(struct pages *p);

#endif
