/*
 * parse.c: one RFC 5322 message parsed with GMime 3 into a struct mail_msg: decoded subject and
 * sender, the receiving address's kind, references to earlier mail, the text body (text/plain
 * preferred, HTML made plain when it is the only text) and attachments under the web limits.
 * Header values are taken raw, their charset labels mapped (text.c), and decoded by GMime.
 */
#include <iconv.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mailin_int.h"
#include "service/core/core.h"

static pthread_once_t gmime_once = PTHREAD_ONCE_INIT;

static void
gmime_start(void)
{
	g_mime_init();
	mail_text_init();
}

void
mail_init(void)
{
	pthread_once(&gmime_once, gmime_start);
}

const char *
mail_strerror(enum mail_err e)
{
	static const char *const text[] = {
		[MAIL_OK] = "ok",
		[MAIL_INVALID] = "not a storable message",
		[MAIL_NOMEM] = "out of memory",
	};

	return (unsigned)e < sizeof(text) / sizeof(text[0]) ? text[e] : "unknown error";
}

/* --- configuration -------------------------------------------------------------------------- */

static const char *const kind_names[] = { "letter", "complaint", "consultation" };

static int
kind_known(const char *k)
{
	size_t i;

	for (i = 0; i < sizeof(kind_names) / sizeof(kind_names[0]); i++)
		if (strcmp(k, kind_names[i]) == 0)
			return 1;
	return 0;
}

void
mail_config_default(struct mail_config *cfg)
{
	char err[8];

	memset(cfg, 0, sizeof(*cfg));
	cfg->limits.max_attachments = 5;
	cfg->limits.attachment_max = 5L * 1024 * 1024;
	cfg->limits.subject_max = INTAKE_MAIL_SUBJECT_MAX;
	cfg->limits.body_max = 20000;
	cfg->limits.filename_max = 255;
	cfg->limits.types = MAIL_TYPES_DEFAULT;
	cfg->limits.item_max = 20L * 1024 * 1024;
	snprintf(cfg->default_kind, sizeof(cfg->default_kind), "letter");
	mail_kinds_parse(cfg, MAIL_KINDS_DEFAULT, err, sizeof(err));
}

