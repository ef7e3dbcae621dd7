/*
 * stats.c: the supervision statistics (月排名、季通报、年考评): the facts of each item kept with
 * every change of it (stats_record), and the figures of a period per section with their
 * ranking (stats_compute). Counts come from frozen facts: the first reply's on-time result and
 * its working days are written when the reply is sent and never again, so a later calendar or
 * policy change leaves past periods alone.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core_int.h"

#define PERIOD_DAYS_MAX 3660 /* longest date range asked for */
#define BACKFILL_BATCH 512   /* items given facts per transaction at start */

/* --- periods ------------------------------------------------------------------------------- */

/* Parses exactly `len` decimal digits at s into *v. 0 or -1. */
static int
digits(const char *s, size_t len, int *v)
{
	size_t i;

	*v = 0;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		*v = *v * 10 + (s[i] - '0');
	}
	return 0;
}

/* The first day of month m (1..12) of year y, and of the month after it. */
static sla_day
month_start(int y, int m)
{
	return m > 12 ? sla_ymd(y + 1, m - 12, 1) : sla_ymd(y, m, 1);
}

int
stats_period_parse(const char *s, struct stats_period *out)
{
	struct stats_period p;
	const char *dots;
	size_t len;
	int y, m;

	if (s == NULL)
		return -1;
	len = strlen(s);
	if (len >= sizeof(p.label))
		return -1;
	memset(&p, 0, sizeof(p));
	memcpy(p.label, s, len + 1);
	dots = strstr(s, "..");
	if (dots != NULL) {
		char a[16], b[16];

		if (dots - s != 10 || strlen(dots + 2) != 10)
			return -1;
		memcpy(a, s, 10);
		a[10] = '\0';
		memcpy(b, dots + 2, 11);
		if (sla_date_parse(a, &p.from) != 0 || sla_date_parse(b, &p.to) != 0 ||
		    p.to < p.from || p.to - p.from >= PERIOD_DAYS_MAX)
			return -1;
	} else if (len == 4) {
		if (digits(s, 4, &y) != 0 || y < 1970 || y > 9998)
			return -1;
		p.from = sla_ymd(y, 1, 1);
		p.to = sla_ymd(y + 1, 1, 1) - 1;
	} else if (len == 7 && s[4] == '-' && s[5] == 'Q') {
		if (digits(s, 4, &y) != 0 || y < 1970 || y > 9998 || s[6] < '1' || s[6] > '4')
			return -1;
		m = (s[6] - '1') * 3 + 1;
		p.from = month_start(y, m);
		p.to = month_start(y, m + 3) - 1;
	} else if (len == 7 && s[4] == '-') {
		if (digits(s, 4, &y) != 0 || digits(s + 5, 2, &m) != 0 || y < 1970 || y > 9998 ||
		    m < 1 || m > 12)
			return -1;
		p.from = month_start(y, m);
		p.to = month_start(y, m + 1) - 1;
	} else {
		return -1;
	}
	*out = p;
	return 0;
}

/* --- ranking ------------------------------------------------------------------------------- */

enum criterion { CRIT_ON_TIME, CRIT_SATISFACTION, CRIT_VOLUME, CRIT_COMPLETION, CRIT_SPEED,
	         CRIT__MAX };

static const char *const criteria[CRIT__MAX] = {
    [CRIT_ON_TIME] = "on_time",
    [CRIT_SATISFACTION] = "satisfaction",
    [CRIT_VOLUME] = "volume",
    [CRIT_COMPLETION] = "completion",
    [CRIT_SPEED] = "speed",
};

