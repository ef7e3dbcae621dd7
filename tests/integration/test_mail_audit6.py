"""The sixth mail-in audit: real-world messages that mail-in read wrongly, each piped to
`civicdesk ingest-mail` and, the same message, polled from a real Dovecot, and the item checked
through the staff API. Each case failed before its fix:
- nul: a text/plain part with a NUL byte (0x00) kept only the text before it (the C string
  ended there), and so did a raw Subject; now the NUL is a space and the text after it is kept
  (polled, Dovecot sends a NUL as 0x80, which made the UTF-8 text Latin-1 mojibake);
- empty: a text/plain part of zero bytes (its content a NULL pointer in GMime's empty array:
  run under ASan+UBSan, CIVICDESK_BIN=build/asan/civicdesk, as tests/run does), alone and beside
  HTML that has the text;
- long-name: a file name over 255 bytes (RFC 2231 continuations, encoded words split inside a
  character) lost its extension (cut at 255 bytes); now it is cut before the extension on a
  character boundary (core's attach_name_fit) and keeps it; the web form (the /submit page) and
  the JSON API refused such a name (400 "an attachment's file name is missing, too long or not
  UTF-8", a Windows user's 100 Chinese characters) and now fit it by the same helper (WebNames);
- hkscs: Big5-HKSCS (charset="big5-hkscs", Hong Kong) was read for its text parts and encoded
  words, but a raw 8-bit Subject, sender's name or file name in such a letter was read with the
  Big5 table (its HKSCS characters 嘅 㗎 𡃁 garbled), and text or a Subject's word under a plain
  Big5 label holding HKSCS characters (Outlook on Windows with the HKSCS update) lost them;
- labels: "x-unknown" (GMime read it as the process's locale: GBK text became UTF-8 or Latin-1
  mojibake) and the other labels that name no charset are read as unlabelled text is (UTF-8,
  else GB18030, else Latin-1), in the text, the HTML and the Subject's words; ks_c_5601-1987 and
  euc-kr (Outlook's and Korean webmail's labels for Unified Hangul Code) lost the syllables
  outside KS X 1001 (똠, 햏); "utf8" and gb2312 on GBK characters were right and are kept so;
  GBK under a Latin-1 label (iso-8859-1, windows-1252: a GBK page's form through a Latin-1
  mailer) was Latin-1 mojibake, and is GBK when GB18030 reads it whole with two Han characters
  in a row (Western text stays Latin-1);
- locale: a file name in RFC 2231 form whose charset iconv does not know was read in the
  process's locale (Latin-1 mojibake under LANG=C, as an MTA's pipe and a systemd unit run; a
  replacement character, so attachment-N, under UTF-8); it is unreadable (attachment-N) in every
  locale. The poller here runs under LC_ALL=C. One under a Big5 label holding HKSCS characters
  was unreadable, and a %00 in one ended it there (its extension lost): both read now;
- winmail: Outlook's winmail.dat (TNEF) was left out as "not a type accepted for attachments",
  in the item and in the citizen's acknowledgement; now both say it is Outlook's rich-text
  package whose files cannot be read here, and how to send them so that they can be;
- split: a Subject split inside a character between a B word and a Q word of one charset lost
  that character (GBK after it misaligned: 关于返扑鸹档耐端); splits between two B or two Q
  words, with "_" spaces or a language tag, were read right and still are;
- line ends: a message with bare LF line ends (as an MTA pipes it, as PHP's mail() writes its
  body) reads as the CRLF one, and the same letter piped with LF and polled with CRLF is one
  item (kept so: no fix was needed); one with CR alone lost its subject and text (fixed);
- only-attachment: a message whose only body is a file (a scanner's PDF, a phone's photo, a
  text file, a file of a type not accepted) is an item with that file and "(no text)", or the
  note alone (kept so).
Messages are laid out by hand as the clients write them (CRLF, their headers), not by Python's
email package, which would re-encode what the case is about."""
import base64
import os
import re
import sqlite3
from html import unescape as html_unescape
import urllib.parse
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dovecot  # noqa: E402
import harness  # noqa: E402
import peers  # noqa: E402
from test_mailin import ingest  # noqa: E402

harness.BIN = os.path.abspath(harness.BIN)

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def crlf(s):
    return s.replace("\r\n", "\n").replace("\n", "\r\n")


def head(msgid, subject, extra=""):
    """The header lines every case starts with (str, CRLF), its MIME headers in extra."""
    return crlf("From: =?UTF-8?B?5byg5LiJ?= <zhang.san@example.cn>\n"
                "To: director@bureau.example\n"
                "Subject: %s\n"
                "Date: Tue, 1 Dec 2026 10:00:00 +0800\n"
                "Message-ID: <%s>\n"
                "MIME-Version: 1.0\n%s\n" % (subject, msgid, extra))


