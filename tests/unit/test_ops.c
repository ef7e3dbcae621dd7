/* test_ops.c: the pieces of issue 19 that need no daemon: the screening list and its matching,
 * which roles need a second factor, and a scan against a clamd that is not there. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "service/core/core.h"
#include "tests/check.h"

static void
screening(struct t *t)
{
	struct screen_list *list = NULL;
	char err[256], buf[SCREEN_MATCHED_MAX];
	const char *texts[2] = {"有人在网上开 Casino", "私藏炸药"};
	const char *clean[2] = {"路灯坏了", NULL};

	CHECK_INT(t, screen_list_build("casino, re:炸(药|弹), # a comment", "", &list, err,
	                               sizeof(err)),
	          0);
	CHECK_INT(t, screen_match(list, texts, 2, buf, sizeof(buf)), 2);
	CHECK_STR(t, buf, "casino, re:炸(药|弹)");
	texts[0] = "有人在网上开 ＣＡＳＩＮＯ";
	CHECK_INT(t, screen_match(list, texts, 2, buf, sizeof(buf)), 2);
	CHECK_STR(t, buf, "casino, re:炸(药|弹)");
	CHECK_INT(t, screen_match(list, clean, 2, buf, sizeof(buf)), 0);
	CHECK_STR(t, buf, "");
	screen_list_free(list);
	list = NULL;
	/* an empty list matches nothing; a bad pattern or a missing file is refused */
	CHECK_INT(t, screen_list_build("", "", &list, err, sizeof(err)), 0);
	CHECK_INT(t, screen_match(list, texts, 2, buf, sizeof(buf)), 0);
	screen_list_free(list);
	list = NULL;
	CHECK_INT(t, screen_list_build("re:([a", "", &list, err, sizeof(err)), -1);
	CHECK(t, strstr(err, "pattern") != NULL);
	CHECK_INT(t, screen_list_build("", "/nonexistent/words.txt", &list, err, sizeof(err)), -1);
	CHECK(t, list == NULL);
}

/* One pattern against one text: 1 matched, 0 not, -1 the list was refused. */
static int
one(const char *pattern, const char *text)
{
	struct screen_list *list = NULL;
	char err[256], buf[SCREEN_MATCHED_MAX];
	const char *texts[1] = {text};
	int rc;

	if (screen_list_build(pattern, "", &list, err, sizeof(err)) != 0)
		return -1;
	rc = screen_match(list, texts, 1, buf, sizeof(buf));
	screen_list_free(list);
	return rc;
}

/* Patterns work on characters, not bytes: each of these but "聚众赌钱" (the control) gives
 * the other answer when run byte-wise (in the C locale). */
static void
screening_characters(struct t *t)
{
	/* "." is one character (three bytes in UTF-8) */
	CHECK_INT(t, one("re:代.办", "可以代开办证明"), 1);
	CHECK_INT(t, one("re:^.{4}$", "路灯坏了"), 1);
	/* a bracket is a set of characters: neither matches a byte of another character
	 * ("路" shares its first byte with "赌"), and a repeat counts characters */
	CHECK_INT(t, one("re:[赌博]", "路灯坏了"), 0);
	CHECK_INT(t, one("re:[赌博]", "聚众赌钱"), 1);
	CHECK_INT(t, one("re:举报[赌博]{2}窝点", "举报赌博窝点"), 1);
	CHECK_INT(t, one("re:推广.bet", "短信推广赌bet网站"), 1);
	/* case-insensitive beyond ASCII (full-width letters) */
	CHECK_INT(t, one("re:ｃａｓｉｎｏ", "网上ＣＡＳＩＮＯ"), 1);
	/* a word matches however it is written: full-width, another case in any script, split
	 * by invisible characters, circled digits; the record names the entry as written */
	CHECK_INT(t, one("casino", "网上ＣＡＳＩＮＯ"), 1);
	CHECK_INT(t, one("ｃａｓｉｎｏ", "online casino"), 1);
	CHECK_INT(t, one("casino", "ca\u200bsi\u00adno 网站"), 1);
	CHECK_INT(t, one("école", "ÉCOLE privée"), 1);
	CHECK_INT(t, one("казино", "КАЗИНО онлайн"), 1);
	CHECK_INT(t, one("代办证件123", "代办证件①②③"), 1);
	CHECK_INT(t, one("casino", "cassino"), 0);
	CHECK_INT(t, one("代办", "代\u200d办"), 1);
	CHECK_INT(t, one("代办", "代理办理"), 0);
	/* a pattern also sees the folded text */
	CHECK_INT(t, one("re:bet[0-9]+", "ＢＥＴ３６５"), 1);
	/* the calling thread's locale is left as it was */
	CHECK(t, MB_CUR_MAX == 1);
}

