/* db_items.c: storage of citizen items, their clocks, history and attachments. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_int.h"

#define ITEM_FIELDS                                                                                \
	"i.id, i.tracking, i.kind, i.channel, i.subject, i.body, i.name, i.phone, i.email, "       \
	"i.publish, i.query_hash, i.received, i.created, i.updated, i.state, i.resume_state, "     \
	"i.section_id, i.assignee_id, i.merged_into, i.extension, i.draft, i.reply, i.reason, "    \
	"i.replied_at, i.next_due, i.public_subject, i.public_body, i.public_reply, i.published, " \
	"i.source_ref, s.name, COALESCE(a.display_name, a.username), i.address, i.lat, i.lng, "    \
	"i.waiting_since, i.lang, i.citizen_mail_at "
#define ITEM_JOINS                                                                                 \
	"LEFT JOIN sections s ON s.id = i.section_id LEFT JOIN accounts a ON a.id = i.assignee_id "
#define ITEM_COLS ITEM_FIELDS "FROM items i " ITEM_JOINS

/* Open311's closed statuses, as items_o311 indexes them (schema 016) */
#define O311_CLOSED                                                                                \
	"(state = 'replied' OR state = 'closed' OR state = 'rejected' OR state = 'merged')"
/* Whether Open311 shows item i in full (core_public_view's rule for a consented item: published
 * and replied); otherwise status, service and dates only, and its texts are not even read */
#define O311_FULL "(i.published = 1 AND i.replied_at <> 0)"
/* What Open311 shows of an item i (its section s, its reply clock c): db_item_o311_view reads
 * them in this order */
#define O311_COLS                                                                                  \
	"i.id, i.tracking, i.kind, i.state, i.publish, i.published, i.received, i.updated, "       \
	"i.replied_at, CASE WHEN " O311_FULL " THEN s.name END, "                                  \
	"CASE WHEN " O311_FULL " THEN i.public_subject END, "                                      \
	"CASE WHEN " O311_FULL " THEN i.public_body END, "                                         \
	"CASE WHEN " O311_FULL " THEN i.public_reply END, "                                        \
	"CASE WHEN " O311_FULL " AND i.public_subject IS NULL THEN i.subject END, "                \
	"CASE WHEN " O311_FULL " AND i.public_body IS NULL THEN i.body END, "                      \
	"CASE WHEN " O311_FULL " AND i.public_reply IS NULL THEN i.reply END, "                    \
	"CASE WHEN " O311_FULL " AND (i.public_subject IS NULL OR i.public_body IS NULL OR "       \
	"i.public_reply IS NULL) THEN i.name END, c.due, c.stopped_at "

enum stmt {
	STMT_TRACKING_NEXT,
	STMT_TRACKING_LAST,
	STMT_TRACKING_RESERVE,
	STMT_ITEM_INSERT,
	STMT_ITEM_NEXT_ID,
	STMT_ITEMS_ADD,
	STMT_ITEM_BOARD_ADD,
	STMT_ITEM_LADDER_ADD,
	STMT_ITEM_UPDATE,
	STMT_ITEM_GET,
	STMT_ITEM_GET_ID,
	STMT_ITEM_LIST_PUBLIC,
	STMT_O311_LIST,
	STMT_ITEM_MERGED,
	STMT_PUBLIC_VERSION_ADD,
	STMT_CLOCK_PUT,
	STMT_CLOCK_ADD2,
	STMT_CLOCK_ADD_MANY,
	STMT_CLOCK_ADD_MANY_NEW,
	STMT_LADDER_ADD_MANY,
	STMT_CLOCK_LIST,
	STMT_HISTORY_ADD,
	STMT_HISTORY_ADD_MANY,
	STMT_HISTORY_LIST,
	STMT_HISTORY_LIST_CITIZEN,
	STMT_ATTACHMENT_ADD,
	STMT_ATTACHMENT_LIST,
	STMT_ATTACHMENT_GET,
	STMT__MAX
};

/* A new item's row: the id (?, NULL: SQLite's next) and the 34 columns bind_item binds. */
#define ITEMS_INSERT                                                                               \
	"INSERT INTO items (id, tracking, kind, channel, subject, body, name, phone, email, "       \
	"publish, query_hash, received, created, updated, state, resume_state, section_id, "       \
	"assignee_id, merged_into, extension, draft, reply, reason, replied_at, next_due, "        \
	"public_subject, public_body, public_reply, published, source_ref, address, lat, lng, "    \
	"waiting_since, lang) VALUES "
#define ITEM_ROW                                                                                   \
	"(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, " \
	"?, ?, ?, ?, ?)"

