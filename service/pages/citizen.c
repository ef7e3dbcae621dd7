/*
 * citizen.c: the citizens' pages — home, the submission form (through core_submit, like every
 * channel), the status look-up with tracking number and query code, the public board — and the
 * static files. No account: forms carry a token signed against a double-submit cookie.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pages_int.h"

static const char *const kinds[] = { "letter", "complaint", "consultation" };
#define RECEIPT_COOKIE "civicdesk_receipt" /* tracking.code of the last submission, 10 min */
#define TRACK_COOKIE "civicdesk_track"     /* tracking.code of the last look-up */
#define TRACK_COOKIE_AGE 900 /* seconds the look-up cookie lasts unused (a shared computer) */
#define TRACKING_MAX 48 /* bytes of a tracking number with its NUL (the pages take 40) */
#define TYPED_MAX 128   /* bytes of a typed number or code in full-width characters, NUL too */

static int receipt(struct page *pg, const char *done);
static void files_again(struct page *pg, json_t *f, json_t *errors);
static void msg_fill(struct page *pg, const char *key, const char *name, const char *value,
                     char *buf, size_t size);
#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

/* The fields of the form, in the order their errors are listed. */
static const char *const submit_fields[] = { "kind", "subject", "body", "name", "phone",
	                                     "email", "publish", "attachment" };
#define NFIELDS (sizeof(submit_fields) / sizeof(submit_fields[0]))

/* [{value,label,checked}] of the kinds, `current` checked. */
static json_t *
kind_choices(struct page *pg, const char *current)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < NKINDS; i++)
		json_array_append_new(a, json_pack("{s:s, s:s, s:b}", "value", kinds[i], "label",
		                                   page_msg2(pg, "kind.", kinds[i]), "checked",
		                                   current != NULL && strcmp(current, kinds[i]) == 0));
	return a;
}

void
pg_home(struct req *req, struct resp *resp)
{
	struct page pg;

	if (page_begin(&pg, req, resp, "home.title", "home") != 0)
		return;
	page_end(&pg, 200, "home");
}

/* The form with the values f (an object of {value, error, checked} per field) and errors. */
static void
submit_form(struct page *pg, int status, const char *kind, json_t *f, json_t *errors)
{
	json_object_set_new(pg->data, "kinds", kind_choices(pg, kind));
	files_again(pg, f, errors);
	json_object_set_new(pg->data, "f", f);
	if (json_array_size(errors) > 0)
		json_object_set_new(pg->data, "errors", json_pack("{s:o}", "list", errors));
	else
		json_decref(errors);
	page_csrf_set(pg, "submit");
	page_end(pg, status, "submit");
}

void
pg_submit_get(struct req *req, struct resp *resp)
{
	struct page pg;
	const char *kind = req_query(req, "kind");

	if (page_begin(&pg, req, resp, "submit.title", "submit") != 0)
		return;
	if (receipt(&pg, req_query(req, "done")))
		return;
	/* the receipt's address without its receipt (after ten minutes, in another browser, or a
	 * phone's tab reloaded): not an empty form without a word, which invites sending again */
	if (req_query(req, "done") != NULL)
		json_object_set_new(pg.data, "receipt_gone", json_true());
	submit_form(&pg, 200, kind, json_object(), json_array());
}

/* Records the error of field (the catalogue's sentence err.<key>) in f and errors. */
static void
field_error(struct page *pg, json_t *f, json_t *errors, const char *field, const char *key)
{
	json_t *o = json_object_get(f, field);
	const char *m = page_msg(pg, key);

	if (o == NULL) {
		o = json_object();
		json_object_set_new(f, field, o);
	}
	if (json_object_get(o, "error") != NULL)
		return;
	json_object_set_new(o, "error", json_string(m));
	json_array_append_new(errors, json_pack("{s:s, s:s}", "field",
	                                        strcmp(field, "kind") == 0 ? "kind-letter" : field,
	                                        "message", m));
}

/* Every problem of the submission, by the core's own rules: each field the check refuses is
 * noted and replaced by a harmless value, and the check runs again (at most once per field).
 * 1 if one of them was a file too large (413, as the API answers), else 0. */
static int
all_errors(struct page *pg, struct intake in, json_t *f, json_t *errors)
{
	struct core_error err;
	char key[32];
	size_t round;
	int too_large = 0;

	for (round = 0; round < NFIELDS + 1; round++) {
		memset(&err, 0, sizeof(err));
		if (core_submit_check(&in, &err) == 0 || err.field == NULL)
			return too_large;
		if (err.code == CORE_TOO_LARGE)
			too_large = 1;
		if (strcmp(err.field, "kind") == 0) {
			in.kind = "letter";
		} else if (strcmp(err.field, "subject") == 0) {
			in.subject = "-";
		} else if (strcmp(err.field, "body") == 0) {
			in.body = "-";
		} else if (strcmp(err.field, "name") == 0) {
			in.name = NULL;
		} else if (strcmp(err.field, "phone") == 0) {
			if (in.phone == NULL || in.phone[0] == '\0') {
				json_t *email = json_object_get(f, "email");

				field_error(pg, f, errors, "phone", "err.contact");
				/* neither given: the e-mail field is marked too, described by the
				 * message beside the phone's */
				if (json_is_object(email))
					json_object_set_new(email, "missing", json_true());
				in.email = "a@example.com";
				continue;
			}
			in.phone = NULL;
			if (in.email == NULL || in.email[0] == '\0')
				in.email = "a@example.com";
		} else if (strcmp(err.field, "email") == 0) {
			in.email = "a@example.com";
		} else if (strcmp(err.field, "publish") == 0) {
			in.publish = 0;
		} else if (strcmp(err.field, "attachment") == 0) {
			in.natt = 0;
		} else {
			field_error(pg, f, errors, "body", "err.field");
			return too_large;
		}
		snprintf(key, sizeof(key), "err.%s", err.field);
		field_error(pg, f, errors, err.field, key);
	}
	return too_large;
}

/* "type/subtype" in lower case without parameters, or application/octet-stream. */
static void
clean_type(const char *s, char *out, size_t size)
{
	size_t n = 0;

	for (; s != NULL && *s != '\0' && *s != ';' && *s != ' ' && n + 1 < size; s++)
		out[n++] = (char)(*s >= 'A' && *s <= 'Z' ? *s - 'A' + 'a' : *s);
	out[n] = '\0';
	if (n == 0 || strchr(out, '/') == NULL)
		snprintf(out, size, "application/octet-stream");
}

/* The last part of a path a browser may send as a file name, fitted into INTAKE_FILENAME_MAX
 * bytes by attach_name_fit (cut before its extension, as the API's and mail's are; s is
 * written): points into s. */
static const char *
base_name(char *s)
{
	char *p, *base = s;

	for (p = s; *p != '\0'; p++)
		if (*p == '/' || *p == '\\')
			base = p + 1;
	attach_name_fit(base, INTAKE_FILENAME_MAX);
	return base;
}

/* A refused form's files are not kept (no page can give a browser its files back): the message
 * that names them, to be chosen again, lest the letter go without them once the rest is put
 * right. A new string, or NULL when the form carried no file (or out of memory). */
