/*
 * http.c: the HTTP layer on libmicrohttpd. Collects a request (headers, a body capped at
 * max_body, or form fields through MHD's post processor), routes it, checks the session for
 * staff routes, lends a database connection to the handler and sends its struct resp.
 *
 * Threads: libmicrohttpd runs a pool of one thread per CPU on epoll, which reads and writes
 * every connection and runs the routes flagged ROUTE_READ (short reads that never wait for a
 * lock) itself. Every other request (a submission waiting for its group commit, a staff action,
 * a login's password hash, an upload's virus scan) is handed to a worker thread while its
 * connection is suspended, and answered when the worker resumes it: a request that waits never
 * holds up the connections of its I/O thread. Workers are started as needed, up to
 * HTTP_WORKERS_MAX, and stay. A ROUTE_ASYNC route with a JSON body (a submission) runs on the
 * I/O thread too: its handler queues the work and suspends the connection (req_suspend); the
 * thread that does the work (the writer) resumes it, and the I/O thread answers.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>

#include <microhttpd.h>
#include <sodium.h>

#include "http_int.h"

#define FORM_MAX_FIELDS 64
#define POST_BUFFER 16384
#define HTTP_IO_THREADS_MAX 16 /* libmicrohttpd's pool: one thread per CPU, at most this many */
#define HTTP_WORKERS_MAX 64    /* threads running the requests that may wait (not ROUTE_READ) */
/* libmicrohttpd's memory per connection (request line and headers, the read buffer a body
 * streams through, the answer's headers): it zeroes all of it for each request, which at
 * 64 KiB was a sixth of a submission's instructions (callgrind). 32 KiB (the library's default)
 * takes request headers of up to about 32 KB, of which cookies up to about 11 KB or some 130 of
 * them (libmicrohttpd parses each into the same memory); 16 KiB would save about 1 us a request
 * (here and in bench/ceiling.c alike) but took only some 60 cookies of 85 bytes beside a
 * browser's other headers, and closed the connection without an answer at the edge (issue 20,
 * bench/RESULTS.md). Larger headers get 431 (tests/integration/test_edges.py). */
#define HTTP_CONNECTION_MEMORY 32768
/* Page cache of the I/O threads' own database connections, all of them together, and of each
 * at least: a page of Open311's list reads some 250 pages scattered over the file, which the
 * pool's 512 KiB connections read again from the kernel each time (200 preads a request). */
#define HTTP_READER_CACHE_KIB 16384
#define HTTP_READER_CACHE_MIN_KIB 2048

/* The requests' log lines (one each, log_request), gathered and written by a thread of their
 * own at most ACCESS_LOG_MS after the first of them: one write for every hundred requests under
 * load instead of one system call each on the I/O threads (issue 20). */
#define ACCESS_LOG_SIZE 65536 /* bytes of lines waiting (each line at most LOG_FORMAT_SIZE) */
#define ACCESS_LOG_MS 20

struct access_log {
	pthread_mutex_t lock;  /* guards the rest */
	pthread_cond_t more;   /* signalled by a first line, a half-full buffer, and on stop */
	pthread_cond_t room;   /* broadcast when the flusher has taken the lines */
	char *buf;             /* the lines waiting, len bytes */
	size_t len;
	char *spare;           /* the other buffer, NULL while the flusher writes from it */
	int running;           /* the flusher runs: else lines are written at once */
	int stopping;          /* access_log_stop: write what is left and end */
	pthread_t thread;
};

/* The database connection of one I/O thread, for its ROUTE_READ requests. */
struct reader {
	pthread_t thread;
	struct db_conn *c;
};

struct call;

/* The calls of one I/O thread that req_resume queued for a resumed call of that thread to
 * resume when its thread runs it. */
struct resume_queue {
	struct call *head, *tail; /* oldest first */
	size_t pending;           /* calls of this thread resumed whose second half has not run
	                           * yet: each resumes what is queued when it runs */
};

/* A running server: libmicrohttpd's daemon, what it routes to and the worker threads. */
struct http_server {
	struct app *app;
	const struct route *routes; /* lent by the caller of http_start */
	size_t nroutes;
	int errors;                  /* 1 if routes has ROUTE_ERRORS rows */
	struct MHD_Daemon *mhd;
	pthread_mutex_t lock;        /* guards queue, tail, nworkers and idle, and the adding to
	                              * io and readers */
	pthread_cond_t work;         /* signalled when a call is queued or on stop */
	pthread_cond_t resumed;      /* signalled when the last suspended call is answered while
	                              * stopping (http_stop waits for it) */
	struct call *queue, *tail;   /* calls waiting for a worker, oldest first */
	size_t nworkers, idle;       /* workers started; of them, waiting for work */
	/* calls suspended by req_suspend, not yet answered: counted without the lock, which the
	 * two I/O threads took twice a submission for it (its cache line moved between them) */
	_Atomic size_t nsuspended;
	pthread_t io[HTTP_IO_THREADS_MAX]; /* the I/O threads seen by req_suspend: added under
	                                    * lock, never changed once counted in nio */
	_Atomic size_t nio;
	pthread_mutex_t rlock;       /* guards resume */
	struct resume_queue resume[HTTP_IO_THREADS_MAX]; /* per I/O thread, as io (req_resume) */
	_Atomic int stopping;        /* http_stop (set under lock): workers finish the queue and
	                              * end, no call is suspended any more */
	pthread_t workers[HTTP_WORKERS_MAX];
	struct reader readers[HTTP_IO_THREADS_MAX]; /* added under lock, never changed once
	                                             * counted in nreaders */
	_Atomic size_t nreaders;     /* read without lock (reader_of_thread) */
	long reader_cache_kib;
	/* request ids: SipHash of a counter under a key drawn at start, unique and unguessable
	 * like random ones, without a getrandom system call per request */
	unsigned char id_key[crypto_shorthash_KEYBYTES];
	_Atomic unsigned long long id_next;
	struct access_log log;
};

#define REQUEST_ID_SIZE 17 /* 16 hex digits and a NUL */
#define HTTP_RETRY_AFTER 30 /* seconds a 503 asks the client to wait by default */

/* State of one request across the access handler's calls. */
struct call {
	struct req req;
	struct resp resp;
	const struct route *route;
	int match;                     /* route_match result */
	struct MHD_PostProcessor *pp;  /* for form bodies */
	size_t body_cap;               /* allocated bytes of req.body */
	size_t declared;               /* the Content-Length (at most limit), or 0 */
	size_t received;               /* body bytes seen */
	size_t limit;                  /* most body bytes taken: max_body for forms, else also
	                                  max_json */
	int form_error;                /* too many fields or out of memory */
	int answered;                  /* a response was queued */
	int handled;                   /* the route's handler ran */
	int refused;                   /* resp holds an error found while the body came in: the
	                                  rest is discarded, then resp is sent (MHD refuses to
	                                  queue a response in the middle of a body) */
	struct http_server *srv;
	void (*then)(struct req *, struct resp *); /* req_suspend: the handler's second half */
	int deferred;                  /* handed to a worker, connection suspended */
	int dispatched;                /* the worker ran call_dispatch: answer on resume */
	struct call *next;             /* in the server's queue */
	struct call *rnext;            /* in its I/O thread's resume queue */
	int io;                        /* req_suspend: the index of its I/O thread in srv->io, or
	                                  -1 (resumed alone) */
	struct timespec started;       /* when the request came in (its log line's duration) */
	char id[REQUEST_ID_SIZE];      /* random request id: the log line and X-Request-Id */
	char method[16];               /* the method as logged (letters only) */
};

