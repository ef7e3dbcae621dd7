"""The notices of the Fixed contract (DESIGN.md, "Notices") as the people who depend on them meet
them, from the real daemon to real peers on 127.0.0.1 (peers.py: aiosmtpd, the HTTP SMS gateway):
the acknowledgement of every channel and the mail as a mail client reads it, the staff SMS
without the citizen's personal data, the section heads and then the supervisors told across a
holiday and its make-up working days, a section without a reachable head, an account suspended,
revoked, moved to another section or given another address while its notice waits, the SMTP
server down for a while, its temporary and permanent refusals (sender, RCPT and DATA), the SMS
gateway's answers (500, 429, 401, too slow, a redirect, a 2xx that says "no"), a SIGTERM and a
kill -9 in the middle of a drain, and a log without the citizens' addresses.

The test clock stands still between moves (CIVICDESK_TEST_NOW, POST /api/v1/test/clock): a
failed attempt's retry waits until the test moves the clock, so each step is deterministic; each
moment waits for the daemon's own state (test_notify.settled, or the rows' states where a retry
is under way), never for a fixed time.
"""
import datetime
import email
import email.policy
import email.utils
import json
import os
import re
import signal
import sys
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import peers  # noqa: E402
from test_notify import (PASSWORD, act, add_user, at_moment, db,  # noqa: E402
                         set_clock, start_server, submit)
from test_durable import events as durable_events  # noqa: E402

harness.BIN = os.path.abspath(harness.BIN)

CST = datetime.timezone(datetime.timedelta(hours=8))
CITIZEN = {"name": "张三", "phone": "13912345678", "email": "citizen@example.com",
           "subject": "噪音扰民", "body": "楼下每晚施工到凌晨。"}


def parse(rec):
    """The message as the SMTP server received it, read by Python's email package as a mail
    client reads it (the default policy: RFC 2047 words and the body's charset decoded)."""
    return email.message_from_bytes(rec["raw"].encode("utf-8", "surrogateescape"),
                                    policy=email.policy.default)


def mails(smtp, to=None):
    return [m for m in smtp.records() if "rcpt" in m and (to is None or to in m["rcpt"])]


def texts(sms, phone=None):
    return [s for s in sms.records() if "text" in s and (phone is None or s["phone"] == phone)]


def rows(server, where="1", args=()):
    """(id, tracking, step, channel, recipient, state, attempts, last_error) of outbox rows."""
    with db(server) as d:
        return d.execute(
            "SELECT o.id, i.tracking, o.step, o.channel, o.recipient, o.state, o.attempts, "
            "coalesce(o.last_error, '') FROM outbox_notices o LEFT JOIN items i ON "
            "i.id = o.item_id WHERE " + where + " ORDER BY o.id", args).fetchall()


def register_old(server, received="2025-09-01", subject="来信"):
    """An item registered by a dispatcher with an old receipt date (overdue at once)."""
    disp = server.login("disp_n", PASSWORD)
    r = disp.request("POST", "/api/v1/items", json_body={
        "kind": "complaint", "subject": subject, "body": "正文", "name": "李四",
        "channel": "post", "received": received, "publish": False})
    if r.status != 201:
        raise RuntimeError("register: %r" % r)
    return r.json()["tracking"]


