/*
 * config.c: civicdesk.conf and CIVICDESK_* environment variables. One table row per key (name,
 * type, default, help); the same table fills the defaults, reads the file, applies the
 * environment and prints the usage.
 *
 * Comments in the file: a line whose first non-blank is '#'; and, after a value with a syntax
 * (numbers, switches, durations, names from a list, addresses, URLs: every type but CFG_TEXT),
 * a '#' that follows a blank ends the value. In free text (CFG_TEXT: passwords, names, paths,
 * templates) a '#' is part of the value, so "pa#ss" works; a '#' there at the value's start or
 * after a blank could be either, and the file is refused, naming the key, line and the way to
 * give such a value (its environment variable, taken as written). The same for a string value
 * in quotes, which would keep its quotes; a key set twice; a line too long to read whole.
 */
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core_int.h"

enum cfg_type {
	CFG_STR,    /* char *, with a syntax (an address, a URL, a list): " #…" is a comment */
	CFG_TEXT,   /* char *, free text (passwords, names, paths, templates): '#' is data */
	CFG_LONG,   /* long, min..max of its row (0..2^40 unless said) */
	CFG_POLICY, /* a key of a struct policy, parsed by policy_set (policy.c) */
};

struct cfg_key {
	const char *name;
	enum cfg_type type;
	size_t offset;
	const char *def;
	const char *help;
	enum policy_key pkey; /* CFG_POLICY: which key of the struct policy at offset */
	long min, max;        /* CFG_LONG: the values accepted */
};

#define LONG_MAX_VALUE (1L << 40)
#define KEY(n, t, f, d, h) { n, t, offsetof(struct config, f), d, h, 0, 0, LONG_MAX_VALUE }
#define KEY_RANGE(n, f, d, lo, hi, h) { n, CFG_LONG, offsetof(struct config, f), d, h, 0, lo, hi }
#define PKEY(k, K, key, P, d, h)                                                                   \
	{ "policy." k "." key, CFG_POLICY, offsetof(struct config, policy[K]), d, h, P, 0, 0 }
#define POLICY_KEYS(k, K)                                                                          \
	PKEY(k, K, "forward_days", POLICY_FORWARD_DAYS, "3",                                       \
	     "days (" POLICY_DAYS_RANGE ") to forward a " k " to the section that answers it"),    \
	PKEY(k, K, "reply_days", POLICY_REPLY_DAYS, "5",                                           \
	     "days (" POLICY_DAYS_RANGE ") to reply to a " k),                                     \
	PKEY(k, K, "explain_days", POLICY_EXPLAIN_DAYS, "3",                                       \
	     "days (" POLICY_DAYS_RANGE ") from receipt to explain a delay to the citizen"),       \
	PKEY(k, K, "reply_extended_days", POLICY_REPLY_EXTENDED_DAYS, "15",                        \
	     "days (" POLICY_DAYS_RANGE ") to reply after an approved extension"),                 \
	PKEY(k, K, "unit", POLICY_UNIT, "working_days",                                            \
	     "working_days or calendar_days (rolled forward to a working day)"),                   \
	PKEY(k, K, "end_of_day", POLICY_END_OF_DAY, "24:00",                                       \
	     "time HH:MM a limit ends: 24:00, or close of business such as 17:30"),                \
	PKEY(k, K, "on_forward", POLICY_ON_FORWARD, "keep",                                        \
	     "keep the reply due time when forwarded, or restart it"),                             \
	PKEY(k, K, "on_supplement", POLICY_ON_SUPPLEMENT, "restart",                               \
	     "when the citizen's supplement arrives: restart the clocks, or resume them (pause)")