def b64(data):
    s = base64.b64encode(data).decode()
    return "\r\n".join(s[i:i + 76] for i in range(0, len(s), 76))


# --- the cases: (name, make(msgid) -> bytes, {field: expected}) ------------------------------
# The expected fields: subject, body, attachments ([(filename, size, content_type)]).
CASES = []


def case(name, want):
    def put(make):
        CASES.append((name, make, want))
        return make
    return put


@case("nul-utf8-8bit", {"subject": "路灯", "body": "前面的字 后面的字\n第二行"})
def _(msgid):
    """A NUL between two words of UTF-8 text sent 8bit (as a scanner's mailer wrote it)."""
    return head(msgid, "=?UTF-8?B?6Lev54Gv?=",
                "Content-Type: text/plain; charset=utf-8\r\n"
                "Content-Transfer-Encoding: 8bit\r\n").encode() + \
        "前面的字\x00后面的字\r\n第二行\r\n".encode()


@case("nul-gbk-base64", {"subject": "nul", "body": "前面的字 后面的字"})
def _(msgid):
    """The same in GBK, base64 (Foxmail's layout): the NUL comes out of the decoding."""
    return (head(msgid, "nul", "Content-Type: text/plain; charset=\"gbk\"\r\n"
                               "Content-Transfer-Encoding: base64\r\n") +
            b64("前面的字\x00后面的字\r\n".encode("gbk")) + "\r\n").encode()


@case("nul-gbk-8bit", {"subject": "nul gbk", "body": "前面的字 后面的字",
                       "polled": {"body": "前面的字后面的字"}})
def _(msgid):
    """GBK sent 8bit with a NUL. Polled, Dovecot's 0x80 in its place is no character of GBK
    and is dropped: the text around it is kept."""
    return head(msgid, "nul gbk", "Content-Type: text/plain; charset=gbk\r\n"
                                  "Content-Transfer-Encoding: 8bit\r\n").encode() + \
        "前面的字\x00后面的字\r\n".encode("gbk")


@case("nul-first-byte", {"subject": "nul first", "body": "The street light is out."})
def _(msgid):
    """A NUL as the first byte: the letter was "(no text)"."""
    return head(msgid, "nul first", "Content-Type: text/plain; charset=us-ascii\r\n"
                                    "Content-Transfer-Encoding: base64\r\n").encode() + \
        b64(b"\x00The street light is out.\r\n").encode() + b"\r\n"


@case("nul-utf16", {"subject": "utf-16", "body": "路灯 坏了"})
def _(msgid):
    """UTF-16 text (its 0x00 bytes halves of characters) with a U+0000 in it."""
    return (head(msgid, "utf-16", "Content-Type: text/plain; charset=utf-16le\r\n"
                                  "Content-Transfer-Encoding: base64\r\n") +
            b64("路灯\x00坏了".encode("utf-16le")) + "\r\n").encode()


@case("nul-raw-subject", {"subject": "路灯 坏了", "body": "正文"})
def _(msgid):
    """A raw 8-bit UTF-8 Subject with a NUL in it (its value ended there)."""
    return head(msgid, "路灯\x00坏了", "Content-Type: text/plain; charset=utf-8\r\n"
                                     "Content-Transfer-Encoding: 8bit\r\n").encode() + \
        "正文\r\n".encode()


@case("empty-plain-alone", {"subject": "empty", "body": "(no text)"})
def _(msgid):
    """A text/plain message of zero bytes: no body after the blank line."""
    return head(msgid, "empty", "Content-Type: text/plain; charset=utf-8\r\n").encode()


@case("empty-plain-base64-in-mixed", {"subject": "empty b64", "body": "(no text)",
                                      "attachments": [("a.pdf", len(PDF), "application/pdf")]})
def _(msgid):
    """A zero-byte base64 text part (no line at all) before a file."""
    return crlf(head(msgid, "empty b64", "Content-Type: multipart/mixed; boundary=\"b1\"\n") +
                "--b1\n"
                "Content-Type: text/plain; charset=utf-8\n"
                "Content-Transfer-Encoding: base64\n"
                "\n"
                "--b1\n"
                "Content-Type: application/pdf; name=\"a.pdf\"\n"
                "Content-Disposition: attachment; filename=\"a.pdf\"\n"
                "Content-Transfer-Encoding: base64\n"
                "\n" + b64(PDF) + "\n"
                "--b1--\n").encode()


@case("empty-plain-html-not", {"subject": "alternative", "body": "人民路的路灯坏了。"})
def _(msgid):
    """multipart/alternative whose text/plain is zero bytes (a webmail that failed to make
    it) and whose HTML (quoted-printable, no charset in the header: its <meta>) has the text."""
    html = "<html><head><meta charset=\"gbk\"></head><body><p>人民路的路灯坏了。</p></body></html>"
    qp = "".join("=%02X" % c if c >= 0x80 or c == 0x3d else chr(c) for c in html.encode("gbk"))
    return crlf(head(msgid, "alternative",
                     "Content-Type: multipart/alternative; boundary=\"alt\"\n") +
                "--alt\n"
                "Content-Type: text/plain; charset=utf-8\n"
                "Content-Transfer-Encoding: base64\n"
                "\n"
                "--alt\n"
                "Content-Type: text/html\n"
                "Content-Transfer-Encoding: quoted-printable\n"
                "\n" + qp + "\n"
                "--alt--\n").encode()


