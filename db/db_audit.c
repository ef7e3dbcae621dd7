/* db_audit.c: the append-only audit log as a tamper-evident chain. Each row's hash is BLAKE2b-256
 * (libsodium) over a fixed encoding of its columns and the previous row's hash, written in the
 * same transaction as the row; verification recomputes the chain from the first row, through
 * the archive files that older records were moved to (audit_archive_days) and on into the live
 * log. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "db_int.h"

#define CHAIN_DOMAIN "civicdesk audit chain v1"
#define CHAIN_FIELDS 9 /* id, at, actor_id, actor, addr, action, target, detail, ok */

enum stmt {
	STMT_LAST,
	STMT_ADD,
	STMT_FROM,
	STMT_SEAL,
	STMT_HAS_ARCHIVES,
	STMT_ANCHOR,
	STMT_ARCHIVES,
	STMT_FIRST_AT,
	STMT_ARCH_ADD,
	STMT_ARCH_DELETE,
	STMT_FILE_META,
	STMT_FILE_ROWS,
	STMT__MAX
};

static const char *const stmts[STMT__MAX] = {
    [STMT_LAST] = "SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1",
    [STMT_ADD] = "INSERT INTO audit (id, at, actor_id, actor, addr, action, target, detail, ok, "
                 "hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    /* Rows from id ?1 on, in chain order, with the columns the hash covers. */
    [STMT_FROM] = "SELECT id, at, actor_id, actor, addr, action, target, detail, ok, hash "
                  "FROM audit WHERE id >= ? ORDER BY id",
    [STMT_SEAL] = "UPDATE audit SET hash = ? WHERE id = ? AND hash IS NULL",
    [STMT_HAS_ARCHIVES] = "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND "
                          "name = 'audit_archives'",
    /* where the live chain goes on from when older records were archived */
    [STMT_ANCHOR] = "SELECT last_id, last_hash FROM audit_archives ORDER BY last_id DESC LIMIT 1",
    [STMT_ARCHIVES] = "SELECT first_id, last_id, prev_hash, last_hash, file FROM audit_archives "
                      "ORDER BY first_id",
    /* the first record at or after a time: archiving stops before it */
    [STMT_FIRST_AT] = "SELECT min(id) FROM audit WHERE at >= ?",
    [STMT_ARCH_ADD] = "INSERT INTO audit_archives (first_id, last_id, prev_hash, last_hash, file, "
                      "at) VALUES (?, ?, ?, ?, ?, ?)",
    [STMT_ARCH_DELETE] = "DELETE FROM audit WHERE id <= ?",
    /* in an archive file */
    [STMT_FILE_META] = "SELECT first_id, last_id, prev_hash, last_hash FROM archive",
    [STMT_FILE_ROWS] = "SELECT id, at, actor_id, actor, addr, action, target, detail, ok, hash "
                       "FROM audit ORDER BY id",
};

/* The DDL of an archive file: the records as in the live log, and what the archive holds. */
static const char archive_ddl[] =
    "CREATE TABLE audit (id INTEGER PRIMARY KEY, at INTEGER NOT NULL, actor_id INTEGER, "
    "actor TEXT NOT NULL, addr TEXT, action TEXT NOT NULL, target TEXT, detail TEXT, "
    "ok INTEGER NOT NULL, hash BLOB NOT NULL);"
    "CREATE TABLE archive (first_id INTEGER NOT NULL, last_id INTEGER NOT NULL, "
    "prev_hash BLOB NOT NULL, last_hash BLOB NOT NULL, created INTEGER NOT NULL);"
    "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit "
    "BEGIN SELECT RAISE(ABORT, 'archived audit records are read-only'); END;"
    "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit "
    "BEGIN SELECT RAISE(ABORT, 'archived audit records are read-only'); END;";

/* One column as the hash sees it: its SQLite type and value. */
struct field {
	int type; /* SQLITE_INTEGER, SQLITE_TEXT, SQLITE_NULL, or SQLITE_BLOB for anything else */
	int64_t i;
	const void *p;
	size_t n;
};

