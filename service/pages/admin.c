/*
 * admin.c: the administrators' page /staff/admin and its forms — accounts (create, role and
 * section, status, unlock, reset password), sections, the clock policies, the retry of failed
 * notices, the audit log with filters. Every change goes through core (accounts.c, admin.c),
 * which audits it; the forms post with the session's CSRF token and come back to the page.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "pages_int.h"

#define AUDIT_ROWS 100 /* rows of the audit log on one page */
#define OUTBOX_ROWS 50 /* failed notices listed */
#define MAIL_ROWS 20   /* messages that made no item listed */
#define FILTER_MAX 64  /* bytes of an audit text filter */

/* The messages of ?done= after a change (the page comes back with one). */
static const char *const done_keys[] = {
    "account_changed", "account_unlocked", "section_added",
    "section_changed", "policy_changed",   "outbox_retried",
};

static const char *const statuses[] = {"active", "suspended", "revoked"};

/* [{value,label,selected}] of the roles, current selected. */
static json_t *
role_choices(struct page *pg, const char *current)
{
	json_t *a = json_array();
	int r;

	for (r = 0; r < ROLE__MAX; r++) {
		const char *name = role_name((enum role)r);

		json_array_append_new(a, json_pack("{s:s, s:s, s:b}", "value", name, "label",
		                                   page_msg2(pg, "role.", name), "selected",
		                                   current != NULL && strcmp(current, name) == 0));
	}
	return a;
}

/* [{value,label,selected}] of the sections (value "" for none first), current selected. */
static json_t *
section_choices(struct page *pg, const struct db_section *secs, size_t n, const char *current)
{
	json_t *a = json_array();
	size_t i;

	json_array_append_new(a, json_pack("{s:s, s:s, s:b}", "value", "", "label",
	                                   page_msg(pg, "admin.no_section"), "selected",
	                                   current == NULL || current[0] == '\0'));
	for (i = 0; i < n; i++)
		json_array_append_new(
		    a,
		    json_pack("{s:s, s:s, s:b, s:s?}", "value", secs[i].name, "label", secs[i].name,
		              "selected", current != NULL && strcmp(current, secs[i].name) == 0,
		              "opt_lang", page_text_lang(pg, secs[i].name)));
	return a;
}

static json_t *
status_choices(struct page *pg, const char *current)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++)
		json_array_append_new(a, json_pack("{s:s, s:s, s:b}", "value", statuses[i], "label",
		                                   page_msg2(pg, "astatus.", statuses[i]),
		                                   "selected", strcmp(current, statuses[i]) == 0));
	return a;
}

/* The name of the section with id (lent from secs), or "". */
static const char *
section_name(const struct db_section *secs, size_t n, int64_t id)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (secs[i].id == id)
			return secs[i].name;
	return "";
}

/* The names key k takes, as the options of a select with `current` chosen: [{value, label,
 * selected}], or false for a key typed in (days, a time). */
static json_t *
policy_choices(struct page *pg, enum policy_key k, const char *current)
{
	const char *const *names = policy_key_values(k);
	json_t *a;

	if (names == NULL)
		return json_false();
	a = json_array();
	for (; *names != NULL; names++)
		json_array_append_new(a, json_pack("{s:s, s:s, s:b}", "value", *names, "label",
		                                   page_msg2(pg, "policy.value.", *names), "selected",
		                                   strcmp(*names, current) == 0));
	return a;
}

/* The policies of every kind as forms: {kind, label, keys[{key, id, value, admin, days}]}. */
static json_t *
policy_forms(struct page *pg)
{
	struct policies pol;
	json_t *a = json_array();
	int kind, k;

	app_policies(pg->req->app, &pol);
	for (kind = 0; kind < KIND__MAX; kind++) {
		json_t *keys = json_array();

		for (k = 0; k < POLICY_KEY__MAX; k++) {
			char v[POLICY_VALUE_MAX], id[64];
			json_t *choices;

			policy_format(&pol.kind[kind], (enum policy_key)k, v);
			snprintf(id, sizeof(id), "pol-%s-%s", kind_name((enum kind)kind),
			         policy_key_name((enum policy_key)k));
			choices = policy_choices(pg, (enum policy_key)k, v);
			json_array_append_new(
			    keys,
			    json_pack("{s:s, s:s, s:s, s:s, s:b, s:b, s:b, s:o}", "key",
			              policy_key_name((enum policy_key)k), "label",
			              page_msg2(pg, "policy.", policy_key_name((enum policy_key)k)),
			              "id", id, "value", v, "admin",
			              (pol.admin[kind] & (1u << k)) != 0, "days",
			              policy_key_is_days((enum policy_key)k), "has_choices",
			              json_is_array(choices), "choices", choices));
		}
		json_array_append_new(
		    a, json_pack("{s:s, s:s, s:o}", "kind", kind_name((enum kind)kind), "label",
		                 page_msg2(pg, "kind.", kind_name((enum kind)kind)), "keys", keys));
	}
	return a;
}

/* The kinds of notice the notifiers write (a step is its kind, then "/" and what makes it unique:
 * "overdue/2025-10-14"), each with its message ostep.<kind> ('-' written '_' in the key). */
static const char *const outbox_kinds[] = {
    "remind",         "overdue",         "escalate",  "ack",      "info",
    "extension",      "explained",       "replied",   "rejected", "merged",
    "merged-replied", "reopened",        "coverage",  "digest",   "followup",
    "supervised",     "supervision-due", "sent-back",
};
static const char *const outbox_channels[] = {"email", "sms"};

/* The words of a notice's step for the page, into row: step_label (its kind's, or "other notice"
 * for a kind not listed), and for a clock's notice step_clock (the clock's label) and step_due
 * (the due date the step names). */
