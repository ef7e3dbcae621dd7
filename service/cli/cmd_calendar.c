/*
 * cmd_calendar.c: `civicdesk calendar …`: checks calendar files and does working-day arithmetic
 * from the command line (check, due, is-workday, between, explain), and loads calendar files into
 * the database (load: the service's clocks are recomputed).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "service/core/core.h"
#include "service/http/http.h"
#include "service/api/api.h"
#include "cli.h"

#define EX_USAGE 64   /* bad command line */
#define EX_DATAERR 65 /* a date, number or zone that does not parse; a bad calendar file */
#define EX_NOINPUT 66 /* a file that cannot be read */
#define EX_SOFTWARE 70
#define EX_TEMPFAIL 75 /* the database is busy: try again */
#define ARGS_MAX 64   /* positional arguments after the subcommand */
#define DAYS_MAX 3660 /* largest --days */

enum opt {
	OPT_CALENDAR,
	OPT_TZ,
	OPT_FROM,
	OPT_DAYS,
	OPT_CALENDAR_DAYS,
	OPT_CONFIG,
	OPT_HELP,
	OPT__MAX
};

#define O(x) (1u << (x))
#define O_COMMON (O(OPT_CALENDAR) | O(OPT_TZ) | O(OPT_HELP))
#define O_CLOCK (O(OPT_FROM) | O(OPT_DAYS) | O(OPT_CALENDAR_DAYS))

static const struct option_row {
	const char *name; /* without the leading dashes */
	const char *arg;  /* the value it takes (--name V or --name=V), NULL for a flag */
	const char *help;
} options[OPT__MAX] = {
    [OPT_CALENDAR] = {"calendar", "DIR",
                      "calendar files (*.txt) instead of the built-in ones "
                      "(env CIVICDESK_CALENDAR_DIR)"},
    [OPT_TZ] = {"tz", "ZONE", "time zone, default Asia/Shanghai (env CIVICDESK_TZ)"},
    [OPT_FROM] = {"from", "WHEN",
                  "receipt: YYYY-MM-DD or YYYY-MM-DDTHH:MM (local), or with Z or +HH:MM"},
    [OPT_DAYS] = {"days", "N", "the limit, in working days (0..3660)"},
    [OPT_CALENDAR_DAYS] = {"calendar-days", NULL,
                           "count calendar days, rolled forward to a working day"},
    [OPT_CONFIG] = {"config", "FILE", "load: the service's configuration (env CIVICDESK_CONFIG)"},
    [OPT_HELP] = {"help", NULL, "this text"},
};

struct ctx {
	const char *opt[OPT__MAX]; /* option values; "" for a given flag, NULL when absent */
	const char *args[ARGS_MAX];
	int nargs;
	struct sla_calendar *cal;
};

struct subcommand {
	const char *name;
	int (*run)(struct ctx *c);
	const char *synopsis;
	const char *help;
	int min_args, max_args;
	unsigned opts; /* options it accepts */
};

static int run_check(struct ctx *c);
static int run_due(struct ctx *c);
static int run_is_workday(struct ctx *c);
static int run_between(struct ctx *c);
static int run_explain(struct ctx *c);
static int run_load(struct ctx *c);

static const struct subcommand subcommands[] = {
    {"check", run_check, "check [FILE...]", "validate calendar files, print the range covered", 0,
     ARGS_MAX - 1, O_COMMON},
    {"due", run_due, "due --from WHEN --days N", "print the due date (YYYY-MM-DD)", 0, 0,
     O_COMMON | O_CLOCK},
    {"is-workday", run_is_workday, "is-workday YYYY-MM-DD", "print work or off", 1, 1, O_COMMON},
    {"between", run_between, "between A B", "print the working days after A up to B", 2, 2,
     O_COMMON},
    {"explain", run_explain, "explain --from WHEN --days N",
     "print the due date, then the holidays and make-up days up to it", 0, 0, O_COMMON | O_CLOCK},
    {"load", run_load, "load FILE...",
     "store files in the database (each replaces its year), move the due times",
     1, ARGS_MAX - 1, O(OPT_CONFIG) | O(OPT_HELP)},
};

