/* db_outbox.c: storage of the notices to send (outbox; a ladder notice as its key since schema
 * 022), the escalation ladder's marks and the accounts that should have received a notice but
 * have no address for it (schema 005). */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_int.h"

enum stmt {
	STMT_ADD,
	STMT_DUE_EMAIL,
	STMT_DUE_SMS,
	STMT_CLAIM,
	STMT_SENT,
	STMT_FAILED,
	STMT_LATER,
	STMT_REQUEUE,
	STMT_LIST,
	STMT_LIST_ALL,
	STMT_GET,
	STMT_COUNT,
	STMT_COUNT_PENDING,
	STMT_LIST_MARKED,
	STMT_LADDER_DUE,
	STMT_LADDER_SET,
	STMT_MISSING_ADD,
	STMT_MISSING_LIST,
	STMT_RUN_GET,
	STMT_RUN_SET,
	STMT_GROUP_EMAIL,
	STMT_GROUP_SMS,
	STMT_LADDER_CLOCKS,
	STMT_LADDER_TAKEN,
	STMT_ADD_KEY,
	STMT_DROPPED,
	STMT_OWNER,
	STMT_FAN_LIST,
	STMT_FAN_DONE,
	STMT_ADD_KEYS,
	STMT_LADDER_SET_MANY,
	STMT_ADD_BARE,
	STMT_READDRESS,
	STMT_REQUEUE_GIVEN_UP,
	STMT_SENT_LOGGED,
	STMT_LADDER_RELOOK,
	STMT__MAX
};

#define OUTBOX_COLS                                                                                \
	"o.id, coalesce(o.item_id, 0), coalesce(o.clock, ''), o.step, o.channel, o.recipient, "    \
	"o.subject, o.body, o.created, o.send_after, o.attempts, coalesce(o.sent_at, 0), "         \
	"o.last_error, o.state, o.message_id, coalesce(o.give_up_at, 0), "                         \
	"coalesce(o.last_attempt, 0), coalesce(o.account_id, 0), i.tracking, o.lkey, i.lang "      \
	"FROM outbox o LEFT JOIN items i ON i.id = o.item_id "