static void
outbox_step(struct page *pg, const struct db_outbox *o, json_t *row)
{
	size_t kind = strcspn(o->step, "/"), i, k;
	const char *label = page_msg(pg, "ostep.other"), *due = o->step + kind;
	char key[48];

	for (i = 0; i < sizeof(outbox_kinds) / sizeof(outbox_kinds[0]); i++)
		if (strlen(outbox_kinds[i]) == kind &&
		    strncmp(o->step, outbox_kinds[i], kind) == 0) {
			snprintf(key, sizeof(key), "ostep.%s", outbox_kinds[i]);
			for (k = 6; key[k] != '\0'; k++)
				if (key[k] == '-')
					key[k] = '_';
			label = page_msg(pg, key);
		}
	json_object_set_new(row, "step_label", json_string(label));
	if (o->clock != NULL && o->clock[0] != '\0')
		json_object_set_new(row, "step_clock",
		                    json_string(page_msg2(pg, "clock.", o->clock)));
	/* "/YYYY-MM-DD" after a clock notice's kind: the due date it is about */
	if (o->clock != NULL && o->clock[0] != '\0' && due[0] == '/' && strlen(due + 1) >= 10 &&
	    due[5] == '-' && due[8] == '-' && (due[11] == '\0' || due[11] == '/'))
		json_object_set_new(row, "step_due", json_stringn(due + 1, 10));
}

/* The words of a notice's channel (ochannel.<name>), or the name itself when it is not one we
 * know. */
static const char *
outbox_channel(struct page *pg, const char *channel)
{
	char key[32];
	size_t i;

	for (i = 0; i < sizeof(outbox_channels) / sizeof(outbox_channels[0]); i++)
		if (strcmp(channel, outbox_channels[i]) == 0) {
			snprintf(key, sizeof(key), "ochannel.%s", channel);
			return page_msg(pg, key);
		}
	return channel;
}

/* The failed notices, newest first, and the counts by state (those of
 * GET /api/v1/admin/outbox), with their channels and steps in words. */
static void
outbox_data(struct page *pg)
{
	static const char *const states[] = {"pending", "sent", "failed", "dropped"};
	struct db_outbox *v = NULL;
	json_t *rows = json_array(), *counts = json_object(), *chans = json_array();
	size_t n = 0, i;
	int64_t count;

	for (i = 0; i < sizeof(states) / sizeof(states[0]); i++)
		if (db_outbox_count(pg->req->db, states[i], &count) == 0)
			json_object_set_new(counts, states[i], json_integer(count));
	if (db_outbox_list(pg->req->db, "failed", INT64_MAX, OUTBOX_ROWS, &v, &n) == 0) {
		for (i = 0; i < n; i++) {
			char at[17];

			json_t *row;

			page_datetime(v[i].last_attempt ? v[i].last_attempt : v[i].created, at);
			row = json_pack("{s:I, s:s, s:s, s:s, s:s, s:i, s:s?, s:s}", "id",
			                (json_int_t)v[i].id, "tracking",
			                v[i].tracking ? v[i].tracking : "—", "channel",
			                outbox_channel(pg, v[i].channel), "recipient", v[i].recipient,
			                "step", v[i].step, "attempts", v[i].attempts, "error",
			                v[i].last_error, "at", at);
			if (row == NULL)
				continue;
			outbox_step(pg, &v[i], row);
			json_array_append_new(rows, row);
		}
		db_outboxes_free(v, n);
	}
	json_object_set_new(pg->data, "has_outbox", json_boolean(json_array_size(rows) > 0));
	json_object_set_new(pg->data, "outbox", rows);
	json_object_set_new(pg->data, "outbox_counts", counts);
	/* the buttons that send again every given-up notice of a channel */
	for (i = 0; i < sizeof(outbox_channels) / sizeof(outbox_channels[0]); i++)
		json_array_append_new(chans, json_pack("{s:s, s:s}", "value", outbox_channels[i],
		                                      "label", page_msg2(pg, "admin.given_up_",
		                                                         outbox_channels[i])));
	json_object_set_new(pg->data, "given_up_channels", chans);
}

/* How the IMAP poller's last poll of each mailbox went: a mailbox out of reach first. */
static void
mailbox_data(struct page *pg)
{
	struct db_mailbox_status *v = NULL;
	json_t *rows = json_array();
	size_t n = 0, i;

	if (db_mailbox_status_list(pg->req->db, &v, &n) == 0) {
		for (i = 0; i < n; i++) {
			char last[17], ok[17], since[17];

			page_datetime(v[i].last_poll, last);
			page_datetime(v[i].last_ok, ok);
			page_datetime(v[i].failing_since, since);
			json_array_append_new(
			    rows, json_pack("{s:s, s:s, s:s, s:s, s:I, s:s, s:b, s:b}", "mailbox",
			                    v[i].mailbox, "last_poll", last, "last_ok",
			                    v[i].last_ok != 0 ? ok : "—", "since", since, "failures",
			                    (json_int_t)v[i].failures, "error",
			                    v[i].error != NULL ? v[i].error : "", "failing",
			                    v[i].error != NULL, "never_ok", v[i].last_ok == 0));
		}
		db_mailbox_status_free(v, n);
	}
	json_object_set_new(pg->data, "mailboxes", rows);
}

/* The messages mail-in made nothing of (ignored: automatic mail, or refused with core's
 * reason), newest first, and the counts by outcome. */
