"""Mail-in: `civicdesk ingest-mail` over the corpus of tests/data/mail/ (built with Python's
email package by make_corpus.py) against a real daemon's database, the items as the staff API
shows them, the raw message kept byte for byte, the Message-ID guard, a citizen's reply added to
their item (resuming its clocks), and the sysexits codes: 65 never storable, 75 while another
process holds the database's write lock."""
import base64
import os
import sqlite3
import subprocess
import sys
import time
import unittest
from email.header import Header
from email.message import Message
from email.mime.base import MIMEBase
from email.mime.message import MIMEMessage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import peers  # noqa: E402

harness.BIN = os.path.abspath(harness.BIN)
CORPUS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "mail")


def ingest(server, raw, timeout=60, env_extra=None):
    """Runs ingest-mail on server's database with raw (bytes) on stdin."""
    env = dict(os.environ)
    env["CIVICDESK_DB"] = server.db
    if server.clock is not None:
        env["CIVICDESK_TEST_NOW"] = server.clock
    env.update(env_extra or {})
    return subprocess.run([harness.BIN, "ingest-mail"], input=raw, capture_output=True,
                          env=env, timeout=timeout)


# A test build's wait for another writer's lock: 300 ms, not the 10 s of BUSY_TIMEOUT_MS (the
# answer while the lock is held is the same, 75, only sooner)
BUSY_SHORT = {"CIVICDESK_TEST_BUSY_MS": "300"}


def read(case, name):
    path = os.path.join(CORPUS, case, name)
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        return f.read().rstrip("\n")


def cases():
    return sorted(d for d in os.listdir(CORPUS)
                  if os.path.exists(os.path.join(CORPUS, d, "message.eml")))


def letter(subject, body, sender="zhangsan@example.cn", msgid=None, to="director@bureau.example",
           **headers):
    m = MIMEText(body, "plain", "utf-8")
    m["From"] = sender
    m["To"] = to
    m["Subject"] = Header(subject, "utf-8")
    if msgid:
        m["Message-ID"] = "<%s>" % msgid
    for k, v in headers.items():
        m[k.replace("_", "-")] = v
    return m.as_bytes()


