"""Open311 GeoReport v2 in XML (the format the specification requires) and the service discovery
document: every XML answer says what the JSON answer of the same request says, element for
member, so the one privacy rule holds in both; XML escaping holds for what citizens wrote. The
real daemon over HTTP, the XML read back with Python's parser."""
import http.client
import json
import os
import sys
import unittest
import xml.etree.ElementTree as ET
from urllib.parse import urlencode

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from test_workflow import Base  # noqa: E402

ENTRY = {"services": "service", "service_requests": "request", "attributes": "attribute",
         "values": "value", "errors": "error", "endpoints": "endpoint", "formats": "format"}


def same(test, elem, value, where):
    """Asserts that XML element elem says what the JSON value says."""
    if isinstance(value, dict):
        test.assertEqual([c.tag for c in elem], list(value), where)
        for c in elem:
            same(test, c, value[c.tag], where + "/" + c.tag)
    elif isinstance(value, list):
        test.assertEqual([c.tag for c in elem], [ENTRY[elem.tag]] * len(value), where)
        for i, (c, v) in enumerate(zip(elem, value)):
            same(test, c, v, "%s[%d]" % (where, i))
    else:
        test.assertEqual(len(elem), 0, where)
        if value is None:
            test.assertIsNone(elem.text, where)
        else:
            want = "true" if value is True else "false" if value is False else str(value)
            test.assertEqual(elem.text or "", want, where)


