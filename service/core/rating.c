/*
 * rating.c: satisfaction ratings (好差评) and their follow-up (回访). The citizen rates a sent
 * reply once (per reply); an unsatisfied rating opens a follow-up that the section head closes
 * by confirming it with a note or by reopening the item (重办) with a new reply clock. Each
 * step is one transaction (txn.c) with its history, audit and notification rows; a rating is
 * never edited or deleted (the schema refuses it).
 */
#include <stdio.h>
#include <string.h>

#include "core_int.h"

#define NOTE_MAX 2000 /* code points of a follow-up note */

static const char *const values[] = {"satisfied", "basically_satisfied", "unsatisfied"};

/* 1 if s is one of the rating values. */
static int
value_valid(const char *s)
{
	size_t i;

	for (i = 0; s != NULL && i < sizeof(values) / sizeof(values[0]); i++)
		if (strcmp(s, values[i]) == 0)
			return 1;
	return 0;
}

/* CORE_CONFLICT with a machine-readable code. Returns -1. */
static int
conflict(struct core_error *err, const char *code_name, enum wf_state state, const char *msg)
{
	core_fail(err, CORE_CONFLICT, NULL, "%s", msg);
	err->code_name = code_name;
	err->state = (int)state;
	return -1;
}

/* A history row of an item at now. */
static struct db_history
history_row(int64_t now, int64_t actor_id, const char *actor, const char *action,
            const char *from, const char *to, const char *note, int citizen)
{
	struct db_history h;

	memset(&h, 0, sizeof(h));
	h.at = now;
	h.actor_id = actor_id;
	h.actor = (char *)actor;
	h.action = (char *)action;
	h.from_state = (char *)from;
	h.to_state = (char *)to;
	h.note = (char *)note;
	h.citizen = citizen;
	return h;
}

static struct core_event
event(enum core_event_kind kind, const struct db_item *item, const char *from, const char *note,
      int64_t now)
{
	struct core_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = kind;
	ev.item = item;
	ev.action = -1;
	ev.from_state = from;
	ev.note = note;
	ev.at = now;
	return ev;
}

int
core_rate(struct app *app, struct db_conn *c, const char *tracking, const char *code,
          const char *value, const char *comment, const char *addr, int64_t now,
          struct core_error *err)
{
	struct actor who = {0, "citizen", addr};
	struct db_rating r;
	struct db_history h;
	struct core_event ev;
	struct core_txn txn;
	int rounds = 0, rc, ret = -1;
	long len;

	err->code = CORE_OK;
	if (!value_valid(value))
		return core_fail(err, CORE_INVALID, "value",
		                 "value must be satisfied, basically_satisfied or unsatisfied");
	if (comment != NULL && comment[0] == '\0')
		comment = NULL;
	if (comment != NULL) {
		len = text_check(comment, strlen(comment), TEXT_MULTILINE);
		if (len < 0 || len > RATING_COMMENT_MAX)
			return core_fail(err, CORE_INVALID, "comment",
			                 "the comment is text of at most %d characters",
			                 RATING_COMMENT_MAX);
	}
	if (txn_begin(&txn, app, c, tracking, err) != 0)
		goto out;
	if (code == NULL || !query_code_verify(code, txn.item.query_hash)) {
		core_fail(err, CORE_NOT_FOUND, NULL, "no item %s", tracking);
		goto out;
	}
	if ((txn.item.state != WF_REPLIED && txn.item.state != WF_CLOSED) ||
	    txn.item.replied_at == 0) {
		conflict(err, "not_replied", txn.item.state, "only a sent reply can be rated");
		goto out;
	}
	if (now > txn.item.replied_at + (int64_t)app->cfg.rating_days * 86400) {
		char msg[96];

		snprintf(msg, sizeof(msg), "a reply can be rated within %ld days of its sending",
		         app->cfg.rating_days);
		conflict(err, "too_late", txn.item.state, msg);
		goto out;
	}
	if (db_rating_rounds(c, txn.item.id, &rounds) != 0) {
		core_fail(err, CORE_ERROR, NULL, "the ratings cannot be read");
		goto out;
	}
	memset(&r, 0, sizeof(r));
	r.item_id = txn.item.id;
	r.round = rounds;
	r.section_id = txn.item.section_id;
	r.at = now;
	r.day = sla_local_day(now);
	r.value = (char *)value;
	r.comment = (char *)comment;
	r.followup = strcmp(value, "unsatisfied") == 0 ? (char *)"open" : NULL;
	rc = db_rating_add(c, &r);
	if (rc < 0) {
		core_fail(err, CORE_ERROR, NULL, "the rating cannot be stored");
		goto out;
	}
	if (rc == 1) {
		conflict(err, "rated", txn.item.state, "this reply has been rated already");
		goto out;
	}
	txn.item.updated = now;
	h = history_row(now, 0, "citizen", "rate", wf_state_name(txn.item.state),
	                wf_state_name(txn.item.state), value, 1);
	ev = event(CORE_EV_RATED, &txn.item, wf_state_name(txn.item.state), value, now);
	if (txn_commit(&txn, &who, &h, value, &ev, err) != 0)
		goto out;
	ret = 0;
out:
	txn_end(&txn);
	return ret;
}

