/* validate.c: checks of citizen input: UTF-8 text, mainland phone numbers, e-mail addresses. */
#include <ctype.h>
#include <string.h>

#include "core_int.h"

/* The length of the valid UTF-8 sequence (no overlong form, surrogate or code point beyond
 * U+10FFFF) at p, before end, with its code point in *cp; 0 if there is none. */
static size_t
utf8_seq(const unsigned char *p, const unsigned char *end, unsigned *cp)
{
	unsigned c = *p, v, need, i;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		need = 1;
		v = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 2;
		v = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 3;
		v = c & 0x07;
	} else {
		return 0;
	}
	if ((size_t)(end - p) <= need)
		return 0;
	for (i = 1; i <= need; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (p[i] & 0x3f);
	}
	if ((need == 2 && v < 0x800) || (need == 3 && v < 0x10000) || v > 0x10ffff ||
	    (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return need + 1;
}

long
text_check(const char *s, size_t len, unsigned flags)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;
	long n = 0;
	unsigned cp;
	size_t k;

	while (p < end) {
		/* the common cases inline: printable ASCII, and three-byte sequences whose lead
		 * (E1..EC, EE, EF) can be neither overlong nor a surrogate (CJK among them) */
		if (*p >= 0x20 && *p < 0x7f) {
			p++;
			n++;
			continue;
		}
		if (((*p >= 0xe1 && *p <= 0xec) || *p >= 0xee) && *p <= 0xef && end - p > 2 &&
		    (p[1] & 0xc0) == 0x80 && (p[2] & 0xc0) == 0x80) {
			p += 3;
			n++;
			continue;
		}
		/* a line break as a browser sends it (CR LF) is one character, as the page's counter
		 * and the textarea count it */
		if (*p == '\r' && (flags & TEXT_MULTILINE) && end - p > 1 && p[1] == '\n') {
			p += 2;
			n++;
			continue;
		}
		k = utf8_seq(p, end, &cp);
		if (k == 0)
			return -1;
		if (cp == 0 || cp == 0x7f ||
		    (cp < 0x20 &&
		     !((flags & TEXT_MULTILINE) && (cp == '\t' || cp == '\n' || cp == '\r'))))
			return -1;
		if (cp >= 0x80 && cp < 0xa0) /* C1 controls */
			return -1;
		p += k;
		n++;
	}
	return n;
}

void
text_scrub(char *s)
{
	unsigned char *p = (unsigned char *)s, *end = p + strlen(s);
	unsigned cp;
	size_t k;

	while (p < end) {
		k = utf8_seq(p, end, &cp);
		if (k == 0) {
			*p++ = '?';
			continue;
		}
		p += k;
	}
}

/* 1 if code point cp shows nothing: white space (ASCII's, no-break, the typographic spaces,
 * the ideographic space of a Chinese keyboard) or a zero-width character. */
static int
invisible(unsigned cp)
{
	return (cp < 0x80 && isspace((int)cp)) || cp == 0xa0 || cp == 0x1680 ||
	       (cp >= 0x2000 && cp <= 0x200d) || cp == 0x2028 || cp == 0x2029 || cp == 0x202f ||
	       cp == 0x205f || cp == 0x2060 || cp == 0x3000 || cp == 0xfeff;
}

int
text_nonblank(const char *s)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + strlen(s);
	unsigned cp;
	size_t k;

	while (p < end) {
		k = utf8_seq(p, end, &cp);
		if (k == 0 || !invisible(cp))
			return 1;
		p += k;
	}
	return 0;
}

static int
digits(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return 0;
	return 1;
}

int
phone_valid(const char *s)
{
	size_t len, area;

	if (strncmp(s, "+86", 3) == 0) {
		s += 3;
		if (*s == ' ' || *s == '-')
			s++;
		return strlen(s) == 11 && s[0] == '1' && s[1] >= '3' && s[1] <= '9' &&
		       digits(s, 11);
	}
	len = strlen(s);
	if (len == 11 && s[0] == '1' && s[1] >= '3' && s[1] <= '9' && digits(s, 11))
		return 1;
	if (s[0] != '0')
		return 0;
	/* landline: 0 + 2 or 3 digits of area code, optional '-', 7 or 8 digits */
	for (area = 3; area <= 4; area++) {
		const char *rest = s + area;
		size_t rlen;

		if (len < area || !digits(s, area))
			continue;
		if (*rest == '-') {
			rest++;
			rlen = strlen(rest);
			if ((rlen == 7 || rlen == 8) && digits(rest, rlen))
				return 1;
			continue;
		}
		rlen = strlen(rest);
		if ((rlen == 7 || rlen == 8) && digits(rest, rlen))
			return 1;
	}
	return 0;
}

int
email_valid(const char *s)
{
	const char *at = strchr(s, '@'), *p, *label;
	size_t len = strlen(s);
	int dots = 0;

	if (len > 254 || at == NULL || at == s || at - s > 64 || strchr(at + 1, '@') != NULL)
		return 0;
	for (p = s; p < at; p++) {
		unsigned char c = (unsigned char)*p;

		if (c <= 0x20 || c == 0x7f || strchr("()<>[]:;,\\\"", c) != NULL)
			return 0;
	}
	if (s[0] == '.' || at[-1] == '.' || strstr(s, "..") != NULL)
		return 0;
	label = at + 1;
	for (p = at + 1;; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '.' || c == '\0') {
			if (p == label || label[0] == '-' || p[-1] == '-')
				return 0;
			if (c == '\0')
				break;
			dots++;
			label = p + 1;
			continue;
		}
		if (!(isalnum(c) || c == '-' || c >= 0x80))
			return 0;
	}
	return dots > 0;
}
