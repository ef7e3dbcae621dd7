/*
 * test_db.c: the storage module against a temporary database: migrations, sections, items with
 * their clocks and history, the per-day tracking counter, the queue's order and filters, the
 * public board, sessions, the append-only audit log and policy overrides.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "db/db.h"
#include "tests/check.h"

static struct db *db;
static struct db_conn *c;
static char dir[] = "/tmp/civicdesk-db-XXXXXX";

static int64_t
new_item(const char *tracking, const char *state, int64_t section, int64_t due, int publish)
{
	struct db_item it;

	memset(&it, 0, sizeof(it));
	it.tracking = (char *)tracking;
	it.kind = KIND_LETTER;
	it.channel = CHANNEL_WEB;
	it.subject = (char *)"路灯不亮";
	it.body = (char *)"学院路的路灯坏了";
	it.state = (enum wf_state)wf_state_parse(state);
	it.resume_state = WF_NONE;
	it.extension = (char *)"none";
	it.publish = publish;
	it.received = it.created = it.updated = 1750000000;
	it.section_id = section;
	it.nclocks = 1;
	snprintf(it.clocks[0].name, sizeof(it.clocks[0].name), "reply");
	snprintf(it.clocks[0].unit, sizeof(it.clocks[0].unit), "working_days");
	it.clocks[0].started = 1750000000;
	it.clocks[0].days = 5;
	it.clocks[0].end_minutes = 1440;
	it.clocks[0].due = due;
	it.next_due = db_item_next_due(&it);
	if (db_item_insert(c, &it) != 0)
		return 0;
	return it.id;
}

static void
test_open_and_schema(struct t *t)
{
	CHECK(t, db_schema_version(db) >= 2);
	CHECK_INT(t, db_schema_version(db), db_schema_latest());
}

static void
test_sections(struct t *t)
{
	struct db_section s;
	int64_t id = 0, id2 = 0;

	CHECK_INT(t, db_section_add(c, "法规处", "fagui@example.gov.cn", 1, &id), 0);
	CHECK_INT(t, db_section_add(c, "法规处", NULL, 1, &id2), 1); /* the name is taken */
	CHECK_INT(t, db_section_by_name(c, "法规处", &s), 1);
	CHECK_INT(t, s.id, id);
	CHECK_STR(t, s.email, "fagui@example.gov.cn");
	s.active = 0;
	CHECK_INT(t, db_section_update(c, &s), 1);
	db_section_free(&s);
	CHECK_INT(t, db_section_get(c, id, &s), 1);
	CHECK_INT(t, s.active, 0);
	db_section_free(&s);
	CHECK_INT(t, db_section_get(c, 9999, &s), 0);
}

static void
test_items_and_history(struct t *t)
{
	struct db_item it;
	struct db_history h, *rows = NULL;
	size_t n = 0;
	int64_t id;
	int seq1 = 0, seq2 = 0, seq3 = 0;

	CHECK_INT(t, db_tracking_next(c, 20250930, &seq1), 0);
	CHECK_INT(t, db_tracking_next(c, 20250930, &seq2), 0);
	CHECK_INT(t, db_tracking_next(c, 20251001, &seq3), 0);
	CHECK_INT(t, seq2, seq1 + 1);
	CHECK_INT(t, seq3, 1);
	id = new_item("XJ-20250930-00001", "received", 0, 1750500000, 0);
	CHECK(t, id > 0);
	CHECK_INT(t, new_item("XJ-20250930-00001", "received", 0, 1, 0), 0); /* duplicate */
	CHECK_INT(t, new_item("XJ-20250930-00002", "lost", 0, 1, 0), 0);     /* no such state */
	CHECK_INT(t, db_item_get(c, "XJ-20250930-00001", &it), 1);
	CHECK_STR(t, it.subject, "路灯不亮");
	CHECK_INT(t, it.nclocks, 1);
	CHECK_INT(t, it.clocks[0].due, 1750500000);
	CHECK_INT(t, it.next_due, 1750500000);
	it.state = WF_ASSIGNED;
	it.clocks[0].stopped_at = 1750100000;
	it.next_due = db_item_next_due(&it);
	CHECK_INT(t, it.next_due, DB_NO_DUE);
	it.state = WF_STATE__MAX; /* the schema refuses a state the workflow does not know */
	CHECK_INT(t, db_item_update(c, &it), -1);
	it.state = WF_ASSIGNED;
	CHECK_INT(t, db_item_update(c, &it), 1);
	db_item_free(&it);
	CHECK_INT(t, db_item_get_id(c, id, &it), 1);
	CHECK_STR(t, wf_state_name(it.state), "assigned");
	CHECK_INT(t, it.clocks[0].stopped_at, 1750100000);
	db_item_free(&it);
	CHECK_INT(t, db_item_get(c, "XJ-19990101-00001", &it), 0);

	memset(&h, 0, sizeof(h));
	h.at = 1750000000;
	h.actor = (char *)"citizen";
	h.action = (char *)"submit";
	h.to_state = (char *)"received";
	h.citizen = 1;
	CHECK_INT(t, db_history_add(c, id, &h), 0);
	h.at++;
	h.actor = (char *)"dispatcher1";
	h.action = (char *)"assign";
	h.from_state = (char *)"received";
	h.to_state = (char *)"assigned";
	h.citizen = 0;
	CHECK_INT(t, db_history_add(c, id, &h), 0);
	CHECK_INT(t, db_history_list(c, id, 0, &rows, &n), 0);
	CHECK_INT(t, n, 2);
	if (n == 2)
		CHECK_STR(t, rows[1].action, "assign");
	db_history_free(rows, n);
	CHECK_INT(t, db_history_list(c, id, 1, &rows, &n), 0);
	CHECK_INT(t, n, 1); /* the citizen sees only their rows */
	db_history_free(rows, n);
}

static void
test_queue_order(struct t *t)
{
	struct db_queue_filter f;
	struct db_search search;
	struct db_queue_row *rows = NULL;
	size_t n = 0;

	new_item("XJ-20250930-00010", "received", 0, 1750900000, 0);
	new_item("XJ-20250930-00011", "received", 0, 1750800000, 0);
	new_item("XJ-20250930-00012", "closed", 0, DB_NO_DUE, 0);
	memset(&f, 0, sizeof(f));
	f.limit = 10;
	CHECK_INT(t, db_queue_list(c, &f, &rows, &n), 0);
	CHECK(t, n >= 2);
	if (n >= 2) {
		CHECK_STR(t, rows[0].tracking, "XJ-20250930-00011"); /* nearest due first */
		CHECK_STR(t, rows[1].tracking, "XJ-20250930-00010");
	}
	db_queue_rows_free(rows, n);
	/* overdue at a moment between the two */
	f.due_before = 1750850000;
	CHECK_INT(t, db_queue_list(c, &f, &rows, &n), 0);
	CHECK_INT(t, n, 1);
	db_queue_rows_free(rows, n);
	/* the text filter is literal: % and _ match themselves */
	memset(&f, 0, sizeof(f));
	f.limit = 10;
	f.states = DB_STATES_ALL;
	memset(&search, 0, sizeof(search));
	CHECK_INT(t, db_search_add(&search, "%", 1), 0);
	f.search = &search;
	CHECK_INT(t, db_queue_list(c, &f, &rows, &n), 0);
	CHECK_INT(t, n, 0);
	db_queue_rows_free(rows, n);
	memset(&search, 0, sizeof(search));
	CHECK_INT(t, db_search_add(&search, "路灯", strlen("路灯")), 0);
	CHECK_INT(t, db_queue_list(c, &f, &rows, &n), 0);
	CHECK_INT(t, n, 4);
	db_queue_rows_free(rows, n);
	/* keyset: the page after the first row */
	memset(&f, 0, sizeof(f));
	f.limit = 1;
	f.after_due = 1750800000;
	CHECK_INT(t, db_queue_list(c, &f, &rows, &n), 0);
	CHECK_INT(t, n, 1);
	db_queue_rows_free(rows, n);
}

