/*
 * totp.c: the staff second factor: TOTP (RFC 6238, HMAC-SHA1, 6 digits, 30 s) through liboath,
 * its enrolment (a random key shown once as base32 and as an otpauth:// URI, confirmed with a
 * code), one-time recovery codes (stored as BLAKE2b hashes), and the check at login. A code is
 * accepted within one step of the clock and never twice (the newest step used is stored).
 *
 * The keys are sealed at rest: libsodium's secretbox (XSalsa20-Poly1305) with a random nonce
 * per key, over the account's id and the key (a sealed key moved to another account does not
 * open), under a key read from a file outside the database (secret_key_file). A copy of the
 * database alone gives no key away; the key file is backed up apart from it.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <liboath/oath.h>
#include <sodium.h>

#include "core_int.h"

#define TOTP_WINDOW 1 /* steps of clock drift accepted either side */
#define SEAL_PLAIN (8 + DB_TOTP_SECRET) /* what is sealed: the account id (big-endian), the key */
#define KEY_FILE_TEXT (TOTP_SEAL_KEY * 2) /* the key file: hex digits, then a newline */
#define NAMES_SHOWN 10 /* accounts named in a start-up message at most */

_Static_assert(TOTP_SEAL_KEY == crypto_secretbox_KEYBYTES, "the sealing key's size");
_Static_assert(DB_TOTP_SEALED ==
                   crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + SEAL_PLAIN,
               "the sealed key's size");
#define RECOVERY_ALPHABET "abcdefghjkmnpqrstuvwxyz23456789" /* no 0/o, 1/l/i */
#define RECOVERY_CHARS 16 /* characters of a recovery code, without its dashes */

/* The account's key sealed under the key file's key into out. */
static void
seal(const struct app *app, int64_t account_id, const unsigned char key[DB_TOTP_SECRET],
     unsigned char out[DB_TOTP_SEALED])
{
	unsigned char plain[SEAL_PLAIN];
	uint64_t id = (uint64_t)account_id;
	int i;

	for (i = 0; i < 8; i++)
		plain[i] = (unsigned char)(id >> (56 - 8 * i));
	memcpy(plain + 8, key, DB_TOTP_SECRET);
	randombytes_buf(out, crypto_secretbox_NONCEBYTES);
	crypto_secretbox_easy(out + crypto_secretbox_NONCEBYTES, plain, sizeof(plain), out,
	                      app->totp_seal);
	sodium_memzero(plain, sizeof(plain));
}

/* The key of row t in the clear: 0; TOTP_KEY_UNAVAILABLE when it is sealed and the key file
 * is missing or does not open it (a wrong key file, or a row moved from another account). A
 * row written before schema 021 holds the key itself. */
static int
unseal(const struct app *app, const struct db_totp *t, unsigned char key[DB_TOTP_SECRET])
{
	unsigned char plain[SEAL_PLAIN];
	uint64_t id = 0;
	int i;

	if (t->stored_len == DB_TOTP_SECRET) {
		memcpy(key, t->stored, DB_TOTP_SECRET);
		return 0;
	}
	if (!app->totp_seal_ok ||
	    crypto_secretbox_open_easy(plain, t->stored + crypto_secretbox_NONCEBYTES,
	                               DB_TOTP_SEALED - crypto_secretbox_NONCEBYTES, t->stored,
	                               app->totp_seal) != 0)
		return TOTP_KEY_UNAVAILABLE;
	for (i = 0; i < 8; i++)
		id = id << 8 | plain[i];
	if (id != (uint64_t)t->account_id) {
		sodium_memzero(plain, sizeof(plain));
		return TOTP_KEY_UNAVAILABLE;
	}
	memcpy(key, plain + 8, DB_TOTP_SECRET);
	sodium_memzero(plain, sizeof(plain));
	return 0;
}

