/*
 * redact.c: masking of personal data in the public version of an item (个人隐私不得上网): the
 * submitter's name (whole names only), third persons named with a title, mainland mobile and
 * landline numbers, 18-digit ID numbers, bank cards, passports, QQ numbers, licence plates,
 * e-mail addresses and street addresses (Chinese and English). Full-width digits and letters
 * are read as ASCII; the bureau's own configured contacts are never masked. Pure text in, text
 * out; works on UTF-8 by whole code points, so a sequence is never split.
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

/* --- full-width forms ------------------------------------------------------------------- */

/* The text with full-width digits, letters and + - . @ (U+FF0B..U+FF5A) as ASCII, so that
 * １３８１２３４５６７８ is found like 13812345678; orig[k] is the byte offset in the original
 * of the character that starts at byte k of the copy (orig[len]: the original's length), so
 * that what is not masked is copied as it was written. */
struct norm {
	char *s;
	size_t *orig;
	size_t len;
};

static int
norm_make(const char *text, struct norm *n)
{
	const unsigned char *p = (const unsigned char *)text;
	size_t len = strlen(text), i = 0, k = 0, l;
	unsigned off;

	n->s = malloc(len + 1);
	n->orig = malloc((len + 1) * sizeof(size_t));
	if (n->s == NULL || n->orig == NULL) {
		free(n->s);
		free(n->orig);
		return -1;
	}
	while (i < len) {
		l = cp_len(p + i);
		if (l == 3 && p[i] == 0xef && (p[i + 1] == 0xbc || p[i + 1] == 0xbd)) {
			off = ((unsigned)(p[i + 1] & 0x03) << 6) | (p[i + 2] & 0x3f); /* from U+FF00 */
			if ((off >= 0x10 && off <= 0x19) || (off >= 0x21 && off <= 0x3a) ||
			    (off >= 0x41 && off <= 0x5a) || off == 0x0b || off == 0x0d || off == 0x0e ||
			    off == 0x20) {
				n->orig[k] = i;
				n->s[k++] = (char)(off + 0x20);
				i += 3;
				continue;
			}
		}
		memcpy(n->s + k, p + i, l);
		n->orig[k] = i;
		k += l;
		i += l;
	}
	n->s[k] = '\0';
	n->orig[k] = len;
	n->len = k;
	return 0;
}

static void
norm_free(struct norm *n)
{
	free(n->s);
	free(n->orig);
}

/* --- bank cards, passports, QQ numbers, licence plates ---------------------------------- */

/* A bank card number at p: 16 to 19 digits, optionally in groups of four separated by one space
 * or dash, not followed by a digit, that passes the Luhn check or is a UnionPay number (62…).
 * Returns its length, or 0. */
static size_t
match_card(const unsigned char *p)
{
	int digits[19], n = 0, sum = 0, i, d, sep = -1;
	size_t at = 0;

	while (n < 19) {
		if (is_digit(p[at])) {
			digits[n++] = p[at++] - '0';
			continue;
		}
		if ((p[at] == ' ' || p[at] == '-') && n % 4 == 0 && n > 0 && is_digit(p[at + 1]) &&
		    (sep < 0 || sep == p[at])) {
			sep = p[at++];
			continue;
		}
		break;
	}
	if (n < 16 || is_digit(p[at]))
		return 0;
	while (at > 0 && !is_digit(p[at - 1]))
		at--;
	for (i = 0; i < n; i++) {
		d = digits[n - 1 - i];
		if (i % 2 == 1) {
			d *= 2;
			if (d > 9)
				d -= 9;
		}
		sum += d;
	}
	if (sum % 10 != 0 && !(digits[0] == 6 && digits[1] == 2))
		return 0;
	return at;
}

static int
is_upper(unsigned char c)
{
	return c >= 'A' && c <= 'Z';
}

