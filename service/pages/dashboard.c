/*
 * dashboard.c: the statistics part of the supervisors' dashboard — the period (month, quarter,
 * year), the sections ranked by core's statistics (stats_compute, the figures of
 * GET /api/v1/stats), two charts drawn by the server as SVG geometry that the template writes
 * out (no script, nothing fetched), and the same report as a CSV download.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pages_int.h"

#define CHART_WIDTH 640   /* the SVG's user units */
#define CHART_LABEL 180   /* left column: section names */
#define CHART_BARS 380    /* the longest bar */
#define CHART_ROW 34      /* height of one section's row */
#define CHART_NAME_MAX 12 /* code points of a section's name in a chart (the table has it all) */
#define CHART_TOP 8
#define PERIOD_MONTHS 12 /* months offered, the current one first */
#define PERIOD_QUARTERS 8
#define PERIOD_YEARS 3

/* "93.3%" or "—" for a missing rate. */
static void
rate_text(double v, char buf[16])
{
	if (v < 0)
		snprintf(buf, 16, "—");
	else
		snprintf(buf, 16, "%.1f%%", v * 100.0);
}

/* The period asked (?period=), else the current month, into *p; 0, or -1 when the one asked is
 * not a period (the page says so and shows the current month). */
static int
period_of(struct page *pg, const char *asked, struct stats_period *p)
{
	char today[11], month[8];

	page_date(pg->req->now, today);
	snprintf(month, sizeof(month), "%.7s", today);
	if (asked != NULL && asked[0] != '\0' && strstr(asked, "..") == NULL &&
	    stats_period_parse(asked, p) == 0)
		return 0;
	stats_period_parse(month, p);
	return asked == NULL || asked[0] == '\0' ? 0 : -1;
}

/* The choices of the period picker: {label, options[{value, label, selected}]} per group. */
static json_t *
period_choices(struct page *pg, const char *current)
{
	json_t *groups = json_array(), *opts;
	char today[11], v[16], label[64];
	int y, m, q, i, found = 0;

	page_date(pg->req->now, today);
	if (sscanf(today, "%d-%d", &y, &m) != 2)
		return groups;
	opts = json_array();
	for (i = 0; i < PERIOD_MONTHS; i++) {
		int t = y * 12 + (m - 1) - i;

		snprintf(v, sizeof(v), "%04d-%02d", t / 12, t % 12 + 1);
		found |= strcmp(v, current) == 0;
		json_array_append_new(opts, json_pack("{s:s, s:s, s:b}", "value", v, "label", v,
		                                      "selected", strcmp(v, current) == 0));
	}
	json_array_append_new(
	    groups, json_pack("{s:s, s:o}", "label", page_msg(pg, "dash.months"), "options", opts));
	opts = json_array();
	q = (m - 1) / 3 + 1;
	for (i = 0; i < PERIOD_QUARTERS; i++) {
		int t = y * 4 + (q - 1) - i;

		snprintf(v, sizeof(v), "%04d-Q%d", t / 4, t % 4 + 1);
		found |= strcmp(v, current) == 0;
		json_array_append_new(opts, json_pack("{s:s, s:s, s:b}", "value", v, "label", v,
		                                      "selected", strcmp(v, current) == 0));
	}
	json_array_append_new(groups, json_pack("{s:s, s:o}", "label",
	                                        page_msg(pg, "dash.quarters"), "options", opts));
	opts = json_array();
	for (i = 0; i < PERIOD_YEARS; i++) {
		snprintf(v, sizeof(v), "%04d", y - i);
		found |= strcmp(v, current) == 0;
		json_array_append_new(opts, json_pack("{s:s, s:s, s:b}", "value", v, "label", v,
		                                      "selected", strcmp(v, current) == 0));
	}
	if (!found) { /* an older period asked in the address stays selectable */
		snprintf(label, sizeof(label), "%s", current);
		json_array_append_new(opts, json_pack("{s:s, s:s, s:b}", "value", current, "label",
		                                      label, "selected", 1));
	}
	json_array_append_new(
	    groups, json_pack("{s:s, s:o}", "label", page_msg(pg, "dash.years"), "options", opts));
	return groups;
}

