/*
 * test_core.c: the domain core without any HTTP: core_submit and core_act on a real database in a
 * temporary folder — what they store, the transaction they share with the notification hook
 * (a failing hook takes the whole change back), the errors they answer (field, conflict with
 * the allowed actions, forbidden), and the audit rows of refused attempts. Run from the
 * repository root.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "notifiers/notifiers.h"
#include "service/core/core.h"
#include "tests/check.h"

static struct app app;
static char dir[] = "/tmp/civicdesk-core-XXXXXX";

/* What the notification hook saw; fail makes it refuse. */
struct hook_log {
	int calls;
	int submitted, actions;
	int last_action;
	char tracking[32];
	char from[32], to[32];
	int fail;
	int in_txn_rows; /* history rows of the item visible inside the transaction */
};

static int
hook(void *cls, struct db_conn *c, const struct core_event *ev)
{
	struct hook_log *h = cls;
	struct db_history *rows = NULL;
	size_t n = 0;

	h->calls++;
	if (ev->kind == CORE_EV_SUBMITTED)
		h->submitted++;
	else
		h->actions++;
	h->last_action = ev->action;
	snprintf(h->tracking, sizeof(h->tracking), "%s", ev->item->tracking);
	snprintf(h->from, sizeof(h->from), "%s", ev->from_state ? ev->from_state : "");
	snprintf(h->to, sizeof(h->to), "%s", wf_state_name(ev->item->state));
	/* the hook runs on the change's own connection, inside its transaction */
	if (db_history_list(c, ev->item->id, 0, &rows, &n) == 0)
		h->in_txn_rows = (int)n;
	db_history_free(rows, n);
	return h->fail ? -1 : 0;
}

static void
letter(struct intake *in)
{
	memset(in, 0, sizeof(*in));
	in->kind = "letter";
	in->subject = "路灯不亮";
	in->body = "学院路的路灯已经坏了两周。";
	in->name = "张三";
	in->phone = "13812345678";
	in->publish = 1;
	in->channel = CHANNEL_WEB;
	in->received = app_now(&app);
}

/* A session for demo account name. */
static struct session
staff(const char *name)
{
	struct session s;
	struct db_account a;
	struct db_conn *c = db_acquire(app.db);

	memset(&s, 0, sizeof(s));
	if (c != NULL && db_account_by_name(c, name, &a) == 1) {
		s.account_id = a.id;
		s.username = strdup(a.username);
		s.role = a.role;
		s.section_id = a.section_id;
		db_account_free(&a);
	}
	db_release(app.db, c);
	return s;
}

static int
submit(struct t *t, char tracking[32])
{
	struct intake in;
	struct db_item item;
	struct core_error err;
	char code[QUERY_CODE_LEN + 1];

	letter(&in);
	memset(&item, 0, sizeof(item));
	if (core_submit(&app, &in, app_now(&app), &item, code, &err) != 0) {
		CHECK(t, 0);
		printf("# core_submit: %s\n", err.message);
		return -1;
	}
	snprintf(tracking, 32, "%s", item.tracking);
	db_item_free(&item);
	return 0;
}

static void
test_submit_stores_and_notifies(struct t *t)
{
	struct hook_log log;
	struct intake in;
	struct db_item item, got;
	struct core_error err;
	char code[QUERY_CODE_LEN + 1];
	struct db_conn *c;

	memset(&log, 0, sizeof(log));
	app.notify.cls = &log;
	app.notify.on_event = hook;
	letter(&in);
	memset(&item, 0, sizeof(item));
	CHECK_INT(t, core_submit(&app, &in, app_now(&app), &item, code, &err), 0);
	CHECK(t, item.tracking != NULL && strncmp(item.tracking, "XJ-", 3) == 0);
	CHECK_INT(t, strlen(code), QUERY_CODE_LEN);
	CHECK_INT(t, item.nclocks, 2);
	CHECK_INT(t, log.submitted, 1);
	CHECK_INT(t, log.last_action, -1);
	CHECK_STR(t, log.tracking, item.tracking);
	CHECK_INT(t, log.in_txn_rows, 1); /* the "submit" row is there before the hook runs */
	c = db_acquire(app.db);
	CHECK_INT(t, db_item_get(c, item.tracking, &got), 1);
	CHECK_STR(t, wf_state_name(got.state), "received");
	CHECK(t, query_code_verify(code, got.query_hash));
	db_item_free(&got);
	db_release(app.db, c);
	db_item_free(&item);

	/* a hook that fails takes the submission back: nothing stored */
	log.fail = 1;
	letter(&in);
	memset(&item, 0, sizeof(item));
	CHECK_INT(t, core_submit(&app, &in, app_now(&app), &item, code, &err), -1);
	CHECK_INT(t, err.code, CORE_BUSY);
	CHECK_INT(t, log.submitted, 2);
	c = db_acquire(app.db);
	CHECK_INT(t, db_item_get(c, log.tracking, &got), 0);
	db_release(app.db, c);
	db_item_free(&item);
	app.notify.on_event = NULL;
}

