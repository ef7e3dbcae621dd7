"""Workflow, queue and public board: the real daemon driven over HTTP with the test clock.

Dates are asserted on the 2025 calendar around National Day (1-8 Oct off, 11 Oct a make-up
working day): received Tue 2025-09-30 10:00, the working days after it are 9, 10, 11, 13, 14,
15, 16, 17, 20, 21, 22, 23, 24, 27, 28 Oct. So forward (3 WD) is due 11 Oct, reply (5 WD)
14 Oct, explain (3 WD from receipt) 11 Oct, and an extended reply (15 WD) 28 Oct.
"""
import json
import os
import re
import sys
import unittest
from urllib.parse import quote, urlencode

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

# the daemon runs in its own temporary folder: a relative binary path must not depend on it
harness.BIN = os.path.abspath(harness.BIN)

PASSWORD = "Passw0rd!Workflow"
END = "T23:59:59+08:00"

# account, role, section
ACCOUNTS = [
    ("disp_a", "dispatcher", None),
    ("sup_a", "supervisor", None),
    ("hand_fg", "handler", "法规处"),
    ("head_fg", "section_head", "法规处"),
    ("hand_jc", "handler", "稽查处"),
    ("head_jc", "section_head", "稽查处"),
    ("admin_a", "admin", None),
]


def set_clock(server, when):
    r = server.request("POST", "/api/v1/test/clock", json_body={"now": when})
    if r.status != 200:
        raise RuntimeError("clock: %r" % r)


def submit(server, kind="letter", subject="噪音扰民", body=None, name="张三",
           phone="13812345678", email="zhangsan@example.com", publish=True):
    if body is None:
        body = "我是张三，电话13812345678，邮箱zhangsan@example.com，身份证110101199003071234。"
    r = server.request("POST", "/api/v1/items", json_body={
        "kind": kind, "subject": subject, "body": body, "name": name, "phone": phone,
        "email": email, "publish": publish})
    if r.status != 201:
        raise RuntimeError("submit: %r" % r)
    return r.json()


def qs(**params):
    return "?" + urlencode(params)


class Staff:
    """A logged-in account: cookie and CSRF token."""

    def __init__(self, server, name, session=None):
        """Logs name in, or takes session (a Staff of the same database: its cookie and CSRF
        token) to this server."""
        self.server = server
        self.name = name
        if session is not None:
            self.cookie, self.csrf = session.cookie, session.csrf
            return
        r = server.request("POST", "/api/v1/login",
                           json_body={"username": name, "password": PASSWORD})
        if r.status != 200:
            raise RuntimeError("login %s: %r" % (name, r))
        self.cookie = r.header("Set-Cookie").split(";")[0]
        self.csrf = r.json()["csrf_token"]

    def headers(self, csrf=True):
        h = {"Cookie": self.cookie}
        if csrf:
            h["X-CSRF-Token"] = self.csrf
        return h

    def act(self, tracking, action, **fields):
        return self.server.request("POST", "/api/v1/items/%s/actions/%s" % (tracking, action),
                                   json_body=fields, headers=self.headers())

    def get(self, path):
        return self.server.request("GET", path, headers=self.headers(csrf=False))

    def patch(self, path, body):
        return self.server.request("PATCH", path, json_body=body, headers=self.headers())


def add_accounts(server):
    for name, role, section in ACCOUNTS:
        args = ["user", "add", name, "--role", role]
        if section:
            args += ["--section", section]
        r = server.cli(*args, "--password-stdin", stdin=PASSWORD + "\n", leaks=False)
        if r.returncode != 0:
            raise RuntimeError("user add %s: %s" % (name, r.stderr))


SESSIONS = {}  # template key -> {name: Staff}: the logins of a template database


def accounts_and_sessions(key):
    """add_accounts for the template database of key, its accounts logged in there too (the
    sessions are stored in the database, so each copy's daemon takes them)."""
    def setup(server):
        add_accounts(server)
        SESSIONS[key] = {name: Staff(server, name) for name, _, _ in ACCOUNTS}
    return setup


class Base(unittest.TestCase):
    ENV = {}
    # the database with the accounts made once per ENV and copied for each class
    # (harness.template_db); False: made by the class's own daemon, as its first start
    TEMPLATE = True

    @classmethod
    def setUpClass(cls):
        env = {"CIVICDESK_SUBMIT_RATE": "0"}
        env.update(cls.ENV)
        if cls.TEMPLATE:
            key = ("workflow",) + tuple(sorted(env.items()))
            cls.server = harness.Server(env=env, db_from=harness.template_db(
                key, env, accounts_and_sessions(key))).start()
            cls.staff = {name: Staff(cls.server, name, s) for name, s in SESSIONS[key].items()}
        else:
            cls.server = harness.Server(env=env).start()
            add_accounts(cls.server)
            cls.staff = {name: Staff(cls.server, name) for name, _, _ in ACCOUNTS}

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def clock(self, when):
        set_clock(self.server, when)

    def submit(self, **kw):
        return submit(self.server, **kw)

    def ok(self, who, tracking, action, **fields):
        r = self.staff[who].act(tracking, action, **fields)
        self.assertEqual(r.status, 200, "%s %s: %r" % (who, action, r))
        return r.json()

    def track(self, item):
        r = self.server.request("GET", "/api/v1/track/" + item["tracking"],
                                headers={"X-Query-Code": item["query_code"]})
        self.assertEqual(r.status, 200, r)
        return r.json()

    def to_replied(self, tracking, section="法规处", handler="hand_fg", head="head_fg"):
        self.ok("disp_a", tracking, "assign", section=section)
        self.ok(handler, tracking, "accept")
        self.ok(handler, tracking, "draft", text="答复：您反映的问题已处理。")
        self.ok(handler, tracking, "submit_review")
        self.ok(head, tracking, "approve")
        return self.ok(handler, tracking, "send_reply")

    def publish(self, tracking, head="head_fg", published=True):
        r = self.staff[head].patch("/api/v1/items/%s/public" % tracking,
                                   {"published": published})
        self.assertEqual(r.status, 200, r)
        return r.json()