static const char *const stmts[STMT__MAX] = {
    /* two statements rather than one with RETURNING, which builds a temporary table on each
     * run (a sixth of the cost of storing an item, measured by bench/bench_writer) */
    [STMT_TRACKING_NEXT] = "INSERT INTO tracking_counters (day, last) VALUES (?, 1) "
                           "ON CONFLICT (day) DO UPDATE SET last = last + 1",
    [STMT_TRACKING_LAST] = "SELECT last FROM tracking_counters WHERE day = ?",
    [STMT_TRACKING_RESERVE] = "INSERT INTO tracking_counters (day, last) VALUES (?1, ?2) "
                              "ON CONFLICT (day) DO UPDATE SET last = last + ?2",
    /* ?1 the id (NULL: SQLite's next), then the columns bind_item binds */
    [STMT_ITEM_INSERT] = ITEMS_INSERT ITEM_ROW " ON CONFLICT (tracking) DO NOTHING",
    [STMT_ITEM_NEXT_ID] = "SELECT coalesce(max(id), 0) + 1 FROM items",
    /* the items db_item_insert left for db_items_flush (insert_later), new ones (item_fresh):
     * the columns bind_item binds that are not NULL, the others as bind_item leaves them (and
     * published 0, its default); one statement for all (the table's and each index's cursor
     * opened once, each row appended where the last went: 6,800 instructions less a
     * submission than a statement each, at 8 a batch) */
    [STMT_ITEMS_ADD] =
        "INSERT INTO items (id, tracking, kind, channel, subject, body, name, phone, email, "
        "publish, query_hash, received, created, updated, state, extension, next_due, address, "
        "lat, lng, lang) SELECT c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c12, "
        "c13, c14, c15, c16, c17, c18, c19 FROM db_rows(?1) WHERE 1 "
        "ON CONFLICT (tracking) DO NOTHING",
    /* a new item stored published enters the board's index as board_fts_update enters an item
     * published later (schema 016; the insert trigger is gone since 027): its public texts as
     * tokens of up to 6 bytes from each character on (n: the item, i: board_pos) */
    [STMT_ITEM_BOARD_ADD] =
        "INSERT INTO board_fts(rowid, subject, body, reply) SELECT "
        "coalesce(n.replied_at, 0) * 2147483648 + n.id, "
        "(SELECT group_concat(hex(lower(substr(CAST(n.public_subject AS BLOB), i, 6))), ' ') "
        "FROM board_pos WHERE i <= length(CAST(n.public_subject AS BLOB)) AND "
        "substr(CAST(n.public_subject AS BLOB), i, 1) NOT BETWEEN x'80' AND x'BF'), "
        "(SELECT group_concat(hex(lower(substr(CAST(n.public_body AS BLOB), i, 6))), ' ') "
        "FROM board_pos WHERE i <= length(CAST(n.public_body AS BLOB)) AND "
        "substr(CAST(n.public_body AS BLOB), i, 1) NOT BETWEEN x'80' AND x'BF'), "
        "(SELECT group_concat(hex(lower(substr(CAST(n.public_reply AS BLOB), i, 6))), ' ') "
        "FROM board_pos WHERE i <= length(CAST(n.public_reply AS BLOB)) AND "
        "substr(CAST(n.public_reply AS BLOB), i, 1) NOT BETWEEN x'80' AND x'BF') "
        "FROM items n WHERE n.id = ? AND n.published = 1 AND n.publish = 1",
    /* a new item's mark for the ladder scan: a change's entry (schema 026's trigger until 027) */
    [STMT_ITEM_LADDER_ADD] =
        "INSERT OR IGNORE INTO ladder (next_at, seq, item_id) VALUES (0, 0, ?)",
    [STMT_ITEM_UPDATE] =
        "UPDATE items SET kind = ?, channel = ?, subject = ?, body = ?, name = ?, phone = ?, "
        "email = ?, publish = ?, received = ?, updated = ?, state = ?, resume_state = ?, "
        "section_id = ?, assignee_id = ?, merged_into = ?, extension = ?, draft = ?, "
        "reply = ?, reason = ?, replied_at = ?, next_due = ?, public_subject = ?, "
        "public_body = ?, public_reply = ?, published = ?, source_ref = ?, address = ?, lat = ?, "
        "lng = ?, waiting_since = ? WHERE id = ?",
    [STMT_ITEM_GET] = "SELECT " ITEM_COLS "WHERE i.tracking = ?",
    [STMT_ITEM_GET_ID] = "SELECT " ITEM_COLS "WHERE i.id = ?",
    [STMT_ITEM_LIST_PUBLIC] =
        /* "+": items_public (published = 1 first) would read every published item and
         * sort them for each page (4.5 s at 1,000,000 items); the rowid read backwards from
         * the cursor reads a page's own rows and the few unpublished between them */
        "SELECT " ITEM_COLS "WHERE i.publish = 1 AND +i.published = 1 AND i.id < ? "
        "ORDER BY i.id DESC LIMIT ?",
    /* Open311's list in one statement: the (kind, status) lists of items_o311 (?1..?6: the kind
     * of each, NULL to leave it out; ?7..?8 received; ?9 limit), merged by SQLite (MERGE
     * (UNION ALL): each list read in its index's order, a page reads its own entries only), and
     * the rows shown, each by its rowid, with the columns of O311_COLS */
    [STMT_O311_LIST] =
        "WITH k(received, id) AS (SELECT received, id FROM ("
        "SELECT received, id FROM items INDEXED BY items_o311 WHERE publish = 1 AND "
        "kind = ?1 AND " O311_CLOSED " = 0 AND received BETWEEN ?7 AND ?8 "
        "UNION ALL "
        "SELECT received, id FROM items INDEXED BY items_o311 WHERE publish = 1 AND "
        "kind = ?2 AND " O311_CLOSED " = 1 AND received BETWEEN ?7 AND ?8 "
        "UNION ALL "
        "SELECT received, id FROM items INDEXED BY items_o311 WHERE publish = 1 AND "
        "kind = ?3 AND " O311_CLOSED " = 0 AND received BETWEEN ?7 AND ?8 "
        "UNION ALL "
        "SELECT received, id FROM items INDEXED BY items_o311 WHERE publish = 1 AND "
        "kind = ?4 AND " O311_CLOSED " = 1 AND received BETWEEN ?7 AND ?8 "
        "UNION ALL "
        "SELECT received, id FROM items INDEXED BY items_o311 WHERE publish = 1 AND "
        "kind = ?5 AND " O311_CLOSED " = 0 AND received BETWEEN ?7 AND ?8 "
        "UNION ALL "
        "SELECT received, id FROM items INDEXED BY items_o311 WHERE publish = 1 AND "
        "kind = ?6 AND " O311_CLOSED " = 1 AND received BETWEEN ?7 AND ?8 "
        ") ORDER BY received DESC, id DESC LIMIT ?9) "
        "SELECT " O311_COLS
        "FROM k CROSS JOIN items i ON i.id = k.id LEFT JOIN sections s ON s.id = i.section_id "
        "LEFT JOIN clocks c ON c.item_id = i.id AND c.name = 'reply'",
    [STMT_ITEM_MERGED] = "SELECT id, tracking FROM items WHERE merged_into = ? ORDER BY id",
    [STMT_PUBLIC_VERSION_ADD] = "INSERT INTO public_versions (item_id, at, actor_id, subject, "
                                "body, reply, published) VALUES (?, ?, ?, ?, ?, ?, ?)",
    [STMT_CLOCK_PUT] =
        "INSERT INTO clocks (item_id, name, started, days, unit, end_minutes, due, "
        "paused_at, remaining, stopped_at, provisional, result, resumed_at) VALUES (?, ?, ?, "
        "?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (item_id, name) DO UPDATE SET started = "
        "excluded.started, days = excluded.days, unit = excluded.unit, end_minutes = "
        "excluded.end_minutes, due = excluded.due, paused_at = excluded.paused_at, "
        "remaining = excluded.remaining, stopped_at = excluded.stopped_at, provisional = "
        "excluded.provisional, result = excluded.result, resumed_at = excluded.resumed_at",
    /* a new item's two clocks in one statement (db_item_insert) */
    [STMT_CLOCK_ADD2] =
        "INSERT INTO clocks (item_id, name, started, days, unit, end_minutes, due, "
        "paused_at, remaining, stopped_at, provisional, result, resumed_at) VALUES "
        "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13), "
        "(?1, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25)",
    /* the clocks of a batch's new items (db_items_clocks_add): the values bind_clock binds */
    [STMT_CLOCK_ADD_MANY] =
        "INSERT INTO clocks (item_id, name, started, days, unit, end_minutes, due, paused_at, "
        "remaining, stopped_at, provisional, result, resumed_at) "
        "SELECT c0, c1, c2, c3, c4, c5, nullif(c6, 0), nullif(c7, 0), "
        "CASE WHEN c7 <> 0 OR c12 <> 0 THEN c8 END, nullif(c9, 0), c10, c11, nullif(c12, 0) "
        "FROM db_rows(?1) WHERE 1",
    /* the same for clocks that never paused, stopped or resumed (every new item's): fewer
     * columns to read from db_rows */
    [STMT_CLOCK_ADD_MANY_NEW] =
        "INSERT INTO clocks (item_id, name, started, days, unit, end_minutes, due, provisional) "
        "SELECT c0, c1, c2, c3, c4, c5, nullif(c6, 0), c10 FROM db_rows(?1) WHERE 1",
    [STMT_LADDER_ADD_MANY] =
        "INSERT OR IGNORE INTO ladder (next_at, seq, item_id) SELECT 0, 0, c0 FROM db_rows(?1) "
        "WHERE 1",
    [STMT_CLOCK_LIST] = "SELECT name, started, days, unit, end_minutes, due, paused_at, "
                        "remaining, stopped_at, provisional, result, resumed_at FROM clocks "
                        "WHERE item_id = "
                        "? ORDER BY CASE name WHEN 'forward' THEN 0 WHEN 'reply' THEN 1 ELSE 2 "
                        "END",
    [STMT_HISTORY_ADD] = "INSERT INTO history (item_id, at, actor_id, actor, action, "
                         "from_state, to_state, note, citizen, clock, due) VALUES (?, ?, ?, ?, ?, "
                         "?, ?, ?, ?, ?, ?)",
    /* a batch's history rows in one statement (db_history_add_many): what db_history_add binds */
    [STMT_HISTORY_ADD_MANY] =
        "INSERT INTO history (item_id, at, actor_id, actor, action, from_state, to_state, note, "
        "citizen, clock, due) SELECT c0, c1, nullif(c2, 0), c3, c4, c5, c6, c7, c8, c9, "
        "CASE WHEN c9 IS NOT NULL THEN nullif(c10, 0) END FROM db_rows(?1) WHERE 1",
    [STMT_HISTORY_LIST] = "SELECT id, at, actor_id, actor, action, from_state, to_state, note, "
                          "citizen, clock, due FROM history WHERE item_id = ? ORDER BY id",
    [STMT_HISTORY_LIST_CITIZEN] = "SELECT id, at, actor_id, actor, action, from_state, "
                                  "to_state, note, citizen, clock, due FROM history WHERE "
                                  "item_id = ? AND citizen = 1 ORDER BY id",
    [STMT_ATTACHMENT_ADD] = "INSERT INTO attachments (item_id, filename, content_type, size, "
                            "data) VALUES (?, ?, ?, ?, ?)",
    [STMT_ATTACHMENT_LIST] = "SELECT id, filename, content_type, size FROM attachments WHERE "
                             "item_id = ? ORDER BY id",
    [STMT_ATTACHMENT_GET] = "SELECT id, filename, content_type, size, data FROM attachments "
                            "WHERE item_id = ? AND id = ?",
};

