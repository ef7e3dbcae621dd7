"""Intake: POST /api/v1/items (JSON, urlencoded, multipart), due dates around National Day,
bad inputs, rate limits, citizen tracking, Open311 GeoReport v2 and its privacy rule, restart."""
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import unittest
import urllib.parse
import uuid

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

NOW = "2025-09-30T10:00"  # the day before the National Day holiday (1-8 Oct off, 11 Oct work)
REPLY_DUE = "2025-10-14T23:59:59+08:00"   # 5th working day: 9, 10, 11 (make-up), 13, 14 Oct
FORWARD_DUE = "2025-10-11T23:59:59+08:00"  # 3rd working day: the make-up Saturday
TRACKING = re.compile(r"^XJ-20250930-\d{5}$")
MAX_BODY = 262144

GOOD = {"kind": "letter", "subject": "路灯不亮", "body": "幸福路 12 号的路灯坏了三天。",
        "name": "张三", "phone": "13812345678", "email": "zhang@example.cn", "publish": True}


def item(**kw):
    d = dict(GOOD)
    for k, v in kw.items():
        if v is ...:
            d.pop(k, None)
        else:
            d[k] = v
    return d


def multipart(fields, files):
    """Encodes a multipart/form-data body; returns (body, content type)."""
    boundary = "----civicdesk" + uuid.uuid4().hex
    out = []
    for k, v in fields:
        out.append(("--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n" %
                    (boundary, k)).encode() + (v if isinstance(v, bytes) else v.encode()) +
                   b"\r\n")
    for k, name, ctype, data in files:
        out.append(("--%s\r\nContent-Disposition: form-data; name=\"%s\"; filename=\"%s\"\r\n"
                    "Content-Type: %s\r\n\r\n" % (boundary, k, name, ctype)).encode("utf-8") +
                   data + b"\r\n")
    out.append(("--%s--\r\n" % boundary).encode())
    return b"".join(out), "multipart/form-data; boundary=" + boundary


def staff_session(srv):
    """Logs a new handler in: headers with cookie and CSRF token, or None without accounts."""
    pw = "Str0ng!pass-" + uuid.uuid4().hex[:6]
    name = "intake" + uuid.uuid4().hex[:6]
    r = srv.cli("user", "add", name, "--role", "dispatcher", "--password-stdin", stdin=pw + "\n")
    if r.returncode != 0:
        return None
    r = srv.request("POST", "/api/v1/login", json_body={"username": name, "password": pw})
    if r.status != 200:
        return None
    cookie = r.header("Set-Cookie").split(";", 1)[0]
    return {"Cookie": cookie, "X-CSRF-Token": r.json()["csrf_token"]}