def fit(name, limit=255):
    """name cut to limit bytes before its extension, on a character boundary (the rule)."""
    b = name.encode()
    if len(b) <= limit:
        return name
    stem, dot, ext = name.rpartition(".")
    ext = (dot + ext).encode()
    cut = b[:limit - len(ext)].decode("utf-8", errors="ignore").rstrip(" .")
    return cut + ext.decode()


def continuations(enc, width):
    """enc (percent-encoded) in pieces of about width characters, never inside a %XX (each a
    whole character's bytes or not: Thunderbird cuts inside characters)."""
    out, i = [], 0
    while i < len(enc):
        j = min(i + width, len(enc))
        while j < len(enc) and "%" in enc[j - 2:j]:
            j -= 1
        out.append(enc[i:j])
        i = j
    return out


def with_file(msgid, subject, disposition, data=PDF, ctype="application/pdf"):
    """A short UTF-8 text, then one file whose Content-Type and Content-Disposition lines
    (folded as given, CRLF) are disposition."""
    return crlf(head(msgid, subject, "Content-Type: multipart/mixed; boundary=\"mix\"\n") +
                "--mix\n"
                "Content-Type: text/plain; charset=utf-8\n"
                "Content-Transfer-Encoding: base64\n"
                "\n" + b64("详见附件。".encode()) + "\n"
                "--mix\n" + disposition +
                "Content-Transfer-Encoding: base64\n"
                "\n" + b64(data) + "\n"
                "--mix--\n").encode()


LONG = "关于人民路与解放路交叉口夜间施工噪音扰民问题的情况说明" * 5 + "及现场照片材料.pdf"   # 410 bytes
LONG_GBK = "2026年第四季度某某小区物业管理服务问题投诉的相关证据材料扫描件" * 4 + ".pdf"
LONG_NOEXT = "长" * 120


@case("long-name-rfc2231-utf8", {"subject": "long 2231", "body": "详见附件。",
                                 "attachments": [(fit(LONG), len(PDF), "application/pdf")]})
def _(msgid):
    """Thunderbird: RFC 2231 continuations filename*0*=utf-8''…; filename*1*=…, each line
    cut inside a character's %XX run."""
    parts = continuations(urllib.parse.quote(LONG.encode()), 64)
    lines = "".join(";\n filename*%d*=%s%s" % (i, "utf-8''" if i == 0 else "", p)
                    for i, p in enumerate(parts))
    return with_file(msgid, "long 2231", "Content-Type: application/pdf\n"
                                         "Content-Disposition: attachment" + lines + "\n")


@case("long-name-encoded-words", {"subject": "long words", "body": "详见附件。",
                                  "attachments": [(fit(LONG), len(PDF), "application/pdf")]})
def _(msgid):
    """QQ Mail and Coremail: the quoted name in B words of 45 bytes each (split inside
    characters, each padded), in name= and filename=."""
    b = LONG.encode()
    words = "\n ".join("=?UTF-8?B?%s?=" % base64.b64encode(b[i:i + 45]).decode()
                       for i in range(0, len(b), 45))
    return with_file(msgid, "long words",
                     "Content-Type: application/pdf;\n name=\"%s\"\n"
                     "Content-Disposition: attachment;\n filename=\"%s\"\n" % (words, words))


@case("long-name-gbk-rfc2231", {"subject": "long gbk", "body": "详见附件。",
                                "attachments": [(fit(LONG_GBK), len(PDF), "application/pdf")]})
def _(msgid):
    """Outlook on Chinese Windows: RFC 2231 in GBK (its bytes fewer than UTF-8's: over 255
    only once decoded)."""
    parts = continuations(urllib.parse.quote(LONG_GBK.encode("gbk")), 60)
    lines = "".join(";\n\tfilename*%d*=%s%s" % (i, "gbk''" if i == 0 else "", p)
                    for i, p in enumerate(parts))
    return with_file(msgid, "long gbk", "Content-Type: application/pdf\n"
                                        "Content-Disposition: attachment" + lines + "\n")


@case("long-name-no-extension", {"subject": "long noext", "body": "详见附件。",
                                 "attachments": [("长" * 85, len(PDF), "application/pdf")]})
def _(msgid):
    """No extension: cut at 255 bytes, on a character boundary (85 characters of 3 bytes)."""
    return with_file(msgid, "long noext",
                     "Content-Type: application/pdf\n"
                     "Content-Disposition: attachment; filename*=utf-8''%s\n"
                     % urllib.parse.quote(LONG_NOEXT.encode()))


