"""Logs: one structured line per request (request id, method, route pattern, status, duration,
client address), and no secret the test used in any line the daemon wrote: query codes,
passwords (right and wrong), session tokens, CSRF tokens.
"""
import http.client
import os
import re
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

LINE = re.compile(r"^civicdesk: request id=([0-9a-f]{16}) method=([A-Z]+) route=(\S+) "
                  r"status=(\d{3}) ms=(\d+\.\d) addr=(\S+)( aborted=1)?$")


class RequestLogs(unittest.TestCase):
    def test_one_line_per_request_and_no_secrets(self):
        srv = harness.Server(env={"CIVICDESK_SUBMIT_RATE": "0"}).start()
        secrets = []
        try:
            pw = srv.add_user("wangli", "dispatcher", password="Kx7#mq2-Lp-secret")
            secrets.append(pw)
            staff = srv.login("wangli", pw)
            secrets += [staff.cookie.split("=", 1)[1], staff.csrf_token]
            wrong = "Wrong-Guess-77!x"
            secrets.append(wrong)
            r = srv.request("POST", "/api/v1/login",
                            json_body={"username": "wangli", "password": wrong})
            self.assertEqual(r.status, 401)
            r = srv.request("POST", "/api/v1/items",
                            json_body={"kind": "letter", "subject": "日志", "body": "不应出现在日志里",
                                       "email": "secret.citizen@example.cn", "publish": False})
            self.assertEqual(r.status, 201)
            tracking, code = r.json()["tracking"], r.json()["query_code"]
            secrets.append(code)
            r = srv.request("GET", "/api/v1/track/" + tracking, headers={"X-Query-Code": code})
            self.assertEqual(r.status, 200)
            rid = r.header("X-Request-Id")
            self.assertRegex(rid, "^[0-9a-f]{16}$")
            r = staff.request("POST", "/api/v1/items/%s/actions/assign" % tracking,
                              json_body={"section": "法规处"})
            self.assertEqual(r.status, 200, r)
            r = staff.request("POST", "/api/v1/password",
                              json_body={"old_password": pw, "new_password": "Ny9#tq4-Wz-new"})
            self.assertEqual(r.status, 200, r)
            secrets.append("Ny9#tq4-Wz-new")
            srv.request("GET", "/no/such/" + code)
        finally:
            srv.stop()
            out = srv.output
            srv.cleanup()
        requests = [LINE.match(l) for l in out.splitlines() if "request id=" in l]
        self.assertTrue(all(requests), [l for l in out.splitlines() if "request id=" in l])
        seen = {(m.group(2), m.group(3), m.group(4)) for m in requests}
        for want in [("POST", "/api/v1/login", "200"), ("POST", "/api/v1/login", "401"),
                     ("POST", "/api/v1/items", "201"), ("GET", "/api/v1/track/{}", "200"),
                     ("POST", "/api/v1/items/{}/actions/{}", "200"), ("GET", "-", "404")]:
            self.assertIn(want, seen)
        self.assertIn(rid, [m.group(1) for m in requests])
        self.assertTrue(all(m.group(6) == "127.0.0.1" for m in requests))
        for secret in secrets + ["secret.citizen", "不应出现在日志里"]:
            with self.subTest(secret=secret[:4] + "…"):
                self.assertNotIn(secret, out)

    def test_lines_written_while_running_and_none_lost(self):
        # the lines are gathered and written by a thread of their own (issue 20): one appears
        # while the daemon runs, without waiting for the stop; under load none is lost
        srv = harness.Server().start().drain()
        try:
            r = srv.request("GET", "/api/v1/health")
            rid = r.header("X-Request-Id")
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not any(
                    "request id=" + rid in l for l in list(srv.drained)):
                time.sleep(0.01)
            self.assertTrue(any("request id=" + rid in l for l in list(srv.drained)),
                            "the line of a request while the daemon runs")
            ids = []
            lock = threading.Lock()

            def load():
                c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
                got = []
                for _ in range(400):  # some 150 KB of lines: both buffers several times
                    c.request("GET", "/api/v1/health?x=" + "y" * 40)
                    r = c.getresponse()
                    r.read()
                    got.append(r.getheader("X-Request-Id"))
                c.close()
                with lock:
                    ids.extend(got)
            threads = [threading.Thread(target=load) for _ in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        finally:
            srv.stop()
            out = srv.output
            srv.cleanup()
        lines = [LINE.match(l) for l in out.splitlines() if "request id=" in l]
        self.assertTrue(all(lines))
        logged = [m.group(1) for m in lines]
        self.assertEqual(len(ids), 1600)
        self.assertEqual(len(set(logged)), len(logged), "each line once")
        self.assertEqual(set(ids) - set(logged), set(), "every request logged")

    def test_writer_account_at_stop(self):
        # the group-commit writer says where its time went when serve stops (issue 20: what
        # stalls, the disk or the CPU): its batches, its submissions, each phase per batch
        srv = harness.Server(env={"CIVICDESK_SUBMIT_RATE": "0"}).start()
        try:
            for i in range(5):
                r = srv.request("POST", "/api/v1/items",
                                json_body={"kind": "letter", "subject": "记账 %d" % i,
                                           "body": "写入线程的账", "phone": "13800138000",
                                           "publish": False})
                self.assertEqual(r.status, 201, r)
        finally:
            srv.stop()
            out = srv.output
            srv.cleanup()
        lines = [l for l in out.splitlines() if l.startswith("civicdesk: db: writer: ")]
        self.assertEqual(len(lines), 1, out[-2000:])
        m = re.match(r"civicdesk: db: writer: (\d+) batches, (\d+) submissions \([0-9.]+ a batch\) "
                     r"in [0-9.]+ s; a batch: waiting \d+ us, storing \d+, committing \d+ "
                     r"\(p50 <= (\d+), p99 <= (\d+): the WAL's write and fdatasync\), "
                     r"answering \d+, checkpointing \d+ \(0 checkpoints\); on the CPU \d+, "
                     r"off it while working -?\d+ \(the disk, or waiting for a CPU\)$", lines[0])
        self.assertTrue(m, lines[0])
        # one at a time: a batch each; p50 of fdatasync'ed commits is at least a microsecond
        self.assertEqual((int(m.group(1)), int(m.group(2))), (5, 5))
        self.assertTrue(1 <= int(m.group(3)) <= int(m.group(4)))
        self.assertNotIn("记账", out)


if __name__ == "__main__":
    harness.main()
