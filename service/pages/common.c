/*
 * common.c: what every page does — choosing and remembering the language, the common data, the
 * headers (CSP without inline script, frame-ancestors 'none'), form tokens (a signed
 * double-submit cookie for citizens, the session's token for staff), dates and clocks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pages_int.h"

#define CSP "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " \
	    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

static const char *const lang_names[WEB_LANG__MAX] = {
	[WEB_ZH_HANS] = "简体中文",
	[WEB_ZH_HANT] = "繁體中文",
	[WEB_EN] = "English",
};

struct pages *
pages_new(const char *dir, char *err, size_t errsize)
{
	struct pages *p;

	if (sodium_init() < 0) {
		snprintf(err, errsize, "libsodium cannot start");
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (p == NULL) {
		snprintf(err, errsize, "out of memory");
		return NULL;
	}
	p->web = web_new(dir, err, errsize);
	if (p->web == NULL) {
		free(p);
		return NULL;
	}
	crypto_auth_hmacsha256_keygen(p->key);
	return p;
}

void
pages_free(struct pages *p)
{
	if (p == NULL)
		return;
	web_free(p->web);
	sodium_memzero(p->key, sizeof(p->key));
	free(p);
}

#define ACCEPT_LANGUAGE_MAX 32 /* entries of an Accept-Language value looked at */

const char *
page_list_entry(const char *v, const char **token, size_t *n, double *q)
{
	const char *end = v + strcspn(v, ","), *semi, *p;

	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	semi = memchr(v, ';', (size_t)(end - v));
	*token = v;
	*n = (size_t)((semi ? semi : end) - v);
	while (*n > 0 && (v[*n - 1] == ' ' || v[*n - 1] == '\t'))
		(*n)--;
	*q = 1;
	for (p = semi; p != NULL && p < end; p = memchr(p + 1, ';', (size_t)(end - p - 1))) {
		const char *a = p + 1;

		while (a < end && (*a == ' ' || *a == '\t'))
			a++;
		if (end - a >= 2 && (a[0] == 'q' || a[0] == 'Q') && a[1] == '=')
			*q = strtod(a + 2, NULL);
	}
	return *end == ',' ? end + 1 : end;
}

/* The language an Accept-Language value prefers among ours: of the entries whose tag has a
 * nearest language of ours (web_lang_parse: zh-TW traditional, en-GB English, …), the one of
 * the highest q (RFC 9110: 1 when absent; 0 means "not this one"), the first of equals, so that
 * "fr, en;q=0.8" gets English; simplified Chinese (the default) when none has. */
static enum web_lang
accept_language(const char *v)
{
	int best = -1, count = 0;
	double best_q = 0;

	while (v != NULL && *v != '\0' && count++ < ACCEPT_LANGUAGE_MAX) {
		const char *t;
		char tag[65];
		size_t n;
		double q;
		int l;

		v = page_list_entry(v, &t, &n, &q);
		if (n > 0 && n < sizeof(tag)) {
			memcpy(tag, t, n);
			tag[n] = '\0';
			l = web_lang_parse(tag);
			if (l >= 0 && q > 0 && q <= 1 && (best < 0 || q > best_q)) {
				best = l;
				best_q = q;
			}
		}
	}
	return best >= 0 ? (enum web_lang)best : WEB_ZH_HANS;
}

/* 1 if s is a nonce we could have made: 43 base64url characters. */
static int
nonce_valid(const char *s)
{
	size_t i;

	if (s == NULL || strlen(s) != AUTH_TOKEN_SIZE - 1)
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_'))
			return 0;
	return 1;
}

static const char *
cookie_flags(struct page *pg)
{
	return pg->req->app->cfg.cookie_secure ? "; Secure" : "";
}

/* The query parameters of the pages that a language link keeps, so that switching the language
 * shows the same board page, queue filter, period or audit search. */
