/*
 * auth.c: staff authentication: the password policy, argon2id hashing (libsodium), login with
 * lockout, session tokens in a cookie (only their BLAKE2b hash is stored), CSRF tokens, forced
 * password changes, and the permission check run by the HTTP layer for staff routes.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "service.h"

#define AUTH_OPS crypto_pwhash_OPSLIMIT_INTERACTIVE
#define AUTH_MEM crypto_pwhash_MEMLIMIT_INTERACTIVE
#define AUTH_TOUCH_EVERY 60 /* seconds between writes of a session's last_seen */
#define AUTH_NAME_MAX 64    /* bytes of an account name */
#define AUTH_LOCK_MAX 64    /* lockout_failures counted at most */

/* Verified in place of the hash of an account that does not exist, so that the time taken
 * does not tell whether it does (an argon2id string at the interactive cost). */
static const char dummy_hash[crypto_pwhash_STRBYTES] =
    "$argon2id$v=19$m=65536,t=2,p=1$HdEizlYoQXI6x3WhLTn03Q$"
    "BFF7ImgLqC1pCvy1ptNRN0gxSWpVYt4Q0kj6sF9zvlg";

/* Routes a session whose password must change may still use. */
static const char *const change_exempt[] = {
    "/api/v1/password",
    "/api/v1/logout",
    "/api/v1/me",
};

/* Characters of one-time passwords: no 0/O, 1/l/I. */
static const char otp_alphabet[] = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789";

/* The demo accounts of a new database (DESIGN.md "Roles"). */
static const struct {
	const char *name;
	enum role role;
	const char *section; /* NULL: none */
} demo_accounts[] = {
    {"handler1", ROLE_HANDLER, "法规处"},
    {"head1", ROLE_SECTION_HEAD, "法规处"},
    {"dispatcher1", ROLE_DISPATCHER, NULL},
    {"supervisor1", ROLE_SUPERVISOR, NULL},
    {"admin", ROLE_ADMIN, NULL},
};

/* --- passwords and tokens ---------------------------------------------------------------- */

const char *
auth_password_weak(const char *username, const char *pw)
{
	size_t chars = 0, i, len = strlen(pw);
	int lower = 0, upper = 0, digit = 0, symbol = 0;

	if (len > AUTH_PASSWORD_MAX)
		return "the password must be at most 256 bytes long";
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)pw[i];

		if ((ch & 0xC0) != 0x80)
			chars++;
		if (ch < 0x20 || ch == 0x7f)
			return "the password must not contain control characters";
		if (ch >= 'a' && ch <= 'z')
			lower = 1;
		else if (ch >= 'A' && ch <= 'Z')
			upper = 1;
		else if (ch >= '0' && ch <= '9')
			digit = 1;
		else
			symbol = 1;
	}
	if (chars < 8)
		return "the password must be at least 8 characters long";
	if (lower + upper + digit + symbol < 3)
		return "the password must use at least 3 of: lower-case letters, upper-case "
		       "letters, "
		       "digits, symbols";
	if (username != NULL && username[0] != '\0' && strcasestr(pw, username) != NULL)
		return "the password must not contain the account name";
	return NULL;
}

int
auth_hash_password(const char *pw, int generated, char out[AUTH_HASH_SIZE])
{
	unsigned long long ops = generated ? crypto_pwhash_OPSLIMIT_MIN : AUTH_OPS;
	size_t mem = generated ? crypto_pwhash_MEMLIMIT_MIN : AUTH_MEM;

	if (crypto_pwhash_str(out, pw, strlen(pw), ops, mem) != 0) {
		log_err("auth: password hashing failed (out of memory)");
		return -1;
	}
	return 0;
}

int
auth_verify_password(const char *hash, const char *pw)
{
	size_t len = strlen(pw);
	int ok = 0, pad;

	if (hash == NULL) {
		pad = crypto_pwhash_str_verify(dummy_hash, pw, len);
		(void)pad;
		return 0;
	}
	ok = crypto_pwhash_str_verify(hash, pw, len) == 0;
	/* A one-time password's hash is cheap: do the work of a real one too. */
	if (crypto_pwhash_str_needs_rehash(hash, AUTH_OPS, AUTH_MEM) != 0) {
		pad = crypto_pwhash_str_verify(dummy_hash, pw, len);
		(void)pad;
	}
	return ok;
}

