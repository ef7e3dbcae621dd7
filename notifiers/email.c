/* email.c: the e-mail channel. Messages are built with GMime (RFC 2047 subject, UTF-8 body in
 * base64, Date, Message-ID, Auto-Submitted) and a batch is sent in one SMTP session with
 * libesmtp, with STARTTLS off, optional or required (through an OpenSSL context of ours, see
 * tls_ctx) and, when a user is configured, SMTP AUTH through libesmtp's SASL client (PLAIN or
 * LOGIN). SMTP 5xx to a recipient or to the message fails a notice at once; 4xx, connection
 * failures and a refused sender (smtp_from: configuration) are retried. The server's answer to
 * each message's data is handed to the message's done callback as soon as libesmtp reads it
 * (SMTP_EV_MESSAGESENT), before the next message's MAIL FROM is written. */
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <auth-client.h>
#include <gmime/gmime.h>
#include <openssl/ssl.h> /* first: libesmtp.h declares smtp_starttls_set_ctx after it only */
#include <openssl/x509.h>
#include <libesmtp.h>

#include "notifiers_int.h"

/* One message object for every message of a batch: From, Auto-Submitted and the part's type
 * are set once, each message replaces To, Subject, Date, Message-ID and the text in place (a
 * new object per message cost as much as writing it out). */
struct builder {
	GMimeMessage *msg; /* NULL: could not be made */
	GMimeTextPart *part;
	GMimeFormatOptions *fo;
};

static void
builder_free(struct builder *b)
{
	if (b->fo != NULL)
		g_mime_format_options_free(b->fo);
	if (b->part != NULL)
		g_object_unref(b->part);
	if (b->msg != NULL)
		g_object_unref(b->msg);
	memset(b, 0, sizeof(*b));
}

int
notify_sender(const char *smtp_from, char *name, size_t name_size, char *addr, size_t addr_size)
{
	InternetAddressList *list = internet_address_list_parse(NULL, smtp_from);
	InternetAddress *a;
	const char *n, *m;
	int rc = -1;

	if (list == NULL || internet_address_list_length(list) != 1)
		goto out;
	a = internet_address_list_get_address(list, 0);
	if (!INTERNET_ADDRESS_IS_MAILBOX(a))
		goto out;
	m = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(a));
	n = internet_address_get_name(a);
	if (m == NULL || strchr(m, '@') == NULL || m[0] == '@' || strchr(m, '@')[1] == '\0' ||
	    strchr(m, ' ') != NULL || strlen(m) >= addr_size)
		goto out;
	snprintf(addr, addr_size, "%s", m);
	snprintf(name, name_size, "%s", n != NULL ? n : "");
	rc = 0;
out:
	if (list != NULL)
		g_object_unref(list);
	return rc;
}

/* 0, or -1 with b->msg NULL. The headers are made in the order a message has them. */
static int
builder_init(struct builder *b, const struct notify_config *cfg)
{
	char name[256] = "", addr[256];

	memset(b, 0, sizeof(*b));
	b->msg = g_mime_message_new(TRUE);
	b->part = g_mime_text_part_new_with_subtype("plain");
	b->fo = g_mime_format_options_new();
	if (b->msg == NULL || b->part == NULL || b->fo == NULL) {
		builder_free(b);
		return -1;
	}
	/* smtp_from was checked at start (notify_config_check) */
	if (notify_sender(cfg->smtp_from, name, sizeof(name), addr, sizeof(addr)) != 0)
		snprintf(addr, sizeof(addr), "%s", cfg->smtp_from);
	g_mime_message_add_mailbox(b->msg, GMIME_ADDRESS_TYPE_FROM,
	                           name[0] != '\0' ? name : "civicdesk", addr);
	g_mime_message_add_mailbox(b->msg, GMIME_ADDRESS_TYPE_TO, NULL, "to@invalid");
	g_mime_message_set_subject(b->msg, "civicdesk", "utf-8");
	g_mime_object_set_header(GMIME_OBJECT(b->msg), "Date", "Thu, 01 Jan 1970 00:00:00 +0000",
	                         NULL);
	g_mime_message_set_message_id(b->msg, "civicdesk@invalid");
	g_mime_object_set_header(GMIME_OBJECT(b->msg), "Auto-Submitted", "auto-generated", NULL);
	g_mime_message_set_mime_part(b->msg, GMIME_OBJECT(b->part));
	g_mime_format_options_set_newline_format(b->fo, GMIME_NEWLINE_FORMAT_DOS);
	return 0;
}

