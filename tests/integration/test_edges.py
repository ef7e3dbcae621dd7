#!/usr/bin/env python3
"""Smaller operational edges (issue 19): a short session_idle never ends a session in use;
an HTTP/1.1 request without Host is refused (400); an encoded NUL in the path never reaches a
resource (/api/v1/health%00 is not the health check), nor one in the query a handler (400: the
decoded value would be cut there). The connection memory (32 KiB, issue 20)
takes what a browser sends, with a large jar of a portal's cookies; larger headers get 431."""
import os
import socket
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

T0 = 1790000000

# What a browser sends (Chrome 120 on a page of the bureau), without Cookie and Content-*.
BROWSER = {
    "User-Agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like "
                  "Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0",
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,"
              "image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7",
    "Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8,en-GB;q=0.7,en-US;q=0.6,zh-TW;q=0.5",
    "Accept-Encoding": "gzip, deflate, br",
    "Referer": "https://xinfang.example.gov.cn/submit?kind=letter&from=portal&utm_source=wechat",
    "Origin": "https://xinfang.example.gov.cn",
    "sec-ch-ua": '"Not_A Brand";v="8", "Chromium";v="120", "Microsoft Edge";v="120"',
    "sec-ch-ua-mobile": "?0",
    "sec-ch-ua-platform": '"Windows"',
    "Sec-Fetch-Dest": "document",
    "Sec-Fetch-Mode": "navigate",
    "Sec-Fetch-Site": "same-origin",
    "Sec-Fetch-User": "?1",
    "Upgrade-Insecure-Requests": "1",
    "Cache-Control": "max-age=0",
    "X-Forwarded-For": "203.0.113.7",
    "X-Forwarded-Proto": "https",
}


def cookie_jar(n):
    """n analytics cookies of about 100 bytes each, as a portal's scripts leave them."""
    return "; ".join("_ga_%02d=GS1.1.%010d.%d.1.1700000000.0.0.%040d" % (i, 1700000000 + i, i, i)
                     for i in range(n))


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
        # in the query too: a decoded value would be cut there (q=a%00b searching for "a")
        for target in (b"/api/v1/health?x=%00", b"/open311/v2/requests.json?status=open%00x",
                       b"/board?q=a%00b"):
            with self.subTest(target=target):
                self.assertEqual(raw(port, b"GET " + target + b" HTTP/1.1\r\nHost: x\r\n\r\n"),
                                 400)
        self.assertEqual(raw(port, b"GET /api/v1/health?x=%2500 HTTP/1.1\r\nHost: x\r\n\r\n"),
                         200)

    def test_browser_headers_with_cookies_fit(self):
        jar = cookie_jar(80)  # some 7 KB: more than most browsers send, under nginx's 8 KB line
        self.assertGreater(len(jar), 6800)
        body = {"kind": "letter", "subject": "路灯", "body": "小区路灯坏了。", "name": "张三",
                "phone": "13800138000", "email": "zhangsan@example.cn", "publish": False}
        r = self.srv.request("POST", "/api/v1/items", json_body=body,
                             headers=dict(BROWSER, Cookie=jar))
        self.assertEqual(r.status, 201, r)
        r = self.srv.request("GET", "/submit", headers=dict(BROWSER, Cookie=jar))
        self.assertEqual(r.status, 200, r)
        s = self.srv.staff("cookies", "dispatcher")
        for path in ("/api/v1/me", "/staff/"):
            with self.subTest(path=path):
                r = self.srv.request("GET", path,
                                     headers=dict(BROWSER, Cookie=jar + "; " + s.cookie))
                self.assertEqual(r.status, 200, r)

    def test_too_large_headers_get_431(self):
        port = self.srv.port
        head = b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n"
        for name, size in ((b"Cookie: a=", 20000), (b"Cookie: a=", 40000),
                           (b"X-Large: ", 40000), (b"X-Large: ", 60000)):
            with self.subTest(header=name, size=size):
                status = raw(port, head + name + b"b" * size + b"\r\n\r\n")
                self.assertEqual(status, 431)
        # the connection memory is the same for the next requests
        self.assertEqual(raw(port, head + b"\r\n"), 200)


if __name__ == "__main__":
    harness.main()