class MailIn(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = harness.Server().start()
        cls.admin = cls.server.staff("mail_admin", "admin")
        cls.disp = cls.server.staff("mail_disp", "dispatcher")
        cls.handler = cls.server.staff("mail_hand", "handler", "法规处")

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def item(self, tracking):
        r = self.admin.request("GET", "/api/v1/items/" + tracking)
        self.assertEqual(r.status, 200, r)
        return r.json()

    def db(self):
        return sqlite3.connect(self.server.db, timeout=30)

    def test_corpus(self):
        """Each case: exit 0, the line, and the item as GET /api/v1/items shows it."""
        n = 0
        for case in cases():
            with self.subTest(case=case):
                with open(os.path.join(CORPUS, case, "message.eml"), "rb") as f:
                    raw = f.read()
                r = ingest(self.server, raw)
                self.assertEqual(r.returncode, 0, r.stderr)
                lines = r.stdout.decode().splitlines()
                self.assertEqual(len(lines), 1, r.stdout)
                ignored = read(case, "ignored")
                if ignored is not None:
                    # a bounce naming no notice of ours is ignored all the same; a report of
                    # delayed recipients only is no failure
                    delayed = (read(case, "bounce-reason") or "").startswith("delayed: ")
                    self.assertEqual(lines[0], "ignored: " + ignored +
                                     (": delayed, not failed" if delayed else ""))
                    continue
                tracking = lines[0]
                self.assertRegex(tracking, r"^XJ-\d{8}-\d{5}$")
                it = self.item(tracking)
                self.assertEqual(it["channel"], "email")
                self.assertEqual(it["subject"], read(case, "subject"))
                self.assertEqual(it["body"], read(case, "body"))
                self.assertEqual(it["kind"], read(case, "kind"))
                want = [l.split("\t") for l in read(case, "attachments").splitlines() if l]
                got = it["attachments"]
                self.assertEqual([a["filename"] for a in got], [w[0] for w in want])
                self.assertEqual([a["content_type"] for a in got], [w[2] for w in want])
                for a, w in zip(got, want):
                    if w[1] != "*":
                        self.assertEqual(a["size"], int(w[1]))
                with self.db() as con:
                    row = con.execute("SELECT m.raw, m.outcome FROM mail_in m JOIN items i "
                                      "ON i.id = m.item_id WHERE i.tracking = ?",
                                      (tracking,)).fetchone()
                self.assertEqual(row[1], "created")
                self.assertEqual(row[0], raw, "the raw message is kept byte for byte")
                n += 1
        self.assertGreaterEqual(n, 15)

    def test_duplicate_message_id(self):
        raw = letter("重复投递", "同一封信投递两次。", msgid="dup-1@example.cn")
        a = ingest(self.server, raw)
        b = ingest(self.server, raw)
        self.assertEqual((a.returncode, b.returncode), (0, 0), (a.stderr, b.stderr))
        self.assertEqual(a.stdout, b.stdout)
        with self.db() as con:
            n = con.execute("SELECT count(*) FROM items WHERE subject = '重复投递'").fetchone()[0]
        self.assertEqual(n, 1)

    def test_undecodable_html_leaks_nothing_to_the_log(self):
        """An HTML-only letter whose <meta> names a charset its bytes are not in (a webmail's
        UTF-8 under a stale gb2312 <meta>; GBK bytes under a Shift_JIS one) is stored with its
        text, and nothing of it reaches stderr: libxml2 reported "encoding error … bytes 0xA0
        0xE5 0xA5 0xBD" there, the citizen's own bytes, through its process-wide handler."""
        text = "你好，我家楼下的路灯坏了三个月，夜里很危险。"
        shapes = [("gb2312", text.encode("utf-8")), ("shift_jis", text.encode("gbk"))]
        for label, body in shapes:
            with self.subTest(meta=label):
                html = (b'<html><head><meta http-equiv="Content-Type" content="text/html; '
                        b'charset=' + label.encode() + b'"></head><body><p>' + body +
                        b'</p></body></html>')
                raw = (b"From: =?utf-8?b?" + base64.b64encode("王五".encode()) +
                       b"?= <wangwu@example.cn>\r\nTo: director@bureau.example\r\n"
                       b"Subject: =?utf-8?b?" + base64.b64encode("路灯".encode()) + b"?=\r\n"
                       b"Message-ID: <html-meta-undecodable-" + label.encode() +
                       b"@example.cn>\r\nMIME-Version: 1.0\r\nContent-Type: text/html\r\n"
                       b"Content-Transfer-Encoding: 8bit\r\n\r\n" + html + b"\r\n")
                r = ingest(self.server, raw)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(r.stderr, b"", "nothing said on stderr")
                tracking = r.stdout.decode().strip()
                if label == "gb2312":  # UTF-8 after all: read by the fallbacks
                    self.assertEqual(self.item(tracking)["body"], text)

    def test_never_storable(self):
        r = ingest(self.server, b"")
        self.assertEqual(r.returncode, 65, r.stderr)
        self.assertEqual(r.stdout, b"")
        big = b"From: a@example.cn\r\nSubject: big\r\n\r\n" + b"x" * (32 * 1024 * 1024)
        r = ingest(self.server, big)
        self.assertEqual(r.returncode, 65, r.stderr)
        self.assertIn(b"larger than", r.stderr)
        # both recorded as refused, for the administrators' eyes (audit log)
        with self.db() as con:
            rows = con.execute("SELECT id, reason, raw FROM mail_in WHERE source = 'pipe' AND "
                               "size > 33554432").fetchall()
        self.assertEqual(len(rows), 1, rows)
        self.assertTrue(rows[0][1].startswith("refused: the message is larger than"), rows)
        self.assertIsNone(rows[0][2])
        r = self.admin.request("GET", "/api/v1/audit?action=mail_refused")
        self.assertEqual(r.status, 200, r)
        hits = [e for e in r.json()["entries"] if e["target"] == "mail_in %d" % rows[0][0]]
        self.assertEqual(len(hits), 1, r.json())
        self.assertIn("too_large: message", hits[0]["detail"])

    def test_refused_is_recorded(self):
        """A letter core refuses (here: a body over 20,000 characters, which a test build leaves
        uncut) exits 65 and is recorded in mail_in with core's reason, and an administrator
        sees it in the audit log (code and field, not the citizen's words)."""
        raw = letter("太长的来信", "很长的内容。" * 4000, msgid="refused-1@example.cn")
        r = ingest(self.server, raw, env_extra={"CIVICDESK_TEST_MAIL_UNCUT": "1"})
        self.assertEqual(r.returncode, 65, r.stderr)
        self.assertEqual(r.stdout, b"")
        self.assertIn(b"longer than", r.stderr)
        with self.db() as con:
            rows = con.execute("SELECT id, outcome, reason, item_id, raw, source FROM mail_in "
                               "WHERE message_id = 'refused-1@example.cn'").fetchall()
        self.assertEqual(len(rows), 1, rows)
        rid, outcome, reason, item, kept, source = rows[0]
        self.assertEqual((outcome, item, kept, source), ("ignored", None, None, "pipe"))
        self.assertTrue(reason.startswith("refused: body is longer than"), reason)
        r = self.admin.request("GET", "/api/v1/audit?action=mail_refused")
        self.assertEqual(r.status, 200, r)
        hits = [e for e in r.json()["entries"] if e["target"] == "mail_in %d" % rid]
        self.assertEqual(len(hits), 1, r.json())
        self.assertIn("invalid: body", hits[0]["detail"])
        self.assertNotIn("很长", hits[0]["detail"])
        # the same letter within the limits is stored as usual
        raw = letter("来信", "正常的内容。", msgid="refused-2@example.cn")
        r = ingest(self.server, raw, env_extra={"CIVICDESK_TEST_MAIL_UNCUT": "1"})
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_admin_sees_what_mail_made(self):
        """GET /api/v1/admin/mail lists each message with what it became (and why nothing),
        newest first, filtered by outcome, paged; others get 403; /staff/admin shows the
        messages that made no item. Never the message's text."""
        made = ingest(self.server, letter("管理员看得见", "正文不应出现在列表里。",
                                          msgid="adm-made@example.cn"))
        self.assertEqual(made.returncode, 0, made.stderr)
        tracking = made.stdout.decode().strip()
        auto = letter("自动回复", "我不在办公室。", msgid="adm-auto@example.cn",
                      Auto_Submitted="auto-replied")
        r = ingest(self.server, auto)
        self.assertEqual(r.stdout.decode().strip(), "ignored: auto-submitted")
        r = self.admin.request("GET", "/api/v1/admin/mail?outcome=all&limit=100")
        self.assertEqual(r.status, 200, r)
        body = r.json()
        rows = {m["message_id"]: m for m in body["mail"]}
        ids = [m["id"] for m in body["mail"]]
        self.assertEqual(ids, sorted(ids, reverse=True))
        self.assertEqual(rows["adm-made@example.cn"]["outcome"], "created")
        self.assertEqual(rows["adm-made@example.cn"]["tracking"], tracking)
        self.assertEqual(rows["adm-made@example.cn"]["source"], "pipe")
        self.assertEqual(rows["adm-auto@example.cn"]["outcome"], "ignored")
        self.assertEqual(rows["adm-auto@example.cn"]["reason"], "auto-submitted")
        self.assertIsNone(rows["adm-auto@example.cn"]["tracking"])
        self.assertNotIn("正文不应出现", r.body.decode())
        with self.db() as con:
            want = dict(con.execute("SELECT outcome, count(*) FROM mail_in GROUP BY outcome"))
        for k in ("created", "added", "duplicate", "ignored"):
            self.assertEqual(body["counts"][k], want.get(k, 0), k)
        r = self.admin.request("GET", "/api/v1/admin/mail?outcome=ignored")
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.json()["mail"])
        self.assertEqual({m["outcome"] for m in r.json()["mail"]}, {"ignored"})
        # paging: one row a page walks the same rows
        seen, before = [], None
        for _ in range(len(ids) + 1):
            q = "/api/v1/admin/mail?limit=1" + ("&before=%d" % before if before else "")
            r = self.admin.request("GET", q)
            self.assertEqual(r.status, 200, r)
            seen += [m["id"] for m in r.json()["mail"]]
            before = r.json()["next_before"]
            if before is None:
                break
        self.assertEqual(seen[:len(ids)], ids)
        for q, field in (("outcome=bogus", "outcome"), ("before=x", "before"),
                         ("limit=0", "limit")):
            r = self.admin.request("GET", "/api/v1/admin/mail?" + q)
            self.assertEqual(r.status, 400, (q, r))
            self.assertEqual(r.json()["error"].get("field"), field, q)
        r = self.disp.request("GET", "/api/v1/admin/mail")
        self.assertEqual(r.status, 403, r)
        page = self.admin.request("GET", "/staff/admin?lang=en")
        self.assertEqual(page.status, 200, page)
        html = page.body.decode()
        self.assertIn('id="mail-title"', html)
        self.assertIn("auto-submitted", html)

    def test_busy_database_is_75(self):
        raw = letter("锁住的数据库", "另一个进程持有写锁。", msgid="busy-1@example.cn")
        con = sqlite3.connect(self.server.db, timeout=30, isolation_level=None)
        try:
            con.execute("BEGIN IMMEDIATE")
            r = ingest(self.server, raw, env_extra=BUSY_SHORT)
            self.assertEqual(r.returncode, 75, r.stderr)
            self.assertEqual(r.stdout, b"")
            con.execute("ROLLBACK")
        finally:
            con.close()
        with self.db() as c2:
            n = c2.execute("SELECT count(*) FROM mail_in WHERE message_id = 'busy-1@example.cn'"
                           ).fetchone()[0]
        self.assertEqual(n, 0, "nothing stored while busy")
        r = ingest(self.server, raw)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout.decode(), r"^XJ-\d{8}-\d{5}\n$")

    def test_unavailable_database_is_75(self):
        """A database that cannot be opened (its folder cannot exist: a file is in the way) is a
        temporary failure: the MTA keeps the message and retries."""
        raw = letter("数据库不可用", "数据库所在的目录无法创建。", msgid="gone-1@example.cn")
        blocker = os.path.join(self.server.dir, "not-a-folder")
        with open(blocker, "w") as f:
            f.write("x")
        env = dict(os.environ, CIVICDESK_DB=os.path.join(blocker, "x.db"))
        r = subprocess.run([harness.BIN, "ingest-mail"], input=raw, capture_output=True, env=env,
                           timeout=60)
        self.assertEqual(r.returncode, 75, r.stderr)
        self.assertEqual(r.stdout, b"")

    def test_usage_is_64(self):
        r = subprocess.run([harness.BIN, "ingest-mail", "--bogus"], input=b"", capture_output=True,
                           timeout=60)
        self.assertEqual(r.returncode, 64, r.stderr)

    def test_bounce_while_busy_is_75(self):
        """A bounce is only answered 0 once it is recorded: while another process holds the
        write lock it is 75, then 0 (and recorded once)."""
        raw = dsn_bounce("<civicdesk.999.0000000000000000@bureau.example>")
        con = sqlite3.connect(self.server.db, timeout=30, isolation_level=None)
        try:
            con.execute("BEGIN IMMEDIATE")
            r = ingest(self.server, raw, env_extra=BUSY_SHORT)
            self.assertEqual(r.returncode, 75, r.stderr)
            self.assertEqual(r.stdout, b"")
            con.execute("ROLLBACK")
        finally:
            con.close()
        r = ingest(self.server, raw)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, b"ignored: bounce (delivery status report)\n")
        with self.db() as con:
            n = con.execute("SELECT count(*) FROM mail_in WHERE message_id = ?",
                            ("dsn-civicdesk.999.0000000000000000@bureau.example",)).fetchone()[0]
        self.assertEqual(n, 1)

    def test_reply_is_the_citizens_answer(self):
        first = letter("路面塌陷", "人民路有个坑。", sender="citizen7@example.cn",
                       msgid="first-7@example.cn")
        r = ingest(self.server, first)
        self.assertEqual(r.returncode, 0, r.stderr)
        tracking = r.stdout.decode().strip()
        self.assertEqual(self.disp.request("POST", "/api/v1/items/%s/actions/assign" % tracking,
                                           json_body={"section": "法规处"}).status, 200)
        self.assertEqual(self.handler.request("POST", "/api/v1/items/%s/actions/accept" % tracking,
                                              json_body={}).status, 200)
        r = self.handler.request("POST", "/api/v1/items/%s/actions/ask_citizen" % tracking,
                                 json_body={"note": "请提供具体门牌号"})
        self.assertEqual(r.status, 200, r)
        it = self.item(tracking)
        self.assertEqual(it["state"], "waiting_citizen")
        self.assertEqual(it["clocks"]["reply"]["state"], "paused")

        # a stranger naming the tracking number makes a new item, not an answer
        other = letter("Re: " + tracking, "我不是提交人。", sender="stranger@example.cn")
        r = ingest(self.server, other)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotEqual(r.stdout.decode().strip(), tracking)
        self.assertEqual(self.item(tracking)["state"], "waiting_citizen")

        # the citizen answers our mail: In-Reply-To names their first message
        reply = letter("Re: 路面塌陷", "门牌号是人民路 12 号。", sender="Citizen7@Example.cn",
                       msgid="reply-7@example.cn", In_Reply_To="<first-7@example.cn>")
        r = ingest(self.server, reply)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.decode().strip(), tracking)
        it = self.item(tracking)
        self.assertEqual(it["state"], "in_progress")
        self.assertEqual(it["clocks"]["reply"]["state"], "running")
        actions = [h["action"] for h in it["history"]]
        self.assertIn("citizen_answer", actions)
        self.assertTrue(any(h.get("note") == "门牌号是人民路 12 号。" for h in it["history"]))

        # a later mail naming the tracking number in the subject is added as a note
        more = letter("补充 " + tracking, "再补一张照片。", sender="citizen7@example.cn",
                      msgid="more-7@example.cn")
        r = ingest(self.server, more)
        self.assertEqual(r.stdout.decode().strip(), tracking)
        it = self.item(tracking)
        self.assertEqual(it["state"], "in_progress")
        self.assertEqual(it["history"][-1]["action"], "citizen_mail")
        with self.db() as con:
            rows = con.execute("SELECT m.outcome FROM mail_in m JOIN items i ON i.id = m.item_id "
                               "WHERE i.tracking = ? ORDER BY m.id", (tracking,)).fetchall()
        self.assertEqual([r[0] for r in rows], ["created", "added", "added"])