int
mail_kinds_parse(struct mail_config *cfg, const char *spec, char *err, size_t errsize)
{
	struct mail_kind_rule rules[MAIL_KINDS_MAX];
	size_t n = 0, len, i;
	const char *p = spec, *e, *eq;

	while (*p != '\0') {
		while (*p == ',' || *p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		e = p;
		while (*e != '\0' && *e != ',' && *e != ' ' && *e != '\t')
			e++;
		len = (size_t)(e - p);
		eq = memchr(p, '=', len);
		if (n == MAIL_KINDS_MAX) {
			snprintf(err, errsize, "more than %d mail kind rules", MAIL_KINDS_MAX);
			return -1;
		}
		if (eq == NULL || eq == p || (size_t)(eq - p) > MAIL_ADDR_MAX ||
		    (size_t)(e - eq - 1) >= MAIL_KIND_LEN) {
			snprintf(err, errsize, "mail kind rule \"%.*s\" is not ADDRESS=KIND",
			         (int)(len > 64 ? 64 : len), p);
			return -1;
		}
		memcpy(rules[n].addr, p, (size_t)(eq - p));
		rules[n].addr[eq - p] = '\0';
		for (i = 0; rules[n].addr[i] != '\0'; i++)
			rules[n].addr[i] = g_ascii_tolower(rules[n].addr[i]);
		memcpy(rules[n].kind, eq + 1, (size_t)(e - eq - 1));
		rules[n].kind[e - eq - 1] = '\0';
		if (!kind_known(rules[n].kind)) {
			snprintf(err, errsize,
			         "mail kind rule \"%.*s\": the kind must be letter, complaint or "
			         "consultation", (int)(len > 64 ? 64 : len), p);
			return -1;
		}
		n++;
		p = e;
	}
	memcpy(cfg->kinds, rules, n * sizeof(rules[0]));
	cfg->nkinds = n;
	return 0;
}

/* The rule addr matches (exact address, or a local part of any domain), or -1. */
static int
kind_rule(const struct mail_config *cfg, const char *addr)
{
	const char *at = strrchr(addr, '@');
	size_t i, local = at != NULL ? (size_t)(at - addr) : strlen(addr);

	for (i = 0; i < cfg->nkinds; i++) {
		const char *r = cfg->kinds[i].addr;

		if (strchr(r, '@') != NULL ? strcasecmp(r, addr) == 0
		                           : strlen(r) == local && strncasecmp(r, addr, local) == 0)
			return (int)i;
	}
	return -1;
}

/* --- headers -------------------------------------------------------------------------------- */

/* The unfolded raw value of header name of obj with its charset labels mapped: a GLib string,
 * or NULL when absent. Raw 8-bit text that is not UTF-8 (no encoded word: an old client's) is
 * read in charset label when one is given (the letter's text says which), else by the options'
 * fallbacks (GB18030, else Latin-1). */
static char *
raw_header(GMimeParserOptions *opts, GMimeObject *obj, const char *name, const char *label)
{
	GMimeHeaderList *hl = g_mime_object_get_header_list(obj);
	GMimeHeader *h = hl != NULL ? g_mime_header_list_get_header(hl, name) : NULL;
	const char *raw = h != NULL ? g_mime_header_get_raw_value(h) : NULL;
	char *unfolded, *fixed;

	if (raw == NULL)
		return NULL;
	unfolded = g_mime_utils_header_unfold(raw);
	if (!g_str_is_ascii(unfolded) && !g_utf8_validate(unfolded, -1, NULL)) {
		char *u = mail_decode(opts, label, unfolded, strlen(unfolded));

		g_free(unfolded);
		unfolded = u;
		if (unfolded == NULL)
			return NULL;
	}
	fixed = mail_fix_labels(unfolded);
	g_free(unfolded);
	return fixed;
}

/* Decoded unstructured text of a header, raw 8-bit text read as raw_header reads it (GLib
 * string), or NULL. */
static char *
text_header(GMimeParserOptions *opts, GMimeObject *obj, const char *name, const char *label)
{
	char *raw = raw_header(opts, obj, name, label), *s;

	if (raw == NULL)
		return NULL;
	s = mail_decode_header(opts, raw);
	g_free(raw);
	return mail_clean(s, 0);
}

/* The charset a raw 8-bit header of letter m is read in (NULL: the fallbacks): Big5 when a text
 * part is in Big5 (during the walk: one seen so far) or when the Subject's encoded words are
 * (subject_big5) beside no text part in a GB charset. */
static const char *
raw_label(const struct mail_msg *m, int subject_big5)
{
	return m->big5 || (subject_big5 && !m->gb) ? "BIG5" : NULL;
}

/* The first mailbox of an address list (descending into a group). */
static InternetAddressMailbox *
first_mailbox(InternetAddressList *l)
{
	int i;

	for (i = 0; l != NULL && i < internet_address_list_length(l); i++) {
		InternetAddress *ia = internet_address_list_get_address(l, i);

		if (INTERNET_ADDRESS_IS_MAILBOX(ia))
			return INTERNET_ADDRESS_MAILBOX(ia);
		if (INTERNET_ADDRESS_IS_GROUP(ia)) {
			InternetAddressMailbox *mb =
			    first_mailbox(internet_address_group_get_members(INTERNET_ADDRESS_GROUP(ia)));

			if (mb != NULL)
				return mb;
		}
	}
	return NULL;
}

/* The address list of header name, a raw 8-bit name read as raw_header reads it (NULL: absent
 * or empty). */
static InternetAddressList *
address_header(GMimeParserOptions *opts, GMimeMessage *msg, const char *name, const char *label)
{
	char *raw = raw_header(opts, GMIME_OBJECT(msg), name, label), *joined;
	InternetAddressList *l;

	if (raw == NULL)
		return NULL;
	joined = mail_join_words(raw); /* a name's words split inside a character, or UTF-8 in GB */
	g_free(raw);
	l = internet_address_list_parse(opts, joined);
	g_free(joined);
	return l;
}

/* The mailbox of l into m's from_addr and from_name (when its address is one). 0, or -1 when
 * out of memory. */
static int
put_sender(InternetAddressMailbox *mb, struct mail_msg *m)
{
	const char *name, *addr;
	int rc = 0;

	if (mb != NULL) {
		/* the domain in its ASCII (IDNA) form, which mail can be sent to without SMTPUTF8:
		 * GMime gives x@例子.中国 for x@xn--fsqu00a.xn--fiqs8s */
		addr = internet_address_mailbox_get_idn_addr(mb);
		name = internet_address_get_name(INTERNET_ADDRESS(mb));
		if (addr != NULL && addr[0] != '\0' && strlen(addr) <= MAIL_ADDR_MAX &&
		    strchr(addr, '@') != NULL) {
			m->from_addr = mail_clean(g_strdup(addr), 0);
			if (m->from_addr == NULL)
				rc = -1;
		}
		if (name != NULL && name[0] != '\0') {
			m->from_name = mail_clean(g_strdup(name), 0);
			if (m->from_name == NULL)
				rc = -1;
			else if (m->from_name[0] == '\0') {
				g_free(m->from_name);
				m->from_name = NULL;
			} else
				mail_cut(m->from_name, 100);
		}
	}
	return rc;
}

/* The sender (From, else Sender) into m's from_addr and from_name, replacing what they held; a
 * raw 8-bit name read in charset label (NULL: the fallbacks). 0, or -1 when out of memory. */
static int
sender(GMimeParserOptions *opts, GMimeMessage *msg, const char *label, struct mail_msg *m)
{
	InternetAddressList *l = address_header(opts, msg, "From", label);
	int rc;

	if (l == NULL)
		l = address_header(opts, msg, "Sender", label);
	g_free(m->from_addr);
	g_free(m->from_name);
	m->from_addr = m->from_name = NULL;
	rc = put_sender(first_mailbox(l), m);
	if (l != NULL)
		g_object_unref(l);
	return rc;
}

/* When Reply-To names one mailbox whose address is not From's nor one of ours (a web form's
 * relay mails us From itself with Reply-To the citizen who filled the form in), the citizen is
 * that mailbox: m's from_addr and from_name become its, From's address is kept in
 * m->relay_addr. The acknowledgement and every notice then go where the writer asked replies
 * to go, and the citizen's answers (From that address) find their item. A raw 8-bit name is
 * read in charset label (NULL: the fallbacks). 0, or -1 when out of memory. */
static int
reply_to(const struct mail_config *cfg, GMimeParserOptions *opts, GMimeMessage *msg,
         const char *label, struct mail_msg *m)
{
	InternetAddressList *l = address_header(opts, msg, "Reply-To", label);
	InternetAddress *ia;
	const char *addr;
	char *relay = m->from_addr, *name = m->from_name;
	int rc = 0;

	if (l == NULL)
		return 0;
	if (internet_address_list_length(l) != 1)
		goto out; /* none, or several: whom to answer is not one address */
	ia = internet_address_list_get_address(l, 0);
	if (!INTERNET_ADDRESS_IS_MAILBOX(ia))
		goto out;
	addr = internet_address_mailbox_get_idn_addr(INTERNET_ADDRESS_MAILBOX(ia));
	if (addr == NULL || strchr(addr, '@') == NULL || strlen(addr) > MAIL_ADDR_MAX ||
	    (relay != NULL && g_ascii_strcasecmp(addr, relay) == 0) || kind_rule(cfg, addr) >= 0)
		goto out;
	m->from_addr = m->from_name = NULL;
	m->relay_addr = relay;
	rc = put_sender(INTERNET_ADDRESS_MAILBOX(ia), m);
	if (rc == 0 && m->from_addr == NULL) { /* not an address after cleaning: From stays */
		g_free(m->from_name);
		m->from_addr = relay;
		m->from_name = name;
		m->relay_addr = NULL;
		goto out;
	}
	g_free(name);
out:
	g_object_unref(l);
	return rc;
}

/* The kind decided by the first configured address among the receiving headers. */
static const char *
kind_of(const struct mail_config *cfg, GMimeParserOptions *opts, GMimeMessage *msg)
{
	static const char *const headers[] = { "Delivered-To", "X-Original-To", "To", "Cc" };
	size_t h;
	int i, j, r;

	for (h = 0; h < sizeof(headers) / sizeof(headers[0]); h++) {
		GMimeHeaderList *hl = g_mime_object_get_header_list(GMIME_OBJECT(msg));
		int count = g_mime_header_list_get_count(hl);

		for (j = 0; j < count; j++) {
			GMimeHeader *hd = g_mime_header_list_get_header_at(hl, j);
			InternetAddressList *l;
			char *unfolded;

			if (g_ascii_strcasecmp(g_mime_header_get_name(hd), headers[h]) != 0)
				continue;
			unfolded = g_mime_utils_header_unfold(g_mime_header_get_raw_value(hd));
			l = internet_address_list_parse(opts, unfolded);
			g_free(unfolded);
			for (i = 0; l != NULL && i < internet_address_list_length(l); i++) {
				InternetAddress *ia = internet_address_list_get_address(l, i);

				if (!INTERNET_ADDRESS_IS_MAILBOX(ia))
					continue;
				r = kind_rule(cfg, internet_address_mailbox_get_addr(
				                       INTERNET_ADDRESS_MAILBOX(ia)));
				if (r >= 0) {
					g_object_unref(l);
					return cfg->kinds[r].kind;
				}
			}
			if (l != NULL)
				g_object_unref(l);
		}
	}
	return cfg->default_kind;
}

static int
add_ref(struct mail_msg *m, const char *id)
{
	size_t i;

	if (id == NULL || id[0] == '\0' || strlen(id) > 255 || m->nrefs == MAIL_REFS_MAX)
		return 0;
	for (i = 0; i < m->nrefs; i++)
		if (strcmp(m->refs[i], id) == 0)
			return 0;
	m->refs[m->nrefs] = strdup(id);
	if (m->refs[m->nrefs] == NULL)
		return -1;
	m->nrefs++;
	return 0;
}

static int
references(GMimeParserOptions *opts, GMimeMessage *msg, struct mail_msg *m)
{
	static const char *const headers[] = { "In-Reply-To", "References" };
	size_t h;
	int i, rc = 0;

	for (h = 0; h < 2 && rc == 0; h++) {
		char *raw = raw_header(opts, GMIME_OBJECT(msg), headers[h], NULL);
		GMimeReferences *refs;

		if (raw == NULL)
			continue;
		refs = g_mime_references_parse(opts, raw);
		g_free(raw);
		/* References lists the oldest first: the newest are kept */
		for (i = refs != NULL ? g_mime_references_length(refs) - 1 : -1; i >= 0 && rc == 0;
		     i--)
			rc = add_ref(m, g_mime_references_get_message_id(refs, i));
		if (refs != NULL)
			g_mime_references_free(refs);
	}
	return rc;
}

/* Finds a tracking number XJ-YYYYMMDD-NNNNN in s. */
static void
find_tracking(const char *s, char out[MAIL_TRACKING_LEN + 1])
{
	const char *p;
	size_t i;

	out[0] = '\0';
	for (p = s; (p = strstr(p, "XJ-")) != NULL; p++) {
		for (i = 3; i < MAIL_TRACKING_LEN; i++)
			if (i == 11 ? p[i] != '-' : !g_ascii_isdigit(p[i]))
				break;
		if (i == MAIL_TRACKING_LEN && !g_ascii_isdigit(p[i]) &&
		    (p == s || !g_ascii_isalnum(p[-1]))) {
			memcpy(out, p, MAIL_TRACKING_LEN);
			out[MAIL_TRACKING_LEN] = '\0';
			return;
		}
	}
}

/* --- the MIME tree ------------------------------------------------------------------------- */

struct walk {
	const struct mail_config *cfg;
	GMimeParserOptions *opts;
	struct mail_msg *m;
	GString *plain, *html, *notes;
	GPtrArray *html_parts; /* the decoded text of each text/html part (GLib strings), made
	                        * plain only when no text/plain part has text (their usual
	                        * alternative: no HTML parsed then) */
	int qq;        /* QQ Mail: character references in text/plain */
	int subject_big5; /* the Subject's encoded words are in Big5 */
	int big5_text, gb_text; /* a text part in Big5, in a GB charset, anywhere (text_charsets) */
	int parts;     /* parts looked at */
	int unnamed;   /* attachments named by us */
	int nomem;
	int64_t kept;  /* bytes of the attachments kept so far */
};

/* The base64 content of dw decoded by GMime once its missing '=' padding is added (some
 * mailers leave it out, and GMime drops the bytes of the unfinished last quantum): a new
 * GByteArray, or NULL when the content is padded or whole (GMime's own decoding is used). */
static GByteArray *
unpadded_base64(GMimeDataWrapper *dw)
{
	GMimeStream *enc = g_mime_data_wrapper_get_stream(dw);
	GByteArray *in, *out = NULL;
	GMimeEncoding st;
	GMimeStream *mem;
	size_t i, n = 0;

	if (enc == NULL || g_mime_data_wrapper_get_encoding(dw) != GMIME_CONTENT_ENCODING_BASE64)
		return NULL;
	in = g_byte_array_new();
	mem = g_mime_stream_mem_new_with_byte_array(in);
	g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(mem), FALSE);
	g_mime_stream_reset(enc);
	g_mime_stream_write_to_stream(enc, mem);
	g_mime_stream_reset(enc);
	g_object_unref(mem);
	for (i = 0; i < in->len && in->data[i] != '='; i++)
		n += g_ascii_isalnum(in->data[i]) || in->data[i] == '+' || in->data[i] == '/';
	if (i == in->len && n % 4 >= 2) {
		g_byte_array_append(in, (const guint8 *)"==", n % 4 == 2 ? 2 : 1);
		g_mime_encoding_init_decode(&st, GMIME_CONTENT_ENCODING_BASE64);
		out = g_byte_array_sized_new((guint)g_mime_encoding_outlen(&st, in->len));
		g_byte_array_set_size(out, (guint)g_mime_encoding_outlen(&st, in->len));
		n = g_mime_encoding_flush(&st, (const char *)in->data, in->len, (char *)out->data);
		g_byte_array_set_size(out, (guint)n);
	}
	g_byte_array_unref(in);
	return out;
}

