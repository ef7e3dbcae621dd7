/* sms.c: the SMS channel: one request per message to the gateway at sms_url (libcurl, jansson).
 * By default a POST of JSON {"phone":…,"text":…}, any 2xx meaning accepted (DESIGN.md, Fixed
 * contract); for real gateways the method, extra headers, a body template (JSON or form, with
 * {phone} and {text}) and a success rule (a field of the JSON answer and its value) are
 * configuration. Texts are cut to the configured segments at a character boundary. Timeouts,
 * 401 and 407 (credentials: configuration), 408, 429 and 5xx are retried (Retry-After
 * honoured), as are connection failures; any other answer (a redirect is not followed), and a
 * 2xx that breaks the success rule, fails the notice. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <jansson.h>

#include "notifiers_int.h"

#define SMS_ANSWER_MAX 4096  /* bytes of a gateway's answer kept (success rule, error text) */
#define SMS_TEMPLATE_MAX 4096 /* bytes of a body template */
#define SMS_HEADERS_MAX 16   /* extra headers */
#define SMS_FIELD_DEPTH 8    /* levels of a success rule's dotted field */
#define DEFAULT_JSON "{\"phone\":\"{phone}\",\"text\":\"{text}\"}"
#define DEFAULT_FORM "phone={phone}&text={text}"

struct answer {
	char buf[SMS_ANSWER_MAX];
	size_t len;
};

static size_t
on_data(char *p, size_t size, size_t nmemb, void *cls)
{
	struct answer *a = cls;
	size_t n = size * nmemb, room = sizeof(a->buf) - 1 - a->len;

	memcpy(a->buf + a->len, p, n < room ? n : room);
	a->len += n < room ? n : room;
	a->buf[a->len] = '\0';
	return n;
}

/* --- texts and segments ------------------------------------------------------------------- */

