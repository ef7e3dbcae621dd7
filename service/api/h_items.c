/*
 * h_items.c: the items resource. POST /api/v1/items takes a new item as JSON or as a web form
 * (urlencoded, or multipart with attachments); with "channel":"post"|"phone" and a staff
 * session it registers an item received on paper or by telephone. GET /api/v1/items/{tracking}
 * and GET /api/v1/items/{tracking}/attachments/{id} show an item and its files to staff.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api_int.h"

/* A string member v (NULL when absent) of the JSON body: absent or null leaves *out NULL. 0, or
 * -1 having answered 400 (not a string, or a string holding NUL). */
static int
json_text(json_t *v, const char *key, const char **out, struct resp *resp)
{
	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v)) {
		resp_error_field(resp, 400, key, "%s must be a string", key);
		return -1;
	}
	if (strlen(json_string_value(v)) != json_string_length(v)) {
		resp_error_field(resp, 400, key, "%s must not contain NUL characters", key);
		return -1;
	}
	*out = json_string_value(v);
	return 0;
}

/* The members of a JSON submission that item_input_json reads, in the order it checks them. */
enum input_member {
	IN_KIND,
	IN_SUBJECT,
	IN_BODY,
	IN_NAME,
	IN_PHONE,
	IN_EMAIL,
	IN_CHANNEL,
	IN_RECEIVED,
	IN_LANG,
	IN_TEXTS__MAX, /* the string members above */
	IN_PUBLISH = IN_TEXTS__MAX,
	IN_ATTACHMENTS,
	IN__MAX
};

static const char *const input_keys[IN__MAX] = {
	"kind", "subject", "body", "name", "phone", "email", "channel", "received", "lang",
	"publish", "attachments"};

int
item_input_json(struct req *req, struct resp *resp, struct item_input *ir)
{
	const char **outs[IN_TEXTS__MAX] = {&ir->in.kind,  &ir->in.subject, &ir->in.body,
	                                    &ir->in.name,  &ir->in.phone,   &ir->in.email,
	                                    &ir->channel, &ir->received,  &ir->in.lang};
	json_t *v[IN__MAX] = {NULL}, *value, *publish;
	const char *key;
	size_t i;

	if (req_json(req, resp, &ir->json) != 0)
		return -1;
	/* one pass over the members (a look-up by key hashes it: ten of them cost twice this);
	 * the parser refused a member given twice */
	json_object_foreach(ir->json, key, value) {
		for (i = 0; i < IN__MAX; i++)
			if (key[0] == input_keys[i][0] && strcmp(key, input_keys[i]) == 0) {
				v[i] = value;
				break;
			}
	}
	for (i = 0; i < IN_TEXTS__MAX; i++)
		if (json_text(v[i], input_keys[i], outs[i], resp) != 0)
			return -1;
	publish = v[IN_PUBLISH];
	if (publish == NULL || json_is_null(publish))
		ir->in.publish = -1;
	else if (json_is_boolean(publish))
		ir->in.publish = json_is_true(publish);
	else {
		resp_error_field(resp, 400, "publish", "publish must be true or false");
		return -1;
	}
	if (v[IN_ATTACHMENTS] != NULL) {
		resp_error_field(resp, 400, "attachments",
		                 "attachments are sent as multipart/form-data files");
		return -1;
	}
	return 0;
}

char *
upload_name(char *s)
{
	char *p, *base = s;

	for (p = s; *p != '\0'; p++)
		if (*p == '/' || *p == '\\')
			base = p + 1;
	/* longer than the stored limit (Windows allows 255 UTF-16 units, 765 bytes of Chinese):
	 * cut before its extension, as a mailed file's name is, instead of refused */
	attach_name_fit(base, INTAKE_FILENAME_MAX);
	return base;
}

/* "type/subtype" in lower case, parameters dropped; application/octet-stream if unusable. */
static void
clean_ctype(const char *s, char *out, size_t size)
{
	size_t n = 0;
	int slash = 0;

	while (*s == ' ')
		s++;
	for (; *s != '\0' && *s != ';' && *s != ' '; s++) {
		char c = *s;

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (n + 1 >= size)
			goto bad;
		if (c == '/')
			slash++;
		else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		           strchr("!#$&^_.+-", c) != NULL))
			goto bad;
		out[n++] = c;
	}
	out[n] = '\0';
	if (slash == 1 && n > 2 && out[0] != '/' && out[n - 1] != '/')
		return;