/* A passport or travel permit number at p (p[-1] is no letter or digit): E, G, P, S, D, C, H
 * or K and 8 digits, or E and a letter and 7 digits, not followed by a letter or digit. */
static size_t
match_passport(const unsigned char *p)
{
	size_t i, from = 1;

	if (p[0] == '\0' || strchr("EGPSDCHK", p[0]) == NULL)
		return 0;
	if (p[0] == 'E' && is_upper(p[1]))
		from = 2;
	for (i = from; i < 9; i++)
		if (!is_digit(p[i]))
			return 0;
	if (is_digit(p[9]) || is_alpha(p[9]))
		return 0;
	return 9;
}

/* "QQ" (any case, not inside a word) with 号/号码, a colon or spaces, then 5 to 11 digits: the
 * length, with the offset of the digits in *at; or 0. */
static size_t
match_qq(const unsigned char *p, size_t *at)
{
	static const char *const seps[] = {"\xe5\x8f\xb7\xe7\xa0\x81", "\xe5\x8f\xb7", ":", " ",
	                                   "\xef\xbc\x9a", "\xe6\x98\xaf"}; /* 号码 号 : ' ' ： 是 */
	size_t i = 2, k, n;
	int more = 1;

	if (!((p[0] == 'Q' || p[0] == 'q') && (p[1] == 'Q' || p[1] == 'q')) || is_alpha(p[2]))
		return 0;
	while (more) {
		more = 0;
		for (k = 0; k < sizeof(seps) / sizeof(seps[0]); k++)
			if (strncmp((const char *)p + i, seps[k], strlen(seps[k])) == 0) {
				i += strlen(seps[k]);
				more = 1;
			}
	}
	for (n = 0; is_digit(p[i + n]); n++)
		;
	if (n < 5 || n > 11)
		return 0;
	*at = i;
	return i + n;
}

/* The one-character abbreviations of the provinces on licence plates. */
static const char plate_provinces[] =
    "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼使领";

/* A licence plate at p: a province character, a letter, an optional · or space or dash, then 5
 * or 6 letters and digits (at least one digit), not followed by a letter or digit. The length,
 * with the offset of the serial in *at; or 0. */
static size_t
match_plate(const unsigned char *p, size_t *at)
{
	size_t i = 3, n, digits = 0;
	const char *s;

	if (cp_len(p) != 3)
		return 0;
	for (s = plate_provinces; *s != '\0'; s += 3)
		if (strncmp(s, (const char *)p, 3) == 0)
			break;
	if (*s == '\0' || !is_upper(p[i]))
		return 0;
	i++;
	if (p[i] == 0xc2 && p[i + 1] == 0xb7)
		i += 2;
	else if (p[i] == ' ' || p[i] == '-')
		i++;
	for (n = 0; n < 7 && (is_upper(p[i + n]) || is_digit(p[i + n])); n++)
		digits += is_digit(p[i + n]);
	if ((n != 5 && n != 6) || digits == 0)
		return 0;
	*at = i;
	return i + n;
}

/* --- street addresses -------------------------------------------------------------------- */

static int
is_cjk(const unsigned char *p)
{
	unsigned cp;

	if (cp_len(p) != 3)
		return 0;
	cp = ((unsigned)(p[0] & 0x0f) << 12) | ((unsigned)(p[1] & 0x3f) << 6) | (p[2] & 0x3f);
	return cp >= 0x4e00 && cp <= 0x9fff;
}

/* 1 if the CJK character at p is one of the three-byte characters of list. */
static int
in_chars(const char *list, const unsigned char *p)
{
	const char *s;

	for (s = list; *s != '\0'; s += 3)
		if (strncmp(s, (const char *)p, 3) == 0)
			return 1;
	return 0;
}

/* The length of the first word of list (NULL-terminated) that p starts with, or 0. */
static size_t
starts_with(const char *const *list, const unsigned char *p)
{
	size_t i, n;

	for (i = 0; list[i] != NULL; i++) {
		n = strlen(list[i]);
		if (strncmp(list[i], (const char *)p, n) == 0)
			return n;
	}
	return 0;
}

