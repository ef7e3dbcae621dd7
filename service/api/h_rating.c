/*
 * h_rating.c: satisfaction ratings (好差评). POST /api/v1/track/{tracking}/rating — the citizen,
 * with the query code in X-Query-Code, rates the sent reply once; POST
 * /api/v1/items/{tracking}/followup — the section head closes the follow-up (回访) of an
 * unsatisfied rating by confirming it or reopening the item (重办).
 */
#include <string.h>

#include "api_int.h"

/* A string member of the body: 1 found, 0 absent or null, -1 after answering 400. */
static int
body_text(json_t *j, const char *key, struct resp *resp, const char **out)
{
	json_t *v = json_object_get(j, key);

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)) {
		resp_error_field(resp, 400, key, "%s must be text", key);
		return -1;
	}
	*out = json_string_value(v);
	return 1;
}

/* 201 {"tracking","rating":{"value","at","followup"}}; 400 naming "value" or "comment"; 404 for
 * an unknown number or a wrong code (the same answer, counted per address and per tracking
 * number as on GET /api/v1/track); 409 "not_replied", "rated", "too_late"; 429 with Retry-After; 500. */
void
h_track_rating(struct req *req, struct resp *resp)
{
	const char *code = req_header(req, "X-Query-Code"), *value, *comment;
	struct core_error err;
	int64_t retry;
	json_t *j = NULL;

	if (core_track_refused(req->app, req->addr, req->params[0], req->now, &retry)) {
		resp_error(resp, 429, "rate_limited",
		           "too many failed look-ups; try again in %lld seconds",
		           (long long)retry);
		resp_header(resp, "Retry-After", "%lld", (long long)retry);
		return;
	}
	if (req_json(req, resp, &j) != 0)
		return;
	if (body_text(j, "value", resp, &value) < 0 || body_text(j, "comment", resp, &comment) < 0)
		goto out;
	memset(&err, 0, sizeof(err));
	if (core_rate(req->app, req->db, req->params[0], code, value, comment, req->addr, req->now,
	              &err) != 0) {
		if (err.code == CORE_NOT_FOUND) {
			/* counted like every wrong code: per address and per tracking number */
			core_track_failed(req->app, req->addr, req->params[0], req->now);
			resp_error(resp, 404, "not_found",
			           "no item matches this tracking number and query code");
		} else
			resp_core_error(resp, &err);
		goto out;
	}
	resp_json(resp, 201,
	          json_pack("{s:s, s:{s:s, s:o, s:o}}", "tracking", req->params[0], "rating",
	                    "value", value, "at", json_time(req->now), "followup",
	                    strcmp(value, "unsatisfied") == 0 ? json_string("open") : json_null()));
out:
	json_decref(j);
}

/* POST /api/v1/items/{tracking}/followup {"decision":"confirm"|"reopen","note":…} (section
 * head of the item's section): 200 with the item; 400 naming "decision" or "note"; 403; 404;
 * 409 "no_followup"; 500, 503. */
void
h_item_followup(struct req *req, struct resp *resp)
{
	const char *decision, *note;
	struct core_error err;
	json_t *j = NULL;

	if (req_json(req, resp, &j) != 0)
		return;
	if (body_text(j, "decision", resp, &decision) < 0 || body_text(j, "note", resp, &note) < 0)
		goto out;
	if (decision == NULL || (strcmp(decision, "confirm") != 0 && strcmp(decision, "reopen") != 0)) {
		resp_error_field(resp, 400, "decision", "decision must be confirm or reopen");
		goto out;
	}
	memset(&err, 0, sizeof(err));
	if (core_followup(req->app, req->db, req->session, req->addr, req->params[0],
	                  strcmp(decision, "reopen") == 0, note, req->now, &err) != 0) {
		resp_core_error(resp, &err);
		goto out;
	}
	item_answer(req, resp, req->params[0]);
out:
	json_decref(j);
}
