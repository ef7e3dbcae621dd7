/*
 * test_sla.c: unit tests of the sla module: dates, time zone, the calendar parser (data-driven
 * cases in tests/data/calendar/), the working-day index against a brute-force day loop, due
 * dates around every 2024-2026 holiday block, days left, pause/resume, explain, refcount.
 * Run from the repository root.
 */
#include <dirent.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sla/sla.h"
#include "tests/check.h"

#define DATA_DIR "tests/data/calendar"
#define CAL_DIR "sla/calendars/cn"
#define MAX_FILES 16

/* --- an independent reference: days from timegm, a table of overrides, a day loop --------- */

static sla_day
ref_day(int y, int m, int d)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d;
	return (sla_day)(timegm(&tm) / 86400);
}

static int
ref_weekend(sla_day day)
{
	time_t t = (time_t)day * 86400;
	struct tm tm;

	gmtime_r(&t, &tm);
	return tm.tm_wday == 0 || tm.tm_wday == 6;
}

#define REF_LO (-1000) /* days covered by a reference table: REF_LO .. REF_LO + REF_N - 1 */
#define REF_N 40000

struct ref {
	signed char kind[REF_N]; /* 0 none, 1 off, 2 work */
};

static int
ref_work(const struct ref *r, sla_day day)
{
	int k = day - REF_LO >= 0 && day - REF_LO < REF_N ? r->kind[day - REF_LO] : 0;

	if (k != 0)
		return k == 2;
	return !ref_weekend(day);
}

static sla_day
ref_add(const struct ref *r, sla_day day, int n)
{
	while (n > 0) {
		day++;
		if (ref_work(r, day))
			n--;
	}
	return day;
}

static int
ref_between(const struct ref *r, sla_day a, sla_day b)
{
	int n = 0, sign = 1;
	sla_day d;

	if (b < a) {
		d = a;
		a = b;
		b = d;
		sign = -1;
	}
	for (d = a + 1; d <= b; d++)
		n += ref_work(r, d);
	return sign * n;
}

/* Reads the override lines of a calendar file with sscanf: the reference's own parser. */
static int
ref_read(struct ref *r, const char *path)
{
	FILE *fp = fopen(path, "r");
	char line[512], word[16];
	int y, m, d, n = 0;

	if (fp == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (sscanf(line, "%d-%d-%d %15s", &y, &m, &d, word) != 4)
			continue;
		r->kind[ref_day(y, m, d) - REF_LO] = strcmp(word, "work") == 0 ? 2 : 1;
		n++;
	}
	fclose(fp);
	return n;
}

static sla_day
D(const char *s)
{
	sla_day d = INT32_MIN;

	if (sla_date_parse(s, &d) != 0) {
		fprintf(stderr, "bad date in test: %s\n", s);
		abort();
	}
	return d;
}

static const char *
fmt(sla_day d, char *buf)
{
	sla_date_format(d, buf);
	return buf;
}

static struct sla_calendar *
builtin(void)
{
	struct sla_calendar *cal = NULL;
	char err[256];

	if (sla_calendar_builtin(&cal, err, sizeof(err)) != 0) {
		fprintf(stderr, "builtin calendar: %s\n", err);
		abort();
	}
	return cal;
}

/* --- dates and zone ------------------------------------------------------------------------ */

static void
test_dates(struct t *t)
{
	char buf[11];
	sla_day d, day;
	int y, m, md, bad = 0;
	static const char *const invalid[] = {
	    "",           "2025-1-01",   "2025-01-1",   "2025-02-29", "2024-02-30",
	    "1899-12-31", "2025-13-01",  "2025-00-10",  "2025-01-00", "2025-01-32",
	    "2025/01/01", "2025-01-01x", " 2025-01-01", "+025-01-01", "2025-04-31",
	};
	size_t i;

	for (d = ref_day(1900, 1, 1); d <= ref_day(2200, 12, 31); d++) {
		sla_split(d, &y, &m, &md);
		if (sla_ymd(y, m, md) != d || ref_day(y, m, md) != d ||
		    (sla_weekday(d) >= 5) != ref_weekend(d))
			bad++;
	}
	CHECK_INT(t, bad, 0);
	CHECK_INT(t, sla_ymd(1970, 1, 1), 0);
	CHECK_INT(t, sla_ymd(1969, 12, 31), -1);
	CHECK_INT(t, sla_weekday(0), 3);               /* Thursday */
	CHECK_INT(t, sla_weekday(-1), 2);              /* Wednesday */
	CHECK_INT(t, sla_weekday(D("2025-10-11")), 5); /* Saturday */
	CHECK_INT(t, sla_date_parse("2024-02-29", &day), 0);
	CHECK_INT(t, day, ref_day(2024, 2, 29));
	CHECK_INT(t, sla_date_parse("2000-02-29", &day), 0);
	CHECK_INT(t, sla_date_parse("9999-12-31", &day), 0);
	CHECK_STR(t, fmt(day, buf), "9999-12-31");
	CHECK_STR(t, fmt(D("1900-01-01"), buf), "1900-01-01");
	for (i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
		day = 12345;
		if (sla_date_parse(invalid[i], &day) != -1 || day != 12345) {
			printf("# accepted \"%s\"\n", invalid[i]);
			t->failures++;
		}
	}
	CHECK_INT(t, sla_date_parse(NULL, &day), -1);
}

static int64_t
local(const char *s)
{
	int64_t v = 0;

	if (sla_parse_local(s, &v) != 0) {
		fprintf(stderr, "bad instant in test: %s\n", s);
		abort();
	}
	return v;
}

