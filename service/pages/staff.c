/*
 * staff.c: the staff pages under /staff/ — sign-in (lockout and expiry messages, forced password
 * change), the queue by nearest due time, and the item page with exactly the actions the role
 * and state allow, taken through core_act. The session cookie is the API's; forms carry the
 * session's CSRF token in a hidden field.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pages_int.h"

#define MAX_ACTIONS WF_ACTION__MAX

int
page_staff(struct page *pg, int *expired)
{
	const char *token = req_cookie(pg->req, AUTH_COOKIE);
	struct session *s = NULL;

	*expired = 0;
	if (token == NULL)
		return 0;
	switch (core_session_get(pg->req->app, pg->req->db, token, pg->req->now, &s)) {
	case SESSION_OK:
		pg->staff = s;
		return 1;
	case SESSION_EXPIRED:
		*expired = 1;
		return 0;
	case SESSION_ERROR:
		return -1;
	default:
		return 0;
	}
}

void
page_staff_data(struct page *pg)
{
	enum role r = pg->staff->role;

	json_object_set_new(pg->data, "staff",
	                    json_pack("{s:s, s:s, s:b}", "username", pg->staff->username,
	                              "role_label", page_msg2(pg, "role.", role_name(r)),
	                              "dashboard", 0));
	page_csrf_set(pg, "staff");
}

/* Starts a staff page: 1 with the session (and its data set), 0 when the page has answered (a
 * redirect to the sign-in or password page, or an error). */
static int
staff_begin(struct page *pg, struct req *req, struct resp *resp, const char *title_key,
            const char *nav, int allow_must_change)
{
	int expired, rc;

	if (page_begin(pg, req, resp, title_key, nav) != 0)
		return 0;
	rc = page_staff(pg, &expired);
	if (rc < 0) {
		page_error(pg, 503, "err.internal");
		return 0;
	}
	if (rc == 0) {
		page_redirect(pg, expired ? "/staff/login?expired=1" : "/staff/login");
		return 0;
	}
	if (pg->staff->must_change && !allow_must_change) {
		page_redirect(pg, "/staff/password");
		return 0;
	}
	page_staff_data(pg);
	return 1;
}

/* --- sign-in, sign-out, password --------------------------------------------------------- */

static void
login_form(struct page *pg, int status, const char *message_key, const char *username)
{
	if (message_key != NULL)
		json_object_set_new(pg->data, "message", json_string(page_msg(pg, message_key)));
	json_object_set_new(pg->data, "username_value", json_string(username ? username : ""));
	page_csrf_set(pg, "login");
	page_end(pg, status, "staff_login");
}

void
pg_staff_login_get(struct req *req, struct resp *resp)
{
	struct page pg;
	int expired;

	if (page_begin(&pg, req, resp, "login.title", NULL) != 0)
		return;
	if (page_staff(&pg, &expired) == 1) {
		page_redirect(&pg, "/staff/");
		return;
	}
	if (req_query(req, "expired") != NULL)
		json_object_set_new(pg.data, "notice", json_string(page_msg(&pg, "login.expired")));
	else if (req_query(req, "out") != NULL)
		json_object_set_new(pg.data, "notice", json_string(page_msg(&pg, "login.logged_out")));
	login_form(&pg, 200, NULL, NULL);
}

void
pg_staff_login_post(struct req *req, struct resp *resp)
{
	struct page pg;
	const char *user, *pass;
	char token[AUTH_TOKEN_SIZE];
	struct session *s = NULL;
	int rc;

	if (page_begin(&pg, req, resp, "login.title", NULL) != 0)
		return;
	user = page_field(&pg, "username");
	pass = page_field(&pg, "password");
	if (!page_csrf_ok(&pg, "login")) {
		login_form(&pg, 403, "err.csrf", user);
		return;
	}
	if (user == NULL || pass == NULL || strlen(user) > 64 ||
	    text_check(user, strlen(user), 0) < 0) {
		login_form(&pg, 401, "login.failed", NULL);
		return;
	}
	rc = core_login(req->app, req->db, user, pass, req->addr, req->now, token, &s);
	if (rc < 0) {
		page_error(&pg, 503, "err.internal");
		return;
	}
	if (rc == 1) {
		login_form(&pg, 401, "login.failed", user);
		return;
	}
	auth_cookie(req, resp, token);
	page_redirect(&pg, s->must_change ? "/staff/password" : "/staff/");
	session_free(s);
}

