/*
 * db_queue.c: storage side of the staff queue (open items by nearest due time, filtered, with
 * keyset pagination) and of the public board (published items, newest reply first).
 *
 * The queue has one statement per leading index, so that a page reads O(limit) index entries:
 * the filter given first among section, assignee and state picks the index
 * (items_section_queue, items_assignee_queue, items_state_queue), and every other filter is a
 * residual condition with a "not given" value. The keyset cursor and the due bound are both
 * written as ranges on next_due, so the scan of the chosen index starts at the cursor and stops
 * at the bound (overdue: next_due < now). Without any of the three, the queue reads
 * items_state_queue once per workflow state, the lists merged in (next_due, id) order (schema
 * 030 dropped items_queue (next_due, id), one index entry fewer for every submission).
 * The items marked by a citizen's e-mail after they ended (schema 032) have a partial index of
 * their own, items_citizen_mail: the filter for them reads it first whatever else is given, and
 * the open queue reads the ended ones among them from it beside the open states' lists.
 */
#include <stdlib.h>
#include <string.h>

#include "db_int.h"

#define TEXT_MAX 1024 /* bytes of a search text (service/ takes 100 code points: 400 bytes) */

enum stmt {
	STMT_QUEUE_ALL,
	STMT_QUEUE_SECTION,
	STMT_QUEUE_ASSIGNEE,
	STMT_QUEUE_STATE,
	STMT_QUEUE_MAIL,
	STMT_QUEUE_MAIL_COUNT,
	STMT_ITEM_MAIL_MARK,
	STMT_ITEM_MAIL_UNMARK,
	STMT_PUBLIC_LIST,
	STMT_PUBLIC_MONTHS,
	STMT_PUBLIC_SEARCH,
	STMT_PUBLIC_GET,
	STMT__MAX
};

/* ?1 section_id (0 any), ?2 assignee_id (0 any), ?3 state (NULL any), ?4 1: open items only,
 * ?5 kind (NULL any), ?6 largest next_due, ?7 ?8 cursor (next_due, id), ?9 the search's words
 * (a BLOB of struct db_search's words; NULL any: db_search.c's cd_match), ?10 limit. */
#define QUEUE_HEAD(index)                                                                          \
	"SELECT i.id, i.tracking, i.kind, i.subject, i.state, s.name, a.username, i.received, "    \
	"i.next_due, i.waiting_since, v.id, v.at, v.by_id, v.by_name, v.note, v.due, "             \
	"v.section_id, EXISTS (SELECT 1 FROM screening AS sc WHERE sc.item_id = i.id), "           \
	"i.citizen_mail_at FROM items AS i INDEXED BY " index " "                                  \
	"LEFT JOIN sections AS s ON s.id = i.section_id "                                          \
	"LEFT JOIN supervision AS v ON v.item_id = i.id "                                          \
	"LEFT JOIN accounts AS a ON a.id = i.assignee_id WHERE "
#define QUEUE_TAIL                                                                                 \
	"i.next_due >= ?7 AND i.next_due <= ?6 AND (i.next_due > ?7 OR i.id > ?8) "                \
	"AND (?1 = 0 OR i.section_id = ?1) AND (?2 = 0 OR i.assignee_id = ?2) "                    \
	"AND (?3 IS NULL OR i.state = ?3) "                                                        \
	"AND (?4 = 0 OR (i.state <> 'closed' AND i.state <> 'rejected' AND i.state <> 'merged') "  \
	"OR i.citizen_mail_at IS NOT NULL) "                                                       \
	"AND (?5 IS NULL OR i.kind = ?5) "                                                         \
	"AND (?9 IS NULL OR cd_match(i.subject, i.body, ?9)) "                                     \
	"ORDER BY i.next_due, i.id LIMIT ?10"

#define PUBLIC_COLS                                                                                \
	"SELECT id, tracking, kind, public_subject, public_body, public_reply, received, "         \
	"replied_at FROM items "