size_t
notify_utf8_len(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

char *
notify_sms_text(const struct notify_config *cfg, const char *s)
{
	static const char ellipsis[] = "…";
	size_t max, chars = 0, i;
	char *out;

	if (cfg->sms_max_segments <= 0 || cfg->sms_segment_chars <= 0)
		return strdup(s);
	max = (size_t)(cfg->sms_segment_chars * cfg->sms_max_segments);
	if (notify_utf8_len(s) <= max)
		return strdup(s);
	/* keep max - 1 characters and end with the ellipsis (one character) */
	for (i = 0; s[i] != '\0'; i++)
		if (((unsigned char)s[i] & 0xC0) != 0x80 && ++chars > max - 1)
			break;
	out = malloc(i + sizeof(ellipsis));
	if (out == NULL)
		return NULL;
	memcpy(out, s, i);
	memcpy(out + i, ellipsis, sizeof(ellipsis));
	return out;
}

/* --- the request ---------------------------------------------------------------------------- */

/* A new string: tpl with every {phone} and {text} replaced by phone and text (each passed
 * through esc when not NULL). NULL when out of memory. */
static char *
subst(CURL *h, const char *tpl, const char *phone, const char *text, int esc)
{
	char *p_esc = NULL, *t_esc = NULL, *out = NULL, *o;
	const char *pv = phone, *tv = text, *s;
	size_t len = 0;

	if (esc) {
		p_esc = curl_easy_escape(h, phone, 0);
		t_esc = curl_easy_escape(h, text, 0);
		if (p_esc == NULL || t_esc == NULL)
			goto out;
		pv = p_esc;
		tv = t_esc;
	}
	for (s = tpl; *s != '\0';) {
		if (strncmp(s, "{phone}", 7) == 0) {
			len += strlen(pv);
			s += 7;
		} else if (strncmp(s, "{text}", 6) == 0) {
			len += strlen(tv);
			s += 6;
		} else {
			len++;
			s++;
		}
	}
	out = malloc(len + 1);
	if (out == NULL)
		goto out;
	for (s = tpl, o = out; *s != '\0';) {
		if (strncmp(s, "{phone}", 7) == 0) {
			o = stpcpy(o, pv);
			s += 7;
		} else if (strncmp(s, "{text}", 6) == 0) {
			o = stpcpy(o, tv);
			s += 6;
		} else
			*o++ = *s++;
	}
	*o = '\0';
out:
	curl_free(p_esc);
	curl_free(t_esc);
	return out;
}

/* Replaces the placeholders in every string of the JSON value v (objects and arrays walked).
 * 0 or -1. */
static int
fill_json(CURL *h, json_t *v, const char *phone, const char *text)
{
	const char *key;
	json_t *x;
	size_t i;
	char *s;
	int rc;

	if (json_is_object(v)) {
		json_object_foreach(v, key, x) {
			if (json_is_string(x)) {
				s = subst(h, json_string_value(x), phone, text, 0);
				rc = s != NULL ? json_object_set_new(v, key, json_string(s)) : -1;
				free(s);
				if (rc != 0)
					return -1;
			} else if (fill_json(h, x, phone, text) != 0)
				return -1;
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, x) {
			if (json_is_string(x)) {
				s = subst(h, json_string_value(x), phone, text, 0);
				rc = s != NULL ? json_array_set_new(v, i, json_string(s)) : -1;
				free(s);
				if (rc != 0)
					return -1;
			} else if (fill_json(h, x, phone, text) != 0)
				return -1;
		}
	}
	return 0;
}

static int
is_form(const struct notify_config *cfg)
{
	return strcmp(cfg->sms_format, "form") == 0;
}

/* The body (or, for GET, the query string) of one request: a new string, or NULL. */
static char *
request_body(CURL *h, const struct notify_config *cfg, const char *phone, const char *text)
{
	json_t *tpl;
	json_error_t jerr;
	char *out = NULL;

	if (is_form(cfg))
		return subst(h, cfg->sms_body[0] ? cfg->sms_body : DEFAULT_FORM, phone, text, 1);
	tpl = json_loads(cfg->sms_body[0] ? cfg->sms_body : DEFAULT_JSON, 0, &jerr);
	if (tpl == NULL)
		return NULL;
	if (fill_json(h, tpl, phone, text) == 0)
		out = json_dumps(tpl, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(tpl);
	return out;
}

/* The value at the dotted field of JSON answer a, written as text into buf: 1 found / 0 not. */
static int
answer_field(json_t *a, const char *field, char *buf, size_t size)
{
	char name[128];
	const char *p = field;
	size_t len;
	int depth;

	for (depth = 0; depth < SMS_FIELD_DEPTH && a != NULL; depth++) {
		len = strcspn(p, ".");
		if (len >= sizeof(name))
			return 0;
		memcpy(name, p, len);
		name[len] = '\0';
		a = json_is_object(a) ? json_object_get(a, name) : NULL;
		if (p[len] == '\0')
			break;
		p += len + 1;
	}
	if (a == NULL || depth == SMS_FIELD_DEPTH)
		return 0;
	if (json_is_string(a))
		snprintf(buf, size, "%s", json_string_value(a));
	else if (json_is_integer(a))
		snprintf(buf, size, "%" JSON_INTEGER_FORMAT, json_integer_value(a));
	else if (json_is_real(a))
		snprintf(buf, size, "%g", json_real_value(a));
	else if (json_is_true(a))
		snprintf(buf, size, "true");
	else if (json_is_false(a))
		snprintf(buf, size, "false");
	else if (json_is_null(a))
		snprintf(buf, size, "null");
	else
		return 0;
	return 1;
}

/* 1 when a 2xx answer meets the success rule (always, without one). */
static int
success(const struct notify_config *cfg, const struct answer *ans, char *why, size_t size)
{
	const char *eq = strchr(cfg->sms_success, '=');
	char field[256], got[256];
	json_t *a;
	json_error_t jerr;
	int ok = 0;

	if (cfg->sms_success[0] == '\0' || eq == NULL)
		return 1;
	snprintf(field, sizeof(field), "%.*s", (int)(eq - cfg->sms_success), cfg->sms_success);
	a = json_loadb(ans->buf, ans->len, 0, &jerr);
	if (a == NULL)
		snprintf(why, size, "the answer is not JSON (%s)", jerr.text);
	else if (!answer_field(a, field, got, sizeof(got)))
		snprintf(why, size, "the answer has no %.100s", field);
	else if (strcmp(got, eq + 1) != 0)
		snprintf(why, size, "%.60s is %.60s, not %.60s", field, got, eq + 1);
	else
		ok = 1;
	json_decref(a);
	return ok;
}

/* Sends one message on the (reused) handle h. */
static void
send_one(CURL *h, struct curl_slist *headers, const struct notify_config *cfg,
         struct notify_msg *m)
{
	struct answer ans = {{0}, 0};
	char *text = NULL, *body = NULL, *url = NULL, why[240];
	long status = 0;
	curl_off_t retry = 0;
	CURLcode rc;
	int get = strcmp(cfg->sms_method, "GET") == 0;

	m->result = NOTIFY_RETRY;
	text = notify_sms_text(cfg, m->row->body);
	if (text != NULL)
		body = request_body(h, cfg, m->row->recipient, text);
	if (body != NULL && get) {
		url = malloc(strlen(cfg->sms_url) + strlen(body) + 2);
		if (url != NULL)
			sprintf(url, "%s%c%s", cfg->sms_url, strchr(cfg->sms_url, '?') ? '&' : '?',
			        body);
	}
	if (body == NULL || (get && url == NULL)) {
		snprintf(m->error, sizeof(m->error), "cannot build the request");
		goto out;
	}
	curl_easy_setopt(h, CURLOPT_URL, get ? url : cfg->sms_url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
	if (get)
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	else {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST,
		                 strcmp(cfg->sms_method, "POST") == 0 ? NULL : cfg->sms_method);
	}
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &ans);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, cfg->sms_connect_timeout);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, cfg->sms_timeout);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	rc = curl_easy_perform(h);
	if (rc != CURLE_OK) {
		/* timeouts and connection failures: the gateway may be back later */
		snprintf(m->error, sizeof(m->error), "SMS gateway: %s", curl_easy_strerror(rc));
		goto out;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	if (status >= 200 && status < 300) {
		if (success(cfg, &ans, why, sizeof(why)))
			m->result = NOTIFY_SENT;
		else {
			m->result = NOTIFY_FAILED;
			snprintf(m->error, sizeof(m->error), "SMS gateway answered %ld but %.150s: %.60s",
			         status, why, ans.buf);
		}
		goto out;
	}
	/* 401 and 407: the gateway (or a proxy) refuses civicdesk's credentials, a matter of
	 * configuration (sms_url, sms_headers), not of the SMS: retried, as a refused SMTP AUTH */
	if (status == 401 || status == 407 || status == 408 || status == 429 || status >= 500) {
		if (curl_easy_getinfo(h, CURLINFO_RETRY_AFTER, &retry) == CURLE_OK && retry > 0)
			m->retry_after = (int64_t)retry;
	} else
		m->result = NOTIFY_FAILED;
	snprintf(m->error, sizeof(m->error), "SMS gateway answered %ld %.160s", status, ans.buf);
out:
	free(url);
	free(body);
	free(text);
}

