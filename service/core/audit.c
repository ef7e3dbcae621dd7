/* audit.c: writing the append-only audit log (logins, logouts, account changes, workflow). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "core_int.h"

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