static void
usage(FILE *out)
{
	size_t i;

	fprintf(out, "usage: civicdesk calendar COMMAND [OPTIONS]\n\ncommands:\n");
	for (i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		fprintf(out, "  %-30s %s\n", subcommands[i].synopsis, subcommands[i].help);
	fprintf(out, "\noptions:\n");
	for (i = 0; i < OPT__MAX; i++) {
		char head[32];

		snprintf(head, sizeof(head), "--%s %s", options[i].name,
		         options[i].arg ? options[i].arg : "");
		fprintf(out, "  %-20s %s\n", head, options[i].help);
	}
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "civicdesk calendar: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr,
	        "\nusage: civicdesk calendar check|due|is-workday|between|explain|load [OPTIONS] "
	        "(--help lists them)\n");
	return EX_USAGE;
}

/* Reads the options (anywhere on the line) and the positional arguments. Returns 0 or an exit
 * status. */
static int
parse_args(int argc, char **argv, struct ctx *c)
{
	int i, dashdash = 0;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *eq;
		size_t len;
		int o;

		if (dashdash || a[0] != '-' || a[1] == '\0') {
			if (c->nargs == ARGS_MAX)
				return usage_error("too many arguments");
			c->args[c->nargs++] = a;
			continue;
		}
		if (strcmp(a, "--") == 0) {
			dashdash = 1;
			continue;
		}
		if (strcmp(a, "-h") == 0)
			a = "--help";
		if (a[1] != '-')
			return usage_error("unknown option %s", a);
		eq = strchr(a, '=');
		len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
		for (o = 0; o < OPT__MAX; o++)
			if (strlen(options[o].name) == len &&
			    strncmp(a + 2, options[o].name, len) == 0)
				break;
		if (o == OPT__MAX)
			return usage_error("unknown option %.*s", (int)len + 2, a);
		if (options[o].arg == NULL) {
			if (eq != NULL)
				return usage_error("--%s takes no value", options[o].name);
			c->opt[o] = "";
		} else if (eq != NULL) {
			c->opt[o] = eq + 1;
		} else if (i + 1 < argc) {
			c->opt[o] = argv[++i];
		} else {
			return usage_error("--%s needs a value", options[o].name);
		}
	}
	return 0;
}

static int
data_error(const char *what, const char *value, const char *expected)
{
	fprintf(stderr, "civicdesk calendar: bad %s \"%s\": expected %s\n", what, value, expected);
	return EX_DATAERR;
}

static int
get_date(const char *s, sla_day *day)
{
	if (sla_date_parse(s, day) != 0)
		return data_error("date", s, "YYYY-MM-DD, a real date");
	return 0;
}

/* Says on stderr when [a, b] reaches outside the calendar (due dates there are provisional). */
static void
note_coverage(const struct sla_calendar *cal, sla_day a, sla_day b)
{
	char first[11], last[11];
	sla_day f, l;

	if (sla_calendar_covers(cal, a, b))
		return;
	sla_calendar_range(cal, &f, &l);
	sla_date_format(f, first);
	sla_date_format(l, last);
	fprintf(stderr,
	        "civicdesk calendar: note: outside the calendar (%s..%s), days count on Monday to "
	        "Friday alone: provisional\n",
	        first, last);
}

static int
run_check(struct ctx *c)
{
	char first[11], last[11];
	sla_day a, b;

	sla_calendar_range(c->cal, &a, &b);
	sla_date_format(a, first);
	sla_date_format(b, last);
	printf("ok: %s..%s (%zu dates)\n", first, last,
	       sla_explain(c->cal, INT32_MIN, INT32_MAX, NULL, 0));
	return 0;
}

