/* db_int.h: what the files of the storage module share; not for other modules. */
#ifndef DB_INT_H
#define DB_INT_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "db.h"

#define BUSY_TIMEOUT_MS 10000 /* how long a statement waits for another writer's lock */

/* The busy timeout a connection is given: BUSY_TIMEOUT_MS; in test builds (CIVICDESK_TEST_HOOKS)
 * CIVICDESK_TEST_BUSY_MS=N (1..BUSY_TIMEOUT_MS) shortens it, so that a test of the lock-timeout
 * path does not wait the full ten seconds per attempt. */
int db_busy_timeout_ms(void);

/* The VFS every connection opens its files through (db_vfs.c): SQLite's own, with the frames of
 * a WAL transaction written in one system call. */
#define DB_VFS_NAME "civicdesk"
/* Registers it (once per process, before any connection opens): its name, or NULL when it
 * could not be (connections then use SQLite's default VFS). */
const char *db_vfs_register(void);

/* A migration built into the binary (generated from schema/ by tools/embed). */
struct db_blob {
	const char *name; /* base name, e.g. "001_init.sql" */
	const char *data; /* SQL text, NUL-terminated */
	size_t len;
};

extern const struct db_blob db_migrations[]; /* sorted by name; ends with { NULL, NULL, 0 } */

/* A new item left for db_items_flush: the item (its caller's until the flush) and a copy of
 * its tracking number (the caller's may be lent for the insert only: db_submit.c). */
struct db_later {
	const struct db_item *item;
	char tracking[32];
};

struct db_conn {
	sqlite3 *h;
	struct db_conn *next;   /* in the store's free list */
	struct db_conn *all;    /* in the store's list of every connection */
	struct db_cached *cache; /* prepared statements, open addressing on the SQL's address */
	size_t cache_size;      /* slots, a power of two */
	size_t cache_used;
	struct db *store;       /* the pool it belongs to; NULL for a file opened on its own */
	void *user;             /* its user's state (db_conn_user), freed by user_free */
	void (*user_free)(void *);
	int unwritable;         /* SQLite's primary code when a statement failed because the
	                         * database is full, read-only, locked or unreadable; 0 otherwise
	                         * (reset by db_acquire) */
	size_t last;            /* the cache slot db_prep last handed out (stmt_end marks it clean) */
	/* new items db_item_insert gave an id but did not write (insert_later), in order:
	 * db_items_flush writes them; a transaction's end forgets them (db_commit refuses) */
	struct db_later *later;
	size_t nlater, caplater;
	int64_t later_next;     /* with nlater > 0: the id the next new item of the transaction gets */
};

/* Remembers on c that rc (a failed statement's result) means the database cannot take writes
 * now (db_unavailable). */
void db_note_error(struct db_conn *c, int rc);

struct db_cached {
	const char *sql; /* key: address of a string in a static const table */
	sqlite3_stmt *st;
	int clean;       /* 1: reset with its bindings cleared since db_prep last handed it out */
};

/* A connection to an existing database file, without migrations and in the file's own journal
 * mode (a backup stays as it is): for backup, restore and verification. NULL with err set. */
struct db_conn *db_conn_open_file(const char *path, int readonly, char *err, size_t errsize);
void db_conn_close(struct db_conn *c);

/* Chains the audit rows that have no hash yet (written before migration 009), in one
 * transaction; *count says how many. 0 or -1. (db_audit.c) */
int db_audit_seal(struct db_conn *c, int64_t *count);

/* fsync of the file path, or of the folder holding it when dir is set (db_backup.c). 0 or -1. */
int db_sync_path(const char *path, int dir);

/* Logs a storage error with the library's own words. */
void db_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The same for a failed statement on c, after db_note_error: when it means the database cannot
 * take writes (full, read-only, I/O), at most one line a minute per store (with how many were
 * left out), so that a full disk does not flood the log. */
