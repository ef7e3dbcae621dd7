/* db_stats.c: storage of the statistics: per-item facts, the per-day summary (stats_daily,
 * stats_wd), forwards, the period queries of the ranking, ratings and supervision orders. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "db_int.h"

enum stmt {
	STMT_FACT_GET,
	STMT_FACT_PUT,
	STMT_FACT_PUT_MANY,
	STMT_FACT_PUT_MANY_NEW,
	STMT_DAILY_ADD,
	STMT_WD_ADD,
	STMT_DUE_ADD,
	STMT_RATING_COUNT,
	STMT_RATING_MOVE,
	STMT_FORWARD_ADD,
	STMT_FACT_MISSING,
	STMT_CHECKED_GET,
	STMT_CHECKED_SET,
	STMT_ITEM_MAX,
	STMT_P_DAILY,
	STMT_P_FORWARDED,
	STMT_P_OPEN,
	STMT_P_DUE,
	STMT_P_WD,
	STMT_RATING_ADD,
	STMT_RATING_LAST,
	STMT_RATING_FOLLOWUP,
	STMT_RATING_ROUNDS,
	STMT_SUPERVISION_ADD,
	STMT_SUPERVISION_GET,
	STMT__MAX
};

#define FACT_COLS                                                                                  \
	"item_id, section_id, received, accepted, first_end, reopened, ended, outcome, replied_at, " \
	"reply_result, reply_wd, reply_due, supervised, first_due"
#define RATING_COLS                                                                                \
	"id, item_id, round, section_id, at, value, comment, followup, followup_at, followup_by, "   \
	"followup_note"

/* The period statements take ?1 = from, ?2 = to (instants, [from, to)), ?3 = only this section
 * (0: every section), ?4 = the first day, ?5 = the last day, ?6 = the day whose end the open
 * and overdue counts are taken at (sla_day). */