const char *
req_header(struct req *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *
req_query(struct req *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *
req_cookie(struct req *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_COOKIE_KIND, name);
}

const struct form_field *
req_form(struct req *req, const char *name)
{
	size_t i;

	for (i = 0; i < req->nform; i++)
		if (strcmp(req->form[i].name, name) == 0)
			return &req->form[i];
	return NULL;
}

static int is_form_type(const char *type);
static void resp_error_code_field(struct resp *resp, int status, const char *code,
                                  const char *field, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* 1 if a body declared as type is meant as JSON: no type, application/json or a +json type, or
 * a form type (what `curl -d` sends for any body); 0 for any other declared type (text/plain,
 * application/xml, ...). A body that is JSON is read whatever its type says (a browser's fetch
 * of a string sends text/plain); this only words the error of one that is not. */
static int
json_type_ok(const char *type)
{
	size_t n;

	if (type == NULL)
		return 1;
	while (*type == ' ' || *type == '\t')
		type++;
	n = strcspn(type, "; \t");
	if (n == 0 || (n == 16 && strncasecmp(type, "application/json", 16) == 0) ||
	    (n > 5 && strncasecmp(type + n - 5, "+json", 5) == 0))
		return 1;
	return is_form_type(type);
}

const char *
req_body_text(const struct req *req, size_t *len)
{
	*len = req->body != NULL ? req->body_len : 0;
	if (*len >= 3 && memcmp(req->body, "\xef\xbb\xbf", 3) == 0) {
		*len -= 3;
		return req->body + 3;
	}
	return req->body;
}

/* 1 if v is or holds (at any depth) a string with a NUL character in it (JSON's \u0000). */
static int
holds_nul(json_t *v)
{
	const char *key;
	json_t *x;
	size_t i;

	if (json_is_string(v))
		return strlen(json_string_value(v)) != json_string_length(v);
	if (json_is_array(v)) {
		json_array_foreach(v, i, x)
		{
			if (holds_nul(x))
				return 1;
		}
	} else if (json_is_object(v)) {
		json_object_foreach(v, key, x)
		{
			if (holds_nul(x))
				return 1;
		}
	}
	return 0;
}

/* JSON_ALLOW_NUL reads the body again to find the member; its name is lent to the answer only
 * if it is short. */
int
resp_json_nul(struct resp *resp, const char *body, size_t len, const json_error_t *e)
{
	const char *key, *field = NULL;
	json_t *all, *v;

	if (json_error_code(e) != json_error_null_character)
		return 0;
	all = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, NULL);
	if (json_is_object(all)) {
		json_object_foreach(all, key, v)
		{
			if (holds_nul(v)) {
				field = key;
				break;
			}
		}
	}
	if (field != NULL && strlen(field) <= 64)
		resp_error_field(resp, 400, field,
		                 "%s holds the character \\u0000 (line %d column %d), which no field "
		                 "may contain",
		                 field, e->line, e->column);
	else
		resp_error(resp, 400, "malformed_json",
		           "a text in the body holds the character \\u0000 (line %d column %d), which "
		           "no field may contain",
		           e->line, e->column);
	json_decref(all);
	return 1;
}

int
req_json(struct req *req, struct resp *resp, json_t **out)
{
	json_error_t e;
	const char *body;
	size_t len;
	json_t *j;

	body = req_body_text(req, &len);
	if (req->is_form || body == NULL || len == 0) {
		resp_error(resp, 400, "bad_request", "a JSON object is expected in the request body");
		return -1;
	}
	j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &e);
	if (j == NULL && !json_type_ok(req_header(req, MHD_HTTP_HEADER_CONTENT_TYPE))) {
		resp_error_code_field(resp, 400, "unsupported_media_type", "Content-Type",
		                      "the body must be JSON, sent as Content-Type: "
		                      "application/json");
		return -1;
	}
	if (j == NULL) {
		if (json_error_code(&e) == json_error_invalid_utf8)
			resp_error(resp, 400, "invalid_utf8", "the body is not valid UTF-8");
		else if (json_error_code(&e) == json_error_null_character)
			resp_json_nul(resp, body, len, &e);
		else if (json_error_code(&e) == json_error_duplicate_key)
			resp_error(resp, 400, "malformed_json",
			           "a member is given twice (%s, line %d column %d): give each once",
			           e.text, e.line, e.column);
		else
			resp_error(resp, 400, "malformed_json", "malformed JSON at line %d column %d: %s",
			           e.line, e.column, e.text);
		return -1;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		resp_error(resp, 400, "bad_request", "the body must be a JSON object");
		return -1;
	}
	*out = j;
	return 0;
}

static void
resp_set_body(struct resp *resp, int status, const char *type, char *body, size_t len)
{
	free(resp->body);
	resp->status = status;
	resp->content_type = type;
	resp->body = body;
	resp->len = len;
}

/* jansson's dump appends to a buffer of ours: json_dumps grew its own from 16 bytes by
 * doubling (a dozen reallocations for a 20 KB page, each large one consolidating malloc's free
 * lists) and then copied it once more. */
struct dump_buf {
	char *p;
	size_t len, cap;
};

#define DUMP_FIRST 4096
#define DUMP_MAX (64L << 20) /* a JSON answer larger than this is an error */

static int
dump_append(const char *s, size_t n, void *data)
{
	struct dump_buf *b = data;
	size_t cap;
	char *grown;

	/* called for every token (a page: some 8,000 calls), most of a few bytes */
	if (b->len + n < b->cap) {
		memcpy(b->p + b->len, s, n);
		b->len += n;
		return 0;
	}
	if (b->len + n + 1 > (size_t)DUMP_MAX)
		return -1;
	cap = b->cap ? b->cap : DUMP_FIRST;
	while (cap < b->len + n + 1)
		cap *= 2;
	grown = realloc(b->p, cap);
	if (grown == NULL)
		return -1;
	b->p = grown;
	b->cap = cap;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	return 0;
}

/* take dumped compactly: a new string (free it), NULL when out of memory or too large. */
static char *
json_text(json_t *take, size_t *len)
{
	struct dump_buf b = {NULL, 0, 0};

	if (take == NULL || json_dump_callback(take, dump_append, &b, JSON_COMPACT) != 0 ||
	    b.p == NULL) {
		free(b.p);
		return NULL;
	}
	b.p[b.len] = '\0'; /* len < cap: room was kept */
	*len = b.len;
	return b.p;
}

void
resp_json(struct resp *resp, int status, json_t *take)
{
	size_t len = 0;
	char *s = json_text(take, &len);

	json_decref(take);
	if (s == NULL) {
		s = strdup("internal error\n");
		resp_set_body(resp, 500, "text/plain; charset=utf-8", s, s ? strlen(s) : 0);
		return;
	}
	resp_set_body(resp, status, "application/json; charset=utf-8", s, len);
}

static void
verror(struct resp *resp, int status, const char *code, const char *field, const char *rule,
       const char *fmt, va_list ap)
{
	char msg[1024];
	json_t *e;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	text_scrub(msg); /* it may quote the request, or be cut inside a character */
	if (resp->georeport) {
		resp_json(resp, status, json_pack("[{s:i, s:s}]", "code", status, "description", msg));
		return;
	}
	e = json_pack("{s:s, s:s}", "code", code, "message", msg);
	if (e != NULL && field != NULL)
		json_object_set_new(e, "field", json_string(field));
	if (e != NULL && rule != NULL)
		json_object_set_new(e, "rule", json_string(rule));
	resp_json(resp, status, e ? json_pack("{s:o}", "error", e) : NULL);
}

void
resp_error(struct resp *resp, int status, const char *code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verror(resp, status, code, NULL, NULL, fmt, ap);
	va_end(ap);
}

/* resp_error with "field":FIELD and a code other than invalid_field. */
static void
resp_error_code_field(struct resp *resp, int status, const char *code, const char *field,
                      const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verror(resp, status, code, field, NULL, fmt, ap);
	va_end(ap);
}

void
resp_error_rule(struct resp *resp, int status, const char *code, const char *field,
                const char *rule, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verror(resp, status, code, field, rule, fmt, ap);
	va_end(ap);
}

void
resp_error_field(struct resp *resp, int status, const char *field, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verror(resp, status, "invalid_field", field, NULL, fmt, ap);
	va_end(ap);
}

