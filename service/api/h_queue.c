/* h_queue.c: GET /api/v1/queue — the staff queue: open items by nearest due time, filtered,
 * with keyset pagination — and POST /api/v1/items/{tracking}/citizen_mail, which clears the
 * queue's mark of a citizen's e-mail on an ended item. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_int.h"

#define QUEUE_DEFAULT_LIMIT 50
#define QUEUE_MAX_LIMIT 100
#define QUERY_TEXT_MAX 100 /* code points of a search text */

/* Parses a whole decimal integer in [min, max]: 0, or -1. */
static int
parse_int(const char *s, int64_t min, int64_t max, int64_t *out)
{
	char *end;
	long long v;

	if (s == NULL || *s == '\0')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* A keyset cursor "A:B" of two integers (B > 0): 0, or -1. */
int
cursor_parse(const char *s, int64_t *a, int64_t *b)
{
	char buf[64];
	const char *colon;
	int64_t x, y;

	if (s == NULL || strlen(s) >= sizeof(buf))
		return -1;
	colon = strchr(s, ':');
	if (colon == NULL)
		return -1;
	memcpy(buf, s, (size_t)(colon - s));
	buf[colon - s] = '\0';
	if (parse_int(buf, INT64_MIN, INT64_MAX, &x) != 0 ||
	    parse_int(colon + 1, 1, INT64_MAX, &y) != 0)
		return -1;
	*a = x;
	*b = y;
	return 0;
}

/* The "limit" parameter: 0 or -1 after answering 400. */
int
limit_param(struct req *req, struct resp *resp, int def, int max, int *out)
{
	const char *s = req_query(req, "limit");
	int64_t v;

	if (s == NULL) {
		*out = def;
		return 0;
	}
	if (parse_int(s, 1, max, &v) != 0) {
		resp_error_field(resp, 400, "limit", "limit must be a number from 1 to %d", max);
		return -1;
	}
	*out = (int)v;
	return 0;
}

/* The "q" parameter: NULL when absent or blank; -1 after answering 400. */
int
search_param(struct req *req, struct resp *resp, const char **out)
{
	const char *s = req_query(req, "q");
	long n;

	*out = NULL;
	if (s == NULL || !text_nonblank(s))
		return 0;
	n = text_check(s, strlen(s), 0);
	if (n < 0 || n > QUERY_TEXT_MAX) {
		resp_error_field(resp, 400, "q", "q must be text of at most %d characters",
		                 QUERY_TEXT_MAX);
		return -1;
	}
	*out = s;
	return 0;
}

/* Reads the filters of the query string into f, the words of its text search into search (f
 * lends it). 0, or -1 after answering (400, 500). */
static int
read_filter(struct req *req, struct resp *resp, struct db_queue_filter *f,
            struct db_search *search)
{
	struct core_error err;
	const char *s;
	sla_day day;
	int64_t v;
	int rc;

	memset(f, 0, sizeof(*f));
	s = req_query(req, "section");
	if (s != NULL && *s != '\0') {
		struct db_section sec;

		if (parse_int(s, 1, INT64_MAX, &v) == 0)
			rc = db_section_get(req->db, v, &sec);
		else
			rc = db_section_by_name(req->db, s, &sec);
		if (rc < 0)
			goto fail;
		if (rc == 0) {
			resp_error_field(resp, 400, "section", "no such section");
			return -1;
		}
		f->section_id = sec.id;
		db_section_free(&sec);
	}
	s = req_query(req, "assignee");
	if (s != NULL && *s != '\0') {
		struct db_account a;

		rc = db_account_by_name(req->db, s, &a);
		if (rc < 0)
			goto fail;
		if (rc == 0) {
			resp_error_field(resp, 400, "assignee", "no such account");
			return -1;
		}
		f->assignee_id = a.id;
		db_account_free(&a);
	}
	s = req_query(req, "state");
	if (s != NULL && *s != '\0' && strcmp(s, "open") != 0) {
		if (strcmp(s, "all") == 0) {
			f->states = DB_STATES_ALL;
		} else if (wf_state_parse(s) >= 0) {
			f->states = DB_STATES_ONE;
			f->state = (enum wf_state)wf_state_parse(s);
		} else {
			resp_error_field(resp, 400, "state", "state must be a state, open or all");
			return -1;
		}
	}
	s = req_query(req, "kind");
	if (s != NULL && *s != '\0') {
		if (kind_parse(s) < 0) {
			resp_error_field(resp, 400, "kind",
			                 "kind must be letter, complaint or consultation");
			return -1;
		}
		f->by_kind = 1;
		f->kind = (enum kind)kind_parse(s);
	}
	s = req_query(req, "overdue");
	if (s != NULL && *s != '\0') {
		if (strcmp(s, "1") == 0 || strcmp(s, "true") == 0)
			f->due_before = req->now;
		else if (strcmp(s, "0") != 0 && strcmp(s, "false") != 0) {
			resp_error_field(resp, 400, "overdue", "overdue must be 1 or 0");
			return -1;
		}
	}
	s = req_query(req, "due_before");
	if (s != NULL && *s != '\0') {
		int64_t t;

		if (sla_date_parse(s, &day) != 0) {
			resp_error_field(resp, 400, "due_before", "due_before must be YYYY-MM-DD");
			return -1;
		}
		t = sla_day_end(day, 0);
		if (f->due_before == 0 || t < f->due_before)
			f->due_before = t;
	}
	s = req_query(req, "citizen_mail");
	if (s != NULL && *s != '\0') {
		if (strcmp(s, "1") == 0 || strcmp(s, "true") == 0)
			f->citizen_mail = 1;
		else if (strcmp(s, "0") != 0 && strcmp(s, "false") != 0) {
			resp_error_field(resp, 400, "citizen_mail", "citizen_mail must be 1 or 0");
			return -1;
		}
	}
	if (core_search_parse(req_query(req, "q"), search, &err) != 0) {
		resp_core_error(resp, &err);
		return -1;
	}
	f->search = search;
	s = req_query(req, "cursor");
	if (s != NULL && *s != '\0' && cursor_parse(s, &f->after_due, &f->after_id) != 0) {
		resp_error_field(resp, 400, "cursor", "not a cursor of this list");
		return -1;
	}
	return limit_param(req, resp, QUEUE_DEFAULT_LIMIT, QUEUE_MAX_LIMIT, &f->limit);
fail:
	resp_error(resp, 500, "internal", "the queue cannot be read");
	return -1;
}

static json_t *
str_json(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

/* What a queue record shows besides its row: the values computed from the time and the
 * calendar (zeroed as a whole, so that two of them compare by their bytes). */
struct derived {
	int64_t left;                /* working days left (running only) */
	unsigned char overdue;       /* running and due before now */
	unsigned char supplement;    /* core_supplement_overdue */
	unsigned char order_overdue; /* the supervision order's due time passed */
};

static json_t *
queue_json(struct req *req, const struct db_queue_row *r, const struct derived *d)
{
	int running = r->next_due != DB_NO_DUE;
	json_t *o = json_object();

	/* one member at a time, keys unchecked (ASCII constants): json_pack parsed its format
	 * and checked every key again for each of the 50 rows (a fifth of a page) */
	if (o == NULL)
		return NULL;
	json_object_set_new_nocheck(o, "tracking", json_string_nocheck(r->tracking));
	json_object_set_new_nocheck(o, "kind", json_string_nocheck(kind_name(r->kind)));
	json_object_set_new_nocheck(o, "subject", json_string(r->subject));
	json_object_set_new_nocheck(o, "state", json_string_nocheck(wf_state_name(r->state)));
	json_object_set_new_nocheck(o, "section", str_json(r->section));
	json_object_set_new_nocheck(o, "assignee", str_json(r->assignee));
	json_object_set_new_nocheck(o, "received", json_time(r->received));
	json_object_set_new_nocheck(o, "next_due", running ? json_time(r->next_due) : json_null());
	json_object_set_new_nocheck(o, "overdue", json_boolean(d->overdue));
	json_object_set_new_nocheck(o, "supplement_overdue", json_boolean(d->supplement));
	json_object_set_new_nocheck(o, "working_days_left",
	                            running ? json_integer(d->left) : json_null());
	json_object_set_new_nocheck(o, "supervision", supervision_view(r->supervision, req->now));
	json_object_set_new_nocheck(o, "screening",
	                            r->screened ? screening_json(req->db, r->id) : json_null());
	json_object_set_new_nocheck(o, "citizen_mail", json_time(r->citizen_mail_at));
	return o;
}

/* The members of a queue record, in order (queue_json's). */
enum queue_member {
	Q_TRACKING,
	Q_KIND,
	Q_SUBJECT,
	Q_STATE,
	Q_SECTION,
	Q_ASSIGNEE,
	Q_RECEIVED,
	Q_NEXT_DUE,
	Q_OVERDUE,
	Q_SUPPLEMENT,
	Q_LEFT,
	Q_SUPERVISION,
	Q_SCREENING,
	Q_CITIZEN_MAIL,
	Q__MAX
};

static const char *const queue_keys[Q__MAX] = {
    [Q_TRACKING] = "tracking",
    [Q_KIND] = "kind",
    [Q_SUBJECT] = "subject",
    [Q_STATE] = "state",
    [Q_SECTION] = "section",
    [Q_ASSIGNEE] = "assignee",
    [Q_RECEIVED] = "received",
    [Q_NEXT_DUE] = "next_due",
    [Q_OVERDUE] = "overdue",
    [Q_SUPPLEMENT] = "supplement_overdue",
    [Q_LEFT] = "working_days_left",
    [Q_SUPERVISION] = "supervision",
    [Q_SCREENING] = "screening",
    [Q_CITIZEN_MAIL] = "citizen_mail",
};

static int
queue_record_init(struct jrec *rec)
{
	return jrec_init(rec, queue_keys, Q__MAX);
}

/* queue_json's record set in rec, the answer's one object (every member, for every record):
 * 0, or -1 where queue_json would leave a member out (no subject, out of memory), for the caller
 * to build that record with queue_json, as it does when the record's dump refuses a text that
 * is not UTF-8 (rec->dumped). */
static int
queue_record_set(struct req *req, struct jrec *rec, const struct db_queue_row *r,
                 const struct derived *d)
{
	int running = r->next_due != DB_NO_DUE, rc = 0;

	if (r->subject == NULL)
		return -1;
	rc |= jrec_ascii(rec, Q_TRACKING, r->tracking);
	rc |= jrec_static(rec, Q_KIND, kind_name(r->kind));
	rc |= jrec_text(rec, Q_SUBJECT, r->subject);
	rc |= jrec_static(rec, Q_STATE, wf_state_name(r->state));
	rc |= jrec_text(rec, Q_SECTION, r->section);
	rc |= jrec_text(rec, Q_ASSIGNEE, r->assignee);
	rc |= jrec_time(rec, Q_RECEIVED, r->received);
	rc |= running ? jrec_time(rec, Q_NEXT_DUE, r->next_due)
	              : jrec_set(rec, Q_NEXT_DUE, json_null());
	rc |= jrec_set(rec, Q_OVERDUE, json_boolean(d->overdue));
	rc |= jrec_set(rec, Q_SUPPLEMENT, json_boolean(d->supplement));
	rc |= running ? jrec_int(rec, Q_LEFT, d->left) : jrec_set(rec, Q_LEFT, json_null());
	rc |= jrec_set(rec, Q_SUPERVISION, supervision_view(r->supervision, req->now));
	rc |= jrec_set(rec, Q_SCREENING, r->screened ? screening_json(req->db, r->id) : json_null());
	rc |= jrec_time(rec, Q_CITIZEN_MAIL, r->citizen_mail_at);
	return rc != 0 ? -1 : 0;
}

/* Appends the record of queue row r to out: from the thread's cache when it was built from
 * the same row and the same values of the time (a screened item's record, which reads its
 * screening row, is always built), else set in rec (the answer's one object, made at its first
 * use; queue_json for a record it cannot show, whose members queue_json leaves out), encoded by
 * jansson and kept. 0 or -1. */
static int
queue_record(struct req *req, struct rcache *cache, struct jrec *rec,
             const struct sla_calendar *cal, const struct db_queue_row *r, struct db_row *src,
             struct jout *out)
{
	int running = r->next_due != DB_NO_DUE;
	size_t start = out->len, len;
	struct derived d;
	const char *text;
	json_t *o;
	int rc;

	memset(&d, 0, sizeof(d));
	d.overdue = running && r->next_due < req->now;
	d.supplement = core_supplement_overdue(req->app, r->waiting_since, req->now) != 0;
	d.left = running ? sla_days_left(cal, r->next_due, req->now) : 0;
	d.order_overdue = r->supervision != NULL && req->now > r->supervision->due;
	if (r->screened)
		cache = NULL;
	src->len = 0;
	if (cache != NULL) {
		/* the row, then the values of the time: what the record is built from */
		if (src->cap < r->row.len + sizeof(d)) {
			unsigned char *p = realloc(src->p, r->row.len + sizeof(d));

			if (p == NULL)
				cache = NULL;
			else {
				src->p = p;
				src->cap = r->row.len + sizeof(d);
			}
		}
	}
	if (cache != NULL) {
		memcpy(src->p, r->row.p, r->row.len);
		memcpy(src->p + r->row.len, &d, sizeof(d));
		src->len = r->row.len + sizeof(d);
		if (rcache_find(cache, RCACHE_QUEUE, r->id, src->p, src->len, &text, &len)) {
			jout_raw(out, text, len);
			return out->failed ? -1 : 0;
		}
	}
	if (out->failed)
		return -1;
	if (rec->obj == NULL && queue_record_init(rec) == 0)
		rec->dumped = 1; /* texts checked by the dump: one that fails is built again below */
	rc = -1;
	if (rec->obj != NULL && queue_record_set(req, rec, r, &d) == 0) {
		rc = jrec_dump(rec, out);
		if (rc != 0)
			out->failed = 0; /* set by this dump alone, which took its bytes back */
	}
	if (rc != 0) {
		o = queue_json(req, r, &d);
		rc = jout_dump(out, o);
		json_decref(o);
	}
	if (rc == 0 && cache != NULL)
		rcache_keep(cache, RCACHE_QUEUE, r->id, src->p, src->len, out->p + start,
		            out->len - start);
	return rc;
}

/* GET /api/v1/queue?section=&state=&kind=&assignee=&overdue=1&due_before=YYYY-MM-DD&q=&cursor=
 * &limit= (staff). section: name or id; state: a state, "open" (default: all but closed,
 * rejected, merged) or "all"; assignee: username; overdue: next due time passed; due_before:
 * due before that local date begins; q: words (a "quoted phrase" one word) each in the subject
 * or the body, case folded (core_search_parse); citizen_mail=1: only the
 * items marked by a citizen's e-mail after they ended (the open items include the ended ones
 * so marked). Answers 200
 * {"items":[{tracking, kind, subject, state, section, assignee, received, next_due, overdue,
 * working_days_left, …, citizen_mail: the time of the e-mail that marks the item, or null}],
 * "next_cursor": "next_due:id" or null}, sorted by next due time then id;
 * 400 naming a bad parameter; 500. The items are encoded by jansson one by one (and kept by the
 * thread's cache of records, records.c), the answer assembled from them. */
void
h_queue(struct req *req, struct resp *resp)
{
	struct db_queue_filter f;
	struct db_search search;
	struct core_error err;
	struct db_queue_row *rows = NULL;
	struct sla_calendar *cal = NULL;
	struct rcache *cache = rcache_of(req);
	struct db_row src = {NULL, 0, 0};
	struct jout out = {NULL, 0, 0, 0};
	struct jrec rec = {0};
	size_t n = 0, i, shown;
	json_t *next;
	int limit;
	char cursor[64];

	if (read_filter(req, resp, &f, &search) != 0)
		return;
	if (core_queue_scope(req->session, &f, &err) != 0) {
		resp_core_error(resp, &err);
		return;
	}
	limit = f.limit;
	f.limit = limit + 1; /* one more tells whether there is a next page */
	if (db_queue_list(req->db, &f, &rows, &n) != 0) {
		resp_error(resp, 500, "internal", "the queue cannot be read");
		return;
	}
	cal = app_calendar(req->app);
	shown = n > (size_t)limit ? (size_t)limit : n;
	/* {"items":[…],"next_cursor":…} as json_pack("{s:o, s:o}") would encode it: the keys
	 * are these ASCII literals, every value is jansson's */
	jout_raw(&out, "{\"items\":[", 10);
	for (i = 0; !out.failed && i < shown; i++) {
		if (i > 0)
			jout_raw(&out, ",", 1);
		queue_record(req, cache, &rec, cal, &rows[i], &src, &out);
	}
	if (n > (size_t)limit && shown > 0)
		snprintf(cursor, sizeof(cursor), "%" PRId64 ":%" PRId64, rows[shown - 1].next_due,
		         rows[shown - 1].id);
	next = n > (size_t)limit && shown > 0 ? json_string(cursor) : json_null();
	jout_raw(&out, "],\"next_cursor\":", 16);
	jout_dump(&out, next);
	json_decref(next);
	jout_raw(&out, "}", 1);
	jout_send(&out, resp, 200);
	jrec_free(&rec);
	db_row_free(&src);
	sla_calendar_unref(cal);
	db_queue_rows_free(rows, n);
}

/* POST /api/v1/items/{tracking}/citizen_mail {"note"?} (staff of the item's section): the
 * citizen's e-mail that marked the ended item is acknowledged, the mark cleared (history and
 * audit): 200 with the item; 400 naming note; 403; 404; 409 "not_marked". */
void
h_item_citizen_mail(struct req *req, struct resp *resp)
{
	struct core_error err;
	json_t *j = NULL, *note = NULL;

	if (req->body_len > 0) {
		if (req_json(req, resp, &j) != 0)
			return;
		note = json_object_get(j, "note");
		if (note != NULL && !json_is_string(note) && !json_is_null(note)) {
			resp_error_field(resp, 400, "note", "note must be text");
			json_decref(j);
			return;
		}
	}
	if (core_citizen_mail_seen(req->app, req->db, req->session, req->addr, req->params[0],
	                           json_is_string(note) ? json_string_value(note) : NULL,
	                           req->now, &err) != 0)
		resp_core_error(resp, &err);
	else
		item_answer(req, resp, req->params[0]);
	json_decref(j);
}
