/* db_throttle.c: failed logins looked up by client address, for the per-address login throttle
 * and the lock of an account name for one address. */
#include <string.h>

#include "db_int.h"

enum stmt {
	STMT_RECENT_FROM,
	STMT_ADDR_COUNT,
	STMT_CLEAR_FROM,
	STMT__MAX
};

static const char *const stmts[STMT__MAX] = {
    [STMT_RECENT_FROM] = "SELECT at FROM login_failures WHERE username = ? AND addr = ? "
                         "ORDER BY at DESC LIMIT ?",
    [STMT_ADDR_COUNT] = "SELECT count(*), max(at) FROM login_failures WHERE addr = ? AND at >= ?",
    [STMT_CLEAR_FROM] = "DELETE FROM login_failures WHERE username = ? AND addr IS ?",
};

int
db_login_failure_recent_from(struct db_conn *c, const char *username, const char *addr,
                             int64_t *times, size_t max, size_t *n)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_RECENT_FROM]);

	if (st == NULL)
		return -1;
	if (db_bind_text(st, 1, username) || db_bind_text(st, 2, addr) ||
	    db_bind_int(st, 3, (int64_t)max)) {
		db_reset(st);
		return -1;
	}
	return db_step_ints(c, st, times, max, n);
}

int
db_login_failure_addr(struct db_conn *c, const char *addr, int64_t since, int64_t *count,
                      int64_t *newest)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_ADDR_COUNT]);

	if (st == NULL)
		return -1;
	if (db_bind_text(st, 1, addr) || db_bind_int(st, 2, since) ||
	    sqlite3_step(st) != SQLITE_ROW) {
		db_log("%s", sqlite3_errmsg(c->h));
		db_reset(st);
		return -1;
	}
	*count = sqlite3_column_int64(st, 0);
	*newest = sqlite3_column_int64(st, 1);
	db_reset(st);
	return 0;
}

int
db_login_failure_clear_from(struct db_conn *c, const char *username, const char *addr)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_CLEAR_FROM]);

	if (st == NULL || db_bind_text(st, 1, username) || db_bind_text(st, 2, addr)) {
		db_reset(st);
		return -1;
	}
	return db_exec_stmt(c, st);
}
