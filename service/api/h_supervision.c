/*
 * h_supervision.c: supervision orders (督办). POST /api/v1/items/{tracking}/supervision — a
 * supervisor marks an open item as supervised with a note and an own due date; and the
 * "supervision" and "rating" members that the item and queue views show.
 */
#include <string.h>

#include "api_int.h"

/* POST /api/v1/items/{tracking}/supervision {"note":…, "due":"YYYY-MM-DD"} (supervisor): 201
 * with the item; 400 naming "note" or "due"; 403; 404; 409 "supervised" or "closed"; 500. */
void
h_item_supervise(struct req *req, struct resp *resp)
{
	const char *note = NULL, *due = NULL;
	struct core_error err;
	json_t *j = NULL, *v;

	if (req_json(req, resp, &j) != 0)
		return;
	v = json_object_get(j, "note");
	if (v != NULL && json_is_string(v))
		note = json_string_value(v);
	v = json_object_get(j, "due");
	if (v != NULL && json_is_string(v))
		due = json_string_value(v);
	memset(&err, 0, sizeof(err));
	if (core_supervise(req->app, req->db, req->session, req->addr, req->params[0], note, due,
	                   req->now, &err) != 0) {
		resp_core_error(resp, &err);
		json_decref(j);
		return;
	}
	json_decref(j);
	item_answer(req, resp, req->params[0]);
	if (resp->status == 200)
		resp->status = 201;
}

json_t *
supervision_view(const struct db_supervision *s, int64_t now)
{
	json_t *j;

	if (s == NULL)
		return json_null();
	j = json_pack("{s:o, s:s, s:s, s:o, s:b}", "at", json_time(s->at), "by", s->by_name, "note",
	              s->note, "due", json_time(s->due), "overdue", now > s->due);
	return j ? j : json_null();
}

json_t *
supervision_json(struct db_conn *c, int64_t item_id, int64_t now)
{
	struct db_supervision s;
	json_t *j;

	if (db_supervision_get(c, item_id, &s) != 1)
		return json_null();
	j = supervision_view(&s, now);
	db_supervision_free(&s);
	return j;
}

json_t *
rating_json(struct db_conn *c, int64_t item_id, int staff)
{
	struct db_rating r;
	json_t *j;

	if (db_rating_last(c, item_id, &r) != 1)
		return json_null();
	j = json_pack("{s:s, s:o, s:I}", "value", r.value, "at", json_time(r.at), "round",
	              (json_int_t)r.round);
	if (j != NULL && staff) {
		json_object_set_new(j, "comment", json_str_or_null(r.comment));
		json_object_set_new(j, "followup", json_str_or_null(r.followup));
		json_object_set_new(j, "followup_note", json_str_or_null(r.followup_note));
		json_object_set_new(j, "followup_at", json_time(r.followup_at));
	}
	db_rating_free(&r);
	return j ? j : json_null();
}
