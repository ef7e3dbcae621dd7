/* citizen.c: the notices to a citizen: acknowledgement, information asked, extension approved,
 * interim explanation, reply sent (with the link to rate it), rejected, merged, the reply of the
 * item it was merged into, reopened; and to the sender of a polled message too large to be
 * received. By e-mail when an address was given, and by SMS to a
 * mobile number when configured (sms_citizens). Each is in the item's language (simplified or
 * traditional Chinese, or English: schema 031); an item stored before its language was
 * recorded gets its e-mail in Chinese and English together, and its SMS in the language of
 * what the citizen wrote (lang_guess). Queued inside the transaction of the submission or
 * action (the core's notification hook). The query code is in no message but the e-mail
 * acknowledgement of a letter that came by e-mail, sent to the address it came from (a web or
 * API submission shows it once, in its answer); never in an SMS. Such an acknowledgement may
 * wait for a later moment (mail_ack_interval), written whole in its outbox row meanwhile. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "notifiers_int.h"
#include "service/core/core.h"

/* Bytes of a message; a long note is cut at a character boundary (the tracking page has it all). */
#define BODY_MAX 32768
/* Bytes of the subject quoted: an e-mail item's whole subject (core's INTAKE_MAIL_SUBJECT_MAX,
 * 2,000 code points). */
#define QUOTE_MAX 8000

/* The languages a notice is written in: an item's (LANG_ZH_HANS, LANG_ZH_HANT, LANG_EN) index
 * these tables; LANG_NONE's e-mail is zh-Hans and en together. */
#define HANS LANG_ZH_HANS
#define HANT LANG_ZH_HANT
#define EN LANG_EN

/* One row per event: its step name, subject and leading sentence in each language (the
 * traditional texts written as Taiwan and Hong Kong write them: 答覆, 資料, 電子郵件). */
static const struct {
	const char *step;
	int repeats; /* 1: may happen more than once: the step carries the time; 2: at most once
	              * a day: the step carries the day (a loop with an auto-responder ends) */
	int later;   /* 1: queued without its text, which the dispatcher writes when it sends it
	              * from the item as it is then (notify_citizen_render) */
	const char *t[LANG__MAX];
} events[NOTIFY_EV__MAX] = {
	[NOTIFY_EV_RECEIVED] = {"ack", 0, 1,
	                        {[HANS] = "我们已收到您的来信", [HANT] = "我們已收到您的來信",
	                         [EN] = "We have received your message"}},
	[NOTIFY_EV_INFO] = {"info", 1, 0,
	                    {[HANS] = "请补充材料", [HANT] = "請補充資料",
	                     [EN] = "Please send us more information"}},
	[NOTIFY_EV_EXTENSION] = {"extension", 1, 0,
	                         {[HANS] = "答复期限已延长", [HANT] = "答覆期限已延長",
	                          [EN] = "The reply time was extended"}},
	[NOTIFY_EV_EXPLAINED] = {"explained", 1, 0,
	                         {[HANS] = "办理情况说明", [HANT] = "辦理情形說明",
	                          [EN] = "An explanation of the delay"}},
	[NOTIFY_EV_REPLIED] = {"replied", 1, 0,
	                       {[HANS] = "您的来信已答复", [HANT] = "您的來信已答覆",
	                        [EN] = "Your message was answered"}},
	[NOTIFY_EV_REJECTED] = {"rejected", 0, 0,
	                        {[HANS] = "您的来信不予受理", [HANT] = "您的來信不予受理",
	                         [EN] = "Your message was not accepted"}},
	[NOTIFY_EV_MERGED] = {"merged", 0, 0,
	                      {[HANS] = "您的来信已与同类事项合并办理",
	                       [HANT] = "您的來信已與同類事項合併辦理",
	                       [EN] = "Your message is handled together with another one"}},
	[NOTIFY_EV_MERGED_REPLIED] = {"merged-replied", 0, 0,
	                              {[HANS] = "与您的来信合并办理的事项已答复",
	                               [HANT] = "與您的來信合併辦理的事項已答覆",
	                               [EN] = "The message yours was merged with was answered"}},
	[NOTIFY_EV_REOPENED] = {"reopened", 1, 0,
	                        {[HANS] = "您的来信已重新办理", [HANT] = "您的來信已重新辦理",
	                         [EN] = "Your message is handled again"}},
	[NOTIFY_EV_ENDED_MAIL] = {"ended-mail", 2, 0,
	                          {[HANS] = "您的邮件已收到，所涉事项已办结",
	                           [HANT] = "您的電子郵件已收到，所涉事項已辦結",
	                           [EN] = "Your e-mail was received; the item it is about has ended"}},
};

