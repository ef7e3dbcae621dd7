/* search.c: the staff queue's text search as staff type it (the q of GET /api/v1/queue and of
 * the staff queue page): the words of the text, each to be found in an item's subject or body
 * (db/ compares them with case folded: db_fold). */
#include <string.h>

#include "core_int.h"

/* 1 if cp separates words: a blank of any kind (ASCII's, tab and line breaks, the no-break and
 * typographic spaces, the ideographic space of a Chinese keyboard) or an invisible zero-width
 * space. */
static int
blank(unsigned cp)
{
	return cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' || cp == '\v' || cp == '\f' ||
	       cp == 0xa0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200b) || cp == 0x2028 ||
	       cp == 0x2029 || cp == 0x202f || cp == 0x205f || cp == 0x2060 || cp == 0x3000 ||
	       cp == 0xfeff;
}

/* Quotation marks around a phrase: ASCII's, the full-width one, and the curved ones a Chinese
 * input method writes (“…”). A phrase opens with one at a word's start. */
static int
quote_open(unsigned cp)
{
	return cp == '"' || cp == 0xff02 || cp == 0x201c;
}

static int
quote_close(unsigned cp)
{
	return cp == '"' || cp == 0xff02 || cp == 0x201c || cp == 0x201d;
}

/* The code point at p (valid UTF-8: text_check passed) and its length. */
static size_t
cp_at(const char *p, const char *end, unsigned *cp)
{
	size_t k = core_utf8_seq((const unsigned char *)p, (const unsigned char *)end, cp);

	if (k == 0) { /* (never after text_check) */
		*cp = (unsigned char)*p;
		k = 1;
	}
	return k;
}

/* Adds the text p[0..end) without the blanks at its ends, unless nothing is left but zero-width
 * joiners. 0 or -1 (no room). */
static int
add_word(struct db_search *out, const char *p, const char *end)
{
	const char *q, *last = p;
	unsigned cp;
	size_t k;
	int seen = 0;

	while (p < end) {
		k = cp_at(p, end, &cp);
		if (!blank(cp))
			break;
		p += k;
	}
	for (q = p; q < end; q += k) {
		k = cp_at(q, end, &cp);
		if (!blank(cp))
			last = q + k;
		if (!blank(cp) && cp != 0x200c && cp != 0x200d)
			seen = 1;
	}
	if (!seen)
		return 0;
	return db_search_add(out, p, (size_t)(last - p));
}

int
core_search_parse(const char *q, struct db_search *out, struct core_error *err)
{
	const char *p, *end, *start;
	unsigned cp;
	size_t k;
	long n;

	out->n = 0;
	out->len = 0;
	if (q == NULL)
		return 0;
	end = q + strlen(q);
	n = text_check(q, (size_t)(end - q), TEXT_MULTILINE);
	if (n < 0 || n > CORE_SEARCH_MAX)
		return core_fail(err, CORE_INVALID, "q", "q must be text of at most %d characters",
		                 CORE_SEARCH_MAX);
	p = q;
	while (p < end) {
		k = cp_at(p, end, &cp);
		if (blank(cp)) {
			p += k;
			continue;
		}
		if (quote_open(cp)) { /* a phrase: up to the closing mark, or to the end */
			start = p + k;
			for (p = start; p < end; p += k) {
				k = cp_at(p, end, &cp);
				if (quote_close(cp))
					break;
			}
			if (add_word(out, start, p) != 0)
				goto full;
			if (p < end)
				p += k;
			continue;
		}
		start = p;
		for (; p < end; p += k) {
			k = cp_at(p, end, &cp);
			if (blank(cp))
				break;
		}
		if (add_word(out, start, p) != 0)
			goto full;
	}
	return 0;
full: /* (100 characters make at most 50 words of 400 bytes) */
	out->n = 0;
	out->len = 0;
	return core_fail(err, CORE_INVALID, "q", "q has too many words");
}
