/*
 * imapc.c: the IMAP commands of the poller on one libcurl connection. libcurl connects, speaks
 * TLS and logs in (CURLOPT_CONNECT_ONLY on the imap[s]:// URL); the commands then go over that
 * connection with curl_easy_send / curl_easy_recv, because libcurl's own FETCH takes one UID
 * per round trip, and its custom requests read a literal as protocol lines (curl issue 22865:
 * a line of a citizen's letter could end the command). Here a response is read as RFC 3501
 * says: lines, and literals {N} taken as N bytes whatever they hold.
 */
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "mailin_int.h"
#include "service/core/core.h"

#define IN_CHUNK (256 * 1024)       /* bytes asked of the connection at once */
#define TEXT_MAX (8L * 1024 * 1024) /* bytes of a response's text (SEARCH lists) at most */
#define WAIT_MS 60000               /* silence from the server that ends the connection */

struct imapc {
	struct imapc_io io; /* how bytes come and go: libcurl's connection, or a test's */
	CURL *curl;         /* the connection (imapc_open), or NULL */
	const char *key;    /* the mailbox URL without credentials, for the log (lent) */
	unsigned tag;       /* the last tag sent */
	char *in;           /* bytes received, not yet used: in[pos..len) */
	size_t pos, len, cap;
	size_t lit_max; /* bytes of a literal kept at most (the rest is read and dropped) */
	unsigned pend[IMAPC_PEND]; /* tags of commands sent by imapc_send, not yet answered */
	size_t npend;
};

/* Waits until the connection can be read (w = 0) or written (w = 1). 0, or -1 (logged). */
static int
wait_io(struct imapc *c, int w)
{
	curl_socket_t s = CURL_SOCKET_BAD;
	struct pollfd pfd;
	int rc;

	if (curl_easy_getinfo(c->curl, CURLINFO_ACTIVESOCKET, &s) != CURLE_OK ||
	    s == CURL_SOCKET_BAD) {
		log_warn("imap %s: the connection is gone", c->key);
		return -1;
	}
	pfd.fd = s;
	pfd.events = w ? POLLOUT : POLLIN;
	pfd.revents = 0;
	rc = poll(&pfd, 1, WAIT_MS);
	if (rc <= 0) {
		log_warn("imap %s: %s", c->key,
		         rc == 0 ? "the server did not answer" : "poll failed");
		return -1;
	}
	return 0;
}

/* struct imapc_io over libcurl's connection (cls: the struct imapc) */
static int
curl_send(void *cls, const char *buf, size_t len)
{
	struct imapc *c = cls;
	size_t n, off = 0;
	CURLcode rc;

	while (off < len) {
		n = 0;
		rc = curl_easy_send(c->curl, buf + off, len - off, &n);
		if (rc == CURLE_AGAIN) {
			if (wait_io(c, 1) != 0)
				return -1;
			continue;
		}
		if (rc != CURLE_OK) {
			log_warn("imap %s: %s", c->key, curl_easy_strerror(rc));
			return -1;
		}
		off += n;
	}
	return 0;
}

static int
curl_recv(void *cls, char *buf, size_t cap, size_t *got)
{
	struct imapc *c = cls;
	size_t n = 0;
	CURLcode rc;

	for (;;) {
		rc = curl_easy_recv(c->curl, buf, cap, &n);
		if (rc == CURLE_AGAIN) {
			if (wait_io(c, 0) != 0)
				return -1;
			continue;
		}
		if (rc != CURLE_OK || n == 0) {
			log_warn("imap %s: %s", c->key,
			         rc != CURLE_OK ? curl_easy_strerror(rc)
			                        : "the server closed the connection");
			return -1;
		}
		*got = n;
		return 0;
	}
}

int
imapc_new(const struct imapc_io *io, const char *key, size_t lit_max, struct imapc **out)
{
	struct imapc *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return -1;
	if (io != NULL)
		c->io = *io;
	c->key = key;
	c->lit_max = lit_max;
	*out = c;
	return 0;
}

int
imapc_open(CURL *curl, const char *url, char *errbuf, const char *key, size_t lit_max,
           struct imapc **out)
{
	struct imapc *c;
	CURLcode rc;

	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_CONNECT_ONLY, 1L);
	errbuf[0] = '\0';
	rc = curl_easy_perform(curl);
	if (rc != CURLE_OK) {
		char detail[CURL_ERROR_SIZE];

		/* the caller says it, once (a server that is down fails every poll) */
		snprintf(detail, sizeof(detail), "%s", errbuf);
		if (snprintf(errbuf, CURL_ERROR_SIZE, "%s%s%s", curl_easy_strerror(rc),
		             detail[0] ? ": " : "", detail) >= CURL_ERROR_SIZE)
			errbuf[CURL_ERROR_SIZE - 1] = '\0'; /* cut: a reason, not a record */
		return -1;
	}
	if (imapc_new(NULL, key, lit_max, &c) != 0)
		return -1;
	c->curl = curl;
	c->io.send = curl_send;
	c->io.recv = curl_recv;
	c->io.cls = c;
	*out = c;
	return 0;
}