/* The published items of each month between bounds ?k and ?k+1 (DB_PUBLIC_MONTHS of them). */
#define MONTH_SUM(a, b) "COALESCE(SUM(replied_at >= ?" #a " AND replied_at < ?" #b "), 0)"
#define MONTH_SUMS                                                                                                                              \
	MONTH_SUM(1, 2)                                                                                                                         \
	", " MONTH_SUM(2, 3) ", " MONTH_SUM(3, 4) ", " MONTH_SUM(4, 5) ", " MONTH_SUM(                                                          \
	    5,                                                                                                                                  \
	    6) ", " MONTH_SUM(6,                                                                                                                \
	                      7) ", " MONTH_SUM(7,                                                                                              \
	                                        8) ", " MONTH_SUM(8,                                                                            \
	                                                          9) ", " MONTH_SUM(9,                                                          \
	                                                                            10) ","                                                     \
	                                                                                " " MONTH_SUM(10,                                       \
	                                                                                              11) ", " MONTH_SUM(11,                    \
	                                                                                                                 12) ", " MONTH_SUM(12, \
	                                                                                                                                    13)

/* The board's search through board_fts (schema 016): ?1 the text, ?2 its LIKE pattern, ?3 the
 * cursor as a board_fts rowid (replied_at * 2^31 + id; larger than any: first page), ?4 limit,
 * ?5 kind (NULL any), ?6 ?7 the replies' period [from, to), ?8 its start as a board_fts rowid
 * (?3 is at most its end's). The text becomes the phrase of the
 * six-byte pieces (in hex) that start at its characters, or if shorter than six bytes the prefix
 * of its hex, with the functions the triggers index with; every row found is checked against
 * the texts themselves. */
#define PUBLIC_SEARCH                                                                              \
	"SELECT i.id, i.tracking, i.kind, i.public_subject, i.public_body, i.public_reply, "       \
	"i.received, i.replied_at FROM board_fts AS f "                                            \
	"CROSS JOIN items AS i ON i.id = (f.rowid & 2147483647) "                                  \
	"WHERE f.board_fts MATCH (CASE WHEN length(CAST(?1 AS BLOB)) < 6 "                         \
	"THEN '\"' || hex(lower(?1)) || '\"*' "                                                    \
	"ELSE '\"' || (SELECT group_concat(hex(lower(substr(CAST(?1 AS BLOB), p.i, 6))), ' ') "    \
	"FROM board_pos AS p WHERE p.i <= length(CAST(?1 AS BLOB)) - 5 AND "                       \
	"substr(CAST(?1 AS BLOB), p.i, 1) NOT BETWEEN x'80' AND x'BF') || '\"' END) "              \
	"AND f.rowid < ?3 AND f.rowid >= ?8 AND i.published = 1 AND i.publish = 1 "                \
	"AND i.replied_at >= ?6 AND i.replied_at < ?7 AND (?5 IS NULL OR i.kind = ?5) "            \
	"AND (i.public_subject LIKE ?2 ESCAPE '\\' OR i.public_body LIKE ?2 ESCAPE '\\' "          \
	"OR i.public_reply LIKE ?2 ESCAPE '\\') ORDER BY f.rowid DESC LIMIT ?4"

/* The queue without a section, assignee or state filter (STMT_QUEUE_ALL): the entries of
 * items_state_queue of each workflow state (a list each, in (next_due, id) order), merged by
 * SQLite (MERGE (UNION ALL): each list read in its index's order, so a page reads its own
 * entries and one more per list), then each row shown read by its rowid. The same parameters
 * as QUEUE_TAIL; ?4 (open items only) leaves out the lists of the three ended states whole (a
 * condition on parameters only is tested once, before the list is read). A workflow state
 * added to db.h needs its list here (the _Static_assert below). */
#define QUEUE_ALL_LIST(state)                                                                      \
	"SELECT i.next_due, i.id FROM items AS i INDEXED BY items_state_queue "                    \
	"WHERE i.state = '" state "' AND i.next_due >= ?7 AND i.next_due <= ?6 "                   \
	"AND (i.next_due > ?7 OR i.id > ?8) AND (?1 = 0 OR i.section_id = ?1) "                    \
	"AND (?2 = 0 OR i.assignee_id = ?2) AND (?3 IS NULL OR i.state = ?3) "                     \
	"AND (?5 IS NULL OR i.kind = ?5) "                                                         \
	"AND (?9 IS NULL OR cd_match(i.subject, i.body, ?9)) "
