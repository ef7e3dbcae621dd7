/*
 * db_search.c: the staff queue's text search. SQLite folds the case of ASCII letters only
 * (LIKE, lower()), so this file brings its own simple case folding (a table of ranges: Latin
 * with its accents, Greek, Cyrillic, Armenian, full-width Latin letters and digits to ASCII, the
 * blanks of other scripts to ASCII's space, so that a phrase matches whatever blank it has) and
 * the SQL function cd_match(subject, body, words) that the queue's statements call: 1 when every
 * word of the search occurs in the folded subject or the folded body.
 */
#include <stdlib.h>
#include <string.h>

#include "db_int.h"

/* How a range of code points folds: each one by delta, each one to the code point delta, or only
 * the even (odd) ones by +1 (the alternating upper/lower pairs of Latin Extended-A, Cyrillic and
 * others). */
enum fold_kind { FOLD_ADD, FOLD_TO, FOLD_EVEN, FOLD_ODD };

struct fold_range {
	unsigned lo, hi; /* code points, inclusive */
	enum fold_kind kind;
	int delta; /* FOLD_ADD: the difference; FOLD_TO: the code point */
};

/* Sorted, not overlapping. Every code point a range folds to folds to itself (folding twice
 * changes nothing) and is no longer in UTF-8 than the one it comes from (a folded text fits the
 * buffer of the text). Unicode's simple case folding (CaseFolding.txt, statuses C and S) for the
 * scripts above, plus full-width Latin letters and digits to ASCII and blanks to a space. */
