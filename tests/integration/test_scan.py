#!/usr/bin/env python3
"""Attachment scanning with a real clamd (INSTREAM over its local socket, a test-written
signature for the EICAR string): an infected file is not stored, the item's history says why
and the citizen is told; while clamd is away files are stored and held (never served), and
serve's rescan decides them once clamd is back: nothing is lost."""
import os
import sqlite3
import sys
import tempfile
import time
import unittest
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clamd  # noqa: E402
import harness  # noqa: E402

CLEAN = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"
# passes the type check (a PDF by its magic bytes) but carries the EICAR string
INFECTED = b"%PDF-1.4\n% " + clamd.EICAR + b"\n%%EOF\n"


def multipart(fields, files):
    boundary = "----civicdesk" + uuid.uuid4().hex
    out = b""
    for k, v in fields:
        out += ("--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n" %
                (boundary, k, v)).encode()
    for name, data in files:
        out += ("--%s\r\nContent-Disposition: form-data; name=\"attachment\"; "
                "filename=\"%s\"\r\nContent-Type: application/pdf\r\n\r\n" %
                (boundary, name)).encode() + data + b"\r\n"
    return out + ("--%s--\r\n" % boundary).encode(), "multipart/form-data; boundary=" + boundary


def submit(srv, files):
    body, ctype = multipart([("kind", "complaint"), ("subject", "附件"), ("body", "见附件"),
                             ("email", "a@b.cn"), ("publish", "false")], files)
    r = srv.request("POST", "/api/v1/items", body=body, headers={"Content-Type": ctype})
    if r.status != 201:
        raise AssertionError(r)
    return r.json()


def wait_for(cond, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.2)
    return cond()