class Lifecycle(Base):
    """A full lifecycle for each kind, with due dates around National Day 2025."""

    def lifecycle(self, kind):
        self.clock("2025-09-30T10:00")
        item = self.submit(kind=kind)
        t = item["tracking"]
        self.assertEqual(item["clocks"]["reply"]["due"], "2025-10-14" + END)
        self.assertEqual(item["clocks"]["forward"]["due"], "2025-10-11" + END)

        self.clock("2025-09-30T11:00")
        it = self.ok("disp_a", t, "assign", section="法规处", assignee="hand_fg")
        self.assertEqual(it["state"], "assigned")
        self.assertEqual(it["section"], "法规处")
        self.assertEqual(it["assignee"], "hand_fg")
        self.assertEqual(it["clocks"]["forward"]["state"], "running")

        # the wrong section: forwarded to 稽查处, which answers it
        self.clock("2025-10-09T09:00")
        it = self.ok("hand_fg", t, "forward", section="稽查处", reason="属稽查处职责")
        self.assertEqual(it["state"], "forwarded")
        self.assertEqual(it["section"], "稽查处")
        # the forward clock runs until the section that answers accepts it (#14 point 9)
        self.assertEqual(it["clocks"]["forward"]["state"], "running")
        # the promise to the citizen does not move (policy keep)
        self.assertEqual(it["clocks"]["reply"]["due"], "2025-10-14" + END)
        # 法规处 no longer acts on it
        r = self.staff["hand_fg"].act(t, "accept")
        self.assertEqual(r.status, 403, r)

        it = self.ok("hand_jc", t, "accept")
        self.assertEqual(it["state"], "in_progress")
        self.assertEqual(it["assignee"], "hand_jc")

        # complex case: extension requested, explain clock 3 WD from receipt
        self.clock("2025-10-10T09:00")
        it = self.ok("hand_jc", t, "request_extension", reason="需现场核查")
        self.assertEqual(it["state"], "extension_requested")
        self.assertEqual(it["extension"], "requested")
        self.assertEqual(it["clocks"]["explain"]["due"], "2025-10-11" + END)
        self.assertEqual(it["clocks"]["explain"]["state"], "running")
        r = self.staff["hand_jc"].act(t, "approve_extension")
        self.assertEqual(r.status, 403, r)
        it = self.ok("sup_a", t, "approve_extension", note="同意延期")
        self.assertEqual(it["state"], "in_progress")
        self.assertEqual(it["extension"], "approved")
        self.assertEqual(it["clocks"]["reply"]["due"], "2025-10-28" + END)
        self.assertEqual(it["clocks"]["reply"]["days"], 15)
        # a second request is refused
        r = self.staff["hand_jc"].act(t, "request_extension", reason="again")
        self.assertEqual(r.status, 409, r)

        it = self.ok("hand_jc", t, "send_explanation", text="因需现场核查，将于10月28日前答复。")
        self.assertEqual(it["state"], "in_progress")
        self.assertEqual(it["clocks"]["explain"]["state"], "stopped")
        r = self.staff["hand_jc"].act(t, "send_explanation", text="again")
        self.assertEqual(r.status, 409, r)

        # draft, review, return, redraft, approve, send
        self.clock("2025-10-20T10:00")
        it = self.ok("hand_jc", t, "draft", text="初稿")
        self.assertEqual((it["state"], it["draft"]), ("drafted", "初稿"))
        self.ok("hand_jc", t, "submit_review")
        r = self.staff["hand_jc"].act(t, "approve")
        self.assertEqual(r.status, 403, r)
        r = self.staff["head_fg"].act(t, "approve")
        self.assertEqual(r.status, 403, r)
        r = self.staff["head_jc"].act(t, "return")
        self.assertEqual(r.status, 400, r)
        self.assertEqual(r.json()["error"]["field"], "comment")
        it = self.ok("head_jc", t, "return", comment="请补充法律依据")
        self.assertEqual(it["state"], "returned")
        it = self.ok("hand_jc", t, "draft", text="张三您好：经核查，已责令整改。依据《环境噪声污染防治法》。")
        self.assertEqual(it["state"], "drafted")
        self.ok("hand_jc", t, "submit_review")
        it = self.ok("head_jc", t, "approve")
        self.assertEqual(it["state"], "approved")
        self.assertEqual(it["clocks"]["reply"]["state"], "running")
        it = self.ok("hand_jc", t, "send_reply")
        self.assertEqual(it["state"], "replied")
        self.assertEqual(it["clocks"]["reply"]["state"], "stopped")
        self.assertTrue(it["reply"].startswith("张三您好"))

        # the citizen sees the reply and the citizen-visible history only
        tr = self.track(item)
        self.assertEqual(tr["state"], "replied")
        self.assertTrue(tr["reply"].startswith("张三您好"))
        actions = [h["action"] for h in tr["history"]]
        # what moved the due date is visible (#14 point 11), each step once
        for a in ("send_explanation", "send_reply", "forward", "request_extension",
                  "approve_extension"):
            self.assertIn(a, actions)
        self.assertEqual(len(actions), len(set(actions)), actions)
        for a in ("draft", "return", "submit_review", "approve"):
            self.assertNotIn(a, actions)
        notes = json.dumps(tr["history"], ensure_ascii=False)
        self.assertIn("10月28日前答复", notes)
        self.assertNotIn("请补充法律依据", notes)
        self.assertNotIn("属稽查处职责", notes)

        # close freezes each clock's result
        self.clock("2025-10-21T10:00")
        it = self.ok("hand_jc", t, "close")
        self.assertEqual(it["state"], "closed")
        results = {k: v["result"] for k, v in it["clocks"].items()}
        self.assertEqual(results, {"forward": "on_time", "reply": "on_time",
                                   "explain": "on_time"})
        # the staff history has one row per transition, with actor and states
        hist = it["history"]
        steps = [(h["action"], h.get("from_state"), h["to_state"]) for h in hist]
        self.assertIn(("forward", "assigned", "forwarded"), steps)
        self.assertIn(("return", "in_review", "returned"), steps)
        self.assertIn(("send_reply", "approved", "replied"), steps)
        self.assertEqual(steps[-1], ("close", "replied", "closed"))
        self.assertEqual(hist[-1]["actor"], "hand_jc")
        # nothing more is possible
        r = self.staff["hand_jc"].act(t, "draft", text="x")
        self.assertEqual(r.status, 409, r)
        self.assertEqual(r.json()["error"]["allowed"], [])
        return item

    def test_letter(self):
        self.lifecycle("letter")

    def test_complaint(self):
        self.lifecycle("complaint")

    def test_consultation(self):
        self.lifecycle("consultation")

    def test_late_reply_is_frozen_late(self):
        self.clock("2025-09-30T10:00")
        item = self.submit()
        t = item["tracking"]
        self.ok("disp_a", t, "assign", section="法规处")
        self.clock("2025-10-13T09:00")
        self.ok("hand_fg", t, "accept")
        self.clock("2025-10-15T09:00")  # reply was due 14 Oct
        self.ok("hand_fg", t, "draft", text="答复")
        self.ok("hand_fg", t, "submit_review")
        self.ok("head_fg", t, "approve")
        self.ok("hand_fg", t, "send_reply")
        it = self.ok("hand_fg", t, "close")
        self.assertEqual(it["clocks"]["reply"]["result"], "late")
        self.assertEqual(it["clocks"]["forward"]["result"], "late")

    def test_reject_and_merge(self):
        self.clock("2025-09-30T10:00")
        a = self.submit()
        b = self.submit()
        r = self.staff["disp_a"].act(a["tracking"], "reject")
        self.assertEqual(r.status, 400, r)
        self.assertEqual(r.json()["error"]["field"], "reason")
        it = self.ok("disp_a", a["tracking"], "reject", reason="不属于本局职责范围")
        self.assertEqual(it["state"], "rejected")
        self.assertEqual(it["reason"], "不属于本局职责范围")
        self.assertTrue(all(c["state"] == "stopped" for c in it["clocks"].values()))
        tr = self.track(a)
        self.assertEqual(tr["state"], "rejected")
        self.assertEqual(tr["reason"], "不属于本局职责范围")
        # merge: not into a rejected item, not into itself, not into nothing
        for target in (a["tracking"], b["tracking"], "XJ-20250930-99999"):
            r = self.staff["disp_a"].act(b["tracking"], "merge", target=target)
            self.assertEqual(r.status, 400, r)
            self.assertEqual(r.json()["error"]["field"], "target")
        c = self.submit()
        it = self.ok("disp_a", b["tracking"], "merge", target=c["tracking"])
        self.assertEqual(it["state"], "merged")
        self.assertIsNotNone(it["merged_into"])


