/*
 * session.c: the permission check run for staff routes: the session cookie, its CSRF token for
 * methods that change state, a forced password change, and the route's roles; and the cookie
 * the login handler sets.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "http_int.h"

/* Routes a session whose password must change may still use. */
static const char *const change_exempt[] = {
    "/api/v1/password",
    "/api/v1/logout",
    "/api/v1/me",
};

/* Routes a session that must enrol its second factor may still use. */
static const char *const enroll_exempt[] = {
    "/api/v1/totp", "/api/v1/totp/enroll", "/api/v1/totp/confirm",
    "/api/v1/password", "/api/v1/logout", "/api/v1/me",
};

void
auth_cookie(struct req *req, struct resp *resp, const char *token)
{
	const char *secure = req->app->cfg.cookie_secure ? "; Secure" : "";

	if (token == NULL)
		resp_header(resp, "Set-Cookie",
		            AUTH_COOKIE "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0%s",
		            secure);
	else if (req->app->cfg.session_max <= 0) /* no absolute timeout: a browser session */
		resp_header(resp, "Set-Cookie", AUTH_COOKIE "=%s; Path=/; HttpOnly; SameSite=Strict%s",
		            token, secure);
	else
		resp_header(resp, "Set-Cookie",
		            AUTH_COOKIE "=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%ld%s",
		            token, req->app->cfg.session_max, secure);
}

static int
changes_state(const char *method)
{
	return strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0 &&
	       strcmp(method, "OPTIONS") != 0;
}

static int
path_listed(const char *path, const char *const *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(path, list[i]) == 0)
			return 1;
	return 0;
}

static int
change_exempt_path(const char *path)
{
	return path_listed(path, change_exempt, sizeof(change_exempt) / sizeof(change_exempt[0]));
}

int
auth_check(struct req *req, struct resp *resp, unsigned roles)
{
	const char *sent;
	struct session *s = NULL;

	switch (core_session_get(req->app, req->db, req_cookie(req, AUTH_COOKIE), req->now, &s)) {
	case SESSION_OK:
		break;
	case SESSION_NONE:
		resp_error(resp, 401, "unauthenticated",
		           req_cookie(req, AUTH_COOKIE) ? "the session has ended; log in again"
		                                        : "log in first");
		return -1;
	case SESSION_EXPIRED:
		resp_error(resp, 401, "unauthenticated", "the session has expired; log in again");
		return -1;
	case SESSION_INACTIVE:
		resp_error(resp, 401, "unauthenticated", "the account is not active");
		return -1;
	case SESSION_ERROR:
		resp_error(resp, 500, "internal", "the session cannot be checked");
		return -1;
	}
	if (changes_state(req->method)) {
		sent = req_header(req, "X-CSRF-Token");
		if (sent == NULL || strlen(sent) != strlen(s->csrf_token) ||
		    sodium_memcmp(sent, s->csrf_token, strlen(sent)) != 0) {
			resp_error(
			    resp, 403, "csrf",
			    "the X-CSRF-Token header is missing or does not match the session");
			goto refused;
		}
	}
	if (s->must_change && !change_exempt_path(req->path)) {
		resp_error(resp, 403, "password_change_required",
		           "the password must be changed first (POST /api/v1/password)");
		goto refused;
	}
	if (s->must_enroll &&
	    !path_listed(req->path, enroll_exempt, sizeof(enroll_exempt) / sizeof(enroll_exempt[0]))) {
		resp_error(resp, 403, "totp_enrolment_required",
		           "the role %s needs a second factor: enrol one first (POST "
		           "/api/v1/totp/enroll, then /api/v1/totp/confirm)",
		           role_name(s->role));
		goto refused;
	}
	if (!(roles & ROLE_BIT(s->role))) {
		resp_error(resp, 403, "forbidden", "the role %s may not do this", role_name(s->role));
		goto refused;
	}
	req->session = s;
	return 0;
refused:
	session_free(s);
	return -1;
}

struct actor
req_actor(const struct req *req)
{
	struct actor who = {0, "anonymous", req->addr};

	if (req->session != NULL) {
		who.id = req->session->account_id;
		who.name = req->session->username;
	}
	return who;
}
