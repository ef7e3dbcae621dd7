"""civicdesk serve: health contract, listening, errors as JSON, clean shutdown, configuration,
and refusal of a database written by a newer civicdesk."""
import http.client
import os
import queue
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import threading
import unittest

import harness
import peers


class ServeTest(unittest.TestCase):
    def setUp(self):
        self.srv = harness.Server().start()

    def tearDown(self):
        self.srv.cleanup()

    def test_health_contract(self):
        r = self.srv.request("GET", "/api/v1/health")
        self.assertEqual(r.status, 200)
        self.assertTrue(r.header("Content-Type").startswith("application/json"))
        j = r.json()
        self.assertEqual(j["status"], "ok")
        self.assertRegex(j["version"], r"^\d+\.\d+\.\d+$")
        self.assertEqual(j["calendar"], {"first": "2024-01-01", "last": "2026-12-31"})
        self.assertEqual(set(j), {"status", "version", "calendar"})  # the contract, exactly

    def test_head_health(self):
        r = self.srv.request("HEAD", "/api/v1/health")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, b"")

    def test_unknown_path_is_json_404(self):
        r = self.srv.request("GET", "/api/v1/no-such-thing")
        self.assertEqual(r.status, 404)
        self.assertEqual(r.json()["error"]["code"], "not_found")

    def test_wrong_method_is_405(self):
        r = self.srv.request("DELETE", "/api/v1/health")
        self.assertEqual(r.status, 405)
        self.assertEqual(r.json()["error"]["code"], "method_not_allowed")
        self.assertEqual(r.header("Allow"), "GET, HEAD")
        for method, path, allow in [("DELETE", "/api/v1/items", "POST"),
                                    ("PUT", "/open311/v2/requests.json", "POST, GET, HEAD"),
                                    ("GET", "/api/v1/items/XJ-20250930-00001/public", "PATCH")]:
            with self.subTest(method=method, path=path):
                r = self.srv.request(method, path)
                self.assertEqual(r.status, 405)
                self.assertEqual(r.header("Allow"), allow)

    def test_startup_prints_demo_data_and_coverage(self):
        text = "\n".join(self.srv.startup)
        self.assertIn("法规处", text)
        self.assertIn("calendar 2024-01-01..2026-12-31", text)

    def test_sigterm_stops_cleanly(self):
        self.srv.stop()
        self.assertEqual(self.srv.exit_code, 0)
        self.assertIn("stopping", self.srv.output)


