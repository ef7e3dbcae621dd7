"""Notices of the real daemon to real peers on 127.0.0.1 (tests/integration/peers.py): an SMTP
server (aiosmtpd) and an HTTP SMS gateway. The ladder runs on the moved test clock over the
2025 National Day holiday (1-8 Oct off, Sat 11 Oct a make-up working day): an item received
Tue 30 Sep 10:00 has its forward clock due Sat 11 Oct 23:59:59 and its reply due Tue 14 Oct.

Each moment waits for the daemon's own state (no ladder mark due, no notice due in the outbox)
instead of sleeping, then checks exactly what the peers received.
"""
import os
import signal
import sqlite3
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import peers  # noqa: E402

harness.BIN = os.path.abspath(harness.BIN)

PASSWORD = "Notify-Passw0rd!x"
# name, role, section, e-mail, phone
ACCOUNTS = [
    ("disp_n", "dispatcher", None, "disp@example.com", None),
    ("hand_n", "handler", "法规处", "hand@example.com", "13800000010"),
    ("head_n", "section_head", "法规处", "head@example.com", "13800000011"),
    ("sup_n", "supervisor", None, "sup@example.com", "13800000013"),
    ("sup_nophone", "supervisor", None, "sup2@example.com", None),
    ("admin_n", "admin", None, None, None),
]


def start_server(tmp, smtp_port, sms_port, now, extra=None, dbdir=None, wrap=(), accounts=False):
    """The daemon with the peers' ports, at the test clock now (None: real time); accounts=True:
    with ACCOUNTS, on a copy of a database that has them (harness.template_db: made once per
    now and extra by a daemon started as this one, without the peers, then add_accounts)."""
    env = {
        "CIVICDESK_SMTP_URL": "smtp://127.0.0.1:%d" % smtp_port,
        "CIVICDESK_SMTP_FROM": "civicdesk@bureau.example",
        "CIVICDESK_SMS_URL": "http://127.0.0.1:%d/send" % sms_port,
        "CIVICDESK_SCAN_INTERVAL": "1",
        "CIVICDESK_NOTIFY_POLL_MS": "50",
        "CIVICDESK_NOTIFY_BACKOFF_MIN": "1",
        "CIVICDESK_NOTIFY_BACKOFF_MAX": "2",
        "CIVICDESK_SUBMIT_RATE": "0",
        "CIVICDESK_DIGEST": "off",  # the weekly digest has its own unit test
    }
    if now is not None:
        env["CIVICDESK_TEST_NOW"] = now
    if "CIVICDESK_SCAN_INTERVAL" not in (extra or {}):
        # test builds: a scan every 100 ms, not each second (a moved clock is seen sooner)
        env["CIVICDESK_TEST_SCAN_MS"] = "100"
    env.update(extra or {})
    db_from = None
    if accounts:
        key = ("notify", now) + tuple(sorted((extra or {}).items()))
        db_from = harness.template_db(key, dict(env, CIVICDESK_SMTP_URL="",
                                                CIVICDESK_SMS_URL=""), add_accounts)
    return harness.Server(env=env, dbdir=dbdir, wrap=wrap, db_from=db_from).start()


def add_user(server, name, role, section=None, mail=None, phone=None):
    """`civicdesk user add` with PASSWORD and the addresses given."""
    args = ["user", "add", name, "--role", role, "--password-stdin"]
    if section:
        args += ["--section", section]
    if mail:
        args += ["--email", mail]
    if phone:
        args += ["--phone", phone]
    r = server.cli(*args, stdin=PASSWORD + "\n", leaks=False)  # setup
    if r.returncode != 0:
        raise RuntimeError("user add %s: %s" % (name, r.stderr))


def add_accounts(server):
    for name, role, section, mail, phone in ACCOUNTS:
        add_user(server, name, role, section, mail, phone)


def db(server):
    return sqlite3.connect(server.db, timeout=30)


def set_clock(server, when):
    r = server.request("POST", "/api/v1/test/clock", json_body={"now": when})
    if r.status != 200:
        raise RuntimeError("clock: %r" % r)
    server.clock = when
    return r.json()["now"]


def settled(server, now):
    """True once the scan has looked at every item due by now (queueing its notices), and nothing
    is due to send or being sent."""
    with db(server) as d:
        marks = d.execute("SELECT count(*) FROM ladder WHERE next_at <= ?", (now,)).fetchone()[0]
        # due, or being sent (tried and neither marked nor failed yet)
        due = d.execute("SELECT count(*) FROM outbox WHERE state = 'pending' AND "
                        "(send_after <= ? OR (last_attempt IS NOT NULL AND "
                        "last_error IS NULL))", (now,)).fetchone()[0]
    return marks == 0 and due == 0


