/*
 * login.c: staff login with lockout, the sessions it creates (only a token's BLAKE2b hash is
 * stored), logout, the session look-up the HTTP layer runs for staff routes, and the demo
 * accounts of a new database.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core_int.h"

#define AUTH_NAME_MAX 64 /* bytes of an account name */
#define AUTH_LOCK_MAX 64 /* lockout_failures counted at most */
#define AUTH_TOUCH_EVERY 60 /* seconds between writes of a session's last_seen */
#define LOGIN_WAIT_MAX 300  /* seconds an address waits at most between throttled attempts */

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
	int role = (int)a->role;

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

int
account_must_change(struct app *app, const struct db_account *a, int64_t now)
{
	if (a->must_change)
		return 1;
	return app->cfg.password_max_age_days > 0 &&
	       now - a->password_changed > (int64_t)app->cfg.password_max_age_days * 86400;
}

/* --- login and logout ---------------------------------------------------------------------- */

/* 1 if name is locked at now for addr: lockout_failures failures of the name from addr within
 * lockout_window, the newest of them less than lockout_duration ago; or lockout_failures_any
 * failures of the name from any addresses within lockout_window (a guess spread over many
 * addresses). Failures are not recorded while locked, so a lock ends lockout_duration after the
 * failure that set it (the lock for every address: when its failures leave the window). One
 * attacker thus locks the name for their own address only, not for the bureau. 0, 1 or -1. */
static int
is_locked(struct app *app, struct db_conn *c, const char *name, const char *addr, int64_t now)
{
	int64_t times[AUTH_LOCK_MAX];
	size_t want = (size_t)app->cfg.lockout_failures, n = 0;
	int any = 0;

	if (app->cfg.lockout_failures_any > 0) {
		if (db_login_failure_count(c, name, now - app->cfg.lockout_window, &any) != 0)
			return -1;
		if (any >= app->cfg.lockout_failures_any)
			return 1;
	}
	if (want == 0)
		return 0;
	if (want > AUTH_LOCK_MAX)
		want = AUTH_LOCK_MAX;
	if (db_login_failure_recent_from(c, name, addr, times, want, &n) != 0)
		return -1;
	if (n < want)
		return 0;
	return times[0] - times[want - 1] <= app->cfg.lockout_window &&
	       now < times[0] + app->cfg.lockout_duration;
}

int
core_login_throttle(struct app *app, struct db_conn *c, const char *addr, int64_t now,
                    int64_t *retry_after)
{
	int64_t count, newest, wait;

	*retry_after = 0;
	if (app->cfg.login_throttle <= 0)
		return 0;
	if (db_login_failure_addr(c, addr, now - app->cfg.lockout_window, &count, &newest) != 0)
		return -1;
	if (count < app->cfg.login_throttle)
		return 0;
	count -= app->cfg.login_throttle;
	wait = count >= 9 ? LOGIN_WAIT_MAX : (int64_t)1 << count;
	if (wait > LOGIN_WAIT_MAX)
		wait = LOGIN_WAIT_MAX;
	if (now >= newest + wait)
		return 0;
	*retry_after = newest + wait - now;
	return 1;
}

int
core_login(struct app *app, struct db_conn *c, const char *username, const char *password,
           const char *addr, int64_t now, char token[AUTH_TOKEN_SIZE], struct session **out)
{
	int rc = core_login_2fa(app, c, username, password, NULL, NULL, addr, now, token, out);

	/* without a way to send a code, an account with a second factor cannot log in here */
	return rc == 3 || rc == 4 ? 1 : rc;
}

/* Whether account a must enrol a second factor: its role needs one (totp_roles) and it has none
 * confirmed. Then *by is the end of its grace period (totp_grace after the account was created)
 * and the result is 1 once that has passed (enrol before anything else), else 0 (*by = 0 when
 * nothing is pending). -1 on error. */
static int
must_enroll(struct app *app, struct db_conn *c, const struct db_account *a, int64_t now,
            int64_t *by)
{
	int rc;

	*by = 0;
	if (!totp_required(app, a->role))
		return 0;
	rc = totp_enrolled(c, a->id);
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	*by = a->created + app->cfg.totp_grace;
	if (*by < 1) /* 1 at least: 0 means nothing pending */
		*by = 1;
	return now >= *by;
}

