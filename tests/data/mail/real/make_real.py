#!/usr/bin/env python3
"""Writes the hand-laid corpus of real-world mail: each message below is spelled out line by
line as the named client or server writes it (header order, folding, boundaries, encodings,
line ends), not built by Python's email package. Only the encoded payloads are computed here
(base64 / quoted-printable of the text in the charset the client uses), so that the expected
text stays readable beside them. One folder per case under tests/data/mail/real/:
  message.eml   the message
  exit          the exit code of ingest-mail when not 0 (then nothing else: no line, no item)
  ignored       the reason, for mail that makes no item ("ignored: REASON" is the line)
  bounce-ids, bounce-reason  for bounces: the Message-IDs named, and why delivery failed
  subject, body the item's subject and body (UTF-8) as GET /api/v1/items shows them
  attachments   one line per kept attachment: filename TAB size TAB content type
  from          the sender: "name <address>", or the address alone
  kind          letter | complaint | consultation (from the receiving address)
  lang          the citizen's language the item records (zh-Hans | zh-Hant | en), when given
The expected values are written from the inputs here, never from civicdesk's output.
Run: python3 tests/data/mail/real/make_real.py (rewrites every case; deterministic)."""
import base64
import os
import quopri
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = []

# small files whose content types civicdesk recognises by their first bytes
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00" \
      b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N" \
      b"\x00\x00\x00\x00IEND\xaeB`\x82"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + \
       bytes(range(256)) * 3 + b"\xff\xd9"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
# a TNEF stream (winmail.dat): its signature, then attributes civicdesk does not read
TNEF = b"\x78\x9f\x3e\x22\x01\x00\x01\x06\x90\x08\x00\x04\x00\x00\x00\x00\x00\x01\x00" + \
       bytes(range(200))
# a DER-encoded PKCS #7 SignedData (its start; the rest stands in for the certificates)
P7S = b"\x30\x82\x06\x1f\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x02\xa0\x82\x06\x10" + \
      bytes(range(256)) * 6


def case(fn):
    CASES.append(fn)
    return fn


def b64(data, width=76):
    """base64 lines of data, width characters each."""
    s = base64.b64encode(data).decode()
    return "\n".join(s[i:i + width] for i in range(0, len(s), width))


def bw(text, label, codec=None):
    """One RFC 2047 B word of text in codec, labelled label."""
    return "=?%s?B?%s?=" % (label, base64.b64encode(text.encode(codec or label)).decode())


def qp(text, codec):
    """Quoted-printable of text in codec (LF line ends), soft breaks at 76."""
    return quopri.encodestring(text.encode(codec)).decode("ascii")


def expect(subject=None, body=None, attachments=(), sender=None, kind=None, ignored=None,
           exit=0, bounce_ids=(), bounce_reason=None, lang=None):
    return {"subject": subject, "body": body, "attachments": list(attachments),
            "from": sender, "kind": kind, "ignored": ignored, "exit": exit,
            "bounce_ids": list(bounce_ids), "bounce_reason": bounce_reason, "lang": lang}


def crlf(s):
    return s.replace("\r\n", "\n").replace("\n", "\r\n")


# --- Chinese webmail and desktop clients ---------------------------------------------------

@case
def foxmail_gbk_in_gb2312():
    """Foxmail 7.2: GBK characters (喆, 镕) labelled gb2312 in the subject, the text and the
    attachment's encoded-word file name; CRLF; text and HTML alternatives, then the file."""
    subject = "关于喆园小区噪音扰民的投诉"
    text = "局长您好：\n\n喆园小区旁的工地每晚施工到凌晨两点，朱镕先生等住户无法休息。\n请尽快处理。\n\n王芳"
    html = ("<html><head><meta http-equiv=\"content-type\" content=\"text/html; charset=gb2312\">"
            "<style>body { line-height: 1.5; }</style></head><body>\n"
            "<div><span></span>局长您好：</div><div><br></div>"
            "<div>喆园小区旁的工地每晚施工到凌晨两点，朱镕先生等住户无法休息。</div>"
            "<div>请尽快处理。</div><div><br></div><div>王芳</div></body></html>")
    name = "现场照片喆.jpg"
    msg = crlf(f"""Date: Mon, 2 Mar 2026 10:30:12 +0800
From: "{bw("王芳", "gb2312", "gbk")}" <wangfang@foxmail.com>
To: director <director@bureau.example>
Subject: {bw(subject, "gb2312", "gbk")}
X-Priority: 3
X-GUID: 5A4C7E2B-1D3F-4B6A-9C8E-2F1A3B4C5D6E
X-Has-Attach: yes
X-Mailer: Foxmail 7.2.25.228[cn]
Mime-Version: 1.0
Message-ID: <202603021030124853271@foxmail.com>
Content-Type: multipart/mixed;
	boundary="----=_001_NextPart345678901234_=----"

This is a multi-part message in MIME format.

------=_001_NextPart345678901234_=----
Content-Type: multipart/alternative;
	boundary="----=_002_NextPart456789012345_=----"


------=_002_NextPart456789012345_=----
Content-Type: text/plain;
	charset="gb2312"
Content-Transfer-Encoding: base64

{b64(text.replace(chr(10), chr(13) + chr(10)).encode("gbk"))}

------=_002_NextPart456789012345_=----
Content-Type: text/html;
	charset="gb2312"
Content-Transfer-Encoding: base64

{b64(html.encode("gbk"))}

------=_002_NextPart456789012345_=------

------=_001_NextPart345678901234_=----
Content-Type: application/octet-stream;
	name="{bw(name, "gb2312", "gbk")}"
Content-Transfer-Encoding: base64
Content-Disposition: attachment;
	filename="{bw(name, "gb2312", "gbk")}"

{b64(JPEG)}

------=_001_NextPart345678901234_=------

""")
    return msg, expect(subject, text, [(name, len(JPEG), "image/jpeg")],
                       "王芳 <wangfang@foxmail.com>", "letter", lang="zh-Hans")


@case
def qq_webmail_gb18030():
    """QQ Mail's web client: gb18030 text and HTML alternatives, the sender's name and the file
    name as gb18030 encoded words (the file name's inside quotes), &nbsp; in the text/plain."""
    subject = "咨询：社保卡补办需要哪些材料？"
    text_sent = "您好！\n\n&nbsp;&nbsp;请问社保卡丢失后补办需要带哪些材料？\n谢谢！"
    text = "您好！\n\n  请问社保卡丢失后补办需要带哪些材料？\n谢谢！"
    html = ("<meta http-equiv=\"Content-Type\" content=\"text/html; charset=GB18030\">"
            "<div>您好！</div><div><br></div><div>&nbsp;&nbsp;请问社保卡丢失后补办需要带哪些材料？"
            "</div><div>谢谢！</div>")
    name = "身份证复印件.pdf"
    msg = crlf(f"""From: "{bw("小李", "gb18030")}" <1234567890@qq.com>
To: "consult" <ask@bureau.example>
Subject: {bw(subject, "gb18030")}
Mime-Version: 1.0
Content-Type: multipart/mixed;
	boundary="----=_NextPart_69A4F3C2_0C5E7D10_2B3F4A5C"
Content-Transfer-Encoding: 8Bit
Date: Mon, 2 Mar 2026 11:02:58 +0800
X-Priority: 3
Message-ID: <tencent_3F2A1B0C9D8E7F6A5B4C3D2E@qq.com>
X-QQ-MIME: TCMime 1.0 by Tencent
X-Mailer: QQMail 2.x
X-QQ-Mailer: QQMail 2.x

This is a multi-part message in MIME format.

------=_NextPart_69A4F3C2_0C5E7D10_2B3F4A5C
Content-Type: multipart/alternative;
	boundary="----=_NextPart_69A4F3C2_0C5E7D10_5D6E7F80";

------=_NextPart_69A4F3C2_0C5E7D10_5D6E7F80
Content-Type: text/plain;
	charset="gb18030"
Content-Transfer-Encoding: base64

{b64(text_sent.encode("gb18030"))}

------=_NextPart_69A4F3C2_0C5E7D10_5D6E7F80
Content-Type: text/html;
	charset="gb18030"
Content-Transfer-Encoding: base64

{b64(html.encode("gb18030"))}

------=_NextPart_69A4F3C2_0C5E7D10_5D6E7F80--

------=_NextPart_69A4F3C2_0C5E7D10_2B3F4A5C
Content-Type: application/octet-stream;
	charset="gb18030";
	name="{bw(name, "gb18030")}"
Content-Disposition: attachment; filename="{bw(name, "gb18030")}"
Content-Transfer-Encoding: base64

{b64(PDF)}

------=_NextPart_69A4F3C2_0C5E7D10_2B3F4A5C--

""")
    return msg, expect(subject, text, [(name, len(PDF), "application/pdf")],
                       "小李 <1234567890@qq.com>", "consultation", lang="zh-Hans")


@case
def netease_163_coremail():
    """163 Mail (Coremail): a long GBK subject cut into B words inside a character, GBK text
    and HTML, an image attachment with a GBK encoded-word name; LF line ends as piped."""
    subject = "投诉：和平路与建设路交叉口的红绿灯已经坏了整整两个星期，早晚高峰严重拥堵，请相关部门尽快修复"
    raw = subject.encode("gbk")
    cut = [raw[:45], raw[45:91], raw[91:]]  # 45 and 91 fall inside characters
    words = "\n\t".join("=?GBK?B?%s?=" % base64.b64encode(c).decode() for c in cut)
    text = "尊敬的领导：\n和平路与建设路交叉口的红绿灯坏了两周，附上照片。\n市民 张先生"
    html = ("<div style=\"line-height:1.7;color:#000000;font-size:14px;font-family:Arial\">"
            "<div>尊敬的领导：</div><div>和平路与建设路交叉口的红绿灯坏了两周，附上照片。</div>"
            "<div>市民 张先生</div></div><br><br><span title=\"neteasefooter\"><p>&nbsp;</p></span>")
    name = "红绿灯.png"
    msg = f"""Date: Mon, 2 Mar 2026 08:15:40 +0800 (CST)
From: "=?GBK?B?{base64.b64encode("张先生".encode("gbk")).decode()}?=" <zhang_xs@163.com>
To: complaint@bureau.example
Subject: {words}
X-Priority: 3
X-Mailer: Coremail Webmail Server Version XT5.0.14 build 20230109(dcb5de15)
 Copyright (c) 2002-2026 www.mailtech.cn 163com
X-NTES-SC: AL_Qu2bBvSYt0Eo5CSQYekfmk0TgOw3XcC5uf8i2YBWOpp+jD/p/hAnZ21lBXrx+dKDDiWBnBeyQQ==
Content-Type: multipart/mixed; 
	boundary="----=_Part_317052_1584329042.1772410540123"
MIME-Version: 1.0
Message-ID: <4c2f7a1b.3e5d.18e0f1a2b3c.Coremail.zhang_xs@163.com>
X-Coremail-Locale: zh_CN
X-CM-TRANSID:_____wDnj1E8b+RlP2cAAA--.12345S2
X-Coremail-Antispam: 1U5529EdanIXcx71UUUUU7vcSsGvfC2KfnxnUU==
X-CM-SenderInfo: p2kqjx5sv6il2tof0z/1tbiFBN8Jl44Y2aa8gABs2

------=_Part_317052_1584329042.1772410540123
Content-Type: multipart/alternative; 
	boundary="----=_Part_317054_2046184711.1772410540123"

------=_Part_317054_2046184711.1772410540123
Content-Type: text/plain; charset=GBK
Content-Transfer-Encoding: base64

{b64(text.encode("gbk"))}
------=_Part_317054_2046184711.1772410540123
Content-Type: text/html; charset=GBK
Content-Transfer-Encoding: base64

{b64(html.encode("gbk"))}
------=_Part_317054_2046184711.1772410540123--

------=_Part_317052_1584329042.1772410540123
Content-Type: image/png; name="=?GBK?B?{base64.b64encode(name.encode("gbk")).decode()}?="
Content-Transfer-Encoding: base64
Content-Disposition: attachment; filename="=?GBK?B?{base64.b64encode(name.encode("gbk")).decode()}?="

{b64(PNG)}
------=_Part_317052_1584329042.1772410540123--
"""
    return msg, expect(subject, text, [(name, len(PNG), "image/png")], "张先生 <zhang_xs@163.com>", "complaint",
                       lang="zh-Hans")


# --- Outlook ---------------------------------------------------------------------------------

