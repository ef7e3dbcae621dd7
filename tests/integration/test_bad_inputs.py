"""Bad inputs, one table: every row is a request that must be refused with a precise status and
error (or, for SQL and script text, stored and returned verbatim as data), against one daemon
with a fresh database and a small body limit. Each row is reported on its own (subTest).

Categories: malformed JSON, wrong types, missing fields, invalid UTF-8, oversized bodies,
SQL-injection and script strings, unknown tracking numbers, wrong query codes, illegal
transitions, wrong roles, unknown actions and routes, missing or wrong CSRF token, no session,
expired session, locked account. After the table: the stored data is intact, the service still
works, and the daemon stops cleanly with no sanitizer report.
"""
import json
import os
import sqlite3
import sys
import unittest
import uuid
from urllib.parse import quote

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

# the daemon runs in its own temporary folder: a relative binary path must not depend on it
harness.BIN = os.path.abspath(harness.BIN)

T0 = "2025-09-30T10:00"
T0_EPOCH = 1759197600      # T0 in Asia/Shanghai as Unix seconds
MAX_BODY = 32768           # CIVICDESK_MAX_BODY (config key max_body)
SESSION_IDLE = 1800        # default of session_idle in service/config.c
LOCKOUT_FAILURES = 5       # default of lockout_failures
PW = "Test-Passw0rd"

GOOD = {"kind": "letter", "subject": "路灯不亮", "body": "幸福路 12 号的路灯坏了三天。",
        "name": "张三", "phone": "13812345678", "email": "zhang@example.cn", "publish": True}

SQLI = "'; DROP TABLE items; --"
SQLI2 = "\" OR 1=1 --"
XSS = "<script>alert(1)</script>"
EVIL_1 = {"kind": "complaint", "subject": SQLI, "body": SQLI2 + "\n" + XSS,
          "name": "Robert'); DROP TABLE accounts;--", "email": "a@b.cn", "publish": False}
EVIL_2 = {"kind": "letter", "subject": XSS, "body": "<img src=x onerror=alert(1)> & \\ %s %n",
          "name": SQLI2, "phone": "13812345678", "publish": True}

TRACK_404 = {"error": {"code": "not_found",
                       "message": "no item matches this tracking number and query code"}}


def item(**kw):
    """GOOD with fields replaced; a value of ... removes the field."""
    d = dict(GOOD)
    for k, v in kw.items():
        if v is ...:
            d.pop(k, None)
        else:
            d[k] = v
    return d


def multipart(fields):
    """A multipart/form-data body of (name, bytes) fields: (body, content type)."""
    boundary = "----civicdesk" + uuid.uuid4().hex
    out = b"".join(("--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n" %
                    (boundary, k)).encode() + v + b"\r\n" for k, v in fields)
    return out + ("--%s--\r\n" % boundary).encode(), "multipart/form-data; boundary=" + boundary


MP_BAD_UTF8 = multipart([("kind", b"letter"), ("subject", b"\xff\xfe"),
                         ("body", b"b"), ("email", b"a@b.cn"), ("publish", b"true")])
FORM = "application/x-www-form-urlencoded"


def row(desc, method, path, status, code=None, field=None, body=None, ctype=None, who=None,
        csrf=True, headers=None, prep=None, check=None, after=None):
    """One bad input: the request, the expected status, error code and field (code "open311":
    a GeoReport error array [{"code","description"}] instead of {"error":{...}}).
    path and header values may name fixtures: {recv}, {recv_code}, {asg}, {rej}.
    who: the staff session to send (see Table.setUpClass), "bogus" or None.
    csrf: True sends the session's own token on a state-changing request, None none, "wrong" a
    made-up one, "other" the token of another session of the same account.
    prep / check / after: callables of (test) / (test, response) / (test), run before the
    request, to check more, and always after it."""
    return dict(desc=desc, method=method, path=path, status=status, code=code, field=field,
                body=body, ctype=ctype, who=who, csrf=csrf, headers=headers or {}, prep=prep,
                check=check, after=after)


