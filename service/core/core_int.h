/*
 * core_int.h: what the files of service/core share beyond core.h.
 */
#ifndef CORE_INT_H
#define CORE_INT_H

#include "core.h"

/* Replaces an owned string field with a copy of s (NULL clears it). 0 or -1. */
int core_set_str(char **field, const char *s);

/* An item loaded for change inside a write transaction (txn.c): the skeleton that every change
 * to an item shares, so that the item row, its history, audit and outbox rows commit as one. */
struct core_txn {
	struct app *app;
	struct db_conn *c;
	struct db_item item; /* valid once txn_begin returned 0 */
	int began;           /* 1 while the transaction is open */
	int have_item;
};

/* Opens BEGIN IMMEDIATE on c and loads item `tracking`. 0, or -1 with err (CORE_NOT_FOUND,
 * CORE_BUSY, CORE_ERROR); txn_end must be called either way. */
int txn_begin(struct core_txn *t, struct app *app, struct db_conn *c, const char *tracking,
              struct core_error *err);
/* Stores t->item, the history row h (its item), an audit row for who (action h->action, the
 * detail), calls the notification hook with ev (NULL: none) and commits. 0, or -1 with err
 * (CORE_BUSY, CORE_ERROR) and the transaction rolled back. */
int txn_commit(struct core_txn *t, const struct actor *who, const struct db_history *h,
               const char *detail, const struct core_event *ev, struct core_error *err);
/* Rolls back what is still open and frees the item. */
void txn_end(struct core_txn *t);

/* Applies the clock effects of transition t to item at now under policy p (actions.c). */
void core_apply_clocks(const struct wf_transition *t, struct db_item *item, const struct policy *p,
                       const struct sla_calendar *cal, int64_t now);

#endif
