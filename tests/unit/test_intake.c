/*
 * test_intake.c: unit tests of intake's parts: the clocks (start, pause/resume, restart, stop,
 * freeze, JSON), input checks (UTF-8, phone numbers, e-mail addresses), query codes, the rate
 * limit table, and the storage of items through the group-commit writer (concurrent submitters,
 * a failing item among good ones). Run from the repository root.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "service/core/core.h"
#include "service/api/api_int.h"
#include "tests/check.h"

static struct sla_calendar *cal;

static int64_t
at(const char *s)
{
	int64_t t = 0;

	if (sla_parse_local(s, &t) != 0)
		printf("# bad time %s\n", s);
	return t;
}

static const char *
fmt(int64_t t, char *buf)
{
	sla_format_local(t, buf, 40);
	return buf;
}

static struct policy
default_policy(void)
{
	struct policy p;

	memset(&p, 0, sizeof(p));
	p.forward.days = 3;
	p.reply.days = 5;
	p.explain.days = 3;
	p.forward.end_minutes = p.reply.end_minutes = p.explain.end_minutes = 1440;
	p.reply_extended_days = 15;
	return p;
}

static void
test_clocks_start(struct t *t)
{
	struct db_item it;
	struct policy p = default_policy();
	char buf[40];

	memset(&it, 0, sizeof(it));
	clocks_start(&it, &p, cal, at("2025-09-30T10:00"));
	CHECK_INT(t, it.nclocks, 2);
	CHECK_STR(t, fmt(clock_find(&it, CLOCK_REPLY)->due, buf), "2025-10-14T23:59:59+08:00");
	CHECK_STR(t, fmt(clock_find(&it, CLOCK_FORWARD)->due, buf), "2025-10-11T23:59:59+08:00");
	CHECK(t, clock_find(&it, CLOCK_EXPLAIN) == NULL);
	CHECK_INT(t, db_item_next_due(&it), clock_find(&it, CLOCK_FORWARD)->due);
	CHECK_INT(t, it.next_due, clock_find(&it, CLOCK_FORWARD)->due);
	CHECK_INT(t, clock_find(&it, CLOCK_REPLY)->provisional, 0);
	/* received at 23:59 on the holiday's eve, or on the holiday: the same due date */
	clocks_start(&it, &p, cal, at("2025-10-03T12:00"));
	CHECK_STR(t, fmt(clock_find(&it, CLOCK_REPLY)->due, buf), "2025-10-14T23:59:59+08:00");
	/* beyond the calendar's coverage: provisional */
	clocks_start(&it, &p, cal, at("2026-12-30T09:00"));
	CHECK_INT(t, clock_find(&it, CLOCK_REPLY)->provisional, 1);
	/* close of business */
	p.reply.end_minutes = 17 * 60 + 30;
	clocks_start(&it, &p, cal, at("2025-09-30T10:00"));
	CHECK_STR(t, fmt(clock_find(&it, CLOCK_REPLY)->due, buf), "2025-10-14T17:30:00+08:00");
}

static void
test_clocks_pause_resume_restart(struct t *t)
{
	struct db_item it;
	struct policy p = default_policy();
	struct db_clock *reply, *fwd, *ex;
	char buf[40];

	memset(&it, 0, sizeof(it));
	clocks_start(&it, &p, cal, at("2025-09-30T10:00"));
	reply = clock_find(&it, CLOCK_REPLY);
	fwd = clock_find(&it, CLOCK_FORWARD);
	clock_stop(fwd, at("2025-10-09T09:00"));
	/* paused on Fri 10 Oct with 3 working days left after that day (11, 13, 14 Oct) */
	clock_pause(reply, cal, at("2025-10-10T09:00"));
	CHECK_INT(t, reply->remaining, 3);
	CHECK_INT(t, reply->due, 0);
	CHECK_INT(t, db_item_next_due(&it), DB_NO_DUE);
	/* resumed on Mon 20 Oct: 21, 22, 23 Oct */
	clock_resume(reply, cal, at("2025-10-20T15:00"));
	CHECK_STR(t, fmt(reply->due, buf), "2025-10-23T23:59:59+08:00");
	CHECK_INT(t, db_item_next_due(&it), reply->due);
	/* restart from 20 Oct: 5 working days */
	clock_restart(reply, cal, at("2025-10-20T15:00"), &p.reply);
	CHECK_STR(t, fmt(reply->due, buf), "2025-10-27T23:59:59+08:00");
	/* explain clock opened by an extension request: 3 WD from receipt */
	ex = clock_open(&it, CLOCK_EXPLAIN, &p.explain, cal, at("2025-09-30T10:00"));
	CHECK(t, ex != NULL);
	CHECK_INT(t, it.nclocks, 3);
	CHECK_STR(t, fmt(ex->due, buf), "2025-10-11T23:59:59+08:00");
	/* freeze: forward stopped on time, explain late by now, reply on time */
	clock_stop(reply, at("2025-10-21T10:00"));
	clocks_freeze(&it, at("2025-10-21T10:00"));
	CHECK_STR(t, fwd->result, "on_time");
	CHECK_STR(t, reply->result, "on_time");
	CHECK_STR(t, clock_find(&it, CLOCK_EXPLAIN)->result, "late");
	CHECK_INT(t, db_item_next_due(&it), clock_find(&it, CLOCK_EXPLAIN)->due);
}

static void
test_clocks_json(struct t *t)
{
	struct db_item it;
	struct policy p = default_policy();
	json_t *j, *r;

	memset(&it, 0, sizeof(it));
	clocks_start(&it, &p, cal, at("2025-09-30T10:00"));
	j = clocks_json(&it, cal, at("2025-10-15T08:00"));
	r = json_object_get(j, "reply");
	CHECK_STR(t, json_string_value(json_object_get(r, "due")), "2025-10-14T23:59:59+08:00");
	CHECK_STR(t, json_string_value(json_object_get(r, "state")), "running");
	CHECK(t, json_is_true(json_object_get(r, "overdue")));
	CHECK_INT(t, json_integer_value(json_object_get(r, "working_days_left")), -1);
	CHECK(t, json_array_size(json_object_get(r, "explanation")) == 9);
	json_decref(j);
	clock_pause(clock_find(&it, CLOCK_REPLY), cal, at("2025-10-09T10:00"));
	j = clocks_json(&it, cal, at("2025-10-10T08:00"));
	r = json_object_get(j, "reply");
	CHECK(t, json_is_null(json_object_get(r, "due")));
	CHECK_STR(t, json_string_value(json_object_get(r, "state")), "paused");
	CHECK_INT(t, json_integer_value(json_object_get(r, "working_days_left")), 4);
	json_decref(j);
	/* paused when already late, then stopped while paused: overdue all the same */
	clock_pause(clock_find(&it, CLOCK_FORWARD), cal, at("2025-10-15T10:00"));
	clock_stop(clock_find(&it, CLOCK_FORWARD), at("2025-10-16T10:00"));
	j = clocks_json(&it, cal, at("2025-10-16T11:00"));
	r = json_object_get(j, "forward");
	CHECK_STR(t, json_string_value(json_object_get(r, "state")), "stopped");
	CHECK(t, json_is_true(json_object_get(r, "overdue")));
	json_decref(j);
}