static void
field_int(struct field *f, int64_t v)
{
	f->type = SQLITE_INTEGER;
	f->i = v;
}

static void
field_text(struct field *f, const char *s)
{
	if (s == NULL) {
		f->type = SQLITE_NULL;
		return;
	}
	f->type = SQLITE_TEXT;
	f->p = s;
	f->n = strlen(s);
}

static void
field_column(struct field *f, sqlite3_stmt *st, int col)
{
	f->type = sqlite3_column_type(st, col);
	switch (f->type) {
	case SQLITE_INTEGER:
		f->i = sqlite3_column_int64(st, col);
		break;
	case SQLITE_NULL:
		break;
	case SQLITE_TEXT:
		f->p = sqlite3_column_text(st, col);
		f->n = (size_t)sqlite3_column_bytes(st, col);
		break;
	default: /* a real or a blob where none was written: hashed as bytes, so it never matches */
		f->type = SQLITE_BLOB;
		f->p = sqlite3_column_blob(st, col);
		f->n = (size_t)sqlite3_column_bytes(st, col);
		break;
	}
}

static void
put_u64(crypto_generichash_state *s, uint64_t v)
{
	unsigned char b[8];
	int k;

	for (k = 0; k < 8; k++)
		b[k] = (unsigned char)(v >> (8 * k));
	crypto_generichash_update(s, b, sizeof(b));
}

/* BLAKE2b-256 over the domain, each field as type tag + value (integers as 8 bytes little
 * endian, text and bytes as length + bytes), and prev. */
static void
chain_hash(const struct field f[CHAIN_FIELDS], const unsigned char prev[DB_AUDIT_HASH],
           unsigned char out[DB_AUDIT_HASH])
{
	crypto_generichash_state s;
	unsigned char tag;
	size_t k;

	crypto_generichash_init(&s, NULL, 0, DB_AUDIT_HASH);
	crypto_generichash_update(&s, (const unsigned char *)CHAIN_DOMAIN, sizeof(CHAIN_DOMAIN));
	for (k = 0; k < CHAIN_FIELDS; k++) {
		tag = (unsigned char)f[k].type;
		crypto_generichash_update(&s, &tag, 1);
		if (f[k].type == SQLITE_INTEGER)
			put_u64(&s, (uint64_t)f[k].i);
		else if (f[k].type != SQLITE_NULL) {
			put_u64(&s, f[k].n);
			if (f[k].n > 0)
				crypto_generichash_update(&s, f[k].p, f[k].n);
		}
	}
	crypto_generichash_update(&s, prev, DB_AUDIT_HASH);
	crypto_generichash_final(&s, out, DB_AUDIT_HASH);
}

/* The hash of the row under st (columns as STMT_FROM orders them) chained on prev. */
static void
row_hash(sqlite3_stmt *st, const unsigned char prev[DB_AUDIT_HASH],
         unsigned char out[DB_AUDIT_HASH])
{
	struct field f[CHAIN_FIELDS];
	int k;

	memset(f, 0, sizeof(f));
	for (k = 0; k < CHAIN_FIELDS; k++)
		field_column(&f[k], st, k);
	chain_hash(f, prev, out);
}

/* Runs a one-integer query (bound to v when bind) into *out (0 for NULL). 0 or -1. */
static int
one_int(struct db_conn *c, enum stmt which, int bind, int64_t v, int64_t *out)
{
	sqlite3_stmt *st = db_prep(c, stmts[which]);
	int rc;

	if (st == NULL || (bind && db_bind_int(st, 1, v) != 0)) {
		db_reset(st);
		return -1;
	}
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		db_note_error(c, rc);
		db_log("audit: %s", sqlite3_errmsg(c->h));
		db_reset(st);
		return -1;
	}
	*out = sqlite3_column_int64(st, 0);
	db_reset(st);
	return 0;
}