OUTLOOK_HTML = """<html xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office" xmlns:w="urn:schemas-microsoft-com:office:word" xmlns:m="http://schemas.microsoft.com/office/2004/12/omml" xmlns="http://www.w3.org/TR/REC-html40">
<head>
<meta http-equiv="Content-Type" content="text/html; charset=gb2312">
<meta name="Generator" content="Microsoft Word 15 (filtered medium)">
<style><!--
/* Font Definitions */
@font-face
	{font-family:DengXian;
	panose-1:2 1 6 0 3 1 1 1 1 1;}
p.MsoNormal, li.MsoNormal, div.MsoNormal
	{margin:0cm;
	text-align:justify;
	font-size:10.5pt;
	font-family:DengXian;}
.MsoChpDefault
	{mso-style-type:export-only;}
--></style><!--[if gte mso 9]><xml>
<o:shapedefaults v:ext="edit" spidmax="1026" />
</xml><![endif]--><!--[if gte mso 9]><xml>
<o:shapelayout v:ext="edit">
<o:idmap v:ext="edit" data="1" />
</o:shapelayout></xml><![endif]-->
</head>
<body lang="ZH-CN" link="#0563C1" vlink="#954F72" style="text-justify-trim:punctuation">
<div class="WordSection1">
<p class="MsoNormal">尊敬的局长：<span lang="EN-US"><o:p></o:p></span></p>
<p class="MsoNormal"><span lang="EN-US"><o:p>&nbsp;</o:p></span></p>
<p class="MsoNormal"><span lang="EN-US">&nbsp;&nbsp;&nbsp; </span>我单位于<span lang="EN-US">3</span>月<span lang="EN-US">1</span>日提交的&#8220;营业执照变更&#8221;申请至今未办结，请协助查询。<span lang="EN-US"><o:p></o:p></span></p>
<p class="MsoNormal">附件：申请回执<span lang="EN-US"> &amp; </span>受理通知书<span lang="EN-US"><o:p></o:p></span></p>
<p class="MsoNormal"><span lang="EN-US"><o:p>&nbsp;</o:p></span></p>
<p class="MsoNormal">此致<br>敬礼<span lang="EN-US"><o:p></o:p></span></p>
</div>
</body>
</html>
"""


@case
def outlook_html_only_word():
    """Outlook 2016 sending HTML only (Word's HTML: conditional comments, <o:p>, styles in
    comments, &nbsp; paragraphs, &#8220; references, <br> inside a paragraph), gb2312 QP."""
    subject = "营业执照变更申请进度查询"
    body = ("尊敬的局长：\n\n    我单位于3月1日提交的\u201c营业执照变更\u201d申请至今未办结，请协助查询。\n"
            "附件：申请回执 & 受理通知书\n\n此致\n敬礼")
    msg = crlf(f"""From: "{bw("赵敏", "gb2312")}" <zhaomin@company.example.com>
To: "director@bureau.example" <director@bureau.example>
Subject: {bw(subject, "gb2312")}
Date: Mon, 2 Mar 2026 14:21:07 +0800
Message-ID: <000001dcab12$3f4e5a60$bdeb0f20$@company.example.com>
MIME-Version: 1.0
Content-Type: text/html;
	charset="gb2312"
Content-Transfer-Encoding: quoted-printable
X-Mailer: Microsoft Outlook 16.0
Thread-Index: AdyrEjw3KbqFh1c8TRGZr3iHvbTCUA==
Content-Language: zh-cn

{qp(OUTLOOK_HTML, "gb2312")}""")
    return msg, expect(subject, body, [], "赵敏 <zhaomin@company.example.com>", "letter")


@case
def outlook_tnef_winmail():
    """Outlook's rich text to an outside address: the text, then winmail.dat
    (application/ms-tnef), which holds Outlook's own copy of the message and its files."""
    subject = "反映占道经营问题"
    text = "您好：\n中山路菜市场门口长期占道经营，影响通行。\n详见附件。"
    msg = crlf(f"""From: =?gb2312?B?{base64.b64encode("刘洋".encode("gb2312")).decode()}?= <liuyang@outlook.example>
To: complaint@bureau.example
Subject: =?gb2312?B?{base64.b64encode(subject.encode("gb2312")).decode()}?=
Thread-Topic: =?gb2312?B?{base64.b64encode(subject.encode("gb2312")).decode()}?=
Thread-Index: AdyrEkFfS1x2c3RhcnRlZA==
Date: Mon, 2 Mar 2026 09:12:44 +0000
Message-ID: <HK0PR03MB456789AB12CD34EF5678@HK0PR03MB4567.apcprd03.prod.outlook.example>
Accept-Language: zh-CN, en-US
Content-Language: zh-CN
X-MS-Has-Attach: yes
X-MS-TNEF-Correlator: <HK0PR03MB456789AB12CD34EF5678@HK0PR03MB4567.apcprd03.prod.outlook.example>
Content-Type: multipart/mixed;
	boundary="_000_HK0PR03MB456789AB12CD34EF5678HK0PR03MB4567apcp_"
MIME-Version: 1.0

--_000_HK0PR03MB456789AB12CD34EF5678HK0PR03MB4567apcp_
Content-Type: text/plain; charset="gb2312"
Content-Transfer-Encoding: base64

{b64(text.replace(chr(10), chr(13) + chr(10)).encode("gb2312"))}

--_000_HK0PR03MB456789AB12CD34EF5678HK0PR03MB4567apcp_
Content-Disposition: attachment; filename="winmail.dat"
Content-Transfer-Encoding: base64
Content-Type: application/ms-tnef; name="winmail.dat"

{b64(TNEF)}

--_000_HK0PR03MB456789AB12CD34EF5678HK0PR03MB4567apcp_--
""")
    note = ("\n\n[attachment not kept (附件未保存): winmail.dat, %d bytes: Outlook's rich-text "
            "package (TNEF): the files inside it cannot be read here; send them again with "
            "Outlook's message format set to HTML or plain text; it stays in the original "
            "message]" % len(TNEF))
    return msg, expect(subject, text + note, [], "刘洋 <liuyang@outlook.example>", "complaint")


@case
def outlook_forward_as_attachment():
    """Outlook's "forward as attachment": the citizen's note, then the earlier message
    (message/rfc822) whose HTML is quoted-printable: kept as an .eml file."""
    inner = crlf(f"""From: =?gb2312?B?{base64.b64encode("物业公司".encode("gb2312")).decode()}?= <service@wuye.example>
To: <resident@outlook.example>
Subject: =?gb2312?B?{base64.b64encode("停水通知".encode("gb2312")).decode()}?=
Date: Fri, 27 Feb 2026 17:00:00 +0800
Message-ID: <001a01dca9f0$11223344$55667788@wuye.example>
MIME-Version: 1.0
Content-Type: multipart/alternative;
	boundary="----=_NextPart_000_001B_01DCA9F0.11223344"

------=_NextPart_000_001B_01DCA9F0.11223344
Content-Type: text/plain;
	charset="gb2312"
Content-Transfer-Encoding: quoted-printable

{qp("明日起停水三天。", "gb2312")}
------=_NextPart_000_001B_01DCA9F0.11223344
Content-Type: text/html;
	charset="gb2312"
Content-Transfer-Encoding: quoted-printable

{qp("<html><body><p>明日起停水三天。</p></body></html>", "gb2312")}
------=_NextPart_000_001B_01DCA9F0.11223344--
""")
    subject = "转发: 停水通知"
    text = "物业未提前告知就停水三天，请查处。"
    msg = crlf(f"""From: resident@outlook.example
To: complaint@bureau.example
Subject: =?gb2312?B?{base64.b64encode(subject.encode("gb2312")).decode()}?=
Date: Mon, 2 Mar 2026 08:01:00 +0800
Message-ID: <002b01dcab30$aabbccdd$eeff0011@outlook.example>
MIME-Version: 1.0
Content-Type: multipart/mixed;
	boundary="----=_NextPart_000_002C_01DCAB30.AABBCCDD"
X-Mailer: Microsoft Outlook 16.0

This is a multipart message in MIME format.

------=_NextPart_000_002C_01DCAB30.AABBCCDD
Content-Type: text/plain;
	charset="gb2312"
Content-Transfer-Encoding: quoted-printable

{qp(text, "gb2312")}
------=_NextPart_000_002C_01DCAB30.AABBCCDD
Content-Type: message/rfc822

{inner}
------=_NextPart_000_002C_01DCAB30.AABBCCDD--
""")
    return msg, expect(subject, text, [("停水通知.eml", "*", "text/plain")],
                       "resident@outlook.example", "complaint", lang="zh-Hans")


@case
def thunderbird_forward_as_attachment():
    """Thunderbird's "Forward As Attachment" of a notice in 8bit UTF-8 text: the message kept
    as its .eml file byte for byte (its exact size), named as Thunderbird names it."""
    inner = f"""Return-Path: <notice@water.example>
Received: from mx.water.example (mx.water.example [192.0.2.7])
	by mx.mail.example.org with ESMTPS id 4Zq1x2y3
	for <wanglei@mail.example.org>; Fri, 27 Feb 2026 17:00:05 +0800 (CST)
From: =?UTF-8?B?{base64.b64encode("自来水公司".encode()).decode()}?= <notice@water.example>
To: wanglei@mail.example.org
Subject: =?UTF-8?B?{base64.b64encode("停水通知".encode()).decode()}?=
Date: Fri, 27 Feb 2026 17:00:00 +0800
Message-ID: <notice-20260227@water.example>
MIME-Version: 1.0
Content-Type: text/plain; charset=UTF-8
Content-Transfer-Encoding: 8bit

因管道维修，3月2日至3月4日停水。
"""
    text = "自来水公司连续三天停水，事先没有通知。"
    msg = f"""Message-ID: <3c4d5e6f-7081-92a3-b4c5-d6e7f8091a2b@mail.example.org>
Date: Mon, 2 Mar 2026 08:30:00 +0800
MIME-Version: 1.0
User-Agent: Mozilla Thunderbird
Content-Language: zh-CN
To: complaint@bureau.example
From: Wang Lei <wanglei@mail.example.org>
Subject: =?UTF-8?B?{base64.b64encode("Fwd: 停水通知".encode()).decode()}?=
Content-Type: multipart/mixed; boundary="------------Lm5Nb6Vc7Xz8Aq9Sw0De1Rf2"

This is a multi-part message in MIME format.
--------------Lm5Nb6Vc7Xz8Aq9Sw0De1Rf2
Content-Type: text/plain; charset=UTF-8
Content-Transfer-Encoding: 8bit

{text}

--------------Lm5Nb6Vc7Xz8Aq9Sw0De1Rf2
Content-Type: message/rfc822; charset=UTF-8; name="=?UTF-8?B?{base64.b64encode("停水通知.eml".encode()).decode()}?="
Content-Disposition: attachment;
 filename*=UTF-8''{"".join("%%%02X" % b for b in "停水通知.eml".encode())}

{inner}
--------------Lm5Nb6Vc7Xz8Aq9Sw0De1Rf2--
"""
    return msg, expect("Fwd: 停水通知", text, [("停水通知.eml", len(inner.encode()), "text/plain")],
                       "Wang Lei <wanglei@mail.example.org>", "complaint")


# --- Apple Mail, Gmail, Thunderbird ----------------------------------------------------------

def flow(paragraph, width, delsp):
    """paragraph as format=flowed lines of width characters: each but the last ends in a
    space (with DelSp=yes an added one)."""
    lines = [paragraph[i:i + width] for i in range(0, len(paragraph), width)]
    return "\n".join(l + " " for l in lines[:-1]) + ("\n" if len(lines) > 1 else "") + lines[-1]


@case
def apple_mail_flowed_delsp():
    """Apple Mail: text/plain; delsp=yes; format=flowed in quoted-printable (the flowed spaces
    at line ends as =20), a quoted earlier message, then the HTML alternative; an inline photo
    named with RFC 2231 (filename*=utf-8''…) and x-unix-mode."""
    p1 = "我家楼下的烧烤店每天晚上十点以后还在营业，油烟直接排进居民楼的通风井，整栋楼的住户都深受其害，多次和店主沟通无果。"
    p2 = "希望环保部门能够上门检查，督促其安装油烟净化设备。"
    quoted = "> 您好，请说明具体地址。"
    sent = flow(p1, 30, True) + "\n\n" + p2 + "\n\n" + quoted + "\n"
    text = p1 + "\n\n" + p2 + "\n\n" + quoted
    name = "油烟.jpeg"
    enc = "".join("%%%02X" % b for b in name.encode("utf-8"))
    msg = f"""From: =?utf-8?B?{base64.b64encode("陈晨".encode()).decode()}?= <chenchen@icloud.example>
Content-Type: multipart/mixed;
	boundary="Apple-Mail=_8A2E1B7C-4D3F-4E5A-9B6C-7D8E9F0A1B2C"
Mime-Version: 1.0 (Mac OS X Mail 16.0 \\(3774.300.61.1.2\\))
Subject: =?utf-8?B?{base64.b64encode("烧烤店油烟扰民".encode()).decode()}?=
Message-Id: <6F1E2D3C-4B5A-4968-8776-A5B4C3D2E1F0@icloud.example>
Date: Mon, 2 Mar 2026 21:40:02 +0800
To: complaint@bureau.example
X-Mailer: Apple Mail (2.3774.300.61.1.2)


--Apple-Mail=_8A2E1B7C-4D3F-4E5A-9B6C-7D8E9F0A1B2C
Content-Transfer-Encoding: quoted-printable
Content-Type: text/plain;
	charset=utf-8;
	delsp=yes;
	format=flowed

{qp(sent, "utf-8")}
--Apple-Mail=_8A2E1B7C-4D3F-4E5A-9B6C-7D8E9F0A1B2C
Content-Disposition: inline;
	filename*=utf-8''{enc}
Content-Type: image/jpeg;
	x-unix-mode=0644;
	name="=?utf-8?B?{base64.b64encode(name.encode()).decode()}?="
Content-Transfer-Encoding: base64

{b64(JPEG)}
--Apple-Mail=_8A2E1B7C-4D3F-4E5A-9B6C-7D8E9F0A1B2C--
"""
    return msg, expect("烧烤店油烟扰民", text, [(name, len(JPEG), "image/jpeg")],
                       "陈晨 <chenchen@icloud.example>", "complaint", lang="zh-Hans")


