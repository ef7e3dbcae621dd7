"""Regressions found in review: each test shows one defect that was fixed.

The daemon runs with the test clock; accounts and helpers are those of test_workflow.py.
"""
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from test_workflow import Base, qs  # noqa: E402


class Search(Base):
    """A search text is taken whole: never cut (inside a character, or to a shorter text that
    matches more)."""

    def test_queue_search_not_truncated(self):
        self.clock("2025-09-30T10:00")
        # 259 bytes of UTF-8 each; they share their first 256 bytes
        subject = "a" + "甲" * 85 + "丙"
        it = self.submit(subject=subject)
        q = self.staff["hand_fg"].get("/api/v1/queue" + qs(q=subject, state="all"))
        self.assertEqual(q.status, 200, q)
        self.assertEqual([x["tracking"] for x in q.json()["items"]], [it["tracking"]])
        q = self.staff["hand_fg"].get("/api/v1/queue" + qs(q="a" + "甲" * 85 + "乙",
                                                           state="all"))
        self.assertEqual(q.status, 200, q)
        self.assertEqual(q.json()["items"], [])


if __name__ == "__main__":
    harness.main()
