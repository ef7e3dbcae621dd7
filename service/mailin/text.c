/*
 * text.c: charsets and text of mail-in: which iconv name a label is decoded with (GB18030 for
 * every Chinese GB label), conversions through GMime's charset filter, HTML made plain text and
 * the character references QQ Mail leaves in text/plain. The decoding itself is GMime's and
 * iconv's; this file only chooses names and cleans the result.
 */
#include <ctype.h>
#include <iconv.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/HTMLparser.h>

#include "mailin_int.h"

/* Labels decoded with another table than iconv's of the same name: the GB family with
 * GB18030 (a superset; gb2312 labels carry GBK characters, and A1AA is U+2014 there). */
static const struct {
	const char *contains; /* lower-case substring of the label */
	const char *iconv;
} label_map[] = {
	{ "gb2312", "GB18030" },  { "gbk", "GB18030" },    { "gb18030", "GB18030" },
	{ "euc-cn", "GB18030" },  { "euccn", "GB18030" },  { "cp936", "GB18030" },
	{ "ms936", "GB18030" },   { "windows-936", "GB18030" }, { "csgb", "GB18030" },
	{ "big5-hkscs", "BIG5-HKSCS" }, { "big5hkscs", "BIG5-HKSCS" }, { "big5", "BIG5" },
	{ "big-5", "BIG5" },      { "cp950", "BIG5" },
};

const char *
mail_charset(const char *label)
{
	char low[64];
	size_t i, n;

	if (label == NULL || label[0] == '\0')
		return NULL;
	for (n = 0; label[n] != '\0' && n + 1 < sizeof(low); n++)
		low[n] = (char)tolower((unsigned char)label[n]);
	low[n] = '\0';
	for (i = 0; i < sizeof(label_map) / sizeof(label_map[0]); i++)
		if (strstr(low, label_map[i].contains) != NULL)
			return label_map[i].iconv;
	return g_mime_charset_iconv_name(label);
}

/* Appends label's replacement (or label itself) to out. */
static void
put_label(GString *out, const char *label, size_t n)
{
	char buf[64];
	const char *name;

	if (n == 0 || n >= sizeof(buf)) {
		g_string_append_len(out, label, (gssize)n);
		return;
	}
	memcpy(buf, label, n);
	buf[n] = '\0';
	name = mail_charset(buf);
	if (name != NULL && strcmp(name, "GB18030") != 0 && strncmp(name, "BIG5", 4) != 0)
		name = NULL; /* only the labels the table changes are rewritten */
	g_string_append(out, name != NULL ? name : buf);
}

static int
label_char(int c)
{
	return isalnum(c) || c == '-' || c == '_' || c == '.' || c == ':';
}

char *
mail_fix_labels(const char *raw)
{
	GString *out = g_string_sized_new(strlen(raw) + 16);
	const char *p = raw, *q;

	while (*p != '\0') {
		if (p[0] == '=' && p[1] == '?') {
			/* RFC 2047: =?charset[*lang]?E?text?= */
			q = p + 2;
			while (label_char((unsigned char)*q))
				q++;
			if ((*q == '?' || *q == '*') && q > p + 2) {
				g_string_append(out, "=?");
				put_label(out, p + 2, (size_t)(q - p - 2));
				p = q;
				continue;
			}
		} else if (p[0] == '*' && p[1] == '=') {
			/* RFC 2231: name*=charset'lang'value (maybe quoted) */
			const char *s = p + 2;

			if (*s == '"')
				s++;
			q = s;
			while (label_char((unsigned char)*q))
				q++;
			if (*q == '\'' && q > s) {
				g_string_append_len(out, p, (gssize)(s - p));
				put_label(out, s, (size_t)(q - s));
				p = q;
				continue;
			}
		}
		g_string_append_c(out, *p);
		p++;
	}
	return mail_clean(g_string_free(out, FALSE), 1);
}

