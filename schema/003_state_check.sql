-- 003_state_check.sql: items.state holds only the states the workflow knows (workflow.c).
-- Applied in one transaction; PRAGMA user_version becomes 3. SQLite cannot add a CHECK to an
-- existing table, so two triggers refuse any other value on insert and on update; a later
-- migration that adds a state replaces both triggers.
CREATE TRIGGER IF NOT EXISTS items_state_insert BEFORE INSERT ON items
WHEN NEW.state NOT IN ('received', 'assigned', 'in_progress', 'waiting_citizen',
                       'extension_requested', 'drafted', 'in_review', 'returned', 'approved',
                       'replied', 'closed', 'forwarded', 'rejected', 'merged')
BEGIN SELECT RAISE(ABORT, 'items.state: not a workflow state'); END;

CREATE TRIGGER IF NOT EXISTS items_state_update BEFORE UPDATE OF state ON items
WHEN NEW.state NOT IN ('received', 'assigned', 'in_progress', 'waiting_citizen',
                       'extension_requested', 'drafted', 'in_review', 'returned', 'approved',
                       'replied', 'closed', 'forwarded', 'rejected', 'merged')
BEGIN SELECT RAISE(ABORT, 'items.state: not a workflow state'); END;
