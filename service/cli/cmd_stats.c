/*
 * cmd_stats.c: `civicdesk stats --period P [--section NAME] [--csv]`: the statistics of a
 * period per section and their ranking, as a table or CSV (the figures of GET /api/v1/stats).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service/core/core.h"
#include "cli.h"

#define EX_OK 0
#define EX_USAGE 64
#define EX_DATAERR 65
#define EX_NOINPUT 66
#define EX_SOFTWARE 70

static void
usage(FILE *out)
{
	fprintf(out,
	        "usage: civicdesk stats --period YYYY-MM|YYYY-Qn|YYYY|YYYY-MM-DD..YYYY-MM-DD\n"
	        "                       [--section NAME] [--csv] [--config FILE]\n");
}

/* A rate as a percentage, or "-" when missing. */
static void
pct(double v, char buf[16])
{
	if (v < 0)
		snprintf(buf, 16, "-");
	else
		snprintf(buf, 16, "%.1f%%", v * 100);
}

static void
print_table(const struct stats_report *r, int one_section)
{
	char from[16], to[16], end[16], ot[16], cr[16], sr[16], avg[16];
	size_t i;

	sla_date_format(r->period.from, from);
	sla_date_format(r->period.to, to);
	sla_date_format(r->end_day, end);
	printf("period %s (%s to %s), open and overdue at the end of %s\n", r->period.label, from,
	       to, end);
	printf("rank\tsection\treceived\treplied\ton_time\tlate\topen\toverdue\trejected\tmerged\t"
	       "on_time_rate\tcompletion_rate\tsatisfaction_rate\tavg_wd\n");
	for (i = 0; i < r->n; i++) {
		const struct stats_section *s = &r->sections[i];

		pct(s->on_time_rate, ot);
		pct(s->completion_rate, cr);
		pct(s->satisfaction_rate, sr);
		if (s->avg_wd < 0)
			snprintf(avg, sizeof(avg), "-");
		else
			snprintf(avg, sizeof(avg), "%.2f", s->avg_wd);
		printf("%d\t%s\t%lld\t%lld\t%lld\t%lld\t%lld\t%lld\t%lld\t%lld\t%s\t%s\t%s\t%s\n",
		       s->rank, s->name, (long long)s->n.received, (long long)s->n.replied,
		       (long long)s->n.on_time, (long long)s->n.late, (long long)s->n.open,
		       (long long)s->n.overdue, (long long)s->n.rejected, (long long)s->n.merged, ot,
		       cr, sr, avg);
	}
	/* the items no section holds yet (waiting for a dispatcher), as GET /api/v1/stats's
	 * "unassigned": without it a full queue of new items shows as nothing received */
	if (!one_section) {
		const struct db_stats_row *u = &r->unassigned;

		printf("-\t" STATS_NO_SECTION "\t%lld\t-\t-\t-\t%lld\t%lld\t%lld\t%lld\t-\t-\t-\t-\n",
		       (long long)u->received, (long long)u->open, (long long)u->overdue,
		       (long long)u->rejected, (long long)u->merged);
	}
}

int
cmd_stats(int argc, char **argv)
{
	const char *period = NULL, *section = NULL, *config = NULL;
	struct stats_period p;
	struct stats_report r;
	struct core_error err;
	struct db_conn *c = NULL;
	struct app app;
	int64_t only = 0;
	int i, csv = 0, rc = EX_SOFTWARE;

	if (cli_help(argc, argv)) {
		usage(stdout);
		return EX_OK;
	}
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--period") == 0 && i + 1 < argc)
			period = argv[++i];
		else if (strcmp(argv[i], "--section") == 0 && i + 1 < argc)
			section = argv[++i];
		else if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			config = argv[++i];
		else if (strcmp(argv[i], "--csv") == 0)
			csv = 1;
		else {
			fprintf(stderr, "civicdesk stats: %s %s\n",
			        argv[i][0] == '-' ? "unknown option or missing value:" : "unexpected",
			        argv[i]);
			usage(stderr);
			return EX_USAGE;
		}
	}
	if (period == NULL) {
		fprintf(stderr, "civicdesk stats: which period? (--period)\n");
		usage(stderr);
		return EX_USAGE;
	}
	if (stats_period_parse(period, &p) != 0) {
		fprintf(stderr, "civicdesk stats: period: '%s' is not YYYY-MM, YYYY-Qn, YYYY or "
		                "YYYY-MM-DD..YYYY-MM-DD\n", period);
		return EX_DATAERR;
	}
	if (cli_db_exists(config, "stats") != 0)
		return EX_NOINPUT;
	if (app_open(&app, config, stderr) != 0)
		return EX_SOFTWARE;
	c = db_acquire(app.db);
	if (c == NULL)
		goto out;
	if (section != NULL) {
		struct db_section s;
		int found = db_section_by_name(c, section, &s);

		if (found <= 0) {
			fprintf(stderr, "civicdesk stats: %s\n",
			        found < 0 ? "the sections cannot be read" : "no such section");
			rc = found < 0 ? EX_SOFTWARE : EX_DATAERR;
			goto out;
		}
		only = s.id;
		db_section_free(&s);
	}
	memset(&err, 0, sizeof(err));
	if (db_begin_read(c) != 0) {
		fprintf(stderr, "civicdesk stats: the database is busy\n");
		goto out;
	}
	i = stats_compute(&app, c, &p, only, app_now(&app), &r, &err);
	db_end_read(c);
	if (i != 0) {
		fprintf(stderr, "civicdesk stats: %s\n", err.message);
		goto out;
	}
	if (csv) {
		char *text = stats_csv_new(&r);

		if (text != NULL)
			fputs(text, stdout);
		free(text);
		rc = text != NULL ? EX_OK : EX_SOFTWARE;
	} else {
		print_table(&r, only != 0);
		rc = EX_OK;
	}
	stats_report_free(&r);
out:
	if (c != NULL)
		db_release(app.db, c);
	app_close(&app);
	return rc;
}
