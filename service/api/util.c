/* util.c: helpers the handlers share: the audit row of a request, the "before" parameter, a
 * form's repeated fields. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_int.h"

int
audit_log(struct req *req, const char *action, const char *target, const char *fmt, ...)
{
	struct actor who = req_actor(req);
	char *detail = NULL;
	va_list ap;
	int rc;

	if (fmt != NULL) {
		va_start(ap, fmt);
		if (vasprintf(&detail, fmt, ap) < 0)
			detail = NULL;
		va_end(ap);
		if (detail == NULL)
			return -1;
	}
	rc = audit_write(req->db, req->now, &who, action, target, 1, detail);
	free(detail);
	return rc;
}

const char *
form_conflict(const struct req *req)
{
	const struct form_field *f, *g;
	size_t i, j;

	for (i = 1; i < req->nform; i++) {
		f = &req->form[i];
		if (f->filename != NULL)
			continue;
		for (j = 0; j < i; j++) {
			g = &req->form[j];
			if (g->filename == NULL && strcmp(f->name, g->name) == 0 &&
			    (f->size != g->size || memcmp(f->data, g->data, f->size) != 0))
				return f->name;
		}
	}
	return NULL;
}

/* The HTTP status of each core error. */
static const int statuses[CORE_ERR__MAX] = {
    [CORE_OK] = 200,
    [CORE_INVALID] = 400,
    [CORE_TOO_LARGE] = 413,
    [CORE_FORBIDDEN] = 403,
    [CORE_NOT_FOUND] = 404,
    [CORE_CONFLICT] = 409,
    [CORE_BUSY] = 503,
    [CORE_ERROR] = 500,
};

int
core_error_status(const struct core_error *err)
{
	return (unsigned)err->code < CORE_ERR__MAX ? statuses[err->code] : 500;
}

void
resp_core_error(struct resp *resp, const struct core_error *err)
{
	int status = core_error_status(err);
	const char *code = err->code_name ? err->code_name : core_strerror(err->code);
	json_t *allowed, *j;
	int a;

	if (err->code == CORE_CONFLICT && err->state >= 0 && !resp->georeport) {
		allowed = json_array();
		for (a = 0; allowed != NULL && a < WF_ACTION__MAX; a++)
			if (err->allowed & (1ul << a))
				json_array_append_new(
				    allowed, json_string(wf_transition((enum wf_action)a)->name));
		j = json_pack("{s:{s:s, s:s, s:s, s:o}}", "error", "code", code, "message",
		              err->message, "state", wf_state_name((enum wf_state)err->state),
		              "allowed", allowed ? allowed : json_array());
		resp_json(resp, status, j);
		return;
	}
	if (err->field != NULL && err->code_name != NULL && !resp->georeport) {
		resp_json(resp, status,
		          json_pack("{s:{s:s, s:s, s:s}}", "error", "code", err->code_name, "field",
		                    err->field, "message", err->message));
		return;
	}
	if (err->field != NULL)
		resp_error_field(resp, status, err->field, "%s", err->message);
	else
		resp_error(resp, status, code, "%s", err->message);
	if (status == 503)
		resp_header(resp, "Retry-After", "5");
}

int
before_param(struct req *req, struct resp *resp, int64_t *out)
{
	const char *s = req_query(req, "before");
	char *end;

	*out = INT64_MAX;
	if (s == NULL)
		return 0;
	errno = 0;
	*out = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || *out < 1) {
		resp_error_field(resp, 400, "before", "before is the id of a row");
		return -1;
	}
	return 0;
}