static void
mail_data(struct page *pg)
{
	struct db_mail_row *v = NULL;
	struct db_mail_counts k;
	json_t *rows = json_array();
	size_t n = 0, i;

	if (db_mail_counts(pg->req->db, &k) == 0)
		json_object_set_new(pg->data, "mail_counts",
		                    json_pack("{s:I, s:I, s:I, s:I}", "created", (json_int_t)k.created,
		                              "added", (json_int_t)k.added, "duplicate",
		                              (json_int_t)k.duplicate, "ignored",
		                              (json_int_t)k.ignored));
	if (db_mail_list(pg->req->db, "ignored", INT64_MAX, MAIL_ROWS, &v, &n) == 0) {
		for (i = 0; i < n; i++) {
			char at[17];

			page_datetime(v[i].received, at);
			json_array_append_new(
			    rows, json_pack("{s:s, s:s, s:s, s:s, s:I}", "at", at, "source", v[i].source,
			                    "sender", v[i].sender ? v[i].sender : "—", "reason",
			                    v[i].reason ? v[i].reason : "—", "size",
			                    (json_int_t)v[i].size));
		}
		db_mail_rows_free(v, n);
	}
	json_object_set_new(pg->data, "has_mail", json_boolean(json_array_size(rows) > 0));
	json_object_set_new(pg->data, "mail", rows);
	mailbox_data(pg);
}

/* A date filter "YYYY-MM-DD" as the instant its day starts (end: the day after); 0 or -1. */
static int
date_filter(const char *s, int end, int64_t *out)
{
	sla_day day;

	if (sla_date_parse(s, &day) != 0)
		return -1;
	*out = sla_day_end(end ? day : day - 1, 1440) + 1;
	return 0;
}

/* A text filter from the query: NULL when absent, empty or too long; kept in data as f_NAME. */
static const char *
text_filter(struct page *pg, const char *name)
{
	const char *v = req_query(pg->req, name);
	char key[32];

	if (v == NULL || v[0] == '\0' || strlen(v) > FILTER_MAX || text_check(v, strlen(v), 0) < 0)
		return NULL;
	snprintf(key, sizeof(key), "f_%s", name);
	json_object_set_new(pg->data, key, json_string(v));
	return v;
}

/* The audit log filtered by actor, action, target (each a substring or exact as db_audit_list
 * takes them) and dates from..to, a page of AUDIT_ROWS from ?before=. */
static int
audit_data(struct page *pg)
{
	struct db_audit_filter af;
	struct db_audit *au = NULL;
	const char *from = text_filter(pg, "from"), *to = text_filter(pg, "to");
	const char *before = req_query(pg->req, "before");
	size_t nau = 0, i;
	json_t *a;

	memset(&af, 0, sizeof(af));
	af.actor = text_filter(pg, "actor");
	af.action = text_filter(pg, "action");
	af.target = text_filter(pg, "target");
	af.limit = AUDIT_ROWS;
	/* a date refused: beside its field, and in the summary at the top, linked to the field */
	if (from != NULL && date_filter(from, 0, &af.from) != 0)
		json_object_set_new(pg->data, "e_from",
		                    json_string(page_msg(pg, "admin.bad_date")));
	if (to != NULL && date_filter(to, 1, &af.to) != 0)
		json_object_set_new(pg->data, "e_to", json_string(page_msg(pg, "admin.bad_date")));
	if (json_object_get(pg->data, "problem") == NULL &&
	    (json_object_get(pg->data, "e_from") != NULL ||
	     json_object_get(pg->data, "e_to") != NULL)) {
		json_object_set_new(pg->data, "problem",
		                    json_string(page_msg(pg, "admin.bad_date")));
		json_object_set_new(
		    pg->data, "problem_href",
		    json_string(json_object_get(pg->data, "e_from") ? "#from" : "#to"));
	}
	if (before != NULL) {
		char *end;
		long long b;

		errno = 0;
		b = strtoll(before, &end, 10);
		if (errno == 0 && end != before && *end == '\0' && b > 0)
			af.before = b;
	}
	if (db_audit_list(pg->req->db, &af, &au, &nau) != 0)
		return -1;
	a = json_array();
	for (i = 0; i < nau; i++) {
		char at[17];
		const char *words = NULL;

		/* the action in words ("audit.login_failed"); the name itself stays on the row, for
		 * the administrator who searches the logs with it */
		if (au[i].action != NULL) {
			words = page_msg2(pg, "audit.", au[i].action);
			if (words == au[i].action)
				words = NULL;
		}
		page_datetime(au[i].at, at);
		json_array_append_new(
		    a, json_pack("{s:s, s:s?, s:s?, s:s?, s:s?, s:s, s:s?, s:s?, s:s?, s:s?, s:s?}",
		                 "at", at, "actor", au[i].actor, "action", au[i].action,
		                 "action_label", words, "target", au[i].target, "result",
		                 page_msg(pg, au[i].ok ? "admin.ok" : "admin.refused"), "addr",
		                 au[i].addr, "detail", au[i].detail, "actor_lang",
		                 page_text_lang(pg, au[i].actor), "target_lang",
		                 page_text_lang(pg, au[i].target), "detail_lang",
		                 page_text_lang(pg, au[i].detail)));
	}
	json_object_set_new(pg->data, "audit", a);
	if (nau == AUDIT_ROWS) {
		char href[600];
		size_t n = 0;
		const char *names[] = {"actor", "action", "target", "from", "to"};
		size_t k;

		n = (size_t)snprintf(href, sizeof(href), "/staff/admin?before=%lld",
		                     (long long)au[nau - 1].id);
		for (k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
			const char *v = req_query(pg->req, names[k]);
			const unsigned char *p;

			if (v == NULL || strlen(v) > FILTER_MAX)
				continue;
			n += (size_t)snprintf(href + n, sizeof(href) - n, "&%s=", names[k]);
			for (p = (const unsigned char *)v; *p != '\0' && n + 4 < sizeof(href); p++)
				n += (size_t)snprintf(
				    href + n, sizeof(href) - n,
				    ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
				     (*p >= '0' && *p <= '9') || *p == '-' || *p == '_')
				        ? "%c"
				        : "%%%02X",
				    *p);
		}
		snprintf(href + n, sizeof(href) - n, "#audit-title");
		json_object_set_new(pg->data, "audit_next", json_string(href));
	}
	db_audits_free(au, nau);
	return 0;
}

