/* db_totp.c: storage of the staff second factor: each account's TOTP key (sealed by core's
 * totp.c: the store never sees it in the clear) with the newest time step used (so that no code
 * is accepted twice), and its one-time recovery codes (hashed). */
#include <stdlib.h>
#include <string.h>

#include "db_int.h"

enum stmt {
	STMT_GET,
	STMT_LIST,
	STMT_STORE,
	STMT_BEGIN,
	STMT_CONFIRM,
	STMT_USE_STEP,
	STMT_DELETE,
	STMT_REC_CLEAR,
	STMT_REC_ADD,
	STMT_REC_USE,
	STMT_REC_LEFT,
	STMT_SCRUB_ON,
	STMT_SCRUB_OFF,
	STMT__MAX
};

static const char *const stmts[STMT__MAX] = {
    [STMT_GET] = "SELECT secret, confirmed, last_step, created FROM totp WHERE account_id = ?",
    [STMT_LIST] = "SELECT secret, confirmed, last_step, created, account_id FROM totp "
                  "ORDER BY account_id",
    [STMT_STORE] = "UPDATE totp SET secret = ?2 WHERE account_id = ?1",
    [STMT_BEGIN] = "INSERT OR REPLACE INTO totp (account_id, secret, confirmed, last_step, "
                   "created) VALUES (?, ?, 0, 0, ?)",
    [STMT_CONFIRM] = "UPDATE totp SET confirmed = 1, last_step = ?2 WHERE account_id = ?1",
    [STMT_USE_STEP] = "UPDATE totp SET last_step = ?2 WHERE account_id = ?1 AND last_step < ?2",
    [STMT_DELETE] = "DELETE FROM totp WHERE account_id = ?",
    [STMT_REC_CLEAR] = "DELETE FROM totp_recovery WHERE account_id = ?",
    [STMT_REC_ADD] = "INSERT INTO totp_recovery (account_id, code_hash) VALUES (?, ?)",
    [STMT_REC_USE] = "UPDATE totp_recovery SET used_at = ?3 WHERE account_id = ?1 AND "
                     "code_hash = ?2 AND used_at IS NULL",
    [STMT_REC_LEFT] = "SELECT count(*) FROM totp_recovery WHERE account_id = ? AND "
                      "used_at IS NULL",
    [STMT_SCRUB_ON] = "PRAGMA secure_delete = ON",
    [STMT_SCRUB_OFF] = "PRAGMA secure_delete = OFF",
};

/* Reads the row st is on into out: 0, or -1 when its key has neither stored length. */
static int
row_read(sqlite3_stmt *st, int64_t account_id, struct db_totp *out)
{
	int len = sqlite3_column_bytes(st, 0);

	if (len != DB_TOTP_SEALED && len != DB_TOTP_SECRET)
		return -1;
	memset(out, 0, sizeof(*out));
	out->account_id = account_id;
	memcpy(out->stored, sqlite3_column_blob(st, 0), (size_t)len);
	out->stored_len = (size_t)len;
	out->confirmed = sqlite3_column_int(st, 1);
	out->last_step = sqlite3_column_int64(st, 2);
	out->created = sqlite3_column_int64(st, 3);
	return 0;
}

int
db_totp_get(struct db_conn *c, int64_t account_id, struct db_totp *out)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_GET]);
	int rc;

	if (st == NULL || db_bind_int(st, 1, account_id) != 0)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		db_reset(st);
		return 0;
	}
	if (rc != SQLITE_ROW || row_read(st, account_id, out) != 0) {
		db_note_error(c, rc);
		db_log("totp: %s", rc == SQLITE_ROW ? "a stored key of a wrong length"
		                                    : sqlite3_errmsg(c->h));
		db_reset(st);
		return -1;
	}
	db_reset(st);
	return 1;
}

int
db_totp_list(struct db_conn *c, struct db_totp **out, size_t *n)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_LIST]);
	struct db_totp *rows = NULL, *grown;
	size_t count = 0, cap = 0;
	int rc;

	if (st == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (count == cap) {
			cap = cap ? cap * 2 : 16;
			grown = realloc(rows, cap * sizeof(*rows));
			if (grown == NULL)
				goto fail;
			rows = grown;
		}
		if (row_read(st, sqlite3_column_int64(st, 4), &rows[count]) != 0) {
			db_log("totp: account %lld: a stored key of a wrong length",
			       (long long)sqlite3_column_int64(st, 4));
			goto fail;
		}
		count++;
	}
	if (rc != SQLITE_DONE) {
		db_note_error(c, rc);
		db_log("totp: %s", sqlite3_errmsg(c->h));
		goto fail;
	}
	db_reset(st);
	*out = rows;
	*n = count;
	return 0;
fail:
	db_reset(st);
	db_totp_list_free(rows, count);
	return -1;
}

