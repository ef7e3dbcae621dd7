/* db_mail.c: storage of mail-in (table mail_in, schema/006_mailin.sql). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_int.h"

enum stmt {
	STMT_ADD,
	STMT_BY_MESSAGE_ID,
	STMT_RAW_BY_MESSAGE_ID,
	STMT_BY_OUTBOX,
	STMT_IMAP_SEEN,
	STMT_IMAP_LAST,
	STMT_OUTBOX_BY_MID,
	STMT_OUTBOX_BOUNCED,
	STMT_ACK_GET,
	STMT_ACK_SET,
	STMT_ACK_WAITING,
	STMT_LIST,
	STMT_LIST_ALL,
	STMT_COUNT,
	STMT_STATUS_PUT,
	STMT_STATUS_LIST,
	STMT__MAX
};

static const char *const stmts[STMT__MAX] = {
    [STMT_ADD] = "INSERT INTO mail_in (item_id, outcome, reason, message_id, sender, raw, size, "
                 "received, source, mailbox, uidvalidity, uid) "
                 "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    [STMT_BY_MESSAGE_ID] = "SELECT i.tracking, i.id FROM mail_in m JOIN items i ON i.id = m.item_id "
                           "WHERE m.message_id = ? AND m.outcome IN ('created','added') LIMIT 1",
    [STMT_RAW_BY_MESSAGE_ID] = "SELECT raw FROM mail_in WHERE message_id = ? AND "
                               "outcome IN ('created','added') AND raw IS NOT NULL LIMIT 1",
    [STMT_BY_OUTBOX] = "SELECT i.tracking FROM outbox o JOIN items i ON i.id = o.item_id "
                       "WHERE o.id = ?",
    [STMT_IMAP_SEEN] = "SELECT 1 FROM mail_in WHERE mailbox = ? AND uidvalidity = ? AND uid = ?",
    [STMT_IMAP_LAST] = "SELECT uid FROM mail_in WHERE mailbox = ? AND uidvalidity = ? AND "
                       "uid IS NOT NULL ORDER BY uid DESC LIMIT 1 OFFSET ?",
    [STMT_OUTBOX_BY_MID] = "SELECT id, coalesce(item_id, 0), state FROM outbox "
                           "WHERE message_id = ? AND channel = 'email'",
    /* every row of the message: several notices for one recipient go out as one (combine.c) */
    [STMT_OUTBOX_BOUNCED] = "UPDATE outbox SET state = 'failed', last_error = ?1 "
                            "WHERE (id = ?2 OR message_id = (SELECT message_id FROM outbox "
                            "WHERE id = ?2)) AND channel = 'email' AND "
                            "state IN ('pending','sent')",
    [STMT_ACK_GET] = "SELECT last FROM mail_ack WHERE sender = ?",
    [STMT_ACK_SET] = "INSERT INTO mail_ack (sender, last) VALUES (?, ?) "
                     "ON CONFLICT (sender) DO UPDATE SET last = excluded.last",
    /* ?1 the sender (lower-case), ?2 the moment: the acknowledgements waiting for it, through
     * outbox_due_email (026); every one of them goes to the address the first was queued for */
    [STMT_ACK_WAITING] = "SELECT count(*), coalesce(min(recipient), '') FROM outbox "
                         "WHERE state = 'pending' AND channel = 'email' AND send_after = ?2 "
                         "AND step = 'ack' AND item_id IS NOT NULL AND lower(recipient) = ?1",
#define MAIL_LIST_COLS                                                                             \
	"SELECT m.id, m.received, m.source, m.outcome, m.reason, m.message_id, m.sender, m.size, " \
	"m.mailbox, coalesce(m.uid, 0), i.tracking FROM mail_in m LEFT JOIN items i ON i.id = m.item_id "
    /* newest first, through the primary key: a page reads its own rows */
    [STMT_LIST] = MAIL_LIST_COLS "WHERE m.outcome = ? AND m.id < ? ORDER BY m.id DESC LIMIT ?",
    [STMT_LIST_ALL] = MAIL_LIST_COLS "WHERE m.id < ? ORDER BY m.id DESC LIMIT ?",