/* 1 if the database has the table of archives (schema 15 on), 0 if not, -1 on error. */
static int
has_archives(struct db_conn *c)
{
	int64_t n;

	return one_int(c, STMT_HAS_ARCHIVES, 0, 0, &n) != 0 ? -1 : n > 0;
}

/* The newest archive's last record and hash: 1, 0 when nothing was archived, -1 on error. */
static int
archive_anchor(struct db_conn *c, int64_t *id, unsigned char hash[DB_AUDIT_HASH])
{
	sqlite3_stmt *st;
	int rc = has_archives(c);

	if (rc <= 0)
		return rc;
	st = db_prep(c, stmts[STMT_ANCHOR]);
	if (st == NULL)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		db_reset(st);
		return 0;
	}
	if (rc != SQLITE_ROW || sqlite3_column_bytes(st, 1) != DB_AUDIT_HASH) {
		db_log("audit: archives: %s", sqlite3_errmsg(c->h));
		db_reset(st);
		return -1;
	}
	*id = sqlite3_column_int64(st, 0);
	memcpy(hash, sqlite3_column_blob(st, 1), DB_AUDIT_HASH);
	db_reset(st);
	return 1;
}

/* The newest row: 1 with its id and hash (*sealed 0 when it has none yet), 0 when the log is
 * empty, -1 on error. */
static int
last_row(struct db_conn *c, int64_t *id, unsigned char hash[DB_AUDIT_HASH], int *sealed)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_LAST]);
	int rc;

	if (st == NULL)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		db_reset(st);
		/* every record archived: the chain goes on from the newest archive */
		rc = archive_anchor(c, id, hash);
		if (rc > 0)
			*sealed = 1;
		return rc;
	}
	if (rc != SQLITE_ROW) {
		db_log("audit: %s", sqlite3_errmsg(c->h));
		db_reset(st);
		return -1;
	}
	*id = sqlite3_column_int64(st, 0);
	*sealed = sqlite3_column_bytes(st, 1) == DB_AUDIT_HASH;
	if (*sealed)
		memcpy(hash, sqlite3_column_blob(st, 1), DB_AUDIT_HASH);
	db_reset(st);
	return 1;
}

/* Gives every row without a hash its hash, in id order, inside the caller's transaction.
 * Rows get their hash when written, so only rows older than migration 009 lack one; they come
 * before every sealed row. */
static int
seal_rows(struct db_conn *c, int64_t *count)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_FROM]), *up;
	unsigned char prev[DB_AUDIT_HASH], h[DB_AUDIT_HASH];
	int64_t n = 0;
	int rc;

	if (st == NULL)
		return -1;
	memset(prev, 0, sizeof(prev));
	if (db_bind_int(st, 1, INT64_MIN) != 0) {
		db_reset(st);
		return -1;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (sqlite3_column_bytes(st, 9) == DB_AUDIT_HASH) {
			memcpy(prev, sqlite3_column_blob(st, 9), DB_AUDIT_HASH);
			continue;
		}
		row_hash(st, prev, h);
		up = db_prep(c, stmts[STMT_SEAL]);
		if (up == NULL || db_bind_blob(up, 1, h, sizeof(h)) != 0 ||
		    db_bind_int(up, 2, sqlite3_column_int64(st, 0)) != 0 || db_exec_stmt(c, up) != 0) {
			db_reset(up);
			db_reset(st);
			return -1;
		}
		memcpy(prev, h, sizeof(h));
		n++;
	}
	db_reset(st);
	if (rc != SQLITE_DONE) {
		db_log("audit: sealing: %s", sqlite3_errmsg(c->h));
		return -1;
	}
	*count = n;
	return 0;
}

int
db_audit_seal(struct db_conn *c, int64_t *count)
{
	unsigned char h[DB_AUDIT_HASH];
	int64_t id;
	int sealed = 1, rc;

	*count = 0;
	/* a read first: a sealed log (every database after its first start) needs no write */
	rc = last_row(c, &id, h, &sealed);
	if (rc <= 0 || sealed)
		return rc < 0 ? -1 : 0;
	if (db_begin(c) != 0)
		return -1;
	rc = last_row(c, &id, h, &sealed);
	if (rc < 0 || (rc > 0 && !sealed && seal_rows(c, count) != 0)) {
		db_rollback(c);
		return -1;
	}
	return db_commit(c);
}

