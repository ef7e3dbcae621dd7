-- 021_totp_sealed.sql: the staff second factor's keys sealed at rest (issue #19). The totp
-- table is rebuilt so that its secret column takes the sealed form: libsodium's secretbox
-- (XSalsa20-Poly1305) under a key kept outside the database (secret_key_file), with a random
-- nonce per key, over the account's id and the key (totp.c). A key written before this
-- migration (20 bytes, the key itself) stays readable and is sealed by the next start of serve
-- that has the key file. Rebuilt from scratch, so that applying it twice is fine; with
-- secure_delete, so that the pages the old table leaves keep no key in the clear.

PRAGMA secure_delete = ON;

DROP TABLE IF EXISTS totp_new;
CREATE TABLE totp_new (
  account_id INTEGER PRIMARY KEY REFERENCES accounts(id), -- whose
  secret     BLOB NOT NULL CHECK (length(secret) IN (20, 68)), -- 68: sealed, nonce (24) then
                                                          -- the box (16 + 8 + 20); 20: the key
                                                          -- itself, as written before 021
  confirmed  INTEGER NOT NULL DEFAULT 0 CHECK (confirmed IN (0, 1)), -- 0: enrolment started,
                                                          -- 1: confirmed with a code, in use
  last_step  INTEGER NOT NULL DEFAULT 0,                  -- newest 30 s step whose code was
                                                          -- accepted: none at or before it is
  created    INTEGER NOT NULL                             -- when the enrolment started
);
INSERT INTO totp_new (account_id, secret, confirmed, last_step, created)
  SELECT account_id, secret, confirmed, last_step, created FROM totp;
DROP TABLE totp;
ALTER TABLE totp_new RENAME TO totp;
PRAGMA secure_delete = OFF;