void
imapc_free(struct imapc *c)
{
	if (c == NULL)
		return;
	free(c->in);
	free(c);
}

static int
send_all(struct imapc *c, const char *buf, size_t len)
{
	return c->io.send(c->io.cls, buf, len);
}

/* Reads more bytes into c->in. 0, or -1 (closed, error: logged). */
static int
fill(struct imapc *c)
{
	size_t n = 0;
	char *nb;

	if (c->pos > 0 && c->pos == c->len)
		c->pos = c->len = 0;
	if (c->pos > c->cap / 2) {
		memmove(c->in, c->in + c->pos, c->len - c->pos);
		c->len -= c->pos;
		c->pos = 0;
	}
	if (c->cap - c->len < IN_CHUNK) {
		nb = realloc(c->in, c->cap + IN_CHUNK);
		if (nb == NULL)
			return -1;
		c->in = nb;
		c->cap += IN_CHUNK;
	}
	if (c->io.recv(c->io.cls, c->in + c->len, c->cap - c->len, &n) != 0)
		return -1;
	c->len += n;
	return 0;
}

/* The length of a literal announced at the end of line[0..n) ("… {123}"), or -1 if none. */
static long long
literal_at_end(const char *line, size_t n)
{
	size_t i;
	long long v = 0;

	if (n < 3 || line[n - 1] != '}')
		return -1;
	i = n - 1;
	if (line[i - 1] == '+') /* LITERAL+ form, from a server that should not send it */
		i--;
	if (i < 2 || line[i - 1] < '0' || line[i - 1] > '9')
		return -1;
	while (i > 0 && line[i - 1] >= '0' && line[i - 1] <= '9')
		i--;
	if (i == 0 || line[i - 1] != '{' || n - i > 13)
		return -1;
	for (; line[i] >= '0' && line[i] <= '9'; i++)
		v = v * 10 + (line[i] - '0');
	return v;
}

static void
resp_clear(struct imapc_resp *r)
{
	size_t i;

	for (i = 0; i < r->nlit; i++)
		free(r->lit[i].data);
	r->nlit = 0;
	r->len = 0;
	if (r->text != NULL)
		r->text[0] = '\0';
}

static int
text_append(struct imapc_resp *r, const char *s, size_t n)
{
	char *nt;
	size_t want;

	if (r->len + n + 1 > (size_t)TEXT_MAX)
		return -1;
	if (r->len + n + 1 > r->cap) {
		want = r->cap ? r->cap : 4096;
		while (want < r->len + n + 1)
			want *= 2;
		nt = realloc(r->text, want);
		if (nt == NULL)
			return -1;
		r->text = nt;
		r->cap = want;
	}
	memcpy(r->text + r->len, s, n);
	r->len += n;
	r->text[r->len] = '\0';
	return 0;
}

/* Reads one literal of n bytes into a new lit (kept up to c->lit_max bytes). 0 or -1. */
static int
read_literal(struct imapc *c, struct imapc_resp *r, long long n)
{
	struct imapc_lit *l = &r->lit[r->nlit];
	size_t keep = (size_t)n < c->lit_max ? (size_t)n : c->lit_max, got = 0, k;
	long long left = n;

	memset(l, 0, sizeof(*l));
	l->at = r->len;
	l->size = (size_t)n;
	l->data = malloc(keep + 1);
	if (l->data == NULL)
		return -1;
	r->nlit++;
	while (left > 0) {
		if (c->pos == c->len && fill(c) != 0)
			return -1;
		k = c->len - c->pos;
		if ((long long)k > left)
			k = (size_t)left;
		if (got < keep) {
			size_t take = k < keep - got ? k : keep - got;

			memcpy(l->data + got, c->in + c->pos, take);
			got += take;
		}
		c->pos += k;
		left -= (long long)k;
	}
	l->len = got;
	l->data[got] = '\0';
	return 0;
}

/* Reads one response (a line, with the literals it announces and the lines that follow them)
 * into r. 0 or -1. */
