-- 027_submit_path.sql: the submission path (issue 20). A new item enters the public board's
-- index (board_fts) from db_item_insert, in the same statement's transaction, when it is stored
-- published already (bench/gen_items does; a submission never is), instead of through an
-- AFTER INSERT trigger: SQLite entered the trigger's program for every new item only to find
-- its WHEN false (6,800 of the 79,000 instructions of an item's row and clocks, measured with
-- callgrind on the group-commit writer). What the board's index holds, and when, is unchanged:
-- the row db_item_insert adds is the one the trigger added (the same expressions), and the
-- triggers on UPDATE and DELETE stay.
DROP TRIGGER IF EXISTS board_fts_insert;