#define QUEUE_ALL_OPEN(state) QUEUE_ALL_LIST(state) "UNION ALL "
#define QUEUE_ALL_ENDED(state) QUEUE_ALL_LIST(state) "AND ?4 = 0 "
/* with ?4, the ended items that carry the mark of a citizen's e-mail (schema 032) */
#define QUEUE_ALL_MARKED                                                                           \
	"SELECT i.next_due, i.id FROM items AS i INDEXED BY items_citizen_mail "                   \
	"WHERE i.citizen_mail_at IS NOT NULL AND ?4 = 1 "                                          \
	"AND (i.state = 'closed' OR i.state = 'rejected' OR i.state = 'merged') "                  \
	"AND i.next_due >= ?7 AND i.next_due <= ?6 "                                               \
	"AND (i.next_due > ?7 OR i.id > ?8) AND (?1 = 0 OR i.section_id = ?1) "                    \
	"AND (?2 = 0 OR i.assignee_id = ?2) AND (?3 IS NULL OR i.state = ?3) "                     \
	"AND (?5 IS NULL OR i.kind = ?5) "                                                         \
	"AND (?9 IS NULL OR cd_match(i.subject, i.body, ?9)) "
#define QUEUE_ALL                                                                                  \
	"WITH k(next_due, id) AS (SELECT next_due, id FROM ("                                      \
	QUEUE_ALL_OPEN("received") QUEUE_ALL_OPEN("assigned") QUEUE_ALL_OPEN("in_progress")        \
	QUEUE_ALL_OPEN("waiting_citizen") QUEUE_ALL_OPEN("extension_requested")                    \
	QUEUE_ALL_OPEN("drafted") QUEUE_ALL_OPEN("in_review") QUEUE_ALL_OPEN("returned")           \
	QUEUE_ALL_OPEN("approved") QUEUE_ALL_OPEN("replied") QUEUE_ALL_OPEN("forwarded")           \
	QUEUE_ALL_ENDED("closed") "UNION ALL " QUEUE_ALL_ENDED("rejected") "UNION ALL "            \
	QUEUE_ALL_ENDED("merged") "UNION ALL " QUEUE_ALL_MARKED                                    \
	") ORDER BY next_due, id LIMIT ?10) "                                                      \
	"SELECT i.id, i.tracking, i.kind, i.subject, i.state, s.name, a.username, i.received, "    \
	"i.next_due, i.waiting_since, v.id, v.at, v.by_id, v.by_name, v.note, v.due, "             \
	"v.section_id, EXISTS (SELECT 1 FROM screening AS sc WHERE sc.item_id = i.id), "           \
	"i.citizen_mail_at FROM k CROSS JOIN items AS i ON i.id = k.id "                           \
	"LEFT JOIN sections AS s ON s.id = i.section_id "                                          \
	"LEFT JOIN supervision AS v ON v.item_id = i.id "                                          \
	"LEFT JOIN accounts AS a ON a.id = i.assignee_id ORDER BY k.next_due, k.id"
_Static_assert(WF_STATE__MAX == 14, "QUEUE_ALL lists every workflow state");

