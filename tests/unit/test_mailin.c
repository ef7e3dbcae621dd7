/*
 * test_mailin.c: the mail-in parser (service/mailin) over the corpus in tests/data/mail/ (built
 * by make_corpus.py with Python's email package; each case holds message.eml and the expected
 * subject, body, attachments, kind and sender, or the ignore reason; real/ holds messages laid out
 * by hand as real clients and servers write them), and its text helpers.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "service/mailin/mailin.h"
#include "tests/check.h"

#define DATA_DIR "tests/data/mail"

/* The whole file (NUL-terminated; *len without it), or NULL when absent. */
static char *
slurp(const char *dir, const char *name, size_t *len)
{
	char path[512];
	FILE *f;
	char *buf;
	long n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		fclose(f);
		return NULL;
	}
	buf[n] = '\0';
	fclose(f);
	if (len != NULL)
		*len = (size_t)n;
	return buf;
}

/* An expected value: the file without its final line end. */
static char *
expected(const char *dir, const char *name)
{
	char *s = slurp(dir, name, NULL);
	size_t n;

	if (s != NULL && (n = strlen(s)) > 0 && s[n - 1] == '\n')
		s[n - 1] = '\0';
	return s;
}

static int
check_case(struct t *t, const struct mail_config *cfg, const char *dir)
{
	struct mail_msg m;
	char err[256], *raw, *want, *line, *save = NULL;
	size_t len, i = 0;
	int before = t->failures;

	raw = slurp(dir, "message.eml", &len);
	if (raw == NULL)
		return 0;
	printf("# case %s\n", dir);
	want = expected(dir, "exit");
	if (want != NULL) { /* 65: never storable */
		CHECK_STR(t, want, "65");
		CHECK_INT(t, mail_parse(cfg, raw, len, &m, err, sizeof(err)), MAIL_INVALID);
		free(want);
		free(raw);
		return 1;
	}
	if (mail_parse(cfg, raw, len, &m, err, sizeof(err)) != MAIL_OK) {
		printf("# %s: %s\n", dir, err);
		t->failures++;
		free(raw);
		return 1;
	}
	want = expected(dir, "ignored");
	CHECK_STR(t, m.ignored, want);
	free(want);
	CHECK_INT(t, m.bounce, m.ignored != NULL && strncmp(m.ignored, "bounce", 6) == 0);
	if (m.bounce) {
		/* bounce-ids: the Message-IDs it names, in order; bounce-reason: why it failed
		 * ("delayed: …" for a report of delayed recipients only) */
		char got[2048];
		size_t off = 0;

		for (i = 0; i < m.nbounce_ids && off < sizeof(got); i++)
			off += (size_t)snprintf(got + off, sizeof(got) - off, "%s%s", i ? "\n" : "",
			                        m.bounce_ids[i]);
		got[off < sizeof(got) ? off : sizeof(got) - 1] = '\0';
		want = expected(dir, "bounce-ids");
		CHECK_STR(t, got, want != NULL ? want : "");
		free(want);
		snprintf(got, sizeof(got), "%s%s", m.bounce_delayed ? "delayed: " : "",
		         m.bounce_reason ? m.bounce_reason : "(null)");
		want = expected(dir, "bounce-reason");
		CHECK_STR(t, got, want);
		free(want);
		i = 0;
	}
	if (m.ignored == NULL) {
		want = expected(dir, "subject");
		CHECK_STR(t, m.subject, want);
		free(want);
		want = expected(dir, "body");
		CHECK_STR(t, m.body, want);
		free(want);
		want = expected(dir, "kind");
		CHECK_STR(t, m.kind, want);
		free(want);
		want = expected(dir, "from");
		if (want != NULL) {
			char got[600];

			if (m.from_name != NULL)
				snprintf(got, sizeof(got), "%s <%s>", m.from_name,
				         m.from_addr ? m.from_addr : "");
			else
				snprintf(got, sizeof(got), "%s", m.from_addr ? m.from_addr : "");
			CHECK_STR(t, got, want);
		}
		free(want);
		want = expected(dir, "lang"); /* the citizen's language, when the case says it */
		if (want != NULL)
			CHECK_STR(t, m.lang, want);
		free(want);
		want = expected(dir, "tracking");
		CHECK_STR(t, m.tracking, want != NULL ? want : "");
		free(want);
		want = expected(dir, "attachments");
		for (line = want ? strtok_r(want, "\n", &save) : NULL; line != NULL;
		     line = strtok_r(NULL, "\n", &save), i++) {
			char *name = line, *size = strchr(line, '\t'), *type;

			if (size == NULL || (type = strchr(size + 1, '\t')) == NULL) {
				t->failures++;
				break;
			}
			*size++ = '\0';
			*type++ = '\0';
			if (i >= m.natt) {
				printf("# missing attachment %s\n", name);
				t->failures++;
				continue;
			}
			CHECK_STR(t, m.att[i].filename, name);
			CHECK_STR(t, m.att[i].content_type, type);
			if (strcmp(size, "*") != 0)
				CHECK_INT(t, m.att[i].size, atol(size));
		}
		CHECK_INT(t, m.natt, i);
		free(want);
	}
	if (t->failures != before)
		printf("# ^ in %s\n", dir);
	mail_msg_free(&m);
	free(raw);
	return 1;
}

/* The cases of the corpus folder top: how many there were. */
static int
corpus_in(struct t *t, const char *top)
{
	struct mail_config cfg;
	struct dirent **names;
	char dir[512];
	int n, i, cases = 0;

	mail_config_default(&cfg);
	n = scandir(top, &names, NULL, alphasort);
	CHECK(t, n > 0);
	for (i = 0; i < n; i++) {
		if (names[i]->d_name[0] != '.') {
			snprintf(dir, sizeof(dir), "%s/%s", top, names[i]->d_name);
			cases += check_case(t, &cfg, dir);
		}
		free(names[i]);
	}
	free(names);
	return cases;
}

static void
test_corpus(struct t *t)
{
	CHECK(t, corpus_in(t, DATA_DIR) >= 30);
}

/* The hand-laid messages of real clients and servers (tests/data/mail/real/make_real.py). */
static void
test_real_corpus(struct t *t)
{
	CHECK(t, corpus_in(t, DATA_DIR "/real") >= 20);
}

static void
test_charset_labels(struct t *t)
{
	mail_init(); /* GMime's alias table, for the labels the map leaves to it */
	CHECK_STR(t, mail_charset("gb2312"), "GB18030");
	CHECK_STR(t, mail_charset("GB2312"), "GB18030");
	CHECK_STR(t, mail_charset("euc-cn"), "GB18030");
	CHECK_STR(t, mail_charset("GBK"), "GB18030");
	CHECK_STR(t, mail_charset("x-gbk"), "GB18030");
	CHECK_STR(t, mail_charset("cp936"), "GB18030");
	CHECK_STR(t, mail_charset("gb2312_charset"), "GB18030");
	CHECK_STR(t, mail_charset("gb18030"), "GB18030");
	CHECK_STR(t, mail_charset("big5"), "BIG5");
	CHECK_STR(t, mail_charset("Big5-HKSCS"), "BIG5-HKSCS");
	CHECK_STR(t, mail_charset("ks_c_5601-1987"), "CP949");
	CHECK_STR(t, mail_charset("EUC-KR"), "CP949");
	CHECK_STR(t, mail_charset("utf8"), "UTF-8");
	CHECK(t, mail_charset("x-unknown") == NULL);
	CHECK(t, mail_charset("unknown-8bit") == NULL);
	CHECK(t, mail_charset("x-user-defined") == NULL);
	CHECK(t, mail_charset(NULL) == NULL);
}