/* Parses spec into order[] (-1 terminated). 0, or -1 with err. */
static int
rank_parse(const char *spec, int order[CRIT__MAX + 1], char *err, size_t errsize)
{
	const char *p = spec;
	unsigned seen = 0;
	int n = 0, k;

	while (*p != '\0') {
		size_t len = strcspn(p, ",");

		for (k = 0; k < CRIT__MAX; k++)
			if (strlen(criteria[k]) == len && strncmp(p, criteria[k], len) == 0)
				break;
		if (k == CRIT__MAX || (seen & (1u << k))) {
			snprintf(err, errsize,
			         "stats_rank: '%.*s' is %s; the criteria are on_time, satisfaction, "
			         "volume, completion, speed, each at most once",
			         (int)(len > 32 ? 32 : len), p, k == CRIT__MAX ? "unknown" : "repeated");
			return -1;
		}
		seen |= 1u << k;
		order[n++] = k;
		p += len;
		if (*p == ',')
			p++;
	}
	if (n == 0) {
		snprintf(err, errsize, "stats_rank: at least one criterion is needed");
		return -1;
	}
	order[n] = -1;
	return 0;
}

int
stats_rank_check(const char *spec, char *err, size_t errsize)
{
	int order[CRIT__MAX + 1];

	return rank_parse(spec, order, err, errsize);
}

/* The value of criterion k for s, larger is better; a missing rate sorts last. */
static double
crit_value(const struct stats_section *s, int k)
{
	switch (k) {
	case CRIT_ON_TIME:
		return s->on_time_rate;
	case CRIT_SATISFACTION:
		return s->satisfaction_rate;
	case CRIT_VOLUME:
		return (double)s->n.replied;
	case CRIT_COMPLETION:
		return s->completion_rate;
	case CRIT_SPEED:
		return s->avg_wd < 0 ? -1e300 : -s->avg_wd;
	default:
		return 0;
	}
}

/* Compares two sections by the criteria: < 0 when a ranks before b, 0 when they tie. */
static int
rank_cmp(const struct stats_section *a, const struct stats_section *b, const int *order)
{
	int i;

	for (i = 0; order[i] >= 0; i++) {
		double x = crit_value(a, order[i]), y = crit_value(b, order[i]);

		if (x > y)
			return -1;
		if (x < y)
			return 1;
	}
	return 0;
}

/* Insertion sort (a bureau has tens of sections), ties ordered by name. */
static void
rank_sort(struct stats_section *v, size_t n, const int *order)
{
	size_t i, j;

	for (i = 1; i < n; i++) {
		struct stats_section t = v[i];

		for (j = i; j > 0; j--) {
			int c = rank_cmp(&v[j - 1], &t, order);

			if (c < 0 || (c == 0 && strcmp(v[j - 1].name, t.name) <= 0))
				break;
			v[j] = v[j - 1];
		}
		v[j] = t;
	}
	for (i = 0; i < n; i++)
		v[i].rank = i > 0 && rank_cmp(&v[i - 1], &v[i], order) == 0 ? v[i - 1].rank
		                                                             : (int)i + 1;
}

/* --- facts --------------------------------------------------------------------------------- */

/* 1 if an item in state s has ended (no longer open), else 0. */
static int
state_ended(enum wf_state s)
{
	return s == WF_REPLIED || s == WF_CLOSED || s == WF_REJECTED || s == WF_MERGED;
}

/* The reply clock of item (lent), or NULL. */
static const struct db_clock *
reply_clock(const struct db_item *item)
{
	size_t i;

	for (i = 0; i < item->nclocks; i++)
		if (strcmp(item->clocks[i].name, "reply") == 0)
			return &item->clocks[i];
	return NULL;
}

/* The stats_daily changes of one stats_record, merged per (section, day) before they are
 * written: a submission's "received" and "open" land on the same row, and an action's old and
 * new contributions (sign -1 and +1) mostly cancel out, so one UPSERT per distinct row that
 * changes instead of one per field (issue 20: the writer ran three per submission). */
#define DAY_DELTAS_MAX 32

struct day_delta {
	int64_t section_id;
	int32_t day;
	struct db_stats_delta d;
};

/* A change of the items of one section due on one day and first replied on another (stats_due),
 * merged like the day's. */
struct due_delta {
	int64_t section_id;
	int32_t due_day, replied_day; /* replied_day -1: not replied */
	int n;
};

struct day_deltas {
	struct day_delta v[DAY_DELTAS_MAX];
	size_t n;
	struct due_delta due[DAY_DELTAS_MAX];
	size_t ndue;
};

