/*
 * bench_writer: the CPU the group-commit writer spends per stored submission, without HTTP and
 * without the disk: 16 threads submit items like a web submission (two clocks, the "submit"
 * history row) through db_submit to a database in /dev/shm (or BENCH_WRITER_DIR), where a
 * commit costs no fsync. The process CPU time (getrusage) over the stored items is the writer's
 * cost (the submitting threads only queue and wait). Best of three runs of 20,000 items.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "db/db.h"

#define THREADS 16
#define PER_THREAD 1250
#define RUNS 3

struct arg {
	struct db_submitter *sm;
	int failed;
};

static void
fill(struct db_item *it, int64_t now)
{
	memset(it, 0, sizeof(*it));
	it->kind = KIND_LETTER;
	it->channel = CHANNEL_WEB;
	it->subject = (char *)"关于小区道路维修的建议";
	it->body = (char *)"我们小区门口的道路已经破损多时，雨天积水严重，老人和孩子出行很不方便，"
	                   "希望有关部门尽快安排维修。";
	it->name = (char *)"张三";
	it->phone = (char *)"13800138000";
	it->email = (char *)"zhangsan@example.cn";
	it->publish = 1;
	memset(it->query_hash, 7, sizeof(it->query_hash));
	it->received = it->created = it->updated = now;
	it->state = WF_RECEIVED;
	it->resume_state = WF_NONE;
	it->extension = (char *)"none";
	it->nclocks = 2;
	snprintf(it->clocks[0].name, sizeof(it->clocks[0].name), "forward");
	snprintf(it->clocks[1].name, sizeof(it->clocks[1].name), "reply");
	for (int i = 0; i < 2; i++) {
		snprintf(it->clocks[i].unit, sizeof(it->clocks[i].unit), "working_days");
		it->clocks[i].started = now;
		it->clocks[i].days = i ? 15 : 3;
		it->clocks[i].end_minutes = 1440;
		it->clocks[i].due = now + (i ? 21 : 5) * 86400;
	}
}

static void *
submitter(void *p)
{
	struct arg *a = p;
	struct db_history h = {.actor = (char *)"citizen", .action = (char *)"submit",
	                       .to_state = (char *)"received", .citizen = 1};
	int64_t now = (int64_t)time(NULL);

	for (int i = 0; i < PER_THREAD; i++) {
		struct db_item it;
		struct db_submission sub;

		fill(&it, now);
		h.at = now;
		memset(&sub, 0, sizeof(sub));
		sub.item = &it;
		sub.day = 20251130;
		sub.history = &h;
		if (db_submit(a->sm, &sub) != 0)
			a->failed++;
		else
			free(it.tracking);
	}
	return NULL;
}

static double
cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static int
one_run(const char *dir, int run, double *us_per_item)
{
	char path[512], err[512];
	struct db *db = NULL;
	struct db_submitter *sm = NULL;
	pthread_t th[THREADS];
	struct arg args[THREADS];
	int created, failed = 0;
	double c0, c1;

	snprintf(path, sizeof(path), "%s/bench_writer.%d.%d.db", dir, (int)getpid(), run);
	if (db_open(path, &db, &created, err, sizeof(err)) != 0) {
		fprintf(stderr, "bench_writer: %s\n", err);
		return -1;
	}
	if (db_submitter_start(db, &sm) != 0) {
		db_close(db);
		return -1;
	}
	c0 = cpu_seconds();
	for (int i = 0; i < THREADS; i++) {
		args[i].sm = sm;
		args[i].failed = 0;
		pthread_create(&th[i], NULL, submitter, &args[i]);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		failed += args[i].failed;
	}
	c1 = cpu_seconds();
	db_submitter_stop(sm);
	db_close(db);
	for (const char *suffix = ""; suffix != NULL; suffix = *suffix ? NULL : "-wal") {
		char p[600];

		snprintf(p, sizeof(p), "%s%s", path, suffix);
		unlink(p);
	}
	snprintf(path + strlen(path), sizeof(path) - strlen(path), "-shm");
	unlink(path);
	if (failed != 0) {
		fprintf(stderr, "bench_writer: %d submissions failed\n", failed);
		return -1;
	}
	*us_per_item = (c1 - c0) * 1e6 / (THREADS * PER_THREAD);
	return 0;
}

int
main(void)
{
	const char *dir = getenv("BENCH_WRITER_DIR");
	double best = 1e9, v;

	if (dir == NULL)
		dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	for (int r = 0; r < RUNS; r++) {
		if (one_run(dir, r, &v) != 0)
			return 1;
		printf("run %d: %.1f us of CPU per stored submission\n", r + 1, v);
		if (v < best)
			best = v;
	}
	printf("writer CPU per submission (best of %d, %d items each, no fsync): %.1f us\n", RUNS,
	       THREADS * PER_THREAD, best);
	return 0;
}
