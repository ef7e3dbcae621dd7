/* db_policies.c: storage of the clock policies set by administrators (policy_overrides). */
#include <stdlib.h>
#include <string.h>

#include "db_int.h"

enum stmt { STMT_LIST, STMT_SET, STMT_DELETE, STMT__MAX };

static const char *const stmts[STMT__MAX] = {
    [STMT_LIST] = "SELECT p.kind, p.key, p.value, p.updated_at, p.updated_by, a.username "
                  "FROM policy_overrides p LEFT JOIN accounts a ON a.id = p.updated_by "
                  "ORDER BY p.kind, p.key",
    [STMT_SET] = "INSERT INTO policy_overrides (kind, key, value, updated_at, updated_by) "
                 "VALUES (?, ?, ?, ?, ?) ON CONFLICT (kind, key) DO UPDATE SET "
                 "value = excluded.value, updated_at = excluded.updated_at, "
                 "updated_by = excluded.updated_by",
    [STMT_DELETE] = "DELETE FROM policy_overrides WHERE kind = ? AND key = ?",
};

static int
read_row(sqlite3_stmt *st, struct db_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->kind = (enum kind)db_col_name(st, 0, kind_parse);
	p->key = db_col_text(st, 1);
	p->value = db_col_text(st, 2);
	p->updated_at = sqlite3_column_int64(st, 3);
	p->updated_by = sqlite3_column_int64(st, 4);
	p->updated_by_name = db_col_text(st, 5);
	if ((int)p->kind < 0 || p->key == NULL || p->value == NULL ||
	    (sqlite3_column_type(st, 5) != SQLITE_NULL && p->updated_by_name == NULL)) {
		db_policy_free(p);
		return -1;
	}
	return 0;
}

static int
read_policy_v(sqlite3_stmt *st, void *row)
{
	return read_row(st, row);
}

static void
free_policies_v(void *rows, size_t n)
{
	db_policies_free(rows, n);
}

int
db_policy_list(struct db_conn *c, struct db_policy **out, size_t *n)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_LIST]);
	void *rows;

	if (st == NULL)
		return -1;
	if (db_list_rows(c, st, sizeof(struct db_policy), "policies", read_policy_v, free_policies_v, &rows, n) != 0)
		return -1;
	*out = rows;
	return 0;
}

int
db_policy_set(struct db_conn *c, const struct db_policy *p)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_SET]);

	if (st == NULL)
		return -1;
	if (db_bind_text(st, 1, kind_name(p->kind)) ||
	    db_bind_text(st, 2, p->key) ||
	    db_bind_text(st, 3, p->value) ||
	    db_bind_int(st, 4, p->updated_at))
		goto fail;
	if (p->updated_by > 0 ? db_bind_int(st, 5, p->updated_by) : db_bind_text(st, 5, NULL))
		goto fail;
	return db_exec_stmt(c, st);
fail:
	db_reset(st);
	return -1;
}

int
db_policy_delete(struct db_conn *c, enum kind kind, const char *key)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_DELETE]);

	if (st == NULL)
		return -1;
	if (db_bind_text(st, 1, kind_name(kind)) || db_bind_text(st, 2, key)) {
		db_reset(st);
		return -1;
	}
	if (db_exec_stmt(c, st) != 0)
		return -1;
	return sqlite3_changes(c->h) > 0;
}

void
db_policy_free(struct db_policy *p)
{
	if (p == NULL)
		return;
	free(p->key);
	free(p->value);
	free(p->updated_by_name);
	memset(p, 0, sizeof(*p));
}

void
db_policies_free(struct db_policy *p, size_t n)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < n; i++)
		db_policy_free(&p[i]);
	free(p);
}
