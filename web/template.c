/*
 * template.c: the template renderer (the language is described in web.h). Every value from
 * the data leaves through esc() or url() unless a template says RAW_UNESCAPED_HTML.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "web_int.h"

#define OUT_MAX (8u * 1024 * 1024) /* bytes of one page */
#define STACK_MAX 24               /* sections open at once */
#define PARTIAL_MAX 8              /* partials inside partials */
#define RAW_MARK "RAW_UNESCAPED_HTML "

struct out {
	char *p;
	size_t len, cap;
	int failed;
};

struct render {
	const struct web *w;
	enum web_lang lang;
	json_t *stack[STACK_MAX];
	size_t depth;
	int partials;
	struct out out;
	const char *tmpl; /* name, for messages */
};

static void
fail(struct render *r, const char *fmt, ...)
{
	va_list ap;

	if (r->out.failed)
		return;
	r->out.failed = 1;
	fprintf(stderr, "template %s: ", r->tmpl);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void
put(struct render *r, const char *s, size_t n)
{
	struct out *o = &r->out;

	if (o->failed)
		return;
	if (o->len + n + 1 > o->cap) {
		size_t cap = o->cap ? o->cap : 8192;
		char *p;

		while (cap < o->len + n + 1)
			cap *= 2;
		if (cap > OUT_MAX + 1) {
			fail(r, "the page is larger than %u bytes", OUT_MAX);
			return;
		}
		p = realloc(o->p, cap);
		if (p == NULL) {
			fail(r, "out of memory");
			return;
		}
		o->p = p;
		o->cap = cap;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
	o->p[o->len] = '\0';
}

/* HTML-escaped: safe in text and in quoted attribute values. */
static void
esc(struct render *r, const char *s, size_t n)
{
	size_t i, start = 0;

	for (i = 0; i < n; i++) {
		const char *rep;

		switch (s[i]) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&#39;"; break;
		default: continue;
		}
		put(r, s + start, i - start);
		put(r, rep, strlen(rep));
		start = i + 1;
	}
	put(r, s + start, n - start);
}

/* Percent-encoded for a URL component: only unreserved characters stay. */
static void
url(struct render *r, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char e[3];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~') {
			put(r, (const char *)&s[i], 1);
			continue;
		}
		e[0] = '%';
		e[1] = hex[c >> 4];
		e[2] = hex[c & 15];
		put(r, e, 3);
	}
}

/* The value called name[0..n) in the current data ("." is the innermost), or NULL. */
static json_t *
lookup(struct render *r, const char *name, size_t n)
{
	size_t seg = n, i;
	json_t *v = NULL;
	char key[128];

	if (n == 1 && name[0] == '.')
		return r->depth ? r->stack[r->depth - 1] : NULL;
	for (i = 0; i < n; i++)
		if (name[i] == '.') {
			seg = i;
			break;
		}
	if (seg == 0 || seg >= sizeof(key))
		return NULL;
	memcpy(key, name, seg);
	key[seg] = '\0';
	for (i = r->depth; i > 0; i--) {
		json_t *o = r->stack[i - 1];

		if (json_is_object(o) && (v = json_object_get(o, key)) != NULL)
			break;
	}
	while (v != NULL && seg < n) {
		size_t start = seg + 1, end = start;

		while (end < n && name[end] != '.')
			end++;
		if (end == start || end - start >= sizeof(key))
			return NULL;
		memcpy(key, name + start, end - start);
		key[end - start] = '\0';
		v = json_is_object(v) ? json_object_get(v, key) : NULL;
		seg = end;
	}
	return v;
}

