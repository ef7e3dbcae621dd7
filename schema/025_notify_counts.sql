-- 025_notify_counts.sql: the outbox's counts and its failed and dropped rows without reading the
-- whole outbox (issue #15). /staff/admin and GET /api/v1/admin/outbox show the number of rows
-- in each state on every load, and list the failed (or dropped) ones newest first; after years
-- the outbox holds millions of sent rows, and both read all of them (022 left no index on
-- state but the pending rows').
--
-- Both are kept by a trigger on each change of a row's state (the dispatcher's marks, a bounce,
-- an administrator's retry, a notice dropped), never when a row is written: a row is always
-- inserted pending and never deleted, and the ladder scan writes 40,000 rows at a time (an
-- index on the outbox, even a partial one that the row does not enter, costs each insert a
-- cursor: two more partial indexes made the scan's inserts 8 % dearer).
-- 1. outbox_counts: the rows in each state but pending (pending rows are counted through
--    outbox_due, which holds only them).
-- 2. outbox_marked: the ids of the failed and dropped rows, by state, for the lists.
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

CREATE TABLE IF NOT EXISTS outbox_marked (
  state TEXT NOT NULL,    -- failed | dropped
  id    INTEGER NOT NULL, -- the outbox row
  PRIMARY KEY (state, id)
) WITHOUT ROWID;
DELETE FROM outbox_marked;
INSERT INTO outbox_marked (state, id)
  SELECT state, id FROM outbox WHERE state = 'failed' OR state = 'dropped';

DROP TRIGGER IF EXISTS outbox_counts_state;
CREATE TRIGGER outbox_counts_state AFTER UPDATE OF state ON outbox
WHEN OLD.state <> NEW.state
BEGIN
  UPDATE outbox_counts SET n = n - 1 WHERE state = OLD.state;
  UPDATE outbox_counts SET n = n + 1 WHERE state = NEW.state;
  DELETE FROM outbox_marked WHERE state = OLD.state AND id = OLD.id;
  INSERT INTO outbox_marked (state, id)
    SELECT NEW.state, NEW.id WHERE NEW.state = 'failed' OR NEW.state = 'dropped';
END;
