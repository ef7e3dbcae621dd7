-- 001_init.sql: the first civicdesk schema. Applied in one transaction; PRAGMA user_version
-- becomes 1. All times are integer Unix seconds (UTC); working-day arithmetic happens in sla/.

-- Handling sections of the bureau (办公室, 法规处, …).
CREATE TABLE sections (
  id      INTEGER PRIMARY KEY,
  name    TEXT NOT NULL UNIQUE,           -- display name, unique
  email   TEXT,                           -- section mailbox for digests, may be NULL
  active  INTEGER NOT NULL DEFAULT 1,     -- 0 when retired (items keep it)
  created INTEGER NOT NULL                -- when it was created
);

-- Staff accounts. Revoked accounts stay, so that history and audit keep their actor.
CREATE TABLE accounts (
  id               INTEGER PRIMARY KEY,
  username         TEXT NOT NULL UNIQUE,  -- login name
  display_name     TEXT,                  -- shown in history
  role             TEXT NOT NULL CHECK (role IN
                     ('handler','section_head','dispatcher','supervisor','admin')),
  section_id       INTEGER REFERENCES sections(id), -- home section (handler, section_head)
  email            TEXT,                  -- for reminders and escalations
  phone            TEXT,                  -- for SMS escalations
  status           TEXT NOT NULL DEFAULT 'active'
                     CHECK (status IN ('active','suspended','revoked')),
  password_hash    TEXT NOT NULL,         -- argon2id string (libsodium crypto_pwhash_str)
  password_changed INTEGER NOT NULL,      -- when the password was last set
  must_change      INTEGER NOT NULL DEFAULT 0, -- 1: change required at next login
  created          INTEGER NOT NULL       -- when the account was created
);

-- Earlier password hashes, so that the last ones are not reused.
CREATE TABLE password_history (
  account_id    INTEGER NOT NULL REFERENCES accounts(id),
  password_hash TEXT NOT NULL,            -- argon2id string of a former password
  changed       INTEGER NOT NULL          -- when it was replaced
);
CREATE INDEX password_history_account ON password_history(account_id, changed);

-- Failed logins by name (existing or not, so that lockout reveals nothing).
CREATE TABLE login_failures (
  username TEXT NOT NULL,                 -- the name that was tried
  at       INTEGER NOT NULL,              -- when
  addr     TEXT                           -- client address
);
CREATE INDEX login_failures_name ON login_failures(username, at);
CREATE INDEX login_failures_at ON login_failures(at); -- forgetting old failures

-- Staff sessions. Only a hash of the cookie token is stored.
CREATE TABLE sessions (
  token_hash BLOB PRIMARY KEY,            -- BLAKE2b of the cookie token
  account_id INTEGER NOT NULL REFERENCES accounts(id),
  csrf_token TEXT NOT NULL,               -- sent back in X-CSRF-Token
  created    INTEGER NOT NULL,            -- absolute timeout counts from here
  last_seen  INTEGER NOT NULL,            -- idle timeout counts from here
  addr       TEXT                         -- client address at login
) WITHOUT ROWID;
CREATE INDEX sessions_account ON sessions(account_id); -- ending every session of an account

-- Per-day counter behind tracking numbers XJ-YYYYMMDD-NNNNN.
CREATE TABLE tracking_counters (
  day  INTEGER PRIMARY KEY,               -- local date as YYYYMMDD
  last INTEGER NOT NULL                   -- last sequence number given out that day
);

-- Citizen items: letters, complaints, consultations.
CREATE TABLE items (
  id            INTEGER PRIMARY KEY,
  tracking      TEXT NOT NULL UNIQUE,     -- XJ-YYYYMMDD-NNNNN
  kind          TEXT NOT NULL CHECK (kind IN ('letter','complaint','consultation')),
  channel       TEXT NOT NULL CHECK (channel IN ('web','email','post','phone')),
  subject       TEXT NOT NULL,            -- UTF-8
  body          TEXT NOT NULL,            -- UTF-8
  name          TEXT,                     -- submitter's name
  phone         TEXT,                     -- submitter's phone
  email         TEXT,                     -- submitter's e-mail
  publish       INTEGER NOT NULL DEFAULT 0, -- 1: submitter allows publication
  query_hash    BLOB NOT NULL,            -- BLAKE2b of the query code (code shown once)
  received      INTEGER NOT NULL,         -- receipt (post/phone: date on the letter)
  created       INTEGER NOT NULL,         -- when it was stored
  updated       INTEGER NOT NULL,         -- last change
  state         TEXT NOT NULL,            -- workflow state (service/workflow.c)
  resume_state  TEXT,                     -- state to return to after waiting_citizen
  section_id    INTEGER REFERENCES sections(id), -- handling section
  assignee_id   INTEGER REFERENCES accounts(id), -- handler
  merged_into   INTEGER REFERENCES items(id),    -- when merged as a duplicate
  extension     TEXT NOT NULL DEFAULT 'none'
                  CHECK (extension IN ('none','requested','approved','refused')),
  draft         TEXT,                     -- reply being written or reviewed
  reply         TEXT,                     -- reply sent to the citizen
  replied_at    INTEGER,                  -- when the reply was sent
  reason        TEXT,                     -- rejection reason, sent to the citizen
  next_due      INTEGER NOT NULL,         -- nearest due time of a running clock (queue order);
                                          -- 9223372036854775807 when none runs
  public_subject TEXT,                    -- public version (masked), editable by staff
  public_body   TEXT,
  public_reply  TEXT,
  published     INTEGER NOT NULL DEFAULT 0, -- 1: shown on the public board
  source_ref    TEXT                      -- e.g. Message-ID of a mailed-in item
);
CREATE INDEX items_queue ON items(next_due, id);
CREATE INDEX items_section_queue ON items(section_id, next_due, id);
CREATE INDEX items_assignee_queue ON items(assignee_id, next_due, id);
CREATE INDEX items_state_queue ON items(state, next_due, id);
CREATE INDEX items_public ON items(published, replied_at);