/* Computes the due date of --from and --days: writes the local date of receipt and the due. */
static int
clock_due(struct ctx *c, sla_day *from, sla_day *due)
{
	struct sla_rule rule = {SLA_WORKING_DAYS, 0, 1440};
	const char *s = c->opt[OPT_DAYS];
	char *end;
	long days;
	int64_t t;

	if (c->opt[OPT_FROM] == NULL || s == NULL)
		return usage_error("%s needs --from and --days", c->args[0]);
	if (sla_parse_local(c->opt[OPT_FROM], &t) != 0)
		return data_error("--from", c->opt[OPT_FROM],
		                  "YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS][Z|+HH:MM]");
	days = strtol(s, &end, 10);
	if (s[0] < '0' || s[0] > '9' || *end != '\0' || days > DAYS_MAX)
		return data_error("--days", s, "a number of days, 0..3660");
	rule.days = (int)days;
	if (c->opt[OPT_CALENDAR_DAYS] != NULL)
		rule.unit = SLA_CALENDAR_DAYS;
	*from = sla_local_day(t);
	*due = sla_local_day(sla_due(c->cal, t, &rule));
	/* dates are years 1900..9999: a later one has no YYYY-MM-DD form */
	if (*due > sla_ymd(9999, 12, 31))
		return data_error("--days", s, "a due date no later than 9999-12-31");
	note_coverage(c->cal, *from, *due);
	return 0;
}

static int
run_due(struct ctx *c)
{
	char buf[11];
	sla_day from, due;
	int rc = clock_due(c, &from, &due);

	if (rc != 0)
		return rc;
	sla_date_format(due, buf);
	printf("%s\n", buf);
	return 0;
}

static int
run_explain(struct ctx *c)
{
	struct sla_override *ov = NULL;
	char buf[11];
	sla_day from, due;
	size_t n, i;
	int rc = clock_due(c, &from, &due);

	if (rc != 0)
		return rc;
	sla_date_format(due, buf);
	printf("%s\n", buf);
	n = sla_explain(c->cal, from, due, NULL, 0);
	ov = calloc(n ? n : 1, sizeof(*ov));
	if (ov == NULL) {
		fprintf(stderr, "civicdesk calendar: out of memory\n");
		return 1;
	}
	n = sla_explain(c->cal, from, due, ov, n);
	for (i = 0; i < n; i++) {
		sla_date_format(ov[i].day, buf);
		printf("%s %s %s\n", buf, ov[i].kind == SLA_WORK ? "work" : "off", ov[i].name);
	}
	free(ov);
	return 0;
}

static int
run_is_workday(struct ctx *c)
{
	sla_day d;
	int rc = get_date(c->args[1], &d);

	if (rc != 0)
		return rc;
	note_coverage(c->cal, d, d);
	printf("%s\n", sla_is_working_day(c->cal, d) ? "work" : "off");
	return 0;
}

static int
run_between(struct ctx *c)
{
	sla_day a, b;
	int rc = get_date(c->args[1], &a);

	if (rc == 0)
		rc = get_date(c->args[2], &b);
	if (rc != 0)
		return rc;
	note_coverage(c->cal, a < b ? a : b, a < b ? b : a);
	printf("%d\n", sla_working_days_between(c->cal, a, b));
	return 0;
}

/* Loads the files into the database of the service (core_calendar_load): a file that does not
 * parse is named with its line (65) and nothing changes. */
