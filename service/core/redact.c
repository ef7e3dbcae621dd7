/*
 * redact.c: masking of personal data in the public version of an item (个人隐私不得上网): the
 * submitter's name, mainland mobile and landline numbers, 18-digit ID numbers and e-mail
 * addresses. Pure
 * text in, text out; works on UTF-8 by whole code points, so a sequence is never split.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core_int.h"

#define MOU "\xe6\x9f\x90" /* 某 */
#define NAME_MAX_BYTES 2048 /* a quarter holds the longest name intake takes (INTAKE_NAME_MAX \
                           * code points of up to 4 bytes); a mask is at most 3 times as long */
#define NAME_PARTS 8

/* A growing output string. */
struct out {
	char *s;
	size_t len, cap;
	int failed;
};

static void
put(struct out *o, const char *p, size_t n)
{
	char *ns;
	size_t cap;

	if (o->failed)
		return;
	if (o->len + n + 1 > o->cap) {
		cap = o->cap ? o->cap : 64;
		while (cap < o->len + n + 1)
			cap *= 2;
		ns = realloc(o->s, cap);
		if (ns == NULL) {
			o->failed = 1;
			return;
		}
		o->s = ns;
		o->cap = cap;
	}
	memcpy(o->s + o->len, p, n);
	o->len += n;
	o->s[o->len] = '\0';
}

static void
puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