void
resp_text(struct resp *resp, int status, const char *content_type, const char *text, size_t len)
{
	char *copy = malloc(len + 1);

	if (copy == NULL) {
		resp_set_body(resp, 500, "text/plain; charset=utf-8", NULL, 0);
		return;
	}
	memcpy(copy, text, len);
	copy[len] = '\0';
	resp_set_body(resp, status, content_type, copy, len);
}

void
resp_header(struct resp *resp, const char *name, const char *fmt, ...)
{
	va_list ap;
	char *value = NULL;

	if (resp->nheaders == RESP_MAX_HEADERS) {
		log_err("too many response headers: %s dropped", name);
		return;
	}
	va_start(ap, fmt);
	if (vasprintf(&value, fmt, ap) < 0)
		value = NULL;
	va_end(ap);
	if (value == NULL)
		return;
	resp->headers[resp->nheaders].name = name;
	resp->headers[resp->nheaders].value = value;
	resp->headers[resp->nheaders].lent = 0;
	resp->nheaders++;
}

void
resp_header_join(struct resp *resp, const char *name, const char *prefix, const char *rest)
{
	size_t a = strlen(prefix), b = strlen(rest);
	char *value;

	if (resp->nheaders == RESP_MAX_HEADERS) {
		log_err("too many response headers: %s dropped", name);
		return;
	}
	value = malloc(a + b + 1);
	if (value == NULL)
		return;
	memcpy(value, prefix, a);
	memcpy(value + a, rest, b + 1);
	resp->headers[resp->nheaders].name = name;
	resp->headers[resp->nheaders].value = value;
	resp->headers[resp->nheaders].lent = 0;
	resp->nheaders++;
}

void
resp_header_lent(struct resp *resp, const char *name, const char *value)
{
	if (resp->nheaders == RESP_MAX_HEADERS) {
		log_err("too many response headers: %s dropped", name);
		return;
	}
	resp->headers[resp->nheaders].name = name;
	resp->headers[resp->nheaders].value = value;
	resp->headers[resp->nheaders].lent = 1;
	resp->nheaders++;
}

void
resp_take(struct resp *resp, int status, const char *content_type, char *body, size_t len)
{
	resp_set_body(resp, status, content_type, body, len);
}

/* 1 if the handler added a header called name. */
static int
resp_has_header(const struct resp *resp, const char *name)
{
	size_t i;

	for (i = 0; i < resp->nheaders; i++)
		if (strcasecmp(resp->headers[i].name, name) == 0)
			return 1;
	return 0;
}

void
resp_free(struct resp *resp)
{
	size_t i;

	free(resp->body);
	for (i = 0; i < resp->nheaders; i++)
		if (!resp->headers[i].lent)
			free((char *)resp->headers[i].value);
	memset(resp, 0, sizeof(*resp));
}

static void
call_free(struct call *call)
{
	size_t i;

	if (call == NULL)
		return;
	if (call->pp != NULL)
		MHD_destroy_post_processor(call->pp);
	for (i = 0; i < call->req.nparams; i++)
		free(call->req.params[i]);
	for (i = 0; i < call->req.nform; i++) {
		free(call->req.form[i].name);
		free(call->req.form[i].filename);
		free(call->req.form[i].content_type);
		free(call->req.form[i].data);
	}
	free(call->req.form);
	free(call->req.body);
	session_free(call->req.session);
	resp_free(&call->resp);
	free(call);
}

static enum MHD_Result
send_resp(struct MHD_Connection *conn, struct resp *resp)
{
	struct MHD_Response *r;
	enum MHD_Result ret;
	size_t i;

	if (resp->status == 0)
		resp_error(resp, 500, "internal", "the request could not be handled");
	r = MHD_create_response_from_buffer(resp->len, resp->body, MHD_RESPMEM_MUST_FREE);
	if (r == NULL)
		return MHD_NO;
	resp->body = NULL; /* owned by r now */
	if (resp->content_type != NULL)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, resp->content_type);
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	for (i = 0; i < resp->nheaders; i++)
		MHD_add_response_header(r, resp->headers[i].name, resp->headers[i].value);
	ret = MHD_queue_response(conn, (unsigned)resp->status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result
on_form_field(void *cls, enum MHD_ValueKind kind, const char *key, const char *filename,
              const char *content_type, const char *transfer_encoding, const char *data,
              uint64_t off, size_t size)
{
	struct call *call = cls;
	struct req *req = &call->req;
	struct form_field *f, *nv;
	char *grown;

	(void)kind;
	(void)transfer_encoding;
	if (key == NULL)
		return MHD_YES;
	f = req->nform ? &req->form[req->nform - 1] : NULL;
	if (off == 0 || f == NULL || strcmp(f->name, key) != 0) {
		if (req->nform == FORM_MAX_FIELDS) {
			call->form_error = 1;
			return MHD_NO;
		}
		nv = realloc(req->form, (req->nform + 1) * sizeof(*nv));
		if (nv == NULL)
			goto nomem;
		req->form = nv;
		f = &req->form[req->nform++];
		memset(f, 0, sizeof(*f));
		f->name = strdup(key);
		f->filename = filename ? strdup(filename) : NULL;
		f->content_type = filename ? strdup(content_type ? content_type
		                                                 : "application/octet-stream")
		                           : NULL;
		f->data = calloc(1, 1);
		f->cap = 1;
		if (f->name == NULL || f->data == NULL || (filename && f->filename == NULL) ||
		    (filename && f->content_type == NULL))
			goto nomem;
	}
	if (size == 0)
		return MHD_YES;
	/* doubled, not grown by each chunk: a field of megabytes arrives in chunks of a few KB,
	 * and a realloc per chunk copies it over and over (seconds under ASan for 2 MiB) */
	if (f->size + size + 1 > f->cap) {
		size_t cap = f->cap;

		while (cap < f->size + size + 1)
			cap = cap < 4096 ? 4096 : cap * 2;
		grown = realloc(f->data, cap);
		if (grown == NULL)
			goto nomem;
		f->data = grown;
		f->cap = cap;
	}
	memcpy(f->data + f->size, data, size);
	f->size += size;
	f->data[f->size] = '\0';
	return MHD_YES;
nomem:
	call->form_error = 1;
	return MHD_NO;
}

static int
is_form_type(const char *type)
{
	if (type == NULL)
		return 0;
	return strncasecmp(type, "application/x-www-form-urlencoded", 33) == 0 ||
	       strncasecmp(type, "multipart/form-data", 19) == 0;
}

/* a in dotted decimal into buf (at least 16 bytes, else "unknown"): what inet_ntop writes,
 * without the sprintf it calls for it */
static void
ipv4_text(const struct in_addr *a, char *buf, size_t size)
{
	const unsigned char *b = (const unsigned char *)&a->s_addr; /* network order */
	size_t n = 0, i;

	if (size < INET_ADDRSTRLEN) {
		snprintf(buf, size, "unknown");
		return;
	}
	for (i = 0; i < 4; i++) {
		if (i > 0)
			buf[n++] = '.';
		if (b[i] >= 100)
			buf[n++] = (char)('0' + b[i] / 100);
		if (b[i] >= 10)
			buf[n++] = (char)('0' + b[i] / 10 % 10);
		buf[n++] = (char)('0' + b[i] % 10);
	}
	buf[n] = '\0';
}

static void
client_addr(const struct app *app, struct MHD_Connection *conn, char *buf, size_t size)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	socklen_t len = sizeof(struct sockaddr_in6);
	const char *xff;

	snprintf(buf, size, "unknown");
	if (ci == NULL || ci->client_addr == NULL)
		return;
	/* IPv4 written here (getnameinfo: checks, copies and inet_ntop's sprintf); IPv6 by
	 * getnameinfo, which adds a link-local address's scope */
	if (ci->client_addr->sa_family == AF_INET) {
		ipv4_text(&((const struct sockaddr_in *)ci->client_addr)->sin_addr, buf, size);
	} else if (getnameinfo(ci->client_addr, len, buf, (socklen_t)size, NULL, 0,
	                       NI_NUMERICHOST) != 0) {
		snprintf(buf, size, "unknown");
		return;
	}
	if (app->cfg.trusted_proxies[0] == '\0' || !netaddr_listed(app->cfg.trusted_proxies, buf,
	                                                             strlen(buf)))
		return;
	xff = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Forwarded-For");
	if (xff != NULL)
		netaddr_forwarded(app->cfg.trusted_proxies, xff, buf, size);
}

