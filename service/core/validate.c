/* validate.c: checks of citizen and account input: UTF-8 text, mainland phone numbers, e-mail
 * addresses. */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "core_int.h"

/* The length of the valid UTF-8 sequence (no overlong form, surrogate or code point beyond
 * U+10FFFF) at p, before end, with its code point in *cp; 0 if there is none. */
size_t
core_utf8_seq(const unsigned char *p, const unsigned char *end, unsigned *cp)
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
		k = core_utf8_seq(p, end, &cp);
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
		k = core_utf8_seq(p, end, &cp);
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
		k = core_utf8_seq(p, end, &cp);
		if (k == 0 || !invisible(cp))
			return 1;
		p += k;
	}
	return 0;
}

/* One character of a phone number as people write it: its digit (ASCII or full-width), '+' (or
 * the full-width ＋), '(' or ')' (either width), '-' for a hyphen or dash (either width), ' ' for
 * another separator (a blank of any kind, a dot, a middle dot), or 0 for anything else. */
static char
phone_char(unsigned cp)
{
	if (cp >= '0' && cp <= '9')
		return (char)cp;
	if (cp >= 0xff10 && cp <= 0xff19)
		return (char)('0' + (cp - 0xff10));
	if (cp == '+' || cp == 0xff0b)
		return '+';
	if (cp == '(' || cp == 0xff08)
		return '(';
	if (cp == ')' || cp == 0xff09)
		return ')';
	if (cp == '-' || cp == 0xff0d || (cp >= 0x2010 && cp <= 0x2015) || cp == 0x2212)
		return '-';
	if (cp == '.' || cp == 0xff0e || cp == 0x30fb || cp == 0xb7 || invisible(cp))
		return ' ';
	return 0;
}

/* What people write between a number and its extension, each read as 'x' by phone_tidy_kind:
 * 转 (轉), 分机 (分機), the two together, "ext" in any case, '#' (either width). */
static const char *const phone_ext_marks[] = {
    "\xe8\xbd\xac\xe5\x88\x86\xe6\x9c\xba", /* 转分机 */
    "\xe8\xbd\x89\xe5\x88\x86\xe6\xa9\x9f", /* 轉分機 */
    "\xe5\x88\x86\xe6\x9c\xba",             /* 分机 */
    "\xe5\x88\x86\xe6\xa9\x9f",             /* 分機 */
    "\xe8\xbd\xac",                         /* 转 */
    "\xe8\xbd\x89",                         /* 轉 */
    "ext",
    "#",
    "\xef\xbc\x83", /* ＃ */
};

#define PHONE_IN_MAX 64     /* bytes of a phone number as written (full-width digits: 3 each) */
#define PHONE_GROUPS_MAX 8  /* groups of digits in it */
#define PHONE_DIGITS_MAX 16 /* digits in it, the country code's included */
#define PHONE_EXT_MAX 6     /* digits of an extension */
#define PHONE_EXT_MARK "\xe8\xbd\xac" /* 转: between a number and its extension, as stored */

/* 1 if d (n digits) is a mainland mobile number: 1, then 3 to 9, 11 digits in all. */
static int
mobile(const char *d, size_t n)
{
	return n == 11 && d[0] == '1' && d[1] >= '3' && d[1] <= '9';
}