bad:
	snprintf(out, size, "application/octet-stream");
}

int
item_input_form(struct req *req, struct resp *resp, struct item_input *ir)
{
	static const char *const keys[] = {"kind",  "subject", "body",     "name", "phone",
	                                   "email", "channel", "received", "lang"};
	const char **outs[] = {&ir->in.kind,  &ir->in.subject, &ir->in.body,  &ir->in.name,
	                       &ir->in.phone, &ir->in.email,   &ir->channel, &ir->received,
	                       &ir->in.lang};
	const struct form_field *f;
	const char *key;
	size_t i;

	for (i = 0; i < req->nform; i++) {
		f = &req->form[i];
		if (f->filename != NULL) {
			struct db_attachment *a;

			if (f->filename[0] == '\0' && f->size == 0)
				continue; /* an empty file input */
			if (ir->in.natt == INTAKE_MAX_ATTACHMENTS) {
				resp_error_field(resp, 400, "attachment", "at most %d attachments",
				                 INTAKE_MAX_ATTACHMENTS);
				return -1;
			}
			a = &ir->in.att[ir->in.natt];
			a->filename = (char *)upload_name(f->filename);
			clean_ctype(f->content_type ? f->content_type : "", ir->ctypes[ir->in.natt],
			            sizeof(ir->ctypes[0]));
			a->content_type = ir->ctypes[ir->in.natt];
			a->data = f->data;
			a->size = (int64_t)f->size;
			ir->in.natt++;
			continue;
		}
		if (strlen(f->data) != f->size ||
		    text_check(f->data, f->size, TEXT_MULTILINE) < 0) {
			resp_error_field(resp, 400, f->name, "%.64s is not valid UTF-8 text",
			                 f->name);
			return -1;
		}
	}
	key = form_conflict(req);
	if (key != NULL) {
		resp_error_field(resp, 400, key, "%.64s is given twice with different values: give it "
		                 "once", key);
		return -1;
	}
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		f = req_form(req, keys[i]);
		*outs[i] = f && f->filename == NULL ? f->data : NULL;
	}
	f = req_form(req, "publish");
	ir->in.publish = -1;
	if (f != NULL) {
		const char *v = f->data;

		/* in any case: a Python client's urlencode writes True and False */
		if (strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0 || strcasecmp(v, "on") == 0 ||
		    strcasecmp(v, "yes") == 0)
			ir->in.publish = 1;
		else if (strcasecmp(v, "false") == 0 || strcmp(v, "0") == 0 ||
		         strcasecmp(v, "off") == 0 || strcasecmp(v, "no") == 0)
			ir->in.publish = 0;
		else {
			resp_error_field(resp, 400, "publish", "publish must be true or false");
			return -1;
		}
	}
	return 0;
}

/* Staff registration: channel post|phone (or web) and the date of receipt on the letter, with
 * the time when known (YYYY-MM-DD[THH:MM]). 0, or -1 having answered. */
static int
staff_fields(struct req *req, struct resp *resp, struct item_input *ir)
{
	int ch;
	int64_t t;
	sla_day day;

	if (auth_check(req, resp, ROLES_STAFF) != 0)
		return -1;
	ir->in.staff = req->session;
	ch = ir->channel && ir->channel[0] ? channel_parse(ir->channel) : (int)CHANNEL_POST;
	if (ch < 0 || ch == CHANNEL_EMAIL) {
		resp_error_field(resp, 400, "channel",
		                 "channel must be post or phone (mail comes in by ingest-mail)");
		return -1;
	}
	ir->in.channel = (enum channel)ch;
	if (ir->received == NULL || ir->received[0] == '\0')
		return 0;
	if (sla_parse_local(ir->received, &t) != 0) {
		resp_error_field(resp, 400, "received",
		                 "received must be a date, YYYY-MM-DD, or YYYY-MM-DDTHH:MM");
		return -1;
	}
	day = sla_local_day(t);
	if (day > sla_local_day(req->now)) {
		resp_error_field(resp, 400, "received", "received lies in the future");
		return -1;
	}
	ir->in.received = t;
	return 0;
}

