/* h_health.c: GET /api/v1/health — liveness, version and calendar coverage. */
#include "api_int.h"

/* Answers 200 {"status":"ok","version":…,"calendar":{"first":…,"last":…}}. */
void
h_health(struct req *req, struct resp *resp)
{
	struct sla_calendar *cal = app_calendar(req->app);
	char first[11], last[11];
	sla_day a, b;

	sla_calendar_range(cal, &a, &b);
	sla_date_format(a, first);
	sla_date_format(b, last);
	sla_calendar_unref(cal);
	resp_json(resp, 200,
	          json_pack("{s:s, s:s, s:{s:s, s:s}}", "status", "ok", "version",
	                    CIVICDESK_VERSION, "calendar", "first", first, "last", last));
}

#ifdef CIVICDESK_TEST_HOOKS
/* Test builds only: POST /api/v1/test/clock {"now":"2025-09-30T10:00"} sets the injected clock
 * ("now": null returns to real time). Answers 200 {"now": seconds}. */
void
h_test_clock(struct req *req, struct resp *resp)
{
	json_t *j, *now;
	int64_t t = 0;

	if (req_json(req, resp, &j) != 0)
		return;
	now = json_object_get(j, "now");
	if (json_is_string(now)) {
		if (sla_parse_local(json_string_value(now), &t) != 0) {
			json_decref(j);
			resp_error_field(resp, 400, "now", "not a time");
			return;
		}
	} else if (json_is_integer(now)) {
		t = json_integer_value(now);
	} else if (!json_is_null(now)) {
		json_decref(j);
		resp_error_field(resp, 400, "now", "expected a time, seconds or null");
		return;
	}
	json_decref(j);
	pthread_mutex_lock(&req->app->test_lock);
	req->app->test_now = t;
	pthread_mutex_unlock(&req->app->test_lock);
	resp_json(resp, 200, json_pack("{s:I}", "now", (json_int_t)app_now(req->app)));
}
#endif
