"""Statistics (GET /api/v1/stats, civicdesk stats): a generated set of items with known fates —
on time, late, rejected, merged, forwarded, still open and overdue, across the month boundary and
National Day 2025 — played through the real daemon with the test clock and staff registration
with a past `received`, then compared with counts made here, independently, from the plan and
the calendar file. The same figures must come back after a policy change and after a restart
on a changed calendar (frozen results).
"""
import datetime as dt
import os
import shutil
import sqlite3
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

harness.BIN = os.path.abspath(harness.BIN)
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CAL_DIR = os.path.join(ROOT, "sla", "calendars", "cn")

PW = "Passw0rd!Stats"
ACCOUNTS = [
    ("disp_s", "dispatcher", None),
    ("sup_s", "supervisor", None),
    ("admin_s", "admin", None),
    ("hand_fg", "handler", "法规处"),
    ("head_fg", "section_head", "法规处"),
    ("hand_jc", "handler", "稽查处"),
    ("head_jc", "section_head", "稽查处"),
]
HANDLER = {"法规处": "hand_fg", "稽查处": "hand_jc"}
HEAD = {"法规处": "head_fg", "稽查处": "head_jc"}
FG, JC = "法规处", "稽查处"


# --- an independent model of the calendar and of the counts ----------------------------------

def load_calendar(folder):
    off, work = set(), set()
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".txt"):
            continue
        with open(os.path.join(folder, name), encoding="utf-8") as f:
            for line in f:
                line = line.split("#", 1)[0].split()
                if len(line) >= 2:
                    d = dt.date.fromisoformat(line[0])
                    (off if line[1] == "off" else work).add(d)
    return off, work


OFF, WORK = load_calendar(CAL_DIR)


def working(d):
    if d in WORK:
        return True
    if d in OFF:
        return False
    return d.weekday() < 5


def add_wd(d, n):
    while n > 0:
        d += dt.timedelta(days=1)
        if working(d):
            n -= 1
    return d


def wd_between(a, b):
    """Working days d with a < d <= b."""
    n, d = 0, a
    while d < b:
        d += dt.timedelta(days=1)
        n += working(d)
    return n


def t(s):
    return dt.datetime.fromisoformat(s)


def due5(received):
    return dt.datetime.combine(add_wd(received.date(), 5), dt.time(23, 59, 59))


# The plan: every item with its final section (None: never assigned) and its fate.
# fate: ("reply", when) | ("reject", when) | ("merge", when, target) | None (stays open)
PLAN = [
    dict(key="A1", recv="2025-09-26T10:00", section=FG, fate=("reply", "2025-09-30T15:00")),
    dict(key="A2", recv="2025-09-19T10:00", section=FG, fate=("reply", "2025-10-09T11:00")),
    dict(key="A3", recv="2025-09-30T09:00", section=FG, fate=("reply", "2025-10-10T16:00")),
    dict(key="A4", recv="2025-09-10T09:00", section=JC, fate=("reject", "2025-09-11T10:00")),
    dict(key="A5", recv="2025-10-13T09:00", section=JC,
         fate=("merge", "2025-10-14T10:00", "A3")),
    dict(key="A6", recv="2025-09-01T09:00", section=JC, fate=None),
    dict(key="A7", recv="2025-09-29T09:00", section=JC, fate=("reply", "2025-10-13T17:00")),
    dict(key="A8", recv="2025-09-22T09:00", section=JC, first=FG,
         forward="2025-09-23T10:00", fate=("reply", "2025-09-25T10:00")),
    dict(key="A9", recv="2025-10-20T09:00", section=None, fate=None),
    dict(key="A10", recv="2025-10-31T16:00", section=FG, fate=("reply", "2025-11-03T10:00")),
    dict(key="A11", recv="2025-09-24T09:00", section=FG, fate=("reply", "2025-10-09T09:00")),
    dict(key="A12", recv="2025-10-08T11:00", section=JC, fate=None),
]
NOW = "2025-11-05T12:00"


def accepted_at(p):
    """When the section that answers accepted it (an hour after receipt or the forward)."""
    if p["section"] is None:
        return None
    return t(p["forward"]) + dt.timedelta(hours=1) if p.get("forward") else \
        t(p["recv"]) + dt.timedelta(hours=1)


