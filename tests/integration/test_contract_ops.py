"""The Fixed contract's command-line, mail and notice clauses (/work/shared/DESIGN.md), driven as
the acceptance checks drive them, where the other suites leave a gap: real-world messages as mail
clients write them (Outlook, Foxmail, QQ Mail: GBK and GB18030 bodies, quoted-printable, folded
RFC 2047 subjects in several charsets, RFC 2231 names, inline images, malformed MIME) through
`civicdesk ingest-mail` and through IMAP (a real Dovecot), the item as GET /api/v1/items shows it;
the acknowledgement of a mailed-in letter as the SMTP peer (aiosmtpd) receives it, and the
citizen's reply to it; bad values of the environment variables refused at start.

Which suite covers each clause is listed in the final report of the audit_ops session; this file
adds only what none of them checks."""
import base64
import email.utils
import json
import os
import quopri
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dovecot  # noqa: E402
import harness  # noqa: E402
import peers  # noqa: E402

harness.BIN = os.path.abspath(harness.BIN)

DATE = "Mon, 02 Mar 2026 09:30:00 +0800"


def ingest(server, raw, env_extra=None):
    env = dict(os.environ)
    env["CIVICDESK_DB"] = server.db
    if server.clock is not None:
        env["CIVICDESK_TEST_NOW"] = server.clock
    env.update(env_extra or {})
    return subprocess.run([harness.BIN, "ingest-mail"], input=raw, capture_output=True,
                          env=env, timeout=60)


def b64w(text, charset, codec=None):
    """An RFC 2047 B word."""
    return "=?%s?B?%s?=" % (charset, base64.b64encode(text.encode(codec or charset)).decode())


def qw(text, charset, codec=None):
    """An RFC 2047 Q word, as Outlook writes it (every non-ASCII byte as =XX)."""
    raw = text.encode(codec or charset)
    out = "".join(chr(b) if (48 <= b <= 57 or 65 <= b <= 90 or 97 <= b <= 122) else
                  "_" if b == 32 else "=%02X" % b for b in raw)
    return "=?%s?Q?%s?=" % (charset, out)


def qp(text, codec):
    """Quoted-printable of text (CRLF lines) in codec, as a mail client writes a body."""
    return quopri.encodestring(text.replace("\n", "\r\n").encode(codec)).decode("ascii")


def b64lines(data):
    s = base64.b64encode(data).decode()
    return "\r\n".join(s[i:i + 76] for i in range(0, len(s), 76))


def crlf(text):
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode("ascii")


PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(200)) * 3
JPEG = b"\xff\xd8\xff\xe0" + b"\x10JFIF\x00" + bytes(range(256)) * 5
PDF = b"%PDF-1.5\n" + b"stream of a scanned letter\n" * 40
XLSX = b"PK\x03\x04" + b"\x14\x00\x06\x00" + b"spreadsheet rows\n" * 30
TXT = "第一行\r\n第二行\r\n".encode("utf-8")


# --- the messages: (raw bytes, expected subject, expected body, [(filename, size)]) -----------

def outlook_gbk():
    """Outlook 2016 in a Chinese locale: multipart/alternative, gb2312-labelled GBK bodies in
    quoted-printable, a subject of three encoded words in three charsets folded over lines."""
    subject = "关于人民路12号——噪音扰民的投诉（第二次）"
    w1 = qw("关于人民路12号——", "gb2312", "gbk")
    w2 = b64w("噪音扰民的投诉", "utf-8")
    w3 = b64w("（第二次）", "GB18030")
    body = "局长您好：\n\n人民路12号的工地每晚施工到凌晨两点。\n镕、喆二字用GBK才写得出。\n\n此致\n敬礼"
    html = "<html><body><p>局长您好：</p><p>人民路12号的工地每晚施工到凌晨两点。</p></body></html>"
    raw = crlf(
        "From: =?gb2312?B?%s?= <li.si@outlook.example>\n"
        "To: \"Director\" <director@bureau.example>\n"
        "Subject: %s\n %s\n\t%s\n"
        "Date: %s\n"
        "Message-ID: <000001db0001$aabbccdd$11223344@outlook.example>\n"
        "MIME-Version: 1.0\n"
        "Content-Type: multipart/alternative;\n"
        "\tboundary=\"----=_NextPart_000_0001_01DB0001.AABBCCDD\"\n"
        "X-Mailer: Microsoft Outlook 16.0\n"
        "Thread-Index: AdsBAAGqu8zdESIzRA==\n"
        "Content-Language: zh-cn\n"
        "\n"
        "This is a multi-part message in MIME format.\n"
        "\n"
        "------=_NextPart_000_0001_01DB0001.AABBCCDD\n"
        "Content-Type: text/plain;\n\tcharset=\"gb2312\"\n"
        "Content-Transfer-Encoding: quoted-printable\n"
        "\n%s\n"
        "------=_NextPart_000_0001_01DB0001.AABBCCDD\n"
        "Content-Type: text/html;\n\tcharset=\"gb2312\"\n"
        "Content-Transfer-Encoding: quoted-printable\n"
        "\n%s\n"
        "------=_NextPart_000_0001_01DB0001.AABBCCDD--\n"
        % (base64.b64encode("李四".encode("gbk")).decode(), w1, w2, w3, DATE,
           qp(body, "gbk"), qp(html, "gbk")))
    return raw, subject, body, []