/* The path of a request target in absolute form ("http://host:port/path": RFC 9112 section
 * 3.2.2, which a server must accept, as a client sends it to a proxy or with curl's
 * --request-target): what follows the authority, "/" when nothing does. Any other target (the
 * origin form, "/path") as it is. MHD has taken the query off already. */
static const char *
origin_path(const char *url)
{
	const char *p = NULL;

	if (strncasecmp(url, "http://", 7) == 0)
		p = url + 7;
	else if (strncasecmp(url, "https://", 8) == 0)
		p = url + 8;
	if (p == NULL)
		return url;
	p = strchr(p, '/');
	return p != NULL ? p : "/";
}

/* First call: set up the request, route it, refuse early what cannot succeed. */
static struct call *
call_new(struct http_server *srv, struct MHD_Connection *conn, const char *url, const char *method)
{
	struct app *app = srv->app;
	struct call *call = calloc(1, sizeof(*call));
	const char *len, *type;
	const char *route_method = strcmp(method, "HEAD") == 0 ? "GET" : method;

	if (call == NULL)
		return NULL;
	call->srv = srv;
	clock_gettime(CLOCK_MONOTONIC, &call->started);
	{
		unsigned char raw[(REQUEST_ID_SIZE - 1) / 2];
		unsigned long long n = srv->id_next++;
		size_t i;

		_Static_assert(sizeof(raw) == crypto_shorthash_BYTES, "a request id is one SipHash");
		crypto_shorthash(raw, (const unsigned char *)&n, sizeof(n), srv->id_key);
		sodium_bin2hex(call->id, sizeof(call->id), raw, sizeof(raw));
		for (i = 0; i + 1 < sizeof(call->method) && method[i] >= 'A' && method[i] <= 'Z';
		     i++)
			call->method[i] = method[i];
		call->method[i] = '\0';
	}
	call->req.app = app;
	call->req.conn = conn;
	call->req.method = method;
	call->req.path = url;
	call->resp.georeport = strncmp(url, "/open311/", 9) == 0;
	client_addr(app, conn, call->req.addr, sizeof(call->req.addr));
	call->match = route_match(srv->routes, srv->nroutes, route_method, url, &call->req,
	                          &call->route);
	if (call->match == 0) {
		resp_error(&call->resp, 404, "not_found", "there is nothing at %s", url);
		return call;
	}
	if (call->match == 2) {
		char allow[64];

		route_allow(srv->routes, srv->nroutes, url, allow, sizeof(allow));
		resp_error(&call->resp, 405, "method_not_allowed", "%s is not allowed on %s", method,
		           url);
		resp_header(&call->resp, "Allow", "%s", allow);
		return call;
	}
	type = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
	call->req.is_form = (call->route->flags & ROUTE_FORM) && is_form_type(type);
	call->limit = (size_t)app->cfg.max_body;
	if (!call->req.is_form && app->cfg.max_json < app->cfg.max_body)
		call->limit = (size_t)app->cfg.max_json;
	len = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (len != NULL) {
		unsigned long long declared = strtoull(len, NULL, 10);

		if (declared > (unsigned long long)call->limit) {
			resp_error(&call->resp, 413, "too_large",
			           "the request body is larger than %zu bytes", call->limit);
			return call;
		}
		call->declared = (size_t)declared;
	}
	if (call->req.is_form) {
		call->pp = MHD_create_post_processor(conn, POST_BUFFER, on_form_field, call);
		if (call->pp == NULL)
			resp_error(&call->resp, 400, "bad_request", "the form body cannot be read");
	}
	return call;
}

/* 1 if the first chunk of a urlencoded form's body begins with '{' (after white space): a JSON
 * object sent with a form's type, as `curl -d` sends any body. A urlencoded form cannot begin
 * so (its names are words, its braces %7B); a multipart one begins with its boundary. */
static int
json_sent_as_form(struct call *call, const char *data, size_t size)
{
	const char *type = req_header(&call->req, MHD_HTTP_HEADER_CONTENT_TYPE);
	size_t i = 0;

	if (type == NULL || strncasecmp(type, "application/x-www-form-urlencoded", 33) != 0)
		return 0;
	while (i < size && (data[i] == ' ' || data[i] == '\t' || data[i] == '\r' || data[i] == '\n'))
		i++;
	return i < size && data[i] == '{';
}

/* Takes one chunk of the body. Returns 0, or -1 when a response has been prepared. */
static int
call_body(struct call *call, const char *data, size_t size)
{
	char *grown;

	call->received += size;
	if (call->received > call->limit) {
		resp_error(&call->resp, 413, "too_large", "the request body is larger than %zu bytes",
		           call->limit);
		return -1;
	}
	if (call->pp != NULL && call->received == size && json_sent_as_form(call, data, size)) {
		/* JSON sent as a form (curl -d without -H): read as the JSON it is */
		MHD_destroy_post_processor(call->pp);
		call->pp = NULL;
		call->req.is_form = 0;
		if (call->req.app->cfg.max_json < call->req.app->cfg.max_body)
			call->limit = (size_t)call->req.app->cfg.max_json;
		if (call->received > call->limit) {
			resp_error(&call->resp, 413, "too_large",
			           "the request body is larger than %zu bytes", call->limit);
			return -1;
		}
	}
	if (call->pp != NULL) {
		if (MHD_post_process(call->pp, data, size) != MHD_YES || call->form_error) {
			resp_error(&call->resp, 400, "bad_request",
			           call->form_error ? "the form has too many fields"
			                            : "the form body is malformed");
			return -1;
		}
		return 0;
	}
	if (call->req.body_len + size + 1 > call->body_cap) {
		/* the size announced, when there is one: a body of a few hundred bytes then takes
		 * one of malloc's small cached blocks */
		size_t cap = call->body_cap  ? call->body_cap
		             : call->declared ? call->declared + 1
		                              : 4096;

		while (cap < call->req.body_len + size + 1)
			cap *= 2;
		grown = realloc(call->req.body, cap);
		if (grown == NULL) {
			resp_error(&call->resp, 503, "busy", "out of memory");
			return -1;
		}
		call->req.body = grown;
		call->body_cap = cap;
	}
	memcpy(call->req.body + call->req.body_len, data, size);
	call->req.body_len += size;
	call->req.body[call->req.body_len] = '\0';
	return 0;
}

/* What every answer of a handler gets: no caching unless it says otherwise, a Retry-After with
 * a 503. */
static void
resp_finish(struct resp *resp)
{
	/* Nothing the API answers may sit in a shared or browser cache: a citizen's tracking page
	 * holds their reply, staff answers hold personal data. Only a handler that says otherwise
	 * (the pages' static files) is cached. */
	if (!resp_has_header(resp, "Cache-Control"))
		resp_header_lent(resp, "Cache-Control", "no-store");
	if (resp->status == 503 && !resp_has_header(resp, "Retry-After"))
		resp_header(resp, "Retry-After", "%d", HTTP_RETRY_AFTER);
}

/* The database connection of the calling I/O thread, opened on its first use; NULL when it
 * cannot be opened (the caller takes one from the pool). Found without the server's lock (a
 * lock shared by the I/O threads, taken for each of their requests, moved its cache line
 * between them): a thread's entry is written once, before nreaders counts it. */