static const char *const stmts[STMT__MAX] = {
	/* once per (item, clock, step, channel, recipient): outbox_once, or outbox_keys for a
	 * key row (026) */
	[STMT_ADD] = "INSERT INTO outbox (item_id, clock, step, channel, recipient, subject, body, "
	             "created, send_after, give_up_at, account_id, lkey) "
	             "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
	/* through outbox_due_email or outbox_due_sms (the pending rows of a channel by send_after,
	 * 026: a partial index is used only where the query names its channel) */
	[STMT_DUE_EMAIL] = "SELECT " OUTBOX_COLS "WHERE o.state = 'pending' AND o.channel = 'email' "
	                   "AND o.send_after <= ?1 ORDER BY o.send_after, o.id LIMIT ?2",
	[STMT_DUE_SMS] = "SELECT " OUTBOX_COLS "WHERE o.state = 'pending' AND o.channel = 'sms' "
	                 "AND o.send_after <= ?1 ORDER BY o.send_after, o.id LIMIT ?2",
	/* a claimed row is being sent: tried, neither marked nor failed, no error of its own yet
	 * (a retried row's last error goes, so that it does not read as the outcome of this try) */
	[STMT_CLAIM] = "UPDATE outbox SET attempts = attempts + 1, last_attempt = ?, "
	               "message_id = coalesce(message_id, ?), send_after = ?, last_error = NULL "
	               "WHERE id = ? AND state = 'pending'",
	/* a citizen's acknowledgement with its text (an e-mail letter's: the query code in
	 * clear) keeps it only until it is sent: then it is as one written when sent, from the
	 * item, without the code (SENT_TEXT) */
#define SENT_TEXT "body = CASE WHEN step = 'ack' AND account_id IS NULL THEN NULL ELSE body END "
	[STMT_SENT] = "UPDATE outbox SET state = 'sent', sent_at = ?, last_error = NULL, " SENT_TEXT
	              "WHERE id = ? AND state = 'pending'",
	/* a line of the log of accepted e-mails (db_outbox_log.c): that row, if it still has
	 * that Message-ID */
	[STMT_SENT_LOGGED] = "UPDATE outbox SET state = 'sent', sent_at = ?, last_error = NULL, "
	                     SENT_TEXT "WHERE id = ? AND message_id = ? AND state = 'pending'",
#undef SENT_TEXT
	[STMT_FAILED] = "UPDATE outbox SET state = 'failed', last_error = ? "
	                "WHERE id = ? AND state = 'pending'",
	[STMT_LATER] = "UPDATE outbox SET send_after = max(send_after, ?), last_error = ? "
	               "WHERE id = ? AND state = 'pending'",
	[STMT_REQUEUE] = "UPDATE outbox SET state = 'pending', send_after = ?, attempts = 0, "
	                 "give_up_at = ?, message_id = NULL WHERE id = ? AND state = 'failed'",
	/* the failed rows (through outbox_marked, 025) the dispatcher gave up on (their error
	 * starts with DB_GAVE_UP, ?4), of channel ?3 or of both when it is NULL */
	[STMT_REQUEUE_GIVEN_UP] = "UPDATE outbox SET state = 'pending', send_after = ?1, "
	                          "attempts = 0, give_up_at = ?2, message_id = NULL "
	                          "WHERE id IN (SELECT id FROM outbox_marked WHERE state = 'failed') "
	                          "AND state = 'failed' AND substr(last_error, 1, length(?4)) = ?4 "
	                          "AND (?3 IS NULL OR channel = ?3)",
	[STMT_LIST] = "SELECT " OUTBOX_COLS "WHERE o.state = ? AND o.id < ? "
	              "ORDER BY o.id DESC LIMIT ?",
	[STMT_LIST_ALL] = "SELECT " OUTBOX_COLS "WHERE o.id < ? ORDER BY o.id DESC LIMIT ?",
	[STMT_GET] = "SELECT " OUTBOX_COLS "WHERE o.id = ?",
	/* the counts kept by schema 025's trigger; the pending rows through outbox_due_* */
	[STMT_COUNT] = "SELECT coalesce((SELECT n FROM outbox_counts WHERE state = ?), 0)",
	[STMT_COUNT_PENDING] = "SELECT (SELECT count(*) FROM outbox WHERE state = 'pending' AND "
	                       "channel = 'email') + (SELECT count(*) FROM outbox WHERE "
	                       "state = 'pending' AND channel = 'sms')",
	/* the failed or dropped rows through outbox_marked (025), each by its id */
	[STMT_LIST_MARKED] = "SELECT " OUTBOX_COLS "JOIN outbox_marked m ON m.id = o.id "
	                     "WHERE m.state = ? AND m.id < ? AND o.state = m.state "
	                     "ORDER BY m.id DESC LIMIT ?",
	/* the ladder's entries by time (schema 019): the table is its own index */
	[STMT_LADDER_DUE] = "SELECT item_id, next_at FROM ladder WHERE next_at <= ? "
	                    "ORDER BY next_at, seq, item_id LIMIT ?",
	[STMT_LADDER_SET] = "INSERT OR IGNORE INTO ladder (next_at, item_id) VALUES (?2, ?1)",
	/* an entry due at once (0, as a change adds) for each item with an entry at that instant:
	 * the table's own order finds them */
	[STMT_LADDER_RELOOK] = "INSERT OR IGNORE INTO ladder (next_at, seq, item_id) "
	                       "SELECT 0, 0, item_id FROM ladder WHERE next_at = ?",
	[STMT_MISSING_ADD] = "INSERT INTO notify_missing (item_id, clock, step, channel, account_id, "
	                     "role, section_id, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
	                     "ON CONFLICT DO NOTHING",
	[STMT_MISSING_LIST] = "SELECT m.id, coalesce(m.item_id, 0), m.clock, m.step, m.channel, "
	                      "coalesce(m.account_id, 0), m.role, coalesce(m.section_id, 0), m.at, "
	                      "i.tracking, a.username, s.name FROM notify_missing m "
	                      "LEFT JOIN items i ON i.id = m.item_id "
	                      "LEFT JOIN accounts a ON a.id = m.account_id "
	                      "LEFT JOIN sections s ON s.id = m.section_id "
	                      "ORDER BY m.id DESC LIMIT ?",
	[STMT_RUN_GET] = "SELECT last FROM notify_runs WHERE name = ?",
	[STMT_RUN_SET] = "INSERT INTO notify_runs (name, last) VALUES (?, ?) "
	                 "ON CONFLICT (name) DO UPDATE SET last = excluded.last",
	/* the rows of one combined message share their send_after: outbox_due_* finds them */
	[STMT_GROUP_EMAIL] = "SELECT " OUTBOX_COLS "WHERE o.state = 'pending' AND o.channel = 'email' "
	                     "AND o.send_after = ?1 AND o.message_id = ?2 ORDER BY o.id",
	[STMT_GROUP_SMS] = "SELECT " OUTBOX_COLS "WHERE o.state = 'pending' AND o.channel = 'sms' "
	                   "AND o.send_after = ?1 AND o.message_id = ?2 ORDER BY o.id",
	/* the due entries in their order, then each one's clocks by their key (the nested loop
	 * keeps an item's clocks together, without sorting the whole result again; the caller
	 * does not count on it) */
	[STMT_LADDER_CLOCKS] = "SELECT l.item_id, l.next_at, l.seq, coalesce(k.name, ''), "
	                       "coalesce(k.due, 0), k.stopped_at IS NULL AND k.paused_at IS NULL "
	                       "FROM (SELECT item_id, next_at, seq FROM ladder WHERE next_at <= ? "
	                       "ORDER BY next_at, seq, item_id LIMIT ?) l "
	                       "LEFT JOIN clocks k ON k.item_id = l.item_id",
	/* the entries a scan took: the front of the table up to (next_at, seq, item_id) */
	[STMT_LADDER_TAKEN] = "DELETE FROM ladder WHERE (next_at, seq, item_id) <= (?1, ?2, ?3)",
	/* a ladder notice: its key and recipient only (the scan writes 40,000 of these at a time) */
	[STMT_ADD_KEY] = "INSERT INTO outbox (item_id, channel, recipient, created, send_after, "
	                 "give_up_at, account_id, lkey) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
	                 "ON CONFLICT DO NOTHING",
	[STMT_DROPPED] = "UPDATE outbox SET state = 'dropped', last_error = ? "
	                 "WHERE id = ? AND state = 'pending'",
	/* the account's address now, and a new Message-ID at the next claim; left as it is when
	 * the notice to that address is queued already (outbox_once, outbox_keys) */
	[STMT_READDRESS] = "UPDATE OR IGNORE outbox SET recipient = ?, message_id = NULL "
	                   "WHERE id = ? AND state = 'pending'",
	[STMT_OWNER] = "SELECT coalesce(section_id, 0), coalesce(assignee_id, 0) FROM items "
	               "WHERE id = ?",
	[STMT_FAN_LIST] = "SELECT at, item_id, mark FROM ladder_fanout ORDER BY at, item_id LIMIT ?",
	[STMT_FAN_DONE] = "DELETE FROM ladder_fanout WHERE at = ? AND item_id = ?",
	/* a transaction's worth of the scan's key rows in one statement (db_batch.c): the table's
	 * and each index's cursor opened once, each row appended where the last one went */
	[STMT_ADD_KEYS] = "INSERT INTO outbox (item_id, channel, recipient, created, send_after, "
	                  "give_up_at, account_id, lkey) "
	                  "SELECT c0, c1, c2, c3, c4, c5, c6, c7 FROM db_rows(?1) WHERE 1 "
	                  "ON CONFLICT DO NOTHING",
	[STMT_LADDER_SET_MANY] = "INSERT OR IGNORE INTO ladder (next_at, seq, item_id) "
	                         "SELECT c1, ?2, c0 FROM db_rows(?1) WHERE 1",
	/* the citizens' notices of a batch of the group-commit writer that are queued without
	 * their text (the acknowledgements): the rows STMT_ADD writes for them, in one statement */
	[STMT_ADD_BARE] = "INSERT INTO outbox (item_id, clock, step, channel, recipient, created, "
	                  "send_after, give_up_at) "
	                  "SELECT c0, '', c1, c2, c3, c4, c5, c6 FROM db_rows(?1) WHERE 1 "
	                  "ON CONFLICT DO NOTHING",
};

