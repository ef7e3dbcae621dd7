"""The mail-in contract against mail as real clients and servers write it: the hand-laid corpus
of tests/data/mail/real/ (Foxmail, QQ Mail, 163, Outlook with TNEF and S/MIME, Apple Mail,
Gmail, Thunderbird with RFC 2231 and OpenPGP, ISO-2022-JP, Big5, raw 8-bit GBK, automatic mail
as Exchange, 163 and vacation programs mark it, bounces) piped to `civicdesk ingest-mail` and
polled from a real Dovecot: the line on stdout, the exit code, and the item as
GET /api/v1/items/{tracking} shows it to staff (channel, kind, subject, body, sender,
attachments with their decoded names, byte sizes and types), the same by either way in. Then
what a citizen does next (a reply with a file adds to the item, CRLF or LF alike) and what a
temporary failure does (75, nothing stored, then stored once)."""
import base64
import os
import re
import sqlite3
import subprocess
import sys
import unittest
from email import encoders
from email.header import Header
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from urllib.parse import quote

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dovecot  # noqa: E402
import harness  # noqa: E402
import peers  # noqa: E402

harness.BIN = os.path.abspath(harness.BIN)
MAIL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "mail")
REAL = os.path.join(MAIL, "real")
TRACKING = r"^XJ-\d{8}-\d{5}$"


def ingest(server, raw, timeout=120, env_extra=None):
    env = dict(os.environ, CIVICDESK_DB=server.db)
    env.update(env_extra or {})
    return subprocess.run([harness.BIN, "ingest-mail"], input=raw, capture_output=True,
                          env=env, timeout=timeout)


def cases(top=REAL):
    """The cases of a corpus folder, by their paths."""
    return sorted(os.path.join(top, d) for d in os.listdir(top)
                  if os.path.exists(os.path.join(top, d, "message.eml")))


def read(case, name):
    """A case's expected value (case: its name in REAL, or its path)."""
    path = os.path.join(REAL, case, name)
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        return f.read()[:-1]  # the file's last line end


def raw(case):
    with open(os.path.join(REAL, case, "message.eml"), "rb") as f:
        return f.read()


def message_id(data):
    m = re.search(rb"^Message-I[dD]: *<([^>]+)>", data, re.M | re.I)
    return m.group(1).decode() if m else None


def item_view(it):
    """What the contract fixes of an item that came by e-mail."""
    return {"channel": it["channel"], "kind": it["kind"], "subject": it["subject"],
            "body": it["body"], "email": it.get("email"), "name": it.get("name"),
            "attachments": [(a["filename"], a["size"], a["content_type"])
                            for a in it["attachments"]]}


def expected_view(case):
    sender = read(case, "from")
    m = re.match(r"^(.*) <(.*)>$", sender)
    name, email = (m.group(1), m.group(2)) if m else (None, sender)
    atts = []
    for line in (read(case, "attachments") or "").splitlines():
        fn, size, ctype = line.split("\t")
        atts.append((fn, None if size == "*" else int(size), ctype))
    return {"channel": "email", "kind": read(case, "kind"), "subject": read(case, "subject"),
            "body": read(case, "body"), "email": email, "name": name, "attachments": atts}


class RealMail(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = harness.Server(env={"CIVICDESK_SUBMIT_RATE": "0"}, db_from=harness.new_db()).start()
        cls.admin = cls.server.staff("real_admin", "admin")

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def item(self, tracking):
        r = self.admin.request("GET", "/api/v1/items/" + tracking)
        self.assertEqual(r.status, 200, r)
        return item_view(r.json())

    def assertItem(self, got, want):
        # a size given as "*" (a forwarded message re-serialised) is not compared
        got = dict(got, attachments=[(f, s if w[1] is not None else None, t) for (f, s, t), w
                                     in zip(got["attachments"], want["attachments"])]
                   + got["attachments"][len(want["attachments"]):])
        self.assertEqual(got, want)

    def db(self):
        return sqlite3.connect(self.server.db, timeout=30)

    def test_piped(self):
        """Each message piped: its exit code, its one line, and the item staff see."""
        n = 0
        for case in cases():
            with self.subTest(case=os.path.basename(case)):
                data = raw(case)
                r = ingest(self.server, data)
                self.assertEqual(r.returncode, int(read(case, "exit") or 0), r.stderr)
                if r.returncode != 0:  # never storable: no line (the reason on stderr)
                    self.assertEqual(r.stdout, b"")
                    self.assertTrue(r.stderr.strip(), "the MTA's bounce says why")
                    continue
                lines = r.stdout.decode().splitlines()
                self.assertEqual(len(lines), 1, r.stdout)
                ignored = read(case, "ignored")
                if ignored is not None:
                    self.assertTrue(lines[0] == "ignored: " + ignored or
                                    lines[0].startswith("ignored: " + ignored + ": "), lines[0])
                    with self.db() as con:
                        row = con.execute("SELECT outcome, item_id, raw FROM mail_in WHERE "
                                          "message_id = ?", (message_id(data),)).fetchone()
                    self.assertEqual(row, ("ignored", None, None))
                    continue
                self.assertRegex(lines[0], TRACKING)
                self.assertItem(self.item(lines[0]), expected_view(case))
                if read(case, "lang") is not None:  # the citizen's language, when said
                    r = self.admin.request("GET", "/api/v1/items/" + lines[0])
                    self.assertEqual(r.json()["lang"], read(case, "lang"))
                with self.db() as con:
                    kept = con.execute("SELECT m.raw FROM mail_in m JOIN items i ON "
                                       "i.id = m.item_id WHERE i.tracking = ?",
                                       (lines[0],)).fetchone()[0]
                self.assertEqual(kept, data, "the raw message is kept byte for byte")
                n += 1
        self.assertGreaterEqual(n, 15)

    def test_crlf_and_lf_alike(self):
        """The same message with CRLF (as IMAP and Windows clients give it) and LF line ends
        (as an MTA pipes it) makes the same item."""
        data = raw("foxmail-gbk-in-gb2312")
        self.assertIn(b"\r\n", data)
        views = []
        for i, d in enumerate((data, data.replace(b"\r\n", b"\n"))):
            d = d.replace(b"<202603021030124853271@foxmail.com>", b"<crlf-%d@foxmail.com>" % i)
            r = ingest(self.server, d)
            self.assertEqual(r.returncode, 0, r.stderr)
            views.append(self.item(r.stdout.decode().strip()))
        self.assertEqual(views[0], views[1])
        self.assertItem(views[1], expected_view("foxmail-gbk-in-gb2312"))

    def test_mbox_from_line(self):
        """Piped with the mbox From_ line first (Postfix pipe's F flag, procmail): the same
        letter."""
        data = b"From zhang_xs@163.com  Mon Mar  2 08:15:41 2026\n" + raw(
            "netease-163-coremail").replace(b"Coremail.zhang_xs@163.com", b"mbox@163.com")
        r = ingest(self.server, data)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertItem(self.item(r.stdout.decode().strip()), expected_view("netease-163-coremail"))

    def test_reused_message_id(self):
        """A scanner that writes the same Message-ID on every scan: each scan is a letter of
        its own (another Date), never answered as the first one's duplicate and lost; the
        same scan again (an MTA's retry) is still a duplicate."""
        first = raw("only-an-attachment")
        second = first.replace(b"Mon, 2 Mar 2026 09:33:00 +0800", b"Tue, 3 Mar 2026 10:01:00 +0800"
                               ).replace(b"Scanned from MFP-3F", b"Scanned from MFP-3F (2)")
        self.assertNotEqual(first, second)
        first = first.replace(b"1772415180.42.mfp3f", b"static.mfp3f")
        second = second.replace(b"1772415180.42.mfp3f", b"static.mfp3f")
        lines = []
        for data in (first, second, second):
            r = ingest(self.server, data)
            self.assertEqual(r.returncode, 0, r.stderr)
            lines.append(r.stdout.decode().strip())
        self.assertRegex(lines[0], TRACKING)
        self.assertRegex(lines[1], TRACKING)
        self.assertNotEqual(lines[0], lines[1], "the second scan is a letter of its own")
        self.assertEqual(self.item(lines[1])["subject"], "Scanned from MFP-3F (2)")
        self.assertEqual(lines[2], lines[1], "the same scan again is a duplicate")


def foxmail_reply(original_id, subject, text, photo, msgid):
    """The citizen's answer as Foxmail writes it: 回复: and the subject, In-Reply-To and
    References naming their letter, the text in gb2312, a photo attached."""
    return crlf(
        "Date: Tue, 3 Mar 2026 09:12:40 +0800\n"
        "From: \"%s\" <wangfang@foxmail.com>\n"
        "To: director <director@bureau.example>\n"
        "Subject: %s\n"
        "References: <%s>\n"
        "In-Reply-To: <%s>\n"
        "X-Mailer: Foxmail 7.2.25.228[cn]\n"
        "Mime-Version: 1.0\n"
        "Message-ID: <%s>\n"
        "Content-Type: multipart/mixed;\n"
        "\tboundary=\"----=_001_NextPart567890123456_=----\"\n\n"
        "This is a multi-part message in MIME format.\n\n"
        "------=_001_NextPart567890123456_=----\n"
        "Content-Type: text/plain;\n\tcharset=\"gb2312\"\n"
        "Content-Transfer-Encoding: base64\n\n%s\n\n"
        "------=_001_NextPart567890123456_=----\n"
        "Content-Type: image/png;\n\tname=\"%s\"\n"
        "Content-Transfer-Encoding: base64\n"
        "Content-Disposition: attachment;\n\tfilename=\"%s\"\n\n%s\n\n"
        "------=_001_NextPart567890123456_=------\n\n"
        % (bword("王芳", "gb2312", "gbk"), bword("回复: " + subject, "gb2312", "gbk"),
           original_id, original_id, msgid, b64(text.encode("gbk")),
           bword("夜间施工.png", "gb2312", "gbk"), bword("夜间施工.png", "gb2312", "gbk"),
           b64(photo))).encode()


def crlf(s):
    return s.replace("\n", "\r\n")


def bword(text, label, codec):
    return "=?%s?B?%s?=" % (label, base64.b64encode(text.encode(codec)).decode())


def b64(data):
    s = base64.b64encode(data).decode()
    return "\n".join(s[i:i + 76] for i in range(0, len(s), 76))


PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(200))