def foxmail_gb18030():
    """Foxmail: multipart/mixed of an alternative (GB18030, base64) and attachments of several
    types: a name in RFC 2231 UTF-8 (filename*=UTF-8''…), one in RFC 2231 GBK, one only as an
    encoded word in Content-Type's name, a PDF with a plain name; a subject split inside a
    character across two encoded words (as some clients cut base64 words by bytes)."""
    subject = "反映𠮷祥小区停车难问题及照片材料"
    sb = subject.encode("utf-8")
    cut = len("反映𠮷祥".encode("utf-8")) + 1  # inside 小
    sw1 = "=?UTF-8?B?%s?=" % base64.b64encode(sb[:cut]).decode()
    sw2 = "=?UTF-8?B?%s?=" % base64.b64encode(sb[cut:]).decode()
    body = "您好：\n小区停车位严重不足，𠮷祥路两侧违停。\n附件是照片和统计表。"
    html = "<div>您好：</div><div>小区停车位严重不足。</div>"
    names = ["统计表（2026年）.xlsx", "现场照片.png", "说明 材料.txt", "letter.pdf"]
    utf8_name = urllib.parse.quote(names[0].encode("utf-8"), safe="")
    gbk_name = urllib.parse.quote(names[1].encode("gbk"), safe="")
    raw = crlf(
        "From: \"=?GB18030?B?%s?=\" <12345@qq.com>\n"
        "To: \"director\" <director@bureau.example>\n"
        "Subject: %s\n %s\n"
        "Date: %s\n"
        "Message-ID: <202603020930001234567@qq.com>\n"
        "X-Mailer: Foxmail 7.2.25.228[cn]\n"
        "Mime-Version: 1.0\n"
        "Content-Type: multipart/mixed;\n\tboundary=\"----=_001_NextPart012345678901_=----\"\n"
        "\n"
        "This is a multi-part message in MIME format.\n"
        "\n"
        "------=_001_NextPart012345678901_=----\n"
        "Content-Type: multipart/alternative;\n"
        "\tboundary=\"----=_002_NextPart987654321098_=----\"\n"
        "\n\n"
        "------=_002_NextPart987654321098_=----\n"
        "Content-Type: text/plain;\n\tcharset=\"GB18030\"\n"
        "Content-Transfer-Encoding: base64\n"
        "\n%s\n\n"
        "------=_002_NextPart987654321098_=----\n"
        "Content-Type: text/html;\n\tcharset=\"GB18030\"\n"
        "Content-Transfer-Encoding: quoted-printable\n"
        "\n%s\n"
        "------=_002_NextPart987654321098_=------\n"
        "\n"
        "------=_001_NextPart012345678901_=----\n"
        "Content-Type: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet;\n"
        "\tname*=UTF-8''%s\n"
        "Content-Transfer-Encoding: base64\n"
        "Content-Disposition: attachment;\n\tfilename*=UTF-8''%s\n"
        "\n%s\n\n"
        "------=_001_NextPart012345678901_=----\n"
        "Content-Type: image/png\n"
        "Content-Transfer-Encoding: base64\n"
        "Content-Disposition: attachment; filename*=GBK''%s\n"
        "\n%s\n\n"
        "------=_001_NextPart012345678901_=----\n"
        "Content-Type: application/octet-stream;\n\tname=\"%s\"\n"
        "Content-Transfer-Encoding: base64\n"
        "\n%s\n\n"
        "------=_001_NextPart012345678901_=----\n"
        "Content-Type: application/pdf; name=\"letter.pdf\"\n"
        "Content-Transfer-Encoding: base64\n"
        "Content-Disposition: attachment; filename=\"letter.pdf\"\n"
        "\n%s\n\n"
        "------=_001_NextPart012345678901_=------\n"
        % (base64.b64encode("小明".encode("gb18030")).decode(), sw1, sw2, DATE,
           b64lines(body.replace("\n", "\r\n").encode("gb18030")), qp(html, "gb18030"),
           utf8_name, utf8_name, b64lines(XLSX), gbk_name, b64lines(PNG),
           b64w(names[2], "GBK", "gbk"), b64lines(TXT), b64lines(PDF)))
    return raw, subject, body, [(names[0], len(XLSX)), (names[1], len(PNG)),
                                (names[2], len(TXT)), (names[3], len(PDF))]


def qq_inline_image():
    """QQ Mail / Outlook: multipart/related with an inline image (Content-ID, disposition
    inline) beside the HTML of an alternative, and one attachment; the text part in GBK QP."""
    subject = "井盖缺失，附图"
    body = "人民路与解放路交叉口的井盖丢了，见下图。"
    html = "<p>人民路与解放路交叉口的井盖丢了，见下图。</p><img src=\"cid:image001.png@01DB\">"
    raw = crlf(
        "From: =?utf-8?B?%s?= <wang@qq.com>\n"
        "To: director@bureau.example\n"
        "Subject: %s\n"
        "Date: %s\n"
        "Message-ID: <tencent_0011223344@qq.com>\n"
        "MIME-Version: 1.0\n"
        "Content-Type: multipart/mixed; boundary=\"MIX\"\n"
        "\n"
        "--MIX\n"
        "Content-Type: multipart/related; type=\"multipart/alternative\"; boundary=\"REL\"\n"
        "\n"
        "--REL\n"
        "Content-Type: multipart/alternative; boundary=\"ALT\"\n"
        "\n"
        "--ALT\n"
        "Content-Type: text/plain; charset=\"gbk\"\n"
        "Content-Transfer-Encoding: quoted-printable\n"
        "\n%s\n"
        "--ALT\n"
        "Content-Type: text/html; charset=\"gbk\"\n"
        "Content-Transfer-Encoding: quoted-printable\n"
        "\n%s\n"
        "--ALT--\n"
        "\n"
        "--REL\n"
        "Content-Type: image/png; name=\"image001.png\"\n"
        "Content-Transfer-Encoding: base64\n"
        "Content-ID: <image001.png@01DB>\n"
        "Content-Disposition: inline; filename=\"image001.png\"\n"
        "\n%s\n"
        "--REL--\n"
        "\n"
        "--MIX\n"
        "Content-Type: image/jpeg; name=\"=?gbk?B?%s?=\"\n"
        "Content-Transfer-Encoding: base64\n"
        "Content-Disposition: attachment; filename=\"=?gbk?B?%s?=\"\n"
        "\n%s\n"
        "--MIX--\n"
        % (base64.b64encode("王五".encode()).decode(), b64w(subject, "gbk"), DATE,
           qp(body, "gbk"), qp(html, "gbk"), b64lines(PNG),
           base64.b64encode("井盖.jpg".encode("gbk")).decode(),
           base64.b64encode("井盖.jpg".encode("gbk")).decode(), b64lines(JPEG)))
    return raw, subject, body, [("image001.png", len(PNG)), ("井盖.jpg", len(JPEG))]


