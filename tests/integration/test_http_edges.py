"""HTTP and input edges of the thirteenth session, driven as outside clients drive the real
daemon: raw sockets where a library would tidy the request, curl and Python's http.client
elsewhere. What the twelfth session's audit (test_contract_audit4.py) left in the README's
"HTTP and input, for later":
- a body whose framing libmicrohttpd 0.9.75 reads wrongly or not at all (RFC 9112 section 6):
  `Transfer-Encoding: gzip, chunked` was read until the client closed, so the client waited
  for the connection's timeout and got nothing; Transfer-Encoding beside Content-Length,
  chunked in HTTP/1.0 and two different Content-Lengths were taken (the item stored, by
  whichever length the library chose). Each is answered at once now, 501 or 400 with the JSON
  error, and the connection closed;
- a body sent with Content-Encoding (gzip) was read as it came: 415 naming the coding now;
- an Open311 JSON body with \\u0000 in a field got the general "send a form or a JSON object":
  the answer names the field now, as the JSON API's does;
- an uploaded file's name over 255 bytes was refused (400, the whole submission lost): cut
  before its extension on a character boundary now, the same way in Open311's `media`, the web
  form and the JSON API's multipart form;
- the JSON API's account errors were English sentences only, while the admin and password
  pages translate them: the API negotiates no language, so they stay English (as the command
  line's) and name their rule now, for a client to translate.
"""
import gzip
import json
import os
import re
import struct
import subprocess
import sys
import tempfile
import unittest
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

harness.BIN = os.path.abspath(harness.BIN)

PW = "Edges-Passw0rd"
ITEM = {"kind": "letter", "subject": "路灯不亮", "body": "幸福路 12 号的路灯坏了三天。",
        "name": "张三", "phone": "13812345678", "publish": True}


def start(env=None):
    e = {"CIVICDESK_SUBMIT_RATE": "0", "CIVICDESK_DIGEST": "off",
         # long enough that a request left waiting for its body fails the test's own timeout
         "CIVICDESK_HTTP_TIMEOUT": "120"}
    e.update(env or {})
    return harness.Server(env=e).start().drain()


exchange = harness.exchange