class CitizenAnswers(unittest.TestCase):
    """A citizen's reply to their letter, with a photo, adds to their item (the line is that
    item's number); while the database is held by another process it is 75 and nothing of it
    is stored (no file, no history, no mail_in row), then it is stored once."""

    def setUp(self):
        self.server = harness.Server(env={"CIVICDESK_SUBMIT_RATE": "0"}, db_from=harness.new_db()).start()
        self.admin = self.server.staff("answer_admin", "admin")

    def tearDown(self):
        self.server.cleanup()

    def item(self, tracking):
        r = self.admin.request("GET", "/api/v1/items/" + tracking)
        self.assertEqual(r.status, 200, r)
        return r.json()

    def counts(self, tracking):
        con = sqlite3.connect(self.server.db, timeout=30)
        try:
            return con.execute(
                "SELECT (SELECT count(*) FROM attachments a JOIN items i ON i.id = a.item_id "
                "WHERE i.tracking = ?), (SELECT count(*) FROM history h JOIN items i ON "
                "i.id = h.item_id WHERE i.tracking = ?), (SELECT count(*) FROM mail_in), "
                "(SELECT count(*) FROM items)", (tracking, tracking)).fetchone()
        finally:
            con.close()

    def test_reply_with_photo_and_busy_database(self):
        r = ingest(self.server, raw("foxmail-gbk-in-gb2312"))
        self.assertEqual(r.returncode, 0, r.stderr)
        tracking = r.stdout.decode().strip()
        self.assertRegex(tracking, TRACKING)
        before = self.counts(tracking)
        reply = foxmail_reply("202603021030124853271@foxmail.com", read(
            "foxmail-gbk-in-gb2312", "subject"), "工地昨晚又施工到两点，附照片。", PNG,
            "202603030912401234567@foxmail.com")

        con = sqlite3.connect(self.server.db, timeout=30, isolation_level=None)
        try:
            con.execute("BEGIN IMMEDIATE")
            # (a test build waits 300 ms for the lock, not the 10 s of BUSY_TIMEOUT_MS)
            r = ingest(self.server, reply, env_extra={"CIVICDESK_TEST_BUSY_MS": "300"})
            self.assertEqual(r.returncode, 75, r.stderr)
            self.assertEqual(r.stdout, b"")
            con.execute("ROLLBACK")
        finally:
            con.close()
        self.assertEqual(self.counts(tracking), before, "nothing of it stored")

        for _ in range(2):  # the MTA's retry, then the same message again
            r = ingest(self.server, reply)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stdout.decode(), tracking + "\n")
        it = self.item(tracking)
        self.assertEqual([(a["filename"], a["size"], a["content_type"])
                          for a in it["attachments"]][1:], [("夜间施工.png", len(PNG), "image/png")])
        notes = [h for h in it["history"] if h["action"] == "citizen_mail"]
        self.assertEqual(len(notes), 1, it["history"])
        self.assertEqual(notes[0]["note"], "工地昨晚又施工到两点，附照片。")
        att, hist, mails, items = self.counts(tracking)
        self.assertEqual((att, hist, mails, items),
                         (before[0] + 1, before[1] + 1, before[2] + 1, before[3]))


