/*
 * public.c: the public version of an item (办理公示): its masked texts, staff edits of them, and
 * publication on the board and in Open311, each change in one transaction with its history and
 * audit rows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core_int.h"

char *
item_public_subject(const char *subject, const struct redact_opts *opts)
{
	char *s = redact_text_opts(subject, opts, NULL), *cut;
	const char *p;
	long n = 0;
	size_t keep;

	if (s == NULL || text_check(s, strlen(s), 0) <= PUBLIC_SUBJECT_MAX)
		return s;
	/* PUBLIC_SUBJECT_MAX - 1 code points kept: p stops at the first byte of the next one */
	for (p = s; *p != '\0'; p++)
		if (((unsigned char)*p & 0xC0) != 0x80 && n++ == PUBLIC_SUBJECT_MAX - 1)
			break;
	keep = (size_t)(p - s);
	cut = malloc(keep + sizeof("…"));
	if (cut != NULL) {
		memcpy(cut, s, keep);
		memcpy(cut + keep, "…", sizeof("…"));
	}
	free(s);
	return cut;
}

/* Fills the masked public version of an item whose submitter allows publication: fields staff
 * already wrote are kept. It is not published: a section head publishes it after reading it.
 * keep: the bureau's contacts that are never masked (NULL: none). 0 or -1. */
int
item_make_public(struct db_item *item, const char *keep)
{
	struct redact_opts opts = {item->name, keep};
	char *s;

	if (!item->publish)
		return 0;
	if (item->public_subject == NULL) {
		s = item_public_subject(item->subject, &opts);
		if (s == NULL)
			return -1;
		item->public_subject = s;
	}
	if (item->public_body == NULL) {
		s = redact_text_opts(item->body, &opts, NULL);
		if (s == NULL)
			return -1;
		item->public_body = s;
	}
	if (item->public_reply == NULL && item->reply != NULL) {
		s = redact_text_opts(item->reply, &opts, NULL);
		if (s == NULL)
			return -1;
		item->public_reply = s;
	}
	return 0;
}

/* Applies one edit to *field after checking its text: the detector of redact.c runs on it,
 * and text that still holds personal data is refused (400 naming what was found) unless the
 * editor confirmed it. 1 changed, 0 not, -1 with err. */
static int
edit(const struct core_public_text *e, const char *name, long max, unsigned flags,
     const struct redact_opts *opts, int confirmed, char **field, struct core_error *err)
{
	char found_text[160], *masked;
	unsigned found = 0;
	long n;

	if (!e->set)
		return 0;
	if (e->text != NULL) {
		n = text_check(e->text, strlen(e->text), flags);
		if (n < 0 || n > max)
			return core_fail(err, CORE_INVALID, name,
			                 "%s must be text of at most %ld characters", name, max);
		masked = redact_text_opts(e->text, opts, &found);
		if (masked == NULL)
			return core_fail(err, CORE_ERROR, NULL, "out of memory");
		free(masked);
		if (found != 0 && !confirmed) {
			redact_found_text(found, found_text, sizeof(found_text));
			core_fail(err, CORE_INVALID, name,
			          "the %s still holds personal data (%s); remove it, or confirm that it "
			          "may be published",
			          name, found_text);
			err->code_name = "personal_data";
			return -1;
		}
	}
	if ((*field == NULL) != (e->text == NULL) ||
	    (*field != NULL && strcmp(*field, e->text) != 0)) {
		if (core_set_str(field, e->text) != 0)
			return core_fail(err, CORE_ERROR, NULL, "out of memory");
		return 1;
	}
	return 0;
}

/* Appends "name: «old» -> «new»; " to the audit detail d (cut to a few hundred bytes each, at a
 * character boundary). */
static void
detail_add(char *d, size_t size, const char *name, const char *old, const char *new_)
{
	char a[301], b[301];
	size_t len = strlen(d);

	snprintf(a, sizeof(a), "%s", old ? old : "(none)");
	snprintf(b, sizeof(b), "%s", new_ ? new_ : "(masked text)");
	text_scrub(a);
	text_scrub(b);
	if (len < size)
		snprintf(d + len, size - len, "%s%s: \"%s\" -> \"%s\"", len ? "; " : "", name, a, b);
}

int
core_public_edit(struct app *app, struct db_conn *c, const struct session *s, const char *addr,
                 const char *tracking, const struct core_public_text *subject,
                 const struct core_public_text *body, const struct core_public_text *reply,
                 int publish, int64_t now, struct core_error *err)
{
	return core_public_edit_confirmed(app, c, s, addr, tracking, subject, body, reply, publish,
	                                  0, now, err);
}

