/*
 * pages_int.h: what the files of service/pages share: the page context (language, data, the
 * form token) and the helpers every handler uses.
 */
#ifndef PAGES_INT_H
#define PAGES_INT_H

#include <stdint.h>

#include <jansson.h>
#include <sodium.h>

#include "service/core/core.h"
#include "service/http/http.h"
#include "web/web.h"
#include "pages.h"

#define PAGES_KEY_SIZE crypto_auth_hmacsha256_KEYBYTES
#define CSRF_COOKIE "civicdesk_form"  /* the citizens' double-submit nonce */
#define LANG_COOKIE "civicdesk_lang"  /* the remembered language */
#define PAGE_SIZE 20                  /* rows of a board or queue page */

struct pages {
	struct web *web;
	unsigned char key[PAGES_KEY_SIZE]; /* signs form tokens; new at every start */
};

/* One page being answered. */
struct page {
	struct req *req;
	struct resp *resp;
	struct pages *p;
	enum web_lang lang;
	json_t *data;        /* the template's data (owned) */
	char nonce[AUTH_TOKEN_SIZE]; /* the double-submit cookie's value */
	int nonce_new;       /* 1: the request had none (set now): no form can be right */
	struct session *staff; /* the signed-in staff member (owned), or NULL */
};

/* Starts a page: the language (?lang=, then the cookie, then Accept-Language; a ?lang= is
 * remembered in a cookie), the common data (lang, langs, updated, title from the catalogue key
 * title_key, nav_<nav> = true) and the form nonce. 0, or -1 after answering 500. */
int page_begin(struct page *pg, struct req *req, struct resp *resp, const char *title_key,
               const char *nav);
/* Renders template with pg->data and answers status with the pages' headers (CSP without inline
 * script, frame-ancestors 'none', no-store). A status of 400 or more on a page other than the
 * error page is a refused form: its title begins with the language's word for an error
 * (err.title_refused, "Error: {title}"), which a screen reader reads first (WCAG 2.2 2.4.2,
 * 3.3.1). Frees the page. */
void page_end(struct page *pg, int status, const char *template);
/* Frees what page_begin made without answering (after a redirect). */
void page_free(struct page *pg);
/* The Location header of a 303 to location (a path of ours), with this request's ?lang= carried
 * on; for a 303 whose body is a page of its own (page_end with 303). */
void page_location(struct page *pg, const char *location);
/* One entry of a comma-separated header value with parameters (Accept-Language,
 * Accept-Encoding) from v: its token (lent, *n bytes, blanks trimmed) and its q (1 when absent,
 * as RFC 9110 says); returns where the next entry starts (at the value's end: "") */
const char *page_list_entry(const char *v, const char **token, size_t *n, double *q);
/* Answers 303 to location (a path of ours) and frees the page. */
void page_redirect(struct page *pg, const char *location);
/* An error page with status, the catalogue's heading and the message of key. Frees the page. */
void page_error(struct page *pg, int status, const char *key);

/* The message key in the page's language (never NULL: the key itself when missing). */
const char *page_msg(struct page *pg, const char *key);
/* The message prefix+name ("state." + "received"). */
const char *page_msg2(struct page *pg, const char *prefix, const char *name);
/* The message key with its "{n}" replaced by n, as a new JSON string. */
json_t *page_msg_n(struct page *pg, const char *key, long n);

/* The language of a text written by people (a letter, a reply, a note) when it is not the
 * page's, for its lang attribute (WCAG 3.1.2: a screen reader reads it with the right voice):
 * "zh" for text with Han characters on an English page, "en" for text in Latin letters without
 * Han characters on a Chinese page, else NULL (the page's own). A guess from the script. */
const char *page_text_lang(struct page *pg, const char *text);

/* The form token of the form called form for this page (into data "csrf"). */
void page_csrf_set(struct page *pg, const char *form);
/* 1 if the posted csrf_token is right for form (the citizen's signed double-submit cookie, or
 * for staff pages the session's token), else 0. */
int page_csrf_ok(struct page *pg, const char *form);

/* Percent-encodes s (NULL: "") into buf at *n, unreserved characters as they are; stops before
 * the cap, buf stays NUL-terminated. */
void page_url_put(char *buf, size_t size, size_t *n, const char *s);

/* A posted form field's value (NUL-terminated), or NULL. */
const char *page_field(struct page *pg, const char *name);

/* Local date "YYYY-MM-DD" and date-time "YYYY-MM-DD HH:MM" of t (0: ""). */
void page_date(int64_t t, char buf[11]);
void page_datetime(int64_t t, char buf[17]);
/* A clock for a page: {label, due, due_iso, status, state_label, left_label, urgency (ok,
 * amber, red, none), provisional, has_explanation, explanation[{date,label,name}]}. */
