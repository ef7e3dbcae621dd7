/* test_redact.c: masking of personal data in public versions (service/redact.c). */
#include <stdlib.h>
#include <string.h>

#include "service/core/core.h"
#include "tests/check.h"

/* Redacts in with name and compares with want. */
#define MOU_ "\xe6\x9f\x90" /* 某 */

#define EXPECT(t, in, name, want)                                                                  \
	do {                                                                                       \
		char *got__ = redact_text((in), (name));                                           \
		CHECK_STR(t, got__, (want));                                                       \
		free(got__);                                                                       \
	} while (0)

static void
test_phones(struct t *t)
{
	EXPECT(t, "电话13812345678。", NULL, "电话138****5678。");
	EXPECT(t, "13812345678", NULL, "138****5678");
	EXPECT(t, "call 138 1234 5678 now", NULL, "call 138 **** 5678 now");
	EXPECT(t, "138-1234-5678", NULL, "138-****-5678");
	EXPECT(t, "+8613812345678", NULL, "+86138****5678");
	EXPECT(t, "+86 138-1234-5678", NULL, "+86 138-****-5678");
	EXPECT(t, "+86-19912345678", NULL, "+86-199****5678");
	EXPECT(t, "008615912345678", NULL, "0086159****5678");
	EXPECT(t, "手机:17012345678,备用19987654321", NULL, "手机:170****5678,备用199****4321");
	EXPECT(t, "abc13812345678", NULL, "abc138****5678");
}

static void
test_landlines(struct t *t)
{
	EXPECT(t, "电话010-62345678。", NULL, "电话010-****5678。");
	EXPECT(t, "0571 88889999", NULL, "0571 ****9999");
	EXPECT(t, "(0571)8888999", NULL, "(0571)***8999");
	EXPECT(t, "01062345678", NULL, "010****5678");
	EXPECT(t, "tel 0755-2345678, ok", NULL, "tel 0755-***5678, ok");
	/* a tracking number is no telephone */
	EXPECT(t, "XJ-20250930-00042", NULL, "XJ-20250930-00042");
}

static void
test_not_phones(struct t *t)
{
	/* second digit 0-2: not a mobile number */
	EXPECT(t, "12012345678", NULL, "12012345678");
	/* too many or too few digits */
	EXPECT(t, "138123456789", NULL, "138123456789");
	EXPECT(t, "1381234567", NULL, "1381234567");
	/* dates, times, money, landlines */
	EXPECT(t, "2025-10-14 13:30, 1380元", NULL, "2025-10-14 13:30, 1380元");
	EXPECT(t, "20251014133012", NULL, "20251014133012");
	EXPECT(t, "010-12345678", NULL, "010-12345678"); /* no local number starts with 1 */
	EXPECT(t, "0012345678", NULL, "0012345678");
	EXPECT(t, "order 13800000000000000000", NULL, "order 13800000000000000000");
	EXPECT(t, "2025年10月14日", NULL, "2025年10月14日");
	EXPECT(t, "", NULL, "");
}

static void
test_ids(struct t *t)
{
	EXPECT(t, "身份证110101199003071234。", NULL, "身份证110101********1234。");
	EXPECT(t, "ID 11010119900307123X", NULL, "ID 110101********123X");
	EXPECT(t, "11010119900307123x", NULL, "110101********123x");
	/* 19 digits, 17 digits, 17 digits + letter other than X: untouched */
	EXPECT(t, "1101011990030712345", NULL, "1101011990030712345");
	EXPECT(t, "11010119900307123", NULL, "11010119900307123");
	EXPECT(t, "11010119900307123A", NULL, "11010119900307123A");
}

static void
test_emails(struct t *t)
{
	EXPECT(t, "邮箱zhangsan@example.com。", NULL, "邮箱z***@example.com。");
	EXPECT(t, "mail a.b+c@mail.example.org.", NULL, "mail a***@mail.example.org.");
	EXPECT(t, "13812345678@139.com", NULL, "1***@139.com");
	/* not addresses */
	EXPECT(t, "@home, a@b, x@y.z, me@.com", NULL, "@home, a@b, x@y.z, me@.com");
}

static void
test_names(struct t *t)
{
	EXPECT(t, "我是张三，住在北京。张三的电话13812345678", "张三",
	       "我是张某，住在北京。张某的电话138****5678");
	EXPECT(t, "张小明反映，小明的孩子", "张小明", "张某反映，某某的孩子");
	EXPECT(t, "欧阳修先生", "欧阳修", "欧阳某先生");
	EXPECT(t, "From John Smith", "John Smith", "From J***");
	/* a Latin name's words on their own, whole words only, in any order */
	EXPECT(t, "Wang Wei called; Weight and Wangs unchanged", "Wei Wang",
	       "W*** W*** called; Weight and Wangs unchanged");
	/* in any case; all words of a long name */
	EXPECT(t, "MR WANG and Ms Angeles", "Maria Fernanda de los Angeles Wang",
	       "MR W*** and Ms A***");
	EXPECT(t, "张三", " 张三 ", "张某");
	/* a one-character name is not looked for (it would mask ordinary text) */
	EXPECT(t, "张先生说", "张", "张先生说");
	/* no name given */
	EXPECT(t, "张三", "", "张三");
	EXPECT(t, "张三", NULL, "张三");
	/* other names stay */
	EXPECT(t, "李四和王五", "张三", "李四和王五");
}

