-- 006_mailin.sql: mail-in (issue #16): every message that came in by e-mail, kept byte for byte
-- with the item it made or was added to (保留有关原始记录), the Message-ID guard against the same
-- letter stored twice (piped and polled), and the IMAP position of polled messages, so that each
-- is stored once across restarts and dropped connections. Applied in one transaction.

CREATE TABLE mail_in (
  id          INTEGER PRIMARY KEY,
  item_id     INTEGER REFERENCES items(id), -- the item created or added to; NULL when ignored
  outcome     TEXT NOT NULL CHECK (outcome IN ('created','added','duplicate','ignored')),
                                            -- created: a new item; added: a citizen's reply
                                            -- added to item_id; duplicate: its Message-ID was
                                            -- stored already (item_id: that item); ignored:
                                            -- automatic mail that makes no item
  reason      TEXT,                         -- why it was ignored, e.g. 'qq auto-reply'
  message_id  TEXT,                         -- Message-ID without angle brackets, or NULL
  sender      TEXT,                         -- From address as given, or NULL
  raw         BLOB,                         -- the message byte for byte; NULL when ignored or a
                                            -- duplicate (the first copy holds it)
  size        INTEGER NOT NULL,             -- bytes of the message
  received    INTEGER NOT NULL,             -- when civicdesk stored it (Unix seconds)
  source      TEXT NOT NULL CHECK (source IN ('pipe','imap')), -- ingest-mail or the poller
  mailbox     TEXT,                         -- IMAP: the polled URL without credentials
  uidvalidity INTEGER,                      -- IMAP: UIDVALIDITY of the mailbox
  uid         INTEGER                       -- IMAP: UID of the message
);
-- One stored copy per Message-ID (ignored and duplicate rows do not count).
CREATE UNIQUE INDEX mail_in_message_id ON mail_in(message_id)
  WHERE message_id IS NOT NULL AND outcome IN ('created','added');
-- One row per polled IMAP message: a UID seen again (restart, dropped connection) is skipped.
CREATE UNIQUE INDEX mail_in_imap ON mail_in(mailbox, uidvalidity, uid) WHERE uid IS NOT NULL;
CREATE INDEX mail_in_item ON mail_in(item_id);
