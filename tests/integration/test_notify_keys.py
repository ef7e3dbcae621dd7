"""The ladder's notices as keys (issue 15, schema 022) with the real daemon and real peers on
127.0.0.1: the scan writes its outbox rows in its own transaction, so a kill -9 right after its
commit loses none and sends none twice; the dispatcher writes their text when it sends, and
drops (never sends) a notice whose clock stopped in between; an upgrade from schema 021 in the
middle of a scan's notices (rows with their text, items recorded for a fan-out that never ran)
loses none and sends none twice.

Items registered by staff with a receipt a month back are overdue at once on the moved clock
(Thu 9 Oct 2025): each gets its overdue notice (the dispatchers: no section yet) and today's
escalation (both supervisors), for both clocks.
"""
import datetime
import os
import signal
import sqlite3
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import peers  # noqa: E402
from test_notify import PASSWORD, db, start_server  # noqa: E402

harness.BIN = os.path.abspath(harness.BIN)

# no SMTP server nor SMS gateway configured: notices wait, untried (the moved clock stands
# still, so a failed attempt's retry time would never come)
IDLE = {"CIVICDESK_SMS_QUIET": "off", "CIVICDESK_SMTP_URL": "", "CIVICDESK_SMS_URL": ""}


def epoch(local):
    """Unix seconds of a local (Asia/Shanghai) time "YYYY-MM-DDTHH:MM"."""
    t = datetime.datetime.strptime(local, "%Y-%m-%dT%H:%M")
    return int(t.replace(tzinfo=datetime.timezone(datetime.timedelta(hours=8))).timestamp())


def register(server, n, received="2025-09-01"):
    """n items registered by a dispatcher with an old receipt date: their tracking numbers."""
    disp = server.login("disp_n", PASSWORD)
    out = []
    for i in range(n):
        r = disp.request("POST", "/api/v1/items", json_body={
            "kind": "complaint", "subject": "来信 %d" % i, "body": "正文", "name": "李四",
            "channel": "post", "received": received, "publish": False})
        if r.status != 201:
            raise RuntimeError("register: %r" % r)
        out.append(r.json()["tracking"])
    return out


def rows(server, where="1", args=()):
    with db(server) as d:
        return d.execute("SELECT o.id, i.tracking, o.clock, o.step, o.channel, o.recipient, "
                         "o.state, o.body IS NULL, o.lkey, o.last_error, o.message_id "
                         "FROM outbox_notices o JOIN items i ON i.id = o.item_id WHERE " + where
                         + " ORDER BY o.id", args).fetchall()


def ladder_rows(server):
    return rows(server, "o.lkey IS NOT NULL")


