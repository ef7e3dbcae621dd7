/*
 * citizen.c: the citizens' pages — home, the submission form (through core_submit, like every
 * channel), the status look-up with tracking number and query code, the public board — and the
 * static files. No account: forms carry a token signed against a double-submit cookie.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pages_int.h"

static const char *const kinds[] = { "letter", "complaint", "consultation" };
#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

/* The fields of the form, in the order their errors are listed. */
static const char *const submit_fields[] = { "kind", "subject", "body", "name", "phone",
	                                     "email", "publish", "attachment" };
#define NFIELDS (sizeof(submit_fields) / sizeof(submit_fields[0]))

/* [{value,label,checked}] of the kinds, `current` checked. */
static json_t *
kind_choices(struct page *pg, const char *current)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < NKINDS; i++)
		json_array_append_new(a, json_pack("{s:s, s:s, s:b}", "value", kinds[i], "label",
		                                   page_msg2(pg, "kind.", kinds[i]), "checked",
		                                   current != NULL && strcmp(current, kinds[i]) == 0));
	return a;
}

void
pg_home(struct req *req, struct resp *resp)
{
	struct page pg;

	if (page_begin(&pg, req, resp, "home.title", "home") != 0)
		return;
	page_end(&pg, 200, "home");
}

/* The form with the values f (an object of {value, error, checked} per field) and errors. */
static void
submit_form(struct page *pg, int status, const char *kind, json_t *f, json_t *errors)
{
	json_object_set_new(pg->data, "kinds", kind_choices(pg, kind));
	json_object_set_new(pg->data, "f", f);
	if (json_array_size(errors) > 0)
		json_object_set_new(pg->data, "errors", json_pack("{s:o}", "list", errors));
	else
		json_decref(errors);
	page_csrf_set(pg, "submit");
	page_end(pg, status, "submit");
}

void
pg_submit_get(struct req *req, struct resp *resp)
{
	struct page pg;
	const char *kind = req_query(req, "kind");

	if (page_begin(&pg, req, resp, "submit.title", "submit") != 0)
		return;
	submit_form(&pg, 200, kind, json_object(), json_array());
}

/* Records the error of field (the catalogue's sentence err.<key>) in f and errors. */
static void
field_error(struct page *pg, json_t *f, json_t *errors, const char *field, const char *key)
{
	json_t *o = json_object_get(f, field);
	const char *m = page_msg(pg, key);

	if (o == NULL) {
		o = json_object();
		json_object_set_new(f, field, o);
	}
	if (json_object_get(o, "error") != NULL)
		return;
	json_object_set_new(o, "error", json_string(m));
	json_array_append_new(errors, json_pack("{s:s, s:s}", "field",
	                                        strcmp(field, "kind") == 0 ? "kind-letter" : field,
	                                        "message", m));
}

/* Every problem of the submission, by the core's own rules: each field the check refuses is
 * noted and replaced by a harmless value, and the check runs again (at most once per field). */
static void
all_errors(struct page *pg, struct intake in, json_t *f, json_t *errors)
{
	struct core_error err;
	char key[32];
	size_t round;

	for (round = 0; round < NFIELDS + 1; round++) {
		memset(&err, 0, sizeof(err));
		if (core_submit_check(&in, &err) == 0 || err.field == NULL)
			return;
		if (strcmp(err.field, "kind") == 0) {
			in.kind = "letter";
		} else if (strcmp(err.field, "subject") == 0) {
			in.subject = "-";
		} else if (strcmp(err.field, "body") == 0) {
			in.body = "-";
		} else if (strcmp(err.field, "name") == 0) {
			in.name = NULL;
		} else if (strcmp(err.field, "phone") == 0) {
			if (in.phone == NULL || in.phone[0] == '\0') {
				field_error(pg, f, errors, "phone", "err.contact");
				in.email = "a@example.com";
				continue;
			}
			in.phone = NULL;
			if (in.email == NULL || in.email[0] == '\0')
				in.email = "a@example.com";
		} else if (strcmp(err.field, "email") == 0) {
			in.email = "a@example.com";
		} else if (strcmp(err.field, "publish") == 0) {
			in.publish = 0;
		} else if (strcmp(err.field, "attachment") == 0) {
			in.natt = 0;
		} else {
			field_error(pg, f, errors, "body", "err.field");
			return;
		}
		snprintf(key, sizeof(key), "err.%s", err.field);
		field_error(pg, f, errors, err.field, key);
	}
}

/* "type/subtype" in lower case without parameters, or application/octet-stream. */
static void
clean_type(const char *s, char *out, size_t size)
{
	size_t n = 0;

	for (; s != NULL && *s != '\0' && *s != ';' && *s != ' ' && n + 1 < size; s++)
		out[n++] = (char)(*s >= 'A' && *s <= 'Z' ? *s - 'A' + 'a' : *s);
	out[n] = '\0';
	if (n == 0 || strchr(out, '/') == NULL)
		snprintf(out, size, "application/octet-stream");
}

