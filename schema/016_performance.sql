-- 016_performance.sql: constant lists without temporary tables (issue 20, issue 13's
-- submission rate). SQLite evaluates `x IN ('a','b','c')` (three values or more) by filling a
-- temporary b-tree with the list each time the statement runs: every INSERT into items paid for
-- five of them (kind, channel, extension, the state trigger, the items_o311 expression), each
-- clock row for one, each outbox and item_facts row for one: about 7 µs each, a fifth of the
-- group-commit writer's time per submission. The same rules written as `x = 'a' OR x = 'b' ...`
-- compare in place. Nothing accepted or refused changes.
--
-- CHECK constraints cannot be changed by ALTER TABLE; their text is replaced in sqlite_schema,
-- which SQLite documents for changes that leave the stored rows valid (an equivalent CHECK
-- does): replace() leaves a table whose text differs (already rewritten, or changed by a later
-- migration) as it is, so applying this twice is harmless. writable_schema=RESET reloads this
-- connection's schema; the trigger and index statements below bump the schema version, so
-- every other connection reloads it too.

PRAGMA writable_schema = ON;

UPDATE sqlite_schema SET sql = replace(replace(replace(sql,
  'CHECK (kind IN (''letter'',''complaint'',''consultation''))',
  'CHECK (kind = ''letter'' OR kind = ''complaint'' OR kind = ''consultation'')'),
  'CHECK (channel IN (''web'',''email'',''post'',''phone''))',
  'CHECK (channel = ''web'' OR channel = ''email'' OR channel = ''post'' OR channel = ''phone'')'),
  'CHECK (extension IN (''none'',''requested'',''approved'',''refused''))',
  'CHECK (extension = ''none'' OR extension = ''requested'' OR extension = ''approved'' OR extension = ''refused'')')
  WHERE type = 'table' AND name = 'items';

UPDATE sqlite_schema SET sql = replace(sql,
  'CHECK (name IN (''forward'',''reply'',''explain''))',
  'CHECK (name = ''forward'' OR name = ''reply'' OR name = ''explain'')')
  WHERE type = 'table' AND name = 'clocks';

UPDATE sqlite_schema SET sql = replace(sql,
  'CHECK (state IN (''pending'',''sent'',''failed''))',
  'CHECK (state = ''pending'' OR state = ''sent'' OR state = ''failed'')')
  WHERE type = 'table' AND name = 'outbox';

UPDATE sqlite_schema SET sql = replace(sql,
  'CHECK (outcome IN (''replied'',''rejected'',''merged'',''closed''))',
  'CHECK (outcome = ''replied'' OR outcome = ''rejected'' OR outcome = ''merged'' OR outcome = ''closed'')')
  WHERE type = 'table' AND name = 'item_facts';

UPDATE sqlite_schema SET sql = replace(sql,
  'CHECK (outcome IN (''created'',''added'',''duplicate'',''ignored''))',
  'CHECK (outcome = ''created'' OR outcome = ''added'' OR outcome = ''duplicate'' OR outcome = ''ignored'')')
  WHERE type = 'table' AND name = 'mail_in';

UPDATE sqlite_schema SET sql = replace(sql,
  'CHECK (status IN (''active'',''suspended'',''revoked''))',
  'CHECK (status = ''active'' OR status = ''suspended'' OR status = ''revoked'')')
  WHERE type = 'table' AND name = 'accounts';

UPDATE sqlite_schema SET sql = replace(sql,
  'CHECK (kind IN (''letter'',''complaint'',''consultation''))',
  'CHECK (kind = ''letter'' OR kind = ''complaint'' OR kind = ''consultation'')')
  WHERE type = 'table' AND name = 'policy_overrides';

UPDATE sqlite_schema SET sql = replace(replace(sql,
  'CHECK (value IN (''satisfied'',''basically_satisfied'',''unsatisfied''))',
  'CHECK (value = ''satisfied'' OR value = ''basically_satisfied'' OR value = ''unsatisfied'')'),
  'CHECK (followup IN (''open'',''confirmed'',''reopened''))',
  'CHECK (followup = ''open'' OR followup = ''confirmed'' OR followup = ''reopened'')')
  WHERE type = 'table' AND name = 'ratings';

PRAGMA writable_schema = RESET;

-- items.state only takes workflow states (003): the same list, compared in place. A migration
-- that adds a state replaces both triggers.
DROP TRIGGER IF EXISTS items_state_insert;
CREATE TRIGGER items_state_insert BEFORE INSERT ON items
WHEN NOT (NEW.state = 'received' OR NEW.state = 'assigned' OR NEW.state = 'in_progress' OR
          NEW.state = 'waiting_citizen' OR NEW.state = 'extension_requested' OR
          NEW.state = 'drafted' OR NEW.state = 'in_review' OR NEW.state = 'returned' OR
          NEW.state = 'approved' OR NEW.state = 'replied' OR NEW.state = 'closed' OR
          NEW.state = 'forwarded' OR NEW.state = 'rejected' OR NEW.state = 'merged')
BEGIN SELECT RAISE(ABORT, 'items.state: not a workflow state'); END;

DROP TRIGGER IF EXISTS items_state_update;
CREATE TRIGGER items_state_update BEFORE UPDATE OF state ON items
WHEN NOT (NEW.state = 'received' OR NEW.state = 'assigned' OR NEW.state = 'in_progress' OR
          NEW.state = 'waiting_citizen' OR NEW.state = 'extension_requested' OR
          NEW.state = 'drafted' OR NEW.state = 'in_review' OR NEW.state = 'returned' OR
          NEW.state = 'approved' OR NEW.state = 'replied' OR NEW.state = 'closed' OR
          NEW.state = 'forwarded' OR NEW.state = 'rejected' OR NEW.state = 'merged')
BEGIN SELECT RAISE(ABORT, 'items.state: not a workflow state'); END;

-- Open311's list (004): the closed/open key computed in place; db_items.c's query names the
-- same expression, so that the planner reads it from the index.
DROP INDEX IF EXISTS items_o311;
CREATE INDEX items_o311 ON items(kind, (state = 'replied' OR state = 'closed' OR
                                        state = 'rejected' OR state = 'merged'),
                                 received, id) WHERE publish = 1;
