/*
 * config.c: civicdesk.conf and CIVICDESK_* environment variables. One table row per key (name,
 * type, default, help); the same table fills the defaults, reads the file, applies the
 * environment and prints the usage.
 */
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service.h"

enum cfg_type {
	CFG_STR,       /* char * */
	CFG_LONG,      /* long, >= 0 */
	CFG_DAYS,      /* int days of an sla_rule or reply_extended_days, 0..366 */
	CFG_UNIT,      /* struct policy: unit of its three clocks */
	CFG_EOD,       /* struct policy: end of day "HH:MM" of its three clocks */
	CFG_ONFORWARD, /* enum on_forward */
	CFG_ONSUPPL,   /* enum on_supplement */
};

struct cfg_key {
	const char *name;
	enum cfg_type type;
	size_t offset;
	const char *def;
	const char *help;
};

#define KEY(n, t, f, d, h) { n, t, offsetof(struct config, f), d, h }
#define POLICY_KEYS(k, K)                                                                          \
	KEY("policy." k ".forward_days", CFG_DAYS, policy[K].forward.days, "3",                    \
	    "working days to forward a " k " to the section that answers it"),                     \
	KEY("policy." k ".reply_days", CFG_DAYS, policy[K].reply.days, "5",                        \
	    "working days to reply to a " k),                                                      \
	KEY("policy." k ".explain_days", CFG_DAYS, policy[K].explain.days, "3",                    \
	    "working days from receipt to explain a delay to the citizen"),                        \
	KEY("policy." k ".reply_extended_days", CFG_DAYS, policy[K].reply_extended_days, "15",     \
	    "working days to reply after an approved extension"),                                  \
	KEY("policy." k ".unit", CFG_UNIT, policy[K], "working_days",                              \
	    "working_days or calendar_days (rolled forward to a working day)"),                    \
	KEY("policy." k ".end_of_day", CFG_EOD, policy[K], "24:00",                                \
	    "time of day a limit ends: 24:00 or close of business such as 17:30"),                 \
	KEY("policy." k ".on_forward", CFG_ONFORWARD, policy[K].on_forward, "keep",                \
	    "keep the reply due time when forwarded, or restart it"),                              \
	KEY("policy." k ".on_supplement", CFG_ONSUPPL, policy[K].on_supplement, "restart",         \
	    "when the citizen's supplement arrives: restart the clocks, or resume them (pause)")

static const struct cfg_key keys[] = {
	KEY("db", CFG_STR, db, "var/civicdesk.db", "SQLite database file"),
	KEY("listen", CFG_STR, listen, "127.0.0.1:8080", "address and port to serve on"),
	KEY("calendar_dir", CFG_STR, calendar_dir, "",
	    "folder of holiday calendar files (empty: the built-in ones)"),
	KEY("tz", CFG_STR, tz, "Asia/Shanghai", "time zone of working-day arithmetic"),
	KEY("smtp_url", CFG_STR, smtp_url, "", "outgoing mail server, smtp://host:port"),
	KEY("smtp_from", CFG_STR, smtp_from, "civicdesk@localhost", "sender address of mail"),
	KEY("sms_url", CFG_STR, sms_url, "", "SMS gateway URL (HTTP POST)"),
	KEY("imap_url", CFG_STR, imap_url, "", "mailbox to fetch citizen mail from"),
	KEY("submit_rate", CFG_LONG, submit_rate, "10",
	    "submissions per minute from one address (0: no limit)"),
	KEY("max_body", CFG_LONG, max_body, "10485760",
	    "largest request body in bytes, attachments included"),
	KEY("max_connections", CFG_LONG, max_connections, "512", "most HTTP connections served at once (one thread each)"),
	KEY("session_idle", CFG_LONG, session_idle, "1800", "staff session idle timeout, seconds"),
	KEY("session_max", CFG_LONG, session_max, "43200", "staff session absolute timeout, seconds"),
	KEY("lockout_failures", CFG_LONG, lockout_failures, "5",
	    "failed logins that lock an account name"),
	KEY("lockout_window", CFG_LONG, lockout_window, "900",
	    "seconds in which those failures count"),
	KEY("lockout_duration", CFG_LONG, lockout_duration, "900", "seconds an account stays locked"),
	KEY("password_max_age_days", CFG_LONG, password_max_age_days, "90",
	    "days after which a password must be changed (0: never)"),
	KEY("cookie_secure", CFG_LONG, cookie_secure, "0",
	    "1: mark the session cookie Secure (set it when served over TLS)"),
	KEY("demo", CFG_LONG, demo, "1",
	    "1: a new database gets demo sections and one account per role"),
	POLICY_KEYS("letter", KIND_LETTER),
	POLICY_KEYS("complaint", KIND_COMPLAINT),
	POLICY_KEYS("consultation", KIND_CONSULTATION),
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static void
env_name(const struct cfg_key *k, char *buf, size_t size)
{
	size_t i, n = (size_t)snprintf(buf, size, "CIVICDESK_");

	for (i = 0; k->name[i] != '\0' && n + 1 < size; i++, n++)
		buf[n] = k->name[i] == '.' ? '_' : (char)toupper((unsigned char)k->name[i]);
	buf[n] = '\0';
}

static int
parse_long(const char *s, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 0 || v > max)
		return -1;
	*out = v;
	return 0;
}

