/* db_calendar.c: storage of loaded calendar files, of the calendar the clocks were computed
 * with, and the listing of items whose clocks run (recomputed when the calendar changes). */
#include <stdlib.h>
#include <string.h>

#include "db_int.h"

enum stmt {
	STMT_FILES,
	STMT_FILE_PUT,
	STMT_APPLIED,
	STMT_APPLIED_CLEAR,
	STMT_APPLIED_ADD,
	STMT_STATE,
	STMT_STATE_SET,
	STMT_RUNNING,
	STMT__MAX
};

static const char *const stmts[STMT__MAX] = {
    [STMT_FILES] = "SELECT year, name, text, loaded_at, loaded_by FROM calendar_files "
                   "ORDER BY year",
    [STMT_FILE_PUT] = "INSERT INTO calendar_files (year, name, text, loaded_at, loaded_by) "
                      "VALUES (?, ?, ?, ?, ?) ON CONFLICT (year) DO UPDATE SET "
                      "name = excluded.name, text = excluded.text, "
                      "loaded_at = excluded.loaded_at, loaded_by = excluded.loaded_by",
    [STMT_APPLIED] = "SELECT 0, name, text, 0, NULL FROM calendar_applied ORDER BY seq",
    [STMT_APPLIED_CLEAR] = "DELETE FROM calendar_applied",
    [STMT_APPLIED_ADD] = "INSERT INTO calendar_applied (seq, name, text) VALUES (?, ?, ?)",
    [STMT_STATE] = "SELECT fingerprint FROM calendar_state WHERE id = 1",
    [STMT_STATE_SET] = "INSERT INTO calendar_state (id, fingerprint, applied_at) "
                       "VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET "
                       "fingerprint = excluded.fingerprint, applied_at = excluded.applied_at",
    [STMT_RUNNING] = "SELECT i.id, i.tracking FROM items i WHERE i.id > ? AND EXISTS "
                     "(SELECT 1 FROM clocks k WHERE k.item_id = i.id AND k.stopped_at IS NULL "
                     "AND k.paused_at IS NULL AND k.due IS NOT NULL AND k.result IS NULL) "
                     "ORDER BY i.id LIMIT ?",
};

static int
read_file(sqlite3_stmt *st, void *row)
{
	struct db_calendar_file *f = row;

	f->year = sqlite3_column_int(st, 0);
	f->name = db_col_text(st, 1);
	f->text = db_col_text(st, 2);
	f->loaded_at = sqlite3_column_int64(st, 3);
	f->loaded_by = db_col_text(st, 4);
	return f->name != NULL && f->text != NULL ? 0 : -1;
}

static void
free_files_v(void *rows, size_t n)
{
	db_calendar_files_free(rows, n);
}

static int
list_files(struct db_conn *c, enum stmt which, struct db_calendar_file **out, size_t *n)
{
	sqlite3_stmt *st = db_prep(c, stmts[which]);
	void *rows;

	if (st == NULL)
		return -1;
	if (db_list_rows(c, st, sizeof(struct db_calendar_file), "calendar files", read_file,
	                 free_files_v, &rows, n) != 0)
		return -1;
	*out = rows;
	return 0;
}

int
db_calendar_files(struct db_conn *c, struct db_calendar_file **out, size_t *n)
{
	return list_files(c, STMT_FILES, out, n);
}

int
db_calendar_file_put(struct db_conn *c, const struct db_calendar_file *f)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_FILE_PUT]);

	if (st == NULL)
		return -1;
	if (db_bind_int(st, 1, f->year) ||
	    db_bind_text(st, 2, f->name) ||
	    db_bind_text(st, 3, f->text) ||
	    db_bind_int(st, 4, f->loaded_at) ||
	    db_bind_text(st, 5, f->loaded_by ? f->loaded_by : "cli") ||
	    db_exec_stmt(c, st) != 0) {
		db_reset(st);
		return -1;
	}
	return 0;
}

int
db_calendar_fingerprint(struct db_conn *c, char *fp, size_t size)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_STATE]);
	const unsigned char *s;
	int rc;

	if (st == NULL || size == 0)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		db_reset(st);
		return 0;
	}
	if (rc != SQLITE_ROW) {
		db_log("calendar state: %s", sqlite3_errmsg(c->h));
		db_reset(st);
		return -1;
	}
	s = sqlite3_column_text(st, 0);
	if (s == NULL || strlen((const char *)s) >= size) {
		db_reset(st);
		return -1;
	}
	memcpy(fp, s, strlen((const char *)s) + 1);
	db_reset(st);
	return 1;
}

int
db_calendar_applied(struct db_conn *c, struct db_calendar_file **out, size_t *n, char *fp,
                    size_t size)
{
	int rc = db_calendar_fingerprint(c, fp, size);

	if (rc <= 0)
		return rc;
	if (list_files(c, STMT_APPLIED, out, n) != 0)
		return -1;
	return 1;
}

int
db_calendar_applied_set(struct db_conn *c, const char *const *names, const char *const *texts,
                        size_t n, const char *fingerprint, int64_t at)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_APPLIED_CLEAR]);
	size_t i;

	if (st == NULL || db_exec_stmt(c, st) != 0)
		return -1;
	for (i = 0; i < n; i++) {
		st = db_prep(c, stmts[STMT_APPLIED_ADD]);
		if (st == NULL)
			return -1;
		if (db_bind_int(st, 1, (int64_t)i + 1) ||
		    db_bind_text(st, 2, names[i]) ||
		    db_bind_text(st, 3, texts[i]) ||
		    db_exec_stmt(c, st) != 0) {
			db_reset(st);
			return -1;
		}
	}
	st = db_prep(c, stmts[STMT_STATE_SET]);
	if (st == NULL)
		return -1;
	if (db_bind_text(st, 1, fingerprint) || db_bind_int(st, 2, at) ||
	    db_exec_stmt(c, st) != 0) {
		db_reset(st);
		return -1;
	}
	return 0;
}

void
db_calendar_files_free(struct db_calendar_file *f, size_t n)
{
	size_t i;

	if (f == NULL)
		return;
	for (i = 0; i < n; i++) {
		free(f[i].name);
		free(f[i].text);
		free(f[i].loaded_by);
	}
	free(f);
}

int
db_items_running(struct db_conn *c, int64_t after_id, size_t max, int64_t *ids, char **trackings,
                 size_t *n)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_RUNNING]);
	size_t len = 0, i;
	int rc = SQLITE_DONE;

	if (st == NULL || db_bind_int(st, 1, after_id) || db_bind_int(st, 2, (int64_t)max))
		return -1;
	while (len < max && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		trackings[len] = db_col_text(st, 1);
		if (trackings[len] == NULL) {
			rc = SQLITE_NOMEM;
			break;
		}
		ids[len++] = sqlite3_column_int64(st, 0);
	}
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		db_log("running clocks: %s", sqlite3_errmsg(c->h));
		db_reset(st);
		for (i = 0; i < len; i++)
			free(trackings[i]);
		return -1;
	}
	db_reset(st);
	*n = len;
	return 0;
}
