-- 008_stats.sql: supervision (issue #18): the facts the statistics count, kept in the same
-- transaction as each change of an item (service/core/stats.c), the citizens' satisfaction
-- ratings (好差评) with their follow-up (回访), and supervision orders (督办). Applied in one
-- transaction; PRAGMA user_version becomes 8. Items stored before this migration get their facts
-- at the next start (stats_backfill), counted with the calendar in force then.
-- IF NOT EXISTS: a database that older tests or tools turned back to an earlier version keeps
-- what this migration made.

-- One row per item: what the statistics count, frozen as it happens, so that a later calendar
-- or policy change never rewrites a past period.
CREATE TABLE IF NOT EXISTS item_facts (
  item_id      INTEGER PRIMARY KEY REFERENCES items(id),
  section_id   INTEGER NOT NULL DEFAULT 0, -- section that holds it now (or answered it); 0: none yet
  received     INTEGER NOT NULL,          -- receipt instant (items.received)
  accepted     INTEGER,                   -- first acceptance by a section, NULL until then
  first_end    INTEGER,                   -- first time it left the open states (reply sent,
                                          -- rejected, merged, closed), NULL until then
  reopened     INTEGER,                   -- last reopening (重办) after that, NULL if never
  ended        INTEGER,                   -- when it last left the open states; NULL while open
  outcome      TEXT CHECK (outcome IN ('replied','rejected','merged','closed')), -- how it first ended
  replied_at   INTEGER,                   -- first reply sent, NULL until then
  reply_result TEXT CHECK (reply_result IN ('on_time','late')), -- the reply clock's result at
                                          -- that first reply (frozen)
  reply_wd     INTEGER,                   -- working days from receipt to that reply, counted on
                                          -- the calendar in force when it was sent (frozen)
  reply_due    INTEGER,                   -- due instant of the reply clock: the running one while
                                          -- open, the last one once ended; NULL while paused
  supervised   INTEGER                    -- when a supervision order was given, NULL if none
);
CREATE INDEX IF NOT EXISTS item_facts_due ON item_facts(reply_due, section_id, replied_at)
  WHERE reply_due IS NOT NULL;
CREATE INDEX IF NOT EXISTS item_facts_supervised ON item_facts(supervised, section_id)
  WHERE supervised IS NOT NULL;

-- Per-day summary of each section, kept from the facts in the same transaction: a period's
-- figures are sums over its days, whatever the number of items. Each item adds its events on
-- their days (receipt, acceptance, first reply, end) and its open and overdue changes: +1 on
-- the day it opens (or falls overdue), -1 on the day it ends, so that the count at the end of
-- a day is the sum of the rows up to it. When its facts change, its old contributions are taken
-- back and the new ones added.
CREATE TABLE IF NOT EXISTS stats_daily (
  section_id INTEGER NOT NULL,            -- as item_facts.section_id (0: no section yet)
  day        INTEGER NOT NULL,            -- local date, days since 1970-01-01 (sla_day)
  open       INTEGER NOT NULL DEFAULT 0,  -- change of the items open at the end of the day
  overdue    INTEGER NOT NULL DEFAULT 0,  -- change of the open items past their reply due time
  received   INTEGER NOT NULL DEFAULT 0,  -- items received that day
  accepted   INTEGER NOT NULL DEFAULT 0,  -- items first accepted that day
  replied    INTEGER NOT NULL DEFAULT 0,  -- first replies sent that day ...
  on_time    INTEGER NOT NULL DEFAULT 0,  -- ... of them on time
  late       INTEGER NOT NULL DEFAULT 0,  -- ... of them late
  wd_sum     INTEGER NOT NULL DEFAULT 0,  -- their working days from receipt, summed
  rejected   INTEGER NOT NULL DEFAULT 0,  -- items rejected that day (first end)
  merged     INTEGER NOT NULL DEFAULT 0,  -- items merged that day (first end)
  closed     INTEGER NOT NULL DEFAULT 0,  -- items closed without a reply that day (first end)
  PRIMARY KEY (section_id, day)
) WITHOUT ROWID;

-- How many first replies of a section on a day took wd working days (the 90th percentile).
CREATE TABLE IF NOT EXISTS stats_wd (
  section_id INTEGER NOT NULL,            -- as item_facts.section_id
  day        INTEGER NOT NULL,            -- local date of the reply (sla_day)
  wd         INTEGER NOT NULL,            -- working days from receipt to reply
  n          INTEGER NOT NULL DEFAULT 0,  -- replies
  PRIMARY KEY (section_id, day, wd)
) WITHOUT ROWID;

-- Forwards, counted for the section that forwarded the item on.
CREATE TABLE IF NOT EXISTS stats_forwards (
  item_id      INTEGER NOT NULL REFERENCES items(id),
  at           INTEGER NOT NULL,          -- when
  from_section INTEGER NOT NULL,          -- the section that forwarded it
  to_section   INTEGER NOT NULL           -- the section it went to
);
CREATE INDEX IF NOT EXISTS stats_forwards_at ON stats_forwards(at, from_section);

-- Satisfaction ratings (好差评): one per reply round of an item, given by the citizen with the
-- query code. Neither the section nor anyone else may edit or delete one (triggers); only its
-- follow-up fields change.
CREATE TABLE IF NOT EXISTS ratings (
  id            INTEGER PRIMARY KEY,
  item_id       INTEGER NOT NULL REFERENCES items(id),
  round         INTEGER NOT NULL,         -- 0 for the first reply, +1 after each reopening
  section_id    INTEGER NOT NULL,         -- section that answered (counted for it)
  at            INTEGER NOT NULL,         -- when rated
  value         TEXT NOT NULL CHECK (value IN ('satisfied','basically_satisfied','unsatisfied')),
  comment       TEXT,                     -- the citizen's optional comment (never published)
  followup      TEXT CHECK (followup IN ('open','confirmed','reopened')), -- 回访 of an
                                          -- unsatisfied rating; NULL for the others
  followup_at   INTEGER,                  -- when the section head closed the follow-up
  followup_by   INTEGER REFERENCES accounts(id), -- who did
  followup_note TEXT,                     -- the head's note
  UNIQUE (item_id, round)
);
CREATE INDEX IF NOT EXISTS ratings_at ON ratings(at, section_id, value, followup);
CREATE INDEX IF NOT EXISTS ratings_followup ON ratings(followup, section_id) WHERE followup = 'open';
CREATE TRIGGER IF NOT EXISTS ratings_no_edit BEFORE UPDATE OF item_id, round, section_id, at, value, comment
  ON ratings
BEGIN SELECT RAISE(ABORT, 'a rating cannot be changed'); END;
CREATE TRIGGER IF NOT EXISTS ratings_no_delete BEFORE DELETE ON ratings
BEGIN SELECT RAISE(ABORT, 'a rating cannot be deleted'); END;

-- Supervision orders (督办): a supervisor's note and own due date on an item.
CREATE TABLE IF NOT EXISTS supervision (
  id         INTEGER PRIMARY KEY,
  item_id    INTEGER NOT NULL UNIQUE REFERENCES items(id), -- one order per item
  at         INTEGER NOT NULL,            -- when given
  by_id      INTEGER REFERENCES accounts(id), -- the supervisor
  by_name    TEXT NOT NULL,               -- as shown
  note       TEXT NOT NULL,               -- what is asked
  due        INTEGER NOT NULL,            -- the supervisor's own due instant
  section_id INTEGER NOT NULL             -- the item's section when given
);
CREATE INDEX IF NOT EXISTS supervision_due ON supervision(due);
