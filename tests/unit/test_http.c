/*
 * test_http.c: the HTTP layer's helpers without a server: the router (path parameters, 405 with
 * its Allow list, no match), the X-Forwarded-For walk behind trusted proxies and the address
 * lists, the API's query-string cursor, and the body's framing from Transfer-Encoding and
 * Content-Length lines (framing.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service/http/http.h"
#include "service/http/http_int.h"
#include "service/api/api_int.h"
#include "tests/check.h"

static void
h_dummy(struct req *req, struct resp *resp)
{
	(void)req;
	(void)resp;
}

static const struct route table[] = {
    {"GET", "/api/v1/items/{}", h_dummy, 0, 0},
    {"POST", "/api/v1/items", h_dummy, 0, ROUTE_FORM},
    {"POST", "/api/v1/items/{}/actions/{}", h_dummy, 1, 0},
    {"PATCH", "/api/v1/items/{}/public", h_dummy, 1, 0},
    {"GET", "/api/v1/items/{}/attachments/{}", h_dummy, 1, 0},
};
#define NTABLE (sizeof(table) / sizeof(table[0]))

static void
req_clear(struct req *req)
{
	size_t i;

	for (i = 0; i < req->nparams; i++)
		free(req->params[i]);
	memset(req, 0, sizeof(*req));
}

static void
test_router(struct t *t)
{
	struct req req;
	const struct route *r = NULL;
	char allow[64];

	memset(&req, 0, sizeof(req));
	CHECK_INT(t, route_match(table, NTABLE, "POST", "/api/v1/items/XJ-1/actions/assign", &req,
	                         &r), 1);
	CHECK(t, r == &table[2]);
	CHECK_INT(t, req.nparams, 2);
	CHECK_STR(t, req.params[0], "XJ-1");
	CHECK_STR(t, req.params[1], "assign");
	CHECK_STR(t, req.pattern, "/api/v1/items/{}/actions/{}");
	req_clear(&req);
	/* a segment never matches the empty string or crosses a slash */
	CHECK_INT(t, route_match(table, NTABLE, "GET", "/api/v1/items/", &req, &r), 0);
	CHECK_INT(t, route_match(table, NTABLE, "GET", "/api/v1/items/a/b", &req, &r), 0);
	CHECK_INT(t, route_match(table, NTABLE, "GET", "/api/v1/itemsX", &req, &r), 0);
	/* methods of the same first letter are told apart (POST, PATCH, PUT) */
	CHECK_INT(t, route_match(table, NTABLE, "PATCH", "/api/v1/items/XJ-1/public", &req, &r), 1);
	CHECK(t, r == &table[3]);
	req_clear(&req);
	CHECK_INT(t, route_match(table, NTABLE, "POST", "/api/v1/items/XJ-1/public", &req, &r), 2);
	CHECK_INT(t, route_match(table, NTABLE, "PUT", "/api/v1/items", &req, &r), 2);
	CHECK_INT(t, route_match(table, NTABLE, "POSTX", "/api/v1/items", &req, &r), 2);
	CHECK_INT(t, req.nparams, 0);
	/* the path exists with other methods: 405, and Allow lists them (GET brings HEAD) */
	CHECK_INT(t, route_match(table, NTABLE, "DELETE", "/api/v1/items/XJ-1", &req, &r), 2);
	CHECK_INT(t, req.nparams, 0);
	route_allow(table, NTABLE, "/api/v1/items/XJ-1", allow, sizeof(allow));
	CHECK_STR(t, allow, "GET, HEAD");
	route_allow(table, NTABLE, "/api/v1/items", allow, sizeof(allow));
	CHECK_STR(t, allow, "POST");
	route_allow(table, NTABLE, "/nothing", allow, sizeof(allow));
	CHECK_STR(t, allow, "");
	/* a buffer too small is cut, never overrun */
	route_allow(table, NTABLE, "/api/v1/items/XJ-1", allow, 4);
	CHECK(t, strlen(allow) < 4);
}

