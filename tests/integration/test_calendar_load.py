"""#14 point 10 (and 11): loading a calendar moves the due times that depend on the changed
days, clears `provisional`, and tells the citizen; `serve` does the same at start when its
calendar changed. The real daemon with the test clock, in late December 2026, when the built-in
calendar ends (2026-12-31) and every due date in 2027 is provisional.

Received Mon 2026-12-28 10:00; on the base week the working days after it are 29, 30, 31 Dec,
1, 4, 5, 6, 7, 8, 11, 12, 13, 14, 15, 18, 19, 20 Jan. The test's 2027 file makes 6 and 7 Jan
holidays and 9 Jan, a Saturday, a make-up working day, so:
  reply (5 WD): 4 Jan before and after (it does not depend on the changed days);
  extended reply (15 WD): 18 Jan before, 19 Jan after (6, 7 off, 9 worked);
  forward (3 WD): 31 Dec, covered, never provisional.
"""
import collections
import os
import shutil
import sqlite3
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from test_workflow import Base  # noqa: E402

END = "T23:59:59+08:00"
NOW = "2026-12-28T10:00"
CAL_2027 = """# A test calendar for 2027 (not the State Council's).
2027-01-06 off 测试假日
2027-01-07 off 测试假日
2027-01-09 work 测试调休
"""
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


def local_day(t):
    """sla_day of a Unix time in Asia/Shanghai (UTC+8, no DST)."""
    return (t + 8 * 3600) // 86400


def check_stats(test, dbpath):
    """The per-day statistics of the open items agree with their clocks: each item's reply due
    day in stats_due, and its overdue step (+1 on the due day) in stats_daily."""
    with sqlite3.connect(dbpath) as db:
        rows = db.execute(
            "SELECT k.due, f.section_id, f.received FROM clocks k "
            "JOIN item_facts f ON f.item_id = k.item_id "
            "WHERE k.name = 'reply' AND k.due IS NOT NULL AND f.ended IS NULL").fetchall()
        want_due = collections.Counter((local_day(d), s, -1) for d, s, _ in rows)
        want_overdue = collections.Counter((s, local_day(max(d, r))) for d, s, r in rows)
        got_due = {(d, s, r): n for d, s, r, n in db.execute(
            "SELECT due_day, section_id, replied_day, n FROM stats_due WHERE n != 0")}
        got_overdue = {(s, d): n for s, d, n in db.execute(
            "SELECT section_id, day, overdue FROM stats_daily WHERE overdue != 0")}
    test.assertEqual(got_due, dict(want_due))
    test.assertEqual(got_overdue, dict(want_overdue))


