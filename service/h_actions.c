/*
 * h_actions.c: POST /api/v1/items/{tracking}/actions/{action} — the workflow transitions of
 * workflow.c applied to a stored item: role, section and state checks, the clocks, the item's
 * fields, one history row and one audit row, all in one transaction.
 */
#include <stdlib.h>
#include <string.h>

#include "service.h"

#define NOTE_MAX 2000  /* code points of a reason, comment or note */
#define TEXT_MAX 20000 /* code points of a draft, explanation or reply */

/* What the request body carried, validated. Strings are lent from the JSON body. */
struct action_input {
	const char *note;     /* reason / comment / note, or NULL */
	const char *text;     /* draft, explanation or reply text, or NULL */
	json_t *section;      /* name (string) or id (integer), or NULL */
	const char *assignee; /* username, or NULL */
	const char *target;   /* tracking number, or NULL */
};

/* Replaces an owned string field with a copy of s (NULL clears it). 0 or -1. */
static int
set_str(char **field, const char *s)
{
	char *copy = NULL;

	if (s != NULL) {
		copy = strdup(s);
		if (copy == NULL)
			return -1;
	}
	free(*field);
	*field = copy;
	return 0;
}

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
read_input(json_t *j, struct resp *resp, struct action_input *in)
{
	static const char *const notes[] = {"reason", "comment", "note"};
	size_t i;
	json_t *sec;

	memset(in, 0, sizeof(*in));
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
		in->section = sec;
	}
	return 0;
}

/* Checks that the body carries what the transition needs. 0, or -1 after answering 400. */
static int
check_needs(const struct wf_transition *t, const struct action_input *in, struct resp *resp)
{
	if ((t->input & WF_IN_SECTION) && in->section == NULL) {
		resp_error_field(resp, 400, "section", "%s needs the section (name or id)",
		                 t->name);
		return -1;
	}
	if ((t->input & WF_IN_NOTE) && in->note == NULL) {
		resp_error_field(resp, 400, t->action == WF_RETURN ? "comment" : "reason",
		                 "%s needs a %s", t->name,
		                 t->action == WF_RETURN ? "comment" : "reason");
		return -1;
	}
	if ((t->input & WF_IN_TEXT) && in->text == NULL) {
		resp_error_field(resp, 400, "text", "%s needs the text", t->name);
		return -1;
	}
	if ((t->input & WF_IN_TARGET) && in->target == NULL) {
		resp_error_field(resp, 400, "target", "%s needs the target tracking number",
		                 t->name);
		return -1;
	}
	return 0;
}

/* 409 illegal_transition with the actions the caller's role may take from state. */
static void
illegal(struct resp *resp, enum wf_state state, enum role role, const char *fmt, const char *a,
        const char *b)
{
	enum wf_action list[WF_ACTION__MAX];
	size_t n = wf_allowed(state, role, list, WF_ACTION__MAX), i;
	json_t *allowed = json_array(), *j;
	char msg[256];

	snprintf(msg, sizeof(msg), fmt, a, b);
	for (i = 0; allowed != NULL && i < n && i < WF_ACTION__MAX; i++)
		json_array_append_new(allowed, json_string(wf_transition(list[i])->name));
	j = json_pack("{s:{s:s, s:s, s:s, s:o}}", "error", "code", "illegal_transition", "message",
	              msg, "state", wf_state_name(state), "allowed",
	              allowed ? allowed : json_array());
	resp_json(resp, 409, j);
}

/* Resolves the "section" member: 1 found (written to *out), 0 answered 400, -1 error. */
static int
find_section(struct req *req, struct resp *resp, json_t *v, struct db_section *out)
{
	int rc;

	if (json_is_integer(v))
		rc = db_section_get(req->db, (int64_t)json_integer_value(v), out);
	else
		rc = db_section_by_name(req->db, json_string_value(v), out);
	if (rc < 0)
		return -1;
	if (rc == 0 || !out->active) {
		if (rc > 0)
			db_section_free(out);
		resp_error_field(resp, 400, "section", "no such active section");
		return 0;
	}
	return 1;
}