/* One B-encoded word "=?charset[*lang]?B?text?=". */
struct b_word {
	const char *cs, *cs_end;     /* the charset label */
	const char *text, *text_end; /* the base64 text */
	const char *end;             /* after its "?=" */
};

/* Whether p starts a B-encoded word; if so, its parts into *w. */
static int
b_word_at(const char *p, struct b_word *w)
{
	const char *q, *star;

	if (p[0] != '=' || p[1] != '?')
		return 0;
	w->cs = p + 2;
	q = strchr(w->cs, '?');
	if (q == NULL || q == w->cs || (q[1] != 'B' && q[1] != 'b') || q[2] != '?')
		return 0;
	star = memchr(w->cs, '*', (size_t)(q - w->cs));
	w->cs_end = star != NULL ? star : q;
	w->text = q + 3;
	for (q = w->text; *q != '\0' && *q != '?' && *q != ' ' && *q != '\t'; q++)
		;
	if (q[0] != '?' || q[1] != '=')
		return 0;
	w->text_end = q;
	w->end = q + 2;
	return 1;
}

static int
same_charset(const struct b_word *a, const struct b_word *b)
{
	size_t n = (size_t)(a->cs_end - a->cs);

	return (size_t)(b->cs_end - b->cs) == n && g_ascii_strncasecmp(a->cs, b->cs, n) == 0;
}

/* Appends the bytes the base64 text of w stands for (GLib decodes). */
static void
append_bytes(GByteArray *to, const struct b_word *w)
{
	/* padded to whole quanta: some mailers leave the '=' out, and GLib (as GMime) drops the
	 * bytes of an unfinished quantum */
	static const char *const pad[4] = { "", "", "==", "=" };
	size_t len = (size_t)(w->text_end - w->text);
	char *text = g_strdup_printf("%.*s%s", (int)len, w->text, pad[len % 4]);
	gsize n = 0;
	guchar *bytes = g_base64_decode(text, &n);

	g_byte_array_append(to, bytes, (guint)n);
	g_free(bytes);
	g_free(text);
}

/* Labels that UTF-8 text is sent under by mistake: the GB family (PHP forms, some webmail)
 * and Latin-1 (a Java mailer's default). */
static const char *const mislabels[] = { "GB18030", "ISO-8859-1", "ISO8859-1", "LATIN1",
	                                 "CP1252", "WINDOWS-1252" };

/* Whether len bytes under label (n bytes of it) are UTF-8 instead: label is one of mislabels
 * and they are valid UTF-8 holding a character from U+0800 up, which text in those charsets
 * is not (never GB2312's characters; Latin-1 only as "à" and two C1 or ¡-¿ signs in a row);
 * U+FFFD (EF BF BD) excepted, text a webmail already destroyed (锟斤拷 read as GB). */
static int
utf8_mislabelled(const char *label, size_t n, const char *buf, size_t len)
{
	char low[32];
	const char *name;
	const unsigned char *p = (const unsigned char *)buf;
	size_t i;
	int listed = 0;

	if (label == NULL || n == 0 || n >= sizeof(low))
		return 0;
	memcpy(low, label, n);
	low[n] = '\0';
	name = mail_charset(low);
	for (i = 0; name != NULL && i < sizeof(mislabels) / sizeof(mislabels[0]); i++)
		listed |= g_ascii_strcasecmp(name, mislabels[i]) == 0;
	if (!listed || !g_utf8_validate(buf, (gssize)len, NULL))
		return 0;
	if (g_strstr_len(buf, (gssize)len, "\xEF\xBF\xBD") != NULL)
		return 0;
	for (i = 0; i < len; i++)
		if (p[i] >= 0xe0)
			return 1;
	return 0;
}