class Intake(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = harness.Server(env={"CIVICDESK_SUBMIT_RATE": "0", "CIVICDESK_TEST_NOW": NOW,
                                      "CIVICDESK_MAX_BODY": str(MAX_BODY)}).start()
        cls.staff = staff_session(cls.srv)

    @classmethod
    def tearDownClass(cls):
        cls.srv.cleanup()

    def submit(self, body, expect=201):
        r = self.srv.request("POST", "/api/v1/items", json_body=body)
        self.assertEqual(r.status, expect, r)
        return r.json()

    def track(self, tracking, code):
        return self.srv.request("GET", "/api/v1/track/" + urllib.parse.quote(tracking),
                                headers={"X-Query-Code": code})

    def need_staff(self):
        if self.staff is None:
            self.skipTest("staff accounts and login are not available in this build yet")

    def check_clocks(self, clocks):
        self.assertEqual(clocks["reply"]["due"], REPLY_DUE)
        self.assertEqual(clocks["forward"]["due"], FORWARD_DUE)
        self.assertEqual(clocks["reply"]["days"], 5)
        self.assertEqual(clocks["reply"]["state"], "running")
        self.assertFalse(clocks["reply"]["overdue"])
        self.assertFalse(clocks["reply"]["provisional"])
        self.assertEqual(clocks["reply"]["working_days_left"], 5)
        self.assertEqual(clocks["forward"]["working_days_left"], 3)
        expl = {(e["date"], e["kind"]) for e in clocks["reply"]["explanation"]}
        self.assertIn(("2025-10-01", "off"), expl)
        self.assertIn(("2025-10-08", "off"), expl)
        self.assertIn(("2025-10-11", "work"), expl)
        self.assertNotIn("explain", clocks)

    def test_answers_from_kept_parts(self):
        # The 201's members after the tracking number and query code are dumped once per kind
        # and second and kept (issue 20); every answer must still be its own item's, whole: a
        # compact JSON object with its members in order, its own number and code, the clocks
        # its tracking page shows; kinds and a staff item with another date of receipt between
        # them must not mix.
        keys = ["tracking", "query_code", "state", "kind", "channel", "received", "clocks"]
        bodies = [item(), item(kind="complaint"), item(), item(kind="consultation"), item()]
        if self.staff is not None:
            bodies.insert(2, item(channel="post", received="2025-09-26", phone=..., email=...))
        seen = set()
        for body in bodies:
            headers = self.staff if body.get("channel") == "post" else None
            r = self.srv.request("POST", "/api/v1/items", json_body=body, headers=headers)
            self.assertEqual(r.status, 201, r)
            a = r.json()
            self.assertEqual(list(a), keys)
            self.assertEqual(r.body, json.dumps(a, ensure_ascii=False,
                                                separators=(",", ":")).encode())
            self.assertEqual(a["kind"], body["kind"])
            self.assertNotIn(a["tracking"], seen)
            self.assertNotIn(a["query_code"], seen)
            seen.update((a["tracking"], a["query_code"]))
            self.assertEqual(r.header("Location"), "/api/v1/track/" + a["tracking"])
            t = self.track(a["tracking"], a["query_code"])
            self.assertEqual(t.status, 200, t)
            self.assertEqual(a["clocks"], t.json()["clocks"])
            self.assertEqual(a["received"], t.json()["received"])
            if body.get("channel") == "post":
                self.assertEqual(a["channel"], "post")
                self.assertTrue(a["received"].startswith("2025-09-26"))
            else:
                self.assertEqual(a["received"], "2025-09-30T10:00:00+08:00")
                if a["kind"] == "letter":
                    self.check_clocks(a["clocks"])

    def test_json_submission_and_tracking(self):
        a = self.submit(GOOD)
        self.assertRegex(a["tracking"], TRACKING)
        self.assertEqual(len(a["query_code"]), 12)
        self.assertEqual(a["state"], "received")
        self.assertEqual(a["kind"], "letter")
        self.check_clocks(a["clocks"])
        r = self.track(a["tracking"], a["query_code"])
        self.assertEqual(r.status, 200, r)
        t = r.json()
        self.assertEqual(t["tracking"], a["tracking"])
        self.assertEqual(t["state"], "received")
        self.assertEqual(t["subject"], GOOD["subject"])
        self.check_clocks(t["clocks"])
        self.assertEqual([h["action"] for h in t["history"]], ["submit"])
        self.assertEqual(t["history"][0]["to_state"], "received")
        self.assertNotIn("actor", t["history"][0])
        self.assertNotIn("phone", t)
        self.assertNotIn("reply", t)
        # the citizen's view never lands in a cache (shared computers, proxies)
        self.assertEqual(r.header("Cache-Control"), "no-store")
        # the code is also accepted as a query parameter (tracking page), in lower case
        r = self.srv.request("GET", "/api/v1/track/%s?code=%s" % (a["tracking"],
                                                                   a["query_code"].lower()))
        self.assertEqual(r.status, 200, r)

    def test_tracking_numbers_are_sequential(self):
        a = self.submit(GOOD)["tracking"]
        b = self.submit(GOOD)["tracking"]
        self.assertEqual(int(b[-5:]), int(a[-5:]) + 1)
        self.assertEqual(a[:12], "XJ-20250930-")

    def test_urlencoded_form(self):
        body = urllib.parse.urlencode({"kind": "complaint", "subject": "噪音",
                                       "body": "夜间施工\r\n第二行", "email": "a@b.cn",
                                       "publish": "false"})
        r = self.srv.request("POST", "/api/v1/items", body=body, headers={
            "Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(r.status, 201, r)
        a = r.json()
        self.assertEqual(a["kind"], "complaint")
        self.check_clocks(a["clocks"])
        t = self.track(a["tracking"], a["query_code"]).json()
        self.assertEqual(t["subject"], "噪音")

    def test_multipart_with_attachments(self):
        pdf = b"%PDF-1.4 \x00\x01\x02 binary \xff\xfe"
        body, ctype = multipart(
            [("kind", "consultation"), ("subject", "咨询"), ("body", "请见附件"),
             ("phone", "010-12345678"), ("publish", "true")],
            [("attachment", "证明 材料.pdf", "application/pdf", pdf),
             ("attachment", "C:\\Users\\x\\photo.JPG", "IMAGE/JPEG; name=x", b"\xff\xd8\xffjpg")])
        r = self.srv.request("POST", "/api/v1/items", body=body, headers={"Content-Type": ctype})
        self.assertEqual(r.status, 201, r)
        a = r.json()
        self.assertEqual(a["kind"], "consultation")
        self.need_staff()
        r = self.srv.request("GET", "/api/v1/items/" + a["tracking"], headers=self.staff)
        self.assertEqual(r.status, 200, r)
        it = r.json()
        self.assertEqual(it["channel"], "web")
        self.assertEqual(it["body"], "请见附件")
        self.assertEqual(it["phone"], "010-12345678")
        self.assertEqual([(f["filename"], f["size"], f["content_type"]) for f in it["attachments"]],
                         [("证明 材料.pdf", len(pdf), "application/pdf"),
                          ("photo.JPG", 6, "image/jpeg")])
        self.check_clocks(it["clocks"])
        self.assertEqual(it["history"][0]["actor"], "citizen")
        f = it["attachments"][0]
        r = self.srv.request("GET", "/api/v1/items/%s/attachments/%d" % (a["tracking"], f["id"]),
                             headers=self.staff)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body, pdf)
        self.assertEqual(r.header("Content-Type"), "application/pdf")
        self.assertTrue(r.header("Content-Disposition").startswith("attachment;"))
        self.assertEqual(r.header("X-Content-Type-Options"), "nosniff")
        r = self.srv.request("GET", "/api/v1/items/%s/attachments/999999" % a["tracking"],
                             headers=self.staff)
        self.assertEqual(r.status, 404)

    def test_too_many_or_too_large_attachments(self):
        files = [("attachment", "f%d.txt" % i, "text/plain", b"x") for i in range(6)]
        body, ctype = multipart([("kind", "letter"), ("subject", "s"), ("body", "b"),
                                 ("email", "a@b.cn"), ("publish", "true")], files)
        r = self.srv.request("POST", "/api/v1/items", body=body, headers={"Content-Type": ctype})
        self.assertEqual(r.status, 400, r)
        self.assertEqual(r.json()["error"]["field"], "attachment")

    def test_staff_view_requires_a_session(self):
        a = self.submit(GOOD)
        r = self.srv.request("GET", "/api/v1/items/" + a["tracking"])
        self.assertEqual(r.status, 401, r)
        r = self.srv.request("GET", "/api/v1/items/%s/attachments/1" % a["tracking"])
        self.assertEqual(r.status, 401, r)

    def test_staff_registration_of_a_letter_by_post(self):
        # without a staff session a citizen cannot choose the channel or the date of receipt
        r = self.srv.request("POST", "/api/v1/items",
                             json_body=item(channel="post", received="2025-09-26"))
        self.assertEqual(r.status, 401, r)
        self.need_staff()
        r = self.srv.request("POST", "/api/v1/items", headers=self.staff, json_body=item(
            channel="post", received="2025-09-26", phone=..., email=...))
        self.assertEqual(r.status, 201, r)
        a = r.json()
        self.assertEqual(a["channel"], "post")
        self.assertRegex(a["tracking"], TRACKING)  # numbered on the day it was registered
        # counted from Fri 26 Sep: 28 Sep (Sunday make-up day), 29, 30 Sep, 9, 10 Oct
        self.assertEqual(a["clocks"]["reply"]["due"], "2025-10-10T23:59:59+08:00")
        self.assertEqual(a["clocks"]["forward"]["due"], "2025-09-30T23:59:59+08:00")
        r = self.srv.request("POST", "/api/v1/items", headers=self.staff,
                             json_body=item(channel="post", received="2025-10-30"))
        self.assertEqual(r.status, 400)
        self.assertEqual(r.json()["error"]["field"], "received")
        r = self.srv.request("POST", "/api/v1/items", headers=self.staff,
                             json_body=item(channel="fax"))
        self.assertEqual(r.json()["error"]["field"], "channel")

    def test_bad_inputs(self):
        long_name = "名" * 101
        cases = [
            # (description, body bytes or dict, content type, status, field)
            ("malformed JSON", b'{"kind": "letter",', "application/json", 400, None),
            ("not an object", b'["letter"]', "application/json", 400, None),
            ("empty body", b"", "application/json", 400, None),
            ("invalid UTF-8 in JSON", b'{"kind":"letter","subject":"\xff\xfe","body":"b"}',
             "application/json", 400, None),
            ("missing kind", item(kind=...), None, 400, "kind"),
            ("unknown kind", item(kind="petition"), None, 400, "kind"),
            ("kind not a string", item(kind=1), None, 400, "kind"),
            ("missing subject", item(subject=...), None, 400, "subject"),
            ("blank subject", item(subject="   "), None, 400, "subject"),
            ("subject a number", item(subject=42), None, 400, "subject"),
            ("subject too long", item(subject="长" * 201), None, 400, "subject"),
            ("subject with a control character", item(subject="a\u0007b"), None, 400, "subject"),
            ("JSON string with NUL", item(subject="a\u0000b"), None, 400, "subject"),
            ("missing body", item(body=...), None, 400, "body"),
            ("body an object", item(body={"x": 1}), None, 400, "body"),
            ("body too long", item(body="字" * 20001), None, 400, "body"),
            ("name too long", item(name=long_name), None, 400, "name"),
            ("bad phone", item(phone="12345"), None, 400, "phone"),
            ("phone with letters", item(phone="1381234567x"), None, 400, "phone"),
            ("bad email", item(email="not-an-address"), None, 400, "email"),
            ("email without domain dot", item(email="a@localhost"), None, 400, "email"),
            ("no contact", item(phone=..., email=...), None, 400, "phone"),
            ("publish missing", item(publish=...), None, 400, "publish"),
            ("publish a string", item(publish="yes"), None, 400, "publish"),
            ("publish a number", item(publish=1), None, 400, "publish"),
            ("invalid UTF-8 in a form", b"kind=letter&subject=%FF%FE&body=b&email=a%40b.cn"
             b"&publish=true", "application/x-www-form-urlencoded", 400, "subject"),
            ("form without publish", b"kind=letter&subject=s&body=b&email=a%40b.cn",
             "application/x-www-form-urlencoded", 400, "publish"),
            ("form with bad publish", b"kind=letter&subject=s&body=b&email=a%40b.cn&publish=x",
             "application/x-www-form-urlencoded", 400, "publish"),
        ]
        before = self.count_items()
        for desc, body, ctype, status, field in cases:
            with self.subTest(desc):
                if isinstance(body, dict):
                    r = self.srv.request("POST", "/api/v1/items", json_body=body)
                else:
                    r = self.srv.request("POST", "/api/v1/items", body=body,
                                         headers={"Content-Type": ctype})
                self.assertEqual(r.status, status, "%s: %r" % (desc, r))
                err = r.json()["error"]
                self.assertTrue(err["code"] and err["message"])
                if field is not None:
                    self.assertEqual(err.get("field"), field, desc)
        self.assertEqual(self.count_items(), before, "a refused item was stored")

    def count_items(self):
        with sqlite3.connect(self.srv.db) as db:
            return db.execute("SELECT count(*) FROM items").fetchone()[0]

    def test_accepted_formats(self):
        for phone in ["13812345678", "+8613812345678", "+86 19912345678", "010-12345678",
                      "0755-1234567", "02112345678"]:
            with self.subTest(phone):
                self.submit(item(phone=phone, email=...))
        self.submit(item(phone=..., email="li.si+tag@mail.example.com.cn"))
        self.submit(item(name="名" * 100, subject="长" * 200, body="字" * 20000))
        self.submit(item(name=None, phone="", email="a@b.cn"))

    def test_oversized_body_is_413(self):
        body = json.dumps(item(body="x" * (MAX_BODY + 100))).encode()
        try:
            r = self.srv.request("POST", "/api/v1/items", body=body,
                                 headers={"Content-Type": "application/json"})
        except (BrokenPipeError, ConnectionResetError) as e:  # pragma: no cover
            self.fail("connection dropped instead of a 413: %r" % e)
        self.assertEqual(r.status, 413, r)
        self.assertEqual(r.json()["error"]["code"], "too_large")

    def test_oversized_body_without_expect_is_413_not_a_broken_pipe(self):
        # Python's http.client and urllib send the whole body without Expect: 100-continue;
        # far more than the socket buffers hold must still end in a 413 the client can read
        body = json.dumps(item(body="x" * (32 * MAX_BODY))).encode()
        try:
            r = self.srv.request("POST", "/api/v1/items", body=body,
                                 headers={"Content-Type": "application/json"})
        except (BrokenPipeError, ConnectionResetError) as e:
            self.fail("connection dropped instead of a 413: %r" % e)
        self.assertEqual(r.status, 413, r)
        self.assertEqual(r.json()["error"]["code"], "too_large")

    def curl(self, *args):
        """Runs curl against the daemon: (status, body bytes); skips when curl is missing."""
        if shutil.which("curl") is None:
            self.skipTest("curl is not installed")
        p = subprocess.run(["curl", "-sS", "-o", "-", "-w", "\n%{http_code}", *args],
                           capture_output=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        body, _, status = p.stdout.rpartition(b"\n")
        return int(status), body

    def test_curl_expect_100_continue(self):
        url = "http://127.0.0.1:%d/api/v1/items" % self.srv.port
        with tempfile.TemporaryDirectory() as d:
            big = os.path.join(d, "big.json")
            with open(big, "w", encoding="utf-8") as f:
                json.dump(item(body="长" * 3000), f, ensure_ascii=False)
            status, out = self.curl("-H", "Expect: 100-continue", "-H",
                                    "Content-Type: application/json; charset=utf-8",
                                    "--data-binary", "@" + big, url)
            self.assertEqual(status, 201, out)
            att = os.path.join(d, "投诉材料（一）.pdf")
            data = b"%PDF-1.4\n" + os.urandom(100000 - 9)  # a PDF by its content (#14 p. 15)
            with open(att, "wb") as f:
                f.write(data)
            status, out = self.curl("-H", "Expect: 100-continue", "-F", "kind=complaint",
                                    "-F", "subject=材料", "-F", "body=见附件", "-F",
                                    "phone=13812345678", "-F", "publish=on", "-F",
                                    "attachment=@%s;type=application/pdf" % att, url)
            self.assertEqual(status, 201, out)
            if self.staff:
                it = self.srv.request("GET", "/api/v1/items/" + json.loads(out)["tracking"],
                                      headers=self.staff).json()
                self.assertEqual([(a["filename"], a["size"], a["content_type"])
                                  for a in it["attachments"]],
                                 [("投诉材料（一）.pdf", len(data), "application/pdf")])
            with open(big, "w", encoding="utf-8") as f:
                json.dump(item(body="x" * (2 * MAX_BODY)), f)
            status, out = self.curl("-H", "Expect: 100-continue", "-H",
                                    "Content-Type: application/json", "--data-binary",
                                    "@" + big, url)
            self.assertEqual(status, 413, out)
            self.assertEqual(json.loads(out)["error"]["code"], "too_large")

    def test_oversized_chunked_body_is_413(self):
        # no Content-Length: the limit applies while the body streams in
        import http.client
        conn = http.client.HTTPConnection("127.0.0.1", self.srv.port, timeout=30)
        try:
            conn.putrequest("POST", "/api/v1/items")
            conn.putheader("Content-Type", "application/json")
            conn.putheader("Transfer-Encoding", "chunked")
            conn.endheaders()
            chunk = b"x" * 65536
            try:
                for _ in range(MAX_BODY // len(chunk) + 2):
                    conn.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                conn.send(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                pass
            r = conn.getresponse()
            self.assertEqual(r.status, 413)
        finally:
            conn.close()

    def test_injection_strings_are_data(self):
        evil = item(subject="'; DROP TABLE items; --", body="<script>alert('x')</script>\" OR 1=1",
                    name="Robert'); DROP TABLE accounts;--")
        a = self.submit(evil)
        t = self.track(a["tracking"], a["query_code"]).json()
        self.assertEqual(t["subject"], evil["subject"])
        with sqlite3.connect(self.srv.db) as db:
            row = db.execute("SELECT subject, body, name FROM items WHERE tracking = ?",
                             (a["tracking"],)).fetchone()
        self.assertEqual(row, (evil["subject"], evil["body"], evil["name"]))
        if self.staff:
            it = self.srv.request("GET", "/api/v1/items/" + a["tracking"],
                                  headers=self.staff).json()
            self.assertEqual((it["subject"], it["body"], it["name"]),
                             (evil["subject"], evil["body"], evil["name"]))

    def test_unknown_number_and_wrong_code_are_the_same_404(self):
        a = self.submit(GOOD)
        wrong = self.track(a["tracking"], "AAAAAAAAAAAA")
        unknown = self.track("XJ-20250930-99999", a["query_code"])
        garbage = self.track("'; DROP TABLE items; --", "x")
        nocode = self.srv.request("GET", "/api/v1/track/" + a["tracking"])
        for r in (wrong, unknown, garbage, nocode):
            self.assertEqual(r.status, 404, r)
            self.assertEqual(r.body, wrong.body)
        r = self.srv.request("GET", "/api/v1/items/XJ-20250930-99999", headers=self.staff or {})
        self.assertIn(r.status, (401, 404) if self.staff is None else (404,))

    def test_submissions_are_not_limited_with_rate_0(self):
        for _ in range(12):
            self.submit(GOOD)


class DefaultSizeLimits(unittest.TestCase):
    """With the default limits (max_body 10 MiB, max_json 1 MiB): a JSON submission carries no
    attachments, so a JSON body of megabytes is too large (413) before it is parsed, while a
    form of the same size is read and its overlong field named (400)."""

    @classmethod
    def setUpClass(cls):
        cls.srv = harness.Server(env={"CIVICDESK_SUBMIT_RATE": "0"}).start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.cleanup()

    def test_json_of_two_mebibytes_is_413(self):
        body = json.dumps(item(body="字" * (1 << 20)), ensure_ascii=False).encode()
        self.assertGreater(len(body), 2 << 20)
        r = self.srv.request("POST", "/api/v1/items", body=body,
                             headers={"Content-Type": "application/json"})
        self.assertEqual(r.status, 413, r)
        self.assertEqual(r.json()["error"]["code"], "too_large")
        self.assertIn("1048576 bytes", r.json()["error"]["message"])

    def test_form_of_two_mebibytes_names_the_field(self):
        body = urllib.parse.urlencode({"kind": "letter", "subject": "s",
                                       "body": "x" * (2 << 20)}).encode()
        r = self.srv.request("POST", "/api/v1/items", body=body,
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(r.status, 400, r)
        self.assertEqual(r.json()["error"]["field"], "body")

    def test_json_at_the_largest_valid_size_is_stored(self):
        body = json.dumps(item(name="名" * 100, subject="长" * 200, body="字" * 20000)).encode()
        self.assertGreater(len(body), 100000)  # every character escaped as \uXXXX
        r = self.srv.request("POST", "/api/v1/items", body=body,
                             headers={"Content-Type": "application/json"})
        self.assertEqual(r.status, 201, r)


class RateLimits(unittest.TestCase):
    def setUp(self):
        self.srv = harness.Server(env={"CIVICDESK_SUBMIT_RATE": "3",
                                       "CIVICDESK_TEST_NOW": NOW}).start()

    def tearDown(self):
        self.srv.cleanup()

    def test_submissions_per_minute(self):
        # mistakes do not count: a citizen correcting the form is not held up
        bad = dict(GOOD, phone="12", email="")
        for _ in range(5):
            r = self.srv.request("POST", "/api/v1/items", json_body=bad)
            self.assertEqual((r.status, r.json()["error"]["field"]), (400, "phone"))
            r = self.srv.request("POST", "/open311/v2/requests.json",
                                 json_body={"service_code": "letter", "description": "d",
                                            "email": "not-an-address",
                                            "attribute[publish]": "true"})
            self.assertEqual(r.status, 400, r)
        for _ in range(3):
            r = self.srv.request("POST", "/api/v1/items", json_body=GOOD)
            self.assertEqual(r.status, 201, r)
        r = self.srv.request("POST", "/api/v1/items", json_body=GOOD)
        self.assertEqual(r.status, 429, r)
        self.assertEqual(r.json()["error"]["code"], "rate_limited")
        retry = int(r.header("Retry-After"))
        self.assertTrue(1 <= retry <= 60, retry)
        # the limit applies to Open311 too; a minute later the address may submit again
        r = self.srv.request("POST", "/open311/v2/requests.json", body=urllib.parse.urlencode(
            {"service_code": "letter", "description": "d", "email": "a@b.cn",
             "attribute[publish]": "true"}),
            headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(r.status, 429, r)
        self.assertEqual(r.json()[0]["code"], 429)
        self.srv.request("POST", "/api/v1/test/clock", json_body={"now": "2025-09-30T10:01:01"})
        r = self.srv.request("POST", "/api/v1/items", json_body=GOOD)
        self.assertEqual(r.status, 201, r)

    def test_failed_lookups_are_slowed_down(self):
        r = self.srv.request("POST", "/api/v1/items", json_body=GOOD)
        a = r.json()
        for i in range(10):
            r = self.srv.request("GET", "/api/v1/track/XJ-20250930-%05d" % (500 + i),
                                 headers={"X-Query-Code": "WRONGWRONG22"})
            self.assertEqual(r.status, 404, r)
        # others' mistakes at the same address do not hold back a right code (#14 point 14)
        r = self.srv.request("GET", "/api/v1/track/" + a["tracking"],
                             headers={"X-Query-Code": a["query_code"]})
        self.assertEqual(r.status, 200, r)
        # walking the sequential numbers from one address is stopped (100 failures)
        for i in range(10, 100):
            r = self.srv.request("GET", "/api/v1/track/XJ-20250930-%05d" % (500 + i),
                                 headers={"X-Query-Code": "WRONGWRONG22"})
            self.assertEqual(r.status, 404, (i, r))
        r = self.srv.request("GET", "/api/v1/track/" + a["tracking"],
                             headers={"X-Query-Code": a["query_code"]})
        self.assertEqual(r.status, 429, r)
        self.assertGreater(int(r.header("Retry-After")), 0)
        self.srv.request("POST", "/api/v1/test/clock", json_body={"now": "2025-09-30T10:11"})
        r = self.srv.request("GET", "/api/v1/track/" + a["tracking"],
                             headers={"X-Query-Code": a["query_code"]})
        self.assertEqual(r.status, 200, r)


class BehindAProxy(unittest.TestCase):
    """With trusted_proxies, the rate limit and the audit log see the citizen's address from
    X-Forwarded-For; without it, the header is the client's word and is ignored."""

    def post(self, srv, xff):
        return srv.request("POST", "/api/v1/items", json_body=GOOD,
                           headers={"X-Forwarded-For": xff})

    def test_trusted_proxy(self):
        # the proxy is listed in its IPv4-mapped form, as a dual-stack listener names it
        srv = harness.Server(env={"CIVICDESK_SUBMIT_RATE": "2", "CIVICDESK_TEST_NOW": NOW,
                                  "CIVICDESK_TRUSTED_PROXIES": "10.9.9.9, ::ffff:127.0.0.1"}).start()
        try:
            for xff in ("203.0.113.5", "198.51.100.1, 203.0.113.5"):
                self.assertEqual(self.post(srv, xff).status, 201)
            self.assertEqual(self.post(srv, "203.0.113.5").status, 429)
            # another citizen behind the same proxy is not held up; a trusted hop is skipped
            self.assertEqual(self.post(srv, "203.0.113.6").status, 201)
            self.assertEqual(self.post(srv, "203.0.113.6, 10.9.9.9").status, 201)
            self.assertEqual(self.post(srv, "203.0.113.6").status, 429)
            # garbage stops the walk at the proxy itself, which has a budget of its own
            self.assertEqual(self.post(srv, "not-an-address").status, 201)
            srv.add_user("adm_px", "admin")
            r = srv.request("POST", "/api/v1/login", headers={"X-Forwarded-For": "203.0.113.9"},
                            json_body={"username": "adm_px", "password": "wrong password"})
            self.assertEqual(r.status, 401)
            audit = srv.staff("adm_px2", "admin").request(
                "GET", "/api/v1/audit?actor=adm_px").json()["entries"]
            self.assertEqual([(e["action"], e["addr"]) for e in audit],
                             [("login_failed", "203.0.113.9")])
        finally:
            srv.cleanup()

    def test_untrusted_header_is_ignored(self):
        srv = harness.Server(env={"CIVICDESK_SUBMIT_RATE": "2",
                                  "CIVICDESK_TEST_NOW": NOW}).start()
        try:
            self.assertEqual(self.post(srv, "203.0.113.5").status, 201)
            self.assertEqual(self.post(srv, "203.0.113.6").status, 201)
            self.assertEqual(self.post(srv, "203.0.113.7").status, 429)
        finally:
            srv.cleanup()

    def test_bad_value_is_refused(self):
        r = harness.run_cli("serve", env={"CIVICDESK_TRUSTED_PROXIES": "127.0.0.1, proxy.lan",
                                          "CIVICDESK_DB": "/nonexistent/x.db"})
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("trusted_proxies: 'proxy.lan' is not a numeric IP address", r.stderr)


class Open311(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = harness.Server(env={"CIVICDESK_SUBMIT_RATE": "0",
                                      "CIVICDESK_TEST_NOW": NOW}).start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.cleanup()

    def post(self, fields, status=201):
        r = self.srv.request("POST", "/open311/v2/requests.json",
                             body=urllib.parse.urlencode(fields),
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(r.status, status, r)
        return r.json()

    PRIVATE = {"service_code": "complaint", "first_name": "Wei", "last_name": "Wang",
               "email": "wangwei@example.cn", "phone": "13912345678",
               "description": "Noise at night.\nCall me at 13912345678 or wangwei@example.cn. "
                              "Wang Wei, ID 11010519491231002X."}

    def test_services(self):
        r = self.srv.request("GET", "/open311/v2/services.json")
        self.assertEqual(r.status, 200)
        s = r.json()
        self.assertEqual([x["service_code"] for x in s], ["letter", "complaint", "consultation"])
        for x in s:
            self.assertEqual(x["type"], "realtime")
            self.assertIs(x["metadata"], True)
            self.assertTrue(x["service_name"] and x["description"] and x["group"])
        r = self.srv.request("GET", "/open311/v2/services/complaint.json")
        self.assertEqual(r.status, 200)
        d = r.json()
        self.assertEqual(d["service_code"], "complaint")
        attr = d["attributes"][0]
        self.assertEqual((attr["code"], attr["datatype"], attr["required"]),
                         ("publish", "singlevaluelist", True))
        self.assertEqual({v["key"] for v in attr["values"]}, {"true", "false"})
        r = self.srv.request("GET", "/open311/v2/services/petition.json")
        self.assertEqual(r.status, 404)
        self.assertEqual(r.json()[0]["code"], 404)

    def test_round_trip_with_consent_shows_no_personal_data(self):
        a = self.post(dict(self.PRIVATE, **{"attribute[publish]": "true"}))[0]
        self.assertRegex(a["service_request_id"], TRACKING)
        self.assertEqual(len(a["query_code"]), 12)
        self.assertIn(a["query_code"], a["service_notice"])
        # the citizen follows it with the query code
        r = self.srv.request("GET", "/api/v1/track/" + a["service_request_id"],
                             headers={"X-Query-Code": a["query_code"]})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["subject"], "Noise at night.")
        r = self.srv.request("GET", "/open311/v2/requests/%s.json" % a["service_request_id"])
        self.assertEqual(r.status, 200, r)
        req = r.json()[0]
        self.assertEqual(req["service_request_id"], a["service_request_id"])
        self.assertEqual(req["status"], "open")
        self.assertEqual(req["service_code"], "complaint")
        self.assertEqual(req["expected_datetime"], REPLY_DUE)
        self.assertEqual(req["requested_datetime"], "2025-09-30T10:00:00+08:00")
        # not published yet: status, service and dates only (issue #14 point 4)
        self.assertIsNone(req["description"])
        self.assert_private(r.body)
        r = self.srv.request("GET", "/open311/v2/requests.json")
        self.assertEqual(r.status, 200)
        got = [x for x in r.json() if x["service_request_id"] == a["service_request_id"]]
        self.assertEqual([(x["description"], x["title"]) for x in got], [(None, None)])
        # once replied, it is listed, closed, with a masked reply
        with sqlite3.connect(self.srv.db) as db:
            db.execute("UPDATE items SET state = 'replied', replied_at = created, reply = ?, "
                       "published = 1 WHERE tracking = ?", ("Dear Wang Wei (13912345678): fixed.",
                                              a["service_request_id"]))
        r = self.srv.request("GET", "/open311/v2/requests.json")
        got = [x for x in r.json() if x["service_request_id"] == a["service_request_id"]]
        self.assertEqual(len(got), 1, r)
        self.assertEqual(got[0]["status"], "closed")
        self.assertIn("fixed.", got[0]["status_notes"])
        self.assert_private(r.body)

    def assert_private(self, body):
        text = body.decode("utf-8")
        for secret in ["13912345678", "wangwei@", "Wang Wei", "11010519491231002X",
                       "\"first_name\"", "\"email\"", "\"phone\""]:
            self.assertNotIn(secret, text)

    def test_without_consent_is_404(self):
        a = self.post(dict(self.PRIVATE, **{"attribute[publish]": "false"}))[0]
        r = self.srv.request("GET", "/open311/v2/requests/%s.json" % a["service_request_id"])
        self.assertEqual(r.status, 404, r)
        unknown = self.srv.request("GET", "/open311/v2/requests/XJ-20250930-99999.json")
        self.assertEqual(unknown.status, 404)
        self.assertEqual(r.json()[0]["code"], 404)
        self.assertEqual(unknown.json()[0]["code"], 404)
        self.assertNotIn("Wang", r.body.decode())

    def test_json_post(self):
        r = self.srv.request("POST", "/open311/v2/requests.json", json_body={
            "service_code": "consultation", "description": "How do I renew a licence?",
            "email": "a@b.cn", "attribute": {"publish": False}})
        self.assertEqual(r.status, 201, r)
        self.assertRegex(r.json()[0]["service_request_id"], TRACKING)

    def published(self, fields):
        """Posts a request with consent and puts it on the public board; its id."""
        a = self.post(dict(fields, **{"attribute[publish]": "true"}))[0]
        with sqlite3.connect(self.srv.db) as db:
            db.execute("UPDATE items SET state = 'replied', replied_at = created, reply = 'ok', "
                       "published = 1 WHERE tracking = ?", (a["service_request_id"],))
        return a["service_request_id"]

    def listed(self, query, status=200):
        r = self.srv.request("GET", "/open311/v2/requests.json?" + query)
        self.assertEqual(r.status, status, r)
        if status != 200:
            self.assertEqual(r.json()[0]["code"], status)
            return None
        return [x["service_request_id"] for x in r.json()]

    def test_list_merges_its_lists_in_order(self):
        # Each (service, status) list is read in part, its share of the page, then again only
        # when it runs out (issue 20): a page of one busy service still comes out whole and in
        # order, newest receipt first, as the same list read at once.
        base = {"description": "Merge me.", "email": "m@example.cn"}
        for code, n in (("complaint", 3), ("consultation", 2), ("letter", 12)):
            for _ in range(n):
                self.post(dict(base, service_code=code, **{"attribute[publish]": "true"}))
        r = self.srv.request("GET", "/open311/v2/requests.json?limit=200")
        self.assertEqual(r.status, 200, r)
        full = [(x["service_request_id"], x["service_code"], x["status"]) for x in r.json()]
        self.assertEqual(len(set(full)), len(full))
        with sqlite3.connect(self.srv.db) as db:
            order = [t for (t,) in db.execute(
                "SELECT tracking FROM items WHERE publish = 1 ORDER BY received DESC, id DESC")]
        self.assertEqual([t for t, _, _ in full], order)
        for limit in range(1, 18):
            with self.subTest(limit=limit):
                self.assertEqual(self.listed("limit=%d" % limit),
                                 [t for t, _, _ in full][:limit])
                want = [t for t, c, s in full
                        if c in ("letter", "complaint") and s == "open"][:limit]
                self.assertEqual(self.listed("limit=%d&service_code=letter,complaint&status=open"
                                             % limit), want)

    def test_list_filters_of_the_spec(self):
        base = {"description": "Filter me.", "email": "f@example.cn"}
        a = self.published(dict(base, service_code="letter"))
        b = self.published(dict(base, service_code="complaint"))
        c = self.published(dict(base, service_code="consultation"))
        hidden = self.post(dict(base, service_code="letter",
                                **{"attribute[publish]": "false"}))[0]["service_request_id"]
        q = urllib.parse.urlencode
        # service_request_id: a comma-delimited list, overriding every other argument
        self.assertEqual(sorted(self.listed(q({"service_request_id": "%s,%s" % (a, c)}))),
                         sorted([a, c]))
        self.assertEqual(self.listed(q({"service_request_id": b, "service_code": "letter",
                                        "status": "open"})), [b])
        self.assertEqual(self.listed(q({"service_request_id": hidden})), [])
        self.assertEqual(self.listed(q({"service_request_id": "XJ-20250930-99999"})), [])
        # service_code and status: comma-delimited lists
        got = self.listed(q({"service_code": "letter,consultation"}))
        self.assertIn(a, got)
        self.assertIn(c, got)
        self.assertNotIn(b, got)
        got = self.listed(q({"status": "open,closed"}))
        self.assertTrue({a, b, c} <= set(got), got)
        self.assertNotIn(a, self.listed(q({"status": "open"})))
        # start_date / end_date on requested_datetime, in w3 format
        for start, end, inside in [("2025-09-30T02:00:01Z", None, False),
                                   ("2025-09-30T01:00:00Z", None, True),
                                   ("2025-09-30T10:00:00+08:00", "2025-09-30T10:00:00+08:00",
                                    True),
                                   (None, "2025-09-30T01:59:59Z", False),
                                   ("2025-09-29T00:00:00Z", "2025-10-01T00:00:00Z", True),
                                   ("2025-10-01T00:00:00Z", None, False)]:
            with self.subTest(start=start, end=end):
                args = {k: v for k, v in (("start_date", start), ("end_date", end)) if v}
                got = self.listed(q(args))
                self.assertEqual(a in got, inside, got)
        # a client that does not escape the '+' of an offset
        self.assertIn(a, self.listed("start_date=2025-09-30T09:00:00+08:00"))
        self.listed(q({"start_date": "yesterday"}), status=400)
        self.listed(q({"end_date": "2025-13-01T00:00:00Z"}), status=400)

    def test_errors_of_the_http_layer_are_georeport_errors(self):
        r = self.srv.request("DELETE", "/open311/v2/requests.json")
        self.assertEqual(r.status, 405, r)
        self.assertEqual(r.json()[0]["code"], 405)
        self.assertTrue(r.json()[0]["description"])
        r = self.srv.request("GET", "/open311/v2/services.txt")
        self.assertEqual(r.status, 404, r)
        self.assertEqual(r.json()[0]["code"], 404)
        body = urllib.parse.urlencode({"service_code": "letter", "email": "a@b.cn",
                                       "attribute[publish]": "true",
                                       "description": "x" * (11 * 1024 * 1024)})
        r = self.srv.request("POST", "/open311/v2/requests.json", body=body,
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(r.status, 413, r)
        self.assertEqual(r.json()[0]["code"], 413)
        # the JSON API keeps its own error object
        r = self.srv.request("DELETE", "/api/v1/health")
        self.assertEqual(r.status, 405, r)
        self.assertEqual(r.json()["error"]["code"], "method_not_allowed")

    def test_errors(self):
        cases = [
            ({"description": "d", "email": "a@b.cn", "attribute[publish]": "true"},
             "service_code"),
            ({"service_code": "graffiti", "description": "d", "email": "a@b.cn",
              "attribute[publish]": "true"}, "service_code"),
            ({"service_code": "letter", "email": "a@b.cn", "attribute[publish]": "true"},
             "description"),
            ({"service_code": "letter", "description": "d", "email": "a@b.cn"},
             "attribute[publish]"),
            ({"service_code": "letter", "description": "d", "email": "a@b.cn",
              "attribute[publish]": "maybe"}, "attribute[publish]"),
            ({"service_code": "letter", "description": "d", "attribute[publish]": "true"},
             "phone"),
            ({"service_code": "letter", "description": "d", "phone": "123",
              "attribute[publish]": "true"}, "phone"),
        ]
        for fields, what in cases:
            with self.subTest(what):
                e = self.post(fields, status=400)
                self.assertEqual(e[0]["code"], 400)
                self.assertIn(what, e[0]["description"])


class Restart(unittest.TestCase):
    def test_items_survive_a_restart(self):
        env = {"CIVICDESK_SUBMIT_RATE": "0", "CIVICDESK_TEST_NOW": NOW}
        srv = harness.Server(env=env).start()
        try:
            a = srv.request("POST", "/api/v1/items", json_body=GOOD).json()
            body, ctype = multipart([("kind", "complaint"), ("subject", "s"), ("body", "b"),
                                     ("email", "a@b.cn"), ("publish", "false")],
                                    [("attachment", "a.txt", "text/plain", b"hello\n")])
            b = srv.request("POST", "/api/v1/items", body=body,
                            headers={"Content-Type": ctype}).json()
            before = [srv.request("GET", "/api/v1/track/" + x["tracking"],
                                  headers={"X-Query-Code": x["query_code"]}).json()
                      for x in (a, b)]
            srv.stop()
            self.assertEqual(srv.exit_code, 0, srv.output)
            srv2 = harness.Server(env=env, dbdir=srv.dir).start()
            try:
                after = [srv2.request("GET", "/api/v1/track/" + x["tracking"],
                                      headers={"X-Query-Code": x["query_code"]}).json()
                         for x in (a, b)]
                self.assertEqual(before, after)
                self.assertEqual(after[0]["clocks"]["reply"]["due"], REPLY_DUE)
                c = srv2.request("POST", "/api/v1/items", json_body=GOOD).json()
                self.assertEqual(int(c["tracking"][-5:]), int(b["tracking"][-5:]) + 1)
                staff = staff_session(srv2)
                if staff is not None:
                    it = srv2.request("GET", "/api/v1/items/" + b["tracking"],
                                      headers=staff).json()
                    self.assertEqual([(f["filename"], f["size"], f["content_type"])
                                      for f in it["attachments"]], [("a.txt", 6, "text/plain")])
                with sqlite3.connect(srv.db) as db:
                    row = db.execute("SELECT a.filename, a.size, a.content_type, a.data FROM "
                                     "attachments a JOIN items i ON i.id = a.item_id WHERE "
                                     "i.tracking = ?", (b["tracking"],)).fetchone()
                self.assertEqual(row, ("a.txt", 6, "text/plain", b"hello\n"))
            finally:
                srv2.stop()
        finally:
            srv.cleanup()


if __name__ == "__main__":
    harness.main()
