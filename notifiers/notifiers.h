/*
 * notifiers.h: the notices of civicdesk (DESIGN.md "Escalation ladder"): the outbox dispatcher,
 * the channels that empty it (e-mail through libesmtp, SMS through an HTTP gateway with
 * libcurl), SMS quiet hours, and the ladder scan that queues reminders and escalations.
 *
 * Notices are rows of the outbox table, written in the transaction of what causes them (a scan
 * here; a submission or an action through notify_citizen) and unique per (item, clock, step,
 * channel, recipient). The ladder's rows are keys, their text written when they are sent (and
 * a notice that no longer holds then is dropped); the others carry their text. A dispatcher
 * thread sends due rows with exponential backoff; a crash between sending and marking resends
 * the row once, with the same Message-ID.
 *
 * This module calls db/ and sla/ only; it knows nothing of HTTP.
 */
#ifndef NOTIFIERS_H
#define NOTIFIERS_H

#include <stddef.h>
#include <stdint.h>

#include "db/db.h"
#include "sla/sla.h"

/* --- configuration ------------------------------------------------------------------------- */

struct notify_config {
	const char *smtp_url;      /* smtp://host:port ("" = e-mail waits, unsent) */
	const char *smtp_from;     /* sender address */
	const char *smtp_starttls; /* off | optional | required */
	const char *sms_url;       /* gateway URL ("" = SMS wait, unsent) */
	const char *sms_quiet;     /* "21:00-08:00 rest-days", "off", … (notify_quiet_parse) */
	long scan_interval;        /* seconds between ladder scans */
	long backoff_min;          /* seconds before the first retry; doubles each time … */
	long backoff_max;          /* … up to this */
	long give_up;              /* seconds after queueing when a failing notice ends failed */
	long sms_connect_timeout;  /* milliseconds */
	long sms_timeout;          /* milliseconds for a whole gateway request */
	long smtp_timeout;         /* seconds per SMTP protocol step */
	long batch;                /* rows per dispatch pass (one SMTP session) */
	long poll_ms;              /* dispatcher wake-up period, milliseconds */
	const char *digest;        /* weekly digest: "mon 09:00" (local), or "off" */
	const char *smtp_user;     /* SMTP AUTH user ("" = no AUTH) … */
	const char *smtp_password; /* … and password (SASL PLAIN or LOGIN) */
	const char *sms_method;    /* POST | PUT | GET */
	const char *sms_headers;   /* "Name: value | Name: value" ("" = none) */
	const char *sms_format;    /* json | form */
	const char *sms_body;      /* template with {phone} and {text} ("" = the default JSON) */
	const char *sms_success;   /* "FIELD=VALUE" of a 2xx JSON answer ("" = any 2xx) */
	long sms_segment_chars;    /* characters of one SMS segment (70) */
	long sms_max_segments;     /* segments at most; longer texts are cut (0: no cut) */
	int sms_citizens;          /* 1: citizens' mobile numbers get their notices by SMS */
	const char *public_url;    /* base of links in notices, e.g. https://host ("" = listen) */
	const char *listen;        /* host:port served, for links when public_url is "" */
	long combine_max;          /* notices at most in one combined message (1: none combined) */
};

/* The defaults (every key of the configuration's notify section): smtp/sms unset, quiet
 * "21:00-08:00 rest-days", scan 60 s, backoff 60 s doubling to 3600 s, give up after 86400 s. */
void notify_config_defaults(struct notify_config *cfg);
/* Checks cfg (URL schemes, the sender, quiet hours, ranges): 0, or -1 with a sentence in err.
 * After notify_init (GMime reads the sender); notify_start checks its own. */
int notify_config_check(const struct notify_config *cfg, char *err, size_t errsize);

/* --- quiet hours (quiet.c) ------------------------------------------------------------------- */

struct notify_quiet {
	int off;       /* 1: SMS at any time */
	int from, to;  /* minutes after local midnight; from == to: no daily window */
	int rest_days; /* 1: none on rest days (holidays and weekends of the calendar) */
};

/* Parses "HH:MM-HH:MM", "HH:MM-HH:MM rest-days", "rest-days" or "off". 0, or -1 with a
 * sentence in err. */
int notify_quiet_parse(const char *s, struct notify_quiet *out, char *err, size_t errsize);
/* The first instant at or after t at which an SMS may be sent. */
int64_t notify_quiet_next(const struct notify_quiet *q, const struct sla_calendar *cal,
                          int64_t t);

/* --- channels (email.c, sms.c) ---------------------------------------------------------------- */

