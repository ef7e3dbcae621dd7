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
	                              "dashboard", r == ROLE_SUPERVISOR || r == ROLE_ADMIN ||
	                                               r == ROLE_DISPATCHER));
	json_object_set_new(json_object_get(pg->data, "staff"), "admin", json_boolean(r == ROLE_ADMIN));
	/* the role needs a second factor, still within its grace period (totp_grace): a notice on
	 * every staff page, with the date, linking to the enrolment */
	if (pg->staff->enroll_by != 0 && !pg->staff->must_enroll) {
		char by[17];

		page_datetime(pg->staff->enroll_by, by);
		json_object_set_new(pg->data, "enroll_by", json_string(by));
	}
	page_csrf_set(pg, "staff");
}

/* --- the place to come back to after signing in -------------------------------------------- */

#define PLACE_COOKIE "civicdesk_place" /* the staff page a sign-in returns to */
#define PLACE_MAX 1024
#define QUEUE_COOKIE "civicdesk_queue" /* the queue page last shown: the item page's way back */

/* 1 if s is a place we could have written: a path under /staff/ of unreserved characters, with
 * a query of percent-encoded values, never "//" (no other host). */
static int
place_valid(const char *s)
{
	size_t i;

	if (s == NULL || strncmp(s, "/staff/", 7) != 0 || strlen(s) >= PLACE_MAX ||
	    strstr(s, "//") != NULL)
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || strchr("/-_.~%?&=:", s[i]) != NULL))
			return 0;
	return 1;
}

/* Remembers where the staff member was when the session was found absent or ended, in a cookie
 * that the sign-in reads (place_take): a GET's page with its filters, the item or the
 * administrators' page a form was posted from (what the form held: draft_carry). */
static void
place_remember(struct page *pg)
{
	static const char *const kept[] = { "state", "q", "cursor", "period", "before", "actor",
		                            "action", "target", "from", "to" };
	struct req *req = pg->req;
	char place[PLACE_MAX];
	size_t n, i;
	int sep = '?';

	if (strcmp(req->method, "GET") == 0) {
		n = (size_t)snprintf(place, sizeof(place), "%s", req->path);
		for (i = 0; i < sizeof(kept) / sizeof(kept[0]) && n < sizeof(place); i++) {
			const char *v = req_query(req, kept[i]);

			if (v == NULL || n + strlen(kept[i]) + 3 >= sizeof(place))
				continue;
			n += (size_t)snprintf(place + n, sizeof(place) - n, "%c%s=", sep, kept[i]);
			page_url_put(place, sizeof(place), &n, v);
			sep = '&';
		}
	} else if (strncmp(req->path, "/staff/item/", 12) == 0 && req->nparams > 0) {
		n = (size_t)snprintf(place, sizeof(place), "/staff/item/");
		page_url_put(place, sizeof(place), &n, req->params[0]);
	} else if (strncmp(req->path, "/staff/admin", 12) == 0) {
		snprintf(place, sizeof(place), "/staff/admin");
	} else {
		return;
	}
	if (!place_valid(place) || strcmp(place, "/staff/") == 0)
		return;
	resp_header(pg->resp, "Set-Cookie",
	            "%s=%s; Path=/staff/; Max-Age=3600; HttpOnly; SameSite=Strict%s", PLACE_COOKIE,
	            place, req->app->cfg.cookie_secure ? "; Secure" : "");
}

/* The remembered place into buf (and the cookie cleared), or "/staff/". */
static void
place_take(struct page *pg, char *buf, size_t size)
{
	const char *v = req_cookie(pg->req, PLACE_COOKIE);

	snprintf(buf, size, "%s", place_valid(v) ? v : "/staff/");
	if (v != NULL)
		resp_header(pg->resp, "Set-Cookie",
		            "%s=; Path=/staff/; Max-Age=0; HttpOnly; SameSite=Strict%s", PLACE_COOKIE,
		            pg->req->app->cfg.cookie_secure ? "; Secure" : "");
}

/* --- a form sent after its session ended, without script ---------------------------------- */

static void login_form(struct page *pg, int status, const char *message_key,
                       const char *username);
static int tracking_plain(const char *s);
static void item_page(struct page *pg, int status, const char *tracking, const char *message);
static void password_form(struct page *pg, int status, const char *message);

/* The staff forms whose fields the sign-in carries back after their session ended (draft_form
 * names the row): the fields posted (carried as draft_NAME) and what draft_item holds. */
#define DRAFT_FIELDS 6
enum draft_id { DRAFT_ID_NONE, DRAFT_ID_TRACKING, DRAFT_ID_NUMBER };
static const struct draft_kind {
	const char *form;                 /* draft_form's value */
	const char *fields[DRAFT_FIELDS]; /* the form's fields carried (NULL: no more) */
	enum draft_id id;                 /* what draft_item holds */
} draft_kinds[] = {
    {"act", {"action", "text", "note", "target", "section", "assignee"}, DRAFT_ID_TRACKING},
    {"public", {"subject", "body", "reply"}, DRAFT_ID_TRACKING},
    {"citizen_mail", {NULL}, DRAFT_ID_TRACKING},
    {"account", {"username", "role", "section", "display_name", "email", "phone"}, DRAFT_ID_NONE},
    {"section", {"name", "email"}, DRAFT_ID_NONE},
    {"section_change", {"name", "email", "active"}, DRAFT_ID_NUMBER},
};

/* 1 if the request comes from a page of this server: its Sec-Fetch-Site says same-origin, or
 * (a browser without it) its Origin names this request's Host. Our pages send no referrer
 * (Referrer-Policy: no-referrer), so a browser's Origin of their forms is "null". */
static int
same_origin(struct req *req)
{
	const char *site = req_header(req, "Sec-Fetch-Site"), *o = req_header(req, "Origin");
	const char *h = req_header(req, "Host"), *at = o != NULL ? strstr(o, "://") : NULL;

	if (site != NULL)
		return strcmp(site, "same-origin") == 0;
	return at != NULL && h != NULL && strcmp(at + 3, h) == 0;
}

/* 1 if item is what a draft of kind k may name: a tracking number, a section's number (1 to
 * 18 digits) or nothing. */
static int
draft_item_ok(const struct draft_kind *k, const char *item)
{
	size_t n = strlen(item);

	switch (k->id) {
	case DRAFT_ID_TRACKING:
		return tracking_plain(item);
	case DRAFT_ID_NUMBER:
		return n > 0 && n <= 18 && strspn(item, "0123456789") == n && item[0] != '0';
	default:
		return n == 0;
	}
}

/* The draft of the staff form called form (a row of draft_kinds) into the page's data "draft"
 * ({form, item, fields[{name, value}]}): the fields named prefix+NAME of its row, for item
 * (NULL: none). 1 when it is one to carry (an item's action with something typed or chosen,
 * any other form as sent), else 0 (nothing set). */