class Xml(Base):
    ENV = {"CIVICDESK_PUBLIC_URL": "https://hudong.example.gov.cn/"}

    def get_both(self, path):
        """The JSON and the XML answer of one request, with their statuses."""
        j = self.server.request("GET", path + ".json")
        x = self.server.request("GET", path + ".xml")
        return j, x

    def check_same(self, path, root):
        j, x = self.get_both(path)
        self.assertEqual(j.status, x.status, (path, j, x))
        self.assertEqual(x.header("Content-Type"), "text/xml; charset=utf-8", path)
        self.assertTrue(x.body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>'), x)
        doc = ET.fromstring(x.body)
        self.assertEqual(doc.tag, root if j.status < 400 else "errors", path)
        want = j.json()
        if j.status >= 400:  # the message quotes the path asked for
            for e in want:
                e["description"] = e["description"].replace(".json", ".xml")
        same(self, doc, want, path)
        return j, x, doc

    def test_discovery(self):
        j = self.server.request("GET", "/open311/discovery.json")
        self.assertEqual(j.status, 200, j)
        ep = j.json()["endpoints"]
        self.assertEqual(len(ep), 1)
        self.assertEqual(ep[0]["specification"], "http://wiki.open311.org/GeoReport_v2")
        self.assertEqual(ep[0]["url"], "https://hudong.example.gov.cn/open311/v2")
        self.assertEqual(ep[0]["formats"], ["text/xml", "application/json"])
        x = self.server.request("GET", "/open311/discovery.xml")
        same(self, ET.fromstring(x.body), j.json(), "discovery")

    def test_services(self):
        _, _, doc = self.check_same("/open311/v2/services", "services")
        self.assertEqual([s.findtext("service_code") for s in doc],
                         ["letter", "complaint", "consultation"])
        _, _, doc = self.check_same("/open311/v2/services/complaint", "service_definition")
        self.assertEqual(doc.findtext("attributes/attribute/code"), "publish")
        self.check_same("/open311/v2/services/nothing", "errors")

    def test_one_rule_in_both_formats(self):
        self.clock("2025-09-30T10:00")
        hidden = self.submit(kind="complaint", publish=False, subject="不公开的举报",
                             body="举报内容，身份证110101199003071234")["tracking"]
        waiting = self.submit(kind="complaint", subject="同意公开", body="尚未审核")["tracking"]
        shown = self.submit(kind="letter", subject="公开 <b>&amp; \"引号\"",
                            body="路灯 <script>alert(1)</script> & 电话13812345678")["tracking"]
        self.to_replied(shown)
        self.publish(shown)
        # no consent: 404 in both, never listed
        _, x, doc = self.check_same("/open311/v2/requests/" + hidden, "errors")
        self.assertEqual(x.status, 404)
        self.assertEqual(doc.findtext("error/code"), "404")
        # consent, not published: the withheld fields are empty elements
        _, x, doc = self.check_same("/open311/v2/requests/" + waiting, "service_requests")
        for k in ("description", "title", "agency_responsible"):
            el = doc.find("request/" + k)
            self.assertIsNotNone(el, k)
            self.assertIsNone(el.text, k)
        self.assertNotIn("尚未审核".encode(), x.body)
        # published: the masked version, escaped, read back whole
        j, x, doc = self.check_same("/open311/v2/requests/" + shown, "service_requests")
        self.assertIn("<script>", doc.findtext("request/description"))
        self.assertNotIn(b"<script>", x.body)
        for secret in ("13812345678", "张三", "110101199003071234"):
            self.assertNotIn(secret.encode(), x.body)
        # the list and its filters
        for q in ("", "?service_code=complaint,letter", "?status=open",
                  "?service_request_id=%s,%s,%s" % (hidden, waiting, shown)):
            jj = self.server.request("GET", "/open311/v2/requests.json" + q)
            xx = self.server.request("GET", "/open311/v2/requests.xml" + q)
            self.assertEqual((jj.status, xx.status), (200, 200), q)
            doc = ET.fromstring(xx.body)
            same(self, doc, jj.json(), q)
            ids = [r.findtext("service_request_id") for r in doc]
            self.assertNotIn(hidden, ids, q)
            self.assertIn(waiting, ids, q)
        r = self.server.request("GET", "/open311/v2/requests.xml?start_date=bogus")
        self.assertEqual(r.status, 400, r)
        self.assertEqual(ET.fromstring(r.body).findtext("error/code"), "400")

    def test_post(self):
        self.clock("2025-09-30T10:00")
        body = urlencode({"service_code": "consultation", "description": "XML 客户端 <提问> & 回答",
                          "email": "xml@example.cn", "attribute[publish]": "false"}).encode()
        r = self.server.request("POST", "/open311/v2/requests.xml", body=body,
                                headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.header("Content-Type"), "text/xml; charset=utf-8")
        doc = ET.fromstring(r.body)
        self.assertEqual(doc.tag, "service_requests")
        t = doc.findtext("request/service_request_id")
        self.assertRegex(t, r"^XJ-\d{8}-\d{5}$")
        it = self.staff["disp_a"].get("/api/v1/items/" + t).json()
        self.assertEqual(it["body"], "XML 客户端 <提问> & 回答")
        r = self.server.request("POST", "/open311/v2/requests.xml", body=b"service_code=nope",
                                headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(r.status, 400, r)
        self.assertEqual(ET.fromstring(r.body).tag, "errors")

    def test_layer_errors(self):
        """The errors the HTTP layer answers itself, before any handler runs (405, 413, a form
        with too many fields, no such resource), are GeoReport XML on the .xml paths and stay
        GeoReport JSON on the .json paths, with their status and headers."""
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        many = urlencode({"f%d" % i: "x" for i in range(100)}).encode()
        cases = [
            ("DELETE", "/open311/v2/requests", None, {}, 405),
            ("PUT", "/open311/v2/services", b"", {}, 405),
            ("POST", "/open311/v2/requests", many, form, 400),
            ("GET", "/open311/v2/nothing", None, {}, 404),
            ("GET", "/open311/v2/requests/a/b", None, {}, 404),
        ]
        for method, path, body, headers, status in cases:
            for ext in (".json", ".xml"):
                with self.subTest(method=method, path=path + ext):
                    r = self.server.request(method, path + ext, body=body, headers=headers)
                    self.assertEqual(r.status, status, r)
                    if status == 405:
                        self.assertIn(method == "PUT" and "GET" or "POST", r.header("Allow"))
                    if ext == ".json":
                        self.assertEqual(r.json()[0]["code"], status, r)
                        continue
                    self.assertEqual(r.header("Content-Type"), "text/xml; charset=utf-8", r)
                    doc = ET.fromstring(r.body)
                    self.assertEqual(doc.tag, "errors", r)
                    self.assertEqual([e.tag for e in doc], ["error"], r)
                    self.assertEqual(doc.findtext("error/code"), str(status), r)
                    self.assertTrue(doc.findtext("error/description"), r)
        # too large: refused from its Content-Length, before the body is sent
        for ext in (".json", ".xml"):
            with self.subTest(too_large=ext):
                conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=30)
                try:
                    conn.putrequest("POST", "/open311/v2/requests" + ext)
                    conn.putheader("Content-Type", "application/x-www-form-urlencoded")
                    conn.putheader("Content-Length", str(1 << 40))
                    conn.putheader("Expect", "100-continue")
                    conn.endheaders()
                    r = conn.getresponse()
                    status, ctype, body = r.status, r.getheader("Content-Type"), r.read()
                finally:
                    conn.close()
                self.assertEqual(status, 413, body)
                if ext == ".json":
                    self.assertEqual(json.loads(body)[0]["code"], 413, body)
                else:
                    self.assertEqual(ctype, "text/xml; charset=utf-8", body)
                    self.assertEqual(ET.fromstring(body).findtext("error/code"), "413", body)
        # the rest of the API keeps its JSON errors
        r = self.server.request("DELETE", "/api/v1/items")
        self.assertEqual(r.status, 405, r)
        self.assertEqual(r.json()["error"]["code"], "method_not_allowed", r)


if __name__ == "__main__":
    harness.main()
