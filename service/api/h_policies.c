/*
 * h_policies.c: the administrators' API of the clock policies (role admin):
 * GET /api/v1/admin/policies and PATCH /api/v1/admin/policies/{kind}. The keys and their parser
 * are in policy.c; the effective policies live in struct app (app_policy, app_policies_swap).
 */
#include <stdio.h>
#include <string.h>

#include "api_int.h"

#define DETAIL_MAX 1024 /* bytes of the audit detail of one change (8 keys fit easily) */

/* The policies of every kind as the API shows them: a new object {KIND:{…},…} or NULL. */
static json_t *
policies_json(const struct policies *p)
{
	json_t *all = json_object();
	int k;

	for (k = 0; all != NULL && k < KIND__MAX; k++)
		if (json_object_set_new(all, kind_name((enum kind)k),
		                        policy_json(&p->kind[k], p->admin[k])) != 0) {
			json_decref(all);
			return NULL;
		}
	return all;
}

/* GET /api/v1/admin/policies: 200 {"policies":{"letter":{"forward_days":3,"reply_days":5,
 * "explain_days":3,"reply_extended_days":15,"unit":"working_days","end_of_day":"24:00",
 * "on_forward":"keep","on_supplement":"restart","source":{KEY:"config"|"admin",…}},
 * "complaint":{…},"consultation":{…}}}: the effective policies, each key with where it comes
 * from (the configuration file or environment, or an administrator's override). */
void
h_admin_policies_list(struct req *req, struct resp *resp)
{
	struct policies p;
	json_t *all;

	app_policies(req->app, &p);
	all = policies_json(&p);
	resp_json(resp, 200, all ? json_pack("{s:o}", "policies", all) : NULL);
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

/* PATCH /api/v1/admin/policies/{kind} with any of the keys GET shows (but "source"): a value
 * overrides the configuration's for that kind, null goes back to the configuration's. Days are
 * JSON integers from 1 to 366, the other keys strings, checked by the parser of the
 * configuration file (policy_set), so that the file and the API accept the same values.
 * Answers 200 with the kind's effective policy as GET shows it; 404 unknown kind; 400 naming
 * the field for an unknown key or a bad value (nothing is changed then); 500.
 *
 * The overrides and one audit row ("policy_update", target the kind, detail "KEY: OLD (source)
 * -> NEW (source), …" for each key whose value or source changed) are written in one
 * transaction; then the effective policies are rebuilt from the store and swapped in.
 *
 * A change applies to clocks started after it: items received later get their forward and
 * reply clocks under the new policy, and later actions follow it (an explain clock opened, an
 * extension approved, whether a forward or a supplement restarts a clock). A change never moves
 * a due time already given: each clock keeps the rule (days, unit, end of day) it was started
 * with, also when an action restarts it, because the promise made to the citizen does not move
 * (DESIGN.md "Items and clocks"); results once frozen stay as they are. */
void
h_admin_policies_patch(struct req *req, struct resp *resp)
{
	struct app *app = req->app;
	struct policies before, after;
	struct policy scratch;
	struct db_policy row;
	char values[POLICY_KEY__MAX][POLICY_VALUE_MAX], text[32], detail[DETAIL_MAX], err[512];
	const char *name, *value, *why, *bad;
	unsigned set = 0, clear = 0;
	int kind, k, locked = 0, began = 0;
	json_t *j = NULL, *v;

	kind = kind_parse(req->params[0]);
	if (kind < 0) {
		resp_error(resp, 404, "not_found",
		           "there is no kind %s (letter, complaint or consultation)",
		           req->params[0]);
		return;
	}
	if (req_json(req, resp, &j) != 0)
		return;
	/* Every value is checked before anything is written: a 400 changes nothing. */
	app_policies(app, &before);
	scratch = before.kind[kind];
	json_object_foreach(j, name, v)
	{
		k = policy_key_parse(name);
		if (k < 0) {
			resp_error_field(resp, 400, name, "unknown field '%s'", name);
			goto out;
		}
		if (json_is_null(v)) {
			clear |= 1u << k;
			set &= ~(1u << k);
			continue;
		}
		if (policy_key_is_days((enum policy_key)k) && json_is_integer(v)) {
			snprintf(text, sizeof(text), "%" JSON_INTEGER_FORMAT,
			         json_integer_value(v));
			value = text;
		} else if (!policy_key_is_days((enum policy_key)k) && json_is_string(v)) {
			value = json_string_value(v);
		} else {
			value = NULL; /* the wrong JSON type: policy_set says what it takes */
		}
		if (policy_set(&scratch, (enum policy_key)k, value, &why) != 0) {
			resp_error_field(resp, 400, name, "%s must be %s", name, why);
			goto out;
		}
		policy_format(&scratch, (enum policy_key)k, values[k]);
		set |= 1u << k;
		clear &= ~(1u << k);
	}
	if (set == 0 && clear == 0) {
		resp_json(resp, 200, policy_json(&before.kind[kind], before.admin[kind]));
		goto out;
	}

	/* One change at a time from here to the swap, so that swaps happen in commit order. */
	pthread_mutex_lock(&app->policy_write);
	locked = 1;
	app_policies(app, &before);
	if (db_begin(req->db) != 0)
		goto fail;
	began = 1;
	for (k = 0; k < POLICY_KEY__MAX; k++) {
		if (set & (1u << k)) {
			memset(&row, 0, sizeof(row));
			row.kind = (enum kind)kind;
			row.key = (char *)policy_key_name((enum policy_key)k);
			row.value = values[k];
			row.updated_at = req->now;
			row.updated_by = req->session->account_id;
			if (db_policy_set(req->db, &row) != 0)
				goto fail;
		} else if ((clear & (1u << k)) &&
		           db_policy_delete(req->db, (enum kind)kind,
		                            policy_key_name((enum policy_key)k)) < 0) {
			goto fail;
		}
	}
	/* The new effective policies from what is now stored, checked once more. */
	if (policies_read(&app->cfg, req->db, &after, err, sizeof(err)) != 0) {
		log_err("policies: %s", err);
		goto fail;
	}
	if (after.kind[kind].reply_extended_days < after.kind[kind].reply.days) {
		resp_error_field(resp, 400, "reply_extended_days",
		                 "reply_extended_days (%d) must be at least reply_days (%d): an "
		                 "approved extension never shortens the time to reply",
		                 after.kind[kind].reply_extended_days, after.kind[kind].reply.days);
		goto out;
	}
	why = policy_inconsistent(&after.kind[kind], &bad);
	if (why != NULL) {
		resp_error_field(resp, 400, bad, "%s", why);
		goto out;
	}
	detail[0] = '\0';
	for (k = 0; k < POLICY_KEY__MAX; k++)
		if ((set | clear) & (1u << k))
			detail_add(detail, &before, &after, kind, (enum policy_key)k);
	if (detail[0] == '\0')
		snprintf(detail, sizeof(detail), "no change");
	if (audit_log(req, "policy_update", kind_name((enum kind)kind), "%s", detail) != 0 ||
	    db_commit(req->db) != 0)
		goto fail;
	began = 0;
	app_policies_swap(app, &after);
	pthread_mutex_unlock(&app->policy_write);
	locked = 0;
	log_info("policy of %s changed by %s: %s", kind_name((enum kind)kind),
	         req->session->username, detail);
	resp_json(resp, 200, policy_json(&after.kind[kind], after.admin[kind]));
	goto out;
fail:
	resp_error(resp, 500, "internal", "the policy cannot be stored");
out:
	if (began)
		db_rollback(req->db);
	if (locked)
		pthread_mutex_unlock(&app->policy_write);
	json_decref(j);
}