static struct db_conn *
reader_of_thread(struct http_server *srv)
{
	pthread_t self = pthread_self();
	struct db_conn *c = NULL;
	size_t i, n = atomic_load_explicit(&srv->nreaders, memory_order_acquire);

	for (i = 0; i < n; i++)
		if (pthread_equal(srv->readers[i].thread, self))
			return srv->readers[i].c;
	pthread_mutex_lock(&srv->lock); /* the first request of this thread: add its entry */
	n = atomic_load_explicit(&srv->nreaders, memory_order_relaxed);
	if (n == HTTP_IO_THREADS_MAX)
		goto out;
	c = db_reader_new(srv->app->db, srv->reader_cache_kib);
	if (c == NULL)
		goto out;
	srv->readers[n].thread = self;
	srv->readers[n].c = c;
	atomic_store_explicit(&srv->nreaders, n + 1, memory_order_release);
out:
	pthread_mutex_unlock(&srv->lock);
	return c;
}

/* The whole request is in: authenticate, lend a connection, run the handler. On an I/O thread
 * (ROUTE_READ, or ROUTE_ASYNC with a JSON body) the connection is the thread's own, else one
 * from the pool. */
static void
call_dispatch(struct call *call)
{
	struct req *req = &call->req;
	struct app *app = req->app;
	struct db_conn *reader = NULL;
	int reading;

	req->now = app_now(app);
	if (call->pp != NULL) {
		MHD_destroy_post_processor(call->pp);
		call->pp = NULL;
		if (call->form_error) {
			resp_error(&call->resp, 400, "bad_request", "the form has too many fields");
			return;
		}
	}
	if (!call->deferred)
		reader = reader_of_thread(call->srv);
	db_reader_reset(reader);
	req->db = reader != NULL ? reader : db_acquire(app->db);
	if (req->db == NULL) {
		resp_error(&call->resp, 503, "unavailable", "the database is not available; try again");
		resp_header(&call->resp, "Retry-After", "5");
		return;
	}
	/* A GET reads several statements (the session, its account, an item, its clocks, its
	 * history): one snapshot for all of them, so that it never sees a transition committed
	 * halfway through its reads, and takes the wal-index's locks once. The session check
	 * writes nothing in it (the session writer does, core_session_writer_start). */
	reading = strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;
	if (reading && db_begin_read(req->db) != 0) {
		resp_error(&call->resp, 503, "unavailable", "the database is busy; try again");
		resp_header(&call->resp, "Retry-After", "1");
		goto out;
	}
	if (call->route->roles != 0 && auth_check(req, &call->resp, call->route->roles) != 0)
		goto end_read;
	call->handled = 1;
	req->io_thread = !call->deferred;
	call->route->handler(req, &call->resp);
	req->io_thread = 0;
	if (call->then == NULL)
		resp_finish(&call->resp);
end_read:
	if (reading)
		db_end_read(req->db);
out:
	/* A write the database could not take (disk full, read-only, locked) is the client's to
	 * retry later, not an internal error; SQLite's own words stay in the log. */
	if (call->resp.status >= 500 && call->resp.status != 503 && db_unavailable(req->db))
		resp_error(&call->resp, 503, "unavailable",
		           "the database cannot take changes right now (full or read-only); nothing "
		           "was stored; try again later");
	if (call->then == NULL && call->resp.status == 503 &&
	    !resp_has_header(&call->resp, "Retry-After"))
		resp_header(&call->resp, "Retry-After", "%d", HTTP_RETRY_AFTER);
	if (reader != NULL)
		db_reader_reset(reader);
	else
		db_release(app->db, req->db);
	req->db = NULL;
}

/* A worker: runs queued calls until http_stop, resuming each call's connection when done. */
static void *
worker(void *arg)
{
	struct http_server *srv = arg;
	struct call *call;

	pthread_mutex_lock(&srv->lock);
	for (;;) {
		while (srv->queue == NULL && !srv->stopping)
			pthread_cond_wait(&srv->work, &srv->lock);
		if (srv->queue == NULL)
			break; /* stopping, and nothing left */
		call = srv->queue;
		srv->queue = call->next;
		if (srv->queue == NULL)
			srv->tail = NULL;
		call->next = NULL;
		srv->idle--;
		pthread_mutex_unlock(&srv->lock);
		call_dispatch(call);
		call->dispatched = 1;
		MHD_resume_connection(call->req.conn); /* on_request is called again: it answers */
		pthread_mutex_lock(&srv->lock);
		srv->idle++;
	}
	pthread_mutex_unlock(&srv->lock);
	return NULL;
}

/* Hands call to a worker and suspends its connection (from on_request only). 0, or -1 when no
 * worker can take it (stopping, or none could be started): the caller runs it itself. */
static int
defer(struct http_server *srv, struct MHD_Connection *conn, struct call *call)
{
	int ret = -1;

	pthread_mutex_lock(&srv->lock);
	if (srv->stopping)
		goto out;
	if (srv->idle == 0 && srv->nworkers < HTTP_WORKERS_MAX) {
		if (pthread_create(&srv->workers[srv->nworkers], NULL, worker, srv) == 0) {
			srv->nworkers++;
			srv->idle++;
		} else if (srv->nworkers == 0) {
			log_err("cannot start a worker thread: the request runs on the I/O thread");
			goto out;
		}
	}
	MHD_suspend_connection(conn);
	call->deferred = 1;
	if (srv->tail != NULL)
		srv->tail->next = call;
	else
		srv->queue = call;
	srv->tail = call;
	pthread_cond_signal(&srv->work);
	ret = 0;
out:
	pthread_mutex_unlock(&srv->lock);
	return ret;
}

/* 1 if the client sent "Expect: 100-continue" and waits before sending its body. */
static int
expects_continue(struct MHD_Connection *conn)
{
	const char *v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);

	return v != NULL && strcasecmp(v, "100-continue") == 0;
}

/* Sends the answer of call; an error the layer made itself goes through the ROUTE_ERRORS
 * handlers first, in the table's order. */
static enum MHD_Result
call_send(struct http_server *srv, struct MHD_Connection *conn, struct call *call)
{
	size_t i;

	if (!call->handled && call->resp.status >= 400 && srv->errors) {
		if (call->req.now == 0)
			call->req.now = app_now(srv->app);
		for (i = 0; i < srv->nroutes; i++)
			if (srv->routes[i].flags & ROUTE_ERRORS)
				srv->routes[i].handler(&call->req, &call->resp);
	}
	return send_resp(conn, &call->resp);
}

/* The index of the calling I/O thread in srv->io (added when first seen, under lock), or
 * -1. */
static int
io_index(struct http_server *srv)
{
	pthread_t self = pthread_self();
	size_t i, n = atomic_load_explicit(&srv->nio, memory_order_acquire);
	int ret = -1;

	for (i = 0; i < n; i++)
		if (pthread_equal(srv->io[i], self))
			return (int)i;
	pthread_mutex_lock(&srv->lock);
	n = atomic_load_explicit(&srv->nio, memory_order_relaxed);
	if (n < HTTP_IO_THREADS_MAX) {
		srv->io[n] = self;
		atomic_store_explicit(&srv->nio, n + 1, memory_order_release);
		ret = (int)n;
	}
	pthread_mutex_unlock(&srv->lock);
	return ret;
}

/* A call suspended by req_suspend is answered (or was not suspended after all): one fewer;
 * the last one while stopping wakes http_stop. nsuspended and stopping are sequentially
 * consistent: http_stop sets stopping, then reads the count, and each call counts itself, then
 * reads stopping, so that one of them sees the other. */
static void
suspended_end(struct http_server *srv)
{
	if (atomic_fetch_sub(&srv->nsuspended, 1) == 1 && atomic_load(&srv->stopping)) {
		pthread_mutex_lock(&srv->lock);
		pthread_cond_broadcast(&srv->resumed);
		pthread_mutex_unlock(&srv->lock);
	}
}