static json_t *
files_again_new(struct page *pg)
{
	char names[INTAKE_MAX_ATTACHMENTS * (INTAKE_FILENAME_MAX + 2) + 8];
	char msg[sizeof(names) + 512];
	size_t i, n = 0, count = 0;
	json_t *m;

	names[0] = '\0';
	for (i = 0; i < pg->req->nform; i++) {
		const struct form_field *ff = &pg->req->form[i];
		const char *b;

		if (ff->filename == NULL || (ff->filename[0] == '\0' && ff->size == 0))
			continue;
		b = base_name(ff->filename);
		/* INTAKE_MAX_ATTACHMENTS names at most, of INTAKE_FILENAME_MAX bytes: never cut */
		if (count++ == INTAKE_MAX_ATTACHMENTS || strlen(b) > INTAKE_FILENAME_MAX ||
		    b[0] == '\0')
			b = "…";
		n += (size_t)snprintf(names + n, sizeof(names) - n, "%s%s", n > 0 ? ", " : "", b);
		if (count > INTAKE_MAX_ATTACHMENTS)
			break;
	}
	if (count == 0)
		return NULL;
	msg_fill(pg, "err.files_again", "{files}", names, msg, sizeof(msg));
	m = json_string(msg);
	if (m == NULL) { /* a name that is no UTF-8 */
		msg_fill(pg, "err.files_again", "{files}", "…", msg, sizeof(msg));
		m = json_string(msg);
	}
	return m;
}

/* The submission form's files_again_new message, beside the attachment field and in the summary,
 * unless the field has a message of its own. */
static void
files_again(struct page *pg, json_t *f, json_t *errors)
{
	json_t *m, *o;

	if (json_object_get(f, "attachment") != NULL || (m = files_again_new(pg)) == NULL)
		return;
	o = json_pack("{s:b, s:O}", "again", 1, "error", m);
	if (o != NULL) {
		json_object_set_new(f, "attachment", o);
		json_array_append_new(errors,
		                      json_pack("{s:s, s:O}", "field", "attachment", "message", m));
	}
	json_decref(m);
}

/* The receipt: tracking number, query code, reply due date and what explains it. */
static void
submitted(struct page *pg, struct db_item *item, const char *code, int status)
{
	json_t *clocks = page_clocks(pg, item);
	json_t *reply = json_incref(json_array_get(clocks, 0)); /* reply comes first */

	json_object_set_new(pg->data, "title", json_string(page_msg(pg, "done.title")));
	json_object_set_new(pg->data, "tracking", json_string(item->tracking));
	json_object_set_new(pg->data, "query_code", json_string(code));
	if (reply != NULL) {
		json_object_set(pg->data, "due", json_object_get(reply, "due"));
		json_object_set(pg->data, "due_iso", json_object_get(reply, "due_iso"));
		json_object_set(pg->data, "provisional", json_object_get(reply, "provisional"));
		json_object_set(pg->data, "has_explanation", json_object_get(reply, "has_explanation"));
		json_object_set(pg->data, "explanation", json_object_get(reply, "explanation"));
	}
	json_decref(reply);
	json_decref(clocks);
	page_end(pg, status, "submitted");
}

void
pg_submit_post(struct req *req, struct resp *resp)
{
	struct page pg;
	struct intake in;
	struct core_error err;
	struct db_item item;
	char code[QUERY_CODE_LEN + 1];
	char ctypes[INTAKE_MAX_ATTACHMENTS][INTAKE_CTYPE_MAX + 1];
	json_t *f, *errors;
	int64_t retry;
	size_t i;
	int too_large;
	const char *lang;

	if (page_begin(&pg, req, resp, "submit.title", "submit") != 0)
		return;
	memset(&in, 0, sizeof(in));
	memset(&item, 0, sizeof(item));
	in.kind = page_field(&pg, "kind");
	in.subject = page_field(&pg, "subject");
	in.body = page_field(&pg, "body");
	in.name = page_field(&pg, "name");
	in.phone = page_field(&pg, "phone");
	in.email = page_field(&pg, "email");
	/* the box is the only way to say yes: an unticked box sends an explicit no */
	in.publish = page_field(&pg, "publish") != NULL;
	in.channel = CHANNEL_WEB;
	in.received = req->now;
	/* the citizen wrote on a page in this language: their notices are in it */
	in.lang = web_lang_tag(pg.lang);
	f = json_pack("{s:{s:s?}, s:{s:s?}, s:{s:s?}, s:{s:s?}, s:{s:s?}, s:{s:b}}", "subject",
	              "value", in.subject, "body", "value", in.body, "name", "value", in.name,
	              "phone", "value", in.phone, "email", "value", in.email, "publish", "checked",
	              in.publish);
	errors = json_array();
	if (f == NULL || errors == NULL) {
		json_decref(f);
		json_decref(errors);
		page_error(&pg, 500, "err.internal");
		return;
	}
	if (!page_csrf_ok(&pg, "submit")) {
		json_array_append_new(errors, json_pack("{s:s, s:s}", "field", "subject", "message",
		                                        page_msg(&pg, "err.csrf")));
		submit_form(&pg, 403, in.kind, f, errors);
		return;
	}
	for (i = 0; i < req->nform; i++) {
		const struct form_field *ff = &req->form[i];
		struct db_attachment *a;

		if (ff->filename == NULL || (ff->filename[0] == '\0' && ff->size == 0))
			continue;
		if (in.natt == INTAKE_MAX_ATTACHMENTS) {
			field_error(&pg, f, errors, "attachment", "err.attachment");
			break;
		}
		a = &in.att[in.natt];
		a->filename = (char *)base_name(ff->filename);
		attach_name_fit(a->filename, INTAKE_FILENAME_MAX); /* cut before its extension */
		clean_type(ff->content_type, ctypes[in.natt], sizeof(ctypes[0]));
		a->content_type = ctypes[in.natt];
		a->data = ff->data;
		a->size = (int64_t)ff->size;
		in.natt++;
	}
	too_large = all_errors(&pg, in, f, errors);
	if (json_array_size(errors) > 0) {
		submit_form(&pg, too_large ? 413 : 400, in.kind, f, errors);
		return;
	}
	/* only well-formed submissions count against the address, as in the API */
	if (ratelimit_hit(req->app->submit_limit, req->addr, req->now, &retry)) {
		json_array_append_new(errors, json_pack("{s:s, s:s}", "field", "subject", "message",
		                                        page_msg(&pg, "err.busy")));
		resp_header(resp, "Retry-After", "%lld", (long long)retry);
		submit_form(&pg, 429, in.kind, f, errors);
		return;
	}
	memset(&err, 0, sizeof(err));
	if (core_submit(req->app, &in, req->now, &item, code, &err) != 0) {
		json_array_append_new(errors, json_pack("{s:s, s:s}", "field", "subject", "message",
		                                        page_msg(&pg, err.code == CORE_INVALID
		                                                          ? "err.field"
		                                                          : "err.internal")));
		submit_form(&pg, err.code == CORE_INVALID ? 400 : 503, in.kind, f, errors);
		return;
	}
	json_decref(f);
	json_decref(errors);
	/* the receipt is a page of its own (POST, redirect, GET): reloading it shows it again
	 * instead of sending the letter a second time. Its number and code wait in a cookie of
	 * this browser, for /submit only, ten minutes. */
	resp_header(resp, "Set-Cookie", "%s=%s.%s; Path=/submit; Max-Age=600; HttpOnly; "
	            "SameSite=Strict%s", RECEIPT_COOKIE, item.tracking, code,
	            req->app->cfg.cookie_secure ? "; Secure" : "");
	lang = req_query(req, "lang");
	if (lang != NULL && web_lang_parse(lang) >= 0)
		resp_header(resp, "Location", "/submit?lang=%s&done=%s", web_lang_tag(pg.lang),
		            item.tracking);
	else
		resp_header(resp, "Location", "/submit?done=%s", item.tracking);
	/* the 303's own body is the receipt too, for a client that does not follow it */
	submitted(&pg, &item, code, 303);
	db_item_free(&item);
}

