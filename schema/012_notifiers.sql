-- 012_notifiers.sql: the notifiers' part of supervision orders (issue #15 with #18): the
-- reminder that a supervision order's due date has come. A row is written in the transaction
-- of the order (the notification hook) and deleted in the transaction that queues the
-- reminder, so the scan reads only reminders still to come, through the index on remind_at.
-- Applying it twice (a database made to look older) is fine: the outbox's unique key keeps a
-- reminder queued once.

CREATE TABLE IF NOT EXISTS supervision_reminders (
  order_id  INTEGER PRIMARY KEY REFERENCES supervision(id), -- the order
  remind_at INTEGER NOT NULL -- Unix seconds: 09:00 local on the order's due date
);
CREATE INDEX IF NOT EXISTS supervision_reminders_at ON supervision_reminders(remind_at);
-- Orders given before this migration: due is 23:59:59 local of the due date, so 15 hours
-- earlier is 08:59:59 (a day of 24 hours; the time zones civicdesk serves keep no summer time).
INSERT OR IGNORE INTO supervision_reminders (order_id, remind_at)
  SELECT id, due - 54000 FROM supervision;
