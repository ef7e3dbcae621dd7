"""The sample nginx configuration (tools/nginx-civicdesk.conf) in front of the real daemon:
Debian's nginx started by the test on 127.0.0.1 with a self-signed certificate, the sample file
used as shipped but for its names, ports and paths. It must serve the API over TLS, redirect
plain HTTP, replace a client's X-Forwarded-For (so per-address limits cannot be dodged), refuse
bodies above civicdesk's max_body, and log no query string."""
import http.client
import json
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import unittest

import harness
import peers

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
SAMPLE = os.path.join(ROOT, "tools", "nginx-civicdesk.conf")
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
LETTER = {"kind": "letter", "subject": "路灯不亮", "body": "学院路的路灯坏了三天。", "publish": False,
          "phone": "13812345678"}


def render(sample, tmp, p80, p443, upstream):
    """The sample with only its names, ports and paths replaced, inside a minimal main file."""
    conf = sample
    for old, new in [
            ("listen [::]:80;\n", ""), ("listen [::]:443 ssl http2;\n", ""),
            ("listen 80;", "listen 127.0.0.1:%d;" % p80),
            ("listen 443 ssl http2;", "listen 127.0.0.1:%d ssl http2;" % p443),
            ("/etc/ssl/civicdesk/", tmp + "/"), ("/var/log/nginx/", tmp + "/"),
            ("server 127.0.0.1:8080;", "server 127.0.0.1:%d;" % upstream)]:
        if old not in conf:
            raise AssertionError("the sample no longer has %r" % old)
        conf = conf.replace(old, new)
    with open(os.path.join(tmp, "civicdesk.conf"), "w") as f:
        f.write(conf)
    temp = "".join("%s_temp_path %s/%s;\n" % (k, tmp, k)
                   for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    main = ("user root;\ndaemon off;\nworker_processes 1;\npid %s/nginx.pid;\n"
            "error_log %s/main.error.log warn;\nevents { worker_connections 256; }\n"
            "http {\n%sinclude %s/civicdesk.conf;\n}\n" % (tmp, tmp, temp, tmp))
    path = os.path.join(tmp, "nginx.conf")
    with open(path, "w") as f:
        f.write(main)
    return path


def wait_port(port, proc, seconds=20):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError("nginx exited with %d" % proc.returncode)
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("nginx did not listen on %d" % port)


class Nginx(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="civicdesk-nginx-")
        cls.server = harness.Server(env={"CIVICDESK_TRUSTED_PROXIES": "127.0.0.1",
                                         "CIVICDESK_COOKIE_SECURE": "1",
                                         "CIVICDESK_SUBMIT_RATE": "2",
                                         "CIVICDESK_MAX_CONNECTIONS_PER_IP": "512"}).start()
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-subj", "/CN=127.0.0.1", "-keyout", cls.tmp + "/privkey.pem",
                        "-out", cls.tmp + "/fullchain.pem"], check=True, capture_output=True)
        cls.p80, cls.p443 = peers.free_port(), peers.free_port()
        with open(SAMPLE) as f:
            conf = render(f.read(), cls.tmp, cls.p80, cls.p443, cls.server.port)
        t = subprocess.run([NGINX, "-t", "-c", conf, "-p", cls.tmp], capture_output=True,
                           text=True)
        if t.returncode != 0:
            raise AssertionError("nginx -t: " + t.stderr)
        cls.nginx = subprocess.Popen([NGINX, "-c", conf, "-p", cls.tmp],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(cls.p443, cls.nginx)
        wait_port(cls.p80, cls.nginx)

    @classmethod
    def tearDownClass(cls):
        cls.nginx.terminate()
        cls.nginx.wait(timeout=20)
        cls.server.cleanup()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def https(self, method, path, body=None, headers=None):
        ctx = ssl.create_default_context()
        ctx.load_verify_locations(self.tmp + "/fullchain.pem")
        ctx.check_hostname = False
        conn = http.client.HTTPSConnection("127.0.0.1", self.p443, context=ctx, timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            conn.close()

    def test_api_over_tls_with_hsts(self):
        status, headers, body = self.https("GET", "/api/v1/health")
        self.assertEqual(status, 200, body)
        self.assertIn("max-age=", headers.get("strict-transport-security", ""))
        self.assertEqual(headers.get("server"), "nginx")  # no version
        # civicdesk's own page headers pass through
        status, headers, _ = self.https("GET", "/")
        self.assertEqual(status, 200)
        self.assertIn("frame-ancestors 'none'", headers.get("content-security-policy", ""))

    def test_plain_http_redirects(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.p80, timeout=30)
        conn.request("GET", "/track", headers={"Host": "civicdesk.example.gov.cn"})
        r = conn.getresponse()
        r.read()
        conn.close()
        self.assertEqual(r.status, 301)
        self.assertEqual(r.getheader("Location"), "https://civicdesk.example.gov.cn/track")

    def test_forwarded_for_is_replaced(self):
        """A client that sends its own X-Forwarded-For does not get a new address per request:
        the submission limit (2 a minute here) still applies to it."""
        answers = []
        for i in range(3):
            status, headers, body = self.https(
                "POST", "/api/v1/items", json.dumps(LETTER).encode(),
                {"Content-Type": "application/json", "X-Forwarded-For": "203.0.113.%d" % i})
            answers.append(status)
        self.assertEqual(answers, [201, 201, 429])

    def test_large_body_refused_at_the_front(self):
        status, _, _ = self.https("POST", "/api/v1/items", b"x" * (11 * 1024 * 1024),
                                  {"Content-Type": "application/json"})
        self.assertEqual(status, 413)

    def test_access_log_has_no_query_string(self):
        secret = "QC7Y2K9MW4"
        status, _, _ = self.https("GET", "/track?tracking=XJ-20261129-00001&code=" + secret)
        self.assertIn(status, (200, 400, 404, 429))
        log = os.path.join(self.tmp, "civicdesk.access.log")
        deadline = time.monotonic() + 10
        text = ""
        while time.monotonic() < deadline and "/track" not in text:
            with open(log) as f:
                text = f.read()
            if "/track" not in text:
                time.sleep(0.05)
        self.assertIn('"GET /track"', text)
        self.assertNotIn(secret, text)


if __name__ == "__main__":
    harness.main()
