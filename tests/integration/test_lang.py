"""The citizen's language (schema 031), from where an item comes in to what the citizen is sent,
through the real daemon, a real SMTP server (aiosmtpd) and the SMS stand-in
(tests/integration/peers.py): a letter sent from the traditional-Chinese page is acknowledged
in traditional Chinese alone, a JSON client's "lang":"en" in English alone, a Big5 e-mail piped
to `civicdesk ingest-mail` in traditional Chinese; a "lang" that is not ours is a 400 naming the
field; an item stored before the language was recorded keeps the acknowledgement in Chinese and
English together.
"""
import os
import re
import sqlite3
import subprocess
import sys
import unittest
import urllib.parse
from email.mime.text import MIMEText

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import peers  # noqa: E402
from test_pages import Browser  # noqa: E402

harness.BIN = os.path.abspath(harness.BIN)

MOBILE = "13912345678"
# what only the acknowledgement of each language says (its leading sentence and number's label)
WORDS = {
    "zh-Hans": ("我们已收到您的来信", "受理编号："),
    "zh-Hant": ("我們已收到您的來信", "受理編號："),
    "en": ("We have received your message", "Tracking number: "),
}


def env(smtp_port, sms_port):
    return {
        "CIVICDESK_SMTP_URL": "smtp://127.0.0.1:%d" % smtp_port if smtp_port else "",
        "CIVICDESK_SMTP_FROM": "civicdesk@bureau.example",
        "CIVICDESK_SMS_URL": "http://127.0.0.1:%d/send" % sms_port if sms_port else "",
        "CIVICDESK_SMS_CITIZENS": "1",
        "CIVICDESK_SMS_QUIET": "off",
        "CIVICDESK_NOTIFY_POLL_MS": "50",
        "CIVICDESK_SUBMIT_RATE": "0",
        "CIVICDESK_DIGEST": "off",
    }


class Mixin:
    def mail(self, smtp, to):
        """The one message that reached smtp for `to` (waits for it)."""
        got = peers.wait_for(lambda: [m for m in smtp.records() if to in m.get("rcpt", [])],
                             30, "mail to " + to)
        self.assertEqual(len(got), 1, got)
        return got[0]

    def assertOnly(self, m, lang, tracking):
        """m, an acknowledgement of tracking, is in lang and in no other language of ours."""
        text = m["subject"] + "\n" + m["body"]
        for other, words in WORDS.items():
            for w in words:
                if other == lang:
                    self.assertIn(w, text)
                else:
                    self.assertNotIn(w, text, "%s words in a %s acknowledgement" % (other, lang))
        self.assertIn(tracking, m["subject"])
        self.assertIn(tracking, m["body"])


