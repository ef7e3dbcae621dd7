"""Clock policies managed by administrators (GET/PATCH /api/v1/admin/policies): configuration
defaults and overrides, new clocks only, persistence across a restart, refusals, the audit log,
and a start refused for a stored value that no longer parses.

Dates on the 2025 calendar around National Day (1-8 Oct off, 11 Oct a make-up working day):
received Tue 2025-09-30 10:00, the working days after it are 9, 10, 11, 13, 14, 15, 16, 17, 20,
21 Oct, so 5 WD is due 14 Oct, 7 WD 16 Oct and 10 WD 21 Oct.
"""
import os
import sqlite3
import subprocess
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

# the daemon runs in its own temporary folder: a relative binary path must not depend on it
harness.BIN = os.path.abspath(harness.BIN)

T0 = "2025-09-30T10:00"
END = "T23:59:59+08:00"
POLICIES = "/api/v1/admin/policies"
KEYS = ["forward_days", "reply_days", "explain_days", "reply_extended_days", "unit",
        "end_of_day", "on_forward", "on_supplement"]
DEFAULTS = {"forward_days": 3, "reply_days": 5, "explain_days": 3, "reply_extended_days": 15,
            "unit": "working_days", "end_of_day": "24:00", "on_forward": "keep",
            "on_supplement": "restart"}


def stop_clean(test, srv):
    """Stops the daemon and checks that it exited cleanly, without a sanitizer report."""
    srv.stop()
    test.assertEqual(srv.exit_code, 0, srv.output[-3000:])
    test.assertNotIn("Sanitizer", srv.output)
    test.assertNotIn("runtime error", srv.output)


def submit(srv, kind="letter"):
    r = srv.request("POST", "/api/v1/items", json_body={
        "kind": kind, "subject": "路灯不亮", "body": "小区门口的路灯坏了一周。", "name": "李四",
        "phone": "13912345678", "publish": False})
    if r.status != 201:
        raise RuntimeError("submit: %r" % r)
    return r.json()


def reply_due(srv, item):
    return item["clocks"]["reply"]["due"]


