/*
 * bounce.c: what a bounce says about the message it returns: the Message-IDs it names (of the
 * returned message in a message/rfc822 or text/rfc822-headers part or an attached .eml file,
 * then "Message-ID:" lines quoted in its text, then its own In-Reply-To and References) and
 * why delivery failed (the failed recipient's Status and Diagnostic-Code of an RFC 3464
 * report, else the first line of its text). GMime parses every header block.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mailin_int.h"

#define DSN_BLOCKS_MAX 32 /* header blocks of a delivery-status part looked at */
#define REASON_MAX 200    /* code points of a reason */

struct bwalk {
	GMimeParserOptions *opts;
	struct mail_msg *m;
	GString *quoted;   /* Message-IDs quoted in the text, one per line, for after the parts */
	char *first_line;  /* first non-empty line of the text (GLib), or NULL */
	char *dsn;         /* the report's reason (GLib), or NULL */
	int dsn_failed;    /* the report names a failed recipient */
	int dsn_actions;   /* recipient blocks with an Action */
	int parts;
	int nomem;
};

static void
add_id(struct bwalk *w, const char *id)
{
	struct mail_msg *m = w->m;
	size_t i;

	if (id == NULL || id[0] == '\0' || strlen(id) > 255 || m->nbounce_ids == MAIL_BOUNCE_IDS)
		return;
	for (i = 0; i < m->nbounce_ids; i++)
		if (strcmp(m->bounce_ids[i], id) == 0)
			return;
	m->bounce_ids[m->nbounce_ids] = strdup(id);
	if (m->bounce_ids[m->nbounce_ids] == NULL)
		w->nomem = 1;
	else
		m->nbounce_ids++;
}

/* The header block buf[0..len) parsed by GMime as a message (its headers), or NULL. */
static GMimeMessage *
parse_headers(GMimeParserOptions *opts, const char *buf, size_t len)
{
	GMimeStream *s = g_mime_stream_mem_new_with_buffer(buf, len);
	GMimeParser *p = g_mime_parser_new_with_stream(s);
	GMimeMessage *msg;

	g_mime_parser_set_format(p, GMIME_FORMAT_MESSAGE);
	msg = g_mime_parser_construct_message(p, opts);
	g_object_unref(p);
	g_object_unref(s);
	return msg;
}

static void
returned_message(struct bwalk *w, GMimeMessage *inner)
{
	if (inner != NULL)
		add_id(w, g_mime_message_get_message_id(inner));
}

/* The decoded content of part (GByteArray). */
static GByteArray *
part_bytes(GMimePart *part)
{
	GMimeDataWrapper *dw = g_mime_part_get_content(part);
	GByteArray *ba = g_byte_array_new();
	GMimeStream *mem;

	if (dw == NULL)
		return ba;
	mem = g_mime_stream_mem_new_with_byte_array(ba);
	g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(mem), FALSE);
	g_mime_data_wrapper_write_to_stream(dw, mem);
	g_object_unref(mem);
	return ba;
}

/* The value of header name of obj, cleaned and cut, or NULL (GLib). */
static char *
field(GMimeObject *obj, const char *name)
{
	const char *v = g_mime_object_get_header(obj, name);
	char *s;

	if (v == NULL)
		return NULL;
	s = mail_clean(g_utf8_make_valid(v, -1), 0);
	if (s != NULL)
		mail_cut(s, REASON_MAX);
	return s;
}

/* A message/delivery-status part: blocks of fields separated by blank lines (RFC 3464); the
 * first recipient block whose Action is failed gives the reason (else the first one). */
static void
delivery_status(struct bwalk *w, GMimePart *part)
{
	GByteArray *ba = part_bytes(part);
	const char *p = (const char *)ba->data, *end = p + ba->len, *e, *next;
	int blocks = 0;

	while (p < end && blocks++ < DSN_BLOCKS_MAX) {
		GMimeMessage *b;
		char *action, *status, *diag;
		int failed;

		/* a block ends at an empty line (LF LF or CRLF CRLF) */
		for (e = p; e < end; e++)
			if (*e == '\n' && ((e + 1 < end && e[1] == '\n') ||
			                   (e + 2 < end && e[1] == '\r' && e[2] == '\n')))
				break;
		next = e < end ? e + 1 : end;
		while (next < end && (*next == '\r' || *next == '\n'))
			next++;
		b = e > p ? parse_headers(w->opts, p, (size_t)(e - p) + (e < end ? 1 : 0)) : NULL;
		p = next;
		if (b == NULL)
			continue;
		action = field(GMIME_OBJECT(b), "Action");
		status = field(GMIME_OBJECT(b), "Status");
		diag = field(GMIME_OBJECT(b), "Diagnostic-Code");
		failed = action != NULL && g_ascii_strncasecmp(action, "failed", 6) == 0;
		if ((status != NULL || diag != NULL) && (w->dsn == NULL || (failed && !w->dsn_failed))) {
			g_free(w->dsn);
			w->dsn = g_strdup_printf("%s%s%s", status != NULL ? status : "",
			                         status != NULL && diag != NULL ? " " : "",
			                         diag != NULL ? diag : "");
			if (w->dsn == NULL)
				w->nomem = 1;
		}
		if (failed)
			w->dsn_failed = 1;
		if (action != NULL)
			w->dsn_actions++;
		g_free(action);
		g_free(status);
		g_free(diag);
		g_object_unref(b);
	}
	g_byte_array_unref(ba);
}

