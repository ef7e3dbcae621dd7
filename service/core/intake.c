/*
 * intake.c: the one way in for a new item (web form, JSON API, Open311, staff registration,
 * e-mail): its checks and its durable storage through the group-commit writer, with the
 * notification hook's rows in the same transaction.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core_int.h"



static int
present(const char *s)
{
	return s != NULL && s[0] != '\0';
}

/* A text field: required or not, at most max code points. */
static int
check_text(const char *field, const char *s, int required, long max, unsigned flags,
           struct core_error *err)
{
	long n;

	if (!present(s)) {
		if (required)
			return core_fail(err, CORE_INVALID, field, "%s is required", field);
		return 0;
	}
	n = text_check(s, strlen(s), flags);
	if (n < 0)
		return core_fail(err, CORE_INVALID, field,
		            "%s is not valid UTF-8 text (or holds control characters)", field);
	if (n > max)
		return core_fail(err, CORE_INVALID, field, "%s is longer than %ld characters", field, max);
	if (required && !text_nonblank(s))
		return core_fail(err, CORE_INVALID, field, "%s is empty", field);
	return 0;
}

/* 1 if s is decimal degrees within -max..max (at most 32 characters), else 0. */
static int
coordinate_valid(const char *s, double max)
{
	char *end;
	double v;

	if (strlen(s) > 32)
		return 0;
	v = strtod(s, &end);
	return end != s && *end == '\0' && v >= -max && v <= max;
}

/* 1 if the first character of s is a CJK ideograph (U+3400..U+9FFF), else 0. */
static int
starts_cjk(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	return p[0] >= 0xe3 && p[0] <= 0xe9 && (p[0] > 0xe3 || p[1] >= 0x90);
}

char *
intake_name_join(const char *first, const char *last)
{
	const char *f = present(first) ? first : "", *l = present(last) ? last : "";
	size_t n = strlen(f) + strlen(l) + 2;
	char *out = malloc(n);

	if (out == NULL)
		return NULL;
	if (starts_cjk(l) || starts_cjk(f))
		snprintf(out, n, "%s%s", l, f); /* 黄 + 晓明: 黄晓明 */
	else
		snprintf(out, n, "%s%s%s", f, *f && *l ? " " : "", l);
	return out;
}