-- The legal clocks of an item.
CREATE TABLE clocks (
  item_id     INTEGER NOT NULL REFERENCES items(id),
  name        TEXT NOT NULL CHECK (name IN ('forward','reply','explain')),
  started     INTEGER NOT NULL,           -- when the clock (re)started
  days        INTEGER NOT NULL,           -- limit in the policy's unit
  unit        TEXT NOT NULL DEFAULT 'working_days'
                CHECK (unit IN ('working_days','calendar_days')),
  end_minutes INTEGER NOT NULL DEFAULT 1440, -- due time of day, minutes after midnight
  due         INTEGER,                    -- due instant; NULL while paused
  paused_at   INTEGER,                    -- when paused (waiting for the citizen)
  remaining   INTEGER,                    -- working days left when paused
  stopped_at  INTEGER,                    -- when satisfied
  provisional INTEGER NOT NULL DEFAULT 0, -- 1: due date lies outside the calendar's coverage
  result      TEXT CHECK (result IN ('on_time','late')), -- frozen when the item closes
  PRIMARY KEY (item_id, name)
) WITHOUT ROWID;

-- One row per transition or event of an item.
CREATE TABLE history (
  id         INTEGER PRIMARY KEY,
  item_id    INTEGER NOT NULL REFERENCES items(id),
  at         INTEGER NOT NULL,            -- when
  actor_id   INTEGER REFERENCES accounts(id), -- NULL: the citizen or the system
  actor      TEXT NOT NULL,               -- actor as shown ("citizen", "system", username)
  action     TEXT NOT NULL,               -- e.g. submit, assign, forward, send_reply
  from_state TEXT,                        -- state before (NULL for submit)
  to_state   TEXT NOT NULL,               -- state after
  note       TEXT,                        -- reason, comment
  citizen    INTEGER NOT NULL DEFAULT 0   -- 1: shown to the citizen
);
CREATE INDEX history_item ON history(item_id, id);

-- Files sent with an item.
CREATE TABLE attachments (
  id           INTEGER PRIMARY KEY,
  item_id      INTEGER NOT NULL REFERENCES items(id),
  filename     TEXT NOT NULL,             -- as sent, UTF-8
  content_type TEXT NOT NULL,             -- as sent
  size         INTEGER NOT NULL,          -- bytes
  data         BLOB NOT NULL              -- the content
);
CREATE INDEX attachments_item ON attachments(item_id);

-- Audit log: logins, logouts, account changes, workflow actions. Append-only.
CREATE TABLE audit (
  id        INTEGER PRIMARY KEY,
  at        INTEGER NOT NULL,             -- when
  actor_id  INTEGER REFERENCES accounts(id), -- NULL for anonymous (failed login) or system
  actor     TEXT NOT NULL,                -- name as given
  addr      TEXT,                         -- client address
  action    TEXT NOT NULL,                -- login, login_failed, logout, user_add, assign, …
  target    TEXT,                         -- what it acted on (tracking number, username)
  detail    TEXT,                         -- free text
  ok        INTEGER NOT NULL DEFAULT 1    -- 0 for refused attempts
);
CREATE INDEX audit_at ON audit(at);
CREATE INDEX audit_actor ON audit(actor, at);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;

-- Notices to send (reminders, escalations, citizen mail), written in the same transaction as
-- the state that caused them; the dispatcher sends them with retries.
CREATE TABLE outbox (
  id         INTEGER PRIMARY KEY,
  item_id    INTEGER REFERENCES items(id),
  clock      TEXT,                        -- clock concerned, or NULL
  step       TEXT NOT NULL,               -- ladder step or message kind
  channel    TEXT NOT NULL CHECK (channel IN ('email','sms')),
  recipient  TEXT NOT NULL,               -- address or phone number
  subject    TEXT,
  body       TEXT NOT NULL,
  created    INTEGER NOT NULL,
  send_after INTEGER NOT NULL,            -- not before (quiet hours, backoff)
  attempts   INTEGER NOT NULL DEFAULT 0,
  sent_at    INTEGER,                     -- NULL until sent
  last_error TEXT,
  UNIQUE (item_id, clock, step, channel, recipient)
);
CREATE INDEX outbox_pending ON outbox(sent_at, send_after);
