/* db_outbox_log.c: the log of the e-mails an SMTP server accepted whose outbox rows are not marked
 * sent yet. The dispatcher sends a batch of e-mails in one SMTP session and marks their rows in
 * one transaction after it; each e-mail the server accepts is appended here at once (one
 * write(2) of "ID MESSAGE-ID" lines before the session goes on: a crash of the process cannot
 * lose it; an fdatasync every DB_SENT_LOG_GROUP e-mails: a power cut loses fewer than that),
 * the log is emptied once the batch's marks are committed, and the next pass marks whatever a
 * crash left in it before it reads a row (db_sent_log_apply). A line counts only for the row
 * with that id and that Message-ID, still pending: applying a log twice, or a stale log beside
 * a restored database, marks nothing it should not. The file lives beside the database, as its
 * WAL does: DATABASE-sent. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "db_int.h"

#define LOG_READ_MAX (4 * 1024 * 1024) /* bytes applied at most (a batch of 100 is ~10 KiB) */
#define LINE_MAX_BYTES 256             /* one line: an id, a space, a Message-ID (< 160) */

struct db_sent_log {
	int fd;
	int unsynced; /* e-mails appended since the last fdatasync (< DB_SENT_LOG_GROUP) */
	char path[4096];
};

struct db_sent_log *
db_sent_log_open(struct db_conn *c)
{
	const char *file = sqlite3_db_filename(c->h, "main");
	struct db_sent_log *l;

	if (file == NULL || file[0] == '\0') /* an in-memory database: nothing outlives it */
		return NULL;
	l = calloc(1, sizeof(*l));
	if (l == NULL)
		return NULL;
	if ((size_t)snprintf(l->path, sizeof(l->path), "%s-sent", file) >= sizeof(l->path)) {
		free(l);
		return NULL;
	}
	l->fd = open(l->path, O_RDWR | O_APPEND | O_CLOEXEC);
	if (l->fd < 0 && errno == ENOENT) {
		/* a new file: its name made durable too, or a power cut could lose the file with
		 * the lines synced into it */
		l->fd = open(l->path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		if (l->fd >= 0 && db_sync_path(l->path, 1) != 0) {
			db_log("%s: its folder cannot be synced: %s", l->path, strerror(errno));
			close(l->fd);
			l->fd = -1;
		}
	}
	if (l->fd < 0) {
		db_log("%s: %s", l->path, strerror(errno));
		free(l);
		return NULL;
	}
	return l;
}

int
db_sent_log_add(struct db_sent_log *l, const int64_t *ids, size_t n, const char *message_id)
{
	char *buf;
	size_t len = 0, i;
	ssize_t w;
	int rc = -1;

	if (n == 0)
		return 0;
	if (strlen(message_id) + 24 >= LINE_MAX_BYTES || strchr(message_id, '\n') != NULL ||
	    strchr(message_id, ' ') != NULL)
		return -1;
	buf = malloc(n * LINE_MAX_BYTES);
	if (buf == NULL)
		return -1;
	for (i = 0; i < n; i++)
		len += (size_t)snprintf(buf + len, LINE_MAX_BYTES, "%" PRId64 " %s\n", ids[i],
		                        message_id);
	/* one write: the rows of one message logged together (O_APPEND, a regular file) */
	for (i = 0; i < len; i += (size_t)w) {
		w = write(l->fd, buf + i, len - i);
		if (w < 0 && errno == EINTR) {
			w = 0;
			continue;
		}
		if (w <= 0) {
			db_log("%s: %s", l->path, w < 0 ? strerror(errno) : "nothing written");
			goto out;
		}
	}
	/* on the disk in groups, before the next message goes out */
	if (++l->unsynced >= DB_SENT_LOG_GROUP) {
		if (fdatasync(l->fd) != 0) {
			db_log("%s: fdatasync: %s", l->path, strerror(errno));
			goto out;
		}
		l->unsynced = 0;
	}
	rc = 0;
out:
	free(buf);
	return rc;
}

int
db_sent_log_apply(struct db_conn *c, struct db_sent_log *l, int64_t now, size_t *n)
{
	struct stat st;
	char *buf = NULL, *p, *nl, *sp, *end;
	size_t len, got = 0, marked = 0;
	ssize_t r;
	long long id;
	int rc = -1, k;

	if (fstat(l->fd, &st) != 0) {
		db_log("%s: %s", l->path, strerror(errno));
		return -1;
	}
	if (st.st_size == 0) {
		*n = 0;
		return 0;
	}
	len = st.st_size > LOG_READ_MAX ? LOG_READ_MAX : (size_t)st.st_size;
	buf = malloc(len + 1);
	if (buf == NULL)
		return -1;
	while (got < len) {
		r = pread(l->fd, buf + got, len - got, (off_t)got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	buf[got] = '\0';
	/* whole lines only: a line cut by a crash in the middle of its write is no record */
	for (p = buf; (nl = memchr(p, '\n', got - (size_t)(p - buf))) != NULL; p = nl + 1) {
		*nl = '\0';
		sp = strchr(p, ' ');
		if (sp == NULL)
			continue;
		*sp = '\0';
		errno = 0;
		id = strtoll(p, &end, 10);
		if (errno != 0 || end == p || *end != '\0' || id < 1 || sp[1] == '\0')
			continue;
		k = db_outbox_sent_logged(c, (int64_t)id, sp + 1, now);
		if (k < 0)
			goto out;
		marked += (size_t)k;
	}
	*n = marked;
	rc = 0;
out:
	free(buf);
	return rc;
}

int
db_sent_log_empty(struct db_sent_log *l)
{
	struct stat st;

	return fstat(l->fd, &st) == 0 && st.st_size == 0;
}

int
db_sent_log_clear(struct db_sent_log *l)
{
	if (ftruncate(l->fd, 0) != 0) {
		db_log("%s: %s", l->path, strerror(errno));
		return -1;
	}
	l->unsynced = 0; /* their rows' marks are committed: those lines count no more */
	return 0;
}

void
db_sent_log_close(struct db_sent_log *l)
{
	if (l == NULL)
		return;
	close(l->fd);
	free(l);
}
