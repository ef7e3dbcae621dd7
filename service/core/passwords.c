/*
 * passwords.c: the staff password policy, argon2id hashing (libsodium), random tokens and
 * one-time passwords, shared by login, the accounts API and the command line.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core_int.h"

#define AUTH_NAME_MAX 64 /* bytes of an account name */
#define AUTH_OPS crypto_pwhash_OPSLIMIT_INTERACTIVE
#define AUTH_MEM crypto_pwhash_MEMLIMIT_INTERACTIVE

/* Verified in place of the hash of an account that does not exist, so that the time taken
 * does not tell whether it does (an argon2id string at the interactive cost). */
static const char dummy_hash[crypto_pwhash_STRBYTES] =
    "$argon2id$v=19$m=65536,t=2,p=1$HdEizlYoQXI6x3WhLTn03Q$"
    "BFF7ImgLqC1pCvy1ptNRN0gxSWpVYt4Q0kj6sF9zvlg";

#ifdef CIVICDESK_TEST_HOOKS
/* The same at libsodium's minimum cost (m=8 KiB, t=1), for CIVICDESK_TEST_FAST_HASH below. */
static const char dummy_hash_fast[crypto_pwhash_STRBYTES] =
    "$argon2id$v=19$m=8,t=1,p=1$Bxf4FWCcvBx/f+3UdbAbdg$"
    "WY0iIyJiS++AJ7fkjF5mroKTO2QM6Sm/6a6ap07wNQs";
#endif

/* The cost of a staff password's hash: libsodium's interactive limits (64 MiB, 2 passes). In test
 * builds (CIVICDESK_TEST_HOOKS) CIVICDESK_TEST_FAST_HASH=1 lowers it to libsodium's minimum, so
 * that the suites' logins and `user add`s do not each fill 64 MiB twice; the suites set it
 * (tests/integration/harness.py, tests/browser/run.mjs) and one test runs without it
 * (test_auth RealPasswordCost). Release builds never read it. Sets *dummy to the string that
 * an unknown account's password is verified against, of the same cost. */
static void
pw_cost(unsigned long long *ops, size_t *mem, const char **dummy)
{
#ifdef CIVICDESK_TEST_HOOKS
	const char *v = getenv("CIVICDESK_TEST_FAST_HASH");

	if (v != NULL && strcmp(v, "1") == 0) {
		*ops = crypto_pwhash_OPSLIMIT_MIN;
		*mem = crypto_pwhash_MEMLIMIT_MIN;
		*dummy = dummy_hash_fast;
		return;
	}
#endif
	*ops = AUTH_OPS;
	*mem = AUTH_MEM;
	*dummy = dummy_hash;
}

/* Routes a session whose password must change may still use. */

/* Characters of one-time passwords: no 0/O, 1/l/I. */
static const char otp_alphabet[] = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789";

/* --- passwords and tokens ---------------------------------------------------------------- */

const char *
auth_password_weak(const char *username, const char *pw)
{
	size_t chars = 0, i, len = strlen(pw);
	int lower = 0, upper = 0, digit = 0, symbol = 0;

	if (len > AUTH_PASSWORD_MAX)
		return PW_TOO_LONG;
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)pw[i];

		if ((ch & 0xC0) != 0x80)
			chars++;
		if (ch < 0x20 || ch == 0x7f)
			return PW_CONTROL;
		if (ch >= 'a' && ch <= 'z')
			lower = 1;
		else if (ch >= 'A' && ch <= 'Z')
			upper = 1;
		else if (ch >= '0' && ch <= '9')
			digit = 1;
		else
			symbol = 1;
	}
	if (chars < 8)
		return PW_SHORT;
	if (lower + upper + digit + symbol < 3)
		return PW_CLASSES;
	if (username != NULL && username[0] != '\0' && strcasestr(pw, username) != NULL)
		return PW_USERNAME;
	return NULL;
}

const char *
auth_password_rule(const char *why)
{
	static const struct {
		const char *text, *rule;
	} rules[] = {
	    {PW_TOO_LONG, "password_long"},      {PW_CONTROL, "password_control"},
	    {PW_SHORT, "password_short"},        {PW_CLASSES, "password_classes"},
	    {PW_USERNAME, "password_username"},  {PW_COMMON, "password_common"},
	    {PW_DISPLAY_NAME, "password_display_name"}, {PW_EMAIL, "password_email"},
	    {PW_PHONE, "password_phone"},
	};
	size_t i;

	for (i = 0; why != NULL && i < sizeof(rules) / sizeof(rules[0]); i++)
		if (strcmp(why, rules[i].text) == 0)
			return rules[i].rule;
	return NULL;
}

int
auth_hash_password(const char *pw, int generated, char out[AUTH_HASH_SIZE])
{
	unsigned long long ops = crypto_pwhash_OPSLIMIT_MIN;
	size_t mem = crypto_pwhash_MEMLIMIT_MIN;
	const char *dummy;

	if (!generated)
		pw_cost(&ops, &mem, &dummy);
	if (crypto_pwhash_str(out, pw, strlen(pw), ops, mem) != 0) {
		log_err("auth: password hashing failed (out of memory)");
		return -1;
	}
	return 0;
}

int
auth_verify_password(const char *hash, const char *pw)
{
	size_t len = strlen(pw), mem;
	unsigned long long ops;
	const char *dummy;
	int ok = 0, pad;

	pw_cost(&ops, &mem, &dummy);
	if (hash == NULL) {
		pad = crypto_pwhash_str_verify(dummy, pw, len);
		(void)pad;
		return 0;
	}
	ok = crypto_pwhash_str_verify(hash, pw, len) == 0;
	/* A one-time password's hash is cheap: do the work of a real one too. */
	if (crypto_pwhash_str_needs_rehash(hash, ops, mem) != 0) {
		pad = crypto_pwhash_str_verify(dummy, pw, len);
		(void)pad;
	}
	return ok;
}

void
auth_pwhash_enter(struct app *app)
{
	while (sem_wait(&app->pwhash_slots) != 0 && errno == EINTR)
		;
}

void
auth_pwhash_leave(struct app *app)
{
	sem_post(&app->pwhash_slots);
}

void
auth_random_token(char out[AUTH_TOKEN_SIZE])
{
	unsigned char raw[32];

	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(out, AUTH_TOKEN_SIZE, raw, sizeof(raw),
	                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof(raw));
}

void
auth_token_hash(const char *token, unsigned char out[DB_TOKEN_HASH])
{
	crypto_generichash(out, DB_TOKEN_HASH, (const unsigned char *)token, strlen(token), NULL,
	                   0);
}

void
auth_one_time_password(const char *username, char out[AUTH_OTP_SIZE])
{
	size_t i, n;

	do {
		/* Four groups of four: xxxx-xxxx-xxxx-xxxx, about 93 bits. */
		for (i = 0, n = 0; i < 19; i++) {
			if (i % 5 == 4)
				out[i] = '-';
			else
				out[i] =
				    otp_alphabet[randombytes_uniform(sizeof(otp_alphabet) - 1)];
			n++;
		}
		out[n] = '\0';
	} while (auth_password_weak(username, out) != NULL);
}

int
auth_username_valid(const char *name)
{
	size_t i, len = strlen(name);

	if (len < 2 || len > AUTH_NAME_MAX || !isalpha((unsigned char)name[0]))
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)name[i];

		if (!(isascii(ch) && isalnum(ch)) && ch != '.' && ch != '_' && ch != '-')
			return 0;
	}
	return 1;
}

