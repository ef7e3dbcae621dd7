#!/usr/bin/env python3
"""Builds the mail-in test corpus with Python's email package: one folder per case under
tests/data/mail/, each with message.eml and, beside it, what civicdesk must make of it:
  subject, body      the stored subject and body (UTF-8), when the message makes an item
  attachments        one line per kept attachment: filename TAB size TAB content type
  kind               letter | complaint | consultation
  from               the sender address (and name: "name <addr>")
  tracking           the tracking number named in the subject (replies)
  ignored            the reason, for mail that makes no item
The expected values are written from the inputs here, never from civicdesk's output. A kept
attachment's content type is what its content is (as for web uploads: PDF, images, Office files
and plain text by their first bytes), not what the message claims.
Run: python3 tests/data/mail/make_corpus.py (rewrites every case; deterministic)."""
import base64
import email.base64mime
import email.encoders
import email.quoprimime
import email.utils
import os
import shutil
import sys
from email.header import Header
from email.message import Message
from email.mime.application import MIMEApplication
from email.mime.base import MIMEBase
from email.mime.message import MIMEMessage
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from email.mime.text import MIMEText

HERE = os.path.dirname(os.path.abspath(__file__))
DATE = "Mon, 02 Mar 2026 09:30:00 +0800"
MB = 1024 * 1024
CASES = []


def case(fn):
    CASES.append(fn)
    return fn


def ew(text, charset, codec=None, q=False):
    """An RFC 2047 word of text encoded with codec, labelled charset (email package)."""
    raw = text.encode(codec or charset)
    if q:
        return email.quoprimime.header_encode(raw, charset=charset)
    return email.base64mime.header_encode(raw, charset=charset)


def encoded_text(text, label, codec, subtype="plain", cte="base64"):
    part = MIMENonMultipart("text", subtype, charset=label)
    part.set_payload(text.encode(codec))
    if cte == "base64":
        email.encoders.encode_base64(part)
    elif cte == "quoted-printable":
        email.encoders.encode_quopri(part)
    else:
        email.encoders.encode_7or8bit(part)
    return part


def attachment(data, ctype, filename=None, raw_disposition=None):
    maintype, subtype = ctype.split("/")
    part = MIMEBase(maintype, subtype)
    part.set_payload(data)
    email.encoders.encode_base64(part)
    if raw_disposition is not None:
        part["Content-Disposition"] = raw_disposition
    elif filename is not None:
        part.add_header("Content-Disposition", "attachment", filename=filename)
    return part


def headers(msg, subject, sender="张三 <zhangsan@example.cn>", to="director@bureau.example",
            msgid=None, raw_subject=False):
    name, addr = email.utils.parseaddr(sender)
    msg["From"] = email.utils.formataddr((name, addr), charset="utf-8") if name else addr
    msg["To"] = to
    if raw_subject:
        msg["Subject"] = subject
    else:
        msg["Subject"] = Header(subject, "utf-8") if not subject.isascii() else subject
    msg["Date"] = DATE
    msg["Message-ID"] = msgid or "<%s@corpus.example>" % CURRENT
    return msg


def expect(subject=None, body=None, atts=(), kind="letter", sender=None, tracking=None,
           ignored=None):
    return dict(subject=subject, body=body, atts=list(atts), kind=kind, sender=sender,
                tracking=tracking, ignored=ignored)


# --- charsets ----------------------------------------------------------------------------------

@case
def utf8_plain():
    body = "局长您好：\n\n我家门口的路灯坏了两个月，晚上很不安全。\n请尽快维修。\n\n谢谢！"
    msg = headers(MIMEText(body, "plain", "utf-8"), "路灯损坏已两个月 — 请求维修",
                  sender='"李四" <lisi@example.cn>')
    return msg, expect("路灯损坏已两个月 — 请求维修", body, sender="李四 <lisi@example.cn>")


@case
def gbk_coremail():
    # Coremail (163, 126): GBK Q-encoded subject, GBK base64 body
    subj = "投诉：小区噪音扰民"
    body = "物业对夜间施工噪音不管不问，已持续一周。\n联系电话：13812345678"
    msg = encoded_text(body, "GBK", "gbk")
    msg["From"] = "=?GBK?B?%s?= <wangwu@163.com>" % base64.b64encode("王五".encode("gbk")).decode()
    msg["To"] = "complaint@bureau.example"
    msg["Subject"] = ew(subj, "GBK", "gbk", q=True)
    msg["Date"] = DATE
    msg["Message-ID"] = "<gbk-coremail@163.com>"
    msg["X-Mailer"] = "Coremail Webmail Server Version XT5.0.13"
    return msg, expect(subj, body, kind="complaint", sender="王五 <wangwu@163.com>")