/* 1 if d changes nothing. */
static int
delta_zero(const struct db_stats_delta *d)
{
	static const struct db_stats_delta zero;

	return memcmp(d, &zero, sizeof(zero)) == 0;
}

/* Writes the merged changes that are not zero and empties acc. 0 or -1. */
static int
deltas_flush(struct db_conn *c, struct day_deltas *acc)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < acc->n && rc == 0; i++)
		if (!delta_zero(&acc->v[i].d))
			rc = db_stats_daily_add(c, acc->v[i].section_id, acc->v[i].day, &acc->v[i].d);
	for (i = 0; i < acc->ndue && rc == 0; i++)
		if (acc->due[i].n != 0)
			rc = db_stats_due_add(c, acc->due[i].section_id, acc->due[i].due_day,
			                      acc->due[i].replied_day, acc->due[i].n);
	acc->n = 0;
	acc->ndue = 0;
	return rc;
}

/* Adds n to the items of section_id due on due_day and replied on replied_day, in acc. 0 or -1
 * (a full acc is written out first). */
static int
due_add(struct db_conn *c, struct day_deltas *acc, int64_t section_id, int32_t due_day,
        int32_t replied_day, int n)
{
	struct due_delta *e = NULL;
	size_t i;

	for (i = 0; i < acc->ndue && e == NULL; i++)
		if (acc->due[i].section_id == section_id && acc->due[i].due_day == due_day &&
		    acc->due[i].replied_day == replied_day)
			e = &acc->due[i];
	if (e == NULL) {
		if (acc->ndue == DAY_DELTAS_MAX && deltas_flush(c, acc) != 0)
			return -1;
		e = &acc->due[acc->ndue++];
		e->section_id = section_id;
		e->due_day = due_day;
		e->replied_day = replied_day;
		e->n = 0;
	}
	e->n += n;
	return 0;
}

/* Adds v to one field of the summary of section_id on the local day `day`, in acc. 0 or -1
 * (a full acc is written out first). */
static int
deltas_add(struct db_conn *c, struct day_deltas *acc, int64_t section_id, int32_t day,
           size_t field, int v)
{
	struct day_delta *e = NULL;
	size_t i;

	for (i = 0; i < acc->n && e == NULL; i++)
		if (acc->v[i].section_id == section_id && acc->v[i].day == day)
			e = &acc->v[i];
	if (e == NULL) {
		if (acc->n == DAY_DELTAS_MAX && deltas_flush(c, acc) != 0)
			return -1;
		e = &acc->v[acc->n++];
		memset(e, 0, sizeof(*e));
		e->section_id = section_id;
		e->day = day;
	}
	*(int *)((char *)&e->d + field) += v;
	return 0;
}

/* Adds sign times one field of the summary of the facts' section on the day of instant t. */
static int
add_one(struct db_conn *c, struct day_deltas *acc, const struct db_fact *f, int64_t t,
        size_t field, int v)
{
	return deltas_add(c, acc, f->section_id, sla_local_day(t), field, v);
}

#define D(x) offsetof(struct db_stats_delta, x)

/* Adds sign times the per-day contributions of the facts f (stats_daily through acc,
 * stats_wd): its events
 * on their days, its reply due day (by the day of its first reply), and its open and overdue
 * changes. The item is open from its receipt to its first end, and again from its reopening to
 * its last end; it is overdue in each of these two stretches from that stretch's reply due time
 * on (first_due for the first one). 0 or -1. */