static int
bind_id(sqlite3_stmt *st, int i, int64_t id)
{
	return id != 0 ? db_bind_int(st, i, id) : (sqlite3_bind_null(st, i) == SQLITE_OK ? 0 : -1);
}

/* A ladder notice's row: 0 queued / 1 there already / -1. Its strings are bound without a
 * copy: they outlive the statement's step. */
static int
add_key(struct db_conn *c, const struct db_notice *o, int64_t *id)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_ADD_KEY]);

	if (st == NULL)
		return -1;
	if (sqlite3_bind_int64(st, 1, o->item_id) != SQLITE_OK ||
	    sqlite3_bind_text(st, 2, o->channel, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(st, 3, o->recipient, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 4, o->created) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 5, o->send_after) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 6, o->give_up_at) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 7, o->account_id) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 8, o->lkey) != SQLITE_OK) {
		db_reset(st);
		return -1;
	}
	if (db_exec_stmt(c, st) != 0)
		return -1;
	if (sqlite3_changes(c->h) == 0)
		return 1;
	if (id != NULL)
		*id = sqlite3_last_insert_rowid(c->h);
	return 0;
}

int
db_outbox_add(struct db_conn *c, const struct db_notice *o, int64_t *id)
{
	sqlite3_stmt *st;

	if (o->lkey != 0 && o->item_id != 0 && o->account_id != 0)
		return add_key(c, o, id);
	st = db_prep(c, stmts[STMT_ADD]);
	if (st == NULL)
		return -1;
	if (bind_id(st, 1, o->item_id) ||
	    db_bind_text(st, 2, o->lkey != 0 ? NULL : o->clock ? o->clock : "") ||
	    db_bind_text(st, 3, o->lkey != 0 ? NULL : o->step) ||
	    db_bind_text(st, 4, o->channel) ||
	    db_bind_text(st, 5, o->recipient) ||
	    db_bind_text(st, 6, o->subject) ||
	    db_bind_text(st, 7, o->body) ||
	    db_bind_int(st, 8, o->created) ||
	    db_bind_int(st, 9, o->send_after) ||
	    db_bind_int(st, 10, o->give_up_at) ||
	    bind_id(st, 11, o->account_id) ||
	    bind_id(st, 12, o->lkey) ||
	    db_exec_stmt(c, st) != 0)
		return -1;
	if (sqlite3_changes(c->h) == 0)
		return 1;
	if (id != NULL)
		*id = sqlite3_last_insert_rowid(c->h);
	return 0;
}

int
db_outbox_add_keys(struct db_conn *c, const struct db_notice *v, size_t n, size_t *added)
{
	static const struct db_rows_col cols[] = {
	    {DB_ROWS_INT, offsetof(struct db_notice, item_id)},
	    {DB_ROWS_TEXT, offsetof(struct db_notice, channel)},
	    {DB_ROWS_TEXT, offsetof(struct db_notice, recipient)},
	    {DB_ROWS_INT, offsetof(struct db_notice, created)},
	    {DB_ROWS_INT, offsetof(struct db_notice, send_after)},
	    {DB_ROWS_INT, offsetof(struct db_notice, give_up_at)},
	    {DB_ROWS_INT, offsetof(struct db_notice, account_id)},
	    {DB_ROWS_INT, offsetof(struct db_notice, lkey)},
	};
	struct db_rows r;
	size_t i;

	*added = 0;
	if (n == 0)
		return 0;
	for (i = 0; i < n; i++)
		if (v[i].item_id == 0 || v[i].account_id == 0 || v[i].lkey == 0 ||
		    v[i].channel == NULL || v[i].recipient == NULL) {
			db_log("outbox: row %zu of a batch is not a ladder key", i);
			return -1;
		}
	if (db_rows_set(&r, v, n, sizeof(*v), cols, sizeof(cols) / sizeof(cols[0])) != 0 ||
	    db_rows_exec(c, stmts[STMT_ADD_KEYS], &r) != 0)
		return -1;
	*added = (size_t)sqlite3_changes(c->h);
	return 0;
}