static int
run_load(struct ctx *c)
{
	static const struct actor cli = {0, "cli", NULL};
	struct sla_file *files = NULL;
	const char *names[ARGS_MAX], *texts[ARGS_MAX];
	struct calendar_report rep;
	struct core_error err;
	struct app app;
	char msg[512];
	size_t n = (size_t)c->nargs - 1, i;
	int rc;

	for (i = 0; i < n; i++)
		if (access(c->args[i + 1], R_OK) != 0) {
			fprintf(stderr, "civicdesk calendar: %s: %s\n", c->args[i + 1],
			        strerror(errno));
			return EX_NOINPUT;
		}
	if (sla_files_read_paths(c->args + 1, n, &files, msg, sizeof(msg)) != 0) {
		fprintf(stderr, "civicdesk calendar: %s\n", msg);
		return EX_DATAERR;
	}
	for (i = 0; i < n; i++) {
		names[i] = files[i].name;
		texts[i] = files[i].text;
	}
	if (cli_db_exists(c->opt[OPT_CONFIG], "calendar") != 0) {
		sla_files_free(files, n);
		return EX_NOINPUT;
	}
	if (app_open(&app, c->opt[OPT_CONFIG], stderr) != 0) {
		sla_files_free(files, n);
		return EX_SOFTWARE;
	}
	if (core_calendar_load(&app, &cli, names, texts, n, app_now(&app), &rep, &err) != 0) {
		fprintf(stderr, "civicdesk calendar: %s\n", err.message);
		rc = err.code == CORE_INVALID ? EX_DATAERR
		     : err.code == CORE_BUSY  ? EX_TEMPFAIL
		                              : EX_SOFTWARE;
	} else {
		printf("loaded: calendar %s..%s; %zu due times moved on %zu items, %zu provisional "
		       "marks changed, %zu due times left as set\n",
		       rep.first, rep.last, rep.moved, rep.items, rep.confirmed, rep.left);
		rc = 0;
	}
	app_close(&app);
	sla_files_free(files, n);
	return rc;
}

/* Loads the calendar: check's FILEs, else --calendar, CIVICDESK_CALENDAR_DIR or the built-in one.
 * Prints the parser's "file:line: reason" alone on stderr for check. */
static int
load_calendar(struct ctx *c, int is_check)
{
	const char *dir = c->opt[OPT_CALENDAR];
	char err[512];
	int rc;

	if (dir == NULL)
		dir = getenv("CIVICDESK_CALENDAR_DIR");
	if (is_check && c->nargs > 1)
		rc = sla_calendar_load_files((const char *const *)c->args + 1, (size_t)c->nargs - 1,
		                             &c->cal, err, sizeof(err));
	else if (dir != NULL && dir[0] != '\0')
		rc = sla_calendar_load_dir(dir, &c->cal, err, sizeof(err));
	else
		rc = sla_calendar_builtin(&c->cal, err, sizeof(err));
	if (rc == 0)
		return 0;
	if (is_check)
		fprintf(stderr, "%s\n", err);
	else
		fprintf(stderr, "civicdesk calendar: %s\n", err);
	return 1;
}

int
cmd_calendar(int argc, char **argv)
{
	struct ctx c;
	const struct subcommand *sc = NULL;
	const char *tz;
	size_t i;
	int rc, o;

	memset(&c, 0, sizeof(c));
	rc = parse_args(argc, argv, &c);
	if (rc != 0)
		return rc;
	if (c.opt[OPT_HELP] != NULL) {
		usage(stdout);
		return 0;
	}
	if (c.nargs == 0)
		return usage_error("which command?");
	for (i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		if (strcmp(c.args[0], subcommands[i].name) == 0)
			sc = &subcommands[i];
	if (sc == NULL)
		return usage_error("unknown command \"%s\"", c.args[0]);
	if (c.nargs - 1 < sc->min_args || c.nargs - 1 > sc->max_args)
		return usage_error("%s: wrong number of arguments", sc->name);
	for (o = 0; o < OPT__MAX; o++)
		if (c.opt[o] != NULL && !(sc->opts & O(o)))
			return usage_error("%s does not take --%s", sc->name, options[o].name);
	if (sc->run == run_check && c.nargs > 1 && c.opt[OPT_CALENDAR] != NULL)
		return usage_error("check takes FILEs or --calendar, not both");
	if (sc->run == run_load) /* the service's own configuration, zone and database */
		return run_load(&c);

	tz = c.opt[OPT_TZ];
	if (tz == NULL)
		tz = getenv("CIVICDESK_TZ");
	if (tz == NULL || tz[0] == '\0')
		tz = "Asia/Shanghai";
	if (sla_set_zone(tz) != 0)
		return data_error("time zone", tz,
		                  "a zone of the system tzdata, e.g. Asia/Shanghai");
	rc = load_calendar(&c, sc->run == run_check);
	if (rc == 0)
		rc = sc->run(&c);
	sla_calendar_unref(c.cal);
	return rc;
}
