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

-- The public board's text search (GET /api/v1/public/items?q=) through an index instead of
-- reading every published row. An FTS5 table holds, for each item on the board (published = 1
-- and publish = 1), its reviewed and masked public texts only, written by the triggers below in
-- the transaction that publishes, edits or withdraws them. Chinese has no spaces and its words
-- are mostly two characters long (FTS5's trigram tokenizer finds nothing shorter than three), so
-- each text is indexed as the six bytes of UTF-8 from each character on, written in hex so that
-- the built-in 'ascii' tokenizer keeps each as one token: a two-character Chinese word (six
-- bytes) is one token; a longer text is the phrase of the pieces of its characters; a shorter
-- one (one Chinese character, a few letters) a token prefix. Valid UTF-8 matches valid UTF-8 only
-- at character boundaries, so these pieces find exactly the substrings. Bytes (a character
-- starts at each byte outside 0x80-0xBF) rather than characters because substr() on a BLOB is
-- O(1) and on TEXT walks from the start (characters made publishing a text of 20,000 characters
-- take 1.7 s). Letters are compared in lower case, as LIKE does. db_queue.c builds the query with
-- the same SQL functions.
-- Contentless (content=''): the texts are not stored twice; a removal hands FTS5 the old texts
-- (the trigger's OLD row), which the same functions turn into the same tokens. The board checks
-- each row it finds against the texts themselves (LIKE), so the index only chooses candidates.

-- Byte positions 1..80000 (PUBLIC_TEXT_MAX characters of at most four bytes): the triggers
-- cannot use a recursive WITH.
CREATE TABLE IF NOT EXISTS board_pos (
  i INTEGER PRIMARY KEY -- a byte position in a public text
);
WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < 80000)
INSERT OR IGNORE INTO board_pos(i) SELECT i FROM k;

-- One row per item on the board; rowid = replied_at * 2^31 + item id, so that the index's
-- rowid order is the board's order (newest reply first) and a page stops after its rows.
DROP TABLE IF EXISTS board_fts;
CREATE VIRTUAL TABLE board_fts USING fts5(
  subject, -- public_subject as tokens
  body,    -- public_body as tokens
  reply,   -- public_reply as tokens
  content = '', columnsize = 0, tokenize = 'ascii');
-- Merge segments eagerly (publications are few): a search opens every segment of its terms,
-- and the per-request CPU of a search halved once the index was one segment (bench/RESULTS.md).
INSERT INTO board_fts(board_fts, rank) VALUES ('automerge', 2);

DROP TRIGGER IF EXISTS board_fts_insert;
CREATE TRIGGER board_fts_insert AFTER INSERT ON items
WHEN NEW.published = 1 AND NEW.publish = 1
BEGIN
  INSERT INTO board_fts(rowid, subject, body, reply) VALUES (
    coalesce(NEW.replied_at, 0) * 2147483648 + NEW.id,
    (SELECT group_concat(hex(lower(substr(CAST(NEW.public_subject AS BLOB), i, 6))), ' ')
     FROM board_pos WHERE i <= length(CAST(NEW.public_subject AS BLOB)) AND
       substr(CAST(NEW.public_subject AS BLOB), i, 1) NOT BETWEEN x'80' AND x'BF'),
    (SELECT group_concat(hex(lower(substr(CAST(NEW.public_body AS BLOB), i, 6))), ' ')
     FROM board_pos WHERE i <= length(CAST(NEW.public_body AS BLOB)) AND
       substr(CAST(NEW.public_body AS BLOB), i, 1) NOT BETWEEN x'80' AND x'BF'),
    (SELECT group_concat(hex(lower(substr(CAST(NEW.public_reply AS BLOB), i, 6))), ' ')
     FROM board_pos WHERE i <= length(CAST(NEW.public_reply AS BLOB)) AND
       substr(CAST(NEW.public_reply AS BLOB), i, 1) NOT BETWEEN x'80' AND x'BF'));
END;

DROP TRIGGER IF EXISTS board_fts_update;
CREATE TRIGGER board_fts_update
AFTER UPDATE OF published, publish, replied_at, public_subject, public_body, public_reply ON items
WHEN ((OLD.published = 1 AND OLD.publish = 1) OR (NEW.published = 1 AND NEW.publish = 1)) AND
     NOT (OLD.published IS NEW.published AND OLD.publish IS NEW.publish AND
          OLD.replied_at IS NEW.replied_at AND OLD.public_subject IS NEW.public_subject AND
          OLD.public_body IS NEW.public_body AND OLD.public_reply IS NEW.public_reply)
BEGIN
  INSERT INTO board_fts(board_fts, rowid, subject, body, reply)
  SELECT 'delete', coalesce(OLD.replied_at, 0) * 2147483648 + OLD.id,
    (SELECT group_concat(hex(lower(substr(CAST(OLD.public_subject AS BLOB), i, 6))), ' ')
     FROM board_pos WHERE i <= length(CAST(OLD.public_subject AS BLOB)) AND
       substr(CAST(OLD.public_subject AS BLOB), i, 1) NOT BETWEEN x'80' AND x'BF'),
    (SELECT group_concat(hex(lower(substr(CAST(OLD.public_body AS BLOB), i, 6))), ' ')
     FROM board_pos WHERE i <= length(CAST(OLD.public_body AS BLOB)) AND
       substr(CAST(OLD.public_body AS BLOB), i, 1) NOT BETWEEN x'80' AND x'BF'),
    (SELECT group_concat(hex(lower(substr(CAST(OLD.public_reply AS BLOB), i, 6))), ' ')
     FROM board_pos WHERE i <= length(CAST(OLD.public_reply AS BLOB)) AND
       substr(CAST(OLD.public_reply AS BLOB), i, 1) NOT BETWEEN x'80' AND x'BF')
  WHERE OLD.published = 1 AND OLD.publish = 1;
  INSERT INTO board_fts(rowid, subject, body, reply)
  SELECT coalesce(NEW.replied_at, 0) * 2147483648 + NEW.id,
    (SELECT group_concat(hex(lower(substr(CAST(NEW.public_subject AS BLOB), i, 6))), ' ')
     FROM board_pos WHERE i <= length(CAST(NEW.public_subject AS BLOB)) AND
       substr(CAST(NEW.public_subject AS BLOB), i, 1) NOT BETWEEN x'80' AND x'BF'),
    (SELECT group_concat(hex(lower(substr(CAST(NEW.public_body AS BLOB), i, 6))), ' ')
     FROM board_pos WHERE i <= length(CAST(NEW.public_body AS BLOB)) AND
       substr(CAST(NEW.public_body AS BLOB), i, 1) NOT BETWEEN x'80' AND x'BF'),
    (SELECT group_concat(hex(lower(substr(CAST(NEW.public_reply AS BLOB), i, 6))), ' ')
     FROM board_pos WHERE i <= length(CAST(NEW.public_reply AS BLOB)) AND
       substr(CAST(NEW.public_reply AS BLOB), i, 1) NOT BETWEEN x'80' AND x'BF')
  WHERE NEW.published = 1 AND NEW.publish = 1;
END;

DROP TRIGGER IF EXISTS board_fts_delete;
CREATE TRIGGER board_fts_delete AFTER DELETE ON items
WHEN OLD.published = 1 AND OLD.publish = 1
BEGIN
  INSERT INTO board_fts(board_fts, rowid, subject, body, reply) VALUES ('delete',
    coalesce(OLD.replied_at, 0) * 2147483648 + OLD.id,
    (SELECT group_concat(hex(lower(substr(CAST(OLD.public_subject AS BLOB), i, 6))), ' ')
     FROM board_pos WHERE i <= length(CAST(OLD.public_subject AS BLOB)) AND
       substr(CAST(OLD.public_subject AS BLOB), i, 1) NOT BETWEEN x'80' AND x'BF'),
    (SELECT group_concat(hex(lower(substr(CAST(OLD.public_body AS BLOB), i, 6))), ' ')
     FROM board_pos WHERE i <= length(CAST(OLD.public_body AS BLOB)) AND
       substr(CAST(OLD.public_body AS BLOB), i, 1) NOT BETWEEN x'80' AND x'BF'),
    (SELECT group_concat(hex(lower(substr(CAST(OLD.public_reply AS BLOB), i, 6))), ' ')
     FROM board_pos WHERE i <= length(CAST(OLD.public_reply AS BLOB)) AND
       substr(CAST(OLD.public_reply AS BLOB), i, 1) NOT BETWEEN x'80' AND x'BF'));
END;

-- The items already on the board.
INSERT INTO board_fts(rowid, subject, body, reply)
SELECT coalesce(replied_at, 0) * 2147483648 + id,
  (SELECT group_concat(hex(lower(substr(CAST(public_subject AS BLOB), i, 6))), ' ')
   FROM board_pos WHERE i <= length(CAST(public_subject AS BLOB)) AND
     substr(CAST(public_subject AS BLOB), i, 1) NOT BETWEEN x'80' AND x'BF'),
  (SELECT group_concat(hex(lower(substr(CAST(public_body AS BLOB), i, 6))), ' ')
   FROM board_pos WHERE i <= length(CAST(public_body AS BLOB)) AND
     substr(CAST(public_body AS BLOB), i, 1) NOT BETWEEN x'80' AND x'BF'),
  (SELECT group_concat(hex(lower(substr(CAST(public_reply AS BLOB), i, 6))), ' ')
   FROM board_pos WHERE i <= length(CAST(public_reply AS BLOB)) AND
     substr(CAST(public_reply AS BLOB), i, 1) NOT BETWEEN x'80' AND x'BF')
FROM items WHERE published = 1 AND publish = 1;
INSERT INTO board_fts(board_fts) VALUES ('optimize');

-- Where the start-up's search for items without statistics' facts (core/stats.c, stats_backfill)
-- resumes: every item up to last_item was looked at. Items written through the core get their
-- facts in their own transaction, so only newer ids need looking at, instead of a look-up in
-- item_facts for every item at every start (1.1 s at 1,000,000 items).
CREATE TABLE IF NOT EXISTS stats_checked (
  id        INTEGER PRIMARY KEY CHECK (id = 1), -- one row
  last_item INTEGER NOT NULL                    -- the largest items.id looked at
);
-- Facts taken away (a repair, a test making a database look older) make the next start look at
-- every item again. (INSERT OR REPLACE of a fact fires no DELETE trigger: recursive_triggers is
-- off.)
DROP TRIGGER IF EXISTS stats_checked_reset;
CREATE TRIGGER stats_checked_reset AFTER DELETE ON item_facts
BEGIN DELETE FROM stats_checked; END;
