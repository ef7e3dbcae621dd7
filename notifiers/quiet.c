/* quiet.c: SMS quiet hours — a daily window and, optionally, the calendar's rest days. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "notifiers.h"

#define QUIET_SEARCH_DAYS 60 /* longer than any holiday block */

/* Reads "HH:MM" (00:00 to 24:00) at s; writes minutes. 0 or -1. */
static int
parse_hhmm(const char *s, int *minutes)
{
	int h, m;

	if (strlen(s) < 5 || s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9' || s[2] != ':' ||
	    s[3] < '0' || s[3] > '5' || s[4] < '0' || s[4] > '9')
		return -1;
	h = (s[0] - '0') * 10 + (s[1] - '0');
	m = (s[3] - '0') * 10 + (s[4] - '0');
	if (h > 24 || (h == 24 && m != 0))
		return -1;
	*minutes = h * 60 + m;
	return 0;
}

int
notify_quiet_parse(const char *s, struct notify_quiet *out, char *err, size_t errsize)
{
	struct notify_quiet q = {0, 0, 0, 0};
	const char *p = s;

	if (s == NULL || strcasecmp(s, "off") == 0) { /* OFF, Off: a word in any case */
		q.off = 1;
		*out = q;
		return 0;
	}
	while (*p == ' ')
		p++;
	if (*p >= '0' && *p <= '9') {
		if (parse_hhmm(p, &q.from) != 0 || p[5] != '-' || parse_hhmm(p + 6, &q.to) != 0)
			goto bad;
		p += 11;
	}
	while (*p == ' ')
		p++;
	if (strncasecmp(p, "rest-days", 9) == 0) {
		q.rest_days = 1;
		p += 9;
	}
	while (*p == ' ')
		p++;
	if (*p != '\0' || (q.from == q.to && !q.rest_days))
		goto bad;
	*out = q;
	return 0;
bad:
	snprintf(err, errsize,
	         "sms_quiet: '%s' is not quiet hours: give \"HH:MM-HH:MM\", "
	         "\"HH:MM-HH:MM rest-days\", \"rest-days\" or \"off\"",
	         s);
	return -1;
}

/* The first minute of day d (a day that is not wholly quiet) at or after minute `from` that
 * lies outside the daily window, or -1 when there is none that day. */
static int
first_allowed(const struct notify_quiet *q, int from)
{
	if (q->from == q->to)
		return from < 1440 ? from : -1;
	if (q->from > q->to) { /* overnight window: allowed [to, from) */
		if (from < q->to)
			from = q->to;
		return from < q->from ? from : -1;
	}
	/* window inside the day: allowed [0, from) and [to, 1440) */
	if (from < q->from)
		return from;
	if (from < q->to)
		from = q->to;
	return from < 1440 ? from : -1;
}

int64_t
notify_quiet_next(const struct notify_quiet *q, const struct sla_calendar *cal, int64_t t)
{
	sla_day today = sla_local_day(t), d;
	int64_t midnight = sla_day_end(today, 0);
	int minute = (int)((t - midnight) / 60), m, i;

	if (q->off)
		return t;
	for (i = 0; i < QUIET_SEARCH_DAYS; i++) {
		d = today + i;
		if (q->rest_days && !sla_is_working_day(cal, d))
			continue;
		m = first_allowed(q, i == 0 ? minute : 0);
		if (m < 0)
			continue;
		if (i == 0 && m == minute)
			return t; /* allowed now */
		return sla_day_end(d, m);
	}
	return t; /* never allowed within the search: do not hold SMS forever */
}
