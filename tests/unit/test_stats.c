/*
 * test_stats.c: unit tests of the statistics' pure parts (service/core/stats.c): the periods a
 * request may name and the ranking specification.
 */
#include <stdio.h>
#include <string.h>

#include "service/core/core.h"
#include "tests/check.h"

static void
expect_period(struct t *t, const char *s, const char *from, const char *to)
{
	struct stats_period p;
	char a[16], b[16];

	if (from == NULL) {
		CHECK(t, stats_period_parse(s, &p) != 0);
		return;
	}
	CHECK_INT(t, stats_period_parse(s, &p), 0);
	sla_date_format(p.from, a);
	sla_date_format(p.to, b);
	CHECK_STR(t, a, from);
	CHECK_STR(t, b, to);
	CHECK_STR(t, p.label, s);
}

static void
test_periods(struct t *t)
{
	expect_period(t, "2026-11", "2026-11-01", "2026-11-30");
	expect_period(t, "2026-12", "2026-12-01", "2026-12-31");
	expect_period(t, "2024-02", "2024-02-01", "2024-02-29");
	expect_period(t, "2026-Q1", "2026-01-01", "2026-03-31");
	expect_period(t, "2026-Q4", "2026-10-01", "2026-12-31");
	expect_period(t, "2026", "2026-01-01", "2026-12-31");
	expect_period(t, "2026-11-03..2026-11-03", "2026-11-03", "2026-11-03");
	expect_period(t, "2025-12-20..2026-01-10", "2025-12-20", "2026-01-10");
	expect_period(t, "2026-13", NULL, NULL);
	expect_period(t, "2026-00", NULL, NULL);
	expect_period(t, "2026-Q0", NULL, NULL);
	expect_period(t, "2026-Q5", NULL, NULL);
	expect_period(t, "2026-1", NULL, NULL);
	expect_period(t, "26", NULL, NULL);
	expect_period(t, "", NULL, NULL);
	expect_period(t, "2026-11-05..2026-11-04", NULL, NULL);
	expect_period(t, "2026-11-31..2026-12-01", NULL, NULL);
	expect_period(t, "2000-01-01..2026-01-01", NULL, NULL);
	expect_period(t, "2026-11-01..", NULL, NULL);
	expect_period(t, "x026", NULL, NULL);
	expect_period(t, "2026-11-01..2026-11-30extra", NULL, NULL);
}

static void
test_rank_spec(struct t *t)
{
	char err[256];

	CHECK_INT(t, stats_rank_check("on_time,satisfaction,volume", err, sizeof(err)), 0);
	CHECK_INT(t, stats_rank_check("speed", err, sizeof(err)), 0);
	CHECK_INT(t, stats_rank_check("completion,on_time", err, sizeof(err)), 0);
	CHECK_INT(t, stats_rank_check("", err, sizeof(err)), -1);
	CHECK_INT(t, stats_rank_check("on_time,on_time", err, sizeof(err)), -1);
	CHECK(t, strstr(err, "repeated") != NULL);
	CHECK_INT(t, stats_rank_check("on_time,fastest", err, sizeof(err)), -1);
	CHECK(t, strstr(err, "fastest") != NULL);
}

int
main(void)
{
	struct t t = {0, 0, 0};

	sla_set_zone("Asia/Shanghai");
	RUN(&t, test_periods);
	RUN(&t, test_rank_spec);
	return t_done(&t);
}