int
db_audit_add(struct db_conn *c, const struct db_audit *a, int64_t *id)
{
	sqlite3_stmt *st;
	struct field f[CHAIN_FIELDS];
	unsigned char prev[DB_AUDIT_HASH], h[DB_AUDIT_HASH];
	int64_t last = 0, newid, sealed_n;
	int own = sqlite3_get_autocommit(c->h), sealed = 1, rc = -1, k;

	/* The previous hash and the insert must be one transaction: the caller's, or our own. */
	if (own && db_begin(c) != 0)
		return -1;
	memset(prev, 0, sizeof(prev));
	k = last_row(c, &last, prev, &sealed);
	if (k < 0)
		goto out;
	if (k > 0 && !sealed) {
		if (seal_rows(c, &sealed_n) != 0 || last_row(c, &last, prev, &sealed) < 0)
			goto out;
	}
	newid = last + 1;
	memset(f, 0, sizeof(f));
	field_int(&f[0], newid);
	field_int(&f[1], a->at);
	if (a->actor_id != 0)
		field_int(&f[2], a->actor_id);
	else
		f[2].type = SQLITE_NULL;
	field_text(&f[3], a->actor ? a->actor : "system");
	field_text(&f[4], a->addr);
	field_text(&f[5], a->action);
	field_text(&f[6], a->target);
	field_text(&f[7], a->detail);
	field_int(&f[8], a->ok);
	chain_hash(f, prev, h);

	st = db_prep(c, stmts[STMT_ADD]);
	if (st == NULL)
		goto out;
	if (db_bind_int(st, 1, newid) ||
	    db_bind_int(st, 2, a->at) ||
	    (a->actor_id ? db_bind_int(st, 3, a->actor_id) : sqlite3_bind_null(st, 3) != SQLITE_OK) ||
	    db_bind_text(st, 4, a->actor ? a->actor : "system") ||
	    db_bind_text(st, 5, a->addr) ||
	    db_bind_text(st, 6, a->action) ||
	    db_bind_text(st, 7, a->target) ||
	    db_bind_text(st, 8, a->detail) ||
	    db_bind_int(st, 9, a->ok) ||
	    db_bind_blob(st, 10, h, sizeof(h))) {
		db_reset(st);
		goto out;
	}
	if (db_exec_stmt(c, st) != 0)
		goto out;
	if (own && db_commit(c) != 0) {
		own = 0; /* db_commit rolled back */
		goto out;
	}
	own = 0;
	if (id != NULL)
		*id = newid;
	rc = 0;
out:
	if (own)
		db_rollback(c);
	return rc;
}

/* The chain as it is being checked: the hash to chain on and the id expected next. */
struct chain_pos {
	unsigned char prev[DB_AUDIT_HASH];
	int64_t expect;
	const struct db_audit_anchor *anchor; /* NULL: none */
	int anchor_seen;
};

/* Checks the rows of st (columns as STMT_FROM orders them) against the chain from pos, moving
 * it on; where names the place ("" for the live log, else " in archive FILE"). 0 intact, 1
 * broken (out says where), -1 error. Resets st. */
static int
verify_rows(sqlite3_stmt *st, struct chain_pos *pos, const char *where,
            struct db_audit_check *out)
{
	unsigned char h[DB_AUDIT_HASH];
	int64_t id;
	int rc, broken = 0;

