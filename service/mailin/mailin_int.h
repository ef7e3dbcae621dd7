/* mailin_int.h: what the files of service/mailin share (not for other modules). */
#ifndef MAILIN_INT_H
#define MAILIN_INT_H

#include <curl/curl.h>
#include <gmime/gmime.h>

#include "mailin.h"

/* text.c */
/* A copy of a raw header value (a GLib string) with the charset labels of its RFC 2047 words
 * and RFC 2231 parameters replaced by the names mail_charset gives. */
char *mail_fix_labels(const char *raw);
/* value (an unfolded header value whose labels are fixed) with each run of encoded words (B or
 * Q) of one charset joined into one B word of all their bytes (a character split across words
 * is whole again), a GB or Latin-1 label on bytes that are UTF-8 made UTF-8, a Big5 one on HKSCS
 * characters Big5-HKSCS, a Latin-1 one on GBK GB18030: a new GLib string. */
char *mail_join_words(const char *value);
/* Looks at the charset labels of the RFC 2047 encoded words of an unfolded header value: sets
 * *big5 when one is a Big5 label, *gb when one is a GB label (as mail_charset names them). */
void mail_word_charsets(const char *value, int *big5, int *gb);
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
/* Text of a text/plain; format=flowed part (RFC 3676) with its soft line breaks joined (delsp:
 * DelSp=yes, the space before each soft break dropped): a new GLib string. */
char *mail_unflow(const char *text, int delsp);
/* The charset an HTML document of len bytes declares in its first <meta> element that declares
 * one (charset="…", or http-equiv Content-Type with a content naming one) among the elements
 * libxml2's HTML parser reads in its first HTML_META_SCAN bytes (without converting them: nothing
 * on stderr): a GLib string, or NULL when it declares none (or UTF-16/32, which 8-bit markup
 * cannot be: read as UTF-8, as HTML does). For a text/html part whose Content-Type names no
 * charset. */
#define HTML_META_SCAN (64 * 1024)
char *mail_html_charset(const char *buf, size_t len);
/* Readies libxml2 for parsing in several threads (mail_init calls it once). */
void mail_text_init(void);
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

/* imapc.c: IMAP commands over a connection libcurl opened and logged in */
struct imapc;

#define IMAPC_LITS 8 /* literals one response may hold */
#define IMAPC_PEND 4 /* commands sent ahead (imapc_send) whose answers are not yet read */

struct imapc_lit {
	size_t at;   /* offset in the response's text just after its "{N}" */
	size_t size; /* N: bytes the server sent */
	char *data;  /* the first len of them (NUL-terminated); a handler may take it (NULL) */
	size_t len;
};

/* One untagged response: its text (lines joined, literals left out, the "{N}" kept) and the
 * literals it holds. */
struct imapc_resp {
	char *text;
	size_t len, cap;
	struct imapc_lit lit[IMAPC_LITS];
	size_t nlit;
};

/* Called for each untagged response ("* …") of a command: 0, or -1 to stop (the connection is
 * then unusable). */
typedef int imapc_untagged_fn(void *cls, struct imapc_resp *r);

/* How a connection's bytes come and go. */
struct imapc_io {
	/* reads at most cap bytes into buf: 0 with *got > 0, or -1 (closed, failed: logged) */
	int (*recv)(void *cls, char *buf, size_t cap, size_t *got);
	/* sends buf[0..len): 0, or -1 (logged) */
	int (*send)(void *cls, const char *buf, size_t len);
	void *cls;
};

/* A connection over io (copied; a test's bytes, the fuzz target's), as imapc_open's. 0 or -1. */
int imapc_new(const struct imapc_io *io, const char *key, size_t lit_max, struct imapc **out);
/* Connects curl to url (imap[s]://user:pass@host:port/) and logs in, for commands. errbuf is
 * curl's error buffer, key names the mailbox in the log (both lent for the connection's life);
 * literals are kept up to lit_max bytes. 0 and *out (imapc_free; curl stays the caller's), or
 * -1 with why in errbuf (not logged: the caller decides how often to say it). */
int imapc_open(CURL *curl, const char *url, char *errbuf, const char *key, size_t lit_max,
               struct imapc **out);
void imapc_free(struct imapc *c);
/* Sends the command fmt (a tag is put before it, CRLF after) and reads its responses, each
 * untagged one handed to fn (may be NULL), up to the tagged one: 0 for OK, 1 for NO or BAD
 * (logged), -1 when the connection failed or fn stopped (close it). */
int imapc_cmd(struct imapc *c, imapc_untagged_fn *fn, void *cls, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Sends the command fmt without waiting for its answer, which the next imapc_cmd reads (a NO
 * or BAD is logged; its untagged responses go to that command's fn): for a command whose result
 * the caller need not know (a UID STORE whose failure the next poll repairs). 0, or -1 (then
 * close the connection). With IMAPC_PEND commands waiting already, their answers are read
 * first. */
int imapc_send(struct imapc *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Reads the answers of the commands imapc_send sent (one NOOP when there are some): 0, 1, -1
 * as imapc_cmd. */
int imapc_flush(struct imapc *c);

/* imap.c */
/* The poller's commands on c with its readers of the answers, without a database (for the fuzz
 * target): SELECT, UID SEARCH, then the sizes and the bodies (BODY.PEEK[]) of the first 64 UIDs
 * found, and a UID STORE sent ahead and flushed. Writes how many bodies came and their bytes
 * kept. 0, or -1 at the first command that failed. */
int imap_exercise(struct imapc *c, size_t *fetched, size_t *bytes);

#endif
