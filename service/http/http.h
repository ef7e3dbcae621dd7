/*
 * http.h: the HTTP layer of civicdesk — libmicrohttpd, requests and responses, the router
 * (handed its route table by the caller) and the staff session check. It knows no items:
 * handlers (service/api, service/pages) do.
 */
#ifndef HTTP_H
#define HTTP_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "service/core/core.h"

struct MHD_Connection;
struct http_server;
struct route;

/* A form field or uploaded file from an urlencoded or multipart body. */
struct form_field {
	char *name;         /* field name */
	char *filename;     /* file name for uploads, else NULL */
	char *content_type; /* for uploads, else NULL */
	char *data;         /* value (NUL-terminated; binary for files) */
	size_t size;        /* bytes of data */
	size_t cap;         /* bytes allocated for data (grown by doubling) */
};

#define REQ_MAX_PARAMS 4

struct req {
	struct app *app;
	struct MHD_Connection *conn;
	const char *method;  /* "GET", "POST", … */
	const char *path;    /* URL path, without the query string */
	const char *pattern; /* the route's pattern ("/api/v1/items/{}"), for logs */
	char *params[REQ_MAX_PARAMS]; /* path parameters ({} segments), decoded */
	size_t nparams;
	char *body;          /* raw body (JSON), NUL-terminated; NULL for forms and no body */
	size_t body_len;
	struct form_field *form; /* parsed form fields (urlencoded / multipart), or NULL */
	size_t nform;
	int is_form;         /* 1: the body was a form */
	char addr[64];       /* client address */
	struct db_conn *db;  /* lent for the duration of the request */
	struct session *session; /* set for routes that need a role */
	int64_t now;         /* time of the request (app_now) */
	int io_thread;       /* 1: runs on an I/O thread, which must not wait (req_suspend) */
	void *ctx;           /* the handler's, across req_suspend */
};

#define RESP_MAX_HEADERS 8

struct resp {
	int status;               /* 0 until a handler answers */
	char *body;               /* owned */
	size_t len;
	const char *content_type; /* static string */
	struct {
		const char *name;  /* static string */
		const char *value; /* owned (freed by resp_free) unless lent */
		int lent;          /* value outlives resp: not freed */
	} headers[RESP_MAX_HEADERS];
	size_t nheaders;
	int georeport;            /* errors as GeoReport arrays [{"code","description"}]: the
	                             answers under /open311/ */
};

/* Request accessors (lend strings owned by the request or libmicrohttpd). */
const char *req_header(struct req *req, const char *name);
const char *req_query(struct req *req, const char *name);
const char *req_cookie(struct req *req, const char *name);
/* The first form field of that name, or NULL. */
const struct form_field *req_form(struct req *req, const char *name);
/* The request's body without a leading UTF-8 byte order mark (Notepad and PowerShell write
 * one; RFC 8259 lets a parser ignore it), its length into *len; NULL when there is no body. */
const char *req_body_text(const struct req *req, size_t *len);
/* Parses the JSON body (req_body_text) into a new reference in *out. On failure answers 400 (malformed JSON,
 * not an object, invalid UTF-8) and returns -1. */
int req_json(struct req *req, struct resp *resp, json_t **out);

/* For a body json_loadb refused with e for a \u0000 escape (valid JSON, but no field takes the
 * character): answers 400 in resp naming the top-level member that holds it, as every other
 * invalid field is named (with resp->georeport, a description that names it), and returns 1;
 * for any other error of e, 0 with resp untouched. */
int resp_json_nul(struct resp *resp, const char *body, size_t len, const json_error_t *e);

/* Response builders. resp_json takes the reference. */
void resp_json(struct resp *resp, int status, json_t *take);
/* {"error":{"code":CODE,"message":MESSAGE}}; resp_error_field adds "field":FIELD. With
 * resp->georeport set, [{"code":STATUS,"description":MESSAGE}] instead. */
