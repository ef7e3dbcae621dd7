"""Integration-test harness: runs unittest test cases and prints TAP lines for tests/run.

Also starts the real daemon (`civicdesk serve`) on a random port with a fresh database and
talks to it over HTTP with the standard library's client (http.client).
"""
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import unittest

BIN = os.path.abspath(os.environ.get("CIVICDESK_BIN", "build/test/civicdesk"))


def run_cli(*args, stdin=None, env=None, timeout=60):
    """Runs the civicdesk binary; returns CompletedProcess with text stdout/stderr."""
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    return subprocess.run([BIN, *args], input=stdin, capture_output=True, text=True,
                          env=full_env, timeout=timeout)


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # list of (name, value)
        self.body = body        # bytes

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def headers_all(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self):
        return "<%d %r>" % (self.status, self.body[:300])


class Server:
    """A civicdesk daemon on 127.0.0.1 with its own temporary folder and database."""

    def __init__(self, env=None, args=(), dbdir=None):
        self.own_dir = dbdir is None
        self.dir = dbdir or tempfile.mkdtemp(prefix="civicdesk-test-")
        self.db = os.path.join(self.dir, "civicdesk.db")
        self.env = dict(os.environ)
        self.env.update({"CIVICDESK_DB": self.db, "CIVICDESK_LISTEN": "127.0.0.1:0"})
        if env:
            self.env.update(env)
        self.args = list(args)
        self.proc = None
        self.port = None
        self.startup = []

    def start(self):
        self.proc = subprocess.Popen([BIN, "serve", *self.args], stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, env=self.env,
                                     cwd=self.dir)
        for line in self.proc.stdout:
            self.startup.append(line.rstrip("\n"))
            if "listening on http://" in line:
                self.port = int(line.rsplit(":", 1)[1].strip().rstrip("/"))
                break
        if self.port is None:
            raise RuntimeError("server did not start:\n" + "\n".join(self.startup))
        return self

    def stop(self):
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                rest = self.proc.communicate(timeout=20)[0]
            except subprocess.TimeoutExpired:
                self.proc.kill()
                rest = self.proc.communicate()[0]
            self.exit_code = self.proc.returncode
            self.output = "\n".join(self.startup) + "\n" + (rest or "")
            self.proc = None
        return self

    def cleanup(self):
        self.stop()
        if self.own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def cli(self, *args, stdin=None):
        """Runs a civicdesk command against this server's database."""
        return run_cli(*args, stdin=stdin, env={"CIVICDESK_DB": self.db})

    def request(self, method, path, body=None, headers=None, json_body=None):
        hdrs = dict(headers or {})
        if json_body is not None:
            body = json.dumps(json_body).encode("utf-8")
            hdrs.setdefault("Content-Type", "application/json")
        if isinstance(body, str):
            body = body.encode("utf-8")
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=hdrs)
            r = conn.getresponse()
            return Response(r.status, r.getheaders(), r.read())
        finally:
            conn.close()


class TapResult(unittest.TextTestResult):
    """Prints one TAP line per test."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.n = 0

    def _line(self, test, ok, extra=""):
        self.n += 1
        print("%s %d - %s%s" % ("ok" if ok else "not ok", self.n, test.id(), extra), flush=True)

    def addSuccess(self, test):
        super().addSuccess(test)
        self._line(test, True)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._line(test, False)
        for l in self._exc_info_to_string(err, test).splitlines():
            print("# " + l)

    def addError(self, test, err):
        super().addError(test, err)
        self._line(test, False)
        for l in self._exc_info_to_string(err, test).splitlines():
            print("# " + l)

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._line(test, True, " # SKIP " + reason)


def main():
    """Runs the test cases of the calling module; exit status 1 if any failed."""
    module = sys.modules["__main__"]
    suite = unittest.defaultTestLoader.loadTestsFromModule(module)
    runner = unittest.TextTestRunner(stream=open(os.devnull, "w"), resultclass=TapResult,
                                     verbosity=0)
    result = runner.run(suite)
    print("1..%d" % result.testsRun)
    sys.exit(0 if result.wasSuccessful() else 1)