char *
mail_join_words(const char *value)
{
	GString *words = g_string_sized_new(strlen(value));
	const char *p = value, *next;
	struct b_word w, x;

	/* Mailers split a long subject or file name into B words anywhere, even inside a character
	 * (二 bytes of GBK in two words), and pad each word's base64 with '=': GMime 3.2.13 joins
	 * the text of adjacent B words of one charset before decoding but stops at a padded word's
	 * '=' (GMime issue #133). So each run of B words of one charset, apart by white space only,
	 * becomes one word holding the bytes of them all (GLib's base64), which GMime then decodes
	 * in that charset: split characters are whole again and no padding is in the way. A GB
	 * or Latin-1 label on UTF-8 bytes is made UTF-8 on the way. */
	while (*p != '\0') {
		GByteArray *bytes;
		const char *label, *last;
		char *b64;
		int run = 1;

		if (!b_word_at(p, &w)) {
			g_string_append_c(words, *p++);
			continue;
		}
		bytes = g_byte_array_new();
		append_bytes(bytes, &w);
		last = w.end;
		for (;;) {
			next = last;
			while (*next == ' ' || *next == '\t')
				next++;
			if (!b_word_at(next, &x) || !same_charset(&w, &x))
				break;
			append_bytes(bytes, &x);
			last = x.end;
			run++;
		}
		label = utf8_mislabelled(w.cs, (size_t)(w.cs_end - w.cs), (const char *)bytes->data,
		                   bytes->len)
		            ? "UTF-8"
		            : NULL;
		if (run == 1 && label == NULL && (w.text_end - w.text) % 4 == 0) { /* as it came */
			g_string_append_len(words, p, last - p);
		} else {
			b64 = g_base64_encode(bytes->data, bytes->len);
			g_string_append(words, "=?");
			if (label != NULL)
				g_string_append(words, label);
			else
				g_string_append_len(words, w.cs, w.cs_end - w.cs);
			g_string_append(words, "?B?");
			g_string_append(words, b64);
			g_string_append(words, "?=");
			g_free(b64);
		}
		p = last; /* the blanks after the run's last word stay */
		g_byte_array_free(bytes, TRUE);
	}
	return g_string_free(words, FALSE);
}

char *
mail_decode_header(GMimeParserOptions *opts, const char *value)
{
	char *joined = mail_join_words(value), *d;

	d = g_mime_utils_header_decode_text(opts, joined);
	g_free(joined);
	return d;
}

/* The tables of Chinese mail (those the label map names, and the labels GMime decodes headers
 * with itself), kept loaded by a pin (iconv loads a table's module at the
 * first open and may unload it at the last close: once per message otherwise). */
static const char *const pinned[] = { "GB18030", "GBK", "GB2312", "BIG5", "BIG5-HKSCS" };

struct mail_pin {
	iconv_t cd[sizeof(pinned) / sizeof(pinned[0])];
};

struct mail_pin *
mail_charsets_pin(void)
{
	struct mail_pin *p = malloc(sizeof(*p));
	size_t i;

	if (p == NULL)
		return NULL;
	for (i = 0; i < sizeof(pinned) / sizeof(pinned[0]); i++)
		p->cd[i] = iconv_open("UTF-8", pinned[i]);
	return p;
}

void
mail_charsets_unpin(struct mail_pin *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < sizeof(pinned) / sizeof(pinned[0]); i++)
		if (p->cd[i] != (iconv_t)-1)
			iconv_close(p->cd[i]);
	free(p);
}

/* Converts through GMime's charset filter; NULL if iconv does not know the charset. */
static char *
convert(const char *charset, const char *buf, size_t len)
{
	GMimeStream *mem, *src, *filtered;
	GMimeFilter *f;
	GByteArray *ba;
	char *s = NULL;

	f = g_mime_filter_charset_new(charset, "UTF-8");
	if (f == NULL)
		return NULL;
	mem = g_mime_stream_mem_new();
	filtered = g_mime_stream_filter_new(mem);
	g_mime_stream_filter_add(GMIME_STREAM_FILTER(filtered), f);
	src = g_mime_stream_mem_new_with_buffer(buf, len);
	if (g_mime_stream_write_to_stream(src, filtered) >= 0 && g_mime_stream_flush(filtered) >= 0) {
		ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
		s = g_strndup((const char *)ba->data, ba->len);
	}
	g_object_unref(src);
	g_object_unref(filtered);
	g_object_unref(f);
	g_object_unref(mem);
	return s;
}

