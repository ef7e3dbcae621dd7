/* notifiers_int.h: what the files of notifiers/ share; not for other modules. */
#ifndef NOTIFIERS_INT_H
#define NOTIFIERS_INT_H

#include <stdarg.h>

#include "notifiers.h"

/* Logs a notifier's event or error with the library's own words (stderr). */
void notify_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* "host:port" of an smtp://host[:port] URL (port 25 by default) into buf. 0 or -1. */
int notify_smtp_hostport(const char *url, char *buf, size_t size);

/* Local "YYYY-MM-DD HH:MM" of t into buf (at least 17 bytes). */
void notify_format_time(int64_t t, char *buf, size_t size);

/* Queues one notice (both channels share the unique key and the give-up rule). */
int notify_queue(struct db_conn *c, const struct notify_config *cfg,
                 const struct sla_calendar *cal, const struct db_notice *in, int64_t now);

/* Checks the SMS gateway keys (method, headers, format, body template, success rule): 0, or -1
 * with a sentence in err (sms.c). */
int notify_sms_config_check(const struct notify_config *cfg, char *err, size_t errsize);

/* A notice to staff outside the ladder (staff.c); strings lent. */
struct notify_staff {
	struct db_conn *c;
	const struct notify_config *cfg;
	const struct sla_calendar *cal;
	int64_t now;
	const struct db_item *item; /* the item concerned */
	const char *step;           /* e.g. "supervised", "followup/1" */
	const char *subject, *body; /* the e-mail */
	const char *text;           /* the SMS, or NULL: e-mail only */
	int64_t section_id;         /* out: the section of a role nobody holds */
	size_t queued, missing;     /* out: rows written */
};

/* Queues st to every active account of role r (enum role) (in section_id when not 0) among acc, recording
 * accounts without an address and a role nobody holds (notify_missing). 0 or -1. */
int notify_staff_role(struct notify_staff *st, const struct db_account *acc, size_t nacc,
                      int r, int64_t section_id);
/* notify_staff_role to the section heads of st->item's section (the dispatchers while it has
 * none), reading the accounts. 0 or -1. */
int notify_staff_heads(struct notify_staff *st);

#endif