/* The decoded content of a part (transfer encoding undone): a new GByteArray. */
static GByteArray *
content(GMimePart *part)
{
	GMimeDataWrapper *dw = g_mime_part_get_content(part);
	GMimeStream *mem;
	GByteArray *ba;

	if (dw == NULL)
		return g_byte_array_new();
	ba = unpadded_base64(dw);
	if (ba != NULL)
		return ba;
	ba = g_byte_array_new();
	mem = g_mime_stream_mem_new_with_byte_array(ba);
	g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(mem), FALSE);
	g_mime_data_wrapper_write_to_stream(dw, mem);
	g_object_unref(mem);
	return ba;
}

/* A lower-case type/subtype of at most 127 bytes, else application/octet-stream (GLib). */
static char *
clean_type(GMimeContentType *ct)
{
	char *t = ct != NULL ? g_mime_content_type_get_mime_type(ct) : NULL;
	size_t i, slash = 0;

	if (t == NULL)
		return g_strdup("application/octet-stream");
	for (i = 0; t[i] != '\0'; i++) {
		t[i] = g_ascii_tolower(t[i]);
		if (t[i] == '/')
			slash++;
		else if (!g_ascii_isalnum(t[i]) && strchr("!#$&^_.+-", t[i]) == NULL)
			break;
	}
	if (t[i] != '\0' || i > 127 || slash != 1 || t[0] == '/' || t[i - 1] == '/') {
		g_free(t);
		return g_strdup("application/octet-stream");
	}
	return t;
}

/* The value of parameter `name` in l: the RFC 2231 one (`filename*=UTF-8''…`) where the
 * header gives it beside a plain one, as RFC 2231 and RFC 6266 say, else the first; lent by l,
 * or NULL. */
static const char *
param_pick(GMimeParamList *l, const char *name)
{
	const char *first = NULL;
	int i, n = l != NULL ? g_mime_param_list_length(l) : 0;

	for (i = 0; i < n; i++) {
		GMimeParam *p = g_mime_param_list_get_parameter_at(l, i);

		if (g_ascii_strcasecmp(g_mime_param_get_name(p), name) != 0)
			continue;
		if (g_mime_param_get_encoding_method(p) == GMIME_PARAM_ENCODING_METHOD_RFC2231)
			return g_mime_param_get_value(p);
		if (first == NULL)
			first = g_mime_param_get_value(p);
	}
	return first;
}

/* Whether the RFC 2231 value of parameter param (filename, name) in the header value v (its
 * labels fixed) names a charset that iconv does not know, or none (x-unknown): GMime reads such
 * a value in the process's locale, Latin-1 mojibake under LANG=C (as an MTA's pipe and a
 * systemd unit run) where a UTF-8 locale gives replacement characters; either way the name
 * cannot be read, and it is treated so whatever the locale. */
static int
rfc2231_unknown(const char *v, const char *param)
{
	size_t n = strlen(param), len;
	const char *p, *q, *name;
	char label[64];
	iconv_t cd;

	for (p = v; (p = strcasestr(p, param)) != NULL; p += n) {
		if (p > v && (g_ascii_isalnum(p[-1]) || p[-1] == '-' || p[-1] == '_'))
			continue; /* "name" inside "filename" */
		q = p + n;
		if (*q++ != '*')
			continue;
		if (*q == '0') /* the first of continuations: the one with the charset */
			q += q[1] == '*' ? 2 : 1;
		if (*q++ != '=')
			continue;
		if (*q == '"')
			q++;
		for (len = 0; g_ascii_isalnum(q[len]) || strchr("-_.:", q[len]) != NULL; len++)
			if (q[len] == '\0')
				break;
		if (q[len] != '\'' || len == 0 || len >= sizeof(label))
			continue;
		memcpy(label, q, len);
		label[len] = '\0';
		name = mail_charset(label);
		if (name == NULL)
			return 1;
		cd = g_mime_iconv_open("UTF-8", name);
		if (cd == (iconv_t)-1)
			return 1;
		g_mime_iconv_close(cd);
		return 0;
	}
	return 0;
}

static const char *plain_extension(const char *name);

/* A copy of s (GLib string) with each occurrence of from replaced by to. */
static char *
replace_all(const char *s, const char *from, const char *to)
{
	char **parts = g_strsplit(s, from, -1), *r = g_strjoinv(to, parts);

	g_strfreev(parts);
	return r;
}

/* The file name parameter of the raw header value raw (labels fixed): filename of a
 * Content-Disposition (disposition 1), name of a Content-Type; the RFC 2231 form first (GMime
 * decodes it). A GLib string, or NULL when it names none. */
static char *
name_param_once(struct walk *w, const char *raw, int disposition)
{
	char *joined = mail_join_words(raw), *name = NULL; /* words split inside a character */
	const char *v = NULL;
	GMimeContentDisposition *d = NULL;
	GMimeContentType *ct = NULL;

	if (disposition) {
		d = g_mime_content_disposition_parse(w->opts, joined);
		if (d != NULL)
			v = param_pick(g_mime_content_disposition_get_parameters(d), "filename");
	} else {
		ct = g_mime_content_type_parse(w->opts, joined);
		if (ct != NULL)
			v = param_pick(g_mime_content_type_get_parameters(ct), "name");
	}
	if (v != NULL)
		name = g_strdup(v);
	if (d != NULL)
		g_object_unref(d);
	if (ct != NULL)
		g_object_unref(ct);
	g_free(joined);
	return name;
}

/* Whether s is UTF-8 without U+FFFD (GMime leaves the bytes of a value its charset cannot
 * read as they came, or puts U+FFFD for them). */
static int
readable_utf8(const char *s)
{
	return g_utf8_validate(s, -1, NULL) && strstr(s, "\xef\xbf\xbd") == NULL;
}

/* name_param_once, and what GMime's reading of an RFC 2231 value loses read again: a %00 (a NUL,
 * which ended the name there and took its extension) as a space, and a name under a Big5 label
 * that Big5's table cannot read with Big5-HKSCS's (HKSCS characters from Hong Kong), when that
 * table reads it whole. */