def expected(first, last, now):
    """The figures of the period [first, last] (dates) counted from the plan."""
    start = dt.datetime.combine(first, dt.time(0))
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(0))
    open_end = min(end, dt.datetime.combine(now.date() + dt.timedelta(days=1), dt.time(0)))
    rows = {}

    def row(section):
        return rows.setdefault(section, dict(received=0, accepted=0, forwarded=0, replied=0,
                                             replied_on_time=0, replied_late=0, open=0,
                                             overdue=0, rejected=0, merged=0, wd=[]))
    for p in PLAN:
        recv = t(p["recv"])
        r = row(p["section"])
        fate = p["fate"]
        ended = t(fate[1]) if fate else None
        if start <= recv < end:
            r["received"] += 1
        acc = accepted_at(p)
        if acc is not None and start <= acc < end:
            r["accepted"] += 1
        if p.get("forward") and start <= t(p["forward"]) < end:
            row(p["first"])["forwarded"] += 1
        if fate and fate[0] == "reply" and start <= ended < end:
            r["replied"] += 1
            r["replied_on_time" if ended <= due5(recv) else "replied_late"] += 1
            r["wd"].append(wd_between(recv.date(), ended.date()))
        if fate and fate[0] == "reject" and start <= ended < end:
            r["rejected"] += 1
        if fate and fate[0] == "merge" and start <= ended < end:
            r["merged"] += 1
        if recv < open_end and (ended is None or ended >= open_end):
            r["open"] += 1
            if due5(recv) < open_end:
                r["overdue"] += 1
    return rows


