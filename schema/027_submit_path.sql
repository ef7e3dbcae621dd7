-- 027_submit_path.sql: the submission path (issue 20). An items INSERT entered three triggers,
-- and because it had triggers SQLite opened a statement journal for it, copying every page it
-- touched that the batch had already changed (the group-commit writer stores several items in
-- one transaction): the item's row and clocks cost 79,000 instructions, 58,000 without them
-- (callgrind on the writer). db_item_insert, the one way an item is stored, now does their work
-- in the same transaction, so what is stored, and when, is unchanged:
-- 1. board_fts_insert: a new item enters the public board's index when it is stored published
--    already (bench/gen_items does; a submission never is, and SQLite entered the trigger only
--    to find its WHEN false): db_item_insert adds the same row (the same expressions).
-- 2. ladder_item_insert: the ladder's entry (0, 0, item) of a new item (026), written by
--    db_item_insert with the same INSERT OR IGNORE.
-- 3. items_state_insert: a new item's state is one of the workflow's states; db_item_insert
--    writes the name of its enum and refuses any other value. Changes of state keep their
--    trigger (items_state_update), as every other trigger on items stays. A migration that
--    adds a state replaces items_state_update only (and the enum in db/db.h).
DROP TRIGGER IF EXISTS board_fts_insert;
DROP TRIGGER IF EXISTS ladder_item_insert;
DROP TRIGGER IF EXISTS items_state_insert;