void db_log_failure(struct db_conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Notes and logs the error of the statement that just failed on c (a direct sqlite3_step
 * write path): db_note_error with SQLite's code, then db_log_failure with what and its message. */
void db_step_failed(struct db_conn *c, const char *what);

/* The prepared statement for sql (a string from a static const table of the calling file),
 * prepared once per connection and reset before it is returned; NULL on error (logged). The
 * caller calls db_reset() when done with it, so that no read transaction stays open. */
sqlite3_stmt *db_prep(struct db_conn *c, const char *sql);
void db_reset(sqlite3_stmt *st);

/* Rows of a C array read by SQL through the table-valued function db_rows(?) (db_batch.c):
 * columns c0..c15, each a member of the row (an int64_t, or a const char * read as text, NULL
 * as SQL NULL) or unused (NULL). */
#define DB_ROWS_COLS 24 /* as many as db_batch.c declares */
/* A member read as a column: int64_t, const char * (NULL: SQL NULL), or an array of
 * DB_ROWS_HASH_LEN bytes in the row itself (a BLOB: a BLAKE2b hash) */
enum db_rows_type { DB_ROWS_NONE, DB_ROWS_INT, DB_ROWS_TEXT, DB_ROWS_HASH };
#define DB_ROWS_HASH_LEN 32
struct db_rows_col {
	enum db_rows_type type;
	size_t offset; /* of the member in the row */
};
struct db_rows {
	const void *rows; /* the first row */
	size_t n, size;   /* rows, and the size of one */
	struct db_rows_col cols[DB_ROWS_COLS];
};
/* Makes db_rows(?) known on connection h. 0 or -1. */
int db_rows_register(sqlite3 *h);
/* Makes the queue's search function cd_match(subject, body, words) known on connection h
 * (db_search.c): 1 when every word of the blob words (a struct db_search's words, each ended by
 * a NUL) occurs in the subject or the body, all three folded by db_fold; NULL words: 1. 0 or
 * -1. */
int db_search_register(sqlite3 *h);
/* Binds r to parameter i of st, for db_rows(?i); r and its rows (and strings) are lent until the
 * statement is reset. 0 or -1. */
int db_bind_rows(sqlite3_stmt *st, int i, const struct db_rows *r);
/* Sets r to n rows of size bytes from rows, read through the ncols columns cols (c0, c1, ...).
 * 0, or -1 when ncols is more than DB_ROWS_COLS. */
int db_rows_set(struct db_rows *r, const void *rows, size_t n, size_t size,
                const struct db_rows_col *cols, size_t ncols);
/* Runs sql (of the calling file's static table), whose only parameter is db_rows(?1), over r on
 * c: 0 or -1. sqlite3_changes(c->h) then tells the rows it wrote. */
int db_rows_exec(struct db_conn *c, const char *sql, const struct db_rows *r);

/* Binding helpers: NULL text binds SQL NULL. Return 0 or -1. */
int db_bind_text(sqlite3_stmt *st, int i, const char *s);
int db_bind_int(sqlite3_stmt *st, int i, int64_t v);
int db_bind_blob(sqlite3_stmt *st, int i, const void *p, size_t n);

/* A new copy of a text column, or NULL for SQL NULL (or out of memory). */
char *db_col_text(sqlite3_stmt *st, int i);
/* Column i read by parse (role_parse, kind_parse, channel_parse, wf_state_parse): the enum, or
 * -1 for NULL or a name this binary does not know. */
int db_col_name(sqlite3_stmt *st, int i, int (*parse)(const char *));

/* Appends every column of st's current row to r (emptied first): per column its type
 * (SQLITE_INTEGER … SQLITE_NULL, one byte), then an integer or a float as 8 bytes, a text or a
 * blob as its length (4 bytes), its bytes and a NUL. 0, or -1 (out of memory, over
 * DB_ROW_MAX). */
int db_row_read(sqlite3_stmt *st, struct db_row *r);
/* Reads a row of db_row_read back, column after column. */
struct db_row_cursor {
	const unsigned char *p, *end;
};
/* The type of the next column (SQLITE_NULL past the end), without moving. */
int db_rowc_type(const struct db_row_cursor *c);
/* The next column as an integer (0 for NULL or another type). */
int64_t db_rowc_int(struct db_row_cursor *c);
/* The next column as a string lent from the row (NULL for SQL NULL or another type). */
const char *db_rowc_text(struct db_row_cursor *c);
/* The next column read by parse (kind_parse, wf_state_parse): the enum, or -1. */
int db_rowc_name(struct db_row_cursor *c, int (*parse)(const char *));
/* A text lent from a row into a struct's char * field (never written through, never freed). */
#define DB_LENT(s) ((char *)(s))

/* Runs a statement that returns no rows: 0 or -1 (logged). Resets it. */
int db_exec_stmt(struct db_conn *c, sqlite3_stmt *st);
/* Binds v[0..n) to the parameters 1..n of st and runs it as db_exec_stmt does: 0 or -1. */
int db_exec_ints(struct db_conn *c, sqlite3_stmt *st, const int64_t *v, size_t n);
/* Steps the bound statement st, reading its first column of up to max rows into v: 0 with *n
 * written, or -1 (logged). Resets it. */
int db_step_ints(struct db_conn *c, sqlite3_stmt *st, int64_t *v, size_t max, size_t *n);

/* Room for one more element of `size` bytes in the array v, which holds len of *cap: v itself
 * while there is room, else a larger copy (*cap updated, v freed by realloc). NULL when out of
 * memory, v then untouched. */
void *db_grow(void *v, size_t len, size_t *cap, size_t size);
/* Steps the bound statement st to its end, reading each row into a new array of size-byte
 * elements: each element is zeroed and counted before read fills it, so that free_rows (which
 * must accept partly filled elements) releases everything on failure. Resets st. 0 with *out
 * and *n written, or -1 (logged with what). */
int db_list_rows(struct db_conn *c, sqlite3_stmt *st, size_t size, const char *what,
                 int (*read)(sqlite3_stmt *st, void *row), void (*free_rows)(void *rows, size_t n),
                 void **out, size_t *n);

#endif
