"""The HTTP part of DESIGN.md's Fixed contract as outside clients drive it: curl and Python's
urllib against the real daemon (harness: port 0, a fresh database), for what the other suites
leave out. Which suite covers each clause is listed in the audit's report; this one adds:
- a JSON body is read whatever its declared type (text/plain as a browser's fetch sends a
  string, octet-stream, a form's type as curl -d sends it), on the items, Open311 and the other
  JSON resources; a body that is not JSON under another type (XML, ...) is refused with 400
  naming Content-Type, and nothing is stored;
- the 201 of POST /api/v1/items read by curl and urllib on the real clock (no test clock): the
  tracking number carries today's Shanghai date, both due times are local +08:00 times;
- forms as Python clients make them from dicts: publish=True / attribute[publish]=True;
- odd inputs the table of test_bad_inputs.py lacks (a raw NUL byte in JSON, %00 in a form,
  unknown methods and paths under /api/v1/), each answered with the error object;
- the 404 of the tracking look-up: unknown number, wrong code, no code, another item's code,
  the right code on a mistyped number: the same status, headers and body (but Date and
  X-Request-Id, which differ on every answer);
- the Open311 discovery document names the address the client used (not 127.0.0.1:0);
- an Open311 client's form POST as such clients send it (api_key, jurisdiction_id, names,
  e-mail, phone, attribute[publish]=true), its answer's members, and its reads by urllib;
- the queue's limit given as text, and who sees which sections' items;
- the pages: each of /, /submit, /track, /board, /staff/ in each language by ?lang= (the
  tag in any case), the choice remembered by the cookie alone; /staff/ sends a visitor without
  a session to the sign-in page in the chosen language (a client that keeps no cookie too), and
  /staff to /staff/.
"""
import datetime as dt
import http.client
import json
import os
import re
import sqlite3
import subprocess
import sys
import unittest
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from test_workflow import Base  # noqa: E402

TRACKING = re.compile(r"^XJ-(\d{8})-\d{5}$")
LOCAL_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00$")
GOOD = {"kind": "letter", "subject": "路灯不亮", "body": "幸福路 12 号的路灯坏了三天。",
        "name": "张三", "phone": "13812345678", "email": "zhang@example.cn", "publish": True}
LANGS = ("zh-Hans", "zh-Hant", "en")
PAGES = ("/", "/submit", "/track", "/board", "/staff/")
# headers that differ on every answer by design
PER_ANSWER = {"date", "x-request-id"}


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a, **kw):
        return None


def urlopen(url, data=None, headers=None, method=None, follow=True):
    """urllib as a client uses it: (status, headers as a dict of lower-case names, body). No
    cookie jar: nothing is remembered between calls or redirects."""
    req = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    opener = urllib.request.build_opener(*([] if follow else [NoRedirect()]))
    try:
        with opener.open(req, timeout=30) as r:
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read(), r.url
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read(), url


def html_lang(body):
    m = re.search(rb'<html lang="([^"]+)"', body)
    return m.group(1).decode() if m else None


