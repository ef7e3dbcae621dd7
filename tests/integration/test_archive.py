#!/usr/bin/env python3
"""Audit archiving: records older than audit_archive_days (180 by default, never less) move to
archive files that `civicdesk audit verify` checks with the live log, the chain going on across
each archive boundary; a changed or missing archive is reported; serve archives at start (and
daily). Driven by the injected clock."""
import os
import shutil
import sqlite3
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


def audit_ids(db_path):
    db = sqlite3.connect(db_path)
    try:
        return [i for (i,) in db.execute("SELECT id FROM audit ORDER BY id")]
    finally:
        db.close()


class Archive(unittest.TestCase):
    def verify(self, srv, ok=True):
        r = srv.cli("audit", "verify")
        self.assertEqual(r.returncode, 0 if ok else 1, r.stdout + r.stderr)
        return r.stdout

    def test_archive_verify_and_tamper(self):
        srv = harness.Server(env={"CIVICDESK_TEST_NOW": "2025-01-10T10:00"}).start()
        try:
            srv.set_clock("2025-01-10T10:00")
            for i in range(3):
                srv.staff("old%d" % i, "dispatcher")
            old = audit_ids(srv.db)
            srv.set_clock("2025-04-20T10:00")  # 100 days later
            srv.staff("mid", "dispatcher")
            mid = [i for i in audit_ids(srv.db) if i > old[-1]]
            # 200 days after the first records: only those are older than 180 days
            srv.set_clock("2025-07-29T10:00")
            r = srv.cli("audit", "archive")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("archived records 1 to %d" % old[-1], r.stdout)
            first_file = r.stdout.rsplit(" to ", 1)[1].strip()
            self.assertTrue(os.path.exists(first_file))
            self.assertEqual(os.path.dirname(first_file), os.path.join(srv.dir, "audit-archive"))
            live = audit_ids(srv.db)
            self.assertEqual(live[0], old[-1] + 1)  # the old ones left the live log ...
            self.assertTrue(set(mid) <= set(live))  # ... the younger ones did not
            out = self.verify(srv)
            self.assertIn("intact: %d records (%d of them in 1 archive files)" %
                          (live[-1], len(old)), out)
            # the chain goes on across the boundary: new records, a second archive
            srv.staff("late", "dispatcher")
            self.verify(srv)
            srv.set_clock("2026-03-01T10:00")
            r = srv.cli("audit", "archive")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("archived records %d to" % (old[-1] + 1), r.stdout)
            second_file = r.stdout.rsplit(" to ", 1)[1].strip()
            out = self.verify(srv)
            self.assertIn("in 2 archive files", out)
            r = srv.cli("audit", "archive")
            self.assertIn("no audit records older than 180 days", r.stdout)
            # a record changed inside an archive is found
            saved = first_file + ".saved"
            shutil.copy(first_file, saved)
            a = sqlite3.connect(first_file)
            a.executescript("DROP TRIGGER audit_no_update; "
                            "UPDATE audit SET actor = 'nobody' WHERE id = 2;")
            a.close()
            out = self.verify(srv, ok=False)
            self.assertIn("broken at record 2", out)
            self.assertIn("in archive " + first_file, out)
            # a missing archive is found
            os.remove(first_file)
            out = self.verify(srv, ok=False)
            self.assertIn("their archive %s cannot be read" % first_file, out)
            shutil.move(saved, first_file)
            self.verify(srv)
            # the live log still refuses to lose records that were never archived
            db = sqlite3.connect(srv.db)
            with self.assertRaises(sqlite3.DatabaseError):
                db.execute("DELETE FROM audit WHERE id = (SELECT max(id) FROM audit)")
            db.close()
            self.assertTrue(os.path.exists(second_file))
        finally:
            srv.cleanup()

    def test_serve_archives_at_start(self):
        srv = harness.Server(env={"CIVICDESK_TEST_NOW": "2025-01-10T10:00"}).start()
        try:
            srv.set_clock("2025-01-10T10:00")
            srv.staff("chief", "admin")
            n = len(audit_ids(srv.db))
            srv.stop()
            srv.env["CIVICDESK_TEST_NOW"] = "2025-12-01T10:00"
            srv.start()
            srv.clock = "2025-12-01T10:00"
            deadline = time.monotonic() + 30
            live = audit_ids(srv.db)
            while time.monotonic() < deadline and live[0] != n + 1:
                time.sleep(0.1)
                # never an empty log: the archive's own record is committed with the deletion
                live = audit_ids(srv.db)
                self.assertTrue(live, "the live audit log was seen empty")
            self.assertEqual(live[0], n + 1, live)
            out = self.verify(srv)
            self.assertIn("(%d of them in 1 archive files)" % n, out)
            srv.stop()
            self.assertIn("audit archive: records 1 to %d" % n, srv.output)
        finally:
            srv.cleanup()

    def test_never_less_than_180_days(self):
        r = harness.run_cli("audit", "archive", env={"CIVICDESK_AUDIT_ARCHIVE_DAYS": "179",
                                                     "CIVICDESK_DB": "/nonexistent/x.db"})
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("audit_archive_days", r.stderr)


if __name__ == "__main__":
    harness.main()
