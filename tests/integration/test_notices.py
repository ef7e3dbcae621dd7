"""Every notice to a citizen, and the supervision notices to staff (#15 with #18), from the real
daemon to a real SMTP server (aiosmtpd) and an HTTP SMS gateway on 127.0.0.1
(tests/integration/peers.py): what arrives, decoded, with the tracking number and the due date.

November 2025 has no holidays: an item received Monday 3 November 09:00 has its reply due
Monday 10 November 23:59. The clock is moved by the test; each step waits for the mail it
causes before the next one, so that nothing is combined by chance.
"""
import os
import shutil
import sqlite3
import subprocess
import socket
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import peers  # noqa: E402
from test_notify import PASSWORD, act, at_moment, set_clock, start_server  # noqa: E402

harness.BIN = os.path.abspath(harness.BIN)

PUBLIC = "https://xf.example.gov.cn"
MOBILE = "13912345678"


class Notices(peers.PeerClass, unittest.TestCase):
    PREFIX = "civicdesk-notices-"

    @classmethod
    def start_daemon(cls):
        server = start_server(cls.tmp, cls.smtp.port, cls.sms.port, "2025-11-03T09:00", {
            "CIVICDESK_SMS_QUIET": "off", "CIVICDESK_SMS_CITIZENS": "1",
            "CIVICDESK_PUBLIC_URL": PUBLIC + "/", "CIVICDESK_RATING_DAYS": "10"}, accounts=True)
        return server

    # --- helpers ------------------------------------------------------------------------------

    def act(self, who, tracking, action, **fields):
        return act(self, who, tracking, action, **fields)

    def submit(self, email, phone=MOBILE, subject="路灯不亮"):
        r = self.server.request("POST", "/api/v1/items", json_body={
            "kind": "complaint", "subject": subject, "body": "小区门口路灯坏了一周。",
            "name": "张三", "phone": phone, "email": email, "publish": False})
        self.assertEqual(r.status, 201, r)
        return r.json()

    def mail(self, to, *words):
        """The one message to `to` whose subject and body hold every word (waits for it)."""
        def find():
            got = [m for m in self.smtp.records() if to in m.get("rcpt", []) and
                   all(w in (m["subject"] + "\n" + (m["body"] or "")) for w in words)]
            return got
        got = peers.wait_for(find, 30, "mail to %s with %r" % (to, words))
        self.assertEqual(len(got), 1, [(m["subject"], m["body"][:200]) for m in got])
        return got[0]

    def texts(self, phone):
        return [s["text"] for s in self.sms.records() if s.get("phone") == phone]

    def text(self, phone, *words):
        got = peers.wait_for(lambda: [t for t in self.texts(phone) if all(w in t for w in words)],
                             30, "SMS to %s with %r" % (phone, words))
        self.assertEqual(len(got), 1, got)
        return got[0]

    def due(self, item_json, clock="reply"):
        """"2025-11-10T23:59:59+08:00" -> "2025-11-10 23:59" as the notices write it."""
        d = item_json["clocks"][clock]["due"]
        return d[:10] + " " + d[11:16]

    def check_citizen(self, m, tracking, due):
        self.assertIn(tracking, m["subject"])
        self.assertIn(tracking, m["body"])
        self.assertIn("答复期限：" + due, m["body"])
        self.assertEqual(m["auto_submitted"], "auto-generated")

    # --- the citizen's notices ----------------------------------------------------------------

    def test_a_lifecycle(self):
        """Acknowledgement, information asked, extension approved, interim explanation, reply
        sent (with the rating link), and after an unsatisfied rating: the follow-up to the
        section head and the reopened notice to the citizen."""
        set_clock(self.server, "2025-11-03T09:00")
        to = "lamp@citizen.example"
        item = self.submit(to, phone="+8613912345678")
        t, code = item["tracking"], item["query_code"]
        m = self.mail(to, "我们已收到您的来信", t)
        self.check_citizen(m, t, "2025-11-10 23:59")
        self.assertIn("“路灯不亮”", m["body"])
        self.assertIn("投诉举报", m["body"])
        s = self.text(MOBILE, t, "我们已收到")
        self.assertIn("2025-11-10 23:59", s)

        self.act("disp_n", t, "assign", section="法规处", assignee="hand_n")
        self.act("hand_n", t, "accept")
        it = self.act("hand_n", t, "ask_citizen", note="请补充路灯所在的具体位置")
        m = self.mail(to, "请补充材料", t)
        self.assertIn("请补充路灯所在的具体位置", m["body"])
        self.assertIn("答复期限：暂停\n", m["body"])
        self.text(MOBILE, t, "请补充材料")

        set_clock(self.server, "2025-11-04T10:00")
        self.act("hand_n", t, "citizen_answer", note="在3号门")
        self.act("hand_n", t, "request_extension", reason="需要更换线路")
        it = self.act("sup_n", t, "approve_extension", note="同意")
        m = self.mail(to, "答复期限已延长", t)
        self.check_citizen(m, t, self.due(it))
        self.assertNotEqual(self.due(it), "2025-11-10 23:59")
        it = self.act("hand_n", t, "send_explanation", text="线路老化，需要更换，将尽快修复。")
        m = self.mail(to, "办理情况说明", t)
        self.check_citizen(m, t, self.due(it))
        self.assertIn("线路老化，需要更换，将尽快修复。", m["body"])

        set_clock(self.server, "2025-11-05T10:00")
        self.act("hand_n", t, "draft", text="路灯已于11月5日修复。")
        self.act("hand_n", t, "submit_review")
        self.act("head_n", t, "approve")
        it = self.act("hand_n", t, "send_reply")
        m = self.mail(to, "您的来信已答复", t)
        self.check_citizen(m, t, self.due(it))
        self.assertIn("路灯已于11月5日修复。", m["body"])
        self.assertIn(PUBLIC + "/track?tracking=" + t, m["body"])
        self.text(MOBILE, t, "已答复")

        # an unsatisfied rating: the head is asked to follow it up, with the comment
        r = self.server.request("POST", "/api/v1/track/%s/rating" % t,
                                json_body={"value": "unsatisfied", "comment": "灯又坏了"},
                                headers={"X-Query-Code": code})
        self.assertEqual(r.status, 201, r)
        m = self.mail("head@example.com", "回访", t)
        self.assertIn("灯又坏了", m["body"])
        # 重办: the citizen hears of it, with the new reply due date
        head = self.server.login("head_n", PASSWORD)
        r = head.request("POST", "/api/v1/items/%s/followup" % t,
                         json_body={"decision": "reopen", "note": "重新检修"})
        self.assertEqual(r.status, 200, r)
        m = self.mail(to, "您的来信已重新办理", t)
        self.check_citizen(m, t, self.due(r.json()))
        self.assertNotEqual(self.due(r.json()), self.due(it))
        self.text(MOBILE, t, "重新办理")

        # the query code: never by SMS, never in a mail
        self.assertFalse([x for x in self.texts(MOBILE) if code in x])
        self.assertFalse([x for x in self.smtp.records() if code in (x.get("body") or "")])

    def test_b_rejected_and_merged(self):
        """Rejected with the reason; merged, and the merged item's citizen gets the target's
        reply when it is sent. A landline gets no SMS."""
        set_clock(self.server, "2025-11-03T11:00")
        rej = self.submit("rej@citizen.example", phone="010-12345678", subject="咨询社保")
        self.mail("rej@citizen.example", "我们已收到", rej["tracking"])
        it = self.act("disp_n", rej["tracking"], "reject", reason="不属于本局职责，请向社保局反映")
        m = self.mail("rej@citizen.example", "不予受理", rej["tracking"])
        self.check_citizen(m, rej["tracking"], "2025-11-10 23:59")
        self.assertIn("不属于本局职责，请向社保局反映", m["body"])
        self.assertFalse([s for s in self.sms.records() if s.get("phone", "").endswith("12345678")
                          and s["phone"] != MOBILE])

        target = self.submit("target@citizen.example", phone="", subject="噪音扰民")
        dup = self.submit("dup@citizen.example", phone="", subject="噪音扰民（重复）")
        self.mail("dup@citizen.example", "我们已收到", dup["tracking"])
        self.act("disp_n", dup["tracking"], "merge", target=target["tracking"])
        m = self.mail("dup@citizen.example", "合并办理", dup["tracking"])
        self.check_citizen(m, dup["tracking"], "2025-11-10 23:59")

        t = target["tracking"]
        self.act("disp_n", t, "assign", section="法规处", assignee="hand_n")
        self.act("hand_n", t, "accept")
        self.act("hand_n", t, "draft", text="已责令工地夜间停工。")
        self.act("hand_n", t, "submit_review")
        self.act("head_n", t, "approve")
        it = self.act("hand_n", t, "send_reply")
        m = self.mail("target@citizen.example", "您的来信已答复", t)
        self.check_citizen(m, t, self.due(it))
        m = self.mail("dup@citizen.example", "与您的来信合并办理的事项已答复", dup["tracking"])
        self.assertIn(t, m["body"])
        self.assertIn("已责令工地夜间停工。", m["body"])
        self.assertIn("答复期限：2025-11-10 23:59", m["body"])
        # once: not also as a reply of its own (core's send_reply on the merged item and the
        # target's reply both said it, queued together and sent as one combined mail)
        self.assertNotIn("您的来信已答复", m["body"])
        self.assertFalse(m["subject"].startswith("【"), m["subject"])
        self.assertEqual(len([x for x in self.smtp.records()
                              if "dup@citizen.example" in x.get("rcpt", []) and
                              "已责令工地夜间停工。" in (x["body"] or "")]), 1)

    # --- supervision (#18) --------------------------------------------------------------------

    def test_d_sent_back(self):
        """A section sends an item back (send_back): every dispatcher gets a notice naming the
        tracking number and the section's reason, once, by e-mail; nothing to the citizen."""
        set_clock(self.server, "2025-11-12T10:00")
        to = "back@citizen.example"
        t = self.submit(to, phone="", subject="噪声扰民")["tracking"]
        self.mail(to, "我们已收到您的来信", t)
        self.act("disp_n", t, "assign", section="法规处", assignee="hand_n")
        self.act("hand_n", t, "accept")
        it = self.act("hand_n", t, "send_back", reason="不属本处职责，应由稽查处办理")
        self.assertEqual(it["state"], "received")
        m = self.mail("disp@example.com", "退回", t, "不属本处职责，应由稽查处办理")
        self.assertIn("请重新分办", m["body"])
        self.assertIn("sent back", m["subject"])
        self.assertEqual(m["auto_submitted"], "auto-generated")
        with sqlite3.connect(self.server.db, timeout=30) as d:
            rows = d.execute("SELECT o.recipient, o.channel FROM outbox o JOIN items i ON "
                             "i.id = o.item_id WHERE i.tracking = ? AND o.step LIKE "
                             "'sent-back/%'", (t,)).fetchall()
        self.assertEqual(rows, [("disp@example.com", "email")])
        self.assertEqual([x for x in self.smtp.records() if to in x.get("rcpt", []) and
                          "退回" in x["subject"]], [])

    def test_e_sms_in_the_citizens_language(self):
        """A citizen who wrote in English gets the SMS in English, and the e-mail too (the
        language guessed, schema 031); one who wrote Chinese, even among English words, in
        Chinese."""
        set_clock(self.server, "2025-11-13T10:00")
        en_phone, zh_phone = "13912340001", "13912340002"
        r = self.server.request("POST", "/api/v1/items", json_body={
            "kind": "consultation", "subject": "Street light out",
            "body": "The street light at gate 3 has been out for a week.", "name": "John Doe",
            "phone": en_phone, "email": "en@citizen.example", "publish": False})
        self.assertEqual(r.status, 201, r)
        t = r.json()["tracking"]
        s = self.text(en_phone, "We have received your message", t)
        self.assertEqual(s, "[civicdesk] We have received your message. Tracking number %s, "
                            "reply due %s." % (t, self.due(r.json())))
        self.act("disp_n", t, "assign", section="法规处", assignee="hand_n")
        self.act("hand_n", t, "accept")
        self.act("hand_n", t, "ask_citizen", note="Which street, please?")
        s = self.text(en_phone, "Please send us more information", t)
        self.assertIn("query code", s)
        self.assertNotIn("受理编号", s)
        m = self.mail("en@citizen.example", "Please send us more information", t)
        self.assertEqual(m["subject"], "Please send us more information: " + t)
        self.assertNotIn("请补充材料", m["body"])
        r = self.server.request("POST", "/api/v1/items", json_body={
            "kind": "consultation", "subject": "WiFi 信号", "body": "Library WiFi is down.",
            "name": "李四", "phone": zh_phone, "publish": False})
        self.assertEqual(r.status, 201, r)
        s = self.text(zh_phone, "我们已收到您的来信", r.json()["tracking"])
        self.assertNotIn("Tracking number", s)

    def test_f_letter_by_mail_gets_its_query_code(self):
        """A citizen who wrote by e-mail has no page that shows the query code: the e-mail
        acknowledgement, sent to the address the letter came from, carries it (issue 4: "query
        code (for web submissions only on the page, never by SMS)"), in the letter's language,
        and it opens the item on the tracking API. A web submission's acknowledgement still
        does not carry it (test_a_lifecycle)."""
        from test_mailin import ingest, letter
        import re
        set_clock(self.server, "2025-11-14T10:00")
        for sender, subject, body, label in (
                ("mailer@citizen.example", "楼道灯坏了", "三号楼的楼道灯坏了两周，请修理。", "查询码："),
                ("writer@citizen.example", "Broken bench",
                 "The bench in the park by the river has been broken for a month.",
                 "Query code: ")):
            r = ingest(self.server, letter(subject, body, sender=sender))
            self.assertEqual(r.returncode, 0, r.stderr)
            t = r.stdout.decode().strip()
            self.assertRegex(t, r"^XJ-\d{8}-\d{5}$")
            m = self.mail(sender, t, label)
            code = re.search(re.escape(label) + r"(\S+)", m["body"]).group(1)
            got = self.server.request("GET", "/api/v1/track/" + t,
                                      headers={"X-Query-Code": code})
            self.assertEqual(got.status, 200, got)
            self.assertEqual(got.json()["tracking"], t)
            wrong = self.server.request("GET", "/api/v1/track/" + t,
                                        headers={"X-Query-Code": "AAAAAAAAAAAA"})
            self.assertEqual(wrong.status, 404, wrong)

    def test_c_supervision_order(self):
        """An order goes to the section head at once (mail and SMS) and again on its due date,
        once; an order on an item that is answered by then is not reminded; a section without
        a head is listed to the administrators."""
        set_clock(self.server, "2025-11-04T09:00")
        a = self.submit("a@citizen.example", phone="", subject="井盖缺失")
        b = self.submit("b@citizen.example", phone="", subject="树木倒伏")
        c = self.submit("c@citizen.example", phone="", subject="占道经营")
        self.act("disp_n", a["tracking"], "assign", section="法规处", assignee="hand_n")
        self.act("disp_n", b["tracking"], "assign", section="法规处", assignee="hand_n")
        self.act("disp_n", c["tracking"], "assign", section="稽查处")
        sup = self.server.login("sup_n", PASSWORD)
        for item, due in ((a, "2025-11-07"), (b, "2025-11-07"), (c, "2025-11-06")):
            r = sup.request("POST", "/api/v1/items/%s/supervision" % item["tracking"],
                            json_body={"note": "请尽快处理，周五前办结", "due": due})
            self.assertEqual(r.status, 201, r)
        m = self.mail("head@example.com", "督办", a["tracking"], "请尽快处理，周五前办结")
        self.assertIn("2025-11-07 23:59", m["body"])
        self.text("13800000011", "督办", a["tracking"])
        self.mail("head@example.com", "督办", b["tracking"])
        # b is answered before its order's due date
        self.act("hand_n", b["tracking"], "accept")
        self.act("hand_n", b["tracking"], "draft", text="已处理。")
        self.act("hand_n", b["tracking"], "submit_review")
        self.act("head_n", b["tracking"], "approve")
        self.act("hand_n", b["tracking"], "send_reply")
        # 稽查处 has no head: listed, never skipped silently
        admin = self.server.login("admin_n", PASSWORD)
        r = admin.request("GET", "/api/v1/admin/outbox")
        self.assertEqual(r.status, 200, r)
        self.assertIn(("section_head", None, "稽查处", c["tracking"], "supervised"),
                      {(x["role"], x["account"], x["section"], x["tracking"], x["step"])
                       for x in r.json()["missing"]})

        def reminders(tracking):
            return [x for x in self.smtp.records() if "督办到期" in x["subject"] and
                    tracking in x["body"]]
        at_moment(self.server, "2025-11-06T18:00")
        self.assertEqual(reminders(a["tracking"]), [])
        at_moment(self.server, "2025-11-07T09:30")
        m = self.mail("head@example.com", "督办到期", a["tracking"])
        self.assertIn("2025-11-07 23:59", m["body"])
        self.text("13800000011", "督办到期", a["tracking"])
        at_moment(self.server, "2025-11-07T15:00")
        self.assertEqual(len(reminders(a["tracking"])), 1)
        self.assertEqual(reminders(b["tracking"]), [])


