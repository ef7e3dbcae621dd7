/*
 * ingest.c: one message stored through core/: automatic mail recorded and ignored; a letter
 * already stored (same Message-ID: piped and polled, or an MTA's retry) answered with its item;
 * a citizen's reply (In-Reply-To / References naming our mail or theirs, or the tracking number
 * in the subject) added to their item; anything else a new item of channel email. The raw
 * message, its Message-ID and IMAP position are written in the transaction that stores the item.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "service/core/core.h"
#include "mailin.h"

int
mailin_config(struct app *app, struct mail_config *out, char *err, size_t errsize)
{
	struct mail_config cfg;

	mail_config_default(&cfg);
	cfg.limits.max_attachments = INTAKE_MAX_ATTACHMENTS;
	cfg.limits.attachment_max = app->cfg.attachment_max;
	cfg.limits.types = app->cfg.attachment_types;
	cfg.limits.item_max = app->cfg.attachment_item_max;
	cfg.limits.subject_max = INTAKE_SUBJECT_MAX;
	cfg.limits.body_max = INTAKE_BODY_MAX;
	cfg.limits.filename_max = INTAKE_FILENAME_MAX;
	if (app->cfg.mail_kinds != NULL &&
	    mail_kinds_parse(&cfg, app->cfg.mail_kinds, err, errsize) != 0)
		return -1;
	*out = cfg;
	return 0;
}

/* What the storing transaction writes beside the item. */
struct raw_ctx {
	const struct mail_msg *m;
	const char *raw;
	size_t len;
	const struct mailin_source *src;
	int64_t now;
	const char *outcome;
	int conflict; /* 1: the Message-ID or UID was stored meanwhile */
};

static void
mail_row(const struct raw_ctx *x, int64_t item_id, struct db_mail_in *r)
{
	memset(r, 0, sizeof(*r));
	r->item_id = item_id;
	r->outcome = x->outcome;
	r->message_id = x->m != NULL ? x->m->message_id : NULL;
	r->sender = x->m != NULL ? x->m->from_addr : NULL;
	r->size = x->len;
	r->received = x->now;
	r->source = x->src != NULL ? "imap" : "pipe";
	if (x->src != NULL) {
		r->mailbox = x->src->mailbox;
		r->uidvalidity = x->src->uidvalidity;
		r->uid = x->src->uid;
	}
}

static int
keep_raw(void *cls, struct db_conn *c, const struct db_item *item)
{
	struct raw_ctx *x = cls;
	struct db_mail_in r;
	int rc;

	mail_row(x, item->id, &r);
	r.raw = x->raw;
	rc = db_mail_in_add(c, &r);
	if (rc == 1)
		x->conflict = 1;
	return rc == 0 ? 0 : -1;
}

/* A row without the raw message (ignored, duplicate) in its own transaction; best effort for
 * mail that came by pipe, needed for polled mail (its UID). 0, 1 (stored already) or -1. */
static int
note_row(struct app *app, const struct raw_ctx *x, int64_t item_id, const char *reason)
{
	struct db_conn *c = db_acquire(app->db);
	struct db_mail_in r;
	int rc = -1;

	if (c == NULL)
		return -1;
	mail_row(x, item_id, &r);
	r.reason = reason;
	if (db_begin(c) == 0) {
		rc = db_mail_in_add(c, &r);
		if (rc >= 0 && db_commit(c) == 0)
			goto out;
		db_rollback(c);
		rc = -1;
	}
out:
	db_release(app->db, c);
	return rc;
}

/* What a bounce's transaction records: its mail_in row, the notice named in its reason. */
struct bounce_ctx {
	const struct raw_ctx *x;
	char reason[300];
	int polled;
};

static int
bounce_row(void *cls, struct db_conn *c, int64_t outbox_id)
{
	struct bounce_ctx *b = cls;
	struct db_mail_in r;

	if (outbox_id != 0)
		snprintf(b->reason, sizeof(b->reason), "%s: outbox %lld", b->x->m->ignored,
		         (long long)outbox_id);
	else
		snprintf(b->reason, sizeof(b->reason), "%s", b->x->m->ignored);
	mail_row(b->x, 0, &r);
	r.reason = b->reason;
	return db_mail_in_add(c, &r) >= 0 || !b->polled ? 0 : -1;
}

/* A bounce: the outbox row it returns is marked failed (through core), the bounce recorded and
 * ignored. MAILIN_IGNORED, or MAILIN_RETRY when it could not be recorded. */
