/*
 * ingest.c: one message stored through core/: automatic mail recorded and ignored; a letter
 * already stored (same Message-ID: piped and polled, or an MTA's retry) answered with its item;
 * a citizen's reply (In-Reply-To / References naming our mail or theirs, or the tracking number
 * in the subject) added to their item; anything else a new item of channel email; a message core
 * refuses (over a limit, invalid) recorded with core's reason; a polled one too large to fetch,
 * with a notice to its sender when its header shows a person. The raw message, its Message-ID
 * and IMAP position (a mail_in row) are written by core in the transaction that stores the
 * item; mail-in calls core only (tests/layering.sh).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <glib.h>

#include "service/core/core.h"
#include "mailin.h"

int
mailin_config(struct app *app, struct mail_config *out, char *err, size_t errsize)
{
	struct mail_config cfg;

	mail_config_default(&cfg);
	cfg.limits.max_attachments = INTAKE_MAX_ATTACHMENTS;
	/* core refuses a file over INTAKE_ATTACHMENT_MAX whatever attachment_max says: such a
	 * file is left out of the letter (and noted in it) rather than the letter refused */
	cfg.limits.attachment_max = app->cfg.attachment_max < INTAKE_ATTACHMENT_MAX
	                                ? app->cfg.attachment_max
	                                : INTAKE_ATTACHMENT_MAX;
	cfg.limits.types = app->cfg.attachment_types;
	cfg.limits.item_max = app->cfg.attachment_item_max;
	cfg.limits.subject_max = INTAKE_MAIL_SUBJECT_MAX; /* the whole Subject, within a sane cap */
	cfg.limits.body_max = INTAKE_BODY_MAX;
	cfg.limits.filename_max = INTAKE_FILENAME_MAX;
#ifdef CIVICDESK_TEST_HOOKS
	/* test builds: the text left uncut, so that core refuses a long letter (its refusal path) */
	if (getenv("CIVICDESK_TEST_MAIL_UNCUT") != NULL)
		cfg.limits.subject_max = cfg.limits.body_max = (size_t)1 << 30;
#endif
	if (app->cfg.mail_kinds != NULL &&
	    mail_kinds_parse(&cfg, app->cfg.mail_kinds, err, errsize) != 0)
		return -1;
	*out = cfg;
	return 0;
}

/* The mail_in row of a message (m: NULL when it could not be parsed), without an item yet;
 * strings lent from m and src. */
static void
mail_row(const struct mail_msg *m, size_t len, const struct mailin_source *src, int64_t now,
         const char *outcome, struct db_mail_in *r)
{
	memset(r, 0, sizeof(*r));
	r->outcome = outcome;
	r->message_id = m != NULL ? m->message_id : NULL;
	r->sender = m == NULL ? NULL : m->relay_addr != NULL ? m->relay_addr : m->from_addr;
	r->size = len;
	r->received = now;
	r->source = src != NULL ? "imap" : "pipe";
	if (src != NULL) {
		r->mailbox = src->mailbox;
		r->uidvalidity = src->uidvalidity;
		r->uid = src->uid;
	}
}

/* Records one message that changes no item (reason: why, or NULL; refused: core's refusal, or
 * NULL). 0 or -1. */
static int
note(struct app *app, const struct db_mail_in *row, const char *reason,
     const struct core_error *refused, int64_t now)
{
	struct core_mail_note n;

	memset(&n, 0, sizeof(n));
	n.row = *row;
	n.row.reason = reason;
	n.refused = refused;
	return core_mail_note(app, &n, 1, now);
}

/* A bounce: the outbox row it returns is marked failed (core_bounce), the bounce recorded and
 * ignored. MAILIN_IGNORED, or MAILIN_RETRY when it could not be recorded. */