class CombinedBounce(peers.PeerTest, unittest.TestCase):
    """Two acknowledgements to one address, queued while no mail server was configured, go out
    as one message once there is one (one Message-ID for both rows), whose subject names both
    tracking numbers; a bounce of that message marks both rows failed."""
    PREFIX = "civicdesk-combined-"

    def test_bounce_of_a_combined_message(self):
        from test_mailin import dsn_bounce, ingest
        smtp = self.peer("smtp")
        env = {"CIVICDESK_SMTP_FROM": "civicdesk@bureau.example", "CIVICDESK_NOTIFY_POLL_MS": "50",
               "CIVICDESK_SUBMIT_RATE": "0", "CIVICDESK_DIGEST": "off"}
        server = self.server = harness.Server(env=env, dbdir=self.dbdir).start()
        tracking = []
        for subject in ("路灯不亮", "井盖缺失"):
            r = server.request("POST", "/api/v1/items", json_body={
                "kind": "letter", "subject": subject, "body": "正文",
                "email": "same@citizen.example", "publish": False})
            self.assertEqual(r.status, 201, r)
            tracking.append(r.json()["tracking"])
        server.stop()
        server.env["CIVICDESK_SMTP_URL"] = "smtp://127.0.0.1:%d" % smtp.port
        server.start()

        def rows():
            with sqlite3.connect(server.db, timeout=30) as d:
                return d.execute("SELECT id, state, message_id, attempts FROM outbox "
                                 "ORDER BY id").fetchall()
        peers.wait_for(lambda: all(x[1] == "sent" for x in rows()), 30, "both rows sent")
        recs = smtp.records()
        self.assertEqual(len(recs), 1)
        self.assertIn("2 条通知", recs[0]["subject"])
        for t in tracking:
            self.assertIn(t, recs[0]["body"])
        # the subject names both items, each once, the second after the lead's own subject
        self.assertTrue(recs[0]["subject"].endswith("（另有 %s）" % tracking[1]), recs[0]["subject"])
        self.assertEqual([recs[0]["subject"].count(t) for t in tracking], [1, 1])
        self.assertEqual([x[2] for x in rows()], [recs[0]["message_id"].strip("<>")] * 2)
        r = ingest(server, dsn_bounce(recs[0]["message_id"]))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual([x[1] for x in rows()], ["failed", "failed"])