static const char *const stmts[STMT__MAX] = {
	[STMT_FACT_GET] = "SELECT " FACT_COLS " FROM item_facts WHERE item_id = ?",
	/* an UPSERT, not INSERT OR REPLACE: the same row either way (every column is written, and
	 * none is NULL where NOT NULL), but REPLACE may delete, so SQLite opened a statement journal
	 * for each new item's facts (-1,900 instructions a submission, issue 20) */
	[STMT_FACT_PUT] = "INSERT INTO item_facts (" FACT_COLS ") "
	                  "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
	                  "ON CONFLICT (item_id) DO UPDATE SET section_id = excluded.section_id, "
	                  "received = excluded.received, accepted = excluded.accepted, "
	                  "first_end = excluded.first_end, reopened = excluded.reopened, "
	                  "ended = excluded.ended, outcome = excluded.outcome, "
	                  "replied_at = excluded.replied_at, reply_result = excluded.reply_result, "
	                  "reply_wd = excluded.reply_wd, reply_due = excluded.reply_due, "
	                  "supervised = excluded.supervised, first_due = excluded.first_due",
	/* STMT_FACT_PUT for a batch's facts in one statement (db_facts_put): the values
	 * db_fact_put binds */
	[STMT_FACT_PUT_MANY] = "INSERT INTO item_facts (" FACT_COLS ") "
	                       "SELECT c0, c1, c2, nullif(c3, 0), nullif(c4, 0), nullif(c5, 0), "
	                       "nullif(c6, 0), c7, nullif(c8, 0), c9, "
	                       "CASE WHEN c10 >= 0 THEN c10 END, nullif(c11, 0), nullif(c12, 0), "
	                       "nullif(c13, 0) FROM db_rows(?1) WHERE 1 "
	                       "ON CONFLICT (item_id) DO UPDATE SET section_id = excluded.section_id, "
	                       "received = excluded.received, accepted = excluded.accepted, "
	                       "first_end = excluded.first_end, reopened = excluded.reopened, "
	                       "ended = excluded.ended, outcome = excluded.outcome, "
	                       "replied_at = excluded.replied_at, "
	                       "reply_result = excluded.reply_result, reply_wd = excluded.reply_wd, "
	                       "reply_due = excluded.reply_due, supervised = excluded.supervised, "
	                       "first_due = excluded.first_due",
	/* the same for the facts of items that never ended, were accepted, replied or supervised
	 * (every new item's): fewer columns to read from db_rows, the others NULL */
	[STMT_FACT_PUT_MANY_NEW] = "INSERT INTO item_facts (" FACT_COLS ") "
	                           "SELECT c0, c1, c2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "
	                           "NULL, nullif(c11, 0), NULL, NULL FROM db_rows(?1) WHERE 1 "
	                           "ON CONFLICT (item_id) DO UPDATE SET "
	                           "section_id = excluded.section_id, received = excluded.received, "
	                           "accepted = excluded.accepted, first_end = excluded.first_end, "
	                           "reopened = excluded.reopened, ended = excluded.ended, "
	                           "outcome = excluded.outcome, replied_at = excluded.replied_at, "
	                           "reply_result = excluded.reply_result, "
	                           "reply_wd = excluded.reply_wd, reply_due = excluded.reply_due, "
	                           "supervised = excluded.supervised, first_due = excluded.first_due",
	[STMT_DAILY_ADD] = "INSERT INTO stats_daily (section_id, day, open, overdue, received, "
	                   "accepted, replied, on_time, late, wd_sum, rejected, merged, closed, "
	                   "supervised) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
	                   "ON CONFLICT (section_id, day) DO UPDATE SET "
	                   "open = open + excluded.open, overdue = overdue + excluded.overdue, "
	                   "received = received + excluded.received, "
	                   "accepted = accepted + excluded.accepted, "
	                   "replied = replied + excluded.replied, "
	                   "on_time = on_time + excluded.on_time, late = late + excluded.late, "
	                   "wd_sum = wd_sum + excluded.wd_sum, "
	                   "rejected = rejected + excluded.rejected, "
	                   "merged = merged + excluded.merged, closed = closed + excluded.closed, "
	                   "supervised = supervised + excluded.supervised",
	[STMT_WD_ADD] = "INSERT INTO stats_wd (section_id, day, wd, n) VALUES (?, ?, ?, ?) "
	                "ON CONFLICT (section_id, day, wd) DO UPDATE SET n = n + excluded.n",
	[STMT_DUE_ADD] = "INSERT INTO stats_due (due_day, section_id, replied_day, n) "
	                 "VALUES (?, ?, ?, ?) ON CONFLICT (due_day, section_id, replied_day) "
	                 "DO UPDATE SET n = n + excluded.n",
	[STMT_RATING_COUNT] = "INSERT INTO stats_daily (section_id, day, rated, satisfied, "
	                      "basically_satisfied, unsatisfied, followup_open) "
	                      "VALUES (?1, ?2, 1, ?3 = 'satisfied', ?3 = 'basically_satisfied', "
	                      "?3 = 'unsatisfied', ?4 IS 'open') ON CONFLICT (section_id, day) "
	                      "DO UPDATE SET rated = rated + 1, "
	                      "satisfied = satisfied + excluded.satisfied, "
	                      "basically_satisfied = basically_satisfied + "
	                      "excluded.basically_satisfied, "
	                      "unsatisfied = unsatisfied + excluded.unsatisfied, "
	                      "followup_open = followup_open + excluded.followup_open",
	[STMT_RATING_MOVE] = "UPDATE stats_daily SET followup_open = followup_open - 1, "
	                     "reopened = reopened + (?1 = 'reopened') WHERE (section_id, day) = "
	                     "(SELECT section_id, day FROM ratings WHERE id = ?2)",
	[STMT_FORWARD_ADD] = "INSERT INTO stats_forwards (item_id, at, from_section, to_section) "
	                     "VALUES (?, ?, ?, ?)",
	[STMT_FACT_MISSING] = "SELECT id FROM items WHERE id > ? AND NOT EXISTS "
	                      "(SELECT 1 FROM item_facts WHERE item_id = items.id) ORDER BY id LIMIT ?",
	[STMT_CHECKED_GET] = "SELECT last_item FROM stats_checked WHERE id = 1",
	[STMT_CHECKED_SET] = "INSERT INTO stats_checked (id, last_item) "
	                     "SELECT 1, coalesce(max(id), 0) FROM items WHERE id <= ?1 "
	                     "ON CONFLICT (id) DO UPDATE SET last_item = excluded.last_item",
	[STMT_ITEM_MAX] = "SELECT coalesce(max(id), 0) FROM items",
	[STMT_P_DAILY] = "SELECT section_id, sum(received), sum(accepted), sum(replied), "
	                 "sum(on_time), sum(late), sum(rejected), sum(merged), sum(closed), "
	                 "sum(supervised), sum(rated), sum(satisfied), sum(basically_satisfied), "
	                 "sum(unsatisfied), sum(followup_open), sum(reopened) "
	                 "FROM stats_daily WHERE day >= ?4 AND day <= ?5 AND "
	                 "(?3 = 0 OR section_id = ?3) GROUP BY section_id",
	[STMT_P_FORWARDED] = "SELECT from_section, count(*) FROM stats_forwards WHERE at >= ?1 AND "
	                     "at < ?2 AND (?3 = 0 OR from_section = ?3) GROUP BY from_section",
	[STMT_P_OPEN] = "SELECT section_id, sum(open), sum(overdue) FROM stats_daily WHERE day <= ?6 "
	                "AND (?3 = 0 OR section_id = ?3) GROUP BY section_id",
	[STMT_P_DUE] = "SELECT section_id, sum(n), "
	               "sum(CASE WHEN replied_day >= 0 AND replied_day <= ?5 THEN n ELSE 0 END) "
	               "FROM stats_due WHERE due_day >= ?4 AND due_day <= ?5 AND "
	               "(?3 = 0 OR section_id = ?3) GROUP BY section_id",
	[STMT_P_WD] = "SELECT section_id, wd, sum(n) FROM stats_wd WHERE day >= ?4 AND day <= ?5 "
	              "AND (?3 = 0 OR section_id = ?3) GROUP BY section_id, wd "
	              "ORDER BY section_id, wd",
	[STMT_RATING_ADD] = "INSERT INTO ratings (item_id, round, section_id, at, day, value, "
	                    "comment, followup) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
	                    "ON CONFLICT (item_id, round) DO NOTHING",
	[STMT_RATING_LAST] = "SELECT " RATING_COLS " FROM ratings WHERE item_id = ? "
	                     "ORDER BY round DESC LIMIT 1",
	[STMT_RATING_FOLLOWUP] = "UPDATE ratings SET followup = ?, followup_at = ?, followup_by = ?, "
	                         "followup_note = ? WHERE id = ? AND followup = 'open'",
	[STMT_RATING_ROUNDS] = "SELECT count(*) FROM ratings WHERE item_id = ? AND "
	                       "followup = 'reopened'",
	[STMT_SUPERVISION_ADD] = "INSERT INTO supervision (item_id, at, by_id, by_name, note, due, "
	                         "section_id) VALUES (?, ?, ?, ?, ?, ?, ?) "
	                         "ON CONFLICT (item_id) DO NOTHING",
	[STMT_SUPERVISION_GET] = "SELECT id, item_id, at, by_id, by_name, note, due, section_id "
	                         "FROM supervision WHERE item_id = ?",
};