static int
digits(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

/* 1 if s is written as numbers were taken before they were tidied: +86 (then ' ' or '-' or
 * nothing) and a mobile number, a mobile number, or a landline of 0, two or three digits of area
 * code, an optional '-' and 7 or 8 digits. Such a number is kept as written: an operator who
 * registered "+8613800000001" finds the gateway getting just that. */
static int
phone_as_before(const char *s)
{
	size_t len, area, rlen;
	const char *rest;

	if (strncmp(s, "+86", 3) == 0) {
		s += 3;
		if (*s == ' ' || *s == '-')
			s++;
		return strlen(s) == 11 && mobile(s, 11) && digits(s, 11);
	}
	len = strlen(s);
	if (len == 11 && mobile(s, 11) && digits(s, 11))
		return 1;
	if (s[0] != '0' || s[1] == '0') /* 00 begins an international prefix, no area code */
		return 0;
	for (area = 3; area <= 4; area++) {
		if (len < area || !digits(s, area))
			continue;
		rest = s + area + (s[area] == '-');
		rlen = strlen(rest);
		if ((rlen == 7 || rlen == 8) && digits(rest, rlen))
			return 1;
	}
	return 0;
}

/* The digits of a number as phone_char wrote it, and how they were set apart. */
struct phone_digits {
	char d[PHONE_DIGITS_MAX + 2]; /* the digits, the country code's not, NUL-terminated */
	size_t nd;                    /* how many */
	size_t first;                 /* the first group's length when there are several, else 0 */
	int intl;                     /* after a country code, +86 or 0086 */
	int bracket;                  /* the first group in brackets */
};

#define PHONE_SEP(c) ((c) == ' ' || (c) == '-')

/* Reads a (phone_char's characters, NUL-terminated) into *pd: a country code +86 or 0086 (either
 * in brackets), then groups of digits between separators, the first one possibly in brackets
 * (an area code: "(010) 6512 3456"). 1, or 0 when a is not written so. */
static int
phone_groups(const char *a, struct phone_digits *pd)
{
	size_t glen[PHONE_GROUPS_MAX], ng = 0, i = 0;

	memset(pd, 0, sizeof(*pd));
	while (PHONE_SEP(a[i]))
		i++;
	if (a[i] == '(' &&
	    (strncmp(a + i + 1, "+86)", 4) == 0 || strncmp(a + i + 1, "0086)", 5) == 0)) {
		i += a[i + 1] == '+' ? 5 : 6;
		pd->intl = 1;
	} else if (strncmp(a + i, "+86", 3) == 0) {
		i += 3;
		pd->intl = 1;
	} else if (strncmp(a + i, "0086", 4) == 0) {
		i += 4;
		pd->intl = 1;
	}
	while (a[i] != '\0') {
		if (PHONE_SEP(a[i])) {
			i++;
			continue;
		}
		if (a[i] == '(') {
			if (ng > 0 || pd->bracket)
				return 0;
			pd->bracket = 1;
			i++;
		}
		if (a[i] < '0' || a[i] > '9' || ng == PHONE_GROUPS_MAX)
			return 0;
		glen[ng] = 0;
		while (a[i] >= '0' && a[i] <= '9') {
			if (pd->nd == PHONE_DIGITS_MAX)
				return 0;
			pd->d[pd->nd++] = a[i++];
			glen[ng]++;
		}
		ng++;
		if (pd->bracket && ng == 1) { /* its closing bracket sets it apart */
			if (a[i] != ')')
				return 0;
			i++;
		} else if (!PHONE_SEP(a[i]) && a[i] != '\0') {
			return 0;
		}
	}
	pd->d[pd->nd] = '\0';
	pd->first = ng > 1 ? glen[0] : 0; /* the writer's area code, when they set it apart */
	return pd->nd > 0;
}

/* The number of *pd as a mobile number (its 11 digits) or a landline (area code, '-', number)
 * in out: PHONE_MOBILE or PHONE_LANDLINE, or PHONE_NONE (out untouched). */
static enum phone_kind
phone_national(struct phone_digits *pd, char out[PHONE_TIDY_SIZE])
{
	char *d = pd->d;
	size_t nd = pd->nd, first = pd->first, area, k, tries[2];

	/* 86 without its + before a mobile number: 86 138 1234 5678 */
	if (!pd->intl && !pd->bracket && nd == 13 && strncmp(d, "86", 2) == 0 &&
	    mobile(d + 2, 11)) {
		memmove(d, d + 2, 12);
		nd = 11;
	}
	if (mobile(d, nd)) {
		memcpy(out, d, 12);
		return PHONE_MOBILE;
	}
	/* a landline: its area code is written without its 0 after the country code */
	if (pd->intl && d[0] != '0') {
		memmove(d + 1, d, nd + 1);
		d[0] = '0';
		nd++;
		if (first)
			first++;
	}
	if (d[0] != '0' || d[1] == '0' || nd < 10 || nd > 12)
		return PHONE_NONE;
	/* the area code as written when it is one; else 3 digits for 010 and 02X, 4 for the
	 * others, or the other length when only that leaves 7 or 8 digits */
	tries[0] = d[1] == '1' || d[1] == '2' ? 3 : 4;
	tries[1] = 7 - tries[0];
	area = 0;
	if (first >= 3 && first <= 4 && nd - first >= 7 && nd - first <= 8)
		area = first;
	for (k = 0; area == 0 && k < 2; k++)
		if (nd - tries[k] >= 7 && nd - tries[k] <= 8)
			area = tries[k];
	if (area == 0)
		return PHONE_NONE;
	memcpy(out, d, area);
	out[area] = '-';
	memcpy(out + area + 1, d + area, nd - area + 1);
	return PHONE_LANDLINE;
}

/* A service number of *pd in out: 400 or 800 and 7 digits, stored as they are printed and read
 * out, "400-810-8888"; 95 and 3 to 6 digits (a bank's or a carrier's, 95588), as its digits.
 * Written without a country code or brackets (neither is dialled). 1, else 0. */
static int
phone_service(const struct phone_digits *pd, char out[PHONE_TIDY_SIZE])
{
	const char *d = pd->d;

	if (pd->intl || pd->bracket)
		return 0;
	if (pd->nd == 10 && (strncmp(d, "400", 3) == 0 || strncmp(d, "800", 3) == 0)) {
		memcpy(out, d, 3);
		out[3] = '-';
		memcpy(out + 4, d + 3, 3);
		out[7] = '-';
		memcpy(out + 8, d + 6, 5);
		return 1;
	}
	if (pd->nd >= 5 && pd->nd <= 8 && d[0] == '9' && d[1] == '5') {
		memcpy(out, d, pd->nd + 1);
		return 1;
	}
	return 0;
}

/* A landline and its extension in a (phone_char's characters, a marker read as 'x'): the number
 * before the marker, or before the last hyphen when there is no marker, then 1 to PHONE_EXT_MAX
 * digits; stored as the landline, 转, the extension ("010-65123456转123"). 1, else 0 (a mobile
 * or service number has none). a is cut at the marker. */
static int
phone_extension(char *a, char out[PHONE_TIDY_SIZE])
{
	struct phone_digits pd;
	char base[PHONE_TIDY_SIZE], *x = strchr(a, 'x'), *e;
	size_t n = 0, blen;

	if (x == NULL)
		x = strrchr(a, '-');
	else if (strchr(x + 1, 'x') != NULL)
		return 0;
	if (x == NULL)
		return 0;
	*x = '\0';
	for (e = x + 1; *e == ' '; e++)
		;
	while (e[n] >= '0' && e[n] <= '9')
		n++;
	if (n == 0 || n > PHONE_EXT_MAX || e[n + strspn(e + n, " ")] != '\0')
		return 0;
	if (!phone_groups(a, &pd) || phone_national(&pd, base) != PHONE_LANDLINE)
		return 0;
	blen = strlen(base);
	memcpy(out, base, blen);
	memcpy(out + blen, PHONE_EXT_MARK, sizeof(PHONE_EXT_MARK) - 1);
	memcpy(out + blen + sizeof(PHONE_EXT_MARK) - 1, e, n);
	out[blen + sizeof(PHONE_EXT_MARK) - 1 + n] = '\0';
	return 1;
}

enum phone_kind
phone_tidy_kind(const char *s, char out[PHONE_TIDY_SIZE])
{
	const unsigned char *p = (const unsigned char *)s, *end;
	char a[PHONE_IN_MAX + 1];
	struct phone_digits pd;
	enum phone_kind kind;
	size_t na, k, m;
	unsigned cp;
	int got;

	na = strlen(s);
	if (na > PHONE_IN_MAX)
		return PHONE_NONE;
	/* the common case at once, and every form taken before numbers were tidied: as written */
	if (na < PHONE_TIDY_SIZE && phone_as_before(s)) {
		memcpy(out, s, na + 1);
		return s[0] == '0' ? PHONE_LANDLINE : PHONE_MOBILE;
	}
	/* as ASCII: digits, '+', brackets, '-' for a hyphen, ' ' for another separator, 'x' for
	 * an extension's marker */
	end = p + na;
	na = 0;
	while (p < end) {
		for (m = 0; m < sizeof(phone_ext_marks) / sizeof(phone_ext_marks[0]); m++) {
			k = strlen(phone_ext_marks[m]);
			if ((size_t)(end - p) >= k &&
			    strncasecmp((const char *)p, phone_ext_marks[m], k) == 0)
				break;
		}
		if (m < sizeof(phone_ext_marks) / sizeof(phone_ext_marks[0])) {
			a[na++] = 'x';
			p += k;
			continue;
		}
		k = core_utf8_seq(p, end, &cp);
		if (k == 0)
			return PHONE_NONE;
		a[na] = phone_char(cp);
		if (a[na++] == 0)
			return PHONE_NONE;
		p += k;
	}
	a[na] = '\0';
	/* a mobile number or a landline, as they were tidied before; then what was refused before:
	 * a service number, a landline with its extension */
	got = phone_groups(a, &pd);
	if (got) {
		kind = phone_national(&pd, out);
		if (kind != PHONE_NONE)
			return kind;
		if (phone_service(&pd, out))
			return PHONE_SERVICE;
	}
	return phone_extension(a, out) ? PHONE_EXTENSION : PHONE_NONE;
}

int
phone_tidy(const char *s, char out[PHONE_TIDY_SIZE])
{
	return phone_tidy_kind(s, out) != PHONE_NONE;
}

int
phone_valid(const char *s)
{
	char out[PHONE_TIDY_SIZE];

	return phone_tidy(s, out);
}

/* s without the blanks around it (ASCII's, the ideographic space, the no-break space: from the
 * first visible character to the end of the last), a full-width ＠ as '@', a full-width ． and the
 * ideographic full stops that IDNA also reads as the dot between labels as '.', in out: 1, or 0
 * when s is blank, not valid UTF-8, has control characters or is too long. */
static int
email_marks(const char *s, char out[EMAIL_TIDY_SIZE])
{
	const unsigned char *p = (const unsigned char *)s, *all = p + strlen(s), *end = p, *q;
	size_t n = 0, k;
	unsigned cp;

	for (q = p; q < all; q += k) {
		k = core_utf8_seq(q, all, &cp);
		if (k == 0)
			return 0;
		if (invisible(cp))
			continue;
		if (end == (const unsigned char *)s)
			p = q;
		end = q + k;
	}
	if (end == (const unsigned char *)s || text_check((const char *)p, end - p, 0) < 0)
		return 0;
	while (p < end) {
		k = core_utf8_seq(p, end, &cp);
		if (n + k >= EMAIL_TIDY_SIZE)
			return 0;
		if (cp == 0xff20)
			out[n++] = '@';
		else if (cp == 0xff0e || cp == 0x3002 || cp == 0xff61)
			out[n++] = '.';
		else {
			memcpy(out + n, p, k);
			n += k;
		}
		p += k;
	}
	out[n] = '\0';
	return 1;
}

int
email_tidy(const char *s, char out[EMAIL_TIDY_SIZE])
{
	const unsigned char *p = (const unsigned char *)s, *all = p + strlen(s), *q;

	/* the common case at once: printable ASCII without blanks, as stored */
	for (q = p; q < all && *q > 0x20 && *q < 0x7f; q++)
		;
	if (q == all) {
		if (q - p >= EMAIL_TIDY_SIZE || !email_valid(s))
			return 0;
		memcpy(out, s, (size_t)(q - p) + 1);
		return 1;
	}
	return email_marks(s, out) && email_valid(out);
}

/* 1 if s is one address alone (LOCAL@DOMAIN, no space, no name form, no list), else 0; a
 * domain without a dot (a local mail host) is taken. What accounts took before their addresses
 * were tidied. */
static int
address_alone(const char *s)
{
	const char *at = strchr(s, '@'), *p;

	if (at == NULL || at == s || at[1] == '\0' || strchr(at + 1, '@') != NULL)
		return 0;
	for (p = s; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f || strchr("()<>[]:;,\\\"", *p) != NULL)
			return 0;
	return 1;
}

int
email_tidy_account(const char *s, char out[EMAIL_TIDY_SIZE])
{
	size_t len = strlen(s);

	if (email_marks(s, out) && address_alone(out))
		return 1;
	/* taken before, though not UTF-8 text: as it was */
	if (len < EMAIL_TIDY_SIZE && address_alone(s)) {
		memcpy(out, s, len + 1);
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

/* Regions whose Chinese is written in traditional characters: Taiwan, Hong Kong, Macao. */
static const char *const hant_regions[] = {"tw", "hk", "mo"};

int
lang_tag_parse(const char *s)
{
	char sub[9];
	size_t n, i, k;
	int primary = -1, script = -1, region = -1;

	if (s == NULL || strlen(s) > 32)
		return -1;
	/* subtags as BCP 47 has them (language, then a script of 4 letters, then a region of 2
	 * letters or 3 digits), between '-' or '_', in any case */
	for (i = 0; *s != '\0'; i++) {
		n = strcspn(s, "-_");
		if (n == 0 || n >= sizeof(sub))
			return -1;
		for (k = 0; k < n; k++) {
			if (!isalnum((unsigned char)s[k]))
				return -1;
			sub[k] = (char)tolower((unsigned char)s[k]);
		}
		sub[n] = '\0';
		if (i == 0) {
			if (strcmp(sub, "zh") == 0)
				primary = LANG_ZH_HANS;
			else if (strcmp(sub, "en") == 0)
				primary = LANG_EN;
			else
				return -1;
		} else if (n == 4 && script < 0 && region < 0 && isalpha((unsigned char)sub[0])) {
			if (strcmp(sub, "hans") == 0)
				script = LANG_ZH_HANS;
			else if (strcmp(sub, "hant") == 0)
				script = LANG_ZH_HANT;
			else if (strcmp(sub, "latn") == 0 && primary == LANG_EN)
				script = LANG_EN;
			else
				return -1;
		} else if (region < 0 && ((n == 2 && isalpha((unsigned char)sub[0]) &&
		                          isalpha((unsigned char)sub[1])) ||
		                         (n == 3 && isdigit((unsigned char)sub[0]) &&
		                          isdigit((unsigned char)sub[1]) &&
		                          isdigit((unsigned char)sub[2])))) {
			region = LANG_ZH_HANS;
			for (k = 0; k < sizeof(hant_regions) / sizeof(hant_regions[0]); k++)
				if (strcmp(sub, hant_regions[k]) == 0)
					region = LANG_ZH_HANT;
		} else {
			return -1;
		}
		s += n;
		if (*s != '\0' && *++s == '\0')
			return -1; /* no separator at the end */
	}
	if (primary == LANG_EN)
		return script == LANG_EN || script < 0 ? LANG_EN : -1;
	return script >= 0 ? script : region >= 0 ? region : primary;
}
