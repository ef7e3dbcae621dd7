"""Security rules of staff accounts: common passwords and passwords made of the account's own
data are refused at every change (command line, the admin's account creation, the user's own
change).
"""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


class Passwords(unittest.TestCase):
    def setUp(self):
        self.srv = harness.Server().start()
        self.admin = self.srv.staff("chief", "admin")

    def tearDown(self):
        self.srv.cleanup()

    def test_common_password_refused_on_the_command_line(self):
        for pw in ("Passw0rd!", "P@ssword123", "Qwerty123!", "W0aini1314!"):
            with self.subTest(password=pw):
                r = self.srv.cli("user", "add", "wangli", "--role", "handler",
                                 "--password-stdin", stdin=pw + "\n")
                self.assertEqual(r.returncode, 65, r.stderr)
                self.assertIn("common password", r.stderr)
        r = self.srv.cli("user", "add", "wangli", "--role", "handler", "--password-stdin",
                         stdin="Kx7#mq2-Lp\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.srv.cli("user", "passwd", "wangli", "--password-stdin", stdin="Passw0rd!\n")
        self.assertEqual(r.returncode, 65, r.stderr)
        self.assertIn("common password", r.stderr)

    def test_own_name_and_phone_refused_at_every_change(self):
        self.srv.add_user("wangli", "handler")
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


if __name__ == "__main__":
    harness.main()
