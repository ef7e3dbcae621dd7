-- 018_notify_perf.sql: two outbox indexes fewer for the ladder's notices (issue #15, the scan at
-- 1,000,000 open items). Each notice the ladder scan queues was written to the table and four
-- indexes; two of them only repeated what another index already holds:
--   outbox_item (item_id) is the first column of the table's own UNIQUE (item_id, clock, step,
--     channel, recipient) index, which serves every look-up by item (and the foreign key) alike;
--   outbox_once made "once per (item, clock, step, channel, recipient)" hold where that UNIQUE
--     cannot (SQL lets NULLs repeat): only rows without an item (digests, calendar warnings) or
--     without a clock need it, so it keeps only those. Every row that names an item and a clock
--     (all the ladder's and the citizens' notices) is kept once by the table's UNIQUE.
-- Nothing accepted or refused changes. Dropped and created again, so that applying it twice (a
-- database made to look older) is fine.

DROP INDEX IF EXISTS outbox_item;

DROP INDEX IF EXISTS outbox_once;
-- Once per (step, channel, recipient) among the rows without an item or a clock.
CREATE UNIQUE INDEX outbox_once
  ON outbox(coalesce(item_id, 0), coalesce(clock, ''), step, channel, recipient)
  WHERE item_id IS NULL OR clock IS NULL;

-- The ladder scan's index holds only items with a running clock: an item whose clocks all
-- stopped or paused (mark 9223372036854775807, "not until it changes": every answered or
-- closed item) leaves it, so it grows with the open items, not with the archive. The scan's
-- query names the same bound, which lets SQLite use it.
DROP INDEX IF EXISTS ladder_next;
CREATE INDEX ladder_next ON ladder(next_at) WHERE next_at < 9223372036854775807;
