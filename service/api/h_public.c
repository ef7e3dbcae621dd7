/*
 * h_public.c: the public board (办理公示) — replied items whose submitter allowed publication,
 * in their masked public version only, never with name, phone or e-mail — and the staff edit of
 * that public version (PATCH /api/v1/items/{tracking}/public).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_int.h"

#define BOARD_DEFAULT_LIMIT 20
#define BOARD_MAX_LIMIT 100

/* The members of a board record, in order. */
enum board_member { B_TRACKING, B_KIND, B_SUBJECT, B_BODY, B_REPLY, B_RECEIVED, B_REPLIED, B__MAX };

static const char *const board_keys[B__MAX] = {
    [B_TRACKING] = "tracking", [B_KIND] = "kind",   [B_SUBJECT] = "subject",
    [B_BODY] = "body",         [B_REPLY] = "reply", [B_RECEIVED] = "received",
    [B_REPLIED] = "replied",
};

int
board_record_init(struct jrec *rec)
{
	return jrec_init(rec, board_keys, B__MAX);
}

int
board_record(struct jrec *rec, const struct db_public_row *r)
{
	int rc = 0;

	/* every member set for every record; the tracking number is ours in ASCII, every text is
	 * checked (jrec_text) */
	rc |= jrec_ascii(rec, B_TRACKING, r->tracking);
	rc |= jrec_static(rec, B_KIND, kind_name(r->kind));
	rc |= jrec_text(rec, B_SUBJECT, r->subject);
	rc |= jrec_text(rec, B_BODY, r->body);
	rc |= jrec_text(rec, B_REPLY, r->reply);
	rc |= jrec_time(rec, B_RECEIVED, r->received);
	rc |= jrec_time(rec, B_REPLIED, r->replied_at);
	return rc != 0 ? -1 : 0;
}

/* The board's view of r (board_record): a new object, or NULL on error. */
static json_t *
public_json(const struct db_public_row *r)
{
	struct jrec rec;
	json_t *o = NULL;

	if (board_record_init(&rec) != 0)
		return NULL;
	if (board_record(&rec, r) == 0)
		o = jrec_take(&rec);
	jrec_free(&rec);
	return o;
}

/* Public reads are limited per address (public_rate): 0, or -1 having answered 429. */
static int
public_rate(struct req *req, struct resp *resp)
{
	int64_t retry;

	if (!ratelimit_hit(req->app->public_limit, req->addr, req->now, &retry))
		return 0;
	resp_error(resp, 429, "rate_limited",
	           "too many requests from your address; try again in %lld seconds",
	           (long long)retry);
	resp_header(resp, "Retry-After", "%lld", (long long)retry);
	return -1;
}

/* Appends the record of board row r to out: from the thread's cache when r's row is the one it
 * was built from, else set in rec (the answer's one object, made at its first use), encoded by
 * jansson and kept. 0 or -1. */
static int
public_record(struct rcache *cache, struct jrec *rec, const struct db_public_row *r,
              struct jout *out)
{
	size_t start = out->len, len;
	const char *text;
	int rc;

	if (rcache_find(cache, RCACHE_BOARD, r->id, r->row.p, r->row.len, &text, &len)) {
		jout_raw(out, text, len);
		return out->failed ? -1 : 0;
	}
	if (rec->obj == NULL && board_record_init(rec) == 0)
		rec->dumped = 1; /* a record that jansson cannot dump fails the answer */
	if (rec->obj == NULL || board_record(rec, r) != 0) {
		out->failed = 1; /* as a record that could not be encoded: 500 */
		return -1;
	}
	rc = jrec_dump(rec, out);
	if (rc == 0)
		rcache_keep(cache, RCACHE_BOARD, r->id, r->row.p, r->row.len, out->p + start,
		            out->len - start);
	return rc;
}

/* GET /api/v1/public/items?q=&cursor=&limit= (public; 429 over the public rate). Answers 200
 * {"items":[{tracking, kind, subject, body, reply, received, replied}], "next_cursor": … or null},
 * newest reply first; 400 naming a bad parameter; 500. The items are set one by one in one object
 * (board_record) and encoded by jansson (and kept by the thread's cache of records, records.c),
 * the answer assembled from them. */
