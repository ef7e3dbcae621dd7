/*
 * api_int.h: what the files of service/api share: the handlers (h_*.c, one file per resource),
 * the JSON views of items, clocks, accounts and policies (views.c) and the query-string helpers.
 */
#ifndef API_INT_H
#define API_INT_H

#include <jansson.h>

#include "service/core/core.h"
#include "service/http/http.h"
#include "api.h"

/* --- JSON views (views.c) ----------------------------------------------------------------- */

/* The clocks as the API shows them: a new object {"reply":{"due":"YYYY-MM-DDTHH:MM:SS+08:00",
 * "days","unit","started","working_days_left","overdue","state":"running|paused|stopped",
 * "provisional","explanation":[{"date","kind":"off|work","name"}],"result"},"forward":{…}}. */
json_t *clocks_json(const struct db_item *item, const struct sla_calendar *cal, int64_t now);
/* An instant as local ISO 8601 with offset: a new JSON string, or JSON null for 0. */
json_t *json_time(int64_t t);
/* A kind's policy for the API: a new object {"forward_days":3,…,"unit":"working_days",
 * "end_of_day":"24:00","on_forward":"keep","on_supplement":"restart","source":{KEY:"config"|
 * "admin",…}} (admin: the bits of struct policies), or NULL when out of memory. */
json_t *policy_json(const struct policy *p, unsigned admin);
/* JSON of an account for the API (no password hash): a new reference or NULL. */
json_t *account_json(struct db_conn *c, const struct db_account *a);
/* The history of an item as a new JSON array [{at, action, to_state, note[, actor,
 * from_state]}]: citizen 1 = only citizen-visible rows, without actors. NULL on error. */
json_t *item_history_json(struct db_conn *c, int64_t item_id, int citizen);
/* A JSON string of s, or JSON null for NULL; a JSON integer of id, or null for 0. */
json_t *json_str_or_null(const char *s);
json_t *json_id_or_null(int64_t id);
/* Answers 200 with the staff view of item `tracking` (as GET /api/v1/items/{tracking}), or 404.
 * Used after a change, so that every change answers with the item as it now is. */
void item_answer(struct req *req, struct resp *resp, const char *tracking);
/* GET /api/v1/items/{tracking}: the item through core_item_read (section rule, audited). */
void item_read_answer(struct req *req, struct resp *resp, const char *tracking);

/* --- encoded records (records.c) --------------------------------------------------------- */

/* The public lists' records as jansson encoded them, kept per I/O thread (with its read
 * connection) up to cfg.read_cache KiB, each with the row it was built from (db_row): served
 * again only for a row byte for byte the same, so that no change committed to what a record
 * shows is ever answered from an older record (issue 20). */
struct rcache;
enum rcache_kind {
	RCACHE_O311,  /* a request of Open311's list */
	RCACHE_BOARD, /* an item of the board */
	RCACHE_QUEUE, /* an item of the staff queue */
	RCACHE__MAX
};
/* The cache of req's thread (lent; made at its first use), or NULL: off, or not an I/O
 * thread. */
struct rcache *rcache_of(struct req *req);
/* A new cache of budget bytes (rows and records; a record over 64 KiB is never kept), or NULL;
 * rcache_free releases it (rcache_of's are freed with their connection). */
struct rcache *rcache_new(size_t budget);
void rcache_free(void *rc);
/* The bytes its rows and records take now (at most its budget). */
size_t rcache_bytes(const struct rcache *rc);
/* n row buffers (db_row) that one answer at a time reads its rows into, kept by the thread's
 * cache from answer to answer (no allocation per row); lent until the next call; NULL when rc
 * is NULL or out of memory (the caller then uses rows of its own). */
struct db_row *rcache_rows(struct rcache *rc, size_t n);
/* 1 with *text, *len (lent until the next rcache_keep) the record of (kind, id) built from
 * exactly src (srclen bytes: the row, db_row, and whatever else the record shows, such as
 * values computed from the time); 0 when there is none (or rc is NULL). */
int rcache_find(struct rcache *rc, enum rcache_kind kind, int64_t id, const void *src,
                size_t srclen, const char **text, size_t *len);
/* Keeps a copy of the record text built from src, replacing what the slot held and, when the
 * budget is spent, other slots' records in turn; nothing when rc is NULL. */
void rcache_keep(struct rcache *rc, enum rcache_kind kind, int64_t id, const void *src,
                 size_t srclen, const char *text, size_t len);