class AcknowledgedTogetherPolled(peers.PeerTest, unittest.TestCase):
    """The same rule for letters polled from a real Dovecot, where several letters of one
    address are stored in one transaction of the group commit: the first is acknowledged at
    once, the others together at the moment the interval allows, each code working."""
    PREFIX = "civicdesk-ackpolled-"

    def test_polled_in_one_batch(self):
        import re
        import dovecot
        from test_mailin import letter
        smtp, sms = self.peer("smtp"), self.peer("sms")
        dc = dovecot.Dovecot().start()
        self.addCleanup(dc.cleanup)
        self.server = start_server(self.tmp, smtp.port, sms.port, "2025-11-14T10:00", {
            "CIVICDESK_IMAP_URL": dc.url, "CIVICDESK_IMAP_INTERVAL": "1"})
        who = "polled@citizen.example"
        dc.append([letter("井盖缺失", "人民路口的井盖不见了。", sender=who, msgid="p1@citizen.example"),
                   letter("Noise at night", "The building site works until 2 a.m.", sender=who,
                          msgid="p2@citizen.example"),
                   letter("垃圾清运", "小区垃圾三天没有清运。", sender=who, msgid="p3@citizen.example")])

        def items():
            with sqlite3.connect(self.server.db, timeout=30) as d:
                return d.execute("SELECT i.tracking FROM mail_in m JOIN items i ON "
                                 "i.id = m.item_id ORDER BY m.id").fetchall()
        ts = [t for (t,) in peers.wait_for(lambda: len(items()) == 3 and items(), 60,
                                           "the three letters polled")]

        def mails():
            return [m for m in smtp.records() if who in m.get("rcpt", [])]
        first = peers.wait_for(mails, 30, "the first acknowledgement")
        at_moment(self.server, "2025-11-15T09:59")
        self.assertEqual(len(mails()), 1, [m["subject"] for m in mails()])
        self.assertIn(ts[0], first[0]["body"])
        at_moment(self.server, "2025-11-15T10:00")
        got = mails()
        self.assertEqual(len(got), 2, [m["subject"] for m in got])
        codes = {ts[0]: re.search(r"查询码：(\S+)", got[0]["body"]).group(1)}
        for part in got[1]["body"].split("\n==== ")[1:]:
            t = re.search(r"XJ-\d{8}-\d{5}", part).group(0)
            codes[t] = re.search(r"(?:查询码：|Query code: )(\S+)", part).group(1)
        self.assertEqual(sorted(codes), sorted(ts))
        for t in ts:
            r = self.server.request("GET", "/api/v1/track/" + t,
                                    headers={"X-Query-Code": codes[t]})
            self.assertEqual(r.status, 200, r)
            r = self.server.request("GET", "/api/v1/track/" + t,
                                    headers={"X-Query-Code": "AAAAAAAAAAAA"})
            self.assertEqual(r.status, 404, r)