/* Binds v, or leaves SQL NULL when v is 0 (optional ids and times): db_prep hands a statement
 * out with every parameter NULL, and this file binds each statement once per db_prep. */
static int
bind_opt(sqlite3_stmt *st, int i, int64_t v)
{
	return v == 0 ? 0 : db_bind_int(st, i, v);
}

int64_t
db_item_next_due(const struct db_item *item)
{
	int64_t best = DB_NO_DUE;
	size_t i;

	for (i = 0; i < item->nclocks; i++) {
		const struct db_clock *k = &item->clocks[i];

		if (k->stopped_at == 0 && k->paused_at == 0 && k->due != 0 && k->due < best)
			best = k->due;
	}
	return best;
}

static void
copy_str(char *dst, size_t size, const unsigned char *src)
{
	snprintf(dst, size, "%s", src ? (const char *)src : "");
}

/* The counter of yyyymmdd after the statement `which` (bound with yyyymmdd and n) into *last. */
static int
tracking_bump(struct db_conn *c, enum stmt which, int yyyymmdd, int n, int *last)
{
	sqlite3_stmt *st = db_prep(c, stmts[which]);
	int rc, ret = -1;

	if (st == NULL || db_bind_int(st, 1, yyyymmdd) != 0 ||
	    (which == STMT_TRACKING_RESERVE && db_bind_int(st, 2, n) != 0) ||
	    db_exec_stmt(c, st) != 0)
		return -1;
	st = db_prep(c, stmts[STMT_TRACKING_LAST]);
	if (st == NULL || db_bind_int(st, 1, yyyymmdd) != 0)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*last = sqlite3_column_int(st, 0);
		ret = 0;
	} else {
		db_step_failed(c, "tracking counter");
	}
	db_reset(st);
	return ret;
}

int
db_tracking_next(struct db_conn *c, int yyyymmdd, int *seq)
{
	return tracking_bump(c, STMT_TRACKING_NEXT, yyyymmdd, 1, seq);
}

int
db_tracking_reserve(struct db_conn *c, int yyyymmdd, int n, int *first)
{
	int last;

	if (n < 1 || tracking_bump(c, STMT_TRACKING_RESERVE, yyyymmdd, n, &last) != 0)
		return -1;
	*first = last - n + 1;
	return 0;
}

/* Text bound without a copy: for statements run (and reset) before s can change. NULL is left
 * as db_prep hands the parameter out (bind_opt). */
static int
bind_static(sqlite3_stmt *st, int i, const char *s)
{
	return s == NULL || sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC) == SQLITE_OK ? 0 : -1;
}

/* Binds clock k from parameter `first` on (name, started, days, unit, end_minutes, due,
 * paused_at, remaining, stopped_at, provisional, result, resumed_at). 0 or -1. */
static int
bind_clock(sqlite3_stmt *st, int first, const struct db_clock *k)
{
	int i = first;

	return bind_static(st, i, k->name) || db_bind_int(st, i + 1, k->started) ||
	       db_bind_int(st, i + 2, k->days) ||
	       bind_static(st, i + 3, k->unit[0] ? k->unit : "working_days") ||
	       db_bind_int(st, i + 4, k->end_minutes > 0 ? k->end_minutes : 1440) ||
	       bind_opt(st, i + 5, k->due) || bind_opt(st, i + 6, k->paused_at) ||
	       (k->paused_at || k->resumed_at ? db_bind_int(st, i + 7, k->remaining) : 0) ||
	       bind_opt(st, i + 8, k->stopped_at) || db_bind_int(st, i + 9, k->provisional != 0) ||
	       bind_static(st, i + 10, k->result[0] ? k->result : NULL) ||
	       bind_opt(st, i + 11, k->resumed_at);
}

static int
clocks_put(struct db_conn *c, int64_t item_id, const struct db_item *item)
{
	size_t i;

	for (i = 0; i < item->nclocks; i++) {
		sqlite3_stmt *st = db_prep(c, stmts[STMT_CLOCK_PUT]);

		if (st == NULL)
			return -1;
		if (db_bind_int(st, 1, item_id) || bind_clock(st, 2, &item->clocks[i]) ||
		    db_exec_stmt(c, st) != 0) {
			db_reset(st);
			return -1;
		}
	}
	return 0;
}

/* The clocks of a new item (none stored yet): two (forward and reply, as every new item has)
 * in one statement, else as clocks_put. */
static int
clocks_add(struct db_conn *c, int64_t item_id, const struct db_item *item)
{
	sqlite3_stmt *st;

	if (item->nclocks != 2)
		return clocks_put(c, item_id, item);
	st = db_prep(c, stmts[STMT_CLOCK_ADD2]);
	if (st == NULL)
		return -1;
	if (db_bind_int(st, 1, item_id) || bind_clock(st, 2, &item->clocks[0]) ||
	    bind_clock(st, 14, &item->clocks[1]) || db_exec_stmt(c, st) != 0) {
		db_reset(st);
		return -1;
	}
	return 0;
}

/* The stored resume_state: NULL unless the item is paused. */
static const char *
resume_name(const struct db_item *item)
{
	return item->resume_state == WF_NONE ? NULL : wf_state_name(item->resume_state);
}

/* Binds item's row from parameter `first` on: its id (0: left NULL, SQLite's next), then the
 * columns of ITEMS_INSERT (tracking and next_due as given). Its texts without a copy: the
 * statement is run and reset before item changes. 0 or -1. */
static int
bind_item(sqlite3_stmt *st, int first, const struct db_item *item, const char *tracking,
          int64_t id, int64_t due)
{
	int i = first;

	return bind_opt(st, i, id) ||
	       bind_static(st, i + 1, tracking) ||
	       bind_static(st, i + 2, kind_name(item->kind)) ||
	       bind_static(st, i + 3, channel_name(item->channel)) ||
	       bind_static(st, i + 4, item->subject) ||
	       bind_static(st, i + 5, item->body) ||
	       bind_static(st, i + 6, item->name) ||
	       bind_static(st, i + 7, item->phone) ||
	       bind_static(st, i + 8, item->email) ||
	       db_bind_int(st, i + 9, item->publish != 0) ||
	       sqlite3_bind_blob(st, i + 10, item->query_hash, sizeof(item->query_hash),
	                         SQLITE_STATIC) != SQLITE_OK ||
	       db_bind_int(st, i + 11, item->received) ||
	       db_bind_int(st, i + 12, item->created) ||
	       db_bind_int(st, i + 13, item->created) ||
	       bind_static(st, i + 14, wf_state_name(item->state)) ||
	       bind_static(st, i + 15, resume_name(item)) ||
	       bind_opt(st, i + 16, item->section_id) ||
	       bind_opt(st, i + 17, item->assignee_id) ||
	       bind_opt(st, i + 18, item->merged_into) ||
	       bind_static(st, i + 19, item->extension ? item->extension : "none") ||
	       bind_static(st, i + 20, item->draft) ||
	       bind_static(st, i + 21, item->reply) ||
	       bind_static(st, i + 22, item->reason) ||
	       bind_opt(st, i + 23, item->replied_at) ||
	       db_bind_int(st, i + 24, due) ||
	       bind_static(st, i + 25, item->public_subject) ||
	       bind_static(st, i + 26, item->public_body) ||
	       bind_static(st, i + 27, item->public_reply) ||
	       db_bind_int(st, i + 28, item->published != 0) ||
	       bind_static(st, i + 29, item->source_ref) ||
	       bind_static(st, i + 30, item->address) ||
	       bind_static(st, i + 31, item->lat) ||
	       bind_static(st, i + 32, item->lng) ||
	       bind_opt(st, i + 33, item->waiting_since) ||
	       bind_static(st, i + 34, lang_name(item->lang));
}