/* {"tracking","query_code","state","kind","channel","received","clocks"}: a new reference. */
static json_t *
created_json(struct req *req, const struct db_item *item, const char *code)
{
	struct sla_calendar *cal = app_calendar(req->app);
	json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o}", "tracking", item->tracking,
	                      "query_code", code, "state", wf_state_name(item->state), "kind",
	                      kind_name(item->kind), "channel", channel_name(item->channel), "received", json_time(item->received),
	                      "clocks", clocks_json(item, cal, req->now));

	sla_calendar_unref(cal);
	return j;
}

static json_t *scan_json(json_t *j, const struct scan_report *r);

/* --- the 201 from a kept part -------------------------------------------------------------
 *
 * A new item's answer is {"tracking","query_code","state","kind","channel","received","clocks"},
 * and all but its first two members are the same for every item of one kind received in the
 * same second under the same policy and calendar: at thousands of submissions a second, most
 * of them. jansson builds and dumps those members once (JSON_EMBED: the members without their
 * braces, which jansson provides for joining dumps) and they are kept, one set per kind; each
 * answer has jansson encode only its own two values (their keys are encoded once), and the
 * parts are joined in an object by fixed punctuation.
 * Building, dumping and freeing the clocks' tree was a fifth of a submission's instructions
 * (callgrind, issue 20: jansson walks every string by code point, and checks every object and
 * array of a dump for loops with a hash table). */

struct created_tail {
	int used;
	enum wf_state state;
	enum channel channel;
	int64_t received, now;
	struct db_clock clocks[3];
	size_t nclocks;
	struct sla_calendar *cal; /* held while kept, so that no other calendar has its address */
	char *text;               /* the members dumped, NUL-terminated */
	size_t len;
};

/* The answer's first two keys, as jansson encodes them (quotes included). */
enum created_key { KEY_TRACKING, KEY_QUERY_CODE, KEY__MAX };

static const char *const created_keys[KEY__MAX] = {"tracking", "query_code"};

struct api_state {
	pthread_mutex_t lock; /* guards tail */
	struct created_tail tail[KIND__MAX];
	char key[KEY__MAX][16]; /* created_keys encoded (not NUL-terminated) */
	size_t keylen[KEY__MAX];
};

/* jansson's encoding of the string s (quotes included, compact) into buf: its length, or 0
 * when it does not fit in size bytes or cannot be made. s is ASCII of ours (not checked). */
static size_t
encode_string(const char *s, char *buf, size_t size)
{
	json_t *j = json_string_nocheck(s);
	size_t n = j != NULL ? json_dumpb(j, buf, size, JSON_ENCODE_ANY | JSON_COMPACT) : 0;

	json_decref(j);
	return n <= size ? n : 0;
}

struct api_state *
api_state_new(void)
{
	struct api_state *a = calloc(1, sizeof(*a));
	size_t i;

	if (a == NULL)
		return NULL;
	for (i = 0; i < KEY__MAX; i++) {
		a->keylen[i] = encode_string(created_keys[i], a->key[i], sizeof(a->key[i]));
		if (a->keylen[i] == 0) {
			free(a);
			return NULL;
		}
	}
	pthread_mutex_init(&a->lock, NULL);
	return a;
}

void
api_state_free(struct api_state *a)
{
	size_t i;

	if (a == NULL)
		return;
	for (i = 0; i < KIND__MAX; i++) {
		free(a->tail[i].text);
		sla_calendar_unref(a->tail[i].cal);
	}
	pthread_mutex_destroy(&a->lock);
	free(a);
}

/* 1 if clocks x and y show the same in clocks_json, else 0. */
static int
clock_same(const struct db_clock *x, const struct db_clock *y)
{
	return strcmp(x->name, y->name) == 0 && x->started == y->started && x->days == y->days &&
	       strcmp(x->unit, y->unit) == 0 && x->end_minutes == y->end_minutes &&
	       x->due == y->due && x->paused_at == y->paused_at && x->remaining == y->remaining &&
	       x->stopped_at == y->stopped_at && x->provisional == y->provisional &&
	       strcmp(x->result, y->result) == 0 && x->resumed_at == y->resumed_at;
}

