/*
 * admin.c: the administrators' changes besides accounts (accounts.c) — sections, the overrides
 * of the clock policies and the retry of a failed notice — each in one transaction with its
 * audit row, for every way in (the admin API and the admin pages).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core_int.h"

#define DETAIL_MAX 1024 /* bytes of the audit detail of one change (8 keys fit easily) */

/* Checks a section's name (NULL: not given). 0, or -1 with err. */
static int
section_check(const char *name, struct core_error *err)
{
	size_t i;
	long chars;

	if (name != NULL) {
		for (i = 0; name[i] != '\0'; i++)
			if ((unsigned char)name[i] < 0x20)
				return core_fail(err, CORE_INVALID, "name",
				                 "a section name has no control characters");
		/* counted in characters, as the form's field counts them (a Chinese name of 100
		 * characters is 300 bytes) */
		chars = text_check(name, strlen(name), 0);
		if (chars < 0)
			return core_fail(err, CORE_INVALID, "name", "a section name is UTF-8 text");
		if (chars == 0 || chars > CORE_SECTION_NAME_MAX)
			return core_fail(err, CORE_INVALID, "name",
			                 "a section name has 1 to %d characters", CORE_SECTION_NAME_MAX);
	}
	return 0;
}

/* A section's e-mail address as an administrator types it (not "": none), tidied into out as
 * an account's is (email_tidy_account: no blanks around it, a full-width \xef\xbc\xa0 or
 * \xef\xbc\x8e read as @ or '.', one address alone) and UTF-8 text; the one the section has
 * (stored, NULL for a new section) is kept as it is. 0, or -1 with err (field "email"). */
static int
section_email(const char *email, const char *stored, char out[EMAIL_TIDY_SIZE],
              struct core_error *err)
{
	size_t len = strlen(email);

	if (stored != NULL && strcmp(email, stored) == 0 && len < EMAIL_TIDY_SIZE) {
		memcpy(out, email, len + 1);
		return 0;
	}
	if (!email_tidy_account(email, out) || strlen(out) > CORE_SECTION_EMAIL_MAX ||
	    text_check(out, strlen(out), 0) < 0)
		return core_fail(err, CORE_INVALID, "email",
		                 "'%.254s' is not an e-mail address: give one address alone, such as "
		                 "office@example.gov.cn (blanks around it and a full-width \xef\xbc\xa0 "
		                 "or \xef\xbc\x8e are fine; no name, no list)",
		                 email);
	return 0;
}

int
core_section_add(struct app *app, struct db_conn *c, const struct actor *who, const char *name,
                 const char *email, int64_t now, int64_t *id, struct core_error *err)
{
	char mail[EMAIL_TIDY_SIZE];
	int rc;

	(void)app;
	err->code = CORE_OK;
	if (name == NULL)
		return core_fail(err, CORE_INVALID, "name", "name is required");
	if (section_check(name, err) != 0)
		return -1;
	if (email != NULL && email[0] != '\0') {
		if (section_email(email, NULL, mail, err) != 0)
			return -1;
		email = mail;
	}
	if (db_begin(c) != 0)
		return core_fail(err, CORE_BUSY, NULL, "the section cannot be stored now");
	rc = db_section_add(c, name, email != NULL && email[0] != '\0' ? email : NULL, now, id);
	if (rc == 1) {
		db_rollback(c);
		core_fail(err, CORE_CONFLICT, "name", "a section named '%s' exists already", name);
		err->code_name = "exists";
		return -1;
	}
	if (rc != 0 || audit_write(c, now, who, "section_add", name, 1, NULL) != 0 ||
	    db_commit(c) != 0) {
		db_rollback(c);
		return core_fail(err, CORE_ERROR, NULL, "the section cannot be stored");
	}
	return 0;
}