static const char *const stmts[STMT__MAX] = {
    [STMT_QUEUE_ALL] = QUEUE_ALL,
    [STMT_QUEUE_SECTION] = QUEUE_HEAD("items_section_queue") "i.section_id = ?1 AND " QUEUE_TAIL,
    [STMT_QUEUE_ASSIGNEE] = QUEUE_HEAD("items_assignee_queue") "i.assignee_id = ?2 AND " QUEUE_TAIL,
    [STMT_QUEUE_STATE] = QUEUE_HEAD("items_state_queue") "i.state = ?3 AND " QUEUE_TAIL,
    [STMT_QUEUE_MAIL] =
        QUEUE_HEAD("items_citizen_mail") "i.citizen_mail_at IS NOT NULL AND " QUEUE_TAIL,
    /* ?1 section_id (0 any) */
    [STMT_QUEUE_MAIL_COUNT] =
        "SELECT count(*) FROM items AS i INDEXED BY items_citizen_mail "
        "WHERE i.citizen_mail_at IS NOT NULL AND (?1 = 0 OR i.section_id = ?1)",
    /* ?1 id, ?2 the e-mail's time */
    [STMT_ITEM_MAIL_MARK] =
        "UPDATE items SET citizen_mail_at = max(coalesce(citizen_mail_at, 0), ?2) WHERE id = ?1",
    [STMT_ITEM_MAIL_UNMARK] = "UPDATE items SET citizen_mail_at = NULL "
                              "WHERE id = ?1 AND citizen_mail_at IS NOT NULL",
    [STMT_PUBLIC_LIST] =
        PUBLIC_COLS "INDEXED BY items_public WHERE published = 1 AND publish = 1 "
                    "AND replied_at <= ?1 AND (replied_at < ?1 OR id < ?2) "
                    "AND replied_at >= ?6 AND replied_at < ?7 AND (?5 IS NULL OR kind = ?5) "
                    "AND (?3 IS NULL OR public_subject LIKE ?3 ESCAPE '\\' "
                    "OR public_body LIKE ?3 ESCAPE '\\' OR public_reply LIKE ?3 ESCAPE '\\') "
                    "ORDER BY replied_at DESC, id DESC LIMIT ?4",
    /* ?1..?13: the bounds of DB_PUBLIC_MONTHS months, oldest first; ?14 kind (NULL any) */
    [STMT_PUBLIC_MONTHS] =
        "SELECT " MONTH_SUMS " FROM items INDEXED BY items_public WHERE published = 1 "
        "AND publish = 1 AND replied_at >= ?1 AND replied_at < ?13 "
        "AND (?14 IS NULL OR kind = ?14)",
    [STMT_PUBLIC_SEARCH] = PUBLIC_SEARCH,
    [STMT_PUBLIC_GET] = PUBLIC_COLS "WHERE tracking = ? AND published = 1 AND publish = 1",
};

/* "%text%" with the LIKE wildcards % and _ and the escape \ taken literally: a new string, or
 * NULL (out of memory, text NULL, or longer than TEXT_MAX: never cut, which would change what
 * it finds). */
static char *
like_pattern(const char *text)
{
	size_t i, n = 0, len;
	char *p;

	if (text == NULL)
		return NULL;
	len = strlen(text);
	if (len > TEXT_MAX)
		return NULL;
	p = malloc(len * 2 + 3);
	if (p == NULL)
		return NULL;
	p[n++] = '%';
	for (i = 0; i < len; i++) {
		if (text[i] == '%' || text[i] == '_' || text[i] == '\\')
			p[n++] = '\\';
		p[n++] = text[i];
	}
	p[n++] = '%';
	p[n] = '\0';
	return p;
}

void
db_queue_rows_free(struct db_queue_row *rows, size_t n)
{
	size_t i;

	if (rows == NULL)
		return;
	for (i = 0; i < n; i++) {
		db_row_free(&rows[i].row); /* and the strings lent from it */
		if (rows[i].supervision != NULL) {
			db_supervision_free(rows[i].supervision);
			free(rows[i].supervision);
		}
	}
	free(rows);
}

/* A copy of the next column's text (the supervision order owns its strings). */
static char *
rowc_copy(struct db_row_cursor *rc)
{
	const char *s = db_rowc_text(rc);

	return s != NULL ? strdup(s) : NULL;
}

/* Reads the row (kept whole in r->row, for a cache of answers to compare) and the fields lent
 * from it, in the order of QUEUE_HEAD's columns. */