/* core_submit_start's done: the writer has answered. */
struct started {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int done;
};

static void
started_done(void *cls)
{
	struct started *st = cls;

	pthread_mutex_lock(&st->lock);
	st->done = 1;
	pthread_cond_signal(&st->cond);
	pthread_mutex_unlock(&st->lock);
}

/* core_submit_start, waited for (at most 60 s: only against a hang, the writer's commit on a
 * loaded disk may take seconds), then core_submit_finish: its result. */
static int
submit_started(const struct intake *in, struct db_item *item, char code[QUERY_CODE_LEN + 1],
               struct core_error *err)
{
	struct started st = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
	struct core_submission *sub = NULL;
	struct scan_report scan;
	struct timespec until;

	if (core_submit_start(&app, in, app_now(&app), started_done, &st, &sub, err) != 0)
		return -2;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 60;
	pthread_mutex_lock(&st.lock);
	while (!st.done && pthread_cond_timedwait(&st.cond, &st.lock, &until) == 0)
		;
	pthread_mutex_unlock(&st.lock);
	if (!st.done)
		return -3; /* sub is the writer's still: leaked, the test fails */
	return core_submit_finish(sub, item, code, &scan, err);
}

/* The I/O threads' way (core_submit_start, then core_submit_finish): the item stored has the
 * intake's texts, which it was lent, not copies (issue 20): the answer's item has none, and
 * nothing lent is freed (ASan) when it is stored, or when the hook refuses it. */
static void
test_submit_start_lends_texts(struct t *t)
{
	struct hook_log log;
	struct intake in;
	struct db_item item, got;
	struct core_error err;
	char code[QUERY_CODE_LEN + 1];
	char *subject = strdup("井盖松动"), *body = strdup("人民路口的井盖一踩就响。\n请修一下。");
	char *name = strdup("李四"), *email = strdup("lisi@example.cn");
	struct db_conn *c;

	memset(&log, 0, sizeof(log));
	app.notify.cls = &log;
	app.notify.on_event = hook;
	letter(&in);
	in.subject = subject;
	in.body = body;
	in.name = name;
	in.email = email;
	in.phone = ""; /* absent */
	memset(&item, 0, sizeof(item));
	CHECK_INT(t, submit_started(&in, &item, code, &err), 0);
	CHECK(t, item.tracking != NULL && strncmp(item.tracking, "XJ-", 3) == 0);
	CHECK_INT(t, strlen(code), QUERY_CODE_LEN);
	CHECK_INT(t, item.nclocks, 2);
	CHECK(t, item.subject == NULL && item.body == NULL && item.name == NULL &&
	             item.email == NULL && item.phone == NULL && item.extension == NULL);
	CHECK_INT(t, log.submitted, 1);
	c = db_acquire(app.db);
	CHECK_INT(t, db_item_get(c, item.tracking != NULL ? item.tracking : "-", &got), 1);
	CHECK_STR(t, got.subject, "井盖松动");
	CHECK_STR(t, got.body, "人民路口的井盖一踩就响。\n请修一下。");
	CHECK_STR(t, got.name, "李四");
	CHECK_STR(t, got.email, "lisi@example.cn");
	CHECK(t, got.phone == NULL || got.phone[0] == '\0');
	CHECK_STR(t, got.extension, "none");
	CHECK(t, query_code_verify(code, got.query_hash));
	db_item_free(&got);
	db_release(app.db, c);
	db_item_free(&item);

	/* refused by the hook: nothing stored, nothing lent freed */
	log.fail = 1;
	memset(&item, 0, sizeof(item));
	CHECK_INT(t, submit_started(&in, &item, code, &err), -1);
	CHECK_INT(t, err.code, CORE_BUSY);
	CHECK_INT(t, log.submitted, 2);
	c = db_acquire(app.db);
	CHECK_INT(t, db_item_get(c, log.tracking, &got), 0);
	db_release(app.db, c);
	db_item_free(&item);
	CHECK_STR(t, subject, "井盖松动"); /* still the caller's */
	app.notify.on_event = NULL;
	free(subject);
	free(body);
	free(name);
	free(email);
}