static int
draft_data(struct page *pg, const char *form, const char *item, const char *prefix)
{
	const struct draft_kind *k = NULL;
	const char *v;
	char key[32];
	json_t *fields;
	size_t i;
	int typed = 0, act;

	for (i = 0; form != NULL && i < sizeof(draft_kinds) / sizeof(draft_kinds[0]); i++)
		if (strcmp(form, draft_kinds[i].form) == 0)
			k = &draft_kinds[i];
	if (item == NULL)
		item = "";
	if (k == NULL || !draft_item_ok(k, item))
		return 0;
	act = strcmp(k->form, "act") == 0;
	snprintf(key, sizeof(key), "%saction", prefix);
	v = page_field(pg, key);
	if (act && (v == NULL || wf_action_parse(v) < 0))
		return 0;
	fields = json_array();
	for (i = 0; i < DRAFT_FIELDS && k->fields[i] != NULL; i++) {
		snprintf(key, sizeof(key), "%s%s", prefix, k->fields[i]);
		v = page_field(pg, key);
		if (v == NULL || text_check(v, strlen(v), TEXT_MULTILINE) < 0)
			continue;
		if (!(act && i == 0) && text_nonblank(v))
			typed = 1;
		json_array_append_new(fields, json_pack("{s:s, s:s}", "name", k->fields[i],
		                                        "value", v));
	}
	if (act && !typed) {
		json_decref(fields);
		return 0;
	}
	json_object_set_new(
	    pg->data, "draft",
	    json_pack("{s:s, s:s, s:o}", "form", k->form, "item", item, "fields", fields));
	return 1;
}

int
page_draft_posted(struct page *pg)
{
	const char *form = page_field(pg, "draft_form");

	/* a sign-in page from before draft_form was written holds an item's action */
	return draft_data(pg, form != NULL ? form : "act", page_field(pg, "draft_item"), "draft_");
}

/* The row of draft_kinds of the form this request posted (*item: the path's parameter, or ""),
 * or NULL for a form not carried. */
static const char *
draft_form_of(struct req *req, const char **item)
{
	const char *p = req->path, *rest;

	*item = req->nparams > 0 ? req->params[0] : "";
	if (strncmp(p, "/staff/item/", 12) == 0 && req->nparams > 0) {
		rest = strchr(p + 12, '/');
		if (rest == NULL)
			return "act";
		if (strcmp(rest, "/public") == 0)
			return "public";
		if (strcmp(rest, "/citizen_mail") == 0)
			return "citizen_mail";
		return NULL;
	}
	if (strcmp(p, "/staff/admin/accounts") == 0)
		return "account";
	if (strcmp(p, "/staff/admin/sections") == 0)
		return "section";
	if (strncmp(p, "/staff/admin/sections/", 22) == 0 && req->nparams > 0)
		return "section_change";
	return NULL;
}

/* A staff form of draft_kinds sent without script after its session ended (a script keeps an
 * item's texts in the tab and marks the form "kept"): the sign-in is shown here, holding what
 * was typed in hidden fields (draft_*), and signing in (through the password change and the
 * second factor's enrolment when the account must first) shows the form filled again, never
 * sent (draft_resume). Only for a form of our own pages: the session's cookie came with it
 * (SameSite=Strict) and same_origin says so. 1 when the sign-in has answered, 0 when the form
 * is not carried (the caller redirects as before). */
static int
draft_carry(struct page *pg)
{
	struct req *req = pg->req;
	const char *form, *item;

	form = draft_form_of(req, &item);
	if (form == NULL || page_field(pg, "kept") != NULL || !same_origin(req))
		return 0;
	/* the form's own fields: an item's action names itself, the others their path */
	if (!draft_data(pg, form, item, ""))
		return 0;
	json_object_set_new(pg->data, "title", json_string(page_msg(pg, "login.title")));
	json_object_del(pg->data, "nav_queue");
	json_object_del(pg->data, "nav_admin");
	json_object_set_new(
	    pg->data, "notice",
	    json_string(page_msg(pg, strcmp(form, "citizen_mail") == 0 ? "login.expired_press"
	                                                               : "login.expired_kept")));
	login_form(pg, 401, NULL, NULL);
	return 1;
}

/* The form a carried draft came from, filled again and not sent, with a notice saying so: the
 * item's page or the administrators' (page_admin_draft). The page's draft is used up. */
static void
draft_resume(struct page *pg)
{
	json_t *d = json_object_get(pg->data, "draft");
	char place[PLACE_MAX], form[32], item[48];

	snprintf(form, sizeof(form), "%s", json_string_value(json_object_get(d, "form")));
	snprintf(item, sizeof(item), "%s", json_string_value(json_object_get(d, "item")));
	json_object_del(pg->data, "draft");
	place_take(pg, place, sizeof(place));
	if (strcmp(form, "account") == 0 || strncmp(form, "section", 7) == 0) {
		page_admin_draft(pg, form, item);
		return;
	}
	json_object_set_new(pg->data, "title", json_string(page_msg(pg, "queue.title")));
	json_object_set_new(pg->data, "nav_queue", json_true());
	json_object_set_new(pg->data, "draft_back", json_true());
	json_object_set_new(pg->data, "draft_form", json_string(form));
	json_object_set_new(
	    pg->data, "flash",
	    json_string(page_msg(pg, strcmp(form, "citizen_mail") == 0 ? "item.draft_back_press"
	                                                               : "item.draft_back")));
	item_page(pg, 200, item, NULL);
}

/* Where a carried draft goes once a step of the sign-in is done (pg->staff set): the password
 * change, then the second factor's enrolment, when the account must first, each page holding
 * the draft in hidden fields; else the form again (draft_resume). */
static void
draft_next(struct page *pg)
{
	page_staff_data(pg);
	json_object_del(pg->data, "message");
	json_object_del(pg->data, "notice");
	if (pg->staff->must_change) {
		json_object_set_new(pg->data, "title", json_string(page_msg(pg, "password.title")));
		password_form(pg, 200, NULL);
	} else if (pg->staff->must_enroll) {
		json_object_set_new(pg->data, "title", json_string(page_msg(pg, "totp.title")));
		page_totp_show(pg, 200, NULL);
	} else {
		draft_resume(pg);
	}
}

int
page_staff_begin(struct page *pg, struct req *req, struct resp *resp, const char *title_key,
            const char *nav, unsigned allow)
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
		place_remember(pg);
		/* a form sent without a session did nothing: the sign-in says so (?expired=form),
		 * or, for an item's form whose session ended, holds what was typed */
		if (strcmp(req->method, "POST") == 0 && expired && draft_carry(pg))
			return 0;
		if (strcmp(req->method, "POST") == 0)
			page_redirect(pg, "/staff/login?expired=form");
		else
			page_redirect(pg, expired ? "/staff/login?expired=1" : "/staff/login");
		return 0;
	}
	if (pg->staff->must_change && !(allow & PAGE_ALLOW_CHANGE)) {
		page_redirect(pg, "/staff/password");
		return 0;
	}
	/* a role that needs a second factor uses no other staff page before enrolling one (as
	 * the API): the enrolment page is where it goes */
	if (pg->staff->must_enroll && !(allow & PAGE_ALLOW_ENROLL)) {
		page_redirect(pg, "/staff/totp");
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
	/* a refused user name or password: both fields are marked and described by the message,
	 * which links to the first (a throttled or expired form's fields are not wrong) */
	if (message_key != NULL && strcmp(message_key, "login.failed") == 0)
		json_object_set_new(pg->data, "bad_credentials", json_true());
	json_object_set_new(pg->data, "username_value", json_string(username ? username : ""));
	page_csrf_set(pg, "login");
	page_end(pg, status, "staff_login");
}

