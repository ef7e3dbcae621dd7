/* smtps.c: SMTP over implicit TLS (smtps://, port 465) for libesmtp, which speaks only
 * STARTTLS. The relay opens the TLS connection itself (OpenSSL: the same trusted CAs as
 * STARTTLS, the server's name checked), then listens on a loopback port of its own for the one
 * connection libesmtp makes, and carries bytes between the two until either side closes. The
 * listening port lives only while the session starts, takes one connection and is closed
 * after it. Any local process could connect to that port; only a connection from a socket of
 * this process is taken (smtps_peer_is_own), the others are closed unanswered: another
 * process never gets the TLS session with the mail server. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "notifiers_int.h"

#define RELAY_BUF 16384

/* A connected TCP socket to host:port within timeout seconds, or -1 with why. */
static int
dial(const char *host, const char *port, int timeout, char *why, size_t size)
{
	struct addrinfo hints, *res = NULL, *ai;
	struct timeval tv = {timeout, 0};
	int fd = -1, rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	rc = getaddrinfo(host, port, &hints, &res);
	if (rc != 0) {
		snprintf(why, size, "%s: %s", host, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0)
			continue;
		/* the connect, the handshake and every later read and write: bounded */
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		snprintf(why, size, "connect to %s:%s: %s", host, port, strerror(errno));
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

/* The TLS session over fd with host's certificate checked, or NULL with why. */
static SSL *
handshake(SSL_CTX *ctx, int fd, const char *host, char *why, size_t size)
{
	SSL *ssl = SSL_new(ctx);
	long v;

	if (ssl == NULL) {
		snprintf(why, size, "OpenSSL: cannot start TLS");
		return NULL;
	}
	SSL_set_verify(ssl, SSL_VERIFY_PEER, NULL);
	if (SSL_set_tlsext_host_name(ssl, host) != 1 || SSL_set1_host(ssl, host) != 1 ||
	    SSL_set_fd(ssl, fd) != 1) {
		snprintf(why, size, "OpenSSL: cannot set up TLS for %s", host);
		SSL_free(ssl);
		return NULL;
	}
	if (SSL_connect(ssl) != 1) {
		v = SSL_get_verify_result(ssl);
		if (v != X509_V_OK)
			snprintf(why, size, "TLS with %s: the certificate is refused: %s", host,
			         X509_verify_cert_error_string(v));
		else
			snprintf(why, size, "TLS with %s: the handshake failed (%s)", host,
			         ERR_reason_error_string(ERR_peek_last_error()) != NULL
			             ? ERR_reason_error_string(ERR_peek_last_error())
			             : "connection closed");
		ERR_clear_error();
		SSL_free(ssl);
		return NULL;
	}
	return ssl;
}

/* Writes all of buf to fd; 0 or -1. */
static int
write_all(int fd, const char *buf, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, buf, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		buf += w;
		n -= (size_t)w;
	}
	return 0;
}

/* The inode of the TCP socket whose local end is 127.0.0.1:local and remote end 127.0.0.1:remote,
 * from /proc/net/tcp (hexadecimal, the address in network order read as a little-endian word);
 * 0 when there is none. */
static unsigned long
loopback_inode(unsigned local, unsigned remote)
{
	FILE *f = fopen("/proc/net/tcp", "re");
	char line[512];
	unsigned la, lp, ra, rp;
	unsigned long inode, found = 0;

	if (f == NULL)
		return 0;
	while (found == 0 && fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, " %*d: %8X:%4X %8X:%4X %*X %*X:%*X %*X:%*X %*X %*u %*d %lu", &la, &lp,
		           &ra, &rp, &inode) == 5 &&
		    la == 0x0100007FU && ra == 0x0100007FU && lp == local && rp == remote)
			found = inode;
	fclose(f);
	return found;
}