int
db_outbox_add_bare(struct db_conn *c, const struct db_notice *v, size_t n, size_t *added)
{
	static const struct db_rows_col cols[] = {
	    {DB_ROWS_INT, offsetof(struct db_notice, item_id)},
	    {DB_ROWS_TEXT, offsetof(struct db_notice, step)},
	    {DB_ROWS_TEXT, offsetof(struct db_notice, channel)},
	    {DB_ROWS_TEXT, offsetof(struct db_notice, recipient)},
	    {DB_ROWS_INT, offsetof(struct db_notice, created)},
	    {DB_ROWS_INT, offsetof(struct db_notice, send_after)},
	    {DB_ROWS_INT, offsetof(struct db_notice, give_up_at)},
	};
	struct db_rows r;
	size_t i;

	*added = 0;
	if (n == 0)
		return 0;
	for (i = 0; i < n; i++)
		if (v[i].item_id == 0 || v[i].account_id != 0 || v[i].lkey != 0 ||
		    (v[i].clock != NULL && v[i].clock[0] != '\0') || v[i].subject != NULL ||
		    v[i].body != NULL || v[i].step == NULL || v[i].channel == NULL ||
		    v[i].recipient == NULL) {
			db_log("outbox: row %zu of a batch is not a citizen's notice without text", i);
			return -1;
		}
	if (db_rows_set(&r, v, n, sizeof(*v), cols, sizeof(cols) / sizeof(cols[0])) != 0 ||
	    db_rows_exec(c, stmts[STMT_ADD_BARE], &r) != 0)
		return -1;
	*added = (size_t)sqlite3_changes(c->h);
	return 0;
}

int
db_ladder_set_many(struct db_conn *c, const struct db_ladder_next *v, size_t n, int64_t seq)
{
	static const struct db_rows_col cols[] = {
	    {DB_ROWS_INT, offsetof(struct db_ladder_next, item_id)},
	    {DB_ROWS_INT, offsetof(struct db_ladder_next, next_at)},
	};
	struct db_rows r;
	sqlite3_stmt *st;

	if (n == 0)
		return 0;
	if (db_rows_set(&r, v, n, sizeof(*v), cols, sizeof(cols) / sizeof(cols[0])) != 0)
		return -1;
	st = db_prep(c, stmts[STMT_LADDER_SET_MANY]);
	if (st == NULL)
		return -1;
	if (db_bind_rows(st, 1, &r) != 0 || db_bind_int(st, 2, seq) != 0) {
		db_reset(st);
		return -1;
	}
	return db_exec_stmt(c, st);
}

static int
read_row(sqlite3_stmt *st, struct db_outbox *o)
{
	int lang;

	memset(o, 0, sizeof(*o));
	o->id = sqlite3_column_int64(st, 0);
	o->item_id = sqlite3_column_int64(st, 1);
	o->clock = db_col_text(st, 2);
	o->step = db_col_text(st, 3);
	o->channel = db_col_text(st, 4);
	o->recipient = db_col_text(st, 5);
	o->subject = db_col_text(st, 6);
	o->body = db_col_text(st, 7);
	o->created = sqlite3_column_int64(st, 8);
	o->send_after = sqlite3_column_int64(st, 9);
	o->attempts = sqlite3_column_int(st, 10);
	o->sent_at = sqlite3_column_int64(st, 11);
	o->last_error = db_col_text(st, 12);
	o->state = db_col_text(st, 13);
	o->message_id = db_col_text(st, 14);
	o->give_up_at = sqlite3_column_int64(st, 15);
	o->last_attempt = sqlite3_column_int64(st, 16);
	o->account_id = sqlite3_column_int64(st, 17);
	o->tracking = db_col_text(st, 18);
	o->lkey = sqlite3_column_int64(st, 19);
	/* NULL (no item, or one stored before schema 031) is LANG_NONE: lang_parse's -1 */
	lang = db_col_name(st, 20, lang_parse);
	o->lang = lang > 0 ? (enum lang)lang : LANG_NONE;
	if (o->lkey != 0) { /* a key row: its clock and step from the key */
		struct db_ladder_key k;
		char step[64];

		free(o->clock);
		free(o->step);
		o->clock = o->step = NULL;
		if (db_ladder_key_parse(o->lkey, &k) == 0) {
			db_ladder_key_step(&k, step, sizeof(step));
			o->clock = strdup(db_ladder_key_clock(&k));
			o->step = strdup(step);
		}
	}
	/* body NULL: a ladder key row, or a citizen's acknowledgement (notifiers/citizen.c), whose
	 * text the dispatcher writes when it sends it */
	if (o->clock == NULL || o->step == NULL || o->channel == NULL || o->recipient == NULL ||
	    o->state == NULL) {
		db_outbox_free(o);
		return -1;
	}
	return 0;
}