static int
read_response(struct imapc *c, struct imapc_resp *r)
{
	char *nl;
	size_t n;
	long long lit;

	resp_clear(r);
	for (;;) {
		nl = c->pos < c->len ? memchr(c->in + c->pos, '\n', c->len - c->pos) : NULL;
		if (nl == NULL) {
			if (c->len - c->pos > (size_t)TEXT_MAX) {
				log_warn("imap %s: a response line is too long", c->key);
				return -1;
			}
			if (fill(c) != 0)
				return -1;
			continue;
		}
		n = (size_t)(nl - (c->in + c->pos));
		if (n > 0 && c->in[c->pos + n - 1] == '\r')
			n--;
		if (text_append(r, c->in + c->pos, n) != 0) {
			log_warn("imap %s: a response is too long", c->key);
			return -1;
		}
		c->pos = (size_t)(nl - c->in) + 1;
		lit = literal_at_end(r->text, r->len);
		if (lit < 0)
			return 0;
		if (r->nlit == IMAPC_LITS) {
			log_warn("imap %s: a response holds more than %d literals", c->key,
			         IMAPC_LITS);
			return -1;
		}
		if (read_literal(c, r, lit) != 0)
			return -1;
	}
}

/* Sends the command fmt (ap) with the next tag: 0 and its tag in *tag, or -1. */
static int
send_cmd(struct imapc *c, unsigned *tag, const char *fmt, va_list ap)
{
	char *cmd;
	va_list aq;
	int n, tl, ret;

	va_copy(aq, ap);
	n = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	if (n < 0 || (cmd = malloc(16 + (size_t)n + 3)) == NULL)
		return -1;
	*tag = ++c->tag;
	tl = snprintf(cmd, 16, "c%u ", *tag);
	vsnprintf(cmd + tl, (size_t)n + 1, fmt, ap);
	memcpy(cmd + tl + n, "\r\n", 3);
	ret = send_all(c, cmd, (size_t)tl + (size_t)n + 2);
	free(cmd);
	return ret;
}

int imapc_flush(struct imapc *c);

/* The tag of a tagged response line ("c12 OK …"), or 0. */
static unsigned
tag_of(const char *text)
{
	unsigned v = 0;
	const char *p = text + 1;

	if (text[0] != 'c' || *p < '1' || *p > '9')
		return 0;
	for (; *p >= '0' && *p <= '9' && v < 100000000u; p++)
		v = v * 10 + (unsigned)(*p - '0');
	return *p == ' ' ? v : 0;
}

int
imapc_send(struct imapc *c, const char *fmt, ...)
{
	va_list ap;
	unsigned tag;
	int rc;

	if (c->npend == IMAPC_PEND && imapc_flush(c) < 0)
		return -1;
	va_start(ap, fmt);
	rc = send_cmd(c, &tag, fmt, ap);
	va_end(ap);
	if (rc == 0)
		c->pend[c->npend++] = tag;
	return rc;
}

/* A tagged answer to a command sent by imapc_send: taken off the list (a NO or BAD logged).
 * 1 if it was one, else 0. */
static int
pending_done(struct imapc *c, unsigned tag, const char *text)
{
	size_t i;

	for (i = 0; i < c->npend && c->pend[i] != tag; i++)
		;
	if (i == c->npend)
		return 0;
	c->pend[i] = c->pend[--c->npend];
	text = strchr(text, ' ') + 1;
	if (strncmp(text, "OK", 2) != 0)
		log_warn("imap %s: c%u: %.200s", c->key, tag, text);
	return 1;
}

int
imapc_flush(struct imapc *c)
{
	return c->npend > 0 ? imapc_cmd(c, NULL, NULL, "NOOP") : 0;
}

int
imapc_cmd(struct imapc *c, imapc_untagged_fn *fn, void *cls, const char *fmt, ...)
{
	struct imapc_resp r;
	va_list ap;
	unsigned tag, t;
	int ret = -1, rc;

	memset(&r, 0, sizeof(r));
	va_start(ap, fmt);
	rc = send_cmd(c, &tag, fmt, ap);
	va_end(ap);
	if (rc != 0)
		return -1;
	for (;;) {
		if (read_response(c, &r) != 0)
			goto out;
		t = tag_of(r.text);
		if (t == tag) {
			const char *st = strchr(r.text, ' ') + 1;

			if (strncmp(st, "OK", 2) == 0) {
				ret = 0;
			} else {
				log_warn("imap %s: %.*s: %.200s", c->key, (int)strcspn(fmt, " "),
				         fmt, st);
				ret = 1;
			}
			goto out;
		}
		if (t != 0 && pending_done(c, t, r.text))
			continue;
		if (r.len >= 2 && r.text[0] == '*' && r.text[1] == ' ') {
			if (strncmp(r.text + 2, "BYE", 3) == 0) {
				log_warn("imap %s: %.200s", c->key, r.text);
				goto out;
			}
			if (fn != NULL && fn(cls, &r) != 0)
				goto out;
		}
		/* "+" continuations and unknown lines: nothing is asked of us */
	}
out:
	resp_clear(&r);
	free(r.text);
	return ret;
}
