#!/usr/bin/env python3
"""Content screening: the configured prohibited words and patterns (screen_words, screen_file)
flag a new item for the dispatcher (the queue and the item show it); nothing is dropped, the
text stays as written, the citizen's history does not show the flag, and a dispatcher clears
it after review (audited)."""
import os
import sqlite3
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


def submit(srv, subject, body):
    r = srv.request("POST", "/api/v1/items", json_body={
        "kind": "complaint", "subject": subject, "body": body, "email": "a@b.cn",
        "publish": False})
    if r.status != 201:
        raise AssertionError(r)
    return r.json()


class Screening(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="civicdesk-screen-")
        cls.file = os.path.join(cls.tmp, "words.txt")
        with open(cls.file, "w") as f:
            f.write("# prohibited words of the bureau\n赌博\n\n  re:[0-9]{3}-?bet  \n")
        cls.srv = harness.Server(env={"CIVICDESK_SCREEN_WORDS": "casino, re:炸(药|弹)",
                                      "CIVICDESK_SCREEN_FILE": cls.file,
                                      "CIVICDESK_SUBMIT_RATE": "0"}).start()
        cls.disp = cls.srv.staff("disp", "dispatcher")
        cls.hand = cls.srv.staff("hand", "handler", "法规处")

    @classmethod
    def tearDownClass(cls):
        cls.srv.cleanup()
        import shutil
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def queue_row(self, tracking):
        r = self.disp.request("GET", "/api/v1/queue?state=all&limit=100")
        self.assertEqual(r.status, 200, r)
        return {i["tracking"]: i for i in r.json()["items"]}[tracking]

    def test_flags_without_dropping(self):
        cases = [
            ("网上赌场", "有人在网上开CASINO赌场", "casino"),
            ("危险品", "邻居家里私藏炸药", "re:炸(药|弹)"),
            ("聚众", "楼下有人聚众赌博", "赌博"),
            ("广告", "短信推广 888bet 网站", "re:[0-9]{3}-?bet"),
        ]
        for subject, body, want in cases:
            with self.subTest(word=want):
                a = submit(self.srv, subject, body)
                row = self.queue_row(a["tracking"])
                self.assertEqual(row["screening"]["matched"], want)
                self.assertFalse(row["screening"]["cleared"])
                it = self.disp.request("GET", "/api/v1/items/" + a["tracking"]).json()
                self.assertEqual((it["subject"], it["body"]), (subject, body))  # original kept
                self.assertEqual(it["screening"]["matched"], want)
                self.assertIn("screened", [h["action"] for h in it["history"]])
                t = self.srv.request("GET", "/api/v1/track/" + a["tracking"],
                                     headers={"X-Query-Code": a["query_code"]}).json()
                self.assertNotIn("screened", [h["action"] for h in t["history"]])
        a = submit(self.srv, "路灯", "路灯坏了")
        self.assertIsNone(self.queue_row(a["tracking"])["screening"])

    def test_dispatcher_clears_after_review(self):
        a = submit(self.srv, "举报", "疑似赌博窝点")
        path = "/api/v1/items/%s/screening" % a["tracking"]
        r = self.hand.request("POST", path, json_body={"note": "x"})
        self.assertEqual(r.status, 403, r)
        r = self.disp.request("POST", path, json_body={})
        self.assertEqual((r.status, r.json()["error"]["field"]), (400, "note"), r)
        r = self.disp.request("POST", path, json_body={"note": "举报内容，不是违规信息"})
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.json()["screening"]["cleared"])
        self.assertEqual(r.json()["screening"]["cleared_by"], "disp")
        r = self.disp.request("POST", path, json_body={"note": "again"})
        self.assertEqual((r.status, r.json()["error"]["code"]), (409, "not_flagged"), r)
        db = sqlite3.connect(self.srv.db)
        acts = [x for (x,) in db.execute("SELECT action FROM audit WHERE target = ? ORDER BY id",
                                         (a["tracking"],))]
        db.close()
        self.assertIn("screened", acts)
        self.assertIn("screening_cleared", acts)

    def test_mail_in_and_the_citizens_later_mail(self):
        import subprocess
        import uuid
        from email.message import EmailMessage

        def mail(subject, text):
            m = EmailMessage()
            m["From"], m["To"], m["Subject"] = ("li@example.cn", "director@bureau.example",
                                                subject)
            m["Message-ID"] = "<%s@example.cn>" % uuid.uuid4().hex
            m.set_content(text)
            r = subprocess.run([harness.BIN, "ingest-mail"], input=m.as_bytes(),
                               capture_output=True, timeout=60,
                               env=dict(os.environ, CIVICDESK_DB=self.srv.db,
                                        CIVICDESK_SCREEN_WORDS="casino, re:炸(药|弹)",
                                        CIVICDESK_SCREEN_FILE=self.file))
            self.assertEqual(r.returncode, 0, r.stderr)
            return r.stdout.decode().strip()

        tracking = mail("路灯", "路灯坏了。")
        self.assertIsNone(self.queue_row(tracking)["screening"])
        self.assertEqual(mail("补充 " + tracking, "楼下还有人聚众赌博。"), tracking)
        self.assertEqual(self.queue_row(tracking)["screening"]["matched"], "赌博")
        r = self.disp.request("POST", "/api/v1/items/%s/screening" % tracking,
                              json_body={"note": "已核实"})
        self.assertEqual(r.status, 200, r)
        # a later mail that matches again raises the flag again, for a new review
        self.assertEqual(mail("再补充 " + tracking, "网上 CASINO 广告"), tracking)
        row = self.queue_row(tracking)["screening"]
        self.assertEqual((row["matched"], row["cleared"]), ("casino", False))

    def test_the_citizens_online_supplement(self):
        a = submit(self.srv, "路灯", "路灯坏了")
        t = a["tracking"]
        for who, action, body in ((self.disp, "assign", {"section": "法规处"}),
                                  (self.hand, "accept", {}),
                                  (self.hand, "ask_citizen", {"note": "请说明具体位置"})):
            r = who.request("POST", "/api/v1/items/%s/actions/%s" % (t, action), json_body=body)
            self.assertEqual(r.status, 200, r)
        self.assertIsNone(self.queue_row(t)["screening"])
        text = "在东门，旁边有人开 Casino 网站，还有人卖炸弹"
        r = self.srv.request("POST", "/api/v1/track/%s/supplement" % t,
                             json_body={"text": text}, headers={"X-Query-Code": a["query_code"]})
        self.assertEqual(r.status, 200, r)
        row = self.queue_row(t)["screening"]
        self.assertEqual((row["matched"], row["cleared"]), ("casino, re:炸(药|弹)", False))
        it = self.disp.request("GET", "/api/v1/items/" + t).json()
        self.assertEqual(it["state"], "in_progress")  # taken, not dropped
        notes = [h.get("note") for h in it["history"]]
        self.assertIn(text, notes)  # kept as written
        self.assertIn("screened", [h["action"] for h in it["history"]])
        tr = self.srv.request("GET", "/api/v1/track/" + t,
                              headers={"X-Query-Code": a["query_code"]}).json()
        self.assertNotIn("screened", [h["action"] for h in tr["history"]])

    def test_bad_pattern_stops_the_start(self):
        r = harness.run_cli("serve", env={"CIVICDESK_SCREEN_WORDS": "re:([unclosed",
                                          "CIVICDESK_DB": "/nonexistent/x.db"})
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("pattern '([unclosed'", r.stderr)


if __name__ == "__main__":
    harness.main()
