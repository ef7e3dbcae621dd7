/* staff.c: notices to staff accounts and to the staff of a role: the steps of the clock ladder
 * (ladder.c), the follow-up of an unsatisfied rating (回访), a supervision order (督办) and its
 * due-date reminder, the weekly digest. Each account gets an e-mail (and an SMS when asked); an
 * account without an address for a channel, or a role that nobody holds, is recorded in
 * notify_missing (listed on GET /api/v1/admin/outbox), never skipped silently. */
#include <stdio.h>
#include <string.h>

#include "notifiers_int.h"
#include "service/core/core.h"

/* 1 when a holds role r. */
static int
has_role(const struct db_account *a, enum role r)
{
	return a->role == r;
}

static int
missing(struct notify_staff *st, const char *channel, enum role r, const struct db_account *a)
{
	struct db_missing_new m;
	int rc;

	memset(&m, 0, sizeof(m));
	m.item_id = st->item != NULL ? st->item->id : 0;
	m.clock = st->clock != NULL ? st->clock : "";
	m.step = st->step;
	m.channel = channel;
	m.role = role_name(r);
	m.account_id = a != NULL ? a->id : 0;
	m.section_id = a != NULL ? a->section_id : st->section_id;
	m.at = st->now;
	rc = db_notify_missing_add(st->c, &m);
	if (rc == 0)
		st->missing++;
	return rc < 0 ? -1 : 0;
}

static int
queue(struct notify_staff *st, const char *channel, const char *to, const struct db_account *a)
{
	struct db_notice n;
	int rc;

	memset(&n, 0, sizeof(n));
	n.item_id = st->item != NULL ? st->item->id : 0;
	n.clock = st->clock != NULL ? st->clock : "";
	n.step = st->step;
	n.channel = channel;
	n.recipient = to;
	n.account_id = a->id;
	if (strcmp(channel, "email") == 0) {
		n.subject = st->subject;
		n.body = st->body;
	} else
		n.body = st->text;
	if (strcmp(channel, "sms") == 0 && st->sms_after == 0) { /* once per notify_staff */
		struct notify_quiet q;
		char err[200];

		st->sms_after = notify_quiet_parse(st->cfg->sms_quiet, &q, err, sizeof(err)) == 0
		                    ? notify_quiet_next(&q, st->cal, st->now)
		                    : st->now;
	}
	rc = notify_queue_at(st->c, st->cfg, &n, st->now, st->sms_after);
	if (rc == 0)
		st->queued++;
	return rc < 0 ? -1 : 0;
}

int
notify_staff_account(struct notify_staff *st, const struct db_account *a, int r)
{
	if (a->email != NULL && a->email[0] != '\0') {
		if (queue(st, "email", a->email, a) != 0)
			return -1;
	} else if (missing(st, "email", r, a) != 0)
		return -1;
	if (st->text == NULL)
		return 0;
	if (a->phone != NULL && a->phone[0] != '\0')
		return queue(st, "sms", a->phone, a);
	return missing(st, "sms", r, a);
}

int
notify_staff_role(struct notify_staff *st, const struct db_account *acc, size_t nacc, int r,
                  int64_t section_id)
{
	size_t i;
	int found = 0;

	for (i = 0; i < nacc; i++) {
		const struct db_account *a = &acc[i];

		if (!has_role(a, r) || strcmp(a->status, "active") != 0 ||
		    (section_id != 0 && a->section_id != section_id))
			continue;
		if (notify_staff_account(st, a, r) != 0)
			return -1;
		found++;
	}
	if (found > 0)
		return 0;
	st->section_id = section_id;
	if (missing(st, "email", r, NULL) != 0)
		return -1;
	return st->text != NULL ? missing(st, "sms", r, NULL) : 0;
}

int
notify_staff_heads(struct notify_staff *st)
{
	struct db_account *acc = NULL;
	size_t nacc = 0;
	int rc;

	if (db_account_list(st->c, &acc, &nacc) != 0)
		return -1;
	/* the heads of the item's section; the dispatchers while it has none */
	if (st->item->section_id != 0)
		rc = notify_staff_role(st, acc, nacc, ROLE_SECTION_HEAD, st->item->section_id);
	else
		rc = notify_staff_role(st, acc, nacc, ROLE_DISPATCHER, 0);
	db_accounts_free(acc, nacc);
	return rc;
}
