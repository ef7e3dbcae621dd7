/*
 * ingest.c: one message stored through core/: automatic mail recorded and ignored; a letter
 * already stored (same Message-ID: piped and polled, or an MTA's retry) answered with its item;
 * a citizen's reply (In-Reply-To / References naming our mail or theirs, or the tracking number
 * in the subject) added to their item; anything else a new item of channel email. The raw
 * message, its Message-ID and IMAP position are written in the transaction that stores the item.
 */
#include <pthread.h>
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

/* The new item m makes, its raw message kept by x in the storing transaction. */
static void
new_intake(struct app *app, const struct mail_msg *m, struct raw_ctx *x, int64_t now,
           struct intake *in)
{
	memset(in, 0, sizeof(*in));
	in->kind = m->kind;
	in->subject = m->subject;
	in->body = m->body;
	in->name = m->from_name;
	in->email = m->from_addr != NULL && email_valid(m->from_addr) ? m->from_addr : NULL;
	in->publish = 0; /* consent to publish is not given by mail */
	in->channel = CHANNEL_EMAIL;
	in->received = now;
	in->ack_interval = app->cfg.mail_ack_interval;
	to_attachments(m, in->att, &in->natt);
	x->outcome = "created";
	in->also = keep_raw;
	in->also_cls = x;
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