static int
is_ascii(const char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((unsigned char)buf[i] >= 0x80)
			return 0;
	return 1;
}

/* Whether charset name writes its text in 7-bit bytes with escape or shift sequences
 * (ISO-2022-JP, as Japanese mailers send it; UTF-7): bytes that are all ASCII are not ASCII
 * text in it. */
static int
seven_bit_coded(const char *name)
{
	return name != NULL && (g_ascii_strncasecmp(name, "ISO-2022", 8) == 0 ||
	                        g_ascii_strcasecmp(name, "UTF-7") == 0);
}

char *
mail_decode(GMimeParserOptions *opts, const char *label, const char *buf, size_t len)
{
	const char *name = mail_charset(label);
	char *s;

	if (len == 0)
		return g_strdup("");
	if (is_ascii(buf, len) && !seven_bit_coded(name))
		return g_strndup(buf, len);
	if (name != NULL && g_ascii_strcasecmp(name, "UTF-8") == 0) {
		if (g_utf8_validate(buf, (gssize)len, NULL))
			return g_strndup(buf, len);
		name = NULL; /* labelled UTF-8 but not: the fallbacks */
	}
	if (label != NULL && utf8_mislabelled(label, strlen(label), buf, len))
		return g_strndup(buf, len);
	if (name != NULL && g_ascii_strcasecmp(name, "US-ASCII") != 0 &&
	    g_ascii_strcasecmp(name, "ASCII") != 0 && g_ascii_strcasecmp(name, "ANSI_X3.4-1968") != 0) {
		s = convert(name, buf, len);
		if (s != NULL)
			return s;
	}
	return g_mime_utils_decode_8bit(opts, buf, len);
}

/* The length of line [p, end) without its CR, and its quote depth (the leading '>'s, which
 * *content is moved past along with one space of space-stuffing). */
static size_t
flowed_line(const char *p, const char *end, const char **content, int *depth)
{
	size_t n = (size_t)(end - p);

	if (n > 0 && p[n - 1] == '\r')
		n--;
	*depth = 0;
	while (n > 0 && *p == '>') {
		(*depth)++;
		p++;
		n--;
	}
	if (n > 0 && *p == ' ') {
		p++;
		n--;
	}
	*content = p;
	return n;
}

char *
mail_unflow(const char *text, int delsp)
{
	GString *out = g_string_sized_new(strlen(text));
	const char *p = text;
	int open = 0, open_depth = 0;

	/* RFC 3676: a line that ends in a space (other than the signature separator "-- ") goes
	 * on in the next line of the same quote depth; with DelSp=yes that space was added by the
	 * sender (text without spaces between words, such as Chinese) and is dropped */
	while (*p != '\0') {
		const char *nl = strchr(p, '\n'), *end = nl != NULL ? nl : p + strlen(p), *content;
		int depth, flowed;
		size_t n = flowed_line(p, end, &content, &depth);

		flowed = n > 0 && content[n - 1] == ' ' && !(n == 3 && memcmp(content, "-- ", 3) == 0);
		if (open && depth != open_depth) { /* a quote that ends inside a paragraph */
			g_string_append_c(out, '\n');
			open = 0;
		}
		if (!open && depth > 0) {
			for (int i = 0; i < depth; i++)
				g_string_append_c(out, '>');
			g_string_append_c(out, ' ');
		}
		if (flowed && delsp)
			n--;
		g_string_append_len(out, content, (gssize)n);
		open = flowed;
		open_depth = depth;
		if (!flowed)
			g_string_append_c(out, '\n');
		p = nl != NULL ? nl + 1 : end;
	}
	return g_string_free(out, FALSE);
}