/* The receipt of the submission named by ?done= when this browser's receipt cookie holds its
 * number and code: 1 shown, 0 not (the form is shown instead). */
static int
receipt(struct page *pg, const char *done)
{
	static const unsigned char nohash[QUERY_HASH_LEN];
	const char *c = req_cookie(pg->req, RECEIPT_COOKIE), *dot;
	char code[QUERY_CODE_LEN + 1];
	struct db_item item;
	int64_t retry;
	int rc;

	if (done == NULL || c == NULL || (dot = strchr(c, '.')) == NULL ||
	    (size_t)(dot - c) != strlen(done) || strncmp(c, done, strlen(done)) != 0 ||
	    strlen(dot + 1) != QUERY_CODE_LEN)
		return 0;
	snprintf(code, sizeof(code), "%s", dot + 1);
	/* the cookie is the client's to write: its code is checked, and counted when wrong, as a
	 * look-up's on /track (no way around the limits on guessing codes) */
	if (core_track_refused(pg->req->app, pg->req->addr, done, pg->req->now, &retry))
		return 0;
	memset(&item, 0, sizeof(item));
	rc = db_item_get(pg->req->db, done, &item);
	if (rc < 0)
		return 0;
	if (!query_code_verify(code, rc == 1 ? item.query_hash : nohash) || rc != 1) {
		if (rc == 1)
			db_item_free(&item);
		core_track_failed(pg->req->app, pg->req->addr, done, pg->req->now);
		return 0;
	}
	submitted(pg, &item, code, 200);
	db_item_free(&item);
	return 1;
}

/* --- tracking ---------------------------------------------------------------------------- */

static void
track_form(struct page *pg, int status, const char *tracking)
{
	json_object_set_new(pg->data, "f_tracking", json_string(tracking ? tracking : ""));
	page_csrf_set(pg, "track");
	page_end(pg, status, "track");
}

/* The label of a history row for the citizen: the action's, and for a rating the rating's. */
static json_t *
timeline_row(struct page *pg, const struct db_history *h)
{
	char at[17], iso[40], due[17], due_iso[40];
	const char *note = h->note;
	json_t *row;

	page_datetime(h->at, at);
	sla_format_local(h->at, iso, sizeof(iso));
	if (strcmp(h->action, "rate") == 0 && note != NULL)
		note = page_msg2(pg, "rating.", note);
	row = json_pack("{s:s, s:s, s:s, s:s?, s:s?}", "at", at, "at_iso", iso, "label",
	                page_msg2(pg, "action.", h->action), "note", note, "note_lang",
	                note == h->note ? page_text_lang(pg, note) : NULL);
	/* the due date the step set (forward, extension, supplement, recalculation: #14 point 11) */
	if (row != NULL && h->due != 0) {
		page_datetime(h->due, due);
		sla_format_local(h->due, due_iso, sizeof(due_iso));
		json_object_set_new(row, "due", json_pack("{s:s, s:s}", "at", due, "iso", due_iso));
	}
	return row;
}

/* The value choices of the rating form, `current` checked. */
static json_t *
rating_choices(struct page *pg, const char *current)
{
	static const char *const values[] = { "satisfied", "basically_satisfied", "unsatisfied" };
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < sizeof(values) / sizeof(values[0]); i++)
		json_array_append_new(a, json_pack("{s:s, s:s, s:b}", "value", values[i], "label",
		                                   page_msg2(pg, "rating.", values[i]), "checked",
		                                   current != NULL && strcmp(current, values[i]) == 0));
	return a;
}

/* What the citizen may do now, into o: can_supplement (the item waits for them), can_withdraw
 * (it is open), can_withdraw_consent (publication allowed), can_rate (a sent reply not rated
 * yet, within rating_days) or rating_done {label, comment}. core decides in the end: these only
 * choose the forms shown. */
static void
citizen_forms(struct page *pg, const struct db_item *item, json_t *o)
{
	struct db_rating r;
	int state = (int)item->state, rounds = 0, rc;
	int open = state >= 0 && state != WF_REPLIED && state != WF_CLOSED && state != WF_REJECTED &&
	           state != WF_MERGED;
	int replied = (state == WF_REPLIED || state == WF_CLOSED) && item->replied_at != 0;

	json_object_set_new(o, "can_supplement", json_boolean(state == WF_WAITING_CITIZEN));
	json_object_set_new(o, "can_withdraw", json_boolean(open));
	json_object_set_new(o, "can_withdraw_consent", json_boolean(item->publish));
	if (!replied)
		return;
	memset(&r, 0, sizeof(r));
	rc = db_rating_last(pg->req->db, item->id, &r);
	if (rc < 0 || db_rating_rounds(pg->req->db, item->id, &rounds) != 0) {
		if (rc == 1)
			db_rating_free(&r);
		return;
	}
	if (rc == 1 && r.round == rounds) {
		json_object_set_new(o, "rating_done",
		                    json_pack("{s:s, s:s?}", "label", page_msg2(pg, "rating.", r.value),
		                              "comment", r.comment));
	} else if (pg->req->now <= item->replied_at + (int64_t)pg->req->app->cfg.rating_days * 86400) {
		json_object_set_new(o, "can_rate", json_true());
		json_object_set_new(o, "ratings",
		                    rating_choices(pg, page_field(pg, "value")));
	}
	if (rc == 1)
		db_rating_free(&r);
}

/* The item as its citizen sees it, with the forms of what they may do. */
static json_t *
citizen_view(struct page *pg, struct db_item *item)
{
	json_t *list = page_clocks(pg, item), *tl, *o, *question;
	struct db_history *h = NULL;
	size_t nh = 0, i;
	char received[17], iso[40];

	tl = json_array();
	question = NULL;
	if (db_history_list(pg->req->db, item->id, 1, &h, &nh) == 0) {
		for (i = 0; i < nh; i++) {
			json_array_append_new(tl, timeline_row(pg, &h[i]));
			if (strcmp(h[i].action, "ask_citizen") == 0 && h[i].note != NULL) {
				json_decref(question);
				question = json_string(h[i].note);
			}
		}
		db_history_free(h, nh);
	}
	page_datetime(item->received, received);
	sla_format_local(item->received, iso, sizeof(iso));
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o}", "tracking", item->tracking,
	              "state", wf_state_name(item->state), "state_label",
	              page_msg2(pg, "state.", wf_state_name(item->state)), "state_text",
	              page_msg2(pg, "statetext.", wf_state_name(item->state)), "kind_label",
	              page_msg2(pg, "kind.", kind_name(item->kind)), "received", received,
	              "received_iso", iso, "clocks", list, "timeline", tl);
	if (o == NULL) {
		json_decref(question);
		return NULL;
	}
	if (item->replied_at != 0 && item->reply != NULL) {
		json_object_set_new(o, "reply", json_string(item->reply));
		if (page_text_lang(pg, item->reply) != NULL)
			json_object_set_new(o, "reply_lang", json_string(page_text_lang(pg, item->reply)));
	}
	citizen_forms(pg, item, o);
	/* what was asked, above the form that answers it */
	if (question != NULL && item->state == WF_WAITING_CITIZEN) {
		const char *ql = page_text_lang(pg, json_string_value(question));

		if (ql != NULL)
			json_object_set_new(o, "question_lang", json_string(ql));
		json_object_set_new(o, "question", question);
	} else
		json_decref(question);
	return o;
}