def at_moment(server, when):
    now = set_clock(server, when)
    peers.wait_for(lambda: settled(server, now), 60, "the daemon to settle at " + when)
    return now


def submit(server, subject="噪音扰民", email="citizen@example.com"):
    r = server.request("POST", "/api/v1/items", json_body={
        "kind": "letter", "subject": subject, "body": "楼下每晚施工到凌晨。", "name": "张三",
        "phone": "13912345678", "email": email, "publish": False})
    if r.status != 201:
        raise RuntimeError("submit: %r" % r)
    return r.json()


def act(case, who, tracking, action, **fields):
    """Staff member who takes action on tracking in a fresh session (the moved clock has ended
    the old ones); test case `case` fails unless it is taken. The item as JSON."""
    staff = case.server.login(who, PASSWORD)
    r = staff.request("POST", "/api/v1/items/%s/actions/%s" % (tracking, action),
                      json_body=fields)
    case.assertEqual(r.status, 200, "%s %s: %r" % (who, action, r))
    return r.json()


class Ladder(peers.PeerClass, unittest.TestCase):
    PREFIX = "civicdesk-notify-"

    @classmethod
    def start_daemon(cls):
        server = start_server(cls.tmp, cls.smtp.port, cls.sms.port, "2025-09-30T10:00", accounts=True)
        return server

    def mails(self, to=None):
        return [m for m in self.smtp.records() if to is None or to in m["rcpt"]]

    def texts(self, phone=None):
        return [s for s in self.sms.records() if phone is None or s.get("phone") == phone]

    def expect(self, moment, mails, texts):
        """The peers' records since the last moment: mails as (rcpt, words in the subject),
        texts as (phone, words in the text); exactly these, in any order."""
        got_m = self.mails()[self.seen_m:]
        got_t = self.texts()[self.seen_t:]
        self.seen_m += len(got_m)
        self.seen_t += len(got_t)
        want_m = sorted(mails)
        have_m = sorted((m["rcpt"][0], w) for m in got_m for (r, w) in mails
                        if m["rcpt"][0] == r and w in m["subject"])
        self.assertEqual(len(got_m), len(mails), "%s: mails %r" % (
            moment, [(m["rcpt"], m["subject"]) for m in got_m]))
        self.assertEqual(have_m, want_m, moment)
        have_t = sorted((s["phone"], w) for s in got_t for (p, w) in texts
                        if s["phone"] == p and w in s["text"])
        self.assertEqual(len(got_t), len(texts), "%s: texts %r" % (
            moment, [(s["phone"], s["text"]) for s in got_t]))
        self.assertEqual(have_t, sorted(texts), moment)

    def act(self, who, tracking, action, **fields):
        return act(self, who, tracking, action, **fields)

    def test_week_over_the_holiday(self):
        self.seen_m = self.seen_t = 0
        item = submit(self.server)
        t = item["tracking"]
        # the acknowledgement: tracking number, subject, reply due date; never the query code
        mail = peers.wait_for(lambda: self.mails("citizen@example.com"), 30, "acknowledgement")
        self.assertIn(t, mail[0]["subject"])
        body = mail[0]["body"]
        self.assertIn(t, body)
        self.assertIn("噪音扰民", body)
        self.assertIn("2025-10-14 23:59", body)
        self.assertNotIn(item["query_code"], body)
        self.assertEqual(mail[0]["auto_submitted"], "auto-generated")
        self.seen_m = len(self.mails())
        self.act("disp_n", t, "assign", section="法规处", assignee="hand_n")

        at_moment(self.server, "2025-10-09T12:00")
        self.expect("Thu 9 Oct", [], [])
        # Fri 10 Oct: the working day before the forward due day (Sat 11, a make-up day)
        at_moment(self.server, "2025-10-10T09:00")
        self.expect("Fri 10 Oct", [("hand@example.com", t)], [])
        at_moment(self.server, "2025-10-11T20:00")
        self.expect("Sat 11 Oct", [], [])
        # Sun 12 Oct: forward overdue; the section head's e-mail goes, the SMS waits (rest day)
        at_moment(self.server, "2025-10-12T09:00")
        self.expect("Sun 12 Oct", [("head@example.com", "逾期")], [])
        # Mon 13 Oct 08:00: the SMS; the reply reminder to the assignee
        at_moment(self.server, "2025-10-13T09:00")
        self.expect("Mon 13 Oct", [("hand@example.com", "提醒")],
                    [("13800000011", t)])
        # Tue 14 Oct: two working days after the forward due day: every supervisor
        at_moment(self.server, "2025-10-14T09:00")
        self.expect("Tue 14 Oct", [("sup@example.com", "督办"), ("sup2@example.com", "督办")],
                    [("13800000013", "督办")])
        # Wed 15 Oct: the forward escalation again, the reply overdue
        at_moment(self.server, "2025-10-15T09:00")
        self.expect("Wed 15 Oct", [("sup@example.com", "督办"), ("sup2@example.com", "督办"),
                                   ("head@example.com", "逾期")],
                    [("13800000013", "督办"), ("13800000011", "逾期")])
        # the handler accepts: the forward clock stops
        self.act("hand_n", t, "accept")
        at_moment(self.server, "2025-10-16T09:00")
        self.expect("Thu 16 Oct", [("sup@example.com", "答复"), ("sup2@example.com", "答复")],
                    [("13800000013", "答复")])
        at_moment(self.server, "2025-10-18T12:00")
        self.expect("Sat 18 Oct", [], [])
        at_moment(self.server, "2025-10-20T09:00")
        self.expect("Mon 20 Oct", [("sup@example.com", "答复"), ("sup2@example.com", "答复")],
                    [("13800000013", "答复")])
        # sup_nophone has no phone: listed, never skipped silently
        with db(self.server) as d:
            n = d.execute("SELECT count(*) FROM notify_missing m JOIN accounts a ON "
                          "a.id = m.account_id WHERE a.username = 'sup_nophone' AND "
                          "m.channel = 'sms'").fetchone()[0]
        self.assertEqual(n, 4)


