"""Input as citizens and their clients really send it (the ninth session's audit, "Input, for
later"), tidied instead of refused:
- a phone number with spaces, hyphens, dots, full-width digits or ＋, a +86 / 0086 / 86 country
  code, an area code in brackets: stored in one form (a mobile number as its 11 digits, a
  landline as area code, '-', number), whichever way it came in (JSON API, Open311, the web
  form, `civicdesk user --phone`), shown back in it, and the SMS gateway gets that form;
  nonsense is still a 400 naming phone, with examples a person can follow;
- an e-mail address with blanks around it (ASCII, ideographic, no-break) or a Chinese input
  method's ＠ and ．: stored tidied, and the acknowledgement goes to it;
- the JSON API's `lang` in any case, and the tags browsers and phones send (zh-CN, zh_TW,
  en-US, …) read as ours; any other language is still a 400 naming lang;
- Open311's multipart `media` file (GeoReport v2): kept as the item's attachment, with the web
  form's type and size limits and its scan, for staff only; too large is 413;
- the 413 answered before the body is read (Expect: 100-continue with a Content-Length over
  the limit) carries X-Request-Id, the id of its log line, as every other answer does.
"""
import html
import os
import re
import shutil
import socket
import sqlite3
import sys
import tempfile
import time
import unittest
import urllib.parse
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clamd  # noqa: E402
import harness  # noqa: E402
import peers  # noqa: E402
from test_notify import act, add_user, at_moment, set_clock, start_server  # noqa: E402
from test_pages import Browser  # noqa: E402

harness.BIN = os.path.abspath(harness.BIN)

FW_MOBILE = "\uff11\uff13\uff19\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18"  # １３９１２３４５６７８
# as written -> as stored
PHONES = [
    ("139 1234 5678", "13912345678"),
    ("139-1234-5678", "13912345678"),
    ("139.1234.5678", "13912345678"),
    (FW_MOBILE, "13912345678"),
    ("\uff0b86 139 1234 5678", "13912345678"),
    ("+86 139-1234-5678", "13912345678"),
    ("0086 13912345678", "13912345678"),
    ("86 139 1234 5678", "13912345678"),
    ("(010) 6512-3456", "010-65123456"),
    ("\uff08010\uff09 6512 3456", "010-65123456"),
    ("+86 10 6512 3456", "010-65123456"),
    ("0755 8888 6666", "0755-88886666"),
]


EXT_STORED = "010-65123456转123"
EXTENSIONS = [
    ("010-6512 3456 转 123", EXT_STORED),
    ("010-65123456转123", EXT_STORED),
    ("(010) 6512-3456 ext. 123", EXT_STORED),
    ("010-65123456-123", EXT_STORED),
    ("010-65123456#123", EXT_STORED),
    ("０１０－６５１２３４５６　轉　１２３", EXT_STORED),
    ("0755-8888 6666 分机 9", "0755-88886666转9"),
]
SERVICE_NUMBERS = [
    ("400-810-8888", "400-810-8888"),
    ("4008108888", "400-810-8888"),
    ("400 810 8888", "400-810-8888"),
    ("800-820-8820", "800-820-8820"),
    ("95588", "95588"),
    ("95555", "95555"),
]


def item(**kw):
    d = {"kind": "letter", "subject": "路灯不亮", "body": "幸福路 12 号的路灯坏了三天。",
         "name": "张三", "publish": False}
    d.update(kw)
    return d