/* What ends the name of a street or an estate, before its number. */
static const char *const street_words[] = {
    "大街", "胡同", "小区", "花园", "公寓", "大厦", "家园", "新村", "路", "街", "道",
    "巷",   "弄",   "里",   "村",   "苑",   "院",   NULL};
/* What follows a number inside an address: 号楼 3号 2单元 5栋 502室 … */
static const char *const unit_words[] = {"号楼", "号院", "单元", "号", "栋", "幢", "楼", "层",
                                         "室",   "座",   "门",   "户", NULL};
/* Characters that end a place above the street (kept) or cannot begin a street's name. */
static const char region_chars[] = "省市区县镇乡州盟旗";
static const char not_street_start[] =
    "住在于到从至位家是的了和与我他她近对向往去来经过即将门就也都有被把让给请";

/* A Chinese street address at p: a street or estate name of 1 to 8 CJK characters (none of
 * them a region character) ending in a street word, then at least one number with its unit
 * word (38号, 3单元, 502室, 5-2-301). The length or 0. */
static size_t
match_cn_address(const unsigned char *p)
{
	size_t i = 0, n, end = 0, w;
	int chars = 0;

	if (!is_cjk(p) || in_chars(not_street_start, p) || in_chars(region_chars, p))
		return 0;
	while (chars < 9) {
		w = starts_with(street_words, p + i);
		if (w != 0 && chars > 0 && is_digit(p[i + w])) {
			i += w;
			break;
		}
		if (!is_cjk(p + i) || in_chars(region_chars, p + i))
			return 0;
		i += 3;
		chars++;
	}
	if (chars >= 9)
		return 0;
	for (;;) {
		for (n = 0; is_digit(p[i + n]) || (n > 0 && p[i + n] == '-' && is_digit(p[i + n + 1]));
		     n++)
			;
		if (n == 0)
			break;
		w = starts_with(unit_words, p + i + n);
		if (w == 0) {
			if (end != 0 && n > 0)
				end = i + n; /* 502 after 3单元 */
			break;
		}
		i += n + w;
		end = i;
	}
	return end;
}

static const char *const en_street_types[] = {
    "Road", "Rd", "Street", "St", "Avenue", "Ave", "Lane", "Ln", "Drive", "Dr", "Boulevard",
    "Blvd", "Way", "Hutong", "Alley", "Court", "Ct", "Place", "Pl", "Square", "Sq", NULL};

/* An English street address at p (p[-1] is no letter or digit): a house number (1 to 5 digits,
 * an optional letter), then 1 to 4 capitalised words and a street type (5 Chaoyang Road,
 * 12B West Chang'an Ave.). The length or 0. */
static size_t
match_en_address(const unsigned char *p)
{
	size_t i = 0, w, k, words = 0;

	while (is_digit(p[i]) && i < 6)
		i++;
	if (i == 0 || i > 5)
		return 0;
	if (is_upper(p[i]) && p[i + 1] == ' ')
		i++;
	if (p[i] == ',')
		i++;
	while (words < 5 && p[i] == ' ' && is_upper(p[i + 1])) {
		i++;
		for (w = 0; is_alpha(p[i + w]) || p[i + w] == '\''; w++)
			;
		for (k = 0; en_street_types[k] != NULL; k++)
			if (strlen(en_street_types[k]) == w &&
			    strncmp(en_street_types[k], (const char *)p + i, w) == 0)
				break;
		if (en_street_types[k] != NULL && words > 0)
			return i + w + (p[i + w] == '.' && w <= 4 ? 1 : 0);
		i += w;
		words++;
	}
	return 0;
}

/* --- persons named with a title ---------------------------------------------------------- */