/* The id the next new item of c's transaction gets: SQLite's (the largest + 1) for the first,
 * then one more each, so that the rows db_items_flush writes later and any written at once
 * meanwhile do not meet. 0 or -1. */
static int
next_item_id(struct db_conn *c, int64_t *id)
{
	sqlite3_stmt *st;
	int rc;

	if (c->nlater > 0) {
		*id = c->later_next++;
		return 0;
	}
	st = db_prep(c, stmts[STMT_ITEM_NEXT_ID]);
	if (st == NULL)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*id = sqlite3_column_int64(st, 0);
	else
		db_step_failed(c, "the next item's id");
	db_reset(st);
	if (rc != SQLITE_ROW)
		return -1;
	c->later_next = *id + 1;
	return 0;
}

#define LATER_MAX 1024 /* items a transaction leaves for db_items_flush: beyond, written at once */

/* Whether item is one that db_items_flush writes as db_item_insert would: a new item whose
 * clocks and ladder mark are its caller's, that enters no board, with every column that
 * STMT_ITEMS_ADD leaves out NULL (or 0) as bind_item would leave it. 1 or 0. */
static int
item_fresh(const struct db_item *item)
{
	return item->clocks_later && !item->published && item->resume_state == WF_NONE &&
	       item->section_id == 0 && item->assignee_id == 0 && item->merged_into == 0 &&
	       item->draft == NULL && item->reply == NULL && item->reason == NULL &&
	       item->replied_at == 0 && item->public_subject == NULL &&
	       item->public_body == NULL && item->public_reply == NULL &&
	       item->source_ref == NULL && item->waiting_since == 0 && item->tracking != NULL &&
	       strlen(item->tracking) < sizeof(((struct db_later *)NULL)->tracking);
}

/* Keeps item for db_items_flush, with its id and a copy of its tracking number: 0 or -1. */
static int
later_keep(struct db_conn *c, struct db_item *item)
{
	struct db_later *l;
	int64_t id;

	if (c->nlater == c->caplater) {
		size_t cap = c->caplater ? c->caplater * 2 : 16;
		struct db_later *v = realloc(c->later, cap * sizeof(*v));

		if (v == NULL)
			return -1;
		c->later = v;
		c->caplater = cap;
	}
	if (next_item_id(c, &id) != 0)
		return -1;
	item->id = id;
	l = &c->later[c->nlater++];
	l->item = item;
	memcpy(l->tracking, item->tracking, strlen(item->tracking) + 1);
	return 0;
}

int
db_item_insert(struct db_conn *c, struct db_item *item)
{
	sqlite3_stmt *st;
	int64_t due = db_item_next_due(item), id = 0;

	/* the state check of items_state_update, for a new item (schema 027) */
	if ((unsigned)item->state >= WF_STATE__MAX) {
		db_log("item %s: state %d is not a workflow state", item->tracking, (int)item->state);
		return -1;
	}
	if (c->nlater > 0 && sqlite3_get_autocommit(c->h))
		c->nlater = 0; /* left by a transaction that SQLite ended itself (IOERR, FULL) */
	/* written by db_items_flush, with the transaction's others: only when nothing written
	 * here refers to it (its clocks and mark are the caller's, it enters no board) */
	if (item->insert_later && item_fresh(item) && c->nlater < LATER_MAX &&
	    !sqlite3_get_autocommit(c->h)) {
		if (later_keep(c, item) != 0)
			return -1;
		item->updated = item->created;
		item->next_due = due;
		return 0;
	}
	/* written now, after some left for later: its id after theirs */
	if (c->nlater > 0 && next_item_id(c, &id) != 0)
		return -1;
	st = db_prep(c, stmts[STMT_ITEM_INSERT]);
	if (st == NULL)
		return -1;
	if (bind_item(st, 1, item, item->tracking, id, due) || db_exec_stmt(c, st) != 0) {
		db_reset(st);
		return -1;
	}
	if (sqlite3_changes(c->h) == 0)
		return 1;
	item->id = sqlite3_last_insert_rowid(c->h);
	item->updated = item->created;
	item->next_due = due;
	/* clocks_later: the clocks and the mark are the caller's (db_items_clocks_add) */
	st = item->clocks_later ? NULL : db_prep(c, stmts[STMT_ITEM_LADDER_ADD]);
	if (!item->clocks_later &&
	    (st == NULL || db_bind_int(st, 1, item->id) != 0 || db_exec_stmt(c, st) != 0)) {
		db_reset(st);
		return -1;
	}
	if (item->published && item->publish) {
		st = db_prep(c, stmts[STMT_ITEM_BOARD_ADD]);
		if (st == NULL || db_bind_int(st, 1, item->id) != 0 || db_exec_stmt(c, st) != 0) {
			db_reset(st);
			return -1;
		}
	}
	return item->clocks_later ? 0 : clocks_add(c, item->id, item);
}

/* An item as db_rows reads it (STMT_ITEMS_ADD). */
struct item_row {
	int64_t id;
	const char *tracking, *kind, *channel, *subject, *body, *name, *phone, *email;
	int64_t publish;
	unsigned char query_hash[DB_ROWS_HASH_LEN];
	int64_t received, created;
	const char *state, *extension;
	int64_t next_due;
	const char *address, *lat, *lng, *lang;
};

_Static_assert(sizeof(((struct db_item *)NULL)->query_hash) == DB_ROWS_HASH_LEN,
               "the query code's hash is read as DB_ROWS_HASH");

