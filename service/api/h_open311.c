/*
 * h_open311.c: Open311 GeoReport v2 under /open311/v2/ so that existing Open311 clients and apps
 * can submit and follow items. Each kind is a service; consent to publication is the service
 * attribute `publish`. Privacy first (个人隐私不得上网): a GET shows an item only when its
 * submitter allowed publication, in its masked public version, never with name, phone or
 * e-mail; every other item answers 404 here (its citizen follows it with the query code).
 * Errors are GeoReport arrays: [{"code":400,"description":"…"}].
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api_int.h"

#define LIST_DEFAULT 50 /* requests listed by GET requests.json */
#define LIST_MAX 200
#define SUBJECT_FROM_BODY 50 /* code points of the description that make the subject */

struct service_def {
	const char *code, *name, *description, *keywords;
};

static const struct service_def services[KIND__MAX] = {
    [KIND_LETTER] = {"letter", "局长信箱 Letter to the director",
                     "Write to the director of the bureau: opinions, suggestions, requests.",
                     "letter,局长信箱,建议,意见"},
    [KIND_COMPLAINT] = {"complaint", "投诉举报 Complaint or report",
                        "Complain about a service or report a violation.",
                        "complaint,report,投诉,举报"},
    [KIND_CONSULTATION] = {"consultation", "在线咨询 Question",
                           "Ask the bureau a question about its rules and services.",
                           "consultation,question,咨询"},
};

