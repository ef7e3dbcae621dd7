/*
 * framing.c: how a request says where its body ends (RFC 9112 section 6), judged from its
 * Transfer-Encoding and Content-Length header lines before any byte of the body is read.
 * libmicrohttpd 0.9.75 decodes a lone "Transfer-Encoding: chunked" and one Content-Length; for
 * any other transfer coding it reads the body until the client closes (the client waits for
 * the connection's timeout), it lets Transfer-Encoding win over a Content-Length beside it,
 * takes chunked in HTTP/1.0 and reads the first of several Content-Length lines. Those
 * requests are refused here instead, at once, and their connection closed.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "http_int.h"

/* Whether s[0..n) is the token "chunked", in any case. */
static int
is_chunked(const char *s, size_t n)
{
	return n == 7 && strncasecmp(s, "chunked", 7) == 0;
}

/* Walks the codings of one Transfer-Encoding value into f: each list member's name (what comes
 * before a ';' parameter), blanks around it dropped, empty members skipped (RFC 9110 section
 * 5.6.1). */
static void
codings(struct framing *f, const char *v)
{
	const char *p = v, *end, *name_end;

	while (*p != '\0') {
		end = p + strcspn(p, ",");
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		name_end = p + strcspn(p, ";");
		if (name_end > end)
			name_end = end;
		while (name_end > p && (name_end[-1] == ' ' || name_end[-1] == '\t'))
			name_end--;
		if (name_end > p) {
			f->codings++;
			f->last_chunked = is_chunked(p, (size_t)(name_end - p));
			if (f->last_chunked)
				f->chunked++;
			else if (f->other[0] == '\0')
				snprintf(f->other, sizeof(f->other), "%.*s",
				         (int)(name_end - p < 40 ? name_end - p : 40), p);
		}
		p = *end == ',' ? end + 1 : end;
	}
}

void
framing_add(struct framing *f, const char *name, const char *value)
{
	if (name == NULL || value == NULL)
		return;
	if (strcasecmp(name, "Transfer-Encoding") == 0) {
		if (f->te_lines++ == 0)
			f->te_first_chunked = strcasecmp(value, "chunked") == 0;
		codings(f, value);
	} else if (strcasecmp(name, "Content-Length") == 0) {
		if (f->cl_lines++ == 0)
			snprintf(f->cl_first, sizeof(f->cl_first), "%s", value);
		else if (strcmp(value, f->cl_first) != 0 || strlen(value) >= sizeof(f->cl_first))
			f->cl_differ = 1;
	}
}

int
framing_check(const struct framing *f, int http10, char *why, size_t size)
{
	if (f->te_lines == 0) {
		if (f->cl_differ) {
			snprintf(
			    why, size,
			    "Content-Length is given %d times with different values: the body's "
			    "length cannot be told; send one Content-Length",
			    f->cl_lines);
			return 400;
		}
		return 0;
	}
	if (http10) {
		snprintf(
		    why, size,
		    "an HTTP/1.0 request cannot have a Transfer-Encoding (RFC 9112 section 6.1): "
		    "send the body with Content-Length, or the request as HTTP/1.1");
		return 400;
	}
	if (f->cl_lines > 0) {
		snprintf(why, size,
		         "Transfer-Encoding and Content-Length are both given: the body's length "
		         "cannot be told; send one of them");
		return 400;
	}
	if (f->codings == 1 && f->chunked == 1 && f->te_lines == 1 && f->te_first_chunked)
		return 0; /* what libmicrohttpd decodes */
	if (f->codings == 0 || !f->last_chunked) {
		snprintf(
		    why, size,
		    "the body's length cannot be told: chunked must be the last transfer coding "
		    "of Transfer-Encoding (RFC 9112 section 6.3), and the only one: send "
		    "Transfer-Encoding: chunked or Content-Length");
		return 400;
	}
	if (f->other[0] != '\0') {
		snprintf(why, size,
		         "the transfer coding %s is not implemented here: send the body with "
		         "Content-Length or Transfer-Encoding: chunked alone",
		         f->other);
		return 501;
	}
	snprintf(why, size,
	         "Transfer-Encoding must name chunked once, alone in one header line: the body's "
	         "length cannot be told otherwise");
	return 400;
}