/* The kinds as the pages' catalogues name them (web/i18n: 線上諮詢, not 在線諮詢). */
static const char *const kinds[KIND__MAX][LANG__MAX] = {
	[KIND_LETTER] = {[HANS] = "局长信箱", [HANT] = "局長信箱", [EN] = "letter to the director"},
	[KIND_COMPLAINT] = {[HANS] = "投诉举报", [HANT] = "投訴舉報", [EN] = "complaint or report"},
	[KIND_CONSULTATION] = {[HANS] = "在线咨询", [HANT] = "線上諮詢", [EN] = "consultation"},
};

/* The words of an e-mail around the item's details, in each language. */
static const struct {
	const char *stop;     /* after the leading sentence */
	const char *sep;      /* between a label and its value */
	const char *tracking, *kind, *subject, *due, *code; /* the labels */
	const char *open, *close; /* around the quoted subject */
	const char *follow;   /* how to follow the item */
	const char *rate;     /* before the link to rate the reply */
	const char *paused;   /* the reply due while the clocks wait for the citizen */
} words[LANG__MAX] = {
	[HANS] = {"。\n\n", "：", "受理编号", "类别", "主题", "答复期限", "查询码", "“", "”",
	          "请凭受理编号和查询码查询办理情况。\n\n",
	          "请对答复作出评价（满意 / 基本满意 / 不满意），凭受理编号和查询码：", "暂停"},
	[HANT] = {"。\n\n", "：", "受理編號", "類別", "主旨", "答覆期限", "查詢碼", "「", "」",
	          "請憑受理編號和查詢碼查詢辦理情形。\n\n",
	          "請對答覆進行評價（滿意／基本滿意／不滿意），憑受理編號和查詢碼：", "暫停"},
	[EN] = {".\n", ": ", "Tracking number", "Kind", "Subject", "Reply due", "Query code", "\"",
	        "\"",
	        "Follow it with the tracking number and your query code.\n\n",
	        "Please rate the reply (satisfied / basically satisfied / unsatisfied) with the "
	        "tracking number and your query code:",
	        "paused"},
};

