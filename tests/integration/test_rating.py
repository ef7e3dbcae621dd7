"""Satisfaction ratings (好差评) with their follow-up (回访, 重办) and supervision orders (督办),
end to end through the real daemon with the test clock: the citizen rates with the query code,
an unsatisfied rating is confirmed or reopens the item with a new reply clock on the same
tracking number, every step is in the history and the audit log, ratings count in the
statistics, never show on the board, and cannot be changed; a supervisor's order shows in the
item and the queue and counts in the statistics.

November 2025 has no holidays: from Wednesday 5 November the 5th working day is Wednesday 12.
"""
import os
import sqlite3
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

harness.BIN = os.path.abspath(harness.BIN)

PW = "Passw0rd!Rating"
ACCOUNTS = [
    ("disp_r", "dispatcher", None),
    ("sup_r", "supervisor", None),
    ("admin_r", "admin", None),
    ("hand_r", "handler", "法规处"),
    ("head_r", "section_head", "法规处"),
    ("head_x", "section_head", "稽查处"),
]
COMMENT = "答复敷衍，张三不满意 13812345678"


class Base(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = harness.Server(env={"CIVICDESK_SUBMIT_RATE": "0",
                                         "CIVICDESK_RATING_DAYS": "10"}).start()
        for name, role, section in ACCOUNTS:
            cls.server.add_user(name, role, section, password=PW)
        cls.staff = {name: cls.server.login(name, PW) for name, _, _ in ACCOUNTS}

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def clock(self, when):
        self.server.set_clock(when)

    def act(self, who, tracking, action, **fields):
        r = self.staff[who].request("POST", "/api/v1/items/%s/actions/%s" % (tracking, action),
                                    json_body=fields)
        self.assertEqual(r.status, 200, "%s %s: %r" % (who, action, r))
        return r.json()

    def submit(self):
        r = self.server.request("POST", "/api/v1/items", json_body={
            "kind": "letter", "subject": "路灯不亮", "body": "我是张三，电话13812345678。",
            "name": "张三", "phone": "13812345678", "publish": True})
        self.assertEqual(r.status, 201, r)
        return r.json()

    def reply(self, tracking, first=True):
        if first:
            self.act("disp_r", tracking, "assign", section="法规处")
            self.act("hand_r", tracking, "accept")
        self.act("hand_r", tracking, "draft", text="已修复。")
        self.act("hand_r", tracking, "submit_review")
        self.act("head_r", tracking, "approve")
        return self.act("hand_r", tracking, "send_reply")

    def rate(self, item, value, comment=None, code=None):
        body = {"value": value}
        if comment is not None:
            body["comment"] = comment
        return self.server.request("POST", "/api/v1/track/%s/rating" % item["tracking"],
                                   json_body=body,
                                   headers={"X-Query-Code": code or item["query_code"]})

    def track(self, item):
        r = self.server.request("GET", "/api/v1/track/" + item["tracking"],
                                headers={"X-Query-Code": item["query_code"]})
        self.assertEqual(r.status, 200, r)
        return r.json()

    def item(self, tracking, who="head_r"):
        r = self.staff[who].request("GET", "/api/v1/items/" + tracking)
        self.assertEqual(r.status, 200, r)
        return r.json()

    def followup(self, who, tracking, decision, note="已回访"):
        return self.staff[who].request("POST", "/api/v1/items/%s/followup" % tracking,
                                       json_body={"decision": decision, "note": note})

    def stats(self, period="2025-11"):
        r = self.staff["sup_r"].request("GET", "/api/v1/stats?period=" + period)
        self.assertEqual(r.status, 200, r)
        return {s["section"]: s for s in r.json()["sections"]}


class Rating(Base):
    def test_a_unsatisfied_then_reopen_then_satisfied(self):
        self.clock("2025-11-03T09:00")
        item = self.submit()
        t = item["tracking"]
        r = self.rate(item, "satisfied")
        self.assertEqual((r.status, r.json()["error"]["code"]), (409, "not_replied"))
        self.clock("2025-11-04T10:00")
        self.reply(t)
        r = self.rate(item, "satisfied", code="WRONGCODE123")
        self.assertEqual(r.status, 404)
        r = self.rate(item, "excellent")
        self.assertEqual((r.status, r.json()["error"]["field"]), (400, "value"))
        r = self.rate(item, "unsatisfied", comment="x" * 501)
        self.assertEqual((r.status, r.json()["error"]["field"]), (400, "comment"))
        r = self.rate(item, "unsatisfied", comment=COMMENT)
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json()["rating"]["followup"], "open")
        r = self.rate(item, "satisfied")
        self.assertEqual((r.status, r.json()["error"]["code"]), (409, "rated"))
        staff_view = self.item(t)
        self.assertEqual((staff_view["rating"]["value"], staff_view["rating"]["followup"],
                          staff_view["rating"]["comment"]), ("unsatisfied", "open", COMMENT))
        tracked = self.track(item)
        self.assertEqual(tracked["rating"]["value"], "unsatisfied")
        self.assertNotIn("comment", tracked["rating"])
        self.assertIn("rate", [h["action"] for h in tracked["history"]])
        # only the section head of the item's section follows up
        r = self.staff["hand_r"].request("POST", "/api/v1/items/%s/followup" % t,
                                         json_body={"decision": "reopen", "note": "x"})
        self.assertEqual(r.status, 403)
        self.assertEqual(self.followup("head_x", t, "reopen").status, 403)
        r = self.followup("head_r", t, "reopen", note="")
        self.assertEqual((r.status, r.json()["error"]["field"]), (400, "note"))
        r = self.followup("head_r", t, "redo")
        self.assertEqual((r.status, r.json()["error"]["field"]), (400, "decision"))
        # 重办 on Wednesday 5 November: a new reply clock, due Wednesday 12 November
        self.clock("2025-11-05T10:00")
        r = self.followup("head_r", t, "reopen", note="请重新核查路灯")
        self.assertEqual(r.status, 200, r)
        got = r.json()
        self.assertEqual((got["tracking"], got["state"]), (t, "in_progress"))
        self.assertEqual(got["clocks"]["reply"]["due"], "2025-11-12T23:59:59+08:00")
        self.assertEqual(got["clocks"]["reply"]["state"], "running")
        self.assertEqual(got["rating"]["followup"], "reopened")
        self.assertEqual(self.followup("head_r", t, "confirm").status, 409)
        tracked = self.track(item)
        self.assertEqual(tracked["state"], "in_progress")
        self.assertEqual(tracked["clocks"]["reply"]["due"], "2025-11-12T23:59:59+08:00")
        self.assertIn("reopen", [h["action"] for h in tracked["history"]])
        r = self.rate(item, "satisfied")
        self.assertEqual((r.status, r.json()["error"]["code"]), (409, "not_replied"))
        # the reply is sent again on time, and this reply is rated on its own
        self.clock("2025-11-06T15:00")
        self.reply(t, first=False)
        self.assertEqual(self.item(t)["clocks"]["reply"]["result"] in (None, "on_time"), True)
        r = self.rate(item, "satisfied")
        self.assertEqual(r.status, 201, r)
        self.assertEqual(self.item(t)["rating"]["round"], 1)
        # history and audit hold every step
        actions = [h["action"] for h in self.item(t)["history"]]
        for a in ("send_reply", "rate", "reopen"):
            self.assertIn(a, actions)
        self.assertEqual(actions.count("rate"), 2)
        r = self.staff["admin_r"].request("GET", "/api/v1/audit?target=" + t)
        self.assertEqual(r.status, 200, r)
        audited = [(e["action"], e["actor"]) for e in r.json()["entries"]]
        self.assertIn(("rate", "citizen"), audited)
        self.assertIn(("reopen", "head_r"), audited)
        # published on the board: no rating, no comment
        r = self.staff["head_r"].request("PATCH", "/api/v1/items/%s/public" % t,
                                         json_body={"published": True})
        self.assertEqual(r.status, 200, r)
        for path in ("/api/v1/public/items/" + t, "/open311/v2/requests/%s.json" % t,
                     "/api/v1/public/items"):
            r = self.server.request("GET", path)
            self.assertEqual(r.status, 200, (path, r))
            body = r.body.decode("utf-8")
            self.assertNotIn("不满意", body)
            self.assertNotIn("unsatisfied", body)
            self.assertNotIn("rating", body)

    def test_b_confirm_and_late_rating(self):
        self.clock("2025-11-07T09:00")
        item = self.submit()
        t = item["tracking"]
        self.reply(t)
        self.assertEqual(self.rate(item, "unsatisfied").status, 201)
        r = self.followup("head_r", t, "confirm", note="已解释，群众理解")
        self.assertEqual(r.status, 200, r)
        self.assertEqual((r.json()["state"], r.json()["rating"]["followup"]),
                         ("replied", "confirmed"))
        self.assertIn("confirm_rating", [h["action"] for h in r.json()["history"]])
        # a reply not rated within rating_days (10) can no longer be rated
        self.clock("2025-11-07T09:30")
        late = self.submit()
        self.reply(late["tracking"])
        self.clock("2025-11-17T10:00")
        r = self.rate(late, "satisfied")
        self.assertEqual((r.status, r.json()["error"]["code"]), (409, "too_late"))

    def test_c_ratings_cannot_be_changed(self):
        db = sqlite3.connect(self.server.db, timeout=10)
        try:
            n = db.execute("SELECT count(*) FROM ratings").fetchone()[0]
            self.assertGreater(n, 0)
            for sql in ("UPDATE ratings SET value = 'satisfied'",
                        "UPDATE ratings SET comment = NULL", "DELETE FROM ratings"):
                with self.assertRaises(sqlite3.DatabaseError, msg=sql):
                    db.execute(sql)
                db.rollback()
            self.assertEqual(db.execute("SELECT count(*) FROM ratings").fetchone()[0], n)
        finally:
            db.close()

    def test_d_counted_in_statistics(self):
        fg = self.stats()["法规处"]
        # a: unsatisfied (reopened) then satisfied; b: unsatisfied (confirmed)
        self.assertEqual(fg["ratings"], {"total": 3, "satisfied": 1, "basically_satisfied": 0,
                                         "unsatisfied": 2, "followup_open": 0, "reopened": 1})
        self.assertAlmostEqual(fg["satisfaction_rate"], 1 / 3)
        # the reopened item counts once as replied (its first reply), on time
        self.assertEqual(fg["replied"], 3)