void
totp_key_path(const struct config *cfg, char *buf, size_t size)
{
	const char *slash;

	if (cfg->secret_key_file[0] != '\0') {
		snprintf(buf, size, "%s", cfg->secret_key_file);
		return;
	}
	slash = strrchr(cfg->db, '/');
	if (slash == NULL)
		snprintf(buf, size, "civicdesk.key");
	else
		snprintf(buf, size, "%.*s/civicdesk.key", (int)(slash - cfg->db), cfg->db);
}

/* Reads the key file at path into key: 0; 1 when it does not exist; -1 (why in err) when it
 * cannot be read or is not a key. Warns when others may read it. */
static int
key_file_read(const char *path, unsigned char key[TOTP_SEAL_KEY], char *err, size_t errsize)
{
	char text[KEY_FILE_TEXT + 8];
	struct stat st;
	size_t len = 0, got;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret = -1;

	if (fd < 0) {
		if (errno == ENOENT)
			return 1;
		snprintf(err, errsize, "%s", strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == 0 && (st.st_mode & 077) != 0)
		log_warn("totp: the key file %s can be read by others (mode %03o): chmod 600 it", path,
		         (unsigned)(st.st_mode & 0777));
	while (len < sizeof(text) && (n = read(fd, text + len, sizeof(text) - len)) > 0)
		len += (size_t)n;
	while (len > 0 && isspace((unsigned char)text[len - 1]))
		len--;
	if (len != KEY_FILE_TEXT ||
	    sodium_hex2bin(key, TOTP_SEAL_KEY, text, len, NULL, &got, NULL) != 0 ||
	    got != TOTP_SEAL_KEY)
		snprintf(err, errsize, "not a key (%d hexadecimal digits expected)", KEY_FILE_TEXT);
	else
		ret = 0;
	sodium_memzero(text, sizeof(text));
	close(fd);
	return ret;
}

/* Makes a new key file at path (0600, never over an existing one) with a random key. 0, or -1
 * with why in err. */
static int
key_file_create(const char *path, unsigned char key[TOTP_SEAL_KEY], char *err, size_t errsize)
{
	char text[KEY_FILE_TEXT + 2];
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600), ok;
	size_t len;

	if (fd < 0) {
		snprintf(err, errsize, "%s", strerror(errno));
		return -1;
	}
	randombytes_buf(key, TOTP_SEAL_KEY);
	sodium_bin2hex(text, sizeof(text), key, TOTP_SEAL_KEY);
	len = strlen(text);
	text[len++] = '\n';
	ok = fchmod(fd, 0600) == 0 && write(fd, text, len) == (ssize_t)len && fsync(fd) == 0;
	if (!ok)
		snprintf(err, errsize, "%s", strerror(errno));
	sodium_memzero(text, sizeof(text));
	if (close(fd) != 0 && ok) {
		snprintf(err, errsize, "%s", strerror(errno));
		ok = 0;
	}
	if (!ok)
		unlink(path);
	return ok ? 0 : -1;
}

/* Appends the name of account id to names (comma-separated, at most NAMES_SHOWN, then "…"). */
static void
name_add(struct db_conn *c, int64_t id, size_t nth, char *names, size_t size)
{
	struct db_account a;
	size_t n = strlen(names);

	if (nth > NAMES_SHOWN)
		return;
	if (nth == NAMES_SHOWN) {
		snprintf(names + n, size - n, ", …");
		return;
	}
	memset(&a, 0, sizeof(a));
	if (db_account_get(c, id, &a) == 1)
		snprintf(names + n, size - n, "%s%s", n ? ", " : "", a.username);
	else
		snprintf(names + n, size - n, "%s#%lld", n ? ", " : "", (long long)id);
	db_account_free(&a);
}