@case
def gmail_qp_split_characters():
    """Gmail: text/plain and text/html in quoted-printable whose soft line breaks fall inside
    UTF-8 characters, the subject in several B words, a PDF named with a B word."""
    subject = "关于在线办理不动产登记时系统反复提示身份验证失败的问题反映与建议"
    text = ("您好，我在贵局网站办理不动产登记时，系统反复提示“身份验证失败”，已经尝试了五次以上，"
            "更换浏览器和手机号也没有用。请帮忙查看是什么原因。\n\n谢谢！\n孙丽")
    html = ('<div dir="ltr"><div>您好，我在贵局网站办理不动产登记时，系统反复提示“身份验证失败”，'
            '已经尝试了五次以上，更换浏览器和手机号也没有用。请帮忙查看是什么原因。</div><div><br>'
            '</div><div>谢谢！</div><div>孙丽</div></div>')
    raw = subject.encode()
    words = []
    i = 0
    while i < len(raw):  # whole characters per word, as Gmail writes them
        j = min(len(raw), i + 39)
        while j < len(raw) and (raw[j] & 0xC0) == 0x80:
            j -= 1
        words.append("=?UTF-8?B?%s?=" % base64.b64encode(raw[i:j]).decode())
        i = j
    name = "错误截图说明.pdf"
    assert "=\n" in qp(text, "utf-8")
    msg = crlf(f"""MIME-Version: 1.0
Date: Mon, 2 Mar 2026 10:05:33 +0800
Message-ID: <CAF3x9qN7b2kR+5yQ8mZ1wV4pL6tH0sD2cE9gU3jA7oB1iK5nXw@mail.gmail.example>
Subject: {(chr(10) + " ").join(words)}
From: =?UTF-8?B?{base64.b64encode("孙丽".encode()).decode()}?= <sunli.citizen@gmail.example>
To: ask@bureau.example
Content-Type: multipart/mixed; boundary="0000000000004e5f3a0613c2a1b7"

--0000000000004e5f3a0613c2a1b7
Content-Type: multipart/alternative; boundary="0000000000004e5f380613c2a1b5"

--0000000000004e5f380613c2a1b5
Content-Type: text/plain; charset="UTF-8"
Content-Transfer-Encoding: quoted-printable

{qp(text, "utf-8")}
--0000000000004e5f380613c2a1b5
Content-Type: text/html; charset="UTF-8"
Content-Transfer-Encoding: quoted-printable

{qp(html, "utf-8")}
--0000000000004e5f380613c2a1b5--
--0000000000004e5f3a0613c2a1b7
Content-Type: application/pdf; name="{bw(name, "UTF-8")}"
Content-Disposition: attachment; filename="{bw(name, "UTF-8")}"
Content-Transfer-Encoding: base64
Content-ID: <f_m7q2x1ab0>
X-Attachment-Id: f_m7q2x1ab0

{b64(PDF)}
--0000000000004e5f3a0613c2a1b7--
""")
    return msg, expect(subject, text, [(name, len(PDF), "application/pdf")],
                       "孙丽 <sunli.citizen@gmail.example>", "consultation")


@case
def thunderbird_flowed_rfc2231():
    """Thunderbird: 8bit UTF-8 format=flowed (no DelSp: the spaces between English words stay),
    a long non-ASCII file name as RFC 2231 continuations (filename*0*=, filename*1*=) in
    Content-Disposition and an RFC 2047 name in Content-Type."""
    para = ("Dear Sir or Madam, the street lights on Renmin Road between No. 12 and No. 48 have "
            "been off for a week and the pavement is dark at night.")
    # broken only at spaces, as Thunderbird does
    words, lines, cur = para.split(" "), [], ""
    for w in words:
        if cur and len(cur) + 1 + len(w) > 70:
            lines.append(cur + " ")
            cur = w
        else:
            cur = cur + " " + w if cur else w
    lines.append(cur)
    sent = "\n".join(lines)
    text = para + "\n\n-- \nWang Lei\n人民路12号"
    sent += "\n\n-- \nWang Lei\n人民路12号\n"
    name = "人民路路灯损坏情况及位置示意图（二〇二六年三月）.pdf"
    enc = "".join("%%%02X" % b for b in name.encode("utf-8"))
    c1, c2 = enc[:60], enc[60:]
    assert not c1.endswith("%") and c1[-2] != "%"
    msg = f"""Message-ID: <7b3c9e2a-1f4d-4b8e-a6c5-0d9e8f7a6b5c@mail.example.org>
Date: Mon, 2 Mar 2026 19:20:11 +0800
MIME-Version: 1.0
User-Agent: Mozilla Thunderbird
Content-Language: en-US
To: director@bureau.example
From: Wang Lei <wanglei@mail.example.org>
Subject: Street lights on Renmin Road
Content-Type: multipart/mixed; boundary="------------b9P2cK4mT7vXq1Wz3Yd8LhFs"

This is a multi-part message in MIME format.
--------------b9P2cK4mT7vXq1Wz3Yd8LhFs
Content-Type: text/plain; charset=UTF-8; format=flowed
Content-Transfer-Encoding: 8bit

{sent}
--------------b9P2cK4mT7vXq1Wz3Yd8LhFs
Content-Type: application/pdf;
 name="{bw(name, "UTF-8")}"
Content-Disposition: attachment;
 filename*0*=UTF-8''{c1};
 filename*1*={c2}
Content-Transfer-Encoding: base64

{b64(PDF)}

--------------b9P2cK4mT7vXq1Wz3Yd8LhFs--
"""
    return msg, expect("Street lights on Renmin Road", text,
                       [(name, len(PDF), "application/pdf")], "Wang Lei <wanglei@mail.example.org>", "letter")


# --- charsets --------------------------------------------------------------------------------

@case
def iso2022jp_japanese():
    """A Japanese mailer: ISO-2022-JP text and subject, 7bit (escape sequences, no 8-bit
    byte): decoded as ISO-2022-JP, not taken as ASCII."""
    subject = "ゴミ収集日についての問い合わせ"
    text = "お世話になっております。\n燃えるゴミの収集日を教えてください。\n山田"
    body = text.encode("iso-2022-jp").decode("ascii")
    msg = f"""From: =?ISO-2022-JP?B?{base64.b64encode("山田太郎".encode("iso-2022-jp")).decode()}?= <yamada@example.jp>
To: ask@bureau.example
Subject: =?ISO-2022-JP?B?{base64.b64encode(subject.encode("iso-2022-jp")).decode()}?=
Date: Mon, 02 Mar 2026 11:11:11 +0900
Message-Id: <20260302111111.A1B2C3@example.jp>
MIME-Version: 1.0
Content-Type: text/plain; charset=ISO-2022-JP
Content-Transfer-Encoding: 7bit
X-Mailer: Becky! ver. 2.81.04

{body}
"""
    return msg, expect(subject, text, [], "山田太郎 <yamada@example.jp>", "consultation")


@case
def big5_outlook_express_qp():
    """Traditional Chinese from Outlook Express in Big5, quoted-printable, subject in a Q word."""
    subject = "申請補發戶籍謄本"
    text = "您好：\n本人欲申請補發戶籍謄本，請問應備哪些文件？\n陳大文 敬上"
    q = "".join("=%02X" % b for b in subject.encode("big5"))
    msg = crlf(f"""From: "=?big5?B?{base64.b64encode("陳大文".encode("big5")).decode()}?=" <chantaiman@hinet.example>
To: <ask@bureau.example>
Subject: =?big5?Q?{q}?=
Date: Mon, 2 Mar 2026 09:00:00 +0800
MIME-Version: 1.0
Content-Type: text/plain;
	charset="big5"
Content-Transfer-Encoding: quoted-printable
X-Priority: 3
X-MSMail-Priority: Normal
X-Mailer: Microsoft Outlook Express 6.00.2900.5931
X-MimeOLE: Produced By Microsoft MimeOLE V6.00.2900.6157

{qp(text, "big5")}""")
    return msg, expect(subject, text, [], "陳大文 <chantaiman@hinet.example>", "consultation",
                       lang="zh-Hant")


@case
def q_words_split_mid_character():
    """Q-encoded words of UTF-8 cut inside characters (as some PHP mailers and Coremail's Q
    mode write them): the bytes of adjacent words of one charset join before decoding."""
    subject = "关于公交线路调整的意见"
    raw = subject.encode("utf-8")
    parts = [raw[:4], raw[4:11], raw[11:20], raw[20:]]  # each cut falls inside a character
    words = " ".join("=?utf-8?Q?%s?=" % "".join("=%02X" % b for b in p) for p in parts)
    text = "建议恢复 8 路公交在人民公园站的停靠。"
    msg = f"""Return-Path: <noreply-form@portal.example>
From: =?utf-8?Q?=E5=91=A8=E6=9D=B0?= <zhoujie@example.cn>
To: director@bureau.example
Subject: {words}
Date: Mon, 02 Mar 2026 12:00:00 +0800
Message-ID: <q-split-1772424000@example.cn>
X-Mailer: PHPMailer 6.8.1 (https://github.com/PHPMailer/PHPMailer)
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

{text}
"""
    return msg, expect(subject, text, [], "周杰 <zhoujie@example.cn>", "letter")


@case
def raw_8bit_gbk_no_charset():
    """An old mailer: raw 8-bit GBK in the Subject and From headers and an 8bit body with no
    charset at all (not UTF-8: read as GB18030)."""
    subject = "投诉菜市场缺斤短两"
    text = "东门菜市场 23 号摊位的秤有问题，买一斤只有八两。"
    msg = (f"From: 黄伟 <huangwei@21cn.example>\n"
           f"To: complaint@bureau.example\n"
           f"Subject: {subject}\n"
           f"Date: Mon, 2 Mar 2026 07:45:00 +0800\n"
           f"Message-ID: <raw8bit.20260302074500@21cn.example>\n"
           f"MIME-Version: 1.0\n"
           f"Content-Type: text/plain\n"
           f"Content-Transfer-Encoding: 8bit\n\n{text}\n").encode("gbk")
    return msg, expect(subject, text, [], "黄伟 <huangwei@21cn.example>", "complaint",
                       lang="zh-Hans")


@case
def php_form_utf8_labelled_gb2312():
    """A site's PHP contact form relaying a letter: UTF-8 bytes labelled gb2312 in the subject's
    B word and the text (decoded as GB they were mojibake)."""
    subject = "关于小区停车位收费的咨询"
    text = "请问小区地面停车位的收费标准由哪个部门核定？\n联系电话见表单。"
    msg = f"""Return-Path: <www-data@portal.example>
To: ask@bureau.example
Subject: =?gb2312?B?{base64.b64encode(subject.encode()).decode()}?=
X-PHP-Originating-Script: 33:contact.php
From: =?gb2312?B?{base64.b64encode("网站留言".encode()).decode()}?= <form-relay@portal.example>
Message-ID: <5e1a2b3c4d5e6f708192a3b4c5d6e7f8@portal.example>
X-Mailer: PHPMailer 5.2.9 (https://github.com/PHPMailer/PHPMailer/)
MIME-Version: 1.0
Content-Type: text/plain; charset=gb2312
Content-Transfer-Encoding: base64
Date: Mon, 2 Mar 2026 13:30:00 +0800

{b64(text.encode())}
"""
    return msg, expect(subject, text, [], "网站留言 <form-relay@portal.example>", "consultation")


@case
def javamail_utf8_labelled_latin1():
    """A Java system's notification relay (JavaMail left at its default): UTF-8 text and a
    B-word subject labelled ISO-8859-1, quoted-printable."""
    subject = "12345热线转办：井盖缺失"
    text = "市民来电反映：建设路 88 号门前井盖缺失，存在安全隐患。\n请核实处理。"
    msg = f"""Date: Mon, 2 Mar 2026 14:05:09 +0800 (CST)
From: hotline-relay@hotline.example
To: complaint@bureau.example
Message-ID: <1587342991.12.1772431509123@hotline-app01>
Subject: =?ISO-8859-1?B?{base64.b64encode(subject.encode()).decode()}?=
MIME-Version: 1.0
Content-Type: text/plain; charset=ISO-8859-1
Content-Transfer-Encoding: quoted-printable

{qp(text, "utf-8")}"""
    return msg, expect(subject, text, [], "hotline-relay@hotline.example", "complaint")


@case
def base64_without_padding():
    """A hand-rolled PHP mailer that strips base64's '=' padding everywhere (subject word, text,
    file): every last byte is kept."""
    subject = "反映路灯问题x"
    text = "路灯不亮已经一周了x"
    pdf = PDF + b"xy"

    def nopad(data):
        return b64(data).rstrip("=")

    assert len(subject.encode()) % 3 and len(text.encode()) % 3 and len(pdf) % 3
    msg = f"""From: lamp@example.cn
To: complaint@bureau.example
Subject: =?UTF-8?B?{base64.b64encode(subject.encode()).decode().rstrip("=")}?=
Date: Mon, 2 Mar 2026 13:50:00 +0800
Message-ID: <nopad.1@example.cn>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b1_nopad"

--b1_nopad
Content-Type: text/plain; charset=UTF-8
Content-Transfer-Encoding: base64

{nopad(text.encode())}
--b1_nopad
Content-Type: application/pdf; name="lamp.pdf"
Content-Disposition: attachment; filename="lamp.pdf"
Content-Transfer-Encoding: base64

{nopad(pdf)}
--b1_nopad--
"""
    return msg, expect(subject, text, [("lamp.pdf", len(pdf), "application/pdf")],
                       "lamp@example.cn", "complaint")