/* Resolves the assignee: an active handler or section head of section_id. 1 / 0 (400) / -1. */
static int
find_assignee(struct req *req, struct resp *resp, const char *username, int64_t section_id,
              int64_t *id)
{
	struct db_account a;
	int rc = db_account_by_name(req->db, username, &a), ok;

	if (rc < 0)
		return -1;
	if (rc == 0) {
		resp_error_field(resp, 400, "assignee", "no such account");
		return 0;
	}
	ok = strcmp(a.status, "active") == 0 &&
	     (strcmp(a.role, "handler") == 0 || strcmp(a.role, "section_head") == 0) &&
	     a.section_id == section_id;
	*id = a.id;
	db_account_free(&a);
	if (!ok) {
		resp_error_field(resp, 400, "assignee",
		                 "the assignee must be an active handler or section head of the "
		                 "section");
		return 0;
	}
	return 1;
}

/* The limit of a clock as a rule (its own days, unit and end of day). */
static struct sla_rule
clock_rule(const struct db_clock *k)
{
	struct sla_rule r;

	r.unit = strcmp(k->unit, "calendar_days") == 0 ? SLA_CALENDAR_DAYS : SLA_WORKING_DAYS;
	r.days = k->days;
	r.end_minutes = k->end_minutes > 0 ? k->end_minutes : 1440;
	return r;
}

/* Moves the reply clock to the extended limit. In working days the due date moves by the
 * difference, so that time already paused and resumed stays counted; in calendar days it is
 * recomputed from the clock's start. */
static void
extend_reply(struct db_clock *k, const struct sla_calendar *cal, int days)
{
	struct sla_rule r = clock_rule(k);
	sla_day d;

	if (k->stopped_at != 0 || days <= k->days)
		return;
	if (r.unit == SLA_WORKING_DAYS && k->paused_at == 0 && k->due != 0) {
		d = sla_add_working_days(cal, sla_local_day(k->due), days - k->days);
		k->due = sla_day_end(d, r.end_minutes);
		k->days = days;
		k->provisional =
		    !sla_calendar_covers(cal, sla_local_day(k->started), sla_local_day(k->due));
		return;
	}
	r.days = days;
	clock_restart(k, cal, k->started, &r);
}

/* Applies the clock effects of t to item at now under policy p, the kind's policy in force at
 * the time of the action. A running clock keeps its own rule (days, unit, end of day, stored
 * with it), so a policy change never moves a due time already given: p decides only what this
 * action does — whether forwarding or a supplement restarts a clock, the limit of an explain
 * clock it opens and of an extension it grants. */
static void
apply_clocks(const struct wf_transition *t, struct db_item *item, const struct policy *p,
             const struct sla_calendar *cal, int64_t now)
{
	struct db_clock *k;
	size_t i;

	if ((t->effects & WF_FX_STOP_FORWARD) && (k = clock_find(item, CLOCK_FORWARD)) != NULL)
		clock_stop(k, now);
	if ((t->effects & WF_FX_FORWARDED) && p->on_forward == ON_FORWARD_RESTART &&
	    (k = clock_find(item, CLOCK_REPLY)) != NULL && k->stopped_at == 0) {
		struct sla_rule r = clock_rule(k);

		clock_restart(k, cal, now, &r);
	}
	if (t->effects & WF_FX_PAUSE)
		for (i = 0; i < item->nclocks; i++)
			clock_pause(&item->clocks[i], cal, now);
	if (t->effects & WF_FX_RESUME)
		for (i = 0; i < item->nclocks; i++) {
			k = &item->clocks[i];
			if (k->stopped_at != 0 || k->paused_at == 0)
				continue;
			if (p->on_supplement == ON_SUPPLEMENT_PAUSE) {
				clock_resume(k, cal, now);
			} else {
				struct sla_rule r = clock_rule(k);

				clock_restart(k, cal, now, &r);
			}
		}
	if (t->effects & WF_FX_OPEN_EXPLAIN)
		clock_open(item, CLOCK_EXPLAIN, &p->explain, cal, item->received);
	if ((t->effects & WF_FX_EXTEND_REPLY) && (k = clock_find(item, CLOCK_REPLY)) != NULL)
		extend_reply(k, cal, p->reply_extended_days);
	if ((t->effects & WF_FX_STOP_EXPLAIN) && (k = clock_find(item, CLOCK_EXPLAIN)) != NULL)
		clock_stop(k, now);
	if (t->effects & WF_FX_STOP_ALL)
		for (i = 0; i < item->nclocks; i++)
			clock_stop(&item->clocks[i], now);
	if (t->effects & WF_FX_FREEZE)
		clocks_freeze(item, now);
	item->next_due = db_item_next_due(item);
}

