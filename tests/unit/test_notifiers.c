/* test_notifiers.c: notifiers/ against real peers on 127.0.0.1 started by the test (an aiosmtpd
 * SMTP server and a python HTTP server as SMS gateway, tests/integration/peers.py): message
 * format, SMTP 5xx/4xx/down, SMS retries with backoff and Retry-After, quiet hours; and the
 * ladder scan over the 2025 National Day holiday (1-8 Oct off, Sat 11 Oct a make-up working
 * day), on a store of its own. Time is passed in, so no test sleeps. */
#include <fcntl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "db/db.h"
#include "notifiers/notifiers.h"
#include "notifiers/notifiers_int.h"
#include "sla/sla.h"
#include "tests/check.h"

#define PEERS "tests/integration/peers.py"

struct env {
	char dir[256];
	struct db *db;
	struct db_conn *c;
	struct sla_calendar *cal;
	int logs;     /* peer logs made so far (their names) */
	int ports_fd; /* free_port's lock file, -1 until opened: its locks are our ports */
};

struct peer {
	pid_t pid;
	int port;
	char log[300];
};

static int64_t
at(const char *local)
{
	int64_t t = 0;

	if (sla_parse_local(local, &t) != 0) {
		fprintf(stderr, "bad time %s\n", local);
		exit(1);
	}
	return t;
}

