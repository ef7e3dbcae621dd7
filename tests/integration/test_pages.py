"""The pages over HTTP, through the real daemon (the browser suite in tests/browser drives the
same pages in chromium): the citizen's actions on /track (supplement, withdrawal of the item and
of the consent to publication, the rating) through core, wrong query codes limited per address
and per tracking number, the dashboard's statistics and CSV, the admin forms (CSRF, audited),
the board by month, gzip and ETags of the static files, HTML error pages in the chosen
language, and the second factor's enrolment page (key, otpauth:// URI, its QR code as inline
SVG read back by zbarimg, recovery codes once).

November 2025 has no holidays: from Wednesday 5 November the 5th working day is Wednesday 12.
"""
import gzip
import html
import os
import re
import sys
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

harness.BIN = os.path.abspath(harness.BIN)

PW = "Passw0rd!Pages"
SECTION = "法规处"
ACCOUNTS = [
    ("disp_p", "dispatcher", None),
    ("sup_p", "supervisor", None),
    ("admin_p", "admin", None),
    ("hand_p", "handler", SECTION),
    ("head_p", "section_head", SECTION),
]


class Browser:
    """A cookie jar and the forms of the last page: what a browser without script does."""

    def __init__(self, server, follow=False):
        self.server = server
        self.cookies = {}
        self.last = None
        # follow a POST's 303 with a GET of its Location, as a browser does (the citizen's:
        # /track is post, redirect, get); staff tests look at the 303 itself
        self.follow = follow

    def _followed(self, method, r):
        if self.follow and method == "POST" and r.status == 303:
            return self.get(r.header("Location"))
        return r

    def _cookie_header(self):
        return "; ".join("%s=%s" % kv for kv in self.cookies.items())

    def request(self, method, path, fields=None, headers=None):
        hdrs = dict(headers or {})
        if self.cookies:
            hdrs["Cookie"] = self._cookie_header()
        body = None
        if fields is not None:
            body = urllib.parse.urlencode(fields)
            hdrs["Content-Type"] = "application/x-www-form-urlencoded"
        r = self.server.request(method, path, body=body, headers=hdrs)
        for v in r.headers_all("Set-Cookie"):
            name, _, rest = v.partition("=")
            value = rest.split(";", 1)[0]
            if "Max-Age=0" in v or value == "":
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        self.last = r
        return self._followed(method, r)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def text(self):
        return self.last.body.decode("utf-8")

    def csrf(self):
        """The form token of the last page that had one (a redirect has none)."""
        m = re.search(r'name="csrf_token" value="([^"]*)"', self.text())
        if m:
            self.token = html.unescape(m.group(1))
        assert getattr(self, "token", None), "no form token on the page"
        return self.token

    def post(self, path, fields):
        fields = dict(fields)
        fields.setdefault("csrf_token", self.csrf())
        return self.request("POST", path, fields=fields)

    def post_files(self, path, fields, files):
        """A multipart/form-data POST: fields {name: value}, files [(field, filename, type,
        bytes)]."""
        fields = dict(fields)
        fields.setdefault("csrf_token", self.csrf())
        boundary = "----pagetest7d9f3a"
        parts = []
        for k, v in fields.items():
            parts.append(("--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n"
                          % (boundary, k)).encode() + v.encode("utf-8") + b"\r\n")
        for field, filename, ctype, data in files:
            parts.append(("--%s\r\nContent-Disposition: form-data; name=\"%s\"; "
                          "filename=\"%s\"\r\nContent-Type: %s\r\n\r\n"
                          % (boundary, field, filename, ctype)).encode("utf-8") + data + b"\r\n")
        body = b"".join(parts) + ("--%s--\r\n" % boundary).encode()
        hdrs = {"Content-Type": "multipart/form-data; boundary=" + boundary}
        if self.cookies:
            hdrs["Cookie"] = self._cookie_header()
        r = self.server.request("POST", path, body=body, headers=hdrs)
        for v in r.headers_all("Set-Cookie"):
            name, _, rest = v.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]
        self.last = r
        return self._followed("POST", r)


SESSIONS = {}  # name -> the Staff session its login in the template database opened


def add_accounts(server):
    for name, role, section in ACCOUNTS:
        server.add_user(name, role, section, password=PW)
    SESSIONS.update({name: server.login(name, PW) for name, _, _ in ACCOUNTS})


class Base(unittest.TestCase):
    ENV = {"CIVICDESK_SUBMIT_RATE": "0"}

    @classmethod
    def setUpClass(cls):
        # each class its own daemon and database, the accounts made and logged in once per
        # suite: a copy of that database, its sessions (stored in it) used by this daemon
        cls.server = harness.Server(env=cls.ENV, db_from=harness.template_db(
            "pages", cls.ENV, add_accounts)).start()
        cls.staff = {name: harness.Staff(cls.server, s.cookie, s.csrf_token, s.info)
                     for name, s in SESSIONS.items()}

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def act(self, who, tracking, action, **fields):
        r = self.staff[who].request("POST", "/api/v1/items/%s/actions/%s" % (tracking, action),
                                    json_body=fields)
        self.assertEqual(r.status, 200, "%s %s: %r" % (who, action, r))
        return r.json()

    def submit(self, publish=True, subject="路灯不亮"):
        r = self.server.request("POST", "/api/v1/items", json_body={
            "kind": "letter", "subject": subject, "body": "小区门口的路灯坏了。",
            "name": "张三", "phone": "13812345678", "publish": publish})
        self.assertEqual(r.status, 201, r)
        return r.json()

    def citizen(self, lang="en"):
        b = Browser(self.server, follow=True)
        b.get("/track?lang=" + lang)
        return b

    def track(self, b, item, **fields):
        b.get("/track")
        f = {"tracking": item["tracking"], "code": item["query_code"]}
        f.update(fields)
        return b.post("/track", f)

    def replied(self):
        item = self.submit()
        t = item["tracking"]
        self.act("disp_p", t, "assign", section=SECTION)
        self.act("hand_p", t, "accept")
        self.act("hand_p", t, "draft", text="路灯已修复。")
        self.act("hand_p", t, "submit_review")
        self.act("head_p", t, "approve")
        self.act("hand_p", t, "send_reply")
        return item


class TrackActions(Base):
    def test_supplement_when_asked(self):
        item = self.submit()
        t = item["tracking"]
        b = self.citizen()
        r = self.track(b, item)
        self.assertEqual(r.status, 200)
        self.assertNotIn('value="supplement"', b.text(), "no supplement form before it is asked")
        # the language links of the status page: the status in that language (the code waits
        # in this browser's look-up cookie, never in the address); another browser gets the
        # look-up form with the number filled in (the links led to that form while the status
        # was a POST page)
        self.assertIn('href="/track?lang=zh-Hant&amp;tracking=%s"' % t, b.text())
        b.get("/track?lang=zh-Hant&tracking=" + t)
        self.assertIn('<html lang="zh-Hant">', b.text())
        self.assertIn('id="status-title"', b.text())
        other = Browser(self.server)
        other.get("/track?lang=zh-Hant&tracking=" + t)
        self.assertNotIn('id="status-title"', other.text())
        self.assertIn('id="tracking" name="tracking" maxlength="40" required autocomplete="off" '
                      'spellcheck="false" value="%s"' % t, other.text())
        b.get("/track?lang=en")
        self.act("disp_p", t, "assign", section=SECTION)
        self.act("hand_p", t, "accept")
        self.act("hand_p", t, "ask_citizen", note="请提供路灯编号。")
        r = self.track(b, item)
        self.assertIn('value="supplement"', b.text())
        self.assertRegex(b.text(), r'<div class="question">.*请提供路灯编号。',
                         "what was asked, above the form")
        # an empty supplement: the field's message, nothing changes
        r = b.post("/track", {"action": "supplement", "tracking": t,
                              "code": item["query_code"], "text": "  "})
        self.assertEqual(r.status, 400, b.text())
        self.assertIn('id="supplement-error"', b.text())
        self.assertIn("supplement-error", re.search(r'<textarea id="supplement"[^>]*>',
                                                    b.text()).group(0))
        # an expired form (the server restarted, the browser session ended): nothing is done,
        # the page says so and keeps the text, and the form sent again goes through
        r = b.post("/track", {"action": "supplement", "tracking": t, "csrf_token": "expired",
                              "code": item["query_code"], "text": "编号 A-17 写了很久"})
        self.assertEqual(r.status, 403, b.text())
        self.assertIn('id="error-summary"', b.text())
        self.assertIn("The form has expired", b.text())
        self.assertIn(">编号 A-17 写了很久</textarea>", b.text())
        s = self.staff["hand_p"].request("GET", "/api/v1/items/" + t).json()
        self.assertEqual(s["state"], "waiting_citizen", "nothing done")
        # the look-up form alone: the number typed stays; a wrong code is still counted
        b.get("/track")
        r = b.post("/track", {"tracking": t, "code": "", "csrf_token": "expired"})
        self.assertEqual(r.status, 403)
        self.assertIn("The form has expired", b.text())
        self.assertIn('value="%s"' % t, b.text())
        b.get("/track")
        self.track(b, item)
        r = b.post("/track", {"action": "supplement", "tracking": t,
                              "code": item["query_code"], "text": "编号 A-17 <script>x</script>"})
        self.assertEqual(r.status, 200, b.text())
        self.assertIn('id="flash"', b.text())
        self.assertIn("编号 A-17 &lt;script&gt;", b.text())
        self.assertNotIn("<script>x</script>", b.text())
        s = self.staff["hand_p"].request("GET", "/api/v1/items/" + t).json()
        self.assertEqual(s["state"], "in_progress")
        # not waiting any more: refused with the conflict's message
        r = b.post("/track", {"action": "supplement", "tracking": t,
                              "code": item["query_code"], "text": "again"})
        self.assertEqual(r.status, 409)

    def test_timeline_shows_the_new_due_date(self):
        """A step that moves the reply's due date shows the new date in the citizen's timeline
        (#14 point 11 on the page, as the API's track answer has it)."""
        item = self.submit()
        t = item["tracking"]
        self.act("disp_p", t, "assign", section=SECTION)
        self.act("hand_p", t, "accept")
        b = self.citizen()
        self.track(b, item)
        self.assertNotIn('class="due"', b.text())
        self.act("hand_p", t, "request_extension", reason="需要现场核查")
        self.act("sup_p", t, "approve_extension")
        due = self.staff["hand_p"].request("GET", "/api/v1/items/" + t).json()
        due = due["clocks"]["reply"]["due"]
        r = self.track(b, item)
        self.assertEqual(r.status, 200)
        shown = re.findall(r'<span class="due">new due date: <time datetime="([^"]+)">',
                           b.text())
        self.assertIn(due[:16], [d[:16] for d in shown], "the extended due date in the timeline")
        b.get("/track?lang=zh-Hans")
        self.track(b, item)
        self.assertIn("新的答复时限：", b.text())

    def test_supplement_with_attachments(self):
        item = self.submit()
        t = item["tracking"]
        self.act("disp_p", t, "assign", section=SECTION)
        self.act("hand_p", t, "accept")
        self.act("hand_p", t, "ask_citizen", note="请提供照片。")
        b = self.citizen()
        self.track(b, item)
        self.assertIn('enctype="multipart/form-data" class="stack citizen-supplement"', b.text())
        f = {"action": "supplement", "tracking": t, "code": item["query_code"],
             "text": "照片见附件。"}
        # a type the bureau does not take: refused beside the field, nothing changes
        r = b.post_files("/track", f, [("attachment", "x.html", "text/html",
                                        b"<html><script>alert(1)</script></html>")])
        self.assertEqual(r.status, 400, b.text()[-1500:])
        self.assertIn('id="supplement-attachment-error"', b.text())
        s = self.staff["hand_p"].request("GET", "/api/v1/items/" + t).json()
        self.assertEqual(s["state"], "waiting_citizen")
        png = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01"
               b"\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f"
               b"\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")
        r = b.post_files("/track", f, [("attachment", "C:\\photos\\井盖.png", "image/png", png)])
        self.assertEqual(r.status, 200, b.text()[-1500:])
        s = self.staff["hand_p"].request("GET", "/api/v1/items/" + t).json()
        self.assertEqual(s["state"], "in_progress")
        self.assertIn(("井盖.png", len(png)),
                      [(a["filename"], a["size"]) for a in s["attachments"]])

    def test_rating_after_the_reply(self):
        item = self.replied()
        b = self.citizen("zh-Hans")
        self.track(b, item)
        self.assertIn('value="rate"', b.text())
        r = b.post("/track", {"action": "rate", "tracking": item["tracking"],
                              "code": item["query_code"], "comment": "x" * 501,
                              "value": "unsatisfied"})
        self.assertEqual(r.status, 400)
        self.assertIn('id="rate-comment-error"', b.text())
        r = b.post("/track", {"action": "rate", "tracking": item["tracking"],
                              "code": item["query_code"]})
        self.assertEqual(r.status, 400)
        self.assertIn('id="rate-value-error"', b.text())
        r = b.post("/track", {"action": "rate", "tracking": item["tracking"],
                              "code": item["query_code"], "value": "basically_satisfied",
                              "comment": "还行"})
        self.assertEqual(r.status, 200, b.text())
        self.assertIn("基本满意", b.text())
        self.assertNotIn('value="rate"', b.text(), "rated once")
        a = self.staff["admin_p"].request(
            "GET", "/api/v1/audit?action=rate&target=" + item["tracking"]).json()
        self.assertEqual(len(a["entries"]), 1, a)

    def test_withdraw_consent_then_item(self):
        item = self.submit(publish=True)
        t = item["tracking"]
        b = self.citizen()
        self.track(b, item)
        r = b.post("/track", {"action": "withdraw_consent", "tracking": t,
                              "code": item["query_code"]})
        self.assertEqual(r.status, 400, "the box must be ticked")
        self.assertIn('id="consent-error"', b.text())
        r = b.post("/track", {"action": "withdraw_consent", "tracking": t,
                              "code": item["query_code"], "confirm": "1"})
        self.assertEqual(r.status, 200, b.text())
        self.assertNotIn('value="withdraw_consent"', b.text())
        s = self.staff["disp_p"].request("GET", "/api/v1/items/" + t).json()
        self.assertFalse(s.get("publish"), s)
        r = b.post("/track", {"action": "withdraw", "tracking": t,
                              "code": item["query_code"], "confirm": "1"})
        self.assertEqual(r.status, 200, b.text())
        self.assertIn("state-closed", b.text())
        self.assertNotIn('value="withdraw"', b.text())
        r = b.post("/track", {"action": "withdraw", "tracking": t,
                              "code": item["query_code"], "confirm": "1"})
        self.assertEqual(r.status, 409)

    def test_wrong_code_changes_nothing(self):
        item = self.submit()
        b = self.citizen()
        self.track(b, item)
        r = b.post("/track", {"action": "withdraw", "tracking": item["tracking"],
                              "code": "WRONGWRONG12", "confirm": "1"})
        self.assertEqual(r.status, 404)
        self.assertNotIn("status-title", b.text())
        s = self.staff["disp_p"].request("GET", "/api/v1/items/" + item["tracking"]).json()
        self.assertEqual(s["state"], "received")


