"""Privacy (issue #14, points 1, 3, 4, 5): publication only after review, the detector on staff
edits, one Open311 rule for the single GET and the list, and staff reading their own section's
items, every read audited. The real daemon, driven over HTTP with the test clock."""
import json
import os
import sys
from urllib.parse import urlencode

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from test_workflow import Base  # noqa: E402


def o311_post(server, **fields):
    body = urlencode(fields).encode()
    return server.request("POST", "/open311/v2/requests.json", body=body,
                          headers={"Content-Type": "application/x-www-form-urlencoded"})


class Publication(Base):
    def test_p01_send_reply_does_not_publish(self):
        self.clock("2025-09-30T10:00")
        a = self.submit(subject="张三反映噪音")
        t = a["tracking"]
        it = self.to_replied(t)
        # prepared (the masked preview), not published
        self.assertFalse(it["published"])
        self.assertEqual(it["public_subject"], "张某反映噪音")
        self.assertEqual(self.server.request("GET", "/api/v1/public/items/" + t).status, 404)
        self.assertNotIn(t, [x["tracking"] for x in
                             self.server.request("GET", "/api/v1/public/items").json()["items"]])
        r = self.server.request("GET", "/open311/v2/requests/%s.json" % t)
        self.assertEqual(r.status, 200, r)
        self.assertIsNone(r.json()[0]["description"])
        self.assertIsNone(r.json()[0]["status_notes"])
        # handlers may not publish; the section head does, after reading it
        r = self.staff["hand_fg"].patch("/api/v1/items/%s/public" % t, {"published": True})
        self.assertEqual(r.status, 403, r)
        self.publish(t)
        r = self.server.request("GET", "/api/v1/public/items/" + t)
        self.assertEqual((r.status, r.json()["subject"]), (200, "张某反映噪音"))
        r = self.server.request("GET", "/open311/v2/requests/%s.json" % t)
        self.assertEqual(r.json()[0]["title"], "张某反映噪音")
        self.assertTrue(r.json()[0]["status_notes"])

    def test_p04_unpublish_before_publication_is_refused(self):
        self.clock("2025-09-30T10:00")
        t = self.submit()["tracking"]
        self.ok("disp_a", t, "assign", section="法规处")
        r = self.staff["head_fg"].patch("/api/v1/items/%s/public" % t, {"published": False})
        self.assertEqual((r.status, r.json()["error"]["code"]), (409, "not_published"))


class Edits(Base):
    def test_p03_edit_with_personal_data(self):
        self.clock("2025-09-30T10:00")
        t = self.submit(subject="噪音")["tracking"]
        self.to_replied(t)
        path = "/api/v1/items/%s/public" % t
        r = self.staff["head_fg"].patch(path, {"body": "请联系13912345678，住学院路38号"})
        self.assertEqual(r.status, 400, r)
        err = r.json()["error"]
        self.assertEqual((err["code"], err["field"]), ("personal_data", "body"))
        self.assertIn("phone number", err["message"])
        self.assertIn("address", err["message"])
        # nothing changed
        it = self.staff["head_fg"].get("/api/v1/items/" + t).json()
        self.assertNotIn("13912345678", it["public_body"])
        # a clean text passes; then a confirmed one
        r = self.staff["head_fg"].patch(path, {"body": "关于噪音的来信。", "published": True})
        self.assertEqual(r.status, 200, r)
        r = self.staff["head_fg"].patch(path, {"body": "值班电话13912345678",
                                               "confirm_personal_data": True})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["public_body"], "值班电话13912345678")
        # old and new texts in the audit log
        r = self.staff["admin_a"].get("/api/v1/audit?target=%s&limit=100" % t)
        self.assertEqual(r.status, 200, r)
        details = " ".join(x.get("detail") or "" for x in r.json()["entries"]
                           if x["action"] in ("edit_public", "publish"))
        self.assertIn("关于噪音的来信。", details)
        self.assertIn("值班电话13912345678", details)
        # every earlier text is kept
        db = harness_db(self.server)
        rows = db_rows(db, "SELECT body FROM public_versions WHERE item_id = "
                           "(SELECT id FROM items WHERE tracking = ?) ORDER BY id", t)
        self.assertEqual(len(rows), 2, rows)
        self.assertEqual(rows[1][0], "关于噪音的来信。")


def harness_db(server):
    return server.db


def db_rows(path, sql, *args):
    import sqlite3
    con = sqlite3.connect(path)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


