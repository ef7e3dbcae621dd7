/*
 * bounce.c: a bounce of one of our e-mails, as mail-in reports it: the outbox row whose stable
 * Message-ID the bounce names is marked failed with the bounce's reason (administrators see it
 * among the failed notices), with an audit row, in one transaction with the bounce's mail_in row.
 */
#include <stdio.h>
#include <string.h>

#include "core_int.h"

#define BOUNCE_ERROR_MAX 300 /* bytes of the reason kept in the outbox row */

int
core_bounce(struct app *app, const struct core_bounce *in, int64_t now, int64_t *outbox,
            struct core_error *err)
{
	struct actor who = {0, "system", NULL};
	struct db_conn *c;
	char error[BOUNCE_ERROR_MAX], target[32], reason[BOUNCE_ERROR_MAX];
	struct db_mail_in row;
	int64_t id = 0, item = 0;
	size_t i;
	int rc = 0, live = 0, ret = -1;

	err->code = CORE_OK;
	c = db_acquire(app->db);
	if (c == NULL)
		return core_fail(err, CORE_BUSY, NULL, "the database is unavailable; try again");
	if (db_begin(c) != 0) {
		core_fail(err, CORE_BUSY, NULL, "the database is busy; try again");
		goto out;
	}
	for (i = 0; i < in->nids && rc == 0; i++)
		if (in->ids[i] != NULL && in->ids[i][0] != '\0')
			rc = db_mail_outbox_by_message_id(c, in->ids[i], &id, &item, &live);
	if (rc < 0)
		goto fail;
	if (rc == 0)
		id = 0;
	if (id != 0) {
		snprintf(error, sizeof(error), "bounced: %s",
		         in->reason != NULL && in->reason[0] != '\0' ? in->reason
		                                                     : "no reason given");
		snprintf(target, sizeof(target), "outbox %lld", (long long)id);
		if ((live && db_mail_outbox_bounced(c, id, error) < 0) ||
		    audit_write(c, now, &who, "mail_bounced", target, 1, error) != 0)
			goto fail;
	}
	if (in->mail != NULL) { /* the bounce itself, recorded (once) */
		row = *in->mail;
		if (id != 0) {
			snprintf(reason, sizeof(reason), "%s: outbox %lld",
			         row.reason != NULL ? row.reason : "bounce", (long long)id);
			row.reason = reason;
		}
		if (db_mail_in_add(c, &row, NULL) < 0)
			goto fail;
	}
	if (db_commit(c) != 0)
		goto fail;
	*outbox = id;
	ret = 0;
	goto out;
fail:
	db_rollback(c);
	core_fail(err, CORE_BUSY, NULL, "the bounce could not be recorded; try again");
out:
	db_release(app->db, c);
	return ret;
}