def html_only_gb18030_qp():
    subject = "咨询：营业执照办理时限"
    html = ("<html><head><meta charset=\"gb18030\"></head><body>"
            "<div>请问营业执照办理需要几个工作日？</div><div>谢谢！</div></body></html>")
    raw = crlf(
        "From: zhao@163.com\n"
        "To: ask@bureau.example\n"
        "Subject: %s\n"
        "Date: %s\n"
        "Message-ID: <html-only-qp@163.com>\n"
        "MIME-Version: 1.0\n"
        "Content-Type: text/html; charset=GB18030\n"
        "Content-Transfer-Encoding: quoted-printable\n"
        "\n%s\n" % (qw(subject, "GB18030"), DATE, qp(html, "gb18030")))
    return raw, subject, "请问营业执照办理需要几个工作日？\n谢谢！", []


MESSAGES = [("outlook-gbk", outlook_gbk), ("foxmail-gb18030", foxmail_gb18030),
            ("qq-inline-image", qq_inline_image), ("html-only-gb18030-qp", html_only_gb18030_qp)]


def plain(subject, body, sender="citizen@example.cn", msgid=None, extra=""):
    return crlf("From: %s\nTo: director@bureau.example\nSubject: %s\nDate: %s\n%s%s"
                "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
                "Content-Transfer-Encoding: base64\n\n%s\n"
                % (sender, b64w(subject, "utf-8"), DATE,
                   "Message-ID: <%s>\n" % msgid if msgid else "", extra,
                   b64lines(body.encode("utf-8"))))


# Automatic mail the other suites do not feed: (name, raw, reason printed after "ignored: ")
NOISE = [
    ("x-autoreply", plain("Re: 您的来信", "我正在休假。", extra="X-Autoreply: yes\n"),
     "auto-reply"),
    ("precedence-list", plain("[news] 周报", "本周新闻。", extra="Precedence: list\n"),
     "bulk precedence"),
    ("outlook-ooo", plain("自动答复: 关于来信", "我不在办公室。",
                          extra="Auto-Submitted: auto-replied\nX-Auto-Response-Suppress: All\n"),
     "auto-submitted"),
    ("mailer-daemon-plain",
     crlf("From: Mail Delivery System <MAILER-DAEMON@mx.example.cn>\nTo: director@bureau.example\n"
          "Subject: Undelivered Mail Returned to Sender\nDate: %s\n"
          "Content-Type: text/plain\n\nThis is the mail system at host mx.example.cn.\n" % DATE),
     "bounce (postmaster)"),
]


def broken_raw(subject, ctype, rest):
    head = ("From: c@example.cn\nTo: director@bureau.example\nSubject: %s\nDate: %s\n"
            "Message-ID: <broken-%s@example.cn>\nMIME-Version: 1.0\nContent-Type: %s\n\n"
            % (subject, DATE, subject.replace(" ", "-"), ctype))
    return (head + rest).replace("\n", "\r\n").encode("utf-8")


# Malformed MIME: (name, raw, words the body must hold, attachments)
BROKEN = [
    ("no boundary parameter", broken_raw(
        "no boundary", "multipart/mixed",
        "--X\nContent-Type: text/plain; charset=utf-8\n\n没有边界参数的正文\n--X--\n"),
     "没有边界参数的正文", []),
    ("boundary never found", broken_raw(
        "never found", "multipart/mixed; boundary=\"NOPE\"",
        "--X\nContent-Type: text/plain; charset=utf-8\n\n边界不匹配的正文\n--X--\n"),
     "边界不匹配的正文", []),
    ("unterminated, truncated base64", broken_raw(
        "unterminated", "multipart/mixed; boundary=\"B\"",
        "--B\nContent-Type: text/plain; charset=utf-8\n\n没有结束边界\n--B\n"
        "Content-Type: image/png\nContent-Transfer-Encoding: base64\n"
        "Content-Disposition: attachment; filename=\"cut.png\"\n\n" + b64lines(PNG)[:300]
        + "\n"),
     # the bytes of the unfinished last quantum too, as Python's email package decodes it
     "没有结束边界", [("cut.png", 220)]),
    ("bad base64", broken_raw(
        "bad base64", "text/plain; charset=utf-8\nContent-Transfer-Encoding: base64",
        "5q2j5paH!!!@@@###5Zub\n"), "正文四", []),
    ("unknown transfer encoding", broken_raw(
        "bad cte", "text/plain; charset=utf-8\nContent-Transfer-Encoding: x-weird",
        "未知编码的正文\n"), "未知编码的正文", []),
    ("blank text/plain beside the HTML", broken_raw(
        "blank plain", "multipart/alternative; boundary=\"A\"",
        "--A\nContent-Type: text/plain; charset=utf-8\n\n \n\n--A\n"
        "Content-Type: text/html; charset=utf-8\n\n<p>只在HTML里的正文</p>\n--A--\n"),
     "只在HTML里的正文", []),
    ("unknown charset", broken_raw(
        "unknown charset", "text/plain; charset=x-klingon", "未知字符集的正文\n"),
     "未知字符集的正文", []),
]