/* Fills the public version (masked) of a replied item whose submitter allows publication:
 * fields staff already wrote are kept. 0 or -1. */
int
item_make_public(struct db_item *item)
{
	char *s;

	if (!item->publish)
		return 0;
	if (item->public_subject == NULL) {
		s = redact_text(item->subject, item->name);
		if (s == NULL)
			return -1;
		item->public_subject = s;
	}
	if (item->public_body == NULL) {
		s = redact_text(item->body, item->name);
		if (s == NULL)
			return -1;
		item->public_body = s;
	}
	if (item->public_reply == NULL && item->reply != NULL) {
		s = redact_text(item->reply, item->name);
		if (s == NULL)
			return -1;
		item->public_reply = s;
	}
	item->published = 1;
	return 0;
}

/* The checks beyond the table (extension already asked, no explanation due, merge target) and
 * the changes of the item's own fields. Returns 0, 1 after answering (4xx), -1 on error. */
static int
apply_fields(struct req *req, struct resp *resp, const struct wf_transition *t,
             struct db_item *item, const struct action_input *in, enum wf_state state,
             const char **note)
{
	struct session *s = req->session;
	struct db_section sec;
	struct db_item target;
	struct db_clock *k;
	int64_t assignee = 0;
	int rc;

	switch (t->action) {
	case WF_ASSIGN:
	case WF_FORWARD:
		rc = find_section(req, resp, in->section, &sec);
		if (rc <= 0)
			return rc < 0 ? -1 : 1;
		if (t->action == WF_FORWARD && sec.id == item->section_id) {
			db_section_free(&sec);
			resp_error_field(resp, 400, "section",
			                 "the item is in that section already");
			return 1;
		}
		if (in->assignee != NULL) {
			rc = find_assignee(req, resp, in->assignee, sec.id, &assignee);
			if (rc <= 0) {
				db_section_free(&sec);
				return rc < 0 ? -1 : 1;
			}
		}
		item->section_id = sec.id;
		item->assignee_id = assignee;
		db_section_free(&sec);
		return 0;
	case WF_ACCEPT:
		if (s->role == ROLE_HANDLER)
			item->assignee_id = s->account_id;
		return 0;
	case WF_ASK_CITIZEN:
		return set_str(&item->resume_state, wf_state_name(state));
	case WF_CITIZEN_ANSWER:
		return set_str(&item->resume_state, NULL);
	case WF_REQUEST_EXTENSION:
		if (strcmp(item->extension, "requested") == 0 ||
		    strcmp(item->extension, "approved") == 0) {
			illegal(resp, state, s->role, "an extension was %s already%s",
			        item->extension, "");
			return 1;
		}
		return set_str(&item->extension, "requested");
	case WF_APPROVE_EXTENSION:
		return set_str(&item->extension, "approved");
	case WF_REFUSE_EXTENSION:
		return set_str(&item->extension, "refused");
	case WF_SEND_EXPLANATION:
		k = clock_find(item, CLOCK_EXPLAIN);
		if (k == NULL || k->stopped_at != 0) {
			illegal(resp, state, s->role, "no interim explanation is due%s%s", "", "");
			return 1;
		}
		*note = in->text;
		return 0;
	case WF_DRAFT:
		return set_str(&item->draft, in->text);
	case WF_SEND_REPLY:
		if (item->draft == NULL) {
			illegal(resp, state, s->role, "there is no approved draft to send%s%s", "",
			        "");
			return 1;
		}
		if (set_str(&item->reply, item->draft) != 0)
			return -1;
		item->replied_at = req->now;
		return item_make_public(item);
	case WF_REJECT:
		return set_str(&item->reason, in->note);
	case WF_MERGE:
		rc = db_item_get(req->db, in->target, &target);
		if (rc < 0)
			return -1;
		if (rc == 0 || target.id == item->id || strcmp(target.state, "merged") == 0 ||
		    strcmp(target.state, "rejected") == 0) {
			if (rc > 0)
				db_item_free(&target);
			resp_error_field(
			    resp, 400, "target",
			    "the target must be another item that is neither merged nor "
			    "rejected");
			return 1;
		}
		item->merged_into = target.id;
		db_item_free(&target);
		if (*note == NULL)
			*note = in->target;
		return 0;
	default:
		return 0;
	}
}