class Restarts(peers.PeerTest, unittest.TestCase):
    PREFIX = "civicdesk-notify-"

    def test_old_receipt_overdue_once_across_restart(self):
        smtp = self.peer("smtp")
        sms = self.peer("sms")
        self.server = start_server(self.tmp, smtp.port, sms.port, "2025-10-09T10:00",
                                   dbdir=self.dbdir, extra={"CIVICDESK_SMS_QUIET": "off"}, accounts=True)
        disp = self.server.login("disp_n", PASSWORD)
        r = disp.request("POST", "/api/v1/items", json_body={
            "kind": "complaint", "subject": "来信", "body": "正文", "name": "李四",
            "channel": "post", "received": "2025-09-01", "publish": False})
        self.assertEqual(r.status, 201, r)
        t = r.json()["tracking"]
        now = at_moment(self.server, "2025-10-09T10:00")

        def steps():
            with db(self.server) as d:
                return sorted(d.execute(
                    "SELECT o.step, o.channel, o.recipient FROM outbox_notices o JOIN items i ON "
                    "i.id = o.item_id WHERE i.tracking = ?", (t,)).fetchall())

        first = steps()
        # both clocks overdue (no section yet: the dispatchers), and escalated to supervisors
        self.assertIn(("overdue/2025-09-04", "email", "disp@example.com"), first)
        self.assertIn(("overdue/2025-09-08", "email", "disp@example.com"), first)
        self.assertIn(("escalate/2025-09-04/2025-10-09", "sms", "13800000013"), first)
        self.assertEqual(len([s for s in first if s[0].startswith("overdue/")]), 2)
        self.assertEqual(len(first), 2 + 2 * 3)
        n_mail = len(smtp.records())
        self.server.stop()
        self.server.start()
        at_moment(self.server, "2025-10-09T16:00")
        self.assertEqual(steps(), first)
        self.assertEqual(len(smtp.records()), n_mail)
        del now

    def test_kill_while_draining(self):
        port = peers.free_port()
        sms = self.peer("sms")
        # real time: the backoff (1 s, then 2 s) runs on the clock
        self.server = start_server(self.tmp, port, sms.port, None, dbdir=self.dbdir)
        # the SMTP server is down while 150 acknowledgements are queued
        for i in range(150):
            submit(self.server, subject="来信 %d" % i, email="c%d@example.com" % i)
        with db(self.server) as d:
            self.assertEqual(d.execute("SELECT count(*) FROM outbox WHERE state = 'pending'")
                             .fetchone()[0], 150)
        # 0.03 s an e-mail: the kill may come up to 3.9 s (130 e-mails) after the twentieth
        smtp = self.peer("smtp", "--delay", "0.03", port=port)
        peers.wait_for(lambda: len(smtp.records()) >= 20, 60, "the drain to begin")
        self.server.proc.send_signal(signal.SIGKILL)
        self.server.proc.wait(timeout=20)
        self.server.proc.stdout.close()
        self.server.proc = None
        self.assertLess(len(smtp.records()), 150, "drained before the kill: no test")
        smtp.restart()  # no longer slow: the rest is sent at once
        self.server.start()

        def all_sent():
            with db(self.server) as d:
                return d.execute("SELECT count(*) FROM outbox WHERE state = 'sent'"
                                 ).fetchone()[0] == 150
        peers.wait_for(all_sent, 120, "every notice sent after the restart")
        recs = smtp.records()
        ids = {}
        for m in recs:
            ids[m["message_id"]] = ids.get(m["message_id"], 0) + 1
        with db(self.server) as d:
            rows = {"<%s>" % r[0] for r in d.execute("SELECT message_id FROM outbox")}
        self.assertEqual(set(ids), rows)
        self.assertEqual(len(ids), 150)
        self.assertLessEqual(max(ids.values()), 2)

    def test_failed_sms_shown_to_admins_and_retried(self):
        smtp = self.peer("smtp")
        sms = self.peer("sms", "--perm", "13800000013")
        self.server = start_server(self.tmp, smtp.port, sms.port, "2025-10-09T10:00",
                                   dbdir=self.dbdir, extra={"CIVICDESK_SMS_QUIET": "off"}, accounts=True)
        disp = self.server.login("disp_n", PASSWORD)
        r = disp.request("POST", "/api/v1/items", json_body={
            "kind": "letter", "subject": "来信", "body": "正文", "name": "王五",
            "channel": "post", "received": "2025-09-01", "publish": False})
        self.assertEqual(r.status, 201, r)
        t = r.json()["tracking"]
        at_moment(self.server, "2025-10-09T10:00")
        admin = self.server.login("admin_n", PASSWORD)
        r = admin.request("GET", "/api/v1/admin/outbox?state=failed")
        self.assertEqual(r.status, 200, r)
        failed = r.json()["outbox"]
        # the supervisor's two escalation SMS were refused for good by the gateway (400)
        self.assertEqual(sorted((o["channel"], o["recipient"], o["tracking"]) for o in failed),
                         [("sms", "13800000013", t)] * 2)
        self.assertTrue(all("400" in o["last_error"] and o["attempts"] == 1 for o in failed))
        self.assertEqual(r.json()["counts"]["failed"], 2)
        # accounts that should have had a notice but have no address are listed
        missing = {(m["account"], m["channel"]) for m in r.json()["missing"]}
        self.assertIn(("sup_nophone", "sms"), missing)
        self.assertIn(("disp_n", "sms"), missing)
        r = admin.request("GET", "/api/v1/admin/outbox?state=bogus")
        self.assertEqual(r.status, 400, r)
        r = disp.request("GET", "/api/v1/admin/outbox")
        self.assertEqual(r.status, 403, r)
        # a retry: pending again, tried again (refused again), audited
        oid = failed[0]["id"]
        r = admin.request("POST", "/api/v1/admin/outbox/%d/retry" % oid)
        self.assertEqual((r.status, r.json()["state"], r.json()["attempts"]), (200, "pending", 0))
        at_moment(self.server, "2025-10-09T10:00")
        r = admin.request("POST", "/api/v1/admin/outbox/%d/retry" % (oid + 1000))
        self.assertEqual(r.status, 404, r)
        with db(self.server) as d:
            self.assertEqual(d.execute("SELECT state, attempts FROM outbox WHERE id = ?",
                                       (oid,)).fetchone(), ("failed", 1))
            self.assertEqual(d.execute("SELECT count(*) FROM audit WHERE action = "
                                       "'outbox_retry'").fetchone()[0], 1)
        # the two escalations went as one SMS (one recipient, one moment), then the retry alone
        texts = [s["text"] for s in sms.records() if s["phone"] == "13800000013"]
        self.assertEqual(len(texts), 2, texts)
        self.assertEqual(texts[0].count(t), 2, texts[0])
        self.assertEqual(texts[1].count(t), 1, texts[1])


if __name__ == "__main__":
    harness.main()