/* Binds v, or SQL NULL for 0. */
static int
bind_opt(sqlite3_stmt *st, int i, int64_t v)
{
	if (v == 0)
		return sqlite3_bind_null(st, i) == SQLITE_OK ? 0 : -1;
	return db_bind_int(st, i, v);
}

static void
copy_col(char *dst, size_t size, sqlite3_stmt *st, int i)
{
	const unsigned char *s = sqlite3_column_text(st, i);

	dst[0] = '\0';
	if (s != NULL) {
		strncpy(dst, (const char *)s, size - 1);
		dst[size - 1] = '\0';
	}
}

/* Steps a statement that answers at most one row: 1 a row, 0 none, -1 error (logged). */
static int
step_one(struct db_conn *c, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	db_step_failed(c, "statistics");
	return -1;
}

int
db_fact_get(struct db_conn *c, int64_t item_id, struct db_fact *out)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_FACT_GET]);
	int rc;

	if (st == NULL || db_bind_int(st, 1, item_id) != 0)
		return -1;
	rc = step_one(c, st);
	if (rc == 1) {
		memset(out, 0, sizeof(*out));
		out->item_id = sqlite3_column_int64(st, 0);
		out->section_id = sqlite3_column_int64(st, 1);
		out->received = sqlite3_column_int64(st, 2);
		out->accepted = sqlite3_column_int64(st, 3);
		out->first_end = sqlite3_column_int64(st, 4);
		out->reopened = sqlite3_column_int64(st, 5);
		out->ended = sqlite3_column_int64(st, 6);
		copy_col(out->outcome, sizeof(out->outcome), st, 7);
		out->replied_at = sqlite3_column_int64(st, 8);
		copy_col(out->reply_result, sizeof(out->reply_result), st, 9);
		out->reply_wd = sqlite3_column_type(st, 10) == SQLITE_NULL ?
		                    -1 :
		                    sqlite3_column_int(st, 10);
		out->reply_due = sqlite3_column_int64(st, 11);
		out->supervised = sqlite3_column_int64(st, 12);
		out->first_due = sqlite3_column_int64(st, 13);
	}
	db_reset(st);
	return rc;
}