/* An answer assembled from records that jansson encoded and the punctuation between them
 * (no JSON is written by hand: every value is jansson's). Zero it to start. */
struct jout {
	char *p;
	size_t len, cap;
	int failed; /* out of memory or over the cap: jout_send answers 500 */
};
/* Appends n bytes: punctuation, or a record jansson encoded earlier. */
void jout_raw(struct jout *o, const char *s, size_t n);
/* Appends j (not taken) as resp_json would encode it: 0, or -1 (o->failed set). */
int jout_dump(struct jout *o, json_t *j);
/* Answers status with the text (500 if it failed), then frees it. */
void jout_send(struct jout *o, struct resp *resp, int status);
void jout_free(struct jout *o);

/* One JSON object reused for every record of an answer (issue 20): its members are made once,
 * in the order of keys (ASCII literals, lent for its life), each null; a record then replaces
 * their values in place, without a tree built and freed per record: a text goes into the
 * member's own json_string (json_string_setn, which checks it as json_string does), a static
 * text into a json_string kept for that text, a null is jansson's singleton. jrec_dump writes
 * the record as jansson dumps the object whole (jout_dump), piece by piece: each key with its
 * punctuation once for the answer, each constant value (null, true, false, a static text) as
 * jansson encoded it once for the answer, a text of ours found printable ASCII without a quote
 * or backslash (a key, jrec_ascii, jrec_time: a tracking number, a time) as it stands between
 * quotes (its JSON encoding, byte for byte), and every other value, every citizen's and
 * staff's text first, dumped by jansson for each record. Zero it to start; jrec_free releases it (NULL-safe). */
struct jrec_piece {
	const char *enc; /* the value's encoding when known without a dump (a constant's, or
	                  * txt), else NULL: jrec_dump dumps the object's member */
	size_t len;      /* of enc */
	char txt[44];    /* '"', a text of ours in printable ASCII without '"' or '\\' (at most
	                  * 42 bytes; a time at most 39), '"' */
};
struct jrec_const {
	const void *key; /* a static text (compared by address), or a singleton's json_t */
	json_t *v;       /* its json_string, or the singleton */
	char *enc;       /* its encoding, jansson's (json_dumps) */
	size_t len;
};
struct jrec {
	json_t *obj;  /* the record: lent to jout_dump; jrec_take hands it over */
	void **iters; /* each member's place in obj (json_object_iter) */
	json_t **own; /* each member's own string or integer, made at its first use */
	struct jrec_piece *pieces; /* how jrec_dump writes each member's value */
	char *keys;   /* '{' or ',', then each member's key as jansson encodes it and ':', one after
	               * the other: member i's at keys + koff[i], koff[i + 1] - koff[i] bytes */
	size_t *koff;
	size_t n;
	int dumped;   /* 1: each record is written by jrec_dump as soon as it is set, and a dump
	               * that fails fails the answer: jrec_text leaves the check of its text to
	               * the dump (jansson's dump refuses what json_string refuses, by the same
	               * UTF-8 rule), rather than walking every text twice, and a text that
	               * jrec_dump writes as it stands is kept in its piece alone, not in obj
	               * (obj is then not the record: jrec_take only when 0) */
	struct jrec_const consts[24]; /* the constant values met in this answer */
	size_t nconsts;
};
/* 0, or -1 (out of memory). */
int jrec_init(struct jrec *r, const char *const *keys, size_t n);
void jrec_free(struct jrec *r);
/* The object as it is now, handed over (a new reference: the caller decrefs it); r is freed.
 * NULL when r is not initialised. */
json_t *jrec_take(struct jrec *r);
/* Appends the record as jout_dump(o, r->obj) would, byte for byte: 0, or -1 (o->failed set,
 * nothing appended: a text that is not UTF-8, out of memory). */
int jrec_dump(struct jrec *r, struct jout *o);
/* Member i's value: v taken (a new reference, or a singleton); -1 when v is NULL (as
 * json_object_set_new). */
int jrec_set(struct jrec *r, size_t i, json_t *v);
/* Member i: the text s (checked as json_string checks it: -1 when not UTF-8; when r->dumped, by
 * the dump), or null for NULL. */
int jrec_text(struct jrec *r, size_t i, const char *s);
/* Member i: s, text of ours in ASCII (not checked, as json_string_nocheck), null for NULL. */
int jrec_ascii(struct jrec *r, size_t i, const char *s);
/* Member i: s, a static ASCII or UTF-8 text of this program (not checked; kept as one
 * json_string per distinct s for the life of r). */