static const struct cfg_key keys[] = {
	KEY("db", CFG_TEXT, db, "var/civicdesk.db", "SQLite database file"),
	KEY("listen", CFG_STR, listen, "127.0.0.1:8080", "address and port to serve on"),
	KEY("calendar_dir", CFG_TEXT, calendar_dir, "",
	    "folder of holiday calendar files (empty: the built-in ones)"),
	KEY("web_dir", CFG_TEXT, web_dir, "",
	    "folder of the pages (templates/, static/, i18n/; empty: the built-in ones)"),
	KEY("tz", CFG_STR, tz, "Asia/Shanghai", "time zone of working-day arithmetic"),
	KEY("smtp_url", CFG_STR, smtp_url, "", "outgoing mail server, smtp://host:port"),
	KEY("smtp_from", CFG_TEXT, smtp_from, "civicdesk@localhost", "sender address of mail"),
	KEY("sms_url", CFG_STR, sms_url, "", "SMS gateway URL (HTTP POST)"),
	KEY("smtp_starttls", CFG_STR, smtp_starttls, "optional",
	    "STARTTLS with the mail server: off, optional (when offered) or required"),
	KEY("sms_quiet", CFG_STR, sms_quiet, "21:00-08:00 rest-days",
	    "hours when SMS wait (HH:MM-HH:MM, and/or rest-days: holidays and weekends of the "
	    "calendar); off sends at any time. E-mail never waits"),
	KEY_RANGE("scan_interval", scan_interval, "60", 1, 86400,
	          "seconds between scans of the running clocks for reminders and escalations"),
	KEY("digest", CFG_STR, digest, "mon 09:00",
	    "when each section's weekly digest of open items goes out (local weekday and time, "
	    "e.g. mon 09:00), or off"),
	KEY_RANGE("notify_backoff_min", notify_backoff_min, "60", 1, 86400,
	          "seconds before a failed notice is tried again; doubles at each attempt ..."),
	KEY_RANGE("notify_backoff_max", notify_backoff_max, "3600", 1, 86400,
	          "... up to this many seconds"),
	KEY_RANGE("notify_give_up", notify_give_up, "86400", 1, 2592000,
	          "seconds after which a notice that still fails is marked failed (shown to admins)"),
	KEY_RANGE("notify_poll_ms", notify_poll_ms, "1000", 10, 60000,
	          "milliseconds between the dispatcher's looks at the outbox when idle"),
	KEY_RANGE("sms_timeout_ms", sms_timeout_ms, "15000", 100, 600000,
	          "milliseconds a request to the SMS gateway may take in all"),
	KEY_RANGE("sms_connect_timeout_ms", sms_connect_timeout_ms, "5000", 100, 600000,
	          "milliseconds to connect to the SMS gateway"),
	KEY_RANGE("smtp_timeout", smtp_timeout, "60", 1, 3600,
	          "seconds the mail server may take for one step of the SMTP dialogue (1 to 3600)"),
	KEY("smtp_user", CFG_TEXT, smtp_user, "",
	    "user name for SMTP AUTH (PLAIN or LOGIN); empty: no AUTH"),
	KEY("smtp_password", CFG_TEXT, smtp_password, "", "password for SMTP AUTH"),
	KEY("sms_method", CFG_STR, sms_method, "POST",
	    "HTTP method of a request to the SMS gateway: POST, PUT or GET (GET sends the form "
	    "in the query string)"),
	KEY("sms_headers", CFG_TEXT, sms_headers, "",
	    "extra headers of a request to the SMS gateway, \"Name: value\", separated by \" | \""),
	KEY("sms_format", CFG_STR, sms_format, "json",
	    "json or form: how sms_body is filled in and sent (application/json or "
	    "application/x-www-form-urlencoded)"),
	KEY("sms_body", CFG_TEXT, sms_body, "",
	    "template of the gateway request with {phone} and {text}: a JSON object whose string "
	    "values hold them (json), or name={phone}&content={text} (form); empty: "
	    "{\"phone\":…,\"text\":…}"),
	KEY("sms_success", CFG_TEXT, sms_success, "",
	    "FIELD=VALUE that a 2xx JSON answer must hold for the SMS to count as accepted (e.g. "
	    "code=0, result.status=ok); other answers fail the notice; empty: any 2xx"),
	KEY_RANGE("sms_segment_chars", sms_segment_chars, "70", 1, 1000,
	          "characters of one SMS segment (70 for Chinese text)"),
	KEY_RANGE("sms_max_segments", sms_max_segments, "0", 0, 100,
	          "segments an SMS may take at most: longer texts are cut at a character "
	          "boundary; 0: no cut"),
	KEY_RANGE("sms_citizens", sms_citizens, "0", 0, 1,
	          "1: a citizen who gave a mobile number gets the notices by SMS too (never the "
	          "query code)"),
	KEY_RANGE("notify_combine_max", notify_combine_max, "20", 1, 100,
	          "notices for one recipient due at one moment that go out as one message (e-mail "
	          "or SMS; an SMS within its segments); 1: each alone"),
	KEY("public_url", CFG_STR, public_url, "",
	    "where citizens reach the pages, e.g. https://xinxiang.example.gov.cn, for links in "
	    "notices (empty: http://LISTEN)"),

	KEY("imap_url", CFG_STR, imap_url, "",
	    "mailbox to fetch citizen mail from, imap[s]://user:pass@host:port/INBOX"),
	KEY_RANGE("imap_interval", imap_interval, "60", 1, 86400,
	          "seconds between IMAP polls (1 to 86400)"),
	KEY("mail_kinds", CFG_STR, mail_kinds, "director=letter,complaint=complaint,ask=consultation",
	    "kind of mailed-in items by receiving address: ADDRESS=KIND, comma-separated; ADDRESS "
	    "is a local part (any domain) or a whole address; other mail is a letter"),
	KEY_RANGE("mail_ack_interval", mail_ack_interval, "86400", 0, 31L * 86400,
	          "seconds during which one e-mail sender gets at most one acknowledgement (0: "
	          "every letter is acknowledged); later letters are stored all the same"),
	KEY("submit_rate", CFG_LONG, submit_rate, "10",
	    "submissions per minute from one address (0: no limit)"),
	KEY("submit_rate_ranges", CFG_STR, submit_rate_ranges, "",
	    "submissions per minute from one address of some networks instead of submit_rate: "
	    "NETWORK=N, comma-separated, e.g. a NAT gateway's 10.8.0.0/16=600 (0: no limit); the "
	    "most specific network wins"),
	KEY_RANGE("max_body", max_body, "10485760", 4096, 1L << 32,
	          "largest request body in bytes, attachments included (4096 to 2^32)"),
	KEY_RANGE("max_json", max_json, "1048576", 4096, 1L << 32,
	          "largest request body in bytes that is not a form, i.e. JSON, which carries no "
	          "attachments (4096 to 2^32; max_body if that is smaller)"),
	KEY_RANGE("max_connections", max_connections, "512", 1, 65535,
	          "most HTTP connections served at once, 1 to 65535"),
	KEY_RANGE("max_connections_per_ip", max_connections_per_ip, "64", 1, 65535,
	          "most HTTP connections from one client address at once (behind a reverse proxy: "
	          "from the proxy, so raise it there), 1 to 65535"),
	KEY_RANGE("http_timeout", http_timeout, "30", 1, 3600,
	          "seconds a connection may stay silent (slow headers or body) before it is closed"),
	KEY_RANGE("db_connections", db_connections, "32", 2, 1024,
	          "most database connections open at once; requests wait up to 10 s for one, then "
	          "answer 503"),
	KEY("backup_dir", CFG_TEXT, backup_dir, "",
	    "folder for the daily backup serve makes (civicdesk-YYYY-MM-DD.db, at start and "
	    "after each local midnight; empty: none)"),
	KEY_RANGE("backup_keep", backup_keep, "14", 1, 3650,
	          "daily backups kept in backup_dir (older ones are deleted)"),
	KEY("session_idle", CFG_LONG, session_idle, "1800", "staff session idle timeout, seconds"),
	KEY("session_max", CFG_LONG, session_max, "43200", "staff session absolute timeout, seconds"),
	KEY_RANGE("lockout_failures", lockout_failures, "5", 0, 64,
	          "failed logins of an account name from one address that lock the name for that "
	          "address (0: no lockout; at most 64)"),
	KEY("lockout_window", CFG_LONG, lockout_window, "900",
	    "seconds in which those failures count"),
	KEY("lockout_duration", CFG_LONG, lockout_duration, "900", "seconds an account stays locked"),
	KEY("password_max_age_days", CFG_LONG, password_max_age_days, "90",
	    "days after which a password must be changed (0: never)"),
	KEY_RANGE("cookie_secure", cookie_secure, "0", 0, 1,
	          "1: mark the session cookie Secure (set it when served over TLS)"),
	KEY("trusted_proxies", CFG_STR, trusted_proxies, "",
	    "reverse proxies (numeric addresses, comma-separated) whose X-Forwarded-For header "
	    "names the client: rate limits and the audit log then see the citizen, not the proxy"),
	KEY("staff_networks", CFG_STR, staff_networks, "",
	    "networks staff may log in from: addresses or ADDRESS/BITS, comma-separated, such as "
	    "10.1.0.0/16, 2001:db8::/32 (empty: any); a login from elsewhere is refused and "
	    "audited with its address"),
	KEY_RANGE("login_throttle", login_throttle, "20", 0, 1000,
	          "failed logins from one address within lockout_window after which each next "
	          "attempt from it waits 1, 2, 4 … 300 s (429 with Retry-After; 0: off)"),
	KEY_RANGE("lockout_failures_any", lockout_failures_any, "50", 0, 10000,
	          "failed logins of one account name from any addresses within lockout_window "
	          "that lock it for every address (lockout_failures locks it for the failing "
	          "address only; 0: off)"),
	KEY("public_contacts", CFG_STR, public_contacts, "",
	    "the bureau's own published telephone numbers and e-mail addresses (comma-separated): "
	    "never masked in public versions"),
	KEY("public_rate", CFG_LONG, public_rate, "600",
	    "public reads (board, Open311 lists and requests) per minute from one address (0: no "
	    "limit)"),
	KEY_RANGE("read_cache", read_cache, "4096", 0, 1L << 20,
	          "KiB of Open311's, the board's and the queue's records, as encoded for their "
	          "answers, kept per I/O thread (one per CPU, at most 16) for the next answer that "
	          "lists them unchanged (0: off; every record is still read from the database and "
	          "served from here only when its row is unchanged)"),
	KEY_RANGE("receipt_max_age_days", receipt_max_age_days, "365", 1, 3660,
	          "how many days back the date of receipt staff enter for a letter or call may lie "
	          "(1 to 3660)"),
	KEY("attachment_types", CFG_STR, attachment_types, "pdf,png,jpeg,gif,webp,office,doc,txt",
	    "attachment types allowed, decided by content (magic bytes), never by name: pdf, png, "
	    "jpeg, gif, webp, office (docx, xlsx, …), doc (older Office), txt"),
	KEY_RANGE("attachment_max", attachment_max, "5242880", 1, 1L << 32,
	          "bytes of one attachment at most"),
	KEY_RANGE("attachment_item_max", attachment_item_max, "20971520", 1, 1L << 34,
	          "bytes of all attachments of one item at most"),
	KEY_RANGE("supplement_days", supplement_days, "15", 1, 366,
	          "working days a citizen has to send what was asked for; then the queue marks the "
	          "item (supplement_overdue) so that it can be closed or rejected (逾期未补正)"),
	KEY_RANGE("demo", demo, "1", 0, 1,
	          "1: a new database gets demo sections and one account per role"),
	KEY("stats_rank", CFG_STR, stats_rank, "on_time,satisfaction,volume",
	    "how sections are ranked: criteria in order, from on_time, satisfaction, volume, "
	    "completion, speed"),
	KEY_RANGE("rating_days", rating_days, "15", 1, 365,
	          "days after the reply in which the citizen may rate it (1 to 365)"),
	KEY_RANGE("audit_archive_days", audit_archive_days, "180", 180, 36500,
	          "audit records older than this many days (180 to 36500; the law asks for at "
	          "least 180 days kept) are moved to an archive file that audit verify checks too"),
	KEY("audit_archive_dir", CFG_TEXT, audit_archive_dir, "",
	    "folder of the audit archive files (empty: audit-archive beside the database)"),
	KEY("screen_words", CFG_TEXT, screen_words, "",
	    "prohibited words that flag a new item for the dispatcher (never dropped), "
	    "comma-separated; an entry re:PATTERN is a POSIX extended regular expression; "
	    "case-insensitive"),
	KEY("screen_file", CFG_TEXT, screen_file, "",
	    "a file of more such entries, one a line (# starts a comment; read at start)"),
	KEY("clamd_socket", CFG_TEXT, clamd_socket, "",
	    "clamd's socket for virus scans of attachments: a path (/run/clamav/clamd.ctl) or "
	    "host:port (empty: no scanning)"),
	KEY_RANGE("clamd_timeout_ms", clamd_timeout_ms, "30000", 100, 600000,
	          "milliseconds a scan may wait for clamd before the file is held for later"),
	KEY_RANGE("clamd_rescan", clamd_rescan, "60", 1, 60,
	          "seconds (1 to 60) between serve's scans of the attachments held while clamd was away"),
	KEY("totp_roles", CFG_STR, totp_roles, "admin,supervisor",
	    "roles whose accounts must log in with a second factor (TOTP, RFC 6238), "
	    "comma-separated, from handler, section_head, dispatcher, supervisor, admin (empty: "
	    "none; an account that enrolled always needs it)"),
	KEY_RANGE("totp_grace", totp_grace, "259200", 0, 90L * 86400,
	          "seconds after an account of a role in totp_roles was created during which it may "
	          "work without a second factor (reminded at each login); then it must enrol before "
	          "anything else (0: at once; at most 90 days)"),
	KEY("totp_issuer", CFG_TEXT, totp_issuer, "civicdesk",
	    "the issuer an authenticator app shows for the accounts' TOTP keys"),
	KEY("secret_key_file", CFG_TEXT, secret_key_file, "",
	    "the key file that seals the accounts' TOTP keys in the database (0600, made by the "
	    "first serve; back it up apart from the database; empty: civicdesk.key beside the "
	    "database)"),
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
parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* Sets key k from text value; returns 0 or -1 with the reason in err. */
static int
set_key(struct config *cfg, const struct cfg_key *k, const char *value, char *err, size_t errsize)
{
	char *field = (char *)cfg + k->offset;
	const char *why = k->help;
	long v;

	switch (k->type) {
	case CFG_STR:
	case CFG_TEXT: {
		char *copy = strdup(value);

		if (copy == NULL) {
			snprintf(err, errsize, "out of memory");
			return -1;
		}
		free(*(char **)field);
		*(char **)field = copy;
		return 0;
	}
	case CFG_LONG:
		if (parse_long(value, k->min, k->max, &v) != 0) {
			snprintf(err, errsize,
			         "%s: invalid value '%.64s%s': expected a whole number "
			         "from %ld to %ld (%s)",
			         k->name, value, strlen(value) > 64 ? "…" : "", k->min, k->max,
			         why);
			return -1;
		}
		*(long *)field = v;
		return 0;
	case CFG_POLICY:
		/* the same parser as the admin API's, so that both accept the same values */
		if (policy_set((struct policy *)field, k->pkey, value, &why) != 0)
			break;
		return 0;
	}
	snprintf(err, errsize, "%s: invalid value '%.64s%s' (expected: %s)", k->name, value,
	         strlen(value) > 64 ? "…" : "", why);
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

/* The value of a file's line for key k, in place: for a value with a syntax, cut at a '#' that
 * starts it or follows a blank (a comment), trimmed. Returns NULL, with the reason in err (never
 * the value itself, which may be a password), for a free-text value that could be read two
 * ways (a '#' at its start or after a blank) and for a string value wholly in quotes. */
static char *
file_value(const struct cfg_key *k, char *value, char *err, size_t errsize)
{
	char env[128];
	size_t i, len = strlen(value);

	for (i = 0; i < len; i++) {
		if (value[i] != '#' || (i > 0 && value[i - 1] != ' ' && value[i - 1] != '\t'))
			continue;
		if (k->type != CFG_TEXT) {
			value[i] = '\0';
			value = trim(value);
			len = strlen(value);
			break;
		}
		env_name(k, env, sizeof(env));
		snprintf(err, errsize,
		         "%s: a '#' %s the value: a comment, or part of it? In free text such as %s "
		         "a '#' belongs to the value (pa#ss works), so put a comment on a line of "
		         "its own; a value that holds a '#' %s goes in the environment variable %s, "
		         "taken as written",
		         k->name, i == 0 ? "begins" : "after a blank in", k->name,
		         i == 0 ? "at its start" : "after a blank", env);
		return NULL;
	}
	if ((k->type == CFG_TEXT || k->type == CFG_STR) && len >= 2 &&
	    ((value[0] == '"' && value[len - 1] == '"') ||
	     (value[0] == '\'' && value[len - 1] == '\''))) {
		env_name(k, env, sizeof(env));
		snprintf(err, errsize,
		         "%s: the value is in quotes, which civicdesk would keep as part of it "
		         "(values are taken as written): write it without them; a value whose "
		         "quotes are its own goes in the environment variable %s, taken as written",
		         k->name, env);
		return NULL;
	}
	return value;
}

/* Strips the UTF-8 byte order mark an editor may write at the start of a file. */
static char *
skip_bom(char *s)
{
	return strncmp(s, "\xEF\xBB\xBF", 3) == 0 ? s + 3 : s;
}

static int
read_file(struct config *cfg, const char *path, FILE *f, char *err, size_t errsize)
{
	char line[4096], msg[1024];
	int lineno = 0, seen[NKEYS] = {0};

	while (fgets(line, sizeof(line), f) != NULL) {
		char *s, *eq, *name, *value;
		const struct cfg_key *k;

		lineno++;
		if (strchr(line, '\n') == NULL && !feof(f)) {
			/* read on, it would be taken as a line of its own */
			snprintf(err, errsize, "%s:%d: the line is longer than %zu bytes", path,
			         lineno, sizeof(line) - 2);
			return -1;
		}
		s = trim(lineno == 1 ? skip_bom(line) : line);
		if (*s == '\0' || *s == '#')
			continue;
		eq = strchr(s, '=');
		if (eq == NULL) {
			snprintf(err, errsize, "%s:%d: expected 'key = value'", path, lineno);
			return -1;
		}
		*eq = '\0';
		name = trim(s);
		k = find_key(name);
		if (k == NULL) {
			snprintf(err, errsize, "%s:%d: unknown key '%s'", path, lineno, name);
			return -1;
		}
		if (seen[k - keys] != 0) {
			snprintf(err, errsize,
			         "%s:%d: %s is set again (first on line %d): which one is "
			         "meant? Keep one",
			         path, lineno, k->name, seen[k - keys]);
			return -1;
		}
		seen[k - keys] = lineno;
		value = file_value(k, trim(eq + 1), msg, sizeof(msg));
		if (value == NULL || set_key(cfg, k, value, msg, sizeof(msg)) != 0) {
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

/* Checks a list of role names (totp_roles): 0, or -1 naming the unknown one in err. */
static int
roles_check(const char *list, char *err, size_t errsize)
{
	char name[32];
	const char *p = list;
	size_t n;

	while (*p != '\0') {
		while (*p == ',' || isspace((unsigned char)*p))
			p++;
		n = 0;
		while (p[n] != '\0' && p[n] != ',' && !isspace((unsigned char)p[n]))
			n++;
		if (n == 0)
			break;
		snprintf(name, sizeof(name), "%.*s", (int)n, p);
		if (n >= sizeof(name) || role_parse(name) < 0) {
			snprintf(err, errsize, "totp_roles: unknown role '%.*s' (handler, section_head, "
			         "dispatcher, supervisor, admin)", (int)(n > 40 ? 40 : n), p);
			return -1;
		}
		p += n;
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
	if (roles_check(cfg->totp_roles, err, errsize) != 0 ||
	    screen_list_build(cfg->screen_words, cfg->screen_file, &cfg->screen_list, err,
	                      errsize) != 0)
		goto fail;
	for (i = 0; i < KIND__MAX; i++) {
		const struct policy *p = &cfg->policy[i];
		const char *bad, *why = policy_inconsistent(p, &bad);

		if (why != NULL) {
			snprintf(err, errsize, "policy.%s.%s: %s", kind_name((enum kind)i), bad, why);
			goto fail;
		}

		if (p->reply_extended_days < p->reply.days) {
			snprintf(err, errsize,
			         "policy.%s.reply_extended_days (%d) must be at least "
			         "policy.%s.reply_days (%d): an approved extension never shortens the "
			         "time to reply",
			         kind_name((enum kind)i), p->reply_extended_days, kind_name((enum kind)i),
			         p->reply.days);
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

	screen_list_free(cfg->screen_list);
	cfg->screen_list = NULL;
	for (i = 0; i < NKEYS; i++) {
		if (keys[i].type == CFG_STR || keys[i].type == CFG_TEXT) {
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

	fprintf(out,
	        "Configuration keys (civicdesk.conf, 'key = value'; the environment "
	        "variable overrides the file):\n"
	        "A line that starts with # is a comment. After a value, ' # …' is a comment too, "
	        "except in free text (keys marked [text]: passwords, names, paths, templates), "
	        "where '#' is part of the value and a '#' at its start or after a blank is "
	        "refused (put such a value in the environment variable, taken as written).\n");
	for (i = 0; i < NKEYS; i++) {
		env_name(&keys[i], env, sizeof(env));
		fprintf(out, "  %-36s %-44s default '%s'%s\n      %s\n", keys[i].name, env,
		        keys[i].def, keys[i].type == CFG_TEXT ? " [text]" : "", keys[i].help);
	}
}
