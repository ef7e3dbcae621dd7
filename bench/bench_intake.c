/*
 * bench_intake: the group-commit writer's work per web submission as the service does it, in
 * batches of a fixed size, without HTTP and without the disk. The web submission of
 * bench/wrk/submit.lua goes through core_submit_many (its checks and preparation in this
 * thread), BENCH_BATCH at a time (default 8: one transaction each), BENCH_SUBMISSIONS in all
 * (default 4000), to a fresh database in /dev/shm (or BENCH_WRITER_DIR) where a commit costs no
 * fsync; the notifiers' hook is attached as `civicdesk serve` attaches it, so each batch writes
 * what a served one writes (items, clocks, history, statistics, the acknowledgement's outbox
 * rows). Prints the CPU of the threads other than this one (the writer) per stored submission.
 * The batches do not depend on timing, so the writer's instructions per submission (valgrind
 * --tool=callgrind --toggle-collect=writer) compare across builds.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "notifiers/notifiers.h"
#include "service/core/core.h"

#define BATCH_MAX 64

/* CPU seconds of every thread of this process but the calling one (the writer). */
static double
other_threads_cpu(void)
{
	long self = (long)syscall(SYS_gettid), hz = sysconf(_SC_CLK_TCK);
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	double sum = 0;

	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		char path[300], buf[1024], *p;
		unsigned long ut = 0, st = 0;
		FILE *f;

		if (e->d_name[0] == '.' || atol(e->d_name) == self)
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/stat", e->d_name);
		f = fopen(path, "r");
		if (f == NULL)
			continue;
		if (fgets(buf, sizeof(buf), f) != NULL && (p = strrchr(buf, ')')) != NULL &&
		    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) == 2)
			sum += (double)(ut + st) / (double)hz;
		fclose(f);
	}
	closedir(d);
	return sum;
}

int
main(void)
{
	const char *dir = getenv("BENCH_WRITER_DIR"), *b = getenv("BENCH_BATCH"),
	           *s = getenv("BENCH_SUBMISSIONS");
	size_t batch = b != NULL ? (size_t)atol(b) : 8, total = s != NULL ? (size_t)atol(s) : 4000;
	struct intake in[BATCH_MAX];
	const struct intake *inp[BATCH_MAX];
	struct db_item out[BATCH_MAX];
	char codes[BATCH_MAX][QUERY_CODE_LEN + 1], path[512], f[600];
	struct core_error errs[BATCH_MAX];
	struct app app;
	size_t done = 0, failed = 0, i;
	double c0, c1;
	int64_t now = (int64_t)time(NULL);
	FILE *devnull = fopen("/dev/null", "w");

	if (batch < 1 || batch > BATCH_MAX || total < batch) {
		fprintf(stderr, "bench_intake: BENCH_BATCH 1..%d, BENCH_SUBMISSIONS >= it\n", BATCH_MAX);
		return 2;
	}
	if (dir == NULL)
		dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	snprintf(path, sizeof(path), "%s/bench_intake.%d.db", dir, (int)getpid());
	setenv("CIVICDESK_DB", path, 1);
	setenv("CIVICDESK_DEMO", "0", 1);
	if (app_open(&app, NULL, devnull != NULL ? devnull : stdout) != 0) {
		fprintf(stderr, "bench_intake: cannot open %s\n", path);
		return 1;
	}
	notify_attach(&app); /* as `civicdesk serve`: the acknowledgement in each transaction */
	memset(in, 0, sizeof(in));
	for (i = 0; i < batch; i++) {
		in[i].kind = "letter";
		in[i].subject = "关于小区道路维修的建议";
		in[i].body = "我们小区门口的道路已经破损多时，雨天积水严重，老人和孩子出行很不方便，"
		             "希望有关部门尽快安排维修。";
		in[i].name = "张三";
		in[i].phone = "13800138000";
		in[i].email = "zhangsan@example.cn";
		in[i].publish = 1;
		in[i].channel = CHANNEL_WEB;
		in[i].received = now;
		inp[i] = &in[i];
	}
	c0 = other_threads_cpu();
	while (done < total) {
		if (core_submit_many(&app, inp, batch, now, out, codes, errs) != 0) {
			failed += batch;
			break;
		}
		for (i = 0; i < batch; i++) {
			if (errs[i].code != CORE_OK) {
				failed++;
				continue;
			}
			db_item_free(&out[i]);
		}
		done += batch;
	}
	c1 = other_threads_cpu();
	app_close(&app);
	for (const char *suffix = ""; suffix != NULL;
	     suffix = *suffix == '\0' ? "-wal" : strcmp(suffix, "-wal") == 0 ? "-shm" : NULL) {
		snprintf(f, sizeof(f), "%s%s", path, suffix);
		unlink(f);
	}
	if (devnull != NULL)
		fclose(devnull);
	if (failed != 0) {
		fprintf(stderr, "bench_intake: %zu submissions failed\n", failed);
		return 1;
	}
	printf("group-commit writer through core_submit_many, batches of %zu, %zu submissions, no "
	       "fsync: %.1f us of writer CPU per stored submission\n",
	       batch, done, (c1 - c0) * 1e6 / (double)done);
	return 0;
}