static int
apply_deltas(struct db_conn *c, struct day_deltas *acc, const struct db_fact *f, int sign)
{
	int64_t a, b, due;
	int rc = 0;

	rc |= add_one(c, acc, f, f->received, D(received), sign);
	if (f->accepted != 0)
		rc |= add_one(c, acc, f, f->accepted, D(accepted), sign);
	if (f->replied_at != 0) {
		int32_t day = sla_local_day(f->replied_at);

		rc |= deltas_add(c, acc, f->section_id, day, D(replied), sign);
		rc |= deltas_add(c, acc, f->section_id, day,
		                 strcmp(f->reply_result, "late") == 0 ? D(late) : D(on_time), sign);
		if (f->reply_wd > 0)
			rc |= deltas_add(c, acc, f->section_id, day, D(wd_sum), sign * f->reply_wd);
		if (f->reply_wd >= 0)
			rc |= db_stats_wd_add(c, f->section_id, day, f->reply_wd, sign);
	}
	if (f->supervised != 0)
		rc |= add_one(c, acc, f, f->supervised, D(supervised), sign);
	/* counted on the day its first reply was due: a reopening does not move it */
	due = f->first_due != 0 ? f->first_due : f->reply_due;
	if (due != 0)
		rc |= due_add(c, acc, f->section_id, sla_local_day(due),
		              f->replied_at != 0 ? sla_local_day(f->replied_at) : -1, sign);
	if (f->first_end != 0 && strcmp(f->outcome, "rejected") == 0)
		rc |= add_one(c, acc, f, f->first_end, D(rejected), sign);
	else if (f->first_end != 0 && strcmp(f->outcome, "merged") == 0)
		rc |= add_one(c, acc, f, f->first_end, D(merged), sign);
	else if (f->first_end != 0 && strcmp(f->outcome, "closed") == 0)
		rc |= add_one(c, acc, f, f->first_end, D(closed), sign);
	if (f->reopened != 0 && f->first_end != 0) {
		rc |= add_one(c, acc, f, f->received, D(open), sign);
		rc |= add_one(c, acc, f, f->first_end, D(open), -sign);
		if (f->first_due != 0 && f->first_due < f->first_end) {
			rc |= add_one(c, acc, f, f->first_due > f->received ? f->first_due : f->received,
			              D(overdue), sign);
			rc |= add_one(c, acc, f, f->first_end, D(overdue), -sign);
		}
		a = f->reopened;
	} else {
		a = f->received;
	}
	b = f->ended; /* 0: still open */
	rc |= add_one(c, acc, f, a, D(open), sign);
	if (b != 0)
		rc |= add_one(c, acc, f, b, D(open), -sign);
	if (f->reply_due != 0 && (b == 0 || f->reply_due < b)) {
		rc |= add_one(c, acc, f, f->reply_due > a ? f->reply_due : a, D(overdue), sign);
		if (b != 0)
			rc |= add_one(c, acc, f, b, D(overdue), -sign);
	}
	return rc == 0 ? 0 : -1;
}

/* 1 if two facts contribute differently to the summary. */
static int
deltas_differ(const struct db_fact *x, const struct db_fact *y)
{
	return x->section_id != y->section_id || x->received != y->received ||
	       x->accepted != y->accepted || x->first_end != y->first_end ||
	       x->reopened != y->reopened || x->ended != y->ended || x->reply_due != y->reply_due ||
	       x->replied_at != y->replied_at || x->reply_wd != y->reply_wd ||
	       x->supervised != y->supervised || x->first_due != y->first_due ||
	       strcmp(x->outcome, y->outcome) != 0 || strcmp(x->reply_result, y->reply_result) != 0;
}

/* The statistics' changes of the submissions of one batch of the group-commit writer: every
 * submission adds to the same two or three summary rows (the day's received and open, the due
 * day's overdue and stats_due), which are written once per batch (stats_batch_end) instead of
 * three UPSERTs per submission (issue 20: 8 % of a submission's instructions), and the new
 * items' facts, written in one statement at the end too. */
struct stats_batch {
	int gathering; /* 1 between begin and end of an unguarded batch */
	struct day_deltas acc;
	struct db_fact *facts; /* the batch's facts, for db_facts_put */
	size_t nfacts, cap;
};

#define BATCH_FACTS_MAX 1024 /* facts a batch gathers: beyond, each is written at once */

/* Keeps f for the batch's end: 0, or -1 (out of memory). */
static int
batch_fact(struct stats_batch *b, const struct db_fact *f)
{
	if (b->nfacts == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 16;
		struct db_fact *v = realloc(b->facts, cap * sizeof(*v));

		if (v == NULL)
			return -1;
		b->facts = v;
		b->cap = cap;
	}
	b->facts[b->nfacts++] = *f;
	return 0;
}