int
core_submit_check(const struct intake *in, struct core_error *err)
{
	char email[EMAIL_TIDY_SIZE];
	size_t i;

	if (!present(in->kind))
		return core_fail(err, CORE_INVALID, "kind",
		            "kind is required: letter, complaint or consultation");
	if (kind_parse(in->kind) < 0)
		return core_fail(err, CORE_INVALID, "kind", "kind must be letter, complaint or consultation");
	/* e-mail keeps the whole decoded Subject (the contract); the forms keep their limit */
	if (check_text("subject", in->subject, 1,
	               in->channel == CHANNEL_EMAIL ? INTAKE_MAIL_SUBJECT_MAX : INTAKE_SUBJECT_MAX,
	               0, err) != 0 ||
	    check_text("body", in->body, 1, INTAKE_BODY_MAX, TEXT_MULTILINE, err) != 0 ||
	    check_text("name", in->name, 0, INTAKE_NAME_MAX, 0, err) != 0)
		return -1;
	if (check_text("address_string", in->address, 0, INTAKE_ADDRESS_MAX, 0, err) != 0)
		return -1;
	if (present(in->lat) && !coordinate_valid(in->lat, 90))
		return core_fail(err, CORE_INVALID, "lat", "lat is decimal degrees, -90 to 90");
	if (present(in->lng) && !coordinate_valid(in->lng, 180))
		return core_fail(err, CORE_INVALID, "long", "long is decimal degrees, -180 to 180");
	if (present(in->phone) && !phone_valid(in->phone))
		return core_fail(err, CORE_INVALID, "phone",
		            "phone is not a number we can call: a mobile number (138 1234 5678, "
		            "+86 138 1234 5678), a landline with its area code ((010) 6512 3456), "
		            "with an extension (010-6512 3456 \xe8\xbd\xac 123, ext. 123), or a service "
		            "number (400-810-8888, 95588)");
	if (present(in->email) && !email_tidy(in->email, email))
		return core_fail(err, CORE_INVALID, "email",
		            "email is not a valid e-mail address: write one address, such as "
		            "name@example.cn (blanks around it and a full-width \xef\xbc\xa0 or "
		            "\xef\xbc\x8e are fine)");
	/* mail comes with its sender, even when the address is not one we can check */
	if (in->staff == NULL && in->channel != CHANNEL_EMAIL && !present(in->phone) &&
	    !present(in->email))
		return core_fail(err, CORE_INVALID, "phone",
		            "a phone number or an e-mail address is required so that the bureau "
		            "can answer");
	if (present(in->lang) && lang_tag_parse(in->lang) < 0)
		return core_fail(err, CORE_INVALID, "lang",
		            "lang must be zh-Hans, zh-Hant or en (or a tag such as zh-CN, zh-TW, "
		            "en-US)");
	if (in->publish != 0 && in->publish != 1)
		return core_fail(err, CORE_INVALID, "publish",
		            "publish is required: true if the handled item may be published "
		            "(with personal data removed), false if not");
	if (in->natt > INTAKE_MAX_ATTACHMENTS)
		return core_fail(err, CORE_INVALID, "attachment", "at most %d attachments",
		            INTAKE_MAX_ATTACHMENTS);
	for (i = 0; i < in->natt; i++) {
		const struct db_attachment *a = &in->att[i];

		if (a->size > INTAKE_ATTACHMENT_MAX)
			return core_fail(err, CORE_TOO_LARGE, "attachment",
			            "attachment %s is larger than %ld bytes", a->filename,
			            INTAKE_ATTACHMENT_MAX);
		if (!present(a->filename) || strlen(a->filename) > INTAKE_FILENAME_MAX ||
		    text_check(a->filename, strlen(a->filename), 0) < 0)
			return core_fail(err, CORE_INVALID, "attachment",
			            "an attachment's file name is missing, too long or not UTF-8");
		if (!present(a->content_type) || strlen(a->content_type) > INTAKE_CTYPE_MAX)
			return core_fail(err, CORE_INVALID, "attachment",
			            "an attachment's content type is invalid");
	}
	return 0;
}

static char *
dup_opt(const char *s)
{
	return present(s) ? strdup(s) : NULL;
}

/* What the writer's callback needs to call the notification hook. */
struct hook_ctx {
	struct app *app;
	const struct intake *in;
	int64_t now;
	const struct scan_report *scan; /* what the virus scan found (scan.c) */
	const char *screened;           /* prohibited entries found in the text (screen.c) */
	int mail_conflict;              /* in->mail was recorded already: the item rolled back */
	const struct db_history *history; /* the item's submit row, written by after_insert */
	const char *code;               /* an e-mail item's query code, for its acknowledgement */
};

/* The staff history row of item (from "received" to "received") that says when its
 * acknowledgement goes (deferred 1) or why none does (0), with note. 0 or -1. */
static int
ack_history(const struct hook_ctx *h, struct db_conn *c, const struct db_item *item,
            int deferred, const char *note)
{
	struct db_history hist;

	memset(&hist, 0, sizeof(hist));
	hist.at = h->now;
	hist.actor = (char *)"system";
	hist.action = deferred ? (char *)"ack_deferred" : (char *)"ack_skipped";
	hist.from_state = (char *)"received";
	hist.to_state = (char *)"received";
	hist.note = (char *)note;
	hist.citizen = 0;
	return db_history_add(c, item->id, &hist) == 0 ? 0 : -1;
}