static char *
html(const char *s)
{
	return mail_html_text(s, strlen(s));
}

static void
test_html(struct t *t)
{
	char *s;

	s = html("<p>a</p><script>x<p>y</p></script><style>z</style>b&amp;c");
	CHECK_STR(t, s, "a\nb&c");
	free(s);
	s = html("<a href=\"x>y\">link</a> <!-- c --> t<br><br>u");
	CHECK_STR(t, s, "link t\n\nu");
	free(s);
	s = html("<img src=x onerror=alert(1)>&lt;b&gt;");
	CHECK_STR(t, s, "<b>");
	free(s);
	s = html("unterminated <scr");
	CHECK_STR(t, s, "unterminated");
	free(s);
	/* Outlook's blank line is a paragraph of a no-break space; indentation by them stays */
	s = html("<p class=MsoNormal>a<o:p></o:p></p>\n<p class=MsoNormal><o:p>&nbsp;</o:p></p>\n"
	         "<p>&nbsp;&nbsp;b&nbsp;</p><p>c&#160;</p>");
	CHECK_STR(t, s, "a\n\n  b\nc");
	free(s);
	/* QQ's text/plain: a reference to 150 is windows-1252's en dash too */
	s = mail_entities_decode("a&nbsp;b &lt;c&gt; &#20013;&#x6587; &bogus; &#0; & &#150;");
	CHECK_STR(t, s, "a b <c> 中文 &bogus; &#0; & \u2013");
	free(s);
	/* every named reference of HTML 4 (libxml2's table), as Word and webmail write them; an
	 * unknown name starting with a legacy one reads as a browser reads it ("not" + "areal;") */
	s = html("<div>A&rarr;B &frac12; &hearts;&Omega; &sup2; &lsaquo;x&rsaquo; &notareal; "
	         "&bogus;</div>");
	CHECK_STR(t, s, "A→B ½ ♥Ω ² ‹x› ¬areal; &bogus;");
	free(s);
}

/* HTML as a reader of the rendered mail sees it (libxml2's parser, as browsers recover). */
static void
test_html_as_read(struct t *t)
{
	static const struct {
		const char *html, *text;
	} cases[] = {
		/* Word's list numbers between <![if !supportLists]> and <![endif]> (comments to a
		 * browser, text to libxml2 2.9), a CDATA section in HTML (a comment up to ">") */
		{ "<p class=MsoListParagraph><![if !supportLists]><span>1.<span style='font:7.0pt "
		  "\"Times New Roman\"'>&nbsp;&nbsp; </span></span><![endif]>路灯不亮<o:p></o:p></p>",
		  "1.   路灯不亮" },
		{ "a<![CDATA[x]]>b<![CDATA[ c > d ]]>", "ab d ]]>" },
		/* Outlook's conditional comments: what only Outlook shows is a comment elsewhere */
		{ "<!--[if mso]><p>only outlook</p><![endif]--><!--[if !mso]><!--><p>others</p>"
		  "<!--<![endif]-->",
		  "others" },
		/* a stray "<" is text; so is one before a digit or a space */
		{ "价格 < 100 元，噪音 <55 分贝，3<4", "价格 < 100 元，噪音 <55 分贝，3<4" },
		/* unclosed and misnested elements, an unclosed script */
		{ "<p>one<p>two<div>three", "one\ntwo\nthree" },
		{ "a <b>bold <i>both</b> only i", "a bold both only i" },
		{ "a<script>var x='<p>b</p>'", "a" },
		/* lists: markers, numbers from start, nesting, an item whose text is a paragraph, an
		 * empty item */
		{ "<ul><li>a</li><li>b<ul><li>c</li></ul></li></ul><ol start=3><li>x<li>y</ol>"
		  "<ul><li><p>para</p></li><li></li></ul>",
		  "- a\n- b\n  - c\n3. x\n4. y\n- para" },
		/* a quote (Gmail's reply) with its empty line */
		{ "<div>ok</div><div class=gmail_quote><div>X wrote:<br></div><blockquote "
		  "class=gmail_quote><div>first<br><br>second</div></blockquote></div>after",
		  "ok\nX wrote:\n> first\n>\n> second\nafter" },
		/* links: the address after a text that does not say it; mailto as the address;
		 * nothing for javascript:, cid: or an image */
		{ "<a href=\"https://pan.example.cn/s/abc\">照片</a> <a href=\"https://www.gov.cn/\">"
		  "www.gov.cn</a> <a href=\"mailto:a@b.cn\">a@b.cn</a> <a href=\"MAILTO:a@b.cn?subject"
		  "=x\">写信</a> <a href=\"javascript:alert(1)\">x</a> <a href=\"cid:1\"><img "
		  "src=\"cid:1\"></a> <a href=\"#top\">top</a>",
		  "照片 <https://pan.example.cn/s/abc> www.gov.cn a@b.cn 写信 <a@b.cn> x top" },
		/* hidden text (a preheader) never reaches the body */
		{ "<div style=\"display:none;max-height:0\">preheader<p>x</p></div><span style="
		  "\"DISPLAY: NONE !important\">y</span><p hidden>h</p><p style=\"color:red; "
		  "visibility : hidden\">v</p><p style=\"display: block\">shown</p>",
		  "shown" },
		/* layout white space folds; <pre> keeps it */
		{ "<p>  a \n\t b  </p>\n\n<p>c</p>", "a b\nc" },
		{ "t<pre>  x\n    y</pre>z", "t\n  x\n    y\nz" },
		/* table cells on their row's line, tab apart (a paragraph in a cell too) */
		{ "<table><tr><td><p>姓名</p></td><td><p>张三</p></td></tr><tr><td>电话</td><td></td>"
		  "</tr><tr><td></td><td>x</td></tr></table>after",
		  "姓名\t张三\n电话\n\tx\nafter" },
		/* block ends and <br>: Gmail's <div><br></div> is an empty line, a <br> ending a
		 * block is not */
		{ "<div>您好：</div><div><br></div><div>谢谢<br></div><div>王</div><br>b",
		  "您好：\n\n谢谢\n王\n\nb" },
		/* the title and the head are not the letter; a <meta> charset does not switch
		 * text that is UTF-8 already */
		{ "<html><head><title>Secret</title><meta charset=gbk></head><body>中文</body></html>",
		  "中文" },
		/* numeric references to 128-159 are windows-1252's characters (a web form's dashes
		 * and curly quotes); 129 is none of them: a control, shown as nothing */
		{ "<p>9&#150;17 &#147;quoted&#148; &#145;x&#146; &#x80;5 &#133;&#153; &#129;end</p>",
		  "9\u201317 \u201cquoted\u201d \u2018x\u2019 \u20ac5 \u2026\u2122 end" },
		/* named references without their ";" as a browser reads them: the legacy names
		 * only, the longest one a name starts with, a ";" after a whole one taken with it */
		{ "<p>a&nbspb &amp x &lt y &copy 2024 &copy2024 &eacutex &notit; &AMP; &COPY "
		  "&hellip &frac12 & &&amp</p>",
		  "a b & x < y \u00a9 2024 \u00a92024 \u00e9x \u00acit; & \u00a9 &hellip \u00bd & "
		  "&&" },
		/* text hidden by a rule of a <style> block: a class, an id, after an element name
		 * or not; a later or more specific rule, or the inline style, shows it again; rules
		 * of @media (some screens only) and other selectors are not applied */
		{ "<html><head><style type=\"text/css\">/* x{display:none} */ .preheader { display:"
		  "none !important; mso-hide:all } #promo{visibility:hidden} span.tiny, .a b "
		  "{display:none} @media screen and (max-width:600px){.desktop{display:none}} "
		  ".shown{display:none} .shown{display:block} #win{display:block} .lose{display:none}"
		  " p.MsoNormal{margin:0}</style></head><body><div class=\"wrap preheader\">pre"
		  "</div><p id=promo>promo</p><span class=tiny>tiny</span><b class=tiny>b-tiny</b>"
		  "<p class=desktop>desk</p><p class=shown>shown</p><p id=win class=lose>win</p>"
		  "<p class=preheader style=\"display:block\">inline</p><p class=MsoNormal>text</p>"
		  "</body></html>",
		  "b-tiny\ndesk\nshown\nwin\ninline\ntext" },
		{ "", "" },
	};
	GString *deep;
	char *s;
	size_t i;
	int k;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		s = html(cases[i].html);
		CHECK_STR(t, s, cases[i].text);
		free(s);
	}
	/* nesting far beyond libxml2's default limit of 256: the text after it is kept */
	deep = g_string_new(NULL);
	for (k = 0; k < 5000; k++)
		g_string_append(deep, "<div>");
	g_string_append(deep, "deep");
	for (k = 0; k < 5000; k++)
		g_string_append(deep, "</div>");
	g_string_append(deep, "after");
	s = mail_html_text(deep->str, deep->len);
	CHECK_STR(t, s, "deep\nafter");
	free(s);
	g_string_free(deep, TRUE);
}