int
core_public_edit_confirmed(struct app *app, struct db_conn *c, const struct session *s,
                           const char *addr, const char *tracking,
                           const struct core_public_text *subject,
                           const struct core_public_text *body,
                           const struct core_public_text *reply, int publish, int confirmed,
                           int64_t now, struct core_error *err)
{
	struct actor who = {s->account_id, s->username, addr};
	struct redact_opts opts;
	struct core_txn txn;
	struct db_history h;
	struct db_item before;
	char detail[2048] = "";
	int changed = 0, rc, ret = -1, was_published;

	memset(&before, 0, sizeof(before));
	if (txn_begin(&txn, app, c, tracking, err) != 0)
		goto out;
	if (s->role == ROLE_SECTION_HEAD && txn.item.section_id != s->section_id) {
		core_fail(err, CORE_FORBIDDEN, NULL, "item %s belongs to another section",
		          txn.item.tracking);
		goto out;
	}
	opts.name = txn.item.name;
	opts.keep = app->cfg.public_contacts;
	before.id = txn.item.id;
	before.published = txn.item.published;
	if (core_set_str(&before.public_subject, txn.item.public_subject) != 0 ||
	    core_set_str(&before.public_body, txn.item.public_body) != 0 ||
	    core_set_str(&before.public_reply, txn.item.public_reply) != 0) {
		core_fail(err, CORE_ERROR, NULL, "out of memory");
		goto out;
	}
	was_published = txn.item.published;
	rc = edit(subject, "subject", PUBLIC_SUBJECT_MAX, 0, &opts, confirmed,
	          &txn.item.public_subject, err);
	if (rc < 0)
		goto out;
	if (rc > 0)
		detail_add(detail, sizeof(detail), "subject", before.public_subject, subject->text);
	changed |= rc;
	rc = edit(body, "body", PUBLIC_TEXT_MAX, TEXT_MULTILINE, &opts, confirmed,
	          &txn.item.public_body, err);
	if (rc < 0)
		goto out;
	if (rc > 0)
		detail_add(detail, sizeof(detail), "body", before.public_body, body->text);
	changed |= rc;
	rc = edit(reply, "reply", PUBLIC_TEXT_MAX, TEXT_MULTILINE, &opts, confirmed,
	          &txn.item.public_reply, err);
	if (rc < 0)
		goto out;
	if (rc > 0)
		detail_add(detail, sizeof(detail), "reply", before.public_reply, reply->text);
	changed |= rc;
	if (publish == 1) {
		if (!txn.item.publish) {
			core_fail(err, CORE_CONFLICT, NULL,
			          "the submitter did not allow publication of %s", txn.item.tracking);
			err->code_name = "no_consent";
			goto out;
		}
		if (txn.item.state != WF_REPLIED && txn.item.state != WF_CLOSED) {
			core_fail(err, CORE_CONFLICT, NULL,
			          "only replied items are published; %s is %s", txn.item.tracking,
			          wf_state_name(txn.item.state));
			err->code_name = "not_replied";
			goto out;
		}
	}
	if (publish == 0 && !txn.item.published) {
		core_fail(err, CORE_CONFLICT, NULL, "%s is not published; there is nothing to withdraw",
		          txn.item.tracking);
		err->code_name = "not_published";
		goto out;
	}
	if (publish == 0)
		txn.item.published = 0;
	else if (publish == 1 || txn.item.published) {
		if (item_make_public(&txn.item, app->cfg.public_contacts) != 0) {
			core_fail(err, CORE_ERROR, NULL, "out of memory");
			goto out;
		}
		txn.item.published = 1;
	}
	/* published information is kept: the texts an edit replaces become an earlier version */
	if (changed && db_public_version_add(c, &before, now, s->account_id) != 0) {
		core_fail(err, CORE_ERROR, NULL, "the earlier public version cannot be kept");
		goto out;
	}
	txn.item.updated = now;
	txn_history_same_state(&h, &txn, s,
	                       publish == 1   ? "publish"
	                       : publish == 0 ? "unpublish"
	                                      : "edit_public",
	                       changed ? "public version edited" : NULL, now);
	if (!changed)
		snprintf(detail, sizeof(detail), "%s",
		         was_published == txn.item.published ? "unchanged" : "texts unchanged");
	if (changed && confirmed) {
		size_t len = strlen(detail);

		snprintf(detail + len, sizeof(detail) - len, " (personal data confirmed)");
	}
	if (txn_commit(&txn, &who, &h, detail, NULL, err) != 0)
		goto out;
	ret = 0;
out:
	db_item_free(&before);
	txn_end(&txn);
	return ret;
}
