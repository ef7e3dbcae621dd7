/*
 * imap.c: the IMAP poller of `civicdesk serve` (libcurl): every interval it asks the mailbox
 * for its UIDVALIDITY and the UIDs above the highest one stored, fetches each message, stores
 * it (ingest.c) and only then marks it \Seen. The position (mailbox, UIDVALIDITY, UID) is
 * written with the message, so a restart or a dropped connection neither loses nor doubles
 * one: the next poll starts after the last UID stored.
 *
 * libcurl fetches with BODY[] (the server sets \Seen as it sends): a message that could not be
 * stored gets \Seen taken back, and messages stored but still unseen (a crash between the
 * commit and the STORE) are marked at the next poll. \Seen is never what decides what to fetch.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "service/core/core.h"
#include "mailin.h"

#define CMD_MAX (1024 * 1024)   /* bytes of a command's answer (SEARCH lists) */
#define BATCH_SEEN 64           /* UIDs marked \Seen in one STORE */
#define BATCH 32                /* messages fetched, then stored at once, per round */
#define STORE_THREADS 8         /* threads storing a batch (their commits share one fsync) */
#define SEARCH_MAX 100000       /* UIDs taken from one SEARCH */

struct mailin_poller {
	struct app *app;
	struct mail_config cfg;
	char *base;      /* imap[s]://user:pass@host:port/ */
	char *box;       /* the configured URL, with the mailbox */
	char *mailbox;   /* the mailbox name, decoded ("INBOX") */
	char *key;       /* the URL without credentials: mail_in.mailbox */
	long interval;   /* seconds */
	CURL *curl;      /* one handle: its connection is reused between polls */
	char errbuf[CURL_ERROR_SIZE];
	pthread_t thread;
	int started;
	pthread_mutex_t lock;
	pthread_cond_t cond; /* signalled to stop */
	int stop;
};

struct buf {
	char *data;
	size_t len, cap, max;
	int over; /* more than max bytes came */
};

static size_t
on_data(char *p, size_t size, size_t n, void *cls)
{
	struct buf *b = cls;
	size_t k = size * n, want;
	char *nd;

	if (b->len + k > b->max) {
		b->over = 1;
		k = b->max - b->len;
	}
	if (b->len + k + 1 > b->cap) {
		want = b->cap ? b->cap : 64 * 1024;
		while (want < b->len + k + 1)
			want *= 2;
		nd = realloc(b->data, want);
		if (nd == NULL)
			return 0;
		b->data = nd;
		b->cap = want;
	}
	memcpy(b->data + b->len, p, k);
	b->len += k;
	b->data[b->len] = '\0';
	return b->over ? 0 : size * n;
}

/* Runs one request (custom: an IMAP command, or NULL for a fetch) on url into b. 0 or -1
 * (logged); a transfer cut by b's cap returns 0 with b->over set. */
