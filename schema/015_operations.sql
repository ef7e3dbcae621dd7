-- 015_operations.sql: the staff second factor (TOTP), attachment scanning, content screening and
-- the archiving of old audit records (issue #19). Applied in one transaction; PRAGMA
-- user_version becomes 15. Every statement can run twice (a database made to look older).

-- A staff account's TOTP (RFC 6238: HMAC-SHA1, 6 digits, 30 s steps) second factor.
CREATE TABLE IF NOT EXISTS totp (
  account_id INTEGER PRIMARY KEY REFERENCES accounts(id), -- whose
  secret     BLOB NOT NULL CHECK (length(secret) = 20),  -- the shared key (liboath's HMAC key)
  confirmed  INTEGER NOT NULL DEFAULT 0 CHECK (confirmed IN (0, 1)), -- 0: enrolment started,
                                                          -- 1: confirmed with a code, in use
  last_step  INTEGER NOT NULL DEFAULT 0,                  -- newest 30 s step whose code was
                                                          -- accepted: none at or before it is
  created    INTEGER NOT NULL                             -- when the enrolment started
);

-- One-time recovery codes of a TOTP enrolment (ten per enrolment; a new enrolment replaces them).
CREATE TABLE IF NOT EXISTS totp_recovery (
  id         INTEGER PRIMARY KEY,
  account_id INTEGER NOT NULL REFERENCES accounts(id),   -- whose
  code_hash  BLOB NOT NULL CHECK (length(code_hash) = 32), -- BLAKE2b-256 of the code as shown
  used_at    INTEGER                                      -- when it was used; NULL: unused
);
CREATE INDEX IF NOT EXISTS totp_recovery_account ON totp_recovery(account_id, code_hash);

-- What the virus scanner (clamd) said about an attachment. No row: stored while no scanner was
-- configured. A held attachment (scanner unreachable) is never served until a scan finds it
-- clean; serve scans the held ones again.
CREATE TABLE IF NOT EXISTS attachment_scans (
  attachment_id INTEGER PRIMARY KEY REFERENCES attachments(id), -- which
  state         TEXT NOT NULL CHECK (state IN ('clean', 'pending', 'infected')), -- the outcome;
                                          -- infected: found by a later scan, content removed
  note          TEXT,                     -- the signature found, or why the scan failed
  at            INTEGER NOT NULL,         -- when this state was reached
  tries         INTEGER NOT NULL DEFAULT 0 -- scans attempted while pending
);
CREATE INDEX IF NOT EXISTS attachment_scans_pending ON attachment_scans(state)
  WHERE state = 'pending';

-- Items whose text matched the prohibited words or patterns (screen_words): flagged for the
-- dispatcher, never dropped; the item's text stays as the citizen wrote it.
CREATE TABLE IF NOT EXISTS screening (
  item_id    INTEGER PRIMARY KEY REFERENCES items(id), -- which
  matched    TEXT NOT NULL,                 -- the configured words or patterns it matched
  at         INTEGER NOT NULL,              -- when it was flagged
  cleared_by INTEGER REFERENCES accounts(id), -- who reviewed and cleared it; NULL: flagged
  cleared_at INTEGER                        -- when
);

-- Audit records archived to files (audit_archive_days): each archive holds records first_id to
-- last_id, verified on their own and chained on: the live log goes on from last_hash.
CREATE TABLE IF NOT EXISTS audit_archives (
  id        INTEGER PRIMARY KEY,
  first_id  INTEGER NOT NULL,           -- first record in the file
  last_id   INTEGER NOT NULL,           -- last record in the file
  prev_hash BLOB NOT NULL CHECK (length(prev_hash) = 32), -- hash of record first_id - 1
                                        -- (32 zero bytes before the first record)
  last_hash BLOB NOT NULL CHECK (length(last_hash) = 32), -- hash of record last_id
  file      TEXT NOT NULL,              -- the archive's path as written
  at        INTEGER NOT NULL            -- when it was written
);
DROP TRIGGER IF EXISTS audit_archives_no_update;
CREATE TRIGGER audit_archives_no_update BEFORE UPDATE ON audit_archives
BEGIN SELECT RAISE(ABORT, 'the audit archive list is append-only'); END;
DROP TRIGGER IF EXISTS audit_archives_no_delete;
CREATE TRIGGER audit_archives_no_delete BEFORE DELETE ON audit_archives
BEGIN SELECT RAISE(ABORT, 'the audit archive list is append-only'); END;

-- Only records already written to an archive may leave the live log.
DROP TRIGGER IF EXISTS audit_no_delete;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
WHEN OLD.id > coalesce((SELECT max(last_id) FROM audit_archives), 0)
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
