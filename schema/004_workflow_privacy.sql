-- 004_workflow_privacy.sql: workflow and privacy fixes (issue #14). Applied in one transaction;
-- PRAGMA user_version becomes 4.

-- Where an Open311 client located its request: personal data (a citizen's home, often), kept
-- for staff and never shown unmasked in public.
ALTER TABLE items ADD COLUMN address TEXT;       -- Open311 address_string, as sent
ALTER TABLE items ADD COLUMN lat TEXT;           -- Open311 lat, decimal degrees as sent
ALTER TABLE items ADD COLUMN lng TEXT;           -- Open311 long, decimal degrees as sent
-- When the item began to wait for the citizen's supplement (NULL when it does not wait): the
-- queue marks it once policy supplement_days working days have passed.
ALTER TABLE items ADD COLUMN waiting_since INTEGER;

-- Open311's list: consented items, by kind and open/closed, newest receipt first. A page reads
-- only its own rows whatever the filters (service_code, status, start_date, end_date).
CREATE INDEX items_o311 ON items(kind, (state IN ('replied','closed','rejected','merged')),
                                 received, id) WHERE publish = 1;
-- The duplicates merged into an item (its history and staff view list them; they get its reply).
CREATE INDEX items_merged ON items(merged_into) WHERE merged_into IS NOT NULL;

-- Every earlier text of an item's public version: published information is kept, not
-- overwritten. A row is written with the texts as they were before each staff edit.
CREATE TABLE public_versions (
  id        INTEGER PRIMARY KEY,
  item_id   INTEGER NOT NULL REFERENCES items(id),
  at        INTEGER NOT NULL,             -- when these texts were replaced
  actor_id  INTEGER REFERENCES accounts(id), -- who replaced them
  subject   TEXT,                         -- public_subject before the edit (may be NULL)
  body      TEXT,                         -- public_body before the edit (may be NULL)
  reply     TEXT,                         -- public_reply before the edit (may be NULL)
  published INTEGER NOT NULL              -- 1: these texts were on the board when replaced
);
CREATE INDEX public_versions_item ON public_versions(item_id, id);
