"""The mail-in contract against mail as real clients and servers write it: the hand-laid corpus
of tests/data/mail/real/ (Foxmail, QQ Mail, 163, Outlook with TNEF and S/MIME, Apple Mail,
Gmail, Thunderbird with RFC 2231 and OpenPGP, ISO-2022-JP, Big5, raw 8-bit GBK, automatic mail
as Exchange, 163 and vacation programs mark it, bounces) piped to `civicdesk ingest-mail` and
polled from a real Dovecot: the line on stdout, the exit code, and the item as
GET /api/v1/items/{tracking} shows it to staff (channel, kind, subject, body, sender,
attachments with their decoded names, byte sizes and types), the same by either way in. Then
what a citizen does next (a reply with a file adds to the item, CRLF or LF alike) and what a
temporary failure does (75, nothing stored, then stored once)."""
import os
import re
import sqlite3
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dovecot  # noqa: E402
import harness  # noqa: E402

harness.BIN = os.path.abspath(harness.BIN)
REAL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "mail", "real")
TRACKING = r"^XJ-\d{8}-\d{5}$"


def ingest(server, raw, timeout=120):
    env = dict(os.environ, CIVICDESK_DB=server.db)
    return subprocess.run([harness.BIN, "ingest-mail"], input=raw, capture_output=True,
                          env=env, timeout=timeout)


def cases():
    return sorted(d for d in os.listdir(REAL)
                  if os.path.exists(os.path.join(REAL, d, "message.eml")))


def read(case, name):
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
            with self.subTest(case=case):
                data = raw(case)
                r = ingest(self.server, data)
                self.assertEqual(r.returncode, int(read(case, "exit") or 0), r.stderr)
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


class PolledAsPiped(unittest.TestCase):
    """The IMAP poller gives the same items as the pipe: the whole corpus APPENDed to a real
    Dovecot, polled by `civicdesk serve`, each message's item compared with what the case
    expects (which test_piped holds the pipe to)."""

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
        names = cases()
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
        by_id = {r[0]: r for r in got}
        con = sqlite3.connect(self.server.db, timeout=30)
        try:
            tracking = dict(con.execute("SELECT id, tracking FROM items"))
        finally:
            con.close()
        for case, data in zip(names, raws):
            with self.subTest(case=case):
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