/* Whom a message is from: Reply-To's mailbox when it is one other address than From's and not
 * ours (a form's relay), else From's. */
static void
test_reply_to(struct t *t)
{
	static const struct {
		const char *headers, *from, *relay;
	} cases[] = {
		{ "From: Forms <noreply@forms.example>\r\nReply-To: =?UTF-8?B?5L2V5pmT5Lic?= "
		  "<he@example.cn>\r\n",
		  "何晓东 <he@example.cn>", "noreply@forms.example" },
		{ "From: Forms <noreply@forms.example>\r\nReply-To: he@example.cn\r\n",
		  "he@example.cn", "noreply@forms.example" },
		/* the same address: From's name stays */
		{ "From: Zhang <zhang@example.cn>\r\nReply-To: ZHANG@example.cn\r\n",
		  "Zhang <zhang@example.cn>", NULL },
		/* one of ours (a receiving address): never the citizen */
		{ "From: a <a@example.cn>\r\nReply-To: director@bureau.example\r\n",
		  "a <a@example.cn>", NULL },
		/* several, a group, nothing usable: From */
		{ "From: a <a@example.cn>\r\nReply-To: b@example.cn, c@example.cn\r\n",
		  "a <a@example.cn>", NULL },
		{ "From: a <a@example.cn>\r\nReply-To: team: b@example.cn;\r\n",
		  "a <a@example.cn>", NULL },
		{ "From: a <a@example.cn>\r\nReply-To: not an address\r\n", "a <a@example.cn>",
		  NULL },
	};
	struct mail_config cfg;
	struct mail_msg m;
	char err[256], msg[512], got[300];
	size_t i;

	mail_config_default(&cfg);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(msg, sizeof(msg), "%sTo: director@bureau.example\r\nSubject: s\r\n\r\nbody\r\n",
		         cases[i].headers);
		CHECK_INT(t, mail_parse(&cfg, msg, strlen(msg), &m, err, sizeof(err)), MAIL_OK);
		if (m.from_name != NULL)
			snprintf(got, sizeof(got), "%s <%s>", m.from_name, m.from_addr);
		else
			snprintf(got, sizeof(got), "%s", m.from_addr != NULL ? m.from_addr : "(none)");
		CHECK_STR(t, got, cases[i].from);
		if (cases[i].relay != NULL)
			CHECK_STR(t, m.relay_addr, cases[i].relay);
		else
			CHECK(t, m.relay_addr == NULL);
		mail_msg_free(&m);
	}
}

static void
test_kinds(struct t *t)
{
	struct mail_config cfg;
	char err[256];

	mail_config_default(&cfg);
	CHECK_INT(t, cfg.nkinds, 3);
	CHECK_INT(t, mail_kinds_parse(&cfg, "a=letter, b@x.cn=complaint", err, sizeof(err)), 0);
	CHECK_INT(t, cfg.nkinds, 2);
	CHECK_STR(t, cfg.kinds[1].addr, "b@x.cn");
	CHECK_INT(t, mail_kinds_parse(&cfg, "a=petition", err, sizeof(err)), -1);
	CHECK(t, strstr(err, "a=petition") != NULL);
	CHECK_INT(t, mail_kinds_parse(&cfg, "=letter", err, sizeof(err)), -1);
	CHECK_INT(t, mail_kinds_parse(&cfg, "noequals", err, sizeof(err)), -1);
	CHECK_INT(t, cfg.nkinds, 2); /* unchanged after errors */
	CHECK_INT(t, mail_kinds_parse(&cfg, "", err, sizeof(err)), 0);
	CHECK_INT(t, cfg.nkinds, 0);
}

static void
test_exact_address_kind(struct t *t)
{
	static const char msg[] = "From: a@b.cn\r\nTo: x@y.cn, Complaint@Bureau.Example\r\n"
	                          "Subject: s\r\n\r\nbody\r\n";
	struct mail_config cfg;
	struct mail_msg m;
	char err[256];

	mail_config_default(&cfg);
	CHECK_INT(t, mail_kinds_parse(&cfg, "complaint@bureau.example=complaint", err,
	                              sizeof(err)), 0);
	CHECK_INT(t, mail_parse(&cfg, msg, sizeof(msg) - 1, &m, err, sizeof(err)), MAIL_OK);
	CHECK_STR(t, m.kind, "complaint");
	CHECK_STR(t, m.body, "body");
	mail_msg_free(&m);
	CHECK_INT(t, mail_kinds_parse(&cfg, "complaint@other.example=complaint", err,
	                              sizeof(err)), 0);
	CHECK_INT(t, mail_parse(&cfg, msg, sizeof(msg) - 1, &m, err, sizeof(err)), MAIL_OK);
	CHECK_STR(t, m.kind, "letter");
	mail_msg_free(&m);
}