static const char common_surnames[] =
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶"
    "程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾"
    "毛郝龚邵万钱严覃武戴莫孔向汤";
static const char *const titles[] = {
    "总经理", "董事长", "经理", "主任", "局长", "处长", "科长", "书记", "队长", "所长",
    "主管",   "院长",   "校长", "厂长", "村长", "组长", "站长", "部长", "老师", "医生",
    "律师",   "警官",   "民警", "师傅", "社长", "会长", "主席", "专员", NULL};
/* Characters that do not belong to a name after a title (反映, 说, 的, …). */
static const char not_given[] =
    "的了是在说反称和与及等们先女同家投电住于向对也都就要已因为被把给让请今昨本所不没曾现将会"
    "还再又来去到从自之一这那此其该多告打叫拒表很经曾已";

/* Given-name characters after a surname at p: up to two CJK characters that are not in
 * not_given. Their byte length (0, 3 or 6). */
static size_t
given_after(const unsigned char *p)
{
	size_t n = 0;

	while (n < 6 && is_cjk(p + n) && !in_chars(not_given, p + n))
		n += 3;
	return n;
}

/* A title followed by a name (物业经理王建国): the length of the title in *title and of the
 * whole match; or 0. A surname alone (王经理) is no match. */
static size_t
match_titled(const unsigned char *p, size_t *title)
{
	size_t t = starts_with(titles, p), g;

	if (t == 0 || !is_cjk(p + t) || !in_chars(common_surnames, p + t))
		return 0;
	g = given_after(p + t + 3);
	if (g == 0)
		return 0;
	*title = t;
	return t + 3 + g;
}

/* A name followed by a title (张伟科长): the length of the name (surname and one or two given
 * characters) or 0. */
static size_t
match_name_titled(const unsigned char *p)
{
	size_t g;

	if (!is_cjk(p) || !in_chars(common_surnames, p))
		return 0;
	for (g = 6; g >= 3; g -= 3) {
		if (is_cjk(p + 3) && (g == 3 || is_cjk(p + 6)) && !in_chars(not_given, p + 3) &&
		    (g == 3 || !in_chars(not_given, p + 6)) && starts_with(titles, p + 3 + g) != 0)
			return 3 + g;
	}
	return 0;
}

/* --- the bureau's own contacts ---------------------------------------------------------- */

/* 1 if s[0..n) is one of the comma- or space-separated contacts of keep: compared by their
 * digits when s holds a number (010-88886666 is 01088886666), else as text ignoring case. */
static int
kept(const char *keep, const unsigned char *s, size_t n)
{
	const char *p = keep;
	size_t len, i, j;

	if (keep == NULL)
		return 0;
	for (; *p != '\0'; p += len) {
		p += strspn(p, ", ");
		len = strcspn(p, ", ");
		if (len == 0)
			break;
		if (memchr(s, '@', n) != NULL) {
			if (len == n && strncasecmp(p, (const char *)s, n) == 0)
				return 1;
			continue;
		}
		for (i = 0, j = 0;;) {
			while (i < n && !is_digit(s[i]))
				i++;
			while (j < len && !is_digit((unsigned char)p[j]))
				j++;
			if (i == n || j == len || s[i] != (unsigned char)p[j])
				break;
			i++;
			j++;
		}
		if (i == n && j == len)
			return 1;
	}
	return 0;
}

/* --- the masking loop -------------------------------------------------------------------- */

/* A submitter's two-character name (surname and one given character) may begin a longer name:
 * 张三 is not found in 张三丰. The name counts when the next character is no CJK character or
 * one that commonly follows a name (张三反映, 张三的). */
static const char after_name[] =
    "的了是在说反称和与及等们先女同家投电住于向对也都就要已因为被把给让请今昨本所不没曾现将会"
    "还再又来去到从自之一这那此其该多告打叫拒表很经等认觉希望想";

