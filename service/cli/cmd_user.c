/*
 * cmd_user.c: civicdesk user … — staff accounts from the command line, for operators and
 * scripts. Exit codes from sysexits: 0 done, 64 usage (unknown command, option or role),
 * 65 refused data (weak password, unknown section or account, name taken), 66 no database
 * (only add creates one), 70 internal error.
 * Every change is audited with actor "cli".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "service/core/core.h"
#include "service/http/http.h"
#include "service/api/api.h"
#include "notifiers/notifiers.h"
#include "cli.h"

#define EX_OK 0
#define EX_USAGE 64
#define EX_DATAERR 65
#define EX_NOINPUT 66
#define EX_SOFTWARE 70

static const struct actor cli = {0, "cli", NULL};

static void
usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: civicdesk user COMMAND [--config FILE] …\n"
	    "  add NAME --role ROLE [--section NAME] [--email ADDR] [--phone NUMBER]\n"
	    "      [--password-stdin]\n"
	    "                          create an account (without --password-stdin: a one-time\n"
	    "                          password is printed, to be changed at first login)\n"
	    "  list                    list the accounts\n"
	    "  set-role NAME ROLE [--section NAME]\n"
	    "  suspend NAME | reactivate NAME | revoke NAME\n"
	    "  reset-password NAME     print a new one-time password\n"
	    "  totp-reset NAME         remove the second factor (TOTP) of a lost phone\n"
	    "  passwd NAME --password-stdin\n"
	    "roles: handler, section_head, dispatcher, supervisor, admin\n");
}

/* 1 if the configured database is not there yet (user add will create it), 0 if it is, -1
 * when the configuration cannot be read (said on stderr). */
static int
db_fresh(const char *config)
{
	struct config cfg;
	int fresh;

	if (cli_config(&cfg, config, "user") != 0)
		return -1;
	fresh = access(cfg.db, F_OK) != 0;
	config_free(&cfg);
	return fresh;
}

/* What is wrong with the shape of `civicdesk user CMD …` (NAME, a second argument, --role,
 * --password-stdin), or NULL when nothing is. */
static const char *
shape_error(const char *cmd, const char *name, const char *arg2, const char *role,
            int from_stdin)
{
	if (strcmp(cmd, "list") == 0)
		return name != NULL ? "takes no NAME" : NULL;
	if (strcmp(cmd, "set-role") == 0)
		return name == NULL || arg2 == NULL ? "needs NAME and ROLE" : NULL;
	if (strcmp(cmd, "add") == 0)
		return name == NULL   ? "needs NAME"
		       : arg2 != NULL ? "takes one NAME"
		       : role == NULL ? "needs --role ROLE"
		                      : NULL;
	if (strcmp(cmd, "passwd") == 0)
		return name == NULL || arg2 != NULL ? "needs one NAME"
		       : !from_stdin                ? "reads the password from stdin: --password-stdin"
		                                    : NULL;
	if (strcmp(cmd, "suspend") == 0 || strcmp(cmd, "reactivate") == 0 ||
	    strcmp(cmd, "revoke") == 0 || strcmp(cmd, "reset-password") == 0 ||
	    strcmp(cmd, "totp-reset") == 0)
		return name == NULL || arg2 != NULL ? "needs one NAME" : NULL;
	return "unknown command";
}

/* Reads the first line of stdin (without its line end) into buf. 0, or -1 with a message. */
static int
read_password(char *buf, size_t size)
{
	size_t len;

	if (fgets(buf, (int)size, stdin) == NULL) {
		fprintf(stderr, "civicdesk user: no password on standard input\n");
		return -1;
	}
	len = strlen(buf);
	if (len > 0 && buf[len - 1] == '\n')
		buf[--len] = '\0';
	else if (!feof(stdin)) {
		fprintf(stderr, "civicdesk user: the password is longer than %d bytes\n",
		        AUTH_PASSWORD_MAX);
		return -1;
	}
	if (len > 0 && buf[len - 1] == '\r')
		buf[--len] = '\0';
	if (len == 0) {
		fprintf(stderr, "civicdesk user: the password is empty\n");
		return -1;
	}
	return 0;
}