static const char *const kept_params[] = {
    "q",      "kind",   "month", "state", "cursor",   "page",    "period", "before", "actor",
    "action", "target", "from",  "to",    "tracking", "expired", "out",    "done"};
#define LANG_HREF_MAX 2048

/* The address of this page in language l: its path, ?lang= and the kept parameters
 * (percent-encoded; cut at the cap, never inside an escape). */
static void
lang_href(struct req *req, enum web_lang l, char *buf, size_t size)
{
	size_t n, i;

	n = (size_t)snprintf(buf, size, "%s?lang=%s", req->path, web_lang_tag(l));
	if (n >= size)
		n = size - 1;
	for (i = 0; i < sizeof(kept_params) / sizeof(kept_params[0]); i++) {
		const char *v = req_query(req, kept_params[i]);
		size_t need = strlen(kept_params[i]) + 2;

		if (v == NULL || n + need + 1 >= size)
			continue;
		n += (size_t)snprintf(buf + n, size - n, "&%s=", kept_params[i]);
		page_url_put(buf, size, &n, v);
	}
}

/* The attachments' limits, for the hints and the script's check before sending: files per
 * form, bytes of one (attachment_max, at most core's cap) and of a whole request (max_body,
 * 413 above), and the same in whole MB for the sentences; the kinds of file allowed
 * (attachment_types) as the hint names them and as the file input's accept lists them. */
static void
page_limits(struct page *pg)
{
	const struct config *cfg = &pg->req->app->cfg;
	long file = cfg->attachment_max < INTAKE_ATTACHMENT_MAX ? cfg->attachment_max
	                                                        : INTAKE_ATTACHMENT_MAX;
	char kinds[256], accept[256];

	json_object_set_new(pg->data, "max_files", json_integer(INTAKE_MAX_ATTACHMENTS));
	json_object_set_new(pg->data, "max_file", json_integer(file));
	json_object_set_new(pg->data, "max_file_mb", json_integer(file / (1024 * 1024)));
	json_object_set_new(pg->data, "max_total", json_integer(cfg->max_body));
	json_object_set_new(pg->data, "max_total_mb", json_integer(cfg->max_body / (1024 * 1024)));
	/* the kinds of file attachment_types allows, named in the hint and offered by the picker */
	attach_kinds(cfg->attachment_types, "、", kinds, sizeof(kinds), accept, sizeof(accept));
	json_object_set_new(pg->data, "types_cjk", json_string(kinds));
	json_object_set_new(pg->data, "types_accept", json_string(accept));
	attach_kinds(cfg->attachment_types, ", ", kinds, sizeof(kinds), NULL, 0);
	json_object_set_new(pg->data, "types_latin", json_string(kinds));
}