class SupplementBase(Base):
    """Waiting for the citizen: the clocks stop, and go on when the supplement arrives."""

    def waiting(self):
        self.clock("2025-09-30T10:00")
        item = self.submit()
        t = item["tracking"]
        self.ok("disp_a", t, "assign", section="法规处")
        self.ok("hand_fg", t, "accept")
        self.clock("2025-10-09T10:00")
        r = self.staff["hand_fg"].act(t, "ask_citizen")
        self.assertEqual(r.status, 400, r)
        it = self.ok("hand_fg", t, "ask_citizen", note="请补充具体地址")
        self.assertEqual(it["state"], "waiting_citizen")
        reply = it["clocks"]["reply"]
        self.assertEqual(reply["state"], "paused")
        self.assertEqual(reply["working_days_left"], 4)  # 10, 11, 13, 14 Oct
        # the citizen is told what to supply
        tr = self.track(item)
        self.assertEqual(tr["state"], "waiting_citizen")
        self.assertIn("请补充具体地址", json.dumps(tr["history"], ensure_ascii=False))
        # nothing else while waiting
        r = self.staff["hand_fg"].act(t, "draft", text="x")
        self.assertEqual(r.status, 409, r)
        self.assertIn("citizen_answer", r.json()["error"]["allowed"])
        self.clock("2025-10-13T09:00")
        it = self.ok("hand_fg", t, "citizen_answer", note="地址：某路1号")
        self.assertEqual(it["state"], "in_progress")
        self.assertEqual(it["clocks"]["reply"]["state"], "running")
        return it