int
db_items_flush(struct db_conn *c)
{
	static const struct db_rows_col cols[] = {
	    {DB_ROWS_INT, offsetof(struct item_row, id)},
	    {DB_ROWS_TEXT, offsetof(struct item_row, tracking)},
	    {DB_ROWS_TEXT, offsetof(struct item_row, kind)},
	    {DB_ROWS_TEXT, offsetof(struct item_row, channel)},
	    {DB_ROWS_TEXT, offsetof(struct item_row, subject)},
	    {DB_ROWS_TEXT, offsetof(struct item_row, body)},
	    {DB_ROWS_TEXT, offsetof(struct item_row, name)},
	    {DB_ROWS_TEXT, offsetof(struct item_row, phone)},
	    {DB_ROWS_TEXT, offsetof(struct item_row, email)},
	    {DB_ROWS_INT, offsetof(struct item_row, publish)},
	    {DB_ROWS_HASH, offsetof(struct item_row, query_hash)},
	    {DB_ROWS_INT, offsetof(struct item_row, received)},
	    {DB_ROWS_INT, offsetof(struct item_row, created)},
	    {DB_ROWS_TEXT, offsetof(struct item_row, state)},
	    {DB_ROWS_TEXT, offsetof(struct item_row, extension)},
	    {DB_ROWS_INT, offsetof(struct item_row, next_due)},
	    {DB_ROWS_TEXT, offsetof(struct item_row, address)},
	    {DB_ROWS_TEXT, offsetof(struct item_row, lat)},
	    {DB_ROWS_TEXT, offsetof(struct item_row, lng)},
	    {DB_ROWS_TEXT, offsetof(struct item_row, lang)},
	};
	struct item_row small[32], *rows = small;
	struct db_rows r;
	size_t i, n = c->nlater;
	int ret = -1;

	if (n == 0)
		return 0;
	c->nlater = 0;
	if (n > sizeof(small) / sizeof(small[0])) {
		rows = calloc(n, sizeof(*rows));
		if (rows == NULL)
			return -1;
	}
	for (i = 0; i < n; i++) {
		const struct db_item *it = c->later[i].item;
		struct item_row *w = &rows[i];

		w->id = it->id;
		w->tracking = c->later[i].tracking;
		w->kind = kind_name(it->kind);
		w->channel = channel_name(it->channel);
		w->subject = it->subject;
		w->body = it->body;
		w->name = it->name;
		w->phone = it->phone;
		w->email = it->email;
		w->publish = it->publish != 0;
		memcpy(w->query_hash, it->query_hash, sizeof(w->query_hash));
		w->received = it->received;
		w->created = it->created;
		w->state = wf_state_name(it->state);
		w->extension = it->extension ? it->extension : "none";
		w->next_due = it->next_due;
		w->address = it->address;
		w->lat = it->lat;
		w->lng = it->lng;
		w->lang = lang_name(it->lang);
	}
	if (db_rows_set(&r, rows, n, sizeof(*rows), cols, sizeof(cols) / sizeof(cols[0])) == 0 &&
	    db_rows_exec(c, stmts[STMT_ITEMS_ADD], &r) == 0) {
		ret = 0;
		if (sqlite3_changes(c->h) != (int)n) {
			db_log("a tracking number of %zu new items exists already", n);
			ret = 1;
		}
	}
	if (rows != small)
		free(rows);
	return ret;
}

/* A clock as db_rows reads it (STMT_CLOCK_ADD_MANY). */
struct clock_row {
	int64_t item_id;
	const char *name;
	int64_t started, days;
	const char *unit;
	int64_t end_minutes, due, paused_at, remaining, stopped_at, provisional;
	const char *result;
	int64_t resumed_at;
};

int
db_items_clocks_add(struct db_conn *c, const struct db_item *const *v, size_t n)
{
	static const struct db_rows_col cols[] = {
	    {DB_ROWS_INT, offsetof(struct clock_row, item_id)},
	    {DB_ROWS_TEXT, offsetof(struct clock_row, name)},
	    {DB_ROWS_INT, offsetof(struct clock_row, started)},
	    {DB_ROWS_INT, offsetof(struct clock_row, days)},
	    {DB_ROWS_TEXT, offsetof(struct clock_row, unit)},
	    {DB_ROWS_INT, offsetof(struct clock_row, end_minutes)},
	    {DB_ROWS_INT, offsetof(struct clock_row, due)},
	    {DB_ROWS_INT, offsetof(struct clock_row, paused_at)},
	    {DB_ROWS_INT, offsetof(struct clock_row, remaining)},
	    {DB_ROWS_INT, offsetof(struct clock_row, stopped_at)},
	    {DB_ROWS_INT, offsetof(struct clock_row, provisional)},
	    {DB_ROWS_TEXT, offsetof(struct clock_row, result)},
	    {DB_ROWS_INT, offsetof(struct clock_row, resumed_at)},
	};
	static const struct db_rows_col mark_cols[] = {
	    {DB_ROWS_INT, offsetof(struct clock_row, item_id)},
	};
	struct clock_row small[32], *rows = small;
	struct db_rows r;
	size_t i, j, k = 0, max = 0;
	int ret = -1, fresh = 1;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++)
		max += v[i]->nclocks;
	if (max < n)
		max = n; /* the rows hold the ladder's marks afterwards */
	if (max > sizeof(small) / sizeof(small[0])) {
		rows = calloc(max, sizeof(*rows));
		if (rows == NULL)
			return -1;
	}
	for (i = 0; i < n; i++) {
		for (j = 0; j < v[i]->nclocks; j++) {
			const struct db_clock *ck = &v[i]->clocks[j];
			struct clock_row *w = &rows[k++];

			w->item_id = v[i]->id;
			w->name = ck->name;
			w->started = ck->started;
			w->days = ck->days;
			w->unit = ck->unit[0] ? ck->unit : "working_days";
			w->end_minutes = ck->end_minutes > 0 ? ck->end_minutes : 1440;
			w->due = ck->due;
			w->paused_at = ck->paused_at;
			w->remaining = ck->remaining;
			w->stopped_at = ck->stopped_at;
			w->provisional = ck->provisional != 0;
			w->result = ck->result[0] ? ck->result : NULL;
			w->resumed_at = ck->resumed_at;
			fresh = fresh && ck->paused_at == 0 && ck->stopped_at == 0 &&
			        ck->result[0] == '\0' && ck->resumed_at == 0;
		}
	}
	/* remaining is stored only with paused_at or resumed_at: NULL for fresh clocks */
	if (k > 0 &&
	    (db_rows_set(&r, rows, k, sizeof(*rows), cols, sizeof(cols) / sizeof(cols[0])) != 0 ||
	     db_rows_exec(c, stmts[fresh ? STMT_CLOCK_ADD_MANY_NEW : STMT_CLOCK_ADD_MANY], &r) != 0))
		goto out;
	/* the ladder's marks (0, 0, id): the item_id of each item's row, one row an item */
	for (i = 0; i < n; i++)
		rows[i].item_id = v[i]->id;
	if (db_rows_set(&r, rows, n, sizeof(*rows), mark_cols, 1) == 0)
		ret = db_rows_exec(c, stmts[STMT_LADDER_ADD_MANY], &r);
out:
	if (rows != small)
		free(rows);
	return ret;
}

int
db_item_update(struct db_conn *c, const struct db_item *item)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_ITEM_UPDATE]);

	if (st == NULL)
		return -1;
	if (db_bind_text(st, 1, kind_name(item->kind)) ||
	    db_bind_text(st, 2, channel_name(item->channel)) ||
	    db_bind_text(st, 3, item->subject) ||
	    db_bind_text(st, 4, item->body) ||
	    db_bind_text(st, 5, item->name) ||
	    db_bind_text(st, 6, item->phone) ||
	    db_bind_text(st, 7, item->email) ||
	    db_bind_int(st, 8, item->publish != 0) ||
	    db_bind_int(st, 9, item->received) ||
	    db_bind_int(st, 10, item->updated) ||
	    db_bind_text(st, 11, wf_state_name(item->state)) ||
	    db_bind_text(st, 12, resume_name(item)) ||
	    bind_opt(st, 13, item->section_id) ||
	    bind_opt(st, 14, item->assignee_id) ||
	    bind_opt(st, 15, item->merged_into) ||
	    db_bind_text(st, 16, item->extension ? item->extension : "none") ||
	    db_bind_text(st, 17, item->draft) ||
	    db_bind_text(st, 18, item->reply) ||
	    db_bind_text(st, 19, item->reason) ||
	    bind_opt(st, 20, item->replied_at) ||
	    db_bind_int(st, 21, db_item_next_due(item)) ||
	    db_bind_text(st, 22, item->public_subject) ||
	    db_bind_text(st, 23, item->public_body) ||
	    db_bind_text(st, 24, item->public_reply) ||
	    db_bind_int(st, 25, item->published != 0) ||
	    db_bind_text(st, 26, item->source_ref) ||
	    db_bind_text(st, 27, item->address) ||
	    db_bind_text(st, 28, item->lat) ||
	    db_bind_text(st, 29, item->lng) ||
	    bind_opt(st, 30, item->waiting_since) ||
	    db_bind_int(st, 31, item->id) ||
	    db_exec_stmt(c, st) != 0) {
		db_reset(st);
		return -1;
	}
	if (sqlite3_changes(c->h) == 0)
		return 0;
	return clocks_put(c, item->id, item) == 0 ? 1 : -1;
}