class IngestShapes(unittest.TestCase):
    """ingest-mail with the messages above: one line, exit 0, the item as the API shows it."""

    @classmethod
    def setUpClass(cls):
        cls.server = harness.Server(env={"CIVICDESK_SUBMIT_RATE": "0"}, db_from=harness.new_db()).start()
        cls.admin = cls.server.staff("ops_admin", "admin")

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def item(self, tracking):
        r = self.admin.request("GET", "/api/v1/items/" + tracking)
        self.assertEqual(r.status, 200, r)
        return r.json()

    def check_item(self, tracking, subject, body, atts):
        it = self.item(tracking)
        self.assertEqual(it["channel"], "email")
        self.assertEqual(it["subject"], subject)
        self.assertEqual(it["body"], body)
        self.assertEqual([(a["filename"], a["size"]) for a in it["attachments"]], atts)
        for a in it["attachments"]:
            self.assertTrue(a["content_type"], a)
        return it

    def test_client_shapes(self):
        for name, make in MESSAGES:
            with self.subTest(message=name):
                raw, subject, body, atts = make()
                r = ingest(self.server, raw)
                self.assertEqual(r.returncode, 0, r.stderr)
                lines = r.stdout.decode().splitlines()
                self.assertEqual(len(lines), 1, r.stdout)
                self.assertRegex(lines[0], r"^XJ-\d{8}-\d{5}$")
                self.check_item(lines[0], subject, body, atts)

    def test_gbk_text_attachment(self):
        """A text file in GBK, as Chinese editors save it and Foxmail attaches it (declared
        charset=gbk): kept as it came, its byte size the decoded part's, served with its
        charset; before, only UTF-8 counted as text and the file was left out."""
        text = "情况说明：\r\n路灯已坏三周。\r\n".encode("gbk")
        raw = broken_raw(
            "GBK attachment", "multipart/mixed; boundary=\"G\"",
            "--G\nContent-Type: text/plain; charset=utf-8\n\n见附件\n--G\n"
            "Content-Type: text/plain; charset=\"gbk\"; name=\"=?gbk?B?%s?=\"\n"
            "Content-Transfer-Encoding: base64\n"
            "Content-Disposition: attachment; filename=\"=?gbk?B?%s?=\"\n\n%s\n--G--\n"
            % (base64.b64encode("说明.txt".encode("gbk")).decode(),
               base64.b64encode("说明.txt".encode("gbk")).decode(), b64lines(text)))
        r = ingest(self.server, raw)
        self.assertEqual(r.returncode, 0, r.stderr)
        t = r.stdout.decode().strip()
        it = self.check_item(t, "GBK attachment", "见附件", [("说明.txt", len(text))])
        a = it["attachments"][0]
        self.assertEqual(a["content_type"], "text/plain; charset=gb18030")
        got = self.admin.request("GET", "/api/v1/items/%s/attachments/%d" % (t, a["id"]))
        self.assertEqual(got.status, 200, got)
        self.assertEqual(got.body, text)
        self.assertEqual(got.header("Content-Type"), "text/plain; charset=gb18030")

    def test_long_letter_stored(self):
        """A letter longer than an item's 20,000 characters, with a subject longer than the
        forms' 200: stored (exit 0), cut with a note, the subject whole (an e-mail item's is the
        whole decoded Subject). Before, the cut text and its mark came to 20,016 characters and
        ingest-mail exited 65, which an MTA turns into a bounce."""
        subject = "长" * 250
        raw = broken_raw("x", "text/plain; charset=utf-8", "正" * 25000 + "\n").replace(
            b"Subject: x", ("Subject: =?utf-8?B?%s?=" % base64.b64encode(
                subject.encode()).decode()).encode())
        r = ingest(self.server, raw)
        self.assertEqual(r.returncode, 0, r.stderr)
        it = self.item(r.stdout.decode().strip())
        self.assertLessEqual(len(it["body"]), 20000)
        self.assertIn("cut here", it["body"])
        self.assertNotIn("主题全文", it["body"])
        self.assertEqual(it["subject"], subject)

    def test_malformed_mime(self):
        """A broken structure is stored (exit 0, a tracking number), with the citizen's words
        in the body and what attachments can be read; never "(no text)" when there was text."""
        for name, raw, words, atts in BROKEN:
            with self.subTest(message=name):
                r = ingest(self.server, raw)
                self.assertEqual(r.returncode, 0, r.stderr)
                lines = r.stdout.decode().splitlines()
                self.assertEqual(len(lines), 1, r.stdout)
                self.assertRegex(lines[0], r"^XJ-\d{8}-\d{5}$")
                it = self.item(lines[0])
                self.assertIn(words, it["body"])
                self.assertEqual([(a["filename"], a["size"]) for a in it["attachments"]], atts)

    def test_not_a_message_and_too_large(self):
        """Bytes that are no message, and a message over the limit, are never storable: 65 and
        nothing on stdout."""
        for raw in (bytes(range(256)) * 20, b"From: a@example.cn\r\nSubject: big\r\n\r\n" +
                    b"x" * (32 * 1024 * 1024)):
            r = ingest(self.server, raw)
            self.assertEqual((r.returncode, r.stdout), (65, b""), r.stderr[-300:])
            self.assertTrue(r.stderr.strip())

    def test_automatic_mail_ignored(self):
        for name, raw, reason in NOISE:
            with self.subTest(message=name):
                before = self.count_items()
                r = ingest(self.server, raw)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(r.stdout.decode(), "ignored: %s\n" % reason)
                self.assertEqual(self.count_items(), before)

    def count_items(self):
        con = sqlite3.connect(self.server.db, timeout=30)
        try:
            return con.execute("SELECT count(*) FROM items").fetchone()[0]
        finally:
            con.close()