static void o311_error(struct resp *resp, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
o311_error(struct resp *resp, int status, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	text_scrub(msg); /* it may quote the request, or be cut inside a character */
	resp_json(resp, status, json_pack("[{s:i, s:s}]", "code", status, "description", msg));
}

/* The part of a path segment before ".json" (or ".xml": h_open311_xml.c writes the answer
 * again in XML); 0, or -1 for another format. */
static int
strip_json(const char *seg, char *out, size_t size)
{
	size_t len = strlen(seg), ext;

	if (len > 5 && strcmp(seg + len - 5, ".json") == 0)
		ext = 5;
	else if (len > 4 && strcmp(seg + len - 4, ".xml") == 0)
		ext = 4;
	else
		return -1;
	if (len - ext >= size)
		return -1;
	memcpy(out, seg, len - ext);
	out[len - ext] = '\0';
	return 0;
}

static json_t *
service_json(enum kind k)
{
	return json_pack("{s:s, s:s, s:s, s:b, s:s, s:s, s:s}", "service_code", services[k].code,
	                 "service_name", services[k].name, "description", services[k].description,
	                 "metadata", 1, "type", "realtime", "keywords", services[k].keywords,
	                 "group", "互动交流 Citizen interaction");
}

/* GET /open311/v2/services.json: 200, one service per kind. */
void
h_open311_services(struct req *req, struct resp *resp)
{
	json_t *a = json_array();
	int k;

	(void)req;
	for (k = 0; a != NULL && k < KIND__MAX; k++)
		json_array_append_new(a, service_json((enum kind)k));
	resp_json(resp, 200, a);
}

/* GET /open311/v2/services/{code}.json: 200 the service definition (attribute publish); 404. */
void
h_open311_service(struct req *req, struct resp *resp)
{
	char code[32];
	int k;

	if (strip_json(req->params[0], code, sizeof(code)) != 0) {
		o311_error(resp, 404, "no service %.64s: ask for services/CODE.json or .xml",
		           req->params[0]);
		return;
	}
	k = kind_parse(code);
	if (k < 0) {
		o311_error(resp, 404, "no service %.64s (services: letter, complaint, consultation)",
		           code);
		return;
	}
	resp_json(resp, 200,
	          json_pack("{s:s, s:[{s:b, s:s, s:s, s:b, s:s, s:i, s:s, s:[{s:s, s:s}, {s:s, "
	                    "s:s}]}]}",
	                    "service_code", services[k].code, "attributes", "variable", 1, "code",
	                    "publish", "datatype", "singlevaluelist", "required", 1,
	                    "datatype_description", "true or false", "order", 1, "description",
	                    "May the bureau publish this item and its answer, with personal data "
	                    "removed? 是否同意公开(个人信息将隐去)",
	                    "values", "key", "true", "name", "Yes 同意公开", "key", "false", "name",
	                    "No 不公开"));
}

/* A new copy of the first line of s, at most max code points (never cut inside a character);
 * NULL when out of memory. */
static char *
first_line(const char *s, int max)
{
	size_t n = 0;
	int cps = 0;
	char *out;

	while (*s == ' ' || *s == '\n' || *s == '\r' || *s == '\t')
		s++;
	out = malloc(strlen(s) + 1);
	if (out == NULL)
		return NULL;
	for (; s[n] != '\0' && s[n] != '\n' && s[n] != '\r'; n++)
		if (((unsigned char)s[n] & 0xc0) != 0x80 && ++cps > max)
			break;
	memcpy(out, s, n);
	out[n] = '\0';
	return out;
}

#define NUMBER_TEXT 32 /* a JSON number as text: "%.15g" (as a person wrote it) or "%lld" */

/* A field of the POST, from the form or the JSON object; lent (a JSON number written into num),
 * NULL when absent. A number is taken as its text, as GeoReport's own records write lat and
 * long ({"lat":39.9042}). 0, or -1 for a JSON array or object. */
static int
field(struct req *req, json_t *j, const char *key, const char **out, char num[NUMBER_TEXT])
{
	const struct form_field *f;
	json_t *v;

	*out = NULL;
	if (j == NULL) {
		f = req_form(req, key);
		if (f != NULL && f->filename == NULL) {
			if (strlen(f->data) != f->size)
				return -1;
			*out = f->data;
		}
		return 0;
	}
	v = json_object_get(j, key);
	if (v == NULL || json_is_null(v))
		return 0;
	if (json_is_true(v))
		*out = "true";
	else if (json_is_false(v))
		*out = "false";
	else if (json_is_string(v) && strlen(json_string_value(v)) == json_string_length(v))
		*out = json_string_value(v);
	else if (json_is_integer(v) &&
	         snprintf(num, NUMBER_TEXT, "%lld", (long long)json_integer_value(v)) > 0)
		*out = num;
	else if (json_is_real(v) && snprintf(num, NUMBER_TEXT, "%.15g", json_real_value(v)) > 0)
		*out = num;
	else
		return -1;
	return 0;
}

/* The publish attribute: attribute[publish] (form or JSON key) or {"attribute":{"publish":…}}. */
static int
publish_attr(struct req *req, json_t *j, int *publish)
{
	const char *v = NULL;
	char num[NUMBER_TEXT];
	json_t *attr;

	if (field(req, j, "attribute[publish]", &v, num) != 0)
		return -1;
	if (v == NULL && j != NULL && json_is_object(attr = json_object_get(j, "attribute")) &&
	    field(req, attr, "publish", &v, num) != 0)
		return -1;
	if (v == NULL)
		*publish = -1;
	else if (strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0 || strcasecmp(v, "yes") == 0)
		*publish = 1; /* in any case: a Python client's urlencode writes True */
	else if (strcasecmp(v, "false") == 0 || strcmp(v, "0") == 0 || strcasecmp(v, "no") == 0)
		*publish = 0;
	else
		return -1;
	return 0;
}

/* Open311's name for one of our fields. */
static const char *
o311_field(const char *f)
{
	if (f == NULL)
		return "request";
	if (strcmp(f, "kind") == 0)
		return "service_code";
	if (strcmp(f, "body") == 0 || strcmp(f, "subject") == 0)
		return "description";
	if (strcmp(f, "name") == 0)
		return "first_name/last_name";
	if (strcmp(f, "lng") == 0)
		return "long";
	if (strcmp(f, "publish") == 0)
		return "attribute[publish]";
	if (strcmp(f, "attachment") == 0)
		return "media";
	return f;
}

#define MEDIA_URL_MAX 2048 /* bytes of a media_url kept with the item */
#define MEDIA_NOTE "%s\n\n[media_url (照片链接): %s]"

/* description with a last line naming media_url (the photo an Open311 client uploaded
 * elsewhere), for staff to see in the item's text; the public sees the text only through the
 * reviewed, masked public version. A new string the caller frees; NULL when url is absent or
 * no http(s) address without blanks and control characters, when the text would grow past
 * INTAKE_BODY_MAX, or out of memory (then the description goes as it is). */
static char *
body_with_media_new(const char *description, const char *url)
{
	const char *host;
	size_t i, n;
	char *b;

	if (url == NULL ||
	    (strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0))
		return NULL;
	n = strlen(url);
	host = strstr(url, "://") + 3;
	if (n > MEDIA_URL_MAX || *host == '\0' || *host == '/')
		return NULL;
	for (i = 0; i < n; i++)
		if ((unsigned char)url[i] <= 0x20 || url[i] == 0x7f)
			return NULL;
	/* bytes bound code points: what fits in bytes fits in characters */
	n += strlen(description) + sizeof(MEDIA_NOTE);
	if (n > INTAKE_BODY_MAX)
		return NULL;
	b = malloc(n);
	if (b != NULL && snprintf(b, n, MEDIA_NOTE, description, url) >= (int)n) {
		free(b); /* n counts every byte: never, but said so for the compiler's range check */
		b = NULL;
	}
	return b;
}

/* GeoReport's `media`: the file parts of that name in a multipart POST, as in's attachments
 * (data lent by req; the type is decided by content when it is stored, core's attach_check,
 * and the file scanned as the web form's are). An empty file input is no file. 0, or -1 with
 * a 400 in resp (more than INTAKE_MAX_ATTACHMENTS). */
static int
media_files(struct req *req, struct intake *in, struct resp *resp)
{
	const struct form_field *f;
	struct db_attachment *a;
	size_t i;

	for (i = 0; i < req->nform; i++) {
		f = &req->form[i];
		if (f->filename == NULL || strcmp(f->name, "media") != 0 ||
		    (f->filename[0] == '\0' && f->size == 0))
			continue;
		if (in->natt == INTAKE_MAX_ATTACHMENTS) {
			o311_error(resp, 400, "media: at most %d files", INTAKE_MAX_ATTACHMENTS);
			return -1;
		}
		a = &in->att[in->natt++];
		/* upload_name also cuts a long name before its extension, as the web form's */
		a->filename = (char *)(f->filename[0] != '\0' ? upload_name(f->filename) : "media");
		a->content_type = (char *)"application/octet-stream";
		a->data = f->data;
		a->size = (int64_t)f->size;
	}
	return 0;
}

/* POST /open311/v2/requests.json (form-urlencoded as Open311 clients send it, multipart with a
 * `media` file, or JSON): service_code, description, first_name, last_name, email, phone,
 * attribute[publish], media_url (kept as the text's last line: body_with_media_new), media (the
 * item's attachment, for staff only: media_files).
 * 201 [{"service_request_id","service_notice","query_code","account_id":null}]; 400/413/429/503
 * as [{"code","description"}]; 413 also for a media file over attachment_max. */
void
h_open311_requests_post(struct req *req, struct resp *resp)
{
	static const char *const keys[] = {"service_code", "description", "first_name",
	                                   "last_name",    "email",       "phone",
	                                   "subject",      "address_string", "lat",
	                                   "long"};
	const char *v[sizeof(keys) / sizeof(keys[0])];
	char nums[sizeof(keys) / sizeof(keys[0])][NUMBER_TEXT], media_num[NUMBER_TEXT];
	char *subject = NULL, *name = NULL, *body = NULL, code[QUERY_CODE_LEN + 1];
	const char *media = NULL;
	char notice[256];
	struct intake in;
	struct core_error err;
	struct db_item item;
	json_t *j = NULL;
	json_error_t je;
	int64_t retry;
	size_t i;

	memset(&in, 0, sizeof(in));
	memset(&item, 0, sizeof(item));
	if (!req->is_form) {
		size_t len;
		const char *text = req_body_text(req, &len);

		j = text != NULL ? json_loadb(text, len, JSON_REJECT_DUPLICATES, &je) : NULL;
		if (j == NULL && text != NULL && resp_json_nul(resp, text, len, &je))
			goto out; /* a \u0000 in a member: named, as the JSON API names it */
		if (!json_is_object(j)) {
			o311_error(resp, 400,
			           "send a form (application/x-www-form-urlencoded) or a "
			           "JSON object");
			goto out;
		}
	}
	if (j == NULL && form_conflict(req) != NULL) {
		o311_error(resp, 400, "%.64s: given twice with different values: give it once",
		           form_conflict(req));
		goto out;
	}
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (field(req, j, keys[i], &v[i], nums[i]) != 0) {
			o311_error(resp, 400, "%s: must be text or a number", keys[i]);
			goto out;
		}
	}
	if (publish_attr(req, j, &in.publish) != 0) {
		o311_error(resp, 400, "attribute[publish]: must be true or false");
		goto out;
	}
	if (v[0] == NULL || v[0][0] == '\0') {
		o311_error(resp, 400, "service_code: required (letter, complaint, consultation)");
		goto out;
	}
	if (v[1] == NULL || v[1][0] == '\0') {
		o311_error(resp, 400, "description: required");
		goto out;
	}
	/* no fixed-size buffers: the same limits as the JSON API, counted in characters by
	 * core_submit_check */
	subject = v[6] != NULL && v[6][0] != '\0' ? strdup(v[6]) : first_line(v[1], SUBJECT_FROM_BODY);
	name = intake_name_join(v[2], v[3]);
	if (subject == NULL || name == NULL) {
		o311_error(resp, 500, "out of memory");
		goto out;
	}
	in.kind = v[0];
	in.subject = subject;
	in.address = v[7];
	in.lat = v[8];
	in.lng = v[9];
	/* a media_url that is no text is left out, as any field Open311 does not know */
	if (field(req, j, "media_url", &media, media_num) != 0 || media == media_num)
		media = NULL;
	body = body_with_media_new(v[1], media);
	in.body = body != NULL ? body : v[1];
	in.name = name;
	in.email = v[4];
	in.phone = v[5];
	in.channel = CHANNEL_WEB;
	in.received = req->now;
	if (j == NULL && media_files(req, &in, resp) != 0)
		goto out;
	if (core_submit_check(&in, &err) != 0)
		goto refused;
	/* Only well-formed submissions count against the address (as in h_items_post). */
	if (ratelimit_hit(req->app->submit_limit, req->addr, req->now, &retry)) {
		o311_error(resp, 429,
		           "too many submissions from your address; try again in %lld "
		           "seconds",
		           (long long)retry);
		resp_header(resp, "Retry-After", "%lld", (long long)retry);
		goto out;
	}
	if (core_submit(req->app, &in, req->now, &item, code, &err) != 0)
		goto refused;
	snprintf(notice, sizeof(notice),
	         "Keep your tracking number %s and query code %s to follow your request "
	         "(/track). 请保存受理编号和查询码。",
	         item.tracking, code);
	resp_json(resp, 201,
	          json_pack("[{s:s, s:s, s:s, s:n}]", "service_request_id", item.tracking,
	                    "service_notice", notice, "query_code", code, "account_id"));
	goto out;
refused:
	o311_error(resp, core_error_status(&err), "%s: %s", o311_field(err.field), err.message);
out:
	free(subject);
	free(name);
	free(body);
	db_item_free(&item);
	json_decref(j);
}

