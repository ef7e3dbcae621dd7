/*
 * public.c: the public version of an item (办理公示): its masked texts, staff edits of them, and
 * publication on the board and in Open311, each change in one transaction with its history and
 * audit rows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core_int.h"

/* Fills the public version (masked) of a replied item whose submitter allows publication:
 * fields staff already wrote are kept. 0 or -1. */
int
item_make_public(struct db_item *item)
{
	char *s;

	if (!item->publish)
		return 0;
	if (item->public_subject == NULL) {
		s = redact_text(item->subject, item->name);
		if (s == NULL)
			return -1;
		item->public_subject = s;
	}
	if (item->public_body == NULL) {
		s = redact_text(item->body, item->name);
		if (s == NULL)
			return -1;
		item->public_body = s;
	}
	if (item->public_reply == NULL && item->reply != NULL) {
		s = redact_text(item->reply, item->name);
		if (s == NULL)
			return -1;
		item->public_reply = s;
	}
	item->published = 1;
	return 0;
}

/* Applies one edit to *field after checking its text. 1 changed, 0 not, -1 with err. */
static int
edit(const struct core_public_text *e, const char *name, long max, unsigned flags, char **field,
     struct core_error *err)
{
	long n;

	if (!e->set)
		return 0;
	if (e->text != NULL) {
		n = text_check(e->text, strlen(e->text), flags);
		if (n < 0 || n > max)
			return core_fail(err, CORE_INVALID, name,
			                 "%s must be text of at most %ld characters", name, max);
	}
	if (core_set_str(field, e->text) != 0)
		return core_fail(err, CORE_ERROR, NULL, "out of memory");
	return 1;
}

int
core_public_edit(struct app *app, struct db_conn *c, const struct session *s, const char *addr,
                 const char *tracking, const struct core_public_text *subject,
                 const struct core_public_text *body, const struct core_public_text *reply,
                 int publish, int64_t now, struct core_error *err)
{
	struct actor who = {s->account_id, s->username, addr};
	struct core_txn txn;
	struct db_history h;
	int changed = 0, rc, ret = -1;

	if (txn_begin(&txn, app, c, tracking, err) != 0)
		goto out;
	if (s->role == ROLE_SECTION_HEAD && txn.item.section_id != s->section_id) {
		core_fail(err, CORE_FORBIDDEN, NULL, "item %s belongs to another section",
		          txn.item.tracking);
		goto out;
	}
	rc = edit(subject, "subject", PUBLIC_SUBJECT_MAX, 0, &txn.item.public_subject, err);
	if (rc < 0)
		goto out;
	changed |= rc;
	rc = edit(body, "body", PUBLIC_TEXT_MAX, TEXT_MULTILINE, &txn.item.public_body, err);
	if (rc < 0)
		goto out;
	changed |= rc;
	rc = edit(reply, "reply", PUBLIC_TEXT_MAX, TEXT_MULTILINE, &txn.item.public_reply, err);
	if (rc < 0)
		goto out;
	changed |= rc;
	if (publish == 1) {
		if (!txn.item.publish) {
			core_fail(err, CORE_CONFLICT, NULL,
			          "the submitter did not allow publication of %s", txn.item.tracking);
			err->code_name = "no_consent";
			goto out;
		}
		if (strcmp(txn.item.state, "replied") != 0 &&
		    strcmp(txn.item.state, "closed") != 0) {
			core_fail(err, CORE_CONFLICT, NULL,
			          "only replied items are published; %s is %s", txn.item.tracking,
			          txn.item.state);
			err->code_name = "not_replied";
			goto out;
		}
	}
	if (publish == 0)
		txn.item.published = 0;
	else if ((publish == 1 || txn.item.published) && item_make_public(&txn.item) != 0) {
		core_fail(err, CORE_ERROR, NULL, "out of memory");
		goto out;
	}
	txn.item.updated = now;
	memset(&h, 0, sizeof(h));
	h.at = now;
	h.actor_id = s->account_id;
	h.actor = s->username;
	h.action = (char *)(publish == 1 ? "publish" : publish == 0 ? "unpublish" : "edit_public");
	h.from_state = txn.item.state;
	h.to_state = txn.item.state;
	h.note = (char *)(changed ? "public version edited" : NULL);
	if (txn_commit(&txn, &who, &h, changed ? "edited" : "unchanged", NULL, err) != 0)
		goto out;
	ret = 0;
out:
	txn_end(&txn);
	return ret;
}