class SmtpDaemon(peers.PeerClass):
    """PeerClass with the daemon these classes share: mail goes to the class's SMTP peer at
    once (50 ms polls), no submission limit, no digest; cls.admin is an administrator named
    ADMIN."""
    ADMIN = "smtp_admin"

    @classmethod
    def start_daemon(cls):
        cls.server = harness.Server(env={
            "CIVICDESK_SMTP_URL": "smtp://127.0.0.1:%d" % cls.smtp.port,
            "CIVICDESK_SMTP_FROM": "civicdesk@bureau.example",
            "CIVICDESK_NOTIFY_POLL_MS": "50", "CIVICDESK_SUBMIT_RATE": "0",
            "CIVICDESK_DIGEST": "off"}, dbdir=cls.dbdir, db_from=harness.new_db())
        cls.server.start()  # cls.server set first: stopped by the class cleanup if this fails
        cls.admin = cls.server.staff(cls.ADMIN, "admin")
        return cls.server


class AnswerToAcknowledgement(SmtpDaemon, unittest.TestCase):
    """The citizen answers our acknowledgement (sent through a real SMTP server): Foxmail's
    answer naming it in In-Reply-To, and QQ Mail's web answer that names nothing but keeps our
    subject (and so the tracking number): each adds to the item, whose number is the line."""
    PREFIX = "civicdesk-ackreply-"
    ADMIN = "ackreply_admin"

    def test_answers_to_the_acknowledgement(self):
        r = ingest(self.server, raw("qq-webmail-gb18030"))
        self.assertEqual(r.returncode, 0, r.stderr)
        tracking = r.stdout.decode().strip()
        ack = peers.wait_for(lambda: [m for m in self.smtp.records()
                                      if "1234567890@qq.com" in m["rcpt"]], 60,
                             "the acknowledgement")[0]
        self.assertIn(tracking, ack["subject"])
        # Foxmail-style answer naming our message
        a = foxmail_reply(ack["message_id"].strip("<>"), ack["subject"], "补充：材料已备齐。",
                          PNG, "answer-1@qq.com")
        a = a.replace(b"wangfang@foxmail.com", b"1234567890@qq.com")
        # QQ Mail's web answer: no In-Reply-To, no References, our subject after 回复：
        b = crlf("From: \"%s\" <1234567890@qq.com>\nTo: \"civicdesk\" <civicdesk@bureau.example>"
                 "\nSubject: %s\nMime-Version: 1.0\nContent-Type: text/plain;\n\tcharset=\"gb18030"
                 "\"\nContent-Transfer-Encoding: base64\nDate: Wed, 4 Mar 2026 08:00:00 +0800\n"
                 "Message-ID: <tencent_answer2@qq.com>\nX-QQ-MIME: TCMime 1.0 by Tencent\n"
                 "X-Mailer: QQMail 2.x\nX-QQ-Mailer: QQMail 2.x\n\n%s\n"
                 % (bword("小李", "gb18030", "gb18030"),
                    bword("回复：" + ack["subject"], "gb18030", "gb18030"),
                    b64("请问还需要别的材料吗？".encode("gb18030")))).encode()
        n = len(self.smtp.records())
        for msg, text in ((a, "补充：材料已备齐。"), (b, "请问还需要别的材料吗？")):
            r = ingest(self.server, msg)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stdout.decode(), tracking + "\n")
            it = self.admin.request("GET", "/api/v1/items/" + tracking).json()
            self.assertEqual(it["history"][-1]["action"], "citizen_mail")
            self.assertEqual(it["history"][-1]["note"], text)
        self.assertEqual(len(self.admin.request("GET", "/api/v1/items/" + tracking).json()[
            "attachments"]), 2)
        with sqlite3.connect(self.server.db, timeout=30) as con:
            self.assertEqual(con.execute("SELECT count(*) FROM items").fetchone()[0], 1)
        self.assertEqual(len(self.smtp.records()), n, "no acknowledgement of an answer")


STAFF_PASSWORD = "Kx7-Lamp-Wq92"


def citizen_mail(sender, to, subject, text, msgid, in_reply_to=None):
    """A citizen's plain UTF-8 e-mail (In-Reply-To naming our notice, when given)."""
    m = MIMEText(text, "plain", "utf-8")
    m["From"] = sender
    m["To"] = to
    m["Subject"] = Header(subject, "utf-8")
    m["Date"] = "Mon, 30 Nov 2026 09:00:00 +0800"
    m["Message-ID"] = "<%s>" % msgid
    if in_reply_to:
        m["In-Reply-To"] = in_reply_to
        m["References"] = in_reply_to
    return m.as_bytes()