int
core_followup(struct app *app, struct db_conn *c, const struct session *s, const char *addr,
              const char *tracking, int reopen, const char *note, int64_t now,
              struct core_error *err)
{
	struct actor who = {s->account_id, s->username, addr};
	struct sla_calendar *cal = NULL;
	struct db_rating r;
	struct db_history h;
	struct core_event ev;
	struct core_txn txn;
	struct policy policy;
	char from[32];
	int have_rating = 0, ret = -1;
	long len;

	err->code = CORE_OK;
	memset(&r, 0, sizeof(r));
	if (s->role != ROLE_SECTION_HEAD)
		return core_fail(err, CORE_FORBIDDEN, NULL,
		                 "only the section head follows up an unsatisfied rating");
	len = note != NULL ? text_check(note, strlen(note), TEXT_MULTILINE) : -1;
	if (len < 0 || len > NOTE_MAX || !text_nonblank(note))
		return core_fail(err, CORE_INVALID, "note",
		                 "a follow-up needs a note of at most %d characters", NOTE_MAX);
	if (txn_begin(&txn, app, c, tracking, err) != 0)
		goto out;
	if (txn.item.section_id == 0 || txn.item.section_id != s->section_id) {
		core_fail(err, CORE_FORBIDDEN, NULL, "item %s belongs to another section", tracking);
		goto out;
	}
	if (db_rating_last(c, txn.item.id, &r) < 0) {
		core_fail(err, CORE_ERROR, NULL, "the ratings cannot be read");
		goto out;
	}
	have_rating = r.value != NULL;
	if (!have_rating || r.followup == NULL || strcmp(r.followup, "open") != 0) {
		conflict(err, "no_followup", txn.item.state,
		         "the item has no unsatisfied rating waiting for a follow-up");
		goto out;
	}
	if (db_rating_followup(c, r.id, reopen ? "reopened" : "confirmed", now, s->account_id,
	                       note) != 1) {
		core_fail(err, CORE_ERROR, NULL, "the follow-up cannot be stored");
		goto out;
	}
	snprintf(from, sizeof(from), "%s", wf_state_name(txn.item.state));
	txn.item.updated = now;
	if (!reopen) {
		h = history_row(now, s->account_id, s->username, "confirm_rating", from, from, note, 0);
		if (txn_commit(&txn, &who, &h, "unsatisfied rating confirmed", NULL, err) != 0)
			goto out;
		ret = 0;
		goto out;
	}
	/* 重办: back to work on the same tracking number, with a new reply clock from now */
	app_policy(app, txn.item.kind, &policy);
	cal = app_calendar(app);
	if (clock_open(&txn.item, CLOCK_REPLY, &policy.reply, cal, now) == NULL ||
	    core_set_str(&txn.item.extension, "none") != 0 ||
	    core_set_str(&txn.item.draft, NULL) != 0) {
		core_fail(err, CORE_ERROR, NULL, "out of memory");
		goto out;
	}
	txn.item.state = WF_IN_PROGRESS;
	txn.item.resume_state = WF_NONE;
	txn.item.next_due = db_item_next_due(&txn.item);
	h = history_row(now, s->account_id, s->username, "reopen", from,
	                wf_state_name(txn.item.state), note, 1);
	ev = event(CORE_EV_REOPENED, &txn.item, from, note, now);
	if (txn_commit(&txn, &who, &h, "reopened after an unsatisfied rating", &ev, err) != 0)
		goto out;
	ret = 0;
out:
	if (have_rating)
		db_rating_free(&r);
	txn_end(&txn);
	sla_calendar_unref(cal);
	return ret;
}