@case
def gb2312_label_gbk():
    # Outlook in a Chinese locale: labelled gb2312, written in GBK (A1AA, 镕 E946, 喆 86B4)
    subj = "关于朱镕基路——名称的咨询"
    body = "请问“镕”字与“喆”字——在门牌上怎样书写？"
    msg = encoded_text(body, "gb2312", "gbk")
    msg["From"] = "Zhou <zhou@outlook.example>"
    msg["To"] = "Ask Desk <ask@bureau.example>"
    msg["Subject"] = ew(subj, "gb2312", "gbk")
    msg["Date"] = DATE
    msg["Message-ID"] = "<gb2312-label@outlook.example>"
    assert "\u2014" in subj and "——".encode("gbk") == b"\xa1\xaa\xa1\xaa"
    return msg, expect(subj, body, kind="consultation", sender="Zhou <zhou@outlook.example>")


@case
def gb18030_qq():
    # QQ Mail: everything gb18030, literal character references in text/plain, encoded word
    # inside a quoted file name; 𠮷 needs GB18030's four-byte form.
    subj = "反映𠮷野家门店油烟问题"
    plain_src = "您好&nbsp;&nbsp;领导：<br>\n油烟&lt;严重&gt;影响居民&amp;商户。"
    plain = "您好  领导：<br>\n油烟<严重>影响居民&商户。"
    html = "<div>您好&nbsp;领导：</div><div>油烟&lt;严重&gt;</div>"
    alt = MIMEMultipart("alternative")
    alt.attach(encoded_text(plain_src, "gb18030", "gb18030"))
    alt.attach(encoded_text(html, "gb18030", "gb18030", "html"))
    msg = MIMEMultipart("mixed")
    msg.attach(alt)
    photo = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 40  # a JPEG by its first bytes
    fname = "现场照片.jpg"
    msg.attach(attachment(photo, "image/jpeg",
                          raw_disposition='attachment; filename="%s"' % ew(fname, "gb18030")))
    msg["From"] = "=?gb18030?B?%s?= <12345678@qq.com>" % base64.b64encode(
        "小明".encode("gb18030")).decode()
    msg["To"] = "director@bureau.example"
    msg["Subject"] = ew(subj, "gb18030")
    msg["Date"] = DATE
    msg["Message-ID"] = "<tencent_ABCDEF@qq.com>"
    msg["X-Mailer"] = "QQMail 2.x"
    return msg, expect(subj, plain, [(fname, len(photo), "image/jpeg")],
                       sender="小明 <12345678@qq.com>")


@case
def big5_outlook():
    # Taiwanese Outlook: Big5 body and Big5 encoded words (subject, name, file name)
    subj = "關於戶籍謄本申請的問題"
    body = "您好：\n請問線上申請戶籍謄本需要幾個工作天？\n謝謝。"
    msg = MIMEMultipart("mixed")
    msg.attach(encoded_text(body, "big5", "big5", cte="quoted-printable"))
    doc = b"%PDF-1.4 corpus\n" * 64
    msg.attach(attachment(doc, "application/pdf",
                          raw_disposition='attachment; filename="%s"' % ew("申請表.pdf", "big5")))
    msg["From"] = "=?big5?B?%s?= <chen@example.tw>" % base64.b64encode("陳大文".encode("big5")).decode()
    msg["To"] = "ask@bureau.example"
    msg["Subject"] = ew(subj, "big5")
    msg["Date"] = DATE
    msg["Message-ID"] = "<big5@example.tw>"
    return msg, expect(subj, body, [("申請表.pdf", len(doc), "application/pdf")],
                       kind="consultation", sender="陳大文 <chen@example.tw>")


@case
def unknown_gbk_label():
    # list software writes charset names iconv does not know; they contain gbk / gb2312
    subj = "建议增设公交站"
    body = "建议在新华路口增设一个公交站——方便老人出行。"
    msg = encoded_text(body, "x-gbk", "gbk")
    msg["From"] = "reader@example.cn"
    msg["To"] = "director@bureau.example"
    msg["Subject"] = ew(subj, "gb2312_charset", "gbk")
    msg["Date"] = DATE
    msg["Message-ID"] = "<x-gbk@example.cn>"
    return msg, expect(subj, body, sender="reader@example.cn")


@case
def utf7_labels():
    # old Exchange and Lotus gateways label UTF-7 with its first IANA name, unicode-1-1-utf-7
    subj = "噪音投诉"
    body = "夜间施工噪音，请处理。"
    msg = encoded_text(body, "unicode-1-1-utf-7", "utf-7", cte="7bit")
    msg["From"] = "lotus@example.cn"
    msg["To"] = "director@bureau.example"
    msg["Subject"] = ew(subj, "unicode-1-1-utf-7", "utf-7")
    msg["Date"] = DATE
    msg["Message-ID"] = "<utf7@example.cn>"
    return msg, expect(subj, body, sender="lotus@example.cn")


