/*
 * views.c: the JSON views of the API: items as staff see them, clocks with their explanations,
 * history, accounts and policies. Each returns a new reference (NULL when out of memory).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_int.h"

#define EXPLAIN_MAX 32 /* overrides listed in one explanation */

json_t *
json_time(int64_t t)
{
	char buf[40];

	if (t == 0)
		return json_null();
	sla_format_local(t, buf, sizeof(buf));
	/* ASCII digits and signs of ours: jansson's check of every byte (a page formats 100 to
	 * 150 of these) is not needed */
	return json_stringn_nocheck(buf, strlen(buf));
}

/* The holidays and make-up working days between the clock's start and its due date. */
static json_t *
explanation(const struct db_clock *k, const struct sla_calendar *cal)
{
	struct sla_override ov[EXPLAIN_MAX];
	json_t *a = json_array();
	size_t n, i;
	char date[11];

	if (a == NULL || k->due == 0)
		return a;
	n = sla_explain(cal, sla_local_day(k->started), sla_local_day(k->due), ov, EXPLAIN_MAX);
	if (n > EXPLAIN_MAX)
		n = EXPLAIN_MAX;
	for (i = 0; i < n; i++) {
		sla_date_format(ov[i].day, date);
		json_array_append_new(a, json_pack("{s:s, s:s, s:s}", "date", date, "kind",
		                                   ov[i].kind == SLA_WORK ? "work" : "off", "name",
		                                   ov[i].name ? ov[i].name : ""));
	}
	return a;
}

static json_t *
clock_json(const struct db_clock *k, const struct sla_calendar *cal, int64_t now)
{
	const char *state;
	json_t *left, *o;
	int overdue;

	if (k->stopped_at != 0) {
		state = "stopped";
		left = json_null();
		/* stopped while paused: no due time, the days it had left tell */
		overdue =
		    k->due != 0 ? k->stopped_at > k->due : k->paused_at != 0 && k->remaining < 0;
	} else if (k->paused_at != 0) {
		state = "paused";
		left = json_integer(k->remaining);
		overdue = k->remaining < 0;
	} else {
		state = "running";
		left = json_integer(sla_days_left(cal, k->due, now));
		overdue = now > k->due;
	}
	/* member by member, keys unchecked (ASCII constants): json_pack parsed its format for
	 * every clock of every answer (issue 20) */
	o = json_object();
	if (o == NULL) {
		json_decref(left);
		return NULL;
	}
	json_object_set_new_nocheck(o, "due", json_time(k->due));
	json_object_set_new_nocheck(o, "days", json_integer(k->days));
	json_object_set_new_nocheck(o, "unit", json_string(k->unit[0] ? k->unit : "working_days"));
	json_object_set_new_nocheck(o, "started", json_time(k->started));
	json_object_set_new_nocheck(o, "working_days_left", left);
	json_object_set_new_nocheck(o, "overdue", json_boolean(overdue));
	json_object_set_new_nocheck(o, "state", json_string_nocheck(state));
	json_object_set_new_nocheck(o, "provisional", json_boolean(k->provisional != 0));
	json_object_set_new_nocheck(o, "explanation", explanation(k, cal));
	json_object_set_new_nocheck(o, "result",
	                            k->result[0] ? json_string(k->result) : json_null());
	if (k->stopped_at != 0)
		json_object_set_new_nocheck(o, "stopped", json_time(k->stopped_at));
	if (k->paused_at != 0)
		json_object_set_new_nocheck(o, "paused", json_time(k->paused_at));
	return o;
}

json_t *
clocks_json(const struct db_item *item, const struct sla_calendar *cal, int64_t now)
{
	json_t *o = json_object();
	size_t i;

	if (o == NULL)
		return NULL;
	for (i = 0; i < item->nclocks; i++)
		json_object_set_new(o, item->clocks[i].name,
		                    clock_json(&item->clocks[i], cal, now));
	return o;
}

static json_t *
time_json(int64_t t)
{
	char buf[32];

	if (t == 0)
		return json_null();
	sla_format_local(t, buf, sizeof(buf));
	return json_stringn_nocheck(buf, strlen(buf)); /* ASCII of ours, as in json_time */
}