static const struct fold_range folds[] = {
    {0x0041, 0x005a, FOLD_ADD, 32},              /* A-Z */
    {0x00a0, 0x00a0, FOLD_TO, ' '},              /* no-break space: space */
    {0x00b5, 0x00b5, FOLD_ADD, 0x03bc - 0x00b5}, /* micro sign: mu */
    {0x00c0, 0x00d6, FOLD_ADD, 32},              /* À-Ö */
    {0x00d8, 0x00de, FOLD_ADD, 32},              /* Ø-Þ */
    {0x0100, 0x012f, FOLD_EVEN, 0},              /* Ā-į */
    {0x0130, 0x0130, FOLD_ADD, 'i' - 0x0130},    /* İ: i */
    {0x0132, 0x0137, FOLD_EVEN, 0},
    {0x0139, 0x0148, FOLD_ODD, 0},
    {0x014a, 0x0177, FOLD_EVEN, 0},
    {0x0178, 0x0178, FOLD_ADD, 0x00ff - 0x0178}, /* Ÿ */
    {0x0179, 0x017e, FOLD_ODD, 0},
    {0x017f, 0x017f, FOLD_ADD, 's' - 0x017f},    /* long s */
    {0x0181, 0x0181, FOLD_ADD, 0x0253 - 0x0181}, /* Latin Extended-B: Ɓ */
    {0x0182, 0x0185, FOLD_EVEN, 0},
    {0x0186, 0x0186, FOLD_ADD, 0x0254 - 0x0186},
    {0x0187, 0x0187, FOLD_ADD, 1},
    {0x0189, 0x018a, FOLD_ADD, 0x0256 - 0x0189},
    {0x018b, 0x018b, FOLD_ADD, 1},
    {0x018e, 0x018e, FOLD_ADD, 0x01dd - 0x018e},
    {0x018f, 0x018f, FOLD_ADD, 0x0259 - 0x018f},
    {0x0190, 0x0190, FOLD_ADD, 0x025b - 0x0190},
    {0x0191, 0x0191, FOLD_ADD, 1},
    {0x0193, 0x0193, FOLD_ADD, 0x0260 - 0x0193},
    {0x0194, 0x0194, FOLD_ADD, 0x0263 - 0x0194},
    {0x0196, 0x0196, FOLD_ADD, 0x0269 - 0x0196},
    {0x0197, 0x0197, FOLD_ADD, 0x0268 - 0x0197},
    {0x0198, 0x0198, FOLD_ADD, 1},
    {0x019c, 0x019c, FOLD_ADD, 0x026f - 0x019c},
    {0x019d, 0x019d, FOLD_ADD, 0x0272 - 0x019d},
    {0x019f, 0x019f, FOLD_ADD, 0x0275 - 0x019f},
    {0x01a0, 0x01a5, FOLD_EVEN, 0}, /* Ơ ơ (Vietnamese) … */
    {0x01a6, 0x01a6, FOLD_ADD, 0x0280 - 0x01a6},
    {0x01a7, 0x01a7, FOLD_ADD, 1},
    {0x01a9, 0x01a9, FOLD_ADD, 0x0283 - 0x01a9},
    {0x01ac, 0x01ac, FOLD_ADD, 1},
    {0x01ae, 0x01ae, FOLD_ADD, 0x0288 - 0x01ae},
    {0x01af, 0x01af, FOLD_ADD, 1}, /* Ư (Vietnamese) */
    {0x01b1, 0x01b2, FOLD_ADD, 0x028a - 0x01b1},
    {0x01b3, 0x01b6, FOLD_ODD, 0},
    {0x01b7, 0x01b7, FOLD_ADD, 0x0292 - 0x01b7},
    {0x01b8, 0x01b8, FOLD_ADD, 1},
    {0x01bc, 0x01bc, FOLD_ADD, 1},
    {0x01c4, 0x01c4, FOLD_ADD, 2}, /* Ǆ ǅ: ǆ */
    {0x01c5, 0x01c5, FOLD_ADD, 1},
    {0x01c7, 0x01c7, FOLD_ADD, 2}, /* Ǉ ǈ: ǉ */
    {0x01c8, 0x01c8, FOLD_ADD, 1},
    {0x01ca, 0x01ca, FOLD_ADD, 2}, /* Ǌ ǋ: ǌ */
    {0x01cb, 0x01dc, FOLD_ODD, 0}, /* ǋ and the pinyin vowels Ǎ-ǜ */
    {0x01de, 0x01ef, FOLD_EVEN, 0},
    {0x01f1, 0x01f1, FOLD_ADD, 2}, /* Ǳ ǲ: ǳ */
    {0x01f2, 0x01f2, FOLD_ADD, 1},
    {0x01f4, 0x01f4, FOLD_ADD, 1},
    {0x01f8, 0x021f, FOLD_EVEN, 0},
    {0x0222, 0x0233, FOLD_EVEN, 0},
    {0x023b, 0x023b, FOLD_ADD, 1},
    {0x023d, 0x023d, FOLD_ADD, 0x019a - 0x023d},
    {0x0241, 0x0241, FOLD_ADD, 1},
    {0x0243, 0x0243, FOLD_ADD, 0x0180 - 0x0243},
    {0x0244, 0x0244, FOLD_ADD, 0x0289 - 0x0244},
    {0x0245, 0x0245, FOLD_ADD, 0x028c - 0x0245},
    {0x0246, 0x024f, FOLD_EVEN, 0},
    {0x0386, 0x0386, FOLD_ADD, 0x03ac - 0x0386}, /* Greek: Ά */
    {0x0388, 0x038a, FOLD_ADD, 37},              /* Έ-Ί */
    {0x038c, 0x038c, FOLD_ADD, 64},              /* Ό */
    {0x038e, 0x038f, FOLD_ADD, 63},              /* Ύ Ώ */
    {0x0391, 0x03a1, FOLD_ADD, 32},              /* Α-Ρ */
    {0x03a3, 0x03ab, FOLD_ADD, 32},              /* Σ-Ϋ */
    {0x03c2, 0x03c2, FOLD_ADD, 1},               /* final sigma: σ */
    {0x03cf, 0x03cf, FOLD_ADD, 8},               /* Ϗ */
    {0x03d0, 0x03d0, FOLD_ADD, 0x03b2 - 0x03d0}, /* ϐ: β */
    {0x03d1, 0x03d1, FOLD_ADD, 0x03b8 - 0x03d1}, /* ϑ: θ */
    {0x03d5, 0x03d5, FOLD_ADD, 0x03c6 - 0x03d5}, /* ϕ: φ */
    {0x03d6, 0x03d6, FOLD_ADD, 0x03c0 - 0x03d6}, /* ϖ: π */
    {0x03d8, 0x03ef, FOLD_EVEN, 0},
    {0x03f0, 0x03f0, FOLD_ADD, 0x03ba - 0x03f0}, /* ϰ: κ */
    {0x03f1, 0x03f1, FOLD_ADD, 0x03c1 - 0x03f1}, /* ϱ: ρ */
    {0x03f4, 0x03f4, FOLD_ADD, 0x03b8 - 0x03f4}, /* ϴ: θ */
    {0x03f5, 0x03f5, FOLD_ADD, 0x03b5 - 0x03f5}, /* ϵ: ε */
    {0x03f7, 0x03f7, FOLD_ADD, 1},
    {0x03f9, 0x03f9, FOLD_ADD, 0x03f2 - 0x03f9},
    {0x03fa, 0x03fa, FOLD_ADD, 1},
    {0x03fd, 0x03ff, FOLD_ADD, 0x037b - 0x03fd},
    {0x0400, 0x040f, FOLD_ADD, 80}, /* Cyrillic: Ѐ-Џ */
    {0x0410, 0x042f, FOLD_ADD, 32}, /* А-Я */
    {0x0460, 0x0481, FOLD_EVEN, 0},
    {0x048a, 0x04bf, FOLD_EVEN, 0},
    {0x04c0, 0x04c0, FOLD_ADD, 15}, /* Ӏ */
    {0x04c1, 0x04ce, FOLD_ODD, 0},
    {0x04d0, 0x052f, FOLD_EVEN, 0},
    {0x0531, 0x0556, FOLD_ADD, 48},              /* Armenian */
    {0x1680, 0x1680, FOLD_TO, ' '},              /* blanks: ASCII's space */
    {0x1e00, 0x1e95, FOLD_EVEN, 0},              /* Latin Extended Additional */
    {0x1e9e, 0x1e9e, FOLD_ADD, 0x00df - 0x1e9e}, /* ẞ: ß */
    {0x1ea0, 0x1eff, FOLD_EVEN, 0},              /* Vietnamese */
    {0x1f08, 0x1f0f, FOLD_ADD, -8},              /* Greek Extended */
    {0x1f18, 0x1f1d, FOLD_ADD, -8},
    {0x1f28, 0x1f2f, FOLD_ADD, -8},
    {0x1f38, 0x1f3f, FOLD_ADD, -8},
    {0x1f48, 0x1f4d, FOLD_ADD, -8},
    {0x1f59, 0x1f59, FOLD_ADD, -8},
    {0x1f5b, 0x1f5b, FOLD_ADD, -8},
    {0x1f5d, 0x1f5d, FOLD_ADD, -8},
    {0x1f5f, 0x1f5f, FOLD_ADD, -8},
    {0x1f68, 0x1f6f, FOLD_ADD, -8},
    {0x1f88, 0x1f8f, FOLD_ADD, -8},
    {0x1f98, 0x1f9f, FOLD_ADD, -8},
    {0x1fa8, 0x1faf, FOLD_ADD, -8},
    {0x1fb8, 0x1fb9, FOLD_ADD, -8},
    {0x1fba, 0x1fbb, FOLD_ADD, -74},
    {0x1fbc, 0x1fbc, FOLD_ADD, -9},
    {0x1fc8, 0x1fcb, FOLD_ADD, -86},
    {0x1fcc, 0x1fcc, FOLD_ADD, -9},
    {0x1fd8, 0x1fd9, FOLD_ADD, -8},
    {0x1fda, 0x1fdb, FOLD_ADD, -100},
    {0x1fe8, 0x1fe9, FOLD_ADD, -8},
    {0x1fea, 0x1feb, FOLD_ADD, -112},
    {0x1fec, 0x1fec, FOLD_ADD, -7},
    {0x1ff8, 0x1ff9, FOLD_ADD, -128},
    {0x1ffa, 0x1ffb, FOLD_ADD, -126},
    {0x1ffc, 0x1ffc, FOLD_ADD, -9},
    {0x2000, 0x200a, FOLD_TO, ' '}, /* typographic spaces */
    {0x202f, 0x202f, FOLD_TO, ' '},
    {0x205f, 0x205f, FOLD_TO, ' '},
    {0x2126, 0x2126, FOLD_ADD, 0x03c9 - 0x2126}, /* ohm sign: ω */
    {0x212a, 0x212a, FOLD_ADD, 'k' - 0x212a},    /* kelvin sign: k */
    {0x212b, 0x212b, FOLD_ADD, 0x00e5 - 0x212b}, /* angstrom sign: å */
    {0x2160, 0x216f, FOLD_ADD, 16},              /* Roman numerals */
    {0x24b6, 0x24cf, FOLD_ADD, 26},              /* circled Latin letters */
    {0x2c00, 0x2c2f, FOLD_ADD, 48},              /* Glagolitic */
    {0x3000, 0x3000, FOLD_TO, ' '},              /* ideographic space */
    {0xa640, 0xa66d, FOLD_EVEN, 0},              /* Cyrillic Extended-B */
    {0xa680, 0xa69b, FOLD_EVEN, 0},
    {0xff10, 0xff19, FOLD_ADD, '0' - 0xff10}, /* full-width digits: ASCII */
    {0xff21, 0xff3a, FOLD_ADD, 'a' - 0xff21}, /* full-width Latin capitals: ASCII small */
    {0xff41, 0xff5a, FOLD_ADD, 'a' - 0xff41}, /* full-width Latin small: ASCII */
};

