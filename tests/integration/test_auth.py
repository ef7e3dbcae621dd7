"""Accounts, sessions, lockout, CSRF, forced password changes, roles and the audit log,
against the real daemon with a fresh database per test."""
import os
import shutil
import sqlite3
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

T0 = "2025-09-30T10:00"
PW = "Test-Passw0rd"
LOGIN = "/api/v1/login"


def at(minutes=0, seconds=0):
    """An instant after T0 as Unix seconds (T0 is 2025-09-30 10:00 +08:00)."""
    return 1759197600 + minutes * 60 + seconds


class AuthTest(unittest.TestCase):
    # the tests that read what a new database's first start prints (its demo accounts)
    FIRST_START = {"test_demo_accounts_must_change"}

    def setUp(self):
        if self._testMethodName in self.FIRST_START:
            self.srv = harness.Server().start()
        else:  # a copy of a new database (template_db), not a new one made for each test
            self.srv = harness.Server(db_from=harness.new_db()).start()

    def tearDown(self):
        self.srv.cleanup()

    def login_raw(self, name, password):
        return self.srv.request("POST", LOGIN, json_body={"username": name, "password": password})

    def admin(self):
        return self.srv.staff("root1", "admin")

    def audit(self, admin, query=""):
        r = admin.request("GET", "/api/v1/audit" + query)
        self.assertEqual(r.status, 200, r)
        return r.json()["entries"]

    # --- login and the cookie -----------------------------------------------------------------

    def test_cli_add_then_login(self):
        r = self.srv.cli("user", "add", "alice", "--role", "handler", "--section", "法规处",
                         "--password-stdin", stdin=PW + "\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.strip(), "created alice (handler)")
        r = self.login_raw("alice", PW)
        self.assertEqual(r.status, 200, r)
        body = r.json()
        self.assertEqual(body["username"], "alice")
        self.assertEqual(body["role"], "handler")
        self.assertEqual(body["section"], "法规处")
        self.assertIs(body["must_change"], False)  # an operator's choice is not forced to change
        self.assertGreaterEqual(len(body["csrf_token"]), 32)
        cookie = r.header("Set-Cookie")
        attrs = [a.strip() for a in cookie.split(";")]
        self.assertTrue(attrs[0].startswith("civicdesk_session="))
        self.assertGreaterEqual(len(attrs[0]), len("civicdesk_session=") + 32)
        for a in ("HttpOnly", "SameSite=Strict", "Path=/"):
            self.assertIn(a, attrs)
        self.assertNotIn("Secure", attrs)  # plain HTTP unless cookie_secure is set
        me = self.srv.request("GET", "/api/v1/me", headers={"Cookie": attrs[0]})
        self.assertEqual(me.status, 200, me)
        self.assertEqual(me.json()["username"], "alice")
        # Without a cookie, or with a made-up one: 401.
        r = self.srv.request("GET", "/api/v1/me")
        self.assertEqual((r.status, r.json()["error"]["code"]), (401, "unauthenticated"))
        r = self.srv.request("GET", "/api/v1/me",
                             headers={"Cookie": "civicdesk_session=" + "A" * 43})
        self.assertEqual((r.status, r.json()["error"]["code"]), (401, "unauthenticated"))

    def test_cli_add_before_the_first_start(self):
        """An operator may create accounts before serve ever ran: the command creates the
        embedded default (demo sections included), printing the demo accounts on stderr so
        that its stdout stays one line."""
        d = tempfile.mkdtemp(prefix="civicdesk-test-")
        try:
            db = os.path.join(d, "new.db")
            r = harness.run_cli("user", "add", "bob", "--role", "handler", "--section", "稽查处",
                                "--password-stdin", stdin=PW, env={"CIVICDESK_DB": db})
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stdout, "created bob (handler)\n")
            self.assertIn("demo account: admin (admin) one-time password: ", r.stderr)
            srv = harness.Server(env={"CIVICDESK_DB": db}).start()
            try:
                self.assertNotIn("demo account", "\n".join(srv.startup))  # created once
                r = srv.request("POST", "/api/v1/login",
                                json_body={"username": "bob", "password": PW})
                self.assertEqual((r.status, r.json()["section"]), (200, "稽查处"), r)
            finally:
                srv.cleanup()
        finally:
            shutil.rmtree(d, ignore_errors=True)

    def test_secure_cookie_when_configured(self):
        self.srv.cleanup()
        self.srv = harness.Server(env={"CIVICDESK_COOKIE_SECURE": "1"}).start()
        self.srv.add_user("alice", "handler", "办公室")
        r = self.login_raw("alice", PW)
        self.assertIn("Secure", [a.strip() for a in r.header("Set-Cookie").split(";")])

    def test_login_bad_bodies(self):
        for body, field in (({"password": PW}, "username"), ({"username": "alice"}, "password"),
                            ({"username": 5, "password": PW}, "username")):
            r = self.srv.request("POST", LOGIN, json_body=body)
            self.assertEqual(r.status, 400, r)
            self.assertEqual(r.json()["error"]["field"], field)
        r = self.srv.request("POST", LOGIN, body="{not json",
                             headers={"Content-Type": "application/json"})
        self.assertEqual(r.status, 400)

    def test_wrong_password_and_unknown_user_identical(self):
        self.srv.add_user("alice", "handler", "办公室")
        wrong = self.login_raw("alice", "Wrong-Passw0rd")
        unknown = self.login_raw("nobody", "Wrong-Passw0rd")
        self.assertEqual(wrong.status, 401)
        self.assertEqual(unknown.status, 401)
        self.assertEqual(wrong.body, unknown.body)
        self.assertEqual(wrong.json()["error"]["code"], "login_failed")
        self.assertIsNone(wrong.header("Set-Cookie"))
        self.assertIsNone(unknown.header("Set-Cookie"))

    # --- lockout ------------------------------------------------------------------------------

    def test_lockout_and_unlock(self):
        self.srv.set_clock(T0)
        self.srv.add_user("alice", "handler", "办公室")
        failed = self.login_raw("alice", "Wrong-Passw0rd").body
        for _ in range(4):
            self.assertEqual(self.login_raw("alice", "Wrong-Passw0rd").status, 401)
        # Five failures: the right password is refused now, with the very same answer.
        r = self.login_raw("alice", PW)
        self.assertEqual(r.status, 401)
        self.assertEqual(r.body, failed)
        # An unknown name locks the same way, so locking reveals nothing.
        for _ in range(5):
            self.login_raw("ghost", "Wrong-Passw0rd")
        self.assertEqual(self.login_raw("ghost", PW).body, failed)
        self.srv.set_clock(at(minutes=14, seconds=59))
        self.assertEqual(self.login_raw("alice", PW).status, 401)
        self.srv.set_clock(at(minutes=15, seconds=1))
        r = self.login_raw("alice", PW)
        self.assertEqual(r.status, 200, r)

    def test_username_case(self):
        """A name is found without regard to case (a phone capitalises the first letter
        typed), locked and audited under the account's own name, and cannot be taken again
        in another case."""
        self.srv.set_clock(T0)
        self.srv.add_user("alice", "handler", "办公室")
        r = self.login_raw("Alice", PW)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["username"], "alice")
        # Failures in any case count for the one account: five lock it, whatever the case.
        for name in ("ALICE", "Alice", "aLiCe", "alicE", "ALICE"):
            self.assertEqual(self.login_raw(name, "Wrong-Passw0rd").status, 401)
        self.assertEqual(self.login_raw("alice", PW).status, 401)
        admin = self.admin()
        rows = self.audit(admin, "?target=alice&action=login_failed")
        self.assertEqual(len(rows), 6, rows)  # the five, then the locked attempt
        # The name is taken in every case.
        r = self.srv.cli("user", "add", "ALICE", "--role", "handler", "--section", "法规处",
                         "--password-stdin", stdin=PW + "\n")
        self.assertNotEqual(r.returncode, 0, r.stdout)
        self.assertIn("exists already", r.stderr)
        r = admin.request("POST", "/api/v1/admin/users",
                                 json_body={"username": "Alice", "role": "handler",
                                            "section": "法规处"})
        self.assertEqual((r.status, r.json()["error"]["code"]), (409, "exists"), r)

    def test_failures_outside_window_do_not_lock(self):
        self.srv.set_clock(T0)
        self.srv.add_user("alice", "handler", "办公室")
        for i in range(5):  # one every 4 minutes: never 5 within 15 minutes
            self.srv.set_clock(at(minutes=4 * i))
            self.login_raw("alice", "Wrong-Passw0rd")
        self.assertEqual(self.login_raw("alice", PW).status, 200)

    # --- sessions -----------------------------------------------------------------------------

    def test_session_idle_expiry(self):
        self.srv.set_clock(T0)
        s = self.srv.staff("alice", "handler", "办公室")
        self.srv.set_clock(at(minutes=29, seconds=59))
        self.assertEqual(s.request("GET", "/api/v1/me").status, 200)
        # Activity keeps it alive: 29 minutes after the last request, still valid.
        self.srv.set_clock(at(minutes=58, seconds=59))
        self.assertEqual(s.request("GET", "/api/v1/me").status, 200)
        self.srv.set_clock(at(minutes=58 + 30, seconds=59 + 2))
        r = s.request("GET", "/api/v1/me")
        self.assertEqual((r.status, r.json()["error"]["code"]), (401, "unauthenticated"))

    def test_session_absolute_expiry(self):
        self.srv.set_clock(T0)
        s = self.srv.staff("alice", "handler", "办公室")
        minutes = 0
        while minutes + 25 < 12 * 60:  # active every 25 minutes, for 12 hours
            minutes += 25
            self.srv.set_clock(at(minutes=minutes))
            self.assertEqual(s.request("GET", "/api/v1/me").status, 200, minutes)
        self.srv.set_clock(at(minutes=12 * 60, seconds=1))
        r = s.request("GET", "/api/v1/me")
        self.assertEqual((r.status, r.json()["error"]["code"]), (401, "unauthenticated"))

    def test_csrf_required_on_state_changes(self):
        s = self.srv.staff("alice", "handler", "办公室")
        r = s.request("POST", "/api/v1/logout", csrf=False)
        self.assertEqual((r.status, r.json()["error"]["code"]), (403, "csrf"))
        r = s.request("POST", "/api/v1/logout", headers={"X-CSRF-Token": "x" * 43})
        self.assertEqual((r.status, r.json()["error"]["code"]), (403, "csrf"))
        r = s.request("POST", "/api/v1/password", csrf=False,
                      json_body={"old_password": PW, "new_password": "Other-Passw0rd"})
        self.assertEqual((r.status, r.json()["error"]["code"]), (403, "csrf"))
        # Another session's token does not fit this one.
        other = self.srv.login("alice", PW)
        r = s.request("POST", "/api/v1/logout", headers={"X-CSRF-Token": other.csrf_token})
        self.assertEqual((r.status, r.json()["error"]["code"]), (403, "csrf"))
        # Reading needs no token; the session survived the refused attempts.
        self.assertEqual(s.request("GET", "/api/v1/me").status, 200)
        r = s.request("POST", "/api/v1/logout")
        self.assertEqual(r.status, 200, r)
        self.assertIn("Max-Age=0", r.header("Set-Cookie"))
        self.assertEqual(s.request("GET", "/api/v1/me").status, 401)
        self.assertEqual(other.request("GET", "/api/v1/me").status, 200)

    # --- passwords ----------------------------------------------------------------------------

    def test_forced_change_after_reset(self):
        admin = self.admin()
        self.srv.add_user("boss", "admin")
        r = admin.request("PATCH", "/api/v1/admin/users/boss", json_body={"reset_password": True})
        self.assertEqual(r.status, 200, r)
        otp = r.json()["one_time_password"]
        self.assertIs(r.json()["must_change"], True)
        self.assertEqual(self.login_raw("boss", PW).status, 401)  # the old one is gone
        s = self.srv.login("boss", otp)
        self.assertIs(s.info["must_change"], True)
        r = s.request("GET", "/api/v1/admin/users")
        self.assertEqual((r.status, r.json()["error"]["code"]), (403, "password_change_required"))
        self.assertEqual(s.request("GET", "/api/v1/me").json()["must_change"], True)
        r = s.request("POST", "/api/v1/password",
                      json_body={"old_password": otp, "new_password": "New-Passw0rd"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(s.request("GET", "/api/v1/admin/users").status, 200)
        self.assertEqual(self.srv.login("boss", "New-Passw0rd").info["must_change"], False)

    def test_demo_accounts_must_change(self):
        demo = self.srv.demo_passwords()
        self.assertEqual(set(demo), {"handler1", "head1", "dispatcher1", "supervisor1", "admin"})
        self.assertTrue(any(l.startswith("demo account: handler1 (handler, 法规处) one-time "
                                         "password: ") for l in self.srv.startup))
        s = self.srv.login("admin", demo["admin"])
        self.assertIs(s.info["must_change"], True)
        r = s.request("GET", "/api/v1/audit")
        self.assertEqual(r.json()["error"]["code"], "password_change_required")
        head = self.srv.login("head1", demo["head1"])
        self.assertEqual((head.info["role"], head.info["section"]), ("section_head", "法规处"))

    def test_password_max_age(self):
        self.srv.set_clock(T0)
        self.srv.add_user("boss", "admin")
        self.srv.set_clock("2025-12-29T10:01")  # 90 days and a minute later
        s = self.srv.login("boss", PW)
        self.assertIs(s.info["must_change"], True)
        r = s.request("GET", "/api/v1/admin/users")
        self.assertEqual(r.json()["error"]["code"], "password_change_required")

    def test_password_change_rules(self):
        s = self.srv.staff("alice", "handler", "办公室")
        elsewhere = self.srv.login("alice", PW)  # the same account on another computer

        def change(old, new):
            return s.request("POST", "/api/v1/password",
                             json_body={"old_password": old, "new_password": new})

        r = change("Wrong-Passw0rd", "New-Passw0rd1")
        self.assertEqual((r.status, r.json()["error"]["field"]), (400, "old_password"))
        for weak, words in (("Ab1-x", "8 characters"), ("alllowercase", "3 of"),
                            ("Alice-Passw0rd", "account name")):
            r = change(PW, weak)
            self.assertEqual(r.status, 400, r)
            self.assertEqual(r.json()["error"]["field"], "new_password")
            self.assertIn(words, r.json()["error"]["message"])
        r = change(PW, PW)  # the current one is one of the last five
        self.assertEqual((r.status, r.json()["error"]["field"]), (400, "new_password"))
        self.assertIn("last 5", r.json()["error"]["message"])
        self.assertEqual(change(PW, "Second-Passw0rd").status, 200)
        # the change ends the account's other sessions, not the one that made it
        self.assertEqual(s.request("GET", "/api/v1/me").status, 200)
        r = elsewhere.request("GET", "/api/v1/me")
        self.assertEqual((r.status, r.json()["error"]["code"]), (401, "unauthenticated"))
        r = change("Second-Passw0rd", PW)  # back to a former one: refused
        self.assertEqual(r.status, 400, r)
        self.assertIn("last 5", r.json()["error"]["message"])
        self.assertEqual(self.login_raw("alice", "Second-Passw0rd").status, 200)

    # --- roles and the account lifecycle ------------------------------------------------------

    def test_roles(self):
        h = self.srv.staff("alice", "handler", "法规处")
        for method, path in (("GET", "/api/v1/admin/users"), ("GET", "/api/v1/audit"),
                             ("GET", "/api/v1/admin/sections")):
            r = h.request(method, path)
            self.assertEqual((r.status, r.json()["error"]["code"]), (403, "forbidden"), path)
        r = h.request("POST", "/api/v1/admin/users", json_body={"username": "x1", "role": "admin"})
        self.assertEqual((r.status, r.json()["error"]["code"]), (403, "forbidden"))
        r = h.request("PATCH", "/api/v1/admin/users/alice", json_body={"role": "admin"})
        self.assertEqual(r.status, 403)

    def test_admin_accounts_and_suspension(self):
        admin = self.admin()
        r = admin.request("POST", "/api/v1/admin/users",
                          json_body={"username": "bob", "role": "handler", "section": "稽查处",
                                     "display_name": "Bob", "email": "bob@example.org"})
        self.assertEqual(r.status, 201, r)
        otp = r.json()["one_time_password"]
        self.assertEqual((r.json()["section"], r.json()["status"]), ("稽查处", "active"))
        r = admin.request("POST", "/api/v1/admin/users",
                          json_body={"username": "bob", "role": "handler", "section": "办公室"})
        self.assertEqual(r.status, 409)
        for body, field in (({"username": "b", "role": "handler"}, "username"),
                            ({"username": "carol", "role": "handler"}, "section"),
                            ({"username": "carol", "role": "section_head", "section": None},
                             "section"),
                            ({"username": "carol", "role": "boss"}, "role"),
                            ({"username": "carol", "role": "handler", "section": "无"}, "section"),
                            ({"username": "carol", "role": "handler", "extra": 1}, "extra")):
            r = admin.request("POST", "/api/v1/admin/users", json_body=body)
            self.assertEqual((r.status, r.json()["error"].get("field")), (400, field), body)
        bob = self.srv.login("bob", otp)
        bob.request("POST", "/api/v1/password",
                    json_body={"old_password": otp, "new_password": "Secret-Passw0rd9"})
        r = admin.request("PATCH", "/api/v1/admin/users/bob",
                          json_body={"role": "section_head", "status": "suspended"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual((r.json()["role"], r.json()["status"]), ("section_head", "suspended"))
        # A suspended account's sessions end, and it cannot log in.
        self.assertEqual(bob.request("GET", "/api/v1/me").status, 401)
        r = self.login_raw("bob", "Secret-Passw0rd9")
        self.assertEqual((r.status, r.json()["error"]["code"]), (401, "login_failed"))
        r = admin.request("PATCH", "/api/v1/admin/users/bob", json_body={"status": "active"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.login_raw("bob", "Secret-Passw0rd9").status, 200)
        r = admin.request("PATCH", "/api/v1/admin/users/bob", json_body={"status": "revoked"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.login_raw("bob", "Secret-Passw0rd9").status, 401)
        r = admin.request("PATCH", "/api/v1/admin/users/bob", json_body={"status": "active"})
        self.assertEqual((r.status, r.json()["error"]["field"]), (400, "status"))
        r = admin.request("PATCH", "/api/v1/admin/users/nobody", json_body={"status": "active"})
        self.assertEqual(r.status, 404)
        r = admin.request("PATCH", "/api/v1/admin/users/root1", json_body={"status": "suspended"})
        self.assertEqual(r.status, 400)
        # The error names the field at fault, not a harmless one sent along with it.
        for body, field in (({"role": "admin", "status": "revoked"}, "status"),
                            ({"role": "handler", "status": "active"}, "role"),
                            ({"status": "suspended"}, "status"),
                            ({"role": "handler"}, "role")):
            r = admin.request("PATCH", "/api/v1/admin/users/root1", json_body=body)
            self.assertEqual((r.status, r.json()["error"].get("field")), (400, field), body)
        self.assertEqual(admin.request("GET", "/api/v1/me").json()["role"], "admin")
        users = {u["username"]: u for u in admin.request("GET", "/api/v1/admin/users").json()["users"]}
        self.assertEqual(users["bob"]["status"], "revoked")  # revoked accounts stay listed
        self.assertNotIn("password_hash", users["bob"])

    def test_cli_suspend_ends_sessions(self):
        s = self.srv.staff("alice", "handler", "办公室")
        r = self.srv.cli("user", "suspend", "alice")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(s.request("GET", "/api/v1/me").status, 401)
        self.assertEqual(self.login_raw("alice", PW).status, 401)
        self.assertEqual(self.srv.cli("user", "reactivate", "alice").returncode, 0)
        self.assertEqual(self.login_raw("alice", PW).status, 200)
        r = self.srv.cli("user", "reset-password", "alice")
        self.assertEqual(r.returncode, 0, r.stderr)
        otp = r.stdout.strip().rsplit(" ", 1)[1]
        s = self.srv.login("alice", otp)
        self.assertIs(s.info["must_change"], True)

    def test_sections_admin(self):
        admin = self.admin()
        names = [s["name"] for s in admin.request("GET", "/api/v1/admin/sections").json()["sections"]]
        self.assertEqual(names, ["办公室", "法规处", "稽查处", "信息中心"])
        r = admin.request("POST", "/api/v1/admin/sections",
                          json_body={"name": "督查室", "email": "dc@example.org"})
        self.assertEqual(r.status, 201, r)
        sid = r.json()["id"]
        self.assertEqual(admin.request("POST", "/api/v1/admin/sections",
                                       json_body={"name": "督查室"}).status, 409)
        r = admin.request("PATCH", "/api/v1/admin/sections/%d" % sid,
                          json_body={"name": "督查处", "active": False, "email": None})
        self.assertEqual(r.status, 200, r)
        self.assertEqual((r.json()["name"], r.json()["active"], r.json()["email"]),
                         ("督查处", False, None))
        self.assertEqual(admin.request("PATCH", "/api/v1/admin/sections/%d" % sid,
                                       json_body={"name": "法规处"}).status, 409)
        self.assertEqual(admin.request("PATCH", "/api/v1/admin/sections/999",
                                       json_body={"active": True}).status, 404)
        r = admin.request("POST", "/api/v1/admin/sections", json_body={"name": ""})
        self.assertEqual((r.status, r.json()["error"]["field"]), (400, "name"))
        # A name is counted in characters, as the admin page's field counts them: 100 Chinese
        # characters (300 bytes) are a name, 101 are not.
        long_name = "区" * 99 + "室"
        r = admin.request("POST", "/api/v1/admin/sections", json_body={"name": long_name})
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json()["name"], long_name)
        r = admin.request("POST", "/api/v1/admin/sections", json_body={"name": long_name + "甲"})
        self.assertEqual((r.status, r.json()["error"]["field"]), (400, "name"))
        self.assertIn("100 characters", r.json()["error"]["message"])

    # --- audit --------------------------------------------------------------------------------

    def test_audit_log(self):
        self.srv.set_clock(T0)
        self.srv.add_user("alice", "handler", "办公室")
        self.login_raw("alice", "Wrong-Passw0rd")
        self.login_raw("nobody", "Wrong-Passw0rd")
        alice = self.srv.login("alice", PW)
        alice.request("POST", "/api/v1/logout")
        admin = self.admin()
        rows = self.audit(admin, "?target=alice")
        actions = [(e["action"], e["ok"]) for e in rows]
        # Newest first: logout, login, login_failed, user_add (by cli).
        self.assertEqual(actions, [("logout", True), ("login", True), ("login_failed", False),
                                   ("user_add", True)])
        failed = rows[2]
        self.assertEqual((failed["actor"], failed["addr"]), ("alice", "127.0.0.1"))
        self.assertEqual(rows[1]["addr"], "127.0.0.1")
        self.assertEqual(rows[3]["actor"], "cli")
        self.assertTrue(rows[1]["at"].startswith("2025-09-30T10:00"))
        unknown = self.audit(admin, "?action=login_failed&actor=nobody")
        self.assertEqual(len(unknown), 1)
        self.assertEqual(unknown[0]["target"], "nobody")
        # Dates: nothing on the next day; everything on the day.
        self.assertEqual(self.audit(admin, "?from=2025-10-01&to=2025-12-31"), [])
        self.assertEqual(len(self.audit(admin, "?from=2025-09-30&to=2025-09-30&target=alice")), 4)
        self.assertEqual(self.audit(admin, "?to=2025-09-29"), [])
        # Keyset pages of one row walk the same rows.
        page = admin.request("GET", "/api/v1/audit?target=alice&limit=1").json()
        seen = [page["entries"][0]["id"]]
        while page["next_before"] is not None:
            page = admin.request("GET", "/api/v1/audit?target=alice&limit=1&before=%d"
                                 % page["next_before"]).json()
            seen += [e["id"] for e in page["entries"]]
        self.assertEqual(seen, [e["id"] for e in rows])
        for q, field in (("?from=yesterday", "from"), ("?limit=0", "limit"),
                         ("?limit=5000", "limit"), ("?before=-1", "before")):
            r = admin.request("GET", "/api/v1/audit" + q)
            self.assertEqual((r.status, r.json()["error"]["field"]), (400, field), q)
        # Append-only from the API: nothing changes or deletes rows.
        for method in ("DELETE", "PATCH", "PUT", "POST"):
            r = admin.request(method, "/api/v1/audit", json_body={})
            self.assertEqual(r.status, 405, method)

    def test_odd_login_names_audited_readably(self):
        long_name = "密" * 40  # 120 bytes: recorded cut at a character boundary
        for name in (long_name, "x' OR '1'='1", "<script>alert(1)</script>"):
            r = self.login_raw(name, "Wrong-Passw0rd")
            self.assertEqual((r.status, r.json()["error"]["code"]), (401, "login_failed"))
        admin = self.admin()
        rows = self.audit(admin, "?action=login_failed")
        actors = [e["actor"] for e in rows]
        self.assertEqual(actors[0], "<script>alert(1)</script>")  # stored verbatim, as data
        self.assertEqual(actors[1], "x' OR '1'='1")
        self.assertEqual(actors[2], "密" * 21)  # 63 bytes: the 22nd character would not fit
        self.assertEqual(len(self.audit(admin, "?actor=" + "%E5%AF%86" * 21)), 1)
        # an over-long password for an account that exists: said as it is
        r = self.login_raw("admin", "P4ss!" * 60)
        self.assertEqual((r.status, r.json()["error"]["code"]), (401, "login_failed"))
        row = self.audit(admin, "?action=login_failed&actor=admin")[0]
        self.assertEqual(row["detail"], "password too long")

    def test_account_changes_audited(self):
        admin = self.admin()
        admin.request("POST", "/api/v1/admin/users",
                      json_body={"username": "bob", "role": "handler", "section": "办公室"})
        admin.request("PATCH", "/api/v1/admin/users/bob",
                      json_body={"role": "dispatcher", "status": "suspended", "reset_password": True})
        rows = self.audit(admin, "?target=bob&actor=root1")
        self.assertEqual([e["action"] for e in rows],
                         ["user_reset_password", "user_suspend", "user_update", "user_add"])
        self.assertIn("handler -> dispatcher", rows[2]["detail"])

    def test_p16_handler_and_head_need_a_section(self):
        """#14 point 16: a handler or section head without a section is refused at create and
        at change, naming the field."""
        admin = self.admin()
        r = admin.request("POST", "/api/v1/admin/users",
                          json_body={"username": "dora", "role": "dispatcher"})
        self.assertEqual(r.status, 201, r)
        for body in ({"role": "handler"}, {"role": "section_head", "section": None}):
            r = admin.request("PATCH", "/api/v1/admin/users/dora", json_body=body)
            self.assertEqual((r.status, r.json()["error"].get("field")), (400, "section"), body)
        r = admin.request("PATCH", "/api/v1/admin/users/dora",
                          json_body={"role": "handler", "section": "法规处"})
        self.assertEqual((r.status, r.json()["role"]), (200, "handler"), r)
        r = admin.request("PATCH", "/api/v1/admin/users/dora", json_body={"section": None})
        self.assertEqual((r.status, r.json()["error"].get("field")), (400, "section"), r)
        r = admin.request("PATCH", "/api/v1/admin/users/dora", json_body={"role": "section_head"})
        self.assertEqual(r.status, 200, r)
        users = {u["username"]: u for u in admin.request("GET", "/api/v1/admin/users").json()["users"]}
        self.assertEqual((users["dora"]["role"], users["dora"]["section"]), ("section_head", "法规处"))

    # --- command line -------------------------------------------------------------------------

    def test_cli_exit_codes(self):
        r = self.srv.cli("user", "add", "alice", "--role", "handler", "--section", "办公室",
                         "--password-stdin", stdin="short\n")
        self.assertEqual(r.returncode, 65)
        self.assertIn("8 characters", r.stderr)
        r = self.srv.cli("user", "add", "alice", "--role", "handler", "--section", "办公室",
                         "--password-stdin", stdin="xalice-Passw0rd\n")
        self.assertEqual(r.returncode, 65)
        self.assertIn("account name", r.stderr)
        r = self.srv.cli("user", "add", "alice", "--role", "boss", "--password-stdin",
                         stdin=PW + "\n")
        self.assertEqual(r.returncode, 64)
        self.assertIn("unknown role", r.stderr)
        r = self.srv.cli("user", "add", "alice", "--role", "handler", "--section", "无",
                         "--password-stdin", stdin=PW + "\n")
        self.assertEqual(r.returncode, 65)
        self.assertIn("unknown section", r.stderr)
        # a handler without a section (#14 point 16)
        r = self.srv.cli("user", "add", "alice", "--role", "handler", "--password-stdin",
                         stdin=PW + "\n")
        self.assertEqual(r.returncode, 64)
        self.assertIn("needs a section", r.stderr)
        self.assertEqual(self.srv.cli("user", "add", "alice", "--role", "handler", "--section",
                                      "办公室", "--password-stdin", stdin=PW).returncode,
                         0)  # no newline
        r = self.srv.cli("user", "add", "alice", "--role", "handler", "--section", "办公室",
                         "--password-stdin", stdin=PW + "\n")
        self.assertEqual(r.returncode, 65)
        self.assertIn("exists", r.stderr)
        self.assertEqual(self.srv.cli("user", "add", "alice").returncode, 64)
        self.assertEqual(self.srv.cli("user", "frobnicate", "alice").returncode, 64)
        self.assertEqual(self.srv.cli("user", "suspend", "nobody").returncode, 65)
        r = self.srv.cli("user", "list")
        self.assertEqual(r.returncode, 0)
        self.assertIn("alice\thandler\t办公室\tactive", r.stdout)
        self.assertEqual(self.login_raw("alice", PW).status, 200)
        r = self.srv.cli("user", "passwd", "alice", "--password-stdin", stdin=PW + "\n")
        self.assertEqual(r.returncode, 65)  # the current one
        r = self.srv.cli("user", "set-role", "alice", "section_head", "--section", "法规处")
        self.assertEqual(r.returncode, 0, r.stderr)
        s = self.srv.login("alice", PW)
        self.assertEqual((s.info["role"], s.info["section"]), ("section_head", "法规处"))


# The start of a stored argon2id string at libsodium's interactive cost (what civicdesk hashes a
# staff password with) and at its minimum (the suites' CIVICDESK_TEST_FAST_HASH, and one-time
# passwords always).
REAL_COST = "$argon2id$v=19$m=65536,t=2,p=1$"
FAST_COST = "$argon2id$v=19$m=8,t=1,p=1$"


def stored_hash(srv, name):
    db = sqlite3.connect(srv.db)
    try:
        return db.execute("SELECT password_hash FROM accounts WHERE username = ?",
                          (name,)).fetchone()[0]
    finally:
        db.close()


class PasswordCost(unittest.TestCase):
    """The suites hash passwords at libsodium's minimum cost (harness.py sets
    CIVICDESK_TEST_FAST_HASH=1, which only test builds read): without it, as in production,
    a password set by the command line or the API is stored at the real cost and logs in; with it
    the cost is the minimum, and only the value 1 lowers it."""

    def start(self, knob):
        self.srv = harness.Server(env={"CIVICDESK_TEST_FAST_HASH": knob},
                                  db_from=harness.new_db())
        self.addCleanup(self.srv.cleanup)
        self.srv.start()

    def test_real_cost_without_the_knob(self):
        self.start(None)
        self.srv.add_user("alice", "handler", "办公室")  # (cli() runs without it too)
        self.assertTrue(stored_hash(self.srv, "alice").startswith(REAL_COST),
                        stored_hash(self.srv, "alice"))
        r = self.srv.request("POST", LOGIN, json_body={"username": "alice", "password": PW + "x"})
        self.assertEqual(r.status, 401, r)
        r = self.srv.request("POST", LOGIN, json_body={"username": "nobody1", "password": PW})
        self.assertEqual(r.status, 401, r)
        alice = self.srv.login("alice", PW)
        r = alice.request("POST", "/api/v1/password",
                          json_body={"old_password": PW, "new_password": "Other-Passw0rd"})
        self.assertEqual(r.status, 200, r)
        self.assertTrue(stored_hash(self.srv, "alice").startswith(REAL_COST),
                        stored_hash(self.srv, "alice"))
        self.srv.login("alice", "Other-Passw0rd")

    def test_fast_cost_with_the_knob(self):
        self.start("1")  # (as harness.py sets it for every suite)
        self.srv.add_user("alice", "handler", "办公室")
        self.assertTrue(stored_hash(self.srv, "alice").startswith(FAST_COST),
                        stored_hash(self.srv, "alice"))
        r = self.srv.request("POST", LOGIN, json_body={"username": "alice", "password": PW + "x"})
        self.assertEqual(r.status, 401, r)
        r = self.srv.request("POST", LOGIN, json_body={"username": "nobody1", "password": PW})
        self.assertEqual(r.status, 401, r)
        self.srv.login("alice", PW)
        # any other value is the real cost
        r = harness.run_cli("user", "add", "bob1", "--role", "handler", "--section", "办公室",
                            "--password-stdin", stdin=PW + "\n",
                            env={"CIVICDESK_DB": self.srv.db, "CIVICDESK_TEST_FAST_HASH": "yes"})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(stored_hash(self.srv, "bob1").startswith(REAL_COST),
                        stored_hash(self.srv, "bob1"))
        self.srv.login("bob1", PW)  # a real-cost hash logs in under the knob too


class DisabledTimeouts(unittest.TestCase):
    """session_idle = 0 and session_max = 0 switch a timeout off (auth_check skips it): a login
    must then not prune every other session, and the cookie must not say Max-Age=0."""

    def tearDown(self):
        self.srv.cleanup()

    def test_no_idle_timeout_keeps_other_sessions(self):
        self.srv = harness.Server(env={"CIVICDESK_SESSION_IDLE": "0"}, db_from=harness.new_db()).start()
        self.srv.set_clock(T0)
        alice = self.srv.staff("alice", "handler", "办公室")
        self.srv.set_clock(at(minutes=90))
        self.srv.staff("bob1", "handler", "办公室")  # another login, an hour and a half later
        self.assertEqual(alice.request("GET", "/api/v1/me").status, 200)
        self.srv.set_clock(at(minutes=12 * 60, seconds=1))
        self.assertEqual(alice.request("GET", "/api/v1/me").status, 401)  # session_max holds

    def test_no_absolute_timeout(self):
        self.srv = harness.Server(env={"CIVICDESK_SESSION_MAX": "0"}, db_from=harness.new_db()).start()
        self.srv.set_clock(T0)
        self.srv.add_user("alice", "handler", "办公室")
        r = self.srv.request("POST", LOGIN, json_body={"username": "alice", "password": PW})
        self.assertEqual(r.status, 200, r)
        self.assertNotIn("Max-Age=0", r.header("Set-Cookie"))  # a browser would drop it at once
        alice = self.srv.login("alice", PW)
        self.srv.set_clock(at(minutes=1))
        self.srv.staff("bob1", "handler", "办公室")
        self.assertEqual(alice.request("GET", "/api/v1/me").status, 200)
        self.srv.set_clock(at(minutes=31, seconds=1))
        self.assertEqual(alice.request("GET", "/api/v1/me").status, 401)  # session_idle holds


if __name__ == "__main__":
    harness.main()