static void
test_never_storable(struct t *t)
{
	struct mail_config cfg;
	struct mail_msg m;
	char err[256], *big;

	mail_config_default(&cfg);
	CHECK_INT(t, mail_parse(&cfg, "", 0, &m, err, sizeof(err)), MAIL_INVALID);
	big = calloc(1, (size_t)MAIL_RAW_MAX + 2);
	CHECK(t, big != NULL);
	if (big != NULL) {
		memcpy(big, "From: a@b.cn\r\n\r\n", 16);
		memset(big + 16, 'x', (size_t)MAIL_RAW_MAX - 15);
		CHECK_INT(t, mail_parse(&cfg, big, (size_t)MAIL_RAW_MAX + 1, &m, err, sizeof(err)),
		          MAIL_INVALID);
		CHECK(t, strstr(err, "larger") != NULL);
		free(big);
	}
}

/* The subject as mail_parse decodes it from the header value `subject`. */
static void
check_subject(struct t *t, const char *subject, const char *want)
{
	struct mail_config cfg;
	struct mail_msg m;
	char raw[1024], err[256];
	int n;

	mail_config_default(&cfg);
	n = snprintf(raw, sizeof(raw), "From: split@example.cn\r\nSubject: %s\r\n\r\nbody\r\n",
	             subject);
	CHECK_INT(t, mail_parse(&cfg, raw, (size_t)n, &m, err, sizeof(err)), MAIL_OK);
	CHECK_STR(t, m.subject, want);
	mail_msg_free(&m);
}

/* Mailers split a long subject into encoded words anywhere, even inside a character, and pad
 * each B word: the words of one charset, B or Q, are decoded together (关于噪音扰民的投诉 in GB2312,
 * cut after its fifth and eleventh bytes). */
static void
test_split_encoded_words(struct t *t)
{
	check_subject(t, "=?gb2312?B?udjT2tQ=?=\r\n =?GB2312?B?69L0yMXD?=\r\n "
	                 "=?gb2312?B?8bXEzbbL3w==?=",
	              "关于噪音扰民的投诉");
	check_subject(t, "=?gbk?Q?=B9=D8=D3=DA=D4?= =?gbk?Q?=EB=D2=F4=C8=C5=C3=F1=B5=C4=CD=B6=CB=DF?=",
	              "关于噪音扰民的投诉");
	/* words of two charsets, then plain text */
	check_subject(t, "=?utf-8?B?5L2g5aW9?= =?gbk?B?ysC95w==?= plain end", "你好世界 plain end");
	check_subject(t, "=?utf-8?B?5oqV6K+J?= about noise", "投诉 about noise");
	/* base64 without its padding: the last bytes too */
	check_subject(t, "=?UTF-8?B?5peg5aGr5YWFeA?=", "无填充x");
	check_subject(t, "=?UTF-8?B?5peg5aGr5YWFeHk?= =?UTF-8?B?eg?=", "无填充xyz");
	/* a GB label on UTF-8 bytes (PHP forms) */
	check_subject(t, "=?gb2312?B?5qCH6aKY5rWL6K+V?=", "标题测试");
	/* a B word and a Q word split inside a character (关于路灯损坏的投诉 in GBK after its fifth
	 * byte; 关于 路灯 in UTF-8 after its eighth, a space as "_") */
	check_subject(t, "=?GBK?B?udjT2sI=?= =?GBK?Q?=B7=B5=C6=CB=F0=BB=B5=B5=C4=CD=B6=CB=DF?=",
	              "关于路灯损坏的投诉");
	check_subject(t, "=?UTF-8?Q?=E5=85=B3=E4=BA=8E_=E8?=\r\n =?UTF-8?B?t6/nga8=?=", "关于 路灯");
}

/* The body as mail_parse decodes it from a text/plain part with Content-Type parameters
 * `params` and text `body`. */
static void
check_body(struct t *t, const char *params, const char *body, const char *want)
{
	struct mail_config cfg;
	struct mail_msg m;
	char raw[2048], err[256];
	int n;

	mail_config_default(&cfg);
	n = snprintf(raw, sizeof(raw),
	             "From: flowed@example.cn\r\nSubject: flowed\r\nMIME-Version: 1.0\r\n"
	             "Content-Type: text/plain; charset=utf-8%s\r\n"
	             "Content-Transfer-Encoding: 8bit\r\n\r\n%s",
	             params, body);
	CHECK_INT(t, mail_parse(&cfg, raw, (size_t)n, &m, err, sizeof(err)), MAIL_OK);
	CHECK_STR(t, m.body, want);
	mail_msg_free(&m);
}

/* The body mail_parse makes of the len bytes raw (which may hold NUL bytes). */
static void
check_raw_body(struct t *t, const char *raw, size_t len, const char *want)
{
	struct mail_config cfg;
	struct mail_msg m;
	char err[256];

	mail_config_default(&cfg);
	CHECK_INT(t, mail_parse(&cfg, raw, len, &m, err, sizeof(err)), MAIL_OK);
	CHECK_STR(t, m.body, want);
	mail_msg_free(&m);
}

#define RAW_HEAD "From: nul@example.cn\r\nSubject: nul\r\nMIME-Version: 1.0\r\n"

/* A NUL byte in a text part is a space: the text after it is kept (it ended the C string), in
 * UTF-8 and GBK, and a U+0000 of UTF-16; a 0x80 where a UTF-8 character would start (an IMAP
 * server's stand-in for a NUL, which a literal cannot hold) is one too, while UTF-8 text with
 * other bad bytes still goes to the fallbacks; an empty text part is no text. */
static void
test_nul_in_text(struct t *t)
{
	static const char utf8[] = RAW_HEAD "Content-Type: text/plain; charset=utf-8\r\n\r\n"
	                                    "\xe5\x89\x8d\x00\xe5\x90\x8e\r\nline 2\x00\r\n";
	static const char gbk[] = RAW_HEAD "Content-Type: text/plain; charset=gbk\r\n\r\n"
	                                   "\xc7\xb0\x00\xba\xf3";
	static const char first[] = RAW_HEAD "Content-Type: text/plain\r\n\r\n\x00\x00text";
	static const char utf16[] = RAW_HEAD "Content-Type: text/plain; charset=utf-16le\r\n"
	                                     "Content-Transfer-Encoding: base64\r\n\r\nYQAAAGIA\r\n";
	static const char imap[] = RAW_HEAD "Content-Type: text/plain; charset=utf-8\r\n\r\n"
	                                    "\xe5\x89\x8d\x80\xe5\x90\x8e\x80";
	static const char gbk_as_utf8[] = RAW_HEAD "Content-Type: text/plain; charset=utf-8\r\n\r\n"
	                                           "\xc7\xb0\xba\xf3";
	static const char empty[] = RAW_HEAD "Content-Type: text/plain; charset=utf-8\r\n\r\n";
	static const char empty_b64[] = RAW_HEAD "Content-Type: multipart/alternative; boundary=b\r\n"
	                                         "\r\n--b\r\nContent-Type: text/plain\r\n"
	                                         "Content-Transfer-Encoding: base64\r\n\r\n--b\r\n"
	                                         "Content-Type: text/html\r\n\r\n<p>html</p>\r\n--b--\r\n";

	check_raw_body(t, utf8, sizeof(utf8) - 1, "前 后\nline 2");
	check_raw_body(t, gbk, sizeof(gbk) - 1, "前 后");
	check_raw_body(t, first, sizeof(first) - 1, "text");
	check_raw_body(t, utf16, sizeof(utf16) - 1, "a b");
	check_raw_body(t, imap, sizeof(imap) - 1, "前 后");
	check_raw_body(t, gbk_as_utf8, sizeof(gbk_as_utf8) - 1, "前后");
	check_raw_body(t, empty, sizeof(empty) - 1, "(no text)");
	check_raw_body(t, empty_b64, sizeof(empty_b64) - 1, "html");
	{
		/* in a raw Subject too, and unlabelled text whose NUL an IMAP server made 0x80 */
		static const char subj[] = "From: nul@example.cn\r\nSubject: a\x00" "b\r\n\r\ntext";
		static const char subj80[] = "From: nul@example.cn\r\nSubject: \xe5\x89\x8d\x80"
		                             "b\r\n\r\ntext";
		struct mail_config cfg;
		struct mail_msg m;
		char err[256];

		mail_config_default(&cfg);
		CHECK_INT(t, mail_parse(&cfg, subj, sizeof(subj) - 1, &m, err, sizeof(err)), MAIL_OK);
		CHECK_STR(t, m.subject, "a b");
		mail_msg_free(&m);
		CHECK_INT(t, mail_parse(&cfg, subj80, sizeof(subj80) - 1, &m, err, sizeof(err)),
		          MAIL_OK);
		CHECK_STR(t, m.subject, "前 b");
		mail_msg_free(&m);
	}
}