HK_SUBJECT = "屯門嘅路口有水浸"
HK_TEXT = "屯門嘅路口成日水浸，㗎車過唔到。陳𡃁仔話佢見到。"


@case("hkscs-label-text-and-word", {"subject": HK_SUBJECT, "body": HK_TEXT})
def _(msgid):
    """charset="big5-hkscs" text in base64 and a Subject word in big5-hkscs."""
    return (head(msgid, "=?big5-hkscs?B?%s?=" % base64.b64encode(
                     HK_SUBJECT.encode("big5hkscs")).decode(),
                 "Content-Type: text/plain; charset=\"big5-hkscs\"\r\n"
                 "Content-Transfer-Encoding: base64\r\n") +
            b64(HK_TEXT.encode("big5hkscs")) + "\r\n").encode()


@case("hkscs-raw-headers", {"subject": HK_SUBJECT, "body": HK_TEXT, "name": "陳𡃁仔",
                            "attachments": [("屯門嘅相.pdf", len(PDF), "application/pdf")]})
def _(msgid):
    """An old client in Hong Kong: the Subject, the sender's name and the file's name raw
    8-bit in Big5-HKSCS, over an 8bit text part labelled big5-hkscs."""
    return crlf("From: ").encode() + "陳𡃁仔".encode("big5hkscs") + crlf(
        " <chan@example.hk>\n"
        "To: director@bureau.example\n"
        "Subject: ").encode() + HK_SUBJECT.encode("big5hkscs") + crlf(
        "\nDate: Tue, 1 Dec 2026 10:00:00 +0800\n"
        "Message-ID: <%s>\n"
        "MIME-Version: 1.0\n"
        "Content-Type: multipart/mixed; boundary=\"hk\"\n"
        "\n"
        "--hk\n"
        "Content-Type: text/plain; charset=big5-hkscs\n"
        "Content-Transfer-Encoding: 8bit\n"
        "\n" % msgid).encode() + HK_TEXT.encode("big5hkscs") + crlf(
        "\n--hk\n"
        "Content-Type: application/pdf\n"
        "Content-Disposition: attachment; filename=\"").encode() + \
        "屯門嘅相.pdf".encode("big5hkscs") + crlf(
        "\"\n"
        "Content-Transfer-Encoding: base64\n"
        "\n" + b64(PDF) + "\n"
        "--hk--\n").encode()


@case("big5-label-hkscs-characters", {"subject": HK_SUBJECT, "body": HK_TEXT})
def _(msgid):
    """Outlook in Hong Kong: charset=big5 on text holding HKSCS characters, and on the Subject's
    word."""
    return (head(msgid, "=?big5?B?%s?=" % base64.b64encode(HK_SUBJECT.encode("big5hkscs")).decode(),
                 "Content-Type: text/plain; charset=\"big5\"\r\n"
                 "Content-Transfer-Encoding: base64\r\n") +
            b64(HK_TEXT.encode("big5hkscs")) + "\r\n").encode()


def labelled(msgid, subject, label, data, ctype="text/plain"):
    """One text part of data (bytes) under charset label, in base64."""
    return (head(msgid, subject, "Content-Type: %s; charset=\"%s\"\r\n"
                                 "Content-Transfer-Encoding: base64\r\n" % (ctype, label)) +
            b64(data) + "\r\n").encode()


LAMP = "人民路的路灯坏了，请尽快修理。"


@case("x-unknown-gbk-text", {"subject": "x-unknown", "body": LAMP})
def _(msgid):
    return labelled(msgid, "x-unknown", "x-unknown", LAMP.encode("gbk"))


@case("x-unknown-utf8-text", {"subject": "x-unknown utf-8", "body": LAMP})
def _(msgid):
    return labelled(msgid, "x-unknown utf-8", "x-unknown", LAMP.encode())


@case("x-unknown-gbk-html", {"subject": "x-unknown html", "body": LAMP})
def _(msgid):
    return labelled(msgid, "x-unknown html", "x-unknown", ("<p>%s</p>" % LAMP).encode("gbk"),
                    "text/html")


@case("x-unknown-subject-word", {"subject": "路灯坏了", "body": LAMP})
def _(msgid):
    return labelled(msgid, "=?x-unknown?B?%s?=" % base64.b64encode("路灯坏了".encode("gbk")).decode(),
                    "utf-8", LAMP.encode())


@case("utf8-without-hyphen", {"subject": "utf8", "body": LAMP})
def _(msgid):
    return labelled(msgid, "utf8", "utf8", LAMP.encode())


@case("gb2312-holding-gbk", {"subject": "gb2312", "body": "喆园小区旁的工地，朱镕先生反映。"})
def _(msgid):
    return labelled(msgid, "gb2312", "gb2312", "喆园小区旁的工地，朱镕先生反映。".encode("gbk"))


