/* clocks.c: the legal clocks of an item — start, stop, pause, resume, restart — and their JSON. */
#include <stdio.h>
#include <string.h>

#include "core_int.h"



struct db_clock *
clock_find(struct db_item *item, enum clock_name name)
{
	const char *label = clock_label(name);
	size_t i;

	for (i = 0; i < item->nclocks; i++)
		if (strcmp(item->clocks[i].name, label) == 0)
			return &item->clocks[i];
	return NULL;
}

static const char *
unit_name(enum sla_unit u)
{
	return u == SLA_CALENDAR_DAYS ? "calendar_days" : "working_days";
}

/* src into dst of size bytes, cut to fit and NUL-terminated (what snprintf "%s" did, without
 * its formatting machinery: two of these per clock of every new item). */
static void
label_copy(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src);

	if (n >= size)
		n = size - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static int
provisional(const struct sla_calendar *cal, int64_t from, int64_t due)
{
	return !sla_calendar_covers(cal, sla_local_day(from), sla_local_day(due));
}

void
clock_restart(struct db_clock *k, const struct sla_calendar *cal, int64_t at,
              const struct sla_rule *rule)
{
	k->started = at;
	k->days = rule->days;
	label_copy(k->unit, sizeof(k->unit), unit_name(rule->unit));
	k->end_minutes =
	    rule->end_minutes > 0 && rule->end_minutes <= 1440 ? rule->end_minutes : 1440;
	k->due = sla_due(cal, at, rule);
	k->paused_at = 0;
	k->remaining = 0;
	k->resumed_at = 0;
	k->stopped_at = 0;
	k->provisional = provisional(cal, at, k->due);
	if (strcmp(k->result, "late") != 0) /* a clock that ran out stays late (#14 point 8) */
		k->result[0] = '\0';
}

struct db_clock *
clock_open(struct db_item *item, enum clock_name name, const struct sla_rule *rule,
           const struct sla_calendar *cal, int64_t at)
{
	struct db_clock *k = clock_find(item, name);

	if (k == NULL) {
		if (item->nclocks == sizeof(item->clocks) / sizeof(item->clocks[0]))
			return NULL;
		k = &item->clocks[item->nclocks++];
		memset(k, 0, sizeof(*k));
		label_copy(k->name, sizeof(k->name), clock_label(name));
	}
	clock_restart(k, cal, at, rule);
	return k;
}

void
clocks_start(struct db_item *item, const struct policy *p, const struct sla_calendar *cal,
             int64_t at)
{
	item->nclocks = 0;
	clock_open(item, CLOCK_FORWARD, &p->forward, cal, at);
	clock_open(item, CLOCK_REPLY, &p->reply, cal, at);
	item->next_due = db_item_next_due(item);
}

void
clock_stop(struct db_clock *k, int64_t at)
{
	if (k->stopped_at != 0)
		return;
	k->stopped_at = at;
}

void
clock_pause(struct db_clock *k, const struct sla_calendar *cal, int64_t at)
{
	if (k->stopped_at != 0 || k->paused_at != 0)
		return;
	k->remaining = sla_days_left(cal, k->due, at);
	k->paused_at = at;
	k->due = 0;
}

void
clock_resume(struct db_clock *k, const struct sla_calendar *cal, int64_t at)
{
	if (k->stopped_at != 0 || k->paused_at == 0)
		return;
	k->due = sla_resume(cal, at, k->remaining, k->end_minutes);
	k->paused_at = 0;
	k->resumed_at = at; /* its due now counts from here (clock_recalc) */
	k->provisional = provisional(cal, at, k->due);
}

struct sla_rule
clock_rule(const struct db_clock *k)
{
	struct sla_rule r;

	r.unit = strcmp(k->unit, "calendar_days") == 0 ? SLA_CALENDAR_DAYS : SLA_WORKING_DAYS;
	r.days = k->days;
	r.end_minutes = k->end_minutes > 0 ? k->end_minutes : 1440;
	return r;
}

/* The due time of k counted on cal as it was first computed: from its start under its own
 * rule, or from the instant it resumed with the working days it had left; the instant it
 * counts from goes to *from. */
static int64_t
due_on(const struct db_clock *k, const struct sla_calendar *cal, int64_t *from)
{
	struct sla_rule r = clock_rule(k);

	if (k->resumed_at != 0) {
		*from = k->resumed_at;
		return sla_resume(cal, k->resumed_at, k->remaining, r.end_minutes);
	}
	*from = k->started;
	return sla_due(cal, k->started, &r);
}

enum clock_recalc
clock_recalc(struct db_clock *k, const struct sla_calendar *old, const struct sla_calendar *cal,
             int64_t now)
{
	int64_t from, due;
	int prov;

	if (k->stopped_at != 0 || k->paused_at != 0 || k->due == 0 || k->result[0] != '\0')
		return CLOCK_RECALC_NONE;
	if (now > k->due) /* it ran out: it stays late, whatever the calendar says now */
		return CLOCK_RECALC_NONE;
	due = due_on(k, cal, &from);
	prov = provisional(cal, from, due);
	if (due == k->due) {
		if (prov == (k->provisional != 0))
			return CLOCK_RECALC_NONE;
		k->provisional = prov;
		return CLOCK_RECALC_CONFIRMED;
	}
	if (old != NULL && due_on(k, old, &from) != k->due)
		return CLOCK_RECALC_LEFT; /* not what its start gives: set otherwise, left alone */
	k->due = due;
	k->provisional = prov;
	return CLOCK_RECALC_MOVED;
}

void
clocks_freeze(struct db_item *item, int64_t now)
{
	size_t i;

	for (i = 0; i < item->nclocks; i++) {
		struct db_clock *k = &item->clocks[i];
		int late;

		if (k->result[0] != '\0')
			continue;
		if (k->paused_at != 0)
			late = k->remaining < 0;
		else
			late = (k->stopped_at != 0 ? k->stopped_at : now) > k->due;
		snprintf(k->result, sizeof(k->result), "%s", late ? "late" : "on_time");
	}
}