/* Big5 text that the Big5 table reads whole is read by it (A1E3 is ～ there, ∼ in HKSCS's);
 * under a Big5 label, text with HKSCS characters (嘅: 9DEF) is read by Big5-HKSCS's table. */
static void
test_big5_hkscs(struct t *t)
{
	static const char big5[] = RAW_HEAD "Content-Type: text/plain; charset=big5\r\n\r\n"
	                                    "\xa4H\xa1\xe3";
	static const char hk[] = RAW_HEAD "Content-Type: text/plain; charset=big5\r\n\r\n"
	                                  "\xa4H\x9d\xef";
	static const char hk_label[] = RAW_HEAD "Content-Type: text/plain; charset=big5-hkscs\r\n"
	                                        "\r\n\xa4H\x9d\xef";

	check_raw_body(t, big5, sizeof(big5) - 1, "人～");
	check_raw_body(t, hk, sizeof(hk) - 1, "人嘅");
	check_raw_body(t, hk_label, sizeof(hk_label) - 1, "人嘅");
	/* and a Subject's word under a Big5 label */
	check_subject(t, "=?big5?B?pEid7w==?=", "人嘅");
	{
		/* and an RFC 2231 file name; a %00 in one is a space */
		static const char *const cds[][2] = {
			{ "attachment; filename*=big5''%A4H%9D%EF.pdf", "人嘅.pdf" },
			{ "attachment; filename*0*=utf-8''a%00; filename*1*=b.pdf", "a b.pdf" },
		};
		struct mail_config cfg;
		struct mail_msg m;
		char raw[512], err[256];
		size_t i;
		int n;

		mail_config_default(&cfg);
		cfg.limits.types = NULL;
		for (i = 0; i < sizeof(cds) / sizeof(cds[0]); i++) {
			n = snprintf(raw, sizeof(raw),
			             "From: n@example.cn\r\nSubject: n\r\nMIME-Version: 1.0\r\n"
			             "Content-Type: application/pdf\r\nContent-Disposition: %s\r\n\r\n"
			             "%%PDF-1.4\r\n",
			             cds[i][0]);
			CHECK_INT(t, mail_parse(&cfg, raw, (size_t)n, &m, err, sizeof(err)), MAIL_OK);
			CHECK_INT(t, (long long)m.natt, 1);
			if (m.natt == 1)
				CHECK_STR(t, m.att[0].filename, cds[i][1]);
			mail_msg_free(&m);
		}
	}
}

/* Outlook's winmail.dat (TNEF) is left out as what it is, by its content type or its
 * signature, in each language of the acknowledgement: not "a type not accepted". */
static void
test_winmail_dat(struct t *t)
{
	static const char *const ctypes[] = { "application/ms-tnef", "application/octet-stream" };
	struct mail_config cfg;
	struct mail_msg m;
	char raw[1024], err[256], *s;
	size_t i;
	int n;

	mail_config_default(&cfg);
	for (i = 0; i < 2; i++) {
		n = snprintf(raw, sizeof(raw),
		             RAW_HEAD "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
		                      "--b\r\nContent-Type: text/plain\r\n\r\ntext\r\n--b\r\n"
		                      "Content-Type: %s; name=winmail.dat\r\n"
		                      "Content-Transfer-Encoding: base64\r\n\r\neJ8+IgEAAQaQCAAEAAAAAA==\r\n"
		                      "--b--\r\n",
		             ctypes[i]);
		CHECK_INT(t, mail_parse(&cfg, raw, (size_t)n, &m, err, sizeof(err)), MAIL_OK);
		CHECK_INT(t, (long long)m.nleft, 1);
		CHECK_INT(t, m.left[0].why, MAIL_LEFT_TNEF);
		CHECK(t, strstr(m.body, "winmail.dat, 16 bytes: Outlook's rich-text package (TNEF)") !=
		             NULL);
		s = mail_left_out(&m, "zh-Hant");
		CHECK(t, s != NULL && strstr(s, "其中的檔案無法在此讀取") != NULL);
		g_free(s);
		s = mail_left_out(&m, NULL);
		CHECK(t, s != NULL && strstr(s, "其中的文件无法在此读取") != NULL &&
		             strstr(s, " / Outlook's rich-text package") != NULL);
		g_free(s);
		mail_msg_free(&m);
	}
}

/* GBK text under a Latin-1 label (a GBK page's form through a Latin-1 mailer) is read as GBK
 * when GB18030 reads it whole with two Han characters in a row; Western text stays Latin-1. */
static void
test_gbk_under_latin1(struct t *t)
{
	/* 人民路灯 in GBK */
	static const char gbk[] = RAW_HEAD "Content-Type: text/plain; charset=iso-8859-1\r\n\r\n"
	                                   "\xc8\xcb\xc3\xf1\xc2\xb7\xb5\xc6";
	static const char gbk1252[] = RAW_HEAD "Content-Type: text/plain; charset=windows-1252\r\n"
	                                       "\r\nok \xc8\xcb\xc3\xf1";
	/* Caf\xe9 ferm\xe9 / Gr\xfc\xdf" "e / \xc6\xe6 (no two Han characters in a row in GBK) */
	static const char french[] = RAW_HEAD "Content-Type: text/plain; charset=iso-8859-1\r\n"
	                                      "\r\nCaf\xe9 ferm\xe9";
	static const char german[] = RAW_HEAD "Content-Type: text/plain; charset=iso-8859-1\r\n"
	                                      "\r\nGr\xfc\xdf" "e";
	static const char one[] = RAW_HEAD "Content-Type: text/plain; charset=iso-8859-1\r\n"
	                                   "\r\n\xc6\xe6";

	check_raw_body(t, gbk, sizeof(gbk) - 1, "人民路灯");
	check_raw_body(t, gbk1252, sizeof(gbk1252) - 1, "ok 人民");
	check_raw_body(t, french, sizeof(french) - 1, "Café fermé");
	check_raw_body(t, german, sizeof(german) - 1, "Grüße");
	check_raw_body(t, one, sizeof(one) - 1, "Ææ");
	/* and a Subject's word */
	check_subject(t, "=?iso-8859-1?B?yMvD8cK3tcY=?=", "人民路灯");
	check_subject(t, "=?iso-8859-1?Q?Gr=FC=DFe_aus_K=F6ln?=", "Grüße aus Köln");
}