class TrackRedirect(Base):
    """/track is post, redirect, get: the query code is a secret, never in an address (the
    address bar, the history, a Referer, a proxy's access log); it waits in a cookie of this
    browser for /track only, so that a reload or the back button asks nothing again."""

    def test_look_up_redirects_without_the_code(self):
        item = self.submit()
        t, code = item["tracking"], item["query_code"]
        b = Browser(self.server)
        b.get("/track?lang=en")
        r = b.post("/track?lang=en", {"tracking": t, "code": code.lower()})
        self.assertEqual(r.status, 303, b.text())
        loc = r.header("Location")
        self.assertEqual(loc, "/track?lang=en&tracking=" + t)
        cookie = [v for v in r.headers_all("Set-Cookie") if v.startswith("civicdesk_track=")]
        self.assertEqual(len(cookie), 1, r.headers_all("Set-Cookie"))
        for attr in ("Path=/track", "HttpOnly", "SameSite=Strict", "Max-Age="):
            self.assertIn(attr, cookie[0])
        self.assertEqual(b.cookies["civicdesk_track"], "%s.%s" % (t, code),
                         "the code as the item has it, whatever case was typed")
        for _ in range(2):  # shown, then reloaded: the same page, nothing posted again
            r = b.get(loc)
            self.assertEqual(r.status, 200)
            self.assertTrue([v for v in r.headers_all("Set-Cookie")
                             if v.startswith("civicdesk_track=%s." % t) and "Max-Age=900" in v],
                            "kept 15 minutes more while it is used")
            self.assertIn('id="status-title"', b.text())
            self.assertIn(t, b.text())
            for url in re.findall(r'(?:href|action|src)="([^"]*)"', b.text()):
                self.assertNotIn(code, html.unescape(url), "no address holds the code")
        # another browser, or another number than the cookie's: the look-up form
        other = Browser(self.server)
        other.get(loc)
        self.assertNotIn('id="status-title"', other.text())
        self.assertIn('value="%s"' % t, other.text())
        b.get("/track?tracking=XJ-20200101-00001")
        self.assertNotIn('id="status-title"', b.text())

    def test_action_redirects_with_its_message(self):
        item = self.submit(publish=True)
        t = item["tracking"]
        b = Browser(self.server)
        b.get("/track?lang=en")
        b.get(b.post("/track", {"tracking": t, "code": item["query_code"]}).header("Location"))
        r = b.post("/track", {"action": "withdraw_consent", "tracking": t,
                              "code": item["query_code"], "confirm": "1"})
        self.assertEqual(r.status, 303, b.text())
        self.assertEqual(r.header("Location"), "/track?tracking=%s&done=withdraw_consent" % t)
        r = b.get(r.header("Location"))
        self.assertEqual(r.status, 200)
        self.assertIn('id="flash"', b.text())
        self.assertNotIn('value="withdraw_consent"', b.text())
        # a refused action stays on its page with the message (nothing to reload but it)
        r = b.post("/track", {"action": "withdraw", "tracking": t, "code": item["query_code"]})
        self.assertEqual(r.status, 400)
        self.assertIn('id="withdraw-error"', b.text())

    def test_303_body_is_the_status_page(self):
        """As /submit's 303 carries the receipt, /track's carries the status page the GET of its
        Location shows: a client that does not follow redirects still sees the state (and, after
        an action, its message); no address in it holds the code."""
        item = self.submit()
        t, code = item["tracking"], item["query_code"]
        b = Browser(self.server)  # redirects not followed
        b.get("/track?lang=en")
        r = b.post("/track?lang=en", {"tracking": t, "code": code.lower()})
        self.assertEqual(r.status, 303)
        self.assertEqual(r.header("Location"), "/track?lang=en&tracking=" + t)
        self.assertTrue(r.header("Content-Type").startswith("text/html"), r.header("Content-Type"))
        posted = b.text()
        self.assertIn('id="status-title"', posted)
        self.assertIn(t, posted)
        self.assertIn('<html lang="en">', posted)
        for url in re.findall(r'(?:href|action|src)="([^"]*)"', posted):
            self.assertNotIn(code, html.unescape(url), "no address holds the code")

        def main(text):
            m = re.search(r"<main.*</main>", text, re.S).group(0)
            return re.sub(r'name="csrf_token" value="[^"]*"', "", m)

        b.get(r.header("Location"))
        self.assertEqual(b.last.status, 200)
        self.assertEqual(main(posted), main(b.text()), "the same status as the GET shows")
        # an action done: the 303's page says so too
        r = b.post("/track", {"action": "withdraw_consent", "tracking": t, "code": code,
                              "confirm": "1"})
        self.assertEqual(r.status, 303)
        self.assertEqual(r.header("Location"), "/track?tracking=%s&done=withdraw_consent" % t)
        self.assertIn('id="flash"', b.text())
        self.assertIn('id="status-title"', b.text())
        posted = b.text()
        b.get(r.header("Location"))
        self.assertEqual(main(posted), main(b.text()))

    def test_wrong_code_and_unknown_number_answer_alike(self):
        item = self.submit()
        b = Browser(self.server)
        b.get("/track?lang=zh-Hans")
        pages = []
        for t, code in ((item["tracking"], "WRONGWRONG12"), ("XJ-20200101-99999", "WRONGWRONG12")):
            r = b.post("/track", {"tracking": t, "code": code})
            self.assertEqual(r.status, 404)
            self.assertNotIn("civicdesk_track", b.cookies)
            main = re.search(r"<main.*</main>", b.text(), re.S).group(0)
            pages.append(re.sub(r'(value|tracking)="[^"]*"', "", main.replace(t, "")))
        self.assertEqual(pages[0], pages[1])

    def test_forged_cookie_counts_as_a_wrong_code(self):
        """The cookie is the client's to write: a wrong code in it shows nothing and counts like
        a wrong code typed, so it is no way around the limits on guessing."""
        item = self.submit()
        t = item["tracking"]
        b = Browser(self.server)
        for _ in range(10):
            b.cookies["civicdesk_track"] = t + ".WRONGWRONG12"
            b.get("/track?tracking=" + t)
            self.assertNotIn('id="status-title"', b.text())
            self.assertNotIn("civicdesk_track", b.cookies, "a wrong cookie is forgotten")
        b.cookies["civicdesk_track"] = "%s.%s" % (t, item["query_code"])
        self.assertEqual(b.get("/track?tracking=" + t).status, 429)
        r = self.track(self.citizen(), item)
        self.assertEqual(r.status, 429, "the number is refused from this address now")

    def test_forged_cookie_with_done_says_nothing_was_done(self):
        """A forged or stale cookie with ?done= (a bookmarked or shared action's address): the
        not-found message alone, never the action's "done" message beside it."""
        item = self.submit()
        t = item["tracking"]
        for done in ("withdraw_consent", "rate", "supplement", "withdraw"):
            b = Browser(self.server)
            b.cookies["civicdesk_track"] = t + ".WRONGWRONG12"
            r = b.get("/track?lang=en&tracking=%s&done=%s" % (t, done))
            self.assertEqual(r.status, 404, done)
            self.assertIn('id="look-up-error"', b.text())
            self.assertNotIn('id="flash"', b.text(), done)
            # no cookie at all (it expired): the look-up form, no message either
            b = Browser(self.server)
            b.get("/track?lang=en&tracking=%s&done=%s" % (t, done))
            self.assertNotIn('id="flash"', b.text(), done)
            self.assertNotIn('id="status-title"', b.text(), done)


class Languages(Base):
    """?lang= takes any BCP 47 tag of Chinese or English (any case) as the nearest of ours, and
    remembers ours; with no ?lang= and no cookie, Accept-Language chooses (its q-values
    counted); ?lang=zh-Hans|zh-Hant|en as they always were."""

    def lang_of(self, b):
        return re.search(r'<html lang="([^"]+)">', b.text()).group(1)

    def test_bcp47_tags_map_to_the_nearest(self):
        cases = [("zh-CN", "zh-Hans"), ("zh-TW", "zh-Hant"), ("zh-HK", "zh-Hant"),
                 ("zh", "zh-Hans"), ("en-US", "en"), ("zh-hans", "zh-Hans"),
                 ("ZH-HANT", "zh-Hant"), ("zh-Hant-TW", "zh-Hant"), ("zh-MO", "zh-Hant"),
                 ("en-GB", "en"), ("zh-Hans", "zh-Hans"), ("zh-Hant", "zh-Hant"), ("en", "en")]
        for tag, want in cases:
            for path in ("/", "/submit", "/track", "/board"):
                with self.subTest(tag=tag, path=path):
                    b = Browser(self.server)
                    r = b.get("%s?lang=%s" % (path, tag))
                    self.assertEqual(r.status, 200)
                    self.assertEqual(self.lang_of(b), want)
                    self.assertEqual(b.cookies.get("civicdesk_lang"), want, "ours remembered")
                    b.get("/board")
                    self.assertEqual(self.lang_of(b), want, "and kept on the next page")
            # the staff pages' redirect carries ours on
            r = Browser(self.server).get("/staff/?lang=" + tag)
            self.assertEqual((r.status, r.header("Location")),
                             (303, "/staff/login?lang=" + want))
        # another language is no choice: the cookie's, else Accept-Language's, stays
        b = Browser(self.server)
        b.get("/?lang=zh-TW")
        r = b.get("/submit?lang=fr")
        self.assertEqual((r.status, self.lang_of(b)), (200, "zh-Hant"))

    def test_accept_language_on_a_first_visit(self):
        cases = [("zh-TW,zh;q=0.9,en;q=0.8", "zh-Hant"), ("zh-HK", "zh-Hant"),
                 ("zh-CN,zh;q=0.9", "zh-Hans"), ("en-US,en;q=0.9", "en"),
                 ("fr-FR, fr;q=0.9, en;q=0.8", "en"), ("de, zh-Hant;q=0.5, en;q=0.4", "zh-Hant"),
                 ("en;q=0, zh-TW;q=0.3", "zh-Hant"), ("ja", "zh-Hans"), ("*", "zh-Hans"),
                 ("", "zh-Hans"), ("en;q=0.5, zh-TW;q=0.9", "zh-Hant")]
        for value, want in cases:
            with self.subTest(accept_language=value):
                b = Browser(self.server)
                b.get("/track", headers={"Accept-Language": value})
                self.assertEqual(self.lang_of(b), want)
                self.assertNotIn("civicdesk_lang", b.cookies, "nothing to remember: not chosen")
        # a choice made (cookie) or asked for (?lang=) comes before the browser's
        b = Browser(self.server)
        b.get("/?lang=en")
        b.get("/board", headers={"Accept-Language": "zh-TW"})
        self.assertEqual(self.lang_of(b), "en")
        b.get("/board?lang=zh-Hans", headers={"Accept-Language": "zh-TW"})
        self.assertEqual(self.lang_of(b), "zh-Hans")


class TraditionalWording(unittest.TestCase):
    """The zh-Hant catalogue is written for readers in Taiwan, Hong Kong and Macao, not the
    simplified one converted character by character: none of the mainland words below (nor the
    conversion errors) may come back. 文件 is kept out altogether: every file here is a 檔案 (a
    document would be 公文 or 文書)."""

    CATALOGUE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "web",
                             "i18n", "zh-Hant.txt")
    MAINLAND = {
        "文件": "檔案", "支持": "支援", "信息": "資訊 / 資料", "用戶": "使用者",
        "登錄": "登入", "視頻": "影片", "默認": "預設", "帳戶": "帳號", "創建": "建立",
        "搜索": "搜尋", "鏈接": "連結", "渠道": "管道", "配置": "設定", "數據": "資料",
        "文本": "文字", "保存": "儲存", "當前": "目前", "重置": "重設", "在線": "線上",
        "網上": "線上", "網絡": "網路", "軟件": "軟體", "服務器": "伺服器", "程序員": "程式設計師",
        "設置": "設定", "激活": "啟用", "屏幕": "螢幕", "打印": "列印", "菜單": "選單",
        "鼠標": "滑鼠", "導航": "選單", "短信": "簡訊", "郵箱": "電子郵件地址 / 信箱",
        "獲取": "取得", "質量": "品質", "優化": "最佳化", "退出": "登出",
        "恢復碼": "復原碼", "雙重驗證": "雙因素認證",
        # what a character-by-character conversion gets wrong
        "聯系": "聯絡", "覆雜": "複雜", "合並": "合併", "批準": "核准", "“": "「", "”": "」",
    }

    def test_no_mainland_terms(self):
        with open(self.CATALOGUE, encoding="utf-8") as f:
            lines = f.read().splitlines()
        found = ["%d: %s (→ %s): %s" % (i, term, better, line)
                 for i, line in enumerate(lines, 1)
                 for term, better in self.MAINLAND.items() if term in line]
        self.assertEqual(found, [], "mainland wording in zh-Hant.txt")

    def test_built_in_pages_use_it(self):
        srv = harness.Server().start()
        try:
            b = Browser(srv)
            b.get("/staff/login?lang=zh-Hant")
            self.assertIn("工作人員登入", b.text())
            self.assertIn("使用者名稱", b.text())
            b.get("/submit?lang=zh-Hant")
            self.assertIn("支援 PDF", b.text())
            self.assertIn("個檔案", b.text())
            for term in ("登錄", "用戶", "信息", "文件", "支持"):
                self.assertNotIn(term, b.text())
        finally:
            srv.cleanup()


