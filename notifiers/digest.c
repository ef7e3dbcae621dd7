/* digest.c: the weekly notices: each section's digest of its open items with their due times
 * (互动交流类栏目 1 周提醒), to the section's mailbox and its heads; the warning to
 * administrators that the holiday calendar's coverage ends within 60 days, weekly until a new
 * year is loaded; and, with the digest, the audit chain's head to administrators (an anchor
 * kept outside the server). Each runs once a week: a mark (table notify_runs) says which week
 * was done, written in the transaction of its outbox rows. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "notifiers_int.h"
#include "service/core/core.h"

#define DIGEST_ITEMS 100    /* items listed per section (the queue has the rest) */
#define DIGEST_MAX 32768    /* bytes of a digest */
#define COVERAGE_DAYS 60    /* warn this many days before the calendar's coverage ends */

static const char *const weekdays[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};

int
notify_weekly_parse(const char *s, int *weekday, int *minutes)
{
	size_t i;
	int h, m;

	if (strcmp(s, "off") == 0) {
		*weekday = -1;
		*minutes = 0;
		return 0;
	}
	for (i = 0; i < 7; i++)
		if (strncmp(s, weekdays[i], 3) == 0 && s[3] == ' ')
			break;
	if (i == 7 || strlen(s) != 9 || s[6] != ':' || sscanf(s + 4, "%2d:%2d", &h, &m) != 2 ||
	    h < 0 || h > 23 || m < 0 || m > 59)
		return -1;
	*weekday = (int)i;
	*minutes = h * 60 + m;
	return 0;
}

/* The instant of this week's run (the week of now, Monday first), or 0 when off. */
static int64_t
week_run(const struct notify_config *cfg, int64_t now, sla_day *monday)
{
	sla_day today = sla_local_day(now);
	int wd, min;

	*monday = today - sla_weekday(today);
	if (notify_weekly_parse(cfg->digest, &wd, &min) != 0 || wd < 0)
		return 0;
	return sla_day_end(*monday + wd, min);
}

static int
queue_mail(struct db_conn *c, const struct notify_config *cfg, const struct sla_calendar *cal,
           const char *step, const char *to, int64_t account, const char *subject,
           const char *body, int64_t now, size_t *queued)
{
	struct db_notice n;
	int rc;

	memset(&n, 0, sizeof(n));
	n.clock = "";
	n.step = step;
	n.channel = "email";
	n.recipient = to;
	n.account_id = account;
	n.subject = subject;
	n.body = body;
	rc = notify_queue(c, cfg, cal, &n, now);
	if (rc == 0)
		(*queued)++;
	return rc < 0 ? -1 : 0;
}

/* The mail to every active account of role (in section_id when not 0), recording those
 * without an address and a role nobody holds (notify_missing). 0 or -1. */
static int
staff_mail(struct db_conn *c, const struct notify_config *cfg, const struct sla_calendar *cal,
           const struct db_account *acc, size_t nacc, int role, int64_t section_id,
           const char *step, const char *subject, const char *body, int64_t now,
           size_t *queued)
{
	struct notify_staff st;

	notify_staff_init(&st, c, cfg, cal, now, NULL, step, subject, body, NULL);
	if (notify_staff_role(&st, acc, nacc, role, section_id) != 0)
		return -1;
	*queued += st.queued;
	return 0;
}

/* Appends printf text to buf (len bytes used of size), silently cut at the end. */
static void
append(char *buf, size_t size, size_t *len, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void
append(char *buf, size_t size, size_t *len, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*len + 1 >= size)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *len, size - *len, fmt, ap);
	va_end(ap);
	if (n > 0)
		*len = *len + (size_t)n < size ? *len + (size_t)n : size - 1;
}

