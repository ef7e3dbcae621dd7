"""The pages over HTTP, through the real daemon (the browser suite in tests/browser drives the
same pages in chromium): the citizen's actions on /track (supplement, withdrawal of the item and
of the consent to publication, the rating) through core, wrong query codes limited per address
and per tracking number, the dashboard's statistics and CSV, the admin forms (CSRF, audited),
the board by month, gzip and ETags of the static files, and HTML error pages in the chosen
language.

November 2025 has no holidays: from Wednesday 5 November the 5th working day is Wednesday 12.
"""
import gzip
import html
import os
import re
import sys
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

    def __init__(self, server):
        self.server = server
        self.cookies = {}
        self.last = None

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
        return r

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def text(self):
        return self.last.body.decode("utf-8")

    def csrf(self):
        m = re.search(r'name="csrf_token" value="([^"]*)"', self.text())
        assert m, "no form token on the page"
        return html.unescape(m.group(1))

    def post(self, path, fields):
        fields = dict(fields)
        fields.setdefault("csrf_token", self.csrf())
        return self.request("POST", path, fields=fields)


class Base(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = harness.Server(env={"CIVICDESK_SUBMIT_RATE": "0"}).start()
        for name, role, section in ACCOUNTS:
            cls.server.add_user(name, role, section, password=PW)
        cls.staff = {name: cls.server.login(name, PW) for name, _, _ in ACCOUNTS}

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
        b = Browser(self.server)
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
        self.act("disp_p", t, "assign", section=SECTION)
        self.act("hand_p", t, "accept")
        self.act("hand_p", t, "ask_citizen", note="请提供路灯编号。")
        r = self.track(b, item)
        self.assertIn('value="supplement"', b.text())
        # an empty supplement: the field's message, nothing changes
        r = b.post("/track", {"action": "supplement", "tracking": t,
                              "code": item["query_code"], "text": "  "})
        self.assertEqual(r.status, 400, b.text())
        self.assertIn('id="supplement-error"', b.text())
        self.assertIn("supplement-error", re.search(r'<textarea id="supplement"[^>]*>',
                                                    b.text()).group(0))
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


class TrackLimits(Base):
    def test_per_address_and_tracking_number(self):
        """Ten wrong codes for one number lock that number for this address only: another
        number still answers from here (per address alone would refuse it)."""
        a, other = self.submit(), self.submit()
        b = self.citizen()
        for _ in range(10):
            r = self.track(b, a, code="WRONGWRONG12")
            self.assertEqual(r.status, 404)
        r = self.track(b, a)
        self.assertEqual(r.status, 429, "the right code waits too while refused")
        self.assertTrue(r.header("Retry-After"))
        r = self.track(b, other)
        self.assertEqual(r.status, 200, "another number is not refused")
        # the API's look-up counts the same failures
        r = self.server.request("GET", "/api/v1/track/" + a["tracking"],
                                headers={"X-Query-Code": a["query_code"]})
        self.assertEqual(r.status, 429)


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
        row = re.search(r"<tr><td>1</td><th scope=\"row\">%s</th>(.*?)</tr>" % SECTION, page)
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
        csv = r.body.decode("utf-8")
        self.assertTrue(csv.startswith("period,from,to,section,rank"), csv[:200])
        self.assertIn('"%s",1,' % SECTION, csv)
        # a handler sees neither
        h = Browser(self.server)
        h.get("/staff/login")
        h.post("/staff/login", {"username": "hand_p", "password": PW})
        self.assertEqual(h.get("/staff/dashboard").status, 403)
        self.assertEqual(h.get("/staff/stats.csv?period=" + month).status, 403)


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


if __name__ == "__main__":
    harness.main()
