/* notifiers_int.h: what the files of notifiers/ share; not for other modules. */
#ifndef NOTIFIERS_INT_H
#define NOTIFIERS_INT_H

#include <pthread.h>
#include <stdarg.h>

#include <openssl/ssl.h>

#include "notifiers.h"

/* Logs a notifier's event or error with the library's own words (stderr). */
void notify_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* "host:port" of an smtp://host[:port] URL (port 25 by default) or an smtps://host[:port] URL
 * (port 465: implicit TLS) into buf. 0 or -1. */
int notify_smtp_hostport(const char *url, char *buf, size_t size);

/* The display name (empty when none) and the address of smtp_from, which is an address alone
 * (civicdesk@bureau.example) or one mailbox with its name (信访办 <xf@bureau.example>), as GMime
 * reads it: 0, or -1 when it is not one mailbox with an address. */
int notify_sender(const char *smtp_from, char *name, size_t name_size, char *addr,
                  size_t addr_size);

/* smtps.c: SMTP over implicit TLS for libesmtp (a relay from a loopback port of its own). */
struct smtps_relay {
	int listen_fd, tcp_fd, stop[2];
	SSL *ssl;
	pthread_t thread;
	int running, timeout, port;
	char local[32]; /* "127.0.0.1:PORT", for smtp_set_server */
};
/* Connects to hostport over TLS (ctx's CAs; the server's name checked; each step bounded by
 * timeout seconds) and starts the relay: 0, or -1 with why. */
int smtps_relay_open(struct smtps_relay *r, SSL_CTX *ctx, const char *hostport, int timeout,
                     char *why, size_t size);
/* Stops the relay (after libesmtp's session) and frees it. */
void smtps_relay_close(struct smtps_relay *r);
/* 1 when fd, a connection accepted on a loopback port, comes from a socket of this process
 * (found through /proc/net/tcp and /proc/self/fd); 0 otherwise. */
int smtps_peer_is_own(int fd);

/* Local "YYYY-MM-DD HH:MM" of t into buf (at least 17 bytes). */
void notify_format_time(int64_t t, char *buf, size_t size);

/* Sets n's created, send_after and give_up_at for a notice queued at now (an SMS leaves at
 * sms_after and still gets its whole retry time). */
void notify_notice_times(const struct notify_config *cfg, struct db_notice *n, int64_t now,
                         int64_t sms_after);

/* notify_queue for a caller that queues many notices at one moment (the ladder scan): an SMS
 * leaves at sms_after, which the caller found once with notify_quiet_next. */
int notify_queue_at(struct db_conn *c, const struct notify_config *cfg, const struct db_notice *in,
                    int64_t now, int64_t sms_after);

/* Queues one notice (both channels share the unique key and the give-up rule). */
int notify_queue(struct db_conn *c, const struct notify_config *cfg,
                 const struct sla_calendar *cal, const struct db_notice *in, int64_t now);

/* Checks the SMS gateway keys (method, headers, format, body template, success rule): 0, or -1
 * with a sentence in err (sms.c). */
int notify_sms_config_check(const struct notify_config *cfg, char *err, size_t errsize);

/* Rows of one pass that go out as one message (combine.c). */
struct notify_group {
	size_t *idx;          /* indexes into the pass's rows, ascending */
	size_t n;             /* how many */
	size_t bytes, chars;  /* of the texts so far (the group's size limits) */
	struct db_outbox msg; /* what is sent: the lead row, or the combined text */
	char *subject, *body; /* owned: the combined texts (NULL for a single row) */
	size_t msg_index;     /* the dispatcher's message of the group */
};

/* Groups rows[0..n) (those with skip[i] == 0; skip may be NULL) by recipient: rows tried
 * before together (the same Message-ID) form their group again; fresh rows join a fresh group
 * up to cfg->combine_max rows and the size of one message (an SMS within its segments). A new
 * array *out of *ng groups (notify_groups_free). 0 or -1. */
int notify_group_rows(const struct notify_config *cfg, int sms, const struct db_outbox *rows,
                      size_t n, const unsigned char *skip, struct notify_group **out,
                      size_t *ng);
/* Fills g->msg: the lead row itself, or for several rows one message holding every notice
 * (an e-mail with each subject and body, an SMS with one text a line). 0 or -1. */
int notify_group_message(struct notify_group *g, const struct db_outbox *rows, int sms);
void notify_groups_free(struct notify_group *g, size_t n);

/* A notice to staff (staff.c): the ladder's steps, the follow-up of an unsatisfied rating, a
 * supervision order, the digests; strings lent. */
struct notify_staff {
	struct db_conn *c;
	const struct notify_config *cfg;
	const struct sla_calendar *cal;
	int64_t now;
	const struct db_item *item; /* the item concerned, or NULL */
	const char *clock;          /* the clock concerned, or NULL */
	const char *step;           /* e.g. "overdue/2025-10-14", "supervised", "followup/1" */
	const char *subject, *body; /* the e-mail */
	const char *text;           /* the SMS, or NULL: e-mail only */
	const struct db_ladder_key *key; /* a ladder notice: queued as its key (clock, subject, body
	                                  * and text unused but text != NULL for SMS), or NULL */
	struct notify_keys *keys;   /* not NULL: a ladder notice is added here (the scan), and
	                             * stored by notify_keys_flush, instead of at once */
	int64_t sms_after;          /* when an SMS queued now may leave (0: not found yet) */
	int64_t section_id;         /* out: the section of a role nobody holds */
	size_t queued, missing;     /* out: rows written */
};

/* The ladder notices a scan found in one transaction, stored together (one statement) before
 * it commits: at most NOTIFY_KEYS_MAX rows are held, the next one stores them first. */
