/* db_totp.c: storage of the staff second factor: each account's TOTP key with the newest time
 * step used (so that no code is accepted twice), and its one-time recovery codes (hashed). */
#include <string.h>

#include "db_int.h"

enum stmt {
	STMT_GET,
	STMT_BEGIN,
	STMT_CONFIRM,
	STMT_USE_STEP,
	STMT_DELETE,
	STMT_REC_CLEAR,
	STMT_REC_ADD,
	STMT_REC_USE,
	STMT_REC_LEFT,
	STMT__MAX
};

static const char *const stmts[STMT__MAX] = {
    [STMT_GET] = "SELECT secret, confirmed, last_step, created FROM totp WHERE account_id = ?",
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
};

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
	if (rc != SQLITE_ROW || sqlite3_column_bytes(st, 0) != DB_TOTP_SECRET) {
		db_note_error(c, rc);
		db_log("totp: %s", sqlite3_errmsg(c->h));
		db_reset(st);
		return -1;
	}
	memset(out, 0, sizeof(*out));
	out->account_id = account_id;
	memcpy(out->secret, sqlite3_column_blob(st, 0), DB_TOTP_SECRET);
	out->confirmed = sqlite3_column_int(st, 1);
	out->last_step = sqlite3_column_int64(st, 2);
	out->created = sqlite3_column_int64(st, 3);
	db_reset(st);
	return 1;
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
db_totp_begin(struct db_conn *c, int64_t account_id, const unsigned char secret[DB_TOTP_SECRET],
              int64_t now)
{
	sqlite3_stmt *st;

	if (exec_account(c, STMT_REC_CLEAR, account_id, 0, 0) < 0)
		return -1;
	st = db_prep(c, stmts[STMT_BEGIN]);
	if (st == NULL ||
	    db_bind_int(st, 1, account_id) ||
	    db_bind_blob(st, 2, secret, DB_TOTP_SECRET) ||
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
