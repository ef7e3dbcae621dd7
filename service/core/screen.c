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
	char *text;    /* as written, for the record of what matched */
	char *folded;  /* a word: folded (screen_fold); a pattern: NULL */
	size_t len;    /* a word: bytes of folded */
	size_t next;   /* a word: the next word of its first character's bucket + 1, or 0 */
	regex_t *re;   /* a pattern: compiled; a word: NULL */
	size_t group;  /* a pattern: its group + 1 (below), or 0 when it runs alone */
};

/* Matching is one pass over each folded text for all the words, whatever their number: the
 * words are filed by their first character (a small hash table of chains), and each position
 * of the text is compared with the words that start with its character only (a strstr of
 * every word over every text cost 5000 × the text for a list of 5000). The patterns run in
 * groups of up to SCREEN_GROUP joined as one alternation, (p1)|(p2)|…: glibc's regexec first
 * converts the whole text to wide upper-case characters (four fifths of its time on a short
 * pattern), once per call; a group that does not match rules out all of its patterns in one
 * call, and only a group that matches runs its patterns one by one to name them. */
#define SCREEN_GROUP 32
#define SCREEN_BUCKETS_MIN 64

/* A group of patterns as one regular expression. */
struct screen_group {
	regex_t re;
	size_t first, count; /* its patterns: entries first.. with group set to this one */
};

struct screen_list {
	char *text;     /* the entries, one a line */
	locale_t utf8;  /* C.UTF-8, for the patterns ((locale_t)0 when there are none) */
	regex_t *re;    /* the compiled patterns, in the order of their entries */
	size_t nre;
	struct screen_entry *entries; /* every entry, in order */
	size_t nentries;
	size_t *buckets;   /* per hash of a first character: its first word + 1, or 0 */
	size_t nbuckets;   /* a power of two, or 0 when there are no words */
	struct screen_group *groups;
	size_t ngroups;
};

/* The length of the character at p (of end) if folding leaves it as it is, else 0: ASCII but
 * the capital letters, and the CJK Unified Ideographs U+4E00..U+9FFF. NFKC and case folding
 * map each of these to itself, none is a format character, and NFKC never joins one with the
 * character before it or reorders across it (each is a starter, NFKC_Quick_Check Yes). */
static size_t
fold_fixed(const unsigned char *p, const unsigned char *end)
{
	if (*p < 0x80)
		return *p >= 'A' && *p <= 'Z' ? 0 : 1;
	/* U+4E00 is E4 B8 80, U+9FFF is E9 BF BF */
	if (*p >= 0xe4 && *p <= 0xe9 && end - p >= 3 && (p[1] & 0xc0) == 0x80 &&
	    (p[2] & 0xc0) == 0x80 && (*p > 0xe4 || p[1] >= 0xb8))
		return 3;
	return 0;
}

/* Appends run (n bytes) folded by GLib to out, the format characters left out: 0, or -1 when
 * it is not valid UTF-8 or memory is short. */
static int
fold_run(GString *out, const char *run, size_t n)
{
	char *nfkc = g_utf8_normalize(run, (gssize)n, G_NORMALIZE_NFKC), *folded, *p;

	if (nfkc == NULL)
		return -1;
	folded = g_utf8_casefold(nfkc, -1);
	g_free(nfkc);
	if (folded == NULL)
		return -1;
	for (p = folded; *p != '\0';) {
		char *next = g_utf8_next_char(p);

		if (g_unichar_type(g_utf8_get_char(p)) != G_UNICODE_FORMAT)
			g_string_append_len(out, p, next - p);
		p = next;
	}
	g_free(folded);
	return 0;
}

/* s folded for matching, in a new string (g_free): NFKC, case-folded, with the format
 * characters (Unicode category Cf: zero-width spaces and joiners, the soft hyphen, marks of
 * direction) left out. NULL when s is not valid UTF-8 or memory is short.
 * What folding leaves as it is (fold_fixed: most of a Chinese text) is copied, and only the runs
 * between go through GLib, each with the character before it (which a combining mark may join):
 * the same text as GLib's of the whole (NFKC may be applied in pieces cut before a starter that
 * nothing joins, case folding character by character), in a fifth of the time for a letter
 * with its full-width punctuation (issue 20; test_ops screening_fold_pieces). */