void
pg_staff_logout(struct req *req, struct resp *resp)
{
	struct page pg;
	struct actor who;
	int expired;

	if (page_begin(&pg, req, resp, "login.title", NULL) != 0)
		return;
	if (page_staff(&pg, &expired) != 1) {
		page_redirect(&pg, "/staff/login");
		return;
	}
	if (!page_csrf_ok(&pg, "staff")) {
		page_staff_data(&pg);
		page_error(&pg, 403, "err.csrf");
		return;
	}
	who.id = pg.staff->account_id;
	who.name = pg.staff->username;
	who.addr = req->addr;
	core_logout(req->app, req->db, req_cookie(req, AUTH_COOKIE), &who, req->now);
	auth_cookie(req, resp, NULL);
	page_redirect(&pg, "/staff/login?out=1");
}

static void
password_form(struct page *pg, int status, const char *message)
{
	json_object_set_new(pg->data, "forced", json_boolean(pg->staff->must_change));
	if (message != NULL)
		json_object_set_new(pg->data, "message", json_string(message));
	page_end(pg, status, "staff_password");
}

void
pg_staff_password_get(struct req *req, struct resp *resp)
{
	struct page pg;

	if (!staff_begin(&pg, req, resp, "password.title", NULL, 1))
		return;
	password_form(&pg, 200, NULL);
}

void
pg_staff_password_post(struct req *req, struct resp *resp)
{
	struct page pg;
	struct actor who;
	struct acct_error err;
	struct db_account a;
	const char *old, *new;
	char msg[400];
	int rc;

	if (!staff_begin(&pg, req, resp, "password.title", NULL, 1))
		return;
	if (!page_csrf_ok(&pg, "staff")) {
		password_form(&pg, 403, page_msg(&pg, "err.csrf"));
		return;
	}
	old = page_field(&pg, "current");
	new = page_field(&pg, "new");
	who.id = pg.staff->account_id;
	who.name = pg.staff->username;
	who.addr = req->addr;
	if (old == NULL || new == NULL || strlen(old) > AUTH_PASSWORD_MAX) {
		password_form(&pg, 400, page_msg(&pg, "password.wrong"));
		return;
	}
	rc = db_account_get(req->db, pg.staff->account_id, &a);
	if (rc <= 0) {
		page_error(&pg, 500, "err.internal");
		return;
	}
	auth_pwhash_enter(req->app);
	rc = auth_verify_password(a.password_hash, old);
	auth_pwhash_leave(req->app);
	db_account_free(&a);
	if (!rc) {
		if (db_begin(req->db) == 0 &&
		    (audit_write(req->db, req->now, &who, "password_change_failed",
		                 pg.staff->username, 0, "wrong current password") != 0 ||
		     db_commit(req->db) != 0))
			db_rollback(req->db);
		password_form(&pg, 400, page_msg(&pg, "password.wrong"));
		return;
	}
	memset(&err, 0, sizeof(err));
	if (account_set_password(req->app, req->db, &who, pg.staff->username, new, 0,
	                         pg.staff->token_hash, &err) != ACCT_OK) {
		snprintf(msg, sizeof(msg), "%s %s", page_msg(&pg, "password.failed"), err.message);
		password_form(&pg, 400, msg);
		return;
	}
	page_redirect(&pg, "/staff/");
}

/* --- the queue ----------------------------------------------------------------------------- */

/* 1 if the role sees every section (dispatcher, supervisor, admin). */
static int
sees_all(enum role r)
{
	return r == ROLE_DISPATCHER || r == ROLE_SUPERVISOR || r == ROLE_ADMIN;
}