/* A message whose line ends are CR alone reads as one with LF (it had no header: "(no
 * subject)", "(no text)"); CR in a message with LF stays as it was. */
static void
test_cr_line_ends(struct t *t)
{
	static const char cr[] = "From: cr@example.cn\rSubject: cr only\rMIME-Version: 1.0\r"
	                         "Content-Type: text/plain; charset=utf-8\r\rline 1\rline 2\r";
	struct mail_config cfg;
	struct mail_msg m;
	char err[256];

	mail_config_default(&cfg);
	CHECK_INT(t, mail_parse(&cfg, cr, sizeof(cr) - 1, &m, err, sizeof(err)), MAIL_OK);
	CHECK_STR(t, m.subject, "cr only");
	CHECK_STR(t, m.body, "line 1\nline 2");
	CHECK_STR(t, m.from_addr, "cr@example.cn");
	mail_msg_free(&m);
}

/* format=flowed (RFC 3676, Thunderbird's and Apple Mail's plain text): soft line breaks are
 * joined, with DelSp=yes without their space; quotes keep their depth; space-stuffing is
 * undone; the signature separator and fixed text stay as they are. */
static void
test_format_flowed(struct t *t)
{
	check_body(t, "; format=flowed",
	           "The street light at the corner has been \r\nbroken for three months.\r\n"
	           "\r\n> Earlier you \r\n> wrote this.\r\n>> And \r\n>> this.\r\n"
	           " From the residents\r\n-- \r\nZhang\r\n",
	           "The street light at the corner has been broken for three months.\n\n"
	           "> Earlier you wrote this.\n>> And this.\nFrom the residents\n-- \nZhang");
	check_body(t, "; format=flowed; delsp=yes", "路灯坏了三个月， \r\n请尽快修理。\r\n",
	           "路灯坏了三个月，请尽快修理。");
	/* a paragraph whose quote ends without a fixed line */
	check_body(t, "; format=flowed", "> quoted \r\nnot quoted\r\n",
	           "> quoted \nnot quoted");
	/* not flowed: the lines stay */
	check_body(t, "", "one \r\ntwo\r\n", "one \ntwo");
}

/* A byte order mark before the text (some clients write one) is not part of the body. */
static void
test_byte_order_mark(struct t *t)
{
	static const char raw[] = "From: bom@example.cn\r\nSubject: BOM\r\nMIME-Version: 1.0\r\n"
	                          "Content-Type: text/plain; charset=utf-8\r\n\r\n"
	                          "\xEF\xBB\xBF\xE5\xB8\xA6" "BOM\xEF\xBB\xBF\r\n";
	struct mail_config cfg;
	struct mail_msg m;
	char err[256];

	mail_config_default(&cfg);
	CHECK_INT(t, mail_parse(&cfg, raw, sizeof(raw) - 1, &m, err, sizeof(err)), MAIL_OK);
	CHECK_STR(t, m.body, "\xE5\xB8\xA6" "BOM\xEF\xBB\xBF"); /* only the leading one */
	mail_msg_free(&m);
}

/* An HTML part whose Content-Type names no charset is read in the one its first <meta> that
 * declares one names, found by libxml2's parser without converting the bytes: quoted or spaced
 * values, either attribute order, not one in a comment; UTF-16 (which 8-bit markup cannot be)
 * and none read as UTF-8 (else GB18030). */
static void
test_html_meta_charset(struct t *t)
{
	static const struct {
		const char *meta, *body, *text;
	} cases[] = {
		/* Big5 "您好", GBK "您好" */
		{ "<meta content='text/html; charset = \"big5\"' http-equiv=CONTENT-TYPE>",
		  "\xb1z\xa6n", "您好" },
		{ "<META CHARSET=\" gbk \">", "\xc4\xfa\xba\xc3", "您好" },
		{ "<meta http-equiv=\"Content-Type\" content=\"text/html\"><meta charset=big5>",
		  "\xb1z\xa6n", "您好" },
		{ "<!-- <meta charset=big5> --><meta name=x content=\"charset=big5\">",
		  "\xe6\x82\xa8\xe5\xa5\xbd", "您好" },
		{ "<meta charset=utf-16>", "\xe6\x82\xa8\xe5\xa5\xbd", "您好" },
	};
	struct mail_config cfg;
	struct mail_msg m;
	char err[256];
	GString *raw;
	size_t i;

	mail_config_default(&cfg);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		raw = g_string_new("From: meta@example.cn\r\nSubject: meta\r\nMIME-Version: 1.0\r\n"
		                   "Content-Type: text/html\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
		                   "<html><head>");
		g_string_append_printf(raw, "%s</head><body><p>%s</p></body></html>\r\n", cases[i].meta,
		                       cases[i].body);
		CHECK_INT(t, mail_parse(&cfg, raw->str, raw->len, &m, err, sizeof(err)), MAIL_OK);
		CHECK_STR(t, m.body, cases[i].text);
		mail_msg_free(&m);
		g_string_free(raw, TRUE);
	}
}

static void
test_long_subject_and_body(struct t *t)
{
	struct mail_config cfg;
	struct mail_msg m;
	char err[256], *msg;
	size_t n = 0, i;

	mail_config_default(&cfg);
	cfg.limits.subject_max = 10;
	cfg.limits.body_max = 400;
	msg = malloc(8192);
	n += (size_t)sprintf(msg, "From: a@b.cn\r\nSubject: ");
	for (i = 0; i < 30; i++)
		n += (size_t)sprintf(msg + n, "字");
	n += (size_t)sprintf(msg + n, "\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n");
	for (i = 0; i < 3000; i++)
		msg[n++] = 'a';
	msg[n] = '\0';
	CHECK_INT(t, mail_parse(&cfg, msg, n, &m, err, sizeof(err)), MAIL_OK);
	CHECK_STR(t, m.subject, "字字字字字字字字字…");
	CHECK(t, strstr(m.body, "cut here") != NULL);
	/* the subject whole in the body, and text and notes within the limit together */
	CHECK(t, strstr(m.body, "主题全文): 字字字字字字字字字字字字字字字字字字字字字字字字字字字字字字]") !=
	             NULL);
	CHECK(t, g_utf8_strlen(m.body, -1) <= 400);
	mail_msg_free(&m);
	/* a subject of 3,000 characters: its note takes at most half the body */
	n = (size_t)sprintf(msg, "From: a@b.cn\r\nSubject: ");
	for (i = 0; i < 3000; i++)
		msg[n++] = 'b';
	n += (size_t)sprintf(msg + n, "\r\nContent-Type: text/plain; charset=utf-8\r\n\r\ntext\r\n");
	CHECK_INT(t, mail_parse(&cfg, msg, n, &m, err, sizeof(err)), MAIL_OK);
	CHECK(t, strncmp(m.body, "text\n\n[the whole subject", 24) == 0);
	CHECK(t, g_utf8_strlen(m.body, -1) <= 400);
	mail_msg_free(&m);
	free(msg);
}

