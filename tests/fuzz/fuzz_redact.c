/*
 * fuzz_redact.c: libFuzzer target for the masking of the public version (redact_text). The
 * input is the submitter's name, a NUL byte, then the text. Valid UTF-8 in must give valid
 * UTF-8 out.
 * Build: make fuzz; run: build/fuzz/fuzz_redact tests/fuzz/corpus-redact/
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "service/core/core.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *nul = memchr(data, 0, size);
	char *name, *text, *out;
	size_t nlen = nul ? (size_t)(nul - (const char *)data) : 0;
	size_t tlen = nul ? size - nlen - 1 : size;

	name = strndup((const char *)data, nlen);
	text = malloc(tlen + 1);
	if (name == NULL || text == NULL)
		goto out;
	memcpy(text, nul ? nul + 1 : (const char *)data, tlen);
	text[tlen] = '\0';
	out = redact_text(text, name);
	if (out == NULL)
		goto out;
	if (text_check(text, strlen(text), TEXT_MULTILINE) >= 0 &&
	    text_check(out, strlen(out), TEXT_MULTILINE) < 0)
		abort();
	free(out);
out:
	free(name);
	free(text);
	return 0;
}