@case("windows-1252-holding-gbk", {"subject": "人民路灯坏了", "body": LAMP})
def _(msgid):
    """A GBK page's form through a mailer whose default label is windows-1252 (it was Latin-1
    mojibake: ÈËÃñÂ·µÄ…), in the text and the Subject's word."""
    return labelled(msgid, "=?windows-1252?B?%s?=" % base64.b64encode(
        "人民路灯坏了".encode("gbk")).decode(), "windows-1252", LAMP.encode("gbk"))


WESTERN = "Le lampadaire est cassé depuis l'été. Grüße aus Köln, Bärbel Müßig. Ææ öðru"


@case("iso-8859-1-western", {"subject": "Grüße aus Köln", "body": WESTERN})
def _(msgid):
    """Western text under a Latin-1 label stays Latin-1, in the text and a Q word."""
    return labelled(msgid, "=?iso-8859-1?Q?Gr=FC=DFe_aus_K=F6ln?=", "iso-8859-1",
                    WESTERN.encode("latin-1"))


PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")


@case("rfc2231-unknown-charset", {"subject": "names", "body": "详见附件。",
                                  "attachments": [("attachment-1.png", len(PNG), "image/png")]})
def _(msgid):
    """A file name in RFC 2231 form in a charset iconv does not know: unreadable whatever the
    locale (it was Latin-1 mojibake, ÄãºÃ.png, under LANG=C: an MTA's pipe, a systemd unit;
    the poller here runs under LC_ALL=C, ingest-mail under the suite's UTF-8 locale)."""
    return with_file(msgid, "names", "Content-Type: image/png\n"
                                     "Content-Disposition: attachment;\n"
                                     " filename*=x-mac-nonesuch''%C4%E3%BA%C3.png\n", PNG)


@case("rfc2231-x-unknown-continued", {"subject": "names 2", "body": "详见附件。",
                                      "attachments": [("attachment-1.pdf", len(PDF),
                                                       "application/pdf")]})
def _(msgid):
    """The same with x-unknown, in continuations."""
    return with_file(msgid, "names 2", "Content-Type: application/pdf\n"
                                       "Content-Disposition: attachment;\n"
                                       " filename*0*=x-unknown''%C4%E3;\n"
                                       " filename*1*=%BA%C3.pdf\n")


@case("rfc2231-big5-hkscs-characters", {"subject": "names 3", "body": "详见附件。",
                                        "attachments": [("屯門嘅相.pdf", len(PDF),
                                                         "application/pdf")]})
def _(msgid):
    """A file name in RFC 2231 form labelled big5 holding an HKSCS character (it was
    attachment-1.pdf: GMime's Big5 could not read it)."""
    return with_file(msgid, "names 3", "Content-Type: application/pdf\n"
                                       "Content-Disposition: attachment;\n"
                                       " filename*=big5''%s\n"
                                       % urllib.parse.quote("屯門嘅相.pdf".encode("big5hkscs")))


@case("rfc2231-percent-00", {"subject": "names 4", "body": "详见附件。",
                             "attachments": [("路 灯.pdf", len(PDF), "application/pdf")]})
def _(msgid):
    """A %00 in an RFC 2231 file name (it ended the name there: "路", its extension lost)."""
    return with_file(msgid, "names 4", "Content-Type: application/pdf\n"
                                       "Content-Disposition: attachment;\n"
                                       " filename*=utf-8''%E8%B7%AF%00%E7%81%AF.pdf\n")


KOREAN = "똠방각하 햏 가로등이 고장났습니다"


@case("ks_c_5601-1987-uhc", {"subject": "가로등", "body": KOREAN})
def _(msgid):
    """Outlook in Korean: ks_c_5601-1987 on CP949 text, the Subject's word too."""
    return labelled(msgid, "=?ks_c_5601-1987?B?%s?=" % base64.b64encode(
        "가로등".encode("cp949")).decode(), "ks_c_5601-1987", KOREAN.encode("cp949"))


@case("euc-kr-uhc", {"subject": "euc-kr", "body": KOREAN})
def _(msgid):
    return labelled(msgid, "euc-kr", "euc-kr", KOREAN.encode("cp949"))


# a TNEF stream: its signature, then attributes civicdesk does not read
TNEF = b"\x78\x9f\x3e\x22\x01\x00\x01\x06\x90\x08\x00\x04\x00\x00\x00\x00\x00\x01\x00" + \
    bytes(range(120))
TNEF_WHY = ("Outlook's rich-text package (TNEF): the files inside it cannot be read here; send "
            "them again with Outlook's message format set to HTML or plain text")
OCCUPY = "中山路菜市场门口长期占道经营，影响通行。\n照片在附件里。"


