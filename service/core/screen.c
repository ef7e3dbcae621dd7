/*
 * screen.c: content screening (电子公告服务内容过滤; 保留有关原始记录): the prohibited words and
 * patterns of screen_words and screen_file, looked for in a new item's subject and body. A
 * match flags the item for the dispatcher (the queue shows it) in the transaction that stores
 * it; nothing is dropped and the text stays as the citizen wrote it. A word matches as a
 * case-insensitive substring; an entry "re:PATTERN" is a POSIX extended regular expression
 * (case-insensitive) on characters, not bytes: the patterns are compiled once and run under
 * the C.UTF-8 locale, set for the calling thread only (uselocale), so that "代.办" or "[赌博]"
 * mean what they say.
 */
#include <ctype.h>
#include <errno.h>
#include <locale.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core_int.h"

#define SCREEN_ENTRY_MAX 256  /* bytes of one entry */
#define SCREEN_ENTRIES_MAX 5000 /* entries at most */
#define SCREEN_FILE_MAX (1L << 20) /* bytes of screen_file */

/* Calls fn for each entry of list (separated by newlines), trimmed, skipping blank lines and
 * lines starting with '#'. Stops at fn's first non-zero return and returns it. */
static int
each_entry(const char *list, int (*fn)(void *cls, const char *entry), void *cls)
{
	char entry[SCREEN_ENTRY_MAX + 1];
	const char *p = list, *end;
	size_t n;
	int rc;

	while (p != NULL && *p != '\0') {
		end = strchr(p, '\n');
		n = end ? (size_t)(end - p) : strlen(p);
		while (n > 0 && isspace((unsigned char)*p)) {
			p++;
			n--;
		}
		while (n > 0 && isspace((unsigned char)p[n - 1]))
			n--;
		if (n > 0 && *p != '#') {
			if (n > SCREEN_ENTRY_MAX)
				n = SCREEN_ENTRY_MAX;
			memcpy(entry, p, n);
			entry[n] = '\0';
			rc = fn(cls, entry);
			if (rc != 0)
				return rc;
		}
		p = end ? end + 1 : NULL;
	}
	return 0;
}

struct screen_list {
	char *text;     /* the entries, one a line */
	locale_t utf8;  /* C.UTF-8, for the patterns ((locale_t)0 when there are none) */
	regex_t *re;    /* the compiled patterns, in the order of their entries */
	size_t nre;
};

struct check_ctx {
	struct screen_list *list;
	char *err;
	size_t errsize;
	size_t count;
};

static int
check_one(void *cls, const char *entry)
{
	struct check_ctx *k = cls;
	struct screen_list *l = k->list;
	locale_t old;
	int rc;

	if (++k->count > SCREEN_ENTRIES_MAX) {
		snprintf(k->err, k->errsize, "more than %d entries", SCREEN_ENTRIES_MAX);
		return -1;
	}
	if (strncmp(entry, "re:", 3) != 0)
		return 0;
	if (l->utf8 == (locale_t)0) {
		l->utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
		if (l->utf8 == (locale_t)0) {
			snprintf(k->err, k->errsize,
			         "the locale C.UTF-8 is not available (%s): patterns need it",
			         strerror(errno));
			return -1;
		}
	}
	old = uselocale(l->utf8);
	rc = regcomp(&l->re[l->nre], entry + 3, REG_EXTENDED | REG_ICASE | REG_NOSUB);
	uselocale(old);
	if (rc != 0) {
		char why[128];

		regerror(rc, &l->re[l->nre], why, sizeof(why));
		snprintf(k->err, k->errsize, "pattern '%.80s': %s", entry + 3, why);
		return -1;
	}
	l->nre++;
	return 0;
}

void
screen_list_free(struct screen_list *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->nre; i++)
		regfree(&l->re[i]);
	free(l->re);
	if (l->utf8 != (locale_t)0)
		freelocale(l->utf8);
	free(l->text);
	free(l);
}

int
screen_list_build(const char *words, const char *file, struct screen_list **out, char *err,
                  size_t errsize)
{
	struct check_ctx k = {NULL, err, errsize, 0};
	size_t wl = strlen(words), fl = 0, i, lines = 1;
	char *list = NULL, *data = NULL;
	FILE *f;

	if (file[0] != '\0') {
		f = fopen(file, "r");
		if (f == NULL) {
			snprintf(err, errsize, "screen_file %s: %s", file, strerror(errno));
			return -1;
		}
		data = malloc(SCREEN_FILE_MAX + 1);
		if (data != NULL)
			fl = fread(data, 1, SCREEN_FILE_MAX + 1, f);
		fclose(f);
		if (data == NULL || fl > SCREEN_FILE_MAX) {
			snprintf(err, errsize, "screen_file %s: %s", file,
			         data == NULL ? "out of memory" : "larger than 1 MiB");
			free(data);
			return -1;
		}
	}
	list = malloc(wl + fl + 2);
	k.list = calloc(1, sizeof(*k.list));
	if (list == NULL || k.list == NULL) {
		free(data);
		free(list);
		free(k.list);
		snprintf(err, errsize, "out of memory");
		return -1;
	}
	/* screen_words: entries separated by commas, one a line here */
	for (i = 0; i < wl; i++)
		list[i] = words[i] == ',' ? '\n' : words[i];
	list[wl] = '\n';
	if (fl > 0)
		memcpy(list + wl + 1, data, fl);
	list[wl + 1 + fl] = '\0';
	free(data);
	k.list->text = list;
	if (text_check(list, strlen(list), TEXT_MULTILINE) < 0) {
		snprintf(err, errsize, "screen_words / screen_file: not valid UTF-8 text");
		screen_list_free(k.list);
		return -1;
	}
	for (i = 0; list[i] != '\0'; i++)
		lines += list[i] == '\n';
	k.list->re = calloc(lines, sizeof(regex_t)); /* at most one pattern a line */
	if (k.list->re == NULL) {
		snprintf(err, errsize, "out of memory");
		screen_list_free(k.list);
		return -1;
	}
	if (each_entry(list, check_one, &k) != 0) {
		screen_list_free(k.list);
		return -1;
	}
	*out = k.list;
	return 0;
}