static void
test_zone(struct t *t)
{
	char buf[32];
	int64_t v = 0;

	CHECK_INT(t, sla_set_zone("Nowhere/Atlantis"), -1);
	CHECK_INT(t, sla_set_zone("../../etc/passwd"), -1);
	CHECK_INT(t, sla_set_zone("/usr/share/zoneinfo/UTC"), -1);
	CHECK_INT(t, sla_set_zone("Asia"), -1); /* a folder, not a zone */
	CHECK_INT(t, sla_set_zone(""), -1);
	CHECK_INT(t, sla_set_zone("Asia/Shanghai"), 0);

	/* 2025-09-29T16:00:00Z is midnight in Shanghai. */
	CHECK_INT(t, sla_local_day(1759161600 - 1), D("2025-09-29"));
	CHECK_INT(t, sla_local_day(1759161600), D("2025-09-30"));
	CHECK_INT(t, sla_day_end(D("2025-10-14"), 1440), 1760457599);
	CHECK_INT(t, sla_day_end(D("2025-10-14"), 1050), 1760434200);
	CHECK_INT(t, sla_day_end(D("2025-10-14"), 0), 1760457599 - 86399);
	sla_format_local(1760457599, buf, sizeof(buf));
	CHECK_STR(t, buf, "2025-10-14T23:59:59+08:00");

	CHECK_INT(t, local("2025-10-14T23:59:59"), 1760457599);
	CHECK_INT(t, local("2025-10-14T17:30"), 1760434200);
	CHECK_INT(t, local("2025-10-14T15:59:59Z"), 1760457599);
	CHECK_INT(t, local("2025-10-14T23:59:59+08:00"), 1760457599);
	CHECK_INT(t, local("2025-10-14T10:59:59-05:00"), 1760457599);
	CHECK_INT(t, local("2025-10-15"), 1760457600);
	CHECK_INT(t, local("2025-10-14T15:59:59.999Z"), 1760457599);
	CHECK_INT(t, local("2025-10-14T23:59:59.5+08:00"), 1760457599);
	CHECK_INT(t, local("2025-10-14T23:59:59.123456"), 1760457599);
	CHECK_INT(t, sla_parse_local("2025-10-14T23:59:59.Z", &v), -1);
	CHECK_INT(t, sla_parse_local("2025-10-14T23:59.5Z", &v), -1);
	CHECK_INT(t, sla_parse_local("2025-10-14T23:59:59,5Z", &v), -1);
	CHECK_INT(t, sla_parse_local("2025-10-14T24:00", &v), -1);
	CHECK_INT(t, sla_parse_local("2025-10-14T23:60", &v), -1);
	CHECK_INT(t, sla_parse_local("2025-10-14T23", &v), -1);
	CHECK_INT(t, sla_parse_local("2025-10-14 23:00", &v), -1);
	CHECK_INT(t, sla_parse_local("2025-10-14T23:00+8", &v), -1);
	CHECK_INT(t, sla_parse_local("2025-10-14T23:00Zx", &v), -1);
	CHECK_INT(t, sla_parse_local("2025-02-29", &v), -1);
	CHECK_INT(t, v, 0);

	/* A zone with summer time: the end of the day the clocks go forward is 23:59:59 EDT. */
	CHECK_INT(t, sla_set_zone("America/New_York"), 0);
	sla_format_local(sla_day_end(D("2025-03-09"), 1440), buf, sizeof(buf));
	CHECK_STR(t, buf, "2025-03-09T23:59:59-04:00");
	sla_format_local(sla_day_end(D("2025-11-02"), 1050), buf, sizeof(buf));
	CHECK_STR(t, buf, "2025-11-02T17:30:00-05:00");
	CHECK_INT(t, sla_set_zone("Asia/Shanghai"), 0);
}

/* Where summer time ends at midnight (America/Santiago: 24:00 -03 becomes 23:00 -04 on Saturday
 * 5 April 2025), 23:00-23:59:59 come twice: a day ends at the second 23:59:59, one second before
 * the next day starts, not an hour earlier. */
static void
test_zone_fold_at_midnight(struct t *t)
{
	char buf[32];
	int64_t end;

	CHECK_INT(t, sla_set_zone("America/Santiago"), 0);
	/* mktime guesses from its previous call: the day before (summer time) comes first */
	CHECK_INT(t, sla_local_day(sla_day_end(D("2025-04-04"), 1440)), D("2025-04-04"));
	end = sla_day_end(D("2025-04-05"), 1440);
	sla_format_local(end, buf, sizeof(buf));
	CHECK_STR(t, buf, "2025-04-05T23:59:59-04:00");
	CHECK_INT(t, sla_local_day(end), D("2025-04-05"));
	CHECK_INT(t, sla_local_day(end + 1), D("2025-04-06"));
	CHECK_INT(t, end + 1, sla_day_end(D("2025-04-06"), 0));
	/* the night the clocks go forward at midnight (6 to 7 September): 00:00 does not exist */
	end = sla_day_end(D("2025-09-06"), 1440);
	sla_format_local(end, buf, sizeof(buf));
	CHECK_STR(t, buf, "2025-09-06T23:59:59-04:00");
	CHECK_INT(t, sla_local_day(end + 1), D("2025-09-07"));
	/* Berlin changes at 02:00/03:00: 23:59:59 is plain on both days */
	CHECK_INT(t, sla_set_zone("Europe/Berlin"), 0);
	sla_format_local(sla_day_end(D("2025-03-30"), 1440), buf, sizeof(buf));
	CHECK_STR(t, buf, "2025-03-30T23:59:59+02:00");
	sla_format_local(sla_day_end(D("2025-10-26"), 1440), buf, sizeof(buf));
	CHECK_STR(t, buf, "2025-10-26T23:59:59+01:00");
	CHECK_INT(t, sla_set_zone("Asia/Shanghai"), 0);
}

/* The offset table (zone.c) against the C library itself, in zones with summer time at 02:00,
 * at midnight, by 30 minutes, and without: local days, formatted instants and day ends agree for
 * random instants from 1990 to 2100 and for every second around each change of 2025. */
static uint64_t zone_rng = 88172645463325252u;

static uint64_t
zone_next(void)
{
	zone_rng ^= zone_rng << 13;
	zone_rng ^= zone_rng >> 7;
	zone_rng ^= zone_rng << 17;
	return zone_rng;
}