/* The last part of a path a browser may send as a file name. */
static const char *
base_name(const char *s)
{
	const char *p, *base = s;

	for (p = s; *p != '\0'; p++)
		if (*p == '/' || *p == '\\')
			base = p + 1;
	return base;
}

/* The receipt: tracking number, query code, reply due date and what explains it. */
static void
submitted(struct page *pg, struct db_item *item, const char *code)
{
	json_t *clocks = page_clocks(pg, item);
	json_t *reply = json_incref(json_array_get(clocks, 0)); /* reply comes first */

	json_object_set_new(pg->data, "title", json_string(page_msg(pg, "done.title")));
	json_object_set_new(pg->data, "tracking", json_string(item->tracking));
	json_object_set_new(pg->data, "query_code", json_string(code));
	if (reply != NULL) {
		json_object_set(pg->data, "due", json_object_get(reply, "due"));
		json_object_set(pg->data, "due_iso", json_object_get(reply, "due_iso"));
		json_object_set(pg->data, "provisional", json_object_get(reply, "provisional"));
		json_object_set(pg->data, "has_explanation", json_object_get(reply, "has_explanation"));
		json_object_set(pg->data, "explanation", json_object_get(reply, "explanation"));
	}
	json_decref(reply);
	json_decref(clocks);
	page_end(pg, 200, "submitted");
}

void
pg_submit_post(struct req *req, struct resp *resp)
{
	struct page pg;
	struct intake in;
	struct core_error err;
	struct db_item item;
	char code[QUERY_CODE_LEN + 1];
	char ctypes[INTAKE_MAX_ATTACHMENTS][INTAKE_CTYPE_MAX + 1];
	json_t *f, *errors;
	int64_t retry;
	size_t i;

	if (page_begin(&pg, req, resp, "submit.title", "submit") != 0)
		return;
	memset(&in, 0, sizeof(in));
	memset(&item, 0, sizeof(item));
	in.kind = page_field(&pg, "kind");
	in.subject = page_field(&pg, "subject");
	in.body = page_field(&pg, "body");
	in.name = page_field(&pg, "name");
	in.phone = page_field(&pg, "phone");
	in.email = page_field(&pg, "email");
	/* the box is the only way to say yes: an unticked box sends an explicit no */
	in.publish = page_field(&pg, "publish") != NULL;
	in.channel = CHANNEL_WEB;
	in.received = req->now;
	f = json_pack("{s:{s:s?}, s:{s:s?}, s:{s:s?}, s:{s:s?}, s:{s:s?}, s:{s:b}}", "subject",
	              "value", in.subject, "body", "value", in.body, "name", "value", in.name,
	              "phone", "value", in.phone, "email", "value", in.email, "publish", "checked",
	              in.publish);
	errors = json_array();
	if (f == NULL || errors == NULL) {
		json_decref(f);
		json_decref(errors);
		page_error(&pg, 500, "err.internal");
		return;
	}
	if (!page_csrf_ok(&pg, "submit")) {
		json_array_append_new(errors, json_pack("{s:s, s:s}", "field", "subject", "message",
		                                        page_msg(&pg, "err.csrf")));
		submit_form(&pg, 403, in.kind, f, errors);
		return;
	}
	for (i = 0; i < req->nform; i++) {
		const struct form_field *ff = &req->form[i];
		struct db_attachment *a;

		if (ff->filename == NULL || (ff->filename[0] == '\0' && ff->size == 0))
			continue;
		if (in.natt == INTAKE_MAX_ATTACHMENTS) {
			field_error(&pg, f, errors, "attachment", "err.attachment");
			break;
		}
		a = &in.att[in.natt];
		a->filename = (char *)base_name(ff->filename);
		clean_type(ff->content_type, ctypes[in.natt], sizeof(ctypes[0]));
		a->content_type = ctypes[in.natt];
		a->data = ff->data;
		a->size = (int64_t)ff->size;
		in.natt++;
	}
	all_errors(&pg, in, f, errors);
	if (json_array_size(errors) > 0) {
		submit_form(&pg, 400, in.kind, f, errors);
		return;
	}
	/* only well-formed submissions count against the address, as in the API */
	if (ratelimit_hit(req->app->submit_limit, req->addr, req->now, &retry)) {
		json_array_append_new(errors, json_pack("{s:s, s:s}", "field", "subject", "message",
		                                        page_msg(&pg, "err.busy")));
		resp_header(resp, "Retry-After", "%lld", (long long)retry);
		submit_form(&pg, 429, in.kind, f, errors);
		return;
	}
	memset(&err, 0, sizeof(err));
	if (core_submit(req->app, &in, req->now, &item, code, &err) != 0) {
		json_array_append_new(errors, json_pack("{s:s, s:s}", "field", "subject", "message",
		                                        page_msg(&pg, err.code == CORE_INVALID
		                                                          ? "err.field"
		                                                          : "err.internal")));
		submit_form(&pg, err.code == CORE_INVALID ? 400 : 503, in.kind, f, errors);
		return;
	}
	json_decref(f);
	json_decref(errors);
	submitted(&pg, &item, code);
	db_item_free(&item);
}

