/* ladder.c: the reminder and escalation ladder (DESIGN.md "Escalation ladder"). For each running
 * clock of an item whose ladder mark is due:
 *   remind    from the start of the working day before the due day: e-mail to the assignee
 *             (or the section's handlers; the dispatchers when there is no section);
 *   overdue   once the due time passed: e-mail and SMS to the section heads (the dispatchers
 *             when there is no section);
 *   escalate  from the second working day after the due day, on each working day until the
 *             clock stops: e-mail and SMS to every supervisor (the step carries the day).
 * Steps carry the due date, so that a clock restarted with a new due time is reminded afresh;
 * the outbox's unique key makes each notice once per (item, clock, step, recipient).
 * Two passes, each in transactions of its own: the scan reads the due items' clocks only, takes
 * their entries and adds each one's next, and records each item that has steps to send (table
 * ladder_fanout: its moment and mark); the fan-out reads each such item, finds the same steps
 * for that moment, queues their texts to their recipients (staff.c) and deletes the record. A
 * crash between them leaves the records for the next fan-out. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "notifiers_int.h"

#define SCAN_BATCH 2048     /* items per transaction of the scan */
#define FAN_BATCH 256       /* items per transaction of the fan-out */
#define SCAN_CACHE (-16384) /* the scan's page cache (16 MiB as cache_size says), given back */
#define PREV_SEARCH_DAYS 60 /* longer than any holiday block */
#define TEXT_MAX 2048
#define MEMO_SLOTS 64       /* due instants a scan remembers (many clocks share a day's end) */

/* What the ladder makes of one due instant at the scan's moment. */
struct due_info {
	int64_t due;       /* the key; 0: an empty slot */
	sla_day day;       /* the due day */
	int64_t remind_at; /* from the start of the working day before it */
	int64_t esc_at;    /* from the start of the second working day after it */
	int late;          /* working days overdue at the scan's moment */
	char date[11];     /* the due day, YYYY-MM-DD (the steps carry it) */
};

/* What one scan (or the fan-out of one scan's moment) knows besides the item. */
struct scan {
	struct db_conn *c;
	const struct sla_calendar *cal;
	int64_t now;
	sla_day today;
	char today_date[11];
	size_t steps;                 /* steps found for the item at hand */
	struct notify_staff *ns;      /* the fan-out: where the steps go (NULL: only counted) */
	const struct db_account *acc; /* the fan-out: every account */
	size_t nacc;
	const struct db_item *item;   /* the fan-out: the item at hand */
	struct due_info memo[MEMO_SLOTS]; /* time zone and calendar work, once per due instant */
};

