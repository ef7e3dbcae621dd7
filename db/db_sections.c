/* db_sections.c: storage of the bureau's handling sections. */
#include <stdlib.h>
#include <string.h>

#include "db_int.h"

enum stmt {
	STMT_ADD,
	STMT_GET,
	STMT_BY_NAME,
	STMT_LIST,
	STMT_UPDATE,
	STMT__MAX
};

static const char *const stmts[STMT__MAX] = {
	[STMT_ADD] = "INSERT INTO sections (name, email, active, created) VALUES (?, ?, 1, ?) "
	             "ON CONFLICT (name) DO NOTHING",
	[STMT_GET] = "SELECT id, name, email, active, created FROM sections WHERE id = ?",
	[STMT_BY_NAME] = "SELECT id, name, email, active, created FROM sections WHERE name = ?",
	[STMT_LIST] = "SELECT id, name, email, active, created FROM sections ORDER BY id",
	[STMT_UPDATE] = "UPDATE sections SET name = ?, email = ?, active = ? WHERE id = ?",
};

static int
read_row(sqlite3_stmt *st, struct db_section *s)
{
	memset(s, 0, sizeof(*s));
	s->id = sqlite3_column_int64(st, 0);
	s->name = db_col_text(st, 1);
	s->email = db_col_text(st, 2);
	s->active = sqlite3_column_int(st, 3);
	s->created = sqlite3_column_int64(st, 4);
	if (s->name == NULL) {
		db_section_free(s);
		return -1;
	}
	return 0;
}

int
db_section_add(struct db_conn *c, const char *name, const char *email, int64_t now, int64_t *id)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_ADD]);

	if (st == NULL)
		return -1;
	if (db_bind_text(st, 1, name) ||
	    db_bind_text(st, 2, email) ||
	    db_bind_int(st, 3, now) ||
	    db_exec_stmt(c, st) != 0)
		return -1;
	if (sqlite3_changes(c->h) == 0)
		return 1;
	*id = sqlite3_last_insert_rowid(c->h);
	return 0;
}

static int
get_one(struct db_conn *c, sqlite3_stmt *st, struct db_section *out)
{
	int rc = sqlite3_step(st), ret;

	if (rc == SQLITE_ROW)
		ret = read_row(st, out) == 0 ? 1 : -1;
	else if (rc == SQLITE_DONE)
		ret = 0;
	else {
		db_step_failed(c, "section");
		ret = -1;
	}
	db_reset(st);
	return ret;
}

int
db_section_get(struct db_conn *c, int64_t id, struct db_section *out)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_GET]);

	if (st == NULL || db_bind_int(st, 1, id) != 0)
		return -1;
	return get_one(c, st, out);
}

int
db_section_by_name(struct db_conn *c, const char *name, struct db_section *out)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_BY_NAME]);

	if (st == NULL || db_bind_text(st, 1, name) != 0)
		return -1;
	return get_one(c, st, out);
}

static int
read_section_v(sqlite3_stmt *st, void *row)
{
	return read_row(st, row);
}

static void
free_sections_v(void *rows, size_t n)
{
	db_sections_free(rows, n);
}

int
db_section_list(struct db_conn *c, struct db_section **out, size_t *n)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_LIST]);
	void *rows;

	if (st == NULL)
		return -1;
	if (db_list_rows(c, st, sizeof(struct db_section), "sections", read_section_v, free_sections_v, &rows, n) != 0)
		return -1;
	*out = rows;
	return 0;
}

int
db_section_update(struct db_conn *c, const struct db_section *s)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_UPDATE]);

	if (st == NULL)
		return -1;
	if (db_bind_text(st, 1, s->name) ||
	    db_bind_text(st, 2, s->email) ||
	    db_bind_int(st, 3, s->active) ||
	    db_bind_int(st, 4, s->id) ||
	    db_exec_stmt(c, st) != 0)
		return -1;
	return sqlite3_changes(c->h) > 0;
}

void
db_section_free(struct db_section *s)
{
	if (s == NULL)
		return;
	free(s->name);
	free(s->email);
	memset(s, 0, sizeof(*s));
}

void
db_sections_free(struct db_section *s, size_t n)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < n; i++)
		db_section_free(&s[i]);
	free(s);
}