/* Starts peers.py KIND with extra arguments on port (0: any); fills p. 0 or -1. */
static int
peer_start(struct env *e, struct peer *p, const char *kind, int port, const char *const *extra)
{
	const char *argv[32];
	char portbuf[16], line[64];
	int fd[2], n = 0, i;
	ssize_t got;
	size_t len = 0;

	snprintf(p->log, sizeof(p->log), "%s/%s-%d.log", e->dir, kind, e->logs++);
	snprintf(portbuf, sizeof(portbuf), "%d", port);
	argv[n++] = "python3";
	argv[n++] = PEERS;
	argv[n++] = kind;
	argv[n++] = "--log";
	argv[n++] = p->log;
	argv[n++] = "--port";
	argv[n++] = portbuf;
	for (i = 0; extra != NULL && extra[i] != NULL && n < 30; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	if (pipe(fd) != 0)
		return -1;
	p->pid = fork();
	if (p->pid < 0)
		return -1;
	if (p->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive a crashed test */
		dup2(fd[1], 1);
		close(fd[0]);
		close(fd[1]);
		execvp("python3", (char *const *)argv);
		_exit(127);
	}
	close(fd[1]);
	while (len + 1 < sizeof(line) && (got = read(fd[0], line + len, 1)) == 1 &&
	       line[len] != '\n')
		len++;
	line[len] = '\0';
	close(fd[0]);
	if (sscanf(line, "port %d", &p->port) != 1) {
		fprintf(stdout, "# peer %s did not start: '%s'\n", kind, line);
		return -1;
	}
	return 0;
}

static void
peer_stop(struct peer *p)
{
	if (p->pid > 0) {
		kill(p->pid, SIGKILL);
		waitpid(p->pid, NULL, 0);
		p->pid = 0;
	}
}

/* The peer's records: a new JSON array. */
static json_t *
peer_records(const struct peer *p)
{
	json_t *a = json_array();
	FILE *f = fopen(p->log, "r");
	char line[65536];

	if (f == NULL)
		return a;
	while (fgets(line, sizeof(line), f) != NULL) {
		json_t *o = json_loads(line, 0, NULL);

		if (o != NULL)
			json_array_append_new(a, o);
	}
	fclose(f);
	return a;
}

/* A port nothing listens on, for a server started later on it (the way peers.py's free_port
 * picks one): below the kernel's ephemeral range, where no port-0 listener and no outgoing
 * connection of any process gets its port; free when bound; and locked (one byte of the lock
 * file peers.py uses, held by e->ports_fd until env_close) so that no suite running beside this
 * one hands out the same port. 0 when none could be found. */
static int
free_port(struct env *e)
{
	struct sockaddr_in a;
	struct flock lk;
	char path[300];
	const char *tmp = getenv("TMPDIR");
	FILE *f;
	int low = 10000, high = 32768, span, start, i, s, port;

	f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
	if (f != NULL) {
		if (fscanf(f, "%d", &high) != 1 || high > 65536)
			high = 32768;
		fclose(f);
	}
	if (high - low < 1000)
		return 0;
	if (e->ports_fd < 0) {
		snprintf(path, sizeof(path), "%s/civicdesk-test-ports.lock",
		         tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
		e->ports_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
	}
	span = high - low;
	start = (int)(((unsigned)getpid() * 7919u + (unsigned)time(NULL)) % (unsigned)span);
	for (i = 0; i < span; i++) {
		port = low + (start + i) % span;
		s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (s < 0)
			return 0;
		memset(&a, 0, sizeof(a));
		a.sin_family = AF_INET;
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		a.sin_port = htons((uint16_t)port);
		if (bind(s, (struct sockaddr *)&a, sizeof(a)) != 0) {
			close(s);
			continue;
		}
		close(s);
		if (e->ports_fd >= 0) {
			memset(&lk, 0, sizeof(lk));
			lk.l_type = F_WRLCK;
			lk.l_whence = SEEK_SET;
			lk.l_start = port;
			lk.l_len = 1;
			if (fcntl(e->ports_fd, F_SETLK, &lk) != 0)
				continue; /* another process holds it */
		}
		return port;
	}
	return 0;
}

static int
env_open(struct env *e)
{
	char path[300], err[256];
	int created;

	memset(e, 0, sizeof(*e));
	e->ports_fd = -1;
	snprintf(e->dir, sizeof(e->dir), "/tmp/civicdesk-notify-XXXXXX");
	if (mkdtemp(e->dir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/db.sqlite", e->dir);
	if (db_open(path, &e->db, &created, err, sizeof(err)) != 0 ||
	    sla_calendar_builtin(&e->cal, err, sizeof(err)) != 0) {
		fprintf(stdout, "# %s\n", err);
		return -1;
	}
	e->c = db_acquire(e->db);
	return e->c != NULL ? 0 : -1;
}

static void
env_close(struct env *e)
{
	char cmd[400];

	db_release(e->db, e->c);
	db_close(e->db);
	sla_calendar_unref(e->cal);
	if (e->ports_fd >= 0)
		close(e->ports_fd); /* the ports it locked are free again */
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", e->dir);
	if (system(cmd) != 0)
		fprintf(stdout, "# could not remove %s\n", e->dir);
}

static void
test_config(struct notify_config *cfg)
{
	notify_config_defaults(cfg);
	cfg->sms_quiet = "off";
	/* far above any answer's time on a loaded machine (at 700 ms an ASan build on a busy
	 * machine saw a plain answer time out): only test_sms_retries's "timeout" step, which
	 * sets a short one, waits for it */
	cfg->sms_timeout = 30000;
	cfg->sms_connect_timeout = 30000;
	cfg->smtp_timeout = 30;
	cfg->smtp_from = "civicdesk@bureau.example";
}

static int64_t
queue(struct env *e, const struct notify_config *cfg, const char *channel, const char *to,
      const char *step, const char *subject, const char *body, int64_t now)
{
	struct db_notice n;
	struct db_outbox *rows = NULL;
	size_t cnt = 0;
	int64_t id = 0;

	memset(&n, 0, sizeof(n));
	n.channel = channel;
	n.recipient = to;
	n.step = step;
	n.subject = subject;
	n.body = body;
	n.created = n.send_after = now;
	n.give_up_at = now + cfg->give_up;
	if (db_outbox_add(e->c, &n, &id) != 0)
		return 0;
	db_outboxes_free(rows, cnt);
	return id;
}

static void
row(struct env *e, int64_t id, struct db_outbox *o)
{
	if (db_outbox_get(e->c, id, o) != 1)
		memset(o, 0, sizeof(*o));
}

/* --- quiet hours ----------------------------------------------------------------------------- */

static void
test_quiet(struct t *t)
{
	struct env e;
	struct notify_quiet q;
	char err[200];

	if (env_open(&e) != 0) {
		CHECK(t, 0);
		return;
	}
	CHECK_INT(t, notify_quiet_parse("21:00-08:00 rest-days", &q, err, sizeof(err)), 0);
	CHECK_INT(t, q.from, 21 * 60);
	CHECK_INT(t, q.to, 8 * 60);
	CHECK_INT(t, q.rest_days, 1);
	/* a working day's evening waits for the morning */
	CHECK_INT(t, notify_quiet_next(&q, e.cal, at("2025-10-09T22:00")), at("2025-10-10T08:00"));
	CHECK_INT(t, notify_quiet_next(&q, e.cal, at("2025-10-10T07:59")), at("2025-10-10T08:00"));
	CHECK_INT(t, notify_quiet_next(&q, e.cal, at("2025-10-10T12:00")), at("2025-10-10T12:00"));
	/* Friday night: the make-up Saturday is a working day */
	CHECK_INT(t, notify_quiet_next(&q, e.cal, at("2025-10-10T21:00")), at("2025-10-11T08:00"));
	/* the eve of National Day waits over the whole holiday */
	CHECK_INT(t, notify_quiet_next(&q, e.cal, at("2025-09-30T21:30")), at("2025-10-09T08:00"));
	CHECK_INT(t, notify_quiet_next(&q, e.cal, at("2025-10-04T12:00")), at("2025-10-09T08:00"));
	CHECK_INT(t, notify_quiet_parse("off", &q, err, sizeof(err)), 0);
	CHECK_INT(t, notify_quiet_next(&q, e.cal, at("2025-10-04T23:00")), at("2025-10-04T23:00"));
	CHECK_INT(t, notify_quiet_parse("22:00-07:00", &q, err, sizeof(err)), 0);
	CHECK_INT(t, notify_quiet_next(&q, e.cal, at("2025-10-04T23:00")), at("2025-10-05T07:00"));
	CHECK_INT(t, notify_quiet_parse("12:00-13:30 rest-days", &q, err, sizeof(err)), 0);
	CHECK_INT(t, notify_quiet_next(&q, e.cal, at("2025-10-09T12:10")), at("2025-10-09T13:30"));
	CHECK_INT(t, notify_quiet_parse("rest-days", &q, err, sizeof(err)), 0);
	CHECK_INT(t, notify_quiet_next(&q, e.cal, at("2025-10-05T03:00")), at("2025-10-09T00:00"));
	CHECK_INT(t, notify_quiet_parse("21:00", &q, err, sizeof(err)), -1);
	CHECK_INT(t, notify_quiet_parse("25:00-08:00", &q, err, sizeof(err)), -1);
	CHECK_INT(t, notify_quiet_parse("21:00-08:00 weekends", &q, err, sizeof(err)), -1);
	CHECK_INT(t, notify_quiet_parse("", &q, err, sizeof(err)), -1);
	env_close(&e);
}

static void
test_config_check(struct t *t)
{
	struct notify_config cfg;
	char err[300];

	notify_config_defaults(&cfg);
	CHECK_INT(t, notify_config_check(&cfg, err, sizeof(err)), 0);
	cfg.smtp_url = "smtps://mail.example:465";
	CHECK_INT(t, notify_config_check(&cfg, err, sizeof(err)), 0);
	cfg.smtp_url = "smtps://mail.example";
	CHECK_INT(t, notify_config_check(&cfg, err, sizeof(err)), 0);
	cfg.smtp_url = "http://mail.example";
	CHECK_INT(t, notify_config_check(&cfg, err, sizeof(err)), -1);
	cfg.smtp_url = "smtp://mail.example:587";
	CHECK_INT(t, notify_config_check(&cfg, err, sizeof(err)), 0);
	cfg.smtp_url = "smtp://[::1]:25";
	CHECK_INT(t, notify_config_check(&cfg, err, sizeof(err)), 0);
	/* a port out of range, not a number, missing, or no host: refused at start, not at the
	 * first notice */
	cfg.smtp_url = "smtp://mail.example:99999";
	CHECK_INT(t, notify_config_check(&cfg, err, sizeof(err)), -1);
	cfg.smtp_url = "smtp://mail.example:25x";
	CHECK_INT(t, notify_config_check(&cfg, err, sizeof(err)), -1);
	cfg.smtp_url = "smtp://mail.example:";
	CHECK_INT(t, notify_config_check(&cfg, err, sizeof(err)), -1);
	cfg.smtp_url = "smtp://:25";
	CHECK_INT(t, notify_config_check(&cfg, err, sizeof(err)), -1);
	cfg.smtp_url = "smtp://mail.example:0";
	CHECK_INT(t, notify_config_check(&cfg, err, sizeof(err)), -1);
	cfg.smtp_url = "smtp://mail.example:587";
	/* smtp_from: an address alone or one mailbox with its name (the address is the
	 * envelope sender); a list, a name alone or half an address is refused */
	cfg.smtp_from = "信访办 <xf@bureau.example>";
	CHECK_INT(t, notify_config_check(&cfg, err, sizeof(err)), 0);
	cfg.smtp_from = "xf@bureau.example ";
	CHECK_INT(t, notify_config_check(&cfg, err, sizeof(err)), 0);
	cfg.smtp_from = "xf@bureau.example, yz@bureau.example";
	CHECK_INT(t, notify_config_check(&cfg, err, sizeof(err)), -1);
	cfg.smtp_from = "信访办";
	CHECK_INT(t, notify_config_check(&cfg, err, sizeof(err)), -1);
	cfg.smtp_from = "信访办 <xf@>";
	CHECK_INT(t, notify_config_check(&cfg, err, sizeof(err)), -1);
	cfg.smtp_from = "@bureau.example";
	CHECK_INT(t, notify_config_check(&cfg, err, sizeof(err)), -1);
	cfg.smtp_from = "xf@";
	CHECK_INT(t, notify_config_check(&cfg, err, sizeof(err)), -1);
	cfg.smtp_from = "civicdesk@localhost";
	CHECK_INT(t, notify_config_check(&cfg, err, sizeof(err)), 0);
	cfg.smtp_from = "xin-fang.ban+notices@bureau.example.gov.cn";
	CHECK_INT(t, notify_config_check(&cfg, err, sizeof(err)), 0);
	cfg.sms_url = "ftp://x";
	CHECK_INT(t, notify_config_check(&cfg, err, sizeof(err)), -1);
	cfg.sms_url = "http://";
	CHECK_INT(t, notify_config_check(&cfg, err, sizeof(err)), -1);
	cfg.sms_url = "http://127.0.0.1:99999/send";
	CHECK_INT(t, notify_config_check(&cfg, err, sizeof(err)), -1);
	cfg.sms_url = "http://127.0.0.1:abc/send";
	CHECK_INT(t, notify_config_check(&cfg, err, sizeof(err)), -1);
	cfg.sms_url = "http://127.0.0.1:8080/send?user=a&key=b";
	CHECK_INT(t, notify_config_check(&cfg, err, sizeof(err)), 0);
	cfg.sms_url = "https://sms.example/send";
	cfg.sms_quiet = "sometimes";
	CHECK_INT(t, notify_config_check(&cfg, err, sizeof(err)), -1);
	cfg.sms_quiet = "off";
	cfg.backoff_max = 1;
	CHECK_INT(t, notify_config_check(&cfg, err, sizeof(err)), -1);
}

/* --- e-mail ---------------------------------------------------------------------------------- */

static const char *
rec_str(json_t *r, const char *key)
{
	const char *s = json_string_value(json_object_get(r, key));

	return s != NULL ? s : "";
}

static void
test_email(struct t *t)
{
	struct env e;
	struct peer p = {0, 0, ""};
	const char *extra[] = {"--reject", "bad@example.com", "--tempfail", "later@example.com", NULL};
	struct notify_config cfg;
	char url[64];
	int64_t now = at("2025-10-09T10:00"), ok, bad, later;
	struct db_outbox o;
	json_t *recs = NULL, *r;
	size_t sent = 0;

	if (env_open(&e) != 0 || peer_start(&e, &p, "smtp", 0, extra) != 0) {
		CHECK(t, 0);
		goto out;
	}
	test_config(&cfg);
	snprintf(url, sizeof(url), "smtp://127.0.0.1:%d", p.port);
	cfg.smtp_url = url;
	ok = queue(&e, &cfg, "email", "ok@example.com", "s1", "逾期：XJ-20251009-00001 答复时限已过",
	           "事项 XJ-20251009-00001 已逾期。\nA line in English.", now);
	bad = queue(&e, &cfg, "email", "bad@example.com", "s2", "主题", "正文", now);
	later = queue(&e, &cfg, "email", "later@example.com", "s3", "主题", "正文", now);
	CHECK(t, ok > 0 && bad > 0 && later > 0);
	CHECK_INT(t, notify_dispatch(e.c, &cfg, e.cal, now, &sent), 0);
	CHECK_INT(t, sent, 1);

	row(&e, ok, &o);
	CHECK_STR(t, o.state, "sent");
	CHECK_INT(t, o.attempts, 1);
	CHECK(t, o.message_id != NULL && strstr(o.message_id, "@bureau.example") != NULL);
	recs = peer_records(&p);
	CHECK_INT(t, json_array_size(recs), 1);
	r = json_array_get(recs, 0);
	if (r != NULL) {
		char mid[200];

		snprintf(mid, sizeof(mid), "<%s>", o.message_id ? o.message_id : "");
		CHECK_STR(t, rec_str(r, "subject"), "逾期：XJ-20251009-00001 答复时限已过");
		CHECK(t, strncmp(rec_str(r, "raw_subject"), "Subject: =?", 11) == 0);
		CHECK(t, strstr(rec_str(r, "body"), "事项 XJ-20251009-00001 已逾期。") != NULL);
		CHECK(t, strstr(rec_str(r, "content_type"), "utf-8") != NULL);
		CHECK_STR(t, rec_str(r, "message_id"), mid);
		CHECK_STR(t, rec_str(r, "auto_submitted"), "auto-generated");
		CHECK_STR(t, rec_str(r, "from"), "civicdesk@bureau.example");
		CHECK_STR(t, json_string_value(json_array_get(json_object_get(r, "rcpt"), 0)),
		          "ok@example.com");
		CHECK(t, strstr(rec_str(r, "date"), "Oct 2025 10:00:00 +0800") != NULL);
	}
	db_outbox_free(&o);
	/* 550: failed at once */
	row(&e, bad, &o);
	CHECK_STR(t, o.state, "failed");
	CHECK(t, o.last_error != NULL && strstr(o.last_error, "550") != NULL);
	db_outbox_free(&o);
	/* 451: pending again after the first backoff */
	row(&e, later, &o);
	CHECK_STR(t, o.state, "pending");
	CHECK_INT(t, o.attempts, 1);
	CHECK_INT(t, o.send_after, now + 60);
	CHECK(t, o.last_error != NULL && strstr(o.last_error, "451") != NULL);
	db_outbox_free(&o);
	/* nothing is due before the backoff ends; the second retry waits twice as long */
	sent = 0;
	CHECK_INT(t, notify_dispatch(e.c, &cfg, e.cal, now + 59, &sent), 0);
	row(&e, later, &o);
	CHECK_INT(t, o.attempts, 1);
	db_outbox_free(&o);
	CHECK_INT(t, notify_dispatch(e.c, &cfg, e.cal, now + 60, &sent), 0);
	row(&e, later, &o);
	CHECK_INT(t, o.attempts, 2);
	CHECK_INT(t, o.send_after, now + 60 + 120);
	db_outbox_free(&o);
	/* past the give-up time a failed attempt ends the row */
	CHECK_INT(t, notify_dispatch(e.c, &cfg, e.cal, now + 86400, &sent), 0);
	row(&e, later, &o);
	CHECK_STR(t, o.state, "failed");
	CHECK(t, o.last_error != NULL && strstr(o.last_error, "gave up") != NULL);
	db_outbox_free(&o);
out:
	json_decref(recs);
	peer_stop(&p);
	env_close(&e);
}

/* Counts the records per Message-ID; returns the number of distinct ones, and in *max the most
 * copies of one. */
static size_t
distinct_ids(json_t *recs, size_t *max)
{
	json_t *seen = json_object(), *r, *v;
	size_t i, n;

	*max = 0;
	json_array_foreach(recs, i, r) {
		const char *id = rec_str(r, "message_id");
		json_int_t k = json_integer_value(json_object_get(seen, id)) + 1;

		json_object_set_new(seen, id, json_integer(k));
		if ((size_t)k > *max)
			*max = (size_t)k;
	}
	n = json_object_size(seen);
	(void)v;
	json_decref(seen);
	return n;
}

static void
test_smtp_down_then_up(struct t *t)
{
	struct env e;
	struct peer p = {0, 0, ""};
	struct notify_config cfg;
	char url[64], to[64], step[32], body[32];
	int64_t now = at("2025-10-09T10:00"), n_pending = -1, n_sent = -1;
	int port = 0, i, seen[500] = {0}, once = 0;
	size_t sent = 0, max = 0, pass;
	json_t *recs = NULL;

	if (env_open(&e) != 0) {
		CHECK(t, 0);
		return;
	}
	port = free_port(&e);
	if (port == 0) {
		CHECK(t, 0);
		goto out;
	}
	test_config(&cfg);
	snprintf(url, sizeof(url), "smtp://127.0.0.1:%d", port);
	cfg.smtp_url = url;
	for (i = 0; i < 500; i++) {
		snprintf(to, sizeof(to), "head%d@example.com", i % 7);
		snprintf(step, sizeof(step), "overdue/%d", i);
		snprintf(body, sizeof(body), "正文 <%d>", i);
		queue(&e, &cfg, "email", to, step, "逾期提醒", body, now);
	}
	/* the server is down: every row waits, none is lost or failed */
	for (pass = 0; pass < 5; pass++)
		CHECK_INT(t, notify_dispatch(e.c, &cfg, e.cal, now, &sent), 0);
	CHECK_INT(t, sent, 0);
	CHECK_INT(t, db_outbox_count(e.c, "pending", &n_pending), 0);
	CHECK_INT(t, n_pending, 500);
	/* it comes up; the rows go out at their next attempt, each once */
	if (peer_start(&e, &p, "smtp", port, NULL) != 0) {
		CHECK(t, 0);
		goto out;
	}
	for (pass = 0; pass < 20; pass++)
		notify_dispatch(e.c, &cfg, e.cal, now + 60, &sent);
	CHECK_INT(t, sent, 500);
	CHECK_INT(t, db_outbox_count(e.c, "sent", &n_sent), 0);
	CHECK_INT(t, n_sent, 500);
	recs = peer_records(&p);
	/* the notices of one head in one pass (100 rows) go out together, 20 to a message at
	 * most: 5 passes of 7 heads with 14 or 15 rows each */
	CHECK_INT(t, json_array_size(recs), 5 * 7);
	CHECK_INT(t, distinct_ids(recs, &max), json_array_size(recs));
	CHECK_INT(t, max, 1);
	/* every notice in exactly one message, to its own head */
	{
		json_t *r;
		size_t k;

		json_array_foreach(recs, k, r) {
			const char *b = rec_str(r, "body"), *rcpt;
			int head;

			rcpt = json_string_value(json_array_get(json_object_get(r, "rcpt"), 0));
			if (rcpt == NULL || sscanf(rcpt, "head%d@", &head) != 1)
				continue;
			for (i = 0; i < 500; i++) {
				snprintf(body, sizeof(body), "正文 <%d>", i);
				if (strstr(b, body) != NULL && i % 7 == head)
					seen[i]++;
			}
		}
		for (i = 0; i < 500; i++)
			once += seen[i] == 1;
		CHECK_INT(t, once, 500);
	}
out:
	json_decref(recs);
	peer_stop(&p);
	env_close(&e);
}

/* A crash between sending and marking: the row is sent again at its next attempt, with the same
 * Message-ID, and then marked. */
static void
test_resend_same_message_id(struct t *t)
{
	struct env e;
	struct peer p = {0, 0, ""};
	struct notify_config cfg;
	struct db_outbox *rows = NULL, o;
	struct notify_msg m;
	char url[64], mid[160];
	int64_t now = at("2025-10-09T10:00"), id;
	size_t n = 0, sent = 0, max = 0;
	json_t *recs = NULL;

	if (env_open(&e) != 0 || peer_start(&e, &p, "smtp", 0, NULL) != 0) {
		CHECK(t, 0);
		goto out;
	}
	test_config(&cfg);
	snprintf(url, sizeof(url), "smtp://127.0.0.1:%d", p.port);
	cfg.smtp_url = url;
	id = queue(&e, &cfg, "email", "head@example.com", "overdue/x", "逾期", "正文", now);
	/* what the dispatcher does up to the send, then "crashes" */
	CHECK_INT(t, db_outbox_due(e.c, "email", now, 10, &rows, &n), 0);
	CHECK_INT(t, n, 1);
	notify_message_id(&cfg, id, mid, sizeof(mid));
	CHECK_INT(t, db_outbox_claim(e.c, id, now, mid, now + 60), 1);
	memset(&m, 0, sizeof(m));
	m.row = &rows[0];
	m.message_id = mid;
	m.date = now;
	notify_email.send(&cfg, &m, 1);
	CHECK_INT(t, m.result, NOTIFY_SENT);
	/* after the restart */
	CHECK_INT(t, notify_dispatch(e.c, &cfg, e.cal, now + 30, &sent), 0);
	CHECK_INT(t, sent, 0);
	CHECK_INT(t, notify_dispatch(e.c, &cfg, e.cal, now + 60, &sent), 0);
	CHECK_INT(t, sent, 1);
	row(&e, id, &o);
	CHECK_STR(t, o.state, "sent");
	CHECK_STR(t, o.message_id, mid);
	db_outbox_free(&o);
	recs = peer_records(&p);
	CHECK_INT(t, json_array_size(recs), 2);
	CHECK_INT(t, distinct_ids(recs, &max), 1);
	CHECK_INT(t, max, 2);
out:
	db_outboxes_free(rows, n);
	json_decref(recs);
	peer_stop(&p);
	env_close(&e);
}

/* --- SMS ------------------------------------------------------------------------------------- */

static size_t
count_answers(json_t *recs, const char *phone, int answer)
{
	json_t *r;
	size_t i, n = 0;

	json_array_foreach(recs, i, r) {
		json_t *a = json_object_get(r, "answer");

		if (strcmp(rec_str(r, "phone"), phone) == 0 &&
		    (answer == 0 ? json_is_string(a) : json_integer_value(a) == answer))
			n++;
	}
	return n;
}

static void
test_sms_retries(struct t *t)
{
	struct env e;
	struct peer p = {0, 0, ""};
	const char *extra[] = {"--script", "500,timeout,200,429:300", "--sleep", "10",
	                       "--perm", "13800000002", NULL};
	struct notify_config cfg;
	char url[64];
	int64_t now = at("2025-10-09T10:00"), id, perm, ra;
	struct db_outbox o;
	size_t sent = 0;
	json_t *recs = NULL, *r;

	if (env_open(&e) != 0 || peer_start(&e, &p, "sms", 0, extra) != 0) {
		CHECK(t, 0);
		goto out;
	}
	test_config(&cfg);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/send", p.port);
	cfg.sms_url = url;
	id = queue(&e, &cfg, "sms", "13800000001", "s1", NULL, "【civicdesk】XJ-1 逾期", now);
	/* 500 */
	CHECK_INT(t, notify_dispatch(e.c, &cfg, e.cal, now, &sent), 0);
	row(&e, id, &o);
	CHECK_STR(t, o.state, "pending");
	CHECK_INT(t, o.send_after, now + 60);
	CHECK(t, o.last_error != NULL && strstr(o.last_error, "500") != NULL);
	db_outbox_free(&o);
	/* the gateway does not answer in time: 1.5 s, under the peer's 10 s (--sleep 10) */
	cfg.sms_timeout = 1500;
	CHECK_INT(t, notify_dispatch(e.c, &cfg, e.cal, now + 60, &sent), 0);
	cfg.sms_timeout = 30000;
	row(&e, id, &o);
	CHECK_STR(t, o.state, "pending");
	CHECK_INT(t, o.send_after, now + 60 + 120);
	CHECK(t, o.last_error != NULL && strstr(o.last_error, "imeout") != NULL);
	db_outbox_free(&o);
	/* 200 */
	CHECK_INT(t, notify_dispatch(e.c, &cfg, e.cal, now + 180, &sent), 0);
	CHECK_INT(t, sent, 1);
	row(&e, id, &o);
	CHECK_STR(t, o.state, "sent");
	CHECK_INT(t, o.attempts, 3);
	db_outbox_free(&o);
	/* 429 with Retry-After: 300 seconds, more than the backoff */
	ra = queue(&e, &cfg, "sms", "13800000003", "s3", NULL, "text", now + 200);
	CHECK_INT(t, notify_dispatch(e.c, &cfg, e.cal, now + 200, &sent), 0);
	row(&e, ra, &o);
	CHECK_STR(t, o.state, "pending");
	CHECK_INT(t, o.send_after, now + 200 + 300);
	db_outbox_free(&o);
	/* a permanent refusal (400) fails at once */
	perm = queue(&e, &cfg, "sms", "13800000002", "s2", NULL, "text", now + 600);
	CHECK_INT(t, notify_dispatch(e.c, &cfg, e.cal, now + 600, &sent), 0);
	row(&e, perm, &o);
	CHECK_STR(t, o.state, "failed");
	CHECK_INT(t, o.attempts, 1);
	CHECK(t, o.last_error != NULL && strstr(o.last_error, "400") != NULL);
	db_outbox_free(&o);
	/* one delivery of the first: 500, timeout, 200 at the gateway, as JSON */
	recs = peer_records(&p);
	CHECK_INT(t, count_answers(recs, "13800000001", 500), 1);
	CHECK_INT(t, count_answers(recs, "13800000001", 0), 1);
	CHECK_INT(t, count_answers(recs, "13800000001", 200), 1);
	r = json_array_get(recs, 0);
	CHECK_STR(t, rec_str(r, "text"), "【civicdesk】XJ-1 逾期");
	CHECK(t, strstr(rec_str(r, "content_type"), "application/json") != NULL);
out:
	json_decref(recs);
	peer_stop(&p);
	env_close(&e);
}

static void
test_sms_quiet(struct t *t)
{
	struct env e;
	struct peer p = {0, 0, ""};
	struct notify_config cfg;
	char url[64];
	int64_t night = at("2025-10-10T22:00"), sms;
	struct db_outbox o;
	size_t sent = 0;
	json_t *recs = NULL;

	if (env_open(&e) != 0 || peer_start(&e, &p, "sms", 0, NULL) != 0) {
		CHECK(t, 0);
		goto out;
	}
	test_config(&cfg);
	cfg.sms_quiet = "21:00-08:00 rest-days";
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/send", p.port);
	cfg.sms_url = url;
	{
		struct db_outbox *rows = NULL;
		size_t n = 0;

		/* the dispatcher's own guard: an SMS due at night is held until the morning */
		sms = queue(&e, &cfg, "sms", "13800000001", "q1", NULL, "text", night);
		CHECK_INT(t, notify_dispatch(e.c, &cfg, e.cal, night, &sent), 0);
		CHECK_INT(t, sent, 0);
		row(&e, sms, &o);
		CHECK_STR(t, o.state, "pending");
		CHECK_INT(t, o.attempts, 0);
		CHECK_INT(t, o.send_after, at("2025-10-11T08:00"));
		db_outbox_free(&o);
		CHECK_INT(t, db_outbox_due(e.c, "sms", at("2025-10-11T07:59"), 10, &rows, &n), 0);
		CHECK_INT(t, n, 0);
		db_outboxes_free(rows, n);
	}
	recs = peer_records(&p);
	CHECK_INT(t, json_array_size(recs), 0);
	json_decref(recs);
	CHECK_INT(t, notify_dispatch(e.c, &cfg, e.cal, at("2025-10-11T08:00"), &sent), 0);
	CHECK_INT(t, sent, 1);
	recs = peer_records(&p);
	CHECK_INT(t, json_array_size(recs), 1);
out:
	json_decref(recs);
	peer_stop(&p);
	env_close(&e);
}

/* --- the ladder ------------------------------------------------------------------------------- */

static int64_t
add_account(struct env *e, const char *name, const char *role, int64_t section, const char *mail,
            const char *phone)
{
	struct db_account a;
	int64_t id = 0;

	memset(&a, 0, sizeof(a));
	a.username = (char *)(uintptr_t)name;
	a.role = (enum role)role_parse(role);
	a.section_id = section;
	a.email = (char *)(uintptr_t)mail;
	a.phone = (char *)(uintptr_t)phone;
	a.status = (char *)(uintptr_t) "active";
	a.password_hash = (char *)(uintptr_t) "x";
	db_account_add(e->c, &a, &id);
	return id;
}

/* An item of language lang received at `received` with forward (3 WD) and reply (5 WD)
 * clocks. */
static int64_t
add_item_lang(struct env *e, const char *tracking, int64_t received, int64_t section,
              int64_t assignee, enum lang lang)
{
	struct db_item it;
	struct sla_rule r3 = {SLA_WORKING_DAYS, 3, 1440}, r5 = {SLA_WORKING_DAYS, 5, 1440};

	memset(&it, 0, sizeof(it));
	it.tracking = (char *)(uintptr_t)tracking;
	it.kind = KIND_LETTER;
	it.channel = CHANNEL_WEB;
	it.subject = (char *)(uintptr_t) "噪音扰民";
	it.body = (char *)(uintptr_t) "正文";
	it.email = (char *)(uintptr_t) "citizen@example.com";
	it.received = it.created = received;
	it.state = WF_ASSIGNED;
	it.resume_state = WF_NONE;
	it.section_id = section;
	it.assignee_id = assignee;
	it.nclocks = 2;
	snprintf(it.clocks[0].name, sizeof(it.clocks[0].name), "forward");
	snprintf(it.clocks[1].name, sizeof(it.clocks[1].name), "reply");
	it.clocks[0].started = it.clocks[1].started = received;
	it.clocks[0].days = 3;
	it.clocks[1].days = 5;
	snprintf(it.clocks[0].unit, sizeof(it.clocks[0].unit), "working_days");
	snprintf(it.clocks[1].unit, sizeof(it.clocks[1].unit), "working_days");
	it.clocks[0].end_minutes = it.clocks[1].end_minutes = 1440;
	it.clocks[0].due = sla_due(e->cal, received, &r3);
	it.clocks[1].due = sla_due(e->cal, received, &r5);
	it.lang = lang;
	if (db_item_insert(e->c, &it) != 0)
		return 0;
	return it.id;
}

/* An item without a language (stored before schema 031), as add_item_lang. */
static int64_t
add_item(struct env *e, const char *tracking, int64_t received, int64_t section,
         int64_t assignee)
{
	return add_item_lang(e, tracking, received, section, assignee, LANG_NONE);
}

/* Rows of the outbox whose step starts with prefix (and channel, when not NULL). */
static int
count_rows(struct env *e, const char *prefix, const char *channel)
{
	struct db_outbox *v = NULL;
	size_t n = 0, i;
	int k = 0;

	if (db_outbox_list(e->c, NULL, INT64_MAX, 10000, &v, &n) != 0)
		return -1;
	for (i = 0; i < n; i++)
		if (strncmp(v[i].step, prefix, strlen(prefix)) == 0 &&
		    (channel == NULL || strcmp(v[i].channel, channel) == 0))
			k++;
	db_outboxes_free(v, n);
	return k;
}

static size_t
scan(struct env *e, const struct notify_config *cfg, const char *when)
{
	struct notify_scan_stats st;

	memset(&st, 0, sizeof(st));
	if (notify_scan(e->c, cfg, e->cal, at(when), &st) != 0)
		return (size_t)-1;
	return st.queued;
}

static void
test_ladder(struct t *t)
{
	struct env e;
	struct notify_config cfg;
	int64_t sec = 0, other = 0, hand, item, ids[4];
	struct db_item it;
	struct db_notify_missing *m = NULL;
	size_t nm = 0, n = 0;

	if (env_open(&e) != 0) {
		CHECK(t, 0);
		return;
	}
	test_config(&cfg);
	db_section_add(e.c, "法规处", NULL, 0, &sec);
	db_section_add(e.c, "稽查处", NULL, 0, &other);
	hand = add_account(&e, "hand", "handler", sec, "hand@example.com", "13800000010");
	add_account(&e, "hand2", "handler", sec, "hand2@example.com", NULL);
	add_account(&e, "head", "section_head", sec, "head@example.com", "13800000011");
	add_account(&e, "head_other", "section_head", other, "ho@example.com", "13800000012");
	add_account(&e, "sup1", "supervisor", 0, "sup1@example.com", "13800000013");
	add_account(&e, "sup2", "supervisor", 0, "sup2@example.com", NULL);
	/* received Tue 30 Sep 10:00: forward due Sat 11 Oct (make-up day), reply Tue 14 Oct */
	item = add_item(&e, "XJ-20250930-00001", at("2025-09-30T10:00"), sec, hand);
	CHECK(t, item > 0);

	CHECK_INT(t, scan(&e, &cfg, "2025-09-30T12:00"), 0);
	CHECK_INT(t, scan(&e, &cfg, "2025-10-09T12:00"), 0);
	/* nothing to do until the forward reminder: the item is not looked at */
	CHECK_INT(t, db_ladder_due(e.c, at("2025-10-09T23:59"), 4, ids, &n), 0);
	CHECK_INT(t, n, 0);
	/* Fri 10 Oct, the working day before the forward due day: the assignee only */
	CHECK_INT(t, scan(&e, &cfg, "2025-10-10T00:00"), 1);
	CHECK_INT(t, count_rows(&e, "remind/2025-10-11", "email"), 1);
	CHECK_INT(t, scan(&e, &cfg, "2025-10-10T09:00"), 0);
	/* Sat 11 Oct 23:59:59 the forward clock runs out: Sun 12 Oct the section head, mail + SMS */
	CHECK_INT(t, scan(&e, &cfg, "2025-10-11T23:59"), 0);
	CHECK_INT(t, scan(&e, &cfg, "2025-10-12T00:00"), 2);
	CHECK_INT(t, count_rows(&e, "overdue/2025-10-11", NULL), 2);
	CHECK_INT(t, count_rows(&e, "overdue/2025-10-11", "sms"), 1);
	/* Mon 13 Oct: the reply reminder; no escalation yet (one working day overdue) */
	CHECK_INT(t, scan(&e, &cfg, "2025-10-13T09:00"), 1);
	CHECK_INT(t, count_rows(&e, "remind/2025-10-14", "email"), 1);
	CHECK_INT(t, count_rows(&e, "escalate/", NULL), 0);
	/* Tue 14 Oct: two working days after the forward due day: every supervisor (sup2 has no
	 * phone: mail only, and listed) */
	CHECK_INT(t, scan(&e, &cfg, "2025-10-14T09:00"), 3);
	CHECK_INT(t, count_rows(&e, "escalate/2025-10-11/2025-10-14", NULL), 3);
	/* Wed 15: the forward escalation again, and the reply is overdue */
	CHECK_INT(t, scan(&e, &cfg, "2025-10-15T00:00"), 5);
	CHECK_INT(t, count_rows(&e, "overdue/2025-10-14", NULL), 2);
	CHECK_INT(t, count_rows(&e, "escalate/2025-10-11/2025-10-15", NULL), 3);
	/* the same moment again, and a restart: nothing twice */
	CHECK_INT(t, scan(&e, &cfg, "2025-10-15T00:00"), 0);
	CHECK_INT(t, scan(&e, &cfg, "2025-10-15T17:00"), 0);
	/* Thu 16: both clocks escalate */
	CHECK_INT(t, scan(&e, &cfg, "2025-10-16T08:00"), 6);
	CHECK_INT(t, count_rows(&e, "escalate/2025-10-14/2025-10-16", NULL), 3);
	/* the weekend: nothing */
	CHECK_INT(t, scan(&e, &cfg, "2025-10-18T10:00"), 0);
	CHECK_INT(t, scan(&e, &cfg, "2025-10-19T10:00"), 0);
	/* the forward clock stops (accepted): only the reply escalates on Monday */
	CHECK_INT(t, db_item_get_id(e.c, item, &it), 1);
	it.clocks[0].stopped_at = at("2025-10-17T10:00");
	CHECK_INT(t, db_item_update(e.c, &it), 1);
	db_item_free(&it);
	CHECK_INT(t, scan(&e, &cfg, "2025-10-20T09:00"), 3);
	CHECK_INT(t, count_rows(&e, "escalate/2025-10-11/2025-10-20", NULL), 0);
	CHECK_INT(t, count_rows(&e, "escalate/2025-10-14/2025-10-20", NULL), 3);
	/* in all: 2 reminders, 4 overdue, 3 x (14,15,16,17 forward) ... counted by step above */
	CHECK_INT(t, count_rows(&e, "remind/", NULL), 2);
	CHECK_INT(t, count_rows(&e, "overdue/", NULL), 4);
	/* sup2's missing phone is listed, once per step */
	CHECK_INT(t, db_notify_missing_list(e.c, 100, &m, &nm), 0);
	{
		size_t i, sup2 = 0;

		for (i = 0; i < nm; i++)
			if (m[i].username != NULL && strcmp(m[i].username, "sup2") == 0 &&
			    strcmp(m[i].channel, "sms") == 0)
				sup2++;
		CHECK(t, sup2 >= 5);
	}
	db_notify_missing_free(m, nm);
	env_close(&e);
}

/* A staff-registered item whose receipt lies far back: its overdue notices at the first scan,
 * once, and nothing more at a later scan of the same day. */
static void
test_ladder_old_receipt(struct t *t)
{
	struct env e;
	struct notify_config cfg;
	int64_t sec = 0;

	if (env_open(&e) != 0) {
		CHECK(t, 0);
		return;
	}
	test_config(&cfg);
	db_section_add(e.c, "稽查处", NULL, 0, &sec);
	add_account(&e, "head", "section_head", sec, "head@example.com", "13800000011");
	add_account(&e, "sup", "supervisor", 0, "sup@example.com", "13800000013");
	CHECK(t, add_item(&e, "XJ-20250901-00001", at("2025-09-01T09:00"), sec, 0) > 0);
	cfg.sms_quiet = "21:00-08:00 rest-days";
	/* Thu 9 Oct 22:00: both clocks overdue and escalated (the working day's step), no reminder;
	 * the SMS wait for Friday 08:00, the e-mail do not */
	CHECK_INT(t, scan(&e, &cfg, "2025-10-09T22:00"), 8);
	CHECK_INT(t, count_rows(&e, "overdue/", NULL), 4);
	CHECK_INT(t, count_rows(&e, "escalate/", NULL), 4);
	CHECK_INT(t, count_rows(&e, "remind/", NULL), 0);
	CHECK_INT(t, scan(&e, &cfg, "2025-10-09T22:01"), 0);
	CHECK_INT(t, scan(&e, &cfg, "2025-10-09T23:00"), 0);
	{
		struct db_outbox *v = NULL;
		size_t n = 0, i, sms = 0;

		CHECK_INT(t, db_outbox_list(e.c, NULL, INT64_MAX, 100, &v, &n), 0);
		for (i = 0; i < n; i++) {
			if (strcmp(v[i].channel, "sms") == 0) {
				sms++;
				CHECK_INT(t, v[i].send_after, at("2025-10-10T08:00"));
			} else
				CHECK_INT(t, v[i].send_after, at("2025-10-09T22:00"));
		}
		CHECK_INT(t, sms, 4);
		db_outboxes_free(v, n);
	}
	env_close(&e);
}

static void
test_citizen(struct t *t)
{
	struct env e;
	struct notify_config cfg;
	struct db_item it;
	struct db_outbox *v = NULL;
	size_t n = 0;
	int64_t id;

	if (env_open(&e) != 0) {
		CHECK(t, 0);
		return;
	}
	test_config(&cfg);
	id = add_item(&e, "XJ-20250930-00007", at("2025-09-30T10:00"), 0, 0);
	CHECK_INT(t, db_item_get_id(e.c, id, &it), 1);
	/* once: the core raises the submission's event only in the transaction that stores the
	 * item (outbox_once does not hold acknowledgements since 030; test_core
	 * test_submit_many_acknowledged counts them) */
	CHECK_INT(t, notify_citizen(e.c, &cfg, e.cal, NOTIFY_EV_RECEIVED, &it, NULL, it.received),
	          0);
	CHECK_INT(t, notify_citizen(e.c, &cfg, e.cal, NOTIFY_EV_INFO, &it, "请提供地址", 100), 0);
	CHECK_INT(t, notify_citizen(e.c, &cfg, e.cal, NOTIFY_EV_INFO, &it, "还要电话", 200), 0);
	CHECK_INT(t, db_outbox_list(e.c, NULL, INT64_MAX, 100, &v, &n), 0);
	CHECK_INT(t, n, 3);
	if (n == 3) {
		struct notify_render r;
		char why[200] = "";

		/* the acknowledgement is queued without its text (none in the submission's
		 * transaction); the dispatcher writes it from the item when it sends it */
		CHECK_STR(t, v[2].step, "ack");
		CHECK_STR(t, v[2].recipient, "citizen@example.com");
		CHECK(t, v[2].subject == NULL && v[2].body == NULL);
		notify_render_init(&r);
		CHECK_INT(t, notify_citizen_render(e.c, &cfg, &r, &v[2], why, sizeof(why)), 1);
		CHECK_STR(t, v[2].subject, "我们已收到您的来信：XJ-20250930-00007 / We have received "
		                           "your message: XJ-20250930-00007");
		{
			const char *head = "我们已收到您的来信。\n\n受理编号：XJ-20250930-00007\n类别：局长信箱"
			                   "\n主题：“噪音扰民”\n答复期限：2025-10-14 23:59\n请凭受理编号"
			                   "和查询码查询办理情况。\n\nWe have received your message.\n"
			                   "Tracking number: XJ-20250930-00007\nKind: letter to the "
			                   "director\nSubject: \"噪音扰民\"\nReply due: 2025-10-14 23:59\n"
			                   "Follow it with the tracking number and your query code.\n\n";

			CHECK(t, v[2].body != NULL && strcmp(v[2].body, head) == 0);
		}
		/* the other notices keep the text they were queued with */
		CHECK(t, v[0].body != NULL && strstr(v[0].body, "还要电话") != NULL);
		CHECK_INT(t, notify_citizen_render(e.c, &cfg, &r, &v[0], why, sizeof(why)), 0);
		/* an SMS acknowledgement: the short text in the citizen's language */
		free(v[2].channel);
		v[2].channel = strdup("sms");
		CHECK_INT(t, notify_citizen_render(e.c, &cfg, &r, &v[2], why, sizeof(why)), 1);
		CHECK(t, v[2].subject == NULL);
		CHECK_STR(t, v[2].body, "【civicdesk】我们已收到您的来信，受理编号XJ-20250930-00007，"
		                        "答复期限2025-10-14 23:59。");
		notify_render_free(&r);
	}
	db_outboxes_free(v, n);
	/* no address, no notice */
	free(it.email);
	it.email = NULL;
	CHECK_INT(t, notify_citizen(e.c, &cfg, e.cal, NOTIFY_EV_REPLIED, &it, NULL, 300), 0);
	CHECK_INT(t, count_rows(&e, "replied", NULL), 0);
	db_item_free(&it);
	env_close(&e);
}

/* The notices of an item with a language: the acknowledgement (e-mail and SMS, written when
 * sent), information asked, the reply with its rating link, an e-mail on the ended item and the
 * merged item's note, each in that language alone. */
static void
test_citizen_lang(struct t *t)
{
	static const struct {
		enum lang lang;
		const char *subject, *ack, *sms, *info, *rate, *ended, *merged;
	} want[] = {
	    {LANG_ZH_HANT, "我們已收到您的來信：XJ-20250930-00008",
	     "我們已收到您的來信。\n\n受理編號：XJ-20250930-00008\n類別：局長信箱\n主旨：「噪音扰民」\n"
	     "答覆期限：2025-10-14 23:59\n請憑受理編號和查詢碼查詢辦理情形。\n\n",
	     "【civicdesk】我們已收到您的來信，受理編號XJ-20250930-00008，答覆期限2025-10-14 23:59。",
	     "請補充資料。\n\n受理編號：XJ-20250930-00008\n類別：局長信箱\n主旨：「噪音扰民」\n"
	     "答覆期限：2025-10-14 23:59\n請憑受理編號和查詢碼查詢辦理情形。\n\n----\n請提供地址",
	     "請對答覆進行評價（滿意／基本滿意／不滿意），憑受理編號和查詢碼：\n"
	     "https://xf.example.gov.cn/track?tracking=XJ-20250930-00008\n\n",
	     "該事項已辦結（assigned），", "與 XJ-20250930-00001 合併辦理，答覆如下：\n\n已修复"},
	    {LANG_EN, "We have received your message: XJ-20250930-00008",
	     "We have received your message.\nTracking number: XJ-20250930-00008\nKind: letter to "
	     "the director\nSubject: \"噪音扰民\"\nReply due: 2025-10-14 23:59\nFollow it with the "
	     "tracking number and your query code.\n\n",
	     "[civicdesk] We have received your message. Tracking number XJ-20250930-00008, reply "
	     "due 2025-10-14 23:59.",
	     "Please send us more information.\nTracking number: XJ-20250930-00008\nKind: letter "
	     "to the director\nSubject: \"噪音扰民\"\nReply due: 2025-10-14 23:59\nFollow it with "
	     "the tracking number and your query code.\n\n----\n請提供地址",
	     "Please rate the reply (satisfied / basically satisfied / unsatisfied) with the "
	     "tracking number and your query code:\n"
	     "https://xf.example.gov.cn/track?tracking=XJ-20250930-00008\n\n",
	     "The item has ended (assigned): ",
	     "Answered together with XJ-20250930-00001:\n\n已修复"},
	};
	size_t k;

	for (k = 0; k < sizeof(want) / sizeof(want[0]); k++) {
		struct env e;
		struct notify_config cfg;
		struct notify_render r;
		struct db_item it, target;
		struct db_outbox *v = NULL;
		size_t n = 0, i;
		char why[200] = "", note[512];
		int64_t id;
		const char *other = want[k].lang == LANG_EN ? "受理" : "Tracking";

		if (env_open(&e) != 0) {
			CHECK(t, 0);
			return;
		}
		test_config(&cfg);
		cfg.public_url = "https://xf.example.gov.cn";
		id = add_item_lang(&e, "XJ-20250930-00008", at("2025-09-30T10:00"), 0, 0,
		                   want[k].lang);
		CHECK_INT(t, db_item_get_id(e.c, id, &it), 1);
		CHECK_INT(t, it.lang, want[k].lang);
		CHECK_INT(t, notify_citizen(e.c, &cfg, e.cal, NOTIFY_EV_RECEIVED, &it, NULL,
		                            it.received), 0);
		CHECK_INT(t, notify_citizen(e.c, &cfg, e.cal, NOTIFY_EV_INFO, &it, "請提供地址", 100),
		          0);
		CHECK_INT(t, notify_citizen(e.c, &cfg, e.cal, NOTIFY_EV_REPLIED, &it, NULL, 200), 0);
		CHECK_INT(t, notify_citizen_ended_mail(e.c, &cfg, e.cal, &it, 300), 0);
		CHECK_INT(t, db_outbox_list(e.c, NULL, INT64_MAX, 100, &v, &n), 0);
		CHECK_INT(t, n, 4);
		notify_render_init(&r);
		for (i = 0; i < n; i++) {
			const char *step = v[i].step;

			if (strcmp(step, "ack") == 0) {
				CHECK_INT(t, notify_citizen_render(e.c, &cfg, &r, &v[i], why,
				                                   sizeof(why)), 1);
				CHECK_STR(t, v[i].subject, want[k].subject);
				CHECK_STR(t, v[i].body, want[k].ack);
				free(v[i].channel);
				v[i].channel = strdup("sms");
				CHECK_INT(t, notify_citizen_render(e.c, &cfg, &r, &v[i], why,
				                                   sizeof(why)), 1);
				CHECK_STR(t, v[i].body, want[k].sms);
			} else if (strncmp(step, "info/", 5) == 0) {
				CHECK_STR(t, v[i].body, want[k].info);
			} else if (strncmp(step, "replied/", 8) == 0) {
				CHECK(t, v[i].body != NULL && strstr(v[i].body, want[k].rate) != NULL);
			} else {
				CHECK(t, strncmp(step, "ended-mail/", 11) == 0);
				CHECK(t, v[i].body != NULL && strstr(v[i].body, want[k].ended) != NULL);
			}
			/* and nothing of the other language */
			CHECK(t, v[i].body != NULL && strstr(v[i].body, other) == NULL);
			CHECK(t, v[i].subject == NULL || strstr(v[i].subject, other) == NULL);
		}
		notify_render_free(&r);
		db_outboxes_free(v, n);
		memset(&target, 0, sizeof(target));
		target.tracking = (char *)"XJ-20250930-00001";
		target.reply = (char *)"已修复";
		notify_merged_note(&it, &target, note, sizeof(note));
		CHECK_STR(t, note, want[k].merged);
		db_item_free(&it);
		env_close(&e);
	}
}

static void
test_weekly(struct t *t)
{
	struct env e;
	struct notify_config cfg;
	int64_t sec = 0, other = 0;
	size_t q = 0;
	struct db_outbox *v = NULL;
	size_t n = 0, i;
	int wd, min;

	if (env_open(&e) != 0) {
		CHECK(t, 0);
		return;
	}
	test_config(&cfg);
	CHECK_INT(t, notify_weekly_parse("mon 09:00", &wd, &min), 0);
	CHECK_INT(t, wd * 10000 + min, 540);
	CHECK_INT(t, notify_weekly_parse("fri 17:30", &wd, &min), 0);
	CHECK_INT(t, wd * 10000 + min, 4 * 10000 + 17 * 60 + 30);
	CHECK_INT(t, notify_weekly_parse("off", &wd, &min), 0);
	CHECK_INT(t, wd, -1);
	CHECK_INT(t, notify_weekly_parse("monday 9:00", &wd, &min), -1);
	CHECK_INT(t, notify_weekly_parse("mon 24:00", &wd, &min), -1);
	db_section_add(e.c, "法规处", "fgc@example.com", 0, &sec);
	db_section_add(e.c, "稽查处", NULL, 0, &other);
	add_account(&e, "head", "section_head", sec, "head@example.com", "13800000011");
	add_account(&e, "admin1", "admin", 0, "admin@example.com", NULL);
	add_item(&e, "XJ-20250930-00001", at("2025-09-30T10:00"), sec, 0);
	add_item(&e, "XJ-20251009-00002", at("2025-10-09T10:00"), sec, 0);
	add_item(&e, "XJ-20251009-00003", at("2025-10-09T10:00"), other, 0);
	/* Sun 12 Oct: this week's digest (Mon 6 Oct 09:00) has not gone out yet: it goes now */
	CHECK_INT(t, notify_weekly(e.c, &cfg, e.cal, at("2025-10-12T10:00"), &q), 0);
	CHECK_INT(t, q, 2);
	CHECK_INT(t, count_rows(&e, "digest/2025-10-06", "email"), 2);
	CHECK_INT(t, db_outbox_list(e.c, NULL, INT64_MAX, 10, &v, &n), 0);
	for (i = 0; i < n; i++) {
		CHECK(t, strcmp(v[i].recipient, "fgc@example.com") == 0 ||
		             strcmp(v[i].recipient, "head@example.com") == 0);
		CHECK(t, strstr(v[i].body, "XJ-20250930-00001") != NULL);
		CHECK(t, strstr(v[i].body, "XJ-20251009-00002") != NULL);
		CHECK(t, strstr(v[i].body, "XJ-20251009-00003") == NULL);
		CHECK(t, strstr(v[i].body, "逾期 1 件") != NULL);
		CHECK(t, strstr(v[i].subject, "法规处") != NULL);
	}
	db_outboxes_free(v, n);
	q = 0;
	CHECK_INT(t, notify_weekly(e.c, &cfg, e.cal, at("2025-10-12T11:00"), &q), 0);
	CHECK_INT(t, notify_weekly(e.c, &cfg, e.cal, at("2025-10-13T08:59"), &q), 0);
	CHECK_INT(t, q, 0);
	CHECK_INT(t, notify_weekly(e.c, &cfg, e.cal, at("2025-10-13T09:00"), &q), 0);
	CHECK_INT(t, q, 2);
	CHECK_INT(t, count_rows(&e, "digest/2025-10-13", NULL), 2);
	CHECK_INT(t, count_rows(&e, "coverage/", NULL), 0);
	/* the calendar (2024-2026) ends within 60 days: the administrators, weekly */
	q = 0;
	cfg.digest = "off";
	CHECK_INT(t, notify_weekly(e.c, &cfg, e.cal, at("2026-11-02T07:00"), &q), 0);
	CHECK_INT(t, q, 1);
	CHECK_INT(t, count_rows(&e, "coverage/2026-12-31/2026-11-02", "email"), 1);
	CHECK_INT(t, notify_weekly(e.c, &cfg, e.cal, at("2026-11-06T07:00"), &q), 0);
	CHECK_INT(t, notify_weekly(e.c, &cfg, e.cal, at("2026-11-09T07:00"), &q), 0);
	CHECK_INT(t, q, 2);
	CHECK_INT(t, count_rows(&e, "digest/", NULL), 4);
	/* never skipped silently: 稽查处 has no head (nor a mailbox); admin2 has no address */
	add_account(&e, "admin2", "admin", 0, NULL, NULL);
	CHECK_INT(t, notify_weekly(e.c, &cfg, e.cal, at("2026-11-16T07:00"), &q), 0);
	{
		struct db_notify_missing *m = NULL;
		size_t nm = 0, k, head = 0, admin = 0;

		CHECK_INT(t, db_notify_missing_list(e.c, 100, &m, &nm), 0);
		for (k = 0; k < nm; k++) {
			if (strcmp(m[k].role, "section_head") == 0 && m[k].account_id == 0 &&
			    m[k].section_id == other && strcmp(m[k].step, "digest/2025-10-06") == 0)
				head++;
			if (strcmp(m[k].role, "admin") == 0 && m[k].username != NULL &&
			    strcmp(m[k].username, "admin2") == 0 &&
			    strcmp(m[k].step, "coverage/2026-12-31/2026-11-16") == 0)
				admin++;
		}
		CHECK_INT(t, head, 1);
		CHECK_INT(t, admin, 1);
		db_notify_missing_free(m, nm);
	}
	/* the audit chain's head goes to the administrators with the digest, when it moved */
	cfg.digest = "mon 09:00";
	CHECK_INT(t, count_rows(&e, "audit_head/", NULL), 0); /* an empty log: nothing */
	{
		struct db_audit a;
		int64_t aid = 0;
		unsigned char hash[DB_AUDIT_HASH];
		char hex[DB_AUDIT_HASH * 2 + 1], want[128];

		memset(&a, 0, sizeof(a));
		a.at = at("2026-11-20T10:00");
		a.actor = (char *)"admin1";
		a.action = (char *)"login";
		a.ok = 1;
		CHECK_INT(t, db_audit_add(e.c, &a, &aid), 0);
		CHECK_INT(t, db_audit_add(e.c, &a, &aid), 0);
		CHECK_INT(t, db_audit_head(e.c, &aid, hash), 0);
		CHECK_INT(t, (int)aid, 2);
		sodium_bin2hex(hex, sizeof(hex), hash, sizeof(hash));
		snprintf(want, sizeof(want), "record 2 hash %s", hex);
		CHECK_INT(t, notify_weekly(e.c, &cfg, e.cal, at("2026-11-23T09:00"), &q), 0);
		CHECK_INT(t, count_rows(&e, "audit_head/2026-11-23", "email"), 1);
		CHECK_INT(t, db_outbox_list(e.c, NULL, INT64_MAX, 10000, &v, &n), 0);
		for (i = 0; i < n; i++)
			if (strncmp(v[i].step, "audit_head/", 11) == 0) {
				CHECK_STR(t, v[i].recipient, "admin@example.com");
				CHECK(t, strstr(v[i].body, want) != NULL);
			}
		db_outboxes_free(v, n);
		/* the next week with no new record: not again */
		CHECK_INT(t, notify_weekly(e.c, &cfg, e.cal, at("2026-11-30T09:00"), &q), 0);
		CHECK_INT(t, count_rows(&e, "audit_head/", NULL), 1);
		CHECK_INT(t, db_audit_add(e.c, &a, &aid), 0);
		CHECK_INT(t, notify_weekly(e.c, &cfg, e.cal, at("2026-12-07T09:00"), &q), 0);
		CHECK_INT(t, count_rows(&e, "audit_head/2026-12-07", "email"), 1);
	}
	env_close(&e);
}


/* --- gateways of real SMS providers, segments, SMTP AUTH (#15) --------------------------------- */

/* The field of record r's decoded request (the gateway's own field names). */
static const char *
rec_field(json_t *r, const char *name)
{
	const char *s = json_string_value(json_object_get(json_object_get(r, "fields"), name));

	return s != NULL ? s : "";
}

static const char *
rec_header(json_t *r, const char *name)
{
	const char *s = json_string_value(json_object_get(json_object_get(r, "headers"), name));

	return s != NULL ? s : "";
}

/* One SMS through a gateway started with extra arguments, configured by cfg (its sms_url is set
 * here): the row's final state into o (db_outbox_free), the gateway's records (json_decref). */
static json_t *
sms_once(struct t *t, struct notify_config *cfg, const char *const *extra, const char *body,
         struct db_outbox *o)
{
	struct env e;
	struct peer p = {0, 0, ""};
	char url[80], err[200];
	int64_t now = at("2025-10-09T10:00"), id;
	size_t sent = 0;
	json_t *recs = NULL;

	memset(o, 0, sizeof(*o));
	if (env_open(&e) != 0 || peer_start(&e, &p, "sms", 0, extra) != 0) {
		CHECK(t, 0);
		goto out;
	}
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/sms?acct=civic", p.port);
	cfg->sms_url = url;
	CHECK_INT(t, notify_config_check(cfg, err, sizeof(err)), 0);
	id = queue(&e, cfg, "sms", "13800000001", "g1", NULL, body, now);
	CHECK_INT(t, notify_dispatch(e.c, cfg, e.cal, now, &sent), 0);
	row(&e, id, o);
	recs = peer_records(&p);
out:
	peer_stop(&p);
	env_close(&e);
	return recs;
}

static void
test_sms_gateway_form(struct t *t)
{
	const char *extra[] = {"--answer", "{\"code\":0,\"msg\":\"ok\"}", NULL};
	struct notify_config cfg;
	struct db_outbox o;
	json_t *recs, *r;

	test_config(&cfg);
	cfg.sms_format = "form";
	cfg.sms_body = "mobile={phone}&content={text}&sign=%E5%B1%80";
	cfg.sms_headers = "X-Api-Key: k1 |X-Trace: t 2";
	cfg.sms_success = "code=0";
	recs = sms_once(t, &cfg, extra, "【civicdesk】逾期 XJ-1 a&b=c", &o);
	CHECK_STR(t, o.state, "sent");
	CHECK_INT(t, json_array_size(recs), 1);
	r = json_array_get(recs, 0);
	CHECK_STR(t, rec_str(r, "method"), "POST");
	CHECK_STR(t, rec_str(r, "path"), "/api/sms");
	CHECK_STR(t, rec_field(r, "mobile"), "13800000001");
	CHECK_STR(t, rec_field(r, "content"), "【civicdesk】逾期 XJ-1 a&b=c");
	CHECK_STR(t, rec_field(r, "sign"), "局");
	CHECK_STR(t, rec_header(r, "x-api-key"), "k1");
	CHECK_STR(t, rec_header(r, "x-trace"), "t 2");
	CHECK(t, strncmp(rec_header(r, "content-type"), "application/x-www-form-urlencoded", 33) == 0);
	db_outbox_free(&o);
	json_decref(recs);
}

static void
test_sms_gateway_rule(struct t *t)
{
	const char *refused[] = {"--answer", "{\"code\":1001,\"msg\":\"no balance\"}", NULL};
	const char *nested[] = {"--answer", "{\"result\":{\"status\":\"ok\",\"id\":7}}", NULL};
	const char *plain[] = {"--answer", "accepted", NULL};
	struct notify_config cfg;
	struct db_outbox o;
	json_t *recs, *r;

	/* a 200 that breaks the success rule fails the notice, in the gateway's words */
	test_config(&cfg);
	cfg.sms_success = "code=0";
	recs = sms_once(t, &cfg, refused, "text", &o);
	CHECK_STR(t, o.state, "failed");
	CHECK(t, o.last_error != NULL && strstr(o.last_error, "code is 1001") != NULL);
	CHECK(t, o.last_error != NULL && strstr(o.last_error, "no balance") != NULL);
	CHECK_INT(t, json_array_size(recs), 1);
	db_outbox_free(&o);
	json_decref(recs);
	/* a JSON template sent with PUT; a nested field in the rule */
	test_config(&cfg);
	cfg.sms_method = "PUT";
	cfg.sms_body = "{\"to\":\"{phone}\",\"msg\":{\"body\":\"{text}\",\"n\":1},\"tags\":[\"{phone}\"]}";
	cfg.sms_success = "result.status=ok";
	recs = sms_once(t, &cfg, nested, "引号\"与\\反斜杠", &o);
	CHECK_STR(t, o.state, "sent");
	r = json_array_get(recs, 0);
	CHECK_STR(t, rec_str(r, "method"), "PUT");
	CHECK_STR(t, rec_field(r, "to"), "13800000001");
	CHECK_STR(t, json_string_value(json_object_get(json_object_get(json_object_get(r, "fields"),
	                                                               "msg"), "body")),
	          "引号\"与\\反斜杠");
	CHECK_STR(t, json_string_value(json_array_get(json_object_get(json_object_get(r, "fields"),
	                                                              "tags"), 0)),
	          "13800000001");
	db_outbox_free(&o);
	json_decref(recs);
	/* an answer that is not JSON breaks a rule */
	test_config(&cfg);
	cfg.sms_success = "code=0";
	recs = sms_once(t, &cfg, plain, "text", &o);
	CHECK_STR(t, o.state, "failed");
	CHECK(t, o.last_error != NULL && strstr(o.last_error, "not JSON") != NULL);
	db_outbox_free(&o);
	json_decref(recs);
	/* GET: the form in the query string, after the URL's own */
	test_config(&cfg);
	cfg.sms_method = "GET";
	cfg.sms_format = "form";
	cfg.sms_body = "to={phone}&msg={text}";
	recs = sms_once(t, &cfg, NULL, "短信 1+1", &o);
	CHECK_STR(t, o.state, "sent");
	r = json_array_get(recs, 0);
	CHECK_STR(t, rec_str(r, "method"), "GET");
	CHECK_STR(t, rec_field(r, "msg"), "短信 1+1");
	CHECK_STR(t, rec_field(r, "acct"), "civic");
	db_outbox_free(&o);
	json_decref(recs);
}

static void
test_sms_segments(struct t *t)
{
	struct notify_config cfg;
	struct db_outbox o;
	json_t *recs;
	char long_text[1024] = "", *cut;
	size_t i;

	/* 100 Chinese characters, one segment of 70: 69 and the ellipsis, cut between characters */
	for (i = 0; i < 100; i++)
		strcat(long_text, i % 10 == 9 ? "九" : "字");
	test_config(&cfg);
	CHECK_INT(t, notify_utf8_len(long_text), 100);
	cut = notify_sms_text(&cfg, long_text);
	CHECK_STR(t, cut, long_text); /* no cut unless configured */
	free(cut);
	cfg.sms_max_segments = 1;
	cut = notify_sms_text(&cfg, long_text);
	CHECK_INT(t, cut != NULL ? notify_utf8_len(cut) : 0, 70);
	CHECK(t, cut != NULL && strcmp(cut + strlen(cut) - 3, "…") == 0);
	CHECK(t, cut != NULL && strncmp(cut, long_text, strlen(cut) - 3) == 0);
	free(cut);
	cfg.sms_max_segments = 2;
	cut = notify_sms_text(&cfg, long_text);
	CHECK_STR(t, cut, long_text); /* fits in two */
	free(cut);
	/* through the gateway: what it receives is valid UTF-8 of 70 characters */
	cfg.sms_max_segments = 1;
	recs = sms_once(t, &cfg, NULL, long_text, &o);
	CHECK_STR(t, o.state, "sent");
	CHECK_STR(t, o.body, long_text); /* the outbox keeps it whole */
	CHECK_INT(t, notify_utf8_len(rec_str(json_array_get(recs, 0), "text")), 70);
	db_outbox_free(&o);
	json_decref(recs);
}

static void
test_sms_config_check(struct t *t)
{
	struct notify_config cfg;
	char err[200];

	test_config(&cfg);
	cfg.sms_method = "DELETE";
	CHECK_INT(t, notify_config_check(&cfg, err, sizeof(err)), -1);
	test_config(&cfg);
	cfg.sms_method = "GET";
	CHECK_INT(t, notify_config_check(&cfg, err, sizeof(err)), -1); /* GET needs form */
	cfg.sms_format = "form";
	CHECK_INT(t, notify_config_check(&cfg, err, sizeof(err)), 0);
	test_config(&cfg);
	cfg.sms_body = "{\"mobile\":\"{phone}\"}"; /* no {text} */
	CHECK_INT(t, notify_config_check(&cfg, err, sizeof(err)), -1);
	cfg.sms_body = "[\"{phone}\",\"{text}\"]"; /* not an object */
	CHECK_INT(t, notify_config_check(&cfg, err, sizeof(err)), -1);
	cfg.sms_body = "{\"mobile\":\"{phone}\",\"content\":\"{text}\"}";
	CHECK_INT(t, notify_config_check(&cfg, err, sizeof(err)), 0);
	cfg.sms_headers = "no colon here";
	CHECK_INT(t, notify_config_check(&cfg, err, sizeof(err)), -1);
	cfg.sms_headers = "A: 1 | B: 2";
	CHECK_INT(t, notify_config_check(&cfg, err, sizeof(err)), 0);
	cfg.sms_success = "=0";
	CHECK_INT(t, notify_config_check(&cfg, err, sizeof(err)), -1);
	cfg.sms_success = "code";
	CHECK_INT(t, notify_config_check(&cfg, err, sizeof(err)), -1);
	cfg.sms_format = "xml";
	cfg.sms_success = "";
	CHECK_INT(t, notify_config_check(&cfg, err, sizeof(err)), -1);
}

/* One e-mail through an SMTP server started with extra arguments: its state into o. */
static json_t *
mail_once(struct t *t, struct notify_config *cfg, const char *const *extra, struct db_outbox *o)
{
	struct env e;
	struct peer p = {0, 0, ""};
	char url[64];
	int64_t now = at("2025-10-09T10:00"), id;
	size_t sent = 0;
	json_t *recs = NULL;

	memset(o, 0, sizeof(*o));
	if (env_open(&e) != 0 || peer_start(&e, &p, "smtp", 0, extra) != 0) {
		CHECK(t, 0);
		goto out;
	}
	snprintf(url, sizeof(url), "smtp://127.0.0.1:%d", p.port);
	cfg->smtp_url = url;
	id = queue(&e, cfg, "email", "head@example.com", "a1", "主题", "正文", now);
	CHECK_INT(t, notify_dispatch(e.c, cfg, e.cal, now, &sent), 0);
	row(&e, id, o);
	recs = peer_records(&p);
out:
	peer_stop(&p);
	env_close(&e);
	return recs;
}

static size_t
count_key(json_t *recs, const char *key)
{
	json_t *r;
	size_t i, n = 0;

	json_array_foreach(recs, i, r)
		if (json_object_get(r, key) != NULL)
			n++;
	return n;
}

static void
test_smtp_auth(struct t *t)
{
	const char *extra[] = {"--auth", "civic:s3cret-Pass", NULL};
	struct notify_config cfg;
	struct db_outbox o;
	json_t *recs, *r;

	/* the right password: authenticated, delivered */
	test_config(&cfg);
	cfg.smtp_user = "civic";
	cfg.smtp_password = "s3cret-Pass";
	recs = mail_once(t, &cfg, extra, &o);
	CHECK_STR(t, o.state, "sent");
	CHECK_INT(t, count_key(recs, "auth"), 1);
	CHECK_INT(t, count_key(recs, "rcpt"), 1);
	r = json_array_get(recs, 0);
	CHECK(t, json_is_true(json_object_get(r, "ok")));
	CHECK_STR(t, rec_str(r, "login"), "civic");
	db_outbox_free(&o);
	json_decref(recs);
	/* no AUTH configured: the server refuses the mail, nothing is delivered */
	test_config(&cfg);
	recs = mail_once(t, &cfg, extra, &o);
	CHECK(t, o.state != NULL && strcmp(o.state, "sent") != 0);
	CHECK_INT(t, count_key(recs, "rcpt"), 0);
	db_outbox_free(&o);
	json_decref(recs);
	/* a wrong password: refused, nothing delivered, the reason kept */
	test_config(&cfg);
	cfg.smtp_user = "civic";
	cfg.smtp_password = "wrong";
	recs = mail_once(t, &cfg, extra, &o);
	CHECK(t, o.state != NULL && strcmp(o.state, "sent") != 0);
	CHECK_STR(t, o.state, "pending"); /* retried: the configuration may be fixed */
	CHECK(t, o.last_error != NULL && strstr(o.last_error, "AUTH refused") != NULL);
	CHECK_INT(t, count_key(recs, "rcpt"), 0);
	db_outbox_free(&o);
	json_decref(recs);
	/* STARTTLS required from a server that does not offer it: nothing sent in clear */
	test_config(&cfg);
	cfg.smtp_starttls = "required";
	recs = mail_once(t, &cfg, NULL, &o);
	CHECK_STR(t, o.state, "pending");
	CHECK(t, o.last_error != NULL && strstr(o.last_error, "no STARTTLS") != NULL);
	CHECK_INT(t, json_array_size(recs), 0);
	db_outbox_free(&o);
	json_decref(recs);
}


/* Several notices for one recipient at one moment: one message, every row marked together with
 * its Message-ID; a message tried before is sent again whole, even past the batch limit. */
static void
test_combine(struct t *t)
{
	struct env e;
	struct peer p = {0, 0, ""}, g = {0, 0, ""};
	struct notify_config cfg;
	char url[64], body[64];
	int64_t now = at("2025-10-09T10:00"), id[4], sid[3];
	struct db_outbox o[4];
	size_t sent = 0, i;
	int port = 0;
	json_t *recs = NULL, *r;
	char sixty[256] = "";

	if (env_open(&e) != 0 || peer_start(&e, &g, "sms", 0, NULL) != 0 ||
	    (port = free_port(&e)) == 0) {
		CHECK(t, 0);
		goto out;
	}
	test_config(&cfg);
	snprintf(url, sizeof(url), "smtp://127.0.0.1:%d", port);
	cfg.smtp_url = url;
	for (i = 0; i < 3; i++) {
		snprintf(body, sizeof(body), "事项 XJ-%zu 已逾期。", i);
		id[i] = queue(&e, &cfg, "email", "head@example.com", body, "逾期", body, now);
	}
	id[3] = queue(&e, &cfg, "email", "other@example.com", "o1", "单独一条", "正文", now);
	/* the server is down: the three are tried as one message (one Message-ID) */
	CHECK_INT(t, notify_dispatch(e.c, &cfg, e.cal, now, &sent), 0);
	for (i = 0; i < 4; i++)
		row(&e, id[i], &o[i]);
	CHECK(t, o[0].message_id != NULL && o[1].message_id != NULL && o[2].message_id != NULL);
	CHECK(t, o[0].message_id && o[1].message_id && strcmp(o[0].message_id, o[1].message_id) == 0);
	CHECK(t, o[0].message_id && o[2].message_id && strcmp(o[0].message_id, o[2].message_id) == 0);
	CHECK(t, o[0].message_id && o[3].message_id && strcmp(o[0].message_id, o[3].message_id) != 0);
	CHECK_INT(t, o[0].send_after, o[2].send_after);
	for (i = 0; i < 4; i++)
		db_outbox_free(&o[i]);
	/* up again, with a batch of 2: the limit cuts the message, which is completed */
	if (peer_start(&e, &p, "smtp", port, NULL) != 0) {
		CHECK(t, 0);
		goto out;
	}
	cfg.batch = 2;
	for (i = 0; i < 3; i++)
		CHECK_INT(t, notify_dispatch(e.c, &cfg, e.cal, now + 60, &sent), 0);
	CHECK_INT(t, sent, 4);
	recs = peer_records(&p);
	CHECK_INT(t, json_array_size(recs), 2);
	for (i = 0; i < 4; i++)
		row(&e, id[i], &o[i]);
	json_array_foreach(recs, i, r) {
		const char *to = json_string_value(json_array_get(json_object_get(r, "rcpt"), 0));
		char mid[200];

		if (to != NULL && strcmp(to, "head@example.com") == 0) {
			snprintf(mid, sizeof(mid), "<%s>", o[0].message_id ? o[0].message_id : "");
			CHECK_STR(t, rec_str(r, "message_id"), mid);
			CHECK(t, strstr(rec_str(r, "subject"), "3 条通知") != NULL);
			CHECK(t, strstr(rec_str(r, "body"), "事项 XJ-0 已逾期。") != NULL);
			CHECK(t, strstr(rec_str(r, "body"), "事项 XJ-1 已逾期。") != NULL);
			CHECK(t, strstr(rec_str(r, "body"), "事项 XJ-2 已逾期。") != NULL);
		} else
			CHECK_STR(t, rec_str(r, "subject"), "单独一条");
	}
	for (i = 0; i < 4; i++) {
		CHECK_STR(t, o[i].state, "sent");
		CHECK_INT(t, o[i].attempts, 2);
		db_outbox_free(&o[i]);
	}
	/* SMS within two segments of 70: two 60-character texts share one, the third waits for
	 * the next */
	for (i = 0; i < 60; i++)
		strcat(sixty, "字");
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/send", g.port);
	cfg.sms_url = url;
	cfg.smtp_url = "";
	cfg.batch = 100;
	cfg.sms_max_segments = 2;
	for (i = 0; i < 3; i++) {
		snprintf(body, sizeof(body), "s%zu", i);
		sid[i] = queue(&e, &cfg, "sms", "13800000001", body, NULL, sixty, now + 100);
	}
	CHECK_INT(t, notify_dispatch(e.c, &cfg, e.cal, now + 100, &sent), 0);
	json_decref(recs);
	recs = peer_records(&g);
	CHECK_INT(t, json_array_size(recs), 2);
	CHECK_INT(t, notify_utf8_len(rec_str(json_array_get(recs, 0), "text")), 121);
	for (i = 0; i < 3; i++) {
		row(&e, sid[i], &o[i]);
		CHECK_STR(t, o[i].state, "sent");
		db_outbox_free(&o[i]);
	}
out:
	json_decref(recs);
	peer_stop(&p);
	peer_stop(&g);
	env_close(&e);
}


/* Which citizens' numbers get SMS: mainland mobile numbers, written in any of the usual ways. */
static void
test_mobile(struct t *t)
{
	char buf[16] = "";

	CHECK_INT(t, notify_mobile("13912345678", buf, sizeof(buf)), 1);
	CHECK_STR(t, buf, "13912345678");
	CHECK_INT(t, notify_mobile("+86 139-1234-5678", buf, sizeof(buf)), 1);
	CHECK_STR(t, buf, "13912345678");
	CHECK_INT(t, notify_mobile("008613912345678", buf, sizeof(buf)), 1);
	CHECK_INT(t, notify_mobile("+8619912345678", buf, sizeof(buf)), 1);
	CHECK_STR(t, buf, "19912345678");
	CHECK_INT(t, notify_mobile("010-12345678", buf, sizeof(buf)), 0);
	CHECK_INT(t, notify_mobile("12345678901", buf, sizeof(buf)), 0);
	CHECK_INT(t, notify_mobile("1391234567", buf, sizeof(buf)), 0);
	CHECK_INT(t, notify_mobile("139123456789", buf, sizeof(buf)), 0);
	CHECK_INT(t, notify_mobile("139-1234-567x", buf, sizeof(buf)), 0);
	CHECK_INT(t, notify_mobile("", buf, sizeof(buf)), 0);
	CHECK_INT(t, notify_mobile(NULL, buf, sizeof(buf)), 0);
}

/* The smtps relay takes libesmtp's connection only: a connection to its loopback port from this
 * process is its own, one from another process (a child here) is not. */
static int
connect_to(int port)
{
	struct sockaddr_in sin;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

static void
test_relay_peer(struct t *t)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), cfd, afd, go[2], port;
	pid_t child;
	char c = 0;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK(t, lfd >= 0 && bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
	             listen(lfd, 4) == 0 && getsockname(lfd, (struct sockaddr *)&sin, &len) == 0);
	port = ntohs(sin.sin_port);

	cfd = connect_to(port); /* this process */
	afd = accept(lfd, NULL, NULL);
	CHECK(t, cfd >= 0 && afd >= 0);
	CHECK_INT(t, smtps_peer_is_own(afd), 1);
	close(afd);
	close(cfd);

	CHECK_INT(t, pipe(go), 0);
	child = fork();
	if (child == 0) { /* another process: connects, then waits to be told to go */
		int fd = connect_to(port);

		close(go[1]);
		if (read(go[0], &c, 1) < 0)
			c = 0;
		_exit(fd >= 0 ? 0 : 1);
	}
	close(go[0]);
	afd = accept(lfd, NULL, NULL);
	CHECK(t, afd >= 0);
	CHECK_INT(t, smtps_peer_is_own(afd), 0);
	close(afd);
	if (write(go[1], "x", 1) < 0)
		c = 1;
	close(go[1]);
	waitpid(child, NULL, 0);
	close(lfd);
	(void)c;
}

int
main(void)
{
	struct t t = {0, 0, 0};

	setenv("TZ", "Asia/Shanghai", 1);
	if (sla_set_zone("Asia/Shanghai") != 0) {
		printf("not ok 1 - time zone\n");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	notify_init();
	RUN(&t, test_quiet);
	RUN(&t, test_config_check);
	RUN(&t, test_email);
	RUN(&t, test_smtp_down_then_up);
	RUN(&t, test_resend_same_message_id);
	RUN(&t, test_sms_retries);
	RUN(&t, test_sms_quiet);
	RUN(&t, test_ladder);
	RUN(&t, test_ladder_old_receipt);
	RUN(&t, test_citizen);
	RUN(&t, test_citizen_lang);
	RUN(&t, test_weekly);
	RUN(&t, test_sms_gateway_form);
	RUN(&t, test_sms_gateway_rule);
	RUN(&t, test_sms_segments);
	RUN(&t, test_sms_config_check);
	RUN(&t, test_smtp_auth);
	RUN(&t, test_combine);
	RUN(&t, test_mobile);
	RUN(&t, test_relay_peer);
	notify_cleanup();
	return t_done(&t);
}