char *
mail_clean(char *s, int multiline)
{
	char *v, *w;
	const char *r;
	size_t n;

	if (s == NULL)
		return NULL;
	if (g_utf8_validate(s, -1, NULL)) {
		v = s; /* the usual case: no copy */
	} else {
		v = g_utf8_make_valid(s, -1);
		g_free(s);
	}
	/* the usual case again: nothing to change before the first control, CR or C1 */
	for (r = v; *r != '\0'; r++) {
		unsigned char c = (unsigned char)*r;

		if (c >= 0x20 && c != 0x7f && c != 0xc2)
			continue;
		if ((c == '\n' || c == '\t') && multiline)
			continue;
		if (c == 0xc2 && ((unsigned char)r[1] < 0x80 || (unsigned char)r[1] > 0x9f))
			continue;
		break;
	}
	for (w = (char *)r; *r != '\0'; r++) {
		unsigned char c = (unsigned char)*r;

		if (multiline && c == '\r') {
			*w++ = '\n';
			if (r[1] == '\n')
				r++;
			continue;
		}
		if (c < 0x20 || c == 0x7f) {
			if (multiline && (c == '\n' || c == '\t'))
				*w++ = (char)c;
			else if (w > v && w[-1] != ' ')
				*w++ = ' ';
			continue;
		}
		/* U+0080..U+009F (C1 controls) as spaces too */
		if (c == 0xc2 && (unsigned char)r[1] >= 0x80 && (unsigned char)r[1] <= 0x9f) {
			*w++ = ' ';
			r++;
			continue;
		}
		*w++ = (char)c;
	}
	*w = '\0';
	/* trim */
	n = strlen(v);
	while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\n' || v[n - 1] == '\t'))
		v[--n] = '\0';
	/* and at the start, a byte order mark too (some clients put U+FEFF before the text) */
	r = v;
	while (*r == ' ' || *r == '\n' || *r == '\t' || strncmp(r, "\xEF\xBB\xBF", 3) == 0)
		r += *r == ' ' || *r == '\n' || *r == '\t' ? 1 : 3;
	if (r != v)
		memmove(v, r, strlen(r) + 1);
	return v;
}

int
mail_cut(char *s, size_t max)
{
	size_t n = 0;
	char *p = s;

	if (strlen(s) <= max)
		return 0; /* a code point takes a byte at least */
	while (*p != '\0') {
		if (n == max) {
			*p = '\0';
			return 1;
		}
		p = g_utf8_next_char(p);
		n++;
	}
	return 0;
}

/* --- HTML character references and HTML to text ---------------------------------------- */

static const struct {
	const char *name;
	unsigned cp;
} entities[] = {
	{ "nbsp", 0xa0 },  { "lt", '<' },       { "gt", '>' },       { "amp", '&' },
	{ "quot", '"' },   { "apos", '\'' },    { "ensp", 0x20 },    { "emsp", 0x20 },
	{ "thinsp", 0x20 }, { "copy", 0xa9 },   { "reg", 0xae },     { "middot", 0xb7 },
	{ "times", 0xd7 }, { "divide", 0xf7 },  { "yen", 0xa5 },     { "deg", 0xb0 },
	{ "hellip", 0x2026 }, { "mdash", 0x2014 }, { "ndash", 0x2013 }, { "ldquo", 0x201c },
	{ "rdquo", 0x201d }, { "lsquo", 0x2018 }, { "rsquo", 0x2019 }, { "bull", 0x2022 },
	{ "laquo", 0xab }, { "raquo", 0xbb },   { "sect", 0xa7 },    { "para", 0xb6 },
	{ "plusmn", 0xb1 }, { "trade", 0x2122 }, { "euro", 0x20ac },
};

/* Reads a character reference at p (after '&'): writes its code point and returns the bytes it
 * takes (with ';'), or 0 when p starts none. */
