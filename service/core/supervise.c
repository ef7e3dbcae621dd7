/*
 * supervise.c: supervision orders (督办). A supervisor marks an open item as supervised with a
 * note and an own due date, in one transaction (txn.c) with its history, audit row, statistics
 * and the notification hook (CORE_EV_SUPERVISED), which tells the section head.
 */
#include <stdio.h>
#include <string.h>

#include "core_int.h"

#define NOTE_MAX 2000 /* code points of the order's note */

int
core_supervise(struct app *app, struct db_conn *c, const struct session *s, const char *addr,
               const char *tracking, const char *note, const char *due, int64_t now,
               struct core_error *err)
{
	struct actor who = {s->account_id, s->username, addr};
	struct db_supervision sup;
	struct db_history h;
	struct core_event ev;
	struct core_txn txn;
	sla_day day;
	char detail[64];
	int rc, ret = -1;
	long len;

	err->code = CORE_OK;
	if (s->role != ROLE_SUPERVISOR)
		return core_fail(err, CORE_FORBIDDEN, NULL, "only a supervisor gives supervision orders");
	len = note != NULL ? text_check(note, strlen(note), TEXT_MULTILINE) : -1;
	if (len < 0 || len > NOTE_MAX || !text_nonblank(note))
		return core_fail(err, CORE_INVALID, "note",
		                 "a supervision order needs a note of at most %d characters", NOTE_MAX);
	if (due == NULL || sla_date_parse(due, &day) != 0)
		return core_fail(err, CORE_INVALID, "due", "due must be a date, YYYY-MM-DD");
	if (day < sla_local_day(now))
		return core_fail(err, CORE_INVALID, "due", "due lies in the past");
	if (txn_begin(&txn, app, c, tracking, err) != 0)
		goto out;
	if (txn.item.state == WF_REPLIED || txn.item.state == WF_CLOSED ||
	    txn.item.state == WF_REJECTED || txn.item.state == WF_MERGED) {
		core_fail(err, CORE_CONFLICT, NULL, "item %s is no longer open", tracking);
		err->code_name = "closed";
		err->state = (int)txn.item.state;
		goto out;
	}
	memset(&sup, 0, sizeof(sup));
	sup.item_id = txn.item.id;
	sup.at = now;
	sup.by_id = s->account_id;
	sup.by_name = s->username;
	sup.note = (char *)note;
	sup.due = sla_day_end(day, 1440);
	sup.section_id = txn.item.section_id;
	rc = db_supervision_add(c, &sup);
	if (rc < 0) {
		core_fail(err, CORE_ERROR, NULL, "the order cannot be stored");
		goto out;
	}
	if (rc == 1) {
		core_fail(err, CORE_CONFLICT, NULL, "item %s is supervised already", tracking);
		err->code_name = "supervised";
		err->state = (int)txn.item.state;
		goto out;
	}
	txn.item.updated = now;
	txn_history_same_state(&h, &txn, s, "supervise", note, now);
	memset(&ev, 0, sizeof(ev));
	ev.kind = CORE_EV_SUPERVISED;
	ev.item = &txn.item;
	ev.action = -1;
	ev.from_state = wf_state_name(txn.item.state);
	ev.note = note;
	ev.at = now;
	snprintf(detail, sizeof(detail), "due %s", due);
	if (txn_commit(&txn, &who, &h, detail, &ev, err) != 0)
		goto out;
	ret = 0;
out:
	txn_end(&txn);
	return ret;
}