int
db_fact_put(struct db_conn *c, const struct db_fact *f)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_FACT_PUT]);

	if (st == NULL)
		return -1;
	if (db_bind_int(st, 1, f->item_id) || db_bind_int(st, 2, f->section_id) ||
	    db_bind_int(st, 3, f->received) || bind_opt(st, 4, f->accepted) ||
	    bind_opt(st, 5, f->first_end) || bind_opt(st, 6, f->reopened) ||
	    bind_opt(st, 7, f->ended) ||
	    db_bind_text(st, 8, f->outcome[0] ? f->outcome : NULL) ||
	    bind_opt(st, 9, f->replied_at) ||
	    db_bind_text(st, 10, f->reply_result[0] ? f->reply_result : NULL) ||
	    (f->reply_wd < 0 ? sqlite3_bind_null(st, 11) != SQLITE_OK :
	                       db_bind_int(st, 11, f->reply_wd) != 0) ||
	    bind_opt(st, 12, f->reply_due) || bind_opt(st, 13, f->supervised) ||
	    bind_opt(st, 14, f->first_due)) {
		db_reset(st);
		return -1;
	}
	return db_exec_stmt(c, st);
}

/* A fact as db_rows reads it (STMT_FACT_PUT_MANY). */
struct fact_row {
	int64_t item_id, section_id, received, accepted, first_end, reopened, ended;
	const char *outcome;
	int64_t replied_at;
	const char *reply_result;
	int64_t reply_wd, reply_due, supervised, first_due;
};

