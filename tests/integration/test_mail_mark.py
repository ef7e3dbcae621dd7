"""A citizen's e-mail on an item that has ended (replied, closed, rejected, merged) reopens
nothing; it reached the item's staff by e-mail only, and a section working its queue never saw
it. Now the item carries a mark (schema 032): `citizen_mail` (the e-mail's time) in
GET /api/v1/queue and in the item, the open queue lists the ended items so marked, the filter
`citizen_mail=1` lists only them, the staff queue page shows the mark and how many there are,
the item page shows it with a button. Someone of the item's section clears it
(POST /api/v1/items/{tracking}/citizen_mail, or the page's form): one history row and one audit
row with it; staff of another section are refused, a second acknowledgement is 409. The e-mails
go through `civicdesk ingest-mail`."""
import os
import re
import sqlite3
import sys
import unittest
from email.header import Header
from email.mime.text import MIMEText

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from test_mailin import ingest  # noqa: E402
from test_pages import Browser  # noqa: E402

harness.BIN = os.path.abspath(harness.BIN)

PW = "Passw0rd!Mark"
SECTION = "法规处"


def mail(sender, subject, text, msgid):
    m = MIMEText(text, "plain", "utf-8")
    m["From"] = sender
    m["To"] = "director@bureau.example"
    m["Subject"] = Header(subject, "utf-8")
    m["Message-ID"] = "<%s>" % msgid
    return m.as_bytes()


