/*
 * h_stats.c: GET /api/v1/stats — the statistics of a period per section and their ranking
 * (月排名、季通报、年考评), as JSON or CSV. Supervisors and administrators see every section; a
 * section head sees its own.
 */
#include <stdlib.h>
#include <string.h>

#include "api_int.h"

/* A rate for JSON: a number 0..1, or null when missing. */
static json_t *
rate_json(double v)
{
	return v < 0 ? json_null() : json_real(v);
}

static json_t *
day_json(sla_day d)
{
	char buf[16];

	sla_date_format(d, buf);
	return json_string(buf);
}

/* One section's figures: a new object, or NULL. */
static json_t *
section_json(const struct stats_section *s)
{
	const struct db_stats_row *n = &s->n;
	json_t *j = json_object();

	if (j == NULL)
		return NULL;
	json_object_set_new(j, "section", json_string(s->name));
	json_object_set_new(j, "section_id", json_integer(s->section_id));
	json_object_set_new(j, "rank", json_integer(s->rank));
	json_object_set_new(j, "received", json_integer(n->received));
	json_object_set_new(j, "accepted", json_integer(n->accepted));
	json_object_set_new(j, "forwarded", json_integer(n->forwarded));
	json_object_set_new(j, "replied", json_integer(n->replied));
	json_object_set_new(j, "replied_on_time", json_integer(n->on_time));
	json_object_set_new(j, "replied_late", json_integer(n->late));
	json_object_set_new(j, "open", json_integer(n->open));
	json_object_set_new(j, "overdue", json_integer(n->overdue));
	json_object_set_new(j, "rejected", json_integer(n->rejected));
	json_object_set_new(j, "merged", json_integer(n->merged));
	json_object_set_new(j, "due", json_integer(n->due));
	json_object_set_new(j, "due_replied", json_integer(n->due_replied));
	json_object_set_new(j, "on_time_rate", rate_json(s->on_time_rate));
	json_object_set_new(j, "completion_rate", rate_json(s->completion_rate));
	json_object_set_new(j, "satisfaction_rate", rate_json(s->satisfaction_rate));
	json_object_set_new(j, "ratings",
	                    json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "total", (json_int_t)n->rated,
	                              "satisfied", (json_int_t)n->satisfied, "basically_satisfied",
	                              (json_int_t)n->basically_satisfied, "unsatisfied",
	                              (json_int_t)n->unsatisfied, "followup_open",
	                              (json_int_t)n->followup_open, "reopened",
	                              (json_int_t)n->reopened));
	json_object_set_new(j, "supervised", json_integer(n->supervised));
	json_object_set_new(j, "avg_working_days_to_reply", rate_json(s->avg_wd));
	json_object_set_new(j, "p90_working_days_to_reply", rate_json(s->p90_wd));
	return j;
}

/* 200 {"period","from","to","open_at","rank_by","sections":[…],"unassigned":{…}} or text/csv;
 * 400 naming "period", "by" or "format"; 403 for a section head without a section; 500, 503. */
void
h_stats(struct req *req, struct resp *resp)
{
	const char *period = req_query(req, "period"), *by = req_query(req, "by");
	const char *format = req_query(req, "format");
	struct stats_period p;
	struct stats_report r;
	struct core_error err;
	int64_t only = 0;
	json_t *j, *list;
	size_t i;

	if (period == NULL || stats_period_parse(period, &p) != 0) {
		resp_error_field(resp, 400, "period",
		                 "period must be YYYY-MM, YYYY-Qn, YYYY or YYYY-MM-DD..YYYY-MM-DD");
		return;
	}
	if (by != NULL && strcmp(by, "section") != 0) {
		resp_error_field(resp, 400, "by", "by must be section");
		return;
	}
	if (format != NULL && strcmp(format, "json") != 0 && strcmp(format, "csv") != 0) {
		resp_error_field(resp, 400, "format", "format must be json or csv");
		return;
	}
	if (req->session->role == ROLE_SECTION_HEAD) {
		if (req->session->section_id == 0) {
			resp_error(resp, 403, "forbidden", "your account has no section");
			return;
		}
		only = req->session->section_id;
	}
	memset(&err, 0, sizeof(err));
	if (stats_compute(req->app, req->db, &p, only, req->now, &r, &err) != 0) {
		resp_core_error(resp, &err);
		return;
	}
	if (format != NULL && strcmp(format, "csv") == 0) {
		char *csv = stats_csv_new(&r);

		if (csv == NULL)
			resp_error(resp, 500, "internal", "out of memory");
		else
			resp_text(resp, 200, "text/csv; charset=utf-8", csv, strlen(csv));
		free(csv);
		stats_report_free(&r);
		return;
	}
	list = json_array();
	for (i = 0; list != NULL && i < r.n; i++)
		json_array_append_new(list, section_json(&r.sections[i]));
	j = json_pack("{s:s, s:o, s:o, s:o, s:s, s:o*, s:{s:I, s:I, s:I, s:I, s:I}}", "period",
	              r.period.label, "from", day_json(r.period.from), "to", day_json(r.period.to),
	              "open_at", day_json(r.end_day), "rank_by", req->app->cfg.stats_rank,
	              "sections", list, "unassigned", "received", (json_int_t)r.unassigned.received,
	              "open", (json_int_t)r.unassigned.open, "overdue",
	              (json_int_t)r.unassigned.overdue, "rejected",
	              (json_int_t)r.unassigned.rejected, "merged", (json_int_t)r.unassigned.merged);
	stats_report_free(&r);
	if (j == NULL) {
		resp_error(resp, 500, "internal", "out of memory");
		return;
	}
	resp_json(resp, 200, j);
}