def make_certs(d):
    """A test CA and a certificate for localhost signed by it, made with Debian's openssl;
    and a self-signed one for localhost that no CA vouches for. Returns the file names."""
    def run(*a):
        subprocess.run(["openssl", *a], cwd=d, check=True, capture_output=True)
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
        "-days", "2", "-subj", "/CN=civicdesk test CA")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "srv.key", "-out", "srv.csr",
        "-subj", "/CN=localhost")
    with open(os.path.join(d, "san.ext"), "w") as f:
        f.write("subjectAltName=DNS:localhost\n")
    run("x509", "-req", "-in", "srv.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "srv.pem", "-days", "2", "-extfile", "san.ext")
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "self.key", "-out",
        "self.pem", "-days", "2", "-subj", "/CN=localhost")
    return {k: os.path.join(d, k) for k in ("ca.pem", "srv.pem", "srv.key", "self.pem",
                                             "self.key")}


class StartTLS(peers.PeerTest, unittest.TestCase):
    """smtp_starttls = required with SMTP AUTH against a server that offers STARTTLS and takes
    AUTH only over TLS: delivered over TLS when its certificate is trusted (libesmtp reads the
    trusted CAs from ~/.config/libesmtp/ca.pem of the user civicdesk runs as, or
    $XDG_CONFIG_DIR/libesmtp/ca.pem), refused otherwise.

    test_session_tickets runs against a server that sends TLS 1.3 session tickets (the others
    do not, --tls-no-tickets)."""

    PREFIX = "civicdesk-tls-"

    def setUp(self):
        super().setUp()
        self.certs = make_certs(self.tmp)
        self.home = os.path.join(self.tmp, "home")
        os.makedirs(os.path.join(self.home, ".config", "libesmtp"), mode=0o700)
        ca = os.path.join(self.home, ".config", "libesmtp", "ca.pem")
        shutil.copy(self.certs["ca.pem"], ca)
        os.chmod(ca, 0o600)
        self.smtp = None

    def run_with(self, cert, key, tickets=False):
        extra = [] if tickets else ["--tls-no-tickets"]
        self.smtp = self.peer("smtp", "--tls", "%s:%s" % (cert, key),
                              "--auth", "civic:Tls-s3cret", *extra)
        self.server = harness.Server(env={
            "HOME": self.home, "CIVICDESK_SMTP_URL": "smtp://localhost:%d" % self.smtp.port,
            "CIVICDESK_SMTP_STARTTLS": "required", "CIVICDESK_SMTP_USER": "civic",
            "CIVICDESK_SMTP_PASSWORD": "Tls-s3cret", "CIVICDESK_SMTP_FROM": "cd@bureau.example",
            "CIVICDESK_NOTIFY_POLL_MS": "50", "CIVICDESK_SUBMIT_RATE": "0",
            "CIVICDESK_NOTIFY_BACKOFF_MIN": "1", "CIVICDESK_NOTIFY_BACKOFF_MAX": "2",
            "CIVICDESK_SMTP_TIMEOUT": "3", "CIVICDESK_DIGEST": "off"}).start()
        r = self.server.request("POST", "/api/v1/items", json_body={
            "kind": "letter", "subject": "加密投递", "body": "正文", "name": "王五",
            "email": "tls@citizen.example", "publish": False})
        self.assertEqual(r.status, 201, r)
        return r.json()["tracking"]

    def test_trusted_certificate(self):
        t = self.run_with(self.certs["srv.pem"], self.certs["srv.key"])
        recs = peers.wait_for(lambda: [m for m in self.smtp.records() if "rcpt" in m], 30,
                              "the acknowledgement over TLS")
        peers.wait_for(lambda: self.outbox()[0][0] == "sent", 30, "the row marked sent")
        self.assertEqual(self.outbox()[0][:2], ("sent", 1))  # at the first attempt
        self.assertEqual(len(recs), 1)
        self.assertTrue(recs[0]["tls"])
        self.assertIn(t, recs[0]["subject"])
        self.assertTrue([a for a in self.smtp.records() if a.get("auth") and a["ok"]])

    def outbox(self):
        with sqlite3.connect(os.path.join(self.server.dir, "civicdesk.db"), timeout=30) as d:
            return d.execute("SELECT state, attempts, last_error FROM outbox").fetchall()

    def first_error(self):
        """(state, last_error) of the first notice once an attempt has failed, else None."""
        with sqlite3.connect(os.path.join(self.server.dir, "civicdesk.db"), timeout=30) as d:
            row = d.execute("SELECT state, last_error FROM outbox ORDER BY id").fetchone()
        return row if row is not None and row[1] else None

    def test_session_tickets(self):
        """A server that sends TLS 1.3 session tickets after the handshake (Python's ssl sends
        two, Postfix one): SESSIONS sessions in a row, one notice each, every one delivered at
        its first attempt, none holding the dispatcher for smtp_timeout (3 s)."""
        sessions = 12
        self.run_with(self.certs["srv.pem"], self.certs["srv.key"], tickets=True)
        db = os.path.join(self.server.dir, "civicdesk.db")

        def rows():
            with sqlite3.connect(db, timeout=30) as d:
                return d.execute("SELECT state, attempts, coalesce(last_error, ''), "
                                 "sent_at - created FROM outbox ORDER BY id").fetchall()
        for i in range(sessions):
            if i > 0:
                r = self.server.request("POST", "/api/v1/items", json_body={
                    "kind": "letter", "subject": "加密投递 %d" % i, "body": "正文",
                    "name": "王五", "email": "tls@citizen.example", "publish": False})
                self.assertEqual(r.status, 201, r)
            peers.wait_for(lambda: len(rows()) == i + 1 and rows()[i][0] == "sent", 30,
                           "notice %d sent" % i)
        got = rows()
        self.assertEqual([(s, a, e) for s, a, e, _ in got], [("sent", 1, "")] * sessions)
        self.assertTrue(all(d < 3 for _, _, _, d in got), got)
        recs = [m for m in self.smtp.records() if "rcpt" in m]
        self.assertEqual(len(recs), sessions)
        self.assertTrue(all(m["tls"] for m in recs))

    def test_untrusted_certificate(self):
        self.run_with(self.certs["self.pem"], self.certs["self.key"])
        state, err = peers.wait_for(self.first_error, 30, "the refused attempt")
        self.assertEqual(state, "pending")
        self.assertIn("certificate is not trusted", err)
        self.assertEqual([m for m in self.smtp.records() if "rcpt" in m], [])
        self.assertEqual([a for a in self.smtp.records() if a.get("auth")], [])


