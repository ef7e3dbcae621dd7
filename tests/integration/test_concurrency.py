"""Many clients at once against the ASan build: submissions, workflow actions and readers in
parallel. No request may see a half-written item, no submission may be lost or numbered twice,
and the daemon must stop cleanly without a sanitizer report.

Bounded: 6 submitters x 25 items, 2 dispatchers, 3 readers; a few seconds in all.
"""
import os
import queue
import re
import sqlite3
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

SUBMITTERS = 6
PER_SUBMITTER = 25
TOTAL = SUBMITTERS * PER_SUBMITTER
TRACKING = re.compile(r"^XJ-20250930-(\d{5})$")
ITEM = {"kind": "complaint", "subject": "并发提交", "body": "同时提交的事项。",
        "email": "a@example.cn", "publish": False}


class Concurrency(unittest.TestCase):
    def setUp(self):
        self.srv = harness.Server(env={"CIVICDESK_SUBMIT_RATE": "0",
                                       "CIVICDESK_TEST_NOW": "2025-09-30T10:00"}).start()
        self.dispatchers = [self.srv.staff("disp%d" % i, "dispatcher") for i in range(2)]
        self.reader = self.srv.staff("sup", "supervisor")
        self.errors = []
        self.checked = 0
        self.lock = threading.Lock()

    def tearDown(self):
        self.srv.cleanup()

    def fail_later(self, msg):
        with self.lock:
            self.errors.append(msg)

    def check_item(self, it):
        """What any reader must see of an item: whole, never half-written."""
        with self.lock:
            self.checked += 1
        hist = it["history"]
        if not hist or hist[-1]["to_state"] != it["state"]:
            self.fail_later("%s: state %s, history %r" % (it["tracking"], it["state"], hist))
        if it["state"] == "assigned" and it["section"] != "法规处":
            self.fail_later("%s: assigned without its section" % it["tracking"])
        for name in ("forward", "reply"):
            if it["clocks"].get(name, {}).get("due") is None:
                self.fail_later("%s: clock %s missing" % (it["tracking"], name))

    def test_parallel_clients(self):
        created = queue.Queue()
        done = threading.Event()

        def submit():
            for _ in range(PER_SUBMITTER):
                r = self.srv.request("POST", "/api/v1/items", json_body=ITEM)
                if r.status != 201:
                    self.fail_later("submit: %r" % r)
                    continue
                created.put(r.json()["tracking"])

        def dispatch(staff):
            while not (done.is_set() and created.empty()):
                try:
                    t = created.get(timeout=0.05)
                except queue.Empty:
                    continue
                r = staff.request("POST", "/api/v1/items/%s/actions/assign" % t,
                                  json_body={"section": "法规处"})
                if r.status != 200:
                    self.fail_later("assign %s: %r" % (t, r))
                else:
                    self.check_item(r.json())

        def read():
            while not done.is_set():
                r = self.reader.request("GET", "/api/v1/queue?state=all&limit=20")
                if r.status != 200:
                    self.fail_later("queue: %r" % r)
                    return
                for row in r.json()["items"][:3]:
                    r = self.reader.request("GET", "/api/v1/items/" + row["tracking"])
                    if r.status != 200:
                        self.fail_later("get %s: %r" % (row["tracking"], r))
                    else:
                        self.check_item(r.json())

        submitters = [threading.Thread(target=submit) for _ in range(SUBMITTERS)]
        others = [threading.Thread(target=dispatch, args=(d,)) for d in self.dispatchers]
        others += [threading.Thread(target=read) for _ in range(3)]
        for th in submitters + others:
            th.start()
        for th in submitters:
            th.join(timeout=120)
        done.set()
        for th in others:
            th.join(timeout=120)
        self.assertEqual(self.errors, [])
        self.assertGreater(self.checked, TOTAL)  # the readers did read while it all went on

        # every submission stored once, numbered 1..TOTAL without gaps, and assigned
        with sqlite3.connect(self.srv.db) as db:
            rows = db.execute("SELECT tracking, state FROM items").fetchall()
            histories = db.execute("SELECT count(*) FROM history").fetchone()[0]
        numbers = sorted(int(TRACKING.match(t).group(1)) for t, _ in rows)
        self.assertEqual(numbers, list(range(1, TOTAL + 1)))
        self.assertEqual({s for _, s in rows}, {"assigned"})
        self.assertEqual(histories, 2 * TOTAL)  # submit + assign, one row each

        # the statistics, which the writer gathers per batch and writes once at its end (issue
        # 20): every item counted once as received and open, in the section it went to, and
        # the rows it left while it had no section back at zero
        with sqlite3.connect(self.srv.db) as db:
            fg = db.execute("SELECT id FROM sections WHERE name = '法规处'").fetchone()[0]
            daily = db.execute("SELECT coalesce(section_id, 0), sum(received), sum(open) "
                               "FROM stats_daily GROUP BY 1").fetchall()
            due = db.execute("SELECT coalesce(section_id, 0), sum(n) FROM stats_due "
                             "GROUP BY 1").fetchall()
            facts = db.execute("SELECT count(*) FROM item_facts WHERE section_id = ?",
                               (fg,)).fetchone()[0]
        self.assertEqual({k: (r, o) for k, r, o in daily if (r, o) != (0, 0)},
                         {fg: (TOTAL, TOTAL)})
        self.assertEqual({k: n for k, n in due if n != 0}, {fg: TOTAL})
        self.assertEqual(facts, TOTAL)

        self.srv.stop()
        self.assertEqual(self.srv.exit_code, 0, self.srv.output)
        for bad in ("ERROR: AddressSanitizer", "runtime error:", "LeakSanitizer"):
            self.assertNotIn(bad, self.srv.output)


    def test_clients_that_go_away(self):
        # A JSON submission waits for its commit with its connection suspended, no thread
        # holding it (issue 20): a client that closes its socket meanwhile must not leak what
        # the submission holds, hold up the others, or keep the daemon from stopping; every 201
        # answered is stored.
        import json
        import socket
        body = json.dumps(ITEM).encode()
        raw = (b"POST /api/v1/items HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
               b"Content-Length: %d\r\n\r\n" % len(body)) + body
        answered = []

        def submit_and_go(n):
            socks = []
            for _ in range(n):
                s = socket.create_connection(("127.0.0.1", self.srv.port), timeout=30)
                s.sendall(raw)
                socks.append(s)
            for s in socks:
                s.close()

        def submit():
            for _ in range(PER_SUBMITTER):
                r = self.srv.request("POST", "/api/v1/items", json_body=ITEM)
                if r.status != 201:
                    self.fail_later("submit: %r" % r)
                else:
                    with self.lock:
                        answered.append(r.json()["tracking"])

        # 2 x 15 sockets at once, below the 64 connections allowed from one address
        threads = [threading.Thread(target=submit_and_go, args=(15,)) for _ in range(2)]
        threads += [threading.Thread(target=submit) for _ in range(3)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(timeout=120)
        self.assertEqual(self.errors, [])
        self.assertEqual(len(answered), 3 * PER_SUBMITTER)
        self.assertEqual(self.srv.request("GET", "/api/v1/health").status, 200)
        with sqlite3.connect(self.srv.db) as db:
            stored = {t for (t,) in db.execute("SELECT tracking FROM items")}
        self.assertLessEqual(set(answered), stored)
        self.srv.stop()
        self.assertEqual(self.srv.exit_code, 0, self.srv.output)
        for bad in ("ERROR: AddressSanitizer", "runtime error:", "LeakSanitizer"):
            self.assertNotIn(bad, self.srv.output)

    def test_stop_while_submissions_wait(self):
        # SIGTERM while JSON submissions wait suspended for their group commit (issue 20):
        # http_stop waits for every suspended call, the writer commits and resumes them, the
        # daemon exits 0 without a sanitizer report, and every 201 answered is stored.
        import http.client
        import json
        import signal
        import time
        body = json.dumps(ITEM).encode()
        answered = []
        stop = threading.Event()

        def submit():
            c = http.client.HTTPConnection("127.0.0.1", self.srv.port, timeout=30)
            try:
                for _ in range(200):  # bounded; ends at the stop
                    if stop.is_set():
                        break
                    c.request("POST", "/api/v1/items", body=body,
                              headers={"Content-Type": "application/json"})
                    r = c.getresponse()
                    data = r.read()
                    if r.status == 201:
                        with self.lock:
                            answered.append(json.loads(data)["tracking"])
            except (OSError, http.client.HTTPException):
                pass  # the daemon went away under this connection: expected once stopped
            finally:
                c.close()

        self.srv.drain()
        threads = [threading.Thread(target=submit) for _ in range(8)]
        for th in threads:
            th.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with self.lock:
                if len(answered) >= 40:
                    break
            time.sleep(0.01)
        self.assertGreaterEqual(len(answered), 40)
        self.srv.proc.send_signal(signal.SIGTERM)  # submissions still coming in
        code = self.srv.proc.wait(timeout=30)
        stop.set()
        for th in threads:
            th.join(timeout=60)
        self.srv.stop()
        self.assertEqual(code, 0, self.srv.output)
        self.assertIn("stopping", self.srv.output)
        for bad in ("ERROR: AddressSanitizer", "runtime error:", "LeakSanitizer"):
            self.assertNotIn(bad, self.srv.output)
        with sqlite3.connect(self.srv.db) as db:
            stored = {t for (t,) in db.execute("SELECT tracking FROM items")}
        self.assertLessEqual(set(answered), stored)


if __name__ == "__main__":
    harness.main()
