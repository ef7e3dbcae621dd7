/*
 * mailin.c: what mail-in records of the messages that change no item (ignored, duplicate,
 * refused), and what it looks up before storing one (the item a Message-ID is stored with, the
 * items a reply may answer, the IMAP positions recorded), so that service/mailin calls core
 * only. A message that makes or changes an item is recorded by core_submit (intake.c) and
 * core_citizen_mail (citizen.c) in that item's own transaction.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core_int.h"

#define REFUSED_MAX 300 /* bytes of a refused message's recorded reason */

/* One note on c (the transaction is open): 0, or -1. */
static int
note_one(struct app *app, struct db_conn *c, const struct core_mail_note *v, int64_t now)
{
	struct actor who = {0, "system", NULL};
	struct db_mail_in row = v->row;
	char reason[REFUSED_MAX], target[40], detail[120];
	const struct core_error *e = v->refused;
	int64_t id = 0;
	int rc;

	if (e != NULL) {
		snprintf(reason, sizeof(reason), "refused: %s", e->message);
		row.outcome = "ignored";
		row.reason = reason;
	}
	rc = db_mail_in_add(c, &row, &id);
	if (rc != 0 || e == NULL)
		return rc < 0 ? -1 : 0; /* recorded already: nothing more */
	/* the code and the field, not the message: it may quote what the citizen wrote */
	snprintf(target, sizeof(target), "mail_in %lld", (long long)id);
	snprintf(detail, sizeof(detail), "refused by e-mail (%s): %s%s%s, %zu bytes",
	         row.source != NULL ? row.source : "?", core_strerror(e->code),
	         e->field != NULL ? ": " : "", e->field != NULL ? e->field : "", row.size);
	if (audit_write(c, now, &who, "mail_refused", target, 0, detail) != 0)
		return -1;
	if (v->tell != NULL && e->code == CORE_TOO_LARGE) {
		struct core_event ev;

		memset(&ev, 0, sizeof(ev));
		ev.kind = CORE_EV_MAIL_TOO_LARGE;
		ev.action = -1;
		ev.note = v->tell_subject;
		ev.at = now;
		ev.to = v->tell;
		ev.key = v->tell_id != NULL ? v->tell_id : target;
		ev.size = (int64_t)row.size;
		ev.limit = v->tell_limit;
		return core_notify_event(app, c, &ev);
	}
	return 0;
}

int
core_mail_note(struct app *app, const struct core_mail_note *v, size_t n, int64_t now)
{
	struct db_conn *c;
	size_t i;
	int ret = -1;

	if (n == 0)
		return 0;
	c = db_acquire(app->db);
	if (c == NULL)
		return -1;
	if (db_begin(c) != 0)
		goto out;
	for (i = 0; i < n; i++)
		if (note_one(app, c, &v[i], now) != 0) {
			db_rollback(c);
			goto out;
		}
	if (db_commit(c) != 0) {
		db_rollback(c);
		goto out;
	}
	ret = 0;
out:
	db_release(app->db, c);
	return ret;
}

int
core_mail_stored(struct app *app, const char *id, char **tracking, int64_t *item_id)
{
	struct db_conn *c = db_acquire(app->db);
	int rc;

	if (c == NULL)
		return -1;
	rc = db_mail_item_by_message_id(c, id, tracking, item_id);
	db_release(app->db, c);
	return rc;
}

int
core_mail_stored_raw(struct app *app, const char *id, char **raw, size_t *len)
{
	struct db_conn *c = db_acquire(app->db);
	int rc;

	if (c == NULL)
		return -1;
	rc = db_mail_raw_by_message_id(c, id, raw, len);
	db_release(app->db, c);
	return rc;
}

/* Our Message-IDs are civicdesk.OUTBOX-ID.RANDOM@domain (notifiers): the outbox row's id. */
static int64_t
outbox_id(const char *ref)
{
	const char *p = ref + strlen("civicdesk.");
	int64_t v = 0;

	if (strncmp(ref, "civicdesk.", 10) != 0 || *p < '0' || *p > '9')
		return 0;
	for (; *p >= '0' && *p <= '9' && v < INT64_MAX / 10 - 9; p++)
		v = v * 10 + (*p - '0');
	return *p == '.' ? v : 0;
}

/* Adds t (taken) to out[0..*n) unless it is there. */
static void
add_unique(char **out, size_t *n, char *t)
{
	size_t j;

	for (j = 0; j < *n && strcmp(out[j], t) != 0; j++)
		;
	if (j < *n)
		free(t);
	else
		out[(*n)++] = t;
}

size_t
core_mail_candidates(struct app *app, const char *const *refs, size_t nrefs, const char *tracking,
                     char **out, size_t max)
{
	struct db_conn *c;
	size_t n = 0, i;
	int64_t ob, ignored;
	char *t;
	int rc;

	if (max == 0)
		return 0;
	c = db_acquire(app->db);
	if (c == NULL)
		return 0;
	for (i = 0; i < nrefs && n < max; i++) {
		t = NULL;
		ob = outbox_id(refs[i]);
		rc = ob > 0 ? db_mail_item_by_outbox(c, ob, &t)
		            : db_mail_item_by_message_id(c, refs[i], &t, &ignored);
		if (rc == 1)
			add_unique(out, &n, t);
	}
	db_release(app->db, c);
	if (tracking != NULL && tracking[0] != '\0' && n < max) {
		t = strdup(tracking);
		if (t != NULL)
			add_unique(out, &n, t);
	}
	return n;
}

int
core_mail_imap_floor(struct app *app, const char *mailbox, int64_t uidvalidity, int64_t skip,
                     int64_t *uid)
{
	struct db_conn *c = db_acquire(app->db);
	int rc;

	if (c == NULL)
		return -1;
	rc = db_mail_imap_last(c, mailbox, uidvalidity, skip, uid);
	db_release(app->db, c);
	return rc;
}

int
core_mail_imap_known(struct app *app, const char *mailbox, int64_t uidvalidity, const int64_t *uids,
                     size_t n, unsigned char *known)
{
	struct db_conn *c;
	size_t i;
	int rc = 0;

	if (n == 0)
		return 0;
	c = db_acquire(app->db);
	if (c == NULL)
		return -1;
	for (i = 0; i < n && rc >= 0; i++) {
		rc = db_mail_imap_seen(c, mailbox, uidvalidity, uids[i]);
		known[i] = rc == 1;
	}
	db_release(app->db, c);
	return rc < 0 ? -1 : 0;
}

int
core_mail_polled(struct app *app, const char *mailbox, int64_t now, const char *error)
{
	struct db_conn *c = db_acquire(app->db);
	int rc;

	if (c == NULL)
		return -1;
	rc = db_mailbox_status_put(c, mailbox, now, error);
	db_release(app->db, c);
	return rc;
}