char *
screen_fold(const char *s)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + strlen(s), *start, *last;
	GString *out = g_string_sized_new((gsize)(end - p) + 16);
	size_t k;

	while (p < end) {
		/* a span left as it is; its last character goes with the run after it */
		start = last = p;
		while (p < end && (k = fold_fixed(p, end)) > 0) {
			last = p;
			p += k;
		}
		if (p == end) {
			g_string_append_len(out, (const char *)start, end - start);
			break;
		}
		g_string_append_len(out, (const char *)start, last - start);
		if (p == start)
			last = p;
		while (p < end && fold_fixed(p, end) == 0)
			p++; /* a byte at a time: the run ends before a character left as it is */
		if (fold_run(out, (const char *)last, (size_t)(p - last)) != 0) {
			g_string_free(out, TRUE);
			return NULL;
		}
	}
	return g_string_free(out, FALSE);
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

/* The bucket of the character that starts s (UTF-8, at least one byte): its bytes hashed. */
static size_t
first_char_hash(const char *s, size_t nbuckets)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = p[0] < 0x80 ? 1 : p[0] < 0xe0 ? 2 : p[0] < 0xf0 ? 3 : 4, i;
	unsigned h = 2166136261u; /* FNV-1a */

	for (i = 0; i < n && p[i] != '\0'; i++)
		h = (h ^ p[i]) * 16777619u;
	return h & (nbuckets - 1);
}

/* Files the words of l by their first character. 0, or -1 when out of memory. */
static int
index_words(struct screen_list *l)
{
	size_t i, nwords = 0, b;

	for (i = 0; i < l->nentries; i++)
		if (l->entries[i].folded != NULL)
			nwords++;
	if (nwords == 0)
		return 0;
	for (l->nbuckets = SCREEN_BUCKETS_MIN; l->nbuckets < 2 * nwords;)
		l->nbuckets *= 2;
	l->buckets = calloc(l->nbuckets, sizeof(*l->buckets));
	if (l->buckets == NULL)
		return -1;
	for (i = l->nentries; i-- > 0;) { /* backwards: each chain in the list's order */
		struct screen_entry *e = &l->entries[i];

		if (e->folded == NULL)
			continue;
		e->len = strlen(e->folded);
		if (e->len == 0)
			continue; /* in every folded text: screen_match */
		b = first_char_hash(e->folded, l->nbuckets);
		e->next = l->buckets[b];
		l->buckets[b] = i + 1;
	}
	return 0;
}

/* 1 if the pattern may join a group: no back-reference (\1…\9), whose number the group's
 * parentheses would change. */
static int
groupable(const char *pattern)
{
	const char *p;

	for (p = pattern; *p != '\0'; p++)
		if (p[0] == '\\' && p[1] != '\0') {
			if (p[1] >= '1' && p[1] <= '9')
				return 0;
			p++;
		}
	return 1;
}

/* Joins the patterns of l in groups (SCREEN_GROUP at most, in order); a pattern that cannot
 * join one, or whose group does not compile, runs alone. 0, or -1 when out of memory. */