int
db_facts_put(struct db_conn *c, const struct db_fact *v, size_t n)
{
	static const struct db_rows_col cols[] = {
	    {DB_ROWS_INT, offsetof(struct fact_row, item_id)},
	    {DB_ROWS_INT, offsetof(struct fact_row, section_id)},
	    {DB_ROWS_INT, offsetof(struct fact_row, received)},
	    {DB_ROWS_INT, offsetof(struct fact_row, accepted)},
	    {DB_ROWS_INT, offsetof(struct fact_row, first_end)},
	    {DB_ROWS_INT, offsetof(struct fact_row, reopened)},
	    {DB_ROWS_INT, offsetof(struct fact_row, ended)},
	    {DB_ROWS_TEXT, offsetof(struct fact_row, outcome)},
	    {DB_ROWS_INT, offsetof(struct fact_row, replied_at)},
	    {DB_ROWS_TEXT, offsetof(struct fact_row, reply_result)},
	    {DB_ROWS_INT, offsetof(struct fact_row, reply_wd)},
	    {DB_ROWS_INT, offsetof(struct fact_row, reply_due)},
	    {DB_ROWS_INT, offsetof(struct fact_row, supervised)},
	    {DB_ROWS_INT, offsetof(struct fact_row, first_due)},
	};
	struct fact_row small[32], *rows = small;
	struct db_rows r;
	size_t i;
	int ret = -1, fresh = 1;

	if (n == 0)
		return 0;
	if (n > sizeof(small) / sizeof(small[0])) {
		rows = calloc(n, sizeof(*rows));
		if (rows == NULL)
			return -1;
	}
	for (i = 0; i < n; i++) {
		const struct db_fact *f = &v[i];
		struct fact_row *w = &rows[i];

		w->item_id = f->item_id;
		w->section_id = f->section_id;
		w->received = f->received;
		w->accepted = f->accepted;
		w->first_end = f->first_end;
		w->reopened = f->reopened;
		w->ended = f->ended;
		w->outcome = f->outcome[0] ? f->outcome : NULL;
		w->replied_at = f->replied_at;
		w->reply_result = f->reply_result[0] ? f->reply_result : NULL;
		w->reply_wd = f->reply_wd;
		w->reply_due = f->reply_due;
		w->supervised = f->supervised;
		w->first_due = f->first_due;
		fresh = fresh && f->accepted == 0 && f->first_end == 0 && f->reopened == 0 &&
		        f->ended == 0 && f->outcome[0] == '\0' && f->replied_at == 0 &&
		        f->reply_result[0] == '\0' && f->reply_wd < 0 && f->supervised == 0 &&
		        f->first_due == 0;
	}
	if (db_rows_set(&r, rows, n, sizeof(*rows), cols, sizeof(cols) / sizeof(cols[0])) == 0)
		ret = db_rows_exec(c, stmts[fresh ? STMT_FACT_PUT_MANY_NEW : STMT_FACT_PUT_MANY], &r);
	if (rows != small)
		free(rows);
	return ret;
}

int
db_stats_daily_add(struct db_conn *c, int64_t section_id, int32_t day,
                   const struct db_stats_delta *d)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_DAILY_ADD]);
	const int64_t v[] = {
	    section_id, day,         d->open,   d->overdue, d->received, d->accepted, d->replied,
	    d->on_time, d->late,     d->wd_sum, d->rejected, d->merged,  d->closed,   d->supervised,
	};

	return st == NULL ? -1 : db_exec_ints(c, st, v, sizeof(v) / sizeof(v[0]));
}

int
db_stats_wd_add(struct db_conn *c, int64_t section_id, int32_t day, int wd, int n)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_WD_ADD]);
	const int64_t v[] = {section_id, day, wd, n};

	return st == NULL ? -1 : db_exec_ints(c, st, v, sizeof(v) / sizeof(v[0]));
}

int
db_stats_due_add(struct db_conn *c, int64_t section_id, int32_t due_day, int32_t replied_day,
                 int n)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_DUE_ADD]);
	const int64_t v[] = {due_day, section_id, replied_day, n};

	return st == NULL ? -1 : db_exec_ints(c, st, v, sizeof(v) / sizeof(v[0]));
}

int
db_stats_forward_add(struct db_conn *c, int64_t item_id, int64_t at, int64_t from_section,
                     int64_t to_section)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_FORWARD_ADD]);
	const int64_t v[] = {item_id, at, from_section, to_section};

	return st == NULL ? -1 : db_exec_ints(c, st, v, sizeof(v) / sizeof(v[0]));
}

int
db_fact_missing(struct db_conn *c, int64_t after_id, int64_t *ids, size_t max, size_t *n)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_FACT_MISSING]);

	if (st == NULL || db_bind_int(st, 1, after_id) || db_bind_int(st, 2, (int64_t)max))
		return -1;
	return db_step_ints(c, st, ids, max, n);
}