void
db_totp_list_free(struct db_totp *rows, size_t n)
{
	if (rows == NULL)
		return;
	memset(rows, 0, n * sizeof(*rows)); /* no secret left in freed memory */
	free(rows);
}

int
db_totp_store(struct db_conn *c, int64_t account_id, const unsigned char *stored, size_t len)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_STORE]);

	if (st == NULL || db_bind_int(st, 1, account_id) != 0 ||
	    db_bind_blob(st, 2, stored, len) != 0) {
		db_reset(st);
		return -1;
	}
	if (db_exec_stmt(c, st) != 0)
		return -1;
	return sqlite3_changes(c->h) > 0;
}

/* Runs statement which with the account id as ?1 and, when given, the integer v as ?2:
 * the number of rows changed, or -1. */
static int
exec_account(struct db_conn *c, enum stmt which, int64_t account_id, int with_v, int64_t v)
{
	sqlite3_stmt *st = db_prep(c, stmts[which]);

	if (st == NULL || db_bind_int(st, 1, account_id) != 0 ||
	    (with_v && db_bind_int(st, 2, v) != 0)) {
		db_reset(st);
		return -1;
	}
	if (db_exec_stmt(c, st) != 0)
		return -1;
	return sqlite3_changes(c->h);
}

int
db_totp_begin(struct db_conn *c, int64_t account_id, const unsigned char *stored, size_t len,
              int64_t now)
{
	sqlite3_stmt *st;

	if (exec_account(c, STMT_REC_CLEAR, account_id, 0, 0) < 0)
		return -1;
	st = db_prep(c, stmts[STMT_BEGIN]);
	if (st == NULL ||
	    db_bind_int(st, 1, account_id) ||
	    db_bind_blob(st, 2, stored, len) ||
	    db_bind_int(st, 3, now)) {
		db_reset(st);
		return -1;
	}
	return db_exec_stmt(c, st);
}

int
db_totp_confirm(struct db_conn *c, int64_t account_id, int64_t step)
{
	int n = exec_account(c, STMT_CONFIRM, account_id, 1, step);

	return n < 0 ? -1 : n > 0;
}

int
db_totp_use_step(struct db_conn *c, int64_t account_id, int64_t step)
{
	int n = exec_account(c, STMT_USE_STEP, account_id, 1, step);

	return n < 0 ? -1 : n > 0;
}

int
db_totp_delete(struct db_conn *c, int64_t account_id)
{
	int n;

	if (exec_account(c, STMT_REC_CLEAR, account_id, 0, 0) < 0)
		return -1;
	n = exec_account(c, STMT_DELETE, account_id, 0, 0);
	return n < 0 ? -1 : n > 0;
}

int
db_totp_recovery_add(struct db_conn *c, int64_t account_id,
                     const unsigned char hash[DB_TOTP_CODE_HASH])
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_REC_ADD]);

	if (st == NULL || db_bind_int(st, 1, account_id) ||
	    db_bind_blob(st, 2, hash, DB_TOTP_CODE_HASH)) {
		db_reset(st);
		return -1;
	}
	return db_exec_stmt(c, st);
}

int
db_totp_recovery_use(struct db_conn *c, int64_t account_id,
                     const unsigned char hash[DB_TOTP_CODE_HASH], int64_t now)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_REC_USE]);

	if (st == NULL ||
	    db_bind_int(st, 1, account_id) ||
	    db_bind_blob(st, 2, hash, DB_TOTP_CODE_HASH) ||
	    db_bind_int(st, 3, now)) {
		db_reset(st);
		return -1;
	}
	if (db_exec_stmt(c, st) != 0)
		return -1;
	return sqlite3_changes(c->h) > 0;
}

int
db_totp_recovery_left(struct db_conn *c, int64_t account_id, int64_t *n)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_REC_LEFT]);
	int rc;

	if (st == NULL || db_bind_int(st, 1, account_id) != 0) {
		db_reset(st);
		return -1;
	}
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		db_note_error(c, rc);
		db_log("totp: %s", sqlite3_errmsg(c->h));
		db_reset(st);
		return -1;
	}
	*n = sqlite3_column_int64(st, 0);
	db_reset(st);
	return 0;
}

int
db_totp_scrub(struct db_conn *c, int on)
{
	sqlite3_stmt *st = db_prep(c, stmts[on ? STMT_SCRUB_ON : STMT_SCRUB_OFF]);
	int rc;

	if (st == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		;
	db_reset(st);
	if (rc != SQLITE_DONE) {
		db_note_error(c, rc);
		db_log("totp: secure_delete: %s", sqlite3_errmsg(c->h));
		return -1;
	}
	if (on)
		return 0;
	/* the log's frames still hold what was overwritten: copied back and cut off */
	rc = sqlite3_wal_checkpoint_v2(c->h, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
	if (rc != SQLITE_OK) {
		db_log("totp: checkpoint: %s", sqlite3_errmsg(c->h));
		return -1;
	}
	return 0;
}
