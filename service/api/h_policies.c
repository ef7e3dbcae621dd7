/*
 * h_policies.c: the administrators' API of the clock policies (role admin):
 * GET /api/v1/admin/policies and PATCH /api/v1/admin/policies/{kind}. The keys and their parser
 * are in policy.c; the effective policies live in struct app (app_policy, app_policies_swap).
 */
#include <stdio.h>
#include <string.h>

#include "api_int.h"

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
	struct policies before, after;
	struct policy scratch;
	struct actor who = req_actor(req);
	struct core_error err;
	char values[POLICY_KEY__MAX][POLICY_VALUE_MAX], text[32];
	const char *given[POLICY_KEY__MAX] = { NULL };
	const char *name, *value, *why;
	unsigned clear = 0;
	int kind, k;
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
	/* the JSON types here (days are integers, the others strings); the values in core */
	app_policies(req->app, &before);
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
			given[k] = NULL;
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
		given[k] = values[k];
		clear &= ~(1u << k);
	}
	memset(&err, 0, sizeof(err));
	if (core_policy_change(req->app, req->db, &who, (enum kind)kind, given, clear, req->now,
	                       &after, &err) != 0) {
		resp_core_error(resp, &err);
		goto out;
	}
	resp_json(resp, 200, policy_json(&after.kind[kind], after.admin[kind]));
out:
	json_decref(j);
}
