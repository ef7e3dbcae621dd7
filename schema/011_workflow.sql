-- 011_workflow.sql: workflow (issue #14, point 10 and 11): calendars loaded into the database,
-- the calendar the clocks were last computed with, the anchor of a resumed clock, and the due
-- time a history step set. Applied in one transaction; PRAGMA user_version becomes 11.

-- Calendar files loaded with `civicdesk calendar load FILE`: each replaces the file of its year
-- among the built-in files (or those of calendar_dir), or adds its year.
CREATE TABLE calendar_files (
  year      INTEGER PRIMARY KEY,          -- the year it covers (that of its latest date)
  name      TEXT NOT NULL,                -- the file's base name as loaded (in messages)
  text      TEXT NOT NULL,                -- the file's text, as loaded
  loaded_at INTEGER NOT NULL,             -- when it was loaded
  loaded_by TEXT NOT NULL                 -- who loaded it (an account name, or "cli")
);

-- The calendar the running clocks were last computed with: its files (the built-in ones or
-- calendar_dir's, with calendar_files on top), so that a change of calendar (a load, or a new
-- file or binary at start) moves exactly the due times that depend on the changed days.
CREATE TABLE calendar_applied (
  seq  INTEGER PRIMARY KEY,               -- order of the file among the calendar's files
  name TEXT NOT NULL,                     -- the file's name (in messages)
  text TEXT NOT NULL                      -- the file's text
);

-- One row: the fingerprint of calendar_applied's calendar and when the clocks were computed.
CREATE TABLE calendar_state (
  id          INTEGER PRIMARY KEY CHECK (id = 1),
  fingerprint TEXT NOT NULL,              -- hex BLAKE2b of its range and every dated override
  applied_at  INTEGER NOT NULL            -- when the clocks were last recomputed with it
);

-- A clock resumed with the working days it had left (policy on_supplement = pause) counts its
-- due time from the day it resumed, not from its start.
ALTER TABLE clocks ADD COLUMN resumed_at INTEGER; -- when it resumed so; NULL otherwise

-- The due time a step set or moved (forward, extension requested or approved, the citizen's
-- supplement, a recalculation after a calendar change), shown to the citizen with the step.
ALTER TABLE history ADD COLUMN clock TEXT;  -- the clock concerned (forward, reply, explain)
ALTER TABLE history ADD COLUMN due INTEGER; -- its due instant after the step
