-- 019_notify_steps.sql: the ladder scan at 1,000,000 open items under 200 ms (issue #15).
--
-- 1. The ladder's marks ordered by time. Until now each item had one row (item_id, next_at),
--    rewritten in place by each scan: at 1 % of the items due, spread over the whole table,
--    a scan rewrote nearly every page of it (13 MB through the WAL for 10,000 items). Now an
--    entry is (next_at, item_id), the table is its own index, and a scan deletes the entries
--    it took (one range at the front) and adds the next ones (a few ranges further on): the
--    pages it writes are about those it took. A change of an item adds (0, item) and leaves its
--    older entry: the scan reads the item's clocks whenever an entry comes, so an entry older
--    than a change only makes the scan look once more and find the same steps (once by their
--    keys). An item with no running clock has no entry until it changes.
-- 2. The ladder's steps, decided by the scan and fanned out to recipients after it: the scan
--    writes one row per (item, clock, step) that has come, in the transaction that moves the
--    item's marks; the fan-out (notifiers/ladder.c) turns each row into the outbox rows of its
--    recipients and channels and deletes it, in one transaction: a crash on either side loses
--    nothing and queues nothing twice (this key, then the outbox's unique key).
-- No foreign keys: the scan reads the item's clocks in the same transaction; a step or an entry
-- whose item is gone is dropped.

DROP TRIGGER IF EXISTS ladder_item_insert;
DROP TRIGGER IF EXISTS ladder_item_update;
CREATE TABLE ladder_v2 (
  next_at INTEGER NOT NULL, -- Unix seconds when the scan must look at the item; 0: changed
  item_id INTEGER NOT NULL, -- the item
  PRIMARY KEY (next_at, item_id)
) WITHOUT ROWID;
INSERT INTO ladder_v2 (next_at, item_id)
  SELECT next_at, item_id FROM ladder WHERE next_at < 9223372036854775807;
DROP TABLE ladder;
ALTER TABLE ladder_v2 RENAME TO ladder;
CREATE TRIGGER ladder_item_insert AFTER INSERT ON items
BEGIN INSERT OR IGNORE INTO ladder (next_at, item_id) VALUES (0, NEW.id); END;
CREATE TRIGGER ladder_item_update AFTER UPDATE ON items
BEGIN INSERT OR IGNORE INTO ladder (next_at, item_id) VALUES (0, NEW.id); END;

CREATE TABLE ladder_steps (
  item_id INTEGER NOT NULL, -- the item
  clock   TEXT NOT NULL,    -- forward | reply | explain
  step    TEXT NOT NULL,    -- as the outbox names it: remind/DUE, overdue/DUE, escalate/DUE/DAY
  due     INTEGER NOT NULL, -- the clock's due instant when the scan decided (for the texts)
  late    INTEGER NOT NULL, -- working days overdue then (escalations)
  at      INTEGER NOT NULL, -- when the scan decided
  PRIMARY KEY (item_id, clock, step)
) WITHOUT ROWID;