#undef MAIL_LIST_COLS
    [STMT_COUNT] = "SELECT outcome, count(*) FROM mail_in GROUP BY outcome",
    /* ?1 mailbox, ?2 now, ?3 the error (NULL: the poll succeeded) */
    [STMT_STATUS_PUT] =
        "INSERT INTO mailbox_status (mailbox, last_poll, last_ok, failing_since, failures, error) "
        "VALUES (?1, ?2, CASE WHEN ?3 IS NULL THEN ?2 END, CASE WHEN ?3 IS NOT NULL THEN ?2 END, "
        "?3 IS NOT NULL, ?3) "
        "ON CONFLICT (mailbox) DO UPDATE SET last_poll = excluded.last_poll, "
        "last_ok = coalesce(excluded.last_ok, last_ok), "
        "failing_since = CASE WHEN excluded.error IS NULL THEN NULL "
        "ELSE coalesce(failing_since, excluded.last_poll) END, "
        "failures = CASE WHEN excluded.error IS NULL THEN 0 ELSE failures + 1 END, "
        "error = excluded.error",
    [STMT_STATUS_LIST] = "SELECT mailbox, last_poll, coalesce(last_ok, 0), "
                         "coalesce(failing_since, 0), failures, error FROM mailbox_status "
                         "ORDER BY mailbox LIMIT 64",
};

int
db_mail_in_add(struct db_conn *c, const struct db_mail_in *m, int64_t *id)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_ADD]);
	int rc;

	if (st == NULL)
		return -1;
	if ((m->item_id != 0 ? db_bind_int(st, 1, m->item_id) : sqlite3_bind_null(st, 1)) ||
	    db_bind_text(st, 2, m->outcome) || db_bind_text(st, 3, m->reason) ||
	    db_bind_text(st, 4, m->message_id) || db_bind_text(st, 5, m->sender) ||
	    (m->raw != NULL ? db_bind_blob(st, 6, m->raw, m->size) : sqlite3_bind_null(st, 6)) ||
	    db_bind_int(st, 7, (int64_t)m->size) || db_bind_int(st, 8, m->received) ||
	    db_bind_text(st, 9, m->source) || db_bind_text(st, 10, m->mailbox) ||
	    (m->mailbox != NULL ? db_bind_int(st, 11, m->uidvalidity) || db_bind_int(st, 12, m->uid)
	                        : sqlite3_bind_null(st, 11) || sqlite3_bind_null(st, 12))) {
		db_reset(st);
		return -1;
	}
	rc = sqlite3_step(st);
	db_reset(st);
	if (rc == SQLITE_DONE) {
		if (id != NULL)
			*id = sqlite3_last_insert_rowid(c->h);
		return 0;
	}
	if (rc == SQLITE_CONSTRAINT &&
	    sqlite3_extended_errcode(c->h) == SQLITE_CONSTRAINT_UNIQUE)
		return 1;
	db_step_failed(c, "mail_in");
	return -1;
}

/* A single text column of a one-row look-up. */
static int
one_text(struct db_conn *c, sqlite3_stmt *st, char **out)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW) {
		*out = db_col_text(st, 0);
		db_reset(st);
		return *out != NULL ? 1 : -1;
	}
	db_reset(st);
	if (rc == SQLITE_DONE)
		return 0;
	db_step_failed(c, "mail_in");
	return -1;
}

int
db_mail_item_by_message_id(struct db_conn *c, const char *id, char **tracking, int64_t *item_id)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_BY_MESSAGE_ID]);
	int rc;

	if (st == NULL)
		return -1;
	if (db_bind_text(st, 1, id)) {
		db_reset(st);
		return -1;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*tracking = db_col_text(st, 0);
		*item_id = sqlite3_column_int64(st, 1);
		db_reset(st);
		return *tracking != NULL ? 1 : -1;
	}
	db_reset(st);
	if (rc == SQLITE_DONE)
		return 0;
	db_step_failed(c, "mail_in");
	return -1;
}

int
db_mail_raw_by_message_id(struct db_conn *c, const char *id, char **raw, size_t *len)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_RAW_BY_MESSAGE_ID]);
	const void *b;
	int rc, n;

	if (st == NULL)
		return -1;
	if (db_bind_text(st, 1, id)) {
		db_reset(st);
		return -1;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		b = sqlite3_column_blob(st, 0);
		n = sqlite3_column_bytes(st, 0);
		*raw = malloc((size_t)n + 1);
		if (*raw != NULL) {
			if (n > 0)
				memcpy(*raw, b, (size_t)n);
			(*raw)[n] = '\0';
			*len = (size_t)n;
		}
		db_reset(st);
		return *raw != NULL ? 1 : -1;
	}
	db_reset(st);
	if (rc == SQLITE_DONE)
		return 0;
	db_step_failed(c, "mail_in");
	return -1;
}

int
db_mail_item_by_outbox(struct db_conn *c, int64_t id, char **tracking)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_BY_OUTBOX]);

	if (st == NULL)
		return -1;
	if (db_bind_int(st, 1, id)) {
		db_reset(st);
		return -1;
	}
	return one_text(c, st, tracking);
}