static void
test_text_checks(struct t *t)
{
	CHECK_INT(t, text_check("abc", 3, 0), 3);
	CHECK_INT(t, text_check("路灯", strlen("路灯"), 0), 2);
	CHECK_INT(t, text_check("\xf0\x9f\x98\x80", 4, 0), 1);
	CHECK_INT(t, text_check("a\nb", 3, 0), -1);
	CHECK_INT(t, text_check("a\nb", 3, TEXT_MULTILINE), 3);
	CHECK_INT(t, text_check("a\x01", 2, TEXT_MULTILINE), -1);
	CHECK_INT(t, text_check("\xff", 1, 0), -1);
	CHECK_INT(t, text_check("\xc0\xaf", 2, 0), -1);         /* overlong */
	CHECK_INT(t, text_check("\xed\xa0\x80", 3, 0), -1);     /* surrogate */
	CHECK_INT(t, text_check("\xe8\xb7", 2, 0), -1);         /* truncated */
	CHECK_INT(t, text_check("\xf4\x90\x80\x80", 4, 0), -1); /* > U+10FFFF */
	CHECK_INT(t, text_check("a\0b", 3, TEXT_MULTILINE), -1);
	{
		char bad[] = "a\xff\xc0\xaf\xed\xa0\x80"
		             "b\xe8\xb7\xaf\xe8\xb7";
		char ok[] = "路灯 \x01 \xf0\x9f\x98\x80";

		text_scrub(bad);
		CHECK_STR(t, bad, "a??????b路??");
		text_scrub(ok); /* valid UTF-8 (controls too) is left alone */
		CHECK_STR(t, ok, "路灯 \x01 \xf0\x9f\x98\x80");
	}
	CHECK(t, text_nonblank(" x "));
	CHECK(t, !text_nonblank(" \t\n"));
	/* the ideographic space, no-break space, zero-width space and BOM show nothing */
	CHECK(t, !text_nonblank("\xe3\x80\x80\xc2\xa0\xe2\x80\x8b\xef\xbb\xbf \xe3\x80\x80"));
	CHECK(t, text_nonblank("\xe3\x80\x80\xe8\xb7\xaf"));
	CHECK(t, text_nonblank("\xff")); /* not text: refused by text_check, not called blank */
	/* a line break sent as CR LF is one character, as the page counts it */
	CHECK_INT(t, text_check("a\r\nb", 4, TEXT_MULTILINE), 3);
	CHECK_INT(t, text_check("a\r\r\nb", 5, TEXT_MULTILINE), 4);
	CHECK_INT(t, text_check("a\r\n", 3, 0), -1);

	CHECK(t, phone_valid("13812345678"));
	CHECK(t, phone_valid("+8613812345678"));
	CHECK(t, phone_valid("+86 13812345678"));
	CHECK(t, phone_valid("010-12345678"));
	CHECK(t, phone_valid("0755-1234567"));
	CHECK(t, phone_valid("01012345678"));
	CHECK(t, !phone_valid("12812345678"));
	CHECK(t, !phone_valid("1381234567"));
	CHECK(t, !phone_valid("138123456789"));
	CHECK(t, !phone_valid("010-123456"));
	CHECK(t, !phone_valid("10-12345678"));
	CHECK(t, !phone_valid("+8612345"));
	CHECK(t, !phone_valid(""));

	/* as citizens write them (full-width digits and ＋ from a Chinese input method), in the
	 * one stored form; before, refused */
	{
		static const struct {
			const char *in, *want;
		} ok[] = {
		    {"13812345678", "13812345678"},
		    {"138 1234 5678", "13812345678"},
		    {"138-1234-5678", "13812345678"},
		    {"138.1234.5678", "13812345678"},
		    {" 138 1234 5678 ", "13812345678"},
		    {"\xef\xbc\x91\xef\xbc\x93\xef\xbc\x98\xef\xbc\x91\xef\xbc\x92\xef\xbc\x93"
		     "\xef\xbc\x94\xef\xbc\x95\xef\xbc\x96\xef\xbc\x97\xef\xbc\x98",
		     "13812345678"}, /* １３８１２３４５６７８ */
		    {"\xef\xbc\x8b" "86 138 1234 5678", "13812345678"}, /* ＋86 */
		    {"+86 13812345678", "+86 13812345678"}, /* as taken before: kept */
		    {"+8613812345678", "+8613812345678"},
		    {"+86-13812345678", "+86-13812345678"},
		    {"+86-138-1234-5678", "13812345678"},
		    {"(+86) 138 1234 5678", "13812345678"},
		    {"0086 138 1234 5678", "13812345678"},
		    {"008613812345678", "13812345678"},
		    {"86 138 1234 5678", "13812345678"},
		    {"8613812345678", "13812345678"},
		    {"138\xe3\x80\x80" "1234\xc2\xa0" "5678", "13812345678"}, /* ideographic, no-break */
		    {"010-12345678", "010-12345678"},
		    {"01012345678", "01012345678"},
		    {"(010) 6512-3456", "010-65123456"},
		    {"\xef\xbc\x88" "010\xef\xbc\x89" "65123456", "010-65123456"}, /* （010） */
		    {"010 6512 3456", "010-65123456"},
		    {"021-6123 4567", "021-61234567"},
		    {"0755-1234567", "0755-1234567"},
		    {"075512345678", "075512345678"},
		    {"0755 8888 6666", "0755-88886666"},
		    {"+86 10 6512 3456", "010-65123456"},
		    {"+86 (10) 6512 3456", "010-65123456"},
		    {"0086 755 8888 6666", "0755-88886666"},
		    {"031-1234567", "031-1234567"}, /* the writer's area code when it fits */
		};
		static const char *const bad[] = {
		    "", " ", "12812345678", "1381234567", "138123456789", "010-123456",
		    "10-12345678", "+8612345", "12345", "1381234567x", "+1 415 555 0100",
		    "+86 +86 13812345678", "138 1234 5678 +", "(138 1234 5678", "010) 65123456",
		    "(010)(6512)3456", "001-12345678", "0-12345678", "86 010 12345678 9",
		    "13812345678\xe8\xb7\xaf", "\xff", "1111111111111111111111111111111111111111",
		};
		char out[PHONE_TIDY_SIZE];
		size_t i;

		for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
			memset(out, 0, sizeof(out));
			CHECK_INT(t, phone_tidy(ok[i].in, out), 1);
			CHECK_STR(t, out, ok[i].want);
		}
		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			strcpy(out, "untouched");
			CHECK_INT(t, phone_tidy(bad[i], out), 0);
			CHECK_STR(t, out, "untouched");
		}
	}
	/* an extension and a service number, refused before: read now, with their kind (none of
	 * them takes an SMS); a mobile number or a service number has no extension */
	{
		static const struct {
			const char *in, *want;
			enum phone_kind kind;
		} ok[] = {
		    {"010-6512 3456 \xe8\xbd\xac 123", "010-65123456\xe8\xbd\xac" "123", PHONE_EXTENSION},
		    {"010-65123456\xe8\xbd\xac" "123", "010-65123456\xe8\xbd\xac" "123", PHONE_EXTENSION},
		    {"(010) 6512-3456 ext. 123", "010-65123456\xe8\xbd\xac" "123", PHONE_EXTENSION},
		    {"010-65123456-123", "010-65123456\xe8\xbd\xac" "123", PHONE_EXTENSION},
		    {"010-65123456#123", "010-65123456\xe8\xbd\xac" "123", PHONE_EXTENSION},
		    {"01065123456 EXT 8", "010-65123456\xe8\xbd\xac" "8", PHONE_EXTENSION},
		    {"0755-8888 6666 \xe8\xbd\xac\xe5\x88\x86\xe6\x9c\xba 123456", /* 转分机 */
		     "0755-88886666\xe8\xbd\xac" "123456", PHONE_EXTENSION},
		    {"(010) 6512 3456 \xe5\x88\x86\xe6\xa9\x9f \xef\xbc\x91\xef\xbc\x92", /* 分機 １２ */
		     "010-65123456\xe8\xbd\xac" "12", PHONE_EXTENSION},
		    {"+86 10 6512 3456 \xef\xbc\x83 9", "010-65123456\xe8\xbd\xac" "9", PHONE_EXTENSION},
		    {"010-65123456\xe8\xbd\xac" "123", "010-65123456\xe8\xbd\xac" "123", PHONE_EXTENSION},
		    {"400-810-8888", "400-810-8888", PHONE_SERVICE},
		    {"4008108888", "400-810-8888", PHONE_SERVICE},
		    {"400 810 8888", "400-810-8888", PHONE_SERVICE},
		    {"800-820-8820", "800-820-8820", PHONE_SERVICE},
		    {"95588", "95588", PHONE_SERVICE},
		    {"95555", "95555", PHONE_SERVICE},
		    {"955 88", "95588", PHONE_SERVICE},
		    {"95105888", "95105888", PHONE_SERVICE},
		    /* as before */
		    {"13812345678", "13812345678", PHONE_MOBILE},
		    {"+86 13812345678", "+86 13812345678", PHONE_MOBILE},
		    {"01012345678", "01012345678", PHONE_LANDLINE},
		    {"(010) 6512-3456", "010-65123456", PHONE_LANDLINE},
		    {"010-6512345-6", "010-65123456", PHONE_LANDLINE}, /* a whole number, as before */
		};
		static const char *const bad[] = {
		    "010-65123456\xe8\xbd\xac", "010-65123456 ext", "010-65123456#", "\xe8\xbd\xac 123",
		    "010-65123456\xe8\xbd\xac" "1234567", "010-65123456-1234567",
		    "138 1234 5678 \xe8\xbd\xac 123", "13812345678-123", "+86 138 1234 5678 ext 1",
		    "400-810-8888 \xe8\xbd\xac 1", "95588#1", "010-65123456\xe8\xbd\xac" "12\xe8\xbd\xac" "3",
		    "010-65123456 \xe8\xbd\xac 12 3", "010-65123456 extension 12", "010-123456 \xe8\xbd\xac 1",
		    "400810888", "40081088888", "500-810-8888", "+86 95588", "(400) 810 8888", "9558",
		    "955881234", "96588", "0086 4008108888x",
		};
		char out[PHONE_TIDY_SIZE];
		size_t i;

		for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
			memset(out, 0, sizeof(out));
			CHECK_INT(t, phone_tidy_kind(ok[i].in, out), ok[i].kind);
			CHECK_STR(t, out, ok[i].want);
			/* the stored form is taken again as it is */
			CHECK_INT(t, phone_tidy_kind(ok[i].want, out), ok[i].kind);
			CHECK_STR(t, out, ok[i].want);
		}
		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			strcpy(out, "untouched");
			CHECK_INT(t, phone_tidy_kind(bad[i], out), PHONE_NONE);
			CHECK_STR(t, out, "untouched");
		}
	}
	/* blanks around an address, and a Chinese input method's ＠ and ．, tidied (before: refused) */
	{
		static const struct {
			const char *in, *want;
		} ok[] = {
		    {"a@b.cn", "a@b.cn"},
		    {"  li.si@example.cn\t", "li.si@example.cn"},
		    {"\xe3\x80\x80li@example.cn\xe3\x80\x80", "li@example.cn"},
		    {"\xc2\xa0li@example.cn\xc2\xa0", "li@example.cn"},
		    {"li\xef\xbc\xa0" "example\xef\xbc\x8e" "cn", "li@example.cn"}, /* ＠ ． */
		    {"li@example\xe3\x80\x82" "cn", "li@example.cn"},                 /* 。 */
		    {"li@\xe4\xbe\x8b\xe5\xad\x90.cn", "li@例子.cn"}, /* IDN: as it was */
		};
		static const char *const bad[] = {
		    "", " ", "\xe3\x80\x80", "li @example.cn", "li@exa mple.cn", "li@example",
		    "li\xef\xbc\xa0\xef\xbc\xa0" "example.cn", "li@example.cn\x01", "\xff@b.cn",
		};
		char out[EMAIL_TIDY_SIZE];
		size_t i;

		for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
			memset(out, 0, sizeof(out));
			CHECK_INT(t, email_tidy(ok[i].in, out), 1);
			CHECK_STR(t, out, ok[i].want);
		}
		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
			CHECK_INT(t, email_tidy(bad[i], out), 0);
	}

	/* an account's address: tidied as a citizen's (before: refused); what accounts took before,
	 * a local mail host's address among it, as it was */
	{
		static const struct {
			const char *in, *want;
		} ok[] = {
		    {"head@example.com", "head@example.com"},
		    {"root@localhost", "root@localhost"},
		    {"ops+cd@mail.example.gov.cn", "ops+cd@mail.example.gov.cn"},
		    {"li@\xe4\xbe\x8b\xe5\xad\x90.cn", "li@\xe4\xbe\x8b\xe5\xad\x90.cn"},
		    {"caf\xe9@example.com", "caf\xe9@example.com"}, /* not UTF-8: as before */
		    {"  head@example.com\t", "head@example.com"},
		    {"\xe3\x80\x80head@example.com\xe3\x80\x80", "head@example.com"},
		    {"head\xef\xbc\xa0" "example\xef\xbc\x8e" "com", "head@example.com"}, /* ＠ ． */
		    {"head@example\xe3\x80\x82" "com", "head@example.com"},                 /* 。 */
		    {" root@localhost ", "root@localhost"},
		};
		static const char *const bad[] = {
		    "", " ", "\xe3\x80\x80", "head", "head@", "@example.com", "head example.com",
		    "li si@example.cn", "a@b@c.cn", "Li Si <li@example.cn>", "a@example.cn, b@example.cn",
		    "head\xef\xbc\xa0\xef\xbc\xa0" "example.com",
		};
		char out[EMAIL_TIDY_SIZE];
		size_t i;

		for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
			memset(out, 0, sizeof(out));
			CHECK_INT(t, email_tidy_account(ok[i].in, out), 1);
			CHECK_STR(t, out, ok[i].want);
		}
		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
			CHECK_INT(t, email_tidy_account(bad[i], out), 0);
	}

	CHECK(t, email_valid("a@b.cn"));
	CHECK(t, email_valid("li.si+x@mail.example.com.cn"));
	CHECK(t, !email_valid("a@b"));
	CHECK(t, !email_valid("@b.cn"));
	CHECK(t, !email_valid("a@@b.cn"));
	CHECK(t, !email_valid("a b@b.cn"));
	CHECK(t, !email_valid("a@b..cn"));
	CHECK(t, !email_valid("a@-b.cn"));
	CHECK(t, !email_valid(".a@b.cn"));
	CHECK(t, !email_valid("a@b.cn."));
}