void
auth_pwhash_enter(struct app *app)
{
	while (sem_wait(&app->pwhash_slots) != 0 && errno == EINTR)
		;
}

void
auth_pwhash_leave(struct app *app)
{
	sem_post(&app->pwhash_slots);
}

void
auth_random_token(char out[AUTH_TOKEN_SIZE])
{
	unsigned char raw[32];

	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(out, AUTH_TOKEN_SIZE, raw, sizeof(raw),
	                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof(raw));
}

void
auth_token_hash(const char *token, unsigned char out[DB_TOKEN_HASH])
{
	crypto_generichash(out, DB_TOKEN_HASH, (const unsigned char *)token, strlen(token), NULL,
	                   0);
}

void
auth_one_time_password(const char *username, char out[AUTH_OTP_SIZE])
{
	size_t i, n;

	do {
		/* Four groups of four: xxxx-xxxx-xxxx-xxxx, about 93 bits. */
		for (i = 0, n = 0; i < 19; i++) {
			if (i % 5 == 4)
				out[i] = '-';
			else
				out[i] =
				    otp_alphabet[randombytes_uniform(sizeof(otp_alphabet) - 1)];
			n++;
		}
		out[n] = '\0';
	} while (auth_password_weak(username, out) != NULL);
}

int
auth_username_valid(const char *name)
{
	size_t i, len = strlen(name);

	if (len < 3 || len > AUTH_NAME_MAX || !isalpha((unsigned char)name[0]))
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)name[i];

		if (!(isascii(ch) && isalnum(ch)) && ch != '.' && ch != '_' && ch != '-')
			return 0;
	}
	return 1;
}

/* --- sessions ------------------------------------------------------------------------------ */

void
session_free(struct session *s)
{
	if (s == NULL)
		return;
	free(s->username);
	free(s->csrf_token);
	free(s);
}

static struct session *
session_new(const struct db_account *a, const char *csrf, int must_change,
            const unsigned char token_hash[DB_TOKEN_HASH])
{
	struct session *s = calloc(1, sizeof(*s));
	int role = role_parse(a->role);

	if (s == NULL)
		return NULL;
	s->account_id = a->id;
	s->username = strdup(a->username);
	s->csrf_token = strdup(csrf);
	s->role = role < 0 ? ROLE_HANDLER : (enum role)role;
	s->section_id = a->section_id;
	s->must_change = must_change;
	memcpy(s->token_hash, token_hash, DB_TOKEN_HASH);
	if (s->username == NULL || s->csrf_token == NULL || role < 0) {
		session_free(s);
		return NULL;
	}
	return s;
}

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

int
account_must_change(struct app *app, const struct db_account *a, int64_t now)
{
	if (a->must_change)
		return 1;
	return app->cfg.password_max_age_days > 0 &&
	       now - a->password_changed > (int64_t)app->cfg.password_max_age_days * 86400;
}

static int
changes_state(const char *method)
{
	return strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0 &&
	       strcmp(method, "OPTIONS") != 0;
}

static int
change_exempt_path(const char *path)
{
	size_t i;

	for (i = 0; i < sizeof(change_exempt) / sizeof(change_exempt[0]); i++)
		if (strcmp(path, change_exempt[i]) == 0)
			return 1;
	return 0;
}

