/* cmd_serve.c: civicdesk serve — runs the HTTP service until SIGINT or SIGTERM. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "service/core/core.h"
#include "service/http/http.h"
#include "service/api/api.h"
#include "service/mailin/mailin.h"
#include "service/pages/pages.h"
#include "notifiers/notifiers.h"
#include "cli.h"

#define DAILY_TICK 60 /* seconds between looks at the local date */

static const struct actor calendar_actor = {0, "system", NULL};

/* Takes up a change of calendar (#14 point 10): at start, a new file in calendar_dir or a new
 * binary; later, files loaded by `civicdesk calendar load` from another process. */
static void
calendar_sync(struct app *app, int at_start)
{
	struct calendar_report rep;
	int changed;

	if (core_calendar_sync(app, &calendar_actor, app_now(app), &rep, &changed) != 0)
		return;
	if (changed || rep.moved || rep.confirmed)
		log_info("calendar %s..%s%s: %zu due times moved on %zu items, %zu provisional marks "
		         "changed, %zu due times left as set",
		         rep.first, rep.last, at_start ? " at start" : " (loaded)", rep.moved,
		         rep.items, rep.confirmed, rep.left);
}

#define COVERAGE_WARN_DAYS 60 /* as the administrators' weekly coverage e-mail (digest.c) */

/* A log line when the holiday calendar ends within COVERAGE_WARN_DAYS or has ended: at start
 * and each new local day, so that whoever reads the log (a first `make run` in December)
 * learns what happens after it and what to do, not only the administrators' e-mail. */
static void
coverage_note(struct app *app)
{
	char last[11];
	sla_day a, b, today = sla_local_day(app_now(app));

	sla_calendar_range(app->cal, &a, &b);
	if (b - today > COVERAGE_WARN_DAYS)
		return;
	sla_date_format(b, last);
	if (b >= today)
		log_warn("the holiday calendar ends %s, in %d day%s: a due date after it counts "
		         "Monday to Friday only and is marked provisional until next year's file (from "
		         "the State Council's notice) is loaded: civicdesk calendar load FILE, or the "
		         "admin page's Holiday calendar",
		         last, (int)(b - today), b - today == 1 ? "" : "s");
	else
		log_warn("the holiday calendar ended %s: due dates count Monday to Friday only and "
		         "are marked provisional until the file of the year (from the State Council's "
		         "notice) is loaded: civicdesk calendar load FILE, or the admin page's Holiday "
		         "calendar",
		         last);
}

#define SERVE_USAGE "usage: civicdesk serve [--config FILE] [--listen HOST:PORT]\n"

/* --help: the usage and every configuration key on stdout; a usage error: the usage line. */
static void
usage(FILE *out)
{
	if (out == stdout) {
		fprintf(out, SERVE_USAGE "\n");
		config_usage(out);
	} else {
		fprintf(out, SERVE_USAGE "(civicdesk serve --help lists the configuration keys)\n");
	}
}

/* 1 if listen ends in ":PORT" with a decimal port of 0 to 65535 (0: any free port), else 0.
 * The resolver takes "99999" and wraps it to 34463: a mistyped port must stop the start. */
static int
listen_port_ok(const char *listen)
{
	const char *colon = strrchr(listen, ':'), *p;
	long port = 0;

	if (colon == NULL || colon[1] == '\0' || strlen(colon + 1) > 5)
		return 0;
	for (p = colon + 1; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return 0;
		port = port * 10 + (*p - '0');
	}
	return port <= 65535;
}

/* Binds the address serve will listen on (--listen, else the configuration's): 0 with the
 * socket in *fd, or -1 having said why in one line on stderr. A configuration that does not
 * load is left to app_open, which names the key, file and line. */