/* The citizen's language guessed from what they wrote, and a language given checked. */
static void
test_lang(struct t *t)
{
	struct intake in;
	struct core_error err;
	static const char *const bad[] = {"fr", "fr-CA", "ja-JP", "zh-", "-zh", "zh--CN", " en",
	                                  "en ", "zh-Latn", "en-Hant", "zh-CN-x", "zh-Hans-Hant",
	                                  "zh-CN-TW", "zh.CN", "zhh"};
	/* what browsers and phones send, in any case, '-' or '_' (before: exactly ours only) */
	static const struct {
		const char *tag;
		enum lang want;
	} tags[] = {
	    {"zh-Hans", LANG_ZH_HANS}, {"zh-hans", LANG_ZH_HANS}, {"ZH-HANT", LANG_ZH_HANT},
	    {"EN", LANG_EN},           {"zh", LANG_ZH_HANS},      {"zh-CN", LANG_ZH_HANS},
	    {"zh_cn", LANG_ZH_HANS},   {"zh-SG", LANG_ZH_HANS},   {"zh-TW", LANG_ZH_HANT},
	    {"zh_HK", LANG_ZH_HANT},   {"zh-mo", LANG_ZH_HANT},   {"en-US", LANG_EN},
	    {"en_GB", LANG_EN},        {"en-419", LANG_EN},       {"zh-Hant-CN", LANG_ZH_HANT},
	    {"zh-Hans-HK", LANG_ZH_HANS},
	};
	size_t i;

	CHECK_INT(t, lang_guess("路燈不亮", "社區門口的路燈壞了一週。"), LANG_ZH_HANT);
	CHECK_INT(t, lang_guess("路灯不亮", "社区门口的路灯坏了一周。"), LANG_ZH_HANS);
	CHECK_INT(t, lang_guess("Street light out", "Broken since Monday."), LANG_EN);
	/* letters beside Han characters (or CJK punctuation alone): Chinese */
	CHECK_INT(t, lang_guess("WiFi 信号", "Library WiFi is down."), LANG_ZH_HANS);
	CHECK_INT(t, lang_guess("WiFi", "Library WiFi is down\xef\xbc\x81"), LANG_ZH_HANS);
	/* characters the two scripts write alike: the bureau's own, simplified */
	CHECK_INT(t, lang_guess("山下路口大水", "你好，我家住在山下路口。"), LANG_ZH_HANS);
	/* the majority decides: a traditional letter naming 张 (simplified only); a simplified
	 * one naming 喆 (in neither set) */
	CHECK_INT(t, lang_guess("關於噪音擾民的投訴", "樓下飯店每晚營業到凌晨，张先生說"),
	          LANG_ZH_HANT);
	CHECK_INT(t, lang_guess("关于噪音扰民的投诉", "楼下饭店每晚营业到凌晨，喆先生说"),
	          LANG_ZH_HANS);
	/* nothing to go by: simplified */
	CHECK_INT(t, lang_guess("12345", "678 !"), LANG_ZH_HANS);
	CHECK_INT(t, lang_guess(NULL, NULL), LANG_ZH_HANS);
	/* near the tables' ends: U+4E00 一 (both), U+4E1F 丟 (traditional only), U+9F9C 龜
	 * (traditional only), U+9F9F 龟 (simplified only) */
	CHECK_INT(t, lang_guess("一", NULL), LANG_ZH_HANS);
	CHECK_INT(t, lang_guess("丟", NULL), LANG_ZH_HANT);
	CHECK_INT(t, lang_guess("龜", NULL), LANG_ZH_HANT);
	CHECK_INT(t, lang_guess("龟", "龜龜"), LANG_ZH_HANT);
	CHECK_INT(t, lang_guess("龟龟", "龜"), LANG_ZH_HANS);

	memset(&in, 0, sizeof(in));
	in.kind = "letter";
	in.subject = "路灯";
	in.body = "坏了";
	in.email = "a@example.cn";
	in.publish = 0;
	in.channel = CHANNEL_WEB;
	CHECK_INT(t, core_submit_check(&in, &err), 0);
	in.lang = "";
	CHECK_INT(t, core_submit_check(&in, &err), 0); /* absent: guessed */
	for (i = 0; i < LANG__MAX; i++) {
		in.lang = lang_name((enum lang)i);
		CHECK_INT(t, core_submit_check(&in, &err), 0);
	}
	for (i = 0; i < sizeof(tags) / sizeof(tags[0]); i++) {
		CHECK_INT(t, lang_tag_parse(tags[i].tag), (int)tags[i].want);
		in.lang = tags[i].tag;
		CHECK_INT(t, core_submit_check(&in, &err), 0);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&err, 0, sizeof(err));
		CHECK_INT(t, lang_tag_parse(bad[i]), -1);
		in.lang = bad[i];
		CHECK_INT(t, core_submit_check(&in, &err), -1);
		CHECK_INT(t, err.code, CORE_INVALID);
		CHECK_STR(t, err.field, "lang");
	}
}