@case
def idn_domain_sender():
    """A citizen at a .中国 domain whose client writes the domain in Chinese (8-bit UTF-8 headers,
    as SMTPUTF8 mail comes): the address is kept in its ASCII (IDNA) form, which an
    acknowledgement can be sent to without SMTPUTF8."""
    text = "我的邮箱域名是中文的，请问能收到回复吗？"
    msg = f"""From: =?UTF-8?B?{base64.b64encode("钟先生".encode()).decode()}?= <zhong@例子.中国>
To: ask@bureau.example
Subject: =?UTF-8?B?{base64.b64encode("中文域名邮箱".encode()).decode()}?=
Date: Mon, 2 Mar 2026 14:10:00 +0800
Message-ID: <idn.1@xn--fsqu00a.xn--fiqs8s>
MIME-Version: 1.0
Content-Type: text/plain; charset=UTF-8
Content-Transfer-Encoding: 8bit

{text}
"""
    return msg, expect("中文域名邮箱", text, [], "钟先生 <zhong@xn--fsqu00a.xn--fiqs8s>",
                       "consultation")


@case
def filename_words_split_mid_character():
    """A long Chinese file name as several GBK B words cut inside characters (inside the
    quotes, as QQ Mail and Coremail write encoded-word names), in both Content-Type and
    Content-Disposition."""
    name = "关于人民路施工噪音问题的补充材料和照片说明.pdf"
    raw = name.encode("gbk")
    cut = [raw[:9], raw[9:25], raw[25:]]  # 9 and 25 fall inside characters
    words = " ".join("=?GBK?B?%s?=" % base64.b64encode(c).decode() for c in cut)
    text = "补充材料见附件。"
    msg = crlf(f"""From: xu.ming@126.example
To: complaint@bureau.example
Subject: =?GBK?B?{base64.b64encode("补充材料".encode("gbk")).decode()}?=
Date: Mon, 2 Mar 2026 13:40:00 +0800
Message-ID: <split-name.1@126.example>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="----=_Part_9_8.7"

------=_Part_9_8.7
Content-Type: text/plain; charset=GBK
Content-Transfer-Encoding: base64

{b64(text.encode("gbk"))}
------=_Part_9_8.7
Content-Type: application/pdf; name="{words}"
Content-Transfer-Encoding: base64
Content-Disposition: attachment; filename="{words}"

{b64(PDF)}
------=_Part_9_8.7--
""")
    return msg, expect("补充材料", text, [(name, len(PDF), "application/pdf")],
                       "xu.ming@126.example", "complaint")


# --- structure -------------------------------------------------------------------------------

@case
def related_inline_image():
    """Foxmail's HTML letter with a pasted picture: multipart/related, the HTML naming the
    image by cid:, the image inline with a name."""
    subject = "路面破损照片"
    html = ("<html><body><div>人民路 35 号门前路面破损&nbsp;&gt;&nbsp;50 厘米，见下图：</div>"
            "<div><img src=\"cid:_Foxmail.1@2f1e3d4c-5b6a-7980-a1b2-c3d4e5f60718\" "
            "border=\"0\"></div><p>请尽快修补。</p></body></html>")
    body = "人民路 35 号门前路面破损 > 50 厘米，见下图：\n请尽快修补。"
    msg = crlf(f"""Date: Mon, 2 Mar 2026 16:30:00 +0800
From: "zhouli" <zhouli@foxmail.com>
To: director <director@bureau.example>
Subject: {bw(subject, "utf-8")}
X-Mailer: Foxmail 7.2.25.228[cn]
Mime-Version: 1.0
Message-ID: <202603021630001234567@foxmail.com>
Content-Type: multipart/related;
	type="multipart/alternative";
	boundary="----=_001_NextPart111111111111_=----"

This is a multi-part message in MIME format.

------=_001_NextPart111111111111_=----
Content-Type: text/html;
	charset="utf-8"
Content-Transfer-Encoding: base64

{b64(html.encode())}

------=_001_NextPart111111111111_=----
Content-Type: image/png;
	name="_Foxmail.1@2f1e3d4c-5b6a-7980-a1b2-c3d4e5f60718"
Content-Transfer-Encoding: base64
Content-ID: <_Foxmail.1@2f1e3d4c-5b6a-7980-a1b2-c3d4e5f60718>

{b64(PNG)}

------=_001_NextPart111111111111_=------

""")
    return msg, expect(subject, body,
                       [("_Foxmail.1@2f1e3d4c-5b6a-7980-a1b2-c3d4e5f60718", len(PNG), "image/png")],
                       "zhouli <zhouli@foxmail.com>", "letter")


@case
def smime_signed_outlook():
    """Outlook with an S/MIME signature: multipart/signed (application/pkcs7-signature); the
    signature is not something the citizen attached."""
    subject = "企业年报信息更正申请"
    text = "我公司 2025 年度报告中的从业人数填写有误，申请更正。"
    msg = crlf(f"""From: =?gb2312?B?{base64.b64encode("钱总".encode("gb2312")).decode()}?= <qian@corp.example>
To: <director@bureau.example>
Subject: {bw(subject, "gb2312")}
Date: Mon, 2 Mar 2026 10:10:10 +0800
Message-ID: <003401dcab40$01020304$05060708@corp.example>
MIME-Version: 1.0
Content-Type: multipart/signed;
	protocol="application/x-pkcs7-signature";
	micalg=SHA1;
	boundary="----=_NextPart_000_0035_01DCAB40.01020304"
X-Mailer: Microsoft Outlook 16.0

This is a multipart message in MIME format.

------=_NextPart_000_0035_01DCAB40.01020304
Content-Type: text/plain;
	charset="gb2312"
Content-Transfer-Encoding: base64

{b64(text.encode("gb2312"))}

------=_NextPart_000_0035_01DCAB40.01020304
Content-Type: application/pkcs7-signature;
	name="smime.p7s"
Content-Transfer-Encoding: base64
Content-Disposition: attachment;
	filename="smime.p7s"

{b64(P7S)}

------=_NextPart_000_0035_01DCAB40.01020304--

""")
    return msg, expect(subject, text, [], "钱总 <qian@corp.example>", "letter")


@case
def pgp_mime_signed():
    """Thunderbird with OpenPGP: multipart/signed (application/pgp-signature) whose first part
    is a multipart/mixed with the text and a photo; the signature (OpenPGP_signature.asc,
    armoured text) is no attachment of the citizen's."""
    text = "Pothole in front of No. 7 Jiefang Road, photo attached."
    sig = ("-----BEGIN PGP SIGNATURE-----\n\nwnsEABYIACMWIQTkH2Q3dGVzdGtleWZpbmdlcnByaW50AAUCZ+QwAAAKCRDk\n"
           "H2Q3dGVzdA==\n=AbCd\n-----END PGP SIGNATURE-----\n")
    msg = f"""Message-ID: <c0ffee12-3456-789a-bcde-f0123456789a@posteo.example>
Date: Mon, 2 Mar 2026 20:00:00 +0800
MIME-Version: 1.0
User-Agent: Mozilla Thunderbird
From: Li Ming <liming@posteo.example>
To: complaint@bureau.example
Subject: Pothole on Jiefang Road
Content-Type: multipart/signed; micalg=pgp-sha256;
 protocol="application/pgp-signature";
 boundary="------------Fd2Ax8Lq0cRk4Vn6Hs1Mb3Tj"

This is an OpenPGP/MIME signed message (RFC 4880 and 3156)
--------------Fd2Ax8Lq0cRk4Vn6Hs1Mb3Tj
Content-Type: multipart/mixed; boundary="------------Qw7Er9Ty2Ui4Op6As8Df0Gh"

--------------Qw7Er9Ty2Ui4Op6As8Df0Gh
Content-Type: text/plain; charset=UTF-8; format=flowed
Content-Transfer-Encoding: 7bit

{text}

--------------Qw7Er9Ty2Ui4Op6As8Df0Gh
Content-Type: image/jpeg; name="pothole.jpg"
Content-Disposition: attachment; filename="pothole.jpg"
Content-Transfer-Encoding: base64

{b64(JPEG)}

--------------Qw7Er9Ty2Ui4Op6As8Df0Gh--

--------------Fd2Ax8Lq0cRk4Vn6Hs1Mb3Tj
Content-Type: application/pgp-signature; name="OpenPGP_signature.asc"
Content-Description: OpenPGP digital signature
Content-Disposition: attachment; filename="OpenPGP_signature.asc"

{sig}
--------------Fd2Ax8Lq0cRk4Vn6Hs1Mb3Tj--
"""
    return msg, expect("Pothole on Jiefang Road", text, [("pothole.jpg", len(JPEG), "image/jpeg")],
                       "Li Ming <liming@posteo.example>", "complaint")


@case
def pgp_mime_encrypted():
    """Thunderbird with OpenPGP encryption: multipart/encrypted (application/pgp-encrypted
    control part, then encrypted.asc): unreadable here, said so in the body, no files."""
    armour = ("-----BEGIN PGP MESSAGE-----\n\nwV4DR2b2udXyHrYSAQdAO3Gq0V0oQH5o2fVx5lq3oN0xR2b2udXyHrYSAQdA\n"
              "0sBFAQkCEOmrzRqzV1Q2b2udXyHrYS\n=XyZw\n-----END PGP MESSAGE-----\n")
    msg = f"""Message-ID: <e1f2a3b4-c5d6-4e7f-8091-a2b3c4d5e6f7@posteo.example>
Date: Mon, 2 Mar 2026 20:05:00 +0800
MIME-Version: 1.0
User-Agent: Mozilla Thunderbird
From: Li Ming <liming@posteo.example>
To: director@bureau.example
Subject: ...
Content-Type: multipart/encrypted;
 protocol="application/pgp-encrypted";
 boundary="------------enc1A2b3C4d5E6f7G8h9I0j"

This is an OpenPGP/MIME encrypted message (RFC 4880 and 3156)
--------------enc1A2b3C4d5E6f7G8h9I0j
Content-Type: application/pgp-encrypted
Content-Description: PGP/MIME version identification

Version: 1

--------------enc1A2b3C4d5E6f7G8h9I0j
Content-Type: application/octet-stream; name="encrypted.asc"
Content-Description: OpenPGP encrypted message
Content-Disposition: inline; filename="encrypted.asc"

{armour}
--------------enc1A2b3C4d5E6f7G8h9I0j--
"""
    return msg, expect("...", "[encrypted message (加密邮件): it cannot be read here; it stays in "
                       "the original message]", [], "Li Ming <liming@posteo.example>", "letter")


@case
def only_an_attachment():
    """A scanner's "scan to e-mail": the whole message is one PDF, no text part."""
    msg = crlf(f"""From: scanner-3f <wu.hua@example.cn>
To: director@bureau.example
Subject: Scanned from MFP-3F
Date: Mon, 2 Mar 2026 09:33:00 +0800
Message-ID: <1772415180.42.mfp3f@example.cn>
MIME-Version: 1.0
Content-Type: application/pdf; name="SCAN_20260302_093300.pdf"
Content-Disposition: attachment; filename="SCAN_20260302_093300.pdf"
Content-Transfer-Encoding: base64

{b64(PDF)}
""")
    return msg, expect("Scanned from MFP-3F", "(no text)",
                       [("SCAN_20260302_093300.pdf", len(PDF), "application/pdf")],
                       "scanner-3f <wu.hua@example.cn>", "letter")


@case
def empty_body_with_subject():
    """A letter that is all subject (an iPhone's Mail with the text left empty)."""
    subject = "东湖公园厕所没有水"
    msg = f"""From: =?utf-8?B?{base64.b64encode("访客".encode()).decode()}?= <visitor@icloud.example>
Content-Type: text/plain;
	charset=us-ascii
Content-Transfer-Encoding: 7bit
Mime-Version: 1.0 (1.0)
Date: Mon, 2 Mar 2026 15:15:15 +0800
Subject: {bw(subject, "utf-8")}
Message-Id: <A1B2C3D4-E5F6-4708-9A1B-2C3D4E5F6A7B@icloud.example>
To: complaint@bureau.example
X-Mailer: iPhone Mail (22D72)

"""
    return msg, expect(subject, "(no text)", [], "访客 <visitor@icloud.example>", "complaint")


@case
def zero_byte_attachment():
    """An attachment of no bytes beside a real one (a file that failed to copy)."""
    text = "附件是事故现场照片和说明。"
    msg = crlf(f"""From: ma.li@126.example
To: complaint@bureau.example
Subject: =?GBK?B?{base64.b64encode("交通事故".encode("gbk")).decode()}?=
Date: Mon, 2 Mar 2026 11:00:00 +0800
Message-ID: <zero-byte.1@126.example>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="----=_Part_1_2.3"

------=_Part_1_2.3
Content-Type: text/plain; charset=GBK
Content-Transfer-Encoding: base64

{b64(text.encode("gbk"))}
------=_Part_1_2.3
Content-Type: application/octet-stream; name="=?GBK?B?{base64.b64encode("说明.txt".encode("gbk")).decode()}?="
Content-Transfer-Encoding: base64
Content-Disposition: attachment; filename="=?GBK?B?{base64.b64encode("说明.txt".encode("gbk")).decode()}?="


------=_Part_1_2.3
Content-Type: image/jpeg; name="scene.jpg"
Content-Transfer-Encoding: base64
Content-Disposition: attachment; filename="scene.jpg"

{b64(JPEG)}
------=_Part_1_2.3--
""")
    note = ("\n\n[attachment not kept (附件未保存): 说明.txt, 0 bytes: an empty file; it stays in "
            "the original message]")
    return msg, expect("交通事故", text + note, [("scene.jpg", len(JPEG), "image/jpeg")],
                       "ma.li@126.example", "complaint")