class ScreenReader(Base):
    """What a screen reader needs beyond axe's rules: a refused citizen's form says so at the top
    of the page (the summary the script focuses), linked to the control; a look-up refused marks
    both fields invalid and ties them to the message; people's text in another language than the
    page's carries its own lang."""

    def test_refused_forms_summarised_and_linked(self):
        item = self.replied()
        t, code = item["tracking"], item["query_code"]
        b = self.citizen()
        self.track(b, item)
        self.assertNotIn('id="error-summary"', b.text())
        r = b.post("/track", {"action": "rate", "tracking": t, "code": code})
        self.assertEqual(r.status, 400)
        summary = re.search(r'<div class="error-summary" role="alert" id="error-summary" '
                            r'tabindex="-1" autofocus>(.*?)</div>', b.text(), re.S)
        self.assertTrue(summary, "a summary at the top")
        self.assertIn('<a href="#rate-satisfied">', summary.group(1))
        self.assertIn('id="rate-satisfied"', b.text(), "the link leads to a control")
        r = b.post("/track", {"action": "rate", "tracking": t, "code": code,
                              "value": "satisfied", "comment": "x" * 501})
        self.assertIn('<a href="#rate-comment">', b.text())
        item2 = self.submit()
        b2 = self.citizen()
        self.track(b2, item2)
        r = b2.post("/track", {"action": "withdraw", "tracking": item2["tracking"],
                               "code": item2["query_code"]})
        self.assertEqual(r.status, 400)
        self.assertIn('<a href="#withdraw-confirm">', b2.text())
        self.assertIn('id="withdraw-confirm"', b2.text())

    def test_look_up_refused_marks_the_fields(self):
        b = self.citizen()
        r = b.post("/track", {"tracking": "XJ-20200101-99999", "code": "WRONGWRONG12"})
        self.assertEqual(r.status, 404)
        for field in ("tracking", "code"):
            tag = re.search(r'<input type="text" id="%s"[^>]*>' % field, b.text()).group(0)
            self.assertIn('aria-invalid="true"', tag)
            self.assertIn("look-up-error", tag)
        self.assertRegex(b.text(), r'<p id="look-up-error"><a href="#tracking">')

    def test_text_in_another_language_has_its_lang(self):
        item = self.replied()  # a Chinese letter and reply
        b = self.citizen("en")
        self.track(b, item)
        self.assertRegex(b.text(), r'<div class="text" lang="zh">路灯已修复。</div>')
        b.get("/track?lang=zh-Hans&tracking=" + item["tracking"])
        self.assertRegex(b.text(), r'<div class="text">路灯已修复。</div>', "the page's own")
        # an English reply on a Chinese page
        other = self.submit(subject="Street light")
        t = other["tracking"]
        self.act("disp_p", t, "assign", section=SECTION)
        self.act("hand_p", t, "accept")
        self.act("hand_p", t, "ask_citizen", note="Which street is it?")
        c = self.citizen("zh-Hant")
        self.track(c, other)
        self.assertIn('<div class="text" lang="en">Which street is it?</div>', c.text())
        # the staff item page too: the Chinese letter and reply on an English page
        s = Browser(self.server)
        s.get("/staff/login?lang=en")
        # a phone neither capitalises nor corrects the account name typed
        self.assertRegex(s.text(), r'<input type="text" id="username" name="username"[^>]* '
                                   r'autocapitalize="none" spellcheck="false"')
        # and a name typed capitalised all the same finds the account
        self.assertEqual(s.post("/staff/login", {"username": "Hand_P", "password": PW}).status,
                         303)
        s.get("/staff/item/" + item["tracking"])
        self.assertIn('<span lang="zh">路灯不亮</span></h1>', s.text())
        self.assertRegex(s.text(), r'<div class="text letter" lang="zh">小区门口')
        self.assertIn('<div class="text" lang="zh">路灯已修复。</div>', s.text())


class StaffScreenReader(Base):
    """The staff pages for screen readers, as the server writes them (the browser suite checks
    what chromium makes of them): a letter's subject and a section's name in Chinese are marked
    lang=zh on English pages (rare characters of CJK ext. B too), the queue's rows are headed by
    their tracking number, the dashboard's lists are tables named by a caption with their
    count."""

    def test_queue_and_dashboard(self):
        rare = "\U00020000\U00020001"  # 𠀀𠁁: only supplementary ideographs
        item = self.submit(subject=rare)
        b = Browser(self.server)
        b.get("/staff/login?lang=en")
        b.post("/staff/login", {"username": "disp_p", "password": PW})
        b.get("/staff/?state=all&q=" + urllib.parse.quote(rare))
        row = re.search(r'<tr class="due-[a-z]+">(.*?)</tr>', b.text(), re.S)
        self.assertTrue(row, b.text()[-2000:])
        self.assertIn('<th scope="row"><a href="/staff/item/%s">' % item["tracking"], row.group(1))
        self.assertIn('<td lang="zh">%s</td>' % rare, row.group(1))
        # one page: no navigation landmark with nothing in it
        self.assertNotIn('class="pager"', b.text())
        b.get("/board?lang=en&q=" + urllib.parse.quote(rare))
        self.assertNotIn('class="pager"', b.text())
        self.act("disp_p", item["tracking"], "assign", section=SECTION)
        b.get("/staff/?state=all&q=" + urllib.parse.quote(rare))
        self.assertIn('<td lang="zh">%s</td>' % SECTION, b.text())
        b.get("/staff/?lang=zh-Hans&state=all&q=" + urllib.parse.quote(rare))
        self.assertNotIn('lang="zh"', b.text().split("<main")[1], "the page's own language")
        # a period that is not one: the summary leads to the period's field
        sup = Browser(self.server)
        sup.get("/staff/login?lang=en")
        sup.post("/staff/login", {"username": "sup_p", "password": PW})
        sup.get("/staff/dashboard?lang=en&period=bogus")
        self.assertRegex(sup.text(), r'id="error-summary" tabindex="-1" autofocus><p><a href="#period">')
        # the sections offered by the item page's forms, in their language
        b.get("/staff/item/%s?lang=en" % item["tracking"])
        self.assertIn('<option value="%s" lang="zh">%s</option>' % (SECTION, SECTION), b.text())
        b.get("/staff/dashboard?lang=en")
        for key in ("overdue", "near", "extensions"):
            self.assertRegex(b.text(), r'<h2 id="list-%s-title">[^<]+ <span class="count">\(\d+\)'
                             r'</span></h2>' % key)
        # an hour before the forward clock runs out: the item is in the list of those due soon
        import datetime
        due = datetime.datetime.fromisoformat(item["clocks"]["forward"]["due"]).timestamp()
        r = self.server.request("POST", "/api/v1/test/clock", json_body={"now": int(due) - 3600})
        self.assertEqual(r.status, 200, r)
        try:
            b = Browser(self.server)
            b.get("/staff/login?lang=en")
            b.post("/staff/login", {"username": "disp_p", "password": PW})
            b.get("/staff/dashboard?lang=en&period=2000-01")
        finally:
            self.server.request("POST", "/api/v1/test/clock", json_body={"now": None})
        near = re.search(r'<table class="queue list-near">\s*<caption id="list-near-caption">'
                         r'Due within one working day \((\d+)\)</caption>', b.text())
        self.assertTrue(near, "the list of items due soon, named by its caption")
        self.assertIn(item["tracking"], b.text().split('class="queue list-near"')[1])


class OverdueView(Base):
    """The supervisor's overdue view never hides an item: past 100 overdue, the list says how
    many more there are and the counts by section are whole; the items due soon are listed
    whatever the number of overdue ones (they were read from the same first 100 rows, which
    the overdue filled)."""

    def test_more_than_a_page_overdue(self):
        import datetime
        for i in range(101):
            r = self.server.request("POST", "/api/v1/items", json_body={
                "kind": "letter", "subject": "逾期 %d" % i, "body": "逾期测试。",
                "phone": "13812345678", "publish": False})
            self.assertEqual(r.status, 201, r)
            if i == 0:
                due = datetime.datetime.fromisoformat(r.json()["clocks"]["forward"]["due"])
        later = int(due.timestamp()) + 10 * 86400
        try:
            self.assertEqual(self.server.request("POST", "/api/v1/test/clock",
                                                 json_body={"now": later}).status, 200)
            soon = self.submit(subject="快到期")
            fwd = datetime.datetime.fromisoformat(soon["clocks"]["forward"]["due"]).timestamp()
            self.server.request("POST", "/api/v1/test/clock", json_body={"now": int(fwd) - 3600})
            b = Browser(self.server)
            b.get("/staff/login?lang=en")
            b.post("/staff/login", {"username": "sup_p", "password": PW})
            b.get("/staff/dashboard?lang=en&period=2000-01")
        finally:
            self.server.request("POST", "/api/v1/test/clock", json_body={"now": None})
        page = b.text()
        self.assertIn('<caption id="list-overdue-caption">Overdue (101)</caption>', page)
        self.assertIn('id="list-overdue-more">Only the first 100 are listed here; 1 more', page)
        overdue = page.split('class="queue list-overdue"')[1].split("</table>")[0]
        self.assertEqual(len(re.findall(r"<tr class=", overdue)), 100)
        self.assertIn('<span class="badge badge-red">101</span>',
                      page.split('id="sections-caption"')[1].split("</table>")[0],
                      "the count by section is whole")
        near = page.split('class="queue list-near"')[1].split("</table>")[0]
        self.assertIn(soon["tracking"], near, "the item due soon is listed")


class TrackLimits(Base):
    def test_per_address_and_tracking_number(self):
        """Ten wrong codes for one number lock that number for this address only: another
        number still answers from here (per address alone would refuse it)."""
        a, other = self.submit(), self.submit()
        b = self.citizen()
        for i in range(10):
            # half of them without a valid form token: an expired form is answered (403), and
            # its wrong code counts all the same
            r = self.track(b, a, code="WRONGWRONG12", **({"csrf_token": "x"} if i % 2 else {}))
            self.assertEqual(r.status, 403 if i % 2 else 404)
        r = self.track(b, a)
        self.assertEqual(r.status, 429, "the right code waits too while refused")
        self.assertTrue(r.header("Retry-After"))
        r = self.track(b, other)
        self.assertEqual(r.status, 200, "another number is not refused")
        # the API's look-up counts the same failures
        r = self.server.request("GET", "/api/v1/track/" + a["tracking"],
                                headers={"X-Query-Code": a["query_code"]})
        self.assertEqual(r.status, 429)

    def test_rating_guesses_count_like_look_ups(self):
        """Wrong codes sent to the API's rating count per tracking number like any other: they
        cannot be used to guess a code past the look-up's limits."""
        a = self.submit()
        for _ in range(10):
            r = self.server.request("POST", "/api/v1/track/%s/rating" % a["tracking"],
                                    json_body={"value": "satisfied"},
                                    headers={"X-Query-Code": "WRONGWRONG12"})
            self.assertEqual(r.status, 404, r)
        b = self.citizen()
        r = self.track(b, a)
        self.assertEqual(r.status, 429, "the page refuses the number too")