int
totp_keys_start(struct app *app)
{
	struct db_conn *c = db_acquire(app->db);
	struct db_totp *rows = NULL;
	unsigned char key[DB_TOTP_SECRET], sealed[DB_TOTP_SEALED];
	char path[4096], err[256], names[512] = "";
	size_t n = 0, i, nsealed = 0, plain = 0, bad = 0;
	int rc, ret = -1, scrubbing = 0;

	if (c == NULL)
		return -1;
	app->totp_seal_ok = 0;
	totp_key_path(&app->cfg, path, sizeof(path));
	if (db_totp_list(c, &rows, &n) != 0) {
		log_err("totp: the second factors cannot be read: %s", db_errmsg(c));
		goto out;
	}
	for (i = 0; i < n; i++)
		nsealed += rows[i].stored_len == DB_TOTP_SEALED;
	rc = key_file_read(path, app->totp_seal, err, sizeof(err));
	if (rc == 1 && nsealed == 0) {
		/* the first start (or none enrolled yet): a new key; never one over sealed keys */
		rc = key_file_create(path, app->totp_seal, err, sizeof(err));
		if (rc == 0)
			log_info("totp: created the key file %s that seals the second factors' keys in "
			         "the database: back it up, apart from the database's backups",
			         path);
	}
	if (rc != 0) {
		for (i = 0; i < n; i++)
			if (rows[i].stored_len == DB_TOTP_SEALED)
				name_add(c, rows[i].account_id, bad++, names, sizeof(names));
		log_err("totp: the key file %s %s%s; the second factor cannot be enrolled, and %zu "
		        "account(s) whose keys it sealed cannot sign in with a code until it is put "
		        "back (a recovery code still works; else `civicdesk user totp-reset NAME` "
		        "and a new enrolment)%s%s",
		        path, rc == 1 ? "is missing" : "cannot be used: ", rc == 1 ? "" : err, bad,
		        bad ? ": " : "", names);
		sodium_memzero(app->totp_seal, sizeof(app->totp_seal));
		ret = 0;
		goto out;
	}
	app->totp_seal_ok = 1;
	/* keys written before schema 021 are sealed now, in one transaction; every sealed key is
	 * opened once, so that a wrong key file is told now and not at someone's sign-in */
	for (i = 0; i < n; i++)
		plain += rows[i].stored_len == DB_TOTP_SECRET;
	/* a write transaction only when there is something to seal (a read-only database
	 * starts as before) */
	if (plain > 0) {
		if (db_totp_scrub(c, 1) != 0)
			goto out;
		scrubbing = 1;
		if (db_begin(c) != 0)
			goto out;
	}
	for (i = 0; i < n; i++) {
		if (unseal(app, &rows[i], key) != 0) {
			name_add(c, rows[i].account_id, bad++, names, sizeof(names));
			continue;
		}
		if (rows[i].stored_len == DB_TOTP_SECRET) {
			seal(app, rows[i].account_id, key, sealed);
			if (db_totp_store(c, rows[i].account_id, sealed, sizeof(sealed)) != 1) {
				db_rollback(c);
				sodium_memzero(key, sizeof(key));
				goto unsealed;
			}
		}
	}
	sodium_memzero(key, sizeof(key));
	if (plain > 0 && db_commit(c) != 0) {
		db_rollback(c);
		goto unsealed;
	}
	if (plain > 0) {
		/* the old bytes were zeroed as they were overwritten; the log is cut off now */
		scrubbing = 0;
		if (db_totp_scrub(c, 0) != 0)
			log_warn("totp: the write-ahead log still holds the keys' old form until its "
			         "next checkpoint");
		log_info("totp: %zu second-factor key(s) stored in the clear were sealed with %s",
		         plain, path);
	}
	if (bad > 0)
		log_err("totp: %zu sealed second-factor key(s) do not open with the key file %s (a "
		        "wrong or replaced key file?): these accounts cannot sign in with a code "
		        "until the right file is put back (a recovery code still works; else "
		        "`civicdesk user totp-reset NAME` and a new enrolment): %s",
		        bad, path, names);
	ret = 0;
	goto out;
unsealed:
	/* a full or read-only disk: they stay readable as they are, and the next start seals
	 * them */
	log_err("totp: %zu second-factor key(s) stored in the clear cannot be sealed now: %s",
	        plain, db_errmsg(c));
	ret = 0;
out:
	if (scrubbing)
		db_totp_scrub(c, 0);
	db_totp_list_free(rows, n);
	db_release(app->db, c);
	return ret;
}