/* The text of m with CRLF line ends (g_free), or NULL. */
static char *
build(struct builder *b, const struct notify_msg *m)
{
	InternetAddressList *to;
	InternetAddress *rcpt;
	GDateTime *date;

	if (b->msg == NULL)
		return NULL;
	to = g_mime_message_get_addresses(b->msg, GMIME_ADDRESS_TYPE_TO);
	rcpt = internet_address_mailbox_new(NULL, m->row->recipient);
	date = g_date_time_new_from_unix_local(m->date);
	if (to == NULL || rcpt == NULL || date == NULL) {
		if (rcpt != NULL)
			g_object_unref(rcpt);
		if (date != NULL)
			g_date_time_unref(date);
		return NULL;
	}
	internet_address_list_set_address(to, 0, rcpt);
	g_object_unref(rcpt);
	g_mime_message_set_subject(b->msg, m->row->subject != NULL ? m->row->subject : "civicdesk",
	                           "utf-8");
	g_mime_message_set_date(b->msg, date);
	g_date_time_unref(date);
	g_mime_message_set_message_id(b->msg, m->message_id);
	g_mime_text_part_set_text(b->part, m->row->body);
	g_mime_text_part_set_charset(b->part, "utf-8");
	g_mime_part_set_content_encoding(GMIME_PART(b->part), GMIME_CONTENT_ENCODING_BASE64);
	return g_mime_object_to_string(GMIME_OBJECT(b->msg), b->fo);
}

/* Whether url asks for implicit TLS (smtps://; a scheme in any case, RFC 3986). */
static int
implicit_tls(const char *url)
{
	return g_ascii_strncasecmp(url, "smtps://", 8) == 0;
}

/* 1 if p[0..len) is HOST, HOST:PORT, [V6] or [V6]:PORT with a non-empty host and a port of
 * 1 to 65535 in decimal, else 0. */
static int
valid_hostport(const char *p, size_t len)
{
	const char *end = p + len, *colon = NULL, *q;
	long port = 0;

	if (p[0] == '[') {
		q = memchr(p, ']', len);
		if (q == NULL || q == p + 1)
			return 0;
		if (q + 1 == end)
			return 1;
		if (q[1] != ':')
			return 0;
		colon = q + 1;
	} else {
		colon = memchr(p, ':', len);
		if (colon == NULL)
			return 1;
		if (colon == p)
			return 0;
	}
	if (colon + 1 == end || end - colon > 6)
		return 0;
	for (q = colon + 1; q < end; q++) {
		if (*q < '0' || *q > '9')
			return 0;
		port = port * 10 + (*q - '0');
	}
	return port >= 1 && port <= 65535;
}

/* Parses smtp://host[:port] (port 25 by default) or smtps://host[:port] (465) into
 * "host:port". 0 or -1. */
int
notify_smtp_hostport(const char *url, char *buf, size_t size)
{
	const char *p;
	size_t len;

	if (g_ascii_strncasecmp(url, "smtp://", 7) == 0)
		p = url + 7;
	else if (implicit_tls(url))
		p = url + 8;
	else
		return -1;
	len = strcspn(p, "/");
	if (len == 0 || len + 5 >= size)
		return -1;
	if (valid_hostport(p, len) != 1)
		return -1;
	if (p[len - 1] != ']' && memchr(p, ':', len) != NULL)
		snprintf(buf, size, "%.*s", (int)len, p);
	else
		snprintf(buf, size, "%.*s:%s", (int)len, p, implicit_tls(url) ? "465" : "25");
	return 0;
}

/* 1 present and usable, 0 absent, -1 present but refused: the rule libesmtp 1.1.0 applies to
 * its CA list (a non-empty file, or a directory, of this user, that group and others cannot
 * read). */
static int
ca_usable(const char *path, int dir)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return errno == ENOENT ? 0 : -1;
	if (dir ? !S_ISDIR(st.st_mode) : !(S_ISREG(st.st_mode) && st.st_size > 0))
		return -1;
	if ((st.st_mode & ((dir ? 0 : S_IXUSR) | S_IRWXG | S_IRWXO)) || st.st_uid != getuid())
		return -1;
	return 1;
}