class Contacts(peers.PeerClass, unittest.TestCase):
    PREFIX = "civicdesk-tidy-"

    @classmethod
    def start_daemon(cls):
        server = start_server(cls.tmp, cls.smtp.port, cls.sms.port, "2025-11-03T09:00", {
            "CIVICDESK_SMS_QUIET": "off", "CIVICDESK_SMS_CITIZENS": "1"})
        add_user(server, "disp_t", "dispatcher")
        return server

    def setUp(self):
        super().setUp()
        self.staff = self.server.staff("tidy_admin_" + self.id().rsplit(".", 1)[1][-12:],
                                       "admin")

    def submit(self, body, status=201):
        r = self.server.request("POST", "/api/v1/items", json_body=body)
        self.assertEqual(r.status, status, r)
        return r.json()

    def stored(self, tracking):
        r = self.staff.request("GET", "/api/v1/items/" + tracking)
        self.assertEqual(r.status, 200, r)
        return r.json()

    def texts(self, phone):
        return [s["text"] for s in self.sms.records() if s.get("phone") == phone]

    def test_json_api_phones_are_stored_in_one_form(self):
        for written, want in PHONES:
            with self.subTest(written=written):
                a = self.submit(item(phone=written))
                self.assertEqual(self.stored(a["tracking"])["phone"], want)

    def test_the_sms_gateway_gets_the_stored_form(self):
        a = self.submit(item(phone="\uff0b86 137-0000-1234"))
        t = a["tracking"]
        got = peers.wait_for(lambda: [x for x in self.texts("13700001234") if t in x], 30,
                             "the acknowledgement SMS")
        self.assertEqual(len(got), 1, got)
        self.assertFalse([s for s in self.sms.records() if t in s.get("text", "") and
                          s.get("phone") != "13700001234"])

    def test_open311_phone(self):
        r = self.server.request(
            "POST", "/open311/v2/requests.json",
            body=urllib.parse.urlencode({
                "service_code": "complaint", "description": "夜间施工噪音。",
                "phone": "(+86) 139 1234 5678", "attribute[publish]": "false"}),
            headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(r.status, 201, r)
        t = r.json()[0]["service_request_id"]
        self.assertEqual(self.stored(t)["phone"], "13912345678")

    def test_web_form_phone(self):
        b = Browser(self.server)
        b.get("/submit?lang=zh-Hans")
        r = b.post_files("/submit", {"kind": "complaint", "subject": "噪音",
                                     "body": "夜间施工噪音很大。",
                                     "phone": "\uff08010\uff09\u30006512\u30003456"}, [])
        self.assertEqual(r.status, 303, r)
        t = re.search(r"done=(XJ-[0-9-]+)", r.header("Location")).group(1)
        self.assertEqual(self.stored(t)["phone"], "010-65123456")

    def test_nonsense_is_still_refused(self):
        for phone in ["12345", "1381234567x", "+1 415 555 0100", "电话", "138 1234 5678 9",
                      "1" * 40, "(010 6512 3456"]:
            with self.subTest(phone=phone):
                err = self.submit(item(phone=phone), 400)["error"]
                self.assertEqual(err["field"], "phone")
                self.assertIn("138 1234 5678", err["message"])
                self.assertIn("area code", err["message"])

    def test_staff_phone_from_the_command_line(self):
        add_user(self.server, "head_t", "section_head", "法规处", "head_t@example.com",
                 "\uff0b86 138-0000-0021")
        r = self.staff.request("GET", "/api/v1/admin/users")
        self.assertEqual(r.status, 200, r)
        users = r.json()
        users = users.get("users", users) if isinstance(users, dict) else users
        head = [u for u in users if u["username"] == "head_t"]
        self.assertEqual(head[0]["phone"], "13800000021")
        # a number in a form taken before numbers were tidied stays as the operator wrote it
        add_user(self.server, "head_p", "section_head", "法规处", "head_p@example.com",
                 "+8613800000022")
        # the overdue notice's SMS goes to that form
        set_clock(self.server, "2025-11-03T09:00")
        t = self.submit(item(kind="complaint", phone="13912345678"))["tracking"]
        act(self, "disp_t", t, "assign", section="法规处")
        at_moment(self.server, "2025-11-07T09:00")  # forward due Thu 6 Nov: overdue
        got = peers.wait_for(lambda: [x for x in self.texts("13800000021") if t in x], 30,
                             "the overdue SMS to the section head")
        self.assertEqual(len(got), 1, got)
        got = peers.wait_for(lambda: [x for x in self.texts("+8613800000022") if t in x], 30,
                             "the overdue SMS to the head registered as +86…")
        self.assertEqual(len(got), 1, got)

    def test_email_blanks_and_full_width_marks(self):
        for written, want in [
                ("  li.si@example.cn ", "li.si@example.cn"),
                ("\u3000wang@example.cn\u3000", "wang@example.cn"),
                ("\u00a0zhao@example.cn\u00a0", "zhao@example.cn"),
                ("qian\uff20example\uff0ecn", "qian@example.cn"),
                ("sun@example\u3002cn", "sun@example.cn")]:
            with self.subTest(written=written):
                a = self.submit(item(email=written))
                self.assertEqual(self.stored(a["tracking"])["email"], want)
                t = a["tracking"]
                peers.wait_for(lambda: [m for m in self.smtp.records()
                                        if want in m.get("rcpt", []) and t in m["subject"]],
                               30, "the acknowledgement to " + want)
        for bad in ["li si@example.cn", "li\uff20\uff20example.cn", "\u3000"]:
            with self.subTest(bad=bad):
                self.assertEqual(self.submit(item(email=bad), 400)["error"]["field"], "email")

    def test_lang_tags_as_clients_send_them(self):
        for tag, want in [("ZH-HANT", "zh-Hant"), ("zh-hans", "zh-Hans"), ("EN", "en"),
                          ("zh", "zh-Hans"), ("zh-CN", "zh-Hans"), ("zh_SG", "zh-Hans"),
                          ("zh-TW", "zh-Hant"), ("zh_hk", "zh-Hant"), ("zh-MO", "zh-Hant"),
                          ("en-US", "en"), ("en_GB", "en")]:
            with self.subTest(tag=tag):
                # a Chinese letter, so that only the tag can make it English
                a = self.submit(item(email="lang@example.cn", lang=tag))
                self.assertEqual(self.stored(a["tracking"])["lang"], want)
        for tag in ["fr", "ja-JP", "zh-", "en us", "de_DE"]:
            with self.subTest(bad=tag):
                err = self.submit(item(email="lang@example.cn", lang=tag), 400)["error"]
                self.assertEqual(err["field"], "lang")

    # --- the eleventh session: extensions, service numbers, an account's e-mail address -------

    def test_extension_and_service_number_forms(self):
        for written, want in EXTENSIONS + SERVICE_NUMBERS:
            with self.subTest(written=written):
                a = self.submit(item(phone=written))
                self.assertEqual(self.stored(a["tracking"])["phone"], want)
        # Open311 and the web form alike
        r = self.server.request(
            "POST", "/open311/v2/requests.json",
            body=urllib.parse.urlencode({
                "service_code": "letter", "description": "办事大厅电话。",
                "phone": "(010) 6512-3456 ext. 123", "attribute[publish]": "false"}),
            headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(r.status, 201, r)
        self.assertEqual(self.stored(r.json()[0]["service_request_id"])["phone"], EXT_STORED)
        b = Browser(self.server)
        b.get("/submit?lang=zh-Hans")
        r = b.post_files("/submit", {"kind": "consultation", "subject": "客服电话",
                                     "body": "请回电客服热线。", "phone": "４００ ８１０ ８８８８"}, [])
        self.assertEqual(r.status, 303, r)
        t = re.search(r"done=(XJ-[0-9-]+)", r.header("Location")).group(1)
        self.assertEqual(self.stored(t)["phone"], "400-810-8888")
        # beside the new forms, what was taken before is stored byte for byte as before
        for written, want in [("+8613800000031", "+8613800000031"),
                              ("+86 13800000032", "+86 13800000032"),
                              ("01065123456", "01065123456"),
                              ("010-6512345-6", "010-65123456"),
                              ("0755-1234567", "0755-1234567")]:
            with self.subTest(written=written):
                a = self.submit(item(phone=written))
                self.assertEqual(self.stored(a["tracking"])["phone"], want)

    def outbox(self, tracking):
        with sqlite3.connect(self.server.db, timeout=30) as d:
            return d.execute("SELECT channel, recipient FROM outbox WHERE item_id = "
                             "(SELECT id FROM items WHERE tracking = ?)", (tracking,)).fetchall()

    def test_no_sms_to_an_extension_a_service_number_or_a_landline(self):
        # citizens' SMS are on (CIVICDESK_SMS_CITIZENS=1): a mobile number gets its
        # acknowledgement by SMS, the others by e-mail only
        others = {}
        for i, phone in enumerate(["010-6512 3456 转 123", "400-810-8888", "95588",
                                   "010-65123456", "01065123456"]):
            mail = "nosms%d@citizen.example" % i
            others[phone] = (mail, self.submit(item(phone=phone, email=mail))["tracking"])
        control = self.submit(item(phone="137 0000 5678"))["tracking"]
        peers.wait_for(lambda: [x for x in self.texts("13700005678") if control in x], 30,
                       "the acknowledgement SMS to the mobile number")
        self.assertIn(("sms", "13700005678"), self.outbox(control))
        for phone, (mail, t) in others.items():
            with self.subTest(phone=phone):
                peers.wait_for(lambda: [m for m in self.smtp.records()
                                        if mail in m.get("rcpt", []) and t in m["subject"]],
                               30, "the acknowledgement e-mail of " + t)
                self.assertEqual([c for c, _ in self.outbox(t) if c == "sms"], [])
                self.assertFalse([s for s in self.sms.records() if t in s.get("text", "")])

    def test_nonsense_extensions_and_service_numbers_refused(self):
        for phone in ["010-6512 3456 转", "010-65123456 ext", "转 123",
                      "010-65123456 转 1234567", "138 1234 5678 转 123", "13812345678-12",
                      "400-810-8888 转 1", "95588#1", "400 810 888", "4008108888 8", "9558",
                      "955881234", "+86 95588", "500-810-8888"]:
            with self.subTest(phone=phone):
                err = self.submit(item(phone=phone), 400)["error"]
                self.assertEqual(err["field"], "phone")
                for example in ["138 1234 5678", "area code", "010-6512 3456 转 123",
                                "ext. 123", "400-810-8888", "95588"]:
                    self.assertIn(example, err["message"])
        err = self.submit(item(email="li si@example.cn"), 400)["error"]
        self.assertEqual(err["field"], "email")
        self.assertIn("\uff20", err["message"])

    def test_web_form_messages_give_the_new_examples(self):
        b = Browser(self.server)
        for lang, ext in [("zh-Hans", "010-6512 3456 转 123"), ("zh-Hant", "010-6512 3456 轉 123"),
                          ("en", "010-6512 3456 转 123")]:
            with self.subTest(lang=lang):
                b.get("/submit?lang=" + lang)
                r = b.post_files("/submit", {"kind": "letter", "subject": "电话", "body": "电话。",
                                             "phone": "400 810 888",
                                             "email": "a b@example.cn"}, [])
                self.assertEqual(r.status, 400, r)
                m = re.search(r'id="phone-error"[^>]*>([^<]*)<', b.text())
                msg = html.unescape(m.group(1))
                for example in [ext, "400-810-8888", "95588", "138 1234 5678",
                                "(010) 6512 3456"]:
                    self.assertIn(example, msg)
                m = re.search(r'id="email-error"[^>]*>([^<]*)<', b.text())
                self.assertIn("\uff20", html.unescape(m.group(1)))

    def users(self):
        r = self.staff.request("GET", "/api/v1/admin/users")
        self.assertEqual(r.status, 200, r)
        return {u["username"]: u for u in r.json()["users"]}

    def test_account_email_from_the_cli_tidied(self):
        for name, written, want in [
                ("mail_c1", "\u3000head1@example.cn\u3000", "head1@example.cn"),
                ("mail_c2", "head2\uff20example\uff0ecn", "head2@example.cn"),
                ("mail_c3", " head3@example\u3002cn ", "head3@example.cn"),
                # taken before: as it was, a local mail host's address too
                ("mail_c4", "head4@example.cn", "head4@example.cn"),
                ("mail_c5", "ops@localhost", "ops@localhost")]:
            with self.subTest(written=written):
                add_user(self.server, name, "supervisor", None, written)
                self.assertEqual(self.users()[name]["email"], want)
        r = self.server.cli("user", "add", "mail_c6", "--role", "supervisor", "--email",
                            "Li Si <li@example.cn>", "--password-stdin",
                            stdin="Notify-Passw0rd!x\n")
        self.assertEqual(r.returncode, 65, r.stderr)
        self.assertIn("is not an e-mail address", r.stderr)
        self.assertIn("li.si@example.gov.cn", r.stderr)
        self.assertNotIn("mail_c6", self.users())

    def test_account_email_tidied_by_the_admin_api(self):
        r = self.staff.request("POST", "/api/v1/admin/users", json_body={
            "username": "mail_a1", "role": "supervisor", "email": "sup\uff20example\uff0ecn "})
        self.assertEqual(r.status, 201, r)
        self.assertEqual(self.users()["mail_a1"]["email"], "sup@example.cn")
        r = self.staff.request("PATCH", "/api/v1/admin/users/mail_a1",
                               json_body={"email": "\u00a0sup2@example\u3002cn\u00a0"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.users()["mail_a1"]["email"], "sup2@example.cn")
        for bad in ["sup@@example.cn", "a@example.cn, b@example.cn", "\u3000"]:
            with self.subTest(bad=bad):
                r = self.staff.request("PATCH", "/api/v1/admin/users/mail_a1",
                                       json_body={"email": bad})
                self.assertEqual(r.status, 400, r)
                self.assertEqual(r.json()["error"]["field"], "email")
                self.assertIn("is not an e-mail address", r.json()["error"]["message"])
        self.assertEqual(self.users()["mail_a1"]["email"], "sup2@example.cn")

    def test_account_email_tidied_by_the_admin_page(self):
        b = Browser(self.server)
        b.get("/staff/login?lang=en")
        me = "tidy_admin_" + self.id().rsplit(".", 1)[1][-12:]
        r = b.post("/staff/login", {"username": me, "password": "Test-Passw0rd"})
        self.assertEqual(r.status, 303, r)
        b.get("/staff/admin")
        r = b.post("/staff/admin/accounts", {"username": "mail_p1", "role": "supervisor",
                                             "email": "\u3000page\uff20example\uff0ecn"})
        self.assertEqual(r.status, 201, b.text()[-2000:])
        self.assertEqual(self.users()["mail_p1"]["email"], "page@example.cn")
        r = b.post("/staff/admin/accounts", {"username": "mail_p2", "role": "supervisor",
                                             "email": "page example.cn"})
        self.assertEqual(r.status, 400, r)
        m = re.search(r'id="new-email-error"[^>]*>([^<]*)<', b.text())
        self.assertIn("is not an e-mail address", html.unescape(m.group(1)))
        self.assertNotIn("mail_p2", self.users())

    def test_account_phone_must_take_an_sms(self):
        # an account's phone gets the SMS of its role: no extension, no service number
        for phone in ["010-6512 3456 转 123", "400-810-8888", "95588"]:
            with self.subTest(phone=phone):
                r = self.staff.request("POST", "/api/v1/admin/users", json_body={
                    "username": "phone_a", "role": "supervisor", "phone": phone})
                self.assertEqual(r.status, 400, r)
                self.assertEqual(r.json()["error"]["field"], "phone")
                self.assertIn("cannot take the SMS", r.json()["error"]["message"])
                self.assertIn("138 1234 5678", r.json()["error"]["message"])
        self.assertNotIn("phone_a", self.users())



class RefusedBeforeTheBody(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = harness.Server(env={"CIVICDESK_SUBMIT_RATE": "0"}).start().drain()

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def raw(self, head):
        """Sends head (a request's header block, no body) and reads the answer's header block;
        the client waits for 100 Continue and sends no body."""
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=30) as s:
            s.sendall(head.encode())
            got = b""
            while b"\r\n\r\n" not in got:
                chunk = s.recv(4096)
                if not chunk:
                    break
                got += chunk
        lines = got.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip()
                   for k, _, v in (l.partition(":") for l in lines[1:])}
        return lines[0], headers

    def test_413_before_the_body_has_a_request_id(self):
        for path in ("/api/v1/items", "/open311/v2/requests.json", "/submit"):
            with self.subTest(path=path):
                status, headers = self.raw(
                    "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    "Content-Length: 50000000\r\nExpect: 100-continue\r\n\r\n" % path)
                self.assertIn(" 413 ", status)
                rid = headers.get("x-request-id")
                self.assertRegex(rid or "", "^[0-9a-f]{16}$", headers)
                # the id is the log line's, by which an operator finds the request
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline and not any(
                        "request id=" + rid in l for l in list(self.server.drained)):
                    time.sleep(0.01)
                self.assertTrue([l for l in list(self.server.drained)
                                 if "request id=" + rid in l and "status=413" in l],
                                [l for l in list(self.server.drained) if "413" in l])


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(256)) * 2
INFECTED = b"%PDF-1.4\n% " + clamd.EICAR + b"\n%%EOF\n"


def multipart(fields, files):
    """A multipart/form-data body: fields [(name, value)], files [(name, filename, type,
    bytes)]; returns (body, content type)."""
    boundary = "----tidy" + uuid.uuid4().hex
    out = []
    for k, v in fields:
        out.append(("--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n" %
                    (boundary, k, v)).encode("utf-8"))
    for k, name, ctype, data in files:
        out.append(("--%s\r\nContent-Disposition: form-data; name=\"%s\"; filename=\"%s\"\r\n"
                    "Content-Type: %s\r\n\r\n" % (boundary, k, name, ctype)).encode("utf-8") +
                   data + b"\r\n")
    out.append(("--%s--\r\n" % boundary).encode())
    return b"".join(out), "multipart/form-data; boundary=" + boundary


OPEN311 = [("service_code", "complaint"), ("description", "井盖丢失，见照片。"),
           ("email", "media@citizen.example"), ("attribute[publish]", "true")]


class Open311Media(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = harness.Server(env={"CIVICDESK_SUBMIT_RATE": "0",
                                         "CIVICDESK_ATTACHMENT_MAX": "4096"}).start()
        cls.staff = cls.server.staff("media_disp", "dispatcher")

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def post(self, fields, files, path="/open311/v2/requests.json"):
        body, ctype = multipart(fields, files)
        return self.server.request("POST", path, body=body, headers={"Content-Type": ctype})

    def item(self, tracking):
        r = self.staff.request("GET", "/api/v1/items/" + tracking)
        self.assertEqual(r.status, 200, r)
        return r.json()

    def count(self):
        with sqlite3.connect(self.server.db) as d:
            return d.execute("SELECT count(*) FROM items").fetchone()[0]

    def test_media_file_is_the_items_attachment_for_staff_only(self):
        r = self.post(OPEN311, [("media", "C:\\相机\\井盖.png", "image/png", PNG)])
        self.assertEqual(r.status, 201, r)
        t = r.json()[0]["service_request_id"]
        it = self.item(t)
        self.assertEqual([(f["filename"], f["size"], f["content_type"])
                          for f in it["attachments"]], [("井盖.png", len(PNG), "image/png")])
        self.assertEqual(it["body"], "井盖丢失，见照片。")
        r = self.staff.request("GET", "/api/v1/items/%s/attachments/%d" %
                               (t, it["attachments"][0]["id"]))
        self.assertEqual((r.status, r.body), (200, PNG))
        # the public: the record without the file (nothing published yet, no media_url)
        r = self.server.request("GET", "/open311/v2/requests/%s.json" % t)
        self.assertEqual(r.status, 200, r)
        rec = r.json()[0]
        self.assertIsNone(rec["media_url"])
        self.assertNotIn("井盖.png", r.body.decode())
        self.assertNotIn("attachment", r.body.decode())

    def test_xml_endpoint_alike(self):
        r = self.post(OPEN311, [("media", "photo.png", "image/png", PNG)],
                      path="/open311/v2/requests.xml")
        self.assertEqual(r.status, 201, r)
        t = re.search(rb"<service_request_id>([^<]+)<", r.body).group(1).decode()
        self.assertEqual([f["filename"] for f in self.item(t)["attachments"]], ["photo.png"])

    def test_too_large_is_413_and_nothing_stored(self):
        before = self.count()
        r = self.post(OPEN311, [("media", "big.png", "image/png", PNG + b"\x00" * 5000)])
        self.assertEqual(r.status, 413, r)
        self.assertEqual(r.json()[0]["code"], 413)
        self.assertIn("media", r.json()[0]["description"])
        self.assertEqual(self.count(), before)

    def test_a_type_the_web_form_refuses_is_refused(self):
        before = self.count()
        r = self.post(OPEN311, [("media", "setup.png", "image/png", b"MZ\x90\x00" + PNG)])
        self.assertEqual(r.status, 400, r)
        self.assertTrue(r.json()[0]["description"].startswith("media:"), r.json())
        self.assertEqual(self.count(), before)

    def test_without_media_unchanged(self):
        r = self.post(OPEN311, [])
        self.assertEqual(r.status, 201, r)
        self.assertEqual(self.item(r.json()[0]["service_request_id"])["attachments"], [])
        # an empty file input is no file
        r = self.post(OPEN311, [("media", "", "application/octet-stream", b"")])
        self.assertEqual(r.status, 201, r)
        self.assertEqual(self.item(r.json()[0]["service_request_id"])["attachments"], [])


@unittest.skipUnless(clamd.available(), "clamav-daemon is not installed (tools/deps test)")
class Open311MediaScanned(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sockdir = tempfile.mkdtemp(prefix="civicdesk-clamsock-")
        cls.sock = os.path.join(cls.sockdir, "clamd.sock")
        cls.clamd = clamd.Clamd(cls.sock)
        cls.clamd.start()
        cls.server = harness.Server(env={"CIVICDESK_CLAMD_SOCKET": cls.sock,
                                         "CIVICDESK_SUBMIT_RATE": "0"}).start()
        cls.staff = cls.server.staff("scan_disp", "dispatcher")

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()
        cls.clamd.cleanup()
        shutil.rmtree(cls.sockdir, ignore_errors=True)

    def test_an_infected_media_file_is_not_stored(self):
        body, ctype = multipart(OPEN311, [("media", "scan.pdf", "application/pdf", INFECTED)])
        r = self.server.request("POST", "/open311/v2/requests.json", body=body,
                                headers={"Content-Type": ctype})
        self.assertEqual(r.status, 201, r)
        t = r.json()[0]["service_request_id"]
        r = self.staff.request("GET", "/api/v1/items/" + t)
        self.assertEqual(r.json()["attachments"], [])
        notes = [h.get("note") or "" for h in r.json()["history"]]
        self.assertTrue(any("scan.pdf was not stored" in n and clamd.SIGNATURE in n
                            for n in notes), notes)


if __name__ == "__main__":
    harness.main()
