/* router.c: matches a request's method and path against a route table ({} = one segment). */
#include <stdlib.h>
#include <string.h>

#include "http_int.h"

/* Matches path against pattern; on success stores copies of the {} segments in req. */
static int
match(const char *pattern, const char *path, struct req *req)
{
	char *params[REQ_MAX_PARAMS];
	size_t n = 0, i;

	while (*pattern != '\0' && *path != '\0') {
		if (pattern[0] == '{' && pattern[1] == '}') {
			size_t len = strcspn(path, "/");

			if (len == 0 || n == REQ_MAX_PARAMS)
				goto fail;
			params[n] = strndup(path, len);
			if (params[n] == NULL)
				goto fail;
			n++;
			pattern += 2;
			path += len;
			continue;
		}
		if (*pattern != *path)
			goto fail;
		pattern++;
		path++;
	}
	if (*pattern != '\0' || *path != '\0')
		goto fail;
	if (req != NULL) {
		for (i = 0; i < n; i++)
			req->params[i] = params[i];
		req->nparams = n;
	} else {
		for (i = 0; i < n; i++)
			free(params[i]);
	}
	return 1;
fail:
	for (i = 0; i < n; i++)
		free(params[i]);
	return 0;
}

void
route_allow(const struct route *routes, size_t nroutes, const char *path, char *buf, size_t size)
{
	size_t i, j, len = 0;
	int n;

	if (size == 0)
		return;
	buf[0] = '\0';
	for (i = 0; i < nroutes; i++) {
		if (routes[i].flags & ROUTE_ERRORS)
			continue;
		for (j = 0; j < i; j++)
			if (strcmp(routes[j].method, routes[i].method) == 0 &&
			    match(routes[j].pattern, path, NULL))
				break;
		if (j < i || !match(routes[i].pattern, path, NULL))
			continue;
		n = snprintf(buf + len, size - len, "%s%s%s", len ? ", " : "", routes[i].method,
		             strcmp(routes[i].method, "GET") == 0 ? ", HEAD" : "");
		if (n < 0 || (size_t)n >= size - len)
			return;
		len += (size_t)n;
	}
}

int
route_match(const struct route *routes, size_t nroutes, const char *method, const char *path,
            struct req *req, const struct route **out)
{
	size_t i;

	for (i = 0; i < nroutes; i++) {
		/* the first letter first: most routes are of another method (a call of strcmp
		 * each, some 20 of them before a submission's route) */
		if ((routes[i].flags & ROUTE_ERRORS) || routes[i].method[0] != method[0] ||
		    strcmp(routes[i].method, method) != 0)
			continue;
		if (match(routes[i].pattern, path, req)) {
			req->pattern = routes[i].pattern;
			*out = &routes[i];
			return 1;
		}
	}
	/* not found: is it there under another method (405)? */
	for (i = 0; i < nroutes; i++)
		if (!(routes[i].flags & ROUTE_ERRORS) && match(routes[i].pattern, path, NULL))
			return 2;
	return 0;
}
