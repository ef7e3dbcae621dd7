-- 032_citizen_mail_mark.sql: a citizen's e-mail on an item that has ended (replied, closed,
-- rejected, merged) reopens nothing; besides the notice to its staff, the item now carries a
-- mark in the queue until someone of its section acknowledges it (core/citizen.c sets it in
-- the e-mail's transaction, core_citizen_mail_seen clears it in its own).
-- A new item writes NULL: the partial index below gets no entry from a submission (030's
-- header: each index a submission enters costs the group-commit writer), and the queue's
-- filter for marked items reads only the marked ones.

ALTER TABLE items ADD COLUMN citizen_mail_at INTEGER; -- the latest such e-mail not yet
                                                       -- acknowledged (Unix s); NULL: none

-- The marked items by nearest due time (the queue's order): the filter's index, and the ended
-- ones the open queue shows besides the open items.
CREATE INDEX items_citizen_mail ON items(next_due, id) WHERE citizen_mail_at IS NOT NULL;
