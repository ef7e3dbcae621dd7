"""Reads served from the I/O threads' caches of encoded records (issue 20): Open311's list and
the board answer every change committed to an item, its consent, its publication, its public
version, its state, its reply clock or its section's name in the very next read after the change,
with the caches warm; and their answers are byte for byte those of a server without the cache
(CIVICDESK_READ_CACHE=0) on the same database."""
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from test_workflow import PASSWORD, Base  # noqa: E402

LIST = "/open311/v2/requests.json"
BOARD = "/api/v1/public/items"
WARM = 8  # reads before a change: each I/O thread has served the page from its cache


class Changes(Base):
    ENV = {"CIVICDESK_PUBLIC_RATE": "0"}

    def setUp(self):
        self.clock("2025-09-30T10:00")

    def warm(self, path):
        first = self.server.request("GET", path)
        self.assertEqual(first.status, 200, first)
        for _ in range(WARM):
            r = self.server.request("GET", path)
            self.assertEqual(r.body, first.body)
        return first

    def records(self, path=LIST):
        """The list's records by number, each checked against the single GET (no cache)."""
        r = self.server.request("GET", path)
        self.assertEqual(r.status, 200, r)
        out = {}
        for rec in r.json():
            one = self.server.request("GET", "/open311/v2/requests/%s.json" %
                                      rec["service_request_id"])
            self.assertEqual(one.status, 200, one)
            self.assertEqual(one.json()[0], rec)
            out[rec["service_request_id"]] = rec
        return out

    def board(self):
        r = self.server.request("GET", BOARD)
        self.assertEqual(r.status, 200, r)
        return {x["tracking"]: x for x in r.json()["items"]}

    def test_open311_list_follows_each_change_at_once(self):
        a = self.submit(kind="complaint", subject="路灯不亮", body="小区路灯坏了")["tracking"]
        b = self.submit(kind="letter", subject="噪音", body="夜间施工")["tracking"]
        c = self.submit(kind="consultation", subject="咨询", body="如何办理")["tracking"]
        x = self.submit(kind="letter", publish=False, subject="不公开")["tracking"]
        self.to_replied(a)
        self.publish(a)

        self.warm(LIST)
        recs = self.records()
        self.assertEqual(set(recs), {a, b, c})
        self.assertNotIn(x, recs)
        self.assertEqual(recs[a]["agency_responsible"], "法规处")
        self.assertEqual(recs[a]["status"], "closed")
        self.assertIsNotNone(recs[a]["description"])
        self.assertIsNone(recs[b]["description"])
        self.assertEqual(recs[c]["status"], "open")
        self.assertIsNotNone(recs[c]["expected_datetime"])

        # the public version edited
        self.warm(LIST)
        r = self.staff["head_fg"].patch("/api/v1/items/%s/public" % a,
                                        {"body": "新的公开文本。", "subject": "新标题"})
        self.assertEqual(r.status, 200, r)
        recs = self.records()
        self.assertEqual((recs[a]["description"], recs[a]["title"]), ("新的公开文本。", "新标题"))

        # withdrawn from publication: status, service, dates only
        self.warm(LIST)
        self.publish(a, published=False)
        recs = self.records()
        for k in ("description", "title", "agency_responsible", "status_notes"):
            self.assertIsNone(recs[a][k], k)

        # published again
        self.warm(LIST)
        self.publish(a)
        self.assertEqual(self.records()[a]["description"], "新的公开文本。")

        # the section renamed
        sections = self.staff["admin_a"].get("/api/v1/admin/sections").json()
        sections = sections.get("sections", sections) if isinstance(sections, dict) else sections
        fg = [s for s in sections if s["name"] == "法规处"][0]
        self.warm(LIST)
        r = self.staff["admin_a"].patch("/api/v1/admin/sections/%s" % fg["id"],
                                        {"name": "法规与政策处"})
        self.assertEqual(r.status, 200, r)
        try:
            self.assertEqual(self.records()[a]["agency_responsible"], "法规与政策处")
        finally:
            r = self.staff["admin_a"].patch("/api/v1/admin/sections/%s" % fg["id"],
                                            {"name": "法规处"})
            self.assertEqual(r.status, 200, r)
        self.assertEqual(self.records()[a]["agency_responsible"], "法规处")

        # the state and the reply clock: replied, so closed and no expected time
        self.warm(LIST)
        self.to_replied(c)
        recs = self.records()
        self.assertEqual(recs[c]["status"], "closed")
        self.assertIsNone(recs[c]["expected_datetime"])

        # the citizen's consent withdrawn: never listed again
        self.warm(LIST)
        self.withdraw_consent(b)
        recs = self.records()
        self.assertNotIn(b, recs)
        self.assertEqual(self.server.request("GET", "/open311/v2/requests/%s.json" % b).status,
                         404)

    def withdraw_consent(self, tracking):
        code = self.codes[tracking]
        r = self.server.request("POST", "/api/v1/track/%s/withdraw" % tracking,
                                json_body={"what": "consent"},
                                headers={"X-Query-Code": code})
        self.assertEqual(r.status, 200, r)

    def submit(self, **kw):
        item = super().submit(**kw)
        if not hasattr(self, "codes"):
            self.codes = {}
        self.codes[item["tracking"]] = item["query_code"]
        return item

    def test_board_follows_each_change_at_once(self):
        a = self.submit(kind="complaint", subject="井盖缺失", body="路口井盖丢了")["tracking"]
        self.to_replied(a)
        self.publish(a)
        self.warm(BOARD)
        self.assertIn(a, self.board())

        self.warm(BOARD)
        r = self.staff["head_fg"].patch("/api/v1/items/%s/public" % a, {"reply": "已修复。"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.board()[a]["reply"], "已修复。")

        self.warm(BOARD)
        self.publish(a, published=False)
        self.assertNotIn(a, self.board())

        self.warm(BOARD)
        self.publish(a)
        self.assertEqual(self.board()[a]["reply"], "已修复。")

        self.warm(BOARD)
        self.withdraw_consent(a)
        self.assertNotIn(a, self.board())


class Queue(Base):
    """The staff queue's records show values of the time (overdue, working days left): they
    follow the clock, and every change to the item, at once."""

    def test_queue_follows_each_change_and_the_time(self):
        self.clock("2025-09-30T10:00")
        t = self.submit(kind="letter", subject="排队的来信")["tracking"]
        self.ok("disp_a", t, "assign", section="法规处")
        head = self.staff["head_fg"]
        path = "/api/v1/queue?limit=100"

        def warm():
            first = head.get(path)
            self.assertEqual(first.status, 200, first)
            for _ in range(WARM):
                self.assertEqual(head.get(path).body, first.body)

        def rec():
            r = head.get(path)
            self.assertEqual(r.status, 200, r)
            return {x["tracking"]: x for x in r.json()["items"]}[t]

        warm()
        r = rec()
        self.assertFalse(r["overdue"])
        left = r["working_days_left"]
        self.assertIsNone(r["supervision"])

        # the time moves on: fewer working days left, then overdue
        self.clock("2025-10-09T10:00")
        r = rec()
        self.assertLess(r["working_days_left"], left)
        self.assertFalse(r["overdue"])
        warm()
        self.clock("2025-10-20T10:00")
        r = rec()
        self.assertTrue(r["overdue"])
        self.assertLess(r["working_days_left"], 0)

        # the state changes
        warm()
        self.ok("hand_fg", t, "accept")
        self.assertEqual(rec()["state"], "in_progress")

        # a supervision order, then its due date passes
        warm()
        r = self.server.request("POST", "/api/v1/items/%s/supervision" % t,
                                json_body={"note": "请尽快办理", "due": "2025-10-22"},
                                headers=self.staff["sup_a"].headers())
        self.assertIn(r.status, (200, 201), r)
        r = rec()
        self.assertEqual(r["supervision"]["note"], "请尽快办理")
        self.assertFalse(r["supervision"]["overdue"])
        warm()
        self.clock("2025-10-23T10:00")
        self.assertTrue(rec()["supervision"]["overdue"])


class SameAsWithoutCache(Base):
    """A server without the cache, on a copy of the database, answers the same bytes."""
    ENV = {"CIVICDESK_PUBLIC_RATE": "0"}

    def bare(self):
        """A server without the cache on a backup of this one's database taken now."""
        d = tempfile.mkdtemp(prefix="civicdesk-test-")
        r = self.server.cli("backup", os.path.join(d, "civicdesk.db"))
        self.assertEqual(r.returncode, 0, r.stderr)
        return harness.Server(env={"CIVICDESK_READ_CACHE": "0", "CIVICDESK_PUBLIC_RATE": "0"},
                              dbdir=d).start(), d

    def test_same_bytes(self):
        self.now = "2025-10-20T10:00"  # some items overdue
        self.clock("2025-09-30T10:00")
        items = [self.submit(kind=k, subject="事项%d" % i, body="内容%d，小区" % i)["tracking"]
                 for i, k in enumerate(["letter", "complaint", "consultation"] * 4)]
        for t in items[:5]:
            self.to_replied(t)
        for t in items[:3]:
            self.publish(t)
        for t in items[5:9]:
            self.ok("disp_a", t, "assign", section="法规处")
        self.clock(self.now)
        paths = [LIST, LIST + "?status=closed", LIST + "?service_code=letter,complaint",
                 LIST + "?limit=3", BOARD, BOARD + "?limit=2", BOARD + "?q=%E5%B0%8F%E5%8C%BA"]
        staff_paths = ["/api/v1/queue?limit=100", "/api/v1/queue?state=all&limit=5",
                       "/api/v1/queue?section=%E6%B3%95%E8%A7%84%E5%A4%84&overdue=1"]
        head = self.staff["head_fg"]
        for rnd in range(3):
            for p in paths:
                for _ in range(3):  # both I/O threads' caches warm
                    self.server.request("GET", p)
            for p in staff_paths:
                for _ in range(3):
                    head.get(p)
            if rnd == 1:
                self.publish(items[0], published=False)
            elif rnd == 2:
                r = self.staff["head_fg"].patch("/api/v1/items/%s/public" % items[1],
                                                {"body": "改过的公开文本，小区"})
                self.assertEqual(r.status, 200, r)
            bare, d = self.bare()
            try:
                bare.set_clock(self.now)
                bare_head = bare.login("head_fg", PASSWORD)
                for p in paths:
                    r1 = self.server.request("GET", p)
                    r2 = bare.request("GET", p)
                    self.assertEqual((r1.status, r1.body), (r2.status, r2.body), p)
                    self.assertEqual(r1.header("Content-Type"), r2.header("Content-Type"))
                for p in staff_paths:
                    r1 = head.get(p)
                    r2 = bare_head.request("GET", p)
                    self.assertEqual((r1.status, r1.body), (r2.status, r2.body), p)
            finally:
                bare.cleanup()
                shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    harness.main()
