/* db_backup.c: backup and restore of the one database file that is the whole state (items,
 * attachments, accounts, audit), the lock that tells a running service, and checking files. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "db_int.h"

#define AUDIT_CHAIN_SCHEMA 9 /* the migration that added the audit chain */

enum stmt {
	STMT_TABLES,
	STMT_VERSION,
	STMT_COUNTS,
	STMT_INTEGRITY,
	STMT_VACUUM_INTO,
	STMT__MAX
};

static const char *const stmts[STMT__MAX] = {
    /* The tables every civicdesk database has had since schema 1. */
    [STMT_TABLES] = "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN "
                    "('items', 'clocks', 'history', 'attachments', 'accounts', 'audit')",
    [STMT_VERSION] = "PRAGMA user_version",
    [STMT_COUNTS] = "SELECT (SELECT count(*) FROM items), (SELECT count(*) FROM audit)",
    [STMT_INTEGRITY] = "PRAGMA integrity_check(1)",
    [STMT_VACUUM_INTO] = "VACUUM INTO ?",
};

#define CIVICDESK_TABLES 6

static enum db_file_status
fail(enum db_file_status st, char *err, size_t errsize, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static enum db_file_status
fail(enum db_file_status st, char *err, size_t errsize, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errsize, fmt, ap);
	va_end(ap);
	return st;
}

/* One integer from a one-row statement: 0 or -1 (the library's message in err). */
static int
one_int(struct db_conn *c, enum stmt which, int col, int64_t *out, char *err, size_t errsize)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;

	/* prepared here, not by db_prep: a file that is no database fails right here, and the
	 * caller's one message says so, without db_prep's log line beside it */
	if (sqlite3_prepare_v2(c->h, stmts[which], -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		snprintf(err, errsize, "%s", sqlite3_errmsg(c->h));
		goto out;
	}
	*out = sqlite3_column_int64(st, col);
	rc = 0;
out:
	sqlite3_finalize(st);
	return rc;
}

/* Whether c is a civicdesk database this binary can read: DB_FILE_OK with its version, or
 * NOT_OURS / NEWER with err set. */
static enum db_file_status
check_ours(struct db_conn *c, const char *path, int *version, char *err, size_t errsize)
{
	char msg[256];
	int64_t tables, v;

	if (one_int(c, STMT_TABLES, 0, &tables, msg, sizeof(msg)) != 0)
		return fail(DB_FILE_NOT_OURS, err, errsize, "%s is not a civicdesk database: %s",
		            path, msg);
	if (one_int(c, STMT_VERSION, 0, &v, msg, sizeof(msg)) != 0)
		return fail(DB_FILE_NOT_OURS, err, errsize, "%s: %s", path, msg);
	if (tables != CIVICDESK_TABLES || v < 1)
		return fail(DB_FILE_NOT_OURS, err, errsize,
		            "%s is an SQLite database but not a civicdesk one", path);
	if (v > db_schema_latest())
		return fail(DB_FILE_NEWER, err, errsize,
		            "%s has schema version %lld, newer than this civicdesk knows (%d): use "
		            "the civicdesk that wrote it",
		            path, (long long)v, db_schema_latest());
	*version = (int)v;
	return DB_FILE_OK;
}

/* PRAGMA integrity_check: DB_FILE_OK, or DAMAGED with its first finding in err. */
static enum db_file_status
check_integrity(struct db_conn *c, const char *path, char *err, size_t errsize)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_INTEGRITY]);
	const unsigned char *res;
	enum db_file_status rc = DB_FILE_OK;

	if (st == NULL)
		return fail(DB_FILE_DAMAGED, err, errsize, "%s: %s", path, sqlite3_errmsg(c->h));
	if (sqlite3_step(st) != SQLITE_ROW)
		rc = fail(DB_FILE_DAMAGED, err, errsize, "%s: %s", path, sqlite3_errmsg(c->h));
	else if ((res = sqlite3_column_text(st, 0)) == NULL || strcmp((const char *)res, "ok") != 0)
		rc = fail(DB_FILE_DAMAGED, err, errsize, "%s fails the integrity check: %s", path,
		          res ? (const char *)res : "no answer");
	db_reset(st);
	return rc;
}

static int
file_exists(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0;
}

/* Opens an existing file read-write (a live database in WAL mode needs its shared memory), or
 * read-only when that is all the file allows. */