enum notify_result {
	NOTIFY_SENT,   /* accepted by the server or gateway */
	NOTIFY_RETRY,  /* not now: try again later */
	NOTIFY_FAILED, /* refused for good */
};

/* One notice of a batch handed to a channel. */
struct notify_msg {
	const struct db_outbox *row; /* lent: recipient, subject, body */
	const char *message_id;      /* without angle brackets */
	int64_t date;                /* the Date of the message */
	enum notify_result result;   /* out */
	int64_t retry_after;         /* out: seconds the peer asked to wait (0: none) */
	char error[256];             /* out: the peer's or library's words when not sent */
	/* called, when not NULL, as soon as the peer's answer decided this message's result
	 * (filled in) and before the next message is sent, so that the dispatcher records each
	 * result at once (SMS: the gateway's answer; e-mail: the answer to its data, libesmtp's
	 * SMTP_EV_MESSAGESENT; a message no answer decided is not reported); nonzero: send no
	 * more of the batch, the rest left to be retried (SMS; an SMTP session goes on) */
	int (*done)(struct notify_msg *m, void *cls);
	void *done_cls;
};

/* A channel: one file each, behind these pointers. */
struct notify_channel {
	const char *name; /* outbox.channel: email | sms */
	/* Sends a batch (in one SMTP session, one reused HTTP connection), filling each result. */
	void (*send)(const struct notify_config *cfg, struct notify_msg *msgs, size_t n);
};

extern const struct notify_channel notify_email;
extern const struct notify_channel notify_sms;

/* The text of an SMS as sent: s cut to cfg's segments (sms_segment_chars × sms_max_segments
 * characters, cut at a character boundary and ended with "…"), into a new string (free()), or
 * NULL when out of memory (sms.c). */
char *notify_sms_text(const struct notify_config *cfg, const char *s);
/* Number of characters (code points) of UTF-8 s. */
size_t notify_utf8_len(const char *s);

/* A Message-ID for a new row: "civicdesk.ID.RANDOM@DOMAIN" (DOMAIN from the sender address)
 * into buf. */
void notify_message_id(const struct notify_config *cfg, int64_t id, char *buf, size_t size);

/* --- the ladder (ladder.c) ----------------------------------------------------------------- */

struct notify_scan_stats {
	size_t items;   /* items looked at */
	size_t steps;   /* steps found (an item's clock at a point of the ladder) */
	size_t queued;  /* outbox rows written */
	size_t missing; /* recipients without an address, recorded */
};

/* One scan at `now`: every item whose ladder mark is due has the notices of the steps that came
 * for its running clocks (reminder, overdue notice, the day's supervisor escalation) queued to
 * their recipients, as key rows (schema 022; once per item, clock, step, channel and account),
 * and its next mark set, in one transaction per 2,048 items, reading only the clocks of those
 * items (and the section and assignee of an item with a reminder or an overdue notice).
 * Accounts without an address are recorded as missing. The items a scan before 022 left in
 * ladder_fanout are queued first, at the moment they were found. 0 or -1. */
int notify_scan(struct db_conn *c, const struct notify_config *cfg,
                const struct sla_calendar *cal, int64_t now, struct notify_scan_stats *stats);

/* --- weekly notices (digest.c) -------------------------------------------------------------- */

/* Parses "mon 09:00" … "sun 23:59" (weekday 0 = Monday, minutes after midnight) or "off"
 * (weekday -1). 0 or -1. */
int notify_weekly_parse(const char *s, int *weekday, int *minutes);
/* Once a week, in one transaction with a mark of the week: from cfg->digest on, each active
 * section's digest of its open items (at most 100, nearest due first) to the section's mailbox
 * and its heads; and, when the calendar's coverage ends within 60 days, a warning to every
 * administrator (from the first scan of the week). *queued counts rows written. 0 or -1. */
int notify_weekly(struct db_conn *c, const struct notify_config *cfg,
                  const struct sla_calendar *cal, int64_t now, size_t *queued);

/* --- citizen notices (citizen.c) -------------------------------------------------------------- */