class PolicyClocks(unittest.TestCase):
    """One daemon with the built-in defaults: changes apply to new clocks only."""

    @classmethod
    def setUpClass(cls):
        cls.srv = harness.Server().start()
        cls.srv.add_user("root1", "admin")
        cls.srv.add_user("hand1", "handler", "法规处")

    @classmethod
    def tearDownClass(cls):
        cls.srv.cleanup_clean()

    def setUp(self):
        self.srv.set_clock(T0)
        self.admin = self.srv.login("root1", "Test-Passw0rd")
        self.handler = self.srv.login("hand1", "Test-Passw0rd")

    def get(self):
        r = self.admin.request("GET", POLICIES)
        self.assertEqual(r.status, 200, r)
        return r.json()["policies"]

    def test_concurrent_changes(self):
        """Changes of several admins at once are all kept: none is lost to another's swap."""
        changes = [{"forward_days": 4}, {"explain_days": 2}, {"reply_extended_days": 20},
                   {"on_forward": "restart"}, {"end_of_day": "17:00"}, {"unit": "calendar_days"}]
        sessions = [self.srv.login("root1", "Test-Passw0rd") for _ in changes]
        results = [None] * len(changes)

        def patch(i):
            results[i] = sessions[i].request("PATCH", POLICIES + "/complaint",
                                             json_body=changes[i]).status

        threads = [threading.Thread(target=patch, args=(i,)) for i in range(len(changes))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(results, [200] * len(changes))
        complaint = self.get()["complaint"]
        for change in changes:
            for k, v in change.items():
                self.assertEqual((complaint[k], complaint["source"][k]), (v, "admin"))
        rows = self.admin.request("GET", "/api/v1/audit?action=policy_update&target=complaint")
        self.assertEqual(len(rows.json()["entries"]), len(changes))
        r = self.admin.request("PATCH", POLICIES + "/complaint",
                               json_body={k: None for c in changes for k in c})
        self.assertEqual({k: r.json()[k] for k in KEYS}, DEFAULTS)

    def test_new_clocks_only(self):
        srv, admin = self.srv, self.admin
        before = submit(srv)
        self.assertEqual(reply_due(srv, before), "2025-10-14" + END)
        r = admin.request("PATCH", POLICIES + "/letter", json_body={"reply_days": 10})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["reply_days"], 10)
        self.assertEqual(r.json()["source"]["reply_days"], "admin")
        self.assertEqual(r.json()["source"]["forward_days"], "config")
        after = submit(srv)
        self.assertEqual(reply_due(srv, after), "2025-10-21" + END)
        self.assertEqual(after["clocks"]["forward"]["due"], "2025-10-11" + END)
        # the item received before keeps its promise, in the staff view and the citizen's
        r = admin.request("GET", "/api/v1/items/" + before["tracking"])
        self.assertEqual(r.json()["clocks"]["reply"]["due"], "2025-10-14" + END)
        self.assertEqual(r.json()["clocks"]["reply"]["days"], 5)
        r = srv.request("GET", "/api/v1/track/" + before["tracking"],
                        headers={"X-Query-Code": before["query_code"]})
        self.assertEqual(r.json()["clocks"]["reply"]["due"], "2025-10-14" + END)
        # another kind is unaffected
        self.assertEqual(reply_due(srv, submit(srv, "complaint")), "2025-10-14" + END)
        self.assertEqual(self.get()["complaint"]["reply_days"], 5)
        # the audit log has the change, by whom and from what to what
        r = admin.request("GET", "/api/v1/audit?action=policy_update&target=letter")
        entries = r.json()["entries"]
        self.assertEqual(len(entries), 1)
        self.assertEqual(entries[0]["actor"], "root1")
        self.assertEqual(entries[0]["detail"], "reply_days: 5 (config) -> 10 (admin)")
        self.assertTrue(entries[0]["at"].startswith("2025-09-30T10:00"))
        # end of day and unit for consultations; null goes back to the configuration
        r = admin.request("PATCH", POLICIES + "/consultation",
                          json_body={"end_of_day": "17:30", "unit": "calendar_days"})
        self.assertEqual(r.status, 200, r)
        item = submit(srv, "consultation")
        # 5 calendar days after 30 Sep: 5 Oct, a holiday, rolled forward to 9 Oct
        self.assertEqual(reply_due(srv, item), "2025-10-09T17:30:00+08:00")
        r = admin.request("PATCH", POLICIES + "/consultation",
                          json_body={"end_of_day": None, "unit": None})
        self.assertEqual(r.status, 200, r)
        self.assertEqual({k: r.json()[k] for k in KEYS}, DEFAULTS)
        self.assertEqual(set(r.json()["source"].values()), {"config"})
        self.assertEqual(reply_due(srv, submit(srv, "consultation")), "2025-10-14" + END)

        # ... also when a later action restarts its clock (supplement: restart, with its own
        # 5 WD, not the 10 WD of today's policy)
        d = srv.staff("disp1", "dispatcher")
        for who, action, body in ((d, "assign", {"section": "法规处"}),
                                  (self.handler, "accept", {}),
                                  (self.handler, "ask_citizen", {"note": "请补充地址"})):
            r = who.request("POST", "/api/v1/items/%s/actions/%s" % (before["tracking"], action),
                            json_body=body)
            self.assertEqual(r.status, 200, r)
        srv.set_clock("2025-10-13T10:00")
        handler = srv.login("hand1", "Test-Passw0rd")  # the other sessions are idle by now
        r = handler.request("POST", "/api/v1/items/%s/actions/citizen_answer"
                            % before["tracking"], json_body={"note": "已补充"})
        self.assertEqual(r.status, 200, r)
        # 5 WD after 13 Oct: 14, 15, 16, 17, 20
        self.assertEqual(r.json()["clocks"]["reply"]["due"], "2025-10-20" + END)

    def test_refusals(self):
        srv, admin = self.srv, self.admin
        before = self.get()
        bad = [({"reply_days": 0}, "reply_days"), ({"reply_days": 367}, "reply_days"),
               ({"forward_days": -1}, "forward_days"), ({"explain_days": "3"}, "explain_days"),
               ({"reply_extended_days": 15.5}, "reply_extended_days"),
               ({"reply_days": True}, "reply_days"), ({"unit": "weeks"}, "unit"),
               ({"unit": 1}, "unit"), ({"end_of_day": "25:00"}, "end_of_day"),
               ({"end_of_day": "9:30"}, "end_of_day"), ({"end_of_day": "00:00"}, "end_of_day"),
               ({"on_forward": "pause"}, "on_forward"),
               ({"on_supplement": "keep"}, "on_supplement"),
               ({"source": {}}, "source"), ({"colour": "red"}, "colour"),
               # one bad key refuses the whole change
               ({"forward_days": 4, "reply_days": 400}, "reply_days"),
               # an extension never shortens the time to reply (the stored 15 < 20)
               ({"reply_days": 20}, "reply_extended_days"),
               ({"reply_extended_days": 4}, "reply_extended_days")]
        for body, field in bad:
            with self.subTest(body=body):
                r = admin.request("PATCH", POLICIES + "/letter", json_body=body)
                self.assertEqual(r.status, 400, r)
                self.assertEqual(r.json()["error"]["field"], field)
        r = admin.request("PATCH", POLICIES + "/letter", body="[1]",
                          headers={"Content-Type": "application/json"})
        self.assertEqual(r.status, 400, r)
        r = admin.request("PATCH", POLICIES + "/memo", json_body={"reply_days": 5})
        self.assertEqual((r.status, r.json()["error"]["code"]), (404, "not_found"))
        r = admin.request("PATCH", POLICIES + "/letter", json_body={"reply_days": 9}, csrf=False)
        self.assertEqual((r.status, r.json()["error"]["code"]), (403, "csrf"))
        for method, path, body in (("GET", POLICIES, None),
                                   ("PATCH", POLICIES + "/letter", {"reply_days": 9})):
            r = self.handler.request(method, path, json_body=body)
            self.assertEqual((r.status, r.json()["error"]["code"]), (403, "forbidden"))
            r = srv.request(method, path, json_body=body)
            self.assertEqual(r.status, 401)
        r = admin.request("POST", POLICIES, json_body={})
        self.assertEqual((r.status, r.header("Allow")), (405, "GET, HEAD"))
        self.assertEqual(self.get(), before)