static void
test_forwarded(struct t *t)
{
	char buf[64], err[128];

	CHECK_INT(t, netaddr_list_check("127.0.0.1, ::1 10.0.0.2", err, sizeof(err)), 0);
	CHECK_INT(t, netaddr_list_check("127.0.0.1, proxy.example", err, sizeof(err)), -1);
	CHECK(t, strstr(err, "proxy.example") != NULL);
	CHECK_INT(t, netaddr_listed("127.0.0.1,10.0.0.2", "10.0.0.2", 8), 1);
	CHECK_INT(t, netaddr_listed("127.0.0.1", "::ffff:127.0.0.1", 16), 1);
	CHECK_INT(t, netaddr_listed("127.0.0.1", "127.0.0.2", 9), 0);
	CHECK_INT(t, netaddr_listed("127.0.0.1", "", 0), 0);

	/* the nearest hop that is not a trusted proxy is the client */
	snprintf(buf, sizeof(buf), "127.0.0.1");
	netaddr_forwarded("127.0.0.1, 10.0.0.2", "203.0.113.7, 10.0.0.2", buf, sizeof(buf));
	CHECK_STR(t, buf, "203.0.113.7");
	/* a forged first entry does not win over a real hop */
	snprintf(buf, sizeof(buf), "127.0.0.1");
	netaddr_forwarded("127.0.0.1", "1.2.3.4, 198.51.100.9", buf, sizeof(buf));
	CHECK_STR(t, buf, "198.51.100.9");
	/* garbage stops the walk at the last trusted hop */
	snprintf(buf, sizeof(buf), "127.0.0.1");
	netaddr_forwarded("127.0.0.1", "not-an-address", buf, sizeof(buf));
	CHECK_STR(t, buf, "127.0.0.1");
	snprintf(buf, sizeof(buf), "127.0.0.1");
	netaddr_forwarded("127.0.0.1", ",,, ,", buf, sizeof(buf));
	CHECK_STR(t, buf, "127.0.0.1");
	/* more hops than are looked at: the nearest ones count */
	snprintf(buf, sizeof(buf), "127.0.0.1");
	netaddr_forwarded("127.0.0.1",
	                  "9.9.9.9,1.1.1.1,1.1.1.2,1.1.1.3,1.1.1.4,1.1.1.5,1.1.1.6,1.1.1.7,1.1.1.8,"
	                  "1.1.1.9,1.1.1.10,1.1.1.11,1.1.1.12,1.1.1.13,1.1.1.14,1.1.1.15,1.1.1.16,"
	                  "192.0.2.1",
	                  buf, sizeof(buf));
	CHECK_STR(t, buf, "192.0.2.1");
}

/* #14 point 14: submission limits per network (submit_rate_ranges). */
static void
test_submit_ranges(struct t *t)
{
	static const char ranges[] = "10.8.0.0/16=600, 10.8.5.0/24=0 2001:db8::/32=50";
	struct ratelimit *rl;
	char err[256];
	int64_t retry = 0, now = 1700000000;
	long v = -1;
	int i, refused;

	CHECK_INT(t, netaddr_ranges_check(ranges, err, sizeof(err)), 0);
	CHECK_INT(t, netaddr_ranges_check("", err, sizeof(err)), 0);
	CHECK_INT(t, netaddr_ranges_check("10.8.0.0/16", err, sizeof(err)), -1);
	CHECK_INT(t, netaddr_ranges_check("10.8.0.0/16=", err, sizeof(err)), -1);
	CHECK_INT(t, netaddr_ranges_check("10.8.0.0/16=x", err, sizeof(err)), -1);
	CHECK_INT(t, netaddr_ranges_check("10.8.0.0/33=5", err, sizeof(err)), -1);
	CHECK_INT(t, netaddr_ranges_check("host=5", err, sizeof(err)), -1);
	CHECK_INT(t, netaddr_ranges_check("10.0.0.1=99999999999", err, sizeof(err)), -1);
	CHECK(t, strstr(err, "10.0.0.1=99999999999") != NULL);
	CHECK_INT(t, netaddr_range_value(ranges, "10.8.1.1", &v), 1);
	CHECK_INT(t, v, 600);
	CHECK_INT(t, netaddr_range_value(ranges, "10.8.5.9", &v), 1); /* the more specific one */
	CHECK_INT(t, v, 0);
	CHECK_INT(t, netaddr_range_value(ranges, "::ffff:10.8.1.1", &v), 1);
	CHECK_INT(t, v, 600);
	CHECK_INT(t, netaddr_range_value(ranges, "2001:db8::7", &v), 1);
	CHECK_INT(t, v, 50);
	CHECK_INT(t, netaddr_range_value(ranges, "10.9.0.1", &v), 0);
	CHECK_INT(t, netaddr_range_value(ranges, "garbage", &v), 0);

	rl = ratelimit_new(2, 60);
	CHECK(t, rl != NULL && ratelimit_set_ranges(rl, "10.8.0.0/16=5, 10.8.5.0/24=0") == 0);
	if (rl == NULL)
		return;
	for (i = 0, refused = 0; i < 10; i++)
		refused += ratelimit_hit(rl, "10.8.1.1", now, &retry);
	CHECK_INT(t, refused, 5);
	for (i = 0, refused = 0; i < 10; i++)
		refused += ratelimit_hit(rl, "10.8.5.1", now, &retry);
	CHECK_INT(t, refused, 0);
	for (i = 0, refused = 0; i < 10; i++)
		refused += ratelimit_hit(rl, "198.51.100.1", now, &retry);
	CHECK_INT(t, refused, 8);
	ratelimit_free(rl);
}

