/*
 * test_db_vfs.c: the storage module's VFS (db/db_vfs.c), which holds a WAL transaction's frames
 * and writes them in one call: what it wrote must be in the file, as SQLite wrote it, before
 * anyone else can look: another connection (through SQLite's own VFS) sees each commit at once
 * even without a sync; a rolled-back transaction whose frames were spilled to the WAL leaves
 * no stale bytes to overwrite another connection's commit; transactions larger than its buffer
 * store whole; a process killed after its commits leaves a WAL from which every committed
 * row is recovered; and connections of several threads committing, rolling back spilled
 * transactions and checkpointing at once lose no committed change, while connections of other
 * threads reading at the same time (through the VFS's wal-index lock and barrier) each see
 * every transaction whole or not at all.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "db/db.h"
#include "tests/check.h"

#define VFS "civicdesk" /* DB_VFS_NAME */

static char dir[] = "/tmp/civicdesk-vfs-XXXXXX";

/* A connection to path through vfs (NULL: SQLite's default), in WAL mode with sync. */
static sqlite3 *
open_with(const char *path, const char *vfs, const char *sync)
{
	sqlite3 *h = NULL;
	char sql[128];

	if (sqlite3_open_v2(path, &h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, vfs) !=
	    SQLITE_OK) {
		sqlite3_close(h);
		return NULL;
	}
	sqlite3_busy_timeout(h, 5000);
	snprintf(sql, sizeof(sql), "PRAGMA journal_mode=WAL; PRAGMA synchronous=%s", sync);
	if (sqlite3_exec(h, sql, NULL, NULL, NULL) != SQLITE_OK) {
		sqlite3_close(h);
		return NULL;
	}
	return h;
}