static int
queue_row(sqlite3_stmt *st, struct db_queue_row *r)
{
	struct db_row_cursor rc;

	memset(r, 0, sizeof(*r));
	if (db_row_read(st, &r->row) != 0)
		return -1;
	rc.p = r->row.p;
	rc.end = r->row.p + r->row.len;
	r->id = db_rowc_int(&rc);
	r->tracking = DB_LENT(db_rowc_text(&rc));
	r->kind = (enum kind)db_rowc_name(&rc, kind_parse);
	r->subject = DB_LENT(db_rowc_text(&rc));
	r->state = (enum wf_state)db_rowc_name(&rc, wf_state_parse);
	r->section = DB_LENT(db_rowc_text(&rc));
	r->assignee = DB_LENT(db_rowc_text(&rc));
	r->received = db_rowc_int(&rc);
	r->next_due = db_rowc_int(&rc);
	r->waiting_since = db_rowc_int(&rc);
	if (db_rowc_type(&rc) != SQLITE_NULL) { /* the supervision order, joined */
		struct db_supervision *v = calloc(1, sizeof(*v));

		if (v == NULL)
			return -1;
		r->supervision = v;
		v->id = db_rowc_int(&rc);
		v->item_id = r->id;
		v->at = db_rowc_int(&rc);
		v->by_id = db_rowc_int(&rc);
		v->by_name = rowc_copy(&rc);
		v->note = rowc_copy(&rc);
		v->due = db_rowc_int(&rc);
		v->section_id = db_rowc_int(&rc);
		if (v->by_name == NULL || v->note == NULL)
			return -1;
	} else {
		int i;

		for (i = 10; i <= 16; i++) /* past the order's columns, all NULL */
			(void)db_rowc_int(&rc);
	}
	r->screened = (int)db_rowc_int(&rc);
	r->citizen_mail_at = db_rowc_int(&rc); /* NULL: 0 */
	if (r->tracking == NULL || (int)r->kind < 0 || r->subject == NULL || (int)r->state < 0)
		return -1;
	return 0;
}

int
db_queue_list(struct db_conn *c, const struct db_queue_filter *f, struct db_queue_row **out,
              size_t *n)
{
	enum stmt which = STMT_QUEUE_ALL;
	struct db_queue_row *v = NULL;
	sqlite3_stmt *st;
	const char *state = f->states == DB_STATES_ONE ? wf_state_name(f->state) : NULL;
	size_t len = 0;
	int rc = SQLITE_DONE, open_only = 0, limit = f->limit;

	if (limit < 1 || limit > DB_PAGE_MAX)
		limit = DB_PAGE_MAX;
	if (f->states == DB_STATES_OPEN)
		open_only = 1;
	if (f->citizen_mail)
		which = STMT_QUEUE_MAIL; /* the fewest entries: only the marked items */
	else if (f->section_id != 0)
		which = STMT_QUEUE_SECTION;
	else if (f->assignee_id != 0)
		which = STMT_QUEUE_ASSIGNEE;
	else if (state != NULL)
		which = STMT_QUEUE_STATE;
	v = calloc((size_t)limit, sizeof(*v));
	st = db_prep(c, stmts[which]);
	if (v == NULL || st == NULL)
		goto fail;
	if (db_bind_int(st, 1, f->section_id) ||
	    db_bind_int(st, 2, f->assignee_id) ||
	    db_bind_text(st, 3, state) ||
	    db_bind_int(st, 4, open_only) ||
	    db_bind_text(st, 5, f->by_kind ? kind_name(f->kind) : NULL) ||
	    db_bind_int(st, 6, f->due_before != 0 ? f->due_before - 1 : DB_NO_DUE) ||
	    db_bind_int(st, 7, f->after_id != 0 ? f->after_due : INT64_MIN) ||
	    db_bind_int(st, 8, f->after_id) ||
	    (f->search != NULL && f->search->n > 0
	         ? db_bind_blob(st, 9, f->search->words, f->search->len)
	         : db_bind_text(st, 9, NULL)) ||
	    db_bind_int(st, 10, limit))
		goto fail;
	while (len < (size_t)limit && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (queue_row(st, &v[len++]) != 0)
			goto fail;
	}
	if (len < (size_t)limit && rc != SQLITE_DONE) {
		db_log("queue: %s", sqlite3_errmsg(c->h));
		goto fail;
	}
	db_reset(st);
	*out = v;
	*n = len;
	return 0;
fail:
	if (st != NULL)
		db_reset(st);
	db_queue_rows_free(v, len);
	return -1;
}