/* When item's citizen gets an acknowledgement: 1 now; 2 at a->at, to a->to when that is set
 * (an e-mail item whose address was acknowledged within h->in->ack_interval: its
 * acknowledgement waits, with the query code, for the next moment the interval allows, and
 * goes in one message with the address's other letters since; a staff history row
 * `ack_deferred` says when); 0 never (more than notify_combine_max letters of the address wait
 * for that moment already: a staff history row `ack_skipped` says so); -1 error. */
static int
acknowledge(const struct hook_ctx *h, struct db_conn *c, const struct db_item *item,
            struct db_mail_ack *a)
{
	char addr[256], when[32], last[32], note[300];
	size_t i;
	int rc;

	if (h->in->channel != CHANNEL_EMAIL || !present(item->email) ||
	    strlen(item->email) >= sizeof(addr))
		return 1;
	for (i = 0; item->email[i] != '\0'; i++)
		addr[i] = (char)(item->email[i] >= 'A' && item->email[i] <= 'Z' ? item->email[i] + 32
		                                                                : item->email[i]);
	addr[i] = '\0';
	rc = db_mail_ack_claim(c, addr, h->now, h->in->ack_interval, h->app->cfg.notify_combine_max,
	                       a);
	if (rc < 0 || rc == 1)
		return rc;
	sla_format_local(a->at, when, sizeof(when));
	sla_format_local(a->last, last, sizeof(last));
	if (rc == 0) {
		snprintf(note, sizeof(note),
		         "no acknowledgement sent: %ld letters of this address wait already for the "
		         "acknowledgement at %.16s (notify_combine_max), and one was sent less than "
		         "mail_ack_interval (%lld s) before",
		         a->waiting, when, (long long)h->in->ack_interval);
		return ack_history(h, c, item, 0, note) == 0 ? 0 : -1;
	}
	snprintf(note, sizeof(note),
	         "acknowledgement with the query code queued for %.16s, in one e-mail with this "
	         "address's other letters until then: it was acknowledged at %.16s, less than "
	         "mail_ack_interval (%lld s) before",
	         when, last, (long long)h->in->ack_interval);
	return ack_history(h, c, item, 1, note) == 0 ? 2 : -1;
}

/* The message's mail_in row with the new item (channel email): 0, or -1 (h->mail_conflict set
 * when it was recorded already). */
static int
mail_row(struct hook_ctx *h, struct db_conn *c, const struct db_item *item)
{
	struct db_mail_in row;
	int rc;

	h->mail_conflict = 0;
	if (h->in->mail == NULL)
		return 0;
	row = *h->in->mail;
	row.item_id = item->id;
	rc = db_mail_in_add(c, &row, NULL);
	if (rc == 1)
		h->mail_conflict = 1;
	return rc == 0 ? 0 : -1;
}

/* Rows of each kind a batch gathers: beyond, a submission's are written as it is stored. */
#define BATCH_KEEP_MAX 1024

/* The writer's batch hook: see core_int.h. */
struct intake_batch {
	struct app *app;
	struct stats_batch *stats;
	int gathering;          /* 1 between begin and end of an unguarded batch */
	struct core_event *ev;  /* the batch's CORE_EV_SUBMITTED events, for on_batch */
	size_t n, cap;
	const struct db_item **items; /* the batch's items, whose clocks and ladder marks are
	                               * written at its end (clocks_later) */
	size_t nitems, capitems;
	int64_t *hids;                  /* the submit history rows written at its end: items */
	const struct db_history **hs;   /* ... and rows */
	size_t nh, caph;
};

struct intake_batch *
intake_batch_new(struct app *app, struct stats_batch *stats)
{
	struct intake_batch *b = calloc(1, sizeof(*b));

	if (b != NULL) {
		b->app = app;
		b->stats = stats;
	}
	return b;
}

void
intake_batch_free(struct intake_batch *b)
{
	if (b == NULL)
		return;
	free(b->ev);
	free(b->items);
	free(b->hids);
	free(b->hs);
	free(b);
}