int
req_suspend(struct req *req, void (*then)(struct req *req, struct resp *resp), void *ctx)
{
	struct call *call = (struct call *)req; /* req is its call's first member */
	struct http_server *srv = call->srv;

	if (!req->io_thread || then == NULL || call->then != NULL)
		return -1;
	atomic_fetch_add(&srv->nsuspended, 1);
	if (atomic_load(&srv->stopping)) { /* http_stop waits for every suspended call: no new
	                                    * ones */
		suspended_end(srv);
		return -1;
	}
	call->io = io_index(srv);
	MHD_suspend_connection(req->conn); /* inside on_request, as the library requires */
	call->then = then;
	req->ctx = ctx;
	return 0;
}

/* Resuming a connection writes to its I/O thread's eventfd, a system call (and a wake-up)
 * each time; the writer answers a batch of submissions at once, one after the other, and would
 * make eight of them in a row on its own thread, the one that bounds the rate. So a req_resume
 * resumes its connection itself only when no call of its I/O thread is resumed and waiting to
 * run; else it queues its call, and the next resumed call of that thread to run resumes the
 * queued ones from their own I/O thread before it answers (resume_queued). Those are then
 * pending too: what the writer tells while the thread answers the first of a batch is taken by
 * the later ones, one wake-up a batch, and no call waits for another thread. */
void
req_resume(struct req *req)
{
	struct call *call = (struct call *)req; /* req is its call's first member */
	struct http_server *srv = call->srv;
	struct resume_queue *q;

	if (call->io < 0) {
		MHD_resume_connection(req->conn);
		return;
	}
	q = &srv->resume[call->io];
	pthread_mutex_lock(&srv->rlock);
	if (q->pending > 0) {
		call->rnext = NULL;
		if (q->tail != NULL)
			q->tail->rnext = call;
		else
			q->head = call;
		q->tail = call;
		pthread_mutex_unlock(&srv->rlock);
		return;
	}
	q->pending = 1;
	pthread_mutex_unlock(&srv->rlock);
	MHD_resume_connection(req->conn); /* on_request is called again: it runs then */
}

/* On an I/O thread, a resumed call (of this thread) about to run its second half: no longer
 * pending; resumes the calls of this thread queued by req_resume meanwhile, pending now. */
static void
resume_queued(struct http_server *srv, const struct call *call)
{
	struct resume_queue *q;
	struct call *c, *next;
	size_t n = 0;

	if (call->io < 0)
		return;
	q = &srv->resume[call->io];
	pthread_mutex_lock(&srv->rlock);
	c = q->head;
	q->head = q->tail = NULL;
	for (next = c; next != NULL; next = next->rnext)
		n++;
	if (q->pending > 0)
		q->pending--;
	q->pending += n;
	pthread_mutex_unlock(&srv->rlock);
	for (; c != NULL; c = next) {
		next = c->rnext; /* c may be answered and freed once resumed */
		c->rnext = NULL;
		MHD_resume_connection(c->req.conn);
	}
}

/* The marks the URI logger leaves for a request whose target holds an encoded NUL (%00): the
 * decoded path would end there and name another resource (/api/v1/health%00x), a decoded
 * query value would be cut there (q=a%00b searching for "a"). */
static const char nul_marks[2];
#define NUL_IN_PATH ((void *)&nul_marks[0])
#define NUL_IN_QUERY ((void *)&nul_marks[1])

/* MHD_OPTION_URI_LOG_CALLBACK: sees the request target before it is decoded; its result is
 * the request's first *con_cls. */
static void *
uri_seen(void *cls, const char *uri, struct MHD_Connection *conn)
{
	const char *p;
	int query = 0;

	(void)cls;
	(void)conn;
	for (p = uri; p != NULL && *p != '\0'; p++) {
		query |= *p == '?';
		if (p[0] == '%' && p[1] == '0' && p[2] == '0')
			return query ? NUL_IN_QUERY : NUL_IN_PATH;
	}
	return NULL;
}

/* Why the request is refused before routing, or NULL: an encoded NUL in the path or the query
 * (mark: the URI logger's), or an HTTP/1.1 request without Host (RFC 9112 section 3.2). */
static const char *
malformed(struct MHD_Connection *conn, const char *version, const void *mark)
{
	if (mark == NUL_IN_PATH)
		return "the path holds an encoded NUL (%00)";
	if (mark == NUL_IN_QUERY)
		return "a query parameter holds an encoded NUL (%00)";
	if (version != NULL && strcmp(version, MHD_HTTP_VERSION_1_1) == 0 &&
	    MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST) == NULL)
		return "an HTTP/1.1 request must have a Host header";
	return NULL;
}

static enum MHD_Result
framing_line(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	(void)kind;
	framing_add(cls, key, value);
	return MHD_YES;
}

/* Answers in resp (what it held before replaced) when the request's header lines do not tell
 * where its body ends (framing_check): 1, to be sent at once, or 0. */
static int
framing_refused(struct MHD_Connection *conn, const char *version, struct resp *resp)
{
	struct framing f;
	char why[512];
	int status, georeport = resp->georeport;

	memset(&f, 0, sizeof(f));
	MHD_get_connection_values(conn, MHD_HEADER_KIND, framing_line, &f);
	status = framing_check(&f, version != NULL && strcmp(version, MHD_HTTP_VERSION_1_0) == 0,
	                       why, sizeof(why));
	if (status == 0)
		return 0;
	resp_free(resp);
	resp->georeport = georeport;
	resp_error(resp, status, status == 501 ? "not_implemented" : "bad_request", "%s", why);
	return 1;
}

/* Refuses (415, in resp) a body sent with a content coding: no request body is decoded here,
 * and one read as it came would be stored as its compressed bytes (RFC 9110 sections 8.4 and
 * 15.5.16: the answer names the coding, and Accept-Encoding says only identity is taken).
 * 1 if refused. */
static int
coding_refused(struct MHD_Connection *conn, struct call *call)
{
	const char *ce =
		MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_ENCODING);

	if (ce == NULL)
		return 0;
	while (*ce == ' ' || *ce == '\t')
		ce++;
	if (*ce == '\0' || strcasecmp(ce, "identity") == 0)
		return 0;
	if (call->declared == 0 && MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	                                                       MHD_HTTP_HEADER_TRANSFER_ENCODING) ==
	                               NULL)
		return 0; /* no body */
	resp_error_code_field(&call->resp, 415, "unsupported_content_encoding", "Content-Encoding",
	                      "the body is sent with Content-Encoding: %.64s, which is not decoded "
	                      "here: send it uncompressed, without Content-Encoding",
	                      ce);
	resp_header_lent(&call->resp, "Accept-Encoding", "identity");
	return 1;
}

/* Runs the second half of a call its handler suspended (once resumed: by on_request, or by
 * on_completed when the client went away meanwhile, to free what it holds). */
