"""Migrations 018 (the outbox's and the ladder's indexes for the scan, issue 15) and 019 (the
ladder's entries by time, its steps) on a database written before them: the next start applies
them, the outbox keeps each notice once (with and without an item), and the rows written before
stay as they were.
"""
import os
import sqlite3
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

ROW = ("INSERT INTO outbox (item_id, clock, step, channel, recipient, body, created, send_after) "
       "VALUES (NULL, NULL, ?, 'email', ?, 'b', 1760000000, 1760000000) ON CONFLICT DO NOTHING")


def indexes(path):
    db = sqlite3.connect(path)
    try:
        return {name: sql for name, sql in db.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name IN "
            "('outbox', 'ladder') AND sql IS NOT NULL")}
    finally:
        db.close()


class Migration018(unittest.TestCase):
    def test_older_database_upgraded(self):
        srv = harness.Server(env={"CIVICDESK_DEMO": "0"}).start()
        try:
            srv.stop()
            have = indexes(srv.db)
            self.assertNotIn("outbox_item", have)
            self.assertIn("WHERE lkey IS NULL", have["outbox_once"])  # 026: rows with a text
            self.assertIn("WHERE lkey IS NOT NULL", have["outbox_keys"])  # and key rows
            self.assertNotIn("outbox_due", have)  # 026: one per channel
            self.assertIn("channel = 'sms'", have["outbox_due_sms"])
            self.assertNotIn("ladder_next", have)  # 019: the table is its own index
            # Make the database look like one from before migration 018, with a digest row.
            db = sqlite3.connect(srv.db)
            db.executescript(harness.UNDO_032 + harness.UNDO_031 + harness.UNDO_027 + harness.UNDO_026 + harness.UNDO_025 +
                             harness.UNDO_022 + harness.UNDO_019 +
                             harness.UNDO_018 +
                             "PRAGMA user_version = 17;")
            db.execute(ROW, ("digest/2025-10-13", "fagui@example.com"))
            db.commit()
            db.close()
            self.assertIn("outbox_item", indexes(srv.db))
            self.assertNotIn("WHERE", indexes(srv.db)["ladder_next"])
            srv.start()
            srv.stop()
            db = sqlite3.connect(srv.db)
            try:
                self.assertEqual(db.execute("PRAGMA user_version").fetchone()[0],
                                 harness.SCHEMA_LATEST)
                self.assertEqual(indexes(srv.db), have)
                # still once: the row from before, a repeat of it and a new one
                db.execute(ROW, ("digest/2025-10-13", "fagui@example.com"))
                db.execute(ROW, ("digest/2025-10-13", "head@example.com"))
                db.commit()
                self.assertEqual(db.execute(
                    "SELECT step, recipient FROM outbox ORDER BY id").fetchall(),
                    [("digest/2025-10-13", "fagui@example.com"),
                     ("digest/2025-10-13", "head@example.com")])
            finally:
                db.close()
        finally:
            srv.cleanup()


if __name__ == "__main__":
    harness.main()