# account, role, section
ACCOUNTS = [
    ("disp_u", "dispatcher", None), ("sup_u", "supervisor", None), ("admin_u", "admin", None),
    ("hand_u", "handler", "法规处"), ("head_u", "section_head", "法规处"),
    ("handjc_u", "handler", "稽查处"), ("locked_u", "handler", "法规处"),
    ("expire_u", "handler", "法规处"),
]

ITEMS = "/api/v1/items"
ACT = "/api/v1/items/{recv}/actions/"
ACT_ASG = "/api/v1/items/{asg}/actions/"
UNKNOWN = "XJ-20250930-99999"

TABLE = [
    # --- malformed JSON ----------------------------------------------------------------------
    row("truncated JSON", "POST", ITEMS, 400, "malformed_json", body=b'{"kind": "letter",'),
    row("JSON not an object", "POST", ITEMS, 400, "bad_request", body=b'["letter"]'),
    row("JSON a bare string", "POST", ITEMS, 400, "malformed_json", body=b'"letter"'),
    row("trailing garbage after the object", "POST", ITEMS, 400, "malformed_json",
        body=json.dumps(GOOD).encode() + b" xyz"),
    row("two objects", "POST", ITEMS, 400, "malformed_json",
        body=json.dumps(GOOD).encode() * 2),
    row("duplicate key", "POST", ITEMS, 400, "malformed_json",
        body=b'{"kind":"letter","kind":"complaint"}',
        check=lambda t, r: t.assertIn("given twice", r.json()["error"]["message"])),
    row("empty body", "POST", ITEMS, 400, "bad_request", body=b""),
    row("nesting beyond the parser's depth", "POST", ITEMS, 400, "malformed_json",
        body=b"[" * 3000 + b"]" * 3000),
    row("malformed JSON sent as a form", "POST", ITEMS, 400, "malformed_json",
        body=b'{"kind": "letter", ', ctype=FORM),
    row("malformed JSON to an action", "POST", ACT + "assign", 400, "malformed_json",
        body=b"{not json", who="disp"),
    row("action body an array", "POST", ACT + "assign", 400, "bad_request", body=b"[]",
        who="disp"),
    row("login: malformed JSON", "POST", "/api/v1/login", 400, "malformed_json",
        body=b'{"username":'),
    row("login: a form instead of JSON", "POST", "/api/v1/login", 400, "malformed_json",
        body=b"username=x&password=y", ctype=FORM),
    row("multipart without boundary", "POST", ITEMS, 400, "bad_request", body=b"x",
        ctype="multipart/form-data"),
    # --- wrong types -------------------------------------------------------------------------
    row("publish a string", "POST", ITEMS, 400, "invalid_field", "publish",
        body=item(publish="yes")),
    row("publish a number", "POST", ITEMS, 400, "invalid_field", "publish", body=item(publish=1)),
    row("subject a number", "POST", ITEMS, 400, "invalid_field", "subject", body=item(subject=42)),
    row("kind a number", "POST", ITEMS, 400, "invalid_field", "kind", body=item(kind=1)),
    row("body an object", "POST", ITEMS, 400, "invalid_field", "body", body=item(body={"x": 1})),
    row("name an array", "POST", ITEMS, 400, "invalid_field", "name", body=item(name=["张三"])),
    row("phone a number", "POST", ITEMS, 400, "invalid_field", "phone",
        body=item(phone=13812345678)),
    row("email a boolean", "POST", ITEMS, 400, "invalid_field", "email", body=item(email=True)),
    row("unknown kind", "POST", ITEMS, 400, "invalid_field", "kind", body=item(kind="petition")),
    row("attachments in JSON", "POST", ITEMS, 400, "invalid_field", "attachments",
        body=item(attachments=[{"filename": "a.txt"}])),
    # the members are checked in a fixed order (kind, subject, body, name, phone, email, channel,
    # received, publish, attachments), not in the body's: the first wrong one of that order is
    # named, wherever it stands
    row("email a boolean before kind a number", "POST", ITEMS, 400, "invalid_field", "kind",
        body=b'{"email":true,"publish":"yes","subject":"x","body":"y","kind":1}'),
    row("publish a string before subject a number", "POST", ITEMS, 400, "invalid_field",
        "subject", body=b'{"attachments":[],"publish":"yes","subject":7,"kind":"letter"}'),
    row("action: reason a number", "POST", ACT + "reject", 400, "invalid_field", "reason",
        body={"reason": 42}, who="disp"),
    row("action: section a list", "POST", ACT + "assign", 400, "invalid_field", "section",
        body={"section": ["法规处"]}, who="disp"),
    row("login: username a number", "POST", "/api/v1/login", 400, "invalid_field", "username",
        body={"username": 5, "password": PW}),
    # --- missing fields ----------------------------------------------------------------------
    row("missing kind", "POST", ITEMS, 400, "invalid_field", "kind", body=item(kind=...)),
    row("missing subject", "POST", ITEMS, 400, "invalid_field", "subject", body=item(subject=...)),
    row("blank subject", "POST", ITEMS, 400, "invalid_field", "subject", body=item(subject="  ")),
    row("missing body", "POST", ITEMS, 400, "invalid_field", "body", body=item(body=...)),
    row("missing publish", "POST", ITEMS, 400, "invalid_field", "publish", body=item(publish=...)),
    row("publish null", "POST", ITEMS, 400, "invalid_field", "publish", body=item(publish=None)),
    row("neither phone nor email", "POST", ITEMS, 400, "invalid_field", "phone",
        body=item(phone=..., email=...)),
    row("empty object", "POST", ITEMS, 400, "invalid_field", "kind", body={}),
    row("form without publish", "POST", ITEMS, 400, "invalid_field", "publish",
        body=b"kind=letter&subject=s&body=b&email=a%40b.cn", ctype=FORM),
    row("action: assign without section", "POST", ACT + "assign", 400, "invalid_field",
        "section", body={}, who="disp"),
    row("action: reject without reason", "POST", ACT + "reject", 400, "invalid_field", "reason",
        body={"reason": "   "}, who="disp"),
    row("action: assign to no such section", "POST", ACT + "assign", 400, "invalid_field",
        "section", body={"section": "不存在的处"}, who="disp"),
    row("login: missing password", "POST", "/api/v1/login", 400, "invalid_field", "password",
        body={"username": "disp_u"}),
    # --- invalid UTF-8 and bad characters ----------------------------------------------------
    row("invalid UTF-8 bytes in a JSON subject", "POST", ITEMS, 400, "invalid_utf8",
        body=b'{"kind":"letter","subject":"\xff\xfe","body":"b","email":"a@b.cn",'
             b'"publish":true}'),
    row("overlong UTF-8 encoding in JSON", "POST", ITEMS, 400, "invalid_utf8",
        body=b'{"kind":"letter","subject":"\xc0\xaf","body":"b","email":"a@b.cn",'
             b'"publish":true}'),
    row("UTF-8-encoded surrogate in JSON", "POST", ITEMS, 400, "invalid_utf8",
        body=b'{"kind":"letter","subject":"\xed\xa0\x80","body":"b","email":"a@b.cn",'
             b'"publish":true}'),
    row("character cut short in JSON", "POST", ITEMS, 400, "invalid_utf8",
        body=b'{"kind":"letter","subject":"\xe8\xb7","body":"b","email":"a@b.cn",'
             b'"publish":true}'),
    row("lone surrogate escape in JSON", "POST", ITEMS, 400, "malformed_json",
        body=b'{"kind":"letter","subject":"\\ud800","body":"b","email":"a@b.cn",'
             b'"publish":true}'),
    row("NUL escape in JSON", "POST", ITEMS, 400, "invalid_field", "subject",
        body=b'{"kind":"letter","subject":"a\\u0000b","body":"b","email":"a@b.cn",'
             b'"publish":true}',
        check=lambda t, r: t.assertIn("character \\u0000", r.json()["error"]["message"])),
    row("control character in subject", "POST", ITEMS, 400, "invalid_field", "subject",
        body=item(subject="a\u0007b")),
    row("C1 control character in subject", "POST", ITEMS, 400, "invalid_field", "subject",
        body=item(subject="a\u0085b")),
    row("raw invalid bytes in a urlencoded subject", "POST", ITEMS, 400, "invalid_field",
        "subject", body=b"kind=letter&subject=\xff\xfe&body=b&email=a%40b.cn&publish=true",
        ctype=FORM),
    row("percent-encoded invalid bytes in a form", "POST", ITEMS, 400, "invalid_field",
        "subject", body=b"kind=letter&subject=%FF%FE&body=b&email=a%40b.cn&publish=true",
        ctype=FORM),
    row("invalid bytes in a multipart subject", "POST", ITEMS, 400, "invalid_field", "subject",
        body=MP_BAD_UTF8[0], ctype=MP_BAD_UTF8[1]),
    row("invalid UTF-8 in a login name", "POST", "/api/v1/login", 400, "invalid_utf8",
        body=b'{"username":"\xff","password":"x"}'),
    row("invalid UTF-8 in the tracking number (staff)", "GET", "/api/v1/items/%FF%FE", 404,
        "not_found", who="disp"),
    row("invalid UTF-8 in the action name", "POST", "/api/v1/items/{recv}/actions/%FF", 404,
        "not_found", body={}, who="disp"),
    row("invalid UTF-8 in an unknown path", "GET", "/api/v1/n%FFo", 404, "not_found"),
    row("invalid UTF-8 in a path with the wrong method", "DELETE", "/api/v1/items/%FF", 405,
        "method_not_allowed"),
    row("long path of Chinese characters", "GET", "/api/v1/" + quote("字") * 400, 404,
        "not_found"),
    row("invalid UTF-8 in a public item number", "GET", "/api/v1/public/items/%FF", 404,
        "not_found"),
    row("invalid UTF-8 in an Open311 request number", "GET", "/open311/v2/requests/%FF.json",
        404, "open311"),
    row("invalid UTF-8 in an Open311 service code", "GET", "/open311/v2/services/%FF.json", 404,
        "open311"),
    # --- sizes -------------------------------------------------------------------------------
    row("oversized body", "POST", ITEMS, 413, "too_large",
        body=json.dumps(item(body="x" * MAX_BODY)).encode()),
    row("oversized form", "POST", ITEMS, 413, "too_large",
        body=b"kind=letter&body=" + b"x" * MAX_BODY, ctype=FORM),
    row("oversized login", "POST", "/api/v1/login", 413, "too_large",
        body=b'{"username":"' + b"x" * MAX_BODY + b'"}'),
    row("oversized action body (before the session is checked)", "POST", ACT + "reject", 413,
        "too_large", body=b'{"reason":"' + b"x" * MAX_BODY + b'"}', who="disp"),
    row("overlong subject (201 characters)", "POST", ITEMS, 400, "invalid_field", "subject",
        body=item(subject="长" * 201)),
    row("overlong body (20001 characters)", "POST", ITEMS, 400, "invalid_field", "body",
        body=item(body="x" * 20001)),
    row("overlong name (101 characters)", "POST", ITEMS, 400, "invalid_field", "name",
        body=item(name="名" * 101)),
    row("overlong phone", "POST", ITEMS, 400, "invalid_field", "phone",
        body=item(phone="1" * 40)),
    row("overlong action reason (2001 characters)", "POST", ACT + "reject", 400,
        "invalid_field", "reason", body={"reason": "理" * 2001}, who="disp"),
    row("overlong queue search", "GET", "/api/v1/queue?q=" + "x" * 101, 400, "invalid_field",
        "q", who="disp"),
    # --- SQL and script text: data, stored and returned verbatim -----------------------------
    row("SQL injection strings stored verbatim", "POST", ITEMS, 201, body=EVIL_1,
        check=lambda t, r: t.verbatim(r, EVIL_1)),
    row("script strings stored verbatim", "POST", ITEMS, 201, body=EVIL_2,
        check=lambda t, r: t.verbatim(r, EVIL_2)),
    row("SQL injection as a form", "POST", ITEMS, 201,
        body=("kind=letter&subject=" + quote(SQLI) + "&body=" + quote(SQLI2) +
              "&email=a%40b.cn&publish=false").encode(), ctype=FORM,
        check=lambda t, r: t.verbatim(r, {"subject": SQLI, "body": SQLI2})),
    row("SQL injection in the queue search", "GET", "/api/v1/queue?q=" + quote("' OR '1'='1"),
        200, who="disp", check=lambda t, r: t.assertEqual(r.json()["items"], [])),
    row("SQL injection in a queue filter", "GET", "/api/v1/queue?kind=" + quote(SQLI), 400,
        "invalid_field", "kind", who="disp"),
    row("SQL injection as an account name", "POST", "/api/v1/login", 401, "login_failed",
        body={"username": "x' OR '1'='1", "password": "' OR ''='"}),
    # --- unknown tracking numbers and wrong query codes: one and the same 404 ----------------
    row("track: wrong query code", "GET", "/api/v1/track/{recv}", 404, "not_found",
        headers={"X-Query-Code": "AAAAAAAAAAAA"}, check=lambda t, r: t.same_404(r)),
    row("track: another item's query code", "GET", "/api/v1/track/{asg}", 404, "not_found",
        headers={"X-Query-Code": "{recv_code}"}, check=lambda t, r: t.same_404(r)),
    row("track: no query code", "GET", "/api/v1/track/{recv}", 404, "not_found",
        check=lambda t, r: t.same_404(r)),
    row("track: unknown well-formed number", "GET", "/api/v1/track/" + UNKNOWN, 404, "not_found",
        headers={"X-Query-Code": "{recv_code}"}, check=lambda t, r: t.same_404(r)),
    row("track: malformed number", "GET", "/api/v1/track/" + quote(SQLI, safe=""), 404,
        "not_found", headers={"X-Query-Code": "{recv_code}"}, check=lambda t, r: t.same_404(r)),
    row("track: overlong query code", "GET", "/api/v1/track/{recv}", 404, "not_found",
        headers={"X-Query-Code": "A" * 2000}, check=lambda t, r: t.same_404(r)),
    row("staff: unknown item", "GET", "/api/v1/items/" + UNKNOWN, 404, "not_found", who="disp"),
    row("staff: malformed item number", "GET", "/api/v1/items/" + quote(SQLI, safe=""), 404,
        "not_found", who="disp"),
    row("staff: attachment of an unknown item", "GET", "/api/v1/items/%s/attachments/1" % UNKNOWN,
        404, "not_found", who="disp"),
    row("action on an unknown item", "POST", "/api/v1/items/%s/actions/assign" % UNKNOWN, 404,
        "not_found", body={"section": "法规处"}, who="disp"),
    row("merge into an unknown item", "POST", ACT + "merge", 400, "invalid_field", "target",
        body={"target": UNKNOWN}, who="disp"),
    # --- illegal transitions -----------------------------------------------------------------
    row("approve an assigned item (not in review)", "POST", ACT_ASG + "approve", 409,
        "illegal_transition", body={}, who="head",
        check=lambda t, r: t.allowed(r, "assigned",
                                     ["assign", "accept", "forward", "reject", "merge",
                                      "send_back"])),
    row("draft an assigned item before accepting it", "POST", ACT_ASG + "draft", 409,
        "illegal_transition", body={"text": "x"}, who="hand",
        check=lambda t, r: t.allowed(r, "assigned", ["accept", "forward", "reject", "merge",
                                                     "send_back"])),
    row("forward a received item", "POST", ACT + "forward", 409, "illegal_transition",
        body={"section": "稽查处", "reason": "x"}, who="disp",
        check=lambda t, r: t.allowed(r, "received", ["assign", "reject", "merge"])),
    row("approve an extension nobody asked for", "POST", ACT_ASG + "approve_extension", 409,
        "illegal_transition", body={}, who="sup",
        check=lambda t, r: t.allowed(r, "assigned", ["assign"])),
    row("assign a rejected item", "POST", "/api/v1/items/{rej}/actions/assign", 409,
        "illegal_transition", body={"section": "法规处"}, who="disp",
        check=lambda t, r: t.allowed(r, "rejected", [])),
    # --- wrong roles -------------------------------------------------------------------------
    row("handler tries assign", "POST", ACT + "assign", 403, "forbidden",
        body={"section": "法规处"}, who="hand"),
    row("dispatcher tries approve_extension", "POST", ACT_ASG + "approve_extension", 403,
        "forbidden", body={}, who="disp"),
    row("admin tries assign", "POST", ACT + "assign", 403, "forbidden",
        body={"section": "法规处"}, who="admin"),
    row("section head approves an item of no section", "POST", ACT + "approve", 403,
        "forbidden", body={}, who="head"),
    row("handler of another section accepts", "POST", ACT_ASG + "accept", 403, "forbidden",
        body={}, who="hand_jc"),
    row("handler reads the audit log", "GET", "/api/v1/audit", 403, "forbidden", who="hand"),
    row("handler edits the public version", "PATCH", "/api/v1/items/{asg}/public", 403,
        "forbidden", body={"subject": "x"}, who="hand"),
    row("citizen sets a staff-only channel", "POST", ITEMS, 401, "unauthenticated",
        body=item(channel="post")),
    # --- unknown actions, routes and methods -------------------------------------------------
    row("unknown action name", "POST", ACT + "delete", 404, "not_found", body={}, who="disp"),
    row("unknown action on an unknown item", "POST", "/api/v1/items/%s/actions/delete" % UNKNOWN,
        404, "not_found", body={}, who="disp"),
    row("unknown route", "GET", "/api/v1/nothing", 404, "not_found"),
    row("wrong method on items", "PUT", ITEMS, 405, "method_not_allowed", body=item()),
    row("wrong method on an item", "DELETE", "/api/v1/items/{recv}", 405, "method_not_allowed",
        who="disp"),
    # --- CSRF --------------------------------------------------------------------------------
    row("action without CSRF token", "POST", ACT + "assign", 403, "csrf",
        body={"section": "法规处"}, who="disp", csrf=None),
    row("action with a wrong CSRF token", "POST", ACT + "assign", 403, "csrf",
        body={"section": "法规处"}, who="disp", csrf="wrong"),
    row("action with another session's CSRF token", "POST", ACT + "assign", 403, "csrf",
        body={"section": "法规处"}, who="disp", csrf="other"),
    row("public edit without CSRF token", "PATCH", "/api/v1/items/{asg}/public", 403, "csrf",
        body={"subject": "x"}, who="head", csrf=None),
    row("password change without CSRF token", "POST", "/api/v1/password", 403, "csrf",
        body={"old_password": PW, "new_password": "Other-Passw0rd1"}, who="hand", csrf=None),
    row("logout without CSRF token", "POST", "/api/v1/logout", 403, "csrf", body={},
        who="disp", csrf=None),
    # --- sessions ----------------------------------------------------------------------------
    row("action without a session", "POST", ACT + "assign", 401, "unauthenticated",
        body={"section": "法规处"}),
    row("staff item view without a session", "GET", "/api/v1/items/{recv}", 401,
        "unauthenticated"),
    row("queue without a session", "GET", "/api/v1/queue", 401, "unauthenticated"),
    row("made-up session cookie", "POST", ACT + "assign", 401, "unauthenticated",
        body={"section": "法规处"}, who="bogus"),
    row("expired session (idle past session_idle)", "GET", "/api/v1/me", 401, "unauthenticated",
        who="expired", prep=lambda t: t.expire_session(), after=lambda t: t.set_clock(T0)),
    row("expired session cannot act either", "POST", ACT + "assign", 401, "unauthenticated",
        body={"section": "法规处"}, who="expired", prep=lambda t: t.expire_session(),
        after=lambda t: t.set_clock(T0)),
    # --- login failures and the lockout --------------------------------------------------------
    row("wrong password", "POST", "/api/v1/login", 401, "login_failed",
        body={"username": "disp_u", "password": "Wrong-Passw0rd"},
        check=lambda t, r: t.same_login_failure(r)),
    row("unknown account", "POST", "/api/v1/login", 401, "login_failed",
        body={"username": "nobody_u", "password": PW},
        check=lambda t, r: t.same_login_failure(r)),
    row("locked account with the right password", "POST", "/api/v1/login", 401, "login_failed",
        body={"username": "locked_u", "password": PW}, prep=lambda t: t.lock("locked_u"),
        check=lambda t, r: t.same_login_failure(r)),
]