static int
whole_name(const struct name_forms *f, const unsigned char *next)
{
	const unsigned char *q = (const unsigned char *)f->full;

	if (q[0] < 0x80 || cp_count(f->full) != 2)
		return 1;
	return !is_cjk(next) || in_chars(after_name, next);
}

static const char *const kind_names[] = {
    "name", "phone number", "ID number", "e-mail address", "address", "bank card",
    "passport number", "QQ number", "licence plate", "person's name"};

const char *
redact_kind_name(unsigned bit)
{
	size_t i;

	for (i = 0; i < sizeof(kind_names) / sizeof(kind_names[0]); i++)
		if (bit == (1u << i))
			return kind_names[i];
	return "personal data";
}

void
redact_found_text(unsigned found, char *buf, size_t size)
{
	size_t i, n = 0;

	if (size == 0)
		return;
	buf[0] = '\0';
	for (i = 0; i < sizeof(kind_names) / sizeof(kind_names[0]); i++)
		if (found & (1u << i))
			n += (size_t)snprintf(buf + (n < size ? n : size - 1), n < size ? size - n : 1,
			                      "%s%s", n ? ", " : "", kind_names[i]);
}

/* Copies n bytes of the copy at i as they were written in the original. */
static void
put_orig(struct out *o, const char *text, const struct norm *nt, size_t i, size_t n)
{
	put(o, text + nt->orig[i], nt->orig[i + n] - nt->orig[i]);
}

