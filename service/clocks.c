/* clocks.c: the legal clocks of an item — start, stop, pause, resume, restart — and their JSON. */
#include <stdio.h>
#include <string.h>

#include "service.h"

#define EXPLAIN_MAX 32 /* overrides listed in one explanation */

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
	snprintf(k->unit, sizeof(k->unit), "%s", unit_name(rule->unit));
	k->end_minutes =
	    rule->end_minutes > 0 && rule->end_minutes <= 1440 ? rule->end_minutes : 1440;
	k->due = sla_due(cal, at, rule);
	k->paused_at = 0;
	k->remaining = 0;
	k->stopped_at = 0;
	k->provisional = provisional(cal, at, k->due);
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
		snprintf(k->name, sizeof(k->name), "%s", clock_label(name));
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
	k->provisional = provisional(cal, at, k->due);
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

json_t *
json_time(int64_t t)
{
	char buf[40];

	if (t == 0)
		return json_null();
	sla_format_local(t, buf, sizeof(buf));
	return json_string(buf);
}

/* The holidays and make-up working days between the clock's start and its due date. */
static json_t *
explanation(const struct db_clock *k, const struct sla_calendar *cal)
{
	struct sla_override ov[EXPLAIN_MAX];
	json_t *a = json_array();
	size_t n, i;
	char date[11];

	if (a == NULL || k->due == 0)
		return a;
	n = sla_explain(cal, sla_local_day(k->started), sla_local_day(k->due), ov, EXPLAIN_MAX);
	if (n > EXPLAIN_MAX)
		n = EXPLAIN_MAX;
	for (i = 0; i < n; i++) {
		sla_date_format(ov[i].day, date);
		json_array_append_new(a, json_pack("{s:s, s:s, s:s}", "date", date, "kind",
		                                   ov[i].kind == SLA_WORK ? "work" : "off", "name",
		                                   ov[i].name ? ov[i].name : ""));
	}
	return a;
}

static json_t *
clock_json(const struct db_clock *k, const struct sla_calendar *cal, int64_t now)
{
	const char *state;
	json_t *left, *o;
	int overdue;

	if (k->stopped_at != 0) {
		state = "stopped";
		left = json_null();
		/* stopped while paused: no due time, the days it had left tell */
		overdue =
		    k->due != 0 ? k->stopped_at > k->due : k->paused_at != 0 && k->remaining < 0;
	} else if (k->paused_at != 0) {
		state = "paused";
		left = json_integer(k->remaining);
		overdue = k->remaining < 0;
	} else {
		state = "running";
		left = json_integer(sla_days_left(cal, k->due, now));
		overdue = now > k->due;
	}
	o = json_pack("{s:o, s:i, s:s, s:o, s:o, s:b, s:s, s:b, s:o, s:o}", "due",
	              json_time(k->due), "days", k->days, "unit",
	              k->unit[0] ? k->unit : "working_days", "started", json_time(k->started),
	              "working_days_left", left, "overdue", overdue, "state", state, "provisional",
	              k->provisional != 0, "explanation", explanation(k, cal), "result",
	              k->result[0] ? json_string(k->result) : json_null());
	if (o != NULL && k->stopped_at != 0)
		json_object_set_new(o, "stopped", json_time(k->stopped_at));
	if (o != NULL && k->paused_at != 0)
		json_object_set_new(o, "paused", json_time(k->paused_at));
	return o;
}

json_t *
clocks_json(const struct db_item *item, const struct sla_calendar *cal, int64_t now)
{
	json_t *o = json_object();
	size_t i;

	if (o == NULL)
		return NULL;
	for (i = 0; i < item->nclocks; i++)
		json_object_set_new(o, item->clocks[i].name,
		                    clock_json(&item->clocks[i], cal, now));
	return o;
}