struct match_ctx {
	const struct screen_list *list;
	const char *const *texts;
	size_t ntexts;
	char *buf;
	size_t size, used;
	size_t ri; /* the next compiled pattern */
	int found;
};

static int
match_one(void *cls, const char *entry)
{
	struct match_ctx *m = cls;
	size_t i;
	int hit = 0;

	if (strncmp(entry, "re:", 3) == 0) {
		const regex_t *re;

		if (m->ri >= m->list->nre)
			return 0; /* cannot be: every pattern compiled at start */
		re = &m->list->re[m->ri++];
		for (i = 0; !hit && i < m->ntexts; i++)
			hit = m->texts[i] != NULL && regexec(re, m->texts[i], 0, NULL, 0) == 0;
	} else {
		for (i = 0; !hit && i < m->ntexts; i++)
			hit = m->texts[i] != NULL && strcasestr(m->texts[i], entry) != NULL;
	}
	if (hit) {
		int k = snprintf(m->buf + m->used, m->size - m->used, "%s%s", m->found ? ", " : "",
		                 entry);

		m->found++;
		if (k > 0 && (size_t)k < m->size - m->used)
			m->used += (size_t)k;
	}
	return 0;
}

int
screen_match(const struct screen_list *list, const char *const *texts, size_t ntexts, char *buf,
             size_t size)
{
	struct match_ctx m = {list, texts, ntexts, buf, size, 0, 0, 0};
	locale_t old = (locale_t)0;

	buf[0] = '\0';
	if (list == NULL)
		return 0;
	/* the patterns run on characters: this thread in C.UTF-8 for the call, then as it was */
	if (list->utf8 != (locale_t)0)
		old = uselocale(list->utf8);
	each_entry(list->text, match_one, &m);
	if (list->utf8 != (locale_t)0)
		uselocale(old);
	return m.found;
}

int
screen_record(struct db_conn *c, const struct db_item *item, const char *matched, int64_t now)
{
	struct actor system = {0, "system", NULL};
	char note[SCREEN_MATCHED_MAX + 32];
	struct db_history h;

	if (matched == NULL || matched[0] == '\0')
		return 0;
	snprintf(note, sizeof(note), "flagged for review: %s", matched);
	memset(&h, 0, sizeof(h));
	h.at = now;
	h.actor = (char *)"system";
	h.action = (char *)"screened";
	h.to_state = (char *)wf_state_name(item->state);
	h.note = note;
	h.citizen = 0; /* for staff only */
	if (db_screen_add(c, item->id, matched, now) != 0 || db_history_add(c, item->id, &h) != 0 ||
	    audit_write(c, now, &system, "screened", item->tracking, 1, note) != 0)
		return -1;
	return 0;
}

int
core_screen_clear(struct app *app, struct db_conn *c, const struct session *s, const char *addr,
                  const char *tracking, const char *note, int64_t now, struct core_error *err)
{
	struct actor who = {s->account_id, s->username, addr};
	struct db_history h;
	struct core_txn txn;
	char detail[600];
	int rc, ret = -1;

	if (note == NULL || !text_nonblank(note) || text_check(note, strlen(note), TEXT_MULTILINE) < 0 ||
	    strlen(note) > 500)
		return core_fail(err, CORE_INVALID, "note",
		                 "note is required: why the flag is cleared (at most 500 bytes)");
	if (txn_begin(&txn, app, c, tracking, err) != 0)
		goto out;
	rc = db_screen_clear(c, txn.item.id, s->account_id, now);
	if (rc <= 0) {
		if (rc < 0)
			core_fail(err, db_unavailable(c) ? CORE_BUSY : CORE_ERROR, NULL,
			          "the flag cannot be cleared; try again");
		else {
			core_fail(err, CORE_CONFLICT, NULL, "item %s is not flagged", tracking);
			err->code_name = "not_flagged";
			err->state = -1;
			err->allowed = 0;
		}
		goto out;
	}
	snprintf(detail, sizeof(detail), "screening flag cleared: %s", note);
	memset(&h, 0, sizeof(h));
	h.at = now;
	h.actor_id = s->account_id;
	h.actor = s->username;
	h.action = (char *)"screening_cleared";
	h.from_state = (char *)wf_state_name(txn.item.state);
	h.to_state = (char *)wf_state_name(txn.item.state);
	h.note = detail;
	if (txn_commit(&txn, &who, &h, detail, NULL, err) != 0)
		goto out;
	ret = 0;
out:
	txn_end(&txn);
	return ret;
}
