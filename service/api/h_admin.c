/*
 * h_admin.c: the administrators' API (role admin): accounts under /api/v1/admin/users and
 * sections under /api/v1/admin/sections. The account lifecycle itself is in accounts.c.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "api_int.h"

/* Reads an optional string member: 0 absent, 1 string (*out), 2 null; -1 after answering 400. */
static int
opt_string(json_t *j, const char *name, const char **out, struct resp *resp)
{
	json_t *v = json_object_get(j, name);

	if (v == NULL)
		return 0;
	if (json_is_null(v))
		return 2;
	if (!json_is_string(v)) {
		resp_error_field(resp, 400, name, "%s must be a string", name);
		return -1;
	}
	*out = json_string_value(v);
	return 1;
}

/* Answers 400 for a member of j that is not in allowed; returns -1 then, else 0. */
static int
known_fields(json_t *j, const char *const *allowed, size_t n, struct resp *resp)
{
	const char *key;
	json_t *v;
	size_t i;

	json_object_foreach(j, key, v)
	{
		for (i = 0; i < n && strcmp(key, allowed[i]) != 0; i++)
			;
		if (i == n) {
			resp_error_field(resp, 400, key, "unknown field '%s'", key);
			return -1;
		}
	}
	return 0;
}

/* An account's refusal: core's English sentence, with the rule it names ("rule": the key a
 * client words in its reader's language, as the admin page does from its catalogue). */
static void
acct_answer(struct resp *resp, enum acct_err e, const struct acct_error *err)
{
	switch (e) {
	case ACCT_OK:
		break;
	case ACCT_INVALID:
	case ACCT_WEAK:
		resp_error_rule(resp, 400, err->field != NULL ? "invalid_field" : "bad_request",
		                err->field, err->rule, "%s", err->message);
		break;
	case ACCT_NOT_FOUND:
		if (err->field != NULL)
			resp_error_rule(resp, 400, "invalid_field", err->field, err->rule, "%s",
			                err->message);
		else
			resp_error_rule(resp, 404, "not_found", NULL, err->rule, "%s", err->message);
		break;
	case ACCT_EXISTS:
		resp_error_rule(resp, 409, "exists", err->field, err->rule, "%s", err->message);
		break;
	case ACCT_ERROR:
		resp_error(resp, 500, "internal", "%s", err->message);
		break;
	}
}

static struct actor
actor_of(struct req *req)
{
	struct actor who = {req->session->account_id, req->session->username, req->addr};

	return who;
}

/* Answers with the account username (status), adding one_time_password when otp is set. */
static void
answer_account(struct req *req, struct resp *resp, int status, const char *username,
               const char *otp)
{
	struct db_account a;
	json_t *j;
	int rc = db_account_by_name(req->db, username, &a);

	if (rc <= 0) {
		resp_error(resp, 500, "internal", "the account cannot be read back");
		return;
	}
	j = account_json(req->db, &a);
	db_account_free(&a);
	if (j != NULL && otp != NULL)
		json_object_set_new(j, "one_time_password", json_string(otp));
	resp_json(resp, status, j);
}

/* GET /api/v1/admin/users: 200 {"users":[account…]} ordered by username. */
void
h_admin_users_list(struct req *req, struct resp *resp)
{
	struct db_account *v = NULL;
	size_t n = 0, i;
	json_t *users;

	if (db_account_list(req->db, &v, &n) != 0) {
		resp_error(resp, 500, "internal", "the accounts cannot be read");
		return;
	}
	users = json_array();
	for (i = 0; users != NULL && i < n; i++)
		json_array_append_new(users, account_json(req->db, &v[i]));
	db_accounts_free(v, n);
	resp_json(resp, 200, users ? json_pack("{s:o}", "users", users) : NULL);
}

/* POST /api/v1/admin/users {"username","role"[,"section","display_name","email","phone"]}:
 * 201 with the account and its "one_time_password" (shown once; it must be changed at first
 * login); 400 naming a bad field, 409 when the name is taken. */