static int
read_row_any(sqlite3_stmt *st, void *row)
{
	return read_row(st, row);
}

static void
free_rows_any(void *rows, size_t n)
{
	db_outboxes_free(rows, n);
}

/* Steps st (bound) to the end, collecting rows into a new array. Resets st. */
static int
read_rows(struct db_conn *c, sqlite3_stmt *st, struct db_outbox **out, size_t *n)
{
	return db_list_rows(c, st, sizeof(**out), "outbox", read_row_any, free_rows_any,
	                    (void **)out, n);
}

int
db_outbox_due(struct db_conn *c, const char *channel, int64_t now, int limit,
              struct db_outbox **out, size_t *n)
{
	sqlite3_stmt *st;

	if (strcmp(channel, "email") != 0 && strcmp(channel, "sms") != 0) {
		db_log("outbox: no channel %s", channel);
		return -1;
	}
	st = db_prep(c, stmts[strcmp(channel, "sms") == 0 ? STMT_DUE_SMS : STMT_DUE_EMAIL]);
	if (st == NULL)
		return -1;
	if (db_bind_int(st, 1, now) || db_bind_int(st, 2, limit)) {
		db_reset(st);
		return -1;
	}
	return read_rows(c, st, out, n);
}

int
db_outbox_group(struct db_conn *c, const char *channel, int64_t send_after,
                const char *message_id, struct db_outbox **out, size_t *n)
{
	sqlite3_stmt *st;

	if (strcmp(channel, "email") != 0 && strcmp(channel, "sms") != 0) {
		db_log("outbox: no channel %s", channel);
		return -1;
	}
	st = db_prep(c, stmts[strcmp(channel, "sms") == 0 ? STMT_GROUP_SMS : STMT_GROUP_EMAIL]);
	if (st == NULL)
		return -1;
	if (db_bind_int(st, 1, send_after) || db_bind_text(st, 2, message_id)) {
		db_reset(st);
		return -1;
	}
	return read_rows(c, st, out, n);
}

/* Runs an UPDATE of one row: 1 changed / 0 not (no such row in that state) / -1. */
static int
update_one(struct db_conn *c, sqlite3_stmt *st)
{
	if (db_exec_stmt(c, st) != 0)
		return -1;
	return sqlite3_changes(c->h) > 0;
}

int
db_outbox_claim(struct db_conn *c, int64_t id, int64_t now, const char *message_id,
                int64_t retry_at)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_CLAIM]);

	if (st == NULL)
		return -1;
	if (db_bind_int(st, 1, now) ||
	    db_bind_text(st, 2, message_id) ||
	    db_bind_int(st, 3, retry_at) ||
	    db_bind_int(st, 4, id)) {
		db_reset(st);
		return -1;
	}
	return update_one(c, st);
}

int
db_outbox_sent(struct db_conn *c, int64_t id, int64_t now)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_SENT]);

	if (st == NULL)
		return -1;
	if (db_bind_int(st, 1, now) || db_bind_int(st, 2, id)) {
		db_reset(st);
		return -1;
	}
	return update_one(c, st);
}

int
db_outbox_sent_logged(struct db_conn *c, int64_t id, const char *message_id, int64_t now)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_SENT_LOGGED]);

	if (st == NULL)
		return -1;
	if (db_bind_int(st, 1, now) || db_bind_int(st, 2, id) || db_bind_text(st, 3, message_id)) {
		db_reset(st);
		return -1;
	}
	return update_one(c, st);
}

int
db_outbox_failed(struct db_conn *c, int64_t id, const char *error)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_FAILED]);

	if (st == NULL)
		return -1;
	if (db_bind_text(st, 1, error) || db_bind_int(st, 2, id)) {
		db_reset(st);
		return -1;
	}
	return update_one(c, st);
}

int
db_outbox_later(struct db_conn *c, int64_t id, int64_t send_after, const char *error)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_LATER]);

	if (st == NULL)
		return -1;
	if (db_bind_int(st, 1, send_after) || db_bind_text(st, 2, error) ||
	    db_bind_int(st, 3, id)) {
		db_reset(st);
		return -1;
	}
	return update_one(c, st);
}

int
db_outbox_dropped(struct db_conn *c, int64_t id, const char *reason)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_DROPPED]);

	if (st == NULL)
		return -1;
	if (db_bind_text(st, 1, reason) || db_bind_int(st, 2, id)) {
		db_reset(st);
		return -1;
	}
	return update_one(c, st);
}

int
db_outbox_readdress(struct db_conn *c, int64_t id, const char *to)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_READDRESS]);

	if (st == NULL)
		return -1;
	if (db_bind_text(st, 1, to) || db_bind_int(st, 2, id)) {
		db_reset(st);
		return -1;
	}
	return update_one(c, st);
}

int
db_outbox_requeue(struct db_conn *c, int64_t id, int64_t now, int64_t give_up_at)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_REQUEUE]);

	if (st == NULL)
		return -1;
	if (db_bind_int(st, 1, now) || db_bind_int(st, 2, give_up_at) || db_bind_int(st, 3, id)) {
		db_reset(st);
		return -1;
	}
	return update_one(c, st);
}