/* The message of ?done=given_up_email|given_up_sms&n=N (the bulk retry of the notices the
 * dispatcher gave up on): how many of the channel will be sent again. */
static void
given_up_flash(struct page *pg, const char *done)
{
	const char *q = req_query(pg->req, "n");
	char key[64], *end;
	long n;
	size_t i;

	for (i = 0; done != NULL && i < sizeof(outbox_channels) / sizeof(outbox_channels[0]); i++) {
		snprintf(key, sizeof(key), "given_up_%s", outbox_channels[i]);
		if (strcmp(done, key) != 0 || q == NULL)
			continue;
		errno = 0;
		n = strtol(q, &end, 10);
		if (errno != 0 || end == q || *end != '\0' || n < 0)
			return;
		snprintf(key, sizeof(key), "admin.done_given_up_%s", outbox_channels[i]);
		json_object_set_new(pg->data, "flash", page_msg_n(pg, key, n));
	}
}

/* Renders the administrators' page with status. */
static void
admin_page(struct page *pg, int status)
{
	struct db_account *acc = NULL;
	struct db_section *secs = NULL;
	struct sla_calendar *cal;
	const char *done = req_query(pg->req, "done"), *chosen;
	size_t nacc = 0, nsec = 0, i;
	json_t *a;
	char first[11], last[11];
	sla_day d0, d1;

	for (i = 0; done != NULL && i < sizeof(done_keys) / sizeof(done_keys[0]); i++)
		if (strcmp(done, done_keys[i]) == 0)
			json_object_set_new(pg->data, "flash",
			                    json_string(page_msg2(pg, "admin.done_", done)));
	given_up_flash(pg, done);
	if (db_account_list(pg->req->db, &acc, &nacc) != 0 ||
	    db_section_list(pg->req->db, &secs, &nsec) != 0 || audit_data(pg) != 0) {
		db_accounts_free(acc, nacc);
		page_error(pg, 500, "err.internal");
		return;
	}
	cal = app_calendar(pg->req->app);
	sla_calendar_range(cal, &d0, &d1);
	sla_calendar_unref(cal);
	sla_date_format(d0, first);
	sla_date_format(d1, last);
	json_object_set_new(pg->data, "cal_first", json_string(first));
	json_object_set_new(pg->data, "cal_last", json_string(last));
	json_object_set_new(pg->data, "policies", policy_forms(pg));
	a = json_array();
	for (i = 0; i < nsec; i++) {
		json_t *row =
		    json_pack("{s:I, s:s, s:s, s:b, s:s?}", "id", (json_int_t)secs[i].id, "name",
		              secs[i].name, "email", secs[i].email ? secs[i].email : "", "active",
		              secs[i].active, "name_lang", page_text_lang(pg, secs[i].name));
		json_t *kept = json_object_get(pg->data, "sec_kept");

		/* the row whose form a sign-in carried back (page_admin_draft): as it was sent */
		if (row != NULL && kept != NULL &&
		    json_integer_value(json_object_get(kept, "id")) == secs[i].id)
			json_object_update(row, json_object_get(kept, "row"));
		json_array_append_new(a, row);
	}
	json_object_set_new(pg->data, "sections", a);
	a = json_array();
	for (i = 0; i < nacc; i++) {
		const char *sec = section_name(secs, nsec, acc[i].section_id);

		json_array_append_new(
		    a, json_pack("{s:s, s:s, s:s, s:s?, s:s, s:s, s:o, s:o, s:o, s:b}", "username",
		                 acc[i].username, "role_label",
		                 page_msg2(pg, "role.", role_name(acc[i].role)), "section", sec,
		                 "section_lang", page_text_lang(pg, sec), "status", acc[i].status,
		                 "status_label", page_msg2(pg, "astatus.", acc[i].status), "roles",
		                 role_choices(pg, role_name(acc[i].role)), "section_opts",
		                 section_choices(pg, secs, nsec, sec), "statuses",
		                 status_choices(pg, acc[i].status), "self",
		                 strcmp(acc[i].username, pg->staff->username) == 0));
	}
	json_object_set_new(pg->data, "accounts", a);
	if (json_object_get(pg->data, "new_roles") == NULL)
		json_object_set_new(pg->data, "new_roles", role_choices(pg, "handler"));
	/* the new account's section as posted, or as a sign-in carried it (page_admin_draft) */
	chosen = json_string_value(json_object_get(pg->data, "new_section"));
	json_object_set_new(
	    pg->data, "new_sections",
	    section_choices(pg, secs, nsec, chosen != NULL ? chosen : page_field(pg, "section")));
	outbox_data(pg);
	mail_data(pg);
	db_accounts_free(acc, nacc);
	db_sections_free(secs, nsec);
	page_end(pg, status, "staff_admin");
}

/* Starts an administrator's page or form: 1, or 0 when it has answered. */
static int
admin_begin(struct page *pg, struct req *req, struct resp *resp, int form)
{
	if (!page_staff_begin(pg, req, resp, "admin.title", "admin", 0))
		return 0;
	if (pg->staff->role != ROLE_ADMIN) {
		page_error(pg, 403, "err.forbidden");
		return 0;
	}
	if (form && !page_csrf_ok(pg, "staff")) {
		json_object_set_new(pg->data, "problem", json_string(page_msg(pg, "err.csrf")));
		admin_page(pg, 403);
		return 0;
	}
	return 1;
}

/* The controls of the forms whose fields a refusal can name: form, field, the control's id. */
static const struct {
	const char *form, *field, *id;
} refusable[] = {
    {"acc", "username", "new-username"}, {"acc", "role", "new-role"},
    {"acc", "section", "new-section"},   {"acc", "display_name", "new-display-name"},
    {"acc", "email", "new-email"},       {"acc", "phone", "new-phone"},
    {"sec", "name", "new-section-name"}, {"sec", "email", "new-section-email"},
    {"cal", "file", "calendar-file"},
};

