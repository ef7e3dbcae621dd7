/* h_outbox.c: the outbox as administrators see it (notices pending, sent or failed, and the
 * accounts that should have received one but have no address for it), the retry of a failed
 * notice, and of every notice given up on. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api_int.h"

#define OUTBOX_PAGE 100 /* rows of one page */

static json_t *
outbox_json(const struct db_outbox *o)
{
	return json_pack("{s:I, s:o, s:o, s:s, s:s, s:s, s:o, s:s, s:i, s:o, s:o, s:o, s:o, s:o, "
	                 "s:o}",
	                 "id", (json_int_t)o->id, "tracking", json_str_or_null(o->tracking), "clock",
	                 json_str_or_null(o->clock[0] ? o->clock : NULL), "step", o->step,
	                 "channel", o->channel, "recipient", o->recipient, "subject",
	                 json_str_or_null(o->subject), "state", o->state, "attempts", o->attempts,
	                 "created", json_time(o->created), "send_after", json_time(o->send_after),
	                 "sent_at", json_time(o->sent_at), "last_error",
	                 json_str_or_null(o->last_error), "message_id",
	                 json_str_or_null(o->message_id), "give_up_at", json_time(o->give_up_at));
}

static json_t *
missing_json(const struct db_notify_missing *m)
{
	return json_pack("{s:o, s:o, s:s, s:s, s:o, s:s, s:o, s:o}", "tracking",
	                 json_str_or_null(m->tracking), "clock",
	                 json_str_or_null(m->clock[0] ? m->clock : NULL), "step", m->step,
	                 "channel", m->channel, "account", json_str_or_null(m->username), "role",
	                 m->role, "section", json_str_or_null(m->section), "at", json_time(m->at));
}

/* GET /api/v1/admin/outbox?state=pending|sent|failed|dropped&before=ID&limit=N: 200
 * {"outbox":[row…], "counts":{"pending":N,"sent":N,"failed":N,"dropped":N},"missing":[{"tracking","clock","step","channel",
 * "account","role","section","at"}…],"next_before":ID|null}, newest first; 400 naming a bad
 * parameter. "missing" lists the accounts (account null: nobody holds the role) that should
 * have received a notice but have no address for its channel. A ladder notice (schema 022) shows
 * its clock and step and a null subject: its text is written when it is sent, as is a citizen's
 * acknowledgement's (step "ack"); a dropped one has the reason in last_error. */
void
h_admin_outbox_list(struct req *req, struct resp *resp)
{
	static const char *const states[] = {"pending", "sent", "failed", "dropped"};
	const char *state = req_query(req, "state");
	struct db_outbox *v = NULL;
	struct db_notify_missing *m = NULL;
	size_t n = 0, nm = 0, i;
	int64_t before, count;
	json_t *rows = NULL, *miss = NULL, *counts = NULL;
	int limit;

	if (state != NULL && strcmp(state, "all") == 0)
		state = NULL;
	for (i = 0; state != NULL && i < sizeof(states) / sizeof(states[0]); i++)
		if (strcmp(state, states[i]) == 0)
			break;
	if (state != NULL && i == sizeof(states) / sizeof(states[0])) {
		resp_error_field(resp, 400, "state", "state is pending, sent, failed, dropped or all");
		return;
	}
	if (before_param(req, resp, &before) != 0 ||
	    limit_param(req, resp, OUTBOX_PAGE, OUTBOX_PAGE, &limit) != 0)
		return;
	/* a GET runs in one read snapshot (http/): the rows and the counts agree */
	rows = json_array();
	miss = json_array();
	counts = json_object();
	if (rows == NULL || miss == NULL || counts == NULL ||
	    db_outbox_list(req->db, state, before, limit, &v, &n) != 0 ||
	    db_notify_missing_list(req->db, OUTBOX_PAGE, &m, &nm) != 0)
		goto fail;
	for (i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
		if (db_outbox_count(req->db, states[i], &count) != 0)
			goto fail;
		json_object_set_new(counts, states[i], json_integer(count));
	}
	for (i = 0; i < n; i++)
		json_array_append_new(rows, outbox_json(&v[i]));
	for (i = 0; i < nm; i++)
		json_array_append_new(miss, missing_json(&m[i]));
	resp_json(resp, 200,
	          json_pack("{s:o, s:o, s:o, s:o}", "outbox", rows, "counts", counts, "missing",
	                    miss, "next_before",
	                    (int)n == limit && n > 0 ? json_integer(v[n - 1].id) : json_null()));
	rows = miss = counts = NULL;
	goto out;
fail:
	resp_error(resp, 500, "internal", "the outbox cannot be read");
out:
	json_decref(rows);
	json_decref(miss);
	json_decref(counts);
	db_outboxes_free(v, n);
	db_notify_missing_free(m, nm);
}

