/*
 * text.c: charsets and text of mail-in: which iconv name a label is decoded with (GB18030 for
 * every Chinese GB label), conversions through GMime's charset filter, HTML made plain text and
 * the character references QQ Mail leaves in text/plain. The decoding itself is GMime's and
 * iconv's, the HTML parsing libxml2's; this file only chooses names and cleans the result.
 */
#include <ctype.h>
#include <iconv.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/HTMLparser.h>
#include <libxml/parserInternals.h>

#include "mailin_int.h"

/* Labels decoded with another table than iconv's of the same name: the GB family with
 * GB18030 (a superset; gb2312 labels carry GBK characters, and A1AA is U+2014 there); the
 * Korean labels with CP949 (Unified Hangul Code, a superset of EUC-KR that Outlook sends as
 * ks_c_5601-1987 and Korean webmail as euc-kr: GMime's EUC-KR lost 똠, 햏 and the other
 * syllables outside KS X 1001); UTF-7 under the IANA names iconv and GMime's alias table do not
 * know (unicode-1-1-utf-7, as old Exchange and Lotus gateways label it). */
static const struct {
	const char *contains; /* lower-case substring of the label */
	const char *iconv;
} label_map[] = {
	{ "gb2312", "GB18030" },  { "gbk", "GB18030" },    { "gb18030", "GB18030" },
	{ "euc-cn", "GB18030" },  { "euccn", "GB18030" },  { "cp936", "GB18030" },
	{ "ms936", "GB18030" },   { "windows-936", "GB18030" }, { "csgb", "GB18030" },
	{ "big5-hkscs", "BIG5-HKSCS" }, { "big5hkscs", "BIG5-HKSCS" }, { "big5", "BIG5" },
	{ "big-5", "BIG5" },      { "cp950", "BIG5" },    { "utf-7", "UTF-7" },
	{ "utf7", "UTF-7" },      { "ks_c_5601", "CP949" }, { "ksc5601", "CP949" },
	{ "euc-kr", "CP949" },    { "euckr", "CP949" },   { "cp949", "CP949" },
	{ "windows-949", "CP949" },
};

/* Labels that name no charset: "x-unknown" (Outlook Express, old Exchange: the sender's
 * system did not say), RFC 1428's "unknown-8bit", "x-user-defined". They are read with the
 * fallbacks as unlabelled text is (GMime took x-unknown for the process's locale: GBK text was
 * read as UTF-8 or Latin-1 mojibake). */
static const char *const no_charset[] = { "unknown", "x-user-defined" };

/* Whether label (lower case) is one of no_charset. */
static int
names_no_charset(const char *low)
{
	size_t i;

	for (i = 0; i < sizeof(no_charset) / sizeof(no_charset[0]); i++)
		if (strstr(low, no_charset[i]) != NULL)
			return 1;
	return 0;
}

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
	if (names_no_charset(low))
		return NULL;
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
	if (name != NULL && strcmp(name, "GB18030") != 0 && strncmp(name, "BIG5", 4) != 0 &&
	    strcmp(name, "UTF-7") != 0 && strcmp(name, "CP949") != 0)
		name = NULL; /* only the labels the table changes are rewritten */
	if (name == NULL) {
		char low[64];
		size_t i;

		for (i = 0; i <= n; i++)
			low[i] = (char)tolower((unsigned char)buf[i]);
		if (names_no_charset(low))
			name = "unknown-8bit"; /* a name iconv does not know: GMime's fallbacks */
	}
	g_string_append(out, name != NULL ? name : buf);
}

static int
label_char(int c)
{
	return isalnum(c) || c == '-' || c == '_' || c == '.' || c == ':';
}

