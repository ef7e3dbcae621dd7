/*
 * txn.c: the one transaction skeleton of a change to a stored item: BEGIN IMMEDIATE, load, then
 * the item row, its statistics' facts, its history row, its audit row and the notification
 * hook's outbox rows, and COMMIT — or nothing of it. A batch (txn_load, txn_write_rows) writes
 * the same rows for several items inside one transaction the caller holds.
 */
#include <string.h>

#include "core_int.h"

/* Loads the item into t (the transaction is open). */
static int
load(struct core_txn *t, const char *tracking, struct core_error *err)
{
	int rc = db_item_get(t->c, tracking, &t->item);

	if (rc < 0)
		return core_fail(err, CORE_ERROR, NULL, "the item cannot be read");
	if (rc == 0)
		return core_fail(err, CORE_NOT_FOUND, NULL, "no item %s", tracking);
	t->have_item = 1;
	return 0;
}

int
txn_begin(struct core_txn *t, struct app *app, struct db_conn *c, const char *tracking,
          struct core_error *err)
{
	memset(t, 0, sizeof(*t));
	t->app = app;
	t->c = c;
	if (db_begin(c) != 0)
		return core_fail(err, CORE_BUSY, NULL, "the database is busy; try again");
	t->began = 1;
	return load(t, tracking, err);
}

int
txn_load(struct core_txn *t, struct app *app, struct db_conn *c, const char *tracking,
         struct core_error *err)
{
	memset(t, 0, sizeof(*t));
	t->app = app;
	t->c = c;
	return load(t, tracking, err);
}

int
txn_write_rows(struct core_txn *t, const struct actor *who, const char *action, int64_t at,
               const struct db_history *h, size_t nh, const char *detail,
               const struct core_event *ev, struct core_error *err)
{
	size_t i;

	if (db_item_update(t->c, &t->item) != 1 ||
	    stats_record(t->app, t->c, &t->item, action, at) != 0)
		goto fail;
	for (i = 0; i < nh; i++)
		if (db_history_add(t->c, t->item.id, &h[i]) != 0)
			goto fail;
	if (audit_write(t->c, at, who, action, t->item.tracking, 1, detail) != 0 ||
	    (ev != NULL && core_notify_event(t->app, t->c, ev) != 0))
		goto fail;
	return 0;
fail:
	return core_fail(err, CORE_ERROR, NULL, "the change could not be stored");
}

int
txn_commit_rows(struct core_txn *t, const struct actor *who, const char *action, int64_t at,
                const struct db_history *h, size_t nh, const char *detail,
                const struct core_event *ev, struct core_error *err)
{
	if (txn_write_rows(t, who, action, at, h, nh, detail, ev, err) != 0 ||
	    db_commit(t->c) != 0)
		goto fail;
	t->began = 0;
	return 0;
fail:
	db_rollback(t->c);
	t->began = 0;
	return core_fail(err, CORE_ERROR, NULL, "the change could not be stored");
}

void
txn_history_same_state(struct db_history *h, const struct core_txn *t, const struct session *s,
                       const char *action, const char *note, int64_t now)
{
	memset(h, 0, sizeof(*h));
	h->at = now;
	h->actor_id = s->account_id;
	h->actor = s->username;
	h->action = (char *)action;
	h->from_state = (char *)wf_state_name(t->item.state);
	h->to_state = h->from_state;
	h->note = (char *)note;
}

int
txn_commit(struct core_txn *t, const struct actor *who, const struct db_history *h,
           const char *detail, const struct core_event *ev, struct core_error *err)
{
	return txn_commit_rows(t, who, h->action, h->at, h, 1, detail, ev, err);
}

void
txn_end(struct core_txn *t)
{
	if (t->began)
		db_rollback(t->c);
	t->began = 0;
	if (t->have_item)
		db_item_free(&t->item);
	t->have_item = 0;
}
