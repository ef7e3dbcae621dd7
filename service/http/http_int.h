/*
 * http_int.h: what the files of service/http share beyond http.h.
 */
#ifndef HTTP_INT_H
#define HTTP_INT_H

#include <stddef.h>

#include "http.h"

/* --- the body's framing (framing.c) -------------------------------------------------------- */

/* What a request's header lines say of its body's length: fill with framing_add for each
 * header line (zeroed first), then ask framing_check. */
struct framing {
	int te_lines;         /* Transfer-Encoding header lines */
	int te_first_chunked; /* the first of them is "chunked" alone: what libmicrohttpd decodes */
	int codings;          /* transfer codings named, over every line */
	int chunked;          /* of them, chunked */
	int last_chunked;     /* the last one named is chunked */
	char other[48];       /* the first coding named other than chunked, or "" */
	int cl_lines;         /* Content-Length header lines */
	char cl_first[32];    /* the first one's value (cut) */
	int cl_differ;        /* a later one differs from it */
};

/* Counts one header line (name and value as libmicrohttpd gives them) into f. */
void framing_add(struct framing *f, const char *name, const char *value);
/* 0 when the body can be read as libmicrohttpd reads it; else the status to answer at once
 * (the connection then closed: the body's end is unknown), with the reason, for a person, in
 * why: 400 for Transfer-Encoding in HTTP/1.0, beside a Content-Length, without chunked last
 * or with chunked twice, and for Content-Lengths that differ; 501 for a transfer coding other
 * than chunked (gzip, deflate, …) before a last chunked (RFC 9112 sections 6.1 and 6.3). */
int framing_check(const struct framing *f, int http10, char *why, size_t size);

#endif
