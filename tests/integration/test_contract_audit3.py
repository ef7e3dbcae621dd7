"""The eleventh session's audit of DESIGN.md's Fixed contract (the fourth), as outside clients
drive it: Python's http.client against the real daemon, `civicdesk ingest-mail` as an MTA runs
it, aiosmtpd as the mail server (tests/integration/peers.py). What the suites before it
(test_contract_api.py, _audit.py, _mail.py, _ops.py, test_bad_inputs.py, test_privacy.py,
test_notices.py, test_lang.py) leave unchecked:
- finding, fixed: notices due together for one citizen go out as one e-mail (combine.c), whose
  subject and first line were in simplified Chinese and English whatever the citizen's
  language: an English citizen's mail began "【2 条通知 / 2 notices】", a traditional-Chinese
  citizen's "本邮件汇总了". The heading is now in the language of the notices under it (staff
  notices and items stored before schema 031, written in Chinese and English, keep both).
"""
import http.client
import json
import os
import re
import sqlite3
import sys
import unittest
import urllib.parse
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import peers  # noqa: E402

# the daemon runs in its own temporary folder: a relative binary path must not depend on it
harness.BIN = os.path.abspath(harness.BIN)

PW = "Audit3-Passw0rd"
TRACKING = re.compile(r"^XJ-(\d{8})-(\d{5})$")
LOCAL_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00$")
ITEM = {"kind": "letter", "subject": "路灯不亮", "body": "幸福路 12 号的路灯坏了三天。",
        "name": "张三", "phone": "13812345678", "publish": True}


def start(env=None):
    e = {"CIVICDESK_SUBMIT_RATE": "0", "CIVICDESK_DIGEST": "off"}
    e.update(env or {})
    return harness.Server(env=e).start().drain()


def login(server, name, role, section=None):
    server.add_user(name, role, section, password=PW)
    return server.login(name, PW)


def act(staff, tracking, action, **fields):
    """staff takes action on tracking; the item as JSON, or AssertionError if refused."""
    r = staff.request("POST", "/api/v1/items/%s/actions/%s" % (tracking, action),
                      json_body=fields)
    if r.status != 200:
        raise AssertionError("%s %s: %r" % (action, tracking, r))
    return r.json()


def to_replied(disp, hand, head, tracking):
    act(disp, tracking, "assign", section="法规处")
    act(hand, tracking, "accept")
    act(hand, tracking, "draft", text="答复：已修复。")
    act(hand, tracking, "submit_review")
    act(head, tracking, "approve")
    return act(hand, tracking, "send_reply")


def publish(head, tracking):
    r = head.request("PATCH", "/api/v1/items/%s/public" % tracking, json_body={"published": True})
    if r.status != 200:
        raise AssertionError("publish %s: %r" % (tracking, r))


def multipart(fields):
    boundary = "audit3" + uuid.uuid4().hex
    out = b""
    for name, value in fields:
        out += ("--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n" %
                (boundary, name)).encode() + value.encode() + b"\r\n"
    return out + ("--%s--\r\n" % boundary).encode(), "multipart/form-data; boundary=" + boundary


class CombinedNoticeInTheCitizensLanguage(peers.PeerTest, unittest.TestCase):
    """Three notices queued for one citizen while no mail server is configured (acknowledgement,
    rejection; for the traditional one an extension too) go out as one message once there is
    one: its subject begins with the count and its text with a line saying what it holds, in
    the citizen's language alone, as each notice under them is."""
    PREFIX = "civicdesk-audit3-combined-"

    # words of the heading that only that language's heading has
    HEADING = {"en": ("[2 notices] ", "This mail holds 2 notices."),
               "zh-Hant": ("【2 則通知】", "本郵件彙整了 2 則通知。"),
               "zh-Hans": ("【2 条通知】", "本邮件汇总了 2 条通知。")}

    def test_heading_in_the_citizens_language(self):
        smtp = self.peer("smtp")
        env = {"CIVICDESK_SMTP_FROM": "civicdesk@bureau.example", "CIVICDESK_NOTIFY_POLL_MS": "50",
               "CIVICDESK_SUBMIT_RATE": "0", "CIVICDESK_DIGEST": "off",
               "CIVICDESK_TEST_NOW": "2025-11-03T09:00"}
        server = self.server = harness.Server(env=env, dbdir=self.dbdir).start()
        disp = login(server, "disp_c", "dispatcher")
        tracking = {}
        for lang in self.HEADING:
            item = dict(ITEM, lang=lang, email="%s@citizen.example" % lang.lower())
            del item["phone"]
            r = server.request("POST", "/api/v1/items", json_body=item)
            self.assertEqual(r.status, 201, r)
            tracking[lang] = r.json()["tracking"]
            act(disp, tracking[lang], "reject", reason="不属于本局职责")
        server.stop()
        server.env["CIVICDESK_SMTP_URL"] = "smtp://127.0.0.1:%d" % smtp.port
        server.start()
        got = peers.wait_for(lambda: len(smtp.records()) >= 3 and smtp.records(), 60,
                             "the three combined messages")
        self.assertEqual(len(got), 3, [m["subject"] for m in got])
        for lang, (subject_head, first_line) in self.HEADING.items():
            with self.subTest(lang=lang):
                m = [m for m in got if m["rcpt"] == ["%s@citizen.example" % lang.lower()]]
                self.assertEqual(len(m), 1, got)
                m = m[0]
                self.assertTrue(m["subject"].startswith(subject_head), m["subject"])
                self.assertIn(tracking[lang], m["subject"])
                self.assertEqual(m["body"].splitlines()[0], first_line, m["body"][:200])
                # no other language's heading, in the subject or the text
                for other, words in self.HEADING.items():
                    for w in words if other != lang else ():
                        self.assertNotIn(w, m["subject"] + m["body"])
                if lang == "en":  # nothing Chinese but what the citizen and staff wrote
                    rest = (m["subject"] + m["body"]).replace(ITEM["subject"], "")
                    rest = rest.replace("不属于本局职责", "")
                    self.assertIsNone(re.search("[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]",
                                                rest), rest)
                if lang == "zh-Hant":  # none of the simplified heading's characters
                    for ch in "条邮汇总":
                        self.assertNotIn(ch, m["subject"] + m["body"].splitlines()[0])


if __name__ == "__main__":
    harness.main()
