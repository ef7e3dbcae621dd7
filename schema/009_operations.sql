-- 009_operations.sql: operations and security (issue #19). Applied in one transaction;
-- PRAGMA user_version becomes 9.

-- The tamper-evident audit chain. Each row carries a BLAKE2b-256 hash over its own content
-- (id, at, actor_id, actor, addr, action, target, detail, ok) and the previous row's hash
-- (32 zero bytes before the first row), written by db/db_audit.c in the same transaction as the
-- row. `civicdesk audit verify` recomputes the chain. Rows that existed before this migration
-- have no hash yet: the first start of the service after it (db_open) chains them, in id order,
-- in one transaction.
ALTER TABLE audit ADD COLUMN hash BLOB
  CHECK (hash IS NULL OR length(hash) = 32); -- BLAKE2b-256 of the row and the previous hash

-- The audit log stays append-only; the one update allowed gives a row without a hash its hash
-- (the chaining of older rows above), leaving every other column as it is.
DROP TRIGGER audit_no_update;
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
WHEN OLD.hash IS NOT NULL OR NEW.hash IS NULL OR NEW.id IS NOT OLD.id OR NEW.at IS NOT OLD.at
  OR NEW.actor_id IS NOT OLD.actor_id OR NEW.actor IS NOT OLD.actor OR NEW.addr IS NOT OLD.addr
  OR NEW.action IS NOT OLD.action OR NEW.target IS NOT OLD.target
  OR NEW.detail IS NOT OLD.detail OR NEW.ok IS NOT OLD.ok
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;

-- Failed logins by address: the per-address throttle (progressive delay) and the lock of an
-- account name for the address that failed (service/core/login.c).
CREATE INDEX login_failures_addr ON login_failures(addr, at);
CREATE INDEX login_failures_name_addr ON login_failures(username, addr, at);
