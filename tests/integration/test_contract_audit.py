"""The ninth session's audit of DESIGN.md's Fixed contract, driven as outside clients drive it:
what the contract suites before it (test_contract_api.py, _mail.py, _ops.py, test_bad_inputs.py)
left uncovered and was found wrong. Each class is one finding, fixed:
- `civicdesk ingest-mail` run where the configured database does not exist (an MTA's own
  environment and working directory): exit 75 and nothing created, never a fresh database that
  takes the letter out of the bureau's sight while the MTA, told 0, deletes it;
- GeoReport's `start_date` / `end_date` as W3C-DTF writes them with a decimal fraction of a
  second (what JavaScript's Date.toISOString() and most JSON libraries send: .000Z): taken, the
  fraction dropped, as the list of requests filters on whole seconds;
- the /track page's look-up with the tracking number as a citizen types or pastes it: blanks
  after it (a copy from an SMS or e-mail, a phone keyboard's completion) or in lower case (a
  phone keyboard's first letter, or all of it) or in full-width characters (a Chinese input
  method left in 全角 mode: ＸＪ－２０２６…, and the code alike): found, as the query code
  already is in any case and with blanks; what is not the number is still the one "not found";
- a form (POST /api/v1/items, POST /open311/v2/requests.json) that gives a field twice with
  different values, the consent to publish above all (attribute[publish]=true&...=false): 400
  naming the field and nothing stored, as JSON's duplicate member already is, where the first
  value was taken silently (the consent the citizen's last word may have withdrawn). The same
  value twice is still taken;
- GET /open311/v2/requests.json with a `status` that is none of the spec's two (status=bogus,
  open,pending): 400 naming the parameter and its values, as a bad `limit` or date already is,
  where an empty list answered as if nothing matched; `status=` and `service_code=` empty (a
  form's unset filter) filter nothing, where they matched nothing;
- the 404 of requests/{id} and services/{code}: names the number or code without the format's
  ending ("no public request XJ-….json" read as if the number were wrong), and for a format
  that is neither .json nor .xml says which to ask for;
- CIVICDESK_SMTP_URL with a user name and password in it (smtp://user:pass@host:587, as mail
  providers write their settings): refused with the password written out on stderr, that is in
  the journal; now refused naming smtp_user and smtp_password (CIVICDESK_SMTP_USER,
  CIVICDESK_SMTP_PASSWORD) and without the secret; a refused CIVICDESK_SMS_URL alike;
- URL schemes in capitals (SMTP://, SMTPS://, HTTP://: case-insensitive, RFC 3986) refused
  while IMAP:// was taken; CIVICDESK_SMS_QUIET=OFF refused where off is taken;
- `civicdesk user add NAME --role=admin` (an option's value after "=", as getopt_long takes
  it) refused as an unknown option;
- `civicdesk restore` of a file that is no database: one clear line, not a "db: prepare" log
  line before it;
- an Open311 POST's `media_url` (a photo the client uploaded elsewhere) was dropped: staff never
  learnt of it. It is kept as a note at the end of the item's text, which staff see and which
  reaches the public only through the reviewed, masked public version; Open311's answer is as
  it was.
"""
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

# the daemon runs in its own temporary folder: a relative binary path must not depend on it
harness.BIN = os.path.abspath(harness.BIN)

LETTER = ("From: =?UTF-8?B?5byg5LiJ?= <zhangsan@example.cn>\r\n"
          "To: director@bureau.example\r\n"
          "Subject: =?UTF-8?B?6Lev54Gv5LiN5Lqu?=\r\n"
          "Date: Tue, 01 Dec 2026 09:00:00 +0800\r\n"
          "Message-ID: <audit-missing-db@example.cn>\r\n"
          "MIME-Version: 1.0\r\n"
          "Content-Type: text/plain; charset=utf-8\r\n"
          "Content-Transfer-Encoding: 8bit\r\n\r\n"
          "幸福路 12 号的路灯坏了三天。\r\n").encode("utf-8")


def ingest(raw, env, cwd, args=()):
    """civicdesk ingest-mail as an MTA runs it: this environment only, this working folder."""
    return subprocess.run([harness.BIN, "ingest-mail", *args], input=raw, capture_output=True,
                          env=env, cwd=cwd, timeout=120)