static size_t
entity(const char *p, unsigned *cp)
{
	size_t i, n;
	unsigned long v;
	char *end;

	if (p[0] == '#') {
		if (p[1] == 'x' || p[1] == 'X')
			v = strtoul(p + 2, &end, 16);
		else
			v = strtoul(p + 1, &end, 10);
		if (end == p + 1 || end == p + 2 || *end != ';' || v == 0 || v > 0x10ffff ||
		    (v >= 0xd800 && v <= 0xdfff) || end - p > 10)
			return 0;
		*cp = (unsigned)v;
		return (size_t)(end - p) + 1;
	}
	for (i = 0; i < sizeof(entities) / sizeof(entities[0]); i++) {
		n = strlen(entities[i].name);
		if (strncmp(p, entities[i].name, n) == 0 && p[n] == ';') {
			*cp = entities[i].cp;
			return n + 1;
		}
	}
	/* the rest of HTML 4's named references (&rarr;, &hellip;, &frac12;…): libxml2's table */
	for (n = 0; n < 15 && isalnum((unsigned char)p[n]); n++)
		;
	if (n > 0 && p[n] == ';') {
		char name[16];
		const htmlEntityDesc *e;

		memcpy(name, p, n);
		name[n] = '\0';
		e = htmlEntityLookup((const xmlChar *)name);
		if (e != NULL && e->value != 0) {
			*cp = e->value;
			return n + 1;
		}
	}
	return 0;
}

static void
put_text(GString *out, const char *p, size_t n, int decode)
{
	size_t i, k;
	unsigned cp;

	for (i = 0; i < n; i++) {
		if (decode && p[i] == '&') {
			k = entity(p + i + 1, &cp);
			if (k > 0 && i + 1 + k <= n) {
				g_string_append_unichar(out, (gunichar)cp);
				i += k;
				continue;
			}
		}
		g_string_append_c(out, p[i]);
	}
}

/* s (taken) with each no-break space (U+00A0) made a space, and the spaces at the end of each
 * line dropped (a line of no-break spaces alone is an empty line): a new GLib string. */
static char *
nbsp_spaces(GString *s)
{
	GString *out = g_string_sized_new(s->len);
	size_t i;

	for (i = 0; i < s->len; i++) {
		if ((unsigned char)s->str[i] == 0xc2 && (unsigned char)s->str[i + 1] == 0xa0) {
			g_string_append_c(out, ' ');
			i++;
			continue;
		}
		if (s->str[i] == '\n')
			while (out->len > 0 && out->str[out->len - 1] == ' ')
				g_string_truncate(out, out->len - 1);
		g_string_append_c(out, s->str[i]);
	}
	g_string_free(s, TRUE);
	return g_string_free(out, FALSE);
}

char *
mail_entities_decode(const char *text)
{
	GString *out = g_string_sized_new(strlen(text));

	put_text(out, text, strlen(text), 1);
	return nbsp_spaces(out);
}

/* Tags after which a line ends. */
static const char *const block_tags[] = {
	"br", "p", "div", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol",
	"blockquote", "pre", "hr", "dd", "dt", "section", "article", "header", "footer", "title",
};
/* Elements whose content is not text. */
static const char *const skip_tags[] = { "script", "style", "head", "object", "template" };

static int
tag_in(const char *name, const char *const *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (g_ascii_strcasecmp(name, list[i]) == 0)
			return 1;
	return 0;
}

void
mail_text_init(void)
{
	xmlInitParser();
}