void
h_public_list(struct req *req, struct resp *resp)
{
	struct db_public_row *rows = NULL;
	struct rcache *cache = rcache_of(req);
	struct jout out = {NULL, 0, 0, 0};
	struct jrec rec = {0};
	const char *q, *c;
	int64_t before = 0, before_id = 0;
	size_t n = 0, i, shown;
	json_t *next;
	char cursor[64];
	int limit;

	if (public_rate(req, resp) != 0)
		return;
	if (search_param(req, resp, &q) != 0 ||
	    limit_param(req, resp, BOARD_DEFAULT_LIMIT, BOARD_MAX_LIMIT, &limit) != 0)
		return;
	c = req_query(req, "cursor");
	if (c != NULL && *c != '\0' && cursor_parse(c, &before, &before_id) != 0) {
		resp_error_field(resp, 400, "cursor", "not a cursor of this list");
		return;
	}
	if (db_public_list(req->db, q, before, before_id, limit + 1, &rows, &n) != 0) {
		resp_error(resp, 500, "internal", "the board cannot be read");
		return;
	}
	shown = n > (size_t)limit ? (size_t)limit : n;
	/* {"items":[…],"next_cursor":…} as json_pack("{s:o, s:o}") would encode it: the keys
	 * are these ASCII literals, every value is jansson's */
	jout_raw(&out, "{\"items\":[", 10);
	for (i = 0; !out.failed && i < shown; i++) {
		if (i > 0)
			jout_raw(&out, ",", 1);
		public_record(cache, &rec, &rows[i], &out);
	}
	if (n > (size_t)limit && shown > 0)
		snprintf(cursor, sizeof(cursor), "%" PRId64 ":%" PRId64, rows[shown - 1].replied_at,
		         rows[shown - 1].id);
	next = n > (size_t)limit && shown > 0 ? json_string(cursor) : json_null();
	jout_raw(&out, "],\"next_cursor\":", 16);
	jout_dump(&out, next);
	json_decref(next);
	jout_raw(&out, "}", 1);
	jout_send(&out, resp, 200);
	jrec_free(&rec);
	db_public_rows_free(rows, n);
}

/* GET /api/v1/public/items/{tracking} (public): 200 with the public version; 404 for unknown
 * and unpublished items alike; 500. */
void
h_public_get(struct req *req, struct resp *resp)
{
	struct db_public_row r;
	int rc;

	if (public_rate(req, resp) != 0)
		return;
	rc = db_public_get(req->db, req->params[0], &r);
	if (rc < 0) {
		resp_error(resp, 500, "internal", "the board cannot be read");
		return;
	}
	if (rc == 0) {
		resp_error(resp, 404, "not_found", "no published item %s", req->params[0]);
		return;
	}
	resp_json(resp, 200, public_json(&r));
	db_public_row_free(&r);
}

/* Reads member name of j as an edit: a string replaces the text, null clears it (the masked
 * text is generated again on publication), absent leaves it. 0, or -1 having answered 400. */
static int
edit_field(json_t *j, const char *name, struct core_public_text *out, struct resp *resp)
{
	json_t *v = json_object_get(j, name);

	out->set = v != NULL;
	out->text = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)) {
		resp_error_field(resp, 400, name, "%s must be a string or null", name);
		return -1;
	}
	out->text = json_string_value(v);
	return 0;
}

/* PATCH /api/v1/items/{tracking}/public (section head of the item's section, admin; CSRF).
 * Body {"subject","body","reply": text or null, "published": true|false,
 * "confirm_personal_data": true|false}. Staff edit the masked public version before (or after)
 * publication; publishing needs the submitter's consent and a sent reply, and fills what is
 * missing with the masked text. Answers 200 with the item; 400 bad body, or an edited text that
 * still holds personal data (code personal_data, naming what was found) unless confirmed; 403
 * another section; 404 unknown item; 409 no consent, no reply yet, or nothing published to
 * withdraw; 500. */
void
h_item_public_patch(struct req *req, struct resp *resp)
{
	struct core_public_text subject, body, reply;
	struct core_error err;
	json_t *j = NULL, *pub, *conf;
	int publish = -1, confirmed;

	if (req_json(req, resp, &j) != 0)
		return;
	pub = json_object_get(j, "published");
	if (pub != NULL && !json_is_boolean(pub)) {
		resp_error_field(resp, 400, "published", "published must be true or false");
		goto out;
	}
	if (pub != NULL)
		publish = json_is_true(pub);
	if (edit_field(j, "subject", &subject, resp) != 0 ||
	    edit_field(j, "body", &body, resp) != 0 || edit_field(j, "reply", &reply, resp) != 0)
		goto out;
	conf = json_object_get(j, "confirm_personal_data");
	if (conf != NULL && !json_is_boolean(conf)) {
		resp_error_field(resp, 400, "confirm_personal_data",
		                 "confirm_personal_data must be true or false");
		goto out;
	}
	confirmed = json_is_true(conf);
	if (core_public_edit_confirmed(req->app, req->db, req->session, req->addr, req->params[0],
	                               &subject, &body, &reply, publish, confirmed, req->now,
	                               &err) != 0) {
		resp_core_error(resp, &err);
		goto out;
	}
	item_answer(req, resp, req->params[0]);
out:
	json_decref(j);
}
