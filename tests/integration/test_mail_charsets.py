"""The language of a mailed letter told by its charsets where its text cannot tell it (schema
031's items.lang, which every later notice is written in): a Subject whose RFC 2047 words are in
Big5 beside text parts in UTF-8 or ASCII is traditional Chinese (it was guessed from characters
both scripts share: simplified), unless a text part is in a GB charset; a GB charset is
simplified Chinese only where the subject and text hold no letter at all (an attachment with a
subject of digits was English, from the body's "(no text)"), never over English words. Each
letter piped to `civicdesk ingest-mail` and, the same, polled from a real Dovecot."""
import base64
import os
import sqlite3
import sys
import unittest
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email import encoders

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dovecot  # noqa: E402
import harness  # noqa: E402
import peers  # noqa: E402
from test_mailin import ingest  # noqa: E402

harness.BIN = os.path.abspath(harness.BIN)

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")


def word(text, charset):
    """One RFC 2047 B-encoded word of text in charset, as the clients write them."""
    return "=?%s?B?%s?=" % (charset, base64.b64encode(text.encode(charset)).decode())


def text_letter(sender, msgid, subject, body, charset):
    m = MIMEText(body, "plain", charset)
    m["From"] = sender
    m["To"] = "director@bureau.example"
    m["Subject"] = subject
    m["Message-ID"] = "<%s>" % msgid
    return m.as_bytes()


def photo_letter(sender, msgid, subject):
    """A photo and no text (a phone's share sheet), the Subject given raw."""
    m = MIMEMultipart("mixed")
    part = MIMEBase("image", "png")
    part.set_payload(PNG)
    encoders.encode_base64(part)
    part.add_header("Content-Disposition", "attachment", filename="IMG_0001.png")
    m.attach(part)
    m["From"] = sender
    m["To"] = "director@bureau.example"
    m["Subject"] = subject
    m["Message-ID"] = "<%s>" % msgid
    return m.as_bytes()


# (name, message, the item's language). 人民路有水 and 请看照片 hold characters both scripts share,
# or simplified ones: the text alone says zh-Hans.
CASES = [
    ("big5-subject-ascii-body",
     lambda s, i: text_letter(s, i, word("人民路有水", "big5"), "Please see the photo.", "us-ascii"),
     "zh-Hant"),
    ("big5-subject-utf8-body",
     lambda s, i: text_letter(s, i, word("人民路有水", "big5"), "人民路有水。", "utf-8"),
     "zh-Hant"),
    ("big5-hkscs-subject",
     lambda s, i: text_letter(s, i, word("大雨", "big5hkscs"), "2026", "utf-8"), "zh-Hant"),
    ("big5-subject-gb-body",
     lambda s, i: text_letter(s, i, word("人民路有水", "big5"), "请看照片。", "gb2312"),
     "zh-Hans"),
    ("gb-subject-digits-photo",
     lambda s, i: photo_letter(s, i, word("2026-12-01", "gb2312")), "zh-Hans"),
    ("gbk-subject-digits-photo",
     lambda s, i: photo_letter(s, i, word("12345", "gbk")), "zh-Hans"),
    ("gb-labelled-english",
     lambda s, i: text_letter(s, i, word("Street light", "gb2312"), "The light is out.",
                              "gb2312"), "en"),
    ("utf8-subject-digits-photo",
     lambda s, i: photo_letter(s, i, word("2026-12-01", "utf-8")), "en"),
]


class Charsets(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dc = dovecot.Dovecot().start()
        cls.server = harness.Server(env={"CIVICDESK_SUBMIT_RATE": "0",
                                         "CIVICDESK_IMAP_URL": cls.dc.url,
                                         "CIVICDESK_IMAP_INTERVAL": "1"}).start()
        cls.admin = cls.server.staff("cs_admin", "admin")

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()
        cls.dc.cleanup()

    def lang(self, tracking):
        r = self.admin.request("GET", "/api/v1/items/" + tracking)
        self.assertEqual(r.status, 200, r)
        return r.json()["lang"]

    def by_message_id(self, msgid):
        with sqlite3.connect(self.server.db, timeout=30) as con:
            row = con.execute("SELECT i.tracking FROM mail_in m JOIN items i ON i.id = m.item_id "
                              "WHERE m.message_id = ?", (msgid,)).fetchone()
        return row[0] if row else None

    def test_piped(self):
        for n, (name, make, want) in enumerate(CASES):
            with self.subTest(name):
                r = ingest(self.server, make("pipe%d@example.cn" % n, "pipe-%s@example.cn" % name))
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(self.lang(r.stdout.decode().strip()), want)

    def test_polled(self):
        self.dc.append([make("imap%d@example.cn" % n, "imap-%s@example.cn" % name)
                        for n, (name, make, want) in enumerate(CASES)])
        for name, make, want in CASES:
            with self.subTest(name):
                t = peers.wait_for(lambda: self.by_message_id("imap-%s@example.cn" % name), 60,
                                   "the polled " + name)
                self.assertEqual(self.lang(t), want)


if __name__ == "__main__":
    harness.main()
