#!/usr/bin/env python3
"""Crash safety: 32 clients submit while the server is killed with SIGKILL at random moments
three times and restarted on the same database. Every submission that was answered 201 must be
there afterwards with the clocks it was promised, and PRAGMA integrity_check must say ok. The
counts are printed (TAP comments). Bounded: each round ends after CRASH_ROUND_ACKS answers (or
60 s, against a hang), the whole test after a few minutes at most."""
import http.client
import json
import os
import random
import sqlite3
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

CLIENTS = 32
KILLS = 3
ROUND_ACKS = int(os.environ.get("CRASH_ROUND_ACKS", "150"))  # answers before a kill may come
ROUND_MAX_S = 60  # only against a hang: a round ends at its count of answers


class Load:
    """CLIENTS threads submitting to whatever port the server listens on now."""

    def __init__(self):
        self.port = None
        self.lock = threading.Lock()
        self.acked = []          # (tracking, query_code, clocks) answered 201
        self.failed = 0          # no answer: refused, reset or cut off by the kill
        self.other = {}          # status -> count of other answers
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.run, args=(i,)) for i in range(CLIENTS)]

    def run(self, n):
        i = 0
        while not self.stop.is_set():
            port = self.port
            if port is None:
                time.sleep(0.01)
                continue
            i += 1
            body = json.dumps({"kind": "letter", "subject": "crash %d-%d" % (n, i),
                               "body": "client %d submission %d" % (n, i),
                               "email": "c%d@example.cn" % n, "publish": False})
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                c.request("POST", "/api/v1/items", body=body,
                          headers={"Content-Type": "application/json"})
                r = c.getresponse()
                data = r.read()
                c.close()
            except (OSError, http.client.HTTPException):
                with self.lock:
                    self.failed += 1
                time.sleep(0.01)
                continue
            with self.lock:
                if r.status == 201:
                    j = json.loads(data)
                    self.acked.append((j["tracking"], j["query_code"], j["clocks"]))
                else:
                    self.other[r.status] = self.other.get(r.status, 0) + 1

    def count(self):
        with self.lock:
            return len(self.acked)


class Crash(unittest.TestCase):
    def test_sigkill_under_load(self):
        srv = harness.Server(env={"CIVICDESK_SUBMIT_RATE": "0"}).start().drain()
        load = Load()
        logs = []
        try:
            load.port = srv.port
            for t in load.threads:
                t.start()
            kills = []
            for k in range(KILLS):
                start, base = time.monotonic(), load.count()
                want = base + random.randint(ROUND_ACKS // 2, ROUND_ACKS)
                while load.count() < want and time.monotonic() - start < ROUND_MAX_S:
                    time.sleep(0.005)
                srv.proc.kill()  # SIGKILL at a moment of the load's choosing
                srv.proc.wait()
                kills.append(load.count())
                load.port = None
                srv.drainer.join(timeout=20)
                logs.extend(srv.drained)
                srv.drainer = None
                srv.proc = None
                srv.start().drain()
                load.port = srv.port
            # a little more load after the last restart, then stop
            want = load.count() + ROUND_ACKS // 2
            start = time.monotonic()
            while load.count() < want and time.monotonic() - start < ROUND_MAX_S:
                time.sleep(0.005)
            load.stop.set()
            for t in load.threads:
                t.join(timeout=30)
            acked = list(load.acked)
            missing, wrong = [], []
            for tracking, code, clocks in acked:
                try:
                    r = srv.request("GET", "/api/v1/track/" + tracking,
                                    headers={"X-Query-Code": code})
                except OSError:
                    if os.environ.get("CRASH_DEBUG"):
                        import subprocess
                        print(subprocess.run(["gdb", "-p", str(srv.proc.pid), "-batch", "-ex",
                                              "thread apply all bt 8"], capture_output=True,
                                             text=True).stdout[-20000:])
                    raise
                if r.status != 200:
                    missing.append((tracking, r.status))
                    continue
                got = r.json()["clocks"]
                for name in ("reply", "forward"):
                    if got.get(name, {}).get("due") != clocks[name]["due"]:
                        wrong.append((tracking, name))
            srv.stop()
            db = sqlite3.connect(srv.db)
            integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
            stored = db.execute("SELECT count(*) FROM items").fetchone()[0]
            db.close()
            print("# crash test: %d clients, %d SIGKILLs (after %s acknowledged), %d answered "
                  "201, %d stored, %d requests without an answer, other answers %r, "
                  "integrity_check %s" % (CLIENTS, KILLS, kills, len(acked), stored,
                                          load.failed, load.other, integrity), flush=True)
            self.assertGreater(len(acked), KILLS * ROUND_ACKS // 2)
            self.assertEqual(missing, [])
            self.assertEqual(wrong, [])
            self.assertEqual(integrity, "ok")
            self.assertGreaterEqual(stored, len(acked))
            self.assertEqual({s for s in load.other if s >= 500 and s != 503}, set())
            for marker in harness.SANITIZER_MARKERS:
                self.assertNotIn(marker, "\n".join(logs))
            v = srv.cli("audit", "verify")
            self.assertEqual(v.returncode, 0, v.stdout + v.stderr)
        finally:
            load.stop.set()
            for t in load.threads:
                if t.is_alive():
                    t.join(timeout=30)
            srv.cleanup()


if __name__ == "__main__":
    harness.main()
