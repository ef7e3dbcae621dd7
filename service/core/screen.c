/*
 * screen.c: content screening (电子公告服务内容过滤; 保留有关原始记录): the prohibited words and
 * patterns of screen_words and screen_file, looked for in a new item's subject and body. A
 * match flags the item for the dispatcher (the queue shows it) in the transaction that stores
 * it; nothing is dropped and the text stays as the citizen wrote it. A word matches as a
 * substring of the text once both are folded (GLib: NFKC, so that full-width ＣＡＳＩＮＯ and
 * circled ①②③ are the letters and digits they show; case folding in every script; the
 * invisible format characters, such as zero-width spaces, dropped), so that a word cannot be
 * hidden by writing it another way; an entry "re:PATTERN" is a POSIX extended regular expression
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

#include <glib.h>

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

/* One entry of the list. */
struct screen_entry {
	char *text;   /* as written, for the record of what matched */
	char *folded; /* a word: folded (screen_fold); a pattern: NULL */
	regex_t *re;  /* a pattern: compiled; a word: NULL */
};

struct screen_list {
	char *text;     /* the entries, one a line */
	locale_t utf8;  /* C.UTF-8, for the patterns ((locale_t)0 when there are none) */
	regex_t *re;    /* the compiled patterns, in the order of their entries */
	size_t nre;
	struct screen_entry *entries; /* every entry, in order */
	size_t nentries;
};

/* s folded for matching, in a new string (g_free): NFKC, case-folded, with the format
 * characters (Unicode category Cf: zero-width spaces and joiners, the soft hyphen, marks of
 * direction) left out. NULL when s is not valid UTF-8 or memory is short. */
static char *
screen_fold(const char *s)
{
	char *nfkc = g_utf8_normalize(s, -1, G_NORMALIZE_NFKC), *folded, *p, *out;

	if (nfkc == NULL)
		return NULL;
	folded = g_utf8_casefold(nfkc, -1);
	g_free(nfkc);
	if (folded == NULL)
		return NULL;
	for (p = out = folded; *p != '\0';) {
		char *next = g_utf8_next_char(p);

		if (g_unichar_type(g_utf8_get_char(p)) != G_UNICODE_FORMAT) {
			memmove(out, p, (size_t)(next - p));
			out += next - p;
		}
		p = next;
	}
	*out = '\0';
	return folded;
}

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

	struct screen_entry *e;

	if (++k->count > SCREEN_ENTRIES_MAX) {
		snprintf(k->err, k->errsize, "more than %d entries", SCREEN_ENTRIES_MAX);
		return -1;
	}
	e = &l->entries[l->nentries];
	e->text = strdup(entry);
	if (e->text == NULL) {
		snprintf(k->err, k->errsize, "out of memory");
		return -1;
	}
	l->nentries++;
	if (strncmp(entry, "re:", 3) != 0) {
		e->folded = screen_fold(entry);
		if (e->folded == NULL) {
			snprintf(k->err, k->errsize, "out of memory");
			return -1;
		}
		return 0;
	}
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
	e->re = &l->re[l->nre++];
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
	for (i = 0; i < l->nentries; i++) {
		free(l->entries[i].text);
		g_free(l->entries[i].folded);
	}
	free(l->entries);
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
	k.list->entries = calloc(lines, sizeof(*k.list->entries)); /* at most one entry a line */
	if (k.list->re == NULL || k.list->entries == NULL) {
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

/* Appends entry to the record of what matched ("a, b"), within size. */
static void
record_match(char *buf, size_t size, size_t *used, int found, const char *entry)
{
	int k = snprintf(buf + *used, size - *used, "%s%s", found ? ", " : "", entry);

	if (k > 0 && (size_t)k < size - *used)
		*used += (size_t)k;
}

int
screen_match(const struct screen_list *list, const char *const *texts, size_t ntexts, char *buf,
             size_t size)
{
	char *folded[8] = {NULL};
	locale_t old = (locale_t)0;
	size_t i, j, used = 0;
	int found = 0;

	buf[0] = '\0';
	if (list == NULL || list->nentries == 0)
		return 0;
	if (ntexts > sizeof(folded) / sizeof(folded[0]))
		ntexts = sizeof(folded) / sizeof(folded[0]);
	for (j = 0; j < ntexts; j++)
		if (texts[j] != NULL)
			folded[j] = screen_fold(texts[j]);
	/* the patterns run on characters: this thread in C.UTF-8 for the call, then as it was */
	if (list->utf8 != (locale_t)0)
		old = uselocale(list->utf8);
	for (i = 0; i < list->nentries; i++) {
		const struct screen_entry *e = &list->entries[i];
		int hit = 0;

		for (j = 0; !hit && j < ntexts; j++) {
			if (texts[j] == NULL)
				continue;
			if (e->re != NULL)
				hit = regexec(e->re, texts[j], 0, NULL, 0) == 0 ||
				      (folded[j] != NULL && regexec(e->re, folded[j], 0, NULL, 0) == 0);
			else
				hit = folded[j] != NULL ? strstr(folded[j], e->folded) != NULL
				                        : strcasestr(texts[j], e->text) != NULL;
		}
		if (hit)
			record_match(buf, size, &used, found++, e->text);
	}
	if (list->utf8 != (locale_t)0)
		uselocale(old);
	for (j = 0; j < ntexts; j++)
		g_free(folded[j]);
	return found;
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
