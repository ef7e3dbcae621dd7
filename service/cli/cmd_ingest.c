/*
 * cmd_ingest.c: civicdesk ingest-mail — an MTA pipes one message on stdin (like RT's
 * rt-mailgate). Prints one line on stdout: the tracking number of the item created or added to,
 * or "ignored: REASON". Exit codes from sysexits: 0 stored durably or deliberately ignored,
 * 65 a message that can never be stored, 75 try again later (database busy, unavailable or not
 * there, out of memory, configuration unreadable: the MTA keeps the message and retries), 64
 * usage. It never creates a database: an MTA runs it with its own environment and working
 * directory, where a database made afresh would take the letter out of the bureau's sight.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "service/core/core.h"
#include "service/mailin/mailin.h"
#include "notifiers/notifiers.h"
#include "cli.h"

#define EX_OK 0
#define EX_USAGE 64
#define EX_DATAERR 65
#define EX_TEMPFAIL 75

#define INGEST_USAGE "usage: civicdesk ingest-mail [--config FILE] < message\n"

/* Reads stdin whole, at most MAIL_RAW_MAX + 1 bytes (one more tells it is too large). */
static char *
read_all(size_t *len)
{
	size_t cap = 64 * 1024, n = 0, got;
	char *buf = malloc(cap), *nb;

	while (buf != NULL) {
		if (n == cap) {
			if (cap > (size_t)MAIL_RAW_MAX) {
				*len = n;
				return buf;
			}
			cap *= 2;
			nb = realloc(buf, cap);
			if (nb == NULL)
				break;
			buf = nb;
		}
		got = fread(buf + n, 1, cap - n, stdin);
		n += got;
		if (got == 0) {
			if (ferror(stdin))
				break;
			*len = n;
			return buf;
		}
	}
	free(buf);
	return NULL;
}

/* 1 if the configured database file is not there (or the configuration cannot be read),
 * having said so on stderr; 0 if it is. */
static int
db_missing(const char *config)
{
	struct config cfg;
	int missing;

	if (cli_config(&cfg, config, "ingest-mail") != 0)
		return 1;
	missing = access(cfg.db, F_OK) != 0;
	if (missing)
		fprintf(stderr,
		        "civicdesk ingest-mail: the database %s does not exist: the message was not "
		        "stored (give the path of the database civicdesk serve uses, with --config or "
		        "CIVICDESK_DB)\n",
		        cfg.db);
	config_free(&cfg);
	return missing;
}

int
cmd_ingest_mail(int argc, char **argv)
{
	struct app app;
	struct mail_config cfg;
	const char *config = NULL;
	char line[512], err[256], *raw;
	size_t len = 0;
	int i, rc = EX_TEMPFAIL;

	if (cli_help(argc, argv)) {
		printf(INGEST_USAGE);
		return EX_OK;
	}
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
			config = argv[++i];
		} else {
			fprintf(stderr, INGEST_USAGE);
			return EX_USAGE;
		}
	}
	raw = read_all(&len);
	if (raw == NULL) {
		fprintf(stderr, "civicdesk ingest-mail: cannot read the message\n");
		return EX_TEMPFAIL;
	}
	if (db_missing(config)) {
		free(raw);
		return len > (size_t)MAIL_RAW_MAX ? EX_DATAERR : EX_TEMPFAIL;
	}
	if (app_open(&app, config, stderr) != 0) {
		/* the database busy (another writer) or unavailable: the MTA retries (a message over
		 * the limit can never be stored: it is refused without its record) */
		if (len > (size_t)MAIL_RAW_MAX)
			fprintf(stderr, "civicdesk ingest-mail: the message is larger than %ld bytes\n",
			        MAIL_RAW_MAX);
		free(raw);
		return len > (size_t)MAIL_RAW_MAX ? EX_DATAERR : EX_TEMPFAIL;
	}
	/* the citizen's acknowledgement is queued in the item's own transaction */
	notify_attach(&app);
	if (mailin_config(&app, &cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "civicdesk ingest-mail: mail_kinds: %s\n", err);
		goto out;
	}
	switch (mailin_store(&app, &cfg, raw, len, NULL, app_now(&app), line, sizeof(line))) {
	case MAILIN_CREATED:
	case MAILIN_ADDED:
	case MAILIN_DUPLICATE:
	case MAILIN_IGNORED:
		printf("%s\n", line);
		rc = fflush(stdout) == 0 ? EX_OK : EX_TEMPFAIL;
		break;
	case MAILIN_INVALID:
		fprintf(stderr, "civicdesk ingest-mail: %s\n", line);
		rc = EX_DATAERR;
		break;
	case MAILIN_RETRY:
		fprintf(stderr, "civicdesk ingest-mail: %s; try again later\n", line);
		rc = EX_TEMPFAIL;
		break;
	}
out:
	app_close(&app);
	free(raw);
	return rc;
}