/* The exit status for an account error, after printing its message. */
static int
report(enum acct_err e, const struct acct_error *err)
{
	if (e == ACCT_OK)
		return EX_OK;
	fprintf(stderr, "civicdesk user: %s\n", err->message);
	/* a bad role, or a handler or section head without --section: the command line is wrong */
	if (e == ACCT_INVALID && err->field != NULL &&
	    (strcmp(err->field, "role") == 0 || strcmp(err->field, "section") == 0))
		return EX_USAGE;
	return e == ACCT_ERROR ? EX_SOFTWARE : EX_DATAERR;
}

static int
user_list(struct db_conn *c)
{
	struct db_account *v = NULL;
	struct db_section s;
	size_t n = 0, i;

	if (db_account_list(c, &v, &n) != 0) {
		fprintf(stderr, "civicdesk user: cannot read the accounts: %s\n", db_errmsg(c));
		return EX_SOFTWARE;
	}
	for (i = 0; i < n; i++) {
		int has = v[i].section_id != 0 && db_section_get(c, v[i].section_id, &s) > 0;

		printf("%s\t%s\t%s\t%s%s\n", v[i].username, role_name(v[i].role), has ? s.name : "-",
		       v[i].status, v[i].must_change ? "\tmust-change" : "");
		if (has)
			db_section_free(&s);
	}
	db_accounts_free(v, n);
	return EX_OK;
}

/* Whether argv[*i] is option opt with a value, as "--opt VALUE" (then *i moves past the value)
 * or "--opt=VALUE" (as getopt_long takes both); writes the value to *out. */
static int
opt_value(int argc, char **argv, int *i, const char *opt, const char **out)
{
	size_t n = strlen(opt);

	if (strncmp(argv[*i], opt, n) != 0)
		return 0;
	if (argv[*i][n] == '=') {
		*out = argv[*i] + n + 1;
		return 1;
	}
	if (argv[*i][n] != '\0' || *i + 1 >= argc)
		return 0;
	*i += 1;
	*out = argv[*i];
	return 1;
}