void
intake_batch_begin(void *cls, int guarded)
{
	struct intake_batch *b = cls;

	stats_batch_begin(b->stats, guarded);
	b->gathering = !guarded;
	b->n = 0;
	b->nitems = 0;
	b->nh = 0;
}

int
intake_batch_end(void *cls, struct db_conn *c)
{
	struct intake_batch *b = cls;
	int rc = 0;

	/* the batch's new items first (insert_later), then what refers to them */
	if (b->gathering && (db_items_flush(c) != 0 ||
	                     db_items_clocks_add(c, b->items, b->nitems) != 0 ||
	                     db_history_add_many(c, b->hids, b->hs, b->nh) != 0 ||
	                     core_notify_batch(b->app, c, b->ev, b->n) != 0))
		rc = -1;
	b->gathering = 0;
	b->n = 0;
	b->nitems = 0;
	b->nh = 0;
	if (stats_batch_end(b->stats, c) != 0)
		rc = -1;
	return rc;
}

/* Keeps ev (its item lent until the batch commits) for the notifiers' on_batch at the batch's
 * end: 1 kept, 0 not gathering (the caller calls the hook now), -1 out of memory. */
static int
batch_keep(struct intake_batch *b, const struct core_event *ev)
{
	if (b == NULL || !b->gathering || b->app->notify.on_batch == NULL || b->n >= BATCH_KEEP_MAX)
		return 0;
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 16;
		struct core_event *v = realloc(b->ev, cap * sizeof(*v));

		if (v == NULL)
			return -1;
		b->ev = v;
		b->cap = cap;
	}
	b->ev[b->n++] = *ev;
	return 1;
}

/* The clocks and ladder mark of item (inserted with clocks_later): kept for the batch's end
 * when it gathers, else written now. 0 or -1. */
static int
clocks_keep(struct intake_batch *b, struct db_conn *c, const struct db_item *item)
{
	if (b == NULL || !b->gathering || b->nitems >= BATCH_KEEP_MAX)
		return db_items_clocks_add(c, &item, 1);
	if (b->nitems == b->capitems) {
		size_t cap = b->capitems ? b->capitems * 2 : 16;
		const struct db_item **v = realloc(b->items, cap * sizeof(*v));

		if (v == NULL)
			return -1;
		b->items = v;
		b->capitems = cap;
	}
	b->items[b->nitems++] = item;
	return 0;
}

/* Whether the submit history row of h's item may be written at the batch's end: nothing in
 * this hook writes another history row of the item before it would be (an e-mail's skipped
 * acknowledgement, a refused attachment, a screened word), and the notifiers' hook, which may
 * read it, is called at the batch's end too (on_batch) or not at all. */
static int
history_later(const struct hook_ctx *h)
{
	const struct core_notify *n = &h->app->notify;

	return h->in->channel != CHANNEL_EMAIL &&
	       (h->scan == NULL || !h->scan->configured || h->scan->nrefused == 0) &&
	       (h->screened == NULL || h->screened[0] == '\0') &&
	       (n->on_event == NULL || n->on_batch != NULL);
}

/* The submit history row of item: kept for the batch's end when it gathers and nothing comes
 * before it there (history_later), else written now. 0 or -1. */
static int
history_keep(struct hook_ctx *h, struct db_conn *c, const struct db_item *item)
{
	struct intake_batch *b = h->app->submit_batch;

	if (b == NULL || !b->gathering || !history_later(h) || b->nh >= BATCH_KEEP_MAX)
		return db_history_add(c, item->id, h->history);
	if (b->nh == b->caph) {
		size_t cap = b->caph ? b->caph * 2 : 16;
		int64_t *ids = realloc(b->hids, cap * sizeof(*ids));
		const struct db_history **hs;

		if (ids == NULL)
			return -1;
		b->hids = ids;
		hs = realloc(b->hs, cap * sizeof(*hs));
		if (hs == NULL)
			return -1;
		b->hs = hs;
		b->caph = cap;
	}
	b->hids[b->nh] = item->id;
	b->hs[b->nh++] = h->history;
	return 0;
}