static int
is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static int
is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Bytes of the well-formed UTF-8 sequence at p (1 for ASCII or an invalid byte). */
static size_t
cp_len(const unsigned char *p)
{
	size_t n, i;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4;
	else
		return 1;
	for (i = 1; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 1;
	return n;
}

/* Number of code points of s, or -1 if it is not well-formed UTF-8. */
static int
cp_count(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	int n = 0;
	size_t l;

	while (*p != '\0') {
		l = cp_len(p);
		if (l == 1 && *p >= 0x80)
			return -1;
		p += l;
		n++;
	}
	return n;
}

/* --- e-mail addresses -------------------------------------------------------------------- */

static int
is_local(unsigned char c)
{
	return is_alpha(c) || is_digit(c) || c == '.' || c == '_' || c == '%' || c == '+' ||
	       c == '-';
}

static int
is_domain(unsigned char c)
{
	return is_alpha(c) || is_digit(c) || c == '-' || c == '.';
}

/* An address starting at p (p[-1] is not a local-part character): its length, local-part
 * length in *local, or 0. The domain needs two labels and a top level of two letters or more. */
static size_t
match_email(const unsigned char *p, size_t *local)
{
	size_t l = 0, d, end, last_dot = 0, i;

	while (is_local(p[l]))
		l++;
	if (l == 0 || p[l] != '@' || p[0] == '.')
		return 0;
	d = l + 1;
	end = d;
	while (is_domain(p[end]))
		end++;
	while (end > d && (p[end - 1] == '.' || p[end - 1] == '-'))
		end--; /* sentence punctuation after the address */
	for (i = d; i < end; i++)
		if (p[i] == '.') {
			if (i == d || p[i - 1] == '.')
				return 0;
			last_dot = i;
		}
	if (last_dot == 0 || end - last_dot - 1 < 2)
		return 0;
	for (i = last_dot + 1; i < end; i++)
		if (!is_alpha(p[i]))
			return 0;
	*local = l;
	return end;
}

/* --- ID numbers and mobile numbers ------------------------------------------------------- */

/* An 18-character ID number at p (17 digits + digit or X), not followed by a digit or letter. */
static size_t
match_id(const unsigned char *p)
{
	size_t i;

	for (i = 0; i < 17; i++)
		if (!is_digit(p[i]))
			return 0;
	if (!is_digit(p[17]) && p[17] != 'X' && p[17] != 'x')
		return 0;
	if (is_digit(p[18]) || is_alpha(p[18]))
		return 0;
	return 18;
}

/* A mobile number at p: optional +86 / 0086 / 86 with an optional space or dash, then
 * 1[3-9]x-xxxx-xxxx (a space or dash allowed after the 3rd and 7th digit), not followed by a
 * digit. Returns its length and writes the offsets of the 11 digits into pos. */
static size_t
match_core(const unsigned char *p, size_t at, size_t pos[11])
{
	size_t i = at;
	int n;

	for (n = 0; n < 11; n++) {
		if ((n == 3 || n == 7) && (p[i] == ' ' || p[i] == '-') && is_digit(p[i + 1]))
			i++;
		if (!is_digit(p[i]))
			return 0;
		pos[n] = i++;
	}
	if (p[pos[0]] != '1' || p[pos[1]] < '3' || is_digit(p[i]))
		return 0;
	return i;
}

static size_t
match_phone(const unsigned char *p, size_t pos[11])
{
	static const char *const prefixes[] = {"+86", "0086", "86"};
	size_t i, at, end;

	for (i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		at = strlen(prefixes[i]);
		if (strncmp((const char *)p, prefixes[i], at) != 0)
			continue;
		if (p[at] == ' ' || p[at] == '-')
			at++;
		end = match_core(p, at, pos);
		if (end != 0)
			return end;
	}
	return match_core(p, 0, pos);
}

/* A mainland landline number at p: an area code 0[1-9]D or 0[1-9]DD, optionally followed by
 * '-', ' ' or ')', then a local number of 7 or 8 digits starting with 2-9. Returns its length,
 * with the offset of the local number in *local, or 0. */
static size_t
match_landline(const unsigned char *p, size_t *local)
{
	size_t area, at, n;

	if (p[0] != '0' || p[1] < '1' || p[1] > '9')
		return 0;
	for (area = 3; area <= 4; area++) {
		if (!is_digit(p[area - 1]))
			return 0;
		at = area;
		if (p[at] == '-' || p[at] == ' ' || p[at] == ')')
			at++;
		for (n = 0; is_digit(p[at + n]); n++)
			;
		if ((n == 7 || n == 8) && p[at] >= '2') {
			*local = at;
			return at + n;
		}
	}
	return 0;
}

/* --- names ------------------------------------------------------------------------------- */

static const char *const compound_surnames[] = {
    "欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙",
    "宇文", "司徒", "夏侯", "轩辕", "令狐", "钟离", "澹台", "独孤", "南宫", "西门",
};

/* The forms of the submitter's name to look for, longest first, with their masks. */
struct name_forms {
	char full[NAME_MAX_BYTES];       /* the name as given, trimmed */
	char full_mask[NAME_MAX_BYTES];  /* 张某 / J*** */
	char given[NAME_MAX_BYTES];      /* the given name alone (CJK, 2+ characters) or "" */
	char given_mask[NAME_MAX_BYTES]; /* 某某 */
	/* A Latin-script name's words of 2+ letters (in full, at offsets), so that "Wei Wang" is
	 * also found as "Wang Wei" or "Mr Wang". */
	size_t part_off[NAME_PARTS], part_len[NAME_PARTS];
	size_t nparts;
};

/* The length of one of a Latin name's words standing as a whole word at p (i bytes into the
 * text), or 0. */
static size_t
name_part_at(const struct name_forms *f, const unsigned char *text, size_t i)
{
	size_t k, n;

	if (i > 0 && is_alpha(text[i - 1]))
		return 0;
	for (k = 0; k < f->nparts; k++) {
		n = f->part_len[k];
		if (strncasecmp((const char *)text + i, f->full + f->part_off[k], n) == 0 &&
		    !is_alpha(text[i + n]))
			return n;
	}
	return 0;
}

/* Prepares the name forms; 0 if there is nothing to look for (no name, one character, bad
 * UTF-8, too long). */
static int
name_forms(const char *name, struct name_forms *f)
{
	const unsigned char *p;
	size_t len, sur, i;
	int cps, given_cps;

	memset(f, 0, sizeof(*f));
	if (name == NULL)
		return 0;
	while (*name == ' ' || *name == '\t')
		name++;
	len = strlen(name);
	while (len > 0 && (name[len - 1] == ' ' || name[len - 1] == '\t'))
		len--;
	if (len == 0 || len >= NAME_MAX_BYTES / 4)
		return 0;
	memcpy(f->full, name, len);
	cps = cp_count(f->full);
	if (cps < 2)
		return 0;
	p = (const unsigned char *)f->full;
	if (p[0] < 0x80) {
		/* A Latin-script name: keep the initial. */
		f->full_mask[0] = f->full[0];
		strcpy(f->full_mask + 1, "***");
		for (i = 0; i < len && f->nparts < NAME_PARTS;) {
			size_t w = i;

			while (w < len && is_alpha(p[w]))
				w++;
			if (w - i >= 2) {
				f->part_off[f->nparts] = i;
				f->part_len[f->nparts++] = w - i;
			}
			i = w == i ? i + 1 : w;
		}
		return 1;
	}
	sur = cp_len(p);
	for (i = 0; i < sizeof(compound_surnames) / sizeof(compound_surnames[0]); i++)
		if (strncmp(f->full, compound_surnames[i], strlen(compound_surnames[i])) == 0 &&
		    cps > 2)
			sur = strlen(compound_surnames[i]);
	memcpy(f->full_mask, f->full, sur);
	strcpy(f->full_mask + sur, MOU);
	given_cps = cp_count(f->full + sur);
	if (given_cps >= 2) {
		strcpy(f->given, f->full + sur);
		for (i = 0; i < (size_t)given_cps; i++)
			strcat(f->given_mask, MOU);
	}
	return 1;
}

char *
redact_text(const char *text, const char *submitter_name)
{
	const unsigned char *p = (const unsigned char *)text;
	struct name_forms names;
	struct out o = {NULL, 0, 0, 0};
	size_t i = 0, n, local, pos[11], k, full_len = 0, given_len = 0;
	int have_name;

	if (text == NULL)
		return NULL;
	have_name = name_forms(submitter_name, &names);
	if (have_name) {
		full_len = strlen(names.full);
		given_len = strlen(names.given);
	}
	put(&o, "", 0);
	while (p[i] != '\0') {
		int boundary_local = i == 0 || !is_local(p[i - 1]);
		int boundary_digit = i == 0 || !is_digit(p[i - 1]);

		if (boundary_local && is_local(p[i])) {
			n = match_email(p + i, &local);
			if (n != 0) {
				put(&o, (const char *)p + i, cp_len(p + i));
				puts_(&o, "***");
				put(&o, (const char *)p + i + local, n - local);
				i += n;
				continue;
			}
		}
		if (boundary_digit && (is_digit(p[i]) || p[i] == '+')) {
			n = match_id(p + i);
			if (n != 0) {
				put(&o, (const char *)p + i, 6);
				puts_(&o, "********");
				put(&o, (const char *)p + i + 14, 4);
				i += n;
				continue;
			}
			n = match_landline(p + i, &local);
			if (n != 0) { /* area code and last 4 digits kept */
				put(&o, (const char *)p + i, local);
				for (k = local; k < n - 4; k++)
					put(&o, "*", 1);
				put(&o, (const char *)p + i + n - 4, 4);
				i += n;
				continue;
			}
			n = match_phone(p + i, pos);
			if (n != 0) {
				for (k = 0; k < n; k++) {
					int masked = 0;
					size_t d;

					for (d = 3; d < 7; d++)
						if (pos[d] == k)
							masked = 1;
					put(&o, masked ? "*" : (const char *)p + i + k, 1);
				}
				i += n;
				continue;
			}
		}
		if (have_name && strncmp((const char *)p + i, names.full, full_len) == 0) {
			puts_(&o, names.full_mask);
			i += full_len;
			continue;
		}
		n = have_name ? name_part_at(&names, p, i) : 0;
		if (n != 0) {
			put(&o, (const char *)p + i, 1);
			puts_(&o, "***");
			i += n;
			continue;
		}
		if (have_name && given_len != 0 &&
		    strncmp((const char *)p + i, names.given, given_len) == 0) {
			puts_(&o, names.given_mask);
			i += given_len;
			continue;
		}
		n = cp_len(p + i);
		put(&o, (const char *)p + i, n);
		i += n;
	}
	if (o.failed) {
		free(o.s);
		return NULL;
	}
	return o.s;
}
