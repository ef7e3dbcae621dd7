/* db.c: the SQLite store: opening, migrations, the connection pool and the statement cache. */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db_int.h"

/* Page cache of one connection, in KiB (negative: SQLite's unit for KiB). The server holds one
 * connection per concurrent request, and SQLite's default of 2 MiB each took the server past
 * 50 MB under 16 connections scanning a million items (issue 20); the operating system's page
 * cache, shared by all of them, keeps the file's hot pages anyway. */
#define CACHE_KIB "-512"

struct db {
	char *path;
	pthread_mutex_t lock; /* guards free, all, count */
	pthread_cond_t freed; /* signalled when a connection returns to free */
	struct db_conn *free; /* idle connections */
	struct db_conn *all;  /* every connection, for db_close */
	int count;            /* connections open */
	int max;              /* at most this many (0: no bound) */
	int wait_ms;          /* how long db_acquire waits for one to come free */
	int version;          /* user_version after migrations */
	pthread_mutex_t log_lock; /* guards the two below */
	int64_t unwritable_logged; /* monotonic second of the last "cannot write" line, 0: none */
	long unwritable_quiet;     /* such lines not logged since */
};

#define UNWRITABLE_LOG_EVERY 60 /* seconds between lines about a full or read-only database */
#define READER_BUSY_TIMEOUT_MS 100 /* a reader's wait for another writer's lock (db_reader_new) */

