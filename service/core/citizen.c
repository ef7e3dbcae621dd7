/*
 * citizen.c: a citizen's e-mail added to an item of theirs — their answer when the item waits
 * for them (the citizen_answer transition of the table, with its clock effects), else a note,
 * which on an item that has ended the notification hook turns into notices to its staff and the
 * citizen, and marks in the queue until someone of its section acknowledges it
 * (core_citizen_mail_seen) — in the one transaction skeleton of txn.c.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core_int.h"

int
core_citizen_mail(struct app *app, const struct core_citizen_mail *in, int64_t now,
                  int *answered, struct core_error *err)
{
	const struct wf_transition *t = wf_transition(WF_CITIZEN_ANSWER);
	struct actor who = {0, "citizen", NULL};
	struct sla_calendar *cal = NULL;
	struct core_event ev;
	struct core_txn txn;
	struct policy policy;
	struct db_history h;
	const char *from;
	char detail[96];
	struct intake scanned;
	struct scan_report report;
	const char *texts[1];
	char screened[SCREEN_MATCHED_MAX];
	struct db_mail_in row;
	struct db_conn *c = NULL;
	int state, next, answer, ended, ret = -1, rc;
	size_t i;

	err->code = CORE_OK;
	memset(&txn, 0, sizeof(txn));
	/* the virus scan before the transaction (clamd may take its time): infected files are
	 * left out and recorded with the item, unscanned ones held (scan.c) */
	memset(&scanned, 0, sizeof(scanned));
	scanned.natt = in->natt < INTAKE_MAX_ATTACHMENTS ? in->natt : INTAKE_MAX_ATTACHMENTS;
	memcpy(scanned.att, in->att, scanned.natt * sizeof(scanned.att[0]));
	scan_intake(app, &scanned, &report);
	/* prohibited words in what the citizen wrote flag the item for review again */
	texts[0] = in->text;
	screen_match(app->cfg.screen_list, texts, 1, screened, sizeof(screened));
	c = db_acquire(app->db);
	if (c == NULL) {
		core_fail(err, CORE_BUSY, NULL, "the database is unavailable; try again");
		goto out;
	}
	if (txn_begin(&txn, app, c, in->tracking, err) != 0)
		goto out;
	if (txn.item.email == NULL || in->from == NULL ||
	    strcasecmp(txn.item.email, in->from) != 0) {
		core_fail(err, CORE_NOT_FOUND, NULL, "item %s is not the sender's", in->tracking);
		goto out;
	}
	state = (int)txn.item.state;
	from = wf_state_name(txn.item.state);
	answer = state == WF_WAITING_CITIZEN;
	ended = state == WF_REPLIED || state == WF_CLOSED || state == WF_REJECTED ||
	        state == WF_MERGED;
	memset(&ev, 0, sizeof(ev));
	if (ended) { /* a note that reopens nothing, which the item's staff are told of */
		ev.kind = CORE_EV_CITIZEN_MAIL;
		ev.item = &txn.item;
		ev.action = -1;
		ev.from_state = from;
		ev.note = in->text;
		ev.at = now;
	}
	if (answer) {
		next = wf_next_state(WF_CITIZEN_ANSWER, (enum wf_state)state,
		                     txn.item.resume_state);
		if (next < 0)
			next = WF_IN_PROGRESS;
		app_policy(app, txn.item.kind, &policy);
		cal = app_calendar(app);
		core_apply_clocks(t, &txn.item, &policy, cal, now);
		txn.item.resume_state = WF_NONE;
		txn.item.state = (enum wf_state)next;
		ev.kind = CORE_EV_ACTION;
		ev.item = &txn.item;
		ev.action = (int)WF_CITIZEN_ANSWER;
		ev.from_state = from;
		ev.note = in->text;
		ev.at = now;
	}
	txn.item.updated = now;
	memset(&h, 0, sizeof(h));
	h.at = now;
	h.actor = (char *)"citizen";
	h.action = (char *)(answer ? t->name : "citizen_mail");
	h.from_state = (char *)from;
	h.to_state = (char *)wf_state_name(txn.item.state);
	h.note = (char *)in->text;
	h.citizen = 1;
	if (answer) { /* the answer restarts or resumes the clocks: the new due date (point 11) */
		const struct db_clock *k = clock_find(&txn.item, CLOCK_REPLY);

		if (k != NULL && k->stopped_at == 0 && k->paused_at == 0 && k->due != 0) {
			h.clock = (char *)k->name;
			h.due = k->due;
		}
	}
	for (i = 0; i < scanned.natt; i++)
		if (db_attachment_add(c, txn.item.id, &scanned.att[i]) != 0) {
			core_fail(err, CORE_ERROR, NULL, "an attachment could not be stored");
			goto out;
		}
	if (scan_record(c, &txn.item, &report, now) != 0 ||
	    screen_record(c, &txn.item, screened, now) != 0) {
		core_fail(err, CORE_ERROR, NULL, "the virus scan or screening could not be recorded");
		goto out;
	}
	if (in->mail != NULL) {
		row = *in->mail;
		row.item_id = txn.item.id;
		rc = db_mail_in_add(c, &row, NULL);
		if (rc != 0) {
			core_fail(err, rc == 1 ? CORE_CONFLICT : CORE_ERROR, NULL,
			          rc == 1 ? "the message was stored meanwhile"
			                  : "the message could not be stored");
			goto out;
		}
	}
	/* the queue's mark (schema 032), which the section clears when it has read the e-mail */
	if (ended && db_item_mail_mark(c, txn.item.id, now) != 0) {
		core_fail(err, CORE_ERROR, NULL, "the item cannot be marked");
		goto out;
	}
	snprintf(detail, sizeof(detail), "by e-mail: %s -> %s%s", from, wf_state_name(txn.item.state),
	         ended ? " (ended: staff told)" : "");
	if (txn_commit(&txn, &who, &h, detail, answer || ended ? &ev : NULL, err) != 0)
		goto out;
	*answered = answer;
	ret = 0;