class ReplyToEndedItem(SmtpDaemon, unittest.TestCase):
    """A citizen answers our reply by e-mail after the item has ended (replied; closed). It was
    a history note nothing drew staff to. Now, in the transaction that adds it: a notice to the
    item's handler and its section's head (with a link to the item), and one to the citizen
    saying that the item has ended, that the e-mail reopens nothing, how to rate the reply (its
    follow-up may reopen it) and how to write about a new matter; each at most once a day. The
    item's state and clocks do not move. Piped to ingest-mail (replied) and polled from a real
    Dovecot (closed); every notice sent through the real SMTP peer."""
    PREFIX = "civicdesk-ended-"
    ADMIN = "ended_admin"
    HAND, HEAD = "ended_hand@bureau.example", "ended_head@bureau.example"

    @classmethod
    def start_daemon(cls):
        cls.dc = dovecot.Dovecot().start()
        cls.addClassCleanup(cls.dc.cleanup)
        cls.server = harness.Server(env={
            "CIVICDESK_SMTP_URL": "smtp://127.0.0.1:%d" % cls.smtp.port,
            "CIVICDESK_SMTP_FROM": "civicdesk@bureau.example",
            "CIVICDESK_NOTIFY_POLL_MS": "50", "CIVICDESK_SUBMIT_RATE": "0",
            "CIVICDESK_DIGEST": "off", "CIVICDESK_IMAP_URL": cls.dc.url,
            "CIVICDESK_IMAP_INTERVAL": "1"}, dbdir=cls.dbdir, db_from=harness.new_db())
        cls.server.start().drain()  # a log line per request and poll: never a full pipe
        cls.admin = cls.server.staff(cls.ADMIN, "admin")
        cls.disp = cls.user("ended_disp", "dispatcher", None, None)
        cls.hand = cls.user("ended_hand", "handler", "法规处", cls.HAND)
        cls.head = cls.user("ended_head", "section_head", "法规处", cls.HEAD)
        return cls.server

    @classmethod
    def user(cls, name, role, section, email):
        args = ["user", "add", name, "--role", role, "--password-stdin"]
        if section:
            args += ["--section", section]
        if email:
            args += ["--email", email]
        r = cls.server.cli(*args, stdin=STAFF_PASSWORD + "\n", leaks=False)  # setup
        if r.returncode != 0:
            raise RuntimeError("user add %s: %s" % (name, r.stderr))
        return cls.server.login(name, STAFF_PASSWORD)

    def act(self, who, tracking, action, **fields):
        r = who.request("POST", "/api/v1/items/%s/actions/%s" % (tracking, action),
                        json_body=fields)
        self.assertEqual(r.status, 200, "%s: %r" % (action, r))
        return r.json()

    def item(self, tracking):
        r = self.admin.request("GET", "/api/v1/items/" + tracking)
        self.assertEqual(r.status, 200, r)
        return r.json()

    def mails_to(self, addr, tracking, text=None):
        """What addr received about tracking (holding text, when given: notices due together
        go out as one message)."""
        return [m for m in self.smtp.records() if addr in m["rcpt"] and tracking in m["subject"]
                and (text is None or text in (m["body"] or ""))]

    def replied(self, sender, subject, msgid):
        """An item from sender, answered: its number and the reply notice as received."""
        r = ingest(self.server, citizen_mail(sender, "director@bureau.example", subject,
                                             "路灯不亮，请修理。", msgid))
        self.assertEqual(r.returncode, 0, r.stderr)
        t = r.stdout.decode().strip()
        # the acknowledgement first: a notice due with it would go out in one message
        peers.wait_for(lambda: self.mails_to(sender, t), 60, "the acknowledgement")
        self.act(self.disp, t, "assign", section="法规处", assignee="ended_hand")
        self.act(self.hand, t, "accept")
        self.act(self.hand, t, "draft", text="答复：路灯已于本周修复。")
        self.act(self.hand, t, "submit_review")
        self.act(self.head, t, "approve")
        self.act(self.hand, t, "send_reply")
        reply = peers.wait_for(lambda: self.mails_to(sender, t, "答复：路灯已于本周修复。"), 60,
                               "the reply notice")[0]
        return t, reply

    def notices(self, tracking):
        with sqlite3.connect(self.server.db, timeout=30) as con:
            return con.execute("SELECT o.step, o.recipient FROM outbox o JOIN items i ON "
                               "i.id = o.item_id WHERE i.tracking = ? AND (o.step LIKE "
                               "'citizen-mail/%' OR o.step LIKE 'ended-mail/%') ORDER BY o.id",
                               (tracking,)).fetchall()

    def check_told(self, tracking, sender, text, state, rate):
        """The handler, the section head and the citizen got their notices."""
        for addr in (self.HAND, self.HEAD):
            m = peers.wait_for(lambda: self.mails_to(addr, tracking, "wrote again by e-mail"),
                               60, "the notice to " + addr)[0]
            self.assertIn("已办结（%s）" % state, m["body"])
            self.assertIn(text[:10], m["body"])
            self.assertIn("/staff/item/" + tracking, m["body"])
        # in the language of the citizen's letter (Chinese: schema 031)
        m = peers.wait_for(lambda: self.mails_to(sender, tracking, "该事项已办结"), 60,
                           "the citizen's notice")[0]
        self.assertIn("该事项已办结（%s）" % state, m["body"])
        self.assertIn("/submit", m["body"])
        self.assertEqual("/track?tracking=" + tracking in m["body"], rate)

    def test_piped_reply_to_a_replied_item(self):
        sender = "ended-piped@example.cn"
        t, reply = self.replied(sender, "人民路路灯不亮", "ended-piped-1@example.cn")
        before = self.item(t)
        self.assertEqual(before["state"], "replied")
        text = "谢谢答复，但路灯今晚还是不亮，请再派人看看。"
        r = ingest(self.server, citizen_mail(sender, "civicdesk@bureau.example",
                                             "Re: " + reply["subject"], text,
                                             "ended-piped-2@example.cn", reply["message_id"]))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.decode(), t + "\n")
        it = self.item(t)
        self.assertEqual(it["state"], "replied", "an e-mail reopens nothing")
        self.assertEqual(it["clocks"], before["clocks"], "nor moves a clock")
        self.assertEqual((it["history"][-1]["action"], it["history"][-1]["note"]),
                         ("citizen_mail", text))
        self.check_told(t, sender, text, "replied", rate=True)
        # a second e-mail the same day is in the history, without more notices (a series of
        # e-mails, or a loop with an auto-responder, makes one a day)
        r = ingest(self.server, citizen_mail(sender, "civicdesk@bureau.example",
                                             "Re: " + reply["subject"], "还有一盏也不亮。",
                                             "ended-piped-3@example.cn", reply["message_id"]))
        self.assertEqual(r.stdout.decode(), t + "\n")
        steps = self.notices(t)
        self.assertEqual(sorted(rcpt for step, rcpt in steps if step.startswith("citizen-mail/")),
                         [self.HAND, self.HEAD])
        self.assertEqual([rcpt for step, rcpt in steps if step.startswith("ended-mail/")],
                         [sender])
        it = self.item(t)
        self.assertEqual((it["state"], it["history"][-1]["note"]), ("replied", "还有一盏也不亮。"))

    def test_polled_reply_to_a_closed_item(self):
        sender = "ended-polled@example.cn"
        t, reply = self.replied(sender, "幸福路井盖缺失", "ended-polled-1@example.cn")
        self.act(self.hand, t, "close")
        before = self.item(t)
        text = "井盖又被偷了，能否加装防盗装置？"
        self.dc.append([citizen_mail(sender, "civicdesk@bureau.example", "Re: " + reply["subject"],
                                     text, "ended-polled-2@example.cn", reply["message_id"])])

        def added():
            with sqlite3.connect(self.server.db, timeout=30) as con:
                return con.execute("SELECT m.outcome FROM mail_in m JOIN items i ON i.id = "
                                   "m.item_id WHERE i.tracking = ? AND m.source = 'imap'",
                                   (t,)).fetchall()

        self.assertEqual(peers.wait_for(added, 60, "the polled e-mail"), [("added",)])
        it = self.item(t)
        self.assertEqual(it["state"], "closed")
        self.assertEqual(it["clocks"], before["clocks"])
        self.assertEqual(it["history"][-1]["note"], text)
        self.check_told(t, sender, text, "closed", rate=True)