/* The texts of one step for one item. */
struct texts {
	char subject[512];
	char body[TEXT_MAX];
	char text[512]; /* the SMS */
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

/* The item's section for a message ("-" when none). */
static const char *
section_of(const struct db_item *item)
{
	return item->section_name != NULL ? item->section_name : "-";
}

static void
compose(struct texts *t, const struct db_item *it, const char *kind, const char *clock,
        const char *due, const char *extra_zh, const char *extra_en)
{
	snprintf(t->subject, sizeof(t->subject), "【%s】%s %s时限 %s / %s: %s",
	         kind, it->tracking, clock_zh(clock, 0), due, kind, it->tracking);
	snprintf(t->body, sizeof(t->body),
	         "事项 %s（%s）的%s时限为 %s。%s\n"
	         "主题：%s\n处室：%s\n承办人：%s\n状态：%s\n\n"
	         "Item %s: the %s clock is due %s. %s\n",
	         it->tracking, kind_name(it->kind), clock_zh(clock, 0), due, extra_zh, it->subject,
	         section_of(it), it->assignee_name != NULL ? it->assignee_name : "-",
	         wf_state_name(it->state),
	         it->tracking, clock_zh(clock, 1), due, extra_en);
	snprintf(t->text, sizeof(t->text), "【civicdesk】%s %s%s时限%.16s%s", kind, it->tracking,
	         clock_zh(clock, 0), due, extra_zh);
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

static int64_t
min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

/* The ladder's instants for due instant due, from the scan's memo or computed (and
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
	return d;
}

static void
scan_init(struct scan *s, struct db_conn *c, const struct sla_calendar *cal, int64_t now)
{
	memset(s->memo, 0, sizeof(s->memo));
	s->c = c;
	s->cal = cal;
	s->now = now;
	s->today = sla_local_day(now);
	sla_date_format(s->today, s->today_date);
}

/* Queues step `name` (its kind by prefix) of clock k of s->item to its recipients: remind to
 * the assignee, or the section's handlers, or the dispatchers when there is no section; overdue
 * to the section's heads, or the dispatchers; escalate to every supervisor. 0 or -1. */
static int
fan_step(struct scan *s, const struct db_ladder_clock *k, const struct due_info *d,
         const char *prefix, const char *name)
{
	struct notify_staff *ns = s->ns;
	const struct db_item *it = s->item;
	struct texts t;
	char due[32], zh[96], en[96];
	size_t i;

	notify_format_time(k->due, due, sizeof(due));
	ns->item = it;
	ns->clock = k->name;
	ns->step = name;
	ns->subject = t.subject;
	ns->body = t.body;
	if (strcmp(prefix, "remind") == 0) {
		compose(&t, it, "提醒", k->name, due, "请按时办理。", "Please handle it in time.");
		ns->text = NULL;
		if (it->assignee_id != 0)
			for (i = 0; i < s->nacc; i++)
				if (s->acc[i].id == it->assignee_id &&
				    strcmp(s->acc[i].status, "active") == 0)
					return notify_staff_account(ns, &s->acc[i], s->acc[i].role);
		if (it->section_id != 0)
			return notify_staff_role(ns, s->acc, s->nacc, ROLE_HANDLER, it->section_id);
		return notify_staff_role(ns, s->acc, s->nacc, ROLE_DISPATCHER, 0);
	}
	ns->text = t.text;
	if (strcmp(prefix, "overdue") == 0) {
		compose(&t, it, "逾期", k->name, due, "已逾期，请督办。", "It is overdue.");
		if (it->section_id != 0)
			return notify_staff_role(ns, s->acc, s->nacc, ROLE_SECTION_HEAD,
			                         it->section_id);
		return notify_staff_role(ns, s->acc, s->nacc, ROLE_DISPATCHER, 0);
	}
	snprintf(zh, sizeof(zh), "已逾期%d个工作日。", d->late);
	snprintf(en, sizeof(en), "It is %d working days overdue.", d->late);
	compose(&t, it, "督办", k->name, due, zh, en);
	return notify_staff_role(ns, s->acc, s->nacc, ROLE_SUPERVISOR, 0);
}

/* A step that has come for clock k, named "prefix/DUE[/TODAY]": counted by the scan, queued by
 * the fan-out. 0 or -1. */
static int
emit(struct scan *s, const struct db_ladder_clock *k, const struct due_info *d,
     const char *prefix, int daily)
{
	char name[64];

	s->steps++;
	if (s->ns == NULL)
		return 0;
	if (daily)
		snprintf(name, sizeof(name), "%s/%s/%s", prefix, d->date, s->today_date);
	else
		snprintf(name, sizeof(name), "%s/%s", prefix, d->date);
	return fan_step(s, k, d, prefix, name);
}

/* Emits the steps item's clocks k[0..n) need at s->now and writes the next instant to look at
 * it. mark is the instant of the entry taken (0: the item changed since, or is new): a mark
 * past a clock's overdue point means the scan that set it already had the overdue step (it
 * would have set a mark at or before that point otherwise), so a daily escalation does not
 * queue it again only to have the outbox's unique key turn it away. */
static int
ladder_item(struct scan *s, const struct db_ladder_clock *k, size_t n, int64_t mark,
            int64_t *next)
{
	size_t i;

	*next = INT64_MAX;
	for (i = 0; i < n; i++) {
		const struct due_info *d;
		int64_t over_at;

		if (!k[i].running || k[i].due <= 0 || k[i].name[0] == '\0')
			continue;
		d = due_info(s, k[i].due);
		over_at = k[i].due + 1;
		if (s->now < over_at) {
			if (s->now >= d->remind_at) {
				if (emit(s, &k[i], d, "remind", 0) != 0)
					return -1;
			} else
				*next = min64(*next, d->remind_at);
			*next = min64(*next, over_at);
			continue;
		}
		if ((mark == 0 || mark <= over_at) && emit(s, &k[i], d, "overdue", 0) != 0)
			return -1;
		if (s->now < d->esc_at) {
			*next = min64(*next, d->esc_at);
			continue;
		}
		if (sla_is_working_day(s->cal, s->today) && emit(s, &k[i], d, "escalate", 1) != 0)
			return -1;
		*next = min64(*next, sla_day_end(sla_next_working_day(s->cal, s->today + 1), 0));
	}
	return 0;
}

int
notify_scan_steps(struct db_conn *c, const struct sla_calendar *cal, int64_t now,
                  struct notify_scan_stats *stats)
{
	struct scan s;
	struct db_ladder_clock *k = NULL;
	int64_t next;
	size_t n, i, j, items;
	int rc = -1, cache = 0, raised = 0;

	memset(&s, 0, sizeof(s));
	scan_init(&s, c, cal, now);
	if (db_ladder_scanning(c, 1) != 0) /* outside a transaction, as SQLite asks */
		goto out;
	for (;;) {
		if (db_begin(c) != 0)
			goto out;
		if (k == NULL) {
			/* three clocks at most per item */
			k = malloc(3 * SCAN_BATCH * sizeof(*k));
			if (k == NULL)
				goto rollback;
		}
		if (db_ladder_due_clocks(c, now, SCAN_BATCH, k, 3 * SCAN_BATCH, &n) != 0)
			goto rollback;
		if (n == 0) {
			db_rollback(c);
			break;
		}
		if (!raised) { /* the first item due */
			if (db_ladder_cache(c, SCAN_CACHE, &cache) != 0)
				goto rollback;
			raised = 1;
		}
		/* the entries taken; each item's next one lies after now, beyond them */
		if (db_ladder_taken(c, k[n - 1].mark, k[n - 1].item_id) != 0)
			goto rollback;
		for (i = 0, items = 0; i < n; i = j, items++) {
			for (j = i + 1; j < n && k[j].item_id == k[i].item_id && k[j].mark == k[i].mark;
			     j++)
				;
			stats->items++;
			s.steps = 0;
			if (ladder_item(&s, &k[i], j - i, k[i].mark, &next) != 0)
				goto rollback;
			if (s.steps > 0) { /* the item's notices, for the fan-out */
				struct db_ladder_fanout f = {now, k[i].item_id, k[i].mark};

				stats->steps += s.steps;
				if (db_ladder_fanout_add(c, &f) != 0)
					goto rollback;
			}
			if (next <= now) /* never look again in this scan */
				next = now + 1;
			if (db_ladder_set(c, k[i].item_id, next) != 0)
				goto rollback;
		}
		if (db_commit(c) != 0)
			goto out;
		if (items < SCAN_BATCH)
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
	db_ladder_scanning(c, 0);
	free(k);
	return rc;
}

/* --- the fan-out: the steps of each item a scan found, to their recipients ---------------- */

/* The steps of item it at the moment of f (s set to that moment), queued. 0 or -1. */
static int
fan_item(struct scan *s, const struct db_item *it, const struct db_ladder_fanout *f)
{
	struct db_ladder_clock k[sizeof(it->clocks) / sizeof(it->clocks[0])];
	int64_t next;
	size_t i, n = 0;

	for (i = 0; i < it->nclocks && n < sizeof(k) / sizeof(k[0]); i++, n++) {
		k[n].item_id = it->id;
		k[n].mark = f->mark;
		snprintf(k[n].name, sizeof(k[n].name), "%s", it->clocks[i].name);
		k[n].due = it->clocks[i].due;
		k[n].running = it->clocks[i].stopped_at == 0 && it->clocks[i].paused_at == 0;
	}
	s->item = it;
	s->steps = 0;
	return ladder_item(s, k, n, f->mark, &next);
}

int
notify_fanout(struct db_conn *c, const struct notify_config *cfg, const struct sla_calendar *cal,
              int64_t now, struct notify_scan_stats *stats)
{
	struct db_ladder_fanout *rows = NULL;
	struct db_account *acc = NULL;
	struct notify_staff ns;
	struct scan s;
	struct db_item item;
	size_t nacc = 0, n, i;
	int rc = -1, r;

	memset(&ns, 0, sizeof(ns));
	ns.c = c;
	ns.cfg = cfg;
	ns.cal = cal;
	ns.now = now;
	memset(&s, 0, sizeof(s));
	s.ns = &ns;
	rows = malloc(FAN_BATCH * sizeof(*rows));
	if (rows == NULL)
		return -1;
	for (;;) {
		if (db_begin(c) != 0)
			goto out;
		if (db_ladder_fanouts(c, rows, FAN_BATCH, &n) != 0)
			goto rollback;
		if (n == 0) {
			db_rollback(c);
			break;
		}
		if (acc == NULL && db_account_list(c, &acc, &nacc) != 0)
			goto rollback;
		s.acc = acc;
		s.nacc = nacc;
		for (i = 0; i < n; i++) {
			if (s.c == NULL || s.now != rows[i].at) /* the steps as at the scan's moment */
				scan_init(&s, c, cal, rows[i].at);
			r = db_item_get_id(c, rows[i].item_id, &item);
			if (r < 0)
				goto rollback;
			if (r > 0) { /* an item that is gone is dropped */
				r = fan_item(&s, &item, &rows[i]);
				db_item_free(&item);
				if (r != 0)
					goto rollback;
			}
			if (db_ladder_fanout_done(c, &rows[i]) != 0)
				goto rollback;
		}
		if (db_commit(c) != 0)
			goto out;
		if (n < FAN_BATCH)
			break;
	}
	rc = 0;
	goto out;
rollback:
	notify_log("ladder fan-out: %s", db_errmsg(c));
	db_rollback(c);
out:
	stats->queued += ns.queued;
	stats->missing += ns.missing;
	db_accounts_free(acc, nacc);
	free(rows);
	return rc;
}

int
notify_scan(struct db_conn *c, const struct notify_config *cfg, const struct sla_calendar *cal,
            int64_t now, struct notify_scan_stats *stats)
{
	int rc = notify_scan_steps(c, cal, now, stats);

	/* steps recorded by an earlier scan that stopped before its fan-out go out too */
	if (notify_fanout(c, cfg, cal, now, stats) != 0)
		rc = -1;
	return rc;
}