static char *
name_param(struct walk *w, const char *raw, int disposition)
{
	char *fixed = NULL, *name, *again, *hk;

	if (strstr(raw, "*=") != NULL && strstr(raw, "%00") != NULL)
		raw = fixed = replace_all(raw, "%00", "%20");
	name = name_param_once(w, raw, disposition);
	if (name != NULL && !readable_utf8(name) &&
	    (strstr(raw, "=BIG5'") != NULL || strstr(raw, "=\"BIG5'") != NULL)) {
		hk = replace_all(raw, "BIG5'", "BIG5-HKSCS'");
		again = name_param_once(w, hk, disposition);
		g_free(hk);
		if (again != NULL && readable_utf8(again)) {
			g_free(name);
			name = again;
		} else {
			g_free(again);
		}
	}
	g_free(fixed);
	return name;
}

/* The charset a raw 8-bit file name is read in (NULL: the fallbacks): Big5 in a letter in Big5
 * (raw_label) as the whole message says it, whether its Big5 text part comes before the file or
 * after it: a text part in Big5 anywhere, or the Subject's encoded words in Big5 beside no text
 * part in a GB charset. */
static const char *
name_label(const struct walk *w)
{
	return w->big5_text || (w->subject_big5 && !w->gb_text) ? "BIG5" : raw_label(w->m, 0);
}

/* The decoded file name of a part (Content-Disposition filename, else Content-Type name; the
 * RFC 2231 form first), a base name cut to the limit: a GLib string, or NULL when the part
 * names none. */
static char *
part_filename(struct walk *w, GMimeObject *obj)
{
	char *raw, *name = NULL, *base;
	const char *v, *slash;
	int unknown = 0;

	/* a raw 8-bit name (Outlook Express, old Foxmail) in the letter's charset */
	raw = raw_header(w->opts, obj, "Content-Disposition", name_label(w));
	if (raw != NULL) {
		name = name_param(w, raw, 1);
		unknown = name != NULL && rfc2231_unknown(raw, "filename");
		g_free(raw);
	}
	if (name == NULL) {
		raw = raw_header(w->opts, obj, "Content-Type", name_label(w));
		if (raw != NULL) {
			name = name_param(w, raw, 0);
			unknown = name != NULL && rfc2231_unknown(raw, "name");
			g_free(raw);
		}
	}
	if (name == NULL)
		return NULL;
	/* a parameter left undecoded by GMime (an encoded word not alone in it) */
	if (strstr(name, "=?") != NULL) {
		char *d = mail_decode_header(w->opts, name);

		g_free(name);
		name = d;
	}
	name = mail_clean(name, 0);
	if (name == NULL)
		return NULL;
	slash = name;
	for (v = name; *v != '\0'; v++)
		if (*v == '/' || *v == '\\')
			slash = v + 1;
	/* unreadable (add_attachment names it attachment-N, its extension kept) */
	base = unknown ? g_strconcat("\xef\xbf\xbd", plain_extension(slash), NULL) : g_strdup(slash);
	g_free(name);
	/* a name over the byte limit (RFC 2231 continuations and encoded words have none) is cut
	 * before its extension, on a character boundary, as core cuts every way in's names: its
	 * extension, which tells staff what it is, was cut away */
	if (w->cfg->limits.filename_max > 0)
		attach_name_fit(base, w->cfg->limits.filename_max);
	if (base[0] == '\0' || strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
		g_free(base);
		return g_strdup("");
	}
	return base;
}

/* Why a file was left out, in each language: the words before the limit passed and after it
 * (after NULL: no limit named). English is also what the item's body says to staff. */
struct why_words {
	const char *pre, *post;
};
enum { WHY_EN, WHY_HANS, WHY_HANT, WHY__MAX };
static const struct why_words left_why[MAIL_LEFT__MAX][WHY__MAX] = {
    [MAIL_LEFT_EMPTY] = {{"an empty file", NULL}, {"空文件", NULL}, {"空檔案", NULL}},
    [MAIL_LEFT_LARGE] = {{"larger than ", " bytes"},
                         {"超过单个附件上限 ", " 字节"},
                         {"超過單個附件上限 ", " 位元組"}},
    [MAIL_LEFT_COUNT] = {{"more than ", " attachments"}, {"附件超过 ", " 个"}, {"附件超過 ", " 個"}},
    [MAIL_LEFT_TYPE] = {{"not a type accepted for attachments", NULL},
                        {"不是可接收的附件类型", NULL},
                        {"不是可接收的附件類型", NULL}},
    [MAIL_LEFT_TOTAL] = {{"the attachments together exceed ", " bytes"},
                         {"附件合计超过 ", " 字节"},
                         {"附件合計超過 ", " 位元組"}},
    [MAIL_LEFT_TNEF] = {{"Outlook's rich-text package (TNEF): the files inside it cannot be read "
                         "here; send them again with Outlook's message format set to HTML or "
                         "plain text", NULL},
                        {"Outlook 的 RTF 格式附件包（TNEF），其中的文件无法在此读取；请将 Outlook "
                         "的邮件格式设为 HTML 或纯文本后重新发送", NULL},
                        {"Outlook 的 RTF 格式附件包（TNEF），其中的檔案無法在此讀取；請將 Outlook "
                         "的郵件格式設為 HTML 或純文字後重新傳送", NULL}},
};

/* Appends the words w with limit to s. */
static void
why_put(GString *s, const struct why_words *w, long long limit)
{
	g_string_append(s, w->pre);
	if (w->post != NULL) {
		g_string_append_printf(s, "%lld", limit);
		g_string_append(s, w->post);
	}
}

/* A file not kept: noted in the body (why: in English) and kept in m->left for the citizen's
 * acknowledgement (mail_left_out). */
static void
note_dropped(struct walk *w, const char *name, size_t size, enum mail_left_why why,
             long long limit)
{
	struct mail_left *l;

	w->m->dropped++;
	g_string_append_printf(w->notes, "\n[attachment not kept (附件未保存): %s, %zu bytes: ",
	                       name, size);
	why_put(w->notes, &left_why[why][WHY_EN], limit);
	g_string_append(w->notes, "; it stays in the original message]");
	if (w->m->nleft++ >= MAIL_LEFT_LISTED)
		return;
	l = &w->m->left[w->m->nleft - 1];
	l->name = g_strdup(name);
	l->size = size;
	l->why = why;
	l->limit = limit;
}

/* The acknowledgement's words on the files left out, in each language: the heading, the words
 * around a file's size (after its name, before why), and those around the count of files not
 * named. The last row (both languages, each file's why in both) is what every acknowledgement
 * said before the item had a language (schema 031), kept byte for byte. */
static const struct {
	const char *lang, *head, *size_pre, *size_post, *more_pre, *more_post;
	int why; /* WHY_*; -1: Chinese, then " / " and English */
} left_words[] = {
    {"zh-Hans",
     "以下附件未能随来信收存，原邮件已完整保存；如需提交，请按要求处理后回复本邮件。\n",
     "（", " 字节）：", "- 另有 ", " 个\n", WHY_HANS},
    {"zh-Hant",
     "以下附件未能隨來信收存，原郵件已完整保存；如需提交，請按要求處理後回覆本郵件。\n",
     "（", " 位元組）：", "- 另有 ", " 個\n", WHY_HANT},
    {"en",
     "These attachments of your letter were not kept (the original message is kept whole); to "
     "send them, reply to this e-mail with them as required.\n",
     " (", " bytes): ", "- ", " more\n", WHY_EN},
    {NULL,
     "以下附件未能随来信收存，原邮件已完整保存；如需提交，请按要求处理后回复本邮件。\n"
     "These attachments of your letter were not kept (the original message is kept whole); to "
     "send them, reply to this e-mail with them as required.\n",
     "（", " 字节 / bytes）：", "- 另有 ", " 个 / ", -1},
};

