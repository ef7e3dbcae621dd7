"""Reads served from the I/O threads' caches of encoded records (issue 20): Open311's list and
the board answer every change committed to an item, its consent, its publication, its public
version, its state, its reply clock or its section's name in the very next read after the change,
with the caches warm; and their answers are byte for byte those of a server without the cache
(CIVICDESK_READ_CACHE=0) on the same database."""
import os
import shutil
import sqlite3
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


def bare_server(test):
    """A server without the cache on a backup of test's server's database taken now, and its
    directory (remove it after bare.cleanup())."""
    d = tempfile.mkdtemp(prefix="civicdesk-test-")
    r = test.server.cli("backup", os.path.join(d, "civicdesk.db"))
    test.assertEqual(r.returncode, 0, r.stderr)
    return harness.Server(env={"CIVICDESK_READ_CACHE": "0", "CIVICDESK_PUBLIC_RATE": "0"},
                          dbdir=d).start(), d


class ExpectedBytes(Base):
    """Records of Open311's list, its single GET, the board and the staff queue read byte for
    byte as civicdesk has always written them, with the cache of encoded records warm and
    without it: nulls, escapes (quote, backslash, tab, newline; not the slash), text outside the
    BMP written as UTF-8, the masked original and an edited public version, a supervision order
    and the values of the time (overdue, working days left)."""
    ENV = {"CIVICDESK_PUBLIC_RATE": "0"}

    SUBJECT = 'A "引号" \\ 反斜杠 / 斜杠 \U0001F600\U00020BB7'
    BODY = "第一行\n我是张三，电话13812345678。\t制表\r\n“全角引号” \U0001F4A1"

    def test_expected_bytes(self):
        self.clock("2025-09-30T10:00")
        a = self.submit(kind="complaint", subject=self.SUBJECT, body=self.BODY)["tracking"]
        b = self.submit(kind="letter", subject="只公开状态", body="内容")["tracking"]
        self.submit(kind="consultation", subject="不公开", publish=False)
        d = self.submit(kind="consultation", subject="编辑过", body="原文")["tracking"]
        self.to_replied(a)
        self.publish(a)
        self.to_replied(d)
        r = self.staff["head_fg"].patch("/api/v1/items/%s/public" % d, {
            "subject": "编辑后的标题 \"x\"", "body": "正文\t\\ \U0001F600", "reply": None,
            "published": True})
        self.assertEqual(r.status, 200, r)
        o311 = {
            a: RECORD_A % {"t": a},
            b: RECORD_B % {"t": b},
            d: RECORD_D % {"t": d},
        }
        board = {a: BOARD_A % {"t": a}, d: BOARD_D % {"t": d}}
        expected = {
            LIST: "[%s,%s,%s]" % (o311[d], o311[b], o311[a]),  # newest first, then id
            LIST + "?service_code=complaint": "[%s]" % o311[a],
            "/open311/v2/requests/%s.json" % a: "[%s]" % o311[a],
            BOARD: '{"items":[%s,%s],"next_cursor":null}' % (board[d], board[a]),
            "/api/v1/public/items/%s" % d: board[d],
        }
        # the staff queue, with a supervision order on one item, later, when both are late
        e = self.submit(kind="complaint", subject="排队 \"引号\" \\ \U0001F600",
                        publish=False)["tracking"]  # not in Open311's list
        self.ok("disp_a", e, "assign", section="法规处", assignee="hand_fg")
        r = self.server.request("POST", "/api/v1/items/%s/supervision" % e,
                                json_body={"note": "请尽快\n办理", "due": "2025-10-09"},
                                headers=self.staff["sup_a"].headers())
        self.assertIn(r.status, (200, 201), r)
        self.clock("2025-10-15T09:00")
        queue = [QUEUE_E % {"t": e}, QUEUE_A % {"t": a}, QUEUE_D % {"t": d}]  # by due, id
        staff = {"/api/v1/queue?state=all&limit=100":
                 '{"items":[%s],"next_cursor":null}' % ",".join(queue)}
        head = self.staff["head_fg"]
        for p, want in list(expected.items()) + list(staff.items()):
            for _ in range(WARM):  # from the caches of both I/O threads, once warm
                r = (head.get(p) if p in staff else self.server.request("GET", p))
                self.assertEqual((r.status, r.body.decode("utf-8")), (200, want), p)
        bare, tmp = bare_server(self)
        try:
            bare.set_clock("2025-10-15T09:00")
            bare_head = bare.login("head_fg", PASSWORD)
            for p, want in list(expected.items()) + list(staff.items()):
                r = bare_head.request("GET", p) if p in staff else bare.request("GET", p)
                self.assertEqual((r.status, r.body.decode("utf-8")), (200, want), p)
        finally:
            bare.cleanup()
            shutil.rmtree(tmp, ignore_errors=True)