/* POST /api/v1/admin/outbox/{id}/retry: a failed notice is pending again from now, with its
 * attempts counted afresh and the whole give-up time (audited "outbox_retry"). 200 with the row;
 * 404 unknown id; 409 when the row is not failed. */
void
h_admin_outbox_retry(struct req *req, struct resp *resp)
{
	struct actor who = req_actor(req);
	struct core_error err;
	struct db_outbox o;
	int64_t id;
	char *end;

	errno = 0;
	id = strtoll(req->params[0], &end, 10);
	if (errno != 0 || end == req->params[0] || *end != '\0' || id < 1) {
		resp_error(resp, 404, "not_found", "no such notice");
		return;
	}
	memset(&err, 0, sizeof(err));
	if (core_outbox_retry(req->app, req->db, &who, id, req->now, &err) != 0) {
		if (err.code == CORE_CONFLICT)
			resp_error(resp, 409, "conflict", "%s", err.message);
		else
			resp_core_error(resp, &err);
		return;
	}
	if (db_outbox_get(req->db, id, &o) != 1) {
		resp_error(resp, 500, "internal", "the notice cannot be changed");
		return;
	}
	resp_json(resp, 200, outbox_json(&o));
	db_outbox_free(&o);
}

/* POST /api/v1/admin/outbox/retry, JSON {"channel":"email"|"sms"} or {} (both channels; no body
 * is {} too): every notice the dispatcher gave up on (it kept failing until notify_give_up ran
 * out: a mail server or gateway down for long) is pending again from now, as the retry of one
 * makes it (audited once, "outbox_retry_given_up"). Notices refused for good (5xx) and bounces
 * stay failed. 200 {"retried":N,"channel":"email"|"sms"|null}; 400 naming a bad field. */
void
h_admin_outbox_retry_given_up(struct req *req, struct resp *resp)
{
	struct actor who = req_actor(req);
	struct core_error err;
	const char *channel = NULL, *key;
	json_t *j = NULL, *v;
	int64_t n = 0;

	if (req->body_len > 0 && req_json(req, resp, &j) != 0)
		return;
	json_object_foreach(j, key, v) {
		if (strcmp(key, "channel") != 0) {
			resp_error_field(resp, 400, key, "unknown field %s", key);
			goto out;
		}
		if (json_is_null(v))
			continue;
		channel = json_string_value(v);
		if (channel == NULL || (strcmp(channel, "email") != 0 && strcmp(channel, "sms") != 0)) {
			resp_error_field(resp, 400, "channel", "channel is email, sms or null (both)");
			goto out;
		}
	}
	memset(&err, 0, sizeof(err));
	if (core_outbox_retry_given_up(req->app, req->db, &who, channel, req->now, &n, &err) != 0) {
		resp_core_error(resp, &err);
		goto out;
	}
	resp_json(resp, 200, json_pack("{s:I, s:o}", "retried", (json_int_t)n, "channel",
	                               json_str_or_null(channel)));
out:
	json_decref(j);
}