/* The text form of a scalar into buf (or lent from v); NULL for what prints as nothing. */
static const char *
scalar(json_t *v, char *buf, size_t size, size_t *len)
{
	switch (json_typeof(v)) {
	case JSON_STRING:
		*len = json_string_length(v);
		return json_string_value(v);
	case JSON_INTEGER:
		snprintf(buf, size, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		break;
	case JSON_REAL:
		snprintf(buf, size, "%g", json_real_value(v));
		break;
	default:
		return NULL;
	}
	*len = strlen(buf);
	return buf;
}

enum how { HOW_ESC, HOW_URL, HOW_RAW };

static void
value(struct render *r, const char *name, size_t n, enum how how)
{
	json_t *v = lookup(r, name, n);
	char buf[64];
	const char *s;
	size_t len = 0;

	if (v == NULL)
		return;
	s = scalar(v, buf, sizeof(buf), &len);
	if (s == NULL)
		return;
	if (how == HOW_ESC)
		esc(r, s, len);
	else if (how == HOW_URL)
		url(r, s, len);
	else
		put(r, s, len);
}

/* A catalogue message: escaped, its {name} placeholders replaced by escaped values. */
static void
message(struct render *r, const char *key, size_t n)
{
	char k[128];
	const char *m, *p, *open, *close;

	if (n >= sizeof(k)) {
		fail(r, "a message key is too long");
		return;
	}
	memcpy(k, key, n);
	k[n] = '\0';
	m = web_msg(r->w, r->lang, k);
	if (m == NULL) {
		fprintf(stderr, "template %s: %s lacks the message %s\n", r->tmpl,
		        web_lang_tag(r->lang), k);
		esc(r, k, n);
		return;
	}
	for (p = m; *p != '\0';) {
		open = strchr(p, '{');
		close = open ? strchr(open, '}') : NULL;
		if (open == NULL || close == NULL) {
			esc(r, p, strlen(p));
			break;
		}
		esc(r, p, (size_t)(open - p));
		value(r, open + 1, (size_t)(close - open - 1), HOW_ESC);
		p = close + 1;
	}
}

static int
truthy(json_t *v)
{
	if (v == NULL)
		return 0;
	switch (json_typeof(v)) {
	case JSON_OBJECT: return 1;
	case JSON_ARRAY: return json_array_size(v) > 0;
	case JSON_STRING: return json_string_length(v) > 0;
	case JSON_INTEGER: return json_integer_value(v) != 0;
	case JSON_REAL: return json_real_value(v) != 0;
	case JSON_TRUE: return 1;
	default: return 0;
	}
}

static void render_text(struct render *r, const char *s, size_t n);

static void
push_render(struct render *r, json_t *v, const char *s, size_t n)
{
	if (r->depth == STACK_MAX) {
		fail(r, "sections nested deeper than %d", STACK_MAX);
		return;
	}
	r->stack[r->depth++] = v;
	render_text(r, s, n);
	r->depth--;
}

/* Finds the end of the section body that starts at s (after its opening tag) for name[0..n):
 * *body_len gets the body's length and the return value points after the closing tag. */
static const char *
section_end(const char *s, const char *end, const char *name, size_t n, size_t *body_len)
{
	const char *p = s;
	int depth = 1;

	while (p < end) {
		const char *t = strstr(p, "{{");
		const char *c;

		if (t == NULL || t >= end)
			return NULL;
		c = strstr(t + 2, "}}");
		if (c == NULL || c >= end)
			return NULL;
		if ((t[2] == '#' || t[2] == '^') && (size_t)(c - t - 3) == n &&
		    memcmp(t + 3, name, n) == 0)
			depth++;
		else if (t[2] == '/' && (size_t)(c - t - 3) == n && memcmp(t + 3, name, n) == 0) {
			if (--depth == 0) {
				*body_len = (size_t)(t - s);
				return c + 2;
			}
		}
		p = c + 2;
	}
	return NULL;
}

static void
partial(struct render *r, const char *name, size_t n)
{
	char k[128];
	const struct web_item *t;
	const char *saved = r->tmpl;

	if (n >= sizeof(k) || r->partials == PARTIAL_MAX) {
		fail(r, "a partial's name is too long or partials nest too deep");
		return;
	}
	memcpy(k, name, n);
	k[n] = '\0';
	t = web_template(r->w, k);
	if (t == NULL) {
		fail(r, "no template %s", k);
		return;
	}
	r->partials++;
	r->tmpl = t->name;
	render_text(r, t->data, t->len);
	r->tmpl = saved;
	r->partials--;
}

static void
render_text(struct render *r, const char *s, size_t n)
{
	const char *end = s + n;

	while (s < end && !r->out.failed) {
		const char *t = strstr(s, "{{"), *c, *tag, *after;
		size_t tn, body;

		if (t == NULL || t >= end) {
			put(r, s, (size_t)(end - s));
			return;
		}
		put(r, s, (size_t)(t - s));
		c = strstr(t + 2, "}}");
		if (c == NULL || c >= end) {
			fail(r, "an unclosed {{");
			return;
		}
		tag = t + 2;
		tn = (size_t)(c - tag);
		s = c + 2;
		if (tn == 0)
			continue;
		switch (tag[0]) {
		case '!':
			break;
		case '@':
			message(r, tag + 1, tn - 1);
			break;
		case '%':
			value(r, tag + 1, tn - 1, HOW_URL);
			break;
		case '>':
			partial(r, tag + 1, tn - 1);
			break;
		case '/':
			fail(r, "{{/%.*s}} closes nothing", (int)tn - 1, tag + 1);
			break;
		case '#':
		case '^': {
			json_t *v = lookup(r, tag + 1, tn - 1);

			after = section_end(s, end, tag + 1, tn - 1, &body);
			if (after == NULL) {
				fail(r, "{{%.*s}} is not closed", (int)tn, tag);
				return;
			}
			if (tag[0] == '^') {
				if (!truthy(v))
					render_text(r, s, body);
			} else if (json_is_array(v)) {
				size_t i;
				json_t *e;

				json_array_foreach(v, i, e)
					push_render(r, e, s, body);
			} else if (truthy(v)) {
				push_render(r, v, s, body);
			}
			s = after;
			break;
		}
		default:
			if (tn > strlen(RAW_MARK) && memcmp(tag, RAW_MARK, strlen(RAW_MARK)) == 0)
				value(r, tag + strlen(RAW_MARK), tn - strlen(RAW_MARK), HOW_RAW);
			else
				value(r, tag, tn, HOW_ESC);
			break;
		}
	}
}

int
web_render(const struct web *w, const char *name, enum web_lang l, json_t *data, char **out,
           size_t *len)
{
	struct render r;
	const struct web_item *t = web_template(w, name);

	if (t == NULL) {
		fprintf(stderr, "web_render: no template %s\n", name);
		return -1;
	}
	memset(&r, 0, sizeof(r));
	r.w = w;
	r.lang = (unsigned)l < WEB_LANG__MAX ? l : WEB_ZH_HANS;
	r.tmpl = t->name;
	r.stack[r.depth++] = data;
	put(&r, "", 0);
	render_text(&r, t->data, t->len);
	if (r.out.failed) {
		free(r.out.p);
		return -1;
	}
	*out = r.out.p;
	*len = r.out.len;
	return 0;
}