/* The citizen's actions on /track, each through the core function the API's track endpoints
 * use; the hidden field "action" names it. */
enum track_act { TRACK_SUPPLEMENT, TRACK_WITHDRAW, TRACK_WITHDRAW_CONSENT, TRACK_RATE,
	         TRACK_ACT__MAX };

static const struct {
	const char *name;     /* the form's "action" */
	const char *done_key; /* the message once done */
} track_acts[TRACK_ACT__MAX] = {
	[TRACK_SUPPLEMENT] = { "supplement", "track.supplement_done" },
	[TRACK_WITHDRAW] = { "withdraw", "track.withdraw_done" },
	[TRACK_WITHDRAW_CONSENT] = { "withdraw_consent", "track.consent_done" },
	[TRACK_RATE] = { "rate", "track.rate_done" },
};

/* The controls the messages of the citizen's forms are about (the error summary links to them). */
static const struct {
	const char *key;     /* the message's data key beside the field */
	const char *control; /* the id of the control to go to */
} track_fields[] = {
	{ "e_supplement", "supplement" },      { "e_sup_attachment", "supplement-attachment" },
	{ "e_value", "rate-satisfied" },       { "e_comment", "rate-comment" },
	{ "e_consent", "consent-confirm" },    { "e_withdraw", "withdraw-confirm" },
};

/* A refused field of a citizen's form: msg beside it (data key) and in the error summary at
 * the top of the page ("errors": {list: [{field, message}]}, focused by the script), linked to
 * its control, so that a screen reader hears it at once instead of the page starting over. */
static void
track_field_error(struct page *pg, const char *key, const char *msg)
{
	json_t *e = json_object_get(pg->data, "errors");
	size_t i;

	json_object_set_new(pg->data, key, json_string(msg));
	if (e == NULL) {
		e = json_pack("{s:[]}", "list");
		json_object_set_new(pg->data, "errors", e);
	}
	for (i = 0; i < sizeof(track_fields) / sizeof(track_fields[0]); i++)
		if (strcmp(key, track_fields[i].key) == 0)
			json_array_append_new(json_object_get(e, "list"),
			                      json_pack("{s:s, s:s}", "field", track_fields[i].control,
			                                "message", msg));
}

/* The message of a refusal by core of a citizen's action: the field's (into the page's e_FIELD
 * with *status 400) or the conflict's (into "problem", 409). */
static void
track_refusal(struct page *pg, enum track_act a, const struct core_error *err, int *status)
{
	const char *field = NULL, *key = "err.internal", *cn = err->code_name;

	*status = err->code == CORE_BUSY ? 503 : 500;
	if ((err->code == CORE_INVALID || err->code == CORE_TOO_LARGE) && err->field != NULL &&
	    strcmp(err->field, "attachment") == 0) {
		*status = err->code == CORE_TOO_LARGE ? 413 : 400;
		field = "e_sup_attachment";
		key = "err.attachment";
	} else if (err->code == CORE_INVALID) {
		*status = 400;
		if (a == TRACK_SUPPLEMENT) {
			field = "e_supplement";
			key = "err.supplement_text";
		} else if (a == TRACK_RATE && err->field != NULL &&
		           strcmp(err->field, "comment") == 0) {
			field = "e_comment";
			key = "err.rate_comment";
		} else {
			field = "e_value";
			key = "err.rate_value";
		}
	} else if (err->code == CORE_CONFLICT || err->code == CORE_FORBIDDEN) {
		*status = 409;
		if (a == TRACK_SUPPLEMENT)
			key = "track.not_waiting";
		else if (a == TRACK_RATE && cn != NULL && strcmp(cn, "rated") == 0)
			key = "track.rated_already";
		else if (a == TRACK_RATE && cn != NULL && strcmp(cn, "too_late") == 0)
			key = "track.rate_too_late";
		else if (a == TRACK_RATE)
			key = "track.rate_not_replied";
		else
			key = "track.not_open";
	}
	if (field != NULL)
		track_field_error(pg, field, page_msg(pg, key));
	else
		json_object_set_new(pg->data, "problem", json_string(page_msg(pg, key)));
}

/* The files sent with the supplement (field "attachment") into att (data lent by the request):
 * 0, or -1 when there are more than INTAKE_MAX_ATTACHMENTS. core checks the rest. */
static int
supplement_files(struct page *pg, struct db_attachment *att,
                 char ctypes[][INTAKE_CTYPE_MAX + 1], size_t *natt)
{
	size_t i;

	*natt = 0;
	for (i = 0; i < pg->req->nform; i++) {
		const struct form_field *ff = &pg->req->form[i];

		if (ff->filename == NULL || strcmp(ff->name, "attachment") != 0 ||
		    (ff->filename[0] == '\0' && ff->size == 0))
			continue;
		if (*natt == INTAKE_MAX_ATTACHMENTS)
			return -1;
		memset(&att[*natt], 0, sizeof(att[*natt]));
		att[*natt].filename = (char *)base_name(ff->filename);
		attach_name_fit(att[*natt].filename, INTAKE_FILENAME_MAX);
		clean_type(ff->content_type, ctypes[*natt], INTAKE_CTYPE_MAX + 1);
		att[*natt].content_type = ctypes[*natt];
		att[*natt].data = ff->data;
		att[*natt].size = (int64_t)ff->size;
		(*natt)++;
	}
	return 0;
}

/* Takes action a on tracking with code. 0 done, 1 refused (the message is on the page, the
 * status in *status), -1 the number or the code is wrong (CORE_NOT_FOUND). */