int
db_outbox_requeue_given_up(struct db_conn *c, const char *channel, int64_t now,
                           int64_t give_up_at, int64_t *n)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_REQUEUE_GIVEN_UP]);
	int rc;

	if (st == NULL)
		return -1;
	if (db_bind_int(st, 1, now) || db_bind_int(st, 2, give_up_at) ||
	    db_bind_text(st, 3, channel) || db_bind_text(st, 4, DB_GAVE_UP)) {
		db_reset(st);
		return -1;
	}
	rc = db_exec_stmt(c, st);
	if (rc != 0)
		return -1;
	*n = sqlite3_changes64(c->h);
	return 0;
}

int
db_outbox_list(struct db_conn *c, const char *state, int64_t before, int limit,
               struct db_outbox **out, size_t *n)
{
	enum stmt which = state == NULL                                                   ? STMT_LIST_ALL
	                  : strcmp(state, "failed") == 0 || strcmp(state, "dropped") == 0 ? STMT_LIST_MARKED
	                                                                                  : STMT_LIST;
	sqlite3_stmt *st = db_prep(c, stmts[which]);
	int i = 1;

	if (st == NULL)
		return -1;
	if ((which != STMT_LIST_ALL && db_bind_text(st, i++, state)) || db_bind_int(st, i++, before) ||
	    db_bind_int(st, i, limit)) {
		db_reset(st);
		return -1;
	}
	return read_rows(c, st, out, n);
}

int
db_outbox_get(struct db_conn *c, int64_t id, struct db_outbox *out)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_GET]);
	int rc, ret = -1;

	if (st == NULL)
		return -1;
	if (db_bind_int(st, 1, id) != 0)
		goto out;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		ret = read_row(st, out) == 0 ? 1 : -1;
	else if (rc == SQLITE_DONE)
		ret = 0;
	else
		db_log("%s", sqlite3_errmsg(c->h));
out:
	db_reset(st);
	return ret;
}

int
db_outbox_count(struct db_conn *c, const char *state, int64_t *n)
{
	int pending = strcmp(state, "pending") == 0;
	sqlite3_stmt *st = db_prep(c, stmts[pending ? STMT_COUNT_PENDING : STMT_COUNT]);
	int ret = -1;

	if (st == NULL)
		return -1;
	if ((pending || db_bind_text(st, 1, state) == 0) && sqlite3_step(st) == SQLITE_ROW) {
		*n = sqlite3_column_int64(st, 0);
		ret = 0;
	} else
		db_log("%s", sqlite3_errmsg(c->h));
	db_reset(st);
	return ret;
}

void
db_outbox_free(struct db_outbox *o)
{
	if (o == NULL)
		return;
	free(o->clock);
	free(o->step);
	free(o->channel);
	free(o->recipient);
	free(o->subject);
	free(o->body);
	free(o->last_error);
	free(o->state);
	free(o->message_id);
	free(o->tracking);
	memset(o, 0, sizeof(*o));
}

void
db_outboxes_free(struct db_outbox *v, size_t n)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		db_outbox_free(&v[i]);
	free(v);
}

int
db_ladder_due_marks(struct db_conn *c, int64_t now, size_t limit, int64_t *ids, int64_t *marks,
                    size_t *n)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_LADDER_DUE]);
	size_t len = 0;
	int rc = SQLITE_DONE;

	if (st == NULL)
		return -1;
	if (db_bind_int(st, 1, now) || db_bind_int(st, 2, (int64_t)limit)) {
		db_reset(st);
		return -1;
	}
	while (len < limit && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		ids[len] = sqlite3_column_int64(st, 0);
		if (marks != NULL)
			marks[len] = sqlite3_column_int64(st, 1);
		len++;
	}
	if (len < limit && rc != SQLITE_DONE) {
		db_log("%s", sqlite3_errmsg(c->h));
		db_reset(st);
		return -1;
	}
	db_reset(st);
	*n = len;
	return 0;
}

int
db_ladder_due(struct db_conn *c, int64_t now, size_t limit, int64_t *ids, size_t *n)
{
	return db_ladder_due_marks(c, now, limit, ids, NULL, n);
}

int
db_ladder_set(struct db_conn *c, int64_t item_id, int64_t next_at)
{
	sqlite3_stmt *st;

	if (next_at == INT64_MAX) /* no clock runs: no entry until the item changes */
		return 0;
	st = db_prep(c, stmts[STMT_LADDER_SET]);
	if (st == NULL)
		return -1;
	if (db_bind_int(st, 1, item_id) || db_bind_int(st, 2, next_at)) {
		db_reset(st);
		return -1;
	}
	return db_exec_stmt(c, st);
}

int
db_ladder_relook(struct db_conn *c, int64_t next_at, int64_t *n)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_LADDER_RELOOK]);

	if (st == NULL)
		return -1;
	if (db_bind_int(st, 1, next_at)) {
		db_reset(st);
		return -1;
	}
	if (db_exec_stmt(c, st) != 0)
		return -1;
	if (n != NULL)
		*n = sqlite3_changes(c->h);
	return 0;
}