/* Whether item, given its id by db_item_insert without its row (insert_later), waits for the
 * batch's end with its clocks, history, facts and acknowledgement: a gathering batch with room
 * for its every row (else each is written at once, and the item before them). */
static int
item_later(const struct intake_batch *b)
{
	return b != NULL && b->gathering && b->nitems < BATCH_KEEP_MAX && b->nh < BATCH_KEEP_MAX &&
	       b->n < BATCH_KEEP_MAX;
}

static int
after_insert(void *cls, struct db_conn *c, const struct db_item *item)
{
	struct hook_ctx *h = cls;
	struct core_event ev;
	struct db_mail_ack a;
	int ack, kept = 0;

	/* an item left for the batch's end is written now when its rows are */
	if (item->insert_later && !item_later(h->app->submit_batch) && db_items_flush(c) != 0)
		return -1;

	/* its clocks and mark, and its submit history row, in one statement each for the batch
	 * at its end */
	if (item->clocks_later && clocks_keep(h->app->submit_batch, c, item) != 0)
		return -1;
	if (h->history != NULL && history_keep(h, c, item) != 0)
		return -1;
	ack = acknowledge(h, c, item, &a);
	if (ack < 0)
		return -1;
	memset(&ev, 0, sizeof(ev));
	ev.kind = ack ? CORE_EV_SUBMITTED : CORE_EV_SUBMITTED_QUIET;
	if (ack == 2) { /* later, with the address's other letters */
		ev.ack_at = a.at;
		ev.to = a.to[0] != '\0' ? a.to : NULL;
	}
	ev.item = item;
	ev.action = -1;
	ev.at = h->now;
	ev.note = h->in->ack_note;
	ev.query_code = h->code;
	if (stats_record_batched(h->app, c, item, "submit", h->now) != 0 ||
	    scan_record(c, item, h->scan, h->now) != 0 ||
	    screen_record(c, item, h->screened, h->now) != 0)
		return -1;
	/* a batch's acknowledgements are queued together at its end (one statement), without
	 * their text; one with a note or a query code is written now with it */
	if (ev.kind == CORE_EV_SUBMITTED && ev.note == NULL && ev.query_code == NULL &&
	    ev.ack_at == 0)
		kept = batch_keep(h->app->submit_batch, &ev);
	if (kept < 0 || (kept == 0 && core_notify_event(h->app, c, &ev) != 0))
		return -1;
	return mail_row(h, c, item);
}

/* A submission on its way to the writer: everything db_submit reads lives here until it is
 * answered. */
struct pending {
	struct intake in; /* the checked copy (attachment types by content; phone, e-mail and
	                   * language in their stored forms) */
	char phone[PHONE_TIDY_SIZE]; /* in.phone's, tidied */
	char email[EMAIL_TIDY_SIZE]; /* in.email's, tidied */
	struct scan_report report;           /* what the virus scan did to in's attachments */
	char screened[SCREEN_MATCHED_MAX];   /* prohibited entries found in the text */
	struct db_item item;
	struct db_history h;
	struct db_submission sub;
	struct hook_ctx hook;
	char note[64];
};

/* in's text, lent to an item (prepare with lend): NULL when absent, as dup_opt */
static char *
lend_opt(const char *s)
{
	return present(s) ? (char *)s : NULL;
}

/* Takes back from item the texts prepare lent it (NULL in their place), so that db_item_free
 * frees only what is item's own. */
static void
item_unlend(struct db_item *item)
{
	item->subject = item->body = item->name = item->phone = item->email = NULL;
	item->address = item->lat = item->lng = item->extension = NULL;
}

/* item's texts from in: copies, or with lend in's own strings (and a literal "none"). 0, or -1
 * when out of memory (none kept). */