int
auth_check(struct req *req, struct resp *resp, unsigned roles)
{
	struct app *app = req->app;
	const char *cookie = req_cookie(req, AUTH_COOKIE), *sent;
	unsigned char hash[DB_TOKEN_HASH];
	struct db_session s;
	struct db_account a;
	int rc, role, must, ret = -1;

	memset(&s, 0, sizeof(s));
	memset(&a, 0, sizeof(a));
	if (cookie == NULL || strlen(cookie) != AUTH_TOKEN_SIZE - 1) {
		resp_error(resp, 401, "unauthenticated", "log in first");
		return -1;
	}
	auth_token_hash(cookie, hash);
	rc = db_session_get(req->db, hash, &s);
	if (rc < 0)
		goto fail;
	if (rc == 0) {
		resp_error(resp, 401, "unauthenticated", "the session has ended; log in again");
		return -1;
	}
	if ((app->cfg.session_idle > 0 && req->now - s.last_seen > app->cfg.session_idle) ||
	    (app->cfg.session_max > 0 && req->now - s.created > app->cfg.session_max)) {
		db_session_delete(req->db, hash);
		resp_error(resp, 401, "unauthenticated", "the session has expired; log in again");
		goto out;
	}
	rc = db_account_get(req->db, s.account_id, &a);
	if (rc < 0)
		goto fail;
	if (rc == 0 || strcmp(a.status, "active") != 0) {
		db_session_delete_account(req->db, s.account_id);
		resp_error(resp, 401, "unauthenticated", "the account is not active");
		goto out;
	}
	if (changes_state(req->method)) {
		sent = req_header(req, "X-CSRF-Token");
		if (sent == NULL || strlen(sent) != strlen(s.csrf_token) ||
		    sodium_memcmp(sent, s.csrf_token, strlen(sent)) != 0) {
			resp_error(
			    resp, 403, "csrf",
			    "the X-CSRF-Token header is missing or does not match the session");
			goto out;
		}
	}
	must = account_must_change(app, &a, req->now);
	if (must && !change_exempt_path(req->path)) {
		resp_error(resp, 403, "password_change_required",
		           "the password must be changed first (POST /api/v1/password)");
		goto out;
	}
	role = role_parse(a.role);
	if (role < 0 || !(roles & ROLE_BIT(role))) {
		resp_error(resp, 403, "forbidden", "the role %s may not do this", a.role);
		goto out;
	}
	if (req->now - s.last_seen >= AUTH_TOUCH_EVERY && db_session_touch(req->db, hash, req->now))
		log_warn("auth: cannot record the session's activity: %s", db_errmsg(req->db));
	req->session = session_new(&a, s.csrf_token, must, hash);
	if (req->session == NULL)
		goto fail;
	ret = 0;
	goto out;
fail:
	resp_error(resp, 500, "internal", "the session cannot be checked");
out:
	db_session_free(&s);
	db_account_free(&a);
	return ret;
}

/* --- login and logout ---------------------------------------------------------------------- */

/* 1 if name is locked at now: lockout_failures failures within lockout_window, the newest of
 * them less than lockout_duration ago. Failures are not recorded while locked, so the lock
 * ends lockout_duration after the failure that set it. 0, 1 or -1. */
static int
is_locked(struct app *app, struct db_conn *c, const char *name, int64_t now)
{
	int64_t times[AUTH_LOCK_MAX];
	size_t want = (size_t)app->cfg.lockout_failures, n = 0;

	if (want == 0)
		return 0;
	if (want > AUTH_LOCK_MAX)
		want = AUTH_LOCK_MAX;
	if (db_login_failure_recent(c, name, times, want, &n) != 0)
		return -1;
	if (n < want)
		return 0;
	return times[0] - times[want - 1] <= app->cfg.lockout_window &&
	       now < times[0] + app->cfg.lockout_duration;
}

int
auth_login(struct req *req, const char *username, const char *password, char token[AUTH_TOKEN_SIZE],
           struct session **out)
{
	struct app *app = req->app;
	struct db_conn *c = req->db;
	struct db_account a;
	struct db_session s;
	struct actor who;
	char name[AUTH_NAME_MAX + 1], csrf[AUTH_TOKEN_SIZE];
	const char *why;
	int found = 0, ok, locked, ret = -1;
	int64_t forget;

	memset(&a, 0, sizeof(a));
	memset(&s, 0, sizeof(s));
	snprintf(name, sizeof(name), "%s", username);
	/* A long name is recorded cut, at a character boundary (the audit log stays UTF-8). */
	if (strlen(username) > AUTH_NAME_MAX) {
		size_t cut = AUTH_NAME_MAX;

		while (cut > 0 && ((unsigned char)username[cut] & 0xC0) == 0x80)
			cut--;
		name[cut] = '\0';
	}
	if (strlen(username) <= AUTH_NAME_MAX && strlen(password) <= AUTH_PASSWORD_MAX) {
		found = db_account_by_name(c, name, &a);
		if (found < 0)
			goto out;
	}
	auth_pwhash_enter(app);
	ok = auth_verify_password(found ? a.password_hash : NULL, password);
	auth_pwhash_leave(app);