/* Shows the page again with a refusal: the catalogue's "admin.not_done" and message (a sentence
 * from core, in English: its lang on a Chinese page; or the catalogue's), and the field it names
 * (e_<form>_<field>, beside the field) when form is set, which the summary links to. */
static void
refused(struct page *pg, int status, const char *form, const char *field, const char *message)
{
	char key[64], href[64];
	const char *lang = page_text_lang(pg, message);
	size_t i;

	json_object_set_new(pg->data, "problem", json_string(page_msg(pg, "admin.not_done")));
	if (message != NULL && message[0] != '\0')
		json_object_set_new(pg->data, "problem_detail", json_string(message));
	if (lang != NULL)
		json_object_set_new(pg->data, "problem_lang", json_string(lang));
	if (form != NULL && field != NULL) {
		snprintf(key, sizeof(key), "e_%s_%s", form, field);
		json_object_set_new(pg->data, key,
		                    json_string(message ? message : page_msg(pg, "err.field")));
		for (i = 0; i < sizeof(refusable) / sizeof(refusable[0]); i++)
			if (strcmp(form, refusable[i].form) == 0 &&
			    strcmp(field, refusable[i].field) == 0) {
				snprintf(href, sizeof(href), "#%s", refusable[i].id);
				json_object_set_new(pg->data, "problem_href", json_string(href));
			}
	}
	admin_page(pg, status);
}

static struct actor
actor_of(struct page *pg)
{
	struct actor who = {pg->staff->account_id, pg->staff->username, pg->req->addr};

	return who;
}

/* An account's refusal in the page's language: the catalogue's message for the rule core
 * names (acct_error.rule), else core's sentence (in English, marked so by refused). */
static const char *
acct_message(struct page *pg, enum acct_err e, const struct acct_error *err)
{
	static const struct {
		const char *rule, *key;
	} msgs[] = {
	    {"username", "admin.acct_username"},
	    {"exists", "admin.acct_exists"},
	    {"role_required", "admin.acct_role_required"},
	    {"role_unknown", "admin.acct_role_unknown"},
	    {"text_long", "admin.acct_text_long"},
	    {"text_control", "admin.acct_text_control"},
	    {"email", "admin.acct_email"},
	    {"phone", "admin.acct_phone"},
	    {"phone_sms", "admin.acct_phone_sms"},
	    {"section_unknown", "admin.acct_section_unknown"},
	    {"section_needed", "admin.acct_section_needed"},
	    {"status_unknown", "admin.acct_status_unknown"},
	    {"self", "admin.acct_self"},
	    {"revoked", "admin.acct_revoked"},
	    {"not_found", "admin.no_account"},
	};
	size_t i;

	if (e == ACCT_ERROR)
		return page_msg(pg, "err.internal");
	for (i = 0; err->rule != NULL && i < sizeof(msgs) / sizeof(msgs[0]); i++)
		if (strcmp(err->rule, msgs[i].rule) == 0)
			return page_msg(pg, msgs[i].key);
	return err->message;
}

/* A section's refusal (core_section_add, core_section_update) in the page's language. */
static const char *
sec_message(struct page *pg, const struct core_error *err)
{
	if (err->code == CORE_CONFLICT)
		return page_msg(pg, "admin.sec_exists");
	if (err->code == CORE_NOT_FOUND)
		return page_msg(pg, "admin.no_section_found");
	if (err->code == CORE_BUSY || err->code == CORE_ERROR)
		return page_msg(pg, "err.internal");
	if (err->code == CORE_INVALID && err->field != NULL && strcmp(err->field, "name") == 0)
		return page_msg(pg, "admin.sec_name");
	if (err->code == CORE_INVALID && err->field != NULL && strcmp(err->field, "email") == 0)
		return page_msg(pg, "admin.sec_email");
	return err->message;
}

static int
acct_status(enum acct_err e)
{
	switch (e) {
	case ACCT_OK:
		return 200;
	case ACCT_NOT_FOUND:
		return 404;
	case ACCT_EXISTS:
		return 409;
	case ACCT_ERROR:
		return 500;
	default:
		return 400;
	}
}

static int
core_status(const struct core_error *err)
{
	static const int st[CORE_ERR__MAX] = {
	    [CORE_OK] = 200,        [CORE_INVALID] = 400,   [CORE_TOO_LARGE] = 413,
	    [CORE_FORBIDDEN] = 403, [CORE_NOT_FOUND] = 404, [CORE_CONFLICT] = 409,
	    [CORE_BUSY] = 503,      [CORE_ERROR] = 500,
	};

	return (unsigned)err->code < CORE_ERR__MAX ? st[err->code] : 500;
}

/* A form field, NULL when absent or only white space. */
static const char *
given(struct page *pg, const char *name)
{
	const char *v = page_field(pg, name);

	return v != NULL && text_nonblank(v) ? v : NULL;
}

/* Shows the one-time password of username once, on the page itself (never in an address). */
static void
show_otp(struct page *pg, const char *username, const char *otp, const char *key)
{
	json_object_set_new(pg->data, "otp",
	                    json_pack("{s:s, s:s, s:s}", "username", username, "password", otp,
	                              "lead", page_msg(pg, key)));
}

/* A carried draft's field (draft_NAME) as a JSON string: "" when absent. */
static json_t *
draft_value(struct page *pg, const char *name)
{
	char key[32];
	const char *v;

	snprintf(key, sizeof(key), "draft_%s", name);
	v = page_field(pg, key);
	return json_string(v != NULL ? v : "");
}