/* 1 if sla and the C library agree at t, else 0 (printed). */
static int
zone_agrees(const char *zone, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm, want_tm;
	char buf[64], want[64];
	long off;
	int64_t end, want_end;
	sla_day day;
	int minutes;

	localtime_r(&tt, &tm);
	off = tm.tm_gmtoff;
	snprintf(want, sizeof(want), "%04d-%02d-%02dT%02d:%02d:%02d%c%02ld:%02ld",
	         tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
	         off < 0 ? '-' : '+', labs(off) / 3600, labs(off) / 60 % 60);
	sla_format_local(t, buf, sizeof(buf));
	day = sla_ymd(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
	if (sla_local_day(t) != day || strcmp(buf, want) != 0) {
		printf("# %s %lld: %s, want %s\n", zone, (long long)t, buf, want);
		return 0;
	}
	minutes = (int)(zone_next() % 1440);
	memset(&want_tm, 0, sizeof(want_tm));
	want_tm.tm_year = tm.tm_year;
	want_tm.tm_mon = tm.tm_mon;
	want_tm.tm_mday = tm.tm_mday;
	want_tm.tm_hour = minutes / 60;
	want_tm.tm_min = minutes % 60;
	want_tm.tm_isdst = -1;
	want_end = (int64_t)mktime(&want_tm);
	end = sla_day_end(day, minutes);
	/* inside a gap or a fold mktime may pick either instant; elsewhere there is one */
	if (end != want_end &&
	    (end - want_end > 7200 || want_end - end > 7200 || sla_local_day(end) != day)) {
		printf("# %s day %d minute %d: %lld, want %lld\n", zone, (int)day, minutes,
		       (long long)end, (long long)want_end);
		return 0;
	}
	return 1;
}

static void
test_zone_table(struct t *t)
{
	static const char *const zones[] = {"Asia/Shanghai",    "America/New_York",
	                                    "America/Santiago", "Australia/Lord_Howe",
	                                    "Europe/Berlin",    "Asia/Kathmandu"};
	size_t z;
	int i, bad;
	int64_t s, k;

	for (z = 0; z < sizeof(zones) / sizeof(zones[0]); z++) {
		if (sla_set_zone(zones[z]) != 0) {
			printf("# %s: not in this tzdata, skipped\n", zones[z]);
			continue;
		}
		bad = 0;
		for (i = 0; i < 20000 && bad < 5; i++)
			bad += !zone_agrees(zones[z],
			                    631152000 + (int64_t)(zone_next() % 3471292800u));
		/* every 2025 change (a week's probes, then each second within an hour of it) */
		for (s = 1735689600; s < 1767225600 && bad < 5; s += 3600) {
			time_t a = (time_t)s, b = (time_t)(s + 3600);
			struct tm ta, tb;

			localtime_r(&a, &ta);
			localtime_r(&b, &tb);
			if (ta.tm_gmtoff == tb.tm_gmtoff)
				continue;
			for (k = s - 3600; k < s + 7200 && bad < 5; k++)
				bad += !zone_agrees(zones[z], k);
		}
		CHECK_INT(t, bad, 0);
	}
	CHECK_INT(t, sla_set_zone("Asia/Shanghai"), 0);
}

/* --- parser -------------------------------------------------------------------------------- */

static char *
slurp(const char *path)
{
	FILE *fp = fopen(path, "rb");
	char *buf = NULL;
	long len;

	if (fp == NULL)
		return NULL;
	if (fseek(fp, 0, SEEK_END) == 0 && (len = ftell(fp)) >= 0 && fseek(fp, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)len + 1);
		if (buf != NULL && fread(buf, 1, (size_t)len, fp) != (size_t)len) {
			free(buf);
			buf = NULL;
		}
		if (buf != NULL)
			buf[len] = '\0';
	}
	fclose(fp);
	return buf;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "ok: FIRST..LAST (N dates)", as `civicdesk calendar check` prints it. */
static void
describe(const struct sla_calendar *cal, char *buf, size_t size)
{
	char a[11], b[11];
	sla_day first, last;

	sla_calendar_range(cal, &first, &last);
	snprintf(buf, size, "ok: %s..%s (%zu dates)", fmt(first, a), fmt(last, b),
	         sla_explain(cal, INT32_MIN, INT32_MAX, NULL, 0));
}

/* One case folder: its *.txt files (sorted) are parsed with their base names; `expected` holds
 * the error line, or the ok line. */
static int
run_case(const char *name)
{
	char dir[256], path[512], err[512], got[512];
	char *names[MAX_FILES], *texts[MAX_FILES], *expected;
	struct sla_calendar *cal = (struct sla_calendar *)&got; /* must stay untouched on error */
	size_t n = 0, i;
	struct dirent *e;
	int ok = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/%s", DATA_DIR, name);
	d = opendir(dir);
	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL && n < MAX_FILES) {
		size_t len = strlen(e->d_name);

		if (len > 4 && strcmp(e->d_name + len - 4, ".txt") == 0)
			names[n++] = strdup(e->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(names[0]), cmp_str);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		texts[i] = slurp(path);
	}
	snprintf(path, sizeof(path), "%s/expected", dir);
	expected = slurp(path);
	if (expected != NULL)
		expected[strcspn(expected, "\n")] = '\0';

	err[0] = '\0';
	if (sla_calendar_parse((const char *const *)names, (const char *const *)texts, n, &cal, err,
	                       sizeof(err)) == 0) {
		describe(cal, got, sizeof(got));
		sla_calendar_unref(cal);
	} else {
		snprintf(got, sizeof(got), "%s", err);
		if (cal != (struct sla_calendar *)&got)
			snprintf(got, sizeof(got), "error, and *out was written");
	}
	ok = expected != NULL && strcmp(got, expected) == 0;
	if (!ok)
		printf("# case %s:\n#   got      %s\n#   expected %s\n", name, got,
		       expected ? expected : "(no expected file)");
	for (i = 0; i < n; i++) {
		free(names[i]);
		free(texts[i]);
	}
	free(expected);
	return ok;
}

static void
test_parser_cases(struct t *t)
{
	DIR *d = opendir(DATA_DIR);
	struct dirent *e;
	int cases = 0;

	CHECK(t, d != NULL);
	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		cases++;
		if (!run_case(e->d_name))
			t->failures++;
	}
	closedir(d);
	CHECK(t, cases >= 20);
}

