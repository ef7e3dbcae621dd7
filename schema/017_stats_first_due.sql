-- 017_stats_first_due.sql: the statistics remember the reply due time of an item's first
-- stretch (issue 18), so that reopening an item (重办) after an unsatisfied rating does not take
-- away the days it was overdue before its first reply from the months already past.

-- The reply clock's due instant when the item first ended (reply, reject, merge, close);
-- NULL before that, and for facts recorded before this migration (they keep their counts).
ALTER TABLE item_facts ADD COLUMN first_due INTEGER;