/* Appends "Name: value" headers of the configuration (separated by '|') to *list. 0 or -1. */
static int
add_headers(const char *spec, struct curl_slist **list, int *has_type)
{
	char one[1024];
	const char *p = spec, *end, *a, *b;
	struct curl_slist *nl;

	*has_type = 0;
	while (*p != '\0') {
		end = p + strcspn(p, "|");
		for (a = p; a < end && *a == ' '; a++)
			;
		for (b = end; b > a && b[-1] == ' '; b--)
			;
		if (b > a) {
			if ((size_t)(b - a) >= sizeof(one))
				return -1;
			snprintf(one, sizeof(one), "%.*s", (int)(b - a), a);
			if (strncasecmp(one, "Content-Type:", 13) == 0)
				*has_type = 1;
			nl = curl_slist_append(*list, one);
			if (nl == NULL)
				return -1;
			*list = nl;
		}
		p = *end != '\0' ? end + 1 : end;
	}
	return 0;
}

int
notify_sms_config_check(const struct notify_config *cfg, char *err, size_t errsize)
{
	const char *p = cfg->sms_headers, *end, *colon;
	int nh = 0;
	json_t *tpl;
	json_error_t jerr;

	if (strcmp(cfg->sms_method, "POST") != 0 && strcmp(cfg->sms_method, "PUT") != 0 &&
	    strcmp(cfg->sms_method, "GET") != 0) {
		snprintf(err, errsize, "sms_method: give POST, PUT or GET");
		return -1;
	}
	if (strcmp(cfg->sms_format, "json") != 0 && strcmp(cfg->sms_format, "form") != 0) {
		snprintf(err, errsize, "sms_format: give json or form");
		return -1;
	}
	if (strcmp(cfg->sms_method, "GET") == 0 && !is_form(cfg)) {
		snprintf(err, errsize, "sms_method GET sends a query string: give sms_format = form");
		return -1;
	}
	if (strlen(cfg->sms_body) > SMS_TEMPLATE_MAX) {
		snprintf(err, errsize, "sms_body: at most %d bytes", SMS_TEMPLATE_MAX);
		return -1;
	}
	if (cfg->sms_body[0] != '\0' && !is_form(cfg)) {
		tpl = json_loads(cfg->sms_body, 0, &jerr);
		if (!json_is_object(tpl)) {
			snprintf(err, errsize, "sms_body: not a JSON object (%s)",
			         tpl == NULL ? jerr.text : "another type");
			json_decref(tpl);
			return -1;
		}
		json_decref(tpl);
	}
	if (cfg->sms_body[0] != '\0' &&
	    (strstr(cfg->sms_body, "{phone}") == NULL || strstr(cfg->sms_body, "{text}") == NULL)) {
		snprintf(err, errsize, "sms_body: the template needs {phone} and {text}");
		return -1;
	}
	while (*p != '\0') {
		end = p + strcspn(p, "|");
		colon = memchr(p, ':', (size_t)(end - p));
		while (p < end && *p == ' ')
			p++;
		if (p < end && (colon == NULL || colon == p || ++nh > SMS_HEADERS_MAX ||
		                memchr(p, '\r', (size_t)(end - p)) || memchr(p, '\n', (size_t)(end - p)))) {
			snprintf(err, errsize,
			         "sms_headers: give at most %d \"Name: value\" separated by |",
			         SMS_HEADERS_MAX);
			return -1;
		}
		p = *end != '\0' ? end + 1 : end;
	}
	if (cfg->sms_success[0] != '\0' &&
	    (strchr(cfg->sms_success, '=') == NULL || cfg->sms_success[0] == '=')) {
		snprintf(err, errsize, "sms_success: give FIELD=VALUE, such as code=0");
		return -1;
	}
	if (cfg->sms_segment_chars < 1 || cfg->sms_max_segments < 0) {
		snprintf(err, errsize, "sms_segment_chars must be positive, sms_max_segments 0 or more");
		return -1;
	}
	return 0;
}

