/* db_orders.c: the notifiers' queue of supervision-order reminders (schema 012): written with
 * the order, read when due, deleted once the reminder is queued. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_int.h"

enum stmt { STMT_REMIND_ADD, STMT_REMIND_DUE, STMT_REMIND_DONE, STMT__MAX };

static const char *const stmts[STMT__MAX] = {
    [STMT_REMIND_ADD] = "INSERT INTO supervision_reminders (order_id, remind_at) VALUES (?, ?) "
                        "ON CONFLICT (order_id) DO UPDATE SET remind_at = excluded.remind_at",
    [STMT_REMIND_DUE] = "SELECT s.id, s.item_id, s.at, coalesce(s.by_id, 0), s.by_name, s.note, "
                        "s.due, s.section_id FROM supervision_reminders r "
                        "JOIN supervision s ON s.id = r.order_id WHERE r.remind_at <= ? "
                        "ORDER BY r.remind_at, r.order_id LIMIT ?",
    [STMT_REMIND_DONE] = "DELETE FROM supervision_reminders WHERE order_id = ?",
};

int
db_supervision_remind_add(struct db_conn *c, int64_t order_id, int64_t remind_at)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_REMIND_ADD]);

	if (st == NULL)
		return -1;
	if (db_bind_int(st, 1, order_id) || db_bind_int(st, 2, remind_at)) {
		db_reset(st);
		return -1;
	}
	return db_exec_stmt(c, st);
}

int
db_supervision_remind_due(struct db_conn *c, int64_t now, int limit, struct db_supervision **out,
                          size_t *n)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_REMIND_DUE]);
	struct db_supervision *v = NULL, *nv, *s;
	size_t len = 0, cap = 0;
	int rc;

	if (st == NULL)
		return -1;
	if (db_bind_int(st, 1, now) || db_bind_int(st, 2, limit))
		goto fail;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		nv = db_grow(v, len, &cap, sizeof(*v));
		if (nv == NULL)
			goto fail;
		v = nv;
		s = &v[len];
		memset(s, 0, sizeof(*s));
		len++;
		s->id = sqlite3_column_int64(st, 0);
		s->item_id = sqlite3_column_int64(st, 1);
		s->at = sqlite3_column_int64(st, 2);
		s->by_id = sqlite3_column_int64(st, 3);
		s->by_name = db_col_text(st, 4);
		s->note = db_col_text(st, 5);
		s->due = sqlite3_column_int64(st, 6);
		s->section_id = sqlite3_column_int64(st, 7);
		if (s->by_name == NULL || s->note == NULL)
			goto fail;
	}
	if (rc != SQLITE_DONE) {
		db_log("%s", sqlite3_errmsg(c->h));
		goto fail;
	}
	db_reset(st);
	*out = v;
	*n = len;
	return 0;
fail:
	db_reset(st);
	db_supervisions_free(v, len);
	return -1;
}

int
db_supervision_remind_done(struct db_conn *c, int64_t order_id)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_REMIND_DONE]);

	if (st == NULL)
		return -1;
	if (db_bind_int(st, 1, order_id)) {
		db_reset(st);
		return -1;
	}
	return db_exec_stmt(c, st);
}

void
db_supervisions_free(struct db_supervision *v, size_t n)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		db_supervision_free(&v[i]);
	free(v);
}