/* The TLS context of a session (a new reference: SSL_CTX_free), or NULL with the reason in why.
 *
 * Why our own: Debian 12's libesmtp 1.1.0 makes one SSL_CTX, keeps it in a static variable for
 * the sessions to come and frees it with the first session that used STARTTLS, so every later
 * session of the process calls SSL_new on freed memory (AddressSanitizer: heap-use-after-free
 * in SSL_new from the second session on; without it, a handshake that hangs or fails at
 * random). A context set with smtp_starttls_set_ctx is counted and freed with its session
 * instead (upstream stopped caching it after 1.1.0).
 *
 * Why TLS 1.2 at most: after a TLS 1.3 handshake the server sends its session tickets (Python's
 * ssl two, Postfix one). libesmtp 1.1.0 writes EHLO into its buffer and polls for reading and
 * writing at once; when the tickets have arrived, it reads before it flushes: SSL_read takes
 * the tickets, finds no answer and waits (poll, smtp_timeout) for the answer to an EHLO it has
 * not sent, then ends the session (siobuf.c raw_read, protocol.c's loop). TLS 1.2 carries its
 * ticket inside the handshake and nothing after it (renegotiation refused).
 *
 * Certificate checks stay libesmtp's: the same CA list (libesmtp/ca.pem and libesmtp/ca under
 * $XDG_CONFIG_DIR or ~/.config, else the system's), the same verdict after the handshake (the
 * chain's result, the host name; SMTP_EV_INVALID_PEER_CERTIFICATE and the others). */
/* Where the CA list is (libesmtp's rule): the file and directory, each 1 usable / 0 absent. */
struct tls_paths {
	char file[1024], dir[1024];
	int fok, dok;
};

/* Finds the CA list before a session: 0, or -1 with the reason in why (a list that exists but
 * is not private to this user, which libesmtp refuses too). */
static int
tls_paths(struct tls_paths *p, char *why, size_t size)
{
	const char *cfgdir = getenv("XDG_CONFIG_DIR"), *home = getenv("HOME");

	if (cfgdir != NULL) {
		snprintf(p->file, sizeof(p->file), "%s/libesmtp/ca.pem", cfgdir);
		snprintf(p->dir, sizeof(p->dir), "%s/libesmtp/ca", cfgdir);
	} else {
		snprintf(p->file, sizeof(p->file), "%s/.config/libesmtp/ca.pem", home ? home : "");
		snprintf(p->dir, sizeof(p->dir), "%s/.config/libesmtp/ca", home ? home : "");
	}
	p->fok = ca_usable(p->file, 0);
	p->dok = ca_usable(p->dir, 1);
	if (p->fok < 0 || p->dok < 0) {
		snprintf(why, size,
		         "libesmtp's ca.pem cannot be used (a file of mode 0600 of this "
		         "user): %.100s",
		         p->fok < 0 ? p->file : p->dir);
		return -1;
	}
	return 0;
}

/* The context (see above), or NULL when OpenSSL cannot make one; a CA list it cannot read
 * leaves the context without CAs, and the reason in why. */
static SSL_CTX *
tls_ctx(const struct tls_paths *p, char *why, size_t size)
{
	const char *file = p->file, *dir = p->dir;
	int fok = p->fok, dok = p->dok;
	SSL_CTX *ctx;

	ctx = SSL_CTX_new(TLS_client_method());
	if (ctx == NULL || SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION) != 1) {
		snprintf(why, size, "OpenSSL: cannot make a TLS context");
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
	if (fok > 0 || dok > 0) {
		if (SSL_CTX_load_verify_locations(ctx, fok > 0 ? file : NULL,
		                                  dok > 0 ? dir : NULL) != 1) {
			/* kept without CAs: the certificate is then refused, as it should */
			snprintf(why, size, "OpenSSL cannot read %.100s", fok > 0 ? file : dir);
		}
	} else {
		/* the system's CAs as SSL_CTX_set_default_verify_paths finds them (SSL_CERT_FILE
		 * and SSL_CERT_DIR first), the hashed directory read certificate by certificate as
		 * a chain needs one */
		const char *envdir = getenv(X509_get_default_cert_dir_env());
		const char *envfile = getenv(X509_get_default_cert_file_env());

		if (SSL_CTX_load_verify_locations(
		        ctx, envfile, envdir != NULL ? envdir : X509_get_default_cert_dir()) != 1) {
			snprintf(why, size,
			         "OpenSSL cannot find the system's certificate authorities");
		}
	}
	return ctx;
}

