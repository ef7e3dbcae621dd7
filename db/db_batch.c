/* db_batch.c: a table-valued function over an array of C rows, so that one INSERT … SELECT stores
 * a whole batch (the ladder scan's outbox keys and ladder entries, issue #15). Each statement run
 * once per row opens a cursor on the table and on each of its indexes, descends each b-tree from
 * its root and closes them again; one statement per batch opens them once and appends.
 *
 *   SELECT c0, c1, … FROM db_rows(?1)      (c0 … c23)
 *
 * ?1 is bound with db_bind_rows to a struct db_rows (rows, their size, and which member each
 * column c0…c23 is): a pointer that only C code can bind (sqlite3_bind_pointer), never a value
 * from a request. Without it, or with another pointer type, the function yields no row. */
#include <stddef.h>
#include <string.h>

#include "db_int.h"

#define ROWS_TYPE "civicdesk.db_rows" /* sqlite3_bind_pointer's type: only ours are read */
#define COL_ARG DB_ROWS_COLS          /* the hidden column that takes the argument */

struct rows_cursor {
	sqlite3_vtab_cursor base;
	const struct db_rows *r; /* NULL: no rows */
	size_t i;                /* the row at hand */
};

static int
rows_connect(sqlite3 *h, void *aux, int argc, const char *const *argv, sqlite3_vtab **out,
             char **err)
{
	sqlite3_vtab *v;
	int rc;

	(void)aux;
	(void)argc;
	(void)argv;
	(void)err;
	rc = sqlite3_declare_vtab(h, "CREATE TABLE x(c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, "
	                              "c10, c11, c12, c13, c14, c15, c16, c17, c18, c19, c20, "
	                              "c21, c22, c23, arg HIDDEN)");
	if (rc != SQLITE_OK)
		return rc;
	sqlite3_vtab_config(h, SQLITE_VTAB_DIRECTONLY); /* not from a trigger or a view */
	v = sqlite3_malloc(sizeof(*v));
	if (v == NULL)
		return SQLITE_NOMEM;
	memset(v, 0, sizeof(*v));
	*out = v;
	return SQLITE_OK;
}

static int
rows_disconnect(sqlite3_vtab *v)
{
	sqlite3_free(v);
	return SQLITE_OK;
}

/* Only with its argument: db_rows(?) with an equality on the hidden column. */
static int
rows_best_index(sqlite3_vtab *v, sqlite3_index_info *info)
{
	int i;

	(void)v;
	for (i = 0; i < info->nConstraint; i++) {
		const struct sqlite3_index_constraint *k = &info->aConstraint[i];

		if (k->iColumn == COL_ARG && k->op == SQLITE_INDEX_CONSTRAINT_EQ && k->usable) {
			info->aConstraintUsage[i].argvIndex = 1;
			info->aConstraintUsage[i].omit = 1;
			info->idxNum = 1;
			info->estimatedCost = 1000;
			info->estimatedRows = 1000;
			return SQLITE_OK;
		}
	}
	return SQLITE_CONSTRAINT; /* not without it */
}

static int
rows_open(sqlite3_vtab *v, sqlite3_vtab_cursor **out)
{
	struct rows_cursor *cur;

	(void)v;
	cur = sqlite3_malloc(sizeof(*cur));
	if (cur == NULL)
		return SQLITE_NOMEM;
	memset(cur, 0, sizeof(*cur));
	*out = &cur->base;
	return SQLITE_OK;
}

static int
rows_close(sqlite3_vtab_cursor *c)
{
	sqlite3_free(c);
	return SQLITE_OK;
}

static int
rows_filter(sqlite3_vtab_cursor *c, int idx, const char *idxstr, int argc, sqlite3_value **argv)
{
	struct rows_cursor *cur = (struct rows_cursor *)c;

	(void)idxstr;
	cur->r = idx == 1 && argc == 1 ? sqlite3_value_pointer(argv[0], ROWS_TYPE) : NULL;
	cur->i = 0;
	return SQLITE_OK;
}

static int
rows_next(sqlite3_vtab_cursor *c)
{
	((struct rows_cursor *)c)->i++;
	return SQLITE_OK;
}

static int
rows_eof(sqlite3_vtab_cursor *c)
{
	const struct rows_cursor *cur = (const struct rows_cursor *)c;

	return cur->r == NULL || cur->i >= cur->r->n;
}

static int
rows_column(sqlite3_vtab_cursor *c, sqlite3_context *ctx, int col)
{
	const struct rows_cursor *cur = (const struct rows_cursor *)c;
	const struct db_rows *r = cur->r;
	const char *row;

	if (r == NULL || col < 0 || col >= DB_ROWS_COLS || r->cols[col].type == DB_ROWS_NONE) {
		sqlite3_result_null(ctx);
		return SQLITE_OK;
	}
	row = (const char *)r->rows + cur->i * r->size + r->cols[col].offset;
	if (r->cols[col].type == DB_ROWS_INT) {
		int64_t v;

		memcpy(&v, row, sizeof(v));
		sqlite3_result_int64(ctx, v);
	} else if (r->cols[col].type == DB_ROWS_HASH) {
		/* in the row, which outlives the statement's step */
		sqlite3_result_blob(ctx, row, DB_ROWS_HASH_LEN, SQLITE_STATIC);
	} else {
		const char *s;

		memcpy(&s, row, sizeof(s));
		/* the rows outlive the statement's step (db_bind_rows' contract) */
		if (s != NULL)
			sqlite3_result_text(ctx, s, -1, SQLITE_STATIC);
		else
			sqlite3_result_null(ctx);
	}
	return SQLITE_OK;
}

static int
rows_rowid(sqlite3_vtab_cursor *c, sqlite3_int64 *rowid)
{
	*rowid = (sqlite3_int64)((const struct rows_cursor *)c)->i;
	return SQLITE_OK;
}

static const sqlite3_module rows_module = {
    .iVersion = 0,
    .xCreate = NULL, /* eponymous only: db_rows exists in every schema, no CREATE */
    .xConnect = rows_connect,
    .xBestIndex = rows_best_index,
    .xDisconnect = rows_disconnect,
    .xDestroy = rows_disconnect,
    .xOpen = rows_open,
    .xClose = rows_close,
    .xFilter = rows_filter,
    .xNext = rows_next,
    .xEof = rows_eof,
    .xColumn = rows_column,
    .xRowid = rows_rowid,
};

int
db_rows_register(sqlite3 *h)
{
	int rc = sqlite3_create_module_v2(h, "db_rows", &rows_module, NULL, NULL);

	return rc == SQLITE_OK ? 0 : -1;
}

int
db_bind_rows(sqlite3_stmt *st, int i, const struct db_rows *r)
{
	int rc = sqlite3_bind_pointer(st, i, (void *)(uintptr_t)r, ROWS_TYPE, NULL);

	return rc == SQLITE_OK ? 0 : -1;
}

int
db_rows_set(struct db_rows *r, const void *rows, size_t n, size_t size,
            const struct db_rows_col *cols, size_t ncols)
{
	if (ncols > DB_ROWS_COLS)
		return -1;
	memset(r, 0, sizeof(*r));
	r->rows = rows;
	r->n = n;
	r->size = size;
	memcpy(r->cols, cols, ncols * sizeof(*cols));
	return 0;
}

int
db_rows_exec(struct db_conn *c, const char *sql, const struct db_rows *r)
{
	sqlite3_stmt *st = db_prep(c, sql);

	if (st == NULL)
		return -1;
	if (db_bind_rows(st, 1, r) != 0) {
		db_reset(st);
		return -1;
	}
	return db_exec_stmt(c, st);
}