int
db_ladder_cache(struct db_conn *c, int size, int *old)
{
	sqlite3_stmt *st = NULL;
	char sql[64];
	int rc = -1;

	/* PRAGMA takes no parameters: the old size is read, the new one written as text */
	if (sqlite3_prepare_v2(c->h, "PRAGMA cache_size", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW)
		goto out;
	if (old != NULL)
		*old = sqlite3_column_int(st, 0);
	snprintf(sql, sizeof(sql), "PRAGMA cache_size=%d", size);
	rc = sqlite3_exec(c->h, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
out:
	if (rc != 0)
		db_log("cache_size: %s", sqlite3_errmsg(c->h));
	sqlite3_finalize(st);
	return rc;
}

int
db_notify_missing_add(struct db_conn *c, const struct db_missing_new *m)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_MISSING_ADD]);

	if (st == NULL)
		return -1;
	if (bind_id(st, 1, m->item_id) ||
	    db_bind_text(st, 2, m->clock ? m->clock : "") ||
	    db_bind_text(st, 3, m->step) ||
	    db_bind_text(st, 4, m->channel) ||
	    bind_id(st, 5, m->account_id) ||
	    db_bind_text(st, 6, m->role) ||
	    bind_id(st, 7, m->section_id) ||
	    db_bind_int(st, 8, m->at) ||
	    db_exec_stmt(c, st) != 0)
		return -1;
	return sqlite3_changes(c->h) == 0;
}

static int
missing_row(sqlite3_stmt *st, void *row)
{
	struct db_notify_missing *m = row;

	m->id = sqlite3_column_int64(st, 0);
	m->item_id = sqlite3_column_int64(st, 1);
	m->clock = db_col_text(st, 2);
	m->step = db_col_text(st, 3);
	m->channel = db_col_text(st, 4);
	m->account_id = sqlite3_column_int64(st, 5);
	m->role = db_col_text(st, 6);
	m->section_id = sqlite3_column_int64(st, 7);
	m->at = sqlite3_column_int64(st, 8);
	m->tracking = db_col_text(st, 9);
	m->username = db_col_text(st, 10);
	m->section = db_col_text(st, 11);
	return m->clock && m->step && m->channel && m->role ? 0 : -1;
}

static void
missing_rows_free(void *rows, size_t n)
{
	db_notify_missing_free(rows, n);
}

int
db_notify_missing_list(struct db_conn *c, int limit, struct db_notify_missing **out, size_t *n)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_MISSING_LIST]);

	if (st == NULL)
		return -1;
	if (db_bind_int(st, 1, limit) != 0) {
		db_reset(st);
		return -1;
	}
	return db_list_rows(c, st, sizeof(**out), "notify_missing", missing_row,
	                    missing_rows_free, (void **)out, n);
}

void
db_notify_missing_free(struct db_notify_missing *v, size_t n)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++) {
		free(v[i].clock);
		free(v[i].step);
		free(v[i].channel);
		free(v[i].role);
		free(v[i].tracking);
		free(v[i].username);
		free(v[i].section);
	}
	free(v);
}

int
db_notify_run_get(struct db_conn *c, const char *name, char *buf, size_t size)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_RUN_GET]);
	int rc, ret = -1;

	if (st == NULL)
		return -1;
	if (db_bind_text(st, 1, name) != 0)
		goto out;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const unsigned char *v = sqlite3_column_text(st, 0);

		snprintf(buf, size, "%s", v != NULL ? (const char *)v : "");
		ret = 1;
	} else if (rc == SQLITE_DONE)
		ret = 0;
	else
		db_log("%s", sqlite3_errmsg(c->h));
out:
	db_reset(st);
	return ret;
}

int
db_notify_run_set(struct db_conn *c, const char *name, const char *last)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_RUN_SET]);

	if (st == NULL)
		return -1;
	if (db_bind_text(st, 1, name) || db_bind_text(st, 2, last)) {
		db_reset(st);
		return -1;
	}
	return db_exec_stmt(c, st);
}

int
db_ladder_due_clocks(struct db_conn *c, int64_t now, size_t items, struct db_ladder_clock *out,
                     size_t max, size_t *n)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_LADDER_CLOCKS]);
	size_t len = 0, len_name;
	int rc;

	if (st == NULL)
		return -1;
	if (db_bind_int(st, 1, now) || db_bind_int(st, 2, (int64_t)items)) {
		db_reset(st);
		return -1;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct db_ladder_clock *k = &out[len];
		const unsigned char *name = sqlite3_column_text(st, 3);

		if (len == max) {
			db_log("ladder: more clocks than %zu", max);
			db_reset(st);
			return -1;
		}
		k->item_id = sqlite3_column_int64(st, 0);
		k->mark = sqlite3_column_int64(st, 1);
		k->seq = sqlite3_column_int64(st, 2);
		len_name = name != NULL ? (size_t)sqlite3_column_bytes(st, 3) : 0;
		if (len_name >= sizeof(k->name)) /* no clock has such a name: matches none */
			len_name = 0;
		memcpy(k->name, name != NULL ? (const char *)name : "", len_name);
		k->name[len_name] = '\0';
		k->due = sqlite3_column_int64(st, 4);
		k->running = sqlite3_column_int(st, 5);
		len++;
	}
	if (rc != SQLITE_DONE) {
		db_note_error(c, rc);
		db_log("ladder: %s", sqlite3_errmsg(c->h));
		db_reset(st);
		return -1;
	}
	db_reset(st);
	*n = len;
	return 0;
}