#define NOTIFY_KEYS_MAX 8192
struct notify_keys {
	struct db_notice *v; /* the rows (strings lent: "email"/"sms", the accounts' addresses) */
	size_t n, cap;
};
/* Stores st->keys' rows (db_outbox_add_keys), adding those written to st->queued, and empties
 * it. 0 or -1. */
int notify_keys_flush(struct notify_staff *st);
void notify_keys_free(struct notify_keys *k);

/* Sets st up for notices at now (every other field zero): on connection c with cfg and cal,
 * about item it (or NULL), step, the e-mail's subject and body, and the SMS text (NULL: e-mail
 * only). The strings are lent until st is done with. */
void notify_staff_init(struct notify_staff *st, struct db_conn *c, const struct notify_config *cfg,
                       const struct sla_calendar *cal, int64_t now, const struct db_item *it,
                       const char *step, const char *subject, const char *body,
                       const char *text);

/* A link to path (e.g. "/track?tracking=…") on the service: cfg->public_url, else http://listen,
 * into buf. */
void notify_link(const struct notify_config *cfg, const char *path, char *buf, size_t size);
/* Cuts s to at most max bytes at a character boundary (in place). */
void notify_cut_utf8(char *s, size_t max);
/* An item's subject as staff notices quote it, into buf: whole when it fits in NOTIFY_SUBJECT_QUOTE
 * bytes (every subject of the forms does), else cut at a character boundary with "…" (an e-mail
 * item's longer one: the item shows it whole). */
#define NOTIFY_SUBJECT_QUOTE 600
void notify_quote_subject(const char *subject, char buf[NOTIFY_SUBJECT_QUOTE + 4]);

/* Queues st to account a, as holder of role r (enum role): an e-mail, and an SMS when st->text
 * is set; a channel without an address is recorded (notify_missing). 0 or -1. */
int notify_staff_account(struct notify_staff *st, const struct db_account *a, int r);
/* Queues st to every active account of role r (enum role) (in section_id when not 0) among acc, recording
 * accounts without an address and a role nobody holds (notify_missing). 0 or -1. */
int notify_staff_role(struct notify_staff *st, const struct db_account *acc, size_t nacc,
                      int r, int64_t section_id);
/* notify_staff_role to the section heads of st->item's section (the dispatchers while it has
 * none), reading the accounts. 0 or -1. */
int notify_staff_heads(struct notify_staff *st);

/* The text of ladder key rows, written when they are sent (ladder.c): the item and the accounts
 * read once per batch. */
struct notify_render {
	int64_t item_id;       /* the item read */
	int have_item;         /* 1 read, -1 gone, 0 none yet */
	struct db_item item;
	struct db_account *acc; /* every account (NULL: not read yet) */
	size_t nacc;
};
void notify_render_init(struct notify_render *r);
void notify_render_free(struct notify_render *r);
/* The item id into r (read once while the rows are of the same item): 1 / 0 gone / -1. */
int notify_render_item(struct db_conn *c, struct notify_render *r, int64_t id);
/* Row o to a staff account (o->account_id set) against the account as it is now (every account
 * read into r once): 1 the notice holds, and o->recipient is the account's address for o's
 * channel now (*moved set to 1 when that replaced another, with o's Message-ID cleared: a
 * message to another address is another message); 0 the account is gone, not active, or has
 * no address for the channel now, the reason in why; -1 error. */
int notify_render_account(struct db_conn *c, struct notify_render *r, struct db_outbox *o,
                          unsigned char *moved, char *why, size_t whysize);
/* A citizen's notice queued without its text (its strings lent by the item, the event table
 * and mobile). */
struct notify_bare {
	struct db_notice n;
	char mobile[16];
};
/* The notices of ev to item's citizen that are queued without their text (the
 * acknowledgement, written when sent: notify_citizen_render) at `at`, into out: an e-mail when
 * the item has an address, an SMS when cfg->sms_citizens and a mobile number; their number (0:
 * none), or -1 when ev's notices are queued with their text (notify_citizen). */
int notify_citizen_bare(const struct notify_config *cfg, const struct sla_calendar *cal,
                        enum notify_event ev, const struct db_item *item, int64_t at,
                        struct notify_bare out[2]);
/* Writes the subject (e-mail) and body of a citizen's notice queued without its text (the
 * acknowledgement: step "ack", body NULL) from its item as it is now, as notify_citizen would
 * have written it: 1 written / 0 not such a row or the item is gone, the reason in why / -1. */
int notify_citizen_render(struct db_conn *c, const struct notify_config *cfg,
                          struct notify_render *r, struct db_outbox *o, char *why,
                          size_t whysize);
/* Writes the subject and body of key row o (lkey set) from its item and clock as they are now:
 * 1 written / 0 the notice no longer holds at now (its clock stopped or paused, its due day
 * moved, the item is gone, the account is not active, a reminder whose due time has passed),
 * the reason in why / -1 error. */
int notify_ladder_render(struct db_conn *c, const struct sla_calendar *cal, struct notify_render *r,
                         struct db_outbox *o, int64_t now, char *why, size_t whysize);
/* Recipients resolved when sent: for key row o of an overdue notice whose step still holds at
 * now (its item and every account read into r), queues the step, inside the caller's
 * transaction, to each account it goes to now (the section's heads, the administrators while
 * none is reachable, the dispatchers while the item has no section: as the scan would) that
 * has no row of it yet, such as a head appointed after it was queued; the outbox's unique key
 * turns the others away. Adds the rows written to *added. 0 (also for any other row) or -1. */
int notify_ladder_complete(struct db_conn *c, const struct notify_config *cfg,
                           const struct sla_calendar *cal, struct notify_render *r,
                           const struct db_outbox *o, int64_t now, size_t *added);

#endif
