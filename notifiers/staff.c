/* staff.c: notices to staff accounts and to the staff of a role: the steps of the clock ladder
 * (ladder.c), the follow-up of an unsatisfied rating (回访), a supervision order (督办) and its
 * due-date reminder, the weekly digest, an item sent back to the dispatchers, a citizen's e-mail
 * about an item that has ended. Each account gets an
 * e-mail (and an SMS when asked); an account without an address for a channel, or a role that
 * nobody holds, is recorded in notify_missing (listed on GET /api/v1/admin/outbox), never skipped
 * silently. */
#include <stdio.h>
#include <stdlib.h>
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
	char step[64];
	int rc;

	memset(&m, 0, sizeof(m));
	m.item_id = st->item != NULL ? st->item->id : 0;
	m.clock = st->clock != NULL ? st->clock : "";
	m.step = st->step;
	if (st->key != NULL && st->step == NULL) {
		db_ladder_key_step(st->key, step, sizeof(step));
		m.step = step;
	}
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
	if (st->key != NULL) { /* a ladder notice: its key; the text is written when it is sent */
		struct db_ladder_key k = *st->key;

		k.sms = strcmp(channel, "sms") == 0;
		n.lkey = db_ladder_key(&k);
	} else if (strcmp(channel, "email") == 0) {
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
	if (st->key != NULL && st->keys != NULL) { /* the scan: stored with its batch */
		struct notify_keys *k = st->keys;

		if (k->n == k->cap) {
			struct db_notice *nv;

			if (k->cap == NOTIFY_KEYS_MAX)
				return notify_keys_flush(st) == 0 ? queue(st, channel, to, a) : -1;
			nv = realloc(k->v, (k->cap > 0 ? k->cap * 2 : 256) * sizeof(*nv));
			if (nv == NULL)
				return -1;
			k->v = nv;
			k->cap = k->cap > 0 ? k->cap * 2 : 256;
		}
		notify_notice_times(st->cfg, &n, st->now, st->sms_after);
		k->v[k->n++] = n;
		return 0;
	}
	rc = notify_queue_at(st->c, st->cfg, &n, st->now, st->sms_after);
	if (rc == 0)
		st->queued++;
	return rc < 0 ? -1 : 0;
}

/* The order of the rows a batch stores: by item, then by key, the order of outbox_keys' entries
 * within a day (schema 026), so that each lands at the end of the index, after the one before;
 * the due indexes (one per channel) take them in the order of their ids. */
static int
key_order(const void *pa, const void *pb)
{
	const struct db_notice *a = pa, *b = pb;

	if (a->item_id != b->item_id)
		return a->item_id < b->item_id ? -1 : 1;
	if (a->lkey != b->lkey)
		return a->lkey < b->lkey ? -1 : 1;
	return 0;
}

int
notify_keys_flush(struct notify_staff *st)
{
	struct notify_keys *k = st->keys;
	size_t added = 0, i;

	if (k == NULL || k->n == 0)
		return 0;
	for (i = 1; i < k->n && key_order(&k->v[i - 1], &k->v[i]) <= 0; i++)
		;
	if (i < k->n) /* the scan's items come in order, mostly */
		qsort(k->v, k->n, sizeof(*k->v), key_order);
	if (db_outbox_add_keys(st->c, k->v, k->n, &added) != 0)
		return -1;
	st->queued += added;
	k->n = 0;
	return 0;
}

void
notify_keys_free(struct notify_keys *k)
{
	if (k == NULL)
		return;
	free(k->v);
	memset(k, 0, sizeof(*k));
}