int
db_fact_checked(struct db_conn *c, int64_t *last_item)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_CHECKED_GET]);
	int rc;

	if (st == NULL)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*last_item = sqlite3_column_int64(st, 0);
	else if (rc == SQLITE_DONE)
		*last_item = 0;
	else
		db_log("%s", sqlite3_errmsg(c->h));
	db_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

int
db_fact_checked_set(struct db_conn *c, int64_t upto)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_CHECKED_SET]);

	if (st == NULL || db_bind_int(st, 1, upto) != 0)
		return -1;
	return db_exec_stmt(c, st);
}

/* Items a start may look at again rather than write the mark (about 10 ms of start-up): a
 * command that only reads writes nothing unless this many items came since the mark moved. */
#define FACTS_CHECK_SLACK 10000

void
db_fact_checked_advance(struct db_conn *c)
{
	sqlite3_stmt *st;
	int64_t last = 0, max = 0;
	int rc;

	if (db_fact_checked(c, &last) != 0)
		return;
	st = db_prep(c, stmts[STMT_ITEM_MAX]);
	if (st == NULL)
		return;
	if (sqlite3_step(st) == SQLITE_ROW)
		max = sqlite3_column_int64(st, 0);
	db_reset(st);
	if (max - last <= FACTS_CHECK_SLACK)
		return; /* near enough: nothing written (a start looks at these few again) */
	sqlite3_busy_timeout(c->h, 0);
	rc = sqlite3_exec(c->h, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	sqlite3_busy_timeout(c->h, db_busy_timeout_ms());
	if (rc != SQLITE_OK)
		return; /* another writer holds the lock, or the file is read-only: next time */
	if (db_fact_checked_set(c, INT64_MAX) != 0 ||
	    sqlite3_exec(c->h, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		sqlite3_exec(c->h, "ROLLBACK", NULL, NULL, NULL);
}

/* The row of section_id in rows (sorted by section_id), inserted if missing; NULL when out of
 * memory. */
static struct db_stats_row *
row_for(struct db_stats_row **rows, size_t *n, size_t *cap, int64_t section_id)
{
	struct db_stats_row *v;
	size_t lo = 0, hi = *n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if ((*rows)[mid].section_id < section_id)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < *n && (*rows)[lo].section_id == section_id)
		return &(*rows)[lo];
	v = db_grow(*rows, *n, cap, sizeof(**rows));
	if (v == NULL)
		return NULL;
	*rows = v;
	memmove(&v[lo + 1], &v[lo], (*n - lo) * sizeof(*v));
	memset(&v[lo], 0, sizeof(*v));
	v[lo].section_id = section_id;
	(*n)++;
	return &v[lo];
}

/* Which counters of struct db_stats_row the columns 1.. of a period statement fill. */
#define F(x) offsetof(struct db_stats_row, x)
#define NONE ((size_t)-1)

static const struct period_query {
	enum stmt stmt;
	size_t cols[16]; /* offsets of the int64_t counters, NONE after the last */
} period_queries[] = {
	{STMT_P_DAILY,
	 {F(received), F(accepted), F(replied), F(on_time), F(late), F(rejected), F(merged),
	  F(closed), F(supervised), F(rated), F(satisfied), F(basically_satisfied), F(unsatisfied),
	  F(followup_open), F(reopened), NONE}},
	{STMT_P_FORWARDED, {F(forwarded), NONE}},
	{STMT_P_OPEN, {F(open), F(overdue), NONE}},
	{STMT_P_DUE, {F(due), F(due_replied), NONE}},
};

/* Binds the period's parameters ?1..?6 (those the statement names). 0 or -1. */
static int
bind_period(sqlite3_stmt *st, int64_t from, int64_t to, int64_t only_section, int32_t from_day,
            int32_t to_day, int32_t end_day)
{
	static const char *const names[6] = {"?1", "?2", "?3", "?4", "?5", "?6"};
	const int64_t v[6] = {from, to, only_section, from_day, to_day, end_day};
	int i, k;

	for (i = 0; i < 6; i++) {
		k = sqlite3_bind_parameter_index(st, names[i]);
		if (k > 0 && db_bind_int(st, k, v[i]) != 0)
			return -1;
	}
	return 0;
}

static int
wd_row(sqlite3_stmt *st, void *row)
{
	struct db_stats_wd *w = row;

	w->section_id = sqlite3_column_int64(st, 0);
	w->wd = sqlite3_column_int(st, 1);
	w->n = sqlite3_column_int64(st, 2);
	return 0;
}

static void
wd_rows_free(void *rows, size_t n)
{
	(void)n;
	free(rows);
}

int
db_stats_period(struct db_conn *c, int64_t from, int64_t to, int32_t from_day, int32_t to_day,
                int32_t end_day, int64_t only_section, struct db_stats_row **rows,
                size_t *nrows, struct db_stats_wd **wd, size_t *nwd)
{
	struct db_stats_row *v = NULL;
	struct db_stats_wd *w = NULL;
	size_t n = 0, cap = 0, wn = 0, q, k;
	sqlite3_stmt *st = NULL;
	int rc;

	for (q = 0; q < sizeof(period_queries) / sizeof(period_queries[0]); q++) {
		const struct period_query *pq = &period_queries[q];

		st = db_prep(c, stmts[pq->stmt]);
		if (st == NULL)
			goto fail;
		if (bind_period(st, from, to, only_section, from_day, to_day, end_day) != 0)
			goto fail;
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			struct db_stats_row *r = row_for(&v, &n, &cap, sqlite3_column_int64(st, 0));

			if (r == NULL)
				goto fail;
			for (k = 0; k < 16 && pq->cols[k] != NONE; k++)
				*(int64_t *)((char *)r + pq->cols[k]) += sqlite3_column_int64(st, (int)k + 1);
		}
		if (rc != SQLITE_DONE) {
			db_log("%s", sqlite3_errmsg(c->h));
			goto fail;
		}
		db_reset(st);
		st = NULL;
	}
	st = db_prep(c, stmts[STMT_P_WD]);
	if (st == NULL || bind_period(st, from, to, only_section, from_day, to_day, end_day) != 0)
		goto fail;
	if (db_list_rows(c, st, sizeof(*w), "stats_wd", wd_row, wd_rows_free, (void **)&w, &wn) !=
	    0) {
		st = NULL; /* reset by db_list_rows */
		goto fail;
	}
	*rows = v;
	*nrows = n;
	*wd = w;
	*nwd = wn;
	return 0;
fail:
	if (st != NULL)
		db_reset(st);
	free(v);
	free(w);
	return -1;
}

int
db_rating_add(struct db_conn *c, struct db_rating *r)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_RATING_ADD]);

	if (st == NULL)
		return -1;
	if (db_bind_int(st, 1, r->item_id) ||
	    db_bind_int(st, 2, r->round) ||
	    db_bind_int(st, 3, r->section_id) ||
	    db_bind_int(st, 4, r->at) ||
	    db_bind_int(st, 5, r->day) ||
	    db_bind_text(st, 6, r->value) ||
	    db_bind_text(st, 7, r->comment) ||
	    db_bind_text(st, 8, r->followup) ||
	    db_exec_stmt(c, st) != 0)
		return -1;
	if (sqlite3_changes(c->h) == 0)
		return 1;
	r->id = sqlite3_last_insert_rowid(c->h);
	st = db_prep(c, stmts[STMT_RATING_COUNT]);
	if (st == NULL ||
	    db_bind_int(st, 1, r->section_id) ||
	    db_bind_int(st, 2, r->day) ||
	    db_bind_text(st, 3, r->value) ||
	    db_bind_text(st, 4, r->followup) ||
	    db_exec_stmt(c, st) != 0)
		return -1;
	return 0;
}

