-- 022_notify_keys.sql: the ladder's notices as keys, written by the scan itself (issue #15: the
-- scan at 1,000,000 open items with 1 % due under 200 ms, its outbox rows included).
--
-- Until now a scan recorded which items had notices (ladder_fanout, 019) and a fan-out wrote
-- their outbox rows afterwards, each with its whole rendered text, into a table with a UNIQUE
-- over five text columns and two foreign keys. Measured on a copy of the bench's database
-- (40,000 rows in one transaction, CPU of insert and commit; bench/RESULTS.md): 250-320 ms as
-- they were, 150 ms as keys in a table without the foreign keys (table 50 ms, text UNIQUE
-- 70 ms, due index 35 ms), 110 ms with the keys as integers below. So:
--
-- 1. A notice of the ladder (reminder, overdue notice, daily escalation) is a key row: lkey
--    holds its step and clock and channel as one integer,
--      ((kind * 4 + clock) * 2 + sms) * 10^16 + due (YYYYMMDD) * 10^8 + day (YYYYMMDD, or 0)
--    kind 1 remind, 2 overdue, 3 escalate (the day: the working day of that escalation);
--    clock 0 forward, 1 reply, 2 explain; sms 0 e-mail, 1 SMS. clock and step are NULL (the
--    store reads them back from lkey), and so are subject and body: the dispatcher writes the
--    text when it sends, from the item as it is then, and drops a notice that no longer holds
--    (state 'dropped', the reason in last_error): the clock stopped or paused, its due time
--    moved, the item is gone, the account is no longer active.
--    The recipient is an account (account_id) at its address as queued (recipient).
-- 2. Every other notice (to citizens in the transaction of a submission or action, follow-ups,
--    supervision, digests, calendar warnings) keeps its text.
--    Both are once per (item, clock, step, channel, recipient) by one unique index, outbox_once,
--    whose first column is the key (0 for a notice with its text).
-- 3. The table has no foreign keys (items and accounts are never deleted; each key row paid a
--    look-up of its item, spread over the items table), body may be NULL, and 'dropped' is a
--    state. outbox_due holds the pending rows only, by send_after (the dispatcher filters the
--    channel). Each insert opens a cursor on the table and on every index, partial or not: the
--    table has three (outbox_once, outbox_due, outbox_message_id).
--
-- Every row is copied. A ladder row written before (with its text) gets its key, so that the
-- once rule covers it (its clock and step are its key one for one). A pending one loses its
-- text (the dispatcher writes it when it sends, and drops it if it no longer holds); a sent or
-- failed one keeps it as the record of what went out. The items of ladder_fanout (a scan's
-- notices not yet fanned out) stay there: the next scan queues them, first, as keys, at the
-- moment they were found (notifiers/ladder.c), and no scan records new ones.

DROP VIEW IF EXISTS outbox_notices;

CREATE TEMP TABLE outbox_keys AS
  SELECT id,
         ((kind * 4 + clockno) * 2 + sms) * 10000000000000000 +
         CAST(replace(substr(step, instr(step, '/') + 1, 10), '-', '') AS INTEGER) * 100000000 +
         CASE kind WHEN 3 THEN CAST(replace(substr(step, 21, 10), '-', '') AS INTEGER)
                   ELSE 0 END AS lkey
  FROM (SELECT id, step, channel = 'sms' AS sms,
               CASE WHEN step GLOB 'remind/[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]' THEN 1
                    WHEN step GLOB 'overdue/[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]' THEN 2
                    WHEN step GLOB 'escalate/[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]/[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]' THEN 3
               END AS kind,
               CASE clock WHEN 'forward' THEN 0 WHEN 'reply' THEN 1 WHEN 'explain' THEN 2
               END AS clockno
        FROM outbox)
  WHERE kind IS NOT NULL AND clockno IS NOT NULL
    AND id IN (SELECT id FROM outbox WHERE item_id IS NOT NULL AND account_id IS NOT NULL);