json_t *page_clock(struct page *pg, const struct db_clock *k, const struct sla_calendar *cal);
/* The clocks of item in the order reply, forward, explain: a new array of page_clock's. */
json_t *page_clocks(struct page *pg, const struct db_item *item);
/* The urgency of a due time: "red" overdue, "amber" at one working day or less, "ok", or
 * "none" when there is no due time. *left gets the working days left. */
const char *page_urgency(const struct sla_calendar *cal, int64_t due, int64_t now, int *left);

/* The staff member of the session cookie: 1 with pg->staff set, 0 when there is none (the
 * caller sends to the login page; *expired says whether it had ended), -1 on error. */
int page_staff(struct page *pg, int *expired);
/* Adds the staff data (username, role_label, csrf, dashboard) to the page. */
void page_staff_data(struct page *pg);
#define PAGE_ALLOW_CHANGE 1u /* page_staff_begin: shown before a forced password change */
#define PAGE_ALLOW_ENROLL 2u /* page_staff_begin: shown before a required second factor */
/* Starts a staff page: 1 with the session (and its data set), 0 when the page has answered (a
 * redirect to the sign-in, password or second-factor page, or an error). allow: the
 * PAGE_ALLOW_* bits of the page (0 for most). */
int page_staff_begin(struct page *pg, struct req *req, struct resp *resp, const char *title_key,
                     const char *nav, unsigned allow);
/* A staff form's draft carried by the sign-in's steps (the posted draft_form, draft_item and
 * draft_NAME fields of a form whose session ended) into the page's data "draft", which the
 * partial draft_fields writes back as hidden fields: 1 when there is one, else 0 (staff.c). */
int page_draft_posted(struct page *pg);
/* The second factor's page as things stand for the signed-in account, with status and an
 * error sentence or NULL (totp.c). */
void page_totp_show(struct page *pg, int status, const char *message);
/* The administrators' page with the form called form ("account", "section", "section_change"
 * for the section numbered id) filled again from the posted draft_NAME fields, not sent, and a
 * notice saying so; another role than admin goes to the staff home (admin.c). */
void page_admin_draft(struct page *pg, const char *form, const char *id);
/* 1 if the role sees every section (dispatcher, supervisor, admin). */
int page_sees_all(enum role r);
/* The statistics part of the dashboard (supervisors and administrators): the period asked in
 * ?period= (this month by default) and its choices, the ranked table of the sections, the
 * charts as SVG geometry and the CSV link (dashboard.c). */
void page_dash_stats(struct page *pg);

/* handlers (citizen.c, staff.c) */
void pg_home(struct req *req, struct resp *resp);
void pg_submit_get(struct req *req, struct resp *resp);
void pg_submit_post(struct req *req, struct resp *resp);
void pg_track_get(struct req *req, struct resp *resp);
void pg_track_post(struct req *req, struct resp *resp);
void pg_board(struct req *req, struct resp *resp);
void pg_static(struct req *req, struct resp *resp);
void pg_layer_error(struct req *req, struct resp *resp);
void pg_staff_login_get(struct req *req, struct resp *resp);
void pg_staff_login_post(struct req *req, struct resp *resp);
void pg_staff_logout(struct req *req, struct resp *resp);
void pg_staff_password_get(struct req *req, struct resp *resp);
void pg_staff_password_post(struct req *req, struct resp *resp);
void pg_staff_totp_get(struct req *req, struct resp *resp);
void pg_staff_totp_enroll(struct req *req, struct resp *resp);
void pg_staff_totp_confirm(struct req *req, struct resp *resp);
void pg_staff_slash(struct req *req, struct resp *resp);
void pg_staff_queue(struct req *req, struct resp *resp);
void pg_staff_item(struct req *req, struct resp *resp);
void pg_staff_act(struct req *req, struct resp *resp);
void pg_staff_public(struct req *req, struct resp *resp);
void pg_staff_citizen_mail(struct req *req, struct resp *resp);
void pg_staff_resume(struct req *req, struct resp *resp);
void pg_staff_dashboard(struct req *req, struct resp *resp);
void pg_staff_admin(struct req *req, struct resp *resp);
void pg_staff_stats_csv(struct req *req, struct resp *resp);
void pg_admin_account_add(struct req *req, struct resp *resp);
void pg_admin_account_change(struct req *req, struct resp *resp);
void pg_admin_section_add(struct req *req, struct resp *resp);
void pg_admin_section_change(struct req *req, struct resp *resp);
void pg_admin_policy(struct req *req, struct resp *resp);
void pg_admin_outbox_retry(struct req *req, struct resp *resp);
void pg_admin_outbox_retry_given_up(struct req *req, struct resp *resp);
void pg_admin_calendar(struct req *req, struct resp *resp);

#endif
