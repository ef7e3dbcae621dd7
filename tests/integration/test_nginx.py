#!/usr/bin/env python3
"""The shipped nginx sample (tools/nginx-civicdesk.conf) in front of a real daemon: TLS with a
self-signed certificate made here, HTTP redirected to HTTPS, the client's address passed on
(a spoofed X-Forwarded-For from the client is replaced, never believed), the Secure cookie, and
nginx's body limit. nginx and openssl from Debian (tools/deps test); only 127.0.0.1."""
import http.client
import json
import os
import shutil
import socket
import sqlite3
import ssl
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
SAMPLE = os.path.join(ROOT, "tools", "nginx-civicdesk.conf")
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

WRAPPER = """
user root;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log;
daemon off;
events {{ worker_connections 256; }}
http {{
    access_log {d}/access.log;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    include {d}/civicdesk.conf;
}}
"""


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def render(sample, d, http_port, https_port, upstream):
    """The sample with this test's ports and certificate (IPv6 listeners left out)."""
    out = []
    for line in sample.splitlines():
        s = line.strip()
        if s.startswith("listen [::]"):
            continue
        line = line.replace("listen 80;", "listen 127.0.0.1:%d;" % http_port)
        line = line.replace("listen 443 ", "listen 127.0.0.1:%d " % https_port)
        line = line.replace("/etc/ssl/civicdesk/fullchain.pem", d + "/cert.pem")
        line = line.replace("/etc/ssl/civicdesk/privkey.pem", d + "/key.pem")
        line = line.replace("server 127.0.0.1:8080;", "server 127.0.0.1:%d;" % upstream)
        out.append(line)
    return "\n".join(out) + "\n"


@unittest.skipUnless(os.path.exists(NGINX) and shutil.which("openssl") and os.geteuid() == 0,
                     "needs nginx, openssl and root (tools/deps test)")
class Nginx(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="civicdesk-nginx-")
        cls.srv = harness.Server(env={"CIVICDESK_TRUSTED_PROXIES": "127.0.0.1",
                                      "CIVICDESK_COOKIE_SECURE": "1",
                                      "CIVICDESK_MAX_CONNECTIONS_PER_IP": "512"}).start()
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-subj", "/CN=localhost", "-keyout", cls.dir + "/key.pem",
                        "-out", cls.dir + "/cert.pem"], check=True, capture_output=True)
        cls.http_port, cls.https_port = free_port(), free_port()
        with open(SAMPLE) as f:
            site = render(f.read(), cls.dir, cls.http_port, cls.https_port, cls.srv.port)
        with open(cls.dir + "/civicdesk.conf", "w") as f:
            f.write(site)
        with open(cls.dir + "/nginx.conf", "w") as f:
            f.write(WRAPPER.format(d=cls.dir))
        t = subprocess.run([NGINX, "-t", "-c", cls.dir + "/nginx.conf", "-p", cls.dir],
                           capture_output=True, text=True)
        if t.returncode != 0:
            raise RuntimeError("nginx -t: " + t.stderr)
        cls.nginx = subprocess.Popen([NGINX, "-c", cls.dir + "/nginx.conf", "-p", cls.dir],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", cls.https_port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        cls.ctx = ssl.create_default_context()
        cls.ctx.check_hostname = False
        cls.ctx.verify_mode = ssl.CERT_NONE

    @classmethod
    def tearDownClass(cls):
        cls.nginx.terminate()
        try:
            cls.nginx.wait(timeout=20)
        except subprocess.TimeoutExpired:
            cls.nginx.kill()
            cls.nginx.wait()
        cls.srv.cleanup()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def https(self, method, path, body=None, headers=None):
        c = http.client.HTTPSConnection("127.0.0.1", self.https_port, context=self.ctx,
                                        timeout=30)
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            return r.status, dict(r.getheaders()), r.read()
        finally:
            c.close()

    def test_tls_and_redirect(self):
        status, headers, body = self.https("GET", "/api/v1/health")
        self.assertEqual((status, json.loads(body)["status"]), (200, "ok"))
        self.assertIn("max-age=", headers.get("Strict-Transport-Security", ""))
        c = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=10)
        c.request("GET", "/track?lang=en", headers={"Host": "civicdesk.example.gov.cn"})
        r = c.getresponse()
        r.read()
        c.close()
        self.assertEqual(r.status, 301)
        self.assertEqual(r.getheader("Location"), "https://civicdesk.example.gov.cn/track?lang=en")

    def test_client_address_and_secure_cookie(self):
        self.srv.add_user("viaproxy", "dispatcher")
        status, headers, body = self.https(
            "POST", "/api/v1/login",
            body=json.dumps({"username": "viaproxy", "password": "Test-Passw0rd"}),
            headers={"Content-Type": "application/json", "X-Forwarded-For": "203.0.113.9"})
        self.assertEqual(status, 200, body)
        self.assertIn("; Secure", headers.get("Set-Cookie", ""))
        db = sqlite3.connect(self.srv.db)
        addr = db.execute("SELECT addr FROM audit WHERE action = 'login' AND actor = "
                          "'viaproxy'").fetchone()[0]
        db.close()
        # nginx replaced the client's header with the address it saw: the spoof is not believed
        self.assertEqual(addr, "127.0.0.1")

    def test_submission_and_body_limit(self):
        item = {"kind": "letter", "subject": "经 nginx", "body": "正文", "email": "a@b.cn",
                "publish": False}
        status, _, body = self.https("POST", "/api/v1/items", body=json.dumps(item).encode(),
                                     headers={"Content-Type": "application/json"})
        self.assertEqual(status, 201, body)
        status, _, _ = self.https("POST", "/api/v1/items", body=b"x" * (12 * 1024 * 1024),
                                  headers={"Content-Type": "application/json"})
        self.assertEqual(status, 413)


if __name__ == "__main__":
    harness.main()