@case
def huge_attachment_over_limit():
    """A 6 MiB photo (over the 5 MiB a file): the letter is stored, the photo left in the
    original message and named in the body."""
    big = JPEG + b"\x00" * (6 * 1024 * 1024 - len(JPEG))
    text = "现场视频截图太大，先发一张。"
    msg = f"""From: he.jing@sina.example
To: complaint@bureau.example
Subject: =?UTF-8?B?{base64.b64encode("违建举报".encode()).decode()}?=
Date: Mon, 2 Mar 2026 11:30:00 +0800
Message-ID: <huge.1@sina.example>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="=-=-=__sinamail__=-=-="

--=-=-=__sinamail__=-=-=
Content-Type: text/plain; charset=UTF-8
Content-Transfer-Encoding: base64

{b64(text.encode())}
--=-=-=__sinamail__=-=-=
Content-Type: image/jpeg; name="IMG_2046.JPG"
Content-Disposition: attachment; filename="IMG_2046.JPG"
Content-Transfer-Encoding: base64

{b64(big)}
--=-=-=__sinamail__=-=-=--
"""
    note = ("\n\n[attachment not kept (附件未保存): IMG_2046.JPG, %d bytes: larger than 5242880 "
            "bytes; it stays in the original message]" % len(big))
    return msg, expect("违建举报", text + note, [], "he.jing@sina.example", "complaint")


@case
def long_header_lines():
    """Headers as some gateways write them: a 1,500-byte Subject on one line (no folding), a
    References of 40 IDs, a 2,000-byte X- header."""
    subject = "长标题" * 60 + "结束"
    refs = " ".join("<ref-%02d.%s@example.cn>" % (i, "x" * 20) for i in range(40))
    text = "标题很长的来信。"
    msg = crlf(f"""From: long@example.cn
To: director@bureau.example
Subject: {bw(subject, "UTF-8")}
References: {refs}
X-Gateway-Trace: {"a1b2c3d4" * 250}
Date: Mon, 2 Mar 2026 12:30:00 +0800
Message-ID: <long-headers.1@example.cn>
MIME-Version: 1.0
Content-Type: text/plain; charset=UTF-8
Content-Transfer-Encoding: 8bit

{text}
""")
    return msg, expect(subject, text, [], "long@example.cn", "letter")


@case
def subject_mentions_auto_reply():
    """A citizen's letter about an auto-reply: 自动回复 inside the subject is no auto-reply."""
    subject = "投诉12345热线的自动回复没有任何内容"
    text = "拨打热线后只收到一条自动回复短信，没有人处理。"
    msg = f"""From: citizen.q@example.cn
To: complaint@bureau.example
Subject: {bw(subject, "UTF-8")}
Date: Mon, 2 Mar 2026 13:00:00 +0800
Message-ID: <mentions-auto.1@example.cn>
MIME-Version: 1.0
Content-Type: text/plain; charset=UTF-8
Content-Transfer-Encoding: base64

{b64(text.encode())}
"""
    return msg, expect(subject, text, [], "citizen.q@example.cn", "complaint")


# --- automatic mail: no item -----------------------------------------------------------------

@case
def exchange_oof_automatic_reply():
    """Exchange Online's out-of-office answer: "Automatic reply:" and Auto-Submitted."""
    msg = crlf(f"""From: Zhou Yang <zhou.yang@contoso.example>
To: "civicdesk@bureau.example" <civicdesk@bureau.example>
Subject: Automatic reply: =?utf-8?B?{base64.b64encode("我们已收到您的来信".encode()).decode()}?=
Thread-Topic: =?utf-8?B?{base64.b64encode("我们已收到您的来信".encode()).decode()}?=
Date: Mon, 2 Mar 2026 02:00:01 +0000
Message-ID: <SG2PR01MB1234OOF5678@SG2PR01MB1234.apcprd01.prod.outlook.example>
In-Reply-To: <civicdesk.17.a1b2c3d4e5f60718@bureau.example>
Auto-Submitted: auto-generated
X-MS-Exchange-Inbox-Rules-Loop: zhou.yang@contoso.example
X-Auto-Response-Suppress: All
X-MS-Exchange-Generated-Message-Source: Mailbox Rules Agent
Content-Type: text/plain; charset="utf-8"
Content-Transfer-Encoding: base64
MIME-Version: 1.0

{b64("我出差至3月9日。".encode())}
""")
    return msg, expect(ignored="auto-submitted")


@case
def outlook_oof_subject_only():
    """An on-premises Exchange 2010 out-of-office in Chinese: only its subject prefix
    (自动答复:) and X-Auto-Response-Suppress tell it apart."""
    subject = "自动答复: 我们已收到您的来信"
    msg = crlf(f"""From: =?gb2312?B?{base64.b64encode("孙经理".encode("gb2312")).decode()}?= <sun@oldcorp.example>
To: civicdesk@bureau.example
Subject: {bw(subject, "gb2312")}
Thread-Topic: {bw("我们已收到您的来信", "gb2312")}
Date: Mon, 2 Mar 2026 10:00:02 +0800
Message-ID: <6B7C8D9E0F1A2B3C@EXCH01.oldcorp.example>
X-Auto-Response-Suppress: All
X-MS-Exchange-Inbox-Rules-Loop: sun@oldcorp.example
Content-Type: text/plain; charset="gb2312"
Content-Transfer-Encoding: base64
MIME-Version: 1.0

{b64("我目前不在办公室。".encode("gb2312"))}
""")
    return msg, expect(ignored="auto-reply subject")


@case
def outlook_oof_english_subject_only():
    """Exchange 2007's English out-of-office: "Out of Office AutoReply:" and nothing else."""
    msg = crlf("""From: Tom Lee <tom.lee@legacy.example>
To: civicdesk@bureau.example
Subject: Out of Office AutoReply: We have received your letter
Date: Mon, 2 Mar 2026 10:00:03 +0800
Message-ID: <1A2B3C4D5E6F@legacy.example>
X-Auto-Response-Suppress: All
Content-Type: text/plain; charset="us-ascii"
MIME-Version: 1.0

I am out of the office until 9 March.
""")
    return msg, expect(ignored="auto-reply subject")


@case
def netease_autoreply_fullwidth():
    """163 Mail's holiday answer: 自动回复： with a full-width colon, X-Autoreply: yes."""
    msg = f"""From: "=?GBK?B?{base64.b64encode("小王".encode("gbk")).decode()}?=" <xiaowang@163.com>
To: civicdesk@bureau.example
Subject: =?GBK?B?{base64.b64encode("自动回复：我们已收到您的来信".encode("gbk")).decode()}?=
Date: Mon, 2 Mar 2026 10:00:04 +0800 (CST)
X-Autoreply: yes
Message-ID: <autoreply.3e5d.18e0f1a2b3d@163.com>
MIME-Version: 1.0
Content-Type: text/plain; charset=GBK
Content-Transfer-Encoding: base64

{b64("您的来信已收到，我会尽快回复。".encode("gbk"))}
"""
    return msg, expect(ignored="auto-reply")


@case
def vacation_precedence_auto_reply():
    """A vacation program's answer (sieve or procmail vacation): Precedence: auto_reply."""
    msg = """From: li.lei@university.example
To: civicdesk@bureau.example
Subject: Away: We have received your letter
Date: Mon, 2 Mar 2026 10:00:05 +0800
Message-ID: <vacation.1772416805@university.example>
Precedence: auto_reply
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

I am away until Monday.
"""
    return msg, expect(ignored="auto-reply")


@case
def mailman_list_post():
    """A post from a Mailman 3 list the bureau's address is subscribed to."""
    msg = """From: someone@lists.example.org
To: citizens-forum@lists.example.org
Subject: [citizens-forum] Meeting notes
Date: Mon, 2 Mar 2026 10:00:06 +0800
Message-ID: <post.42@lists.example.org>
List-Id: Citizens Forum <citizens-forum.lists.example.org>
List-Unsubscribe: <mailto:citizens-forum-leave@lists.example.org>
List-Post: <mailto:citizens-forum@lists.example.org>
Precedence: list
MIME-Version: 1.0
Content-Type: text/plain; charset="us-ascii"
Content-Transfer-Encoding: 7bit

Notes attached.
"""
    return msg, expect(ignored="bulk precedence")


@case
def exchange_ndr_dsn():
    """Exchange Online's non-delivery report: multipart/report; report-type=delivery-status."""
    msg = crlf("""From: Microsoft Outlook <postmaster@contoso.example>
To: <civicdesk@bureau.example>
Date: Mon, 2 Mar 2026 02:01:00 +0000
Content-Type: multipart/report; report-type=delivery-status;
	boundary="22a8b9c0-1d2e-3f4a-5b6c-7d8e9f0a1b2c"
X-MS-Exchange-Message-Is-Ndr:
Content-Language: en-US
Message-ID: <ndr.4f5e6d7c@contoso.example>
In-Reply-To: <civicdesk.99991.0011223344556677@bureau.example>
Subject: Undeliverable: =?utf-8?B?5oiR5Lus5bey5pS25Yiw5oKo55qE5p2l5L+h?=
Auto-Submitted: auto-replied
MIME-Version: 1.0

--22a8b9c0-1d2e-3f4a-5b6c-7d8e9f0a1b2c
Content-Type: text/plain; charset="us-ascii"

Your message to nobody@contoso.example couldn't be delivered.

--22a8b9c0-1d2e-3f4a-5b6c-7d8e9f0a1b2c
Content-Type: message/delivery-status

Reporting-MTA: dns;SG2PR01MB1234.apcprd01.prod.outlook.example
Received-From-MTA: dns;mx.bureau.example
Arrival-Date: Mon, 2 Mar 2026 02:00:59 +0000

Original-Recipient: rfc822;nobody@contoso.example
Final-Recipient: rfc822;nobody@contoso.example
Action: failed
Status: 5.1.10
Diagnostic-Code: smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup

--22a8b9c0-1d2e-3f4a-5b6c-7d8e9f0a1b2c
Content-Type: text/rfc822-headers

From: civicdesk@bureau.example
To: nobody@contoso.example
Subject: =?utf-8?B?5oiR5Lus5bey5pS25Yiw5oKo55qE5p2l5L+h?=
Message-ID: <civicdesk.99991.0011223344556677@bureau.example>

--22a8b9c0-1d2e-3f4a-5b6c-7d8e9f0a1b2c--
""")
    return msg, expect(ignored="bounce (delivery status report)",
                       bounce_ids=["civicdesk.99991.0011223344556677@bureau.example"],
                       bounce_reason="5.1.10 smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound; "
                                     "Recipient not found by SMTP address lookup")


@case
def qq_bounce_postmaster():
    """QQ Mail's bounce in plain text from PostMaster@qq.com (系统退信): a postmaster's, not
    Aliyun's."""
    msg = crlf(f"""From: "PostMaster" <PostMaster@qq.com>
To: <civicdesk@bureau.example>
Subject: =?gb18030?B?{base64.b64encode("系统退信".encode("gb18030")).decode()}?=
Date: Mon, 2 Mar 2026 10:02:00 +0800
Message-ID: <bounce.0a1b2c3d@qq.com>
MIME-Version: 1.0
Content-Type: text/plain; charset="gb18030"
Content-Transfer-Encoding: base64

{b64("很抱歉您的邮件没有发送成功。收件人邮箱不存在。".encode("gb18030"))}
""")
    return msg, expect(ignored="bounce (postmaster)",
                       bounce_reason="系统退信: 很抱歉您的邮件没有发送成功。收件人邮箱不存在。")


@case
def no_from_header():
    """A message with no From (a broken script's mail)."""
    msg = """To: director@bureau.example
Subject: test
Date: Mon, 2 Mar 2026 10:03:00 +0800
Message-ID: <nofrom.1@example.cn>

hello
"""
    return msg, expect(ignored="null sender")


@case
def from_name_without_address():
    """A broken From: a raw 8-bit name and no address (nobody to answer): no item."""
    msg = ("From: 张三\nTo: director@bureau.example\nSubject: hello\n"
           "Date: Mon, 2 Mar 2026 10:03:30 +0800\nMessage-ID: <noaddr.1@example.cn>\n\n"
           "text\n").encode("gbk")
    return msg, expect(ignored="null sender")


@case
def from_without_space_before_address():
    """From as Chinese webmail writes it: a quoted GBK name glued to the address."""
    text = "请问公积金提取的办理时间。"
    msg = f"""From: "=?GBK?B?{base64.b64encode("刘备".encode("gbk")).decode()}?="<liubei@sohu.example>
To: ask@bureau.example
Subject: =?GBK?B?{base64.b64encode("公积金提取".encode("gbk")).decode()}?=
Date: Mon, 2 Mar 2026 10:04:00 +0800
Message-ID: <glued.1@sohu.example>
MIME-Version: 1.0
Content-Type: text/plain; charset=GBK
Content-Transfer-Encoding: base64

{b64(text.encode("gbk"))}
"""
    return msg, expect("公积金提取", text, [], "刘备 <liubei@sohu.example>", "consultation")


@case
def not_a_message():
    """A text file piped by mistake (a script's report with no header): never storable, 65."""
    msg = "Daily report of 2026-03-02\n\nAll jobs finished.\n"
    return msg, expect(exit=65)


# --- HTML as the only text: the body is what a reader of the rendered HTML sees ------------