/* GET /staff: 303 to /staff/, the staff pages' home (with the request's ?lang=). */
void
pg_staff_slash(struct req *req, struct resp *resp)
{
	struct page pg;

	if (page_begin(&pg, req, resp, "login.title", NULL) != 0)
		return;
	page_redirect(&pg, "/staff/");
}

void
pg_staff_login_get(struct req *req, struct resp *resp)
{
	struct page pg;
	const char *expiry;
	int expired;

	if (page_begin(&pg, req, resp, "login.title", NULL) != 0)
		return;
	if (page_staff(&pg, &expired) == 1) {
		page_redirect(&pg, "/staff/");
		return;
	}
	expiry = req_query(req, "expired");
	if (expiry != NULL)
		json_object_set_new(pg.data, "notice",
		                    json_string(page_msg(&pg, strcmp(expiry, "form") == 0
		                                                  ? "login.expired_form"
		                                                  : "login.expired")));
	else if (req_query(req, "out") != NULL)
		json_object_set_new(pg.data, "notice", json_string(page_msg(&pg, "login.logged_out")));
	login_form(&pg, 200, NULL, NULL);
}

void
pg_staff_login_post(struct req *req, struct resp *resp)
{
	struct page pg;
	const char *user, *pass, *second;
	char token[AUTH_TOKEN_SIZE];
	struct session *s = NULL;
	int rc, is_code;

	if (page_begin(&pg, req, resp, "login.title", NULL) != 0)
		return;
	user = page_field(&pg, "username");
	pass = page_field(&pg, "password");
	if (!page_csrf_ok(&pg, "login")) {
		login_form(&pg, 403, "err.csrf", user);
		return;
	}
	/* what a staff form held when its session ended (draft_carry), carried by this form
	 * (whose token is right) until the sign-in succeeds */
	page_draft_posted(&pg);
	if (user == NULL || pass == NULL || strlen(user) > 64 ||
	    text_check(user, strlen(user), 0) < 0) {
		login_form(&pg, 401, "login.failed", NULL);
		return;
	}
	/* the second factor: six digits are an authenticator code, anything else a recovery code */
	second = page_field(&pg, "second");
	if (second != NULL && !text_nonblank(second))
		second = NULL;
	is_code = second != NULL && strlen(second) == TOTP_DIGITS &&
	          strspn(second, "0123456789") == TOTP_DIGITS;
	rc = core_login_2fa(req->app, req->db, user, pass, is_code ? second : NULL,
	                    is_code ? NULL : second, req->addr, req->now, token, &s);
	if (rc < 0) {
		page_error(&pg, 503, "err.internal");
		return;
	}
	if (rc == 2) {
		int64_t wait = 1;

		if (core_login_throttle(req->app, req->db, req->addr, req->now, &wait) != 1)
			wait = 1;
		resp_header(resp, "Retry-After", "%lld", (long long)wait);
		login_form(&pg, 429, "login.throttled", user);
		return;
	}
	if (rc == 4) {
		resp_header(resp, "Retry-After", "60");
		login_form(&pg, 503, "login.second_unavailable", user);
		return;
	}
	if (rc == 3) {
		/* the password was right: the second factor is asked for beside its field */
		json_object_set_new(pg.data, "need_second", json_true());
		login_form(&pg, 401, "login.second_needed", user);
		return;
	}
	if (rc != 0 || s == NULL) {
		login_form(&pg, 401, "login.failed", user);
		return;
	}
	auth_cookie(req, resp, token);
	if (json_object_get(pg.data, "draft") != NULL) {
		/* the form again, filled with the draft and not sent (after the password change
		 * and the second factor's enrolment when the account must first): the staff
		 * member checks it and sends it with this session's token */
		pg.staff = s;
		s = NULL;
		draft_next(&pg);
	} else if (s->must_change) {
		page_redirect(&pg, "/staff/password");
	} else if (s->must_enroll) {
		page_redirect(&pg, "/staff/totp");
	} else {
		char place[PLACE_MAX];

		/* back where the ended session left the staff member */
		place_take(&pg, place, sizeof(place));
		page_redirect(&pg, place);
	}
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

	if (!page_staff_begin(&pg, req, resp, "password.title", NULL,
	                      PAGE_ALLOW_CHANGE | PAGE_ALLOW_ENROLL))
		return;
	password_form(&pg, 200, NULL);
}

/* Why a new password was refused, in the page's language: the catalogue's message for the
 * rule core names (acct_error.rule), else core's sentence. */
static const char *
password_refusal(struct page *pg, const struct acct_error *err)
{
	static const struct {
		const char *rule, *key;
	} msgs[] = {
	    {"password_short", "password.refused_short"},
	    {"password_long", "password.refused_long"},
	    {"password_control", "password.refused_control"},
	    {"password_classes", "password.refused_classes"},
	    {"password_username", "password.refused_username"},
	    {"password_common", "password.refused_common"},
	    {"password_display_name", "password.refused_display_name"},
	    {"password_email", "password.refused_email"},
	    {"password_phone", "password.refused_phone"},
	    {"password_history", "password.refused_history"},
	};
	size_t i;

	for (i = 0; err->rule != NULL && i < sizeof(msgs) / sizeof(msgs[0]); i++)
		if (strcmp(err->rule, msgs[i].rule) == 0)
			return page_msg(pg, msgs[i].key);
	return err->message;
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

	if (!page_staff_begin(&pg, req, resp, "password.title", NULL,
	                      PAGE_ALLOW_CHANGE | PAGE_ALLOW_ENROLL))
		return;
	if (!page_csrf_ok(&pg, "staff")) {
		password_form(&pg, 403, page_msg(&pg, "err.csrf"));
		return;
	}
	/* a draft carried from the sign-in (draft_carry) stays in the page until it is done */
	page_draft_posted(&pg);
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
		snprintf(msg, sizeof(msg), "%s %s", page_msg(&pg, "password.failed"),
		         password_refusal(&pg, &err));
		password_form(&pg, 400, msg);
		return;
	}
	if (json_object_get(pg.data, "draft") != NULL) {
		pg.staff->must_change = 0; /* read before the change */
		draft_next(&pg);
		return;
	}
	page_redirect(&pg, "/staff/");
}

/* POST /staff/resume: the end of a sign-in that carried a draft through the second factor's
 * enrolment (its recovery codes' page): the interrupted form again, filled and not sent. */
void
pg_staff_resume(struct req *req, struct resp *resp)
{
	struct page pg;

	if (!page_staff_begin(&pg, req, resp, "queue.title", "queue", 0))
		return;
	if (!page_csrf_ok(&pg, "staff")) {
		page_error(&pg, 403, "err.csrf");
		return;
	}
	if (!page_draft_posted(&pg)) {
		page_redirect(&pg, "/staff/");
		return;
	}
	draft_resume(&pg);
}