static int
track_act(struct page *pg, enum track_act a, const char *tracking, const char *code,
          int *status)
{
	struct req *req = pg->req;
	struct core_action_input in;
	struct core_error err;
	const char *confirm = page_field(pg, "confirm");
	struct db_attachment att[INTAKE_MAX_ATTACHMENTS];
	char ctypes[INTAKE_MAX_ATTACHMENTS][INTAKE_CTYPE_MAX + 1];
	int rc;

	memset(&err, 0, sizeof(err));
	memset(&in, 0, sizeof(in));
	if ((a == TRACK_WITHDRAW || a == TRACK_WITHDRAW_CONSENT) && confirm == NULL) {
		/* nothing is withdrawn unless the box says so: a withdrawal cannot be undone */
		track_field_error(pg, a == TRACK_WITHDRAW ? "e_withdraw" : "e_consent",
		                  page_msg(pg, "err.withdraw_confirm"));
		*status = 400;
		return 1;
	}
	switch (a) {
	case TRACK_SUPPLEMENT:
		in.text = page_field(pg, "text");
		if (supplement_files(pg, att, ctypes, &in.natt) != 0) {
			track_field_error(pg, "e_sup_attachment", page_msg(pg, "err.attachment"));
			*status = 400;
			return 1;
		}
		in.att = att;
		rc = core_citizen_act(req->app, req->db, tracking, code, req->addr,
		                      WF_CITIZEN_ANSWER, &in, req->now, &err);
		break;
	case TRACK_WITHDRAW:
	case TRACK_WITHDRAW_CONSENT:
		rc = core_citizen_withdraw(req->app, req->db, tracking, code, req->addr,
		                           a == TRACK_WITHDRAW, req->now, &err);
		break;
	default:
		rc = core_rate(req->app, req->db, tracking, code, page_field(pg, "value"),
		               page_field(pg, "comment"), req->addr, req->now, &err);
		break;
	}
	if (rc == 0) {
		json_object_set_new(pg->data, "flash",
		                    json_string(page_msg(pg, track_acts[a].done_key)));
		*status = 200;
		return 0;
	}
	if (err.code == CORE_NOT_FOUND)
		return -1;
	track_refusal(pg, a, &err, status);
	return 1;
}

/* The language links of a status page answered to a POST (a refused action): the status in
 * that language, the number in the address (the code never: it waits in the look-up cookie). */
static void
track_lang_links(struct page *pg, const char *tracking)
{
	json_t *langs = json_object_get(pg->data, "langs"), *l;
	char href[128];
	size_t i, n;

	json_array_foreach(langs, i, l) {
		n = (size_t)snprintf(href, sizeof(href), "/track?lang=%s&tracking=",
		                     json_string_value(json_object_get(l, "tag")));
		if (n >= sizeof(href))
			continue;
		page_url_put(href, sizeof(href), &n, tracking);
		json_object_set_new(l, "href", json_string(href));
	}
}

/* Sets the look-up cookie to number.code for TRACK_COOKIE_AGE more seconds, or, when number is
 * NULL, removes it. */
static void
track_cookie(struct page *pg, const char *number, const char *code)
{
	if (number == NULL)
		resp_header(pg->resp, "Set-Cookie", "%s=; Path=/track; Max-Age=0; HttpOnly; "
		            "SameSite=Strict%s", TRACK_COOKIE,
		            pg->req->app->cfg.cookie_secure ? "; Secure" : "");
	else
		resp_header(pg->resp, "Set-Cookie", "%s=%s.%s; Path=/track; Max-Age=%d; HttpOnly; "
		            "SameSite=Strict%s", TRACK_COOKIE, number, code, TRACK_COOKIE_AGE,
		            pg->req->app->cfg.cookie_secure ? "; Secure" : "");
}

/* The status page of tracking for the right code (with the forms of what the citizen may do),
 * or the look-up form with the not-found message (status 404, or 403 for an expired form) for
 * a wrong code or an unknown number, the same for both and counted alike. posted: a POST's
 * page, which reads in a snapshot of its own (a GET's handler runs in one) and gets the
 * language links of track_lang_links. Frees the page. */
static void
track_status(struct page *pg, const char *tracking, const char *code, int status, int csrf,
             int posted)
{
	static const unsigned char nohash[QUERY_HASH_LEN];
	struct req *req = pg->req;
	struct db_item item;
	int rc, ok;

	/* one snapshot for the item, its clocks, history and rating */
	if (posted && db_begin_read(req->db) != 0) {
		page_error(pg, 503, "err.internal");
		return;
	}
	memset(&item, 0, sizeof(item));
	rc = db_item_get(req->db, tracking, &item);
	if (rc < 0) {
		if (posted)
			db_end_read(req->db);
		page_error(pg, 500, "err.internal");
		return;
	}
	/* the same work whether the number exists or not, as the API does */
	ok = query_code_verify(code, rc == 1 ? item.query_hash : nohash) && rc == 1;
	if (!ok) {
		if (rc == 1)
			db_item_free(&item);
		if (posted)
			db_end_read(req->db);
		core_track_failed(req->app, req->addr, tracking, req->now);
		if (!posted)
			track_cookie(pg, NULL, NULL); /* the cookie's code is wrong: forgotten */
		/* nothing was done for this browser: no ?done= message beside "not found" */
		json_object_del(pg->data, "flash");
		json_object_set_new(pg->data, "notfound", json_true());
		track_form(pg, csrf ? 404 : 403, tracking); /* wrong codes count all the same */
		return;
	}
	if (!posted)
		track_cookie(pg, item.tracking, code); /* kept while the citizen uses it */
	json_object_set_new(pg->data, "f_code", json_string(code));
	json_object_set_new(pg->data, "item", citizen_view(pg, &item));
	if (posted)
		track_lang_links(pg, item.tracking);
	db_item_free(&item);
	if (posted)
		db_end_read(req->db);
	track_form(pg, status, NULL);
}

/* 1 if code (as typed: any case, spaces and dashes) is tracking's, with the number's own spelling
 * and the code's (upper case, nothing between) into the buffers; 0 for a wrong code or an
 * unknown number (counted like every wrong code); -1 on error. */
static int
track_check(struct page *pg, const char *tracking, const char *code,
            char number[TRACKING_MAX], char norm[QUERY_CODE_LEN + 1])
{
	static const unsigned char nohash[QUERY_HASH_LEN];
	struct db_item item;
	size_t n = 0;
	int rc, ok;

	memset(&item, 0, sizeof(item));
	rc = db_item_get(pg->req->db, tracking, &item);
	if (rc < 0)
		return -1;
	ok = query_code_verify(code, rc == 1 ? item.query_hash : nohash) && rc == 1;
	if (ok) {
		snprintf(number, TRACKING_MAX, "%s", item.tracking);
		for (; *code != '\0' && n < QUERY_CODE_LEN; code++)
			if (*code != ' ' && *code != '-')
				norm[n++] = (char)(*code >= 'a' && *code <= 'z' ? *code - 'a' + 'A'
				                                                : *code);
		norm[n] = '\0';
	}
	if (rc == 1)
		db_item_free(&item);
	if (!ok)
		core_track_failed(pg->req->app, pg->req->addr, tracking, pg->req->now);
	return ok;
}

/* in (a form's field, NULL or at most TYPED_MAX - 1 bytes, else left as it is) with the
 * full-width forms of ASCII (U+FF01..U+FF5E, what a Chinese input method writes in 全角 mode:
 * ＸＪ－２０２６) and the ideographic space as their ASCII characters, into out; returns in when it
 * holds none, else out. */
static const char *
halfwidth(const char *in, char out[TYPED_MAX])
{
	const unsigned char *p = (const unsigned char *)in;
	size_t n = 0;

	if (in == NULL || strlen(in) >= TYPED_MAX ||
	    (strstr(in, "\xef\xbc") == NULL && strstr(in, "\xef\xbd") == NULL &&
	     strstr(in, "\xe3\x80\x80") == NULL))
		return in;
	while (*p != '\0') {
		if (p[0] == 0xef && p[1] == 0xbc && p[2] >= 0x81 && p[2] <= 0xbf) {
			out[n++] = (char)(p[2] - 0x81 + '!'); /* U+FF01..U+FF3F */
			p += 3;
		} else if (p[0] == 0xef && p[1] == 0xbd && p[2] >= 0x80 && p[2] <= 0x9e) {
			out[n++] = (char)(p[2] - 0x80 + '`'); /* U+FF40..U+FF5E */
			p += 3;
		} else if (p[0] == 0xe3 && p[1] == 0x80 && p[2] == 0x80) {
			out[n++] = ' ';
			p += 3;
		} else {
			out[n++] = (char)*p++;
		}
	}
	out[n] = '\0';
	return out;
}