	while (!broken && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		id = sqlite3_column_int64(st, 0);
		out->broken_id = id;
		if (id != pos->expect) {
			if (id > pos->expect)
				snprintf(out->reason, sizeof(out->reason),
				         "record %lld is missing (the log goes from %lld to %lld%s)",
				         (long long)pos->expect, (long long)(pos->expect - 1),
				         (long long)id, where);
			else
				snprintf(out->reason, sizeof(out->reason),
				         "record %lld is out of place%s", (long long)id, where);
			out->broken_id = id > pos->expect ? pos->expect : id;
			broken = 1;
			break;
		}
		if (sqlite3_column_bytes(st, 9) != DB_AUDIT_HASH) {
			snprintf(out->reason, sizeof(out->reason),
			         "record %lld has no hash (the chain ends there; start the service once "
			         "to chain records written before the upgrade)%s",
			         (long long)id, where);
			broken = 1;
			break;
		}
		row_hash(st, pos->prev, h);
		if (sodium_memcmp(h, sqlite3_column_blob(st, 9), DB_AUDIT_HASH) != 0) {
			snprintf(out->reason, sizeof(out->reason),
			         "record %lld does not match its hash: it, or the record before it, was "
			         "changed%s",
			         (long long)id, where);
			broken = 1;
			break;
		}
		if (pos->anchor != NULL && id == pos->anchor->id) {
			pos->anchor_seen = 1;
			if (sodium_memcmp(h, pos->anchor->hash, DB_AUDIT_HASH) != 0) {
				snprintf(out->reason, sizeof(out->reason),
				         "record %lld no longer has the hash anchored for it: the chain "
				         "was written again up to there%s",
				         (long long)id, where);
				broken = 1;
				break;
			}
		}
		memcpy(pos->prev, h, sizeof(h));
		out->records++;
		out->head_id = id;
		pos->expect = id + 1;
	}
	if (!broken && rc != SQLITE_DONE) {
		db_log("audit: %s", sqlite3_errmsg(sqlite3_db_handle(st)));
		db_reset(st);
		return -1;
	}
	db_reset(st);
	return broken;
}

/* Checks the archive file `file` that the live log says holds records first..last chained
 * from prev to last_hash, moving pos on. 0 intact, 1 broken (out says why), -1 error. */
static int
verify_archive(const char *file, int64_t first, int64_t last, const unsigned char *prev,
               const unsigned char *last_hash, struct chain_pos *pos, struct db_audit_check *out)
{
	char err[256], where[300];
	struct db_conn *a;
	sqlite3_stmt *st;
	int64_t before = out->records;
	int rc;

	snprintf(where, sizeof(where), " in archive %s", file);
	if (first != pos->expect || sodium_memcmp(prev, pos->prev, DB_AUDIT_HASH) != 0) {
		out->broken_id = pos->expect;
		snprintf(out->reason, sizeof(out->reason),
		         "the archive list does not go on from record %lld (archive %s starts at "
		         "%lld)", (long long)(pos->expect - 1), file, (long long)first);
		return 1;
	}
	a = access(file, R_OK) == 0 ? db_conn_open_file(file, 1, err, sizeof(err)) : NULL;
	if (a == NULL) {
		out->broken_id = first;
		snprintf(out->reason, sizeof(out->reason),
		         "records %lld to %lld are missing: their archive %s cannot be read",
		         (long long)first, (long long)last, file);
		return 1;
	}
	st = db_prep(a, stmts[STMT_FILE_META]);
	rc = st != NULL ? sqlite3_step(st) : SQLITE_ERROR;
	if (rc != SQLITE_ROW || sqlite3_column_int64(st, 0) != first ||
	    sqlite3_column_int64(st, 1) != last ||
	    sqlite3_column_bytes(st, 2) != DB_AUDIT_HASH ||
	    sqlite3_column_bytes(st, 3) != DB_AUDIT_HASH ||
	    sodium_memcmp(sqlite3_column_blob(st, 2), prev, DB_AUDIT_HASH) != 0 ||
	    sodium_memcmp(sqlite3_column_blob(st, 3), last_hash, DB_AUDIT_HASH) != 0) {
		db_reset(st);
		db_conn_close(a);
		out->broken_id = first;
		snprintf(out->reason, sizeof(out->reason),
		         "archive %s is not the one recorded for records %lld to %lld", file,
		         (long long)first, (long long)last);
		return 1;
	}
	db_reset(st);
	st = db_prep(a, stmts[STMT_FILE_ROWS]);
	rc = st == NULL ? -1 : verify_rows(st, pos, where, out);
	db_conn_close(a);
	if (rc != 0)
		return rc;
	if (pos->expect != last + 1 || sodium_memcmp(pos->prev, last_hash, DB_AUDIT_HASH) != 0) {
		out->broken_id = pos->expect;
		snprintf(out->reason, sizeof(out->reason),
		         "archive %s ends at record %lld, not %lld as recorded", file,
		         (long long)(pos->expect - 1), (long long)last);
		return 1;
	}
	out->archived += out->records - before;
	out->archives++;
	return 0;
}