static void
test_submit_refuses_bad_input(struct t *t)
{
	struct intake in;
	struct db_item item;
	struct core_error err;
	char code[QUERY_CODE_LEN + 1];

	letter(&in);
	in.kind = "petition";
	memset(&item, 0, sizeof(item));
	CHECK_INT(t, core_submit(&app, &in, app_now(&app), &item, code, &err), -1);
	CHECK_INT(t, err.code, CORE_INVALID);
	CHECK_STR(t, err.field, "kind");
	letter(&in);
	in.phone = "12345";
	CHECK_INT(t, core_submit(&app, &in, app_now(&app), &item, code, &err), -1);
	CHECK_STR(t, err.field, "phone");
	letter(&in);
	in.subject = "\x01";
	CHECK_INT(t, core_submit_check(&in, &err), -1);
	CHECK_STR(t, err.field, "subject");
	CHECK_STR(t, core_strerror(CORE_CONFLICT), "illegal_transition");
}

static void
test_act_assign_accept(struct t *t)
{
	struct session disp = staff("dispatcher1"), h1 = staff("handler1");
	struct core_action_input in;
	struct core_error err;
	struct hook_log log;
	struct db_item item;
	struct db_history *rows = NULL;
	size_t n = 0;
	char tracking[32];
	struct db_conn *c = db_acquire(app.db);

	if (submit(t, tracking) != 0)
		goto out;
	memset(&log, 0, sizeof(log));
	app.notify.cls = &log;
	app.notify.on_event = hook;
	memset(&in, 0, sizeof(in));
	in.section = "法规处";
	CHECK_INT(t, core_act(&app, c, &disp, "127.0.0.1", tracking, WF_ASSIGN, &in,
	                      app_now(&app), &err), 0);
	CHECK_INT(t, log.actions, 1);
	CHECK_INT(t, log.last_action, WF_ASSIGN);
	CHECK_STR(t, log.from, "received");
	CHECK_STR(t, log.to, "assigned");
	CHECK_INT(t, log.in_txn_rows, 2);
	memset(&in, 0, sizeof(in));
	CHECK_INT(t, core_act(&app, c, &h1, NULL, tracking, WF_ACCEPT, &in, app_now(&app), &err),
	          0);
	CHECK_INT(t, db_item_get(c, tracking, &item), 1);
	CHECK_STR(t, wf_state_name(item.state), "in_progress");
	CHECK_INT(t, item.assignee_id, h1.account_id);
	CHECK(t, clock_find(&item, CLOCK_FORWARD)->stopped_at != 0);
	CHECK_INT(t, db_history_list(c, item.id, 0, &rows, &n), 0);
	CHECK_INT(t, n, 3);
	if (n == 3) {
		CHECK_STR(t, rows[1].action, "assign");
		CHECK_STR(t, rows[2].action, "accept");
		CHECK_STR(t, rows[2].actor, "handler1");
	}
	db_history_free(rows, n);
	db_item_free(&item);
out:
	app.notify.on_event = NULL;
	free(disp.username);
	free(h1.username);
	db_release(app.db, c);
}

