/* test_auth.c: unit tests of the password policy, argon2id hashing and token hashing (auth.c). */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "service/core/core.h"
#include "tests/check.h"

/* The start of an argon2id string at libsodium's interactive cost (a staff password's) and at
 * its minimum (one-time passwords'; the tests' CIVICDESK_TEST_FAST_HASH). */
#define REAL_COST "$argon2id$v=19$m=65536,t=2,p=1$"
#define FAST_COST "$argon2id$v=19$m=8,t=1,p=1$"

static void
policy_accepts(struct t *t)
{
	CHECK(t, auth_password_weak("alice", "Str0ngPass") == NULL);    /* lower upper digit */
	CHECK(t, auth_password_weak("alice", "str0ng-pass") == NULL);   /* lower digit symbol */
	CHECK(t, auth_password_weak("alice", "STRONG-PASS9") == NULL);  /* upper symbol digit */
	CHECK(t, auth_password_weak("alice", "Abcdefg!") == NULL);      /* exactly 8 */
	CHECK(t, auth_password_weak("alice", "密码Password1") == NULL); /* non-ASCII = symbol */
	CHECK(t, auth_password_weak(NULL, "Str0ngPass") == NULL);
}

static void
policy_refuses(struct t *t)
{
	const char *why;

	why = auth_password_weak("alice", "Ab1-xyz");
	CHECK(t, why != NULL && strstr(why, "8 characters") != NULL);
	why = auth_password_weak("alice", "passwordpassword");
	CHECK(t, why != NULL && strstr(why, "3 of") != NULL);
	why = auth_password_weak("alice", "Password");
	CHECK(t, why != NULL && strstr(why, "3 of") != NULL);
	why = auth_password_weak("alice", "12345678-");
	CHECK(t, why != NULL && strstr(why, "3 of") != NULL);
	/* Characters, not bytes: six characters are too short even in 16 bytes of UTF-8. */
	why = auth_password_weak("alice", "密码密码密1");
	CHECK(t, why != NULL && strstr(why, "8 characters") != NULL);
	why = auth_password_weak("alice", "xAlice-99");
	CHECK(t, why != NULL && strstr(why, "account name") != NULL);
	why = auth_password_weak("alice", "ALICE-pw-99");
	CHECK(t, why != NULL && strstr(why, "account name") != NULL);
	why = auth_password_weak("alice", "Good\tPass1");
	CHECK(t, why != NULL && strstr(why, "control") != NULL);
	{
		char big[AUTH_PASSWORD_MAX + 2];

		memset(big, 'a', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		big[0] = 'A';
		big[1] = '1';
		why = auth_password_weak("alice", big);
		CHECK(t, why != NULL && strstr(why, "at most") != NULL);
	}
}

static void
hash_and_verify(struct t *t)
{
	char hash[AUTH_HASH_SIZE], otp_hash[AUTH_HASH_SIZE], otp[AUTH_OTP_SIZE];

	CHECK_INT(t, auth_hash_password("Str0ngPass", 0, hash), 0);
	CHECK(t, strncmp(hash, REAL_COST, strlen(REAL_COST)) == 0);
	CHECK_INT(t, auth_verify_password(hash, "Str0ngPass"), 1);
	CHECK_INT(t, auth_verify_password(hash, "Str0ngPasS"), 0);
	CHECK_INT(t, auth_verify_password(hash, ""), 0);
	CHECK_INT(t, auth_verify_password(NULL, "Str0ngPass"), 0); /* unknown account */
	CHECK_INT(t, auth_verify_password("not a hash", "Str0ngPass"), 0);

	auth_one_time_password("handler1", otp);
	CHECK_INT(t, (long long)strlen(otp), 19);
	CHECK(t, auth_password_weak("handler1", otp) == NULL);
	CHECK_INT(t, auth_hash_password(otp, 1, otp_hash), 0);
	CHECK(t, strncmp(otp_hash, FAST_COST, strlen(FAST_COST)) == 0);
	CHECK_INT(t, auth_verify_password(otp_hash, otp), 1);
	CHECK_INT(t, auth_verify_password(otp_hash, "Str0ngPass"), 0);
}

/* The knob of test builds (CIVICDESK_TEST_FAST_HASH=1, which the integration and browser suites
 * set): a password hashed at libsodium's minimum cost, checked as any other; only "1" lowers it. */
static void
hash_cost_knob(struct t *t)
{
	char hash[AUTH_HASH_SIZE];

	setenv("CIVICDESK_TEST_FAST_HASH", "1", 1);
	CHECK_INT(t, auth_hash_password("Str0ngPass", 0, hash), 0);
	CHECK(t, strncmp(hash, FAST_COST, strlen(FAST_COST)) == 0);
	CHECK_INT(t, auth_verify_password(hash, "Str0ngPass"), 1);
	CHECK_INT(t, auth_verify_password(hash, "Str0ngPasS"), 0);
	CHECK_INT(t, auth_verify_password(NULL, "Str0ngPass"), 0); /* unknown account */
	setenv("CIVICDESK_TEST_FAST_HASH", "0", 1);
	CHECK_INT(t, auth_hash_password("Str0ngPass", 0, hash), 0);
	CHECK(t, strncmp(hash, REAL_COST, strlen(REAL_COST)) == 0);
	unsetenv("CIVICDESK_TEST_FAST_HASH");
}

static void
tokens(struct t *t)
{
	char a[AUTH_TOKEN_SIZE], b[AUTH_TOKEN_SIZE];
	unsigned char ha[DB_TOKEN_HASH], ha2[DB_TOKEN_HASH], hb[DB_TOKEN_HASH];
	unsigned char want[DB_TOKEN_HASH];
	size_t i;

	auth_random_token(a);
	auth_random_token(b);
	CHECK_INT(t, (long long)strlen(a), AUTH_TOKEN_SIZE - 1);
	CHECK(t, strcmp(a, b) != 0);
	for (i = 0; a[i] != '\0'; i++)
		CHECK(t, strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
		                a[i]) != NULL);
	auth_token_hash(a, ha);
	auth_token_hash(a, ha2);
	auth_token_hash(b, hb);
	CHECK(t, memcmp(ha, ha2, DB_TOKEN_HASH) == 0);
	CHECK(t, memcmp(ha, hb, DB_TOKEN_HASH) != 0);
	/* The stored hash is BLAKE2b-256 of the token text, nothing else. */
	crypto_generichash(want, sizeof(want), (const unsigned char *)a, strlen(a), NULL, 0);
	CHECK(t, memcmp(ha, want, DB_TOKEN_HASH) == 0);
}

static void
usernames(struct t *t)
{
	CHECK_INT(t, auth_username_valid("handler1"), 1);
	CHECK_INT(t, auth_username_valid("li.ming_2-x"), 1);
	CHECK_INT(t, auth_username_valid("wu"), 1); /* a surname is a name people use */
	CHECK_INT(t, auth_username_valid("w"), 0);
	CHECK_INT(t, auth_username_valid("1abc"), 0);
	CHECK_INT(t, auth_username_valid("a b c"), 0);
	CHECK_INT(t, auth_username_valid("李明明"), 0);
	CHECK_INT(t, auth_username_valid("x' OR 1=1"), 0);
}

int
main(void)
{
	struct t t = {0, 0, 0};

	if (sodium_init() < 0)
		return 1;
	unsetenv("CIVICDESK_TEST_FAST_HASH"); /* the real cost, whatever the caller's */
	RUN(&t, policy_accepts);
	RUN(&t, policy_refuses);
	RUN(&t, hash_and_verify);
	RUN(&t, hash_cost_knob);
	RUN(&t, tokens);
	RUN(&t, usernames);
	return t_done(&t);
}
