/* h_audit.c: GET /api/v1/audit — the audit log for administrators (read only: there is no API
 * that changes or deletes its rows). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api_int.h"

#define AUDIT_FILTER_MAX 256 /* bytes of a text filter */

/* Parses a positive decimal number no larger than max; -1 when it is not one. */
static long long
parse_count(const char *s, long long max)
{
	char *end;
	long long v;

	if (s == NULL || *s == '\0')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < 1 || v > max)
		return -1;
	return v;
}

/* A local date parameter as the instant its day starts (end: 1 for the day after). */
static int
date_param(const char *s, int end, int64_t *out)
{
	sla_day day;

	if (sla_date_parse(s, &day) != 0)
		return -1;
	*out = sla_day_end(end ? day : day - 1, 1440) + 1;
	return 0;
}

/* A text column as JSON: null for NULL; a row written with bytes that are not UTF-8 still
 * shows (the log cannot be corrected, so it must never become unreadable). */
static json_t *
text_json(const char *s)
{
	json_t *j;

	if (s == NULL)
		return json_null();
	j = json_string(s);
	return j != NULL ? j : json_string("(not valid UTF-8)");
}

/* GET /api/v1/audit?actor=&action=&target=&from=YYYY-MM-DD&to=YYYY-MM-DD&limit=N&before=ID:
 * 200 {"entries":[{"id","at","actor","addr","action","target","detail","ok"}…],
 * "next_before": id for the next page or null}, newest first; 400 naming a bad parameter. */
void
h_audit(struct req *req, struct resp *resp)
{
	static const char *const texts[] = {"actor", "action", "target"};
	struct db_audit_filter f;
	struct db_audit *v = NULL;
	const char *p;
	long long n;
	size_t count = 0, i;
	json_t *entries, *e;
	char at[32];

	memset(&f, 0, sizeof(f));
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		p = req_query(req, texts[i]);
		if (p != NULL && strlen(p) > AUDIT_FILTER_MAX) {
			resp_error_field(resp, 400, texts[i], "%s is longer than %d bytes",
			                 texts[i], AUDIT_FILTER_MAX);
			return;
		}
		if (p != NULL && p[0] == '\0')
			p = NULL;
		if (i == 0)
			f.actor = p;
		else if (i == 1)
			f.action = p;
		else
			f.target = p;
	}
	p = req_query(req, "from");
	if (p != NULL && date_param(p, 0, &f.from) != 0) {
		resp_error_field(resp, 400, "from", "from must be a date YYYY-MM-DD");
		return;
	}
	p = req_query(req, "to");
	if (p != NULL && date_param(p, 1, &f.to) != 0) {
		resp_error_field(resp, 400, "to", "to must be a date YYYY-MM-DD");
		return;
	}
	p = req_query(req, "limit");
	f.limit = 100;
	if (p != NULL) {
		n = parse_count(p, 1000);
		if (n < 0) {
			resp_error_field(resp, 400, "limit",
			                 "limit must be a number from 1 to 1000");
			return;
		}
		f.limit = (int)n;
	}
	p = req_query(req, "before");
	if (p != NULL) {
		n = parse_count(p, INT64_MAX);
		if (n < 0) {
			resp_error_field(resp, 400, "before", "before must be a positive entry id");
			return;
		}
		f.before = n;
	}
	if (db_audit_list(req->db, &f, &v, &count) != 0) {
		resp_error(resp, 500, "internal", "the audit log cannot be read");
		return;
	}
	entries = json_array();
	for (i = 0; entries != NULL && i < count; i++) {
		sla_format_local(v[i].at, at, sizeof(at));
		e = json_pack("{s:I, s:s, s:o, s:o, s:o, s:o, s:o, s:b}", "id", (json_int_t)v[i].id,
		              "at", at, "actor", text_json(v[i].actor), "addr",
		              text_json(v[i].addr), "action", text_json(v[i].action), "target",
		              text_json(v[i].target), "detail", text_json(v[i].detail), "ok",
		              v[i].ok);
		json_array_append_new(entries, e);
	}
	resp_json(resp, 200,
	          entries ? json_pack("{s:o, s:o}", "entries", entries, "next_before",
	                              count == (size_t)f.limit && count > 0
	                                  ? json_integer(v[count - 1].id)
	                                  : json_null())
	                  : NULL);
	db_audits_free(v, count);
}
