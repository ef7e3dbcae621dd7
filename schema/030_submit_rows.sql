-- 030_submit_rows.sql: two b-trees fewer for each submission (issue #20: the group-commit
-- writer's instructions per submission). Every index a new item's rows enter costs an entry
-- (a descent, a compare per level, a cell written) and, for the whole batch, one more 4 KiB
-- page in the WAL (its checksum, its write): measured with callgrind on the writer
-- (bench/bench_intake, batches of 8), each of these two cost 3,500-4,500 instructions of the
-- ~103,000 a submission took (bench/RESULTS.md, "the writer's rows").
--
-- 1. items_queue (next_due, id) goes. It served one statement only: the staff queue without a
--    section, assignee or state filter. That statement now reads items_state_queue (state,
--    next_due, id), which every item enters too, one list per workflow state merged by SQLite
--    in (next_due, id) order (db/db_queue.c, STMT_QUEUE_ALL): a page still reads its own
--    entries only (at 1,000,000 items: 0.2-0.8 ms a page before and after).
-- 2. outbox_once no longer holds the acknowledgements (step 'ack'). An acknowledgement is
--    queued once by construction: only when its item is stored, in the same transaction (the
--    item is new, so no other row of it exists), never afterwards; the dispatcher changes rows,
--    it does not add them. Every other notice keeps the once rule as before.
DROP INDEX IF EXISTS items_queue;

DROP INDEX IF EXISTS outbox_once;
CREATE UNIQUE INDEX outbox_once
  ON outbox(coalesce(item_id, 0), coalesce(clock, ''), coalesce(step, ''), channel, recipient)
  WHERE lkey IS NULL AND step IS NOT 'ack';