/* Cases with bytes that are awkward in files: control characters, bad UTF-8, long names. */
static void
test_parser_bytes(struct t *t)
{
	static const struct {
		const char *text, *err;
	} cases[] = {
	    {"2025-01-01 off \xe5\x85\x83\x01\n", "x.txt:1: control character 0x01"},
	    {"2025-01-01 off x\x7f\n", "x.txt:1: control character 0x7f"},
	    {"2025-01-01 off a\rb\n", "x.txt:1: control character 0x0d"},
	    {"2025-01-01 off \xe5\x85\n", "x.txt:1: name is not valid UTF-8"},
	    {"2025-01-01 off \xc0\xaf\n", "x.txt:1: name is not valid UTF-8"},
	    {"2025-01-01 off \xed\xa0\x80\n", "x.txt:1: name is not valid UTF-8"},
	    {"2025-01-01 \xff\xfe 1\n", "x.txt:1: unknown word \"\\xff\\xfe\": expected \"off\" or "
	                                "\"work\""},
	    {"2025-01-01 off "
	     "\xe5\x85\x83\xe5\x85\x83\xe5\x85\x83\xe5\x85\x83\xe5\x85\x83\xe5\x85\x83\xe5\x85\x83"
	     "\xe5\x85\x83\xe5\x85\x83\xe5\x85\x83\xe5\x85\x83\xe5\x85\x83\xe5\x85\x83\xe5\x85\x83"
	     "\xe5\x85\x83\xe5\x85\x83\xe5\x85\x83\xe5\x85\x83\xe5\x85\x83\xe5\x85\x83\xe5\x85\x83"
	     "\xe5\x85\x83\xe5\x85\x83\n",
	     "x.txt:1: name longer than 64 bytes"},
	    {"2025-01-01 off ok\n\n\n2025-01-02 off ok extra\n",
	     "x.txt:4: unexpected text after the name: \"extra\""},
	};
	const char *names[1] = {"x.txt"};
	struct sla_calendar *cal = NULL;
	char err[256];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *texts[1] = {cases[i].text};

		err[0] = '\0';
		CHECK_INT(t, sla_calendar_parse(names, texts, 1, &cal, err, sizeof(err)), -1);
		CHECK_STR(t, err, cases[i].err);
		CHECK(t, cal == NULL);
	}
	/* A message that does not fit is cut, not overflowed; no buffer is fine too. */
	{
		const char *texts[1] = {"2025-02-30 off x\n"};

		CHECK_INT(t, sla_calendar_parse(names, texts, 1, &cal, err, 8), -1);
		CHECK_STR(t, err, "x.txt:1");
		CHECK_INT(t, sla_calendar_parse(names, texts, 1, &cal, NULL, 0), -1);
		CHECK_INT(t, sla_calendar_parse(names, texts, 0, &cal, err, sizeof(err)), -1);
		CHECK_STR(t, err, "no calendar files");
	}
}

static void
test_load(struct t *t)
{
	struct sla_calendar *cal = NULL;
	char err[512], path[64];
	const char *paths[2];
	sla_day first, last;
	FILE *fp;

	CHECK_INT(t,
	          sla_calendar_load_dir(DATA_DIR "/duplicate-across-files", &cal, err, sizeof(err)),
	          -1);
	CHECK_STR(t, err,
	          DATA_DIR
	          "/duplicate-across-files/b.txt:3: 2025-10-01 listed twice (first at " DATA_DIR
	          "/duplicate-across-files/a.txt:2)");
	CHECK_INT(t, sla_calendar_load_dir(DATA_DIR "/nonexistent", &cal, err, sizeof(err)), -1);
	CHECK_STR(t, err, DATA_DIR "/nonexistent: No such file or directory");
	CHECK_INT(t, sla_calendar_load_dir("tests/unit", &cal, err, sizeof(err)), -1);
	CHECK_STR(t, err, "tests/unit: no calendar files (*.txt)");
	paths[0] = "nope.txt";
	CHECK_INT(t, sla_calendar_load_files(paths, 1, &cal, err, sizeof(err)), -1);
	CHECK_STR(t, err, "nope.txt: No such file or directory");
	CHECK(t, cal == NULL);

	snprintf(path, sizeof(path), "/tmp/test_sla_%ld.txt", (long)getpid());
	fp = fopen(path, "wb");
	CHECK(t, fp != NULL);
	if (fp != NULL) {
		fwrite("2025-01-01 off x\n2025-01-02 off \0y\n", 1, 35, fp);
		fclose(fp);
		paths[0] = path;
		CHECK_INT(t, sla_calendar_load_files(paths, 1, &cal, err, sizeof(err)), -1);
		CHECK(t, strstr(err, ":2: NUL byte") != NULL);
		unlink(path);
	}

	CHECK_INT(t, sla_calendar_load_dir(CAL_DIR, &cal, err, sizeof(err)), 0);
	if (cal != NULL) {
		sla_calendar_range(cal, &first, &last);
		CHECK_INT(t, first, D("2024-01-01"));
		CHECK_INT(t, last, D("2026-12-31"));
		sla_calendar_unref(cal);
	}
	paths[0] = CAL_DIR "/2026.txt";
	paths[1] = CAL_DIR "/2025.txt";
	cal = NULL;
	CHECK_INT(t, sla_calendar_load_files(paths, 2, &cal, err, sizeof(err)), 0);
	if (cal != NULL) {
		sla_calendar_range(cal, &first, &last);
		CHECK_INT(t, first, D("2025-01-01"));
		CHECK_INT(t, last, D("2026-12-31"));
		sla_calendar_unref(cal);
	}
}

/* --- the index against the reference --------------------------------------------------------- */

/* Compares every arithmetic function with the reference over [lo, hi] and n in 0..40. */
static void
compare_all(struct t *t, const struct sla_calendar *cal, const struct ref *r, sla_day lo,
            sla_day hi)
{
	char a[11], b[11];
	long bad = 0, checks = 0;
	sla_day d, want, got;
	int n;

	for (d = lo; d <= hi; d++) {
		if (sla_is_working_day(cal, d) != ref_work(r, d) && bad++ < 5)
			printf("# is_working_day(%s) wrong\n", fmt(d, a));
		want = d;
		while (!ref_work(r, want))
			want++;
		if (sla_next_working_day(cal, d) != want && bad++ < 5)
			printf("# next_working_day(%s) wrong\n", fmt(d, a));
		for (n = 0; n <= 40; n++) {
			want = ref_add(r, d, n);
			got = sla_add_working_days(cal, d, n);
			if (got != want && bad++ < 5)
				printf("# add_working_days(%s, %d) = %s, expected %s\n", fmt(d, a),
				       n, fmt(got, b), fmt(want, b));
			if (sla_working_days_between(cal, d, d + n) != ref_between(r, d, d + n) &&
			    bad++ < 5)
				printf("# working_days_between(%s, +%d) wrong\n", fmt(d, a), n);
			if (sla_working_days_between(cal, d, d - n) != ref_between(r, d, d - n) &&
			    bad++ < 5)
				printf("# working_days_between(%s, -%d) wrong\n", fmt(d, a), n);
			/* Inverse: counting up to the result gives n back. */
			if (sla_working_days_between(cal, d, got) != n && bad++ < 5)
				printf("# between(d, add(d, %d)) != %d at %s\n", n, n, fmt(d, a));
			checks += 5;
		}
	}
	CHECK_INT(t, bad, 0);
	CHECK(t, checks > 0);
}