class Smtps(StartTLS):
    """smtps:// (implicit TLS, as on port 465) with SMTP AUTH: libesmtp speaks only STARTTLS,
    so civicdesk opens the TLS connection itself (the same trusted CAs, the server's name
    checked, TLS 1.3 and its session tickets allowed) and relays libesmtp's session through it:
    delivered once over TLS when the certificate is trusted, held and retried with the reason
    when it is not, and never sent in the clear."""

    def run_with(self, cert, key, tickets=True):
        self.smtp = self.peer("smtp", "--smtps", "%s:%s" % (cert, key),
                              "--auth", "civic:Tls-s3cret")
        self.server = harness.Server(env={
            "HOME": self.home, "CIVICDESK_SMTP_URL": "smtps://localhost:%d" % self.smtp.port,
            "CIVICDESK_SMTP_USER": "civic", "CIVICDESK_SMTP_PASSWORD": "Tls-s3cret",
            "CIVICDESK_SMTP_FROM": "cd@bureau.example", "CIVICDESK_NOTIFY_POLL_MS": "50",
            "CIVICDESK_SUBMIT_RATE": "0", "CIVICDESK_NOTIFY_BACKOFF_MIN": "1",
            "CIVICDESK_NOTIFY_BACKOFF_MAX": "2", "CIVICDESK_SMTP_TIMEOUT": "3",
            "CIVICDESK_DIGEST": "off"}).start()
        r = self.server.request("POST", "/api/v1/items", json_body={
            "kind": "letter", "subject": "加密投递", "body": "正文", "name": "王五",
            "email": "tls@citizen.example", "publish": False})
        self.assertEqual(r.status, 201, r)
        return r.json()["tracking"]

    def test_untrusted_certificate(self):
        self.run_with(self.certs["self.pem"], self.certs["self.key"])
        state, err = peers.wait_for(self.first_error, 30, "the refused attempt")
        self.assertEqual(state, "pending")
        self.assertIn("certificate is refused", err)
        self.assertEqual([m for m in self.smtp.records() if "rcpt" in m], [])
        self.assertEqual([a for a in self.smtp.records() if a.get("auth")], [])

    def test_server_down(self):
        """Nothing listening: the notice waits with the reason; the daemon serves on."""
        port = peers.free_port()
        self.server = harness.Server(env={
            "HOME": self.home, "CIVICDESK_SMTP_URL": "smtps://localhost:%d" % port,
            "CIVICDESK_NOTIFY_POLL_MS": "50", "CIVICDESK_SUBMIT_RATE": "0",
            "CIVICDESK_SMTP_TIMEOUT": "3", "CIVICDESK_DIGEST": "off"}).start()
        r = self.server.request("POST", "/api/v1/items", json_body={
            "kind": "letter", "subject": "稍后投递", "body": "正文", "name": "王五",
            "email": "tls@citizen.example", "publish": False})
        self.assertEqual(r.status, 201, r)
        state, err = peers.wait_for(self.first_error, 30, "the failed attempt")
        self.assertEqual(state, "pending")
        self.assertIn("smtps://localhost:%d" % port, err)
        self.assertEqual(self.server.request("GET", "/api/v1/health").status, 200)


