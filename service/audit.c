/* audit.c: writing the append-only audit log (logins, logouts, account changes, workflow). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "service.h"

int
audit_write(struct db_conn *c, int64_t now, const struct actor *who, const char *action,
            const char *target, int ok, const char *detail)
{
	struct db_audit a = {
	    .at = now,
	    .actor_id = who->id,
	    .actor = (char *)who->name,
	    .addr = (char *)who->addr,
	    .action = (char *)action,
	    .target = (char *)target,
	    .detail = (char *)detail,
	    .ok = ok,
	};

	if (db_audit_add(c, &a, NULL) != 0) {
		log_err("audit: cannot record %s by %s: %s", action, who->name, db_errmsg(c));
		return -1;
	}
	return 0;
}

int
audit_log(struct req *req, const char *action, const char *target, const char *fmt, ...)
{
	struct actor who = {0, "anonymous", req->addr};
	char *detail = NULL;
	va_list ap;
	int rc;

	if (req->session != NULL) {
		who.id = req->session->account_id;
		who.name = req->session->username;
	}
	if (fmt != NULL) {
		va_start(ap, fmt);
		if (vasprintf(&detail, fmt, ap) < 0)
			detail = NULL;
		va_end(ap);
		if (detail == NULL)
			return -1;
	}
	rc = audit_write(req->db, req->now, &who, action, target, 1, detail);
	free(detail);
	return rc;
}