int
totp_required(const struct app *app, enum role r)
{
	const char *list = app->cfg.totp_roles, *name = role_name(r), *p = list;
	size_t n = strlen(name);

	if (list == NULL)
		return 0;
	while (*p != '\0') {
		const char *end;

		while (*p == ',' || isspace((unsigned char)*p))
			p++;
		end = p;
		while (*end != '\0' && *end != ',' && !isspace((unsigned char)*end))
			end++;
		if ((size_t)(end - p) == n && memcmp(p, name, n) == 0)
			return 1;
		p = end;
	}
	return 0;
}

int
totp_enrolled(struct db_conn *c, int64_t account_id)
{
	struct db_totp t;
	int rc = db_totp_get(c, account_id, &t);

	if (rc <= 0)
		return rc;
	rc = t.confirmed;
	sodium_memzero(&t, sizeof(t));
	return rc;
}

/* Appends s percent-encoded (RFC 3986: everything but unreserved characters) to buf. */
static void
uri_append(char *buf, size_t size, const char *s)
{
	size_t n = strlen(buf);

	for (; *s != '\0' && n + 4 < size; s++) {
		unsigned char ch = (unsigned char)*s;

		if (isalnum(ch) || ch == '-' || ch == '.' || ch == '_' || ch == '~')
			buf[n++] = (char)ch;
		else
			n += (size_t)snprintf(buf + n, size - n, "%%%02X", ch);
	}
	buf[n] = '\0';
}

/* The base32 text of key (no padding: 20 bytes are 32 characters). 0 or -1. */
static int
key_text(const unsigned char key[DB_TOTP_SECRET], char out[TOTP_SECRET_TEXT])
{
	char *b32 = NULL;
	size_t len = 0;

	if (oath_base32_encode((const char *)key, DB_TOTP_SECRET, &b32, &len) != OATH_OK)
		return -1;
	if (len + 1 > TOTP_SECRET_TEXT) {
		free(b32);
		return -1;
	}
	memcpy(out, b32, len);
	out[len] = '\0';
	sodium_memzero(b32, len);
	free(b32);
	return 0;
}

/* The otpauth:// URI (Google Authenticator's Key Uri Format) of the base32 key text for user. */
static void
key_uri(const struct app *app, const char *user, const char *text, char u[TOTP_URI_MAX])
{
	snprintf(u, TOTP_URI_MAX, "otpauth://totp/");
	uri_append(u, TOTP_URI_MAX, app->cfg.totp_issuer);
	uri_append(u, TOTP_URI_MAX, ":");
	uri_append(u, TOTP_URI_MAX, user);
	snprintf(u + strlen(u), TOTP_URI_MAX - strlen(u), "?secret=%s&issuer=", text);
	uri_append(u, TOTP_URI_MAX, app->cfg.totp_issuer);
	snprintf(u + strlen(u), TOTP_URI_MAX - strlen(u), "&algorithm=SHA1&digits=%d&period=%d",
	         TOTP_DIGITS, TOTP_STEP);
}

/* The step of a 6-digit code valid for key at now (within TOTP_WINDOW steps): 1 with *step,
 * 0 when it is not, -1 on error. */