int
cmd_user(int argc, char **argv)
{
	struct app app;
	struct db_conn *c = NULL;
	struct account_spec spec;
	struct account_change ch;
	struct acct_error err;
	const char *cmd, *name = NULL, *role = NULL, *section = NULL, *config = NULL, *arg2 = NULL;
	const char *email = NULL, *phone = NULL, *why;
	char pw[AUTH_PASSWORD_MAX + 2], otp[AUTH_OTP_SIZE];
	int i, from_stdin = 0, rc = EX_USAGE, opened = 0, fresh = 0;
	enum acct_err e;

	if (cli_help(argc, argv)) {
		usage(stdout);
		return EX_OK;
	}
	if (argc < 2) {
		fprintf(stderr, "civicdesk user: which command?\n");
		usage(stderr);
		return EX_USAGE;
	}
	cmd = argv[1];
	for (i = 2; i < argc; i++) {
		if (opt_value(argc, argv, &i, "--role", &role) ||
		    opt_value(argc, argv, &i, "--section", &section) ||
		    opt_value(argc, argv, &i, "--config", &config) ||
		    opt_value(argc, argv, &i, "--email", &email) ||
		    opt_value(argc, argv, &i, "--phone", &phone))
			continue;
		if (strcmp(argv[i], "--password-stdin") == 0)
			from_stdin = 1;
		else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			fprintf(stderr, "civicdesk user: unknown option or missing value: %s\n",
			        argv[i]);
			usage(stderr);
			return EX_USAGE;
		} else if (name == NULL)
			name = argv[i];
		else if (arg2 == NULL)
			arg2 = argv[i];
		else {
			fprintf(stderr, "civicdesk user: unexpected %s\n", argv[i]);
			usage(stderr);
			return EX_USAGE;
		}
	}
	/* Check the shape of the command before touching the database. */
	why = shape_error(cmd, name, arg2, role, from_stdin);
	if (why == NULL && (email != NULL || phone != NULL) && strcmp(cmd, "add") != 0)
		why = "--email and --phone go with add only";
	if (why != NULL) {
		fprintf(stderr, "civicdesk user %s: %s\n", cmd, why);
		usage(stderr);
		return EX_USAGE;
	}
	if (strcmp(cmd, "set-role") == 0)
		role = arg2;
	if (role != NULL && role_parse(role) < 0) {
		fprintf(stderr,
		        "civicdesk user: unknown role '%s' (handler, section_head, dispatcher, "
		        "supervisor, admin)\n",
		        role);
		return EX_USAGE;
	}
	if (from_stdin && read_password(pw, sizeof(pw)) != 0)
		return EX_DATAERR;

	/* only add may make the database (accounts before the first start); another command on
	 * a database that is not there was run without the service's configuration */
	if (strcmp(cmd, "add") != 0 && cli_db_exists(config, "user") != 0)
		return EX_NOINPUT;
	if (strcmp(cmd, "add") == 0 && (fresh = db_fresh(config)) < 0)
		return EX_DATAERR;
	if (app_open(&app, config, stderr) != 0)
		return EX_SOFTWARE;
	opened = 1;
	if (fresh)
		fprintf(stderr, "civicdesk user: the database %s did not exist: created it (civicdesk "
		                "serve must be started with the same configuration to use it)\n",
		        app.cfg.db);
	notify_attach(&app); /* a supervisor added or reactivated: today's escalations reach them */
	c = db_acquire(app.db);
	if (c == NULL) {
		rc = EX_SOFTWARE;
		goto out;
	}
	memset(&err, 0, sizeof(err));
	memset(&ch, 0, sizeof(ch));
	if (strcmp(cmd, "list") == 0) {
		rc = user_list(c);
	} else if (strcmp(cmd, "add") == 0) {
		memset(&spec, 0, sizeof(spec));
		spec.username = name;
		spec.role = role;
		spec.section = section;
		spec.email = email;
		spec.phone = phone;
		e = account_create(&app, c, &cli, &spec, from_stdin ? pw : NULL, otp, &err);
		rc = report(e, &err);
		if (rc == EX_OK && from_stdin)
			printf("created %s (%s)\n", name, role);
		else if (rc == EX_OK)
			printf("created %s (%s) one-time password: %s\n", name, role, otp);
	} else if (strcmp(cmd, "totp-reset") == 0) {
		struct core_error cerr;

		if (core_totp_reset(&app, c, &cli, name, app_now(&app), &cerr) != 0) {
			fprintf(stderr, "civicdesk user: %s\n", cerr.message);
			rc = cerr.code == CORE_NOT_FOUND ? EX_DATAERR : EX_SOFTWARE;
		} else {
			printf("%s: second factor removed; enrol again at the next login\n", name);
			rc = EX_OK;
		}
	} else if (strcmp(cmd, "passwd") == 0) {
		e = account_set_password(&app, c, &cli, name, pw, 0, NULL, &err);
		rc = report(e, &err);
		if (rc == EX_OK)
			printf("password set for %s\n", name);
	} else {
		if (strcmp(cmd, "set-role") == 0) {
			ch.role = role;
			ch.set_section = section != NULL;
			ch.section = section;
		} else if (strcmp(cmd, "suspend") == 0)
			ch.status = "suspended";
		else if (strcmp(cmd, "reactivate") == 0)
			ch.status = "active";
		else if (strcmp(cmd, "revoke") == 0)
			ch.status = "revoked";
		else
			ch.reset_password = 1;
		e = account_change(&app, c, &cli, name, &ch, otp, &err);
		rc = report(e, &err);
		if (rc == EX_OK && ch.reset_password)
			printf("%s one-time password: %s\n", name, otp);
		else if (rc == EX_OK)
			printf("%s: %s done\n", name, cmd);
	}
out:
	sodium_memzero(pw, sizeof(pw));
	sodium_memzero(otp, sizeof(otp));
	if (c != NULL)
		db_release(app.db, c);
	if (opened)
		app_close(&app);
	return rc;
}