class Dashboard(Base):
    def test_ranking_csv_and_periods(self):
        item = self.replied()
        sup = Browser(self.server)
        sup.get("/staff/login?lang=en")
        r = sup.post("/staff/login", {"username": "sup_p", "password": PW})
        self.assertEqual(r.status, 303)
        month = item["clocks"]["reply"]["due"][:7]
        r = sup.get("/staff/dashboard?period=" + month)
        self.assertEqual(r.status, 200)
        page = sup.text()
        self.assertIn('<table class="ranking">', page)
        row = re.search(r"<tr><td>1</td><th scope=\"row\"[^>]*>%s</th>(.*?)</tr>" % SECTION, page)
        self.assertTrue(row, page[-3000:])
        self.assertIn("<svg", page)
        self.assertIn('class="chart-rates"', page)
        self.assertNotRegex(page, r"<script(?![^>]*\bsrc=)")
        api = self.staff["sup_p"].request("GET", "/api/v1/stats?period=" + month).json()
        mine = [s for s in api["sections"] if s["section"] == SECTION][0]
        cells = re.findall(r"<td>([^<]*)</td>", row.group(1))
        self.assertEqual(int(cells[0]), mine["received"])
        self.assertEqual(int(cells[1]), mine["replied"])
        for period in (month[:4], "%s-Q%d" % (month[:4], (int(month[5:7]) - 1) // 3 + 1)):
            r = sup.get("/staff/dashboard?period=" + period)
            self.assertEqual(r.status, 200)
            self.assertIn('<option value="%s" selected>' % period, sup.text())
        r = sup.get("/staff/dashboard?period=nonsense")
        self.assertEqual(r.status, 200)
        self.assertIn("error-summary", sup.text())
        r = sup.get("/staff/stats.csv?period=" + month)
        self.assertEqual(r.status, 200)
        self.assertTrue(r.header("Content-Type").startswith("text/csv"))
        self.assertIn("attachment", r.header("Content-Disposition"))
        self.assertEqual(r.body[:3], b"\xef\xbb\xbf")  # Excel reads it as UTF-8
        csv = r.body.decode("utf-8-sig")
        self.assertTrue(csv.startswith("period,from,to,section,rank"), csv[:200])
        self.assertIn('"%s",1,' % SECTION, csv)
        # a handler sees neither
        h = Browser(self.server)
        h.get("/staff/login")
        h.post("/staff/login", {"username": "hand_p", "password": PW})
        self.assertEqual(h.get("/staff/dashboard").status, 403)
        self.assertEqual(h.get("/staff/stats.csv?period=" + month).status, 403)


class Roles(Base):
    def signed_in(self, who):
        b = Browser(self.server)
        b.get("/staff/login?lang=en")
        r = b.post("/staff/login", {"username": who, "password": PW})
        self.assertEqual(r.status, 303, b.text())
        return b

    def test_a_handler_sees_only_their_section(self):
        """Through the pages, as through the API: another section's item is not listed, not
        found by search, its page is 404 without its text, a form posted to it changes nothing;
        the dashboard, statistics and administration answer 403."""
        r = self.server.request("POST", "/api/v1/items", json_body={
            "kind": "letter", "subject": "别科来信 稽查", "body": "只给稽查处看的内容。",
            "phone": "13812345678", "publish": False})
        other = r.json()["tracking"]
        self.act("disp_p", other, "assign", section="稽查处")
        mine = self.submit(subject="本科来信 法规")["tracking"]
        self.act("disp_p", mine, "assign", section=SECTION)
        for who in ("hand_p", "head_p"):
            with self.subTest(who=who):
                b = self.signed_in(who)
                for path in ("/staff/?state=all", "/staff/?state=all&q=" + urllib.parse.quote("别科来信"),
                             "/staff/?state=assigned"):
                    self.assertEqual(b.get(path).status, 200)
                    self.assertNotIn(other, b.text(), path)
                    self.assertNotIn("别科来信 稽查", b.text(), path)
                b.get("/staff/?state=all")
                self.assertIn(mine, b.text(), "their own section's item is listed")
                r = b.get("/staff/item/" + other)
                self.assertEqual(r.status, 404)
                self.assertNotIn("只给稽查处看的内容", b.text())
                self.assertIn('<html lang="en">', b.text(), "a page, in the language")
                b.get("/staff/item/" + mine + "?lang=zh-Hant")
                self.assertIn("來信人 → ", b.text(), "the citizen named in the language")
                self.assertIn("<dd>線上提交</dd>", b.text(), "the channel too")
                self.assertNotIn("citizen", b.text())
                b.get("/staff/item/" + mine + "?lang=en")
                r = b.post("/staff/item/" + other, {"action": "accept", "note": "x"})
                self.assertEqual(r.status, 404)
                state = self.staff["disp_p"].request("GET", "/api/v1/items/" + other).json()["state"]
                self.assertEqual(state, "assigned", "nothing changed")
                for path in ("/staff/dashboard", "/staff/admin", "/staff/stats.csv?period=2026"):
                    r = b.get(path)
                    self.assertEqual(r.status, 403, path)
                    self.assertIn('<html lang="en">', b.text(), path)


    def test_public_form_refused_keeps_the_edit(self):
        """The section head edits the public version with something that looks like personal
        data: refused with the box to confirm, the edit still in the form, so that the
        confirmation publishes what was written (not the masked original)."""
        item = self.replied()
        t = item["tracking"]
        b = self.signed_in("head_p")
        b.get("/staff/item/" + t + "?lang=en")
        self.assertIn('id="pub-body"', b.text())
        edited = "值班电话13912345678，欢迎来电。"
        r = b.post("/staff/item/%s/public" % t, {"subject": "路灯", "body": edited, "reply": "已修复。",
                                                  "publish": "1"})
        self.assertEqual(r.status, 400, b.text())
        self.assertIn('id="pub-confirm"', b.text())
        self.assertIn(">%s</textarea>" % edited, b.text(), "the edit is kept")
        self.assertIn(">已修复。</textarea>", b.text())
        r = b.post("/staff/item/%s/public" % t, {"subject": "路灯", "body": edited, "reply": "已修复。",
                                                  "publish": "1", "confirm": "1"})
        self.assertEqual(r.status, 303, b.text())
        pub = self.server.request("GET", "/api/v1/public/items/" + t).json()
        self.assertEqual(pub.get("body") or pub.get("public_body"), edited, pub)


class Board(Base):
    def test_by_month_and_kind(self):
        item = self.replied()
        t = item["tracking"]
        r = self.staff["head_p"].request("PATCH", "/api/v1/items/%s/public" % t,
                                         json_body={"published": True})
        self.assertEqual(r.status, 200, r)
        b = Browser(self.server)
        r = b.get("/board?lang=en")
        self.assertEqual(r.status, 200)
        page = b.text()
        self.assertIn(t, page)
        m = re.search(r'<a href="(/board\?q=&amp;kind=&amp;month=(\d{4}-\d{2}))">\2</a> \((\d+)\)',
                      page)
        self.assertTrue(m, "the archive links this month: " + page[:4000])
        month, count = m.group(2), int(m.group(3))
        self.assertGreaterEqual(count, 1)
        r = b.get(html.unescape(m.group(1)))
        self.assertEqual(r.status, 200)
        self.assertIn(t, b.text())
        self.assertIn('<span aria-current="page">%s (%d)</span>' % (month, count), b.text())
        y, mo = int(month[:4]), int(month[5:])
        before = "%04d-%02d" % (y - 1, mo) if mo == 1 else "%04d-%02d" % (y, mo - 1)
        b.get("/board?month=" + before)
        self.assertNotIn(t, b.text(), "not in the month before")
        b.get("/board?kind=complaint&month=" + month)
        self.assertNotIn(t, b.text(), "not among the complaints")
        b.get("/board?kind=letter&month=" + month)
        self.assertIn(t, b.text())
        b.get("/board?month=2025-13")
        self.assertEqual(b.last.status, 200, "a bad month shows every month")
        self.assertIn(t, b.text())


    def walk(self, publish, body):
        """An item replied to, its letter carrying the citizen's name and number."""
        r = self.server.request("POST", "/api/v1/items", json_body={
            "kind": "letter", "subject": "隐私测试 井盖", "body": body, "name": "欧阳明",
            "phone": "13712345678", "publish": publish})
        self.assertEqual(r.status, 201, r)
        item = r.json()
        t = item["tracking"]
        self.act("disp_p", t, "assign", section=SECTION)
        self.act("hand_p", t, "accept")
        self.act("hand_p", t, "draft", text="欧阳明您好，井盖已更换。如有问题请回电 13712345678。")
        self.act("hand_p", t, "submit_review")
        self.act("head_p", t, "approve")
        self.act("hand_p", t, "send_reply")
        return item

    def test_only_reviewed_masked_published_items(self):
        """Privacy first: the board lists an item only once a section head has published its
        masked version, never one whose citizen refused or withdrew consent, and its search
        reads the masked text only (a name or number finds nothing)."""
        shown = self.walk(True, "我是欧阳明，电话 13712345678，学院路井盖缺失。")
        waiting = self.walk(True, "我是欧阳明，电话 13712345678，北门井盖缺失。")
        refused = self.walk(False, "我是欧阳明，电话 13712345678，南门井盖缺失。")
        received = self.submit(publish=True, subject="隐私测试 未办理")
        r = self.staff["head_p"].request("PATCH", "/api/v1/items/%s/public" % shown["tracking"],
                                         json_body={"published": True})
        self.assertEqual(r.status, 200, r)
        r = self.staff["head_p"].request("PATCH", "/api/v1/items/%s/public" % refused["tracking"],
                                         json_body={"published": True})
        self.assertGreaterEqual(r.status, 400, "no consent, no publication: %r" % r)
        b = Browser(self.server)
        for path in ("/board?lang=en", "/board?q=" + urllib.parse.quote("隐私测试"),
                     "/board?q=" + urllib.parse.quote("井盖缺失")):
            with self.subTest(path=path):
                self.assertEqual(b.get(path).status, 200)
                page = b.text()
                self.assertIn(shown["tracking"], page)
                self.assertIn("学院路井盖缺失", page)
                self.assertIn("井盖已更换", page, "with its reply")
                for t in (waiting, refused, received):
                    self.assertNotIn(t["tracking"], page)
                for private in ("北门", "南门", "未办理", "欧阳明", "13712345678"):
                    self.assertNotIn(private, page)
                self.assertIn("137****5678", page, "the number masked")
        # Chinese text on the English page carries its lang (a screen reader's voice)
        b.get("/board?lang=en")
        self.assertRegex(b.text(), r'<div class="text" lang="zh">[^<]*学院路井盖缺失')
        self.assertRegex(b.text(), r'<div class="text reply" lang="zh">[^<]*井盖已更换')
        b.get("/board?lang=zh-Hans")
        self.assertNotIn('lang="zh"', b.text().split("<main")[1], "the page's own language")
        for q in ("欧阳明", "13712345678", "北门井盖"):
            with self.subTest(q=q):
                b.get("/board?q=" + urllib.parse.quote(q))
                self.assertNotIn("隐私测试", b.text(), "the search reads the masked text only")
                self.assertIn('class="empty"', b.text())
        # the language links keep the search
        b.get("/board?q=" + urllib.parse.quote("井盖缺失"))
        self.assertIn('href="/board?lang=zh-Hant&amp;q=%E4%BA%95%E7%9B%96%E7%BC%BA%E5%A4%B1"',
                      b.text())
        # the citizen withdraws the consent: the item leaves the board at once
        c = self.citizen()
        self.track(c, shown)
        r = c.post("/track", {"action": "withdraw_consent", "tracking": shown["tracking"],
                              "code": shown["query_code"], "confirm": "1"})
        self.assertEqual(r.status, 200, c.text())
        b.get("/board?q=" + urllib.parse.quote("隐私测试"))
        self.assertNotIn(shown["tracking"], b.text())
        b.get("/board")
        self.assertNotIn(shown["tracking"], b.text())
        r = self.server.request("GET", "/api/v1/public/items/" + shown["tracking"])
        self.assertEqual(r.status, 404)


    def test_paging_keeps_the_search(self):
        """21 published replies found by one word: 20 on the first page, the next page (its
        link keeps the search and the kind) has the last, in the board's order, newest reply
        first, and the first-page link comes back."""
        made = []
        for i in range(21):
            r = self.server.request("POST", "/api/v1/items", json_body={
                "kind": "complaint", "subject": "翻页测试 第%d号" % i, "body": "人行道上的共享单车。",
                "phone": "13812345678", "publish": True})
            self.assertEqual(r.status, 201, r)
            t = r.json()["tracking"]
            self.act("disp_p", t, "assign", section=SECTION)
            self.act("hand_p", t, "accept")
            self.act("hand_p", t, "draft", text="已清理。")
            self.act("hand_p", t, "submit_review")
            self.act("head_p", t, "approve")
            self.act("hand_p", t, "send_reply")
            r = self.staff["head_p"].request("PATCH", "/api/v1/items/%s/public" % t,
                                             json_body={"published": True})
            self.assertEqual(r.status, 200, r)
            made.append(t)
        b = Browser(self.server)
        b.get("/board?lang=en&kind=complaint&q=" + urllib.parse.quote("翻页测试"))
        first = re.findall(r'<span class="code">(XJ-[0-9-]+)</span>', b.text())
        self.assertEqual(len(first), 20, b.text()[:3000])
        m = re.search(r'<a href="([^"]+)" rel="next">', b.text())
        self.assertTrue(m, "a next link")
        nxt = html.unescape(m.group(1))
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(nxt).query)
        self.assertEqual((q["q"], q["kind"]), (["翻页测试"], ["complaint"]), nxt)
        b.get(nxt)
        second = re.findall(r'<span class="code">(XJ-[0-9-]+)</span>', b.text())
        self.assertEqual(len(second), 1)
        self.assertEqual(sorted(first + second), sorted(made), "every one once")
        self.assertEqual(second, [made[0]], "the oldest reply last")
        self.assertNotIn('rel="next"', b.text())
        m = re.search(r'<nav aria-label="[^"]+" class="pager">\s*<a href="([^"]+)">', b.text())
        self.assertTrue(m, "a first-page link in the pager")
        b.get(html.unescape(m.group(1)))
        self.assertEqual(re.findall(r'<span class="code">(XJ-[0-9-]+)</span>', b.text()), first)

        # the title names the search and, past the first, the page (the first thing a screen
        # reader says, and what the history and the tabs list), in the page's language
        def title(path):
            b.get(path)
            return html.unescape(re.search(r"<title>(.*?)</title>", b.text()).group(1))
        q = urllib.parse.quote("翻页测试")
        self.assertEqual(title("/board?lang=en"), "Published replies · Citizen Service Desk")
        self.assertEqual(title("/board?lang=en&kind=complaint&q=" + q),
                         "Search results for “翻页测试” · Complaint or report · Published replies · "
                         "Citizen Service Desk")
        nxt = html.unescape(re.search(r'<a href="([^"]+)" rel="next">', b.text()).group(1))
        self.assertEqual(title(nxt), "Search results for “翻页测试” · Complaint or report · Page 2 · "
                         "Published replies · Citizen Service Desk")
        self.assertIn("<title>「翻页测试」的搜尋結果 · ", b.get("/board?lang=zh-Hant&q=" + q)
                      and b.text())
        self.assertIn("<title>“翻页测试”的搜索结果 · 投诉举报 · 第 2 页 · ",
                      b.get(nxt.replace("/board?", "/board?lang=zh-Hans&")) and b.text())
        # the language links keep the page's number with its cursor
        links = re.findall(r'<a href="([^"]+)" lang="en"', b.text())
        self.assertTrue(links and "page=2" in html.unescape(links[0]), links)
        # a page number not believed (no cursor, or not a number) is not shown
        self.assertNotIn("Page", title("/board?lang=en&page=7"))
        self.assertNotIn("Page", title(nxt.replace("page=2", "page=x") + "&lang=en"))
        # the search is escaped in the title like everywhere
        b.get("/board?lang=en&q=" + urllib.parse.quote("</title><b>"))
        self.assertIn("<title>Search results for “&lt;/title&gt;&lt;b&gt;” · ", b.text())


class Static(Base):
    def test_gzip_etag(self):
        plain = self.server.request("GET", "/static/style.css")
        self.assertEqual(plain.status, 200)
        self.assertIsNone(plain.header("Content-Encoding"))
        self.assertEqual(plain.header("Vary"), "Accept-Encoding")
        z = self.server.request("GET", "/static/style.css",
                                headers={"Accept-Encoding": "br;q=1, gzip;q=0.5"})
        self.assertEqual(z.status, 200)
        self.assertEqual(z.header("Content-Encoding"), "gzip")
        self.assertEqual(gzip.decompress(z.body), plain.body)
        self.assertLess(len(z.body), len(plain.body))
        self.assertNotEqual(z.header("ETag"), plain.header("ETag"))
        for ae in ("gzip;q=0", "identity", "*;q=0", "deflate"):
            r = self.server.request("GET", "/static/style.css", headers={"Accept-Encoding": ae})
            self.assertIsNone(r.header("Content-Encoding"), ae)
        r = self.server.request("GET", "/static/style.css", headers={"Accept-Encoding": "*"})
        self.assertEqual(r.header("Content-Encoding"), "gzip")
        # each form answers 304 to its own ETag only
        r = self.server.request("GET", "/static/style.css", headers={
            "Accept-Encoding": "gzip", "If-None-Match": z.header("ETag")})
        self.assertEqual(r.status, 304)
        self.assertEqual(r.body, b"")
        r = self.server.request("GET", "/static/style.css", headers={
            "Accept-Encoding": "gzip", "If-None-Match": plain.header("ETag")})
        self.assertEqual(r.status, 200)
        r = self.server.request("GET", "/static/style.css", headers={
            "If-None-Match": '"x", W/%s' % plain.header("ETag")})
        self.assertEqual(r.status, 304)
        self.assertEqual(self.server.request("GET", "/static/style.css.gz").status, 404)

    def test_html_errors_in_the_language(self):
        b = Browser(self.server)
        b.get("/?lang=zh-Hant")
        r = b.get("/no/such/page")
        self.assertEqual(r.status, 404)
        self.assertTrue(r.header("Content-Type").startswith("text/html"))
        self.assertIn('<html lang="zh-Hant">', b.text())
        self.assertIn("找不到頁面", b.text())
        self.assertIn("frame-ancestors 'none'", r.header("Content-Security-Policy"))
        r = b.request("DELETE", "/board")
        self.assertEqual(r.status, 405)
        self.assertIn("GET", r.header("Allow"))
        self.assertIn('<html lang="zh-Hant">', b.text())
        r = b.request("POST", "/submit?lang=en", headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Content-Length": str(200 * 1024 * 1024), "Expect": "100-continue"})
        self.assertEqual(r.status, 413)
        self.assertIn('<html lang="en">', b.text())
        # the API keeps its JSON errors
        r = self.server.request("GET", "/api/v1/nothing")
        self.assertEqual(r.status, 404)
        self.assertEqual(r.json()["error"]["code"], "not_found")
        r = self.server.request("GET", "/open311/v2/nothing.json")
        self.assertEqual(r.status, 404)
        self.assertTrue(r.header("Content-Type").startswith("application/json"))


class SubmitLimit(unittest.TestCase):
    """The per-address submission limit on the form: a page in the visitor's language, 429 with
    Retry-After, the message in the summary and everything typed kept."""

    @classmethod
    def setUpClass(cls):
        cls.server = harness.Server(env={"CIVICDESK_SUBMIT_RATE": "2"}).start()

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def test_429_page_keeps_the_letter(self):
        b = Browser(self.server)
        fields = {"kind": "complaint", "subject": "噪音", "body": "夜間施工噪音很大。",
                  "phone": "13812345678"}
        statuses = []
        for _ in range(3):
            b.get("/submit?lang=zh-Hant")
            statuses.append(b.post_files("/submit", fields, []).status)
        self.assertEqual(statuses, [303, 303, 429])
        r = b.last
        self.assertTrue(r.header("Content-Type").startswith("text/html"))
        self.assertGreater(int(r.header("Retry-After")), 0)
        page = b.text()
        self.assertIn('<html lang="zh-Hant">', page)
        self.assertIn('id="error-summary"', page)
        self.assertIn("請稍後再試", page)
        self.assertIn('value="噪音"', page)
        self.assertIn("夜間施工噪音很大。</textarea>", page)
        self.assertIn('value="13812345678"', page)


class AttachmentKinds(unittest.TestCase):
    """The form's attachment hint and its file picker name the kinds of file attachment_types
    allows (they had said PDF, JPG, PNG, TXT, DOC, DOCX whatever it allowed): by default GIF,
    WebP and the Office files too; an administrator's shorter list, only those."""

    def page(self, env, path):
        server = harness.Server(env=env).start()
        try:
            return Browser(server).get(path).body.decode()
        finally:
            server.cleanup()

    def test_default_and_configured(self):
        page = self.page({}, "/submit?lang=zh-Hans")
        self.assertIn("支持 PDF、PNG、JPG、GIF、WebP、DOCX、XLSX、PPTX、DOC、XLS、PPT、TXT。", page)
        self.assertIn('accept=".pdf,.png,.jpg,.jpeg,.gif,.webp,.docx,.xlsx,.pptx,.doc,.xls,.ppt,'
                      '.txt"', page)
        page = self.page({"CIVICDESK_ATTACHMENT_TYPES": "jpeg,pdf"}, "/submit?lang=en")
        self.assertIn("MB together; PDF, JPG.</p>", page)
        self.assertIn('accept=".pdf,.jpg,.jpeg"', page)
        self.assertNotIn("DOCX", page)


class BoardLimit(unittest.TestCase):
    """The board page counts against public_rate with the API's public reads: past the limit a
    page in the visitor's language, 429 with Retry-After."""

    def test_429_page(self):
        srv = harness.Server(env={"CIVICDESK_PUBLIC_RATE": "3"}).start()
        try:
            b = Browser(srv)
            statuses = [b.get("/board?lang=zh-Hant").status for _ in range(2)]
            statuses.append(srv.request("GET", "/api/v1/public/items").status)
            statuses.append(b.get("/board").status)
            self.assertEqual(statuses, [200, 200, 200, 429])
            self.assertGreater(int(b.last.header("Retry-After")), 0)
            self.assertIn('<html lang="zh-Hant">', b.text())
            self.assertIn("請稍等一分鐘後再試", b.text())
            self.assertEqual(srv.request("GET", "/api/v1/public/items").status, 429)
        finally:
            srv.cleanup()


class Receipt(Base):
    def test_post_redirect_get(self):
        """A sent letter leads (303) to its receipt at /submit?done=NUMBER, shown from this
        browser's receipt cookie: reloading it shows the same receipt and sends nothing again;
        another browser, or a number that is not the cookie's, gets the empty form."""
        b = Browser(self.server)
        b.get("/submit?lang=en")
        r = b.post_files("/submit?lang=en", {"kind": "letter", "subject": "收据", "body": "刷新不重复。",
                                             "phone": "13812345678"}, [])
        self.assertEqual(r.status, 303, b.text())
        loc = r.header("Location")
        m = re.match(r"/submit\?lang=en&done=(XJ-\d{8}-\d{5})$", loc)
        self.assertTrue(m, loc)
        t = m.group(1)
        self.assertIn('id="tracking">%s<' % t, b.text(), "the 303's body is the receipt too")
        counts = []
        for _ in range(2):
            r = b.get(loc)
            self.assertEqual(r.status, 200)
            self.assertIn('id="tracking">%s<' % t, b.text())
            code = re.search(r'id="query-code">([^<]+)<', b.text()).group(1)
            counts.append(self.staff["disp_p"].request(
                "GET", "/api/v1/queue?state=all&limit=100&q=" + urllib.parse.quote("刷新不重复")).json())
        self.assertEqual([len(c["items"]) for c in counts], [1, 1], "one letter, however often shown")
        r = self.server.request("GET", "/api/v1/track/" + t, headers={"X-Query-Code": code})
        self.assertEqual(r.status, 200, "the code shown is the item's")
        other = Browser(self.server)
        other.get(loc)
        self.assertNotIn('id="query-code"', other.text())
        self.assertNotIn('id="tracking">', other.text())
        self.assertIn('name="subject"', other.text(), "the form")
        b.get("/submit?done=XJ-20200101-00001")
        self.assertNotIn('id="query-code"', b.text())

    def test_forged_receipt_cookie_counts_as_a_wrong_code(self):
        """The receipt cookie is the client's to write: a wrong code in it shows nothing and
        counts like a wrong code on /track, so it is no way around the limits on guessing."""
        item = self.submit()
        t = item["tracking"]
        b = Browser(self.server)
        for _ in range(10):
            b.cookies["civicdesk_receipt"] = t + ".WRONGWRONG12"
            b.get("/submit?done=" + t)
            self.assertNotIn('id="query-code"', b.text())
        r = self.track(self.citizen(), item)
        self.assertEqual(r.status, 429, "the number is refused from this address now")


class Admin(Base):
    def admin(self):
        b = Browser(self.server)
        b.get("/staff/login?lang=en")
        r = b.post("/staff/login", {"username": "admin_p", "password": PW})
        self.assertEqual(r.status, 303)
        b.get("/staff/admin")
        self.assertEqual(b.last.status, 200)
        return b

    def audit(self, action, target):
        return self.staff["admin_p"].request(
            "GET", "/api/v1/audit?action=%s&target=%s" % (action, urllib.parse.quote(target))
        ).json()["entries"]

    def test_forms_need_the_token(self):
        b = self.admin()
        r = b.request("POST", "/staff/admin/sections", fields={"name": "无令牌科", "csrf_token": "x"})
        self.assertEqual(r.status, 403)
        self.assertEqual(self.audit("section_add", "无令牌科"), [])
        h = Browser(self.server)
        h.get("/staff/login")
        h.post("/staff/login", {"username": "hand_p", "password": PW})
        r = h.post("/staff/admin/sections", {"name": "越权科"})
        self.assertEqual(r.status, 403)
        self.assertEqual(self.audit("section_add", "越权科"), [])

    def test_accounts(self):
        b = self.admin()
        r = b.post("/staff/admin/accounts", {"username": "1bad", "role": "handler"})
        self.assertEqual(r.status, 400)
        self.assertIn('id="new-username-error"', b.text())
        self.assertIn('value="1bad"', b.text(), "what was typed stays")
        r = b.post("/staff/admin/accounts", {"username": "new_h", "role": "handler",
                                             "section": SECTION, "email": "h@example.com"})
        self.assertEqual(r.status, 201, b.text()[-2000:])
        otp = html.unescape(re.search(r'<strong class="code" id="otp">([^<]+)<', b.text()).group(1))
        rows = self.audit("user_add", "new_h")
        self.assertEqual(len(rows), 1)
        self.assertEqual(rows[0]["actor"], "admin_p")
        r = self.server.request("POST", "/api/v1/login",
                                json_body={"username": "new_h", "password": otp})
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.json().get("must_change", r.json().get("password_change_required")),
                        r.json())
        b.get("/staff/admin")
        self.assertNotIn(otp, b.text(), "the one-time password is shown once")
        # role and section
        r = b.post("/staff/admin/accounts/new_h", {"op": "save", "role": "section_head",
                                                   "section": SECTION, "status": "active"})
        self.assertEqual(r.status, 303)
        self.assertIn("done=account_changed", r.header("Location"))
        a = self.staff["admin_p"].request("GET", "/api/v1/admin/users").json()["users"]
        me = [u for u in a if u["username"] == "new_h"][0]
        self.assertEqual(me["role"], "section_head")
        # lock it with failures, unlock through the page
        for _ in range(6):
            self.server.request("POST", "/api/v1/login",
                                json_body={"username": "new_h", "password": "wrong-Passw0rd"})
        r = b.post("/staff/admin/accounts/new_h", {"op": "unlock"})
        self.assertEqual(r.status, 303)
        self.assertIn("done=account_unlocked", r.header("Location"))
        self.assertEqual(len(self.audit("user_unlock", "new_h")), 1)
        # reset: a new one-time password, shown once
        b.get("/staff/admin")
        r = b.post("/staff/admin/accounts/new_h", {"op": "reset"})
        self.assertEqual(r.status, 200)
        otp2 = html.unescape(re.search(r'id="otp">([^<]+)<', b.text()).group(1))
        self.assertNotEqual(otp, otp2)
        r = self.server.request("POST", "/api/v1/login",
                                json_body={"username": "new_h", "password": otp2})
        self.assertEqual(r.status, 200, r)
        # suspend
        r = b.post("/staff/admin/accounts/new_h", {"op": "save", "role": "section_head",
                                                   "section": SECTION, "status": "suspended"})
        self.assertEqual(r.status, 303)
        r = self.server.request("POST", "/api/v1/login",
                                json_body={"username": "new_h", "password": otp2})
        self.assertEqual(r.status, 401)
        # no administrator demotes or suspends themself
        b.get("/staff/admin")
        r = b.post("/staff/admin/accounts/admin_p", {"op": "save", "role": "handler",
                                                     "section": "", "status": "active"})
        self.assertEqual(r.status, 400)
        self.assertIn("error-summary", b.text())
        me = [u for u in self.staff["admin_p"].request("GET", "/api/v1/admin/users").json()[
            "users"] if u["username"] == "admin_p"][0]
        self.assertEqual(me["role"], "admin")
        r = self.staff["admin_p"].request("PATCH", "/api/v1/admin/users/admin_p",
                                          json_body={"status": "suspended"})
        self.assertEqual(r.status, 400)

    def test_sections(self):
        b = self.admin()
        r = b.post("/staff/admin/sections", {"name": "信访科", "email": "xf@example.com"})
        self.assertEqual(r.status, 303)
        self.assertEqual(len(self.audit("section_add", "信访科")), 1)
        b.get("/staff/admin")
        r = b.post("/staff/admin/sections", {"name": "信访科"})
        self.assertEqual(r.status, 409)
        self.assertIn('id="new-section-name-error"', b.text())
        r = b.post("/staff/admin/sections", {"name": "x", "email": "not-an-address"})
        self.assertEqual(r.status, 400)
        self.assertIn('id="new-section-email-error"', b.text())
        secs = self.staff["admin_p"].request("GET", "/api/v1/admin/sections").json()["sections"]
        sid = [x["id"] for x in secs if x["name"] == "信访科"][0]
        b.get("/staff/admin")
        r = b.post("/staff/admin/sections/%d" % sid, {"name": "信访办", "email": ""})
        self.assertEqual(r.status, 303)
        secs = self.staff["admin_p"].request("GET", "/api/v1/admin/sections").json()["sections"]
        mine = [x for x in secs if x["id"] == sid][0]
        self.assertEqual((mine["name"], mine["email"], mine["active"]), ("信访办", None, False))
        rows = self.audit("section_update", "信访办")
        self.assertEqual(len(rows), 1)
        self.assertIn("active: 1 -> 0", rows[0]["detail"])

    def test_policies(self):
        b = self.admin()
        r = b.post("/staff/admin/policies/complaint", {"reply_days": "abc"})
        self.assertEqual(r.status, 400)
        self.assertEqual(self.audit("policy_update", "complaint"), [])
        r = b.post("/staff/admin/policies/complaint", {"reply_days": "7", "forward_days": "3"})
        self.assertEqual(r.status, 303, b.text()[-1500:])
        p = self.staff["admin_p"].request("GET", "/api/v1/admin/policies").json()["policies"]
        self.assertEqual(p["complaint"]["reply_days"], 7)
        self.assertEqual(p["complaint"]["source"]["reply_days"], "admin")
        self.assertEqual(p["complaint"]["source"]["forward_days"], "config", "unchanged: not set")
        rows = self.audit("policy_update", "complaint")
        self.assertEqual(len(rows), 1)
        self.assertEqual(rows[0]["actor"], "admin_p")
        self.assertIn("reply_days: 5 (config) -> 7 (admin)", rows[0]["detail"])
        b.get("/staff/admin")
        self.assertIn('name="reset_reply_days"', b.text())
        # the named values are chosen from a list, the effective one selected
        html = b.text()
        self.assertRegex(html, r'<select id="pol-complaint-unit" name="unit"><option '
                               r'value="working_days" selected>[^<]+</option><option '
                               r'value="calendar_days">[^<]+</option></select>')
        self.assertIn('<select id="pol-complaint-on_supplement" name="on_supplement">', html)
        self.assertNotIn('<input type="text" id="pol-complaint-unit"', html)
        r = b.post("/staff/admin/policies/complaint", {"on_forward": "restart"})
        self.assertEqual(r.status, 303, b.text()[-1500:])
        b.get("/staff/admin")
        self.assertIn('<option value="restart" selected>', b.text().split(
            'id="pol-complaint-on_forward"')[1].split("</select>")[0])
        r = b.post("/staff/admin/policies/complaint", {"reset_on_forward": "1"})
        self.assertEqual(r.status, 303)
        r = b.post("/staff/admin/policies/complaint", {"reset_reply_days": "1"})
        self.assertEqual(r.status, 303)
        p = self.staff["admin_p"].request("GET", "/api/v1/admin/policies").json()["policies"]
        self.assertEqual((p["complaint"]["reply_days"], p["complaint"]["source"]["reply_days"]),
                         (5, "config"))

    def test_outbox_counts_as_the_api(self):
        """/staff/admin shows the outbox's count in each state, dropped included, as
        GET /api/v1/admin/outbox counts them."""
        import sqlite3
        with sqlite3.connect(self.server.db) as d:
            for i, state in enumerate(("dropped", "dropped", "failed")):
                d.execute("INSERT INTO outbox (item_id, clock, step, channel, recipient, body, "
                          "created, send_after, give_up_at) VALUES (NULL, NULL, ?, 'email', "
                          "'x@example.com', 'x', 1, 1, 2)", ("test/counts/%d" % i,))
                d.execute("UPDATE outbox SET state = ?, last_error = 'test' WHERE id = "
                          "(SELECT max(id) FROM outbox)", (state,))
        c = self.staff["admin_p"].request("GET", "/api/v1/admin/outbox").json()["counts"]
        self.assertGreaterEqual(c["dropped"], 2)
        b = self.admin()
        self.assertIn("Pending %d, sent %d, failed %d, dropped %d." % (
            c["pending"], c["sent"], c["failed"], c["dropped"]), b.text())
        b.get("/staff/admin?lang=zh-Hans")
        self.assertIn("已作废 %d" % c["dropped"], b.text())

    def test_outbox_channels_and_steps_in_words(self):
        """The failed notices' channel and step are words in the page's language (they were the
        notifiers' names: email, overdue/2025-10-14), with the clock and due date a clock's
        notice is about."""
        import sqlite3
        rows = [("overdue/2025-10-14", "reply", "email", "head@example.com"),
                ("escalate/2025-10-14/2025-10-16", "forward", "sms", "13800000077"),
                ("ack", None, "email", "citizen@example.com"),
                ("digest/2025-W42", None, "email", "digest@example.com"),
                ("something-new/1", None, "email", "new@example.com")]
        with sqlite3.connect(self.server.db) as d:
            for step, clock, channel, to in rows:
                d.execute("INSERT INTO outbox (item_id, clock, step, channel, recipient, body, "
                          "created, send_after, attempts, state, last_error, give_up_at) "
                          "VALUES (NULL, ?, ?, ?, ?, 'x', 1, 1, 3, 'pending', NULL, 2)",
                          (clock, step, channel, to))
                d.execute("UPDATE outbox SET state = 'failed', last_error = 'test words' "
                          "WHERE id = (SELECT max(id) FROM outbox)")
        want = {
            "en": {"head@example.com": ("E-mail", "Overdue notice (section head) (Reply due by "
                                        "2025-10-14)"),
                   "13800000077": ("SMS", "Escalation (supervisor) (Forward to the section by "
                                   "2025-10-14)"),
                   "citizen@example.com": ("E-mail", "Acknowledgement to the citizen"),
                   "digest@example.com": ("E-mail", "Weekly digest"),
                   "new@example.com": ("E-mail", "Other notice")},
            "zh-Hans": {"head@example.com": ("电子邮件", "逾期通知（科室负责人） (答复期限 2025-10-14)"),
                        "13800000077": ("短信", "逾期上报（主管领导） (转交期限 2025-10-14)"),
                        "citizen@example.com": ("电子邮件", "收件回执")},
            "zh-Hant": {"head@example.com": ("電子郵件", "逾期通知（科室負責人） (答覆期限 2025-10-14)"),
                        "13800000077": ("簡訊", "逾期上報（主管領導） (轉交期限 2025-10-14)"),
                        "digest@example.com": ("電子郵件", "每週待辦彙總")},
        }
        b = self.admin()
        for lang, cells in want.items():
            b.get("/staff/admin?lang=" + lang)
            table = b.text().split('<table class="outbox">')[1].split("</table>")[0]
            shown = {html.unescape(to): (html.unescape(ch), html.unescape(st)) for ch, to, st in
                     re.findall(r'<td>([^<]*)</td><td>([^<]*)</td><td class="step">([^<]*)</td>',
                                table)}
            for to, words in cells.items():
                self.assertEqual(shown.get(to), words, lang)
            for raw in ("overdue/", "escalate/", ">email<", ">sms<", ">ack<", "digest/"):
                self.assertNotIn(raw, table, lang)

    def test_audit_actions_in_words(self):
        """The audit log names each action in words of the page's language (they were the raw
        names: login_failed, outbox_retry), with the raw name on a second line for whoever
        searches the logs with it; an action without words shows its name alone."""
        import sqlite3
        bad = Browser(self.server)
        bad.get("/staff/login?lang=en")
        bad.post("/staff/login", {"username": "hand_p", "password": "not-the-password"})
        with sqlite3.connect(self.server.db) as d:
            # a name no catalogue knows (written by a newer version, say), straight into the log
            # as audit_write does it (the chain is not checked by the page)
            d.execute("INSERT INTO audit (at, actor, action, target, ok) "
                      "VALUES (strftime('%s','now'), 'system', 'made_up_action', 'x', 1)")
        want = {"en": "Sign-in failed", "zh-Hans": "登录失败", "zh-Hant": "登入失敗"}
        b = self.admin()
        for lang, words in want.items():
            b.get("/staff/admin?lang=%s&actor=hand_p" % lang)
            table = b.text().split('<table class="audit">')[1].split("</table>")[0]
            cells = re.findall(r'<td class="action">(.*?)</td>', table)
            self.assertTrue(cells, lang)
            self.assertIn('<span class="action-words">%s</span> <code class="action-name" '
                          'lang="en">login_failed</code>' % words, cells, lang)
        b.get("/staff/admin?lang=zh-Hans&action=made_up_action")
        table = b.text().split('<table class="audit">')[1].split("</table>")[0]
        self.assertIn('<td class="action"><code class="action-name" lang="en">made_up_action'
                      '</code></td>', table)

    def test_outbox_retry_and_audit_filters(self):
        import sqlite3
        with sqlite3.connect(self.server.db) as d:
            # written pending and then failed, as the dispatcher does (schema 025 counts and
            # lists failed rows as they change state)
            d.execute("INSERT INTO outbox (item_id, clock, step, channel, recipient, body, "
                      "created, send_after, attempts, state, last_error, give_up_at) VALUES "
                      "(NULL, NULL, 'test/page', 'sms', '13800000099', 'x', 1, 1, 3, 'pending', "
                      "NULL, 2)")
            oid = d.execute("SELECT max(id) FROM outbox").fetchone()[0]
            d.execute("UPDATE outbox SET state = 'failed', last_error = 'gateway said 400' "
                      "WHERE id = ?", (oid,))
        b = self.admin()
        self.assertIn("gateway said 400", b.text())
        r = b.post("/staff/admin/outbox/%d/retry" % oid, {})
        self.assertEqual(r.status, 303)
        self.assertEqual(len(self.audit("outbox_retry", "13800000099")), 1)
        b.get("/staff/admin")
        r = b.post("/staff/admin/outbox/%d/retry" % oid, {})
        self.assertIn(r.status, (303, 409), "pending again: a second retry is refused")
        # the audit log filtered by action, target and dates
        r = b.get("/staff/admin?action=outbox_retry&target=13800000099")
        rows = re.findall(r'<tr><td>[^<]*</td><td>([^<]*)</td><td class="action">.*?'
                          r'<code class="action-name" lang="en">([^<]*)</code>',
                          b.text().split('<table class="audit">')[1])
        self.assertTrue(rows and all(a == "outbox_retry" for _, a in rows), rows)
        r = b.get("/staff/admin?action=outbox_retry&from=2000-01-01&to=2000-01-02")
        self.assertNotIn("13800000099</td><td>", b.text().split('<table class="audit">')[1])
        r = b.get("/staff/admin?from=yesterday")
        self.assertIn('id="from-error"', b.text())

    def test_retry_every_given_up_notice_of_a_channel(self):
        """The outbox part has a button per channel that sends again every notice the
        dispatcher gave up on (as POST /api/v1/admin/outbox/retry): the e-mail one takes the
        given-up e-mails only (not one a server refused for good, nor the SMS), audited once, and
        the page says how many, in the page's language; a supervisor is refused (403)."""
        import sqlite3
        rows = [("email", "gu1@example.com", "gave up after 2 attempts: connection refused"),
                ("email", "gu2@example.com", "gave up after 3 attempts: 421 busy"),
                ("email", "gu3@example.com", "SMTP 550 no such user"),
                ("sms", "13800000055", "gave up after 2 attempts: gateway down")]
        ids = {}
        with sqlite3.connect(self.server.db) as d:
            for channel, to, error in rows:
                d.execute("INSERT INTO outbox (item_id, clock, step, channel, recipient, body, "
                          "created, send_after, attempts, state, last_error, give_up_at) VALUES "
                          "(NULL, NULL, 'test/given-up', ?, ?, 'x', 1, 1, 2, 'pending', NULL, 2)",
                          (channel, to))
                ids[to] = d.execute("SELECT max(id) FROM outbox").fetchone()[0]
                d.execute("UPDATE outbox SET state = 'failed', last_error = ? WHERE id = ?",
                          (error, ids[to]))

        def state(to):
            with sqlite3.connect(self.server.db) as d:
                return d.execute("SELECT state FROM outbox WHERE id = ?", (ids[to],)).fetchone()[0]

        sup = Browser(self.server)
        sup.get("/staff/login?lang=en")
        self.assertEqual(sup.post("/staff/login", {"username": "sup_p", "password": PW}).status,
                         303)
        sup.get("/staff/")
        r = sup.post("/staff/admin/outbox/retry", {"channel": "email"})
        self.assertEqual(r.status, 403)
        self.assertEqual(state("gu1@example.com"), "failed", "nothing changed")

        b = self.admin()
        page = b.text()
        forms = {re.search(r'name="channel" value="([^"]*)"', f).group(1): f for f in re.findall(
            r'<form method="post" action="/staff/admin/outbox/retry"[^>]*>(.*?)</form>',
            page.split('id="outbox-title"')[1], re.S)}
        self.assertEqual(sorted(forms), ["email", "sms"])
        for channel, label in (("email", "Send again every given-up e-mail"),
                               ("sms", "Send again every given-up SMS")):
            self.assertIn('name="csrf_token"', forms[channel], channel)
            self.assertIn('<button type="submit" class="button" aria-describedby="given-up-hint">'
                          '%s</button>' % label, forms[channel], channel)
        self.assertIn('id="given-up-hint"', page)
        r = b.request("POST", "/staff/admin/outbox/retry",
                      fields={"channel": "email", "csrf_token": "x"})
        self.assertEqual(r.status, 403, "the form token is needed")
        b.get("/staff/admin")
        r = b.post("/staff/admin/outbox/retry", {"channel": "fax"})
        self.assertEqual(r.status, 400)
        b.get("/staff/admin")
        r = b.post("/staff/admin/outbox/retry", {"channel": "email"})
        self.assertEqual(r.status, 303, b.text())
        self.assertEqual(r.header("Location"), "/staff/admin?done=given_up_email&n=2#flash")
        self.assertNotEqual(state("gu1@example.com"), "failed")
        self.assertNotEqual(state("gu2@example.com"), "failed")
        self.assertEqual(state("gu3@example.com"), "failed", "refused for good: not retried")
        self.assertEqual(state("13800000055"), "failed", "the other channel: not retried")
        self.assertEqual([(e["actor"], e["detail"]) for e in self.audit(
            "outbox_retry_given_up", "email")], [("admin_p", "2 given-up notices pending again")])
        b.get(r.header("Location").split("#")[0])  # as a browser: no fragment
        self.assertIn('<p class="notice" role="status" id="flash" data-announce>Given-up e-mails sent again: '
                      '2.</p>', b.text())
        b.get("/staff/admin?lang=zh-Hant")
        self.assertIn("重新發送全部已放棄的簡訊</button>", b.text())
        r = b.post("/staff/admin/outbox/retry", {"channel": "sms"})
        self.assertEqual(r.status, 303)
        b.get(r.header("Location").split("#")[0])  # as a browser: no fragment
        self.assertIn('id="flash" data-announce>已放棄的簡訊將重新發送：1 則。</p>', b.text())
        self.assertNotEqual(state("13800000055"), "failed")
        b.get("/staff/admin?lang=zh-Hans")
        r = b.post("/staff/admin/outbox/retry", {"channel": "sms"})
        b.get(r.header("Location").split("#")[0])  # as a browser: no fragment
        self.assertIn('id="flash" data-announce>已放弃的短信将重新发送：0 条。</p>', b.text(), "none left")


def audit_actions(root):
    """Every audit action name the C source writes: {name: "file:line"}, the places whose
    action this cannot follow, and the names of the history rows among them (the staff item
    page's timeline names those). It reads the calls of audit_write and of the functions that pass
    their action on to it (their argument: a literal, or the ?: branches of one), the history
    rows' actions (txn_commit audits h->action; txn_history_same_state fills one), local
    variables named action, and the workflow table's names (actions.c audits t->name)."""
    funnels = {"audit_write": 3, "audit_read": 3, "audit_log": 1, "audit_refused": 4,
               "txn_write_rows": 2, "txn_commit_rows": 2, "history_row": 3,
               "txn_history_same_state": 3}
    followed = {"action", "t->name", "h->action"}
    value = re.compile(r'(?:^|[?:]|\(char \*\))\s*"((?:[^"\\]|\\.)*)"')

    def uncomment(s):
        out, i, n = [], 0, len(s)
        while i < n:
            c = s[i]
            if c in "\"'":
                j = i + 1
                while j < n and s[j] != c:
                    j += 2 if s[j] == "\\" else 1
                out.append(s[i:j + 1])
                i = j + 1
            elif s.startswith("/*", i):
                j = s.find("*/", i + 2)
                out.append(" ")
                i = n if j < 0 else j + 2
            elif s.startswith("//", i):
                j = s.find("\n", i)
                i = n if j < 0 else j
            else:
                out.append(c)
                i += 1
        return "".join(out)

    def args(s, i):
        depth, cur, out = 0, [], []
        while i < len(s):
            c = s[i]
            if c == '"':
                k = i + 1
                while s[k] != '"':
                    k += 2 if s[k] == "\\" else 1
                cur.append(s[i:k + 1])
                i = k + 1
                continue
            if c in "([{":
                depth += 1
            elif c in ")]}":
                if depth == 0:
                    out.append("".join(cur).strip())
                    return out
                depth -= 1
            elif c == "," and depth == 0:
                out.append("".join(cur).strip())
                cur = []
                i += 1
                continue
            cur.append(c)
            i += 1
        return out

    names, unfollowed, history = {}, [], set()
    call = re.compile(r"\b(%s)\s*\(" % "|".join(funnels))
    for top in ("service", "notifiers"):
        for d, _, files in os.walk(os.path.join(root, top)):
            for f in sorted(files):
                if not f.endswith(".c"):
                    continue
                path = os.path.join(d, f)
                with open(path, encoding="utf-8") as fh:
                    src = uncomment(fh.read())
                rel = os.path.relpath(path, root)

                def where(at):
                    return "%s:%d" % (rel, src.count("\n", 0, at) + 1)
                for m in call.finditer(src):
                    before = src[src.rfind("\n", 0, m.start()) + 1:m.start()]
                    if before == "" or re.match(r"^\s*(static\s+)?(const\s+)?"
                                                r"(int|void|struct\s+\w+)\s*\**\s*$", before):
                        continue  # its definition (the name at the start of the line)
                    arg = args(src, m.end())[funnels[m.group(1)]]
                    lits = value.findall(arg)
                    for lit in lits:
                        names.setdefault(lit, where(m.start()))
                        if m.group(1) in ("history_row", "txn_history_same_state"):
                            history.add(lit)
                    if not lits and arg not in followed:
                        unfollowed.append("%s: %s(... %s ...)" % (where(m.start()),
                                                                  m.group(1), arg))
                for m in re.finditer(r"(\.|->|\b)action\s*=\s*([^;=][^;]*);", src):
                    for lit in value.findall(m.group(2).strip()):
                        names.setdefault(lit, where(m.start()))
                        if m.group(1) in (".", "->"):  # a history row's (a local's: audit only)
                            history.add(lit)
                for m in re.finditer(r'\[WF_\w+\]\s*=\s*\{\s*WF_\w+\s*,\s*"(\w+)"', src):
                    names.setdefault(m.group(1), where(m.start()))
                    history.add(m.group(1))
    return names, unfollowed, history


class AuditActions(unittest.TestCase):
    """Every action name the code writes to the audit log has its words (audit.NAME) in the
    three catalogues, for the admin page's audit log."""

    ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")

    @staticmethod
    def keys(lang):
        with open(os.path.join(AuditActions.ROOT, "web", "i18n", lang + ".txt"),
                  encoding="utf-8") as f:
            return {line.split("=", 1)[0].strip() for line in f
                    if "=" in line and not line.startswith("#")}

    def test_every_history_action_has_words(self):
        """The staff item page's timeline names each row's action in words (action.NAME): the
        rows of screening, virus scans, skipped acknowledgements and confirmed ratings showed
        their raw names."""
        _, _, history = audit_actions(self.ROOT)
        for known in ("screened", "attachment_refused", "confirm_rating", "assign", "rate"):
            self.assertIn(known, history)
        for lang in ("zh-Hans", "zh-Hant", "en"):
            keys = self.keys(lang)
            self.assertEqual(sorted(n for n in history if "action." + n not in keys), [],
                             "%s.txt lacks action.NAME for" % lang)

    def test_every_action_has_words(self):
        names, unfollowed, _ = audit_actions(self.ROOT)
        self.assertEqual(unfollowed, [], "audit actions this test cannot follow: teach "
                         "audit_actions() where they come from")
        # the enumeration finds what it should (were it to find nothing, it would pass)
        for known in ("login_failed", "mail_refused", "outbox_retry", "assign", "send_reply",
                      "user_suspend", "read_item", "screening_cleared", "rate"):
            self.assertIn(known, names)
        self.assertGreater(len(names), 50)
        for lang in ("zh-Hans", "zh-Hant", "en"):
            keys = self.keys(lang)
            missing = ["%s (%s)" % (n, at) for n, at in sorted(names.items())
                       if "audit." + n not in keys]
            self.assertEqual(missing, [], "%s.txt lacks audit.NAME for" % lang)


class Calendar(Base):
    def test_upload_with_faults_by_line(self):
        b = Browser(self.server)
        b.get("/staff/login?lang=en")
        b.post("/staff/login", {"username": "admin_p", "password": PW})
        b.get("/staff/admin")
        last = re.search(r'<time datetime="(\d{4})-12-31">', b.text()).group(1)
        year = int(last) + 1
        # faults: nothing changes, each listed with its line
        bad = ("# %d\n%d-02-30 off 春节\n%d-01-01 off 元旦\nnonsense\n" % (year, year, year))
        r = b.post_files("/staff/admin/calendar", {},
                         [("calendar", "%d.txt" % year, "text/plain", bad.encode())])
        self.assertEqual(r.status, 400, b.text()[-2000:])
        self.assertIn('id="calendar-error"', b.text())
        table = b.text().split('<table class="cal-faults">')[1].split("</table>")[0]
        lines = re.findall(r"<tr><td>%d\.txt</td><td>(\d+)</td><td>([^<]+)</td>" % year, table)
        self.assertEqual([int(n) for n, _ in lines], [2, 4], table)
        self.assertIn('<time datetime="%s-12-31">' % last, b.text(), "coverage unchanged")
        self.assertEqual(self.staff["admin_p"].request(
            "GET", "/api/v1/audit?action=calendar_load").json()["entries"], [])
        # the year's file: loaded, covered, audited
        good = "%d-01-01 off 元旦\n" % year
        r = b.post_files("/staff/admin/calendar", {},
                         [("calendar", "%d.txt" % year, "text/plain", good.encode())])
        self.assertEqual(r.status, 200, b.text()[-2000:])
        self.assertIn('id="cal-report"', b.text())
        self.assertIn('<time datetime="%d-12-31">' % year, b.text())
        h = self.server.request("GET", "/api/v1/health").json()
        self.assertEqual(h["calendar"]["last"], "%d-12-31" % year)
        rows = self.staff["admin_p"].request("GET", "/api/v1/audit?action=calendar_load").json()
        self.assertEqual(len(rows["entries"]), 1, rows)
        self.assertEqual(rows["entries"][0]["actor"], "admin_p")
        # none chosen
        r = b.post_files("/staff/admin/calendar", {}, [])
        self.assertEqual(r.status, 400)


def qr_decode(svg):
    """What zbarimg (Debian's zbar-tools; tools/deps test) reads from the QR code of an SVG as
    /staff/totp draws it: one path of runs of black modules ("MX Yh N v1h-Nz") in a viewBox of
    modules, redrawn here as a bitmap (PBM) of 4 pixels a module; the decoding is zbar's."""
    import shutil
    import subprocess
    import tempfile
    assert shutil.which("zbarimg"), "zbarimg is missing: run tools/deps test (zbar-tools)"
    n = int(re.search(r'viewBox="0 0 (\d+) \1"', svg).group(1))
    grid = [[0] * n for _ in range(n)]
    for x, y, run in re.findall(r"M(\d+) (\d+)h(\d+)v1h-\d+z", svg):
        for i in range(int(run)):
            grid[int(y)][int(x) + i] = 1
    scale = 4
    rows = []
    for r in grid:
        rows += [" ".join(str(v) for v in r for _ in range(scale))] * scale
    with tempfile.NamedTemporaryFile("w", suffix=".pbm", delete=False) as f:
        f.write("P1\n%d %d\n%s\n" % (n * scale, n * scale, "\n".join(rows)))
    try:
        r = subprocess.run(["zbarimg", "--raw", "-q", f.name], capture_output=True, text=True,
                           timeout=60)
    finally:
        os.unlink(f.name)
    assert r.returncode == 0, "zbarimg found no code: %s" % r.stderr[-300:]
    return r.stdout.strip()


class SignIn(unittest.TestCase):
    """The staff sign-in page with the second factor and the address throttle (own daemons:
    the throttle counts every failure from 127.0.0.1)."""

    def test_throttled_address_gets_429_not_a_crash(self):
        srv = harness.Server().start()
        try:
            b = Browser(srv)
            b.get("/staff/login?lang=en")
            statuses = []
            for i in range(24):
                r = b.post("/staff/login", {"username": "nobody%d" % i, "password": "Wrong-pass1"})
                statuses.append(r.status)
                if r.status == 429:
                    break
            self.assertEqual(statuses[-1], 429, statuses)
            self.assertTrue(r.header("Retry-After"))
            self.assertIn('<html lang="en">', b.text())
            self.assertIn("error-summary", b.text())
            self.assertEqual(srv.request("GET", "/api/v1/health").status, 200, "still serving")
        finally:
            srv.cleanup()

    def test_second_factor_grace_period_notice(self):
        """A new account of a role that needs a second factor works during its grace period
        (totp_grace): every staff page says until when, linking to /staff/totp."""
        srv = harness.Server(env={"CIVICDESK_TOTP_ROLES": None,
                                  "CIVICDESK_TOTP_GRACE": "86400"}).start()
        try:
            srv.set_clock("2025-11-05T10:00")
            srv.add_user("grace_p", "supervisor", password=PW)
            b = Browser(srv)
            b.get("/staff/login?lang=en")
            r = b.post("/staff/login", {"username": "grace_p", "password": PW})
            self.assertEqual((r.status, r.header("Location")), (303, "/staff/"))
            for path in ("/staff/", "/staff/dashboard"):
                r = b.get(path)
                self.assertEqual(r.status, 200, path)
                notice = re.search(r'<p class="notice" role="status" id="enroll-notice">(.*?)</p>',
                                   b.text(), re.S)
                self.assertIsNotNone(notice, path)
                self.assertIn("2025-11-06 10:00", notice.group(1))
                self.assertIn('href="/staff/totp"', notice.group(1))
            b.get("/staff/?lang=zh-Hans")
            self.assertIn("之前完成绑定", b.text())
            # once the grace is over, the staff pages wait for the enrolment
            srv.set_clock("2025-11-06T10:01")
            b = Browser(srv)
            b.get("/staff/login?lang=en")
            r = b.post("/staff/login", {"username": "grace_p", "password": PW})
            self.assertEqual((r.status, r.header("Location")), (303, "/staff/totp"))
            r = b.get("/staff/")
            self.assertEqual((r.status, r.header("Location")), (303, "/staff/totp"))
            b.get("/staff/totp")
            self.assertNotIn('id="enroll-notice"', b.text())
            self.assertIn("Your role needs a second factor: enrol an authenticator app now",
                          b.text())
        finally:
            srv.cleanup()

    def test_second_factor_and_enrolment(self):
        import base64
        import hashlib
        import hmac
        import struct

        def totp(secret, now):
            key = base64.b32decode(secret + "=" * (-len(secret) % 8))
            mac = hmac.new(key, struct.pack(">Q", now // 30), hashlib.sha1).digest()
            off = mac[-1] & 0x0F
            return "%06d" % ((struct.unpack(">I", mac[off:off + 4])[0] & 0x7FFFFFFF) % 10**6)

        t0 = 1790000000
        # the built-in roles that need a second factor, without a grace period for new accounts
        srv = harness.Server(env={"CIVICDESK_TOTP_ROLES": None,
                                  "CIVICDESK_TOTP_GRACE": "0"}).start()
        try:
            srv.set_clock(t0)
            srv.add_user("root_p", "admin", password=PW)
            b = Browser(srv)
            b.get("/staff/login?lang=en")
            r = b.post("/staff/login", {"username": "root_p", "password": PW})
            self.assertEqual(r.status, 303)
            self.assertEqual(r.header("Location"), "/staff/totp", "sent to the enrolment")
            for path in ("/staff/admin", "/staff/"):
                r = b.get(path)
                self.assertEqual(r.status, 303, "no staff page before the second factor")
                self.assertEqual(r.header("Location"), "/staff/totp")
            r = b.get("/staff/totp")
            self.assertEqual(r.status, 200)
            self.assertEqual(r.header("Cache-Control"), "no-store")
            self.assertIn('id="totp-start"', b.text())
            self.assertNotIn("<svg", b.text())
            # the start needs the session's form token
            r = b.post("/staff/totp/enroll", {"csrf_token": "x" * 43})
            self.assertEqual(r.status, 403)
            self.assertNotIn("<svg", b.text())
            b.get("/staff/totp")
            r = b.post("/staff/totp/enroll", {})
            self.assertEqual(r.status, 200, b.text()[-1500:])
            page = b.text()
            # the key grouped for typing, the otpauth:// URI (escaped in HTML), its QR code
            groups = html.unescape(re.search(r'id="totp-secret">([^<]*)<', page).group(1))
            self.assertRegex(groups, r"^([A-Z2-7]{4} ){7}[A-Z2-7]{4}$")
            secret = groups.replace(" ", "")
            uri = html.unescape(re.search(r'id="totp-uri">([^<]*)<', page).group(1))
            u = urllib.parse.urlsplit(uri)
            self.assertEqual((u.scheme, u.netloc), ("otpauth", "totp"))
            self.assertEqual(urllib.parse.unquote(u.path), "/civicdesk:root_p")
            q = dict(urllib.parse.parse_qsl(u.query))
            self.assertEqual(q, {"secret": secret, "issuer": "civicdesk", "algorithm": "SHA1",
                                 "digits": "6", "period": "30"})
            self.assertIn('href="%s"' % html.escape(uri, quote=True), page)
            svg = re.search(r"<svg[^>]*>.*?</svg>", page, re.S)
            self.assertIsNotNone(svg, "an inline SVG QR code")
            self.assertIn('role="img"', svg.group(0))
            self.assertIn('aria-labelledby="qr-caption"', svg.group(0))
            self.assertIn('id="qr-caption"', page)
            self.assertRegex(svg.group(0), r'<path fill="#000" d="(M\d+ \d+h\d+v1h-\d+z){100,}"')
            self.assertNotIn("<script", svg.group(0))
            # the QR code encodes the URI: its modules drawn into a bitmap, read by zbarimg
            self.assertEqual(qr_decode(svg.group(0)), uri)
            # a reload shows the same key until it is confirmed
            b.get("/staff/totp")
            self.assertIn(groups, html.unescape(b.text()))
            # a wrong code: the key again, the field marked
            r = b.post("/staff/totp/confirm", {"code": "000000"
                                               if totp(secret, t0) != "000000" else "111111"})
            self.assertEqual(r.status, 400)
            self.assertIn('id="code-error"', b.text())
            self.assertIn('aria-invalid="true"', b.text())
            self.assertIn(groups, html.unescape(b.text()))
            self.assertEqual(b.get("/staff/").status, 303, "still not enrolled")
            r = b.post("/staff/totp/confirm", {"code": totp(secret, t0)})
            self.assertEqual(r.status, 200, b.text()[-1500:])
            codes = re.findall(r'<li><span class="code">([a-z2-9-]+)</span></li>', b.text())
            self.assertEqual(len(codes), 10, b.text()[-2000:])
            self.assertNotIn(groups, html.unescape(b.text()), "the key is not shown again")
            self.assertEqual(b.get("/staff/").status, 200, "enrolled: the staff pages open")
            r = b.get("/staff/totp")
            self.assertIn("Recovery codes left unused: 10.", b.text())
            self.assertNotIn(groups, html.unescape(b.text()))
            self.assertNotIn("<svg", b.text())
            self.assertNotIn(codes[0], b.text(), "the recovery codes are shown once")
            # a second enrolment is refused while one is in use
            r = b.post("/staff/totp/enroll", {})
            self.assertEqual(r.status, 409)
            # in the other languages
            for lang, word in (("zh-Hans", "恢复码"), ("zh-Hant", "復原碼")):
                r = b.get("/staff/totp?lang=" + lang)
                self.assertIn('<html lang="%s">' % lang, b.text())
                self.assertIn(word, b.text())
            b.get("/staff/totp?lang=en")
            srv.set_clock(t0 + 60)
            b = Browser(srv)
            b.get("/staff/login?lang=en")
            r = b.post("/staff/login", {"username": "root_p", "password": PW})
            self.assertEqual(r.status, 401)
            self.assertIn('id="second-error"', b.text())
            self.assertIn("second-error", re.search(r'<input[^>]*id="second"[^>]*>', b.text()).group(0))
            r = b.post("/staff/login", {"username": "root_p", "password": PW, "second": "000000"})
            self.assertEqual(r.status, 401)
            r = b.post("/staff/login", {"username": "root_p", "password": PW,
                                        "second": totp(secret, t0 + 60)})
            self.assertEqual(r.status, 303, b.text()[-1500:])
            self.assertEqual(b.get("/staff/admin").status, 200)
            # a recovery code shown by the page signs in once
            b = Browser(srv)
            b.get("/staff/login?lang=en")
            r = b.post("/staff/login", {"username": "root_p", "password": PW,
                                        "second": codes[3]})
            self.assertEqual(r.status, 303, b.text()[-1500:])
            b = Browser(srv)
            b.get("/staff/login?lang=en")
            r = b.post("/staff/login", {"username": "root_p", "password": PW,
                                        "second": codes[3]})
            self.assertEqual(r.status, 401)
        finally:
            srv.cleanup()


TITLE_PREFIX = {"zh-Hans": "错误：", "zh-Hant": "錯誤：", "en": "Error: "}


def page_title(text):
    return html.unescape(re.search(r"<title>(.*?)</title>", text, re.S).group(1))


class RefusedTitles(Base):
    """A form the server answers with an error begins its page's title with the language's word
    for an error, as /submit, /track and the sign-in do (a screen reader reads the title first):
    the password, second-factor and administrators' forms and the staff item page's action
    forms (refused by core, or for the form token), in every language; the same pages shown
    without a refusal do not."""

    def signed_in(self, who, lang):
        b = Browser(self.server)
        b.get("/staff/login?lang=" + lang)
        r = b.post("/staff/login", {"username": who, "password": PW})
        self.assertEqual(r.status, 303, b.text())
        return b

    def refused(self, b, lang, before, r, where):
        self.assertGreaterEqual(r.status, 400, where)
        self.assertFalse(before.startswith(TITLE_PREFIX[lang]), "%s: %s" % (where, before))
        self.assertEqual(page_title(b.text()), TITLE_PREFIX[lang] + before, where)

    def test_staff_forms(self):
        t = self.submit(subject="标题报错")["tracking"]
        self.act("disp_p", t, "assign", section=SECTION)
        for lang in ("zh-Hans", "zh-Hant", "en"):
            with self.subTest(lang=lang):
                b = self.signed_in("hand_p", lang)
                b.get("/staff/password")
                before = page_title(b.text())
                r = b.post("/staff/password", {"current": "Wrong-Passw0rd", "new": "Other-Passw0rd1"})
                self.refused(b, lang, before, r, "password")

                r = b.get("/staff/totp")
                r = b.post("/staff/totp/enroll", {})
                self.assertEqual(r.status, 200, b.text()[-1500:])
                before = page_title(b.text())
                r = b.post("/staff/totp/confirm", {"code": "12345x"})
                self.refused(b, lang, before, r, "second factor")

                b.get("/staff/item/" + t)
                before = page_title(b.text())
                self.assertIn(t, before)
                r = b.post("/staff/item/" + t, {"action": "send_reply", "note": ""})
                self.assertEqual(r.status, 409, b.text()[-1500:])
                self.refused(b, lang, before, r, "item action refused by core")
                b.get("/staff/item/" + t)
                r = b.post("/staff/item/" + t, {"action": "accept", "csrf_token": "x" * 43})
                self.refused(b, lang, before, r, "item action without its token")

                a = self.signed_in("admin_p", lang)
                a.get("/staff/admin")
                before = page_title(a.text())
                r = a.post("/staff/admin/accounts", {"username": "1bad", "role": "handler"})
                self.refused(a, lang, before, r, "admin account")
                a.get("/staff/admin")
                r = a.post("/staff/admin/sections", {"name": ""})
                self.refused(a, lang, before, r, "admin section")
        state = self.staff["disp_p"].request("GET", "/api/v1/items/" + t).json()["state"]
        self.assertEqual(state, "assigned", "nothing was done")


class CloseConfirmed(Base):
    """The staff item page's Close of an item that waits for the citizen asks for a tick first
    (another item's Close, and the JSON API's close, are as they were): without it the item is
    not closed (400, the box marked and linked from the summary); while
    the item waits for the citizen the form says plainly that their answer would come to an
    ended item; the form token is still checked; ticked, the item closes."""

    def signed_in(self, who, lang="en"):
        b = Browser(self.server)
        b.get("/staff/login?lang=" + lang)
        r = b.post("/staff/login", {"username": who, "password": PW})
        self.assertEqual(r.status, 303, b.text())
        return b

    def state(self, t):
        return self.staff["disp_p"].request("GET", "/api/v1/items/" + t).json()["state"]

    def close_form(self, text):
        m = re.search(r'<form[^>]*data-keep="close".*?</form>', text, re.S)
        self.assertIsNotNone(m, "a close form")
        return m.group(0)

    def test_close_needs_the_tick(self):
        t = self.submit(subject="办结确认")["tracking"]
        self.act("disp_p", t, "assign", section=SECTION)
        self.act("hand_p", t, "accept")
        self.act("hand_p", t, "ask_citizen", note="请补充地址。")
        words = {"en": "their answer would then come to an ended item",
                 "zh-Hans": "群众的答复将送到一件已结束的事项",
                 "zh-Hant": "民眾的答覆將送到一件已結束的事項"}
        for lang in ("zh-Hans", "zh-Hant", "en"):
            with self.subTest(lang=lang):
                b = self.signed_in("hand_p", lang)
                b.get("/staff/item/" + t)
                form = self.close_form(b.text())
                box = re.search(r'<input type="checkbox" id="close-confirm"[^>]*>', form).group(0)
                self.assertIn(" required", box)
                self.assertIn('aria-describedby="close-lead close-waiting"', box)
                self.assertIn(words[lang], html.unescape(form))
                r = b.post("/staff/item/" + t, {"action": "close", "note": "不等了"})
                self.assertEqual(r.status, 400, b.text()[-1500:])
                page = b.text()
                self.assertIn('<a href="#close-confirm">', page, "the summary links to the box")
                box = re.search(r'<input type="checkbox" id="close-confirm"[^>]*>', page).group(0)
                self.assertIn('aria-invalid="true"', box)
                self.assertIn("close-confirm-error", box)
                self.assertIn('id="close-confirm-error"', page)
                self.assertIn(">不等了</textarea>", page, "the note is kept")
                self.assertEqual(self.state(t), "waiting_citizen", "not closed")
                r = b.post("/staff/item/" + t, {"action": "close", "confirm": "0"})
                self.assertEqual(r.status, 400)
                b.get("/staff/item/" + t)
                r = b.post("/staff/item/" + t, {"action": "close", "confirm": "1",
                                                "csrf_token": "x" * 43})
                self.assertEqual(r.status, 403)
                self.assertEqual(self.state(t), "waiting_citizen", "not closed")
        b.get("/staff/item/" + t)
        r = b.post("/staff/item/" + t, {"action": "close", "confirm": "1"})
        self.assertEqual(r.status, 303, b.text()[-1500:])
        self.assertIn("done=close", r.header("Location"))
        self.assertEqual(self.state(t), "closed")

    def test_replied_item_closes_in_one_click(self):
        """Only an item that waits for the citizen asks for the tick: a replied one's Close is
        one click, as staff working a queue all day expect, with no box and no warning."""
        t = self.replied()["tracking"]
        b = self.signed_in("hand_p")
        b.get("/staff/item/" + t)
        form = self.close_form(b.text())
        self.assertNotIn('name="confirm"', form)
        self.assertNotIn("close-waiting", form)
        self.assertNotIn('name="confirm"', b.text(), "no action form has the box")
        r = b.post("/staff/item/" + t, {"action": "close"})
        self.assertEqual(r.status, 303, b.text()[-1500:])
        self.assertEqual(self.state(t), "closed")


class AssigneeLang(Base):
    """The assignee picker's choices ("name (section)") carry the language of the section's
    name where it is not the page's (WCAG 3.1.2): a Chinese section on an English page is
    zh, a section named in English on a Chinese page en; the page's own carry none. The account
    name is an identifier (ASCII letters and digits), in no language the page could know."""

    def test_choices(self):
        r = self.staff["admin_p"].request("POST", "/api/v1/admin/sections",
                                          json_body={"name": "Legal Affairs"})
        self.assertEqual(r.status, 201, r)
        self.server.add_user("hand_en", "handler", "Legal Affairs", password=PW)
        t = self.submit(subject="选择处理人")["tracking"]
        b = Browser(self.server)
        b.get("/staff/login?lang=en")
        r = b.post("/staff/login", {"username": "disp_p", "password": PW})
        self.assertEqual(r.status, 303, b.text())

        def options(lang):
            b.get("/staff/item/%s?lang=%s" % (t, lang))
            picker = re.search(r'<select id="assign-assignee".*?</select>', b.text(), re.S)
            self.assertIsNotNone(picker, "the assignee picker")
            return {m.group(1): m.group(2) for m in re.finditer(
                r'<option value="(hand_[a-z]+)"( lang="[^"]*")?>', picker.group(0))}

        en = options("en")
        self.assertEqual(en.get("hand_p"), ' lang="zh"', en)
        self.assertIsNone(en.get("hand_en"), en)
        for lang in ("zh-Hans", "zh-Hant"):
            zh = options(lang)
            self.assertIsNone(zh.get("hand_p"), zh)
            self.assertEqual(zh.get("hand_en"), ' lang="en"', zh)


class DraftAfterExpiry(Base):
    """An item's action form sent without script after its session ended: the sign-in is shown
    in its place holding what was typed (hidden fields), and signing in shows the item's form
    filled again, not sent; only for a form of our own pages (the session's cookie, and
    Sec-Fetch-Site same-origin or our Origin), never from a sign-in whose form token is wrong;
    a script's form (kept=1) goes to the sign-in as before."""

    REPLY = "答复草稿：路灯已于周二修复，<b>谢谢</b>。"
    SAID = {"en": "What you typed is held on this page", "zh-Hans": "您填写的内容暂时放在本页",
            "zh-Hant": "您填寫的內容暫時放在本頁"}

    def tearDown(self):
        self.server.set_clock(None)

    def expired_form(self, t, lang="en"):
        """A handler signed in on the item page whose session then ends: the browser and the
        form it would send."""
        self.server.set_clock(None)
        b = Browser(self.server)
        b.get("/staff/login?lang=" + lang)
        r = b.post("/staff/login", {"username": "hand_p", "password": PW})
        self.assertEqual(r.status, 303, b.text())
        b.get("/staff/item/" + t)
        fields = {"action": "draft", "text": self.REPLY, "note": "先存草稿", "csrf_token": b.csrf()}
        self.server.set_clock(int(time.time()) + 5 * 3600)
        return b, fields

    def test_sign_in_brings_the_form_back_filled_from_our_pages_only(self):
        t = self.submit(subject="会话过期草稿")["tracking"]
        self.act("disp_p", t, "assign", section=SECTION)
        self.act("hand_p", t, "accept")
        origin = "http://127.0.0.1:%d" % self.server.port
        # the sign-in in its place, in the page's language: a browser of today says
        # same-origin (its Origin is "null": our pages send no referrer), one without Fetch
        # Metadata names our origin
        for lang, headers in (("zh-Hans", {"Sec-Fetch-Site": "same-origin", "Origin": "null"}),
                              ("zh-Hant", {"Origin": origin}),
                              ("en", {"Sec-Fetch-Site": "same-origin"})):
            b, fields = self.expired_form(t, lang)
            r = b.request("POST", "/staff/item/" + t, fields=fields, headers=headers)
            self.assertEqual(r.status, 401, "%s: %s" % (lang, b.text()[-1500:]))
            self.assertIn('action="/staff/login"', b.text())
            self.assertIn(self.SAID[lang], b.text())
        page = b.text()
        hidden = dict((k, html.unescape(v)) for k, v in re.findall(
            r'<input type="hidden" name="(draft_[a-z]+)" value="([^"]*)">', page))
        self.assertEqual(hidden, {"draft_form": "act", "draft_item": t, "draft_action": "draft",
                                  "draft_text": self.REPLY, "draft_note": "先存草稿"})
        self.assertNotIn("<b>谢谢</b>", page, "escaped")
        # a wrong password keeps it; then the sign-in shows the form filled, not sent
        form = dict(hidden, username="hand_p", password="Wrong-Passw0rd")
        r = b.post("/staff/login", form)
        self.assertEqual(r.status, 401)
        self.assertIn('name="draft_text" value="%s"' % html.escape(self.REPLY, quote=True),
                      b.text())
        form["password"] = PW
        r = b.post("/staff/login", form)
        self.assertEqual(r.status, 200, b.text()[-1500:])
        page = b.text()
        self.assertIn('id="flash"', page)
        area = re.search(r'<textarea id="draft-text"[^>]*>(.*?)</textarea>', page, re.S)
        self.assertEqual(html.unescape(area.group(1)), self.REPLY)
        note = re.search(r'<textarea id="draft-note"[^>]*>(.*?)</textarea>', page, re.S)
        self.assertEqual(html.unescape(note.group(1)), "先存草稿")
        api = self.server.login("disp_p", PW)  # the clock moved: the earlier session ended
        it = api.request("GET", "/api/v1/items/" + t).json()
        self.assertEqual((it["state"], it.get("draft")), ("in_progress", None), "not done")
        # sent now, with the new session's token from that page, it is done
        r = b.post("/staff/item/" + t, {"action": "draft", "text": self.REPLY})
        self.assertEqual(r.status, 303, b.text()[-1500:])
        self.assertEqual(api.request("GET", "/api/v1/items/" + t).json()["state"], "drafted")

        # not carried: redirected to the sign-in as before (one ended session for all)
        b, fields = self.expired_form(t)
        for name, headers, extra in (
                ("no Origin", {}, {}),
                ("a null Origin alone", {"Origin": "null"}, {}),
                ("another Origin", {"Origin": "http://evil.example"}, {}),
                ("another site", {"Sec-Fetch-Site": "cross-site", "Origin": "null"}, {}),
                ("a sibling of the same site", {"Sec-Fetch-Site": "same-site",
                                                "Origin": origin}, {}),
                ("a script keeps it", {"Sec-Fetch-Site": "same-origin"}, {"kept": "1"})):
            r = b.request("POST", "/staff/item/" + t, fields=dict(fields, **extra),
                          headers=headers)
            self.assertEqual((r.status, r.header("Location")),
                             (303, "/staff/login?expired=form"), name)
        # no session cookie at all (a form from elsewhere: the cookie is SameSite=Strict)
        b.cookies.pop("civicdesk_session")
        r = b.request("POST", "/staff/item/" + t, fields=fields,
                      headers={"Sec-Fetch-Site": "same-origin"})
        self.assertEqual(r.status, 303)
        # a sign-in with draft fields and a wrong form token: refused, nothing carried
        b.get("/staff/login?lang=en")
        r = b.request("POST", "/staff/login", fields={
            "csrf_token": "x" * 43, "username": "hand_p", "password": PW,
            "draft_item": t, "draft_action": "draft", "draft_text": "注入的文字"})
        self.assertEqual(r.status, 403)
        self.assertNotIn("注入的文字", b.text())
        self.assertNotIn("draft_", b.text())


if __name__ == "__main__":
    harness.main()