static int
item_texts(struct db_item *item, const struct intake *in, int lend)
{
	char *(*take)(const char *) = lend ? lend_opt : dup_opt;

	/* lent: 6 strdups and their frees fewer on an I/O thread (issue 20) */
	item->subject = take(in->subject);
	item->body = take(in->body);
	item->name = take(in->name);
	item->phone = take(in->phone);
	item->email = take(in->email);
	item->address = take(in->address);
	item->lat = take(in->lat);
	item->lng = take(in->lng);
	item->extension = lend ? (char *)"none" : strdup("none");
	if (lend)
		return 0;
	if (item->subject == NULL || item->body == NULL || item->extension == NULL ||
	    (present(in->name) && item->name == NULL) ||
	    (present(in->phone) && item->phone == NULL) ||
	    (present(in->email) && item->email == NULL) ||
	    (present(in->address) && item->address == NULL) ||
	    (present(in->lat) && item->lat == NULL) || (present(in->lng) && item->lng == NULL)) {
		db_item_free(item);
		return -1;
	}
	return 0;
}

/* Fills p (from p->in) for the writer: the item with its clocks, its first history row, the
 * hook. lend: the item's texts are in's own strings (and a literal "none"), not copies, for a
 * caller whose in outlives the item's use (core_submit_start: item_unlend before
 * db_item_free). 0, or -1 with err (nothing to free). */
static int
prepare(struct app *app, struct pending *p, int64_t now, char code[QUERY_CODE_LEN + 1],
        int lend, struct core_error *err)
{
	const struct intake *in = &p->in;
	struct db_item *item = &p->item;
	struct db_history *h = &p->h;
	struct db_submission *sub = &p->sub;
	struct sla_calendar *cal;
	struct policy policy;
	enum kind kind = (enum kind)kind_parse(in->kind);
	int year, month, mday;

	memset(item, 0, sizeof(*item));
	memset(h, 0, sizeof(*h));
	memset(sub, 0, sizeof(*sub));
	app_query_code(app, code);
	item->kind = kind;
	item->channel = in->channel;
	item->state = WF_RECEIVED;
	item->resume_state = WF_NONE;
	item->clocks_later = 1; /* after_insert writes them (with the batch's, at its end) */
	if (item_texts(item, in, lend) != 0)
		return core_fail(err, CORE_BUSY, NULL, "out of memory; try again");
	item->publish = in->publish == 1;
	/* the language the citizen's notices are written in: as said, else guessed */
	item->lang = present(in->lang) ? (enum lang)lang_parse(in->lang)
	                               : lang_guess(in->subject, in->body);
	query_code_hash(code, item->query_hash);
	item->received = in->received;
	item->created = item->updated = now;
	/* the policy in force now: a later change never moves this item's due times */
	app_policy(app, kind, &policy);
	cal = app_calendar(app);
	clocks_start(item, &policy, cal, in->received);
	sla_calendar_unref(cal);

	h->at = now;
	h->actor_id = in->staff ? in->staff->account_id : 0;
	h->actor = in->staff ? in->staff->username : (char *)"citizen";
	h->action = (char *)"submit";
	h->to_state = (char *)"received";
	if (in->channel != CHANNEL_WEB) {
		snprintf(p->note, sizeof(p->note), "registered from %s", channel_name(in->channel));
		h->note = p->note;
	}
	h->citizen = 1;

	sla_split(sla_local_day(now), &year, &month, &mday);
	sub->item = item;
	sub->day = year * 10000 + month * 100 + mday;
	sub->att = in->att;
	sub->natt = in->natt;
	sub->history = NULL; /* after_insert writes h (with the batch's, at its end) */
	sub->after = after_insert;
	sub->after_cls = &p->hook;
	p->hook.app = app;
	p->hook.in = in;
	p->hook.now = now;
	p->hook.scan = &p->report;
	p->hook.screened = p->screened;
	p->hook.mail_conflict = 0;
	p->hook.history = h;
	p->hook.code = in->channel == CHANNEL_EMAIL ? code : NULL;
	/* its row written at the batch's end with the others' (one statement), when nothing of it
	 * is written before: no attachment, no history row before its submit row (history_later),
	 * no mail_in row */
	item->insert_later = p->in.natt == 0 && in->mail == NULL && history_later(&p->hook);
	return 0;
}

