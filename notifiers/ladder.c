/* ladder.c: the reminder and escalation ladder (DESIGN.md "Escalation ladder"). For each running
 * clock of an item whose ladder mark is due:
 *   remind    from the start of the working day before the due day: e-mail to the assignee
 *             (or the section's handlers; the dispatchers when there is no section);
 *   overdue   once the due time passed: e-mail and SMS to the section heads (the dispatchers
 *             when there is no section);
 *   escalate  from the second working day after the due day, on each working day until the
 *             clock stops: e-mail and SMS to every supervisor (the step carries the day).
 * Steps carry the due date, so that a clock restarted with a new due time is reminded afresh;
 * the outbox's unique key makes each notice once per (item, clock, step, recipient). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "notifiers_int.h"

#define SCAN_BATCH 256     /* items per transaction */
#define PREV_SEARCH_DAYS 60 /* longer than any holiday block */
#define TEXT_MAX 2048

/* What one scan knows besides the item. */
struct scan {
	struct db_conn *c;
	const struct notify_config *cfg;
	const struct sla_calendar *cal;
	int64_t now;
	struct db_account *acc; /* every account */
	size_t nacc;
	struct notify_scan_stats *stats;
};

/* One notice of the ladder for one item and clock. */
struct step {
	const struct db_item *item;
	const char *clock;
	char name[64];       /* step, e.g. "overdue/2025-10-14" */
	int sms;             /* 1: SMS too */
	char subject[512];
	char body[TEXT_MAX];
	char text[512];      /* the SMS */
};

static const struct {
	const char *name, *zh, *en;
} clock_names[] = {
	{"forward", "转办", "forwarding"},
	{"reply", "答复", "reply"},
	{"explain", "说明", "explanation"},
};

static const char *
clock_zh(const char *name, int en)
{
	size_t i;

	for (i = 0; i < sizeof(clock_names) / sizeof(clock_names[0]); i++)
		if (strcmp(clock_names[i].name, name) == 0)
			return en ? clock_names[i].en : clock_names[i].zh;
	return name;
}

/* Records that account a (NULL: nobody has the role) cannot get the step by channel. */
static int
missing(struct scan *s, const struct step *st, const char *channel, const char *role,
        const struct db_account *a)
{
	struct db_missing_new m;
	int rc;

	memset(&m, 0, sizeof(m));
	m.item_id = st->item->id;
	m.clock = st->clock;
	m.step = st->name;
	m.channel = channel;
	m.role = role;
	m.account_id = a != NULL ? a->id : 0;
	m.section_id = a != NULL ? a->section_id : st->item->section_id;
	m.at = s->now;
	rc = db_notify_missing_add(s->c, &m);
	if (rc == 0)
		s->stats->missing++;
	return rc < 0 ? -1 : 0;
}

static int
queue(struct scan *s, const struct step *st, const char *channel, const char *to,
      const struct db_account *a)
{
	struct db_notice n;
	int rc;

	memset(&n, 0, sizeof(n));
	n.item_id = st->item->id;
	n.clock = st->clock;
	n.step = st->name;
	n.channel = channel;
	n.recipient = to;
	n.account_id = a->id;
	if (strcmp(channel, "email") == 0) {
		n.subject = st->subject;
		n.body = st->body;
	} else
		n.body = st->text;
	rc = notify_queue(s->c, s->cfg, s->cal, &n, s->now);
	if (rc == 0)
		s->stats->queued++;
	return rc < 0 ? -1 : 0;
}

static int
to_account(struct scan *s, const struct step *st, const struct db_account *a)
{
	if (a->email != NULL && a->email[0] != '\0') {
		if (queue(s, st, "email", a->email, a) != 0)
			return -1;
	} else if (missing(s, st, "email", role_name(a->role), a) != 0)
		return -1;
	if (!st->sms)
		return 0;
	if (a->phone != NULL && a->phone[0] != '\0')
		return queue(s, st, "sms", a->phone, a);
	return missing(s, st, "sms", role_name(a->role), a);
}