int
page_begin(struct page *pg, struct req *req, struct resp *resp, const char *title_key,
           const char *nav)
{
	const char *q = req_query(req, "lang"), *c;
	json_t *langs;
	char today[11], key[32];
	int l;

	memset(pg, 0, sizeof(*pg));
	pg->req = req;
	pg->resp = resp;
	pg->p = req->app->pages;
	if (q != NULL && web_lang_parse(q) >= 0) {
		pg->lang = (enum web_lang)web_lang_parse(q);
		resp_header(resp, "Set-Cookie", "%s=%s; Path=/; Max-Age=31536000; SameSite=Lax%s",
		            LANG_COOKIE, web_lang_tag(pg->lang), cookie_flags(pg));
	} else if ((c = req_cookie(req, LANG_COOKIE)) != NULL && web_lang_parse(c) >= 0) {
		pg->lang = (enum web_lang)web_lang_parse(c);
	} else {
		pg->lang = accept_language(req_header(req, "Accept-Language"));
	}
	c = req_cookie(req, CSRF_COOKIE);
	if (nonce_valid(c)) {
		snprintf(pg->nonce, sizeof(pg->nonce), "%s", c);
	} else {
		auth_random_token(pg->nonce);
		pg->nonce_new = 1;
		resp_header(resp, "Set-Cookie", "%s=%s; Path=/; HttpOnly; SameSite=Strict%s",
		            CSRF_COOKIE, pg->nonce, cookie_flags(pg));
	}
	pg->data = json_object();
	langs = json_array();
	if (pg->data == NULL || langs == NULL) {
		json_decref(langs);
		json_decref(pg->data);
		pg->data = NULL;
		resp_text(resp, 500, "text/plain; charset=utf-8", "out of memory\n", 14);
		return -1;
	}
	for (l = 0; l < WEB_LANG__MAX; l++) {
		char href[LANG_HREF_MAX];

		lang_href(req, (enum web_lang)l, href, sizeof(href));
		json_array_append_new(langs, json_pack("{s:s, s:s, s:s, s:b}", "tag",
		                                       web_lang_tag((enum web_lang)l), "name",
		                                       lang_names[l], "href", href, "current",
		                                       (enum web_lang)l == pg->lang));
	}
	page_date(req->now, today);
	page_limits(pg);
	json_object_set_new(pg->data, "lang", json_string(web_lang_tag(pg->lang)));
	json_object_set_new(pg->data, "langs", langs);
	json_object_set_new(pg->data, "updated", json_string(today));
	json_object_set_new(pg->data, "title", json_string(page_msg(pg, title_key)));
	if (nav != NULL) {
		snprintf(key, sizeof(key), "nav_%s", nav);
		json_object_set_new(pg->data, key, json_true());
	}
	return 0;
}

void
page_free(struct page *pg)
{
	json_decref(pg->data);
	pg->data = NULL;
	session_free(pg->staff);
	pg->staff = NULL;
}

static void
page_headers(struct page *pg)
{
	resp_header(pg->resp, "Content-Security-Policy", "%s", CSP);
	resp_header(pg->resp, "X-Frame-Options", "DENY");
}

/* Begins the page's title with the language's word for an error (err.title_refused). */
static void
page_title_refused(struct page *pg)
{
	const char *m = page_msg(pg, "err.title_refused"), *at = strstr(m, "{title}");
	const char *t = json_string_value(json_object_get(pg->data, "title"));
	char title[1600];
	json_t *s;

	if (at == NULL || t == NULL)
		return;
	snprintf(title, sizeof(title), "%.*s%s%s", (int)(at - m), m, t, at + strlen("{title}"));
	s = json_string(title);
	if (s != NULL) /* NULL: cut inside a character, the title stays as it was */
		json_object_set_new(pg->data, "title", s);
}

void
page_end(struct page *pg, int status, const char *template)
{
	char *html = NULL;
	size_t len = 0;

	/* every form answered with an error (the staff item page's actions, the password, second
	 * factor and administrators' forms as the citizens' and the sign-in) says so in its title;
	 * the error page's own title is the word for an error already */
	if (status >= 400 && strcmp(template, "error") != 0)
		page_title_refused(pg);
	if (web_render(pg->p->web, template, pg->lang, pg->data, &html, &len) != 0) {
		log_err("page %s: the template %s cannot be rendered", pg->req->path, template);
		resp_text(pg->resp, 500, "text/plain; charset=utf-8", "internal error\n", 15);
		page_free(pg);
		return;
	}
	resp_text(pg->resp, status, "text/html; charset=utf-8", html, len);
	free(html);
	page_headers(pg);
	page_free(pg);
}

void
page_location(struct page *pg, const char *location)
{
	const char *q = req_query(pg->req, "lang");
	size_t path = strcspn(location, "?#");

	/* a language chosen in this request's ?lang= goes on with it: a client that follows the
	 * redirect without keeping the cookie (urllib, curl -L) still gets the page in it */
	if (q != NULL && web_lang_parse(q) >= 0 && strstr(location, "lang=") == NULL)
		resp_header(pg->resp, "Location", "%.*s?lang=%s%s%s", (int)path, location,
		            web_lang_tag(pg->lang), location[path] == '?' ? "&" : "",
		            location + path + (location[path] == '?'));
	else
		resp_header(pg->resp, "Location", "%s", location);
}