/* The tracking number as the citizen typed or pasted it (at most 40 bytes), in out as issued:
 * without the blanks around it, in upper case (a phone keyboard's capital or none; the query
 * code is taken in any case too). Returns out. */
static const char *
track_number_typed(const char *typed, char out[TRACKING_MAX])
{
	size_t n, i;

	while (*typed == ' ' || *typed == '\t')
		typed++;
	n = strlen(typed);
	while (n > 0 && (typed[n - 1] == ' ' || typed[n - 1] == '\t' || typed[n - 1] == '\r' ||
	                 typed[n - 1] == '\n'))
		n--;
	if (n >= TRACKING_MAX)
		n = TRACKING_MAX - 1;
	for (i = 0; i < n; i++)
		out[i] = typed[i] >= 'a' && typed[i] <= 'z' ? (char)(typed[i] - 'a' + 'A') : typed[i];
	out[n] = '\0';
	return out;
}

/* Post, redirect, get: the look-up's number and code wait in a cookie of this browser (for
 * /track only, HttpOnly, SameSite=Strict, TRACK_COOKIE_AGE), and the page goes on (303) to
 * /track?tracking=NUMBER[&done=ACTION], so that the address, the history, a Referer and an access
 * log never hold the code, and a reload or the back button asks nothing again. The 303's own
 * body is the status page the GET shows, for a client that does not follow it (as /submit's is
 * the receipt). Frees the page. */
static void
track_redirect(struct page *pg, const char *number, const char *code, const char *done)
{
	char location[TRACKING_MAX * 3 + 64];
	size_t n;

	track_cookie(pg, number, code);
	n = (size_t)snprintf(location, sizeof(location), "/track?tracking=");
	page_url_put(location, sizeof(location), &n, number);
	if (done != NULL)
		snprintf(location + n, sizeof(location) - n, "&done=%s", done);
	page_location(pg, location);
	track_status(pg, number, code, 303, 1, 1);
}

/* GET /track[?tracking=NUMBER[&done=ACTION]]: the look-up form (the number filled in), or, when
 * this browser's look-up cookie holds that number with its code, the item's status (with the
 * message of the action named by done). The cookie's code is checked and, when wrong, counted
 * like any wrong code: it is the client's to write. */
void
pg_track_get(struct req *req, struct resp *resp)
{
	struct page pg;
	const char *t = req_query(req, "tracking"), *done = req_query(req, "done");
	const char *c = req_cookie(req, TRACK_COOKIE), *dot;
	char code[QUERY_CODE_LEN + 1];
	int64_t retry;
	int i;

	if (page_begin(&pg, req, resp, "track.title", "track") != 0)
		return;
	if (t == NULL || strlen(t) > 40 || c == NULL || (dot = strchr(c, '.')) == NULL ||
	    (size_t)(dot - c) != strlen(t) || strncmp(c, t, strlen(t)) != 0 ||
	    strlen(dot + 1) != QUERY_CODE_LEN) {
		track_form(&pg, 200, t != NULL && strlen(t) <= 40 ? t : NULL);
		return;
	}
	snprintf(code, sizeof(code), "%s", dot + 1);
	if (core_track_refused(req->app, req->addr, t, req->now, &retry)) {
		json_object_set_new(pg.data, "limited", json_true());
		resp_header(resp, "Retry-After", "%lld", (long long)retry);
		track_form(&pg, 429, NULL);
		return;
	}
	for (i = 0; done != NULL && i < TRACK_ACT__MAX; i++)
		if (strcmp(done, track_acts[i].name) == 0)
			json_object_set_new(pg.data, "flash",
			                    json_string(page_msg(&pg, track_acts[i].done_key)));
	track_status(&pg, t, code, 200, 1, 0);
}

/* POST /track: a look-up (tracking number and query code), or one of the citizen's actions
 * (hidden field "action"). Once done, either goes on to the status page (track_redirect: 303); a
 * refused action shows the status with the form's message (400, 409, 413), an expired form the
 * status or the look-up form with what was typed (403). Wrong codes are counted per address and
 * per tracking number (core_track_failed), as the API counts them, and answered 404 with the
 * same message for an unknown number; 429 while refused. */
void
pg_track_post(struct req *req, struct resp *resp)
{
	struct page pg;
	const char *tracking, *code, *action;
	char number[TRACKING_MAX], norm[QUERY_CODE_LEN + 1], typed[TRACKING_MAX];
	char wide_number[TYPED_MAX], wide_code[TYPED_MAX];
	int64_t retry;
	int rc = 0, status = 200, a = -1, i, csrf;

	if (page_begin(&pg, req, resp, "track.title", "track") != 0)
		return;
	tracking = halfwidth(page_field(&pg, "tracking"), wide_number);
	code = halfwidth(page_field(&pg, "code"), wide_code);
	action = page_field(&pg, "action");
	/* an expired form (a new browser session, a restarted server) does nothing, says so and
	 * keeps what was typed: the look-up form, or the item with the refused form's text */
	csrf = page_csrf_ok(&pg, "track");
	if (!csrf) {
		json_object_set_new(pg.data, "problem", json_string(page_msg(&pg, "err.csrf")));
		status = 403;
		action = NULL;
	}
	if (tracking == NULL || code == NULL || strlen(tracking) > 40 || strlen(code) > 40 ||
	    (!csrf && (tracking[0] == '\0' || code[0] == '\0'))) {
		if (csrf)
			json_object_set_new(pg.data, "notfound", json_true());
		track_form(&pg, csrf ? 404 : 403,
		           tracking != NULL && strlen(tracking) <= 40 ? tracking : NULL);
		return;
	}
	tracking = track_number_typed(tracking, typed);
	if (core_track_refused(req->app, req->addr, tracking, req->now, &retry)) {
		json_object_set_new(pg.data, "limited", json_true());
		resp_header(resp, "Retry-After", "%lld", (long long)retry);
		track_form(&pg, 429, NULL);
		return;
	}
	for (i = 0; action != NULL && i < TRACK_ACT__MAX; i++)
		if (strcmp(action, track_acts[i].name) == 0)
			a = i;
	if (a >= 0) {
		rc = track_act(&pg, (enum track_act)a, tracking, code, &status);
		if (rc < 0) {
			core_track_failed(req->app, req->addr, tracking, req->now);
			json_object_set_new(pg.data, "notfound", json_true());
			track_form(&pg, 404, tracking);
			return;
		}
	}
	if (csrf && rc == 0) {
		/* a look-up, or an action done: on to the status page, its code in the cookie */
		rc = track_check(&pg, tracking, code, number, norm);
		if (rc < 0) {
			page_error(&pg, 500, "err.internal");
			return;
		}
		if (rc == 1) {
			track_redirect(&pg, number, norm, a >= 0 ? track_acts[a].name : NULL);
			return;
		}
		json_object_set_new(pg.data, "notfound", json_true());
		track_form(&pg, 404, tracking);
		return;
	}
	/* a refused action or an expired form: what was typed stays in the form, and the files
	 * sent with it are asked for again (not for an item that no longer waits: no form) */
	if ((status == 400 || status == 403) &&
	    json_object_get(pg.data, "e_sup_attachment") == NULL) {
		json_t *m = files_again_new(&pg);

		if (m != NULL) {
			track_field_error(&pg, "e_sup_attachment", json_string_value(m));
			json_object_set_new(pg.data, "sup_again", json_true());
			json_decref(m);
		}
	}
	json_object_set_new(pg.data, "f_text",
	                    json_string(page_field(&pg, "text") ? page_field(&pg, "text") : ""));
	json_object_set_new(pg.data, "f_comment",
	                    json_string(page_field(&pg, "comment") ? page_field(&pg, "comment")
	                                                           : ""));
	track_status(&pg, tracking, code, status, csrf, 1);
}