/* Sends st to every active account of role (in section when section_id is not 0). Returns the
 * number of accounts, or -1. */
static int
to_role(struct scan *s, const struct step *st, const char *role, int64_t section_id)
{
	size_t i;
	int found = 0;

	for (i = 0; i < s->nacc; i++) {
		const struct db_account *a = &s->acc[i];

		if (strcmp(role_name(a->role), role) != 0 || strcmp(a->status, "active") != 0 ||
		    (section_id != 0 && a->section_id != section_id))
			continue;
		if (to_account(s, st, a) != 0)
			return -1;
		found++;
	}
	return found;
}

/* to_role, recording a role that nobody holds. */
static int
to_role_or_missing(struct scan *s, const struct step *st, const char *role, int64_t section_id)
{
	int n = to_role(s, st, role, section_id);

	if (n < 0)
		return -1;
	if (n > 0)
		return 0;
	if (missing(s, st, "email", role, NULL) != 0)
		return -1;
	return st->sms ? missing(s, st, "sms", role, NULL) : 0;
}

/* The item's section for a message ("-" when none). */
static const char *
section_of(const struct db_item *item)
{
	return item->section_name != NULL ? item->section_name : "-";
}

static void
compose(struct step *st, const char *kind, const struct db_clock *k, const char *extra_zh,
        const char *extra_en)
{
	const struct db_item *it = st->item;
	char due[32];

	notify_format_time(k->due, due, sizeof(due));
	snprintf(st->subject, sizeof(st->subject), "【%s】%s %s时限 %s / %s: %s",
	         kind, it->tracking, clock_zh(k->name, 0), due, kind, it->tracking);
	snprintf(st->body, sizeof(st->body),
	         "事项 %s（%s）的%s时限为 %s。%s\n"
	         "主题：%s\n处室：%s\n承办人：%s\n状态：%s\n\n"
	         "Item %s: the %s clock is due %s. %s\n",
	         it->tracking, kind_name(it->kind), clock_zh(k->name, 0), due, extra_zh, it->subject,
	         section_of(it), it->assignee_name != NULL ? it->assignee_name : "-",
	         wf_state_name(it->state),
	         it->tracking, clock_zh(k->name, 1), due, extra_en);
	snprintf(st->text, sizeof(st->text), "【civicdesk】%s %s%s时限%.16s%s", kind, it->tracking,
	         clock_zh(k->name, 0), due, extra_zh);
}

/* The working day before day d (the day itself when none is found). */
static sla_day
prev_working_day(const struct sla_calendar *cal, sla_day d)
{
	sla_day p;

	for (p = d - 1; p > d - PREV_SEARCH_DAYS; p--)
		if (sla_is_working_day(cal, p))
			return p;
	return d;
}

static int
step_remind(struct scan *s, const struct db_item *it, const struct db_clock *k, const char *day)
{
	struct step st;
	size_t i;

	memset(&st, 0, sizeof(st));
	st.item = it;
	st.clock = k->name;
	snprintf(st.name, sizeof(st.name), "remind/%s", day);
	compose(&st, "提醒", k, "请按时办理。", "Please handle it in time.");
	if (it->assignee_id != 0)
		for (i = 0; i < s->nacc; i++)
			if (s->acc[i].id == it->assignee_id && strcmp(s->acc[i].status, "active") == 0)
				return to_account(s, &st, &s->acc[i]);
	if (it->section_id != 0)
		return to_role_or_missing(s, &st, "handler", it->section_id);
	return to_role_or_missing(s, &st, "dispatcher", 0);
}

static int
step_overdue(struct scan *s, const struct db_item *it, const struct db_clock *k, const char *day)
{
	struct step st;

	memset(&st, 0, sizeof(st));
	st.item = it;
	st.clock = k->name;
	st.sms = 1;
	snprintf(st.name, sizeof(st.name), "overdue/%s", day);
	compose(&st, "逾期", k, "已逾期，请督办。", "It is overdue.");
	if (it->section_id != 0)
		return to_role_or_missing(s, &st, "section_head", it->section_id);
	return to_role_or_missing(s, &st, "dispatcher", 0);
}