class FormRelay(SmtpDaemon, unittest.TestCase):
    """A web form's relay mails us From its own address with Reply-To the citizen who filled
    the form in. DESIGN.md: a citizen who gave an e-mail address gets the acknowledgement, and
    answers by replying to our e-mail. So the item's contact is the citizen (Reply-To): the
    acknowledgement goes to them, not to the relay, and their answer to it (From their own
    address) adds to their item; another citizen's form through the same relay naming that
    item's number makes a new item, acknowledged to that citizen (the one-a-day limit counts
    each citizen, not the relay). The relay's address stays on record in mail_in."""
    PREFIX = "civicdesk-relay-"
    ADMIN = "relay_admin"
    RELAY = "noreply@forms.example.gov.cn"

    def item(self, tracking):
        r = self.admin.request("GET", "/api/v1/items/" + tracking)
        self.assertEqual(r.status, 200, r)
        return r.json()

    def test_reply_to_is_the_citizen(self):
        data = raw("form-relay-reply-to")
        r = ingest(self.server, data)
        self.assertEqual(r.returncode, 0, r.stderr)
        t = r.stdout.decode().strip()
        self.assertRegex(t, TRACKING)
        it = self.item(t)
        self.assertEqual((it["email"], it["name"]), ("hexiaodong@example.cn", "何晓东"))
        ack = peers.wait_for(lambda: [m for m in self.smtp.records()
                                      if "hexiaodong@example.cn" in m["rcpt"]
                                      and t in m["subject"]], 60, "the acknowledgement")[0]
        self.assertFalse([m for m in self.smtp.records() if self.RELAY in m["rcpt"]])

        answer = citizen_mail("hexiaodong@example.cn", "civicdesk@bureau.example",
                              "Re: " + ack["subject"], "补充：物业电话是 8888 6666。",
                              "relay-answer-1@example.cn", ack["message_id"])
        r = ingest(self.server, answer)
        self.assertEqual(r.stdout.decode(), t + "\n", r.stderr)
        self.assertEqual(self.item(t)["history"][-1]["note"], "补充：物业电话是 8888 6666。")

        other = re.sub(rb"(?m)^Reply-To: .*\r\n",
                       "Reply-To: {} <wangli@example.cn>\r\n".format(
                           bword("王丽", "UTF-8", "utf-8")).encode(), data)
        other = re.sub(rb"(?m)^Subject: .*\r\n", ("Subject: %s\r\n" % bword(
            "关于 %s 的补充" % t, "UTF-8", "utf-8")).encode(), other)
        other = other.replace(b"<Zk3f9a1b2c3d4e5f6a7b8c9d0@forms", b"<Zk3f9a1b2c3d4e5f6a7b8c9d1@forms")
        r = ingest(self.server, other)
        t2 = r.stdout.decode().strip()
        self.assertRegex(t2, TRACKING)
        self.assertNotEqual(t2, t, "another citizen's form is not added to the first item")
        self.assertEqual(self.item(t2)["email"], "wangli@example.cn")
        peers.wait_for(lambda: [m for m in self.smtp.records()
                                if "wangli@example.cn" in m["rcpt"] and t2 in m["subject"]], 60,
                       "the second citizen's acknowledgement")
        with sqlite3.connect(self.server.db, timeout=30) as con:
            senders = con.execute("SELECT m.sender FROM mail_in m JOIN items i ON i.id = "
                                  "m.item_id WHERE i.tracking IN (?, ?) AND m.outcome = "
                                  "'created'", (t, t2)).fetchall()
        self.assertEqual(senders, [(self.RELAY,), (self.RELAY,)])


class PolledAsPiped(unittest.TestCase):
    """The IMAP poller gives the same items as the pipe: both corpora (this one and
    make_corpus.py's, whose cases test_mailin pipes) APPENDed to a real Dovecot, polled by
    `civicdesk serve`, each message's item compared with what its case expects."""

    def setUp(self):
        self.dc = dovecot.Dovecot().start()
        self.server = harness.Server(env={"CIVICDESK_IMAP_URL": self.dc.url,
                                          "CIVICDESK_IMAP_INTERVAL": "1",
                                          "CIVICDESK_SUBMIT_RATE": "0"},
                                     db_from=harness.new_db())

    def tearDown(self):
        try:
            self.server.cleanup()
        finally:
            self.dc.cleanup()

    def test_polled(self):
        names = cases(REAL) + cases(MAIL)
        raws = [raw(c) for c in names]
        self.dc.append(raws)
        self.server.start()
        admin = self.server.staff("poll_admin", "admin")

        def rows():
            con = sqlite3.connect(self.server.db, timeout=30)
            try:
                return con.execute("SELECT message_id, outcome, reason, item_id FROM mail_in "
                                   "WHERE source = 'imap'").fetchall()
            finally:
                con.close()

        got = harness_wait(lambda: (lambda r: r if len(r) == len(raws) else None)(rows()), 180,
                           "every message polled")
        by_id = {r[0]: r for r in got if not (r[2] or "").startswith("refused: ")}
        con = sqlite3.connect(self.server.db, timeout=30)
        try:
            tracking = dict(con.execute("SELECT id, tracking FROM items"))
        finally:
            con.close()
        refused = [r for r in got if r[0] is None and (r[2] or "").startswith("refused: ")]
        self.assertEqual(len(refused), sum(1 for c in names if read(c, "exit") == "65"))
        for case, data in zip(names, raws):
            if read(case, "exit") is not None:
                continue  # recorded as refused, without a Message-ID (counted above)
            with self.subTest(case=os.path.relpath(case, MAIL)):
                _, outcome, reason, item = by_id[message_id(data)]
                ignored = read(case, "ignored")
                if ignored is not None:
                    self.assertEqual((outcome, item), ("ignored", None))
                    self.assertTrue(reason == ignored or reason.startswith(ignored + ": "),
                                    reason)
                    continue
                self.assertEqual(outcome, "created")
                r = admin.request("GET", "/api/v1/items/" + tracking[item])
                self.assertEqual(r.status, 200, r)
                RealMail.assertItem(self, item_view(r.json()), expected_view(case))
                if read(case, "lang") is not None:
                    self.assertEqual(r.json()["lang"], read(case, "lang"))

    def test_polled_subject_whole(self):
        """The long subjects of WholeSubject (300 and 1,500 characters, folded B and Q words of
        UTF-8, GBK, GB18030), polled from Dovecot: each item's subject byte for byte, no note."""
        long = long_cases()
        self.dc.append([c[2] for c in long])
        self.server.start()
        admin = self.server.staff("poll_subject_admin", "admin")

        def items():
            con = sqlite3.connect(self.server.db, timeout=30)
            try:
                rows = con.execute("SELECT m.message_id, i.tracking FROM mail_in m JOIN items i "
                                   "ON i.id = m.item_id WHERE m.source = 'imap'").fetchall()
            finally:
                con.close()
            return dict(rows) if len(rows) == len(long) else None

        got = harness_wait(items, 120, "every long subject polled")
        for name, subject, _, _ in long:
            with self.subTest(case=name):
                r = admin.request("GET", "/api/v1/items/" + got["long-%s@example.cn" % name])
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.json()["subject"].encode(), subject.encode())
                self.assertEqual(r.json()["body"], LONG_BODY)

    def test_polled_acknowledgement_names_left_out_files(self):
        """Polled (core_submit_many's batch), the acknowledgement names the files left out
        too: its outbox row is written with that text (no SMTP server here: it waits)."""
        self.dc.append([files_letter("polled-leftout@example.cn", "polled-leftout@example.cn",
                                     left_out_files())])
        self.server.start()

        def ack():
            con = sqlite3.connect(self.server.db, timeout=30)
            try:
                return con.execute("SELECT o.body FROM outbox o JOIN mail_in m ON "
                                   "m.item_id = o.item_id WHERE o.step = 'ack' AND "
                                   "m.message_id = 'polled-leftout@example.cn'").fetchone()
            finally:
                con.close()

        body = harness_wait(ack, 60, "the acknowledgement queued")[0]
        self.assertIsNotNone(body, "the acknowledgement is written with its words on the files")
        for name in ("现场录像.zip", "程序.exe", "材料6.pdf"):
            self.assertIn("- %s（" % name, body)
        self.assertNotIn("材料5.pdf", body)

    def test_polled_reply_adds_to_item(self):
        """The citizen's reply with a photo, polled, adds to their item as piped (CitizenAnswers)."""
        self.dc.append([raw("foxmail-gbk-in-gb2312")])
        self.server.start()
        admin = self.server.staff("poll_admin2", "admin")

        def item_of(mid):
            con = sqlite3.connect(self.server.db, timeout=30)
            try:
                row = con.execute("SELECT m.outcome, i.tracking FROM mail_in m JOIN items i ON "
                                  "i.id = m.item_id WHERE m.message_id = ?", (mid,)).fetchone()
            finally:
                con.close()
            return row

        first = harness_wait(lambda: item_of("202603021030124853271@foxmail.com"), 60,
                             "the letter polled")
        self.assertEqual(first[0], "created")
        self.dc.append([foxmail_reply("202603021030124853271@foxmail.com",
                                      read("foxmail-gbk-in-gb2312", "subject"),
                                      "工地昨晚又施工到两点，附照片。", PNG,
                                      "202603030912401234567@foxmail.com")])
        second = harness_wait(lambda: item_of("202603030912401234567@foxmail.com"), 60,
                              "the reply polled")
        self.assertEqual(second, ("added", first[1]))
        r = admin.request("GET", "/api/v1/items/" + first[1])
        self.assertEqual(r.status, 200, r)
        it = r.json()
        self.assertEqual([(a["filename"], a["size"]) for a in it["attachments"]][1:],
                         [("夜间施工.png", len(PNG))])
        self.assertEqual([h["note"] for h in it["history"] if h["action"] == "citizen_mail"],
                         ["工地昨晚又施工到两点，附照片。"])

    def test_polled_reused_message_id(self):
        """Two scans under one Message-ID in one poll's batch: two items; a third copy of the
        second is its duplicate."""
        first = raw("only-an-attachment").replace(b"1772415180.42.mfp3f", b"static2.mfp3f")
        second = first.replace(b"Mon, 2 Mar 2026 09:33:00 +0800",
                               b"Tue, 3 Mar 2026 10:01:00 +0800")
        self.dc.append([first, second, second])
        self.server.start()

        def rows():
            con = sqlite3.connect(self.server.db, timeout=30)
            try:
                return con.execute("SELECT uid, outcome, item_id FROM mail_in WHERE source = "
                                   "'imap' ORDER BY uid").fetchall()
            finally:
                con.close()

        got = harness_wait(lambda: (lambda r: r if len(r) == 3 else None)(rows()), 60,
                           "the three messages polled")
        self.assertEqual([g[1] for g in got], ["created", "created", "duplicate"])
        self.assertNotEqual(got[0][2], got[1][2])
        self.assertEqual(got[2][2], got[1][2])