json_t *
account_json(struct db_conn *c, const struct db_account *a)
{
	struct db_section s;
	json_t *j, *section = json_null();

	if (a->section_id != 0 && db_section_get(c, a->section_id, &s) > 0) {
		json_decref(section);
		section = json_string(s.name);
		db_section_free(&s);
	}
	j = json_pack("{s:s, s:s?, s:s, s:o, s:s?, s:s?, s:s, s:b, s:o, s:o}", "username",
	              a->username, "display_name", a->display_name, "role", role_name(a->role), "section",
	              section, "email", a->email, "phone", a->phone, "status", a->status,
	              "must_change", a->must_change, "password_changed",
	              time_json(a->password_changed), "created", time_json(a->created));
	/* whether the account logs in with a second factor (enrolled and confirmed) */
	if (j != NULL)
		json_object_set_new(j, "totp", json_boolean(totp_enrolled(c, a->id) > 0));
	return j;
}

json_t *
policy_json(const struct policy *p, unsigned admin)
{
	json_t *j = json_object(), *src = json_object(), *v;
	char buf[POLICY_VALUE_MAX];
	int k;

	if (j == NULL || src == NULL)
		goto fail;
	for (k = 0; k < POLICY_KEY__MAX; k++) {
		policy_format(p, (enum policy_key)k, buf);
		if (policy_key_is_days((enum policy_key)k))
			v = json_integer(strtol(buf, NULL, 10));
		else
			v = json_string(buf);
		if (json_object_set_new(j, policy_key_name((enum policy_key)k), v) != 0 ||
		    json_object_set_new(src, policy_key_name((enum policy_key)k),
		                        json_string(admin & (1u << k) ? "admin" : "config")) != 0)
			goto fail;
	}
	if (json_object_set_new(j, "source", src) != 0) {
		src = NULL; /* set_new took it even on failure */
		goto fail;
	}
	return j;
fail:
	json_decref(src);
	json_decref(j);
	return NULL;
}

static json_t *
history_json(const struct db_history *h, size_t n, int citizen)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a != NULL && i < n; i++) {
		/* the staff's reasons for internal steps stay internal; the step itself is shown */
		int internal = citizen && (strcmp(h[i].action, "forward") == 0 ||
		                           strcmp(h[i].action, "request_extension") == 0 ||
		                           strcmp(h[i].action, "approve_extension") == 0);
		json_t *o = json_pack("{s:o, s:s, s:s, s:s?}", "at", json_time(h[i].at), "action",
		                      h[i].action, "to_state", h[i].to_state, "note",
		                      internal ? NULL : h[i].note);

		/* a step that set or moved a due time shows it (#14 point 11) */
		if (o != NULL && h[i].clock != NULL && h[i].due != 0) {
			json_object_set_new(o, "clock", json_string(h[i].clock));
			json_object_set_new(o, "due", json_time(h[i].due));
		}
		if (o != NULL && !citizen) {
			json_object_set_new(o, "actor", json_string(h[i].actor));
			json_object_set_new(o, "from_state",
			                    h[i].from_state ? json_string(h[i].from_state)
			                                    : json_null());
		}
		json_array_append_new(a, o);
	}
	return a;
}

json_t *
item_history_json(struct db_conn *c, int64_t item_id, int citizen)
{
	struct db_history *h = NULL;
	size_t n = 0;
	json_t *a;

	if (db_history_list(c, item_id, citizen, &h, &n) != 0)
		return NULL;
	a = history_json(h, n, citizen);
	db_history_free(h, n);
	return a;
}


json_t *
json_id_or_null(int64_t id)
{
	return id ? json_integer(id) : json_null();
}

json_t *
json_str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

/* The tracking numbers of the items merged into item: a new array (empty when none). */
static json_t *
merged_json(struct db_conn *c, const struct db_item *item)
{
	int64_t *ids = NULL;
	char **tr = NULL;
	size_t n = 0, i;
	json_t *a = json_array();

	if (a == NULL || db_item_merged(c, item->id, &ids, &tr, &n) != 0)
		return a;
	for (i = 0; i < n; i++)
		json_array_append_new(a, json_string(tr[i]));
	free(ids);
	db_strings_free(tr, n);
	return a;
}

/* The tracking number of item id, or null. */
static json_t *
tracking_json(struct db_conn *c, int64_t id)
{
	struct db_item t;
	json_t *j;

	if (id == 0 || db_item_get_id(c, id, &t) != 1)
		return json_null();
	j = json_string(t.tracking);
	db_item_free(&t);
	return j;
}

/* The whole item as staff see it: 200; 403 another section's item (read); 404; 500. read: 1
 * for GET /api/v1/items/{tracking} (core_item_read: the section rule and an audit row), 0 after
 * a change the actor made (audited with the change). */