/* One row of the ranking table (the section's name with its lang when its script is not the
 * page's). */
static json_t *
section_row(struct page *pg, const struct stats_section *s)
{
	const struct db_stats_row *n = &s->n;
	char ot[16], sr[16], avg[16];

	rate_text(s->on_time_rate, ot);
	rate_text(s->satisfaction_rate, sr);
	if (s->avg_wd < 0)
		snprintf(avg, sizeof(avg), "—");
	else
		snprintf(avg, sizeof(avg), "%.1f", s->avg_wd);
	return json_pack("{s:i, s:s, s:s?, s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:s, s:s, s:b}",
	                 "rank", s->rank, "name", s->name, "name_lang", page_text_lang(pg, s->name),
	                 "received", (json_int_t)n->received, "replied", (json_int_t)n->replied,
	                 "on_time", (json_int_t)n->on_time, "late", (json_int_t)n->late, "open",
	                 (json_int_t)n->open, "overdue", (json_int_t)n->overdue, "on_time_rate", ot,
	                 "satisfaction_rate", sr, "avg_wd", avg, "has_overdue", n->overdue > 0);
}

/* name cut to CHART_NAME_MAX code points with "…" (whole UTF-8 sequences only), into buf. */
static const char *
chart_name(const char *name, char *buf, size_t size)
{
	size_t i = 0, cps = 0;

	while (name[i] != '\0' && cps < CHART_NAME_MAX) {
		i++;
		while ((name[i] & 0xC0) == 0x80)
			i++;
		cps++;
	}
	if (name[i] == '\0' || i + 4 > size)
		return name;
	snprintf(buf, size, "%.*s…", (int)i, name);
	return buf;
}

/* The chart of the on-time rates: one bar per section, in rank order. */
static json_t *
chart_rates(const struct stats_report *r)
{
	json_t *bars = json_array();
	size_t i;

	for (i = 0; i < r->n; i++) {
		const struct stats_section *s = &r->sections[i];
		int y = CHART_TOP + (int)i * CHART_ROW;
		int w = s->on_time_rate < 0 ? 0 : (int)(s->on_time_rate * CHART_BARS + 0.5);
		char label[16], cut[64];

		rate_text(s->on_time_rate, label);
		json_array_append_new(bars, json_pack("{s:s, s:s, s:i, s:i, s:i, s:i, s:s}", "name",
		                                      chart_name(s->name, cut, sizeof(cut)), "full",
		                                      s->name, "y", y, "ty", y + 15, "w", w, "tx",
		                                      CHART_LABEL + w + 6, "label", label));
	}
	return json_pack("{s:i, s:i, s:i, s:o}", "width", CHART_WIDTH, "height",
	                 CHART_TOP * 2 + (int)r->n * CHART_ROW, "x", CHART_LABEL, "bars", bars);
}

/* The chart of received and replied items: two bars per section on one scale. */
static json_t *
chart_volume(const struct stats_report *r)
{
	json_t *rows = json_array();
	int64_t max = 1;
	size_t i;

	for (i = 0; i < r->n; i++) {
		if (r->sections[i].n.received > max)
			max = r->sections[i].n.received;
		if (r->sections[i].n.replied > max)
			max = r->sections[i].n.replied;
	}
	for (i = 0; i < r->n; i++) {
		const struct db_stats_row *n = &r->sections[i].n;
		int y = CHART_TOP + (int)i * CHART_ROW;
		int w1 = (int)(n->received * CHART_BARS / max),
		    w2 = (int)(n->replied * CHART_BARS / max);
		char cut[64];

		json_array_append_new(
		    rows,
		    json_pack("{s:s, s:s, s:i, s:i, s:i, s:i, s:i, s:i, s:i, "
		              "s:I, s:I, s:i, s:i}",
		              "name", chart_name(r->sections[i].name, cut, sizeof(cut)), "full",
		              r->sections[i].name, "ty", y + 19, "y1", y, "w1", w1, "y2", y + 15,
		              "w2", w2, "tx1", CHART_LABEL + w1 + 6, "tx2", CHART_LABEL + w2 + 6,
		              "received", (json_int_t)n->received, "replied",
		              (json_int_t)n->replied, "ty1", y + 11, "ty2", y + 26));
	}
	return json_pack("{s:i, s:i, s:i, s:o}", "width", CHART_WIDTH, "height",
	                 CHART_TOP * 2 + (int)r->n * CHART_ROW, "x", CHART_LABEL, "rows", rows);
}

