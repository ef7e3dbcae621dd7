"""The eleventh session's audit of DESIGN.md's Fixed contract (the fourth), as outside clients
drive it: Python's http.client against the real daemon, `civicdesk ingest-mail` as an MTA runs
it, aiosmtpd as the mail server (tests/integration/peers.py). What the suites before it
(test_contract_api.py, _audit.py, _mail.py, _ops.py, test_bad_inputs.py, test_privacy.py,
test_notices.py, test_lang.py) leave unchecked:
- finding, fixed: notices due together for one citizen go out as one e-mail (combine.c), whose
  subject and first line were in simplified Chinese and English whatever the citizen's
  language: an English citizen's mail began "【2 条通知 / 2 notices】", a traditional-Chinese
  citizen's "本邮件汇总了". The heading is now in the language of the notices under it (staff
  notices and items stored before schema 031, written in Chinese and English, keep both);
- HEAD of each GET the contract names answers that GET's status, Content-Type and
  Content-Length with no body; every kind of answer (JSON 200/201/400/401/403/404/405/409/413,
  Open311 in JSON and XML, the pages) names its media type with charset=utf-8, and each JSON
  error is the error object; a known path with the wrong method is 405 naming the allowed ones
  in Allow, an unknown one 404;
- the tracking number's form in every channel (JSON, a form, multipart, Open311 in JSON and
  XML, staff registering a letter or call, ingest-mail) ten seconds after local midnight, when
  UTC is still the day before: XJ-<the local date>-NNNNN, one sequence for the day whatever
  the channel; and every time of day the answers carry (201, tracking, staff item with its
  history, queue, Open311 in JSON and XML) as YYYY-MM-DDTHH:MM:SS+08:00;
- the queue walked page by page over items in every kind of state, with limits 1, 2, 3 and
  100: each item exactly once, the last page's next_cursor null; q takes % and _ as the
  characters they are, not as wildcards.
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


class StaffLadderNoticeSubjects(peers.PeerTest, unittest.TestCase):
    """The ladder's e-mails to staff are written in Chinese and then English, as every other
    staff notice is ("【退回】… / sent back for triage: XJ-…"): the subject's second half named
    the step in Chinese again ("【逾期】XJ-… 转办时限 … / 逾期: XJ-…"). Now "/ overdue: XJ-…",
    "/ reminder: …", "/ escalated: …"; and each notice of the contract goes where it says: the
    assignee reminded, the section head told of the overdue clock, the supervisor two working
    days later, each by e-mail and (head, supervisor) SMS naming the tracking number."""
    PREFIX = "civicdesk-audit3-ladder-"

    def test_subjects_in_both_languages(self):
        smtp, sms = self.peer("smtp"), self.peer("sms")
        self.server = s = start({
            "CIVICDESK_SMTP_URL": "smtp://127.0.0.1:%d" % smtp.port,
            "CIVICDESK_SMTP_FROM": "civicdesk@bureau.example",
            "CIVICDESK_SMS_URL": "http://127.0.0.1:%d/send" % sms.port,
            "CIVICDESK_NOTIFY_POLL_MS": "50", "CIVICDESK_TEST_SCAN_MS": "100",
            "CIVICDESK_TEST_NOW": "2025-11-03T09:00"})
        for name, role, section, mail, phone in (
                ("hand_l", "handler", "法规处", "hand@bureau.example", "13800000010"),
                ("head_l", "section_head", "法规处", "head@bureau.example", "13800000011"),
                ("sup_l", "supervisor", None, "sup@bureau.example", "13800000013")):
            args = ["user", "add", name, "--role", role, "--email", mail, "--phone", phone,
                    "--password-stdin"] + (["--section", section] if section else [])
            r = s.cli(*args, stdin=PW + "\n")
            self.assertEqual(r.returncode, 0, r.stderr)
        disp = login(s, "disp_l", "dispatcher")
        r = s.request("POST", "/api/v1/items", json_body=dict(ITEM, publish=False))
        self.assertEqual(r.status, 201, r)
        t = r.json()["tracking"]  # forward due Thu 6 Nov, reply due Mon 10 Nov
        act(disp, t, "assign", section="法规处", assignee="hand_l")

        def mail(to, word):
            got = peers.wait_for(lambda: [m for m in smtp.records() if m["rcpt"] == [to] and
                                          word in m["subject"]], 60, "%s to %s" % (word, to))
            self.assertEqual(len(got), 1, [m["subject"] for m in got])
            return got[0]["subject"]

        def text(phone, word):
            peers.wait_for(lambda: [x for x in sms.records() if x.get("phone") == phone and
                                    word in x["text"] and t in x["text"]], 60,
                           "%s to %s" % (word, phone))

        s.set_clock("2025-11-05T09:00")  # a working day before the forward clock's due day
        self.assertEqual(mail("hand@bureau.example", "提醒"),
                         "【提醒】%s 转办时限 2025-11-06 23:59 / reminder: %s" % (t, t))
        s.set_clock("2025-11-07T09:00")  # forward overdue: the head
        self.assertEqual(mail("head@bureau.example", "逾期"),
                         "【逾期】%s 转办时限 2025-11-06 23:59 / overdue: %s" % (t, t))
        text("13800000011", "逾期")
        s.set_clock("2025-11-10T09:00")  # two working days later: the supervisor
        self.assertEqual(mail("sup@bureau.example", "督办"),
                         "【督办】%s 转办时限 2025-11-06 23:59 / escalated: %s" % (t, t))
        text("13800000013", "督办")


class MergedIntoAnAnsweredItem(peers.PeerTest, unittest.TestCase):
    """DESIGN.md's states: a merged item's citizen gets the target's reply. An item merged
    into one whose reply was sent already got only the notice that it was merged: no reply on
    /track, none by e-mail (the reply reached only the items merged before it was sent). Now it
    gets that reply as they do, in the merge's transaction; an item merged before the reply
    still gets it once, and a target reopened since reaches its items with its next reply."""
    PREFIX = "civicdesk-audit3-merge-"

    def test_merged_after_the_reply_gets_it(self):
        smtp = self.peer("smtp")
        self.server = s = start({
            "CIVICDESK_SMTP_URL": "smtp://127.0.0.1:%d" % smtp.port,
            "CIVICDESK_SMTP_FROM": "civicdesk@bureau.example", "CIVICDESK_NOTIFY_POLL_MS": "50",
            "CIVICDESK_TEST_NOW": "2025-11-03T09:00"})
        disp = login(s, "disp_m", "dispatcher")
        hand = login(s, "hand_m", "handler", "法规处")
        head = login(s, "head_m", "section_head", "法规处")
        items = {}
        for name in ("target", "before", "after"):
            item = dict(ITEM, email="%s@citizen.example" % name, publish=False)
            del item["phone"]
            r = s.request("POST", "/api/v1/items", json_body=item)
            self.assertEqual(r.status, 201, r)
            items[name] = r.json()
        t = items["target"]["tracking"]
        act(disp, items["before"]["tracking"], "merge", target=t)
        to_replied(disp, hand, head, t)  # 答复：已修复。
        act(disp, items["after"]["tracking"], "merge", target=t)
        for name in ("before", "after"):
            with self.subTest(merged=name):
                x = items[name]
                r = s.request("GET", "/api/v1/track/" + x["tracking"],
                              headers={"X-Query-Code": x["query_code"]})
                self.assertEqual(r.status, 200, r)
                self.assertEqual((r.json()["state"], r.json().get("reply")),
                                 ("merged", "答复：已修复。"))
                to = "%s@citizen.example" % name
                got = peers.wait_for(lambda: [m for m in smtp.records() if m["rcpt"] == [to] and
                                              "答复：已修复。" in m["body"]], 30,
                                     "the reply to " + to)
                self.assertIn(x["tracking"], got[0]["body"])
        # the target's citizen gets its own reply once; the audit chain holds the new rows
        mine = peers.wait_for(lambda: [m for m in smtp.records() if m["rcpt"] == [
            "target@citizen.example"] and "答复：已修复。" in m["body"]], 30, "the target's reply")
        self.assertEqual(len(mine), 1, [m["subject"] for m in mine])
        r = s.cli("audit", "verify")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)


class HeadAndMediaTypes(unittest.TestCase):
    """One daemon, one item of each kind of visibility; every answer's media type and the HEAD
    of every GET the contract names."""

    @classmethod
    def setUpClass(cls):
        cls.server = start({"CIVICDESK_TEST_NOW": "2025-09-30T10:00",
                            "CIVICDESK_MAX_JSON": "8192"})
        s = cls.server
        try:
            cls.disp = login(s, "disp_h", "dispatcher")
            cls.hand = login(s, "hand_h", "handler", "法规处")
            cls.head = login(s, "head_h", "section_head", "法规处")
            cls.sup = login(s, "sup_h", "supervisor")
            cls.admin = login(s, "admin_h", "admin")
            r = s.request("POST", "/api/v1/items", json_body=ITEM)
            cls.item = r.json()
            cls.t = cls.item["tracking"]
            r = s.request("POST", "/api/v1/items", json_body=dict(ITEM, publish=False))
            cls.private = r.json()["tracking"]
            r = s.request("POST", "/api/v1/items", json_body=ITEM)
            cls.published = r.json()["tracking"]
            to_replied(cls.disp, cls.hand, cls.head, cls.published)
            publish(cls.head, cls.published)
        except Exception:
            s.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def reads(self):
        """(who, path, extra headers) of each GET the contract names."""
        s, code = self.server, {"X-Query-Code": self.item["query_code"]}
        return [
            (s, "/api/v1/health", {}),
            (s, "/api/v1/track/" + self.t, code),
            (s, "/api/v1/track/XJ-20250930-99999", code),
            (s, "/api/v1/public/items/" + self.published, {}),
            (s, "/api/v1/public/items/" + self.t, {}),
            (s, "/open311/v2/services.json", {}),
            (s, "/open311/v2/requests.json", {}),
            (s, "/open311/v2/requests.xml", {}),
            (s, "/open311/v2/requests/%s.json" % self.t, {}),
            (s, "/open311/v2/requests/%s.json" % self.published, {}),
            (s, "/open311/v2/requests/%s.xml" % self.published, {}),
            (s, "/open311/v2/requests/%s.json" % self.private, {}),
            (s, "/open311/v2/requests/%s.xml" % self.private, {}),
            (self.disp, "/api/v1/items/" + self.t, {}),
            (self.disp, "/api/v1/queue?state=all&limit=2", {}),
            (self.sup, "/api/v1/stats?period=2025-09&by=section", {}),
            (self.disp, "/api/v1/stats?period=2025-09", {}),
            (s, "/api/v1/queue", {}),
            (s, "/", {}), (s, "/submit?lang=en", {}), (s, "/track?lang=zh-Hant", {}),
            (s, "/board", {}), (s, "/staff/", {}), (s, "/no-such-page", {}),
        ]

    def test_head_answers_as_get(self):
        for who, path, headers in self.reads():
            with self.subTest(path=path):
                g = who.request("GET", path, headers=headers)
                h = who.request("HEAD", path, headers=headers)
                self.assertEqual(h.status, g.status, (path, g, h))
                self.assertEqual(h.header("Content-Type"), g.header("Content-Type"), path)
                self.assertEqual(h.header("Content-Length"), str(len(g.body)), path)
                self.assertEqual(h.body, b"", path)

    def assert_type(self, r, media):
        self.assertEqual(r.header("Content-Type").replace(" ", "").lower(),
                         media + ";charset=utf-8", r)
        if media == "application/json" and r.status >= 400 and r.body[:1] == b"{":
            err = r.json()["error"]
            self.assertTrue(err["code"] and err["message"], r)

    def test_every_answer_names_its_type_and_charset(self):
        s, t = self.server, self.t
        big = dict(ITEM, body="长" * 4000)
        cases = [  # (who, method, path, json body, raw body, status, media type)
            (s, "GET", "/api/v1/health", None, None, 200, "application/json"),
            (s, "POST", "/api/v1/items", ITEM, None, 201, "application/json"),
            (s, "POST", "/api/v1/items", dict(ITEM, kind="poem"), None, 400, "application/json"),
            (s, "POST", "/api/v1/items", big, None, 413, "application/json"),
            (s, "POST", "/api/v1/items", None, b"{\"kind\":", 400, "application/json"),
            (s, "GET", "/api/v1/items/" + t, None, None, 401, "application/json"),
            (self.hand, "GET", "/api/v1/stats?period=2025", None, None, 403, "application/json"),
            (s, "GET", "/api/v1/track/" + t, None, None, 404, "application/json"),
            (s, "DELETE", "/api/v1/track/" + t, None, None, 405, "application/json"),
            (self.admin, "PATCH", "/api/v1/items/%s/public" % t, {"published": True}, None, 409,
             "application/json"),
            (s, "POST", "/api/v1/login", {"username": "disp_h", "password": PW}, None, 200,
             "application/json"),
            (s, "GET", "/api/v1/no/such/thing", None, None, 404, "application/json"),
            (s, "GET", "/open311/v2/services.json", None, None, 200, "application/json"),
            (s, "GET", "/open311/v2/requests.json?status=bogus", None, None, 400,
             "application/json"),
            (s, "GET", "/open311/v2/requests/%s.json" % self.private, None, None, 404,
             "application/json"),
            (s, "GET", "/open311/v2/services.xml", None, None, 200, "text/xml"),
            (s, "GET", "/open311/v2/requests.xml?status=bogus", None, None, 400, "text/xml"),
            (s, "GET", "/open311/v2/requests/%s.xml" % self.private, None, None, 404, "text/xml"),
            (s, "GET", "/?lang=en", None, None, 200, "text/html"),
            (s, "GET", "/board?lang=zh-Hant", None, None, 200, "text/html"),
            (s, "GET", "/no-such-page", None, None, 404, "text/html"),
        ]
        for who, method, path, jb, raw, status, media in cases:
            with self.subTest(method=method, path=path, status=status):
                hdrs = {"Content-Type": "application/json"} if raw is not None else None
                r = who.request(method, path, json_body=jb, body=raw, headers=hdrs)
                self.assertEqual(r.status, status, r)
                self.assert_type(r, media)

    def test_405_names_the_methods_404_what_is_not_there(self):
        s, t = self.server, self.t
        for method, path, allowed in (
                ("PUT", "/api/v1/items", {"POST"}),
                ("DELETE", "/api/v1/items/" + t, {"GET", "HEAD"}),
                ("POST", "/api/v1/track/" + t, {"GET", "HEAD"}),
                ("POST", "/api/v1/health", {"GET", "HEAD"}),
                ("GET", "/api/v1/login", {"POST"}),
                ("DELETE", "/open311/v2/requests.json", {"GET", "HEAD", "POST"})):
            with self.subTest(method=method, path=path):
                r = s.request(method, path)
                self.assertEqual(r.status, 405, r)
                got = {m.strip() for m in (r.header("Allow") or "").split(",")}
                self.assertEqual(got, allowed, r.headers)
        for path in ("/api/v1/itemz", "/api/v1/items/%s/nothing" % t, "/open311/v2/nothing.json"):
            with self.subTest(path=path):
                self.assertEqual(s.request("GET", path).status, 404)


class TrackingNumbersAndTimes(unittest.TestCase):
    """Ten seconds after midnight in Shanghai on 1 October 2025 (UTC: 30 September, 16:00):
    every channel numbers its item XJ-20251001-NNNNN in one sequence; and every time of day
    in the answers is local, with its offset."""

    def setUp(self):
        self.server = start({"CIVICDESK_TEST_NOW": "2025-09-30T23:59:50"})
        self.addCleanup(self.server.cleanup)
        self.disp = login(self.server, "disp_t", "dispatcher")

    def submit_every_way(self):
        """One item by each channel; their tracking numbers in order."""
        s, out = self.server, []

        def got(r, pick):
            self.assertEqual(r.status, 201, r)
            out.append(pick(r))

        def j(r):
            return r.json()["tracking"]
        got(s.request("POST", "/api/v1/items", json_body=ITEM), j)
        got(s.request("POST", "/api/v1/items", body=urllib.parse.urlencode(
            dict(ITEM, publish="true")), headers={
                "Content-Type": "application/x-www-form-urlencoded"}), j)
        body, ctype = multipart([(k, str(v).lower() if k == "publish" else v)
                                 for k, v in ITEM.items()])
        got(s.request("POST", "/api/v1/items", body=body, headers={"Content-Type": ctype}), j)
        form = urllib.parse.urlencode({"service_code": "complaint", "description": ITEM["body"],
                                       "phone": ITEM["phone"], "attribute[publish]": "true"})
        got(s.request("POST", "/open311/v2/requests.json", body=form, headers={
            "Content-Type": "application/x-www-form-urlencoded"}),
            lambda r: r.json()[0]["service_request_id"])
        got(s.request("POST", "/open311/v2/requests.xml", body=form, headers={
            "Content-Type": "application/x-www-form-urlencoded"}),
            lambda r: re.search(rb"<service_request_id>([^<]*)<", r.body).group(1).decode())
        for channel in ("post", "phone"):
            got(self.disp.request("POST", "/api/v1/items", json_body=dict(
                ITEM, channel=channel, received="2025-09-29")), j)
        mail = ("From: =?UTF-8?B?5p2O5Zub?= <lisi@example.cn>\r\nTo: director@bureau.example\r\n"
                "Subject: =?UTF-8?B?5LqV55uW57y65aSx?=\r\nMessage-ID: <audit3-%s@example.cn>\r\n"
                "Date: Wed, 01 Oct 2025 00:00:05 +0800\r\nMIME-Version: 1.0\r\n"
                "Content-Type: text/plain; charset=utf-8\r\n\r\n井盖缺失。\r\n" % uuid.uuid4().hex)
        r = s.cli("ingest-mail", stdin=mail)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.count("\n"), 1, r.stdout)
        out.append(r.stdout.strip())
        return out

    def test_every_channel_after_local_midnight(self):
        self.server.set_clock("2025-09-30T23:59:50")
        r = self.server.request("POST", "/api/v1/items", json_body=ITEM)
        self.assertEqual(r.json()["tracking"], "XJ-20250930-00001")
        self.server.set_clock("2025-10-01T00:00:10")
        numbers = self.submit_every_way()
        for i, t in enumerate(numbers):
            with self.subTest(channel=i):
                m = TRACKING.match(t)
                self.assertIsNotNone(m, t)
                self.assertEqual(m.group(1), "20251001", numbers)
        self.assertEqual(sorted(int(TRACKING.match(t).group(2)) for t in numbers),
                         list(range(1, len(numbers) + 1)), numbers)
        with sqlite3.connect(self.server.db) as d:
            channels = dict(d.execute("SELECT tracking, channel FROM items"))
        self.assertEqual([channels[t] for t in numbers],
                         ["web"] * 5 + ["post", "phone", "email"])

    def local_times(self, value, where):
        """Every string in value that starts like a date and time is a local one (+08:00)."""
        if isinstance(value, dict):
            for k, v in value.items():
                self.local_times(v, where + "." + k)
        elif isinstance(value, list):
            for i, v in enumerate(value):
                self.local_times(v, "%s[%d]" % (where, i))
        elif isinstance(value, str) and re.match(r"^\d{4}-\d\d-\d\dT", value):
            self.assertRegex(value, LOCAL_TIME, where)
            return 1

    def test_times_of_day_in_every_answer(self):
        s = self.server
        s.set_clock("2025-10-01T00:00:10")
        r = s.request("POST", "/api/v1/items", json_body=ITEM)
        item = r.json()
        t = item["tracking"]
        self.assertEqual(item["received"], "2025-10-01T00:00:10+08:00")
        self.assertEqual(item["clocks"]["reply"]["due"], "2025-10-14T23:59:59+08:00")
        hand = login(s, "hand_t", "handler", "法规处")
        head = login(s, "head_t", "section_head", "法规处")
        to_replied(self.disp, hand, head, t)
        publish(head, t)
        answers = {
            "201": item,
            "track": s.request("GET", "/api/v1/track/" + t,
                               headers={"X-Query-Code": item["query_code"]}).json(),
            "staff item": self.disp.request("GET", "/api/v1/items/" + t).json(),
            "queue": self.disp.request("GET", "/api/v1/queue?state=all").json(),
            "public": s.request("GET", "/api/v1/public/items/" + t).json(),
            "open311 one": s.request("GET", "/open311/v2/requests/%s.json" % t).json(),
            "open311 list": s.request("GET", "/open311/v2/requests.json").json(),
        }
        for name, value in answers.items():
            with self.subTest(answer=name):
                self.local_times(value, name)
        self.assertTrue(answers["staff item"]["history"], answers["staff item"])
        for h in answers["staff item"]["history"]:
            self.assertRegex(h["at"], LOCAL_TIME)
        one = answers["open311 one"][0]
        for k in ("requested_datetime", "updated_datetime"):
            self.assertRegex(one[k], LOCAL_TIME, k)
        self.assertEqual(one["requested_datetime"], "2025-10-01T00:00:10+08:00")
        xml = s.request("GET", "/open311/v2/requests/%s.xml" % t).body.decode()
        for k in ("requested_datetime", "updated_datetime", "expected_datetime"):
            m = re.search("<%s>([^<]*)</%s>|<%s/>" % (k, k, k), xml)
            self.assertIsNotNone(m, (k, xml))
            self.assertEqual(m.group(1) or None, one[k], k)


class QueueWalk(unittest.TestCase):
    """Twelve items on twelve days, in every kind of state (received, assigned, replied,
    rejected), walked page by page."""

    @classmethod
    def setUpClass(cls):
        cls.server = s = start({"CIVICDESK_TEST_NOW": "2025-09-10T10:00"})
        try:
            cls.items = []
            subjects = ["百分之百 100%", "下划线 a_b", "反斜杠 a\\b"] + ["事项%d" % i for i in range(9)]
            for i, subject in enumerate(subjects):
                s.set_clock("2025-09-%02dT10:00" % (10 + i))
                r = s.request("POST", "/api/v1/items", json_body=dict(
                    ITEM, kind=("letter", "complaint", "consultation")[i % 3], subject=subject))
                cls.items.append(r.json()["tracking"])
            s.set_clock("2025-09-30T10:00")
            cls.disp = login(s, "disp_q", "dispatcher")
            cls.hand = login(s, "hand_q", "handler", "法规处")
            cls.head = login(s, "head_q", "section_head", "法规处")
        except Exception:
            s.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def walk(self, query, limit):
        seen, cursor = [], None
        for _ in range(len(self.items) + 2):
            path = "/api/v1/queue?%s&limit=%d" % (query, limit)
            if cursor is not None:
                path += "&cursor=" + urllib.parse.quote(cursor)
            r = self.disp.request("GET", path)
            self.assertEqual(r.status, 200, r)
            page = r.json()
            self.assertLessEqual(len(page["items"]), limit)
            seen += [x["tracking"] for x in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                return seen
            self.assertTrue(page["items"], "a cursor after an empty page")
        self.fail("the walk did not end: %r" % seen)

    def test_each_item_once(self):
        fates = {}
        for k, t in enumerate(self.items):
            if k % 4 == 0:
                act(self.disp, t, "reject", reason="不属于本局")
                fates[t] = "rejected"
            elif k % 4 == 1:
                to_replied(self.disp, self.hand, self.head, t)
                fates[t] = "replied"
            elif k % 4 == 2:
                act(self.disp, t, "assign", section="法规处")
                fates[t] = "assigned"
            else:
                fates[t] = "received"
        for state in ("all", "rejected", "replied", "assigned", "received"):
            want = sorted(t for t in self.items if state == "all" or fates[t] == state)
            for limit in (1, 2, 3, 100):
                with self.subTest(state=state, limit=limit):
                    seen = self.walk("state=" + state, limit)
                    self.assertEqual(len(seen), len(set(seen)), seen)
                    self.assertEqual(sorted(seen), want)
        for limit in (100, 101):
            r = self.disp.request("GET", "/api/v1/queue?limit=%d" % limit)
            self.assertEqual(r.status, 200 if limit == 100 else 400, r)
            if limit == 101:
                self.assertEqual(r.json()["error"]["field"], "limit")

    def test_q_takes_wildcards_as_characters(self):
        for q, want in (("%", [self.items[0]]), ("_", [self.items[1]]), ("a_b", [self.items[1]]),
                        ("\\", [self.items[2]]), ("100%", [self.items[0]]),
                        ("百分", [self.items[0]]), ("事项", self.items[3:])):
            with self.subTest(q=q):
                seen = self.walk("state=all&q=" + urllib.parse.quote(q), 100)
                self.assertEqual(sorted(seen), sorted(want))


if __name__ == "__main__":
    harness.main()
