/* db_accounts.c: storage of staff accounts, former passwords, failed logins, sessions and the
 * append-only audit log. */
#include <stdlib.h>
#include <string.h>

#include "db_int.h"

enum stmt {
	STMT_ACC_ADD,
	STMT_ACC_GET,
	STMT_ACC_BY_NAME,
	STMT_ACC_BY_NAME_NOCASE,
	STMT_ACC_LIST,
	STMT_ACC_UPDATE,
	STMT_ACC_HIST_ADD,
	STMT_ACC_HIST_TRIM,
	STMT_ACC_SET_PW,
	STMT_HIST_LIST,
	STMT_FAIL_ADD,
	STMT_FAIL_FORGET,
	STMT_FAIL_COUNT,
	STMT_FAIL_RECENT,
	STMT_FAIL_CLEAR,
	STMT_SES_ADD,
	STMT_SES_GET,
	STMT_SES_TOUCH,
	STMT_SES_DEL,
	STMT_SES_DEL_ACCOUNT,
	STMT_SES_DEL_OTHERS,
	STMT_SES_PRUNE,
	STMT_AUDIT_LIST,
	STMT__MAX
};

#define ACC_COLS                                                                                   \
	"id, username, display_name, role, section_id, email, phone, status, password_hash, "      \
	"password_changed, must_change, created"

static const char *const stmts[STMT__MAX] = {
    /* a name that differs from an existing one only in case is taken (names are looked up
     * without regard to case) */
    [STMT_ACC_ADD] = "INSERT INTO accounts (username, display_name, role, section_id, email, "
                     "phone, status, password_hash, password_changed, must_change, created) "
                     "SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11 WHERE NOT EXISTS "
                     "(SELECT 1 FROM accounts WHERE username = ?1 COLLATE NOCASE) "
                     "ON CONFLICT (username) DO NOTHING",
    [STMT_ACC_GET] = "SELECT " ACC_COLS " FROM accounts WHERE id = ?",
    [STMT_ACC_BY_NAME] = "SELECT " ACC_COLS " FROM accounts WHERE username = ?",
    /* at most two rows: a second means the name is ambiguous (accounts made before names were
     * compared without regard to case) */
    [STMT_ACC_BY_NAME_NOCASE] = "SELECT " ACC_COLS " FROM accounts "
                                "WHERE username = ? COLLATE NOCASE LIMIT 2",
    [STMT_ACC_LIST] = "SELECT " ACC_COLS " FROM accounts ORDER BY username",
    [STMT_ACC_UPDATE] = "UPDATE accounts SET role = ?, section_id = ?, status = ?, "
                        "display_name = ?, email = ?, phone = ? WHERE id = ?",
    [STMT_ACC_HIST_ADD] = "INSERT INTO password_history (account_id, password_hash, changed) "
                          "SELECT id, password_hash, ? FROM accounts WHERE id = ?",
    [STMT_ACC_HIST_TRIM] = "DELETE FROM password_history WHERE account_id = ?1 AND rowid NOT IN "
                           "(SELECT rowid FROM password_history WHERE account_id = ?1 "
                           "ORDER BY changed DESC, rowid DESC LIMIT ?2)",
    [STMT_ACC_SET_PW] = "UPDATE accounts SET password_hash = ?, password_changed = ?, "
                        "must_change = ? WHERE id = ?",
    [STMT_HIST_LIST] = "SELECT password_hash FROM password_history WHERE account_id = ? "
                       "ORDER BY changed DESC, rowid DESC LIMIT ?",
    [STMT_FAIL_ADD] = "INSERT INTO login_failures (username, at, addr) VALUES (?, ?, ?)",
    [STMT_FAIL_FORGET] = "DELETE FROM login_failures WHERE at < ?",
    [STMT_FAIL_COUNT] = "SELECT count(*) FROM login_failures WHERE username = ? AND at >= ?",
    [STMT_FAIL_RECENT] = "SELECT at FROM login_failures WHERE username = ? "
                         "ORDER BY at DESC LIMIT ?",
    [STMT_FAIL_CLEAR] = "DELETE FROM login_failures WHERE username = ?",
    [STMT_SES_ADD] = "INSERT INTO sessions (token_hash, account_id, csrf_token, created, "
                     "last_seen, addr) VALUES (?, ?, ?, ?, ?, ?)",
    [STMT_SES_GET] = "SELECT token_hash, account_id, csrf_token, created, last_seen, addr "
                     "FROM sessions WHERE token_hash = ?",
    [STMT_SES_TOUCH] = "UPDATE sessions SET last_seen = ? WHERE token_hash = ?",
    [STMT_SES_DEL] = "DELETE FROM sessions WHERE token_hash = ?",
    [STMT_SES_DEL_ACCOUNT] = "DELETE FROM sessions WHERE account_id = ?",
    [STMT_SES_DEL_OTHERS] = "DELETE FROM sessions WHERE account_id = ? AND token_hash <> ?",
    [STMT_SES_PRUNE] = "DELETE FROM sessions WHERE last_seen < ? OR created < ?",
    /* Every filter is a parameter; NULL switches it off. */
    [STMT_AUDIT_LIST] = "SELECT id, at, actor_id, actor, addr, action, target, detail, ok "
                        "FROM audit WHERE (?1 IS NULL OR actor = ?1) "
                        "AND (?2 IS NULL OR action = ?2) AND (?3 IS NULL OR target = ?3) "
                        "AND at >= ?4 AND at < ?5 AND id < ?6 "
                        "ORDER BY id DESC LIMIT ?7 OFFSET ?8",
};