/* A long list matches as its entries do one by one: the words found in one pass over the
 * text and the patterns run in groups (screen.c) name exactly the entries that a list of each
 * entry alone names, in the list's order, on texts made of the entries' pieces. */
static void
screening_many_entries(struct t *t)
{
	static const char *const words[] = {
	    "赌博", "博彩", "六合彩", "代开发票", "办证", "casino", "ｃａｓｉｎｏ", "bet", "代办",
	    "路灯", "école", "казино", "代办证件123", "Viagra", "枪支", "毒品", "刷单", "洗钱",
	    "a", "ab", "abc", "bc", "灯", "坏了", "\u200b"};
	static const char *const patterns[] = {
	    "代.办", "[赌博]{2}", "bet[0-9]+", "^路灯", "坏了$", "(a|b)c", "q{2}[0-9]{3}",
	    "ｃａｓｉｎｏ", "(ab)\\1", "x*", "[[:digit:]]{4}", "加[微v]信", "é", "^$"};
	static const char *const pieces[] = {
	    "赌", "博", "彩", "代", "开", "办", "证", "件", "123", "①②③", "ＣＡＳＩＮＯ", "casino",
	    "BET", "365", "路", "灯", "坏", "了", "ÉCOLE", "КАЗИНО", "\u200b", "\u00ad", "a", "b",
	    "c", "abab", "qq", "1234", "加", "v", "信", "，", " "};
	char list[4096], err[256], buf[SCREEN_MATCHED_MAX], want[SCREEN_MATCHED_MAX], text[2][256];
	struct screen_list *all = NULL;
	size_t i, j, n = 0, round, used;
	unsigned seed = 12345;
	int found, one_rc, mismatches = 0;

	list[0] = '\0';
	for (i = 0; i < 3; i++) /* 3 × 39 entries: the patterns make two groups and more */
		for (j = 0; j < sizeof(words) / sizeof(words[0]) + sizeof(patterns) / sizeof(patterns[0]);
		     j++) {
			size_t w = sizeof(words) / sizeof(words[0]);
			const char *e = j < w ? words[j] : patterns[j - w];

			n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s%s", n ? "," : "",
			                      j < w ? "" : "re:", e);
		}
	CHECK(t, n < sizeof(list));
	CHECK_INT(t, screen_list_build(list, "", &all, err, sizeof(err)), 0);
	if (all == NULL)
		return;
	for (round = 0; round < 300; round++) {
		const char *texts[2] = {text[0], text[1]};

		for (i = 0; i < 2; i++) {
			size_t k = 0, m = 1 + (seed = seed * 1103515245u + 12345u) % 12;

			text[i][0] = '\0';
			for (j = 0; j < m; j++) {
				seed = seed * 1103515245u + 12345u;
				k += (size_t)snprintf(text[i] + k, sizeof(text[i]) - k, "%s",
				                      pieces[(seed >> 8) % (sizeof(pieces) / sizeof(pieces[0]))]);
			}
		}
		/* what each entry alone says, in the list's order (every entry 3 times) */
		want[0] = '\0';
		used = 0;
		found = 0;
		for (i = 0; i < 3; i++)
			for (j = 0; j < sizeof(words) / sizeof(words[0]) +
			                    sizeof(patterns) / sizeof(patterns[0]);
			     j++) {
				size_t w = sizeof(words) / sizeof(words[0]);
				char entry[300];
				struct screen_list *one_list = NULL;

				snprintf(entry, sizeof(entry), "%s%s", j < w ? "" : "re:",
				         j < w ? words[j] : patterns[j - w]);
				if (screen_list_build(entry, "", &one_list, err, sizeof(err)) != 0)
					continue;
				one_rc = screen_match(one_list, texts, 2, buf, sizeof(buf));
				screen_list_free(one_list);
				if (one_rc == 1)
					used += (size_t)snprintf(want + used, sizeof(want) - used, "%s%s",
					                         found++ ? ", " : "", entry);
			}
		/* the record is cut at SCREEN_MATCHED_MAX: compared whole while it fits */
		if (screen_match(all, texts, 2, buf, sizeof(buf)) != found ||
		    (used < sizeof(want) - 64 && strcmp(buf, want) != 0)) {
			if (mismatches++ == 0)
				fprintf(stderr, "# %s | %s: got %s, want %s\n", text[0], text[1], buf, want);
		}
	}
	CHECK_INT(t, mismatches, 0);
	screen_list_free(all);
}

