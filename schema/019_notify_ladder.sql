-- 019_notify_ladder.sql: the ladder scan at 1,000,000 open items under 200 ms (issue #15).
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
-- 2. The items a scan found with notices to send, fanned out after it: the scan writes one row
--    per such item (its moment and the entry's mark), in the transaction that moves the item's
--    entries; the fan-out (notifiers/ladder.c) finds the same steps again from the item's
--    clocks at that moment, writes the outbox rows of their recipients and channels and deletes
--    the row, in one transaction: a crash on either side loses nothing, and nothing is queued
--    twice (the outbox's unique key per item, clock, step, channel and recipient). A scan that
--    found 10,000 items due writes 10,000 rows of three integers instead of 40,000 outbox rows
--    with their texts, and holds the writer lock that much shorter.
-- No foreign keys: the scan reads the item's clocks in the same transaction; an entry or a row
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

CREATE TABLE ladder_fanout (
  at      INTEGER NOT NULL, -- the scan's moment (Unix seconds)
  item_id INTEGER NOT NULL, -- the item
  mark    INTEGER NOT NULL, -- the instant of the entry the scan took (0: the item had changed)
  PRIMARY KEY (at, item_id)
) WITHOUT ROWID;
