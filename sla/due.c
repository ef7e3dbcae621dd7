/* due.c: due instants of clocks, working days left, and resuming a paused clock. */
#include "sla/sla_int.h"

/* A rule's end of day: 0 (a zeroed rule) and anything past 1440 mean the default, 24:00. */
static int
end_of_day(int minutes)
{
	return minutes <= 0 || minutes > 1440 ? 1440 : minutes;
}

int64_t
sla_due(const struct sla_calendar *cal, int64_t start, const struct sla_rule *rule)
{
	sla_day from = sla_local_day(start), day;
	int days = rule->days > 0 ? rule->days : 0;

	if (rule->unit == SLA_CALENDAR_DAYS)
		day = sla_next_working_day(cal, (sla_day)((int64_t)from + days));
	else
		day = sla_add_working_days(cal, from, days);
	return sla_day_end(day, end_of_day(rule->end_minutes));
}

int
sla_days_left(const struct sla_calendar *cal, int64_t due, int64_t now)
{
	sla_day today = sla_local_day(now), due_day = sla_local_day(due);
	int n;

	if (now <= due) {
		n = sla_working_days_between(cal, today, due_day);
		return n > 0 ? n : 0;
	}
	n = sla_working_days_between(cal, due_day, today);
	return n > 1 ? -n : -1;
}

int64_t
sla_resume(const struct sla_calendar *cal, int64_t now, int left, int end_minutes)
{
	sla_day today = sla_local_day(now), day;

	if (left > 0)
		day = sla_add_working_days(cal, today, left);
	else if (left == 0)
		day = sla_next_working_day(cal, today);
	else
		day = sla_nth_working_day(cal, today, left);
	return sla_day_end(day, end_of_day(end_minutes));
}