/* The code point cp folded. */
static unsigned
fold_cp(unsigned cp)
{
	size_t lo = 0, hi = sizeof(folds) / sizeof(folds[0]);

	if (cp < 0x80)
		return cp >= 'A' && cp <= 'Z' ? cp + 32 : cp;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const struct fold_range *r = &folds[mid];

		if (cp < r->lo) {
			hi = mid;
		} else if (cp > r->hi) {
			lo = mid + 1;
		} else {
			if (r->kind == FOLD_ADD)
				return (unsigned)((int)cp + r->delta);
			if (r->kind == FOLD_TO)
				return (unsigned)r->delta;
			if ((r->kind == FOLD_EVEN) == (cp % 2 == 0))
				return cp + 1;
			return cp;
		}
	}
	return cp;
}

/* 1 if cp is sure to fold to itself and to be what no other code point folds to (CJK and most
 * of what follows it): copied as it is, and searched for without folding. */
static int
self_folding(unsigned cp)
{
	return cp >= 0x2e80 && cp != 0x3000 && (cp < 0xa640 || cp > 0xa69b) &&
	       (cp < 0xff10 || cp > 0xff5a);
}

/* The valid UTF-8 sequence at p (before end): its length, its code point in *cp; 0 when the
 * bytes there are no valid sequence. */