static enum starttls_option
starttls_mode(const char *s)
{
	if (s != NULL && strcmp(s, "required") == 0)
		return Starttls_REQUIRED;
	if (s != NULL && strcmp(s, "off") == 0)
		return Starttls_DISABLED;
	return Starttls_ENABLED;
}

/* The result of an SMTP status code: 2xx sent, 5xx failed, anything else retried. */
static enum notify_result
by_code(int code)
{
	if (code >= 200 && code < 300)
		return NOTIFY_SENT;
	if (code >= 500 && code < 600)
		return NOTIFY_FAILED;
	return NOTIFY_RETRY;
}

static void
all_retry(struct notify_msg *msgs, size_t n, const char *why)
{
	size_t i;

	for (i = 0; i < n; i++) {
		msgs[i].result = NOTIFY_RETRY;
		snprintf(msgs[i].error, sizeof(msgs[i].error), "%.255s", why);
	}
}

/* libesmtp's SASL client asks for the user and the password. */
static int
auth_interact(auth_client_request_t req, char **result, int fields, void *arg)
{
	const struct notify_config *cfg = arg;
	int i;

	for (i = 0; i < fields; i++) {
		if (req[i].flags & AUTH_USER)
			result[i] = (char *)cfg->smtp_user;
		else if (req[i].flags & AUTH_PASS)
			result[i] = (char *)cfg->smtp_password;
		else
			return 0; /* a realm or anything else: not configured */
	}
	return 1;
}

/* The bound of a whole SMTP session. libesmtp bounds each wait (poll) by smtp_timeout but not a
 * session: a server that trickles a byte now and then keeps it, and the dispatcher, forever. A
 * watchdog thread shuts the session's socket down when the bound has passed; libesmtp then
 * reads the end of the connection and ends the session, the messages not accepted by then wait
 * for their next attempt. libesmtp does not lend its socket: it is found when libesmtp reports
 * the connection (SMTP_EV_CONNECT), as this process's one outgoing TCP socket to the server's
 * port (the dispatcher is the only SMTP client). */
struct watchdog {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct timespec deadline; /* CLOCK_MONOTONIC */
	int port;                 /* the server's */
	int fd;                   /* the session's socket (-1: not known) */
	int done;                 /* the session ended */
	int fired;                /* the bound cut it */
};

/* The TCP port of a socket address, or -1. */
static int
port_of(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	if (ss->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	return -1;
}

/* The local port of fd when it is a TCP socket that this process connected to port (not one
 * it accepted: its local port is then a listening one, listed in listen[0..nl)), else -1. */
static int
outgoing_to(int fd, int port, const int *listen, size_t nl)
{
	struct sockaddr_storage peer, self;
	socklen_t plen = sizeof(peer), slen = sizeof(self), tlen = sizeof(int);
	int type = 0, local;
	size_t i;

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) != 0 || type != SOCK_STREAM ||
	    getpeername(fd, (struct sockaddr *)&peer, &plen) != 0 || port_of(&peer) != port ||
	    getsockname(fd, (struct sockaddr *)&self, &slen) != 0)
		return -1;
	local = port_of(&self);
	for (i = 0; i < nl; i++)
		if (listen[i] == local)
			return -1;
	return local;
}

/* 1 when fd is still a TCP socket connected to port. */
static int
peer_port_is(int fd, int port)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	return getpeername(fd, (struct sockaddr *)&ss, &len) == 0 && port_of(&ss) == port;
}

/* The session's socket: the only TCP socket of this process connected to port that it did not
 * accept, or -1 (none, or more than one: the session is then bounded by libesmtp's waits
 * only). */
static int
find_socket(int port)
{
	DIR *d;
	struct dirent *e;
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, found = -1, n = 0, on, listen[16];
	socklen_t olen;
	size_t nl = 0;

	/* the listening ports first: sockets accepted on them are not ours to cut */
	d = opendir("/proc/self/fd");
	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL && nl < sizeof(listen) / sizeof(listen[0])) {
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		fd = atoi(e->d_name);
		on = 0;
		olen = sizeof(on);
		len = sizeof(ss);
		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &olen) == 0 && on &&
		    getsockname(fd, (struct sockaddr *)&ss, &len) == 0 && port_of(&ss) >= 0)
			listen[nl++] = port_of(&ss);
	}
	rewinddir(d);
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		fd = atoi(e->d_name);
		if (fd != dirfd(d) && outgoing_to(fd, port, listen, nl) >= 0) {
			found = fd;
			n++;
		}
	}
	closedir(d);
	return n == 1 ? found : -1;
}