/* --- tracking ---------------------------------------------------------------------------- */

static void
track_form(struct page *pg, int status, const char *tracking)
{
	json_object_set_new(pg->data, "f_tracking", json_string(tracking ? tracking : ""));
	page_csrf_set(pg, "track");
	page_end(pg, status, "track");
}

void
pg_track_get(struct req *req, struct resp *resp)
{
	struct page pg;
	const char *t = req_query(req, "tracking");

	if (page_begin(&pg, req, resp, "track.title", "track") != 0)
		return;
	track_form(&pg, 200, t != NULL && strlen(t) <= 40 ? t : NULL);
}

/* The item as its citizen sees it. */
static json_t *
citizen_view(struct page *pg, struct db_item *item)
{
	json_t *list = page_clocks(pg, item), *tl, *o;
	struct db_history *h = NULL;
	size_t nh = 0, i;
	char received[17];

	tl = json_array();
	if (db_history_list(pg->req->db, item->id, 1, &h, &nh) == 0) {
		for (i = 0; i < nh; i++) {
			char at[17], iso[40];

			page_datetime(h[i].at, at);
			sla_format_local(h[i].at, iso, sizeof(iso));
			json_array_append_new(tl, json_pack("{s:s, s:s, s:s, s:s?}", "at", at, "at_iso",
			                                    iso, "label",
			                                    page_msg2(pg, "action.", h[i].action),
			                                    "note", h[i].note));
		}
		db_history_free(h, nh);
	}
	page_datetime(item->received, received);
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o}", "tracking", item->tracking,
	              "state", wf_state_name(item->state), "state_label",
	              page_msg2(pg, "state.", wf_state_name(item->state)), "state_text",
	              page_msg2(pg, "statetext.", wf_state_name(item->state)), "kind_label",
	              page_msg2(pg, "kind.", kind_name(item->kind)), "received", received, "received_iso",
	              json_string(""), "clocks", list, "timeline", tl);
	if (o != NULL) {
		char iso[40];

		sla_format_local(item->received, iso, sizeof(iso));
		json_object_set_new(o, "received_iso", json_string(iso));
		if (item->replied_at != 0 && item->reply != NULL)
			json_object_set_new(o, "reply", json_string(item->reply));
	}
	return o;
}

void
pg_track_post(struct req *req, struct resp *resp)
{
	static const unsigned char nohash[QUERY_HASH_LEN];
	struct page pg;
	struct db_item item;
	const char *tracking, *code;
	int64_t retry;
	int rc, ok;

	if (page_begin(&pg, req, resp, "track.title", "track") != 0)
		return;
	tracking = page_field(&pg, "tracking");
	code = page_field(&pg, "code");
	if (!page_csrf_ok(&pg, "track")) {
		json_object_set_new(pg.data, "csrf_failed", json_true());
		page_error(&pg, 403, "err.csrf");
		return;
	}
	if (ratelimit_check(req->app->track_limit, req->addr, req->now, &retry)) {
		json_object_set_new(pg.data, "limited", json_true());
		resp_header(resp, "Retry-After", "%lld", (long long)retry);
		track_form(&pg, 429, NULL);
		return;
	}
	if (tracking == NULL || code == NULL || strlen(tracking) > 40) {
		json_object_set_new(pg.data, "notfound", json_true());
		track_form(&pg, 404, NULL);
		return;
	}
	while (*tracking == ' ')
		tracking++;
	rc = db_item_get(req->db, tracking, &item);
	if (rc < 0) {
		page_error(&pg, 500, "err.internal");
		return;
	}
	/* the same work whether the number exists or not, as the API does */
	ok = query_code_verify(code, rc == 1 ? item.query_hash : nohash) && rc == 1;
	if (!ok) {
		if (rc == 1)
			db_item_free(&item);
		ratelimit_hit(req->app->track_limit, req->addr, req->now, &retry);
		json_object_set_new(pg.data, "notfound", json_true());
		track_form(&pg, 404, tracking);
		return;
	}
	json_object_set_new(pg.data, "item", citizen_view(&pg, &item));
	db_item_free(&item);
	track_form(&pg, 200, NULL);
}