OUTLOOK_LIST_HTML = """<html xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office" xmlns:w="urn:schemas-microsoft-com:office:word" xmlns:m="http://schemas.microsoft.com/office/2004/12/omml" xmlns="http://www.w3.org/TR/REC-html40">
<head>
<meta http-equiv="Content-Type" content="text/html; charset=gb2312">
<meta name="Generator" content="Microsoft Word 15 (filtered medium)">
<!--[if !mso]><style>v\:* {behavior:url(#default#VML);}
o\:* {behavior:url(#default#VML);}
</style><![endif]--><style><!--
p.MsoListParagraph, li.MsoListParagraph, div.MsoListParagraph
	{margin:0cm;
	text-indent:21.0pt;
	font-size:10.5pt;
	font-family:DengXian;}
/* List Definitions */
@list l0
	{mso-list-id:1177618322;
	mso-list-type:hybrid;}
--></style>
</head>
<body lang="ZH-CN" link="#0563C1" vlink="#954F72" style="text-justify-trim:punctuation">
<div class="WordSection1">
<p class="MsoNormal">李科长：<span lang="EN-US"><o:p></o:p></span></p>
<p class="MsoNormal">我公司厂区门前存在以下问题：<span lang="EN-US"><o:p></o:p></span></p>
<p class="MsoListParagraph" style="margin-left:18.0pt;text-indent:-18.0pt;mso-list:l0 level1 lfo1"><![if !supportLists]><span lang="EN-US" style="mso-fareast-font-family:DengXian"><span style="mso-list:Ignore">1.<span style="font:7.0pt &quot;Times New Roman&quot;">&nbsp; </span></span></span><![endif]>雨后道路积水超过<span lang="EN-US">20</span>厘米；<span lang="EN-US"><o:p></o:p></span></p>
<p class="MsoListParagraph" style="margin-left:18.0pt;text-indent:-18.0pt;mso-list:l0 level1 lfo1"><![if !supportLists]><span lang="EN-US" style="mso-fareast-font-family:DengXian"><span style="mso-list:Ignore">2.<span style="font:7.0pt &quot;Times New Roman&quot;">&nbsp; </span></span></span><![endif]>路灯损坏已两周。<span lang="EN-US"><o:p></o:p></span></p>
<table class="MsoTableGrid" border="1" cellspacing="0" cellpadding="0" style="border-collapse:collapse;border:none">
<tr>
<td width="120" valign="top" style="width:90.0pt;border:solid windowtext 1.0pt;padding:0cm 5.4pt 0cm 5.4pt">
<p class="MsoNormal">地点<span lang="EN-US"><o:p></o:p></span></p>
</td>
<td width="240" valign="top" style="width:180.0pt;border:solid windowtext 1.0pt;border-left:none;padding:0cm 5.4pt 0cm 5.4pt">
<p class="MsoNormal">科技园路<span lang="EN-US">8</span>号<span lang="EN-US"><o:p></o:p></span></p>
</td>
</tr>
<tr>
<td width="120" valign="top" style="width:90.0pt;border:solid windowtext 1.0pt;border-top:none;padding:0cm 5.4pt 0cm 5.4pt">
<p class="MsoNormal">联系人<span lang="EN-US"><o:p></o:p></span></p>
</td>
<td width="240" valign="top" style="width:180.0pt;border-top:none;border-left:none;border-bottom:solid windowtext 1.0pt;border-right:solid windowtext 1.0pt;padding:0cm 5.4pt 0cm 5.4pt">
<p class="MsoNormal">周强<span lang="EN-US"><o:p></o:p></span></p>
</td>
</tr>
</table>
<p class="MsoNormal"><span lang="EN-US"><o:p>&nbsp;</o:p></span></p>
<p class="MsoNormal">现场照片：<a href="https://pan.example.cn/s/1AbCdEfGh">网盘链接</a>（提取码<span lang="EN-US"> 8k2m</span>）<span lang="EN-US"><o:p></o:p></span></p>
<p class="MsoNormal"><span lang="EN-US"><o:p>&nbsp;</o:p></span></p>
<p class="MsoNormal">周强<span lang="EN-US"><o:p></o:p></span></p>
<p class="MsoNormal">电话：<span lang="EN-US">0571-8888 1234<o:p></o:p></span></p>
</div>
</body>
</html>
"""


@case
def outlook_html_word_list_table():
    """Outlook 2016, HTML only (gb2312, quoted-printable): Word's numbered list (the numbers
    between <![if !supportLists]> and <![endif]>, which browsers read as comments), a table
    whose cells hold paragraphs, a link whose text is not its address, styles in a conditional
    comment."""
    subject = "厂区门前道路积水及路灯损坏"
    body = ("李科长：\n我公司厂区门前存在以下问题：\n1.  雨后道路积水超过20厘米；\n2.  路灯损坏已两周。\n"
            "地点\t科技园路8号\n联系人\t周强\n\n"
            "现场照片：网盘链接 <https://pan.example.cn/s/1AbCdEfGh>（提取码 8k2m）\n\n周强\n"
            "电话：0571-8888 1234")
    msg = crlf(f"""From: "{bw("周强", "gb2312")}" <zhouqiang@factory.example.com>
To: "complaint@bureau.example" <complaint@bureau.example>
Subject: {bw(subject, "gb2312")}
Date: Mon, 2 Mar 2026 15:02:11 +0800
Message-ID: <000a01dcab20$1c2d3e40$54876ac0$@factory.example.com>
MIME-Version: 1.0
Content-Type: text/html;
	charset="gb2312"
Content-Transfer-Encoding: quoted-printable
X-Mailer: Microsoft Outlook 16.0
Thread-Index: AdyrIBwtPkBUh2rAQ0y3m5n0Zx1qXw==
Content-Language: zh-cn

{qp(OUTLOOK_LIST_HTML, "gb2312")}""")
    return msg, expect(subject, body, [], "周强 <zhouqiang@factory.example.com>", "complaint")


@case
def gmail_html_reply_quote():
    """The markup Gmail's composer writes (a <div> per line, <div><br></div> for an empty
    line, the earlier message in a gmail_quote <blockquote>, a link on words), sent as the only
    part (UTF-8, quoted-printable), answering an earlier message of another address."""
    subject = "Re: 公积金提取申请进度"
    html = ('<div dir="ltr"><div>您好，</div><div><br></div><div>我于 3 月 2 日在网上提交了公积金提取申请'
            '（<a href="https://gjj.example.gov.cn/apply?id=88231&amp;from=mail">申请编号 88231</a>），'
            '至今显示“审核中”。</div><div><br></div><div>请问还需要补充什么材料？</div><div><br></div>'
            '<div>刘伟</div></div><br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">'
            '公积金中心 &lt;<a href="mailto:service@gjj.example.gov.cn">service@gjj.example.gov.cn</a>'
            '&gt; 于2026年3月3日周二 09:00写道：<br></div><blockquote class="gmail_quote" '
            'style="margin:0px 0px 0px 0.8ex;border-left:1px solid rgb(204,204,204);'
            'padding-left:1ex"><div>您的申请已受理。<br><br>请留意短信通知。</div></blockquote></div>\n')
    body = ("您好，\n\n我于 3 月 2 日在网上提交了公积金提取申请（申请编号 88231 "
            "<https://gjj.example.gov.cn/apply?id=88231&from=mail>），至今显示“审核中”。\n\n"
            "请问还需要补充什么材料？\n\n刘伟\n\n"
            "公积金中心 <service@gjj.example.gov.cn> 于2026年3月3日周二 09:00写道：\n"
            "> 您的申请已受理。\n>\n> 请留意短信通知。")
    msg = crlf(f"""MIME-Version: 1.0
Date: Tue, 3 Mar 2026 10:12:40 +0800
References: <gjj-20260303-0900-77@gjj.example.gov.cn>
In-Reply-To: <gjj-20260303-0900-77@gjj.example.gov.cn>
Message-ID: <CAB8x2pQ4c7rT+9wE3nZ6yV1mK8jH5sF0dA2gL7uJ4oC3iN6bYz@mail.gmail.example>
Subject: {bw(subject, "UTF-8")}
From: =?UTF-8?B?{base64.b64encode("刘伟".encode()).decode()}?= <liuwei.citizen@gmail.example>
To: director@bureau.example
Content-Type: text/html; charset="UTF-8"
Content-Transfer-Encoding: quoted-printable

{qp(html, "utf-8")}""")
    return msg, expect(subject, body, [], "刘伟 <liuwei.citizen@gmail.example>", "letter")


@case
def apple_mail_html_list():
    """The markup Apple Mail writes (text straight in <body>, class="" on every element,
    <br class=""> lines, a bulleted list of class MailOutline, the signature in nested <div>s),
    sent as the only part (UTF-8, quoted-printable)."""
    subject = "小区违规搭建"
    html = ('<html><head><meta http-equiv="content-type" content="text/html; charset=utf-8"></head>'
            '<body style="word-wrap: break-word; -webkit-nbsp-mode: space; line-break: '
            'after-white-space;" class="">您好：<div class=""><br class=""></div><div class="">'
            '小区内违规搭建情况如下：</div><div class=""><ul class="MailOutline"><li class="">3 栋楼顶加建'
            '彩钢房</li><li class="">5 栋一楼占用绿地</li></ul><div class=""><br class=""></div></div>'
            '<div class="">地址：幸福路 18 号&nbsp;幸福小区</div><div class=""><br class=""><div class="">\n'
            '<div>陈静</div><div>发自我的 iPhone</div>\n</div>\n<br class=""></div></body></html>')
    body = ("您好：\n\n小区内违规搭建情况如下：\n- 3 栋楼顶加建彩钢房\n- 5 栋一楼占用绿地\n\n"
            "地址：幸福路 18 号 幸福小区\n\n陈静\n发自我的 iPhone")
    msg = crlf(f"""From: =?utf-8?B?{base64.b64encode("陈静".encode()).decode()}?= <chenjing@icloud.example>
Content-Type: text/html;
	charset=utf-8
Content-Transfer-Encoding: quoted-printable
Mime-Version: 1.0 (Mac OS X Mail 16.0 \\(3774.600.62\\))
Subject: {bw(subject, "utf-8")}
Message-Id: <5E2A7C1B-8D3F-4A6E-9B1C-2F4D6A8E0C13@icloud.example>
Date: Mon, 2 Mar 2026 20:41:05 +0800
To: complaint@bureau.example
X-Mailer: Apple Mail (2.3774.600.62)

{qp(html, "utf-8")}""")
    return msg, expect(subject, body, [], "陈静 <chenjing@icloud.example>", "complaint")


@case
def qq_html_gbk_quote():
    """The markup QQ Mail writes for an answer (GBK text in <div>s, a numbered list, the earlier
    message under a "原始邮件" rule with its header lines in bold, &nbsp; between them, the
    original text), sent as the only part in GBK with the charset named in a <meta> alone
    (base64)."""
    subject = "回复：关于噪音投诉的补充"
    html = ('<meta http-equiv="Content-Type" content="text/html; charset=GBK">'
            '<div>补充两点：</div><ol><li>施工时间是每晚 22:00 至次日 2:00；</li><li>工地在喆园小区'
            '东侧。</li></ol>'
            '<div><br></div><div>赵磊</div><div><br></div><div style="font-size: 12px;'
            'font-family: Arial Narrow;padding:2px 0 2px 0;">------------------&nbsp;原始邮件&nbsp;'
            '------------------</div><div style="font-size: 12px;background:#efefef;padding:8px;">'
            '<div><b>发件人:</b>&nbsp;"赵磊"&lt;zhaolei@qq.example&gt;;</div>'
            '<div><b>发送时间:</b>&nbsp;2026年3月2日(星期一) 晚上9:00</div>'
            '<div><b>收件人:</b>&nbsp;"局长信箱"&lt;director@bureau.example&gt;;<wbr></div>'
            '<div></div><div><b>主题:</b>&nbsp;关于噪音投诉</div></div><div><br></div>'
            '<div>工地夜间施工噪音很大。</div>')
    body = ("补充两点：\n1. 施工时间是每晚 22:00 至次日 2:00；\n2. 工地在喆园小区东侧。\n\n赵磊\n\n"
            "------------------ 原始邮件 ------------------\n"
            "发件人: \"赵磊\"<zhaolei@qq.example>;\n发送时间: 2026年3月2日(星期一) 晚上9:00\n"
            "收件人: \"局长信箱\"<director@bureau.example>;\n主题: 关于噪音投诉\n\n工地夜间施工噪音很大。")
    msg = crlf(f"""From: "{bw("赵磊", "gb18030")}" <zhaolei@qq.example>
To: "director" <director@bureau.example>
Subject: {bw(subject, "gb18030")}
Mime-Version: 1.0
Content-Type: text/html
Content-Transfer-Encoding: base64
Date: Mon, 2 Mar 2026 21:30:02 +0800
X-Priority: 3
Message-ID: <tencent_6B1F2E3D4C5A69788796A5B4@qq.example>
X-QQ-MIME: TCMime 1.0 by Tencent
X-Mailer: QQMail 2.x
X-QQ-Mailer: QQMail 2.x

{b64(html.encode("gbk"))}
""")
    return msg, expect(subject, body, [], "赵磊 <zhaolei@qq.example>", "letter")