class IngestNeverCreatesADatabase(unittest.TestCase):
    """An MTA pipe (Postfix's pipe(8), a .forward, procmail) runs ingest-mail with an environment
    and working folder of its own. Where the database it is given, or the default ./var/ of that
    folder, does not exist, the message is not stored: 75 (the MTA keeps it and retries while the
    operator fixes the path), no output line, a message naming the path, and no file made."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="civicdesk-audit-ingest-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("CIVICDESK_")}
        self.env.setdefault("PATH", "/usr/bin:/bin")

    def assert_refused(self, r, path):
        self.assertEqual(r.returncode, 75, (r.stdout, r.stderr))
        self.assertEqual(r.stdout, b"")
        self.assertIn(path.encode(), r.stderr)
        self.assertIn(b"not stored", r.stderr)

    def test_missing_database_is_not_created(self):
        missing = os.path.join(self.dir, "no-such-dir", "civicdesk.db")
        r = ingest(LETTER, dict(self.env, CIVICDESK_DB=missing), self.dir)
        self.assert_refused(r, missing)
        self.assertFalse(os.path.exists(os.path.dirname(missing)))
        # the same through a configuration file that names it
        conf = os.path.join(self.dir, "civicdesk.conf")
        with open(conf, "w") as f:
            f.write("db = %s\n" % missing)
        r = ingest(LETTER, self.env, self.dir, ("--config", conf))
        self.assert_refused(r, missing)
        os.unlink(conf)
        # no configuration at all: the default ./var/civicdesk.db of the MTA's working folder
        r = ingest(LETTER, self.env, self.dir)
        self.assertEqual(r.returncode, 75, (r.stdout, r.stderr))
        self.assertEqual(os.listdir(self.dir), [])  # no ./var/ made
        # too large is still never storable: 65 whatever the database
        r = ingest(b"From: a@example.cn\r\nSubject: x\r\n\r\n" + b"x" * (40 << 20),
                   dict(self.env, CIVICDESK_DB=missing), self.dir)
        self.assertEqual(r.returncode, 65, r.stderr[-300:])

    def test_existing_database_stores_the_letter(self):
        srv = harness.Server(db_from=harness.new_db()).start()
        try:
            r = ingest(LETTER, dict(self.env, CIVICDESK_DB=srv.db), self.dir)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertRegex(r.stdout.decode(), r"^XJ-\d{8}-\d{5}\n$")
        finally:
            srv.cleanup()
        self.assertEqual(os.listdir(self.dir), [])


class Open311DatesWithFractions(unittest.TestCase):
    """The list's date filters with fractional seconds, as web and mobile Open311 clients write
    them: the same answer as without the fraction; still 400 for what W3C-DTF is not."""

    @classmethod
    def setUpClass(cls):
        cls.server = harness.Server(db_from=harness.new_db()).start()
        cls.server.set_clock("2025-10-14T10:00")
        r = cls.server.request("POST", "/open311/v2/requests.json", body=urllib.parse.urlencode({
            "service_code": "letter", "description": "路灯不亮", "email": "a@example.cn",
            "attribute[publish]": "true"}), headers={
                "Content-Type": "application/x-www-form-urlencoded"})
        assert r.status == 201, r
        cls.sid = r.json()[0]["service_request_id"]

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def ids(self, query):
        r = self.server.request("GET", "/open311/v2/requests.json?" + query)
        self.assertEqual(r.status, 200, (query, r))
        return [x["service_request_id"] for x in r.json()]

    def test_fractional_seconds(self):
        # received 2025-10-14T10:00:00+08:00 = 02:00:00Z
        for start, end, listed in [
            ("2025-10-14T01:59:59.000Z", "2025-10-14T02:00:00.999Z", True),
            ("2025-10-14T02:00:01.5Z", None, False),
            ("2025-10-14T09:59:59.123456+08:00", None, True),
            ("2025-10-13T00:00:00.0Z", "2025-10-14T01:59:59.999Z", False),
        ]:
            with self.subTest(start=start, end=end):
                q = {"start_date": start}
                if end:
                    q["end_date"] = end
                self.assertEqual(self.sid in self.ids(urllib.parse.urlencode(q)), listed)
        for bad in ("2025-10-14T02:00:00.Z", "2025-10-14T02:00.5Z", "2025-10-14T02:00:00,5Z",
                    "2025-10-14.5"):
            with self.subTest(bad=bad):
                r = self.server.request("GET", "/open311/v2/requests.json?" +
                                        urllib.parse.urlencode({"start_date": bad}))
                self.assertEqual(r.status, 400, r)
                self.assertIn("start_date", json.loads(r.body)[0]["description"])


class TrackPageTakesTheNumberAsTyped(unittest.TestCase):
    """POST /track (the look-up form, no script) with the number as typed: on to the status page
    (303 to /track?tracking= the number as issued), else the same 404 as for a wrong code."""

    @classmethod
    def setUpClass(cls):
        cls.server = harness.Server(env={"CIVICDESK_SUBMIT_RATE": "0"}, db_from=harness.new_db()).start()
        r = cls.server.request("POST", "/api/v1/items", json_body={
            "kind": "letter", "subject": "路灯不亮", "body": "幸福路 12 号", "phone": "13812345678",
            "publish": False})
        assert r.status == 201, r
        cls.number, cls.code = r.json()["tracking"], r.json()["query_code"]

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def look_up(self, number, code):
        """A browser's visit: the form (its cookie and token), then the form sent."""
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=30)
        try:
            conn.request("GET", "/track?lang=en")
            r = conn.getresponse()
            page = r.read().decode()
            cookies = "; ".join(v.split(";", 1)[0] for k, v in r.getheaders()
                                if k.lower() == "set-cookie")
            token = re.search(r'name="csrf_token" value="([^"]*)"', page).group(1)
            conn.request("POST", "/track", body=urllib.parse.urlencode(
                {"csrf_token": token, "tracking": number, "code": code}), headers={
                    "Content-Type": "application/x-www-form-urlencoded", "Cookie": cookies})
            r = conn.getresponse()
            r.read()
            return r.status, r.getheader("Location")
        finally:
            conn.close()

    def test_number_as_typed(self):
        n = self.number
        for typed in (n, n + " ", "  " + n + "  ", n + "\t", n.lower(), "xJ" + n[2:],
                      " " + n.lower() + " "):
            with self.subTest(typed=typed):
                self.assertEqual(self.look_up(typed, self.code.lower()),
                                 (303, "/track?tracking=" + n))
        wide = lambda t: "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else
                                 "\u3000" if c == " " else c for c in t)
        for typed, code in ((wide(n), self.code), (n, wide(self.code)),
                            (wide(n.lower()) + "\u3000", wide(self.code.lower()))):
            with self.subTest(typed=typed, code=code):
                self.assertEqual(self.look_up(typed, code), (303, "/track?tracking=" + n))
        other = "%s%05d" % (n[:-5], int(n[-5:]) + 1)
        for typed in (other, other.lower() + " ", n[:-1], n.replace("-", ""), n + "x",
                      wide(other)):
            with self.subTest(typed=typed):
                self.assertEqual(self.look_up(typed, self.code), (404, None))