static int
read_clocks(struct db_conn *c, struct db_item *item)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_CLOCK_LIST]);
	int rc;

	if (st == NULL || db_bind_int(st, 1, item->id) != 0)
		return -1;
	item->nclocks = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct db_clock *k;

		if (item->nclocks == sizeof(item->clocks) / sizeof(item->clocks[0]))
			break;
		k = &item->clocks[item->nclocks++];
		memset(k, 0, sizeof(*k));
		copy_str(k->name, sizeof(k->name), sqlite3_column_text(st, 0));
		k->started = sqlite3_column_int64(st, 1);
		k->days = sqlite3_column_int(st, 2);
		copy_str(k->unit, sizeof(k->unit), sqlite3_column_text(st, 3));
		k->end_minutes = sqlite3_column_int(st, 4);
		k->due = sqlite3_column_int64(st, 5);
		k->paused_at = sqlite3_column_int64(st, 6);
		k->remaining = sqlite3_column_int(st, 7);
		k->stopped_at = sqlite3_column_int64(st, 8);
		k->provisional = sqlite3_column_int(st, 9);
		copy_str(k->result, sizeof(k->result), sqlite3_column_text(st, 10));
		k->resumed_at = sqlite3_column_int64(st, 11);
	}
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		db_log("clocks: %s", sqlite3_errmsg(c->h));
		db_reset(st);
		return -1;
	}
	db_reset(st);
	return 0;
}

/* Fills item from a row of ITEM_COLS (no clocks). 0 or -1 (out of memory). */
static int
read_item(sqlite3_stmt *st, struct db_item *it)
{
	const void *hash;
	int lang;

	memset(it, 0, sizeof(*it));
	it->id = sqlite3_column_int64(st, 0);
	it->tracking = db_col_text(st, 1);
	it->kind = (enum kind)db_col_name(st, 2, kind_parse);
	it->channel = (enum channel)db_col_name(st, 3, channel_parse);
	it->subject = db_col_text(st, 4);
	it->body = db_col_text(st, 5);
	it->name = db_col_text(st, 6);
	it->phone = db_col_text(st, 7);
	it->email = db_col_text(st, 8);
	it->publish = sqlite3_column_int(st, 9);
	hash = sqlite3_column_blob(st, 10);
	if (hash != NULL && sqlite3_column_bytes(st, 10) == (int)sizeof(it->query_hash))
		memcpy(it->query_hash, hash, sizeof(it->query_hash));
	it->received = sqlite3_column_int64(st, 11);
	it->created = sqlite3_column_int64(st, 12);
	it->updated = sqlite3_column_int64(st, 13);
	it->state = (enum wf_state)db_col_name(st, 14, wf_state_parse);
	it->resume_state = (enum wf_state)db_col_name(st, 15, wf_state_parse);
	it->section_id = sqlite3_column_int64(st, 16);
	it->assignee_id = sqlite3_column_int64(st, 17);
	it->merged_into = sqlite3_column_int64(st, 18);
	it->extension = db_col_text(st, 19);
	it->draft = db_col_text(st, 20);
	it->reply = db_col_text(st, 21);
	it->reason = db_col_text(st, 22);
	it->replied_at = sqlite3_column_int64(st, 23);
	it->next_due = sqlite3_column_int64(st, 24);
	it->public_subject = db_col_text(st, 25);
	it->public_body = db_col_text(st, 26);
	it->public_reply = db_col_text(st, 27);
	it->published = sqlite3_column_int(st, 28);
	it->source_ref = db_col_text(st, 29);
	it->section_name = db_col_text(st, 30);
	it->assignee_name = db_col_text(st, 31);
	it->address = db_col_text(st, 32);
	it->lat = db_col_text(st, 33);
	it->lng = db_col_text(st, 34);
	it->waiting_since = sqlite3_column_int64(st, 35);
	/* NULL (an item stored before schema 031) is LANG_NONE: lang_parse's -1 */
	lang = db_col_name(st, 36, lang_parse);
	it->lang = lang > 0 ? (enum lang)lang : LANG_NONE;
	it->citizen_mail_at = sqlite3_column_int64(st, 37); /* NULL: 0 */
	if (it->tracking == NULL || (int)it->kind < 0 || (int)it->channel < 0 ||
	    it->subject == NULL || it->body == NULL || (int)it->state < 0 || it->extension == NULL) {
		db_item_free(it);
		return -1;
	}
	return 0;
}

static int
get_item(struct db_conn *c, sqlite3_stmt *st, struct db_item *out)
{
	struct db_item it;
	int rc = sqlite3_step(st);

	if (rc == SQLITE_DONE) {
		db_reset(st);
		return 0;
	}
	if (rc != SQLITE_ROW) {
		db_log("item: %s", sqlite3_errmsg(c->h));
		db_reset(st);
		return -1;
	}
	if (read_item(st, &it) != 0) {
		db_reset(st);
		return -1;
	}
	db_reset(st);
	if (read_clocks(c, &it) != 0) {
		db_item_free(&it);
		return -1;
	}
	*out = it;
	return 1;
}

int
db_item_get(struct db_conn *c, const char *tracking, struct db_item *out)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_ITEM_GET]);

	if (st == NULL || db_bind_text(st, 1, tracking) != 0)
		return -1;
	return get_item(c, st, out);
}

int
db_item_get_id(struct db_conn *c, int64_t id, struct db_item *out)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_ITEM_GET_ID]);

	if (st == NULL || db_bind_int(st, 1, id) != 0)
		return -1;
	return get_item(c, st, out);
}

int
db_o311_list(struct db_conn *c, const struct db_o311_query *q, struct db_row *rows, size_t max,
             size_t *n)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_O311_LIST]);
	size_t len = 0, limit = q->limit > 0 && (size_t)q->limit <= max ? (size_t)q->limit : max;
	int64_t *keys = NULL; /* received and id of each row, to check the order */
	struct db_row tmp;
	int k, closed, rc = SQLITE_DONE, ret = -1;
	size_t j;

	if (st == NULL)
		return -1;
	keys = malloc((limit ? limit : 1) * 2 * sizeof(*keys));
	if (keys == NULL)
		goto out;
	for (k = 0; k < KIND__MAX; k++)
		for (closed = 0; closed < 2; closed++)
			if (db_bind_text(st, k * 2 + closed + 1,
			                 q->lists[k][closed] ? kind_name((enum kind)k) : NULL) != 0)
				goto out;
	if (db_bind_int(st, 7, q->from) || db_bind_int(st, 8, q->to) ||
	    db_bind_int(st, 9, (int64_t)limit))
		goto out;
	while (len < limit && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (db_row_read(st, &rows[len]) != 0) {
			db_log("open311 list: a row cannot be kept");
			goto out;
		}
		keys[len * 2] = sqlite3_column_int64(st, 6); /* received */
		keys[len * 2 + 1] = sqlite3_column_int64(st, 0);
		/* the rows come in the merged lists' order; should a plan ever give them in
		 * another, each is put in its place (newest receipt first, then id) */
		for (j = len; j > 0 && (keys[(j - 1) * 2] < keys[j * 2] ||
		                        (keys[(j - 1) * 2] == keys[j * 2] &&
		                         keys[(j - 1) * 2 + 1] < keys[j * 2 + 1]));
		     j--) {
			int64_t r0 = keys[j * 2], r1 = keys[j * 2 + 1];

			keys[j * 2] = keys[(j - 1) * 2];
			keys[j * 2 + 1] = keys[(j - 1) * 2 + 1];
			keys[(j - 1) * 2] = r0;
			keys[(j - 1) * 2 + 1] = r1;
			tmp = rows[j];
			rows[j] = rows[j - 1];
			rows[j - 1] = tmp;
		}
		len++;
	}
	if (len < limit && rc != SQLITE_DONE) {
		db_log("open311 list: %s", sqlite3_errmsg(c->h));
		goto out;
	}
	*n = len;
	ret = 0;