int
db_queue_mail_count(struct db_conn *c, int64_t section_id, int64_t *n)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_QUEUE_MAIL_COUNT]);
	int ret = -1;

	if (st == NULL || db_bind_int(st, 1, section_id) != 0)
		goto out;
	if (sqlite3_step(st) != SQLITE_ROW) {
		db_log("queue: marked items: %s", sqlite3_errmsg(c->h));
		goto out;
	}
	*n = sqlite3_column_int64(st, 0);
	ret = 0;
out:
	if (st != NULL)
		db_reset(st);
	return ret;
}

int
db_item_mail_mark(struct db_conn *c, int64_t id, int64_t at)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_ITEM_MAIL_MARK]);
	int ret = -1;

	if (st == NULL || db_bind_int(st, 1, id) != 0 || db_bind_int(st, 2, at) != 0)
		goto out;
	if (sqlite3_step(st) != SQLITE_DONE) {
		db_log("item %lld: mark of a citizen's e-mail: %s", (long long)id,
		       sqlite3_errmsg(c->h));
		goto out;
	}
	ret = 0;
out:
	if (st != NULL)
		db_reset(st);
	return ret;
}

int
db_item_mail_unmark(struct db_conn *c, int64_t id)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_ITEM_MAIL_UNMARK]);
	int ret = -1;

	if (st == NULL || db_bind_int(st, 1, id) != 0)
		goto out;
	if (sqlite3_step(st) != SQLITE_DONE) {
		db_log("item %lld: the mark of a citizen's e-mail: %s", (long long)id,
		       sqlite3_errmsg(c->h));
		goto out;
	}
	ret = sqlite3_changes(c->h) > 0 ? 1 : 0;
out:
	if (st != NULL)
		db_reset(st);
	return ret;
}

/* --- the public board ------------------------------------------------------------------- */

void
db_public_row_free(struct db_public_row *r)
{
	if (r == NULL)
		return;
	db_row_free(&r->row); /* and the strings lent from it */
	memset(r, 0, sizeof(*r));
}

void
db_public_rows_free(struct db_public_row *rows, size_t n)
{
	size_t i;

	if (rows == NULL)
		return;
	for (i = 0; i < n; i++)
		db_public_row_free(&rows[i]);
	free(rows);
}

/* Reads the row (kept whole in r->row) and the fields lent from it, in the order of
 * PUBLIC_COLS (and PUBLIC_SEARCH's). */
static int
public_row(sqlite3_stmt *st, struct db_public_row *r)
{
	struct db_row_cursor rc;

	memset(r, 0, sizeof(*r));
	if (db_row_read(st, &r->row) != 0)
		return -1;
	rc.p = r->row.p;
	rc.end = r->row.p + r->row.len;
	r->id = db_rowc_int(&rc);
	r->tracking = DB_LENT(db_rowc_text(&rc));
	r->kind = (enum kind)db_rowc_name(&rc, kind_parse);
	r->subject = DB_LENT(db_rowc_text(&rc));
	r->body = DB_LENT(db_rowc_text(&rc));
	r->reply = DB_LENT(db_rowc_text(&rc));
	r->received = db_rowc_int(&rc);
	r->replied_at = db_rowc_int(&rc);
	if (r->tracking == NULL || (int)r->kind < 0)
		return -1;
	return 0;
}

int
db_public_list(struct db_conn *c, const char *text, int64_t before_replied, int64_t before_id,
               int limit, struct db_public_row **out, size_t *n)
{
	struct db_public_filter f;

	memset(&f, 0, sizeof(f));
	f.text = text;
	f.before_replied = before_replied;
	f.before_id = before_id;
	f.limit = limit;
	return db_public_find(c, &f, out, n);
}

int
db_public_months(struct db_conn *c, const int64_t bounds[DB_PUBLIC_MONTHS + 1], int by_kind,
                 enum kind kind, int64_t counts[DB_PUBLIC_MONTHS])
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_PUBLIC_MONTHS]);
	int i, ret = -1;

	if (st == NULL)
		return -1;
	for (i = 0; i <= DB_PUBLIC_MONTHS; i++)
		if (db_bind_int(st, i + 1, bounds[i]))
			goto out;
	if (db_bind_text(st, DB_PUBLIC_MONTHS + 2, by_kind ? kind_name(kind) : NULL))
		goto out;
	if (sqlite3_step(st) != SQLITE_ROW) {
		db_log("public board months: %s", sqlite3_errmsg(c->h));
		goto out;
	}
	for (i = 0; i < DB_PUBLIC_MONTHS; i++)
		counts[i] = sqlite3_column_int64(st, i);
	ret = 0;