static void
test_cursor(struct t *t)
{
	int64_t a = 0, b = 0;

	CHECK_INT(t, cursor_parse("1700000000:42", &a, &b), 0);
	CHECK_INT(t, a, 1700000000);
	CHECK_INT(t, b, 42);
	CHECK_INT(t, cursor_parse("1:0", &a, &b), -1);
	CHECK_INT(t, cursor_parse("x:1", &a, &b), -1);
	CHECK_INT(t, cursor_parse("1", &a, &b), -1);
	CHECK_INT(t, cursor_parse("1:2:3", &a, &b), -1);
	CHECK_INT(t, cursor_parse("99999999999999999999:1", &a, &b), -1);
	CHECK_INT(t, cursor_parse("", &a, &b), -1);
}

/* The status framing_check gives the header lines lines[0..] (name, value pairs, NULL ended)
 * of an HTTP/1.1 request (HTTP/1.0 with http10), the reason into why. */
static int
framing_of(const char *const *lines, int http10, char *why, size_t size)
{
	struct framing f;

	memset(&f, 0, sizeof(f));
	for (; lines[0] != NULL; lines += 2)
		framing_add(&f, lines[0], lines[1]);
	why[0] = '\0';
	return framing_check(&f, http10, why, size);
}

static void
test_framing(struct t *t)
{
	static const struct {
		const char *lines[7];
		int http10, status;
		const char *says; /* in why, or NULL */
	} cases[] = {
	    {{NULL}, 0, 0, NULL},
	    {{"Content-Length", "12", NULL}, 0, 0, NULL},
	    {{"Content-Length", "12", "Content-Length", "12", NULL}, 0, 0, NULL},
	    {{"content-length", "12", "Content-Length", "13", NULL}, 0, 400, "2 times"},
	    {{"Content-Length", "12", "Content-Length", "", NULL}, 0, 400, "different values"},
	    {{"Transfer-Encoding", "chunked", NULL}, 0, 0, NULL},
	    {{"transfer-encoding", "Chunked", NULL}, 0, 0, NULL},
	    {{"Transfer-Encoding", "chunked", NULL}, 1, 400, "HTTP/1.0"},
	    {{"Content-Length", "5", NULL}, 1, 0, NULL},
	    {{"Transfer-Encoding", "chunked", "Content-Length", "5", NULL}, 0, 400, "both given"},
	    {{"Content-Length", "5", "Transfer-Encoding", "chunked", NULL}, 0, 400, "both given"},
	    {{"Transfer-Encoding", "gzip, chunked", NULL}, 0, 501, "coding gzip is"},
	    {{"Transfer-Encoding", "GZIP ,chunked", NULL}, 0, 501, "coding GZIP is"},
	    {{"Transfer-Encoding", "deflate;q=1, chunked", NULL}, 0, 501, "coding deflate is"},
	    {{"Transfer-Encoding", "gzip", "Transfer-Encoding", "chunked", NULL}, 0, 501, "gzip"},
	    {{"Transfer-Encoding", "gzip", NULL}, 0, 400, "last transfer coding"},
	    {{"Transfer-Encoding", "chunked, gzip", NULL}, 0, 400, "last transfer coding"},
	    {{"Transfer-Encoding", "", NULL}, 0, 400, "last transfer coding"},
	    {{"Transfer-Encoding", " , ", NULL}, 0, 400, "last transfer coding"},
	    {{"Transfer-Encoding", "chunked, chunked", NULL}, 0, 400, "chunked once"},
	    {{"Transfer-Encoding", "chunked", "Transfer-Encoding", "chunked", NULL}, 0, 400,
	     "chunked once"},
	    {{"Transfer-Encoding", ", chunked", NULL}, 0, 400, "chunked once"},
	};
	char why[512];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CHECK_INT(t, framing_of(cases[i].lines, cases[i].http10, why, sizeof(why)),
		          cases[i].status);
		if (cases[i].says != NULL && strstr(why, cases[i].says) == NULL) {
			CHECK_STR(t, why, cases[i].says);
		}
	}
}