# ExpectedBytes' records as civicdesk has always written them (%(t)s: the tracking number)
RECORD_A = (
    r'{"service_request_id":"%(t)s","status":"closed","status_notes":"答复：您反映的问题已处理。",'
    r'"service_name":"投诉举报 Complaint or report","service_code":"complaint","description":'
    r'"第一行\n我是张某，电话138****5678。\t制表\r\n“全角引号” 💡","agency_responsible":"法规处",'
    r'"requested_datetime":"2025-09-30T10:00:00+08:00","updated_datetime":'
    r'"2025-09-30T10:00:00+08:00","expected_datetime":null,"title":'
    r'"A \"引号\" \\ 反斜杠 / 斜杠 😀𠮷","address":null,"address_id":null,"zipcode":null,'
    r'"lat":null,"long":null,"media_url":null}')
RECORD_B = (
    r'{"service_request_id":"%(t)s","status":"open","status_notes":null,"service_name":'
    r'"局长信箱 Letter to the director","service_code":"letter","description":null,'
    r'"agency_responsible":null,"requested_datetime":"2025-09-30T10:00:00+08:00",'
    r'"updated_datetime":"2025-09-30T10:00:00+08:00","expected_datetime":'
    r'"2025-10-14T23:59:59+08:00","title":null,"address":null,"address_id":null,"zipcode":null,'
    r'"lat":null,"long":null,"media_url":null}')
RECORD_D = (
    r'{"service_request_id":"%(t)s","status":"closed","status_notes":"答复：您反映的问题已处理。",'
    r'"service_name":"在线咨询 Question","service_code":"consultation","description":'
    r'"正文\t\\ 😀","agency_responsible":"法规处","requested_datetime":'
    r'"2025-09-30T10:00:00+08:00","updated_datetime":"2025-09-30T10:00:00+08:00",'
    r'"expected_datetime":null,"title":"编辑后的标题 \"x\"","address":null,"address_id":null,'
    r'"zipcode":null,"lat":null,"long":null,"media_url":null}')
BOARD_A = (
    r'{"tracking":"%(t)s","kind":"complaint","subject":"A \"引号\" \\ 反斜杠 / 斜杠 😀𠮷",'
    r'"body":"第一行\n我是张某，电话138****5678。\t制表\r\n“全角引号” 💡","reply":'
    r'"答复：您反映的问题已处理。","received":"2025-09-30T10:00:00+08:00","replied":'
    r'"2025-09-30T10:00:00+08:00"}')
QUEUE_E = (
    r'{"tracking":"%(t)s","kind":"complaint","subject":"排队 \"引号\" \\ 😀","state":"assigned",'
    r'"section":"法规处","assignee":"hand_fg","received":"2025-09-30T10:00:00+08:00","next_due":'
    r'"2025-10-11T23:59:59+08:00","overdue":true,"supplement_overdue":false,'
    r'"working_days_left":-3,"supervision":{"at":"2025-09-30T10:00:00+08:00","by":"sup_a",'
    r'"note":"请尽快\n办理","due":"2025-10-09T23:59:59+08:00","overdue":true},"screening":null,'
    r'"citizen_mail":null}')
QUEUE_A = (
    r'{"tracking":"%(t)s","kind":"complaint","subject":"A \"引号\" \\ 反斜杠 / 斜杠 😀𠮷",'
    r'"state":"replied","section":"法规处","assignee":"hand_fg","received":'
    r'"2025-09-30T10:00:00+08:00","next_due":null,"overdue":false,"supplement_overdue":false,'
    r'"working_days_left":null,"supervision":null,"screening":null,"citizen_mail":null}')
QUEUE_D = (
    r'{"tracking":"%(t)s","kind":"consultation","subject":"编辑过","state":"replied","section":'
    r'"法规处","assignee":"hand_fg","received":"2025-09-30T10:00:00+08:00","next_due":null,'
    r'"overdue":false,"supplement_overdue":false,"working_days_left":null,"supervision":null,'
    r'"screening":null,"citizen_mail":null}')
BOARD_D = (
    r'{"tracking":"%(t)s","kind":"consultation","subject":"编辑后的标题 \"x\"","body":'
    r'"正文\t\\ 😀","reply":"答复：您反映的问题已处理。","received":"2025-09-30T10:00:00+08:00",'
    r'"replied":"2025-09-30T10:00:00+08:00"}')