/* Checks every archive in order, moving pos on to where the live log starts. 0, 1, -1. */
static int
verify_archives(struct db_conn *c, struct chain_pos *pos, struct db_audit_check *out)
{
	sqlite3_stmt *st;
	char *file;
	unsigned char prev[DB_AUDIT_HASH], last_hash[DB_AUDIT_HASH];
	int64_t first, last;
	int rc = has_archives(c), step;

	if (rc <= 0)
		return rc;
	st = db_prep(c, stmts[STMT_ARCHIVES]);
	if (st == NULL)
		return -1;
	rc = 0;
	while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
		first = sqlite3_column_int64(st, 0);
		last = sqlite3_column_int64(st, 1);
		if (sqlite3_column_bytes(st, 2) != DB_AUDIT_HASH ||
		    sqlite3_column_bytes(st, 3) != DB_AUDIT_HASH) {
			out->broken_id = first;
			snprintf(out->reason, sizeof(out->reason), "the archive list is damaged");
			rc = 1;
			break;
		}
		memcpy(prev, sqlite3_column_blob(st, 2), DB_AUDIT_HASH);
		memcpy(last_hash, sqlite3_column_blob(st, 3), DB_AUDIT_HASH);
		file = db_col_text(st, 4);
		rc = file == NULL ? -1 : verify_archive(file, first, last, prev, last_hash, pos, out);
		free(file);
	}
	if (rc == 0 && step != SQLITE_DONE)
		rc = -1;
	db_reset(st);
	return rc;
}

int
db_audit_verify(struct db_conn *c, const struct db_audit_anchor *anchor,
                struct db_audit_check *out)
{
	sqlite3_stmt *st;
	struct chain_pos pos;
	int broken;

	memset(out, 0, sizeof(*out));
	memset(&pos, 0, sizeof(pos));
	pos.expect = 1;
	pos.anchor = anchor != NULL && anchor->id > 0 ? anchor : NULL;
	broken = verify_archives(c, &pos, out);
	if (broken == 0) {
		st = db_prep(c, stmts[STMT_FROM]);
		if (st == NULL || db_bind_int(st, 1, INT64_MIN) != 0) {
			db_reset(st);
			return -1;
		}
		broken = verify_rows(st, &pos, "", out);
	}
	if (broken < 0)
		return -1;
	if (broken == 0 && pos.anchor != NULL && !pos.anchor_seen) {
		out->broken_id = pos.anchor->id;
		snprintf(out->reason, sizeof(out->reason),
		         "record %lld, anchored earlier, is missing: the log ends at record %lld, so "
		         "newer records were deleted",
		         (long long)pos.anchor->id, (long long)(pos.expect - 1));
		broken = 1;
	}
	memcpy(out->head, pos.prev, sizeof(pos.prev));
	if (!broken)
		out->broken_id = 0;
	return broken;
}

/* Creates the archive file tmp with records first..last of c, checked against the chain from
 * prev (*last_hash: the hash of record last). 0, or -1 with err. */