def winmail(msgid, ctype):
    return crlf(head(msgid, "=?gb2312?B?%s?=" % base64.b64encode("占道经营".encode("gb2312")).decode(),
                     "X-MS-Has-Attach: yes\n"
                     "X-MS-TNEF-Correlator: <%s>\n"
                     "Content-Type: multipart/mixed;\n"
                     "\tboundary=\"_000_tnef_\"\n" % msgid) +
                "--_000_tnef_\n"
                "Content-Type: text/plain; charset=\"gb2312\"\n"
                "Content-Transfer-Encoding: base64\n"
                "\n" + b64(OCCUPY.encode("gb2312")) + "\n"
                "\n"
                "--_000_tnef_\n"
                "Content-Disposition: attachment; filename=\"winmail.dat\"\n"
                "Content-Transfer-Encoding: base64\n"
                "Content-Type: %s; name=\"winmail.dat\"\n"
                "\n" % ctype + b64(TNEF) + "\n"
                "\n"
                "--_000_tnef_--\n").encode()


WINMAIL = {"subject": "占道经营",
           "body": OCCUPY + "\n\n[attachment not kept (附件未保存): winmail.dat, %d bytes: %s; it "
                            "stays in the original message]" % (len(TNEF), TNEF_WHY),
           "ack": ["- winmail.dat（%d 字节）：Outlook 的 RTF 格式附件包（TNEF），其中的文件无法在此"
                   "读取；请将 Outlook 的邮件格式设为 HTML 或纯文本后重新发送" % len(TNEF)]}


@case("winmail-ms-tnef", WINMAIL)
def _(msgid):
    """Outlook's rich text to an outside address: winmail.dat as application/ms-tnef."""
    return winmail(msgid, "application/ms-tnef")


@case("winmail-octet-stream", WINMAIL)
def _(msgid):
    """The same through a gateway that labels it application/octet-stream: its signature."""
    return winmail(msgid, "application/octet-stream")


def qword(data):
    """The Q text of data (RFC 2047 4.2): "_" for a space."""
    return "".join("_" if c == 0x20 else ("=%02X" % c if c >= 0x80 or c in b"=?_" else chr(c))
                   for c in data)


def subject_letter(msgid, subject):
    return labelled(msgid, subject, "utf-8", LAMP.encode())


SPLIT = "关于 人民路路灯 损坏的投诉"


@case("split-b-then-q-gbk", {"subject": SPLIT, "body": LAMP})
def _(msgid):
    g = SPLIT.encode("gbk")
    return subject_letter(msgid, "=?GBK?B?%s?=\r\n =?GBK?Q?%s?=" % (
        base64.b64encode(g[:6]).decode(), qword(g[6:])))


@case("split-q-then-b-utf8", {"subject": SPLIT, "body": LAMP})
def _(msgid):
    u = SPLIT.encode()
    return subject_letter(msgid, "=?UTF-8?Q?%s?= =?UTF-8?B?%s?=" % (
        qword(u[:11]), base64.b64encode(u[11:]).decode()))


@case("split-b-b-utf8-padded", {"subject": SPLIT, "body": LAMP})
def _(msgid):
    u = SPLIT.encode()
    return subject_letter(msgid, "=?utf-8?B?%s?=\r\n\t=?UTF-8?B?%s?=" % (
        base64.b64encode(u[:8]).decode(), base64.b64encode(u[8:]).decode()))


@case("split-q-q-gbk-lang", {"subject": SPLIT, "body": LAMP})
def _(msgid):
    g = SPLIT.encode("gbk")
    return subject_letter(msgid, "=?gbk*zh-cn?Q?%s?= =?gbk*zh-cn?Q?%s?=" % (
        qword(g[:5]), qword(g[5:])))


LINES = "第一行\n第二行\n\n第三段"


def lf_letter(msgid, subject):
    """A letter with LF line ends only: its Subject folded, split inside a character."""
    s = subject.encode()
    return ("From: =?UTF-8?B?5byg5LiJ?= <zhang.san@example.cn>\n"
            "To: director@bureau.example\n"
            "Subject: =?UTF-8?B?%s?=\n =?UTF-8?B?%s?=\n"
            "Date: Tue, 1 Dec 2026 10:00:00 +0800\n"
            "Message-ID: <%s>\n"
            "MIME-Version: 1.0\n"
            "Content-Type: multipart/mixed; boundary=\"lf\"\n"
            "\n"
            "--lf\n"
            "Content-Type: text/plain; charset=utf-8; format=flowed; delsp=yes\n"
            "Content-Transfer-Encoding: 8bit\n"
            "\n%s\n"
            "--lf\n"
            "Content-Type: application/pdf; name=\"a.pdf\"\n"
            "Content-Transfer-Encoding: base64\n"
            "\n%s\n"
            "--lf--\n" % (base64.b64encode(s[:7]).decode(), base64.b64encode(s[7:]).decode(),
                           msgid, LINES, base64.encodebytes(PDF).decode().rstrip("\n"))).encode()