/* 1 if t holds the members that item answers at now with cal, else 0. */
static int
tail_matches(const struct created_tail *t, const struct db_item *item,
             const struct sla_calendar *cal, int64_t now)
{
	size_t i;

	if (!t->used || t->cal != cal || t->now != now || t->state != item->state ||
	    t->channel != item->channel || t->received != item->received ||
	    t->nclocks != item->nclocks || item->nclocks > sizeof(t->clocks) / sizeof(t->clocks[0]))
		return 0;
	for (i = 0; i < item->nclocks; i++)
		if (!clock_same(&t->clocks[i], &item->clocks[i]))
			return 0;
	return 1;
}

/* jansson's compact dump of j's members without the braces (JSON_EMBED): a new string of *len
 * bytes, or NULL. Takes j. One dump (json_dumpb twice, to size and to fill, dumped the tree
 * twice: some 41,000 instructions each, once a second and kind). */
static char *
members_text(json_t *j, size_t *len)
{
	char *s = j != NULL ? json_dumps(j, JSON_COMPACT | JSON_EMBED) : NULL;

	json_decref(j);
	if (s == NULL)
		return NULL;
	*len = strlen(s);
	return s;
}

/* The members "state" to "clocks" of item's answer at now with cal, dumped: a new string. */
static char *
tail_text(const struct db_item *item, const struct sla_calendar *cal, int64_t now, size_t *len)
{
	json_t *j = json_object();

	if (j == NULL)
		return NULL;
	json_object_set_new_nocheck(j, "state", json_string_nocheck(wf_state_name(item->state)));
	json_object_set_new_nocheck(j, "kind", json_string_nocheck(kind_name(item->kind)));
	json_object_set_new_nocheck(j, "channel", json_string_nocheck(channel_name(item->channel)));
	json_object_set_new_nocheck(j, "received", json_time(item->received));
	json_object_set_new_nocheck(j, "clocks", clocks_json(item, cal, now));
	return members_text(j, len);
}

/* The answer created_json gives, as text: a new string of *len bytes, or NULL when it cannot be
 * made so (no API state, out of memory): the caller dumps created_json. Its two first members
 * are jansson's encodings of their keys (made once) and values joined by fixed punctuation
 * (building and dumping an object for them cost jansson a hash table, its loop check's
 * snprintf and eight allocations). */
static char *
created_text(struct req *req, const struct db_item *item, const char *code, size_t *len)
{
	struct api_state *api = req->app->api;
	struct sla_calendar *cal, *old = NULL;
	struct created_tail *t;
	const char *values[KEY__MAX];
	char head[256], *tail = NULL, *out = NULL;
	size_t hlen = 0, tlen = 0, n, i;

	if (api == NULL || (unsigned)item->kind >= KIND__MAX ||
	    item->nclocks > sizeof(t->clocks) / sizeof(t->clocks[0]))
		return NULL;
	/* {"tracking":…,"query_code":…, */
	values[KEY_TRACKING] = item->tracking;
	values[KEY_QUERY_CODE] = code;
	head[hlen++] = '{';
	for (i = 0; i < KEY__MAX; i++) {
		if (hlen + api->keylen[i] + 2 > sizeof(head))
			return NULL;
		memcpy(head + hlen, api->key[i], api->keylen[i]);
		hlen += api->keylen[i];
		head[hlen++] = ':';
		n = encode_string(values[i], head + hlen, sizeof(head) - hlen - 1);
		if (n == 0)
			return NULL;
		hlen += n;
		head[hlen++] = ',';
	}
	cal = app_calendar(req->app);
	t = &api->tail[item->kind];
	pthread_mutex_lock(&api->lock);
	if (!tail_matches(t, item, cal, req->now)) {
		pthread_mutex_unlock(&api->lock);
		tail = tail_text(item, cal, req->now, &tlen); /* outside the lock */
		pthread_mutex_lock(&api->lock);
		if (tail == NULL)
			goto out;
		free(t->text);
		old = t->cal;
		t->cal = sla_calendar_ref(cal);
		t->text = tail;
		t->len = tlen;
		t->state = item->state;
		t->channel = item->channel;
		t->received = item->received;
		t->now = req->now;
		t->nclocks = item->nclocks;
		memcpy(t->clocks, item->clocks, item->nclocks * sizeof(item->clocks[0]));
		t->used = 1;
	}
	n = hlen + t->len + 1;
	out = malloc(n + 1);
	if (out == NULL)
		goto out;
	memcpy(out, head, hlen);
	memcpy(out + hlen, t->text, t->len);
	out[n - 1] = '}';
	out[n] = '\0';
	*len = n;
out:
	pthread_mutex_unlock(&api->lock);
	sla_calendar_unref(old);
	sla_calendar_unref(cal);
	return out;
}