CREATE TABLE outbox_v3 (
  id           INTEGER PRIMARY KEY,
  item_id      INTEGER,               -- the item concerned, or NULL
  clock        TEXT,                  -- clock concerned, or NULL ('' or NULL when none; NULL in
                                      -- a key row: lkey has it)
  step         TEXT,                  -- ladder step or message kind (NULL in a key row)
  channel      TEXT NOT NULL CHECK (channel = 'email' OR channel = 'sms'),
  recipient    TEXT NOT NULL,         -- address or phone number
  subject      TEXT,                  -- NULL for SMS, and in a pending key row
  body         TEXT,                  -- the text; NULL: written by the dispatcher when sent
  created      INTEGER NOT NULL,
  send_after   INTEGER NOT NULL,      -- not before (quiet hours, backoff)
  attempts     INTEGER NOT NULL DEFAULT 0,
  sent_at      INTEGER,               -- NULL until sent
  last_error   TEXT,                  -- why the last attempt failed, or why it was dropped
  state        TEXT NOT NULL DEFAULT 'pending'
    CHECK (state = 'pending' OR state = 'sent' OR state = 'failed' OR state = 'dropped'),
  message_id   TEXT,                  -- e-mail Message-ID, fixed before the first attempt
  give_up_at   INTEGER,               -- a failed attempt at or after this instant fails the row
  last_attempt INTEGER,               -- when it was last tried (NULL: never)
  account_id   INTEGER,               -- the staff recipient; NULL for citizens and sections
  lkey         INTEGER                -- a ladder notice's key (above); NULL for the others
);
INSERT INTO outbox_v3 (id, item_id, clock, step, channel, recipient, subject, body, created,
                       send_after, attempts, sent_at, last_error, state, message_id, give_up_at,
                       last_attempt, account_id, lkey)
  SELECT o.id, o.item_id,
         CASE WHEN k.lkey IS NULL THEN o.clock END,
         CASE WHEN k.lkey IS NULL THEN o.step END,
         o.channel, o.recipient,
         CASE WHEN k.lkey IS NULL OR o.state <> 'pending' THEN o.subject END,
         CASE WHEN k.lkey IS NULL OR o.state <> 'pending' THEN o.body END,
         o.created, o.send_after, o.attempts, o.sent_at, o.last_error, o.state, o.message_id,
         o.give_up_at, o.last_attempt, o.account_id, k.lkey
  FROM outbox o LEFT JOIN outbox_keys k ON k.id = o.id;
DROP TABLE outbox_keys;
DROP TABLE outbox;
ALTER TABLE outbox_v3 RENAME TO outbox;

-- Once per (item, clock, step, channel, recipient), a key row's clock and step being its lkey
-- (0 for the others). lkey first: a scan's new keys go to the end of a few runs (one per step,
-- clock, channel and due day), not next to each item's older notices all over the index.
CREATE UNIQUE INDEX outbox_once
  ON outbox(coalesce(lkey, 0), coalesce(item_id, 0), coalesce(clock, ''), coalesce(step, ''),
            channel, recipient);
CREATE INDEX outbox_due ON outbox(send_after) WHERE state = 'pending';
CREATE INDEX outbox_message_id ON outbox(message_id) WHERE message_id IS NOT NULL;

-- Every row with its clock and step written out (a key row's from lkey), for people and tests
-- reading the database (the store reads them back in C, db/db_outbox.c).
CREATE VIEW outbox_notices AS
  SELECT id, item_id,
    CASE WHEN lkey IS NULL THEN clock
         ELSE CASE lkey / 10000000000000000 / 2 % 4 WHEN 0 THEN 'forward' WHEN 1 THEN 'reply'
              ELSE 'explain' END END AS clock,
    CASE WHEN lkey IS NULL THEN step
         ELSE CASE lkey / 10000000000000000 / 8 WHEN 1 THEN 'remind/' WHEN 2 THEN 'overdue/'
              ELSE 'escalate/' END ||
              printf('%04d-%02d-%02d', lkey / 100000000 % 100000000 / 10000,
                     lkey / 100000000 % 100000000 / 100 % 100, lkey / 100000000 % 100) ||
              CASE WHEN lkey % 100000000 > 0 THEN printf('/%04d-%02d-%02d',
                     lkey % 100000000 / 10000, lkey % 100000000 / 100 % 100, lkey % 100)
                   ELSE '' END END AS step,
    channel, recipient, subject, body, created, send_after, attempts, sent_at, last_error,
    state, message_id, give_up_at, last_attempt, account_id, lkey
  FROM outbox;
