/*
 * query_code.c: the citizen's query code, shown once at submission and stored only as a hash.
 *
 * The code is QUERY_CODE_LEN characters drawn uniformly from 32 unambiguous symbols (60 bits of
 * entropy): a new item's from the application's ChaCha20 stream (app_query_code: no system
 * call per submission), elsewhere from libsodium's randombytes. For a high-entropy random
 * secret a fast hash is enough: BLAKE2b (crypto_generichash) cannot be inverted and 2^60
 * guesses are out of reach, the more so as failed look-ups are rate-limited. A slow password hash (argon2id) would add nothing
 * here and would cost tens of milliseconds per submission, killing intake throughput.
 */
#include <ctype.h>
#include <string.h>

#include <sodium.h>

#include "core_int.h"

static const char alphabet[] = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"; /* no 0/O, 1/I */

/* 32 symbols divide 256: the low five bits of a random byte pick one uniformly. One call to
 * libsodium for the whole code (randombytes_uniform per character made a system call each). */
_Static_assert(sizeof(alphabet) - 1 == 32, "the alphabet must have 32 symbols");

/* The code of 12 random bytes r. */
static void
code_of(const unsigned char r[QUERY_CODE_LEN], char code[QUERY_CODE_LEN + 1])
{
	size_t i;

	for (i = 0; i < QUERY_CODE_LEN; i++)
		code[i] = alphabet[r[i] & 31];
	code[QUERY_CODE_LEN] = '\0';
}

void
query_code_new(char code[QUERY_CODE_LEN + 1])
{
	unsigned char r[QUERY_CODE_LEN];

	randombytes_buf(r, sizeof(r));
	code_of(r, code);
	sodium_memzero(r, sizeof(r));
}

/* A stream cipher's keystream under a secret random key is a random generator (the kernel's
 * own is ChaCha20): each code is the keystream of its own nonce, a counter never used twice
 * under the key, so codes are independent and unpredictable without the key. */
_Static_assert(QUERY_CODE_KEY == crypto_stream_chacha20_ietf_KEYBYTES, "a ChaCha20 key");
_Static_assert(crypto_stream_chacha20_ietf_NONCEBYTES >= sizeof(unsigned long long),
               "the counter fits the nonce");

void
app_query_code(struct app *app, char code[QUERY_CODE_LEN + 1])
{
	unsigned char nonce[crypto_stream_chacha20_ietf_NONCEBYTES] = {0};
	unsigned char r[QUERY_CODE_LEN];
	unsigned long long n = app->code_next++;
	size_t i;

	for (i = 0; i < sizeof(n); i++)
		nonce[i] = (unsigned char)(n >> (8 * i));
	crypto_stream_chacha20_ietf(r, sizeof(r), nonce, app->code_key);
	code_of(r, code);
	sodium_memzero(r, sizeof(r));
}

int
query_code_hash(const char *code, unsigned char hash[QUERY_HASH_LEN])
{
	char norm[QUERY_CODE_LEN * 2 + 1];
	size_t n = 0;

	for (; *code != '\0'; code++) {
		if (*code == ' ' || *code == '-')
			continue;
		if (n == sizeof(norm) - 1)
			return -1;
		norm[n++] = (char)toupper((unsigned char)*code);
	}
	norm[n] = '\0';
	crypto_generichash(hash, QUERY_HASH_LEN, (const unsigned char *)norm, n, NULL, 0);
	return 0;
}

int
query_code_verify(const char *code, const unsigned char hash[QUERY_HASH_LEN])
{
	unsigned char h[QUERY_HASH_LEN];

	if (code == NULL || query_code_hash(code, h) != 0)
		return 0;
	return sodium_memcmp(h, hash, QUERY_HASH_LEN) == 0;
}