void
page_dash_stats(struct page *pg)
{
	struct stats_period p;
	struct stats_report r;
	struct core_error err;
	json_t *rows, *st;
	char from[16], to[16], at[16], href[96];
	size_t i;
	int bad;

	bad = period_of(pg, req_query(pg->req, "period"), &p) != 0;
	memset(&err, 0, sizeof(err));
	/* a GET runs in one read snapshot (http/): the figures agree with each other */
	if (stats_compute(pg->req->app, pg->req->db, &p, 0, pg->req->now, &r, &err) != 0) {
		json_object_set_new(pg->data, "stats",
		                    json_pack("{s:s}", "problem", page_msg(pg, "err.internal")));
		return;
	}
	rows = json_array();
	for (i = 0; i < r.n; i++)
		json_array_append_new(rows, section_row(pg, &r.sections[i]));
	sla_date_format(r.period.from, from);
	sla_date_format(r.period.to, to);
	sla_date_format(r.end_day, at);
	snprintf(href, sizeof(href), "/staff/stats.csv?period=%s", r.period.label);
	st = json_pack(
	    "{s:s, s:s, s:s, s:s, s:o, s:b, s:o, s:o, s:s, s:I, s:I, s:o}", "period_label",
	    r.period.label, "from", from, "to", to, "open_at", at, "rows", rows, "has_rows",
	    r.n > 0, "chart_rates", chart_rates(&r), "chart_volume", chart_volume(&r), "csv_href",
	    href, "unassigned_received", (json_int_t)r.unassigned.received, "unassigned_open",
	    (json_int_t)r.unassigned.open, "periods", period_choices(pg, r.period.label));
	if (st != NULL && bad)
		json_object_set_new(st, "bad_period", json_string(page_msg(pg, "dash.bad_period")));
	json_object_set_new(pg->data, "stats", st);
	stats_report_free(&r);
}

/* GET /staff/stats.csv?period=… (supervisor, admin): the report of the period as CSV
 * (stats_csv_new, what GET /api/v1/stats?format=csv answers) to download. */
void
pg_staff_stats_csv(struct req *req, struct resp *resp)
{
	struct page pg;
	struct stats_period p;
	struct stats_report r;
	struct core_error err;
	char *csv;

	if (!page_staff_begin(&pg, req, resp, "dash.title", "dashboard", 0))
		return;
	if (pg.staff->role != ROLE_SUPERVISOR && pg.staff->role != ROLE_ADMIN) {
		page_error(&pg, 403, "err.forbidden");
		return;
	}
	if (period_of(&pg, req_query(req, "period"), &p) != 0) {
		page_error(&pg, 400, "dash.bad_period");
		return;
	}
	memset(&err, 0, sizeof(err));
	if (stats_compute(req->app, req->db, &p, 0, req->now, &r, &err) != 0) {
		page_error(&pg, 500, "err.internal");
		return;
	}
	csv = stats_csv_new(&r);
	stats_report_free(&r);
	if (csv == NULL) {
		page_error(&pg, 500, "err.internal");
		return;
	}
	resp_text(resp, 200, "text/csv; charset=utf-8", csv, strlen(csv));
	resp_header(resp, "Content-Disposition", "attachment; filename=\"civicdesk-%s.csv\"",
	            p.label);
	free(csv);
	page_free(&pg);
}