	new_intake(app, &m, &x, now, &in);
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

/* --- a batch (the IMAP poller): parsed by PARSE_THREADS, new items in one transaction ---------- */

#define PARSE_THREADS 2 /* the machine's cores are shared with the writer and the fetch */

/* One message of a batch while it is stored. */
struct slot {
	struct mailin_msg *in;
	struct mail_msg m;
	enum mail_err perr;
	char why[256];
	struct raw_ctx x;
	struct intake intake;
	const char *note;   /* a row without the raw message to write: its reason (or "") */
	int64_t note_item;  /* its item (duplicates) */
	int is_new;         /* to be submitted */
	int later;          /* stored alone after the batch (a Message-ID twice in the batch) */
};

struct parse_work {
	const struct mail_config *cfg;
	struct slot *v;
	size_t n, next;
	pthread_mutex_t lock;
};

static void *
parse_slots(void *cls)
{
	struct parse_work *w = cls;
	struct slot *s;
	size_t i;

	for (;;) {
		pthread_mutex_lock(&w->lock);
		i = w->next++;
		pthread_mutex_unlock(&w->lock);
		if (i >= w->n)
			return NULL;
		s = &w->v[i];
		s->perr = mail_parse(w->cfg, s->in->raw, s->in->len, &s->m, s->why, sizeof(s->why));
	}
}

/* The note rows of the batch in one transaction. 0 or -1 (then none is written). */
static int
write_notes(struct app *app, struct slot *v, size_t n)
{
	struct db_conn *c;
	struct db_mail_in r;
	size_t i, k = 0;
	int ret = -1;

	for (i = 0; i < n; i++)
		k += v[i].note != NULL;
	if (k == 0)
		return 0;
	c = db_acquire(app->db);
	if (c == NULL)
		return -1;
	if (db_begin(c) != 0)
		goto out;
	for (i = 0; i < n; i++) {
		if (v[i].note == NULL)
			continue;
		mail_row(&v[i].x, v[i].note_item, &r);
		r.reason = v[i].note[0] != '\0' ? v[i].note : NULL;
		if (db_mail_in_add(c, &r) < 0) {
			db_rollback(c);
			goto out;
		}
	}
	ret = db_commit(c) == 0 ? 0 : -1;
	if (ret != 0)
		db_rollback(c);
out:
	db_release(app->db, c);
	return ret;
}

/* Decides what slot s is, on c: a note (ignored, invalid, duplicate), a bounce or a reply
 * (stored now, alone), a new item (is_new), or later. */
static void
classify(struct app *app, struct db_conn *c, struct slot *v, size_t i, int64_t now)
{
	struct slot *s = &v[i];
	char *dup = NULL, line[512];
	size_t j;
	int rc;

	s->x.raw = s->in->raw;
	s->x.len = s->in->len;
	s->x.src = &s->in->src;
	s->x.now = now;
	s->in->outcome = MAILIN_RETRY;
	if (s->perr != MAIL_OK) {
		if (s->perr == MAIL_INVALID) {
			s->x.outcome = "ignored";
			s->note = s->why;
			s->in->outcome = MAILIN_INVALID;
		}
		return;
	}
	s->x.m = &s->m;
	if (s->m.bounce) {
		s->in->outcome = bounce(app, &s->m, &s->x, now, line, sizeof(line));
		return;
	}
	if (s->m.ignored != NULL) {
		s->x.outcome = "ignored";
		s->note = s->m.ignored;
		s->in->outcome = MAILIN_IGNORED;
		return;
	}
	if (s->m.message_id != NULL) {
		for (j = 0; j < i; j++)
			if (v[j].perr == MAIL_OK && v[j].m.message_id != NULL &&
			    strcmp(v[j].m.message_id, s->m.message_id) == 0) {
				s->later = 1;
				return;
			}
		rc = db_mail_item_by_message_id(c, s->m.message_id, &dup);
		if (rc < 0)
			return;
		if (rc == 1) {
			s->x.outcome = "duplicate";
			s->note = "";
			s->note_item = item_id(c, dup);
			s->in->outcome = MAILIN_DUPLICATE;
			free(dup);
			return;
		}
	}
	rc = add_to_item(app, c, &s->m, &s->x, now, line, sizeof(line));
	if (rc != 0) {
		s->in->outcome = rc > 0 ? MAILIN_ADDED : MAILIN_RETRY;
		return;
	}
	new_intake(app, &s->m, &s->x, now, &s->intake);
	s->is_new = 1;
}

void
mailin_store_batch(struct app *app, const struct mail_config *cfg, struct mailin_msg *msgs,
                   size_t n, int64_t now)
{
	struct slot *v = calloc(n > 0 ? n : 1, sizeof(*v));
	const struct intake **ins = calloc(n > 0 ? n : 1, sizeof(*ins));
	struct db_item *items = calloc(n > 0 ? n : 1, sizeof(*items));
	char(*codes)[QUERY_CODE_LEN + 1] = calloc(n > 0 ? n : 1, sizeof(*codes));
	struct core_error *errs = calloc(n > 0 ? n : 1, sizeof(*errs));
	size_t *which = calloc(n > 0 ? n : 1, sizeof(*which));
	struct parse_work w;
	pthread_t th[PARSE_THREADS];
	struct db_conn *c;
	size_t i, k = 0, nth = 0;
	char line[512];

	for (i = 0; i < n; i++)
		msgs[i].outcome = MAILIN_RETRY;
	if (v == NULL || ins == NULL || items == NULL || codes == NULL || errs == NULL ||
	    which == NULL)
		goto out;
	for (i = 0; i < n; i++)
		v[i].in = &msgs[i];
	memset(&w, 0, sizeof(w));
	w.cfg = cfg;
	w.v = v;
	w.n = n;
	pthread_mutex_init(&w.lock, NULL);
	for (i = 0; i + 1 < PARSE_THREADS && i + 1 < n; i++)
		if (pthread_create(&th[nth], NULL, parse_slots, &w) == 0)
			nth++;
	parse_slots(&w);
	for (i = 0; i < nth; i++)
		pthread_join(th[i], NULL);
	pthread_mutex_destroy(&w.lock);

	c = db_acquire(app->db);
	if (c == NULL)
		goto out;
	for (i = 0; i < n; i++)
		classify(app, c, v, i, now);
	db_release(app->db, c);

	for (i = 0; i < n; i++)
		if (v[i].is_new) {
			which[k] = i;
			ins[k++] = &v[i].intake;
		}
	if (k > 0 && core_submit_many(app, ins, k, now, items, codes, errs) == 0) {
		for (i = 0; i < k; i++) {
			struct slot *s = &v[which[i]];

			if (errs[i].code == CORE_OK) {
				db_item_free(&items[i]);
				s->in->outcome = MAILIN_CREATED;
			} else if (errs[i].code == CORE_INVALID || errs[i].code == CORE_TOO_LARGE) {
				s->x.outcome = "ignored";
				s->note = errs[i].message;
				s->in->outcome = MAILIN_INVALID;
			}
		}
	}
	if (write_notes(app, v, n) != 0)
		for (i = 0; i < n; i++)
			if (v[i].note != NULL)
				v[i].in->outcome = MAILIN_RETRY;
	/* a Message-ID twice in the batch: the later ones now that the first is committed */
	for (i = 0; i < n; i++)
		if (v[i].later)
			msgs[i].outcome = mailin_store(app, cfg, msgs[i].raw, msgs[i].len, &msgs[i].src,
			                               now, line, sizeof(line));
out:
	for (i = 0; v != NULL && i < n; i++)
		if (v[i].perr == MAIL_OK)
			mail_msg_free(&v[i].m);
	free(which);
	free(errs);
	free(codes);
	free(items);
	free(ins);
	free(v);
}