static void
answer(struct req *req, struct resp *resp, const char *tracking, int read)
{
	struct db_item item;
	struct db_attachment *att = NULL;
	struct sla_calendar *cal = NULL;
	struct core_error err;
	size_t natt = 0, i;
	json_t *j = NULL, *files, *history;
	int rc;

	if (read) {
		if (core_item_read(req->app, req->db, req->session, req->addr, tracking, req->now,
		                   &item, &err) != 0) {
			resp_core_error(resp, &err);
			return;
		}
		rc = 1;
	} else {
		rc = db_item_get(req->db, tracking, &item);
	}
	if (rc == 0) {
		resp_error(resp, 404, "not_found", "no item %s", tracking);
		return;
	}
	if (rc < 0 || db_attachment_list(req->db, item.id, &att, &natt) != 0) {
		if (rc > 0)
			db_item_free(&item);
		resp_error(resp, 500, "internal", "the item cannot be read");
		return;
	}
	history = item_history_json(req->db, item.id, 0);
	files = json_array();
	for (i = 0; files != NULL && i < natt; i++)
		json_array_append_new(
		    files, json_pack("{s:I, s:s, s:I, s:s}", "id", (json_int_t)att[i].id,
		                     "filename", att[i].filename, "size", (json_int_t)att[i].size,
		                     "content_type", att[i].content_type));
	cal = app_calendar(req->app);
	j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:b, s:o, s:o, s:o}",
	              "tracking", item.tracking, "kind", kind_name(item.kind), "channel",
	              channel_name(item.channel), "state", wf_state_name(item.state), "subject", item.subject, "body", item.body, "name",
	              json_str_or_null(item.name), "phone", json_str_or_null(item.phone), "email",
	              json_str_or_null(item.email), "publish", item.publish, "received",
	              json_time(item.received), "created", json_time(item.created), "updated",
	              json_time(item.updated));
	if (j != NULL) {
		json_object_set_new(j, "section", json_str_or_null(item.section_name));
		json_object_set_new(j, "section_id", json_id_or_null(item.section_id));
		json_object_set_new(j, "assignee", json_str_or_null(item.assignee_name));
		json_object_set_new(j, "assignee_id", json_id_or_null(item.assignee_id));
		json_object_set_new(j, "extension", json_string(item.extension));
		json_object_set_new(j, "clocks", clocks_json(&item, cal, req->now));
		json_object_set_new(j, "attachments", files ? files : json_array());
		json_object_set_new(j, "history", history ? history : json_array());
		json_object_set_new(j, "draft", json_str_or_null(item.draft));
		json_object_set_new(j, "reply", json_str_or_null(item.reply));
		json_object_set_new(j, "replied_at", json_time(item.replied_at));
		json_object_set_new(j, "reason", json_str_or_null(item.reason));
		json_object_set_new(j, "merged_into", tracking_json(req->db, item.merged_into));
		json_object_set_new(j, "merged_items", merged_json(req->db, &item));
		json_object_set_new(j, "address_string", json_str_or_null(item.address));
		json_object_set_new(j, "lat", json_str_or_null(item.lat));
		json_object_set_new(j, "long", json_str_or_null(item.lng));
		json_object_set_new(j, "waiting_since", json_time(item.waiting_since));
		/* the citizen's language, which their notices are written in; null: not recorded
		 * (an item from before schema 031: Chinese and English together) */
		json_object_set_new(j, "lang", json_str_or_null(lang_name(item.lang)));
		json_object_set_new(j, "public_subject", json_str_or_null(item.public_subject));
		json_object_set_new(j, "public_body", json_str_or_null(item.public_body));
		json_object_set_new(j, "public_reply", json_str_or_null(item.public_reply));
		json_object_set_new(j, "published", json_boolean(item.published));
		json_object_set_new(j, "supervision", supervision_json(req->db, item.id, req->now));
		json_object_set_new(j, "screening", screening_json(req->db, item.id));
		/* a citizen's e-mail after the item ended, not yet acknowledged by its section */
		json_object_set_new(j, "citizen_mail", json_time(item.citizen_mail_at));
		json_object_set_new(j, "rating", rating_json(req->db, item.id, 1));
		files = history = NULL;
	}
	json_decref(files);
	json_decref(history);
	sla_calendar_unref(cal);
	db_attachments_free(att, natt);
	db_item_free(&item);
	resp_json(resp, 200, j);
}

void
item_answer(struct req *req, struct resp *resp, const char *tracking)
{
	answer(req, resp, tracking, 0);
}

void
item_read_answer(struct req *req, struct resp *resp, const char *tracking)
{
	answer(req, resp, tracking, 1);
}
