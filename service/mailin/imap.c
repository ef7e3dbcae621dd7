/*
 * imap.c: the IMAP poller of `civicdesk serve`. libcurl connects and logs in; the commands go
 * over that one connection (imapc.c), which stays open between polls. Every interval: SELECT
 * (the mailbox's UIDVALIDITY), the UIDs to fetch (UID SEARCH), their sizes, then batches of up
 * to BATCH messages fetched with one UID FETCH … BODY.PEEK[] each, stored (ingest.c) while the
 * next batch is fetched, and marked \Seen with one UID STORE over the batch's set once its
 * items are committed (sent ahead of the next UID FETCH: its answer is read with that one's).
 * A message over MAIL_RAW_MAX is not fetched: its header alone (BODY.PEEK[HEADER], HEAD_MAX
 * bytes), so that its sender is told (ingest.c). What is stored and looked up goes through core
 * (ingest.c; core/mailin.c).
 *
 * Exactly once: the position (mailbox, UIDVALIDITY, UID) is written with each message, in the
 * transaction that stores it. BODY.PEEK leaves \Seen alone, so a message is \Seen only once it
 * is stored: a message left for later (storage busy) stays unseen and is fetched again; one
 * stored but not yet marked (a crash, a dropped connection between the commit and the STORE)
 * is marked at the next poll. \Seen never decides alone what is fetched: every UID above the
 * stored window is looked at too (a person may have read the mailbox first).
 */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "service/core/core.h"
#include "mailin_int.h"

#define BATCH 64                      /* messages fetched with one UID FETCH, then stored */
#define BATCH_BYTES (32L * 1024 * 1024) /* bytes of the messages of one batch at most */
#define WINDOW (2 * BATCH)            /* stored UIDs above the floor looked at again */
#define SET_UIDS 2000                 /* UIDs named in one command at most */
#define SEARCH_MAX 1000000            /* UIDs taken from one poll's searches */
#define SAY_AGAIN 3600                 /* seconds between log lines of a mailbox out of reach */
#define INFLIGHT 2                    /* batches being stored while the next is fetched */
#define HEAD_MAX 65536                /* bytes of the header of a message too large fetched */

struct mailin_poller {
	struct app *app;
	struct mail_config cfg;
	char *base;      /* imap[s]://user:pass@host:port/ */
	char *mailbox;   /* the mailbox name, decoded ("INBOX") */
	char *key;       /* the URL without credentials: mail_in.mailbox */
	long interval;   /* seconds */
	CURL *curl;      /* the handle of the connection (NULL after a failure, until reopened) */
	struct imapc *conn; /* the logged-in connection, NULL until (re)opened */
	struct mail_pin *pin; /* the charset tables, loaded once */
	char errbuf[CURL_ERROR_SIZE];
	char why[CURL_ERROR_SIZE + 64]; /* why the poll failed (no credentials); "" until it does */
	int64_t failing_since;          /* the first poll of those failing in a row; 0: none */
	int64_t failures;               /* polls failed in a row */
	int64_t said;                   /* when the failure was last logged */
	char last_why[CURL_ERROR_SIZE + 64]; /* the reason last logged */
	pthread_t thread;
	int started;
	pthread_mutex_t lock;
	pthread_cond_t cond; /* signalled to stop */
	int stop;
};

/* A list of UIDs. */
struct uids {
	int64_t *v;
	size_t n, cap;
};

static int
uids_add(struct uids *u, int64_t uid)
{
	int64_t *nv;

	if (u->n == u->cap) {
		if (u->n >= SEARCH_MAX)
			return 0;
		nv = realloc(u->v, (u->cap ? u->cap * 2 : 256) * sizeof(*nv));
		if (nv == NULL)
			return -1;
		u->v = nv;
		u->cap = u->cap ? u->cap * 2 : 256;
	}
	u->v[u->n++] = uid;
	return 0;
}

