"""Regressions found in review: each test shows one defect that was fixed.

The daemon runs with the test clock; accounts and helpers are those of test_workflow.py.
"""
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from test_workflow import Base as WorkflowBase, qs  # noqa: E402


class Base(WorkflowBase):
    """test_workflow's fixture; the daemon must also stop cleanly, without a sanitizer report."""

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup_clean()


class Search(Base):
    """A search text is taken whole: never cut (inside a character, or to a shorter text that
    matches more)."""

    def test_queue_search_not_truncated(self):
        self.clock("2025-09-30T10:00")
        # 259 bytes of UTF-8 each; they share their first 256 bytes
        subject = "a" + "甲" * 85 + "丙"
        it = self.submit(subject=subject)
        q = self.staff["disp_a"].get("/api/v1/queue" + qs(q=subject, state="all"))
        self.assertEqual(q.status, 200, q)
        self.assertEqual([x["tracking"] for x in q.json()["items"]], [it["tracking"]])
        q = self.staff["disp_a"].get("/api/v1/queue" + qs(q="a" + "甲" * 85 + "乙",
                                                           state="all"))
        self.assertEqual(q.status, 200, q)
        self.assertEqual(q.json()["items"], [])


class StaffRegistration(Base):
    """Staff register a letter or call with the date of receipt, and the time when known
    (README: "received":"YYYY-MM-DD[THH:MM]")."""

    def register(self, received):
        return self.server.request("POST", "/api/v1/items", json_body={
            "kind": "letter", "subject": "来信", "body": "纸质来信", "channel": "post",
            "received": received, "publish": False}, headers=self.staff["disp_a"].headers())

    def test_received_with_time(self):
        self.clock("2025-09-30T10:00")
        r = self.register("2025-09-29T14:30")
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json()["received"], "2025-09-29T14:30:00+08:00")
        # counted from the day after receipt: 30 Sep, then 9, 10 Oct
        self.assertEqual(r.json()["clocks"]["forward"]["due"], "2025-10-10T23:59:59+08:00")
        r = self.register("2025-09-29")
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json()["received"], "2025-09-29T00:00:00+08:00")
        for bad in ("2025-10-01T09:00", "2025-09-29T25:00", "2025-09-29 14:30", "yesterday"):
            r = self.register(bad)
            self.assertEqual(r.status, 400, bad)
            self.assertEqual(r.json()["error"]["field"], "received", bad)


if __name__ == "__main__":
    harness.main()