LF_WANT = {"subject": "关于路灯损坏的投诉", "body": LINES,
           "attachments": [("a.pdf", len(PDF), "application/pdf")]}


@case("bare-lf", LF_WANT)
def _(msgid):
    return lf_letter(msgid, "关于路灯损坏的投诉")


@case("crlf", LF_WANT)
def _(msgid):
    return lf_letter(msgid, "关于路灯损坏的投诉").replace(b"\n", b"\r\n")


@case("bare-cr", LF_WANT)
def _(msgid):
    """Line ends of CR alone (a classic Mac OS mailer, a script writing "\\r"): it was an item
    of "(no subject)" and "(no text)"."""
    return lf_letter(msgid, "关于路灯损坏的投诉").replace(b"\n", b"\r")


@case("php-crlf-head-lf-qp-body", {"subject": "php", "body": "第一行续\n第二行"})
def _(msgid):
    """PHP's mail(): CRLF in the header it was given, LF in the body, soft breaks "=\\n"."""
    return head(msgid, "php", "Content-Type: text/plain; charset=utf-8\r\n"
                              "Content-Transfer-Encoding: quoted-printable\r\n").encode() + \
        b"=E7=AC=AC=E4=B8=80=E8=A1=8C=\n=E7=BB=AD\n=E7=AC=AC=E4=BA=8C=E8=A1=8C\n"


def only_file(msgid, subject, ctype_line, data):
    return (head(msgid, subject, ctype_line + "Content-Transfer-Encoding: base64\r\n") +
            b64(data) + "\r\n").encode()


@case("only-attachment-pdf", {"subject": "Scanned from MFP-3F", "body": "(no text)",
                              "attachments": [("SCAN_0001.pdf", len(PDF), "application/pdf")]})
def _(msgid):
    return only_file(msgid, "Scanned from MFP-3F",
                     "Content-Type: application/pdf; name=\"SCAN_0001.pdf\"\r\n"
                     "Content-Disposition: attachment; filename=\"SCAN_0001.pdf\"\r\n", PDF)


@case("only-attachment-gbk-text-file", {
    "subject": "投诉材料", "body": "(no text)",
    "attachments": [("投诉.txt", len(LAMP.encode("gbk")), "text/plain; charset=gb18030")]})
def _(msgid):
    return only_file(msgid, "=?UTF-8?B?%s?=" % base64.b64encode("投诉材料".encode()).decode(),
                     "Content-Type: text/plain; charset=gbk; name=\"=?gbk?B?%s?=\"\r\n"
                     "Content-Disposition: attachment; filename=\"=?gbk?B?%s?=\"\r\n"
                     % ((base64.b64encode("投诉.txt".encode("gbk")).decode(),) * 2),
                     LAMP.encode("gbk"))


@case("only-attachment-not-accepted", {
    "subject": "setup", "body": "[attachment not kept (附件未保存): setup.exe, 64 bytes: not a type "
                                "accepted for attachments; it stays in the original message]"})
def _(msgid):
    return only_file(msgid, "setup", "Content-Type: application/octet-stream; name=setup.exe\r\n",
                     b"MZ\x90\x00" + bytes(60))