out:
	db_reset(st);
	free(keys);
	return ret;
}

int
db_item_o311_view(const struct db_row *row, struct db_item *out)
{
	struct db_row_cursor rc = {row->p, row->p + row->len};
	struct db_item it;
	int64_t due, stopped;
	int due_type, stopped_type;

	/* the columns of O311_COLS, in order */
	memset(&it, 0, sizeof(it));
	it.id = db_rowc_int(&rc);
	it.tracking = DB_LENT(db_rowc_text(&rc));
	it.kind = (enum kind)db_rowc_name(&rc, kind_parse);
	it.state = (enum wf_state)db_rowc_name(&rc, wf_state_parse);
	it.resume_state = WF_NONE;
	it.publish = (int)db_rowc_int(&rc);
	it.published = (int)db_rowc_int(&rc);
	it.received = db_rowc_int(&rc);
	it.updated = db_rowc_int(&rc);
	it.replied_at = db_rowc_int(&rc);
	it.section_name = DB_LENT(db_rowc_text(&rc));
	it.public_subject = DB_LENT(db_rowc_text(&rc));
	it.public_body = DB_LENT(db_rowc_text(&rc));
	it.public_reply = DB_LENT(db_rowc_text(&rc));
	it.subject = DB_LENT(db_rowc_text(&rc));
	it.body = DB_LENT(db_rowc_text(&rc));
	it.reply = DB_LENT(db_rowc_text(&rc));
	it.name = DB_LENT(db_rowc_text(&rc));
	due_type = db_rowc_type(&rc);
	due = db_rowc_int(&rc);
	stopped_type = db_rowc_type(&rc);
	stopped = db_rowc_int(&rc);
	if (due_type != SQLITE_NULL || stopped_type != SQLITE_NULL) {
		snprintf(it.clocks[0].name, sizeof(it.clocks[0].name), "reply");
		it.clocks[0].due = due;
		it.clocks[0].stopped_at = stopped;
		it.nclocks = 1;
	}
	if (it.tracking == NULL || (int)it.kind < 0 || (int)it.state < 0)
		return -1;
	*out = it;
	return 0;
}

int
db_item_list_public(struct db_conn *c, int64_t before, size_t limit, struct db_item **out,
                    size_t *n)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_ITEM_LIST_PUBLIC]);
	struct db_item *v = NULL;
	size_t len = 0, i;
	int rc = SQLITE_DONE;

	if (st == NULL)
		return -1;
	if (limit > 1000)
		limit = 1000;
	v = calloc(limit ? limit : 1, sizeof(*v));
	if (v == NULL || db_bind_int(st, 1, before) || db_bind_int(st, 2, (int64_t)limit))
		goto fail;
	while (len < limit && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (read_item(st, &v[len]) != 0)
			goto fail;
		len++;
	}
	if (len < limit && rc != SQLITE_DONE) {
		db_log("public items: %s", sqlite3_errmsg(c->h));
		goto fail;
	}
	db_reset(st);
	for (i = 0; i < len; i++)
		if (read_clocks(c, &v[i]) != 0)
			goto fail;
	*out = v;
	*n = len;
	return 0;
fail:
	db_reset(st);
	db_items_free(v, len);
	return -1;
}

void
db_item_free(struct db_item *it)
{
	if (it == NULL)
		return;
	free(it->tracking);
	free(it->subject);
	free(it->body);
	free(it->name);
	free(it->phone);
	free(it->email);
	free(it->extension);
	free(it->draft);
	free(it->reply);
	free(it->reason);
	free(it->public_subject);
	free(it->public_body);
	free(it->public_reply);
	free(it->address);
	free(it->lat);
	free(it->lng);
	free(it->source_ref);
	free(it->section_name);
	free(it->assignee_name);
	memset(it, 0, sizeof(*it));
}

void
db_items_free(struct db_item *items, size_t n)
{
	size_t i;

	if (items == NULL)
		return;
	for (i = 0; i < n; i++)
		db_item_free(&items[i]);
	free(items);
}

int
db_history_add(struct db_conn *c, int64_t item_id, const struct db_history *h)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_HISTORY_ADD]);

	if (st == NULL)
		return -1;
	if (db_bind_int(st, 1, item_id) ||
	    db_bind_int(st, 2, h->at) ||
	    bind_opt(st, 3, h->actor_id) ||
	    bind_static(st, 4, h->actor ? h->actor : "system") ||
	    bind_static(st, 5, h->action) ||
	    bind_static(st, 6, h->from_state) ||
	    bind_static(st, 7, h->to_state) ||
	    bind_static(st, 8, h->note) ||
	    db_bind_int(st, 9, h->citizen != 0) ||
	    bind_static(st, 10, h->clock) ||
	    bind_opt(st, 11, h->clock != NULL ? h->due : 0) ||
	    db_exec_stmt(c, st) != 0) {
		db_reset(st);
		return -1;
	}
	return 0;
}

/* A history row as db_rows reads it (STMT_HISTORY_ADD_MANY). */
struct history_row {
	int64_t item_id, at, actor_id;
	const char *actor, *action, *from_state, *to_state, *note;
	int64_t citizen;
	const char *clock;
	int64_t due;
};

int
db_history_add_many(struct db_conn *c, const int64_t *item_ids, const struct db_history *const *h,
                    size_t n)
{
	static const struct db_rows_col cols[] = {
	    {DB_ROWS_INT, offsetof(struct history_row, item_id)},
	    {DB_ROWS_INT, offsetof(struct history_row, at)},
	    {DB_ROWS_INT, offsetof(struct history_row, actor_id)},
	    {DB_ROWS_TEXT, offsetof(struct history_row, actor)},
	    {DB_ROWS_TEXT, offsetof(struct history_row, action)},
	    {DB_ROWS_TEXT, offsetof(struct history_row, from_state)},
	    {DB_ROWS_TEXT, offsetof(struct history_row, to_state)},
	    {DB_ROWS_TEXT, offsetof(struct history_row, note)},
	    {DB_ROWS_INT, offsetof(struct history_row, citizen)},
	    {DB_ROWS_TEXT, offsetof(struct history_row, clock)},
	    {DB_ROWS_INT, offsetof(struct history_row, due)},
	};
	struct history_row small[32], *rows = small;
	struct db_rows r;
	size_t i;
	int ret = -1;

	if (n == 0)
		return 0;
	if (n > sizeof(small) / sizeof(small[0])) {
		rows = calloc(n, sizeof(*rows));
		if (rows == NULL)
			return -1;
	}
	for (i = 0; i < n; i++) {
		rows[i].item_id = item_ids[i];
		rows[i].at = h[i]->at;
		rows[i].actor_id = h[i]->actor_id;
		rows[i].actor = h[i]->actor ? h[i]->actor : "system";
		rows[i].action = h[i]->action;
		rows[i].from_state = h[i]->from_state;
		rows[i].to_state = h[i]->to_state;
		rows[i].note = h[i]->note;
		rows[i].citizen = h[i]->citizen != 0;
		rows[i].clock = h[i]->clock;
		rows[i].due = h[i]->due;
	}
	if (db_rows_set(&r, rows, n, sizeof(*rows), cols, sizeof(cols) / sizeof(cols[0])) == 0)
		ret = db_rows_exec(c, stmts[STMT_HISTORY_ADD_MANY], &r);
	if (rows != small)
		free(rows);
	return ret;
}