class FormFieldGivenTwice(unittest.TestCase):
    """Repeated form fields: refused when they disagree, naming the field; taken when alike."""

    FORM = {"Content-Type": "application/x-www-form-urlencoded"}

    @classmethod
    def setUpClass(cls):
        cls.server = harness.Server(env={"CIVICDESK_SUBMIT_RATE": "0"}, db_from=harness.new_db()).start()

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def count(self):
        import sqlite3
        with sqlite3.connect(self.server.db) as db:
            return db.execute("SELECT count(*) FROM items").fetchone()[0]

    def post(self, path, pairs):
        return self.server.request("POST", path, body=urllib.parse.urlencode(pairs),
                                   headers=self.FORM)

    def test_items_form(self):
        base = [("kind", "letter"), ("subject", "路灯"), ("body", "正文"),
                ("email", "a@example.cn")]
        before = self.count()
        for field, pairs in [
            ("publish", base + [("publish", "true"), ("publish", "false")]),
            ("publish", base + [("publish", "false"), ("publish", "true")]),
            ("kind", base + [("kind", "complaint"), ("publish", "false")]),
            ("email", base + [("email", "b@example.cn"), ("publish", "false")]),
        ]:
            with self.subTest(pairs=pairs[4:]):
                r = self.post("/api/v1/items", pairs)
                self.assertEqual(r.status, 400, r)
                err = r.json()["error"]
                self.assertEqual((err["code"], err.get("field")), ("invalid_field", field), err)
                self.assertIn("twice", err["message"])
        self.assertEqual(self.count(), before)
        r = self.post("/api/v1/items", base + [("publish", "true"), ("publish", "true"),
                                               ("kind", "letter")])
        self.assertEqual(r.status, 201, r)

    def test_open311_form(self):
        base = [("service_code", "letter"), ("description", "路灯"), ("email", "a@example.cn")]
        before = self.count()
        for field, pairs in [
            ("attribute[publish]", base + [("attribute[publish]", "true"),
                                           ("attribute[publish]", "false")]),
            ("service_code", base + [("service_code", "complaint"),
                                     ("attribute[publish]", "false")]),
        ]:
            with self.subTest(pairs=pairs[3:]):
                r = self.post("/open311/v2/requests.json", pairs)
                self.assertEqual(r.status, 400, r)
                self.assertIn(field, r.json()[0]["description"])
                self.assertIn("twice", r.json()[0]["description"])
        self.assertEqual(self.count(), before)
        r = self.post("/open311/v2/requests.json",
                      base + [("attribute[publish]", "true"), ("attribute[publish]", "true")])
        self.assertEqual(r.status, 201, r)