int
db_rating_last(struct db_conn *c, int64_t item_id, struct db_rating *out)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_RATING_LAST]);
	int rc;

	if (st == NULL || db_bind_int(st, 1, item_id) != 0)
		return -1;
	rc = step_one(c, st);
	if (rc == 1) {
		memset(out, 0, sizeof(*out));
		out->id = sqlite3_column_int64(st, 0);
		out->item_id = sqlite3_column_int64(st, 1);
		out->round = sqlite3_column_int(st, 2);
		out->section_id = sqlite3_column_int64(st, 3);
		out->at = sqlite3_column_int64(st, 4);
		out->value = db_col_text(st, 5);
		out->comment = db_col_text(st, 6);
		out->followup = db_col_text(st, 7);
		out->followup_at = sqlite3_column_int64(st, 8);
		out->followup_by = sqlite3_column_int64(st, 9);
		out->followup_note = db_col_text(st, 10);
		if (out->value == NULL) {
			db_rating_free(out);
			rc = -1;
		}
	}
	db_reset(st);
	return rc;
}

int
db_rating_followup(struct db_conn *c, int64_t id, const char *followup, int64_t at, int64_t by,
                   const char *note)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_RATING_FOLLOWUP]);

	if (st == NULL)
		return -1;
	if (db_bind_text(st, 1, followup) ||
	    db_bind_int(st, 2, at) ||
	    bind_opt(st, 3, by) ||
	    db_bind_text(st, 4, note) ||
	    db_bind_int(st, 5, id) ||
	    db_exec_stmt(c, st) != 0)
		return -1;
	if (sqlite3_changes(c->h) == 0)
		return 0;
	st = db_prep(c, stmts[STMT_RATING_MOVE]);
	if (st == NULL ||
	    db_bind_text(st, 1, followup) ||
	    db_bind_int(st, 2, id) ||
	    db_exec_stmt(c, st) != 0)
		return -1;
	return 1;
}