static void
call_then(struct http_server *srv, struct call *call)
{
	resume_queued(srv, call);
	call->then(&call->req, &call->resp);
	call->then = NULL;
	suspended_end(srv);
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
           const char *version, const char *upload_data, size_t *upload_size, void **con_cls)
{
	struct http_server *srv = cls;
	struct call *call = *con_cls;
	const void *mark = call == NUL_IN_PATH || call == NUL_IN_QUERY ? (const void *)call : NULL;
	const char *bad;

	if (mark != NULL)
		call = NULL;
	if (call == NULL) {
		call = call_new(srv, conn, origin_path(url), method);
		if (call == NULL)
			return MHD_NO;
		*con_cls = call;
		bad = malformed(conn, version, mark);
		if (bad != NULL) {
			call->match = 0;
			resp_error(&call->resp, 400, "bad_request", "%s", bad);
		} else if (framing_refused(conn, version, &call->resp)) {
			/* where the body ends is unknown: answered before it is read, and the
			 * connection closed after the answer (libmicrohttpd does, for an answer
			 * queued before the body) */
			call->answered = 1;
			resp_header_lent(&call->resp, "X-Request-Id", call->id);
			return call_send(srv, conn, call);
		} else if (call->resp.status == 0) {
			coding_refused(conn, call);
		}
		if (call->resp.status == 0)
			return MHD_YES;
		/* Refused before the body: a client waiting for "100 Continue" gets the answer
		 * now and never sends the body. One that sends it anyway (Python's http.client,
		 * most libraries) would find the connection closed under it and never read the
		 * answer: its body is read and discarded first. */
		if (expects_continue(conn)) {
			call->answered = 1;
			resp_header_lent(&call->resp, "X-Request-Id", call->id);
			return call_send(srv, conn, call);
		}
		call->refused = 1;
		return MHD_YES;
	}
	if (call->answered) {
		*upload_size = 0;
		return MHD_YES;
	}
	if (*upload_size != 0) {
		if (!call->refused && call_body(call, upload_data, *upload_size) != 0)
			call->refused = 1;
		*upload_size = 0;
		return MHD_YES;
	}
	if (!call->refused && !call->dispatched) {
		if (call->deferred)
			return MHD_YES; /* not ours to answer yet (a spurious call while suspended) */
		if (call->then != NULL) { /* resumed after req_suspend */
			call_then(srv, call);
			resp_finish(&call->resp);
		} else {
			if (!(call->route->flags & ROUTE_READ) &&
			    !((call->route->flags & ROUTE_ASYNC) && !call->req.is_form) &&
			    defer(srv, conn, call) == 0)
				return MHD_YES;
			call_dispatch(call);
			if (call->then != NULL)
				return MHD_YES; /* suspended: answered once resumed */
		}
	}
	call->answered = 1;
	resp_header_lent(&call->resp, "X-Request-Id", call->id); /* call outlives its resp */
	return call_send(srv, conn, call);
}

/* The flusher: writes the lines gathered over ACCESS_LOG_MS (or until the buffer is half
 * full) in one go, while the next ones go into the other buffer; on stop, what is left. */
static void *
access_flusher(void *arg)
{
	struct access_log *l = arg;
	struct timespec until;
	char *out;
	size_t n;

	pthread_mutex_lock(&l->lock);
	for (;;) {
		while (l->len == 0 && !l->stopping)
			pthread_cond_wait(&l->more, &l->lock);
		if (l->len == 0)
			break; /* stopping, all written */
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_nsec += ACCESS_LOG_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		while (!l->stopping && l->len < ACCESS_LOG_SIZE / 2 &&
		       pthread_cond_timedwait(&l->more, &l->lock, &until) != ETIMEDOUT)
			;
		out = l->buf;
		n = l->len;
		l->buf = l->spare;
		l->len = 0;
		l->spare = NULL;
		pthread_mutex_unlock(&l->lock);
		log_write(out, n);
		pthread_mutex_lock(&l->lock);
		l->spare = out;
		pthread_cond_broadcast(&l->room);
	}
	pthread_mutex_unlock(&l->lock);
	return NULL;
}

/* Sets up l and starts its flusher; without one (no memory or thread), lines are written at
 * once. */
static void
access_log_start(struct access_log *l)
{
	pthread_condattr_t monotonic;

	pthread_mutex_init(&l->lock, NULL);
	pthread_condattr_init(&monotonic);
	pthread_condattr_setclock(&monotonic, CLOCK_MONOTONIC); /* no wait stretched by a clock step */
	pthread_cond_init(&l->more, &monotonic);
	pthread_condattr_destroy(&monotonic);
	pthread_cond_init(&l->room, NULL);
	l->buf = malloc(ACCESS_LOG_SIZE);
	l->spare = malloc(ACCESS_LOG_SIZE);
	if (l->buf != NULL && l->spare != NULL &&
	    pthread_create(&l->thread, NULL, access_flusher, l) == 0)
		l->running = 1;
}

/* Has the line (of log_join) written by the flusher, or at once without one. */
static void
access_log_add(struct access_log *l, const char *line, size_t n)
{
	size_t was;

	if (!l->running) {
		log_write(line, n);
		return;
	}
	pthread_mutex_lock(&l->lock);
	while (l->len + n > ACCESS_LOG_SIZE) { /* the flusher is behind (stderr blocks): wait */
		pthread_cond_signal(&l->more);
		pthread_cond_wait(&l->room, &l->lock);
	}
	was = l->len;
	memcpy(l->buf + l->len, line, n);
	l->len += n;
	/* the flusher waits for a first line, or for the buffer to be half full */
	if (was == 0 || (was < ACCESS_LOG_SIZE / 2 && l->len >= ACCESS_LOG_SIZE / 2))
		pthread_cond_signal(&l->more);
	pthread_mutex_unlock(&l->lock);
}

/* Writes the lines left and ends the flusher (after the daemon, whose last requests log). */
static void
access_log_stop(struct access_log *l)
{
	if (l->running) {
		pthread_mutex_lock(&l->lock);
		l->stopping = 1;
		pthread_cond_signal(&l->more);
		pthread_mutex_unlock(&l->lock);
		pthread_join(l->thread, NULL);
	}
	free(l->buf);
	free(l->spare);
	pthread_cond_destroy(&l->room);
	pthread_cond_destroy(&l->more);
	pthread_mutex_destroy(&l->lock);
}

/* The request's one log line: id, method, route pattern (never the path itself: it may name
 * an item), status, duration and client address. Nothing from the headers or the body (no
 * password, query code, session or CSRF token) is ever logged. */
/* v in decimal at the end of buf: where it starts. */
static const char *
decimal(unsigned long long v, char buf[24])
{
	char *p = buf + 23;

	*p = '\0';
	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	return p;
}

static void
log_request(struct http_server *srv, const struct call *call, enum MHD_RequestTerminationCode toe)
{
	struct timespec now;
	long long tenths; /* of a millisecond, rounded: formatted without floating point */
	char line[LOG_FORMAT_SIZE], status[24], ms[24], tenth[2];
	const char *parts[16];
	size_t n = 0;

	clock_gettime(CLOCK_MONOTONIC, &now);
	tenths = ((long long)(now.tv_sec - call->started.tv_sec) * 1000000000LL +
	          (now.tv_nsec - call->started.tv_nsec) + 50000) / 100000;
	if (tenths < 0)
		tenths = 0;
	tenth[0] = (char)('0' + tenths % 10);
	tenth[1] = '\0';
	/* request id=… method=… route=… status=… ms=….… addr=…[ aborted=1] */
	parts[n++] = "request id=";
	parts[n++] = call->id;
	parts[n++] = " method=";
	parts[n++] = call->method[0] ? call->method : "-";
	parts[n++] = " route=";
	parts[n++] = call->match == 1 && call->route != NULL ? call->route->pattern : "-";
	parts[n++] = " status=";
	parts[n++] = decimal((unsigned)call->resp.status, status);
	parts[n++] = " ms=";
	parts[n++] = decimal((unsigned long long)(tenths / 10), ms);
	parts[n++] = ".";
	parts[n++] = tenth;
	parts[n++] = " addr=";
	parts[n++] = call->req.addr;
	parts[n++] = toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " aborted=1";
	n = log_join(line, sizeof(line), parts, n);
	if (n > 0)
		access_log_add(&srv->log, line, n);
}

static void
on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
             enum MHD_RequestTerminationCode toe)
{
	struct call *call = *con_cls;

	(void)conn;
	if (call == NUL_IN_PATH || call == NUL_IN_QUERY) { /* ended before on_request saw it */
		*con_cls = NULL;
		return;
	}
	if (call != NULL && call->then != NULL) /* resumed, but the client had gone */
		call_then(cls, call);
	if (*con_cls != NULL)
		log_request(cls, *con_cls, toe);
	call_free(*con_cls);
	*con_cls = NULL;
}