class Open311ListFilters(unittest.TestCase):
    """The list's status: each comma-delimited value is open or closed, else 400 with
    GeoReport's error list; status and service_code empty: no filter."""

    @classmethod
    def setUpClass(cls):
        cls.server = harness.Server(db_from=harness.new_db()).start()
        r = cls.server.request("POST", "/open311/v2/requests.json", body=urllib.parse.urlencode({
            "service_code": "complaint", "description": "噪音", "email": "a@example.cn",
            "attribute[publish]": "true"}), headers={
                "Content-Type": "application/x-www-form-urlencoded"})
        assert r.status == 201, r
        cls.sid = r.json()[0]["service_request_id"]

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def test_values(self):
        for query, listed in [("status=open", True), ("status=closed", False),
                              ("status=open,closed", True), ("service_code=complaint", True),
                              ("service_code=letter,consultation", False),
                              ("service_code=letter,complaint&status=open", True),
                              ("status=", True), ("status=open,", True),
                              ("service_code=", True), ("service_code=&status=", True)]:
            with self.subTest(query=query):
                r = self.server.request("GET", "/open311/v2/requests.json?" + query)
                self.assertEqual(r.status, 200, r)
                self.assertEqual(self.sid in [x["service_request_id"] for x in r.json()], listed)
        for param, query in [("status", "status=bogus"), ("status", "status=open,pending"),
                             ("status", "service_code=complaint&status=Opened")]:
            for fmt in ("json", "xml"):
                with self.subTest(query=query, fmt=fmt):
                    r = self.server.request("GET", "/open311/v2/requests.%s?%s" % (fmt, query))
                    self.assertEqual(r.status, 400, r)
                    if fmt == "json":
                        err = r.json()[0]
                        self.assertEqual(err["code"], 400)
                        self.assertTrue(err["description"].startswith(param + ":"), err)
                    else:
                        self.assertIn(b"<code>400</code>", r.body)


    def test_404_names_the_number(self):
        r = self.server.request("POST", "/open311/v2/requests.json", body=urllib.parse.urlencode({
            "service_code": "letter", "description": "不公开", "email": "b@example.cn",
            "attribute[publish]": "false"}), headers={
                "Content-Type": "application/x-www-form-urlencoded"})
        hidden = r.json()[0]["service_request_id"]
        unknown = "%s%05d" % (hidden[:-5], int(hidden[-5:]) + 50)
        answers = []
        for number in (hidden, unknown):
            r = self.server.request("GET", "/open311/v2/requests/%s.json" % number)
            self.assertEqual(r.status, 404, r)
            self.assertEqual(r.json(), [{"code": 404,
                                         "description": "no public request " + number}])
            answers.append(r.json()[0]["description"].replace(number, "N"))
            r = self.server.request("GET", "/open311/v2/requests/%s.xml" % number)
            self.assertIn(("<description>no public request %s</description>" % number).encode(),
                          r.body)
        self.assertEqual(answers[0], answers[1])  # hidden and unknown alike
        for path, words in (("/open311/v2/requests/%s.csv" % self.sid, ".json or .xml"),
                            ("/open311/v2/requests/%s" % self.sid, ".json or .xml"),
                            ("/open311/v2/services/letters.json",
                             "no service letters (services:"),
                            ("/open311/v2/services/letter.html", ".json or .xml")):
            with self.subTest(path=path):
                r = self.server.request("GET", path)
                self.assertEqual(r.status, 404, r)
                self.assertIn(words, r.json()[0]["description"])