static void
test_query_codes(struct t *t)
{
	char a[QUERY_CODE_LEN + 1], b[QUERY_CODE_LEN + 1], typed[32];
	unsigned char h[QUERY_HASH_LEN];
	size_t i;

	query_code_new(a);
	query_code_new(b);
	CHECK_INT(t, strlen(a), QUERY_CODE_LEN);
	CHECK(t, strcmp(a, b) != 0);
	for (i = 0; i < QUERY_CODE_LEN; i++)
		CHECK(t, strchr("01IO", a[i]) == NULL);
	CHECK_INT(t, query_code_hash(a, h), 0);
	CHECK(t, query_code_verify(a, h));
	CHECK(t, !query_code_verify(b, h));
	CHECK(t, !query_code_verify(NULL, h));
	CHECK(t, !query_code_verify("", h));
	/* typed in lower case with dashes */
	snprintf(typed, sizeof(typed), "%.4s-%.4s-%.4s", a, a + 4, a + 8);
	for (i = 0; typed[i]; i++)
		if (typed[i] >= 'A' && typed[i] <= 'Z')
			typed[i] = (char)(typed[i] - 'A' + 'a');
	CHECK(t, query_code_verify(typed, h));
	CHECK_INT(t, query_code_hash("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", h), -1);
}

static int
cmp_code(const void *x, const void *y)
{
	return memcmp(x, y, QUERY_CODE_LEN + 1);
}

/* app_query_code (the submissions' codes, from a ChaCha20 stream under a random key): every
 * code distinct, the 32 symbols evenly used, another key another sequence. */
static void
test_query_code_stream(struct t *t)
{
	enum { N = 4096 };
	struct app *x = calloc(1, sizeof(*x)), *y = calloc(1, sizeof(*y));
	char(*codes)[QUERY_CODE_LEN + 1] = calloc(N, QUERY_CODE_LEN + 1);
	char other[QUERY_CODE_LEN + 1];
	static const char alphabet[] = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
	size_t count[32] = {0}, i, j, dup = 0, low = (size_t)N * QUERY_CODE_LEN, high = 0;

	if (x == NULL || y == NULL || codes == NULL) {
		CHECK(t, 0);
		goto out;
	}
	randombytes_buf(x->code_key, sizeof(x->code_key));
	randombytes_buf(y->code_key, sizeof(y->code_key));
	for (i = 0; i < N; i++) {
		app_query_code(x, codes[i]);
		CHECK_INT(t, strlen(codes[i]), QUERY_CODE_LEN);
		for (j = 0; j < QUERY_CODE_LEN; j++) {
			const char *at = codes[i][j] != '\0' ? strchr(alphabet, codes[i][j]) : NULL;

			CHECK(t, at != NULL);
			if (at != NULL)
				count[at - alphabet]++;
		}
	}
	app_query_code(y, other);
	CHECK(t, strcmp(other, codes[0]) != 0);
	/* each symbol N * 12 / 32 = 1536 times expected, standard deviation about 38 */
	for (i = 0; i < 32; i++) {
		low = count[i] < low ? count[i] : low;
		high = count[i] > high ? count[i] : high;
	}
	CHECK(t, low > 1536 - 300 && high < 1536 + 300);
	qsort(codes, N, QUERY_CODE_LEN + 1, cmp_code);
	for (i = 1; i < N; i++)
		dup += memcmp(codes[i - 1], codes[i], QUERY_CODE_LEN + 1) == 0;
	CHECK_INT(t, dup, 0);
out:
	free(codes);
	free(y);
	free(x);
}

static void
test_ratelimit(struct t *t)
{
	struct ratelimit *rl = ratelimit_new(3, 60), *off = ratelimit_new(0, 60);
	int64_t retry = 0;
	char addr[32];
	int i, limited = 0;

	CHECK_INT(t, ratelimit_hit(rl, "10.0.0.1", 1000, &retry), 0);
	CHECK_INT(t, ratelimit_hit(rl, "10.0.0.1", 1010, &retry), 0);
	CHECK_INT(t, ratelimit_check(rl, "10.0.0.1", 1010, &retry), 0);
	CHECK_INT(t, ratelimit_hit(rl, "10.0.0.1", 1020, &retry), 0);
	CHECK_INT(t, ratelimit_check(rl, "10.0.0.1", 1020, &retry), 1);
	CHECK_INT(t, ratelimit_hit(rl, "10.0.0.1", 1030, &retry), 1);
	CHECK_INT(t, retry, 30);
	CHECK_INT(t, ratelimit_hit(rl, "10.0.0.2", 1030, &retry), 0);
	CHECK_INT(t, ratelimit_hit(rl, "10.0.0.1", 1060, &retry), 0); /* a new window */
	/* bounded: a flood of addresses never fails, and memory does not grow */
	for (i = 0; i < 100000; i++) {
		snprintf(addr, sizeof(addr), "192.168.%d.%d", i / 256, i % 256);
		limited += ratelimit_hit(rl, addr, 2000, &retry);
	}
	CHECK_INT(t, limited, 0);
	for (i = 0; i < 100; i++)
		CHECK_INT(t, ratelimit_hit(off, "10.0.0.1", 1000, &retry), 0);
	ratelimit_free(rl);
	ratelimit_free(off);
	ratelimit_free(NULL);
}

/* --- storage through the group-commit writer -------------------------------------------------- */

#define WRITERS 8
#define PER_WRITER 40

struct writer_arg {
	struct db_submitter *sm;
	int n, failed, bad;
	int async; /* db_submit_start and a wait of our own, as an HTTP I/O thread does */
	char tracking[PER_WRITER][32];
};

/* A db_submit_start caller's wait: on_done sets done (called once, on the writer's thread). */
struct async_wait {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int done;
};