void
page_admin_draft(struct page *pg, const char *form, const char *id)
{
	if (pg->staff->role != ROLE_ADMIN) {
		page_redirect(pg, "/staff/");
		return;
	}
	json_object_set_new(pg->data, "title", json_string(page_msg(pg, "admin.title")));
	json_object_del(pg->data, "nav_queue");
	json_object_set_new(pg->data, "nav_admin", json_true());
	json_object_set_new(pg->data, "flash", json_string(page_msg(pg, "admin.draft_back")));
	if (strcmp(form, "account") == 0) {
		const char *role = page_field(pg, "draft_role");

		json_object_set_new(pg->data, "new_username", draft_value(pg, "username"));
		json_object_set_new(pg->data, "new_display_name", draft_value(pg, "display_name"));
		json_object_set_new(pg->data, "new_email", draft_value(pg, "email"));
		json_object_set_new(pg->data, "new_phone", draft_value(pg, "phone"));
		json_object_set_new(pg->data, "new_section", draft_value(pg, "section"));
		json_object_set_new(pg->data, "new_roles",
		                    role_choices(pg, role != NULL ? role : "handler"));
	} else if (strcmp(form, "section") == 0) {
		json_object_set_new(pg->data, "new_section_name", draft_value(pg, "name"));
		json_object_set_new(pg->data, "new_section_email", draft_value(pg, "email"));
	} else if (strcmp(form, "section_change") == 0) {
		json_t *row = json_object();

		json_object_set_new(row, "name", draft_value(pg, "name"));
		json_object_set_new(row, "email", draft_value(pg, "email"));
		json_object_set_new(row, "active",
		                    json_boolean(page_field(pg, "draft_active") != NULL));
		json_object_set_new(
		    pg->data, "sec_kept",
		    json_pack("{s:I, s:o}", "id", (json_int_t)strtoll(id, NULL, 10), "row", row));
	}
	admin_page(pg, 200);
}

void
pg_staff_admin(struct req *req, struct resp *resp)
{
	struct page pg;

	if (!admin_begin(&pg, req, resp, 0))
		return;
	admin_page(&pg, 200);
}

/* POST /staff/admin/accounts: a new account with a one-time password, shown once. */
void
pg_admin_account_add(struct req *req, struct resp *resp)
{
	struct page pg;
	struct account_spec spec;
	struct acct_error err;
	struct actor who;
	char otp[AUTH_OTP_SIZE];
	enum acct_err e;

	if (!admin_begin(&pg, req, resp, 1))
		return;
	who = actor_of(&pg);
	memset(&spec, 0, sizeof(spec));
	memset(&err, 0, sizeof(err));
	spec.username = page_field(&pg, "username");
	spec.role = page_field(&pg, "role");
	spec.section = given(&pg, "section");
	spec.display_name = given(&pg, "display_name");
	spec.email = given(&pg, "email");
	spec.phone = given(&pg, "phone");
	json_object_set_new(pg.data, "new_username",
	                    json_string(spec.username ? spec.username : ""));
	json_object_set_new(pg.data, "new_display_name",
	                    json_string(spec.display_name ? spec.display_name : ""));
	json_object_set_new(pg.data, "new_email", json_string(spec.email ? spec.email : ""));
	json_object_set_new(pg.data, "new_phone", json_string(spec.phone ? spec.phone : ""));
	json_object_set_new(pg.data, "new_roles", role_choices(&pg, spec.role));
	if (spec.username == NULL || spec.username[0] == '\0') {
		refused(&pg, 400, "acc", "username", page_msg(&pg, "admin.username_required"));
		return;
	}
	e = account_create(req->app, req->db, &who, &spec, NULL, otp, &err);
	if (e != ACCT_OK) {
		refused(&pg, acct_status(e), "acc", err.field ? err.field : "username",
		        acct_message(&pg, e, &err));
		sodium_memzero(otp, sizeof(otp));
		return;
	}
	json_object_set_new(pg.data, "new_username", json_string(""));
	json_object_set_new(pg.data, "new_display_name", json_string(""));
	json_object_set_new(pg.data, "new_email", json_string(""));
	json_object_set_new(pg.data, "new_phone", json_string(""));
	show_otp(&pg, spec.username, otp, "admin.otp_created");
	sodium_memzero(otp, sizeof(otp));
	admin_page(&pg, 201);
}

/* POST /staff/admin/accounts/{username}: op = "save" (role, section and status, each only when
 * it changes), "unlock" or "reset" (a new one-time password, shown once). */
void
pg_admin_account_change(struct req *req, struct resp *resp)
{
	struct page pg;
	struct account_change ch;
	struct acct_error err;
	struct db_account cur;
	struct db_section sec;
	struct actor who;
	const char *op, *role, *section, *status, *cur_section = "";
	char otp[AUTH_OTP_SIZE], loc[96];
	enum acct_err e;
	int rc;

	if (!admin_begin(&pg, req, resp, 1))
		return;
	who = actor_of(&pg);
	op = page_field(&pg, "op");
	memset(&ch, 0, sizeof(ch));
	memset(&err, 0, sizeof(err));
	memset(&sec, 0, sizeof(sec));
	if (!auth_username_valid(req->params[0])) {
		refused(&pg, 404, NULL, NULL, page_msg(&pg, "admin.no_account"));
		return;
	}
	rc = db_account_by_name(req->db, req->params[0], &cur);
	if (rc <= 0) {
		refused(&pg, rc < 0 ? 500 : 404, NULL, NULL, page_msg(&pg, "admin.no_account"));
		return;
	}
	if (cur.section_id != 0 && db_section_get(req->db, cur.section_id, &sec) == 1)
		cur_section = sec.name;
	if (op != NULL && strcmp(op, "save") == 0) {
		role = page_field(&pg, "role");
		section = page_field(&pg, "section");
		status = page_field(&pg, "status");
		if (role != NULL && strcmp(role, role_name(cur.role)) != 0)
			ch.role = role;
		if (section != NULL && strcmp(section, cur_section) != 0) {
			ch.set_section = 1;
			ch.section = section;
		}
		if (status != NULL && strcmp(status, cur.status) != 0)
			ch.status = status;
	} else if (op != NULL && strcmp(op, "unlock") == 0) {
		ch.unlock = 1;
	} else if (op != NULL && strcmp(op, "reset") == 0) {
		ch.reset_password = 1;
	} else {
		db_section_free(&sec);
		db_account_free(&cur);
		refused(&pg, 400, NULL, NULL, page_msg(&pg, "err.field"));
		return;
	}
	db_section_free(&sec);
	db_account_free(&cur);
	e = account_change(req->app, req->db, &who, req->params[0], &ch, otp, &err);
	if (e != ACCT_OK) {
		refused(&pg, acct_status(e), NULL, NULL, acct_message(&pg, e, &err));
		sodium_memzero(otp, sizeof(otp));
		return;
	}
	if (ch.reset_password) {
		show_otp(&pg, req->params[0], otp, "admin.otp_reset");
		sodium_memzero(otp, sizeof(otp));
		admin_page(&pg, 200);
		return;
	}
	snprintf(loc, sizeof(loc), "/staff/admin?done=%s#accounts-title",
	         ch.unlock ? "account_unlocked" : "account_changed");
	page_redirect(&pg, loc);
}