static int
code_step(const unsigned char key[DB_TOTP_SECRET], const char *code, int64_t now, int64_t *step)
{
	int pos = 0, rc;
	size_t i;

	if (code == NULL || strlen(code) != TOTP_DIGITS)
		return 0;
	for (i = 0; i < TOTP_DIGITS; i++)
		if (!isdigit((unsigned char)code[i]))
			return 0;
	rc = oath_totp_validate2((const char *)key, DB_TOTP_SECRET, (time_t)now, TOTP_STEP, 0,
	                         TOTP_WINDOW, &pos, code);
	if (rc == OATH_INVALID_OTP)
		return 0;
	if (rc < 0) {
		log_err("totp: %s", oath_strerror(rc));
		return -1;
	}
	*step = now / TOTP_STEP + pos;
	return 1;
}

/* The stored hash of a recovery code as typed (case, spaces and dashes ignored): 0, or -1
 * when it cannot be one. */
static int
recovery_hash(const char *code, unsigned char out[DB_TOTP_CODE_HASH])
{
	char norm[RECOVERY_CHARS + 1];
	size_t n = 0;

	for (; *code != '\0'; code++) {
		if (*code == '-' || *code == ' ')
			continue;
		if (n == RECOVERY_CHARS)
			return -1;
		norm[n++] = (char)tolower((unsigned char)*code);
	}
	if (n != RECOVERY_CHARS)
		return -1;
	norm[n] = '\0';
	crypto_generichash(out, DB_TOTP_CODE_HASH, (const unsigned char *)norm, n,
	                   (const unsigned char *)"civicdesk recovery", 18);
	sodium_memzero(norm, sizeof(norm));
	return 0;
}

/* A new random recovery code "xxxx-xxxx-xxxx-xxxx". */
static void
recovery_new(char out[TOTP_RECOVERY_SIZE])
{
	size_t i, n = 0, alpha = sizeof(RECOVERY_ALPHABET) - 1;

	for (i = 0; i < RECOVERY_CHARS; i++) {
		if (i > 0 && i % 4 == 0)
			out[n++] = '-';
		out[n++] = RECOVERY_ALPHABET[randombytes_uniform((uint32_t)alpha)];
	}
	out[n] = '\0';
}

/* The error of a failed transaction step: busy when the storage cannot take writes. */
static int
store_fail(struct db_conn *c, struct core_error *err)
{
	if (db_unavailable(c))
		return core_fail(err, CORE_BUSY, NULL, "the database is busy or full; try again");
	return core_fail(err, CORE_ERROR, NULL, "the second factor cannot be stored");
}

int
core_totp_enroll(struct app *app, struct db_conn *c, const struct session *s, const char *addr,
                 int64_t now, char secret[TOTP_SECRET_TEXT], char uri[TOTP_URI_MAX],
                 struct core_error *err)
{
	struct actor who = {s->account_id, s->username, addr};
	unsigned char key[DB_TOTP_SECRET], sealed[DB_TOTP_SEALED];
	char text[TOTP_SECRET_TEXT], u[TOTP_URI_MAX];
	int rc, ret = -1;

	if (!app->totp_seal_ok) {
		core_fail(err, CORE_BUSY, NULL,
		          "the second factor cannot be enrolled now: the server's key file for the "
		          "second factors is missing or wrong (its log says which); an administrator "
		          "puts it back");
		err->code_name = "totp_key_unavailable";
		return -1;
	}
	randombytes_buf(key, sizeof(key));
	seal(app, s->account_id, key, sealed);
	if (key_text(key, text) != 0) {
		core_fail(err, CORE_ERROR, NULL, "the key cannot be encoded");
		goto out;
	}
	if (db_begin(c) != 0) {
		store_fail(c, err);
		goto out;
	}
	rc = totp_enrolled(c, s->account_id);
	if (rc != 0) {
		db_rollback(c);
		if (rc < 0)
			store_fail(c, err);
		else {
			core_fail(err, CORE_CONFLICT, NULL,
			          "a second factor is enrolled already; an administrator resets it "
			          "before a new one");
			err->code_name = "enrolled";
		}
		goto out;
	}
	if (db_totp_begin(c, s->account_id, sealed, sizeof(sealed), now) != 0 ||
	    audit_write(c, now, &who, "totp_enroll", s->username, 1, "enrolment started") != 0 ||
	    db_commit(c) != 0) {
		db_rollback(c);
		store_fail(c, err);
		goto out;
	}
	key_uri(app, s->username, text, u);
	memcpy(secret, text, sizeof(text));
	memcpy(uri, u, sizeof(u));
	ret = 0;
out:
	sodium_memzero(key, sizeof(key));
	sodium_memzero(text, sizeof(text));
	sodium_memzero(u, sizeof(u));
	return ret;
}