/* Checks in (as core_submit) into p->in, a copy with the attachments' types by content. 0,
 * or -1 with err. */
static int
check(struct app *app, const struct intake *in, int64_t now, struct pending *p,
      struct core_error *err)
{
	const char *texts[2];

	if (!in->checked && core_submit_check(in, err) != 0)
		return -1;
	/* a date of receipt on a letter lies at most receipt_max_age_days back (#14 point 16) */
	if (in->received < now - app->cfg.receipt_max_age_days * 86400L)
		return core_fail(err, CORE_INVALID, "received",
		                 "received lies more than %ld days back", app->cfg.receipt_max_age_days);
	p->in = *in;
	/* phone, e-mail address and language in the forms stored (validate.c) */
	if (present(in->phone) && phone_tidy(in->phone, p->phone))
		p->in.phone = p->phone;
	if (present(in->email) && email_tidy(in->email, p->email))
		p->in.email = p->email;
	if (present(in->lang))
		p->in.lang = lang_name((enum lang)lang_tag_parse(in->lang));
	/* attachments: their type by content, allowed by configuration; size caps (point 15) */
	if (attach_check(app, p->in.att, p->in.natt, 0, err) != 0)
		return -1;
	/* infected files are taken out here (the item is stored and says why), unscanned ones
	 * held (scan.c) */
	scan_intake(app, &p->in, &p->report);
	/* prohibited words flag the item for the dispatcher; its text stays as written */
	texts[0] = in->subject;
	texts[1] = in->body;
	screen_match(app->cfg.screen_list, texts, 2, p->screened, sizeof(p->screened));
	return 0;
}

int
core_submit_report(struct app *app, const struct intake *in, int64_t now, struct db_item *out,
                   char code[QUERY_CODE_LEN + 1], struct scan_report *report,
                   struct core_error *err)
{
	struct pending p;

	if (check(app, in, now, &p, err) != 0 || prepare(app, &p, now, code, 0, err) != 0)
		return -1;
	if (db_submit(app->submitter, &p.sub) != 0) {
		db_item_free(&p.item);
		if (p.hook.mail_conflict)
			return core_fail(err, CORE_CONFLICT, NULL, "the message was stored meanwhile");
		return core_fail(err, CORE_BUSY, NULL, "the item could not be stored; try again");
	}
	*out = p.item;
	*report = p.report;
	return 0;
}

int
core_submit(struct app *app, const struct intake *in, int64_t now, struct db_item *out,
            char code[QUERY_CODE_LEN + 1], struct core_error *err)
{
	struct scan_report report;

	return core_submit_report(app, in, now, out, code, &report, err);
}

/* A submission on its way to the writer (core_submit_start). */
struct core_submission {
	struct pending p;
	char code[QUERY_CODE_LEN + 1];
	struct app *app;
	struct core_submission *next; /* in app->spare */
};

#define INTAKE_SPARES_MAX 64 /* finished submissions' memory kept: more than a batch or two */

/* A zeroed submission: kept memory when there is some (malloc would take a block of 5 KB,
 * which first consolidates every small block freed since: 5 % of an I/O thread's time), else
 * new. NULL when out of memory. */
static struct core_submission *
submission_new(struct app *app)
{
	struct core_submission *s;

	pthread_mutex_lock(&app->spare_lock);
	s = app->spare;
	if (s != NULL) {
		app->spare = s->next;
		app->nspare--;
	}
	pthread_mutex_unlock(&app->spare_lock);
	if (s == NULL)
		s = calloc(1, sizeof(*s));
	else
		memset(s, 0, sizeof(*s));
	if (s != NULL)
		s->app = app;
	return s;
}