class ImapShapes(unittest.TestCase):
    """The same messages delivered to a real Dovecot and fetched by `civicdesk serve` over IMAP
    (CIVICDESK_IMAP_URL, CIVICDESK_IMAP_INTERVAL): the same items, the same automatic mail
    ignored. (test_imap.py counts the corpus's items; here each item is checked as the API
    shows it.)"""

    def setUp(self):
        self.dc = dovecot.Dovecot().start()
        self.server = None

    def tearDown(self):
        try:
            if self.server is not None:
                self.server.cleanup()
        finally:
            self.dc.cleanup()

    def rows(self):
        con = sqlite3.connect(self.server.db, timeout=30)
        try:
            return {uid: (outcome, reason, tracking) for uid, outcome, reason, tracking in
                    con.execute("SELECT m.uid, m.outcome, m.reason, i.tracking FROM mail_in m "
                                "LEFT JOIN items i ON i.id = m.item_id WHERE m.source = 'imap'")}
        finally:
            con.close()

    def test_client_shapes_over_imap(self):
        made = [make() for _, make in MESSAGES]
        made += [(raw, None, words, atts) for _, raw, words, atts in BROKEN]
        noise = [raw for _, raw, _ in NOISE]
        uids = self.dc.append([m[0] for m in made] + noise)
        self.server = harness.Server(env={"CIVICDESK_IMAP_URL": self.dc.url,
                                          "CIVICDESK_IMAP_INTERVAL": "1",
                                          "CIVICDESK_SUBMIT_RATE": "0"},
                                   db_from=harness.new_db()).start()
        admin = self.server.staff("imap_admin", "admin")
        rows = peers.wait_for(lambda: (lambda r: r if len(r) == len(uids) else None)(
            self.rows()), 120, "every message fetched and stored")
        for uid, (raw, subject, body, atts) in zip(uids, made):
            with self.subTest(uid=uid, subject=subject or body):
                outcome, reason, tracking = rows[uid]
                self.assertEqual(outcome, "created", reason)
                it = admin.request("GET", "/api/v1/items/" + tracking).json()
                self.assertEqual(it["channel"], "email")
                if subject is None:  # a malformed one: the words it must hold
                    self.assertIn(body, it["body"])
                else:
                    self.assertEqual((it["subject"], it["body"]), (subject, body))
                self.assertEqual([(a["filename"], a["size"]) for a in it["attachments"]], atts)
        for uid, (_, _, reason) in zip(uids[len(made):], NOISE):
            with self.subTest(uid=uid, ignored=reason):
                self.assertEqual(rows[uid][0], "ignored")
                self.assertTrue(rows[uid][1].startswith(reason), rows[uid])
                self.assertIsNone(rows[uid][2])


class MailedLetterNotices(peers.PeerClass, unittest.TestCase):
    """A letter that came by e-mail (Outlook, GBK, a folded three-charset subject), followed as
    the contract's notice clauses say, through a real SMTP server and SMS gateway: the
    acknowledgement as received (decoded: tracking number, the whole Chinese subject quoted), the
    citizen's reply to it added to the item, the overdue notice to the section head by e-mail and
    SMS and the supervisors' two working days later each naming the tracking number, and a
    restart that sends nothing again. November 2025 has no holidays: received Mon 3 Nov 09:00,
    the forward clock is due Thu 6 Nov, the supervisors are told on Mon 10 Nov."""

    PREFIX = "civicdesk-ops-"
    # the gateway accepts the first SMS with 202 (no body of ours), the second with 204
    SMS_ARGS = ("--script", "202,204")

    @classmethod
    def start_daemon(cls):
        from test_notify import add_accounts, start_server
        server = start_server(cls.tmp, cls.smtp.port, cls.sms.port, "2025-11-03T09:00",
                              {"CIVICDESK_SMS_QUIET": "off"}, dbdir=cls.dbdir)
        server.clock = "2025-11-03T09:00"
        add_accounts(server)
        return server

    def mails(self, to):
        return [m for m in self.smtp.records() if to in m.get("rcpt", [])]

    def texts(self, phone):
        return [s for s in self.sms.records() if s.get("phone") == phone]

    def items(self):
        con = sqlite3.connect(self.server.db, timeout=30)
        try:
            return con.execute("SELECT count(*) FROM items").fetchone()[0]
        finally:
            con.close()

    def test_acknowledged_answered_overdue_escalated_once(self):
        from test_notify import PASSWORD, at_moment
        raw, subject, _, _ = outlook_gbk()
        r = ingest(self.server, raw)
        self.assertEqual(r.returncode, 0, r.stderr)
        t = r.stdout.decode().strip()
        self.assertRegex(t, r"^XJ-20251103-\d{5}$")

        # the acknowledgement, decoded as the citizen's mail client shows it
        ack = peers.wait_for(lambda: self.mails("li.si@outlook.example"), 60,
                             "the acknowledgement")
        self.assertEqual(len(ack), 1, ack)
        ack = ack[0]
        self.assertIn(t, ack["subject"])
        self.assertIn(t, ack["body"])
        self.assertIn(subject, ack["body"])
        self.assertTrue(ack["raw_subject"].isascii(), ack["raw_subject"])  # RFC 2047 words
        self.assertEqual(ack["auto_submitted"], "auto-generated")
        self.assertEqual(ack["from"], "civicdesk@bureau.example")  # CIVICDESK_SMTP_FROM

        # the citizen answers it: Outlook's "答复: " and its own encoding of our subject
        n = self.items()
        reply = crlf(
            "From: =?gb2312?B?%s?= <li.si@outlook.example>\n"
            "To: <civicdesk@bureau.example>\n"
            "Subject: %s\n"
            "Date: %s\n"
            "Message-ID: <000002db0002$aabbccdd$11223344@outlook.example>\n"
            "In-Reply-To: %s\n"
            "References: %s\n"
            "MIME-Version: 1.0\n"
            "Content-Type: text/plain; charset=\"gb2312\"\n"
            "Content-Transfer-Encoding: quoted-printable\n\n%s\n"
            % (base64.b64encode("李四".encode("gbk")).decode(),
               b64w("答复: " + ack["subject"], "gb2312", "gbk"), DATE, ack["message_id"],
               ack["message_id"],
               qp("补充：施工单位是某某建筑公司。\n\n-----原始邮件-----\n> 我们已收到您的来信",
                  "gbk")))
        r = ingest(self.server, reply)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.decode(), t + "\n")
        self.assertEqual(self.items(), n, "a reply adds to the item, it makes none")
        staff = self.server.login("disp_n", PASSWORD)
        it = staff.request("GET", "/api/v1/items/" + t).json()
        self.assertTrue(any("施工单位是某某建筑公司" in (h.get("note") or "")
                            for h in it["history"]), it["history"])
        self.assertEqual(len(self.mails("li.si@outlook.example")), 1, "no second acknowledgement")

        r = staff.request("POST", "/api/v1/items/%s/actions/assign" % t,
                          json_body={"section": "法规处", "assignee": "hand_n"})
        self.assertEqual(r.status, 200, r)

        # Fri 7 Nov: the forward clock ran out on Thu: the section head, by e-mail and SMS
        at_moment(self.server, "2025-11-07T09:00")
        head_mail = [m for m in self.mails("head@example.com") if "逾期" in m["subject"]]
        self.assertEqual(len(head_mail), 1, head_mail)
        self.assertIn(t, head_mail[0]["subject"] + head_mail[0]["body"])
        head_sms = self.texts("13800000011")
        self.assertEqual(len(head_sms), 1, head_sms)
        self.assertIn(t, head_sms[0]["text"])
        self.assertFalse(self.mails("sup@example.com"), "no supervisor yet")

        # Mon 10 Nov: two working days later, every supervisor, by e-mail and SMS
        at_moment(self.server, "2025-11-10T09:00")
        for to in ("sup@example.com", "sup2@example.com"):
            got = self.mails(to)
            self.assertEqual(len(got), 1, (to, got))
            self.assertIn(t, got[0]["subject"] + got[0]["body"])
        sup_sms = self.texts("13800000013")
        self.assertEqual(len(sup_sms), 1, sup_sms)
        self.assertIn(t, sup_sms[0]["text"])
        # the gateway's request: a POST of JSON {"phone","text"}; 202 and 204 both accepted
        for rec, answer in ((head_sms[0], 202), (sup_sms[0], 204)):
            self.assertEqual((rec["method"], rec["answer"]), ("POST", answer))
            self.assertTrue(rec["content_type"].startswith("application/json"), rec)
            self.assertEqual(set(json.loads(rec["raw"])), {"phone", "text"})
        con = sqlite3.connect(self.server.db, timeout=30)
        try:
            states = con.execute("SELECT state, attempts FROM outbox WHERE channel = 'sms'"
                                 ).fetchall()
        finally:
            con.close()
        self.assertEqual(states, [("sent", 1), ("sent", 1)])

        # a restart at the same moment sends nothing again
        before_m, before_t = len(self.smtp.records()), len(self.sms.records())
        self.server.stop()
        self.server.start()
        at_moment(self.server, "2025-11-10T09:00")
        self.assertEqual((len(self.smtp.records()), len(self.sms.records())),
                         (before_m, before_t))


