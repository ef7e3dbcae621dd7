/* audit.c: writing the append-only audit log (logins, logouts, account changes, workflow), and
 * archiving its old records. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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


void
core_audit_archive_dir(const struct config *cfg, char *buf, size_t size)
{
	const char *slash;

	if (cfg->audit_archive_dir[0] != '\0') {
		snprintf(buf, size, "%s", cfg->audit_archive_dir);
		return;
	}
	slash = strrchr(cfg->db, '/');
	if (slash == NULL)
		snprintf(buf, size, "audit-archive");
	else
		snprintf(buf, size, "%.*s/audit-archive", (int)(slash - cfg->db), cfg->db);
}

int
core_audit_archive(struct app *app, int64_t now, struct db_archive_info *info, char *err,
                   size_t errsize)
{
	struct actor system = {0, "system", NULL};
	struct db_conn *c;
	char dir[4096], detail[4200];
	int rc = -1;

	core_audit_archive_dir(&app->cfg, dir, sizeof(dir));
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		snprintf(err, errsize, "%s: %s", dir, strerror(errno));
		return -1;
	}
	c = db_acquire(app->db);
	if (c == NULL) {
		snprintf(err, errsize, "no database connection");
		return -1;
	}
	if (db_audit_archive(c, dir, now - app->cfg.audit_archive_days * 86400L, now, info, err,
	                     errsize) != 0)
		goto out;
	if (info->records > 0) { /* in the transaction that deleted them: never a log without it */
		snprintf(detail, sizeof(detail), "records %lld to %lld archived to %s",
		         (long long)info->first_id, (long long)info->last_id, info->file);
		if (audit_write(c, now, &system, "audit_archive", info->file, 1, detail) != 0) {
			db_rollback(c);
			snprintf(err, errsize, "the archive is written but cannot be audited");
			goto out;
		}
		if (db_commit(c) != 0) {
			db_rollback(c);
			snprintf(err, errsize, "the archive cannot be recorded: %s", db_errmsg(c));
			goto out;
		}
	}
	rc = 0;
out:
	db_release(app->db, c);
	return rc;
}