/* Member i of r: a published text, the reviewed public version or (none stored) the masked
 * original; null without either (or when masking runs out of memory). 0 or -1. */
static int
masked(const struct app *app, struct jrec *r, size_t i, const char *edited, const char *text,
       const struct db_item *item)
{
	struct redact_opts opts = {item->name, app->cfg.public_contacts};
	char *m;
	int rc;

	if (edited != NULL)
		return jrec_text(r, i, edited);
	if (text == NULL)
		return jrec_set(r, i, json_null());
	m = redact_text_opts(text, &opts, NULL);
	rc = m != NULL ? jrec_text(r, i, m) : jrec_set(r, i, json_null());
	free(m);
	return rc;
}

static int
is_closed(enum wf_state state)
{
	return state == WF_REPLIED || state == WF_CLOSED || state == WF_REJECTED ||
	       state == WF_MERGED;
}

/* The members of an Open311 request, in GeoReport's order. */
enum o311_member {
	O_ID,
	O_STATUS,
	O_NOTES,
	O_SERVICE_NAME,
	O_SERVICE_CODE,
	O_DESCRIPTION,
	O_AGENCY,
	O_REQUESTED,
	O_UPDATED,
	O_EXPECTED,
	O_TITLE,
	O_ADDRESS,
	O_ADDRESS_ID,
	O_ZIPCODE,
	O_LAT,
	O_LONG,
	O_MEDIA_URL,
	O__MAX
};