/* POST /api/v1/items/{tracking}/actions/{action} (staff, CSRF). Body: JSON with the action's
 * fields (section, assignee, reason/comment/note, text, target). Answers 200 with the item as
 * GET /api/v1/items/{tracking} shows it; 400 bad body or missing field (naming it); 403 wrong
 * role or another section's item; 404 unknown item or action; 409 illegal transition
 * ({"error":{"code":"illegal_transition","message","state","allowed":[…]}}); 500. */
void
h_item_action(struct req *req, struct resp *resp)
{
	const struct wf_transition *t;
	struct session *s = req->session;
	struct action_input in;
	struct sla_calendar *cal = NULL;
	struct policy policy;
	struct db_history h;
	struct db_item item;
	json_t *j = NULL;
	const char *note;
	char from[32];
	int a, state, next, rc, began = 0, have_item = 0, kind;

	a = wf_action_parse(req->params[1]);
	if (a < 0) {
		resp_error(resp, 404, "not_found", "no action %s", req->params[1]);
		return;
	}
	t = wf_transition((enum wf_action)a);
	if (req->body == NULL || req->body_len == 0)
		j = json_object();
	else if (req_json(req, resp, &j) != 0)
		return;
	if (j == NULL || read_input(j, resp, &in) != 0)
		goto out;
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
	state = wf_state_parse(item.state);
	if (state < 0) {
		log_err("item %s has an unknown state %s", item.tracking, item.state);
		goto fail;
	}
	switch (wf_check((enum wf_action)a, (enum wf_state)state, s->role, item.section_id,
	                 s->section_id)) {
	case WF_ERR_ROLE:
		resp_error(resp, 403, "forbidden", "a %s may not %s", role_name(s->role), t->name);
		goto out;
	case WF_ERR_SECTION:
		resp_error(resp, 403, "forbidden", "item %s belongs to another section",
		           item.tracking);
		goto out;
	case WF_ERR_STATE:
		illegal(resp, (enum wf_state)state, s->role, "%s is not possible from state %s",
		        t->name, item.state);
		goto out;
	case WF_OK:
		break;
	}
	if (check_needs(t, &in, resp) != 0)
		goto out;
	next = wf_next_state((enum wf_action)a, (enum wf_state)state,
	                     item.resume_state ? wf_state_parse(item.resume_state) : -1);
	if (next < 0)
		next = WF_IN_PROGRESS; /* waiting without a remembered state: back to work */
	note = in.note;
	rc = apply_fields(req, resp, t, &item, &in, (enum wf_state)state, &note);
	if (rc < 0)
		goto fail;
	if (rc > 0)
		goto out;
	kind = kind_parse(item.kind);
	if (kind < 0)
		goto fail;
	app_policy(req->app, (enum kind)kind, &policy);
	cal = app_calendar(req->app);
	apply_clocks(t, &item, &policy, cal, req->now);
	snprintf(from, sizeof(from), "%s", item.state);
	if (set_str(&item.state, wf_state_name((enum wf_state)next)) != 0)
		goto fail;
	item.updated = req->now;
	if (db_item_update(req->db, &item) != 1)
		goto fail;
	memset(&h, 0, sizeof(h));
	h.at = req->now;
	h.actor_id = s->account_id;
	h.actor = s->username;
	h.action = (char *)t->name;
	h.from_state = from;
	h.to_state = item.state;
	h.note = (char *)note;
	h.citizen = t->citizen;
	if (db_history_add(req->db, item.id, &h) != 0)
		goto fail;
	if (audit_log(req, t->name, item.tracking, "%s -> %s", from, item.state) != 0)
		goto fail;
	if (db_commit(req->db) != 0)
		goto fail;
	began = 0;
	db_item_free(&item);
	have_item = 0;
	json_decref(j);
	sla_calendar_unref(cal);
	h_item_get(req, resp);
	return;
fail:
	resp_error(resp, 500, "internal", "the action could not be stored");
out:
	if (began)
		db_rollback(req->db);
	if (have_item && (resp->status == 403 || resp->status == 409)) {
		/* refused attempts are in the audit log too (ok = 0), outside the rolled-back
		 * transaction */
		struct actor who = {s->account_id, s->username, req->addr};
		char detail[64];

		snprintf(detail, sizeof(detail), "refused (%d) from %s", resp->status, item.state);
		audit_write(req->db, req->now, &who, t->name, item.tracking, 0, detail);
	}
	if (have_item)
		db_item_free(&item);
	sla_calendar_unref(cal);
	json_decref(j);
}