int
db_mail_imap_seen(struct db_conn *c, const char *mailbox, int64_t uidvalidity, int64_t uid)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_IMAP_SEEN]);
	int rc;

	if (st == NULL)
		return -1;
	if (db_bind_text(st, 1, mailbox) || db_bind_int(st, 2, uidvalidity) ||
	    db_bind_int(st, 3, uid)) {
		db_reset(st);
		return -1;
	}
	rc = sqlite3_step(st);
	db_reset(st);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	db_step_failed(c, "mail_in");
	return -1;
}

int
db_mail_imap_last(struct db_conn *c, const char *mailbox, int64_t uidvalidity, int64_t skip,
                  int64_t *uid)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_IMAP_LAST]);
	int rc;

	if (st == NULL)
		return -1;
	if (db_bind_text(st, 1, mailbox) || db_bind_int(st, 2, uidvalidity) ||
	    db_bind_int(st, 3, skip)) {
		db_reset(st);
		return -1;
	}
	rc = sqlite3_step(st);
	*uid = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	db_reset(st);
	if (rc == SQLITE_ROW || rc == SQLITE_DONE)
		return 0;
	db_step_failed(c, "mail_in");
	return -1;
}

int
db_mail_outbox_by_message_id(struct db_conn *c, const char *id, int64_t *outbox_id,
                             int64_t *item_id, int *sent)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_OUTBOX_BY_MID]);
	const unsigned char *state;
	int rc;

	if (st == NULL)
		return -1;
	if (db_bind_text(st, 1, id)) {
		db_reset(st);
		return -1;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*outbox_id = sqlite3_column_int64(st, 0);
		*item_id = sqlite3_column_int64(st, 1);
		state = sqlite3_column_text(st, 2);
		*sent = state != NULL && strcmp((const char *)state, "failed") != 0;
		db_reset(st);
		return 1;
	}
	db_reset(st);
	if (rc == SQLITE_DONE)
		return 0;
	db_log("outbox: %s", sqlite3_errmsg(c->h));
	return -1;
}

int
db_mail_outbox_bounced(struct db_conn *c, int64_t outbox_id, const char *error)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_OUTBOX_BOUNCED]);

	if (st == NULL)
		return -1;
	if (db_bind_text(st, 1, error) || db_bind_int(st, 2, outbox_id) ||
	    db_exec_stmt(c, st) != 0)
		return -1;
	return sqlite3_changes(c->h) > 0 ? 1 : 0;
}

/* The acknowledgements of sender waiting for moment at: how many into *n, and the address they
 * go to into to (size bytes; "" when none). 0 or -1. */
static int
ack_waiting(struct db_conn *c, const char *sender, int64_t at, long *n, char *to, size_t size)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_ACK_WAITING]);
	const unsigned char *r;
	int rc;

	if (st == NULL)
		return -1;
	if (db_bind_text(st, 1, sender) || db_bind_int(st, 2, at)) {
		db_reset(st);
		return -1;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*n = (long)sqlite3_column_int64(st, 0);
		r = sqlite3_column_text(st, 1);
		snprintf(to, size, "%s", r != NULL ? (const char *)r : "");
	}
	db_reset(st);
	if (rc != SQLITE_ROW) {
		db_log("mail_ack: %s", sqlite3_errmsg(c->h));
		return -1;
	}
	return 0;
}

int
db_mail_ack_claim(struct db_conn *c, const char *sender, int64_t now, int64_t interval,
                  long max, struct db_mail_ack *out)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_ACK_GET]);
	struct db_mail_ack a;
	int64_t prev = 0;
	int rc, ret;

	if (st == NULL)
		return -1;
	if (db_bind_text(st, 1, sender)) {
		db_reset(st);
		return -1;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		prev = sqlite3_column_int64(st, 0);
	db_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		db_log("mail_ack: %s", sqlite3_errmsg(c->h));
		return -1;
	}
	memset(&a, 0, sizeof(a));
	a.last = prev;
	if (rc != SQLITE_ROW || interval <= 0 || (prev <= now && now - prev >= interval)) {
		a.at = now; /* at once */
		ret = 1;
	} else if (prev > now) {
		a.at = prev; /* the moment already set for this address's letters */
		if (ack_waiting(c, sender, a.at, &a.waiting, a.to, sizeof(a.to)) != 0)
			return -1;
		ret = a.waiting < max ? 2 : 0;
	} else {
		a.at = prev + interval; /* the first moment the interval allows */
		ret = 2;
	}
	/* recorded with an interval of 0 too, so that a limit set later counts from it */
	if (a.at != prev) {
		st = db_prep(c, stmts[STMT_ACK_SET]);
		if (st == NULL)
			return -1;
		if (db_bind_text(st, 1, sender) || db_bind_int(st, 2, a.at) ||
		    db_exec_stmt(c, st) != 0)
			return -1;
	}
	*out = a;
	return ret;
}