static int
write_archive(struct db_conn *c, const char *tmp, int64_t first, int64_t last,
              const unsigned char prev[DB_AUDIT_HASH], int64_t now,
              unsigned char last_hash[DB_AUDIT_HASH], char *err, size_t errsize)
{
	struct db_audit_check chk;
	struct chain_pos pos;
	sqlite3 *a = NULL;
	sqlite3_stmt *rd = db_prep(c, stmts[STMT_FROM]), *wr = NULL, *meta = NULL;
	unsigned char h[DB_AUDIT_HASH];
	int rc, k, ret = -1;

	memset(&chk, 0, sizeof(chk));
	memcpy(pos.prev, prev, DB_AUDIT_HASH);
	pos.expect = first;
	if (rd == NULL || db_bind_int(rd, 1, first) != 0) {
		snprintf(err, errsize, "audit: %s", sqlite3_errmsg(c->h));
		goto out;
	}
	unlink(tmp);
	if (sqlite3_open_v2(tmp, &a, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
	        SQLITE_OK ||
	    sqlite3_exec(a, "PRAGMA synchronous=FULL; BEGIN;", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(a, archive_ddl, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(a,
	                       "INSERT INTO audit (id, at, actor_id, actor, addr, action, target, "
	                       "detail, ok, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	                       -1, &wr, NULL) != SQLITE_OK) {
		snprintf(err, errsize, "%s: %s", tmp, a ? sqlite3_errmsg(a) : "cannot create");
		goto out;
	}
	while ((rc = sqlite3_step(rd)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(rd, 0);

		if (id > last)
			break;
		if (id != pos.expect || sqlite3_column_bytes(rd, 9) != DB_AUDIT_HASH) {
			snprintf(err, errsize, "audit record %lld is missing or has no hash: nothing "
			         "archived (run civicdesk audit verify)", (long long)pos.expect);
			goto out;
		}
		row_hash(rd, pos.prev, h);
		if (sodium_memcmp(h, sqlite3_column_blob(rd, 9), DB_AUDIT_HASH) != 0) {
			snprintf(err, errsize, "audit record %lld does not match its hash: nothing "
			         "archived (run civicdesk audit verify)", (long long)id);
			goto out;
		}
		memcpy(pos.prev, h, sizeof(h));
		pos.expect = id + 1;
		/* the values as they are (types included): the hash covers them */
		for (k = 0; k < 10; k++)
			sqlite3_bind_value(wr, k + 1, sqlite3_column_value(rd, k));
		if (sqlite3_step(wr) != SQLITE_DONE) {
			snprintf(err, errsize, "%s: %s", tmp, sqlite3_errmsg(a));
			goto out;
		}
		sqlite3_reset(wr);
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		snprintf(err, errsize, "audit: %s", sqlite3_errmsg(c->h));
		goto out;
	}
	if (pos.expect != last + 1) {
		snprintf(err, errsize, "audit records %lld to %lld are not all there: nothing "
		         "archived", (long long)first, (long long)last);
		goto out;
	}
	if (sqlite3_prepare_v2(a, "INSERT INTO archive VALUES (?, ?, ?, ?, ?)", -1, &meta, NULL) !=
	        SQLITE_OK ||
	    sqlite3_bind_int64(meta, 1, first) != SQLITE_OK ||
	    sqlite3_bind_int64(meta, 2, last) != SQLITE_OK ||
	    sqlite3_bind_blob(meta, 3, prev, DB_AUDIT_HASH, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_blob(meta, 4, pos.prev, DB_AUDIT_HASH, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_int64(meta, 5, now) != SQLITE_OK || sqlite3_step(meta) != SQLITE_DONE ||
	    sqlite3_exec(a, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(err, errsize, "%s: %s", tmp, sqlite3_errmsg(a));
		goto out;
	}
	memcpy(last_hash, pos.prev, DB_AUDIT_HASH);
	ret = 0;
out:
	db_reset(rd);
	sqlite3_finalize(wr);
	sqlite3_finalize(meta);
	if (a != NULL && sqlite3_close(a) != SQLITE_OK && ret == 0) {
		snprintf(err, errsize, "%s: cannot close", tmp);
		ret = -1;
	}
	if (ret != 0)
		unlink(tmp);
	return ret;
}

/* fsync of a file or folder by path. 0 or -1. */
static int
sync_path(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

int
db_audit_archive(struct db_conn *c, const char *dir, int64_t before, int64_t now,
                 struct db_archive_info *out, char *err, size_t errsize)
{
	unsigned char prev[DB_AUDIT_HASH], last_hash[DB_AUDIT_HASH];
	char tmp[sizeof(out->file) + 8];
	int64_t anchor = 0, first, last, next;
	sqlite3_stmt *st;
	int rc;

	memset(out, 0, sizeof(*out));
	memset(prev, 0, sizeof(prev));
	rc = archive_anchor(c, &anchor, prev);
	if (rc < 0) {
		snprintf(err, errsize, "audit: %s", sqlite3_errmsg(c->h));
		return -1;
	}
	first = anchor + 1;
	/* the prefix of the log older than `before`: up to the first record at or after it */
	if (one_int(c, STMT_FIRST_AT, 1, before, &next) != 0) {
		snprintf(err, errsize, "audit: %s", sqlite3_errmsg(c->h));
		return -1;
	}
	if (next == 0) { /* every record is older: all of them */
		int64_t head;
		unsigned char hh[DB_AUDIT_HASH];
		int sealed = 0;

		if (last_row(c, &head, hh, &sealed) < 0) {
			snprintf(err, errsize, "audit: %s", sqlite3_errmsg(c->h));
			return -1;
		}
		last = head;
	} else
		last = next - 1;
	if (last < first)
		return 0;
	snprintf(out->file, sizeof(out->file), "%s/audit-%lld-%lld.db", dir, (long long)first,
	         (long long)last);
	snprintf(tmp, sizeof(tmp), "%s.tmp", out->file);
	/* 1. the file, complete and durable under its name, before anything leaves the log */
	if (db_begin_read(c) != 0) {
		snprintf(err, errsize, "audit: %s", sqlite3_errmsg(c->h));
		return -1;
	}
	rc = write_archive(c, tmp, first, last, prev, now, last_hash, err, errsize);
	db_end_read(c);
	if (rc != 0)
		return -1;
	if (sync_path(tmp) != 0 || rename(tmp, out->file) != 0 || sync_path(dir) != 0) {
		snprintf(err, errsize, "%s: %s", out->file, strerror(errno));
		unlink(tmp);
		return -1;
	}
	/* 2. the archive recorded and the records deleted, as one, with the caller's audit record
	 * of it (committed by the caller) */
	if (db_begin(c) != 0) {
		snprintf(err, errsize, "audit: %s", sqlite3_errmsg(c->h));
		return -1;
	}
	st = db_prep(c, stmts[STMT_ARCH_ADD]);
	if (st == NULL ||
	    db_bind_int(st, 1, first) ||
	    db_bind_int(st, 2, last) ||
	    db_bind_blob(st, 3, prev, DB_AUDIT_HASH) ||
	    db_bind_blob(st, 4, last_hash, DB_AUDIT_HASH) ||
	    db_bind_text(st, 5, out->file) ||
	    db_bind_int(st, 6, now) ||
	    db_exec_stmt(c, st) != 0) {
		db_reset(st);
		goto fail;
	}
	st = db_prep(c, stmts[STMT_ARCH_DELETE]);
	if (st == NULL || db_bind_int(st, 1, last) != 0 || db_exec_stmt(c, st) != 0) {
		db_reset(st);
		goto fail;
	}
	out->first_id = first;
	out->last_id = last;
	out->records = last - first + 1;
	return 0;
fail:
	snprintf(err, errsize, "audit: %s", sqlite3_errmsg(c->h));
	db_rollback(c);
	return -1;
}

int
db_audit_head(struct db_conn *c, int64_t *id, unsigned char hash[DB_AUDIT_HASH])
{
	int sealed = 0, rc;

	*id = 0;
	memset(hash, 0, DB_AUDIT_HASH);
	rc = last_row(c, id, hash, &sealed);
	return rc < 0 ? -1 : 0;
}