static json_t *
state_choices(struct page *pg, const char *current)
{
	json_t *a = json_array();
	int s;

	json_array_append_new(a, json_pack("{s:s, s:s, s:b}", "value", "open", "label",
	                                   page_msg(pg, "queue.open"), "checked",
	                                   current == NULL || strcmp(current, "open") == 0));
	json_array_append_new(a, json_pack("{s:s, s:s, s:b}", "value", "all", "label",
	                                   page_msg(pg, "queue.all"), "checked",
	                                   current != NULL && strcmp(current, "all") == 0));
	for (s = 0; s < WF_STATE__MAX; s++) {
		const char *name = wf_state_name((enum wf_state)s);

		json_array_append_new(a, json_pack("{s:s, s:s, s:b}", "value", name, "label",
		                                   page_msg2(pg, "sstate.", name), "checked",
		                                   current != NULL && strcmp(current, name) == 0));
	}
	return a;
}

void
pg_staff_queue(struct req *req, struct resp *resp)
{
	struct page pg;
	struct db_queue_filter f;
	struct db_queue_row *rows = NULL;
	struct sla_calendar *cal;
	const char *state = req_query(req, "state"), *q = req_query(req, "q");
	const char *cursor = req_query(req, "cursor");
	size_t n = 0, i;
	json_t *items;
	long long a, b;
	char href[600];

	if (!staff_begin(&pg, req, resp, "queue.title", "queue", 0))
		return;
	memset(&f, 0, sizeof(f));
	if (state != NULL && strcmp(state, "all") != 0 && wf_state_parse(state) < 0)
		state = NULL;
	if (state != NULL && strcmp(state, "open") == 0)
		state = NULL;
	if (q != NULL && (q[0] == '\0' || strlen(q) > 300 || text_check(q, strlen(q), 0) < 0))
		q = NULL;
	f.state = state;
	f.text = q;
	f.limit = PAGE_SIZE;
	if (!sees_all(pg.staff->role))
		f.section_id = pg.staff->section_id ? pg.staff->section_id : -1;
	if (cursor != NULL && sscanf(cursor, "%lld:%lld", &a, &b) == 2 && b > 0) {
		f.after_due = a;
		f.after_id = b;
	} else {
		cursor = NULL;
	}
	if (db_queue_list(req->db, &f, &rows, &n) != 0) {
		page_error(&pg, 500, "err.internal");
		return;
	}
	cal = app_calendar(req->app);
	items = json_array();
	for (i = 0; i < n; i++) {
		int left;
		const char *urgency = page_urgency(cal, rows[i].next_due, req->now, &left);
		json_t *label;
		char due[17] = "", iso[40] = "";

		if (strcmp(urgency, "none") == 0)
			label = json_string(page_msg(&pg, "left.none"));
		else if (strcmp(urgency, "red") == 0)
			label = left < -1 ? page_msg_n(&pg, "left.overdue", -left)
			                  : json_string(page_msg(&pg, "left.overdue_today"));
		else
			label = left == 0 ? json_string(page_msg(&pg, "left.today"))
			                  : page_msg_n(&pg, "left.days", left);
		if (strcmp(urgency, "none") != 0) {
			page_datetime(rows[i].next_due, due);
			sla_format_local(rows[i].next_due, iso, sizeof(iso));
		}
		json_array_append_new(
		    items, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o}", "tracking",
		                     rows[i].tracking, "subject", rows[i].subject, "state_label",
		                     page_msg2(&pg, "sstate.", rows[i].state), "section",
		                     rows[i].section ? rows[i].section : "—", "due", due, "due_iso",
		                     iso, "urgency", urgency, "state", rows[i].state, "left_label",
		                     label));
	}
	sla_calendar_unref(cal);
	json_object_set_new(pg.data, "items", items);
	json_object_set_new(pg.data, "has_items", json_boolean(n > 0));
	json_object_set_new(pg.data, "states", state_choices(&pg, req_query(req, "state")));
	json_object_set_new(pg.data, "q", json_string(q ? q : ""));
	if (n == PAGE_SIZE) {
		snprintf(href, sizeof(href), "/staff/?state=%s&cursor=%lld:%lld",
		         state ? state : "open", (long long)rows[n - 1].next_due,
		         (long long)rows[n - 1].id);
		json_object_set_new(pg.data, "next_href", json_string(href));
	}
	if (cursor != NULL)
		json_object_set_new(pg.data, "first_href", json_string("/staff/"));
	db_queue_rows_free(rows, n);
	page_end(&pg, 200, "staff_queue");
}