static void
mail_row_clear(struct db_mail_row *r)
{
	free(r->source);
	free(r->outcome);
	free(r->reason);
	free(r->message_id);
	free(r->sender);
	free(r->mailbox);
	free(r->tracking);
	memset(r, 0, sizeof(*r));
}

static int
read_mail_row(sqlite3_stmt *st, void *row)
{
	struct db_mail_row *r = row;

	memset(r, 0, sizeof(*r));
	r->id = sqlite3_column_int64(st, 0);
	r->received = sqlite3_column_int64(st, 1);
	r->source = db_col_text(st, 2);
	r->outcome = db_col_text(st, 3);
	r->reason = db_col_text(st, 4);
	r->message_id = db_col_text(st, 5);
	r->sender = db_col_text(st, 6);
	r->size = sqlite3_column_int64(st, 7);
	r->mailbox = db_col_text(st, 8);
	r->uid = sqlite3_column_int64(st, 9);
	r->tracking = db_col_text(st, 10);
	if (r->source == NULL || r->outcome == NULL) {
		mail_row_clear(r);
		return -1;
	}
	return 0;
}

static void
free_mail_rows(void *rows, size_t n)
{
	db_mail_rows_free(rows, n);
}

int
db_mail_list(struct db_conn *c, const char *outcome, int64_t before, int limit,
             struct db_mail_row **out, size_t *n)
{
	sqlite3_stmt *st = db_prep(c, stmts[outcome != NULL ? STMT_LIST : STMT_LIST_ALL]);
	int i = 1;

	if (st == NULL)
		return -1;
	if ((outcome != NULL && db_bind_text(st, i++, outcome)) || db_bind_int(st, i++, before) ||
	    db_bind_int(st, i, limit)) {
		db_reset(st);
		return -1;
	}
	return db_list_rows(c, st, sizeof(**out), "mail_in", read_mail_row, free_mail_rows,
	                    (void **)out, n);
}

void
db_mail_rows_free(struct db_mail_row *v, size_t n)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		mail_row_clear(&v[i]);
	free(v);
}

int
db_mail_counts(struct db_conn *c, struct db_mail_counts *out)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_COUNT]);
	int rc;

	if (st == NULL)
		return -1;
	memset(out, 0, sizeof(*out));
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *o = (const char *)sqlite3_column_text(st, 0);
		int64_t k = sqlite3_column_int64(st, 1);

		if (o == NULL)
			continue;
		if (strcmp(o, "created") == 0)
			out->created = k;
		else if (strcmp(o, "added") == 0)
			out->added = k;
		else if (strcmp(o, "duplicate") == 0)
			out->duplicate = k;
		else if (strcmp(o, "ignored") == 0)
			out->ignored = k;
	}
	db_reset(st);
	if (rc == SQLITE_DONE)
		return 0;
	db_step_failed(c, "mail_in");
	return -1;
}

int
db_mailbox_status_put(struct db_conn *c, const char *mailbox, int64_t now, const char *error)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_STATUS_PUT]);
	int rc;

	if (st == NULL)
		return -1;
	if (db_bind_text(st, 1, mailbox) || db_bind_int(st, 2, now) || db_bind_text(st, 3, error)) {
		db_reset(st);
		return -1;
	}
	rc = sqlite3_step(st);
	db_reset(st);
	if (rc == SQLITE_DONE)
		return 0;
	db_step_failed(c, "mailbox_status");
	return -1;
}

void
db_mailbox_status_free(struct db_mailbox_status *v, size_t n)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++) {
		free(v[i].mailbox);
		free(v[i].error);
	}
	free(v);
}

int
db_mailbox_status_list(struct db_conn *c, struct db_mailbox_status **out, size_t *n)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_STATUS_LIST]);
	struct db_mailbox_status *v = NULL, *nv;
	size_t k = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (st == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct db_mailbox_status *r;

		nv = realloc(v, (k + 1) * sizeof(*v));
		if (nv == NULL)
			goto fail;
		v = nv;
		r = &v[k++];
		memset(r, 0, sizeof(*r));
		r->last_poll = sqlite3_column_int64(st, 1);
		r->last_ok = sqlite3_column_int64(st, 2);
		r->failing_since = sqlite3_column_int64(st, 3);
		r->failures = sqlite3_column_int64(st, 4);
		r->mailbox = db_col_text(st, 0);
		r->error = db_col_text(st, 5);
		if (r->mailbox == NULL)
			goto fail;
	}
	db_reset(st);
	if (rc != SQLITE_DONE) {
		db_step_failed(c, "mailbox_status");
		db_mailbox_status_free(v, k);
		return -1;
	}
	*out = v;
	*n = k;
	return 0;
fail:
	db_reset(st);
	db_mailbox_status_free(v, k);
	return -1;
}