static void
async_done(void *cls)
{
	struct async_wait *a = cls;

	pthread_mutex_lock(&a->lock);
	a->done++;
	pthread_cond_signal(&a->cond);
	pthread_mutex_unlock(&a->lock);
}

/* Stores sub through db_submit_start: 0 or -1 (db_submit_result), as db_submit. */
static int
submit_async(struct db_submitter *sm, struct db_submission *sub, int *calls)
{
	struct async_wait a = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};

	sub->on_done = async_done;
	sub->done_cls = &a;
	if (db_submit_start(sm, sub) != 0)
		return -1;
	pthread_mutex_lock(&a.lock);
	while (a.done == 0)
		pthread_cond_wait(&a.cond, &a.lock);
	pthread_mutex_unlock(&a.lock);
	*calls = a.done;
	return db_submit_result(sub);
}

static void
fill_item(struct db_item *it, const char *kind)
{
	memset(it, 0, sizeof(*it));
	it->kind = (enum kind)kind_parse(kind);
	it->channel = CHANNEL_WEB;
	it->subject = (char *)"subject";
	it->body = (char *)"body";
	it->phone = (char *)"13812345678";
	it->state = WF_RECEIVED;
	it->resume_state = WF_NONE;
	it->extension = (char *)"none";
	it->publish = 1;
	it->received = it->created = at("2025-09-30T10:00");
}

static void *
writer(void *p)
{
	struct writer_arg *w = p;
	struct db_item it;
	struct db_attachment a = {0, (char *)"a.txt", (char *)"text/plain", 5, (void *)"hello"};
	struct db_history h = {
	    0, 0, 0, (char *)"citizen", (char *)"submit", NULL, (char *)"received", NULL, 1, NULL, 0};
	struct db_submission sub;
	struct policy pol = default_policy();
	int i, rc;

	for (i = 0; i < PER_WRITER; i++) {
		/* every tenth item of writer 0 violates the schema (unknown kind) */
		fill_item(&it, w->bad && i % 10 == 0 ? "bogus" : "letter");
		clocks_start(&it, &pol, cal, it.received);
		memset(&sub, 0, sizeof(sub));
		sub.item = &it;
		sub.day = 20250930;
		sub.att = &a;
		sub.natt = 1;
		sub.history = &h;
		if (w->async) {
			int calls = 0;

			rc = submit_async(w->sm, &sub, &calls);
			if (calls != 1)
				w->failed += 1000; /* told more than once: the test fails on the count */
		} else {
			rc = db_submit(w->sm, &sub);
		}
		if (rc != 0) {
			w->failed++;
			continue;
		}
		snprintf(w->tracking[w->n++], sizeof(w->tracking[0]), "%s", it.tracking);
		free(it.tracking);
	}
	return NULL;
}

/* A read transaction sees one snapshot: a transition committed on another connection between
 * its reads of an item and of its history shows in neither. */
static void
test_read_snapshot(struct t *t, struct db *db, struct db_conn *c, const char *tracking)
{
	struct db_conn *w = db_acquire(db);
	struct db_item it, again;
	struct db_history *hist = NULL;
	struct db_history h = {0, 0, 0, (char *)"disp", (char *)"assign", (char *)"received",
	                       (char *)"assigned", NULL, 0, NULL, 0};
	size_t nh = 0;

	CHECK(t, w != NULL && w != c);
	if (w == NULL)
		return;
	CHECK_INT(t, db_begin_read(c), 0);
	CHECK_INT(t, db_item_get(c, tracking, &it), 1);
	/* another worker assigns the item meanwhile */
	CHECK_INT(t, db_item_get(w, tracking, &again), 1);
	again.state = WF_ASSIGNED;
	CHECK_INT(t, db_begin(w), 0);
	CHECK_INT(t, db_item_update(w, &again), 1);
	CHECK_INT(t, db_history_add(w, again.id, &h), 0);
	CHECK_INT(t, db_commit(w), 0);
	/* the reader's history is that of the state it read */
	CHECK_INT(t, db_history_list(c, it.id, 0, &hist, &nh), 0);
	CHECK_STR(t, wf_state_name(it.state), "received");
	CHECK_INT(t, nh, 1);
	db_history_free(hist, nh);
	db_end_read(c);
	/* and the next read sees the transition whole */
	CHECK_INT(t, db_history_list(c, it.id, 0, &hist, &nh), 0);
	CHECK_INT(t, nh, 2);
	db_history_free(hist, nh);
	db_item_free(&it);
	db_item_free(&again);
	db_release(db, w);
}

static void
test_group_commit(struct t *t)
{
	char path[] = "/tmp/civicdesk-test-XXXXXX", file[64], err[256];
	struct db *db = NULL;
	struct db_submitter *sm = NULL;
	struct writer_arg *w = calloc(WRITERS, sizeof(*w));
	pthread_t th[WRITERS];
	struct db_conn *c;
	struct db_item got;
	struct db_history *hist = NULL;
	struct db_attachment *att = NULL, one;
	size_t nh = 0, na = 0;
	int created, i, j, stored = 0, failed = 0;
	char *seen;

	CHECK(t, mkdtemp(path) != NULL);
	snprintf(file, sizeof(file), "%s/db", path);
	CHECK_INT(t, db_open(file, &db, &created, err, sizeof(err)), 0);
	if (db == NULL || w == NULL)
		goto out;
	CHECK_INT(t, db_submitter_start(db, &sm), 0);
	for (i = 0; i < WRITERS; i++) {
		w[i].sm = sm;
		w[i].bad = i == 0;
		w[i].async = i % 2 == 0; /* half of them as the HTTP I/O threads do, the bad one too */
		pthread_create(&th[i], NULL, writer, &w[i]);
	}
	for (i = 0; i < WRITERS; i++)
		pthread_join(th[i], NULL);
	db_submitter_stop(sm);
	seen = calloc(WRITERS * PER_WRITER + 1, 1);
	for (i = 0; i < WRITERS; i++) {
		stored += w[i].n;
		failed += w[i].failed;
		for (j = 0; j < w[i].n; j++) {
			int seq = atoi(w[i].tracking[j] + 12);

			CHECK(t, strncmp(w[i].tracking[j], "XJ-20250930-", 12) == 0);
			CHECK(t, seq >= 1 && seq <= WRITERS * PER_WRITER && !seen[seq]);
			if (seq >= 1 && seq <= WRITERS * PER_WRITER)
				seen[seq] = 1;
		}
	}
	CHECK_INT(t, failed, PER_WRITER / 10);
	CHECK_INT(t, stored, WRITERS * PER_WRITER - PER_WRITER / 10);
	/* failed items gave their numbers back: the stored ones are 1..stored */
	for (i = 1; i <= stored; i++)
		CHECK(t, seen[i]);
	free(seen);

	c = db_acquire(db);
	CHECK_INT(t, db_item_get(c, w[1].tracking[0], &got), 1);
	CHECK_STR(t, kind_name(got.kind), "letter");
	CHECK_INT(t, got.nclocks, 2);
	CHECK_STR(t, got.clocks[0].name, "forward");
	CHECK_STR(t, got.clocks[1].name, "reply");
	CHECK_INT(t, got.next_due, got.clocks[0].due);
	CHECK(t, got.name == NULL && got.section_name == NULL);
	CHECK_INT(t, db_history_list(c, got.id, 1, &hist, &nh), 0);
	CHECK_INT(t, nh, 1);
	CHECK_INT(t, db_attachment_list(c, got.id, &att, &na), 0);
	CHECK_INT(t, na, 1);
	if (na == 1) {
		CHECK_INT(t, db_attachment_get(c, got.id, att[0].id, &one), 1);
		CHECK_INT(t, one.size, 5);
		CHECK(t, memcmp(one.data, "hello", 5) == 0);
		db_attachment_free(&one);
		CHECK_INT(t, db_attachment_get(c, got.id + 1, att[0].id, &one), 0);
	}
	/* an update recomputes next_due: pause every clock */
	clock_pause(&got.clocks[0], cal, got.received);
	clock_pause(&got.clocks[1], cal, got.received);
	CHECK_INT(t, db_begin(c), 0);
	CHECK_INT(t, db_item_update(c, &got), 1);
	CHECK_INT(t, db_commit(c), 0);
	db_item_free(&got);
	CHECK_INT(t, db_item_get(c, w[1].tracking[0], &got), 1);
	CHECK(t, got.next_due == DB_NO_DUE);
	CHECK_INT(t, got.clocks[1].remaining, 5);
	CHECK_INT(t, got.clocks[1].due, 0);
	db_item_free(&got);
	CHECK_INT(t, db_item_get(c, "XJ-20250930-99999", &got), 0);
	test_read_snapshot(t, db, c, w[2].tracking[0]);
	db_history_free(hist, nh);
	db_attachments_free(att, na);
	db_release(db, c);
out:
	db_close(db);
	free(w);
	snprintf(file, sizeof(file), "rm -rf %s", path);
	if (system(file) != 0)
		printf("# cannot remove %s\n", path);
}