/* --- the queue ----------------------------------------------------------------------------- */

int
page_sees_all(enum role r)
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

/* The time of the citizen's e-mail that marks an ended item: {at, at_iso}. */
static json_t *
mail_mark(int64_t at)
{
	char shown[17], iso[40];

	page_datetime(at, shown);
	sla_format_local(at, iso, sizeof(iso));
	return json_pack("{s:s, s:s}", "at", shown, "at_iso", iso);
}

/* A row of the queue: tracking, subject, state, section, nearest due, working days left and
 * its urgency (red overdue, amber at one working day or less). */
static json_t *
queue_row(struct page *pg, const struct sla_calendar *cal, const struct db_queue_row *r)
{
	json_t *o;
	int left;
	const char *urgency = page_urgency(cal, r->next_due, pg->req->now, &left);
	json_t *label;
	char due[17] = "", iso[40] = "";

	if (strcmp(urgency, "none") == 0)
		label = json_string(page_msg(pg, "left.none"));
	else if (strcmp(urgency, "red") == 0)
		label = left < -1 ? page_msg_n(pg, "left.overdue", -left)
		                  : json_string(page_msg(pg, "left.overdue_today"));
	else
		label = left == 0 ? json_string(page_msg(pg, "left.today"))
		                  : page_msg_n(pg, "left.days", left);
	if (strcmp(urgency, "none") != 0) {
		page_datetime(r->next_due, due);
		sla_format_local(r->next_due, iso, sizeof(iso));
	}
	/* the subject and the section in another script than the page's carry their lang */
	o = json_pack(
	    "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:s?, s:s?}", "tracking", r->tracking,
	    "subject", r->subject, "state_label", page_msg2(pg, "sstate.", wf_state_name(r->state)),
	    "section", r->section ? r->section : "—", "due", due, "due_iso", iso, "urgency",
	    urgency, "state", wf_state_name(r->state), "left_label", label, "subject_lang",
	    page_text_lang(pg, r->subject), "section_lang", page_text_lang(pg, r->section));
	if (o != NULL && r->citizen_mail_at != 0) /* the mark of a citizen's e-mail after the end */
		json_object_set_new(o, "citizen_mail", mail_mark(r->citizen_mail_at));
	return o;
}

/* The queue's address with its filters (state, q percent-encoded, only the items marked by a
 * citizen's e-mail) and the cursor when not NULL: paging keeps what the filters chose, in the
 * URL (bookmarks and the back button). */
static void
queue_href(char *buf, size_t size, const char *state, const char *q, int mail,
           const char *cursor)
{
	size_t n;

	n = (size_t)snprintf(buf, size, "/staff/?state=%s&q=", state ? state : "open");
	if (n >= size)
		n = size - 1;
	page_url_put(buf, size, &n, q);
	if (mail && n < size)
		n += (size_t)snprintf(buf + n, size - n, "&citizen_mail=1");
	if (n >= size)
		n = size - 1;
	if (cursor != NULL)
		snprintf(buf + n, size - n, "&cursor=%s", cursor);
}

void
pg_staff_queue(struct req *req, struct resp *resp)
{
	struct page pg;
	struct db_queue_filter f;
	struct db_search search;
	struct db_queue_row *rows = NULL;
	struct sla_calendar *cal;
	const char *state = req_query(req, "state"), *q = req_query(req, "q");
	const char *cursor = req_query(req, "cursor"), *mail = req_query(req, "citizen_mail");
	struct core_error err;
	size_t n = 0, i;
	json_t *items;
	long long a, b;
	int64_t marked = 0;
	char href[1536]; /* q (100 characters: 400 bytes at most) percent-encoded, state, cursor */

	if (!page_staff_begin(&pg, req, resp, "queue.title", "queue", 0))
		return;
	memset(&f, 0, sizeof(f));
	if (state != NULL && strcmp(state, "all") != 0 && wf_state_parse(state) < 0)
		state = NULL;
	if (state != NULL && strcmp(state, "open") == 0)
		state = NULL;
	if (core_search_parse(q, &search, &err) != 0) {
		page_error(&pg, 400, "queue.q_invalid"); /* what the API answers, in the page's language */
		return;
	}
	if (search.n == 0)
		q = NULL;
	if (state != NULL && strcmp(state, "all") == 0) {
		f.states = DB_STATES_ALL;
	} else if (state != NULL) {
		f.states = DB_STATES_ONE;
		f.state = (enum wf_state)wf_state_parse(state);
	}
	f.search = &search;
	f.limit = PAGE_SIZE;
	f.citizen_mail = mail != NULL && strcmp(mail, "1") == 0;
	memset(&err, 0, sizeof(err));
	if (core_queue_scope(pg.staff, &f, &err) != 0) {
		page_error(&pg, 403, "item.not_found");
		return;
	}
	/* how many items of the queue's sections a citizen wrote to after they ended: a notice
	 * above the list, linking to them (the mark's index holds those items only) */
	if (db_queue_mail_count(req->db, f.section_id > 0 ? f.section_id : 0, &marked) != 0) {
		page_error(&pg, 500, "err.internal");
		return;
	}
	if (f.section_id < 0)
		marked = 0; /* a handler without a section sees nothing */
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
	for (i = 0; i < n; i++)
		json_array_append_new(items, queue_row(&pg, cal, &rows[i]));
	sla_calendar_unref(cal);
	json_object_set_new(pg.data, "items", items);
	json_object_set_new(pg.data, "has_items", json_boolean(n > 0));
	json_object_set_new(pg.data, "states", state_choices(&pg, req_query(req, "state")));
	json_object_set_new(pg.data, "q", json_string(q ? q : ""));
	json_object_set_new(pg.data, "citizen_mail_only", json_boolean(f.citizen_mail));
	if (marked > 0 && !f.citizen_mail) {
		queue_href(href, sizeof(href), "all", NULL, 1, NULL);
		json_t *label = page_msg_n(&pg, "queue.citizen_mail_count", (long)marked);

		json_object_set_new(pg.data, "marked",
		                    json_pack("{s:o, s:s}", "label", label, "href", href));
	}
	if (n == PAGE_SIZE) {
		char next[48];

		snprintf(next, sizeof(next), "%lld:%lld", (long long)rows[n - 1].next_due,
		         (long long)rows[n - 1].id);
		queue_href(href, sizeof(href), state, q, f.citizen_mail, next);
		json_object_set_new(pg.data, "next_href", json_string(href));
	}
	if (cursor != NULL) {
		queue_href(href, sizeof(href), state, q, f.citizen_mail, NULL);
		json_object_set_new(pg.data, "first_href", json_string(href));
	}
	/* no empty navigation landmark when there is a single page */
	json_object_set_new(pg.data, "has_pager", json_boolean(n == PAGE_SIZE || cursor != NULL));
	/* the item pages link back to this page of the queue, filters and all */
	queue_href(href, sizeof(href), state, q, f.citizen_mail, cursor);
	if (place_valid(href))
		resp_header(resp, "Set-Cookie", "%s=%s; Path=/staff/; HttpOnly; SameSite=Strict%s",
		            QUEUE_COOKIE, href, req->app->cfg.cookie_secure ? "; Secure" : "");
	db_queue_rows_free(rows, n);
	page_end(&pg, 200, "staff_queue");
}

