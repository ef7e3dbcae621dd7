"""Security rules of staff accounts: common passwords and passwords made of the account's own
data are refused at every change (command line, the admin's account creation, the user's own
change); staff_networks limits where staff log in from; failed logins are throttled per address
and lock an account name for the failing address only, so that one attacker cannot lock out the
bureau.
"""
import os
import sqlite3
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


class Passwords(unittest.TestCase):
    def setUp(self):
        self.srv = harness.Server(db_from=harness.new_db()).start()  # a copy, not made again
        self.admin = self.srv.staff("chief", "admin")

    def tearDown(self):
        self.srv.cleanup()

    def test_common_password_refused_on_the_command_line(self):
        for pw in ("Passw0rd!", "P@ssword123", "Qwerty123!", "W0aini1314!"):
            with self.subTest(password=pw):
                r = self.srv.cli("user", "add", "wangli", "--role", "handler", "--section",
                                 "办公室", "--password-stdin", stdin=pw + "\n")
                self.assertEqual(r.returncode, 65, r.stderr)
                self.assertIn("common password", r.stderr)
        r = self.srv.cli("user", "add", "wangli", "--role", "handler", "--section", "办公室",
                         "--password-stdin", stdin="Kx7#mq2-Lp\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.srv.cli("user", "passwd", "wangli", "--password-stdin", stdin="Passw0rd!\n")
        self.assertEqual(r.returncode, 65, r.stderr)
        self.assertIn("common password", r.stderr)

    def test_own_name_and_phone_refused_at_every_change(self):
        self.srv.add_user("wangli", "handler", "办公室")
        r = self.admin.request("PATCH", "/api/v1/admin/users/wangli",
                               json_body={"display_name": "Wang Li", "phone": "13812345678",
                                          "email": "zhoujie@example.cn"})
        self.assertEqual(r.status, 200, r)
        user = self.srv.login("wangli", "Test-Passw0rd")
        cases = [
            ("Li-13812345678", "phone"),     # the user's name and own phone number
            ("Wangli#2024x", "account name"),
            ("Xy-Wang-Li-9", "display name"),
            ("Zhoujie-99!", "e-mail"),
            ("Passw0rd!", "common password"),
        ]
        for pw, rule in cases:
            with self.subTest(password=pw):
                r = user.request("POST", "/api/v1/password",
                                 json_body={"old_password": "Test-Passw0rd",
                                            "new_password": pw})
                self.assertEqual(r.status, 400, r)
                self.assertEqual(r.json()["error"]["field"], "new_password")
                self.assertIn(rule, r.json()["error"]["message"])
                # ... and by the operator on the command line
                c = self.srv.cli("user", "passwd", "wangli", "--password-stdin",
                                 stdin=pw + "\n")
                self.assertEqual(c.returncode, 65, c.stderr)
        r = user.request("POST", "/api/v1/password",
                         json_body={"old_password": "Test-Passw0rd",
                                    "new_password": "Kx7#mq2-Lp"})
        self.assertEqual(r.status, 200, r)


PW = "Test-Passw0rd"


def login(srv, name, password, addr):
    """A login as seen from addr (the server trusts 127.0.0.1 as its proxy)."""
    return srv.request("POST", "/api/v1/login", headers={"X-Forwarded-For": addr},
                       json_body={"username": name, "password": password})


def audit_rows(srv, action):
    db = sqlite3.connect(srv.db)
    try:
        return db.execute("SELECT actor, addr, detail, ok FROM audit WHERE action = ? "
                          "ORDER BY id", (action,)).fetchall()
    finally:
        db.close()


class StaffNetworks(unittest.TestCase):
    def setUp(self):
        self.srv = harness.Server(env={
            "CIVICDESK_TRUSTED_PROXIES": "127.0.0.1",
            "CIVICDESK_STAFF_NETWORKS": "10.0.0.0/8, 192.168.7.0/24, 2001:db8::/32"}).start()
        self.srv.add_user("alice", "handler", "办公室")

    def tearDown(self):
        self.srv.cleanup()

    def test_login_only_from_staff_networks(self):
        for addr in ("10.1.2.3", "192.168.7.200", "2001:db8::5"):
            with self.subTest(addr=addr):
                self.assertEqual(login(self.srv, "alice", PW, addr).status, 200)
        for addr in ("203.0.113.9", "192.168.8.1", "2001:db9::5", "127.0.0.1"):
            with self.subTest(addr=addr):
                r = login(self.srv, "alice", PW, addr)
                self.assertEqual(r.status, 401, r)
                self.assertEqual(r.json()["error"]["code"], "login_failed")
        refused = [r for r in audit_rows(self.srv, "login_failed")]
        self.assertEqual([(a, addr, ok) for a, addr, _, ok in refused],
                         [("alice", "203.0.113.9", 0), ("alice", "192.168.8.1", 0),
                          ("alice", "2001:db9::5", 0), ("alice", "127.0.0.1", 0)])
        for _, addr, detail, _ in refused:
            self.assertIn("outside staff_networks (%s)" % addr, detail)
        # Refusals outside the networks do not count toward the lock.
        self.assertEqual(login(self.srv, "alice", PW, "10.1.2.3").status, 200)

    def test_bad_network_stops_the_start(self):
        env = dict(self.srv.env, CIVICDESK_STAFF_NETWORKS="10.0.0.0/33")
        p = subprocess.run([harness.BIN, "serve"], env=env, cwd=self.srv.dir,
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 1)
        self.assertIn("staff_networks: '10.0.0.0/33' is not a network", p.stderr)


class Throttle(unittest.TestCase):
    def setUp(self):
        self.srv = harness.Server(env={
            "CIVICDESK_TRUSTED_PROXIES": "127.0.0.1", "CIVICDESK_LOGIN_THROTTLE": "3",
            "CIVICDESK_LOCKOUT_FAILURES_ANY": "8", "CIVICDESK_TEST_NOW": "2025-09-30T10:00"}
        ).start()
        self.srv.add_user("admin2", "admin")

    def tearDown(self):
        self.srv.cleanup()

    def test_one_attacker_cannot_lock_out_the_bureau(self):
        attacker, office = "203.0.113.9", "10.1.2.3"
        for _ in range(3):
            self.assertEqual(login(self.srv, "admin2", "Wrong-Passw0rd", attacker).status, 401)
        # From the fourth failure on, the address waits 1, 2, 4 … s between attempts.
        waits = []
        t = 0
        for _ in range(4):
            r = login(self.srv, "admin2", "Wrong-Passw0rd", attacker)
            self.assertEqual(r.status, 429, r)
            self.assertEqual(r.json()["error"]["code"], "too_many_attempts")
            wait = int(r.header("Retry-After"))
            waits.append(wait)
            # the office is served meanwhile
            self.assertEqual(login(self.srv, "admin2", PW, office).status, 200)
            t += wait
            self.srv.set_clock(1759197600 + t)
            self.assertEqual(login(self.srv, "admin2", "Wrong-Passw0rd", attacker).status, 401)
        self.assertEqual(waits, [1, 2, 4, 8])
        # Seven failures from the attacker: the name is locked for the attacker's address
        # (even with the right password), never for the office.
        t += 20
        self.srv.set_clock(1759197600 + t)
        self.assertEqual(login(self.srv, "admin2", PW, attacker).status, 401)
        self.assertEqual(login(self.srv, "admin2", PW, office).status, 200)
        throttled = [d for _, addr, d, ok in audit_rows(self.srv, "login_failed")
                     if addr == attacker and "throttled" in d]
        self.assertEqual(len(throttled), 4)

    def test_a_guess_spread_over_addresses_locks_the_name(self):
        for i in range(8):
            addr = "198.51.100.%d" % (i + 1)
            self.assertEqual(login(self.srv, "admin2", "Wrong-Passw0rd", addr).status, 401)
        self.assertEqual(login(self.srv, "admin2", PW, "10.1.2.3").status, 401)


if __name__ == "__main__":
    harness.main()
