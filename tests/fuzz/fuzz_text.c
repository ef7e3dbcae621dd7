/*
 * fuzz_text.c: libFuzzer target for the text validators: text_check (UTF-8, control characters),
 * text_scrub (after which only control characters can make text_check refuse it), phone_valid, email_valid, query_code_hash;
 * phone_tidy_kind, email_tidy and email_tidy_account (what they store is taken again unchanged,
 * a phone as the same kind), lang_tag_parse; the queue's search: core_search_parse (words that
 * are not empty, no longer in all than the text) and db_fold (never longer, stable when folded
 * again).
 * Build: make fuzz; run: build/fuzz/fuzz_text tests/fuzz/corpus-text/
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "service/core/core.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char hash[QUERY_HASH_LEN];
	char *s = malloc(size + 1);
	long n;

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	n = text_check(s, size, TEXT_MULTILINE);
	if (n > (long)size)
		abort();
	(void)text_check(s, size, 0);
	(void)text_nonblank(s);
	(void)phone_valid(s);
	(void)email_valid(s);
	{
		char phone[PHONE_TIDY_SIZE], again[PHONE_TIDY_SIZE], email[EMAIL_TIDY_SIZE],
		    email2[EMAIL_TIDY_SIZE];
		int l = lang_tag_parse(s);
		enum phone_kind k = phone_tidy_kind(s, phone);

		if (k != PHONE_NONE &&
		    (phone_tidy_kind(phone, again) != k || strcmp(phone, again) != 0 ||
		     strlen(phone) >= PHONE_TIDY_SIZE))
			abort();
		if ((k != PHONE_NONE) != phone_valid(s))
			abort();
		if (email_tidy(s, email) && (!email_tidy(email, email2) || strcmp(email, email2) != 0))
			abort();
		if (email_tidy_account(s, email) &&
		    (!email_tidy_account(email, email2) || strcmp(email, email2) != 0))
			abort();
		if (l != -1 && l != LANG_ZH_HANS && l != LANG_ZH_HANT && l != LANG_EN)
			abort();
	}
	{
		struct db_search search;
		struct core_error err;
		char *f1 = malloc(size + 1), *f2 = malloc(size + 1);
		size_t i, n1, n2, words = 0;

		if (core_search_parse(s, &search, &err) == 0) {
			for (i = 0; i < search.len; i += strlen(search.words + i) + 1, words++)
				if (search.words[i] == '\0')
					abort();
			if (words != search.n || search.len > size + search.n)
				abort();
		} else if (err.code != CORE_INVALID || strcmp(err.field, "q") != 0) {
			abort();
		}
		if (f1 != NULL && f2 != NULL) {
			n1 = db_fold(s, size, f1);
			n2 = db_fold(f1, n1, f2);
			if (n1 > size || n2 != n1 || memcmp(f1, f2, n1) != 0)
				abort();
		}
		free(f1);
		free(f2);
	}
	(void)query_code_hash(s, hash);
	text_scrub(s);
	/* scrubbed: no invalid sequence is left (control characters may remain) */
	if (text_check(s, strlen(s), TEXT_MULTILINE) < 0) {
		size_t i;
		int ctl = 0;

		for (i = 0; s[i] != '\0'; i++) /* C0, DEL, and C1 (U+0080..U+009F) */
			if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f ||
			    ((unsigned char)s[i] == 0xc2 && (unsigned char)s[i + 1] >= 0x80 &&
			     (unsigned char)s[i + 1] <= 0x9f))
				ctl = 1;
		if (!ctl)
			abort();
	}
	free(s);
	return 0;
}