class AsRead(peers.PeerClass, unittest.TestCase):
    """The acknowledgement and the staff notices as their readers get them (November 2025 has no
    holiday: received Mon 3 Nov 09:00, the forward clock is due Thu 6 Nov 23:59, the section
    heads are told on Fri 7 Nov, the supervisors on Mon 10 Nov)."""
    PREFIX = "civicdesk-audit-"

    @classmethod
    def start_daemon(cls):
        server = start_server(cls.tmp, cls.smtp.port, cls.sms.port, "2025-11-03T09:00",
                              {"CIVICDESK_SMS_QUIET": "off",
                               "CIVICDESK_SMTP_FROM": "信访办 <xf@bureau.example>"}, accounts=True)
        return server

    def check_mail(self, rec, to, when):
        """What every mail must be to a mail client: from the configured sender, to its one
        recipient, dated when it was sent, a Message-ID of the sender's domain, MIME text in
        UTF-8, headers in ASCII (RFC 2047), no line over 998 bytes. The message."""
        raw = rec["raw"].encode("utf-8", "surrogateescape")
        self.assertTrue(all(b < 128 for b in raw), "8-bit bytes in the message")
        self.assertTrue(all(len(line) <= 998 for line in raw.split(b"\r\n")))
        msg = parse(rec)
        self.assertEqual(rec["from"], "xf@bureau.example")  # the envelope
        self.assertEqual(email.utils.parseaddr(str(msg["From"])), ("信访办", "xf@bureau.example"))
        self.assertEqual([a.addr_spec for a in msg["To"].addresses], [to])
        self.assertEqual(email.utils.parsedate_to_datetime(str(msg["Date"])), when)
        self.assertRegex(str(msg["Message-ID"]), r"^<[^<>@\s]+@bureau\.example>$")
        self.assertEqual(str(msg["MIME-Version"]), "1.0")
        self.assertEqual(msg.get_content_type(), "text/plain")
        self.assertEqual(msg.get_content_charset(), "utf-8")
        self.assertEqual(str(msg["Auto-Submitted"]), "auto-generated")
        return msg

    def test_ack_overdue_escalation(self):
        t0 = datetime.datetime(2025, 11, 3, 9, 0, tzinfo=CST)
        r = self.server.request("POST", "/api/v1/items", json_body={
            "kind": "letter", "subject": CITIZEN["subject"], "body": CITIZEN["body"],
            "name": CITIZEN["name"], "phone": CITIZEN["phone"], "email": CITIZEN["email"],
            "publish": False})
        self.assertEqual(r.status, 201, r)
        t, code = r.json()["tracking"], r.json()["query_code"]
        ack = peers.wait_for(lambda: mails(self.smtp, CITIZEN["email"]), 30, "the ack")
        msg = self.check_mail(ack[0], CITIZEN["email"], t0)
        self.assertIn(t, str(msg["Subject"]))
        body = msg.get_content()
        self.assertIn(t, body)
        self.assertIn("“噪音扰民”", body)  # the subject quoted
        self.assertIn("2025-11-10 23:59", body)  # the reply's due time
        self.assertNotIn(code, body)
        act(self, "disp_n", t, "assign", section="法规处", assignee="hand_n")

        # Fri 7 Nov: the forward clock ran out: the section head, by e-mail and SMS
        at_moment(self.server, "2025-11-07T09:00")
        head = [m for m in mails(self.smtp, "head@example.com") if t in m["subject"]]
        self.assertEqual(len(head), 1, [m["subject"] for m in head])
        msg = self.check_mail(head[0], "head@example.com",
                              datetime.datetime(2025, 11, 7, 9, 0, tzinfo=CST))
        self.assertIn("逾期", str(msg["Subject"]))
        self.assertIn("2025-11-06 23:59", msg.get_content())
        sms = texts(self.sms, "13800000011")
        self.assertEqual(len(sms), 1, sms)
        self.assertIn(t, sms[0]["text"])
        self.assertEqual(set(json.loads(sms[0]["raw"])), {"phone", "text"})
        self.assertFalse(mails(self.smtp, "sup@example.com"), "no supervisor before 2 WD")

        # Mon 10 Nov: two working days after the due day, every supervisor
        at_moment(self.server, "2025-11-10T09:00")
        for to in ("sup@example.com", "sup2@example.com"):
            got = [m for m in mails(self.smtp, to) if t in m["body"]]
            self.assertEqual(len(got), 1, (to, [m["subject"] for m in got]))
            msg = self.check_mail(got[0], to, datetime.datetime(2025, 11, 10, 9, 0, tzinfo=CST))
            self.assertIn("已逾期2个工作日", msg.get_content())
        sup = texts(self.sms, "13800000013")
        self.assertEqual(len(sup), 1, sup)
        self.assertIn(t, sup[0]["text"])
        self.assertIn("已逾期2个工作日", sup[0]["text"])
        # staff SMS: the tracking number and the clock, nothing the citizen wrote or is
        for s in texts(self.sms):
            for private in CITIZEN.values():
                self.assertNotIn(private, s["text"])
        # the citizen's query code never leaves in a notice
        self.assertFalse([m for m in mails(self.smtp) if code in m["raw"]])


    def test_ack_every_channel(self):
        """The acknowledgement whichever way the item came: entered by staff (a phone call) and
        through Open311 too, each naming its tracking number and quoting its subject, once."""
        disp = self.server.login("disp_n", PASSWORD)
        r = disp.request("POST", "/api/v1/items", json_body={
            "kind": "complaint", "subject": "电话来访：占道经营", "body": "正文", "name": "李四",
            "email": "phone@citizen.example", "channel": "phone", "publish": False})
        self.assertEqual(r.status, 201, r)
        by_phone = r.json()["tracking"]
        form = urllib.parse.urlencode({
            "service_code": "complaint", "description": "小区门口占道经营", "first_name": "Li",
            "email": "o311@citizen.example", "attribute[publish]": "false"})
        r = self.server.request("POST", "/open311/v2/requests.json", body=form.encode(),
                                headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(r.status, 201, r)
        by_o311 = r.json()[0]["service_request_id"]
        for to, t, quoted in (("phone@citizen.example", by_phone, "“电话来访：占道经营”"),
                              ("o311@citizen.example", by_o311, "“小区门口占道经营”")):
            got = peers.wait_for(lambda: mails(self.smtp, to), 30, "the ack to " + to)
            self.assertEqual(len(got), 1, got)
            msg = parse(got[0])
            self.assertIn(t, str(msg["Subject"]))
            self.assertIn(t, msg.get_content())
            self.assertIn(quoted, msg.get_content())


class Audiences(peers.PeerTest, unittest.TestCase):
    """Who is told: a section without a head and one whose head has no address (the
    administrators at once, and the supervisors two working days later, as the ladder says; the
    missing recipients are listed to the administrators), and accounts that change while their
    notice waits for the mail server: suspended or revoked (not sent: dropped with the reason),
    given another e-mail or phone (sent to the address the account has when it is sent), a head
    appointed (told too)."""
    PREFIX = "civicdesk-audit-"

    def test_no_head_supervisors_still_told(self):
        smtp = self.peer("smtp")
        sms = self.peer("sms")
        self.server = start_server(self.tmp, smtp.port, sms.port, "2025-11-03T09:00",
                                   {"CIVICDESK_SMS_QUIET": "off"}, dbdir=self.dbdir, accounts=True)
        add_user(self.server, "head_bare", "section_head", section="信息中心")
        a = submit(self.server, subject="井盖缺失", email="a@citizen.example")["tracking"]
        b = submit(self.server, subject="路灯不亮", email="b@citizen.example")["tracking"]
        act(self, "disp_n", a, "assign", section="稽查处")  # no head at all
        act(self, "disp_n", b, "assign", section="信息中心")  # a head without e-mail or phone
        at_moment(self.server, "2025-11-07T09:00")
        self.assertFalse([m for m in mails(smtp) if "citizen.example" not in m["rcpt"][0] and
                          (a in m["body"] or b in m["body"])])
        admin = self.server.login("admin_n", PASSWORD)
        r = admin.request("GET", "/api/v1/admin/outbox")
        self.assertEqual(r.status, 200, r)
        missing = {(x["role"], x["account"], x["section"], x["tracking"], x["step"], x["channel"])
                   for x in r.json()["missing"]}
        for ch in ("email", "sms"):
            self.assertIn(("section_head", None, "稽查处", a, "overdue/2025-11-06", ch), missing)
            self.assertIn(("section_head", "head_bare", "信息中心", b, "overdue/2025-11-06", ch),
                          missing)
        at_moment(self.server, "2025-11-10T09:00")
        for to in ("sup@example.com", "sup2@example.com"):
            for t in (a, b):
                got = [m for m in mails(smtp, to) if t in m["body"]]
                self.assertEqual(len(got), 1, (to, t))
        sup = texts(sms, "13800000013")
        self.assertTrue(any(a in s["text"] for s in sup) and any(b in s["text"] for s in sup),
                        sup)

    def test_accounts_changed_while_waiting(self):
        smtp_port, sms_port = peers.free_port(), peers.free_port()
        # nothing listens yet: the notices are tried once and wait for the clock to move
        self.server = start_server(self.tmp, smtp_port, sms_port, "2025-10-09T10:00",
                                   {"CIVICDESK_SMS_QUIET": "off"}, dbdir=self.dbdir, accounts=True)
        add_user(self.server, "sup_gone", "supervisor", mail="gone@example.com",
                 phone="13800000091")
        add_user(self.server, "sup_rev", "supervisor", mail="rev@example.com",
                 phone="13800000092")
        add_user(self.server, "sup_moved", "supervisor", mail="old@example.com",
                 phone="13800000093")
        add_user(self.server, "sup_dup", "supervisor", mail="dup@example.com")
        t = register_old(self.server)
        esc = "o.step LIKE 'escalate/%' AND o.recipient IN ('gone@example.com', " \
              "'rev@example.com', 'old@example.com', '13800000091', '13800000092', " \
              "'13800000093', 'dup@example.com')"
        peers.wait_for(lambda: (lambda r: len(r) == 14 and all(x[6] == 1 for x in r))(
            rows(self.server, esc)), 60, "the escalations queued and tried once")
        admin = self.server.login("admin_n", PASSWORD)
        for name, change in (("sup_gone", {"status": "suspended"}),
                             ("sup_rev", {"status": "revoked"}),
                             ("sup_moved", {"email": "new@example.com", "phone": "13800000094"}),
                             # another supervisor's address: that one has the notice already
                             ("sup_dup", {"email": "sup@example.com"})):
            r = admin.request("PATCH", "/api/v1/admin/users/" + name, json_body=change)
            self.assertEqual(r.status, 200, (name, r))
        smtp = self.peer("smtp", port=smtp_port)
        sms = self.peer("sms", port=sms_port)
        # (a retried row looks settled to at_moment while it is sent: wait for the states)
        set_clock(self.server, "2025-10-09T10:05")
        peers.wait_for(lambda: not rows(self.server, "o.state = 'pending'"), 30,
                       "every notice sent or dropped")
        for to in ("gone@example.com", "rev@example.com", "old@example.com"):
            self.assertFalse(mails(smtp, to), to)
        for phone in ("13800000091", "13800000092", "13800000093"):
            self.assertFalse(texts(sms, phone), phone)
        self.assertTrue([m for m in mails(smtp, "new@example.com") if t in m["body"]])
        self.assertTrue([s for s in texts(sms, "13800000094") if t in s["text"]])
        self.assertEqual(len([m for m in mails(smtp, "sup@example.com") if t in m["body"]]), 1)
        got = {(x[4], x[5]) for x in rows(self.server, esc)}
        for to in ("gone@example.com", "13800000091", "rev@example.com", "13800000092"):
            self.assertIn((to, "dropped"), got)
        reasons = {x[4]: x[7] for x in rows(self.server, esc)}
        self.assertIn("suspended", reasons["gone@example.com"])
        self.assertIn("revoked", reasons["rev@example.com"])
        dup = rows(self.server, "o.step LIKE 'escalate/%' AND o.account_id = (SELECT id FROM "
                   "accounts WHERE username = 'sup_dup')")
        self.assertEqual({(x[4], x[5]) for x in dup}, {("dup@example.com", "dropped")})
        self.assertTrue(all("queued already" in x[7] for x in dup), dup)
        # the next working day: no row for the suspended and the revoked, the new address
        at_moment(self.server, "2025-10-10T09:00")
        self.assertFalse(rows(self.server, "o.step LIKE 'escalate/%/2025-10-10' AND "
                              "o.account_id IN (SELECT id FROM accounts WHERE username IN "
                              "('sup_gone', 'sup_rev'))"))
        self.assertEqual(len([m for m in mails(smtp, "new@example.com") if t in m["body"]]), 2)
        self.assertFalse(mails(smtp, "old@example.com"))


    def test_supervisor_appointed_mid_escalation(self):
        """Supervisors must never miss an overdue item: one appointed on a working day after
        that day's escalations went out (a new account by `civicdesk user add`, a suspended one
        reactivated by an administrator) is told of every item escalated that day, the same
        day and by every way it has; the supervisors told already are not told twice; the next
        working day everyone is told again, once."""
        smtp = self.peer("smtp")
        sms = self.peer("sms")
        self.server = start_server(self.tmp, smtp.port, sms.port, "2025-11-10T09:00",
                                   {"CIVICDESK_SMS_QUIET": "off"}, dbdir=self.dbdir, accounts=True)
        add_user(self.server, "sup_away", "supervisor", mail="away@example.com")
        admin = self.server.login("admin_n", PASSWORD)
        r = admin.request("PATCH", "/api/v1/admin/users/sup_away",
                          json_body={"status": "suspended"})
        self.assertEqual(r.status, 200, r)
        t = register_old(self.server)  # received 1 Sep: long overdue, escalated today
        at_moment(self.server, "2025-11-10T09:01")

        def told(to, day="2025-11-10"):
            return [m for m in mails(smtp, to) if t in m["body"] and
                    email.utils.parsedate_to_datetime(str(parse(m)["Date"])).date().isoformat()
                    == day]

        self.assertEqual(len(told("sup@example.com")), 1)
        self.assertFalse(mails(smtp, "new@example.com"))
        add_user(self.server, "sup_new", "supervisor", mail="new@example.com",
                 phone="13800000095")
        r = admin.request("PATCH", "/api/v1/admin/users/sup_away", json_body={"status": "active"})
        self.assertEqual(r.status, 200, r)
        at_moment(self.server, "2025-11-10T10:30")
        for to in ("new@example.com", "away@example.com", "sup@example.com",
                   "sup2@example.com"):
            self.assertEqual(len(told(to)), 1, to)
        self.assertEqual(len([s for s in texts(sms, "13800000095") if t in s["text"]]), 1)
        self.assertEqual(len([s for s in texts(sms, "13800000013") if t in s["text"]]), 1)
        at_moment(self.server, "2025-11-11T09:00")
        for to in ("new@example.com", "away@example.com", "sup@example.com"):
            self.assertEqual(len(told(to, "2025-11-11")), 1, to)

    def test_head_appointed_while_waiting(self):
        """The forward clock runs out while the SMTP server and the SMS gateway are down: the
        section head's overdue notices are tried and wait. A second head of the section is
        appointed before they go out: when they are sent, the recipients are resolved again,
        and the new head is told too (e-mail and SMS, once each); the first head once."""
        smtp_port, sms_port = peers.free_port(), peers.free_port()
        self.server = start_server(self.tmp, smtp_port, sms_port, "2025-11-03T09:00",
                                   {"CIVICDESK_SMS_QUIET": "off"}, dbdir=self.dbdir, accounts=True)
        t = submit(self.server, email="h@citizen.example")["tracking"]
        act(self, "disp_n", t, "assign", section="法规处", assignee="hand_n")
        over = "o.step LIKE 'overdue/%%' AND i.tracking = '%s'" % t
        set_clock(self.server, "2025-11-07T09:00")
        peers.wait_for(lambda: (lambda r: len(r) == 2 and all(x[6] == 1 for x in r))(
            rows(self.server, over)), 60, "the head's overdue notices tried once")
        add_user(self.server, "head_new", "section_head", section="法规处",
                 mail="headnew@example.com", phone="13800000077")
        smtp = self.peer("smtp", port=smtp_port)
        sms = self.peer("sms", port=sms_port)
        set_clock(self.server, "2025-11-07T09:05")
        peers.wait_for(lambda: (lambda r: len(r) == 4 and {x[5] for x in r} == {"sent"})(
            rows(self.server, over)), 60, "both heads' overdue notices sent")
        for to in ("head@example.com", "headnew@example.com"):
            got = [m for m in mails(smtp, to) if t in m["body"] and "逾期" in m["subject"]]
            self.assertEqual(len(got), 1, to)
        for phone in ("13800000011", "13800000077"):
            self.assertEqual(len([x for x in texts(sms, phone) if t in x["text"]]), 1, phone)
        at_moment(self.server, "2025-11-07T10:00")
        self.assertEqual(len(rows(self.server, over)), 4)

    def test_no_reachable_head_admins_told_at_once(self):
        """A section without a head, and one whose only head has neither e-mail nor phone: the
        overdue notice goes to the administrators at once (e-mail and SMS), saying that the
        section has no reachable head, instead of to nobody until the supervisors' escalation
        two working days later. A section with a reachable head: its head only."""
        smtp = self.peer("smtp")
        sms = self.peer("sms")
        self.server = start_server(self.tmp, smtp.port, sms.port, "2025-11-03T09:00",
                                   {"CIVICDESK_SMS_QUIET": "off"}, dbdir=self.dbdir, accounts=True)
        add_user(self.server, "admin_mail", "admin", mail="admin@example.com",
                 phone="13800000055")
        add_user(self.server, "head_bare", "section_head", section="信息中心")
        a = submit(self.server, subject="井盖缺失", email="a@citizen.example")["tracking"]
        b = submit(self.server, subject="路灯不亮", email="b@citizen.example")["tracking"]
        c = submit(self.server, subject="噪音", email="c@citizen.example")["tracking"]
        act(self, "disp_n", a, "assign", section="稽查处")  # no head at all
        act(self, "disp_n", b, "assign", section="信息中心")  # a head without e-mail or phone
        act(self, "disp_n", c, "assign", section="法规处")  # head@example.com
        at_moment(self.server, "2025-11-07T09:00")
        for t, sec in ((a, "稽查处"), (b, "信息中心")):
            got = [m for m in mails(smtp, "admin@example.com") if t in m["body"]]
            self.assertEqual(len(got), 1, t)
            self.assertIn("逾期", got[0]["subject"])
            self.assertIn(sec, got[0]["body"])
            self.assertIn("no reachable head", got[0]["body"])
            self.assertEqual(len([x for x in texts(sms, "13800000055") if t in x["text"]]), 1)
        self.assertFalse([m for m in mails(smtp, "admin@example.com") if c in m["body"]])
        self.assertEqual(len([m for m in mails(smtp, "head@example.com") if c in m["body"] and
                              "逾期" in m["subject"]]), 1)
        admin = self.server.login("admin_n", PASSWORD)  # no address: listed as missing
        r = admin.request("GET", "/api/v1/admin/outbox")
        missing = {(x["role"], x["account"], x["tracking"], x["channel"])
                   for x in r.json()["missing"]}
        self.assertIn(("admin", "admin_n", a, "email"), missing)
        at_moment(self.server, "2025-11-07T12:00")
        self.assertEqual(len([m for m in mails(smtp, "admin@example.com") if a in m["body"]]), 1)

    def test_order_sms_held_by_quiet_hours(self):
        """A supervision order's SMS (a notice written with its text) waits for the end of the
        quiet hours; meanwhile one head is suspended (not sent: dropped with the reason) and the
        other gets another phone (sent to it)."""
        smtp = self.peer("smtp")
        sms = self.peer("sms")
        self.server = start_server(self.tmp, smtp.port, sms.port, "2025-11-04T22:00",
                                   dbdir=self.dbdir, accounts=True)  # the default quiet hours, 21:00-08:00
        add_user(self.server, "head_two", "section_head", section="法规处",
                 mail="head2@example.com", phone="13800000081")
        t = submit(self.server, email="o@citizen.example")["tracking"]
        act(self, "disp_n", t, "assign", section="法规处", assignee="hand_n")
        sup = self.server.login("sup_n", PASSWORD)
        r = sup.request("POST", "/api/v1/items/%s/supervision" % t,
                        json_body={"note": "请尽快处理", "due": "2025-11-07"})
        self.assertEqual(r.status, 201, r)
        for to in ("head@example.com", "head2@example.com"):  # e-mail does not wait
            peers.wait_for(lambda: [m for m in mails(smtp, to) if t in m["body"]], 30, to)
        self.assertEqual(texts(sms), [])
        admin = self.server.login("admin_n", PASSWORD)
        for name, change in (("head_n", {"status": "suspended"}),
                             ("head_two", {"phone": "13800000082"})):
            r = admin.request("PATCH", "/api/v1/admin/users/" + name, json_body=change)
            self.assertEqual(r.status, 200, (name, r))
        at_moment(self.server, "2025-11-05T08:30")
        self.assertEqual([(s["phone"], t in s["text"]) for s in texts(sms)],
                         [("13800000082", True)])
        got = {(x[4], x[5]) for x in rows(self.server, "o.step = 'supervised' AND "
                                          "o.channel = 'sms'")}
        self.assertEqual(got, {("13800000011", "dropped"), ("13800000082", "sent")})


    def test_reassigned_while_waiting(self):
        """The forward clock runs out at midnight: the section head's e-mail goes at once, the
        SMS waits for 08:00 (quiet hours). At 07:00 the item goes to another section: its head is
        told (e-mail and SMS), and the first head's SMS, about an item no longer in their
        section, is dropped with the reason instead of sent."""
        smtp = self.peer("smtp")
        sms = self.peer("sms")
        self.server = start_server(self.tmp, smtp.port, sms.port, "2025-11-03T09:00",
                                   dbdir=self.dbdir, accounts=True)
        add_user(self.server, "head_j", "section_head", section="稽查处",
                 mail="headj@example.com", phone="13800000071")
        t = submit(self.server, email="x@citizen.example")["tracking"]
        act(self, "disp_n", t, "assign", section="法规处", assignee="hand_n")
        at_moment(self.server, "2025-11-07T07:00")
        self.assertEqual(len([m for m in mails(smtp, "head@example.com") if t in m["body"]]), 1)
        self.assertEqual(texts(sms), [])
        act(self, "disp_n", t, "assign", section="稽查处")
        at_moment(self.server, "2025-11-07T08:30")
        self.assertEqual([(s["phone"], t in s["text"]) for s in texts(sms)],
                         [("13800000071", True)])
        self.assertEqual(len([m for m in mails(smtp, "headj@example.com") if t in m["body"]]), 1)
        old = rows(self.server, "o.channel = 'sms' AND o.recipient = '13800000011'")
        self.assertEqual([x[5] for x in old], ["dropped"])
        self.assertIn("稽查处", old[0][7])


class MailServerAnswers(peers.PeerTest, unittest.TestCase):
    """The SMTP server's answers: a recipient refused (550 to RCPT) among several in one session
    fails that notice alone, at once, shown to the administrators; a 451 at the end of DATA is
    retried at the next attempt and delivered once; a 554 at the end of DATA fails the notice
    and it is never tried again."""
    PREFIX = "civicdesk-audit-"

    def test_rcpt_and_data_refusals(self):
        smtp = self.peer("smtp", "--reject", "sup2@example.com", "--data-script", "451,554")
        sms = self.peer("sms")
        self.server = start_server(self.tmp, smtp.port, sms.port, "2025-10-09T10:00",
                                   {"CIVICDESK_SMS_QUIET": "off"}, dbdir=self.dbdir, accounts=True)
        t = register_old(self.server)
        # one pass: the dispatchers' overdue notices and each supervisor's escalations, one
        # message per recipient (disp@, sup@; sup2@ refused at RCPT)
        first = peers.wait_for(lambda: (lambda r: r if len(r) >= 2 else None)(
            [m for m in smtp.records() if "data_refused" in m]), 60, "the two DATA answers")
        (temp,), (perm,) = first[0]["to"], first[1]["to"]
        self.assertEqual({temp, perm}, {"disp@example.com", "sup@example.com"})
        mail_rows = "o.channel = 'email' AND i.tracking = '%s'" % t

        def state_of(to):
            return {(x[5], x[6]) for x in rows(self.server, mail_rows) if x[4] == to}
        peers.wait_for(lambda: state_of(perm) == {("failed", 1)} and
                       state_of("sup2@example.com") == {("failed", 1)} and
                       state_of(temp) == {("pending", 1)}, 30, "the first answers marked")
        errors = {x[4]: x[7] for x in rows(self.server, mail_rows)}
        self.assertIn("554", errors[perm])
        self.assertIn("550", errors["sup2@example.com"])
        self.assertIn("451", errors[temp])
        # the next attempt: the 451 one delivered, the failed ones not tried again
        set_clock(self.server, "2025-10-09T10:05")
        peers.wait_for(lambda: state_of(temp) == {("sent", 2)}, 30, "the 451 one sent")
        at_moment(self.server, "2025-10-09T11:00")
        self.assertEqual(state_of(temp), {("sent", 2)})
        self.assertEqual(state_of(perm), {("failed", 1)})
        self.assertEqual(state_of("sup2@example.com"), {("failed", 1)})
        self.assertEqual(len(mails(smtp, temp)), 1)
        self.assertEqual(mails(smtp, perm), [])
        self.assertEqual(len([m for m in smtp.records() if "data_refused" in m]), 2)
        admin = self.server.login("admin_n", PASSWORD)
        r = admin.request("GET", "/api/v1/admin/outbox?state=failed")
        self.assertEqual(r.status, 200, r)
        self.assertEqual({o["recipient"] for o in r.json()["outbox"]},
                         {perm, "sup2@example.com"})


    def test_sender_refused(self):
        """The server refuses the sender (553 to MAIL FROM: smtp_from is not allowed there): a
        matter of configuration, not of the notice, like a refused AUTH; the notices wait with
        the reason, and go out once the server takes the sender, each once."""
        port = peers.free_port()
        smtp = self.peer("smtp", "--reject-from", "civicdesk@bureau.example", port=port)
        self.server = start_server(self.tmp, port, peers.free_port(), "2025-11-03T09:00",
                                   dbdir=self.dbdir)
        t = submit(self.server, email="c1@citizen.example")["tracking"]
        first = peers.wait_for(lambda: [x for x in rows(self.server) if x[7]], 30,
                               "the refused attempt")
        self.assertEqual(first[0][5:7], ("pending", 1))
        self.assertIn("553", first[0][7])
        self.assertIn("check smtp_from", first[0][7])
        smtp.stop()
        smtp = self.peer("smtp", port=port)  # the server's configuration fixed
        set_clock(self.server, "2025-11-03T09:05")
        peers.wait_for(lambda: [x[5] for x in rows(self.server)] == ["sent"], 30, "sent")
        self.assertEqual(rows(self.server)[0][6], 2)
        self.assertEqual([m["rcpt"] for m in mails(smtp) if t in m["subject"]],
                         [["c1@citizen.example"]])

    def test_server_down_then_back(self):
        """The SMTP server is down for a while: the overdue and escalation notices wait, tried
        again after 1, 2, 4, 4 minutes (notify_backoff_min 60, _max 240), never failed; once it
        is back each is delivered exactly once."""
        port = peers.free_port()
        sms = self.peer("sms")
        self.server = start_server(self.tmp, port, sms.port, "2025-10-09T10:00", {
            "CIVICDESK_SMS_QUIET": "off", "CIVICDESK_NOTIFY_BACKOFF_MIN": "60",
            "CIVICDESK_NOTIFY_BACKOFF_MAX": "240"}, dbdir=self.dbdir, accounts=True)
        t = register_old(self.server)
        mail_rows = "o.channel = 'email' AND i.tracking = '%s'" % t

        def attempts():
            got = rows(self.server, mail_rows)
            self.assertTrue(got and all(x[5] == "pending" for x in got), got)
            return sorted({x[6] for x in got})
        peers.wait_for(lambda: len(rows(self.server, mail_rows)) == 6 and
                       attempts() == [1], 60, "the first attempt")
        for when, want in (("10:00", 1), ("10:01", 2), ("10:02", 2), ("10:03", 3),
                           ("10:06", 3), ("10:07", 4), ("10:10", 4), ("10:11", 5)):
            at_moment(self.server, "2025-10-09T" + when)
            self.assertEqual(attempts(), [want], when)
            self.assertIn("127.0.0.1:%d" % port, rows(self.server, mail_rows)[0][7])
        smtp = self.peer("smtp", port=port)
        # (a retry's row looks settled while it is sent: it keeps its last error until marked)
        set_clock(self.server, "2025-10-09T10:15")
        peers.wait_for(lambda: {(x[5], x[6]) for x in rows(self.server, mail_rows)} ==
                       {("sent", 6)}, 30, "every notice sent at the 6th attempt")
        # disp@ (both overdue notices), sup@ and sup2@ (both escalations): one message each
        self.assertEqual(sorted(m["rcpt"][0] for m in mails(smtp)),
                         ["disp@example.com", "sup2@example.com", "sup@example.com"])
        self.assertEqual(len({m["message_id"] for m in mails(smtp)}), 3)


class GivenUp(peers.PeerTest, unittest.TestCase):
    """The SMTP server and the SMS gateway down for longer than notify_give_up: the notices end
    failed ("gave up"); once both are back an administrator retries every given-up notice of a
    channel, then of both, in one request each (audited once each); each is then delivered
    once. A notice the server refused for good (550) before the outage stays failed."""
    PREFIX = "civicdesk-audit-"

    def test_retry_every_given_up_notice(self):
        smtp_port, sms_port = peers.free_port(), peers.free_port()
        smtp = self.peer("smtp", "--reject", "bad@example.com", port=smtp_port)
        self.server = start_server(self.tmp, smtp_port, sms_port, "2025-11-03T09:00", {
            "CIVICDESK_SMS_QUIET": "off", "CIVICDESK_SMS_CITIZENS": "1",
            "CIVICDESK_NOTIFY_GIVE_UP": "300"}, dbdir=self.dbdir, accounts=True)
        submit(self.server, email="bad@example.com")
        peers.wait_for(lambda: [x for x in rows(self.server) if x[4] == "bad@example.com" and
                                x[5] == "failed"], 30, "the 550")
        smtp.stop()
        for i in (1, 2):
            r = self.server.request("POST", "/api/v1/items", json_body={
                "kind": "letter", "subject": "来信 %d" % i, "body": "正文", "name": "王五",
                "phone": "1391000000%d" % i, "email": "c%d@example.com" % i, "publish": False})
            self.assertEqual(r.status, 201, r)
        # the acknowledgements of the outage, and the SMS one of the first (its e-mail refused)
        outage = "o.recipient LIKE 'c_@example.com' OR o.channel = 'sms'"
        peers.wait_for(lambda: [x[6] for x in rows(self.server, outage)] == [1] * 5, 60,
                       "the first attempts, both peers down")
        set_clock(self.server, "2025-11-03T09:10")  # past give_up_at (09:05): the last attempt
        peers.wait_for(lambda: {x[5] for x in rows(self.server, outage)} == {"failed"}, 60,
                       "given up")
        self.assertTrue(all(x[7].startswith("gave up after 2 attempts")
                            for x in rows(self.server, outage)))
        smtp = self.peer("smtp", port=smtp_port)
        sms = self.peer("sms", port=sms_port)
        admin = self.server.login("admin_n", PASSWORD)
        disp = self.server.login("disp_n", PASSWORD)
        r = disp.request("POST", "/api/v1/admin/outbox/retry", json_body={})
        self.assertEqual(r.status, 403, r)
        r = admin.request("POST", "/api/v1/admin/outbox/retry", json_body={"channel": "fax"})
        self.assertEqual((r.status, r.json()["error"].get("field")), (400, "channel"), r)
        r = admin.request("POST", "/api/v1/admin/outbox/retry", json_body={"channel": "email"})
        self.assertEqual((r.status, r.json()), (200, {"retried": 2, "channel": "email"}), r)
        peers.wait_for(lambda: len(rows(self.server, "o.state = 'sent'")) == 2, 60,
                       "the two e-mails sent")
        self.assertEqual(sorted(m["rcpt"][0] for m in mails(smtp)),
                         ["c1@example.com", "c2@example.com"])
        self.assertEqual({x[5] for x in rows(self.server, "o.channel = 'sms'")}, {"failed"})
        r = admin.request("POST", "/api/v1/admin/outbox/retry")  # no body: both channels
        self.assertEqual((r.status, r.json()), (200, {"retried": 3, "channel": None}), r)
        peers.wait_for(lambda: len(rows(self.server, "o.state = 'sent'")) == 5, 60,
                       "the three SMS sent")
        self.assertEqual(sorted(s["phone"] for s in texts(sms)),
                         ["13910000001", "13910000002", "13912345678"])
        r = admin.request("POST", "/api/v1/admin/outbox/retry", json_body={"channel": None})
        self.assertEqual((r.status, r.json()["retried"]), (200, 0), r)
        self.assertEqual([x[5:7] for x in rows(self.server, "o.recipient = 'bad@example.com'")],
                         [("failed", 1)])
        self.assertEqual(len(mails(smtp)), 2)
        with db(self.server) as d:
            self.assertEqual(d.execute(
                "SELECT actor, target, detail FROM audit WHERE action = "
                "'outbox_retry_given_up' ORDER BY id").fetchall(), [
                ("admin_n", "email", "2 given-up notices pending again"),
                ("admin_n", "all", "3 given-up notices pending again"),
                ("admin_n", "all", "0 given-up notices pending again")])


class GatewayAnswers(peers.PeerTest, unittest.TestCase):
    """The SMS gateway's answers to a citizen's acknowledgement SMS (sms_citizens = 1): 500
    retried; 429 retried after its Retry-After; an answer slower than sms_timeout_ms retried (the
    gateway may have sent the first: at least once); 401 (the gateway refuses civicdesk's
    credentials: configuration, as a refused SMTP AUTH) retried; a redirect is not followed (the phone number
    goes nowhere but sms_url) and fails the notice at once, shown to the administrators; a 2xx
    whose body says "no" is accepted, as the contract says (sms_success is the way to read it).
    The daemon's log names the failed notices without the citizens' phone numbers and e-mail
    addresses."""
    PREFIX = "civicdesk-audit-"

    def test_answers(self):
        smtp = self.peer("smtp", "--reject", "nobody@citizen.example")
        # every answer but the timeout's must come within sms_timeout_ms: 5 s, far above a
        # loaded machine's (at 700 ms a plain answer once timed out), under the 20 s sleep
        sms = self.peer("sms", "--script", "500,429:120,timeout,302,200nak,401",
                        "--sleep", "20")
        self.server = start_server(self.tmp, smtp.port, sms.port, "2025-11-03T09:00", {
            "CIVICDESK_SMS_QUIET": "off", "CIVICDESK_SMS_CITIZENS": "1",
            "CIVICDESK_SMS_TIMEOUT_MS": "5000"}, dbdir=self.dbdir, accounts=True)
        phones = ["1390000000%d" % i for i in range(1, 7)]
        tracking = {}

        def sms_row(phone):
            got = rows(self.server, "o.channel = 'sms' AND o.recipient = ?", (phone,))
            return got[0] if len(got) == 1 else None
        for p in phones:  # each answered in turn before the next is submitted
            r = self.server.request("POST", "/api/v1/items", json_body={
                "kind": "letter", "subject": "来信", "body": "正文", "name": "王五",
                "phone": p, "publish": False})
            self.assertEqual(r.status, 201, r)
            tracking[p] = r.json()["tracking"]
            peers.wait_for(lambda: (lambda x: x is not None and x[6] == 1 and
                                    (x[5] != "pending" or x[7]))(sms_row(p)), 30,
                           "the first answer for %s" % p)
        with db(self.server) as d:
            after = dict(d.execute("SELECT recipient, send_after FROM outbox WHERE channel = "
                                   "'sms'").fetchall())
        t0 = int(datetime.datetime(2025, 11, 3, 9, 0, tzinfo=CST).timestamp())
        self.assertEqual(after[phones[1]], t0 + 120, "Retry-After: 120 honoured")
        first = {p: sms_row(p) for p in phones}
        self.assertEqual(first[phones[0]][5:7], ("pending", 1))
        self.assertIn("500", first[phones[0]][7])
        self.assertIn("429", first[phones[1]][7])
        self.assertIn("imeout", first[phones[2]][7])
        self.assertEqual(first[phones[3]][5:7], ("failed", 1))
        self.assertIn("302", first[phones[3]][7])
        self.assertEqual(first[phones[4]][5:7], ("sent", 1))
        self.assertEqual(first[phones[5]][5:7], ("pending", 1))  # our credentials: configuration
        self.assertIn("401", first[phones[5]][7])
        # (a retried row looks settled to at_moment while it is sent: wait for the states)
        set_clock(self.server, "2025-11-03T09:01")
        peers.wait_for(lambda: sms_row(phones[0])[5:7] == ("sent", 2) and
                       sms_row(phones[2])[5:7] == ("sent", 2) and
                       sms_row(phones[5])[5:7] == ("sent", 2), 30, "500, timeout, 401 retried")
        self.assertEqual(sms_row(phones[1])[5:7], ("pending", 1))  # Retry-After not over
        set_clock(self.server, "2025-11-03T09:03")
        peers.wait_for(lambda: sms_row(phones[1])[5:7] == ("sent", 2), 30, "429 retried")
        at_moment(self.server, "2025-11-03T10:00")
        self.assertEqual(sms_row(phones[3])[5:7], ("failed", 1))  # never tried again
        recs = sms.records()
        self.assertFalse([x for x in recs if x["path"] != "/send"], "the redirect followed")
        self.assertEqual([len(texts(sms, p)) for p in phones], [2, 2, 2, 1, 1, 2])
        for p in phones:
            self.assertIn(tracking[p], texts(sms, p)[-1]["text"])
        admin = self.server.login("admin_n", PASSWORD)
        r = admin.request("GET", "/api/v1/admin/outbox?state=failed")
        self.assertEqual([(o["recipient"], o["tracking"]) for o in r.json()["outbox"]],
                         [(phones[3], tracking[phones[3]])])
        # an acknowledgement refused for good (550): failed, logged without the address
        r = self.server.request("POST", "/api/v1/items", json_body={
            "kind": "letter", "subject": "来信", "body": "正文", "name": "王五",
            "email": "nobody@citizen.example", "publish": False})
        self.assertEqual(r.status, 201, r)
        bad = r.json()["tracking"]
        peers.wait_for(lambda: [x for x in rows(self.server, "o.state = 'failed'")
                                if x[1] == bad], 30, "the refused acknowledgement")
        self.server.stop()
        log = self.server.output
        self.assertIn("sms to the citizen of %s" % tracking[phones[3]], log)
        self.assertIn("email to the citizen of %s" % bad, log)
        for secret in phones + ["nobody@citizen.example"]:
            self.assertNotIn(secret, log)


class Shutdown(peers.PeerTest, unittest.TestCase):
    """SIGTERM while the dispatcher drains a backlog: the batch in flight is finished and marked,
    the daemon stops without starting the next one, and after the restart every notice is
    delivered exactly once (the same Message-ID never twice)."""
    PREFIX = "civicdesk-audit-"

    def test_sigterm_while_draining(self):
        port = peers.free_port()
        self.server = start_server(self.tmp, port, peers.free_port(), "2025-11-03T09:00",
                                   dbdir=self.dbdir)
        n = 150
        for i in range(n):
            submit(self.server, subject="来信 %d" % i, email="c%d@example.com" % i)
        peers.wait_for(lambda: len(rows(self.server, "o.attempts = 1")) == n, 60,
                       "every acknowledgement tried once while the server is down")
        smtp = self.peer("smtp", "--delay", "0.05", port=port)
        set_clock(self.server, "2025-11-03T09:05")  # every one due at once: batches of 100
        peers.wait_for(lambda: len(mails(smtp)) >= 10, 60, "the drain to begin")
        self.server.proc.send_signal(signal.SIGTERM)
        t0 = time.time()
        self.server.stop()
        took = time.time() - t0
        delivered = len(mails(smtp))
        self.assertEqual(self.server.exit_code, 0, self.server.output[-2000:])
        self.assertLess(delivered, n, "SIGTERM waited for the whole backlog (%.1f s)" % took)
        with db(self.server) as d:
            marked = d.execute("SELECT count(*) FROM outbox WHERE state = 'sent'").fetchone()[0]
        self.assertEqual(marked, delivered, "what was delivered is marked")
        smtp.restart()  # no longer slow: the rest is sent at once
        self.server.start()
        set_clock(self.server, "2025-11-03T09:10")
        peers.wait_for(lambda: len(rows(self.server, "o.state = 'sent'")) == n, 120,
                       "every notice sent after the restart")
        ids = [m["message_id"] for m in mails(smtp)]
        self.assertEqual(len(ids), n)
        self.assertEqual(len(set(ids)), n)


    def test_kill_while_sending_sms(self):
        """kill -9 while the dispatcher sends a backlog of SMS (a citizen's acknowledgement each,
        sms_citizens = 1): each SMS is marked as soon as the gateway answers it, so after the
        restart only the one under way at the kill may go again (at least once: an SMS has no
        Message-ID by which a resend could be recognised), not the whole batch."""
        port = peers.free_port()
        self.server = start_server(self.tmp, peers.free_port(), port, "2025-11-03T09:00", {
            "CIVICDESK_SMS_QUIET": "off", "CIVICDESK_SMS_CITIZENS": "1",
            "CIVICDESK_SMTP_URL": ""}, dbdir=self.dbdir)
        n = 60
        for i in range(n):
            r = self.server.request("POST", "/api/v1/items", json_body={
                "kind": "letter", "subject": "来信 %d" % i, "body": "正文", "name": "王五",
                "phone": "1391000%04d" % i, "publish": False})
            self.assertEqual(r.status, 201, r)
        peers.wait_for(lambda: len(rows(self.server, "o.attempts = 1")) == n, 60,
                       "every SMS tried once while the gateway is down")
        # 0.08 s an SMS: the kill may come up to 4 s (50 SMS) after the tenth
        sms = self.peer("sms", "--delay", "0.08", port=port)
        set_clock(self.server, "2025-11-03T09:05")  # every one due at once: one batch
        peers.wait_for(lambda: len(texts(sms)) >= 10, 60, "the drain to begin")
        self.server.proc.send_signal(signal.SIGKILL)
        self.server.proc.wait(timeout=20)
        self.server.proc.stdout.close()
        self.server.proc = None
        before = len(texts(sms))
        self.assertLess(before, n, "drained before the kill: no test")
        sms.restart()  # no longer slow: the rest is sent at once
        self.server.start()
        set_clock(self.server, "2025-11-03T09:10")
        peers.wait_for(lambda: len(rows(self.server, "o.state = 'sent'")) == n, 120,
                       "every SMS sent after the restart")
        per = {}
        for s in texts(sms):
            per[s["phone"]] = per.get(s["phone"], 0) + 1
        self.assertEqual(len(per), n)
        self.assertLessEqual(sum(per.values()) - n, 1, "resent after the kill: %r" %
                             sorted(p for p, k in per.items() if k > 1))


    def test_kill_in_the_middle_of_an_smtp_session(self):
        """kill -9 while one SMTP session sends 60 acknowledgements and the server holds its
        answer to the 30th e-mail's data (the peer answers it never; the test kills the daemon
        once the data is in): each e-mail the server accepted was recorded before the next one
        went out (the log of accepted e-mails), so the restarted daemon marks the 29 sent before
        it sends anything, and every notice arrives exactly once. Recorded only with their
        batch after the session, the 29 came again."""
        port = peers.free_port()
        self.server = start_server(self.tmp, port, peers.free_port(), "2025-11-03T09:00",
                                   dbdir=self.dbdir)
        n, held = 60, 30
        for i in range(n):
            submit(self.server, subject="来信 %d" % i, email="k%d@example.com" % i)
        peers.wait_for(lambda: len(rows(self.server, "o.attempts = 1")) == n, 60,
                       "every acknowledgement tried once while the server is down")
        smtp = self.peer("smtp", "--hold-data", str(held), port=port)
        set_clock(self.server, "2025-11-03T09:05")  # every one due at once: one session
        peers.wait_for(lambda: [r for r in smtp.records() if "held" in r], 60,
                       "the data of e-mail %d" % held)
        self.server.proc.send_signal(signal.SIGKILL)
        self.server.proc.wait(timeout=20)
        self.server.proc.stdout.close()
        self.server.proc = None
        self.assertEqual(len(mails(smtp)), held - 1)
        self.server.start()  # at 09:00 again: the rows tried at 09:05 wait for their retry
        peers.wait_for(lambda: len(rows(self.server, "o.state = 'sent'")) == held - 1, 60,
                       "the %d accepted e-mails marked sent at the restart" % (held - 1))
        self.assertEqual(len(mails(smtp)), held - 1)
        set_clock(self.server, "2025-11-03T09:10")
        peers.wait_for(lambda: len(rows(self.server, "o.state = 'sent'")) == n, 120,
                       "every notice sent after the restart")
        per = {}
        for m in mails(smtp):
            per[m["rcpt"][0]] = per.get(m["rcpt"][0], 0) + 1
        self.assertEqual(sorted(per), sorted("k%d@example.com" % i for i in range(n)))
        again = sorted(to for to, k in per.items() if k > 1)
        self.assertLessEqual(len(again), 1, "sent again after the kill: %r" % again)
        self.assertLessEqual(max(per.values()), 2)

    def test_accepted_emails_synced_in_groups(self):
        """What a power cut can send again, shown by the system calls (kill -9 cannot show it: a
        killed process's writes stay in the page cache). One SMTP session sends 40
        acknowledgements under strace; each accepted e-mail is written to the log of accepted
        e-mails (DATABASE-sent) before the next MAIL FROM, and the log is fdatasync'd often
        enough that when any MAIL FROM is written at most 7 of its lines are not on the disk
        (DB_SENT_LOG_GROUP = 8: a power cut sends again at most 8 e-mails, the one under way
        included). Unsynced, the whole session's e-mails could come again."""
        port = peers.free_port()
        trace = os.path.join(self.tmp, "trace")
        # LeakSanitizer cannot run under ptrace (test_durable.py)
        self.server = start_server(self.tmp, port, peers.free_port(), "2025-11-03T09:00", {
            "ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") + ":detect_leaks=0"},
            dbdir=self.dbdir, wrap=["strace", "-f", "-y", "-ttt", "-s", "16", "-o", trace,
                                    "-e", "trace=write,writev,sendto,sendmsg,fdatasync,fsync"])
        n, group = 40, 8
        for i in range(n):
            submit(self.server, subject="来信 %d" % i, email="g%d@example.com" % i)
        peers.wait_for(lambda: len(rows(self.server, "o.attempts = 1")) == n, 60,
                       "every acknowledgement tried once while the server is down")
        smtp = self.peer("smtp", port=port)
        set_clock(self.server, "2025-11-03T09:05")  # every one due at once: one session
        peers.wait_for(lambda: len(rows(self.server, "o.state = 'sent'")) == n, 120,
                       "every acknowledgement sent and marked")
        self.server.stop_traced()
        self.assertEqual(len(mails(smtp)), n)
        log = self.server.db + "-sent"
        ev = durable_events(trace)
        froms = [e for e in ev if e[2] in ("write", "writev", "sendto", "sendmsg")
                 and "MAIL FROM:" in e[4]]
        lines = [e for e in ev if e[2] == "write" and e[3] == log]
        syncs = [e for e in ev if e[2] in ("fdatasync", "fsync") and e[3] == log]
        self.assertEqual(len(froms), n, "one MAIL FROM per e-mail in the trace")
        self.assertEqual(len(lines), n, "one line of the log per accepted e-mail")
        self.assertGreaterEqual(len(syncs), n // group, "the log is synced")
        for k, f in enumerate(froms[1:], 1):
            before = [w for w in lines if w[1] < f[0]]
            self.assertEqual(len(before), k, "e-mail %d recorded before the next MAIL FROM" % k)
            synced = [y for y in syncs if y[1] < f[0]]
            last = max((y[0] for y in synced), default=0.0)
            unsynced = [w for w in before if w[1] > last]
            self.assertLess(len(unsynced), group, "at MAIL FROM %d, %d accepted e-mails were "
                            "not on the disk" % (k + 1, len(unsynced)))

    def test_sigterm_while_sending_sms(self):
        """SIGTERM while a slow gateway takes a batch of SMS: the daemon stops after the SMS
        under way (not after the whole batch), and after the restart each SMS is sent once."""
        port = peers.free_port()
        self.server = start_server(self.tmp, peers.free_port(), port, "2025-11-03T09:00", {
            "CIVICDESK_SMS_QUIET": "off", "CIVICDESK_SMS_CITIZENS": "1",
            "CIVICDESK_SMTP_URL": ""}, dbdir=self.dbdir)
        n = 40
        for i in range(n):
            r = self.server.request("POST", "/api/v1/items", json_body={
                "kind": "letter", "subject": "来信 %d" % i, "body": "正文", "name": "王五",
                "phone": "1392000%04d" % i, "publish": False})
            self.assertEqual(r.status, 201, r)
        peers.wait_for(lambda: len(rows(self.server, "o.attempts = 1")) == n, 60,
                       "every SMS tried once while the gateway is down")
        # 8 s for the batch: the SIGTERM may come up to 3.4 s (17 SMS) after the first SMS,
        # however slowly this test's thread runs, and still find the batch in its first half
        sms = self.peer("sms", "--delay", "0.2", port=port)
        set_clock(self.server, "2025-11-03T09:05")
        peers.wait_for(lambda: len(texts(sms)) >= 1, 60, "the drain to begin")
        self.server.stop()
        self.assertEqual(self.server.exit_code, 0, self.server.output[-2000:])
        self.assertLess(len(texts(sms)), n // 2, "SIGTERM waited for the batch")
        sms.restart()  # no longer slow: the rest is sent at once
        self.server.start()
        set_clock(self.server, "2025-11-03T09:10")
        peers.wait_for(lambda: len(rows(self.server, "o.state = 'sent'")) == n, 120,
                       "every SMS sent after the restart")
        phones = [s["phone"] for s in texts(sms)]
        self.assertEqual(sorted(phones), sorted(set(phones)))
        self.assertEqual(len(phones), n)


class Holiday(peers.PeerTest, unittest.TestCase):
    """A forward clock due just before the 2025 National Day holiday (1-8 Oct off; Sun 28 Sep
    and Sat 11 Oct make-up working days), with the default SMS quiet hours: received Thu 25 Sep
    10:00, the forward clock is due Mon 29 Sep 23:59 (Sun 28 counted) and the reply clock Thu
    9 Oct 23:59. Nothing is sent on the holiday; the supervisors learn on Thu 9 Oct (the 2nd
    working day after the due day), with the count of working days overdue right on each day."""
    PREFIX = "civicdesk-audit-"

    def test_due_before_national_day(self):
        smtp = self.peer("smtp")
        sms = self.peer("sms")
        self.server = start_server(self.tmp, smtp.port, sms.port, "2025-09-25T10:00",
                                   dbdir=self.dbdir, accounts=True)
        item = submit(self.server)
        t = item["tracking"]
        self.assertEqual(item["clocks"]["forward"]["due"], "2025-09-29T23:59:59+08:00")
        self.assertEqual(item["clocks"]["reply"]["due"], "2025-10-09T23:59:59+08:00")
        peers.wait_for(lambda: mails(smtp, CITIZEN["email"]), 30, "the acknowledgement")
        act(self, "disp_n", t, "assign", section="法规处", assignee="hand_n")
        seen = {"m": len(mails(smtp)), "t": len(texts(sms))}

        def since():
            m, s = mails(smtp)[seen["m"]:], texts(sms)[seen["t"]:]
            seen["m"] += len(m)
            seen["t"] += len(s)
            # a message holding several notices says so first: "【2 条通知 / 2 notices】【督办】…"
            return (sorted((x["rcpt"][0], re.sub(r"^【\d+ 条通知 / \d+ notices】", "",
                                                 x["subject"]).split("】")[0].lstrip("【"))
                           for x in m),
                    sorted((x["phone"], x["text"].split(" ")[0].split("】")[1]) for x in s),
                    m, s)

        steps = [
            ("2025-09-26T12:00", [], []),
            # Sun 28 Sep, a make-up working day: the working day before the due day
            ("2025-09-28T09:00", [("hand@example.com", "提醒")], []),
            # Tue 30 Sep: forward overdue (head, e-mail and SMS); the reply's reminder
            ("2025-09-30T09:00", [("hand@example.com", "提醒"), ("head@example.com", "逾期")],
             [("13800000011", "逾期")]),
            ("2025-10-02T09:00", [], []),
            ("2025-10-08T20:00", [], []),
            # Thu 9 Oct: 2 working days after Mon 29 Sep (Tue 30 Sep, Thu 9 Oct)
            ("2025-10-09T09:00", [("sup2@example.com", "督办"), ("sup@example.com", "督办")],
             [("13800000013", "督办")]),
            # Fri 10 Oct: again; the reply clock overdue to the head
            ("2025-10-10T09:00", [("head@example.com", "逾期"), ("sup2@example.com", "督办"),
                                  ("sup@example.com", "督办")],
             [("13800000011", "逾期"), ("13800000013", "督办")]),
            # Sat 11 Oct, a make-up working day: both clocks escalated (one message each)
            ("2025-10-11T09:00", [("sup2@example.com", "督办"), ("sup@example.com", "督办")],
             [("13800000013", "督办")]),
            ("2025-10-12T09:00", [], []),
        ]
        got = {}
        for when, want_m, want_t in steps:
            at_moment(self.server, when)
            m, s, raw_m, raw_t = since()
            self.assertEqual(m, sorted(want_m), when)
            self.assertEqual(s, sorted(want_t), when)
            got[when] = (raw_m, raw_t)
        # the working days overdue, as each escalation says them
        def esc(when):
            return [x["text"] for x in got[when][1] if x["text"].startswith("【civicdesk】督办")][0]
        self.assertIn("已逾期2个工作日", esc("2025-10-09T09:00"))
        self.assertIn("已逾期3个工作日", esc("2025-10-10T09:00"))
        sat = esc("2025-10-11T09:00")
        self.assertIn("转办时限2025-09-29 23:59已逾期4个工作日", sat)
        self.assertIn("答复时限2025-10-09 23:59已逾期2个工作日", sat)
        for x in got["2025-10-09T09:00"][0]:
            self.assertIn(t, x["body"])


if __name__ == "__main__":
    harness.main()
