/* zone.c: the process time zone, and conversions between instants and local civil dates. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sla/sla_int.h"

#define ZONE_MAX 128 /* longest zone name accepted */

/* 1 if `zone` names a compiled zone file of the system tzdata (TZDIR or /usr/share/zoneinfo). */
static int
zone_known(const char *zone)
{
	const char *dir = getenv("TZDIR");
	char path[512], magic[4];
	size_t i, len = strlen(zone);
	int fd, ok = 0;

	if (len == 0 || len > ZONE_MAX || zone[0] == '/' || strstr(zone, "..") != NULL)
		return 0;
	for (i = 0; i < len; i++) {
		char c = zone[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '/' || c == '_' || c == '-' || c == '+'))
			return 0;
	}
	if (dir == NULL || dir[0] == '\0')
		dir = "/usr/share/zoneinfo";
	if (snprintf(path, sizeof(path), "%s/%s", dir, zone) >= (int)sizeof(path))
		return 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (read(fd, magic, sizeof(magic)) == (ssize_t)sizeof(magic) &&
	    memcmp(magic, "TZif", sizeof(magic)) == 0)
		ok = 1;
	close(fd);
	return ok;
}

int
sla_set_zone(const char *zone)
{
	if (zone == NULL || !zone_known(zone))
		return -1;
	if (setenv("TZ", zone, 1) != 0)
		return -1;
	tzset();
	return 0;
}

static int64_t
floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

sla_day
sla_local_day(int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (localtime_r(&tt, &tm) == NULL)
		return (sla_day)floor_div(t, 86400);
	return sla_ymd(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

/* The instant of local y-m-d h:m:s (mktime normalises times that a transition skips). */
static int64_t
local_instant(sla_day day, int hour, int min, int sec)
{
	struct tm tm;
	time_t t;
	int y, m, d;

	sla_split(day, &y, &m, &d);
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d;
	tm.tm_hour = hour;
	tm.tm_min = min;
	tm.tm_sec = sec;
	tm.tm_isdst = -1;
	t = mktime(&tm); /* (time_t)-1 is also 1969-12-31T23:59:59Z; years 1900..9999 do not fail */
	return (int64_t)t;
}

int64_t
sla_day_end(sla_day day, int minutes)
{
	if (minutes < 0)
		minutes = 0;
	/* One second before the next day starts: where summer time ends at midnight, 23:59:59
	 * comes twice and mktime may pick the first. */
	if (minutes >= 1440 && day < INT32_MAX)
		return local_instant(day + 1, 0, 0, 0) - 1;
	if (minutes >= 1440)
		return local_instant(day, 23, 59, 59);
	return local_instant(day, minutes / 60, minutes % 60, 0);
}

void
sla_format_local(int64_t t, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;
	long off;

	if (size == 0)
		return;
	if (localtime_r(&tt, &tm) == NULL) {
		snprintf(buf, size, "?");
		return;
	}
	off = tm.tm_gmtoff;
	snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d%c%02ld:%02ld", tm.tm_year + 1900,
	         tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, off < 0 ? '-' : '+',
	         labs(off) / 3600, labs(off) / 60 % 60);
}

/* Parses exactly two digits into *v, at most max. */
static int
two_digits(const char *s, int max, int *v)
{
	if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9')
		return -1;
	*v = (s[0] - '0') * 10 + (s[1] - '0');
	return *v <= max ? 0 : -1;
}

int
sla_parse_local(const char *s, int64_t *t)
{
	sla_day day;
	int h = 0, m = 0, sec = 0, oh, om;
	const char *p;
	int64_t off;

	if (s == NULL || strlen(s) < 10 || sla_date_parse_n(s, 10, &day) != 0)
		return -1;
	p = s + 10;
	if (*p == '\0') {
		*t = local_instant(day, 0, 0, 0);
		return 0;
	}
	if (*p != 'T' || two_digits(p + 1, 23, &h) != 0 || p[3] != ':' ||
	    two_digits(p + 4, 59, &m) != 0)
		return -1;
	p += 6;
	if (*p == ':') {
		if (two_digits(p + 1, 59, &sec) != 0)
			return -1;
		p += 3;
	}
	if (*p == '\0') {
		*t = local_instant(day, h, m, sec);
		return 0;
	}
	if (p[0] == 'Z' && p[1] == '\0') {
		off = 0;
	} else if ((p[0] == '+' || p[0] == '-') && two_digits(p + 1, 23, &oh) == 0 && p[3] == ':' &&
	           two_digits(p + 4, 59, &om) == 0 && p[6] == '\0') {
		off = (oh * 60 + om) * 60;
		if (p[0] == '-')
			off = -off;
	} else {
		return -1;
	}
	*t = (int64_t)day * 86400 + h * 3600 + m * 60 + sec - off;
	return 0;
}