/* --- the public board -------------------------------------------------------------------- */

/* "A:B" with two decimal integers, B > 0. */
static int
cursor_read(const char *s, int64_t *a, int64_t *b)
{
	char *end;
	long long x, y;

	if (s == NULL)
		return -1;
	x = strtoll(s, &end, 10);
	if (end == s || *end != ':')
		return -1;
	s = end + 1;
	y = strtoll(s, &end, 10);
	if (end == s || *end != '\0' || y <= 0 || x < 0)
		return -1;
	*a = x;
	*b = y;
	return 0;
}

/* The board's address with q, kind and month, percent-encoded, and the cursor when not NULL
 * with the number of the page it leads to (for the page's title). */
static void
board_href(char *buf, size_t size, const char *q, const char *kind, const char *month,
           const char *cursor, long page)
{
	size_t n;

	n = (size_t)snprintf(buf, size, "/board?q=");
	page_url_put(buf, size, &n, q);
	n += (size_t)snprintf(buf + n, size - n, "&kind=%s&month=%s", kind ? kind : "",
	                      month ? month : "");
	if (cursor != NULL && n < size)
		n += (size_t)snprintf(buf + n, size - n, "&cursor=%s", cursor);
	if (cursor != NULL && page > 1 && n < size)
		snprintf(buf + n, size - n, "&page=%ld", page);
}

#define BOARD_PAGES_MAX 100000 /* a page number beyond it is not believed */

/* The catalogue's message key with "{name}" replaced by value, into buf. */
static void
msg_fill(struct page *pg, const char *key, const char *name, const char *value, char *buf,
         size_t size)
{
	const char *m = page_msg(pg, key), *at = strstr(m, name);

	if (at == NULL)
		snprintf(buf, size, "%s", m);
	else
		snprintf(buf, size, "%.*s%s%s", (int)(at - m), m, value, at + strlen(name));
}

/* The board's title: what the page shows when it is not the whole first page (the search, the
 * kind, the month, the page's number), then the board's name — what a screen reader says first
 * and what the browser's history and tabs list. */
static void
board_title(struct page *pg, const char *q, const char *kind, const char *month, long page)
{
	char title[1400], part[700], num[24];
	size_t n = 0;

	title[0] = '\0';
	if (q != NULL) {
		msg_fill(pg, "board.title_search", "{q}", q, part, sizeof(part));
		n += (size_t)snprintf(title + n, sizeof(title) - n, "%s · ", part);
	}
	if (kind != NULL && n < sizeof(title))
		n += (size_t)snprintf(title + n, sizeof(title) - n, "%s · ",
		                      page_msg2(pg, "kind.", kind));
	if (month != NULL && n < sizeof(title)) {
		msg_fill(pg, "board.month_shown", "{month}", month, part, sizeof(part));
		n += (size_t)snprintf(title + n, sizeof(title) - n, "%s · ", part);
	}
	if (page > 1 && n < sizeof(title)) {
		snprintf(num, sizeof(num), "%ld", page);
		msg_fill(pg, "board.title_page", "{n}", num, part, sizeof(part));
		n += (size_t)snprintf(title + n, sizeof(title) - n, "%s · ", part);
	}
	if (n < sizeof(title))
		snprintf(title + n, sizeof(title) - n, "%s", page_msg(pg, "board.title"));
	json_object_set_new(pg->data, "title", json_string(title));
}

/* The instant local day d starts. */
static int64_t
day_start(sla_day d)
{
	return sla_day_end(d - 1, 1440) + 1;
}

/* "YYYY-MM" into the first day of that month and of the next; 0 or -1. */
static int
month_read(const char *s, sla_day *first, sla_day *next)
{
	int y, m;
	char tail;

	if (s == NULL || strlen(s) != 7 || sscanf(s, "%4d-%2d%c", &y, &m, &tail) != 2 ||
	    s[4] != '-' || y < 1970 || y > 9998 || m < 1 || m > 12)
		return -1;
	*first = sla_ymd(y, m, 1);
	*next = m == 12 ? sla_ymd(y + 1, 1, 1) : sla_ymd(y, m + 1, 1);
	return 0;
}

/* The archive: the last DB_PUBLIC_MONTHS months, newest first, each with its count, a link
 * when it has something, and current set for the month shown. */
static json_t *
board_months(struct page *pg, const char *q, const char *kind, const char *month)
{
	int64_t bounds[DB_PUBLIC_MONTHS + 1], counts[DB_PUBLIC_MONTHS];
	char today[11], label[16], href[700];
	json_t *a = json_array();
	int y, m, i;

	page_date(pg->req->now, today);
	if (sscanf(today, "%d-%d", &y, &m) != 2)
		return a;
	for (i = 0; i <= DB_PUBLIC_MONTHS; i++) {
		int t = y * 12 + (m - 1) - (DB_PUBLIC_MONTHS - 1) + i;

		bounds[i] = day_start(sla_ymd(t / 12, t % 12 + 1, 1));
	}
	if (db_public_months(pg->req->db, bounds, kind != NULL,
	                     kind != NULL ? (enum kind)kind_parse(kind) : KIND_LETTER, counts) != 0)
		return a;
	for (i = DB_PUBLIC_MONTHS - 1; i >= 0; i--) {
		int t = y * 12 + (m - 1) - (DB_PUBLIC_MONTHS - 1) + i;

		snprintf(label, sizeof(label), "%04d-%02d", t / 12, t % 12 + 1);
		board_href(href, sizeof(href), q, kind, label, NULL, 0);
		json_array_append_new(a, json_pack("{s:s, s:s, s:I, s:b, s:b}", "label", label,
		                                   "href", href, "count", (json_int_t)counts[i],
		                                   "has", counts[i] > 0, "current",
		                                   month != NULL && strcmp(month, label) == 0));
	}
	return a;
}

/* GET /board?q=&kind=&month=YYYY-MM&cursor=: the published items, newest reply first, searched,
 * by kind and by month (the archive lists the last twelve months with their counts), paged. */