enum notify_event {
	NOTIFY_EV_RECEIVED,  /* acknowledgement: tracking number, kind, subject, reply due */
	NOTIFY_EV_INFO,      /* information asked of the citizen */
	NOTIFY_EV_EXTENSION, /* extension approved: the new reply due date */
	NOTIFY_EV_EXPLAINED, /* interim explanation sent */
	NOTIFY_EV_REPLIED,   /* the reply is out */
	NOTIFY_EV_REJECTED,  /* not accepted, with the reason */
	NOTIFY_EV_MERGED,    /* merged into another item */
	NOTIFY_EV_MERGED_REPLIED, /* the item it was merged into was answered (note: that reply) */
	NOTIFY_EV_REOPENED,  /* reopened (重办) after an unsatisfied rating: the new reply due */
	NOTIFY_EV_ENDED_MAIL, /* the citizen's e-mail about an item that has ended was received:
	                       * nothing reopened, how to go on (note); at most once a day */
	NOTIFY_EV__MAX
};

/* Queues the notice of ev to the item's citizen inside the caller's transaction: an e-mail when
 * an address was given, and an SMS when cfg->sms_citizens is set and the phone is a mobile
 * number; note is the reason, question, explanation or reply (may be NULL), `at` tells
 * repeated events apart. The reply notice carries the link to rate it on /track. Never puts the
 * query code in a message. 0 or -1. */
int notify_citizen(struct db_conn *c, const struct notify_config *cfg,
                   const struct sla_calendar *cal, enum notify_event ev,
                   const struct db_item *item, const char *note, int64_t at);
/* The acknowledgement of an item that came by e-mail, as notify_citizen writes it for
 * NOTIFY_EV_RECEIVED, with its query code in the e-mail (the only way it reaches a citizen who
 * wrote by e-mail; it goes to the address the letter came from), never in the SMS. later (a
 * moment after at; else 0): the e-mail waits for it in its outbox row, text and code written,
 * addressed to `to` (NULL: the item's address) so that the acknowledgements waiting for one
 * moment go as one message. 0 or -1. */
int notify_citizen_received_mail(struct db_conn *c, const struct notify_config *cfg,
                                 const struct sla_calendar *cal, const struct db_item *item,
                                 const char *note, const char *code, const char *to,
                                 int64_t later, int64_t at);
/* The citizen's e-mail about item (which has ended: replied, closed, rejected or merged) was
 * added to it: NOTIFY_EV_ENDED_MAIL, saying that it reached the section that handled the item,
 * that nothing reopened, and how to go on (rate an answered item's reply, whose follow-up may
 * reopen it; a new letter for a new matter). 0 or -1. */
int notify_citizen_ended_mail(struct db_conn *c, const struct notify_config *cfg,
                              const struct sla_calendar *cal, const struct db_item *item,
                              int64_t at);
/* The note of NOTIFY_EV_MERGED_REPLIED to the citizen of item (merged into target): that the
 * two were answered together, and target's reply; in item's language (Chinese and English for
 * an item without one), into buf. */
void notify_merged_note(const struct db_item *item, const struct db_item *target, char *buf,
                        size_t size);
/* What a notice of a message too large tells its sender: the limits of mail-in and of the web
 * form's attachments. */
struct notify_too_large {
	const char *to;        /* the sender's address */
	const char *key;       /* sent once per key (the Message-ID, or "mail_in ID") */
	const char *subject;   /* the message's decoded subject, quoted (NULL: none) */
	int64_t size;          /* its bytes */
	int64_t limit;         /* mail-in's limit of a message, bytes */
	int files;             /* attachments kept per item at most */
	int64_t file_max;      /* bytes of one */
	int64_t item_max;      /* bytes of them together */
};
/* A polled message over mail-in's size limit was refused unread (no MTA bounces it): the e-mail
 * to its sender, inside the transaction that records the refusal, saying so and how to send it
 * instead (smaller attachments within the limits, a link to large files, the web form): once per
 * t->key and address. 0 or -1. */
int notify_mail_too_large(struct db_conn *c, const struct notify_config *cfg,
                          const struct sla_calendar *cal, const struct notify_too_large *t,
                          int64_t at);
/* The mobile number (11 digits, 1[3-9]…) in phone, without +86, spaces or dashes, into buf:
 * 1 found / 0 not a mobile number. */
int notify_mobile(const char *phone, char *buf, size_t size);

/* An account has just become a supervisor that the ladder reaches (created so, or made one:
 * role, status, a first e-mail address or phone), at `at`, inside that change's transaction:
 * the items escalated today are looked at again by the next scan, so that today's escalation
 * reaches it too (and, by the outbox's once rule, no one twice) instead of the next working
 * day's (ladder.c). 0 or -1. */
int notify_supervisor_ready(struct db_conn *c, const struct sla_calendar *cal, int64_t at);

/* --- supervision (orders.c) ------------------------------------------------------------------ */