/* Splits "host:port" (or "[v6]:port") and resolves the host numerically or by name. */
static int
resolve(const char *listen, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[256];
	const char *colon = strrchr(listen, ':'), *port;
	struct addrinfo hints, *res = NULL;
	size_t hlen;

	if (colon == NULL)
		return -1;
	port = colon + 1;
	hlen = (size_t)(colon - listen);
	if (hlen >= 2 && listen[0] == '[' && listen[hlen - 1] == ']') {
		listen++;
		hlen -= 2;
	}
	if (hlen >= sizeof(host))
		return -1;
	memcpy(host, listen, hlen);
	host[hlen] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if (getaddrinfo(hlen ? host : NULL, port, &hints, &res) != 0 || res == NULL)
		return -1;
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

/* The port of listen ("host:port"), for the advice of a refused bind. */
static const char *
listen_port(const char *listen)
{
	const char *colon = strrchr(listen, ':');

	return colon != NULL ? colon + 1 : listen;
}

int
http_listen(const char *where, int *fd, char *err, size_t errsize)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int s, e, on = 1;

	if (resolve(where, &ss, &len) != 0) {
		snprintf(err, errsize, "listen: '%s' is not host:port", where);
		return -1;
	}
	/* as libmicrohttpd would: SO_REUSEADDR (a restart finds its old connections in
	 * TIME_WAIT), IPv6 only on an IPv6 address, non-blocking for the thread pool */
	s = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s < 0) {
		snprintf(err, errsize, "cannot listen on %s: socket: %s", where, strerror(errno));
		return -1;
	}
	if (setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0 ||
	    (ss.ss_family == AF_INET6 &&
	     setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) != 0)) {
		snprintf(err, errsize, "cannot listen on %s: setsockopt: %s", where, strerror(errno));
		close(s);
		return -1;
	}
	if (bind(s, (struct sockaddr *)&ss, len) == 0 && listen(s, SOMAXCONN) == 0) {
		*fd = s;
		return 0;
	}
	e = errno;
	close(s);
	if (e == EADDRINUSE)
		snprintf(err, errsize,
		         "cannot listen on %s: the address is already in use, by another civicdesk serve "
		         "or another program (`ss -ltnp 'sport = :%s'` names it); stop that one, or give "
		         "this one another port with `listen = HOST:PORT` in civicdesk.conf, "
		         "CIVICDESK_LISTEN=HOST:PORT or serve --listen HOST:PORT",
		         where, listen_port(where));
	else if (e == EACCES)
		snprintf(err, errsize,
		         "cannot listen on %s: permission denied (a port below 1024 needs root); give a "
		         "port above 1023 with `listen = HOST:PORT` in civicdesk.conf, "
		         "CIVICDESK_LISTEN=HOST:PORT or serve --listen HOST:PORT, behind a reverse proxy",
		         where);
	else if (e == EADDRNOTAVAIL)
		snprintf(err, errsize,
		         "cannot listen on %s: no network interface of this machine has that address; "
		         "give one it has (127.0.0.1 for a reverse proxy on this machine) with "
		         "`listen = HOST:PORT` in civicdesk.conf, CIVICDESK_LISTEN=HOST:PORT or serve "
		         "--listen HOST:PORT",
		         where);
	else
		snprintf(err, errsize, "cannot listen on %s: %s", where, strerror(e));
	return -1;
}

struct http_server *
http_start(struct app *app, const struct route *routes, size_t nroutes, int listen_fd,
           int *port)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	/* epoll, not poll. libmicrohttpd 0.9.75 on epoll takes a suspended connection out of its
	 * epoll set and puts it back after the answer, once a read finds nothing: epoll_ctl twice
	 * and a recv more per submission (7.3 system calls on the I/O threads under wrk, the
	 * ceiling's 2.2). On poll a submission makes 4.0, but each turn of an I/O thread walks all
	 * its connections: beside 1,000 idle keep-alive connections the I/O threads took 3.5 times
	 * the CPU per submission (issue 20, bench/RESULTS.md). bench/ceiling.c is set up the same. */
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
	                 MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
	struct http_server *srv;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned threads;
	size_t i;

	if (getsockname(listen_fd, (struct sockaddr *)&ss, &len) != 0) {
		log_err("listen: %s", strerror(errno));
		close(listen_fd);
		return NULL;
	}
	srv = calloc(1, sizeof(*srv));
	if (srv == NULL) {
		close(listen_fd);
		return NULL;
	}
	threads = cpus < 1 ? 1u : cpus > HTTP_IO_THREADS_MAX ? HTTP_IO_THREADS_MAX : (unsigned)cpus;
	randombytes_buf(srv->id_key, sizeof(srv->id_key));
	srv->reader_cache_kib = HTTP_READER_CACHE_KIB / (long)threads;
	if (srv->reader_cache_kib < HTTP_READER_CACHE_MIN_KIB)
		srv->reader_cache_kib = HTTP_READER_CACHE_MIN_KIB;
	pthread_mutex_init(&srv->lock, NULL);
	pthread_mutex_init(&srv->rlock, NULL);
	pthread_cond_init(&srv->work, NULL);
	pthread_cond_init(&srv->resumed, NULL);
	access_log_start(&srv->log);
	srv->app = app;
	srv->routes = routes;
	srv->nroutes = nroutes;
	for (i = 0; i < nroutes; i++)
		if (routes[i].flags & ROUTE_ERRORS)
			srv->errors = 1;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	srv->mhd = MHD_start_daemon(
		flags, 0, NULL, NULL, on_request, srv, MHD_OPTION_THREAD_POOL_SIZE, threads,
		MHD_OPTION_LISTEN_SOCKET, listen_fd,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv, MHD_OPTION_URI_LOG_CALLBACK, uri_seen,
		srv, MHD_OPTION_CONNECTION_LIMIT,
		(unsigned)app->cfg.max_connections, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
		(unsigned)app->cfg.max_connections_per_ip, MHD_OPTION_CONNECTION_TIMEOUT,
		(unsigned)app->cfg.http_timeout, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
		(size_t)HTTP_CONNECTION_MEMORY,
		MHD_OPTION_END);
	if (srv->mhd == NULL) { /* it said why (MHD_USE_ERROR_LOG); the socket is left to exit */
		log_err("cannot serve on %s", app->cfg.listen);
		access_log_stop(&srv->log);
		pthread_cond_destroy(&srv->resumed);
		pthread_cond_destroy(&srv->work);
		pthread_mutex_destroy(&srv->rlock);
		pthread_mutex_destroy(&srv->lock);
		free(srv);
		return NULL;
	}
	*port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
	                                       : ((struct sockaddr_in *)&ss)->sin_port);
	return srv;
}

void
http_stop(struct http_server *srv)
{
	size_t i;

	if (srv == NULL)
		return;
	/* the workers answer what is queued (resuming each connection) before the daemon stops,
	 * which must not find a connection suspended; a request that comes meanwhile runs on its
	 * I/O thread */
	pthread_mutex_lock(&srv->lock);
	atomic_store(&srv->stopping, 1);
	pthread_cond_broadcast(&srv->work);
	/* a call suspended by its handler is resumed by whoever it waits for (the writer, which
	 * stops after this server) and answered by its I/O thread; the last one wakes this
	 * (suspended_end) */
	while (atomic_load(&srv->nsuspended) > 0)
		pthread_cond_wait(&srv->resumed, &srv->lock);
	pthread_mutex_unlock(&srv->lock);
	for (i = 0; i < srv->nworkers; i++)
		pthread_join(srv->workers[i], NULL);
	MHD_stop_daemon(srv->mhd);
	access_log_stop(&srv->log);
	for (i = 0; i < atomic_load(&srv->nreaders); i++)
		db_reader_free(srv->readers[i].c);
	pthread_cond_destroy(&srv->resumed);
	pthread_cond_destroy(&srv->work);
	pthread_mutex_destroy(&srv->rlock);
	pthread_mutex_destroy(&srv->lock);
	free(srv);
}
