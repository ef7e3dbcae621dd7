/*
 * noise.c: automatic mail that must make no item and no acknowledgement (a loop with a
 * provider's auto-reply is the classic mail-in failure): RFC 3834 and RFC 3464 markers, list
 * mail, and the markers Chinese providers and Apple use instead. The rules are a table, looked
 * at in order; the first that holds names the reason.
 */
#include <string.h>
#include <strings.h>

#include "mailin_int.h"

struct noise_ctx {
	GMimeMessage *msg;
	const char *from_addr; /* NULL when the message has no sender */
	const char *subject;   /* decoded, never NULL */
};

static const char *
header(const struct noise_ctx *x, const char *name)
{
	return g_mime_object_get_header(GMIME_OBJECT(x->msg), name);
}

/* The first word of a header value, lower-case, into buf ("" when absent). */
static void
first_word(const char *v, char *buf, size_t size)
{
	size_t n = 0;

	buf[0] = '\0';
	if (v == NULL)
		return;
	while (*v == ' ' || *v == '\t')
		v++;
	while (*v != '\0' && *v != ';' && *v != ' ' && *v != '\t' && *v != '(' && n + 1 < size)
		buf[n++] = g_ascii_tolower(*v++);
	buf[n] = '\0';
}

static int
has(const struct noise_ctx *x, const char *name)
{
	return header(x, name) != NULL;
}

static int
auto_submitted(const struct noise_ctx *x)
{
	char w[32];

	if (!has(x, "Auto-Submitted"))
		return 0;
	first_word(header(x, "Auto-Submitted"), w, sizeof(w));
	return strcmp(w, "no") != 0;
}

static int
precedence(const struct noise_ctx *x)
{
	char w[16];

	first_word(header(x, "Precedence"), w, sizeof(w));
	return strcmp(w, "bulk") == 0 || strcmp(w, "junk") == 0 || strcmp(w, "list") == 0;
}

static int
list_id(const struct noise_ctx *x)
{
	return has(x, "List-Id");
}

/* The report type of a multipart/report top part, "" when it names none, NULL when the message
 * is no report. */
static const char *
report_type(const struct noise_ctx *x)
{
	GMimeObject *top = g_mime_message_get_mime_part(x->msg);
	GMimeContentType *ct;
	const char *rt;

	if (top == NULL)
		return NULL;
	ct = g_mime_object_get_content_type(top);
	if (ct == NULL || !g_mime_content_type_is_type(ct, "multipart", "report"))
		return NULL;
	rt = g_mime_content_type_get_parameter(ct, "report-type");
	return rt != NULL ? rt : "";
}

/* A delivery status report (RFC 3464); a report of no type is taken as one. */
static int
dsn_report(const struct noise_ctx *x)
{
	const char *rt = report_type(x);

	return rt != NULL && (rt[0] == '\0' || g_ascii_strcasecmp(rt, "delivery-status") == 0);
}

/* A read receipt (RFC 8098). */
static int
mdn_report(const struct noise_ctx *x)
{
	const char *rt = report_type(x);

	return rt != NULL && g_ascii_strcasecmp(rt, "disposition-notification") == 0;
}

static int
qq_auto_reply(const struct noise_ctx *x)
{
	return has(x, "X-QQ-AUTO-REPLY") || has(x, "X-QQ-HolidayReply");
}

/* What auto-responders put before the subject they answer (Exchange and Outlook in Chinese
 * and English, QQ, 163, 126); the longer of two that share a start comes first. */
static const char *const auto_prefixes[] = {
	"自动回复", "自動回覆", "自動回复", "自动答复", "自動答覆", "Automatic reply", "Auto reply",
	"Auto-reply", "AutoReply", "Out of Office AutoReply", "Out of Office",
};

/* Whether the subject starts with one of auto_prefixes then a colon (ASCII or full-width), or is
 * one alone or in brackets ([…], 【…】). Only at the start: a citizen may write about an
 * auto-reply ("投诉热线的自动回复…"). */