/* --- tracking numbers taken for a whole batch --------------------------------------------- */

#define MIDNIGHT_N 12

/* A batch spanning midnight (items of two days interleaved, queued at once: db_submit_many) gets
 * its numbers with one counter update per day: each day's dense from where its counter stood, in
 * the batch's order; the next batch goes on from there. */
static void
test_batch_numbers(struct t *t)
{
	char path[] = "/tmp/civicdesk-test-XXXXXX", file[64], err[256], want[32];
	struct db *db = NULL;
	struct db_submitter *sm = NULL;
	struct db_item it[MIDNIGHT_N];
	struct db_submission sub[MIDNIGHT_N], *subs[MIDNIGHT_N];
	struct db_history h = {
	    0, 0, 0, (char *)"citizen", (char *)"submit", NULL, (char *)"received", NULL, 1, NULL, 0};
	struct policy pol = default_policy();
	int created, i, round, next[2];

	CHECK(t, mkdtemp(path) != NULL);
	snprintf(file, sizeof(file), "%s/db", path);
	CHECK_INT(t, db_open(file, &db, &created, err, sizeof(err)), 0);
	if (db == NULL)
		goto out;
	CHECK_INT(t, db_submitter_start(db, &sm), 0);
	if (sm != NULL)
		db_submitter_log(sm, 1); /* its line at the stop below, as serve's */
	next[0] = next[1] = 1;
	for (round = 0; round < 2 && sm != NULL; round++) {
		for (i = 0; i < MIDNIGHT_N; i++) {
			fill_item(&it[i], "letter");
			clocks_start(&it[i], &pol, cal, it[i].received);
			memset(&sub[i], 0, sizeof(sub[i]));
			sub[i].item = &it[i];
			sub[i].day = i % 3 == 0 ? 20251001 : 20250930; /* after midnight: one in three */
			sub[i].history = &h;
			subs[i] = &sub[i];
		}
		CHECK_INT(t, db_submit_many(sm, subs, MIDNIGHT_N), 0);
		for (i = 0; i < MIDNIGHT_N; i++) {
			int d = sub[i].day == 20251001;

			CHECK_INT(t, sub[i].result, 0);
			snprintf(want, sizeof(want), "XJ-%d-%05d", sub[i].day, next[d]++);
			CHECK_STR(t, it[i].tracking, want);
			free(it[i].tracking);
		}
	}
	if (sm != NULL) {
		struct db_writer_stats st;
		char line[512];
		uint64_t n = 0;

		/* each db_submit_many was one batch: the writer's figures count them */
		db_submitter_stats(sm, &st);
		CHECK_INT(t, st.batches, 2);
		CHECK_INT(t, st.items, 2 * MIDNIGHT_N);
		for (i = 0; i < DB_WRITER_BUCKETS; i++)
			n += st.commits[i];
		CHECK_INT(t, n, 2);
		CHECK(t, st.commit_us > 0 && st.store_us > 0 && st.cpu_us > 0);
		/* the slowest commit's bucket holds at least the mean */
		CHECK(t, db_writer_quantile(&st, 1.0) >= st.commit_us / 2);
		CHECK(t, db_writer_quantile(&st, 0.5) <= db_writer_quantile(&st, 1.0));
		db_writer_line(&st, line, sizeof(line));
		CHECK(t, strstr(line, "writer: 2 batches, 24 submissions (12.0 a batch)") == line);
	}
	db_submitter_stop(sm);
out:
	db_close(db);
	snprintf(file, sizeof(file), "rm -rf %s", path);
	if (system(file) != 0)
		fprintf(stderr, "cannot remove %s\n", path);
}

/* Attachments are typed by their content: UTF-8 text and GB18030 (GBK) text are text, kept as
 * they came; markup, control characters and broken GBK are not. */
static void
test_attach_sniff_text(struct t *t)
{
	/* "情况说明\r\n第二行" in GBK, and a 4-byte GB18030 sequence (U+20000) */
	static const char gbk[] = "\xc7\xe9\xbf\xf6\xcb\xb5\xc3\xf7\r\n\xb5\xda\xb6\xfe\xd0\xd0";
	static const char gb4[] = "a\x95\x32\x82\x36" "b";
	const char *name = NULL, *ctype;

	ctype = attach_sniff("情况说明\n", strlen("情况说明\n"), &name);
	CHECK_STR(t, ctype, "text/plain");
	CHECK_STR(t, name, "txt");
	name = NULL;
	ctype = attach_sniff(gbk, sizeof(gbk) - 1, &name);
	CHECK_STR(t, ctype, "text/plain; charset=gb18030");
	CHECK_STR(t, name, "txt");
	CHECK_STR(t, attach_sniff(gb4, sizeof(gb4) - 1, &name), "text/plain; charset=gb18030");
	/* half a character at the end, a lead byte before a space, 0x80 and 0xff alone */
	CHECK(t, attach_sniff(gbk, sizeof(gbk) - 2, &name) == NULL);
	CHECK(t, attach_sniff("\xc7 ok", 4, &name) == NULL);
	CHECK(t, attach_sniff("a\x80" "b", 3, &name) == NULL);
	CHECK(t, attach_sniff("a\xff" "b", 3, &name) == NULL);
	/* control characters, markup in GBK, the EICAR string */
	CHECK(t, attach_sniff("\xc7\xe9\x01\x02", 4, &name) == NULL);
	CHECK(t, attach_sniff("<html>\xc7\xe9</html>", 15, &name) == NULL);
	CHECK(t, attach_sniff("\xc7\xe9 <script>", 11, &name) == NULL);
}

/* fit(name, max) as attach_name_fit leaves it. */
static void
check_fit(struct t *t, const char *name, size_t max, const char *want)
{
	char buf[1024];

	snprintf(buf, sizeof(buf), "%s", name);
	CHECK_INT(t, (long long)attach_name_fit(buf, max), (long long)strlen(want));
	CHECK_STR(t, buf, want);
}

/* A file name over the limit is cut before its extension on a character boundary (never
 * half a character), without blanks or dots left at the cut, the extension kept; a name
 * without one, or with a long or blank "extension", is cut at the limit; a short one stays. */
static void
test_attach_name_fit(struct t *t)
{
	check_fit(t, "short.pdf", 255, "short.pdf");
	check_fit(t, "abcdefghij.pdf", 12, "abcdefgh.pdf");
	/* 3-byte characters: 20 - 4 = 16 bytes of room, 5 whole characters */
	check_fit(t, "关于人民路的情况说明.pdf", 20, "关于人民路.pdf");
	check_fit(t, "关于人民路的情况说明", 20, "关于人民路的");
	/* a 4-byte character across the cut */
	check_fit(t, "abc\xf0\xa1\x83\x81" "d.doc", 10, "abc.doc");
	check_fit(t, "abc.  .xyz.pdf", 11, "abc.pdf");
	check_fit(t, "a long name.tar gz", 10, "a long nam");
	check_fit(t, "abcdefghijklmnop.verylongextension1", 20, "abcdefghijklmnop.ver");
	check_fit(t, ".....pdf", 6, ".....p");
	check_fit(t, "abcdef.jpeg", 8, "abcdef.j"); /* the extension is not less than half */
}