int
core_totp_pending(struct app *app, struct db_conn *c, const struct session *s,
                  char secret[TOTP_SECRET_TEXT], char uri[TOTP_URI_MAX])
{
	unsigned char key[DB_TOTP_SECRET];
	struct db_totp t;
	int rc;

	rc = db_totp_get(c, s->account_id, &t);
	if (rc <= 0)
		return rc;
	if (t.confirmed) {
		sodium_memzero(&t, sizeof(t));
		return 0;
	}
	/* a pending key that no longer opens (a new key file) is as good as none: start again */
	rc = unseal(app, &t, key);
	sodium_memzero(&t, sizeof(t));
	if (rc != 0)
		return 0;
	rc = key_text(key, secret);
	sodium_memzero(key, sizeof(key));
	if (rc != 0)
		return -1;
	key_uri(app, s->username, secret, uri);
	return 1;
}

int
core_totp_confirm(struct app *app, struct db_conn *c, const struct session *s, const char *addr,
                  const char *code, int64_t now,
                  char codes[TOTP_RECOVERY_CODES][TOTP_RECOVERY_SIZE], struct core_error *err)
{
	struct actor who = {s->account_id, s->username, addr};
	char fresh[TOTP_RECOVERY_CODES][TOTP_RECOVERY_SIZE];
	unsigned char h[DB_TOTP_CODE_HASH];
	unsigned char key[DB_TOTP_SECRET];
	struct db_totp t;
	int64_t step = 0;
	int rc, ret = -1;
	size_t i;

	memset(&t, 0, sizeof(t));
	if (db_begin(c) != 0) {
		store_fail(c, err);
		goto out;
	}
	rc = db_totp_get(c, s->account_id, &t);
	if (rc < 0) {
		store_fail(c, err);
		goto rollback;
	}
	if (rc == 0 || t.confirmed) {
		core_fail(err, CORE_CONFLICT, NULL,
		          rc == 0 ? "no enrolment was started (POST /api/v1/totp/enroll)"
		                  : "the second factor is confirmed already");
		err->code_name = rc == 0 ? "not_enrolling" : "enrolled";
		goto rollback;
	}
	rc = unseal(app, &t, key);
	if (rc == 0)
		rc = code_step(key, code, now, &step);
	else {
		core_fail(err, CORE_BUSY, NULL,
		          "the second factor cannot be checked: the server's key file for the "
		          "second factors is missing or wrong; start the enrolment again once it is "
		          "back");
		err->code_name = "totp_key_unavailable";
		goto rollback;
	}
	sodium_memzero(key, sizeof(key));
	if (rc <= 0) {
		if (rc < 0) {
			core_fail(err, CORE_ERROR, NULL, "the code cannot be checked");
			goto rollback;
		}
		/* the refusal is audited on its own (the transaction is rolled back) */
		db_rollback(c);
		if (db_begin(c) == 0 &&
		    (audit_write(c, now, &who, "totp_confirm", s->username, 0, "wrong code") != 0 ||
		     db_commit(c) != 0))
			db_rollback(c);
		core_fail(err, CORE_INVALID, "code",
		          "the code is wrong: enter the %d digits the app shows now", TOTP_DIGITS);
		goto out;
	}
	for (i = 0; i < TOTP_RECOVERY_CODES; i++) {
		recovery_new(fresh[i]);
		if (recovery_hash(fresh[i], h) != 0 ||
		    db_totp_recovery_add(c, s->account_id, h) != 0) {
			store_fail(c, err);
			goto rollback;
		}
	}
	if (db_totp_confirm(c, s->account_id, step) <= 0 ||
	    audit_write(c, now, &who, "totp_enrolled", s->username, 1,
	                "second factor confirmed; 10 recovery codes issued") != 0 ||
	    db_commit(c) != 0) {
		store_fail(c, err);
		goto rollback;
	}
	memcpy(codes, fresh, sizeof(fresh));
	ret = 0;
	goto out;
rollback:
	db_rollback(c);
out:
	sodium_memzero(fresh, sizeof(fresh));
	sodium_memzero(&t, sizeof(t));
	sodium_memzero(key, sizeof(key));
	return ret;
}

