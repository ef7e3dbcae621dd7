"""Mail-in: `civicdesk ingest-mail` over the corpus of tests/data/mail/ (built with Python's
email package by make_corpus.py) against a real daemon's database, the items as the staff API
shows them, the raw message kept byte for byte, the Message-ID guard, a citizen's reply added to
their item (resuming its clocks), and the sysexits codes: 65 never storable, 75 while another
process holds the database's write lock."""
import os
import sqlite3
import subprocess
import sys
import time
import unittest
from email.mime.text import MIMEText
from email.header import Header

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

harness.BIN = os.path.abspath(harness.BIN)
CORPUS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "mail")


def ingest(server, raw, timeout=60):
    """Runs ingest-mail on server's database with raw (bytes) on stdin."""
    env = dict(os.environ)
    env["CIVICDESK_DB"] = server.db
    if server.clock is not None:
        env["CIVICDESK_TEST_NOW"] = server.clock
    return subprocess.run([harness.BIN, "ingest-mail"], input=raw, capture_output=True,
                          env=env, timeout=timeout)


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
                    self.assertEqual(lines[0], "ignored: " + ignored)
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

    def test_never_storable(self):
        r = ingest(self.server, b"")
        self.assertEqual(r.returncode, 65, r.stderr)
        self.assertEqual(r.stdout, b"")
        big = b"From: a@example.cn\r\nSubject: big\r\n\r\n" + b"x" * (32 * 1024 * 1024)
        r = ingest(self.server, big)
        self.assertEqual(r.returncode, 65, r.stderr)
        self.assertIn(b"larger than", r.stderr)

    def test_busy_database_is_75(self):
        raw = letter("锁住的数据库", "另一个进程持有写锁。", msgid="busy-1@example.cn")
        con = sqlite3.connect(self.server.db, timeout=30, isolation_level=None)
        try:
            con.execute("BEGIN IMMEDIATE")
            r = ingest(self.server, raw)
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


if __name__ == "__main__":
    harness.main()