/* Sets key k from text value; returns 0 or -1 with the reason in err. */
static int
set_key(struct config *cfg, const struct cfg_key *k, const char *value, char *err, size_t errsize)
{
	char *field = (char *)cfg + k->offset;
	struct policy *p = (struct policy *)field;
	long v;
	int h, m;
	char tail;

	switch (k->type) {
	case CFG_STR: {
		char *copy = strdup(value);

		if (copy == NULL)
			goto nomem;
		free(*(char **)field);
		*(char **)field = copy;
		return 0;
	}
	case CFG_LONG:
		if (parse_long(value, 1L << 40, &v) != 0)
			goto bad;
		*(long *)field = v;
		return 0;
	case CFG_DAYS:
		if (parse_long(value, 366, &v) != 0)
			goto bad;
		*(int *)field = (int)v;
		return 0;
	case CFG_UNIT:
		if (strcmp(value, "working_days") == 0)
			p->forward.unit = SLA_WORKING_DAYS;
		else if (strcmp(value, "calendar_days") == 0)
			p->forward.unit = SLA_CALENDAR_DAYS;
		else
			goto bad;
		p->reply.unit = p->explain.unit = p->forward.unit;
		return 0;
	case CFG_EOD:
		if (sscanf(value, "%2d:%2d%c", &h, &m, &tail) != 2 || h < 0 || m < 0 || m > 59 ||
		    h * 60 + m > 1440 || h * 60 + m == 0)
			goto bad;
		p->forward.end_minutes = p->reply.end_minutes = p->explain.end_minutes = h * 60 + m;
		return 0;
	case CFG_ONFORWARD:
		if (strcmp(value, "keep") == 0)
			*(enum on_forward *)field = ON_FORWARD_KEEP;
		else if (strcmp(value, "restart") == 0)
			*(enum on_forward *)field = ON_FORWARD_RESTART;
		else
			goto bad;
		return 0;
	case CFG_ONSUPPL:
		if (strcmp(value, "restart") == 0)
			*(enum on_supplement *)field = ON_SUPPLEMENT_RESTART;
		else if (strcmp(value, "pause") == 0)
			*(enum on_supplement *)field = ON_SUPPLEMENT_PAUSE;
		else
			goto bad;
		return 0;
	}
bad:
	snprintf(err, errsize, "%s: invalid value '%s' (%s)", k->name, value, k->help);
	return -1;
nomem:
	snprintf(err, errsize, "out of memory");
	return -1;
}

static const struct cfg_key *
find_key(const char *name)
{
	size_t i;

	for (i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

static char *
trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

static int
read_file(struct config *cfg, const char *path, FILE *f, char *err, size_t errsize)
{
	char line[4096], msg[512];
	int lineno = 0;

	while (fgets(line, sizeof(line), f) != NULL) {
		char *s, *eq, *name, *value;
		const struct cfg_key *k;

		lineno++;
		s = trim(line);
		if (*s == '\0' || *s == '#')
			continue;
		eq = strchr(s, '=');
		if (eq == NULL) {
			snprintf(err, errsize, "%s:%d: expected 'key = value'", path, lineno);
			return -1;
		}
		*eq = '\0';
		name = trim(s);
		value = trim(eq + 1);
		k = find_key(name);
		if (k == NULL) {
			snprintf(err, errsize, "%s:%d: unknown key '%s'", path, lineno, name);
			return -1;
		}
		if (set_key(cfg, k, value, msg, sizeof(msg)) != 0) {
			snprintf(err, errsize, "%s:%d: %s", path, lineno, msg);
			return -1;
		}
	}
	if (ferror(f)) {
		snprintf(err, errsize, "%s: read error", path);
		return -1;
	}
	return 0;
}

int
config_load(struct config *cfg, const char *path, int explicit_path, char *err, size_t errsize)
{
	size_t i;
	char env[128], msg[512];
	FILE *f;

	memset(cfg, 0, sizeof(*cfg));
	for (i = 0; i < NKEYS; i++)
		if (set_key(cfg, &keys[i], keys[i].def, err, errsize) != 0)
			goto fail;
	if (path != NULL) {
		f = fopen(path, "r");
		if (f == NULL && explicit_path) {
			snprintf(err, errsize, "%s: cannot open: %s", path, strerror(errno));
			goto fail;
		}
		if (f != NULL) {
			int rc = read_file(cfg, path, f, err, errsize);

			fclose(f);
			if (rc != 0)
				goto fail;
		}
	}
	for (i = 0; i < NKEYS; i++) {
		const char *v;

		env_name(&keys[i], env, sizeof(env));
		v = getenv(env);
		if (v == NULL)
			continue;
		if (set_key(cfg, &keys[i], v, msg, sizeof(msg)) != 0) {
			snprintf(err, errsize, "environment %s: %s", env, msg);
			goto fail;
		}
	}
	return 0;
fail:
	config_free(cfg);
	return -1;
}

void
config_free(struct config *cfg)
{
	size_t i;

	for (i = 0; i < NKEYS; i++) {
		if (keys[i].type == CFG_STR) {
			char **field = (char **)((char *)cfg + keys[i].offset);

			free(*field);
			*field = NULL;
		}
	}
}

void
config_usage(FILE *out)
{
	size_t i;
	char env[128];

	fprintf(out, "Configuration keys (civicdesk.conf, 'key = value'; the environment "
	             "variable overrides the file):\n");
	for (i = 0; i < NKEYS; i++) {
		env_name(&keys[i], env, sizeof(env));
		fprintf(out, "  %-36s %-44s default '%s'\n      %s\n", keys[i].name, env,
		        keys[i].def, keys[i].help);
	}
}