static const char *const o311_keys[O__MAX] = {
    [O_ID] = "service_request_id",
    [O_STATUS] = "status",
    [O_NOTES] = "status_notes",
    [O_SERVICE_NAME] = "service_name",
    [O_SERVICE_CODE] = "service_code",
    [O_DESCRIPTION] = "description",
    [O_AGENCY] = "agency_responsible",
    [O_REQUESTED] = "requested_datetime",
    [O_UPDATED] = "updated_datetime",
    [O_EXPECTED] = "expected_datetime",
    [O_TITLE] = "title",
    [O_ADDRESS] = "address",
    [O_ADDRESS_ID] = "address_id",
    [O_ZIPCODE] = "zipcode",
    [O_LAT] = "lat",
    [O_LONG] = "long",
    [O_MEDIA_URL] = "media_url",
};

int
o311_record_init(struct jrec *r)
{
	return jrec_init(r, o311_keys, O__MAX);
}

int
o311_record(const struct app *app, struct jrec *r, const struct db_item *item)
{
	enum public_view view = core_public_view(item);
	int k = (int)item->kind, full = view == PUBLIC_FULL, rc = 0;
	const struct db_clock *reply = NULL;
	size_t i;

	if (view == PUBLIC_HIDDEN)
		return 0;
	for (i = 0; i < item->nclocks; i++)
		if (strcmp(item->clocks[i].name, "reply") == 0)
			reply = &item->clocks[i];
	/* every member set for every record (r holds the previous record's values): the service's
	 * name and code are this file's constants, the tracking number and the times ours in
	 * ASCII; every text is checked (jrec_text) */
	rc |= jrec_ascii(r, O_ID, item->tracking);
	rc |= jrec_static(r, O_STATUS, is_closed(item->state) ? "closed" : "open");
	rc |= full ? masked(app, r, O_NOTES, item->public_reply, item->reply, item)
	           : jrec_set(r, O_NOTES, json_null());
	rc |= jrec_static(r, O_SERVICE_NAME, services[k].name);
	rc |= jrec_static(r, O_SERVICE_CODE, kind_name(item->kind));
	rc |= full ? masked(app, r, O_DESCRIPTION, item->public_body, item->body, item)
	           : jrec_set(r, O_DESCRIPTION, json_null());
	rc |= jrec_text(r, O_AGENCY, full ? item->section_name : NULL);
	rc |= jrec_time(r, O_REQUESTED, item->received);
	rc |= jrec_time(r, O_UPDATED, item->updated);
	rc |= jrec_time(r, O_EXPECTED, reply && reply->stopped_at == 0 ? reply->due : 0);
	rc |= full ? masked(app, r, O_TITLE, item->public_subject, item->subject, item)
	           : jrec_set(r, O_TITLE, json_null());
	for (i = O_ADDRESS; i < O__MAX; i++)
		rc |= jrec_set(r, i, json_null());
	return rc != 0 ? -1 : 1;
}