/* --- the item ------------------------------------------------------------------------------ */

/* The forms of the actions the role may take from the item's state. */
static json_t *
action_forms(struct page *pg, const struct db_item *item)
{
	enum wf_action acts[MAX_ACTIONS];
	int state = wf_state_parse(item->state);
	size_t n, i;
	json_t *a = json_array();

	if (state < 0)
		return a;
	n = wf_allowed((enum wf_state)state, pg->staff->role, acts, MAX_ACTIONS);
	for (i = 0; i < n && i < MAX_ACTIONS; i++) {
		const struct wf_transition *t = wf_transition(acts[i]);

		if (wf_check(acts[i], (enum wf_state)state, pg->staff->role, item->section_id,
		             pg->staff->section_id) != WF_OK)
			continue;
		if (acts[i] == WF_CITIZEN_ANSWER || acts[i] == WF_SEND_EXPLANATION) {
			/* text from the citizen, or an explanation: a text box */
		}
		json_array_append_new(
		    a, json_pack("{s:s, s:s, s:b, s:b, s:b, s:b, s:b}", "name", t->name, "label",
		                 page_msg2(pg, "action.", t->name), "section",
		                 (t->input & WF_IN_SECTION) != 0, "target",
		                 (t->input & WF_IN_TARGET) != 0, "text", (t->input & WF_IN_TEXT) != 0,
		                 "note", 1, "note_required", (t->input & WF_IN_NOTE) != 0));
	}
	return a;
}

/* The item page: 1 shown, 0 not found (or another section's), -1 error. */
static int
item_view(struct page *pg, const char *tracking)
{
	struct db_item item;
	struct db_attachment *att = NULL;
	struct db_history *h = NULL;
	struct db_section *secs = NULL;
	size_t natt = 0, nh = 0, nsec = 0, i;
	json_t *o, *list, *files, *hist, *sections;
	char received[17], iso[40];
	int rc = db_item_get(pg->req->db, tracking, &item);

	if (rc <= 0)
		return rc;
	if (!sees_all(pg->staff->role) && item.section_id != pg->staff->section_id) {
		db_item_free(&item);
		return 0;
	}
	if (db_attachment_list(pg->req->db, item.id, &att, &natt) != 0 ||
	    db_history_list(pg->req->db, item.id, 0, &h, &nh) != 0 ||
	    db_section_list(pg->req->db, &secs, &nsec) != 0) {
		db_attachments_free(att, natt);
		db_history_free(h, nh);
		db_item_free(&item);
		return -1;
	}
	list = page_clocks(pg, &item);
	files = json_array();
	for (i = 0; i < natt; i++)
		json_array_append_new(files, json_pack("{s:I, s:s, s:s, s:I}", "id",
		                                       (json_int_t)att[i].id, "filename",
		                                       att[i].filename, "content_type",
		                                       att[i].content_type, "size",
		                                       (json_int_t)att[i].size));
	hist = json_array();
	for (i = 0; i < nh; i++) {
		char at[17], at_iso[40];

		page_datetime(h[i].at, at);
		sla_format_local(h[i].at, at_iso, sizeof(at_iso));
		json_array_append_new(hist, json_pack("{s:s, s:s, s:s, s:s?, s:s?, s:s?}", "at", at,
		                                      "at_iso", at_iso, "label",
		                                      page_msg2(pg, "action.", h[i].action), "actor",
		                                      h[i].actor, "to_state",
		                                      h[i].to_state
		                                          ? page_msg2(pg, "sstate.", h[i].to_state)
		                                          : NULL,
		                                      "note", h[i].note));
	}
	sections = json_array();
	for (i = 0; i < nsec; i++)
		if (secs[i].active)
			json_array_append_new(sections, json_pack("{s:s}", "name", secs[i].name));
	page_datetime(item.received, received);
	sla_format_local(item.received, iso, sizeof(iso));
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s?, s:s?, s:s?, s:s?, "
	              "s:s?, s:s, s:s?, s:s?, s:o, s:b, s:o, s:o, s:o}",
	              "tracking", item.tracking, "subject", item.subject, "body", item.body,
	              "state", item.state, "state_label", page_msg2(pg, "sstate.", item.state),
	              "kind_label", page_msg2(pg, "kind.", item.kind), "channel", item.channel,
	              "received", received, "received_iso", iso, "section", item.section_name,
	              "assignee", item.assignee_name, "name", item.name, "phone", item.phone,
	              "email", item.email, "publish_label",
	              page_msg(pg, item.publish ? "item.yes" : "item.no"), "draft", item.draft,
	              "reply", item.replied_at ? item.reply : NULL, "clocks", list,
	              "has_attachments", natt > 0, "attachments", files, "history", hist,
	              "actions", action_forms(pg, &item));
	if (o != NULL && item.draft != NULL)
		json_object_set_new(o, "draft_text", json_string(item.draft));
	json_object_set_new(pg->data, "item", o);
	json_object_set_new(pg->data, "sections", sections);
	json_object_set_new(pg->data, "title", json_string(item.tracking));
	db_sections_free(secs, nsec);
	db_attachments_free(att, natt);
	db_history_free(h, nh);
	db_item_free(&item);
	return 1;
}