class Open311(Base):
    ENV = {"CIVICDESK_PUBLIC_CONTACTS": "010-88886666"}

    def test_p04_one_rule(self):
        self.clock("2025-09-30T10:00")
        hidden = self.submit(kind="complaint", publish=False, subject="举报",
                             body="举报内容，身份证110101199003071234")
        shown = self.submit(kind="complaint", subject="公开", body="公开内容")
        for t in (hidden["tracking"],):
            r = self.server.request("GET", "/open311/v2/requests/%s.json" % t)
            self.assertEqual(r.status, 404, r)
        r = self.server.request("GET", "/open311/v2/requests/%s.json" % shown["tracking"])
        self.assertEqual(r.status, 200, r)
        rec = r.json()[0]
        for k in ("description", "title", "agency_responsible"):
            self.assertIn(k, rec)
            self.assertIsNone(rec[k], k)
        self.assertEqual(rec["expected_datetime"], "2025-10-14T23:59:59+08:00")
        lst = self.server.request("GET", "/open311/v2/requests.json").json()
        ids = [x["service_request_id"] for x in lst]
        self.assertIn(shown["tracking"], ids)
        self.assertNotIn(hidden["tracking"], ids)
        lst = self.server.request(
            "GET", "/open311/v2/requests.json?service_request_id=%s,%s" %
            (hidden["tracking"], shown["tracking"])).json()
        self.assertEqual([x["service_request_id"] for x in lst], [shown["tracking"]])
        self.assertIsNone(lst[0]["description"])
        # a filter that matches nothing answers at once
        r = self.server.request("GET", "/open311/v2/requests.json?service_code=nonexistent")
        self.assertEqual((r.status, r.json()), (200, []))
        r = self.server.request("GET", "/open311/v2/requests.json?service_code=complaint"
                                "&status=open")
        self.assertEqual([x["service_request_id"] for x in r.json()], [shown["tracking"]])

    def test_p04_post_names_location_and_lengths(self):
        self.clock("2025-09-30T10:00")
        r = o311_post(self.server, service_code="letter", first_name="晓明", last_name="黄",
                      description="黄晓明反映：电话１３８１２３４５６７８", phone="13812345678",
                      address_string="海淀区学院路38号", lat="39.99", long="116.33",
                      **{"attribute[publish]": "true"})
        self.assertEqual(r.status, 201, r)
        t = r.json()[0]["service_request_id"]
        it = self.staff["disp_a"].get("/api/v1/items/" + t).json()
        self.assertEqual(it["name"], "黄晓明")
        self.assertEqual((it["address_string"], it["lat"], it["long"]),
                         ("海淀区学院路38号", "39.99", "116.33"))
        self.to_replied(t)
        self.publish(t)
        r = self.server.request("GET", "/open311/v2/requests/%s.json" % t)
        text = json.dumps(r.json(), ensure_ascii=False)
        for secret in ("黄晓明", "１３８１２３４５６７８", "13812345678", "学院路38号", "39.99",
                       "116.33"):
            self.assertNotIn(secret, text)
        self.assertIn("黄某", text)
        # 100 Chinese characters of subject: whole; 250 ASCII: refused, not cut
        subject = "噪" * 100
        r = o311_post(self.server, service_code="letter", subject=subject, description="x",
                      email="a@example.com", **{"attribute[publish]": "false"})
        self.assertEqual(r.status, 201, r)
        t2 = r.json()[0]["service_request_id"]
        self.assertEqual(self.staff["disp_a"].get("/api/v1/items/" + t2).json()["subject"],
                         subject)
        r = o311_post(self.server, service_code="letter", subject="a" * 250, description="x",
                      email="a@example.com", **{"attribute[publish]": "false"})
        self.assertEqual(r.status, 400, r)
        # a description of 60 Chinese characters makes a subject of 50, cut between characters
        r = o311_post(self.server, service_code="letter", description="长" * 60,
                      email="a@example.com", **{"attribute[publish]": "false"})
        self.assertEqual(r.status, 201, r)
        t3 = r.json()[0]["service_request_id"]
        self.assertEqual(self.staff["disp_a"].get("/api/v1/items/" + t3).json()["subject"],
                         "长" * 50)


class PublicRate(Base):
    ENV = {"CIVICDESK_PUBLIC_RATE": "5"}

    def test_p04_public_reads_limited(self):
        codes = [self.server.request("GET", "/open311/v2/requests.json").status
                 for _ in range(6)]
        self.assertEqual(codes[:5], [200] * 5)
        self.assertEqual(codes[5], 429)
        r = self.server.request("GET", "/api/v1/public/items")
        self.assertEqual(r.status, 429)


class Sections(Base):
    def test_p05_own_section_only_and_audited(self):
        self.clock("2025-09-30T10:00")
        t = self.submit(body="身份证110101199003071234")["tracking"]
        self.ok("disp_a", t, "assign", section="法规处")
        r = self.staff["hand_jc"].get("/api/v1/items/" + t)
        self.assertEqual(r.status, 403, r)
        r = self.staff["head_jc"].get("/api/v1/items/" + t)
        self.assertEqual(r.status, 403, r)
        r = self.staff["hand_jc"].get("/api/v1/items/%s/attachments/1" % t)
        self.assertEqual(r.status, 403, r)
        for who in ("hand_fg", "head_fg", "disp_a", "sup_a", "admin_a"):
            r = self.staff[who].get("/api/v1/items/" + t)
            self.assertEqual(r.status, 200, (who, r))
        # the queue: a handler of 稽查处 does not see it, nor may ask for 法规处
        q = self.staff["hand_jc"].get("/api/v1/queue?state=all&limit=100").json()
        self.assertNotIn(t, [x["tracking"] for x in q["items"]])
        r = self.staff["hand_jc"].get("/api/v1/queue?section=" + "%E6%B3%95%E8%A7%84%E5%A4%84")
        self.assertEqual(r.status, 403, r)
        q = self.staff["hand_fg"].get("/api/v1/queue?state=all&limit=100").json()
        self.assertIn(t, [x["tracking"] for x in q["items"]])
        # every read audited, refusals too
        r = self.staff["admin_a"].get("/api/v1/audit?target=%s&limit=100" % t)
        rows = [(x["actor"], x["action"], x["ok"]) for x in r.json()["entries"]]
        self.assertIn(("hand_fg", "read_item", True), rows)
        self.assertIn(("hand_jc", "read_item", False), rows)
        self.assertIn(("hand_jc", "read_attachment", False), rows)


if __name__ == "__main__":
    harness.main()