/* --- the item ------------------------------------------------------------------------------ */

/* The fields of an action's form that core may name in a refusal (core_error.field), with the id
 * of their control: ACTION-FIELD. */
static const char *const act_fields[] = {"section", "assignee", "target", "text", "note",
                                         "confirm"};

/* In the form o of the refused action called name: the field that core named (data
 * "err_field"), marked e_FIELD (its message beside it, aria-invalid), and the summary's link
 * to it (message_href). */
static void
refused_field(struct page *pg, json_t *o, const char *name)
{
	const char *field = json_string_value(json_object_get(pg->data, "err_field"));
	char key[32], href[64];
	size_t i;

	/* core names the note by what it is for: a return's comment, a refusal's reason */
	if (field != NULL && (strcmp(field, "comment") == 0 || strcmp(field, "reason") == 0))
		field = "note";
	for (i = 0; field != NULL && i < sizeof(act_fields) / sizeof(act_fields[0]); i++)
		if (strcmp(field, act_fields[i]) == 0 && json_is_true(json_object_get(o, field))) {
			snprintf(key, sizeof(key), "e_%s", field);
			json_object_set_new(o, key, json_true());
			snprintf(href, sizeof(href), "#%s-%s", name, field);
			json_object_set_new(pg->data, "message_href", json_string(href));
		}
}

/* The refusal of a form on the item page: the page's words (message) and core's sentence
 * (core_message: English, with its lang on a Chinese page), and the field it names. */
static void
refusal(struct page *pg, const struct core_error *err)
{
	const char *lang = page_text_lang(pg, err->message);

	json_object_set_new(pg->data, "message", json_string(page_msg(pg, "err.action")));
	if (err->message[0] != '\0')
		json_object_set_new(pg->data, "core_message", json_string(err->message));
	if (lang != NULL)
		json_object_set_new(pg->data, "core_message_lang", json_string(lang));
	if (err->field != NULL)
		json_object_set_new(pg->data, "err_field", json_string(err->field));
}

/* A field of the action's form shown again: as posted (a refused action), or as the sign-in
 * carried it (draft_NAME, after a session that ended: data "draft_back"). */
static const char *
form_kept(struct page *pg, const char *name)
{
	char key[32];

	if (!json_is_true(json_object_get(pg->data, "draft_back")))
		return page_field(pg, name);
	snprintf(key, sizeof(key), "draft_%s", name);
	return page_field(pg, key);
}

/* 1 if the page shows a draft of the form called form that a sign-in carried back. */
static int
draft_of(struct page *pg, const char *form)
{
	const char *f = json_string_value(json_object_get(pg->data, "draft_form"));

	return json_is_true(json_object_get(pg->data, "draft_back")) && f != NULL &&
	       strcmp(f, form) == 0;
}

/* The forms of the actions the role may take from the item's state. */
static json_t *
action_forms(struct page *pg, const struct db_item *item)
{
	enum wf_action acts[MAX_ACTIONS];
	int state = (int)item->state;
	size_t n, i;
	json_t *a = json_array();

	if (state < 0)
		return a;
	n = wf_allowed((enum wf_state)state, pg->staff->role, acts, MAX_ACTIONS);
	for (i = 0; i < n && i < MAX_ACTIONS; i++) {
		const struct wf_transition *t = wf_transition(acts[i]);
		const char *posted = form_kept(pg, "action");
		json_t *o;

		if (wf_check(acts[i], (enum wf_state)state, pg->staff->role, item->section_id,
		             pg->staff->section_id) != WF_OK)
			continue;
		/* a close ends the item for good: its form asks for a tick first (confirm, checked
		 * by pg_staff_act), and says so plainly while the citizen's answer is awaited */
		o = json_pack("{s:s, s:s, s:b, s:b, s:b, s:b, s:b, s:b, s:b, s:b}", "name", t->name,
		              "label", page_msg2(pg, "action.", t->name), "section",
		              (t->input & WF_IN_SECTION) != 0, "assignee", acts[i] == WF_ASSIGN,
		              "target", (t->input & WF_IN_TARGET) != 0, "text",
		              (t->input & WF_IN_TEXT) != 0, "note", 1, "note_required",
		              (t->input & WF_IN_NOTE) != 0, "confirm",
		              acts[i] == WF_CLOSE && item->state == WF_WAITING_CITIZEN,
		              "close_waiting",
		              acts[i] == WF_CLOSE && item->state == WF_WAITING_CITIZEN);
		/* the form of a refused action keeps what was typed in it (a reply written for an
		 * hour is not lost to an expired form or a conflict) */
		if (o != NULL && posted != NULL && strcmp(posted, t->name) == 0) {
			const char *text = form_kept(pg, "text"), *note = form_kept(pg, "note");
			const char *target = form_kept(pg, "target");

			if (text != NULL)
				json_object_set_new(o, "f_text", json_string(text));
			if (note != NULL)
				json_object_set_new(o, "f_note", json_string(note));
			if (target != NULL)
				json_object_set_new(o, "f_target", json_string(target));
			refused_field(pg, o, t->name);
		}
		json_array_append_new(a, o);
	}
	return a;
}

/* The active handlers, with their section's name (and its lang), for the assignee picker. */
static json_t *
handler_choices(struct page *pg, const struct db_section *secs, size_t nsec)
{
	struct db_account *acc = NULL;
	size_t n = 0, i, j;
	json_t *a = json_array();
	const char *chosen = form_kept(pg, "action") != NULL ? form_kept(pg, "assignee") : NULL;

	if (db_account_list(pg->req->db, &acc, &n) != 0)
		return a;
	for (i = 0; i < n; i++) {
		const char *section = "";

		if (acc[i].role != ROLE_HANDLER || strcmp(acc[i].status, "active") != 0)
			continue;
		for (j = 0; j < nsec; j++)
			if (secs[j].id == acc[i].section_id)
				section = secs[j].name;
		/* an account name is an identifier (ASCII letters, digits, '.', '_', '-'), in no
		 * language one could tell; the section's name is text: the choice carries its
		 * language when it is not the page's (an option holds no element for the name
		 * alone) */
		json_array_append_new(
		    a, json_pack("{s:s, s:s, s:s?, s:b}", "username", acc[i].username, "section",
		                 section, "option_lang", page_text_lang(pg, section), "selected",
		                 chosen != NULL && strcmp(chosen, acc[i].username) == 0));
	}
	db_accounts_free(acc, n);
	return a;
}

/* 1 if this request posted the public version's form (POST /staff/item/{tracking}/public). */
static int
public_posted(struct page *pg)
{
	size_t n = strlen(pg->req->path);

	return strcmp(pg->req->method, "POST") == 0 && n > 7 &&
	       strcmp(pg->req->path + n - 7, "/public") == 0;
}