void
page_redirect(struct page *pg, const char *location)
{
	resp_text(pg->resp, 303, "text/plain; charset=utf-8", "", 0);
	page_location(pg, location);
	page_headers(pg);
	page_free(pg);
}

void
page_error(struct page *pg, int status, const char *key)
{
	json_object_set_new(pg->data, "title", json_string(page_msg(pg, "err.title")));
	json_object_set_new(pg->data, "heading", json_string(page_msg(pg, "err.title")));
	json_object_set_new(pg->data, "message", json_string(page_msg(pg, key)));
	page_end(pg, status, "error");
}

const char *
page_msg(struct page *pg, const char *key)
{
	const char *m = web_msg(pg->p->web, pg->lang, key);

	if (m == NULL) {
		log_warn("pages: %s lacks the message %s", web_lang_tag(pg->lang), key);
		return key;
	}
	return m;
}

const char *
page_msg2(struct page *pg, const char *prefix, const char *name)
{
	char key[96];

	snprintf(key, sizeof(key), "%s%s", prefix, name ? name : "");
	return page_msg(pg, key) == key ? name : web_msg(pg->p->web, pg->lang, key);
}

json_t *
page_msg_n(struct page *pg, const char *key, long n)
{
	const char *m = page_msg(pg, key), *at = strstr(m, "{n}");
	char buf[512];

	if (at == NULL)
		return json_string(m);
	snprintf(buf, sizeof(buf), "%.*s%ld%s", (int)(at - m), m, n, at + 3);
	return json_string(buf);
}

/* 1 if the UTF-8 text s holds a Han character (CJK unified ideographs and extension A). */
static int
has_han(const char *s)
{
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p != '\0'; p++)
		if ((*p & 0xF0) == 0xE0 && (p[1] & 0xC0) == 0x80 && (p[2] & 0xC0) == 0x80) {
			unsigned cp = ((unsigned)(*p & 0x0F) << 12) | ((unsigned)(p[1] & 0x3F) << 6) |
			              (unsigned)(p[2] & 0x3F);

			if ((cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
			    (cp >= 0xF900 && cp <= 0xFAFF))
				return 1;
			p += 2;
		} else if ((*p & 0xF8) == 0xF0 && (p[1] & 0xC0) == 0x80 && (p[2] & 0xC0) == 0x80 &&
		           (p[3] & 0xC0) == 0x80) {
			/* the supplementary ideographs (ext. B to H, in rare names: 𠀀) */
			unsigned cp = ((unsigned)(*p & 0x07) << 18) |
			              ((unsigned)(p[1] & 0x3F) << 12) |
			              ((unsigned)(p[2] & 0x3F) << 6) | (unsigned)(p[3] & 0x3F);

			if (cp >= 0x20000 && cp <= 0x323AF)
				return 1;
			p += 3;
		}
	return 0;
}

const char *
page_text_lang(struct page *pg, const char *text)
{
	const char *p;

	if (text == NULL || text[0] == '\0')
		return NULL;
	if (pg->lang == WEB_EN)
		return has_han(text) ? "zh" : NULL;
	if (has_han(text))
		return NULL;
	for (p = text; *p != '\0'; p++)
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'))
			return "en";
	return NULL;
}

/* Percent-encodes s into buf at *n (unreserved characters stay). */
void
page_url_put(char *buf, size_t size, size_t *n, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p;

	for (p = (const unsigned char *)(s ? s : ""); *p != '\0' && *n + 4 < size; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.') {
			buf[(*n)++] = (char)*p;
		} else {
			buf[(*n)++] = '%';
			buf[(*n)++] = hex[*p >> 4];
			buf[(*n)++] = hex[*p & 15];
		}
	}
	buf[*n] = '\0';
}

