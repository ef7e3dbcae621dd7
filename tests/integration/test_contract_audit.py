"""The ninth session's audit of DESIGN.md's Fixed contract, driven as outside clients drive it:
what the contract suites before it (test_contract_api.py, _mail.py, _ops.py, test_bad_inputs.py)
left uncovered and was found wrong. Each class is one finding, fixed:
- `civicdesk ingest-mail` run where the configured database does not exist (an MTA's own
  environment and working directory): exit 75 and nothing created, never a fresh database that
  takes the letter out of the bureau's sight while the MTA, told 0, deletes it.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

# the daemon runs in its own temporary folder: a relative binary path must not depend on it
harness.BIN = os.path.abspath(harness.BIN)

LETTER = ("From: =?UTF-8?B?5byg5LiJ?= <zhangsan@example.cn>\r\n"
          "To: director@bureau.example\r\n"
          "Subject: =?UTF-8?B?6Lev54Gv5LiN5Lqu?=\r\n"
          "Date: Tue, 01 Dec 2026 09:00:00 +0800\r\n"
          "Message-ID: <audit-missing-db@example.cn>\r\n"
          "MIME-Version: 1.0\r\n"
          "Content-Type: text/plain; charset=utf-8\r\n"
          "Content-Transfer-Encoding: 8bit\r\n\r\n"
          "幸福路 12 号的路灯坏了三天。\r\n").encode("utf-8")


def ingest(raw, env, cwd, args=()):
    """civicdesk ingest-mail as an MTA runs it: this environment only, this working folder."""
    return subprocess.run([harness.BIN, "ingest-mail", *args], input=raw, capture_output=True,
                          env=env, cwd=cwd, timeout=120)


class IngestNeverCreatesADatabase(unittest.TestCase):
    """An MTA pipe (Postfix's pipe(8), a .forward, procmail) runs ingest-mail with an environment
    and working folder of its own. Where the database it is given, or the default ./var/ of that
    folder, does not exist, the message is not stored: 75 (the MTA keeps it and retries while the
    operator fixes the path), no output line, a message naming the path, and no file made."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="civicdesk-audit-ingest-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("CIVICDESK_")}
        self.env.setdefault("PATH", "/usr/bin:/bin")

    def assert_refused(self, r, path):
        self.assertEqual(r.returncode, 75, (r.stdout, r.stderr))
        self.assertEqual(r.stdout, b"")
        self.assertIn(path.encode(), r.stderr)
        self.assertIn(b"not stored", r.stderr)

    def test_missing_database_is_not_created(self):
        missing = os.path.join(self.dir, "no-such-dir", "civicdesk.db")
        r = ingest(LETTER, dict(self.env, CIVICDESK_DB=missing), self.dir)
        self.assert_refused(r, missing)
        self.assertFalse(os.path.exists(os.path.dirname(missing)))
        # the same through a configuration file that names it
        conf = os.path.join(self.dir, "civicdesk.conf")
        with open(conf, "w") as f:
            f.write("db = %s\n" % missing)
        r = ingest(LETTER, self.env, self.dir, ("--config", conf))
        self.assert_refused(r, missing)
        os.unlink(conf)
        # no configuration at all: the default ./var/civicdesk.db of the MTA's working folder
        r = ingest(LETTER, self.env, self.dir)
        self.assertEqual(r.returncode, 75, (r.stdout, r.stderr))
        self.assertEqual(os.listdir(self.dir), [])  # no ./var/ made
        # too large is still never storable: 65 whatever the database
        r = ingest(b"From: a@example.cn\r\nSubject: x\r\n\r\n" + b"x" * (40 << 20),
                   dict(self.env, CIVICDESK_DB=missing), self.dir)
        self.assertEqual(r.returncode, 65, r.stderr[-300:])

    def test_existing_database_stores_the_letter(self):
        srv = harness.Server().start()
        try:
            r = ingest(LETTER, dict(self.env, CIVICDESK_DB=srv.db), self.dir)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertRegex(r.stdout.decode(), r"^XJ-\d{8}-\d{5}\n$")
        finally:
            srv.cleanup()
        self.assertEqual(os.listdir(self.dir), [])


if __name__ == "__main__":
    harness.main()