int
smtps_peer_is_own(int fd)
{
	struct sockaddr_in peer, me;
	socklen_t plen = sizeof(peer), mlen = sizeof(me);
	char want[64], link[64], path[64];
	unsigned long inode;
	struct dirent *e;
	DIR *d;
	ssize_t n;
	int own = 0;

	if (getpeername(fd, (struct sockaddr *)&peer, &plen) != 0 ||
	    getsockname(fd, (struct sockaddr *)&me, &mlen) != 0 || peer.sin_family != AF_INET ||
	    peer.sin_addr.s_addr != htonl(INADDR_LOOPBACK))
		return 0;
	inode = loopback_inode(ntohs(peer.sin_port), ntohs(me.sin_port));
	if (inode == 0)
		return 0;
	snprintf(want, sizeof(want), "socket:[%lu]", inode);
	d = opendir("/proc/self/fd");
	if (d == NULL)
		return 0;
	while (!own && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%.20s", e->d_name);
		n = readlink(path, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = '\0';
		own = strcmp(link, want) == 0;
	}
	closedir(d);
	return own;
}

/* Waits for libesmtp's connection on r->listen_fd until the relay's timeout or its stop, and
 * closes the listening socket: the connection, or -1. A connection from another process is
 * closed unanswered, and logged. */
static int
accept_own(struct smtps_relay *r)
{
	struct pollfd p[2];
	int plain = -1, n;

	for (;;) {
		p[0] = (struct pollfd){r->listen_fd, POLLIN, 0};
		p[1] = (struct pollfd){r->stop[0], POLLIN, 0};
		n = poll(p, 2, r->timeout * 1000);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || !(p[0].revents & POLLIN) || p[1].revents != 0)
			break;
		plain = accept4(r->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (plain < 0 || smtps_peer_is_own(plain))
			break;
		close(plain);
		plain = -1;
		notify_log("the TLS relay to the mail server refused a connection from another "
		           "process on its loopback port %d", r->port);
	}
	close(r->listen_fd);
	r->listen_fd = -1;
	return plain;
}

static void *
relay_main(void *arg)
{
	struct smtps_relay *r = arg;
	char buf[RELAY_BUF];
	struct pollfd p[3];
	int plain = -1, n;

	/* the one connection: libesmtp's, or the stop pipe */
	plain = accept_own(r);
	if (plain < 0)
		goto out;
	for (;;) {
		if (SSL_pending(r->ssl) == 0) {
			p[0] = (struct pollfd){plain, POLLIN, 0};
			p[1] = (struct pollfd){r->tcp_fd, POLLIN, 0};
			p[2] = (struct pollfd){r->stop[0], POLLIN, 0};
			n = poll(p, 3, r->timeout * 1000);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0 || p[2].revents != 0)
				break;
			if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
				n = (int)read(plain, buf, sizeof(buf));
				if (n <= 0 || SSL_write(r->ssl, buf, n) != n)
					break;
				continue;
			}
			if (!(p[1].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
		}
		n = SSL_read(r->ssl, buf, sizeof(buf));
		if (n <= 0 || write_all(plain, buf, (size_t)n) != 0)
			break;
	}
	SSL_shutdown(r->ssl);
out:
	if (plain >= 0)
		close(plain);
	return NULL;
}

int
smtps_relay_open(struct smtps_relay *r, SSL_CTX *ctx, const char *hostport, int timeout,
                 char *why, size_t size)
{
	char host[256], port[16];
	const char *colon = strrchr(hostport, ':');
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);

	memset(r, 0, sizeof(*r));
	r->listen_fd = r->tcp_fd = r->stop[0] = r->stop[1] = -1;
	r->timeout = timeout > 0 ? timeout : 60;
	if (colon == NULL || (size_t)(colon - hostport) >= sizeof(host) ||
	    strlen(colon + 1) >= sizeof(port)) {
		snprintf(why, size, "'%s' is not HOST:PORT", hostport);
		return -1;
	}
	snprintf(host, sizeof(host), "%.*s", (int)(colon - hostport), hostport);
	snprintf(port, sizeof(port), "%s", colon + 1);
	/* TLS 1.3 too: the cap of the STARTTLS context is for libesmtp's own TLS */
	SSL_CTX_set_max_proto_version(ctx, 0);
	r->tcp_fd = dial(host, port, r->timeout, why, size);
	if (r->tcp_fd < 0)
		goto fail;
	r->ssl = handshake(ctx, r->tcp_fd, host, why, size);
	if (r->ssl == NULL)
		goto fail;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	r->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (r->listen_fd < 0 || bind(r->listen_fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	    listen(r->listen_fd, 1) != 0 ||
	    getsockname(r->listen_fd, (struct sockaddr *)&sin, &len) != 0 ||
	    pipe2(r->stop, O_CLOEXEC) != 0) {
		snprintf(why, size, "the TLS relay cannot listen: %s", strerror(errno));
		goto fail;
	}
	r->port = ntohs(sin.sin_port);
	snprintf(r->local, sizeof(r->local), "127.0.0.1:%d", r->port);
	if (pthread_create(&r->thread, NULL, relay_main, r) != 0) {
		snprintf(why, size, "the TLS relay cannot start");
		goto fail;
	}
	r->running = 1;
	return 0;
fail:
	smtps_relay_close(r);
	return -1;
}

void
smtps_relay_close(struct smtps_relay *r)
{
	if (r->running) {
		if (write(r->stop[1], "x", 1) < 0) {
			/* the thread then ends at its timeout */
		}
		pthread_join(r->thread, NULL);
		r->running = 0;
	}
	if (r->listen_fd >= 0)
		close(r->listen_fd);
	if (r->stop[0] >= 0)
		close(r->stop[0]);
	if (r->stop[1] >= 0)
		close(r->stop[1]);
	if (r->ssl != NULL)
		SSL_free(r->ssl);
	if (r->tcp_fd >= 0)
		close(r->tcp_fd);
	r->listen_fd = r->tcp_fd = r->stop[0] = r->stop[1] = -1;
	r->ssl = NULL;
}