def png(width=2, height=2):
    """A small valid PNG."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data +
                struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff))
    raw = b"".join(b"\0" + b"\xff\x00\x00" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" +
            chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


class FramingAnsweredAtOnce(unittest.TestCase):
    """RFC 9112 section 6: a request whose body's end cannot be told is answered before its
    body is read, with the JSON error, and its connection closed (the requests below send no
    Connection: close: the server closes). Before, libmicrohttpd read `gzip, chunked` until the
    client gave up, and took the others as items."""

    @classmethod
    def setUpClass(cls):
        cls.server = start()

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def head(self, path="/api/v1/items", version="HTTP/1.1", extra=()):
        return ("\r\n".join(["POST %s %s" % (path, version), "Host: 127.0.0.1",
                             "Content-Type: application/json"] + list(extra)) +
                "\r\n\r\n").encode()

    def test_refused_at_once(self):
        s = self.server
        body = json.dumps(ITEM).encode()
        chunked = b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n"
        cases = [
            ("gzip, chunked", self.head(extra=["Transfer-Encoding: gzip, chunked"]) +
             b"%x\r\n" % 20 + gzip.compress(body)[:20] + b"\r\n", 501, "not_implemented",
             "transfer coding gzip is not implemented"),
            ("deflate then chunked on two lines",
             self.head(extra=["Transfer-Encoding: deflate", "Transfer-Encoding: chunked"]),
             501, "not_implemented", "transfer coding deflate"),
            ("gzip alone", self.head(extra=["Transfer-Encoding: gzip"]) + body, 400,
             "bad_request", "chunked must be the last transfer coding"),
            ("chunked, chunked", self.head(extra=["Transfer-Encoding: chunked, chunked"]) +
             chunked, 400, "bad_request", "chunked once"),
            ("Transfer-Encoding and Content-Length",
             self.head(extra=["Transfer-Encoding: chunked", "Content-Length: %d" % len(body)]) +
             chunked, 400, "bad_request", "Transfer-Encoding and Content-Length are both given"),
            ("chunked in HTTP/1.0",
             self.head(version="HTTP/1.0", extra=["Transfer-Encoding: chunked"]) + chunked, 400,
             "bad_request", "HTTP/1.0 request cannot have a Transfer-Encoding"),
            ("two Content-Lengths",
             self.head(extra=["Content-Length: %d" % len(body), "Content-Length: 5"]) + body,
             400, "bad_request", "Content-Length is given 2 times with different values"),
            ("an unknown path", self.head(path="/api/v1/nothing",
                                          extra=["Transfer-Encoding: gzip, chunked"]),
             501, "not_implemented", "gzip"),
        ]
        for name, data, status, code, words in cases:
            with self.subTest(case=name):
                answers = exchange(s.port, data)
                self.assertEqual(len(answers), 1, answers)
                st, headers, raw = answers[0]
                self.assertEqual(st, status, raw)
                self.assertEqual(headers["content-type"], "application/json; charset=utf-8")
                self.assertEqual(headers.get("connection", "").lower(), "close", headers)
                err = json.loads(raw)["error"]
                self.assertEqual(err["code"], code, err)
                self.assertIn(words, err["message"])
        # Open311 answers the same refusal as GeoReport's error list
        st, _, raw = exchange(s.port, self.head(
            path="/open311/v2/requests.json", extra=["Transfer-Encoding: gzip, chunked"]))[0]
        self.assertEqual(st, 501)
        err = json.loads(raw)
        self.assertEqual(err[0]["code"], 501)
        self.assertIn("gzip", err[0]["description"])
        # none of them stored an item (each asked to be published: it would be listed)
        self.assertEqual(s.request("GET", "/open311/v2/requests.json").json(), [])

    def test_good_framing_still_taken(self):
        """A lone chunked (its connection kept for a second request), HTTP/1.0 with a
        Content-Length, and the same Content-Length given twice are read as before."""
        s = self.server
        body = json.dumps(dict(ITEM, publish=False)).encode()
        chunked = b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n"
        answers = exchange(s.port, self.head(extra=["Transfer-Encoding: chunked"]) + chunked +
                           b"GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                           b"Connection: close\r\n\r\n")
        self.assertEqual([a[0] for a in answers], [201, 200], answers)
        for extra, version in [(["Content-Length: %d" % len(body)], "HTTP/1.0"),
                               (["Content-Length: %d" % len(body)] * 2 + ["Connection: close"],
                                "HTTP/1.1"),
                               (["Content-Length: %d" % len(body), "Content-Encoding: identity",
                                 "Connection: close"], "HTTP/1.1")]:
            with self.subTest(extra=extra, version=version):
                answers = exchange(s.port, self.head(version=version, extra=extra) + body)
                self.assertEqual(answers[0][0], 201, answers)


class ContentEncodingRefused(unittest.TestCase):
    """A body sent compressed (curl --data-binary with Content-Encoding: gzip, as a client that
    compresses its uploads sends it) is not decoded here: 415 naming the coding, with
    Accept-Encoding: identity (RFC 9110 section 15.5.16), and nothing stored. Before, the
    compressed bytes were read as they came (a plain body labelled gzip was stored)."""

    @classmethod
    def setUpClass(cls):
        cls.server = start()

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def curl(self, *args):
        r = subprocess.run(["curl", "-sS", "-i", *args], capture_output=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        out = r.stdout
        while out.startswith(b"HTTP/1.1 100"):
            out = out.partition(b"\r\n\r\n")[2]
        return harness.parse_answers(out)[0]

    def test_gzip_json_and_form(self):
        s = self.server
        url = "http://127.0.0.1:%d" % s.port
        body = json.dumps(ITEM).encode()
        with tempfile.TemporaryDirectory() as d:
            gz = os.path.join(d, "item.json.gz")
            with open(gz, "wb") as f:
                f.write(gzip.compress(body))
            plain = os.path.join(d, "item.json")
            with open(plain, "wb") as f:
                f.write(body)
            for name, args, coding in [
                    ("gzip JSON", ["-H", "Content-Type: application/json", "-H",
                                   "Content-Encoding: gzip", "--data-binary", "@" + gz,
                                   url + "/api/v1/items"], "gzip"),
                    ("plain JSON labelled gzip", ["-H", "Content-Type: application/json",
                                                  "-H", "Content-Encoding: GZIP",
                                                  "--data-binary", "@" + plain,
                                                  url + "/api/v1/items"], "GZIP"),
                    ("br form", ["-H", "Content-Encoding: br", "-F", "kind=letter",
                                 "-F", "subject=路灯", "-F", "body=坏了", "-F",
                                 "phone=13812345678", "-F", "publish=true",
                                 url + "/api/v1/items"], "br"),
            ]:
                with self.subTest(case=name):
                    status, headers, raw = self.curl(*args)
                    self.assertEqual(status, 415, raw)
                    self.assertEqual(headers.get("accept-encoding"), "identity")
                    err = json.loads(raw)["error"]
                    self.assertEqual((err["code"], err["field"]),
                                     ("unsupported_content_encoding", "Content-Encoding"))
                    self.assertIn("Content-Encoding: " + coding, err["message"])
            # Open311: GeoReport's error list names it too
            status, _, raw = self.curl("-H", "Content-Type: application/json", "-H",
                                       "Content-Encoding: gzip", "--data-binary", "@" + gz,
                                       url + "/open311/v2/requests.json")
            self.assertEqual(status, 415, raw)
            self.assertIn("Content-Encoding: gzip", json.loads(raw)[0]["description"])
            self.assertEqual(s.request("GET", "/open311/v2/requests.json").json(), [])
            # no body, or the identity coding: nothing to refuse
            status, _, raw = self.curl("-H", "Content-Encoding: gzip", url + "/api/v1/health")
            self.assertEqual(status, 200, raw)
            status, _, raw = self.curl("-H", "Content-Type: application/json", "-H",
                                       "Content-Encoding: identity", "--data-binary",
                                       "@" + plain, url + "/api/v1/items")
            self.assertEqual(status, 201, raw)


class Open311NulNamesTheField(unittest.TestCase):
    """POST /open311/v2/requests.json with a JSON body holding \\u0000 (valid JSON, as Python's
    json.dumps writes a NUL character): the 400's description names the field that holds it,
    as the JSON API's error does, instead of "send a form or a JSON object"."""

    @classmethod
    def setUpClass(cls):
        cls.server = start()

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def test_each_field(self):
        s = self.server
        good = {"service_code": "letter", "description": "幸福路的路灯坏了。",
                "first_name": "三", "last_name": "张", "email": "zhang@example.cn",
                "attribute": {"publish": True}}
        for field in ["description", "first_name", "email", "service_code"]:
            with self.subTest(field=field):
                body = dict(good)
                body[field] = body[field][:2] + "\0" + body[field][2:]
                r = s.request("POST", "/open311/v2/requests.json",
                              body=json.dumps(body).encode(),
                              headers={"Content-Type": "application/json"})
                self.assertEqual(r.status, 400, r)
                err = r.json()
                self.assertEqual(err[0]["code"], 400)
                self.assertTrue(err[0]["description"].startswith(field + " holds the "
                                                                 "character \\u0000"), err)
        # the same body without the NUL is taken
        r = s.request("POST", "/open311/v2/requests.json", body=json.dumps(good).encode(),
                      headers={"Content-Type": "application/json"})
        self.assertEqual(r.status, 201, r)
        self.assertEqual(len(s.request("GET", "/open311/v2/requests.json").json()), 1)