class Load(Base):
    # the staff log in at the test's time; the calendar is looked at each second
    ENV = {"CIVICDESK_TEST_NOW": NOW, "CIVICDESK_SCAN_INTERVAL": "1"}
    TEMPLATE = False  # one daemon, its database made at its first start (as before)

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="civicdesk-cal-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def write(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return path

    def extended(self):
        """An item of 法规处 with an approved extension: reply due 18 Jan (provisional)."""
        item = self.submit()
        t = item["tracking"]
        self.ok("disp_a", t, "assign", section="法规处")
        self.ok("hand_fg", t, "accept")
        self.ok("hand_fg", t, "request_extension", reason="需核查")
        self.ok("sup_a", t, "approve_extension")
        return item

    def test_p10_calendar_load_moves_due_dates(self):
        self.server.set_clock(NOW)
        plain = self.submit()                 # reply 4 Jan: does not depend on 6, 7 Jan
        ext = self.extended()                 # reply 18 Jan -> 19 Jan
        waiting = self.submit()               # paused: left alone
        self.ok("disp_a", waiting["tracking"], "assign", section="稽查处")
        self.ok("hand_jc", waiting["tracking"], "accept")
        self.ok("hand_jc", waiting["tracking"], "ask_citizen", reason="请补充")
        tr = self.track(ext)
        self.assertEqual(tr["clocks"]["reply"]["due"], "2027-01-18" + END)
        self.assertTrue(tr["clocks"]["reply"]["provisional"])
        before_plain = self.track(plain)
        self.assertEqual(before_plain["clocks"]["reply"]["due"], "2027-01-04" + END)
        self.assertTrue(before_plain["clocks"]["reply"]["provisional"])
        self.assertFalse(before_plain["clocks"]["forward"]["provisional"])
        check_stats(self, self.server.db)

        # a bad file: named with its line, exit 65, nothing changed
        bad = self.write("2027.txt", CAL_2027 + "2027-01-11 work 星期一调休\n")
        r = self.server.cli("calendar", "load", bad)
        self.assertEqual(r.returncode, 65, r.stderr)
        self.assertIn("2027.txt:5:", r.stderr)
        r = self.server.cli("calendar", "load", self.write("x.txt", "2027-13-01 off 坏\n"))
        self.assertEqual(r.returncode, 65, r.stderr)
        self.assertIn("x.txt:1:", r.stderr)
        self.assertEqual(self.server.cli("calendar", "load",
                                         os.path.join(self.dir, "none.txt")).returncode, 66)
        # a good file that leaves a gap after the calendar in force (2027 missing)
        r = self.server.cli("calendar", "load", self.write("2028.txt", "2028-01-03 off 测试\n"))
        self.assertEqual(r.returncode, 65, r.stderr)
        self.assertIn("2028", r.stderr)
        self.assertEqual(self.track(ext), tr)
        with sqlite3.connect(self.server.db) as db:
            self.assertEqual(db.execute("SELECT count(*) FROM calendar_files").fetchone()[0], 0)

        # the right file
        good = self.write("2027.txt", CAL_2027)
        r = self.server.cli("calendar", "load", good)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("1 due times moved on 1 items", r.stdout)
        after = self.track(ext)
        reply = after["clocks"]["reply"]
        self.assertEqual((reply["due"], reply["provisional"]), ("2027-01-19" + END, False))
        rows = [h for h in after["history"] if h["action"] == "recalculate"]
        self.assertEqual(len(rows), 1, after["history"])
        self.assertEqual((rows[0]["clock"], rows[0]["due"]), ("reply", "2027-01-19" + END))
        self.assertIn("2027-01-19", rows[0]["note"])
        self.assertNotIn("actor", rows[0])
        # the staff see it with its actor, and the audit log has it
        it = self.staff["hand_fg"].get("/api/v1/items/" + ext["tracking"]).json()
        self.assertEqual(it["history"][-1]["actor"], "cli")
        self.assertEqual(it["clocks"]["reply"]["due"], "2027-01-19" + END)
        # not depending on the changed days: the same due time, only confirmed
        p = self.track(plain)
        self.assertEqual(p["clocks"]["reply"]["due"], "2027-01-04" + END)
        self.assertFalse(p["clocks"]["reply"]["provisional"])
        self.assertEqual(p["history"], before_plain["history"])
        self.assertEqual(p["clocks"]["forward"], before_plain["clocks"]["forward"])
        # paused: nothing moved
        w = self.track(waiting)
        self.assertEqual(w["clocks"]["reply"]["state"], "paused")
        self.assertNotIn("recalculate", [h["action"] for h in w["history"]])
        check_stats(self, self.server.db)

        # loading it again changes nothing
        r = self.server.cli("calendar", "load", good)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("0 due times moved", r.stdout)
        self.assertEqual(self.track(ext)["history"], after["history"])

        # the running service takes the loaded calendar up within scan_interval: new items
        # count on it
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            h = self.server.request("GET", "/api/v1/health").json()
            if h["calendar"]["last"] == "2027-12-31":
                break
            time.sleep(0.2)
        self.assertEqual(h["calendar"]["last"], "2027-12-31")
        self.assertEqual(self.track(self.extended())["clocks"]["reply"]["due"],
                         "2027-01-19" + END)
        # and at its next start, without moving anything again
        self.server.stop()
        self.server.start()
        self.server.set_clock(NOW)
        h = self.server.request("GET", "/api/v1/health").json()
        self.assertEqual(h["calendar"]["last"], "2027-12-31")
        self.assertEqual(self.track(ext)["history"], after["history"])