void
mail_word_charsets(const char *value, int *big5, int *gb)
{
	const char *p = value, *q;
	char label[64];
	const char *name;
	size_t n;

	while (p != NULL && (p = strstr(p, "=?")) != NULL) {
		p += 2;
		for (q = p; label_char((unsigned char)*q); q++)
			;
		n = (size_t)(q - p);
		if (*q == '*') /* RFC 2231's language after the charset */
			for (q++; label_char((unsigned char)*q); q++)
				;
		/* an encoded word: =?charset?B?… or =?charset?Q?… */
		if (n == 0 || n >= sizeof(label) || q[0] != '?' || strchr("BbQq", q[1]) == NULL ||
		    q[1] == '\0' || q[2] != '?')
			continue;
		memcpy(label, p, n);
		label[n] = '\0';
		name = mail_charset(label);
		if (name != NULL && strncmp(name, "BIG5", 4) == 0)
			*big5 = 1;
		else if (name != NULL && strcmp(name, "GB18030") == 0)
			*gb = 1;
		p = q + 3;
	}
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

/* One encoded word "=?charset[*lang]?B?text?=" (or ?Q?). */
struct b_word {
	const char *cs, *cs_end;     /* the charset label */
	const char *text, *text_end; /* the base64 (or Q) text */
	const char *end;             /* after its "?=" */
	int q;                       /* 1: Q-encoded */
};

/* Whether p starts an encoded word, B or Q; if so, its parts into *w. */
static int
b_word_at(const char *p, struct b_word *w)
{
	const char *q, *star;

	if (p[0] != '=' || p[1] != '?')
		return 0;
	w->cs = p + 2;
	q = strchr(w->cs, '?');
	if (q == NULL || q == w->cs || strchr("BbQq", q[1]) == NULL || q[1] == '\0' || q[2] != '?')
		return 0;
	w->q = q[1] == 'Q' || q[1] == 'q';
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

/* Appends the bytes the Q text of w stands for: quoted-printable (GMime decodes) with "_" for
 * a space (RFC 2047 4.2). */
static void
append_q_bytes(GByteArray *to, const struct b_word *w)
{
	GString *qp = g_string_sized_new((gsize)(w->text_end - w->text) + 8);
	GMimeEncoding st;
	const char *p;
	size_t n;
	guint at = to->len;

	for (p = w->text; p < w->text_end; p++) {
		if (*p == '_')
			g_string_append(qp, "=20");
		else
			g_string_append_c(qp, *p);
	}
	g_mime_encoding_init_decode(&st, GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE);
	g_byte_array_set_size(to, at + (guint)g_mime_encoding_outlen(&st, qp->len));
	n = g_mime_encoding_flush(&st, qp->str, qp->len, (char *)to->data + at);
	g_byte_array_set_size(to, at + (guint)n);
	g_string_free(qp, TRUE);
}

/* Appends the bytes the base64 (or Q) text of w stands for (GLib decodes base64). */
static void
append_bytes(GByteArray *to, const struct b_word *w)
{
	/* padded to whole quanta: some mailers leave the '=' out, and GLib (as GMime) drops the
	 * bytes of an unfinished quantum */
	static const char *const pad[4] = { "", "", "==", "=" };
	size_t len = (size_t)(w->text_end - w->text);
	char *text;
	gsize n = 0;
	guchar *bytes;

	if (w->q) {
		append_q_bytes(to, w);
		return;
	}
	text = g_strdup_printf("%.*s%s", (int)len, w->text, pad[len % 4]);
	bytes = g_base64_decode(text, &n);
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

/* Whether the bytes of words under label (n bytes of it, a Big5 one) need Big5-HKSCS's table:
 * Big5's cannot read them whole and HKSCS's can (a Subject in Big5 from Hong Kong, with 嘅 or
 * 㗎, which GMime's Big5 lost). */
static int
big5_hkscs(const char *label, size_t n, const GByteArray *bytes)
{
	char low[32], *s;
	const char *name;
	int ok;

	if (n == 0 || n >= sizeof(low) || bytes->len == 0)
		return 0;
	memcpy(low, label, n);
	low[n] = '\0';
	name = mail_charset(low);
	if (name == NULL || strcmp(name, "BIG5") != 0)
		return 0;
	s = g_convert((const char *)bytes->data, (gssize)bytes->len, "UTF-8", "BIG5", NULL, NULL,
	              NULL);
	if (s != NULL) {
		g_free(s);
		return 0;
	}
	s = g_convert((const char *)bytes->data, (gssize)bytes->len, "UTF-8", "BIG5-HKSCS", NULL,
	              NULL, NULL);
	ok = s != NULL;
	g_free(s);
	return ok;
}

static char *gbk_mislabelled(const char *name, const char *buf, size_t len);

/* Whether the bytes of words under label (n bytes of it, a Latin-1 one) are GBK instead, as
 * gbk_mislabelled tells text. */
static int
latin1_gbk(const char *label, size_t n, const GByteArray *bytes)
{
	char low[32], *s;
	int ok;

	if (n == 0 || n >= sizeof(low) || bytes->len == 0)
		return 0;
	memcpy(low, label, n);
	low[n] = '\0';
	s = gbk_mislabelled(mail_charset(low), (const char *)bytes->data, bytes->len);
	ok = s != NULL;
	g_free(s);
	return ok;
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
	 * '=' (GMime issue #133), and decodes a B word and a Q word apart (a character split
	 * between them was lost, and the GBK after it misaligned). So each run of encoded words of
	 * one charset, B or Q, apart by white space only, becomes one B word holding the bytes of
	 * them all (GLib's base64, GMime's quoted-printable), which GMime then decodes in that
	 * charset: split characters are whole again and no padding is in the way. A GB or Latin-1
	 * label on UTF-8 bytes is made UTF-8 on the way, a Big5 one on HKSCS characters
	 * Big5-HKSCS, and a Latin-1 one on GBK GB18030. */
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
		        : big5_hkscs(w.cs, (size_t)(w.cs_end - w.cs), bytes) ? "BIG5-HKSCS"
		        : latin1_gbk(w.cs, (size_t)(w.cs_end - w.cs), bytes)  ? "GB18030"
		                                                              : NULL;
		if (run == 1 && label == NULL && (w.q || (w.text_end - w.text) % 4 == 0)) {
			/* as it came */
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

/* Whether charset name writes its text in units of two or four bytes (UTF-16, UTF-32, UCS-2,
 * UCS-4, and "unicode", which glibc reads as UCS-2 with a byte order mark): a 0x00 byte is
 * half of a character there, and bytes that are all ASCII are not ASCII text. */
static int
wide_coded(const char *name)
{
	return name != NULL && (g_ascii_strncasecmp(name, "UTF-16", 6) == 0 ||
	                        g_ascii_strncasecmp(name, "UTF-32", 6) == 0 ||
	                        g_ascii_strncasecmp(name, "UCS-2", 5) == 0 ||
	                        g_ascii_strncasecmp(name, "UCS-4", 5) == 0 ||
	                        g_ascii_strcasecmp(name, "UNICODE") == 0);
}

/* NUL characters of UTF-8 text s[0..len) made spaces, so that the string goes on past them. */
static void
nul_spaces(char *s, size_t len)
{
	char *p = s;

	while (len > 0 && (p = memchr(p, '\0', len - (size_t)(p - s))) != NULL)
		*p++ = ' ';
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
		nul_spaces((char *)ba->data, ba->len); /* U+0000 of UTF-16 text */
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

/* The text of buf[0..len) under a Latin-1 label (iso-8859-1, windows-1252: name is its iconv
 * name) read as GB18030 when it is GBK instead, as a GBK web page's form posts it through a
 * mailer whose default label is Latin-1, and old clients send it: GB18030 reads every byte of it
 * and two Han characters follow each other somewhere (four bytes from 0x81 up in a row, which
 * the accented letters of Western text are not: "Café fermé" has a blank or the end after each,
 * which GBK cannot); a GLib string, or NULL. */
static char *
gbk_mislabelled(const char *name, const char *buf, size_t len)
{
	static const char *const latin1[] = { "ISO-8859-1", "ISO8859-1", "LATIN1", "CP1252",
		                              "WINDOWS-1252" };
	const char *p;
	char *s;
	size_t i;
	int listed = 0, han = 0;

	for (i = 0; name != NULL && i < sizeof(latin1) / sizeof(latin1[0]); i++)
		listed |= g_ascii_strcasecmp(name, latin1[i]) == 0;
	if (!listed)
		return NULL;
	s = g_convert(buf, (gssize)len, "UTF-8", "GB18030", NULL, NULL, NULL);
	for (p = s; p != NULL && *p != '\0' && han < 2; p = g_utf8_next_char(p))
		han = g_unichar_get_script(g_utf8_get_char(p)) == G_UNICODE_SCRIPT_HAN ? han + 1 : 0;
	if (han < 2) {
		g_free(s);
		return NULL;
	}
	return s;
}

/* UTF-8 text buf[0..len) (no NUL in it) whose only invalid bytes are 0x80 where a character
 * would start, as a copy with each of them a space, or NULL when it is not so. An IMAP literal
 * cannot hold a NUL (RFC 3501's CHAR8): Dovecot sends each NUL of an 8-bit part as 0x80, which
 * UTF-8 has only inside a character; read so, a polled letter with a NUL was Latin-1 mojibake
 * (the fallbacks) where the piped one was its text. */
static char *
imap_nuls(const char *buf, size_t len)
{
	char *s = g_strndup(buf, len), *p = s;
	const char *end;

	while (!g_utf8_validate(p, (gssize)(len - (size_t)(p - s)), &end)) {
		if ((unsigned char)*end != 0x80) {
			g_free(s);
			return NULL;
		}
		p = (char *)end;
		*p++ = ' ';
	}
	return s;
}

/* mail_decode of buf[0..len), len > 0, under label whose iconv name is name. */
static char *
decode(GMimeParserOptions *opts, const char *label, const char *name, const char *buf,
       size_t len)
{
	char *s;

	if (is_ascii(buf, len) && !seven_bit_coded(name) && !wide_coded(name))
		return g_strndup(buf, len);
	/* labelled UTF-8, or unlabelled (raw 8-bit headers, whose NUL Dovecot sends as 0x80 too) */
	if (name == NULL || g_ascii_strcasecmp(name, "UTF-8") == 0) {
		if (g_utf8_validate(buf, (gssize)len, NULL))
			return g_strndup(buf, len);
		s = imap_nuls(buf, len);
		if (s != NULL)
			return s;
		name = NULL; /* labelled UTF-8 but not: the fallbacks */
	}
	if (label != NULL && utf8_mislabelled(label, strlen(label), buf, len))
		return g_strndup(buf, len);
	s = gbk_mislabelled(name, buf, len);
	if (s != NULL)
		return s;
	/* Big5 as Hong Kong writes it: the HKSCS characters (嘅, 㗎, 𡃁) under a plain Big5 label
	 * (Outlook on Windows with the HKSCS update), and in the raw 8-bit headers of a letter in
	 * Big5-HKSCS, which are read as Big5: lost by the Big5 table, read by Big5-HKSCS's. Text
	 * that Big5 reads whole stays Big5's (the two tables differ on some signs: ～ ∼). */
	if (name != NULL && strcmp(name, "BIG5") == 0) {
		s = g_convert(buf, (gssize)len, "UTF-8", "BIG5", NULL, NULL, NULL);
		if (s == NULL)
			s = g_convert(buf, (gssize)len, "UTF-8", "BIG5-HKSCS", NULL, NULL, NULL);
		if (s != NULL)
			return s;
	}
	if (name != NULL && g_ascii_strcasecmp(name, "US-ASCII") != 0 &&
	    g_ascii_strcasecmp(name, "ASCII") != 0 && g_ascii_strcasecmp(name, "ANSI_X3.4-1968") != 0) {
		s = convert(name, buf, len);
		if (s != NULL)
			return s;
	}
	return g_mime_utils_decode_8bit(opts, buf, len);
}

char *
mail_decode(GMimeParserOptions *opts, const char *label, const char *buf, size_t len)
{
	const char *name = mail_charset(label);
	char *copy = NULL, *s;

	if (len == 0) /* buf may be NULL then (an empty part's GByteArray) */
		return g_strdup("");
	/* A NUL byte (0x00) in a byte-oriented charset is the character NUL, never part of
	 * another: a space here, as any control character becomes in mail_clean, so that the
	 * text after it is kept instead of ending the C string there (a scanner's or a broken
	 * client's NUL in text/plain cut the letter silently). In UTF-16 and UTF-32 the
	 * converted text is looked at instead. */
	if (!wide_coded(name) && memchr(buf, '\0', len) != NULL) {
		copy = g_malloc(len);
		memcpy(copy, buf, len);
		nul_spaces(copy, len);
		buf = copy;
	}
	s = decode(opts, label, name, buf, len);
	g_free(copy);
	return s;
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

/* What a numeric character reference to 128–159 stands for, as the HTML standard reads it: the
 * character of windows-1252 at that byte (the references were written by software that took
 * the page's bytes for code points); 0 where that code page has none (the code point stays). */
static const unsigned short cp1252_c1[32] = {
	0x20ac, 0,      0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021, /* 0x80 */
	0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0,      0x017d, 0,      /* 0x88 */
	0,      0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014, /* 0x90 */
	0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0,      0x017e, 0x0178, /* 0x98 */
};

/* cp as a numeric reference to it reads (cp1252_c1). */
static unsigned
numeric_ref(unsigned cp)
{
	return cp >= 0x80 && cp <= 0x9f && cp1252_c1[cp - 0x80] != 0 ? cp1252_c1[cp - 0x80] : cp;
}

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
		*cp = numeric_ref((unsigned)v);
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

void
mail_text_init(void)
{
	xmlInitParser();
}

/* The charset a <meta> element's content attribute names ("text/html; charset=gbk"), as the
 * HTML standard extracts it: after "charset", blanks, "=", blanks, a quoted or bare value (up to a
 * blank or ";"). A GLib string, or NULL. */
static char *
content_charset(const char *content)
{
	const char *p = content, *v;
	size_t n;

	while ((p = strcasestr(p, "charset")) != NULL) {
		p += 7;
		while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == '\f')
			p++;
		if (*p != '=')
			continue;
		p++;
		while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == '\f')
			p++;
		if (*p == '"' || *p == '\'') {
			v = strchr(p + 1, *p);
			return v != NULL && v > p + 1 ? g_strndup(p + 1, (gsize)(v - p - 1)) : NULL;
		}
		n = strcspn(p, " \t\n\r\f;");
		return n > 0 ? g_strndup(p, n) : NULL;
	}
	return NULL;
}

struct meta_scan {
	xmlParserCtxtPtr ctxt;
	char *charset; /* the first one declared (GLib string), or NULL */
};

/* A start tag seen by the scan: a <meta> declaring a charset (charset="…", or http-equiv
 * Content-Type with a content naming one) ends it. */
static void
meta_start(void *cls, const xmlChar *name, const xmlChar **atts)
{
	struct meta_scan *m = cls;
	const char *cs = NULL, *equiv = NULL, *content = NULL;
	size_t i;

	if (m->charset != NULL || xmlStrcasecmp(name, (const xmlChar *)"meta") != 0)
		return;
	for (i = 0; atts != NULL && atts[i] != NULL; i += 2) {
		const char *v = atts[i + 1] != NULL ? (const char *)atts[i + 1] : "";

		if (xmlStrcasecmp(atts[i], (const xmlChar *)"charset") == 0 && cs == NULL)
			cs = v;
		else if (xmlStrcasecmp(atts[i], (const xmlChar *)"http-equiv") == 0)
			equiv = v;
		else if (xmlStrcasecmp(atts[i], (const xmlChar *)"content") == 0)
			content = v;
	}
	if (cs != NULL)
		m->charset = g_strstrip(g_strdup(cs));
	else if (equiv != NULL && content != NULL && g_ascii_strcasecmp(equiv, "content-type") == 0)
		m->charset = content_charset(content);
	if (m->charset != NULL && m->charset[0] == '\0') {
		g_free(m->charset);
		m->charset = NULL;
	}
	if (m->charset != NULL)
		xmlStopParser(m->ctxt);
}

char *
mail_html_charset(const char *buf, size_t len)
{
	struct meta_scan m;
	htmlSAXHandler sax;
	xmlCharEncodingHandlerPtr latin1;
	char *cs;

	/* libxml2's HTML parser finds the elements (tags, attributes, comments as its error
	 * recovery reads them); the scan takes the first <meta> that declares a charset. The
	 * parser switches to no charset (HTML_PARSE_IGNORE_ENC) and reads the bytes as Latin-1,
	 * which every byte is: a conversion that fails would be reported by libxml2 on stderr
	 * through its process-wide handler, quoting the citizen's bytes. Nothing is fetched,
	 * nothing said. */
	if (len == 0)
		return NULL;
	memset(&m, 0, sizeof(m));
	m.ctxt =
	    htmlCreateMemoryParserCtxt(buf, (int)(len < HTML_META_SCAN ? len : HTML_META_SCAN));
	if (m.ctxt == NULL)
		return NULL;
	memset(&sax, 0, sizeof(sax));
	sax.startElement = meta_start;
	sax.initialized = 1;
	*m.ctxt->sax = sax;
	m.ctxt->userData = &m;
	htmlCtxtUseOptions(m.ctxt, HTML_PARSE_RECOVER | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING |
	                               HTML_PARSE_NONET | HTML_PARSE_IGNORE_ENC);
	latin1 = xmlFindCharEncodingHandler("ISO-8859-1");
	if (latin1 != NULL)
		xmlSwitchToEncoding(m.ctxt, latin1);
	htmlParseDocument(m.ctxt);
	htmlFreeParserCtxt(m.ctxt);
	cs = m.charset;
	/* UTF-16/32, which 8-bit markup cannot be: read as UTF-8, as HTML does */
	if (cs != NULL && (g_ascii_strncasecmp(cs, "UTF-16", 6) == 0 ||
	                   g_ascii_strncasecmp(cs, "UTF-32", 6) == 0)) {
		g_free(cs);
		cs = NULL;
	}
	return cs;
}

/* HTML to text: libxml2's HTML parser reads the document (tags, character references, comments,
 * unclosed and misnested elements, as its error recovery does) and tells its elements and text
 * in document order (SAX, no tree); the handlers below write what a reader of the rendered mail
 * sees, as lines. */

/* What an element is to the reader. */
enum tag {
	TAG_UNSEEN, /* its content is never seen: the head, scripts and styles, Word's XML islands,
	             * what embedded objects hold */
	TAG_BLOCK,  /* stands on lines of its own */
	TAG_BR,
	TAG_CELL,   /* td, th */
	TAG_A,
	TAG_QUOTE,  /* blockquote (a block) */
	TAG_PRE,    /* a block */
	TAG_LIST,   /* ul, menu, dir (blocks) */
	TAG_OL,     /* a block */
	TAG_TR,     /* a block */
	TAG_LI,     /* a block */
};

/* The elements that are not inline text, by name (libxml2 gives HTML names in lower case). */
static const struct tag_name {
	const char *name;
	enum tag tag;
} tags[] = { /* sorted by name (strcmp) */
	{ "a", TAG_A },           { "address", TAG_BLOCK },    { "article", TAG_BLOCK },
	{ "aside", TAG_BLOCK },   { "blockquote", TAG_QUOTE }, { "br", TAG_BR },
	{ "caption", TAG_BLOCK }, { "center", TAG_BLOCK },     { "dd", TAG_BLOCK },
	{ "details", TAG_BLOCK }, { "dialog", TAG_BLOCK },     { "dir", TAG_LIST },
	{ "div", TAG_BLOCK },     { "dl", TAG_BLOCK },         { "dt", TAG_BLOCK },
	{ "fieldset", TAG_BLOCK }, { "figcaption", TAG_BLOCK }, { "figure", TAG_BLOCK },
	{ "footer", TAG_BLOCK },  { "form", TAG_BLOCK },       { "h1", TAG_BLOCK },
	{ "h2", TAG_BLOCK },      { "h3", TAG_BLOCK },         { "h4", TAG_BLOCK },
	{ "h5", TAG_BLOCK },      { "h6", TAG_BLOCK },         { "head", TAG_UNSEEN },
	{ "header", TAG_BLOCK },  { "hr", TAG_BLOCK },         { "iframe", TAG_UNSEEN },
	{ "legend", TAG_BLOCK },  { "li", TAG_LI },            { "main", TAG_BLOCK },
	{ "menu", TAG_LIST },     { "nav", TAG_BLOCK },        { "noembed", TAG_UNSEEN },
	{ "noframes", TAG_UNSEEN }, { "object", TAG_UNSEEN },  { "ol", TAG_OL },
	{ "p", TAG_BLOCK },       { "pre", TAG_PRE },          { "script", TAG_UNSEEN },
	{ "section", TAG_BLOCK }, { "style", TAG_UNSEEN },     { "summary", TAG_BLOCK },
	{ "table", TAG_BLOCK },   { "td", TAG_CELL },          { "template", TAG_UNSEEN },
	{ "th", TAG_CELL },       { "title", TAG_UNSEEN },     { "tr", TAG_TR },
	{ "ul", TAG_LIST },       { "xml", TAG_UNSEEN },
};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))
#define HTML_LISTS 16               /* nested lists whose item numbers are kept */
#define HTML_HREF_MAX 2048          /* bytes of a link's address written after its text */
#define HTML_TEXT_MAX (1024 * 1024) /* bytes of text written; the parse stops there */

struct html_out {
	xmlParserCtxtPtr ctxt;
	GString *s;
	int bol;                /* at a line's start: its quote prefix not yet written */
	int brk;                /* a block ended or started: a new line before the next text */
	int marker;             /* the line holds a list item's marker alone */
	int cell;               /* a table cell started and has no text yet */
	int row;                /* a table row started and has no cell yet */
	int space;              /* white space seen since the last character written */
	int depth;              /* elements open */
	int skip;               /* the depth of the unseen element being passed over (0: none) */
	int quote;              /* blockquote depth: a ">" each before a line */
	int pre;                /* inside <pre>: white space as written */
	int lists;              /* ul/ol open */
	int number[HTML_LISTS]; /* each open list's next item number (0: bullets) */
	char *href;             /* the address of the <a> being written (GLib string) */
	int link_depth;         /* its depth */
	size_t link_at;         /* where its text starts in s */
	int amp;                /* a "&" that libxml2 read as no reference is held: the name
	                         * after it may be one written without its ";" */
	int semi;               /* such a name was read whole: a ";" right after it is its own */
	int style;              /* the depth of the <style> whose text is being read (0: none) */
	GString *css;           /* that text (at most CSS_MAX bytes) */
	GHashTable *rules;      /* selector (".x", "#y", "span.x") → struct css_rule, or NULL */
	unsigned order;         /* rules read so far: a later one wins a tie */
};

#define CSS_MAX (256 * 1024) /* bytes of a <style> block read for its rules */
#define CSS_RULES 1024       /* selectors kept */

/* What the declarations of a style say of a property: unset, hides, shows. */
enum css_say { CSS_UNSET, CSS_HIDES, CSS_SHOWS };

/* The hiding properties a selector of a <style> block sets, each with its rule's place. */
struct css_rule {
	enum css_say display, visibility;
	unsigned display_at, visibility_at;
};

static int
tag_cmp(const void *key, const void *entry)
{
	return strcmp(key, *(const char *const *)entry);
}

/* What element name is (-1: inline text, or unknown: its content is text). */
static int
tag_of(const xmlChar *name)
{
	const void *e = bsearch(name, tags, N_OF(tags), sizeof(tags[0]), tag_cmp);

	return e != NULL ? (int)((const struct tag_name *)e)->tag : -1;
}

/* The value of attribute name in a start tag's atts (name, value, …, NULL), or NULL. An
 * attribute without a value (<p hidden>) has "". */
static const char *
attr(const xmlChar **atts, const char *name)
{
	size_t i;

	for (i = 0; atts != NULL && atts[i] != NULL; i += 2)
		if (xmlStrcasecmp(atts[i], (const xmlChar *)name) == 0)
			return atts[i + 1] != NULL ? (const char *)atts[i + 1] : "";
	return NULL;
}

/* Writes the quote prefix of a line about to get content. */
static void
out_prefix(struct html_out *o)
{
	int i;

	if (!o->bol)
		return;
	for (i = 0; i < o->quote; i++)
		g_string_append_c(o->s, '>');
	if (o->quote > 0)
		g_string_append_c(o->s, ' ');
	o->bol = 0;
	o->space = 0;
}

/* Ends the line, without the blanks at its end. */
static void
out_newline(struct html_out *o)
{
	while (o->s->len > 0 &&
	       (o->s->str[o->s->len - 1] == ' ' || o->s->str[o->s->len - 1] == '\t'))
		g_string_truncate(o->s, o->s->len - 1);
	g_string_append_c(o->s, '\n');
	o->bol = 1;
	o->space = 0;
	o->marker = 0;
}

/* A block starts or ends: the next text goes on a new line, unless it is the first of a list
 * item (after its marker) or of a table cell (cells of a row stay on its line). */
static void
out_block(struct html_out *o)
{
	if (o->marker || o->cell)
		return;
	o->brk = 1;
	o->space = 0;
}

/* Before content: the new line a block owes. */
static void
out_flush(struct html_out *o)
{
	if (o->brk && !o->bol)
		out_newline(o);
	o->brk = 0;
}

/* len bytes of text as rendered: each run of HTML white space one space, none at a line's start
 * (inside <pre>, as written). U+00A0 is text here (nbsp_spaces makes it a space at the end). */
static void
out_text(struct html_out *o, const char *t, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		char c = t[i];

		if (o->pre && (c == '\n' || c == '\r')) {
			if (c == '\n') {
				out_flush(o);
				out_prefix(o);
				out_newline(o);
			}
			continue;
		}
		if (!o->pre && (c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f')) {
			o->space = 1;
			continue;
		}
		out_flush(o);
		if (o->bol)
			out_prefix(o);
		else if (o->space && !o->cell) /* none at a cell's start either */
			g_string_append_c(o->s, ' ');
		o->cell = o->row = 0;
		o->space = 0;
		o->marker = 0;
		g_string_append_c(o->s, c);
	}
}

/* What the declarations decl ("display:none; color:red") say of display (none hides) and
 * visibility (hidden or collapse hides): each property declared sets *display or *visibility,
 * the last declaration winning; others are left as they are. */
static void
css_declarations(const char *decl, enum css_say *display, enum css_say *visibility)
{
	char **v;
	int i;

	if (strchr(decl, ':') == NULL)
		return;
	v = g_strsplit(decl, ";", 64);
	for (i = 0; v[i] != NULL; i++) {
		char *colon = strchr(v[i], ':'), *prop, *val;

		if (colon == NULL)
			continue;
		*colon = '\0';
		prop = g_strstrip(v[i]);
		val = g_strstrip(colon + 1);
		if (g_ascii_strcasecmp(prop, "display") == 0)
			*display = g_ascii_strncasecmp(val, "none", 4) == 0 &&
			                   (val[4] == '\0' || val[4] == ' ' || val[4] == '!')
			               ? CSS_HIDES
			               : CSS_SHOWS;
		else if (g_ascii_strcasecmp(prop, "visibility") == 0)
			*visibility = g_ascii_strncasecmp(val, "hidden", 6) == 0 ||
			                      g_ascii_strncasecmp(val, "collapse", 8) == 0
			                  ? CSS_HIDES
			                  : CSS_SHOWS;
	}
	g_strfreev(v);
}

/* Whether selector (trimmed) is one this reader applies: a class or an id, after an element
 * name or not (".preheader", "#footer", "span.hide"); nothing else in it. */
static int
css_simple(const char *sel)
{
	const char *p = sel;

	while (g_ascii_isalnum(*p))
		p++;
	if ((*p != '.' && *p != '#') || p[1] == '\0' || (p > sel && !g_ascii_isalpha(sel[0])))
		return 0;
	for (p++; *p != '\0'; p++)
		if (!g_ascii_isalnum(*p) && *p != '-' && *p != '_' && (unsigned char)*p < 0x80)
			return 0;
	return 1;
}

/* Records what rule body decl (between the braces) says for each simple selector of prelude. */
static void
css_rule_add(struct html_out *o, char *prelude, const char *decl)
{
	enum css_say display = CSS_UNSET, visibility = CSS_UNSET;
	struct css_rule *r;
	char **sel, *key, *c;
	int i;

	css_declarations(decl, &display, &visibility);
	if (display == CSS_UNSET && visibility == CSS_UNSET)
		return;
	sel = g_strsplit(prelude, ",", 256);
	for (i = 0; sel[i] != NULL; i++) {
		key = g_strstrip(sel[i]);
		if (!css_simple(key))
			continue;
		for (c = key; *c != '.' && *c != '#'; c++) /* element names as libxml2 gives them */
			*c = g_ascii_tolower(*c);
		if (o->rules == NULL)
			o->rules = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
		r = g_hash_table_lookup(o->rules, key);
		if (r == NULL) {
			if (g_hash_table_size(o->rules) >= CSS_RULES)
				continue;
			r = g_new0(struct css_rule, 1);
			g_hash_table_insert(o->rules, g_strdup(key), r);
		}
		o->order++;
		if (display != CSS_UNSET) {
			r->display = display;
			r->display_at = o->order;
		}
		if (visibility != CSS_UNSET) {
			r->visibility = visibility;
			r->visibility_at = o->order;
		}
	}
	g_strfreev(sel);
}

/* Reads the rules of the <style> block in o->css (comments dropped): the top-level ones (not
 * those of @media, which apply to some screens only, nor of other at-rules). */
static void
css_read(struct html_out *o)
{
	GString *css = g_string_sized_new(o->css->len);
	const char *p = o->css->str, *q;
	char *prelude, *decl, *c;
	int depth;

	while ((q = strstr(p, "/*")) != NULL) {
		g_string_append_len(css, p, q - p);
		g_string_append_c(css, ' ');
		q = strstr(q + 2, "*/");
		if (q == NULL) {
			p = "";
			break;
		}
		p = q + 2;
	}
	g_string_append(css, p);
	for (c = css->str; *c != '\0';) {
		c += strspn(c, " \t\r\n\f}");
		if (*c == '\0')
			break;
		q = c + strcspn(c, *c == '@' ? ";{" : "{");
		if (*q == '\0')
			break;
		if (*c == '@' && *q == ';') { /* @import, @charset */
			c = (char *)q + 1;
			continue;
		}
		if (*c == '@') { /* a block, passed over with what it nests */
			for (depth = 0; *q != '\0'; q++) {
				if (*q == '{')
					depth++;
				else if (*q == '}' && --depth == 0)
					break;
			}
			c = (char *)(*q != '\0' ? q + 1 : q);
			continue;
		}
		prelude = g_strndup(c, (gsize)(q - c));
		c = (char *)q + 1;
		q = c + strcspn(c, "}");
		decl = g_strndup(c, (gsize)(q - c));
		css_rule_add(o, prelude, decl);
		g_free(prelude);
		g_free(decl);
		c = (char *)(*q != '\0' ? q + 1 : q);
	}
	g_string_free(css, TRUE);
}

/* The rule of key, if any, into the winners of each property so far (the more specific, then
 * the later). */
static void
css_match_one(struct html_out *o, const char *key, int spec, enum css_say *display,
              int *display_spec, unsigned *display_at, enum css_say *visibility, int *vis_spec,
              unsigned *vis_at)
{
	const struct css_rule *r = g_hash_table_lookup(o->rules, key);

	if (r == NULL)
		return;
	if (r->display != CSS_UNSET &&
	    (spec > *display_spec || (spec == *display_spec && r->display_at > *display_at))) {
		*display = r->display;
		*display_spec = spec;
		*display_at = r->display_at;
	}
	if (r->visibility != CSS_UNSET &&
	    (spec > *vis_spec || (spec == *vis_spec && r->visibility_at > *vis_at))) {
		*visibility = r->visibility;
		*vis_spec = spec;
		*vis_at = r->visibility_at;
	}
}

/* What the <style> rules say of an element name with atts (its class and id). */
static void
css_match(struct html_out *o, const xmlChar *name, const xmlChar **atts, enum css_say *display,
          enum css_say *visibility)
{
	const char *id = attr(atts, "id"), *cls = attr(atts, "class");
	int dspec = -1, vspec = -1, i;
	unsigned dat = 0, vat = 0;
	char **v, *key;

	if (o->rules == NULL)
		return;
	if (id != NULL && id[0] != '\0') {
		key = g_strconcat("#", id, NULL);
		css_match_one(o, key, 100, display, &dspec, &dat, visibility, &vspec, &vat);
		g_free(key);
		key = g_strconcat((const char *)name, "#", id, NULL);
		css_match_one(o, key, 101, display, &dspec, &dat, visibility, &vspec, &vat);
		g_free(key);
	}
	if (cls == NULL || cls[0] == '\0')
		return;
	v = g_strsplit_set(cls, " \t\r\n\f", 64);
	for (i = 0; v[i] != NULL; i++) {
		if (v[i][0] == '\0')
			continue;
		key = g_strconcat(".", v[i], NULL);
		css_match_one(o, key, 10, display, &dspec, &dat, visibility, &vspec, &vat);
		g_free(key);
		key = g_strconcat((const char *)name, ".", v[i], NULL);
		css_match_one(o, key, 11, display, &dspec, &dat, visibility, &vspec, &vat);
		g_free(key);
	}
	g_strfreev(v);
}

/* Whether an element is hidden from the reader: the hidden attribute, or display:none or
 * visibility:hidden from its inline style or, where that says nothing of them, from a rule of a
 * <style> block read before it (a newsletter's preheader, text hidden on purpose). Such text
 * stays in the raw message kept with the item, never in the body as if written visibly. */
static int
hidden(struct html_out *o, const xmlChar *name, const xmlChar **atts)
{
	const char *style = attr(atts, "style");
	enum css_say display = CSS_UNSET, visibility = CSS_UNSET;

	if (attr(atts, "hidden") != NULL)
		return 1;
	css_match(o, name, atts, &display, &visibility);
	if (style != NULL)
		css_declarations(style, &display, &visibility);
	return display == CSS_HIDES || visibility == CSS_HIDES;
}

/* s without the scheme a reader does not compare (http://, https://, mailto:) and the "/"s at
 * its end: where it starts, and *n its length. */
static const char *
bare_address(const char *s, size_t *n)
{
	static const char *const schemes[] = { "http://", "https://", "mailto:" };
	size_t i, k;

	for (i = 0; i < N_OF(schemes); i++) {
		k = strlen(schemes[i]);
		if (g_ascii_strncasecmp(s, schemes[i], k) == 0) {
			s += k;
			break;
		}
	}
	*n = strlen(s);
	while (*n > 0 && s[*n - 1] == '/')
		(*n)--;
	return s;
}

/* After a link's text: its address in angle brackets, when the link goes somewhere a reader
 * could follow (http, https, ftp; mailto: the address alone) and its text does not say where
 * already (a reader of the mail sees where it goes by pointing at it: a link whose text names
 * another address than it goes to is shown as such). A link of an image alone adds nothing. */
static void
out_link_end(struct html_out *o)
{
	char *href = g_strstrip(o->href), *text, *q;
	const char *shown = href, *x, *y;
	size_t n, m;

	if (g_ascii_strncasecmp(href, "mailto:", 7) == 0) {
		q = strchr(href, '?');
		if (q != NULL)
			*q = '\0';
		shown = href + 7;
	} else if (g_ascii_strncasecmp(href, "http://", 7) != 0 &&
	           g_ascii_strncasecmp(href, "https://", 8) != 0 &&
	           g_ascii_strncasecmp(href, "ftp://", 6) != 0) {
		return; /* javascript:, cid:, #anchor, a relative path: nowhere to follow */
	}
	if (shown[0] == '\0' || strlen(shown) > HTML_HREF_MAX || o->s->len <= o->link_at)
		return;
	text = g_strstrip(g_strndup(o->s->str + o->link_at, o->s->len - o->link_at));
	x = bare_address(text, &n);
	y = bare_address(href, &m);
	if (text[0] != '\0' && (n != m || g_ascii_strncasecmp(x, y, n) != 0)) {
		g_string_append(o->s, " <");
		g_string_append(o->s, shown);
		g_string_append_c(o->s, '>');
		o->space = 0;
	}
	g_free(text);
}

/* The character a named reference written without its ";" stands for when the HTML standard
 * reads it so: the names of HTML 2's Latin-1 characters and of & < > " (as old pages wrote them:
 * &nbsp &copy &eacute), and AMP COPY GT LT QUOT REG; values from libxml2's table. 0 for the first
 * n bytes of name being none of those. */
static unsigned
legacy_ref(const char *name, size_t n)
{
	static const char *const upper[] = { "AMP", "COPY", "GT", "LT", "QUOT", "REG" };
	const htmlEntityDesc *e;
	char buf[8];
	size_t i;

	if (n < 2 || n > 6)
		return 0;
	memcpy(buf, name, n);
	buf[n] = '\0';
	for (i = 0; i < N_OF(upper); i++)
		if (strcmp(buf, upper[i]) == 0)
			for (n = 0; buf[n] != '\0'; n++)
				buf[n] = g_ascii_tolower(buf[n]);
	e = htmlEntityLookup((const xmlChar *)buf);
	if (e == NULL)
		return 0;
	if ((e->value >= 0xa0 && e->value <= 0xff) || e->value == '&' || e->value == '<' ||
	    e->value == '>' || e->value == '"')
		return e->value;
	return 0;
}

/* Writes a "&" held back (o->amp) as text: what came after it was no reference. */
static void
amp_flush(struct html_out *o)
{
	if (o->amp && o->skip == 0)
		out_text(o, "&", 1);
	o->amp = o->semi = 0;
}

static void
html_start(void *cls, const xmlChar *name, const xmlChar **atts)
{
	struct html_out *o = cls;
	const char *start;
	int i, num, tag;

	amp_flush(o);
	o->depth++;
	/* a <style> anywhere (in the head, in a hidden part) applies to the document */
	if (o->style == 0 && xmlStrcasecmp(name, (const xmlChar *)"style") == 0) {
		o->style = o->depth;
		if (o->css == NULL)
			o->css = g_string_new(NULL);
		g_string_truncate(o->css, 0);
	}
	if (o->skip > 0)
		return;
	tag = tag_of(name);
	if (tag == TAG_UNSEEN || hidden(o, name, atts)) {
		o->skip = o->depth;
		return;
	}
	switch (tag) {
	case TAG_BR:
		out_flush(o);
		out_prefix(o); /* a quoted empty line is ">" */
		out_newline(o);
		o->cell = o->row = 0;
		return;
	case TAG_CELL:
		/* the row's first cell starts its line; the next ones follow a tab */
		if (o->row) {
			out_flush(o);
		} else if (!o->marker) {
			out_prefix(o);
			g_string_append_c(o->s, '\t');
		}
		o->brk = o->row = 0;
		o->cell = 1;
		o->space = 0;
		return;
	case TAG_A:
		if (o->href == NULL && attr(atts, "href") != NULL) {
			o->href = g_strdup(attr(atts, "href"));
			o->link_depth = o->depth;
			o->link_at = o->s->len;
		}
		return;
	case -1:
		return;
	}
	out_block(o);
	switch (tag) {
	case TAG_QUOTE:
		o->quote++;
		break;
	case TAG_PRE:
		o->pre++;
		break;
	case TAG_LIST:
	case TAG_OL:
		num = 0;
		if (tag == TAG_OL) {
			start = attr(atts, "start");
			num = start != NULL ? atoi(start) : 1;
			if (num < 1 || num > 1000000)
				num = 1;
		}
		if (o->lists < HTML_LISTS)
			o->number[o->lists] = num;
		o->lists++;
		break;
	case TAG_TR:
		o->row = 1;
		o->cell = 0;
		break;
	case TAG_LI:
		out_flush(o);
		o->cell = o->row = 0;
		out_prefix(o);
		for (i = 1; i < o->lists; i++)
			g_string_append(o->s, "  ");
		num = o->lists > 0 && o->lists <= HTML_LISTS ? o->number[o->lists - 1] : 0;
		if (num > 0) {
			g_string_append_printf(o->s, "%d.", num);
			o->number[o->lists - 1]++;
		} else {
			g_string_append_c(o->s, '-');
		}
		o->marker = 1;
		o->space = 1; /* one space before the item's text */
		break;
	}
}

static void
html_end(void *cls, const xmlChar *name)
{
	struct html_out *o = cls;
	int tag;

	amp_flush(o);
	if (o->style > 0 && o->depth == o->style) {
		css_read(o);
		o->style = 0;
	}
	if (o->skip > 0) {
		if (o->depth == o->skip)
			o->skip = 0;
		o->depth--;
		return;
	}
	if (o->href != NULL && o->depth == o->link_depth) {
		out_link_end(o);
		g_free(o->href);
		o->href = NULL;
	}
	o->depth--;
	tag = tag_of(name);
	if (tag == TAG_CELL)
		o->cell = 0;
	if (tag < TAG_BLOCK || tag == TAG_BR || tag == TAG_CELL || tag == TAG_A)
		return;
	if (o->marker) { /* an empty list item: no line */
		while (o->s->len > 0 && o->s->str[o->s->len - 1] != '\n')
			g_string_truncate(o->s, o->s->len - 1);
		o->bol = 1;
		o->marker = 0;
	}
	out_block(o);
	if (tag == TAG_QUOTE && o->quote > 0)
		o->quote--;
	else if (tag == TAG_PRE && o->pre > 0)
		o->pre--;
	else if ((tag == TAG_LIST || tag == TAG_OL) && o->lists > 0)
		o->lists--;
}

static void
html_chars(void *cls, const xmlChar *ch, int len)
{
	struct html_out *o = cls;
	const char *t = (const char *)ch;
	size_t n = len > 0 ? (size_t)len : 0, k = 0;
	unsigned cp = 0;
	char u[8];

	if (o->style > 0) {
		if (o->css->len + n <= CSS_MAX)
			g_string_append_len(o->css, t, (gssize)n);
		return;
	}
	if (o->skip > 0 || n == 0)
		return;
	if (o->semi && t[0] == ';') {
		t++;
		n--;
	}
	o->semi = 0;
	/* libxml2 hands "&" alone, then the name, for a reference it does not take: a name written
	 * without its ";" (&nbsp &copy2024) is the longest legacy name it starts with */
	if (o->amp) {
		o->amp = 0;
		for (k = n < 6 ? n : 6; k >= 2; k--) {
			cp = legacy_ref(t, k);
			if (cp != 0)
				break;
		}
		if (k >= 2) {
			out_text(o, u, (size_t)g_unichar_to_utf8(cp, u));
			t += k;
			n -= k;
			o->semi = n == 0;
		} else {
			out_text(o, "&", 1);
		}
	}
	if (n == 1 && t[0] == '&') {
		o->amp = 1;
		return;
	}
	/* each character reference comes alone: one to 128-159 is windows-1252's character (the
	 * five that code page lacks are controls, which show nothing) */
	if (n == 2 && (unsigned char)t[0] == 0xc2 && (unsigned char)t[1] <= 0x9f) {
		cp = numeric_ref((unsigned char)t[1]);
		if (cp > 0x9f)
			out_text(o, u, (size_t)g_unichar_to_utf8(cp, u));
		return;
	}
	out_text(o, t, n);
	if (o->s->len > HTML_TEXT_MAX)
		xmlStopParser(o->ctxt);
}

/* libxml2 2.9 reads "<!" that opens neither a comment nor a doctype (Word's
 * <![if !supportLists]> … <![endif]>, a CDATA section outside SVG) as text; the HTML standard
 * and browsers read it as a comment that ends at the first ">". A copy of html without them, or
 * NULL when it has none (the usual case). Comments are passed over whole. */
static GString *
drop_bogus_comments(const char *html, size_t len)
{
	const char *p = html, *end = html + len, *from = html, *lt, *gt;
	GString *out = NULL;

	while (p < end) {
		lt = memchr(p, '<', (size_t)(end - p));
		if (lt == NULL || end - lt < 2)
			break;
		if (lt[1] != '!' ||
		    (end - lt >= 9 && g_ascii_strncasecmp(lt + 2, "doctype", 7) == 0)) {
			p = lt + 1;
			continue;
		}
		if (end - lt >= 4 && lt[2] == '-' && lt[3] == '-') {
			gt = g_strstr_len(lt + 4, end - lt - 4, "-->");
			p = gt != NULL ? gt + 3 : end;
			continue;
		}
		gt = memchr(lt, '>', (size_t)(end - lt));
		if (gt == NULL)
			break;
		if (out == NULL)
			out = g_string_sized_new(len);
		g_string_append_len(out, from, lt - from);
		from = p = gt + 1;
	}
	if (out != NULL)
		g_string_append_len(out, from, end - from);
	return out;
}

char *
mail_html_text(const char *html, size_t len)
{
	struct html_out o;
	htmlSAXHandler sax;
	xmlCharEncodingHandlerPtr utf8;
	GString *fixed = drop_bogus_comments(html, len);

	if (fixed != NULL) {
		html = fixed->str;
		len = fixed->len;
	}
	memset(&o, 0, sizeof(o));
	o.s = g_string_sized_new(len / 2 + 16);
	o.bol = 1;
	if (len > 0 && len <= INT_MAX)
		o.ctxt = htmlCreateMemoryParserCtxt(html, (int)len);
	if (o.ctxt != NULL) {
		memset(&sax, 0, sizeof(sax));
		sax.startElement = html_start;
		sax.endElement = html_end;
		sax.characters = html_chars;
		sax.ignorableWhitespace = html_chars;
		sax.cdataBlock = html_chars;
		sax.initialized = 1;
		*o.ctxt->sax = sax;
		o.ctxt->userData = &o;
		/* no depth limit (the walk keeps counters, no stack), nothing fetched, nothing on
		 * stderr; the text is UTF-8 already: a <meta> charset of the original does not
		 * switch it */
		htmlCtxtUseOptions(o.ctxt, HTML_PARSE_RECOVER | HTML_PARSE_NOERROR |
		                               HTML_PARSE_NOWARNING | HTML_PARSE_NONET |
		                               HTML_PARSE_IGNORE_ENC | XML_PARSE_HUGE);
		utf8 = xmlFindCharEncodingHandler("UTF-8");
		if (utf8 != NULL)
			xmlSwitchToEncoding(o.ctxt, utf8);
		htmlParseDocument(o.ctxt);
		amp_flush(&o);
		htmlFreeParserCtxt(o.ctxt);
	}
	g_free(o.href);
	if (o.css != NULL)
		g_string_free(o.css, TRUE);
	if (o.rules != NULL)
		g_hash_table_destroy(o.rules);
	if (fixed != NULL)
		g_string_free(fixed, TRUE);
	/* no-break spaces (&nbsp;) are text until here: a paragraph of them alone is a line, the
	 * blank line Outlook writes between paragraphs as <p>&nbsp;</p> */
	return mail_clean(nbsp_spaces(o.s), 1);
}
