/*
 * db_submit.c: group commit of new items. Handler threads queue a prepared submission (and wait,
 * or are called back); one writer thread takes every waiting submission and stores them in one
 * BEGIN IMMEDIATE … COMMIT (one fsync under synchronous=FULL for the whole batch), then tells
 * each its result. The batch's tracking numbers are taken in one statement, and a batch hook
 * (db_batch_hook) may write once what every submission adds to the same rows. When one
 * submission fails, the batch is rolled back and stored again with a SAVEPOINT each, so that
 * it does not fail the others.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db_int.h"

enum stmt { STMT_SAVEPOINT, STMT_RELEASE, STMT_ROLLBACK_TO, STMT__MAX };

static const char *const stmts[STMT__MAX] = {
    [STMT_SAVEPOINT] = "SAVEPOINT item",
    [STMT_RELEASE] = "RELEASE item",
    [STMT_ROLLBACK_TO] = "ROLLBACK TO item",
};

/* A waiting submitter: woken alone when its submission is done (a broadcast to every waiter
 * woke the half that waits for the next batch too). */
struct db_waiter {
	pthread_cond_t done;
};

struct db_submitter {
	struct db *db;
	struct db_conn *c; /* the writer's own connection */
	pthread_t thread;
	pthread_mutex_t lock; /* guards queue, tail, stopping and every sub->done */
	pthread_cond_t work;  /* signalled when the queue gets a submission or on stop */
	struct db_submission *queue, *tail;
	int stopping;
	struct db_batch_hook hook; /* set before the first submission; begin NULL: none */
	int wal_frames; /* frames in the WAL after the writer's last commit (writer thread only) */
	struct db_writer_stats stats; /* guarded by lock: the writer's, copied after each batch */
	int log;                      /* guarded by lock: log the figures (db_submitter_log) */
};

/* The writer's figures are logged every STATS_LOG_S seconds in which it stored anything, and
 * when it stops. */
#define STATS_LOG_S 600

