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

#define SCAN_BATCH 2048     /* items per transaction */
#define SCAN_CACHE (-16384) /* the scan's page cache (16 MiB as cache_size says), given back */
#define PREV_SEARCH_DAYS 60 /* longer than any holiday block */
#define TEXT_MAX 2048
#define MEMO_SLOTS 64       /* due instants a scan remembers (many clocks share a day's end) */

/* What the ladder makes of one due instant at the scan's moment. */
struct due_info {
	int64_t due;         /* the key; 0: an empty slot */
	sla_day day;         /* the due day */
	int64_t remind_at;   /* from the start of the working day before it */
	int64_t esc_at;      /* from the start of the second working day after it */
	int late;            /* working days overdue at the scan's moment */
	char date[11];       /* the due day, YYYY-MM-DD (the steps carry it) */
	char text[32];       /* "YYYY-MM-DD HH:MM" for the messages */
};

/* What one scan knows besides the item. */
struct scan {
	struct db_conn *c;
	const struct notify_config *cfg;
	const struct sla_calendar *cal;
	int64_t now;
	sla_day today;
	char today_date[11];
	int64_t sms_after;      /* when an SMS queued now may leave (quiet hours) */
	struct db_account *acc; /* every account */
	size_t nacc;
	struct notify_scan_stats *stats;
	struct due_info memo[MEMO_SLOTS]; /* time zone and calendar work, once per due instant */
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
	rc = notify_queue_at(s->c, s->cfg, &n, s->now, s->sms_after);
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
compose(struct step *st, const char *kind, const struct db_clock *k, const char *due,
        const char *extra_zh, const char *extra_en)
{
	const struct db_item *it = st->item;

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
step_remind(struct scan *s, const struct db_item *it, const struct db_clock *k,
            const struct due_info *d)
{
	struct step st;
	size_t i;

	memset(&st, 0, sizeof(st));
	st.item = it;
	st.clock = k->name;
	snprintf(st.name, sizeof(st.name), "remind/%s", d->date);
	compose(&st, "提醒", k, d->text, "请按时办理。", "Please handle it in time.");
	if (it->assignee_id != 0)
		for (i = 0; i < s->nacc; i++)
			if (s->acc[i].id == it->assignee_id && strcmp(s->acc[i].status, "active") == 0)
				return to_account(s, &st, &s->acc[i]);
	if (it->section_id != 0)
		return to_role_or_missing(s, &st, "handler", it->section_id);
	return to_role_or_missing(s, &st, "dispatcher", 0);
}

static int
step_overdue(struct scan *s, const struct db_item *it, const struct db_clock *k,
             const struct due_info *d)
{
	struct step st;

	memset(&st, 0, sizeof(st));
	st.item = it;
	st.clock = k->name;
	st.sms = 1;
	snprintf(st.name, sizeof(st.name), "overdue/%s", d->date);
	compose(&st, "逾期", k, d->text, "已逾期，请督办。", "It is overdue.");
	if (it->section_id != 0)
		return to_role_or_missing(s, &st, "section_head", it->section_id);
	return to_role_or_missing(s, &st, "dispatcher", 0);
}

static int
step_escalate(struct scan *s, const struct db_item *it, const struct db_clock *k,
              const struct due_info *d)
{
	struct step st;

	memset(&st, 0, sizeof(st));
	st.item = it;
	st.clock = k->name;
	st.sms = 1;
	snprintf(st.name, sizeof(st.name), "escalate/%s/%s", d->date, s->today_date);
	{
		char zh[96], en[96];

		snprintf(zh, sizeof(zh), "已逾期%d个工作日。", d->late);
		snprintf(en, sizeof(en), "It is %d working days overdue.", d->late);
		compose(&st, "督办", k, d->text, zh, en);
	}
	return to_role_or_missing(s, &st, "supervisor", 0);
}

static int64_t
min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

/* The ladder's instants and texts for due instant due, from the scan's memo or computed (and
 * remembered) now. */
static const struct due_info *
due_info(struct scan *s, int64_t due)
{
	struct due_info *d = &s->memo[((uint64_t)due * 0x9E3779B97F4A7C15ull) >> 58];

	if (d->due == due)
		return d;
	d->due = due;
	d->day = sla_local_day(due);
	sla_date_format(d->day, d->date);
	d->remind_at = sla_day_end(prev_working_day(s->cal, d->day), 0);
	d->esc_at = sla_day_end(sla_add_working_days(s->cal, d->day, 2), 0);
	d->late = -sla_days_left(s->cal, due, s->now);
	notify_format_time(due, d->text, sizeof(d->text));
	return d;
}

/* Queues what item needs at s->now and writes the next instant to look at it. mark is the
 * instant the last scan set (0: the item changed since, or is new): a mark past a clock's
 * overdue point means that scan already queued the overdue notice in its transaction (it
 * would have set a mark at or before that point otherwise), so a daily escalation does not
 * write it again only to have the outbox's unique key turn it away. */
static int
ladder_item(struct scan *s, const struct db_item *it, int64_t mark, int64_t *next)
{
	size_t i;

	*next = INT64_MAX;
	for (i = 0; i < it->nclocks; i++) {
		const struct db_clock *k = &it->clocks[i];
		const struct due_info *d;
		int64_t over_at;

		if (k->stopped_at != 0 || k->paused_at != 0 || k->due <= 0)
			continue;
		d = due_info(s, k->due);
		over_at = k->due + 1;
		if (s->now < over_at) {
			if (s->now >= d->remind_at) {
				if (step_remind(s, it, k, d) != 0)
					return -1;
			} else
				*next = min64(*next, d->remind_at);
			*next = min64(*next, over_at);
			continue;
		}
		if ((mark == 0 || mark <= over_at) && step_overdue(s, it, k, d) != 0)
			return -1;
		if (s->now < d->esc_at) {
			*next = min64(*next, d->esc_at);
			continue;
		}
		if (sla_is_working_day(s->cal, s->today) && step_escalate(s, it, k, d) != 0)
			return -1;
		*next = min64(*next, sla_day_end(sla_next_working_day(s->cal, s->today + 1), 0));
	}
	return 0;
}

int
notify_scan(struct db_conn *c, const struct notify_config *cfg, const struct sla_calendar *cal,
            int64_t now, struct notify_scan_stats *stats)
{
	struct scan s;
	int64_t ids[SCAN_BATCH], marks[SCAN_BATCH], next;
	size_t n, i;
	struct db_item item;
	struct notify_quiet q;
	char err[200];
	int rc = -1, r, cache = 0, raised = 0;

	memset(&s, 0, sizeof(s));
	s.c = c;
	s.cfg = cfg;
	s.cal = cal;
	s.now = now;
	s.stats = stats;
	for (;;) {
		if (db_begin(c) != 0)
			goto out;
		if (db_ladder_due_marks(c, now, SCAN_BATCH, ids, marks, &n) != 0)
			goto rollback;
		if (n == 0) {
			db_rollback(c);
			break;
		}
		if (s.acc == NULL && db_account_list(c, &s.acc, &s.nacc) != 0)
			goto rollback;
		if (!raised) { /* the first item due: what the whole scan shares */
			if (db_ladder_cache(c, SCAN_CACHE, &cache) != 0)
				goto rollback;
			raised = 1;
			s.today = sla_local_day(now);
			sla_date_format(s.today, s.today_date);
			s.sms_after = notify_quiet_parse(cfg->sms_quiet, &q, err, sizeof(err)) == 0
			                  ? notify_quiet_next(&q, cal, now)
			                  : now;
		}
		for (i = 0; i < n; i++) {
			r = db_item_get_id(c, ids[i], &item);
			if (r < 0)
				goto rollback;
			next = INT64_MAX;
			if (r > 0) {
				stats->items++;
				r = ladder_item(&s, &item, marks[i], &next);
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
	if (raised)
		db_ladder_cache(c, cache, NULL);
	db_accounts_free(s.acc, s.nacc);
	return rc;
}