/* The cache of encoded records (records.c): a record is found only for the same kind, item and
 * source bytes; its memory stays within the budget however many records are kept, and once the
 * budget is spent new records still get in (older ones make room); answers assembled from
 * records read as jansson writes the whole. */
static void
test_records(struct t *t)
{
	struct rcache *rc = rcache_new(64 * 1024);
	char src[700], text[300];
	const char *got;
	size_t len, i, found = 0;
	struct jout out = {NULL, 0, 0, 0};
	json_t *a, *o;
	char *whole;

	CHECK(t, rc != NULL);
	memset(src, 'r', sizeof(src));
	memset(text, 't', sizeof(text));
	rcache_keep(rc, RCACHE_O311, 7, src, sizeof(src), "{\"a\":1}", 7);
	CHECK_INT(t, rcache_find(rc, RCACHE_O311, 7, src, sizeof(src), &got, &len), 1);
	CHECK(t, len == 7 && memcmp(got, "{\"a\":1}", 7) == 0);
	CHECK_INT(t, rcache_find(rc, RCACHE_BOARD, 7, src, sizeof(src), &got, &len), 0);
	CHECK_INT(t, rcache_find(rc, RCACHE_O311, 8, src, sizeof(src), &got, &len), 0);
	src[699] = 's'; /* one byte of the row changed */
	CHECK_INT(t, rcache_find(rc, RCACHE_O311, 7, src, sizeof(src), &got, &len), 0);
	CHECK_INT(t, rcache_find(rc, RCACHE_O311, 7, src, sizeof(src) - 1, &got, &len), 0);
	/* a thousand records of 1,000 bytes in 64 KiB */
	for (i = 0; i < 1000; i++) {
		memcpy(src, &i, sizeof(i));
		rcache_keep(rc, RCACHE_BOARD, (int64_t)i, src, sizeof(src), text, sizeof(text));
		CHECK(t, rcache_bytes(rc) <= 64 * 1024);
		/* the record just kept is there: the spent budget made room for it */
		found += rcache_find(rc, RCACHE_BOARD, (int64_t)i, src, sizeof(src), &got, &len);
	}
	CHECK_INT(t, (int)found, 1000);
	CHECK(t, rcache_bytes(rc) > 32 * 1024);
	rcache_keep(rc, RCACHE_QUEUE, 1, src, sizeof(src), text, 70000); /* too large: not kept */
	CHECK_INT(t, rcache_find(rc, RCACHE_QUEUE, 1, src, sizeof(src), &got, &len), 0);
	rcache_free(rc);
	rcache_free(NULL);
	/* [record,record] assembled equals the array dumped whole */
	a = json_array();
	o = json_pack("{s:s, s:n, s:i}", "k", "小区\"\n", "n", "i", 3);
	json_array_append(a, o);
	json_array_append(a, o);
	jout_raw(&out, "[", 1);
	CHECK_INT(t, jout_dump(&out, o), 0);
	jout_raw(&out, ",", 1);
	CHECK_INT(t, jout_dump(&out, o), 0);
	jout_raw(&out, "]", 1);
	whole = json_dumps(a, JSON_COMPACT);
	CHECK(t, whole != NULL && out.len == strlen(whole) && memcmp(out.p, whole, out.len) == 0);
	free(whole);
	json_decref(o);
	json_decref(a);
	jout_free(&out);
}

/* Dumps what r holds now as jout_dump would: a new string (free it), or NULL. */
static char *
record_text(struct jrec *r)
{
	struct jout out = {NULL, 0, 0, 0};
	char *s = NULL;

	if (jout_dump(&out, r->obj) == 0) {
		s = malloc(out.len + 1);
		if (s != NULL) {
			memcpy(s, out.p, out.len);
			s[out.len] = '\0';
		}
	}
	jout_free(&out);
	return s;
}

/* The Open311 record of item set in an object of its own (nothing reused from another
 * record), handed over and dumped as resp_json dumps a tree: a new string, or NULL. */