/* Answers 201 with item's answer (created_json, and scan_json's members when a virus scanner
 * is configured) and its Location. */
static void
created_answer(struct req *req, struct resp *resp, const struct db_item *item, const char *code,
               const struct scan_report *scan)
{
	size_t len = 0;
	char *text = scan->configured ? NULL : created_text(req, item, code, &len);

	if (text != NULL)
		resp_take(resp, 201, "application/json; charset=utf-8", text, len);
	else
		resp_json(resp, 201, scan_json(created_json(req, item, code), scan));
	resp_header_join(resp, "Location", "/api/v1/track/", item->tracking);
}

/* With a virus scanner: "attachments_refused":[{"filename","reason"}] (infected files, not
 * stored) and "attachments_held":N (stored, served once a later scan finds them clean) added
 * to j, the answer to a new item. Returns j. */
static json_t *
scan_json(json_t *j, const struct scan_report *r)
{
	json_t *list;
	size_t i;

	if (j == NULL || !r->configured)
		return j;
	list = json_array();
	for (i = 0; list != NULL && i < r->nrefused; i++)
		json_array_append_new(
		    list, json_pack("{s:s, s:s}", "filename", r->refused[i].filename, "reason",
		                    "the virus scanner found something harmful in it; it was not "
		                    "stored"));
	json_object_set_new(j, "attachments_refused", list);
	json_object_set_new(j, "attachments_held", json_integer((json_int_t)r->held));
	return j;
}

/* A JSON submission on an I/O thread, waiting for the writer without a thread (req_suspend). */
struct post_wait {
	json_t *json;                /* owns the strings of the submission */
	struct core_submission *sub; /* NULL: refused before it was queued (err) */
	struct core_error err;
};

/* On the writer's thread: the submission is committed (or failed). */
static void
post_done(void *cls)
{
	req_resume(cls);
}

/* On the I/O thread, resumed: the answer h_items_post would have given. */
static void
post_answer(struct req *req, struct resp *resp)
{
	struct post_wait *w = req->ctx;
	struct db_item item;
	char code[QUERY_CODE_LEN + 1];
	struct scan_report scan;

	memset(&item, 0, sizeof(item));
	if (w->sub == NULL || core_submit_finish(w->sub, &item, code, &scan, &w->err) != 0) {
		resp_core_error(resp, &w->err);
	} else {
		created_answer(req, resp, &item, code, &scan);
	}
	db_item_free(&item);
	json_decref(w->json);
	free(w);
	req->ctx = NULL;
}

/* Queues the checked JSON submission of ir for the writer and suspends req until it is
 * committed (post_answer answers then): 0, taking ir->json; -1 when req cannot wait so (not on
 * an I/O thread, out of memory): the caller stores it itself. */
static int
post_start(struct req *req, struct item_input *ir)
{
	struct post_wait *w = calloc(1, sizeof(*w));

	if (w == NULL || req_suspend(req, post_answer, w) != 0) {
		free(w);
		return -1;
	}
	w->json = ir->json;
	ir->json = NULL;
	if (core_submit_start(req->app, &ir->in, req->now, post_done, req, &w->sub, &w->err) != 0) {
		w->sub = NULL;
		req_resume(req); /* answered at once, with w->err */
	}
	return 0;
}

/* POST /api/v1/items: 201 {"tracking","query_code","state","kind","channel","received",
 * "clocks"[,"attachments_refused","attachments_held"]}; 400 naming the field; 401/403 for staff fields without a staff session; 413 (body
 * or attachment too large); 429 with Retry-After over the per-address rate; 503. */