class Audit6(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dc = dovecot.Dovecot().start()
        # the poller under the C locale (a systemd unit without LANG), ingest-mail under the
        # suite's: the items must not differ
        cls.server = harness.Server(env={"CIVICDESK_SUBMIT_RATE": "0",
                                         "CIVICDESK_MAIL_ACK_INTERVAL": "0",
                                         "CIVICDESK_IMAP_URL": cls.dc.url,
                                         "CIVICDESK_IMAP_INTERVAL": "1",
                                         "LC_ALL": "C", "LANG": "C"}).start()
        cls.admin = cls.server.staff("audit6_admin", "admin")

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()
        cls.dc.cleanup()

    def item(self, tracking):
        r = self.admin.request("GET", "/api/v1/items/" + tracking)
        self.assertEqual(r.status, 200, r)
        return r.json()

    def tracking_of(self, msgid):
        with sqlite3.connect(self.server.db, timeout=30) as con:
            row = con.execute("SELECT i.tracking FROM mail_in m JOIN items i ON i.id = m.item_id "
                              "WHERE m.message_id = ?", (msgid,)).fetchone()
        return row[0] if row else None

    def check(self, it, want):
        self.assertEqual(it["channel"], "email")
        for k in ("subject", "body", "name"):
            if k in want:
                self.assertEqual(it[k], want[k])
        got = [(a["filename"], a["size"], a["content_type"]) for a in it["attachments"]]
        self.assertEqual(got, want.get("attachments", []))
        if "ack" in want:  # the citizen's acknowledgement, written with the item (no SMTP here)
            with sqlite3.connect(self.server.db, timeout=30) as con:
                acks = [r[0] for r in con.execute(
                    "SELECT o.body FROM outbox o JOIN items i ON i.id = o.item_id "
                    "WHERE i.tracking = ? AND o.recipient = 'zhang.san@example.cn' "
                    "AND o.body IS NOT NULL", (it["tracking"],))]
            self.assertEqual(len(acks), 1, acks)
            for words in want["ack"]:
                self.assertIn(words, acks[0])
            self.assertNotIn("不是可接收的附件类型", acks[0])

    def test_piped(self):
        """ingest-mail: exit 0, one tracking number, the item as expected."""
        for name, make, want in CASES:
            with self.subTest(name):
                r = ingest(self.server, make("pipe-%s@audit6.example" % name),
                           env_extra={"CIVICDESK_MAIL_ACK_INTERVAL": "0"})
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertRegex(r.stdout.decode(), r"^XJ-\d{8}-\d{5}\n$")
                self.assertNotIn(b"runtime error", r.stderr)  # UBSan's words
                self.check(self.item(r.stdout.decode().strip()), want)

    def test_lf_piped_crlf_polled_one_letter(self):
        """The letter an MTA pipes with LF line ends and the mailbox serves with CRLF is one
        item: the polled copy is recorded as its duplicate."""
        msgid = "lf-crlf@audit6.example"
        r = ingest(self.server, lf_letter(msgid, "同一封信"))
        self.assertEqual(r.returncode, 0, r.stderr)
        tracking = r.stdout.decode().strip()
        uid = self.dc.append([lf_letter(msgid, "同一封信").replace(b"\n", b"\r\n")])[0]

        def polled():
            with sqlite3.connect(self.server.db, timeout=30) as con:
                return con.execute("SELECT m.outcome, i.tracking FROM mail_in m LEFT JOIN items i "
                                   "ON i.id = m.item_id WHERE m.uid = ? AND m.message_id = ?",
                                   (uid, msgid)).fetchone()
        self.assertEqual(peers.wait_for(polled, 60, "the polled copy"), ("duplicate", tracking))

    def test_polled(self):
        """The same messages polled from Dovecot make the same items."""
        self.dc.append([make("imap-%s@audit6.example" % name) for name, make, want in CASES])
        for name, make, want in CASES:
            with self.subTest(name):
                t = peers.wait_for(lambda: self.tracking_of("imap-%s@audit6.example" % name), 60,
                                   "the polled " + name)
                self.check(self.item(t), dict(want, **want.get("polled", {})))


class WebNames(unittest.TestCase):
    """A file name over 255 bytes sent with the web form or the API (Windows allows 255 UTF-16
    units: 765 bytes of Chinese) is cut as a mailed one is, not refused."""

    @classmethod
    def setUpClass(cls):
        cls.server = harness.Server(env={"CIVICDESK_SUBMIT_RATE": "0"}).start()

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def multipart(self, path, fields, filename, headers=None):
        boundary = "----audit6web"
        body = b"".join(("--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n"
                         % (boundary, k, v)).encode() for k, v in fields.items())
        body += ("--%s\r\nContent-Disposition: form-data; name=\"attachment\"; "
                 "filename=\"%s\"\r\nContent-Type: application/pdf\r\n\r\n"
                 % (boundary, filename)).encode() + PDF + ("\r\n--%s--\r\n" % boundary).encode()
        hdrs = {"Content-Type": "multipart/form-data; boundary=" + boundary}
        hdrs.update(headers or {})
        return self.server.request("POST", path, body=body, headers=hdrs)

    def stored_names(self):
        with sqlite3.connect(self.server.db, timeout=30) as con:
            return [r[0] for r in con.execute("SELECT filename FROM attachments ORDER BY id")]

    def test_api_and_page(self):
        name = "C:\\Users\\张三\\Desktop\\" + LONG
        r = self.multipart("/api/v1/items", {"kind": "letter", "subject": "路灯", "body": LAMP,
                                             "email": "web@example.cn", "publish": "false"}, name)
        self.assertEqual(r.status, 201, r)
        self.assertEqual(self.stored_names()[-1], fit(LONG))
        # the page: its form token and cookie first
        page = self.server.request("GET", "/submit?lang=zh-Hans")
        self.assertEqual(page.status, 200)
        token = html_unescape(re.search(r'name="csrf_token" value="([^"]*)"',
                                        page.body.decode()).group(1))
        cookie = "; ".join(v.split(";", 1)[0] for v in page.headers_all("Set-Cookie"))
        r = self.multipart("/submit", {"csrf_token": token, "kind": "complaint", "subject": "噪音",
                                       "body": LAMP, "phone": "13812345678"}, LONG_GBK,
                           headers={"Cookie": cookie} if cookie else None)
        self.assertEqual(r.status, 303, r.body[:2000])
        self.assertEqual(self.stored_names()[-1], fit(LONG_GBK))


if __name__ == "__main__":
    harness.main()
