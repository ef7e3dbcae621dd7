/*
 * actions.c: the workflow transitions of workflow.c applied to a stored item, for every way in:
 * role, section and state checks, the item's fields and clocks, one history row, one audit row
 * and the notification hook, all in one transaction (txn.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core_int.h"

#define NOTE_MAX 2000  /* code points of a reason, comment or note */
#define TEXT_MAX 20000 /* code points of a draft, explanation or reply */

/* Who takes an action: a staff member (from the session) or the citizen (query code). */
struct by {
	int64_t id;         /* account id; 0 for the citizen */
	const char *name;   /* username or "citizen" */
	int role;           /* enum role, or -1 for the citizen */
	int64_t section_id; /* 0 when none */
};

static int precheck(const struct wf_transition *t, const struct db_item *item,
                    enum wf_state state, const struct by *by, int64_t now, char *msg,
                    size_t size);

/* The actions by may take on item now: those of its role from the state (wf_check) that the
 * checks beyond the table (precheck) let through as well, so that a 409 names exactly what
 * would succeed (inputs aside). */
static unsigned long
allowed_now(const struct db_item *item, enum wf_state state, const struct by *by, int64_t now)
{
	unsigned long bits = 0;
	char msg[160];
	int a;

	if (by->role < 0)
		return state == WF_WAITING_CITIZEN ? 1ul << WF_CITIZEN_ANSWER : 0;
	for (a = 0; a < WF_ACTION__MAX; a++) {
		if (wf_check((enum wf_action)a, state, (enum role)by->role, item->section_id,
		             by->section_id) != WF_OK)
			continue;
		if (precheck(wf_transition((enum wf_action)a), item, state, by, now, msg,
		             sizeof(msg)) != 0)
			continue;
		bits |= 1ul << a;
	}
	return bits;
}

/* CORE_CONFLICT with the actions by may take on item now. Returns -1. */
static int
conflict(struct core_error *err, const struct db_item *item, enum wf_state state,
         const struct by *by, int64_t now, const char *msg)
{
	core_fail(err, CORE_CONFLICT, NULL, "%s", msg);
	err->state = (int)state;
	err->allowed = allowed_now(item, state, by, now);
	return -1;
}

/* The checks beyond the table that depend on the item alone (not on the request's inputs):
 * 0, 1 with a sentence in msg (409), or 2 with a sentence (403). */
static int
precheck(const struct wf_transition *t, const struct db_item *item, enum wf_state state,
         const struct by *by, int64_t now, char *msg, size_t size)
{
	const struct db_clock *k;
	size_t i;

	/* a handler acts only on items assigned to them or unassigned in their section (#14
	 * point 12) */
	if (by->role == ROLE_HANDLER && t->scoped && item->assignee_id != 0 &&
	    item->assignee_id != by->id) {
		snprintf(msg, size, "item %s is assigned to someone else", item->tracking);
		return 2;
	}
	switch (t->action) {
	case WF_ASSIGN:
		if (by->role == ROLE_SECTION_HEAD &&
		    (item->section_id == 0 || item->section_id != by->section_id)) {
			snprintf(msg, size, "section heads assign within their own section");
			return 2;
		}
		if (by->role != ROLE_SECTION_HEAD &&
		    !(WF_BIT(state) & (WF_BIT(WF_RECEIVED) | WF_BIT(WF_ASSIGNED) |
		                       WF_BIT(WF_FORWARDED)))) {
			snprintf(msg, size, "assign is not possible from state %s", wf_state_name(item->state));
			return 1;
		}
		return 0;
	case WF_REQUEST_EXTENSION:
		if (strcmp(item->extension, "requested") == 0 ||
		    strcmp(item->extension, "approved") == 0) {
			snprintf(msg, size, "an extension was %s already", item->extension);
			return 1;
		}
		/* only before the reply clock runs out (#14 point 8) */
		for (i = 0; i < item->nclocks; i++) {
			k = &item->clocks[i];
			if (strcmp(k->name, "reply") == 0 && k->stopped_at == 0 &&
			    ((k->paused_at == 0 && k->due != 0 && now > k->due) ||
			     (k->paused_at != 0 && k->remaining < 0) || strcmp(k->result, "late") == 0)) {
				snprintf(msg, size,
				         "the reply clock has run out: an extension must be requested "
				         "before it does");
				return 1;
			}
		}
		return 0;
	case WF_SEND_EXPLANATION:
		for (i = 0; i < item->nclocks; i++)
			if (strcmp(item->clocks[i].name, "explain") == 0 &&
			    item->clocks[i].stopped_at == 0)
				return 0;
		snprintf(msg, size, "no interim explanation is due");
		return 1;
	case WF_SEND_REPLY:
		if (item->draft == NULL) {
			snprintf(msg, size, "there is no approved draft to send");
			return 1;
		}
		return 0;
	default:
		return 0;
	}
}

