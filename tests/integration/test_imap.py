"""Mail-in over IMAP: a real Dovecot (started by the test in its own folder on a free port) and
`civicdesk serve` polling it through libcurl. Messages delivered by APPEND are stored once each
and marked \\Seen after they are stored; restarting Dovecot, or civicdesk, in the middle of a
poll neither loses nor doubles a message (UIDVALIDITY and UID are stored with each one)."""
import base64
import os
import re
import shutil
import sqlite3
import sys
import threading
import time
import unittest
from email.header import Header
from email.mime.text import MIMEText

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dovecot  # noqa: E402
import harness  # noqa: E402
import peers  # noqa: E402

harness.BIN = os.path.abspath(harness.BIN)
CORPUS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "mail")


def letter(i, size=2000):
    m = MIMEText(("第%d封信。" % i) + "内容" * (size // 6), "plain", "utf-8")
    m["From"] = "citizen%d@example.cn" % i
    m["To"] = "complaint@bureau.example" if i % 3 == 0 else "director@bureau.example"
    m["Subject"] = Header("IMAP 来信 %d" % i, "utf-8")
    m["Message-ID"] = "<imap-%d@example.cn>" % i
    return m.as_bytes()


def wait_for(cond, deadline, what):
    end = time.time() + deadline
    while time.time() < end:
        v = cond()
        if v:
            return v
        time.sleep(0.02)
    raise AssertionError("timed out waiting for " + what)


class ImapPoll(unittest.TestCase):
    def setUp(self):
        self.dc = dovecot.Dovecot().start()
        self.servers = []

    def tearDown(self):
        for s in reversed(self.servers):  # the first owns the folder the others share
            s.cleanup()
        self.dc.cleanup()

    def serve(self, dbdir=None, env=None):
        s = harness.Server(env=dict({"CIVICDESK_IMAP_URL": self.dc.url,
                                     "CIVICDESK_IMAP_INTERVAL": "1",
                                     "CIVICDESK_SUBMIT_RATE": "0"}, **(env or {})), dbdir=dbdir)
        self.servers.append(s)
        return s.start()

    def count(self, server, sql, args=()):
        con = sqlite3.connect(server.db, timeout=30)
        try:
            return con.execute(sql, args).fetchone()[0]
        finally:
            con.close()

    def rows(self, server):
        return self.count(server, "SELECT count(*) FROM mail_in WHERE source = 'imap'")

    def test_corpus_polled_stored_once_and_seen(self):
        cases = sorted(d for d in os.listdir(CORPUS)
                       if os.path.exists(os.path.join(CORPUS, d, "message.eml")))
        raws = []
        for c in cases:
            with open(os.path.join(CORPUS, c, "message.eml"), "rb") as f:
                raws.append(f.read())
        uids = self.dc.append(raws + [raws[0]])  # the last one again: same Message-ID
        server = self.serve()
        wait_for(lambda: self.rows(server) == len(uids), 120, "every message stored")
        ignored = sum(1 for c in cases if os.path.exists(os.path.join(CORPUS, c, "ignored")))
        self.assertEqual(self.count(server, "SELECT count(*) FROM items WHERE channel = 'email'"),
                         len(cases) - ignored)
        self.assertEqual(self.count(server, "SELECT count(*) FROM mail_in WHERE outcome = "
                                            "'ignored'"), ignored)
        self.assertEqual(self.count(server, "SELECT count(*) FROM mail_in WHERE outcome = "
                                            "'duplicate'"), 1)
        # the raw message byte for byte, with its IMAP position
        con = sqlite3.connect(server.db)
        raw, uid, validity = con.execute(
            "SELECT raw, uid, uidvalidity FROM mail_in WHERE outcome = 'created' "
            "ORDER BY uid LIMIT 1").fetchone()
        con.close()
        self.assertEqual(raw.replace(b"\r\n", b"\n"), raws[uids.index(uid)].replace(b"\r\n", b"\n"))
        self.assertGreater(validity, 0)
        flags = wait_for(lambda: (lambda f: f if all("\\Seen" in v for v in f.values()) else None)(
            self.dc.flags()), 30, "every message \\Seen")
        self.assertEqual(len(flags), len(uids))
        # later polls store nothing more
        n = self.rows(server)
        more = self.dc.append([letter(99999)])
        wait_for(lambda: self.rows(server) == n + 1, 30, "the next message")
        self.assertEqual(self.count(server, "SELECT count(*) FROM mail_in WHERE uid = ?",
                                    (more[0],)), 1)

    def test_refused_recorded_not_fetched_again(self):
        """A letter core refuses (a body over its limit, left uncut by a test build) is recorded
        with core's reason and marked \\Seen, in the batch and in the one-by-one path (the same
        Message-ID twice in a poll), and never fetched again."""
        long = MIMEText("很长的内容。" * 4000, "plain", "utf-8")
        long["From"] = "long@example.cn"
        long["To"] = "director@bureau.example"
        long["Subject"] = Header("太长的来信", "utf-8")
        long["Message-ID"] = "<imap-refused@example.cn>"
        uids = self.dc.append([long.as_bytes(), letter(1), long.as_bytes()])
        s = harness.Server(env={"CIVICDESK_IMAP_URL": self.dc.url, "CIVICDESK_IMAP_INTERVAL": "1",
                                "CIVICDESK_SUBMIT_RATE": "0", "CIVICDESK_TEST_MAIL_UNCUT": "1"})
        self.servers.append(s)
        server = s.start().drain()
        wait_for(lambda: self.rows(server) == 3, 60, "the three messages recorded")
        con = sqlite3.connect(server.db, timeout=30)
        try:
            refused = con.execute("SELECT uid, outcome, reason, item_id FROM mail_in WHERE "
                                  "message_id = 'imap-refused@example.cn' ORDER BY uid").fetchall()
            audits = con.execute("SELECT count(*) FROM audit WHERE action = 'mail_refused'"
                                 ).fetchone()[0]
        finally:
            con.close()
        self.assertEqual([r[0] for r in refused], [uids[0], uids[2]])
        for uid, outcome, reason, item in refused:
            self.assertEqual((outcome, item), ("ignored", None))
            self.assertTrue(reason.startswith("refused: body is longer than"), reason)
        self.assertEqual(audits, 2)
        self.assertEqual(self.count(server, "SELECT count(*) FROM items WHERE channel = 'email'"), 1)
        wait_for(lambda: all("\\Seen" in f for f in self.dc.flags().values()), 30,
                 "every message \\Seen")
        # later polls: the next letter is stored, the refused ones are not fetched again (each
        # poll that does something logs what it did: a refused message counts as ignored)
        more = self.dc.append([letter(2)])
        wait_for(lambda: self.rows(server) == 4, 30, "the next message")
        polls = wait_for(lambda: (lambda v: v if len(v) >= 2 else None)(
            [x for x in list(s.drained) if " already stored, " in x]), 30, "the second poll's line")
        self.assertIn("1 stored, 0 already stored, 2 ignored", polls[0])
        for line in polls[1:]:
            self.assertIn(" 0 ignored", line)
        self.assertEqual(self.count(server, "SELECT count(*) FROM mail_in WHERE uid = ?",
                                    (more[0],)), 1)

    def test_restarts_mid_poll_lose_and_double_nothing(self):
        total = 400
        self.dc.append([letter(i, 20000) for i in range(total)])
        server = self.serve()
        seen = wait_for(lambda: self.rows(server) or None, 120, "the first message")
        self.assertLess(seen, total, "the poll was not caught in the middle")
        self.dc.stop()                       # the IMAP server goes away mid-poll ...
        self.dc.start()                      # ... and comes back
        at = wait_for(lambda: (lambda n: n if n > seen else None)(self.rows(server)), 120,
                      "polling after Dovecot's restart")
        if at < total:
            server.stop()                    # civicdesk itself restarts mid-poll too
            server = self.serve(dbdir=server.dir)
        wait_for(lambda: self.rows(server) >= total, 180, "every message stored")
        self.assertEqual(self.rows(server), total)
        self.assertEqual(self.count(server, "SELECT count(DISTINCT uid) FROM mail_in"), total)
        self.assertEqual(self.count(server, "SELECT count(*) FROM items WHERE channel = 'email'"),
                         total)
        self.assertEqual(self.count(server, "SELECT count(DISTINCT message_id) FROM mail_in "
                                            "WHERE outcome = 'created'"), total)
        wait_for(lambda: all("\\Seen" in v for v in self.dc.flags().values()), 30,
                 "every message \\Seen")

    def test_over_size_recorded_not_fetched(self):
        """A message over 32 MiB is never storable: recorded (so not looked at again) and \\Seen,
        without being fetched; the letter after it is stored as usual."""
        line = b"x" * 76 + b"\r\n"
        big = (b"From: big@example.cn\r\nTo: director@bureau.example\r\nSubject: big\r\n"
               b"Message-ID: <big-1@example.cn>\r\n\r\n" + line * (33 * 1024 * 1024 // 78))
        uids = self.dc.append([big, letter(7)])
        server = self.serve()
        wait_for(lambda: self.rows(server) == 2, 120, "both recorded")
        con = sqlite3.connect(server.db, timeout=30)
        try:
            outcome, reason, raw = con.execute(
                "SELECT outcome, reason, raw FROM mail_in WHERE uid = ?", (uids[0],)).fetchone()
        finally:
            con.close()
        self.assertEqual(outcome, "ignored")
        self.assertIn("larger than", reason)
        self.assertIsNone(raw)
        self.assertEqual(self.count(server, "SELECT count(*) FROM items WHERE channel = 'email'"),
                         1)
        wait_for(lambda: all("\\Seen" in v for v in self.dc.flags().values()), 30,
                 "both \\Seen")

    def test_undecodable_html_leaks_nothing_to_the_log(self):
        """Polled, an HTML-only letter whose bytes are not the charset its <meta> names (UTF-8
        under a stale gb2312 <meta>) is stored, and the daemon's log holds nothing of it (libxml2
        printed "encoding error … bytes 0xA0 0xE5 …" from the poller's thread)."""
        text = "你好，我家楼下的路灯坏了三个月，夜里很危险。"
        raw = (b"From: wangwu@example.cn\r\nTo: director@bureau.example\r\nSubject: lamp\r\n"
               b"Message-ID: <imap-meta-undecodable@example.cn>\r\nMIME-Version: 1.0\r\n"
               b"Content-Type: text/html\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
               b'<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312">'
               b"</head><body><p>" + text.encode("utf-8") + b"</p></body></html>\r\n")
        self.dc.append([raw])
        server = self.serve().drain()
        line = wait_for(lambda: [l for l in list(server.drained) if ": 1 stored, " in l], 60,
                        "the poll's line")
        before = list(server.drained)
        before = before[:before.index(line[0])]
        self.assertEqual(self.count(server, "SELECT body FROM items WHERE channel = 'email'"),
                         text)
        self.assertEqual([l for l in before if "error" in l or "0x" in l], [])

    def test_not_seen_until_stored(self):
        """While another process holds the database's write lock the message cannot be stored:
        \\Seen is taken back, and it is stored (and marked) once the lock is gone. (A test build's
        CIVICDESK_TEST_BUSY_MS shortens the daemon's wait for the lock from 10 s: the store gives up
        sooner, the lock is held throughout just the same.)"""
        server = self.serve(env={"CIVICDESK_TEST_BUSY_MS": "500"})
        first = self.dc.append([letter(1)])[0]
        wait_for(lambda: self.rows(server) == 1, 60, "the first message")
        # the daemon's log lines (kept in server.startup, so that the sanitizer check sees them)
        threading.Thread(target=lambda: [server.startup.append(l) for l in server.proc.stdout],
                         daemon=True).start()
        con = sqlite3.connect(server.db, timeout=30, isolation_level=None)
        try:
            con.execute("BEGIN IMMEDIATE")
            uid = self.dc.append([letter(2)])[0]
            wait_for(lambda: any("UID %d not stored" % uid in l for l in list(server.startup)),
                     60, "the store to give up while the database is locked")
            server.stop()  # the attempt in flight ends (not stored) before it exits
            flags = self.dc.flags()
            self.assertNotIn("\\Seen", flags[uid], "not \\Seen while not stored")
            self.assertIn("\\Seen", flags[first])
            self.assertEqual(self.count(server, "SELECT count(*) FROM mail_in WHERE uid = ?",
                                        (uid,)), 0)
            con.execute("ROLLBACK")
        finally:
            con.close()
        server = self.serve(dbdir=server.dir)
        wait_for(lambda: self.count(server, "SELECT count(*) FROM mail_in WHERE uid = ?",
                                    (uid,)) == 1, 60, "the message stored after the lock")
        wait_for(lambda: "\\Seen" in self.dc.flags()[uid], 30, "\\Seen after the commit")


    def test_mailbox_out_of_reach_shown_and_said_once(self):
        """A mailbox the poller cannot reach (the IMAP server down) is recorded at every poll and
        shown to administrators (GET /api/v1/admin/mail, /staff/admin) with why and since when,
        without its password; the log says it once, not at every poll, and says when polling
        works again, after which the status is fine and the waiting letter is stored."""
        self.dc.stop()
        server = self.serve()
        threading.Thread(target=lambda: [server.startup.append(l) for l in server.proc.stdout],
                         daemon=True).start()
        admin = server.staff("box_admin", "admin")

        def status():
            r = admin.request("GET", "/api/v1/admin/mail")
            self.assertEqual(r.status, 200, r)
            boxes = r.json()["mailboxes"]
            return boxes[0] if boxes else None

        box = wait_for(lambda: (lambda b: b if b and b["failures"] >= 3 else None)(status()),
                       60, "three failed polls recorded")
        self.assertTrue(box["error"], box)
        self.assertIsNone(box["last_ok"])
        self.assertIsNotNone(box["failing_since"])
        self.assertIn("127.0.0.1:%d" % self.dc.port, box["mailbox"])
        self.assertNotIn(dovecot.PASSWORD, box["mailbox"] + box["error"])
        said = [l for l in list(server.startup) if "the poll failed" in l]
        self.assertEqual(len(said), 1, said)
        self.assertFalse([l for l in list(server.startup) if dovecot.PASSWORD in l])
        page = admin.request("GET", "/staff/admin?lang=en")
        self.assertEqual(page.status, 200, page)
        html = page.body.decode()
        self.assertIn("mailbox-failing", html)
        self.assertIn("cannot be read", html)
        self.assertIn("It has never been read.", html)
        self.assertNotIn(dovecot.PASSWORD, html)

        self.dc.start()
        self.dc.append([letter(1)])
        box = wait_for(lambda: (lambda b: b if b["error"] is None else None)(status()), 60,
                       "a poll that succeeds")
        self.assertEqual(box["failures"], 0)
        self.assertIsNone(box["failing_since"])
        self.assertIsNotNone(box["last_ok"])
        wait_for(lambda: self.rows(server) == 1, 60, "the waiting letter stored")
        # the log line is read from the server's output by another thread: waited for, not
        # looked up at once (the letter's commit may come first)
        wait_for(lambda: [l for l in list(server.startup) if "polled again after" in l], 60,
                 "the log saying that polling works again")
        # said once for its reason (a different reason, met while Dovecot starts again, is
        # said too: runs of digits compare equal, as the server compares them)
        failed = [re.sub(r"\d+", "N", l.split("the poll failed:", 1)[1]).strip()
                  for l in list(server.startup) if "the poll failed" in l]
        self.assertEqual(failed.count(failed[0]), 1, failed)
        html = admin.request("GET", "/staff/admin?lang=en").body.decode()
        self.assertIn("mailbox-ok", html)
        self.assertNotIn("mailbox-failing", html)


def deliver_large(dc, name, head, mib=33):
    """Delivers a message of head (bytes, CRLF lines) and a photo archive attached in base64, of
    over mib MiB, into dc's INBOX as an MDA does (a Maildir file in new/, with its size in the
    name so that Dovecot need not read it): written in chunks, never whole in memory. Returns
    its size."""
    home = os.path.join(dc.dir, "mail", dovecot.USER)
    m = dc.client()  # the login makes the Maildir
    m.select("INBOX")
    m.logout()
    chunk = base64.encodebytes(os.urandom(57 * 18000)).replace(b"\n", b"\r\n")
    tmp = os.path.join(home, "tmp", name)
    with open(tmp, "wb") as f:
        f.write(head + b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n"
                b"\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\n"
                b"Content-Transfer-Encoding: 8bit\r\n\r\n" +
                "局长您好：现场照片见附件。\r\n".encode() +
                b"--b1\r\nContent-Type: application/zip; name=\"photos.zip\"\r\n"
                b"Content-Disposition: attachment; filename=\"photos.zip\"\r\n"
                b"Content-Transfer-Encoding: base64\r\n\r\n")
        while f.tell() < mib * 1024 * 1024:
            f.write(chunk)
        f.write(b"--b1--\r\n")
        size = f.tell()
    shutil.chown(tmp, "nobody", "nogroup")
    os.rename(tmp, os.path.join(home, "new", "%s,S=%d,W=%d" % (name, size, size)))
    return size


class TooLargeTold(peers.PeerTest, unittest.TestCase):
    """A polled message over 32 MiB is refused unread (no MTA bounces it, as it does for a piped
    one): its sender gets one e-mail saying so and how to send it instead (smaller attachments
    within the limits, a link, the web form), through the outbox in the transaction that records
    the refusal; once per letter (its two copies, sent to two of our addresses, make one notice);
    never to automatic mail (an auto-reply, list mail), told apart by its header alone."""
    PREFIX = "civicdesk-toolarge-"

    def setUp(self):
        super().setUp()
        self.dc = dovecot.Dovecot().start()
        self.addCleanup(self.dc.cleanup)

    def test_sender_told_once(self):
        subject = "现场照片（违章搭建）"
        citizen = ("From: =?utf-8?b?%s?= <zhangsan@example.cn>\r\nTo: director@bureau.example, "
                   "complaint@bureau.example\r\nSubject: =?utf-8?b?%s?=\r\n"
                   "Date: Mon, 30 Nov 2026 10:00:00 +0800\r\n"
                   "Message-ID: <photos-1@example.cn>\r\n" % (
                       base64.b64encode("张三".encode()).decode(),
                       base64.b64encode(subject.encode()).decode())).encode()
        auto = (b"From: office@example.org\r\nTo: director@bureau.example\r\n"
                b"Subject: Out of office: photos\r\nAuto-Submitted: auto-replied\r\n"
                b"Message-ID: <ooo-1@example.org>\r\n")
        listed = (b"From: news@lists.example.org\r\nTo: director@bureau.example\r\n"
                  b"Subject: Photo digest\r\nList-Id: <photos.lists.example.org>\r\n"
                  b"Message-ID: <digest-1@lists.example.org>\r\n")
        size = deliver_large(self.dc, "1.M1P1.test", citizen)
        deliver_large(self.dc, "2.M2P1.test", citizen)  # the copy to the second address
        deliver_large(self.dc, "3.M3P1.test", auto)
        deliver_large(self.dc, "4.M4P1.test", listed)
        smtp = self.peer("smtp")
        self.server = harness.Server(env={
            "CIVICDESK_IMAP_URL": self.dc.url, "CIVICDESK_IMAP_INTERVAL": "1",
            "CIVICDESK_SMTP_URL": "smtp://127.0.0.1:%d" % smtp.port,
            "CIVICDESK_SMTP_FROM": "civicdesk@bureau.example", "CIVICDESK_NOTIFY_POLL_MS": "50",
            "CIVICDESK_DIGEST": "off"}, dbdir=self.dbdir).start().drain()
        db = self.server.db

        def query(sql):
            con = sqlite3.connect(db, timeout=30)
            try:
                return con.execute(sql).fetchall()
            finally:
                con.close()

        wait_for(lambda: query("SELECT count(*) FROM mail_in")[0][0] == 4, 120, "four recorded")
        rows = query("SELECT outcome, reason, size, raw FROM mail_in ORDER BY uid")
        for outcome, reason, n, raw in rows:
            self.assertEqual((outcome, raw), ("ignored", None))
            self.assertIn("larger than", reason)
        self.assertEqual(rows[0][2], size, "the size the server gave")
        self.assertEqual(query("SELECT recipient, step FROM outbox"),
                         [("zhangsan@example.cn", "too-large/photos-1@example.cn")])
        sent = wait_for(lambda: smtp.records(), 60, "the notice sent")
        self.assertEqual(len(sent), 1, sent)
        self.assertEqual(sent[0]["rcpt"], ["zhangsan@example.cn"])
        self.assertIn("Your e-mail was too large", sent[0]["subject"])
        body = sent[0]["body"]
        self.assertIn("“%s”" % subject, body)
        self.assertIn("%.0f MiB" % (size / 1048576), body)
        self.assertIn("at most 5 attachments of up to 5 MiB each, 20 MiB together", body)
        self.assertIn("/submit", body)
        self.assertEqual(sent[0]["auto_submitted"], "auto-generated")
        self.assertEqual(query("SELECT count(*) FROM items")[0][0], 0)
        wait_for(lambda: all("\\Seen" in v for v in self.dc.flags().values()), 30,
                 "all four \\Seen")


if __name__ == "__main__":
    harness.main()