class UserAdd(unittest.TestCase):
    """`civicdesk user add` for every role, on a daemon with the built-in second-factor
    settings (not the suites' CIVICDESK_TOTP_ROLES=""): each account logs in at once, with no
    forced change, and works; a bad e-mail or phone is refused with a clear message (the other
    refusals are in test_auth.py's test_cli_exit_codes)."""

    ROLES = [("handler", "法规处"), ("section_head", "法规处"), ("dispatcher", None),
             ("supervisor", None), ("admin", None)]
    PW = "Contract-Passw0rd"

    def setUp(self):
        self.server = harness.Server(env={"CIVICDESK_TOTP_ROLES": None}).start()

    def tearDown(self):
        self.server.cleanup()

    def add(self, name, role, section=None, email=None, phone=None, password=None):
        args = ["user", "add", name, "--role", role]
        if section:
            args += ["--section", section]
        if email:
            args += ["--email", email]
        if phone:
            args += ["--phone", phone]
        return self.server.cli(*args, "--password-stdin", stdin=(password or self.PW) + "\n")

    def test_every_role_logs_in_at_once(self):
        for role, section in self.ROLES:
            with self.subTest(role=role):
                name = "c_" + role
                r = self.add(name, role, section, email=role + "@bureau.example",
                             phone="13800000099")
                self.assertEqual((r.returncode, r.stdout), (0, "created %s (%s)\n" % (name, role)),
                                 r.stderr)
                r = self.server.request("POST", "/api/v1/login",
                                        json_body={"username": name, "password": self.PW})
                self.assertEqual(r.status, 200, r)
                self.assertEqual((r.json()["role"], r.json()["section"], r.json()["must_change"]),
                                 (role, section, False))
                cookie = r.header("Set-Cookie").split(";", 1)[0]
                q = self.server.request("GET", "/api/v1/queue?state=all",
                                        headers={"Cookie": cookie})
                self.assertEqual(q.status, 200, q)
                me = self.server.request("GET", "/api/v1/me", headers={"Cookie": cookie})
                self.assertEqual(me.status, 200, me)

    def test_bad_contact_refused(self):
        for field, value in (("email", "not-an-address"), ("email", "x y@bureau.example"),
                             ("email", "张三 <z@bureau.example>"),
                             ("email", "a@bureau.example,b@bureau.example"), ("phone", "abc"),
                             ("phone", "12345")):
            with self.subTest(field=field, value=value):
                r = self.add("c_bad", "supervisor", **{field: value})
                self.assertEqual(r.returncode, 65, r.stderr)
                self.assertEqual(r.stdout, "")
                self.assertIn("'%s' is not a%s" % (value, "n e-mail" if field == "email" else
                                                     " phone"), r.stderr)
        r = self.server.cli("user", "list")
        self.assertNotIn("c_bad", r.stdout)