@unittest.skipUnless(clamd.available(), "clamav-daemon is not installed (tools/deps test)")
class Scan(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sockdir = tempfile.mkdtemp(prefix="civicdesk-clamsock-")
        cls.sock = os.path.join(cls.sockdir, "clamd.sock")
        cls.clamd = clamd.Clamd(cls.sock)  # started by test_2, after clamd was away
        cls.srv = harness.Server(env={"CIVICDESK_CLAMD_SOCKET": cls.sock,
                                      "CIVICDESK_CLAMD_RESCAN": "1",
                                      "CIVICDESK_SUBMIT_RATE": "0"}).start()
        cls.staff = cls.srv.staff("disp", "dispatcher")

    @classmethod
    def tearDownClass(cls):
        cls.srv.cleanup()
        cls.clamd.cleanup()
        import shutil
        shutil.rmtree(cls.sockdir, ignore_errors=True)

    def item(self, tracking):
        r = self.staff.request("GET", "/api/v1/items/" + tracking)
        self.assertEqual(r.status, 200, r)
        return r.json()

    def download(self, tracking, att_id):
        return self.staff.request("GET", "/api/v1/items/%s/attachments/%d" % (tracking, att_id))

    def test_1_held_while_clamd_is_away_then_decided(self):
        a = submit(self.srv, [("good.pdf", CLEAN), ("bad.pdf", INFECTED)])
        self.assertEqual((a["attachments_refused"], a["attachments_held"]), ([], 2))
        it = self.item(a["tracking"])
        files = {f["filename"]: f for f in it["attachments"]}
        self.assertEqual(sorted(files), ["bad.pdf", "good.pdf"])  # nothing lost
        for f in files.values():
            r = self.download(a["tracking"], f["id"])
            self.assertEqual((r.status, r.json()["error"]["code"]), (409, "scan_pending"), r)
        # clamd comes back: serve's rescan (every second here) decides both
        self.clamd.start()
        self.assertTrue(wait_for(
            lambda: self.download(a["tracking"], files["good.pdf"]["id"]).status == 200), 
            self.srv.proc.pid)
        self.assertEqual(self.download(a["tracking"], files["good.pdf"]["id"]).body, CLEAN)
        self.assertTrue(wait_for(
            lambda: self.download(a["tracking"], files["bad.pdf"]["id"]).status == 409 and
            self.download(a["tracking"], files["bad.pdf"]["id"]).json()["error"]["code"] ==
            "infected"))
        db = sqlite3.connect(self.srv.db)
        data = db.execute("SELECT data FROM attachments WHERE id = ?",
                          (files["bad.pdf"]["id"],)).fetchone()[0]
        states = dict(db.execute("SELECT attachment_id, state FROM attachment_scans"))
        db.close()
        self.assertEqual(bytes(data), b"")  # its content removed
        self.assertEqual(states[files["good.pdf"]["id"]], "clean")
        self.assertEqual(states[files["bad.pdf"]["id"]], "infected")
        r = self.srv.request("GET", "/api/v1/track/" + a["tracking"],
                             headers={"X-Query-Code": a["query_code"]})
        notes = [h.get("note") or "" for h in r.json()["history"]]
        self.assertTrue(any("bad.pdf was removed" in n and clamd.SIGNATURE in n for n in notes),
                        notes)

    def test_2_infected_file_not_stored_citizen_told(self):
        if self.clamd.proc is None:
            self.clamd.start()
        a = submit(self.srv, [("report.pdf", CLEAN), ("virus.pdf", INFECTED)])
        self.assertEqual([f["filename"] for f in a["attachments_refused"]], ["virus.pdf"])
        self.assertEqual(a["attachments_held"], 0)
        it = self.item(a["tracking"])
        self.assertEqual([f["filename"] for f in it["attachments"]], ["report.pdf"])
        r = self.download(a["tracking"], it["attachments"][0]["id"])
        self.assertEqual((r.status, r.body), (200, CLEAN))
        # the citizen sees why on the tracking page's history
        r = self.srv.request("GET", "/api/v1/track/" + a["tracking"],
                             headers={"X-Query-Code": a["query_code"]})
        notes = [h.get("note") or "" for h in r.json()["history"]]
        self.assertTrue(any("virus.pdf was not stored" in n and clamd.SIGNATURE in n
                            for n in notes), notes)
        db = sqlite3.connect(self.srv.db)
        rows = db.execute("SELECT target, ok, detail FROM audit WHERE action = "
                          "'attachment_refused'").fetchall()
        stored = db.execute("SELECT count(*) FROM attachments WHERE instr(data, ?) > 0",
                            (clamd.EICAR,)).fetchone()[0]
        db.close()
        self.assertIn(a["tracking"], [t for t, ok, d in rows])
        self.assertEqual(stored, 0)  # no infected content anywhere in the database

    def test_3_mail_in_new_item_and_later_mail(self):
        if self.clamd.proc is None:
            self.clamd.start()
        from email.message import EmailMessage

        def mail(subject, files):
            m = EmailMessage()
            m["From"], m["To"], m["Subject"] = ("zhang@example.cn", "director@bureau.example",
                                                subject)
            m["Message-ID"] = "<%s@example.cn>" % uuid.uuid4().hex
            m.set_content("见附件。")
            for name, data in files:
                m.add_attachment(data, maintype="application", subtype="pdf", filename=name)
            import subprocess
            r = subprocess.run([harness.BIN, "ingest-mail"], input=m.as_bytes(),
                               capture_output=True, timeout=60,
                               env=dict(os.environ, CIVICDESK_DB=self.srv.db,
                                        CIVICDESK_CLAMD_SOCKET=self.sock))
            self.assertEqual(r.returncode, 0, r.stderr)
            return r.stdout.decode().strip()

        tracking = mail("井盖丢失", [("mail-virus.pdf", INFECTED)])
        it = self.item(tracking)
        self.assertEqual(it["attachments"], [])
        self.assertTrue(any("mail-virus.pdf was not stored" in (h.get("note") or "")
                            for h in it["history"]))
        self.assertEqual(mail("补充 " + tracking, [("photo.pdf", CLEAN), ("again.pdf", INFECTED)]),
                         tracking)
        it = self.item(tracking)
        self.assertEqual([f["filename"] for f in it["attachments"]], ["photo.pdf"])
        self.assertEqual(self.download(tracking, it["attachments"][0]["id"]).status, 200)
        self.assertTrue(any("again.pdf was not stored" in (h.get("note") or "")
                            for h in it["history"]))

    def test_3b_json_submission_answers_the_scan(self):
        # a JSON submission (no attachment) waits on its I/O thread (core_submit_start); with
        # a scanner configured its 201 still says what the scan did: nothing refused or held
        r = self.srv.request("POST", "/api/v1/items", json_body={
            "kind": "letter", "subject": "路灯", "body": "路灯不亮。", "email": "a@b.cn",
            "publish": False})
        self.assertEqual(r.status, 201, r)
        a = r.json()
        self.assertEqual((a["attachments_refused"], a["attachments_held"]), ([], 0))
        self.assertEqual(self.item(a["tracking"])["attachments"], [])

    def test_4_online_supplement(self):
        if self.clamd.proc is None:
            self.clamd.start()
        a = submit(self.srv, [])
        t = a["tracking"]
        hand = self.srv.staff("hand_s", "handler", "法规处")
        for who, action, body in ((self.staff, "assign", {"section": "法规处"}),
                                  (hand, "accept", {}),
                                  (hand, "ask_citizen", {"note": "请补充照片"})):
            r = who.request("POST", "/api/v1/items/%s/actions/%s" % (t, action), json_body=body)
            self.assertEqual(r.status, 200, r)
        body, ctype = multipart([("text", "照片见附件")],
                                [("site.pdf", CLEAN), ("supp-virus.pdf", INFECTED)])
        r = self.srv.request("POST", "/api/v1/track/%s/supplement" % t, body=body,
                             headers={"Content-Type": ctype, "X-Query-Code": a["query_code"]})
        self.assertEqual(r.status, 200, r)
        it = self.item(t)
        self.assertEqual([f["filename"] for f in it["attachments"]], ["site.pdf"])
        self.assertEqual(self.download(t, it["attachments"][0]["id"]).status, 200)
        r = self.srv.request("GET", "/api/v1/track/" + t, headers={"X-Query-Code": a["query_code"]})
        self.assertTrue(any("supp-virus.pdf was not stored" in (h.get("note") or "")
                            for h in r.json()["history"]))
        db = sqlite3.connect(self.srv.db)
        stored = db.execute("SELECT count(*) FROM attachments WHERE instr(data, ?) > 0",
                            (clamd.EICAR,)).fetchone()[0]
        db.close()
        self.assertEqual(stored, 0)


if __name__ == "__main__":
    harness.main()