static void
test_property_builtin(struct t *t)
{
	struct sla_calendar *cal = builtin();
	struct ref *r = calloc(1, sizeof(*r));
	DIR *d = opendir(CAL_DIR);
	struct dirent *e;
	char path[512];
	int lines = 0;

	CHECK(t, r != NULL && d != NULL);
	if (r == NULL || d == NULL)
		goto out;
	while ((e = readdir(d)) != NULL) {
		if (strstr(e->d_name, ".txt") == NULL)
			continue;
		snprintf(path, sizeof(path), "%s/%s", CAL_DIR, e->d_name);
		lines += ref_read(r, path);
	}
	CHECK_INT(t, lines, 108);
	/* The three covered years, and base-week years on both sides (2023, 2027). */
	compare_all(t, cal, r, ref_day(2023, 1, 1), ref_day(2027, 12, 31));
	/* Far outside, where only the closed forms answer. */
	compare_all(t, cal, r, ref_day(1995, 12, 1), ref_day(1996, 1, 31));
	compare_all(t, cal, r, ref_day(2090, 6, 1), ref_day(2090, 7, 31));
out:
	if (d != NULL)
		closedir(d);
	free(r);
	sla_calendar_unref(cal);
}

/* A generated calendar: random overrides over 2030-2031 and the December before, including the
 * first and last days of the indexed span. */
static void
test_property_random(struct t *t)
{
	struct ref *r = calloc(1, sizeof(*r));
	char *text[2] = {NULL, NULL}, date[11];
	const char *names[2] = {"2030.txt", "2031.txt"};
	struct sla_calendar *cal = NULL;
	uint32_t seed = 12345;
	size_t len[2] = {0, 0};
	char err[256];
	int f, round;

	CHECK(t, r != NULL);
	if (r == NULL)
		return;
	for (round = 0; round < 4; round++) {
		memset(r->kind, 0, sizeof(r->kind));
		for (f = 0; f < 2; f++) {
			sla_day d, lo = ref_day(2029 + f, 12, 1), hi = ref_day(2030 + f, 12, 31);

			free(text[f]);
			text[f] = malloc(400 * 32);
			len[f] = 0;
			if (text[f] == NULL)
				goto out;
			for (d = lo; d <= hi; d++) {
				int weekend = ref_weekend(d), k;

				if (r->kind[d - REF_LO] != 0)
					continue; /* the December before may be in both years */
				seed = seed * 1103515245u + 12345u;
				k = (int)((seed >> 16) % 100);
				if (k >= 12 + 10 * round && d != ref_day(2030 + f, 12, 31) &&
				    d != ref_day(2030 + f, 1, 1) && d != lo)
					continue;
				r->kind[d - REF_LO] = weekend && k % 2 ? 2 : 1;
				len[f] +=
				    (size_t)sprintf(text[f] + len[f], "%s %s n\n", fmt(d, date),
				                    r->kind[d - REF_LO] == 2 ? "work" : "off");
			}
		}
		cal = NULL;
		CHECK_INT(
		    t,
		    sla_calendar_parse(names, (const char *const *)text, 2, &cal, err, sizeof(err)),
		    0);
		if (cal == NULL) {
			printf("# %s\n", err);
			goto out;
		}
		compare_all(t, cal, r, ref_day(2029, 6, 1), ref_day(2032, 6, 30));
		sla_calendar_unref(cal);
	}
out:
	free(text[0]);
	free(text[1]);
	free(r);
}

/* --- fixed cases ------------------------------------------------------------------------------ */