static int
group_patterns(struct screen_list *l)
{
	size_t i, j, len, at;
	locale_t old;
	char *joined;
	int rc;

	if (l->nre == 0)
		return 0;
	l->groups = calloc((l->nre + SCREEN_GROUP - 1) / SCREEN_GROUP, sizeof(*l->groups));
	if (l->groups == NULL)
		return -1;
	for (i = 0; i < l->nentries;) {
		struct screen_group *g = &l->groups[l->ngroups];
		size_t first = i, count = 0;

		/* the next SCREEN_GROUP groupable patterns, words between them skipped */
		len = 0;
		for (j = i; j < l->nentries && count < SCREEN_GROUP; j++) {
			if (l->entries[j].re == NULL || !groupable(l->entries[j].text + 3))
				continue;
			len += strlen(l->entries[j].text + 3) + 3;
			count++;
		}
		i = j;
		if (count < 2) /* alone, it is its own group */
			continue;
		joined = malloc(len + 1);
		if (joined == NULL)
			return -1;
		at = 0;
		for (j = first; j < i; j++) {
			const char *pat = l->entries[j].text + 3;

			if (l->entries[j].re == NULL || !groupable(pat))
				continue;
			at += (size_t)sprintf(joined + at, "%s(%s)", at ? "|" : "", pat);
		}
		old = uselocale(l->utf8);
		rc = regcomp(&g->re, joined, REG_EXTENDED | REG_ICASE | REG_NOSUB);
		uselocale(old);
		free(joined);
		if (rc != 0)
			continue; /* its patterns run alone */
		g->first = first;
		g->count = i - first;
		for (j = first; j < i; j++)
			if (l->entries[j].re != NULL && groupable(l->entries[j].text + 3))
				l->entries[j].group = l->ngroups + 1;
		l->ngroups++;
	}
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
	for (i = 0; i < l->ngroups; i++)
		regfree(&l->groups[i].re);
	free(l->groups);
	free(l->buckets);
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

	if (errsize > 0)
		err[0] = '\0';
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
	if (each_entry(list, check_one, &k) != 0 || index_words(k.list) != 0 ||
	    group_patterns(k.list) != 0) {
		if (err[0] == '\0')
			snprintf(err, errsize, "out of memory");
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

/* 1 if a text is there and folded (an empty word is in every folded text, as strstr has it). */
static int
folded_any(char *const *folded, const char *const *texts, size_t ntexts)
{
	size_t j;

	for (j = 0; j < ntexts; j++)
		if (texts[j] != NULL && folded[j] != NULL)
			return 1;
	return 0;
}

/* Marks in hit the words of l found in the folded text s (one pass, see SCREEN_GROUP). */
static void
match_words(const struct screen_list *l, const char *s, unsigned char *hit)
{
	const char *p;
	size_t i;

	if (l->nbuckets == 0)
		return;
	for (p = s; *p != '\0'; p = g_utf8_next_char(p))
		for (i = l->buckets[first_char_hash(p, l->nbuckets)]; i != 0;
		     i = l->entries[i - 1].next) {
			const struct screen_entry *e = &l->entries[i - 1];

			if (!(hit[(i - 1) / 8] & (1u << ((i - 1) % 8))) &&
			    strncmp(p, e->folded, e->len) == 0)
				hit[(i - 1) / 8] |= (unsigned char)(1u << ((i - 1) % 8));
		}
}

/* Marks in hit the patterns of l that match text s (in the thread's C.UTF-8 locale). */
static void
match_patterns(const struct screen_list *l, const char *s, unsigned char *hit)
{
	size_t i, g = 0;
	int group_hit = 0;

	for (i = 0; i < l->nentries; i++) {
		const struct screen_entry *e = &l->entries[i];

		if (e->re == NULL || (hit[i / 8] & (1u << (i % 8))))
			continue;
		if (e->group != 0 && e->group != g) { /* the first of its group: the group first */
			g = e->group;
			group_hit = regexec(&l->groups[g - 1].re, s, 0, NULL, 0) == 0;
		}
		if (e->group != 0 && !group_hit)
			continue;
		if (regexec(e->re, s, 0, NULL, 0) == 0)
			hit[i / 8] |= (unsigned char)(1u << (i % 8));
	}
}

int
screen_match(const struct screen_list *list, const char *const *texts, size_t ntexts, char *buf,
             size_t size)
{
	char *folded[8] = {NULL};
	unsigned char hit[(SCREEN_ENTRIES_MAX + 7) / 8];
	locale_t old = (locale_t)0;
	size_t i, j, used = 0;
	int found = 0;

	buf[0] = '\0';
	if (list == NULL || list->nentries == 0)
		return 0;
	if (ntexts > sizeof(folded) / sizeof(folded[0]))
		ntexts = sizeof(folded) / sizeof(folded[0]);
	memset(hit, 0, (list->nentries + 7) / 8);
	for (j = 0; j < ntexts; j++)
		if (texts[j] != NULL)
			folded[j] = screen_fold(texts[j]);
	for (j = 0; j < ntexts; j++) {
		if (texts[j] == NULL)
			continue;
		if (folded[j] != NULL) {
			match_words(list, folded[j], hit);
			continue;
		}
		/* not foldable (out of memory): each word as written, case-insensitive */
		for (i = 0; i < list->nentries; i++)
			if (list->entries[i].folded != NULL && !(hit[i / 8] & (1u << (i % 8))) &&
			    strcasestr(texts[j], list->entries[i].text) != NULL)
				hit[i / 8] |= (unsigned char)(1u << (i % 8));
	}
	/* the patterns run on characters: this thread in C.UTF-8 for the call, then as it was;
	 * on the text as written and, when folding changed it, folded */
	if (list->utf8 != (locale_t)0) {
		old = uselocale(list->utf8);
		for (j = 0; j < ntexts; j++) {
			if (texts[j] == NULL)
				continue;
			match_patterns(list, texts[j], hit);
			if (folded[j] != NULL && strcmp(folded[j], texts[j]) != 0)
				match_patterns(list, folded[j], hit);
		}
		uselocale(old);
	}
	for (i = 0; i < list->nentries; i++) {
		const struct screen_entry *e = &list->entries[i];

		if ((hit[i / 8] & (1u << (i % 8))) ||
		    (e->folded != NULL && e->len == 0 && folded_any(folded, texts, ntexts)))
			record_match(buf, size, &used, found++, e->text);
	}
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
	txn_history_same_state(&h, &txn, s, "screening_cleared", detail, now);
	if (txn_commit(&txn, &who, &h, detail, NULL, err) != 0)
		goto out;
	ret = 0;
out:
	txn_end(&txn);
	return ret;
}
