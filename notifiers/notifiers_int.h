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

/* notify_queue for a caller that queues many notices at one moment (the ladder scan): an SMS
 * leaves at sms_after, which the caller found once with notify_quiet_next. */
int notify_queue_at(struct db_conn *c, const struct notify_config *cfg, const struct db_notice *in,
                    int64_t now, int64_t sms_after);

/* Queues one notice (both channels share the unique key and the give-up rule). */
int notify_queue(struct db_conn *c, const struct notify_config *cfg,
                 const struct sla_calendar *cal, const struct db_notice *in, int64_t now);

#endif