static struct db_conn *
open_existing(const char *path, int readonly, enum db_file_status *st, char *err,
              size_t errsize)
{
	struct db_conn *c;

	if (access(path, R_OK) != 0) {
		*st = fail(DB_FILE_MISSING, err, errsize, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (!readonly && access(path, W_OK) != 0)
		readonly = 1;
	c = db_conn_open_file(path, readonly, err, errsize);
	if (c == NULL)
		*st = DB_FILE_MISSING;
	return c;
}

/* Fills info from the database file at path (already checked). */
static int
file_info(const char *path, struct db_file_info *info, char *err, size_t errsize)
{
	struct db_conn *c = db_conn_open_file(path, 1, err, errsize);
	struct stat sb;
	int64_t v;
	int rc = -1;

	if (c == NULL)
		return -1;
	if (one_int(c, STMT_VERSION, 0, &v, err, errsize) != 0 ||
	    one_int(c, STMT_COUNTS, 0, &info->items, err, errsize) != 0 ||
	    one_int(c, STMT_COUNTS, 1, &info->audit, err, errsize) != 0)
		goto out;
	info->version = (int)v;
	info->bytes = stat(path, &sb) == 0 ? (int64_t)sb.st_size : 0;
	rc = 0;
out:
	db_conn_close(c);
	return rc;
}

int
db_sync_path(const char *path, int dir)
{
	char *copy = NULL, *slash;
	const char *target = path;
	int fd, rc;

	if (dir) {
		copy = strdup(path);
		if (copy == NULL)
			return -1;
		slash = strrchr(copy, '/');
		if (slash == NULL)
			target = ".";
		else if (slash == copy)
			target = "/";
		else {
			*slash = '\0';
			target = copy;
		}
	}
	fd = open(target, O_RDONLY | O_CLOEXEC | (dir ? O_DIRECTORY : 0));
	rc = fd >= 0 && fsync(fd) == 0 ? 0 : -1;
	if (fd >= 0)
		close(fd);
	free(copy);
	return rc;
}

static enum db_file_status
io_status(int code)
{
	code &= 0xff;
	return code == SQLITE_FULL || code == SQLITE_IOERR || code == SQLITE_CANTOPEN ||
	               code == SQLITE_READONLY || code == SQLITE_PERM
	           ? DB_FILE_IO
	           : DB_FILE_ERROR;
}

enum db_file_status
db_backup(const char *path, const char *dest, struct db_file_info *info, char *err,
          size_t errsize)
{
	struct db_conn *c = NULL, *copy = NULL;
	sqlite3_stmt *st;
	enum db_file_status rc = DB_FILE_ERROR;
	char *tmp = NULL;
	int version, code;

	if (file_exists(dest))
		return fail(DB_FILE_EXISTS, err, errsize,
		            "%s exists already: give a new file name (a backup never overwrites)",
		            dest);
	c = open_existing(path, 0, &rc, err, errsize);
	if (c == NULL)
		return rc;
	rc = check_ours(c, path, &version, err, errsize);
	if (rc != DB_FILE_OK)
		goto out;
	if (asprintf(&tmp, "%s.tmp", dest) < 0) {
		tmp = NULL;
		rc = fail(DB_FILE_ERROR, err, errsize, "out of memory");
		goto out;
	}
	unlink(tmp); /* a copy left by an interrupted backup */
	/* One statement, one read transaction: a snapshot of every committed transaction. */
	st = db_prep(c, stmts[STMT_VACUUM_INTO]);
	if (st == NULL || db_bind_text(st, 1, tmp) != 0) {
		rc = fail(DB_FILE_ERROR, err, errsize, "%s", sqlite3_errmsg(c->h));
		db_reset(st);
		goto out;
	}
	code = sqlite3_step(st);
	if (code != SQLITE_DONE) {
		code = sqlite3_extended_errcode(c->h);
		rc = fail(io_status(code), err, errsize, "cannot write %s: %s", tmp,
		          sqlite3_errmsg(c->h));
		db_reset(st);
		goto out;
	}
	db_reset(st);
	db_conn_close(c);
	c = NULL;

	copy = db_conn_open_file(tmp, 1, err, errsize);
	if (copy == NULL) {
		rc = DB_FILE_IO;
		goto out;
	}
	rc = check_integrity(copy, tmp, err, errsize);
	db_conn_close(copy);
	copy = NULL;
	if (rc != DB_FILE_OK)
		goto out;
	if (db_sync_path(tmp, 0) != 0) {
		rc = fail(DB_FILE_IO, err, errsize, "cannot sync %s: %s", tmp, strerror(errno));
		goto out;
	}
	/* link() refuses an existing name, where rename() would replace a file made meanwhile. */
	if (link(tmp, dest) != 0) {
		rc = fail(errno == EEXIST ? DB_FILE_EXISTS : DB_FILE_IO, err, errsize, "%s: %s", dest,
		          strerror(errno));
		goto out;
	}
	unlink(tmp);
	if (db_sync_path(dest, 1) != 0) {
		rc = fail(DB_FILE_IO, err, errsize, "cannot sync the folder of %s: %s", dest,
		          strerror(errno));
		goto out;
	}
	rc = file_info(dest, info, err, errsize) == 0 ? DB_FILE_OK : DB_FILE_ERROR;
out:
	db_conn_close(copy);
	db_conn_close(c);
	if (rc != DB_FILE_OK && tmp != NULL) {
		/* VACUUM INTO that failed (a full disk) leaves the copy's rollback journal too */
		char *journal = NULL;

		unlink(tmp);
		if (asprintf(&journal, "%s-journal", tmp) >= 0) {
			unlink(journal);
			free(journal);
		}
	}
	free(tmp);
	return rc;
}

int
db_serve_lock(const char *path, int *fd, char *err, size_t errsize)
{
	char *name = NULL;
	int f;

	if (asprintf(&name, "%s.lock", path) < 0) {
		snprintf(err, errsize, "out of memory");
		return -1;
	}
	f = open(name, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (f < 0) {
		snprintf(err, errsize, "%s: %s", name, strerror(errno));
		free(name);
		return -1;
	}
	if (flock(f, LOCK_EX | LOCK_NB) != 0) {
		int busy = errno == EWOULDBLOCK;

		snprintf(err, errsize, "%s: %s", name,
		         busy ? "held by a running civicdesk serve" : strerror(errno));
		close(f);
		free(name);
		return busy ? 1 : -1;
	}
	free(name);
	*fd = f;
	return 0;
}

void
db_serve_unlock(int fd)
{
	if (fd >= 0)
		close(fd); /* releases the flock */
}

/* Moves the database at path and its journal files to saved (which names the new main file).
 * 0 or -1 with err set. */
static int
move_aside(const char *path, const char *saved, char *err, size_t errsize)
{
	static const char *const suffixes[] = {"-wal", "-journal"};
	char from[4096], to[4096];
	size_t i;

	for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		snprintf(from, sizeof(from), "%s%s", path, suffixes[i]);
		snprintf(to, sizeof(to), "%s%s", saved, suffixes[i]);
		if (file_exists(from) && rename(from, to) != 0) {
			snprintf(err, errsize, "cannot move %s aside: %s", from, strerror(errno));
			return -1;
		}
	}
	snprintf(from, sizeof(from), "%s-shm", path);
	unlink(from); /* rebuilt from the WAL by the next opener */
	if (rename(path, saved) != 0) {
		snprintf(err, errsize, "cannot move %s aside: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* Removes the -wal, -shm and -journal files of path, if any. */
static void
unlink_journals(const char *path)
{
	static const char *const suffixes[] = {"-wal", "-shm", "-journal"};
	char name[4096];
	size_t i;

	for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		snprintf(name, sizeof(name), "%s%s", path, suffixes[i]);
		unlink(name);
	}
}

/* A name for the database being replaced: path.pre-restore-UNIXTIME, or with -2, -3 … after it
 * when a copy of that name (or its journal) is there already (two restores in one second must
 * not put one kept copy, or its WAL, over the other). 0, or -1 when none of 100 is free. */
static int
saved_name(const char *path, char *saved, size_t size)
{
	static const char *const suffixes[] = {"", "-wal", "-journal"};
	char probe[4096];
	long long now = (long long)time(NULL);
	size_t i;
	int n, taken;

	for (n = 1; n <= 100; n++) {
		if (n == 1)
			snprintf(saved, size, "%s.pre-restore-%lld", path, now);
		else
			snprintf(saved, size, "%s.pre-restore-%lld-%d", path, now, n);
		for (taken = 0, i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
			snprintf(probe, sizeof(probe), "%s%s", saved, suffixes[i]);
			taken |= file_exists(probe);
		}
		if (!taken)
			return 0;
	}
	return -1;
}

/* Copies src (open) into a new file at dest with the backup API, all in one step. */
static enum db_file_status
copy_into(struct db_conn *src, const char *dest, char *err, size_t errsize)
{
	sqlite3 *h = NULL;
	sqlite3_backup *b;
	enum db_file_status rc = DB_FILE_OK;
	int code;

	unlink(dest);
	unlink_journals(dest); /* an interrupted restore's: never replayed into the new copy */
	if (sqlite3_open_v2(dest, &h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
	    SQLITE_OK) {
		rc = fail(DB_FILE_IO, err, errsize, "%s: %s", dest,
		          h ? sqlite3_errmsg(h) : "cannot open");
		goto out;
	}
	b = sqlite3_backup_init(h, "main", src->h, "main");
	if (b == NULL) {
		rc = fail(DB_FILE_ERROR, err, errsize, "%s: %s", dest, sqlite3_errmsg(h));
		goto out;
	}
	code = sqlite3_backup_step(b, -1);
	sqlite3_backup_finish(b);
	if (code != SQLITE_DONE)
		rc = fail(io_status(code), err, errsize, "cannot write %s: %s", dest,
		          sqlite3_errstr(code));
out:
	if (sqlite3_close(h) != SQLITE_OK && rc == DB_FILE_OK)
		rc = fail(DB_FILE_IO, err, errsize, "cannot close %s", dest);
	if (rc != DB_FILE_OK)
		unlink(dest);
	return rc;
}

enum db_file_status
db_restore(const char *src, const char *path, char *saved, size_t savedsize,
           struct db_file_info *info, char *err, size_t errsize)
{
	struct db_conn *c = NULL, *check = NULL;
	enum db_file_status rc = DB_FILE_ERROR;
	char *tmp = NULL;
	struct stat old;
	int version, fd = -1, had;

	saved[0] = '\0';
	c = open_existing(src, 1, &rc, err, errsize);
	if (c == NULL)
		return rc;
	rc = check_ours(c, src, &version, err, errsize);
	if (rc == DB_FILE_OK)
		rc = check_integrity(c, src, err, errsize);
	if (rc != DB_FILE_OK)
		goto out;
	switch (db_serve_lock(path, &fd, err, errsize)) {
	case 0:
		break;
	case 1:
		rc = fail(DB_FILE_BUSY, err, errsize,
		          "civicdesk serve is running on %s: stop it first (systemctl stop civicdesk)",
		          path);
		goto out;
	default:
		rc = DB_FILE_IO;
		goto out;
	}
	if (asprintf(&tmp, "%s.restoring", path) < 0) {
		tmp = NULL;
		rc = fail(DB_FILE_ERROR, err, errsize, "out of memory");
		goto out;
	}
	/* The new file is complete and checked before the old one moves. */
	rc = copy_into(c, tmp, err, errsize);
	if (rc != DB_FILE_OK)
		goto out;
	check = db_conn_open_file(tmp, 1, err, errsize);
	rc = check == NULL ? DB_FILE_IO : check_integrity(check, tmp, err, errsize);
	db_conn_close(check);
	if (rc != DB_FILE_OK)
		goto out;
	had = stat(path, &old) == 0;
	if (had) {
		/* The service's user keeps owning its database when root restores. */
		if (chown(tmp, old.st_uid, old.st_gid) != 0 && errno != EPERM)
			db_log("restore: chown %s: %s", tmp, strerror(errno));
		chmod(tmp, old.st_mode & 07777);
		if (saved_name(path, saved, savedsize) != 0) {
			rc = fail(DB_FILE_IO, err, errsize, "no free name to keep %s under", path);
			goto out;
		}
		if (move_aside(path, saved, err, errsize) != 0) {
			saved[0] = '\0';
			rc = DB_FILE_IO;
			goto out;
		}
	}
	if (db_sync_path(tmp, 0) != 0 || rename(tmp, path) != 0 || db_sync_path(path, 1) != 0) {
		rc = fail(DB_FILE_IO, err, errsize, "cannot put %s in place: %s", path,
		          strerror(errno));
		goto out;
	}
	rc = file_info(path, info, err, errsize) == 0 ? DB_FILE_OK : DB_FILE_ERROR;
out:
	if (tmp != NULL && rc != DB_FILE_OK)
		unlink(tmp);
	if (tmp != NULL)
		unlink_journals(tmp); /* the check's connection leaves an empty -wal and -shm */
	free(tmp);
	db_serve_unlock(fd);
	db_conn_close(c);
	return rc;
}

int
db_audit_verify_file(const char *path, const struct db_audit_anchor *anchor,
                     struct db_audit_check *out, enum db_file_status *status, char *err,
                     size_t errsize)
{
	struct db_conn *c;
	int version, rc = -1;

	c = open_existing(path, 0, status, err, errsize);
	if (c == NULL)
		return -1;
	*status = check_ours(c, path, &version, err, errsize);
	if (*status != DB_FILE_OK)
		goto out;
	if (version < AUDIT_CHAIN_SCHEMA) {
		*status = fail(DB_FILE_OLDER, err, errsize,
		               "%s has schema %d, from before the audit chain (schema %d): its records "
		               "carry no hashes to verify yet; start civicdesk serve once on it (a "
		               "backup: after civicdesk restore) to upgrade it and chain them, then "
		               "verify again",
		               path, version, AUDIT_CHAIN_SCHEMA);
		goto out;
	}
	if (db_begin_read(c) != 0) {
		*status = fail(DB_FILE_ERROR, err, errsize, "%s: %s", path, sqlite3_errmsg(c->h));
		goto out;
	}
	rc = db_audit_verify(c, anchor, out);
	db_end_read(c);
	if (rc < 0)
		*status = fail(DB_FILE_ERROR, err, errsize, "%s: %s", path, sqlite3_errmsg(c->h));
out:
	db_conn_close(c);
	return rc;
}