/* An unsatisfied rating of item `it` (comment may be NULL): the follow-up notice (回访) to the
 * heads of its section, by e-mail, inside the rating's transaction. 0 or -1. */
int notify_followup(struct db_conn *c, const struct notify_config *cfg,
                    const struct sla_calendar *cal, const struct db_item *it,
                    const char *comment, int64_t at);
/* The supervision order just given on `it`: its notice to the heads of the item's section, by
 * e-mail and SMS, inside the order's transaction. 0 or -1. */
int notify_supervised(struct db_conn *c, const struct notify_config *cfg,
                      const struct sla_calendar *cal, const struct db_item *it, int64_t at);
/* The citizen wrote by e-mail about `it`, which had ended (from_state; text: what they wrote,
 * quoted in part): the notice to the item's assignee and the heads of its section (the
 * dispatchers while it has none), by e-mail, inside the transaction that added it, at most once
 * a day and item (staff.c). 0 or -1. */
int notify_citizen_wrote(struct db_conn *c, const struct notify_config *cfg,
                         const struct sla_calendar *cal, const struct db_item *it,
                         const char *from_state, const char *text, int64_t at);
/* Item `it` just sent back by its section (send_back; reason may be NULL): the notice to every
 * dispatcher, by e-mail, inside the action's transaction (staff.c). 0 or -1. */
int notify_sent_back(struct db_conn *c, const struct notify_config *cfg,
                     const struct sla_calendar *cal, const struct db_item *it,
                     const char *reason, int64_t at);
/* The scan's part: each order whose due date has come (and whose item is still open) gets its
 * reminder to the section heads, once (the order is marked in the same transaction). *queued
 * (may be NULL) counts rows written. 0 or -1. */
int notify_orders_scan(struct db_conn *c, const struct notify_config *cfg,
                       const struct sla_calendar *cal, int64_t now, size_t *queued);

/* --- the threads (notify.c) --------------------------------------------------------------------- */

/* Initialises the libraries of the channels (GMime, libcurl); both keep a count, so each call
 * is matched by one notify_cleanup. Call before any thread that sends starts: notify_start does
 * it itself; a program calling notify_dispatch directly calls it first. */
void notify_init(void);
void notify_cleanup(void);

/* What the threads read from their owner: the clock and the current calendar. */
struct notify_env {
	void *cls;
	int64_t (*now)(void *cls);
	struct sla_calendar *(*calendar)(void *cls); /* a new reference, unref'd by the caller */
};

struct notifier;

/* Starts the dispatcher and the ladder scan threads on db (cfg and env are copied; cfg's
 * strings must outlive the notifier). 0, or -1 with a sentence in err. */
int notify_start(const struct notify_config *cfg, struct db *db, const struct notify_env *env,
                 struct notifier **out, char *err, size_t errsize);
/* Wakes the dispatcher (new rows were committed). NULL is fine. */
void notify_kick(struct notifier *n);
/* Stops the threads (a send under way finishes) and frees n; NULL is fine. */
void notify_stop(struct notifier *n);

/* One dispatch pass at `now` on c: sends up to cfg->batch due rows of each channel and marks
 * them. *sent (may be NULL) counts the rows marked sent. 0 or -1. */
int notify_dispatch(struct db_conn *c, const struct notify_config *cfg,
                    const struct sla_calendar *cal, int64_t now, size_t *sent);

/* --- the service's side (hook.c) ------------------------------------------------------------ */

struct app;
struct core_event;

/* The notifiers' configuration from the application's (strings lent by app->cfg). */
void notify_config_from_app(const struct app *app, struct notify_config *out);
/* Installs the citizen-notice hook in app->notify (cls = app): every submission and action then
 * queues its notice in its own transaction (a batch of submissions: in one statement). For every command that changes items. */
void notify_attach(struct app *app);
/* The hook: maps a core event to notify_citizen. 0, or -1 (the change is rolled back). */
int notify_on_event(void *cls, struct db_conn *c, const struct core_event *ev);
/* The hook's on_batch: the acknowledgements of a batch of submissions (CORE_EV_SUBMITTED), queued
 * without their text in one statement. 0, or -1 (also for any other event: the batch is then
 * stored one submission at a time). */
int notify_on_batch(void *cls, struct db_conn *c, const struct core_event *ev, size_t n);
/* Starts the dispatcher and scan threads of `civicdesk serve` on app (its clock, calendar and
 * store). 0, or -1 with a sentence in err. */
int notify_start_app(struct app *app, struct notifier **out, char *err, size_t errsize);

#endif
