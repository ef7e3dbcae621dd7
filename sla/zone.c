/* zone.c: the process time zone, and conversions between instants and local civil dates. The
 * zone's UTC offsets from 1990 to 2100 are read once from the C library when the zone is set
 * (zone_spans), so that a conversion is a look-up instead of localtime_r (whose glibc parses the
 * zone's rule with sscanf for every instant after the zone's last listed transition: 13% of a
 * queue request, 4% of a submission, issue 20); instants outside that range, and local times
 * within a day of a transition, go to the C library as before. */
#include <ctype.h>
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

/* --- the offset table ---------------------------------------------------------------------- */

#define SPAN_FIRST INT64_C(631152000) /* 1990-01-01T00:00:00Z */
#define SPAN_LAST INT64_C(4102444800) /* 2100-01-01T00:00:00Z: the table covers [FIRST, LAST) */
#define SPAN_STEP                                                                                  \
	INT64_C(604800) /* probes a week apart: two transitions less than a week                   \
	                 * apart that come back to the same offset would be                        \
	                 * missed; tzdata has none since 1990 */
#define SPANS_MAX 1024  /* more transitions than this: no table */

/* The UTC offset in force from `from` until the next span's `from`. */
struct zone_span {
	int64_t from;
	int32_t off; /* seconds east of UTC */
};

/* The process time zone's offsets: written only by sla_set_zone, which changes TZ and must be
 * called before threads start (the same rule as TZ itself); read-only afterwards. n = 0: no
 * table (no zone set, or the C library failed), every conversion asks the C library. */
static struct {
	struct zone_span v[SPANS_MAX];
	size_t n;
} zone_spans;

/* The C library's offset at t into *off: 0, or -1. */
static int
libc_offset(int64_t t, int32_t *off)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (localtime_r(&tt, &tm) == NULL)
		return -1;
	*off = (int32_t)tm.tm_gmtoff;
	return 0;
}

/* Fills zone_spans from the C library for the current TZ (empties it on failure). */
static void
spans_build(void)
{
	int64_t lo, hi, mid, at;
	int32_t cur, o, m;
	size_t n = 0;

	zone_spans.n = 0;
	if (libc_offset(SPAN_FIRST, &cur) != 0)
		return;
	zone_spans.v[n].from = SPAN_FIRST;
	zone_spans.v[n++].off = cur;
	for (lo = SPAN_FIRST; lo < SPAN_LAST - 1;) {
		hi = lo + SPAN_STEP < SPAN_LAST - 1 ? lo + SPAN_STEP : SPAN_LAST - 1;
		if (libc_offset(hi, &o) != 0)
			return;
		if (o == cur) {
			lo = hi;
			continue;
		}
		/* the first instant in (lo, hi] whose offset is not cur */
		while (hi - lo > 1) {
			mid = lo + (hi - lo) / 2;
			if (libc_offset(mid, &m) != 0)
				return;
			if (m == cur)
				lo = mid;
			else
				hi = mid;
		}
		at = hi;
		if (libc_offset(at, &cur) != 0 || n == SPANS_MAX)
			return;
		zone_spans.v[n].from = at;
		zone_spans.v[n++].off = cur;
		lo = at;
	}
	zone_spans.n = n;
}

/* The index of the span that holds t, or -1 if t lies outside the table. */
static long
span_index(int64_t t)
{
	size_t lo = 0, hi = zone_spans.n, mid;

	if (zone_spans.n == 0 || t < SPAN_FIRST || t >= SPAN_LAST)
		return -1;
	while (hi - lo > 1) { /* v[lo].from <= t < v[hi].from (hi = n: the end) */
		mid = lo + (hi - lo) / 2;
		if (zone_spans.v[mid].from <= t)
			lo = mid;
		else
			hi = mid;
	}
	return (long)lo;
}

int
sla_set_zone(const char *zone)
{
	if (zone == NULL || !zone_known(zone))
		return -1;
	if (setenv("TZ", zone, 1) != 0)
		return -1;
	tzset();
	spans_build();
	return 0;
}

static int64_t
floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* The UTC offset at t into *off: 0, or -1 if the C library cannot say. */
static int
offset_at(int64_t t, int32_t *off)
{
	long i = span_index(t);

	if (i >= 0) {
		*off = zone_spans.v[i].off;
		return 0;
	}
	return libc_offset(t, off);
}

sla_day
sla_local_day(int64_t t)
{
	int32_t off;

	if (offset_at(t, &off) != 0)
		return (sla_day)floor_div(t, 86400);
	return (sla_day)floor_div(t + off, 86400);
}

/* The instant of local y-m-d h:m:s (mktime normalises times that a transition skips). */
static int64_t
local_instant(sla_day day, int hour, int min, int sec)
{
	struct tm tm;
	time_t t;
	int y, m, d;
	int64_t local = (int64_t)day * 86400 + hour * 3600 + min * 60 + sec;
	long i = span_index(local - 86400);

	/* no transition within a day either side: one offset, no gap or fold to resolve */
	if (i >= 0 && span_index(local + 86400) == i)
		return local - zone_spans.v[i].off;
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

/* Writes v (0..99) as two digits at p. */
static void
put2(char *p, int v)
{
	p[0] = (char)('0' + v / 10);
	p[1] = (char)('0' + v % 10);
}

void
sla_format_local(int64_t t, char *buf, size_t size)
{
	int32_t o;
	int64_t local, day, sod;
	long off;
	int y, m, d;

	if (size == 0)
		return;
	if (offset_at(t, &o) != 0) {
		snprintf(buf, size, "?");
		return;
	}
	off = o;
	local = t + off;
	day = floor_div(local, 86400);
	sod = local - day * 86400;
	sla_split((sla_day)day, &y, &m, &d);
	if (y >= 0 && y <= 9999 && size >= 26) {
		/* digits by hand: snprintf was a tenth of a queue page (50 rows, two instants each)
		 */
		long ao = labs(off);

		put2(buf, y / 100);
		put2(buf + 2, y % 100);
		buf[4] = '-';
		put2(buf + 5, m);
		buf[7] = '-';
		put2(buf + 8, d);
		buf[10] = 'T';
		put2(buf + 11, (int)(sod / 3600));
		buf[13] = ':';
		put2(buf + 14, (int)(sod / 60 % 60));
		buf[16] = ':';
		put2(buf + 17, (int)(sod % 60));
		buf[19] = off < 0 ? '-' : '+';
		put2(buf + 20, (int)(ao / 3600 % 100));
		buf[22] = ':';
		put2(buf + 23, (int)(ao / 60 % 60));
		buf[25] = '\0';
		return;
	}
	snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d%c%02ld:%02ld", y, m, d,
	         (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60), off < 0 ? '-' : '+',
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
		if (*p == '.') { /* W3C-DTF's decimal fraction of a second (".000Z"): dropped */
			if (!isdigit((unsigned char)p[1]))
				return -1;
			for (p++; isdigit((unsigned char)*p); p++)
				;
		}
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