static const struct fixed {
	const char *from;
	int n;
	const char *due;
} fixed[] = {
    /* 2024 元旦, joined to the weekend, across the start of the calendar */
    {"2023-12-29", 1, "2024-01-02"},
    /* 2024 春节: off 10-17 Feb, work Sunday 4 and Sunday 18 Feb */
    {"2024-02-02", 1, "2024-02-04"},
    {"2024-02-03", 1, "2024-02-04"},
    {"2024-02-04", 1, "2024-02-05"},
    {"2024-02-08", 1, "2024-02-09"},
    {"2024-02-08", 2, "2024-02-18"},
    {"2024-02-08", 3, "2024-02-19"},
    {"2024-02-09", 1, "2024-02-18"},
    {"2024-02-12", 1, "2024-02-18"},
    {"2024-02-12", 5, "2024-02-22"},
    /* 2024 清明节: off 4-6 Apr, work Sunday 7 Apr */
    {"2024-04-03", 1, "2024-04-07"},
    {"2024-04-03", 2, "2024-04-08"},
    {"2024-04-04", 1, "2024-04-07"},
    /* 2024 劳动节: work Sunday 28 Apr, off 1-5 May, work Saturday 11 May */
    {"2024-04-26", 1, "2024-04-28"},
    {"2024-04-28", 1, "2024-04-29"},
    {"2024-04-28", 3, "2024-05-06"},
    {"2024-05-01", 1, "2024-05-06"},
    {"2024-05-01", 5, "2024-05-10"},
    {"2024-05-01", 6, "2024-05-11"},
    {"2024-05-01", 7, "2024-05-13"},
    {"2024-05-10", 1, "2024-05-11"},
    /* 2024 端午节: Monday 10 Jun, joined to the weekend */
    {"2024-06-07", 1, "2024-06-11"},
    /* 2024 中秋节: work Saturday 14 Sep, off 15-17 Sep */
    {"2024-09-13", 1, "2024-09-14"},
    {"2024-09-13", 2, "2024-09-18"},
    {"2024-09-14", 1, "2024-09-18"},
    /* 2024 国庆节: work Sunday 29 Sep, off 1-7 Oct, work Saturday 12 Oct */
    {"2024-09-27", 1, "2024-09-29"},
    {"2024-09-27", 2, "2024-09-30"},
    {"2024-09-27", 3, "2024-10-08"},
    {"2024-09-30", 1, "2024-10-08"},
    {"2024-09-30", 4, "2024-10-11"},
    {"2024-09-30", 5, "2024-10-12"},
    {"2024-09-30", 6, "2024-10-14"},
    {"2024-10-03", 5, "2024-10-12"},
    /* 2025 春节: work Sunday 26 Jan, off 28 Jan-4 Feb, work Saturday 8 Feb */
    {"2025-01-24", 1, "2025-01-26"},
    {"2025-01-24", 2, "2025-01-27"},
    {"2025-01-24", 3, "2025-02-05"},
    {"2025-01-27", 1, "2025-02-05"},
    {"2025-01-27", 3, "2025-02-07"},
    {"2025-01-27", 4, "2025-02-08"},
    {"2025-01-27", 5, "2025-02-10"},
    {"2025-01-31", 1, "2025-02-05"},
    {"2025-02-08", 1, "2025-02-10"},
    /* 2025 劳动节: work Sunday 27 Apr, off 1-5 May */
    {"2025-04-25", 1, "2025-04-27"},
    {"2025-04-25", 2, "2025-04-28"},
    {"2025-04-25", 4, "2025-04-30"},
    {"2025-04-25", 5, "2025-05-06"},
    {"2025-04-30", 1, "2025-05-06"},
    /* 2025 国庆节、中秋节: work Sunday 28 Sep, off 1-8 Oct, work Saturday 11 Oct */
    {"2025-09-26", 1, "2025-09-28"},
    {"2025-09-28", 1, "2025-09-29"},
    {"2025-09-30", 1, "2025-10-09"},
    {"2025-09-30", 3, "2025-10-11"},
    {"2025-09-30", 5, "2025-10-14"},
    {"2025-10-03", 1, "2025-10-09"},
    {"2025-10-11", 1, "2025-10-13"},
    /* 2026 元旦: off 1-3 Jan, work Sunday 4 Jan */
    {"2025-12-31", 1, "2026-01-04"},
    {"2025-12-31", 2, "2026-01-05"},
    {"2026-01-01", 1, "2026-01-04"},
    {"2026-01-04", 1, "2026-01-05"},
    /* 2026 春节: work Saturday 14 Feb, off 15-23 Feb, work Saturday 28 Feb */
    {"2026-02-13", 1, "2026-02-14"},
    {"2026-02-13", 2, "2026-02-24"},
    {"2026-02-14", 1, "2026-02-24"},
    {"2026-02-20", 1, "2026-02-24"},
    {"2026-02-20", 4, "2026-02-27"},
    {"2026-02-20", 5, "2026-02-28"},
    {"2026-02-20", 6, "2026-03-02"},
    /* 2026 劳动节: off 1-5 May, work Saturday 9 May */
    {"2026-04-30", 1, "2026-05-06"},
    {"2026-04-30", 3, "2026-05-08"},
    {"2026-04-30", 4, "2026-05-09"},
    {"2026-04-30", 5, "2026-05-11"},
    {"2026-05-09", 1, "2026-05-11"},
    /* 2026 中秋节 and 国庆节: work Sunday 20 Sep, off 25-27 Sep and 1-7 Oct, work 10 Oct */
    {"2026-09-18", 1, "2026-09-20"},
    {"2026-09-18", 2, "2026-09-21"},
    {"2026-09-24", 1, "2026-09-28"},
    {"2026-09-24", 3, "2026-09-30"},
    {"2026-09-24", 4, "2026-10-08"},
    {"2026-09-24", 5, "2026-10-09"},
    {"2026-09-24", 6, "2026-10-10"},
    {"2026-09-24", 7, "2026-10-12"},
    {"2026-10-10", 1, "2026-10-12"},
    /* 2027: base week only */
    {"2026-12-31", 1, "2027-01-01"},
    {"2027-01-01", 1, "2027-01-04"},
};

static void
test_fixed_cases(struct t *t)
{
	struct sla_calendar *cal = builtin();
	char buf[11];
	size_t i;

	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		sla_day got = sla_add_working_days(cal, D(fixed[i].from), fixed[i].n);

		if (got != D(fixed[i].due)) {
			printf("# %s + %d: got %s, expected %s\n", fixed[i].from, fixed[i].n,
			       fmt(got, buf), fixed[i].due);
			t->failures++;
		}
		CHECK_INT(t, sla_working_days_between(cal, D(fixed[i].from), D(fixed[i].due)),
		          fixed[i].n);
	}
	CHECK_INT(t, sla_working_days_between(cal, D("2025-10-14"), D("2025-09-30")), -5);
	CHECK_INT(t, sla_working_days_between(cal, D("2025-10-01"), D("2025-10-08")), 0);
	CHECK_INT(t, sla_is_working_day(cal, D("2025-10-11")), 1);
	CHECK_INT(t, sla_is_working_day(cal, D("2025-10-04")), 0);
	CHECK_INT(t, sla_is_working_day(cal, D("2024-02-09")), 1);
	CHECK_INT(t, sla_next_working_day(cal, D("2025-10-01")), D("2025-10-09"));
	CHECK_INT(t, sla_next_working_day(cal, D("2025-10-09")), D("2025-10-09"));
	sla_calendar_unref(cal);
}

/* Due instants in Asia/Shanghai: receipt at 23:59 and at 00:00 local, on a holiday, on a make-up
 * Saturday, in UTC just after local midnight, and at close of business. */