static enum mailin_outcome
bounce(struct app *app, const struct mail_msg *m, struct raw_ctx *x, int64_t now, char *line,
       size_t linesize)
{
	struct core_bounce in;
	struct bounce_ctx b;
	struct core_error err;
	int64_t outbox = 0;

	memset(&b, 0, sizeof(b));
	b.x = x;
	b.polled = x->src != NULL;
	x->outcome = "ignored";
	if (m->bounce_delayed) { /* delivery is still being tried: nothing failed */
		if (note_row(app, x, 0, m->ignored) < 0 && x->src != NULL) {
			snprintf(line, linesize, "the database is unavailable");
			return MAILIN_RETRY;
		}
		snprintf(line, linesize, "ignored: %s: delayed, not failed", m->ignored);
		return MAILIN_IGNORED;
	}
	memset(&in, 0, sizeof(in));
	in.ids = (const char *const *)m->bounce_ids;
	in.nids = m->nbounce_ids;
	in.reason = m->bounce_reason;
	in.also = bounce_row;
	in.also_cls = &b;
	if (core_bounce(app, &in, now, &outbox, &err) != 0) {
		snprintf(line, linesize, "%s", err.message);
		return MAILIN_RETRY;
	}
	if (outbox != 0)
		snprintf(line, linesize, "ignored: %s: outbox %lld marked failed", m->ignored,
		         (long long)outbox);
	else
		snprintf(line, linesize, "ignored: %s", m->ignored);
	return MAILIN_IGNORED;
}

/* The item id of tracking (for the duplicate row), 0 when unknown. */
static int64_t
item_id(struct db_conn *c, const char *tracking)
{
	struct db_item it;
	int64_t id = 0;

	if (db_item_get(c, tracking, &it) == 1) {
		id = it.id;
		db_item_free(&it);
	}
	return id;
}

/* Our Message-IDs are civicdesk.OUTBOX-ID.RANDOM@domain (notifiers): the outbox row's id. */
static int64_t
outbox_id(const char *ref)
{
	const char *p = ref + strlen("civicdesk.");
	int64_t v = 0;

	if (strncmp(ref, "civicdesk.", 10) != 0 || *p < '0' || *p > '9')
		return 0;
	for (; *p >= '0' && *p <= '9' && v < INT64_MAX / 10 - 9; p++)
		v = v * 10 + (*p - '0');
	return *p == '.' ? v : 0;
}

/* The items the message may answer, most likely first: up to max tracking numbers (new
 * strings) into out. */
static size_t
candidates(struct db_conn *c, const struct mail_msg *m, char **out, size_t max)
{
	size_t n = 0, i, j;
	char *t;
	int64_t ob;
	int rc;

	for (i = 0; i < m->nrefs && n < max; i++) {
		t = NULL;
		ob = outbox_id(m->refs[i]);
		rc = ob > 0 ? db_mail_item_by_outbox(c, ob, &t)
		            : db_mail_item_by_message_id(c, m->refs[i], &t);
		if (rc != 1)
			continue;
		for (j = 0; j < n && strcmp(out[j], t) != 0; j++)
			;
		if (j < n)
			free(t);
		else
			out[n++] = t;
	}
	if (m->tracking[0] != '\0' && n < max) {
		for (j = 0; j < n && strcmp(out[j], m->tracking) != 0; j++)
			;
		if (j == n && (out[n] = strdup(m->tracking)) != NULL)
			n++;
	}
	return n;
}

static void
to_attachments(const struct mail_msg *m, struct db_attachment *att, size_t *natt)
{
	size_t i;

	for (i = 0; i < m->natt && i < INTAKE_MAX_ATTACHMENTS; i++) {
		memset(&att[i], 0, sizeof(att[i]));
		att[i].filename = m->att[i].filename;
		att[i].content_type = m->att[i].content_type;
		att[i].data = m->att[i].data;
		att[i].size = (int64_t)m->att[i].size;
	}
	*natt = i;
}

/* Tries to add m to one of the sender's items. 1 added (line: its tracking), 0 none of them,
 * -1 retry. */