/* --- the public board -------------------------------------------------------------------- */

/* "A:B" with two decimal integers, B > 0. */
static int
cursor_read(const char *s, int64_t *a, int64_t *b)
{
	char *end;
	long long x, y;

	if (s == NULL)
		return -1;
	x = strtoll(s, &end, 10);
	if (end == s || *end != ':')
		return -1;
	s = end + 1;
	y = strtoll(s, &end, 10);
	if (end == s || *end != '\0' || y <= 0 || x < 0)
		return -1;
	*a = x;
	*b = y;
	return 0;
}

/* The board's address with q and kind, percent-encoded, and the cursor when not NULL. */
static void
board_href(char *buf, size_t size, const char *q, const char *kind, const char *cursor)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n;
	const unsigned char *p;

	n = (size_t)snprintf(buf, size, "/board?q=");
	for (p = (const unsigned char *)(q ? q : ""); *p != '\0' && n + 4 < size; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.') {
			buf[n++] = (char)*p;
		} else {
			buf[n++] = '%';
			buf[n++] = hex[*p >> 4];
			buf[n++] = hex[*p & 15];
		}
	}
	buf[n] = '\0';
	snprintf(buf + n, size - n, "&kind=%s%s%s", kind ? kind : "", cursor ? "&cursor=" : "",
	         cursor ? cursor : "");
}

void
pg_board(struct req *req, struct resp *resp)
{
	struct page pg;
	const char *q = req_query(req, "q"), *kind = req_query(req, "kind");
	const char *cursor = req_query(req, "cursor");
	struct db_public_row *rows = NULL;
	int64_t before_replied = 0, before_id = 0;
	size_t n = 0, i;
	json_t *items;
	char href[600];

	if (page_begin(&pg, req, resp, "board.title", "board") != 0)
		return;
	if (q != NULL && (q[0] == '\0' || strlen(q) > 300 || text_check(q, strlen(q), 0) < 0))
		q = NULL;
	if (kind != NULL && kind_parse(kind) < 0)
		kind = NULL;
	if (cursor != NULL && cursor_read(cursor, &before_replied, &before_id) != 0)
		cursor = NULL;
	if (db_public_list(req->db, q, before_replied, before_id, PAGE_SIZE, &rows, &n) != 0) {
		page_error(&pg, 500, "err.internal");
		return;
	}
	items = json_array();
	for (i = 0; i < n; i++) {
		char date[11];

		/* the kind filter works on each page read (the cursor follows the rows read) */
		if (kind != NULL && strcmp(kind_name(rows[i].kind), kind) != 0)
			continue;
		page_date(rows[i].replied_at ? rows[i].replied_at : rows[i].received, date);
		json_array_append_new(items, json_pack("{s:s, s:s, s:s?, s:s?, s:s?, s:s}",
		                                       "tracking", rows[i].tracking, "kind_label",
		                                       page_msg2(&pg, "kind.", kind_name(rows[i].kind)),
		                                       "subject", rows[i].subject, "body",
		                                       rows[i].body, "reply", rows[i].reply, "date",
		                                       date));
	}
	json_object_set_new(pg.data, "items", items);
	json_object_set_new(pg.data, "q", json_string(q ? q : ""));
	json_object_set_new(pg.data, "kinds", kind_choices(&pg, kind));
	if (n == PAGE_SIZE) {
		char next[48];

		snprintf(next, sizeof(next), "%lld:%lld", (long long)rows[n - 1].replied_at,
		         (long long)rows[n - 1].id);
		board_href(href, sizeof(href), q, kind, next);
		json_object_set_new(pg.data, "next_href", json_string(href));
	}
	if (cursor != NULL) {
		board_href(href, sizeof(href), q, kind, NULL);
		json_object_set_new(pg.data, "first_href", json_string(href));
	}
	db_public_rows_free(rows, n);
	page_end(&pg, 200, "board");
}

/* --- static files -------------------------------------------------------------------------- */

/* GET /static/{name}: the file with its Content-Type and ETag, 304 when If-None-Match names
 * it, 404 for anything else (no name leaves web/static: the files are looked up in a table). */
void
pg_static(struct req *req, struct resp *resp)
{
	struct web_file f;
	const char *inm = req_header(req, "If-None-Match");

	if (web_static(req->app->pages->web, req->params[0], &f) != 1) {
		resp_text(resp, 404, "text/plain; charset=utf-8", "not found\n", 10);
		return;
	}
	resp_header(resp, "ETag", "%s", f.etag);
	resp_header(resp, "Cache-Control", "public, max-age=3600");
	if (inm != NULL && strstr(inm, f.etag) != NULL) {
		resp_text(resp, 304, NULL, "", 0);
		return;
	}
	resp_text(resp, 200, f.content_type, f.data, f.len);
}