char *
mail_left_out(const struct mail_msg *m, const char *lang)
{
	size_t k = 0, i, listed, n = sizeof(left_words) / sizeof(left_words[0]);
	GString *s;

	if (m->nleft == 0)
		return NULL;
	while (k + 1 < n && (lang == NULL || strcmp(left_words[k].lang, lang) != 0))
		k++; /* the last: both languages */
	s = g_string_new(left_words[k].head);
	listed = m->nleft < MAIL_LEFT_LISTED ? m->nleft : MAIL_LEFT_LISTED;
	for (i = 0; i < listed; i++) {
		const struct mail_left *l = &m->left[i];

		g_string_append_printf(s, "- %s%s%zu%s", l->name, left_words[k].size_pre, l->size,
		                       left_words[k].size_post);
		if (left_words[k].why >= 0) {
			why_put(s, &left_why[l->why][left_words[k].why], l->limit);
		} else {
			why_put(s, &left_why[l->why][WHY_HANS], l->limit);
			g_string_append(s, " / ");
			why_put(s, &left_why[l->why][WHY_EN], l->limit);
		}
		g_string_append_c(s, '\n');
	}
	if (m->nleft > MAIL_LEFT_LISTED) {
		g_string_append_printf(s, "%s%zu%s", left_words[k].more_pre,
		                       m->nleft - MAIL_LEFT_LISTED, left_words[k].more_post);
		if (left_words[k].why < 0)
			g_string_append_printf(s, "%zu more\n", m->nleft - MAIL_LEFT_LISTED);
	}
	g_string_truncate(s, s->len - 1); /* the last line end */
	return g_string_free(s, FALSE);
}

/* The extension of file name name (after its last dot) when it is 1 to 10 ASCII letters and
 * digits, with its dot; else "". Lent by name. */
static const char *
plain_extension(const char *name)
{
	const char *dot = strrchr(name, '.'), *p;

	if (dot == NULL || dot[1] == '\0' || strlen(dot + 1) > 10)
		return "";
	for (p = dot + 1; *p != '\0'; p++)
		if (!g_ascii_isalnum(*p))
			return "";
	return dot;
}

/* Whether a decoded file name can be shown as it is: not when some of its bytes could not be
 * read (U+FFFD in their place: a charset iconv does not know, or bytes that are no character
 * of the charset named), nor when nothing is left of it but its extension (".pdf", the rest
 * control characters). */
static int
name_readable(const char *name)
{
	return strstr(name, "\xef\xbf\xbd") == NULL && strrchr(name, '.') != name;
}

/* Whether a file is Outlook's TNEF (winmail.dat: Outlook's rich text sent outside Exchange, its
 * files inside it): by the stream's signature 0x223E9F78 (little-endian) or its content type. */
static int
tnef(const guint8 *data, size_t size, const char *ctype)
{
	return (size >= 4 && memcmp(data, "\x78\x9f\x3e\x22", 4) == 0) ||
	       strcmp(ctype, "application/ms-tnef") == 0 ||
	       strcmp(ctype, "application/vnd.ms-tnef") == 0;
}

/* Adds an attachment (takes nothing: copies data). One that names no file, or a name that
 * cannot be read, is named attachment-N (with the name's extension, when it is plain). */
static void
add_attachment(struct walk *w, const char *filename, const char *ctype, const guint8 *data,
               size_t size)
{
	const struct mail_limits *lim = &w->cfg->limits;
	struct mail_attachment *a;
	char gen[48];
	const char *name = filename;

	if (name == NULL || name[0] == '\0' || !name_readable(name)) {
		snprintf(gen, sizeof(gen), "attachment-%d%s", ++w->unnamed,
		         name != NULL ? plain_extension(name) : "");
		name = gen;
	}
	if (size == 0) { /* nothing to keep, and no type to tell (not "a type not accepted") */
		note_dropped(w, name, size, MAIL_LEFT_EMPTY, 0);
		return;
	}
	/* not "a type not accepted": the citizen's files are in it, and they can send them so
	 * that they are read (the raw message keeps it) */
	if (tnef(data, size, ctype)) {
		note_dropped(w, name, size, MAIL_LEFT_TNEF, 0);
		return;
	}
	if ((int64_t)size > lim->attachment_max) {
		note_dropped(w, name, size, MAIL_LEFT_LARGE, (long long)lim->attachment_max);
		return;
	}
	if (w->m->natt >= lim->max_attachments || w->m->natt >= MAIL_ATT_MAX) {
		note_dropped(w, name, size, MAIL_LEFT_COUNT, (long long)lim->max_attachments);
		return;
	}
	/* The type is what the content is (as for web uploads), not what the message claims: a
	 * type the bureau does not accept is left in the original message, never bounced. */
	if (lim->types != NULL) {
		const char *kind = NULL, *sniffed = attach_sniff(data, size, &kind);

		if (sniffed == NULL || !attach_allowed(lim->types, kind)) {
			note_dropped(w, name, size, MAIL_LEFT_TYPE, 0);
			return;
		}
		ctype = sniffed;
	}
	if (lim->item_max > 0 && w->kept + (int64_t)size > lim->item_max) {
		note_dropped(w, name, size, MAIL_LEFT_TOTAL, (long long)lim->item_max);
		return;
	}
	a = &w->m->att[w->m->natt];
	a->filename = strdup(name);
	a->content_type = strdup(ctype);
	a->data = malloc(size > 0 ? size : 1);
	if (a->filename == NULL || a->content_type == NULL || a->data == NULL) {
		free(a->filename);
		free(a->content_type);
		free(a->data);
		memset(a, 0, sizeof(*a));
		w->nomem = 1;
		return;
	}
	if (size > 0)
		memcpy(a->data, data, size);
	a->size = size;
	w->m->natt++;
	w->kept += (int64_t)size;
}

/* Appends text to a body being built; a text of white space alone adds nothing (an
 * alternative whose text/plain is a blank line must not hide its HTML). */
static void
add_text(GString *to, const char *text)
{
	if (text[strspn(text, " \t\r\n\f\v")] == '\0')
		return;
	if (to->len > 0) {
		/* one blank line between two parts, whatever line ends they have at their edges
		 * (iPhone Mail's signature part after a photo starts with two) */
		while (to->len > 0 && (to->str[to->len - 1] == '\n' || to->str[to->len - 1] == '\r'))
			g_string_truncate(to, to->len - 1);
		text += strspn(text, "\r\n");
		g_string_append(to, "\n\n");
	}
	g_string_append(to, text);
}

static void walk(struct walk *w, GMimeObject *obj, int depth);

/* Whether a text/plain part is format=flowed (RFC 3676). */
static int
flowed(GMimeContentType *ct)
{
	const char *f = ct != NULL ? g_mime_content_type_get_parameter(ct, "format") : NULL;

	return f != NULL && g_ascii_strcasecmp(f, "flowed") == 0;
}

static void
walk_part(struct walk *w, GMimePart *part)
{
	GMimeObject *obj = GMIME_OBJECT(part);
	GMimeContentType *ct = g_mime_object_get_content_type(obj);
	GMimeContentDisposition *disp = g_mime_object_get_content_disposition(obj);
	int attached = disp != NULL && g_mime_content_disposition_is_attachment(disp);
	int plain = ct == NULL || g_mime_content_type_is_type(ct, "text", "plain");
	int html = ct != NULL && g_mime_content_type_is_type(ct, "text", "html");
	char *filename = part_filename(w, obj), *type;
	GByteArray *data = content(part);

	if ((plain || html) && !attached && filename == NULL) {
		const char *cs = ct != NULL ? g_mime_content_type_get_parameter(ct, "charset") : NULL;
		char *meta = NULL, *text, *t2;

		/* HTML whose Content-Type names no charset: the one its <meta> declares (the
		 * header's wins, as in HTML) */
		if (html && cs == NULL)
			cs = meta = mail_html_charset((const char *)data->data, data->len);
		text = mail_decode(w->opts, cs, (const char *)data->data, data->len);
		if (cs != NULL && mail_charset(cs) != NULL && strncmp(mail_charset(cs), "BIG5", 4) == 0)
			w->m->big5 = 1;
		else if (cs != NULL && mail_charset(cs) != NULL &&
		         strcmp(mail_charset(cs), "GB18030") == 0)
			w->m->gb = 1;
		g_free(meta);

		if (text == NULL) {
			w->nomem = 1;
		} else if (html) {
			g_ptr_array_add(w->html_parts, text);
			text = NULL; /* the array's */
		} else if (w->qq) {
			t2 = mail_entities_decode(text);
			add_text(w->plain, t2);
			g_free(t2);
		} else if (flowed(ct)) {
			const char *delsp = g_mime_content_type_get_parameter(ct, "delsp");

			t2 = mail_unflow(text, delsp != NULL && g_ascii_strcasecmp(delsp, "yes") == 0);
			add_text(w->plain, t2);
			g_free(t2);
		} else {
			add_text(w->plain, text);
		}
		g_free(text);
	} else {
		type = clean_type(ct);
		add_attachment(w, filename, type, data->data, data->len);
		g_free(type);
	}
	g_free(filename);
	g_byte_array_unref(data);
}

