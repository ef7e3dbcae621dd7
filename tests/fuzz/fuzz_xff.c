/*
 * fuzz_xff.c: libFuzzer target for the X-Forwarded-For walk behind trusted proxies
 * (netaddr_forwarded) and the address-list checks. The input is the proxy list, a NUL byte,
 * then the header. The address written is always NUL-terminated inside its buffer and either
 * the peer's or one of the header's entries.
 * Build: make fuzz; run: build/fuzz/fuzz_xff tests/fuzz/corpus-xff/
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
	char buf[64], err[128];
	char *proxies, *xff;
	size_t plen = nul ? (size_t)(nul - (const char *)data) : 0;

	proxies = strndup((const char *)data, plen);
	xff = nul ? strndup(nul + 1, size - plen - 1) : strndup((const char *)data, size);
	if (proxies == NULL || xff == NULL)
		goto out;
	(void)netaddr_list_check(proxies, err, sizeof(err));
	strcpy(buf, "127.0.0.1");
	netaddr_forwarded(proxies, xff, buf, sizeof(buf));
	if (memchr(buf, '\0', sizeof(buf)) == NULL)
		abort();
	if (strcmp(buf, "127.0.0.1") != 0 && strstr(xff, buf) == NULL)
		abort();
out:
	free(proxies);
	free(xff);
	return 0;
}