static void
test_act_errors(struct t *t)
{
	struct session disp = staff("dispatcher1"), h1 = staff("handler1"), head = staff("head1");
	struct core_action_input in;
	struct core_error err;
	struct db_audit_filter f;
	struct db_audit *rows = NULL;
	size_t n = 0;
	char tracking[32];
	struct db_conn *c = db_acquire(app.db);

	if (submit(t, tracking) != 0)
		goto out;
	memset(&in, 0, sizeof(in));
	/* unknown item */
	CHECK_INT(t, core_act(&app, c, &disp, NULL, "XJ-20000101-00001", WF_ASSIGN, &in,
	                      app_now(&app), &err), -1);
	CHECK_INT(t, err.code, CORE_NOT_FOUND);
	/* a missing input names its field */
	CHECK_INT(t, core_act(&app, c, &disp, NULL, tracking, WF_ASSIGN, &in, app_now(&app), &err),
	          -1);
	CHECK_INT(t, err.code, CORE_INVALID);
	CHECK_STR(t, err.field, "section");
	/* a state that does not allow it: the allowed actions of the role come along */
	in.text = "答复";
	CHECK_INT(t, core_act(&app, c, &disp, NULL, tracking, WF_SEND_REPLY, &in, app_now(&app),
	                      &err), -1);
	CHECK(t, err.code == CORE_FORBIDDEN || err.code == CORE_CONFLICT);
	memset(&in, 0, sizeof(in));
	CHECK_INT(t, core_act(&app, c, &head, NULL, tracking, WF_APPROVE, &in, app_now(&app),
	                      &err), -1);
	CHECK_INT(t, err.code, CORE_FORBIDDEN); /* not yet in the head's section */
	CHECK_INT(t, core_act(&app, c, &disp, NULL, tracking, WF_CLOSE, &in, app_now(&app), &err),
	          -1);
	CHECK_INT(t, err.code, CORE_CONFLICT);
	CHECK_INT(t, err.state, WF_RECEIVED);
	CHECK(t, (err.allowed & (1ul << WF_CLOSE)) == 0);
	CHECK(t, (err.allowed & (1ul << WF_ASSIGN)) != 0);
	/* a handler may not assign */
	in.section = "法规处";
	CHECK_INT(t, core_act(&app, c, &h1, NULL, tracking, WF_ASSIGN, &in, app_now(&app), &err),
	          -1);
	CHECK_INT(t, err.code, CORE_FORBIDDEN);
	/* refused attempts are audited with ok = 0 */
	memset(&f, 0, sizeof(f));
	f.target = tracking;
	f.limit = 10;
	CHECK_INT(t, db_audit_list(c, &f, &rows, &n), 0);
	CHECK(t, n >= 2);
	if (n >= 1)
		CHECK_INT(t, rows[0].ok, 0);
	db_audits_free(rows, n);
out:
	free(disp.username);
	free(h1.username);
	free(head.username);
	db_release(app.db, c);
}

static void
test_act_hook_failure_rolls_back(struct t *t)
{
	struct session disp = staff("dispatcher1");
	struct core_action_input in;
	struct core_error err;
	struct hook_log log;
	struct db_item item;
	struct db_history *rows = NULL;
	size_t n = 0;
	char tracking[32];
	struct db_conn *c = db_acquire(app.db);

	if (submit(t, tracking) != 0)
		goto out;
	memset(&log, 0, sizeof(log));
	log.fail = 1;
	app.notify.cls = &log;
	app.notify.on_event = hook;
	memset(&in, 0, sizeof(in));
	in.section = "法规处";
	CHECK_INT(t, core_act(&app, c, &disp, NULL, tracking, WF_ASSIGN, &in, app_now(&app), &err),
	          -1);
	CHECK_INT(t, err.code, CORE_ERROR);
	CHECK_INT(t, log.actions, 1);
	CHECK_INT(t, db_item_get(c, tracking, &item), 1);
	CHECK_STR(t, wf_state_name(item.state), "received");
	CHECK_INT(t, item.section_id, 0);
	CHECK_INT(t, db_history_list(c, item.id, 0, &rows, &n), 0);
	CHECK_INT(t, n, 1);
	db_history_free(rows, n);
	db_item_free(&item);
out:
	app.notify.on_event = NULL;
	free(disp.username);
	db_release(app.db, c);
}

