/*
 * h_track.c: GET /api/v1/track/{tracking} — a citizen follows an item with its tracking number
 * and query code (header X-Query-Code, or the query parameter `code` from the tracking page;
 * neither is ever logged). Unknown numbers and wrong codes get the same 404; repeated failures
 * from one address are slowed down with 429.
 */
#include <string.h>

#include "api_int.h"

static void
not_found(struct req *req, struct resp *resp)
{
	core_track_failed(req->app, req->addr, req->params[0], req->now);
	resp_error(resp, 404, "not_found", "no item matches this tracking number and query code");
}

/* 200 {"tracking","state","kind","subject","received","clocks","history"[,"reply","replied_at"]
 * [,"reason"]}; 404 for an unknown number or a wrong code (the same answer); 429 with
 * Retry-After after TRACK_FAILURES failures within TRACK_WINDOW seconds; 500. */
void
h_track(struct req *req, struct resp *resp)
{
	static const unsigned char nohash[QUERY_HASH_LEN];
	const char *code = req_header(req, "X-Query-Code");
	struct sla_calendar *cal;
	struct db_item item;
	json_t *j, *history;
	int64_t retry;
	int rc, ok;

	if (core_track_refused(req->app, req->addr, req->params[0], req->now, &retry)) {
		resp_error(resp, 429, "rate_limited",
		           "too many failed look-ups; try again in %lld seconds",
		           (long long)retry);
		resp_header(resp, "Retry-After", "%lld", (long long)retry);
		return;
	}
	if (code == NULL)
		code = req_query(req, "code");
	rc = db_item_get(req->db, req->params[0], &item);
	if (rc < 0) {
		resp_error(resp, 500, "internal", "the item cannot be read");
		return;
	}
	/* the same work whether the number exists or not */
	ok = query_code_verify(code, rc == 1 ? item.query_hash : nohash) && rc == 1;
	if (!ok) {
		if (rc == 1)
			db_item_free(&item);
		not_found(req, resp);
		return;
	}
	history = item_history_json(req->db, item.id, 1);
	cal = app_calendar(req->app);
	j = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:o}", "tracking", item.tracking, "state",
	              wf_state_name(item.state), "kind", kind_name(item.kind), "subject", item.subject, "received",
	              json_time(item.received), "clocks", clocks_json(&item, cal, req->now),
	              "history", history ? history : json_array());
	sla_calendar_unref(cal);
	if (j != NULL && item.replied_at != 0 && item.reply != NULL) {
		json_object_set_new(j, "reply", json_string(item.reply));
		json_object_set_new(j, "replied_at", json_time(item.replied_at));
	}
	if (j != NULL && item.reason != NULL && item.state == WF_REJECTED)
		json_object_set_new(j, "reason", json_string(item.reason));
	if (j != NULL && item.replied_at != 0) /* the citizen's own rating, without follow-up */
		json_object_set_new(j, "rating", rating_json(req->db, item.id, 0));
	db_item_free(&item);
	resp_json(resp, 200, j);
}

/* The form of a supplement (multipart/form-data or urlencoded): fields "text" and "query_code",
 * files "attachment" (at most INTAKE_MAX_ATTACHMENTS) into att. 0, or -1 having answered 400
 * naming the field. */
static int
supplement_form(struct req *req, struct resp *resp, const char **text, const char **code,
                struct db_attachment *att, size_t *natt)
{
	const struct form_field *f;
	size_t i;

	for (i = 0; i < req->nform; i++) {
		f = &req->form[i];
		if (f->filename != NULL && strcmp(f->name, "attachment") == 0) {
			if (f->filename[0] == '\0' && f->size == 0)
				continue; /* an empty file input */
			if (*natt == INTAKE_MAX_ATTACHMENTS) {
				resp_error_field(resp, 400, "attachment", "at most %d attachments",
				                 INTAKE_MAX_ATTACHMENTS);
				return -1;
			}
			memset(&att[*natt], 0, sizeof(att[0]));
			att[*natt].filename = (char *)upload_name(f->filename); /* fitted, too */
			att[*natt].content_type = (char *)"application/octet-stream"; /* sniffed */
			att[*natt].data = f->data;
			att[*natt].size = (int64_t)f->size;
			(*natt)++;
			continue;
		}
		if (f->filename != NULL ||
		    (strcmp(f->name, "text") != 0 && strcmp(f->name, "query_code") != 0)) {
			resp_error_field(resp, 400, f->name, "unknown field %.64s", f->name);
			return -1;
		}
		if (strlen(f->data) != f->size || text_check(f->data, f->size, TEXT_MULTILINE) < 0) {
			resp_error_field(resp, 400, f->name, "%.64s is not valid UTF-8 text", f->name);
			return -1;
		}
	}
	f = req_form(req, "text");
	*text = f != NULL ? f->data : NULL;
	f = req_form(req, "query_code");
	if (*code == NULL && f != NULL)
		*code = f->data;
	return 0;
}