/* POST /staff/admin/sections: a new section. */
void
pg_admin_section_add(struct req *req, struct resp *resp)
{
	struct page pg;
	struct core_error err;
	struct actor who;
	int64_t id;

	if (!admin_begin(&pg, req, resp, 1))
		return;
	who = actor_of(&pg);
	memset(&err, 0, sizeof(err));
	json_object_set_new(pg.data, "new_section_name",
	                    json_string(page_field(&pg, "name") ? page_field(&pg, "name") : ""));
	json_object_set_new(pg.data, "new_section_email",
	                    json_string(page_field(&pg, "email") ? page_field(&pg, "email") : ""));
	if (core_section_add(req->app, req->db, &who, given(&pg, "name"), page_field(&pg, "email"),
	                     req->now, &id, &err) != 0) {
		refused(&pg, core_status(&err), "sec", err.field ? err.field : "name",
		        sec_message(&pg, &err));
		return;
	}
	page_redirect(&pg, "/staff/admin?done=section_added#sections-title");
}

/* POST /staff/admin/sections/{id}: name, e-mail (empty: none) and active (the box). */
void
pg_admin_section_change(struct req *req, struct resp *resp)
{
	struct page pg;
	struct core_error err;
	struct actor who;
	char *end;
	long long id;

	if (!admin_begin(&pg, req, resp, 1))
		return;
	who = actor_of(&pg);
	errno = 0;
	id = strtoll(req->params[0], &end, 10);
	if (errno != 0 || end == req->params[0] || *end != '\0' || id < 1) {
		refused(&pg, 404, NULL, NULL, page_msg(&pg, "admin.no_section_found"));
		return;
	}
	memset(&err, 0, sizeof(err));
	if (core_section_update(req->app, req->db, &who, id, given(&pg, "name"),
	                        page_field(&pg, "email") ? page_field(&pg, "email") : "",
	                        page_field(&pg, "active") != NULL, NULL, req->now, NULL,
	                        &err) != 0) {
		refused(&pg, core_status(&err), NULL, NULL, sec_message(&pg, &err));
		return;
	}
	page_redirect(&pg, "/staff/admin?done=section_changed#sections-title");
}

/* POST /staff/admin/policies/{kind}: each key whose value differs from the effective one is
 * overridden; a ticked reset_KEY takes it back to the configuration's. */
void
pg_admin_policy(struct req *req, struct resp *resp)
{
	struct page pg;
	struct policies cur, after;
	struct core_error err;
	struct actor who;
	const char *values[POLICY_KEY__MAX] = {NULL};
	unsigned clear = 0;
	int kind, k;

	if (!admin_begin(&pg, req, resp, 1))
		return;
	who = actor_of(&pg);
	kind = kind_parse(req->params[0]);
	if (kind < 0) {
		refused(&pg, 404, NULL, NULL, page_msg(&pg, "err.field"));
		return;
	}
	app_policies(req->app, &cur);
	for (k = 0; k < POLICY_KEY__MAX; k++) {
		const char *name = policy_key_name((enum policy_key)k), *v = page_field(&pg, name);
		char reset[64], now[POLICY_VALUE_MAX];

		snprintf(reset, sizeof(reset), "reset_%s", name);
		if (page_field(&pg, reset) != NULL && (cur.admin[kind] & (1u << k))) {
			clear |= 1u << k;
			continue;
		}
		policy_format(&cur.kind[kind], (enum policy_key)k, now);
		if (v != NULL && strcmp(v, now) != 0)
			values[k] = v;
	}
	memset(&err, 0, sizeof(err));
	if (core_policy_change(req->app, req->db, &who, (enum kind)kind, values, clear, req->now,
	                       &after, &err) != 0) {
		refused(&pg, core_status(&err), NULL, NULL, err.message);
		return;
	}
	page_redirect(&pg, "/staff/admin?done=policy_changed#policies-title");
}

/* POST /staff/admin/outbox/{id}/retry: a failed notice is sent again. */
void
pg_admin_outbox_retry(struct req *req, struct resp *resp)
{
	struct page pg;
	struct core_error err;
	struct actor who;
	char *end;
	long long id;

	if (!admin_begin(&pg, req, resp, 1))
		return;
	who = actor_of(&pg);
	errno = 0;
	id = strtoll(req->params[0], &end, 10);
	memset(&err, 0, sizeof(err));
	if (errno != 0 || end == req->params[0] || *end != '\0' || id < 1 ||
	    core_outbox_retry(req->app, req->db, &who, id, req->now, &err) != 0) {
		refused(&pg, err.code == CORE_OK ? 404 : core_status(&err), NULL, NULL,
		        err.code == CORE_OK ? page_msg(&pg, "err.field") : err.message);
		return;
	}
	page_redirect(&pg, "/staff/admin?done=outbox_retried#outbox-title");
}

