/* sms.c: the SMS channel: a POST of JSON {"phone":…,"text":…} to the gateway at sms_url (libcurl,
 * jansson), any 2xx meaning accepted. Timeouts, 408, 429 and 5xx are retried (Retry-After
 * honoured), as are connection failures; any other answer fails the notice. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "notifiers_int.h"

#define SMS_ANSWER_MAX 4096 /* bytes of a gateway's answer kept (for the error text) */

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

/* Sends one message on the (reused) handle h. */
static void
send_one(CURL *h, struct curl_slist *headers, const struct notify_config *cfg,
         struct notify_msg *m)
{
	struct answer ans = {{0}, 0};
	json_t *o;
	char *body = NULL;
	long status = 0;
	curl_off_t retry = 0;
	CURLcode rc;

	m->result = NOTIFY_RETRY;
	o = json_pack("{s:s, s:s}", "phone", m->row->recipient, "text", m->row->body);
	if (o != NULL)
		body = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (body == NULL) {
		snprintf(m->error, sizeof(m->error), "cannot build the request");
		return;
	}
	curl_easy_setopt(h, CURLOPT_URL, cfg->sms_url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &ans);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, cfg->sms_connect_timeout);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, cfg->sms_timeout);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	rc = curl_easy_perform(h);
	free(body);
	if (rc != CURLE_OK) {
		/* timeouts and connection failures: the gateway may be back later */
		snprintf(m->error, sizeof(m->error), "SMS gateway: %s", curl_easy_strerror(rc));
		return;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	if (status >= 200 && status < 300) {
		m->result = NOTIFY_SENT;
		return;
	}
	if (status == 408 || status == 429 || status >= 500) {
		if (curl_easy_getinfo(h, CURLINFO_RETRY_AFTER, &retry) == CURLE_OK && retry > 0)
			m->retry_after = (int64_t)retry;
	} else
		m->result = NOTIFY_FAILED;
	snprintf(m->error, sizeof(m->error), "SMS gateway answered %ld %.160s", status, ans.buf);
}

static void
sms_send(const struct notify_config *cfg, struct notify_msg *msgs, size_t n)
{
	CURL *h;
	struct curl_slist *headers = NULL, *nh;
	size_t i;

	if (n == 0)
		return;
	h = curl_easy_init();
	nh = curl_slist_append(headers, "Content-Type: application/json; charset=utf-8");
	if (h == NULL || nh == NULL) {
		for (i = 0; i < n; i++) {
			msgs[i].result = NOTIFY_RETRY;
			snprintf(msgs[i].error, sizeof(msgs[i].error), "out of memory");
		}
		goto out;
	}
	headers = nh;
	for (i = 0; i < n; i++)
		send_one(h, headers, cfg, &msgs[i]);
out:
	curl_slist_free_all(headers);
	if (h != NULL)
		curl_easy_cleanup(h);
}

const struct notify_channel notify_sms = {"sms", sms_send};