static int
run(struct mailin_poller *p, const char *url, const char *custom, struct buf *b, size_t max)
{
	CURLcode rc;

	memset(b, 0, sizeof(*b));
	b->max = max;
	curl_easy_setopt(p->curl, CURLOPT_URL, url);
	curl_easy_setopt(p->curl, CURLOPT_CUSTOMREQUEST, custom);
	curl_easy_setopt(p->curl, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(p->curl, CURLOPT_WRITEDATA, b);
	p->errbuf[0] = '\0';
	rc = curl_easy_perform(p->curl);
	if (rc == CURLE_WRITE_ERROR && b->over)
		return 0;
	if (rc != CURLE_OK) {
		log_warn("imap %s: %s%s%s", p->key, curl_easy_strerror(rc), p->errbuf[0] ? ": " : "",
		         p->errbuf);
		return -1;
	}
	return 0;
}

/* The number after word in the answer (e.g. "UIDVALIDITY 1795964073"), or -1. */
static int64_t
number_after(const char *s, const char *word)
{
	const char *q = s != NULL ? strstr(s, word) : NULL;
	char *end;
	long long v;

	if (q == NULL)
		return -1;
	v = strtoll(q + strlen(word), &end, 10);
	return end != q + strlen(word) && v >= 0 ? (int64_t)v : -1;
}

static int
cmp_uid(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* The UIDs of "* SEARCH n n n" lines, ascending: a new array of *n. */
static int64_t *
search_uids(const char *s, size_t *n)
{
	int64_t *v = NULL, *nv;
	size_t len = 0, cap = 0;
	const char *q = s;
	char *end;

	*n = 0;
	while (q != NULL && (q = strstr(q, "* SEARCH")) != NULL) {
		q += strlen("* SEARCH");
		while (*q == ' ' && len < SEARCH_MAX) {
			long long u = strtoll(q + 1, &end, 10);

			if (end == q + 1)
				break;
			if (len == cap) {
				cap = cap ? cap * 2 : 256;
				nv = realloc(v, cap * sizeof(*v));
				if (nv == NULL) {
					free(v);
					return NULL;
				}
				v = nv;
			}
			v[len++] = (int64_t)u;
			q = end;
		}
	}
	if (len > 1)
		qsort(v, len, sizeof(*v), cmp_uid);
	*n = len;
	return v;
}

/* Sets (+) or takes back (-) \Seen of uids on the server. 0 or -1. */
static int
mark(struct mailin_poller *p, const int64_t *uids, size_t n, char sign)
{
	char cmd[BATCH_SEEN * 21 + 64];
	struct buf b;
	size_t i, off;
	int rc;

	if (n == 0)
		return 0;
	off = (size_t)snprintf(cmd, sizeof(cmd), "UID STORE ");
	for (i = 0; i < n && i < BATCH_SEEN; i++)
		off += (size_t)snprintf(cmd + off, sizeof(cmd) - off, "%s%lld", i ? "," : "",
		                        (long long)uids[i]);
	snprintf(cmd + off, sizeof(cmd) - off, " %cFLAGS.SILENT (\\Seen)", sign);
	rc = run(p, p->box, cmd, &b, CMD_MAX);
	free(b.data);
	if (rc == 0 && n > BATCH_SEEN)
		return mark(p, uids + BATCH_SEEN, n - BATCH_SEEN, sign);
	return rc;
}

/* One fetched message and what storing it did. */
struct job {
	int64_t uid;
	struct buf raw;
	enum mailin_outcome outcome;
};

/* A batch stored by several threads at once: their items share the group commit's fsync. */
struct batch {
	struct mailin_poller *p;
	struct mailin_source src;
	struct job *jobs;
	size_t n, next;
	pthread_mutex_t lock;
};

static void *
store_jobs(void *cls)
{
	struct batch *b = cls;
	struct job *j;
	char line[512];
	size_t i;

	for (;;) {
		pthread_mutex_lock(&b->lock);
		i = b->next++;
		pthread_mutex_unlock(&b->lock);
		if (i >= b->n)
			return NULL;
		j = &b->jobs[i];
		{
			struct mailin_source src = b->src;

			src.uid = j->uid;
			j->outcome = mailin_store(b->p->app, &b->p->cfg, j->raw.data ? j->raw.data : "",
			                          j->raw.over ? j->raw.len + 1 : j->raw.len, &src,
			                          app_now(b->p->app), line, sizeof(line));
		}
		if (j->outcome == MAILIN_RETRY)
			log_warn("imap %s: UID %lld not stored (%s): tried again at the next poll",
			         b->p->key, (long long)j->uid, line);
	}
}

static int
stopping(struct mailin_poller *p)
{
	int stop;

	pthread_mutex_lock(&p->lock);
	stop = p->stop;
	pthread_mutex_unlock(&p->lock);
	return stop;
}

/* Fetches uids[0..n) and stores them with STORE_THREADS threads, then marks the stored ones
 * \Seen and takes \Seen back from those left for later. 0, 1 when one is left for later (the
 * poll stops), -1 when the server could not be reached. */
static int
run_batch(struct mailin_poller *p, int64_t validity, const int64_t *uids, size_t n,
          struct mailin_poll_stats *st)
{
	struct job jobs[BATCH];
	struct batch b;
	pthread_t th[STORE_THREADS];
	int64_t ok[BATCH], again[BATCH];
	size_t i, nth = 0, nok = 0, nagain = 0, fetched = 0;
	char url[2048];
	int ret = 0;

	memset(jobs, 0, sizeof(jobs));
	for (i = 0; i < n; i++) {
		jobs[i].uid = uids[i];
		snprintf(url, sizeof(url), "%s;UID=%lld", p->box, (long long)uids[i]);
		if (run(p, url, NULL, &jobs[i].raw, (size_t)MAIL_RAW_MAX + 1) != 0) {
			free(jobs[i].raw.data);
			jobs[i].raw.data = NULL;
			ret = -1; /* the connection dropped: store what came, the rest next poll */
			break;
		}
		fetched++;
	}
	memset(&b, 0, sizeof(b));
	b.p = p;
	b.src.mailbox = p->key;
	b.src.uidvalidity = validity;
	b.jobs = jobs;
	b.n = fetched;
	pthread_mutex_init(&b.lock, NULL);
	for (i = 0; i + 1 < STORE_THREADS && i + 1 < fetched; i++)
		if (pthread_create(&th[nth], NULL, store_jobs, &b) == 0)
			nth++;
	store_jobs(&b);
	for (i = 0; i < nth; i++)
		pthread_join(th[i], NULL);
	pthread_mutex_destroy(&b.lock);
	for (i = 0; i < fetched; i++) {
		switch (jobs[i].outcome) {
		case MAILIN_RETRY:
			again[nagain++] = jobs[i].uid;
			st->retry++;
			continue;
		case MAILIN_IGNORED:
		case MAILIN_INVALID:
			st->ignored++;
			break;
		case MAILIN_DUPLICATE:
			st->duplicate++;
			break;
		case MAILIN_CREATED:
		case MAILIN_ADDED:
			st->stored++;
			break;
		}
		ok[nok++] = jobs[i].uid;
	}
	for (i = 0; i < n; i++)
		free(jobs[i].raw.data);
	/* BODY[] set \Seen as it was sent: taken back where storing failed, so that the UNSEEN
	 * search of the next poll finds them; set (again) where the commit is done */
	if (mark(p, again, nagain, '-') != 0 || mark(p, ok, nok, '+') != 0)
		return -1;
	if (ret == 0 && nagain > 0)
		ret = 1;
	return ret;
}

int
mailin_poll_once(struct mailin_poller *p, struct mailin_poll_stats *st)
{
	struct db_conn *c;
	struct buf b;
	char cmd[512];
	int64_t validity, floor = 0, *uids = NULL, *unseen = NULL, *todo = NULL, *seen = NULL;
	size_t n = 0, nunseen = 0, ntodo = 0, nseen = 0, i;
	int ret = -1, rc;

	memset(st, 0, sizeof(*st));
	/* the mailbox's UIDVALIDITY */
	snprintf(cmd, sizeof(cmd), "STATUS \"%s\" (UIDVALIDITY)", p->mailbox);
	if (run(p, p->base, cmd, &b, CMD_MAX) != 0) {
		free(b.data);
		goto out;
	}
	validity = number_after(b.data, "UIDVALIDITY ");
	free(b.data);
	if (validity < 0) {
		log_warn("imap %s: no UIDVALIDITY in the STATUS answer", p->key);
		goto out;
	}
	/* Batches are stored out of order, so a crash can leave holes only among the last batch:
	 * below at most BATCH stored UIDs. Every UID above the one with BATCH above it is looked
	 * at again (a stored one is skipped). */
	c = db_acquire(p->app->db);
	if (c == NULL)
		goto out;
	rc = db_mail_imap_last(c, p->key, validity, BATCH, &floor);
	db_release(p->app->db, c);
	if (rc != 0)
		goto out;
	snprintf(cmd, sizeof(cmd), "UID SEARCH UID %lld:*", (long long)floor + 1);
	if (run(p, p->box, cmd, &b, CMD_MAX) != 0) {
		free(b.data);
		goto out;
	}
	uids = search_uids(b.data, &n);
	free(b.data);
	/* unseen ones: stored (a crash between commit and STORE) are marked; not stored and
	 * deeper than the window (left for later by an earlier poll) are fetched again */
	if (run(p, p->box, "UID SEARCH UNSEEN", &b, CMD_MAX) != 0) {
		free(b.data);
		goto out;
	}
	unseen = search_uids(b.data, &nunseen);
	free(b.data);
	todo = calloc(n + nunseen + 1, sizeof(*todo));
	seen = calloc(nunseen + 1, sizeof(*seen));
	if (todo == NULL || seen == NULL || (n > 0 && uids == NULL) ||
	    (nunseen > 0 && unseen == NULL))
		goto out;
	c = db_acquire(p->app->db);
	if (c == NULL)
		goto out;
	for (i = 0; i < nunseen; i++) {
		rc = db_mail_imap_seen(c, p->key, validity, unseen[i]);
		if (rc == 1)
			seen[nseen++] = unseen[i];
		else if (rc == 0 && unseen[i] <= floor)
			todo[ntodo++] = unseen[i];
	}
	for (i = 0; i < n; i++) {
		if (uids[i] <= floor)
			continue; /* "N:*" names the highest UID even below N */
		if (db_mail_imap_seen(c, p->key, validity, uids[i]) == 0)
			todo[ntodo++] = uids[i];
	}
	db_release(p->app->db, c);
	if (mark(p, seen, nseen, '+') != 0)
		goto out;
	if (ntodo > 1)
		qsort(todo, ntodo, sizeof(*todo), cmp_uid);
	for (i = 0; i < ntodo && !stopping(p); i += BATCH) {
		rc = run_batch(p, validity, todo + i, ntodo - i < BATCH ? ntodo - i : BATCH, st);
		if (rc < 0)
			goto out;
		if (rc > 0)
			break; /* storage busy: the next poll goes on */
	}
	ret = 0;
out:
	if (st->stored + st->duplicate + st->ignored + st->retry > 0)
		log_info("imap %s: %zu stored, %zu already stored, %zu ignored, %zu to retry", p->key,
		         st->stored, st->duplicate, st->ignored, st->retry);
	free(uids);
	free(unseen);
	free(todo);
	free(seen);
	return ret;
}

static void *
loop(void *cls)
{
	struct mailin_poller *p = cls;
	struct mailin_poll_stats st;
	struct timespec until;

	for (;;) {
		pthread_mutex_lock(&p->lock);
		if (p->stop) {
			pthread_mutex_unlock(&p->lock);
			break;
		}
		pthread_mutex_unlock(&p->lock);
		mailin_poll_once(p, &st);
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += p->interval;
		pthread_mutex_lock(&p->lock);
		while (!p->stop && pthread_cond_timedwait(&p->cond, &p->lock, &until) == 0)
			;
		pthread_mutex_unlock(&p->lock);
	}
	return NULL;
}

/* Splits the configured URL: base (path "/"), key (no credentials), the mailbox name. */
static int
split_url(struct mailin_poller *p, const char *url, char *err, size_t errsize)
{
	CURLU *u = curl_url(), *k = NULL;
	char *scheme = NULL, *path = NULL, *s = NULL;
	int ret = -1;

	if (u == NULL || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    (strcmp(scheme, "imap") != 0 && strcmp(scheme, "imaps") != 0)) {
		snprintf(err, errsize, "imap_url must be imap://user:pass@host:port/MAILBOX or imaps://…");
		goto out;
	}
	if (curl_url_get(u, CURLUPART_PATH, &path, CURLU_URLDECODE) != CURLUE_OK)
		goto bad;
	p->mailbox = strdup(path[0] == '/' && path[1] != '\0' ? path + 1 : "INBOX");
	if (p->mailbox == NULL || strpbrk(p->mailbox, "\"\\\r\n/;") != NULL) {
		snprintf(err, errsize, "imap_url: the mailbox name must not hold \" \\ / ; or line ends");
		goto out;
	}
	if (curl_url_get(u, CURLUPART_URL, &s, 0) != CURLUE_OK)
		goto bad;
	p->box = strdup(s);
	curl_free(s);
	s = NULL;
	k = curl_url_dup(u);
	if (k == NULL || curl_url_set(k, CURLUPART_USER, NULL, 0) != CURLUE_OK ||
	    curl_url_set(k, CURLUPART_PASSWORD, NULL, 0) != CURLUE_OK ||
	    curl_url_get(k, CURLUPART_URL, &s, 0) != CURLUE_OK)
		goto bad;
	p->key = strdup(s);
	curl_free(s);
	s = NULL;
	if (curl_url_set(u, CURLUPART_PATH, "/", 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_URL, &s, 0) != CURLUE_OK)
		goto bad;
	p->base = strdup(s);
	if (p->box == NULL || p->key == NULL || p->base == NULL)
		goto bad;
	/* the UID is appended to the mailbox URL: no trailing slash before it */
	if (p->box[strlen(p->box) - 1] == '/')
		p->box[strlen(p->box) - 1] = '\0';
	ret = 0;
	goto out;
bad:
	snprintf(err, errsize, "imap_url cannot be read");
out:
	curl_free(s);
	curl_free(scheme);
	curl_free(path);
	curl_url_cleanup(k);
	curl_url_cleanup(u);
	return ret;
}

void
mailin_poller_free(struct mailin_poller *p)
{
	if (p == NULL)
		return;
	if (p->curl != NULL)
		curl_easy_cleanup(p->curl);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	free(p->base);
	free(p->box);
	free(p->mailbox);
	free(p->key);
	free(p);
	curl_global_cleanup();
}

int
mailin_poller_new(struct app *app, struct mailin_poller **out, char *err, size_t errsize)
{
	struct mailin_poller *p;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(err, errsize, "libcurl cannot be initialised");
		return -1;
	}
	p = calloc(1, sizeof(*p));
	if (p == NULL) {
		curl_global_cleanup();
		snprintf(err, errsize, "out of memory");
		return -1;
	}
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	p->app = app;
	p->interval = app->cfg.imap_interval > 0 ? app->cfg.imap_interval : 60;
	if (mailin_config(app, &p->cfg, err, errsize) != 0 ||
	    split_url(p, app->cfg.imap_url, err, errsize) != 0)
		goto fail;
	p->curl = curl_easy_init();
	if (p->curl == NULL) {
		snprintf(err, errsize, "libcurl: no handle");
		goto fail;
	}
	curl_easy_setopt(p->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(p->curl, CURLOPT_ERRORBUFFER, p->errbuf);
	curl_easy_setopt(p->curl, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(p->curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(p->curl, CURLOPT_LOW_SPEED_TIME, 30L);
	curl_easy_setopt(p->curl, CURLOPT_PROTOCOLS_STR, "imap,imaps");
	*out = p;
	return 0;
fail:
	mailin_poller_free(p);
	return -1;
}

int
mailin_poller_start(struct mailin_poller *p)
{
	if (pthread_create(&p->thread, NULL, loop, p) != 0)
		return -1;
	p->started = 1;
	log_info("imap %s: polled every %ld s", p->key, p->interval);
	return 0;
}

void
mailin_poller_stop(struct mailin_poller *p)
{
	if (p == NULL)
		return;
	if (p->started) {
		pthread_mutex_lock(&p->lock);
		p->stop = 1;
		pthread_cond_signal(&p->cond);
		pthread_mutex_unlock(&p->lock);
		pthread_join(p->thread, NULL);
		p->started = 0;
	}
	mailin_poller_free(p);
}
