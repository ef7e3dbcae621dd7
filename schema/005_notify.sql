-- 005_notify.sql: delivery state of the outbox, the escalation ladder's marks and the accounts
-- that should have received a notice but have no address for it (issue #15, notifiers/).

-- The outbox's delivery state. A row is written once, in the transaction of what caused it, and
-- then only its delivery columns change.
ALTER TABLE outbox ADD COLUMN state TEXT NOT NULL DEFAULT 'pending'
  CHECK (state IN ('pending','sent','failed')); -- pending until sent, or failed for good
ALTER TABLE outbox ADD COLUMN message_id TEXT;    -- e-mail Message-ID, fixed before the first
                                                  -- attempt: a resend after a crash repeats it
ALTER TABLE outbox ADD COLUMN give_up_at INTEGER; -- a failed attempt at or after this instant
                                                  -- ends the row as failed
ALTER TABLE outbox ADD COLUMN last_attempt INTEGER; -- when it was last tried (NULL: never)
ALTER TABLE outbox ADD COLUMN account_id INTEGER REFERENCES accounts(id); -- the staff
                                                  -- recipient; NULL for citizens and sections
-- Rows without a clock or an item (citizen notices, digests, calendar warnings) carry '' and
-- NULL there; this index makes "once per (item, clock, step, channel, recipient)" hold for
-- them too (SQL's UNIQUE lets NULLs repeat).
CREATE UNIQUE INDEX outbox_once
  ON outbox(coalesce(item_id, 0), coalesce(clock, ''), step, channel, recipient);
DROP INDEX outbox_pending;
CREATE INDEX outbox_due ON outbox(state, channel, send_after); -- the dispatcher's next rows
CREATE INDEX outbox_item ON outbox(item_id);          -- an item's notices

-- When the ladder scan must next look at an item. Every insert or update of an item sets its
-- row to 0 ("look at the next scan"), so the scan reads only items that changed or whose next
-- reminder, due time or escalation day has come (the index on next_at), never the others.
CREATE TABLE ladder (
  item_id INTEGER PRIMARY KEY REFERENCES items(id),
  next_at INTEGER NOT NULL -- Unix seconds; 0: changed; 9223372036854775807: no clock runs
);
CREATE INDEX ladder_next ON ladder(next_at);
CREATE TRIGGER ladder_item_insert AFTER INSERT ON items
BEGIN INSERT INTO ladder(item_id, next_at) VALUES (NEW.id, 0)
  ON CONFLICT (item_id) DO UPDATE SET next_at = 0; END;
CREATE TRIGGER ladder_item_update AFTER UPDATE ON items
BEGIN INSERT INTO ladder(item_id, next_at) VALUES (NEW.id, 0)
  ON CONFLICT (item_id) DO UPDATE SET next_at = 0; END;
INSERT INTO ladder(item_id, next_at) SELECT id, 0 FROM items;

-- Accounts (or roles with no account at all) that a notice was meant for but that have no
-- address for its channel: listed to administrators, never skipped silently.
CREATE TABLE notify_missing (
  id         INTEGER PRIMARY KEY,
  item_id    INTEGER REFERENCES items(id), -- the item concerned, or NULL
  clock      TEXT NOT NULL DEFAULT '',     -- clock concerned, or ''
  step       TEXT NOT NULL,                -- ladder step or message kind
  channel    TEXT NOT NULL CHECK (channel IN ('email','sms')),
  account_id INTEGER REFERENCES accounts(id), -- NULL: nobody holds the role
  role       TEXT NOT NULL,                -- the role that should have received it
  section_id INTEGER REFERENCES sections(id), -- the section of that role, or NULL
  at         INTEGER NOT NULL              -- when it was found
);
CREATE UNIQUE INDEX notify_missing_once
  ON notify_missing(coalesce(item_id, 0), clock, step, channel, coalesce(account_id, 0), role);

-- Which period a periodic notice was last done for, written in the transaction of its outbox
-- rows: the weekly digest and the calendar coverage warning run once a week, restarts included.
CREATE TABLE notify_runs (
  name TEXT PRIMARY KEY, -- digest | coverage
  last TEXT NOT NULL     -- the Monday (YYYY-MM-DD) of the week last done
) WITHOUT ROWID;
