/* auth.c: staff sessions and permission checks. (Placeholder until accounts land.) */
#include <stdlib.h>

#include "service.h"

int
auth_check(struct req *req, struct resp *resp, unsigned roles)
{
	(void)req;
	(void)roles;
	resp_error(resp, 401, "unauthenticated", "log in first");
	return -1;
}

void
session_free(struct session *s)
{
	if (s == NULL)
		return;
	free(s->username);
	free(s->csrf_token);
	free(s);
}

int
auth_seed_demo(struct app *app, struct db_conn *c, int64_t now)
{
	(void)app;
	(void)c;
	(void)now;
	return 0;
}