static void
sms_send(const struct notify_config *cfg, struct notify_msg *msgs, size_t n)
{
	CURL *h;
	struct curl_slist *headers = NULL, *nh = NULL;
	size_t i;
	int has_type = 0;

	if (n == 0)
		return;
	h = curl_easy_init();
	if (add_headers(cfg->sms_headers, &headers, &has_type) == 0)
		nh = has_type ? headers
		              : curl_slist_append(headers, is_form(cfg)
		                                      ? "Content-Type: application/x-www-form-urlencoded"
		                                      : "Content-Type: application/json; charset=utf-8");
	if (h == NULL || nh == NULL) {
		for (i = 0; i < n; i++) {
			msgs[i].result = NOTIFY_RETRY;
			snprintf(msgs[i].error, sizeof(msgs[i].error), "out of memory");
		}
		goto out;
	}
	headers = nh;
	for (i = 0; i < n; i++) {
		send_one(h, headers, cfg, &msgs[i]);
		if (msgs[i].done != NULL && msgs[i].done(&msgs[i], msgs[i].done_cls) != 0)
			break;
	}
	for (i++; i < n; i++) { /* not sent: the dispatcher stops */
		msgs[i].result = NOTIFY_RETRY;
		snprintf(msgs[i].error, sizeof(msgs[i].error), "not sent: civicdesk stopped");
	}
out:
	curl_slist_free_all(headers);
	if (h != NULL)
		curl_easy_cleanup(h);
}

const struct notify_channel notify_sms = {"sms", sms_send};