@case
def mojibake_kept():
    # webmail that already destroyed the text: UTF-8 replacement characters read as GBK
    subj = "锟斤拷锟斤拷"
    body = "烫烫烫锟斤拷锟斤拷"
    msg = encoded_text(body, "gbk", "gbk")
    msg["From"] = "broken@example.cn"
    msg["To"] = "director@bureau.example"
    msg["Subject"] = ew(subj, "gbk")
    msg["Date"] = DATE
    msg["Message-ID"] = "<mojibake@example.cn>"
    assert "锟斤拷".encode("gbk") == b"\xef\xbf\xbd\xef\xbf\xbd"[:6]
    return msg, expect(subj, body, sender="broken@example.cn")


# --- names and structure -----------------------------------------------------------------------

@case
def rfc2231_names():
    body = "附件是材料。"
    msg = MIMEMultipart("mixed")
    msg.attach(MIMEText(body, "plain", "utf-8"))
    a = b"PK\x03\x04" + b"first attachment\n" * 10  # an Office (zip) file by its first bytes
    b = b"%PDF-1.4\n" + b"second attachment\n" * 20
    c = b"third\n" * 3
    msg.attach(attachment(a, "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                          filename=("utf-8", "", "情况说明（第二版）.docx")))
    # RFC 2231 in GBK with continuations, written as Outlook does
    msg.attach(attachment(b, "application/pdf",
                          raw_disposition="attachment;\r\n filename*0*=gbk''%%%s;\r\n filename*1*=%s"
                          % ("%".join("%02X" % x for x in "证明".encode("gbk")),
                             "".join("%%%02X" % x for x in "材料.pdf".encode("gbk")))))
    # a path in the name: only its base name is kept
    msg.attach(attachment(c, "text/plain", filename="C:\\Users\\me\\notes.txt"))
    msg = headers(msg, "材料补交")
    return msg, expect("材料补交", body,
                       [("情况说明（第二版）.docx", len(a),
                         "application/vnd.openxmlformats-officedocument"),
                        ("证明材料.pdf", len(b), "application/pdf"),
                        ("notes.txt", len(c), "text/plain")],
                       sender="张三 <zhangsan@example.cn>")


@case
def rfc2231_beside_plain():
    # Thunderbird and Outlook write a plain ASCII fallback and the RFC 2231 name beside it;
    # RFC 2231 and RFC 6266 say the extended one wins, in either order and for name= alike
    body = "两份材料。"
    msg = MIMEMultipart("mixed")
    msg.attach(MIMEText(body, "plain", "utf-8"))
    a = b"%PDF-1.4\n" + b"receipt\n" * 12
    b = b"%PDF-1.4\n" + b"photo list\n" * 7
    pct = lambda t: "".join("%%%02X" % x for x in t.encode("utf-8"))  # noqa: E731
    msg.attach(attachment(a, "application/pdf",
                          raw_disposition="attachment; filename=\"receipt.pdf\";\r\n"
                          " filename*=UTF-8''%s" % pct("收据.pdf")))
    part = attachment(b, "application/pdf")
    del part["Content-Type"]
    part["Content-Type"] = ("application/pdf; name*=UTF-8''%s;\r\n name=\"list.pdf\""
                            % pct("照片清单.pdf"))
    msg.attach(part)
    msg = headers(msg, "材料两份")
    return msg, expect("材料两份", body,
                       [("收据.pdf", len(a), "application/pdf"),
                        ("照片清单.pdf", len(b), "application/pdf")],
                       sender="张三 <zhangsan@example.cn>")


@case
def html_only():
    html = ("<html><head><title>t</title><style>p{color:red}</style>"
            "<script>alert('x')</script></head><body>"
            "<p>尊敬的局长：</p><p>我反映的问题是&ldquo;违章停车&rdquo;&nbsp;&amp;&nbsp;占道。</p>"
            "<div>地址：<b>人民路</b> 12 号<br>时间：每天早上</div>"
            "<!-- <p>hidden</p> --><img src=\"cid:x\" onerror=\"alert(1)\">"
            "<p>&lt;script&gt;不是代码&lt;/script&gt; &#20013;&#x6587;</p></body></html>")
    body = ("尊敬的局长：\n我反映的问题是“违章停车” & 占道。\n地址：人民路 12 号\n时间：每天早上\n"
            "<script>不是代码</script> 中文")
    msg = headers(MIMEText(html, "html", "utf-8"), "违章停车")
    return msg, expect("违章停车", body, sender="张三 <zhangsan@example.cn>")


def html_without_charset(html, codec):
    """A text/html part whose Content-Type names no charset (the document's <meta> does)."""
    part = MIMENonMultipart("text", "html")
    part.set_payload(html.encode(codec))
    email.encoders.encode_base64(part)
    return part


@case
def html_meta_big5():
    # Outlook in Taiwan, HTML only: Big5 declared by http-equiv in the document alone (read as
    # GB18030, the fallback, it came out as other characters)
    html = ('<html><head><meta http-equiv="Content-Type" content="text/html; charset=big5">'
            "</head><body><p>您好：</p><p>請問戶籍謄本的申請要帶哪些證件？</p></body></html>")
    msg = headers(html_without_charset(html, "big5"), "申請證件",
                  sender="林小姐 <lin@example.tw>")
    return msg, expect("申請證件", "您好：\n請問戶籍謄本的申請要帶哪些證件？",
                       sender="林小姐 <lin@example.tw>")


@case
def html_meta_charset_cp1252():
    # a web form's HTML mail in English: <meta charset> names windows-1252, whose curly quotes
    # and dash (0x93 0x94 0x97) Latin-1 reads as control characters
    html = ('<!DOCTYPE html><html><head><meta charset="windows-1252"><title>Form</title></head>'
            "<body><p>The \u201cno parking\u201d sign \u2014 gate 3 \u2014 is gone.</p>"
            "</body></html>")
    msg = headers(html_without_charset(html, "cp1252"), "Missing sign",
                  sender="John Smith <john@example.com>")
    return msg, expect("Missing sign", "The \u201cno parking\u201d sign \u2014 gate 3 \u2014 is gone.",
                       sender="John Smith <john@example.com>")


@case
def html_form_mailer_legacy():
    # an old form mailer's HTML (ASCII): the citizen's Windows text written
    # as references to its bytes (&#150; &#147; &#148;, the HTML standard reads them as
    # windows-1252's), references without their ";" (&nbsp &amp &copy), and a template whose
    # preheader and tracking note a <style> block hides, as a browser shows it
    html = ("<html><head><style type=\"text/css\">\n.preheader{display:none !important;"
            "mso-hide:all}\n#tracker { visibility: hidden }\n"
            "@media only screen and (max-width:480px){.wide{display:none}}\n</style></head>"
            "<body><span class=\"preheader\">New message from the contact form</span>"
            "<p>Opening hours 9&#150;17 &amp weekends: the sign says &#147;closed&#148;"
            "&nbsp&nbsp&#133;</p><p class=\"wide\">Sent from the parish site &copy 2026</p>"
            "<p id=\"tracker\">msg-id 0f3a9c</p></body></html>")
    part = MIMEText(html, "html", "us-ascii")
    msg = headers(part, "Library hours", sender="Mary Jones <mary@example.org>")
    return msg, expect("Library hours",
                       "Opening hours 9\u201317 & weekends: the sign says \u201cclosed\u201d"
                       "  \u2026\nSent from the parish site \u00a9 2026",
                       sender="Mary Jones <mary@example.org>")


@case
def html_meta_header_wins():
    # the Content-Type's charset is the text's (UTF-8); a stale <meta> naming gb2312 is not
    html = ('<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312">'
            "</head><body><p>头部的字符集为准。</p></body></html>")
    msg = headers(MIMEText(html, "html", "utf-8"), "字符集")
    return msg, expect("字符集", "头部的字符集为准。", sender="张三 <zhangsan@example.cn>")


@case
def nested_multipart():
    body = "正文在最里层。"
    inner_alt = MIMEMultipart("alternative")
    inner_alt.attach(MIMEText(body, "plain", "utf-8"))
    related = MIMEMultipart("related")
    related.attach(MIMEText("<p>正文在<b>最里层</b>。</p><img src=\"cid:logo\">", "html", "utf-8"))
    logo = b"\x89PNG\r\n\x1a\n" + b"\0" * 100
    img = MIMEBase("image", "png")
    img.set_payload(logo)
    email.encoders.encode_base64(img)
    img["Content-ID"] = "<logo>"
    img.add_header("Content-Disposition", "inline", filename="logo.png")
    related.attach(img)
    inner_alt.attach(related)
    mixed = MIMEMultipart("mixed")
    mixed.attach(inner_alt)
    sheet = b"a,b,c\n1,2,3\n"
    mixed.attach(attachment(sheet, "text/csv", filename="数据.csv"))
    fwd = MIMEText("被转发的邮件正文", "plain", "utf-8")
    fwd["Subject"] = Header("原始投诉", "utf-8")
    fwd["From"] = "someone@example.cn"
    mixed.attach(MIMEMessage(fwd))
    outer = MIMEMultipart("mixed")
    outer.attach(mixed)
    msg = headers(outer, "嵌套的邮件")
    fwd_len = len(fwd.as_bytes())
    return msg, expect("嵌套的邮件", body,
                       [("logo.png", len(logo), "image/png"), ("数据.csv", len(sheet), "text/plain"),
                        ("原始投诉.eml", None, "text/plain")],
                       sender="张三 <zhangsan@example.cn>")


@case
def malformed_headers():
    # raw 8-bit headers (GBK subject, UTF-8 name), no MIME-Version, a broken encoded word,
    # a body without charset in GBK: UTF-8 first, then GB18030, then Latin-1
    subj = "没有编码的主题"
    body = "正文没有声明字符集。"
    raw = (b"From: " + "赵六".encode("utf-8") + b" <zhaoliu@example.cn>\r\n"
           b"To: director@bureau.example\r\n"
           b"Subject: " + subj.encode("gbk") + b" =?utf-8?B?broken\r\n"
           b"Date: not a date\r\n"
           b"Message-ID: <malformed@example.cn>\r\n"
           b"Content-Type: text/plain\r\n"
           b"\r\n" + body.encode("gbk") + b"\r\n")
    return raw, expect(subj + " =?utf-8?B?broken", body, sender="赵六 <zhaoliu@example.cn>")


@case
def latin1_header():
    # the bytes are not GB18030 (E9 before a space or the end), so Latin-1 decodes them
    raw = (b"From: Jos\xe9 <jose@example.es>\r\n"
           b"To: director@bureau.example\r\n"
           b"Subject: Caf\xe9 ferm\xe9\r\n"
           b"Message-ID: <latin1@example.es>\r\n"
           b"MIME-Version: 1.0\r\n"
           b"Content-Type: text/plain; charset=iso-8859-1\r\n"
           b"Content-Transfer-Encoding: 8bit\r\n\r\n"
           b"La se\xf1al est\xe1 rota.\r\n")
    return raw, expect("Café fermé", "La señal está rota.", sender="José <jose@example.es>")


@case
def no_body():
    msg = Message()
    headers(msg, "只有主题")
    msg.set_payload("")
    return msg, expect("只有主题", "(no text)", sender="张三 <zhangsan@example.cn>")


@case
def no_subject_default_kind():
    body = "没有主题，收件人也不在配置里。"
    msg = MIMEText(body, "plain", "utf-8")
    msg["From"] = "nobody@example.cn"
    msg["To"] = "office@other.example"
    msg["Message-ID"] = "<nosubject@example.cn>"
    return msg, expect("(no subject)", body, sender="nobody@example.cn")


@case
def attachment_over_limit():
    body = "附件很大。"
    msg = MIMEMultipart("mixed")
    msg.attach(MIMEText(body, "plain", "utf-8"))
    big = b"\0" * (5 * MB + 1)
    ok = b"x" * 1000
    msg.attach(attachment(big, "application/zip", filename="video.zip"))
    msg.attach(attachment(ok, "application/octet-stream", filename="small.bin"))
    msg = headers(msg, "大附件")
    note = ("\n[attachment not kept (附件未保存): video.zip, %d bytes: larger than %d bytes; "
            "it stays in the original message]" % (len(big), 5 * MB))
    return msg, expect("大附件", body + "\n" + note,
                       [("small.bin", len(ok), "text/plain")],
                       sender="张三 <zhangsan@example.cn>")


@case
def attachment_refused_type():
    """A program and an HTML page are no attachments the bureau accepts: the letter is stored,
    they are not (they stay in the raw message), and the item says so."""
    body = "请看附件。"
    msg = MIMEMultipart("mixed")
    msg.attach(MIMEText(body, "plain", "utf-8"))
    exe = b"MZ\x90\x00" + b"\x00" * 200
    page = b"<html><script>alert(1)</script></html>"
    photo = b"\xff\xd8\xff\xe0" + b"\x01" * 60
    msg.attach(attachment(exe, "application/pdf", filename="发票.pdf"))
    msg.attach(attachment(page, "text/plain", filename="page.txt"))
    msg.attach(attachment(photo, "image/jpeg", filename="photo.jpg"))
    msg = headers(msg, "附件类型")
    note = ("\n[attachment not kept (附件未保存): 发票.pdf, %d bytes: not a type accepted for "
            "attachments; it stays in the original message]"
            "\n[attachment not kept (附件未保存): page.txt, %d bytes: not a type accepted for "
            "attachments; it stays in the original message]" % (len(exe), len(page)))
    return msg, expect("附件类型", body + "\n" + note, [("photo.jpg", len(photo), "image/jpeg")],
                       sender="张三 <zhangsan@example.cn>")


@case
def too_many_attachments():
    body = "六个附件。"
    msg = MIMEMultipart("mixed")
    msg.attach(MIMEText(body, "plain", "utf-8"))
    atts = []
    for i in range(6):
        data = (b"file %d\n" % i) * (i + 1)
        msg.attach(attachment(data, "text/plain", filename="f%d.txt" % i))
        atts.append(("f%d.txt" % i, len(data), "text/plain"))
    msg = headers(msg, "附件太多")
    note = ("\n[attachment not kept (附件未保存): f5.txt, %d bytes: more than 5 attachments; "
            "it stays in the original message]" % atts[5][1])
    return msg, expect("附件太多", body + "\n" + note, atts[:5],
                       sender="张三 <zhangsan@example.cn>")


@case
def reply_tracking():
    body = "补充材料如下：门牌号是 12 号。"
    msg = headers(MIMEText(body, "plain", "utf-8"), "Re: 您的来信 XJ-20260302-00001 需要补充信息")
    msg["In-Reply-To"] = "<XJ-20260302-00001.1@bureau.example>"
    return msg, expect("Re: 您的来信 XJ-20260302-00001 需要补充信息", body,
                       sender="张三 <zhangsan@example.cn>", tracking="XJ-20260302-00001")


@case
def auto_submitted_no():
    body = "Auto-Submitted: no 的邮件是人写的。"
    msg = headers(MIMEText(body, "plain", "utf-8"), "人工邮件")
    msg["Auto-Submitted"] = "no"
    return msg, expect("人工邮件", body, sender="张三 <zhangsan@example.cn>")


# --- noise --------------------------------------------------------------------------------------

def noise(subject, reason, extra=(), sender="someone@example.cn", body="自动发送的邮件。"):
    msg = headers(MIMEText(body, "plain", "utf-8"), subject, sender=sender)
    for k, v in extra:
        msg[k] = v
    return msg, expect(ignored=reason)


@case
def noise_auto_submitted():
    return noise("Out of office", "auto-submitted", [("Auto-Submitted", "auto-replied")])


@case
def noise_precedence_bulk():
    return noise("Newsletter", "bulk precedence", [("Precedence", "bulk")])


@case
def noise_precedence_junk():
    return noise("Junk", "bulk precedence", [("Precedence", "junk")])


@case
def noise_list_id():
    return noise("[list] hello", "list mail", [("List-Id", "<news.lists.example>")])


@case
def noise_null_sender():
    return noise("Returned", "null sender", [("Return-Path", "<>")])


@case
def noise_no_from():
    msg = MIMEText("没有发件人", "plain", "utf-8")
    msg["To"] = "director@bureau.example"
    msg["Subject"] = "no sender"
    msg["Message-ID"] = "<nofrom@example.cn>"
    return msg, expect(ignored="null sender")


@case
def noise_qq_auto_reply():
    return noise("自动回复: 关于路灯的来信", "qq auto-reply", [("X-QQ-AUTO-REPLY", "1")],
                 sender="12345678@qq.com")


@case
def noise_qq_holiday():
    return noise("假期自动回复", "qq auto-reply", [("X-QQ-HolidayReply", "1")],
                 sender="12345678@qq.com")


@case
def noise_subject_autoreply():
    return noise("自动回复：您好，我已收到", "auto-reply subject", sender="friend@126.com")


@case
def noise_apple():
    return noise("Re: 您的来信", "apple auto-reply", [("X-Apple-Action", "vacation")],
                 sender="me@icloud.com")


# --- bounces: matched to the notice they return by its Message-ID ------------------------------
# Our Message-IDs are civicdesk.OUTBOX-ID.RANDOM@DOMAIN (notifiers/notify.c); a bounce names one
# in the returned message (message/rfc822, text/rfc822-headers, an attached .eml), in quoted
# header lines of its text, or in its own references. Beside each: bounce-ids (the ids in the
# order they are tried) and bounce-reason (the failed recipient's Status and Diagnostic-Code,
# else the subject and first line of the text; "delayed: " when nothing failed).

OURS = "civicdesk.%d.0123456789abcdef@bureau.example"


def returned(outbox, subject="我们已收到您的来信 XJ-20260302-00001", to="citizen@example.cn"):
    """The notice as we sent it (as the notifiers write it: Auto-Submitted, our Message-ID)."""
    m = MIMEText("您好，我们已收到您的来信。", "plain", "utf-8")
    m["From"] = "civicdesk@bureau.example"
    m["To"] = to
    m["Subject"] = Header(subject, "utf-8")
    m["Date"] = DATE
    m["Message-ID"] = "<%s>" % (OURS % outbox)
    m["Auto-Submitted"] = "auto-generated"
    return m


def dsn(action="failed", status="5.1.1",
        diag="smtp; 550 5.1.1 <citizen@example.cn>: Recipient address rejected: user unknown"):
    status_part = MIMEBase("message", "delivery-status")
    per_msg, per_rcpt = Message(), Message()
    per_msg["Reporting-MTA"] = "dns; mx.example.cn"
    per_msg["Arrival-Date"] = DATE
    per_rcpt["Final-Recipient"] = "rfc822; citizen@example.cn"
    per_rcpt["Action"] = action
    per_rcpt["Status"] = status
    if diag:
        per_rcpt["Diagnostic-Code"] = diag
    status_part.set_payload([per_msg, per_rcpt])
    return status_part


def expect_bounce(reason, ids, why):
    exp = expect(ignored=reason)
    exp["bounce_ids"] = ids
    exp["bounce_reason"] = why
    return exp


DIAG = "5.1.1 smtp; 550 5.1.1 <citizen@example.cn>: Recipient address rejected: user unknown"


@case
def noise_dsn_report():
    """RFC 3464 with the returned message's headers only (text/rfc822-headers)."""
    report = MIMEMultipart("report", report_type="delivery-status")
    report.attach(MIMEText("Delivery to the following recipient failed permanently.",
                           "plain", "us-ascii"))
    report.attach(dsn())
    headers_only = MIMEBase("text", "rfc822-headers")
    ret = returned(41)
    headers_only.set_payload(ret.as_string().split("\n\n")[0] + "\n")
    report.attach(headers_only)
    headers(report, "Delivery Status Notification (Failure)", sender="mailer-daemon@mx.example.cn")
    return report, expect_bounce("bounce (delivery status report)", [OURS % 41], DIAG)


@case
def bounce_dsn_rfc822():
    """RFC 3464 with the whole returned message (message/rfc822), a null sender (MAILER-DAEMON)."""
    report = MIMEMultipart("report", report_type="delivery-status")
    report.attach(MIMEText("Your message could not be delivered.", "plain", "us-ascii"))
    report.attach(dsn(diag="smtp; 550 mailbox unavailable"))
    report.attach(MIMEMessage(returned(42)))
    headers(report, "Undelivered Mail Returned to Sender", sender="MAILER-DAEMON@mx.example.cn")
    report["Return-Path"] = "<>"
    return report, expect_bounce("bounce (delivery status report)", [OURS % 42],
                                 "5.1.1 smtp; 550 mailbox unavailable")


@case
def bounce_dsn_delayed():
    """A warning: delivery delayed, still being tried. Not a failure."""
    report = MIMEMultipart("report", report_type="delivery-status")
    report.attach(MIMEText("Delivery has been delayed.", "plain", "us-ascii"))
    report.attach(dsn(action="delayed", status="4.4.7", diag=None))
    report.attach(MIMEMessage(returned(43)))
    headers(report, "Delayed Mail (still being retried)", sender="mailer-daemon@mx.example.cn")
    return report, expect_bounce("bounce (delivery status report)", [OURS % 43],
                                 "delayed: 4.4.7")


@case
def noise_aliyun_bounce():
    """Aliyun (mxhichina): from postmaster@, subject ending 退信, X-Aliyun-Bounce, the returned
    message attached, no delivery-status part."""
    msg = MIMEMultipart("mixed")
    msg.attach(MIMEText("您发送的邮件被退回。\n收件人地址不存在。", "plain", "utf-8"))
    msg.attach(MIMEMessage(returned(44)))
    headers(msg, "系统退信", sender="postmaster@mxhichina.com")
    msg["X-Aliyun-Bounce"] = "1"
    return msg, expect_bounce("bounce (aliyun)", [OURS % 44], "系统退信: 您发送的邮件被退回。")


@case
def bounce_aliyun_eml():
    """Aliyun with the returned message as an attached .eml file (application/octet-stream)."""
    msg = MIMEMultipart("mixed")
    msg.attach(MIMEText("很抱歉，您的邮件无法送达。", "plain", "utf-8"))
    msg.attach(attachment(returned(45).as_bytes(), "application/octet-stream",
                          filename="原邮件.eml"))
    headers(msg, "您的邮件未能送达 退信", sender="postmaster@aliyun.com")
    return msg, expect_bounce("bounce (aliyun)", [OURS % 45],
                              "您的邮件未能送达 退信: 很抱歉，您的邮件无法送达。")


@case
def noise_aliyun_subject_only():
    """An Aliyun bounce that returns nothing: recorded, matched to nothing."""
    return (noise("您的邮件未能送达 退信", "bounce (aliyun)", sender="postmaster@aliyun.com")[0],
            expect_bounce("bounce (aliyun)", [], "您的邮件未能送达 退信: 自动发送的邮件。"))


@case
def noise_exchange_postmaster():
    """Exchange: from postmaster@, a multipart/report whose text is the NDR, the original
    message attached."""
    report = MIMEMultipart("report", report_type="delivery-status")
    report.attach(MIMEText("Delivery has failed to these recipients or groups:\n\n"
                           "citizen@example.cn\nThe e-mail address you entered couldn't be "
                           "found.", "plain", "us-ascii"))
    report.attach(dsn(status="5.1.10", diag="smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound; "
                      "Recipient not found by SMTP address lookup"))
    report.attach(MIMEMessage(returned(46)))
    headers(report, "Undeliverable: 我们已收到您的来信", sender="postmaster@contoso.example")
    return report, expect_bounce(
        "bounce (delivery status report)", [OURS % 46],
        "5.1.10 smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP "
        "address lookup")


@case
def bounce_exchange_plain():
    """An older Exchange or Notes postmaster bounce: plain text, the returned headers quoted in
    it, nothing attached, no report."""
    text = ("Your message did not reach some or all of the intended recipients.\n\n"
            "      Subject:\t我们已收到您的来信\n"
            "      Sent:\t3/2/2026 9:30 AM\n\n"
            "The following recipient(s) cannot be reached:\n\n"
            "      citizen@example.cn on 3/2/2026 9:31 AM\n"
            "            User unknown\n\n"
            "--- original message headers ---\n"
            "From: civicdesk@bureau.example\n"
            "To: citizen@example.cn\n"
            "Message-ID: <%s>\n" % (OURS % 47))
    msg = headers(MIMEText(text, "plain", "utf-8"), "Undeliverable: acknowledgement",
                  sender="postmaster@notes.example")
    return msg, expect_bounce(
        "bounce (postmaster)", [OURS % 47],
        "Undeliverable: acknowledgement: Your message did not reach some or all of the "
        "intended recipients.")


@case
def bounce_references_only():
    """A postmaster bounce that names our message only in its In-Reply-To."""
    msg = headers(MIMEText("Mail delivery failed: mailbox full.", "plain", "utf-8"),
                  "Mail delivery failed", sender="postmaster@example.cn")
    msg["In-Reply-To"] = "<%s>" % (OURS % 48)
    return msg, expect_bounce("bounce (postmaster)", [OURS % 48],
                              "Mail delivery failed: Mail delivery failed: mailbox full.")


@case
def noise_read_receipt():
    """A read receipt (RFC 8098) is no bounce."""
    report = MIMEMultipart("report", report_type="disposition-notification")
    report.attach(MIMEText("Your message was displayed.", "plain", "us-ascii"))
    mdn = MIMEBase("message", "disposition-notification")
    mdn.set_payload("Final-Recipient: rfc822; citizen@example.cn\n"
                    "Disposition: manual-action/MDN-sent-manually; displayed\n")
    report.attach(mdn)
    headers(report, "Read: 我们已收到您的来信", sender="citizen@example.cn")
    return report, expect(ignored="read receipt")


def write_case(name, msg, exp):
    d = os.path.join(HERE, name)
    if os.path.isdir(d):
        shutil.rmtree(d)
    os.makedirs(d)
    if not isinstance(msg, bytes):
        for i, part in enumerate(msg.walk()):  # fixed boundaries: the same bytes every run
            if part.is_multipart():
                part.set_boundary("=_corpus_%s_%d" % (name, i))
    data = msg if isinstance(msg, bytes) else msg.as_bytes()
    with open(os.path.join(d, "message.eml"), "wb") as f:
        f.write(data)

    def put(fname, text):
        with open(os.path.join(d, fname), "w", encoding="utf-8") as f:
            f.write(text)

    if exp["ignored"]:
        put("ignored", exp["ignored"] + "\n")
        if "bounce_ids" in exp:
            put("bounce-ids", "".join(i + "\n" for i in exp["bounce_ids"]))
            put("bounce-reason", exp["bounce_reason"] + "\n")
        return
    put("subject", exp["subject"] + "\n")
    put("body", exp["body"] + "\n")
    put("kind", exp["kind"] + "\n")
    if exp["sender"]:
        put("from", exp["sender"] + "\n")
    if exp["tracking"]:
        put("tracking", exp["tracking"] + "\n")
    lines = []
    for fname, size, ctype in exp["atts"]:
        if size is None:  # an attached message: its size as GMime writes it back, not checked
            lines.append("%s\t*\t%s\n" % (fname, ctype))
        else:
            lines.append("%s\t%d\t%s\n" % (fname, size, ctype))
    put("attachments", "".join(lines))


def main():
    global CURRENT
    for fn in CASES:
        CURRENT = fn.__name__.replace("_", "-")
        msg, exp = fn()
        write_case(CURRENT, msg, exp)
    print("wrote %d cases in %s" % (len(CASES), HERE))


if __name__ == "__main__":
    sys.exit(main())