class Supplement(SupplementBase):
    """Default policy: the clocks restart from the day the supplement arrives."""

    def test_restart(self):
        it = self.waiting()
        # 5 WD after 13 Oct: 14, 15, 16, 17, 20
        self.assertEqual(it["clocks"]["reply"]["due"], "2025-10-20" + END)


class SupplementPause(SupplementBase):
    """The same with CIVICDESK_POLICY_LETTER_ON_SUPPLEMENT=pause: the clock resumes with the
    working days it had left."""
    ENV = {"CIVICDESK_POLICY_LETTER_ON_SUPPLEMENT": "pause"}

    def test_pause(self):
        it = self.waiting()
        # 4 WD left after 13 Oct: 14, 15, 16, 17
        self.assertEqual(it["clocks"]["reply"]["due"], "2025-10-17" + END)


class ForwardRestart(Base):
    """Policy on_forward=restart: forwarding restarts the reply clock."""
    ENV = {"CIVICDESK_POLICY_COMPLAINT_ON_FORWARD": "restart"}

    def test_forward_restart(self):
        self.clock("2025-09-30T10:00")
        t = self.submit(kind="complaint")["tracking"]
        self.ok("disp_a", t, "assign", section="法规处")
        self.clock("2025-10-09T10:00")
        it = self.ok("hand_fg", t, "forward", section="稽查处", reason="转办")
        # 5 WD after 9 Oct: 10, 11, 13, 14, 15
        self.assertEqual(it["clocks"]["reply"]["due"], "2025-10-15" + END)
        # a letter keeps its due time
        self.clock("2025-09-30T10:00")
        t = self.submit(kind="letter")["tracking"]
        self.ok("disp_a", t, "assign", section="法规处")
        self.clock("2025-10-09T10:00")
        it = self.ok("hand_fg", t, "forward", section="稽查处", reason="转办")
        self.assertEqual(it["clocks"]["reply"]["due"], "2025-10-14" + END)


class Refusals(Base):
    """Illegal transitions (409 with the allowed list), wrong roles and sections (403), bad
    bodies (400), unknown items and actions (404), no session (401), no CSRF token (403)."""

    def setUp(self):
        self.clock("2025-09-30T10:00")
        self.item = self.submit()
        self.t = self.item["tracking"]

    def test_illegal_from_received(self):
        r = self.staff["disp_a"].act(self.t, "forward", section="稽查处", reason="x")
        self.assertEqual(r.status, 409, r)
        err = r.json()["error"]
        self.assertEqual(err["code"], "illegal_transition")
        self.assertEqual(err["allowed"], ["assign", "reject", "merge"])
        self.assertTrue(err["message"])
        r = self.staff["sup_a"].act(self.t, "close")
        self.assertEqual(r.status, 409, r)
        self.assertEqual(r.json()["error"]["allowed"], ["assign"])

    def test_illegal_from_assigned(self):
        self.ok("disp_a", self.t, "assign", section="法规处")
        r = self.staff["hand_fg"].act(self.t, "draft", text="x")
        self.assertEqual(r.status, 409, r)
        self.assertEqual(r.json()["error"]["allowed"], ["accept", "forward", "reject", "merge",
                                                       "send_back"])
        r = self.staff["hand_fg"].act(self.t, "send_reply")
        self.assertEqual(r.status, 409, r)
        r = self.staff["hand_fg"].act(self.t, "send_explanation", text="x")
        self.assertEqual(r.status, 409, r)
        # the item did not change
        it = self.staff["hand_fg"].get("/api/v1/items/" + self.t).json()
        self.assertEqual(it["state"], "assigned")

    def test_wrong_roles(self):
        for who, action in (("hand_fg", "assign"), ("admin_a", "assign"),
                            ("head_fg", "approve_extension"), ("disp_a", "accept"),
                            ("sup_a", "draft"), ("hand_fg", "approve")):
            r = self.staff[who].act(self.t, action, section="法规处", text="x")
            self.assertEqual(r.status, 403, "%s %s %r" % (who, action, r))
            self.assertEqual(r.json()["error"]["code"], "forbidden")

    def test_other_section(self):
        self.ok("disp_a", self.t, "assign", section="法规处")
        for who in ("hand_jc", "head_jc"):
            r = self.staff[who].act(self.t, "accept")
            self.assertEqual(r.status, 403, r)
        r = self.staff["hand_jc"].act(self.t, "reject", reason="x")
        self.assertEqual(r.status, 403, r)
        # an item of no section is nobody's
        other = self.submit()["tracking"]
        r = self.staff["hand_fg"].act(other, "reject", reason="x")
        self.assertEqual(r.status, 403, r)

    def test_bad_bodies(self):
        s = self.staff["disp_a"]
        r = s.act(self.t, "assign")
        self.assertEqual((r.status, r.json()["error"]["field"]), (400, "section"))
        r = s.act(self.t, "assign", section="不存在的处")
        self.assertEqual((r.status, r.json()["error"]["field"]), (400, "section"))
        r = s.act(self.t, "assign", section=["法规处"])
        self.assertEqual((r.status, r.json()["error"]["field"]), (400, "section"))
        r = s.act(self.t, "assign", section="法规处", assignee="hand_jc")
        self.assertEqual((r.status, r.json()["error"]["field"]), (400, "assignee"))
        r = s.act(self.t, "assign", section="法规处", assignee="nobody")
        self.assertEqual((r.status, r.json()["error"]["field"]), (400, "assignee"))
        r = s.act(self.t, "reject", reason=42)
        self.assertEqual((r.status, r.json()["error"]["field"]), (400, "reason"))
        r = s.act(self.t, "reject", reason="   ")
        self.assertEqual((r.status, r.json()["error"]["field"]), (400, "reason"))
        r = self.server.request("POST", "/api/v1/items/%s/actions/assign" % self.t,
                                body="{not json", headers=dict(s.headers(),
                                                              **{"Content-Type": "application/json"}))
        self.assertEqual(r.status, 400, r)
        # assign by id works too
        sections = self.staff["admin_a"].get("/api/v1/admin/sections").json()["sections"]
        sid = [x["id"] for x in sections if x["name"] == "稽查处"][0]
        it = self.ok("disp_a", self.t, "assign", section=sid)
        self.assertEqual(it["section"], "稽查处")
        # SQL and script text are stored verbatim as data
        it = self.ok("disp_a", self.t, "forward", section="法规处",
                     reason="'); DROP TABLE items;-- <script>alert(1)</script>")
        self.assertEqual(it["history"][-1]["note"],
                         "'); DROP TABLE items;-- <script>alert(1)</script>")

    def test_unknown(self):
        r = self.staff["disp_a"].act(self.t, "delete")
        self.assertEqual(r.status, 404, r)
        r = self.staff["disp_a"].act("XJ-20250930-99999", "assign", section="法规处")
        self.assertEqual(r.status, 404, r)

    def test_session_and_csrf(self):
        path = "/api/v1/items/%s/actions/assign" % self.t
        r = self.server.request("POST", path, json_body={"section": "法规处"})
        self.assertEqual(r.status, 401, r)
        r = self.server.request("POST", path, json_body={"section": "法规处"},
                                headers=self.staff["disp_a"].headers(csrf=False))
        self.assertEqual(r.status, 403, r)
        it = self.staff["disp_a"].get("/api/v1/items/" + self.t).json()
        self.assertEqual(it["state"], "received")

    def test_audit(self):
        self.ok("disp_a", self.t, "assign", section="法规处")
        r = self.staff["admin_a"].get("/api/v1/audit?action=assign")
        self.assertEqual(r.status, 200, r)
        self.assertIn(self.t, r.body.decode())
        # refused attempts are recorded as such
        r = self.staff["hand_jc"].act(self.t, "accept")
        self.assertEqual(r.status, 403, r)
        r = self.staff["admin_a"].get("/api/v1/audit?action=accept")
        rows = [x for x in r.json()["entries"]
                if x.get("target") == self.t]
        self.assertTrue(rows, r)
        self.assertFalse(rows[0]["ok"])


