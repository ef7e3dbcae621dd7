/* mailin_int.h: what the files of service/mailin share (not for other modules). */
#ifndef MAILIN_INT_H
#define MAILIN_INT_H

#include <gmime/gmime.h>

#include "mailin.h"

/* text.c */
/* A copy of a raw header value (a GLib string) with the charset labels of its RFC 2047 words
 * and RFC 2231 parameters replaced by the names mail_charset gives. */
char *mail_fix_labels(const char *raw);
/* The decoded text of an unfolded header value whose labels are fixed (GLib string). */
char *mail_decode_header(GMimeParserOptions *opts, const char *value);
/* The UTF-8 text of len bytes in charset label (NULL: none given): GLib string, or NULL when out
 * of memory. Unknown labels, and bytes that are not what the label says, go through the
 * fallbacks of opts (UTF-8, GB18030, Latin-1). */
char *mail_decode(GMimeParserOptions *opts, const char *label, const char *buf, size_t len);
/* Makes s (GLib string, taken) valid UTF-8 without control characters: multiline keeps tab and
 * LF (CR LF and CR become LF), else every control becomes a space; leading and trailing blanks
 * are trimmed. Returns a GLib string or NULL. */
char *mail_clean(char *s, int multiline);
/* Cuts s (UTF-8) to at most max code points; returns 1 if it was cut. */
int mail_cut(char *s, size_t max);

/* noise.c */
/* The reason why msg is automatic mail that makes no item, or NULL; *bounce is set to 1 when
 * it is a bounce (the reason starts "bounce"), else 0. */
const char *mail_noise(GMimeMessage *msg, const char *from_addr, const char *subject,
                       int *bounce);

/* bounce.c */
/* Fills the bounce fields of m (bounce_ids, bounce_reason, bounce_delayed) from the bounce msg;
 * m's subject and refs are set already. 0, or -1 when out of memory. */
int mail_bounce(GMimeParserOptions *opts, GMimeMessage *msg, struct mail_msg *m);

#endif