void
h_items_post(struct req *req, struct resp *resp)
{
	struct item_input ir;
	struct core_error err;
	struct db_item item;
	char code[QUERY_CODE_LEN + 1];
	struct scan_report scan;
	int64_t retry;
	int staff;

	memset(&ir, 0, sizeof(ir));
	memset(&item, 0, sizeof(item));
	ir.in.channel = CHANNEL_WEB;
	ir.in.received = req->now;
	if ((req->is_form ? item_input_form(req, resp, &ir) : item_input_json(req, resp, &ir)) != 0)
		goto out;
	staff = (ir.channel != NULL && ir.channel[0] != '\0' && strcmp(ir.channel, "web") != 0) ||
	        (ir.received != NULL && ir.received[0] != '\0');
	if (staff && staff_fields(req, resp, &ir) != 0)
		goto out;
	if (core_submit_check(&ir.in, &err) != 0)
		goto refused;
	ir.in.checked = 1; /* not again by core_submit_* */
	/* Only well-formed submissions count against the address: a citizen correcting a form
	 * is not held up by their own mistakes. */
	if (!staff && ratelimit_hit(req->app->submit_limit, req->addr, req->now, &retry)) {
		resp_error(resp, 429, "rate_limited",
		           "too many submissions from your address; try again in %lld seconds",
		           (long long)retry);
		resp_header(resp, "Retry-After", "%lld", (long long)retry);
		goto out;
	}
	/* on an I/O thread (a JSON body: no attachment to scan), the request waits for its
	 * commit without holding a thread; answered by post_answer */
	if (!req->is_form && post_start(req, &ir) == 0)
		goto out;
	if (core_submit_report(req->app, &ir.in, req->now, &item, code, &scan, &err) != 0)
		goto refused;
	created_answer(req, resp, &item, code, &scan);
	goto out;
refused:
	resp_core_error(resp, &err);
out:
	db_item_free(&item);
	json_decref(ir.json);
}

/* GET /api/v1/items/{tracking} (staff): 200 with the item, its attachments (without data),
 * history and clocks; 403 for handlers and section heads of another section; 404; 500. Every
 * read is audited (core_item_read). */
void
h_item_get(struct req *req, struct resp *resp)
{
	item_read_answer(req, resp, req->params[0]);
}

/* Content-Disposition for a stored file name: an ASCII fallback and the UTF-8 name in RFC 5987
 * percent-encoding. */
static void
disposition(struct resp *resp, const char *name)
{
	static const char hex[] = "0123456789ABCDEF";
	char ascii[INTAKE_FILENAME_MAX + 1], enc[INTAKE_FILENAME_MAX * 3 + 1];
	size_t a = 0, e = 0;
	const unsigned char *p;

	for (p = (const unsigned char *)name; *p != '\0' && a < sizeof(ascii) - 1; p++)
		ascii[a++] = (*p < 0x80 && *p >= 0x20 && *p != '"' && *p != '\\') ? (char)*p : '_';
	ascii[a] = '\0';
	for (p = (const unsigned char *)name; *p != '\0' && e + 3 < sizeof(enc); p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || strchr("!#$&+-.^_`|~", *p) != NULL) {
			enc[e++] = (char)*p;
		} else {
			enc[e++] = '%';
			enc[e++] = hex[*p >> 4];
			enc[e++] = hex[*p & 15];
		}
	}
	enc[e] = '\0';
	resp_header(resp, "Content-Disposition", "attachment; filename=\"%s\"; filename*=UTF-8''%s",
	            ascii, enc);
}

/* GET /api/v1/items/{tracking}/attachments/{id} (staff): the file as a download; 403 another
 * section's item; 404; 500. Audited (core_attachment_read). */
void
h_item_attachment(struct req *req, struct resp *resp)
{
	struct db_attachment a;
	struct core_error err;
	char *end;
	long long id = strtoll(req->params[1], &end, 10);

	if (*end != '\0' || id <= 0) {
		resp_error(resp, 404, "not_found", "no such attachment");
		return;
	}
	if (core_attachment_read(req->app, req->db, req->session, req->addr, req->params[0],
	                         (int64_t)id, req->now, &a, &err) != 0) {
		resp_core_error(resp, &err);
		return;
	}
	resp_text(resp, 200, NULL, a.data, (size_t)a.size);
	resp_header(resp, "Content-Type", "%s", a.content_type);
	disposition(resp, a.filename);
	resp_header(resp, "Content-Security-Policy", "sandbox");
	db_attachment_free(&a);
}
