"""A staff form sent without script after its session ended, on every staff form that carries
typed text: the sign-in holds what was typed (hidden fields, never an address or a log) and
signing in shows the form filled again, not sent; the section and assignee chosen stay chosen;
the public version, the citizen's e-mail acknowledgement and the administrators' account and
section forms come back too; and so do they when the sign-in must first go through the password
change and the second factor's enrolment (each step's form token checked)."""
import base64
import hashlib
import hmac
import html
import os
import re
import struct
import subprocess
import sys
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from test_pages import Browser  # noqa: E402

harness.BIN = os.path.abspath(harness.BIN)

PW = "Passw0rd!Resume"
SECTION = "法规处"
OTHER = "稽查处"
SAME = {"Sec-Fetch-Site": "same-origin", "Origin": "null"}
LATER = 5 * 3600  # past the idle timeout


def totp(secret, now):
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    mac = hmac.new(key, struct.pack(">Q", now // 30), hashlib.sha1).digest()
    off = mac[-1] & 0x0F
    return "%06d" % ((struct.unpack(">I", mac[off:off + 4])[0] & 0x7FFFFFFF) % 10**6)


def hidden(page):
    """The draft's hidden fields of a page: {name: value}."""
    return dict((k, html.unescape(v)) for k, v in re.findall(
        r'<input type="hidden" name="(draft_[a-z_]+)" value="([^"]*)">', page))


def textarea(page, id_):
    m = re.search(r'<textarea id="%s"[^>]*>(.*?)</textarea>' % id_, page, re.S)
    return html.unescape(m.group(1)) if m else None


def value(page, id_):
    m = re.search(r'<input [^>]*id="%s"[^>]*value="([^"]*)"' % id_, page)
    return html.unescape(m.group(1)) if m else None


def selected(page, id_):
    m = re.search(r'<select id="%s"[^>]*>(.*?)</select>' % id_, page, re.S)
    opts = re.findall(r'<option value="([^"]*)"( selected)?', m.group(1))
    return [html.unescape(v) for v, s in opts if s]


class Resume(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = harness.Server(env={"CIVICDESK_SUBMIT_RATE": "0"},
                                    db_from=harness.new_db()).start()
        for name, role, section in (("disp_r", "dispatcher", None), ("admin_r", "admin", None),
                                    ("hand_r", "handler", SECTION),
                                    ("hand_r2", "handler", SECTION),
                                    ("head_r", "section_head", SECTION)):
            cls.server.add_user(name, role, section, password=PW)

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def setUp(self):
        self.api = {}  # sessions of this test (a moved clock ends those of another)

    def tearDown(self):
        self.server.set_clock(None)

    def act(self, who, t, action, **fields):
        if who not in self.api:
            self.api[who] = self.server.login(who, PW)
        r = self.api[who].request("POST", "/api/v1/items/%s/actions/%s" % (t, action),
                                  json_body=fields)
        self.assertEqual(r.status, 200, "%s %s: %r" % (who, action, r))

    def submit(self, subject="路灯不亮", email=None):
        body = {"kind": "letter", "subject": subject, "body": "小区门口的路灯坏了。",
                "name": "张三", "phone": "13812345678", "publish": True}
        if email:
            body["email"] = email
        r = self.server.request("POST", "/api/v1/items", json_body=body)
        self.assertEqual(r.status, 201, r)
        return r.json()["tracking"]

    def replied(self, email=None):
        t = self.submit(email=email)
        self.act("disp_r", t, "assign", section=SECTION)
        self.act("hand_r", t, "accept")
        self.act("hand_r", t, "draft", text="路灯已修复。")
        self.act("hand_r", t, "submit_review")
        self.act("head_r", t, "approve")
        self.act("hand_r", t, "send_reply")
        return t

    def item(self, t):
        return self.server.login("disp_r", PW).request("GET", "/api/v1/items/" + t).json()

    def expire(self, who, path, password=PW):
        """who signed in on path, whose session then ends: the browser and the page's token."""
        self.server.set_clock(None)
        b = Browser(self.server)
        b.get("/staff/login?lang=en")
        r = b.post("/staff/login", {"username": who, "password": password})
        self.assertEqual(r.status, 303, b.text())
        r = b.get(path)
        token = b.csrf() if r.status == 200 else "x" * 43
        self.server.set_clock(int(time.time()) + LATER)
        return b, token

    def held(self, b, r, form):
        """The sign-in in the form's place, holding it; its hidden fields."""
        self.assertEqual(r.status, 401, b.text()[-1500:])
        self.assertIn('action="/staff/login"', b.text())
        h = hidden(b.text())
        self.assertEqual(h.get("draft_form"), form, b.text()[-1500:])
        return h

    def no_leak(self, b, *texts):
        """Nothing typed in an address: the Location headers the browser saw, and the log."""
        loc = b.last.header("Location") or ""
        for t in texts:
            self.assertNotIn(t, loc)

    def test_action_keeps_section_and_assignee_chosen(self):
        t = self.submit(subject="转办科室保留")
        b, token = self.expire("disp_r", "/staff/item/" + t)
        r = b.request("POST", "/staff/item/" + t, headers=SAME, fields={
            "csrf_token": token, "action": "assign", "section": OTHER,
            "assignee": "hand_r2", "note": "请稽查处办理"})
        h = self.held(b, r, "act")
        self.assertEqual((h["draft_section"], h["draft_assignee"], h["draft_note"]),
                         (OTHER, "hand_r2", "请稽查处办理"))
        r = b.post("/staff/login", dict(h, username="disp_r", password=PW))
        self.assertEqual(r.status, 200, b.text()[-1500:])
        page = b.text()
        self.assertEqual(selected(page, "assign-section"), [OTHER])
        self.assertEqual(selected(page, "assign-assignee"), ["hand_r2"])
        self.assertEqual(textarea(page, "assign-note"), "请稽查处办理")
        self.assertEqual(self.item(t)["state"], "received", "not sent by itself")
        # a page shown without a draft chooses nothing
        b.get("/staff/item/" + t)
        self.assertEqual(selected(b.text(), "assign-assignee"), [])

    def test_public_version(self):
        t = self.replied()
        b, token = self.expire("head_r", "/staff/item/" + t)
        self.assertIn('id="pub-body"', b.text())
        typed = {"subject": "小区路灯维修（公开）", "body": "某小区门口路灯不亮，<i>已核实</i>。",
                 "reply": "已于周二修复。"}
        r = b.request("POST", "/staff/item/%s/public" % t, headers=SAME,
                      fields=dict(typed, csrf_token=token, publish="1"))
        h = self.held(b, r, "public")
        self.assertEqual(h["draft_item"], t)
        self.assertEqual(h["draft_body"], typed["body"])
        self.assertNotIn("<i>已核实</i>", b.text(), "escaped")
        self.assertIn("What you typed is held on this page", b.text())
        r = b.post("/staff/login", dict(h, username="head_r", password=PW))
        self.assertEqual(r.status, 200, b.text()[-1500:])
        page = b.text()
        self.assertIn('id="flash"', page)
        self.assertEqual(value(page, "pub-subject"), typed["subject"])
        self.assertEqual(textarea(page, "pub-body"), typed["body"])
        self.assertEqual(textarea(page, "pub-reply"), typed["reply"])
        self.assertEqual(self.server.request("GET", "/api/v1/public/items/" + t).status, 404,
                         "not published by itself")
        # sent now with this page's token, it is published as typed
        r = b.post("/staff/item/%s/public" % t, dict(typed, publish="1", confirm="1"))
        self.assertEqual(r.status, 303, b.text()[-1500:])
        pub = self.server.request("GET", "/api/v1/public/items/" + t)
        self.assertEqual(pub.status, 200)
        self.assertIn("小区路灯维修（公开）", pub.body.decode())

    def test_citizen_mail_acknowledgement(self):
        sender = "resume-mail@example.cn"
        t = self.replied(email=sender)
        raw = ("From: %s\r\nTo: civicdesk@bureau.example\r\nSubject: Re: [%s] thanks\r\n"
               "Message-ID: <resume-1@example.cn>\r\nDate: Mon, 30 Nov 2026 09:00:00 +0800\r\n"
               "Content-Type: text/plain; charset=utf-8\r\n\r\nThe lamp is still off.\r\n"
               % (sender, t)).encode()
        p = subprocess.run([harness.BIN, "ingest-mail"], input=raw, capture_output=True,
                           env=dict(os.environ, CIVICDESK_DB=self.server.db), timeout=120)
        self.assertEqual(p.stdout.decode().strip(), t, p.stderr)
        b, token = self.expire("hand_r", "/staff/item/" + t)
        self.assertIn('/citizen_mail"', b.text(), "the acknowledgement's button")
        r = b.request("POST", "/staff/item/%s/citizen_mail" % t, headers=SAME,
                      fields={"csrf_token": token})
        h = self.held(b, r, "citizen_mail")
        self.assertEqual(h, {"draft_form": "citizen_mail", "draft_item": t})
        self.assertIn("press the button again", b.text())
        r = b.post("/staff/login", dict(h, username="hand_r", password=PW))
        self.assertEqual(r.status, 200, b.text()[-1500:])
        self.assertIn("is not marked as read", b.text())
        self.assertIn('/citizen_mail"', b.text(), "still to acknowledge: not sent by itself")
        r = b.post("/staff/item/%s/citizen_mail" % t, {})
        self.assertEqual(r.status, 303, b.text()[-1500:])
        b.get("/staff/item/" + t)
        self.assertNotIn('/citizen_mail"', b.text())

    def test_admin_new_account(self):
        b, token = self.expire("admin_r", "/staff/admin")
        typed = {"username": "new_clerk", "role": "section_head", "section": OTHER,
                 "display_name": "王五 <b>", "email": "wang@bureau.example",
                 "phone": "13900001111"}
        r = b.request("POST", "/staff/admin/accounts", headers=SAME,
                      fields=dict(typed, csrf_token=token))
        h = self.held(b, r, "account")
        self.assertEqual(h["draft_display_name"], "王五 <b>")
        r = b.post("/staff/login", dict(h, username="admin_r", password=PW))
        self.assertEqual(r.status, 200, b.text()[-1500:])
        page = b.text()
        self.assertIn('id="flash"', page)
        for field, id_ in (("username", "new-username"), ("display_name", "new-display-name"),
                           ("email", "new-email"), ("phone", "new-phone")):
            self.assertEqual(value(page, id_), typed[field], field)
        self.assertEqual(selected(page, "new-role"), ["section_head"])
        self.assertEqual(selected(page, "new-section"), [OTHER])
        r = self.server.cli("user", "list", leaks=False)
        self.assertNotIn("new_clerk", r.stdout, "not created by itself")

    def test_admin_sections(self):
        b, token = self.expire("admin_r", "/staff/admin")
        r = b.request("POST", "/staff/admin/sections", headers=SAME, fields={
            "csrf_token": token, "name": "督查室", "email": "dc@bureau.example"})
        h = self.held(b, r, "section")
        r = b.post("/staff/login", dict(h, username="admin_r", password=PW))
        self.assertEqual(r.status, 200, b.text()[-1500:])
        self.assertEqual(value(b.text(), "new-section-name"), "督查室")
        self.assertEqual(value(b.text(), "new-section-email"), "dc@bureau.example")
        self.assertNotIn('value="督查室" class="short"', b.text(), "not added by itself")
        # a section's row: its name, e-mail and box as sent
        sid = re.search(r'id="sec-(\d+)-name" name="name" maxlength="100" value="%s"' % OTHER,
                        b.text()).group(1)
        b, token = self.expire("admin_r", "/staff/admin")
        r = b.request("POST", "/staff/admin/sections/" + sid, headers=SAME, fields={
            "csrf_token": token, "name": "稽查一处", "email": "jc1@bureau.example"})
        h = self.held(b, r, "section_change")
        self.assertEqual(h["draft_item"], sid)
        r = b.post("/staff/login", dict(h, username="admin_r", password=PW))
        self.assertEqual(r.status, 200, b.text()[-1500:])
        page = b.text()
        self.assertEqual(value(page, "sec-%s-name" % sid), "稽查一处")
        self.assertEqual(value(page, "sec-%s-email" % sid), "jc1@bureau.example")
        self.assertNotRegex(page, r'id="sec-%s-active"[^>]* checked' % sid, "the box as sent")
        # a sign-in of another role with an administrator's draft: the staff home, no form
        b2, _ = self.expire("hand_r", "/staff/")
        b2.get("/staff/login")
        r = b2.post("/staff/login", dict(h, username="hand_r", password=PW))
        self.assertEqual((r.status, r.header("Location")), (303, "/staff/"))
        # a draft naming no section number is not carried
        b3, _ = self.expire("admin_r", "/staff/admin")
        b3.get("/staff/login")
        r = b3.post("/staff/login", dict(h, draft_item="1;x", username="admin_r", password=PW))
        self.assertEqual(r.status, 303)

    def test_wrong_token_carries_nothing(self):
        b, _ = self.expire("admin_r", "/staff/admin")
        b.get("/staff/login?lang=en")
        r = b.request("POST", "/staff/login", fields={
            "csrf_token": "x" * 43, "username": "admin_r", "password": PW,
            "draft_form": "section", "draft_item": "", "draft_name": "注入的科室"})
        self.assertEqual(r.status, 403)
        self.assertNotIn("注入的科室", b.text())
        self.assertNotIn("draft_", b.text())


class ThroughPasswordAndSecondFactor(unittest.TestCase):
    """A handler with a one-time password whose role needs a second factor: the draft goes
    through the password change and the enrolment to the item's form."""

    REPLY = "答复草稿：已联系供电所，<b>本周内</b>修复。"

    @classmethod
    def setUpClass(cls):
        cls.server = harness.Server(env={"CIVICDESK_SUBMIT_RATE": "0",
                                         "CIVICDESK_TOTP_ROLES": "handler",
                                         "CIVICDESK_TOTP_GRACE": "0"},
                                    db_from=harness.new_db()).start()
        cls.server.add_user("disp_t", "dispatcher", password=PW)

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def test_draft_through_password_change_and_enrolment(self):
        srv = self.server
        r = srv.cli("user", "add", "hand_t", "--role", "handler", "--section", SECTION,
                     leaks=False)
        otp = re.search(r"one-time password: (\S+)", r.stdout).group(1)
        disp = srv.login("disp_t", PW)
        r = srv.request("POST", "/api/v1/items", json_body={
            "kind": "letter", "subject": "密码与双因素", "body": "路灯坏了。", "name": "李四",
            "phone": "13812345678", "publish": False})
        self.assertEqual(r.status, 201, r)
        t = r.json()["tracking"]
        r = disp.request("POST", "/api/v1/items/%s/actions/assign" % t,
                         json_body={"section": SECTION})
        self.assertEqual(r.status, 200, r)
        t0 = int(time.time())
        srv.set_clock(t0)
        try:
            b = Browser(srv)
            b.get("/staff/login?lang=en")
            r = b.post("/staff/login", {"username": "hand_t", "password": otp})
            self.assertEqual(r.header("Location"), "/staff/password")
            srv.set_clock(t0 + LATER)
            r = b.request("POST", "/staff/item/" + t, headers=SAME, fields={
                "csrf_token": "x" * 43, "action": "accept", "note": self.REPLY})
            self.assertEqual(r.status, 401, b.text()[-1500:])
            h = hidden(b.text())
            self.assertEqual(h, {"draft_form": "act", "draft_item": t,
                                 "draft_action": "accept", "draft_note": self.REPLY})
            # the sign-in: the password page next, holding the draft
            r = b.post("/staff/login", dict(h, username="hand_t", password=otp))
            self.assertEqual(r.status, 200, b.text()[-1500:])
            self.assertIn('action="/staff/password"', b.text())
            self.assertIn('id="draft-held"', b.text())
            self.assertEqual(hidden(b.text()), h)
            self.assertNotIn("<b>本周内</b>", b.text(), "escaped")
            # a refused password keeps it; a wrong token carries nothing
            new = "Lamp-Post-Wq92-x"
            r = b.post("/staff/password", dict(h, current="wrong", new=new))
            self.assertEqual(r.status, 400)
            self.assertEqual(hidden(b.text()), h)
            r = b.post("/staff/password", dict(h, current=otp, new=new))
            # the enrolment next, holding it in each step's form
            self.assertEqual(r.status, 200, b.text()[-1500:])
            self.assertIn('id="totp-start"', b.text())
            self.assertEqual(hidden(b.text()), h)
            r = b.post("/staff/totp/enroll", h)
            self.assertEqual(r.status, 200, b.text()[-1500:])
            self.assertEqual(hidden(b.text()), h)
            secret = html.unescape(re.search(r'id="totp-secret">([^<]*)<',
                                             b.text()).group(1)).replace(" ", "")
            r = b.post("/staff/totp/confirm", dict(h, code=totp(secret, t0 + LATER)))
            self.assertEqual(r.status, 200, b.text()[-1500:])
            self.assertEqual(len(re.findall(r'<li><span class="code">', b.text())), 10)
            self.assertIn('action="/staff/resume"', b.text())
            self.assertEqual(hidden(b.text()), h)
            # the codes' page's button: the item's form filled, not sent
            r = b.post("/staff/resume", h)
            self.assertEqual(r.status, 200, b.text()[-1500:])
            self.assertIn('id="flash"', b.text())
            self.assertEqual(textarea(b.text(), "accept-note"), self.REPLY)
            it = disp.request("GET", "/api/v1/items/" + t)
            if it.status != 200:
                it = srv.login("disp_t", PW).request("GET", "/api/v1/items/" + t)
            self.assertEqual(it.json()["state"], "assigned", "not sent by itself")
            r = b.post("/staff/item/" + t, {"action": "accept", "note": self.REPLY})
            self.assertEqual(r.status, 303, b.text()[-1500:])
            # the resume's form token is checked
            r = b.post("/staff/resume", dict(h, csrf_token="x" * 43))
            self.assertEqual(r.status, 403)
            self.assertNotIn("本周内", b.text())
        finally:
            srv.set_clock(None)
        # what was typed went through no log: the daemon's lines, one per request
        srv.stop()
        self.assertIn("/staff/resume", srv.output)
        self.assertNotIn("本周内", srv.output)
        self.assertNotIn(urllib.parse.quote("本周内"), srv.output)


if __name__ == "__main__":
    harness.main()
