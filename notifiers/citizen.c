/* citizen.c: the notices to a citizen: acknowledgement, information asked, extension approved,
 * interim explanation, reply sent (with the link to rate it), rejected, merged, the reply of the
 * item it was merged into, reopened; and to the sender of a polled message too large to be
 * received. By e-mail when an address was given, and by SMS to a
 * mobile number when configured (sms_citizens). The e-mail is in Chinese and English; the SMS,
 * short, in the citizen's language (citizen_lang). Queued inside the transaction of the
 * submission or action (the core's notification hook). The query code is never in a message
 * (it is shown once, at submission). */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "notifiers_int.h"

/* Bytes of a message; a long note is cut at a character boundary (the tracking page has it all). */
#define BODY_MAX 32768
/* Bytes of the subject quoted: an e-mail item's whole subject (core's INTAKE_MAIL_SUBJECT_MAX,
 * 2,000 code points). */
#define QUOTE_MAX 8000

/* One row per event: its step name, subject and leading sentence (zh-Hans / en). */
static const struct {
	const char *step;
	int repeats; /* 1: may happen more than once: the step carries the time; 2: at most once
	              * a day: the step carries the day (a loop with an auto-responder ends) */
	int later;   /* 1: queued without its text, which the dispatcher writes when it sends it
	              * from the item as it is then (notify_citizen_render) */
	const char *zh, *en;
} events[NOTIFY_EV__MAX] = {
	[NOTIFY_EV_RECEIVED] = {"ack", 0, 1, "我们已收到您的来信", "We have received your message"},
	[NOTIFY_EV_INFO] = {"info", 1, 0, "请补充材料", "Please send us more information"},
	[NOTIFY_EV_EXTENSION] = {"extension", 1, 0, "答复期限已延长", "The reply time was extended"},
	[NOTIFY_EV_EXPLAINED] = {"explained", 1, 0, "办理情况说明", "An explanation of the delay"},
	[NOTIFY_EV_REPLIED] = {"replied", 1, 0, "您的来信已答复", "Your message was answered"},
	[NOTIFY_EV_REJECTED] = {"rejected", 0, 0, "您的来信不予受理", "Your message was not accepted"},
	[NOTIFY_EV_MERGED] = {"merged", 0, 0, "您的来信已与同类事项合并办理",
	                      "Your message is handled together with another one"},
	[NOTIFY_EV_MERGED_REPLIED] = {"merged-replied", 0, 0, "与您的来信合并办理的事项已答复",
	                              "The message yours was merged with was answered"},
	[NOTIFY_EV_REOPENED] = {"reopened", 1, 0, "您的来信已重新办理", "Your message is handled again"},
	[NOTIFY_EV_ENDED_MAIL] = {"ended-mail", 2, 0, "您的邮件已收到，所涉事项已办结",
	                          "Your e-mail was received; the item it is about has ended"},
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
notify_mobile(const char *phone, char *buf, size_t size)
{
	char d[24];
	size_t n = 0;
	const char *p;

	if (phone == NULL)
		return 0;
	for (p = phone; *p != '\0'; p++) {
		if (isdigit((unsigned char)*p)) {
			if (n + 1 >= sizeof(d))
				return 0;
			d[n++] = *p;
		} else if (*p != ' ' && *p != '-' && !(*p == '+' && n == 0))
			return 0;
	}
	d[n] = '\0';
	p = d;
	if (n == 13 && strncmp(d, "86", 2) == 0)
		p = d + 2;
	else if (n == 15 && strncmp(d, "0086", 4) == 0)
		p = d + 4;
	if (strlen(p) != 11 || p[0] != '1' || p[1] < '3' || size < 12)
		return 0;
	snprintf(buf, size, "%s", p);
	return 1;
}

/* 1 when UTF-8 s holds a Han character (CJK ideographs, their extensions and compatibility
 * forms), or CJK punctuation or full-width forms. */
static int
has_han(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned long cp;

	for (; p != NULL && *p != '\0'; p++) {
		if (p[0] >= 0xE3 && p[0] <= 0xE9 && p[1] >= 0x80 && p[2] >= 0x80) {
			cp = ((unsigned long)(p[0] & 0x0F) << 12) | ((unsigned long)(p[1] & 0x3F) << 6) |
			     (p[2] & 0x3F);
			if ((cp >= 0x3000 && cp <= 0x303F) || (cp >= 0x3400 && cp <= 0x9FFF))
				return 1;
		} else if (p[0] == 0xEF && p[1] >= 0xA4 && p[1] <= 0xBF) {
			return 1; /* U+F900..U+FFFF: compatibility ideographs, full-width forms */
		} else if (p[0] == 0xF0 && (p[1] == 0xA0 || p[1] == 0xA1 || p[1] == 0xA2 ||
		                            p[1] == 0xA3 || p[1] == 0xAA || p[1] == 0xAB)) {
			return 1; /* U+20000.. : the extensions of the ideographs */
		}
	}
	return 0;
}

/* The language the citizen wrote in: English (1) when the subject and the text hold Latin
 * letters and no Chinese, else Chinese (0). Items do not record the language of the page or
 * client a citizen used, so what the citizen wrote is the evidence. */
static int
citizen_english(const struct db_item *item)
{
	const char *t[2] = {item->subject, item->body};
	int latin = 0;
	size_t i;
	const char *p;

	for (i = 0; i < 2; i++) {
		if (t[i] == NULL)
			continue;
		if (has_han(t[i]))
			return 0;
		for (p = t[i]; *p != '\0' && !latin; p++)
			latin = isalpha((unsigned char)*p) != 0;
	}
	return latin;
}

void
notify_link(const struct notify_config *cfg, const char *path, char *buf, size_t size)
{
	const char *base = cfg->public_url != NULL ? cfg->public_url : "";
	size_t len = strlen(base);

	while (len > 0 && base[len - 1] == '/')
		len--;
	if (len > 0)
		snprintf(buf, size, "%.*s%s", (int)len, base, path);
	else
		snprintf(buf, size, "http://%s%s", cfg->listen != NULL ? cfg->listen : "localhost",
		         path);
}

/* Where the citizen rates the reply: the tracking page with the number filled in. */
static void
rate_link(const struct notify_config *cfg, const struct db_item *item, char *buf, size_t size)
{
	char path[80];

	snprintf(path, sizeof(path), "/track?tracking=%s", item->tracking);
	notify_link(cfg, path, buf, size);
}

static int
queue_one(struct db_conn *c, const struct notify_config *cfg, const struct sla_calendar *cal,
          const struct db_item *item, const char *step, const char *channel, const char *to,
          const char *subject, const char *body, int64_t at)
{
	struct db_notice n;

	memset(&n, 0, sizeof(n));
	n.item_id = item->id;
	n.clock = "";
	n.step = step;
	n.channel = channel;
	n.recipient = to;
	n.subject = subject;
	n.body = body;
	return notify_queue(c, cfg, cal, &n, at) < 0 ? -1 : 0;
}

/* The reply clock's due time as the notices write it ("-" when none), into due. */
static void
reply_due(const struct db_item *item, char *due, size_t size)
{
	size_t i;

	snprintf(due, size, "-");
	for (i = 0; i < item->nclocks; i++) {
		if (strcmp(item->clocks[i].name, "reply") != 0)
			continue;
		if (item->clocks[i].due > 0)
			notify_format_time(item->clocks[i].due, due, size);
		else if (item->clocks[i].paused_at != 0)
			snprintf(due, size, "暂停 / paused");
	}
}

/* The e-mail of notice ev about item: its subject (512 bytes) and text (BODY_MAX). */
static void
mail_text(const struct notify_config *cfg, enum notify_event ev, const struct db_item *item,
          const char *note, char *subject, size_t ssize, char *text, size_t tsize)
{
	char due[32], quoted[QUOTE_MAX + 1], said[8192], link[400], rate[1200] = "";
	const char *kzh, *ken;

	reply_due(item, due, sizeof(due));
	kind_label(kind_name(item->kind), &kzh, &ken);
	cut(item->subject, QUOTE_MAX, quoted, sizeof(quoted));
	cut(note != NULL ? note : "", sizeof(said) - 1, said, sizeof(said));
	if (ev == NOTIFY_EV_REPLIED) {
		rate_link(cfg, item, link, sizeof(link));
		snprintf(rate, sizeof(rate),
		         "请对答复作出评价（满意 / 基本满意 / 不满意），凭受理编号和查询码：\n%s\n"
		         "Please rate the reply (satisfied / basically satisfied / unsatisfied) with the "
		         "tracking number and your query code:\n%s\n\n",
		         link, link);
	}
	snprintf(subject, ssize, "%s：%s / %s: %s", events[ev].zh, item->tracking, events[ev].en,
	         item->tracking);
	snprintf(text, tsize,
	         "%s。\n\n受理编号：%s\n类别：%s\n主题：“%s”\n答复期限：%s\n"
	         "请凭受理编号和查询码查询办理情况。\n\n"
	         "%s.\nTracking number: %s\nKind: %s\nSubject: \"%s\"\nReply due: %s\n"
	         "Follow it with the tracking number and your query code.\n\n%s%s%s",
	         events[ev].zh, item->tracking, kzh, quoted, due, events[ev].en, item->tracking, ken,
	         quoted, due, rate, said[0] ? "----\n" : "", said);
}

/* The SMS of notice ev about item (512 bytes): short, in the citizen's language, the number
 * and the due date; never the query code, nor what was written. */
static void
sms_text(enum notify_event ev, const struct db_item *item, char *sms, size_t size)
{
	char due[32];
	int dated;

	reply_due(item, due, sizeof(due));
	dated = strcmp(due, "-") != 0 && strncmp(due, "暂停", 6) != 0;
	if (citizen_english(item) && dated)
		snprintf(sms, size, "[civicdesk] %s. Tracking number %s, reply due %s.", events[ev].en,
		         item->tracking, due);
	else if (citizen_english(item))
		snprintf(sms, size, "[civicdesk] %s. Tracking number %s: see it on our "
		         "website with your query code.", events[ev].en, item->tracking);
	else if (dated)
		snprintf(sms, size, "【civicdesk】%s，受理编号%s，答复期限%s。", events[ev].zh,
		         item->tracking, due);
	else
		snprintf(sms, size, "【civicdesk】%s，受理编号%s，请凭查询码在网站查看。", events[ev].zh,
		         item->tracking);
}

int
notify_citizen_bare(const struct notify_config *cfg, const struct sla_calendar *cal,
                    enum notify_event ev, const struct db_item *item, int64_t at,
                    struct notify_bare out[2])
{
	struct notify_quiet q;
	char err[200];
	int n = 0;

	if ((unsigned)ev >= NOTIFY_EV__MAX || !events[ev].later || events[ev].repeats)
		return -1;
	memset(out, 0, 2 * sizeof(*out));
	if (item->email != NULL && item->email[0] != '\0') {
		out[n].n.item_id = item->id;
		out[n].n.step = events[ev].step;
		out[n].n.channel = "email";
		out[n].n.recipient = item->email;
		notify_notice_times(cfg, &out[n].n, at, at);
		n++;
	}
	if (cfg->sms_citizens && notify_mobile(item->phone, out[n].mobile, sizeof(out[n].mobile))) {
		int64_t sms_after = at;

		if (notify_quiet_parse(cfg->sms_quiet, &q, err, sizeof(err)) == 0)
			sms_after = notify_quiet_next(&q, cal, at);
		out[n].n.item_id = item->id;
		out[n].n.step = events[ev].step;
		out[n].n.channel = "sms";
		out[n].n.recipient = out[n].mobile;
		notify_notice_times(cfg, &out[n].n, at, sms_after);
		n++;
	}
	return n;
}

int
notify_citizen(struct db_conn *c, const struct notify_config *cfg,
               const struct sla_calendar *cal, enum notify_event ev,
               const struct db_item *item, const char *note, int64_t at)
{
	char subject[512], text[BODY_MAX], step[64], sms[512], mobile[16];
	int has_mail, has_mobile;

	if ((unsigned)ev >= NOTIFY_EV__MAX)
		return 0;
	has_mail = item->email != NULL && item->email[0] != '\0';
	has_mobile = cfg->sms_citizens && notify_mobile(item->phone, mobile, sizeof(mobile));
	if (!has_mail && !has_mobile)
		return 0;
	/* a notice without a note whose text the dispatcher writes when it sends it (the
	 * acknowledgement: no text in the submission's transaction) */
	if (events[ev].later && note == NULL) {
		struct notify_bare b[2];
		struct db_notice v[2];
		size_t added;
		int n = notify_citizen_bare(cfg, cal, ev, item, at, b), i;

		for (i = 0; i < n; i++)
			v[i] = b[i].n;
		return n < 0 || db_outbox_add_bare(c, v, (size_t)n, &added) != 0 ? -1 : 0;
	}
	if (events[ev].repeats == 2)
		snprintf(step, sizeof(step), "%s/day%lld", events[ev].step, (long long)(at / 86400));
	else if (events[ev].repeats)
		snprintf(step, sizeof(step), "%s/%lld", events[ev].step, (long long)at);
	else
		snprintf(step, sizeof(step), "%s", events[ev].step);
	if (has_mail) {
		mail_text(cfg, ev, item, note, subject, sizeof(subject), text, sizeof(text));
		if (queue_one(c, cfg, cal, item, step, "email", item->email, subject, text, at) != 0)
			return -1;
	}
	if (has_mobile) {
		sms_text(ev, item, sms, sizeof(sms));
		if (queue_one(c, cfg, cal, item, step, "sms", mobile, NULL, sms, at) != 0)
			return -1;
	}
	return 0;
}

int
notify_citizen_ended_mail(struct db_conn *c, const struct notify_config *cfg,
                          const struct sla_calendar *cal, const struct db_item *item, int64_t at)
{
	char rate[400], submit[400], note[4096], zh[1024] = "", en[1024] = "";
	const char *state = wf_state_name(item->state);

	rate_link(cfg, item, rate, sizeof(rate));
	notify_link(cfg, "/submit", submit, sizeof(submit));
	if (item->state == WF_REPLIED || item->state == WF_CLOSED) { /* a reply to rate */
		snprintf(zh, sizeof(zh),
		         "如对答复不满意，请凭受理编号和查询码在以下页面评价，处室负责人将回访，"
		         "并可决定重新办理：\n%s\n",
		         rate);
		snprintf(en, sizeof(en),
		         "If you are not satisfied with the reply, rate it with the tracking number and "
		         "your query code at\n%s\nand the section head will follow it up and may reopen "
		         "the item.\n",
		         rate);
	}
	snprintf(note, sizeof(note),
	         "您的邮件已收到，已记入该事项并转给办理该事项的处室。该事项已办结（%s），"
	         "邮件不会使其重新办理，也不重新计算办理时限。\n%s"
	         "如有新的问题，请另行来信（新邮件的主题中不要写受理编号），或在网站提交：\n%s\n"
	         "我们将作为新事项受理并答复。\n\n"
	         "Your e-mail was received, added to this item and passed to the section that "
	         "handled it. The item has ended (%s): an e-mail does not reopen it or start its "
	         "time limits again.\n%s"
	         "For a new matter, write a new letter (without the tracking number in its subject) "
	         "or submit it at\n%s\nIt becomes a new item with its own time limits.\n",
	         state, zh, submit, state, en, submit);
	return notify_citizen(c, cfg, cal, NOTIFY_EV_ENDED_MAIL, item, note, at);
}

/* bytes as "N MiB" (one decimal below 10 MiB) into buf */
static void
mib(int64_t bytes, char *buf, size_t size)
{
	double v = (double)bytes / (1024.0 * 1024.0);

	if (v < 10 && bytes % (1024 * 1024) != 0)
		snprintf(buf, size, "%.1f MiB", v);
	else
		snprintf(buf, size, "%.0f MiB", v);
}

int
notify_mail_too_large(struct db_conn *c, const struct notify_config *cfg,
                      const struct sla_calendar *cal, const struct notify_too_large *t,
                      int64_t at)
{
	char subject[512], text[BODY_MAX], step[320], quoted[QUOTE_MAX + 1], submit[400];
	char size[32], limit[32], file_max[32], item_max[32], about_zh[QUOTE_MAX + 64] = "",
	                                                      about_en[QUOTE_MAX + 64] = "";
	struct db_notice n;

	notify_link(cfg, "/submit", submit, sizeof(submit));
	mib(t->size, size, sizeof(size));
	mib(t->limit, limit, sizeof(limit));
	mib(t->file_max, file_max, sizeof(file_max));
	mib(t->item_max, item_max, sizeof(item_max));
	if (t->subject != NULL && t->subject[0] != '\0') {
		cut(t->subject, QUOTE_MAX, quoted, sizeof(quoted));
		snprintf(about_zh, sizeof(about_zh), "（主题：“%s”）", quoted);
		snprintf(about_en, sizeof(about_en), " (subject: \"%s\")", quoted);
	}
	snprintf(subject, sizeof(subject), "%s / %s", "您的邮件过大，未能受理",
	         "Your e-mail was too large to be accepted");
	snprintf(text, sizeof(text),
	         "您发送的邮件%s大小为 %s，超过了本信箱每封邮件 %s 的上限，未能受理，也未保存。\n"
	         "请重新发送：附件最多 %d 个，每个不超过 %s，合计不超过 %s；较大的文件可以压缩，"
	         "或放在网盘中并在邮件里写明链接。也可以在网站上填写表单提交：\n%s\n\n"
	         "Your e-mail%s is %s, more than this mailbox's limit of %s per message: it could not "
	         "be accepted and was not kept.\n"
	         "Please send it again with at most %d attachments of up to %s each, %s together: "
	         "compress large files, or put them on a file-sharing service and write the link in "
	         "your e-mail. You can also submit it with the form at\n%s\n",
	         about_zh, size, limit, t->files, file_max, item_max, submit, about_en, size, limit,
	         t->files, file_max, item_max, submit);
	snprintf(step, sizeof(step), "too-large/%s", t->key);
	memset(&n, 0, sizeof(n));
	n.clock = "";
	n.step = step;
	n.channel = "email";
	n.recipient = t->to;
	n.subject = subject;
	n.body = text;
	return notify_queue(c, cfg, cal, &n, at) < 0 ? -1 : 0;
}

int
notify_citizen_render(struct db_conn *c, const struct notify_config *cfg,
                      struct notify_render *r, struct db_outbox *o, char *why, size_t whysize)
{
	char subject[512], text[BODY_MAX];
	int ev, rc;

	for (ev = 0; ev < NOTIFY_EV__MAX; ev++)
		if (events[ev].later && strcmp(events[ev].step, o->step) == 0)
			break;
	if (ev == NOTIFY_EV__MAX || o->item_id == 0 || o->account_id != 0 || o->lkey != 0) {
		snprintf(why, whysize, "not a citizen's notice written when sent (step %s)", o->step);
		return 0;
	}
	rc = notify_render_item(c, r, o->item_id);
	if (rc <= 0) {
		snprintf(why, whysize, "the item is gone");
		return rc;
	}
	free(o->subject);
	free(o->body);
	o->subject = o->body = NULL;
	if (strcmp(o->channel, "sms") == 0) {
		sms_text((enum notify_event)ev, &r->item, text, sizeof(text));
	} else {
		mail_text(cfg, (enum notify_event)ev, &r->item, NULL, subject, sizeof(subject), text,
		          sizeof(text));
		o->subject = strdup(subject);
		if (o->subject == NULL)
			return -1;
	}
	o->body = strdup(text);
	return o->body != NULL ? 1 : -1;
}
