#!/usr/bin/env python3
"""The staff second factor (TOTP, RFC 6238): enrolment with the key and an otpauth:// URI,
required for admins and supervisors by default, codes checked at login at the injected clock
(computed here with hmac/hashlib), no code accepted twice, ten one-time recovery codes, an
administrator's reset, and every use in the audit log."""
import base64
import hashlib
import hmac
import os
import struct
import sys
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

T0 = 1790000000  # the injected clock (Unix seconds), a multiple of nothing in particular
PW = "Test-Passw0rd"


def totp(secret_b32, now, step=30, digits=6):
    """RFC 6238 with HMAC-SHA1, computed independently of the server."""
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    mac = hmac.new(key, struct.pack(">Q", now // step), hashlib.sha1).digest()
    off = mac[-1] & 0x0F
    code = (struct.unpack(">I", mac[off:off + 4])[0] & 0x7FFFFFFF) % (10 ** digits)
    return "%0*d" % (digits, code)


def login(srv, name, **extra):
    body = {"username": name, "password": PW}
    body.update(extra)
    return srv.request("POST", "/api/v1/login", json_body=body)


def session(srv, r):
    cookie = r.header("Set-Cookie").split(";", 1)[0]
    return harness.Staff(srv, cookie, r.json()["csrf_token"], r.json())


def audit_rows(srv, action):
    import sqlite3
    db = sqlite3.connect(srv.db)
    try:
        return db.execute("SELECT actor, target, ok, detail FROM audit WHERE action = ? "
                          "ORDER BY id", (action,)).fetchall()
    finally:
        db.close()


class GracePeriod(unittest.TestCase):
    """Built-in defaults (totp_roles admin,supervisor; totp_grace 3 days): an account that an
    operator just created with `civicdesk user add` works at once, is told at each login that it
    must enrol and by when, and is held to enrolment once the grace period is over."""

    @classmethod
    def setUpClass(cls):
        cls.srv = harness.Server(env={"CIVICDESK_TOTP_ROLES": None}).start()
        cls.srv.set_clock(T0)
        cls.srv.add_user("sup", "supervisor")

    @classmethod
    def tearDownClass(cls):
        cls.srv.cleanup()

    def test_new_supervisor_works_then_must_enrol(self):
        r = login(self.srv, "sup")
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.json()["must_enroll"])
        self.assertTrue(r.json()["enroll_by"].startswith("2026-09-24T"), r.json())
        s = session(self.srv, r)
        r = s.request("GET", "/api/v1/stats?period=2026-09&by=section")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(s.request("GET", "/api/v1/me").json()["enroll_by"],
                         login(self.srv, "sup").json()["enroll_by"])
        self.assertIn(("sup", "sup", 1, "second factor to enrol (grace period)"),
                      audit_rows(self.srv, "login"))
        self.srv.set_clock(T0 + 3 * 86400 - 120)
        s = session(self.srv, login(self.srv, "sup"))
        self.assertEqual(s.request("GET", "/api/v1/queue").status, 200)
        self.srv.set_clock(T0 + 3 * 86400)  # the same session, once the grace period is over
        r = s.request("GET", "/api/v1/stats?period=2026-09&by=section")
        self.assertEqual((r.status, r.json()["error"]["code"]),
                         (403, "totp_enrolment_required"), r)
        r = login(self.srv, "sup")
        self.assertTrue(r.json()["must_enroll"])
        r = session(self.srv, r).request("GET", "/api/v1/queue")
        self.assertEqual(r.status, 403, r)


class Totp(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # None: the built-in default of totp_roles (admin, supervisor), not the harness's off;
        # no grace period, so that enrolment is required at once.
        cls.srv = harness.Server(env={"CIVICDESK_TOTP_ROLES": None,
                                      "CIVICDESK_TOTP_GRACE": "0"}).start()
        cls.srv.set_clock(T0)
        for name, role in (("root", "admin"), ("boss", "supervisor"), ("hand", "handler")):
            cls.srv.add_user(name, role, "法规处" if role == "handler" else None)

    @classmethod
    def tearDownClass(cls):
        cls.srv.cleanup()

    def enrol(self, name):
        """Logs name in, enrols and confirms at the clock; returns (secret, recovery codes)."""
        s = session(self.srv, login(self.srv, name))
        r = s.request("POST", "/api/v1/totp/enroll")
        self.assertEqual(r.status, 200, r)
        secret = r.json()["secret"]
        r = s.request("POST", "/api/v1/totp/confirm", json_body={"code": totp(secret, T0)})
        self.assertEqual(r.status, 200, r)
        return secret, r.json()["recovery_codes"], s

    def test_1_required_by_default_for_admins_and_supervisors(self):
        for name in ("root", "boss"):
            r = login(self.srv, name)
            self.assertEqual(r.status, 200, r)
            self.assertTrue(r.json()["must_enroll"])
            s = session(self.srv, r)
            path = "/api/v1/audit" if name == "root" else "/api/v1/queue"
            r = s.request("GET", path)
            self.assertEqual((r.status, r.json()["error"]["code"]),
                             (403, "totp_enrolment_required"), r)
            self.assertEqual(s.request("GET", "/api/v1/me").status, 200)
            r = s.request("GET", "/api/v1/totp")
            self.assertEqual(r.json(), {"enrolled": False, "required": True,
                                        "recovery_codes_left": 0})
        r = login(self.srv, "hand")
        self.assertFalse(r.json()["must_enroll"])
        self.assertEqual(session(self.srv, r).request("GET", "/api/v1/queue").status, 200)

    def test_2_enrol_login_replay_recovery(self):
        s = session(self.srv, login(self.srv, "root"))
        r = s.request("POST", "/api/v1/totp/enroll")
        self.assertEqual(r.status, 200, r)
        secret, uri = r.json()["secret"], r.json()["uri"]
        self.assertEqual(len(base64.b32decode(secret)), 20)
        u = urllib.parse.urlparse(uri)
        self.assertEqual((u.scheme, u.netloc, urllib.parse.unquote(u.path)),
                         ("otpauth", "totp", "/civicdesk:root"))
        q = dict(urllib.parse.parse_qsl(u.query))
        self.assertEqual(q, {"secret": secret, "issuer": "civicdesk", "algorithm": "SHA1",
                             "digits": "6", "period": "30"})
        # a wrong code does not confirm
        wrong = "%06d" % ((int(totp(secret, T0)) + 1) % 1000000)
        r = s.request("POST", "/api/v1/totp/confirm", json_body={"code": wrong})
        self.assertEqual((r.status, r.json()["error"]["field"]), (400, "code"), r)
        r = s.request("POST", "/api/v1/totp/confirm", json_body={"code": totp(secret, T0)})
        self.assertEqual(r.status, 200, r)
        codes = r.json()["recovery_codes"]
        self.assertEqual(len(codes), 10)
        self.assertEqual(len(set(codes)), 10)
        # the same session may now do admin work, and the account list shows the factor
        self.assertEqual(s.request("GET", "/api/v1/audit").status, 200)
        users = {u["username"]: u for u in s.request("GET", "/api/v1/admin/users").json()
                 ["users"]}
        self.assertEqual((users["root"]["totp"], users["hand"]["totp"]), (True, False))
        r = s.request("POST", "/api/v1/totp/enroll")
        self.assertEqual((r.status, r.json()["error"]["code"]), (409, "enrolled"), r)
        # the recovery codes are stored hashed, never as shown
        import sqlite3
        db = sqlite3.connect(self.srv.db)
        stored = [bytes(h) for (h,) in db.execute("SELECT code_hash FROM totp_recovery")]
        db.close()
        self.assertEqual(len(stored), 10)
        for c in codes:
            self.assertNotIn(c.encode(), b"".join(stored))

        # login: the password alone is not enough
        r = login(self.srv, "root")
        self.assertEqual((r.status, r.json()["error"]["code"]), (401, "totp_required"), r)
        r = login(self.srv, "root", totp=wrong)
        self.assertEqual((r.status, r.json()["error"]["code"]), (401, "login_failed"), r)
        # the code of the step used for the confirmation is used up: a replay is refused
        r = login(self.srv, "root", totp=totp(secret, T0))
        self.assertEqual(r.status, 401, r)
        self.srv.set_clock(T0 + 30)
        r = login(self.srv, "root", totp=totp(secret, T0 + 30))
        self.assertEqual(r.status, 200, r)
        self.assertFalse(r.json()["must_enroll"])
        self.assertEqual(session(self.srv, r).request("GET", "/api/v1/audit").status, 200)
        r = login(self.srv, "root", totp=totp(secret, T0 + 30))
        self.assertEqual(r.status, 401, r)  # the same code twice
        # one step of drift is accepted (the next step's code, a clock behind the phone)
        r = login(self.srv, "root", totp=totp(secret, T0 + 60))
        self.assertEqual(r.status, 200, r)
        # three steps away is not
        self.srv.set_clock(T0 + 600)
        r = login(self.srv, "root", totp=totp(secret, T0 + 600 - 90))
        self.assertEqual(r.status, 401, r)

        # a recovery code works once, typed in any case without dashes
        r = login(self.srv, "root", recovery_code=codes[0].upper().replace("-", ""))
        self.assertEqual(r.status, 200, r)
        r = login(self.srv, "root", recovery_code=codes[0])
        self.assertEqual(r.status, 401, r)
        s = session(self.srv, login(self.srv, "root", recovery_code=codes[1]))
        self.assertEqual(s.request("GET", "/api/v1/totp").json(),
                         {"enrolled": True, "required": True, "recovery_codes_left": 8})

        # every use is in the audit log
        self.assertEqual(audit_rows(self.srv, "totp_enroll")[0][:3], ("root", "root", 1))
        self.assertIn("10 recovery codes", audit_rows(self.srv, "totp_enrolled")[0][3])
        self.assertIn(("root", "root", 0, "wrong code"), audit_rows(self.srv, "totp_confirm"))
        used = audit_rows(self.srv, "totp_recovery_used")
        self.assertEqual([u[3] for u in used], ["9 recovery codes left", "8 recovery codes left"])
        logins = [d for (a, t, ok, d) in audit_rows(self.srv, "login") if a == "root"]
        self.assertIn("second factor: totp", logins)
        self.assertIn("second factor: recovery code", logins)
        failed = [d for (a, t, ok, d) in audit_rows(self.srv, "login_failed") if a == "root"]
        self.assertIn("second factor required", failed)
        self.assertIn("wrong or reused second factor", failed)
        v = self.srv.cli("audit", "verify")
        self.assertEqual(v.returncode, 0, v.stdout + v.stderr)

        # an administrator resets a lost second factor of another account
        self.srv.set_clock(T0 + 900)
        bsecret, _, bs = self.enrol_at("boss", T0 + 900)
        r = s.request("DELETE", "/api/v1/admin/users/boss/totp")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(bs.request("GET", "/api/v1/me").status, 401)  # its sessions ended
        r = login(self.srv, "boss")
        self.assertEqual((r.status, r.json()["must_enroll"]), (200, True), r)
        r = s.request("DELETE", "/api/v1/admin/users/boss/totp")
        self.assertEqual(r.status, 404, r)
        self.assertEqual(audit_rows(self.srv, "totp_reset")[0][:3], ("root", "boss", 1))
        # the command line resets one too (the last administrator's lost phone)
        r = self.srv.cli("user", "totp-reset", "root")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(s.request("GET", "/api/v1/me").status, 401)
        self.assertTrue(login(self.srv, "root").json()["must_enroll"])
        self.assertEqual(self.srv.cli("user", "totp-reset", "root").returncode, 65)
        self.assertEqual(audit_rows(self.srv, "totp_reset")[1][:3], ("cli", "root", 1))

    def enrol_at(self, name, now):
        s = session(self.srv, login(self.srv, name))
        secret = s.request("POST", "/api/v1/totp/enroll").json()["secret"]
        r = s.request("POST", "/api/v1/totp/confirm", json_body={"code": totp(secret, now)})
        self.assertEqual(r.status, 200, r)
        return secret, r.json()["recovery_codes"], s


class TotpSealed(unittest.TestCase):
    """The keys sealed at rest under the key file (secret_key_file): none in the clear in the
    database, sign-in after a restart, keys written in the clear before schema 021 sealed at
    the next start, and a missing or wrong key file told at start and at sign-in, never a new
    key over sealed ones."""

    def start(self, **env):
        env.setdefault("CIVICDESK_TOTP_ROLES", None)
        env.setdefault("CIVICDESK_TOTP_GRACE", "0")
        self.srv = harness.Server(env=env, dbdir=self.dir).start()
        self.srv.set_clock(self.now)
        return self.srv

    def setUp(self):
        import tempfile
        self.dir = tempfile.mkdtemp(prefix="civicdesk-totp-")
        self.key = os.path.join(self.dir, "civicdesk.key")
        self.now = T0
        self.srv = None

    def tearDown(self):
        import shutil
        if self.srv is not None:
            self.srv.cleanup()
        shutil.rmtree(self.dir, ignore_errors=True)

    def restart(self, **env):
        self.srv.stop()
        self.srv.cleanup()
        return self.start(**env)

    def db_bytes(self):
        """Everything of the database on disk: the file and its write-ahead log."""
        out = b""
        for suffix in ("", "-wal"):
            if os.path.exists(self.srv.db + suffix):
                with open(self.srv.db + suffix, "rb") as f:
                    out += f.read()
        return out

    def code_login(self, name, secret):
        """Logs in with the code of the next step (the clock moved on: no code twice)."""
        self.now += 30
        self.srv.set_clock(self.now)
        return login(self.srv, name, totp=totp(secret, self.now))

    def test_sealed_restart_missing_and_wrong_key(self):
        import sqlite3
        srv = self.start()
        self.assertIn("created the key file %s" % self.key, "\n".join(srv.startup))
        self.assertEqual(os.stat(self.key).st_mode & 0o777, 0o600)
        srv.add_user("root", "admin")
        s = session(srv, login(srv, "root"))
        secret = s.request("POST", "/api/v1/totp/enroll").json()["secret"]
        raw = base64.b32decode(secret)
        r = s.request("POST", "/api/v1/totp/confirm", json_body={"code": totp(secret, T0)})
        self.assertEqual(r.status, 200, r)
        codes = r.json()["recovery_codes"]
        # the database holds the key sealed only: 68 bytes, and the key's bytes nowhere
        db = sqlite3.connect(srv.db)
        (stored,) = db.execute("SELECT secret FROM totp").fetchone()
        db.close()
        self.assertEqual(len(stored), 68)
        self.assertFalse(raw in self.db_bytes(), "the key in the clear on disk")
        self.assertFalse(secret.encode() in self.db_bytes(), "the base32 key on disk")
        # a backup says where the key is, and does not hold it
        b = srv.cli("backup", os.path.join(self.dir, "backup.db"))
        self.assertEqual(b.returncode, 0, b.stderr)
        self.assertIn("sealed with the key file %s" % self.key, b.stdout)
        with open(os.path.join(self.dir, "backup.db"), "rb") as f:
            self.assertFalse(raw in f.read(), "the key in the clear in the backup")

        # sign-in with a code after a restart
        srv = self.restart()
        self.assertNotIn("totp:", "\n".join(srv.startup))
        r = self.code_login("root", secret)
        self.assertEqual(r.status, 200, r)

        # the key file gone: told at start, naming the account; no new key is made; a code is
        # refused with a clear message (not "wrong password"); a recovery code still works
        os.rename(self.key, self.key + ".saved")
        srv = self.restart()
        start = "\n".join(srv.startup)
        self.assertIn("the key file %s is missing" % self.key, start)
        self.assertIn("cannot sign in with a code", start)
        self.assertIn(": root", start)
        self.assertFalse(os.path.exists(self.key), "no new key over the sealed one")
        r = self.code_login("root", secret)
        self.assertEqual((r.status, r.json()["error"]["code"]), (503, "totp_key_unavailable"), r)
        self.assertIn("key file", r.json()["error"]["message"])
        self.assertEqual(srv.request("GET", "/api/v1/health").status, 200)
        # the sign-in page says so too
        import test_pages
        b = test_pages.Browser(srv)
        b.get("/staff/login?lang=en")
        self.now += 30
        srv.set_clock(self.now)
        r = b.post("/staff/login", {"username": "root", "password": PW,
                                    "second": totp(secret, self.now)})
        self.assertEqual(r.status, 503)
        self.assertIn("key file for the second factor is missing or wrong", b.text())
        r = login(srv, "root", recovery_code=codes[0])
        self.assertEqual(r.status, 200, r)
        # nobody can enrol meanwhile
        srv.add_user("boss", "supervisor")
        bs = session(srv, login(srv, "boss"))
        r = bs.request("POST", "/api/v1/totp/enroll")
        self.assertEqual((r.status, r.json()["error"]["code"]), (503, "totp_key_unavailable"), r)
        b = test_pages.Browser(srv)
        b.get("/staff/login?lang=en")
        b.post("/staff/login", {"username": "boss", "password": PW})
        b.get("/staff/totp")
        r = b.post("/staff/totp/enroll", {})
        self.assertEqual(r.status, 503)
        self.assertIn("key file for the second factor is missing or wrong", b.text())
        self.assertIn(("root", "root", 0, "second factor cannot be checked: the key file is "
                       "missing or wrong"), audit_rows(srv, "login_failed"))

        # a wrong key file: told at start; codes refused as above
        with open(self.key, "w") as f:
            f.write("ab" * 32 + "\n")
        os.chmod(self.key, 0o600)
        srv = self.restart()
        self.assertIn("do not open with the key file %s" % self.key, "\n".join(srv.startup))
        r = self.code_login("root", secret)
        self.assertEqual(r.status, 503, r)

        # the right file back: everything as before
        os.replace(self.key + ".saved", self.key)
        srv = self.restart()
        self.assertNotIn("totp:", "\n".join(srv.startup))
        r = self.code_login("root", secret)
        self.assertEqual(r.status, 200, r)

    def test_keys_in_the_clear_are_sealed_at_start(self):
        import sqlite3
        srv = self.start(CIVICDESK_SECRET_KEY_FILE=os.path.join(self.dir, "elsewhere.key"))
        srv.add_user("root", "admin")
        srv.stop()
        # a database from before schema 021, with a key as civicdesk wrote it then: the 20
        # bytes themselves
        raw = bytes(range(1, 21))
        secret = base64.b32encode(raw).decode()
        db = sqlite3.connect(srv.db)
        db.executescript(harness.UNDO_032 + harness.UNDO_031 + harness.UNDO_021 + "DELETE FROM schema_migrations WHERE number >= 21;"
                         "PRAGMA user_version = 19;")
        (uid,) = db.execute("SELECT id FROM accounts WHERE username = 'root'").fetchone()
        db.execute("INSERT INTO totp (account_id, secret, confirmed, last_step, created) "
                   "VALUES (?, ?, 1, 0, ?)", (uid, raw, T0))
        db.commit()
        db.close()
        self.assertTrue(raw in self.db_bytes())
        srv.cleanup()
        srv = self.start(CIVICDESK_SECRET_KEY_FILE=os.path.join(self.dir, "elsewhere.key"))
        self.assertIn("1 second-factor key(s) stored in the clear were sealed",
                      "\n".join(srv.startup))
        self.assertIn("(schema %d)" % harness.SCHEMA_LATEST, "\n".join(srv.startup))
        self.assertFalse(os.path.exists(self.key), "the configured path is used")
        db = sqlite3.connect(srv.db)
        (stored,) = db.execute("SELECT secret FROM totp").fetchone()
        db.close()
        self.assertEqual(len(stored), 68)
        self.assertFalse(raw in self.db_bytes(), "the key in the clear on disk")
        r = self.code_login("root", secret)
        self.assertEqual(r.status, 200, r)


class TotpConfig(unittest.TestCase):
    def test_roles_configurable(self):
        srv = harness.Server(env={"CIVICDESK_TOTP_ROLES": "handler"}).start()
        try:
            srv.add_user("root", "admin")
            srv.add_user("hand", "handler", "法规处")
            self.assertFalse(login(srv, "root").json()["must_enroll"])
            self.assertTrue(login(srv, "hand").json()["must_enroll"])
        finally:
            srv.cleanup()
        r = harness.run_cli("serve", env={"CIVICDESK_TOTP_ROLES": "admin,chief",
                                          "CIVICDESK_DB": "/nonexistent/x.db"})
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("unknown role 'chief'", r.stderr)


if __name__ == "__main__":
    harness.main()