class NotUtf8(Base):
    """A text in the database that is not UTF-8 (written there by hand: nothing civicdesk takes
    in stores one) is answered as it always was, cache warm or off: the staff queue's record
    leaves that member out, Open311's list and the board answer 500, Open311's single GET 404."""
    ENV = {"CIVICDESK_PUBLIC_RATE": "0"}

    def test_not_utf8(self):
        self.clock("2025-09-30T10:00")
        good = self.submit(kind="letter", subject="好的")["tracking"]
        bad = self.submit(kind="complaint", subject="坏的")["tracking"]
        for t in (good, bad):
            self.to_replied(t)
            self.publish(t)
        queue = "/api/v1/queue?state=all&limit=100"
        head = self.staff["head_fg"]
        before = {x["tracking"]: x for x in head.get(queue).json()["items"]}
        self.assertEqual(before[bad]["subject"], "坏的")
        db = sqlite3.connect(self.server.db, timeout=30)
        try:
            with db:
                db.execute("UPDATE items SET subject = CAST(X'e59d8fff' AS TEXT), "
                           "public_body = CAST(X'ff' AS TEXT) WHERE tracking = ?", (bad,))
        finally:
            db.close()
        for server, staff in ((self.server, head), bare_with_head(self)):
            try:
                for _ in range(WARM):
                    r = staff.get(queue) if staff is head else staff.request("GET", queue)
                    self.assertEqual(r.status, 200, r)
                    items = {x["tracking"]: x for x in r.json()["items"]}
                    self.assertNotIn("subject", items[bad])
                    self.assertEqual(list(items[bad]), [k for k in before[bad] if k != "subject"])
                    self.assertEqual(items[good], before[good])
                    for p in (LIST, BOARD):
                        self.assertEqual(server.request("GET", p).status, 500, p)
                    self.assertEqual(server.request(
                        "GET", "/open311/v2/requests/%s.json" % bad).status, 404)
                    self.assertEqual(server.request(
                        "GET", "/open311/v2/requests/%s.json" % good).status, 200)
            finally:
                if server is not self.server:
                    server.cleanup()
                    shutil.rmtree(self.tmp, ignore_errors=True)


def bare_with_head(test):
    """bare_server's server and head_fg's session on it, the clock as test's; its directory in
    test.tmp."""
    bare, test.tmp = bare_server(test)
    bare.set_clock("2025-09-30T10:00")
    return bare, bare.login("head_fg", PASSWORD)


class ListAsSingle(Base):
    """With the cache of encoded records off, every record of Open311's list and of the board,
    written piece by piece (records.c, jrec_dump), reads byte for byte as the item's single GET,
    whose record jansson dumps as one tree: records of every kind, open and closed, published
    (with a masked original or an edited public version with escapes) and not, one after the
    other in one answer, so that the constant members change from record to record."""
    ENV = {"CIVICDESK_PUBLIC_RATE": "0", "CIVICDESK_READ_CACHE": "0"}

    def test_list_as_single(self):
        self.clock("2025-09-30T10:00")
        kinds = ["letter", "complaint", "consultation"]
        items = [self.submit(kind=kinds[i % 3],
                             subject=("事项 \"%d\" \\ /" if i % 2 else "item \"%d\" /") % i,
                             body="我是张三，电话13812345678。\n第%d行\t😀" % i,
                             publish=i != 7)["tracking"] for i in range(9)]
        for t in items[:6]:
            self.to_replied(t)
        for t in items[:4]:
            self.publish(t)
        r = self.staff["head_fg"].patch("/api/v1/items/%s/public" % items[1], {
            "subject": "编辑后 \"x\"", "body": "text\t\\ \"q\"\r\n/", "reply": None})
        self.assertEqual(r.status, 200, r)
        self.clock("2025-10-20T10:00")
        for path in (LIST, LIST + "?status=closed", LIST + "?service_code=letter,complaint"):
            r = self.server.request("GET", path)
            self.assertEqual(r.status, 200, r)
            ids = [x["service_request_id"] for x in r.json()]
            self.assertNotIn(items[7], ids)
            singles = []
            for t in ids:
                one = self.server.request("GET", "/open311/v2/requests/%s.json" % t)
                self.assertEqual(one.status, 200, one)
                self.assertEqual(one.body[:1] + one.body[-1:], b"[]")
                singles.append(one.body[1:-1])
            self.assertEqual(r.body, b"[" + b",".join(singles) + b"]", path)
        self.assertEqual(len(self.server.request("GET", LIST).json()), 8)
        r = self.server.request("GET", BOARD)
        self.assertEqual(r.status, 200, r)
        ids = [x["tracking"] for x in r.json()["items"]]
        self.assertEqual(sorted(ids), sorted(items[:4]))
        singles = [self.server.request("GET", "%s/%s" % (BOARD, t)).body for t in ids]
        self.assertEqual(r.body, b'{"items":[' + b",".join(singles) + b'],"next_cursor":null}')


class SameAsWithoutCache(Base):
    """A server without the cache, on a copy of the database, answers the same bytes."""
    ENV = {"CIVICDESK_PUBLIC_RATE": "0"}

    def bare(self):
        """A server without the cache on a backup of this one's database taken now."""
        return bare_server(self)

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