static const char *
kind_label(enum kind k, enum lang l)
{
	return (unsigned)k < KIND__MAX ? kinds[k][l] : kind_name(k);
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

/* The reply clock's due time as the notices of language l write it, into due (LANG_NONE:
 * "暂停 / paused" while paused): 1 a time, 2 paused, 0 none ("-"). */
static int
reply_due(const struct db_item *item, enum lang l, char *due, size_t size)
{
	size_t i;

	snprintf(due, size, "-");
	for (i = 0; i < item->nclocks; i++) {
		if (strcmp(item->clocks[i].name, "reply") != 0)
			continue;
		if (item->clocks[i].due > 0) {
			notify_format_time(item->clocks[i].due, due, size);
			return 1;
		}
		if (item->clocks[i].paused_at != 0) {
			if (l == LANG_NONE)
				snprintf(due, size, "%s / %s", words[HANS].paused, words[EN].paused);
			else
				snprintf(due, size, "%s", words[l].paused);
			return 2;
		}
	}
	return 0;
}

/* Appends the details of notice ev about item in language l to buf at *len; code: the query
 * code, on a line of its own after the due date (an e-mail letter's acknowledgement), or NULL. */
static void
mail_part(enum lang l, enum notify_event ev, const struct db_item *item, const char *quoted,
          const char *due, const char *code, char *buf, size_t size, size_t *len)
{
	if (*len >= size)
		return;
	*len += (size_t)snprintf(buf + *len, size - *len,
	                         "%s%s%s%s%s\n%s%s%s\n%s%s%s%s%s\n%s%s%s\n", events[ev].t[l],
	                         words[l].stop, words[l].tracking, words[l].sep, item->tracking,
	                         words[l].kind, words[l].sep, kind_label(item->kind, l),
	                         words[l].subject, words[l].sep, words[l].open, quoted,
	                         words[l].close, words[l].due, words[l].sep, due);
	if (code != NULL && *len < size)
		*len += (size_t)snprintf(buf + *len, size - *len, "%s%s%s\n", words[l].code,
		                         words[l].sep, code);
	if (*len < size)
		*len += (size_t)snprintf(buf + *len, size - *len, "%s", words[l].follow);
}

/* The e-mail of notice ev about item: its subject (512 bytes) and text (BODY_MAX), in the
 * item's language, or in Chinese and English for an item without one. */
static void
mail_text(const struct notify_config *cfg, enum notify_event ev, const struct db_item *item,
          const char *note, const char *code, char *subject, size_t ssize, char *text,
          size_t tsize)
{
	char due[32], quoted[QUOTE_MAX + 1], said[8192], link[400];
	enum lang l = item->lang, ls[2];
	size_t len = 0;
	int n = 0, i;

	if ((unsigned)l >= LANG__MAX)
		l = LANG_NONE;
	if (l == LANG_NONE) {
		ls[n++] = HANS;
		ls[n++] = EN;
	} else {
		ls[n++] = l;
	}
	reply_due(item, l, due, sizeof(due));
	cut(item->subject, QUOTE_MAX, quoted, sizeof(quoted));
	cut(note != NULL ? note : "", sizeof(said) - 1, said, sizeof(said));
	if (n == 2)
		snprintf(subject, ssize, "%s：%s / %s: %s", events[ev].t[HANS], item->tracking,
		         events[ev].t[EN], item->tracking);
	else
		snprintf(subject, ssize, "%s%s%s", events[ev].t[l], words[l].sep, item->tracking);
	text[0] = '\0';
	for (i = 0; i < n; i++)
		mail_part(ls[i], ev, item, quoted, due, code, text, tsize, &len);
	if (ev == NOTIFY_EV_REPLIED) {
		rate_link(cfg, item, link, sizeof(link));
		for (i = 0; i < n && len < tsize; i++)
			len += (size_t)snprintf(text + len, tsize - len, "%s\n%s\n", words[ls[i]].rate,
			                        link);
		if (len < tsize)
			len += (size_t)snprintf(text + len, tsize - len, "\n");
	}
	if (len < tsize && said[0] != '\0')
		snprintf(text + len, tsize - len, "----\n%s", said);
}

/* The SMS of notice ev about item (512 bytes): short, in the item's language (one without: the
 * language of what the citizen wrote), the number and the due date; never the query code, nor
 * what was written. */
static void
sms_text(enum notify_event ev, const struct db_item *item, char *sms, size_t size)
{
	char due[32];
	enum lang l = item->lang;
	int dated;

	if (l == LANG_NONE || (unsigned)l >= LANG__MAX)
		l = lang_guess(item->subject, item->body);
	dated = reply_due(item, l, due, sizeof(due)) == 1;
	if (l == EN && dated)
		snprintf(sms, size, "[civicdesk] %s. Tracking number %s, reply due %s.", events[ev].t[EN],
		         item->tracking, due);
	else if (l == EN)
		snprintf(sms, size, "[civicdesk] %s. Tracking number %s: see it on our "
		         "website with your query code.", events[ev].t[EN], item->tracking);
	else if (l == HANT && dated)
		snprintf(sms, size, "【civicdesk】%s，受理編號%s，答覆期限%s。", events[ev].t[HANT],
		         item->tracking, due);
	else if (l == HANT)
		snprintf(sms, size, "【civicdesk】%s，受理編號%s，請憑查詢碼在網站查看。",
		         events[ev].t[HANT], item->tracking);
	else if (dated)
		snprintf(sms, size, "【civicdesk】%s，受理编号%s，答复期限%s。", events[ev].t[HANS],
		         item->tracking, due);
	else
		snprintf(sms, size, "【civicdesk】%s，受理编号%s，请凭查询码在网站查看。",
		         events[ev].t[HANS], item->tracking);
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

/* notify_citizen, and with code the query code in the e-mail (not in the SMS); with later (a
 * moment after at) the e-mail waits for it, addressed to `to` (NULL: the item's address), to
 * go in one message with the others waiting for it (combine.c). */
static int
citizen_notice(struct db_conn *c, const struct notify_config *cfg,
               const struct sla_calendar *cal, enum notify_event ev,
               const struct db_item *item, const char *note, const char *code, const char *to,
               int64_t later, int64_t at)
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
	if (events[ev].later && note == NULL && code == NULL && later <= at) {
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
	if (has_mail && later > at) {
		struct db_notice n;

		mail_text(cfg, ev, item, note, code, subject, sizeof(subject), text, sizeof(text));
		memset(&n, 0, sizeof(n));
		n.item_id = item->id;
		n.clock = "";
		n.step = step;
		n.channel = "email";
		n.recipient = to != NULL ? to : item->email;
		n.subject = subject;
		n.body = text;
		notify_notice_times(cfg, &n, at, at);
		n.send_after = later;
		n.give_up_at = later + cfg->give_up; /* its whole retry time from then */
		if (db_outbox_add(c, &n, NULL) < 0)
			return -1;
	} else if (has_mail) {
		mail_text(cfg, ev, item, note, code, subject, sizeof(subject), text, sizeof(text));
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
notify_citizen(struct db_conn *c, const struct notify_config *cfg,
               const struct sla_calendar *cal, enum notify_event ev,
               const struct db_item *item, const char *note, int64_t at)
{
	return citizen_notice(c, cfg, cal, ev, item, note, NULL, NULL, 0, at);
}

int
notify_citizen_received_mail(struct db_conn *c, const struct notify_config *cfg,
                             const struct sla_calendar *cal, const struct db_item *item,
                             const char *note, const char *code, const char *to,
                             int64_t later, int64_t at)
{
	return citizen_notice(c, cfg, cal, NOTIFY_EV_RECEIVED, item, note, code, to, later, at);
}

/* The note of an e-mail on an ended item, in each language: its parts around the item's state,
 * the rating paragraph (when replied: rate, the link, rated) and the submission page. */
static const struct {
	const char *ended, *state_end, *rate, *rated, *submit, *end;
} ended[LANG__MAX] = {
	[HANS] = {"您的邮件已收到，已记入该事项并转给办理该事项的处室。该事项已办结（",
	          "），邮件不会使其重新办理，也不重新计算办理时限。\n",
	          "如对答复不满意，请凭受理编号和查询码在以下页面评价，处室负责人将回访，"
	          "并可决定重新办理：\n",
	          "\n",
	          "如有新的问题，请另行来信（新邮件的主题中不要写受理编号），或在网站提交：\n",
	          "\n我们将作为新事项受理并答复。\n"},
	[HANT] = {"您的電子郵件已收到，已記入該事項並轉交辦理該事項的處室。該事項已辦結（",
	          "），郵件不會使其重新辦理，也不會重新計算辦理期限。\n",
	          "如對答覆不滿意，請憑受理編號和查詢碼在以下頁面評價，處室主管將回訪，"
	          "並可決定重新辦理：\n",
	          "\n",
	          "如有新的問題，請另行來信（新郵件的主旨請勿填寫受理編號），或在網站提交：\n",
	          "\n我們將作為新事項受理並答覆。\n"},
	[EN] = {"Your e-mail was received, added to this item and passed to the section that "
	        "handled it. The item has ended (",
	        "): an e-mail does not reopen it or start its time limits again.\n",
	        "If you are not satisfied with the reply, rate it with the tracking number and "
	        "your query code at\n",
	        "\nand the section head will follow it up and may reopen the item.\n",
	        "For a new matter, write a new letter (without the tracking number in its subject) "
	        "or submit it at\n",
	        "\nIt becomes a new item with its own time limits.\n"},
};

/* The note of an e-mail on ended item in language l into buf at *len. */
static void
ended_put(enum lang l, const struct db_item *item, const char *rate, const char *submit,
          char *buf, size_t size, size_t *len)
{
	int replied = item->state == WF_REPLIED || item->state == WF_CLOSED; /* a reply to rate */

	if (*len < size)
		*len += (size_t)snprintf(buf + *len, size - *len, "%s%s%s%s%s%s%s%s%s", ended[l].ended,
		                         wf_state_name(item->state), ended[l].state_end,
		                         replied ? ended[l].rate : "", replied ? rate : "",
		                         replied ? ended[l].rated : "", ended[l].submit, submit,
		                         ended[l].end);
}

int
notify_citizen_ended_mail(struct db_conn *c, const struct notify_config *cfg,
                          const struct sla_calendar *cal, const struct db_item *item, int64_t at)
{
	char rate[400], submit[400], note[4096];
	size_t len = 0;

	rate_link(cfg, item, rate, sizeof(rate));
	notify_link(cfg, "/submit", submit, sizeof(submit));
	if (item->lang > LANG_NONE && item->lang < LANG__MAX) {
		ended_put(item->lang, item, rate, submit, note, sizeof(note), &len);
	} else { /* Chinese and English, a blank line apart */
		ended_put(HANS, item, rate, submit, note, sizeof(note), &len);
		if (len + 1 < sizeof(note))
			note[len++] = '\n';
		ended_put(EN, item, rate, submit, note, sizeof(note), &len);
	}
	return notify_citizen(c, cfg, cal, NOTIFY_EV_ENDED_MAIL, item, note, at);
}

void
notify_merged_note(const struct db_item *item, const struct db_item *target, char *buf,
                   size_t size)
{
	const char *t = target->tracking, *reply = target->reply != NULL ? target->reply : "";

	if (item->lang == HANS)
		snprintf(buf, size, "与 %s 合并办理，答复如下：\n\n%s", t, reply);
	else if (item->lang == HANT)
		snprintf(buf, size, "與 %s 合併辦理，答覆如下：\n\n%s", t, reply);
	else if (item->lang == EN)
		snprintf(buf, size, "Answered together with %s:\n\n%s", t, reply);
	else
		snprintf(buf, size, "与 %s 合并办理，答复如下 / answered together with %s:\n\n%s", t,
		         t, reply);
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
		mail_text(cfg, (enum notify_event)ev, &r->item, NULL, NULL, subject, sizeof(subject),
		          text, sizeof(text));
		o->subject = strdup(subject);
		if (o->subject == NULL)
			return -1;
	}
	o->body = strdup(text);
	return o->body != NULL ? 1 : -1;
}