static void
test_public_edit_needs_reply(struct t *t)
{
	struct session admin = staff("admin");
	struct core_public_text none = {0, NULL}, subject = {1, "路灯"};
	struct core_error err;
	char tracking[32];
	struct db_conn *c = db_acquire(app.db);

	if (submit(t, tracking) != 0)
		goto out;
	CHECK_INT(t, core_public_edit(&app, c, &admin, NULL, tracking, &none, &none, &none, 1,
	                              app_now(&app), &err), -1);
	CHECK_INT(t, err.code, CORE_CONFLICT);
	CHECK_STR(t, err.code_name, "not_replied");
	CHECK_INT(t, core_public_edit(&app, c, &admin, NULL, tracking, &subject, &none, &none, -1,
	                              app_now(&app), &err), 0);
out:
	free(admin.username);
	db_release(app.db, c);
}

/* #14 point 10: a running clock counted again on a new calendar (clock_recalc). Received Mon
 * 2026-12-28 10:00 on the built-in calendar (ends 2026-12-31: 2027 on the base week); the new one
 * adds a 2027 file with 6 and 7 Jan off and Saturday 9 Jan worked. */
static void
test_clock_recalc(struct t *t)
{
	static const char cal2027[] = "2027-01-06 off 测试\n2027-01-07 off 测试\n"
	                              "2027-01-09 work 测试\n";
	struct sla_rule r5 = {SLA_WORKING_DAYS, 5, 1440}, r15 = {SLA_WORKING_DAYS, 15, 1440};
	struct sla_calendar *old = NULL, *cal = NULL;
	struct sla_file *f = NULL;
	const char *names[16], *texts[16];
	struct db_clock k;
	struct db_item item;
	int64_t at, now;
	size_t n = 0, i;
	char err[256];

	memset(&item, 0, sizeof(item));
	CHECK(t, sla_calendar_builtin(&old, err, sizeof(err)) == 0);
	CHECK(t, sla_files_read(NULL, &f, &n, err, sizeof(err)) == 0 && n < 15);
	if (old == NULL || f == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		names[i] = f[i].name;
		texts[i] = f[i].text;
	}
	names[n] = "2027.txt";
	texts[n] = cal2027;
	CHECK(t, sla_calendar_parse(names, texts, n + 1, &cal, err, sizeof(err)) == 0);
	if (cal == NULL)
		goto out;
	CHECK(t, sla_parse_local("2026-12-28T10:00", &at) == 0);
	now = at + 3600;

	/* 15 WD: 18 Jan on the base week, 19 Jan on the new calendar */
	k = *clock_open(&item, CLOCK_REPLY, &r15, old, at);
	CHECK_INT(t, k.provisional, 1);
	CHECK_INT(t, clock_recalc(&k, old, cal, now), CLOCK_RECALC_MOVED);
	CHECK_INT(t, sla_local_day(k.due), sla_ymd(2027, 1, 19));
	CHECK_INT(t, k.provisional, 0);
	CHECK_INT(t, clock_recalc(&k, old, cal, now), CLOCK_RECALC_NONE); /* done: nothing twice */
	/* 5 WD: 4 Jan either way; only the provisional mark goes */
	k = *clock_open(&item, CLOCK_REPLY, &r5, old, at);
	CHECK_INT(t, clock_recalc(&k, old, cal, now), CLOCK_RECALC_CONFIRMED);
	CHECK_INT(t, sla_local_day(k.due), sla_ymd(2027, 1, 4));
	CHECK_INT(t, k.provisional, 0);
	/* a due time that is not what its start gives on the old calendar is left alone */
	k = *clock_open(&item, CLOCK_REPLY, &r15, old, at);
	k.due += 2 * 86400;
	CHECK_INT(t, clock_recalc(&k, old, cal, now), CLOCK_RECALC_LEFT);
	CHECK_INT(t, clock_recalc(&k, NULL, cal, now), CLOCK_RECALC_MOVED);
	/* paused, stopped, frozen or run out: left alone */
	k = *clock_open(&item, CLOCK_REPLY, &r15, old, at);
	clock_pause(&k, old, now);
	CHECK_INT(t, clock_recalc(&k, old, cal, now), CLOCK_RECALC_NONE);
	/* resumed on 29 Dec with the 15 days it had left: counted from the resumption, 19 Jan on
	 * the base week, 20 Jan on the new calendar */
	clock_resume(&k, old, now + 86400);
	CHECK_INT(t, sla_local_day(k.due), sla_ymd(2027, 1, 19));
	CHECK_INT(t, clock_recalc(&k, old, cal, now + 86400), CLOCK_RECALC_MOVED);
	CHECK_INT(t, sla_local_day(k.due), sla_ymd(2027, 1, 20));
	k = *clock_open(&item, CLOCK_REPLY, &r15, old, at);
	clock_stop(&k, now);
	CHECK_INT(t, clock_recalc(&k, old, cal, now), CLOCK_RECALC_NONE);
	k = *clock_open(&item, CLOCK_REPLY, &r15, old, at);
	CHECK_INT(t, clock_recalc(&k, old, cal, k.due + 1), CLOCK_RECALC_NONE);
	snprintf(k.result, sizeof(k.result), "late");
	CHECK_INT(t, clock_recalc(&k, old, cal, now), CLOCK_RECALC_NONE);
out:
	sla_files_free(f, n);
	sla_calendar_unref(old);
	sla_calendar_unref(cal);
}