int
core_login_2fa(struct app *app, struct db_conn *c, const char *username, const char *password,
               const char *code, const char *recovery, const char *addr, int64_t now,
               char token[AUTH_TOKEN_SIZE], struct session **out)
{
	const char *second = NULL;
	char login_detail[64];
	int enroll = 0, factor;
	int64_t enroll_by = 0;
	struct db_account a;
	struct db_session s;
	struct actor who;
	char name[AUTH_NAME_MAX + 1], csrf[AUTH_TOKEN_SIZE];
	const char *why, *refused = NULL;
	int found = 0, ok, locked, ret = -1, throttled = 0;
	int64_t forget, wait = 0;

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
	who.id = 0;
	who.name = name;
	who.addr = addr;
	/* Outside the staff networks, or throttled: refused before any password is checked (no
	 * argon2id work for an attacker's flood), audited, and not counted as a failure. */
	if (!netaddr_in_networks(app->cfg.staff_networks, addr))
		refused = "address outside staff_networks";
	else {
		throttled = core_login_throttle(app, c, addr, now, &wait);
		if (throttled < 0)
			goto out;
		if (throttled)
			refused = "throttled: too many failed logins from this address";
	}
	if (refused != NULL) {
		char detail[160];

		snprintf(detail, sizeof(detail), "%s (%s)", refused, addr);
		if (db_begin(c) != 0)
			goto out;
		if (audit_write(c, now, &who, "login_failed", name, 0, detail) != 0 ||
		    db_commit(c) != 0)
			goto rollback;
		ret = throttled ? 2 : 1;
		goto out;
	}
	if (strlen(username) <= AUTH_NAME_MAX && strlen(password) <= AUTH_PASSWORD_MAX) {
		found = db_account_by_name(c, name, &a);
		if (found < 0)
			goto out;
		/* found without regard to case: the lock, the throttle and the audit log know the
		 * account by its own name */
		if (found)
			snprintf(name, sizeof(name), "%s", a.username);
	}
	auth_pwhash_enter(app);
	ok = auth_verify_password(found ? a.password_hash : NULL, password);
	auth_pwhash_leave(app);

	if (db_begin(c) != 0)
		goto out;
	/* Checked inside the transaction: concurrent guesses cannot slip past the lock. */
	locked = is_locked(app, c, name, addr, now);
	if (locked < 0)
		goto rollback;
	who.id = found ? a.id : 0;
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
	/* The second factor, after the password: an account that enrolled one needs it. */
	if (why == NULL) {
		factor = totp_enrolled(c, a.id);
		if (factor < 0)
			goto rollback;
		if (factor && (code == NULL || *code == '\0') &&
		    (recovery == NULL || *recovery == '\0')) {
			if (audit_write(c, now, &who, "login_failed", name, 0,
			                "second factor required") != 0 ||
			    db_commit(c) != 0)
				goto rollback;
			ret = 3;
			goto out;
		}
		if (factor) {
			factor = totp_check(app, c, a.id, name, addr, code, recovery, now, &second);
			if (factor == TOTP_KEY_UNAVAILABLE) {
				/* not the user's fault: audited, not counted as a failure */
				if (audit_write(c, now, &who, "login_failed", name, 0,
				                "second factor cannot be checked: the key file is "
				                "missing or wrong") != 0 ||
				    db_commit(c) != 0)
					goto rollback;
				ret = 4;
				goto out;
			}
			if (factor < 0)
				goto rollback;
			if (factor == 0)
				why = "wrong or reused second factor";
		} else {
			enroll = must_enroll(app, c, &a, now, &enroll_by);
			if (enroll < 0)
				goto rollback;
		}
	}
	if (why != NULL) {
		forget = now - app->cfg.lockout_window - app->cfg.lockout_duration;
		/* An attempt at a locked name does not extend its lock, but still counts for the
		 * address's throttle: it is recorded under the empty name, which no account has. */
		if (db_login_failure_add(c, locked ? "" : name, now, addr, forget) != 0 ||
		    audit_write(c, now, &who, "login_failed", name, 0, why) != 0 ||
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
	s.created = s.last_seen = now;
	s.addr = (char *)addr;
	if (second != NULL)
		snprintf(login_detail, sizeof(login_detail), "second factor: %s", second);
	else if (enroll)
		snprintf(login_detail, sizeof(login_detail), "second factor to enrol");
	else if (enroll_by != 0)
		snprintf(login_detail, sizeof(login_detail), "second factor to enrol (grace period)");
	/* A timeout of 0 is off (as in auth_check): it prunes nothing. */
	if (db_login_failure_clear_from(c, name, addr) != 0 || db_session_add(c, &s) != 0 ||
	    db_session_prune(c,
	                     app->cfg.session_idle > 0 ? now - app->cfg.session_idle
	                                               : INT64_MIN,
	                     app->cfg.session_max > 0 ? now - app->cfg.session_max
	                                              : INT64_MIN) ||
	    audit_write(c, now, &who, "login", name, 1,
	                second != NULL || enroll_by != 0 ? login_detail : NULL) != 0 ||
	    db_commit(c) != 0)
		goto rollback;
	*out = session_new(&a, csrf, account_must_change(app, &a, now), s.token_hash);
	if (*out == NULL)
		goto out;
	(*out)->must_enroll = enroll;
	(*out)->enroll_by = enroll_by;
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
core_logout(struct app *app, struct db_conn *c, const char *token, const struct actor *who,
             int64_t now)
{
	unsigned char hash[DB_TOKEN_HASH];

	(void)app;
	auth_token_hash(token, hash);
	if (db_begin(c) != 0)
		return -1;
	if (db_session_delete(c, hash) != 0 ||
	    audit_write(c, now, who, "logout", who->name, 1, NULL) != 0 || db_commit(c) != 0) {
		db_rollback(c);
		return -1;
	}
	return 0;
}

enum session_err
core_session_get(struct app *app, struct db_conn *c, const char *token, int64_t now,
                 struct session **out)
{
	unsigned char hash[DB_TOKEN_HASH];
	struct db_session s;
	struct db_account a;
	enum session_err ret = SESSION_ERROR;
	int64_t touch_every, enroll_by, seen;
	int rc;

	memset(&s, 0, sizeof(s));
	memset(&a, 0, sizeof(a));
	if (token == NULL || strlen(token) != AUTH_TOKEN_SIZE - 1)
		return SESSION_NONE;
	auth_token_hash(token, hash);
	/* the activity the session writer has not committed yet: asked before the row is read
	 * (the request's snapshot begins there), so that a batch committed in between is in it */
	seen = session_seen(app, hash);
	rc = db_session_get(c, hash, &s);
	if (rc <= 0)
		return rc < 0 ? SESSION_ERROR : SESSION_NONE;
	if (seen > s.last_seen)
		s.last_seen = seen;
	/* what the check writes goes to the session writer (off this thread, out of the
	 * request's snapshot); without one (commands other than serve) it is written here */
	if ((app->cfg.session_idle > 0 && now - s.last_seen > app->cfg.session_idle) ||
	    (app->cfg.session_max > 0 && now - s.created > app->cfg.session_max)) {
		if (!session_end_later(app, hash))
			db_session_delete(c, hash);
		ret = SESSION_EXPIRED;
		goto out;
	}
	rc = db_account_get(c, s.account_id, &a);
	if (rc < 0)
		goto out;
	if (rc == 0 || strcmp(a.status, "active") != 0) {
		if (!session_end_account_later(app, s.account_id))
			db_session_delete_account(c, s.account_id);
		ret = SESSION_INACTIVE;
		goto out;
	}
	/* written at most once a minute, and at least twice per session_idle, so that a short
	 * idle timeout never ends a session in use */
	touch_every = AUTH_TOUCH_EVERY;
	if (app->cfg.session_idle > 0 && app->cfg.session_idle / 2 < touch_every)
		touch_every = app->cfg.session_idle / 2;
	if (now - s.last_seen >= touch_every && !session_touch_later(app, hash, now) &&
	    db_session_touch(c, hash, now) != 0)
		log_warn("auth: cannot record the session's activity: %s", db_errmsg(c));
	rc = must_enroll(app, c, &a, now, &enroll_by);
	if (rc < 0)
		goto out;
	*out = session_new(&a, s.csrf_token, account_must_change(app, &a, now), hash);
	if (*out != NULL) {
		(*out)->must_enroll = rc;
		(*out)->enroll_by = enroll_by;
	}
	ret = *out != NULL ? SESSION_OK : SESSION_ERROR;
out:
	db_session_free(&s);
	db_account_free(&a);
	return ret;
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
		a.role = demo_accounts[i].role;
		a.status = (char *)"active";
		a.password_hash = hash;
		a.password_changed = a.created = now;
		a.must_change = 1;
		if (db_account_add(c, &a, NULL) != 0 ||
		    audit_write(c, now, &system, "user_add", a.username, 1, "demo account") != 0)
			return -1;
		if (demo_accounts[i].section != NULL)
			fprintf(out, "demo account: %s (%s, %s) one-time password: %s\n",
			        a.username, role_name(a.role), demo_accounts[i].section, otp);
		else
			fprintf(out, "demo account: %s (%s) one-time password: %s\n", a.username,
			        role_name(a.role), otp);
	}
	sodium_memzero(otp, sizeof(otp));
	return 0;
}