class CredentialsInUrlsNeverPrinted(unittest.TestCase):
    """serve refuses a mail server URL holding credentials, says where they go, and never
    prints them; a refused SMS gateway URL is shown without its credentials."""

    SECRET = "S3cret-Pa55"

    def refused(self, var, value):
        srv = harness.Server(env={var: value})
        try:
            p = subprocess.run([harness.BIN, "serve"], env=srv.env, cwd=srv.dir,
                               capture_output=True, text=True, timeout=60)
        finally:
            srv.cleanup()
        self.assertEqual(p.returncode, 1, p.stderr[-500:])
        self.assertNotIn("listening on", p.stdout)
        self.assertNotIn(self.SECRET, p.stdout + p.stderr)
        return p.stderr

    def test_smtp_url_with_credentials(self):
        for url in ("smtp://civic:%s@127.0.0.1:587" % self.SECRET,
                    "smtps://civic%%40bureau.example:%s@smtp.example.cn:465" % self.SECRET,
                    "smtp://%s@127.0.0.1" % self.SECRET):
            with self.subTest(url=url):
                err = self.refused("CIVICDESK_SMTP_URL", url)
                for words in ("smtp_url", "smtp_user", "smtp_password", "CIVICDESK_SMTP_USER"):
                    self.assertIn(words, err)

    def test_sms_url_refused_without_its_credentials(self):
        err = self.refused("CIVICDESK_SMS_URL", "htp://gw:%s@sms.example/send" % self.SECRET)
        self.assertIn("sms_url", err)
        self.assertIn("sms.example/send", err)


class SmallWordsInAnyCase(unittest.TestCase):
    """Schemes and the word off in capitals start the daemon as in lower case."""

    def starts(self, env):
        srv = harness.Server(env=env)
        try:
            srv.start()
            self.assertEqual(srv.request("GET", "/api/v1/health").status, 200)
        finally:
            srv.stop()
            srv.cleanup()

    def test_upper_case_schemes(self):
        for var, url in (("CIVICDESK_SMTP_URL", "SMTP://127.0.0.1:2525"),
                         ("CIVICDESK_SMTP_URL", "Smtps://127.0.0.1:465"),
                         ("CIVICDESK_SMS_URL", "HTTP://127.0.0.1:9/send"),
                         ("CIVICDESK_SMS_URL", "HTTPS://sms.example/send")):
            with self.subTest(url=url):
                self.starts({var: url})

    def test_sms_quiet_off_in_any_case(self):
        for value in ("OFF", "Off", "21:00-08:00 REST-DAYS"):
            with self.subTest(value=value):
                self.starts({"CIVICDESK_SMS_QUIET": value})