FORM_HTML = """<!DOCTYPE html>
<html><head><meta charset="UTF-8"><title>网站留言</title>
<style>table{border-collapse:collapse} th,td{border:1px solid #ccc;padding:4px}</style></head>
<body>
<div style="display:none;max-height:0;overflow:hidden">新留言：小区电梯长期故障</div>
<h3>网站留言</h3>
<table>
<tr><th>姓名</th><td>何晓东</td></tr>
<tr><th>电话</th><td>139 0000 1234</td></tr>
<tr><th>邮箱</th><td><a href="mailto:hexiaodong@example.cn">hexiaodong@example.cn</a></td></tr>
<tr><th>内容</th><td>小区 3 号楼电梯已经停了两周，
物业说要等配件。老人上下楼很困难 <请尽快督促>。</td></tr>
</table>
<p style="color:#999">此邮件由网站表单自动发送，请直接回复给留言人。</p>
</body></html>
"""


@case
def form_relay_reply_to():
    """A web form's relay (PHPMailer): From the relay's own address, Reply-To the citizen who
    filled the form in; the fields in an HTML table (text/html alone, quoted-printable), a
    preheader hidden by display:none, the citizen's text put in unescaped ("<请…>")."""
    subject = "【网站留言】小区电梯长期故障"
    body = ("网站留言\n姓名\t何晓东\n电话\t139 0000 1234\n邮箱\thexiaodong@example.cn\n"
            "内容\t小区 3 号楼电梯已经停了两周， 物业说要等配件。老人上下楼很困难 <请尽快督促>。\n"
            "此邮件由网站表单自动发送，请直接回复给留言人。")
    msg = crlf(f"""Date: Mon, 2 Mar 2026 16:20:05 +0800
To: director@bureau.example
From: {bw("市网站留言", "UTF-8")} <noreply@forms.example.gov.cn>
Reply-To: {bw("何晓东", "UTF-8")} <hexiaodong@example.cn>
Subject: {bw(subject, "UTF-8")}
Message-ID: <Zk3f9a1b2c3d4e5f6a7b8c9d0@forms.example.gov.cn>
X-Mailer: PHPMailer 6.9.1 (https://github.com/PHPMailer/PHPMailer)
MIME-Version: 1.0
Content-Type: text/html; charset=UTF-8
Content-Transfer-Encoding: quoted-printable

{qp(FORM_HTML, "utf-8")}""")
    return msg, expect(subject, body, [], "何晓东 <hexiaodong@example.cn>", "letter")


# --- Chinese clients as they send today (tenth session): written from what each client is
# known to do, not copied from any message ---------------------------------------------------

@case
def iphone_mail_photo_between_texts():
    """iPhone Mail with a photo taken in the message: Apple-Mail boundary, the text in UTF-8
    quoted-printable, the photo inline with its name, then the signature in a second text/plain
    part after the photo; the sender's name and the Subject B-encoded UTF-8."""
    subject = "小区门口路灯不亮"
    text = "局长您好：\n小区门口的路灯已经坏了一个月，晚上很不安全。\n照片见下。"
    sign = "发自我的iPhone"
    bnd = "Apple-Mail-3F1A2B3C-4D5E-6F70-8192-A3B4C5D6E7F8"
    msg = crlf(f"""Content-Type: multipart/mixed; boundary={bnd}
Content-Transfer-Encoding: 7bit
From: {bw("李娜", "utf-8")} <lina@icloud.example>
Mime-Version: 1.0 (1.0)
Date: Mon, 2 Mar 2026 18:20:31 +0800
Subject: {bw(subject, "utf-8")}
Message-Id: <3F1A2B3C-4D5E-6F70-8192-A3B4C5D6E7F8@icloud.example>
To: director@bureau.example
X-Mailer: iPhone Mail (21D61)


--{bnd}
Content-Type: text/plain;
	charset=utf-8
Content-Transfer-Encoding: quoted-printable

{qp(text, "utf-8")}
--{bnd}
Content-Type: image/jpeg;
	name=IMG_4821.jpeg;
	x-apple-part-url=6B1D9A3E-0C4F-4E2B-9A71-2C5D8E0F1A23
Content-Disposition: inline;
	filename=IMG_4821.jpeg
Content-Transfer-Encoding: base64

{b64(JPEG)}
--{bnd}
Content-Type: text/plain;
	charset=utf-8
Content-Transfer-Encoding: quoted-printable

{qp(chr(10) + chr(10) + sign, "utf-8")}
--{bnd}--
""")
    return msg, expect(subject, text + "\n\n" + sign, [("IMG_4821.jpeg", len(JPEG), "image/jpeg")],
                       "李娜 <lina@icloud.example>", "letter", lang="zh-Hans")


@case
def gbk_raw_filename_unencoded():
    """An older Windows client: the Subject, the sender's name and the file's name as raw 8-bit
    GBK, unencoded (the name quoted in both name= and filename=); the text GBK in base64
    labelled GBK."""
    subject = "关于楼下餐馆油烟的情况说明"
    text = "局长：\n楼下餐馆的排烟管道正对我家窗户，详见附件说明。\n\n赵敏"
    name = "油烟情况说明.pdf"
    head = (f"From: 赵敏 <zhaomin@21cn.example>\n"
            f"To: complaint@bureau.example\n"
            f"Subject: {subject}\n"
            f"Date: Mon, 2 Mar 2026 20:05:00 +0800\n"
            f"Message-ID: <20260302200500.A1B2C3@21cn.example>\n"
            f"MIME-Version: 1.0\n"
            f"X-Mailer: Microsoft Outlook Express 6.00.2900.5931\n"
            f"Content-Type: multipart/mixed;\n\tboundary=\"----=_NextPart_000_0007_01DCAB5A.1C2D3E40\"\n\n"
            f"This is a multi-part message in MIME format.\n\n"
            f"------=_NextPart_000_0007_01DCAB5A.1C2D3E40\n"
            f"Content-Type: text/plain;\n\tcharset=\"GBK\"\n"
            f"Content-Transfer-Encoding: base64\n\n").encode("gbk")
    head += (b64(text.replace(chr(10), chr(13) + chr(10)).encode("gbk")) + "\n\n").encode()
    head += (f"------=_NextPart_000_0007_01DCAB5A.1C2D3E40\n"
             f"Content-Type: application/pdf;\n\tname=\"{name}\"\n"
             f"Content-Transfer-Encoding: base64\n"
             f"Content-Disposition: attachment;\n\tfilename=\"{name}\"\n\n").encode("gbk")
    head += (b64(PDF) + "\n\n------=_NextPart_000_0007_01DCAB5A.1C2D3E40--\n").encode()
    return head.replace(b"\n", b"\r\n"), expect(
        subject, text, [(name, len(PDF), "application/pdf")], "赵敏 <zhaomin@21cn.example>",
        "complaint", lang="zh-Hans")


@case
def outlook_cn_related_screenshot():
    """Outlook 2016 on Chinese Windows, an HTML letter with a pasted screenshot: multipart/
    related around the text and HTML alternatives (gb2312, base64 and quoted-printable), the
    picture inline as image001.png with its Content-ID; the name and Subject B-encoded
    gb2312."""
    subject = "网站无法提交申请"
    text = "您好：\n\n贵局网站的在线申请页面点击提交后一直转圈，截图如下。\n\n孙强"
    html = ("<html xmlns:v=\"urn:schemas-microsoft-com:vml\"><head><meta http-equiv=Content-Type "
            "content=\"text/html; charset=gb2312\"></head><body lang=ZH-CN>"
            "<div class=WordSection1><p class=MsoNormal>您好：</p>"
            "<p class=MsoNormal>贵局网站的在线申请页面点击提交后一直转圈，截图如下。</p>"
            "<p class=MsoNormal><img width=320 height=200 id=\"图片_x0020_1\" "
            "src=\"cid:image001.png@01DCAB61.5E6F7080\"></p>"
            "<p class=MsoNormal>孙强</p></div></body></html>")
    outer, alt = "----=_NextPart_000_0011_01DCAB61.5E6F7080", "----=_NextPart_001_0012_01DCAB61.5E6F7080"
    msg = crlf(f"""From: {bw("孙强", "gb2312")} <sunqiang@outlook.example>
To: <director@bureau.example>
Subject: {bw(subject, "gb2312")}
Date: Mon, 2 Mar 2026 21:10:44 +0800
Message-ID: <000f01dcab61$5e6f7080$1b2c3d4e$@outlook.example>
MIME-Version: 1.0
Content-Type: multipart/related;
	boundary="{outer}"
X-Mailer: Microsoft Outlook 16.0
Thread-Index: AdyrYV5vcICBkqO0TmWmd8iZqrvMzQ==
Content-Language: zh-cn

This is a multipart message in MIME format.

--{outer}
Content-Type: multipart/alternative;
	boundary="{alt}"


--{alt}
Content-Type: text/plain;
	charset="gb2312"
Content-Transfer-Encoding: base64

{b64(text.replace(chr(10), chr(13) + chr(10)).encode("gb2312"))}

--{alt}
Content-Type: text/html;
	charset="gb2312"
Content-Transfer-Encoding: quoted-printable

{qp(html, "gb2312")}
--{alt}--

--{outer}
Content-Type: image/png;
	name="image001.png"
Content-Transfer-Encoding: base64
Content-ID: <image001.png@01DCAB61.5E6F7080>

{b64(PNG)}

--{outer}--
""")
    return msg, expect(subject, text, [("image001.png", len(PNG), "image/png")],
                       "孙强 <sunqiang@outlook.example>", "letter", lang="zh-Hans")


@case
def foxmail_forward_gbk_inline_rfc822():
    """Foxmail forwarding a received letter as an attachment: the citizen's note in GBK
    (labelled GBK, base64), then message/rfc822 whose own Subject is B-encoded GB2312 and whose
    text is GB2312 quoted-printable: kept as the .eml file named by that Subject."""
    inner = crlf(f"""From: {bw("街道办", "gb2312")} <jiedao@gov.example>
To: <qian@foxmail.com>
Subject: {bw("关于拆除违建的回复", "gb2312")}
Date: Thu, 26 Feb 2026 15:00:00 +0800
Message-ID: <202602261500000011@gov.example>
MIME-Version: 1.0
Content-Type: text/plain;
	charset="gb2312"
Content-Transfer-Encoding: quoted-printable

{qp("您反映的违建问题已转城管处理。", "gb2312")}
""")
    subject = "转发: 关于拆除违建的回复"
    text = "局长您好：\n街道办说已转城管，但一个月过去了还没人来，请督办。\n\n钱伟"
    msg = crlf(f"""Date: Mon, 2 Mar 2026 09:12:00 +0800
From: "{bw("钱伟", "GBK")}" <qian@foxmail.com>
To: "complaint" <complaint@bureau.example>
Subject: {bw(subject, "GBK")}
X-Mailer: Foxmail 7.2.25.228[cn]
Mime-Version: 1.0
Message-ID: <202603020912002219881@foxmail.com>
Content-Type: multipart/mixed;
	boundary="----=_001_NextPart222222222222_=----"

This is a multi-part message in MIME format.

------=_001_NextPart222222222222_=----
Content-Type: text/plain;
	charset="GBK"
Content-Transfer-Encoding: base64

{b64(text.replace(chr(10), chr(13) + chr(10)).encode("gbk"))}

------=_001_NextPart222222222222_=----
Content-Type: message/rfc822;
	name="=?GBK?B?{base64.b64encode("关于拆除违建的回复.eml".encode("gbk")).decode()}?="
Content-Transfer-Encoding: 7bit
Content-Disposition: attachment;
	filename="=?GBK?B?{base64.b64encode("关于拆除违建的回复.eml".encode("gbk")).decode()}?="

{inner}
------=_001_NextPart222222222222_=------

""")
    return msg, expect(subject, text, [("关于拆除违建的回复.eml", "*", "text/plain")],
                       "钱伟 <qian@foxmail.com>", "complaint", lang="zh-Hans")


@case
def big5_raw_subject_unencoded():
    """An old client in Taiwan: the Subject as raw 8-bit Big5, unencoded, over a Big5 text
    part (8bit): the Subject is Big5 too, not GB18030 mojibake, and the letter zh-Hant."""
    subject = "巷口水溝堵塞發臭"
    text = "您好：\n我家巷口的水溝堵塞很久，天熱時發出臭味，請派人清理。\n\n林志明"
    msg = (f"From: Lin Chih-ming <lincm@hinet.example>\n"
           f"To: ask@bureau.example\n"
           f"Subject: {subject}\n"
           f"Date: Mon, 2 Mar 2026 11:11:00 +0800\n"
           f"Message-ID: <000801dcab2f$0a1b2c3d$4e5f6071@hinet.example>\n"
           f"MIME-Version: 1.0\n"
           f"Content-Type: text/plain;\n\tcharset=\"big5\"\n"
           f"Content-Transfer-Encoding: 8bit\n"
           f"X-Mailer: Microsoft Outlook Express 6.00.2900.5512\n\n"
           f"{text}\n").encode("big5").replace(b"\n", b"\r\n")
    return msg, expect(subject, text, [], "Lin Chih-ming <lincm@hinet.example>", "consultation",
                       lang="zh-Hant")



@case
def big5_raw_from_unencoded():
    """Outlook Express on a zh-TW Windows: the sender's name, unquoted, and the Subject as raw
    8-bit Big5 (the system's code page, no encoded word), over a Big5 text part in base64:
    the name is Big5 too, not GB18030 mojibake."""
    subject = "路燈故障請求維修"
    text = "您好：\n民權路二段的路燈已經一星期不亮，晚上行人很危險。\n\n陳大文"
    msg = (f"From: 陳大文 <chan@example.tw>\n"
           f"To: <director@bureau.example>\n"
           f"Subject: {subject}\n"
           f"Date: Mon, 2 Mar 2026 16:20:00 +0800\n"
           f"Message-ID: <001201dcab3a$1f2e3d4c$5b6a7988@example.tw>\n"
           f"MIME-Version: 1.0\n"
           f"Content-Type: text/plain;\n\tcharset=\"big5\"\n"
           f"Content-Transfer-Encoding: base64\n"
           f"X-Priority: 3\n"
           f"X-Mailer: Microsoft Outlook Express 6.00.2900.5512\n\n").encode("big5")
    msg += (b64(text.replace(chr(10), chr(13) + chr(10)).encode("big5")) + "\n").encode()
    return msg.replace(b"\n", b"\r\n"), expect(
        subject, text, [], "陳大文 <chan@example.tw>", "letter", lang="zh-Hant")