/* stats_record; with `batch` (gathering), the summary's changes and the facts are added to it
 * (written by stats_batch_end), else written before it returns. */
static int
record(struct app *app, struct db_conn *c, const struct db_item *item, const char *action,
       int64_t at, struct stats_batch *batch)
{
	struct day_deltas *into = batch != NULL ? &batch->acc : NULL;
	const struct db_clock *k = reply_clock(item);
	struct db_fact old, f;
	int have;

	/* a submission's item was inserted in this transaction: it has no facts yet */
	have = action != NULL && strcmp(action, "submit") == 0 ? 0 : db_fact_get(c, item->id, &old);
	if (have < 0)
		return -1;
	if (have == 0) {
		memset(&old, 0, sizeof(old));
		old.item_id = item->id;
		old.reply_wd = -1;
	}
	f = old;
	f.section_id = item->section_id;
	f.received = item->received;
	if (action != NULL && strcmp(action, "accept") == 0 && f.accepted == 0)
		f.accepted = at;
	if (action != NULL && strcmp(action, "supervise") == 0 && f.supervised == 0)
		f.supervised = at;
	if (action != NULL && strcmp(action, "forward") == 0 && have && old.section_id != 0 &&
	    old.section_id != item->section_id &&
	    db_stats_forward_add(c, item->id, at, old.section_id, item->section_id) != 0)
		return -1;
	if (!state_ended(item->state)) {
		if (f.ended != 0) { /* reopened (重办) */
			f.ended = 0;
			f.reopened = at;
		}
		f.reply_due = k != NULL ? k->due : 0;
	} else if (f.ended == 0) {
		f.ended = at;
		if (f.first_end == 0) {
			f.first_end = at;
			f.first_due = k != NULL ? k->due : 0;
			if (item->state == WF_REJECTED || item->state == WF_MERGED)
				snprintf(f.outcome, sizeof(f.outcome), "%s", wf_state_name(item->state));
			else
				snprintf(f.outcome, sizeof(f.outcome), "%s",
				         item->replied_at != 0 ? "replied" : "closed");
		}
		f.reply_due = k != NULL ? k->due : 0;
	}
	/* a merged item's reply is its target's, answered by the target's section: it counts as
	 * merged (live facts never saw it; a backfill must not count it replied either) */
	if (item->replied_at != 0 && f.replied_at == 0 && item->state != WF_MERGED) {
		struct sla_calendar *cal = app_calendar(app);

		f.replied_at = item->replied_at;
		if (k != NULL && k->result[0] != '\0')
			snprintf(f.reply_result, sizeof(f.reply_result), "%s", k->result);
		else if (k != NULL)
			snprintf(f.reply_result, sizeof(f.reply_result), "%s",
			         (k->stopped_at != 0 ? k->stopped_at : item->replied_at) > k->due &&
			                 k->due != 0 ?
			             "late" :
			             "on_time");
		f.reply_wd = sla_working_days_between(cal, sla_local_day(item->received),
		                                      sla_local_day(item->replied_at));
		if (f.reply_wd < 0)
			f.reply_wd = 0;
		sla_calendar_unref(cal);
	}
	if (into != NULL && (!have || deltas_differ(&old, &f))) {
		if ((have && apply_deltas(c, into, &old, -1) != 0) || apply_deltas(c, into, &f, 1) != 0)
			return -1;
	} else if (!have || deltas_differ(&old, &f)) {
		struct day_deltas acc;

		acc.n = 0;
		acc.ndue = 0;
		if ((have && apply_deltas(c, &acc, &old, -1) != 0) ||
		    apply_deltas(c, &acc, &f, 1) != 0 || deltas_flush(c, &acc) != 0)
			return -1;
	}
	return batch != NULL && batch->nfacts < BATCH_FACTS_MAX ? batch_fact(batch, &f) :
	                                                        db_fact_put(c, &f);
}

int
stats_record(struct app *app, struct db_conn *c, const struct db_item *item, const char *action,
             int64_t at)
{
	return record(app, c, item, action, at, NULL);
}

struct stats_batch *
stats_batch_new(void)
{
	return calloc(1, sizeof(struct stats_batch));
}