static int
serve_listen(const char *config, const char *listen, int *fd)
{
	struct config cfg;
	const char *where;
	char err[1024];
	int rc = -1;

	if (cli_config(&cfg, config, NULL) != 0) {
		*fd = -1;
		return 0;
	}
	where = listen != NULL ? listen : cfg.listen;
	if (!listen_port_ok(where))
		fprintf(stderr,
		        "civicdesk: error: listen: '%s' is not host:port (a port of 0 to 65535)\n",
		        where);
	else if (http_listen(where, fd, err, sizeof(err)) != 0)
		fprintf(stderr, "civicdesk: error: %s\n", err);
	else
		rc = 0;
	config_free(&cfg);
	return rc;
}

/* The line after "listening on" that tells a person where to go (the demo lines and "listening
 * on" above it stay as they are: tools read them): the staff's sign-in page and the citizens'
 * form, under public_url when one is set (behind a reverse proxy), else under base, the address
 * just bound (its real port, also for port 0). */
static void
signin_line(const struct app *app, const char *base)
{
	const char *url = app->cfg.public_url;
	size_t len = strlen(url);

	while (len > 0 && url[len - 1] == '/')
		len--;
	if (len == 0) {
		url = base;
		len = strlen(base);
	}
	printf("sign in at %.*s/staff/login (staff); the public form is at %.*s/submit\n", (int)len,
	       url, (int)len, url);
}

/* Raises the soft limit of open files to the hard one (LimitNOFILE in the systemd unit): each
 * connection holds a socket, each database connection its files. */
static void
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
		log_warn("cannot raise the open-file limit to %llu", (unsigned long long)rl.rlim_max);
}