/* POST /api/v1/track/{tracking}/supplement, header X-Query-Code (or "query_code" in the body):
 * the citizen's supplement while the item waits for them (core_citizen_act), as JSON
 * {"text": …} or as a form (multipart/form-data: "text" and files "attachment", under the
 * submission's type and size caps; the item's files count towards its cap). 200
 * {"tracking","state","attachments":N}; 400 naming the field (also an unknown one, or an
 * attachment of a type not allowed); 404 unknown number or wrong code (the same answer); 409
 * not waiting for the citizen; 413 an attachment too large; 429 after repeated failures. */
void
h_track_supplement(struct req *req, struct resp *resp)
{
	struct db_attachment att[INTAKE_MAX_ATTACHMENTS];
	struct core_action_input in;
	struct core_error err;
	struct db_item item;
	const char *code = req_header(req, "X-Query-Code"), *key, *text = NULL;
	json_t *j = NULL, *v;
	size_t natt = 0;
	int64_t retry;

	if (core_track_refused(req->app, req->addr, req->params[0], req->now, &retry)) {
		resp_error(resp, 429, "rate_limited",
		           "too many failed look-ups; try again in %lld seconds",
		           (long long)retry);
		resp_header(resp, "Retry-After", "%lld", (long long)retry);
		return;
	}
	if (req->is_form) {
		if (supplement_form(req, resp, &text, &code, att, &natt) != 0)
			return;
	} else {
		if (req_json(req, resp, &j) != 0)
			return;
		json_object_foreach(j, key, v) {
			if (strcmp(key, "text") != 0 && strcmp(key, "query_code") != 0) {
				resp_error_field(resp, 400, key, "unknown field %.64s", key);
				goto out;
			}
		}
		v = json_object_get(j, "text");
		if (json_is_string(v) && strlen(json_string_value(v)) == json_string_length(v))
			text = json_string_value(v);
		if (code == NULL && json_is_string(json_object_get(j, "query_code")))
			code = json_string_value(json_object_get(j, "query_code"));
	}
	if (text == NULL) {
		resp_error_field(resp, 400, "text", "text must be a string");
		goto out;
	}
	memset(&in, 0, sizeof(in));
	in.text = text;
	in.att = att;
	in.natt = natt;
	if (core_citizen_act(req->app, req->db, req->params[0], code ? code : "", req->addr,
	                     WF_CITIZEN_ANSWER, &in, req->now, &err) != 0) {
		if (err.code == CORE_NOT_FOUND)
			not_found(req, resp);
		else
			resp_core_error(resp, &err);
		goto out;
	}
	if (db_item_get(req->db, req->params[0], &item) != 1) {
		resp_error(resp, 500, "internal", "the item cannot be read");
		goto out;
	}
	resp_json(resp, 200, json_pack("{s:s, s:s, s:I}", "tracking", item.tracking, "state",
	                               wf_state_name(item.state), "attachments", (json_int_t)natt));
	db_item_free(&item);
out:
	json_decref(j);
}

/* POST /api/v1/track/{tracking}/withdraw, header X-Query-Code (or "query_code" in the body),
 * JSON {"what":"item"|"consent"}: the citizen withdraws their item (closed) or their consent to
 * publication (off the board and Open311). 200 {"tracking","state","publish"}; 400 naming the
 * field; 404 unknown number or wrong code; 409 the item is no longer open; 429. */
void
h_track_withdraw(struct req *req, struct resp *resp)
{
	struct core_error err;
	struct db_item item;
	const char *code = req_header(req, "X-Query-Code"), *key, *what;
	json_t *j = NULL, *v;
	int64_t retry;

	if (core_track_refused(req->app, req->addr, req->params[0], req->now, &retry)) {
		resp_error(resp, 429, "rate_limited", "too many failed look-ups; try again in %lld seconds",
		           (long long)retry);
		resp_header(resp, "Retry-After", "%lld", (long long)retry);
		return;
	}
	if (req_json(req, resp, &j) != 0)
		return;
	json_object_foreach(j, key, v) {
		if (strcmp(key, "what") != 0 && strcmp(key, "query_code") != 0) {
			resp_error_field(resp, 400, key, "unknown field %.64s", key);
			goto out;
		}
	}
	what = json_string_value(json_object_get(j, "what"));
	if (what == NULL || (strcmp(what, "item") != 0 && strcmp(what, "consent") != 0)) {
		resp_error_field(resp, 400, "what", "what must be item or consent");
		goto out;
	}
	if (code == NULL && json_is_string(json_object_get(j, "query_code")))
		code = json_string_value(json_object_get(j, "query_code"));
	if (core_citizen_withdraw(req->app, req->db, req->params[0], code ? code : "", req->addr,
	                          strcmp(what, "item") == 0, req->now, &err) != 0) {
		if (err.code == CORE_NOT_FOUND)
			not_found(req, resp);
		else
			resp_core_error(resp, &err);
		goto out;
	}
	if (db_item_get(req->db, req->params[0], &item) != 1) {
		resp_error(resp, 500, "internal", "the item cannot be read");
		goto out;
	}
	resp_json(resp, 200, json_pack("{s:s, s:s, s:b}", "tracking", item.tracking, "state",
	                               wf_state_name(item.state), "publish", item.publish));
	db_item_free(&item);
out:
	json_decref(j);
}
