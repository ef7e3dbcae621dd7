/* h_screening.c: the content-screening flag of an item in the staff views, and
 * POST /api/v1/items/{tracking}/screening to clear it after review. */
#include <string.h>

#include "api_int.h"

json_t *
screening_json(struct db_conn *c, int64_t item_id)
{
	struct db_screen s;
	json_t *j;
	int rc = db_screen_get(c, item_id, &s);

	if (rc <= 0)
		return json_null();
	j = json_pack("{s:s, s:o, s:b, s:o, s:o}", "matched", s.matched, "at", json_time(s.at),
	              "cleared", s.cleared_at != 0, "cleared_by", json_str_or_null(s.cleared_name),
	              "cleared_at", json_time(s.cleared_at));
	db_screen_free(&s);
	return j ? j : json_null();
}

/* POST /api/v1/items/{tracking}/screening {"note"} (dispatcher, supervisor, admin): clears the
 * item's screening flag after review: 200 with the item; 400 naming note; 404; 409
 * "not_flagged". */
void
h_item_screening(struct req *req, struct resp *resp)
{
	struct core_error err;
	json_t *j, *note;

	if (req_json(req, resp, &j) != 0)
		return;
	note = json_object_get(j, "note");
	if (core_screen_clear(req->app, req->db, req->session, req->addr, req->params[0],
	                      json_is_string(note) ? json_string_value(note) : NULL, req->now,
	                      &err) != 0)
		resp_core_error(resp, &err);
	else
		item_answer(req, resp, req->params[0]);
	json_decref(j);
}
