/*
 * gen_items: fills a civicdesk database with N synthetic items (default 1,000,000) through the
 * storage module, for the read benchmarks (bench/queue.sh). Items are spread over the demo
 * sections, states and the past year; about a third of the open ones are overdue at `now`.
 * Replied and closed items carry a reply three days after receipt; those whose submitter
 * allowed publication are published with a public version (about 14% of all items: the
 * public board and Open311's list). Every 1000th public text mentions "路灯" (street lamp),
 * for a search that finds few rows; every public text holds "小区" (a common word).
 *
 * usage: gen_items DB [N]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db/db.h"

static const char *const sections[] = { "办公室", "法规处", "稽查处", "信息中心" };
static const char *const kinds[] = { "letter", "complaint", "consultation" };
static const char *const states[] = { "received", "assigned", "in_progress", "drafted",
	                              "in_review", "replied", "closed" };

/* A small deterministic generator, so that runs are comparable. */
static uint64_t
next_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

int
main(int argc, char *argv[])
{
	struct db *db = NULL;
	struct db_conn *c = NULL;
	int64_t section_ids[4], now = (int64_t)time(NULL), id;
	long n = argc > 2 ? atol(argv[2]) : 1000000, i;
	uint64_t seed = 0x9E3779B97F4A7C15ull;
	char err[512], tracking[32], subject[128], psubject[160];
	int created, rc = 1;
	size_t s;
	struct timespec t0, t1;

	if (argc < 2) {
		fprintf(stderr, "usage: gen_items DB [N]\n");
		return 64;
	}
	if (db_open(argv[1], &db, &created, err, sizeof(err)) != 0) {
		fprintf(stderr, "gen_items: %s\n", err);
		return 1;
	}
	c = db_acquire(db);
	if (c == NULL || db_begin(c) != 0)
		goto out;
	for (s = 0; s < 4; s++) {
		struct db_section sec;

		if (db_section_add(c, sections[s], NULL, now, &id) < 0 ||
		    db_section_by_name(c, sections[s], &sec) != 1)
			goto out;
		section_ids[s] = sec.id;
		db_section_free(&sec);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < n; i++) {
		struct db_item it;
		uint64_t r = next_rand(&seed);
		int64_t received = now - (int64_t)(r % (365 * 86400));
		const char *state = states[(r >> 20) % 7];
		int open = strcmp(state, "replied") != 0 && strcmp(state, "closed") != 0;
		int publish = (int)((r >> 30) & 1);

		memset(&it, 0, sizeof(it));
		snprintf(tracking, sizeof(tracking), "XJ-%08ld-%05ld", 20250000L + i / 100000,
		         i % 100000);
		snprintf(subject, sizeof(subject), "关于第%ld号问题的咨询", i);
		it.tracking = tracking;
		it.kind = (enum kind)kind_parse(kinds[(r >> 8) % 3]);
		it.channel = CHANNEL_WEB;
		it.subject = subject;
		it.body = (char *)"希望有关部门尽快处理。";
		it.name = (char *)"张三";
		it.phone = (char *)"13800138000";
		it.publish = publish;
		memset(it.query_hash, (int)(r & 0xff), sizeof(it.query_hash));
		it.received = received;
		it.created = it.updated = received;
		it.state = (enum wf_state)wf_state_parse(state);
		it.resume_state = WF_NONE;
		it.section_id = strcmp(state, "received") == 0 ? 0 : section_ids[(r >> 40) % 4];
		it.extension = (char *)"none";
		/* Reply due 7 calendar days after receipt: items older than that are overdue. */
		it.next_due = open ? received + 7 * 86400 : DB_NO_DUE;
		it.nclocks = 1;
		snprintf(it.clocks[0].name, sizeof(it.clocks[0].name), "reply");
		snprintf(it.clocks[0].unit, sizeof(it.clocks[0].unit), "working_days");
		it.clocks[0].started = received;
		it.clocks[0].days = 5;
		it.clocks[0].end_minutes = 1440;
		it.clocks[0].due = received + 7 * 86400;
		it.clocks[0].stopped_at = open ? 0 : received + 3 * 86400;
		if (!open) {
			it.reply = (char *)"您好，您反映的问题已转交有关部门处理。";
			it.replied_at = received + 3 * 86400;
		}
		if (!open && publish) {
			snprintf(psubject, sizeof(psubject), "关于第%ld号%s问题的咨询", i,
			         i % 1000 == 0 ? "路灯" : "小区");
			it.public_subject = psubject;
			it.public_body = (char *)"希望有关部门尽快处理小区的问题。";
			it.public_reply = it.reply;
			it.published = 1;
		}
		if (db_item_insert(c, &it) != 0)
			goto out;
		if (i % 20000 == 19999) {
			if (db_commit(c) != 0 || db_begin(c) != 0)
				goto out;
		}
	}
	if (db_commit(c) != 0)
		goto out;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("gen_items: %ld items in %.1f s\n", n,
	       (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	rc = 0;
out:
	if (rc != 0)
		fprintf(stderr, "gen_items: failed: %s\n", c ? db_errmsg(c) : "no connection");
	if (c != NULL)
		db_rollback(c);
	db_release(db, c);
	db_close(db);
	return rc;
}
