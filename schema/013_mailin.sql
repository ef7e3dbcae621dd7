-- 013_mailin.sql: mail-in, second part (issue #16): bounces are matched to the notice they
-- report by its Message-ID, and e-mail senders get at most one acknowledgement per
-- mail_ack_interval. Written so that applying it twice (a database made to look older) is fine.

-- A bounce names the Message-ID of the notice that failed (outbox.message_id, fixed before
-- the first attempt): the row is found by it.
CREATE INDEX IF NOT EXISTS outbox_message_id ON outbox(message_id) WHERE message_id IS NOT NULL;

-- When each e-mail sender was last acknowledged: a letter that comes within mail_ack_interval
-- of the last acknowledgement is stored without one (recorded in its history). Written in the
-- transaction that stores the item.
CREATE TABLE IF NOT EXISTS mail_ack (
  sender TEXT PRIMARY KEY, -- the sender's address, lower-case
  last   INTEGER NOT NULL  -- when its last acknowledgement was queued (Unix seconds)
) WITHOUT ROWID;