static void
test_due(struct t *t)
{
	static const struct {
		const char *start;
		int unit, days, end;
		const char *due;
	} cases[] = {
	    {"2025-09-29T23:59", SLA_WORKING_DAYS, 1, 1440, "2025-09-30T23:59:59+08:00"},
	    {"2025-09-29T23:59:59", SLA_WORKING_DAYS, 1, 1440, "2025-09-30T23:59:59+08:00"},
	    {"2025-09-30T00:00", SLA_WORKING_DAYS, 1, 1440, "2025-10-09T23:59:59+08:00"},
	    {"2025-09-30T23:59", SLA_WORKING_DAYS, 5, 1440, "2025-10-14T23:59:59+08:00"},
	    {"2025-10-01T00:00", SLA_WORKING_DAYS, 5, 1440, "2025-10-14T23:59:59+08:00"},
	    {"2025-09-29T16:30:00Z", SLA_WORKING_DAYS, 1, 1440, "2025-10-09T23:59:59+08:00"},
	    {"2025-09-29T15:59:59Z", SLA_WORKING_DAYS, 1, 1440, "2025-09-30T23:59:59+08:00"},
	    {"2025-10-03T10:00", SLA_WORKING_DAYS, 1, 1440, "2025-10-09T23:59:59+08:00"},
	    {"2025-10-11T09:00", SLA_WORKING_DAYS, 1, 1440, "2025-10-13T23:59:59+08:00"},
	    {"2025-09-28T09:00", SLA_WORKING_DAYS, 1, 1440, "2025-09-29T23:59:59+08:00"},
	    {"2024-02-09T23:59", SLA_WORKING_DAYS, 1, 1440, "2024-02-18T23:59:59+08:00"},
	    {"2024-02-10T00:00", SLA_WORKING_DAYS, 1, 1440, "2024-02-18T23:59:59+08:00"},
	    {"2025-09-30T10:00", SLA_WORKING_DAYS, 5, 1050, "2025-10-14T17:30:00+08:00"},
	    {"2025-09-30T10:00", SLA_WORKING_DAYS, 5, 0, "2025-10-14T23:59:59+08:00"},
	    {"2025-09-30T10:00", SLA_WORKING_DAYS, 0, 1440, "2025-09-30T23:59:59+08:00"},
	    {"2025-09-30T10:00", SLA_WORKING_DAYS, -3, 1440, "2025-09-30T23:59:59+08:00"},
	    /* calendar days, rolled forward to a working day */
	    {"2025-09-24T10:00", SLA_CALENDAR_DAYS, 7, 1440, "2025-10-09T23:59:59+08:00"},
	    {"2025-09-21T10:00", SLA_CALENDAR_DAYS, 7, 1440, "2025-09-28T23:59:59+08:00"},
	    {"2025-09-22T10:00", SLA_CALENDAR_DAYS, 7, 1440, "2025-09-29T23:59:59+08:00"},
	    {"2025-09-20T10:00", SLA_CALENDAR_DAYS, 7, 1440, "2025-09-28T23:59:59+08:00"},
	    {"2025-10-04T10:00", SLA_CALENDAR_DAYS, 0, 1440, "2025-10-09T23:59:59+08:00"},
	    {"2025-09-15T10:00", SLA_CALENDAR_DAYS, 60, 1050, "2025-11-14T17:30:00+08:00"},
	};
	struct sla_calendar *cal = builtin();
	char buf[32];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sla_rule rule = {(enum sla_unit)cases[i].unit, cases[i].days, cases[i].end};

		sla_format_local(sla_due(cal, local(cases[i].start), &rule), buf, sizeof(buf));
		if (strcmp(buf, cases[i].due) != 0) {
			printf("# due(%s, %d): %s, expected %s\n", cases[i].start, cases[i].days,
			       buf, cases[i].due);
			t->failures++;
		}
	}
	sla_calendar_unref(cal);
}

static void
test_days_left(struct t *t)
{
	struct sla_calendar *cal = builtin();
	int64_t due = local("2025-10-14T23:59:59"), cob = local("2025-10-14T17:30"), now;
	char buf[32];
	int left, bad = 0;

	CHECK_INT(t, sla_days_left(cal, due, local("2025-09-30T10:00")), 5);
	CHECK_INT(t, sla_days_left(cal, due, local("2025-10-05T10:00")), 5);
	CHECK_INT(t, sla_days_left(cal, due, local("2025-10-10T10:00")), 3);
	CHECK_INT(t, sla_days_left(cal, due, local("2025-10-14T00:00")), 0);
	CHECK_INT(t, sla_days_left(cal, due, due), 0);
	CHECK_INT(t, sla_days_left(cal, due, due + 1), -1);
	CHECK_INT(t, sla_days_left(cal, due, local("2025-10-16T09:00")), -2);
	CHECK_INT(t, sla_days_left(cal, due, local("2025-10-18T09:00")), -3);
	CHECK_INT(t, sla_days_left(cal, cob, local("2025-10-14T17:29:59")), 0);
	CHECK_INT(t, sla_days_left(cal, cob, local("2025-10-14T18:00")), -1);
	/* Due on a Friday, now the Saturday after: overdue, although no working day has passed. */
	CHECK_INT(t, sla_days_left(cal, local("2025-10-17T23:59:59"), local("2025-10-18T10:00")),
	          -1);

	/* Resume: the clock paused with 3 left on 10 Oct restarts on Monday 20 Oct. */
	sla_format_local(sla_resume(cal, local("2025-10-20T09:00"), 3, 1440), buf, sizeof(buf));
	CHECK_STR(t, buf, "2025-10-23T23:59:59+08:00");
	sla_format_local(sla_resume(cal, local("2025-10-01T09:00"), 3, 1050), buf, sizeof(buf));
	CHECK_STR(t, buf, "2025-10-11T17:30:00+08:00");
	/* 0 left: the end of the next working day (today if it is one). */
	sla_format_local(sla_resume(cal, local("2025-10-18T09:00"), 0, 1440), buf, sizeof(buf));
	CHECK_STR(t, buf, "2025-10-20T23:59:59+08:00");
	sla_format_local(sla_resume(cal, local("2025-10-20T09:00"), 0, 1440), buf, sizeof(buf));
	CHECK_STR(t, buf, "2025-10-20T23:59:59+08:00");
	/* Overdue when paused: still overdue by as much after resuming. */
	sla_format_local(sla_resume(cal, local("2025-10-16T09:00"), -2, 1440), buf, sizeof(buf));
	CHECK_STR(t, buf, "2025-10-14T23:59:59+08:00");
	/* Pause then resume keeps the working days left, on every day of three years. */
	for (now = local("2024-01-01T10:00"); now < local("2027-01-01T00:00"); now += 86400)
		for (left = -5; left <= 12; left++)
			if (left != 0 &&
			    sla_days_left(cal, sla_resume(cal, now, left, 1440), now) != left)
				bad++;
	CHECK_INT(t, bad, 0);
	sla_calendar_unref(cal);
}