static size_t
utf8_get(const unsigned char *p, const unsigned char *end, unsigned *cp)
{
	size_t n, i;
	unsigned v;

	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		n = 2;
		v = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 3;
		v = p[0] & 0x0f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4;
		v = p[0] & 0x07;
	} else {
		return 0;
	}
	if ((size_t)(end - p) < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (p[i] & 0x3f);
	}
	if ((n == 3 && v < 0x800) || (n == 4 && (v < 0x10000 || v > 0x10ffff)) ||
	    (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return n;
}

static size_t
utf8_put(unsigned cp, unsigned char *out)
{
	if (cp < 0x80) {
		out[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (unsigned char)(0xc0 | (cp >> 6));
		out[1] = (unsigned char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (unsigned char)(0xe0 | (cp >> 12));
		out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (unsigned char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (unsigned char)(0xf0 | (cp >> 18));
	out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (unsigned char)(0x80 | (cp & 0x3f));
	return 4;
}

size_t
db_fold(const char *s, size_t len, char *out)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;
	unsigned char *o = (unsigned char *)out;
	unsigned cp, f;
	size_t k;

	while (p < end) {
		if (*p < 0x80) { /* ASCII, most of a Latin text */
			*o++ = (unsigned char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
			p++;
			continue;
		}
		k = utf8_get(p, end, &cp);
		if (k == 0) { /* not UTF-8: kept as it is */
			*o++ = *p++;
			continue;
		}
		f = self_folding(cp) ? cp : fold_cp(cp);
		if (f == cp) {
			memcpy(o, p, k);
			o += k;
		} else {
			o += utf8_put(f, o);
		}
		p += k;
	}
	*o = '\0';
	return (size_t)(o - (unsigned char *)out);
}

int
db_search_add(struct db_search *s, const char *word, size_t len)
{
	if (len == 0)
		return 0;
	if (s->n >= DB_SEARCH_WORDS || len + 1 > sizeof(s->words) - s->len ||
	    memchr(word, '\0', len) != NULL)
		return -1;
	memcpy(s->words + s->len, word, len);
	s->words[s->len + len] = '\0';
	s->len += len + 1;
	s->n++;
	return 0;
}

/* --- cd_match(subject, body, words) --------------------------------------------------------- */

/* A word of a search, folded. */
struct match_word {
	const char *p;
	size_t len;
	int raw; /* 1: no character of it is what another folds to, so that it occurs in a folded
	          * text exactly where it occurs in the text itself: searched without folding */
};

/* The words of one statement's parameter (SQLite keeps them with sqlite3_set_auxdata while the
 * parameter stays the same): n words, their folded bytes in data. */
struct match_words {
	size_t n;
	struct match_word w[DB_SEARCH_WORDS];
	char data[];
};

/* The buffer that the texts of a row are folded into: one per connection (the function's user
 * data), grown to the longest subject and body read, freed with the connection. */
struct match_scratch {
	char *buf;
	size_t cap;
};

/* 1 if no code point of the folded word s[0..len) is what another code point folds to. */
static int
word_raw(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;
	unsigned cp;
	size_t k;

	while (p < end) {
		k = utf8_get(p, end, &cp);
		if (k == 0)
			return 0;
		if (cp < 0x80 ? (cp >= 'a' && cp <= 'z') || (cp >= '0' && cp <= '9') || cp == ' '
		              : !self_folding(cp))
			return 0;
		p += k;
	}
	return 1;
}

static int
word_order(const void *a, const void *b)
{
	const struct match_word *x = a, *y = b;

	if (x->raw != y->raw) /* those searched without folding first: a row may end there */
		return y->raw - x->raw;
	return x->len < y->len ? 1 : x->len > y->len ? -1 : 0; /* then the longest */
}

/* The words of the blob v (each ended by a NUL, as db_search holds them), folded: a new
 * struct (free), or NULL. */
static struct match_words *
words_new(sqlite3_value *v)
{
	const char *b = sqlite3_value_blob(v);
	size_t len = (size_t)sqlite3_value_bytes(v), i = 0, k;
	struct match_words *w = malloc(sizeof(*w) + len + 1);
	char *o;

	if (w == NULL)
		return NULL;
	w->n = 0;
	o = w->data;
	while (b != NULL && i < len && w->n < DB_SEARCH_WORDS) {
		const char *nul = memchr(b + i, '\0', len - i);

		k = nul != NULL ? (size_t)(nul - (b + i)) : len - i;
		if (k > 0) {
			w->w[w->n].p = o;
			w->w[w->n].len = db_fold(b + i, k, o);
			w->w[w->n].raw = word_raw(o, w->w[w->n].len);
			o += w->w[w->n].len + 1;
			w->n++;
		}
		i += k + 1;
	}
	qsort(w->w, w->n, sizeof(w->w[0]), word_order);
	return w;
}

static void
match_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	struct match_scratch *scr = sqlite3_user_data(ctx);
	struct match_words *w = sqlite3_get_auxdata(ctx, 2);
	const char *text[2], *folded[2] = {NULL, NULL};
	size_t len[2], flen[2], i, j;
	int fresh = 0, found = 1;

	(void)argc;
	if (sqlite3_value_type(argv[2]) == SQLITE_NULL) {
		sqlite3_result_int(ctx, 1); /* no words: every row */
		return;
	}
	if (w == NULL) {
		w = words_new(argv[2]);
		if (w == NULL) {
			sqlite3_result_error_nomem(ctx);
			return;
		}
		fresh = 1;
	}
	for (j = 0; j < 2; j++) {
		text[j] = (const char *)sqlite3_value_text(argv[j]);
		len[j] = text[j] != NULL ? (size_t)sqlite3_value_bytes(argv[j]) : 0;
		if (text[j] == NULL)
			text[j] = "";
	}
	/* room for both texts folded, when a word is searched for in them */
	if (w->n > 0 && !w->w[w->n - 1].raw && len[0] + len[1] + 2 > scr->cap) {
		char *nb = realloc(scr->buf, len[0] + len[1] + 2);

		if (nb == NULL) {
			sqlite3_result_error_nomem(ctx);
			goto out;
		}
		scr->buf = nb;
		scr->cap = len[0] + len[1] + 2;
	}
	for (i = 0; i < w->n && found; i++) {
		const struct match_word *m = &w->w[i];

		found = 0;
		for (j = 0; j < 2 && !found; j++) {
			if (m->raw) {
				found = memmem(text[j], len[j], m->p, m->len) != NULL;
				continue;
			}
			if (folded[j] == NULL) { /* the subject first, the body after it */
				char *o = scr->buf + (j == 0 ? 0 : len[0] + 1);

				flen[j] = db_fold(text[j], len[j], o);
				folded[j] = o;
			}
			found = memmem(folded[j], flen[j], m->p, m->len) != NULL;
		}
	}
	sqlite3_result_int(ctx, found);
out:
	if (fresh) /* last: SQLite may free w at once */
		sqlite3_set_auxdata(ctx, 2, w, free);
}

static void
scratch_free(void *p)
{
	struct match_scratch *scr = p;

	if (scr == NULL)
		return;
	free(scr->buf);
	free(scr);
}

int
db_search_register(sqlite3 *h)
{
	struct match_scratch *scr = calloc(1, sizeof(*scr));

	if (scr == NULL)
		return -1;
	/* (on failure SQLite calls scratch_free itself) */
	return sqlite3_create_function_v2(h, "cd_match", 3,
	                                  SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_DIRECTONLY,
	                                  scr, match_fn, NULL, NULL, scratch_free) == SQLITE_OK
	           ? 0
	           : -1;
}