/* The public version for the section head of the item's section or an admin, once the reply is
 * sent and the citizen allowed publication: what staff wrote, else the masked text (what
 * publishing would fill in). JSON false otherwise. */
static json_t *
public_view(struct page *pg, const struct db_item *item)
{
	enum role r = pg->staff->role;
	struct redact_opts opts = { item->name, pg->req->app->cfg.public_contacts };
	char *subject, *body, *reply;
	json_t *o;

	if (!item->publish || item->replied_at == 0 ||
	    !(r == ROLE_ADMIN ||
	      (r == ROLE_SECTION_HEAD && item->section_id == pg->staff->section_id)))
		return json_false();
	subject = item->public_subject ? strdup(item->public_subject)
	                               : item_public_subject(item->subject, &opts);
	body = item->public_body ? strdup(item->public_body)
	                         : redact_text_opts(item->body, &opts, NULL);
	reply = item->public_reply ? strdup(item->public_reply)
	                           : redact_text_opts(item->reply, &opts, NULL);
	/* the public form refused (personal data to confirm, an expired form) or carried by a
	 * sign-in (draft_resume): its texts as edited, so that the confirmation sends what the
	 * section head wrote */
	if (public_posted(pg) || draft_of(pg, "public")) {
		const char *posted[3] = { form_kept(pg, "subject"), form_kept(pg, "body"),
			                  form_kept(pg, "reply") };
		char **shown[3] = { &subject, &body, &reply };
		size_t i;

		for (i = 0; i < 3; i++)
			if (posted[i] != NULL) {
				free(*shown[i]);
				*shown[i] = strdup(posted[i]);
			}
	}
	o = json_pack("{s:s?, s:s?, s:s?, s:b, s:b}", "pub_subject", subject, "pub_body", body,
	              "pub_reply", reply, "pub_published", item->published, "pub_confirm",
	              json_is_true(json_object_get(pg->data, "confirm_needed")));
	free(subject);
	free(body);
	free(reply);
	return o ? o : json_false();
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
	const char *chosen;
	struct core_error err;

	/* the section rule and an audit row for every read, as the API's */
	memset(&err, 0, sizeof(err));
	if (core_item_read(pg->req->app, pg->req->db, pg->staff, pg->req->addr, tracking,
	                   pg->req->now, &item, &err) != 0)
		return err.code == CORE_NOT_FOUND || err.code == CORE_FORBIDDEN ? 0 : -1;
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
		/* the citizen and the system are named in the page's language; staff by username */
		json_array_append_new(hist, json_pack("{s:s, s:s, s:s, s:s?, s:s?, s:s?, s:s?}", "at", at,
		                                      "at_iso", at_iso, "label",
		                                      page_msg2(pg, "action.", h[i].action), "actor",
		                                      h[i].actor_id == 0
		                                          ? page_msg2(pg, "actor.", h[i].actor)
		                                          : h[i].actor,
		                                      "to_state",
		                                      h[i].to_state
		                                          ? page_msg2(pg, "sstate.", h[i].to_state)
		                                          : NULL,
		                                      "note", h[i].note, "note_lang",
		                                      page_text_lang(pg, h[i].note)));
	}
	/* the section chosen in a refused or carried action's form stays chosen */
	chosen = form_kept(pg, "action") != NULL ? form_kept(pg, "section") : NULL;
	sections = json_array();
	for (i = 0; i < nsec; i++)
		if (secs[i].active)
			json_array_append_new(
			    sections,
			    json_pack("{s:s, s:s?, s:b}", "name", secs[i].name, "opt_lang",
			              page_text_lang(pg, secs[i].name), "selected",
			              chosen != NULL && strcmp(chosen, secs[i].name) == 0));
	json_object_set_new(pg->data, "handlers", handler_choices(pg, secs, nsec));
	page_datetime(item.received, received);
	sla_format_local(item.received, iso, sizeof(iso));
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s?, s:s?, s:s?, s:s?, "
	              "s:s?, s:s, s:s?, s:s?, s:o, s:b, s:o, s:o, s:o}",
	              "tracking", item.tracking, "subject", item.subject, "body", item.body,
	              "state", wf_state_name(item.state), "state_label",
	              page_msg2(pg, "sstate.", wf_state_name(item.state)), "kind_label",
	              page_msg2(pg, "kind.", kind_name(item.kind)), "channel",
	              page_msg2(pg, "channel.", channel_name(item.channel)),
	              "received", received, "received_iso", iso, "section", item.section_name,
	              "assignee", item.assignee_name, "name", item.name, "phone", item.phone,
	              "email", item.email, "publish_label",
	              page_msg(pg, item.publish ? "item.yes" : "item.no"), "draft", item.draft,
	              "reply", item.replied_at ? item.reply : NULL, "clocks", list,
	              "has_attachments", natt > 0, "attachments", files, "history", hist,
	              "actions", action_forms(pg, &item));
	if (o != NULL && item.draft != NULL)
		json_object_set_new(o, "draft_text", json_string(item.draft));
	/* the language the citizen's notices go in (an item from before schema 031 has none),
	 * for the handler who answers them */
	if (o != NULL && item.lang == LANG_ZH_HANS)
		json_object_set_new(o, "citizen_lang", json_string(page_msg(pg, "lang_name.zh-hans")));
	else if (o != NULL && item.lang == LANG_ZH_HANT)
		json_object_set_new(o, "citizen_lang", json_string(page_msg(pg, "lang_name.zh-hant")));
	else if (o != NULL && item.lang == LANG_EN)
		json_object_set_new(o, "citizen_lang", json_string(page_msg(pg, "lang_name.en")));
	/* the letter's texts in another language than the page's carry their own (lang) */
	if (o != NULL) {
		const char *texts[][2] = {{"subject_lang", item.subject},
		                          {"body_lang", item.body},
		                          {"draft_lang", item.draft},
		                          {"reply_lang", item.replied_at ? item.reply : NULL},
		                          {"section_lang", item.section_name},
		                          {"name_lang", item.name}};

		for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
			if (page_text_lang(pg, texts[i][1]) != NULL)
				json_object_set_new(o, texts[i][0],
				                    json_string(page_text_lang(pg, texts[i][1])));
	}
	if (o != NULL)
		json_object_set_new(o, "public", public_view(pg, &item));
	/* a citizen's e-mail after the item ended that its section has not acknowledged: the
	 * form that does so for someone of the section (core_citizen_mail_seen's rule) */
	if (o != NULL && item.citizen_mail_at != 0) {
		json_t *m = mail_mark(item.citizen_mail_at);
		const struct session *st = pg->staff;

		json_object_set_new(m, "can_ack",
		                    json_boolean(item.section_id != 0
		                                     ? st->section_id == item.section_id
		                                     : st->role == ROLE_DISPATCHER ||
		                                           st->role == ROLE_ADMIN));
		json_object_set_new(o, "citizen_mail", m);
	}
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
	const char *back;
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
	back = req_cookie(pg->req, QUEUE_COOKIE);
	json_object_set_new(pg->data, "queue_href",
	                    json_string(place_valid(back) ? back : "/staff/"));
	page_end(pg, status, "staff_item");
}