/* With the default limits the whole decoded Subject is the item's: 1,500 characters in folded B
 * words of 45 bytes (each splits a character), and no note at the body's end (it was cut at 200
 * with the whole text noted there). */
static void
test_whole_long_subject(struct t *t)
{
	struct mail_config cfg;
	struct mail_msg m;
	GString *raw = g_string_new("From: a@b.cn\r\nSubject:"), *want = g_string_new("");
	char err[256], *b64;
	size_t i, n;

	mail_config_default(&cfg);
	for (i = 0; i < 1500; i++)
		g_string_append(want, i % 7 == 6 ? "x" : "\xe5\xad\x97"); /* 字 and x */
	for (i = 0; i < want->len; i += 45) {
		n = want->len - i < 45 ? want->len - i : 45;
		b64 = g_base64_encode((const guchar *)want->str + i, n);
		g_string_append_printf(raw, "%s=?utf-8?B?%s?=", i ? "\r\n " : " ", b64);
		g_free(b64);
	}
	g_string_append(raw, "\r\nContent-Type: text/plain; charset=utf-8\r\n\r\ntext\r\n");
	CHECK_INT(t, mail_parse(&cfg, raw->str, raw->len, &m, err, sizeof(err)), MAIL_OK);
	CHECK_STR(t, m.subject, want->str);
	CHECK_STR(t, m.body, "text");
	mail_msg_free(&m);
	g_string_free(raw, TRUE);
	g_string_free(want, TRUE);
}

/* An attached message without a file name is named by its subject: a base name even when the
 * subject holds a slash (found by fuzz_mail). An empty delivery-status part is no reason. */
static void
test_attached_message_name_and_empty_report(struct t *t)
{
	static const char msg[] =
	    "From: a@b.cn\r\nSubject: s\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
	    "--b\r\nContent-Type: text/plain\r\n\r\ntext\r\n"
	    "--b\r\nContent-Type: message/rfc822\r\n\r\n"
	    "Subject: a/b\\c\r\nMessage-ID: <in@x.cn>\r\n\r\ninner\r\n--b--\r\n";
	static const char dsn[] =
	    "From: mailer-daemon@x.cn\r\nSubject: failed\r\n"
	    "Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n\r\n"
	    "--b\r\nContent-Type: message/delivery-status\r\n\r\n\r\n--b--\r\n";
	struct mail_config cfg;
	struct mail_msg m;
	char err[256];

	mail_config_default(&cfg);
	cfg.limits.types = NULL;
	CHECK_INT(t, mail_parse(&cfg, msg, sizeof(msg) - 1, &m, err, sizeof(err)), MAIL_OK);
	CHECK_INT(t, m.natt, 1);
	if (m.natt == 1)
		CHECK_STR(t, m.att[0].filename, "a_b_c.eml");
	mail_msg_free(&m);
	CHECK_INT(t, mail_parse(&cfg, dsn, sizeof(dsn) - 1, &m, err, sizeof(err)), MAIL_OK);
	CHECK_INT(t, m.bounce, 1);
	CHECK_STR(t, m.bounce_reason, "failed");
	CHECK_INT(t, m.nbounce_ids, 0);
	mail_msg_free(&m);
}

/* Auto-reply subjects: a responder's prefix at the start (with a colon, or in brackets),
 * never the words inside a citizen's subject. */
static void
test_auto_reply_subjects(struct t *t)
{
	static const struct {
		const char *subject;
		const char *ignored;
	} cases[] = {
		{ "=?UTF-8?B?44CQ6Ieq5Yqo5Zue5aSN44CR5oiR5bey5pS25Yiw?=", "auto-reply subject" },
		{ "[Automatic reply] We have your letter", "auto-reply subject" },
		{ "automatic reply : x", "auto-reply subject" },
		{ "=?UTF-8?B?6Ieq5Yqo5Zue5aSN?=", "auto-reply subject" },
		{ "=?UTF-8?B?6Ieq5Yqo5Zue5aSN5pWF6Zqc?=", NULL },      /* 自动回复故障 */
		{ "=?UTF-8?B?UmU6IOiHquWKqOWbnuWkjeaXoOWGheWuuQ==?=", NULL }, /* Re: 自动回复无内容 */
		{ "Automatic replying machines", NULL },
	};
	struct mail_config cfg;
	struct mail_msg m;
	char msg[512], err[256];
	size_t i;

	mail_config_default(&cfg);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int n = snprintf(msg, sizeof(msg), "From: a@b.cn\r\nSubject: %s\r\n\r\ntext\r\n",
		                 cases[i].subject);

		CHECK_INT(t, mail_parse(&cfg, msg, (size_t)n, &m, err, sizeof(err)), MAIL_OK);
		CHECK_STR(t, m.ignored, cases[i].ignored);
		mail_msg_free(&m);
	}
}

/* One Message-ID, two letters: the same letter piped and polled (another line end, a header
 * added on the way) is the same; another Date is another letter, with a key of its own. */
static void
test_same_letter(struct t *t)
{
	static const char a[] = "From: s@x.cn\nSubject: Scan\nDate: Mon, 2 Mar 2026 09:33:00 +0800\n"
	                        "Message-ID: <static@x.cn>\n\nscan 1\n";
	static const char b[] = "Return-Path: <s@x.cn>\r\nDelivered-To: d@bureau.example\r\n"
	                        "From: s@x.cn\r\nSubject: Scan\r\nDate: Mon, 2 Mar 2026\r\n 09:33:00 "
	                        "+0800\r\nMessage-ID: <static@x.cn>\r\n\r\nscan 1\r\n";
	static const char c[] = "From: s@x.cn\nSubject: Scan\nDate: Tue, 3 Mar 2026 10:01:00 +0800\n"
	                        "Message-ID: <static@x.cn>\n\nscan 2\n";
	char *ka, *kc, *kc2;

	CHECK_INT(t, mail_same_letter(a, sizeof(a) - 1, b, sizeof(b) - 1), 1);
	CHECK_INT(t, mail_same_letter(a, sizeof(a) - 1, c, sizeof(c) - 1), 0);
	ka = mail_letter_key(a, sizeof(a) - 1, "static@x.cn");
	kc = mail_letter_key(c, sizeof(c) - 1, "static@x.cn");
	kc2 = mail_letter_key(c, sizeof(c) - 1, "static@x.cn");
	CHECK(t, ka != NULL && kc != NULL && kc2 != NULL);
	if (ka != NULL && kc != NULL && kc2 != NULL) {
		CHECK(t, strncmp(kc, "static@x.cn#", 12) == 0 && strlen(kc) == 24);
		CHECK(t, strcmp(ka, kc) != 0);
		CHECK_STR(t, kc, kc2);
	}
	g_free(ka);
	g_free(kc);
	g_free(kc2);
}