/* Writes the v's n bytes at p, least significant first. */
static void
put_le(unsigned char *p, unsigned long v, int n)
{
	while (n-- > 0) {
		*p++ = (unsigned char)(v & 0xff);
		v >>= 8;
	}
}

/* A ZIP in buf that is only its first local header's signature, one central directory entry
 * named name and the end record (what attach_sniff reads); its length. */
static size_t
zip_naming(unsigned char *buf, const char *name)
{
	size_t len = strlen(name), at = 4, eocd = 4 + 46 + len;

	memset(buf, 0, eocd + 22);
	memcpy(buf, "PK\x03\x04", 4);
	memcpy(buf + at, "PK\x01\x02", 4);
	put_le(buf + at + 28, len, 2);
	memcpy(buf + at + 46, name, len);
	memcpy(buf + eocd, "PK\x05\x06", 4);
	put_le(buf + eocd + 8, 1, 2);
	put_le(buf + eocd + 10, 1, 2);
	put_le(buf + eocd + 12, 46 + len, 4);
	put_le(buf + eocd + 16, at, 4);
	return eocd + 22;
}

/* An Office Open XML file has the media type of its kind, told by the main part its ZIP's
 * central directory names; another ZIP, or one cut short or with its directory elsewhere, keeps
 * the generic type, and no length of it reads outside the data. */