void
pg_staff_item(struct req *req, struct resp *resp)
{
	struct page pg;
	const char *done = req_query(req, "done");

	if (!page_staff_begin(&pg, req, resp, "queue.title", "queue", 0))
		return;
	if (done != NULL && wf_action_parse(done) >= 0) {
		char flash[200];

		snprintf(flash, sizeof(flash), "%s %s", page_msg(&pg, "item.done"),
		         page_msg2(&pg, "action.", done));
		json_object_set_new(pg.data, "flash", json_string(flash));
	} else if (done != NULL && strcmp(done, "citizen_mail") == 0) {
		json_object_set_new(pg.data, "flash",
		                    json_string(page_msg(&pg, "item.citizen_mail_done")));
	}
	item_page(&pg, 200, req->params[0], NULL);
}

/* 1 if s can be a tracking number (letters, digits, '-'; at most 40): what a page puts in a
 * Location header or a link comes from the table of items, never raw from the URL. */
static int
tracking_plain(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (i == 40 || !((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
		                 (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return 0;
	return i > 0;
}

/* The HTTP status of a refusal by core. */
static int
core_status(enum core_err e)
{
	switch (e) {
	case CORE_NOT_FOUND: return 404;
	case CORE_FORBIDDEN: return 403;
	case CORE_CONFLICT: return 409;
	case CORE_INVALID: return 400;
	default: return 500;
	}
}

/* An optional form field: NULL when absent or blank. */
static const char *
given(struct page *pg, const char *name)
{
	const char *v = page_field(pg, name);

	return v != NULL && text_nonblank(v) ? v : NULL;
}

/* The start of a form posted on an item's page (/staff/items/{tracking}/…): a staff session, a
 * tracking number of the right form and the form's CSRF token. 1 to go on, 0 answered. */
static int
item_post_begin(struct page *pg, struct req *req, struct resp *resp)
{
	if (!page_staff_begin(pg, req, resp, "queue.title", "queue", 0))
		return 0;
	if (!tracking_plain(req->params[0])) {
		page_error(pg, 404, "item.not_found");
		return 0;
	}
	if (!page_csrf_ok(pg, "staff")) {
		item_page(pg, 403, req->params[0], page_msg(pg, "err.csrf"));
		return 0;
	}
	return 1;
}

/* 1 when the item numbered tracking waits for the citizen's answer (its close is confirmed
 * first), else 0 (an unknown item: core_act says so) */
static int
close_waits(struct page *pg, const char *tracking)
{
	struct db_item item;
	int waits;

	if (db_item_get(pg->req->db, tracking, &item) != 1)
		return 0;
	waits = item.state == WF_WAITING_CITIZEN;
	db_item_free(&item);
	return waits;
}

void
pg_staff_act(struct req *req, struct resp *resp)
{
	struct page pg;
	struct core_action_input in;
	struct core_error err;
	const char *name;
	char loc[200];
	int a;

	if (!item_post_begin(&pg, req, resp))
		return;
	name = page_field(&pg, "action");
	a = name ? wf_action_parse(name) : -1;
	if (a < 0) {
		item_page(&pg, 400, req->params[0], page_msg(&pg, "err.field"));
		return;
	}
	/* the page's close of an item that waits for the citizen asks to be confirmed (their
	 * answer would come to an ended item); another close is one click, as staff working a
	 * queue expect, and the JSON API's close is never asked (its client decides) */
	if (a == WF_CLOSE && close_waits(&pg, req->params[0]) &&
	    (page_field(&pg, "confirm") == NULL || strcmp(page_field(&pg, "confirm"), "1") != 0)) {
		json_object_set_new(pg.data, "message", json_string(page_msg(&pg, "err.action")));
		json_object_set_new(pg.data, "core_message",
		                    json_string(page_msg(&pg, "item.close_unconfirmed")));
		json_object_set_new(pg.data, "err_field", json_string("confirm"));
		item_page(&pg, 400, req->params[0], NULL);
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
		refusal(&pg, &err);
		item_page(&pg, core_status(err.code), req->params[0], NULL);
		return;
	}
	snprintf(loc, sizeof(loc), "/staff/item/%s?done=%s", req->params[0],
	         wf_transition((enum wf_action)a)->name);
	page_redirect(&pg, loc);
}

/* The posted texts of the public version: each one set only when it differs from what the page
 * showed (the stored public text, else the masked original), so that only an edit goes through
 * the personal-data check; an emptied one is cleared (masked again on publication). *cur gets
 * the item (db_item_free). 0, or -1 when the item cannot be read. */
static int
public_texts(struct page *pg, const char *tracking, struct core_public_text *subject,
             struct core_public_text *body, struct core_public_text *reply, struct db_item *cur)
{
	struct redact_opts opts;
	const char *posted[3] = { page_field(pg, "subject"), page_field(pg, "body"),
		                  page_field(pg, "reply") };
	struct core_public_text *out[3] = { subject, body, reply };
	const char *orig[3], *stored[3];
	size_t i;

	if (db_item_get(pg->req->db, tracking, cur) != 1)
		return -1;
	opts.name = cur->name;
	opts.keep = pg->req->app->cfg.public_contacts;
	orig[0] = cur->subject;
	orig[1] = cur->body;
	orig[2] = cur->reply;
	stored[0] = cur->public_subject;
	stored[1] = cur->public_body;
	stored[2] = cur->public_reply;
	for (i = 0; i < 3; i++) {
		char *shown;

		if (stored[i] != NULL)
			shown = strdup(stored[i]);
		else if (i == 0) /* the subject as publishing fills it */
			shown = item_public_subject(orig[i], &opts);
		else
			shown = redact_text_opts(orig[i], &opts, NULL);

		out[i]->set = 0;
		out[i]->text = NULL;
		if (posted[i] == NULL) {
			free(shown);
			continue;
		}
		if (!text_nonblank(posted[i])) {
			out[i]->set = stored[i] != NULL;
		} else if (shown == NULL || strcmp(shown, posted[i]) != 0) {
			out[i]->set = 1;
			out[i]->text = posted[i];
		}
		free(shown);
	}
	return 0;
}

/* POST /staff/item/{tracking}/public: saves the public version (subject, body, reply as edited;
 * an emptied one is masked again from the original) and publishes (publish=1) or withdraws
 * (publish=0) it, through core_public_edit. */
void
pg_staff_public(struct req *req, struct resp *resp)
{
	struct page pg;
	struct core_public_text subject, body, reply;
	struct core_error err;
	struct db_item cur;
	const char *publish;
	char loc[200];
	int rc;

	if (!item_post_begin(&pg, req, resp))
		return;
	publish = page_field(&pg, "publish");
	if (public_texts(&pg, req->params[0], &subject, &body, &reply, &cur) != 0) {
		item_page(&pg, 404, req->params[0], page_msg(&pg, "item.not_found"));
		return;
	}
	memset(&err, 0, sizeof(err));
	rc = core_public_edit_confirmed(req->app, req->db, pg.staff, req->addr, req->params[0],
	                                &subject, &body, &reply,
	                                publish == NULL ? -1 : strcmp(publish, "1") == 0,
	                                page_field(&pg, "confirm") != NULL, req->now, &err);
	db_item_free(&cur);
	if (rc != 0) {
		if (err.code_name != NULL && strcmp(err.code_name, "personal_data") == 0)
			json_object_set_new(pg.data, "confirm_needed", json_true());
		refusal(&pg, &err);
		/* the public form's fields: pub-subject, pub-body, pub-reply */
		if (err.field != NULL &&
		    (strcmp(err.field, "subject") == 0 || strcmp(err.field, "body") == 0 ||
		     strcmp(err.field, "reply") == 0)) {
			char key[32], href[32];

			snprintf(key, sizeof(key), "e_pub_%s", err.field);
			json_object_set_new(pg.data, key, json_true());
			snprintf(href, sizeof(href), "#pub-%s", err.field);
			json_object_set_new(pg.data, "message_href", json_string(href));
		}
		item_page(&pg, core_status(err.code), req->params[0], NULL);
		return;
	}
	snprintf(loc, sizeof(loc), "/staff/item/%s?done=publish", req->params[0]);
	page_redirect(&pg, loc);
}

#define DASH_MAX 100        /* rows of each list on the dashboard */
#define DASH_PAGES_MAX 1000 /* pages of DASH_MAX read to count a list (100,000 items) */

/* One list of the dashboard: {key, heading, count, has_items, items, more}: its first DASH_MAX
 * items in the order of their due times and, counted through every page (a supervisor must
 * never miss one: the list says how many more there are, the counts by section are whole),
 * how many there are; the items due at not_before or later only (f starts there); counts per
 * section into counts (by name) under key when key is not NULL. */
static json_t *
dash_list(struct page *pg, const struct sla_calendar *cal, const char *name, const char *heading,
          struct db_queue_filter *f, int64_t not_before, json_t *counts, const char *key)
{
	struct db_queue_row *rows = NULL;
	size_t n = 0, i, total = 0;
	int pages = 0;
	json_t *items = json_array();

	if (not_before > 0) { /* the keyset cursor: next_due >= not_before */
		f->after_due = not_before - 1;
		f->after_id = INT64_MAX;
	}
	while (pages++ < DASH_PAGES_MAX && db_queue_list(pg->req->db, f, &rows, &n) == 0) {
		for (i = 0; i < n; i++) {
			json_t *c;
			const char *sec = rows[i].section ? rows[i].section : "—";

			if (rows[i].next_due < not_before)
				continue;
			total++;
			if (json_array_size(items) < DASH_MAX)
				json_array_append_new(items, queue_row(pg, cal, &rows[i]));
			if (key == NULL)
				continue;
			c = json_object_get(counts, sec);
			if (c == NULL) {
				c = json_pack("{s:s, s:s?, s:i, s:i}", "name", sec, "name_lang",
				              page_text_lang(pg, sec), "overdue", 0, "near", 0);
				json_object_set_new(counts, sec, c);
			}
			json_object_set_new(c, key,
			                    json_integer(json_integer_value(json_object_get(c, key)) + 1));
		}
		if (n < (size_t)f->limit) {
			db_queue_rows_free(rows, n);
			break;
		}
		f->after_due = rows[n - 1].next_due;
		f->after_id = rows[n - 1].id;
		db_queue_rows_free(rows, n);
	}
	return json_pack(
	    "{s:s, s:s, s:I, s:b, s:o, s:o}", "key", name, "heading", heading, "count",
	    (json_int_t)total, "has_items", json_array_size(items) > 0, "items", items, "more",
	    total > json_array_size(items) ? page_msg_n(pg, "dash.more", (long)(total - DASH_MAX))
	                                   : json_false());
}

/* GET /staff/dashboard (dispatcher, supervisor, admin): overdue items and those due within one
 * working day, counted by section, and the extension requests waiting. */
void
pg_staff_dashboard(struct req *req, struct resp *resp)
{
	struct page pg;
	struct db_queue_filter f;
	struct sla_calendar *cal;
	json_t *lists, *counts, *secs, *v;
	const char *k;
	int64_t soon;

	if (!page_staff_begin(&pg, req, resp, "dash.title", "dashboard", 0))
		return;
	if (!page_sees_all(pg.staff->role)) {
		page_error(&pg, 403, "err.forbidden");
		return;
	}
	cal = app_calendar(req->app);
	soon = sla_day_end(sla_add_working_days(cal, sla_local_day(req->now), 1), 1440) + 1;
	counts = json_object();
	lists = json_array();
	memset(&f, 0, sizeof(f));
	f.limit = DASH_MAX;
	f.due_before = req->now;
	json_array_append_new(lists, dash_list(&pg, cal, "overdue", page_msg(&pg, "dash.overdue"),
	                                       &f, 0, counts, "overdue"));
	memset(&f, 0, sizeof(f));
	f.limit = DASH_MAX;
	f.due_before = soon;
	json_array_append_new(lists, dash_list(&pg, cal, "near", page_msg(&pg, "dash.near"), &f,
	                                       req->now, counts, "near"));
	memset(&f, 0, sizeof(f));
	f.limit = DASH_MAX;
	f.states = DB_STATES_ONE;
	f.state = WF_EXTENSION_REQUESTED;
	json_array_append_new(
	    lists,
	    dash_list(&pg, cal, "extensions", page_msg(&pg, "dash.extensions"), &f, 0, NULL, NULL));
	sla_calendar_unref(cal);
	secs = json_array();
	json_object_foreach(counts, k, v)
		json_array_append(secs, v);
	json_decref(counts);
	json_object_set_new(pg.data, "has_sections", json_boolean(json_array_size(secs) > 0));
	json_object_set_new(pg.data, "sections", secs);
	json_object_set_new(pg.data, "lists", lists);
	if (pg.staff->role == ROLE_SUPERVISOR || pg.staff->role == ROLE_ADMIN)
		page_dash_stats(&pg);
	page_end(&pg, 200, "staff_dashboard");
}

/* POST /staff/item/{tracking}/citizen_mail: the citizen's e-mail that marked the ended item is
 * acknowledged (core_citizen_mail_seen), back to the item page; a refusal shows on it. */
void
pg_staff_citizen_mail(struct req *req, struct resp *resp)
{
	struct page pg;
	struct core_error err;
	char loc[200];

	if (!item_post_begin(&pg, req, resp))
		return;
	memset(&err, 0, sizeof(err));
	if (core_citizen_mail_seen(req->app, req->db, pg.staff, req->addr, req->params[0], NULL,
	                           req->now, &err) != 0) {
		refusal(&pg, &err);
		item_page(&pg, core_status(err.code), req->params[0], NULL);
		return;
	}
	snprintf(loc, sizeof(loc), "/staff/item/%s?done=citizen_mail", req->params[0]);
	page_redirect(&pg, loc);
}
