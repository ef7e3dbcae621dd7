/*
 * fuzz_router.c: libFuzzer target for the router over the API's route table: route_match and
 * route_allow on any method and path. A match fills exactly as many parameters as the pattern
 * has {} segments, none of them empty or holding a slash.
 * Build: make fuzz; run: build/fuzz/fuzz_router tests/fuzz/corpus-router/
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "service/http/http.h"
#include "service/api/api.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *nul = memchr(data, 0, size);
	const struct route *r = NULL;
	struct req req;
	char allow[64], *method, *path;
	size_t mlen = nul ? (size_t)(nul - (const char *)data) : 0, i, braces = 0;
	const char *p;

	method = strndup((const char *)data, mlen);
	path = nul ? strndup(nul + 1, size - mlen - 1) : strndup((const char *)data, size);
	if (method == NULL || path == NULL)
		goto out;
	memset(&req, 0, sizeof(req));
	if (route_match(api_routes, api_nroutes, method, path, &req, &r) == 1) {
		for (p = strstr(r->pattern, "{}"); p != NULL; p = strstr(p + 2, "{}"))
			braces++;
		if (req.nparams != braces)
			abort();
		for (i = 0; i < req.nparams; i++)
			if (req.params[i][0] == '\0' || strchr(req.params[i], '/') != NULL)
				abort();
	}
	for (i = 0; i < req.nparams; i++)
		free(req.params[i]);
	route_allow(api_routes, api_nroutes, path, allow, sizeof(allow));
	if (memchr(allow, '\0', sizeof(allow)) == NULL)
		abort();
out:
	free(method);
	free(path);
	return 0;
}