/* The public Open311 view of an item under core_public_view's rule (o311_record): a new
 * object, NULL for a hidden item or on error. */
static json_t *
request_json(const struct app *app, const struct db_item *item)
{
	struct jrec r;
	json_t *o = NULL;

	if (o311_record_init(&r) != 0)
		return NULL;
	if (o311_record(app, &r, item) == 1)
		o = jrec_take(&r);
	jrec_free(&r);
	return o;
}

/* Public reads are limited per address like look-ups: 0, or -1 having answered 429. */
static int
public_rate(struct req *req, struct resp *resp)
{
	int64_t retry;

	if (!ratelimit_hit(req->app->public_limit, req->addr, req->now, &retry))
		return 0;
	o311_error(resp, 429, "too many requests from your address; try again in %lld seconds",
	           (long long)retry);
	resp_header(resp, "Retry-After", "%lld", (long long)retry);
	return -1;
}

/* GET /open311/v2/requests/{id}.json: 200 [request] unless core_public_view hides it; 404
 * [{"code":404,…}] for hidden and unknown numbers alike; 429 over the public rate. */
void
h_open311_request_get(struct req *req, struct resp *resp)
{
	char id[64];
	struct db_item item;
	json_t *j = NULL;
	int rc;

	if (public_rate(req, resp) != 0)
		return;
	if (strip_json(req->params[0], id, sizeof(id)) != 0) {
		o311_error(resp, 404, "no request %.64s: ask for requests/NUMBER.json or .xml",
		           req->params[0]);
		return;
	}
	rc = db_item_get(req->db, id, &item);
	if (rc == -1) {
		o311_error(resp, 500, "the request cannot be read");
		return;
	}
	if (rc == 1) {
		j = request_json(req->app, &item);
		db_item_free(&item);
	}
	if (j == NULL) {
		o311_error(resp, 404, "no public request %.64s", id);
		return;
	}
	resp_json(resp, 200, json_pack("[o]", j));
}