out:
	db_reset(st);
	return ret;
}

int
db_public_find(struct db_conn *c, const struct db_public_filter *f, struct db_public_row **out,
               size_t *n)
{
	struct db_public_row *v = NULL;
	sqlite3_stmt *st;
	char *pattern = NULL;
	size_t len = 0;
	int rc = SQLITE_DONE, limit = f->limit;
	int64_t before_replied = f->before_replied, before_id = f->before_id;
	const char *text = f->text;

	if (limit < 1 || limit > DB_PAGE_MAX)
		limit = DB_PAGE_MAX;
	if (before_id == 0) {
		before_replied = INT64_MAX;
		before_id = INT64_MAX;
	}
	if (text != NULL && text[0] == '\0')
		text = NULL;
	if (text != NULL) {
		pattern = like_pattern(text);
		if (pattern == NULL)
			return -1;
	}
	v = calloc((size_t)limit, sizeof(*v));
	st = db_prep(c, stmts[text != NULL ? STMT_PUBLIC_SEARCH : STMT_PUBLIC_LIST]);
	if (v == NULL || st == NULL)
		goto fail;
	if (text != NULL) {
		/* the cursor as a board_fts rowid; a first page (or a cursor past 2106) reads from
		 * the newest */
		int64_t key = INT64_MAX;

		int64_t low = INT64_MIN;

		if (before_replied >= 0 && before_replied < INT64_C(4294967296) && before_id > 0 &&
		    before_id < INT64_C(2147483648))
			key = before_replied * INT64_C(2147483648) + before_id;
		/* a period bounds the index's rowids too, so that a month long past does not
		 * read every newer match first */
		if (f->to > 0 && f->to < INT64_C(4294967296) && f->to * INT64_C(2147483648) < key)
			key = f->to * INT64_C(2147483648);
		if (f->from > 0 && f->from < INT64_C(4294967296))
			low = f->from * INT64_C(2147483648);
		if (db_bind_text(st, 1, text) ||
		    db_bind_text(st, 2, pattern) ||
		    db_bind_int(st, 3, key) ||
		    db_bind_int(st, 4, limit) ||
		    db_bind_int(st, 8, low))
			goto fail;
	} else if (db_bind_int(st, 1, before_replied) ||
	           db_bind_int(st, 2, before_id) ||
	           db_bind_text(st, 3, pattern) ||
	           db_bind_int(st, 4, limit)) {
		goto fail;
	}
	if (db_bind_text(st, 5, f->by_kind ? kind_name(f->kind) : NULL) ||
	    db_bind_int(st, 6, f->from) || db_bind_int(st, 7, f->to > 0 ? f->to : INT64_MAX))
		goto fail;
	while (len < (size_t)limit && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (public_row(st, &v[len++]) != 0)
			goto fail;
	}
	if (len < (size_t)limit && rc != SQLITE_DONE) {
		db_log("public board: %s", sqlite3_errmsg(c->h));
		goto fail;
	}
	db_reset(st);
	free(pattern);
	*out = v;
	*n = len;
	return 0;
fail:
	if (st != NULL)
		db_reset(st);
	db_public_rows_free(v, len);
	free(pattern);
	return -1;
}

int
db_public_get(struct db_conn *c, const char *tracking, struct db_public_row *out)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_PUBLIC_GET]);
	struct db_public_row r;
	int rc, ret;

	if (st == NULL || db_bind_text(st, 1, tracking) != 0)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		ret = public_row(st, &r) == 0 ? 1 : -1;
		if (ret == 1)
			*out = r;
		else
			db_public_row_free(&r);
	} else if (rc == SQLITE_DONE) {
		ret = 0;
	} else {
		db_log("public item: %s", sqlite3_errmsg(c->h));
		ret = -1;
	}
	db_reset(st);
	return ret;
}