class AdminApiContact(unittest.TestCase):
    """The admin API makes accounts through the same checks as `user add`: a phone or e-mail
    that no gateway or mail server would take is 400 naming the field, and no account is made;
    good ones are taken."""

    def setUp(self):
        self.server = harness.Server(db_from=harness.new_db()).start()
        self.admin = self.server.staff("api_admin", "admin")

    def tearDown(self):
        self.server.cleanup()

    def test_bad_contact_refused(self):
        for field, value in (("email", "张三 <z@bureau.example>"), ("email", "x y@bureau.example"),
                             ("email", "a@bureau.example,b@bureau.example"), ("phone", "abc"),
                             ("phone", "12345")):
            with self.subTest(field=field, value=value):
                r = self.admin.request("POST", "/api/v1/admin/users", json_body={
                    "username": "api_bad", "role": "supervisor", field: value})
                self.assertEqual(r.status, 400, r)
                self.assertEqual(r.json()["error"]["field"], field, r)
                self.assertIn(value, r.json()["error"]["message"])
        names = [u["username"] for u in self.admin.request(
            "GET", "/api/v1/admin/users").json()["users"]]
        self.assertNotIn("api_bad", names)
        r = self.admin.request("POST", "/api/v1/admin/users", json_body={
            "username": "api_good", "role": "supervisor", "email": "boss@localhost",
            "phone": "+86 13912345678"})
        self.assertEqual(r.status, 201, r)


class RestoreKeepsEveryCopy(unittest.TestCase):
    """`civicdesk restore FILE` keeps the database it replaces as DB.pre-restore-UNIXTIME; a
    second restore in the same second put its copy (and could pair a stale WAL) over the
    first. Here the names of the next seconds are taken already: the copy goes beside them,
    which stay as they were, and it is the whole replaced database."""

    def test_restore_never_overwrites_a_kept_copy(self):
        srv = harness.Server(env={"CIVICDESK_SUBMIT_RATE": "0"}, db_from=harness.new_db()).start()
        tmp = tempfile.mkdtemp(prefix="civicdesk-restore-")
        try:
            first = srv.request("POST", "/api/v1/items", json_body={
                "kind": "letter", "subject": "备份前", "body": "正文", "email": "a@example.cn",
                "publish": False}).json()["tracking"]
            backup = os.path.join(tmp, "b.db")
            self.assertEqual(srv.cli("backup", backup).returncode, 0)
            later = srv.request("POST", "/api/v1/items", json_body={
                "kind": "letter", "subject": "备份后", "body": "正文", "email": "a@example.cn",
                "publish": False}).json()["tracking"]
            srv.stop()
            # the live database (WAL) restored onto itself, its connection open throughout: the
            # working copy's WAL and shared memory are not left behind for the next restore
            r = srv.cli("restore", srv.db)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual([f for f in os.listdir(srv.dir) if ".restoring" in f], [])
            now = int(time.time())
            taken = {}
            for t in range(now - 1, now + 30):
                path = "%s.pre-restore-%d" % (srv.db, t)
                for suffix in ("", "-wal"):
                    with open(path + suffix, "wb") as f:
                        f.write(b"an earlier kept copy %d%s" % (t, suffix.encode()))
                    taken[path + suffix] = b"an earlier kept copy %d%s" % (t, suffix.encode())
            r = srv.cli("restore", backup)
            self.assertEqual(r.returncode, 0, r.stderr)
            kept = r.stdout.split("kept as ", 1)[1].strip()
            self.assertEqual([f for f in os.listdir(srv.dir) if ".restoring" in f], [],
                             "the restore's working files are gone")
            self.assertFalse(kept in taken, "kept over an earlier copy: " + kept)
            for path, data in taken.items():
                with open(path, "rb") as f:
                    self.assertEqual(f.read(), data, path)
            con = sqlite3.connect("file:%s?mode=ro" % kept, uri=True)
            try:
                self.assertEqual({t for (t,) in con.execute("SELECT tracking FROM items")},
                                 {first, later})
            finally:
                con.close()
            srv.start()
            r = srv.request("GET", "/api/v1/health")
            self.assertEqual(r.status, 200, r)
        finally:
            srv.cleanup()
            shutil.rmtree(tmp, ignore_errors=True)


