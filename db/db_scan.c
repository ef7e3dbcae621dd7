/* db_scan.c: storage of what the virus scanner said about each attachment, the attachments
 * held for a later scan, the removal of an infected attachment's content, and the flags of
 * content screening. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_int.h"

enum stmt {
	STMT_SET,
	STMT_STATE,
	STMT_PENDING,
	STMT_TRY,
	STMT_PURGE,
	STMT_SCREEN_ADD,
	STMT_SCREEN_GET,
	STMT_SCREEN_CLEAR,
	STMT__MAX
};

static const char *const stmts[STMT__MAX] = {
    [STMT_SET] = "INSERT INTO attachment_scans (attachment_id, state, note, at) "
                 "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (attachment_id) DO UPDATE SET "
                 "state = ?2, note = ?3, at = ?4",
    [STMT_STATE] = "SELECT state FROM attachment_scans WHERE attachment_id = ?",
    [STMT_PENDING] = "SELECT s.attachment_id, a.item_id FROM attachment_scans s "
                     "JOIN attachments a ON a.id = s.attachment_id WHERE s.state = 'pending' "
                     "ORDER BY s.tries, s.attachment_id LIMIT ?",
    [STMT_TRY] = "UPDATE attachment_scans SET tries = tries + 1 WHERE attachment_id = ?",
    [STMT_PURGE] = "UPDATE attachments SET data = x'' WHERE id = ?",
    /* a later match (the citizen's mail) flags the item again, for a new review */
    [STMT_SCREEN_ADD] = "INSERT INTO screening (item_id, matched, at) VALUES (?, ?, ?) "
                        "ON CONFLICT (item_id) DO UPDATE SET matched = excluded.matched, "
                        "at = excluded.at, cleared_by = NULL, cleared_at = NULL",
    [STMT_SCREEN_GET] = "SELECT s.matched, s.at, s.cleared_by, a.username, s.cleared_at "
                        "FROM screening s LEFT JOIN accounts a ON a.id = s.cleared_by "
                        "WHERE s.item_id = ?",
    [STMT_SCREEN_CLEAR] = "UPDATE screening SET cleared_by = ?2, cleared_at = ?3 "
                          "WHERE item_id = ?1 AND cleared_at IS NULL",
};

static int
step_error(struct db_conn *c, sqlite3_stmt *st, int rc)
{
	db_note_error(c, rc);
	db_log("scan: %s", sqlite3_errmsg(c->h));
	db_reset(st);
	return -1;
}

int
db_scan_set(struct db_conn *c, int64_t attachment_id, const char *state, const char *note,
            int64_t at)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_SET]);

	if (st == NULL ||
	    db_bind_int(st, 1, attachment_id) ||
	    db_bind_text(st, 2, state) ||
	    db_bind_text(st, 3, note) ||
	    db_bind_int(st, 4, at)) {
		db_reset(st);
		return -1;
	}
	return db_exec_stmt(c, st);
}

int
db_scan_state(struct db_conn *c, int64_t attachment_id, char state[16])
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_STATE]);
	int rc;

	if (st == NULL || db_bind_int(st, 1, attachment_id) != 0) {
		db_reset(st);
		return -1;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		db_reset(st);
		return 0;
	}
	if (rc != SQLITE_ROW)
		return step_error(c, st, rc);
	snprintf(state, 16, "%s", (const char *)sqlite3_column_text(st, 0));
	db_reset(st);
	return 1;
}

int
db_scan_pending(struct db_conn *c, struct db_scan_held *out, size_t max, size_t *n)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_PENDING]);
	int rc;

	*n = 0;
	if (st == NULL || db_bind_int(st, 1, (int64_t)max) != 0) {
		db_reset(st);
		return -1;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && *n < max) {
		out[*n].attachment_id = sqlite3_column_int64(st, 0);
		out[*n].item_id = sqlite3_column_int64(st, 1);
		(*n)++;
	}
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return step_error(c, st, rc);
	db_reset(st);
	return 0;
}

static int
exec_id(struct db_conn *c, enum stmt which, int64_t id)
{
	sqlite3_stmt *st = db_prep(c, stmts[which]);

	if (st == NULL || db_bind_int(st, 1, id) != 0) {
		db_reset(st);
		return -1;
	}
	return db_exec_stmt(c, st);
}

int
db_scan_try(struct db_conn *c, int64_t attachment_id)
{
	return exec_id(c, STMT_TRY, attachment_id);
}

int
db_scan_purge(struct db_conn *c, int64_t attachment_id)
{
	return exec_id(c, STMT_PURGE, attachment_id);
}

int
db_screen_add(struct db_conn *c, int64_t item_id, const char *matched, int64_t at)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_SCREEN_ADD]);

	if (st == NULL ||
	    db_bind_int(st, 1, item_id) ||
	    db_bind_text(st, 2, matched) ||
	    db_bind_int(st, 3, at)) {
		db_reset(st);
		return -1;
	}
	return db_exec_stmt(c, st);
}

int
db_screen_get(struct db_conn *c, int64_t item_id, struct db_screen *out)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_SCREEN_GET]);
	struct db_screen s;
	int rc;

	if (st == NULL || db_bind_int(st, 1, item_id) != 0) {
		db_reset(st);
		return -1;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		db_reset(st);
		return 0;
	}
	if (rc != SQLITE_ROW)
		return step_error(c, st, rc);
	memset(&s, 0, sizeof(s));
	s.item_id = item_id;
	s.matched = db_col_text(st, 0);
	s.at = sqlite3_column_int64(st, 1);
	s.cleared_by = sqlite3_column_int64(st, 2);
	s.cleared_name = db_col_text(st, 3);
	s.cleared_at = sqlite3_column_int64(st, 4);
	db_reset(st);
	if (s.matched == NULL) {
		db_screen_free(&s);
		return -1;
	}
	*out = s;
	return 1;
}

int
db_screen_clear(struct db_conn *c, int64_t item_id, int64_t account_id, int64_t at)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_SCREEN_CLEAR]);

	if (st == NULL ||
	    db_bind_int(st, 1, item_id) ||
	    db_bind_int(st, 2, account_id) ||
	    db_bind_int(st, 3, at)) {
		db_reset(st);
		return -1;
	}
	if (db_exec_stmt(c, st) != 0)
		return -1;
	return sqlite3_changes(c->h) > 0;
}

void
db_screen_free(struct db_screen *s)
{
	if (s == NULL)
		return;
	free(s->matched);
	free(s->cleared_name);
	memset(s, 0, sizeof(*s));
}