def returned_notice(message_id, subject="我们已收到您的来信"):
    """A notice as the notifiers sent it, as a bounce returns it."""
    m = MIMEText("您好，我们已收到您的来信。", "plain", "utf-8")
    m["From"] = "civicdesk@bureau.example"
    m["To"] = "nobody@example.cn"
    m["Subject"] = Header(subject, "utf-8")
    m["Message-ID"] = message_id
    m["Auto-Submitted"] = "auto-generated"
    return m


def dsn_bounce(message_id, status="5.1.1", diag="smtp; 550 5.1.1 user unknown"):
    """An RFC 3464 report returning the message with message_id (in angle brackets)."""
    report = MIMEMultipart("report", report_type="delivery-status")
    report.attach(MIMEText("Delivery failed.", "plain", "us-ascii"))
    status_part = MIMEBase("message", "delivery-status")
    per_msg, per_rcpt = Message(), Message()
    per_msg["Reporting-MTA"] = "dns; mx.example.cn"
    per_rcpt["Final-Recipient"] = "rfc822; nobody@example.cn"
    per_rcpt["Action"] = "failed"
    per_rcpt["Status"] = status
    per_rcpt["Diagnostic-Code"] = diag
    status_part.set_payload([per_msg, per_rcpt])
    report.attach(status_part)
    report.attach(MIMEMessage(returned_notice(message_id)))
    report["From"] = "MAILER-DAEMON@mx.example.cn"
    report["To"] = "civicdesk@bureau.example"
    report["Subject"] = "Undelivered Mail Returned to Sender"
    report["Message-ID"] = "<dsn-%s>" % message_id.strip("<>")
    return report.as_bytes()