class LongFileNamesCut(unittest.TestCase):
    """A file uploaded under a name of more than 255 bytes (Chinese, three bytes a character:
    what a citizen's phone names a photo after a long description) is kept under the name cut
    before its extension on a character boundary: the same name through Open311's `media`, the
    web form (curl with a cookie jar, as a browser sends it), the JSON API's multipart form and
    a citizen's supplement. Before, each refused the whole submission with 400."""

    NAME = "幸福路十二号门口的路灯" * 12 + ".png"  # 360 bytes before the extension

    @classmethod
    def setUpClass(cls):
        cls.server = start()
        cls.server.add_user("disp_e", "dispatcher", password=PW)
        cls.disp = cls.server.login("disp_e", PW)
        cls.server.add_user("hand_e", "handler", "法规处", password=PW)
        cls.hand = cls.server.login("hand_e", PW)
        cls.dir = tempfile.mkdtemp(prefix="civicdesk-edges-")
        cls.png = os.path.join(cls.dir, "photo.png")
        with open(cls.png, "wb") as f:
            f.write(png())

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()
        import shutil
        shutil.rmtree(cls.dir, ignore_errors=True)

    def curl(self, *args):
        r = subprocess.run(["curl", "-sS", *args], capture_output=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout.decode("utf-8")

    def attachment_name(self, tracking, count=1):
        """The file name of the item's last attachment, of count."""
        r = self.disp.request("GET", "/api/v1/items/" + tracking)
        self.assertEqual(r.status, 200, r)
        att = r.json()["attachments"]
        self.assertEqual(len(att), count, att)
        self.assertEqual(att[-1]["content_type"], "image/png")
        return att[-1]["filename"]

    def check_cut(self, name):
        raw = name.encode("utf-8")
        self.assertLessEqual(len(raw), 255)
        self.assertGreater(len(raw), 255 - 3)  # only the part of a character that did not fit
        self.assertTrue(name.endswith(".png"), name)
        self.assertTrue(self.NAME.startswith(name[:-4]), name)

    def test_every_form_cuts_alike(self):
        url = "http://127.0.0.1:%d" % self.server.port
        media = "%s=@%s;filename=%s;type=image/png"
        # Open311
        out = self.curl("-w", "\n%{http_code}", "-F", "service_code=letter",
                        "-F", "description=路灯坏了", "-F", "email=a@example.cn",
                        "-F", "attribute[publish]=false", "-F", media % ("media", self.png, self.NAME),
                        url + "/open311/v2/requests.json")
        body, _, code = out.rpartition("\n")
        self.assertEqual(code, "201", body)
        o311 = self.attachment_name(json.loads(body)[0]["service_request_id"])
        self.check_cut(o311)
        # the JSON API's multipart form
        out = self.curl("-w", "\n%{http_code}", "-F", "kind=letter", "-F", "subject=路灯",
                        "-F", "body=路灯坏了", "-F", "phone=13812345678",
                        "-F", "publish=false", "-F", media % ("attachment", self.png, self.NAME),
                        url + "/api/v1/items")
        body, _, code = out.rpartition("\n")
        self.assertEqual(code, "201", body)
        item = json.loads(body)
        self.assertEqual(self.attachment_name(item["tracking"]), o311)
        # the citizen's supplement, once the handler asks for one
        t = item["tracking"]
        for who, action, fields in [(self.disp, "assign", {"section": "法规处"}),
                                    (self.hand, "accept", {}),
                                    (self.hand, "ask_citizen", {"reason": "请补充照片"})]:
            r = who.request("POST", "/api/v1/items/%s/actions/%s" % (t, action),
                            json_body=fields)
            self.assertEqual(r.status, 200, r)
        out = self.curl("-w", "\n%{http_code}", "-H", "X-Query-Code: " + item["query_code"],
                        "-F", "text=照片见附件", "-F", media % ("attachment", self.png, self.NAME),
                        url + "/api/v1/track/%s/supplement" % t)
        body, _, code = out.rpartition("\n")
        self.assertEqual(code, "200", body)
        self.assertEqual(self.attachment_name(t, 2), o311)
        # the web form, as a browser sends it: its page first (cookie and form token)
        jar = os.path.join(self.dir, "cookies")
        page = self.curl("-c", jar, "-b", jar, url + "/submit?lang=en")
        token = re.search(r'name="csrf_token" value="([^"]*)"', page).group(1)
        out = self.curl("-c", jar, "-b", jar, "-o", "/dev/null", "-w",
                        "%{http_code} %{redirect_url}", "-F", "csrf_token=" + token,
                        "-F", "kind=letter", "-F", "subject=路灯", "-F", "body=路灯坏了",
                        "-F", "phone=13812345678", "-F", "publish=false",
                        "-F", media % ("attachment", self.png, self.NAME), url + "/submit")
        code, _, location = out.partition(" ")
        self.assertEqual(code, "303", out)
        tracking = re.search(r"done=(XJ-\d{8}-\d{5})", location).group(1)
        self.assertEqual(self.attachment_name(tracking), o311)


class AccountErrorsCarryTheirRule(unittest.TestCase):
    """The JSON API negotiates no language (every error is an English sentence beside a stable
    code), so its account errors stay in English, as `civicdesk user`'s, an administrator's
    tool; each now also names the rule it broke ("rule", the admin and password pages' own
    key for their translated message), for a client to word in its reader's language. Before,
    a client had only the English sentence."""

    @classmethod
    def setUpClass(cls):
        cls.server = start()
        cls.admin = cls.server.staff("admin_e", "admin")

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def test_rules(self):
        s, a = self.server, self.admin
        r = a.request("POST", "/api/v1/admin/users", json_body={"username": "hand_e",
                                                                "role": "handler",
                                                                "section": "法规处"})
        self.assertEqual(r.status, 201, r)
        for body, status, field, rule in [
                ({"username": "hand_e", "role": "handler", "section": "法规处"}, 409, None,
                 "exists"),
                ({"username": "9 x", "role": "handler", "section": "法规处"}, 400, "username",
                 "username"),
                ({"username": "hand_f", "role": "king"}, 400, "role", "role_unknown"),
                ({"username": "hand_f", "role": "handler"}, 400, "section", "section_needed"),
                ({"username": "hand_f", "role": "handler", "section": "没有这个处"}, 400,
                 "section", "section_unknown"),
                ({"username": "hand_f", "role": "dispatcher", "email": "not-an-address"}, 400,
                 "email", "email")]:
            with self.subTest(body=body):
                r = a.request("POST", "/api/v1/admin/users", json_body=body)
                self.assertEqual(r.status, status, r)
                err = r.json()["error"]
                self.assertEqual(err["rule"], rule, err)
                if field is not None:
                    self.assertEqual(err["field"], field, err)
                self.assertRegex(err["message"], r"^[a-z' ]+", err)  # English, as before
        r = a.request("PATCH", "/api/v1/admin/users/admin_e", json_body={"status": "suspended"})
        self.assertEqual((r.status, r.json()["error"].get("rule")), (400, "self"), r)
        # the password change: the policy's rule for a refused new password
        h = s.staff("hand_g", "handler", "法规处")
        for new, rule in [("Ab1!", "password_short"), ("alllowercase", "password_classes"),
                          ("Passw0rd!", "password_common")]:
            with self.subTest(new=new):
                r = h.request("POST", "/api/v1/password",
                              json_body={"old_password": "Test-Passw0rd", "new_password": new})
                self.assertEqual(r.status, 400, r)
                err = r.json()["error"]
                self.assertEqual((err["field"], err["rule"]), ("new_password", rule), err)


if __name__ == "__main__":
    harness.main()