static enum mailin_outcome
bounce(struct app *app, const struct mail_msg *m, const struct db_mail_in *row, int64_t now,
       char *line, size_t linesize)
{
	struct core_bounce in;
	struct core_error err;
	struct db_mail_in r = *row;
	int64_t outbox = 0;

	r.outcome = "ignored";
	r.reason = m->ignored;
	if (m->bounce_delayed) { /* delivery is still being tried: nothing failed */
		if (note(app, &r, m->ignored, NULL, now) != 0 && r.mailbox != NULL) {
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
	in.mail = &r;
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

/* Whether raw (len bytes, Message-ID id, stored already) is the letter stored under id: 1 yes
 * (also when no raw is kept under id, which cannot be), 0 another letter reusing the Message-ID,
 * -1 the database could not tell. */
static int
stored_letter(struct app *app, const char *id, const char *raw, size_t len)
{
	char *stored = NULL;
	size_t n = 0;
	int rc = core_mail_stored_raw(app, id, &stored, &n);

	if (rc <= 0)
		return rc == 0 ? 1 : -1;
	rc = mail_same_letter(stored, n, raw, len);
	free(stored);
	return rc;
}

/* Whether m (raw, len) with its Message-ID was stored already: 1 a duplicate (*dup: the item's
 * tracking number, a new string, and *dup_id), 0 a letter to store (a letter that reuses the
 * Message-ID of another has m->message_id replaced by its own key, mail_letter_key), -1 the
 * database could not tell. */
static int
duplicate_of(struct app *app, struct mail_msg *m, const char *raw, size_t len, char **dup,
             int64_t *dup_id)
{
	int round, rc;

	for (round = 0; round < 2 && m->message_id != NULL; round++) {
		rc = core_mail_stored(app, m->message_id, dup, dup_id);
		if (rc <= 0)
			return rc;
		rc = stored_letter(app, m->message_id, raw, len);
		if (rc != 0) {
			if (rc < 0) {
				free(*dup);
				*dup = NULL;
			}
			return rc;
		}
		free(*dup);
		*dup = NULL;
		if (round == 0) { /* another letter under this Message-ID: its own key */
			char *key = mail_letter_key(raw, len, m->message_id);

			if (key == NULL)
				return -1;
			g_free(m->message_id);
			m->message_id = key;
		} else { /* its key taken too: stored without one */
			g_free(m->message_id);
			m->message_id = NULL;
		}
	}
	return 0;
}

/* Tries to add m to one of the sender's items, with its row (outcome added, raw kept). 1 added
 * (line: its tracking), 0 none of them, -1 retry. */
static int
add_to_item(struct app *app, const struct mail_msg *m, const struct db_mail_in *row,
            int64_t now, char *line, size_t linesize)
{
	char *tracking[4];
	struct core_citizen_mail in;
	struct db_attachment att[INTAKE_MAX_ATTACHMENTS];
	struct core_error err;
	struct db_mail_in r = *row;
	size_t n, i;
	int answered = 0, rc = 0;

	if (m->from_addr == NULL)
		return 0;
	n = core_mail_candidates(app, (const char *const *)m->refs, m->nrefs, m->tracking,
	                         tracking, sizeof(tracking) / sizeof(tracking[0]));
	r.outcome = "added";
	memset(&in, 0, sizeof(in));
	in.from = m->from_addr;
	in.text = m->body;
	to_attachments(m, att, &in.natt);
	in.att = att;
	in.mail = &r;
	for (i = 0; i < n && rc == 0; i++) {
		in.tracking = tracking[i];
		if (core_citizen_mail(app, &in, now, &answered, &err) == 0) {
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

/* The new item m makes, with its row (outcome created, raw kept) in the storing transaction;
 * m->left_out gets the words on the files left out in the item's language. */
static void
new_intake(struct app *app, struct mail_msg *m, const struct db_mail_in *row, int64_t now,
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
	/* the citizen is told which files were left out, and why, in their language */
	g_free(m->left_out);
	m->left_out = mail_left_out(m, m->lang);
	in->ack_note = m->left_out;
	in->lang = m->lang; /* the citizen's language (mail_parse) */
	to_attachments(m, in->att, &in->natt);
	in->mail = row;
}

/* core's words for a message that can never be stored (mail_parse's MAIL_INVALID, why), so that
 * it is recorded as refused alike. */
static void
never_storable(size_t len, const char *why, struct core_error *e)
{
	memset(e, 0, sizeof(*e));
	e->code = len > (size_t)MAIL_RAW_MAX ? CORE_TOO_LARGE : CORE_INVALID;
	e->field = "message";
	snprintf(e->message, sizeof(e->message), "%s", why);
}

/* Whether core refused what it was given for good (validation, limits), not for now. */
static int
refused(const struct core_error *err)
{
	return err->code == CORE_INVALID || err->code == CORE_TOO_LARGE;
}

enum mailin_outcome
mailin_store(struct app *app, const struct mail_config *cfg, const char *raw, size_t len,
             const struct mailin_source *src, int64_t now, char *line, size_t linesize)
{
	struct mail_msg m;
	struct db_mail_in row, created;
	struct intake in;
	struct core_error err, never;
	struct db_item item;
	char code[QUERY_CODE_LEN + 1], why[256], *dup = NULL;
	enum mail_err perr;
	enum mailin_outcome ret = MAILIN_RETRY;
	int64_t dup_id = 0;
	int rc;

	perr = mail_parse(cfg, raw, len, &m, why, sizeof(why));
	if (perr != MAIL_OK) {
		snprintf(line, linesize, "%s", why);
		if (perr != MAIL_INVALID)
			return MAILIN_RETRY;
		/* recorded as refused (polled: so that it is not fetched again; piped: best effort) */
		mail_row(NULL, len, src, now, "ignored", &row);
		never_storable(len, why, &never);
		if (note(app, &row, NULL, &never, now) != 0 && src != NULL)
			return MAILIN_RETRY;
		return MAILIN_INVALID;
	}
	mail_row(&m, len, src, now, "ignored", &row);
	if (m.bounce) {
		ret = bounce(app, &m, &row, now, line, linesize);
		goto out;
	}
	if (m.ignored != NULL) {
		if (note(app, &row, m.ignored, NULL, now) != 0 && src != NULL)
			goto out; /* retry: the UID must be recorded */
		snprintf(line, linesize, "ignored: %s", m.ignored);
		ret = MAILIN_IGNORED;
		goto out;
	}
	if (m.message_id != NULL) {
		rc = duplicate_of(app, &m, raw, len, &dup, &dup_id);
		row.message_id = m.message_id;
		if (rc < 0) {
			snprintf(line, linesize, "the database is unavailable");
			goto out;
		}
		if (rc == 1) {
			row.outcome = "duplicate";
			row.item_id = dup_id;
			if (src != NULL && note(app, &row, NULL, NULL, now) != 0)
				goto out;
			snprintf(line, linesize, "%s", dup);
			ret = MAILIN_DUPLICATE;
			goto out;
		}
	}
	created = row;
	created.raw = raw;
	rc = add_to_item(app, &m, &created, now, line, linesize);
	if (rc != 0) {
		ret = rc > 0 ? MAILIN_ADDED : MAILIN_RETRY;
		goto out;
	}
	created.outcome = "created";
	new_intake(app, &m, &created, now, &in);
	if (core_submit(app, &in, now, &item, code, &err) != 0) {
		snprintf(line, linesize, "%s",
		         err.code == CORE_CONFLICT ? "stored meanwhile; try again" : err.message);
		/* refused for good: recorded with core's reason, so that it is neither fetched nor
		 * taken again, and an administrator sees it (audit log) */
		if (refused(&err))
			ret = note(app, &row, NULL, &err, now) == 0 ? MAILIN_INVALID : MAILIN_RETRY;
		goto out;
	}
	snprintf(line, linesize, "%s", item.tracking);
	db_item_free(&item);
	ret = MAILIN_CREATED;
out:
	free(dup);
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
	struct db_mail_in row;  /* its mail_in row (created: with the raw message) */
	struct intake intake;
	const char *note;       /* a row without the raw message to write: its reason (or "") */
	const struct core_error *refused; /* core's refusal of the new item, or NULL */
	struct core_error never;          /* why it can never be stored (MAIL_INVALID) */
	struct mail_msg head;   /* a message too large: what its header says (head_ok) */
	int head_ok;
	const char *tell;       /* the sender to tell it was too large (lent from head), or NULL */
	int is_new;             /* to be submitted */
	int later;              /* stored alone after the batch (a Message-ID twice in the batch) */
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
	char why[256];
	size_t i;

	for (;;) {
		pthread_mutex_lock(&w->lock);
		i = w->next++;
		pthread_mutex_unlock(&w->lock);
		if (i >= w->n)
			return NULL;
		s = &w->v[i];
		s->perr = mail_parse(w->cfg, s->in->raw, s->in->len, &s->m, s->why, sizeof(s->why));
		/* too large to be read: its header alone, for whom to tell */
		if (s->perr == MAIL_INVALID && s->in->len > (size_t)MAIL_RAW_MAX &&
		    s->in->head != NULL)
			s->head_ok = mail_parse(w->cfg, s->in->head, s->in->head_len, &s->head, why,
			                        sizeof(why)) == MAIL_OK;
	}
}

/* The note rows of the batch in one transaction (core_mail_note). 0 or -1 (then none is
 * written). */
static int
write_notes(struct app *app, struct slot *v, size_t n, int64_t now)
{
	struct core_mail_note *notes;
	size_t i, k = 0;
	int ret;

	for (i = 0; i < n; i++)
		k += v[i].note != NULL;
	if (k == 0)
		return 0;
	notes = calloc(k, sizeof(*notes));
	if (notes == NULL)
		return -1;
	for (i = 0, k = 0; i < n; i++) {
		if (v[i].note == NULL)
			continue;
		notes[k].row = v[i].row;
		notes[k].row.raw = NULL;
		notes[k].row.reason = v[i].note[0] != '\0' ? v[i].note : NULL;
		notes[k].refused = v[i].refused;
		if (v[i].tell != NULL) {
			notes[k].tell = v[i].tell;
			notes[k].tell_subject = v[i].head.subject;
			notes[k].tell_id = v[i].head.message_id;
			notes[k].tell_limit = MAIL_RAW_MAX;
		}
		k++;
	}
	ret = core_mail_note(app, notes, k, now);
	free(notes);
	return ret;
}

/* Decides what slot s is: a note (ignored, invalid, duplicate), a bounce or a reply (stored
 * now, alone), a new item (is_new), or later. */
static void
classify(struct app *app, struct slot *v, size_t i, int64_t now)
{
	struct slot *s = &v[i];
	char *dup = NULL, line[512];
	int64_t dup_id = 0;
	size_t j;
	int rc;

	s->in->outcome = MAILIN_RETRY;
	mail_row(s->perr == MAIL_OK ? &s->m : NULL, s->in->len, &s->in->src, now, "ignored",
	         &s->row);
	if (s->perr != MAIL_OK) {
		if (s->perr == MAIL_INVALID) {
			never_storable(s->in->len, s->why, &s->never);
			s->note = "";
			s->refused = &s->never;
			s->in->outcome = MAILIN_INVALID;
			/* too large, polled: no MTA bounces it, so its sender is told (a person only:
			 * never an auto-reply, a bounce or list mail, which would answer or loop) */
			if (s->head_ok && s->head.ignored == NULL && !s->head.bounce &&
			    s->head.from_addr != NULL && email_valid(s->head.from_addr))
				s->tell = s->head.from_addr;
		}
		return;
	}
	if (s->m.bounce) {
		s->in->outcome = bounce(app, &s->m, &s->row, now, line, sizeof(line));
		return;
	}
	if (s->m.ignored != NULL) {
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
		rc = duplicate_of(app, &s->m, s->in->raw, s->in->len, &dup, &dup_id);
		s->row.message_id = s->m.message_id;
		if (rc < 0)
			return;
		if (rc == 1) {
			s->row.outcome = "duplicate";
			s->row.item_id = dup_id;
			s->note = "";
			s->in->outcome = MAILIN_DUPLICATE;
			free(dup);
			return;
		}
		/* its own key (a reused Message-ID) may be an earlier slot's too */
		for (j = 0; j < i && s->m.message_id != NULL; j++)
			if (v[j].perr == MAIL_OK && v[j].m.message_id != NULL &&
			    strcmp(v[j].m.message_id, s->m.message_id) == 0) {
				s->later = 1;
				return;
			}
	}
	s->row.raw = s->in->raw;
	rc = add_to_item(app, &s->m, &s->row, now, line, sizeof(line));
	if (rc != 0) {
		s->in->outcome = rc > 0 ? MAILIN_ADDED : MAILIN_RETRY;
		return;
	}
	s->row.outcome = "created";
	new_intake(app, &s->m, &s->row, now, &s->intake);
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

	for (i = 0; i < n; i++)
		classify(app, v, i, now);
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
			} else if (refused(&errs[i])) { /* recorded with core's reason */
				s->row.outcome = "ignored";
				s->note = "";
				s->refused = &errs[i];
				s->in->outcome = MAILIN_INVALID;
			}
		}
	}
	if (write_notes(app, v, n, now) != 0)
		for (i = 0; i < n; i++)
			if (v[i].note != NULL)
				v[i].in->outcome = MAILIN_RETRY;
	/* a Message-ID twice in the batch: the later ones now that the first is committed */
	for (i = 0; i < n; i++)
		if (v[i].later)
			msgs[i].outcome = mailin_store(app, cfg, msgs[i].raw, msgs[i].len, &msgs[i].src,
			                               now, line, sizeof(line));
out:
	for (i = 0; v != NULL && i < n; i++) {
		if (v[i].perr == MAIL_OK)
			mail_msg_free(&v[i].m);
		if (v[i].head_ok)
			mail_msg_free(&v[i].head);
	}
	free(which);
	free(errs);
	free(codes);
	free(items);
	free(ins);
	free(v);
}
