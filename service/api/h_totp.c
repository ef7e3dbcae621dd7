/* h_totp.c: the staff second factor: GET /api/v1/totp, POST /api/v1/totp/enroll,
 * POST /api/v1/totp/confirm, DELETE /api/v1/admin/users/{name}/totp. */
#include <string.h>

#include <sodium.h>

#include "api_int.h"

/* GET /api/v1/totp: 200 {"enrolled","required","recovery_codes_left"}. */
void
h_totp_status(struct req *req, struct resp *resp)
{
	struct session *s = req->session;
	int64_t left = 0;
	int enrolled = totp_enrolled(req->db, s->account_id);

	if (enrolled < 0 || core_totp_recovery_left(req->db, s->account_id, &left) != 0) {
		resp_error(resp, 500, "internal", "the second factor cannot be read");
		return;
	}
	resp_json(resp, 200,
	          json_pack("{s:b, s:b, s:I}", "enrolled", enrolled, "required",
	                    totp_required(req->app, s->role), "recovery_codes_left",
	                    (json_int_t)left));
}

/* POST /api/v1/totp/enroll: 200 {"secret":BASE32,"uri":"otpauth://totp/…","digits":6,
 * "period":30}: a new key, in use once confirmed; 409 "enrolled" when one is in use. */
void
h_totp_enroll(struct req *req, struct resp *resp)
{
	char secret[TOTP_SECRET_TEXT], uri[TOTP_URI_MAX];
	struct core_error err;

	if (core_totp_enroll(req->app, req->db, req->session, req->addr, req->now, secret, uri,
	                     &err) != 0) {
		resp_core_error(resp, &err);
		return;
	}
	resp_json(resp, 200,
	          json_pack("{s:s, s:s, s:i, s:i}", "secret", secret, "uri", uri, "digits",
	                    TOTP_DIGITS, "period", TOTP_STEP));
	resp_header(resp, "Cache-Control", "no-store");
	sodium_memzero(secret, sizeof(secret));
	sodium_memzero(uri, sizeof(uri));
}

/* POST /api/v1/totp/confirm {"code":"123456"}: 200 {"recovery_codes":[10 codes]} (shown once);
 * 400 naming code when it is wrong; 409 when no enrolment was started. */
void
h_totp_confirm(struct req *req, struct resp *resp)
{
	char codes[TOTP_RECOVERY_CODES][TOTP_RECOVERY_SIZE];
	struct core_error err;
	json_t *j, *code, *list;
	size_t i;

	if (req_json(req, resp, &j) != 0)
		return;
	code = json_object_get(j, "code");
	if (!json_is_string(code)) {
		resp_error_field(resp, 400, "code", "code is required (the %d digits of the app)",
		                 TOTP_DIGITS);
		goto out;
	}
	if (core_totp_confirm(req->app, req->db, req->session, req->addr, json_string_value(code),
	                      req->now, codes, &err) != 0) {
		resp_core_error(resp, &err);
		goto out;
	}
	list = json_array();
	for (i = 0; list != NULL && i < TOTP_RECOVERY_CODES; i++)
		json_array_append_new(list, json_string(codes[i]));
	resp_json(resp, 200, json_pack("{s:o, s:b}", "recovery_codes", list, "enrolled", 1));
	resp_header(resp, "Cache-Control", "no-store");
	sodium_memzero(codes, sizeof(codes));
out:
	json_decref(j);
}

/* DELETE /api/v1/admin/users/{name}/totp (admin): removes the account's second factor (a lost
 * phone) and ends its sessions: 200 {"ok":true}; 404 when it has none. */
void
h_admin_totp_reset(struct req *req, struct resp *resp)
{
	struct actor who = req_actor(req);
	struct core_error err;

	if (core_totp_reset(req->app, req->db, &who, req->params[0], req->now, &err) != 0) {
		resp_core_error(resp, &err);
		return;
	}
	resp_json(resp, 200, json_pack("{s:b}", "ok", 1));
}