class PolicyConfig(unittest.TestCase):
    """Configuration values under the overrides, a restart, and a stored value gone bad."""

    def test_config_restart_and_null(self):
        env = {"CIVICDESK_DEMO": "0", "CIVICDESK_POLICY_LETTER_REPLY_DAYS": "7"}
        srv = harness.Server(env=env).start()
        srv2 = None
        try:
            admin = srv.staff("root1", "admin")
            r = admin.request("GET", POLICIES)
            self.assertEqual(r.status, 200, r)
            p = r.json()["policies"]
            self.assertEqual(sorted(p), ["complaint", "consultation", "letter"])
            self.assertEqual({k: p["letter"][k] for k in KEYS}, dict(DEFAULTS, reply_days=7))
            self.assertEqual(p["letter"]["source"], {k: "config" for k in KEYS})
            for kind in ("complaint", "consultation"):
                self.assertEqual({k: p[kind][k] for k in KEYS}, DEFAULTS)
            r = admin.request("PATCH", POLICIES + "/letter",
                              json_body={"reply_days": 10, "on_supplement": "pause"})
            self.assertEqual(r.status, 200, r)
            stop_clean(self, srv)

            # the override survives a restart and still wins over the configuration
            srv2 = harness.Server(env=env, dbdir=srv.dir).start()
            srv2.set_clock(T0)
            admin = srv2.login("root1", "Test-Passw0rd")
            letter = admin.request("GET", POLICIES).json()["policies"]["letter"]
            self.assertEqual((letter["reply_days"], letter["source"]["reply_days"]),
                             (10, "admin"))
            self.assertEqual(letter["on_supplement"], "pause")
            self.assertEqual(reply_due(srv2, submit(srv2)), "2025-10-21" + END)
            # null: back to the configuration's value (7 from the environment, not the built-in 5)
            r = admin.request("PATCH", POLICIES + "/letter", json_body={"reply_days": None})
            self.assertEqual(r.status, 200, r)
            self.assertEqual((r.json()["reply_days"], r.json()["source"]["reply_days"]),
                             (7, "config"))
            self.assertEqual(r.json()["source"]["on_supplement"], "admin")
            self.assertEqual(reply_due(srv2, submit(srv2)), "2025-10-16" + END)
            rows = admin.request("GET", "/api/v1/audit?action=policy_update").json()["entries"]
            self.assertEqual([e["detail"] for e in rows],
                             ["reply_days: 10 (admin) -> 7 (config)",
                              "reply_days: 7 (config) -> 10 (admin), "
                              "on_supplement: restart (config) -> pause (admin)"])
            stop_clean(self, srv2)

            # a stored value that no longer parses refuses the start, naming it
            db = sqlite3.connect(srv.db)
            db.execute("UPDATE policy_overrides SET value = 'ten' WHERE key = 'on_supplement'")
            db.commit()
            self.assertEqual(db.execute("PRAGMA user_version").fetchone()[0],
                             harness.SCHEMA_LATEST)
            db.close()
            p = subprocess.run([harness.BIN, "serve"], env=srv2.env, cwd=srv.dir,
                               capture_output=True, text=True, timeout=30)
            self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
            self.assertIn("letter.on_supplement = 'ten' (set by root1)", p.stderr)
            self.assertIn("restart or pause", p.stderr)
            self.assertIn("policy_overrides", p.stderr)
        finally:
            srv.cleanup()
            if srv2 is not None:
                srv2.stop()

    def test_upgrade_from_schema_1(self):
        """A database written before the policies (schema 1) gets the table at the next start."""
        srv = harness.Server(env={"CIVICDESK_DEMO": "0"}).start()
        try:
            srv.add_user("root1", "admin")
            stop_clean(self, srv)
            db = sqlite3.connect(srv.db)
            db.execute("DROP TABLE policy_overrides")
            db.executescript(harness.UNDO_TO_2)
            db.execute("PRAGMA user_version=1")
            db.commit()
            db.close()
            srv.start()
            db = sqlite3.connect(srv.db)
            self.assertEqual(db.execute("PRAGMA user_version").fetchone()[0],
                             harness.SCHEMA_LATEST)
            db.close()
            admin = srv.login("root1", "Test-Passw0rd")
            r = admin.request("PATCH", POLICIES + "/complaint", json_body={"forward_days": 2})
            self.assertEqual((r.status, r.json()["forward_days"]), (200, 2), r)
            stop_clean(self, srv)
        finally:
            srv.cleanup()


if __name__ == "__main__":
    harness.main()
