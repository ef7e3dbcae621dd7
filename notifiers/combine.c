/* combine.c: several notices due for one recipient at one moment go out as one message (an
 * SMS gateway caps messages per number per day; a head with ten overdue items gets one mail).
 * The rows stay separate in the outbox: every row of a combined message is claimed with the
 * message's Message-ID and marked with its result, together. A group that was tried before
 * (its rows carry the Message-ID) is formed again from exactly those rows, so that a resend
 * after a crash repeats the same message under the same Message-ID. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "notifiers_int.h"

#define COMBINED_BODY_MAX 65536 /* bytes of a combined e-mail body */
#define COMBINED_SMS_MAX 2000   /* bytes of a combined SMS when no segment limit is set */

/* 1 when row r may join group g (same recipient; the same Message-ID, or neither has one). */
static int
joins(const struct notify_group *g, const struct db_outbox *rows, const struct db_outbox *r)
{
	const struct db_outbox *lead = &rows[g->idx[0]];

	if (strcmp(lead->recipient, r->recipient) != 0)
		return 0;
	if (lead->message_id != NULL || r->message_id != NULL)
		return lead->message_id != NULL && r->message_id != NULL &&
		       strcmp(lead->message_id, r->message_id) == 0;
	return 1;
}

/* 1 when a fresh group still has room for r. */
static int
room(const struct notify_config *cfg, int sms, const struct notify_group *g,
     const struct db_outbox *r)
{
	size_t max;

	if ((long)g->n >= cfg->combine_max)
		return 0;
	if (!sms)
		return g->bytes + strlen(r->body) + (r->subject ? strlen(r->subject) : 0) + 64 <
		       COMBINED_BODY_MAX;
	if (cfg->sms_max_segments > 0) {
		max = (size_t)(cfg->sms_segment_chars * cfg->sms_max_segments);
		return g->chars + 1 + notify_utf8_len(r->body) <= max;
	}
	return g->bytes + strlen(r->body) + 1 < COMBINED_SMS_MAX;
}

int
notify_group_rows(const struct notify_config *cfg, int sms, const struct db_outbox *rows, size_t n,
                  const unsigned char *skip, struct notify_group **out, size_t *ng)
{
	struct notify_group *g = NULL, *x;
	size_t len = 0, i, j;

	g = calloc(n > 0 ? n : 1, sizeof(*g));
	if (g == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		const struct db_outbox *r = &rows[i];

		if (skip != NULL && skip[i])
			continue;
		x = NULL;
		for (j = 0; j < len; j++)
			if (joins(&g[j], rows, r) &&
			    (r->message_id != NULL || room(cfg, sms, &g[j], r))) {
				x = &g[j];
				break;
			}
		if (x == NULL) {
			x = &g[len++];
			x->idx = calloc(n, sizeof(*x->idx));
			if (x->idx == NULL)
				goto fail;
		}
		x->idx[x->n++] = i;
		x->bytes += strlen(r->body) + (r->subject ? strlen(r->subject) : 0);
		x->chars += (x->n > 1 ? 1 : 0) + notify_utf8_len(r->body);
	}
	*out = g;
	*ng = len;
	return 0;
fail:
	notify_groups_free(g, len);
	return -1;
}

void
notify_groups_free(struct notify_group *g, size_t n)
{
	size_t i;

	if (g == NULL)
		return;
	for (i = 0; i < n; i++) {
		free(g[i].idx);
		free(g[i].subject);
		free(g[i].body);
	}
	free(g);
}