/* The outbox rows of step "ack" to recipient: how many, each checked to be without text. */
static int
acks_to(struct t *t, const char *recipient)
{
	struct db_conn *c = db_acquire(app.db);
	struct db_outbox *v = NULL;
	size_t n = 0, i;
	int found = 0;

	if (c == NULL || db_outbox_list(c, NULL, INT64_MAX, 1000, &v, &n) != 0) {
		CHECK(t, 0);
		n = 0;
	}
	for (i = 0; i < n; i++) {
		if (strcmp(v[i].step, "ack") != 0 || strcmp(v[i].recipient, recipient) != 0)
			continue;
		found++;
		CHECK(t, v[i].body == NULL && v[i].subject == NULL && v[i].item_id != 0);
		CHECK_STR(t, v[i].state, "pending");
	}
	db_outboxes_free(v, n);
	db_release(app.db, c);
	return found;
}

/* The clocks, facts, submit history row and ladder mark of each of out[0..n) as stored: 1 when
 * every item has its two clocks (as the item answered), its facts, "submit" as its first
 * history row and its mark (0, 0, id), else 0. */
static int
children_stored(struct t *t, const struct db_item *out, size_t n)
{
	struct db_conn *c = db_acquire(app.db);
	int64_t ids[64];
	size_t nids = 0, i, j, found;
	int ok = c != NULL && db_ladder_due(c, 0, 64, ids, &nids) == 0;

	for (i = 0; ok && i < n; i++) {
		struct db_item got;
		struct db_fact f;

		if (db_item_get_id(c, out[i].id, &got) != 1) {
			ok = 0;
			break;
		}
		CHECK_INT(t, got.nclocks, 2);
		for (j = 0; j < got.nclocks && j < out[i].nclocks; j++) {
			CHECK_STR(t, got.clocks[j].name, out[i].clocks[j].name);
			CHECK_INT(t, got.clocks[j].due, out[i].clocks[j].due);
			CHECK_INT(t, got.clocks[j].days, out[i].clocks[j].days);
			CHECK_INT(t, got.clocks[j].started, out[i].clocks[j].started);
		}
		ok = got.nclocks == 2;
		db_item_free(&got);
		{
			struct db_history *hist = NULL;
			size_t nh = 0;

			CHECK_INT(t, db_history_list(c, out[i].id, 0, &hist, &nh), 0);
			CHECK(t, nh >= 1 && strcmp(hist[0].action, "submit") == 0 &&
			             strcmp(hist[0].actor, "citizen") == 0 && hist[0].citizen == 1 &&
			             strcmp(hist[0].to_state, "received") == 0 &&
			             hist[0].from_state == NULL && hist[0].actor_id == 0);
			ok = ok && nh >= 1;
			db_history_free(hist, nh);
		}
		CHECK_INT(t, db_fact_get(c, out[i].id, &f), 1);
		CHECK_INT(t, f.received, out[i].received);
		for (j = found = 0; j < nids; j++)
			found += ids[j] == out[i].id;
		CHECK_INT(t, found, 1);
		ok = ok && found == 1;
	}
	db_release(app.db, c);
	return ok;
}

