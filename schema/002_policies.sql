-- 002_policies.sql: the clock policies administrators set through the API. Applied in one
-- transaction; PRAGMA user_version becomes 2.

-- One row per key an administrator has set for a kind of item; it overrides the
-- configuration's policy.KIND.KEY. A key without a row follows the configuration. The value is
-- the text the configuration file would hold for that key, checked by the same parser
-- (service/policy.c) when written and again at every start.
CREATE TABLE policy_overrides (
  kind       TEXT NOT NULL CHECK (kind IN ('letter','complaint','consultation')),
  key        TEXT NOT NULL,               -- forward_days, reply_days, …, on_supplement
  value      TEXT NOT NULL,               -- as in civicdesk.conf: "10", "calendar_days", "17:30"
  updated_at INTEGER NOT NULL,            -- when it was last set
  updated_by INTEGER REFERENCES accounts(id), -- the administrator who set it
  PRIMARY KEY (kind, key)
) WITHOUT ROWID;