int
db_rating_rounds(struct db_conn *c, int64_t item_id, int *n)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_RATING_ROUNDS]);
	int rc;

	if (st == NULL || db_bind_int(st, 1, item_id) != 0)
		return -1;
	rc = step_one(c, st);
	if (rc == 1)
		*n = sqlite3_column_int(st, 0);
	db_reset(st);
	return rc == 1 ? 0 : -1;
}

void
db_rating_free(struct db_rating *r)
{
	if (r == NULL)
		return;
	free(r->value);
	free(r->comment);
	free(r->followup);
	free(r->followup_note);
	memset(r, 0, sizeof(*r));
}

int
db_supervision_add(struct db_conn *c, struct db_supervision *s)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_SUPERVISION_ADD]);

	if (st == NULL)
		return -1;
	if (db_bind_int(st, 1, s->item_id) ||
	    db_bind_int(st, 2, s->at) ||
	    bind_opt(st, 3, s->by_id) ||
	    db_bind_text(st, 4, s->by_name) ||
	    db_bind_text(st, 5, s->note) ||
	    db_bind_int(st, 6, s->due) ||
	    db_bind_int(st, 7, s->section_id) ||
	    db_exec_stmt(c, st) != 0)
		return -1;
	if (sqlite3_changes(c->h) == 0)
		return 1;
	s->id = sqlite3_last_insert_rowid(c->h);
	return 0;
}

int
db_supervision_get(struct db_conn *c, int64_t item_id, struct db_supervision *out)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_SUPERVISION_GET]);
	int rc;

	if (st == NULL || db_bind_int(st, 1, item_id) != 0)
		return -1;
	rc = step_one(c, st);
	if (rc == 1) {
		memset(out, 0, sizeof(*out));
		out->id = sqlite3_column_int64(st, 0);
		out->item_id = sqlite3_column_int64(st, 1);
		out->at = sqlite3_column_int64(st, 2);
		out->by_id = sqlite3_column_int64(st, 3);
		out->by_name = db_col_text(st, 4);
		out->note = db_col_text(st, 5);
		out->due = sqlite3_column_int64(st, 6);
		out->section_id = sqlite3_column_int64(st, 7);
		if (out->by_name == NULL || out->note == NULL) {
			db_supervision_free(out);
			rc = -1;
		}
	}
	db_reset(st);
	return rc;
}

void
db_supervision_free(struct db_supervision *s)
{
	if (s == NULL)
		return;
	free(s->by_name);
	free(s->note);
	memset(s, 0, sizeof(*s));
}