/* Checks the texts of in (valid UTF-8, lengths). 0, or -1 with err. */
static int
check_texts(const struct core_action_input *in, struct core_error *err)
{
	if (in->note != NULL && (text_check(in->note, strlen(in->note), TEXT_MULTILINE) < 0 ||
	                         text_check(in->note, strlen(in->note), TEXT_MULTILINE) > NOTE_MAX))
		return core_fail(err, CORE_INVALID, "note",
		                 "a note is text of at most %d characters", NOTE_MAX);
	if (in->text != NULL && (text_check(in->text, strlen(in->text), TEXT_MULTILINE) < 0 ||
	                         text_check(in->text, strlen(in->text), TEXT_MULTILINE) > TEXT_MAX))
		return core_fail(err, CORE_INVALID, "text",
		                 "the text is at most %d characters", TEXT_MAX);
	return 0;
}

/* Checks that in carries what the transition needs. 0, or -1 with err (CORE_INVALID). */
static int
check_needs(const struct wf_transition *t, const struct core_action_input *in,
            struct core_error *err)
{
	if ((t->input & WF_IN_SECTION) && in->section == NULL && in->section_id == 0)
		return core_fail(err, CORE_INVALID, "section", "%s needs the section (name or id)",
		                 t->name);
	if ((t->input & WF_IN_NOTE) && in->note == NULL)
		return core_fail(err, CORE_INVALID, t->action == WF_RETURN ? "comment" : "reason",
		                 "%s needs a %s", t->name,
		                 t->action == WF_RETURN ? "comment" : "reason");
	if ((t->input & WF_IN_TEXT) && in->text == NULL)
		return core_fail(err, CORE_INVALID, "text", "%s needs the text", t->name);
	if ((t->input & WF_IN_TARGET) && in->target == NULL)
		return core_fail(err, CORE_INVALID, "target",
		                 "%s needs the target tracking number", t->name);
	return 0;
}

/* Resolves the section of in: 1 found (written to *out), 0 refused (err), -1 error (err). */
static int
find_section(struct db_conn *c, const struct core_action_input *in, struct db_section *out,
             struct core_error *err)
{
	int rc;

	if (in->section != NULL)
		rc = db_section_by_name(c, in->section, out);
	else
		rc = db_section_get(c, in->section_id, out);
	if (rc < 0) {
		core_fail(err, CORE_ERROR, NULL, "the section cannot be read");
		return -1;
	}
	if (rc == 0 || !out->active) {
		if (rc > 0)
			db_section_free(out);
		core_fail(err, CORE_INVALID, "section", "no such active section");
		return 0;
	}
	return 1;
}

/* Resolves the assignee: an active handler or section head of section_id. 1 / 0 / -1. */
static int
find_assignee(struct db_conn *c, const char *username, int64_t section_id, int64_t *id,
              struct core_error *err)
{
	struct db_account a;
	int rc = db_account_by_name(c, username, &a), ok;

