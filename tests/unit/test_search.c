/* test_search.c: unit tests of the queue's text search as staff type it (core_search_parse):
 * blanks of every kind trimmed and splitting words, quoted phrases, the limit and its 400. */
#include <stdio.h>
#include <string.h>

#include "service/core/core.h"
#include "tests/check.h"

/* The words core_search_parse makes of q, joined by '|' into out ("" for none); or "ERROR"
 * (with the error's field checked to be q). */
static const char *
words(struct t *t, const char *q, char *out, size_t size)
{
	struct db_search s;
	struct core_error err;
	size_t i, n = 0;

	memset(&s, 0x55, sizeof(s)); /* whatever was there before */
	memset(&err, 0, sizeof(err));
	if (core_search_parse(q, &s, &err) != 0) {
		CHECK_INT(t, err.code, CORE_INVALID);
		CHECK_STR(t, err.field, "q");
		CHECK_INT(t, s.n, 0);
		return "ERROR";
	}
	out[0] = '\0';
	for (i = 0; i < s.len && n < size; i += strlen(s.words + i) + 1)
		n += (size_t)snprintf(out + n, size - n, "%s%s", n > 0 ? "|" : "", s.words + i);
	CHECK_INT(t, i, s.len);
	return out;
}

static void
test_split(struct t *t)
{
	static const char *const cases[][2] = {
	    {"路灯", "路灯"},
	    {" Street light ", "Street|light"},
	    {"路灯 幸福路", "路灯|幸福路"},
	    {"路灯\xe3\x80\x80幸福路", "路灯|幸福路"}, /* U+3000 between */
	    {"\xe3\x80\x80路灯\xe3\x80\x80", "路灯"},  /* and at the ends */
	    {"\tStreet\t\tlight\r\n", "Street|light"}, /* tabs, a pasted line break */
	    {"a\xc2\xa0"
	     "b\xe2\x80\x83"
	     "c",
	     "a|b|c"},                                          /* no-break and em spaces */
	    {"\xe2\x80\x8b路灯\xef\xbb\xbf", "路灯"},           /* zero-width space, BOM */
	    {"\"street light\" 幸福路", "street light|幸福路"}, /* a phrase keeps its blank */
	    {"\xe2\x80\x9c幸福路 路灯\xe2\x80\x9d 小区", "幸福路 路灯|小区"}, /* “…” */
	    {"\xef\xbc\x82 a  b \xef\xbc\x82", "a  b"}, /* ＂…＂, trimmed inside */
	    {"\"unclosed phrase ", "unclosed phrase"},
	    {"\"\" x \"  \"", "x"},   /* empty phrases: nothing */
	    {"5\" pipe", "5\"|pipe"}, /* a mark inside a word */
	    {"' OR '1'='1", "'|OR|'1'='1"},
	    {"100%_", "100%_"},
	    {"", ""},
	    {"   ", ""},
	    {"\xe3\x80\x80\t", ""},
	    {"\xe2\x80\x8d", ""}, /* a zero-width joiner alone: no word */
	};
	char out[600];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *got = words(t, cases[i][0], out, sizeof(out));

		if (strcmp(got, cases[i][1]) != 0) {
			t->failures++;
			printf("# \"%s\": \"%s\", expected \"%s\"\n", cases[i][0], got,
			       cases[i][1]);
		}
	}
	CHECK_STR(t, words(t, NULL, out, sizeof(out)), "");
}

static void
test_limits(struct t *t)
{
	char q[1024], out[1024];
	int i;

	/* 100 characters pass, 101 do not: counted in characters, not bytes */
	for (i = 0; i < 100; i++)
		memcpy(q + 3 * i, "路", 3);
	q[300] = '\0';
	CHECK_INT(t, strlen(words(t, q, out, sizeof(out))), 300);
	memcpy(q + 300, "灯", 4);
	CHECK_STR(t, words(t, q, out, sizeof(out)), "ERROR");
	/* 50 words of one 4-byte character each: all kept */
	for (i = 0; i < 50; i++)
		memcpy(q + 5 * i, "\xf0\x9f\x9a\xa6 ", 5);
	q[249] = '\0';
	words(t, q, out, sizeof(out));
	CHECK_INT(t, strlen(out), 50 * 4 + 49);
	/* not text: bytes that are no UTF-8, control characters */
	CHECK_STR(t, words(t, "\xff路灯", out, sizeof(out)), "ERROR");
	CHECK_STR(t,
	          words(t,
	                "a\x01"
	                "b",
	                out, sizeof(out)),
	          "ERROR");
	CHECK_STR(t, words(t, "a\x7f", out, sizeof(out)), "ERROR");
}

int
main(void)
{
	struct t t = {0, 0, 0};

	RUN(&t, test_split);
	RUN(&t, test_limits);
	return t_done(&t);
}