static void
test_attach_sniff_ooxml(struct t *t)
{
	static const char generic[] = "application/vnd.openxmlformats-officedocument";
	unsigned char buf[256];
	const char *name = NULL;
	size_t n, i;

	n = zip_naming(buf, "word/document.xml");
	CHECK_STR(t, attach_sniff(buf, n, &name),
	          "application/vnd.openxmlformats-officedocument.wordprocessingml.document");
	CHECK_STR(t, name, "office");
	n = zip_naming(buf, "xl/workbook.xml");
	CHECK_STR(t, attach_sniff(buf, n, &name),
	          "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
	n = zip_naming(buf, "ppt/presentation.xml");
	CHECK_STR(t, attach_sniff(buf, n, &name),
	          "application/vnd.openxmlformats-officedocument.presentationml.presentation");
	n = zip_naming(buf, "word/document.xml.bak");
	CHECK_STR(t, attach_sniff(buf, n, &name), generic);
	n = zip_naming(buf, "word/document.xml");
	for (i = 4; i < n; i++)
		CHECK_STR(t, attach_sniff(buf, i, &name), generic);
	put_le(buf + n - 22 + 16, 200, 4); /* the directory's offset past the end record */
	CHECK_STR(t, attach_sniff(buf, n, &name), generic);
	put_le(buf + n - 22 + 16, 4, 4);
	put_le(buf + 4 + 28, 200, 2); /* a name longer than the directory */
	CHECK_STR(t, attach_sniff(buf, n, &name), generic);
}

/* Writes s (ASCII) as a Compound File directory entry's name at e: UTF-16LE and its length. */
static void
cfb_name(unsigned char *e, const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		e[2 * i] = (unsigned char)s[i];
	put_le(e + 64, 2 * (i + 1), 2);
}

/* A Compound File (version 3, 512-byte sectors) in buf: the header, one FAT sector, one
 * directory sector holding the root and one stream named stream whose right sibling is right;
 * its length (1536). */
static size_t
cfb_with(unsigned char *buf, const char *stream, unsigned long right)
{
	unsigned char *fat = buf + 512, *dir = buf + 1024;
	int i;

	memset(buf, 0, 1536);
	memcpy(buf, "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 8);
	put_le(buf + 24, 0x3e, 2);
	put_le(buf + 26, 3, 2);
	put_le(buf + 28, 0xfffe, 2);
	put_le(buf + 30, 9, 2);
	put_le(buf + 32, 6, 2);
	put_le(buf + 44, 1, 4); /* one FAT sector */
	put_le(buf + 48, 1, 4); /* the directory in sector 1 */
	put_le(buf + 56, 4096, 4);
	put_le(buf + 60, 0xfffffffe, 4); /* no mini FAT */
	put_le(buf + 68, 0xfffffffe, 4); /* no more FAT sectors than the header names */
	for (i = 0; i < 109; i++)
		put_le(buf + 76 + 4 * i, i == 0 ? 0 : 0xffffffff, 4);
	for (i = 0; i < 128; i++)
		put_le(fat + 4 * i, i == 0 ? 0xfffffffd : i == 1 ? 0xfffffffe : 0xffffffff, 4);
	for (i = 0; i < 4; i++) {
		put_le(dir + 128 * i + 68, 0xffffffff, 4);
		put_le(dir + 128 * i + 72, 0xffffffff, 4);
		put_le(dir + 128 * i + 76, 0xffffffff, 4);
	}
	cfb_name(dir, "Root Entry");
	dir[66] = 5;
	put_le(dir + 76, 1, 4);
	cfb_name(dir + 128, stream);
	dir[128 + 66] = 2;
	put_le(dir + 128 + 72, right, 4);
	return 1536;
}

/* An Office 97-2003 file has the media type of the stream at its root (Word, Excel,
 * PowerPoint); another Compound File, one cut short at any length, or one whose directory
 * loops keeps the generic type, reading within the data. */
static void
test_attach_sniff_cfb(struct t *t)
{
	static unsigned char buf[1536];
	const char *name = NULL;
	size_t n, i;

	n = cfb_with(buf, "Workbook", 0xffffffff);
	CHECK_STR(t, attach_sniff(buf, n, &name), "application/vnd.ms-excel");
	CHECK_STR(t, name, "doc");
	n = cfb_with(buf, "PowerPoint Document", 0xffffffff);
	CHECK_STR(t, attach_sniff(buf, n, &name), "application/vnd.ms-powerpoint");
	n = cfb_with(buf, "WordDocument", 0xffffffff);
	CHECK_STR(t, attach_sniff(buf, n, &name), "application/msword");
	n = cfb_with(buf, "__properties_version1.0", 0xffffffff); /* an Outlook .msg */
	CHECK_STR(t, attach_sniff(buf, n, &name), "application/msword");
	n = cfb_with(buf, "Workbook", 0xffffffff);
	for (i = 8; i < n; i++)
		CHECK_STR(t, attach_sniff(buf, i, &name), "application/msword");
	n = cfb_with(buf, "Workbook", 1); /* the stream is its own sibling */
	CHECK_STR(t, attach_sniff(buf, n, &name), "application/vnd.ms-excel");
	put_le(buf + 512 + 4, 1, 4); /* the directory's chain loops */
	CHECK_STR(t, attach_sniff(buf, n, &name), "application/vnd.ms-excel");
	put_le(buf + 48, 7, 4); /* the directory past the end */
	CHECK_STR(t, attach_sniff(buf, n, &name), "application/msword");
}

/* The commit durations' quantiles: the upper bound of the bucket a share of them falls in, four
 * buckets per power of two. */
static void
test_writer_quantiles(struct t *t)
{
	struct db_writer_stats st;

	memset(&st, 0, sizeof(st));
	CHECK_INT(t, db_writer_quantile(&st, 0.5), 0);
	st.commits[39] = 99; /* 896..1023 us */
	st.commits[60] = 1;  /* 32768..40959 us */
	CHECK_INT(t, db_writer_quantile(&st, 0.5), 1023);
	CHECK_INT(t, db_writer_quantile(&st, 0.99), 1023);
	CHECK_INT(t, db_writer_quantile(&st, 0.995), 40959);
	CHECK_INT(t, db_writer_quantile(&st, 1.0), 40959);
	st.commits[0] = 1; /* 1 us */
	st.commits[6] = 1; /* 3 us */
	CHECK_INT(t, db_writer_quantile(&st, 0.001), 1);
	CHECK_INT(t, db_writer_quantile(&st, 0.015), 3); /* the second of 102 */
}

/* --- the notification hook in a batch that is stored again -------------------------------- */

#define HOOK_WRITERS 8
#define HOOK_PER_WRITER 24

struct hook_count {
	pthread_mutex_t lock;
	int calls;
	/* the batch hook (writer thread only): items gathered in the current unguarded attempt,
	 * attempts begun, of them guarded */
	int gathering, gathered, begun, guarded;
};

/* A day of tracking_counters used as a tally: what the batch hook wrote for stored items. */
#define TALLY_DAY 19000101

static int
tally_add(struct db_conn *c, int n)
{
	int first;

	return n == 0 ? 0 : db_tracking_reserve(c, TALLY_DAY, n, &first);
}

static void
batch_begin(void *cls, int guarded)
{
	struct hook_count *count = cls;

	count->begun++;
	count->guarded += guarded != 0;
	count->gathering = !guarded;
	count->gathered = 0;
}

static int
batch_end(void *cls, struct db_conn *c)
{
	struct hook_count *count = cls;
	int n = count->gathering ? count->gathered : 0;

	count->gathering = 0;
	return tally_add(c, n);
}

struct hook_arg {
	struct db_submitter *sm;
	struct hook_count *count;
	int index, n, failed;
	char tracking[HOOK_PER_WRITER][32];
};

/* Adds a history row through the writer's connection, as the outbox rows are added; refuses
 * the items whose subject is "refused" (their whole submission is taken back). */
static int
hook_after(void *cls, struct db_conn *c, const struct db_item *item)
{
	struct hook_count *count = cls;
	struct db_history h = {0, 0, 0, (char *)"system", (char *)"hooked", NULL,
	                       (char *)"received", NULL, 0, NULL, 0};

	pthread_mutex_lock(&count->lock);
	count->calls++;
	pthread_mutex_unlock(&count->lock);
	if (strcmp(item->subject, "refused") == 0)
		return -1;
	h.at = item->created;
	if (db_history_add(c, item->id, &h) != 0)
		return -1;
	/* gathered for the batch's end in an unguarded attempt, written now in a guarded one */
	if (count->gathering) {
		count->gathered++;
		return 0;
	}
	return tally_add(c, 1);
}

static void *
hook_writer(void *p)
{
	struct hook_arg *w = p;
	struct db_history h = {
	    0, 0, 0, (char *)"citizen", (char *)"submit", NULL, (char *)"received", NULL, 1, NULL, 0};
	struct db_submission sub;
	struct db_item it;
	struct policy pol = default_policy();
	int i;

	for (i = 0; i < HOOK_PER_WRITER; i++) {
		fill_item(&it, "letter");
		/* one submission in four is refused by the hook, spread over the writers so that
		 * batches hold refused and accepted ones together */
		if ((i + w->index) % 4 == 0)
			it.subject = (char *)"refused";
		clocks_start(&it, &pol, cal, it.received);
		memset(&sub, 0, sizeof(sub));
		sub.item = &it;
		sub.day = 20251001;
		sub.history = &h;
		sub.after = hook_after;
		sub.after_cls = w->count;
		if (db_submit(w->sm, &sub) != 0) {
			w->failed++;
			continue;
		}
		snprintf(w->tracking[w->n++], sizeof(w->tracking[0]), "%s", it.tracking);
		free(it.tracking);
	}
	return NULL;
}

/* A batch is stored without a savepoint per item; when one of its submissions fails (here the
 * hook refuses it) the batch is rolled back and stored again with savepoints. Whatever the
 * batches were, each stored item has its hook's row exactly once, the refused ones left
 * nothing, and the tracking numbers given out are 1..stored with no gap. */
static void
test_group_commit_hook(struct t *t)
{
	char path[] = "/tmp/civicdesk-test-XXXXXX", file[64], err[256], tracking[32];
	struct db *db = NULL;
	struct db_submitter *sm = NULL;
	struct hook_count count = {PTHREAD_MUTEX_INITIALIZER, 0, 0, 0, 0, 0};
	struct db_batch_hook bh = {batch_begin, batch_end, &count};
	struct hook_arg *w = calloc(HOOK_WRITERS, sizeof(*w));
	pthread_t th[HOOK_WRITERS];
	struct db_conn *c = NULL;
	struct db_history *hist = NULL;
	struct db_item got;
	size_t nh = 0;
	int created, i, j, stored = 0, failed = 0, hooked_once = 0;

	CHECK(t, mkdtemp(path) != NULL);
	snprintf(file, sizeof(file), "%s/db", path);
	CHECK_INT(t, db_open(file, &db, &created, err, sizeof(err)), 0);
	if (db == NULL || w == NULL)
		goto out;
	CHECK_INT(t, db_submitter_start(db, &sm), 0);
	db_submitter_set_hook(sm, &bh);
	for (i = 0; i < HOOK_WRITERS; i++) {
		w[i].sm = sm;
		w[i].count = &count;
		w[i].index = i;
		pthread_create(&th[i], NULL, hook_writer, &w[i]);
	}
	for (i = 0; i < HOOK_WRITERS; i++)
		pthread_join(th[i], NULL);
	db_submitter_stop(sm);
	for (i = 0; i < HOOK_WRITERS; i++) {
		stored += w[i].n;
		failed += w[i].failed;
	}
	CHECK_INT(t, failed, HOOK_WRITERS * HOOK_PER_WRITER / 4);
	CHECK_INT(t, stored, HOOK_WRITERS * HOOK_PER_WRITER - failed);
	/* every submission reached the hook at least once */
	CHECK(t, count.calls >= HOOK_WRITERS * HOOK_PER_WRITER);
	c = db_acquire(db);
	for (i = 0; c != NULL && i < HOOK_WRITERS; i++) {
		for (j = 0; j < w[i].n; j++) {
			if (db_item_get(c, w[i].tracking[j], &got) != 1) {
				CHECK(t, 0);
				continue;
			}
			CHECK_STR(t, got.subject, "subject");
			if (db_history_list(c, got.id, 0, &hist, &nh) == 0 && nh == 2 &&
			    strcmp(hist[0].action, "submit") == 0 &&
			    strcmp(hist[1].action, "hooked") == 0)
				hooked_once++;
			db_history_free(hist, nh);
			db_item_free(&got);
		}
	}
	CHECK_INT(t, hooked_once, stored);
	/* the batch hook: begun for every attempt, guarded ones among them (batches with a refused
	 * submission were stored again), and what it gathered or the item hook wrote counts each
	 * stored item exactly once */
	printf("# batch hook: %d attempts, %d guarded\n", count.begun, count.guarded);
	CHECK(t, count.guarded > 0 && count.begun > count.guarded);
	if (c != NULL) {
		int tally = 0;

		CHECK_INT(t, db_tracking_reserve(c, TALLY_DAY, 1, &tally), 0);
		CHECK_INT(t, tally - 1, stored);
	}
	/* the numbers are dense: 1..stored are items, stored + 1 is not */
	for (i = 1; c != NULL && i <= stored + 1; i++) {
		snprintf(tracking, sizeof(tracking), "XJ-20251001-%05d", i);
		if (db_item_get(c, tracking, &got) != (i <= stored)) {
			CHECK(t, 0);
			break;
		}
		if (i <= stored)
			db_item_free(&got);
	}
	db_release(db, c);
out:
	db_close(db);
	free(w);
	snprintf(file, sizeof(file), "rm -rf %s", path);
	if (system(file) != 0)
		fprintf(stderr, "cannot remove %s\n", path);
}

int
main(void)
{
	struct t t = {0, 0, 0};
	char err[256];

	if (sodium_init() < 0 || sla_set_zone("Asia/Shanghai") != 0 ||
	    sla_calendar_builtin(&cal, err, sizeof(err)) != 0) {
		printf("not ok 1 - setup %s\n", err);
		return 1;
	}
	RUN(&t, test_clocks_start);
	RUN(&t, test_clocks_pause_resume_restart);
	RUN(&t, test_clocks_json);
	RUN(&t, test_text_checks);
	RUN(&t, test_lang);
	RUN(&t, test_attach_sniff_text);
	RUN(&t, test_attach_name_fit);
	RUN(&t, test_attach_sniff_ooxml);
	RUN(&t, test_attach_sniff_cfb);
	RUN(&t, test_query_codes);
	RUN(&t, test_query_code_stream);
	RUN(&t, test_ratelimit);
	RUN(&t, test_group_commit);
	RUN(&t, test_group_commit_hook);
	RUN(&t, test_batch_numbers);
	RUN(&t, test_writer_quantiles);
	sla_calendar_unref(cal);
	return t_done(&t);
}