static int
read_history(sqlite3_stmt *st, struct db_history *h)
{
	memset(h, 0, sizeof(*h));
	h->id = sqlite3_column_int64(st, 0);
	h->at = sqlite3_column_int64(st, 1);
	h->actor_id = sqlite3_column_int64(st, 2);
	h->actor = db_col_text(st, 3);
	h->action = db_col_text(st, 4);
	h->from_state = db_col_text(st, 5);
	h->to_state = db_col_text(st, 6);
	h->note = db_col_text(st, 7);
	h->citizen = sqlite3_column_int(st, 8);
	h->clock = db_col_text(st, 9);
	h->due = sqlite3_column_int64(st, 10);
	return h->actor && h->action && h->to_state &&
	               (h->clock != NULL || sqlite3_column_type(st, 9) == SQLITE_NULL) ?
	           0 :
	           -1;
}

static int
read_history_v(sqlite3_stmt *st, void *row)
{
	return read_history(st, row);
}

static void
free_history_v(void *rows, size_t n)
{
	db_history_free(rows, n);
}

int
db_history_list(struct db_conn *c, int64_t item_id, int citizen_only, struct db_history **out,
                size_t *n)
{
	sqlite3_stmt *st =
	    db_prep(c, stmts[citizen_only ? STMT_HISTORY_LIST_CITIZEN : STMT_HISTORY_LIST]);
	void *rows;

	if (st == NULL || db_bind_int(st, 1, item_id) != 0)
		return -1;
	if (db_list_rows(c, st, sizeof(struct db_history), "history", read_history_v, free_history_v, &rows, n) != 0)
		return -1;
	*out = rows;
	return 0;
}

void
db_history_free(struct db_history *h, size_t n)
{
	size_t i;

	if (h == NULL)
		return;
	for (i = 0; i < n; i++) {
		free(h[i].actor);
		free(h[i].action);
		free(h[i].from_state);
		free(h[i].to_state);
		free(h[i].note);
		free(h[i].clock);
	}
	free(h);
}

int
db_attachment_add(struct db_conn *c, int64_t item_id, const struct db_attachment *a)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_ATTACHMENT_ADD]);

	if (st == NULL)
		return -1;
	if (db_bind_int(st, 1, item_id) ||
	    db_bind_text(st, 2, a->filename) ||
	    db_bind_text(st, 3, a->content_type) ||
	    db_bind_int(st, 4, a->size) ||
	    db_bind_blob(st, 5, a->data ? a->data : "", (size_t)a->size) ||
	    db_exec_stmt(c, st) != 0) {
		db_reset(st);
		return -1;
	}
	return 0;
}

int
db_attachment_list(struct db_conn *c, int64_t item_id, struct db_attachment **out, size_t *n)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_ATTACHMENT_LIST]);
	struct db_attachment *v = NULL, *nv;
	size_t len = 0, cap = 0;
	int rc;

	if (st == NULL || db_bind_int(st, 1, item_id) != 0)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct db_attachment *a;

		nv = db_grow(v, len, &cap, sizeof(*v));
		if (nv == NULL)
			goto fail;
		v = nv;
		a = &v[len++];
		memset(a, 0, sizeof(*a));
		a->id = sqlite3_column_int64(st, 0);
		a->filename = db_col_text(st, 1);
		a->content_type = db_col_text(st, 2);
		a->size = sqlite3_column_int64(st, 3);
		if (a->filename == NULL || a->content_type == NULL)
			goto fail;
	}
	if (rc != SQLITE_DONE) {
		db_log("attachments: %s", sqlite3_errmsg(c->h));
		goto fail;
	}
	db_reset(st);
	*out = v;
	*n = len;
	return 0;
fail:
	db_reset(st);
	db_attachments_free(v, len);
	return -1;
}

int
db_attachment_get(struct db_conn *c, int64_t item_id, int64_t id, struct db_attachment *out)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_ATTACHMENT_GET]);
	struct db_attachment a;
	int rc, ret = -1;
	int len;

	if (st == NULL || db_bind_int(st, 1, item_id) || db_bind_int(st, 2, id))
		return -1;
	memset(&a, 0, sizeof(a));
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		ret = 0;
		goto out;
	}
	if (rc != SQLITE_ROW) {
		db_log("attachment: %s", sqlite3_errmsg(c->h));
		goto out;
	}
	a.id = sqlite3_column_int64(st, 0);
	a.filename = db_col_text(st, 1);
	a.content_type = db_col_text(st, 2);
	len = sqlite3_column_bytes(st, 4);
	a.size = len;
	a.data = malloc((size_t)len + 1);
	if (a.filename == NULL || a.content_type == NULL || a.data == NULL) {
		db_attachment_free(&a);
		goto out;
	}
	if (len > 0)
		memcpy(a.data, sqlite3_column_blob(st, 4), (size_t)len);
	*out = a;
	ret = 1;
out:
	db_reset(st);
	return ret;
}

void
db_attachment_free(struct db_attachment *a)
{
	if (a == NULL)
		return;
	free(a->filename);
	free(a->content_type);
	free(a->data);
	memset(a, 0, sizeof(*a));
}

void
db_attachments_free(struct db_attachment *a, size_t n)
{
	size_t i;

	if (a == NULL)
		return;
	for (i = 0; i < n; i++)
		db_attachment_free(&a[i]);
	free(a);
}

/* --- Open311's list, merged items, earlier public versions (schema 004) -------------------- */

int
db_item_merged(struct db_conn *c, int64_t target_id, int64_t **ids, char ***trackings,
               size_t *n)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_ITEM_MERGED]);
	int64_t *iv = NULL, *ni;
	char **tv = NULL, **nt;
	size_t len = 0, cap = 0;
	int rc;

	if (st == NULL || db_bind_int(st, 1, target_id) != 0)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (len == cap) {
			cap = cap ? cap * 2 : 8;
			ni = realloc(iv, cap * sizeof(*iv));
			if (ni == NULL)
				goto fail;
			iv = ni;
			nt = realloc(tv, cap * sizeof(*tv));
			if (nt == NULL)
				goto fail;
			tv = nt;
		}
		iv[len] = sqlite3_column_int64(st, 0);
		tv[len] = db_col_text(st, 1);
		if (tv[len] == NULL)
			goto fail;
		len++;
	}
	if (rc != SQLITE_DONE) {
		db_log("merged items: %s", sqlite3_errmsg(c->h));
		goto fail;
	}
	db_reset(st);
	*ids = iv;
	*trackings = tv;
	*n = len;
	return 0;
fail:
	db_reset(st);
	free(iv);
	db_strings_free(tv, len);
	return -1;
}

int
db_public_version_add(struct db_conn *c, const struct db_item *item, int64_t at,
                      int64_t actor_id)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_PUBLIC_VERSION_ADD]);

	if (st == NULL)
		return -1;
	if (db_bind_int(st, 1, item->id) ||
	    db_bind_int(st, 2, at) ||
	    bind_opt(st, 3, actor_id) ||
	    db_bind_text(st, 4, item->public_subject) ||
	    db_bind_text(st, 5, item->public_body) ||
	    db_bind_text(st, 6, item->public_reply) ||
	    db_bind_int(st, 7, item->published != 0) ||
	    db_exec_stmt(c, st) != 0) {
		db_reset(st);
		return -1;
	}
	return 0;
}