static int
step_error(struct db_conn *c, sqlite3_stmt *st)
{
	db_step_failed(c, "accounts");
	db_reset(st);
	return -1;
}

/* --- accounts ------------------------------------------------------------------------------ */

static int
read_account(sqlite3_stmt *st, struct db_account *a)
{
	memset(a, 0, sizeof(*a));
	a->id = sqlite3_column_int64(st, 0);
	a->username = db_col_text(st, 1);
	a->display_name = db_col_text(st, 2);
	a->role = (enum role)db_col_name(st, 3, role_parse);
	a->section_id = sqlite3_column_int64(st, 4);
	a->email = db_col_text(st, 5);
	a->phone = db_col_text(st, 6);
	a->status = db_col_text(st, 7);
	a->password_hash = db_col_text(st, 8);
	a->password_changed = sqlite3_column_int64(st, 9);
	a->must_change = sqlite3_column_int(st, 10);
	a->created = sqlite3_column_int64(st, 11);
	if (a->username == NULL || (int)a->role < 0 || a->status == NULL ||
	    a->password_hash == NULL ||
	    (sqlite3_column_type(st, 2) != SQLITE_NULL && a->display_name == NULL) ||
	    (sqlite3_column_type(st, 5) != SQLITE_NULL && a->email == NULL) ||
	    (sqlite3_column_type(st, 6) != SQLITE_NULL && a->phone == NULL)) {
		db_account_free(a);
		return -1;
	}
	return 0;
}

static int
bind_section(sqlite3_stmt *st, int i, int64_t section_id)
{
	if (section_id == 0)
		return sqlite3_bind_null(st, i) == SQLITE_OK ? 0 : -1;
	return db_bind_int(st, i, section_id);
}

int
db_account_add(struct db_conn *c, const struct db_account *a, int64_t *id)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_ACC_ADD]);

	if (st == NULL)
		return -1;
	if (db_bind_text(st, 1, a->username) ||
	    db_bind_text(st, 2, a->display_name) ||
	    db_bind_text(st, 3, role_name(a->role)) ||
	    bind_section(st, 4, a->section_id) ||
	    db_bind_text(st, 5, a->email) ||
	    db_bind_text(st, 6, a->phone) ||
	    db_bind_text(st, 7, a->status ? a->status : "active") ||
	    db_bind_text(st, 8, a->password_hash) ||
	    db_bind_int(st, 9, a->password_changed) ||
	    db_bind_int(st, 10, a->must_change) ||
	    db_bind_int(st, 11, a->created) ||
	    db_exec_stmt(c, st) != 0)
		return -1;
	if (sqlite3_changes(c->h) == 0)
		return 1;
	if (id != NULL)
		*id = sqlite3_last_insert_rowid(c->h);
	return 0;
}

static int
account_one(struct db_conn *c, sqlite3_stmt *st, struct db_account *out)
{
	int rc = sqlite3_step(st), ret;

	if (rc == SQLITE_ROW)
		ret = read_account(st, out) == 0 ? 1 : -1;
	else if (rc == SQLITE_DONE)
		ret = 0;
	else
		return step_error(c, st);
	db_reset(st);
	return ret;
}

int
db_account_get(struct db_conn *c, int64_t id, struct db_account *out)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_ACC_GET]);

	if (st == NULL || db_bind_int(st, 1, id) != 0)
		return -1;
	return account_one(c, st, out);
}