def aliyun_bounce(message_id):
    m = MIMEMultipart("mixed")
    m.attach(MIMEText("您发送的邮件被退回。", "plain", "utf-8"))
    m.attach(MIMEMessage(returned_notice(message_id)))
    m["From"] = "postmaster@mxhichina.com"
    m["To"] = "civicdesk@bureau.example"
    m["Subject"] = Header("系统退信", "utf-8")
    m["X-Aliyun-Bounce"] = "1"
    return m.as_bytes()


def notes_bounce(message_id):
    text = ("Your message did not reach some or all of the intended recipients.\n\n"
            "--- original message headers ---\nFrom: civicdesk@bureau.example\n"
            "Message-ID: %s\n" % message_id)
    m = MIMEText(text, "plain", "utf-8")
    m["From"] = "postmaster@notes.example"
    m["To"] = "civicdesk@bureau.example"
    m["Subject"] = "Undeliverable: acknowledgement"
    return m.as_bytes()


class Bounces(peers.PeerClass, unittest.TestCase):
    """Real acknowledgements sent through a real SMTP server (aiosmtpd), then bounces naming
    their Message-IDs fed to ingest-mail: each marks its outbox row failed with the reason,
    shown to administrators; a bounce of something else is ignored all the same."""
    PREFIX = "civicdesk-bounce-"

    @classmethod
    def start_daemon(cls):
        cls.server = harness.Server(env={
            "CIVICDESK_SMTP_URL": "smtp://127.0.0.1:%d" % cls.smtp.port,
            "CIVICDESK_SMTP_FROM": "civicdesk@bureau.example",
            "CIVICDESK_NOTIFY_POLL_MS": "50",
            "CIVICDESK_SUBMIT_RATE": "0",
            "CIVICDESK_DIGEST": "off"}, dbdir=cls.dbdir)
        cls.server.start()  # cls.server set first: stopped by the class cleanup if this fails
        cls.admin = cls.server.staff("bounce_admin", "admin")
        return cls.server

    def acknowledged(self, email):
        """Submits an item with email and waits for its acknowledgement to reach the SMTP server:
        (outbox row id, the Message-ID as sent, with angle brackets)."""
        r = self.server.request("POST", "/api/v1/items", json_body={
            "kind": "letter", "subject": "路灯不亮", "body": "人民路的路灯坏了。",
            "email": email, "publish": False})
        self.assertEqual(r.status, 201, r)
        rec = peers.wait_for(lambda: [x for x in self.smtp.records() if email in x["rcpt"]],
                             60, "the acknowledgement to " + email)[0]
        with sqlite3.connect(self.server.db, timeout=30) as con:
            row = con.execute("SELECT id, state FROM outbox WHERE message_id = ?",
                              (rec["message_id"].strip("<>"),)).fetchone()
        self.assertIsNotNone(row, rec)
        peers.wait_for(lambda: self.state(row[0]) == "sent", 30, "the row marked sent")
        return row[0], rec["message_id"]

    def state(self, oid):
        with sqlite3.connect(self.server.db, timeout=30) as con:
            return con.execute("SELECT state FROM outbox WHERE id = ?", (oid,)).fetchone()[0]

    def failed(self):
        r = self.admin.request("GET", "/api/v1/admin/outbox?state=failed")
        self.assertEqual(r.status, 200, r)
        return {o["id"]: o for o in r.json()["outbox"]}

    def items(self):
        with sqlite3.connect(self.server.db, timeout=30) as con:
            return con.execute("SELECT count(*) FROM items").fetchone()[0]

    def test_each_bounce_shape_marks_its_notice_failed(self):
        shapes = [
            ("dsn", dsn_bounce, "bounce (delivery status report)",
             "bounced: 5.1.1 smtp; 550 5.1.1 user unknown"),
            ("aliyun", aliyun_bounce, "bounce (aliyun)", "bounced: 系统退信: 您发送的邮件被退回。"),
            ("notes", notes_bounce, "bounce (postmaster)",
             "bounced: Undeliverable: acknowledgement: Your message did not reach some or all "
             "of the intended recipients."),
        ]
        for name, make, reason, error in shapes:
            with self.subTest(shape=name):
                oid, mid = self.acknowledged("bounce-%s@example.cn" % name)
                before = self.items()
                r = ingest(self.server, make(mid))
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(r.stdout.decode(),
                                 "ignored: %s: outbox %d marked failed\n" % (reason, oid))
                self.assertEqual(self.state(oid), "failed")
                row = self.failed().get(oid)
                self.assertIsNotNone(row, "shown among the failed notices")
                self.assertEqual(row["last_error"], error)
                self.assertEqual(self.items(), before, "a bounce makes no item")
                with sqlite3.connect(self.server.db, timeout=30) as con:
                    self.assertEqual(con.execute(
                        "SELECT count(*) FROM audit WHERE action = 'mail_bounced' AND "
                        "target = ?", ("outbox %d" % oid,)).fetchone()[0], 1)
                    self.assertEqual(con.execute(
                        "SELECT outcome, reason FROM mail_in ORDER BY id DESC LIMIT 1"
                        ).fetchone(), ("ignored", "%s: outbox %d" % (reason, oid)))

    def test_unmatched_bounce_is_ignored(self):
        oid, mid = self.acknowledged("bounce-other@example.cn")
        before, failed = self.items(), len(self.failed())
        # a Message-ID of ours that was never sent, and one of somebody else's
        for other in ("<civicdesk.%d.0000000000000000@bureau.example>" % oid,
                      "<something@elsewhere.example>"):
            r = ingest(self.server, dsn_bounce(other))
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stdout.decode(), "ignored: bounce (delivery status report)\n")
        self.assertEqual(self.state(oid), "sent")
        self.assertEqual((self.items(), len(self.failed())), (before, failed))