class Table(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = harness.Server(env={"CIVICDESK_SUBMIT_RATE": "0", "CIVICDESK_TEST_NOW": T0,
                                      "CIVICDESK_MAX_BODY": str(MAX_BODY)}).start()
        srv = cls.srv
        srv.clock = T0
        for name, role, section in ACCOUNTS:
            srv.add_user(name, role, section, password=PW)
        cls.sessions = {who: srv.login(name, PW) for who, name in (
            ("disp", "disp_u"), ("disp2", "disp_u"), ("sup", "sup_u"), ("hand", "hand_u"),
            ("head", "head_u"), ("hand_jc", "handjc_u"), ("admin", "admin_u"))}
        disp = cls.sessions["disp"]

        def submit():
            r = srv.request("POST", ITEMS, json_body=GOOD)
            assert r.status == 201, r
            return r.json()

        recv, asg, rej = submit(), submit(), submit()
        for t, action, body in ((asg, "assign", {"section": "法规处"}),
                                (rej, "reject", {"reason": "不属于本局职责"})):
            r = disp.request("POST", "/api/v1/items/%s/actions/%s" % (t["tracking"], action),
                             json_body=body)
            assert r.status == 200, r
        cls.fx = {"recv": recv["tracking"], "recv_code": recv["query_code"],
                  "asg": asg["tracking"], "rej": rej["tracking"]}
        cls.fixtures = {"recv": ("received", 1), "asg": ("assigned", 2), "rej": ("rejected", 2)}
        cls.created = [recv["tracking"], asg["tracking"], rej["tracking"]]
        cls.first_404 = None
        cls.first_login_failure = None

    @classmethod
    def tearDownClass(cls):
        cls.srv.cleanup()

    # --- helpers of the rows ----------------------------------------------------------------

    def set_clock(self, when):
        self.srv.set_clock(when)

    def expire_session(self):
        s = self.srv.login("expire_u", PW)
        self.assertEqual(s.request("GET", "/api/v1/me").status, 200)
        self.sessions["expired"] = s
        self.srv.set_clock(T0_EPOCH + SESSION_IDLE + 1)

    def lock(self, name):
        for _ in range(LOCKOUT_FAILURES):
            r = self.srv.request("POST", "/api/v1/login",
                                 json_body={"username": name, "password": "Wrong-Passw0rd"})
            self.assertEqual(r.status, 401, r)

    def verbatim(self, r, sent):
        """The item just created holds the sent text byte for byte: staff view, tracking view
        and the database row."""
        made = r.json()
        self.created.append(made["tracking"])
        it = self.sessions["disp"].request("GET", "/api/v1/items/" + made["tracking"])
        self.assertEqual(it.status, 200, it)
        it = it.json()
        for k in ("subject", "body", "name"):
            if k in sent:
                self.assertEqual(it[k], sent[k], k)
        tr = self.srv.request("GET", "/api/v1/track/" + made["tracking"],
                              headers={"X-Query-Code": made["query_code"]})
        self.assertEqual(tr.status, 200, tr)
        self.assertEqual(tr.json()["subject"], sent["subject"])
        with sqlite3.connect(self.srv.db) as db:
            stored = db.execute("SELECT subject, body FROM items WHERE tracking = ?",
                                (made["tracking"],)).fetchone()
        self.assertEqual(stored, (sent["subject"], sent["body"]))

    def same_404(self, r):
        self.assertEqual(r.json(), TRACK_404)
        if self.first_404 is None:
            type(self).first_404 = r.body
        self.assertEqual(r.body, self.first_404)

    def same_login_failure(self, r):
        self.assertIsNone(r.header("Set-Cookie"))
        if self.first_login_failure is None:
            type(self).first_login_failure = r.body
        self.assertEqual(r.body, self.first_login_failure)

    def allowed(self, r, state, actions):
        err = r.json()["error"]
        self.assertEqual(err["state"], state)
        self.assertEqual(err["allowed"], actions)

    # --- the table --------------------------------------------------------------------------

    def send(self, row):
        headers = {k: v.format(**self.fx) for k, v in row["headers"].items()}
        body = row["body"]
        if isinstance(body, dict):
            body = json.dumps(body).encode("utf-8")
        if body is not None:
            headers["Content-Type"] = row["ctype"] or "application/json"
        who = row["who"]
        if who == "bogus":
            headers["Cookie"] = "civicdesk_session=" + "A" * 43
        elif who is not None:
            s = self.sessions[who]
            headers["Cookie"] = s.cookie
            if row["method"] not in ("GET", "HEAD"):
                token = {True: s.csrf_token, None: None, "wrong": "x" * len(s.csrf_token),
                         "other": self.sessions["disp2"].csrf_token}[row["csrf"]]
                if token is not None:
                    headers["X-CSRF-Token"] = token
        try:
            return self.srv.request(row["method"], row["path"].format(**self.fx), body=body,
                                    headers=headers)
        except (BrokenPipeError, ConnectionResetError) as e:
            self.fail("connection dropped instead of an answer: %r" % e)

    def check_row(self, row):
        if row["prep"]:
            row["prep"](self)
        r = self.send(row)
        self.assertEqual(r.status, row["status"], r)
        self.assertTrue((r.header("Content-Type") or "").startswith("application/json"), r)
        if row["code"] == "open311":  # GeoReport errors: [{"code","description"}]
            err = r.json()[0]
            self.assertEqual(err["code"], row["status"], r)
            self.assertTrue(err["description"], r)
        elif row["status"] >= 400:
            err = r.json()["error"]
            self.assertEqual(err["code"], row["code"], r)
            self.assertTrue(err["message"], r)
            self.assertEqual(err.get("field"), row["field"], r)
        if row["check"]:
            row["check"](self, r)

    def test_bad_inputs(self):
        for i, row in enumerate(TABLE):
            with self.subTest("%02d %s" % (i, row["desc"])):
                try:
                    self.check_row(row)
                finally:
                    if row["after"]:
                        row["after"](self)
        self.data_intact()

    # --- after the table --------------------------------------------------------------------

    def data_intact(self):
        disp = self.sessions["disp"]
        # the fixtures are as they were: refused requests changed nothing
        for key, (state, nhist) in self.fixtures.items():
            it = disp.request("GET", "/api/v1/items/" + self.fx[key]).json()
            self.assertEqual(it["state"], state, key)
            self.assertEqual(len(it["history"]), nhist, key)
        # every table is there and only accepted items were stored
        with sqlite3.connect(self.srv.db) as db:
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = "
                                               "'table'")}
            self.assertTrue({"items", "accounts", "history"} <= tables, tables)
            stored = [r[0] for r in db.execute("SELECT tracking FROM items ORDER BY id")]
            self.assertEqual(db.execute("PRAGMA integrity_check").fetchone()[0], "ok")
        self.assertEqual(stored, self.created)
        q = disp.request("GET", "/api/v1/queue?state=all&limit=100")
        self.assertEqual(q.status, 200, q)
        self.assertEqual(sorted(x["tracking"] for x in q.json()["items"]), sorted(self.created))
        # and the service still works: a new item, numbered next, and an action on it
        r = self.srv.request("POST", ITEMS, json_body=GOOD)
        self.assertEqual(r.status, 201, r)
        t = r.json()["tracking"]
        self.assertEqual(int(t[-5:]), int(self.created[-1][-5:]) + 1)
        r = disp.request("POST", "/api/v1/items/%s/actions/assign" % t,
                         json_body={"section": "法规处"})
        self.assertEqual((r.status, r.json()["state"]), (200, "assigned"))
        self.assertEqual(self.srv.login("hand_u", PW).info["role"], "handler")
        # the daemon stops cleanly, with no sanitizer report
        self.srv.stop()
        self.assertEqual(self.srv.exit_code, 0, self.srv.output[-3000:])
        for sign in ("AddressSanitizer", "LeakSanitizer", "runtime error", "internal error"):
            self.assertNotIn(sign, self.srv.output)


if __name__ == "__main__":
    harness.main()
