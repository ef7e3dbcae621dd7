#!/usr/bin/env python3
"""Smaller operational edges (issue 19): a short session_idle never ends a session in use;
an HTTP/1.1 request without Host is refused (400); an encoded NUL in the path never reaches a
resource (/api/v1/health%00 is not the health check)."""
import os
import socket
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

T0 = 1790000000


def raw(port, request):
    """Sends request bytes as they are; returns the status code of the answer."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        s.sendall(request)
        data = b""
        while b"\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        return int(data.split(b" ", 2)[1])
    finally:
        s.close()


class Edges(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = harness.Server(env={"CIVICDESK_SESSION_IDLE": "10"}).start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.cleanup()

    def test_short_idle_session_in_use_stays(self):
        self.srv.set_clock(T0)
        s = self.srv.staff("busy", "dispatcher")
        # used every 6 s for a minute: never idle for 10 s
        for t in range(6, 66, 6):
            self.srv.set_clock(T0 + t)
            r = s.request("GET", "/api/v1/me")
            self.assertEqual(r.status, 200, "after %d s: %r" % (t, r))
        # then left alone longer than session_idle: it ends
        self.srv.set_clock(T0 + 60 + 11)
        r = s.request("GET", "/api/v1/me")
        self.assertEqual(r.status, 401, r)
        self.srv.set_clock(None)

    def test_http11_without_host(self):
        port = self.srv.port
        self.assertEqual(raw(port, b"GET /api/v1/health HTTP/1.1\r\n\r\n"), 400)
        self.assertEqual(raw(port, b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n\r\n"), 200)
        self.assertEqual(raw(port, b"GET /api/v1/health HTTP/1.0\r\n\r\n"), 200)

    def test_encoded_nul_in_path(self):
        port = self.srv.port
        for path in (b"/api/v1/health%00", b"/api/v1/health%00.json", b"/api/v1/track/%00x"):
            with self.subTest(path=path):
                status = raw(port, b"GET " + path + b" HTTP/1.1\r\nHost: x\r\n\r\n")
                self.assertIn(status, (400, 404))
        self.assertEqual(raw(port, b"GET /api/v1/health?x=%00 HTTP/1.1\r\nHost: x\r\n\r\n"),
                         200)


if __name__ == "__main__":
    harness.main()