class Keys(peers.PeerTest, unittest.TestCase):
    PREFIX = "civicdesk-keys-"

    def restart_with(self, smtp, sms, stop=True):
        """Starts the daemon again with the SMTP server and SMS gateway of these ports."""
        if stop:
            self.server.stop()
        self.server.env["CIVICDESK_SMTP_URL"] = "smtp://127.0.0.1:%d" % smtp
        self.server.env["CIVICDESK_SMS_URL"] = "http://127.0.0.1:%d/send" % sms
        self.server.start()

    def kill(self):
        self.server.proc.send_signal(signal.SIGKILL)
        self.server.proc.wait(timeout=20)
        self.server.proc.stdout.close()
        self.server.proc = None

    def test_kill_right_after_the_scan(self):
        """Nothing can leave yet; as soon as the scan's rows are visible (committed) the daemon
        is killed. After the restart every notice is sent once, and no scan queues any of them
        again."""
        self.server = start_server(self.tmp, 1, 1, "2025-10-09T10:00", dbdir=self.dbdir,
                                   extra=IDLE, accounts=True)
        ts = register(self.server, 12)
        # each item: 2 clocks x (overdue to the dispatcher by e-mail; escalated to 2
        # supervisors by e-mail, to the one with a phone by SMS) = 8 rows
        want = 12 * 8
        peers.wait_for(lambda: len(ladder_rows(self.server)) >= want, 60, "the scan's rows")
        self.kill()
        first = ladder_rows(self.server)
        self.assertEqual(len(first), want)
        self.assertTrue(all(r[7] == 1 and r[8] for r in first), "keys, without text")
        self.assertEqual(len({(r[1], r[2], r[3], r[4], r[5]) for r in first}), want)
        with db(self.server) as d:
            self.assertEqual(d.execute("SELECT count(*) FROM ladder WHERE next_at <= ?",
                                       (epoch("2025-10-09T10:00"),)).fetchone()[0], 0,
                             "the entries went with the rows")
        smtp = self.peer("smtp")
        sms = self.peer("sms")
        self.restart_with(smtp.port, sms.port, stop=False)

        def all_sent():
            return all(r[6] == "sent" for r in ladder_rows(self.server))
        peers.wait_for(all_sent, 120, "every notice sent after the restart")
        mails = [m for m in smtp.records() if any(t in m["body"] for t in ts)]
        ids = {}
        for m in mails:
            ids[m["message_id"]] = ids.get(m["message_id"], 0) + 1
        self.assertLessEqual(max(ids.values()), 2)  # at most one resend, same Message-ID
        # the text written when sent: each e-mail names its items and their due dates
        for t in ts:
            self.assertTrue(any(t in m["body"] and "2025-09-04 23:59" in m["body"]
                                for m in mails), t)
        # a later scan of the same day queues nothing again
        r = self.server.request("POST", "/api/v1/test/clock",
                                json_body={"now": "2025-10-09T15:00"})
        self.assertEqual(r.status, 200, r)
        peers.wait_for(lambda: self.server.request("GET", "/api/v1/health").status == 200, 10,
                       "the daemon")
        with db(self.server) as d:
            peers.wait_for(lambda: d.execute(
                "SELECT count(*) FROM ladder WHERE next_at <= ?", (epoch("2025-10-09T15:00"),)
            ).fetchone()[0] == 0, 30, "the scan at 15:00")
        self.assertEqual(len(ladder_rows(self.server)), want)

    def test_stopped_clock_not_sent(self):
        """Notices queued while nothing can leave; one item is then rejected (its clocks
        stop): its notices end dropped with the reason, none reaches the SMTP server or the SMS
        gateway; the other item's go out."""
        self.server = start_server(self.tmp, 1, 1, "2025-10-09T10:00", dbdir=self.dbdir,
                                   extra=IDLE, accounts=True)
        keep, stop = register(self.server, 2)
        peers.wait_for(lambda: len(ladder_rows(self.server)) >= 16, 60, "the scan's rows")
        disp = self.server.login("disp_n", PASSWORD)
        r = disp.request("POST", "/api/v1/items/%s/actions/reject" % stop,
                         json_body={"reason": "不属于本局职责"})
        self.assertEqual(r.status, 200, r)
        smtp = self.peer("smtp")
        sms = self.peer("sms")
        self.restart_with(smtp.port, sms.port)

        def settled():
            return all(r[6] != "pending" for r in ladder_rows(self.server))
        peers.wait_for(settled, 120, "every ladder notice sent or dropped")
        got = ladder_rows(self.server)
        self.assertEqual(sorted({r[6] for r in got if r[1] == keep}), ["sent"])
        gone = [r for r in got if r[1] == stop]
        self.assertEqual(len(gone), 8)
        self.assertEqual({r[6] for r in gone}, {"dropped"})
        self.assertTrue(all("stopped" in r[9] for r in gone), [r[9] for r in gone])
        self.assertFalse([m for m in smtp.records() if stop in m["subject"] + m["body"]])
        self.assertFalse([s for s in sms.records() if stop in s["text"]])
        self.assertTrue([m for m in smtp.records() if keep in m["body"]])
        self.assertTrue([s for s in sms.records() if keep in s["text"]])
        # listed for administrators with their reason
        admin = self.server.login("admin_n", PASSWORD)
        r = admin.request("GET", "/api/v1/admin/outbox?state=dropped")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["counts"]["dropped"], 8)
        self.assertEqual({o["tracking"] for o in r.json()["outbox"]}, {stop})
        self.assertTrue(all(o["step"].startswith(("overdue/", "escalate/")) and
                            o["subject"] is None for o in r.json()["outbox"]))

    def test_upgrade_in_the_middle(self):
        """A database of schema 021 holding a scan's notices with their text (one of them
        already sent) and an item recorded for a fan-out that never ran: after the upgrade the
        pending ones are keys written when sent, the sent one is not sent again (nor queued
        again by a scan), the recorded item's notices are queued once; each notice reaches the
        SMTP server once."""
        self.server = start_server(self.tmp, 1, 1, "2025-10-09T10:00", dbdir=self.dbdir,
                                   extra=IDLE, accounts=True)
        a, b = register(self.server, 2)
        peers.wait_for(lambda: len(ladder_rows(self.server)) >= 16, 60, "the scan's rows")
        self.server.stop()
        # as 021 left it: A's notices with their text, one e-mail sent; B recorded for a
        # fan-out (its notices not written yet)
        d = sqlite3.connect(self.server.db)
        d.executescript(harness.UNDO_032 + harness.UNDO_031 + harness.UNDO_027 + harness.UNDO_026 +
                        harness.UNDO_025 + harness.UNDO_022)
        ida = d.execute("SELECT id FROM items WHERE tracking = ?", (a,)).fetchone()[0]
        idb = d.execute("SELECT id FROM items WHERE tracking = ?", (b,)).fetchone()[0]
        d.execute("UPDATE outbox SET subject = 'OLD ' || step, body = 'OLD TEXT ' || step "
                  "WHERE item_id = ?", (ida,))
        sent = d.execute("SELECT id FROM outbox WHERE item_id = ? AND channel = 'email' AND "
                         "step LIKE 'escalate/%' ORDER BY id LIMIT 1", (ida,)).fetchone()[0]
        d.execute("UPDATE outbox SET state = 'sent', sent_at = ?, attempts = 1, "
                  "message_id = 'civicdesk.old.1@bureau.example' WHERE id = ?",
                  (epoch("2025-10-09T10:00"), sent))
        d.execute("DELETE FROM outbox WHERE item_id = ?", (idb,))
        d.execute("INSERT INTO ladder_fanout (at, item_id, mark) VALUES (?, ?, 0)",
                  (epoch("2025-10-09T10:00"), idb))
        d.execute("PRAGMA user_version = 21")
        d.commit()
        self.assertEqual(d.execute("SELECT count(*) FROM outbox WHERE item_id = ? AND "
                                   "body LIKE 'OLD TEXT%'", (ida,)).fetchone()[0], 8)
        d.close()
        smtp = self.peer("smtp")
        sms = self.peer("sms")
        self.restart_with(smtp.port, sms.port, stop=False)

        def done():
            got = ladder_rows(self.server)
            return len(got) == 16 and all(r[6] == "sent" for r in got)
        peers.wait_for(done, 120, "A's and B's notices sent after the upgrade")
        with db(self.server) as d:
            self.assertEqual(d.execute("SELECT count(*) FROM ladder_fanout").fetchone()[0], 0)
            self.assertEqual(d.execute("SELECT count(*) FROM outbox WHERE lkey IS NULL AND "
                                       "item_id IS NOT NULL AND step NOT IN ('ack')"
                                       ).fetchone()[0], 0, "every ladder row is a key")
            self.assertEqual(d.execute("SELECT message_id FROM outbox WHERE id = ?", (sent,)
                                       ).fetchone()[0], "civicdesk.old.1@bureau.example")
        mails = smtp.records()
        self.assertFalse([m for m in mails if "OLD" in m["subject"] + m["body"]])
        self.assertFalse([m for m in mails if "civicdesk.old.1" in m["message_id"]])
        per = {}
        for m in mails:
            for t in (a, b):
                if t in m["body"]:
                    for line in m["body"].splitlines():
                        if line.startswith("Item %s" % t):
                            per[(m["rcpt"][0], line)] = per.get((m["rcpt"][0], line), 0) + 1
        self.assertTrue(per)
        self.assertEqual(max(per.values()), 1, per)
        # A: 8 rows, 1 of them sent before; B: 8 rows; e-mails received: 7 + 6 minus those
        # joined into one message per recipient (counted per notice line above)
        self.assertEqual(sum(1 for (rc, line) in per if a in line), 5)
        self.assertEqual(sum(1 for (rc, line) in per if b in line), 6)


if __name__ == "__main__":
    harness.main()