/* Long names (up to INTAKE_NAME_MAX code points) are masked like short ones: a name of 64
 * bytes or more must not slip through unmasked. */
static void
test_long_names(struct t *t)
{
	/* 67 bytes of Latin script */
	EXPECT(t, "From Alexandra Catherine Montgomery-Fitzwilliam Wellington-Smythe Junior, hi",
	       "Alexandra Catherine Montgomery-Fitzwilliam Wellington-Smythe Junior",
	       "From A***, hi");
	/* 26 CJK characters (78 bytes) */
	EXPECT(t, "我是阿依努尔阿不都热合曼买买提江吐尔逊古丽娜尔巴哈提别克。",
	       "阿依努尔阿不都热合曼买买提江吐尔逊古丽娜尔巴哈提别克", "我是阿某。");
	/* 100 code points of 4 bytes each: the longest name intake accepts */
	{
		char name[401], text[420], want[420];
		size_t i;

		for (i = 0; i < 100; i++)
			memcpy(name + i * 4, "\xf0\x9f\x98\x80", 4);
		name[400] = '\0';
		snprintf(text, sizeof(text), "a%sb", name);
		snprintf(want, sizeof(want), "a\xf0\x9f\x98\x80" MOU_ "b");
		EXPECT(t, text, name, want);
	}
}

/* UTF-8: multi-byte characters next to matches, 4-byte sequences, invalid bytes. */
static void
test_utf8(struct t *t)
{
	EXPECT(t, "😀13812345678😀", NULL, "😀138****5678😀");
	EXPECT(t, "é张三ü", "张三", "é张某ü");
	/* invalid bytes are copied, not dropped, and do not hide a number */
	EXPECT(t,
	       "\xff\xfe"
	       "13812345678",
	       NULL,
	       "\xff\xfe"
	       "138****5678");
	/* a truncated sequence at the end */
	EXPECT(t, "ab\xe5\xbc", NULL, "ab\xe5\xbc");
	/* a name that is not valid UTF-8 is ignored */
	EXPECT(t, "ab\xe5\xbc", "\xe5\xbc", "ab\xe5\xbc");
	/* full-width text around: the masked copy keeps every code point whole */
	{
		char *r = redact_text("１２３张三４５６", "张三");

		CHECK_STR(t, r, "１２３张某４５６");
		free(r);
	}
	CHECK(t, redact_text(NULL, "x") == NULL);
}

/* A long text: nothing lost, every number masked. */
static void
test_long(struct t *t)
{
	size_t n = 2000, i;
	char *in = malloc(n * 16 + 1), *out;
	size_t len = 0;

	for (i = 0; i < n; i++)
		len += (size_t)sprintf(in + len, "号13812345678;");
	out = redact_text(in, NULL);
	CHECK(t, out != NULL);
	if (out != NULL) {
		CHECK_INT(t, strlen(out), len);
		CHECK(t, strstr(out, "12345678") == NULL);
		CHECK(t, strstr(out, "号138****5678;号") != NULL);
	}
	free(in);
	free(out);
}


#define EXPECT_OPTS(t, in, name, keep, want)                                                       \
	do {                                                                                       \
		struct redact_opts o__ = {(name), (keep)};                                         \
		char *got__ = redact_text_opts((in), &o__, NULL);                                  \
		CHECK_STR(t, got__, (want));                                                       \
		free(got__);                                                                       \
	} while (0)

/* Point 2 of issue #14: what the masking missed, and what it masked too much. */
static void
test_p02_addresses(struct t *t)
{
	EXPECT(t, "住海淀区学院路38号3单元502室", NULL, "住海淀区***");
	EXPECT(t, "家住阳光小区3号楼2单元101室，楼下噪音", NULL, "家住***，楼下噪音");
	EXPECT(t, "朝阳区建国路5号", NULL, "朝阳区***");
	EXPECT(t, "I live at 5 Chaoyang Road, Beijing", NULL, "I live at ***, Beijing");
	EXPECT(t, "12B West Chang'an Ave. is noisy", NULL, "*** is noisy");
	/* a street without a number, a district, a date: not an address */
	EXPECT(t, "学院路施工噪音", NULL, "学院路施工噪音");
	EXPECT(t, "海淀区2025年10月", NULL, "海淀区2025年10月");
	EXPECT(t, "5 days on Road works", NULL, "5 days on Road works");
}