void
db_log(const char *fmt, ...)
{
	va_list ap;

	fputs("civicdesk: db: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void
db_log_failure(struct db_conn *c, const char *fmt, ...)
{
	struct db *db = c != NULL && c->unwritable != 0 ? c->store : NULL;
	struct timespec now;
	long quiet = 0;
	va_list ap;

	if (db != NULL) {
		/* a full or read-only disk fails every write: say it once a minute, not each time */
		clock_gettime(CLOCK_MONOTONIC, &now);
		pthread_mutex_lock(&db->log_lock);
		if (db->unwritable_logged != 0 &&
		    now.tv_sec - db->unwritable_logged < UNWRITABLE_LOG_EVERY) {
			db->unwritable_quiet++;
			pthread_mutex_unlock(&db->log_lock);
			return;
		}
		quiet = db->unwritable_quiet;
		db->unwritable_logged = now.tv_sec;
		db->unwritable_quiet = 0;
		pthread_mutex_unlock(&db->log_lock);
	}
	fputs("civicdesk: db: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (db != NULL)
		fprintf(stderr, " (the database cannot take writes: answering 503; %ld more such "
		                "failures in the last minute not logged)", quiet);
	fputc('\n', stderr);
}

void
db_step_failed(struct db_conn *c, const char *what)
{
	db_note_error(c, sqlite3_extended_errcode(c->h));
	db_log_failure(c, "%s: %s", what, sqlite3_errmsg(c->h));
}

static void
conn_free(struct db_conn *c)
{
	size_t i;

	if (c == NULL)
		return;
	if (c->user_free != NULL)
		c->user_free(c->user);
	for (i = 0; i < c->cache_size; i++)
		if (c->cache[i].st != NULL)
			sqlite3_finalize(c->cache[i].st);
	free(c->cache);
	free(c->later);
	sqlite3_close(c->h);
	free(c);
}

static int
conn_exec(sqlite3 *h, const char *sql, char *err, size_t errsize)
{
	char *msg = NULL;

	if (sqlite3_exec(h, sql, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, errsize, "%s", msg ? msg : sqlite3_errmsg(h));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

/* A connection to path opened with flags; with service set, in WAL mode with synchronous FULL
 * and foreign keys (what the service runs with), else left in the file's own journal mode. */
/* SQLite counts every allocation under one process-wide mutex unless told not to; the Debian
 * build has no lookaside, so each statement step allocates, and threads reading at once queued
 * on that mutex (issue 20: futex wake-ups under 16 connections). Nothing here reads the counts. */
int
db_busy_timeout_ms(void)
{
#ifdef CIVICDESK_TEST_HOOKS
	const char *v = getenv("CIVICDESK_TEST_BUSY_MS");
	char *end;
	long ms;

	if (v != NULL && *v != '\0') {
		ms = strtol(v, &end, 10);
		if (*end == '\0' && ms > 0 && ms <= BUSY_TIMEOUT_MS)
			return (int)ms;
	}
#endif
	return BUSY_TIMEOUT_MS;
}

static pthread_once_t sqlite_once = PTHREAD_ONCE_INIT;

static void
sqlite_setup(void)
{
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); /* SQLITE_MISUSE if already initialised */
	if (db_vfs_register() == NULL)
		db_log("cannot register the %s VFS: SQLite's default is used", DB_VFS_NAME);
}

static struct db_conn *
conn_open_flags(const char *path, int flags, int service, char *err, size_t errsize)
{
	struct db_conn *c;

	pthread_once(&sqlite_once, sqlite_setup);
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		snprintf(err, errsize, "out of memory");
		return NULL;
	}
	c->cache_size = 64;
	c->cache = calloc(c->cache_size, sizeof(*c->cache));
	if (c->cache == NULL) {
		snprintf(err, errsize, "out of memory");
		goto fail;
	}
	if (sqlite3_open_v2(path, &c->h, flags,
	                    sqlite3_vfs_find(DB_VFS_NAME) != NULL ? DB_VFS_NAME : NULL) != SQLITE_OK) {
		snprintf(err, errsize, "%s: %s", path, c->h ? sqlite3_errmsg(c->h) : "cannot open");
		goto fail;
	}
	sqlite3_busy_timeout(c->h, db_busy_timeout_ms());
	if (db_rows_register(c->h) != 0) {
		snprintf(err, errsize, "%s: db_rows: %s", path, sqlite3_errmsg(c->h));
		goto fail;
	}
	if (db_search_register(c->h) != 0) {
		snprintf(err, errsize, "%s: cd_match: %s", path, sqlite3_errmsg(c->h));
		goto fail;
	}
	/* A statement with `column LIKE ?` is prepared again each time ? is bound, unless the
	 * query planner is told to keep its plans (the board's search spent a third of its CPU in
	 * sqlite3Reprepare; none of our LIKE patterns can use an index: they start with %). */
	sqlite3_db_config(c->h, SQLITE_DBCONFIG_ENABLE_QPSG, 1, (int *)NULL);
	if (service &&
	    conn_exec(c->h,
	              "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; "
	              "PRAGMA cache_size=" CACHE_KIB ";",
	              err, errsize) != 0)
		goto fail;
	return c;
fail:
	conn_free(c);
	return NULL;
}

static struct db_conn *
conn_open(const char *path, char *err, size_t errsize)
{
	return conn_open_flags(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
	                       1, err, errsize);
}

struct db_conn *
db_conn_open_file(const char *path, int readonly, char *err, size_t errsize)
{
	int flags = (readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE) | SQLITE_OPEN_NOMUTEX;

	return conn_open_flags(path, flags, 0, err, errsize);
}

void
db_conn_close(struct db_conn *c)
{
	conn_free(c);
}

static int
user_version(sqlite3 *h)
{
	sqlite3_stmt *st = NULL;
	int v = -1;

	if (sqlite3_prepare_v2(h, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* The number of a migration file ("009_operations.sql" -> 9). */
static int
migration_number(const struct db_blob *m)
{
	return atoi(m->name);
}

/* Numbers are reserved per branch of work (schema/), so the built-in list may have gaps while
 * they land: the schema version is the number of the newest migration applied. */
int
db_schema_latest(void)
{
	int n = 0;

	while (db_migrations[n].name != NULL)
		n++;
	return n == 0 ? 0 : migration_number(&db_migrations[n - 1]);
}

/* 1 if the database recorded migration num as applied, 0 if not, -1 on error. */
static int
applied(sqlite3 *h, int num)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (sqlite3_prepare_v2(h, "SELECT 1 FROM schema_migrations WHERE number = ?", -1, &st,
	                       NULL) == SQLITE_OK &&
	    sqlite3_bind_int(st, 1, num) == SQLITE_OK) {
		rc = sqlite3_step(st);
		rc = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
	}
	sqlite3_finalize(st);
	return rc;
}

/* Runs sql with one integer parameter. 0 or -1. */
static int
exec_int(sqlite3 *h, const char *sql, int value)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_bind_int(st, 1, value) == SQLITE_OK && sqlite3_step(st) == SQLITE_DONE)
		rc = 0;
	sqlite3_finalize(st);
	return rc;
}

/* The migrations a database has applied are recorded by number in schema_migrations, so that
 * one whose number is lower than the newest applied (numbers are reserved per branch of work
 * and may land out of order) is still applied. A database from before that table counts as
 * having applied every migration up to its user_version; one whose user_version was set back
 * forgets what lies above it. */
static int
record_applied(sqlite3 *h, int v, char *err, size_t errsize)
{
	int i, num, empty;
	sqlite3_stmt *st = NULL;
	char msg[256];

	if (conn_exec(h, "BEGIN IMMEDIATE; CREATE TABLE IF NOT EXISTS schema_migrations ("
	                 "number INTEGER PRIMARY KEY)", err, errsize) != 0)
		return -1;
	empty = sqlite3_prepare_v2(h, "SELECT count(*) FROM schema_migrations", -1, &st, NULL) ==
	                SQLITE_OK &&
	        sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == 0;
	sqlite3_finalize(st);
	for (i = 0; empty && db_migrations[i].name != NULL; i++) {
		num = migration_number(&db_migrations[i]);
		if (num <= v && exec_int(h, "INSERT OR IGNORE INTO schema_migrations VALUES (?)",
		                         num) != 0)
			goto fail;
	}
	if (exec_int(h, "DELETE FROM schema_migrations WHERE number > ?", v) != 0)
		goto fail;
	return conn_exec(h, "COMMIT", err, errsize);
fail:
	snprintf(err, errsize, "schema_migrations: %s", sqlite3_errmsg(h));
	conn_exec(h, "ROLLBACK", msg, sizeof(msg));
	return -1;
}

/* 1 when the database is at the newest version with every built-in migration recorded: opening
 * it then writes nothing (a command that only reads does not wait for a writer). 0 otherwise. */
static int
up_to_date(sqlite3 *h)
{
	int i;

	if (user_version(h) != db_schema_latest())
		return 0;
	for (i = 0; db_migrations[i].name != NULL; i++)
		if (applied(h, migration_number(&db_migrations[i])) != 1)
			return 0;
	return 1;
}

/* Applies the migrations the database has not applied, in their order, each in one
 * transaction with its record; user_version becomes the newest number applied. */
static int
migrate(sqlite3 *h, int *version, char *err, size_t errsize)
{
	int v = user_version(h), latest = db_schema_latest(), i, rc;
	char sql[64], msg[512];

	if (v < 0) {
		snprintf(err, errsize, "cannot read the schema version: %s", sqlite3_errmsg(h));
		return -1;
	}
	if (v > latest) {
		snprintf(err, errsize,
		         "the database has schema version %d, newer than this civicdesk knows (%d): "
		         "run the civicdesk that wrote it, or restore a backup",
		         v, latest);
		return -1;
	}
	if (up_to_date(h)) {
		*version = latest;
		return 0;
	}
	if (record_applied(h, v, err, errsize) != 0)
		return -1;
	for (i = 0; db_migrations[i].name != NULL; i++) {
		int num = migration_number(&db_migrations[i]);

		if (num <= 0 || (i > 0 && num <= migration_number(&db_migrations[i - 1]))) {
			snprintf(err, errsize, "migration %s is out of sequence", db_migrations[i].name);
			return -1;
		}
		rc = applied(h, num);
		if (rc < 0) {
			snprintf(err, errsize, "schema_migrations: %s", sqlite3_errmsg(h));
			return -1;
		}
		if (rc > 0)
			continue;
		if (conn_exec(h, "BEGIN IMMEDIATE", err, errsize) != 0)
			return -1;
		msg[0] = '\0';
		if (num > v)
			v = num;
		snprintf(sql, sizeof(sql), "PRAGMA user_version=%d", v);
		if (conn_exec(h, db_migrations[i].data, msg, sizeof(msg)) != 0 ||
		    exec_int(h, "INSERT INTO schema_migrations VALUES (?)", num) != 0 ||
		    conn_exec(h, sql, msg, sizeof(msg)) != 0) {
			snprintf(err, errsize, "migration %s: %s", db_migrations[i].name,
			         msg[0] ? msg : sqlite3_errmsg(h));
			conn_exec(h, "ROLLBACK", msg, sizeof(msg));
			return -1;
		}
		if (conn_exec(h, "COMMIT", err, errsize) != 0)
			return -1;
	}
	*version = latest;
	return 0;
}

int
db_open(const char *path, struct db **out, int *created, char *err, size_t errsize)
{
	struct db *db;
	struct db_conn *c;
	int64_t sealed = 0;

	db = calloc(1, sizeof(*db));
	if (db == NULL || (db->path = strdup(path)) == NULL) {
		snprintf(err, errsize, "out of memory");
		free(db);
		return -1;
	}
	pthread_mutex_init(&db->lock, NULL);
	pthread_mutex_init(&db->log_lock, NULL);
	pthread_cond_init(&db->freed, NULL);
	c = conn_open(path, err, errsize);
	if (c == NULL)
		goto fail;
	*created = user_version(c->h) == 0;
	if (migrate(c->h, &db->version, err, errsize) != 0) {
		conn_free(c);
		goto fail;
	}
	if (db_audit_seal(c, &sealed) != 0) {
		snprintf(err, errsize, "cannot chain the audit log: %s", sqlite3_errmsg(c->h));
		conn_free(c);
		goto fail;
	}
	if (sealed > 0)
		db_log("audit: %lld records written before the upgrade were chained",
		       (long long)sealed);
	c->store = db;
	c->all = db->all;
	db->all = c;
	c->next = db->free;
	db->free = c;
	db->count = 1;
	*out = db;
	return 0;
fail:
	pthread_cond_destroy(&db->freed);
	pthread_mutex_destroy(&db->log_lock);
	pthread_mutex_destroy(&db->lock);
	free(db->path);
	free(db);
	return -1;
}

void
db_close(struct db *db)
{
	struct db_conn *c, *next;

	if (db == NULL)
		return;
	for (c = db->all; c != NULL; c = next) {
		next = c->all;
		conn_free(c);
	}
	pthread_cond_destroy(&db->freed);
	pthread_mutex_destroy(&db->log_lock);
	pthread_mutex_destroy(&db->lock);
	free(db->path);
	free(db);
}

void
db_pool_limit(struct db *db, int max, int wait_ms)
{
	pthread_mutex_lock(&db->lock);
	db->max = max > 0 ? max : 0;
	db->wait_ms = wait_ms > 0 ? wait_ms : 0;
	pthread_mutex_unlock(&db->lock);
}

int
db_schema_version(struct db *db)
{
	return db->version;
}

struct db_conn *
db_acquire(struct db *db)
{
	struct db_conn *c = NULL;
	struct timespec deadline;
	char err[512];
	int timed_out = 0;

	clock_gettime(CLOCK_REALTIME, &deadline);
	pthread_mutex_lock(&db->lock);
	deadline.tv_sec += db->wait_ms / 1000;
	deadline.tv_nsec += (long)(db->wait_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	/* With a bound, a caller waits for a connection to come free rather than opening one
	 * more (file descriptors and memory stay bounded under a flood of requests). */
	while (db->free == NULL && db->max > 0 && db->count >= db->max && !timed_out)
		timed_out = pthread_cond_timedwait(&db->freed, &db->lock, &deadline) != 0;
	if (db->free != NULL) {
		c = db->free;
		db->free = c->next;
		pthread_mutex_unlock(&db->lock);
		c->unwritable = 0;
		return c;
	}
	if (timed_out) {
		pthread_mutex_unlock(&db->lock);
		db_log("no database connection came free within %d ms (%d open)", db->wait_ms,
		       db->count);
		return NULL;
	}
	db->count++; /* reserved before opening, so that the bound holds */
	pthread_mutex_unlock(&db->lock);
	c = conn_open(db->path, err, sizeof(err));
	pthread_mutex_lock(&db->lock);
	if (c == NULL) {
		db->count--;
		pthread_cond_signal(&db->freed);
	} else {
		c->store = db;
		c->all = db->all;
		db->all = c;
	}
	pthread_mutex_unlock(&db->lock);
	if (c == NULL)
		db_log("%s", err);
	return c;
}

struct db_conn *
db_reader_new(struct db *db, long cache_kib)
{
	struct db_conn *c;
	char err[512], sql[64];

	c = conn_open(db->path, err, sizeof(err));
	if (c == NULL) {
		db_log("%s", err);
		return NULL;
	}
	snprintf(sql, sizeof(sql), "PRAGMA cache_size=%ld", -cache_kib);
	if (conn_exec(c->h, sql, err, sizeof(err)) != 0)
		db_log("%s: %s", sql, err); /* the default size is no reason to fail */
	/* reads never wait for a writer in WAL mode; a rare write on a reader (a session's
	 * activity, once a minute) waits through a group commit, not through a long transaction,
	 * which would hold up every connection of the reader's thread */
	sqlite3_busy_timeout(c->h, READER_BUSY_TIMEOUT_MS);
	c->store = db;
	return c;
}

void
db_reader_reset(struct db_conn *c)
{
	if (c == NULL)
		return;
	db_rollback(c);
	c->unwritable = 0;
}

void
db_reader_free(struct db_conn *c)
{
	conn_free(c);
}

void *
db_conn_user(struct db_conn *c)
{
	return c != NULL ? c->user : NULL;
}

int
db_conn_set_user(struct db_conn *c, void *p, void (*free_fn)(void *))
{
	if (c == NULL || c->user != NULL)
		return -1;
	c->user = p;
	c->user_free = free_fn;
	return 0;
}

void
db_release(struct db *db, struct db_conn *c)
{
	if (c == NULL)
		return;
	if (!sqlite3_get_autocommit(c->h)) {
		db_log("connection released inside a transaction: rolled back");
		sqlite3_exec(c->h, "ROLLBACK", NULL, NULL, NULL);
	}
	pthread_mutex_lock(&db->lock);
	c->next = db->free;
	db->free = c;
	pthread_cond_signal(&db->freed);
	pthread_mutex_unlock(&db->lock);
}

void
db_note_error(struct db_conn *c, int rc)
{
	switch (rc & 0xff) {
	case SQLITE_FULL:
	case SQLITE_READONLY:
	case SQLITE_IOERR:
	case SQLITE_CANTOPEN:
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
	case SQLITE_PERM:
		c->unwritable = rc & 0xff;
		break;
	default:
		break;
	}
}

int
db_unavailable(struct db_conn *c)
{
	return c != NULL && c->unwritable != 0;
}

/* The transaction statements, prepared once per connection like every other (parsing them
 * for each request was a twentieth of a short read's CPU). */
enum txn_stmt { TXN_BEGIN, TXN_BEGIN_READ, TXN_COMMIT, TXN_ROLLBACK, TXN__MAX };

static const char *const txn_stmts[TXN__MAX] = {
    [TXN_BEGIN] = "BEGIN IMMEDIATE",
    [TXN_BEGIN_READ] = "BEGIN DEFERRED",
    [TXN_COMMIT] = "COMMIT",
    [TXN_ROLLBACK] = "ROLLBACK",
};

static int
simple(struct db_conn *c, enum txn_stmt which)
{
	const char *sql = txn_stmts[which];
	sqlite3_stmt *st = db_prep(c, sql);
	int rc;

	if (st == NULL) {
		db_note_error(c, sqlite3_extended_errcode(c->h));
		return -1;
	}
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		db_note_error(c, rc);
		db_log_failure(c, "%s: %s", sql, sqlite3_errmsg(c->h));
		return -1;
	}
	return 0;
}

int
db_begin(struct db_conn *c)
{
	c->nlater = 0;
	return simple(c, TXN_BEGIN);
}

int
db_commit(struct db_conn *c)
{
	if (c->nlater != 0) { /* new items given an id but never written: not without them */
		db_log("commit: %zu new items were not written (db_items_flush)", c->nlater);
		c->nlater = 0;
		if (!sqlite3_get_autocommit(c->h))
			sqlite3_exec(c->h, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	if (simple(c, TXN_COMMIT) != 0) {
		if (!sqlite3_get_autocommit(c->h))
			sqlite3_exec(c->h, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	return 0;
}

int
db_begin_read(struct db_conn *c)
{
	return simple(c, TXN_BEGIN_READ);
}

void
db_end_read(struct db_conn *c)
{
	if (!sqlite3_get_autocommit(c->h) && simple(c, TXN_COMMIT) != 0)
		simple(c, TXN_ROLLBACK);
}

void
db_rollback(struct db_conn *c)
{
	c->nlater = 0;
	if (!sqlite3_get_autocommit(c->h))
		simple(c, TXN_ROLLBACK);
}

const char *
db_errmsg(struct db_conn *c)
{
	return sqlite3_errmsg(c->h);
}

static size_t
slot_of(const char *sql, size_t size)
{
	uintptr_t k = (uintptr_t)sql;

	k ^= k >> 17;
	k *= 0x9E3779B97F4A7C15ull;
	return (size_t)(k >> 7) & (size - 1);
}

static int
cache_grow(struct db_conn *c)
{
	struct db_cached *old = c->cache, *cache;
	size_t size = c->cache_size * 2, i, j;

	cache = calloc(size, sizeof(*cache));
	if (cache == NULL)
		return -1;
	for (i = 0; i < c->cache_size; i++) {
		if (old[i].sql == NULL)
			continue;
		for (j = slot_of(old[i].sql, size); cache[j].sql != NULL; j = (j + 1) & (size - 1))
			;
		cache[j] = old[i];
	}
	free(old);
	c->cache = cache;
	c->cache_size = size;
	return 0;
}

sqlite3_stmt *
db_prep(struct db_conn *c, const char *sql)
{
	size_t i;
	sqlite3_stmt *st = NULL;

	for (i = slot_of(sql, c->cache_size); c->cache[i].sql != NULL;
	     i = (i + 1) & (c->cache_size - 1)) {
		if (c->cache[i].sql == sql) {
			/* reset and cleared by stmt_end since it was last handed out: as it is;
			 * else (read to a row only, abandoned, ended by db_reset) both now */
			if (!c->cache[i].clean) {
				sqlite3_reset(c->cache[i].st);
				sqlite3_clear_bindings(c->cache[i].st);
			}
			c->cache[i].clean = 0;
			c->last = i;
			return c->cache[i].st;
		}
	}
	if (sqlite3_prepare_v3(c->h, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
		db_log("prepare: %s: %s", sqlite3_errmsg(c->h), sql);
		return NULL;
	}
	if ((c->cache_used + 1) * 2 > c->cache_size) {
		if (cache_grow(c) != 0) {
			sqlite3_finalize(st);
			return NULL;
		}
	}
	for (i = slot_of(sql, c->cache_size); c->cache[i].sql != NULL;
	     i = (i + 1) & (c->cache_size - 1))
		;
	c->cache[i].sql = sql;
	c->cache[i].st = st;
	c->cache[i].clean = 0;
	c->cache_used++;
	c->last = i;
	return st;
}

void
db_reset(sqlite3_stmt *st)
{
	if (st != NULL) {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
	}
}

int
db_bind_text(sqlite3_stmt *st, int i, const char *s)
{
	int rc;

	if (s == NULL)
		rc = sqlite3_bind_null(st, i);
	else
		rc = sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
	return rc == SQLITE_OK ? 0 : -1;
}

int
db_bind_int(sqlite3_stmt *st, int i, int64_t v)
{
	return sqlite3_bind_int64(st, i, v) == SQLITE_OK ? 0 : -1;
}

int
db_bind_blob(sqlite3_stmt *st, int i, const void *p, size_t n)
{
	return sqlite3_bind_blob64(st, i, p, n, SQLITE_TRANSIENT) == SQLITE_OK ? 0 : -1;
}

char *
db_col_text(sqlite3_stmt *st, int i)
{
	const unsigned char *s = sqlite3_column_text(st, i);

	return s == NULL ? NULL : strdup((const char *)s);
}

int
db_col_name(sqlite3_stmt *st, int i, int (*parse)(const char *))
{
	return parse((const char *)sqlite3_column_text(st, i));
}

void
db_row_free(struct db_row *r)
{
	if (r == NULL)
		return;
	free(r->p);
	r->p = NULL;
	r->len = r->cap = 0;
}

/* Room for n more bytes in r: 0, or -1 (out of memory, over DB_ROW_MAX). */
static int
row_room(struct db_row *r, size_t n)
{
	size_t cap = r->cap ? r->cap : 1024;
	unsigned char *p;

	if (r->len + n <= r->cap)
		return 0;
	if (r->len + n > (size_t)DB_ROW_MAX)
		return -1;
	while (cap < r->len + n)
		cap *= 2;
	p = realloc(r->p, cap);
	if (p == NULL)
		return -1;
	r->p = p;
	r->cap = cap;
	return 0;
}

int
db_row_read(sqlite3_stmt *st, struct db_row *r)
{
	int i, n = sqlite3_column_count(st), type, bytes;
	sqlite3_value *val;
	const void *v;
	int64_t iv;
	double dv;
	uint32_t len;

	r->len = 0;
	/* room for every column's type and number at once; texts and blobs ask for theirs */
	if (row_room(r, (size_t)n * 9) != 0)
		return -1;
	for (i = 0; i < n; i++) {
		/* the column's value itself: one call each for its type and its content, where
		 * sqlite3_column_* checks the statement and the connection's error every time */
		val = sqlite3_column_value(st, i);
		type = sqlite3_value_type(val);
		r->p[r->len++] = (unsigned char)type;
		switch (type) {
		case SQLITE_INTEGER:
			iv = sqlite3_value_int64(val);
			memcpy(r->p + r->len, &iv, 8);
			r->len += 8;
			break;
		case SQLITE_FLOAT:
			dv = sqlite3_value_double(val);
			memcpy(r->p + r->len, &dv, 8);
			r->len += 8;
			break;
		case SQLITE_TEXT:
		case SQLITE_BLOB:
			/* the value before its length, as SQLite asks (a text may be converted) */
			v = type == SQLITE_TEXT ? (const void *)sqlite3_value_text(val)
			                        : sqlite3_value_blob(val);
			bytes = sqlite3_value_bytes(val);
			if (bytes < 0 || (bytes > 0 && v == NULL) ||
			    row_room(r, 4 + (size_t)bytes + 1 + (size_t)(n - i) * 9) != 0)
				return -1;
			len = (uint32_t)bytes;
			memcpy(r->p + r->len, &len, 4);
			r->len += 4;
			if (bytes > 0)
				memcpy(r->p + r->len, v, (size_t)bytes);
			r->len += (size_t)bytes;
			r->p[r->len++] = '\0'; /* so that a text can be lent from the row */
			break;
		default: /* SQLITE_NULL: the type alone */
			break;
		}
	}
	return 0;
}

int
db_rowc_type(const struct db_row_cursor *c)
{
	return c->p < c->end ? c->p[0] : SQLITE_NULL;
}

/* Moves c past its next column: its value's bytes (lent) and length. */
static int
rowc_next(struct db_row_cursor *c, const unsigned char **v, size_t *n)
{
	int type = db_rowc_type(c);
	uint32_t len = 0;

	*v = NULL;
	*n = 0;
	if (c->p >= c->end)
		return SQLITE_NULL;
	c->p++;
	switch (type) {
	case SQLITE_INTEGER:
	case SQLITE_FLOAT:
		len = 8;
		break;
	case SQLITE_TEXT:
	case SQLITE_BLOB:
		if (c->end - c->p < 4) {
			c->p = c->end;
			return SQLITE_NULL;
		}
		memcpy(&len, c->p, 4);
		c->p += 4;
		break;
	default:
		return SQLITE_NULL;
	}
	if ((size_t)(c->end - c->p) < len) {
		c->p = c->end;
		return SQLITE_NULL;
	}
	*v = c->p;
	*n = len;
	c->p += len;
	if (type == SQLITE_TEXT || type == SQLITE_BLOB)
		c->p += c->p < c->end; /* the NUL after it */
	return type;
}

int64_t
db_rowc_int(struct db_row_cursor *c)
{
	const unsigned char *v;
	size_t n;
	int64_t iv = 0;

	if (rowc_next(c, &v, &n) == SQLITE_INTEGER)
		memcpy(&iv, v, 8);
	return iv;
}

const char *
db_rowc_text(struct db_row_cursor *c)
{
	const unsigned char *v;
	size_t n;

	return rowc_next(c, &v, &n) == SQLITE_TEXT ? (const char *)v : NULL;
}

int
db_rowc_name(struct db_row_cursor *c, int (*parse)(const char *))
{
	const char *s = db_rowc_text(c);

	return s != NULL ? parse(s) : -1;
}

/* Ends a statement whose last step answered rc: -1 (noted and logged) unless rc is a row or
 * the end, else 0. Resets st and clears its bindings; when st is the statement db_prep last
 * handed out, its slot is marked clean, so that the next db_prep of it does neither again
 * (twice per statement was 2 % of the group-commit writer's instructions, issue 20). */
static int
stmt_end(struct db_conn *c, sqlite3_stmt *st, int rc)
{
	int failed = rc != SQLITE_DONE && rc != SQLITE_ROW;

	if (failed) {
		db_note_error(c, rc);
		db_log_failure(c, "%s: %s", sqlite3_errmsg(c->h), sqlite3_sql(st));
	}
	db_reset(st);
	if (c->cache[c->last].st == st)
		c->cache[c->last].clean = 1;
	return failed ? -1 : 0;
}

int
db_exec_stmt(struct db_conn *c, sqlite3_stmt *st)
{
	return stmt_end(c, st, sqlite3_step(st));
}

int
db_exec_ints(struct db_conn *c, sqlite3_stmt *st, const int64_t *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (db_bind_int(st, (int)i + 1, v[i]) != 0) {
			db_reset(st);
			return -1;
		}
	}
	return db_exec_stmt(c, st);
}

int
db_step_ints(struct db_conn *c, sqlite3_stmt *st, int64_t *v, size_t max, size_t *n)
{
	size_t len = 0;
	int rc = SQLITE_DONE;

	while (len < max && (rc = sqlite3_step(st)) == SQLITE_ROW)
		v[len++] = sqlite3_column_int64(st, 0);
	if (stmt_end(c, st, rc) != 0)
		return -1;
	*n = len;
	return 0;
}

void *
db_grow(void *v, size_t len, size_t *cap, size_t size)
{
	size_t ncap;
	void *nv;

	if (len < *cap)
		return v;
	ncap = *cap ? *cap * 2 : 8;
	nv = realloc(v, ncap * size);
	if (nv == NULL)
		return NULL;
	*cap = ncap;
	return nv;
}

int
db_list_rows(struct db_conn *c, sqlite3_stmt *st, size_t size, const char *what,
             int (*read)(sqlite3_stmt *st, void *row), void (*free_rows)(void *rows, size_t n),
             void **out, size_t *n)
{
	char *v = NULL, *nv;
	size_t len = 0, cap = 0;
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		nv = db_grow(v, len, &cap, size);
		if (nv == NULL)
			goto fail;
		v = nv;
		memset(v + len * size, 0, size);
		len++;
		if (read(st, v + (len - 1) * size) != 0)
			goto fail;
	}
	if (rc != SQLITE_DONE) {
		db_log("%s: %s", what, sqlite3_errmsg(c->h));
		goto fail;
	}
	db_reset(st);
	*out = v;
	*n = len;
	return 0;
fail:
	db_reset(st);
	free_rows(v, len);
	return -1;
}
