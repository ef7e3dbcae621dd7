/* h_auth.c: POST /api/v1/login, POST /api/v1/logout, GET /api/v1/me, POST /api/v1/password. */
#include <string.h>

#include <sodium.h>

#include "api_int.h"

/* The string member name of j, or NULL after answering 400 naming the field. */
static const char *
string_field(json_t *j, const char *name, struct resp *resp)
{
	json_t *v = json_object_get(j, name);

	if (!json_is_string(v)) {
		resp_error_field(resp, 400, name, "%s is required (a string)", name);
		return NULL;
	}
	return json_string_value(v);
}

/* The section name of a session, or JSON null. */
static json_t *
section_json(struct req *req, int64_t id)
{
	struct db_section s;
	json_t *j;

	if (id == 0 || db_section_get(req->db, id, &s) <= 0)
		return json_null();
	j = json_string(s.name);
	db_section_free(&s);
	return j;
}

/* The optional string member name of j: NULL when absent, "" (refused later) when not a
 * string. */
static const char *
opt_field(json_t *j, const char *name)
{
	json_t *v = json_object_get(j, name);

	if (v == NULL || json_is_null(v))
		return NULL;
	return json_is_string(v) ? json_string_value(v) : "";
}

/* POST /api/v1/login {"username","password"[,"totp"|"recovery_code"]}: 200 with the session
 * cookie and {"csrf_token","username","role","section","must_change","must_enroll","enroll_by"}
 * (must_enroll: the role needs a second factor the account has not enrolled; enroll_by: until
 * when it may work without one, null when nothing is pending); 401
 * login_failed for a wrong password, a wrong second factor and an unknown, locked or inactive
 * account alike; 401 totp_required when the password is right and the account's second factor
 * (its code "totp", or a recovery code) is missing; 503 totp_key_unavailable when the password
 * is right but the code cannot be checked (the key file that seals the TOTP keys is missing or
 * wrong); 400 for a malformed body. */
void
h_login(struct req *req, struct resp *resp)
{
	struct session *s = NULL;
	char token[AUTH_TOKEN_SIZE];
	const char *user, *pw;
	json_t *j;
	int rc;

	if (req_json(req, resp, &j) != 0)
		return;
	user = string_field(j, "username", resp);
	pw = user ? string_field(j, "password", resp) : NULL;
	if (pw == NULL)
		goto out;
	rc = core_login_2fa(req->app, req->db, user, pw, opt_field(j, "totp"),
	                    opt_field(j, "recovery_code"), req->addr, req->now, token, &s);
	if (rc < 0) {
		resp_error(resp, 500, "internal", "the login cannot be processed; try again");
		goto out;
	}
	if (rc == 2) {
		int64_t wait = 1;

		if (core_login_throttle(req->app, req->db, req->addr, req->now, &wait) != 1)
			wait = 1;
		resp_error(resp, 429, "too_many_attempts",
		           "too many failed logins from this address; try again in %lld s",
		           (long long)wait);
		resp_header(resp, "Retry-After", "%lld", (long long)wait);
		goto out;
	}
	if (rc == 3) {
		resp_error(resp, 401, "totp_required",
		           "this account logs in with a second factor: send the code of the "
		           "authenticator app as \"totp\" (or a recovery code as \"recovery_code\")");
		goto out;
	}
	if (rc == 4) {
		resp_error(resp, 503, "totp_key_unavailable",
		           "the second factor cannot be checked now: the server's key file for the "
		           "second factors is missing or wrong (an administrator puts it back; its log "
		           "says which file); a recovery code still works");
		resp_header(resp, "Retry-After", "60");
		goto out;
	}
	if (rc > 0) {
		resp_error(resp, 401, "login_failed",
		           "wrong account name or password, or the account is locked or inactive");
		goto out;
	}
	auth_cookie(req, resp, token);
	resp_json(resp, 200,
	          json_pack("{s:s, s:s, s:s, s:o, s:b, s:b, s:o}", "csrf_token", s->csrf_token,
	                    "username", s->username, "role", role_name(s->role), "section",
	                    section_json(req, s->section_id), "must_change", s->must_change,
	                    "must_enroll", s->enroll_by != 0, "enroll_by", json_time(s->enroll_by)));
out:
	sodium_memzero(token, sizeof(token));
	session_free(s);
	json_decref(j);
}