/* 1 if the comma-delimited list holds value; a NULL list holds every value. */
static int
in_list(const char *list, const char *value)
{
	size_t len, vlen = strlen(value);
	const char *p;

	if (list == NULL)
		return 1;
	for (p = list;; p += len + 1) {
		len = strcspn(p, ",");
		if (len == vlen && strncmp(p, value, len) == 0)
			return 1;
		if (p[len] == '\0')
			return 0;
	}
}

/* 0 if each comma-delimited value of list (NULL: none) is one of names[0..n), an empty one
 * ignored; -1 if not. */
static int
list_known(const char *list, const char *const *names, size_t n)
{
	size_t len, i;
	const char *p;

	if (list == NULL)
		return 0;
	for (p = list;; p += len + 1) {
		len = strcspn(p, ",");
		for (i = 0; len > 0 && i < n; i++)
			if (strlen(names[i]) == len && strncmp(p, names[i], len) == 0)
				break;
		if (len > 0 && i == n)
			return -1;
		if (p[len] == '\0')
			return 0;
	}
}

/* The start_date or end_date parameter, a w3 date and time (2025-10-01T00:00:00Z, or with an
 * offset): 0 with *t written (left alone when absent), or -1 having answered 400. */
static int
date_param(struct req *req, struct resp *resp, const char *name, int64_t *t)
{
	const char *v = req_query(req, name);
	char buf[40];
	size_t n;

	if (v == NULL || v[0] == '\0')
		return 0;
	n = strlen(v);
	if (n < sizeof(buf)) {
		memcpy(buf, v, n + 1);
		if (n > 6 && buf[n - 6] == ' ')
			buf[n - 6] = '+'; /* the '+' of an offset that the client did not escape */
		if (sla_parse_local(buf, t) == 0)
			return 0;
	}
	o311_error(resp, 400, "%s: a date and time in w3 format, e.g. 2025-10-01T00:00:00+08:00",
	           name);
	return -1;
}

