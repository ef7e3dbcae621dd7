/*
 * pwcheck.c: the password rules beyond length and character classes, checked at every change
 * of a chosen password: not a common password (the shipped blocklist, also with its letters
 * swapped for look-alike digits and symbols and with digits and symbols around it), and not
 * containing the account's own name, display name, e-mail local part or phone number.
 *
 * The blocklist is service/core/data/password-blocklist.txt, built into the binary: the
 * entries of John the Ripper's password.lst (Debian package john-data 1.9.0, compiled by
 * Solar Designer of the Openwall Project, in the public domain) of at least 4 characters,
 * lower-cased, and a few dozen common Chinese-context passwords (pinyin, keyboard walks).
 */
#include <ctype.h>
#include <string.h>

#include "core_int.h"

#define PW_WORD_MIN 4   /* blocklist entries and cores shorter than this are not compared */
#define PW_NAME_MIN 3   /* bytes of a name part that counts */
#define PW_PHONE_RUN 6  /* digits of the phone number in a row that count */
#define PW_BUF (AUTH_PASSWORD_MAX + 1)

/* Look-alike characters read as the letter they stand for (1 is tried as i and as l). */
static const struct {
	char from, to;
} leet[] = {
    {'0', 'o'}, {'3', 'e'}, {'4', 'a'}, {'5', 's'}, {'7', 't'},
    {'@', 'a'}, {'$', 's'}, {'!', 'i'}, {'|', 'l'}, {'+', 't'},
};

static void
ascii_lower(const char *in, char out[PW_BUF])
{
	size_t i;

	for (i = 0; in[i] != '\0' && i < PW_BUF - 1; i++)
		out[i] = (char)tolower((unsigned char)in[i]);
	out[i] = '\0';
}

/* ASCII digits and punctuation around the letters (a non-ASCII byte stays: it is not noise). */
static int
is_noise(unsigned char ch)
{
	return ch < 0x80 && !isalpha(ch);
}

static void
strip_noise(char *s)
{
	size_t len = strlen(s), start = 0;

	while (len > 0 && is_noise((unsigned char)s[len - 1]))
		s[--len] = '\0';
	while (start < len && is_noise((unsigned char)s[start]))
		start++;
	memmove(s, s + start, len - start + 1);
}

static void
unleet(char *s, char one)
{
	size_t i, k;

	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] == '1') {
			s[i] = one;
			continue;
		}
		for (k = 0; k < sizeof(leet) / sizeof(leet[0]); k++)
			if (s[i] == leet[k].from) {
				s[i] = leet[k].to;
				break;
			}
	}
}

/* 1 if word is a line of the shipped blocklist. */
static int
blocklisted(const char *word)
{
	const struct core_blob *b = &core_password_blocklist[0];
	size_t wlen = strlen(word);
	const char *p, *end, *nl;

	if (wlen < PW_WORD_MIN || b->data == NULL)
		return 0;
	for (p = b->data, end = b->data + b->len; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		if ((size_t)(nl - p) == wlen && memcmp(p, word, wlen) == 0)
			return 1;
	}
	return 0;
}

#define PW_VARIANTS 6

/* The forms of pw compared with the blocklist and the personal data: lower-cased; its core
 * without digits and symbols around it, and without those after it only; and look-alikes read
 * as letters (1 as i, 1 as l), of the core and of the whole. */
static void
variants(const char *pw, char v[PW_VARIANTS][PW_BUF])
{
	size_t len;

	ascii_lower(pw, v[0]);
	memcpy(v[1], v[0], PW_BUF);
	strip_noise(v[1]);
	memcpy(v[2], v[1], PW_BUF);
	unleet(v[2], 'i');
	memcpy(v[3], v[1], PW_BUF);
	unleet(v[3], 'l');
	memcpy(v[4], v[0], PW_BUF);
	unleet(v[4], 'i');
	strip_noise(v[4]);
	memcpy(v[5], v[0], PW_BUF);
	len = strlen(v[5]);
	while (len > 0 && is_noise((unsigned char)v[5][len - 1]))
		v[5][--len] = '\0';
}

/* 1 if one of the variants contains part (lower-cased ASCII) of at least min bytes. */
static int
contains_part(char v[PW_VARIANTS][PW_BUF], const char *part, size_t len, size_t min)
{
	char needle[PW_BUF];
	size_t i;

	if (len < min || len >= PW_BUF)
		return 0;
	for (i = 0; i < len; i++)
		needle[i] = (char)tolower((unsigned char)part[i]);
	needle[len] = '\0';
	for (i = 0; i < PW_VARIANTS; i++)
		if (strstr(v[i], needle) != NULL)
			return 1;
	return 0;
}

/* 1 if the variants contain s whole or one of its parts split at the characters of seps. */
static int
contains_name(char v[PW_VARIANTS][PW_BUF], const char *s, const char *seps)
{
	size_t len;

	if (s == NULL || s[0] == '\0')
		return 0;
	if (contains_part(v, s, strlen(s), PW_NAME_MIN))
		return 1;
	while (*s != '\0') {
		s += strspn(s, seps);
		len = strcspn(s, seps);
		if (contains_part(v, s, len, PW_NAME_MIN + 1))
			return 1;
		s += len;
	}
	return 0;
}

/* 1 if pw holds PW_PHONE_RUN digits in a row of the phone number. */
static int
contains_phone(const char *pw, const char *phone)
{
	char digits[32];
	size_t n = 0, i;

	if (phone == NULL)
		return 0;
	for (; *phone != '\0' && n < sizeof(digits) - 1; phone++)
		if (isdigit((unsigned char)*phone))
			digits[n++] = *phone;
	digits[n] = '\0';
	for (i = 0; i + PW_PHONE_RUN <= n; i++)
		if (memmem(pw, strlen(pw), digits + i, PW_PHONE_RUN) != NULL)
			return 1;
	return 0;
}

const char *
auth_password_refused(const struct auth_person *who, const char *pw)
{
	char v[PW_VARIANTS][PW_BUF];
	const char *why, *at;
	size_t i;

	why = auth_password_weak(who->username, pw);
	if (why != NULL)
		return why;
	variants(pw, v);
	for (i = 0; i < PW_VARIANTS; i++)
		if (blocklisted(v[i]))
			return PW_COMMON;
	if (contains_name(v, who->username, "._-"))
		return PW_USERNAME;
	if (contains_name(v, who->display_name, " .·-_"))
		return PW_DISPLAY_NAME;
	if (who->email != NULL && (at = strchr(who->email, '@')) != NULL) {
		char local[PW_BUF];
		size_t len = (size_t)(at - who->email);

		if (len < sizeof(local)) {
			memcpy(local, who->email, len);
			local[len] = '\0';
			if (contains_name(v, local, "._-+"))
				return PW_EMAIL;
		}
	}
	if (contains_phone(pw, who->phone))
		return PW_PHONE;
	return NULL;
}