class StatsBase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="civicdesk-stats-")
        cls.server = harness.Server(env={"CIVICDESK_SUBMIT_RATE": "0"}, dbdir=cls.dir).start()
        for name, role, section in ACCOUNTS:
            cls.server.add_user(name, role, section, password=PW)
        cls.staff = {name: cls.server.login(name, PW) for name, _, _ in ACCOUNTS}
        cls.items = {}
        cls.play()

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()
        shutil.rmtree(cls.dir, ignore_errors=True)

    @classmethod
    def act(cls, who, key, action, **fields):
        r = cls.staff[who].request("POST", "/api/v1/items/%s/actions/%s" %
                                   (cls.items[key], action), json_body=fields)
        if r.status != 200:
            raise RuntimeError("%s %s %s: %r" % (who, key, action, r))

    @classmethod
    def play(cls):
        """Plays the plan in time order with the test clock."""
        events = []
        for p in PLAN:
            k = p["key"]
            recv = t(p["recv"])
            events.append((recv, 0, "register", p))
            if p["section"] is None:
                continue
            first = p.get("first", p["section"])
            events.append((recv + dt.timedelta(minutes=30), 1, "assign", (k, first)))
            if p.get("forward"):
                events.append((t(p["forward"]), 2, "forward", (k, p["section"])))
            events.append((accepted_at(p), 3, "accept", (k, p["section"])))
            fate = p["fate"]
            if fate:
                events.append((t(fate[1]), 4, fate[0], (k, p["section"]) + tuple(fate[2:])))
        events.sort(key=lambda e: (e[0], e[1]))
        for when, _, what, arg in events:
            cls.server.set_clock(when.strftime("%Y-%m-%dT%H:%M"))
            if what == "register":
                r = cls.staff["disp_s"].request("POST", "/api/v1/items", json_body={
                    "kind": "letter", "subject": "统计 " + arg["key"], "body": "正文",
                    "name": "李四", "phone": "13912345678", "publish": False,
                    "channel": "post", "received": arg["recv"]})
                if r.status != 201:
                    raise RuntimeError("register: %r" % r)
                cls.items[arg["key"]] = r.json()["tracking"]
            elif what == "assign":
                cls.act("disp_s", arg[0], "assign", section=arg[1])
            elif what == "forward":
                cls.act("hand_fg", arg[0], "forward", section=arg[1], reason="不属本处")
            elif what == "accept":
                cls.act(HANDLER[arg[1]], arg[0], "accept")
            elif what == "reply":
                k, sec = arg
                cls.act(HANDLER[sec], k, "draft", text="答复")
                cls.act(HANDLER[sec], k, "submit_review")
                cls.act(HEAD[sec], k, "approve")
                cls.act(HANDLER[sec], k, "send_reply")
            elif what == "reject":
                cls.act(HANDLER[arg[1]], arg[0], "reject", reason="不属受理范围")
            elif what == "merge":
                cls.act(HANDLER[arg[1]], arg[0], "merge", target=cls.items[arg[2]])
        cls.server.set_clock(NOW)

    def stats(self, period, who="sup_s", **params):
        q = "&".join("%s=%s" % kv for kv in dict(period=period, **params).items())
        r = self.staff[who].request("GET", "/api/v1/stats?" + q)
        self.assertEqual(r.status, 200, r)
        return r.json()

    def check_period(self, period, first, last):
        got = self.stats(period, by="section")
        self.assertEqual((got["period"], got["from"], got["to"]),
                         (period, first.isoformat(), last.isoformat()))
        want = expected(first, last, t(NOW))
        by_name = {s["section"]: s for s in got["sections"]}
        for section in (FG, JC):
            w = want.get(section)
            s = by_name[section]
            with self.subTest(period=period, section=section):
                for key in ("received", "accepted", "forwarded", "replied", "replied_on_time",
                            "replied_late", "open", "overdue", "rejected", "merged"):
                    self.assertEqual(s[key], w[key] if w else 0, key)
                if w and w["replied"]:
                    self.assertAlmostEqual(s["on_time_rate"],
                                           w["replied_on_time"] / w["replied"])
                    self.assertAlmostEqual(s["avg_working_days_to_reply"],
                                           sum(w["wd"]) / len(w["wd"]))
                    ws = sorted(w["wd"])
                    self.assertEqual(s["p90_working_days_to_reply"],
                                     ws[-(-len(ws) * 9 // 10) - 1])
                else:
                    self.assertIsNone(s["on_time_rate"])
                    self.assertIsNone(s["avg_working_days_to_reply"])
                self.assertIsNone(s["satisfaction_rate"])
        un = want.get(None, {})
        self.assertEqual(got["unassigned"]["received"], un.get("received", 0))
        self.assertEqual(got["unassigned"]["open"], un.get("open", 0))
        # the ranking follows on-time rate (a missing rate last), then volume
        ranked = [s for s in got["sections"]]
        self.assertEqual([s["rank"] for s in ranked][0], 1)
        for a, b in zip(ranked, ranked[1:]):
            ra = -1 if a["on_time_rate"] is None else a["on_time_rate"]
            rb = -1 if b["on_time_rate"] is None else b["on_time_rate"]
            self.assertGreaterEqual(ra, rb)
            self.assertLessEqual(a["rank"], b["rank"])
        return got


class Statistics(StatsBase):
    PERIODS = [("2025-09", dt.date(2025, 9, 1), dt.date(2025, 9, 30)),
               ("2025-10", dt.date(2025, 10, 1), dt.date(2025, 10, 31)),
               ("2025-Q3", dt.date(2025, 7, 1), dt.date(2025, 9, 30)),
               ("2025-Q4", dt.date(2025, 10, 1), dt.date(2025, 12, 31)),
               ("2025", dt.date(2025, 1, 1), dt.date(2025, 12, 31)),
               ("2025-09-25..2025-10-10", dt.date(2025, 9, 25), dt.date(2025, 10, 10))]

    def test_periods_match_independent_counts(self):
        for period, first, last in self.PERIODS:
            self.check_period(period, first, last)

    def test_known_figures(self):
        """A few figures spelled out, as a check on the model itself."""
        sep = {s["section"]: s for s in self.stats("2025-09")["sections"]}
        # 法规处 in September: A1 replied on time; A2, A3, A11 received; A8 forwarded on
        self.assertEqual((sep[FG]["received"], sep[FG]["replied"], sep[FG]["forwarded"]),
                         (4, 1, 1))
        # 稽查处: A4 rejected; A6 and A7 open at the end of September, A6 overdue
        self.assertEqual((sep[JC]["rejected"], sep[JC]["open"], sep[JC]["overdue"]), (1, 2, 1))
        octo = {s["section"]: s for s in self.stats("2025-10")["sections"]}
        # A2 and A11 late across National Day, A3 on time; A10 open at the end of October
        self.assertEqual((octo[FG]["replied_on_time"], octo[FG]["replied_late"]), (1, 2))
        self.assertEqual((octo[FG]["open"], octo[JC]["merged"]), (1, 1))

    def test_access_and_errors(self):
        r = self.staff["hand_fg"].request("GET", "/api/v1/stats?period=2025-09")
        self.assertEqual(r.status, 403)
        head = self.stats("2025-09", who="head_fg")
        self.assertEqual([s["section"] for s in head["sections"]], [FG])
        self.assertEqual(self.stats("2025-09", who="admin_s")["period"], "2025-09")
        for bad in ("2025-13", "2025-Q5", "25", "2025-09-31..2025-10-01", "x", ""):
            r = self.staff["sup_s"].request("GET", "/api/v1/stats?period=" + bad)
            self.assertEqual(r.status, 400, bad)
            self.assertEqual(r.json()["error"]["field"], "period")
        r = self.staff["sup_s"].request("GET", "/api/v1/stats")
        self.assertEqual((r.status, r.json()["error"]["field"]), (400, "period"))
        r = self.staff["sup_s"].request("GET", "/api/v1/stats?period=2025-09&by=kind")
        self.assertEqual((r.status, r.json()["error"]["field"]), (400, "by"))
        r = self.server.request("GET", "/api/v1/stats?period=2025-09")
        self.assertEqual(r.status, 401)

    def test_csv_and_cli_agree(self):
        js = self.stats("2025-10")
        r = self.staff["sup_s"].request("GET", "/api/v1/stats?period=2025-10&format=csv")
        self.assertEqual(r.status, 200)
        self.assertTrue(r.header("Content-Type").startswith("text/csv"))
        self.assertEqual(r.body[:3], b"\xef\xbb\xbf")  # Excel reads it as UTF-8
        lines = r.body.decode("utf-8-sig").split("\r\n")
        head = lines[0].split(",")
        rows = [dict(zip(head, line.split(","))) for line in lines[1:] if line]
        # the last row: the items no section holds (test_ops.StatsCsvNoSection)
        self.assertEqual(rows.pop()["section"], '"(no section)"')
        self.assertEqual(len(rows), len(js["sections"]))
        for row, s in zip(rows, js["sections"]):
            self.assertEqual(row["section"].strip('"'), s["section"])
            for key in ("rank", "received", "replied", "replied_on_time", "replied_late",
                        "open", "overdue", "rejected", "merged"):
                self.assertEqual(int(row[key]), s[key], key)
        cli = self.server.cli("stats", "--period", "2025-10", "--csv")
        self.assertEqual(cli.returncode, 0, cli.stderr)
        self.assertEqual(cli.stdout.replace("\r\n", "\n"), r.body.decode().replace("\r\n", "\n"))
        bad = self.server.cli("stats", "--period", "2025-13")
        self.assertEqual(bad.returncode, 65)
        table = self.server.cli("stats", "--period", "2025-10")
        self.assertEqual(table.returncode, 0, table.stderr)
        self.assertIn(FG, table.stdout)


class Frozen(StatsBase):
    """Past months stay as they were after a policy change and a calendar reload."""

    def restart(self, env=None):
        type(self).server.cleanup()
        srv = harness.Server(env=dict({"CIVICDESK_SUBMIT_RATE": "0"}, **(env or {})),
                             dbdir=self.dir).start()
        type(self).server = srv
        srv.set_clock(NOW)
        type(self).staff = {name: srv.login(name, PW) for name, _, _ in ACCOUNTS}

    def test_facts_rebuilt_for_older_items(self):
        """Items stored before the statistics existed get their facts at the next start."""
        periods = ["2025-09", "2025-10"]
        before = {p: self.stats(p) for p in periods}
        self.server.stop()
        db = sqlite3.connect(self.server.db)
        db.executescript("DELETE FROM item_facts; DELETE FROM stats_daily; DELETE FROM stats_wd;")
        db.commit()
        db.close()
        self.restart()
        after = {p: self.stats(p) for p in periods}
        # a backfill cannot know acceptance and forwarding times: the rest must agree
        for p in periods:
            for a, b in zip(before[p]["sections"], after[p]["sections"]):
                for key in ("section", "received", "replied", "replied_on_time", "replied_late",
                            "open", "overdue", "rejected", "merged",
                            "avg_working_days_to_reply"):
                    self.assertEqual(a[key], b[key], (p, a["section"], key))

    def test_policy_change_and_calendar_reload(self):
        periods = ["2025-09", "2025-10", "2025-Q4"]
        before = {p: self.stats(p) for p in periods}
        r = self.staff["admin_s"].request("PATCH", "/api/v1/admin/policies/letter",
                                          json_body={"forward_days": 2, "reply_days": 2,
                                                     "unit": "calendar_days"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual({p: self.stats(p) for p in periods}, before)
        # a restart on a calendar where 29 September 2025 became a holiday
        cal = tempfile.mkdtemp(prefix="civicdesk-cal-")
        try:
            for name in os.listdir(CAL_DIR):
                shutil.copy(os.path.join(CAL_DIR, name), cal)
            with open(os.path.join(cal, "2025.txt"), "a", encoding="utf-8") as f:
                f.write("2025-09-29 off 测试假日\n")
            self.restart({"CIVICDESK_CALENDAR_DIR": cal})
            after = {p: self.stats(p) for p in periods}
        finally:
            shutil.rmtree(cal, ignore_errors=True)
        self.assertEqual(after, before)


if __name__ == "__main__":
    harness.main()