# --- the whole decoded Subject -----------------------------------------------------------------

# Pieces of the long subjects: Chinese with full-width punctuation, Latin words and digits, a
# character outside the BMP (𠮷: four bytes in UTF-8 and in GB18030) and U+2014 (GBK's A1AA).
SUBJECT_PIECES = ["关于人民路", "夜间施工噪音扰民", "的投诉，", "已持续三个月", "（第", "号楼）",
                  "—", "请尽快处理。", "Renmin Road No.", "施工许可证", "“渣土车”", "凌晨两点",
                  "𠮷野家旁", "；"]


def long_subject(n, seed, gbk=False):
    """A subject of exactly n code points (Python counts code points), different per seed;
    gbk: without 𠮷 (not in GBK). No leading or trailing blank, no HTML metacharacter."""
    out, i = "", seed
    while len(out) < n:
        piece = SUBJECT_PIECES[i % len(SUBJECT_PIECES)]
        if not (gbk and "𠮷" in piece):
            out += piece + str(i)
        i += 1
    out = out[:n]
    return out[:-1] + "止" if out[-1] in " " else out


def encoded_words(text, label, codec, enc, chunk):
    """text as RFC 2047 words of charset label (bytes by codec), B or Q encoded, each holding
    chunk bytes (so that words split characters, as mailers do), folded one word a line."""
    data = text.encode(codec)
    words = []
    for i in range(0, len(data), chunk):
        part = data[i:i + chunk]
        if enc == "B":
            payload = base64.b64encode(part).decode()
        else:
            payload = "".join(chr(b) if (chr(b).isalnum() and b < 0x80) else
                              "_" if b == 0x20 else "=%02X" % b for b in part)
        words.append("=?%s?%s?%s?=" % (label, enc, payload))
    return "\r\n ".join(words)


LONG_BODY = "人民路夜间施工，噪音扰民，请处理。\nThe noise goes on every night."


def long_letter(subject_header, sender, msgid):
    """A letter whose Subject is the (folded) header value given, text in UTF-8."""
    return ("From: =?utf-8?B?%s?= <%s>\r\nTo: director@bureau.example\r\n"
            "Subject: %s\r\nDate: Mon, 30 Nov 2026 09:00:00 +0800\r\nMessage-ID: <%s>\r\n"
            "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\n%s\r\n"
            % (base64.b64encode("市民".encode()).decode(), sender, subject_header, msgid,
               b64(LONG_BODY.encode()).replace("\n", "\r\n"))).encode()


def long_cases():
    """(name, whole subject, raw message, sender): 300 and 1,500 code points, B and Q words in
    UTF-8, GBK and GB18030, words that split characters, folded over many lines."""
    specs = [  # name, code points, label, codec, encoding, bytes a word
        ("utf8-b-300", 300, "utf-8", "utf-8", "B", 45),
        ("utf8-q-300", 300, "UTF-8", "utf-8", "Q", 20),
        ("gbk-b-1500", 1500, "gbk", "gbk", "B", 37),
        ("gb18030-q-1500", 1500, "gb18030", "gb18030", "Q", 23),
        ("gb18030-b-1500", 1500, "GB18030", "gb18030", "B", 31),
        ("utf8-b-1500", 1500, "utf-8", "utf-8", "B", 60),
    ]
    out = []
    for n, (name, cps, label, codec, enc, chunk) in enumerate(specs):
        subject = long_subject(cps, n * 5, gbk=codec == "gbk")
        assert len(subject) == cps
        sender = "long-%s@example.cn" % name
        raw_msg = long_letter(encoded_words(subject, label, codec, enc, chunk), sender,
                              "long-%s@example.cn" % name)
        assert max(len(l) for l in raw_msg.split(b"\r\n")) < 998, name
        out.append((name, subject, raw_msg, sender))
    return out