/* Shows the item page with status (message: an error sentence, or NULL). */
static void
item_page(struct page *pg, int status, const char *tracking, const char *message)
{
	int rc;

	if (message != NULL)
		json_object_set_new(pg->data, "message", json_string(message));
	rc = item_view(pg, tracking);
	if (rc < 0) {
		page_error(pg, 500, "err.internal");
		return;
	}
	if (rc == 0) {
		page_error(pg, 404, "item.not_found");
		return;
	}
	page_end(pg, status, "staff_item");
}

void
pg_staff_item(struct req *req, struct resp *resp)
{
	struct page pg;
	const char *done = req_query(req, "done");

	if (!staff_begin(&pg, req, resp, "queue.title", "queue", 0))
		return;
	if (done != NULL && wf_action_parse(done) >= 0) {
		char flash[200];

		snprintf(flash, sizeof(flash), "%s %s", page_msg(&pg, "item.done"),
		         page_msg2(&pg, "action.", done));
		json_object_set_new(pg.data, "flash", json_string(flash));
	}
	item_page(&pg, 200, req->params[0], NULL);
}

/* An optional form field: NULL when absent or blank. */
static const char *
given(struct page *pg, const char *name)
{
	const char *v = page_field(pg, name);

	return v != NULL && text_nonblank(v) ? v : NULL;
}

void
pg_staff_act(struct req *req, struct resp *resp)
{
	struct page pg;
	struct core_action_input in;
	struct core_error err;
	const char *name;
	char msg[400], loc[200];
	int a;

	if (!staff_begin(&pg, req, resp, "queue.title", "queue", 0))
		return;
	if (!page_csrf_ok(&pg, "staff")) {
		item_page(&pg, 403, req->params[0], page_msg(&pg, "err.csrf"));
		return;
	}
	name = page_field(&pg, "action");
	a = name ? wf_action_parse(name) : -1;
	if (a < 0) {
		item_page(&pg, 400, req->params[0], page_msg(&pg, "err.field"));
		return;
	}
	memset(&in, 0, sizeof(in));
	in.note = given(&pg, "note");
	in.text = given(&pg, "text");
	in.section = given(&pg, "section");
	in.target = given(&pg, "target");
	in.assignee = given(&pg, "assignee");
	memset(&err, 0, sizeof(err));
	if (core_act(req->app, req->db, pg.staff, req->addr, req->params[0], (enum wf_action)a, &in,
	             req->now, &err) != 0) {
		int status = err.code == CORE_NOT_FOUND    ? 404
		             : err.code == CORE_FORBIDDEN  ? 403
		             : err.code == CORE_CONFLICT   ? 409
		             : err.code == CORE_INVALID    ? 400
		                                           : 500;

		snprintf(msg, sizeof(msg), "%s %s", page_msg(&pg, "err.action"), err.message);
		item_page(&pg, status, req->params[0], msg);
		return;
	}
	snprintf(loc, sizeof(loc), "/staff/item/%s?done=%s", req->params[0],
	         wf_transition((enum wf_action)a)->name);
	page_redirect(&pg, loc);
}
