/*
 * web.c: loading the pages' files (built in, or from a configured folder), the message
 * catalogues, static files with their types and ETags, and the catalogue check.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "web_int.h"

#define WEB_FILE_MAX (4L * 1024 * 1024) /* bytes of one file read from the folder */
#define WEB_DIR_FILES 256               /* files of one subfolder at most */

static const char *const lang_tags[WEB_LANG__MAX] = {
	[WEB_ZH_HANS] = "zh-Hans",
	[WEB_ZH_HANT] = "zh-Hant",
	[WEB_EN] = "en",
};

static const struct {
	const char *ext;
	const char *type;
	int compress; /* 1: worth serving gzip-compressed; 0: compressed already */
} content_types[] = {
	{ ".css", "text/css; charset=utf-8", 1 },
	{ ".js", "text/javascript; charset=utf-8", 1 },
	{ ".svg", "image/svg+xml", 1 },
	{ ".png", "image/png", 0 },
	{ ".ico", "image/x-icon", 0 },
	{ ".woff2", "font/woff2", 0 },
	{ ".txt", "text/plain; charset=utf-8", 1 },
	{ ".json", "application/json", 1 },
};

const char *
web_lang_tag(enum web_lang l)
{
	return (unsigned)l < WEB_LANG__MAX ? lang_tags[l] : NULL;
}

/* Subtags that choose traditional characters for a Chinese tag: the script, or the regions where
 * they are written (Taiwan, Hong Kong, Macao). Simplified is the default (the mainland, Singapore,
 * Malaysia, or no region). */
static const char *const hant_regions[] = { "tw", "hk", "mo" };

int
web_lang_parse(const char *tag)
{
	char sub[9];
	size_t n, i, k;
	int primary = -1, script = -1, region = -1, first = 1;

	if (tag == NULL || tag[0] == '\0' || strlen(tag) > 64)
		return -1;
	for (i = 0; i < WEB_LANG__MAX; i++)
		if (strcasecmp(tag, lang_tags[i]) == 0) /* BCP 47 tags ignore case */
			return (int)i;
	/* the nearest of ours, subtag by subtag (RFC 5646: '-' between them; '_' as some clients
	 * write it): en-US is English; zh-CN, zh-SG, zh are simplified; zh-TW, zh-HK, zh-MO, yue
	 * are traditional; a script subtag (Hans, Hant) comes before the region */
	while (*tag != '\0') {
		n = strcspn(tag, "-_");
		if (n == 0 || n >= sizeof(sub))
			return -1;
		for (k = 0; k < n; k++) {
			char c = tag[k];

			if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
				return -1;
			sub[k] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
		}
		sub[n] = '\0';
		if (first) {
			if (strcmp(sub, "en") == 0)
				primary = WEB_EN;
			else if (strcmp(sub, "yue") == 0)
				primary = WEB_ZH_HANT; /* Cantonese is written in traditional characters */
			else if (strcmp(sub, "zh") == 0 || strcmp(sub, "cmn") == 0)
				primary = WEB_ZH_HANS;
			else
				return -1;
			first = 0;
		} else if (strcmp(sub, "hant") == 0 && script < 0) {
			script = WEB_ZH_HANT;
		} else if (strcmp(sub, "hans") == 0 && script < 0) {
			script = WEB_ZH_HANS;
		} else if (n == 2 && region < 0) {
			region = WEB_ZH_HANS;
			for (k = 0; k < sizeof(hant_regions) / sizeof(hant_regions[0]); k++)
				if (strcmp(sub, hant_regions[k]) == 0)
					region = WEB_ZH_HANT;
		}
		tag += n;
		if (*tag != '\0') {
			tag++;
			if (*tag == '\0')
				return -1; /* a tag does not end with a separator */
		}
	}
	if (primary == WEB_EN)
		return WEB_EN;
	return script >= 0 ? script : region >= 0 ? region : primary;
}

static void
seterr(char *err, size_t errsize, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errsize, fmt, ap);
	va_end(ap);
}

/* 1 if name is a plain file name: letters, digits, '.', '-', '_', not starting with '.'. */
static int
name_safe(const char *name)
{
	size_t i;

	if (name == NULL || name[0] == '\0' || name[0] == '.' || strlen(name) > 128)
		return 0;
	for (i = 0; name[i] != '\0'; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '-' || c == '_'))
			return 0;
	}
	return 1;
}