	if (db_begin(c) != 0)
		goto out;
	/* Checked inside the transaction: concurrent guesses cannot slip past the lock. */
	locked = is_locked(app, c, name, req->now);
	if (locked < 0)
		goto rollback;
	who.id = found ? a.id : 0;
	who.name = name;
	who.addr = req->addr;
	if (locked)
		why = "account name locked after repeated failures";
	else if (strlen(password) > AUTH_PASSWORD_MAX)
		why = "password too long"; /* no account is looked up for it */
	else if (!found)
		why = "unknown account";
	else if (!ok)
		why = "wrong password";
	else if (strcmp(a.status, "active") != 0)
		why = strcmp(a.status, "revoked") == 0 ? "account revoked" : "account suspended";
	else
		why = NULL;
	if (why != NULL) {
		forget = req->now - app->cfg.lockout_window - app->cfg.lockout_duration;
		if ((!locked && db_login_failure_add(c, name, req->now, req->addr, forget) != 0) ||
		    audit_write(c, req->now, &who, "login_failed", name, 0, why) != 0 ||
		    db_commit(c) != 0)
			goto rollback;
		ret = 1;
		goto out;
	}
	auth_random_token(token);
	auth_random_token(csrf);
	auth_token_hash(token, s.token_hash);
	s.account_id = a.id;
	s.csrf_token = csrf;
	s.created = s.last_seen = req->now;
	s.addr = req->addr;
	/* A timeout of 0 is off (as in auth_check): it prunes nothing. */
	if (db_login_failure_clear(c, name) != 0 || db_session_add(c, &s) != 0 ||
	    db_session_prune(c,
	                     app->cfg.session_idle > 0 ? req->now - app->cfg.session_idle
	                                               : INT64_MIN,
	                     app->cfg.session_max > 0 ? req->now - app->cfg.session_max
	                                              : INT64_MIN) ||
	    audit_write(c, req->now, &who, "login", name, 1, NULL) != 0 || db_commit(c) != 0)
		goto rollback;
	*out = session_new(&a, csrf, account_must_change(app, &a, req->now), s.token_hash);
	if (*out == NULL)
		goto out;
	ret = 0;
	goto out;
rollback:
	db_rollback(c);
out:
	db_account_free(&a);
	sodium_memzero(csrf, sizeof(csrf));
	return ret;
}

int
auth_logout(struct req *req)
{
	const char *cookie = req_cookie(req, AUTH_COOKIE);
	unsigned char hash[DB_TOKEN_HASH];

	if (cookie == NULL)
		return 0;
	auth_token_hash(cookie, hash);
	if (db_begin(req->db) != 0)
		return -1;
	if (db_session_delete(req->db, hash) != 0 ||
	    audit_log(req, "logout", req->session ? req->session->username : NULL, NULL) != 0 ||
	    db_commit(req->db) != 0) {
		db_rollback(req->db);
		return -1;
	}
	return 0;
}

/* --- demo data ----------------------------------------------------------------------------- */

int
auth_seed_demo(struct app *app, struct db_conn *c, int64_t now, FILE *out)
{
	struct actor system = {0, "system", NULL};
	struct db_section sec;
	struct db_account a;
	char otp[AUTH_OTP_SIZE], hash[AUTH_HASH_SIZE];
	size_t i;
	int rc;

	(void)app;
	for (i = 0; i < sizeof(demo_accounts) / sizeof(demo_accounts[0]); i++) {
		memset(&a, 0, sizeof(a));
		if (demo_accounts[i].section != NULL) {
			rc = db_section_by_name(c, demo_accounts[i].section, &sec);
			if (rc <= 0)
				return -1;
			a.section_id = sec.id;
			db_section_free(&sec);
		}
		auth_one_time_password(demo_accounts[i].name, otp);
		if (auth_hash_password(otp, 1, hash) != 0)
			return -1;
		a.username = (char *)demo_accounts[i].name;
		a.role = (char *)role_name(demo_accounts[i].role);
		a.status = (char *)"active";
		a.password_hash = hash;
		a.password_changed = a.created = now;
		a.must_change = 1;
		if (db_account_add(c, &a, NULL) != 0 ||
		    audit_write(c, now, &system, "user_add", a.username, 1, "demo account") != 0)
			return -1;
		if (demo_accounts[i].section != NULL)
			fprintf(out, "demo account: %s (%s, %s) one-time password: %s\n",
			        a.username, a.role, demo_accounts[i].section, otp);
		else
			fprintf(out, "demo account: %s (%s) one-time password: %s\n", a.username,
			        a.role, otp);
	}
	sodium_memzero(otp, sizeof(otp));
	return 0;
}