static int
auto_reply_subject(const struct noise_ctx *x)
{
	const char *s = x->subject, *p;
	size_t i, n;
	int bracket = 0;

	if (strncmp(s, "[", 1) == 0 || strncmp(s, "【", strlen("【")) == 0) {
		bracket = s[0] == '[' ? 1 : 2;
		s += s[0] == '[' ? 1 : strlen("【");
	}
	for (i = 0; i < sizeof(auto_prefixes) / sizeof(auto_prefixes[0]); i++) {
		n = strlen(auto_prefixes[i]);
		if (g_ascii_strncasecmp(s, auto_prefixes[i], n) != 0)
			continue;
		p = s + n;
		if (bracket)
			return bracket == 1 ? *p == ']' : strncmp(p, "】", strlen("】")) == 0;
		while (*p == ' ')
			p++;
		return *p == '\0' || *p == ':' || strncmp(p, "：", strlen("：")) == 0;
	}
	return 0;
}

/* X-Autoreply, X-Autorespond (163, 126, vacation programs) or Precedence: auto_reply. */
static int
other_auto_reply(const struct noise_ctx *x)
{
	char w[16];

	first_word(header(x, "Precedence"), w, sizeof(w));
	return has(x, "X-Autoreply") || has(x, "X-Autorespond") || strcmp(w, "auto_reply") == 0;
}

static int
apple_auto_reply(const struct noise_ctx *x)
{
	return has(x, "X-Apple-Action");
}

static int
local_is(const char *addr, const char *local)
{
	size_t n = strlen(local);

	return addr != NULL && strncasecmp(addr, local, n) == 0 && addr[n] == '@';
}

/* Aliyun's mail (its own domains): X-Aliyun-Bounce, or its postmaster with a subject ending
 * 退信. QQ Mail's and 163's 系统退信 come from their own postmaster: bounce (postmaster). */
static int
aliyun_bounce(const struct noise_ctx *x)
{
	static const char *const domains[] = { "@aliyun.com", "@mxhichina.com", "@alibaba-inc.com" };
	size_t n = strlen(x->subject), k = strlen("退信"), i, a, d;

	if (has(x, "X-Aliyun-Bounce"))
		return 1;
	if (!local_is(x->from_addr, "postmaster") || n < k || strcmp(x->subject + n - k, "退信") != 0)
		return 0;
	a = strlen(x->from_addr);
	for (i = 0; i < sizeof(domains) / sizeof(domains[0]); i++) {
		d = strlen(domains[i]);
		if (a > d && g_ascii_strcasecmp(x->from_addr + a - d, domains[i]) == 0)
			return 1;
	}
	return 0;
}

static int
daemon_bounce(const struct noise_ctx *x)
{
	return local_is(x->from_addr, "postmaster") || local_is(x->from_addr, "mailer-daemon");
}

static int
null_sender(const struct noise_ctx *x)
{
	const char *rp = header(x, "Return-Path");

	if (x->from_addr == NULL || x->from_addr[0] == '\0')
		return 1;
	if (rp == NULL)
		return 0;
	while (*rp == ' ' || *rp == '\t')
		rp++;
	return strncmp(rp, "<>", 2) == 0;
}

static const struct {
	int (*holds)(const struct noise_ctx *x);
	const char *reason;
	int bounce; /* 1: a bounce, matched to the notice it returns */
} rules[] = {
	{ dsn_report, "bounce (delivery status report)", 1 },
	{ mdn_report, "read receipt", 0 },
	{ aliyun_bounce, "bounce (aliyun)", 1 },
	{ qq_auto_reply, "qq auto-reply", 0 },
	{ apple_auto_reply, "apple auto-reply", 0 },
	{ other_auto_reply, "auto-reply", 0 },
	{ auto_submitted, "auto-submitted", 0 },
	{ precedence, "bulk precedence", 0 },
	{ list_id, "list mail", 0 },
	{ auto_reply_subject, "auto-reply subject", 0 },
	{ daemon_bounce, "bounce (postmaster)", 1 },
	{ null_sender, "null sender", 0 },
};

const char *
mail_noise(GMimeMessage *msg, const char *from_addr, const char *subject, int *bounce)
{
	struct noise_ctx x = { msg, from_addr, subject };
	size_t i;

	*bounce = 0;
	for (i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
		if (rules[i].holds(&x)) {
			*bounce = rules[i].bounce;
			return rules[i].reason;
		}
	return NULL;
}