/* Appends printf output to buf (size cap), never past it. */
static void put(char *buf, size_t cap, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
put(char *buf, size_t cap, size_t *len, const char *fmt, ...)
{
	va_list ap;
	int w;

	if (*len + 1 >= cap)
		return;
	va_start(ap, fmt);
	w = vsnprintf(buf + *len, cap - *len, fmt, ap);
	va_end(ap);
	if (w > 0)
		*len += (size_t)w < cap - *len ? (size_t)w : cap - *len - 1;
}

/* The language of group g's combined e-mail: its citizen's (schema 031) when every row is a
 * notice to a citizen about an item of that one language; LANG_NONE (Chinese and English
 * together, as staff notices and older items' are written) otherwise. */
static enum lang
group_lang(const struct notify_group *g, const struct db_outbox *rows)
{
	enum lang l = rows[g->idx[0]].lang;
	size_t i;

	for (i = 0; i < g->n; i++) {
		const struct db_outbox *r = &rows[g->idx[i]];

		if (r->account_id != 0 || r->item_id == 0 || r->lang != l)
			return LANG_NONE;
	}
	return (unsigned)l < LANG__MAX ? l : LANG_NONE;
}

#define SUBJECT_NUMBERS_MAX 400 /* bytes of a combined subject past which no number is added */

/* Appends to subject (size cap, holding len bytes) the tracking numbers of group g's rows that
 * its lead subject does not name, each once, in the rows' order, in the words of language l:
 * a mail client's list and a search of subjects then find every item the message is about (the
 * lead's subject names one). Past SUBJECT_NUMBERS_MAX bytes the list ends in an ellipsis. */
static void
subject_numbers(char *subject, size_t cap, size_t len, const struct notify_group *g,
                const struct db_outbox *rows, enum lang l)
{
	const char *open, *sep, *close;
	size_t i, j, shown = 0;

	switch (l) {
	case LANG_ZH_HANS:
	case LANG_ZH_HANT:
		open = "（另有 ", sep = "、", close = "）";
		break;
	case LANG_EN:
		open = " (also ", sep = ", ", close = ")";
		break;
	default:
		open = "（另有 / also ", sep = ", ", close = "）";
	}
	for (i = 0; i < g->n; i++) {
		const char *t = rows[g->idx[i]].tracking;

		if (t == NULL || t[0] == '\0' || strstr(subject, t) != NULL)
			continue;
		for (j = 0; j < i; j++)
			if (rows[g->idx[j]].tracking != NULL &&
			    strcmp(rows[g->idx[j]].tracking, t) == 0)
				break;
		if (j < i)
			continue;
		if (len > SUBJECT_NUMBERS_MAX) {
			if (shown > 0)
				put(subject, cap, &len, "%s…", sep);
			break;
		}
		put(subject, cap, &len, "%s%s", shown++ ? sep : open, t);
	}
	if (shown > 0)
		put(subject, cap, &len, "%s", close);
}

int
notify_group_message(struct notify_group *g, const struct db_outbox *rows, int sms)
{
	const struct db_outbox *lead = &rows[g->idx[0]];
	size_t cap, len = 0, i;
	char *subject = NULL, *body = NULL;

	g->msg = *lead;
	if (g->n == 1)
		return 0;
	cap = g->bytes + g->n * 128 + 512;
	body = malloc(cap);
	if (body == NULL)
		return -1;
	body[0] = '\0';
	if (sms) {
		/* one text after the other, one line each */
		for (i = 0; i < g->n; i++)
			put(body, cap, &len, "%s%s", i ? "\n" : "", rows[g->idx[i]].body);
	} else {
		subject = malloc(1024);
		if (subject == NULL) {
			free(body);
			return -1;
		}
		/* the heading in the language of the notices under it */
		switch (group_lang(g, rows)) {
		case LANG_ZH_HANS:
			snprintf(subject, 1024, "【%zu 条通知】%s", g->n,
			         lead->subject != NULL ? lead->subject : "");
			put(body, cap, &len, "本邮件汇总了 %zu 条通知。\n", g->n);
			break;
		case LANG_ZH_HANT:
			snprintf(subject, 1024, "【%zu 則通知】%s", g->n,
			         lead->subject != NULL ? lead->subject : "");
			put(body, cap, &len, "本郵件彙整了 %zu 則通知。\n", g->n);
			break;
		case LANG_EN:
			snprintf(subject, 1024, "[%zu notices] %s", g->n,
			         lead->subject != NULL ? lead->subject : "");
			put(body, cap, &len, "This mail holds %zu notices.\n", g->n);
			break;
		default:
			snprintf(subject, 1024, "【%zu 条通知 / %zu notices】%s", g->n, g->n,
			         lead->subject != NULL ? lead->subject : "");
			put(body, cap, &len,
			    "本邮件汇总了 %zu 条通知。/ This mail holds %zu notices.\n", g->n,
			    g->n);
		}
		subject_numbers(subject, 1024, strlen(subject), g, rows, group_lang(g, rows));
		for (i = 0; i < g->n; i++) {
			const struct db_outbox *r = &rows[g->idx[i]];

			put(body, cap, &len, "\n==== %zu/%zu ==== %s\n\n%s\n", i + 1, g->n,
			    r->subject != NULL ? r->subject : "", r->body);
		}
	}
	g->subject = subject;
	g->body = body;
	g->msg.subject = subject != NULL ? subject : lead->subject;
	g->msg.body = body;
	return 0;
}