class WholeSubject(SmtpDaemon, unittest.TestCase):
    """DESIGN.md's contract: an e-mail item's subject is the whole decoded Subject header (it
    was cut at 200 characters, the whole text moved into a note at the body's end). Subjects of
    300 and 1,500 characters, in RFC 2047 B and Q words of UTF-8, GBK and GB18030 that split
    characters and are folded over many lines, piped to ingest-mail: the subject staff get from
    GET /api/v1/items byte for byte, the body without a note, the queue (JSON and the staff
    page) and its search, the item page, and the acknowledgement the SMTP server received
    quoting it whole. The forms keep their 200."""
    PREFIX = "civicdesk-subject-"
    ADMIN = "subject_admin"

    def ack(self, sender):
        return peers.wait_for(lambda: [m for m in self.smtp.records()
                                       if sender in m.get("rcpt", [])], 60,
                              "the acknowledgement to " + sender)[0]

    def test_piped_subject_whole(self):
        for name, subject, data, sender in long_cases():
            with self.subTest(case=name):
                r = ingest(self.server, data)
                self.assertEqual(r.returncode, 0, r.stderr)
                tracking = r.stdout.decode().strip()
                self.assertRegex(tracking, TRACKING)
                got = self.admin.request("GET", "/api/v1/items/" + tracking)
                self.assertEqual(got.status, 200, got)
                it = got.json()
                self.assertEqual(it["channel"], "email")
                self.assertEqual(it["subject"].encode(), subject.encode(), "byte for byte")
                self.assertEqual(it["body"], LONG_BODY, "no note of the subject in the body")
                # the queue, searched by the subject's last words (past any old cut)
                q = subject[-12:]
                r = self.admin.request("GET", "/api/v1/queue?state=all&q=" + quote(q))
                self.assertEqual(r.status, 200, r)
                rows = [x for x in r.json()["items"] if x["tracking"] == tracking]
                self.assertEqual([x["subject"] for x in rows], [subject])
                # the staff pages: the queue found by those words, and the item
                for path in ("/staff/?state=all&q=" + quote(q), "/staff/item/" + tracking):
                    page = self.admin.request("GET", path)
                    self.assertEqual(page.status, 200, (path, page))
                    self.assertIn(subject, page.body.decode(), path)
                # the acknowledgement as the SMTP server received it: UTF-8 in base64, the
                # subject quoted whole in the letter's language (Chinese: schema 031)
                ack = self.ack(sender)
                self.assertIn(tracking, ack["subject"])
                self.assertRegex(ack["content_type"].lower(), r'^text/plain; charset="?utf-8"?')
                self.assertRegex(ack["raw"], r"(?i)content-transfer-encoding: base64")
                self.assertIn("主题：“%s”\n" % subject, ack["body"])

    def test_forms_keep_their_limit(self):
        """Only e-mail is lifted: a JSON POST of 201 characters is still 400 naming subject (and
        one of 200 is taken; the web form's is test_pages'). Fails before by its e-mail half: a
        letter of 201 characters keeps them all."""
        base = {"kind": "letter", "body": "正文", "email": "form@example.cn", "publish": False}
        r = self.server.request("POST", "/api/v1/items", json_body=dict(base, subject="长" * 201))
        self.assertEqual(r.status, 400, r)
        self.assertEqual(r.json()["error"]["field"], "subject")
        r = self.server.request("POST", "/api/v1/items", json_body=dict(base, subject="长" * 200))
        self.assertEqual(r.status, 201, r)
        data = long_letter(encoded_words("长" * 201, "utf-8", "utf-8", "B", 45),
                           "form-mail@example.cn", "form-mail@example.cn")
        r = ingest(self.server, data)
        self.assertEqual(r.returncode, 0, r.stderr)
        it = self.admin.request("GET", "/api/v1/items/" + r.stdout.decode().strip()).json()
        self.assertEqual(it["subject"], "长" * 201)

    def test_public_version_and_staff_notice(self):
        """Where a long subject goes on: the notice to the dispatchers when the section sends
        the item back quotes it cut at a character boundary with … (it cut 600 bytes, inside a
        character); the public version prepared when the reply is sent (consent set in the
        database: mail gives none) is masked first, then cut to the public subject's 200
        characters with … (the phone number across the cut never half shown), a version the
        section head saves and publishes as it is and can edit; the board and Open311's title
        show it."""
        subject = ("A" + "夜间施工噪音扰民，请尽快处理。" * 20)[:194] + "13912345678" + (
            "凌晨两点仍在施工。" * 20)[:95]
        self.assertEqual(len(subject), 300)
        data = long_letter(encoded_words(subject, "gb18030", "gb18030", "B", 29),
                           "public@example.cn", "public@example.cn")
        r = ingest(self.server, data)
        self.assertEqual(r.returncode, 0, r.stderr)
        t = r.stdout.decode().strip()
        self.assertEqual(self.admin.request("GET", "/api/v1/items/" + t).json()["subject"],
                         subject)
        with sqlite3.connect(self.server.db, timeout=30) as con:
            con.execute("UPDATE items SET publish = 1 WHERE tracking = ?", (t,))
        pw = "Quiet-Harbour-81"
        r = self.server.cli("user", "add", "longsubj_disp", "--role", "dispatcher", "--email",
                            "subject-disp@bureau.example", "--password-stdin", stdin=pw + "\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        disp = self.server.login("longsubj_disp", pw)
        hand = self.server.staff("subject_hand", "handler", "法规处")
        head = self.server.staff("subject_head", "section_head", "法规处")

        def act(who, action, **fields):
            r = who.request("POST", "/api/v1/items/%s/actions/%s" % (t, action),
                            json_body=fields)
            self.assertEqual(r.status, 200, (action, r))
            return r.json()

        act(disp, "assign", section="法规处")
        act(hand, "send_back", reason="不属本处职责")
        m = peers.wait_for(lambda: [x for x in self.smtp.records() if
                                    "subject-disp@bureau.example" in x.get("rcpt", [])], 60,
                           "the sent-back notice")[0]
        line = [l for l in m["body"].splitlines() if l.startswith("主题：")][0]
        quoted = line[len("主题："):]
        self.assertTrue(quoted.endswith("…"), quoted)
        self.assertTrue(subject.startswith(quoted[:-1]), quoted)
        self.assertLessEqual(len(quoted.encode()), 600)
        self.assertNotIn("\ufffd", m["body"], "no character cut in half")
        act(disp, "assign", section="法规处")
        act(hand, "accept")
        act(hand, "draft", text="答复：已责成施工单位整改。")
        act(hand, "submit_review")
        act(head, "approve")
        it = act(hand, "send_reply")
        masked = subject.replace("13912345678", "139****5678")
        want = masked[:199] + "…"
        self.assertEqual(it["public_subject"], want)
        self.assertNotIn("1391234", it["public_subject"])
        # the staff page's public form shows that text, within its limit of 200 characters
        # (counted as the server counts them; the browser's maxlength, in UTF-16 units, twice)
        page = head.request("GET", "/staff/item/" + t).body.decode()
        self.assertRegex(page, 'name="subject" maxlength="400" data-max-chars="200" '
                               '[^>]*value="%s"' % re.escape(want))
        # saved as shown and published; then edited
        path = "/api/v1/items/%s/public" % t
        r = head.request("PATCH", path, json_body={"subject": want, "published": True})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["public_subject"], want)
        r = self.server.request("GET", "/api/v1/public/items/" + t)
        self.assertEqual((r.status, r.json()["subject"]), (200, want))
        r = self.server.request("GET", "/open311/v2/requests/%s.json" % t)
        self.assertEqual((r.status, r.json()[0]["title"]), (200, want))
        r = head.request("PATCH", path, json_body={"subject": masked[:150]})
        self.assertEqual(r.status, 200, r)
        r = self.server.request("GET", "/open311/v2/requests/%s.json" % t)
        self.assertEqual(r.json()[0]["title"], masked[:150])

    def test_beyond_the_cap(self):
        """A Subject over the sanity cap (2,000 characters: a letter in the header, not a
        subject) is cut there with …, and kept whole in the note at the body's end."""
        subject = long_subject(2100, 3)
        data = long_letter(encoded_words(subject, "utf-8", "utf-8", "B", 57),
                           "cap@example.cn", "cap@example.cn")
        r = ingest(self.server, data)
        self.assertEqual(r.returncode, 0, r.stderr)
        it = self.admin.request("GET", "/api/v1/items/" + r.stdout.decode().strip()).json()
        self.assertEqual(it["subject"], subject[:1999] + "…")
        self.assertTrue(it["body"].startswith(LONG_BODY), it["body"][:100])
        self.assertTrue(it["body"].endswith("[the whole subject (主题全文): %s]" % subject),
                        it["body"][-200:])

