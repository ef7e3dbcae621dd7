"""The staff queue's text search q as staff type it, over HTTP: the JSON API and the page.

Blanks of every kind at the ends are trimmed; several words must each occur in the subject or
the body (in any order, in either text); case is folded beyond ASCII (accented Latin, Greek,
Cyrillic, full-width Latin as ASCII); a quoted "phrase" stays one word; a blank q is no filter;
over 100 characters is a 400 naming q. The daemon runs with the test clock; accounts and helpers
are those of test_workflow.py.
"""
import os
import re
import sys
import unittest
from urllib.parse import urlencode

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from test_workflow import Base, set_clock  # noqa: E402

# name: (subject, body)
ITEMS = {
    "lamp_xingfu": ("幸福路路灯不亮", "晚上很黑，请尽快修理。"),
    "street_en": ("Street light broken", "学院路 the lamp is off"),
    "street_fw": ("ＳＴＲＥＥＴ　ＬＩＧＨＴ", "幸福路"),
    "accents": ("Crème brûlée", "ΑΘΗΝΑ МОСКВА"),
    "lamp": ("路灯", "学院路"),
    "split": ("light", "street"),
}


class QueueSearch(Base):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        set_clock(cls.server, "2025-09-30T10:00")
        cls.tracking = {}
        for name, (subject, body) in ITEMS.items():
            r = cls.server.request("POST", "/api/v1/items", json_body={
                "kind": "letter", "subject": subject, "body": body, "name": "张三",
                "phone": "13812345678", "publish": False})
            if r.status != 201:
                raise RuntimeError("submit: %r" % r)
            cls.tracking[name] = r.json()["tracking"]
        cls.names = {t: n for n, t in cls.tracking.items()}

    @classmethod
    def tearDownClass(cls):
        """The daemon stops cleanly, without a sanitizer's report (the search's C code ran)."""
        cls.server.cleanup_clean()

    def api(self, q, who="disp_a"):
        params = {"state": "all", "limit": 100}
        if q is not None:
            params["q"] = q
        r = self.staff[who].get("/api/v1/queue?" + urlencode(params))
        self.assertEqual(r.status, 200, (q, r))
        return sorted(self.names[x["tracking"]] for x in r.json()["items"])

    def page(self, q, who="disp_a"):
        r = self.staff[who].get("/staff/?" + urlencode({"state": "all", "q": q}))
        self.assertEqual(r.status, 200, (q, r))
        shown = re.findall(r'href="/staff/item/([^"]+)"', r.body.decode())
        return sorted(self.names[t] for t in set(shown) if t in self.names)

    def both(self, q, want):
        """The API and the page find the same items, those named in want."""
        self.assertEqual(self.api(q), sorted(want), "API, q=%r" % q)
        self.assertEqual(self.page(q), sorted(want), "page, q=%r" % q)

    def test_every_word(self):
        # two words: each in the subject or the body; not as one phrase
        self.both("路灯 幸福路", ["lamp_xingfu"])
        self.both("幸福路 路灯", ["lamp_xingfu"])
        self.both("路灯\u3000幸福路", ["lamp_xingfu"])  # the ideographic space between
        self.both("幸福路 light", ["street_fw"])  # one word in the body, one in the subject
        self.both("路灯 不存在", [])
        self.both("路灯", ["lamp", "lamp_xingfu"])

    def test_blanks_at_the_ends(self):
        self.both(" Street light ", ["split", "street_en", "street_fw"])
        self.both("\u3000路灯\u3000", ["lamp", "lamp_xingfu"])
        self.both("\t路灯\t幸福路\t", ["lamp_xingfu"])

    def test_case_folded(self):
        self.both("STREET", ["split", "street_en", "street_fw"])  # full-width as ASCII
        self.both("ｓｔｒｅｅｔ ｌａｍｐ", ["street_en"])
        self.both("CRÈME BRÛLÉE", ["accents"])
        self.both("αθηνα москва", ["accents"])
        self.both("creme", [])  # an accent is not folded away

    def test_phrase(self):
        self.both('"street light"', ["street_en", "street_fw"])  # any blank in the item
        self.both('"light street"', [])  # "split" holds both words, not the phrase
        self.both("\u201c路灯不亮\u201d", ["lamp_xingfu"])  # the quotes of a Chinese keyboard
        self.both('"学院路 the lamp" broken', ["street_en"])

    def test_blank_is_no_filter(self):
        everything = sorted(ITEMS)
        self.assertEqual(self.api(None), everything)
        for q in ("", "   ", "\u3000", "\t", '""'):
            self.assertEqual(self.api(q), everything, repr(q))
        self.assertEqual(self.page("\u3000 "), everything)

    def test_scope_kept(self):
        # a handler searches their own section's items only (none of these is assigned yet)
        self.assertEqual(self.api("路灯", who="hand_fg"), [])

    def test_too_long(self):
        r = self.staff["disp_a"].get("/api/v1/queue?" + urlencode({"q": "路" * 101}))
        self.assertEqual(r.status, 400, r)
        err = r.json()["error"]
        self.assertEqual((err["code"], err["field"]), ("invalid_field", "q"))
        self.assertIn("100 characters", err["message"])
        self.assertEqual(self.api("路灯" + " " * 10 + "x" * 88), [])  # 100 characters: fine
        for lang, words in (("en", "at most 100 characters"), ("zh-Hans", "最多 100 个字")):
            r = self.staff["disp_a"].get("/staff/?" + urlencode({"q": "路" * 101,
                                                                  "lang": lang}))
            self.assertEqual(r.status, 400, r)
            self.assertIn(words, r.body.decode(), lang)
        # not text
        r = self.staff["disp_a"].get("/api/v1/queue?q=%FF")
        self.assertEqual(r.status, 400, r)
        self.assertEqual(r.json()["error"]["field"], "q")

    def test_page_keeps_what_was_typed(self):
        r = self.staff["disp_a"].get("/staff/?" + urlencode({"q": " Street light "}))
        self.assertEqual(r.status, 200, r)
        body = r.body.decode()
        self.assertIn('value=" Street light "', body)
        self.assertIn('aria-describedby="q-hint"', body)


if __name__ == "__main__":
    harness.main()