/* The first column of sql's first row as an integer, -1 on error. */
static long long
value(sqlite3 *h, const char *sql)
{
	sqlite3_stmt *st = NULL;
	long long v = -1;

	if (h != NULL && sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static const char *
text(sqlite3 *h, const char *sql, char *buf, size_t size)
{
	sqlite3_stmt *st = NULL;

	snprintf(buf, size, "(error)");
	if (h != NULL && sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		snprintf(buf, size, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return buf;
}

static int
exec(sqlite3 *h, const char *sql)
{
	return h != NULL && sqlite3_exec(h, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

static void
test_registered(struct t *t)
{
	CHECK(t, sqlite3_vfs_find(VFS) != NULL);
}

/* synchronous=OFF: no sync ever passes the frames on, only the commit frame does */
static void
test_commit_visible(struct t *t)
{
	char path[sizeof(dir) + 32];
	sqlite3 *a, *b;
	struct stat s;
	int i;

	snprintf(path, sizeof(path), "%s/visible.db", dir);
	a = open_with(path, VFS, "OFF");
	b = open_with(path, NULL, "FULL");
	CHECK(t, a != NULL && b != NULL);
	CHECK_INT(t,
	          exec(a, "CREATE TABLE x (id INTEGER PRIMARY KEY, v TEXT); "
	                  "CREATE INDEX x_v ON x(v)"),
	          0);
	for (i = 1; i <= 50; i++) {
		CHECK_INT(t,
		          exec(a, "BEGIN IMMEDIATE; "
		                  "INSERT INTO x (v) VALUES (hex(randomblob(300))); "
		                  "INSERT INTO x (v) VALUES (hex(randomblob(300))); COMMIT"),
		          0);
		CHECK_INT(t, value(b, "SELECT count(*) FROM x"), 2 * i);
	}
	/* the file holds whole frames after the 32-byte header */
	snprintf(path, sizeof(path), "%s/visible.db-wal", dir);
	CHECK_INT(t, stat(path, &s), 0);
	CHECK_INT(t, (s.st_size - 32) % (4096 + 24), 0);
	CHECK_INT(t, value(b, "SELECT count(*) FROM x WHERE v IS NULL"), 0);
	sqlite3_close(a);
	sqlite3_close(b);
}

/* a transaction spills frames into the WAL (a 10-page cache), rolls back; another connection
 * commits more frames than that, where those were; the first writes again: nothing of the
 * rolled-back frames may land on the other's commit */
static void
test_rollback_spill(struct t *t)
{
	char path[sizeof(dir) + 32], buf[64];
	sqlite3 *a, *b, *c;
	int round;

	snprintf(path, sizeof(path), "%s/spill.db", dir);
	a = open_with(path, VFS, "FULL");
	b = open_with(path, VFS, "FULL");
	CHECK(t, a != NULL && b != NULL);
	CHECK_INT(t,
	          exec(a, "PRAGMA cache_size=10; CREATE TABLE x (id INTEGER PRIMARY KEY, v TEXT); "
	                  "CREATE TABLE y (id INTEGER PRIMARY KEY, v TEXT)"),
	          0);
	for (round = 0; round < 3; round++) {
		CHECK_INT(
		    t,
		    exec(a, "BEGIN IMMEDIATE; "
		            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
		            "WHERE i < 400) INSERT INTO x (v) SELECT hex(randomblob(200)) FROM n"),
		    0);
		CHECK_INT(t, exec(a, "ROLLBACK"), 0);
		CHECK_INT(t,
		          exec(b, "BEGIN IMMEDIATE; "
		                  "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
		                  "WHERE i < 200) INSERT INTO y (v) SELECT 'kept' || "
		                  "hex(randomblob(500)) FROM n; COMMIT"),
		          0);
		CHECK_INT(t, exec(a, "INSERT INTO x (v) VALUES ('after')"), 0);
	}
	c = open_with(path, NULL, "FULL");
	CHECK_STR(t, text(c, "PRAGMA integrity_check", buf, sizeof(buf)), "ok");
	CHECK_INT(t, value(c, "SELECT count(*) FROM y WHERE v LIKE 'kept%'"), 600);
	CHECK_INT(t, value(c, "SELECT count(*) FROM x"), 3);
	sqlite3_close(c);
	sqlite3_close(a);
	sqlite3_close(b);
}

/* more than the buffer holds, and more than one write call takes (128 KiB) */
static void
test_large_transaction(struct t *t)
{
	char path[sizeof(dir) + 32], buf[64];
	sqlite3 *a, *b;

	snprintf(path, sizeof(path), "%s/large.db", dir);
	a = open_with(path, VFS, "FULL");
	b = open_with(path, NULL, "FULL");
	CHECK_INT(t,
	          exec(a, "CREATE TABLE x (id INTEGER PRIMARY KEY, v BLOB); BEGIN; "
	                  "INSERT INTO x (v) VALUES (zeroblob(3000000)); "
	                  "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
	                  "WHERE i < 2000) INSERT INTO x (v) SELECT randomblob(500) FROM n; "
	                  "COMMIT"),
	          0);
	CHECK_INT(t, value(b, "SELECT count(*) FROM x"), 2001);
	CHECK_INT(t, value(b, "SELECT sum(length(v)) FROM x"), 3000000 + 2000 * 500);
	CHECK_STR(t, text(b, "PRAGMA integrity_check", buf, sizeof(buf)), "ok");
	sqlite3_close(a);
	sqlite3_close(b);
}

/* a process killed after its commits (no close, no checkpoint): recovery from the WAL finds
 * every committed row */
static void
test_killed_writer(struct t *t)
{
	char path[sizeof(dir) + 32], buf[64];
	sqlite3 *h;
	pid_t pid;
	int status = -1, i;

	snprintf(path, sizeof(path), "%s/killed.db", dir);
	h = open_with(path, VFS, "FULL");
	CHECK_INT(t,
	          exec(h, "CREATE TABLE x (id INTEGER PRIMARY KEY, v TEXT); "
	                  "CREATE INDEX x_v ON x(v)"),
	          0);
	sqlite3_close(h);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		h = open_with(path, VFS, "FULL");
		if (h == NULL || exec(h, "PRAGMA wal_autocheckpoint=0") != 0)
			_exit(2);
		for (i = 0; i < 200; i++)
			if (exec(
			        h,
			        "BEGIN IMMEDIATE; INSERT INTO x (v) VALUES (hex(randomblob(100))); "
			        "INSERT INTO x (v) VALUES (hex(randomblob(100))); COMMIT") != 0)
				_exit(3);
		_exit(0); /* no close: the WAL and its frames stay as the writer left them */
	}
	CHECK(t, pid > 0);
	waitpid(pid, &status, 0);
	CHECK(t, WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* a fresh wal-index: the new connection recovers from the WAL file alone */
	snprintf(path, sizeof(path), "%s/killed.db-shm", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/killed.db", dir);
	h = open_with(path, NULL, "FULL");
	CHECK_INT(t, value(h, "SELECT count(*) FROM x"), 400);
	CHECK_STR(t, text(h, "PRAGMA integrity_check", buf, sizeof(buf)), "ok");
	sqlite3_close(h);
}

#define STRESS_THREADS 4
#define STRESS_ROUNDS 250
#define STRESS_BUSY_MS 60000 /* how long a thread's statement waits for the others' lock */

struct stress {
	const char *path;
	int id;
	int committed; /* transactions this thread committed */
	int failed;    /* statements that failed unexpectedly */
};

/* One connection: transactions adding 1 to a counter and a row to a log, every fifth one with
 * 60 rows more and rolled back instead (a 20-page cache: its frames spill into the WAL), every
 * tenth followed by a passive checkpoint (the WAL restarts when another catches up). */
static void *
stress_thread(void *arg)
{
	struct stress *s = arg;
	sqlite3 *h = open_with(s->path, VFS, "FULL");
	char sql[256];
	int i;

	if (h == NULL || exec(h, "PRAGMA cache_size=20") != 0) {
		s->failed++;
		sqlite3_close(h);
		return NULL;
	}
	/* three other writers in a loop and two readers: on a loaded machine one writer's BEGIN
	 * IMMEDIATE lost the lock to the others for 5 s once in some 20 runs */
	sqlite3_busy_timeout(h, STRESS_BUSY_MS);
	for (i = 0; i < STRESS_ROUNDS; i++) {
		int back = i % 5 == 4;

		snprintf(sql, sizeof(sql),
		         "BEGIN IMMEDIATE; UPDATE k SET v = v + 1 WHERE id = %d; "
		         "INSERT INTO log (t, pad) VALUES (%d, hex(randomblob(300)));",
		         (i * 7 + s->id) % 16, s->id);
		if (exec(h, sql) != 0) {
			s->failed++;
			exec(h, "ROLLBACK");
			continue;
		}
		if (back) {
			if (exec(h,
			         "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n "
			         "WHERE x < 60) INSERT INTO log (t, pad) SELECT -1, "
			         "hex(randomblob(400)) FROM n") != 0)
				s->failed++;
			if (exec(h, "ROLLBACK") != 0)
				s->failed++;
			continue;
		}
		if (exec(h, "COMMIT") != 0) {
			s->failed++;
			exec(h, "ROLLBACK");
			continue;
		}
		s->committed++;
		if (i % 10 == 9)
			sqlite3_wal_checkpoint_v2(h, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	}
	sqlite3_close(h);
	return NULL;
}

#define READ_THREADS 2

struct reader {
	const char *path;
	int *done;  /* set (under lock) when the writers have ended */
	pthread_mutex_t *lock;
	int reads;  /* read transactions this thread ran */
	int torn;   /* of them, those that saw part of a transaction */
	int failed; /* statements that failed */
};

/* One connection reading in a loop until the writers end: in each read transaction, every
 * committed transaction added 1 to k and one row with t >= 0 to log, so the two counts agree
 * in any snapshot. */
static void *
read_thread(void *arg)
{
	struct reader *r = arg;
	sqlite3 *h = open_with(r->path, VFS, "FULL");
	long long sum, rows;
	int done = 0;

	if (h == NULL) {
		r->failed++;
		return NULL;
	}
	sqlite3_busy_timeout(h, STRESS_BUSY_MS);
	while (!done) {
		pthread_mutex_lock(r->lock);
		done = *r->done;
		pthread_mutex_unlock(r->lock);
		if (exec(h, "BEGIN") != 0) {
			r->failed++;
			continue;
		}
		sum = value(h, "SELECT sum(v) FROM k");
		rows = value(h, "SELECT count(*) FROM log WHERE t >= 0");
		if (exec(h, "COMMIT") != 0)
			r->failed++;
		if (sum < 0 || rows < 0)
			r->failed++;
		else if (sum != rows)
			r->torn++;
		r->reads++;
	}
	sqlite3_close(h);
	return NULL;
}

static void
test_threads(struct t *t)
{
	char path[sizeof(dir) + 32], buf[64];
	struct stress st[STRESS_THREADS];
	pthread_t th[STRESS_THREADS], rth[READ_THREADS];
	struct reader rd[READ_THREADS];
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	sqlite3 *h;
	int i, total = 0, failed = 0, done = 0, reads = 0, torn = 0;

	snprintf(path, sizeof(path), "%s/threads.db", dir);
	h = open_with(path, VFS, "FULL");
	CHECK_INT(t,
	          exec(h, "CREATE TABLE k (id INTEGER PRIMARY KEY, v INTEGER NOT NULL); "
	                  "CREATE TABLE log (id INTEGER PRIMARY KEY, t INTEGER, pad TEXT); "
	                  "CREATE INDEX log_t ON log(t); "
	                  "WITH RECURSIVE n(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM n "
	                  "WHERE x < 15) INSERT INTO k SELECT x, 0 FROM n"),
	          0);
	sqlite3_close(h);
	for (i = 0; i < READ_THREADS; i++) {
		rd[i] = (struct reader){path, &done, &lock, 0, 0, 0};
		CHECK_INT(t, pthread_create(&rth[i], NULL, read_thread, &rd[i]), 0);
	}
	for (i = 0; i < STRESS_THREADS; i++) {
		st[i] = (struct stress){path, i, 0, 0};
		CHECK_INT(t, pthread_create(&th[i], NULL, stress_thread, &st[i]), 0);
	}
	for (i = 0; i < STRESS_THREADS; i++) {
		pthread_join(th[i], NULL);
		total += st[i].committed;
		failed += st[i].failed;
	}
	pthread_mutex_lock(&lock);
	done = 1;
	pthread_mutex_unlock(&lock);
	for (i = 0; i < READ_THREADS; i++) {
		pthread_join(rth[i], NULL);
		failed += rd[i].failed;
		reads += rd[i].reads;
		torn += rd[i].torn;
	}
	CHECK_INT(t, failed, 0);
	CHECK_INT(t, torn, 0);
	CHECK(t, reads > 0);
	h = open_with(path, NULL, "FULL");
	CHECK_INT(t, value(h, "SELECT sum(v) FROM k"), total);
	CHECK_INT(t, value(h, "SELECT count(*) FROM log"), total);
	CHECK_INT(t, value(h, "SELECT count(*) FROM log WHERE t < 0"), 0);
	CHECK_STR(t, text(h, "PRAGMA integrity_check", buf, sizeof(buf)), "ok");
	printf("# %d transactions committed by %d threads, %d read transactions by %d\n", total,
	       STRESS_THREADS, reads, READ_THREADS);
	sqlite3_close(h);
}

int
main(void)
{
	struct t t = {0, 0, 0};
	char path[sizeof(dir) + 32], err[256];
	struct db *db = NULL;
	int created = 0;

	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	/* opening a store registers the VFS */
	snprintf(path, sizeof(path), "%s/store.db", dir);
	if (db_open(path, &db, &created, err, sizeof(err)) != 0) {
		fprintf(stderr, "db_open: %s\n", err);
		return 1;
	}
	RUN(&t, test_registered);
	RUN(&t, test_commit_visible);
	RUN(&t, test_rollback_spill);
	RUN(&t, test_large_transaction);
	RUN(&t, test_killed_writer);
	RUN(&t, test_threads);
	db_close(db);
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	if (system(path) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return t_done(&t);
}
