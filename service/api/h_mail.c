/* h_mail.c: the messages that came in by e-mail, as administrators see them — what each became
 * (an item, a reply added to one, a duplicate, or nothing and why), never what it says. */
#include <stdlib.h>
#include <string.h>

#include "api_int.h"

#define MAIL_PAGE 100 /* rows of one page, at most */

static const char *const outcomes[] = {"created", "added", "duplicate", "ignored"};

static json_t *
mail_json(const struct db_mail_row *m)
{
	json_t *o = json_object();

	if (o == NULL)
		return NULL;
	json_object_set_new(o, "id", json_integer(m->id));
	json_object_set_new(o, "received", json_time(m->received));
	json_object_set_new(o, "source", json_string(m->source));
	json_object_set_new(o, "outcome", json_string(m->outcome));
	json_object_set_new(o, "reason", json_str_or_null(m->reason));
	json_object_set_new(o, "tracking", json_str_or_null(m->tracking));
	json_object_set_new(o, "sender", json_str_or_null(m->sender));
	json_object_set_new(o, "message_id", json_str_or_null(m->message_id));
	json_object_set_new(o, "size", json_integer(m->size));
	json_object_set_new(o, "mailbox", json_str_or_null(m->mailbox));
	json_object_set_new(o, "uid", m->uid != 0 ? json_integer(m->uid) : json_null());
	return o;
}

/* The polled mailboxes, how their last poll went; NULL when out of memory. */
static json_t *
mailboxes_json(const struct db_mailbox_status *v, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a != NULL && i < n; i++)
		if (json_array_append_new(
		        a, json_pack("{s:s, s:o, s:o, s:o, s:I, s:o}", "mailbox", v[i].mailbox,
		                     "last_poll", json_time(v[i].last_poll), "last_ok",
		                     v[i].last_ok != 0 ? json_time(v[i].last_ok) : json_null(),
		                     "failing_since",
		                     v[i].failing_since != 0 ? json_time(v[i].failing_since)
		                                             : json_null(),
		                     "failures", (json_int_t)v[i].failures, "error",
		                     json_str_or_null(v[i].error))) != 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

static int
outcome_known(const char *s)
{
	size_t i;

	for (i = 0; i < sizeof(outcomes) / sizeof(outcomes[0]); i++)
		if (strcmp(s, outcomes[i]) == 0)
			return 1;
	return 0;
}

/* GET /api/v1/admin/mail?outcome=created|added|duplicate|ignored|all&before=ID&limit=N: 200
 * {"mail":[{"id","received","source","outcome","reason","tracking","sender","message_id","size",
 * "mailbox","uid"}…],"counts":{"created":N,…},"next_before":ID|null,"mailboxes":[{"mailbox",
 * "last_poll","last_ok","failing_since","failures","error"}…]}, newest first; 400 naming a
 * bad parameter. "mailboxes" says how the IMAP poller's last poll of each mailbox went. A message core refused (too large, a virus, nothing to store) is "ignored" with
 * its reason "refused: …". */
void
h_admin_mail_list(struct req *req, struct resp *resp)
{
	const char *outcome = req_query(req, "outcome");
	struct db_mail_row *v = NULL;
	struct db_mail_counts k;
	struct db_mailbox_status *boxes = NULL;
	size_t n = 0, nboxes = 0, i;
	int64_t before;
	json_t *rows = NULL, *counts = NULL, *mailboxes = NULL;
	int limit;

	if (outcome != NULL && strcmp(outcome, "all") == 0)
		outcome = NULL;
	if (outcome != NULL && !outcome_known(outcome)) {
		resp_error_field(resp, 400, "outcome",
		                 "outcome is created, added, duplicate, ignored or all");
		return;
	}
	if (before_param(req, resp, &before) != 0 ||
	    limit_param(req, resp, MAIL_PAGE, MAIL_PAGE, &limit) != 0)
		return;
	/* a GET runs in one read snapshot (http/): the rows and the counts agree */
	rows = json_array();
	if (rows == NULL || db_mail_list(req->db, outcome, before, limit, &v, &n) != 0 ||
	    db_mail_counts(req->db, &k) != 0 || db_mailbox_status_list(req->db, &boxes, &nboxes) != 0)
		goto fail;
	for (i = 0; i < n; i++)
		if (json_array_append_new(rows, mail_json(&v[i])) != 0)
			goto fail;
	counts = json_pack("{s:I, s:I, s:I, s:I}", "created", (json_int_t)k.created, "added",
	                   (json_int_t)k.added, "duplicate", (json_int_t)k.duplicate, "ignored",
	                   (json_int_t)k.ignored);
	mailboxes = mailboxes_json(boxes, nboxes);
	if (counts == NULL || mailboxes == NULL) {
		json_decref(counts);
		json_decref(mailboxes);
		goto fail;
	}
	resp_json(resp, 200,
	          json_pack("{s:o, s:o, s:o, s:o}", "mail", rows, "counts", counts, "next_before",
	                    (int)n == limit && n > 0 ? json_integer(v[n - 1].id) : json_null(),
	                    "mailboxes", mailboxes));
	rows = NULL;
	goto out;
fail:
	resp_error(resp, 500, "internal", "the received mail cannot be read");
out:
	json_decref(rows);
	db_mail_rows_free(v, n);
	db_mailbox_status_free(boxes, nboxes);
}