/* POST /api/v1/logout (session and CSRF token): ends the session, clears the cookie, 200. */
void
h_logout(struct req *req, struct resp *resp)
{
	const char *cookie = req_cookie(req, AUTH_COOKIE);
	struct actor who = req_actor(req);

	if (cookie != NULL && core_logout(req->app, req->db, cookie, &who, req->now) != 0) {
		resp_error(resp, 500, "internal", "the session cannot be ended; try again");
		return;
	}
	auth_cookie(req, resp, NULL);
	resp_json(resp, 200, json_pack("{s:b}", "ok", 1));
}

/* GET /api/v1/me: the session's account: 200 {"username","role","section","display_name",
 * "must_change","must_enroll","enroll_by","csrf_token"}. */
void
h_me(struct req *req, struct resp *resp)
{
	struct db_account a;
	struct session *s = req->session;
	int rc = db_account_get(req->db, s->account_id, &a);

	if (rc <= 0) {
		resp_error(resp, rc < 0 ? 500 : 401, rc < 0 ? "internal" : "unauthenticated",
		           "the account cannot be read");
		return;
	}
	resp_json(resp, 200,
	          json_pack("{s:s, s:s, s:o, s:s?, s:s?, s:s?, s:b, s:b, s:o, s:s}", "username",
	                    a.username, "role", role_name(a.role), "section",
	                    section_json(req, a.section_id), "display_name", a.display_name, "email",
	                    a.email, "phone", a.phone, "must_change", s->must_change, "must_enroll",
	                    s->enroll_by != 0, "enroll_by", json_time(s->enroll_by), "csrf_token",
	                    s->csrf_token));
	db_account_free(&a);
}

/* POST /api/v1/password {"old_password","new_password"}: 200 {"must_change":false}; 400 naming
 * old_password when it is wrong, new_password when the policy refuses it (the message says
 * which rule). */
void
h_password(struct req *req, struct resp *resp)
{
	struct session *s = req->session;
	struct actor who = {s->account_id, s->username, req->addr};
	struct acct_error err;
	struct db_account a;
	const char *old, *new;
	json_t *j;
	int rc;

	if (req_json(req, resp, &j) != 0)
		return;
	old = string_field(j, "old_password", resp);
	new = old ? string_field(j, "new_password", resp) : NULL;
	if (new == NULL)
		goto out;
	rc = db_account_get(req->db, s->account_id, &a);
	if (rc <= 0) {
		resp_error(resp, 500, "internal", "the account cannot be read");
		goto out;
	}
	auth_pwhash_enter(req->app);
	rc = strlen(old) <= AUTH_PASSWORD_MAX && auth_verify_password(a.password_hash, old);
	auth_pwhash_leave(req->app);
	db_account_free(&a);
	if (!rc) {
		if (db_begin(req->db) == 0 &&
		    (audit_write(req->db, req->now, &who, "password_change_failed", s->username, 0,
		                 "wrong current password") != 0 ||
		     db_commit(req->db) != 0))
			db_rollback(req->db);
		resp_error_field(resp, 400, "old_password", "the current password is wrong");
		goto out;
	}
	switch (account_set_password(req->app, req->db, &who, s->username, new, 0, s->token_hash,
	                             &err)) {
	case ACCT_OK:
		resp_json(resp, 200, json_pack("{s:b}", "must_change", 0));
		break;
	case ACCT_WEAK:
		resp_error_rule(resp, 400, "invalid_field", "new_password", err.rule, "%s",
		                err.message);
		break;
	case ACCT_INVALID:
	case ACCT_NOT_FOUND:
		resp_error(resp, 403, "forbidden", "%s", err.message);
		break;
	default:
		resp_error(resp, 500, "internal", "%s", err.message);
		break;
	}
out:
	json_decref(j);
}