/* GLib's fold of the whole text, as screen_fold made it before it copied what folding leaves
 * as it is (issue 20). */
static char *
fold_whole(const char *s)
{
	char *nfkc = g_utf8_normalize(s, -1, G_NORMALIZE_NFKC), *folded, *p, *out;

	if (nfkc == NULL)
		return NULL;
	folded = g_utf8_casefold(nfkc, -1);
	g_free(nfkc);
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

/* screen_fold, which folds only the runs between the characters that folding leaves as they
 * are, gives GLib's fold of the whole text: on texts of those characters mixed with what NFKC
 * joins to them (combining marks, kana voicing marks, Hangul jamo), changes, expands or drops
 * (full-width and circled forms, ligatures, format characters), and invalid UTF-8 (NULL). */
static void
screening_fold_pieces(struct t *t)
{
	static const char *const pieces[] = {
	    "a", "e", "z", "A", "Z", "0", " ", ",", "\n", "\t", "~", "一", "鿿", "汉", "字", "博",
	    "\xe4\xb7\xbf" /* U+4DFF, below the ideographs */, "\xea\x80\x80" /* U+A000 */,
	    "\xcc\x81" /* U+0301 combining acute */, "\xcc\xa7" /* U+0327 cedilla */,
	    "\xcc\xa3" /* U+0323 dot below */, "\xcd\x85" /* U+0345 ypogegrammeni */,
	    "\xe3\x82\x99" /* U+3099 voicing mark */, "\xe3\x81\x8b" /* か */,
	    "\xef\xbd\xb6" /* half-width カ */, "\xef\xbe\x9e" /* half-width voicing mark */,
	    "\xe1\x84\x80" /* U+1100 jamo L */, "\xe1\x85\xa1" /* U+1161 jamo V */,
	    "\xe1\x86\xa8" /* U+11A8 jamo T */, "\xea\xb0\x80" /* 가 */,
	    "\xe2\x80\x8b" /* zero-width space */, "\xc2\xad" /* soft hyphen */,
	    "\xe2\x80\x8f" /* RLM */, "\xef\xbc\x8c" /* ， */, "\xe3\x80\x81" /* 、 */,
	    "\xe3\x80\x80" /* ideographic space */, "\xef\xbc\xa3" /* Ｃ */,
	    "\xef\xbd\x81" /* ａ */, "\xe2\x91\xa0" /* ① */, "\xef\xac\x81" /* ﬁ */,
	    "\xe1\xba\x9e" /* ẞ */, "\xc4\xb0" /* İ */, "\xce\xa3" /* Σ */, "\xcf\x82" /* ς */,
	    "\xe2\x84\xab" /* Å angstrom sign */, "\xe3\x8e\x8f" /* ㎏ */,
	    "\xef\xa4\x80" /* U+F900 compatibility ideograph */, "\xe2\xbc\x80" /* ⼀ radical */,
	    "\xe0\xad\x87" /* U+0B47 */, "\xe0\xac\xbe" /* U+0B3E, joins U+0B47 */,
	    "\xe0\xbd\xb3" /* U+0F73 */, "\xf0\x9d\x85\x9e" /* U+1D15E */,
	    "\xf0\xa0\x80\x80" /* U+20000 */, "\xc3\xa9" /* é */, "\xc3\x89" /* É */};
	char text[512], *got, *want;
	size_t i, j, k, m;
	unsigned seed = 4242;
	int mismatches = 0, checked = 0;

	for (i = 0; i < 20000; i++) {
		k = 0;
		m = (seed = seed * 1103515245u + 12345u) % 24;
		for (j = 0; j < m; j++) {
			seed = seed * 1103515245u + 12345u;
			k += (size_t)snprintf(text + k, sizeof(text) - k, "%s",
			                      pieces[(seed >> 8) % (sizeof(pieces) / sizeof(pieces[0]))]);
		}
		if (i % 1000 == 999) /* a byte that cannot be UTF-8 */
			text[(seed >> 4) % (k + 1)] = (char)0xff;
		got = screen_fold(text);
		want = fold_whole(text);
		checked += want != NULL;
		if ((got == NULL) != (want == NULL) || (got != NULL && strcmp(got, want) != 0)) {
			if (mismatches++ == 0)
				fprintf(stderr, "# fold of %s: got %s, want %s\n", text,
				        got ? got : "(null)", want ? want : "(null)");
		}
		g_free(got);
		g_free(want);
	}
	CHECK_INT(t, mismatches, 0);
	CHECK(t, checked > 19000);
	/* and the letter of the benchmark, whose full-width punctuation GLib folds */
	got = screen_fold("我们小区门口的道路已经破损多时，雨天积水严重，老人和孩子出行很不方便。");
	CHECK(t, got != NULL && strcmp(got, "我们小区门口的道路已经破损多时,雨天积水严重,"
	                                    "老人和孩子出行很不方便。") == 0);
	g_free(got);
}

static void
second_factor_roles(struct t *t)
{
	struct app app;

	memset(&app, 0, sizeof(app));
	app.cfg.totp_roles = (char *)"admin, supervisor";
	CHECK_INT(t, totp_required(&app, ROLE_ADMIN), 1);
	CHECK_INT(t, totp_required(&app, ROLE_SUPERVISOR), 1);
	CHECK_INT(t, totp_required(&app, ROLE_HANDLER), 0);
	app.cfg.totp_roles = (char *)"";
	CHECK_INT(t, totp_required(&app, ROLE_ADMIN), 0);
	app.cfg.totp_roles = (char *)"section_head";
	CHECK_INT(t, totp_required(&app, ROLE_SECTION_HEAD), 1);
	CHECK_INT(t, totp_required(&app, ROLE_HANDLER), 0);
}

static void
scanner_away(struct t *t)
{
	char note[SCAN_NOTE_MAX];

	CHECK_INT(t, scan_data("/nonexistent/clamd.sock", 1000, "x", 1, note, sizeof(note)),
	          SCAN_UNAVAILABLE);
	CHECK(t, strstr(note, "clamd") != NULL);
	CHECK_INT(t, scan_data("127.0.0.1:1", 1000, "x", 1, note, sizeof(note)), SCAN_UNAVAILABLE);
	CHECK_INT(t, scan_data("no-port", 1000, "x", 1, note, sizeof(note)), SCAN_UNAVAILABLE);
}

int
main(void)
{
	struct t t = {0, 0, 0};

	RUN(&t, screening);
	RUN(&t, screening_characters);
	RUN(&t, screening_many_entries);
	RUN(&t, screening_fold_pieces);
	RUN(&t, second_factor_roles);
	RUN(&t, scanner_away);
	return t_done(&t);
}