/* The content type of a file by its name; *compress says whether gzip is worth it. */
static const char *
type_of(const char *name, int *compress)
{
	size_t i, n = strlen(name), e;

	*compress = 0;
	for (i = 0; i < sizeof(content_types) / sizeof(content_types[0]); i++) {
		e = strlen(content_types[i].ext);
		if (n > e && strcmp(name + n - e, content_types[i].ext) == 0) {
			*compress = content_types[i].compress;
			return content_types[i].type;
		}
	}
	return "application/octet-stream";
}

/* 1 if name ends in ".gz". */
static int
is_gz(const char *name)
{
	size_t n = strlen(name);

	return n > 3 && strcmp(name + n - 3, ".gz") == 0;
}

/* A strong ETag from the content: FNV-1a 64. */
static void
etag_of(const char *data, size_t len, char out[WEB_ETAG_SIZE])
{
	uint64_t h = 14695981039346656037ULL;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)data[i];
		h *= 1099511628211ULL;
	}
	snprintf(out, WEB_ETAG_SIZE, "\"%016llx\"", (unsigned long long)h);
}

static void
items_free(struct web_item *it, size_t n)
{
	size_t i;

	if (it == NULL)
		return;
	for (i = 0; i < n; i++) {
		free(it[i].name);
		if (it[i].owned)
			free(it[i].data);
	}
	free(it);
}

static int
item_cmp(const void *a, const void *b)
{
	return strcmp(((const struct web_item *)a)->name, ((const struct web_item *)b)->name);
}

/* The built-in files of a table, lent. */
static int
items_builtin(const struct web_blob *blobs, struct web_item **out, size_t *nout)
{
	size_t n = 0, i;
	struct web_item *it;

	while (blobs[n].name != NULL)
		n++;
	it = calloc(n + 1, sizeof(*it));
	if (it == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		it[i].name = strdup(blobs[i].name);
		if (it[i].name == NULL) {
			items_free(it, i);
			return -1;
		}
		it[i].data = (char *)blobs[i].data;
		it[i].len = blobs[i].len;
	}
	*out = it;
	*nout = n;
	return 0;
}

/* Reads one file (at most WEB_FILE_MAX bytes) into a new NUL-terminated buffer. */
static char *
read_file(const char *path, size_t *len, char *err, size_t errsize)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t n;

	if (f == NULL) {
		seterr(err, errsize, "%s: %s", path, strerror(errno));
		return NULL;
	}
	buf = malloc((size_t)WEB_FILE_MAX + 1);
	if (buf == NULL) {
		seterr(err, errsize, "%s: out of memory", path);
		goto out;
	}
	n = fread(buf, 1, (size_t)WEB_FILE_MAX + 1, f);
	if (ferror(f) || n > (size_t)WEB_FILE_MAX) {
		seterr(err, errsize, "%s: %s", path,
		       ferror(f) ? "read error" : "larger than 4 MiB");
		free(buf);
		buf = NULL;
		goto out;
	}
	buf[n] = '\0';
	*len = n;
out:
	fclose(f);
	return buf;
}

/* The regular files with safe names of dir/sub, owned. */
static int
items_dir(const char *dir, const char *sub, struct web_item **out, size_t *nout, char *err,
          size_t errsize)
{
	char path[4096];
	DIR *d;
	struct dirent *de;
	struct web_item *it = NULL;
	struct stat st;
	size_t n = 0;
	int rc = -1;

	snprintf(path, sizeof(path), "%s/%s", dir, sub);
	d = opendir(path);
	if (d == NULL) {
		seterr(err, errsize, "%s: %s", path, strerror(errno));
		return -1;
	}
	it = calloc(WEB_DIR_FILES + 1, sizeof(*it));
	if (it == NULL)
		goto out;
	while ((de = readdir(d)) != NULL) {
		if (!name_safe(de->d_name))
			continue;
		snprintf(path, sizeof(path), "%s/%s/%s", dir, sub, de->d_name);
		if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		if (n == WEB_DIR_FILES) {
			seterr(err, errsize, "%s/%s: more than %d files", dir, sub, WEB_DIR_FILES);
			goto out;
		}
		it[n].name = strdup(de->d_name);
		it[n].owned = 1;
		it[n].mtime = (long long)st.st_mtime;
		if (it[n].name == NULL) {
			seterr(err, errsize, "out of memory");
			goto out;
		}
		it[n].data = read_file(path, &it[n].len, err, errsize);
		n++;
		if (it[n - 1].data == NULL)
			goto out;
	}
	*out = it;
	*nout = n;
	it = NULL;
	rc = 0;
out:
	items_free(it, n);
	closedir(d);
	return rc;
}