class ServeOptionsTest(unittest.TestCase):
    def _tmp(self):
        d = tempfile.mkdtemp(prefix="civicdesk-test-")
        self.addCleanup(shutil.rmtree, d, True)
        return d

    def test_sigint_stops_cleanly_and_data_survives(self):
        srv = harness.Server().start()
        try:
            srv.proc.send_signal(signal.SIGINT)
            self.assertEqual(srv.proc.wait(timeout=20), 0)
            srv.proc = None
            db = sqlite3.connect(srv.db)
            self.assertEqual(db.execute("PRAGMA user_version").fetchone()[0],
                             harness.SCHEMA_LATEST)
            names = {r[0] for r in db.execute("SELECT name FROM sections")}
            self.assertEqual(names, {"办公室", "法规处", "稽查处", "信息中心"})
            db.close()
            # A second start on the same database does not seed twice.
            srv2 = harness.Server(dbdir=srv.dir).start()
            srv2.stop()
            self.assertNotIn("demo sections", srv2.output)
            db = sqlite3.connect(srv.db)
            self.assertEqual(db.execute("SELECT count(*) FROM sections").fetchone()[0], 4)
            db.close()
        finally:
            srv.cleanup()

    def test_listen_option_overrides_environment(self):
        srv = harness.Server(args=["--listen", "127.0.0.1:0"],
                             env={"CIVICDESK_LISTEN": "256.0.0.1:99999"}).start()
        try:
            self.assertEqual(srv.request("GET", "/api/v1/health").status, 200)
        finally:
            srv.cleanup()

    def _fails(self, env=None, args=(), dbdir=None):
        srv = harness.Server(env=env, args=args, dbdir=dbdir)
        proc = subprocess.run([harness.BIN, "serve", *srv.args], env=srv.env, cwd=srv.dir,
                              capture_output=True, text=True, timeout=30)
        if dbdir is None:
            srv.cleanup()
        return proc

    def test_newer_database_is_refused(self):
        d = self._tmp()
        db = sqlite3.connect(os.path.join(d, "civicdesk.db"))
        db.execute("PRAGMA user_version=99")
        db.commit()
        db.close()
        p = self._fails(dbdir=d)
        self.assertEqual(p.returncode, 1)
        self.assertIn("newer", p.stderr)
        db = sqlite3.connect(os.path.join(d, "civicdesk.db"))
        self.assertEqual(db.execute("PRAGMA user_version").fetchone()[0], 99)
        db.close()

    def test_bad_environment_value_is_refused(self):
        p = self._fails(env={"CIVICDESK_SUBMIT_RATE": "lots"})
        self.assertEqual(p.returncode, 1)
        self.assertIn("CIVICDESK_SUBMIT_RATE", p.stderr)

    def test_connection_limit_out_of_range_is_refused(self):
        # 2^32 was cast to MHD's unsigned limit 0 (and 0 taken as is): the daemon said
        # "listening" and then answered nobody. The other bounded keys likewise.
        for var, value in (("CIVICDESK_MAX_CONNECTIONS", "4294967296"),
                           ("CIVICDESK_MAX_CONNECTIONS", "0"),
                           ("CIVICDESK_MAX_CONNECTIONS", "65536"),
                           ("CIVICDESK_MAX_BODY", "0"), ("CIVICDESK_COOKIE_SECURE", "2"),
                           ("CIVICDESK_DEMO", "7"), ("CIVICDESK_LOCKOUT_FAILURES", "65")):
            srv = harness.Server(env={var: value})
            proc = subprocess.Popen([harness.BIN, "serve"], env=srv.env, cwd=srv.dir,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            try:
                out, err = proc.communicate(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                out, err = proc.communicate()
            srv.cleanup()
            self.assertEqual(proc.returncode, 1, (value, out))
            self.assertIn(var, err)

    def test_unknown_time_zone_is_refused(self):
        p = self._fails(env={"CIVICDESK_TZ": "Mars/Olympus"})
        self.assertEqual(p.returncode, 1)
        self.assertIn("Mars/Olympus", p.stderr)

    def test_config_file_errors_name_file_and_line(self):
        d = self._tmp()
        conf = os.path.join(d, "my.conf")
        with open(conf, "w") as f:
            f.write("# comment\nlisten = 127.0.0.1:0\nno_such_key = 1\n")
        p = self._fails(args=["--config", conf])
        self.assertEqual(p.returncode, 1)
        self.assertIn("my.conf:3: unknown key 'no_such_key'", p.stderr)

    def test_config_file_sets_keys(self):
        d = self._tmp()
        conf = os.path.join(d, "civicdesk.conf")
        with open(conf, "w") as f:
            f.write("demo = 0\n")
        srv = harness.Server(dbdir=d).start()
        try:
            self.assertNotIn("demo sections", "\n".join(srv.startup))
        finally:
            srv.stop()

    def test_calendar_dir_replaces_builtin(self):
        d = self._tmp()
        cal = os.path.join(d, "cal")
        os.mkdir(cal)
        with open(os.path.join(cal, "2030.txt"), "w") as f:
            f.write("2030-01-01 off 元旦\n")
        srv = harness.Server(env={"CIVICDESK_CALENDAR_DIR": cal}).start()
        try:
            j = srv.request("GET", "/api/v1/health").json()
            self.assertEqual(j["calendar"], {"first": "2030-01-01", "last": "2030-12-31"})
        finally:
            srv.cleanup()


class StartupSaysWhereToSignIn(unittest.TestCase):
    """serve as `make run` starts it (a fresh folder, no configuration file, the demo data):
    after the demo lines and "listening on", which stay as they were for the tools that read
    them, one line names the staff's sign-in page and the public form, and both answer there."""

    def _start(self, extra_env=None):
        d = tempfile.mkdtemp(prefix="civicdesk-test-")
        self.addCleanup(shutil.rmtree, d, True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("CIVICDESK_")}
        env["CIVICDESK_LISTEN"] = "127.0.0.1:0"  # make run's 8080 may be another engineer's
        env.update(extra_env or {})
        err = open(os.path.join(d, "stderr"), "w")
        self.addCleanup(err.close)
        proc = subprocess.Popen([harness.BIN, "serve"], cwd=d, env=env, stdout=subprocess.PIPE,
                                stderr=err, text=True)
        self.addCleanup(self._stop, proc)
        lines = queue.Queue()
        threading.Thread(target=lambda: [lines.put(l.rstrip("\n")) for l in proc.stdout],
                         daemon=True).start()
        out = []
        while not out or not out[-1].startswith("sign in at "):
            try:
                out.append(lines.get(timeout=30))
            except queue.Empty:
                self.fail("no sign-in line in 30 s; stdout so far:\n" + "\n".join(out))
        return out

    def _stop(self, proc):
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(proc.wait(timeout=20), 0)

    def test_after_the_demo_lines_with_the_real_port(self):
        out = self._start()
        self.assertEqual(out[0], "demo sections: 办公室 法规处 稽查处 信息中心")
        demo = [l for l in out if l.startswith("demo account: ")]
        self.assertEqual(len(demo), 5)
        for l in demo:  # the form the tools (and harness.demo_passwords) read, unchanged
            self.assertRegex(l, r"^demo account: \w+ \(\w+(, \S+)?\) one-time password: "
                                r"[\w-]+$")
        self.assertEqual(out.index(demo[-1]) + 1, out.index(next(
            l for l in out if l.startswith("civicdesk "))))
        self.assertTrue(out[-2].startswith("listening on http://127.0.0.1:"), out)
        port = int(out[-2].rsplit(":", 1)[1])
        self.assertNotEqual(port, 0)
        base = "http://127.0.0.1:%d" % port
        self.assertEqual(out[-1], "sign in at %s/staff/login (staff); the public form is at "
                                  "%s/submit" % (base, base))
        # both addresses are the pages: the sign-in form and the citizens' form
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("GET", "/staff/login")
        r = conn.getresponse()
        page = r.read().decode()
        self.assertEqual(r.status, 200)
        self.assertIn('type="password"', page)
        conn.request("GET", "/submit")
        r = conn.getresponse()
        page = r.read().decode()
        self.assertEqual(r.status, 200)
        self.assertIn('action="/submit"', page)
        conn.close()

    def test_public_url_when_set(self):
        # behind a reverse proxy the pages are reached at public_url, not at the bound address
        out = self._start({"CIVICDESK_PUBLIC_URL": "https://xf.example.gov.cn/"})
        self.assertEqual(out[-1], "sign in at https://xf.example.gov.cn/staff/login (staff); "
                                  "the public form is at https://xf.example.gov.cn/submit")


class ConfigComments(peers.PeerTest, unittest.TestCase):
    """civicdesk.conf as an administrator writes it: ' # …' after a number, switch, address or
    URL is a comment; in free text (a password) '#' is part of the value, and a '#' after a
    blank there, which could be either, stops the start naming the line, the key and the
    environment variable that takes such a value as written (never the password itself)."""

    PREFIX = "civicdesk-conf-"

    def write_conf(self, text):
        path = os.path.join(self.tmp, "civicdesk.conf")
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_comments_and_a_password_with_hash(self):
        smtp = self.peer("smtp", "--auth", "civic:pa#ss")
        conf = self.write_conf(
            "# the relay on this machine\n"
            "smtp_url = smtp://127.0.0.1:%d   # the relay\n"
            "smtp_starttls = off  # plain, on this machine\n"
            "smtp_user = civic\n"
            "smtp_password = pa#ss\n"
            "smtp_from = cd@bureau.example\n"
            "listen = 127.0.0.1:0 # any free port\n"
            "notify_poll_ms = 50\t# look often\n"
            "submit_rate = 0 # no limit\n"
            "digest = off # no digest\n" % smtp.port)
        # the file's listen, not the harness's variable
        self.server = harness.Server(args=["--config", conf],
                                     env={"CIVICDESK_LISTEN": None}).start()
        r = self.server.request("POST", "/api/v1/items", json_body={
            "kind": "letter", "subject": "配置注释", "body": "正文", "name": "王五",
            "email": "conf@citizen.example", "publish": False})
        self.assertEqual(r.status, 201, r)
        recs = peers.wait_for(lambda: [m for m in smtp.records() if "rcpt" in m], 30,
                              "the acknowledgement")
        self.assertIn(r.json()["tracking"], recs[0]["subject"])
        auths = [a for a in smtp.records() if a.get("auth")]
        self.assertTrue(auths and all(a["ok"] for a in auths), auths)

    def test_hash_after_a_blank_in_a_password_stops_the_start(self):
        conf = self.write_conf("demo = 0  # no demo data\n"
                               "smtp_password = S3cret-pw  # the relay's\n")
        srv = harness.Server(args=["--config", conf])
        self.addCleanup(srv.cleanup)
        p = subprocess.run([harness.BIN, "serve", *srv.args], env=srv.env, cwd=srv.dir,
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 1)
        self.assertIn("civicdesk.conf:2: smtp_password: a '#' after a blank in the value",
                      p.stderr)
        self.assertIn("CIVICDESK_SMTP_PASSWORD", p.stderr)
        self.assertNotIn("S3cret", p.stderr + p.stdout)
        self.assertNotIn("listening on", p.stdout)
        self.assertFalse(os.path.exists(srv.db))  # refused before a database was made
        # the same value through the environment, as written: serve starts
        self.write_conf("demo = 0  # no demo data\n")
        self.server = harness.Server(args=["--config", conf], env={
            "CIVICDESK_SMTP_PASSWORD": "S3cret-pw  # the relay's"}).start()
        self.assertEqual(self.server.request("GET", "/api/v1/health").status, 200)

    def test_bad_number_names_line_key_and_what_was_expected(self):
        conf = self.write_conf("max_connections = 100 connections # at once\n")
        srv = harness.Server(args=["--config", conf])
        self.addCleanup(srv.cleanup)
        p = subprocess.run([harness.BIN, "serve", *srv.args], env=srv.env, cwd=srv.dir,
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 1)
        self.assertIn("civicdesk.conf:1: max_connections: invalid value '100 connections': "
                      "expected a whole number from 1 to 65535", p.stderr)


if __name__ == "__main__":
    harness.main()