/* Sets the transfer encoding of a leaf part of an attached message to base64 when it is HTML
 * or 8-bit (GMime re-encodes it when the message is written). */
static void
eml_part_base64(GMimeObject *parent, GMimeObject *part, gpointer data)
{
	GMimeContentType *ct;
	GMimeContentEncoding enc;

	(void)parent;
	(void)data;
	if (!GMIME_IS_PART(part))
		return;
	ct = g_mime_object_get_content_type(part);
	enc = g_mime_part_get_content_encoding(GMIME_PART(part));
	if (enc == GMIME_CONTENT_ENCODING_BASE64 || enc == GMIME_CONTENT_ENCODING_UUENCODE)
		return;
	if ((ct != NULL && g_mime_content_type_is_type(ct, "text", "html")) ||
	    enc == GMIME_CONTENT_ENCODING_8BIT || enc == GMIME_CONTENT_ENCODING_BINARY)
		g_mime_part_set_content_encoding(GMIME_PART(part), GMIME_CONTENT_ENCODING_BASE64);
}

/* The bytes GMime writes of msg (as they came when it is unchanged): a new GByteArray. */
static GByteArray *
eml_bytes(GMimeMessage *msg)
{
	GByteArray *ba = g_byte_array_new();
	GMimeStream *mem = g_mime_stream_mem_new_with_byte_array(ba);

	g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(mem), FALSE);
	g_mime_object_write_to_stream(GMIME_OBJECT(msg), NULL, mem);
	g_object_unref(mem);
	return ba;
}

/* An attached message (message/rfc822) is kept as a .eml attachment, byte for byte when it can
 * be; else (an attachment must not be markup, nor text in more than one charset) with its HTML
 * and 8-bit parts re-encoded in base64 by GMime: a forwarded letter with its HTML in
 * quoted-printable or 8bit (Outlook's, Thunderbird's) was left out as "not a type accepted". */
static void
walk_message_part(struct walk *w, GMimeMessagePart *mp)
{
	GMimeMessage *inner = g_mime_message_part_get_message(mp);
	GByteArray *ba;
	char *filename = part_filename(w, GMIME_OBJECT(mp)), *subj = NULL;

	if (inner == NULL) {
		g_free(filename);
		return;
	}
	if (filename == NULL || filename[0] == '\0') {
		g_free(filename);
		subj = text_header(w->opts, GMIME_OBJECT(inner), "Subject", NULL);
		if (subj != NULL && subj[0] != '\0') {
			mail_cut(subj, 60);
			g_strdelimit(subj, "/\\", '_'); /* a base name, as a named file's */
			filename = g_strdup_printf("%s.eml", subj);
		} else {
			filename = g_strdup("message.eml");
		}
		g_free(subj);
	}
	ba = eml_bytes(inner);
	if (w->cfg->limits.types != NULL) {
		const char *kind = NULL;

		if (attach_sniff(ba->data, ba->len, &kind) == NULL ||
		    !attach_allowed(w->cfg->limits.types, kind)) {
			/* as it came it would not be kept: HTML and 8-bit parts in base64 */
			g_byte_array_unref(ba);
			g_mime_message_foreach(inner, eml_part_base64, NULL);
			ba = eml_bytes(inner);
		}
	}
	add_attachment(w, filename, "message/rfc822", ba->data, ba->len);
	g_byte_array_unref(ba);
	g_free(filename);
}

/* A multipart in which no part was found (no boundary parameter, or a boundary that never
 * occurs): all its content is its prologue. Kept as text, as mail clients show such a message,
 * rather than losing the citizen's words to "(no text)". */
static void
walk_broken(struct walk *w, GMimeMultipart *mp)
{
	const char *pro = g_mime_multipart_get_prologue(mp);
	char *text;

	if (pro == NULL)
		return;
	text = mail_decode(w->opts, NULL, pro, strlen(pro));
	if (text == NULL) {
		w->nomem = 1;
		return;
	}
	g_strstrip(text);
	add_text(w->plain, text);
	g_free(text);
}

/* Sets w->big5_text (w->gb_text) when a text part of obj, as walk_part takes one for the
 * letter's text (text/plain or text/html, not an attachment, no file name), names Big5 (a GB
 * charset) in its Content-Type, wherever it is in the tree walk reads: before the walk, so that
 * a file named in raw 8-bit Big5 ahead of the letter's Big5 text is read in Big5. */
static void
text_charsets(struct walk *w, GMimeObject *obj, int depth, int *parts)
{
	GMimeContentType *ct;
	GMimeContentDisposition *disp;
	const char *cs, *name;
	int i, n;

	if (obj == NULL || ++*parts > MAIL_PARTS_MAX || depth > MAIL_DEPTH_MAX)
		return;
	if (GMIME_IS_MULTIPART_SIGNED(obj) &&
	    g_mime_multipart_get_count(GMIME_MULTIPART(obj)) > GMIME_MULTIPART_SIGNED_CONTENT) {
		text_charsets(w, g_mime_multipart_get_part(GMIME_MULTIPART(obj),
		                                           GMIME_MULTIPART_SIGNED_CONTENT),
		              depth + 1, parts);
	} else if (GMIME_IS_MULTIPART(obj) && !GMIME_IS_MULTIPART_ENCRYPTED(obj)) {
		n = g_mime_multipart_get_count(GMIME_MULTIPART(obj));
		for (i = 0; i < n; i++)
			text_charsets(w, g_mime_multipart_get_part(GMIME_MULTIPART(obj), i), depth + 1,
			              parts);
	} else if (GMIME_IS_PART(obj)) {
		ct = g_mime_object_get_content_type(obj);
		disp = g_mime_object_get_content_disposition(obj);
		if ((ct != NULL && !g_mime_content_type_is_type(ct, "text", "plain") &&
		     !g_mime_content_type_is_type(ct, "text", "html")) ||
		    (disp != NULL && g_mime_content_disposition_is_attachment(disp)) ||
		    g_mime_part_get_filename(GMIME_PART(obj)) != NULL)
			return;
		cs = ct != NULL ? g_mime_content_type_get_parameter(ct, "charset") : NULL;
		name = cs != NULL ? mail_charset(cs) : NULL;
		if (name != NULL && strncmp(name, "BIG5", 4) == 0)
			w->big5_text = 1;
		else if (name != NULL && strcmp(name, "GB18030") == 0)
			w->gb_text = 1;
	}
}

static void
walk(struct walk *w, GMimeObject *obj, int depth)
{
	int i, n;

	if (obj == NULL || w->nomem || ++w->parts > MAIL_PARTS_MAX || depth > MAIL_DEPTH_MAX)
		return;
	if (GMIME_IS_MULTIPART_SIGNED(obj) &&
	    g_mime_multipart_get_count(GMIME_MULTIPART(obj)) > GMIME_MULTIPART_SIGNED_CONTENT) {
		/* S/MIME or OpenPGP: the signature (smime.p7s, OpenPGP_signature.asc) is no file of
		 * the citizen's; the signed content is the letter (the raw message keeps both) */
		walk(w, g_mime_multipart_get_part(GMIME_MULTIPART(obj), GMIME_MULTIPART_SIGNED_CONTENT),
		     depth + 1);
	} else if (GMIME_IS_MULTIPART_ENCRYPTED(obj)) {
		/* OpenPGP/MIME: nothing in it can be read here (its control part and the armoured
		 * data are no files of the citizen's either) */
		w->m->dropped++;
		g_string_append(w->notes, "\n[encrypted message (加密邮件): it cannot be read here; it "
		                          "stays in the original message]");
	} else if (GMIME_IS_MULTIPART(obj)) {
		n = g_mime_multipart_get_count(GMIME_MULTIPART(obj));
		for (i = 0; i < n; i++)
			walk(w, g_mime_multipart_get_part(GMIME_MULTIPART(obj), i), depth + 1);
		if (n == 0)
			walk_broken(w, GMIME_MULTIPART(obj));
	} else if (GMIME_IS_MESSAGE_PART(obj)) {
		walk_message_part(w, GMIME_MESSAGE_PART(obj));
	} else if (GMIME_IS_PART(obj)) {
		walk_part(w, GMIME_PART(obj));
	}
}