def local(when):
    """Unix seconds of local (Asia/Shanghai) "YYYY-MM-DDTHH:MM"."""
    import datetime
    t = datetime.datetime.strptime(when, "%Y-%m-%dT%H:%M")
    return int(t.replace(tzinfo=datetime.timezone(datetime.timedelta(hours=8))).timestamp())


class Acknowledgements(unittest.TestCase):
    """One sender's acknowledgements go at one moment per mail_ack_interval (default 24 hours):
    the first letter's at once, those of the letters that follow within the interval wait, each
    with its query code, for the moment the interval allows the next one, queued for one address
    so that they go as one message; every letter is stored, and its history says when its
    acknowledgement goes. As many letters as one message holds (notify_combine_max) wait for one
    moment; beyond, a letter is stored without one and its history says why."""

    def setUp(self):
        self.server = harness.Server(env={"CIVICDESK_TEST_NOW": "2026-03-02T09:00"}).start()
        self.server.clock = "2026-03-02T09:00"
        self.admin = self.server.staff("ack_admin", "admin")

    def tearDown(self):
        self.server.cleanup()

    def acks(self, sender):
        """(tracking, recipient, send_after) of the acknowledgements to sender (any case)."""
        with sqlite3.connect(self.server.db, timeout=30) as con:
            return con.execute("SELECT i.tracking, o.recipient, o.send_after FROM outbox o "
                               "JOIN items i ON i.id = o.item_id WHERE o.step = 'ack' AND "
                               "lower(o.recipient) = lower(?) ORDER BY o.id",
                               (sender,)).fetchall()

    def body(self, tracking):
        with sqlite3.connect(self.server.db, timeout=30) as con:
            return con.execute("SELECT o.body FROM outbox o JOIN items i ON i.id = o.item_id "
                               "WHERE o.step = 'ack' AND i.tracking = ?", (tracking,)).fetchone()[0]

    def history(self, tracking):
        r = self.admin.request("GET", "/api/v1/items/" + tracking)
        self.assertEqual(r.status, 200, r)
        return [(h["action"], h.get("note")) for h in r.json()["history"]]

    def notes(self, tracking, action):
        return [n for act, n in self.history(tracking) if act == action]

    def send(self, subject, sender, when, **env):
        self.server.clock = when
        r = ingest(self.server, letter(subject, "来信正文。", sender=sender), env_extra=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        tracking = r.stdout.decode().strip()
        self.assertRegex(tracking, r"^XJ-\d{8}-\d{5}$")
        return tracking

    def test_two_letters_from_one_sender(self):
        a = self.send("第一封信", "wang@example.cn", "2026-03-02T09:00")
        b = self.send("第二封信", "Wang@Example.cn", "2026-03-02T15:00")
        self.assertNotEqual(a, b, "both letters are stored as items")
        later = local("2026-03-03T09:00")
        # b's acknowledgement waits for the moment a day after a's, with its query code
        self.assertEqual(self.acks("wang@example.cn"),
                         [(a, "wang@example.cn", local("2026-03-02T09:00")),
                          (b, "Wang@Example.cn", later)])
        self.assertIn(b, self.body(b))
        self.assertRegex(self.body(b), r"查询码：\S+")
        deferred = self.notes(b, "ack_deferred")
        self.assertEqual(len(deferred), 1, self.history(b))
        self.assertIn("2026-03-03T09:00", deferred[0])
        self.assertIn("mail_ack_interval", deferred[0])
        self.assertEqual(self.notes(b, "ack_skipped"), [])
        self.assertEqual(self.notes(a, "ack_deferred"), [])
        # a third letter joins it, addressed as the first waiting one: one message then
        c = self.send("第三封信", "wang@example.cn", "2026-03-02T18:00")
        self.assertEqual(self.acks("wang@example.cn")[2], (c, "Wang@Example.cn", later))
        # another sender is acknowledged on their own, at once
        d = self.send("邻居的信", "li@example.cn", "2026-03-02T15:30")
        self.assertEqual(self.acks("li@example.cn"),
                         [(d, "li@example.cn", local("2026-03-02T15:30"))])
        # after that moment, the next letter waits a whole interval from it
        e = self.send("第四封信", "wang@example.cn", "2026-03-03T10:00")
        self.assertEqual(self.acks("wang@example.cn")[3],
                         (e, "wang@example.cn", local("2026-03-04T09:00")))
        # and a day after, at once again
        f = self.send("第五封信", "wang@example.cn", "2026-03-05T09:30")
        self.assertEqual(self.acks("wang@example.cn")[4],
                         (f, "wang@example.cn", local("2026-03-05T09:30")))

    def test_as_many_as_one_message_holds(self):
        env = {"CIVICDESK_NOTIFY_COMBINE_MAX": "2"}
        a = self.send("第一封信", "zhou@example.cn", "2026-03-02T09:00", **env)
        b = self.send("第二封信", "zhou@example.cn", "2026-03-02T09:10", **env)
        c = self.send("第三封信", "zhou@example.cn", "2026-03-02T09:20", **env)
        d = self.send("第四封信", "zhou@example.cn", "2026-03-02T09:30", **env)
        self.assertEqual([r[0] for r in self.acks("zhou@example.cn")], [a, b, c])
        skipped = self.notes(d, "ack_skipped")
        self.assertEqual(len(skipped), 1, self.history(d))
        self.assertIn("notify_combine_max", skipped[0])
        self.assertEqual(self.notes(d, "ack_deferred"), [])

    def test_interval_is_configurable(self):
        a = self.send("第一封信", "zhao@example.cn", "2026-03-02T09:00",
                      CIVICDESK_MAIL_ACK_INTERVAL="0")
        b = self.send("第二封信", "zhao@example.cn", "2026-03-02T09:05",
                      CIVICDESK_MAIL_ACK_INTERVAL="0")
        self.assertEqual(self.acks("zhao@example.cn"),
                         [(a, "zhao@example.cn", local("2026-03-02T09:00")),
                          (b, "zhao@example.cn", local("2026-03-02T09:05"))])
        c = self.send("第三封信", "zhao@example.cn", "2026-03-02T10:00",
                      CIVICDESK_MAIL_ACK_INTERVAL="3600")
        self.assertEqual(self.acks("zhao@example.cn")[2],
                         (c, "zhao@example.cn", local("2026-03-02T10:05")))
        self.assertEqual(len(self.notes(c, "ack_deferred")), 1, self.history(c))


if __name__ == "__main__":
    harness.main()