static int refused_batches;

static int
refuse_batch(void *cls, struct db_conn *c, const struct core_event *ev, size_t n)
{
	(void)cls;
	(void)c;
	(void)ev;
	(void)n;
	refused_batches++;
	return -1;
}

/* The notifiers' on_batch (notify_attach's), for queue_then_refuse. */
static int (*real_on_batch)(void *cls, struct db_conn *c, const struct core_event *ev, size_t n);

static int batch_items_found, batch_items_asked;

/* The notifiers' on_batch, after counting the batch's items that its connection finds: they
 * are written (db_items_flush) before anything that refers to them. */
static int
count_then_queue(void *cls, struct db_conn *c, const struct core_event *ev, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		struct db_item got;

		batch_items_asked++;
		if (db_item_get_id(c, ev[i].item->id, &got) == 1) {
			batch_items_found += strcmp(got.subject, ev[i].item->subject) == 0 &&
			                     got.received == ev[i].item->received;
			db_item_free(&got);
		}
	}
	return real_on_batch(cls, c, ev, n);
}

/* Queues the batch's acknowledgements as the notifiers do, then fails the batch. */
static int
queue_then_refuse(void *cls, struct db_conn *c, const struct core_event *ev, size_t n)
{
	if (real_on_batch(cls, c, ev, n) != 0)
		return -1;
	refused_batches++;
	return -1;
}

/* A batch of submissions with the notifiers' hook: the acknowledgements of the whole batch are
 * queued at its end (on_batch, one statement), one per item with an address, none without, and
 * the items' clocks, facts and ladder marks are written there too; a refusing on_batch makes
 * the batch stored again one submission at a time (on_event each), each with its own rows. */
static void
test_submit_many_acknowledged(struct t *t)
{
	static const char *const mails[] = {"a1@citizen.example", "a2@citizen.example", NULL,
	                                    "a1@citizen.example"};
	struct intake in[4];
	const struct intake *inp[4];
	struct db_item out[4];
	char codes[4][QUERY_CODE_LEN + 1];
	struct core_error errs[4];
	struct hook_log log;
	size_t i;

	for (i = 0; i < 4; i++) {
		letter(&in[i]);
		in[i].email = mails[i];
		in[i].phone = "13800138000";
		in[i].publish = 0;
		inp[i] = &in[i];
	}
	notify_attach(&app);
	real_on_batch = app.notify.on_batch;
	app.notify.on_batch = count_then_queue;
	CHECK_INT(t, core_submit_many(&app, inp, 4, app_now(&app), out, codes, errs), 0);
	for (i = 0; i < 4; i++)
		CHECK_INT(t, errs[i].code, CORE_OK);
	/* the items rows, written at the batch's end too (insert_later), before its
	 * acknowledgements' hook: each with the id it was given */
	CHECK_INT(t, batch_items_asked, 4);
	CHECK_INT(t, batch_items_found, 4);
	for (i = 0; i < 4; i++)
		CHECK(t, out[i].insert_later == 1 && out[i].id > 0);
	/* the clocks, facts and ladder marks of the batch, written at its end */
	CHECK(t, children_stored(t, out, 4));
	for (i = 0; i < 4; i++)
		if (errs[i].code == CORE_OK)
			db_item_free(&out[i]);
	CHECK_INT(t, acks_to(t, "a1@citizen.example"), 2);
	CHECK_INT(t, acks_to(t, "a2@citizen.example"), 1);
	/* on_batch refuses: every submission is stored all the same, each through on_event */
	memset(&log, 0, sizeof(log));
	app.notify.cls = &log;
	app.notify.on_event = hook;
	app.notify.on_batch = refuse_batch;
	for (i = 0; i < 4; i++)
		in[i].email = "a3@citizen.example";
	CHECK_INT(t, core_submit_many(&app, inp, 4, app_now(&app), out, codes, errs), 0);
	for (i = 0; i < 4; i++)
		CHECK_INT(t, errs[i].code, CORE_OK);
	/* stored one at a time: each writes its own */
	CHECK(t, children_stored(t, out, 4));
	for (i = 0; i < 4; i++)
		if (errs[i].code == CORE_OK)
			db_item_free(&out[i]);
	CHECK_INT(t, refused_batches, 1);
	CHECK_INT(t, log.submitted, 4);
	/* the batch fails after its acknowledgements were queued: they go back with it, and each
	 * submission stored again on its own (on_event) queues its own, so one an item (the
	 * acknowledgement is once by this alone: outbox_once does not hold it since 030) */
	notify_attach(&app);
	real_on_batch = app.notify.on_batch;
	app.notify.on_batch = queue_then_refuse;
	for (i = 0; i < 4; i++)
		in[i].email = "a4@citizen.example";
	CHECK_INT(t, core_submit_many(&app, inp, 4, app_now(&app), out, codes, errs), 0);
	for (i = 0; i < 4; i++)
		CHECK_INT(t, errs[i].code, CORE_OK);
	CHECK(t, children_stored(t, out, 4));
	for (i = 0; i < 4; i++)
		if (errs[i].code == CORE_OK)
			db_item_free(&out[i]);
	CHECK_INT(t, refused_batches, 2);
	CHECK_INT(t, acks_to(t, "a4@citizen.example"), 4);
	memset(&app.notify, 0, sizeof(app.notify));
}