void
pg_board(struct req *req, struct resp *resp)
{
	struct page pg;
	const char *q = req_query(req, "q"), *kind = req_query(req, "kind");
	const char *cursor = req_query(req, "cursor"), *month = req_query(req, "month");
	const char *pageq = req_query(req, "page");
	struct db_public_row *rows = NULL;
	struct db_public_filter f;
	sla_day first, next;
	size_t n = 0, i;
	json_t *items;
	char href[700];
	int64_t retry;
	long pageno = 1;

	if (page_begin(&pg, req, resp, "board.title", "board") != 0)
		return;
	/* the board's reads count with the API's and Open311's (public_rate), so that the page is
	 * no way around their limit */
	if (ratelimit_hit(req->app->public_limit, req->addr, req->now, &retry)) {
		resp_header(resp, "Retry-After", "%lld", (long long)retry);
		page_error(&pg, 429, "err.too_many_reads");
		return;
	}
	memset(&f, 0, sizeof(f));
	if (q != NULL && (q[0] == '\0' || strlen(q) > 300 || text_check(q, strlen(q), 0) < 0))
		q = NULL;
	if (kind != NULL && kind_parse(kind) < 0)
		kind = NULL;
	if (month != NULL && month_read(month, &first, &next) == 0) {
		f.from = day_start(first);
		f.to = day_start(next);
		json_object_set_new(pg.data, "month", json_string(month));
	} else {
		month = NULL;
	}
	if (cursor != NULL && cursor_read(cursor, &f.before_replied, &f.before_id) != 0)
		cursor = NULL;
	/* the page's number, carried by the next-page links (only for the title: the cursor says
	 * where the page starts); 0 when a cursor came without a believable one */
	if (cursor != NULL) {
		char *end;

		errno = 0;
		pageno = pageq != NULL ? strtol(pageq, &end, 10) : 0;
		if (pageq == NULL || errno != 0 || end == pageq || *end != '\0' || pageno < 2 ||
		    pageno > BOARD_PAGES_MAX)
			pageno = 0;
	}
	f.text = q;
	f.by_kind = kind != NULL;
	f.kind = kind != NULL ? (enum kind)kind_parse(kind) : KIND_LETTER;
	f.limit = PAGE_SIZE;
	if (db_public_find(req->db, &f, &rows, &n) != 0) {
		page_error(&pg, 500, "err.internal");
		return;
	}
	items = json_array();
	for (i = 0; i < n; i++) {
		char date[11];

		page_date(rows[i].replied_at ? rows[i].replied_at : rows[i].received, date);
		json_array_append_new(
		    items, json_pack("{s:s, s:s, s:s?, s:s?, s:s?, s:s, s:s?, s:s?, s:s?}", "tracking",
		                     rows[i].tracking, "kind_label",
		                     page_msg2(&pg, "kind.", kind_name(rows[i].kind)), "subject",
		                     rows[i].subject, "body", rows[i].body, "reply", rows[i].reply,
		                     "date", date, "subject_lang", page_text_lang(&pg, rows[i].subject),
		                     "body_lang", page_text_lang(&pg, rows[i].body), "reply_lang",
		                     page_text_lang(&pg, rows[i].reply)));
	}
	json_object_set_new(pg.data, "items", items);
	json_object_set_new(pg.data, "q", json_string(q ? q : ""));
	json_object_set_new(pg.data, "kinds", kind_choices(&pg, kind));
	json_object_set_new(pg.data, "months", board_months(&pg, q, kind, month));
	board_href(href, sizeof(href), q, kind, NULL, NULL, 0);
	json_object_set_new(pg.data, "all_months_href", json_string(href));
	if (n == PAGE_SIZE) {
		char next_cursor[48];

		snprintf(next_cursor, sizeof(next_cursor), "%lld:%lld",
		         (long long)rows[n - 1].replied_at, (long long)rows[n - 1].id);
		board_href(href, sizeof(href), q, kind, month, next_cursor,
		           pageno > 0 ? pageno + 1 : 0);
		json_object_set_new(pg.data, "next_href", json_string(href));
	}
	if (cursor != NULL) {
		board_href(href, sizeof(href), q, kind, month, NULL, 0);
		json_object_set_new(pg.data, "first_href", json_string(href));
	}
	board_title(&pg, q, kind, month, pageno);
	/* no empty navigation landmark when there is a single page */
	json_object_set_new(pg.data, "has_pager", json_boolean(n == PAGE_SIZE || cursor != NULL));
	db_public_rows_free(rows, n);
	page_end(&pg, 200, "board");
}

/* --- static files -------------------------------------------------------------------------- */

/* 1 if the Accept-Encoding value v accepts gzip: a "gzip" (or "x-gzip") entry with a q above 0,
 * else a "*" entry with a q above 0. */
static int
accepts_gzip(const char *v)
{
	int gzip = -1, star = -1;

	while (v != NULL && *v != '\0') {
		const char *t;
		size_t n;
		double q;

		v = page_list_entry(v, &t, &n, &q);
		if ((n == 4 && strncasecmp(t, "gzip", 4) == 0) ||
		    (n == 6 && strncasecmp(t, "x-gzip", 6) == 0))
			gzip = q > 0;
		else if (n == 1 && t[0] == '*')
			star = q > 0;
	}
	return gzip >= 0 ? gzip : star > 0;
}

/* 1 if the If-None-Match value v names etag ("*", or one of its entity tags; W/ ignored, as
 * the weak comparison of If-None-Match wants). */
static int
none_match(const char *v, const char *etag)
{
	size_t elen = strlen(etag);

	while (v != NULL && *v != '\0') {
		const char *end = v + strcspn(v, ",");

		while (v < end && (*v == ' ' || *v == '\t'))
			v++;
		if (end - v >= 2 && v[0] == 'W' && v[1] == '/')
			v += 2;
		if ((end - v >= 1 && v[0] == '*') ||
		    ((size_t)(end - v) >= elen && strncmp(v, etag, elen) == 0 &&
		     strspn(v + elen, " \t") == (size_t)(end - v) - elen))
			return 1;
		v = *end == ',' ? end + 1 : end;
	}
	return 0;
}

/* GET /static/{name}: the file with its Content-Type and ETag, gzip-compressed when the file
 * has a compressed form and Accept-Encoding takes gzip (each form its own ETag; Vary:
 * Accept-Encoding), 304 when If-None-Match names the ETag of the form chosen, 404 for anything
 * else (no name leaves web/static: the files are looked up in a table). */
void
pg_static(struct req *req, struct resp *resp)
{
	struct web_file f;
	const char *inm = req_header(req, "If-None-Match");
	int gz;

	if (web_static(req->app->pages->web, req->params[0], &f) != 1) {
		resp_text(resp, 404, "text/plain; charset=utf-8", "not found\n", 10);
		return;
	}
	gz = f.gz_data != NULL && accepts_gzip(req_header(req, "Accept-Encoding"));
	if (f.gz_data != NULL)
		resp_header(resp, "Vary", "Accept-Encoding");
	resp_header(resp, "ETag", "%s", gz ? f.gz_etag : f.etag);
	resp_header(resp, "Cache-Control", "public, max-age=3600");
	if (inm != NULL && none_match(inm, gz ? f.gz_etag : f.etag)) {
		resp_text(resp, 304, NULL, "", 0);
		return;
	}
	if (gz) {
		resp_header(resp, "Content-Encoding", "gzip");
		resp_text(resp, 200, f.content_type, f.gz_data, f.gz_len);
		return;
	}
	resp_text(resp, 200, f.content_type, f.data, f.len);
}
