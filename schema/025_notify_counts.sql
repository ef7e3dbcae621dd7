-- 025_notify_counts.sql: the outbox's counts and its failed and dropped rows without reading the
-- whole outbox (issue #15). /staff/admin and GET /api/v1/admin/outbox show the number of rows
-- in each state on every load, and list the failed (or dropped) ones newest first; after years
-- the outbox holds millions of sent rows, and both read all of them (022 left no index on
-- state but the pending rows').
--
-- 1. outbox_counts: the rows in each state but pending (pending rows are counted through
--    outbox_due, which holds only them), kept by a trigger on each change of state: the
--    dispatcher's marks, a bounce, an administrator's retry, a notice dropped. A row is always
--    inserted pending and never deleted, so the ladder scan's inserts fire nothing.
-- 2. outbox_failed and outbox_dropped: those rows by id, for the lists (a row enters them when
--    it fails or is dropped, not when it is written).
-- Applying it twice (a database made to look older) counts again from the rows.

CREATE TABLE IF NOT EXISTS outbox_counts (
  state TEXT PRIMARY KEY, -- sent | failed | dropped
  n     INTEGER NOT NULL  -- rows of the outbox in that state
) WITHOUT ROWID;
DELETE FROM outbox_counts;
INSERT INTO outbox_counts (state, n)
  SELECT 'sent', count(*) FROM outbox WHERE state = 'sent' UNION ALL
  SELECT 'failed', count(*) FROM outbox WHERE state = 'failed' UNION ALL
  SELECT 'dropped', count(*) FROM outbox WHERE state = 'dropped';
DROP TRIGGER IF EXISTS outbox_counts_state;
CREATE TRIGGER outbox_counts_state AFTER UPDATE OF state ON outbox
WHEN OLD.state <> NEW.state
BEGIN
  UPDATE outbox_counts SET n = n - 1 WHERE state = OLD.state;
  UPDATE outbox_counts SET n = n + 1 WHERE state = NEW.state;
END;
CREATE INDEX IF NOT EXISTS outbox_failed ON outbox(id) WHERE state = 'failed';
CREATE INDEX IF NOT EXISTS outbox_dropped ON outbox(id) WHERE state = 'dropped';