class Supervision(Base):
    def test_supervision_order(self):
        self.clock("2025-11-10T09:00")
        item = self.submit()
        t = item["tracking"]
        self.act("disp_r", t, "assign", section="法规处")
        url = "/api/v1/items/%s/supervision" % t
        r = self.staff["hand_r"].request("POST", url, json_body={"note": "x", "due": "2025-11-12"})
        self.assertEqual(r.status, 403)
        r = self.staff["sup_r"].request("POST", url, json_body={"note": "", "due": "2025-11-12"})
        self.assertEqual((r.status, r.json()["error"]["field"]), (400, "note"))
        r = self.staff["sup_r"].request("POST", url, json_body={"note": "x", "due": "2025-11-09"})
        self.assertEqual((r.status, r.json()["error"]["field"]), (400, "due"))
        r = self.staff["sup_r"].request("POST", url, json_body={"note": "x", "due": "11/12"})
        self.assertEqual((r.status, r.json()["error"]["field"]), (400, "due"))
        r = self.staff["sup_r"].request("POST", url,
                                        json_body={"note": "请于周三前办结", "due": "2025-11-12"})
        self.assertEqual(r.status, 201, r)
        sup = r.json()["supervision"]
        self.assertEqual((sup["by"], sup["note"], sup["due"], sup["overdue"]),
                         ("sup_r", "请于周三前办结", "2025-11-12T23:59:59+08:00", False))
        self.assertIn("supervise", [h["action"] for h in r.json()["history"]])
        r = self.staff["sup_r"].request("POST", url, json_body={"note": "y", "due": "2025-11-13"})
        self.assertEqual((r.status, r.json()["error"]["code"]), (409, "supervised"))
        # the section's queue shows the order
        r = self.staff["hand_r"].request("GET", "/api/v1/queue?state=all")
        self.assertEqual(r.status, 200, r)
        rows = {row["tracking"]: row for row in r.json()["items"]}
        self.assertEqual(rows[t]["supervision"]["note"], "请于周三前办结")
        self.clock("2025-11-13T09:00")
        self.assertTrue(self.item(t)["supervision"]["overdue"])
        r = self.staff["admin_r"].request("GET", "/api/v1/audit?target=" + t)
        self.assertIn("supervise", [e["action"] for e in r.json()["entries"]])
        self.assertEqual(self.stats()["法规处"]["supervised"], 1)
        self.assertEqual(self.stats("2025-10")["法规处"]["supervised"], 0)
        # a closed item takes no order
        done = self.submit()
        self.reply(done["tracking"])
        r = self.staff["sup_r"].request("POST", "/api/v1/items/%s/supervision" % done["tracking"],
                                        json_body={"note": "x", "due": "2025-11-20"})
        self.assertEqual((r.status, r.json()["error"]["code"]), (409, "closed"))