int
core_section_update(struct app *app, struct db_conn *c, const struct actor *who, int64_t id,
                    const char *name, const char *email, int active, const char *detail,
                    int64_t now, struct db_section *out, struct core_error *err)
{
	struct db_section s, other;
	char own[DETAIL_MAX], mail[EMAIL_TIDY_SIZE];
	char *copy;
	int rc;

	(void)app;
	err->code = CORE_OK;
	memset(&s, 0, sizeof(s));
	if (section_check(name, err) != 0)
		return -1;
	if (db_begin(c) != 0)
		return core_fail(err, CORE_BUSY, NULL, "the section cannot be stored now");
	rc = db_section_get(c, id, &s);
	if (rc <= 0) {
		db_rollback(c);
		if (rc < 0)
			return core_fail(err, CORE_ERROR, NULL, "the section cannot be read");
		return core_fail(err, CORE_NOT_FOUND, NULL, "there is no section %lld",
		                 (long long)id);
	}
	if (email != NULL && email[0] != '\0') {
		if (section_email(email, s.email, mail, err) != 0) {
			db_rollback(c);
			db_section_free(&s);
			return -1;
		}
		email = mail;
	}
	snprintf(own, sizeof(own), "name: %s -> %s, email: %s -> %s, active: %d -> %d", s.name,
	         name ? name : s.name, s.email ? s.email : "-",
	         email ? (email[0] ? email : "-") : (s.email ? s.email : "-"), s.active,
	         active < 0 ? s.active : active != 0);
	if (name != NULL && strcmp(name, s.name) != 0) {
		rc = db_section_by_name(c, name, &other);
		if (rc < 0)
			goto fail;
		if (rc > 0) {
			db_section_free(&other);
			db_rollback(c);
			db_section_free(&s);
			core_fail(err, CORE_CONFLICT, "name", "a section named '%s' exists already",
			          name);
			err->code_name = "exists";
			return -1;
		}
		copy = strdup(name);
		if (copy == NULL)
			goto fail;
		free(s.name);
		s.name = copy;
	}
	if (email != NULL) {
		copy = email[0] != '\0' ? strdup(email) : NULL;
		if (email[0] != '\0' && copy == NULL)
			goto fail;
		free(s.email);
		s.email = copy;
	}
	if (active >= 0)
		s.active = active != 0;
	if (db_section_update(c, &s) <= 0 ||
	    audit_write(c, now, who, "section_update", s.name, 1, detail ? detail : own) != 0 ||
	    db_commit(c) != 0)
		goto fail;
	if (out != NULL)
		*out = s;
	else
		db_section_free(&s);
	return 0;
fail:
	db_rollback(c);
	db_section_free(&s);
	return core_fail(err, CORE_ERROR, NULL, "the section cannot be stored");
}

/* Appends "KEY: OLD (source) -> NEW (source)" for key k of kind to the audit detail d, unless
 * neither the value nor its source changed. */
static void
detail_add(char *d, const struct policies *before, const struct policies *after, int kind,
           enum policy_key k)
{
	char old[POLICY_VALUE_MAX], now[POLICY_VALUE_MAX];
	size_t len = strlen(d);

	policy_format(&before->kind[kind], k, old);
	policy_format(&after->kind[kind], k, now);
	if (strcmp(old, now) == 0 && ((before->admin[kind] ^ after->admin[kind]) & (1u << k)) == 0)
		return;
	snprintf(d + len, DETAIL_MAX - len, "%s%s: %s (%s) -> %s (%s)", len ? ", " : "",
	         policy_key_name(k), old, before->admin[kind] & (1u << k) ? "admin" : "config", now,
	         after->admin[kind] & (1u << k) ? "admin" : "config");
}

int
core_policy_change(struct app *app, struct db_conn *c, const struct actor *who, enum kind kind,
                   const char *const values[POLICY_KEY__MAX], unsigned clear, int64_t now,
                   struct policies *out, struct core_error *err)
{
	struct policies before, after;
	struct policy scratch;
	struct db_policy row;
	char canon[POLICY_KEY__MAX][POLICY_VALUE_MAX], detail[DETAIL_MAX], why_read[512];
	const char *why, *bad;
	unsigned set = 0;
	int k, began = 0, ret = -1;