@case
def big5_raw_from_quoted_big5_subject():
    """A zh-TW mail client that encodes the Subject (a Big5 B word) and writes the text in
    UTF-8, but leaves the quoted name in raw Big5; the name's first character (許, B3 5C) ends
    in the byte of a backslash, which is no quoting inside a Big5 character."""
    subject = "詢問社區活動中心借用方式"
    text = "您好，請問社區活動中心週末可以借用嗎？需要準備哪些文件？\n\n許家豪"
    msg = (b'From: "' + "許家豪".encode("big5") + b'" <hsu.chiahao@example.tw>\n' +
           f"""To: ask@bureau.example
Subject: {bw(subject, "big5")}
Date: Mon, 2 Mar 2026 17:02:13 +0800
Message-ID: <20260302170213.77AB12@example.tw>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit
User-Agent: Mozilla Thunderbird 2.0.0.24 (Windows/20100228)

{text}
""".encode())
    return msg, expect(subject, text, [], "許家豪 <hsu.chiahao@example.tw>", "consultation",
                       lang="zh-Hant")


@case
def gb18030_raw_from_gbk_body():
    """A mainland desktop client: the sender's name as raw 8-bit GB18030 with a character
    outside GBK (𠮷, four bytes), the Subject raw GBK, beside a GBK text part: still read as
    GB18030 (the name and Subject are not taken for Big5)."""
    subject = "关于小区垃圾清运不及时的反映"
    text = "您好：\n我们小区的垃圾已经三天没有清运，气味很大。\n\n吉𠮷"
    msg = (f"From: 吉𠮷 <jiji@21cn.example>\n"
           f"To: complaint@bureau.example\n"
           f"Subject: {subject}\n"
           f"Date: Mon, 2 Mar 2026 18:40:00 +0800\n"
           f"Message-ID: <20260302184000.5D6E7F@21cn.example>\n"
           f"MIME-Version: 1.0\n"
           f"Content-Type: text/plain;\n\tcharset=\"GBK\"\n"
           f"Content-Transfer-Encoding: 8bit\n\n").encode("gb18030")
    msg += (text + "\n").encode("gb18030")  # GBK's bytes, and four for 𠮷
    return msg.replace(b"\n", b"\r\n"), expect(
        subject, text, [], "吉𠮷 <jiji@21cn.example>", "complaint", lang="zh-Hans")



def pct(data):
    """RFC 2231 percent-encoding of bytes (letters, digits and a few marks left as they are)."""
    return "".join(chr(b) if chr(b).isalnum() and b < 128 or chr(b) in ".-_" else "%%%02X" % b
                   for b in data)


@case
def big5_attachment_names():
    """A zh-TW Outlook letter with two files named in Big5: the PDF's name in RFC 2231 form
    (`filename*=big5''…`, cut into two continuations), the photo's as raw 8-bit Big5 in name=
    and filename= (Outlook Express): both names Big5, not GB18030 mojibake."""
    subject = "陳情書與現場照片"
    text = "您好：\n附上陳情書及現場照片，請查收。\n\n陳大文"
    pdf, photo = "社區停車問題陳情書.pdf", "現場照片.jpg"
    enc = pct(pdf.encode("big5"))
    cut = enc.index("%", 20)  # the second continuation begins inside a character (車)
    msg = crlf(f"""From: {bw("陳大文", "big5")} <chan@example.tw>
To: <complaint@bureau.example>
Subject: {bw(subject, "big5")}
Date: Mon, 2 Mar 2026 10:05:00 +0800
Message-ID: <000501dcab2f$11223344$55667788@example.tw>
MIME-Version: 1.0
Content-Type: multipart/mixed;
	boundary="----=_NextPart_000_0005_01DCAB2F.11223344"
X-Mailer: Microsoft Office Outlook 12.0
Content-Language: zh-tw

This is a multi-part message in MIME format.

------=_NextPart_000_0005_01DCAB2F.11223344
Content-Type: text/plain;
	charset="big5"
Content-Transfer-Encoding: quoted-printable

{qp(text, "big5")}
------=_NextPart_000_0005_01DCAB2F.11223344
Content-Type: application/pdf
Content-Transfer-Encoding: base64
Content-Disposition: attachment;
	filename*0*=big5''{enc[:cut]};
	filename*1*={enc[cut:]}

{b64(PDF)}

""").encode()
    msg += crlf("------=_NextPart_000_0005_01DCAB2F.11223344\n"
                "Content-Type: image/jpeg;\n\tname=\"" + photo + "\"\n"
                "Content-Transfer-Encoding: base64\n"
                "Content-Disposition: attachment;\n\tfilename=\"" + photo + "\"\n\n").encode("big5")
    msg += crlf(f"{b64(JPEG)}\n\n------=_NextPart_000_0005_01DCAB2F.11223344--\n").encode()
    return msg, expect(subject, text, [(pdf, len(PDF), "application/pdf"),
                                       (photo, len(JPEG), "image/jpeg")],
                       "陳大文 <chan@example.tw>", "complaint", lang="zh-Hant")


@case
def gb18030_attachment_names():
    """Foxmail beside a GBK text part: one file's name in RFC 2231 form labelled gb18030 with a
    character outside GBK (𠮷, four bytes), another's as raw 8-bit GB18030 in name=: both
    read as GB18030."""
    subject = "关于吉𠮷小区改造的材料"
    text = "您好：\n附件是小区改造的意见和照片。\n\n李明"
    pdf, photo = "吉𠮷小区改造意见.pdf", "吉𠮷小区现状.png"
    msg = crlf(f"""Date: Mon, 2 Mar 2026 15:30:00 +0800
From: "{bw("李明", "GBK")}" <liming@foxmail.com>
To: "director" <director@bureau.example>
Subject: {bw(subject, "gb18030")}
X-Mailer: Foxmail 7.2.25.228[cn]
Mime-Version: 1.0
Message-ID: <202603021530005512437@foxmail.com>
Content-Type: multipart/mixed;
	boundary="----=_001_NextPart333333333333_=----"

This is a multi-part message in MIME format.

------=_001_NextPart333333333333_=----
Content-Type: text/plain;
	charset="GBK"
Content-Transfer-Encoding: base64

{b64(text.replace(chr(10), chr(13) + chr(10)).encode("gbk"))}

------=_001_NextPart333333333333_=----
Content-Type: application/pdf
Content-Transfer-Encoding: base64
Content-Disposition: attachment;
	filename*=gb18030''{pct(pdf.encode("gb18030"))}

{b64(PDF)}

""").encode()
    msg += crlf("------=_001_NextPart333333333333_=----\n"
                "Content-Type: image/png;\n\tname=\"" + photo + "\"\n"
                "Content-Transfer-Encoding: base64\n"
                "Content-Disposition: attachment\n\n").encode("gb18030")
    msg += crlf(f"{b64(PNG)}\n\n------=_001_NextPart333333333333_=------\n").encode()
    return msg, expect(subject, text, [(pdf, len(PDF), "application/pdf"),
                                       (photo, len(PNG), "image/png")],
                       "李明 <liming@foxmail.com>", "letter", lang="zh-Hans")


@case
def undecodable_attachment_names():
    """File names that cannot be read: RFC 2231 bytes that are no Big5 characters under a big5
    label, and a charset no one knows; each is named attachment-N with its extension (not
    replacement characters), and the text says nothing of it (the raw message keeps them)."""
    text = "Please find the two scans attached.\nJohn"
    msg = crlf(f"""From: John Lee <john.lee@example.hk>
To: ask@bureau.example
Subject: Scans of the permit
Date: Mon, 2 Mar 2026 12:30:00 +0800
Message-ID: <scans.20260302123000@example.hk>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="=_scans_7f3a"

--=_scans_7f3a
Content-Type: text/plain; charset=us-ascii

{text}
--=_scans_7f3a
Content-Type: application/pdf
Content-Transfer-Encoding: base64
Content-Disposition: attachment; filename*=big5''%FF%FE%FF%FE.pdf

{b64(PDF)}
--=_scans_7f3a
Content-Type: image/png
Content-Transfer-Encoding: base64
Content-Disposition: attachment; filename*=x-mac-nonesuch''%C4%E3%BA%C3.png

{b64(PNG)}
--=_scans_7f3a--
""")
    return msg, expect("Scans of the permit", text,
                       [("attachment-1.pdf", len(PDF), "application/pdf"),
                        ("attachment-2.png", len(PNG), "image/png")],
                       "John Lee <john.lee@example.hk>", "consultation", lang="en")



@case
def gb2312_label_gb18030_bytes():
    """Outlook on Chinese Windows labels everything gb2312 but writes the system's code page:
    names with characters GB2312 lacks (堃, 珺: GBK), 䶮 (FE9F) and 𠮷 (four bytes, GB18030)
    in the Subject's and the sender's B words and in the base64 text; read as GB18030, no
    character lost."""
    subject = "关于刘䶮、王堃户籍信息错误的更正申请"
    text = ("您好：\n户籍系统把刘䶮的名字显示为“刘?”，王堃的“堃”也无法打印，"
            "邻居吉𠮷也有同样问题。\n请协助更正。\n\n王珺")
    msg = crlf(f"""From: {bw("王珺", "gb2312", "gb18030")} <wangjun@outlook.example>
To: <director@bureau.example>
Subject: {bw(subject, "gb2312", "gb18030")}
Date: Mon, 2 Mar 2026 16:45:12 +0800
Message-ID: <001101dcab3e$2a3b4c5d$6e7f8091$@outlook.example>
MIME-Version: 1.0
Content-Type: text/plain;
	charset="gb2312"
Content-Transfer-Encoding: base64
X-Mailer: Microsoft Outlook 16.0
Content-Language: zh-cn

{b64(text.replace(chr(10), chr(13) + chr(10)).encode("gb18030"))}
""")
    return msg, expect(subject, text, [], "王珺 <wangjun@outlook.example>", "letter",
                       lang="zh-Hans")


@case
def big5_raw_name_before_text():
    """A file named in raw 8-bit Big5 (name= and filename=, no encoded word) in the part before
    the letter's Big5 text part, under a Subject in a UTF-8 word (a scanning app on a zh-TW
    system that puts the scan first): the name is read in the Big5 the text part says, not by
    the fallbacks (GB18030 mojibake) that read it before the Big5 part was reached."""
    subject = "補件：戶籍謄本掃描檔"
    text = "您好：\n補上戶籍謄本的掃描檔，請查收。\n\n林美華"
    scan = "戶籍謄本掃描.jpg"
    msg = crlf(f"""From: Lin Meihua <meihua.lin@example.tw>
To: <director@bureau.example>
Subject: {bw(subject, "utf-8")}
Date: Tue, 3 Mar 2026 09:12:40 +0800
Message-ID: <20260303091240.4711@scan.example.tw>
MIME-Version: 1.0
Content-Type: multipart/mixed;
	boundary="=_scan_4711"

--=_scan_4711
""").encode()
    msg += crlf("Content-Type: image/jpeg;\n\tname=\"" + scan + "\"\n"
                "Content-Transfer-Encoding: base64\n"
                "Content-Disposition: attachment;\n\tfilename=\"" + scan + "\"\n\n").encode("big5")
    msg += crlf(f"""{b64(JPEG)}

--=_scan_4711
Content-Type: text/plain; charset="big5"
Content-Transfer-Encoding: base64

{b64(text.replace(chr(10), chr(13) + chr(10)).encode("big5"))}

--=_scan_4711--
""").encode()
    return msg, expect(subject, text, [(scan, len(JPEG), "image/jpeg")],
                       "Lin Meihua <meihua.lin@example.tw>", "letter", lang="zh-Hant")


def write_case(name, msg, exp):
    d = os.path.join(HERE, name.replace("_", "-"))
    if os.path.isdir(d):
        shutil.rmtree(d)
    os.makedirs(d)
    data = msg if isinstance(msg, bytes) else msg.encode("utf-8")
    with open(os.path.join(d, "message.eml"), "wb") as f:
        f.write(data)

    def put(fname, text):
        with open(os.path.join(d, fname), "w", encoding="utf-8") as f:
            f.write(text + "\n")

    if exp["exit"]:
        put("exit", str(exp["exit"]))
        return
    if exp["ignored"]:
        put("ignored", exp["ignored"])
        if exp["bounce_reason"] is not None:
            put("bounce-ids", "\n".join(exp["bounce_ids"]))
            put("bounce-reason", exp["bounce_reason"])
        return
    put("subject", exp["subject"])
    put("body", exp["body"])
    put("from", exp["from"])
    put("kind", exp["kind"])
    put("attachments", "".join("%s\t%s\t%s\n" % a for a in exp["attachments"]).rstrip("\n"))
    if exp["lang"]:
        put("lang", exp["lang"])


def main():
    for fn in CASES:
        msg, exp = fn()
        write_case(fn.__name__, msg, exp)
    print("%d cases written" % len(CASES))


if __name__ == "__main__":
    main()