int
db_account_by_name(struct db_conn *c, const char *username, struct db_account *out)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_ACC_BY_NAME]);
	int rc;

	if (st == NULL || db_bind_text(st, 1, username) != 0)
		return -1;
	rc = account_one(c, st, out);
	if (rc != 0)
		return rc;
	/* Not as written: the one account whose name differs only in case ("Zhangwei" typed on
	 * a phone that capitalises the first letter), none when two do. */
	st = db_prep(c, stmts[STMT_ACC_BY_NAME_NOCASE]);
	if (st == NULL || db_bind_text(st, 1, username) != 0)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		db_reset(st);
		return 0;
	}
	if (rc != SQLITE_ROW)
		return step_error(c, st);
	if (read_account(st, out) != 0) {
		db_reset(st);
		return -1;
	}
	rc = sqlite3_step(st);
	db_reset(st);
	if (rc == SQLITE_DONE)
		return 1;
	db_account_free(out);
	memset(out, 0, sizeof(*out));
	return rc == SQLITE_ROW ? 0 : -1;
}

static int
read_account_v(sqlite3_stmt *st, void *row)
{
	return read_account(st, row);
}

static void
free_accounts_v(void *rows, size_t n)
{
	db_accounts_free(rows, n);
}

int
db_account_list(struct db_conn *c, struct db_account **out, size_t *n)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_ACC_LIST]);
	void *rows;

	if (st == NULL)
		return -1;
	if (db_list_rows(c, st, sizeof(struct db_account), "accounts", read_account_v, free_accounts_v, &rows, n) != 0)
		return -1;
	*out = rows;
	return 0;
}

int
db_account_update(struct db_conn *c, const struct db_account *a)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_ACC_UPDATE]);

	if (st == NULL)
		return -1;
	if (db_bind_text(st, 1, role_name(a->role)) ||
	    bind_section(st, 2, a->section_id) ||
	    db_bind_text(st, 3, a->status) ||
	    db_bind_text(st, 4, a->display_name) ||
	    db_bind_text(st, 5, a->email) ||
	    db_bind_text(st, 6, a->phone) ||
	    db_bind_int(st, 7, a->id) ||
	    db_exec_stmt(c, st) != 0)
		return -1;
	return sqlite3_changes(c->h) > 0;
}

int
db_account_set_password(struct db_conn *c, int64_t id, const char *hash, int must_change,
                        int64_t now)
{
	sqlite3_stmt *st;

	st = db_prep(c, stmts[STMT_ACC_HIST_ADD]);
	if (st == NULL ||
	    db_bind_int(st, 1, now) ||
	    db_bind_int(st, 2, id) ||
	    db_exec_stmt(c, st) != 0)
		return -1;
	if (sqlite3_changes(c->h) == 0)
		return 0;
	st = db_prep(c, stmts[STMT_ACC_HIST_TRIM]);
	if (st == NULL ||
	    db_bind_int(st, 1, id) ||
	    db_bind_int(st, 2, DB_PASSWORD_HISTORY) ||
	    db_exec_stmt(c, st) != 0)
		return -1;
	st = db_prep(c, stmts[STMT_ACC_SET_PW]);
	if (st == NULL ||
	    db_bind_text(st, 1, hash) ||
	    db_bind_int(st, 2, now) ||
	    db_bind_int(st, 3, must_change) ||
	    db_bind_int(st, 4, id) ||
	    db_exec_stmt(c, st) != 0)
		return -1;
	return sqlite3_changes(c->h) > 0;
}

static int
read_string_v(sqlite3_stmt *st, void *row)
{
	char **s = row;

	*s = db_col_text(st, 0);
	return *s == NULL ? -1 : 0;
}

static void
free_strings_v(void *rows, size_t n)
{
	db_strings_free(rows, n);
}

int
db_password_history(struct db_conn *c, int64_t id, size_t max, char ***out, size_t *n)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_HIST_LIST]);
	void *rows;

	if (st == NULL || db_bind_int(st, 1, id) || db_bind_int(st, 2, (int64_t)max))
		return -1;
	if (db_list_rows(c, st, sizeof(char *), "password history", read_string_v, free_strings_v, &rows, n) != 0)
		return -1;
	*out = rows;
	return 0;
}

void
db_account_free(struct db_account *a)
{
	if (a == NULL)
		return;
	free(a->username);
	free(a->display_name);
	free(a->email);
	free(a->phone);
	free(a->status);
	if (a->password_hash != NULL) {
		memset(a->password_hash, 0, strlen(a->password_hash));
		free(a->password_hash);
	}
	memset(a, 0, sizeof(*a));
}

