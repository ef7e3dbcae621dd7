/*
 * session_writer.c: what a staff session's check finds to write (its last activity, once a
 * minute; the end of an expired session or of an inactive account's sessions) is written by a
 * thread of its own, in batches, not by the request that found it: on the request's thread the
 * write waited for the group-commit writer's lock and for an fdatasync, and held the thread's
 * other connections meanwhile (issue 20). None of it needs to survive a power cut: a lost
 * activity ends a session a little early (the safe direction), a lost end is found again by the
 * next check or pruned at the next login; so a batch commits without an fsync. Until its batch
 * is committed, core_session_get takes a session's activity from here.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core_int.h"

#define SW_MAX 512 /* changes waiting at most; one more is dropped (found due again later) */

enum sw_kind {
	SW_TOUCH,       /* set last_seen of the session token_hash to at */
	SW_END,         /* delete the session token_hash */
	SW_END_ACCOUNT, /* delete every session of account_id */
};

struct sw_change {
	enum sw_kind kind;
	unsigned char token_hash[DB_TOKEN_HASH]; /* SW_TOUCH, SW_END */
	int64_t account_id;                      /* SW_END_ACCOUNT */
	int64_t at;                              /* SW_TOUCH */
};

struct session_writer {
	struct app *app;
	pthread_t thread;
	pthread_mutex_t lock; /* guards everything below but pending's reads */
	pthread_cond_t work;  /* a change queued, or stopping */
	struct sw_change queued[SW_MAX]; /* waiting for the next batch */
	size_t nqueued;
	struct sw_change flight[SW_MAX]; /* the batch being written (read by session_seen) */
	size_t nflight;
	_Atomic size_t pending; /* nqueued + nflight: 0 lets session_seen skip the lock */
	unsigned long long dropped; /* changes not queued: the queue was full */
	int stopping;
};

/* Writes one batch on a connection of the pool, in one transaction. */
static void
write_batch(struct app *app, const struct sw_change *ch, size_t n)
{
	struct db_conn *c = db_acquire(app->db);
	size_t i;
	int rc = -1;

	if (c == NULL)
		goto out;
	if (db_session_batch_mode(c, 1) != 0)
		goto out;
	if (db_begin(c) != 0)
		goto mode;
	for (i = 0; i < n; i++) {
		switch (ch[i].kind) {
		case SW_TOUCH:
			rc = db_session_touch(c, ch[i].token_hash, ch[i].at);
			break;
		case SW_END:
			rc = db_session_delete(c, ch[i].token_hash);
			break;
		case SW_END_ACCOUNT:
			rc = db_session_delete_account(c, ch[i].account_id);
			break;
		}
		if (rc != 0)
			break;
	}
	if (rc != 0) {
		db_rollback(c);
		goto mode;
	}
	rc = db_commit(c);
mode:
	db_session_batch_mode(c, 0);
out:
	/* dropped: each session's next check finds its change due again */
	if (rc != 0)
		log_warn("auth: cannot record %zu sessions' activity or ends: %s", n,
		         c != NULL ? db_errmsg(c) : "no database connection");
	db_release(app->db, c);
}

static void *
writer_main(void *arg)
{
	struct session_writer *w = arg;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (w->nqueued == 0 && !w->stopping)
			pthread_cond_wait(&w->work, &w->lock);
		if (w->nqueued == 0)
			break; /* stopping, and everything written */
		memcpy(w->flight, w->queued, w->nqueued * sizeof(w->queued[0]));
		w->nflight = w->nqueued;
		w->nqueued = 0;
		pthread_mutex_unlock(&w->lock);
		write_batch(w->app, w->flight, w->nflight);
		pthread_mutex_lock(&w->lock);
		w->nflight = 0;
		atomic_store_explicit(&w->pending, w->nqueued, memory_order_release);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

int
core_session_writer_start(struct app *app)
{
	struct session_writer *w;

	if (app->sessions != NULL)
		return 0;
	w = calloc(1, sizeof(*w));
	if (w == NULL)
		return -1;
	w->app = app;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->work, NULL);
	atomic_init(&w->pending, 0);
	if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
		log_err("auth: cannot start the session writer's thread");
		pthread_cond_destroy(&w->work);
		pthread_mutex_destroy(&w->lock);
		free(w);
		return -1;
	}
	app->sessions = w;
	return 0;
}