/* 1 if the array of requests holds the one numbered tracking. */
static int
listed(json_t *a, const char *tracking)
{
	const char *s;
	json_t *v;
	size_t i;

	json_array_foreach(a, i, v) {
		s = json_string_value(json_object_get(v, "service_request_id"));
		if (s != NULL && strcmp(s, tracking) == 0)
			return 1;
	}
	return 0;
}

/* GET requests.json?service_request_id=A,B,…: the requests of that list that GET
 * requests/{id}.json shows (the list overrides every other argument), in its order. */
static void
requests_by_id(struct req *req, struct resp *resp, const char *ids)
{
	char id[64];
	struct db_item item;
	json_t *a = json_array();
	const char *p;
	size_t len, n = 0;
	int rc;

	for (p = ids; a != NULL && n < LIST_MAX; p += len) {
		p += strspn(p, ", ");
		len = strcspn(p, ", ");
		if (len == 0)
			break;
		n++;
		if (len >= sizeof(id))
			continue;
		memcpy(id, p, len);
		id[len] = '\0';
		rc = db_item_get(req->db, id, &item);
		if (rc < 0) {
			json_decref(a);
			o311_error(resp, 500, "the requests cannot be read");
			return;
		}
		if (rc == 0)
			continue;
		if (!listed(a, item.tracking)) {
			json_t *r = request_json(req->app, &item);

			if (r != NULL)
				json_array_append_new(a, r);
		}
		db_item_free(&item);
	}
	resp_json(resp, 200, a);
}

/* Appends the record of the item in row (db_o311_list) to out, set in r (the answer's one
 * object) and encoded by jansson: its length in bytes, 0 when the item is hidden (nothing
 * appended), -1 on error. */
static int
request_record(const struct app *app, struct jrec *r, const struct db_row *row, struct jout *out)
{
	struct db_item item; /* lent from row */
	size_t start = out->len;
	int rc;

	if (db_item_o311_view(row, &item) != 0)
		return -1;
	rc = o311_record(app, r, &item);
	if (rc <= 0)
		return rc;
	if (jrec_dump(r, out) != 0)
		return -1;
	return (int)(out->len - start);
}

/* The list's "limit": LIST_DEFAULT when absent or blank, a larger one cut to LIST_MAX (clients
 * ask for what they want, the server says how many it gives); 0, or -1 when it is not a whole
 * number of at least 1. */
static int
limit_of(const char *s, size_t *limit)
{
	char *end;
	long long v;

	if (s == NULL || s[0] == '\0')
		return 0;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (end == s || *end != '\0' || v < 1 || (errno != 0 && v != LLONG_MAX))
		return -1;
	*limit = v > LIST_MAX ? LIST_MAX : (size_t)v;
	return 0;
}

/* GET /open311/v2/requests.json: 200, the requests Open311 shows (core_public_view), newest
 * receipt first, filtered as the spec says: service_request_id (a list, overriding every other
 * argument; see requests_by_id), service_code and status (lists, comma-delimited), start_date
 * and end_date (on requested_datetime, both included), limit (at most LIST_MAX); 400 for a date
 * that does not parse, a limit that is not one, a status that is neither open nor closed (an
 * unknown service code is a filter that matches nothing); 429 over the public rate. The (kind, status) lists the filters allow are
 * read through items_o311 and merged in one statement with the rows shown (db_o311_list), so a
 * page reads its own entries and rows only, whatever the filters. Each record is set in one
 * object made for the answer (o311_record) and encoded by jansson, or served from the thread's
 * cache when its row is the one it was built from (records.c). */
