/* db_audit.c: the append-only audit log as a tamper-evident chain. Each row's hash is BLAKE2b-256
 * (libsodium) over a fixed encoding of its columns and the previous row's hash, written in the
 * same transaction as the row; verification recomputes the chain from the first row. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "db_int.h"

#define CHAIN_DOMAIN "civicdesk audit chain v1"
#define CHAIN_FIELDS 9 /* id, at, actor_id, actor, addr, action, target, detail, ok */

enum stmt {
	STMT_LAST,
	STMT_ADD,
	STMT_FROM,
	STMT_SEAL,
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
};

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
		return 0;
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
	if (db_bind_int(st, 1, newid) || db_bind_int(st, 2, a->at) ||
	    (a->actor_id ? db_bind_int(st, 3, a->actor_id)
	                 : sqlite3_bind_null(st, 3) != SQLITE_OK) ||
	    db_bind_text(st, 4, a->actor ? a->actor : "system") || db_bind_text(st, 5, a->addr) ||
	    db_bind_text(st, 6, a->action) || db_bind_text(st, 7, a->target) ||
	    db_bind_text(st, 8, a->detail) || db_bind_int(st, 9, a->ok) ||
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

int
db_audit_verify(struct db_conn *c, struct db_audit_check *out)
{
	sqlite3_stmt *st = db_prep(c, stmts[STMT_FROM]);
	unsigned char prev[DB_AUDIT_HASH], h[DB_AUDIT_HASH];
	int64_t expect = 1, id;
	int rc = SQLITE_DONE, broken = 0;

	memset(out, 0, sizeof(*out));
	if (st == NULL)
		return -1;
	memset(prev, 0, sizeof(prev));
	if (db_bind_int(st, 1, INT64_MIN) != 0) {
		db_reset(st);
		return -1;
	}
	while (!broken && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		id = sqlite3_column_int64(st, 0);
		out->broken_id = id;
		if (id != expect) {
			if (id > expect)
				snprintf(out->reason, sizeof(out->reason),
				         "record %lld is missing (the log goes from %lld to %lld)",
				         (long long)expect, (long long)(expect - 1), (long long)id);
			else
				snprintf(out->reason, sizeof(out->reason), "record %lld is out of place",
				         (long long)id);
			out->broken_id = id > expect ? expect : id;
			broken = 1;
			break;
		}
		if (sqlite3_column_bytes(st, 9) != DB_AUDIT_HASH) {
			snprintf(out->reason, sizeof(out->reason),
			         "record %lld has no hash (the chain ends there; start the service once "
			         "to chain records written before the upgrade)",
			         (long long)id);
			broken = 1;
			break;
		}
		row_hash(st, prev, h);
		if (sodium_memcmp(h, sqlite3_column_blob(st, 9), DB_AUDIT_HASH) != 0) {
			snprintf(out->reason, sizeof(out->reason),
			         "record %lld does not match its hash: it, or the record before it, was "
			         "changed",
			         (long long)id);
			broken = 1;
			break;
		}
		memcpy(prev, h, sizeof(h));
		out->records++;
		out->head_id = id;
		expect = id + 1;
	}
	if (!broken && rc != SQLITE_DONE) {
		db_log("audit: %s", sqlite3_errmsg(c->h));
		db_reset(st);
		return -1;
	}
	db_reset(st);
	memcpy(out->head, prev, sizeof(prev));
	if (!broken)
		out->broken_id = 0;
	return broken;
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