void
notify_staff_init(struct notify_staff *st, struct db_conn *c, const struct notify_config *cfg,
                  const struct sla_calendar *cal, int64_t now, const struct db_item *it,
                  const char *step, const char *subject, const char *body, const char *text)
{
	memset(st, 0, sizeof(*st));
	st->c = c;
	st->cfg = cfg;
	st->cal = cal;
	st->now = now;
	st->item = it;
	st->step = step;
	st->subject = subject;
	st->body = body;
	st->text = text;
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

int
notify_sent_back(struct db_conn *c, const struct notify_config *cfg, const struct sla_calendar *cal,
                 const struct db_item *it, const char *reason, int64_t at)
{
	struct db_account *acc = NULL;
	struct notify_staff st;
	char step[64], subject[512], body[4096], why[1300], quoted[NOTIFY_SUBJECT_QUOTE + 4];
	size_t nacc = 0;
	int rc;

	snprintf(why, sizeof(why), "%s", reason != NULL && reason[0] ? reason : "-");
	notify_cut_utf8(why, 1200);
	notify_quote_subject(it->subject, quoted);
	snprintf(step, sizeof(step), "sent-back/%lld", (long long)at);
	snprintf(subject, sizeof(subject), "【退回】%s 请重新分办 / sent back for triage: %s",
	         it->tracking, it->tracking);
	snprintf(body, sizeof(body),
	         "事项 %s 已被处室退回，请重新分办。\n退回理由：%.1200s\n主题：%s\n状态：%s\n\n"
	         "Item %s was sent back by its section: please assign it again.\nReason: %.1200s\n",
	         it->tracking, why, quoted, wf_state_name(it->state), it->tracking, why);
	notify_staff_init(&st, c, cfg, cal, at, it, step, subject, body, NULL);
	if (db_account_list(c, &acc, &nacc) != 0)
		return -1;
	rc = notify_staff_role(&st, acc, nacc, ROLE_DISPATCHER, 0);
	db_accounts_free(acc, nacc);
	return rc;
}

int
notify_citizen_wrote(struct db_conn *c, const struct notify_config *cfg,
                     const struct sla_calendar *cal, const struct db_item *it,
                     const char *from_state, const char *text, int64_t at)
{
	struct db_account *acc = NULL;
	struct notify_staff st;
	char step[64], subject[512], body[4096], said[1000], quoted[NOTIFY_SUBJECT_QUOTE + 4],
	    link[400], path[80];
	const char *state = from_state != NULL ? from_state : wf_state_name(it->state);
	size_t nacc = 0, i;
	int rc = 0;

	snprintf(said, sizeof(said), "%s", text != NULL && text[0] ? text : "-");
	notify_cut_utf8(said, 900);
	notify_quote_subject(it->subject, quoted);
	snprintf(path, sizeof(path), "/staff/item/%s", it->tracking);
	notify_link(cfg, path, link, sizeof(link));
	/* once a day and item: more e-mails that day are in its history (a citizen's series, or
	 * a loop with an auto-responder, is one notice) */
	snprintf(step, sizeof(step), "citizen-mail/day%lld", (long long)(at / 86400));
	snprintf(subject, sizeof(subject),
	         "【来信】%s 已办结事项收到市民新邮件 / the citizen wrote again: %s", it->tracking,
	         it->tracking);
	snprintf(body, sizeof(body),
	         "市民通过电子邮件就已办结（%s）的事项 %s 再次来信，已记入事项记录。事项未重新打开，"
	         "办理时限未重新计算；已回复市民：如对答复不满意可评价（回访后可重办），新的问题请另行来信。\n"
	         "主题：%s\n处室：%s\n来信摘录：%s\n%s\n\n"
	         "The citizen wrote again by e-mail about item %s, which has ended (%s). The message "
	         "is in the item's history; the item was not reopened and no time limit started "
	         "again. The citizen was told how to rate the reply (its follow-up may reopen the "
	         "item) and to write a new letter for a new matter.\n",
	         state, it->tracking, quoted, it->section_name != NULL ? it->section_name : "-", said,
	         link, it->tracking, state);
	notify_staff_init(&st, c, cfg, cal, at, it, step, subject, body, NULL);
	if (db_account_list(c, &acc, &nacc) != 0)
		return -1;
	/* the handler who holds it, then the heads of its section (the dispatchers while it has
	 * none) */
	for (i = 0; i < nacc && rc == 0; i++)
		if (it->assignee_id != 0 && acc[i].id == it->assignee_id &&
		    strcmp(acc[i].status, "active") == 0)
			rc = notify_staff_account(&st, &acc[i], (int)acc[i].role);
	if (rc == 0)
		rc = it->section_id != 0
		         ? notify_staff_role(&st, acc, nacc, ROLE_SECTION_HEAD, it->section_id)
		         : notify_staff_role(&st, acc, nacc, ROLE_DISPATCHER, 0);
	db_accounts_free(acc, nacc);
	return rc;
}

void
notify_quote_subject(const char *subject, char buf[NOTIFY_SUBJECT_QUOTE + 4])
{
	snprintf(buf, NOTIFY_SUBJECT_QUOTE + 4, "%s", subject != NULL ? subject : "-");
	if (strlen(buf) > NOTIFY_SUBJECT_QUOTE) {
		notify_cut_utf8(buf, NOTIFY_SUBJECT_QUOTE - 3);
		strcat(buf, "…");
	}
}

void
notify_cut_utf8(char *s, size_t max)
{
	size_t len = strlen(s);

	if (len <= max)
		return;
	while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
		max--;
	s[max] = '\0';
}