class Lang(Mixin, peers.PeerClass, unittest.TestCase):
    PREFIX = "civicdesk-lang-"

    @classmethod
    def start_daemon(cls):
        cls.server = harness.Server(env=env(cls.smtp.port, cls.sms.port), dbdir=cls.dbdir)
        cls.server.start()  # cls.server set first: stopped by the class cleanup if this fails
        cls.admin = cls.server.staff("lang_admin", "admin")
        return cls.server

    def staff_view(self, tracking):
        r = self.admin.request("GET", "/api/v1/items/" + tracking)
        self.assertEqual(r.status, 200, r)
        return r.json()

    def texts(self, phone):
        return peers.wait_for(lambda: [s["text"] for s in self.sms.records()
                                       if s.get("phone") == phone], 30, "SMS to " + phone)

    def post(self, **fields):
        item = {"kind": "complaint", "subject": "噪音扰民", "body": "楼下饭店每晚营业到凌晨。",
                "publish": False}
        item.update(fields)
        return self.server.request("POST", "/api/v1/items", json_body=item)

    def test_page_zh_hant(self):
        """A letter sent from the form in traditional Chinese: acknowledged in traditional
        Chinese alone (its words, its quotation marks), by e-mail and SMS, though what the
        citizen wrote is simplified: the page's language is what they read."""
        b = Browser(self.server)
        b.get("/submit?lang=zh-Hant")
        r = b.post_files("/submit", {"kind": "complaint", "subject": "路灯不亮",
                                     "body": "小区门口路灯坏了一周。", "email": "hant@citizen.example",
                                     "phone": "13912340001"}, [])
        self.assertEqual(r.status, 303, b.text())
        t = re.search(r"done=(XJ-\d{8}-\d{5})", r.header("Location")).group(1)
        m = self.mail(self.smtp, "hant@citizen.example")
        self.assertOnly(m, "zh-Hant", t)
        self.assertEqual(m["subject"], "我們已收到您的來信：" + t)
        self.assertIn("主旨：「路灯不亮」", m["body"])
        self.assertIn("類別：投訴舉報", m["body"])
        self.assertIn("請憑受理編號和查詢碼查詢辦理情形。", m["body"])
        texts = self.texts("13912340001")
        self.assertEqual(len(texts), 1, texts)
        self.assertTrue(texts[0].startswith("【civicdesk】我們已收到您的來信，受理編號" + t),
                        texts[0])
        self.assertEqual(self.staff_view(t)["lang"], "zh-Hant")
        # the handler who answers sees which language the citizen reads
        page = self.admin.request("GET", "/staff/item/%s?lang=en" % t)
        self.assertEqual(page.status, 200, page)
        self.assertIn("<dd>Traditional Chinese</dd>", page.body.decode())

    def test_staff_registration(self):
        """A letter staff register from the post or the phone: its "lang" as the staff member
        gives it, else guessed from what they typed; the staff page names it."""
        staff = self.server.staff("lang_disp", "dispatcher")
        for fields, lang in (({"lang": "en"}, "en"), ({}, "zh-Hans")):
            with self.subTest(lang=lang):
                r = staff.request("POST", "/api/v1/items", json_body=dict({
                    "kind": "letter", "subject": "来电反映路灯不亮", "body": "电话记录：东门路灯坏了。",
                    "channel": "phone", "phone": "13912340009", "publish": False}, **fields))
                self.assertEqual(r.status, 201, r)
                t = r.json()["tracking"]
                self.assertEqual(self.staff_view(t)["lang"], lang)
                page = self.admin.request("GET", "/staff/item/%s?lang=zh-Hant" % t).body.decode()
                self.assertIn("<dd>%s</dd>" % {"en": "英文", "zh-Hans": "簡體中文"}[lang], page)

    def test_api_en(self):
        """A JSON client's "lang":"en": the acknowledgement in English alone, the subject quoted
        as written, though it is Chinese."""
        r = self.post(lang="en", email="en@citizen.example", phone="13912340002")
        self.assertEqual(r.status, 201, r)
        t = r.json()["tracking"]
        m = self.mail(self.smtp, "en@citizen.example")
        self.assertOnly(m, "en", t)
        self.assertEqual(m["subject"], "We have received your message: " + t)
        self.assertIn('Subject: "噪音扰民"', m["body"])
        self.assertIn("Kind: complaint or report", m["body"])
        self.assertIsNone(re.search("[\u4e00-\u9fff]", m["body"].replace("噪音扰民", "")),
                          m["body"])
        texts = self.texts("13912340002")
        self.assertEqual(len(texts), 1, texts)
        self.assertTrue(texts[0].startswith("[civicdesk] We have received your message. "
                                            "Tracking number " + t), texts[0])
        self.assertEqual(self.staff_view(t)["lang"], "en")
        # a form sent to the API (urlencoded) alike
        for lang, status in (("zh-Hant", 201), ("fr", 400)):
            r = self.server.request("POST", "/api/v1/items", body=urllib.parse.urlencode({
                "kind": "letter", "subject": "路灯不亮", "body": "坏了一周。", "lang": lang,
                "email": "form@citizen.example", "publish": "false"}).encode(),
                headers={"Content-Type": "application/x-www-form-urlencoded"})
            self.assertEqual(r.status, status, r)
            if status == 201:
                self.assertEqual(self.staff_view(r.json()["tracking"])["lang"], lang)
            else:
                self.assertEqual(r.json()["error"]["field"], "lang")

    def test_api_lang_refused(self):
        """A "lang" that is none of our languages in any spelling (or not a string) is a 400
        naming the field, and stores nothing (zh, ZH-HANT, en-GB and the like are taken:
        test_input_tidy.py)."""
        for value in ("fr", "ja-JP", "de_DE", "zh-", " en", 5, True):
            with self.subTest(lang=value):
                r = self.post(lang=value, email="fr@citizen.example")
                self.assertEqual(r.status, 400, r)
                self.assertEqual(r.json()["error"]["field"], "lang", r.json())
        with sqlite3.connect(self.server.db, timeout=30) as con:
            n = con.execute("SELECT count(*) FROM items WHERE email = 'fr@citizen.example'")
            self.assertEqual(n.fetchone()[0], 0)

    def test_guessed(self):
        """Without "lang", from what the citizen wrote: traditional characters, simplified ones,
        English; Open311, which has no field for it, alike."""
        cases = [("路燈不亮", "社區門口的路燈壞了一週，請儘快修理。", "zh-Hant"),
                 ("路灯不亮", "社区门口的路灯坏了一周，请尽快修理。", "zh-Hans"),
                 ("Street light out", "The light at gate 3 has been out for a week.", "en")]
        for i, (subject, body, lang) in enumerate(cases):
            with self.subTest(lang=lang):
                to = "guess%d@citizen.example" % i
                r = self.post(subject=subject, body=body, email=to)
                self.assertEqual(r.status, 201, r)
                t = r.json()["tracking"]
                self.assertEqual(self.staff_view(t)["lang"], lang)
                self.assertOnly(self.mail(self.smtp, to), lang, t)
                r = self.server.request("POST", "/open311/v2/requests.json", json_body={
                    "service_code": "complaint", "description": body,
                    "email": "o311-%d@citizen.example" % i, "attribute[publish]": "false"})
                self.assertEqual(r.status, 201, r)
                t = r.json()[0]["service_request_id"]
                self.assertEqual(self.staff_view(t)["lang"], lang)

    def test_mail_big5(self):
        """A letter in Big5 piped to ingest-mail: acknowledged in traditional Chinese, though
        every character of it is one both scripts write alike (the charset says it)."""
        msg = MIMEText("你好，我家住在山下路口，天天有大水。", "plain", "big5")
        msg["From"] = "Chan <big5@citizen.example>"
        msg["To"] = "ask@bureau.example"
        msg["Subject"] = "山下路口大水"
        msg["Message-ID"] = "<lang-big5-1@citizen.example>"
        raw = msg.as_bytes()
        self.assertIn(b"charset=\"big5\"", raw)
        r = subprocess.run([harness.BIN, "ingest-mail"], input=raw, capture_output=True,
                           env=dict(os.environ, CIVICDESK_DB=self.server.db), timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        t = r.stdout.decode().strip()
        self.assertRegex(t, r"^XJ-\d{8}-\d{5}$")
        self.assertEqual(self.staff_view(t)["lang"], "zh-Hant")
        m = self.mail(self.smtp, "big5@citizen.example")
        self.assertOnly(m, "zh-Hant", t)
        self.assertIn("主旨：「山下路口大水」", m["body"])


class OldItem(Mixin, peers.PeerTest, unittest.TestCase):
    PREFIX = "civicdesk-lang-old-"

    def test_old_item_bilingual(self):
        """An item stored before its language was recorded (its database taken back to schema
        030, then migrated again) is acknowledged as it was then: in Chinese and English."""
        smtp = self.peer("smtp")
        self.server = harness.Server(env=env(0, 0), dbdir=self.dbdir).start()
        r = self.server.request("POST", "/api/v1/items", json_body={
            "kind": "letter", "subject": "路灯不亮", "body": "社区门口的路灯坏了。",
            "email": "old@citizen.example", "publish": False})
        self.assertEqual(r.status, 201, r)
        t = r.json()["tracking"]
        self.server.stop()  # the acknowledgement waits, unsent: no SMTP server configured
        with sqlite3.connect(self.server.db) as con:
            con.executescript(harness.UNDO_032 + harness.UNDO_031 + "PRAGMA user_version = 30;")
        self.server.env.update(env(smtp.port, 0))
        self.server.start()
        m = self.mail(smtp, "old@citizen.example")
        self.assertEqual(m["subject"], "我们已收到您的来信：%s / We have received your message: %s"
                         % (t, t))
        for w in WORDS["zh-Hans"] + WORDS["en"]:
            self.assertIn(w, m["body"])
        admin = self.server.staff("old_admin", "admin")
        r = admin.request("GET", "/api/v1/items/" + t)
        self.assertEqual(r.status, 200, r)
        self.assertIsNone(r.json()["lang"])


if __name__ == "__main__":
    harness.main()
