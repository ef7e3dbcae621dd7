/* citizen.c: the e-mails to a citizen who gave an address: acknowledgement, information asked,
 * extension approved, interim explanation, reply sent, rejected, merged. Queued inside the
 * transaction of the submission or action (the core's notification hook). The query code is
 * never in a message (it is shown once, at submission). */
#include <stdio.h>
#include <string.h>

#include "notifiers_int.h"

#define BODY_MAX 24576 /* bytes of a message; a long note is cut at a character boundary (the
                          tracking page has it all) */

/* One row per event: its step name, subject and leading sentence (zh-Hans / en). */
static const struct {
	const char *step;
	int repeats; /* 1: may happen more than once: the step carries the time */
	const char *zh, *en;
} events[NOTIFY_EV__MAX] = {
	[NOTIFY_EV_RECEIVED] = {"ack", 0, "我们已收到您的来信", "We have received your message"},
	[NOTIFY_EV_INFO] = {"info", 1, "请补充材料", "Please send us more information"},
	[NOTIFY_EV_EXTENSION] = {"extension", 1, "答复期限已延长", "The reply time was extended"},
	[NOTIFY_EV_EXPLAINED] = {"explained", 1, "办理情况说明", "An explanation of the delay"},
	[NOTIFY_EV_REPLIED] = {"replied", 0, "您的来信已答复", "Your message was answered"},
	[NOTIFY_EV_REJECTED] = {"rejected", 0, "您的来信不予受理", "Your message was not accepted"},
	[NOTIFY_EV_MERGED] = {"merged", 0, "您的来信已与同类事项合并办理",
	                      "Your message is handled together with another one"},
};

static const struct {
	const char *name, *zh, *en;
} kinds[] = {
	{"letter", "局长信箱", "letter to the director"},
	{"complaint", "投诉举报", "complaint or report"},
	{"consultation", "在线咨询", "consultation"},
};

static void
kind_label(const char *kind, const char **zh, const char **en)
{
	size_t i;

	*zh = *en = kind;
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(kinds[i].name, kind) == 0) {
			*zh = kinds[i].zh;
			*en = kinds[i].en;
		}
}

/* Cuts s (UTF-8) to at most max bytes at a character boundary, into buf. */
static void
cut(const char *s, size_t max, char *buf, size_t size)
{
	size_t len = strlen(s);

	if (max >= size)
		max = size - 1;
	if (len > max) {
		len = max;
		while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80)
			len--;
	}
	memcpy(buf, s, len);
	buf[len] = '\0';
}

int
notify_citizen(struct db_conn *c, const struct notify_config *cfg,
               const struct sla_calendar *cal, enum notify_event ev,
               const struct db_item *item, const char *note, int64_t at)
{
	char subject[512], text[BODY_MAX], step[64], due[32] = "-", quoted[1024], said[8192];
	const char *kzh, *ken;
	struct db_notice n;
	size_t i;
	int rc;

	if ((unsigned)ev >= NOTIFY_EV__MAX || item->email == NULL || item->email[0] == '\0')
		return 0;
	for (i = 0; i < item->nclocks; i++)
		if (strcmp(item->clocks[i].name, "reply") == 0 && item->clocks[i].due > 0)
			notify_format_time(item->clocks[i].due, due, sizeof(due));
	kind_label(kind_name(item->kind), &kzh, &ken);
	cut(item->subject, 600, quoted, sizeof(quoted));
	cut(note != NULL ? note : "", sizeof(said) - 1, said, sizeof(said));
	if (events[ev].repeats)
		snprintf(step, sizeof(step), "%s/%lld", events[ev].step, (long long)at);
	else
		snprintf(step, sizeof(step), "%s", events[ev].step);
	snprintf(subject, sizeof(subject), "%s：%s / %s: %s", events[ev].zh, item->tracking,
	         events[ev].en, item->tracking);
	snprintf(text, sizeof(text),
	         "%s。\n\n受理编号：%s\n类别：%s\n主题：“%s”\n答复期限：%s\n"
	         "请凭受理编号和查询码查询办理情况。\n\n"
	         "%s.\nTracking number: %s\nKind: %s\nSubject: \"%s\"\nReply due: %s\n"
	         "Follow it with the tracking number and your query code.\n%s%s",
	         events[ev].zh, item->tracking, kzh, quoted, due, events[ev].en, item->tracking, ken,
	         quoted, due, said[0] ? "\n----\n" : "", said);
	memset(&n, 0, sizeof(n));
	n.item_id = item->id;
	n.clock = "";
	n.step = step;
	n.channel = "email";
	n.recipient = item->email;
	n.subject = subject;
	n.body = text;
	rc = notify_queue(c, cfg, cal, &n, at);
	return rc < 0 ? -1 : 0;
}