int
db_ladder_fanouts(struct db_conn *c, struct db_ladder_fanout *out, size_t max, size_t *n)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_FAN_LIST]);
	size_t len = 0;
	int rc = SQLITE_DONE;

	if (st == NULL)
		return -1;
	if (db_bind_int(st, 1, (int64_t)max) != 0) {
		db_reset(st);
		return -1;
	}
	while (len < max && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		out[len].at = sqlite3_column_int64(st, 0);
		out[len].item_id = sqlite3_column_int64(st, 1);
		out[len].mark = sqlite3_column_int64(st, 2);
		len++;
	}
	if (len < max && rc != SQLITE_DONE) {
		db_note_error(c, rc);
		db_log("ladder fan-out: %s", sqlite3_errmsg(c->h));
		db_reset(st);
		return -1;
	}
	db_reset(st);
	*n = len;
	return 0;
}

int
db_ladder_fanout_done(struct db_conn *c, const struct db_ladder_fanout *f)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_FAN_DONE]);

	if (st == NULL)
		return -1;
	if (db_bind_int(st, 1, f->at) || db_bind_int(st, 2, f->item_id)) {
		db_reset(st);
		return -1;
	}
	return db_exec_stmt(c, st);
}

int
db_ladder_taken(struct db_conn *c, int64_t next_at, int64_t seq, int64_t item_id)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_LADDER_TAKEN]);

	if (st == NULL)
		return -1;
	if (db_bind_int(st, 1, next_at) || db_bind_int(st, 2, seq) || db_bind_int(st, 3, item_id)) {
		db_reset(st);
		return -1;
	}
	return db_exec_stmt(c, st);
}

int
db_ladder_scanning(struct db_conn *c, int on)
{
	/* PRAGMA takes no parameters; both texts are constants */
	const char *sql = on ? "PRAGMA synchronous=NORMAL" : "PRAGMA synchronous=FULL";

	if (sqlite3_exec(c->h, sql, NULL, NULL, NULL) != SQLITE_OK) {
		db_log("ladder scan mode: %s", sqlite3_errmsg(c->h));
		return -1;
	}
	/* SQLite's automatic checkpoint (1,000 frames, its default) off during the scan, back
	 * after it: the next commit past the size does it (the fan-out's, or another writer's) */
	sqlite3_wal_autocheckpoint(c->h, on ? 0 : 1000);
	return 0;
}

int
db_ladder_owner(struct db_conn *c, int64_t id, int64_t *section_id, int64_t *assignee_id)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_OWNER]);
	int rc;

	if (st == NULL)
		return -1;
	if (db_bind_int(st, 1, id) != 0) {
		db_reset(st);
		return -1;
	}
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		db_note_error(c, rc);
		db_log("ladder: %s", sqlite3_errmsg(c->h));
		db_reset(st);
		return -1;
	}
	*section_id = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	*assignee_id = rc == SQLITE_ROW ? sqlite3_column_int64(st, 1) : 0;
	db_reset(st);
	return 0;
}

/* --- a ladder notice's key (schema 022) ------------------------------------------------------ */

#define KEY_DATE 100000000LL          /* one YYYYMMDD field */
#define KEY_HEAD 10000000000000000LL /* above both dates: kind, clock and channel */

static const char *const key_clocks[] = {"forward", "reply", "explain"};
static const char *const key_kinds[] = {NULL, "remind", "overdue", "escalate"};

int64_t
db_ladder_key(const struct db_ladder_key *k)
{
	return ((int64_t)(k->kind * 4 + k->clock) * 2 + (k->sms ? 1 : 0)) * KEY_HEAD +
	       (int64_t)k->due * KEY_DATE + k->day;
}

int
db_ladder_key_parse(int64_t v, struct db_ladder_key *k)
{
	int64_t head = v / KEY_HEAD;
	struct db_ladder_key r;

	if (v <= 0)
		return -1;
	r.sms = (int)(head % 2);
	r.clock = (int)(head / 2 % 4);
	r.kind = (int)(head / 8);
	r.due = (int)(v / KEY_DATE % KEY_DATE);
	r.day = (int)(v % KEY_DATE);
	if (r.kind < DB_STEP_REMIND || r.kind > DB_STEP_ESCALATE || r.clock > 2 || r.due <= 0 ||
	    (r.kind == DB_STEP_ESCALATE) != (r.day > 0))
		return -1;
	*k = r;
	return 0;
}

const char *
db_ladder_key_clock(const struct db_ladder_key *k)
{
	return k->clock >= 0 && k->clock <= 2 ? key_clocks[k->clock] : "";
}

void
db_ladder_key_step(const struct db_ladder_key *k, char *buf, size_t size)
{
	const char *kind = k->kind >= DB_STEP_REMIND && k->kind <= DB_STEP_ESCALATE
	                       ? key_kinds[k->kind]
	                       : "?";

	if (k->day > 0)
		snprintf(buf, size, "%s/%04d-%02d-%02d/%04d-%02d-%02d", kind, k->due / 10000,
		         k->due / 100 % 100, k->due % 100, k->day / 10000, k->day / 100 % 100,
		         k->day % 100);
	else
		snprintf(buf, size, "%s/%04d-%02d-%02d", kind, k->due / 10000, k->due / 100 % 100,
		         k->due % 100);
}