static char *
o311_fresh_text(const struct app *app, const struct db_item *item)
{
	struct jrec r;
	json_t *o;
	char *s;

	if (o311_record_init(&r) != 0)
		return NULL;
	if (o311_record(app, &r, item) != 1) {
		jrec_free(&r);
		return NULL;
	}
	o = jrec_take(&r);
	s = json_dumps(o, JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(o);
	return s;
}

/* A tree built member by member by json_pack (as request_json built every record before), then
 * dumped: a new string. */
static char *
packed_text(json_t *o)
{
	char *s = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	return s;
}

/* A record of Open311's list and of the board reads byte for byte as it always has, with nulls,
 * escapes (quote, backslash, control characters, not the slash), text outside the BMP (written
 * as UTF-8, not escaped), the public version or the masked original; whatever records the one
 * reused object held before; and a text that is not UTF-8 fails the record (500) as before,
 * refused when it is set or, in a list's object, by the dump. */
static void
test_record_bytes(struct t *t)
{
	static struct app app; /* zero: no published contacts kept from masking */
	struct db_item full, status, hidden, masked, bad;
	struct db_public_row row;
	struct jrec r, b;
	char *a1 = NULL, *a2 = NULL, *x = NULL, *y = NULL, *m = NULL;
	const char *want_full =
	    "{\"service_request_id\":\"XJ-20251020-00007\",\"status\":\"closed\",\"status_notes\":"
	    "\"已处理，电话 13812345678 见 \\\"附件\\\"\",\"service_name\":\"投诉举报 Complaint or "
	    "report\",\"service_code\":\"complaint\",\"description\":\"第一行\\n第二行\\r\\u0001\\u001F"
	    " 𠮷 é / \\\\ end\",\"agency_responsible\":\"法规处\",\"requested_datetime\":"
	    "\"2025-10-20T10:00:00+08:00\",\"updated_datetime\":\"2025-10-21T15:30:05+08:00\","
	    "\"expected_datetime\":null,\"title\":\"标题 \\\"引号\\\"\\t😀\",\"address\":null,"
	    "\"address_id\":null,\"zipcode\":null,\"lat\":null,\"long\":null,\"media_url\":null}";
	const char *want_status =
	    "{\"service_request_id\":\"XJ-20251021-00012\",\"status\":\"open\",\"status_notes\":null,"
	    "\"service_name\":\"局长信箱 Letter to the director\",\"service_code\":\"letter\","
	    "\"description\":null,\"agency_responsible\":null,\"requested_datetime\":"
	    "\"2025-10-21T15:30:05+08:00\",\"updated_datetime\":\"2025-10-21T15:30:05+08:00\","
	    "\"expected_datetime\":\"2025-11-03T23:59:59+08:00\",\"title\":null,\"address\":null,"
	    "\"address_id\":null,\"zipcode\":null,\"lat\":null,\"long\":null,\"media_url\":null}";
	const char *want_board =
	    "{\"tracking\":\"XJ-20251020-00007\",\"kind\":\"consultation\",\"subject\":\"路灯 \\\"坏了\\\""
	    " 😀\",\"body\":null,\"reply\":\"已修复\\n\\\\谢谢/\",\"received\":"
	    "\"2025-10-20T10:00:00+08:00\",\"replied\":\"2025-11-03T23:59:59+08:00\"}";

	CHECK_INT(t, sla_set_zone("Asia/Shanghai"), 0);
	memset(&full, 0, sizeof(full));
	full.tracking = (char *)"XJ-20251020-00007";
	full.kind = KIND_COMPLAINT;
	full.state = WF_REPLIED;
	full.resume_state = WF_NONE;
	full.publish = 1;
	full.published = 1;
	full.received = 1760925600;
	full.updated = 1761031805;
	full.replied_at = 1761031805;
	full.name = (char *)"张三";
	full.subject = (char *)"original subject";
	full.body = (char *)"original body";
	full.reply = (char *)"not shown: the public reply is stored";
	full.public_subject = (char *)"标题 \"引号\"\t\xf0\x9f\x98\x80";
	full.public_body = (char *)"第一行\n第二行\r\x01\x1f \xf0\xa0\xae\xb7 é / \\ end";
	full.public_reply = (char *)"已处理，电话 13812345678 见 \"附件\"";
	full.section_name = (char *)"法规处";
	snprintf(full.clocks[0].name, sizeof(full.clocks[0].name), "reply");
	full.clocks[0].due = 1762185599;
	full.clocks[0].stopped_at = 1761031805; /* stopped: no expected time */
	full.nclocks = 1;

	status = full; /* consented, not published: status, service and dates only */
	status.tracking = (char *)"XJ-20251021-00012";
	status.kind = KIND_LETTER;
	status.state = WF_IN_PROGRESS;
	status.published = 0;
	status.replied_at = 0;
	status.received = status.updated = 1761031805;
	status.clocks[0].stopped_at = 0;

	hidden = full;
	hidden.publish = 0;

	masked = full; /* published with no public version stored: the originals, masked */
	masked.public_subject = masked.public_body = masked.public_reply = NULL;
	masked.subject = (char *)"张三的投诉";
	masked.body = (char *)"我是张三，电话13812345678，邮箱 zhang@example.com";
	masked.reply = NULL;

	bad = full;
	bad.public_body = (char *)"not UTF-8: \xff\xfe";

	CHECK_INT(t, o311_record_init(&r), 0);
	CHECK_INT(t, o311_record(&app, &r, &full), 1);
	a1 = record_text(&r);
	CHECK_STR(t, a1, want_full);
	CHECK_INT(t, o311_record(&app, &r, &status), 1);
	x = record_text(&r);
	CHECK_STR(t, x, want_status);
	CHECK_INT(t, o311_record(&app, &r, &hidden), 0);
	CHECK_INT(t, o311_record(&app, &r, &masked), 1);
	m = record_text(&r);
	/* the name, the number and the address masked; each member as a record of its own */
	CHECK(t, m != NULL && strstr(m, "张三") == NULL && strstr(m, "13812345678") == NULL &&
	             strstr(m, "zhang@example.com") == NULL);
	CHECK(t, m != NULL && strstr(m, "\"status_notes\":null,") != NULL);
	y = o311_fresh_text(&app, &masked);
	CHECK_STR(t, m, y);
	free(y);
	CHECK_INT(t, o311_record(&app, &r, &bad), -1);
	/* a list's object leaves the check to the dump, which refuses the same text */
	r.dumped = 1;
	CHECK_INT(t, o311_record(&app, &r, &bad), 1);
	y = record_text(&r);
	CHECK(t, y == NULL);
	free(y);
	r.dumped = 0;
	/* the first record again, after all the others: the same bytes */
	CHECK_INT(t, o311_record(&app, &r, &full), 1);
	a2 = record_text(&r);
	CHECK_STR(t, a2, want_full);
	y = o311_fresh_text(&app, &full);
	CHECK_STR(t, y, want_full);
	free(y);
	y = o311_fresh_text(&app, &status);
	CHECK_STR(t, y, want_status);
	free(y);
	jrec_free(&r);
	jrec_free(&r); /* freed: a second free does nothing */
	/* the expected bytes are jansson's for the same members packed one by one */
	y = packed_text(json_pack(
	    "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:n, s:s, s:n, s:n, s:n, s:n, s:n, s:n}",
	    "service_request_id", full.tracking, "status", "closed", "status_notes", full.public_reply,
	    "service_name", "投诉举报 Complaint or report", "service_code", "complaint", "description",
	    full.public_body, "agency_responsible", "法规处", "requested_datetime",
	    "2025-10-20T10:00:00+08:00", "updated_datetime", "2025-10-21T15:30:05+08:00",
	    "expected_datetime", "title", full.public_subject, "address", "address_id", "zipcode",
	    "lat", "long", "media_url"));
	CHECK_STR(t, y, want_full);
	free(y);
	y = packed_text(json_pack(
	    "{s:s, s:s, s:n, s:s, s:s, s:n, s:n, s:s, s:s, s:s, s:n, s:n, s:n, s:n, s:n, s:n, s:n}",
	    "service_request_id", status.tracking, "status", "open", "status_notes", "service_name",
	    "局长信箱 Letter to the director", "service_code", "letter", "description",
	    "agency_responsible", "requested_datetime", "2025-10-21T15:30:05+08:00",
	    "updated_datetime", "2025-10-21T15:30:05+08:00", "expected_datetime",
	    "2025-11-03T23:59:59+08:00", "title", "address", "address_id", "zipcode", "lat", "long",
	    "media_url"));
	CHECK_STR(t, y, want_status);
	free(y);

	memset(&row, 0, sizeof(row));
	row.tracking = (char *)"XJ-20251020-00007";
	row.kind = KIND_CONSULTATION;
	row.subject = (char *)"路灯 \"坏了\" \xf0\x9f\x98\x80";
	row.body = NULL;
	row.reply = (char *)"已修复\n\\谢谢/";
	row.received = 1760925600;
	row.replied_at = 1762185599;
	CHECK_INT(t, board_record_init(&b), 0);
	CHECK_INT(t, board_record(&b, &row), 0);
	free(x);
	x = record_text(&b);
	CHECK_STR(t, x, want_board);
	y = packed_text(json_pack("{s:s, s:s, s:s, s:n, s:s, s:s, s:s}", "tracking", row.tracking,
	                          "kind", "consultation", "subject", row.subject, "body", "reply",
	                          row.reply, "received", "2025-10-20T10:00:00+08:00", "replied",
	                          "2025-11-03T23:59:59+08:00"));
	CHECK_STR(t, y, want_board);
	free(y);
	row.body = (char *)"\xc3"; /* cut inside a character */
	CHECK_INT(t, board_record(&b, &row), -1);
	b.dumped = 1;
	CHECK_INT(t, board_record(&b, &row), 0);
	y = record_text(&b);
	CHECK(t, y == NULL);
	free(y);
	row.body = NULL;
	CHECK_INT(t, board_record(&b, &row), 0);
	free(x);
	x = record_text(&b);
	CHECK_STR(t, x, want_board);
	jrec_free(&b);
	free(a1);
	free(a2);
	free(x);
	free(m);
}

/* Checks that jrec_dump writes r (its object the record: r->dumped 0) as jout_dump dumps r's
 * object, and d (the same record set with d->dumped 1) the same bytes; or that all three fail,
 * jrec_dump appending nothing. */
static void
check_pieces(struct t *t, struct jrec *r, struct jrec *d, const char *what)
{
	struct jout whole = {NULL, 0, 0, 0}, pieces = {NULL, 0, 0, 0}, listed = {NULL, 0, 0, 0};
	int a, b, c;

	jout_raw(&pieces, "[", 1);
	jout_raw(&listed, "[", 1);
	a = jout_dump(&whole, r->obj);
	b = jrec_dump(r, &pieces);
	c = jrec_dump(d, &listed);
	CHECK_INT(t, b, a);
	CHECK_INT(t, c, a);
	if (a == 0 && b == 0 && c == 0) {
		if (whole.len + 1 != pieces.len || memcmp(whole.p, pieces.p + 1, whole.len) != 0 ||
		    listed.len != pieces.len || memcmp(listed.p, pieces.p, pieces.len) != 0) {
			fprintf(stderr, "# %s:\n#   whole  %.*s\n#   pieces %.*s\n#   listed %.*s\n",
			        what, (int)whole.len, whole.p, (int)pieces.len - 1, pieces.p + 1,
			        (int)listed.len - 1, listed.p + 1);
			CHECK(t, 0);
		}
	} else
		CHECK(t, b != 0 && pieces.len == 1 && pieces.failed && c != 0 && listed.len == 1 &&
		             listed.failed);
	jout_free(&whole);
	jout_free(&pieces);
	jout_free(&listed);
}

/* jrec_dump writes what jansson's dump of the record's object writes, byte for byte, whatever
 * each member holds and held in the records before, and the same for a list's record (dumped
 * as it is set, its object not kept whole): keys that jansson escapes, texts of ours that are
 * not printable ASCII (a quote, a backslash, a control character, UTF-8) and so go through
 * jansson, more static texts than it keeps the encodings of, singletons, integers and trees;
 * Open311's records of every kind, status and view one after the other (the constant members
 * differ from one record to the next); a text that is not UTF-8 fails the record. */
static void
test_record_pieces(struct t *t)
{
	static const char *const keys[] = {"id", "q\"uote/é\t", "static", "time", "text", "n", "v"};
	static const char statics[30][8] = {"s0",  "s1",  "s2",  "s3",  "s4",  "s5",  "s6",  "s7",
	                                    "s8",  "s9",  "s10", "s11", "s12", "s13", "s14", "s15",
	                                    "s16", "s17", "s18", "s19", "s20", "s21", "s22", "s23",
	                                    "s24", "s25", "s26", "s27", "s28", "\"29\""};
	static const char *const ascii[] = {
	    "XJ-20251020-00007", "", "a/b", "with \"quote\"", "back\\slash", "tab\there", "\x7f",
	    "中文", "\x01", "~ !#$%&'()*+,-.:;<=>?@[]^_`{|}",
	    "longer than a piece keeps: 0123456789012345678901234567890123456789", NULL};
	static const char *const texts[] = {"小区 \"路灯\"\n\\ /", "", "\xf0\x9f\x98\x80 ok",
	                                    "plain", NULL};
	static const int64_t times[] = {0, 1760925600, -1, 4102444800};
	/* integers written by hand as jansson writes them (i added: 0 at most 69) */
	static const json_int_t ints[] = {INT64_MIN, INT64_MAX - 100, 0, -1000003, 9, -10};
	static struct app app;
	struct db_item item;
	struct jrec r, d, *x;
	char what[64];
	size_t i, k;
	json_t *tree;

	CHECK_INT(t, sla_set_zone("Asia/Shanghai"), 0);
	CHECK_INT(t, jrec_init(&r, keys, 7), 0);
	CHECK_INT(t, jrec_init(&d, keys, 7), 0);
	d.dumped = 1;
	check_pieces(t, &r, &d, "all null");
	for (i = 0; i < 72; i++) {
		snprintf(what, sizeof(what), "record %zu", i);
		for (k = 0; k < 2; k++) {
			x = k == 0 ? &r : &d;
			CHECK_INT(t, jrec_ascii(x, 0, ascii[i % 12]), 0);
			CHECK_INT(t, jrec_static(x, 1, statics[(i * 7) % 30]), 0);
			CHECK_INT(t, i % 5 == 4 ? jrec_set(x, 2, json_true())
			                        : jrec_static(x, 2, statics[i % 30]),
			          0);
			CHECK_INT(t, jrec_time(x, 3, times[i % 4]), 0);
			CHECK_INT(t, jrec_text(x, 4, texts[i % 5]), 0);
			CHECK_INT(t, i % 3 == 0 ? jrec_int(x, 5, ints[i / 3 % 6] + (json_int_t)i)
			                        : jrec_set(x, 5, i % 3 == 1 ? json_false() : json_null()),
			          0);
			tree = i % 4 == 0 ? json_pack("{s:[i,s], s:n}", "a", (int)i, "é\"", "b")
			                  : json_null();
			CHECK_INT(t, jrec_set(x, 6, tree), 0);
		}
		check_pieces(t, &r, &d, what);
	}
	/* a text not UTF-8 is refused by the dump, of the whole and of the pieces */
	r.dumped = 1;
	CHECK_INT(t, jrec_text(&r, 4, "cut \xe5\x9d"), 0);
	CHECK_INT(t, jrec_text(&d, 4, "cut \xe5\x9d"), 0);
	check_pieces(t, &r, &d, "not UTF-8");
	r.dumped = 0;
	CHECK_INT(t, jrec_text(&r, 4, "fine again"), 0);
	CHECK_INT(t, jrec_text(&d, 4, "fine again"), 0);
	check_pieces(t, &r, &d, "UTF-8 again");
	jrec_free(&r);
	jrec_free(&d);

	memset(&item, 0, sizeof(item));
	item.resume_state = WF_NONE;
	item.name = (char *)"张三";
	item.section_name = (char *)"法规处";
	item.subject = (char *)"张三的投诉 \"x\"";
	item.body = (char *)"我是张三，电话13812345678\n/\\";
	item.reply = (char *)"已处理";
	item.public_subject = (char *)"编辑过的标题";
	snprintf(item.clocks[0].name, sizeof(item.clocks[0].name), "reply");
	item.nclocks = 1;
	CHECK_INT(t, o311_record_init(&r), 0);
	CHECK_INT(t, o311_record_init(&d), 0);
	d.dumped = 1;
	for (i = 0; i < 48; i++) {
		item.tracking = (char *)(i % 7 == 6 ? "XJ-\"odd\"-1" : "XJ-20251020-00007");
		item.kind = (enum kind)(i % KIND__MAX);
		item.state = i % 4 == 0   ? WF_RECEIVED
		             : i % 4 == 1 ? WF_REPLIED
		             : i % 4 == 2 ? WF_CLOSED
		                          : WF_IN_PROGRESS;
		item.publish = i % 5 != 4;
		item.published = i % 2;
		item.public_body = i % 3 == 0 ? (char *)"公开的正文\t" : NULL;
		item.received = 1760925600 + (int64_t)i * 3600;
		item.updated = item.received + 60;
		item.clocks[0].due = item.received + 86400 * 7;
		item.clocks[0].stopped_at = i % 3 == 1 ? item.updated : 0;
		snprintf(what, sizeof(what), "Open311 record %zu", i);
		CHECK_INT(t, o311_record(&app, &d, &item), o311_record(&app, &r, &item));
		if (item.publish)
			check_pieces(t, &r, &d, what);
	}
	jrec_free(&r);
	jrec_free(&d);
}

int
main(void)
{
	struct t t = {0, 0, 0};

	RUN(&t, test_router);
	RUN(&t, test_forwarded);
	RUN(&t, test_cursor);
	RUN(&t, test_framing);
	RUN(&t, test_submit_ranges);
	RUN(&t, test_records);
	RUN(&t, test_record_bytes);
	RUN(&t, test_record_pieces);
	return t_done(&t);
}
