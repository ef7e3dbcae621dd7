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
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dovecot  # noqa: E402
import harness  # noqa: E402
import peers  # noqa: E402

harness.BIN = os.path.abspath(harness.BIN)
MAIL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "mail")
REAL = os.path.join(MAIL, "real")
TRACKING = r"^XJ-\d{8}-\d{5}$"


def ingest(server, raw, timeout=120):
    env = dict(os.environ, CIVICDESK_DB=server.db)
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
        cls.server = harness.Server(env={"CIVICDESK_SUBMIT_RATE": "0"}).start()
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
        self.server = harness.Server(env={"CIVICDESK_SUBMIT_RATE": "0"}).start()
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
            r = ingest(self.server, reply)
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


class AnswerToAcknowledgement(unittest.TestCase):
    """The citizen answers our acknowledgement (sent through a real SMTP server): Foxmail's
    answer naming it in In-Reply-To, and QQ Mail's web answer that names nothing but keeps our
    subject (and so the tracking number): each adds to the item, whose number is the line."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="civicdesk-ackreply-")
        cls.smtp = peers.Peer("smtp", cls.tmp).start()
        cls.server = harness.Server(env={
            "CIVICDESK_SMTP_URL": "smtp://127.0.0.1:%d" % cls.smtp.port,
            "CIVICDESK_SMTP_FROM": "civicdesk@bureau.example",
            "CIVICDESK_NOTIFY_POLL_MS": "50", "CIVICDESK_SUBMIT_RATE": "0",
            "CIVICDESK_DIGEST": "off"}).start()
        cls.admin = cls.server.staff("ackreply_admin", "admin")

    @classmethod
    def tearDownClass(cls):
        try:
            cls.server.cleanup()
        finally:
            cls.smtp.stop()
            shutil.rmtree(cls.tmp, ignore_errors=True)

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


class PolledAsPiped(unittest.TestCase):
    """The IMAP poller gives the same items as the pipe: both corpora (this one and
    make_corpus.py's, whose cases test_mailin pipes) APPENDed to a real Dovecot, polled by
    `civicdesk serve`, each message's item compared with what its case expects."""

    def setUp(self):
        self.dc = dovecot.Dovecot().start()
        self.server = harness.Server(env={"CIVICDESK_IMAP_URL": self.dc.url,
                                          "CIVICDESK_IMAP_INTERVAL": "1",
                                          "CIVICDESK_SUBMIT_RATE": "0"})

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
