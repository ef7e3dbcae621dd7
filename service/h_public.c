/*
 * h_public.c: the public board (办理公示) — replied items whose submitter allowed publication,
 * in their masked public version only, never with name, phone or e-mail — and the staff edit of
 * that public version (PATCH /api/v1/items/{tracking}/public).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service.h"

#define BOARD_DEFAULT_LIMIT 20
#define BOARD_MAX_LIMIT 100
#define PUBLIC_SUBJECT_MAX 200
#define PUBLIC_TEXT_MAX 20000

static json_t *
str_json(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

static json_t *
public_json(const struct db_public_row *r)
{
	return json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:o}", "tracking", r->tracking, "kind",
	                 r->kind, "subject", str_json(r->subject), "body", str_json(r->body),
	                 "reply", str_json(r->reply), "received", json_time(r->received), "replied",
	                 json_time(r->replied_at));
}

/* GET /api/v1/public/items?q=&cursor=&limit= (public). Answers 200 {"items":[{tracking, kind,
 * subject, body, reply, received, replied}], "next_cursor": … or null}, newest reply first;
 * 400 naming a bad parameter; 500. */
void
h_public_list(struct req *req, struct resp *resp)
{
	struct db_public_row *rows = NULL;
	const char *q, *c;
	int64_t before = 0, before_id = 0;
	size_t n = 0, i, shown;
	json_t *items;
	char cursor[64];
	int limit;

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
	items = json_array();
	for (i = 0; items != NULL && i < shown; i++)
		json_array_append_new(items, public_json(&rows[i]));
	if (n > (size_t)limit && shown > 0)
		snprintf(cursor, sizeof(cursor), "%" PRId64 ":%" PRId64, rows[shown - 1].replied_at,
		         rows[shown - 1].id);
	resp_json(resp, 200,
	          json_pack("{s:o, s:o}", "items", items ? items : json_array(), "next_cursor",
	                    n > (size_t)limit && shown > 0 ? json_string(cursor) : json_null()));
	db_public_rows_free(rows, n);
}

/* GET /api/v1/public/items/{tracking} (public): 200 with the public version; 404 for unknown
 * and unpublished items alike; 500. */
void
h_public_get(struct req *req, struct resp *resp)
{
	struct db_public_row r;
	int rc = db_public_get(req->db, req->params[0], &r);

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

/* Applies member name of j to *field: a string replaces it, null clears it (the masked text is
 * generated again on publication), absent leaves it. 1 changed, 0 not, -1 answered 400 or out
 * of memory (*oom set). */
static int
edit_field(json_t *j, const char *name, long max, unsigned flags, char **field, struct resp *resp,
           int *oom)
{
	json_t *v = json_object_get(j, name);
	char *copy;
	long n;

	if (v == NULL)
		return 0;
	if (json_is_null(v)) {
		free(*field);
		*field = NULL;
		return 1;
	}
	if (!json_is_string(v)) {
		resp_error_field(resp, 400, name, "%s must be a string or null", name);
		return -1;
	}
	n = text_check(json_string_value(v), json_string_length(v), flags);
	if (n < 0 || n > max) {
		resp_error_field(resp, 400, name, "%s must be text of at most %ld characters", name,
		                 max);
		return -1;
	}
	copy = strdup(json_string_value(v));
	if (copy == NULL) {
		*oom = 1;
		return -1;
	}
	free(*field);
	*field = copy;
	return 1;
}

/* PATCH /api/v1/items/{tracking}/public (section head of the item's section, admin; CSRF).
 * Body {"subject","body","reply": text or null, "published": true|false}. Staff edit the
 * masked public version before (or after) publication; publishing needs the submitter's
 * consent and a sent reply, and fills what is missing with the masked text. Answers 200 with
 * the item; 400 bad body; 403 another section; 404 unknown item; 409 no consent or no reply
 * yet; 500. */
void
h_item_public_patch(struct req *req, struct resp *resp)
{
	struct session *s = req->session;
	struct db_history h;
	struct db_item item;
	json_t *j = NULL, *pub;
	int rc, began = 0, have_item = 0, oom = 0, changed = 0, publish = -1;

	if (req_json(req, resp, &j) != 0)
		return;
	pub = json_object_get(j, "published");
	if (pub != NULL && !json_is_boolean(pub)) {
		resp_error_field(resp, 400, "published", "published must be true or false");
		goto out;
	}
	if (pub != NULL)
		publish = json_is_true(pub);
	if (db_begin(req->db) != 0)
		goto fail;
	began = 1;
	rc = db_item_get(req->db, req->params[0], &item);
	if (rc < 0)
		goto fail;
	if (rc == 0) {
		resp_error(resp, 404, "not_found", "no item %s", req->params[0]);
		goto out;
	}
	have_item = 1;
	if (s->role == ROLE_SECTION_HEAD && item.section_id != s->section_id) {
		resp_error(resp, 403, "forbidden", "item %s belongs to another section",
		           item.tracking);
		goto out;
	}
	rc = edit_field(j, "subject", PUBLIC_SUBJECT_MAX, 0, &item.public_subject, resp, &oom);
	if (rc < 0)
		goto bad;
	changed |= rc;
	rc = edit_field(j, "body", PUBLIC_TEXT_MAX, TEXT_MULTILINE, &item.public_body, resp, &oom);
	if (rc < 0)
		goto bad;
	changed |= rc;
	rc =
	    edit_field(j, "reply", PUBLIC_TEXT_MAX, TEXT_MULTILINE, &item.public_reply, resp, &oom);
	if (rc < 0)
		goto bad;
	changed |= rc;
	if (publish == 1) {
		if (!item.publish) {
			resp_error(resp, 409, "no_consent",
			           "the submitter did not allow publication of %s", item.tracking);
			goto out;
		}
		if (strcmp(item.state, "replied") != 0 && strcmp(item.state, "closed") != 0) {
			resp_error(resp, 409, "not_replied",
			           "only replied items are published; %s is %s", item.tracking,
			           item.state);
			goto out;
		}
	}
	if (publish == 0)
		item.published = 0;
	else if (publish == 1 || item.published) {
		if (item_make_public(&item) != 0)
			goto fail;
	}
	item.updated = req->now;
	if (db_item_update(req->db, &item) != 1)
		goto fail;
	memset(&h, 0, sizeof(h));
	h.at = req->now;
	h.actor_id = s->account_id;
	h.actor = s->username;
	h.action = (char *)(publish == 1 ? "publish" : publish == 0 ? "unpublish" : "edit_public");
	h.from_state = item.state;
	h.to_state = item.state;
	h.note = (char *)(changed ? "public version edited" : NULL);
	if (db_history_add(req->db, item.id, &h) != 0 ||
	    audit_log(req, h.action, item.tracking, "%s", changed ? "edited" : "unchanged") != 0 ||
	    db_commit(req->db) != 0)
		goto fail;
	db_item_free(&item);
	json_decref(j);
	h_item_get(req, resp);
	return;
bad:
	if (!oom)
		goto out;
fail:
	resp_error(resp, 500, "internal", "the public version could not be stored");
out:
	if (began)
		db_rollback(req->db);
	if (have_item)
		db_item_free(&item);
	json_decref(j);
}