class CommandLineAsOperatorsWriteIt(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="civicdesk-audit-")
        self.env = {"CIVICDESK_DB": os.path.join(self.dir, "civicdesk.db")}

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_user_options_with_equals(self):
        r = harness.run_cli("user", "add", "eq_admin", "--role=admin", "--email=eq@bureau.example",
                            "--phone=13800138000", "--password-stdin",
                            stdin="Equals-Passw0rd\n", env=self.env)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = harness.run_cli("user", "list", env=self.env)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"(?m)^eq_admin\tadmin\t")
        r = harness.run_cli("user", "add", "eq_x", "--rolex=admin", "--password-stdin",
                            stdin="Equals-Passw0rd\n", env=self.env)
        self.assertEqual(r.returncode, 64)

    def test_restore_of_no_database_says_it_once(self):
        junk = os.path.join(self.dir, "notes.txt")
        with open(junk, "w") as f:
            f.write("this is not a backup\n" * 100)
        r = harness.run_cli("restore", junk, env=self.env)
        self.assertEqual(r.returncode, 65, r.stderr)
        lines = r.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, r.stderr)
        self.assertIn("not a civicdesk database", lines[0])
        self.assertNotIn("prepare", r.stderr)


class Open311MediaUrlKept(unittest.TestCase):
    """media_url reaches the staff's view of the item, never the public before review."""

    FORM = {"Content-Type": "application/x-www-form-urlencoded"}
    URL = "https://img.example.cn/311/路灯.jpg?size=large"

    @classmethod
    def setUpClass(cls):
        cls.server = harness.Server(env={"CIVICDESK_SUBMIT_RATE": "0"}, db_from=harness.new_db()).start()
        cls.admin = cls.server.staff("media_admin", "admin")

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def post(self, pairs, **kw):
        if kw.get("json"):
            return self.server.request("POST", "/open311/v2/requests.json", json_body=dict(pairs))
        return self.server.request("POST", "/open311/v2/requests.json",
                                   body=urllib.parse.urlencode(pairs), headers=self.FORM)

    def staff_body(self, tracking):
        r = self.admin.request("GET", "/api/v1/items/" + tracking)
        self.assertEqual(r.status, 200, r)
        return r.json()["body"]

    def test_media_url_kept_for_staff(self):
        for as_json in (False, True):
            with self.subTest(json=as_json):
                r = self.post([("service_code", "complaint"), ("description", "路灯坏了，见照片。"),
                               ("email", "m@example.cn"), ("attribute[publish]", "true"),
                               ("media_url", self.URL)], json=as_json)
                self.assertEqual(r.status, 201, r)
                self.assertEqual(sorted(r.json()[0]), ["account_id", "query_code",
                                                       "service_notice", "service_request_id"])
                tracking = r.json()[0]["service_request_id"]
                body = self.staff_body(tracking)
                self.assertTrue(body.startswith("路灯坏了，见照片。"), body)
                self.assertIn(self.URL, body)
                # unpublished: the public record withholds the text, the photo link with it
                r = self.server.request("GET", "/open311/v2/requests/%s.json" % tracking)
                self.assertEqual(r.status, 200, r)
                self.assertNotIn("img.example.cn", r.body.decode("utf-8"))
                self.assertIsNone(r.json()[0]["media_url"])

    def test_numbers_as_geo_report_writes_them(self):
        """GeoReport's records and every JSON encoder write lat and long as numbers; a phone
        may come as one too. Before, each was a 400 "must be text"."""
        r = self.post([("service_code", "complaint"), ("description", "井盖缺失。"),
                       ("phone", 13812345678), ("lat", 39.9042), ("long", 116.4074),
                       ("attribute[publish]", 0)], json=True)
        self.assertEqual(r.status, 201, r)
        item = self.admin.request("GET", "/api/v1/items/" + r.json()[0]["service_request_id"])
        self.assertEqual(item.status, 200, item)
        got = item.json()
        self.assertAlmostEqual(float(got["lat"]), 39.9042, places=6)
        self.assertAlmostEqual(float(got["long"]), 116.4074, places=6)
        self.assertEqual(got["phone"], "13812345678")
        self.assertFalse(got["publish"])
        # an array or object is still refused, naming the field
        r = self.post([("service_code", "letter"), ("description", "x"),
                       ("email", "m@example.cn"), ("lat", [1, 2])], json=True)
        self.assertEqual(r.status, 400, r)
        self.assertIn("lat", r.json()[0]["description"])

    def test_what_is_no_web_address_is_not_kept(self):
        for url in ("javascript:alert(1)", "https://a.example/x y", "x" * 10):
            with self.subTest(url=url):
                r = self.post([("service_code", "letter"), ("description", "正文"),
                               ("email", "m@example.cn"), ("attribute[publish]", "false"),
                               ("media_url", url)])
                self.assertEqual(r.status, 201, r)
                self.assertEqual(self.staff_body(r.json()[0]["service_request_id"]), "正文")