out:
	if (txn.c != NULL) {
		txn_end(&txn);
		db_release(app->db, c);
	}
	sla_calendar_unref(cal);
	return ret;
}

int
core_citizen_mail_seen(struct app *app, struct db_conn *c, const struct session *s,
                       const char *addr, const char *tracking, const char *note, int64_t now,
                       struct core_error *err)
{
	struct actor who = {s->account_id, s->username, addr};
	struct db_history h;
	struct core_txn txn;
	char detail[600];
	int rc, ret = -1;

	if (note != NULL &&
	    (text_check(note, strlen(note), TEXT_MULTILINE) < 0 || strlen(note) > 500))
		return core_fail(err, CORE_INVALID, "note",
		                 "note must be text of at most 500 bytes");
	if (note != NULL && !text_nonblank(note))
		note = NULL;
	if (txn_begin(&txn, app, c, tracking, err) != 0)
		goto out;
	/* someone of the item's section; an item without one (rejected or merged before it was
	 * given one) is the dispatchers' */
	if (txn.item.section_id != 0 ? s->section_id != txn.item.section_id
	                             : s->role != ROLE_DISPATCHER && s->role != ROLE_ADMIN) {
		core_fail(err, CORE_FORBIDDEN, NULL,
		          "only the staff of item %s's section acknowledge it", tracking);
		goto out;
	}
	rc = db_item_mail_unmark(c, txn.item.id);
	if (rc <= 0) {
		if (rc < 0)
			core_fail(err, db_unavailable(c) ? CORE_BUSY : CORE_ERROR, NULL,
			          "the mark cannot be cleared; try again");
		else {
			core_fail(err, CORE_CONFLICT, NULL,
			          "item %s has no citizen's e-mail to acknowledge", tracking);
			err->code_name = "not_marked";
			err->state = -1;
			err->allowed = 0;
		}
		goto out;
	}
	snprintf(detail, sizeof(detail), "citizen's e-mail acknowledged%s%s",
	         note != NULL ? ": " : "", note != NULL ? note : "");
	txn_history_same_state(&h, &txn, s, "citizen_mail_seen", detail, now);
	if (txn_commit(&txn, &who, &h, detail, NULL, err) != 0)
		goto out;
	ret = 0;
out:
	txn_end(&txn);
	return ret;
}