class Contract(Base):
    """One daemon with the accounts of test_workflow.py, on the real clock."""

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.server.port, path)

    def count_items(self):
        with sqlite3.connect(self.server.db) as db:
            return db.execute("SELECT count(*) FROM items").fetchone()[0]

    def assert_error(self, r, status, code=None, field=None):
        """r is an answer with the error object {"error":{"code","message"[,"field"]}}."""
        self.assertEqual(r.status, status, r)
        self.assertTrue(r.header("Content-Type").startswith("application/json"), r)
        err = r.json()["error"]
        self.assertLessEqual(set(err), {"code", "message", "field"}, err)
        self.assertTrue(err["code"] and err["message"], err)
        if code is not None:
            self.assertEqual(err["code"], code, r)
        self.assertEqual(err.get("field"), field, r)
        return err

    # --- POST /api/v1/items -----------------------------------------------------------------

    def test_json_whatever_its_content_type(self):
        body = json.dumps(GOOD).encode()
        # what JSON clients send is taken: the type in any case, with parameters, a +json
        # type, none at all, or another one (a browser's fetch of a string says text/plain)
        for ctype in ("application/json", "application/json; charset=utf-8",
                      "Application/JSON;charset=UTF-8", "application/vnd.api+json", None,
                      "text/plain", "text/plain;charset=UTF-8", "application/octet-stream"):
            with self.subTest(ctype=ctype):
                r = self.server.request("POST", "/api/v1/items", body=body,
                                        headers={"Content-Type": ctype} if ctype else {})
                self.assertEqual(r.status, 201, r)
        # a body that is not JSON under a type that is not JSON's: told which header is wrong
        before = self.count_items()
        for ctype, other in (("application/xml", b"<item><kind>letter</kind></item>"),
                             ("text/plain", b"kind: letter"), ("text/html", b"<p>letter</p>")):
            with self.subTest(ctype=ctype):
                r = self.server.request("POST", "/api/v1/items", body=other,
                                        headers={"Content-Type": ctype})
                err = self.assert_error(r, 400, "unsupported_media_type", "Content-Type")
                self.assertIn("application/json", err["message"])
        self.assertEqual(self.count_items(), before)
        # JSON sent as a form (curl -d without -H): stored as the JSON it is, its text whole
        # (a form reading would have cut it at '&' and '=')
        text = "路面破损&积水=严重 100%"
        r = subprocess.run(["curl", "-sS", "-d", json.dumps(dict(GOOD, body=text),
                                                              ensure_ascii=False),
                            self.url("/api/v1/items")], capture_output=True, timeout=60)
        created = json.loads(r.stdout)
        self.assertRegex(created["tracking"], TRACKING)
        s = self.staff["disp_a"]
        self.assertEqual(s.get("/api/v1/items/" + created["tracking"]).json()["body"], text)
        # and on the other JSON resources
        r = self.server.request("POST", "/api/v1/login", body=json.dumps(
            {"username": "disp_a", "password": "x"}), headers={"Content-Type": "text/plain"})
        self.assert_error(r, 401, None, None)
        t = self.submit()["tracking"]
        r = self.server.request("POST", "/api/v1/items/%s/actions/assign" % t,
                                body="<assign/>",
                                headers=dict(s.headers(), **{"Content-Type": "text/xml"}))
        self.assert_error(r, 400, "unsupported_media_type", "Content-Type")
        self.assertEqual(s.get("/api/v1/items/" + t).json()["state"], "received")

    def check_created(self, a, today):
        self.assertEqual(TRACKING.match(a["tracking"]).group(1), today.strftime("%Y%m%d"), a)
        self.assertRegex(a["query_code"], r"^[A-Z0-9]{8,}$")
        for clock in ("reply", "forward"):
            self.assertRegex(a["clocks"][clock]["due"], LOCAL_TIME)
        self.assertGreater(a["clocks"]["reply"]["due"], a["clocks"]["forward"]["due"])

    def today(self):
        return (dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=8)).date()

    def test_201_read_by_curl_and_urllib(self):
        self.clock(None)  # the real clock
        body = json.dumps(GOOD, ensure_ascii=False).encode()
        r = subprocess.run(["curl", "-sS", "-D", "-", "-H", "Content-Type: application/json",
                            "--data-binary", "@-", self.url("/api/v1/items")],
                           input=body, capture_output=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        head, _, text = r.stdout.partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.1 201"), head)
        a = json.loads(text)
        self.check_created(a, self.today())
        status, headers, raw, _ = urlopen(self.url("/api/v1/items"), data=body,
                                          headers={"Content-Type": "application/json"})
        self.assertEqual(status, 201, raw)
        b = json.loads(raw)
        self.check_created(b, self.today())
        self.assertEqual(int(b["tracking"][-5:]), int(a["tracking"][-5:]) + 1)
        # and the citizen's look-up by urllib
        status, _, raw, _ = urlopen(self.url("/api/v1/track/" + b["tracking"]),
                                    headers={"X-Query-Code": b["query_code"]})
        self.assertEqual(status, 200, raw)
        t = json.loads(raw)
        self.assertEqual((t["tracking"], t["state"]), (b["tracking"], "received"))
        self.assertEqual({k: v["due"] for k, v in t["clocks"].items()},
                         {k: v["due"] for k, v in b["clocks"].items()})

    def test_forms_from_python_dicts(self):
        # urlencode({"publish": True}) writes "True": a form's yes and no in any case
        s = self.staff["disp_a"]
        for value, consent in ((True, True), (False, False), ("TRUE", True), ("No", False)):
            with self.subTest(publish=value):
                status, _, raw, _ = urlopen(self.url("/api/v1/items"), data=urllib.parse.urlencode(
                    dict(GOOD, publish=value)).encode())
                self.assertEqual(status, 201, raw)
                it = s.get("/api/v1/items/" + json.loads(raw)["tracking"]).json()
                self.assertIs(it["publish"], consent)
                status, _, raw, _ = urlopen(self.url("/open311/v2/requests.json"),
                                            data=urllib.parse.urlencode({
                                                "service_code": "letter", "description": "d",
                                                "email": "a@example.cn",
                                                "attribute[publish]": value}).encode())
                self.assertEqual(status, 201, raw)
                sid = json.loads(raw)[0]["service_request_id"]
                status, _, raw, _ = urlopen(self.url("/open311/v2/requests/%s.json" % sid))
                self.assertEqual(status, 200 if consent else 404, raw)

    def test_odd_inputs_get_the_error_object(self):
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        for desc, method, path, body, headers, status, code, field in [
            ("a raw NUL byte in a JSON string", "POST", "/api/v1/items",
             b'{"kind":"letter","subject":"a\x00b","body":"b","email":"a@b.cn",'
             b'"publish":true}', {"Content-Type": "application/json"}, 400, "malformed_json",
             None),
            ("%00 in a form's subject", "POST", "/api/v1/items",
             b"kind=letter&subject=a%00b&body=b&email=a%40b.cn&publish=true", form, 400,
             "invalid_field", "subject"),
            ("a JSON null", "POST", "/api/v1/items", b"null",
             {"Content-Type": "application/json"}, 400, "malformed_json", None),
            ("a body of blanks", "POST", "/api/v1/items", b"  \r\n ",
             {"Content-Type": "application/json"}, 400, "malformed_json", None),
            ("subject of 5000 characters", "POST", "/api/v1/items",
             json.dumps(dict(GOOD, subject="长" * 5000)).encode(),
             {"Content-Type": "application/json"}, 400, "invalid_field", "subject"),
            ("e-mail of 300 characters", "POST", "/api/v1/items",
             json.dumps(dict(GOOD, email="a" * 300 + "@example.cn")).encode(),
             {"Content-Type": "application/json"}, 400, "invalid_field", "email"),
            ("an unknown method", "FOO", "/api/v1/items", None, {}, 405,
             "method_not_allowed", None),
            ("OPTIONS", "OPTIONS", "/api/v1/health", None, {}, 405, "method_not_allowed",
             None),
            ("the API's root", "GET", "/api/v1/", None, {}, 404, "not_found", None),
            ("another version", "GET", "/api/v2/health", None, {}, 404, "not_found", None),
            ("a trailing slash", "GET", "/api/v1/health/", None, {}, 404, "not_found", None),
            ("PUT on the look-up", "PUT", "/api/v1/track/XJ-20250930-00001", b"{}",
             {"Content-Type": "application/json"}, 405, "method_not_allowed", None),
        ]:
            with self.subTest(desc):
                r = self.server.request(method, path, body=body, headers=headers)
                self.assert_error(r, status, code, field)

    # --- GET /api/v1/track/{tracking} ----------------------------------------------------------

    def test_track_404s_are_one_answer(self):
        a, b = self.submit(), self.submit()
        t = a["tracking"]
        unknown = "%s-%05d" % (t[:11], int(t[-5:]) + 900)
        answers = []
        for desc, number, code in [("wrong code", t, "A" * 12), ("unknown number", unknown,
                                                                 a["query_code"]),
                                   ("no code", t, None), ("another item's code", t,
                                                          b["query_code"]),
                                   ("lower-case number", t.lower(), a["query_code"]),
                                   ("code of the wrong length", t, a["query_code"][:-1])]:
            conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=30)
            try:
                conn.request("GET", "/api/v1/track/" + number,
                             headers={"X-Query-Code": code} if code else {})
                r = conn.getresponse()
                answers.append((desc, r.status, r.version,
                                [(k, v) for k, v in r.getheaders()
                                 if k.lower() not in PER_ANSWER], r.read()))
            finally:
                conn.close()
        first = answers[0]
        self.assertEqual(first[1], 404)
        self.assertEqual(json.loads(first[4]), {"error": {
            "code": "not_found", "message": "no item matches this tracking number and query code"}})
        for ans in answers[1:]:
            with self.subTest(ans[0]):
                self.assertEqual(ans[1:], first[1:])
        # and the right pair answers the contract's members
        r = self.server.request("GET", "/api/v1/track/" + t,
                                headers={"X-Query-Code": a["query_code"]})
        self.assertEqual(r.status, 200, r)
        j = r.json()
        self.assertEqual((j["tracking"], j["state"]), (t, "received"))
        self.assertEqual(j["clocks"]["reply"]["due"], a["clocks"]["reply"]["due"])

    # --- Open311 ------------------------------------------------------------------------------

    def test_open311_client_form_post(self):
        fields = {"api_key": "client-key-123", "jurisdiction_id": "bureau.example.cn",
                  "service_code": "complaint", "description": "Broken street light at Main St 1",
                  "first_name": "Wei", "last_name": "Wang", "email": "wangwei@example.cn",
                  "phone": "13912345678", "attribute[publish]": "true", "lat": "39.9",
                  "long": "116.4", "address_string": "Main St 1"}
        status, headers, raw, _ = urlopen(self.url("/open311/v2/requests.json"),
                                          data=urllib.parse.urlencode(fields).encode())
        self.assertEqual(status, 201, raw)
        self.assertTrue(headers["content-type"].startswith("application/json"))
        created = json.loads(raw)
        self.assertEqual(len(created), 1)
        self.assertLessEqual({"service_request_id", "service_notice", "account_id"},
                             set(created[0]))
        sid = created[0]["service_request_id"]
        self.assertRegex(sid, TRACKING)
        # the same fields as JSON, sent as a form (curl -d without -H): read as JSON
        r = subprocess.run(["curl", "-sS", "-d", json.dumps(dict(fields, attribute={
            "publish": True})), self.url("/open311/v2/requests.json")], capture_output=True,
            timeout=60)
        again = json.loads(r.stdout)
        self.assertRegex(again[0]["service_request_id"], TRACKING)
        secrets = ("Wei", "Wang", "wangwei", "13912345678", "first_name", "\"email\"",
                   "\"phone\"")
        for path in ("/open311/v2/requests/%s.json" % sid,
                     "/open311/v2/requests.json?service_request_id=" + sid,
                     "/open311/v2/requests.json?jurisdiction_id=bureau.example.cn",
                     "/open311/v2/requests/%s.xml" % sid):
            with self.subTest(path):
                status, headers, raw, _ = urlopen(self.url(path))
                self.assertEqual(status, 200, raw)
                text = raw.decode("utf-8")
                self.assertIn(sid, text)
                for s in secrets:
                    self.assertNotIn(s, text)
        status, _, raw, _ = urlopen(self.url("/open311/v2/requests/%s.json" % sid))
        rec = json.loads(raw)[0]
        self.assertEqual((rec["status"], rec["service_code"]), ("open", "complaint"))
        self.assertRegex(rec["requested_datetime"], LOCAL_TIME)
        self.assertRegex(rec["expected_datetime"], LOCAL_TIME)
        for k in ("description", "title", "agency_responsible"):
            self.assertIn(k, rec)
            self.assertIsNone(rec[k], k)

    def test_open311_discovery_names_the_address_asked(self):
        # no public_url configured: the listening address is 127.0.0.1:0, which no client can
        # reach; the document names the host and port the client used
        for path in ("/open311/discovery.json", "/open311/discovery.xml"):
            with self.subTest(path):
                status, _, raw, _ = urlopen(self.url(path))
                self.assertEqual(status, 200, raw)
                self.assertIn(("http://127.0.0.1:%d/open311/v2" % self.server.port).encode(),
                              raw)
        r = self.server.request("GET", "/open311/discovery.json",
                                headers={"Host": "evil\"><x>"})
        self.assertNotIn("evil", r.json()["endpoints"][0]["url"])

    def test_open311_list_limit(self):
        for _ in range(3):
            self.submit()
        path = "/open311/v2/requests.json?limit="
        for limit, n in (("2", 2), ("1", 1), ("", None), ("1000", None), ("200", None)):
            with self.subTest(limit=limit):
                status, _, raw, _ = urlopen(self.url(path + limit))
                self.assertEqual(status, 200, raw)
                got = len(json.loads(raw))
                if n is not None:
                    self.assertEqual(got, n)
                else:  # absent: 50; over the most: cut to 200 (clients ask, the server gives)
                    self.assertTrue(3 <= got <= (50 if limit == "" else 200), got)
        # not a whole number of at least 1: the Open311 error list, not a silent default
        for bad in ("abc", "0", "-1", "1.5", "2x", "1e2"):
            with self.subTest(limit=bad):
                status, headers, raw, _ = urlopen(self.url(path + urllib.parse.quote(bad)))
                self.assertEqual(status, 400, raw)
                self.assertTrue(headers["content-type"].startswith("application/json"))
                err = json.loads(raw)
                self.assertEqual(err[0]["code"], 400)
                self.assertIn("limit", err[0]["description"])
            with self.subTest(limit=bad, fmt="xml"):
                status, _, raw, _ = urlopen(self.url("/open311/v2/requests.xml?limit=" +
                                                     urllib.parse.quote(bad)))
                self.assertEqual(status, 400, raw)
                self.assertIn(b"<code>400</code>", raw)

    # --- GET /api/v1/queue --------------------------------------------------------------------

    def test_queue_limit_as_text_and_who_sees_what(self):
        for bad in ("abc", "1e2", "0x10", "100.0", "", "-1"):
            with self.subTest(limit=bad):
                r = self.staff["disp_a"].get("/api/v1/queue?limit=" + urllib.parse.quote(bad))
                self.assert_error(r, 400, "invalid_field", "limit")
        fg, jc = self.submit()["tracking"], self.submit()["tracking"]
        self.ok("disp_a", fg, "assign", section="法规处")
        self.ok("disp_a", jc, "assign", section="稽查处")
        for who, sees, hidden in (("disp_a", {fg, jc}, set()), ("sup_a", {fg, jc}, set()),
                                  ("admin_a", {fg, jc}, set()), ("hand_fg", {fg}, {jc}),
                                  ("head_jc", {jc}, {fg})):
            with self.subTest(who=who):
                got, cursor = set(), None
                for _ in range(100):
                    r = self.staff[who].get("/api/v1/queue?state=all&limit=100" +
                                            ("&cursor=" + urllib.parse.quote(cursor)
                                             if cursor else ""))
                    self.assertEqual(r.status, 200, r)
                    got |= {x["tracking"] for x in r.json()["items"]}
                    cursor = r.json()["next_cursor"]
                    if cursor is None:
                        break
                self.assertTrue(sees <= got, (who, got))
                self.assertFalse(hidden & got, (who, got))

    # --- pages --------------------------------------------------------------------------------

    def test_pages_in_each_language_and_remembered(self):
        for lang in LANGS:
            for tag in (lang, lang.lower(), lang.upper()):
                for path in PAGES:
                    with self.subTest(path=path, lang=tag):
                        # urllib follows /staff/'s redirect without keeping the cookie
                        status, headers, body, final = urlopen(self.url(path + "?lang=" + tag))
                        self.assertEqual(status, 200, final)
                        self.assertTrue(headers["content-type"].startswith("text/html"))
                        self.assertEqual(html_lang(body), lang, final)
                # the cookie alone, on every page
                r = self.server.request("GET", "/board?lang=" + tag)
                cookie = [c.split(";", 1)[0] for c in r.headers_all("Set-Cookie")
                          if c.startswith("civicdesk_lang=")]
                self.assertEqual(cookie, ["civicdesk_lang=" + lang])
                for path in PAGES:
                    with self.subTest(path=path, cookie=cookie[0]):
                        r = self.server.request("GET", path, headers={"Cookie": cookie[0]})
                        if path == "/staff/":
                            self.assertEqual(r.status, 303, r)
                            r = self.server.request("GET", r.header("Location"),
                                                    headers={"Cookie": cookie[0]})
                        self.assertEqual(r.status, 200, r)
                        self.assertEqual(html_lang(r.body), lang, path)

    def test_staff_redirects(self):
        r = self.server.request("GET", "/staff/?lang=en")
        self.assertEqual((r.status, r.header("Location")), (303, "/staff/login?lang=en"))
        r = self.server.request("GET", "/staff/")
        self.assertEqual((r.status, r.header("Location")), (303, "/staff/login"))
        r = self.server.request("GET", "/staff")
        self.assertEqual((r.status, r.header("Location")), (303, "/staff/"))
        r = self.server.request("GET", "/staff?lang=zh-Hant")
        self.assertEqual((r.status, r.header("Location")), (303, "/staff/?lang=zh-Hant"))
        # a staff session goes on to the queue page
        s = self.staff["hand_fg"]
        r = self.server.request("GET", "/staff/?lang=en", headers={"Cookie": s.cookie})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(html_lang(r.body), "en")


if __name__ == "__main__":
    harness.main()