void
h_admin_users_add(struct req *req, struct resp *resp)
{
	static const char *const fields[] = {"username",     "role",  "section",
	                                     "display_name", "email", "phone"};
	struct account_spec spec;
	struct acct_error err;
	struct actor who = actor_of(req);
	char otp[AUTH_OTP_SIZE];
	enum acct_err e;
	json_t *j;

	if (req_json(req, resp, &j) != 0)
		return;
	memset(&spec, 0, sizeof(spec));
	if (known_fields(j, fields, sizeof(fields) / sizeof(fields[0]), resp) != 0 ||
	    opt_string(j, "username", &spec.username, resp) < 0 ||
	    opt_string(j, "role", &spec.role, resp) < 0 ||
	    opt_string(j, "section", &spec.section, resp) < 0 ||
	    opt_string(j, "display_name", &spec.display_name, resp) < 0 ||
	    opt_string(j, "email", &spec.email, resp) < 0 ||
	    opt_string(j, "phone", &spec.phone, resp) < 0)
		goto out;
	if (spec.username == NULL) {
		resp_error_field(resp, 400, "username", "username is required");
		goto out;
	}
	e = account_create(req->app, req->db, &who, &spec, NULL, otp, &err);
	if (e != ACCT_OK)
		acct_answer(resp, e, &err);
	else
		answer_account(req, resp, 201, spec.username, otp);
	sodium_memzero(otp, sizeof(otp));
out:
	json_decref(j);
}

/* PATCH /api/v1/admin/users/{username} with any of "role", "section" (null clears),
 * "display_name", "email", "phone", "status" (active|suspended|revoked), "unlock":true (forgets
 * the failed logins that lock the name), "reset_password":true:
 * 200 with the account (and "one_time_password" after a reset); 404 unknown account, 400 naming
 * a bad field. An administrator cannot suspend, revoke or demote their own account. */
