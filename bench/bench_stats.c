/*
 * bench_stats: the statistics of issue 18 on a real-sized archive. Fills a fresh database with
 * BENCH_ITEMS items (default 1,000,000) spread over the year before 2026-11-16, stored with
 * their facts as the service stores them (db_item_insert and stats_record in the same
 * transaction), most replied (on time or late), some rejected, merged, rated or still open;
 * then times stats_compute — the ranking of every section — for a month, a quarter and the
 * year. Target (issue 18): a month's ranking over 1,000,000 items in under 100 ms.
 *
 * usage: bench_stats [DB]   (default: a temporary file, removed afterwards)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "service/core/core.h"

#define RUNS 15 /* timed runs of each period */

static uint64_t
next_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static double
now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Stores n items with their facts. 0 or -1. */
static int
fill(struct app *app, struct db_conn *c, long n, int64_t now)
{
	static const char *const kinds[] = {"letter", "complaint", "consultation"};
	struct sla_calendar *cal = app_calendar(app);
	struct sla_rule rule = {SLA_WORKING_DAYS, 5, 1440};
	struct db_section *secs = NULL;
	size_t nsecs = 0;
	uint64_t seed = 0x9E3779B97F4A7C15ull;
	char tracking[32];
	long i;
	int ret = -1;

	if (db_section_list(c, &secs, &nsecs) != 0 || nsecs == 0 || db_begin(c) != 0)
		goto out;
	for (i = 0; i < n; i++) {
		struct db_item it;
		struct db_clock *k;
		uint64_t r = next_rand(&seed);
		int64_t received = now - (int64_t)(r % (365 * 86400)), end;
		unsigned fate = (unsigned)((r >> 24) % 100);
		const char *state;

		memset(&it, 0, sizeof(it));
		snprintf(tracking, sizeof(tracking), "XJ-B%07ld", i);
		it.tracking = tracking;
		it.kind = (enum kind)kind_parse(kinds[(r >> 8) % 3]);
		it.channel = CHANNEL_WEB;
		it.subject = (char *)"关于路灯的咨询";
		it.body = (char *)"希望有关部门尽快处理。";
		it.received = it.created = received;
		it.extension = (char *)"none";
		it.section_id = (r >> 40) % 20 == 0 ? 0 : secs[(r >> 44) % nsecs].id;
		it.nclocks = 1;
		k = &it.clocks[0];
		snprintf(k->name, sizeof(k->name), "reply");
		snprintf(k->unit, sizeof(k->unit), "working_days");
		k->started = received;
		k->days = 5;
		k->end_minutes = 1440;
		k->due = sla_due(cal, received, &rule);
		/* replies take 1 to 10 days: about a third are late */
		end = received + 86400 + (int64_t)((r >> 20) % (9 * 86400));
		if (it.section_id == 0 || end > now)
			state = "in_progress", end = 0;
		else if (fate < 85)
			state = "replied";
		else if (fate < 92)
			state = "rejected";
		else if (fate < 95)
			state = "merged";
		else
			state = "in_progress", end = 0;
		if (it.section_id == 0)
			state = "received";
		it.state = (enum wf_state)wf_state_parse(state);
		it.resume_state = WF_NONE;
		if (end != 0) {
			k->stopped_at = end;
			if (strcmp(state, "replied") == 0)
				it.replied_at = end;
		}
		it.updated = end != 0 ? end : received;
		it.next_due = db_item_next_due(&it);
		if (db_item_insert(c, &it) != 0 ||
		    stats_record(app, c, &it, "submit", end != 0 ? end : received) != 0)
			goto fail;
		if (it.replied_at != 0 && (r >> 12) % 10 < 3) {
			struct db_rating rt;

			memset(&rt, 0, sizeof(rt));
			rt.item_id = it.id;
			rt.section_id = it.section_id;
			rt.at = end + 3600;
			rt.day = sla_local_day(rt.at);
			rt.value = (char *)((r >> 16) % 10 < 7 ? "satisfied" :
			                    (r >> 16) % 10 < 9 ? "basically_satisfied" : "unsatisfied");
			if (db_rating_add(c, &rt) < 0)
				goto fail;
		}
		if (i % 20000 == 19999 && (db_commit(c) != 0 || db_begin(c) != 0))
			goto out;
	}
	if (db_commit(c) != 0)
		goto out;
	ret = 0;
	goto out;
fail:
	db_rollback(c);
out:
	db_sections_free(secs, nsecs);
	sla_calendar_unref(cal);
	return ret;
}