static int
msg_cmp(const void *a, const void *b)
{
	return strcmp(((const struct web_msgdef *)a)->key, ((const struct web_msgdef *)b)->key);
}

static int
key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
	       c == '-';
}

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

/* Parses a catalogue: "key = value" lines, '#' comments, blank lines. */
static int
catalogue_parse(struct web_catalogue *cat, const char *file, const char *data, char *err,
                size_t errsize)
{
	char *line, *next, *eq, *key, *k;
	size_t cap = 0, i, lineno = 0;

	cat->text = strdup(data);
	if (cat->text == NULL)
		goto nomem;
	for (line = cat->text; line != NULL && *line != '\0'; line = next) {
		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		lineno++;
		line = trim(line);
		if (*line == '\0' || *line == '#')
			continue;
		eq = strchr(line, '=');
		if (eq == NULL) {
			seterr(err, errsize, "%s:%zu: a line is key = value", file, lineno);
			return -1;
		}
		*eq = '\0';
		key = trim(line);
		for (k = key; *k != '\0'; k++)
			if (!key_char(*k))
				break;
		if (*key == '\0' || *k != '\0') {
			seterr(err, errsize, "%s:%zu: a key is made of a-z 0-9 . _ -", file, lineno);
			return -1;
		}
		if (cat->n == cap) {
			struct web_msgdef *m;

			cap = cap ? cap * 2 : 128;
			m = realloc(cat->msgs, cap * sizeof(*m));
			if (m == NULL)
				goto nomem;
			cat->msgs = m;
		}
		cat->msgs[cat->n].key = key;
		cat->msgs[cat->n].value = trim(eq + 1);
		cat->n++;
	}
	if (cat->n > 0)
		qsort(cat->msgs, cat->n, sizeof(*cat->msgs), msg_cmp);
	for (i = 1; i < cat->n; i++) {
		if (strcmp(cat->msgs[i - 1].key, cat->msgs[i].key) == 0) {
			seterr(err, errsize, "%s: the key %s is defined twice", file, cat->msgs[i].key);
			return -1;
		}
	}
	return 0;
nomem:
	seterr(err, errsize, "out of memory");
	return -1;
}

static const struct web_item *
item_find(const struct web_item *it, size_t n, const char *name)
{
	struct web_item key;

	if (n == 0)
		return NULL;
	key.name = (char *)name;
	return bsearch(&key, it, n, sizeof(*it), item_cmp);
}

struct web *
web_new(const char *dir, char *err, size_t errsize)
{
	struct web *w = calloc(1, sizeof(*w));
	struct web_item *i18n = NULL;
	size_t ni18n = 0, i;
	int l;
	char file[64];

	if (w == NULL) {
		seterr(err, errsize, "out of memory");
		return NULL;
	}
	if (dir == NULL || dir[0] == '\0') {
		if (items_builtin(web_builtin_templates, &w->templates, &w->ntemplates) != 0 ||
		    items_builtin(web_builtin_static, &w->statics, &w->nstatics) != 0 ||
		    items_builtin(web_builtin_i18n, &i18n, &ni18n) != 0) {
			seterr(err, errsize, "out of memory");
			goto fail;
		}
	} else if (items_dir(dir, "templates", &w->templates, &w->ntemplates, err, errsize) != 0 ||
	           items_dir(dir, "static", &w->statics, &w->nstatics, err, errsize) != 0 ||
	           items_dir(dir, "i18n", &i18n, &ni18n, err, errsize) != 0) {
		goto fail;
	}
	if (w->ntemplates > 0)
		qsort(w->templates, w->ntemplates, sizeof(*w->templates), item_cmp);
	if (w->nstatics > 0)
		qsort(w->statics, w->nstatics, sizeof(*w->statics), item_cmp);
	if (ni18n > 0)
		qsort(i18n, ni18n, sizeof(*i18n), item_cmp);
	for (i = 0; i < w->nstatics; i++) {
		int compress;

		w->statics[i].content_type = type_of(w->statics[i].name, &compress);
		etag_of(w->statics[i].data, w->statics[i].len, w->statics[i].etag);
	}
	/* each NAME.gz becomes the compressed form of NAME, when NAME is worth compressing, the
	 * compressed form is smaller, and (in a folder) it is not older than NAME */
	for (i = 0; i < w->nstatics; i++) {
		struct web_item *plain;
		char base[160];
		int compress;

		if (!is_gz(w->statics[i].name) || strlen(w->statics[i].name) >= sizeof(base))
			continue;
		snprintf(base, sizeof(base), "%.*s", (int)strlen(w->statics[i].name) - 3,
		         w->statics[i].name);
		plain = (struct web_item *)item_find(w->statics, w->nstatics, base);
		if (plain == NULL)
			continue;
		type_of(plain->name, &compress);
		if (!compress || w->statics[i].len >= plain->len ||
		    w->statics[i].mtime < plain->mtime)
			continue;
		plain->gz = &w->statics[i];
		etag_of(w->statics[i].data, w->statics[i].len, plain->gz_etag);
	}
	for (l = 0; l < WEB_LANG__MAX; l++) {
		const struct web_item *f;

		snprintf(file, sizeof(file), "%s.txt", lang_tags[l]);
		f = item_find(i18n, ni18n, file);
		if (f == NULL) {
			seterr(err, errsize, "the catalogue %s is missing", file);
			goto fail;
		}
		if (catalogue_parse(&w->cat[l], file, f->data, err, errsize) != 0)
			goto fail;
	}
	items_free(i18n, ni18n);
	return w;
fail:
	items_free(i18n, ni18n);
	web_free(w);
	return NULL;
}