class MailMark(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = harness.Server(env={"CIVICDESK_SUBMIT_RATE": "0"}).start()
        for name, role, section in (("mk_admin", "admin", None), ("mk_disp", "dispatcher", None),
                                    ("mk_hand", "handler", SECTION),
                                    ("mk_head", "section_head", SECTION),
                                    ("mk_other", "handler", "稽查处")):
            cls.server.add_user(name, role, section, password=PW)
        cls.s = {n: cls.server.login(n, PW)
                 for n in ("mk_admin", "mk_disp", "mk_hand", "mk_head", "mk_other")}

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def act(self, who, tracking, action, **fields):
        r = self.s[who].request("POST", "/api/v1/items/%s/actions/%s" % (tracking, action),
                                json_body=fields)
        self.assertEqual(r.status, 200, "%s: %r" % (action, r))

    def ingest(self, raw):
        r = ingest(self.server, raw)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout.decode().strip()

    def replied(self, sender, n):
        t = self.ingest(mail(sender, "路灯不亮 %d" % n, "人民路路灯不亮，请修理。",
                             "mark-%d@example.cn" % n))
        self.act("mk_disp", t, "assign", section=SECTION, assignee="mk_hand")
        self.act("mk_hand", t, "accept")
        self.act("mk_hand", t, "draft", text="答复：路灯已修复。")
        self.act("mk_hand", t, "submit_review")
        self.act("mk_head", t, "approve")
        self.act("mk_hand", t, "send_reply")
        return t

    def queue(self, who, query=""):
        r = self.s[who].request("GET", "/api/v1/queue?limit=100" + query)
        self.assertEqual(r.status, 200, r)
        return {i["tracking"]: i for i in r.json()["items"]}

    def item(self, tracking):
        r = self.s["mk_admin"].request("GET", "/api/v1/items/" + tracking)
        self.assertEqual(r.status, 200, r)
        return r.json()

    def audit(self, tracking, action):
        with sqlite3.connect(self.server.db, timeout=30) as con:
            return con.execute("SELECT count(*) FROM audit WHERE action = ? AND target = ?",
                               (action, tracking)).fetchone()[0]

    def test_mark_shown_filtered_and_acknowledged(self):
        sender = "mark-api@example.cn"
        t = self.replied(sender, 1)
        self.act("mk_hand", t, "close")
        # closed and not marked: not in the open queue, not in the filter
        self.assertNotIn(t, self.queue("mk_hand"))
        self.assertEqual(self.queue("mk_hand", "&citizen_mail=1"), {})
        self.assertIsNone(self.queue("mk_hand", "&state=all")[t]["citizen_mail"])
        self.assertIsNone(self.item(t)["citizen_mail"])

        self.assertEqual(self.ingest(mail(sender, "补充 " + t, "路灯今晚还是不亮。",
                                          "mark-1b@example.cn")), t)
        it = self.item(t)
        self.assertEqual(it["state"], "closed", "an e-mail reopens nothing")
        self.assertRegex(it["citizen_mail"] or "", r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00$")
        # the section's open queue lists the closed item with its mark; the filter only it
        for who in ("mk_hand", "mk_head", "mk_disp"):
            q = self.queue(who)
            self.assertIn(t, q, who)
            self.assertEqual(q[t]["citizen_mail"], it["citizen_mail"])
            self.assertEqual(list(self.queue(who, "&citizen_mail=1")), [t], who)
        self.assertEqual(self.queue("mk_hand", "&state=all&citizen_mail=1")[t]["state"], "closed")
        self.assertNotIn(t, self.queue("mk_other"))
        r = self.s["mk_hand"].request("GET", "/api/v1/queue?citizen_mail=maybe")
        self.assertEqual((r.status, r.json()["error"]["field"]), (400, "citizen_mail"))

        # another section's handler cannot clear it; the item's handler does, once
        r = self.s["mk_other"].request("POST", "/api/v1/items/%s/citizen_mail" % t)
        self.assertIn(r.status, (403, 404), r)
        r = self.s["mk_hand"].request("POST", "/api/v1/items/%s/citizen_mail" % t,
                                      json_body={"note": "已电话联系来信人"})
        self.assertEqual(r.status, 200, r)
        self.assertIsNone(r.json()["citizen_mail"])
        last = self.item(t)["history"][-1]
        self.assertEqual((last["action"], last["actor"]), ("citizen_mail_seen", "mk_hand"))
        self.assertIn("已电话联系来信人", last["note"])
        self.assertEqual(self.audit(t, "citizen_mail_seen"), 1)
        self.assertNotIn(t, self.queue("mk_hand"))
        self.assertEqual(self.queue("mk_disp", "&citizen_mail=1"), {})
        r = self.s["mk_hand"].request("POST", "/api/v1/items/%s/citizen_mail" % t)
        self.assertEqual((r.status, r.json()["error"]["code"]), (409, "not_marked"))
        self.assertEqual(self.audit(t, "citizen_mail_seen"), 1)

    def test_replied_item_on_the_pages(self):
        sender = "mark-page@example.cn"
        t = self.replied(sender, 2)
        b = Browser(self.server)
        b.get("/staff/login?lang=en")
        self.assertEqual(b.post("/staff/login", {"username": "mk_head", "password": PW}).status,
                         303)
        page = b.get("/staff/?lang=en").body.decode()
        self.assertNotIn("New e-mail after the end", page)
        self.assertEqual(self.ingest(mail(sender, "Re: 路灯不亮 2 " + t, "还有一盏不亮。",
                                          "mark-2b@example.cn")), t)
        self.assertEqual(self.item(t)["state"], "replied")
        self.assertIsNotNone(self.queue("mk_head")[t]["citizen_mail"])
        page = b.get("/staff/").body.decode()
        row = re.search(r'<tr[^>]*>\s*<th scope="row"><a href="/staff/item/%s">.*?</tr>' % t,
                        page, re.S)
        self.assertTrue(row, page)
        self.assertIn("New e-mail after the end", row.group(0))
        self.assertIn('id="citizen-mail-notice"', page)
        self.assertIn("citizen_mail=1", page)
        only = b.get("/staff/?state=open&q=&citizen_mail=1").body.decode()
        self.assertIn("/staff/item/%s" % t, only)
        self.assertIn('name="citizen_mail" value="1" checked', only)
        page = b.get("/staff/item/" + t).body.decode()
        self.assertIn('id="citizen-mail"', page)
        self.assertIn('action="/staff/item/%s/citizen_mail"' % t, page)
        r = b.post("/staff/item/%s/citizen_mail" % t, {})
        self.assertEqual((r.status, r.header("Location")),
                         (303, "/staff/item/%s?done=citizen_mail" % t))
        self.assertIsNone(self.item(t)["citizen_mail"])
        self.assertEqual(self.item(t)["history"][-1]["action"], "citizen_mail_seen")
        self.assertEqual(self.audit(t, "citizen_mail_seen"), 1)
        page = b.get("/staff/item/%s?done=citizen_mail" % t).body.decode()
        self.assertNotIn('id="citizen-mail"', page)
        self.assertIn("marked as read", page)
        self.assertNotIn("New e-mail after the end", b.get("/staff/").body.decode())

    def test_rejected_item_without_a_section(self):
        sender = "mark-rej@example.cn"
        t = self.ingest(mail(sender, "广告", "推广信息。", "mark-3@example.cn"))
        self.act("mk_disp", t, "reject", note="非本局职责")
        self.assertEqual(self.ingest(mail(sender, "为什么 " + t, "为什么不受理？",
                                          "mark-3b@example.cn")), t)
        self.assertIn(t, self.queue("mk_disp", "&citizen_mail=1"))
        self.assertIn(t, self.queue("mk_disp"))
        r = self.s["mk_hand"].request("POST", "/api/v1/items/%s/citizen_mail" % t)
        self.assertIn(r.status, (403, 404), r)
        r = self.s["mk_disp"].request("POST", "/api/v1/items/%s/citizen_mail" % t)
        self.assertEqual(r.status, 200, r)
        self.assertNotIn(t, self.queue("mk_disp"))


if __name__ == "__main__":
    harness.main()