static int
digest_section(struct db_conn *c, const struct notify_config *cfg,
               const struct sla_calendar *cal, const struct db_section *s,
               const struct db_account *acc, size_t nacc, const char *step, int64_t now,
               size_t *queued)
{
	struct db_queue_filter f;
	struct db_queue_row *rows = NULL;
	char *body = NULL, subject[300], due[32], quoted[NOTIFY_SUBJECT_QUOTE + 4];
	size_t n = 0, i, len = 0;
	int rc = -1, overdue = 0;

	memset(&f, 0, sizeof(f));
	f.section_id = s->id;
	f.limit = DIGEST_ITEMS;
	if (db_queue_list(c, &f, &rows, &n) != 0)
		return -1;
	body = malloc(DIGEST_MAX);
	if (body == NULL)
		goto out;
	body[0] = '\0';
	for (i = 0; i < n; i++)
		if (rows[i].next_due != DB_NO_DUE && rows[i].next_due < now)
			overdue++;
	append(body, DIGEST_MAX, &len,
	       "%s 本周待办事项：%zu%s 件，其中逾期 %d 件。\n"
	       "Open items of %s this week: %zu%s, %d of them overdue.\n\n",
	       s->name, n, n == DIGEST_ITEMS ? "+" : "", overdue, s->name, n,
	       n == DIGEST_ITEMS ? "+" : "", overdue);
	for (i = 0; i < n; i++) {
		if (rows[i].next_due == DB_NO_DUE)
			snprintf(due, sizeof(due), "-");
		else
			notify_format_time(rows[i].next_due, due, sizeof(due));
		notify_quote_subject(rows[i].subject, quoted);
		append(body, DIGEST_MAX, &len, "%s  %-10s  %s%s  %s\n", rows[i].tracking,
		       wf_state_name(rows[i].state), due,
		       rows[i].next_due != DB_NO_DUE && rows[i].next_due < now ? " 逾期" : "",
		       quoted);
	}
	snprintf(subject, sizeof(subject), "【每周提醒】%s 待办 %zu%s 件 / weekly digest", s->name,
	         n, n == DIGEST_ITEMS ? "+" : "");
	if (s->email != NULL && s->email[0] != '\0' &&
	    queue_mail(c, cfg, cal, step, s->email, 0, subject, body, now, queued) != 0)
		goto out;
	/* the heads; one without an address, or a section without a head, is listed */
	if (staff_mail(c, cfg, cal, acc, nacc, ROLE_SECTION_HEAD, s->id, step, subject, body, now,
	               queued) != 0)
		goto out;
	rc = 0;
out:
	free(body);
	db_queue_rows_free(rows, n);
	return rc;
}

/* The coverage warning of this week, when the calendar ends within COVERAGE_DAYS. */
static int
coverage(struct db_conn *c, const struct notify_config *cfg, const struct sla_calendar *cal,
         const struct db_account *acc, size_t nacc, const char *week, int64_t now,
         size_t *queued)
{
	sla_day first, last, today = sla_local_day(now);
	char lastbuf[11], step[64], subject[200], body[1024];

	sla_calendar_range(cal, &first, &last);
	if (last - today > COVERAGE_DAYS)
		return 0;
	sla_date_format(last, lastbuf);
	snprintf(step, sizeof(step), "coverage/%s/%s", lastbuf, week);
	snprintf(subject, sizeof(subject), "【日历】节假日日历覆盖至 %s / holiday calendar ends %s",
	         lastbuf, lastbuf);
	snprintf(body, sizeof(body),
	         "节假日日历只覆盖到 %s。请在国务院办公厅发布下一年节假日安排后载入新的日历文件"
	         "（civicdesk calendar load）；在此之前，此后的期限按普通周计算并标为暂定。\n\n"
	         "The holiday calendar covers dates up to %s only. Load the next year's file "
	         "(civicdesk calendar load) once the State Council publishes it; until then due "
	         "dates beyond it count on the base week and are marked provisional.\n",
	         lastbuf, lastbuf);
	return staff_mail(c, cfg, cal, acc, nacc, ROLE_ADMIN, 0, step, subject, body, now, queued);
}

/* The audit chain's head, to the administrators with the digest when it moved since the last
 * one mailed: an anchor kept outside the server without anyone copying log lines, for
 * `civicdesk audit verify --head` to show a cut tail later. */