void
h_admin_users_patch(struct req *req, struct resp *resp)
{
	static const char *const fields[] = {"role",   "section", "display_name",   "email",
	                                     "phone",  "status",  "reset_password", "unlock"};
	const char *name = req->params[0];
	struct account_change ch;
	struct acct_error err;
	struct actor who = actor_of(req);
	char otp[AUTH_OTP_SIZE];
	enum acct_err e;
	json_t *j, *reset;
	int rc;

	if (req_json(req, resp, &j) != 0)
		return;
	memset(&ch, 0, sizeof(ch));
	if (known_fields(j, fields, sizeof(fields) / sizeof(fields[0]), resp) != 0 ||
	    opt_string(j, "role", &ch.role, resp) < 0 ||
	    opt_string(j, "status", &ch.status, resp) < 0)
		goto out;
	rc = opt_string(j, "section", &ch.section, resp);
	if (rc < 0)
		goto out;
	ch.set_section = rc != 0;
#define TEXT(f)                                                                                    \
	do {                                                                                       \
		rc = opt_string(j, #f, &ch.f, resp);                                               \
		if (rc < 0)                                                                        \
			goto out;                                                                  \
		if (rc == 2)                                                                       \
			ch.f = "";                                                                 \
	} while (0)
	TEXT(display_name);
	TEXT(email);
	TEXT(phone);
#undef TEXT
	reset = json_object_get(j, "reset_password");
	if (reset != NULL && !json_is_boolean(reset)) {
		resp_error_field(resp, 400, "reset_password",
		                 "reset_password must be true or false");
		goto out;
	}
	ch.reset_password = json_is_true(reset);
	reset = json_object_get(j, "unlock");
	if (reset != NULL && !json_is_boolean(reset)) {
		resp_error_field(resp, 400, "unlock", "unlock must be true or false");
		goto out;
	}
	ch.unlock = json_is_true(reset);
	if (strcmp(name, req->session->username) == 0 &&
	    ((ch.status != NULL && strcmp(ch.status, "active") != 0) ||
	     (ch.role != NULL && strcmp(ch.role, "admin") != 0))) {
		resp_error_rule(resp, 400, "invalid_field",
		                ch.role != NULL && strcmp(ch.role, "admin") != 0 ? "role" : "status",
		                "self", "you cannot suspend, revoke or demote your own account");
		goto out;
	}
	e = account_change(req->app, req->db, &who, name, &ch, otp, &err);
	if (e != ACCT_OK)
		acct_answer(resp, e, &err);
	else
		answer_account(req, resp, 200, name, ch.reset_password ? otp : NULL);
	sodium_memzero(otp, sizeof(otp));
out:
	json_decref(j);
}

/* --- sections ------------------------------------------------------------------------------ */

static json_t *
section_json(const struct db_section *s)
{
	return json_pack("{s:I, s:s, s:s?, s:b}", "id", (json_int_t)s->id, "name", s->name, "email",
	                 s->email, "active", s->active);
}

/* GET /api/v1/admin/sections: 200 {"sections":[{"id","name","email","active"}…]}. */
void
h_admin_sections_list(struct req *req, struct resp *resp)
{
	struct db_section *v = NULL;
	size_t n = 0, i;
	json_t *a;

	if (db_section_list(req->db, &v, &n) != 0) {
		resp_error(resp, 500, "internal", "the sections cannot be read");
		return;
	}
	a = json_array();
	for (i = 0; a != NULL && i < n; i++)
		json_array_append_new(a, section_json(&v[i]));
	db_sections_free(v, n);
	resp_json(resp, 200, a ? json_pack("{s:o}", "sections", a) : NULL);
}

/* The answer of a refusal by core about a section: 400 naming the field, 404, 409 "exists",
 * 500, 503. */
static void
section_refused(struct resp *resp, const struct core_error *err)
{
	if (err->code == CORE_CONFLICT)
		resp_error(resp, 409, "exists", "%s", err->message);
	else
		resp_core_error(resp, err);
}

/* POST /api/v1/admin/sections {"name"[,"email"]}: 201 with the section; 409 if the name is
 * taken; 400 naming a bad field. core_section_add stores and audits it. */
void
h_admin_sections_add(struct req *req, struct resp *resp)
{
	static const char *const fields[] = {"name", "email"};
	const char *name = NULL, *email = NULL;
	struct actor who = actor_of(req);
	struct core_error err;
	struct db_section s;
	int64_t id = 0;
	json_t *j;

	if (req_json(req, resp, &j) != 0)
		return;
	if (known_fields(j, fields, 2, resp) != 0 || opt_string(j, "name", &name, resp) < 0 ||
	    opt_string(j, "email", &email, resp) < 0)
		goto out;
	memset(&err, 0, sizeof(err));
	if (core_section_add(req->app, req->db, &who, name, email, req->now, &id, &err) != 0) {
		section_refused(resp, &err);
		goto out;
	}
	if (db_section_get(req->db, id, &s) <= 0) {
		resp_error(resp, 500, "internal", "the section cannot be read back");
		goto out;
	}
	resp_json(resp, 201, section_json(&s));
	db_section_free(&s);
out:
	json_decref(j);
}

/* PATCH /api/v1/admin/sections/{id} with any of "name", "email" (null clears), "active" (bool):
 * 200 with the section; 404 unknown id; 409 when the new name is taken; 400 naming a bad field.
 * core_section_update stores it with the request as the audit detail. */
void
h_admin_sections_patch(struct req *req, struct resp *resp)
{
	static const char *const fields[] = {"name", "email", "active"};
	const char *name = NULL, *email = NULL;
	struct actor who = actor_of(req);
	struct core_error err;
	struct db_section s;
	json_t *j, *active;
	char *end, *changes = NULL;
	long long id = strtoll(req->params[0], &end, 10);
	int erc = 0;

	if (*end != '\0' || id <= 0) {
		resp_error(resp, 404, "not_found", "there is no section %s", req->params[0]);
		return;
	}
	if (req_json(req, resp, &j) != 0)
		return;
	if (known_fields(j, fields, 3, resp) != 0 || opt_string(j, "name", &name, resp) < 0 ||
	    (erc = opt_string(j, "email", &email, resp)) < 0)
		goto out;
	if (erc == 2)
		email = ""; /* null clears */
	active = json_object_get(j, "active");
	if (active != NULL && !json_is_boolean(active)) {
		resp_error_field(resp, 400, "active", "active must be true or false");
		goto out;
	}
	changes = json_dumps(j, JSON_COMPACT);
	if (changes == NULL) {
		resp_error(resp, 500, "internal", "out of memory");
		goto out;
	}
	memset(&err, 0, sizeof(err));
	if (core_section_update(req->app, req->db, &who, id, name, email,
	                        active == NULL ? -1 : json_is_true(active), changes, req->now, &s,
	                        &err) != 0) {
		section_refused(resp, &err);
		goto out;
	}
	resp_json(resp, 200, section_json(&s));
	db_section_free(&s);
out:
	free(changes);
	json_decref(j);
}