/* Lines "Message-ID: <…>" quoted in text (Notes and some Exchange bounces quote the returned
 * message's headers in their text), and its first non-empty line. */
static void
scan_text(struct bwalk *w, const char *text)
{
	const char *line = text, *nl, *p, *lt, *gt;

	for (; *line != '\0'; line = nl != NULL ? nl + 1 : line + strlen(line)) {
		nl = strchr(line, '\n');
		p = line;
		while (*p == ' ' || *p == '\t' || *p == '>')
			p++;
		if (w->first_line == NULL && p != nl && *p != '\0') {
			w->first_line = g_strndup(p, nl != NULL ? (size_t)(nl - p) : strlen(p));
			w->first_line = mail_clean(w->first_line, 0);
			if (w->first_line != NULL)
				mail_cut(w->first_line, REASON_MAX);
		}
		if (g_ascii_strncasecmp(p, "message-id:", 11) != 0)
			continue;
		lt = strchr(p, '<');
		gt = lt != NULL ? strchr(lt, '>') : NULL;
		if (lt == NULL || gt == NULL || (nl != NULL && gt > nl) || gt - lt - 1 > 255)
			continue;
		g_string_append_len(w->quoted, lt + 1, gt - lt - 1);
		g_string_append_c(w->quoted, '\n');
	}
}

static int
is_type(GMimeContentType *ct, const char *type, const char *sub)
{
	return ct != NULL && g_mime_content_type_is_type(ct, type, sub);
}

static void
bounce_part(struct bwalk *w, GMimePart *part)
{
	GMimeObject *obj = GMIME_OBJECT(part);
	GMimeContentType *ct = g_mime_object_get_content_type(obj);
	const char *name = g_mime_part_get_filename(part);
	size_t n = name != NULL ? strlen(name) : 0;
	GByteArray *ba;

	if (is_type(ct, "message", "delivery-status") ||
	    is_type(ct, "message", "global-delivery-status")) {
		delivery_status(w, part);
		return;
	}
	if (is_type(ct, "text", "rfc822-headers") || is_type(ct, "message", "global-headers") ||
	    (n > 4 && g_ascii_strcasecmp(name + n - 4, ".eml") == 0)) {
		GMimeMessage *inner;

		ba = part_bytes(part);
		inner = parse_headers(w->opts, (const char *)ba->data, ba->len);
		returned_message(w, inner);
		if (inner != NULL)
			g_object_unref(inner);
		g_byte_array_unref(ba);
		return;
	}
	if (is_type(ct, "text", "plain") || ct == NULL) {
		const char *cs = ct != NULL ? g_mime_content_type_get_parameter(ct, "charset") : NULL;
		char *text;

		ba = part_bytes(part);
		text = mail_decode(w->opts, cs, (const char *)ba->data, ba->len);
		g_byte_array_unref(ba);
		if (text == NULL) {
			w->nomem = 1;
			return;
		}
		scan_text(w, text);
		g_free(text);
	}
}

static void
bounce_walk(struct bwalk *w, GMimeObject *obj, int depth)
{
	int i, n;

	if (obj == NULL || w->nomem || ++w->parts > MAIL_PARTS_MAX || depth > MAIL_DEPTH_MAX)
		return;
	if (GMIME_IS_MULTIPART(obj)) {
		n = g_mime_multipart_get_count(GMIME_MULTIPART(obj));
		for (i = 0; i < n; i++)
			bounce_walk(w, g_mime_multipart_get_part(GMIME_MULTIPART(obj), i), depth + 1);
	} else if (GMIME_IS_MESSAGE_PART(obj)) {
		/* the returned message: its Message-ID, not what it contains */
		returned_message(w, g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj)));
	} else if (GMIME_IS_PART(obj)) {
		bounce_part(w, GMIME_PART(obj));
	}
}

int
mail_bounce(GMimeParserOptions *opts, GMimeMessage *msg, struct mail_msg *m)
{
	struct bwalk w;
	const char *p, *nl;
	size_t i;
	int rc = -1;

	memset(&w, 0, sizeof(w));
	w.opts = opts;
	w.m = m;
	w.quoted = g_string_new("");
	bounce_walk(&w, g_mime_message_get_mime_part(msg), 0);
	if (w.nomem)
		goto out;
	for (p = w.quoted->str; *p != '\0'; p = nl + 1) {
		nl = strchr(p, '\n');
		*(char *)nl = '\0';
		add_id(&w, p);
	}
	for (i = 0; i < m->nrefs; i++)
		add_id(&w, m->refs[i]);
	if (w.nomem)
		goto out;
	/* a report of delayed (or relayed, delivered) recipients only is no failure */
	m->bounce_delayed = w.dsn_actions > 0 && !w.dsn_failed;
	if (w.dsn != NULL)
		m->bounce_reason = w.dsn;
	else if (w.first_line != NULL && w.first_line[0] != '\0')
		m->bounce_reason = m->subject[0] != '\0'
		                       ? g_strdup_printf("%s: %s", m->subject, w.first_line)
		                       : g_strdup(w.first_line);
	else
		m->bounce_reason = g_strdup(m->subject);
	w.dsn = NULL;
	if (m->bounce_reason == NULL)
		goto out;
	mail_cut(m->bounce_reason, REASON_MAX);
	rc = 0;
out:
	g_free(w.dsn);
	g_free(w.first_line);
	g_string_free(w.quoted, TRUE);
	return rc;
}