	if (rc < 0) {
		core_fail(err, CORE_ERROR, NULL, "the account cannot be read");
		return -1;
	}
	if (rc == 0) {
		core_fail(err, CORE_INVALID, "assignee", "no such account");
		return 0;
	}
	ok = strcmp(a.status, "active") == 0 &&
	     (a.role == ROLE_HANDLER || a.role == ROLE_SECTION_HEAD) &&
	     a.section_id == section_id;
	*id = a.id;
	db_account_free(&a);
	if (!ok) {
		core_fail(err, CORE_INVALID, "assignee",
		          "the assignee must be an active handler or section head of the section");
		return 0;
	}
	return 1;
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
		if (k->resumed_at != 0) /* counted from its resumption: the days left grow too */
			k->remaining += days - k->days;
		k->days = days;
		k->provisional = !sla_calendar_covers(
		    cal, sla_local_day(k->resumed_at ? k->resumed_at : k->started),
		    sla_local_day(k->due));
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
void
core_apply_clocks(const struct wf_transition *t, struct db_item *item, const struct policy *p,
                  const struct sla_calendar *cal, int64_t now)
{
	struct db_clock *k;
	size_t i;

	/* a clock that ran out stays late, whatever happens later (#14 point 8): an extension
	 * requested in time is the only thing that moves a running reply clock's due time after
	 * it ran out */
	for (i = 0; i < item->nclocks; i++) {
		k = &item->clocks[i];
		if (k->stopped_at != 0 || k->result[0] != '\0')
			continue;
		if (t->action == WF_APPROVE_EXTENSION && strcmp(k->name, "reply") == 0)
			continue;
		if ((k->paused_at == 0 && k->due != 0 && now > k->due) ||
		    (k->paused_at != 0 && k->remaining < 0))
			snprintf(k->result, sizeof(k->result), "late");
	}
	k = clock_find(item, CLOCK_FORWARD);
	if ((t->effects & WF_FX_STOP_FORWARD) && k != NULL)
		clock_stop(k, now);
	/* forwarded after acceptance: the forward clock runs again with its original due time,
	 * until the section that answers accepts the item (#14 point 9) */
	if ((t->effects & WF_FX_RESUME_FORWARD) && k != NULL && k->stopped_at != 0 &&
	    k->due != 0)
		k->stopped_at = 0;
	k = clock_find(item, CLOCK_REPLY);
	if ((t->effects & WF_FX_FORWARDED) && p->on_forward == ON_FORWARD_RESTART && k != NULL &&
	    k->stopped_at == 0) {
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
	k = clock_find(item, CLOCK_REPLY);
	if ((t->effects & WF_FX_EXTEND_REPLY) && k != NULL)
		extend_reply(k, cal, p->reply_extended_days);
	k = clock_find(item, CLOCK_EXPLAIN);
	if ((t->effects & WF_FX_STOP_EXPLAIN) && k != NULL)
		clock_stop(k, now);
	if (t->effects & WF_FX_STOP_ALL)
		for (i = 0; i < item->nclocks; i++)
			clock_stop(&item->clocks[i], now);
	if (t->effects & WF_FX_FREEZE)
		clocks_freeze(item, now);
	item->next_due = db_item_next_due(item);
}

/* The checks beyond the table (extension already asked, no explanation due, merge target) and
 * the changes of the item's own fields. 0, or -1 with err. */
static int
apply_fields(struct app *app, struct db_conn *c, const struct by *s, const struct wf_transition *t,
             struct db_item *item, const struct core_action_input *in, enum wf_state state,
             int64_t now, const char **note, struct core_error *err)
{
	struct db_section sec;
	struct db_item target;
	int64_t assignee = 0;
	int rc;

	(void)state;
	if (t->action != WF_ASK_CITIZEN && t->action != WF_SEND_EXPLANATION)
		item->waiting_since = 0;

	switch (t->action) {
	case WF_ASSIGN:
	case WF_FORWARD:
		rc = find_section(c, in, &sec, err);
		if (rc <= 0)
			return -1;
		if (t->action == WF_ASSIGN && s->role == ROLE_SECTION_HEAD &&
		    sec.id != s->section_id) {
			db_section_free(&sec);
			return core_fail(err, CORE_FORBIDDEN, "section",
			                 "section heads assign within their own section");
		}
		if (t->action == WF_FORWARD && sec.id == item->section_id) {
			db_section_free(&sec);
			return core_fail(err, CORE_INVALID, "section",
			                 "the item is in that section already");
		}
		if (in->assignee != NULL) {
			rc = find_assignee(c, in->assignee, sec.id, &assignee, err);
			if (rc <= 0) {
				db_section_free(&sec);
				return -1;
			}
		}
		item->section_id = sec.id;
		item->assignee_id = assignee;
		db_section_free(&sec);
		return 0;
	case WF_ACCEPT:
		if (s->role == ROLE_HANDLER)
			item->assignee_id = s->id;
		return 0;
	case WF_SEND_BACK: /* back to the dispatchers' triage: no section, no handler */
		item->section_id = 0;
		item->assignee_id = 0;
		return 0;
	case WF_ASK_CITIZEN:
		item->waiting_since = now;
		item->resume_state = state;
		return 0;
	case WF_CITIZEN_ANSWER:
		item->resume_state = WF_NONE;
		return 0;
	case WF_REQUEST_EXTENSION:
		return core_set_str(&item->extension, "requested");
	case WF_APPROVE_EXTENSION:
		return core_set_str(&item->extension, "approved");
	case WF_REFUSE_EXTENSION:
		return core_set_str(&item->extension, "refused");
	case WF_SEND_EXPLANATION:
		*note = in->text;
		return 0;
	case WF_DRAFT:
		return core_set_str(&item->draft, in->text);
	case WF_SEND_REPLY:
		if (core_set_str(&item->reply, item->draft) != 0)
			return -1;
		item->replied_at = now;
		/* prepared, not published: a section head publishes it after reading it */
		return item_make_public(item, app->cfg.public_contacts);
	case WF_REJECT:
		return core_set_str(&item->reason, in->note);
	case WF_MERGE:
		rc = db_item_get(c, in->target, &target);
		if (rc < 0)
			return core_fail(err, CORE_ERROR, NULL, "the target cannot be read");
		if (rc == 0 || target.id == item->id || target.state == WF_MERGED ||
		    target.state == WF_REJECTED) {
			if (rc > 0)
				db_item_free(&target);
			return core_fail(err, CORE_INVALID, "target",
			                 "the target must be another item that is neither merged nor "
			                 "rejected");
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

/* A refused attempt goes to the audit log too (ok = 0), outside the rolled-back transaction. */
static void
audit_refused(struct db_conn *c, int64_t now, const struct by *by, const char *addr,
              const char *action, const struct db_item *item, const struct core_error *err)
{
	struct actor who = {by->id, by->name, addr};
	char detail[64];

	snprintf(detail, sizeof(detail), "refused (%s) from %s", core_strerror(err->code),
	         wf_state_name(item->state));
	audit_write(c, now, &who, action, item->tracking, 0, detail);
}

/* The on_time / late result a clock of the target has now (its frozen one, else by its stop
 * time or, running, by now). */
static const char *
clock_result_now(const struct db_clock *k, int64_t now)
{
	if (k->result[0] != '\0')
		return k->result;
	if (k->paused_at != 0)
		return k->remaining < 0 ? "late" : "on_time";
	if (k->due == 0)
		return "on_time";
	return (k->stopped_at != 0 ? k->stopped_at : now) > k->due ? "late" : "on_time";
}

/* When the target's reply is sent, every item merged into it gets it (#14 point 7): its
 * citizen sees it on /track, its clocks take the target's results (a clock of its own that
 * ran out stays late), with a citizen-visible history row, an audit row and the notification
 * hook, in the target's transaction; only: that merged item alone (an item merged after the
 * reply was sent), 0 every one. 0 or -1. */
static int
reply_to_merged(struct app *app, struct db_conn *c, const struct by *by, const char *addr,
                const struct db_item *target, int64_t now, int64_t only)
{
	struct actor who = {by->id, by->name, addr};
	struct db_history h;
	struct core_event ev;
	struct db_item m;
	const struct db_clock *tk;
	int64_t *ids = NULL;
	char **tr = NULL, note[96];
	size_t n = 0, i, j, k;
	int ret = -1;

	if (db_item_merged(c, target->id, &ids, &tr, &n) != 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (only != 0 && ids[i] != only)
			continue;
		if (db_item_get_id(c, ids[i], &m) != 1)
			goto out;
		if (core_set_str(&m.reply, target->reply) != 0) {
			db_item_free(&m);
			goto out;
		}
		m.replied_at = now;
		m.updated = now;
		for (j = 0; j < m.nclocks; j++) {
			if (strcmp(m.clocks[j].result, "late") == 0)
				continue;
			for (k = 0, tk = NULL; k < target->nclocks; k++)
				if (strcmp(target->clocks[k].name, m.clocks[j].name) == 0)
					tk = &target->clocks[k];
			if (tk == NULL)
				tk = &m.clocks[j];
			snprintf(m.clocks[j].result, sizeof(m.clocks[j].result), "%s",
			         clock_result_now(tk, now));
		}
		snprintf(note, sizeof(note), "the reply of %s, into which this item was merged",
		         target->tracking);
		memset(&h, 0, sizeof(h));
		h.at = now;
		h.actor_id = by->id;
		h.actor = (char *)by->name;
		h.action = (char *)"send_reply";
		h.from_state = (char *)wf_state_name(m.state);
		h.to_state = (char *)wf_state_name(m.state);
		h.note = note;
		h.citizen = 1;
		memset(&ev, 0, sizeof(ev));
		ev.kind = CORE_EV_ACTION;
		ev.item = &m;
		ev.action = WF_SEND_REPLY;
		ev.from_state = wf_state_name(m.state);
		ev.note = note;
		ev.at = now;
		if (db_item_update(c, &m) != 1 || db_history_add(c, m.id, &h) != 0 ||
		    audit_write(c, now, &who, "send_reply", m.tracking, 1, note) != 0 ||
		    core_notify_event(app, c, &ev) != 0) {
			db_item_free(&m);
			goto out;
		}
		db_item_free(&m);
	}
	ret = 0;
out:
	free(ids);
	db_strings_free(tr, n);
	return ret;
}

/* Writes the merge's rows, then, when the target's reply was sent already, gives the merged
 * item that reply as the items merged before it got it (reply_to_merged: DESIGN.md, a merged
 * item's citizen gets the target's reply; a target reopened since reaches it with its next
 * reply), and commits. 0, or -1 (err set, rolled back). */
static int
merge_commit(struct app *app, struct core_txn *t, const struct by *by, const char *addr,
             const struct actor *who, const struct db_history *h, const char *detail,
             const struct core_event *ev, int64_t now, struct core_error *err)
{
	struct db_item target;
	int rc;

	if (txn_write_rows(t, who, h->action, h->at, h, 1, detail, ev, err) != 0)
		goto fail;
	if (db_item_get_id(t->c, t->item.merged_into, &target) != 1)
		goto fail_store;
	rc = 0;
	if ((target.state == WF_REPLIED || target.state == WF_CLOSED) && target.reply != NULL)
		rc = reply_to_merged(app, t->c, by, addr, &target, now, t->item.id);
	db_item_free(&target);
	if (rc != 0 || db_commit(t->c) != 0)
		goto fail_store;
	t->began = 0;
	return 0;
fail_store:
	core_fail(err, CORE_ERROR, NULL, "the change could not be stored");
fail:
	db_rollback(t->c);
	t->began = 0;
	return -1;
}

/* The target's history lists the item merged into it, by tracking number (staff only). */
static int
note_merge_on_target(struct db_conn *c, const struct by *by, const struct db_item *item,
                     int64_t target_id, int64_t now)
{
	struct db_item target;
	struct db_history h;
	char note[96];
	int rc;

	if (db_item_get_id(c, target_id, &target) != 1)
		return -1;
	snprintf(note, sizeof(note), "%s merged into this item", item->tracking);
	memset(&h, 0, sizeof(h));
	h.at = now;
	h.actor_id = by->id;
	h.actor = (char *)by->name;
	h.action = (char *)"merged_in";
	h.from_state = (char *)wf_state_name(target.state);
	h.to_state = (char *)wf_state_name(target.state);
	h.note = note;
	rc = db_history_add(c, target.id, &h);
	db_item_free(&target);
	return rc;
}

/* Stores the files sent with an action (the citizen's supplement) on item, after the checks of
 * attach_check with the item's stored files counted. 0, or -1 with err. */
static int
add_attachments(struct app *app, struct db_conn *c, const struct db_item *item,
                const struct core_action_input *in, struct core_error *err)
{
	struct db_attachment *have = NULL;
	int64_t stored = 0;
	size_t n = 0, i;

	if (in->natt == 0)
		return 0;
	if (db_attachment_list(c, item->id, &have, &n) != 0)
		return core_fail(err, CORE_ERROR, NULL, "the attachments cannot be read");
	for (i = 0; i < n; i++)
		stored += have[i].size;
	db_attachments_free(have, n);
	if (attach_check(app, in->att, in->natt, stored, err) != 0)
		return -1;
	for (i = 0; i < in->natt; i++)
		if (db_attachment_add(c, item->id, &in->att[i]) != 0)
			return core_fail(err, CORE_ERROR, NULL, "an attachment could not be stored");
	return 0;
}

/* Takes action a for by: staff (role >= 0) or the citizen (role -1, code: the query code). */
static int
act(struct app *app, struct db_conn *c, const struct by *by, const char *code, const char *addr,
    const char *tracking, enum wf_action a, const struct core_action_input *in, int64_t now,
    struct core_error *err)
{
	const struct wf_transition *t = wf_transition(a);
	struct actor who = {by->id, by->name, addr};
	struct sla_calendar *cal = NULL;
	struct core_event ev;
	struct core_txn txn;
	struct policy policy;
	struct db_history h;
	const char *note;
	struct db_clock *k;
	int64_t reply_due;
	const char *from;
	char detail[80], msg[160], screened[SCREEN_MATCHED_MAX];
	struct core_action_input kept;
	struct scan_report report;
	struct intake scanned;
	int state, next, ret = -1, rc;

	err->code = CORE_OK;
	err->state = -1;
	err->allowed = 0;
	screened[0] = '\0';
	if (check_texts(in, err) != 0)
		return -1;
	/* what the citizen adds online is screened like a submission (screen.c): a match flags
	 * the item for the dispatcher again, the text is stored as written */
	if (by->role < 0 && in->text != NULL) {
		const char *texts[1] = { in->text };

		screen_match(app->cfg.screen_list, texts, 1, screened, sizeof(screened));
	}
	/* and its files are scanned as a submission's, before the transaction (clamd may take
	 * its time): infected ones are left out and recorded, unscanned ones held (scan.c) */
	memset(&report, 0, sizeof(report));
	kept = *in;
	if (by->role < 0 && in->natt > 0 && in->natt <= INTAKE_MAX_ATTACHMENTS) {
		memset(&scanned, 0, sizeof(scanned));
		scanned.natt = in->natt;
		memcpy(scanned.att, in->att, in->natt * sizeof(in->att[0]));
		scan_intake(app, &scanned, &report);
		kept.att = scanned.att;
		kept.natt = scanned.natt;
	}
	if (txn_begin(&txn, app, c, tracking, err) != 0)
		goto out;
	if (by->role < 0 && !query_code_verify(code, txn.item.query_hash)) {
		core_fail(err, CORE_NOT_FOUND, NULL,
		          "no item matches this tracking number and query code");
		goto out;
	}
	state = (int)txn.item.state;
	if (by->role < 0) {
		if (!(t->from & WF_BIT(state))) {
			snprintf(msg, sizeof(msg), "%s is not possible from state %s", t->name,
			         wf_state_name(txn.item.state));
			conflict(err, &txn.item, (enum wf_state)state, by, now, msg);
			goto refused;
		}
	} else {
		switch (wf_check(a, (enum wf_state)state, (enum role)by->role, txn.item.section_id,
		                 by->section_id)) {
		case WF_ERR_ROLE:
			core_fail(err, CORE_FORBIDDEN, NULL, "a %s may not %s",
			          role_name((enum role)by->role), t->name);
			goto refused;
		case WF_ERR_SECTION:
			core_fail(err, CORE_FORBIDDEN, NULL, "item %s belongs to another section",
			          txn.item.tracking);
			goto refused;
		case WF_ERR_STATE:
			snprintf(msg, sizeof(msg), "%s is not possible from state %s", t->name,
			         wf_state_name(txn.item.state));
			conflict(err, &txn.item, (enum wf_state)state, by, now, msg);
			goto refused;
		case WF_OK:
			break;
		}
		rc = precheck(t, &txn.item, (enum wf_state)state, by, now, msg, sizeof(msg));
		if (rc == 2) {
			core_fail(err, CORE_FORBIDDEN, NULL, "%s", msg);
			goto refused;
		}
		if (rc == 1) {
			conflict(err, &txn.item, (enum wf_state)state, by, now, msg);
			goto refused;
		}
	}
	if (check_needs(t, in, err) != 0)
		goto out;
	next = wf_next_state(a, (enum wf_state)state,
	                     txn.item.resume_state);
	if (next < 0)
		next = WF_IN_PROGRESS; /* waiting without a remembered state: back to work */
	note = in->note;
	if (by->role < 0 && in->text != NULL)
		note = in->text;
	if (apply_fields(app, c, by, t, &txn.item, in, (enum wf_state)state, now, &note, err) !=
	    0) {
		if (err->code == CORE_OK)
			core_fail(err, CORE_ERROR, NULL, "out of memory");
		if (err->code == CORE_CONFLICT || err->code == CORE_FORBIDDEN)
			goto refused;
		goto out;
	}
	app_policy(app, txn.item.kind, &policy);
	cal = app_calendar(app);
	k = clock_find(&txn.item, CLOCK_REPLY);
	reply_due = k != NULL ? k->due : 0;
	core_apply_clocks(t, &txn.item, &policy, cal, now);
	from = wf_state_name(txn.item.state);
	txn.item.state = (enum wf_state)next;
	txn.item.updated = now;
	memset(&h, 0, sizeof(h));
	h.at = now;
	h.actor_id = by->id;
	h.actor = (char *)by->name;
	h.action = (char *)t->name;
	h.from_state = (char *)from;
	h.to_state = (char *)wf_state_name(txn.item.state);
	h.note = (char *)note;
	h.citizen = t->citizen;
	/* what moves the citizen's due date is shown with the new due date (#14 point 11): the
	 * reply's after a forward, an approved extension or anything that moved it, the
	 * explanation's after an extension request */
	k = clock_find(&txn.item, a == WF_REQUEST_EXTENSION ? CLOCK_EXPLAIN : CLOCK_REPLY);
	if (k != NULL && k->stopped_at == 0 && k->due != 0 &&
	    (a == WF_FORWARD || a == WF_REQUEST_EXTENSION || a == WF_APPROVE_EXTENSION ||
	     k->due != reply_due)) {
		h.clock = k->name;
		h.due = k->due;
	}
	memset(&ev, 0, sizeof(ev));
	ev.kind = CORE_EV_ACTION;
	ev.item = &txn.item;
	ev.action = (int)a;
	ev.from_state = from;
	ev.note = note;
	ev.at = now;
	snprintf(detail, sizeof(detail), "%s -> %s", from, wf_state_name(txn.item.state));
	if (add_attachments(app, c, &txn.item, &kept, err) != 0)
		goto out;
	if (scan_record(c, &txn.item, &report, now) != 0 ||
	    screen_record(c, &txn.item, screened, now) != 0) {
		core_fail(err, CORE_ERROR, NULL, "the virus scan or screening could not be recorded");
		goto out;
	}
	if ((a == WF_SEND_REPLY && reply_to_merged(app, c, by, addr, &txn.item, now, 0) != 0) ||
	    (a == WF_MERGE &&
	     note_merge_on_target(c, by, &txn.item, txn.item.merged_into, now) != 0)) {
		core_fail(err, CORE_ERROR, NULL, "the merged items cannot be updated");
		goto out;
	}
	if (a == WF_MERGE) {
		if (merge_commit(app, &txn, by, addr, &who, &h, detail, &ev, now, err) != 0)
			goto out;
	} else if (txn_commit(&txn, &who, &h, detail, &ev, err) != 0)
		goto out;
	ret = 0;
	goto out;
refused:
	db_rollback(c);
	txn.began = 0;
	audit_refused(c, now, by, addr, t->name, &txn.item, err);
out:
	txn_end(&txn);
	sla_calendar_unref(cal);
	return ret;
}

int
core_act(struct app *app, struct db_conn *c, const struct session *s, const char *addr,
         const char *tracking, enum wf_action a, const struct core_action_input *in,
         int64_t now, struct core_error *err)
{
	struct by by = {s->account_id, s->username, (int)s->role, s->section_id};

	return act(app, c, &by, NULL, addr, tracking, a, in, now, err);
}

int
core_citizen_act(struct app *app, struct db_conn *c, const char *tracking, const char *code,
                 const char *addr, enum wf_action a, const struct core_action_input *in,
                 int64_t now, struct core_error *err)
{
	struct by by = {0, "citizen", -1, 0};
	struct core_action_input cin;

	if (a != WF_CITIZEN_ANSWER)
		return core_fail(err, CORE_FORBIDDEN, NULL, "the citizen may not %s",
		                 wf_transition(a) ? wf_transition(a)->name : "do that");
	if (in->text == NULL || !text_nonblank(in->text))
		return core_fail(err, CORE_INVALID, "text", "the supplement needs the text");
	cin = *in;
	cin.note = in->text; /* the supplement is the history row's note */
	return act(app, c, &by, code, addr, tracking, a, &cin, now, err);
}

int
core_citizen_withdraw(struct app *app, struct db_conn *c, const char *tracking, const char *code,
                      const char *addr, int item_too, int64_t now, struct core_error *err)
{
	struct actor who = {0, "citizen", addr};
	struct core_event ev;
	struct core_txn txn;
	struct db_history h;
	const char *from = "";
	size_t i;
	int state, ret = -1;

	err->code = CORE_OK;
	err->state = -1;
	err->allowed = 0;
	if (txn_begin(&txn, app, c, tracking, err) != 0)
		goto out;
	if (!query_code_verify(code, txn.item.query_hash)) {
		core_fail(err, CORE_NOT_FOUND, NULL,
		          "no item matches this tracking number and query code");
		goto out;
	}
	state = (int)txn.item.state;
	from = wf_state_name(txn.item.state);
	/* consent withdrawn takes it off the board and out of Open311 at once */
	txn.item.publish = 0;
	txn.item.published = 0;
	if (item_too) {
		if (state < 0 || state == WF_REPLIED || state == WF_CLOSED || state == WF_REJECTED ||
		    state == WF_MERGED) {
			core_fail(err, CORE_CONFLICT, NULL, "%s is %s: there is nothing to withdraw",
			          txn.item.tracking, from);
			err->code_name = "not_open";
			goto out;
		}
		for (i = 0; i < txn.item.nclocks; i++) {
			struct db_clock *k = &txn.item.clocks[i];

			if (k->stopped_at == 0 && k->result[0] == '\0' &&
			    ((k->paused_at == 0 && k->due != 0 && now > k->due) ||
			     (k->paused_at != 0 && k->remaining < 0)))
				snprintf(k->result, sizeof(k->result), "late");
			clock_stop(k, now);
		}
		clocks_freeze(&txn.item, now);
		txn.item.next_due = db_item_next_due(&txn.item);
		txn.item.waiting_since = 0;
		if (core_set_str(&txn.item.reason, "withdrawn by the citizen") != 0) {
			core_fail(err, CORE_ERROR, NULL, "out of memory");
			goto out;
		}
		txn.item.state = WF_CLOSED;
	}
	txn.item.updated = now;
	memset(&h, 0, sizeof(h));
	h.at = now;
	h.actor = (char *)"citizen";
	h.action = (char *)(item_too ? "withdraw" : "withdraw_consent");
	h.from_state = (char *)from;
	h.to_state = (char *)wf_state_name(txn.item.state);
	h.note = (char *)(item_too ? "withdrawn by the citizen" : "consent to publication withdrawn");
	h.citizen = 1;
	memset(&ev, 0, sizeof(ev));
	ev.kind = CORE_EV_ACTION;
	ev.item = &txn.item;
	ev.action = -1;
	ev.from_state = from;
	ev.note = h.note;
	ev.at = now;
	if (txn_commit(&txn, &who, &h, h.note, &ev, err) != 0)
		goto out;
	ret = 0;
out:
	txn_end(&txn);
	return ret;
}