static int
step_escalate(struct scan *s, const struct db_item *it, const struct db_clock *k, const char *day,
              sla_day today)
{
	struct step st;
	char date[11];
	int late = -sla_days_left(s->cal, k->due, s->now);

	memset(&st, 0, sizeof(st));
	st.item = it;
	st.clock = k->name;
	st.sms = 1;
	sla_date_format(today, date);
	snprintf(st.name, sizeof(st.name), "escalate/%s/%s", day, date);
	{
		char zh[96], en[96];

		snprintf(zh, sizeof(zh), "已逾期%d个工作日。", late);
		snprintf(en, sizeof(en), "It is %d working days overdue.", late);
		compose(&st, "督办", k, zh, en);
	}
	return to_role_or_missing(s, &st, "supervisor", 0);
}

static int64_t
min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

/* Queues what item needs at s->now and writes the next instant to look at it. */
static int
ladder_item(struct scan *s, const struct db_item *it, int64_t *next)
{
	size_t i;

	*next = INT64_MAX;
	for (i = 0; i < it->nclocks; i++) {
		const struct db_clock *k = &it->clocks[i];
		sla_day due_day, today = sla_local_day(s->now);
		int64_t remind_at, over_at, esc_at;
		char day[11];

		if (k->stopped_at != 0 || k->paused_at != 0 || k->due <= 0)
			continue;
		due_day = sla_local_day(k->due);
		sla_date_format(due_day, day);
		remind_at = sla_day_end(prev_working_day(s->cal, due_day), 0);
		over_at = k->due + 1;
		esc_at = sla_day_end(sla_add_working_days(s->cal, due_day, 2), 0);
		if (s->now < over_at) {
			if (s->now >= remind_at) {
				if (step_remind(s, it, k, day) != 0)
					return -1;
			} else
				*next = min64(*next, remind_at);
			*next = min64(*next, over_at);
			continue;
		}
		if (step_overdue(s, it, k, day) != 0)
			return -1;
		if (s->now < esc_at) {
			*next = min64(*next, esc_at);
			continue;
		}
		if (sla_is_working_day(s->cal, today) && step_escalate(s, it, k, day, today) != 0)
			return -1;
		*next = min64(*next, sla_day_end(sla_next_working_day(s->cal, today + 1), 0));
	}
	return 0;
}

int
notify_scan(struct db_conn *c, const struct notify_config *cfg, const struct sla_calendar *cal,
            int64_t now, struct notify_scan_stats *stats)
{
	struct scan s;
	int64_t ids[SCAN_BATCH], next;
	size_t n, i;
	struct db_item item;
	int rc = -1, r;

	memset(&s, 0, sizeof(s));
	s.c = c;
	s.cfg = cfg;
	s.cal = cal;
	s.now = now;
	s.stats = stats;
	for (;;) {
		if (db_begin(c) != 0)
			goto out;
		if (db_ladder_due(c, now, SCAN_BATCH, ids, &n) != 0)
			goto rollback;
		if (n == 0) {
			db_rollback(c);
			break;
		}
		if (s.acc == NULL && db_account_list(c, &s.acc, &s.nacc) != 0)
			goto rollback;
		for (i = 0; i < n; i++) {
			r = db_item_get_id(c, ids[i], &item);
			if (r < 0)
				goto rollback;
			next = INT64_MAX;
			if (r > 0) {
				stats->items++;
				r = ladder_item(&s, &item, &next);
				db_item_free(&item);
				if (r != 0)
					goto rollback;
			}
			if (next <= now) /* never look again in this scan */
				next = now + 1;
			if (db_ladder_set(c, ids[i], next) != 0)
				goto rollback;
		}
		if (db_commit(c) != 0)
			goto out;
		if (n < SCAN_BATCH)
			break;
	}
	rc = 0;
	goto out;
rollback:
	notify_log("ladder scan: %s", db_errmsg(c));
	db_rollback(c);
out:
	db_accounts_free(s.acc, s.nacc);
	return rc;
}