static int
from_qq(GMimeMessage *msg, const char *from_addr)
{
	const char *mailer = g_mime_object_get_header(GMIME_OBJECT(msg), "X-Mailer");
	const char *at = from_addr != NULL ? strrchr(from_addr, '@') : NULL;

	if (mailer != NULL && (strstr(mailer, "QQMail") != NULL || strstr(mailer, "Foxmail") != NULL))
		return 1;
	return at != NULL && (g_ascii_strcasecmp(at, "@qq.com") == 0 ||
	                      g_ascii_strcasecmp(at, "@vip.qq.com") == 0 ||
	                      g_ascii_strcasecmp(at, "@foxmail.com") == 0);
}

/* --- the message ---------------------------------------------------------------------------- */

#define CUT_MARK "\n[… cut here; the whole text is in the original message]"

/* The item's body: text (taken) and then the notes, within max code points together (the
 * core refuses a longer body, and a letter must never be refused for its own notes): the notes
 * take at most half, then the text what is left, each cut with a mark. NULL out of memory. */
static char *
body_with_notes(char *text, GString *notes, size_t max)
{
	size_t mark = (size_t)g_utf8_strlen(CUT_MARK, -1), nn, room;
	char *t;

	if (max < 4 * mark) { /* no room for marks (only tests set such limits) */
		mail_cut(text, max);
		return text;
	}
	if ((size_t)g_utf8_strlen(notes->str, -1) > max / 2) {
		mail_cut(notes->str, max / 2 - 1);
		notes->len = strlen(notes->str);
		g_string_append(notes, "…");
	}
	nn = (size_t)g_utf8_strlen(notes->str, -1);
	room = max - nn - 1; /* and the line end between */
	if (mail_cut(text, room - mark)) {
		t = g_strconcat(text, CUT_MARK, NULL);
		g_free(text);
		text = t;
	}
	if (notes->len > 0 && text != NULL) {
		/* no blank line before the notes of a letter without text */
		t = g_strconcat(text, text[0] != '\0' ? "\n" : "", notes->str + (text[0] ? 0 : 1),
		                NULL);
		g_free(text);
		text = t;
	}
	return text;
}

static const char *fallbacks[] = { "UTF-8", "GB18030", "ISO-8859-1", NULL };

/* The bytes of raw[0..len) before its first empty line (its header), or len when it has none. */
static size_t
header_len(const char *raw, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i++)
		if (raw[i] == '\n' &&
		    (raw[i + 1] == '\n' || (raw[i + 1] == '\r' && i + 2 < len && raw[i + 2] == '\n')))
			return i + 1;
	return len;
}

/* 1 if UTF-8 s holds a letter of any script (Han characters are letters too). */
static int
has_letter(const char *s)
{
	for (; s != NULL && *s != '\0'; s = g_utf8_next_char(s))
		if (g_unichar_isalpha(g_utf8_get_char(s)))
			return 1;
	return 0;
}

enum mail_err
mail_parse(const struct mail_config *cfg, const char *raw, size_t len, struct mail_msg *out,
           char *err, size_t errsize)
{
	GMimeParserOptions *opts = NULL;
	GMimeStream *stream = NULL;
	GMimeParser *parser = NULL;
	GMimeMessage *msg = NULL;
	struct mail_msg m;
	struct walk w;
	const char *id;
	char *s, *fixed = NULL;
	size_t hlen;
	guint i;
	int subject_big5 = 0, subject_gb = 0;
	char *text = NULL, *subj;
	enum mail_err rc = MAIL_NOMEM;

	memset(&m, 0, sizeof(m));
	memset(&w, 0, sizeof(w));
	snprintf(err, errsize, "out of memory");
	if (len > (size_t)MAIL_RAW_MAX) {
		snprintf(err, errsize, "the message is larger than %ld bytes", MAIL_RAW_MAX);
		return MAIL_INVALID;
	}
	mail_init();
	/* What GMime would misread is parsed from a copy (the raw message is kept as it came): line
	 * ends of CR alone (classic Mac OS mailers, scripts writing "\r"), in a message without
	 * any LF, made LF (GMime found no header in it: "(no subject)", "(no text)"); a NUL in the
	 * header (a raw 8-bit Subject or name with one), which ended its value there, a space. */
	if (len > 0 && memchr(raw, '\n', len) == NULL && memchr(raw, '\r', len) != NULL) {
		fixed = g_malloc(len);
		for (i = 0; i < len; i++)
			fixed[i] = raw[i] == '\r' ? '\n' : raw[i];
		raw = fixed;
	}
	hlen = header_len(raw, len);
	if (hlen > 0 && memchr(raw, '\0', hlen) != NULL) {
		if (fixed == NULL) {
			fixed = g_malloc(len);
			memcpy(fixed, raw, len);
			raw = fixed;
		}
		for (i = 0; i < hlen; i++)
			if (fixed[i] == '\0')
				fixed[i] = ' ';
	}
	opts = g_mime_parser_options_new();
	g_mime_parser_options_set_fallback_charsets(opts, fallbacks);
	g_mime_parser_options_set_rfc2047_compliance_mode(opts, GMIME_RFC_COMPLIANCE_LOOSE);
	g_mime_parser_options_set_parameter_compliance_mode(opts, GMIME_RFC_COMPLIANCE_LOOSE);
	g_mime_parser_options_set_address_compliance_mode(opts, GMIME_RFC_COMPLIANCE_LOOSE);
	stream = g_mime_stream_mem_new_with_buffer(raw, len); /* a copy */
	g_free(fixed);
	fixed = NULL;
	parser = g_mime_parser_new_with_stream(stream);
	g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
	msg = g_mime_parser_construct_message(parser, opts);
	if (msg == NULL ||
	    g_mime_header_list_get_count(g_mime_object_get_header_list(GMIME_OBJECT(msg))) == 0) {
		snprintf(err, errsize, "not an RFC 5322 message (no header)");
		rc = MAIL_INVALID;
		goto out;
	}

	s = text_header(opts, GMIME_OBJECT(msg), "Subject", NULL);
	m.subject = s != NULL ? s : g_strdup("");
	s = raw_header(opts, GMIME_OBJECT(msg), "Subject", NULL);
	mail_word_charsets(s, &subject_big5, &subject_gb);
	g_free(s);
	if (sender(opts, msg, NULL, &m) != 0)
		goto out;
	m.kind = kind_of(cfg, opts, msg);
	id = g_mime_message_get_message_id(msg);
	if (id != NULL && id[0] != '\0' && strlen(id) <= 255) {
		m.message_id = mail_clean(g_strdup(id), 0);
		if (m.message_id == NULL)
			goto out;
	}
	if (references(opts, msg, &m) != 0)
		goto out;
	find_tracking(m.subject, m.tracking);
	m.ignored = mail_noise(msg, m.from_addr, m.subject, &m.bounce);
	if (m.bounce && mail_bounce(opts, msg, &m) != 0)
		goto out;

	w.cfg = cfg;
	w.opts = opts;
	w.m = &m;
	w.plain = g_string_new("");
	w.html = g_string_new("");
	w.html_parts = g_ptr_array_new_with_free_func(g_free);
	w.notes = g_string_new("");
	w.qq = from_qq(msg, m.from_addr);
	w.subject_big5 = subject_big5;
	if (m.ignored == NULL) {
		int parts = 0;

		text_charsets(&w, g_mime_message_get_mime_part(msg), 0, &parts);
		walk(&w, g_mime_message_get_mime_part(msg), 0);
	}
	if (w.nomem)
		goto out;
	/* the charsets that tell the language where the text cannot: a Subject in Big5 beside text
	 * parts in UTF-8 or ASCII (none in a GB charset), or a GB one on text without letters */
	if (raw_label(&m, subject_big5) != NULL)
		m.big5 = 1;
	if (subject_gb)
		m.gb = 1;
	/* a raw 8-bit Subject and sender's name (no encoded word: an old client's, in the
	 * system's code page) were read as GB18030 when not UTF-8; in a letter in Big5 (its text
	 * parts, or its Subject's encoded words) they are Big5 too */
	if (m.big5) {
		subj = text_header(opts, GMIME_OBJECT(msg), "Subject", "BIG5");
		if (subj != NULL) {
			g_free(m.subject);
			m.subject = subj;
		}
		if (sender(opts, msg, "BIG5", &m) != 0)
			goto out;
	}
	/* the mailer and the noise were From's; the citizen may be Reply-To's */
	if (m.ignored == NULL && reply_to(cfg, opts, msg, m.big5 ? "BIG5" : NULL, &m) != 0)
		goto out;
	for (i = 0; w.plain->len == 0 && i < w.html_parts->len; i++) {
		const char *html = g_ptr_array_index(w.html_parts, i);
		char *t = mail_html_text(html, strlen(html));

		add_text(w.html, t);
		g_free(t);
	}
	s = mail_clean(g_strdup(w.plain->len > 0 ? w.plain->str : w.html->str), 1);
	if (s == NULL)
		goto out;
	m.wordless = !has_letter(m.subject) && !has_letter(s);
	text = g_strdup(s); /* the citizen's own words, without ours (the notes) */
	/* the whole decoded Subject is the item's (the contract); only one beyond the sanity cap
	 * (INTAKE_MAIL_SUBJECT_MAX: not a subject but a letter in the header) is cut below, and
	 * the body keeps it whole */
	if (cfg->limits.subject_max > 1 && m.ignored == NULL &&
	    g_utf8_strlen(m.subject, -1) > (glong)cfg->limits.subject_max)
		g_string_append_printf(w.notes, "\n[the whole subject (主题全文): %s]", m.subject);
	s = body_with_notes(s, w.notes, cfg->limits.body_max);
	if (s == NULL)
		goto out;
	if (s[0] == '\0') {
		g_free(s);
		s = g_strdup("(no text)");
	}
	m.body = s;
	if (m.subject[0] == '\0') {
		g_free(m.subject);
		m.subject = g_strdup("(no subject)");
	}
	if (cfg->limits.subject_max > 1 && mail_cut(m.subject, cfg->limits.subject_max)) {
		char *t;

		mail_cut(m.subject, cfg->limits.subject_max - 1);
		t = g_strconcat(m.subject, "…", NULL);
		g_free(m.subject);
		m.subject = t;
	}
	/* the citizen's language: the charsets where they tell it, else the guess from the
	 * subject and their text (not the notes of ours the body ends with, in two languages) */
	if (m.big5)
		m.lang = lang_name(LANG_ZH_HANT);
	else if (m.gb && m.wordless)
		m.lang = lang_name(LANG_ZH_HANS);
	else
		m.lang = lang_name(lang_guess(m.subject, text[0] != '\0' ? text : "(no text)"));
	*out = m;
	memset(&m, 0, sizeof(m));
	rc = MAIL_OK;
out:
	g_free(fixed);
	g_free(text);
	if (w.plain != NULL)
		g_string_free(w.plain, TRUE);
	if (w.html != NULL)
		g_string_free(w.html, TRUE);
	if (w.html_parts != NULL)
		g_ptr_array_free(w.html_parts, TRUE);
	if (w.notes != NULL)
		g_string_free(w.notes, TRUE);
	mail_msg_free(&m);
	if (msg != NULL)
		g_object_unref(msg);
	if (parser != NULL)
		g_object_unref(parser);
	if (stream != NULL)
		g_object_unref(stream);
	if (opts != NULL)
		g_mime_parser_options_free(opts);
	return rc;
}

