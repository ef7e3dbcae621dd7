"""Workflow fixes of issue #14 (points 6, 8, 9, 11, 12, 13, 16): the real daemon with the test
clock. Received Tue 2025-09-30 10:00: forward due 11 Oct, reply due 14 Oct (National Day)."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from test_workflow import Base, PASSWORD  # noqa: E402


class Fixes(Base):
    def waiting(self):
        self.clock("2025-09-30T10:00")
        item = self.submit()
        t = item["tracking"]
        self.ok("disp_a", t, "assign", section="法规处")
        self.ok("hand_fg", t, "accept")
        self.ok("hand_fg", t, "ask_citizen", reason="请补充材料")
        return item

    def test_p06_waiting_citizen_not_a_dead_end(self):
        for action, fields, state in (("reject", {"reason": "逾期未补正"}, "rejected"),
                                      ("close", {}, "closed")):
            t = self.waiting()["tracking"]
            it = self.ok("hand_fg", t, action, **fields)
            self.assertEqual(it["state"], state)
        t = self.waiting()["tracking"]
        other = self.submit()["tracking"]
        it = self.ok("hand_fg", t, "merge", target=other)
        self.assertEqual(it["state"], "merged")

    def test_p06_citizen_supplements_online(self):
        item = self.waiting()
        t = item["tracking"]
        path = "/api/v1/track/%s/supplement" % t
        r = self.server.request("POST", path, json_body={"text": "补充"},
                                headers={"X-Query-Code": "WRONGCODE000"})
        self.assertEqual(r.status, 404, r)
        r = self.server.request("POST", path, json_body={"text": "补充", "x": 1},
                                headers={"X-Query-Code": item["query_code"]})
        self.assertEqual((r.status, r.json()["error"]["field"]), (400, "x"))
        self.clock("2025-10-10T09:00")
        r = self.server.request("POST", path, json_body={"text": "补充材料如下"},
                                headers={"X-Query-Code": item["query_code"]})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["state"], "in_progress")
        it = self.staff["hand_fg"].get("/api/v1/items/" + t).json()
        self.assertEqual(it["clocks"]["reply"]["state"], "running")
        self.assertEqual(it["history"][-1]["actor"], "citizen")
        self.assertEqual(it["history"][-1]["note"], "补充材料如下")
        r = self.server.request("POST", path, json_body={"text": "again"},
                                headers={"X-Query-Code": item["query_code"]})
        self.assertEqual(r.status, 409, r)

    def test_p06_supplement_with_attachments(self):
        """The online supplement takes files (multipart), under the submission's type and size
        rules."""
        from test_intake import multipart
        item = self.waiting()
        t = item["tracking"]
        path = "/api/v1/track/%s/supplement" % t
        png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
        code = {"X-Query-Code": item["query_code"]}

        def post(fields, files, headers=code):
            body, ct = multipart(fields, files)
            return self.server.request("POST", path, body=body,
                                       headers=dict(headers, **{"Content-Type": ct}))
        # a wrong code, a file type not allowed, an unknown field: nothing changes
        r = post([("text", "补充")], [("attachment", "a.png", "image/png", png)],
                 {"X-Query-Code": "WRONGCODE000"})
        self.assertEqual(r.status, 404, r)
        r = post([("text", "补充")], [("attachment", "a.pdf", "application/pdf",
                                        b"MZ\x90\x00binary")])
        self.assertEqual((r.status, r.json()["error"]["field"]), (400, "attachment"), r)
        r = post([("text", "补充"), ("x", "1")], [])
        self.assertEqual((r.status, r.json()["error"]["field"]), (400, "x"), r)
        r = post([], [("attachment", "a.png", "image/png", png)])
        self.assertEqual((r.status, r.json()["error"]["field"]), (400, "text"), r)
        it = self.staff["hand_fg"].get("/api/v1/items/" + t).json()
        self.assertEqual((it["state"], it["attachments"]), ("waiting_citizen", []))
        # the supplement with two files: stored by their content's type
        r = post([("text", "补充材料见附件")],
                 [("attachment", "现场照片.png", "text/html", png),
                  ("attachment", "说明.txt", "text/plain", "情况说明".encode())])
        self.assertEqual(r.status, 200, r)
        self.assertEqual((r.json()["state"], r.json()["attachments"]), ("in_progress", 2))
        it = self.staff["hand_fg"].get("/api/v1/items/" + t).json()
        self.assertEqual([(a["filename"], a["content_type"]) for a in it["attachments"]],
                         [("现场照片.png", "image/png"), ("说明.txt", "text/plain")])
        self.assertEqual((it["history"][-1]["actor"], it["history"][-1]["note"]),
                         ("citizen", "补充材料见附件"))
        # the clocks restarted: the citizen's row carries the new reply due date (point 11)
        self.assertEqual((it["history"][-1]["clock"], it["history"][-1]["due"]),
                         ("reply", it["clocks"]["reply"]["due"]))
        a = self.staff["hand_fg"].get("/api/v1/items/%s/attachments/%d" %
                                      (t, it["attachments"][0]["id"]))
        self.assertEqual((a.status, a.body), (200, png))

    def test_p08_extension_only_before_the_reply_runs_out(self):
        self.clock("2025-09-30T10:00")
        t = self.submit()["tracking"]
        self.ok("disp_a", t, "assign", section="法规处")
        self.ok("hand_fg", t, "accept")
        self.clock("2025-10-15T10:00")  # reply was due 14 Oct
        r = self.staff["hand_fg"].act(t, "request_extension", reason="late")
        self.assertEqual(r.status, 409, r)
        self.assertNotIn("request_extension", r.json()["error"]["allowed"])
        # asking the citizen after the due time does not make the clock on time again
        self.ok("hand_fg", t, "ask_citizen", reason="补充")
        self.ok("hand_fg", t, "citizen_answer", note="收到")
        it = self.ok("hand_fg", t, "reject", reason="x")
        self.assertEqual(it["clocks"]["reply"]["result"], "late")

    def test_p09_forward_clock_until_the_answering_section_accepts(self):
        self.clock("2025-09-30T10:00")
        t = self.submit()["tracking"]
        self.ok("disp_a", t, "assign", section="法规处")
        self.ok("hand_fg", t, "accept")
        self.clock("2025-10-13T10:00")  # after the forward due time (11 Oct)
        it = self.ok("hand_fg", t, "forward", section="稽查处", reason="属稽查处")
        self.assertEqual(it["clocks"]["forward"]["state"], "running")
        self.assertEqual(it["clocks"]["forward"]["due"], "2025-10-11T23:59:59+08:00")
        it = self.ok("hand_jc", t, "accept")
        self.assertEqual(it["clocks"]["forward"]["state"], "stopped")
        self.assertEqual(it["clocks"]["forward"]["result"], "late")

    def test_p11_citizen_sees_what_moved_the_due_date(self):
        self.clock("2025-09-30T10:00")
        item = self.submit()
        t = item["tracking"]
        self.ok("disp_a", t, "assign", section="法规处")
        self.ok("hand_fg", t, "forward", section="稽查处", reason="内部原因")
        self.ok("hand_jc", t, "accept")
        self.ok("hand_jc", t, "request_extension", reason="需核查")
        self.ok("sup_a", t, "approve_extension")
        tr = self.track(item)
        actions = [h["action"] for h in tr["history"]]
        for a in ("forward", "request_extension", "approve_extension"):
            self.assertEqual(actions.count(a), 1, actions)
        self.assertNotIn("内部原因", str(tr["history"]))
        self.assertEqual(tr["clocks"]["reply"]["due"], "2025-10-28T23:59:59+08:00")
        # each with the due date it set: the reply's kept at the forward, the explanation's
        # at the request, the reply's moved at the approval
        due = {h["action"]: (h.get("clock"), h.get("due")) for h in tr["history"]}
        self.assertEqual(due["forward"], ("reply", "2025-10-14T23:59:59+08:00"))
        self.assertEqual(due["request_extension"], ("explain", "2025-10-11T23:59:59+08:00"))
        self.assertEqual(due["approve_extension"], ("reply", "2025-10-28T23:59:59+08:00"))
        self.assertEqual(due["submit"], (None, None))
        # no step twice: the whole history, each row once
        steps = [(h["action"], h["at"], h.get("due")) for h in tr["history"]]
        self.assertEqual(len(steps), len(set(steps)), steps)
        self.assertEqual(actions, ["submit", "assign", "forward", "accept", "request_extension",
                                   "approve_extension"])

    def test_p12_section_work_distribution(self):
        self.clock("2025-09-30T10:00")
        t = self.submit()["tracking"]
        self.ok("disp_a", t, "assign", section="法规处", assignee="hand_fg")
        # head_jc may not assign 法规处's item; head_fg may not send it to 稽查处 by assign
        r = self.staff["head_jc"].act(t, "assign", section="稽查处")
        self.assertEqual(r.status, 403, r)
        r = self.staff["head_fg"].act(t, "assign", section="稽查处")
        self.assertEqual(r.status, 403, r)
        # head_fg reassigns within the section
        it = self.ok("head_fg", t, "assign", section="法规处", assignee="head_fg")
        self.assertEqual(it["assignee"], "head_fg")
        # the handler no longer acts on the head's item
        r = self.staff["hand_fg"].act(t, "accept")
        self.assertEqual(r.status, 403, r)

    def test_p12_section_sends_a_misassigned_item_back(self):
        """申请退回: the section returns a mis-assigned item to the dispatchers with a reason;
        a handler acts only on their own or unassigned items of their section."""
        self.clock("2025-09-30T10:00")
        item = self.submit()
        t = item["tracking"]
        self.ok("disp_a", t, "assign", section="法规处")
        # unassigned in the section: a handler of the section acts on it, another section not
        r = self.staff["hand_jc"].act(t, "send_back", reason="x")
        self.assertEqual(r.status, 403, r)
        it = self.ok("hand_fg", t, "accept")
        self.assertEqual((it["assignee"], it["clocks"]["forward"]["state"]),
                         ("hand_fg", "stopped"))
        r = self.staff["hand_fg"].act(t, "send_back")
        self.assertEqual((r.status, r.json()["error"]["field"]), (400, "reason"), r)
        # the head may reassign it, and then the handler no longer acts on it
        self.ok("head_fg", t, "assign", section="法规处", assignee="head_fg")
        r = self.staff["hand_fg"].act(t, "send_back", reason="不属本处职责")
        self.assertEqual(r.status, 403, r)
        self.ok("head_fg", t, "accept")
        self.clock("2025-10-09T10:00")
        it = self.ok("head_fg", t, "send_back", reason="不属本处职责，应由稽查处办理")
        self.assertEqual((it["state"], it["section"], it["assignee"]), ("received", None, None))
        # the forward clock runs again with its original due time until a section accepts
        self.assertEqual(it["clocks"]["forward"]["state"], "running")
        self.assertEqual(it["clocks"]["forward"]["due"], "2025-10-11T23:59:59+08:00")
        self.assertEqual(it["history"][-1]["action"], "send_back")
        self.assertEqual(it["history"][-1]["note"], "不属本处职责，应由稽查处办理")
        # 法规处 no longer acts on it; the dispatcher triages it again
        r = self.staff["head_fg"].act(t, "accept")
        self.assertEqual(r.status, 403, r)
        q = self.staff["disp_a"].get("/api/v1/queue?state=received").json()
        self.assertIn(t, [x["tracking"] for x in q["items"]])
        self.ok("disp_a", t, "assign", section="稽查处")
        it = self.ok("hand_jc", t, "accept")
        self.assertEqual(it["clocks"]["forward"]["state"], "stopped")
        # an internal step: the citizen does not see it
        self.assertNotIn("send_back", [h["action"] for h in self.track(item)["history"]])
        # once the reply is being written it stays in the section
        self.ok("hand_jc", t, "draft", text="草稿")
        r = self.staff["hand_jc"].act(t, "send_back", reason="x")
        self.assertEqual(r.status, 409, r)
        self.assertNotIn("send_back", r.json()["error"]["allowed"])

    def test_p13_reject_merge_from_every_open_state(self):
        self.clock("2025-09-30T10:00")
        t = self.submit()["tracking"]
        self.ok("disp_a", t, "assign", section="法规处")
        self.ok("hand_fg", t, "accept")
        self.ok("hand_fg", t, "draft", text="草稿")
        self.ok("hand_fg", t, "request_extension", reason="x") if False else None
        r = self.staff["hand_fg"].act(t, "send_reply")
        self.assertEqual(r.status, 409, r)
        allowed = r.json()["error"]["allowed"]
        self.assertIn("reject", allowed)
        self.assertIn("merge", allowed)
        self.assertNotIn("send_explanation", allowed)  # none is due
        self.assertNotIn("approve", allowed)           # not the handler's
        t2 = self.submit()["tracking"]
        self.ok("disp_a", t2, "assign", section="法规处")
        self.ok("hand_fg", t2, "accept")
        self.ok("hand_fg", t2, "request_extension", reason="x")
        it = self.ok("hand_fg", t2, "merge", target=t)
        self.assertEqual(it["state"], "merged")
        it = self.ok("hand_fg", t, "reject", reason="不予受理")
        self.assertEqual(it["state"], "rejected")

    def test_p16_help_and_unknown_fields(self):
        p = subprocess.run([harness.BIN, "--help"], capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("serve", p.stdout)
        self.clock("2025-09-30T10:00")
        t = self.submit()["tracking"]
        r = self.staff["disp_a"].act(t, "assign", section="法规处", reson="typo")
        self.assertEqual((r.status, r.json()["error"]["field"]), (400, "reson"))

    def test_p16_forward_not_longer_than_reply(self):
        r = self.staff["admin_a"].patch("/api/v1/admin/policies/letter", {"forward_days": 6})
        self.assertEqual((r.status, r.json()["error"]["field"]), (400, "forward_days"))
        p = subprocess.run([harness.BIN, "serve"], capture_output=True, text=True, timeout=10,
                           env=dict(os.environ, CIVICDESK_POLICY_LETTER_FORWARD_DAYS="9",
                                    CIVICDESK_DB=self.server.db + ".other",
                                    CIVICDESK_LISTEN="127.0.0.1:0"))
        self.assertNotEqual(p.returncode, 0, p.stdout)
        self.assertIn("forward_days", p.stderr)

    def test_p16_receipt_date_bounded(self):
        self.clock("2025-09-30T10:00")
        r = self.server.request("POST", "/api/v1/items", headers=self.staff["disp_a"].headers(),
                                json_body={"kind": "letter", "subject": "来信", "body": "x",
                                           "channel": "post", "received": "1999-01-01",
                                           "publish": False})
        self.assertEqual((r.status, r.json()["error"]["field"]), (400, "received"))
        r = self.server.request("POST", "/api/v1/items", headers=self.staff["disp_a"].headers(),
                                json_body={"kind": "letter", "subject": "来信", "body": "x",
                                           "channel": "post", "received": "2025-09-01",
                                           "publish": False})
        self.assertEqual(r.status, 201, r)

    def test_p16_admin_unlocks_a_name(self):
        for _ in range(6):
            self.server.request("POST", "/api/v1/login",
                                json_body={"username": "hand_jc", "password": "Wrong-Passw0rd1"})
        r = self.server.request("POST", "/api/v1/login",
                                json_body={"username": "hand_jc", "password": PASSWORD})
        self.assertEqual(r.status, 401, r)
        r = self.staff["admin_a"].patch("/api/v1/admin/users/hand_jc", {"unlock": True})
        self.assertEqual(r.status, 200, r)
        r = self.server.request("POST", "/api/v1/login",
                                json_body={"username": "hand_jc", "password": PASSWORD})
        self.assertEqual(r.status, 200, r)

    def test_p07_merged_items_get_the_reply(self):
        self.clock("2025-09-30T10:00")
        dup = self.submit(subject="重复")
        target = self.submit(subject="原件")
        self.ok("disp_a", dup["tracking"], "merge", target=target["tracking"])
        it = self.staff["disp_a"].get("/api/v1/items/" + target["tracking"]).json()
        self.assertEqual(it["merged_items"], [dup["tracking"]])
        self.assertIn(dup["tracking"], [h.get("note") or "" for h in it["history"]][-1])
        d = self.staff["disp_a"].get("/api/v1/items/" + dup["tracking"]).json()
        self.assertEqual(d["merged_into"], target["tracking"])
        self.clock("2025-10-20T10:00")  # the target's reply is late (due 14 Oct)
        self.to_replied(target["tracking"])
        tr = self.track(dup)
        self.assertEqual(tr["reply"], "答复：您反映的问题已处理。")
        self.assertIn("send_reply", [h["action"] for h in tr["history"]])
        d = self.staff["disp_a"].get("/api/v1/items/" + dup["tracking"]).json()
        self.assertEqual(d["clocks"]["reply"]["result"], "late")

    def test_p14_a_right_code_is_not_refused_for_others_mistakes(self):
        self.clock("2025-09-30T10:00")
        a = self.submit()
        b = self.submit()
        for _ in range(12):
            self.server.request("GET", "/api/v1/track/" + a["tracking"],
                                headers={"X-Query-Code": "WRONGWRONG00"})
        # the same address, another item: its right code is answered
        r = self.server.request("GET", "/api/v1/track/" + b["tracking"],
                                headers={"X-Query-Code": b["query_code"]})
        self.assertEqual(r.status, 200, r)
        # the number guessed at is held back
        r = self.server.request("GET", "/api/v1/track/" + a["tracking"],
                                headers={"X-Query-Code": "WRONGWRONG00"})
        self.assertEqual(r.status, 429, r)

    def test_p15_attachments_by_content(self):
        from test_intake import multipart
        fields = [("kind", "letter"), ("subject", "附件"), ("body", "见附件"),
                  ("phone", "13812345678"), ("publish", "false")]
        eicar = (b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*")
        for name, ctype, data in (("a.pdf", "application/pdf", b"MZ\x90\x00binary"),
                                  ("page.html", "text/html", b"<html><script>x</script>"),
                                  ("eicar.txt", "text/plain", eicar),
                                  ("photo.png", "image/png", b"\x00\x01\x02\x03")):
            body, ct = multipart(fields, [("attachment", name, ctype, data)])
            r = self.server.request("POST", "/api/v1/items", body=body,
                                    headers={"Content-Type": ct})
            self.assertEqual((r.status, r.json()["error"]["field"]), (400, "attachment"), name)
        # a PNG sent as text/html is stored and served as image/png
        png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
        body, ct = multipart(fields, [("attachment", "x.html", "text/html", png)])
        r = self.server.request("POST", "/api/v1/items", body=body, headers={"Content-Type": ct})
        self.assertEqual(r.status, 201, r)
        it = self.staff["disp_a"].get("/api/v1/items/" + r.json()["tracking"]).json()
        self.assertEqual(it["attachments"][0]["content_type"], "image/png")


class AttachmentCaps(Base):
    ENV = {"CIVICDESK_ATTACHMENT_MAX": "1000", "CIVICDESK_ATTACHMENT_ITEM_MAX": "1500"}

    def test_p15_size_caps(self):
        from test_intake import multipart
        fields = [("kind", "letter"), ("subject", "附件"), ("body", "见附件"),
                  ("phone", "13812345678"), ("publish", "false")]
        body, ct = multipart(fields, [("attachment", "a.txt", "text/plain", b"a" * 1001)])
        r = self.server.request("POST", "/api/v1/items", body=body, headers={"Content-Type": ct})
        self.assertEqual(r.status, 413, r)
        body, ct = multipart(fields, [("attachment", "a.txt", "text/plain", b"a" * 800),
                                      ("attachment", "b.txt", "text/plain", b"b" * 800)])
        r = self.server.request("POST", "/api/v1/items", body=body, headers={"Content-Type": ct})
        self.assertEqual(r.status, 413, r)
        body, ct = multipart(fields, [("attachment", "a.txt", "text/plain", b"a" * 800)])
        r = self.server.request("POST", "/api/v1/items", body=body, headers={"Content-Type": ct})
        self.assertEqual(r.status, 201, r)

    def test_p06_supplement_attachments_capped_with_the_items_own(self):
        from test_intake import multipart
        fields = [("kind", "letter"), ("subject", "附件"), ("body", "见附件"),
                  ("phone", "13812345678"), ("publish", "false")]
        body, ct = multipart(fields, [("attachment", "a.txt", "text/plain", b"a" * 800)])
        r = self.server.request("POST", "/api/v1/items", body=body, headers={"Content-Type": ct})
        self.assertEqual(r.status, 201, r)
        item = r.json()
        t = item["tracking"]
        self.ok("disp_a", t, "assign", section="法规处")
        self.ok("hand_fg", t, "accept")
        self.ok("hand_fg", t, "ask_citizen", reason="请补充")
        path = "/api/v1/track/%s/supplement" % t
        for size, status in ((1001, 413), (800, 413), (700, 200)):
            body, ct = multipart([("text", "补充")],
                                 [("attachment", "b.txt", "text/plain", b"b" * size)])
            r = self.server.request("POST", path, body=body,
                                    headers={"Content-Type": ct,
                                             "X-Query-Code": item["query_code"]})
            self.assertEqual(r.status, status, (size, r))
        it = self.staff["hand_fg"].get("/api/v1/items/" + t).json()
        self.assertEqual([a["size"] for a in it["attachments"]], [800, 700])

    def test_p16_citizen_withdraws_consent_and_item(self):
        self.clock("2025-09-30T10:00")
        a = self.submit()
        t = a["tracking"]
        self.to_replied(t)
        self.publish(t)
        self.assertEqual(self.server.request("GET", "/api/v1/public/items/" + t).status, 200)
        path = "/api/v1/track/%s/withdraw" % t
        r = self.server.request("POST", path, json_body={"what": "consent"},
                                headers={"X-Query-Code": "WRONGWRONG11"})
        self.assertEqual(r.status, 404, r)
        r = self.server.request("POST", path, json_body={"what": "consent"},
                                headers={"X-Query-Code": a["query_code"]})
        self.assertEqual((r.status, r.json()["publish"]), (200, False), r)
        self.assertEqual(self.server.request("GET", "/api/v1/public/items/" + t).status, 404)
        r = self.server.request("GET", "/open311/v2/requests/%s.json" % t)
        self.assertEqual(r.status, 404, r)
        # a replied item is no longer withdrawn; an open one is closed
        r = self.server.request("POST", path, json_body={"what": "item"},
                                headers={"X-Query-Code": a["query_code"]})
        self.assertEqual(r.status, 409, r)
        b = self.submit()
        r = self.server.request("POST", "/api/v1/track/%s/withdraw" % b["tracking"],
                                json_body={"what": "item"},
                                headers={"X-Query-Code": b["query_code"]})
        self.assertEqual((r.status, r.json()["state"]), (200, "closed"), r)
        self.assertIn("withdraw", [h["action"] for h in self.track(b)["history"]])

    def test_p16_six_digit_day_sequence(self):
        import sqlite3
        self.clock("2025-09-30T10:00")
        self.submit()
        with sqlite3.connect(self.server.db) as db:
            db.execute("UPDATE tracking_counters SET last = 99999 WHERE day = 20250930")
        a = self.submit()
        self.assertEqual(a["tracking"], "XJ-20250930-100000")
        self.assertEqual(self.track(a)["tracking"], a["tracking"])
        it = self.staff["disp_a"].get("/api/v1/items/" + a["tracking"])
        self.assertEqual(it.status, 200, it)


class SubmitRanges(Base):
    """#14 point 14: behind trusted_proxies, a NAT gateway's range gets a higher submission limit
    (submit_rate_ranges) while another address keeps submit_rate."""
    ENV = {"CIVICDESK_SUBMIT_RATE": "2", "CIVICDESK_TRUSTED_PROXIES": "127.0.0.1",
           "CIVICDESK_SUBMIT_RATE_RANGES": "10.8.0.0/16=6, 10.8.9.0/24=0"}

    def post(self, client):
        return self.server.request("POST", "/api/v1/items", headers={"X-Forwarded-For": client},
                                   json_body={"kind": "letter", "subject": "来信", "body": "内容",
                                              "phone": "13812345678", "publish": False})

    def test_p14_submission_limit_per_range(self):
        self.clock("2025-09-30T10:00")
        nat = [self.post("10.8.1.%d" % (i % 2 + 1)).status for i in range(8)]
        # each address of the range has its own six a minute
        self.assertEqual(nat, [201] * 8)
        nat = [self.post("10.8.1.1").status for _ in range(4)]
        self.assertEqual(nat, [201, 201, 429, 429])
        self.assertEqual([self.post("10.8.9.7").status for _ in range(10)], [201] * 10)
        other = [self.post("203.0.113.5").status for _ in range(4)]
        self.assertEqual(other, [201, 201, 429, 429])
        r = self.post("203.0.113.5")
        self.assertTrue(int(r.header("Retry-After")) >= 1, r)
        # a bad range refuses the start, naming the key
        p = subprocess.run([harness.BIN, "serve"], capture_output=True, text=True, timeout=30,
                           env=dict(os.environ, CIVICDESK_SUBMIT_RATE_RANGES="10.8.0.0/16",
                                    CIVICDESK_DB=self.server.db + ".other",
                                    CIVICDESK_LISTEN="127.0.0.1:0"))
        self.assertNotEqual(p.returncode, 0, p.stdout)
        self.assertIn("submit_rate_ranges", p.stderr)


class SupplementDays(Base):
    ENV = {"CIVICDESK_SUPPLEMENT_DAYS": "2"}

    def test_p06_queue_marks_a_late_supplement(self):
        self.clock("2025-10-09T10:00")
        t = self.submit()["tracking"]
        self.ok("disp_a", t, "assign", section="法规处")
        self.ok("hand_fg", t, "accept")
        self.ok("hand_fg", t, "ask_citizen", reason="请补充材料")

        def mark():
            q = self.staff["hand_fg"].get("/api/v1/queue?state=waiting_citizen").json()
            return [x["supplement_overdue"] for x in q["items"] if x["tracking"] == t]
        self.clock("2025-10-11T20:00")  # 10 Oct, 11 Oct (make-up day): the two days given
        self.assertEqual(mark(), [False])
        self.clock("2025-10-13T09:00")
        self.assertEqual(mark(), [True])
        it = self.ok("hand_fg", t, "reject", reason="逾期未补正")
        self.assertEqual(it["state"], "rejected")


if __name__ == "__main__":
    harness.main()