class Tarpit(unittest.TestCase):
    """An SMTP server that trickles its greeting, a byte every tenth of a second, for two
    minutes: each of libesmtp's waits (smtp_timeout, 1 s here) sees data in time, so the bound
    of the whole session (twice smtp_timeout and a second per message: 3 s) ends the attempt,
    well before the server would. Under heavy load libesmtp may end it first (a wait that saw no
    byte for 1 s): either way the attempt ends within the bound and the dispatcher is free for
    the next notice, which it tries at once."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="civicdesk-tarpit-")
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.stop = threading.Event()
        self.accepted = []  # when each session began
        self.cut = []       # when the client was seen to have cut one
        threading.Thread(target=self.serve, daemon=True).start()
        self.server = None

    def serve(self):
        self.sock.settimeout(0.2)
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.accepted.append(time.time())
            threading.Thread(target=self.trickle, args=(conn,), daemon=True).start()

    def trickle(self, conn):
        line = b"220-slow.example greets you slowly\r\n"
        try:
            for i in range(1200):  # 120 s at most
                if self.stop.is_set():
                    break
                conn.sendall(line[i % len(line):i % len(line) + 1])
                time.sleep(0.1)
        except OSError:
            self.cut.append(time.time())  # cut by the client (seen at the next byte or two)
        finally:
            conn.close()

    def tearDown(self):
        self.stop.set()
        try:
            if self.server is not None:
                self.server.cleanup()
        finally:
            self.sock.close()
            shutil.rmtree(self.tmp, ignore_errors=True)

    def submit(self, subject):
        r = self.server.request("POST", "/api/v1/items", json_body={
            "kind": "letter", "subject": subject, "body": "正文", "name": "赵六",
            "email": "slow@citizen.example", "publish": False})
        self.assertEqual(r.status, 201, r)
        return r.json()["tracking"]

    def attempt(self, tracking):
        """(state, attempts, last_error) of the notice of tracking once an attempt ended."""
        def ended():
            with sqlite3.connect(self.server.db, timeout=30) as d:
                row = d.execute("SELECT o.state, o.attempts, o.last_error FROM outbox o "
                                "JOIN items i ON i.id = o.item_id WHERE i.tracking = ?",
                                (tracking,)).fetchone()
            return row if row is not None and row[2] else None
        return peers.wait_for(ended, 60, "the attempt for %s to end" % tracking)

    def test_session_bounded(self):
        self.server = harness.Server(env={
            "CIVICDESK_SMTP_URL": "smtp://127.0.0.1:%d" % self.sock.getsockname()[1],
            "CIVICDESK_SMTP_FROM": "cd@bureau.example", "CIVICDESK_SMTP_TIMEOUT": "1",
            "CIVICDESK_NOTIFY_POLL_MS": "50", "CIVICDESK_SUBMIT_RATE": "0",
            "CIVICDESK_NOTIFY_BACKOFF_MIN": "600", "CIVICDESK_NOTIFY_BACKOFF_MAX": "600",
            "CIVICDESK_DIGEST": "off"}).start()
        for n, subject in enumerate(("慢服务器", "又一封")):
            t = self.submit(subject)
            state, attempts, err = self.attempt(t)
            self.assertEqual((state, attempts), ("pending", 1), err)
            self.assertEqual(len(self.accepted), n + 1)
            cut = peers.wait_for(lambda: self.cut[n] if len(self.cut) > n else None, 60,
                                 "the session's end seen by the server")
            # the session, from its connection to its cut (neither the submission nor the
            # dispatcher's start, which a loaded machine slows): the bound (3 s) and room for
            # a loaded machine's delays; the server would go on for 120 s
            print("# session %d: cut %.1f s after its connection" % (n + 1, cut - self.accepted[n]))
            self.assertLess(cut - self.accepted[n], 30, err)
            self.assertTrue("cut after 3 s" in err or "SMTP" in err, err)
        # the service still answers
        self.assertEqual(self.server.request("GET", "/api/v1/health").status, 200)


class AcknowledgedTogether(peers.PeerTest, unittest.TestCase):
    """mail_ack_interval (24 hours by default) bounds the acknowledgements one address gets, yet
    every letter's writer learns its tracking number and query code: the letters that follow the
    first within the interval are acknowledged together, in one e-mail, at the moment the
    interval allows the next acknowledgement, each part in its letter's language. Automatic mail
    from the address (Auto-Submitted, a null sender) still makes no item and no e-mail."""
    PREFIX = "civicdesk-acktogether-"

    def setUp(self):
        super().setUp()
        self.smtp = self.peer("smtp")
        self.sms = self.peer("sms")
        self.server = start_server(self.tmp, self.smtp.port, self.sms.port, "2025-11-14T10:00")

    def mails(self, to):
        return [m for m in self.smtp.records() if to in m.get("rcpt", [])]

    def send(self, sender, subject, body, when, **headers):
        """Ingests a letter at local time when; its tracking number, or ingest-mail's line."""
        from test_mailin import ingest, letter
        at_moment(self.server, when)
        r = ingest(self.server, letter(subject, body, sender=sender, **headers))
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout.decode().strip()

    def follows(self, tracking, code, other):
        """code opens tracking on the tracking API, and neither a wrong code nor other's does."""
        got = self.server.request("GET", "/api/v1/track/" + tracking,
                                  headers={"X-Query-Code": code})
        self.assertEqual(got.status, 200, got)
        self.assertEqual(got.json()["tracking"], tracking)
        for wrong in ("AAAAAAAAAAAA", other):
            r = self.server.request("GET", "/api/v1/track/" + tracking,
                                    headers={"X-Query-Code": wrong})
            self.assertEqual(r.status, 404, r)

    def part(self, body, tracking):
        """The part of a combined acknowledgement about tracking."""
        parts = [p for p in body.split("\n==== ")[1:] if tracking in p]
        self.assertEqual(len(parts), 1, body)
        return parts[0]

    def test_three_letters_in_a_day(self):
        import re
        who = "again@citizen.example"
        a = self.send(who, "楼道灯坏了", "三号楼的楼道灯坏了两周，请修理。", "2025-11-14T10:00")
        first = peers.wait_for(lambda: self.mails(who), 30, "the first acknowledgement")
        code_a = re.search(r"查询码：(\S+)", first[0]["body"]).group(1)
        b = self.send(who, "Broken bench", "The bench by the river has been broken for a month.",
                      "2025-11-14T11:00")
        c = self.send(who, "路燈壞了", "三號樓門口的路燈壞了兩週，請儘快派人修理。",
                      "2025-11-14T12:00")
        for t in (a, b, c):
            self.assertRegex(t, r"^XJ-\d{8}-\d{5}$")
        # automatic mail from the address: no item, no e-mail
        self.assertTrue(self.send(who, "自动回复：来信", "我正在休假。", "2025-11-14T13:00",
                                  Auto_Submitted="auto-replied").startswith("ignored: "))
        self.assertTrue(self.send(who, "来信", "退信通知。", "2025-11-14T13:30",
                                  Return_Path="<>").startswith("ignored: "))
        daemon = "MAILER-DAEMON@citizen.example"
        self.assertTrue(self.send(daemon, "来信", "Undelivered mail.", "2025-11-14T13:40"
                                  ).startswith("ignored: "))
        at_moment(self.server, "2025-11-15T09:59")
        self.assertEqual(len(self.mails(who)), 1, "nothing more within the interval")
        # the moment the interval allows: b's and c's acknowledgements, in one e-mail
        at_moment(self.server, "2025-11-15T10:00")
        got = self.mails(who)
        self.assertEqual(len(got), 2, [m["subject"] for m in got])
        self.assertEqual(self.mails(daemon), [])
        both = got[1]["body"]
        part_b, part_c = self.part(both, b), self.part(both, c)
        self.assertIn("We have received your message", part_b)
        self.assertIn("Tracking number: " + b, part_b)
        self.assertIn("我們已收到您的來信", part_c)
        self.assertIn("受理編號：" + c, part_c)
        self.assertNotIn(a, both)
        code_b = re.search(r"Query code: (\S+)", part_b).group(1)
        code_c = re.search(r"查詢碼：(\S+)", part_c).group(1)
        self.follows(a, code_a, code_b)
        self.follows(b, code_b, code_c)
        self.follows(c, code_c, code_a)
        # no code is left in the outbox once its message is sent: each row's text goes
        with sqlite3.connect(self.server.db, timeout=30) as d:
            self.assertEqual(d.execute("SELECT state, body FROM outbox WHERE recipient = ? "
                                       "ORDER BY id", (who,)).fetchall(),
                             [("sent", None)] * 3)

    def test_two_letters_and_a_flood(self):
        """Two letters: the second's acknowledgement alone, a day later; a run of letters
        under one (perhaps forged) address within the interval: two e-mails in all."""
        import re
        who, flood = "twice@citizen.example", "victim@citizen.example"
        a = self.send(who, "噪音扰民", "楼下每晚施工到凌晨。", "2025-11-14T10:00")
        ts = [self.send(flood, "广告 %d" % i, "优惠活动 %d。" % i, "2025-11-14T10:%02d" % (i + 1))
              for i in range(6)]
        b = self.send(who, "噪音扰民（续）", "昨晚又施工到凌晨两点。", "2025-11-14T20:00")
        at_moment(self.server, "2025-11-15T10:00")
        got = self.mails(who)
        self.assertEqual(len(got), 2, [m["subject"] for m in got])
        self.assertIn(a, got[0]["body"])
        self.assertNotIn(a, got[1]["body"])
        self.assertIn("受理编号：" + b, got[1]["body"])
        code_b = re.search(r"查询码：(\S+)", got[1]["body"]).group(1)
        self.follows(b, code_b, "BBBBBBBBBBBB")
        self.assertEqual(len(self.mails(flood)), 1, "the flood's first acknowledgement only")
        at_moment(self.server, "2025-11-15T10:01")
        sent = self.mails(flood)
        self.assertEqual(len(sent), 2, [m["subject"] for m in sent])
        for t in ts[1:]:
            self.assertIn(t, sent[1]["body"])


if __name__ == "__main__":
    harness.main()