static int
cmp_uid(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* "1:5,7,9:12" for the ascending uids[0..n) into a new string. */
static char *
uid_set(const int64_t *uids, size_t n)
{
	char *s = malloc(n * 42 + 1);
	size_t i = 0, j, off = 0;

	if (s == NULL)
		return NULL;
	s[0] = '\0';
	while (i < n) {
		for (j = i; j + 1 < n && uids[j + 1] == uids[j] + 1; j++)
			;
		if (j > i)
			off += (size_t)sprintf(s + off, "%s%lld:%lld", off ? "," : "", (long long)uids[i],
			                       (long long)uids[j]);
		else
			off += (size_t)sprintf(s + off, "%s%lld", off ? "," : "", (long long)uids[i]);
		i = j + 1;
	}
	return s;
}

/* The number after word in text (e.g. "UIDVALIDITY 1795964073"), or -1. */
static int64_t
number_after(const char *text, const char *word)
{
	const char *q = text != NULL ? strstr(text, word) : NULL;
	char *end;
	long long v;

	if (q == NULL)
		return -1;
	v = strtoll(q + strlen(word), &end, 10);
	return end != q + strlen(word) && v >= 0 ? (int64_t)v : -1;
}

/* The UID of a FETCH response ("… (UID 12 …" or "… UID 12)"), or -1. */
static int64_t
fetch_uid(const char *text)
{
	const char *q = strstr(text, " FETCH (");
	int64_t v;

	if (q == NULL)
		return -1;
	v = number_after(q, "(UID ");
	return v >= 0 ? v : number_after(q, " UID ");
}

/* A new curl handle for the next connection (its options): 0 or -1. */
static int
new_handle(struct mailin_poller *p)
{
	p->curl = curl_easy_init();
	if (p->curl == NULL)
		return -1;
	curl_easy_setopt(p->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(p->curl, CURLOPT_ERRORBUFFER, p->errbuf);
	curl_easy_setopt(p->curl, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(p->curl, CURLOPT_PROTOCOLS_STR, "imap,imaps");
	return 0;
}

/* Drops the connection (a failed command leaves it in no known state); the next poll opens a
 * new one. */
static void
close_conn(struct mailin_poller *p)
{
	imapc_free(p->conn);
	p->conn = NULL;
	if (p->curl != NULL)
		curl_easy_cleanup(p->curl);
	p->curl = NULL;
}

/* Why the poll failed, unless a reason was given already. */
static void
failed(struct mailin_poller *p, const char *why)
{
	if (p->why[0] == '\0')
		snprintf(p->why, sizeof(p->why), "%s", why);
}

/* Opens the connection if there is none. 0 or -1 (why in p->why). */
static int
open_conn(struct mailin_poller *p)
{
	if (p->conn != NULL)
		return 0;
	if (p->curl == NULL && new_handle(p) != 0) {
		failed(p, "libcurl: no handle");
		return -1;
	}
	if (imapc_open(p->curl, p->base, p->errbuf, p->key, (size_t)MAIL_RAW_MAX, &p->conn) != 0) {
		failed(p, p->errbuf);
		close_conn(p);
		return -1;
	}
	return 0;
}

/* --- what the commands answer ---------------------------------------------------------------- */

static int
on_select(void *cls, struct imapc_resp *r)
{
	int64_t *validity = cls, v = number_after(r->text, "[UIDVALIDITY ");

	if (v >= 0)
		*validity = v;
	return 0;
}

static int
on_search(void *cls, struct imapc_resp *r)
{
	struct uids *u = cls;
	const char *q = r->text;
	char *end;
	long long v;

	if (strncmp(q, "* SEARCH", 8) != 0)
		return 0;
	q += 8;
	while (*q == ' ') {
		v = strtoll(q + 1, &end, 10);
		if (end == q + 1 || v <= 0)
			break;
		if (uids_add(u, (int64_t)v) != 0)
			return -1;
		q = end;
	}
	return 0;
}

/* One fetched message and what storing it did. */
struct job {
	int64_t uid;
	int64_t size;  /* RFC822.SIZE; -1 until known */
	char *raw;     /* the message, NULL until fetched */
	size_t len;
	int over;      /* larger than MAIL_RAW_MAX: not fetched */
	char *head;    /* such a message's header (up to HEAD_MAX bytes), NULL until fetched */
	size_t head_len;
	int head_lost; /* its header could not be asked for (the connection failed) */
	int fetched;
	enum mailin_outcome outcome;
};

struct jobs {
	struct job *v;
	size_t n;
};

static struct job *
job_of(struct jobs *j, int64_t uid)
{
	size_t lo = 0, hi = j->n, mid;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		if (j->v[mid].uid == uid)
			return &j->v[mid];
		if (j->v[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static int
on_size(void *cls, struct imapc_resp *r)
{
	struct job *j = job_of(cls, fetch_uid(r->text));
	int64_t size = number_after(r->text, "RFC822.SIZE ");

	if (j != NULL && size >= 0)
		j->size = size;
	return 0;
}

static int
on_body(void *cls, struct imapc_resp *r)
{
	struct job *j = job_of(cls, fetch_uid(r->text));
	const char *b = strstr(r->text, "BODY[] {"), *e = b != NULL ? strchr(b, '}') : NULL;
	size_t i;

	if (j == NULL || e == NULL)
		return 0; /* a FLAGS change, or a message expunged meanwhile (BODY[] NIL) */
	for (i = 0; i < r->nlit; i++) {
		if (r->lit[i].at != (size_t)(e - r->text) + 1)
			continue;
		free(j->raw);
		j->raw = r->lit[i].data;
		j->len = r->lit[i].len;
		j->over = r->lit[i].size > r->lit[i].len;
		j->fetched = 1;
		r->lit[i].data = NULL;
	}
	return 0;
}

static int
on_head(void *cls, struct imapc_resp *r)
{
	struct job *j = job_of(cls, fetch_uid(r->text));
	const char *b = strstr(r->text, "BODY[HEADER]"), *e = b != NULL ? strchr(b, '}') : NULL;
	size_t i;

	if (j == NULL || e == NULL)
		return 0;
	for (i = 0; i < r->nlit; i++) {
		if (r->lit[i].at != (size_t)(e - r->text) + 1)
			continue;
		free(j->head);
		j->head = r->lit[i].data;
		j->head_len = r->lit[i].len;
		r->lit[i].data = NULL;
	}
	return 0;
}

/* The poller's conversation without a database (the fuzz target's): SELECT, UID SEARCH, the
 * sizes and the bodies of the first BATCH UIDs found, a UID STORE sent ahead and flushed. */
int
imap_exercise(struct imapc *c, size_t *fetched, size_t *bytes)
{
	struct uids u = {0};
	struct jobs all = {0};
	int64_t validity = -1;
	char *set = NULL;
	size_t i, k;
	int ret = -1;

	*fetched = *bytes = 0;
	if (imapc_cmd(c, on_select, &validity, "SELECT \"INBOX\"") < 0 ||
	    imapc_cmd(c, on_search, &u, "UID SEARCH UNSEEN") < 0)
		goto out;
	if (u.n > 1)
		qsort(u.v, u.n, sizeof(*u.v), cmp_uid);
	for (i = 1, k = u.n > 0; i < u.n && k < BATCH; i++)
		if (u.v[i] != u.v[k - 1])
			u.v[k++] = u.v[i];
	all.v = calloc(k > 0 ? k : 1, sizeof(*all.v));
	set = uid_set(u.v, k);
	if (all.v == NULL || set == NULL)
		goto out;
	all.n = k;
	for (i = 0; i < k; i++) {
		all.v[i].uid = u.v[i];
		all.v[i].size = -1;
	}
	if (imapc_cmd(c, on_size, &all, "UID FETCH %s (UID RFC822.SIZE)", set) < 0 ||
	    imapc_cmd(c, on_body, &all, "UID FETCH %s (UID BODY.PEEK[])", set) < 0 ||
	    imapc_send(c, "UID STORE %s +FLAGS.SILENT (\\Seen)", set) < 0 || imapc_flush(c) < 0)
		goto out;
	for (i = 0; i < all.n; i++)
		if (all.v[i].fetched) {
			(*fetched)++;
			*bytes += all.v[i].len;
		}
	ret = 0;
out:
	for (i = 0; i < all.n; i++)
		free(all.v[i].raw);
	free(all.v);
	free(set);
	free(u.v);
	return ret;
}

/* --- storing a batch ------------------------------------------------------------------------ */

/* A batch: stored by its own thread (mailin_store_batch: one transaction for its new items)
 * while the next one is fetched. */
struct batch {
	struct mailin_poller *p;
	struct mailin_source src;
	struct job *jobs;
	size_t n;
	pthread_t thread;
	int running;
};

static void *
store_batch(void *cls)
{
	struct batch *b = cls;
	struct mailin_msg msgs[BATCH];
	size_t i, k = 0, idx[BATCH];

	for (i = 0; i < b->n && k < BATCH; i++) {
		struct job *j = &b->jobs[i];

		if ((!j->fetched && !j->over) || j->head_lost) {
			/* not fetched: expunged, or the connection dropped (a message too large: its
			 * header, so that its sender is told) */
			j->outcome = MAILIN_RETRY;
			continue;
		}
		memset(&msgs[k], 0, sizeof(msgs[k]));
		msgs[k].raw = j->raw != NULL ? j->raw : "";
		msgs[k].len = !j->over                      ? j->len
		              : j->size > (int64_t)MAIL_RAW_MAX ? (size_t)j->size
		                                                : (size_t)MAIL_RAW_MAX + 1;
		msgs[k].head = j->head;
		msgs[k].head_len = j->head_len;
		msgs[k].src = b->src;
		msgs[k].src.uid = j->uid;
		idx[k++] = i;
	}
	mailin_store_batch(b->p->app, &b->p->cfg, msgs, k, app_now(b->p->app));
	for (i = 0; i < k; i++) {
		struct job *j = &b->jobs[idx[i]];

		j->outcome = msgs[i].outcome;
		if (j->outcome == MAILIN_RETRY)
			log_warn("imap %s: UID %lld not stored: tried again at the next poll",
			         b->p->key, (long long)j->uid);
		free(j->raw);
		j->raw = NULL;
		free(j->head);
		j->head = NULL;
	}
	return NULL;
}

/* Waits for the thread storing b, counts what it did into st, and marks the stored ones \Seen
 * with one STORE (when the connection is up): sent ahead of the next command (ahead), whose
 * answer is read with that command's, else waited for. Returns the number left for later. */
static size_t
finish_batch(struct mailin_poller *p, struct batch *b, struct mailin_poll_stats *st, int ahead)
{
	int64_t ok[BATCH];
	size_t i, nok = 0, again = 0;
	char *set;
	int rc;

	if (b->jobs == NULL)
		return 0; /* none stored yet */
	if (b->running)
		pthread_join(b->thread, NULL);
	b->running = 0;
	for (i = 0; i < b->n; i++) {
		switch (b->jobs[i].outcome) {
		case MAILIN_RETRY:
			st->retry++;
			again++;
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
		ok[nok++] = b->jobs[i].uid;
	}
	b->jobs = NULL;
	if (nok > 0 && p->conn != NULL) {
		set = uid_set(ok, nok);
		if (set == NULL)
			rc = -1;
		else if (ahead)
			rc = imapc_send(p->conn, "UID STORE %s +FLAGS.SILENT (\\Seen)", set);
		else
			rc = imapc_cmd(p->conn, NULL, NULL, "UID STORE %s +FLAGS.SILENT (\\Seen)", set);
		if (rc < 0)
			close_conn(p); /* marked at the next poll */
		free(set);
	}
	b->n = 0;
	return again;
}

/* --- one poll ---------------------------------------------------------------------------- */

static int
stopping(struct mailin_poller *p)
{
	int stop;

	pthread_mutex_lock(&p->lock);
	stop = p->stop;
	pthread_mutex_unlock(&p->lock);
	return stop;
}

/* Runs the command "head SET tail" over uids[0..n) in sets of SET_UIDS. 0, 1 (NO), -1. */
static int
over_sets(struct mailin_poller *p, imapc_untagged_fn *fn, void *cls, const char *head,
          const char *tail, const int64_t *uids, size_t n)
{
	size_t i, k;
	char *set;
	int rc = 0;

	for (i = 0; i < n && rc == 0; i += k) {
		k = n - i < SET_UIDS ? n - i : SET_UIDS;
		set = uid_set(uids + i, k);
		if (set == NULL)
			return -1;
		rc = imapc_cmd(p->conn, fn, cls, "%s %s %s", head, set, tail);
		free(set);
	}
	return rc;
}

/* The UIDs to fetch (not stored) into todo, and those stored but not \Seen into mark. */
static int
what_to_do(struct mailin_poller *p, int64_t validity, struct uids *todo, struct uids *mark)
{
	struct uids above = {0}, unseen = {0};
	unsigned char *known = NULL;
	int64_t floor = 0;
	size_t i, k;
	int ret = -1;

	if (core_mail_imap_floor(p->app, p->key, validity, WINDOW, &floor) != 0)
		return -1;
	if (imapc_cmd(p->conn, on_search, &above, "UID SEARCH UID %lld:*", (long long)floor + 1) != 0 ||
	    imapc_cmd(p->conn, on_search, &unseen, "UID SEARCH UNSEEN") != 0)
		goto out;
	known = malloc(above.n + unseen.n + 1);
	if (known == NULL ||
	    core_mail_imap_known(p->app, p->key, validity, unseen.v, unseen.n, known) != 0 ||
	    core_mail_imap_known(p->app, p->key, validity, above.v, above.n, known + unseen.n) != 0)
		goto out;
	for (i = 0; i < unseen.n; i++)
		if ((known[i] && uids_add(mark, unseen.v[i]) != 0) ||
		    (!known[i] && unseen.v[i] <= floor && uids_add(todo, unseen.v[i]) != 0))
			goto out;
	for (i = 0; i < above.n; i++) /* "N:*" names the highest UID even below N */
		if (above.v[i] > floor && !known[unseen.n + i] && uids_add(todo, above.v[i]) != 0)
			goto out;
	if (todo->n > 1)
		qsort(todo->v, todo->n, sizeof(*todo->v), cmp_uid);
	if (mark->n > 1)
		qsort(mark->v, mark->n, sizeof(*mark->v), cmp_uid);
	/* a UID in both searches is fetched once */
	for (i = 1, k = todo->n > 0; i < todo->n; i++)
		if (todo->v[i] != todo->v[k - 1])
			todo->v[k++] = todo->v[i];
	todo->n = k;
	ret = 0;
out:
	free(known);
	free(above.v);
	free(unseen.v);
	return ret;
}

int
mailin_poll_once(struct mailin_poller *p, struct mailin_poll_stats *st)
{
	struct uids todo = {0}, mark = {0};
	struct jobs all = {0};
	struct batch b[INFLIGHT];
	int64_t validity = -1, bytes;
	size_t i, k, cur = 0, again = 0;
	int ret = -1, rc, reused;
	struct timespec t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	memset(st, 0, sizeof(*st));
	memset(b, 0, sizeof(b));
	p->why[0] = '\0';
	reused = p->conn != NULL;
	if (open_conn(p) != 0)
		goto out;
	rc = imapc_cmd(p->conn, on_select, &validity, "SELECT \"%s\"", p->mailbox);
	if (rc < 0 && reused) { /* the server closed the idle connection: once more, anew */
		close_conn(p);
		if (open_conn(p) != 0)
			goto out;
		rc = imapc_cmd(p->conn, on_select, &validity, "SELECT \"%s\"", p->mailbox);
	}
	if (rc != 0 || validity < 0) {
		if (rc == 0)
			log_warn("imap %s: no UIDVALIDITY in the SELECT answer", p->key);
		snprintf(p->why, sizeof(p->why), "the mailbox \"%.64s\" %s", p->mailbox,
		         rc > 0 ? "cannot be selected (the server said NO)"
		                : rc == 0 ? "has no UIDVALIDITY" : "could not be selected: the "
		                                                   "connection failed");
		goto fail;
	}
	if (what_to_do(p, validity, &todo, &mark) != 0)
		goto fail;
	if (mark.n > 0 && over_sets(p, NULL, NULL, "UID STORE", "+FLAGS.SILENT (\\Seen)", mark.v,
	                            mark.n) < 0)
		goto fail;
	if (todo.n == 0) {
		ret = 0;
		goto out;
	}
	/* sizes first: a batch holds at most BATCH_BYTES, a message over the limit is not fetched */
	all.v = calloc(todo.n, sizeof(*all.v));
	if (all.v == NULL)
		goto out;
	all.n = todo.n;
	for (i = 0; i < todo.n; i++) {
		all.v[i].uid = todo.v[i];
		all.v[i].size = -1;
	}
	if (over_sets(p, on_size, &all, "UID FETCH", "(UID RFC822.SIZE)", todo.v, todo.n) != 0)
		goto fail;
	/* batch i is fetched while i - 1 and i - 2 are stored (parsing, committing); i - 2 is
	 * marked \Seen once it is committed, before i is handed to its thread */
	for (i = 0; i < all.n && !stopping(p) && again == 0; i += k) {
		int64_t want[BATCH], big[BATCH];
		size_t nwant = 0, nbig = 0, m;
		struct batch *nb = &b[cur];
		struct jobs batch_jobs;

		bytes = 0;
		for (k = 0; i + k < all.n && k < BATCH; k++) {
			struct job *j = &all.v[i + k];

			if (k > 0 && bytes + j->size > BATCH_BYTES)
				break;
			if (j->size > MAIL_RAW_MAX) {
				j->over = 1; /* recorded as too large, never fetched: its header alone */
				big[nbig++] = j->uid;
			} else if (j->size >= 0) {
				want[nwant++] = j->uid;
				bytes += j->size;
			}
		}
		batch_jobs.v = all.v + i;
		batch_jobs.n = k;
		if (nwant > 0) {
			char *set = uid_set(want, nwant);

			rc = set != NULL ? imapc_cmd(p->conn, on_body, &batch_jobs,
			                             "UID FETCH %s (UID BODY.PEEK[])", set)
			                 : -1;
			free(set);
			if (rc < 0)
				close_conn(p); /* store what came; the rest at the next poll */
		}
		if (nbig > 0) {
			char *set = p->conn != NULL ? uid_set(big, nbig) : NULL;

			rc = set != NULL ? imapc_cmd(p->conn, on_head, &batch_jobs,
			                             "UID FETCH %s (UID BODY.PEEK[HEADER]<0.%d>)", set,
			                             HEAD_MAX)
			                 : -1;
			free(set);
			if (rc < 0) { /* each too large is left for the next poll, to tell its sender */
				for (m = 0; m < k; m++)
					all.v[i + m].head_lost = all.v[i + m].over;
				close_conn(p);
			}
		}
		/* the one fetched two rounds ago: its STORE goes with the next FETCH */
		again += finish_batch(p, nb, st, 1);
		memset(nb, 0, sizeof(*nb));
		nb->p = p;
		nb->src.mailbox = p->key;
		nb->src.uidvalidity = validity;
		nb->jobs = all.v + i;
		nb->n = k;
		if (pthread_create(&nb->thread, NULL, store_batch, nb) == 0)
			nb->running = 1;
		else
			store_batch(nb);
		cur = (cur + 1) % INFLIGHT;
		if (p->conn == NULL)
			break;
	}
	for (k = 0; k < INFLIGHT; k++) {
		again += finish_batch(p, &b[cur], st, 0);
		cur = (cur + 1) % INFLIGHT;
	}
	if (p->conn != NULL && imapc_flush(p->conn) < 0)
		close_conn(p);
	ret = p->conn != NULL ? 0 : -1;
	goto out;
fail:
	close_conn(p);
out:
	if (ret != 0)
		failed(p, "the IMAP session failed during the poll (the log says where)");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (st->stored + st->duplicate + st->ignored + st->retry > 0)
		log_info("imap %s: %zu stored, %zu already stored, %zu ignored, %zu to retry in %.3f s",
		         p->key, st->stored, st->duplicate, st->ignored, st->retry,
		         (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	for (i = 0; i < all.n; i++) {
		free(all.v[i].raw);
		free(all.v[i].head);
	}
	free(all.v);
	free(todo.v);
	free(mark.v);
	return ret;
}

/* 1 if two reasons for a failed poll say the same: runs of digits compare equal, for libcurl's
 * messages carry a timing ("Failed to connect to 127.0.0.1 port 143 after 1 ms"). */
static int
same_reason(const char *a, const char *b)
{
	while (*a != '\0' && *b != '\0') {
		if (isdigit((unsigned char)*a) && isdigit((unsigned char)*b)) {
			while (isdigit((unsigned char)*a))
				a++;
			while (isdigit((unsigned char)*b))
				b++;
			continue;
		}
		if (*a++ != *b++)
			return 0;
	}
	return *a == *b;
}

/* Records how the poll that ended at now went (rc: mailin_poll_once's), and says so in the log
 * when it changes: the first failure, a different reason, every SAY_AGAIN seconds while the
 * mailbox stays out of reach, and the first success after failures. */
static void
polled(struct mailin_poller *p, int rc, int64_t now)
{
	if (rc == 0) {
		if (p->failures > 0)
			log_info("imap %s: polled again after %lld failed polls since %lld s ago",
			         p->key, (long long)p->failures, (long long)(now - p->failing_since));
		p->failures = 0;
		p->failing_since = 0;
		p->said = 0;
		p->last_why[0] = '\0';
	} else {
		if (p->failures++ == 0)
			p->failing_since = now;
		if (p->failures == 1 || !same_reason(p->why, p->last_why)) {
			log_warn("imap %s: the poll failed: %s", p->key, p->why);
			p->said = now;
		} else if (now - p->said >= SAY_AGAIN) {
			log_warn("imap %s: still failing, %lld polls since %lld s ago: %s", p->key,
			         (long long)p->failures, (long long)(now - p->failing_since), p->why);
			p->said = now;
		}
		snprintf(p->last_why, sizeof(p->last_why), "%s", p->why);
	}
	if (core_mail_polled(p->app, p->key, now, rc == 0 ? NULL : p->why) != 0)
		log_warn("imap %s: the poll's outcome could not be recorded", p->key);
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
		polled(p, mailin_poll_once(p, &st), app_now(p->app));
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
	if (p->key == NULL || p->base == NULL)
		goto bad;
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
	imapc_free(p->conn);
	mail_charsets_unpin(p->pin);
	if (p->curl != NULL)
		curl_easy_cleanup(p->curl);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	free(p->base);
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
	p->pin = mail_charsets_pin();
	if (new_handle(p) != 0) {
		snprintf(err, errsize, "libcurl: no handle");
		goto fail;
	}
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