class Unfinished(Base):
    """A recalculation cut short (an item that cannot be written) leaves the others done and is
    finished by the next start, moving nothing twice."""
    ENV = {"CIVICDESK_TEST_NOW": NOW}
    TEMPLATE = False  # one daemon, its database made at its first start (as before)

    def test_p10_an_unfinished_recalculation_is_finished_at_start(self):
        self.server.set_clock(NOW)
        items = [Load.extended(self) for _ in range(3)]
        with sqlite3.connect(self.server.db) as db:
            stuck = db.execute("SELECT id FROM items WHERE tracking = ?",
                               (items[1]["tracking"],)).fetchone()[0]
            db.execute("CREATE TRIGGER stuck BEFORE INSERT ON history WHEN NEW.item_id = %d "
                       "AND NEW.action = 'recalculate' BEGIN SELECT RAISE(ABORT, 'stuck'); END"
                       % stuck)
        d = tempfile.mkdtemp(prefix="civicdesk-cal-")
        try:
            path = os.path.join(d, "2027.txt")
            with open(path, "w", encoding="utf-8") as f:
                f.write(CAL_2027)
            r = self.server.cli("calendar", "load", path)
        finally:
            shutil.rmtree(d, ignore_errors=True)
        self.assertEqual(r.returncode, 75, r.stderr)
        self.assertIn("1 items could not be recalculated", r.stderr)
        dues = [self.track(i)["clocks"]["reply"]["due"] for i in items]
        self.assertEqual(dues, ["2027-01-19" + END, "2027-01-18" + END, "2027-01-19" + END])
        done = self.track(items[0])["history"]
        with sqlite3.connect(self.server.db) as db:
            db.execute("DROP TRIGGER stuck")
        self.server.stop()
        self.server.start()
        self.assertIn("1 due times moved on 1 items", "\n".join(self.server.startup))
        dues = [self.track(i)["clocks"]["reply"]["due"] for i in items]
        self.assertEqual(dues, ["2027-01-19" + END] * 3)
        self.assertEqual(self.track(items[0])["history"], done)
        self.assertEqual([h["action"] for h in self.track(items[1])["history"]].count(
            "recalculate"), 1)
        check_stats(self, self.server.db)


class AtStart(Base):
    """serve recomputes at start when its calendar changed (here a new file in calendar_dir)."""
    ENV = {}
    TEMPLATE = False  # one daemon, its database made at its first start (as before)

    @classmethod
    def setUpClass(cls):
        cls.caldir = tempfile.mkdtemp(prefix="civicdesk-caldir-")
        for y in ("2024", "2025", "2026"):
            shutil.copy(os.path.join(ROOT, "sla", "calendars", "cn", y + ".txt"), cls.caldir)
        cls.ENV = {"CIVICDESK_CALENDAR_DIR": cls.caldir, "CIVICDESK_TEST_NOW": NOW}
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        shutil.rmtree(cls.caldir, ignore_errors=True)

    def test_p10_serve_recomputes_when_its_calendar_changed(self):
        self.server.set_clock(NOW)
        item = self.submit()
        t = item["tracking"]
        self.ok("disp_a", t, "assign", section="法规处")
        self.ok("hand_fg", t, "accept")
        self.ok("hand_fg", t, "request_extension", reason="需核查")
        self.ok("sup_a", t, "approve_extension")
        before = self.track(item)
        self.assertEqual(before["clocks"]["reply"]["due"], "2027-01-18" + END)
        # a restart with the same calendar moves nothing
        self.server.stop()
        self.server.start()
        self.assertEqual(self.track(item), before)
        # the 2027 file appears in calendar_dir
        self.server.stop()
        with open(os.path.join(self.caldir, "2027.txt"), "w", encoding="utf-8") as f:
            f.write(CAL_2027)
        self.server.start()
        self.assertIn("due times moved on 1 items", "\n".join(self.server.startup))
        after = self.track(item)
        self.assertEqual(after["clocks"]["reply"]["due"], "2027-01-19" + END)
        self.assertFalse(after["clocks"]["reply"]["provisional"])
        rows = [h for h in after["history"] if h["action"] == "recalculate"]
        self.assertEqual([(h["clock"], h["due"]) for h in rows], [("reply", "2027-01-19" + END)])
        check_stats(self, self.server.db)


if __name__ == "__main__":
    harness.main()