int jrec_static(struct jrec *r, size_t i, const char *s);
/* Member i: the instant t as json_time shows it (null for 0). */
int jrec_time(struct jrec *r, size_t i, int64_t t);
/* Member i: the integer v. */
int jrec_int(struct jrec *r, size_t i, json_int_t v);

/* --- helpers (util.c) --------------------------------------------------------------------- */

/* Writes one audit row for the actor and address of req (the session's account, or
 * "anonymous"), at req->now, inside the caller's transaction if one is open on req->db.
 * fmt (printf, may be NULL) gives the detail. Returns 0 or -1. */
int audit_log(struct req *req, const char *action, const char *target, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* The name of the first text field of req's form given again with another value (a browser
 * never does; a script may: publish=true&publish=false), lent; NULL when there is none. The
 * form readers take a field's first value, so a disagreement is refused (400 naming the field)
 * as JSON's member given twice is. */
const char *form_conflict(const struct req *req);

/* Answers the core error err with its HTTP status, from one table: 400 (naming the field), 413,
 * 403, 404, 409 (with the item's state and the actions allowed now), 503 with Retry-After, 500. */
void resp_core_error(struct resp *resp, const struct core_error *err);
/* The HTTP status of err, from the same table. */
int core_error_status(const struct core_error *err);

/* Query-string helpers of the listing handlers. Each answers 400 naming the parameter and
 * returns -1 when it is bad. cursor_parse reads a keyset cursor "A:B" (B > 0): 0 or -1 without
 * answering. limit_param: "limit" in 1..max, def when absent. search_param: the board's "q"
 * (at most 100 characters), NULL when absent or blank (the queue's: core_search_parse). */
int cursor_parse(const char *s, int64_t *a, int64_t *b);
int limit_param(struct req *req, struct resp *resp, int def, int max, int *out);
/* "before", the id a newest-first page of rows continues below: INT64_MAX when absent; -1
 * after answering 400. */
int before_param(struct req *req, struct resp *resp, int64_t *out);
int search_param(struct req *req, struct resp *resp, const char **out);

/* --- a new item from a request (h_items.c) ----------------------------------------------- */

/* What a request carried for a new item: struct intake (strings lent from the request or from
 * json) and the staff fields as text. */
struct item_input {
	struct intake in;
	json_t *json;         /* owns the JSON strings in `in` (NULL for forms); caller decrefs */
	const char *channel;  /* as sent, or NULL */
	const char *received; /* as sent, or NULL */
	char ctypes[INTAKE_MAX_ATTACHMENTS][INTAKE_CTYPE_MAX + 1]; /* cleaned content types */
};

/* Fill ir (zeroed by the caller, in.channel and in.received set) from the JSON body or from the
 * form fields of req (urlencoded or multipart, files as attachments). 0, or -1 having answered
 * 400 naming the field. The checks of the item itself are core_submit's. */
int item_input_json(struct req *req, struct resp *resp, struct item_input *ir);
int item_input_form(struct req *req, struct resp *resp, struct item_input *ir);
/* The last path segment of an uploaded file's name as browsers may send it (C:\dir\file.pdf),
 * fitted into INTAKE_FILENAME_MAX bytes by attach_name_fit (s is written): points into s. */
char *upload_name(char *s);

/* --- handlers (h_*.c) --------------------------------------------------------------------- */

void h_health(struct req *req, struct resp *resp);
/* h_auth.c */
void h_login(struct req *req, struct resp *resp);
void h_logout(struct req *req, struct resp *resp);
void h_me(struct req *req, struct resp *resp);
void h_password(struct req *req, struct resp *resp);
/* h_screening.c: the screening flag of an item as {"matched","at","cleared","cleared_by",
 * "cleared_at"}, or JSON null: a new reference. */