void
core_session_writer_stop(struct app *app)
{
	struct session_writer *w = app->sessions;

	if (w == NULL)
		return;
	pthread_mutex_lock(&w->lock);
	w->stopping = 1;
	pthread_cond_signal(&w->work);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL); /* it writes what is queued first */
	if (w->dropped > 0)
		log_warn("auth: %llu sessions' activity records were dropped (more than %d waiting)",
		         w->dropped, SW_MAX);
	app->sessions = NULL;
	pthread_cond_destroy(&w->work);
	pthread_mutex_destroy(&w->lock);
	free(w);
}

/* 1 if a and b change the same thing. */
static int
same_target(const struct sw_change *a, const struct sw_change *b)
{
	if (a->kind != b->kind)
		return 0;
	if (a->kind == SW_END_ACCOUNT)
		return a->account_id == b->account_id;
	return memcmp(a->token_hash, b->token_hash, DB_TOKEN_HASH) == 0;
}

/* Queues ch for the writer, merged with a queued change of the same session (the later
 * activity wins). 1 when the writer takes it (or dropped it: the queue is full), 0 when there
 * is no writer (the caller writes it). */
static int
queue_change(struct app *app, const struct sw_change *ch)
{
	struct session_writer *w = app->sessions;
	size_t i;

	if (w == NULL)
		return 0;
	pthread_mutex_lock(&w->lock);
	for (i = 0; i < w->nqueued; i++)
		if (same_target(&w->queued[i], ch))
			break;
	if (i < w->nqueued) {
		if (ch->at > w->queued[i].at)
			w->queued[i].at = ch->at;
	} else if (w->nqueued < SW_MAX) {
		w->queued[w->nqueued++] = *ch;
		atomic_store_explicit(&w->pending, w->nqueued + w->nflight, memory_order_release);
		pthread_cond_signal(&w->work);
	} else {
		w->dropped++;
	}
	pthread_mutex_unlock(&w->lock);
	return 1;
}

int
session_touch_later(struct app *app, const unsigned char hash[DB_TOKEN_HASH], int64_t at)
{
	struct sw_change ch;

	memset(&ch, 0, sizeof(ch));
	ch.kind = SW_TOUCH;
	memcpy(ch.token_hash, hash, DB_TOKEN_HASH);
	ch.at = at;
	return queue_change(app, &ch);
}

int
session_end_later(struct app *app, const unsigned char hash[DB_TOKEN_HASH])
{
	struct sw_change ch;

	memset(&ch, 0, sizeof(ch));
	ch.kind = SW_END;
	memcpy(ch.token_hash, hash, DB_TOKEN_HASH);
	return queue_change(app, &ch);
}

int
session_end_account_later(struct app *app, int64_t account_id)
{
	struct sw_change ch;

	memset(&ch, 0, sizeof(ch));
	ch.kind = SW_END_ACCOUNT;
	ch.account_id = account_id;
	return queue_change(app, &ch);
}

int64_t
session_seen(struct app *app, const unsigned char hash[DB_TOKEN_HASH])
{
	struct session_writer *w = app->sessions;
	int64_t at = 0;
	size_t i;

	if (w == NULL || atomic_load_explicit(&w->pending, memory_order_acquire) == 0)
		return 0;
	pthread_mutex_lock(&w->lock);
	for (i = 0; i < w->nqueued; i++)
		if (w->queued[i].kind == SW_TOUCH && w->queued[i].at > at &&
		    memcmp(w->queued[i].token_hash, hash, DB_TOKEN_HASH) == 0)
			at = w->queued[i].at;
	for (i = 0; i < w->nflight; i++)
		if (w->flight[i].kind == SW_TOUCH && w->flight[i].at > at &&
		    memcmp(w->flight[i].token_hash, hash, DB_TOKEN_HASH) == 0)
			at = w->flight[i].at;
	pthread_mutex_unlock(&w->lock);
	return at;
}