static void
test_p02_numbers(struct t *t)
{
	/* bank cards: UnionPay, or any 16-19 digits passing Luhn; last 4 kept */
	EXPECT(t, "卡号6222021234567890123。", NULL, "卡号***************0123。");
	EXPECT(t, "card 4111 1111 1111 1111", NULL, "card **** **** **** 1111");
	EXPECT(t, "订单1234567890123456", NULL, "订单1234567890123456");
	/* passports and permits */
	EXPECT(t, "护照E12345678", NULL, "护照E********");
	EXPECT(t, "passport EA1234567.", NULL, "passport E********.");
	EXPECT(t, "型号XE12345678", NULL, "型号XE12345678");
	/* QQ numbers */
	EXPECT(t, "QQ 123456789", NULL, "QQ *********");
	EXPECT(t, "qq号：10001", NULL, "qq号：*****");
	/* licence plates */
	EXPECT(t, "车牌京A12345", NULL, "车牌京A*****");
	EXPECT(t, "粤B·D12345停在门口", NULL, "粤B·*****停在门口");
	/* +86 with separators: the middle digits masked */
	EXPECT(t, "+86 139-1234-5678", NULL, "+86 139-****-5678");
	EXPECT(t, "电话：+86 139 1234 5678。", NULL, "电话：+86 139 **** 5678。");
	/* full-width digits are read as digits; the rest is kept as written */
	EXPECT(t, "电话１３８１２３４５６７８。", NULL, "电话138****5678。");
	EXPECT(t, "１２３张三４５６", "张三", "１２３张某４５６");
}

static void
test_p02_persons(struct t *t)
{
	EXPECT(t, "物业经理王建国反映", NULL, "物业经理王某某反映");
	EXPECT(t, "找过张伟科长", NULL, "找过张某科长");
	EXPECT(t, "王经理说", NULL, "王经理说");
	/* whole names only: the submitter 张三 is not 张三丰 */
	EXPECT(t, "张三丰的书；张三反映", "张三", "张三丰的书；张某反映");
	EXPECT(t, "张三，住址", "张三", "张某，住址");
}

static void
test_p02_bureau_contacts(struct t *t)
{
	const char *keep = "010-88886666, xinfang@bureau.gov.cn";

	EXPECT_OPTS(t, "请致电010-88886666或xinfang@bureau.gov.cn，勿拨010-62345678", NULL, keep,
	            "请致电010-88886666或xinfang@bureau.gov.cn，勿拨010-****5678");
	EXPECT_OPTS(t, "01088886666", NULL, keep, "01088886666");
	EXPECT(t, "010-88886666", NULL, "010-****6666");
	{
		struct redact_opts o = {"张三", NULL};
		unsigned found = 0;
		char *r = redact_text_opts("张三 13812345678 京A12345", &o, &found), buf[128];

		CHECK(t, found == (REDACT_NAME | REDACT_PHONE | REDACT_PLATE));
		redact_found_text(found, buf, sizeof(buf));
		CHECK_STR(t, buf, "name, phone number, licence plate");
		free(r);
	}
}

/* The prepared public subject (item_public_subject): masked first, then cut to
 * PUBLIC_SUBJECT_MAX - 1 code points and "…" when longer (an e-mail item's whole subject), so
 * that a number across the cut is never half shown; one of PUBLIC_SUBJECT_MAX stays whole. */
static void
test_public_subject(struct t *t)
{
	struct redact_opts opts = { NULL, NULL };
	char in[2048], want[2048], *got;
	size_t i, n = 0, w = 0;

	/* 194 characters (字 and, first, an A), then a mobile number across the cut, then more */
	n += (size_t)snprintf(in + n, sizeof(in) - n, "A");
	for (i = 1; i < 194; i++)
		n += (size_t)snprintf(in + n, sizeof(in) - n, "\xe5\xad\x97");
	memcpy(want, in, n);
	w = n;
	n += (size_t)snprintf(in + n, sizeof(in) - n, "13912345678");
	for (i = 0; i < 100; i++)
		n += (size_t)snprintf(in + n, sizeof(in) - n, "\xf0\xa0\xae\xb7"); /* 𠮷 */
	w += (size_t)snprintf(want + w, sizeof(want) - w, "139**\xe2\x80\xa6"); /* 139** and … */
	got = item_public_subject(in, &opts);
	CHECK_STR(t, got, want);
	CHECK_INT(t, text_check(got, strlen(got), 0), PUBLIC_SUBJECT_MAX);
	free(got);
	/* exactly PUBLIC_SUBJECT_MAX characters (four bytes each): whole */
	for (n = 0, i = 0; i < PUBLIC_SUBJECT_MAX; i++)
		n += (size_t)snprintf(in + n, sizeof(in) - n, "\xf0\xa0\xae\xb7");
	got = item_public_subject(in, &opts);
	CHECK_STR(t, got, in);
	free(got);
}

int
main(void)
{
	struct t t = {0, 0, 0};

	RUN(&t, test_phones);
	RUN(&t, test_landlines);
	RUN(&t, test_not_phones);
	RUN(&t, test_ids);
	RUN(&t, test_emails);
	RUN(&t, test_names);
	RUN(&t, test_long_names);
	RUN(&t, test_utf8);
	RUN(&t, test_long);
	RUN(&t, test_p02_addresses);
	RUN(&t, test_p02_numbers);
	RUN(&t, test_p02_persons);
	RUN(&t, test_p02_bureau_contacts);
	RUN(&t, test_public_subject);
	return t_done(&t);
}