void
h_open311_requests_get(struct req *req, struct resp *resp)
{
	const char *code = req_query(req, "service_code"), *status = req_query(req, "status");
	const char *lim = req_query(req, "limit"), *ids = req_query(req, "service_request_id");
	static const char *const statuses[] = {"open", "closed"};
	struct rcache *cache = rcache_of(req);
	struct db_row own[LIST_MAX], *rows = own;
	struct db_o311_query q;
	struct jout out = {NULL, 0, 0, 0};
	struct jrec rec = {0};
	size_t n = 0, i, shown = 0, limit = LIST_DEFAULT;
	int k, closed, any = 0;

	if (public_rate(req, resp) != 0)
		return;
	if (ids != NULL && ids[0] != '\0') {
		requests_by_id(req, resp, ids);
		return;
	}
	memset(&q, 0, sizeof(q));
	q.from = INT64_MIN;
	q.to = INT64_MAX;
	if (date_param(req, resp, "start_date", &q.from) != 0 ||
	    date_param(req, resp, "end_date", &q.to) != 0)
		return;
	if (limit_of(lim, &limit) != 0) {
		o311_error(resp, 400, "limit: a whole number from 1 (at most %d are listed)", LIST_MAX);
		return;
	}
	q.limit = (int)limit;
	if (status != NULL && status[0] == '\0')
		status = NULL; /* status= as a form leaves an unset filter: none */
	if (code != NULL && code[0] == '\0')
		code = NULL; /* the same for service_code= */
	if (list_known(status, statuses, 2) != 0) {
		o311_error(resp, 400, "status: open, closed or both (open,closed)");
		return;
	}
	for (k = 0; k < KIND__MAX; k++)
		for (closed = 0; closed < 2; closed++) {
			q.lists[k][closed] = in_list(code, kind_name((enum kind)k)) &&
			                     in_list(status, closed ? "closed" : "open");
			any |= q.lists[k][closed];
		}
	memset(own, 0, sizeof(own));
	if (cache != NULL && rcache_rows(cache, LIST_MAX) != NULL)
		rows = rcache_rows(cache, LIST_MAX); /* the thread's, kept from answer to answer */
	if (any && db_o311_list(req->db, &q, rows, LIST_MAX, &n) != 0) {
		o311_error(resp, 500, "the requests cannot be read");
		goto out;
	}
	jout_raw(&out, "[", 1);
	for (i = 0; i < n && !out.failed; i++) {
		const char *text;
		size_t len;
		int64_t id;
		int rc;

		if (shown > 0)
			jout_raw(&out, ",", 1);
		memcpy(&id, rows[i].p + 1, sizeof(id)); /* the first column, i.id (db_row_read) */
		if (rcache_find(cache, RCACHE_O311, id, rows[i].p, rows[i].len, &text, &len)) {
			jout_raw(&out, text, len);
			shown++;
			continue;
		}
		if (rec.obj == NULL && o311_record_init(&rec) == 0)
			rec.dumped = 1; /* a record that jansson cannot dump fails the answer */
		rc = rec.obj != NULL ? request_record(req->app, &rec, &rows[i], &out) : -1;
		if (rc < 0) {
			o311_error(resp, 500, "the requests cannot be read");
			goto out;
		}
		if (rc == 0) { /* hidden (items_o311 lists none): take its comma back */
			if (shown > 0)
				out.len--;
			continue;
		}
		rcache_keep(cache, RCACHE_O311, id, rows[i].p, rows[i].len,
		            out.p + out.len - (size_t)rc, (size_t)rc);
		shown++;
	}
	jout_raw(&out, "]", 1);
	jout_send(&out, resp, 200);
out:
	jout_free(&out);
	jrec_free(&rec);
	for (i = 0; i < LIST_MAX; i++)
		db_row_free(&own[i]);
}