class Environment(unittest.TestCase):
    """Each contract variable with a bad value: `civicdesk serve` refuses to start (exit 1, never
    "listening"), and says which setting and value it refused."""

    # variable, bad value, words the message must hold
    BAD = [
        ("CIVICDESK_LISTEN", "nonsense", ["listen", "nonsense"]),
        ("CIVICDESK_LISTEN", "127.0.0.1:99999", ["listen", "127.0.0.1:99999"]),
        ("CIVICDESK_LISTEN", "127.0.0.1:http", ["listen", "127.0.0.1:http"]),
        ("CIVICDESK_DB", "/proc/no/such/dir/civicdesk.db", ["/proc/no/such/dir/civicdesk.db"]),
        ("CIVICDESK_CALENDAR_DIR", "/nonexistent/calendars", ["/nonexistent/calendars"]),
        ("CIVICDESK_TZ", "Mars/Olympus", ["time zone", "Mars/Olympus"]),
        ("CIVICDESK_SMTP_URL", "ftp://mail.example", ["smtp_url", "ftp://mail.example"]),
        ("CIVICDESK_SMTP_URL", "smtp://mail.example:99999", ["smtp_url", "99999"]),
        ("CIVICDESK_SMTP_URL", "smtps://mail.example:x", ["smtp_url", "smtps://mail.example:x"]),
        ("CIVICDESK_SMTP_FROM", "civicdesk", ["smtp_from", "civicdesk"]),
        ("CIVICDESK_SMTP_FROM", "信访办 <xf@>", ["smtp_from", "信访办"]),
        ("CIVICDESK_SMTP_FROM", "a@bureau.example, b@bureau.example", ["smtp_from"]),
        ("CIVICDESK_SMS_URL", "sms.example/send", ["sms_url", "sms.example/send"]),
        ("CIVICDESK_SMS_URL", "http://127.0.0.1:99999/send", ["sms_url", "99999"]),
        ("CIVICDESK_SMS_URL", "http://", ["sms_url", "http://"]),
        ("CIVICDESK_IMAP_URL", "http://mail.example/INBOX", ["imap_url"]),
        ("CIVICDESK_IMAP_URL", "imap://u:p@127.0.0.1:99999/INBOX", ["imap_url"]),
        ("CIVICDESK_SUBMIT_RATE", "-1", ["CIVICDESK_SUBMIT_RATE", "-1"]),
        ("CIVICDESK_SUBMIT_RATE", "ten", ["CIVICDESK_SUBMIT_RATE", "ten"]),
        ("CIVICDESK_IMAP_INTERVAL", "0", ["CIVICDESK_IMAP_INTERVAL", "0"]),
        ("CIVICDESK_IMAP_INTERVAL", "1m", ["CIVICDESK_IMAP_INTERVAL", "1m"]),
        ("CIVICDESK_SCAN_INTERVAL", "0", ["CIVICDESK_SCAN_INTERVAL", "0"]),
        ("CIVICDESK_SCAN_INTERVAL", "-60", ["CIVICDESK_SCAN_INTERVAL", "-60"]),
        ("CIVICDESK_SMS_QUIET", "sometimes", ["sms_quiet", "sometimes"]),
        ("CIVICDESK_SMS_QUIET", "21:00-25:00", ["sms_quiet", "21:00-25:00"]),
        ("CIVICDESK_SMS_QUIET", "21:00-08:00 weekends", ["sms_quiet", "weekends"]),
    ]

    def test_bad_values_refused(self):
        for var, value, words in self.BAD:
            with self.subTest(var=var, value=value):
                srv = harness.Server(env={var: value})
                try:
                    p = subprocess.run([harness.BIN, "serve"], env=srv.env, cwd=srv.dir,
                                       capture_output=True, text=True, timeout=30)
                finally:
                    srv.cleanup()
                self.assertEqual(p.returncode, 1, (p.stdout[-500:], p.stderr[-500:]))
                self.assertNotIn("listening on", p.stdout)
                for w in words:
                    self.assertIn(w, p.stderr)

    def test_bad_calendar_dir_refused(self):
        d = tempfile.mkdtemp(prefix="civicdesk-cal-")
        self.addCleanup(shutil.rmtree, d, True)
        os.mkdir(os.path.join(d, "empty"))
        os.mkdir(os.path.join(d, "bad"))
        with open(os.path.join(d, "bad", "2027.txt"), "w") as f:
            f.write("2027-13-01 off 坏日期\n")
        for sub, words in (("empty", "no calendar files"), ("bad", "2027.txt:1")):
            with self.subTest(dir=sub):
                srv = harness.Server(env={"CIVICDESK_CALENDAR_DIR": os.path.join(d, sub)})
                try:
                    p = subprocess.run([harness.BIN, "serve"], env=srv.env, cwd=srv.dir,
                                       capture_output=True, text=True, timeout=30)
                finally:
                    srv.cleanup()
                self.assertEqual(p.returncode, 1, p.stderr[-500:])
                self.assertIn(words, p.stderr)

    def test_sender_with_a_name(self):
        """CIVICDESK_SMTP_FROM as a mail client writes a sender, 信访办 <xf@bureau.example>:
        the acknowledgement's From shows the name, its envelope sender and Message-ID's domain
        are the address's."""
        from test_notify import start_server
        tmp = tempfile.mkdtemp(prefix="civicdesk-ops-from-")
        self.addCleanup(shutil.rmtree, tmp, True)
        smtp = peers.Peer("smtp", tmp).start()
        self.addCleanup(smtp.stop)
        srv = start_server(tmp, smtp.port, peers.free_port(), None,
                           {"CIVICDESK_SMTP_FROM": "信访办 <xf@bureau.example>"})
        self.addCleanup(srv.cleanup)
        r = srv.request("POST", "/api/v1/items", json_body={
            "kind": "letter", "subject": "路灯不亮", "body": "正文", "email": "c@example.cn",
            "publish": False})
        self.assertEqual(r.status, 201, r)
        mail = peers.wait_for(lambda: [m for m in smtp.records()
                                       if "c@example.cn" in m.get("rcpt", [])], 60,
                              "the acknowledgement")[0]
        self.assertEqual(mail["from"], "xf@bureau.example")
        self.assertEqual(email.utils.parseaddr(mail["header_from"]),
                         ("信访办", "xf@bureau.example"))
        self.assertTrue(mail["message_id"].rstrip(">").endswith("@bureau.example"), mail)

    def test_good_values_taken(self):
        """The forms the contract names start: smtps://, SMS quiet hours off and other hours,
        an IMAP URL of the contract's form; the time zone is the one of the due times."""
        env = {"CIVICDESK_SMTP_URL": "smtps://127.0.0.1:%d" % peers.free_port(),
               "CIVICDESK_SMS_URL": "http://127.0.0.1:%d/send?key=k" % peers.free_port(),
               "CIVICDESK_SMS_QUIET": "22:30-07:00", "CIVICDESK_SUBMIT_RATE": "0",
               "CIVICDESK_IMAP_URL": "imap://civic:secret@127.0.0.1:%d/INBOX" % peers.free_port(),
               "CIVICDESK_IMAP_INTERVAL": "86400", "CIVICDESK_SCAN_INTERVAL": "86400",
               "CIVICDESK_TZ": "Europe/Berlin", "CIVICDESK_TEST_NOW": "2025-11-03T09:00"}
        srv = harness.Server(env=env).start()
        try:
            r = srv.request("POST", "/api/v1/items", json_body={
                "kind": "letter", "subject": "时区", "body": "正文", "email": "tz@example.cn",
                "publish": False})
            self.assertEqual(r.status, 201, r)
            self.assertEqual(r.json()["clocks"]["reply"]["due"], "2025-11-10T23:59:59+01:00")
        finally:
            srv.cleanup()
        self.assertIn("time zone Europe/Berlin", srv.output)


if __name__ == "__main__":
    harness.main()