class Queue(Base):
    """The queue: filters, order by due time, keyset pagination, overdue with the test clock."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.items = []
        # received on successive working days of September 2025: forward due 3 WD later
        days = ["2025-09-01", "2025-09-02", "2025-09-03", "2025-09-04", "2025-09-05",
                "2025-09-08", "2025-09-09", "2025-09-10", "2025-09-11", "2025-09-12"]
        for i, d in enumerate(days):
            set_clock(cls.server, d + "T10:00")
            kind = "complaint" if i % 3 == 0 else "letter"
            subject = "100%_噪音" if i == 4 else "事项%d" % i
            it = submit(cls.server, kind=kind, subject=subject, body="正文%d" % i)
            section = "法规处" if i % 2 == 0 else "稽查处"
            cls.staff["disp_a"].act(it["tracking"], "assign", section=section,
                                    **({"assignee": "hand_fg"} if i in (0, 2) else {}))
            cls.items.append((it["tracking"], section, kind, d))
        # one item accepted: its forward clock stops, it sorts by its reply due
        cls.staff["hand_fg"].act(cls.items[0][0], "accept")
        set_clock(cls.server, "2025-09-10T12:00")

    def queue(self, query, who="disp_a"):
        r = self.staff[who].get("/api/v1/queue" + query)
        self.assertEqual(r.status, 200, r)
        return r.json()

    def test_order_and_fields(self):
        q = self.queue("?limit=100")
        dues = [(x["next_due"], x["tracking"]) for x in q["items"]]
        self.assertEqual(dues, sorted(dues))
        self.assertEqual(len(q["items"]), 10)
        self.assertIsNone(q["next_cursor"])
        first = q["items"][0]
        for k in ("tracking", "kind", "subject", "state", "section", "assignee", "received",
                  "next_due", "overdue", "working_days_left"):
            self.assertIn(k, first)

    def test_section_filter(self):
        q = self.queue(qs(section="稽查处"))
        self.assertEqual(sorted(x["tracking"] for x in q["items"]),
                         sorted(t for t, s, _, _ in self.items if s == "稽查处"))
        self.assertTrue(all(x["section"] == "稽查处" for x in q["items"]))

    def test_pagination(self):
        for query in ("?limit=3", "?limit=1&section=" + quote("法规处"), "?limit=4&kind=letter"):
            full = self.queue(re.sub(r"limit=\d+", "limit=100", query))["items"]
            seen, cursor = [], None
            while True:
                q = self.queue(query + ("&cursor=" + cursor if cursor else ""))
                seen += [x["tracking"] for x in q["items"]]
                cursor = q["next_cursor"]
                if cursor is None:
                    break
            self.assertEqual(seen, [x["tracking"] for x in full], query)
            self.assertEqual(len(seen), len(set(seen)))

    def test_overdue(self):
        # at 10 Sep noon: forward clocks due on 4, 5, 8, 9 Sep have passed
        q = self.queue("?overdue=1&limit=100")
        overdue = {x["tracking"] for x in q["items"]}
        self.assertTrue(all(x["overdue"] for x in q["items"]))
        self.assertTrue(all(x["working_days_left"] < 0 for x in q["items"]))
        expected = {self.items[i][0] for i in (1, 2, 3)}  # received 2, 3, 4 Sep
        self.assertTrue(expected <= overdue, (expected, overdue))
        self.assertNotIn(self.items[9][0], overdue)
        q = self.queue(qs(overdue=1, section="法规处"))
        self.assertTrue(all(x["section"] == "法规处" and x["overdue"] for x in q["items"]))
        self.clock("2025-09-01T12:00")
        try:
            self.assertEqual(self.queue("?overdue=1")["items"], [])
        finally:
            self.clock("2025-09-10T12:00")

    def test_due_before(self):
        q = self.queue("?due_before=2025-09-09&limit=100")
        for x in q["items"]:
            self.assertLess(x["next_due"], "2025-09-09")
        self.assertTrue(q["items"])

    def test_filters(self):
        q = self.queue("?kind=complaint&limit=100")
        self.assertEqual(sorted(x["tracking"] for x in q["items"]),
                         sorted(t for t, _, k, _ in self.items if k == "complaint"))
        q = self.queue("?assignee=hand_fg")
        self.assertEqual(sorted(x["tracking"] for x in q["items"]),
                         sorted([self.items[0][0], self.items[2][0]]))
        q = self.queue("?state=in_progress")
        self.assertEqual([x["tracking"] for x in q["items"]], [self.items[0][0]])
        q = self.queue(qs(q="100%_"))
        self.assertEqual([x["subject"] for x in q["items"]], ["100%_噪音"])
        q = self.queue("?q=%25")  # a literal %, not a wildcard
        self.assertEqual(len(q["items"]), 1)
        q = self.queue(qs(q="正文7"))
        self.assertEqual([x["tracking"] for x in q["items"]], [self.items[7][0]])

    def test_bad_parameters(self):
        for query, field in (("?state=nonsense", "state"), ("?kind=x", "kind"),
                             (qs(section="不存在"), "section"), ("?assignee=nobody", "assignee"),
                             ("?overdue=maybe", "overdue"), ("?due_before=2025-13-01", "due_before"),
                             ("?limit=0", "limit"), ("?limit=101", "limit"),
                             ("?cursor=abc", "cursor"), ("?q=" + "x" * 101, "q")):
            r = self.staff["hand_fg"].get("/api/v1/queue" + query)
            self.assertEqual(r.status, 400, query)
            self.assertEqual(r.json()["error"]["field"], field, query)
        r = self.server.request("GET", "/api/v1/queue")
        self.assertEqual(r.status, 401, r)


class Board(Base):
    """The public board: consenting, replied items only, with personal data masked."""

    def test_board(self):
        self.clock("2025-09-30T10:00")
        a = self.submit(subject="张三反映噪音")
        b = self.submit(publish=False, subject="不公开")
        c = self.submit(subject="尚未答复")
        self.clock("2025-10-09T10:00")
        self.to_replied(a["tracking"])
        self.to_replied(b["tracking"])
        self.ok("disp_a", c["tracking"], "assign", section="法规处")
        self.publish(a["tracking"])

        r = self.server.request("GET", "/api/v1/public/items")
        self.assertEqual(r.status, 200, r)
        items = r.json()["items"]
        self.assertEqual([x["tracking"] for x in items], [a["tracking"]])
        pub = items[0]
        for k in ("name", "phone", "email"):
            self.assertNotIn(k, pub)
        text = json.dumps(pub, ensure_ascii=False)
        for secret in ("张三", "13812345678", "zhangsan@example.com", "110101199003071234"):
            self.assertNotIn(secret, text)
        self.assertEqual(pub["subject"], "张某反映噪音")
        self.assertIn("138****5678", pub["body"])
        self.assertIn("110101********1234", pub["body"])
        self.assertIn("z***@example.com", pub["body"])
        self.assertTrue(pub["reply"])

        r = self.server.request("GET", "/api/v1/public/items/" + a["tracking"])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["subject"], "张某反映噪音")
        for other in (b["tracking"], c["tracking"], "XJ-20250930-99999"):
            r = self.server.request("GET", "/api/v1/public/items/" + other)
            self.assertEqual(r.status, 404, other)

        # search
        r = self.server.request("GET", "/api/v1/public/items" + qs(q="噪音"))
        self.assertEqual(len(r.json()["items"]), 1)
        r = self.server.request("GET", "/api/v1/public/items" + qs(q="13812345678"))
        self.assertEqual(r.json()["items"], [])

        # staff edit the public version; handlers may not; no consent, no publication
        path = "/api/v1/items/%s/public" % a["tracking"]
        r = self.staff["hand_fg"].patch(path, {"subject": "x"})
        self.assertEqual(r.status, 403, r)
        r = self.staff["head_jc"].patch(path, {"subject": "x"})
        self.assertEqual(r.status, 403, r)
        r = self.staff["head_fg"].patch(path, {"subject": 5})
        self.assertEqual((r.status, r.json()["error"]["field"]), (400, "subject"))
        r = self.staff["head_fg"].patch(path, {"subject": "关于噪音扰民的答复"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["public_subject"], "关于噪音扰民的答复")
        r = self.server.request("GET", "/api/v1/public/items/" + a["tracking"])
        self.assertEqual(r.json()["subject"], "关于噪音扰民的答复")
        r = self.staff["head_fg"].patch("/api/v1/items/%s/public" % b["tracking"],
                                        {"published": True})
        self.assertEqual((r.status, r.json()["error"]["code"]), (409, "no_consent"))
        r = self.staff["head_fg"].patch("/api/v1/items/%s/public" % c["tracking"],
                                        {"published": True})
        self.assertEqual((r.status, r.json()["error"]["code"]), (409, "not_replied"))
        # unpublish and publish again
        r = self.staff["admin_a"].patch(path, {"published": False})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.server.request("GET", "/api/v1/public/items").json()["items"], [])
        # withdrawn from Open311 too: status and dates only
        r = self.server.request("GET", "/open311/v2/requests/%s.json" % a["tracking"])
        self.assertEqual(r.status, 200, r)
        self.assertEqual((r.json()[0]["description"], r.json()[0]["title"]), (None, None))
        r = self.staff["head_fg"].patch(path, {"published": True, "subject": None})
        self.assertEqual(r.status, 200, r)
        r = self.server.request("GET", "/api/v1/public/items/" + a["tracking"])
        self.assertEqual(r.json()["subject"], "张某反映噪音")
        r = self.server.request("GET", "/open311/v2/requests/%s.json" % a["tracking"])
        self.assertEqual((r.status, r.json()[0]["title"]), (200, "张某反映噪音"))

    def test_edit_before_publication(self):
        self.clock("2025-09-30T10:00")
        a = self.submit(subject="张三的来信")
        t = a["tracking"]
        self.ok("disp_a", t, "assign", section="法规处")
        self.ok("hand_fg", t, "accept")
        r = self.staff["head_fg"].patch("/api/v1/items/%s/public" % t,
                                        {"subject": "市民来信", "body": "关于噪音的来信。"})
        self.assertEqual(r.status, 200, r)
        self.assertFalse(r.json()["published"])
        self.assertEqual(self.server.request("GET", "/api/v1/public/items/" + t).status, 404)
        self.ok("hand_fg", t, "draft", text="答复张三：已处理。")
        self.ok("hand_fg", t, "submit_review")
        self.ok("head_fg", t, "approve")
        self.ok("hand_fg", t, "send_reply")
        self.publish(t)
        r = self.server.request("GET", "/api/v1/public/items/" + t)
        self.assertEqual(r.status, 200, r)
        pub = r.json()
        self.assertEqual((pub["subject"], pub["body"]), ("市民来信", "关于噪音的来信。"))
        self.assertEqual(pub["reply"], "答复张某：已处理。")

    def test_pagination(self):
        self.clock("2025-09-30T10:00")
        ts = []
        for i in range(5):
            t = self.submit(subject="分页%d" % i)["tracking"]
            self.clock("2025-10-09T1%d:00" % i)
            self.to_replied(t)
            self.publish(t)
            ts.append(t)
        seen, cursor = [], None
        while True:
            q = self.server.request("GET", "/api/v1/public/items?limit=2&q=" + quote("分页") +
                                    ("&cursor=" + cursor if cursor else "")).json()
            seen += [x["tracking"] for x in q["items"]]
            cursor = q["next_cursor"]
            if cursor is None:
                break
        self.assertEqual(seen, list(reversed(ts)))  # newest reply first
        r = self.server.request("GET", "/api/v1/public/items?cursor=x")
        self.assertEqual(r.status, 400, r)

class ServerRestart(Base):
    """Stopped and started again on the same database, at the same test clock: every item's
    staff view (history, clocks with the explain clock, draft, extension) and citizen view is
    the same, and the workflow goes on from where it was.

    The daemon starts at SNAP (CIVICDESK_TEST_NOW), so the accounts log in at SNAP; the
    transitions happen earlier (set_clock), and the views are compared at SNAP again."""
    SNAP = "2025-10-15T10:00"
    ENV = {"CIVICDESK_TEST_NOW": SNAP}

    def views(self, server, staff, items):
        """{tracking: (staff view, citizen view)} and the queue of every item, at SNAP."""
        out = {}
        for it in items:
            t = it["tracking"]
            r = staff.get("/api/v1/items/" + t)
            self.assertEqual(r.status, 200, r)
            tr = server.request("GET", "/api/v1/track/" + t,
                                headers={"X-Query-Code": it["query_code"]})
            self.assertEqual(tr.status, 200, tr)
            out[t] = (r.json(), tr.json())
        q = staff.get("/api/v1/queue?state=all&limit=100")
        self.assertEqual(q.status, 200, q)
        return out, q.json()

    def test_history_and_clocks_survive_a_restart(self):
        srv = self.server
        self.clock("2025-09-30T10:00")
        a = self.submit(kind="letter")
        b = self.submit(kind="complaint")
        c = self.submit(kind="consultation")
        ta, tb, tc = a["tracking"], b["tracking"], c["tracking"]
        self.clock("2025-09-30T11:00")
        for t in (ta, tb, tc):
            self.ok("disp_a", t, "assign", section="法规处",
                    **({"assignee": "hand_fg"} if t == ta else {}))
        # a: accepted, extension requested and approved, explanation sent, drafted
        self.clock("2025-10-09T09:00")
        self.ok("hand_fg", ta, "accept")
        self.ok("hand_fg", tc, "accept")
        self.clock("2025-10-10T09:00")
        self.ok("hand_fg", ta, "request_extension", reason="需现场核查")
        self.clock("2025-10-10T10:00")
        self.ok("sup_a", ta, "approve_extension", note="同意延期")
        self.clock("2025-10-10T11:00")
        self.ok("hand_fg", ta, "send_explanation", text="因需现场核查，将于10月28日前答复。")
        self.clock("2025-10-13T09:00")
        self.ok("hand_fg", ta, "draft", text="初稿：已责令整改。")
        # b: forwarded to 稽查处; c: waiting for the citizen (clocks paused)
        self.clock("2025-10-09T10:00")
        self.ok("hand_fg", tb, "forward", section="稽查处", reason="属稽查处职责")
        self.clock("2025-10-13T10:00")
        self.ok("hand_fg", tc, "ask_citizen", note="请补充具体地址")

        self.clock(self.SNAP)
        before, queue_before = self.views(srv, self.staff["disp_a"], (a, b, c))
        ia, ib, ic = (before[t][0] for t in (ta, tb, tc))
        # what is compared is worth comparing
        self.assertEqual((ia["state"], ia["extension"], ia["draft"], ia["assignee"]),
                         ("drafted", "approved", "初稿：已责令整改。", "hand_fg"))
        self.assertEqual(ia["clocks"]["reply"]["due"], "2025-10-28" + END)
        self.assertEqual(ia["clocks"]["reply"]["days"], 15)
        self.assertEqual((ia["clocks"]["explain"]["due"], ia["clocks"]["explain"]["state"]),
                         ("2025-10-11" + END, "stopped"))
        self.assertEqual(ia["clocks"]["forward"]["state"], "stopped")
        self.assertEqual([h["action"] for h in ia["history"]],
                         ["submit", "assign", "accept", "request_extension", "approve_extension",
                          "send_explanation", "draft"])
        self.assertEqual((ib["state"], ib["section"]), ("forwarded", "稽查处"))
        self.assertEqual(ib["clocks"]["reply"]["due"], "2025-10-14" + END)
        self.assertTrue(ib["clocks"]["reply"]["overdue"])
        self.assertEqual((ic["state"], ic["clocks"]["reply"]["state"]),
                         ("waiting_citizen", "paused"))

        srv.stop()
        self.assertEqual(srv.exit_code, 0, srv.output[-3000:])
        self.assertNotIn("Sanitizer", srv.output)
        env = {"CIVICDESK_SUBMIT_RATE": "0", "CIVICDESK_TEST_NOW": self.SNAP}
        srv2 = harness.Server(env=env, dbdir=srv.dir).start()
        try:
            staff = {name: Staff(srv2, name) for name, _, _ in ACCOUNTS}
            after, queue_after = self.views(srv2, staff["disp_a"], (a, b, c))
            for t in (ta, tb, tc):
                self.assertEqual(after[t][0], before[t][0], "staff view of " + t)
                self.assertEqual(after[t][1], before[t][1], "citizen view of " + t)
            self.assertEqual(queue_after, queue_before)

            # the workflow goes on where it stopped
            def ok(who, t, action, **fields):
                r = staff[who].act(t, action, **fields)
                self.assertEqual(r.status, 200, "%s %s: %r" % (who, action, r))
                return r.json()

            set_clock(srv2, "2025-10-15T10:20")  # within the sessions' idle timeout
            ok("hand_fg", ta, "submit_review")
            self.assertEqual(ok("head_fg", ta, "approve")["state"], "approved")
            it = ok("hand_fg", ta, "send_reply")
            self.assertEqual((it["state"], it["reply"]), ("replied", "初稿：已责令整改。"))
            self.assertEqual(it["clocks"]["reply"]["state"], "stopped")
            self.assertEqual(it["history"][:len(ia["history"])], ia["history"])
            self.assertEqual([h["action"] for h in it["history"][len(ia["history"]):]],
                             ["submit_review", "approve", "send_reply"])
            it = ok("hand_fg", ta, "close")
            self.assertEqual({k: v["result"] for k, v in it["clocks"].items()},
                             {"forward": "on_time", "reply": "on_time", "explain": "on_time"})
            # 法规处 no longer acts on b, 稽查处 takes it
            self.assertEqual(staff["hand_fg"].act(tb, "accept").status, 403)
            self.assertEqual(ok("hand_jc", tb, "accept")["state"], "in_progress")
            # c resumes: 5 WD from 15 Oct (restart policy): 16, 17, 20, 21, 22 Oct
            it = ok("hand_fg", tc, "citizen_answer", note="地址：某路1号")
            self.assertEqual((it["state"], it["clocks"]["reply"]["state"]),
                             ("in_progress", "running"))
            self.assertEqual(it["clocks"]["reply"]["due"], "2025-10-22" + END)
            # the day's numbering goes on
            set_clock(srv2, "2025-09-30T12:00")
            d = submit(srv2)
            self.assertEqual(d["tracking"], tc[:-5] + "%05d" % (int(tc[-5:]) + 1))
        finally:
            srv2.stop()
        self.assertEqual(srv2.exit_code, 0, srv2.output[-3000:])
        self.assertNotIn("Sanitizer", srv2.output)


if __name__ == "__main__":
    harness.main()