/* The citizen form token: base64url(HMAC-SHA256(key, form NUL nonce)). */
static void
form_token(struct page *pg, const char *form, char out[AUTH_TOKEN_SIZE])
{
	crypto_auth_hmacsha256_state st;
	unsigned char mac[crypto_auth_hmacsha256_BYTES];

	crypto_auth_hmacsha256_init(&st, pg->p->key, sizeof(pg->p->key));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)form, strlen(form) + 1);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)pg->nonce, strlen(pg->nonce));
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_bin2base64(out, AUTH_TOKEN_SIZE, mac, sizeof(mac),
	                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

void
page_csrf_set(struct page *pg, const char *form)
{
	char token[AUTH_TOKEN_SIZE];

	if (pg->staff != NULL) {
		json_object_set_new(pg->data, "csrf", json_string(pg->staff->csrf_token));
		return;
	}
	form_token(pg, form, token);
	json_object_set_new(pg->data, "csrf", json_string(token));
}

int
page_csrf_ok(struct page *pg, const char *form)
{
	const char *got = page_field(pg, "csrf_token");
	char want[AUTH_TOKEN_SIZE];

	if (got == NULL)
		return 0;
	if (pg->staff != NULL)
		snprintf(want, sizeof(want), "%s", pg->staff->csrf_token);
	else if (pg->nonce_new)
		return 0; /* no cookie came with the form */
	else
		form_token(pg, form, want);
	return strlen(got) == strlen(want) && sodium_memcmp(got, want, strlen(want)) == 0;
}

const char *
page_field(struct page *pg, const char *name)
{
	const struct form_field *f = req_form(pg->req, name);

	if (f == NULL || f->filename != NULL)
		return NULL;
	return f->data;
}

void
page_date(int64_t t, char buf[11])
{
	time_t tt = (time_t)t;
	struct tm tm;

	buf[0] = '\0';
	if (t == 0 || localtime_r(&tt, &tm) == NULL)
		return;
	strftime(buf, 11, "%Y-%m-%d", &tm);
}

void
page_datetime(int64_t t, char buf[17])
{
	time_t tt = (time_t)t;
	struct tm tm;

	buf[0] = '\0';
	if (t == 0 || localtime_r(&tt, &tm) == NULL)
		return;
	strftime(buf, 17, "%Y-%m-%d %H:%M", &tm);
}

const char *
page_urgency(const struct sla_calendar *cal, int64_t due, int64_t now, int *left)
{
	*left = 0;
	if (due == 0 || due == DB_NO_DUE)
		return "none";
	*left = sla_days_left(cal, due, now);
	if (now > due)
		return "red";
	return *left <= 1 ? "amber" : "ok";
}

/* The left label of a running clock with `left` working days and overdue or not. */
static json_t *
left_label(struct page *pg, int left, int overdue)
{
	if (overdue)
		return left < -1 ? page_msg_n(pg, "left.overdue", -left)
		                 : json_string(page_msg(pg, "left.overdue_today"));
	if (left == 0)
		return json_string(page_msg(pg, "left.today"));
	return page_msg_n(pg, "left.days", left);
}

#define EXPLAIN_MAX 32 /* holidays and make-up days listed under a due date */

json_t *
page_clock(struct page *pg, const struct db_clock *k, const struct sla_calendar *cal)
{
	struct sla_override ov[EXPLAIN_MAX];
	const char *urgency = "none", *state;
	json_t *status, *left_text, *ex;
	char shown[17] = "", iso[40] = "", date[11];
	size_t n, i;

	if (k->stopped_at != 0) {
		char s[256];
		int late = k->result[0] ? strcmp(k->result, "late") == 0
		                        : (k->due != 0 && k->stopped_at > k->due);

		state = "stopped";
		snprintf(s, sizeof(s), "%s · %s", page_msg(pg, "clock.stopped"),
		         page_msg(pg, late ? "clock.late" : "clock.on_time"));
		left_text = json_string(page_msg(pg, "left.none"));
		status = json_string(s);
	} else if (k->paused_at != 0) {
		state = "paused";
		left_text = json_string(page_msg(pg, "clock.paused"));
		status = json_incref(left_text);
	} else {
		int left = sla_days_left(cal, k->due, pg->req->now), overdue = pg->req->now > k->due;

		state = "running";
		urgency = overdue ? "red" : left <= 1 ? "amber" : "ok";
		left_text = left_label(pg, left, overdue);
		status = json_incref(left_text);
	}
	if (k->due != 0) {
		/* the date, and the time unless the limit ends with the day */
		page_datetime(k->due, shown);
		if (strcmp(shown + 11, "23:59") == 0)
			shown[10] = '\0';
		sla_format_local(k->due, iso, sizeof(iso));
	}
	ex = json_array();
	n = k->due == 0 ? 0
	                : sla_explain(cal, sla_local_day(k->started), sla_local_day(k->due), ov,
	                              EXPLAIN_MAX);
	for (i = 0; i < n && i < EXPLAIN_MAX; i++) {
		sla_date_format(ov[i].day, date);
		json_array_append_new(ex, json_pack("{s:s, s:s, s:s}", "date", date, "label",
		                                    page_msg(pg, ov[i].kind == SLA_WORK
		                                                     ? "explain.work"
		                                                     : "explain.off"),
		                                    "name", ov[i].name ? ov[i].name : ""));
	}
	return json_pack("{s:s, s:s, s:s, s:o, s:o, s:s, s:s, s:b, s:b, s:o}", "label",
	                 page_msg2(pg, "clock.", k->name), "due", shown, "due_iso", iso, "status",
	                 status, "left_label", left_text, "state_label",
	                 page_msg2(pg, "clock.", state), "urgency", urgency, "provisional",
	                 k->provisional != 0, "has_explanation", json_array_size(ex) > 0,
	                 "explanation", ex);
}

json_t *
page_clocks(struct page *pg, const struct db_item *item)
{
	static const char *const order[] = { "reply", "forward", "explain" };
	struct sla_calendar *cal = app_calendar(pg->req->app);
	json_t *a = json_array();
	size_t i, j;

	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		for (j = 0; j < item->nclocks; j++)
			if (strcmp(item->clocks[j].name, order[i]) == 0)
				json_array_append_new(a, page_clock(pg, &item->clocks[j], cal));
	sla_calendar_unref(cal);
	return a;
}

/* The page of an error the HTTP layer answers itself, by status: heading and message keys. */
static const struct {
	int status;
	const char *heading, *message;
} layer_errors[] = {
	{ 400, "err.title", "err.bad_request" },
	{ 404, "err.not_found_title", "err.not_found" },
	{ 405, "err.title", "err.method" },
	{ 413, "err.title", "err.too_large" },
};

/* The ROUTE_ERRORS handler: for a page path (anything outside the JSON API under /api/ and
 * /open311/, and the static files) the layer's JSON error becomes an HTML page in the
 * visitor's language with the same status and headers (Allow of a 405 stays). */
void
pg_layer_error(struct req *req, struct resp *resp)
{
	static const char *const not_pages[] = { "/api/", "/open311/", "/static/" };
	const char *heading = "err.title", *message = "err.internal";
	int status = resp->status;
	struct page pg;
	size_t i;

	for (i = 0; i < sizeof(not_pages) / sizeof(not_pages[0]); i++)
		if (strncmp(req->path, not_pages[i], strlen(not_pages[i])) == 0)
			return;
	for (i = 0; i < sizeof(layer_errors) / sizeof(layer_errors[0]); i++)
		if (layer_errors[i].status == status) {
			heading = layer_errors[i].heading;
			message = layer_errors[i].message;
		}
	if (page_begin(&pg, req, resp, heading, NULL) != 0)
		return;
	json_object_set_new(pg.data, "heading", json_string(page_msg(&pg, heading)));
	json_object_set_new(pg.data, "message", json_string(page_msg(&pg, message)));
	page_end(&pg, status, "error");
}
