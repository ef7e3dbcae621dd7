/* notify.c: configuration of the notifiers, the dispatcher (one pass, and the thread that runs
 * passes) and the ladder scan thread. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <auth-client.h>
#include <curl/curl.h>
#include <gmime/gmime.h>
#include <sodium.h>

#include "notifiers_int.h"

#define MID_MAX 160 /* bytes of a Message-ID */
#define WHY_MAX 200 /* bytes of the reason a ladder notice was dropped */

void
notify_log(const char *fmt, ...)
{
	va_list ap;

	fputs("civicdesk: notify: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void
notify_config_defaults(struct notify_config *cfg)
{
	cfg->smtp_url = "";
	cfg->smtp_from = "civicdesk@localhost";
	cfg->smtp_starttls = "optional";
	cfg->sms_url = "";
	cfg->sms_quiet = "21:00-08:00 rest-days";
	cfg->scan_interval = 60;
	cfg->backoff_min = 60;
	cfg->backoff_max = 3600;
	cfg->give_up = 86400;
	cfg->sms_connect_timeout = 5000;
	cfg->sms_timeout = 15000;
	cfg->smtp_timeout = 60;
	cfg->batch = 100;
	cfg->poll_ms = 1000;
	cfg->digest = "mon 09:00";
	cfg->smtp_user = "";
	cfg->smtp_password = "";
	cfg->sms_method = "POST";
	cfg->sms_headers = "";
	cfg->sms_format = "json";
	cfg->sms_body = "";
	cfg->sms_success = "";
	cfg->sms_segment_chars = 70;
	cfg->sms_max_segments = 0;
	cfg->sms_citizens = 0;
	cfg->public_url = "";
	cfg->listen = "127.0.0.1:8080";
	cfg->combine_max = 20;
}

/* 1 if libcurl takes url as a URL with a host (and a port of 1 to 65535 when it names one),
 * 0 if not, -1 out of memory. */
static int
url_usable(const char *url)
{
	CURLU *u = curl_url();
	char *host = NULL;
	int rc = -1;

	if (u == NULL)
		return -1;
	rc = curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	     curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK && host != NULL &&
	     host[0] != '\0';
	curl_free(host);
	curl_url_cleanup(u);
	return rc;
}

/* url as it may be shown in a message (the journal keeps it): its user name and password, if
 * it holds any, as "***"; url itself, or buf. */
static const char *
url_shown(const char *url, char *buf, size_t size)
{
	const char *host = strstr(url, "://"), *at = NULL, *p;

	if (host == NULL)
		return url;
	host += 3;
	for (p = host; *p != '\0' && *p != '/' && *p != '?' && *p != '#'; p++)
		if (*p == '@')
			at = p;
	if (at == NULL)
		return url;
	snprintf(buf, size, "%.*s***%s", (int)(host - url), url, at);
	return buf;
}

int
notify_config_check(const struct notify_config *cfg, char *err, size_t errsize)
{
	struct notify_quiet q;
	char hp[300], name[256], addr[256], shown[600];
	const char *url;

	url = url_shown(cfg->smtp_url, shown, sizeof(shown));
	if (url != cfg->smtp_url) {
		snprintf(err, errsize,
		         "smtp_url: '%s' holds a user name or password, which do not go in it: give "
		         "them as smtp_user and smtp_password (CIVICDESK_SMTP_USER, "
		         "CIVICDESK_SMTP_PASSWORD)",
		         url);
		return -1;
	}
	if (cfg->smtp_url[0] != '\0' && notify_smtp_hostport(cfg->smtp_url, hp, sizeof(hp)) != 0) {
		snprintf(err, errsize, "smtp_url: '%s' is not smtp://HOST[:PORT] or smtps://HOST[:PORT]",
		         url);
		return -1;
	}
	if (strcmp(cfg->smtp_starttls, "off") != 0 && strcmp(cfg->smtp_starttls, "optional") != 0 &&
	    strcmp(cfg->smtp_starttls, "required") != 0) {
		snprintf(err, errsize, "smtp_starttls: give off, optional or required");
		return -1;
	}
	if (notify_sender(cfg->smtp_from, name, sizeof(name), addr, sizeof(addr)) != 0) {
		snprintf(err, errsize,
		         "smtp_from: '%s' is not an e-mail address (civicdesk@bureau.example, or with "
		         "a name: 信访办 <xf@bureau.example>)",
		         cfg->smtp_from);
		return -1;
	}
	/* a scheme in any case (RFC 3986), as curl takes it */
	if (cfg->sms_url[0] != '\0' && ((g_ascii_strncasecmp(cfg->sms_url, "http://", 7) != 0 &&
	                                 g_ascii_strncasecmp(cfg->sms_url, "https://", 8) != 0) ||
	                                url_usable(cfg->sms_url) != 1)) {
		snprintf(err, errsize, "sms_url: '%s' is not an http:// or https:// URL",
		         url_shown(cfg->sms_url, shown, sizeof(shown)));
		return -1;
	}
	if (notify_quiet_parse(cfg->sms_quiet, &q, err, errsize) != 0)
		return -1;
	if (notify_sms_config_check(cfg, err, errsize) != 0)
		return -1;
	{
		int wd, min;

		if (notify_weekly_parse(cfg->digest, &wd, &min) != 0) {
			snprintf(err, errsize, "digest: '%s' is not \"mon 09:00\" (a weekday and a "
			         "time) or \"off\"", cfg->digest);
			return -1;
		}
	}
	if (cfg->scan_interval < 1 || cfg->backoff_min < 1 || cfg->backoff_max < cfg->backoff_min ||
	    cfg->give_up < 1 || cfg->batch < 1 || cfg->poll_ms < 10 || cfg->sms_timeout < 1 ||
	    cfg->sms_connect_timeout < 1 || cfg->smtp_timeout < 1 || cfg->combine_max < 1) {
		snprintf(err, errsize,
		         "scan_interval, backoff_min, give_up, the timeouts must be positive and "
		         "backoff_max at least backoff_min");
		return -1;
	}
	return 0;
}

void
notify_message_id(const struct notify_config *cfg, int64_t id, char *buf, size_t size)
{
	unsigned char rnd[8];
	char hex[sizeof(rnd) * 2 + 1];
	/* the sender's domain: after its last '@', up to the '>' of a name form */
	const char *at = strrchr(cfg->smtp_from, '@');
	const char *domain = at != NULL && at[1] != '\0' && at[1] != '>' ? at + 1 : "localhost";
	int dlen = (int)strcspn(domain, "> \t");

	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(hex, sizeof(hex), rnd, sizeof(rnd));
	snprintf(buf, size, "civicdesk.%lld.%s@%.*s", (long long)id, hex, dlen > 100 ? 100 : dlen,
	         domain);
}

void
notify_format_time(int64_t t, char *buf, size_t size)
{
	char iso[32];

	/* 2025-10-14T23:59:59+08:00 → 2025-10-14 23:59 */
	sla_format_local(t, iso, sizeof(iso));
	snprintf(buf, size, "%.10s %.5s", iso, iso + 11);
}

void
notify_notice_times(const struct notify_config *cfg, struct db_notice *n, int64_t now,
                    int64_t sms_after)
{
	n->created = now;
	n->send_after = now;
	n->give_up_at = now + cfg->give_up;
	if (strcmp(n->channel, "sms") == 0) {
		n->send_after = sms_after;
		/* a notice held by quiet hours still gets its whole retry time */
		n->give_up_at = n->send_after + cfg->give_up;
	}
}

int
notify_queue_at(struct db_conn *c, const struct notify_config *cfg, const struct db_notice *in,
                int64_t now, int64_t sms_after)
{
	struct db_notice n = *in;
	int rc;

	notify_notice_times(cfg, &n, now, sms_after);
	rc = db_outbox_add(c, &n, NULL);
	return rc < 0 ? -1 : rc;
}

int
notify_queue(struct db_conn *c, const struct notify_config *cfg, const struct sla_calendar *cal,
             const struct db_notice *in, int64_t now)
{
	struct notify_quiet q;
	char err[200];
	int64_t sms_after = now;

	if (strcmp(in->channel, "sms") == 0 &&
	    notify_quiet_parse(cfg->sms_quiet, &q, err, sizeof(err)) == 0)
		sms_after = notify_quiet_next(&q, cal, now);
	return notify_queue_at(c, cfg, in, now, sms_after);
}

/* --- the dispatcher ------------------------------------------------------------------------- */

/* Seconds to wait after the attempt-th failed attempt (1 = the first). */
static int64_t
backoff(const struct notify_config *cfg, int attempt)
{
	int64_t d = cfg->backoff_min;
	int i;

	for (i = 1; i < attempt && d < cfg->backoff_max; i++)
		d *= 2;
	return d < cfg->backoff_max ? d : cfg->backoff_max;
}

/* Adds to rows the pending rows of every message tried before (a Message-ID) that the due
 * query's limit cut off, so that such a message is sent again whole. 0 or -1. */
static int
complete_groups(struct db_conn *c, const char *channel, struct db_outbox **rows, size_t *n)
{
	struct db_outbox *grp = NULL, *nv;
	size_t ng = 0, i, j, k, len = *n;
	int found;

	for (i = 0; i < len; i++) {
		const struct db_outbox *r = &(*rows)[i];

		if (r->message_id == NULL)
			continue;
		for (j = 0; j < i; j++) /* once per Message-ID */
			if ((*rows)[j].message_id != NULL &&
			    strcmp((*rows)[j].message_id, r->message_id) == 0)
				break;
		if (j < i)
			continue;
		if (db_outbox_group(c, channel, r->send_after, r->message_id, &grp, &ng) != 0)
			return -1;
		for (k = 0; k < ng; k++) {
			found = 0;
			for (j = 0; j < len && !found; j++)
				found = (*rows)[j].id == grp[k].id;
			if (found)
				continue;
			nv = realloc(*rows, (len + 1) * sizeof(**rows));
			if (nv == NULL) {
				db_outboxes_free(grp, ng);
				*n = len;
				return -1;
			}
			*rows = nv;
			(*rows)[len++] = grp[k];
			memset(&grp[k], 0, sizeof(grp[k])); /* moved */
		}
		db_outboxes_free(grp, ng);
		grp = NULL;
		ng = 0;
	}
	*n = len;
	return 0;
}

#define DISPATCH_ROUNDS 8 /* batches of one channel per pass */

static int stopping(struct notifier *n);

/* One batch of a channel: its rows, their messages and what became of them. */
struct batch {
	const struct notify_channel *ch;
	int sms;
	struct db_outbox *rows;
	size_t n;
	struct notify_group *groups;
	size_t ng;
	struct notify_msg *msgs;
	size_t k; /* messages */
	char (*mids)[MID_MAX];
	unsigned char *skip; /* 1: not this time (quiet hours), 2: dropped (why) */
	unsigned char *moved; /* 1: the account's address changed since the row was queued */
	char (*why)[WHY_MAX];
	int64_t *retry_at;
	unsigned char *marked; /* per message: its rows' results committed already */
	size_t *group;         /* per message: its group */
};

static void
batch_free(struct batch *b)
{
	free(b->retry_at);
	free(b->marked);
	free(b->group);
	free(b->why);
	free(b->mids);
	free(b->msgs);
	free(b->skip);
	free(b->moved);
	notify_groups_free(b->groups, b->ng);
	db_outboxes_free(b->rows, b->n);
	memset(b, 0, sizeof(*b));
}

/* Reads the due rows of b->ch (outside a transaction) and writes the text of the ladder's key
 * rows and of the citizens' acknowledgements (queued without it) from their items as they are
 * now; a notice to a staff account goes to the account's address as it is now. Marks those
 * that no longer hold (and those to an account no longer active or without an address for the
 * channel) to be dropped: 0 (b->n may be 0) or -1. */
static int
batch_load(struct db_conn *c, const struct notify_config *cfg, const struct sla_calendar *cal,
           struct batch *b, int64_t now)
{
	struct notify_render r;
	size_t i;
	int rc = 0, k;

	if (db_outbox_due(c, b->ch->name, now, (int)cfg->batch, &b->rows, &b->n) != 0)
		return -1;
	if (b->n == 0)
		return 0;
	if ((long)b->n >= cfg->batch && complete_groups(c, b->ch->name, &b->rows, &b->n) != 0)
		return -1;
	b->skip = calloc(b->n, 1);
	b->moved = calloc(b->n, 1);
	b->why = calloc(b->n, sizeof(*b->why));
	if (b->skip == NULL || b->moved == NULL || b->why == NULL)
		return -1;
	notify_render_init(&r);
	for (i = 0; i < b->n && rc == 0; i++) {
		k = 1;
		if (b->rows[i].body == NULL && b->rows[i].lkey != 0)
			k = notify_ladder_render(c, cal, &r, &b->rows[i], now, b->why[i], WHY_MAX);
		else if (b->rows[i].body == NULL)
			k = notify_citizen_render(c, cfg, &r, &b->rows[i], b->why[i], WHY_MAX);
		if (k > 0 && b->rows[i].account_id != 0)
			k = notify_render_account(c, &r, &b->rows[i], &b->moved[i], b->why[i],
			                          WHY_MAX);
		if (k < 0)
			rc = -1;
		else if (k == 0)
			b->skip[i] = 2;
	}
	notify_render_free(&r);
	return rc;
}

/* Logs what became of row: a citizen's address (a row of an item to no account) is not written
 * to the log, which names "the citizen of TRACKING" instead and masks the address in words
 * (the peer's answer may quote it). */
static void
log_row(const char *channel, const struct db_outbox *row, const char *what, const char *words)
{
	char to[96], masked[600];
	const char *p, *hit;
	size_t len = 0, rlen = strlen(row->recipient);

	if (row->account_id != 0 || row->item_id == 0 || rlen == 0) {
		notify_log("%s to %s (outbox %lld) %s: %s", channel, row->recipient,
		           (long long)row->id, what, words);
		return;
	}
	snprintf(to, sizeof(to), "the citizen of %s", row->tracking ? row->tracking : "an item");
	masked[0] = '\0';
	for (p = words; *p != '\0' && len + 4 < sizeof(masked); p = hit + rlen) {
		hit = strstr(p, row->recipient);
		if (hit == NULL)
			hit = p + strlen(p);
		len += (size_t)snprintf(masked + len, sizeof(masked) - len, "%.*s%s", (int)(hit - p),
		                        p, *hit != '\0' ? "***" : "");
		if (len >= sizeof(masked))
			len = sizeof(masked) - 1;
		if (*hit == '\0')
			break;
	}
	notify_log("%s to %s (outbox %lld) %s: %s", channel, to, (long long)row->id, what, masked);
}

/* 1 when ladder key rows a and b are notices of the same step of the same item (either
 * channel). */
static int
same_step(const struct db_outbox *a, const struct db_outbox *b)
{
	struct db_ladder_key ka, kb;

	return a->item_id == b->item_id && db_ladder_key_parse(a->lkey, &ka) == 0 &&
	       db_ladder_key_parse(b->lkey, &kb) == 0 && ka.kind == kb.kind &&
	       ka.clock == kb.clock && ka.due == kb.due && ka.day == kb.day;
}

/* Inside the caller's transaction: the recipients of each overdue notice of b resolved as it
 * is sent (notify_ladder_complete, once per step): a section head appointed since it was
 * queued gets it too, in a row of their own, sent by a later batch. 0 or -1. */
static int
complete_steps(struct db_conn *c, const struct notify_config *cfg, const struct sla_calendar *cal,
               struct batch *b, int64_t now)
{
	struct notify_render r;
	size_t i, j, added = 0;
	int rc = 0;

	notify_render_init(&r);
	for (i = 0; i < b->n && rc == 0; i++) {
		if (b->rows[i].lkey == 0 || b->rows[i].item_id == 0)
			continue;
		for (j = 0; j < i && !(b->rows[j].lkey != 0 && same_step(&b->rows[j], &b->rows[i]));
		     j++)
			;
		if (j < i) /* that step done already */
			continue;
		rc = notify_ladder_complete(c, cfg, cal, &r, &b->rows[i], now, &added);
	}
	notify_render_free(&r);
	if (added > 0)
		notify_log("%zu overdue notices queued for recipients found as they were sent", added);
	return rc;
}

/* Inside the caller's transaction: counts the attempt of each row and fixes its message's
 * Message-ID before anything leaves (SMS in quiet hours wait instead), combining the rows of
 * one recipient into one message each (combine.c). 0 or -1. */
static int
batch_claim(struct db_conn *c, const struct notify_config *cfg, const struct notify_quiet *q,
            const struct sla_calendar *cal, struct batch *b, int64_t now)
{
	int64_t next = b->sms ? notify_quiet_next(q, cal, now) : now, at;
	size_t i, j, m, ng;
	int r;

	for (i = 0; i < b->n; i++) {
		if (b->skip[i] == 0 && b->moved[i]) {
			r = db_outbox_readdress(c, b->rows[i].id, b->rows[i].recipient);
			if (r < 0)
				return -1;
			if (r == 0) { /* the account's new address has this notice already */
				snprintf(b->why[i], WHY_MAX, "the same notice to %.100s is queued already",
				         b->rows[i].recipient);
				b->skip[i] = 2;
			}
		}
		if (b->skip[i] == 2) {
			log_row(b->ch->name, &b->rows[i], "dropped", b->why[i]);
			if (db_outbox_dropped(c, b->rows[i].id, b->why[i]) < 0)
				return -1;
		} else if (next > now) {
			b->skip[i] = 1;
			if (db_outbox_later(c, b->rows[i].id, next, b->rows[i].last_error) < 0)
				return -1;
		}
	}
	if (complete_steps(c, cfg, cal, b, now) != 0)
		return -1;
	if (notify_group_rows(cfg, b->sms, b->rows, b->n, b->skip, &b->groups, &b->ng) != 0)
		return -1;
	ng = b->ng > 0 ? b->ng : 1;
	b->msgs = calloc(ng, sizeof(*b->msgs));
	b->mids = calloc(ng, sizeof(*b->mids));
	b->retry_at = calloc(ng, sizeof(*b->retry_at));
	b->marked = calloc(ng, 1);
	b->group = calloc(ng, sizeof(*b->group));
	if (b->msgs == NULL || b->mids == NULL || b->retry_at == NULL || b->marked == NULL ||
	    b->group == NULL)
		return -1;
	for (j = 0; j < b->ng; j++) {
		struct notify_group *g = &b->groups[j];
		const struct db_outbox *lead = &b->rows[g->idx[0]];

		if (lead->message_id != NULL)
			snprintf(b->mids[j], MID_MAX, "%s", lead->message_id);
		else
			notify_message_id(cfg, lead->id, b->mids[j], MID_MAX);
		at = now + backoff(cfg, lead->attempts + 1);
		b->retry_at[j] = b->sms ? notify_quiet_next(q, cal, at) : at;
		for (i = m = 0; i < g->n; i++) {
			r = db_outbox_claim(c, b->rows[g->idx[i]].id, now, b->mids[j], b->retry_at[j]);
			if (r < 0)
				return -1;
			if (r > 0)
				g->idx[m++] = g->idx[i];
		}
		g->n = m;
		if (m == 0 || notify_group_message(g, b->rows, b->sms) != 0) {
			g->n = 0;
			continue;
		}
		b->msgs[b->k].row = &g->msg;
		b->msgs[b->k].message_id = b->mids[j];
		b->msgs[b->k].date = now;
		g->msg_index = b->k;
		b->group[b->k] = j;
		b->k++;
	}
	return 0;
}

#define MARK_ALL ((size_t)-1)

/* Inside the caller's transaction: marks every row of message `only` of b (MARK_ALL: of each
 * message not marked yet) with its result. 0 or -1. */
static int
batch_mark(struct db_conn *c, const struct notify_quiet *q, const struct sla_calendar *cal,
           struct batch *b, int64_t now, size_t *sent, size_t only)
{
	size_t i, j, end = b->ng;
	int64_t at;
	int r;

	j = 0;
	if (only != MARK_ALL) { /* that message's group alone */
		j = b->group[only];
		end = j + 1;
	}
	for (; j < end; j++) {
		struct notify_group *g = &b->groups[j];
		const struct notify_msg *msg = &b->msgs[g->msg_index];
		char why[300];

		if (g->n == 0 || b->marked[g->msg_index] ||
		    (only != MARK_ALL && g->msg_index != only))
			continue;

		for (i = 0; i < g->n; i++) {
			const struct db_outbox *row = &b->rows[g->idx[i]];

			switch (msg->result) {
			case NOTIFY_SENT:
				r = db_outbox_sent(c, row->id, now);
				if (r > 0 && sent != NULL)
					(*sent)++;
				break;
			case NOTIFY_FAILED:
				log_row(b->ch->name, row, "failed", msg->error);
				r = db_outbox_failed(c, row->id, msg->error);
				break;
			default:
				if (row->give_up_at != 0 && now >= row->give_up_at) {
					snprintf(why, sizeof(why), DB_GAVE_UP "%d attempts: %s",
					         row->attempts + 1, msg->error);
					log_row(b->ch->name, row, "failed", why);
					r = db_outbox_failed(c, row->id, why);
					break;
				}
				at = b->retry_at[j];
				if (msg->retry_after > 0 && now + msg->retry_after > at)
					at = now + msg->retry_after;
				if (b->sms)
					at = notify_quiet_next(q, cal, at);
				r = db_outbox_later(c, row->id, at, msg->error);
				break;
			}
			if (r < 0)
				return -1;
		}
	}
	return 0;
}

/* What a message's done callback needs to record its result at once. */
struct mark_now {
	struct db_conn *c;
	const struct notify_quiet *q;
	const struct sla_calendar *cal;
	struct batch *b;
	int64_t now;
	size_t *sent;
	struct notifier *n;       /* NULL: none */
	struct db_sent_log *log;  /* e-mail: the log of accepted e-mails (NULL: none) */
};

/* Appends the rows of message i of b, accepted by the server, to log: 0 or -1. */
static int
log_accepted(struct db_sent_log *log, struct batch *b, size_t i)
{
	const struct notify_group *g = &b->groups[b->group[i]];
	int64_t ids[64] = {0}, *v = ids;
	size_t j;
	int rc;

	if (g->n > sizeof(ids) / sizeof(ids[0])) {
		v = malloc(g->n * sizeof(*v));
		if (v == NULL)
			return -1;
	}
	for (j = 0; j < g->n; j++)
		v[j] = b->rows[g->idx[j]].id;
	rc = db_sent_log_add(log, v, g->n, b->msgs[i].message_id);
	if (v != ids)
		free(v);
	return rc;
}

/* A message's done callback. An e-mail the server accepted is appended to the log of accepted
 * e-mails (one write: no transaction; an fdatasync per DB_SENT_LOG_GROUP e-mails); its rows are marked with the
 * batch, after the session, and the next pass marks what a crash left in the log. Any other
 * result, and an e-mail when there is no log or it cannot be written, is marked at once in a
 * transaction of its own (on failure, with the rest of the batch). Nonzero when the notifier
 * is stopping: no more SMS (an SMTP session goes on to the end of its batch). */
static int
mark_now(struct notify_msg *m, void *cls)
{
	struct mark_now *k = cls;
	size_t i = (size_t)(m - k->b->msgs);

	if (!k->b->sms && m->result == NOTIFY_SENT && k->log != NULL &&
	    log_accepted(k->log, k->b, i) == 0)
		return k->n != NULL && stopping(k->n);
	if (db_begin(k->c) == 0) {
		if (batch_mark(k->c, k->q, k->cal, k->b, k->now, k->sent, i) != 0)
			db_rollback(k->c);
		else if (db_commit(k->c) == 0)
			k->b->marked[i] = 1;
	}
	return k->n != NULL && stopping(k->n);
}

/* Marks sent, in a transaction of its own, the e-mails a crash left in log (accepted by the
 * server, not marked), then empties it: 0 or -1. */
static int
apply_log(struct db_conn *c, struct db_sent_log *log, int64_t now)
{
	size_t k = 0;

	if (db_sent_log_empty(log))
		return 0;
	if (db_begin(c) != 0)
		return -1;
	if (db_sent_log_apply(c, log, now, &k) != 0) {
		db_rollback(c);
		return -1;
	}
	if (db_commit(c) != 0)
		return -1;
	if (k > 0)
		notify_log("%zu e-mails accepted by the SMTP server before a crash marked sent", k);
	return db_sent_log_clear(log);
}

/* One pass of one channel: up to DISPATCH_ROUNDS batches, each claimed (one transaction, which
 * also marks the results of the previous batch), then sent as one batch (one SMTP session, one
 * reused HTTP connection). Each message's result is recorded as soon as the server or the
 * gateway answers it, before the next message goes out (mark_now: an e-mail at libesmtp's
 * SMTP_EV_MESSAGESENT, before its session writes the next MAIL FROM): an SMS in a transaction
 * of its own, an accepted e-mail in the log of accepted e-mails, applied by the next pass
 * (before it reads a row) when a crash came before the batch's marks, and emptied after them.
 * So a crash of the process at any moment sends again at most the one message whose answer
 * was being recorded, with the same Message-ID. (A power cut in the middle of a session sends
 * again at most DB_SENT_LOG_GROUP e-mails, under their Message-IDs: the log is synced every
 * DB_SENT_LOG_GROUP e-mails, before the next one goes out, the batch's marks right after the
 * session.) Rows sent again after a crash wait for their retry time,
 * which the claim set, so no later batch of the pass takes them again. When n (may be NULL) is
 * stopping, no batch is started after the one under way: a SIGTERM ends a drain after the SMS
 * under way, or after the SMTP session under way, every row sent marked, none sent twice. */
static int
dispatch_channel(struct db_conn *c, const struct notify_config *cfg,
                 const struct notify_channel *ch, const struct notify_quiet *q,
                 const struct sla_calendar *cal, int64_t now, size_t *sent, struct notifier *n)
{
	struct batch prev, cur;
	struct db_sent_log *log = NULL;
	int rc = -1, round, more = 1, sms = strcmp(ch->name, "sms") == 0;

	memset(&prev, 0, sizeof(prev));
	memset(&cur, 0, sizeof(cur));
	if (!sms) { /* without a log, each accepted e-mail is marked in a commit of its own */
		log = db_sent_log_open(c);
		if (log != NULL && apply_log(c, log, now) != 0)
			goto out;
	}
	for (round = 0; round < DISPATCH_ROUNDS && more; round++) {
		struct mark_now mn;
		size_t i;

		if (n != NULL && stopping(n))
			break;
		cur.ch = ch;
		cur.sms = sms;
		if (batch_load(c, cfg, cal, &cur, now) != 0)
			goto out;
		if (cur.n == 0)
			break;
		more = (long)cur.n >= cfg->batch;
		if (db_begin(c) != 0)
			goto out;
		if ((prev.ch != NULL && batch_mark(c, q, cal, &prev, now, sent, MARK_ALL) != 0) ||
		    batch_claim(c, cfg, q, cal, &cur, now) != 0) {
			db_rollback(c);
			goto out;
		}
		if (db_commit(c) != 0)
			goto out;
		batch_free(&prev);
		if (log != NULL && db_sent_log_clear(log) != 0)
			goto out;
		mn.c = c;
		mn.q = q;
		mn.cal = cal;
		mn.b = &cur;
		mn.now = now;
		mn.sent = sent;
		mn.n = n;
		mn.log = log;
		for (i = 0; i < cur.k; i++) {
			cur.msgs[i].done = mark_now;
			cur.msgs[i].done_cls = &mn;
		}
		ch->send(cfg, cur.msgs, cur.k);
		prev = cur;
		memset(&cur, 0, sizeof(cur));
	}
	rc = 0;
out:
	if (prev.ch != NULL) {
		if (db_begin(c) != 0)
			rc = -1;
		else if (batch_mark(c, q, cal, &prev, now, sent, MARK_ALL) != 0) {
			db_rollback(c);
			rc = -1;
		} else if (db_commit(c) != 0)
			rc = -1;
		else if (log != NULL && db_sent_log_clear(log) != 0)
			rc = -1;
	}
	db_sent_log_close(log);
	batch_free(&prev);
	batch_free(&cur);
	return rc;
}

/* notify_dispatch, which the dispatcher thread of n (NULL: none) ends early when stopping. */
static int
dispatch(struct db_conn *c, const struct notify_config *cfg, const struct sla_calendar *cal,
         int64_t now, size_t *sent, struct notifier *n)
{
	struct notify_quiet q;
	char err[200];
	int rc = 0;

	if (notify_quiet_parse(cfg->sms_quiet, &q, err, sizeof(err)) != 0)
		q.off = 1;
	if (cfg->smtp_url[0] != '\0' &&
	    dispatch_channel(c, cfg, &notify_email, &q, cal, now, sent, n) != 0)
		rc = -1;
	if (cfg->sms_url[0] != '\0' &&
	    dispatch_channel(c, cfg, &notify_sms, &q, cal, now, sent, n) != 0)
		rc = -1;
	return rc;
}

int
notify_dispatch(struct db_conn *c, const struct notify_config *cfg,
                const struct sla_calendar *cal, int64_t now, size_t *sent)
{
	return dispatch(c, cfg, cal, now, sent, NULL);
}

/* --- the threads ------------------------------------------------------------------------------- */

struct notifier {
	struct notify_config cfg;
	struct db *db;
	struct notify_env env;
	pthread_mutex_t lock; /* guards stop and kicked */
	pthread_cond_t cond;
	int stop, kicked;
	pthread_t dispatcher, scanner;
	int have_dispatcher, have_scanner;
};

/* Waits up to ms milliseconds or until stopped or kicked. Returns 1 when stopping. */
static int
nap(struct notifier *n, long ms)
{
	struct timespec ts;
	int stop;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&n->lock);
	while (!n->stop && !n->kicked)
		if (pthread_cond_timedwait(&n->cond, &n->lock, &ts) == ETIMEDOUT)
			break;
	n->kicked = 0;
	stop = n->stop;
	pthread_mutex_unlock(&n->lock);
	return stop;
}

static int
stopping(struct notifier *n)
{
	int stop;

	pthread_mutex_lock(&n->lock);
	stop = n->stop;
	pthread_mutex_unlock(&n->lock);
	return stop;
}

static void *
dispatcher_main(void *cls)
{
	struct notifier *n = cls;
	struct sla_calendar *cal;
	struct db_conn *c;
	size_t sent;

	while (!stopping(n)) {
		sent = 0;
		c = db_acquire(n->db);
		cal = n->env.calendar(n->env.cls);
		if (c != NULL && cal != NULL)
			dispatch(c, &n->cfg, cal, n->env.now(n->env.cls), &sent, n);
		sla_calendar_unref(cal);
		db_release(n->db, c);
		if (sent > 0)
			continue; /* more may be due */
		if (nap(n, n->cfg.poll_ms))
			break;
	}
	return NULL;
}

/* The scanner's wait between scans, in ms: scan_interval seconds; in test builds
 * (CIVICDESK_TEST_HOOKS) CIVICDESK_TEST_SCAN_MS=N (10..scan_interval*1000) shortens it, so that a
 * test that moves the clock does not wait up to a second for each scan. */
static long
scan_wait_ms(const struct notify_config *cfg)
{
	long ms = cfg->scan_interval * 1000L;
#ifdef CIVICDESK_TEST_HOOKS
	const char *v = getenv("CIVICDESK_TEST_SCAN_MS");
	char *end;
	long t;

	if (v != NULL && *v != '\0') {
		t = strtol(v, &end, 10);
		if (*end == '\0' && t >= 10 && t < ms)
			ms = t;
	}
#endif
	return ms;
}

static void *
scanner_main(void *cls)
{
	struct notifier *n = cls;
	struct notify_scan_stats st;
	struct sla_calendar *cal;
	struct db_conn *c;
	long wait_ms = scan_wait_ms(&n->cfg);

	while (!stopping(n)) {
		memset(&st, 0, sizeof(st));
		c = db_acquire(n->db);
		cal = n->env.calendar(n->env.cls);
		if (c != NULL && cal != NULL) {
			int64_t now = n->env.now(n->env.cls);

			notify_scan(c, &n->cfg, cal, now, &st);
			notify_weekly(c, &n->cfg, cal, now, &st.queued);
			notify_orders_scan(c, &n->cfg, cal, now, &st.queued);
			if (st.queued > 0)
				notify_kick(n);
		}
		sla_calendar_unref(cal);
		db_release(n->db, c);
		/* the scan's own wake-ups: the interval, never a kick */
		{
			struct timespec ts;
			long left = wait_ms;

			while (left > 0 && !stopping(n)) {
				long step = left < 200 ? left : 200;

				ts.tv_sec = 0;
				ts.tv_nsec = step * 1000000L;
				nanosleep(&ts, NULL);
				left -= step;
			}
		}
	}
	return NULL;
}

void
notify_init(void)
{
	/* libesmtp's SASL client loads its mechanisms when first used; it keeps no count, and
	 * auth_client_exit would unload them under another sender, so it is never called */
	auth_client_init();
	g_mime_init();
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

void
notify_cleanup(void)
{
	curl_global_cleanup();
	g_mime_shutdown();
}

int
notify_start(const struct notify_config *cfg, struct db *db, const struct notify_env *env,
             struct notifier **out, char *err, size_t errsize)
{
	struct notifier *n;
	pthread_condattr_t ca;

	notify_init(); /* GMime for notify_config_check's sender; notify_stop ends it */
	if (notify_config_check(cfg, err, errsize) != 0) {
		notify_cleanup();
		return -1;
	}
	n = calloc(1, sizeof(*n));
	if (n == NULL) {
		snprintf(err, errsize, "out of memory");
		notify_cleanup();
		return -1;
	}
	n->cfg = *cfg;
	n->db = db;
	n->env = *env;
	pthread_mutex_init(&n->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&n->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&n->dispatcher, NULL, dispatcher_main, n) != 0) {
		snprintf(err, errsize, "cannot start the dispatcher thread");
		notify_stop(n);
		return -1;
	}
	n->have_dispatcher = 1;
	if (pthread_create(&n->scanner, NULL, scanner_main, n) != 0) {
		snprintf(err, errsize, "cannot start the ladder scan thread");
		notify_stop(n);
		return -1;
	}
	n->have_scanner = 1;
	*out = n;
	return 0;
}

void
notify_kick(struct notifier *n)
{
	if (n == NULL)
		return;
	pthread_mutex_lock(&n->lock);
	n->kicked = 1;
	pthread_cond_broadcast(&n->cond);
	pthread_mutex_unlock(&n->lock);
}

void
notify_stop(struct notifier *n)
{
	if (n == NULL)
		return;
	pthread_mutex_lock(&n->lock);
	n->stop = 1;
	pthread_cond_broadcast(&n->cond);
	pthread_mutex_unlock(&n->lock);
	if (n->have_dispatcher)
		pthread_join(n->dispatcher, NULL);
	if (n->have_scanner)
		pthread_join(n->scanner, NULL);
	notify_cleanup();
	pthread_cond_destroy(&n->cond);
	pthread_mutex_destroy(&n->lock);
	free(n);
}
