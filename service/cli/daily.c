/*
 * daily.c: what civicdesk serve does once a local day (at start, then after each midnight): a
 * log line with the audit chain's head (to be anchored outside), and, with backup_dir set, a
 * backup civicdesk-YYYY-MM-DD.db there (the folder made when missing), keeping the newest
 * backup_keep of them.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <sodium.h>

#include "service/core/core.h"
#include "cli.h"

#define DAILY_PREFIX "civicdesk-"
#define DAILY_NAME_LEN 23 /* civicdesk-YYYY-MM-DD.db */
#define DAILY_KEEP_MAX 3650

static int
daily_name(const char *name)
{
	size_t i;

	if (strlen(name) != DAILY_NAME_LEN || strncmp(name, DAILY_PREFIX, 10) != 0 ||
	    strcmp(name + 20, ".db") != 0)
		return 0;
	for (i = 10; i < 20; i++)
		if (!(i == 14 || i == 17 ? name[i] == '-' : name[i] >= '0' && name[i] <= '9'))
			return 0;
	return 1;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Deletes the oldest daily backups in dir beyond keep (the names sort by date). */
static void
prune(const char *dir, long keep)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char *names[DAILY_KEEP_MAX + 64], path[4096];
	size_t n = 0, i;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL && n < sizeof(names) / sizeof(names[0]))
		if (daily_name(e->d_name) && (names[n] = strdup(e->d_name)) != NULL)
			n++;
	closedir(d);
	qsort(names, n, sizeof(names[0]), cmp_names);
	for (i = 0; i < n; i++) {
		if ((long)(n - i) > keep) {
			snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
			if (unlink(path) == 0)
				log_info("daily backup %s deleted (backup_keep %ld)", path, keep);
		}
		free(names[i]);
	}
}

void
daily_audit_head(struct app *app)
{
	struct db_conn *c = db_acquire(app->db);
	unsigned char hash[DB_AUDIT_HASH];
	char hex[DB_AUDIT_HASH * 2 + 1];
	int64_t id = 0;

	if (c != NULL && db_audit_head(c, &id, hash) == 0) {
		sodium_bin2hex(hex, sizeof(hex), hash, sizeof(hash));
		log_info("audit chain head: record %lld hash %s", (long long)id, hex);
	}
	db_release(app->db, c);
}

void
daily_backup(struct app *app)
{
	char day[11], path[4096], err[1024];
	struct db_file_info info;
	int y, m, d;

	if (app->cfg.backup_dir[0] == '\0')
		return;
	/* the folder itself, as a configuration names it (its parent must exist) */
	if (mkdir(app->cfg.backup_dir, 0750) == 0)
		log_info("daily backup: created the folder %s", app->cfg.backup_dir);
	sla_split(sla_local_day(app_now(app)), &y, &m, &d);
	snprintf(day, sizeof(day), "%04d-%02d-%02d", y, m, d);
	snprintf(path, sizeof(path), "%s/" DAILY_PREFIX "%s.db", app->cfg.backup_dir, day);
	if (access(path, F_OK) != 0) {
		memset(&info, 0, sizeof(info));
		if (db_backup(app->cfg.db, path, &info, err, sizeof(err)) != DB_FILE_OK)
			log_err("daily backup: %s", err);
		else
			log_info("daily backup %s: %lld items, %lld audit records, %lld bytes", path,
			         (long long)info.items, (long long)info.audit, (long long)info.bytes);
	}
	prune(app->cfg.backup_dir, app->cfg.backup_keep);
}

void
daily_audit_archive(struct app *app)
{
	struct db_archive_info info;
	char err[1024];

	if (core_audit_archive(app, app_now(app), &info, err, sizeof(err)) != 0)
		log_err("audit archive: %s", err);
	else if (info.records > 0)
		log_info("audit archive: records %lld to %lld moved to %s", (long long)info.first_id,
		         (long long)info.last_id, info.file);
}