static int
audit_head(struct db_conn *c, const struct notify_config *cfg, const struct sla_calendar *cal,
           const struct db_account *acc, size_t nacc, const char *week, int64_t now,
           size_t *queued)
{
	unsigned char hash[DB_AUDIT_HASH];
	char hex[DB_AUDIT_HASH * 2 + 1], idbuf[32], done[32], step[64], subject[200], body[1024];
	int64_t id;
	int r;

	if (db_audit_head(c, &id, hash) != 0)
		return -1;
	if (id == 0)
		return 0;
	snprintf(idbuf, sizeof(idbuf), "%lld", (long long)id);
	r = db_notify_run_get(c, "audit_head", done, sizeof(done));
	if (r < 0)
		return -1;
	if (r > 0 && strcmp(done, idbuf) == 0)
		return 0;
	sodium_bin2hex(hex, sizeof(hex), hash, sizeof(hash));
	snprintf(step, sizeof(step), "audit_head/%s", week);
	snprintf(subject, sizeof(subject), "【审计】审计日志链头：记录 %s / audit chain head: record %s",
	         idbuf, idbuf);
	snprintf(body, sizeof(body),
	         "审计日志链头：record %s hash %s\n"
	         "请保留此邮件。日后运行 civicdesk audit verify --head 'record %s hash %s'，"
	         "若此记录被删除或审计链被重写，将报告审计链断裂。\n\n"
	         "Audit chain head: record %s hash %s\n"
	         "Keep this e-mail. Later, civicdesk audit verify --head 'record %s hash %s' reports "
	         "the chain broken if this record was deleted or the chain written again.\n",
	         idbuf, hex, idbuf, hex, idbuf, hex, idbuf, hex);
	if (staff_mail(c, cfg, cal, acc, nacc, ROLE_ADMIN, 0, step, subject, body, now, queued) !=
	    0)
		return -1;
	return db_notify_run_set(c, "audit_head", idbuf);
}

int
notify_weekly(struct db_conn *c, const struct notify_config *cfg, const struct sla_calendar *cal,
              int64_t now, size_t *queued)
{
	struct db_section *sec = NULL;
	struct db_account *acc = NULL;
	size_t nsec = 0, nacc = 0, i;
	char week[11], done[32], step[64];
	sla_day monday;
	int64_t run = week_run(cfg, now, &monday);
	int rc = -1, r;

	sla_date_format(monday, week);
	if (db_begin(c) != 0)
		return -1;
	if (db_account_list(c, &acc, &nacc) != 0)
		goto rollback;
	/* the calendar warning: in the first scan of each week once it applies */
	r = db_notify_run_get(c, "coverage", done, sizeof(done));
	if (r < 0)
		goto rollback;
	if ((r == 0 || strcmp(done, week) != 0) &&
	    (coverage(c, cfg, cal, acc, nacc, week, now, queued) != 0 ||
	     db_notify_run_set(c, "coverage", week) != 0))
		goto rollback;
	/* the digest: at its hour of the week, once */
	r = db_notify_run_get(c, "digest", done, sizeof(done));
	if (r < 0)
		goto rollback;
	if (run != 0 && now >= run && (r == 0 || strcmp(done, week) != 0)) {
		snprintf(step, sizeof(step), "digest/%s", week);
		if (db_section_list(c, &sec, &nsec) != 0)
			goto rollback;
		for (i = 0; i < nsec; i++)
			if (sec[i].active &&
			    digest_section(c, cfg, cal, &sec[i], acc, nacc, step, now, queued) != 0)
				goto rollback;
		if (audit_head(c, cfg, cal, acc, nacc, week, now, queued) != 0 ||
		    db_notify_run_set(c, "digest", week) != 0)
			goto rollback;
	}
	if (db_commit(c) != 0)
		goto out;
	rc = 0;
	goto out;
rollback:
	notify_log("weekly notices: %s", db_errmsg(c));
	db_rollback(c);
out:
	db_sections_free(sec, nsec);
	db_accounts_free(acc, nacc);
	return rc;
}