/* db_fold over every code point: a folded text is never longer than the text (it fits the
 * buffer), and folding it again changes nothing; CJK stays as it is. */
static void
test_fold_table(struct t *t)
{
	unsigned cp;
	char in[5], out[5], again[5];
	size_t n, m, k;
	int longer = 0, unstable = 0, cjk = 0;

	for (cp = 1; cp <= 0x10ffff; cp++) {
		if (cp >= 0xd800 && cp <= 0xdfff)
			continue;
		if (cp < 0x80) {
			in[0] = (char)cp;
			n = 1;
		} else if (cp < 0x800) {
			in[0] = (char)(0xc0 | (cp >> 6));
			in[1] = (char)(0x80 | (cp & 0x3f));
			n = 2;
		} else if (cp < 0x10000) {
			in[0] = (char)(0xe0 | (cp >> 12));
			in[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
			in[2] = (char)(0x80 | (cp & 0x3f));
			n = 3;
		} else {
			in[0] = (char)(0xf0 | (cp >> 18));
			in[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
			in[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
			in[3] = (char)(0x80 | (cp & 0x3f));
			n = 4;
		}
		m = db_fold(in, n, out);
		if (m > n)
			longer++;
		k = db_fold(out, m, again);
		if (k != m || memcmp(out, again, m) != 0)
			unstable++;
		if (cp >= 0x4e00 && cp <= 0x9fff && (m != n || memcmp(in, out, n) != 0))
			cjk++;
	}
	CHECK_INT(t, longer, 0);
	CHECK_INT(t, unstable, 0);
	CHECK_INT(t, cjk, 0);
}

/* db_fold on texts of each script it folds; bytes that are no UTF-8 kept. */
static void
test_fold_texts(struct t *t)
{
	static const char *const cases[][2] = {
	    {"Street LIGHT 42", "street light 42"},
	    {"ÀÉÎÕÜ Ÿ Œuvre", "àéîõü ÿ œuvre"},
	    {"ΑΘΗΝΑ Άρτα ΟΔΟΣ ς", "αθηνα άρτα οδοσ σ"},
	    {"МОСКВА Ёлка Її", "москва ёлка її"},
	    {"ＡＢＣ ａｂｃ １２３", "abc abc 123"},
	    {"LǙ ZHǑU", "lǚ zhǒu"},
	    {"ĐƯỜNG ẾCH", "đường ếch"},
	    {"STRAẞE", "straße"},
	    {"路灯 幸福路　小区", "路灯 幸福路 小区"},  /* the ideographic space as a space */
	    {"a\xc2\xa0" "b\xe2\x80\x83" "c", "a b c"}, /* no-break and em spaces too */
	    {"\xff" "A\xe8" "B", "\xff" "a\xe8" "b"},
	    {"", ""},
	};
	char out[64];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		db_fold(cases[i][0], strlen(cases[i][0]), out);
		CHECK_STR(t, out, cases[i][1]);
	}
}

static int64_t
text_item(const char *tracking, int64_t section, const char *subject, const char *body)
{
	struct db_item it;

	memset(&it, 0, sizeof(it));
	it.tracking = (char *)tracking;
	it.kind = KIND_LETTER;
	it.channel = CHANNEL_WEB;
	it.subject = (char *)subject;
	it.body = (char *)body;
	it.state = WF_RECEIVED;
	it.resume_state = WF_NONE;
	it.extension = (char *)"none";
	it.received = it.created = it.updated = 1750000000;
	it.section_id = section;
	it.next_due = DB_NO_DUE;
	if (db_item_insert(c, &it) != 0)
		return 0;
	return it.id;
}

/* The trackings the queue of section sec finds for the words (NULL-ended), in order, joined
 * by spaces. */
static void
search_found(struct t *t, int64_t sec, const char *const *words, char *out, size_t size)
{
	struct db_queue_filter f;
	struct db_search s;
	struct db_queue_row *rows = NULL;
	size_t n = 0, i, len = 0;

	memset(&f, 0, sizeof(f));
	memset(&s, 0, sizeof(s));
	for (; *words != NULL; words++)
		CHECK_INT(t, db_search_add(&s, *words, strlen(*words)), 0);
	f.section_id = sec;
	f.states = DB_STATES_ALL;
	f.limit = 50;
	f.search = &s;
	out[0] = '\0';
	CHECK_INT(t, db_queue_list(c, &f, &rows, &n), 0);
	for (i = 0; i < n; i++)
		len += (size_t)snprintf(out + len, size - len, "%s%s", i ? " " : "",
		                        rows[i].tracking + 15); /* the number's last 2 digits */
	db_queue_rows_free(rows, n);
}

/* The queue's text search: every word in the subject or the body (AND), each folded as
 * db_fold folds, taken literally; a phrase (a word with a blank) only as it stands. */
static void
test_queue_search(struct t *t)
{
	int64_t sec = 0;
	char got[256];
	struct db_search s;

	CHECK_INT(t, db_section_add(c, "检索处", NULL, 1, &sec), 0);
	CHECK(t, text_item("XJ-20251009-00001", sec, "幸福路路灯不亮", "晚上很黑") != 0);
	CHECK(t, text_item("XJ-20251009-00002", sec, "路灯", "学院路 Street Light broken") != 0);
	CHECK(t, text_item("XJ-20251009-00003", sec, "STREET LIGHT", "幸福路") != 0);
	CHECK(t, text_item("XJ-20251009-00004", sec, "Crème brûlée", "ΑΘΗΝΑ МОСКВА") != 0);
	CHECK(t, text_item("XJ-20251009-00005", sec, "ＷｉＦｉ　信号", "100%_ done") != 0);
	CHECK(t, text_item("XJ-20251009-00006", sec, "light", "street") != 0);
#define FOUND(...)                                                                                 \
	do {                                                                                       \
		const char *const w_[] = {__VA_ARGS__, NULL};                                     \
		search_found(t, sec, w_, got, sizeof(got));                                               \
	} while (0)
	FOUND("路灯");
	CHECK_STR(t, got, "01 02");
	FOUND("路灯", "幸福路"); /* both words: one in the subject, one in the body, or both */
	CHECK_STR(t, got, "01");
	FOUND("幸福路", "light");
	CHECK_STR(t, got, "03");
	FOUND("street", "light"); /* any case, in the subject or the body */
	CHECK_STR(t, got, "02 03 06");
	FOUND("street light"); /* a phrase: as it stands, inside one text */
	CHECK_STR(t, got, "02 03");
	FOUND("light street");
	CHECK_STR(t, got, "");
	FOUND("CRÈME", "Brûlée");
	CHECK_STR(t, got, "04");
	FOUND("αθηνα", "москва");
	CHECK_STR(t, got, "04");
	FOUND("Αθήνα"); /* the accent is a letter of its own: not folded away */
	CHECK_STR(t, got, "");
	FOUND("wifi"); /* full-width letters as ASCII */
	CHECK_STR(t, got, "05");
	FOUND("wifi 信号"); /* a phrase matches whatever blank stands between its words */
	CHECK_STR(t, got, "05");
	FOUND("street\xe3\x80\x80light");
	CHECK_STR(t, got, "02 03");
	FOUND("ＷＩＦＩ", "100%_");
	CHECK_STR(t, got, "05");
	FOUND("%");
	CHECK_STR(t, got, "05");
	FOUND("_", "路灯"); /* LIKE's wildcards are characters like any other */
	CHECK_STR(t, got, "");
	FOUND("路灯", "不存在");
	CHECK_STR(t, got, "");
#undef FOUND
	/* no words: no filter */
	{
		const char *const none[] = {NULL};

		search_found(t, sec, none, got, sizeof(got));
		CHECK_STR(t, got, "01 02 03 04 05 06");
	}
	/* db_search keeps its words within its room, unchanged when one does not fit */
	memset(&s, 0, sizeof(s));
	CHECK_INT(t, db_search_add(&s, "", 0), 0);
	CHECK_INT(t, s.n, 0);
	{
		char big[DB_SEARCH_BYTES];

		memset(big, 'x', sizeof(big));
		CHECK_INT(t, db_search_add(&s, big, sizeof(big)), -1);
		CHECK_INT(t, db_search_add(&s, big, sizeof(big) - 1), 0);
		CHECK_INT(t, db_search_add(&s, "y", 1), -1);
		CHECK_INT(t, s.n, 1);
	}
}

/* The queue without a section, assignee or state filter reads one list of items_state_queue
 * per workflow state, merged (schema 030 dropped items_queue): every state is in it, in
 * (next_due, id) order across the states (ties in next_due by id), the open items only without
 * the three ended states, the due bound and the keyset cursor as on one index. Consultations
 * only (no other test stores one): 28 items, two in each state, due times shared by items of
 * other states, some without a running clock. */
static void
test_queue_all_states(struct t *t)
{
	int64_t ids[28], dues[28], order[28];
	struct db_queue_filter f;
	struct db_queue_row *rows = NULL;
	size_t n = 0, i, j, k, got;
	int ended;

	for (i = 0; i < 28; i++) {
		struct db_item it;
		char tracking[32];

		memset(&it, 0, sizeof(it));
		snprintf(tracking, sizeof(tracking), "XJ-20251005-%05zu", i + 1);
		it.tracking = tracking;
		it.kind = KIND_CONSULTATION;
		it.channel = CHANNEL_WEB;
		it.subject = (char *)"咨询";
		it.body = (char *)"咨询内容";
		it.state = (enum wf_state)(i % WF_STATE__MAX);
		it.resume_state = WF_NONE;
		it.extension = (char *)"none";
		it.received = it.created = it.updated = 1759000000;
		it.nclocks = 1;
		snprintf(it.clocks[0].name, sizeof(it.clocks[0].name), "reply");
		snprintf(it.clocks[0].unit, sizeof(it.clocks[0].unit), "working_days");
		it.clocks[0].started = 1759000000;
		it.clocks[0].days = 5;
		it.clocks[0].end_minutes = 1440;
		/* 0: no running clock (next_due DB_NO_DUE) */
		it.clocks[0].due = i % 9 == 4 ? 0 : 1760000000 + (int64_t)((i * 7) % 10) * 3600;
		CHECK_INT(t, db_item_insert(c, &it), 0);
		ids[i] = it.id;
		dues[i] = db_item_next_due(&it);
	}
	/* the expected order: (next_due, id) */
	for (i = 0; i < 28; i++)
		order[i] = (int64_t)i;
	for (i = 1; i < 28; i++)
		for (j = i; j > 0 && (dues[order[j - 1]] > dues[order[j]] ||
		                      (dues[order[j - 1]] == dues[order[j]] &&
		                       ids[order[j - 1]] > ids[order[j]]));
		     j--) {
			int64_t x = order[j];

			order[j] = order[j - 1];
			order[j - 1] = x;
		}
	for (ended = 0; ended < 2; ended++) {
		memset(&f, 0, sizeof(f));
		f.states = ended ? DB_STATES_ALL : DB_STATES_OPEN;
		f.by_kind = 1;
		f.kind = KIND_CONSULTATION;
		f.limit = DB_PAGE_MAX;
		CHECK_INT(t, db_queue_list(c, &f, &rows, &n), 0);
		for (i = k = 0; i < 28; i++) {
			enum wf_state st = (enum wf_state)(order[i] % WF_STATE__MAX);

			if (!ended && (st == WF_CLOSED || st == WF_REJECTED || st == WF_MERGED))
				continue;
			CHECK(t, k < n && rows[k].id == ids[order[i]]);
			k++;
		}
		CHECK_INT(t, (int)n, ended ? 28 : 22);
		db_queue_rows_free(rows, n);
	}
	/* page by page, three rows each, every state: the same rows in the same order */
	memset(&f, 0, sizeof(f));
	f.states = DB_STATES_ALL;
	f.by_kind = 1;
	f.kind = KIND_CONSULTATION;
	f.limit = 3;
	for (got = 0; got < 28;) {
		CHECK_INT(t, db_queue_list(c, &f, &rows, &n), 0);
		if (n == 0)
			break;
		for (i = 0; i < n && got + i < 28; i++)
			CHECK_INT(t, rows[i].id, ids[order[got + i]]);
		got += n;
		f.after_due = rows[n - 1].next_due;
		f.after_id = rows[n - 1].id;
		db_queue_rows_free(rows, n);
	}
	CHECK_INT(t, (int)got, 28);
	/* due before 1760000000 + 3 hours: the items due at +0, +1 and +2 hours */
	memset(&f, 0, sizeof(f));
	f.states = DB_STATES_ALL;
	f.by_kind = 1;
	f.kind = KIND_CONSULTATION;
	f.limit = DB_PAGE_MAX;
	f.due_before = 1760000000 + 3 * 3600;
	CHECK_INT(t, db_queue_list(c, &f, &rows, &n), 0);
	for (i = k = 0; i < 28; i++)
		k += dues[i] < f.due_before;
	CHECK_INT(t, (int)n, (int)k);
	CHECK(t, k > 3);
	for (i = 0; i < n; i++)
		CHECK(t, rows[i].next_due < f.due_before && rows[i].id == ids[order[i]]);
	db_queue_rows_free(rows, n);
}

static void
test_public_board(struct t *t)
{
	struct db_item it;
	struct db_public_row *rows = NULL, one;
	size_t n = 0;

	new_item("XJ-20250930-00020", "replied", 0, DB_NO_DUE, 1);
	CHECK_INT(t, db_public_list(c, NULL, 0, 0, 10, &rows, &n), 0);
	CHECK_INT(t, n, 0); /* not published yet */
	db_public_rows_free(rows, n);
	CHECK_INT(t, db_item_get(c, "XJ-20250930-00020", &it), 1);
	it.public_subject = strdup("路灯");
	it.public_body = strdup("学院路的路灯坏了");
	it.published = 1;
	it.replied_at = 1750100000;
	CHECK_INT(t, db_item_update(c, &it), 1);
	db_item_free(&it);
	CHECK_INT(t, db_public_list(c, NULL, 0, 0, 10, &rows, &n), 0);
	CHECK_INT(t, n, 1);
	db_public_rows_free(rows, n);
	CHECK_INT(t, db_public_get(c, "XJ-20250930-00020", &one), 1);
	CHECK_STR(t, one.subject, "路灯");
	db_public_row_free(&one);
	CHECK_INT(t, db_public_get(c, "XJ-20250930-00010", &one), 0);
}

static int user_freed;

static void
count_free(void *p)
{
	user_freed += p == (void *)&user_freed;
}

/* Open311's list in one statement (issue 20): the lists asked for, merged newest receipt
 * first, their rows read back with their texts lent; the same item gives the same bytes in any
 * list (what the cache of encoded records compares), and a change to what Open311 shows changes
 * them. A reader connection's user state is freed with it. */
static void
test_o311_rows(struct t *t)
{
	struct db_row rows[8], again[8];
	struct db_o311_query q;
	struct db_item it, view;
	int64_t a, b, x;
	size_t n = 0, m = 0, i;

	memset(rows, 0, sizeof(rows));
	memset(again, 0, sizeof(again));
	a = new_item("XJ-20250930-00101", "in_progress", 0, 1750500000, 1);
	b = new_item("XJ-20250930-00102", "replied", 0, DB_NO_DUE, 1);
	x = new_item("XJ-20250930-00103", "received", 0, 1750600000, 0); /* no consent */
	CHECK(t, a > 0 && b > 0 && x > 0);
	CHECK_INT(t, db_item_get(c, "XJ-20250930-00102", &it), 1);
	it.public_subject = strdup("路灯");
	it.public_reply = strdup("");
	it.published = 1;
	it.replied_at = 1750100000;
	it.received = 1750000100; /* the newest */
	CHECK_INT(t, db_item_update(c, &it), 1);
	db_item_free(&it);

	/* letters, open and closed, received from 1750000000 on */
	memset(&q, 0, sizeof(q));
	q.lists[KIND_LETTER][0] = q.lists[KIND_LETTER][1] = 1;
	q.from = 1750000000;
	q.to = INT64_MAX;
	q.limit = 8;
	CHECK_INT(t, db_o311_list(c, &q, rows, 8, &n), 0);
	CHECK(t, n >= 2);
	CHECK_INT(t, db_item_o311_view(&rows[0], &view), 0);
	CHECK(t, view.id == b); /* received last */
	CHECK_STR(t, view.tracking, "XJ-20250930-00102");
	CHECK_STR(t, view.public_subject, "路灯");
	CHECK_STR(t, view.public_reply, "");
	CHECK(t, view.public_body == NULL);
	CHECK_STR(t, view.body, "学院路的路灯坏了"); /* the original where no public version is */
	CHECK(t, view.reply == NULL && view.published == 1 && view.nclocks == 1);
	for (i = 0; i < n; i++) {
		CHECK_INT(t, db_item_o311_view(&rows[i], &view), 0);
		CHECK(t, view.id != x && view.publish == 1);
		if (i > 0) {
			struct db_item prev;

			CHECK_INT(t, db_item_o311_view(&rows[i - 1], &prev), 0);
			CHECK(t, prev.received > view.received ||
			             (prev.received == view.received && prev.id > view.id));
		}
		if (view.id == a) /* not published: no text read, not even the originals */
			CHECK(t, view.clocks[0].due == 1750500000 && view.state == WF_IN_PROGRESS &&
			             view.subject == NULL && view.body == NULL && view.name == NULL &&
			             view.section_name == NULL);
	}
	/* the open ones alone: a's row, the same bytes */
	q.lists[KIND_LETTER][1] = 0;
	CHECK_INT(t, db_o311_list(c, &q, again, 8, &m), 0);
	for (i = 0; i < m; i++) {
		CHECK_INT(t, db_item_o311_view(&again[i], &view), 0);
		CHECK(t, view.id != b);
	}
	CHECK_INT(t, db_item_o311_view(&again[0], &view), 0);
	for (i = 0; i < n; i++) {
		struct db_item v2;

		CHECK_INT(t, db_item_o311_view(&rows[i], &v2), 0);
		if (v2.id == view.id)
			CHECK(t, rows[i].len == again[0].len &&
			             memcmp(rows[i].p, again[0].p, rows[i].len) == 0);
	}
	/* a range with nothing, a list asked for none */
	q.from = q.to = 1;
	CHECK_INT(t, db_o311_list(c, &q, again, 8, &m), 0);
	CHECK_INT(t, (int)m, 0);
	/* withdrawn from publication: other bytes */
	CHECK_INT(t, db_item_get(c, "XJ-20250930-00102", &it), 1);
	it.published = 0;
	CHECK_INT(t, db_item_update(c, &it), 1);
	db_item_free(&it);
	q.lists[KIND_LETTER][1] = 1;
	q.from = 1750000000;
	q.to = INT64_MAX;
	CHECK_INT(t, db_o311_list(c, &q, again, 8, &m), 0);
	CHECK(t, m == n && again[0].len > 0);
	CHECK(t, again[0].len != rows[0].len || memcmp(again[0].p, rows[0].p, rows[0].len) != 0);
	for (i = 0; i < 8; i++) {
		db_row_free(&rows[i]);
		db_row_free(&again[i]);
	}
	/* a reader's state goes with it */
	{
		struct db_conn *r = db_reader_new(db, 1024);

		CHECK(t, r != NULL && db_conn_user(r) == NULL);
		CHECK_INT(t, db_conn_set_user(r, &user_freed, count_free), 0);
		CHECK_INT(t, db_conn_set_user(r, &user_freed, count_free), -1);
		CHECK(t, db_conn_user(r) == &user_freed);
		db_reader_free(r);
		CHECK_INT(t, user_freed, 1);
	}
}

/* The board's search through board_fts (schema 016) finds exactly the published items whose
 * public subject, body or reply holds the text (ASCII letters in any case, as LIKE), newest
 * reply first and page by page, for random texts and queries of one to four characters, while
 * texts are edited and items withdrawn and published again. */
static const char *const search_alphabet[] = {"小", "区", "路", "灯", "门", "口", "a", "B",
                                              " ", "%", "_", "号"};
#define SEARCH_ITEMS 60
#define SEARCH_CHARS 8

static uint64_t search_rng = 0x9e3779b97f4a7c15u;

static unsigned
search_next(unsigned n)
{
	search_rng ^= search_rng << 13;
	search_rng ^= search_rng >> 7;
	search_rng ^= search_rng << 17;
	return (unsigned)(search_rng % n);
}

/* A random text of up to max characters of the alphabet (a new string). */
static char *
search_text(int max)
{
	char buf[SEARCH_CHARS * 4 + 1] = "";
	int i, n = 1 + (int)search_next((unsigned)max);

	for (i = 0; i < n; i++)
		strcat(buf, search_alphabet[search_next(sizeof(search_alphabet) / sizeof(char *))]);
	return strdup(buf);
}

/* 1 if hay holds needle, ASCII letters compared in lower case. */
static int
search_holds(const char *hay, const char *needle)
{
	size_t i, j, n = strlen(needle);

	if (hay == NULL)
		return 0;
	for (i = 0; hay[i] != '\0'; i++) {
		for (j = 0; j < n && hay[i + j] != '\0'; j++) {
			char a = hay[i + j], b = needle[j];

			if (a >= 'A' && a <= 'Z')
				a = (char)(a - 'A' + 'a');
			if (b >= 'A' && b <= 'Z')
				b = (char)(b - 'A' + 'a');
			if (a != b)
				break;
		}
		if (j == n)
			return 1;
	}
	return 0;
}

static void
test_board_search(struct t *t)
{
	int64_t ids[SEARCH_ITEMS];
	char tracking[32];
	int round, i, bad = 0, found = 0;

	for (i = 0; i < SEARCH_ITEMS; i++) {
		snprintf(tracking, sizeof(tracking), "XJ-20251001-%05d", i + 1);
		ids[i] = new_item(tracking, "replied", 0, DB_NO_DUE, 1);
	}
	for (round = 0; round < 6 && bad < 3; round++) {
		int q;

		/* edit, withdraw or publish some items; replies at few distinct instants, so that
		 * pages break between items replied at the same second */
		for (i = 0; i < SEARCH_ITEMS; i++) {
			struct db_item it;

			if (round > 0 && search_next(3) != 0)
				continue;
			if (db_item_get_id(c, ids[i], &it) != 1) {
				bad++;
				continue;
			}
			free(it.public_subject);
			free(it.public_body);
			free(it.public_reply);
			it.public_subject = search_text(4);
			it.public_body = search_text(SEARCH_CHARS);
			it.public_reply = search_next(4) == 0 ? NULL : search_text(SEARCH_CHARS);
			it.published = search_next(5) != 0;
			it.publish = search_next(8) != 0;
			it.replied_at = 1750100000 + search_next(4);
			if (db_item_update(c, &it) != 1)
				bad++;
			db_item_free(&it);
		}
		for (q = 0; q < 40 && bad < 3; q++) {
			char *text = search_text(4);
			struct db_public_row *rows = NULL;
			int64_t before_replied = 0, before_id = 0, last_r = INT64_MAX, last_id = 0;
			size_t n = 0, k, got = 0, want = 0, want_period = 0, got_period = 0;
			struct db_public_filter pf;

			for (i = 0; i < SEARCH_ITEMS; i++) {
				struct db_item it;

				if (db_item_get_id(c, ids[i], &it) != 1)
					continue;
				if (it.published && it.publish &&
				    (search_holds(it.public_subject, text) ||
				     search_holds(it.public_body, text) ||
				     search_holds(it.public_reply, text))) {
					want++;
					/* the middle two of the four reply instants */
					want_period += it.replied_at >= 1750100001 &&
					               it.replied_at < 1750100003;
				}
				db_item_free(&it);
			}
			do { /* pages of 7 */
				if (db_public_list(c, text, before_replied, before_id, 7, &rows, &n) != 0) {
					bad++;
					break;
				}
				for (k = 0; k < n; k++) {
					if (!(search_holds(rows[k].subject, text) ||
					      search_holds(rows[k].body, text) ||
					      search_holds(rows[k].reply, text)) ||
					    rows[k].replied_at > last_r ||
					    (rows[k].replied_at == last_r && rows[k].id >= last_id)) {
						printf("# %s: row %s out of place\n", text, rows[k].tracking);
						bad++;
					}
					last_r = rows[k].replied_at;
					last_id = rows[k].id;
				}
				for (k = 0; k < n; k++) /* test_public_board's item aside */
					got += strncmp(rows[k].tracking, "XJ-20251001-", 12) == 0;
				if (n > 0) {
					before_replied = rows[n - 1].replied_at;
					before_id = rows[n - 1].id;
				}
				db_public_rows_free(rows, n);
			} while (n == 7);
			if (got != want) {
				printf("# search %s: %zu rows, want %zu\n", text, got, want);
				bad++;
			}
			/* within a period (the board by month) */
			memset(&pf, 0, sizeof(pf));
			pf.text = text;
			pf.from = 1750100001;
			pf.to = 1750100003;
			pf.limit = 100;
			if (db_public_find(c, &pf, &rows, &n) != 0) {
				bad++;
				n = 0;
			}
			for (k = 0; k < n; k++)
				got_period += strncmp(rows[k].tracking, "XJ-20251001-", 12) == 0 &&
				              rows[k].replied_at >= pf.from && rows[k].replied_at < pf.to;
			if (got_period != want_period || got_period != n) {
				printf("# search %s in a period: %zu rows, want %zu\n", text, n,
				       want_period);
				bad++;
			}
			db_public_rows_free(rows, n);
			found += got > 0;
			free(text);
		}
	}
	CHECK_INT(t, bad, 0);
	CHECK(t, found > 20); /* the queries did find rows */
}

/* CPU seconds of this thread that publishing item id with a public body of n characters takes
 * (its index rows written by the trigger), then withdrawn again; -1 on error. CPU time, not the
 * wall clock: the commit's fsync is in the call, and under a loaded disk (CI runs four suites at
 * once) one fsync took 200 ms and made 20,000 characters look 52 times as slow as 2,000. */
static double
publish_time(int64_t id, size_t n)
{
	struct db_item it;
	struct timespec a, b;
	char *body = malloc(n * 3 + 16);
	size_t i;
	int rc;

	if (body == NULL || db_item_get_id(c, id, &it) != 1) {
		free(body);
		return -1;
	}
	for (i = 0; i + 1 < n; i++)
		memcpy(body + i * 3, i % 7 == 0 ? "路" : "区", 3);
	strcpy(body + (n - 1) * 3, "灯");
	free(it.public_body);
	it.public_body = body;
	it.published = 1;
	it.publish = 1;
	it.replied_at = 1750200000;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
	rc = db_item_update(c, &it);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
	it.published = 0;
	if (rc != 1 || db_item_update(c, &it) != 1) {
		db_item_free(&it);
		return -1;
	}
	db_item_free(&it);
	return (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
}

/* The least of three publish_time()s: a preemption or a cache flushed by another process adds
 * to one run, never takes away. */
static double
best_publish_time(int64_t id, size_t n)
{
	double best = -1, t;
	int i;

	for (i = 0; i < 3; i++) {
		t = publish_time(id, n);
		if (t < 0)
			return -1;
		if (best < 0 || t < best)
			best = t;
	}
	return best;
}

/* Publishing a long text costs in proportion to its length (character positions in SQL cost
 * their offset each: 20,000 characters took 1.7 s, ten times 2,000 took a hundred times as
 * long), and its last word is found. */
static void
test_board_long_text(struct t *t)
{
	struct db_public_row *rows = NULL;
	int64_t id = new_item("XJ-20251002-00001", "replied", 0, DB_NO_DUE, 1);
	double small, large;
	struct db_item it;
	size_t n = 0;

	small = best_publish_time(id, 2000);
	large = best_publish_time(id, 20000);
	printf("# publishing 2,000 characters: %.1f ms of CPU, 20,000: %.1f ms\n", small * 1e3,
	       large * 1e3);
	CHECK(t, small > 0 && large > 0);
	CHECK(t, large < 40 * small + 0.05);
	/* published again: the word at the very end of 20,000 characters is found */
	CHECK_INT(t, db_item_get_id(c, id, &it), 1);
	it.published = 1;
	CHECK_INT(t, db_item_update(c, &it), 1);
	db_item_free(&it);
	CHECK_INT(t, db_public_list(c, "区区区灯", 0, 0, 10, &rows, &n), 0);
	CHECK(t, n == 1 && strcmp(rows[0].tracking, "XJ-20251002-00001") == 0);
	if (n != 1)
		printf("# %zu rows\n", n);
	db_public_rows_free(rows, n);
}

/* An item stored published already (bench/gen_items) is found by the board's search at once,
 * as one published later by an update (schema 027 moved the insert's part into db_item_insert);
 * one stored unpublished is not. */
static void
test_board_insert_published(struct t *t)
{
	static const char *const text = "路灯整夜不亮 streetlamp dark";
	static const char *const numbers[3] = {"XJ-20251102-00001", "XJ-20251102-00002",
	                                       "XJ-20251102-00003"};
	struct db_public_row *rows = NULL;
	struct db_item it;
	int64_t ids[3];
	size_t n = 0, i;
	int k, seen[3] = {0, 0, 0};

	for (k = 0; k < 3; k++) {
		memset(&it, 0, sizeof(it));
		it.tracking = (char *)numbers[k];
		it.kind = KIND_COMPLAINT;
		it.channel = CHANNEL_WEB;
		it.subject = it.public_subject = (char *)text;
		it.body = it.public_body = (char *)"清华东路的路灯 streetlamp 坏了";
		it.public_reply = (char *)"已修复 repaired";
		it.state = WF_REPLIED;
		it.resume_state = WF_NONE;
		it.extension = (char *)"none";
		it.publish = 1;
		it.published = k == 0; /* 0: published as stored; 1: later; 2: never */
		it.received = it.created = it.updated = 1760000000;
		it.replied_at = 1760100000;
		it.next_due = DB_NO_DUE;
		CHECK_INT(t, db_item_insert(c, &it), 0);
		ids[k] = it.id;
		if (k == 1) {
			it.published = 1;
			CHECK_INT(t, db_item_update(c, &it), 1);
		}
	}
	CHECK_INT(t, db_public_list(c, "streetlamp dark", 0, 0, DB_PAGE_MAX, &rows, &n), 0);
	for (i = 0; i < n; i++)
		for (k = 0; k < 3; k++)
			seen[k] += rows[i].id == ids[k];
	db_public_rows_free(rows, n);
	CHECK_INT(t, seen[0], 1);
	CHECK_INT(t, seen[1], 1);
	CHECK_INT(t, seen[2], 0);
	rows = NULL;
	CHECK_INT(t, db_public_list(c, "repaired", 0, 0, DB_PAGE_MAX, &rows, &n), 0);
	for (i = 0, seen[0] = 0; i < n; i++)
		seen[0] += rows[i].id == ids[0];
	db_public_rows_free(rows, n);
	CHECK_INT(t, seen[0], 1);
}

/* A new item gets the ladder's entry (0, 0, id) from db_item_insert, and a state that is not the
 * workflow's is refused with nothing stored (schema 027 moved both out of triggers). */
static void
test_item_insert_marks(struct t *t)
{
	static const char *const marks_sql =
	    "SELECT (SELECT count(*) FROM ladder WHERE next_at = 0 AND seq = 0 AND item_id = ?), "
	    "(SELECT count(*) FROM items WHERE tracking = 'XJ-20251103-00002')";
	char path[sizeof(dir) + 32];
	sqlite3 *h = NULL;
	sqlite3_stmt *st = NULL;
	int64_t id;
	struct db_item it;
	int marks = -1, items = -1;

	id = new_item("XJ-20251103-00001", "received", 0, 1760000000, 1);
	CHECK(t, id > 0);
	memset(&it, 0, sizeof(it));
	it.tracking = (char *)"XJ-20251103-00002";
	it.kind = KIND_LETTER;
	it.channel = CHANNEL_WEB;
	it.subject = it.body = (char *)"x";
	it.state = (enum wf_state)WF_STATE__MAX;
	it.resume_state = WF_NONE;
	it.received = it.created = it.updated = 1760000000;
	it.next_due = DB_NO_DUE;
	CHECK_INT(t, db_item_insert(c, &it), -1);
	it.state = WF_NONE;
	CHECK_INT(t, db_item_insert(c, &it), -1);
	snprintf(path, sizeof(path), "%s/test.db", dir);
	CHECK_INT(t, sqlite3_open_v2(path, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	if (sqlite3_prepare_v2(h, marks_sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_bind_int64(st, 1, id) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
		marks = sqlite3_column_int(st, 0);
		items = sqlite3_column_int(st, 1);
	}
	sqlite3_finalize(st);
	sqlite3_close(h);
	CHECK_INT(t, marks, 1);
	CHECK_INT(t, items, 0);
}

/* A new item fields as a web submission's (tracking in buf). */
static void
later_item(struct db_item *it, char buf[32], int n)
{
	memset(it, 0, sizeof(*it));
	snprintf(buf, 32, "XJ-20251106-%05d", n);
	it->tracking = buf;
	it->kind = KIND_COMPLAINT;
	it->channel = CHANNEL_WEB;
	it->subject = (char *)"井盖缺失";
	it->body = (char *)"学院路口的井盖不见了";
	it->name = (char *)"李四";
	it->email = (char *)"lisi@example.cn";
	it->address = (char *)"学院路 1 号";
	it->lat = (char *)"39.99";
	it->lng = (char *)"116.33";
	it->publish = 1;
	memset(it->query_hash, n, sizeof(it->query_hash));
	it->state = WF_RECEIVED;
	it->resume_state = WF_NONE;
	it->extension = (char *)"none";
	it->received = 1762000000;
	it->created = 1762000000 + n;
	it->nclocks = 1;
	snprintf(it->clocks[0].name, sizeof(it->clocks[0].name), "reply");
	it->clocks[0].due = 1762500000 + n;
	it->clocks_later = 1; /* as intake's: the clocks are the caller's */
}

/* New items left for db_items_flush (insert_later): each given the id it would have had,
 * written at the flush (one statement) with every column as written at once, ids in order
 * with one written at once between them; one that is not new (a section set) is written at
 * once; a COMMIT with one unwritten fails and stores none of the transaction; a tracking
 * number that exists fails the flush; outside a transaction the item is written at once. */
static void
test_items_later(struct t *t)
{
	struct db_item it[20], now, got;
	char tr[22][32];
	size_t i;
	int64_t first = 0;

	CHECK_INT(t, db_begin(c), 0);
	for (i = 0; i < 20; i++) {
		later_item(&it[i], tr[i], (int)i + 1);
		it[i].insert_later = 1;
		it[i].lang = (enum lang)(i % LANG__MAX); /* each language, and none (NULL) */
		CHECK_INT(t, db_item_insert(c, &it[i]), 0);
		if (i == 0)
			first = it[0].id;
		CHECK_INT(t, it[i].id, first + (int64_t)i + (i > 9));
		CHECK_INT(t, it[i].next_due, 1762500000 + (int64_t)i + 1);
		if (i == 9) { /* one written at once meanwhile: the id after the ones left */
			later_item(&now, tr[20], 21);
			now.lang = LANG_ZH_HANT;
			CHECK_INT(t, db_item_insert(c, &now), 0);
			CHECK_INT(t, now.id, first + 10);
			CHECK_INT(t, db_item_get(c, tr[20], &got), 1);
			CHECK_INT(t, got.lang, LANG_ZH_HANT);
			db_item_free(&got);
		}
	}
	CHECK_INT(t, db_item_get(c, tr[0], &got), 0); /* not written yet */
	/* not a new one's columns: written at once, after the ones left */
	later_item(&now, tr[21], 30);
	now.insert_later = 1;
	now.section_id = 1;
	CHECK_INT(t, db_item_insert(c, &now), 0);
	CHECK_INT(t, now.id, first + 21);
	CHECK_INT(t, db_item_get(c, tr[21], &got), 1);
	CHECK_INT(t, got.section_id, 1);
	db_item_free(&got);
	CHECK_INT(t, db_items_flush(c), 0);
	CHECK_INT(t, db_items_flush(c), 0); /* none left */
	CHECK_INT(t, db_commit(c), 0);
	for (i = 0; i < 20; i++) {
		CHECK_INT(t, db_item_get(c, tr[i], &got), 1);
		CHECK_INT(t, got.id, it[i].id);
		CHECK_INT(t, got.kind, KIND_COMPLAINT);
		CHECK_INT(t, got.channel, CHANNEL_WEB);
		CHECK_STR(t, got.subject, "井盖缺失");
		CHECK_STR(t, got.body, "学院路口的井盖不见了");
		CHECK_STR(t, got.name, "李四");
		CHECK(t, got.phone == NULL && got.draft == NULL && got.source_ref == NULL &&
		             got.section_id == 0 && got.replied_at == 0);
		CHECK_STR(t, got.address, "学院路 1 号");
		CHECK_STR(t, got.lat, "39.99");
		CHECK_STR(t, got.lng, "116.33");
		CHECK_STR(t, got.email, "lisi@example.cn");
		CHECK_INT(t, got.publish, 1);
		CHECK_INT(t, got.published, 0);
		CHECK(t, memcmp(got.query_hash, it[i].query_hash, sizeof(got.query_hash)) == 0);
		CHECK_INT(t, got.state, WF_RECEIVED);
		CHECK_INT(t, got.resume_state, WF_NONE);
		CHECK_STR(t, got.extension, "none");
		CHECK_INT(t, got.received, 1762000000);
		CHECK_INT(t, got.created, it[i].created);
		CHECK_INT(t, got.updated, it[i].created);
		CHECK_INT(t, got.next_due, it[i].next_due);
		CHECK_INT(t, got.lang, (int)(i % LANG__MAX));
		db_item_free(&got);
	}
	/* a COMMIT with an item left unwritten fails: nothing of the transaction is stored */
	CHECK_INT(t, db_begin(c), 0);
	later_item(&now, tr[21], 22);
	CHECK_INT(t, db_item_insert(c, &now), 0);
	later_item(&it[0], tr[0], 23);
	snprintf(tr[0], 32, "XJ-20251106-%05d", 23);
	it[0].insert_later = 1;
	CHECK_INT(t, db_item_insert(c, &it[0]), 0);
	CHECK_INT(t, db_commit(c), -1);
	CHECK_INT(t, db_item_get(c, tr[21], &got), 0);
	CHECK_INT(t, db_item_get(c, tr[0], &got), 0);
	/* a tracking number that exists: the flush says so (1), the caller rolls back */
	CHECK_INT(t, db_begin(c), 0);
	later_item(&it[0], tr[0], 1);
	it[0].insert_later = 1;
	CHECK_INT(t, db_item_insert(c, &it[0]), 0);
	CHECK_INT(t, db_items_flush(c), 1);
	db_rollback(c);
	/* outside a transaction: written at once */
	later_item(&it[0], tr[0], 24);
	it[0].insert_later = 1;
	CHECK_INT(t, db_item_insert(c, &it[0]), 0);
	CHECK_INT(t, db_item_get(c, tr[0], &got), 1);
	CHECK_INT(t, got.id, it[0].id);
	db_item_free(&got);
}

/* The batch writers of the group-commit writer (db_items_clocks_add, db_facts_put,
 * db_history_add_many) store what the one-row writers store, in every column: clocks fresh and
 * paused, stopped or resumed; facts new and ended. */
static void
test_batch_writers(struct t *t)
{
	struct db_item it[2], got;
	const struct db_item *v[2] = {&it[0], &it[1]};
	struct db_fact f[2], back;
	struct db_history h[2], *hist = NULL;
	const struct db_history *hv[2] = {&h[0], &h[1]};
	int64_t ids[2];
	size_t i, j, nh = 0;

	memset(it, 0, sizeof(it));
	for (i = 0; i < 2; i++) {
		char tracking[32];

		snprintf(tracking, sizeof(tracking), "XJ-20251104-%05zu", i + 1);
		it[i].tracking = strdup(tracking);
		it[i].kind = KIND_COMPLAINT;
		it[i].channel = CHANNEL_WEB;
		it[i].subject = it[i].body = (char *)"x";
		it[i].state = WF_RECEIVED;
		it[i].resume_state = WF_NONE;
		it[i].received = it[i].created = it[i].updated = 1760000000;
		it[i].clocks_later = 1;
		it[i].nclocks = 2;
		snprintf(it[i].clocks[0].name, sizeof(it[i].clocks[0].name), "forward");
		snprintf(it[i].clocks[1].name, sizeof(it[i].clocks[1].name), "reply");
		for (j = 0; j < 2; j++) {
			it[i].clocks[j].started = 1760000000;
			it[i].clocks[j].days = j ? 5 : 3;
			it[i].clocks[j].due = 1760000000 + (int64_t)(j + 1) * 86400;
		}
		CHECK_INT(t, db_item_insert(c, &it[i]), 0);
	}
	/* the second item's clocks: paused (remaining kept), stopped with a result, resumed */
	it[1].clocks[0].stopped_at = 1760003600;
	snprintf(it[1].clocks[0].result, sizeof(it[1].clocks[0].result), "on_time");
	it[1].clocks[0].provisional = 1;
	snprintf(it[1].clocks[0].unit, sizeof(it[1].clocks[0].unit), "calendar_days");
	it[1].clocks[0].end_minutes = 1020;
	it[1].clocks[1].paused_at = 1760007200;
	it[1].clocks[1].due = 0;
	it[1].clocks[1].remaining = 4;
	it[1].clocks[1].resumed_at = 1760001000;
	/* fresh clocks alone, then the others */
	CHECK_INT(t, db_items_clocks_add(c, v, 1), 0);
	CHECK_INT(t, db_items_clocks_add(c, v + 1, 1), 0);
	for (i = 0; i < 2; i++) {
		CHECK_INT(t, db_item_get_id(c, it[i].id, &got), 1);
		CHECK_INT(t, got.nclocks, 2);
		for (j = 0; j < got.nclocks && j < 2; j++) {
			const struct db_clock *a = &it[i].clocks[j], *b = &got.clocks[j];

			CHECK_STR(t, b->name, a->name);
			CHECK_INT(t, b->started, a->started);
			CHECK_INT(t, b->days, a->days);
			CHECK_STR(t, b->unit, a->unit[0] ? a->unit : "working_days");
			CHECK_INT(t, b->end_minutes, a->end_minutes > 0 ? a->end_minutes : 1440);
			CHECK_INT(t, b->due, a->due);
			CHECK_INT(t, b->paused_at, a->paused_at);
			CHECK_INT(t, b->remaining, a->paused_at || a->resumed_at ? a->remaining : 0);
			CHECK_INT(t, b->stopped_at, a->stopped_at);
			CHECK_INT(t, b->provisional, a->provisional);
			CHECK_STR(t, b->result, a->result);
			CHECK_INT(t, b->resumed_at, a->resumed_at);
		}
		db_item_free(&got);
	}
	/* facts: a new one and an ended one, in one statement */
	memset(f, 0, sizeof(f));
	for (i = 0; i < 2; i++) {
		f[i].item_id = it[i].id;
		f[i].received = 1760000000;
		f[i].reply_due = 1760172800;
		f[i].reply_wd = -1;
	}
	f[1].section_id = 3;
	f[1].accepted = 1760000100;
	f[1].first_end = f[1].ended = 1760000200;
	snprintf(f[1].outcome, sizeof(f[1].outcome), "replied");
	f[1].replied_at = 1760000200;
	snprintf(f[1].reply_result, sizeof(f[1].reply_result), "late");
	f[1].reply_wd = 0;
	f[1].supervised = 1760000150;
	f[1].first_due = 1760000190;
	CHECK_INT(t, db_facts_put(c, f, 2), 0);
	CHECK_INT(t, db_facts_put(c, f, 1), 0); /* again: the same row (an UPSERT) */
	for (i = 0; i < 2; i++) {
		CHECK_INT(t, db_fact_get(c, it[i].id, &back), 1);
		CHECK(t, back.item_id == f[i].item_id && back.section_id == f[i].section_id &&
		             back.received == f[i].received && back.accepted == f[i].accepted &&
		             back.first_end == f[i].first_end && back.reopened == f[i].reopened &&
		             back.ended == f[i].ended && strcmp(back.outcome, f[i].outcome) == 0 &&
		             back.replied_at == f[i].replied_at &&
		             strcmp(back.reply_result, f[i].reply_result) == 0 &&
		             back.reply_wd == f[i].reply_wd && back.reply_due == f[i].reply_due &&
		             back.supervised == f[i].supervised && back.first_due == f[i].first_due);
	}
	/* history: rows in the order given, each as db_history_add stores it */
	memset(h, 0, sizeof(h));
	h[0].at = 1760000000;
	h[0].actor = (char *)"citizen";
	h[0].action = (char *)"submit";
	h[0].to_state = (char *)"received";
	h[0].citizen = 1;
	h[1].at = 1760000001;
	h[1].actor = (char *)"system";
	h[1].action = (char *)"clock";
	h[1].from_state = (char *)"received";
	h[1].to_state = (char *)"received";
	h[1].note = (char *)"due moved";
	h[1].clock = (char *)"reply";
	h[1].due = 1760300000;
	ids[0] = ids[1] = it[0].id;
	CHECK_INT(t, db_history_add_many(c, ids, hv, 2), 0);
	CHECK_INT(t, db_history_list(c, it[0].id, 0, &hist, &nh), 0);
	CHECK_INT(t, nh, 2);
	if (nh == 2) {
		CHECK_STR(t, hist[0].action, "submit");
		CHECK(t, hist[0].from_state == NULL && hist[0].note == NULL && hist[0].clock == NULL);
		CHECK_INT(t, hist[0].citizen, 1);
		CHECK_INT(t, hist[0].due, 0);
		CHECK_STR(t, hist[1].action, "clock");
		CHECK_STR(t, hist[1].from_state, "received");
		CHECK_STR(t, hist[1].note, "due moved");
		CHECK(t, hist[1].clock != NULL && strcmp(hist[1].clock, "reply") == 0);
		CHECK_INT(t, hist[1].due, 1760300000);
		CHECK(t, hist[0].id < hist[1].id);
	}
	db_history_free(hist, nh);
	for (i = 0; i < 2; i++)
		free(it[i].tracking);
}

static void
test_sessions_and_audit(struct t *t)
{
	struct db_account a, got;
	struct db_session s, out;
	struct db_audit row, *rows = NULL;
	struct db_audit_filter f;
	int64_t id = 0;
	size_t n = 0;

	memset(&a, 0, sizeof(a));
	a.username = (char *)"handler9";
	a.role = ROLE_HANDLER;
	a.status = (char *)"active";
	a.password_hash = (char *)"$argon2id$x";
	a.created = a.password_changed = 1750000000;
	CHECK_INT(t, db_account_add(c, &a, &id), 0);
	CHECK_INT(t, db_account_add(c, &a, NULL), 1);
	CHECK_INT(t, db_account_by_name(c, "handler9", &got), 1);
	CHECK_STR(t, role_name(got.role), "handler");
	db_account_free(&got);

	memset(&s, 0, sizeof(s));
	memset(s.token_hash, 7, sizeof(s.token_hash));
	s.account_id = id;
	s.csrf_token = (char *)"csrf";
	s.created = s.last_seen = 1750000000;
	CHECK_INT(t, db_session_add(c, &s), 0);
	CHECK_INT(t, db_session_get(c, s.token_hash, &out), 1);
	CHECK_STR(t, out.csrf_token, "csrf");
	db_session_free(&out);
	CHECK_INT(t, db_session_delete_account(c, id), 0);
	CHECK_INT(t, db_session_get(c, s.token_hash, &out), 0);

	memset(&row, 0, sizeof(row));
	row.at = 1750000000;
	row.actor = (char *)"admin";
	row.action = (char *)"user_add";
	row.target = (char *)"handler9";
	row.ok = 1;
	CHECK_INT(t, db_audit_add(c, &row, NULL), 0);
	memset(&f, 0, sizeof(f));
	f.target = "handler9";
	CHECK_INT(t, db_audit_list(c, &f, &rows, &n), 0);
	CHECK_INT(t, n, 1);
	db_audits_free(rows, n);
}

static void
test_policies(struct t *t)
{
	struct db_policy p, *rows = NULL;
	size_t n = 0;

	memset(&p, 0, sizeof(p));
	p.kind = KIND_LETTER;
	p.key = (char *)"reply_days";
	p.value = (char *)"7";
	p.updated_at = 1750000000;
	CHECK_INT(t, db_policy_set(c, &p), 0);
	p.value = (char *)"8";
	CHECK_INT(t, db_policy_set(c, &p), 0); /* replaces */
	CHECK_INT(t, db_policy_list(c, &rows, &n), 0);
	CHECK_INT(t, n, 1);
	if (n == 1)
		CHECK_STR(t, rows[0].value, "8");
	db_policies_free(rows, n);
	CHECK_INT(t, db_policy_delete(c, KIND_LETTER, "reply_days"), 1);
	CHECK_INT(t, db_policy_delete(c, KIND_LETTER, "reply_days"), 0);
}

/* A migration whose number lies below the newest applied (numbers are reserved per branch of
 * work and land out of order) is applied all the same at the next open. */
static void
test_migration_gap(struct t *t)
{
	char path[sizeof(dir) + 32], err[256];
	struct db *d2 = NULL;
	sqlite3 *h = NULL;
	sqlite3_stmt *st = NULL;
	int created = 1, n = -1;

	snprintf(path, sizeof(path), "%s/gap.db", dir);
	CHECK_INT(t, db_open(path, &d2, &created, err, sizeof(err)), 0);
	db_close(d2);
	d2 = NULL;
	CHECK_INT(t, sqlite3_open(path, &h), SQLITE_OK);
	CHECK_INT(t, sqlite3_exec(h, "DELETE FROM schema_migrations WHERE number = 3; "
	                             "DROP TRIGGER IF EXISTS items_state_insert; "
	                             "DROP TRIGGER items_state_update;",
	                          NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);
	CHECK_INT(t, db_open(path, &d2, &created, err, sizeof(err)), 0);
	CHECK_INT(t, created, 0);
	CHECK_INT(t, db_schema_version(d2), db_schema_latest());
	db_close(d2);
	CHECK_INT(t, sqlite3_open(path, &h), SQLITE_OK);
	if (sqlite3_prepare_v2(h, "SELECT count(*) FROM sqlite_master WHERE name IN ("
	                          "'items_state_insert', 'items_state_update', 'schema_migrations')",
	                       -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(h);
	CHECK_INT(t, n, 3); /* both triggers are back, and the record */
}

int
main(void)
{
	struct t t = {0, 0, 0};
	char path[sizeof(dir) + 32], err[256];
	int created = 0;

	if (mkdtemp(dir) == NULL) {
		printf("not ok 1 - setup: mkdtemp\n");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/test.db", dir);
	if (db_open(path, &db, &created, err, sizeof(err)) != 0 || !created) {
		printf("not ok 1 - setup: %s\n", err);
		return 1;
	}
	c = db_acquire(db);
	if (c == NULL) {
		printf("not ok 1 - setup: %s\n", err);
		return 1;
	}
	RUN(&t, test_open_and_schema);
	RUN(&t, test_sections);
	RUN(&t, test_items_and_history);
	RUN(&t, test_queue_order);
	RUN(&t, test_queue_all_states);
	RUN(&t, test_fold_table);
	RUN(&t, test_fold_texts);
	RUN(&t, test_queue_search);
	RUN(&t, test_public_board);
	RUN(&t, test_o311_rows);
	RUN(&t, test_board_search);
	RUN(&t, test_board_long_text);
	RUN(&t, test_board_insert_published);
	RUN(&t, test_item_insert_marks);
	RUN(&t, test_batch_writers);
	RUN(&t, test_items_later);
	RUN(&t, test_sessions_and_audit);
	RUN(&t, test_policies);
	RUN(&t, test_migration_gap);
	db_release(db, c);
	db_close(db);
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	if (system(path) != 0)
		printf("# could not remove %s\n", dir);
	return t_done(&t);
}