/* Appends to raw an attachment part named name holding data[0..n). */
static void
part_put(GString *raw, const char *name, const char *data, size_t n)
{
	g_string_append_printf(raw, "--b\r\nContent-Type: application/octet-stream\r\n"
	                            "Content-Disposition: attachment; filename=\"%s\"\r\n\r\n",
	                       name);
	g_string_append_len(raw, data, (gssize)n);
	g_string_append(raw, "\r\n");
}

/* The acknowledgement's words on the files left out: in one language each, and in Chinese and
 * English (an item without a language) byte for byte as they always were. */
static void
test_left_out_words(struct t *t)
{
	static const char pdf[] = "%PDF-1.4\n", exe[] = "MZ\x90\x01\x02\x03\x04\x05";
	struct mail_config cfg;
	struct mail_msg m;
	GString *raw = g_string_new("From: a@b.cn\r\nSubject: s\r\nMIME-Version: 1.0\r\n"
	                            "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
	                            "--b\r\nContent-Type: text/plain\r\n\r\ntext\r\n");
	char err[256], *s;
	int i;

	mail_config_default(&cfg);
	cfg.limits.attachment_max = 10;
	cfg.limits.max_attachments = 1;
	part_put(raw, "a.txt", "", 0);
	part_put(raw, "big.pdf", "%PDF-1.4\n01234567890", 20);
	part_put(raw, "b.exe", exe, sizeof(exe) - 1);
	part_put(raw, "c.pdf", pdf, sizeof(pdf) - 1);
	part_put(raw, "d.pdf", pdf, sizeof(pdf) - 1);
	g_string_append(raw, "--b--\r\n");
	CHECK_INT(t, mail_parse(&cfg, raw->str, raw->len, &m, err, sizeof(err)), MAIL_OK);
	CHECK_INT(t, (int)m.natt, 1);
	s = mail_left_out(&m, NULL);
	CHECK_STR(t, s,
	          "以下附件未能随来信收存，原邮件已完整保存；如需提交，请按要求处理后回复本邮件。\n"
	          "These attachments of your letter were not kept (the original message is kept "
	          "whole); to send them, reply to this e-mail with them as required.\n"
	          "- a.txt（0 字节 / bytes）：空文件 / an empty file\n"
	          "- big.pdf（20 字节 / bytes）：超过单个附件上限 10 字节 / larger than 10 bytes\n"
	          "- b.exe（8 字节 / bytes）：不是可接收的附件类型 / not a type accepted for "
	          "attachments\n"
	          "- d.pdf（9 字节 / bytes）：附件超过 1 个 / more than 1 attachments");
	g_free(s);
	s = mail_left_out(&m, "zh-Hans");
	CHECK_STR(t, s,
	          "以下附件未能随来信收存，原邮件已完整保存；如需提交，请按要求处理后回复本邮件。\n"
	          "- a.txt（0 字节）：空文件\n"
	          "- big.pdf（20 字节）：超过单个附件上限 10 字节\n"
	          "- b.exe（8 字节）：不是可接收的附件类型\n"
	          "- d.pdf（9 字节）：附件超过 1 个");
	g_free(s);
	s = mail_left_out(&m, "zh-Hant");
	CHECK_STR(t, s,
	          "以下附件未能隨來信收存，原郵件已完整保存；如需提交，請按要求處理後回覆本郵件。\n"
	          "- a.txt（0 位元組）：空檔案\n"
	          "- big.pdf（20 位元組）：超過單個附件上限 10 位元組\n"
	          "- b.exe（8 位元組）：不是可接收的附件類型\n"
	          "- d.pdf（9 位元組）：附件超過 1 個");
	g_free(s);
	s = mail_left_out(&m, "en");
	CHECK_STR(t, s,
	          "These attachments of your letter were not kept (the original message is kept "
	          "whole); to send them, reply to this e-mail with them as required.\n"
	          "- a.txt (0 bytes): an empty file\n"
	          "- big.pdf (20 bytes): larger than 10 bytes\n"
	          "- b.exe (8 bytes): not a type accepted for attachments\n"
	          "- d.pdf (9 bytes): more than 1 attachments");
	g_free(s);
	/* the staff's note in the body, in English as before */
	CHECK(t, strstr(m.body, "[attachment not kept (附件未保存): big.pdf, 20 bytes: larger than "
	                        "10 bytes; it stays in the original message]") != NULL);
	mail_msg_free(&m);

	/* more than twenty: the first twenty named, the others counted */
	g_string_assign(raw, "From: a@b.cn\r\nSubject: s\r\nMIME-Version: 1.0\r\n"
	                     "Content-Type: multipart/mixed; boundary=b\r\n\r\n");
	for (i = 1; i <= 22; i++) {
		char name[24];

		snprintf(name, sizeof(name), "e%d.txt", i);
		part_put(raw, name, "", 0);
	}
	g_string_append(raw, "--b--\r\n");
	CHECK_INT(t, mail_parse(&cfg, raw->str, raw->len, &m, err, sizeof(err)), MAIL_OK);
	s = mail_left_out(&m, NULL);
	CHECK(t, s != NULL && g_str_has_suffix(s, "- e20.txt（0 字节 / bytes）：空文件 / an empty "
	                                          "file\n- 另有 2 个 / 2 more"));
	g_free(s);
	s = mail_left_out(&m, "zh-Hans");
	CHECK(t, s != NULL && g_str_has_suffix(s, "空文件\n- 另有 2 个"));
	g_free(s);
	s = mail_left_out(&m, "zh-Hant");
	CHECK(t, s != NULL && g_str_has_suffix(s, "空檔案\n- 另有 2 個"));
	g_free(s);
	s = mail_left_out(&m, "en");
	CHECK(t, s != NULL && g_str_has_suffix(s, "an empty file\n- 2 more"));
	g_free(s);
	mail_msg_free(&m);
	/* nothing left out: no words */
	g_string_assign(raw, "From: a@b.cn\r\nSubject: s\r\n\r\ntext\r\n");
	CHECK_INT(t, mail_parse(&cfg, raw->str, raw->len, &m, err, sizeof(err)), MAIL_OK);
	CHECK(t, mail_left_out(&m, "en") == NULL);
	mail_msg_free(&m);
	g_string_free(raw, TRUE);
}

int
main(void)
{
	struct t t = { 0, 0, 0 };

	RUN(&t, test_charset_labels);
	RUN(&t, test_html);
	RUN(&t, test_html_as_read);
	RUN(&t, test_html_meta_charset);
	RUN(&t, test_kinds);
	RUN(&t, test_exact_address_kind);
	RUN(&t, test_reply_to);
	RUN(&t, test_never_storable);
	RUN(&t, test_long_subject_and_body);
	RUN(&t, test_whole_long_subject);
	RUN(&t, test_byte_order_mark);
	RUN(&t, test_split_encoded_words);
	RUN(&t, test_format_flowed);
	RUN(&t, test_nul_in_text);
	RUN(&t, test_big5_hkscs);
	RUN(&t, test_winmail_dat);
	RUN(&t, test_gbk_under_latin1);
	RUN(&t, test_cr_line_ends);
	RUN(&t, test_attached_message_name_and_empty_report);
	RUN(&t, test_auto_reply_subjects);
	RUN(&t, test_same_letter);
	RUN(&t, test_left_out_words);
	RUN(&t, test_corpus);
	RUN(&t, test_real_corpus);
	return t_done(&t);
}