void
db_accounts_free(struct db_account *a, size_t n)
{
	size_t i;

	if (a == NULL)
		return;
	for (i = 0; i < n; i++)
		db_account_free(&a[i]);
	free(a);
}

void
db_strings_free(char **v, size_t n)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* --- failed logins ------------------------------------------------------------------------- */

int
db_login_failure_add(struct db_conn *c, const char *username, int64_t at, const char *addr,
                     int64_t forget_before)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_FAIL_FORGET]);

	if (st == NULL || db_bind_int(st, 1, forget_before) || db_exec_stmt(c, st) != 0)
		return -1;
	st = db_prep(c, stmts[STMT_FAIL_ADD]);
	if (st == NULL ||
	    db_bind_text(st, 1, username) ||
	    db_bind_int(st, 2, at) ||
	    db_bind_text(st, 3, addr) ||
	    db_exec_stmt(c, st) != 0)
		return -1;
	return 0;
}

int
db_login_failure_count(struct db_conn *c, const char *username, int64_t since, int *n)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_FAIL_COUNT]);

	if (st == NULL || db_bind_text(st, 1, username) || db_bind_int(st, 2, since))
		return -1;
	if (sqlite3_step(st) != SQLITE_ROW)
		return step_error(c, st);
	*n = sqlite3_column_int(st, 0);
	db_reset(st);
	return 0;
}

int
db_login_failure_recent(struct db_conn *c, const char *username, int64_t *times, size_t max,
                        size_t *n)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_FAIL_RECENT]);

	if (st == NULL || db_bind_text(st, 1, username) || db_bind_int(st, 2, (int64_t)max))
		return -1;
	return db_step_ints(c, st, times, max, n);
}

int
db_login_failure_clear(struct db_conn *c, const char *username)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_FAIL_CLEAR]);

	if (st == NULL || db_bind_text(st, 1, username) || db_exec_stmt(c, st) != 0)
		return -1;
	return 0;
}

/* --- sessions ------------------------------------------------------------------------------ */

int
db_session_add(struct db_conn *c, const struct db_session *s)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_SES_ADD]);

	if (st == NULL)
		return -1;
	if (db_bind_blob(st, 1, s->token_hash, DB_TOKEN_HASH) ||
	    db_bind_int(st, 2, s->account_id) ||
	    db_bind_text(st, 3, s->csrf_token) ||
	    db_bind_int(st, 4, s->created) ||
	    db_bind_int(st, 5, s->last_seen) ||
	    db_bind_text(st, 6, s->addr) ||
	    db_exec_stmt(c, st) != 0)
		return -1;
	return 0;
}

int
db_session_get(struct db_conn *c, const unsigned char hash[DB_TOKEN_HASH], struct db_session *out)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_SES_GET]);
	struct db_session s;
	int rc;

	if (st == NULL || db_bind_blob(st, 1, hash, DB_TOKEN_HASH) != 0)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		db_reset(st);
		return 0;
	}
	if (rc != SQLITE_ROW)
		return step_error(c, st);
	memset(&s, 0, sizeof(s));
	memcpy(s.token_hash, hash, DB_TOKEN_HASH);
	s.account_id = sqlite3_column_int64(st, 1);
	s.csrf_token = db_col_text(st, 2);
	s.created = sqlite3_column_int64(st, 3);
	s.last_seen = sqlite3_column_int64(st, 4);
	s.addr = db_col_text(st, 5);
	db_reset(st);
	if (s.csrf_token == NULL) {
		db_session_free(&s);
		return -1;
	}
	*out = s;
	return 1;
}

static int
by_hash(struct db_conn *c, enum stmt which, const unsigned char hash[DB_TOKEN_HASH])
{
	sqlite3_stmt *st = db_prep(c, stmts[which]);

	if (st == NULL || db_bind_blob(st, 1, hash, DB_TOKEN_HASH) || db_exec_stmt(c, st) != 0)
		return -1;
	return 0;
}

int
db_session_touch(struct db_conn *c, const unsigned char hash[DB_TOKEN_HASH], int64_t now)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_SES_TOUCH]);

	if (st == NULL ||
	    db_bind_int(st, 1, now) ||
	    db_bind_blob(st, 2, hash, DB_TOKEN_HASH) ||
	    db_exec_stmt(c, st) != 0)
		return -1;
	return 0;
}

int
db_session_delete(struct db_conn *c, const unsigned char hash[DB_TOKEN_HASH])
{
	return by_hash(c, STMT_SES_DEL, hash);
}

int
db_session_delete_account(struct db_conn *c, int64_t account_id)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_SES_DEL_ACCOUNT]);

	if (st == NULL || db_bind_int(st, 1, account_id) || db_exec_stmt(c, st) != 0)
		return -1;
	return 0;
}