class ReopenedStats(Base):
    def test_first_stretch_stays_overdue_in_past_periods(self):
        """Reopening an item that was late before its first reply leaves the days it was overdue
        in the months already past (frozen results), and its first due date where it was."""
        # Monday 1 December 2025: the reply clock runs 5 working days, due Monday 8 December
        self.clock("2025-12-01T09:00")
        item = self.submit()
        t = item["tracking"]
        self.act("disp_r", t, "assign", section="法规处")
        self.act("hand_r", t, "accept")
        self.assertEqual(self.item(t)["clocks"]["reply"]["due"], "2025-12-08T23:59:59+08:00")
        # replied late, on Wednesday 10 December
        self.clock("2025-12-10T10:00")
        self.reply(t, first=False)
        before = self.stats("2025-12-01..2025-12-09")["法规处"]
        self.assertEqual((before["open"], before["overdue"]), (1, 1))
        due_before = self.stats("2025-12")["法规处"]
        # unsatisfied, then reopened (重办) with a new reply clock
        self.clock("2025-12-10T11:00")
        self.assertEqual(self.rate(item, "unsatisfied", "没有解决").status, 201)
        self.clock("2025-12-11T10:00")
        r = self.followup("head_r", t, "reopen", note="请重新处理")
        self.assertEqual(r.status, 200, r)
        after = self.stats("2025-12-01..2025-12-09")["法规处"]
        self.assertEqual((after["open"], after["overdue"]), (1, 1))
        self.assertEqual(after["replied"], before["replied"])
        # the month's 办结率 keeps the first due date: the same items due, the same replied
        due_after = self.stats("2025-12")["法规处"]
        for key in ("due", "due_replied", "completion_rate", "replied", "replied_late"):
            self.assertEqual(due_after.get(key), due_before.get(key), key)
        # on the day after the reopening the item is open again, not overdue (due 18 December)
        now = self.stats("2025-12-01..2025-12-11")["法规处"]
        self.assertEqual((now["open"], now["overdue"]), (1, 0))


if __name__ == "__main__":
    harness.main()