static int
add_to_item(struct app *app, struct db_conn *c, const struct mail_msg *m, struct raw_ctx *x,
            int64_t now, char *line, size_t linesize)
{
	char *tracking[4];
	struct core_citizen_mail in;
	struct db_attachment att[INTAKE_MAX_ATTACHMENTS];
	struct core_error err;
	size_t n, i;
	int answered = 0, rc = 0;

	if (m->from_addr == NULL)
		return 0;
	n = candidates(c, m, tracking, sizeof(tracking) / sizeof(tracking[0]));
	memset(&in, 0, sizeof(in));
	in.from = m->from_addr;
	in.text = m->body;
	to_attachments(m, att, &in.natt);
	in.att = att;
	in.also = keep_raw;
	in.also_cls = x;
	x->outcome = "added";
	for (i = 0; i < n && rc == 0; i++) {
		in.tracking = tracking[i];
		if (core_citizen_mail(app, c, &in, now, &answered, &err) == 0) {
			snprintf(line, linesize, "%s", tracking[i]);
			rc = 1;
		} else if (err.code != CORE_NOT_FOUND) {
			snprintf(line, linesize, "%s", err.message);
			rc = -1;
		}
	}
	for (i = 0; i < n; i++)
		free(tracking[i]);
	return rc;
}

enum mailin_outcome
mailin_store(struct app *app, const struct mail_config *cfg, const char *raw, size_t len,
             const struct mailin_source *src, int64_t now, char *line, size_t linesize)
{
	struct mail_msg m;
	struct raw_ctx x;
	struct intake in;
	struct core_error err;
	struct db_item item;
	struct db_conn *c = NULL;
	char code[QUERY_CODE_LEN + 1], why[256], *dup = NULL;
	enum mail_err perr;
	enum mailin_outcome ret = MAILIN_RETRY;
	int rc;

	memset(&x, 0, sizeof(x));
	x.raw = raw;
	x.len = len;
	x.src = src;
	x.now = now;
	perr = mail_parse(cfg, raw, len, &m, why, sizeof(why));
	if (perr != MAIL_OK) {
		snprintf(line, linesize, "%s", why);
		if (perr != MAIL_INVALID)
			return MAILIN_RETRY;
		if (src != NULL) { /* polled: remembered, so that it is not fetched again */
			x.outcome = "ignored";
			if (note_row(app, &x, 0, why) < 0)
				return MAILIN_RETRY;
		}
		return MAILIN_INVALID;
	}
	x.m = &m;
	if (m.bounce) {
		ret = bounce(app, &m, &x, now, line, linesize);
		goto out;
	}
	if (m.ignored != NULL) {
		x.outcome = "ignored";
		if (note_row(app, &x, 0, m.ignored) < 0 && src != NULL)
			goto out; /* retry: the UID must be recorded */
		snprintf(line, linesize, "ignored: %s", m.ignored);
		ret = MAILIN_IGNORED;
		goto out;
	}
	c = db_acquire(app->db);
	if (c == NULL) {
		snprintf(line, linesize, "the database is unavailable");
		goto out;
	}
	if (m.message_id != NULL) {
		rc = db_mail_item_by_message_id(c, m.message_id, &dup);
		if (rc < 0) {
			snprintf(line, linesize, "the database is unavailable");
			goto out;
		}
		if (rc == 1) {
			x.outcome = "duplicate";
			if (src != NULL && note_row(app, &x, item_id(c, dup), NULL) < 0)
				goto out;
			snprintf(line, linesize, "%s", dup);
			ret = MAILIN_DUPLICATE;
			goto out;
		}
	}
	rc = add_to_item(app, c, &m, &x, now, line, linesize);
	if (rc != 0) {
		ret = rc > 0 ? MAILIN_ADDED : MAILIN_RETRY;
		goto out;
	}

	memset(&in, 0, sizeof(in));
	in.kind = m.kind;
	in.subject = m.subject;
	in.body = m.body;
	in.name = m.from_name;
	in.email = m.from_addr != NULL && email_valid(m.from_addr) ? m.from_addr : NULL;
	in.publish = 0; /* consent to publish is not given by mail */
	in.channel = CHANNEL_EMAIL;
	in.received = now;
	in.ack_interval = app->cfg.mail_ack_interval;
	to_attachments(&m, in.att, &in.natt);
	x.outcome = "created";
	in.also = keep_raw;
	in.also_cls = &x;
	if (core_submit(app, &in, now, &item, code, &err) != 0) {
		snprintf(line, linesize, "%s", x.conflict ? "stored meanwhile; try again" : err.message);
		ret = err.code == CORE_INVALID || err.code == CORE_TOO_LARGE ? MAILIN_INVALID
		                                                              : MAILIN_RETRY;
		goto out;
	}
	snprintf(line, linesize, "%s", item.tracking);
	db_item_free(&item);
	ret = MAILIN_CREATED;
out:
	free(dup);
	if (c != NULL)
		db_release(app->db, c);
	mail_msg_free(&m);
	return ret;
}