void
web_free(struct web *w)
{
	int l;

	if (w == NULL)
		return;
	items_free(w->templates, w->ntemplates);
	items_free(w->statics, w->nstatics);
	for (l = 0; l < WEB_LANG__MAX; l++) {
		free(w->cat[l].text);
		free(w->cat[l].msgs);
	}
	free(w);
}

const struct web_item *
web_template(const struct web *w, const char *name)
{
	char file[160];

	if (!name_safe(name) || strlen(name) > 120)
		return NULL;
	snprintf(file, sizeof(file), "%s.html", name);
	return item_find(w->templates, w->ntemplates, file);
}

const char *
web_msg(const struct web *w, enum web_lang l, const char *key)
{
	struct web_msgdef k, *m;

	if ((unsigned)l >= WEB_LANG__MAX || key == NULL || w->cat[l].n == 0)
		return NULL;
	k.key = (char *)key;
	m = bsearch(&k, w->cat[l].msgs, w->cat[l].n, sizeof(k), msg_cmp);
	return m ? m->value : NULL;
}

int
web_static(const struct web *w, const char *name, struct web_file *out)
{
	const struct web_item *it;

	if (!name_safe(name) || is_gz(name))
		return 0;
	it = item_find(w->statics, w->nstatics, name);
	if (it == NULL)
		return 0;
	out->data = it->data;
	out->len = it->len;
	out->content_type = it->content_type;
	out->etag = it->etag;
	out->gz_data = it->gz ? it->gz->data : NULL;
	out->gz_len = it->gz ? it->gz->len : 0;
	out->gz_etag = it->gz ? it->gz_etag : NULL;
	return 1;
}

/* Appends a line to the report. */
static void
report_add(char *report, size_t size, size_t *used, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*used + 1 >= size)
		return;
	va_start(ap, fmt);
	n = vsnprintf(report + *used, size - *used, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	*used += (size_t)n < size - *used ? (size_t)n : size - *used - 1;
}

size_t
web_check(const struct web *w, char *report, size_t size)
{
	size_t problems = 0, used = 0, i;
	int l, m;

	if (size > 0)
		report[0] = '\0';
	for (l = 0; l < WEB_LANG__MAX; l++)
		for (i = 0; i < w->cat[l].n; i++)
			for (m = 0; m < WEB_LANG__MAX; m++)
				if (m != l && web_msg(w, (enum web_lang)m, w->cat[l].msgs[i].key) ==
				                      NULL) {
					problems++;
					report_add(report, size, &used, "%s lacks %s (in %s)\n",
					           lang_tags[m], w->cat[l].msgs[i].key, lang_tags[l]);
				}
	for (i = 0; i < w->ntemplates; i++) {
		const char *p = w->templates[i].data;

		while ((p = strstr(p, "{{@")) != NULL) {
			char key[128];
			size_t n;

			p += 3;
			n = strcspn(p, "}");
			if (n >= sizeof(key))
				n = sizeof(key) - 1;
			memcpy(key, p, n);
			key[n] = '\0';
			for (l = 0; l < WEB_LANG__MAX; l++)
				if (web_msg(w, (enum web_lang)l, key) == NULL) {
					problems++;
					report_add(report, size, &used, "%s: %s lacks %s\n",
					           w->templates[i].name, lang_tags[l], key);
				}
		}
	}
	return problems;
}