static void *
watchdog_main(void *arg)
{
	struct watchdog *w = arg;
	int rc = 0;

	pthread_mutex_lock(&w->mu);
	while (!w->done && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&w->cv, &w->mu, &w->deadline);
	if (!w->done && w->fd >= 0 && peer_port_is(w->fd, w->port)) {
		shutdown(w->fd, SHUT_RDWR);
		w->fired = 1;
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* Starts the watchdog of a session bounded by `seconds` to port: 0, or -1 (no watchdog). */
static int
watchdog_start(struct watchdog *w, pthread_t *th, int port, long seconds)
{
	pthread_condattr_t ca;

	memset(w, 0, sizeof(*w));
	w->fd = -1;
	w->port = port;
	if (pthread_condattr_init(&ca) != 0)
		return -1;
	if (pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
	    pthread_cond_init(&w->cv, &ca) != 0) {
		pthread_condattr_destroy(&ca);
		return -1;
	}
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&w->mu, NULL);
	clock_gettime(CLOCK_MONOTONIC, &w->deadline);
	w->deadline.tv_sec += seconds;
	if (pthread_create(th, NULL, watchdog_main, w) != 0) {
		pthread_cond_destroy(&w->cv);
		pthread_mutex_destroy(&w->mu);
		return -1;
	}
	return 0;
}

/* Ends the watchdog (the session is over). */
static void
watchdog_stop(struct watchdog *w, pthread_t th)
{
	pthread_mutex_lock(&w->mu);
	w->done = 1;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(th, NULL);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
}

/* The server's last reply line (never what we write: that holds the AUTH exchange). */
struct last_reply {
	char line[160];
	int no_starttls;     /* the server offers no STARTTLS while it is required */
	char tls[200];       /* why the TLS session was refused, or "" */
	struct watchdog *wd; /* the session's bound, or NULL */
	/* STARTTLS: the context is made when the server's answer to EHLO offers it (reading a
	 * bundle of CAs takes 40 ms: not for every session), before libesmtp would make its own */
	smtp_session_t session;
	const struct tls_paths *paths; /* NULL: STARTTLS off */
	SSL_CTX *ctx;                  /* made, lent to the session */
	char seen[8];                  /* the end of the last read, for a word cut between reads */
	/* the batch, for SMTP_EV_MESSAGESENT (each libesmtp message's application data is its
	 * struct notify_msg) */
	struct notify_msg *msgs;
	smtp_recipient_t *rc;    /* each message's one recipient (NULL: not added) */
	unsigned char *reported; /* 1: its result is final and was handed to done */
	const char *from;        /* the sender's address */
};

/* 1 when buf[0..len) holds "STARTTLS" (any case). */
static int
says_starttls(const char *buf, size_t len)
{
	static const char w[] = "STARTTLS";
	size_t i, j;

	for (i = 0; i + 8 <= len; i++) {
		for (j = 0; j < 8 && (buf[i + j] & ~0x20) == w[j]; j++)
			;
		if (j == 8)
			return 1;
	}
	return 0;
}

/* A read of the session: makes and sets the TLS context when STARTTLS is offered. */
static void
watch_starttls(struct last_reply *lr, const char *buf, size_t len)
{
	char win[16];
	size_t t = strlen(lr->seen), h = len < 8 ? len : 8;

	if (lr->paths == NULL || lr->ctx != NULL)
		return;
	memcpy(win, lr->seen, t);
	memcpy(win + t, buf, h);
	if (says_starttls(win, t + h) || says_starttls(buf, len)) {
		lr->ctx = tls_ctx(lr->paths, lr->tls, sizeof(lr->tls));
		if (lr->ctx != NULL)
			smtp_starttls_set_ctx(lr->session, lr->ctx);
		return;
	}
	t = len < 7 ? len : 7;
	memcpy(lr->seen, buf + len - t, t);
	lr->seen[t] = '\0';
}

static void
on_protocol(const char *buf, int len, int writing, void *arg)
{
	struct last_reply *lr = arg;
	size_t n;

	if (writing != SMTP_CB_READING || len <= 0)
		return;
	watch_starttls(lr, buf, (size_t)len);
	/* buf holds len bytes and no terminating NUL */
	for (n = 0; n < (size_t)len && buf[n] != '\r' && buf[n] != '\n'; n++)
		;
	if (n >= sizeof(lr->line))
		n = sizeof(lr->line) - 1;
	memcpy(lr->line, buf, n);
	lr->line[n] = '\0';
}

/* Fills m's result from libesmtp's statuses of its message sm and recipient rc, from the
 * sender's address: 1 when an answer of the server decided it (m->error then holds the answer
 * unless sent), 0 when the session ended before any answer to it (a retry; the caller says
 * why). */
static int
message_status(struct notify_msg *m, smtp_message_t sm, smtp_recipient_t rc, const char *from)
{
	const smtp_status_t *st = smtp_reverse_path_status(sm);

	if (st != NULL && st->code >= 400) {
		/* the sender refused, even for good (5xx): smtp_from or the server's setup, not
		 * the notice; it waits for the configuration to be put right, as after a refused
		 * AUTH (notify_give_up bounds it) */
		char text[160];

		snprintf(text, sizeof(text), "%s", st->text != NULL ? st->text : "");
		text[strcspn(text, "\r\n")] = '\0';
		m->result = NOTIFY_RETRY;
		snprintf(m->error, sizeof(m->error),
		         "SMTP %d %.120s (the server refuses the sender %.60s: check smtp_from)",
		         st->code, text, from);
		return 1;
	}
	st = smtp_recipient_status(rc);
	if (st != NULL && st->code >= 400)
		m->result = by_code(st->code);
	else {
		st = smtp_message_transfer_status(sm);
		m->result = st != NULL ? by_code(st->code) : NOTIFY_RETRY;
	}
	if (m->result == NOTIFY_SENT)
		return 1;
	if (st == NULL || st->code == 0)
		return 0;
	snprintf(m->error, sizeof(m->error), "SMTP %d %s", st->code,
	         st->text != NULL ? st->text : "");
	m->error[strcspn(m->error, "\r\n")] = '\0';
	return 1;
}

/* SMTP_EV_MESSAGESENT: the server answered message sm's data (or refused its DATA). Its result
 * is final: handed to its done callback now, so that the dispatcher records it before libesmtp
 * writes the next message's MAIL FROM (a crash then sends again at most the message whose
 * answer was being recorded). The callback's wish to stop is not followed: the session goes on
 * to the end of its batch, each message recorded as it is answered. */
static void
message_sent(struct last_reply *lr, smtp_message_t sm)
{
	struct notify_msg *m = smtp_message_get_application_data(sm);
	size_t i;

	if (m == NULL || lr->msgs == NULL)
		return;
	i = (size_t)(m - lr->msgs);
	if (lr->reported[i] || lr->rc[i] == NULL || message_status(m, sm, lr->rc[i], lr->from) == 0)
		return;
	lr->reported[i] = 1;
	if (m->done != NULL)
		(void)m->done(m, m->done_cls);
}

/* libesmtp's events: the connection (the watchdog's socket), each message answered, a missing
 * STARTTLS, and a server certificate it refuses (libesmtp 1.1 checks it against
 * $XDG_CONFIG_DIR/libesmtp/ca.pem or ~/.config/libesmtp/ca.pem, or the system's CAs when there
 * is none, and the host name of smtp_url against its names; a refused certificate ends the
 * session). */
static void
on_event(smtp_session_t s, int event, void *arg, ...)
{
	struct last_reply *lr = arg;
	va_list ap;
	long verify;

	(void)s;
	switch (event) {
	case SMTP_EV_CONNECT:
		if (lr->wd != NULL) {
			int fd = find_socket(lr->wd->port);

			pthread_mutex_lock(&lr->wd->mu);
			lr->wd->fd = fd;
			pthread_mutex_unlock(&lr->wd->mu);
		}
		break;
	case SMTP_EV_DISCONNECT: /* closed: its number may be another socket's from now on */
		if (lr->wd != NULL) {
			pthread_mutex_lock(&lr->wd->mu);
			lr->wd->fd = -1;
			pthread_mutex_unlock(&lr->wd->mu);
		}
		break;
	case SMTP_EV_EXTNA_STARTTLS:
		lr->no_starttls = 1;
		break;
	case SMTP_EV_MESSAGESENT: {
		smtp_message_t sm;

		va_start(ap, arg);
		sm = va_arg(ap, smtp_message_t);
		va_end(ap);
		message_sent(lr, sm);
		break;
	}
	case SMTP_EV_INVALID_PEER_CERTIFICATE:
		va_start(ap, arg);
		verify = va_arg(ap, long);
		va_end(ap);
		snprintf(lr->tls, sizeof(lr->tls),
		         "the server's certificate is not trusted (OpenSSL verify result %ld)",
		         verify);
		break;
	case SMTP_EV_WRONG_PEER_CERTIFICATE:
		snprintf(lr->tls, sizeof(lr->tls), "the server's certificate is for another host");
		break;
	case SMTP_EV_NO_PEER_CERTIFICATE:
		snprintf(lr->tls, sizeof(lr->tls), "the server showed no certificate");
		break;
	case SMTP_EV_UNUSABLE_CA_LIST:
		snprintf(lr->tls, sizeof(lr->tls),
		         "libesmtp's ca.pem cannot be used (a file of mode 0600 of this user)");
		break;
	default:
		break;
	}
}

static void
email_send(const struct notify_config *cfg, struct notify_msg *msgs, size_t n)
{
	smtp_session_t s = NULL;
	auth_context_t auth = NULL;
	struct last_reply lr;
	struct tls_paths paths;
	struct watchdog wd;
	pthread_t wd_thread;
	long bound = 0;
	int started, fired = 0;
	char ended[600];
	smtp_message_t *sm = NULL;
	smtp_recipient_t *rc = NULL;
	char **texts = NULL, hostport[300], ebuf[200], from_name[256], from[256];
	size_t i;
	struct builder b;
	struct smtps_relay relay;
	SSL_CTX *tls = NULL;
	int relayed = 0;

	if (n == 0)
		return;
	memset(&lr, 0, sizeof(lr));
	builder_init(&b, cfg); /* on failure every message says "cannot build the message" */
	if (notify_sender(cfg->smtp_from, from_name, sizeof(from_name), from, sizeof(from)) != 0)
		snprintf(from, sizeof(from), "%s", cfg->smtp_from); /* checked at start */
	sm = calloc(n, sizeof(*sm));
	rc = calloc(n, sizeof(*rc));
	texts = calloc(n, sizeof(*texts));
	lr.reported = calloc(n, 1);
	if (sm == NULL || rc == NULL || texts == NULL || lr.reported == NULL) {
		all_retry(msgs, n, "out of memory");
		goto out;
	}
	if (notify_smtp_hostport(cfg->smtp_url, hostport, sizeof(hostport)) != 0) {
		all_retry(msgs, n, "smtp_url is not smtp://host:port");
		goto out;
	}
	if (implicit_tls(cfg->smtp_url)) {
		/* smtps://: the TLS is the relay's, libesmtp talks to it in plain text */
		char why[300];

		if (tls_paths(&paths, ebuf, sizeof(ebuf)) != 0) {
			all_retry(msgs, n, ebuf);
			goto out;
		}
		tls = tls_ctx(&paths, ebuf, sizeof(ebuf));
		if (tls == NULL || smtps_relay_open(&relay, tls, hostport, (int)cfg->smtp_timeout,
		                                    why, sizeof(why)) != 0) {
			char msg[400];

			snprintf(msg, sizeof(msg), "SMTP smtps://%.80s: %s", hostport,
			         tls == NULL ? ebuf : why);
			all_retry(msgs, n, msg);
			goto out;
		}
		relayed = 1;
	} else if (starttls_mode(cfg->smtp_starttls) != Starttls_DISABLED) {
		if (tls_paths(&paths, ebuf, sizeof(ebuf)) != 0) {
			all_retry(msgs, n, ebuf);
			goto out;
		}
		lr.paths = &paths;
	}
	s = smtp_create_session();
	lr.session = s;
	if (s == NULL || smtp_set_server(s, relayed ? relay.local : hostport) == 0 ||
	    smtp_starttls_enable(s, relayed ? Starttls_DISABLED
	                                    : starttls_mode(cfg->smtp_starttls)) == 0) {
		all_retry(msgs, n, smtp_strerror(smtp_errno(), ebuf, sizeof(ebuf)));
		goto out;
	}
	if (cfg->smtp_user[0] != '\0') {
		/* PLAIN and LOGIN send the password as it is: allowed, since the administrator
		 * chose the server and its STARTTLS mode */
		auth = auth_create_context();
		if (auth == NULL || auth_set_mechanism_flags(auth, AUTH_PLUGIN_PLAIN, 0) == 0 ||
		    auth_set_interact_cb(auth, auth_interact, (void *)cfg) == 0 ||
		    smtp_auth_set_context(s, auth) == 0) {
			all_retry(msgs, n, "libesmtp: cannot set up SMTP AUTH");
			goto out;
		}
	}
	smtp_set_monitorcb(s, on_protocol, &lr, 0);
	smtp_set_eventcb(s, on_event, &lr);
	for (i = 0; i < (size_t)Timeout_DATA2 + 1; i++)
		smtp_set_timeout(s, (int)i | Timeout_OVERRIDE_RFC2822_MINIMUM, cfg->smtp_timeout);
	for (i = 0; i < n; i++) {
		msgs[i].result = NOTIFY_RETRY;
		texts[i] = build(&b, &msgs[i]);
		if (texts[i] == NULL) {
			snprintf(msgs[i].error, sizeof(msgs[i].error), "cannot build the message");
			continue;
		}
		sm[i] = smtp_add_message(s);
		if (sm[i] == NULL || smtp_set_reverse_path(sm[i], from) == 0 ||
		    (rc[i] = smtp_add_recipient(sm[i], msgs[i].row->recipient)) == NULL ||
		    smtp_set_message_str(sm[i], texts[i]) == 0) {
			snprintf(msgs[i].error, sizeof(msgs[i].error), "libesmtp: %s",
			         smtp_strerror(smtp_errno(), ebuf, sizeof(ebuf)));
			continue;
		}
		smtp_message_set_application_data_release(sm[i], &msgs[i], NULL);
	}
	lr.msgs = msgs;
	lr.rc = rc;
	lr.from = from;
	/* the whole session: twice smtp_timeout, and a second more per message */
	bound = 2 * cfg->smtp_timeout + (long)n;
	if (watchdog_start(&wd, &wd_thread, relayed ? relay.port : atoi(strrchr(hostport, ':') + 1),
	                   bound) == 0)
		lr.wd = &wd;
	started = smtp_start_session(s);
	if (lr.wd != NULL) {
		watchdog_stop(&wd, wd_thread);
		fired = wd.fired;
		lr.wd = NULL;
	}
	if (fired) /* what the messages not accepted by then say */
		snprintf(lr.tls, sizeof(lr.tls),
		         "cut after %ld s (twice smtp_timeout and a second per message)", bound);
	if (started == 0) {
		/* the session failed: every message not answered before waits for the next
		 * attempt (those answered keep their result, recorded already) */
		char why[512];

		snprintf(why, sizeof(why), "SMTP %.80s: %s%s%s", hostport,
		         smtp_strerror(smtp_errno(), ebuf, sizeof(ebuf)), fired ? ": " : "",
		         fired ? lr.tls : "");
		for (i = 0; i < n; i++)
			if (!lr.reported[i])
				all_retry(&msgs[i], 1, why);
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (sm[i] == NULL || rc[i] == NULL || lr.reported[i] ||
		    message_status(&msgs[i], sm[i], rc[i], from) == 1)
			continue;
		/* the session ended before this message: say why */
		snprintf(ended, sizeof(ended), "SMTP session ended%s%s%s: %s",
		         lr.no_starttls
		             ? " (the server offers no STARTTLS, smtp_starttls = required)"
		         : auth != NULL && strncmp(lr.line, "334", 3) == 0
		             ? " (AUTH refused: check smtp_user and smtp_password)"
		             : "",
		         lr.tls[0] ? ": " : "", lr.tls, lr.line[0] ? lr.line : "no answer");
		snprintf(msgs[i].error, sizeof(msgs[i].error), "%.250s", ended);
	}
out:
	if (s != NULL)
		smtp_destroy_session(s); /* drops the session's reference to the context */
	if (relayed)
		smtps_relay_close(&relay);
	SSL_CTX_free(tls);
	SSL_CTX_free(lr.ctx);
	if (auth != NULL)
		auth_destroy_context(auth);
	if (texts != NULL)
		for (i = 0; i < n; i++)
			g_free(texts[i]);
	free(texts);
	free(lr.reported);
	free(rc);
	free(sm);
	builder_free(&b);
}

const struct notify_channel notify_email = {"email", email_send};