char *
redact_text_opts(const char *text, const struct redact_opts *opts, unsigned *found)
{
	const unsigned char *p;
	struct name_forms names;
	struct norm nt;
	struct out o = {NULL, 0, 0, 0};
	size_t i = 0, n, local, pos[11], k, full_len = 0, given_len = 0, at;
	const char *keep = opts ? opts->keep : NULL;
	unsigned seen = 0;
	int have_name;

	if (text == NULL || norm_make(text, &nt) != 0)
		return NULL;
	p = (const unsigned char *)nt.s;
	have_name = name_forms(opts ? opts->name : NULL, &names);
	if (have_name) {
		full_len = strlen(names.full);
		given_len = strlen(names.given);
	}
	put(&o, "", 0);
	while (p[i] != '\0') {
		int boundary_local = i == 0 || !is_local(p[i - 1]);
		int boundary_digit = i == 0 || !is_digit(p[i - 1]);
		int boundary_word = i == 0 || (!is_digit(p[i - 1]) && !is_alpha(p[i - 1]));

		if (boundary_local && is_local(p[i])) {
			n = match_email(p + i, &local);
			if (n != 0 && kept(keep, p + i, n)) {
				put_orig(&o, text, &nt, i, n);
				i += n;
				continue;
			}
			if (n != 0) {
				put(&o, (const char *)p + i, cp_len(p + i));
				puts_(&o, "***");
				put(&o, (const char *)p + i + local, n - local);
				seen |= REDACT_EMAIL;
				i += n;
				continue;
			}
		}
		if (boundary_digit && is_digit(p[i])) {
			n = match_id(p + i);
			if (n != 0) {
				put(&o, (const char *)p + i, 6);
				puts_(&o, "********");
				put(&o, (const char *)p + i + 14, 4);
				seen |= REDACT_ID;
				i += n;
				continue;
			}
			n = match_card(p + i);
			if (n != 0) { /* the last 4 digits kept, separators too */
				for (k = 0; k < n; k++)
					put(&o, k >= n - 4 || !is_digit(p[i + k]) ? (const char *)p + i + k
					                                          : "*",
					    1);
				seen |= REDACT_CARD;
				i += n;
				continue;
			}
		}
		if (boundary_digit && (is_digit(p[i]) || p[i] == '+')) {
			n = match_landline(p + i, &local);
			if (n != 0 && kept(keep, p + i, n)) {
				put_orig(&o, text, &nt, i, n);
				i += n;
				continue;
			}
			if (n != 0) { /* area code and last 4 digits kept */
				put(&o, (const char *)p + i, local);
				for (k = local; k < n - 4; k++)
					put(&o, "*", 1);
				put(&o, (const char *)p + i + n - 4, 4);
				seen |= REDACT_PHONE;
				i += n;
				continue;
			}
			n = match_phone(p + i, pos);
			if (n != 0 && kept(keep, p + i, n)) {
				put_orig(&o, text, &nt, i, n);
				i += n;
				continue;
			}
			if (n != 0) {
				for (k = 0; k < n; k++) {
					int masked = 0;
					size_t d;

					for (d = 3; d < 7; d++)
						if (pos[d] == k)
							masked = 1;
					put(&o, masked ? "*" : (const char *)p + i + k, 1);
				}
				seen |= REDACT_PHONE;
				i += n;
				continue;
			}
		}
		if (boundary_word && is_digit(p[i])) {
			n = match_en_address(p + i);
			if (n != 0) {
				puts_(&o, "***");
				seen |= REDACT_ADDRESS;
				i += n;
				continue;
			}
		}
		if (boundary_word && is_alpha(p[i])) {
			n = match_passport(p + i);
			if (n != 0) {
				put(&o, (const char *)p + i, 1);
				puts_(&o, "********");
				seen |= REDACT_PASSPORT;
				i += n;
				continue;
			}
			n = match_qq(p + i, &at);
			if (n != 0) {
				put(&o, (const char *)p + i, at);
				for (k = at; k < n; k++)
					put(&o, "*", 1);
				seen |= REDACT_QQ;
				i += n;
				continue;
			}
		}
		if (p[i] >= 0x80) {
			n = match_plate(p + i, &at);
			if (n != 0) {
				put(&o, (const char *)p + i, at);
				puts_(&o, "*****");
				seen |= REDACT_PLATE;
				i += n;
				continue;
			}
		}
		if (have_name && strncmp((const char *)p + i, names.full, full_len) == 0 &&
		    whole_name(&names, p + i + full_len)) {
			puts_(&o, names.full_mask);
			seen |= REDACT_NAME;
			i += full_len;
			continue;
		}
		n = have_name ? name_part_at(&names, p, i) : 0;
		if (n != 0) {
			put(&o, (const char *)p + i, 1);
			puts_(&o, "***");
			seen |= REDACT_NAME;
			i += n;
			continue;
		}
		if (have_name && given_len != 0 &&
		    strncmp((const char *)p + i, names.given, given_len) == 0) {
			puts_(&o, names.given_mask);
			seen |= REDACT_NAME;
			i += given_len;
			continue;
		}
		if (p[i] >= 0x80) {
			n = match_titled(p + i, &at);
			if (n != 0) { /* the title and the surname kept: 物业经理王某某 */
				put(&o, (const char *)p + i, at + 3);
				for (k = at + 3; k < n; k += 3)
					puts_(&o, MOU);
				seen |= REDACT_PERSON;
				i += n;
				continue;
			}
			n = match_name_titled(p + i);
			if (n != 0) {
				put(&o, (const char *)p + i, 3);
				for (k = 3; k < n; k += 3)
					puts_(&o, MOU);
				seen |= REDACT_PERSON;
				i += n;
				continue;
			}
			n = match_cn_address(p + i);
			if (n != 0) {
				puts_(&o, "***");
				seen |= REDACT_ADDRESS;
				i += n;
				continue;
			}
		}
		n = cp_len(p + i);
		put_orig(&o, text, &nt, i, n);
		i += n;
	}
	norm_free(&nt);
	if (o.failed) {
		free(o.s);
		return NULL;
	}
	if (found != NULL)
		*found = seen;
	return o.s;
}

char *
redact_text(const char *text, const char *submitter_name)
{
	struct redact_opts opts = {submitter_name, NULL};

	return redact_text_opts(text, &opts, NULL);
}