/* log_join: the line log_info writes ("civicdesk: " and a newline), cut as it cuts at 2 KiB. */
static void
test_log_join(struct t *t)
{
	char line[LOG_FORMAT_SIZE], small[64], big[3000];
	const char *parts[] = {"request id=", "00ff", " status=", "201", ""};
	const char *long_parts[] = {"x=", big};
	size_t n;

	n = log_join(line, sizeof(line), parts, 5);
	CHECK_INT(t, (int)n, (int)strlen("civicdesk: request id=00ff status=201\n"));
	CHECK(t, memcmp(line, "civicdesk: request id=00ff status=201\n", n) == 0);
	CHECK_INT(t, (int)log_join(small, sizeof(small), parts, 5), 0);
	memset(big, 'b', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	n = log_join(line, sizeof(line), long_parts, 2);
	CHECK_INT(t, (int)n, LOG_FORMAT_SIZE - 1);
	CHECK(t, line[n - 1] == '\n' && line[n - 2] == 'b');
}

int
main(void)
{
	struct t t = {0, 0, 0};
	char db[sizeof(dir) + 32];
	FILE *devnull;

	if (mkdtemp(dir) == NULL) {
		printf("not ok 1 - setup: mkdtemp\n");
		return 1;
	}
	snprintf(db, sizeof(db), "%s/civicdesk.db", dir);
	setenv("CIVICDESK_DB", db, 1);
	setenv("CIVICDESK_DEMO", "1", 1);
	devnull = fopen("/dev/null", "w");
	if (devnull == NULL || app_open(&app, "/dev/null", devnull) != 0) {
		printf("not ok 1 - setup: app_open\n");
		return 1;
	}
	RUN(&t, test_log_join);
	RUN(&t, test_submit_stores_and_notifies);
	RUN(&t, test_submit_start_lends_texts);
	RUN(&t, test_submit_refuses_bad_input);
	RUN(&t, test_act_assign_accept);
	RUN(&t, test_act_errors);
	RUN(&t, test_act_hook_failure_rolls_back);
	RUN(&t, test_public_edit_needs_reply);
	RUN(&t, test_clock_recalc);
	RUN(&t, test_submit_many_acknowledged);
	app_close(&app);
	fclose(devnull);
	snprintf(db, sizeof(db), "rm -rf '%s'", dir);
	if (system(db) != 0)
		printf("# could not remove %s\n", dir);
	return t_done(&t);
}