/* The message of raw[0..len) parsed by GMime (its headers are what is looked at), or NULL. */
static GMimeMessage *
headers_of(GMimeParserOptions *opts, const char *raw, size_t len)
{
	GMimeStream *stream = g_mime_stream_mem_new_with_buffer(raw, len);
	GMimeParser *parser = g_mime_parser_new_with_stream(stream);
	GMimeMessage *msg;

	g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
	msg = g_mime_parser_construct_message(parser, opts);
	g_object_unref(parser);
	g_object_unref(stream);
	return msg;
}

/* The headers that tell two letters with one Message-ID apart. */
static const char *const letter_headers[] = { "Date", "From", "Subject" };

/* The unfolded, trimmed raw value of header name of msg (GLib string), or NULL. */
static char *
letter_header(GMimeMessage *msg, const char *name)
{
	GMimeHeaderList *l = g_mime_object_get_header_list(GMIME_OBJECT(msg));
	GMimeHeader *h = g_mime_header_list_get_header(l, name);

	if (h == NULL)
		return NULL;
	/* unfolded and trimmed: a relay may fold a header anew */
	return g_strstrip(g_mime_utils_header_unfold(g_mime_header_get_raw_value(h)));
}

char *
mail_letter_key(const char *raw, size_t len, const char *id)
{
	GMimeParserOptions *opts;
	GMimeMessage *msg;
	GString *all = g_string_new("");
	char *sum, *key;
	size_t i;

	mail_init();
	opts = g_mime_parser_options_new();
	msg = headers_of(opts, raw, len);
	for (i = 0; msg != NULL && i < sizeof(letter_headers) / sizeof(letter_headers[0]); i++) {
		char *v = letter_header(msg, letter_headers[i]);

		g_string_append_printf(all, "%s\n", v != NULL ? v : "");
		g_free(v);
	}
	if (msg != NULL)
		g_object_unref(msg);
	g_mime_parser_options_free(opts);
	sum = g_compute_checksum_for_string(G_CHECKSUM_SHA256, all->str, (gssize)all->len);
	g_string_free(all, TRUE);
	key = sum != NULL ? g_strdup_printf("%.200s#%.12s", id, sum) : NULL;
	g_free(sum);
	return key;
}

int
mail_same_letter(const char *a, size_t alen, const char *b, size_t blen)
{
	GMimeParserOptions *opts;
	GMimeMessage *ma, *mb;
	size_t i;
	int same = 1;

	mail_init();
	opts = g_mime_parser_options_new();
	ma = headers_of(opts, a, alen);
	mb = headers_of(opts, b, blen);
	if (ma == NULL || mb == NULL) {
		same = ma == mb ? 1 : 0;
		goto out;
	}
	for (i = 0; i < sizeof(letter_headers) / sizeof(letter_headers[0]) && same; i++) {
		char *va = letter_header(ma, letter_headers[i]), *vb = letter_header(mb, letter_headers[i]);

		same = va == NULL || vb == NULL || strcmp(va, vb) == 0;
		g_free(va);
		g_free(vb);
	}
out:
	if (ma != NULL)
		g_object_unref(ma);
	if (mb != NULL)
		g_object_unref(mb);
	g_mime_parser_options_free(opts);
	return same;
}

void
mail_msg_free(struct mail_msg *m)
{
	size_t i;

	if (m == NULL)
		return;
	g_free(m->subject);
	g_free(m->body);
	g_free(m->left_out);
	for (i = 0; i < m->nleft && i < MAIL_LEFT_LISTED; i++)
		g_free(m->left[i].name);
	g_free(m->from_name);
	g_free(m->from_addr);
	g_free(m->relay_addr);
	g_free(m->message_id);
	for (i = 0; i < m->nrefs; i++)
		free(m->refs[i]);
	for (i = 0; i < m->nbounce_ids; i++)
		free(m->bounce_ids[i]);
	g_free(m->bounce_reason);
	for (i = 0; i < m->natt; i++) {
		free(m->att[i].filename);
		free(m->att[i].content_type);
		free(m->att[i].data);
	}
	memset(m, 0, sizeof(*m));
}