static void
test_explain(struct t *t)
{
	struct sla_calendar *cal = builtin();
	struct sla_override ov[16];
	char buf[11];

	CHECK_INT(t, sla_explain(cal, D("2025-09-30"), D("2025-10-14"), ov, 16), 9);
	CHECK_STR(t, fmt(ov[0].day, buf), "2025-10-01");
	CHECK_INT(t, ov[0].kind, SLA_OFF);
	CHECK_STR(t, ov[0].name, "国庆节、中秋节");
	CHECK_STR(t, fmt(ov[7].day, buf), "2025-10-08");
	CHECK_STR(t, fmt(ov[8].day, buf), "2025-10-11");
	CHECK_INT(t, ov[8].kind, SLA_WORK);
	/* Fewer slots than overrides: fills what fits, returns the total. */
	memset(ov, 0, sizeof(ov));
	CHECK_INT(t, sla_explain(cal, D("2025-09-30"), D("2025-10-14"), ov, 2), 9);
	CHECK_STR(t, fmt(ov[1].day, buf), "2025-10-02");
	CHECK_INT(t, ov[2].day, 0);
	/* (from, to]: from itself is left out, to is included. */
	CHECK_INT(t, sla_explain(cal, D("2025-10-01"), D("2025-10-11"), ov, 16), 8);
	CHECK_INT(t, sla_explain(cal, D("2025-12-31"), D("2026-01-05"), ov, 16), 4);
	CHECK_STR(t, ov[3].name, "元旦");
	CHECK_INT(t, sla_explain(cal, D("2025-10-14"), D("2025-12-31"), ov, 16), 0);
	CHECK_INT(t, sla_explain(cal, D("2025-10-14"), D("2025-09-30"), ov, 16), 0);
	CHECK_INT(t, sla_explain(cal, INT32_MIN, INT32_MAX, NULL, 0), 108);
	sla_calendar_unref(cal);
}

static void
test_range(struct t *t)
{
	struct sla_calendar *cal = builtin();
	sla_day first, last;

	sla_calendar_range(cal, &first, &last);
	CHECK_INT(t, first, D("2024-01-01"));
	CHECK_INT(t, last, D("2026-12-31"));
	CHECK_INT(t, sla_calendar_covers(cal, D("2024-01-01"), D("2026-12-31")), 1);
	CHECK_INT(t, sla_calendar_covers(cal, D("2026-12-31"), D("2026-12-31")), 1);
	CHECK_INT(t, sla_calendar_covers(cal, D("2026-12-30"), D("2027-01-04")), 0);
	CHECK_INT(t, sla_calendar_covers(cal, D("2023-12-31"), D("2024-01-02")), 0);
	CHECK_INT(t, sla_calendar_covers(cal, D("2025-10-14"), D("2025-09-30")), 1);
	sla_calendar_unref(cal);
}

static void *
ref_worker(void *arg)
{
	struct sla_calendar *cal = arg;
	int i;

	for (i = 0; i < 100000; i++) {
		struct sla_calendar *mine = sla_calendar_ref(cal);

		if (sla_add_working_days(mine, D("2025-09-30"), 5) != D("2025-10-14"))
			abort();
		sla_calendar_unref(mine);
	}
	return NULL;
}

/* ASan (leaks, use after free) is the judge here: one calendar shared by four threads. */
static void
test_refcount(struct t *t)
{
	struct sla_calendar *cal = builtin();
	pthread_t th[4];
	int i;

	CHECK(t, sla_calendar_ref(cal) == cal);
	sla_calendar_unref(cal);
	sla_calendar_ref(NULL);
	sla_calendar_unref(NULL);
	for (i = 0; i < 4; i++)
		CHECK_INT(t, pthread_create(&th[i], NULL, ref_worker, sla_calendar_ref(cal)), 0);
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		sla_calendar_unref(cal); /* the reference given to the thread */
	}
	CHECK_INT(t, sla_add_working_days(cal, D("2025-09-30"), 5), D("2025-10-14"));
	sla_calendar_unref(cal);
}

/* The files a calendar is made of (#14 point 10: loaded files go on top of them). */
static void
test_files(struct t *t)
{
	static const char *const paths[] = {CAL_DIR "/2025.txt", CAL_DIR "/nonexistent.txt"};
	struct sla_file *f = NULL, *g = NULL;
	size_t n = 0, m = 0, i;
	char err[256];
	int year = 0;

	CHECK_INT(t, sla_files_read(NULL, &f, &n, err, sizeof(err)), 0);
	CHECK(t, n >= 3);
	CHECK_INT(t, sla_files_read(CAL_DIR, &g, &m, err, sizeof(err)), 0);
	CHECK_INT(t, (int)m, (int)n);
	for (i = 0; i < n && i < m; i++) {
		CHECK(t, strstr(g[i].name, f[i].name) != NULL); /* the same files, in order */
		CHECK_STR(t, g[i].text, f[i].text);
	}
	CHECK_INT(t, sla_file_year(f[0].name, f[0].text, &year, err, sizeof(err)), 0);
	CHECK_INT(t, year, 2024);
	sla_files_free(f, n);
	sla_files_free(g, m);
	CHECK_INT(t, sla_files_read("tests/unit", &f, &n, err, sizeof(err)), -1);
	CHECK_INT(t, sla_files_read_paths(paths, 1, &f, err, sizeof(err)), 0);
	CHECK_INT(t, sla_file_year(f[0].name, f[0].text, &year, err, sizeof(err)), 0);
	CHECK_INT(t, year, 2025);
	sla_files_free(f, 1);
	CHECK_INT(t, sla_files_read_paths(paths, 2, &f, err, sizeof(err)), -1);
	CHECK(t, strstr(err, "nonexistent.txt") != NULL);
	/* a file's faults are named with their line; a New Year block in the December before */
	CHECK_INT(t, sla_file_year("x.txt", "# c\n2027-01-06 off a\n2027-01-11 work b\n", &year,
	                           err, sizeof(err)),
	          -1);
	CHECK(t, strncmp(err, "x.txt:3:", 8) == 0);
	CHECK_INT(t, sla_file_year("y.txt", "2026-12-31 off a\n2027-01-01 off a\n", &year, err,
	                           sizeof(err)),
	          0);
	CHECK_INT(t, year, 2027);
}

int
main(void)
{
	struct t t = {0, 0, 0};

	if (sla_set_zone("Asia/Shanghai") != 0) {
		printf("Bail out! time zone Asia/Shanghai not found (tzdata)\n");
		return 1;
	}
	RUN(&t, test_dates);
	RUN(&t, test_zone);
	RUN(&t, test_zone_fold_at_midnight);
	RUN(&t, test_zone_table);
	RUN(&t, test_parser_cases);
	RUN(&t, test_parser_bytes);
	RUN(&t, test_load);
	RUN(&t, test_property_builtin);
	RUN(&t, test_property_random);
	RUN(&t, test_fixed_cases);
	RUN(&t, test_due);
	RUN(&t, test_days_left);
	RUN(&t, test_explain);
	RUN(&t, test_range);
	RUN(&t, test_refcount);
	RUN(&t, test_files);
	return t_done(&t);
}
