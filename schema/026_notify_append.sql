-- 026_notify_append.sql: the ladder scan's outbox rows appended at the end of every index they
-- enter (issue #15: the scan at 1,000,000 open items with 1 % due under 200 ms, its 40,000 rows
-- included; bench/RESULTS.md, notifiers section 6).
--
-- The scan now stores a transaction's key rows in one INSERT … SELECT, sorted by item (db/db_batch.c,
-- notifiers/staff.c). Where each row's index entries land is then what costs: an entry that goes
-- to the end of an index is written on its last page, one in the middle of it costs a descent
-- from the root, and SQLite splits a full page there by rebalancing it with its two neighbours
-- (measured with callgrind, the 40,000 rows: 7,405 such splits, 11 % of the scan, with the
-- indexes of 022). Under 022 no index took them at its end: outbox_once led by lkey put each
-- step, clock and channel in its own run ahead of older runs, and outbox_due put a scan's
-- e-mails (due now) ahead of its SMS (due when quiet hours end), in turn.
--
-- 1. The once rule of a ladder notice (a key row) is outbox_keys, led by the day the notice is
--    for: an escalation's day (the key's last eight digits), else its clock's due day. A scan's
--    notices are for today, or for the due days about it, so they go to the end; then the item
--    and the key (step, clock and channel, which the key holds), the channel and the address.
--    That is the old rule for key rows, (item, clock, step, channel, recipient), with a leading
--    column that the key decides. outbox_once keeps the rule of every other row.
-- 2. The pending rows by send_after, one index per channel (the dispatcher reads one channel at
--    a time): a scan's e-mails and its SMS each go to the end of their own.
-- Measured on the bench's database (callgrind, the scan with its 40,000 rows): 707 M
-- instructions with 022's indexes and the rows sorted as they best suit them, 607 M with these.

DROP INDEX IF EXISTS outbox_once;
CREATE UNIQUE INDEX outbox_once
  ON outbox(coalesce(item_id, 0), coalesce(clock, ''), coalesce(step, ''), channel, recipient)
  WHERE lkey IS NULL;
CREATE UNIQUE INDEX IF NOT EXISTS outbox_keys
  ON outbox(CASE WHEN lkey % 100000000 > 0 THEN lkey % 100000000
                 ELSE lkey / 100000000 % 100000000 END,
            item_id, lkey, channel, recipient)
  WHERE lkey IS NOT NULL;

DROP INDEX IF EXISTS outbox_due;
CREATE INDEX IF NOT EXISTS outbox_due_email ON outbox(send_after)
  WHERE state = 'pending' AND channel = 'email';
CREATE INDEX IF NOT EXISTS outbox_due_sms ON outbox(send_after)
  WHERE state = 'pending' AND channel = 'sms';

-- 3. The ladder's entries (019) by (next_at, seq, item_id): seq is the moment the scan wrote the
--    entry (0 for the entry a change of an item adds). The scan re-adds its items' next entries
--    at the start of a working day, the instant at which most other items' entries wait too
--    (their reminders, due times and escalations): keyed by (next_at, item_id), each entry went
--    between two others, on its own page (10,000 entries over the 3,600 pages of the bench's
--    ladder, every one written to the WAL at commit). Written after every entry of its instant
--    that earlier scans wrote, a scan's entries make one run: 1.3 times less CPU for the scan.
--    An item may have two entries at one instant (written by two scans): the scan looks at it
--    twice and finds the same steps, queued once (as for an older entry beside a change's).
DROP TRIGGER IF EXISTS ladder_item_insert;
DROP TRIGGER IF EXISTS ladder_item_update;
CREATE TABLE ladder_v3 (
  next_at INTEGER NOT NULL,           -- Unix seconds when the scan must look at the item; 0: changed
  seq     INTEGER NOT NULL DEFAULT 0, -- when the scan wrote the entry (Unix seconds); 0: a change
  item_id INTEGER NOT NULL,           -- the item
  PRIMARY KEY (next_at, seq, item_id)
) WITHOUT ROWID;
INSERT INTO ladder_v3 (next_at, seq, item_id) SELECT next_at, 0, item_id FROM ladder;
DROP TABLE ladder;
ALTER TABLE ladder_v3 RENAME TO ladder;
CREATE TRIGGER ladder_item_insert AFTER INSERT ON items
BEGIN INSERT OR IGNORE INTO ladder (next_at, seq, item_id) VALUES (0, 0, NEW.id); END;
CREATE TRIGGER ladder_item_update AFTER UPDATE ON items
BEGIN INSERT OR IGNORE INTO ladder (next_at, seq, item_id) VALUES (0, 0, NEW.id); END;