void
stats_batch_free(struct stats_batch *b)
{
	if (b != NULL)
		free(b->facts);
	free(b);
}

void
stats_batch_begin(void *cls, int guarded)
{
	struct stats_batch *b = cls;

	b->gathering = !guarded;
	b->acc.n = 0;
	b->acc.ndue = 0;
	b->nfacts = 0;
}

int
stats_batch_end(void *cls, struct db_conn *c)
{
	struct stats_batch *b = cls;
	int rc = 0;

	if (b->gathering &&
	    (db_facts_put(c, b->facts, b->nfacts) != 0 || deltas_flush(c, &b->acc) != 0))
		rc = -1;
	b->gathering = 0;
	b->nfacts = 0;
	return rc;
}

int
stats_record_batched(struct app *app, struct db_conn *c, const struct db_item *item,
                     const char *action, int64_t at)
{
	struct stats_batch *b = app->submit_stats;

	return record(app, c, item, action, at, b != NULL && b->gathering ? b : NULL);
}

int
stats_backfill(struct app *app)
{
	struct db_conn *c = NULL;
	int64_t ids[BACKFILL_BATCH], last = 0;
	size_t n = 0, i, total = 0;
	char err[256];
	int ret = -1;

	if (stats_rank_check(app->cfg.stats_rank, err, sizeof(err)) != 0) {
		fprintf(stderr, "civicdesk: configuration: %s\n", err);
		return -1;
	}
	c = db_acquire(app->db);
	/* items up to `last` were looked at by an earlier start (schema 016): a look-up in
	 * item_facts for each of a million items took a second at every start */
	if (c == NULL || db_fact_checked(c, &last) != 0)
		goto out;
	/* a read first: a database whose facts are complete (after its first start) needs no
	 * write; the mark moves on when that costs no wait (another writer: next time) */
	if (db_fact_missing(c, last, ids, 1, &n) != 0)
		goto out;
	if (n == 0) {
		db_fact_checked_advance(c);
		ret = 0;
		goto out;
	}
	for (;;) {
		if (db_begin(c) != 0)
			goto out;
		if (db_fact_missing(c, last, ids, BACKFILL_BATCH, &n) != 0)
			goto fail;
		for (i = 0; i < n; i++) {
			struct db_item item;
			int64_t at;

			if (db_item_get_id(c, ids[i], &item) != 1)
				goto fail;
			/* an item that ended before: its end is its reply, else its last change */
			at = item.replied_at != 0 ? item.replied_at : item.updated;
			if (!state_ended(item.state))
				at = item.updated;
			if (stats_record(app, c, &item, NULL, at) != 0) {
				db_item_free(&item);
				goto fail;
			}
			db_item_free(&item);
			last = ids[i];
		}
		if (n < BACKFILL_BATCH && db_fact_checked_set(c, INT64_MAX) != 0)
			goto fail;
		if (db_commit(c) != 0)
			goto out;
		total += n;
		if (n < BACKFILL_BATCH)
			break;
	}
	if (total > 0)
		log_info("statistics: facts recorded for %zu earlier items", total);
	ret = 0;
	goto out;
fail:
	db_rollback(c);
out:
	if (ret != 0)
		fprintf(stderr, "civicdesk: the statistics' facts cannot be recorded\n");
	if (c != NULL)
		db_release(app->db, c);
	return ret;
}

/* --- figures ------------------------------------------------------------------------------- */

static double
rate(int64_t num, int64_t den)
{
	return den > 0 ? (double)num / (double)den : -1;
}

/* Mean and 90th percentile (nearest rank) of the working days of section_id in wd[0..n). */
static void
wd_figures(const struct db_stats_wd *wd, size_t n, int64_t section_id, double *avg, double *p90)
{
	int64_t count = 0, sum = 0, seen = 0, rank;
	size_t i;

	*avg = *p90 = -1;
	for (i = 0; i < n; i++)
		if (wd[i].section_id == section_id) {
			count += wd[i].n;
			sum += wd[i].n * wd[i].wd;
		}
	if (count == 0)
		return;
	*avg = (double)sum / (double)count;
	rank = (count * 9 + 9) / 10; /* ceil(0.9 * count) */
	for (i = 0; i < n; i++)
		if (wd[i].section_id == section_id) {
			seen += wd[i].n;
			if (seen >= rank) {
				*p90 = wd[i].wd;
				return;
			}
		}
}