/* Times stats_compute of period s: writes the median and the worst run in ms. 0 or -1. */
static int
time_period(struct app *app, struct db_conn *c, const char *s, int64_t now, double *median,
            double *worst, struct stats_report *keep)
{
	struct stats_period p;
	struct core_error err;
	double runs[RUNS];
	int i;

	if (stats_period_parse(s, &p) != 0)
		return -1;
	for (i = 0; i < RUNS; i++) {
		struct stats_report r;
		double t0 = now_ms();
		int rc;

		if (db_begin_read(c) != 0)
			return -1;
		rc = stats_compute(app, c, &p, 0, now, &r, &err);
		db_end_read(c);
		runs[i] = now_ms() - t0;
		if (rc != 0) {
			fprintf(stderr, "bench_stats: %s\n", err.message);
			return -1;
		}
		if (i == 0 && keep != NULL)
			*keep = r;
		else
			stats_report_free(&r);
	}
	qsort(runs, RUNS, sizeof(runs[0]), cmp_double);
	*median = runs[RUNS / 2];
	*worst = runs[RUNS - 1];
	return 0;
}

int
main(int argc, char *argv[])
{
	static const char *const periods[] = {"2026-10", "2026-Q3", "2025-11-16..2026-11-15"};
	struct app app;
	struct db_conn *c = NULL;
	struct stats_report month;
	char dir[] = "/tmp/bench-stats-XXXXXX", path[128];
	const char *items = getenv("BENCH_ITEMS");
	long n = items != NULL ? atol(items) : 1000000;
	double t0, median, worst, month_ms = 0;
	int64_t now;
	size_t i;
	int rc = 1, opened = 0, tmp = argc < 2;

	if (tmp && mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/stats.db", dir);
	setenv("CIVICDESK_DB", tmp ? path : argv[1], 1);
	setenv("CIVICDESK_DEMO", "1", 1);
	if (app_open(&app, NULL, fopen("/dev/null", "w")) != 0)
		goto out;
	opened = 1;
	if (sla_parse_local("2026-11-16T00:00", &now) != 0)
		goto out;
	c = db_acquire(app.db);
	if (c == NULL)
		goto out;
	t0 = now_ms();
	if (fill(&app, c, n, now) != 0) {
		fprintf(stderr, "bench_stats: cannot fill: %s\n", db_errmsg(c));
		goto out;
	}
	printf("bench_stats: %ld items with their facts stored in %.1f s\n", n,
	       (now_ms() - t0) / 1e3);
	memset(&month, 0, sizeof(month));
	for (i = 0; i < sizeof(periods) / sizeof(periods[0]); i++) {
		if (time_period(&app, c, periods[i], now, &median, &worst, i == 0 ? &month : NULL) != 0)
			goto out;
		printf("  ranking of %-24s median %7.1f ms, worst of %d %7.1f ms\n", periods[i], median,
		       RUNS, worst);
		if (i == 0)
			month_ms = median;
	}
	for (i = 0; i < month.n; i++)
		printf("  2026-10 #%d %s: received %lld, replied %lld (on time %.1f%%), open %lld, "
		       "overdue %lld, satisfaction %.1f%%\n",
		       month.sections[i].rank, month.sections[i].name,
		       (long long)month.sections[i].n.received, (long long)month.sections[i].n.replied,
		       month.sections[i].on_time_rate * 100, (long long)month.sections[i].n.open,
		       (long long)month.sections[i].n.overdue,
		       month.sections[i].satisfaction_rate * 100);
	stats_report_free(&month);
	printf("target: a month's ranking over %ld items < 100 ms: %s (median %.1f ms)\n", n,
	       month_ms < 100 ? "PASS" : "FAIL", month_ms);
	rc = month_ms < 100 ? 0 : 1;
out:
	if (c != NULL)
		db_release(app.db, c);
	if (opened)
		app_close(&app);
	if (tmp) {
		char f[160];

		snprintf(f, sizeof(f), "%s-wal", path);
		unlink(f);
		snprintf(f, sizeof(f), "%s-shm", path);
		unlink(f);
		unlink(path);
		rmdir(dir);
	}
	return rc;
}