char *
mail_html_charset(const char *buf, size_t len)
{
	htmlDocPtr doc;
	char *cs = NULL;

	/* libxml2 reads the document as the HTML standard says, switching to the charset a <meta>
	 * declares; which one it found is the document's encoding. Nothing is fetched, nothing
	 * said on stderr. */
	doc = htmlReadMemory(buf, (int)(len < HTML_META_SCAN ? len : HTML_META_SCAN), NULL, NULL,
	                     HTML_PARSE_RECOVER | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING |
	                         HTML_PARSE_NONET | HTML_PARSE_NOBLANKS);
	if (doc == NULL)
		return NULL;
	if (doc->encoding != NULL && doc->encoding[0] != '\0' &&
	    g_ascii_strncasecmp((const char *)doc->encoding, "UTF-16", 6) != 0 &&
	    g_ascii_strncasecmp((const char *)doc->encoding, "UTF-32", 6) != 0)
		cs = g_strdup((const char *)doc->encoding);
	xmlFreeDoc(doc);
	return cs;
}

char *
mail_html_text(const char *html, size_t len)
{
	GString *out = g_string_sized_new(len / 2 + 16);
	const char *p = html, *end = html + len, *q;
	char name[16], skip[16] = "";
	size_t n;
	int closing;

	while (p < end) {
		if (*p != '<') {
			q = p;
			while (q < end && *q != '<')
				q++;
			if (skip[0] == '\0') {
				/* runs of white space (HTML source layout) become one space */
				const char *r;

				for (r = p; r < q; r++) {
					if (*r == ' ' || *r == '\n' || *r == '\r' || *r == '\t') {
						if (out->len > 0 && out->str[out->len - 1] != ' ' &&
						    out->str[out->len - 1] != '\n')
							g_string_append_c(out, ' ');
						continue;
					}
					n = 1;
					while (r + n < q && r[n] != ' ' && r[n] != '\n' && r[n] != '\r' &&
					       r[n] != '\t')
						n++;
					put_text(out, r, n, 1);
					r += n - 1;
				}
			}
			p = q;
			continue;
		}
		/* a comment, a declaration or a tag */
		if (end - p >= 4 && strncmp(p, "<!--", 4) == 0) {
			q = g_strstr_len(p + 4, end - p - 4, "-->");
			p = q != NULL ? q + 3 : end;
			continue;
		}
		q = p + 1;
		closing = q < end && *q == '/';
		if (closing)
			q++;
		n = 0;
		while (q < end && (isalnum((unsigned char)*q)) && n + 1 < sizeof(name))
			name[n++] = *q++;
		name[n] = '\0';
		/* the end of the tag, quotes respected */
		{
			char quote = 0;

			while (q < end && (quote != 0 || *q != '>')) {
				if (quote != 0 && *q == quote)
					quote = 0;
				else if (quote == 0 && (*q == '"' || *q == '\''))
					quote = *q;
				q++;
			}
		}
		p = q < end ? q + 1 : end;
		if (n == 0)
			continue;
		if (skip[0] != '\0') {
			if (closing && g_ascii_strcasecmp(name, skip) == 0)
				skip[0] = '\0';
			continue;
		}
		if (!closing && tag_in(name, skip_tags, sizeof(skip_tags) / sizeof(skip_tags[0]))) {
			g_strlcpy(skip, name, sizeof(skip));
			continue;
		}
		if (tag_in(name, block_tags, sizeof(block_tags) / sizeof(block_tags[0]))) {
			while (out->len > 0 && out->str[out->len - 1] == ' ')
				g_string_truncate(out, out->len - 1);
			if (g_ascii_strcasecmp(name, "br") == 0 || out->len == 0 ||
			    out->str[out->len - 1] != '\n')
				g_string_append_c(out, '\n');
		} else if (g_ascii_strcasecmp(name, "td") == 0 || g_ascii_strcasecmp(name, "th") == 0) {
			if (!closing && out->len > 0 && out->str[out->len - 1] != '\n')
				g_string_append_c(out, '\t');
		}
	}
	/* no-break spaces (&nbsp;) are text until here: a paragraph of them alone is a line, the
	 * blank line Outlook writes between paragraphs as <p>&nbsp;</p> */
	return mail_clean(nbsp_spaces(out), 1);
}