/* Fills the rates of s from its counts and the working days. */
static void
figures(struct stats_section *s, const struct db_stats_wd *wd, size_t nwd)
{
	s->on_time_rate = rate(s->n.on_time, s->n.replied);
	s->completion_rate = rate(s->n.due_replied, s->n.due);
	s->satisfaction_rate = rate(s->n.satisfied + s->n.basically_satisfied, s->n.rated);
	wd_figures(wd, nwd, s->section_id, &s->avg_wd, &s->p90_wd);
}

int
stats_compute(struct app *app, struct db_conn *c, const struct stats_period *p,
              int64_t only_section, int64_t now, struct stats_report *out,
              struct core_error *err)
{
	struct db_stats_row *rows = NULL;
	struct db_stats_wd *wd = NULL;
	struct db_section *secs = NULL;
	struct stats_report r;
	size_t nrows = 0, nwd = 0, nsecs = 0, i, j;
	int order[CRIT__MAX + 1];
	char msg[256];
	sla_day today = sla_local_day(now);
	int ret = -1;

	memset(&r, 0, sizeof(r));
	r.period = *p;
	r.only_section = only_section;
	r.end_day = p->to < today ? p->to : today;
	if (rank_parse(app->cfg.stats_rank, order, msg, sizeof(msg)) != 0)
		return core_fail(err, CORE_ERROR, NULL, "%s", msg);
	if (db_stats_period(c, sla_day_end(p->from, 0), sla_day_end(p->to + 1, 0), p->from, p->to,
	                    r.end_day, only_section, &rows, &nrows, &wd, &nwd) != 0 ||
	    db_section_list(c, &secs, &nsecs) != 0) {
		core_fail(err, CORE_ERROR, NULL, "the statistics cannot be read");
		goto out;
	}
	r.sections = calloc(nsecs > 0 ? nsecs : 1, sizeof(*r.sections));
	if (r.sections == NULL) {
		core_fail(err, CORE_ERROR, NULL, "out of memory");
		goto out;
	}
	for (i = 0; i < nrows; i++)
		if (rows[i].section_id == 0)
			r.unassigned = rows[i];
	for (i = 0; i < nsecs; i++) {
		struct stats_section *s;
		const struct db_stats_row *row = NULL;

		if (only_section != 0 && secs[i].id != only_section)
			continue;
		for (j = 0; j < nrows; j++)
			if (rows[j].section_id == secs[i].id)
				row = &rows[j];
		/* a retired section is listed only with something to count */
		if (!secs[i].active && row == NULL)
			continue;
		s = &r.sections[r.n];
		s->section_id = secs[i].id;
		s->name = strdup(secs[i].name);
		if (s->name == NULL) {
			core_fail(err, CORE_ERROR, NULL, "out of memory");
			goto out;
		}
		r.n++;
		if (row != NULL)
			s->n = *row;
		s->n.section_id = secs[i].id;
		figures(s, wd, nwd);
	}
	rank_sort(r.sections, r.n, order);
	*out = r;
	memset(&r, 0, sizeof(r));
	ret = 0;
out:
	stats_report_free(&r);
	free(rows);
	free(wd);
	db_sections_free(secs, nsecs);
	return ret;
}

void
stats_report_free(struct stats_report *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->n; i++)
		free(r->sections[i].name);
	free(r->sections);
	memset(r, 0, sizeof(*r));
}

/* --- CSV ----------------------------------------------------------------------------------- */

/* Appends printf output to the growing buffer *b (len, cap). 0 or -1. */
static int __attribute__((format(printf, 4, 5)))
buf_add(char **b, size_t *len, size_t *cap, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(*b + *len, *cap - *len, fmt, ap);
		va_end(ap);
		if (n < 0)
			return -1;
		if ((size_t)n < *cap - *len) {
			*len += (size_t)n;
			return 0;
		}
		{
			size_t ncap = *cap * 2 + (size_t)n;
			char *nb = realloc(*b, ncap);

			if (nb == NULL)
				return -1;
			*b = nb;
			*cap = ncap;
		}
	}
}

