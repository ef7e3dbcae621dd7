/* orders.c: the notices of supervision (#18) to staff: an unsatisfied rating's follow-up (回访)
 * to the section head, a supervision order (督办) to the section head at once (e-mail and SMS),
 * and, from the scan, the reminder at 09:00 on the order's own due date while the item is still
 * open. Each is queued once (the outbox's unique key; the reminder queue of schema 012). */
#include <stdio.h>
#include <string.h>

#include "notifiers_int.h"
#include "service/core/core.h"

#define TEXT_MAX 4096
#define ORDERS_BATCH 256   /* orders per transaction of the reminder scan */
#define REMIND_MINUTES 540 /* 09:00 local on the order's due date */

static void
due_of(const struct db_item *it, char *buf, size_t size)
{
	size_t i;

	snprintf(buf, size, "-");
	for (i = 0; i < it->nclocks; i++)
		if (strcmp(it->clocks[i].name, "reply") == 0 && it->clocks[i].due > 0)
			notify_format_time(it->clocks[i].due, buf, size);
}

int
notify_followup(struct db_conn *c, const struct notify_config *cfg, const struct sla_calendar *cal,
                const struct db_item *it, const char *comment, int64_t at)
{
	struct notify_staff st;
	char step[64], subject[512], body[TEXT_MAX], said[1024], subj[NOTIFY_SUBJECT_QUOTE + 4];

	snprintf(step, sizeof(step), "followup/%lld", (long long)at);
	snprintf(said, sizeof(said), "%s", comment != NULL ? comment : "");
	notify_cut_utf8(said, 900);
	notify_quote_subject(it->subject, subj);
	snprintf(subject, sizeof(subject), "【回访】%s 答复不满意 / unsatisfied rating: %s",
	         it->tracking, it->tracking);
	snprintf(body, sizeof(body),
	         "事项 %s 的答复被评为“不满意”。请回访：确认评价并说明，或重办。\n"
	         "主题：%s\n处室：%s\n%s%s\n\n"
	         "The reply to item %s was rated unsatisfied. Please follow it up: confirm the "
	         "rating with a note, or reopen the item.\n",
	         it->tracking, subj, it->section_name != NULL ? it->section_name : "-",
	         said[0] ? "评价意见 / comment: " : "", said, it->tracking);
	notify_staff_init(&st, c, cfg, cal, at, it, step, subject, body, NULL);
	return notify_staff_heads(&st);
}

/* The order's notice (kind "supervised" at once, "supervision-due" on its due date). */
static int
order_notice(struct db_conn *c, const struct notify_config *cfg, const struct sla_calendar *cal,
             const struct db_item *it, const char *note, const char *by, int64_t order_due,
             int reminder, int64_t now, size_t *queued)
{
	int rc;

	struct notify_staff st;
	char step[64], subject[512], body[TEXT_MAX], text[512], due[32], reply_due[32],
	    quoted[2400], subj[NOTIFY_SUBJECT_QUOTE + 4];

	notify_format_time(order_due, due, sizeof(due));
	due_of(it, reply_due, sizeof(reply_due));
	snprintf(quoted, sizeof(quoted), "%s", note != NULL ? note : "");
	notify_cut_utf8(quoted, 2000);
	notify_quote_subject(it->subject, subj);
	if (reminder)
		snprintf(step, sizeof(step), "supervision-due/%.10s", due);
	else
		snprintf(step, sizeof(step), "supervised");
	snprintf(subject, sizeof(subject), "【督办%s】%s 督办期限 %s / supervision order%s: %s",
	         reminder ? "到期" : "", it->tracking, due, reminder ? " due" : "", it->tracking);
	snprintf(body, sizeof(body),
	         "%s事项 %s 已被 %s 督办，督办期限 %s。\n督办意见：%s\n"
	         "主题：%s\n处室：%s\n状态：%s\n答复期限：%s\n\n"
	         "%sItem %s is under a supervision order of %s, due %s.\n",
	         reminder ? "督办期限已到：" : "", it->tracking, by, due, quoted, subj,
	         it->section_name != NULL ? it->section_name : "-", wf_state_name(it->state),
	         reply_due, reminder ? "The supervision order's due date has come. " : "",
	         it->tracking, by, due);
	snprintf(text, sizeof(text), "【civicdesk】%s %s 督办期限%s，请及时办理。",
	         reminder ? "督办到期" : "督办", it->tracking, due);
	notify_staff_init(&st, c, cfg, cal, now, it, step, subject, body, text);
	rc = notify_staff_heads(&st);
	if (rc == 0 && queued != NULL)
		*queued += st.queued;
	return rc;
}

int
notify_supervised(struct db_conn *c, const struct notify_config *cfg,
                  const struct sla_calendar *cal, const struct db_item *it, int64_t at)
{
	struct db_supervision sup;
	int rc;

	sla_day due_day;

	rc = db_supervision_get(c, it->id, &sup);
	if (rc <= 0)
		return rc;
	rc = order_notice(c, cfg, cal, it, sup.note, sup.by_name, sup.due, 0, at, NULL);
	/* the reminder at 09:00 on the due date; none when that is today (this notice says it) */
	due_day = sla_local_day(sup.due);
	if (rc == 0 && due_day > sla_local_day(at))
		rc = db_supervision_remind_add(c, sup.id, sla_day_end(due_day, REMIND_MINUTES));
	db_supervision_free(&sup);
	return rc;
}

/* 1 when the item has ended (no reminder is needed any more). */
static int
ended(const struct db_item *it)
{
	enum wf_state s = it->state;

	return s == WF_REPLIED || s == WF_CLOSED || s == WF_REJECTED || s == WF_MERGED;
}

int
notify_orders_scan(struct db_conn *c, const struct notify_config *cfg,
                   const struct sla_calendar *cal, int64_t now, size_t *queued)
{
	struct db_supervision *v = NULL;
	struct db_item it;
	size_t n = 0, i;
	int rc, r;

	for (;;) {
		if (db_begin(c) != 0)
			return -1;
		if (db_supervision_remind_due(c, now, ORDERS_BATCH, &v, &n) != 0)
			goto rollback;
		for (i = 0; i < n; i++) {
			r = db_item_get_id(c, v[i].item_id, &it);
			if (r < 0)
				goto rollback;
			rc = 0;
			if (r > 0 && !ended(&it))
				rc = order_notice(c, cfg, cal, &it, v[i].note, v[i].by_name,
				                  v[i].due, 1, now, queued);
			if (r > 0)
				db_item_free(&it);
			if (rc != 0 || db_supervision_remind_done(c, v[i].id) != 0)
				goto rollback;
		}
		if (db_commit(c) != 0)
			goto out;
		db_supervisions_free(v, n);
		v = NULL;
		if (n < ORDERS_BATCH)
			return 0;
	}
rollback:
	notify_log("supervision reminders: %s", db_errmsg(c));
	db_rollback(c);
out:
	db_supervisions_free(v, n);
	return -1;
}
