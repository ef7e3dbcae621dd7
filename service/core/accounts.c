/*
 * accounts.c: the account lifecycle (DESIGN.md "Roles": grant, adjust, suspend, revoke) shared
 * by the admin API (h_admin.c) and the command line (cmd_user.c). Each action validates its
 * input, runs in one transaction and writes its audit row.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core_int.h"

#define DISPLAY_MAX 100 /* bytes of a display name */
#define EMAIL_MAX 254
#define PHONE_MAX 64
#define DETAIL_MAX 512

static const char *const statuses[] = {"active", "suspended", "revoked"};

static enum acct_err fail(struct acct_error *err, enum acct_err code, const char *field,
                          const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static enum acct_err
fail(struct acct_error *err, enum acct_err code, const char *field, const char *fmt, ...)
{
	va_list ap;

	err->field = field;
	err->rule = NULL;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return code;
}

/* fail's code, with err->rule set (acct_error): the pages say it in the reader's language. */
static enum acct_err
ruled(struct acct_error *err, const char *rule, enum acct_err code)
{
	err->rule = rule;
	return code;
}

static enum acct_err
check_text(struct acct_error *err, const char *field, const char *value, size_t max)
{
	size_t i;

	if (value == NULL)
		return ACCT_OK;
	if (strlen(value) > max)
		return ruled(err, "text_long",
		             fail(err, ACCT_INVALID, field, "%s is longer than %zu bytes", field, max));
	for (i = 0; value[i] != '\0'; i++)
		if ((unsigned char)value[i] < 0x20)
			return ruled(err, "text_control",
			             fail(err, ACCT_INVALID, field, "%s contains control characters",
			                  field));
	return ACCT_OK;
}

/* The fields an account is made or changed with, whatever the way in (the command line, the
 * admin API): its e-mail and phone receive the reminders and escalations, so a value that no
 * server or gateway would take is refused now rather than at the first overdue item. */
static enum acct_err
check_fields(struct acct_error *err, const char *role, const char *display_name, const char *email,
             const char *phone)
{
	char tidy[EMAIL_TIDY_SIZE], number[PHONE_TIDY_SIZE];
	enum phone_kind kind;
	enum acct_err e;

	if (role != NULL && role_parse(role) < 0)
		return ruled(err, "role_unknown",
		             fail(err, ACCT_INVALID, "role",
		                  "unknown role '%s' (handler, section_head, dispatcher, supervisor, "
		                  "admin)",
		                  role));
	e = check_text(err, "display_name", display_name, DISPLAY_MAX);
	if (e == ACCT_OK)
		e = check_text(err, "email", email, EMAIL_MAX);
	if (e == ACCT_OK)
		e = check_text(err, "phone", phone, PHONE_MAX);
	if (e == ACCT_OK && email != NULL && email[0] != '\0' && !email_tidy_account(email, tidy))
		e = ruled(err, "email",
		          fail(err, ACCT_INVALID, "email",
		               "'%.80s' is not an e-mail address: give one address alone, such as "
		               "li.si@example.gov.cn (blanks around it and a full-width \xef\xbc\xa0 "
		               "or \xef\xbc\x8e are fine; no name, no list)",
		               email));
	if (e == ACCT_OK && phone != NULL && phone[0] != '\0') {
		kind = phone_tidy_kind(phone, number);
		if (kind == PHONE_NONE)
			e = ruled(err, "phone",
			          fail(err, ACCT_INVALID, "phone",
			               "'%s' is not a phone number (a mobile number such as 138 1234 "
			               "5678, optionally after +86, or a landline with its area code, "
			               "010-6512 3456)",
			               phone));
		else if (kind == PHONE_EXTENSION || kind == PHONE_SERVICE)
			e = ruled(err, "phone_sms",
			          fail(err, ACCT_INVALID, "phone",
			               "'%s' cannot take the SMS an account gets (%s): give a mobile "
			               "number such as 138 1234 5678, or a landline with its area code "
			               "and no extension, 010-6512 3456",
			               phone,
			               kind == PHONE_SERVICE ? "a service number" : "an extension"));
	}
	return e;
}

/* Looks up the section named name into *id (0 for "" or NULL). */
static enum acct_err
find_section(struct db_conn *c, const char *name, int64_t *id, struct acct_error *err)
{
	struct db_section s;
	int rc;

	*id = 0;
	if (name == NULL || name[0] == '\0')
		return ACCT_OK;
	rc = db_section_by_name(c, name, &s);
	if (rc < 0)
		return fail(err, ACCT_ERROR, NULL, "storage error: %s", db_errmsg(c));
	if (rc == 0)
		return ruled(err, "section_unknown",
		             fail(err, ACCT_NOT_FOUND, "section", "unknown section '%s'", name));
	*id = s.id;
	db_section_free(&s);
	return ACCT_OK;
}

/* Handlers and section heads work in a section: an account of those roles without one is
 * refused (#14 point 16). */
static int
needs_section(const char *role)
{
	int r = role_parse(role);

	return r == ROLE_HANDLER || r == ROLE_SECTION_HEAD;
}

static enum acct_err
storage(struct db_conn *c, struct acct_error *err)
{
	db_rollback(c);
	return fail(err, ACCT_ERROR, NULL, "storage error: %s", db_errmsg(c));
}

/* The ladder's ways to an account: bit 1 its e-mail, bit 2 its phone, when it is an active
 * supervisor (escalations go to every one of them), else 0. */
static int
escalation_ways(const struct db_account *a)
{
	if (a->role != ROLE_SUPERVISOR || a->status == NULL || strcmp(a->status, "active") != 0)
		return 0;
	return (a->email != NULL && a->email[0] != '\0' ? 1 : 0) |
	       (a->phone != NULL && a->phone[0] != '\0' ? 2 : 0);
}

/* Tells the notification hook, inside the account's transaction, that account a (named name)
 * became reachable by the ladder on a way it was not (before: escalation_ways as it was), so
 * that the escalations sent today reach it today. 0 or -1. */
static int
supervisor_ready(struct app *app, struct db_conn *c, const struct db_account *a, int before,
                 const char *name, int64_t now)
{
	struct core_event ev;

	if ((escalation_ways(a) & ~before) == 0)
		return 0;
	memset(&ev, 0, sizeof(ev));
	ev.kind = CORE_EV_SUPERVISOR_READY;
	ev.action = -1;
	ev.at = now;
	ev.to = name;
	return core_notify_event(app, c, &ev);
}

/* Strings of an account to store: "" clears a field. */
static char *
or_null(const char *s)
{
	return s == NULL || s[0] == '\0' ? NULL : (char *)s;
}

enum acct_err
account_create(struct app *app, struct db_conn *c, const struct actor *who,
               const struct account_spec *spec, const char *password, char otp[AUTH_OTP_SIZE],
               struct acct_error *err)
{
	struct db_account a;
	struct account_spec tidied;
	char hash[AUTH_HASH_SIZE], detail[DETAIL_MAX], phone[PHONE_TIDY_SIZE];
	char email[EMAIL_TIDY_SIZE];
	const char *weak;
	int64_t now = app_now(app);
	enum acct_err e;
	int rc;

	if (spec->username == NULL || !auth_username_valid(spec->username))
		return ruled(err, "username",
		             fail(err, ACCT_INVALID, "username",
		                  "an account name has 2 to 64 characters (letters, digits, '.', '_', "
		                  "'-') and starts with a letter"));
	if (spec->role == NULL)
		return ruled(err, "role_required",
		             fail(err, ACCT_INVALID, "role", "a role is required"));
	e = check_fields(err, spec->role, spec->display_name, spec->email, spec->phone);
	if (e != ACCT_OK)
		return e;
	/* the phone in its one form (phone_tidy), the one the SMS gateway gets; the e-mail address
	 * tidied (email_tidy_account), the one the notices go to */
	tidied = *spec;
	if (spec->phone != NULL && phone_tidy(spec->phone, phone))
		tidied.phone = phone;
	if (spec->email != NULL && email_tidy_account(spec->email, email))
		tidied.email = email;
	spec = &tidied;
	if (password != NULL) {
		struct auth_person person = {spec->username, spec->display_name, spec->email,
		                             spec->phone};

		weak = auth_password_refused(&person, password);
		if (weak != NULL)
			return ruled(err, auth_password_rule(weak),
			             fail(err, ACCT_WEAK, "password", "%s", weak));
	} else {
		auth_one_time_password(spec->username, otp);
	}
	if (needs_section(spec->role) && (spec->section == NULL || spec->section[0] == '\0'))
		return ruled(err, "section_needed",
		             fail(err, ACCT_INVALID, "section", "a %s needs a section", spec->role));
	auth_pwhash_enter(app);
	rc = auth_hash_password(password ? password : otp, password == NULL, hash);
	auth_pwhash_leave(app);
	if (rc != 0)
		return fail(err, ACCT_ERROR, NULL, "out of memory");

	memset(&a, 0, sizeof(a));
	if (db_begin(c) != 0)
		return fail(err, ACCT_ERROR, NULL, "storage error: %s", db_errmsg(c));
	e = find_section(c, spec->section, &a.section_id, err);
	if (e != ACCT_OK) {
		db_rollback(c);
		return e;
	}
	a.username = (char *)spec->username;
	a.display_name = or_null(spec->display_name);
	a.role = (enum role)role_parse(spec->role);
	a.email = or_null(spec->email);
	a.phone = or_null(spec->phone);
	a.status = (char *)"active";
	a.password_hash = hash;
	a.password_changed = a.created = now;
	a.must_change = password == NULL;
	rc = db_account_add(c, &a, &a.id);
	if (rc < 0)
		return storage(c, err);
	if (rc == 1) {
		db_rollback(c);
		return ruled(err, "exists",
		             fail(err, ACCT_EXISTS, "username", "an account named '%s' exists already",
		                  spec->username));
	}
	snprintf(detail, sizeof(detail), "role %s%s%s%s", spec->role,
	         a.section_id ? ", section " : "", a.section_id ? spec->section : "",
	         password ? "" : ", one-time password");
	if (audit_write(c, now, who, "user_add", spec->username, 1, detail) != 0 ||
	    supervisor_ready(app, c, &a, 0, spec->username, now) != 0 || db_commit(c) != 0)
		return storage(c, err);
	sodium_memzero(hash, sizeof(hash));
	return ACCT_OK;
}

/* Appends "what: old -> new; " to buf when they differ. */
static void
note_change(char *buf, size_t size, const char *what, const char *old, const char *new)
{
	size_t len = strlen(buf);

	if ((old == NULL ? "" : old)[0] == '\0' && (new == NULL ? "" : new)[0] == '\0')
		return;
	if (old != NULL && new != NULL && strcmp(old, new) == 0)
		return;
	if (len < size)
		snprintf(buf + len, size - len, "%s%s: %s -> %s", len ? "; " : "", what,
		         old ? old : "(none)", new ? new : "(none)");
}

enum acct_err
account_change(struct app *app, struct db_conn *c, const struct actor *who, const char *username,
               const struct account_change *ch, char otp[AUTH_OTP_SIZE], struct acct_error *err)
{
	struct db_account a;
	struct db_section old_sec;
	struct account_change tidied;
	char hash[AUTH_HASH_SIZE], detail[DETAIL_MAX] = "", phone[PHONE_TIDY_SIZE];
	char email[EMAIL_TIDY_SIZE];
	const char *old_status = NULL, *action;
	int64_t now = app_now(app), section_id;
	enum acct_err e;
	size_t i;
	int rc, known = ch->status == NULL, ways;

	e = check_fields(err, ch->role, ch->display_name, ch->email, ch->phone);
	if (e != ACCT_OK)
		return e;
	tidied = *ch;
	if (ch->phone != NULL && phone_tidy(ch->phone, phone))
		tidied.phone = phone;
	if (ch->email != NULL && email_tidy_account(ch->email, email))
		tidied.email = email;
	ch = &tidied;
	for (i = 0; !known && i < sizeof(statuses) / sizeof(statuses[0]); i++)
		known = strcmp(ch->status, statuses[i]) == 0;
	if (!known)
		return ruled(err, "status_unknown",
		             fail(err, ACCT_INVALID, "status",
		                  "unknown status '%s' (active, suspended, revoked)", ch->status));
	/* no administrator locks themself out, whichever way in they use */
	if (who != NULL && who->id != 0 && who->name != NULL && strcmp(username, who->name) == 0 &&
	    ((ch->status != NULL && strcmp(ch->status, "active") != 0) ||
	     (ch->role != NULL && strcmp(ch->role, "admin") != 0)))
		return ruled(err, "self",
		             fail(err, ACCT_INVALID,
		                  ch->role != NULL && strcmp(ch->role, "admin") != 0 ? "role"
		                                                                     : "status",
		                  "you cannot suspend, revoke or demote your own account"));
	if (ch->reset_password) {
		auth_one_time_password(username, otp);
		if (auth_hash_password(otp, 1, hash) != 0)
			return fail(err, ACCT_ERROR, NULL, "out of memory");
	}

	memset(&a, 0, sizeof(a));
	if (db_begin(c) != 0)
		return fail(err, ACCT_ERROR, NULL, "storage error: %s", db_errmsg(c));
	rc = db_account_by_name(c, username, &a);
	if (rc < 0)
		return storage(c, err);
	if (rc == 0) {
		db_rollback(c);
		return ruled(err, "not_found", fail(err, ACCT_NOT_FOUND, NULL,
		                                    "there is no account named '%s'", username));
	}
	ways = escalation_ways(&a);
	if (strcmp(a.status, "revoked") == 0 &&
	    ((ch->status != NULL && strcmp(ch->status, "revoked") != 0) || ch->reset_password)) {
		db_rollback(c);
		db_account_free(&a);
		return ruled(err, "revoked",
		             fail(err, ACCT_INVALID, "status",
		                  "the account '%s' is revoked; revoked accounts stay revoked",
		                  username));
	}
	if (ch->set_section) {
		e = find_section(c, ch->section, &section_id, err);
		if (e != ACCT_OK) {
			db_rollback(c);
			db_account_free(&a);
			return e;
		}
		if (section_id != a.section_id) {
			const char *was = NULL;

			memset(&old_sec, 0, sizeof(old_sec));
			if (a.section_id != 0 && db_section_get(c, a.section_id, &old_sec) > 0)
				was = old_sec.name;
			note_change(detail, sizeof(detail), "section", was, or_null(ch->section));
			db_section_free(&old_sec);
			a.section_id = section_id;
		}
	}
	/* the account as it would be: a handler or section head keeps a section */
	if ((ch->role != NULL || ch->set_section) &&
	    needs_section(ch->role != NULL ? ch->role : role_name(a.role)) && a.section_id == 0) {
		db_rollback(c);
		db_account_free(&a);
		return ruled(err, "section_needed",
		             fail(err, ACCT_INVALID, "section", "a %s needs a section",
		                  ch->role != NULL ? ch->role : role_name(a.role)));
	}
	if (ch->role != NULL) {
		note_change(detail, sizeof(detail), "role", role_name(a.role), ch->role);
		a.role = (enum role)role_parse(ch->role);
	}
#define SET_TEXT(f)                                                                                \
	do {                                                                                       \
		if (ch->f != NULL) {                                                               \
			char *copy_ = or_null(ch->f) ? strdup(ch->f) : NULL;                       \
			if (or_null(ch->f) && copy_ == NULL)                                       \
				goto nomem;                                                        \
			note_change(detail, sizeof(detail), #f, a.f, copy_);                       \
			free(a.f);                                                                 \
			a.f = copy_;                                                               \
		}                                                                                  \
	} while (0)
	SET_TEXT(display_name);
	SET_TEXT(email);
	SET_TEXT(phone);
#undef SET_TEXT
	if (ch->status != NULL && strcmp(ch->status, a.status) != 0) {
		char *copy = strdup(ch->status);

		if (copy == NULL)
			goto nomem;
		old_status = a.status;
		a.status = copy;
	}
	rc = db_account_update(c, &a);
	if (rc <= 0)
		goto store;
	/* an administrator lifts a lockout: the failed logins of the name are forgotten */
	if (ch->unlock && (db_login_failure_clear(c, username) != 0 ||
	                   audit_write(c, now, who, "user_unlock", username, 1,
	                               "failed logins cleared") != 0))
		goto store;
	if (detail[0] != '\0' && audit_write(c, now, who, "user_update", username, 1, detail) != 0)
		goto store;
	if (old_status != NULL) {
		action = strcmp(a.status, "active") == 0    ? "user_reactivate"
		         : strcmp(a.status, "revoked") == 0 ? "user_revoke"
		                                            : "user_suspend";
		snprintf(detail, sizeof(detail), "status: %s -> %s", old_status, a.status);
		if (audit_write(c, now, who, action, username, 1, detail) != 0)
			goto store;
	}
	if (ch->reset_password && (db_account_set_password(c, a.id, hash, 1, now) <= 0 ||
	                           audit_write(c, now, who, "user_reset_password", username, 1,
	                                       "one-time password issued") != 0))
		goto store;
	if ((ch->reset_password || strcmp(a.status, "active") != 0) &&
	    db_session_delete_account(c, a.id) != 0)
		goto store;
	if (supervisor_ready(app, c, &a, ways, a.username, now) != 0 || db_commit(c) != 0)
		goto store;
	free((char *)old_status);
	db_account_free(&a);
	return ACCT_OK;
nomem:
	db_rollback(c);
	free((char *)old_status);
	db_account_free(&a);
	return fail(err, ACCT_ERROR, NULL, "out of memory");
store:
	free((char *)old_status);
	db_account_free(&a);
	return storage(c, err);
}

enum acct_err
account_set_password(struct app *app, struct db_conn *c, const struct actor *who,
                     const char *username, const char *password, int must_change,
                     const unsigned char *keep_session, struct acct_error *err)
{
	struct db_account a;
	char hash[AUTH_HASH_SIZE], **old = NULL;
	const char *weak;
	size_t n = 0, i;
	int64_t now = app_now(app);
	int rc, reused;
	enum acct_err e = ACCT_OK;

	weak = auth_password_weak(username, password);
	if (weak != NULL)
		return ruled(err, auth_password_rule(weak),
		             fail(err, ACCT_WEAK, "password", "%s", weak));
	rc = db_account_by_name(c, username, &a);
	if (rc < 0)
		return fail(err, ACCT_ERROR, NULL, "storage error: %s", db_errmsg(c));
	if (rc == 0)
		return ruled(err, "not_found", fail(err, ACCT_NOT_FOUND, NULL,
		                                    "there is no account named '%s'", username));
	{
		struct auth_person person = {a.username, a.display_name, a.email, a.phone};

		weak = auth_password_refused(&person, password);
		if (weak != NULL) {
			e = ruled(err, auth_password_rule(weak),
			          fail(err, ACCT_WEAK, "password", "%s", weak));
			goto out;
		}
	}
	if (strcmp(a.status, "revoked") == 0) {
		e = ruled(err, "revoked",
		          fail(err, ACCT_INVALID, "status", "the account '%s' is revoked", username));
		goto out;
	}
	/* Not one of the last DB_PASSWORD_HISTORY: the current one and the former ones. */
	if (db_password_history(c, a.id, DB_PASSWORD_HISTORY - 1, &old, &n) != 0) {
		e = fail(err, ACCT_ERROR, NULL, "storage error: %s", db_errmsg(c));
		goto out;
	}
	auth_pwhash_enter(app);
	reused = crypto_pwhash_str_verify(a.password_hash, password, strlen(password)) == 0;
	for (i = 0; !reused && i < n; i++)
		reused = crypto_pwhash_str_verify(old[i], password, strlen(password)) == 0;
	rc = reused ? 0 : auth_hash_password(password, 0, hash);
	auth_pwhash_leave(app);
	if (reused) {
		e = ruled(err, "password_history",
		          fail(err, ACCT_WEAK, "password",
		               "the password must differ from the last %d passwords",
		               DB_PASSWORD_HISTORY));
		goto out;
	}
	if (rc != 0) {
		e = fail(err, ACCT_ERROR, NULL, "out of memory");
		goto out;
	}
	if (db_begin(c) != 0 || db_account_set_password(c, a.id, hash, must_change, now) <= 0 ||
	    (keep_session == NULL ? db_session_delete_account(c, a.id)
	                          : db_session_delete_others(c, a.id, keep_session)) != 0 ||
	    audit_write(c, now, who, "password_change", username, 1,
	                who->id == a.id ? "by the account itself" : "set by an operator") != 0 ||
	    db_commit(c) != 0)
		e = storage(c, err);
	sodium_memzero(hash, sizeof(hash));
out:
	db_strings_free(old, n);
	db_account_free(&a);
	return e;
}