int
core_totp_reset(struct app *app, struct db_conn *c, const struct actor *who,
                const char *username, int64_t now, struct core_error *err)
{
	struct db_account a;
	int rc;

	(void)app;
	memset(&a, 0, sizeof(a));
	if (db_begin(c) != 0)
		return store_fail(c, err);
	rc = db_account_by_name(c, username, &a);
	if (rc <= 0) {
		db_rollback(c);
		if (rc < 0)
			return store_fail(c, err);
		return core_fail(err, CORE_NOT_FOUND, NULL, "no account %s", username);
	}
	rc = db_totp_delete(c, a.id);
	if (rc == 0) {
		db_rollback(c);
		db_account_free(&a);
		return core_fail(err, CORE_NOT_FOUND, NULL, "%s has no second factor", username);
	}
	if (rc < 0 || db_session_delete_account(c, a.id) != 0 ||
	    audit_write(c, now, who, "totp_reset", username, 1,
	                "second factor and recovery codes removed; sessions ended") != 0 ||
	    db_commit(c) != 0) {
		db_rollback(c);
		db_account_free(&a);
		return store_fail(c, err);
	}
	db_account_free(&a);
	return 0;
}

int
core_totp_recovery_left(struct db_conn *c, int64_t account_id, int64_t *n)
{
	return db_totp_recovery_left(c, account_id, n);
}

int
totp_check(const struct app *app, struct db_conn *c, int64_t account_id, const char *username,
           const char *addr, const char *code, const char *recovery, int64_t now,
           const char **how)
{
	struct actor who = {account_id, username, addr};
	unsigned char h[DB_TOTP_CODE_HASH], key[DB_TOTP_SECRET];
	struct db_totp t;
	int64_t step = 0, left = 0;
	char detail[64];
	int rc;

	if (code != NULL && *code != '\0') {
		rc = db_totp_get(c, account_id, &t);
		if (rc <= 0)
			return rc;
		rc = unseal(app, &t, key);
		sodium_memzero(&t, sizeof(t));
		if (rc != 0) {
			log_err("totp: the key of %s does not open: the key file is missing or wrong "
			        "(see the start-up messages)",
			        username);
			return rc;
		}
		rc = code_step(key, code, now, &step);
		sodium_memzero(key, sizeof(key));
		if (rc <= 0)
			return rc;
		/* a code of a step at or before the newest used one is a replay */
		rc = db_totp_use_step(c, account_id, step);
		if (rc > 0)
			*how = "totp";
		return rc;
	}
	if (recovery == NULL || recovery_hash(recovery, h) != 0)
		return 0;
	rc = db_totp_recovery_use(c, account_id, h, now);
	if (rc <= 0)
		return rc;
	if (db_totp_recovery_left(c, account_id, &left) != 0)
		return -1;
	snprintf(detail, sizeof(detail), "%lld recovery codes left", (long long)left);
	if (audit_write(c, now, &who, "totp_recovery_used", username, 1, detail) != 0)
		return -1;
	*how = "recovery code";
	return 1;
}