int
cmd_serve(int argc, char **argv)
{
	struct app app;
	struct http_server *httpd = NULL;
	struct notifier *notifier = NULL;
	struct mailin_poller *imap = NULL;
	struct route *routes = NULL;
	const char *config = NULL, *listen = NULL;
	sigset_t set;
	char err[512];
	sla_day last_day;
	int i, sig = 0, port = 0, rc = 1, lock_fd = -1, listen_fd = -1;

	if (cli_help(argc, argv)) {
		usage(stdout);
		return 0;
	}
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			config = argv[++i];
		else if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc)
			listen = argv[++i];
		else {
			fprintf(stderr, "civicdesk serve: %s %s\n",
			        argv[i][0] == '-' ? "unknown option or missing value:" : "unexpected",
			        argv[i]);
			usage(stderr);
			return 64;
		}
	}
	/* Block the stop signals before any thread starts; the main thread waits for them. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	raise_nofile();
	/* the address first: one that is in use stops the start before a database is made and its
	 * demo accounts' passwords printed for a server that never ran */
	if (serve_listen(config, listen, &listen_fd) != 0)
		return 1;
	if (app_open(&app, config, stdout) != 0) {
		if (listen_fd >= 0)
			close(listen_fd);
		return 1;
	}
	app_log_writer(&app);
	/* Held until exit: civicdesk restore refuses to replace the database under a server. */
	if (db_serve_lock(app.cfg.db, &lock_fd, err, sizeof(err)) != 0) {
		fprintf(stderr, "civicdesk: %s\n", err);
		goto out;
	}
	if (listen != NULL) {
		char *copy = strdup(listen);

		if (copy == NULL)
			goto out;
		free(app.cfg.listen);
		app.cfg.listen = copy;
	}
	/* the key file that seals the TOTP keys (made at the first start; a missing or wrong one
	 * is told here, naming the accounts it concerns) */
	if (totp_keys_start(&app) != 0)
		goto out;
	/* every submission and action queues its citizen notice in its own transaction */
	notify_attach(&app);
	calendar_sync(&app, 1);
	/* the pages (built in, or web_dir) and one route table: the API's, then the pages' */
	app.pages = pages_new(app.cfg.web_dir, err, sizeof(err));
	if (app.pages == NULL) {
		log_err("pages: %s", err);
		goto out;
	}
	app.api = api_state_new(); /* NULL: the API answers without it */
	routes = calloc(api_nroutes + pages_nroutes, sizeof(*routes));
	if (routes == NULL)
		goto out;
	memcpy(routes, api_routes, api_nroutes * sizeof(*routes));
	memcpy(routes + api_nroutes, pages_routes, pages_nroutes * sizeof(*routes));
	/* mail-in over IMAP, when a mailbox is configured (a bad URL stops the start) */
	if (app.cfg.imap_url[0] != '\0' && mailin_poller_new(&app, &imap, err, sizeof(err)) != 0) {
		fprintf(stderr, "civicdesk: %s\n", err);
		goto out;
	}
	/* the sessions' activity is written off the requests' threads, without an fsync */
	if (core_session_writer_start(&app) != 0)
		goto out;
	httpd = http_start(&app, routes, api_nroutes + pages_nroutes, listen_fd, &port);
	listen_fd = -1; /* the server's now */
	if (httpd == NULL)
		goto out;
	if (notify_start_app(&app, &notifier, err, sizeof(err)) != 0) {
		fprintf(stderr, "civicdesk: notifications: %s\n", err);
		goto out;
	}
	if (imap != NULL && mailin_poller_start(imap) != 0) {
		log_err("imap: cannot start the poller");
		goto out;
	}
	{
		char first[11], last[11];
		sla_day a, b;

		sla_calendar_range(app.cal, &a, &b);
		sla_date_format(a, first);
		sla_date_format(b, last);
		printf("civicdesk %s: database %s (schema %d), calendar %s..%s, time zone %s\n",
		       CIVICDESK_VERSION, app.cfg.db, db_schema_version(app.db), first, last,
		       app.cfg.tz);
	}
	fflush(stdout);
	coverage_note(&app);
	daily_audit_head(&app); /* before "listening": in the start-up lines */
	{
		char host[256], base[512];
		const char *colon = strrchr(app.cfg.listen, ':');
		size_t hlen = colon ? (size_t)(colon - app.cfg.listen) : 0;

		snprintf(host, sizeof(host), "%.*s", (int)hlen, app.cfg.listen);
		printf("listening on http://%s:%d\n", hlen ? host : "0.0.0.0", port);
		snprintf(base, sizeof(base), "http://%s:%d", hlen ? host : "0.0.0.0", port);
		signin_line(&app, base);
	}
	fflush(stdout);
	/* The main thread waits for a stop signal, waking each minute for the daily tasks. */
	last_day = sla_local_day(app_now(&app));
	daily_audit_archive(&app);
	daily_backup(&app);
	for (;;) {
		/* the calendar is looked at each scan_interval (at most each DAILY_TICK) */
		struct timespec tick = {
		    app.cfg.scan_interval > 0 && app.cfg.scan_interval < DAILY_TICK
		        ? (time_t)app.cfg.scan_interval
		        : DAILY_TICK,
		    0};
		int scanned = 0;

		/* with a virus scanner, held attachments are scanned again every clamd_rescan s */
		if (app.cfg.clamd_socket[0] != '\0' && app.cfg.clamd_rescan < tick.tv_sec)
			tick.tv_sec = app.cfg.clamd_rescan;
		sig = sigtimedwait(&set, NULL, &tick);
		if (sig > 0)
			break;
		calendar_sync(&app, 0);
		if (app.cfg.clamd_socket[0] != '\0' &&
		    (scan_pending(&app, app_now(&app), &scanned) != 0 || scanned > 0))
			log_info("scan: %d held attachments decided", scanned);
		if (sla_local_day(app_now(&app)) != last_day) {
			last_day = sla_local_day(app_now(&app));
			coverage_note(&app);
			daily_audit_head(&app);
			daily_audit_archive(&app);
			daily_backup(&app);
		}
	}
	log_info("signal %d: stopping", sig);
	mailin_poller_stop(imap);
	imap = NULL;
	rc = 0;
out:
	mailin_poller_free(imap);
	http_stop(httpd);
	core_session_writer_stop(&app); /* after the server that fed it: writes what it holds */
	notify_stop(notifier);
	free(routes);
	pages_free(app.pages);
	app.pages = NULL;
	api_state_free(app.api); /* after the server that used it */
	app.api = NULL;
	app_close(&app);
	db_serve_unlock(lock_fd);
	if (listen_fd >= 0)
		close(listen_fd);
	return rc;
}