/* A rate as "0.8333", or "" when missing. */
static void
rate_text(double v, char buf[16])
{
	if (v < 0)
		buf[0] = '\0';
	else
		snprintf(buf, 16, "%.4f", v);
}

char *
stats_csv_new(const struct stats_report *r)
{
	char from[16], to[16], *b = malloc(1024), ot[16], cr[16], sr[16], avg[16], p90[16];
	size_t len = 0, cap = 1024, i, k;

	if (b == NULL)
		return NULL;
	b[0] = '\0';
	sla_date_format(r->period.from, from);
	sla_date_format(r->period.to, to);
	/* the UTF-8 byte order mark first: Excel on a Chinese Windows reads a CSV without it as
	 * GBK and garbles every section name */
	if (buf_add(&b, &len, &cap,
	            "\xEF\xBB\xBF"
	            "period,from,to,section,rank,received,accepted,forwarded,replied,"
	            "replied_on_time,replied_late,open,overdue,rejected,merged,due,due_replied,"
	            "on_time_rate,completion_rate,ratings,satisfied,basically_satisfied,unsatisfied,"
	            "satisfaction_rate,followup_open,reopened,supervised,"
	            "avg_working_days_to_reply,p90_working_days_to_reply\r\n") != 0)
		goto fail;
	for (i = 0; i < r->n; i++) {
		const struct stats_section *s = &r->sections[i];
		const struct db_stats_row *n = &s->n;

		rate_text(s->on_time_rate, ot);
		rate_text(s->completion_rate, cr);
		rate_text(s->satisfaction_rate, sr);
		if (s->avg_wd < 0)
			avg[0] = p90[0] = '\0';
		else {
			snprintf(avg, sizeof(avg), "%.2f", s->avg_wd);
			snprintf(p90, sizeof(p90), "%.0f", s->p90_wd);
		}
		if (buf_add(&b, &len, &cap, "%s,%s,%s,\"", r->period.label, from, to) != 0)
			goto fail;
		for (k = 0; s->name[k] != '\0'; k++)
			if (buf_add(&b, &len, &cap, s->name[k] == '"' ? "\"\"" : "%c", s->name[k]) != 0)
				goto fail;
		if (buf_add(&b, &len, &cap,
		            "\",%d,%lld,%lld,%lld,%lld,%lld,%lld,%lld,%lld,%lld,%lld,%lld,%lld,%s,%s,"
		            "%lld,%lld,%lld,%lld,%s,%lld,%lld,%lld,%s,%s\r\n",
		            s->rank, (long long)n->received, (long long)n->accepted,
		            (long long)n->forwarded, (long long)n->replied, (long long)n->on_time,
		            (long long)n->late, (long long)n->open, (long long)n->overdue,
		            (long long)n->rejected, (long long)n->merged, (long long)n->due,
		            (long long)n->due_replied, ot, cr, (long long)n->rated,
		            (long long)n->satisfied, (long long)n->basically_satisfied,
		            (long long)n->unsatisfied, sr, (long long)n->followup_open,
		            (long long)n->reopened, (long long)n->supervised, avg, p90) != 0)
			goto fail;
	}
	/* the items no section holds yet, as `civicdesk stats` prints them and the JSON's
	 * "unassigned" counts them: the same five figures, the rest (which need a section) empty */
	if (r->only_section == 0 &&
	    buf_add(&b, &len, &cap,
	            "%s,%s,%s,\"" STATS_NO_SECTION "\",,%lld,,,,,,%lld,%lld,%lld,%lld,,,,,,,,,,,,,,\r\n",
	            r->period.label, from, to, (long long)r->unassigned.received,
	            (long long)r->unassigned.open, (long long)r->unassigned.overdue,
	            (long long)r->unassigned.rejected, (long long)r->unassigned.merged) != 0)
		goto fail;
	return b;
fail:
	free(b);
	return NULL;
}