int
db_session_delete_others(struct db_conn *c, int64_t account_id,
                         const unsigned char keep[DB_TOKEN_HASH])
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_SES_DEL_OTHERS]);

	if (st == NULL || db_bind_int(st, 1, account_id) ||
	    db_bind_blob(st, 2, keep, DB_TOKEN_HASH) || db_exec_stmt(c, st) != 0)
		return -1;
	return 0;
}

int
db_session_prune(struct db_conn *c, int64_t idle_before, int64_t created_before)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_SES_PRUNE]);

	if (st == NULL ||
	    db_bind_int(st, 1, idle_before) ||
	    db_bind_int(st, 2, created_before) ||
	    db_exec_stmt(c, st) != 0)
		return -1;
	return 0;
}

int
db_session_batch_mode(struct db_conn *c, int on)
{
	/* PRAGMA takes no parameters; both texts are constants */
	const char *sql = on ? "PRAGMA synchronous=NORMAL" : "PRAGMA synchronous=FULL";

	if (sqlite3_exec(c->h, sql, NULL, NULL, NULL) != SQLITE_OK) {
		db_log("session batch mode: %s", sqlite3_errmsg(c->h));
		return -1;
	}
	/* the WAL's checkpoints stay the group-commit writer's (and SQLite's 1,000 frames on
	 * the pool's other commits): none on this thread's few frames */
	sqlite3_wal_autocheckpoint(c->h, on ? 0 : 1000);
	return 0;
}

void
db_session_free(struct db_session *s)
{
	if (s == NULL)
		return;
	free(s->csrf_token);
	free(s->addr);
	memset(s, 0, sizeof(*s));
}

/* --- audit (rows are written by db_audit.c, which chains them) ------------------------------ */

static int
read_audit(sqlite3_stmt *st, struct db_audit *a)
{
	memset(a, 0, sizeof(*a));
	a->id = sqlite3_column_int64(st, 0);
	a->at = sqlite3_column_int64(st, 1);
	a->actor_id = sqlite3_column_int64(st, 2);
	a->actor = db_col_text(st, 3);
	a->addr = db_col_text(st, 4);
	a->action = db_col_text(st, 5);
	a->target = db_col_text(st, 6);
	a->detail = db_col_text(st, 7);
	a->ok = sqlite3_column_int(st, 8);
	if (a->actor == NULL || a->action == NULL ||
	    (sqlite3_column_type(st, 4) != SQLITE_NULL && a->addr == NULL) ||
	    (sqlite3_column_type(st, 6) != SQLITE_NULL && a->target == NULL) ||
	    (sqlite3_column_type(st, 7) != SQLITE_NULL && a->detail == NULL)) {
		free(a->actor);
		free(a->addr);
		free(a->action);
		free(a->target);
		free(a->detail);
		return -1;
	}
	return 0;
}

static int
read_audit_v(sqlite3_stmt *st, void *row)
{
	return read_audit(st, row);
}

static void
free_audits_v(void *rows, size_t n)
{
	db_audits_free(rows, n);
}

int
db_audit_list(struct db_conn *c, const struct db_audit_filter *f, struct db_audit **out, size_t *n)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_AUDIT_LIST]);
	int limit = f->limit <= 0 ? 100 : f->limit > 1000 ? 1000 : f->limit;
	void *rows;

	if (st == NULL)
		return -1;
	if (db_bind_text(st, 1, f->actor) ||
	    db_bind_text(st, 2, f->action) ||
	    db_bind_text(st, 3, f->target) ||
	    db_bind_int(st, 4, f->from ? f->from : INT64_MIN) ||
	    db_bind_int(st, 5, f->to ? f->to : INT64_MAX) ||
	    db_bind_int(st, 6, f->before > 0 ? f->before : INT64_MAX) ||
	    db_bind_int(st, 7, limit) ||
	    db_bind_int(st, 8, f->offset > 0 ? f->offset : 0)) {
		db_reset(st);
		return -1;
	}
	if (db_list_rows(c, st, sizeof(struct db_audit), "audit", read_audit_v, free_audits_v, &rows, n) != 0)
		return -1;
	*out = rows;
	return 0;
}

void
db_audits_free(struct db_audit *a, size_t n)
{
	size_t i;

	if (a == NULL)
		return;
	for (i = 0; i < n; i++) {
		free(a[i].actor);
		free(a[i].addr);
		free(a[i].action);
		free(a[i].target);
		free(a[i].detail);
	}
	free(a);
}
