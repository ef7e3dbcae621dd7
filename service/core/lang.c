/* lang.c: the guess of a citizen's language from what they wrote, for the items whose page or
 * client did not say it (e-mail, Open311, a JSON client without "lang"), and for the SMS of
 * the items stored before the language was recorded. */
#include <string.h>

#include "core_int.h"

/* What one text holds, counted by lang_guess. */
struct lang_count {
	int han;   /* a Han character or CJK punctuation / full-width form */
	int latin; /* an ASCII letter */
	long hans; /* characters of the simplified script only */
	long hant; /* characters of the traditional script only */
};

static int
bit(const unsigned char *bits, unsigned long cp)
{
	unsigned long i = cp - LANG_HANZI_FIRST;

	return (bits[i >> 3] >> (i & 7)) & 1;
}

/* Adds what UTF-8 s holds to n: the Han characters as notifiers counted them before the
 * language was recorded (CJK punctuation U+3000..U+303F, ideographs U+3400..U+9FFF, U+F900..
 * U+FFFF, the supplementary planes' ideographs), each of U+4E00..U+9FFF by its script. */
static void
count(const char *s, struct lang_count *n)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned long cp;

	for (; p != NULL && *p != '\0'; p++) {
		if (p[0] >= 0xE3 && p[0] <= 0xE9 && (p[1] & 0xC0) == 0x80 &&
		    (p[2] & 0xC0) == 0x80) {
			cp = ((unsigned long)(p[0] & 0x0F) << 12) |
			     ((unsigned long)(p[1] & 0x3F) << 6) | (p[2] & 0x3F);
			if ((cp >= 0x3000 && cp <= 0x303F) || (cp >= 0x3400 && cp <= 0x9FFF))
				n->han = 1;
			if (cp >= LANG_HANZI_FIRST) {
				n->hans += bit(lang_hans_bits, cp);
				n->hant += bit(lang_hant_bits, cp);
			}
			p += 2;
		} else if (p[0] == 0xEF && p[1] >= 0xA4 && p[1] <= 0xBF) {
			n->han = 1; /* U+F900..U+FFFF: compatibility ideographs, full-width forms */
		} else if (p[0] == 0xF0 && (p[1] == 0xA0 || p[1] == 0xA1 || p[1] == 0xA2 ||
		                            p[1] == 0xA3 || p[1] == 0xAA || p[1] == 0xAB)) {
			n->han = 1; /* U+20000.. : the extensions of the ideographs */
		} else if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')) {
			n->latin = 1;
		}
	}
}

enum lang
lang_guess(const char *subject, const char *body)
{
	struct lang_count n;

	memset(&n, 0, sizeof(n));
	count(subject, &n);
	count(body, &n);
	if (n.han)
		return n.hant > n.hans ? LANG_ZH_HANT : LANG_ZH_HANS;
	return n.latin ? LANG_EN : LANG_ZH_HANS;
}
