"""Disk full: with the database on a small tmpfs that fills up, submissions, logins and staff
actions answer 503 with Retry-After and a clear message (no SQLite text), nothing acknowledged is
lost, and the service takes writes again by itself once space returns.

Needs root (it mounts a 6 MiB tmpfs); skipped otherwise. Bounded: at most 400 submissions.
"""
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

BIG = "满" * 20000  # 60 kB of UTF-8 per item


def item():
    return {"kind": "letter", "subject": "磁盘满", "body": BIG, "email": "a@example.cn",
            "publish": False}


class DiskFull(unittest.TestCase):
    def setUp(self):
        self.mnt = tempfile.mkdtemp(prefix="civicdesk-full-")
        if os.geteuid() != 0 or subprocess.run(
                ["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", self.mnt],
                capture_output=True).returncode != 0:
            os.rmdir(self.mnt)
            self.skipTest("needs root to mount a small tmpfs")
        self.srv = harness.Server(env={"CIVICDESK_SUBMIT_RATE": "0"}, dbdir=self.mnt).start()

    def tearDown(self):
        self.srv.cleanup()
        subprocess.run(["umount", self.mnt], capture_output=True)
        shutil.rmtree(self.mnt, ignore_errors=True)

    def fill(self):
        """Fills the tmpfs with a filler file, leaving almost nothing."""
        with open(os.path.join(self.mnt, "filler"), "wb") as f:
            try:
                while True:
                    f.write(b"\0" * 65536)
                    f.flush()
            except OSError:
                pass

    def test_full_disk_answers_503_and_recovers(self):
        staff = self.srv.staff("disp", "dispatcher")
        first = self.srv.request("POST", "/api/v1/items", json_body=item())
        self.assertEqual(first.status, 201)
        acked = [first.json()["tracking"]]
        self.fill()
        full = None
        for _ in range(400):
            r = self.srv.request("POST", "/api/v1/items", json_body=item())
            if r.status == 201:
                acked.append(r.json()["tracking"])
                continue
            full = r
            break
        self.assertIsNotNone(full, "the disk never filled")
        print("# %d items acknowledged; then %d %s" % (len(acked), full.status, full.body[:120]))
        self.assertEqual(full.status, 503, full)
        self.assertIsNotNone(full.header("Retry-After"))
        self.assertNotIn("SQLITE", full.body.decode().upper())
        self.assertNotIn("database or disk is full", full.body.decode())
        # A staff action and a login on the full disk: 503 with Retry-After too.
        r = staff.request("POST", "/api/v1/items/%s/actions/assign" % acked[0],
                          json_body={"section": "法规处"})
        print("# on the full disk: assign %d %s" % (r.status, r.body[:100]))
        if r.status != 200:
            self.assertEqual(r.status, 503, r)
            self.assertIsNotNone(r.header("Retry-After"))
        r = self.srv.request("POST", "/api/v1/login",
                             json_body={"username": "disp", "password": "Test-Passw0rd"})
        print("# on the full disk: login %d %s" % (r.status, r.body[:100]))
        if r.status != 200:
            self.assertEqual(r.status, 503, r)
            self.assertIsNotNone(r.header("Retry-After"))
        # More writes on the full disk: each answers 503, and the log says so once a minute,
        # not once per request.
        for _ in range(30):
            r = self.srv.request("POST", "/api/v1/items", json_body=item())
            self.assertEqual(r.status, 503, r)
            self.assertIsNotNone(r.header("Retry-After"))
        # Space returns: the service takes writes again without a restart.
        os.unlink(os.path.join(self.mnt, "filler"))
        r = self.srv.request("POST", "/api/v1/items", json_body=item())
        self.assertEqual(r.status, 201, r)
        acked.append(r.json()["tracking"])
        self.srv.stop()
        full_lines = [l for l in self.srv.output.splitlines() if "disk is full" in l]
        print("# %d log lines about the full disk" % len(full_lines))
        if os.environ.get("DISKFULL_DEBUG"):
            print("\n".join("# " + l for l in self.srv.output.splitlines() if "request id" not in l))
        self.assertLessEqual(len(full_lines), 4, "\n".join(full_lines[:20]))
        db = sqlite3.connect(self.srv.db)
        try:
            self.assertEqual(db.execute("PRAGMA integrity_check").fetchone()[0], "ok")
            have = {t for (t,) in db.execute("SELECT tracking FROM items")}
        finally:
            db.close()
        self.assertEqual(set(acked) - have, set())


if __name__ == "__main__":
    harness.main()