	err->code = CORE_OK;
	if ((unsigned)kind >= KIND__MAX)
		return core_fail(err, CORE_NOT_FOUND, NULL, "there is no such kind");
	/* every value is checked before anything is written: a refusal changes nothing */
	app_policies(app, &before);
	scratch = before.kind[kind];
	for (k = 0; k < POLICY_KEY__MAX; k++) {
		if (values[k] == NULL || (clear & (1u << k)))
			continue;
		if (policy_set(&scratch, (enum policy_key)k, values[k], &why) != 0)
			return core_fail(err, CORE_INVALID, policy_key_name((enum policy_key)k),
			                 "%s must be %s", policy_key_name((enum policy_key)k), why);
		policy_format(&scratch, (enum policy_key)k, canon[k]);
		set |= 1u << k;
	}
	if (set == 0 && clear == 0) {
		*out = before;
		return 0;
	}
	/* one change at a time from here to the swap, so that swaps happen in commit order */
	pthread_mutex_lock(&app->policy_write);
	app_policies(app, &before);
	if (db_begin(c) != 0) {
		core_fail(err, CORE_BUSY, NULL, "the policy cannot be stored now");
		goto out;
	}
	began = 1;
	for (k = 0; k < POLICY_KEY__MAX; k++) {
		if (set & (1u << k)) {
			memset(&row, 0, sizeof(row));
			row.kind = kind;
			row.key = (char *)policy_key_name((enum policy_key)k);
			row.value = canon[k];
			row.updated_at = now;
			row.updated_by = who->id;
			if (db_policy_set(c, &row) != 0)
				goto fail;
		} else if ((clear & (1u << k)) &&
		           db_policy_delete(c, kind, policy_key_name((enum policy_key)k)) < 0) {
			goto fail;
		}
	}
	/* the new effective policies from what is now stored, checked once more */
	if (policies_read(&app->cfg, c, &after, why_read, sizeof(why_read)) != 0) {
		log_err("policies: %s", why_read);
		goto fail;
	}
	if (after.kind[kind].reply_extended_days < after.kind[kind].reply.days) {
		core_fail(err, CORE_INVALID, "reply_extended_days",
		          "reply_extended_days (%d) must be at least reply_days (%d): an approved "
		          "extension never shortens the time to reply",
		          after.kind[kind].reply_extended_days, after.kind[kind].reply.days);
		goto out;
	}
	why = policy_inconsistent(&after.kind[kind], &bad);
	if (why != NULL) {
		core_fail(err, CORE_INVALID, bad, "%s", why);
		goto out;
	}
	detail[0] = '\0';
	for (k = 0; k < POLICY_KEY__MAX; k++)
		if ((set | clear) & (1u << k))
			detail_add(detail, &before, &after, kind, (enum policy_key)k);
	if (detail[0] == '\0')
		snprintf(detail, sizeof(detail), "no change");
	if (audit_write(c, now, who, "policy_update", kind_name(kind), 1, detail) != 0 ||
	    db_commit(c) != 0)
		goto fail;
	began = 0;
	app_policies_swap(app, &after);
	log_info("policy of %s changed by %s: %s", kind_name(kind), who->name, detail);
	*out = after;
	ret = 0;
	goto out;
fail:
	core_fail(err, CORE_ERROR, NULL, "the policy cannot be stored");
out:
	if (began)
		db_rollback(c);
	pthread_mutex_unlock(&app->policy_write);
	return ret;
}

int
core_outbox_retry(struct app *app, struct db_conn *c, const struct actor *who, int64_t id,
                  int64_t now, struct core_error *err)
{
	struct db_outbox o;
	int rc;

	err->code = CORE_OK;
	if (db_begin(c) != 0)
		return core_fail(err, CORE_BUSY, NULL, "the notice cannot be changed now");
	rc = db_outbox_get(c, id, &o);
	if (rc <= 0) {
		db_rollback(c);
		if (rc < 0)
			return core_fail(err, CORE_ERROR, NULL, "the notice cannot be read");
		return core_fail(err, CORE_NOT_FOUND, NULL, "no such notice");
	}
	rc = db_outbox_requeue(c, id, now, now + app->cfg.notify_give_up);
	if (rc == 0) {
		db_rollback(c);
		core_fail(err, CORE_CONFLICT, NULL, "the notice is %s, not failed", o.state);
		err->code_name = "not_failed";
		db_outbox_free(&o);
		return -1;
	}
	if (rc < 0) {
		db_rollback(c);
		db_outbox_free(&o);
		return core_fail(err, CORE_ERROR, NULL, "the notice cannot be changed");
	}
	{
		char detail[512];

		snprintf(detail, sizeof(detail), "%s %s %s", o.channel, o.step,
		         o.tracking != NULL ? o.tracking : "-");
		rc = audit_write(c, now, who, "outbox_retry", o.recipient, 1, detail);
	}
	db_outbox_free(&o);
	if (rc != 0 || db_commit(c) != 0) {
		db_rollback(c);
		return core_fail(err, CORE_ERROR, NULL, "the notice cannot be changed");
	}
	return 0;
}

int
core_outbox_retry_given_up(struct app *app, struct db_conn *c, const struct actor *who,
                           const char *channel, int64_t now, int64_t *n, struct core_error *err)
{
	char detail[64];
	int64_t k = 0;

	err->code = CORE_OK;
	if (db_begin(c) != 0)
		return core_fail(err, CORE_BUSY, NULL, "the notices cannot be changed now");
	if (db_outbox_requeue_given_up(c, channel, now, now + app->cfg.notify_give_up, &k) != 0) {
		db_rollback(c);
		return core_fail(err, CORE_ERROR, NULL, "the notices cannot be changed");
	}
	snprintf(detail, sizeof(detail), "%lld given-up notices pending again", (long long)k);
	if (audit_write(c, now, who, "outbox_retry_given_up", channel != NULL ? channel : "all", 1,
	                detail) != 0 ||
	    db_commit(c) != 0) {
		db_rollback(c);
		return core_fail(err, CORE_ERROR, NULL, "the notices cannot be changed");
	}
	*n = k;
	return 0;
}
