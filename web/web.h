/*
 * web.h: the pages' engine — templates, message catalogues and static files, built into the
 * binary (tools/embed) or read from a configured folder. Knows nothing of items or HTTP: the
 * page handlers (service/pages) give it a JSON value and a language and get HTML back.
 *
 * Templates (web/templates/NAME.html) escape every value by construction:
 *   {{name}} {{a.b}} {{.}}   the value looked up in the data, HTML-escaped (& < > " ')
 *   {{%name}}                the value percent-encoded for a URL component (then escaped)
 *   {{@key}}                 the catalogue message key in the page's language, HTML-escaped;
 *                            "{name}" inside a message is replaced by the escaped value
 *   {{#name}}…{{/name}}      an array: once per element; an object: once inside it; a true,
 *                            non-empty, non-zero value: once; else not at all
 *   {{^name}}…{{/name}}      once when name is false, null, absent, empty or zero
 *   {{>name}}                the template name (a partial) here, in the same data
 *   {{!comment}}             nothing
 *   {{RAW_UNESCAPED_HTML name}}  the value as it is: the one way to write markup from data,
 *                            meant to stay rare and easy to find with grep
 * Names are looked up from the innermost section outwards. Nothing else is special.
 */
#ifndef WEB_H
#define WEB_H

#include <stddef.h>

#include <jansson.h>

enum web_lang { WEB_ZH_HANS, WEB_ZH_HANT, WEB_EN, WEB_LANG__MAX };

#define WEB_ETAG_SIZE 20 /* "\"" + 16 hex digits + "\"" + NUL */

struct web;

/* A static file as served: lent by the struct web that holds it. */
struct web_file {
	const char *data;
	size_t len;
	const char *content_type; /* static string, with charset for text */
	const char *etag;         /* strong ETag with its quotes */
	const char *gz_data;      /* the same file gzip-compressed, or NULL (see web_static) */
	size_t gz_len;
	const char *gz_etag;      /* the ETag of the compressed representation */
};

/* The language tag ("zh-Hans", "zh-Hant", "en") of l. */
const char *web_lang_tag(enum web_lang l);
/* The language of a tag: ours as web_lang_tag spells them in any case (zh-hant), else the
 * nearest of ours for a BCP 47 tag of Chinese or English (en-US: en; zh, zh-CN, zh-SG,
 * zh-Hans-HK: zh-Hans; zh-TW, zh-HK, zh-MO, zh-Hant, yue: zh-Hant); -1 for any other language
 * or a malformed tag. */
int web_lang_parse(const char *tag);

/* A new engine: the built-in pages when dir is NULL or "", else the files of dir/templates,
 * dir/static and dir/i18n (read once, now; names of letters, digits, '.', '-', '_' only).
 * Returns NULL with a sentence in err when a file cannot be read or a catalogue line is
 * malformed ("en.txt:12: …"). The caller frees it with web_free. */
struct web *web_new(const char *dir, char *err, size_t errsize);
void web_free(struct web *w);

/* Renders the template name with data in language l into a new NUL-terminated string *out
 * (caller frees) of *len bytes. Returns 0, or -1 (unknown template, unclosed section, nesting
 * too deep, output over 8 MiB, out of memory) with the reason logged to stderr. */
int web_render(const struct web *w, const char *name, enum web_lang l, json_t *data,
               char **out, size_t *len);

/* The message key in language l (lent), or NULL when the catalogue lacks it. */
const char *web_msg(const struct web *w, enum web_lang l, const char *key);

/* The static file called name: 1 found (*out filled), 0 not found (also for any name with a
 * character outside letters, digits, '.', '-', '_', or a leading '.', and for NAME.gz).
 * A compressible file (text, SVG, JSON) has its gzip form when it is smaller: built in, the
 * Makefile compresses it at build time (gzip -9 -n) and embeds NAME.gz beside NAME; in a
 * configured folder, a NAME.gz at least as new as NAME is used. Already-compressed types
 * (PNG, WOFF2, ICO) never get one. */
int web_static(const struct web *w, const char *name, struct web_file *out);

/* Checks the catalogues against each other and the templates: every key of one language is in
 * the other two, and every {{@key}} of a template is in all three. Writes one line per problem
 * into report (truncated to size) and returns the number of problems. */
size_t web_check(const struct web *w, char *report, size_t size);

#endif
