/*
 * h_actions.c: POST /api/v1/items/{tracking}/actions/{action} — reads the action's JSON body and
 * hands it to core_act, which does everything the action means in one transaction.
 */
#include <stdlib.h>
#include <string.h>

#include "api_int.h"

#define NOTE_MAX 2000  /* code points of a reason, comment or note */
#define TEXT_MAX 20000 /* code points of a draft, explanation or reply */

/* A string member of j: 1 found (non-empty after checks), 0 absent or null, -1 answered 400. */
static int
get_text(json_t *j, const char *name, long max, unsigned flags, struct resp *resp, const char **out)
{
	json_t *v = json_object_get(j, name);
	long n;

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v)) {
		resp_error_field(resp, 400, name, "%s must be a string", name);
		return -1;
	}
	n = text_check(json_string_value(v), json_string_length(v), flags);
	if (n < 0) {
		resp_error_field(resp, 400, name, "%s holds characters that are not allowed", name);
		return -1;
	}
	if (n > max) {
		resp_error_field(resp, 400, name, "%s is longer than %ld characters", name, max);
		return -1;
	}
	if (!text_nonblank(json_string_value(v)))
		return 0;
	*out = json_string_value(v);
	return 1;
}

/* Reads the body's fields (types and lengths) into in. 0, or -1 after answering 400. */
static int
read_input(json_t *j, struct resp *resp, struct core_action_input *in)
{
	static const char *const notes[] = {"reason", "comment", "note"};
	static const char *const known[] = {"reason", "comment", "note",   "text",
	                                    "assignee", "target", "section"};
	const char *key;
	size_t i;
	json_t *sec, *v;

	memset(in, 0, sizeof(*in));
	/* an unknown field is refused, naming it: a misspelt "reson" must not pass unnoticed */
	json_object_foreach(j, key, v) {
		for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
			if (strcmp(key, known[i]) == 0)
				break;
		if (i == sizeof(known) / sizeof(known[0])) {
			resp_error_field(resp, 400, key, "unknown field %.64s", key);
			return -1;
		}
	}
	for (i = 0; i < sizeof(notes) / sizeof(notes[0]); i++) {
		const char *s;
		int rc = get_text(j, notes[i], NOTE_MAX, TEXT_MULTILINE, resp, &s);

		if (rc < 0)
			return -1;
		if (rc > 0 && in->note == NULL)
			in->note = s;
	}
	if (get_text(j, "text", TEXT_MAX, TEXT_MULTILINE, resp, &in->text) < 0 ||
	    get_text(j, "assignee", 64, 0, resp, &in->assignee) < 0 ||
	    get_text(j, "target", 64, 0, resp, &in->target) < 0)
		return -1;
	sec = json_object_get(j, "section");
	if (sec != NULL && !json_is_null(sec)) {
		if (!json_is_string(sec) && !json_is_integer(sec)) {
			resp_error_field(resp, 400, "section", "section must be a name or an id");
			return -1;
		}
		if (json_is_string(sec))
			in->section = json_string_value(sec);
		else if (json_integer_value(sec) <= 0) {
			resp_error_field(resp, 400, "section", "no such active section");
			return -1;
		} else
			in->section_id = (int64_t)json_integer_value(sec);
	}
	return 0;
}

/* POST /api/v1/items/{tracking}/actions/{action} (staff, CSRF). Body: JSON with the action's
 * fields (section, assignee, reason/comment/note, text, target). Answers 200 with the item as
 * GET /api/v1/items/{tracking} shows it; 400 bad body or missing field (naming it); 403 wrong
 * role or another section's item; 404 unknown item or action; 409 illegal transition
 * ({"error":{"code":"illegal_transition","message","state","allowed":[…]}}); 500. */
void
h_item_action(struct req *req, struct resp *resp)
{
	struct core_action_input in;
	struct core_error err;
	json_t *j = NULL;
	int a;

	a = wf_action_parse(req->params[1]);
	if (a < 0) {
		resp_error(resp, 404, "not_found", "no action %s", req->params[1]);
		return;
	}
	if (req->body == NULL || req->body_len == 0)
		j = json_object();
	else if (req_json(req, resp, &j) != 0)
		return;
	if (j == NULL) {
		resp_error(resp, 500, "internal", "out of memory");
		return;
	}
	if (read_input(j, resp, &in) != 0)
		goto out;
	if (core_act(req->app, req->db, req->session, req->addr, req->params[0],
	             (enum wf_action)a, &in, req->now, &err) != 0) {
		resp_core_error(resp, &err);
		goto out;
	}
	item_answer(req, resp, req->params[0]);
out:
	json_decref(j);
}
