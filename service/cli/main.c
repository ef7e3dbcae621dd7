/* main.c: the civicdesk command line: dispatches to the subcommands. */
#include <stdio.h>
#include <string.h>

#include "service/core/core.h"
#include "service/http/http.h"
#include "service/api/api.h"
#include "cli.h"

static const struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *help;
} commands[] = {
	{ "serve", cmd_serve, "run the HTTP service" },
	{ "calendar", cmd_calendar,
	  "check|due|is-workday|between|explain|load: the working-day calendar" },
	{ "user", cmd_user, "add|list|…: staff accounts" },
	{ "stats", cmd_stats, "--period P [--csv]: statistics and ranking of the sections" },
	{ "backup", cmd_backup, "FILE: copy the database (also while serve runs)" },
	{ "restore", cmd_restore, "FILE: put a backup back (serve stopped)" },
	{ "audit", cmd_audit, "verify [FILE] | archive: check or archive the audit chain" },
	{ "ingest-mail", cmd_ingest_mail, "store one e-mail message read on stdin (for an MTA)" },
};

static void
usage(FILE *out)
{
	size_t i;

	fprintf(out, "usage: civicdesk COMMAND [ARGS]\n\ncommands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-11s %s\n", commands[i].name, commands[i].help);
	fprintf(out, "\ncivicdesk COMMAND --help: the command's own usage; civicdesk --version\n");
}

int
main(int argc, char *argv[])
{
	size_t i;

	if (argc >= 2 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0)) {
		printf("civicdesk %s\n", CIVICDESK_VERSION);
		return 0;
	}
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	                  strcmp(argv[1], "help") == 0)) {
		usage(stdout); /* asked for: on stdout, exit 0 */
		return 0;
	}
	for (i = 0; argc >= 2 && i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	if (argc >= 2)
		fprintf(stderr, "civicdesk: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 64;
}