/* POST /staff/admin/outbox/retry (field channel: "email" | "sms"): every notice of the channel
 * the dispatcher gave up on is sent again (core_outbox_retry_given_up, as
 * POST /api/v1/admin/outbox/retry); the page comes back saying how many. */
void
pg_admin_outbox_retry_given_up(struct req *req, struct resp *resp)
{
	struct page pg;
	struct core_error err;
	struct actor who;
	const char *channel;
	char loc[128];
	int64_t n = 0;

	if (!admin_begin(&pg, req, resp, 1))
		return;
	who = actor_of(&pg);
	channel = page_field(&pg, "channel");
	if (channel == NULL || (strcmp(channel, "email") != 0 && strcmp(channel, "sms") != 0)) {
		refused(&pg, 400, NULL, NULL, page_msg(&pg, "err.field"));
		return;
	}
	memset(&err, 0, sizeof(err));
	if (core_outbox_retry_given_up(req->app, req->db, &who, channel, req->now, &n, &err) != 0) {
		refused(&pg, core_status(&err), NULL, NULL, err.message);
		return;
	}
	snprintf(loc, sizeof(loc), "/staff/admin?done=given_up_%s&n=%lld#flash", channel,
	         (long long)n);
	page_redirect(&pg, loc);
}

#define CAL_FILES_MAX 4     /* calendar files of one upload */
#define CAL_FAULTS_MAX 50   /* faults listed by line */

/* The faults of a calendar file line by line: each line checked on its own with the parser's
 * rules (sla_file_year), into a new array of {file, line, reason}. Faults that need several lines
 * (a date twice, a gap between years) come from the whole check (core_calendar_load). */
static json_t *
calendar_faults(const char *name, const char *text)
{
	json_t *a = json_array();
	const char *p = text;
	size_t lineno = 0;

	while (*p != '\0' && json_array_size(a) < CAL_FAULTS_MAX) {
		const char *end = strchr(p, '\n');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		char line[512], err[512];
		int year;

		lineno++;
		if (len >= sizeof(line)) {
			json_array_append_new(a, json_pack("{s:s, s:I, s:s}", "file", name, "line",
			                                   (json_int_t)lineno, "reason",
			                                   "the line is too long"));
			p = end ? end + 1 : p + len;
			continue;
		}
		memcpy(line, p, len);
		line[len] = '\0';
		if (text_nonblank(line) && line[strspn(line, " \t")] != '#' &&
		    sla_file_year(name, line, &year, err, sizeof(err)) != 0) {
			/* "name:1: reason" -> "reason" */
			const char *reason = strstr(err, ": ");

			reason = reason ? strstr(reason + 2, ": ") : NULL;
			reason = reason ? reason + 2 : err;
			if (strstr(err, ":1: ") == NULL)
				reason = err;
			json_array_append_new(a, json_pack("{s:s, s:I, s:s}", "file", name, "line",
			                                   (json_int_t)lineno, "reason", reason));
		}
		p = end ? end + 1 : p + len;
	}
	return a;
}

/* The last part of a path a browser may send as a file name. */
static const char *
file_base(const char *s)
{
	const char *p, *base = s;

	for (p = s; *p != '\0'; p++)
		if (*p == '/' || *p == '\\')
			base = p + 1;
	return base;
}

/* POST /staff/admin/calendar (multipart, field "calendar"): one or more calendar files (a year
 * each, "YYYY-MM-DD off|work NAME" lines) loaded through core_calendar_load, which checks them
 * alone and with the calendar in force, stores them, swaps the calendar in and recomputes the
 * running clocks, with history and audit rows; on any fault nothing changes and the page lists
 * the faults by file and line. */
void
pg_admin_calendar(struct req *req, struct resp *resp)
{
	struct page pg;
	struct actor who;
	struct core_error err;
	struct calendar_report rep;
	const char *names[CAL_FILES_MAX], *texts[CAL_FILES_MAX];
	json_t *faults;
	size_t n = 0, i;

	if (!admin_begin(&pg, req, resp, 1))
		return;
	who = actor_of(&pg);
	for (i = 0; i < req->nform; i++) {
		const struct form_field *f = &req->form[i];

		if (f->filename == NULL || strcmp(f->name, "calendar") != 0 ||
		    (f->filename[0] == '\0' && f->size == 0))
			continue;
		if (n == CAL_FILES_MAX) {
			refused(&pg, 400, "cal", "file", page_msg(&pg, "admin.calendar_many"));
			return;
		}
		if (strlen(f->data) != f->size || text_check(f->data, f->size, TEXT_MULTILINE) < 0) {
			refused(&pg, 400, "cal", "file", page_msg(&pg, "admin.calendar_text"));
			return;
		}
		names[n] = file_base(f->filename);
		texts[n] = f->data;
		n++;
	}
	if (n == 0) {
		refused(&pg, 400, "cal", "file", page_msg(&pg, "admin.calendar_none"));
		return;
	}
	memset(&err, 0, sizeof(err));
	memset(&rep, 0, sizeof(rep));
	if (core_calendar_load(req->app, &who, names, texts, n, req->now, &rep, &err) != 0) {
		faults = json_array();
		for (i = 0; i < n; i++) {
			json_t *f = calendar_faults(names[i], texts[i]);

			json_array_extend(faults, f);
			json_decref(f);
		}
		json_object_set_new(pg.data, "cal_faults", faults);
		json_object_set_new(pg.data, "has_cal_faults", json_boolean(json_array_size(faults) > 0));
		refused(&pg, core_status(&err), "cal", "file", err.message);
		return;
	}
	json_object_set_new(pg.data, "cal_report",
	                    json_pack("{s:s, s:s, s:I, s:I}", "first", rep.first, "last", rep.last,
	                              "items", (json_int_t)rep.items, "moved",
	                              (json_int_t)rep.moved));
	admin_page(&pg, 200);
}