static uint64_t
now_us(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* The bucket of a commit of us microseconds: four per power of two. */
static int
bucket_of(uint64_t us)
{
	int lg = 0, i;

	if (us < 1)
		return 0;
	while ((us >> lg) > 1)
		lg++;
	/* the two bits below the leading one */
	i = 4 * lg + (lg >= 2 ? (int)((us >> (lg - 2)) & 3) : lg == 1 ? (int)(us & 1) * 2 : 0);
	return i < DB_WRITER_BUCKETS ? i : DB_WRITER_BUCKETS - 1;
}

/* The longest duration of bucket i (microseconds). */
static uint64_t
bucket_top(int i)
{
	int lg = i / 4, q = i % 4;

	if (lg < 2)
		return ((uint64_t)1 << lg) + (lg == 1 ? (uint64_t)(q / 2) : 0);
	return ((uint64_t)1 << lg) + (((uint64_t)q + 1) << (lg - 2)) - 1;
}

uint64_t
db_writer_quantile(const struct db_writer_stats *st, double q)
{
	uint64_t n = 0, want, seen = 0;
	int i;

	for (i = 0; i < DB_WRITER_BUCKETS; i++)
		n += st->commits[i];
	if (n == 0)
		return 0;
	want = (uint64_t)ceil(q * (double)n);
	if (want < 1)
		want = 1;
	for (i = 0; i < DB_WRITER_BUCKETS; i++) {
		seen += st->commits[i];
		if (seen >= want)
			return bucket_top(i);
	}
	return bucket_top(DB_WRITER_BUCKETS - 1);
}

void
db_writer_line(const struct db_writer_stats *st, char *buf, size_t size)
{
	double b = st->batches > 0 ? (double)st->batches : 1;
	double wall = (double)(st->wait_us + st->store_us + st->commit_us + st->answer_us +
	                       st->checkpoint_us);

	snprintf(buf, size,
	         "writer: %llu batches, %llu submissions (%.1f a batch) in %.1f s; a batch: "
	         "waiting %.0f us, storing %.0f, committing %.0f (p50 <= %llu, p99 <= %llu: the "
	         "WAL's write and fdatasync), answering %.0f, checkpointing %.0f (%llu "
	         "checkpoints); on the CPU %.0f, off it while working %.0f (the disk, or waiting "
	         "for a CPU)",
	         (unsigned long long)st->batches, (unsigned long long)st->items,
	         (double)st->items / b, wall / 1e6, (double)st->wait_us / b,
	         (double)st->store_us / b, (double)st->commit_us / b,
	         (unsigned long long)db_writer_quantile(st, 0.5),
	         (unsigned long long)db_writer_quantile(st, 0.99), (double)st->answer_us / b,
	         (double)st->checkpoint_us / b, (unsigned long long)st->checkpoints,
	         (double)st->cpu_us / b, (wall - (double)st->wait_us - (double)st->cpu_us) / b);
}

/* Logs what the writer did since `since` (a copy of its figures then), if anything. */
static void
stats_log(const struct db_writer_stats *now, const struct db_writer_stats *since)
{
	struct db_writer_stats d;
	char line[512];
	int i;

	if (now->batches == since->batches)
		return;
	d.batches = now->batches - since->batches;
	d.items = now->items - since->items;
	d.wait_us = now->wait_us - since->wait_us;
	d.store_us = now->store_us - since->store_us;
	d.commit_us = now->commit_us - since->commit_us;
	d.answer_us = now->answer_us - since->answer_us;
	d.checkpoint_us = now->checkpoint_us - since->checkpoint_us;
	d.checkpoints = now->checkpoints - since->checkpoints;
	d.cpu_us = now->cpu_us - since->cpu_us;
	for (i = 0; i < DB_WRITER_BUCKETS; i++)
		d.commits[i] = now->commits[i] - since->commits[i];
	db_writer_line(&d, line, sizeof(line));
	db_log("%s", line);
}

/* SQLite's own automatic checkpoint runs inside the COMMIT that takes the WAL past 1000 pages:
 * the batch's submitters waited for it (copying the pages into the database file and an
 * fsync of it: 1 to 15 ms on this disk). The writer's connection has it off; the writer
 * checkpoints at the same size itself once the batch's submitters are answered. Other
 * connections (staff actions, commands) keep SQLite's automatic checkpoint. */
#define CHECKPOINT_FRAMES 1000

static int
wal_hook(void *cls, sqlite3 *h, const char *name, int frames)
{
	struct db_submitter *sm = cls;

	(void)h;
	(void)name;
	sm->wal_frames = frames;
	return SQLITE_OK;
}

/* A passive checkpoint: copies what no reader still needs, never waits for a lock. */
static void
checkpoint(struct db_submitter *sm)
{
	int rc = sqlite3_wal_checkpoint_v2(sm->c->h, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);

	if (rc != SQLITE_OK && rc != SQLITE_BUSY)
		db_log("checkpoint: %s", sqlite3_errmsg(sm->c->h));
	sm->wal_frames = 0;
}

/* Runs one of this file's statements: 0 or -1 (logged). */
static int
run(struct db_conn *c, enum stmt which)
{
	sqlite3_stmt *st = db_prep(c, stmts[which]);

	return st == NULL ? -1 : db_exec_stmt(c, st);
}

/* Stores one submission inside the batch's transaction: 0 or -1. With `guarded`, the
 * submission has its own savepoint and a failure takes back only its rows (its tracking number
 * is taken inside it); without, its number is sub->seq, taken with the batch's (reserve), and a
 * failure leaves its rows half-written: the caller must roll the whole transaction back. */
static int
store_one(struct db_conn *c, struct db_submission *sub, int guarded)
{
	struct db_item *it = sub->item;
	char tracking[sizeof(sub->tracking)];
	char *old = it->tracking;
	int seq, rc;
	size_t i;

	if (guarded && run(c, STMT_SAVEPOINT) != 0)
		return -1;
	seq = sub->seq;
	if (guarded && db_tracking_next(c, sub->day, &seq) != 0)
		goto fail;
	snprintf(tracking, sizeof(tracking), "XJ-%08d-%05d", sub->day, seq);
	it->tracking = tracking;
	rc = db_item_insert(c, it);
	it->tracking = old;
	if (rc != 0) {
		if (rc == 1)
			db_log("tracking number %s exists already", tracking);
		goto fail;
	}
	for (i = 0; i < sub->natt; i++)
		if (db_attachment_add(c, it->id, &sub->att[i]) != 0)
			goto fail;
	if (sub->history != NULL && db_history_add(c, it->id, sub->history) != 0)
		goto fail;
	if (sub->after != NULL) {
		it->tracking = tracking;
		rc = sub->after(sub->after_cls, c, it);
		it->tracking = old;
		if (rc != 0)
			goto fail;
	}
	if (guarded && run(c, STMT_RELEASE) != 0)
		goto fail;
	/* sub->tracking keeps the number until the batch commits (an unguarded batch may still be
	 * taken back and stored again) */
	memcpy(sub->tracking, tracking, sizeof(sub->tracking));
	return 0;
fail:
	it->id = 0;
	if (guarded) {
		run(c, STMT_ROLLBACK_TO);
		run(c, STMT_RELEASE);
	}
	return -1;
}

/* Gives each submission of batch its sequence number (sub->seq), one counter update per day
 * in the batch instead of two statements per submission: 0, or -1. */
static int
reserve(struct db_conn *c, struct db_submission *batch)
{
	struct db_submission *s, *t;
	int n, first;

	for (s = batch; s != NULL; s = s->next)
		s->seq = 0;
	for (s = batch; s != NULL; s = s->next) {
		if (s->seq != 0)
			continue;
		n = 0;
		for (t = s; t != NULL; t = t->next)
			n += t->seq == 0 && t->day == s->day;
		if (db_tracking_reserve(c, s->day, n, &first) != 0)
			return -1;
		for (t = s; t != NULL; t = t->next)
			if (t->seq == 0 && t->day == s->day)
				t->seq = first++;
	}
	return 0;
}

/* Stores a batch in one transaction; writes each result. Failures are rare (a full disk, a
 * hook refusing), so the batch is first stored without a savepoint per submission (two
 * statements fewer per item); if one fails, the transaction is rolled back and the batch is
 * stored again with a savepoint each, so that a failing submission does not fail the others. */
static void
store_batch(struct db_conn *c, struct db_submission *batch, const struct db_batch_hook *hook,
            uint64_t *commit_at)
{
	struct db_submission *s;
	int guarded = 0, ok;

	for (;;) {
		if (db_begin(c) != 0)
			goto failed;
		if (hook->begin != NULL)
			hook->begin(hook->cls, guarded);
		/* After SQLITE_FULL, IOERR or NOMEM, SQLite may have rolled the whole transaction
		 * back: the connection is then in autocommit mode, and the next SAVEPOINT ...
		 * RELEASE would store an item on its own while the batch is answered as failed. So
		 * the rest of the batch fails. */
		ok = guarded || reserve(c, batch) == 0;
		for (s = batch; s != NULL && ok; s = s->next) {
			s->result = sqlite3_get_autocommit(c->h) ? -1 : store_one(c, s, guarded);
			ok = guarded || s->result == 0;
		}
		if (ok && hook->end != NULL && hook->end(hook->cls, c) != 0) {
			if (guarded) { /* nothing was gathered: cannot happen, but fail safe */
				db_rollback(c);
				goto failed;
			}
			ok = 0;
		}
		if (ok)
			break;
		db_rollback(c);
		if (batch->next == NULL) /* alone in its batch: its failure is the answer */
			goto failed;
		guarded = 1;
	}
	*commit_at = now_us(CLOCK_MONOTONIC);
	if (db_commit(c) != 0) {
		for (s = batch; s != NULL; s = s->next)
			s->result = -1;
		return;
	}
	for (s = batch; s != NULL; s = s->next) {
		if (s->result != 0)
			continue;
		free(s->item->tracking);
		s->item->tracking = strdup(s->tracking);
		if (s->item->tracking == NULL)
			s->result = -1; /* stored, but the caller cannot say its number: report failure */
	}
	return;
failed:
	*commit_at = now_us(CLOCK_MONOTONIC);
	for (s = batch; s != NULL; s = s->next)
		s->result = -1;
}

static void *
writer(void *arg)
{
	struct db_submitter *sm = arg;
	struct db_submission *batch, *s, *next, *started, **tail;
	struct db_batch_hook hook;
	struct db_writer_stats st, logged;
	uint64_t t0, t1, t2, t3, cpu0, logged_at;
	int log;

	memset(&st, 0, sizeof(st));
	logged = st;
	t0 = logged_at = now_us(CLOCK_MONOTONIC);
	cpu0 = now_us(CLOCK_THREAD_CPUTIME_ID);
	pthread_mutex_lock(&sm->lock);
	for (;;) {
		while (sm->queue == NULL && !sm->stopping)
			pthread_cond_wait(&sm->work, &sm->lock);
		if (sm->queue == NULL && sm->stopping)
			break;
		batch = sm->queue;
		sm->queue = sm->tail = NULL;
		hook = sm->hook;
		pthread_mutex_unlock(&sm->lock);
		t1 = now_us(CLOCK_MONOTONIC);
		st.wait_us += t1 - t0;
		st.batches++;
		for (s = batch; s != NULL; s = s->next)
			st.items++;
		store_batch(sm->c, batch, &hook, &t2);
		t3 = now_us(CLOCK_MONOTONIC);
		st.store_us += t2 - t1;
		st.commit_us += t3 - t2;
		st.commits[bucket_of(t3 - t2)]++;
		pthread_mutex_lock(&sm->lock);
		sm->stats = st; /* before the submitters hear: they may look */
		started = NULL;
		tail = &started;
		for (s = batch; s != NULL; s = next) {
			next = s->next; /* s belongs to its waiter again once done is set */
			s->next = NULL;
			if (s->waiter == NULL) { /* db_submit_start: told below, unlocked */
				*tail = s;
				tail = &s->next;
				continue;
			}
			s->done = 1;
			pthread_cond_signal(&s->waiter->done);
		}
		if (started != NULL) {
			pthread_mutex_unlock(&sm->lock);
			for (s = started; s != NULL; s = next) {
				next = s->next; /* s is its caller's again once told */
				s->next = NULL;
				s->done = 1;
				s->on_done(s->done_cls);
			}
			pthread_mutex_lock(&sm->lock);
		}
		t0 = now_us(CLOCK_MONOTONIC);
		st.answer_us += t0 - t3;
		if (sm->wal_frames >= CHECKPOINT_FRAMES) {
			pthread_mutex_unlock(&sm->lock);
			checkpoint(sm);
			t1 = now_us(CLOCK_MONOTONIC);
			st.checkpoint_us += t1 - t0;
			st.checkpoints++;
			t0 = t1;
			pthread_mutex_lock(&sm->lock);
		}
		t1 = now_us(CLOCK_THREAD_CPUTIME_ID);
		st.cpu_us += t1 - cpu0;
		cpu0 = t1;
		sm->stats = st;
		if (sm->log && t0 - logged_at >= (uint64_t)STATS_LOG_S * 1000000u) {
			pthread_mutex_unlock(&sm->lock);
			stats_log(&st, &logged);
			logged = st;
			logged_at = t0;
			pthread_mutex_lock(&sm->lock);
		}
	}
	log = sm->log;
	pthread_mutex_unlock(&sm->lock);
	if (log)
		stats_log(&st, &logged);
	return NULL;
}

void
db_submitter_log(struct db_submitter *sm, int on)
{
	pthread_mutex_lock(&sm->lock);
	sm->log = on;
	pthread_mutex_unlock(&sm->lock);
}

void
db_submitter_stats(struct db_submitter *sm, struct db_writer_stats *out)
{
	pthread_mutex_lock(&sm->lock);
	*out = sm->stats;
	pthread_mutex_unlock(&sm->lock);
}

int
db_submitter_start(struct db *db, struct db_submitter **out)
{
	struct db_submitter *sm = calloc(1, sizeof(*sm));

	if (sm == NULL)
		return -1;
	sm->db = db;
	sm->c = db_acquire(db);
	if (sm->c == NULL) {
		free(sm);
		return -1;
	}
	sqlite3_wal_autocheckpoint(sm->c->h, 0);
	sqlite3_wal_hook(sm->c->h, wal_hook, sm);
	pthread_mutex_init(&sm->lock, NULL);
	pthread_cond_init(&sm->work, NULL);
	if (pthread_create(&sm->thread, NULL, writer, sm) != 0) {
		db_log("cannot start the writer thread");
		pthread_cond_destroy(&sm->work);
		pthread_mutex_destroy(&sm->lock);
		sqlite3_wal_autocheckpoint(sm->c->h, CHECKPOINT_FRAMES); /* and SQLite's hook back */
		db_release(db, sm->c);
		free(sm);
		return -1;
	}
	*out = sm;
	return 0;
}

void
db_submitter_set_hook(struct db_submitter *sm, const struct db_batch_hook *hook)
{
	pthread_mutex_lock(&sm->lock);
	if (hook != NULL)
		sm->hook = *hook;
	else
		memset(&sm->hook, 0, sizeof(sm->hook));
	pthread_mutex_unlock(&sm->lock);
}

void
db_submitter_stop(struct db_submitter *sm)
{
	if (sm == NULL)
		return;
	pthread_mutex_lock(&sm->lock);
	sm->stopping = 1;
	pthread_cond_signal(&sm->work);
	pthread_mutex_unlock(&sm->lock);
	pthread_join(sm->thread, NULL);
	pthread_cond_destroy(&sm->work);
	pthread_mutex_destroy(&sm->lock);
	sqlite3_wal_autocheckpoint(sm->c->h, CHECKPOINT_FRAMES); /* and SQLite's hook back */
	db_release(sm->db, sm->c);
	free(sm);
}

int
db_submit(struct db_submitter *sm, struct db_submission *sub)
{
	struct db_waiter w;

	sub->result = -1;
	sub->done = 0;
	sub->next = NULL;
	sub->waiter = &w;
	pthread_cond_init(&w.done, NULL);
	pthread_mutex_lock(&sm->lock);
	if (sm->stopping) {
		pthread_mutex_unlock(&sm->lock);
		pthread_cond_destroy(&w.done);
		return -1;
	}
	if (sm->tail != NULL)
		sm->tail->next = sub;
	else
		sm->queue = sub;
	sm->tail = sub;
	pthread_cond_signal(&sm->work);
	while (!sub->done)
		pthread_cond_wait(&w.done, &sm->lock);
	pthread_mutex_unlock(&sm->lock);
	pthread_cond_destroy(&w.done);
	sub->waiter = NULL;
	return sub->result;
}

int
db_submit_start(struct db_submitter *sm, struct db_submission *sub)
{
	sub->result = -1;
	sub->done = 0;
	sub->next = NULL;
	sub->waiter = NULL;
	if (sub->on_done == NULL)
		return -1;
	pthread_mutex_lock(&sm->lock);
	if (sm->stopping) {
		pthread_mutex_unlock(&sm->lock);
		return -1;
	}
	if (sm->tail != NULL)
		sm->tail->next = sub;
	else
		sm->queue = sub;
	sm->tail = sub;
	pthread_cond_signal(&sm->work);
	pthread_mutex_unlock(&sm->lock);
	return 0;
}

int
db_submit_result(const struct db_submission *sub)
{
	return sub->done && sub->result == 0 ? 0 : -1;
}

int
db_submit_many(struct db_submitter *sm, struct db_submission *const *subs, size_t n)
{
	struct db_waiter w;
	size_t i;

	for (i = 0; i < n; i++) {
		subs[i]->result = -1;
		subs[i]->done = 0;
		subs[i]->next = NULL;
		subs[i]->waiter = &w;
	}
	if (n == 0)
		return 0;
	pthread_cond_init(&w.done, NULL);
	pthread_mutex_lock(&sm->lock);
	if (sm->stopping) {
		pthread_mutex_unlock(&sm->lock);
		pthread_cond_destroy(&w.done);
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (sm->tail != NULL)
			sm->tail->next = subs[i];
		else
			sm->queue = subs[i];
		sm->tail = subs[i];
	}
	pthread_cond_signal(&sm->work);
	for (i = 0; i < n; i++)
		while (!subs[i]->done)
			pthread_cond_wait(&w.done, &sm->lock);
	pthread_mutex_unlock(&sm->lock);
	pthread_cond_destroy(&w.done);
	for (i = 0; i < n; i++)
		subs[i]->waiter = NULL;
	return 0;
}
