-- 029_mailbox_status.sql: how the polled IMAP mailbox is doing (issue #16's poller, for the
-- administrator of #19). A mailbox the poller cannot reach (server down, password changed,
-- certificate expired) means citizens' letters do not arrive, and nothing else shows it: the
-- poller records the outcome of every poll here, and /staff/admin and GET /api/v1/admin/mail
-- show it. One row per polled mailbox, rewritten at each poll (every imap_interval seconds).

CREATE TABLE IF NOT EXISTS mailbox_status (
  mailbox       TEXT PRIMARY KEY,          -- the polled URL without credentials (mail_in.mailbox)
  last_poll     INTEGER NOT NULL,          -- when the last poll ended (Unix seconds)
  last_ok       INTEGER,                   -- when a poll last succeeded; NULL: never
  failing_since INTEGER,                   -- the first of the polls failing since; NULL: none is
  failures      INTEGER NOT NULL DEFAULT 0, -- polls failed in a row
  error         TEXT                       -- why the last poll failed (no credentials); NULL: it
                                           -- succeeded
) WITHOUT ROWID;