json_t *screening_json(struct db_conn *c, int64_t item_id);
void h_item_screening(struct req *req, struct resp *resp);
void h_item_citizen_mail(struct req *req, struct resp *resp);
/* h_totp.c */
void h_totp_status(struct req *req, struct resp *resp);
void h_totp_enroll(struct req *req, struct resp *resp);
void h_totp_confirm(struct req *req, struct resp *resp);
void h_admin_totp_reset(struct req *req, struct resp *resp);
/* h_outbox.c */
void h_admin_outbox_list(struct req *req, struct resp *resp);
void h_admin_outbox_retry(struct req *req, struct resp *resp);
void h_admin_outbox_retry_given_up(struct req *req, struct resp *resp);
/* h_mail.c */
void h_admin_mail_list(struct req *req, struct resp *resp);
/* h_admin.c */
void h_admin_users_list(struct req *req, struct resp *resp);
void h_admin_users_add(struct req *req, struct resp *resp);
void h_admin_users_patch(struct req *req, struct resp *resp);
void h_admin_sections_list(struct req *req, struct resp *resp);
void h_admin_sections_add(struct req *req, struct resp *resp);
void h_admin_sections_patch(struct req *req, struct resp *resp);
/* h_policies.c */
void h_admin_policies_list(struct req *req, struct resp *resp);
void h_admin_policies_patch(struct req *req, struct resp *resp);
/* h_audit.c */
void h_audit(struct req *req, struct resp *resp);
/* h_items.c */
void h_items_post(struct req *req, struct resp *resp);
void h_item_get(struct req *req, struct resp *resp);
void h_item_attachment(struct req *req, struct resp *resp);
/* h_track.c */
void h_track_supplement(struct req *req, struct resp *resp);
void h_track_withdraw(struct req *req, struct resp *resp);
void h_track(struct req *req, struct resp *resp);
/* h_open311.c: a record of Open311's list and single GET. o311_record_init makes r with
 * GeoReport's members in order; o311_record sets them for item under core_public_view's rule
 * (every member, null where withheld; never name, phone, e-mail or location): 1, 0 for a hidden
 * item (r left as it was), -1 on error (a text not UTF-8, out of memory). */
int o311_record_init(struct jrec *r);
int o311_record(const struct app *app, struct jrec *r, const struct db_item *item);
void h_open311_services(struct req *req, struct resp *resp);
void h_open311_service(struct req *req, struct resp *resp);
void h_open311_requests_post(struct req *req, struct resp *resp);
void h_open311_requests_get(struct req *req, struct resp *resp);
void h_open311_request_get(struct req *req, struct resp *resp);
/* h_open311_xml.c: the same answers in XML; the discovery document */
void h_open311_services_xml(struct req *req, struct resp *resp);
void h_open311_service_any(struct req *req, struct resp *resp);
void h_open311_requests_post_xml(struct req *req, struct resp *resp);
void h_open311_requests_get_xml(struct req *req, struct resp *resp);
void h_open311_request_any(struct req *req, struct resp *resp);
void h_open311_discovery(struct req *req, struct resp *resp);
void h_open311_discovery_xml(struct req *req, struct resp *resp);
void h_open311_layer_error(struct req *req, struct resp *resp);
/* h_public.c: a record of the board (list and single GET). board_record_init makes r with the
 * members tracking, kind, subject, body, reply, received, replied; board_record sets them for
 * row r: 0, or -1 (a text not UTF-8, out of memory). */
int board_record_init(struct jrec *rec);
int board_record(struct jrec *rec, const struct db_public_row *r);
/* h_actions.c, h_queue.c, h_public.c */
void h_item_action(struct req *req, struct resp *resp);
void h_queue(struct req *req, struct resp *resp);
void h_public_list(struct req *req, struct resp *resp);
void h_public_get(struct req *req, struct resp *resp);
void h_item_public_patch(struct req *req, struct resp *resp);
/* h_stats.c, h_rating.c, h_supervision.c */
void h_stats(struct req *req, struct resp *resp);
void h_track_rating(struct req *req, struct resp *resp);
void h_item_followup(struct req *req, struct resp *resp);
void h_item_supervise(struct req *req, struct resp *resp);
/* The supervision order of an item as {"at","by","note","due","overdue"}, or JSON null: a new
 * reference. */
json_t *supervision_json(struct db_conn *c, int64_t item_id, int64_t now);
/* The "supervision" member of an order already read (NULL: none): a new reference. */
json_t *supervision_view(const struct db_supervision *s, int64_t now);
/* The newest rating of an item as {"value","at","round"} (staff 1: with "comment", "followup",
 * "followup_note", "followup_at"), or JSON null: a new reference. */
json_t *rating_json(struct db_conn *c, int64_t item_id, int staff);
#ifdef CIVICDESK_TEST_HOOKS
void h_test_clock(struct req *req, struct resp *resp);
#endif

#endif