/* Keeps s's memory for the next submission, or frees it. */
static void
submission_free(struct core_submission *s)
{
	struct app *app = s->app;

	pthread_mutex_lock(&app->spare_lock);
	if (app->nspare < INTAKE_SPARES_MAX) {
		s->next = app->spare;
		app->spare = s;
		app->nspare++;
		s = NULL;
	}
	pthread_mutex_unlock(&app->spare_lock);
	free(s);
}

void
intake_spares_free(struct app *app)
{
	struct core_submission *s, *next;

	for (s = app->spare; s != NULL; s = next) {
		next = s->next;
		free(s);
	}
	app->spare = NULL;
	app->nspare = 0;
}

int
core_submit_start(struct app *app, const struct intake *in, int64_t now, void (*done)(void *cls),
                  void *cls, struct core_submission **out, struct core_error *err)
{
	struct core_submission *s = submission_new(app);

	if (s == NULL)
		return core_fail(err, CORE_BUSY, NULL, "out of memory; try again");
	if (check(app, in, now, &s->p, err) != 0 ||
	    prepare(app, &s->p, now, s->code, 1, err) != 0) {
		submission_free(s);
		return -1;
	}
	s->p.sub.on_done = done;
	s->p.sub.done_cls = cls;
	if (db_submit_start(app->submitter, &s->p.sub) != 0) {
		item_unlend(&s->p.item);
		db_item_free(&s->p.item);
		submission_free(s);
		return core_fail(err, CORE_BUSY, NULL, "the item could not be stored; try again");
	}
	*out = s;
	return 0;
}

int
core_submit_finish(struct core_submission *s, struct db_item *out, char code[QUERY_CODE_LEN + 1],
                   struct scan_report *report, struct core_error *err)
{
	int ret = 0;

	item_unlend(&s->p.item); /* in's, lent (core_submit_start) */
	if (db_submit_result(&s->p.sub) != 0) {
		db_item_free(&s->p.item);
		ret = core_fail(err, CORE_BUSY, NULL, "the item could not be stored; try again");
	} else {
		*out = s->p.item;
		memcpy(code, s->code, sizeof(s->code));
		/* without a scanner nothing but configured is set: not 2.9 KB copied */
		if (s->p.report.configured)
			*report = s->p.report;
		else
			report->configured = 0;
	}
	submission_free(s);
	return ret;
}

int
core_submit_many(struct app *app, const struct intake *const *in, size_t n, int64_t now,
                 struct db_item *out, char (*codes)[QUERY_CODE_LEN + 1], struct core_error *errs)
{
	struct pending *p = calloc(n > 0 ? n : 1, sizeof(*p));
	struct db_submission **subs = calloc(n > 0 ? n : 1, sizeof(*subs));
	size_t i, k = 0;
	int ret = -1;

	if (p == NULL || subs == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		errs[i].code = CORE_OK;
		if (check(app, in[i], now, &p[i], &errs[i]) == 0 &&
		    prepare(app, &p[i], now, codes[i], 0, &errs[i]) == 0)
			subs[k++] = &p[i].sub;
	}
	if (db_submit_many(app->submitter, subs, k) != 0)
		for (i = 0; i < k; i++)
			subs[i]->result = -1;
	for (i = 0; i < n; i++) {
		if (errs[i].code != CORE_OK)
			continue;
		if (p[i].sub.result != 0) {
			db_item_free(&p[i].item);
			if (p[i].hook.mail_conflict)
				core_fail(&errs[i], CORE_CONFLICT, NULL, "the message was stored meanwhile");
			else
				core_fail(&errs[i], CORE_BUSY, NULL,
				          "the item could not be stored; try again");
			continue;
		}
		out[i] = p[i].item;
	}
	ret = 0;
out:
	free(subs);
	free(p);
	return ret;
}
