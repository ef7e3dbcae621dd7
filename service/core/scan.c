/*
 * scan.c: virus scanning of attachments with clamd's INSTREAM command (the clamd socket named
 * by clamd_socket): an infected file is not stored, the item's history (shown to the citizen)
 * and the audit log say why; when clamd cannot be reached the file is stored and held (never
 * served) until serve's rescan finds it clean. Nothing is lost for want of a scanner.
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "core_int.h"

#define SCAN_CHUNK 65536    /* bytes of one INSTREAM chunk */
#define SCAN_REPLY_MAX 512  /* bytes of clamd's answer */
#define SCAN_RESCAN_BATCH 16 /* held attachments looked at per rescan */

/* Opens a connection to clamd at spec: a path (a local socket) or host:port (TCP), with
 * send and receive timeouts of timeout_ms. The socket, or -1 with the reason in why. */
static int
clamd_connect(const char *spec, long timeout_ms, char *why, size_t size)
{
	struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
	int fd = -1;

	if (spec[0] == '/') {
		struct sockaddr_un sun;

		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		if (strlen(spec) >= sizeof(sun.sun_path)) {
			snprintf(why, size, "clamd_socket path too long");
			return -1;
		}
		memcpy(sun.sun_path, spec, strlen(spec) + 1);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
		    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0 ||
		    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0)
			goto fail;
		return fd;
	} else {
		struct addrinfo hints, *res = NULL, *ai;
		char host[256];
		const char *colon = strrchr(spec, ':');
		int rc;

		if (colon == NULL || (size_t)(colon - spec) >= sizeof(host)) {
			snprintf(why, size, "clamd_socket is neither a path nor host:port");
			return -1;
		}
		snprintf(host, sizeof(host), "%.*s", (int)(colon - spec), spec);
		memset(&hints, 0, sizeof(hints));
		hints.ai_socktype = SOCK_STREAM;
		hints.ai_flags = AI_NUMERICSERV;
		rc = getaddrinfo(host, colon + 1, &hints, &res);
		if (rc != 0) {
			snprintf(why, size, "clamd %s: %s", spec, gai_strerror(rc));
			return -1;
		}
		for (ai = res; ai != NULL; ai = ai->ai_next) {
			fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
			if (fd >= 0 && setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0 &&
			    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == 0 &&
			    connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
				break;
			if (fd >= 0)
				close(fd);
			fd = -1;
		}
		freeaddrinfo(res);
		if (fd < 0)
			goto fail;
		return fd;
	}
fail:
	snprintf(why, size, "clamd %s: %s", spec, strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

static int
send_all(int fd, const void *p, size_t n)
{
	const char *b = p;
	ssize_t k;

	while (n > 0) {
		k = send(fd, b, n, MSG_NOSIGNAL);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		b += k;
		n -= (size_t)k;
	}
	return 0;
}

enum scan_result
scan_data(const char *spec, long timeout_ms, const void *data, size_t n, char *note, size_t size)
{
	static const char cmd[] = "zINSTREAM";
	unsigned char len[4];
	char reply[SCAN_REPLY_MAX];
	const char *p = data, *sig;
	size_t off, chunk, got = 0;
	ssize_t k;
	int fd = clamd_connect(spec, timeout_ms, note, size);

	if (fd < 0)
		return SCAN_UNAVAILABLE;
	if (send_all(fd, cmd, sizeof(cmd)) != 0) /* with its NUL: the z form */
		goto io;
	for (off = 0; off < n; off += chunk) {
		chunk = n - off < SCAN_CHUNK ? n - off : SCAN_CHUNK;
		len[0] = (unsigned char)(chunk >> 24);
		len[1] = (unsigned char)(chunk >> 16);
		len[2] = (unsigned char)(chunk >> 8);
		len[3] = (unsigned char)chunk;
		if (send_all(fd, len, 4) != 0 || send_all(fd, p + off, chunk) != 0)
			goto io;
	}
	memset(len, 0, sizeof(len));
	if (send_all(fd, len, 4) != 0)
		goto io;
	while (got < sizeof(reply) - 1) {
		k = recv(fd, reply + got, sizeof(reply) - 1 - got, 0);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			goto io;
		if (k == 0)
			break;
		got += (size_t)k;
		if (memchr(reply, '\0', got) != NULL)
			break;
	}
	close(fd);
	reply[got] = '\0';
	got = strlen(reply);
	while (got > 0 && (reply[got - 1] == '\n' || reply[got - 1] == '\r'))
		reply[--got] = '\0';
	text_scrub(reply);
	if (strcmp(reply, "stream: OK") == 0) {
		snprintf(note, size, "clean");
		return SCAN_CLEAN;
	}
	if (got > 6 && strcmp(reply + got - 6, " FOUND") == 0) {
		sig = strncmp(reply, "stream: ", 8) == 0 ? reply + 8 : reply;
		snprintf(note, size, "%.*s", (int)(reply + got - 6 - sig), sig);
		return SCAN_INFECTED;
	}
	snprintf(note, size, "clamd answered: %s", got ? reply : "nothing");
	return SCAN_UNAVAILABLE;
io:
	snprintf(note, size, "clamd %s: %s", spec, strerror(errno));
	close(fd);
	return SCAN_UNAVAILABLE;
}

int
scan_intake(struct app *app, struct intake *in, struct scan_report *out)
{
	char note[SCAN_NOTE_MAX];
	size_t i, kept = 0;
	enum scan_result r;

	memset(out, 0, sizeof(*out));
	if (app->cfg.clamd_socket == NULL || app->cfg.clamd_socket[0] == '\0')
		return 0;
	out->configured = 1;
	for (i = 0; i < in->natt; i++) {
		const struct db_attachment *a = &in->att[i];

		r = scan_data(app->cfg.clamd_socket, app->cfg.clamd_timeout_ms, a->data,
		              (size_t)a->size, note, sizeof(note));
		if (r == SCAN_INFECTED) {
			struct scan_refused *f = &out->refused[out->nrefused++];

			snprintf(f->filename, sizeof(f->filename), "%s", a->filename);
			snprintf(f->signature, sizeof(f->signature), "%s", note);
			log_warn("scan: attachment refused: %s", note);
			continue;
		}
		if (r == SCAN_UNAVAILABLE) {
			log_warn("scan: attachment held for a later scan: %s", note);
			out->held++;
		}
		out->state[kept] = r == SCAN_CLEAN ? "clean" : "pending";
		snprintf(out->note[kept], sizeof(out->note[kept]), "%s", note);
		in->att[kept++] = *a;
	}
	in->natt = kept;
	return 0;
}

int
scan_record(struct db_conn *c, const struct db_item *item, const struct scan_report *r,
            int64_t now)
{
	struct actor system = {0, "system", NULL};
	struct db_attachment *att = NULL;
	struct db_history h;
	char note[INTAKE_FILENAME_MAX + SCAN_NOTE_MAX + 96];
	size_t n = 0, i, kept;
	int ret = -1;

	if (r == NULL || !r->configured)
		return 0;
	if (db_attachment_list(c, item->id, &att, &n) != 0)
		return -1;
	/* the kept files are the item's newest attachments, in order */
	for (kept = 0; kept < INTAKE_MAX_ATTACHMENTS && r->state[kept] != NULL; kept++)
		;
	for (i = 0; i < kept && i < n; i++)
		if (db_scan_set(c, att[n - (kept < n ? kept : n) + i].id, r->state[i], r->note[i],
		                now) != 0)
			goto out;
	for (i = 0; i < r->nrefused; i++) {
		memset(&h, 0, sizeof(h));
		snprintf(note, sizeof(note),
		         "attachment %s was not stored: the virus scanner found %s in it",
		         r->refused[i].filename, r->refused[i].signature);
		h.at = now;
		h.actor = (char *)"system";
		h.action = (char *)"attachment_refused";
		h.to_state = (char *)wf_state_name(item->state);
		h.note = note;
		h.citizen = 1;
		if (db_history_add(c, item->id, &h) != 0 ||
		    audit_write(c, now, &system, "attachment_refused", item->tracking, 0, note) != 0)
			goto out;
	}
	ret = 0;
out:
	db_attachments_free(att, n);
	return ret;
}

/* An infected held attachment of the item item_id: its content removed, its scan state, and a
 * citizen-visible history row and an audit row saying why, on the transaction skeleton of
 * txn.c. 0 or -1. */
static int
held_infected(struct app *app, struct db_conn *c, int64_t item_id, int64_t attachment_id,
              const char *filename, const char *note, int64_t now)
{
	struct actor system = {0, "system", NULL};
	char hnote[INTAKE_FILENAME_MAX + SCAN_NOTE_MAX + 96], tracking[64];
	struct core_error err;
	struct db_history h;
	struct core_txn txn;
	struct db_item item;
	int ret = -1;

	memset(&item, 0, sizeof(item));
	if (db_item_get_id(c, item_id, &item) <= 0)
		return -1;
	snprintf(tracking, sizeof(tracking), "%s", item.tracking);
	db_item_free(&item);
	if (txn_begin(&txn, app, c, tracking, &err) != 0)
		goto out;
	snprintf(hnote, sizeof(hnote),
	         "attachment %s was removed: the virus scanner found %s in it", filename, note);
	memset(&h, 0, sizeof(h));
	h.at = now;
	h.actor = (char *)"system";
	h.action = (char *)"attachment_refused";
	h.from_state = (char *)wf_state_name(txn.item.state);
	h.to_state = (char *)wf_state_name(txn.item.state);
	h.note = hnote;
	h.citizen = 1;
	if (db_scan_purge(c, attachment_id) != 0 ||
	    db_scan_set(c, attachment_id, "infected", note, now) != 0 ||
	    txn_commit(&txn, &system, &h, hnote, NULL, &err) != 0)
		goto out;
	ret = 0;
out:
	txn_end(&txn);
	return ret;
}

int
scan_pending(struct app *app, int64_t now, int *done)
{
	struct db_scan_held held[SCAN_RESCAN_BATCH];
	struct db_attachment a;
	struct db_conn *c;
	char note[SCAN_NOTE_MAX];
	size_t n = 0, i;
	enum scan_result r;
	int ret = -1, rc;

	*done = 0;
	if (app->cfg.clamd_socket == NULL || app->cfg.clamd_socket[0] == '\0')
		return 0;
	c = db_acquire(app->db);
	if (c == NULL)
		return -1;
	if (db_scan_pending(c, held, SCAN_RESCAN_BATCH, &n) != 0)
		goto out;
	for (i = 0; i < n; i++) {
		memset(&a, 0, sizeof(a));
		rc = db_attachment_get(c, held[i].item_id, held[i].attachment_id, &a);
		if (rc <= 0) {
			if (rc < 0)
				goto out;
			continue;
		}
		r = scan_data(app->cfg.clamd_socket, app->cfg.clamd_timeout_ms, a.data,
		              (size_t)a.size, note, sizeof(note));
		if (r == SCAN_UNAVAILABLE) {
			db_attachment_free(&a);
			log_warn("scan: %lld attachments still held: %s", (long long)(n - i), note);
			if (db_scan_try(c, held[i].attachment_id) != 0)
				goto out;
			break; /* the scanner is away: the rest wait for the next round */
		}
		if (r == SCAN_INFECTED)
			rc = held_infected(app, c, held[i].item_id, held[i].attachment_id, a.filename,
			                   note, now);
		else /* clean: served from now on; the item itself does not change */
			rc = db_scan_set(c, held[i].attachment_id, "clean", note, now);
		if (rc != 0) {
			db_attachment_free(&a);
			goto out;
		}
		log_info("scan: held attachment %lld: %s", (long long)held[i].attachment_id, note);
		db_attachment_free(&a);
		(*done)++;
	}
	ret = 0;
out:
	db_release(app->db, c);
	return ret;
}

int
core_attachment_scan_state(struct db_conn *c, int64_t attachment_id, char state[16])
{
	return db_scan_state(c, attachment_id, state);
}
