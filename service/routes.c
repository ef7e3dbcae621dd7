/* routes.c: the table of every HTTP route: method, path pattern, handler, roles, flags. */
#include <string.h>
#include <stdlib.h>

#include "service.h"

#define STAFF ROLES_STAFF

static const struct route routes[] = {
	{ "GET", "/api/v1/health", h_health, 0, 0 },
	{ "POST", "/api/v1/login", h_login, 0, 0 },
	{ "POST", "/api/v1/logout", h_logout, STAFF, 0 },
	{ "GET", "/api/v1/me", h_me, STAFF, 0 },
	{ "POST", "/api/v1/password", h_password, STAFF, 0 },
	{ "GET", "/api/v1/admin/users", h_admin_users_list, ROLE_BIT(ROLE_ADMIN), 0 },
	{ "POST", "/api/v1/admin/users", h_admin_users_add, ROLE_BIT(ROLE_ADMIN), 0 },
	{ "PATCH", "/api/v1/admin/users/{}", h_admin_users_patch, ROLE_BIT(ROLE_ADMIN), 0 },
	{ "GET", "/api/v1/admin/sections", h_admin_sections_list, ROLE_BIT(ROLE_ADMIN), 0 },
	{ "POST", "/api/v1/admin/sections", h_admin_sections_add, ROLE_BIT(ROLE_ADMIN), 0 },
	{ "PATCH", "/api/v1/admin/sections/{}", h_admin_sections_patch, ROLE_BIT(ROLE_ADMIN), 0 },
	{ "GET", "/api/v1/admin/policies", h_admin_policies_list, ROLE_BIT(ROLE_ADMIN), 0 },
	{ "PATCH", "/api/v1/admin/policies/{}", h_admin_policies_patch, ROLE_BIT(ROLE_ADMIN), 0 },
	{ "GET", "/api/v1/audit", h_audit, ROLE_BIT(ROLE_ADMIN), 0 },
	{ "POST", "/api/v1/items", h_items_post, 0, ROUTE_FORM },
	{ "GET", "/api/v1/items/{}", h_item_get, STAFF, 0 },
	{ "GET", "/api/v1/items/{}/attachments/{}", h_item_attachment, STAFF, 0 },
	{ "GET", "/api/v1/track/{}", h_track, 0, 0 },
	{ "GET", "/open311/v2/services.json", h_open311_services, 0, 0 },
	{ "GET", "/open311/v2/services/{}", h_open311_service, 0, 0 },
	{ "POST", "/open311/v2/requests.json", h_open311_requests_post, 0, ROUTE_FORM },
	{ "GET", "/open311/v2/requests.json", h_open311_requests_get, 0, 0 },
	{ "GET", "/open311/v2/requests/{}", h_open311_request_get, 0, 0 },
	{ "POST", "/api/v1/items/{}/actions/{}", h_item_action, STAFF, 0 },
	{ "PATCH", "/api/v1/items/{}/public", h_item_public_patch,
	  ROLE_BIT(ROLE_SECTION_HEAD) | ROLE_BIT(ROLE_ADMIN), 0 },
	{ "GET", "/api/v1/queue", h_queue, STAFF, 0 },
	{ "GET", "/api/v1/public/items", h_public_list, 0, 0 },
	{ "GET", "/api/v1/public/items/{}", h_public_get, 0, 0 },
#ifdef CIVICDESK_TEST_HOOKS
	{ "POST", "/api/v1/test/clock", h_test_clock, 0, 0 },
#endif
};

#define NROUTES (sizeof(routes) / sizeof(routes[0]))

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
route_allow(const char *path, char *buf, size_t size)
{
	size_t i, j, len = 0;
	int n;

	if (size == 0)
		return;
	buf[0] = '\0';
	for (i = 0; i < NROUTES; i++) {
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
route_match(const char *method, const char *path, struct req *req, const struct route **out)
{
	size_t i;
	int other = 0;

	for (i = 0; i < NROUTES; i++) {
		if (strcmp(routes[i].method, method) != 0) {
			if (!other && match(routes[i].pattern, path, NULL))
				other = 1;
			continue;
		}
		if (match(routes[i].pattern, path, req)) {
			*out = &routes[i];
			return 1;
		}
	}
	return other ? 2 : 0;
}