void resp_error(struct resp *resp, int status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void resp_error_field(struct resp *resp, int status, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* resp_error with "field":FIELD (NULL: none) and "rule":RULE (NULL: none), the rule a refusal
 * names for a client to word in its own language (core's acct_error.rule: "exists",
 * "password_short", …) beside the English message. */
void resp_error_rule(struct resp *resp, int status, const char *code, const char *field,
                     const char *rule, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));
void resp_text(struct resp *resp, int status, const char *content_type, const char *text,
               size_t len);
/* Adds a header; the value is copied. */
void resp_header(struct resp *resp, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Adds a header whose value is lent: a string that outlives resp (a literal), not copied. */
void resp_header_lent(struct resp *resp, const char *name, const char *value);
/* Adds a header whose value is prefix and rest joined (no format: cheaper than resp_header for
 * a path built of an identifier). */
void resp_header_join(struct resp *resp, const char *name, const char *prefix, const char *rest);
/* Answers status with body (len bytes, NUL-terminated, from malloc), which resp takes. */
void resp_take(struct resp *resp, int status, const char *content_type, char *body, size_t len);
void resp_free(struct resp *resp);

/* Binds and listens on where ("host:port", "[v6]:port"; port 0: any free one) before the
 * server starts, so that a refused address stops the start early. 0 with the socket in *fd, or
 * -1 with one line in err naming the address, the reason and what to do (for an address in
 * use: another civicdesk or program holds it; the listen setting). */
int http_listen(const char *where, int *fd, char *err, size_t errsize);
/* Starts libmicrohttpd on listen_fd (from http_listen; taken: http_stop closes it, a failed
 * start leaves it to the process's exit, as libmicrohttpd may have closed it) serving the
 * nroutes routes (lent for the server's lifetime); writes the port bound (for ":0").
 * A new server (http_stop frees it), or NULL with the reason logged. */
struct http_server *http_start(struct app *app, const struct route *routes, size_t nroutes,
                               int listen_fd, int *port);
void http_stop(struct http_server *s);

/* Called by a handler running on an I/O thread (req->io_thread) instead of waiting: nothing is
 * answered when the handler returns; the connection waits, without a thread, until another
 * thread calls req_resume(req) (once); then then(req, resp) runs on the I/O thread (req->db is
 * NULL there) and resp is sent. ctx is kept in req->ctx. 0, or -1 when req is not on an I/O
 * thread (the handler does its work itself and answers). */
int req_suspend(struct req *req, void (*then)(struct req *req, struct resp *resp), void *ctx);
/* From any thread, once per req_suspend. */
void req_resume(struct req *req);

/* --- router (router.c) ------------------------------------------------------------------- */

enum route_flags {
	ROUTE_FORM = 1 << 0,   /* accepts urlencoded / multipart bodies */
	ROUTE_ERRORS = 1 << 1, /* not a route: its handler is given every answer of 400 and above
	                        * that the HTTP layer makes itself, before any handler ran (no
	                        * route, method not allowed, body too large or malformed, no
	                        * database), with resp holding the JSON error and its headers; it
	                        * may replace the body (the pages answer HTML for their paths,
	                        * Open311 XML for its .xml paths). Never matched by route_match;
	                        * every such row runs, in the table's order, each leaving alone
	                        * the paths that are not its own. */
	ROUTE_READ = 1 << 2,   /* a short read that never waits for a lock or a peer: run on the
	                        * I/O thread; any other route runs on a worker thread */
	ROUTE_ASYNC = 1 << 3,  /* a JSON (not form) request runs on the I/O thread like ROUTE_READ;
	                        * where it would wait, its handler suspends (req_suspend) */
};

struct route {
	const char *method;
	const char *pattern; /* "/api/v1/items/{}": {} matches one path segment */
	void (*handler)(struct req *req, struct resp *resp);
	unsigned roles;      /* 0: public; else the roles allowed (session required) */
	unsigned flags;      /* enum route_flags */
};

/* The route of table[0..n) for method and path: 1 found (writes *out and fills req->params),
 * 0 not found, 2 the path exists with other methods (405). */
int route_match(const struct route *table, size_t n, const char *method, const char *path,
                struct req *req, const struct route **out);
/* Writes the methods path has routes for in table[0..n), as an Allow header value ("GET, HEAD,
 * POST"), into buf (truncated to size). */
void route_allow(const struct route *table, size_t n, const char *path, char *buf, size_t size);

/* --- staff sessions (session.c) ---------------------------------------------------------- */

/* Checks the session cookie of req against the route's roles and, for methods that change
 * state, the X-CSRF-Token header. On success sets req->session and returns 0; otherwise answers
 * and returns -1: 401 "unauthenticated" (no session, idle longer than cfg.session_idle, older
 * than cfg.session_max, account no longer active), 403 "csrf" (missing or wrong token), 403
 * "password_change_required" (except on /api/v1/password, /logout, /me), 403 "forbidden"
 * (role). */
int auth_check(struct req *req, struct resp *resp, unsigned roles);
/* The Set-Cookie value for token (NULL: one that deletes the cookie). */
void auth_cookie(struct req *req, struct resp *resp, const char *token);
/* The audit identity of req: its session's account, or "anonymous", with the client address
 * (lent from req). */
struct actor req_actor(const struct req *req);

#endif