class InputAsClientsSendIt(unittest.TestCase):
    """What real clients send and the contract's checks refused or let through wrongly (found by
    the audit, fixed by the coordinator): a JSON body that begins with a UTF-8 byte order mark
    (Windows Notepad, PowerShell's Out-File), taken by POST /api/v1/items and Open311's JSON
    POST as RFC 8259 allows; a body whose line breaks come as a browser sends them (CR LF),
    counted one character each as the page's counter counts them, so that a letter the page
    let through is not refused for its length; a subject of ideographic spaces (a Chinese
    keyboard's blank), no-break or zero-width spaces, refused as empty as ASCII blanks are."""

    @classmethod
    def setUpClass(cls):
        cls.server = harness.Server(env={"CIVICDESK_SUBMIT_RATE": "0"}, db_from=harness.new_db()).start()

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def post_raw(self, path, raw, ctype="application/json"):
        return self.server.request("POST", path, body=raw, headers={"Content-Type": ctype})

    def test_json_with_byte_order_mark(self):
        doc = {"kind": "letter", "subject": "路灯不亮", "body": "幸福路的路灯坏了。",
               "email": "bom@example.cn", "publish": False}
        raw = b"\xef\xbb\xbf" + json.dumps(doc, ensure_ascii=False).encode("utf-8")
        r = self.post_raw("/api/v1/items", raw)
        self.assertEqual(r.status, 201, r)
        t = r.json()["tracking"]
        import sqlite3
        with sqlite3.connect(self.server.db) as db:
            self.assertEqual(db.execute("SELECT subject FROM items WHERE tracking = ?",
                                        (t,)).fetchone()[0], "路灯不亮")
        o311 = {"service_code": "complaint", "description": "井盖缺失",
                "email": "bom311@example.cn", "attribute[publish]": "false"}
        raw = b"\xef\xbb\xbf" + json.dumps(o311, ensure_ascii=False).encode("utf-8")
        r = self.post_raw("/open311/v2/requests.json", raw)
        self.assertEqual(r.status, 201, r)
        # a byte order mark alone is still no JSON object
        r = self.post_raw("/api/v1/items", b"\xef\xbb\xbf")
        self.assertEqual(r.status, 400, r)

    def test_line_breaks_count_as_the_page_counts_them(self):
        # 19,990 characters and 10 line breaks: 20,000 as the page counts, 20,010 bytes of text
        body = "\r\n".join(["路" * 1999] * 10) + "\r\n"
        self.assertEqual(len(body.replace("\r\n", "\n")), 20000)
        form = urllib.parse.urlencode({"kind": "letter", "subject": "长信", "body": body,
                                       "email": "long@example.cn", "publish": "false"})
        r = self.post_raw("/api/v1/items", form.encode(), "application/x-www-form-urlencoded")
        self.assertEqual(r.status, 201, r)
        # one more character is one too many
        form = urllib.parse.urlencode({"kind": "letter", "subject": "长信", "body": body + "路",
                                       "email": "long@example.cn", "publish": "false"})
        r = self.post_raw("/api/v1/items", form.encode(), "application/x-www-form-urlencoded")
        self.assertEqual(r.status, 400, r)
        self.assertEqual(r.json()["error"].get("field"), "body")

    def test_invisible_subject_is_empty(self):
        for blank in ("\u3000\u3000", "\u00a0", "\u200b\u3000", "\ufeff "):
            with self.subTest(blank=ascii(blank)):
                r = self.server.request("POST", "/api/v1/items", json_body={
                    "kind": "letter", "subject": blank, "body": "正文",
                    "email": "blank@example.cn", "publish": False})
                self.assertEqual(r.status, 400, r)
                self.assertEqual(r.json()["error"].get("field"), "subject")
                self.assertIn("empty", r.json()["error"]["message"])


if __name__ == "__main__":
    harness.main()