def files_letter(sender, msgid, files, text="请看附件。", charset="utf-8", subject="附件材料"):
    """A letter with files [(name, data, type)] attached."""
    m = MIMEMultipart("mixed")
    m.attach(MIMEText(text, "plain", charset))
    for name, data, ctype in files:
        part = MIMEBase(*ctype.split("/"))
        part.set_payload(data)
        encoders.encode_base64(part)
        part.add_header("Content-Disposition", "attachment", filename=("utf-8", "", name))
        m.attach(part)
    m["From"] = sender
    m["To"] = "director@bureau.example"
    m["Subject"] = Header(subject, "utf-8")
    m["Message-ID"] = "<%s>" % msgid
    return m.as_bytes()


PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def left_out_files():
    """One file too large, one of a type not accepted, then six PDFs (the sixth one too many)."""
    files = [("现场录像.zip", b"PK\x03\x04" + b"\0" * (5 * 1024 * 1024 - 3), "application/zip"),
             ("程序.exe", b"MZ\x90\x00" + b"\0" * 60, "application/octet-stream")]
    return files + [("材料%d.pdf" % i, PDF, "application/pdf") for i in range(1, 7)]


class AckNamesLeftOut(SmtpDaemon, unittest.TestCase):
    """A citizen whose letter came with files that could not be kept (one too large, one of a
    type not accepted, one past the fifth) is told so in the acknowledgement the SMTP server
    receives: each file by its name and size, and why (before, only the item's body, which staff
    read, named them), in the item's one language like the rest of the notice (simplified or
    traditional Chinese, or English; before, in Chinese and English whatever the language)."""
    PREFIX = "civicdesk-leftout-"
    ADMIN = "leftout_admin"

    def letter(self, sender, msgid, files):
        return files_letter(sender, msgid, files)

    def test_left_out_files_named_in_acknowledgement(self):
        files = left_out_files()
        big, pdf = files[0][1], files[2][1]
        sender = "leftout@example.cn"
        r = ingest(self.server, self.letter(sender, "leftout-1@example.cn", files))
        self.assertEqual(r.returncode, 0, r.stderr)
        tracking = r.stdout.decode().strip()
        ack = peers.wait_for(lambda: [m for m in self.smtp.records()
                                      if sender in m.get("rcpt", [])], 60,
                             "the acknowledgement")[0]
        self.assertIn(tracking, ack["subject"])
        body = ack["body"]
        self.assertIn("以下附件未能随来信收存，原邮件已完整保存", body)
        self.assertNotIn("were not kept", body)
        self.assertNotIn("bytes", body)
        self.assertIn("- 现场录像.zip（%d 字节）：超过单个附件上限 5242880 字节\n" % len(big), body)
        self.assertIn("- 程序.exe（64 字节）：不是可接收的附件类型\n", body)
        self.assertIn("- 材料6.pdf（%d 字节）：附件超过 5 个" % len(pdf), body)
        for i in range(1, 6):
            self.assertNotIn("材料%d.pdf" % i, body)
        # the item keeps the five, and its body names the three for staff as before
        it = self.admin.request("GET", "/api/v1/items/" + tracking).json()
        self.assertEqual([a["filename"] for a in it["attachments"]],
                         ["材料%d.pdf" % i for i in range(1, 6)])
        self.assertEqual(it["body"].count("[attachment not kept"), 3)
        # a letter with nothing left out: the acknowledgement says nothing of it
        sender = "allkept@example.cn"
        r = ingest(self.server, self.letter(sender, "leftout-2@example.cn", files[2:3]))
        self.assertEqual(r.returncode, 0, r.stderr)
        ack = peers.wait_for(lambda: [m for m in self.smtp.records()
                                      if sender in m.get("rcpt", [])], 60,
                             "the second acknowledgement")[0]
        self.assertNotIn("not kept", ack["body"])
        self.assertNotIn("----", ack["body"])

    def ack_of(self, sender, raw):
        r = ingest(self.server, raw)
        self.assertEqual(r.returncode, 0, r.stderr)
        tracking = r.stdout.decode().strip()
        return tracking, peers.wait_for(lambda: [m for m in self.smtp.records()
                                                 if sender in m.get("rcpt", [])], 60,
                                        "the acknowledgement")[0]["body"]

    def test_left_out_files_in_english_and_traditional(self):
        files = left_out_files()[:2]
        sender = "leftout-en@example.cn"
        t, body = self.ack_of(sender, files_letter(
            sender, "leftout-en@example.cn", files, text="Please find the files attached.",
            subject="Documents"))
        self.assertEqual(self.admin.request("GET", "/api/v1/items/" + t).json()["lang"], "en")
        self.assertIn("These attachments of your letter were not kept (the original message "
                      "is kept whole)", body)
        self.assertIn("- 现场录像.zip (%d bytes): larger than 5242880 bytes\n" % len(files[0][1]),
                      body)
        self.assertIn("- 程序.exe (64 bytes): not a type accepted for attachments", body)
        self.assertNotIn("字节", body)
        self.assertNotIn("以下附件", body)
        sender = "leftout-hant@example.cn"
        t, body = self.ack_of(sender, files_letter(
            sender, "leftout-hant@example.cn", files, text="請看附件，謝謝。", charset="big5",
            subject="附件"))
        self.assertEqual(self.admin.request("GET", "/api/v1/items/" + t).json()["lang"],
                         "zh-Hant")
        self.assertIn("以下附件未能隨來信收存，原郵件已完整保存", body)
        self.assertIn("- 程序.exe（64 位元組）：不是可接收的附件類型", body)
        self.assertNotIn("bytes", body)
        self.assertNotIn("字节", body)

def harness_wait(cond, deadline, what):
    import time
    end = time.time() + deadline
    while time.time() < end:
        v = cond()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


if __name__ == "__main__":
    harness.main()
