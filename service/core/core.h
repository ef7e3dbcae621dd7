/*
 * core.h: the domain core of civicdesk — what every way in (the JSON and Open311 API, the pages,
 * mail-in, the command line, the notifiers and the scheduler) may call. It knows no HTTP: items
 * change here, each change in one transaction with its history, audit and outbox rows.
 *
 * One struct app is created by a command (cli/) and passed down. Sections below are grouped by
 * the file that implements them. Includes only db/ and sla/.
 */
#ifndef CORE_H
#define CORE_H

#include <pthread.h>
#include <semaphore.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "db/db.h"
#include "sla/sla.h"

#define CIVICDESK_VERSION "0.1.0"


/* --- domain names ------------------------------------------------------------------------ */

/* enum role, kind, channel, wf_state and clock_name, with role_name, kind_name, …, clock_label
 * and their *_parse, live in db.h: they are the names the store holds. */

/* --- configuration (config.c) ------------------------------------------------------------ */

/* What happens to a clock in a given situation (policy). */
enum on_forward { ON_FORWARD_KEEP, ON_FORWARD_RESTART };
enum on_supplement { ON_SUPPLEMENT_RESTART, ON_SUPPLEMENT_PAUSE };

/* The clocks policy of one kind of item. */
struct policy {
	struct sla_rule forward;        /* forward clock: 3 WD */
	struct sla_rule reply;          /* reply clock: 5 WD */
	struct sla_rule explain;        /* explain clock: 3 WD from receipt */
	int reply_extended_days;        /* reply limit after an approved extension: 15 */
	enum on_forward on_forward;     /* keep (default) or restart the reply clock */
	enum on_supplement on_supplement; /* restart (default) or pause while waiting */
};

struct config {
	char *db;           /* CIVICDESK_DB: database path */
	char *listen;       /* CIVICDESK_LISTEN: host:port */
	char *calendar_dir; /* CIVICDESK_CALENDAR_DIR: "" = built-in calendars */
	char *web_dir;      /* CIVICDESK_WEB_DIR: "" = built-in pages */
	char *tz;           /* CIVICDESK_TZ */
	char *smtp_url;     /* CIVICDESK_SMTP_URL */
	char *smtp_from;    /* CIVICDESK_SMTP_FROM */
	char *sms_url;      /* CIVICDESK_SMS_URL */
	char *smtp_starttls; /* off | optional | required */
	char *sms_quiet;    /* CIVICDESK_SMS_QUIET: "21:00-08:00 rest-days", "off", … */
	long scan_interval; /* CIVICDESK_SCAN_INTERVAL: seconds between ladder scans */
	char *digest;       /* weekly digest: "mon 09:00" or "off" */
	long notify_backoff_min, notify_backoff_max; /* seconds: retry backoff of a notice */
	long notify_give_up; /* seconds after which a failing notice ends failed */
	long notify_poll_ms; /* dispatcher's idle period */
	long sms_timeout_ms, sms_connect_timeout_ms; /* SMS gateway timeouts */
	char *smtp_user, *smtp_password; /* SMTP AUTH (PLAIN or LOGIN); "" = none */
	char *sms_method;   /* POST | PUT | GET */
	char *sms_headers;  /* extra request headers, "Name: value" separated by " | " */
	char *sms_format;   /* json | form: how sms_body is filled and sent */
	char *sms_body;     /* body template with {phone} and {text}; "" = {"phone","text"} */
	char *sms_success;  /* "FIELD=VALUE" the gateway's JSON answer must hold; "" = any 2xx */
	long sms_segment_chars, sms_max_segments; /* characters per SMS segment; segments at
	                                           * most (0: no cut) */
	long sms_citizens;  /* 1: citizens who gave a mobile number get their notices by SMS */
	long notify_combine_max; /* notices for one recipient at one moment in one message */
	long smtp_timeout;  /* seconds the SMTP server may take for one protocol step */
	char *public_url;   /* where citizens reach the pages (links in notices); "" = LISTEN */
	char *imap_url;     /* CIVICDESK_IMAP_URL */
	long imap_interval; /* CIVICDESK_IMAP_INTERVAL: seconds between IMAP polls */
	char *mail_kinds;   /* CIVICDESK_MAIL_KINDS: receiving address -> kind (mailin.h) */
	long mail_ack_interval; /* seconds: one acknowledgement per e-mail sender at most (0: off) */
	long submit_rate;   /* CIVICDESK_SUBMIT_RATE: submissions per minute per address, 0 = off */
	char *submit_rate_ranges; /* NETWORK=N: submissions per minute per address there instead
	                           * (a NAT gateway's range higher, 0 = off) */
	long max_body;      /* largest request body in bytes (413 above) */
	long max_json;      /* largest body that is not a form (JSON: no attachments), 413 above */
	long max_connections; /* HTTP connections at once */
	long max_connections_per_ip; /* of them from one client address */
	long http_timeout;    /* seconds a connection may stay idle (slow headers or body) */
	long db_connections;  /* database connections at most; requests wait for one */
	char *backup_dir;     /* serve's daily backups go here ("": none) */
	long backup_keep;     /* daily backups kept */
	long session_idle;  /* seconds */
	long session_max;   /* seconds */
	long lockout_failures; /* failed logins ... */
	long lockout_window;   /* ... within this many seconds ... */
	long lockout_duration; /* ... lock the name for this many seconds */
	long password_max_age_days;
	long cookie_secure;    /* 1: the session cookie gets Secure (served behind TLS) */
	char *trusted_proxies; /* numeric addresses whose X-Forwarded-For names the client */
	char *staff_networks;  /* networks staff may log in from ("": any) */
	long login_throttle;   /* failed logins from one address before each next attempt waits */
	long lockout_failures_any; /* failures of a name from any addresses that lock it for all */
	char *public_contacts; /* the bureau's published numbers and addresses: never masked */
	long public_rate;      /* public GETs (board, Open311) per minute per address, 0 = off */
	long read_cache;       /* KiB of encoded public records kept per I/O thread, 0 = off */
	long receipt_max_age_days; /* how far back a letter's date of receipt may lie */
	long supplement_days;      /* working days a citizen has to supplement before the queue
	                            * marks the item (supplement_overdue) */
	char *attachment_types;    /* allowed attachment types by content (attach_sniff names) */
	long attachment_max;       /* bytes of one attachment */
	long attachment_item_max;  /* bytes of all attachments of one item */
	long demo;          /* 1: a new database gets demo sections and accounts */
	char *stats_rank;   /* ranking criteria, e.g. "on_time,satisfaction,volume" (stats.c) */
	long rating_days;   /* days after the reply in which the citizen may rate it */
	char *screen_words; /* prohibited words and patterns, comma-separated (screen.c) */
	char *screen_file;  /* a file of them, one a line ("": none) */
	struct screen_list *screen_list; /* both, compiled (built by config_load; not a key) */
	long audit_archive_days; /* audit records older than this are archived (at least 180) */
	char *audit_archive_dir; /* where to ("": audit-archive beside the database) */
	char *clamd_socket; /* clamd's socket (path or host:port) for attachment scans; "": none */
	long clamd_timeout_ms; /* a scan's connection and answer timeout */
	long clamd_rescan;  /* seconds between serve's rescans of held attachments */
	char *totp_roles;   /* roles that must use a second factor (TOTP), comma-separated */
	long totp_grace;    /* seconds a new account of such a role may work before enrolling */
	char *totp_issuer;  /* the issuer named in otpauth:// URIs */
	char *secret_key_file; /* the key file sealing the TOTP keys ("": beside the database) */
	struct policy policy[KIND__MAX]; /* policy.* keys: the defaults under the administrators'
	                                  * overrides; handlers read app_policy(), not these */
};

/* Fills cfg with the defaults, then the file (if path is not NULL; a missing file is an error
 * only when explicit), then CIVICDESK_* environment variables. Returns 0, or -1 with a message
 * ("file:line: reason") in err. */
int config_load(struct config *cfg, const char *path, int explicit_path, char *err,
                size_t errsize);
void config_free(struct config *cfg);
/* Prints every key with its environment variable, default and help text. */
void config_usage(FILE *out);

/* --- clock policies (policy.c) ----------------------------------------------------------- */

/* The keys of a kind's policy, as named after "policy.KIND." in the configuration and in the
 * admin API. One parser (policy_set) serves the file, the environment, the API and the stored
 * overrides, so that they accept the same values. */
enum policy_key {
	POLICY_FORWARD_DAYS,
	POLICY_REPLY_DAYS,
	POLICY_EXPLAIN_DAYS,
	POLICY_REPLY_EXTENDED_DAYS,
	POLICY_UNIT,          /* working_days | calendar_days, of the three clocks */
	POLICY_END_OF_DAY,    /* "24:00" or "HH:MM", of the three clocks */
	POLICY_ON_FORWARD,    /* keep | restart */
	POLICY_ON_SUPPLEMENT, /* restart | pause */
	POLICY_KEY__MAX
};

#define POLICY_DAYS_MIN 1  /* the limits a days key accepts */
#define POLICY_DAYS_MAX 366 /* a year: petition-style limits run to 60 + 30 calendar days */
#define POLICY_STR_(x) #x
#define POLICY_STR(x) POLICY_STR_(x)
#define POLICY_DAYS_RANGE POLICY_STR(POLICY_DAYS_MIN) " to " POLICY_STR(POLICY_DAYS_MAX)
#define POLICY_VALUE_MAX 16 /* bytes of a value's text form and its NUL */

/* The effective policies: the configuration's, overridden by what administrators stored. A
 * plain value: app.c replaces it whole under a lock, handlers take copies. */
struct policies {
	struct policy kind[KIND__MAX];
	unsigned admin[KIND__MAX]; /* bit (1u << key) set: the key comes from an override */
};

const char *policy_key_name(enum policy_key k);
/* The key named s, or -1. */
int policy_key_parse(const char *s);
/* 1 if key k takes an integer (the days keys), 0 if it takes a name or a time. */
int policy_key_is_days(enum policy_key k);
/* The names key k takes (NULL-terminated), or NULL for a key that takes days or a time. */
const char *const *policy_key_values(enum policy_key k);
/* Sets key k of p from its text form: days "1".."60" (decimal digits only), unit
 * "working_days" | "calendar_days", end_of_day "HH:MM" from "00:01" to "24:00", on_forward
 * "keep" | "restart", on_supplement "restart" | "pause". Returns 0, or -1 with p unchanged and
 * *why set to a static sentence saying what the key accepts. */
int policy_set(struct policy *p, enum policy_key k, const char *value, const char **why);
/* Writes the canonical text form of key k of p (what policy_set reads back) into buf. */
void policy_format(const struct policy *p, enum policy_key k, char buf[POLICY_VALUE_MAX]);
/* Builds the effective policies from the configuration's and the stored overrides (rows of
 * db_policy_list). Returns 0, or -1 with a sentence naming the row at fault in err (unknown
 * kind or key, or a value the parser refuses); *out is written only on success. */
int policies_build(const struct config *cfg, const struct db_policy *rows, size_t n,
                   struct policies *out, char *err, size_t errsize);
/* NULL when the keys of p agree with each other, else a static sentence, with the key at fault
 * in *field (forward_days longer than reply_days). */
const char *policy_inconsistent(const struct policy *p, const char **field);
/* The same, reading the overrides on c (inside the caller's transaction if one is open). */
int policies_read(const struct config *cfg, struct db_conn *c, struct policies *out, char *err,
                  size_t errsize);

/* --- clocks (clocks.c) ------------------------------------------------------------------- */

/* The legal clocks of an item (DESIGN.md "Items and clocks"), computed with sla/. These
 * functions change the struct db_item in memory; the caller stores it (db_item_update), which
 * also recomputes items.next_due. */

/* The clock called name of item (lent), or NULL when it has none. */
struct db_clock *clock_find(struct db_item *item, enum clock_name name);
/* Starts clock name at `at` under rule (adding it to item if missing, restarting it otherwise).
 * Returns the clock, or NULL if item has no room for it. */
struct db_clock *clock_open(struct db_item *item, enum clock_name name,
                            const struct sla_rule *rule, const struct sla_calendar *cal,
                            int64_t at);
/* Starts the clocks of a new item received at `at` under policy p: forward and reply (explain
 * is opened later, by an extension request, with clock_open and p->explain). */
void clocks_start(struct db_item *item, const struct policy *p, const struct sla_calendar *cal,
                  int64_t at);
/* Stops a clock at `at` (satisfied); a stopped clock stays stopped. */
void clock_stop(struct db_clock *k, int64_t at);
/* Pauses a running clock at `at`, keeping the working days left (negative when overdue). */
void clock_pause(struct db_clock *k, const struct sla_calendar *cal, int64_t at);
/* Resumes a paused clock at `at` with the working days it had left (policy "pause"). */
void clock_resume(struct db_clock *k, const struct sla_calendar *cal, int64_t at);
/* Restarts a clock from `at` under rule (policy "restart", forward with restart, extension). */
void clock_restart(struct db_clock *k, const struct sla_calendar *cal, int64_t at,
                   const struct sla_rule *rule);
/* The limit of a clock as a rule: its own days, unit and end of day (stored with it). */
struct sla_rule clock_rule(const struct db_clock *k);

enum clock_recalc {
	CLOCK_RECALC_NONE,      /* nothing to do: not running, ran out, or the same on cal */
	CLOCK_RECALC_MOVED,     /* its due time moved (and its provisional mark follows cal) */
	CLOCK_RECALC_CONFIRMED, /* the same due time, only the provisional mark changed */
	CLOCK_RECALC_LEFT,      /* its due time is not what `old` gives from its start: it was
	                         * set otherwise and is left alone */
};
/* Counts a running clock's due time again on calendar cal after a change of calendar (#14
 * point 10): from its start under its own rule, or, resumed with the working days it had
 * left, from then. old: the calendar it was computed with (its due time must be what old
 * gives, else it is left alone), or NULL. A stopped, paused or frozen clock, or one that ran out
 * at now, is left alone. Changes k's due and provisional mark. */
enum clock_recalc clock_recalc(struct db_clock *k, const struct sla_calendar *old,
                               const struct sla_calendar *cal, int64_t now);
/* Freezes the on_time / late result of every clock that has none (at close): a stopped clock
 * by its stop time, a running one by `now`, a paused one by the days it had left. */
void clocks_freeze(struct db_item *item, int64_t now);

/* --- rate limits (ratelimit.c) ------------------------------------------------------------- */

/* A fixed-size, mutex-guarded table of per-address counters in fixed windows: bounded memory
 * whatever the number of addresses (an address evicted under pressure starts afresh). */
struct ratelimit;

/* A new table allowing `limit` events per address in `window` seconds; limit 0 = no limit.
 * NULL when out of memory. */
struct ratelimit *ratelimit_new(long limit, int64_t window);
/* Gives the addresses of some networks their own limit: ranges is a checked NETWORK=N list
 * (netaddr_ranges_check; N 0 = no limit), the most specific network holding an address decides,
 * the others keep `limit`. A copy is kept. 0 or -1 (out of memory). */
int ratelimit_set_ranges(struct ratelimit *rl, const char *ranges);
void ratelimit_free(struct ratelimit *rl);
/* Counts one event of addr at `now`. Returns 0 when allowed, 1 when over the limit (the event
 * is not counted) and writes the seconds until the window ends into *retry_after. */
int ratelimit_hit(struct ratelimit *rl, const char *addr, int64_t now, int64_t *retry_after);
/* Like ratelimit_hit without counting: 1 when addr is over the limit now, else 0. */
int ratelimit_check(struct ratelimit *rl, const char *addr, int64_t now, int64_t *retry_after);

/* --- input checks (validate.c) ------------------------------------------------------------- */

enum text_flags {
	TEXT_MULTILINE = 1 << 0, /* allows tab, CR and LF (else no control character at all) */
};

/* Checks that s[0..len) is valid UTF-8 (no overlong forms, surrogates or NUL) without control
 * characters (but those TEXT_MULTILINE allows). Returns the number of characters: code points,
 * a CR LF of TEXT_MULTILINE text counting as one (as browsers count a line break); or -1. */
long text_check(const char *s, size_t len, unsigned flags);
/* Makes s valid UTF-8 in place: each byte that does not belong to a valid sequence (a stray
 * byte, or a character cut short at the end) becomes '?'. For messages that quote a request. */
void text_scrub(char *s);
/* 1 if s holds something visible, else 0 (only white space, Unicode's included, and
 * zero-width characters). */
int text_nonblank(const char *s);
#define PHONE_TIDY_SIZE 23 /* "0755-12345678转123456" (a landline's longest) and its NUL */
/* What a phone number is, as phone_tidy_kind reads it. Only a mobile number can take an SMS. */
enum phone_kind {
	PHONE_NONE,      /* no number */
	PHONE_MOBILE,    /* a mainland mobile number */
	PHONE_LANDLINE,  /* a landline, with its area code */
	PHONE_EXTENSION, /* a landline and an extension */
	PHONE_SERVICE,   /* a service number: 400…, 800…, 95… */
};
/* A phone number as people write it, in its one stored form: its kind with out filled, else
 * PHONE_NONE (out untouched). Taken: digits in ASCII or full width, with blanks, hyphens, dashes
 * or dots between them; a country code +86, ＋86, 0086 or (+86) before the number, 86 alone before
 * a mobile one; an area code in brackets, "(010) 6512-3456". Stored: a mainland mobile number (1,
 * 3 to 9, 11 digits) as its 11 digits, "13812345678"; a landline as its area code (0 and 2 or 3
 * digits, with its 0 put back after a country code), '-', its 7 or 8 digits, "010-65123456". A
 * number in a form taken before numbers were tidied ("+8613812345678", "+86 138…",
 * "01065123456") is kept as written, so that the SMS gateway gets what the operator registered.
 * Only what none of that takes (what was refused before) is read as one of these: a landline
 * (as above) and an extension of 1 to 6 digits after 转, 轉, 分机, 分機, "ext", '#', or a last
 * hyphen ("010-6512 3456 转 123", "(010) 6512-3456 ext. 123", "010-65123456-123"), stored
 * "010-65123456转123"; a service number without country code or brackets, 400 or 800 and 7
 * digits stored "400-810-8888", or 95 and 3 to 6 digits stored as its digits, "95588". A mobile
 * or service number with an extension is none. At most 64 bytes. */
enum phone_kind phone_tidy_kind(const char *s, char out[PHONE_TIDY_SIZE]);
/* phone_tidy_kind's number: 1 with out filled, else 0 (out untouched). */
int phone_tidy(const char *s, char out[PHONE_TIDY_SIZE]);
/* 1 if phone_tidy takes s, else 0. */
int phone_valid(const char *s);
/* A plausible e-mail address (local@domain.tld, at most 254 bytes): 1, else 0. */
int email_valid(const char *s);
#define EMAIL_TIDY_SIZE 255 /* 254 bytes and a NUL */
/* An e-mail address as people type it, tidied: without the blanks around it (ASCII's, the
 * ideographic space U+3000, the no-break space), a full-width ＠ read as @ and a full-width ．
 * or an ideographic full stop (。, ｡) as '.'. 1 with out filled when the result is valid UTF-8
 * without control characters and email_valid, else 0. */
int email_tidy(const char *s, char out[EMAIL_TIDY_SIZE]);
/* An account's e-mail address as an operator types it (user --email, the admin API and page):
 * tidied as email_tidy tidies it, and taken when it is one address alone (LOCAL@DOMAIN, no
 * blank, name or list), a domain without a dot (a local mail host) too, as accounts took it
 * before; one taken before that is not UTF-8 text is kept as written. 1 with out filled, else 0
 * (out may be written). */
int email_tidy_account(const char *s, char out[EMAIL_TIDY_SIZE]);
/* The language of a BCP 47 tag a client sends, in any case, '-' or '_' between subtags: ours
 * (zh-Hans, zh-Hant, en); zh alone or with a region (zh-CN, zh-SG) is simplified, zh-TW, zh-HK,
 * zh-MO traditional, a script subtag (zh-Hant-CN) before the region; en with any region (en-US,
 * en_GB). A LANG_* value, or -1 for another language or a malformed tag. */
int lang_tag_parse(const char *s);

/* --- the citizen's language (lang.c) -------------------------------------------------------- */

/* The language a citizen wrote subject and body in (either may be NULL), for an item whose
 * page or client did not say: Chinese when they hold a Han character (or CJK punctuation),
 * traditional (LANG_ZH_HANT) when more of its characters are of the traditional script only
 * than of the simplified only, else simplified; English when they hold Latin letters and no
 * Han; simplified when neither (the bureau's own). Never LANG_NONE. */
enum lang lang_guess(const char *subject, const char *body);

/* --- query codes (query_code.c) ------------------------------------------------------------- */

#define QUERY_CODE_LEN 12 /* characters of a citizen's query code */
#define QUERY_HASH_LEN 32 /* bytes of its stored hash */

#define QUERY_CODE_KEY 32 /* bytes of the key of app_query_code's stream */

/* Writes a new random query code (QUERY_CODE_LEN characters and a NUL) into code. */
void query_code_new(char code[QUERY_CODE_LEN + 1]);
struct app;
/* The same, from app's stream: ChaCha20 under a random key drawn at app_open, a new nonce each
 * time (no system call, unlike query_code_new's getrandom). */
void app_query_code(struct app *app, char code[QUERY_CODE_LEN + 1]);
/* The stored hash of a code as typed (case, spaces and dashes ignored). 0, or -1 when the
 * text cannot be a code (too long). */
int query_code_hash(const char *code, unsigned char hash[QUERY_HASH_LEN]);
/* 1 when code matches the stored hash (compared in constant time), else 0. */
int query_code_verify(const char *code, const unsigned char hash[QUERY_HASH_LEN]);

/* --- logging (log.c) ---------------------------------------------------------------------- */

void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The line log_info would write of the parts joined (no format: the access log's line, a
 * tenth of the instructions of vsnprintf's), into buf for writing later with others: its
 * length with the newline, or 0 when size is below LOG_FORMAT_SIZE. */
#define LOG_FORMAT_SIZE (2048 + 64)
size_t log_join(char *buf, size_t size, const char *const *parts, size_t nparts);
/* Writes lines that log_join made, as they are, to the log. */
void log_write(const char *lines, size_t len);

/* --- errors of the core (error.c) -------------------------------------------------------- */

/* What went wrong, for every way in: the API maps these to HTTP statuses in one table, the
 * command line to exit codes, mail-in to sysexits. */
enum core_err {
	CORE_OK,
	CORE_INVALID,   /* input refused: err.field names the field (400) */
	CORE_TOO_LARGE, /* input over a size limit (413) */
	CORE_FORBIDDEN, /* the actor's role or section may not do this (403) */
	CORE_NOT_FOUND, /* no such item (404) */
	CORE_CONFLICT,  /* not possible in the item's state now: err.allowed (409) */
	CORE_BUSY,      /* storage busy or full: try again later (503) */
	CORE_ERROR,     /* storage or memory error (500) */
	CORE_ERR__MAX
};

struct core_error {
	enum core_err code;
	const char *code_name; /* static: a finer machine-readable code ("no_consent"), or NULL */
	const char *field;     /* static: the field at fault, or NULL */
	char message[256];     /* a sentence for a person */
	int state;             /* CORE_CONFLICT: the item's state (enum wf_state), else -1 */
	unsigned long allowed; /* CORE_CONFLICT: bits (1ul << enum wf_action) that would succeed */
};

/* A short name of e ("invalid", "not_found", …). */
const char *core_strerror(enum core_err e);
/* Fills err (code, field, printf message) and returns -1, for one-line error paths. */
int core_fail(struct core_error *err, enum core_err code, const char *field, const char *fmt,
              ...) __attribute__((format(printf, 4, 5)));

/* --- notification hook (notify.c) ----------------------------------------------------------- */

enum core_event_kind {
	CORE_EV_SUBMITTED, /* a new item was stored */
	CORE_EV_SUBMITTED_QUIET, /* a new item was stored; its citizen is not acknowledged (as
	                          * many as one message holds wait for the address's next
	                          * moment: intake.ack_interval) */
	CORE_EV_ACTION,    /* a workflow action changed an item */
	CORE_EV_RATED,     /* the citizen rated the reply (note: the value); an unsatisfied rating
	                    * opens a follow-up for the section head (rating.c) */
	CORE_EV_REOPENED,  /* a section head reopened the item after an unsatisfied rating */
	CORE_EV_SUPERVISED, /* a supervisor gave a supervision order (note: its note; the item's
	                     * section head is to be told at once) */
	CORE_EV_CITIZEN_MAIL, /* the citizen wrote by e-mail about an item that has ended (replied,
	                       * closed, rejected, merged; from_state: its state): nothing reopens,
	                       * its staff and the citizen are told (note: what they wrote) */
	CORE_EV_MAIL_TOO_LARGE, /* a polled message over mail-in's size limit was refused unread
	                         * (item: NULL; to, key, size, limit; note: its subject): its sender is
	                         * told how to send it instead */
	CORE_EV_SUPERVISOR_READY, /* an account became an active supervisor with an address it had
	                           * not (created so, or its role, status, e-mail or phone changed;
	                           * item: NULL; to: its name): the escalations under way today are
	                           * to reach it today */
};

/* What changed, handed to the notification hook inside the change's transaction. */
struct core_event {
	enum core_event_kind kind;
	const struct db_item *item; /* the item after the change (lent) */
	int action;                 /* CORE_EV_ACTION: enum wf_action; else -1 */
	const char *from_state;     /* CORE_EV_ACTION: the state before; else NULL */
	const char *note;           /* the history row's note, or NULL */
	int64_t at;
	/* CORE_EV_SUBMITTED of an item that came by e-mail: its query code in clear (lent), for
	 * the acknowledgement, the only way it reaches a citizen who wrote by e-mail (a web or API
	 * submission shows it once in its answer); else NULL */
	const char *query_code;
	/* CORE_EV_SUBMITTED of an e-mail letter whose address was acknowledged within
	 * intake.ack_interval: when its acknowledgement goes (the address's next moment, with its
	 * other letters' in one message); 0: now */
	int64_t ack_at;
	/* CORE_EV_MAIL_TOO_LARGE: the sender's address; CORE_EV_SUBMITTED with ack_at: the address
	 * the acknowledgements waiting for that moment go to (NULL: the item's) */
	const char *to;
	/* read for CORE_EV_MAIL_TOO_LARGE only (other kinds leave them unset) */
	const char *key;            /* what its notice is sent once for: the Message-ID, else
	                             * "mail_in ID" */
	int64_t size;               /* the message's bytes */
	int64_t limit;              /* mail-in's limit of a message, bytes */
};

/* The notifiers' hook: on_event writes outbox rows on c, inside the transaction that stores
 * the change, and returns 0, or -1 to roll the whole change back. No hook: on_event NULL. */
struct core_notify {
	void *cls;
	int (*on_event)(void *cls, struct db_conn *c, const struct core_event *ev);
	/* Optional: the CORE_EV_SUBMITTED events of one batch of the group-commit writer at once,
	 * ev[0..n), at the batch's end (still inside its transaction; their items lent until it
	 * commits, with their ids but without their tracking numbers: NULL); 0, or -1 to roll the
	 * batch back (it is then stored again one submission at a time, each with on_event). NULL:
	 * on_event for each submission. */
	int (*on_batch)(void *cls, struct db_conn *c, const struct core_event *ev, size_t n);
};

struct app;
/* Calls the hook of app for ev on c: 0 when there is none. */
int core_notify_event(struct app *app, struct db_conn *c, const struct core_event *ev);
/* Calls the hook's on_batch for ev[0..n) on c (without one, on_event for each): 0 when there is
 * none or n is 0. */
int core_notify_batch(struct app *app, struct db_conn *c, const struct core_event *ev, size_t n);

/* --- who acts (audit.c) ------------------------------------------------------------------ */

/* Who does something, for the audit log. */
struct actor {
	int64_t id;       /* account id; 0 for the command line or the system */
	const char *name; /* username, "cli" or "system" */
	const char *addr; /* client address, or NULL */
};

/* --- the application (app.c) -------------------------------------------------------------- */

#define TRACK_FAILURES 10 /* failed tracking look-ups from one address ... */
#define TRACK_WINDOW 600  /* ... within this many seconds: 429 until the window ends */
#define TRACK_ITEM_FAILURES 30  /* wrong codes for one tracking number, from any address */
#define TRACK_ADDR_FAILURES 100 /* wrong codes from one address, over all numbers */

struct pages;
struct api_state;

#define TOTP_SEAL_KEY 32 /* bytes of the key of secret_key_file (crypto_secretbox_KEYBYTES) */

struct stats_batch;
struct intake_batch;

struct app {
	struct config cfg;
	struct db *db;
	pthread_mutex_t cal_lock;  /* guards cal */
	struct sla_calendar *cal;  /* current calendar; swap with app_calendar_swap */
	pthread_mutex_t policy_lock;   /* guards policies */
	struct policies policies;      /* effective clock policies: app_policy, app_policies_swap */
	pthread_mutex_t policy_write;  /* held by an administrator's change from its transaction
	                                * to its swap, so that swaps happen in commit order */
	struct ratelimit *submit_limit; /* per-address submission limit (intake) */
	struct ratelimit *track_limit;  /* per-address failed tracking look-ups */
	struct ratelimit *public_limit; /* per-address public reads (board, Open311): public_rate */
	struct ratelimit *track_pair_limit; /* wrong query codes per (address, tracking number) */
	struct ratelimit *track_item_limit; /* ... per tracking number */
	struct ratelimit *track_addr_limit; /* ... per address, over all numbers */
	struct db_submitter *submitter; /* group commit of new items (db_submit.c) */
	struct stats_batch *submit_stats; /* the writer's statistics per batch (stats.c); used on
	                                   * the writer's thread only */
	struct intake_batch *submit_batch; /* the writer's batch hook (intake.c): the statistics
	                                    * above and the notices of the batch's submissions */
	struct core_notify notify;      /* the notifiers' hook; zero: none */
	struct pages *pages;            /* the pages' state (service/pages), set by serve; opaque
	                                 * here, NULL when no pages are served */
	pthread_mutex_t spare_lock;     /* guards the two below */
	struct core_submission *spare;  /* finished submissions' memory kept for the next ones
	                                 * (intake.c: a new one of 5 KB made malloc consolidate its
	                                 * small free blocks at every submission) */
	size_t nspare;
	struct api_state *api;          /* the API's state (service/api), set by serve; opaque
	                                 * here, NULL: the API keeps nothing across requests */
	struct session_writer *sessions; /* writes the sessions' activity off the requests'
	                                  * threads (session_writer.c), started by serve; NULL:
	                                  * the session check writes it itself */
	sem_t pwhash_slots;        /* argon2id computations at once (64 MiB each): auth.c */
	unsigned char code_key[QUERY_CODE_KEY]; /* query codes: ChaCha20's key, drawn at app_open
	                                         * (query_code.c) */
	_Atomic unsigned long long code_next;   /* query codes: the next nonce */
	unsigned char totp_seal[TOTP_SEAL_KEY]; /* seals the TOTP keys at rest (totp.c) */
	int totp_seal_ok;          /* 1: totp_seal was read from the key file (serve's start) */
#ifdef CIVICDESK_TEST_HOOKS
	int64_t test_now; /* test builds only: the injected clock, 0 = real time */
	pthread_mutex_t test_lock;
#endif
};

/* Current time (Unix seconds). In test builds the clock can be set (POST /api/v1/test/clock,
 * or CIVICDESK_TEST_NOW); production builds always read the system clock. */
int64_t app_now(struct app *app);
/* A new reference to the current calendar: the caller unrefs it (sla_calendar_unref). */
struct sla_calendar *app_calendar(struct app *app);
/* Replaces the calendar, taking the caller's reference to cal. */
void app_calendar_swap(struct app *app, struct sla_calendar *cal);
/* Copies the effective policy of kind (a valid one) into *out: a snapshot that later changes
 * leave alone. */
void app_policy(struct app *app, enum kind kind, struct policy *out);
/* Copies every effective policy into *out. */
void app_policies(struct app *app, struct policies *out);
/* Replaces the effective policies with a copy of *p. */
void app_policies_swap(struct app *app, const struct policies *p);
/* Loads the configuration (--config FILE / CIVICDESK_CONFIG / ./civicdesk.conf), sets the time
 * zone, loads the calendar and opens the database into app, for every command. Returns 0 or -1
 * (message printed; on failure everything is closed again, do not call app_close). A database
 * it creates gets the demo data (with demo = 1), printed on `demo_out`: stdout for serve,
 * stderr for commands whose stdout scripts read. */
int app_open(struct app *app, const char *config_path, FILE *demo_out);
void app_close(struct app *app);
/* The group-commit writer logs where its time goes, every 10 minutes and when app_close stops it
 * (serve; other commands stay quiet). */
void app_log_writer(struct app *app);

/* --- the calendar in force and its changes (calendar.c) ------------------------------------ */

#define CALENDAR_FP_SIZE 65 /* a calendar's fingerprint: 64 hex digits and a NUL */

/* What a change of calendar did to the clocks. */
struct calendar_report {
	size_t items;     /* items with a moved due time */
	size_t moved;     /* due times moved: one citizen-visible history row each */
	size_t confirmed; /* clocks whose due time stayed, with the provisional mark changed */
	size_t left;      /* clocks whose due time was set otherwise than from their start (under
	                   * the calendar before): left alone */
	size_t failed;    /* items that could not be changed now (busy): the next start or sync
	                   * takes them up again */
	char first[11], last[11]; /* the range the calendar covers, YYYY-MM-DD */
};

/* The calendar in force, read on c: the base files (calendar_dir's, or the built-in ones) with
 * the files loaded into the database on top (a loaded file replaces its year's file or adds a
 * year). 0 with *out (a new reference), or -1 with err ("file:line: reason"). */
int calendar_current(struct app *app, struct db_conn *c, struct sla_calendar **out, char *err,
                     size_t errsize);
/* The fingerprint of cal (its range and every dated override) as hex into fp. 0 or -1. */
int calendar_fingerprint(const struct sla_calendar *cal, char fp[CALENDAR_FP_SIZE]);
/* `civicdesk calendar load FILE...` (names: as given, texts: their contents): every file is
 * checked alone and with the calendar in force; on any fault nothing changes (CORE_INVALID, the
 * message "file:line: reason"). Then the files are stored (each replaces its year), the app's
 * calendar swapped, every running clock whose due time depends on the changed days recomputed
 * (per item: its due times, provisional marks, statistics' facts, one citizen-visible history
 * row "recalculate" per moved due time with the new due time, an audit row; items in batches of
 * one transaction, an item that fails retried alone), and the calendar recorded as applied. who: the actor of those rows. 0, or -1 with err
 * (CORE_INVALID, CORE_BUSY, CORE_ERROR); *rep says what moved. */
int core_calendar_load(struct app *app, const struct actor *who, const char *const *names,
                       const char *const *texts, size_t n, int64_t now,
                       struct calendar_report *rep, struct core_error *err);
/* At start and from serve's tick: when the calendar in force differs from the one the clocks
 * were last computed with (a file loaded by another process, a new file in calendar_dir or a
 * new binary), or from the app's own, swaps it in and recomputes the clocks as
 * core_calendar_load does. A database with no calendar recorded yet (older than migration 011)
 * records the one in force without recomputing. *changed: 1 when the app's calendar was
 * swapped. 0 or -1 (logged). */
int core_calendar_sync(struct app *app, const struct actor *who, int64_t now,
                       struct calendar_report *rep, int *changed);

/* --- network addresses (netaddr.c) ------------------------------------------------------- */

/* Checks a list of numeric IPv4/IPv6 addresses separated by commas or spaces (trusted_proxies):
 * 0, or -1 with the bad entry named in err. */
int netaddr_list_check(const char *list, char *err, size_t errsize);
/* 1 if the numeric address s[0..n) is in list (an IPv4-mapped IPv6 address matches the IPv4
 * address it maps), else 0. */
int netaddr_listed(const char *list, const char *s, size_t n);
/* The client behind trusted proxies: the nearest address of the X-Forwarded-For value xff
 * ("client, proxy1, proxy2") that is not itself in proxies is written into buf (size bytes); an
 * entry that is not an address stops the walk at the last trusted hop (buf keeps that one). */
void netaddr_forwarded(const char *proxies, const char *xff, char *buf, size_t size);
/* Checks a list of networks (staff_networks: numeric addresses or ADDRESS/BITS, separated by
 * commas or blanks): 0, or -1 with the bad entry named in err. */
int netaddr_networks_check(const char *list, char *err, size_t errsize);
/* 1 if the numeric address addr lies in one of the networks of list, or list is empty (any
 * address); else 0 (an address that does not parse is in no network). */
int netaddr_in_networks(const char *list, const char *addr);
/* Checks a list of networks with a number each (submit_rate_ranges: NETWORK=N, NETWORK as in
 * staff_networks, N from 0 to 1000000, separated by commas or blanks): 0, or -1 with the bad
 * entry named in err. */
int netaddr_ranges_check(const char *list, char *err, size_t errsize);
/* The number of the most specific network of list (NETWORK=N entries) that holds the numeric
 * address addr: 1 with *value written, 0 when none does (or addr does not parse). */
int netaddr_range_value(const char *list, const char *addr, long *value);

/* --- intake (intake.c) ---------------------------------------------------------------------- */

#define INTAKE_SUBJECT_MAX 200     /* code points (e-mail: below) */
/* Code points of the subject of an item that came by e-mail. The contract keeps the whole
 * decoded Subject header, so this is no field's limit but a sanity cap, ten times the forms':
 * room for a subject into which a citizen pasted the first sentences of the letter, and at most
 * 8,000 bytes of UTF-8, which every copy of it is sized for (the acknowledgement quotes it whole;
 * the queue, the item and its pages show it whole; staff notices quote its first 600 bytes; the
 * public version is cut to PUBLIC_SUBJECT_MAX). A longer header is no subject but a letter in
 * the wrong place (a script's, or a flood meant to swell every notice and page that shows it):
 * mail-in cuts it with "…" and keeps it whole in a note at the body's end, as the letter. */
#define INTAKE_MAIL_SUBJECT_MAX 2000
#define INTAKE_BODY_MAX 20000      /* code points */
#define INTAKE_NAME_MAX 100        /* code points */
#define INTAKE_MAX_ATTACHMENTS 5   /* files per item */
#define INTAKE_ATTACHMENT_MAX (5L * 1024 * 1024) /* bytes per file */
#define INTAKE_FILENAME_MAX 255    /* bytes */
#define INTAKE_CTYPE_MAX 127       /* bytes of a content type */
#define INTAKE_ADDRESS_MAX 200     /* code points of an Open311 address_string */

/* A new item as received (web form, JSON, Open311, staff registration), before its checks.
 * Every pointer is lent by the caller for the duration of core_submit. */
struct intake {
	const char *kind, *subject, *body; /* NULL when absent */
	const char *name, *phone, *email;  /* NULL or "" when absent */
	int publish;                       /* 1, 0, or -1 when absent */
	const char *address, *lat, *lng;   /* Open311 location (personal data), NULL when absent */
	enum channel channel;              /* web, or post / phone when staff registers it */
	int64_t received;                  /* receipt: now, or the date on the letter */
	const struct session *staff;       /* the registering staff member, or NULL */
	struct db_attachment att[INTAKE_MAX_ATTACHMENTS]; /* filename, content_type, data lent */
	size_t natt;
	int checked; /* 1: core_submit_check passed on this intake as it is now (a caller that
	              * checks before its rate limit): core_submit_* do not check it again */
	/* channel email: the message's mail_in row (outcome "created", the raw message kept),
	 * written in the storing transaction with the new item's id; its Message-ID or IMAP
	 * position recorded already rolls the item back (CORE_CONFLICT). NULL: none. */
	const struct db_mail_in *mail;
	/* channel email: seconds during which one address gets acknowledgements at one moment
	 * at most (0: every item at once); the acknowledgement of a letter within them waits for
	 * the next moment, in one message with the address's other letters (CORE_EV_SUBMITTED
	 * with ack_at), and a staff history row says so; beyond notify_combine_max letters for
	 * one moment the hook gets CORE_EV_SUBMITTED_QUIET and the history row says why none */
	int64_t ack_interval;
	/* channel email: what the acknowledgement says besides (the files left out of the letter
	 * and why), or NULL; such an acknowledgement is written with the submission */
	const char *ack_note;
	/* the citizen's language, "zh-Hans", "zh-Hant" or "en" (the page's, a client's "lang",
	 * an e-mail's Big5 charset), else NULL or "": guessed from the text (lang_guess) */
	const char *lang;
};

/* Checks in: required kind, subject, body; lengths in code points (a subject of channel email up
 * to INTAKE_MAIL_SUBJECT_MAX, others INTAKE_SUBJECT_MAX); valid UTF-8 without control
 * characters; phone and e-mail formats (as phone_tidy and email_tidy take them: an item stores
 * their tidied forms); a contact (phone or e-mail) for web items; the language when given (field
 * "lang": a tag lang_tag_parse takes, stored as zh-Hans, zh-Hant or en); publication consent;
 * attachment names and types. Returns 0, or -1 with err filled (CORE_INVALID). */
int core_submit_check(const struct intake *in, struct core_error *err);
/* A submitter's name from Open311's first_name and last_name (either may be NULL): a Chinese
 * name is family name first without a space (黄 + 晓明: 黄晓明), others "first last". A new
 * string (the caller frees it), NULL when out of memory. */
char *intake_name_join(const char *first, const char *last);
/* The one way in for a new item, whatever the channel: checks it (core_submit_check), then
 * stores it durably (group commit: a 0 means committed with fsync) with state "received", its
 * clocks from the kind's policy counted from in->received, its attachments, a citizen-visible
 * "submit" history row and, in the same transaction, what the notification hook writes. On
 * success fills *out (freed by the caller with db_item_free) and code (the query code, shown
 * once). 0, or -1 with err filled (CORE_INVALID, CORE_TOO_LARGE, CORE_BUSY; CORE_CONFLICT:
 * in->mail was recorded meanwhile). */
int core_submit(struct app *app, const struct intake *in, int64_t now, struct db_item *out,
                char code[QUERY_CODE_LEN + 1], struct core_error *err);
/* core_submit of in[0..n) at once, stored together in one transaction of the group commit
 * (one fsync for the batch): for each i, errs[i].code is CORE_OK with out[i] (freed by the
 * caller) and codes[i] filled, or the error of that one alone. Returns 0, or -1 when out of
 * memory (nothing stored). */
int core_submit_many(struct app *app, const struct intake *const *in, size_t n, int64_t now,
                     struct db_item *out, char (*codes)[QUERY_CODE_LEN + 1],
                     struct core_error *errs);
struct scan_report;
/* core_submit that also reports what the virus scan did (report: the files not stored because
 * they are infected, and how many are held for a later scan), for the answer to the citizen. */
int core_submit_report(struct app *app, const struct intake *in, int64_t now,
                       struct db_item *out, char code[QUERY_CODE_LEN + 1],
                       struct scan_report *report, struct core_error *err);
/* core_submit_report without waiting, for a thread that must not (an HTTP I/O thread): checks
 * and prepares in, queues it for the writer and returns; done(cls) is called on the writer's
 * thread once it is committed (or failed), and must not wait. in's strings and attachments
 * must stay until then. 0 with *out (hand it to core_submit_finish, after done only), or -1
 * with err (done is never called). */
struct core_submission;
int core_submit_start(struct app *app, const struct intake *in, int64_t now,
                      void (*done)(void *cls), void *cls, struct core_submission **out,
                      struct core_error *err);
/* After done: what core_submit_report would have answered (0 with out, code and report
 * filled, or -1 with err); frees s. out holds no texts (subject, body, name, phone, email,
 * address, lat, lng and extension NULL): the stored item had in's strings, lent, not copies. */
int core_submit_finish(struct core_submission *s, struct db_item *out,
                       char code[QUERY_CODE_LEN + 1], struct scan_report *report,
                       struct core_error *err);

/* --- mail from citizens to existing items (citizen.c) ---------------------------------- */

/* A citizen's e-mail about an item of theirs (a reply to our mail, or naming its tracking
 * number). Strings and attachments are lent. */
struct core_citizen_mail {
	const char *tracking;
	const char *from;                 /* sender address: must be the item's e-mail */
	const char *text;                 /* what they wrote (UTF-8) */
	const struct db_attachment *att;  /* attachments with data */
	size_t natt;
	/* the message's mail_in row (outcome "added", the raw message kept), written in the
	 * transaction with the item's id; recorded already: CORE_CONFLICT. NULL: none. */
	const struct db_mail_in *mail;
};

/* Adds a citizen's mail to item in->tracking in one transaction: when the item waits for the
 * citizen it is their answer (citizen_answer: back to the state before, clocks resumed or
 * restarted per policy on_supplement), else a citizen-visible "citizen_mail" history row; on an
 * item that has ended (replied, closed, rejected, merged) that row changes no state and no
 * clock (an e-mail does not reopen an item: a section head does, after an unsatisfied rating),
 * and the hook is told (CORE_EV_CITIZEN_MAIL: the item's staff are drawn to it, the citizen
 * told how to go on); the attachments are added; history, audit, the hook's rows and in->mail
 * commit with it.
 * *answered is set to 1 for an answer. 0, or -1 with err: CORE_NOT_FOUND (no such item, or it
 * is not the sender's: the caller makes a new item), CORE_CONFLICT, CORE_BUSY, CORE_ERROR. */
int core_citizen_mail(struct app *app, const struct core_citizen_mail *in, int64_t now,
                      int *answered, struct core_error *err);
/* Someone of the section of item `tracking` (a dispatcher or admin for an item without one)
 * acknowledges the citizen's e-mail that marked it after it ended: the mark cleared, with a
 * staff-only history row ("citizen_mail_seen", note optional) and an audit row, in one
 * transaction. 0, or -1 with err: CORE_INVALID ("note"), CORE_NOT_FOUND, CORE_FORBIDDEN,
 * CORE_CONFLICT ("not_marked"), CORE_BUSY, CORE_ERROR. */
int core_citizen_mail_seen(struct app *app, struct db_conn *c, const struct session *s,
                           const char *addr, const char *tracking, const char *note,
                           int64_t now, struct core_error *err);

/* --- bounces of our e-mail (bounce.c) ------------------------------------------------------- */

/* A bounce that mail-in received (strings lent). */
struct core_bounce {
	const char *const *ids; /* Message-IDs it names, most likely the failed notice's first */
	size_t nids;
	const char *reason;     /* the reporting server's words (status, diagnostic), or NULL */
	/* the bounce's own mail_in row (outcome "ignored"), or NULL: written in the transaction,
	 * its reason followed by ": outbox ID" when a row matched (recorded already: skipped) */
	const struct db_mail_in *mail;
};

/* Matches in to the e-mail outbox row whose Message-ID is the first of in->ids that is one,
 * and marks that row failed with "bounced: REASON" (a row failed already stays as it is), with
 * an audit row, in one transaction with in->mail. Writes the row's id (0: none matched, which
 * is no error) to *outbox. 0, or -1 with err (CORE_BUSY). */
int core_bounce(struct app *app, const struct core_bounce *in, int64_t now, int64_t *outbox,
                struct core_error *err);

/* --- mail-in's records (mailin.c) ----------------------------------------------------------- */

/* A message recorded without a change to an item. */
struct core_mail_note {
	struct db_mail_in row;            /* outcome "ignored" or "duplicate"; strings lent */
	const struct core_error *refused; /* core refused the message (core_submit's CORE_INVALID,
	                                   * CORE_TOO_LARGE), or NULL */
	const char *tell;         /* refused as CORE_TOO_LARGE unread (polled: no MTA bounces it):
	                           * the sender's address, to be told, or NULL */
	const char *tell_subject; /* its decoded subject, quoted to them (NULL: none) */
	const char *tell_id;      /* its Message-ID (NULL: none): told once per letter */
	int64_t tell_limit;       /* the limit it is over, bytes */
};

/* Records v[0..n) in one transaction at now; a row whose Message-ID or IMAP position is
 * recorded already is skipped. A refused message is recorded as ignored with the reason
 * "refused: MESSAGE", with an audit row "mail_refused" (target "mail_in ID", its code and
 * field, no words of the citizen's) that administrators see, so that it is neither fetched
 * again nor lost from sight; one with tell set also gets the notification hook's
 * CORE_EV_MAIL_TOO_LARGE in that transaction (its sender's notice, once per Message-ID).
 * 0, or -1 (nothing written). */
int core_mail_note(struct app *app, const struct core_mail_note *v, size_t n, int64_t now);
/* The item that holds the message with Message-ID id (created or added): 1 with its tracking
 * number (a new string) and its id, 0 none, -1 error. */
int core_mail_stored(struct app *app, const char *id, char **tracking, int64_t *item_id);
/* The raw message stored with Message-ID id (to tell a letter that reuses another's Message-ID):
 * 1 with a copy the caller frees (free) and its length, 0 none, -1 error. */
int core_mail_stored_raw(struct app *app, const char *id, char **raw, size_t *len);
/* The items a message may answer, most likely first: the items of our notices and of the
 * messages that its references refs[0..nrefs) name, then tracking (a number in its subject, or
 * NULL); at most max tracking numbers (new strings) into out. Returns how many. */
size_t core_mail_candidates(struct app *app, const char *const *refs, size_t nrefs,
                            const char *tracking, char **out, size_t max);
/* IMAP positions recorded for (mailbox, uidvalidity): the UID that has skip higher ones above
 * it (0 when there is none) into *uid. 0 or -1. */
int core_mail_imap_floor(struct app *app, const char *mailbox, int64_t uidvalidity, int64_t skip,
                         int64_t *uid);
/* known[i] = 1 when uids[i] of (mailbox, uidvalidity) is recorded, else 0, for i < n. 0 or -1. */
int core_mail_imap_known(struct app *app, const char *mailbox, int64_t uidvalidity,
                         const int64_t *uids, size_t n, unsigned char *known);

/* Records how a poll of mailbox ended at now (error NULL: it succeeded; else why not, with no
 * credentials in it), for /staff/admin and GET /api/v1/admin/mail. 0 or -1. */
int core_mail_polled(struct app *app, const char *mailbox, int64_t now, const char *error);

/* --- authentication (auth.c) -------------------------------------------------------------- */

#define AUTH_COOKIE "civicdesk_session" /* name of the session cookie */
#define AUTH_TOKEN_SIZE 44    /* a session or CSRF token: 43 base64url characters and a NUL */
#define AUTH_HASH_SIZE 128    /* an argon2id string (crypto_pwhash_STRBYTES) */
#define AUTH_PASSWORD_MAX 256 /* bytes of a password at most */
#define AUTH_OTP_SIZE 24      /* a one-time password and its NUL */
#define AUTH_PWHASH_SLOTS 4   /* argon2id computations at once, to bound memory under load */

/* The staff member behind a session (login.c). */
struct session {
	int64_t account_id;
	char *username;
	enum role role;
	int64_t section_id; /* 0 when none */
	char *csrf_token;
	int must_change;    /* password change required before anything else */
	int must_enroll;    /* the role needs a second factor (totp_roles) that the account has
	                     * not enrolled yet, and its grace period (totp_grace) is over:
	                     * enrolment required before anything else */
	int64_t enroll_by;  /* the role needs a second factor the account has not enrolled, and
	                     * it may work without one until this instant (totp_grace after the
	                     * account was created); 0 when nothing is pending */
	unsigned char token_hash[DB_TOKEN_HASH]; /* which session this is (of the account's) */
};

void session_free(struct session *s);
/* Creates one demo account per role in a new database (inside the caller's transaction) and
 * prints each name with its one-time password on out. Returns 0 or -1. */
int auth_seed_demo(struct app *app, struct db_conn *c, int64_t now, FILE *out);

/* The password policy: NULL if pw is acceptable for the account username, else a static
 * sentence naming the rule it breaks (length, character classes, contains the name). The
 * "not one of the last 5" rule needs the store: see account_set_password. */
const char *auth_password_weak(const char *username, const char *pw);
/* Whose password it is, for auth_password_refused (lent strings, NULL when unknown). */
struct auth_person {
	const char *username, *display_name, *email, *phone;
};
/* The whole policy for a chosen password (pwcheck.c): auth_password_weak, then not a common
 * password (the shipped blocklist, also read through look-alike digits and symbols and without
 * digits and symbols around it: "Passw0rd!" is "password"), and not containing the account
 * name, display name, e-mail local part or six digits in a row of the phone number. NULL if
 * acceptable, else a static sentence naming the rule. */
const char *auth_password_refused(const struct auth_person *who, const char *pw);
/* The rule a sentence of auth_password_weak or auth_password_refused names, for a message in
 * the reader's language: "password_" and short, long, control, classes, username, common,
 * display_name, email or phone; NULL for another text. */
const char *auth_password_rule(const char *why);
/* Hashes pw with argon2id into out (AUTH_HASH_SIZE bytes). generated: 1 for a random one-time
 * password (high entropy: the minimum cost is enough), 0 for a chosen one (interactive cost).
 * Returns 0 or -1 (out of memory). */
int auth_hash_password(const char *pw, int generated, char out[AUTH_HASH_SIZE]);
/* 1 if pw matches the argon2id string hash, else 0. The work done does not depend on whether
 * hash is NULL (an unknown account: a dummy hash is checked instead) or cheap. */
int auth_verify_password(const char *hash, const char *pw);
/* Bracket password hashing and verification in the service: at most AUTH_PWHASH_SLOTS threads
 * run argon2id at once (each takes 64 MiB); the others wait. */
void auth_pwhash_enter(struct app *app);
void auth_pwhash_leave(struct app *app);
/* Writes a new random token (base64url of 32 random bytes) into out. */
void auth_random_token(char out[AUTH_TOKEN_SIZE]);
/* The BLAKE2b-256 hash of a token, as stored. */
void auth_token_hash(const char *token, unsigned char out[DB_TOKEN_HASH]);
/* Writes a random one-time password that satisfies the policy for username. */
void auth_one_time_password(const char *username, char out[AUTH_OTP_SIZE]);
/* 1 if name is an acceptable account name (3..64 of A-Z a-z 0-9 . _ -, a letter first). */
int auth_username_valid(const char *name);

/* Logs in with lockout (DESIGN.md "Roles"; cfg.lockout_*) from address addr at now: on success
 * creates a session, writes its cookie token into token and a new session into *out (caller
 * frees) and returns 0; a wrong password, an unknown, locked or inactive account, or an address
 * outside cfg.staff_networks all return 1 (the same answer for each); 2 when the address is
 * throttled (core_login_throttle: answer 429 with its Retry-After); -1 on error. Every attempt
 * is audited with the address. */
int core_login(struct app *app, struct db_conn *c, const char *username, const char *password,
               const char *addr, int64_t now, char token[AUTH_TOKEN_SIZE], struct session **out);
/* 1 when addr must wait before its next login attempt (*retry_after seconds): it has
 * cfg.login_throttle failed logins or more within cfg.lockout_window, and the newest is less
 * than 2^(failures - login_throttle) seconds old (at most 300); 0 when it may try; -1 error. */
int core_login_throttle(struct app *app, struct db_conn *c, const char *addr, int64_t now,
                        int64_t *retry_after);
/* Ends the session whose cookie token is token and audits it for who. 0 or -1. */
int core_logout(struct app *app, struct db_conn *c, const char *token, const struct actor *who,
                int64_t now);

/* Why core_session_get found no usable session. */
enum session_err {
	SESSION_OK,
	SESSION_NONE,     /* no such session: never was, or ended */
	SESSION_EXPIRED,  /* idle longer than cfg.session_idle or older than cfg.session_max */
	SESSION_INACTIVE, /* the account is suspended, revoked or gone */
	SESSION_ERROR,    /* storage error */
};

/* The live session of cookie token at now: SESSION_OK with a new *out (caller frees) whose
 * must_change says whether the password must change first. An expired or inactive session is
 * deleted, and its last activity written at most once a minute: by the session writer when
 * one runs (then this only reads, and may run inside a read snapshot), else on c. */
enum session_err core_session_get(struct app *app, struct db_conn *c, const char *token,
                                  int64_t now, struct session **out);
/* Starts the session writer of app (serve): from then on core_session_get reads only, and
 * what it finds to write (a session's activity, the end of an expired or inactive one) is
 * written by the writer's thread in batches, without an fsync, a moment later; core_session_get
 * takes the activity from the writer until then. So a staff read runs in one snapshot and
 * never waits for the group-commit writer's lock. 0 or -1 (logged). */
int core_session_writer_start(struct app *app);
/* Writes what is queued, stops the writer and frees it (the session check writes itself
 * again). Nothing when none was started. */
void core_session_writer_stop(struct app *app);

/* --- accounts (accounts.c): shared by the admin API and civicdesk user ------------------- */


enum acct_err {
	ACCT_OK,
	ACCT_INVALID,   /* a field has a bad value (err.field names it) */
	ACCT_NOT_FOUND, /* the account (field NULL) or the section (field "section") is unknown */
	ACCT_EXISTS,    /* the username is taken */
	ACCT_WEAK,      /* the password breaks the policy (err.message says which rule) */
	ACCT_ERROR,     /* storage error */
};

struct acct_error {
	const char *field; /* static: the field at fault, or NULL */
	const char *rule;  /* static: the rule broken, for a message in the reader's language (the
	                    * admin page's "admin.acct_RULE"): username, exists, role_required,
	                    * role_unknown, text_long, text_control, email, phone, phone_sms,
	                    * section_unknown, section_needed, status_unknown, self, revoked,
	                    * not_found, password_history, and auth_password_rule's for a
	                    * refused password; NULL for the others (message in English) */
	char message[256];
};

/* What to create. Strings are lent; NULL when not given. */
struct account_spec {
	const char *username, *role, *section, *display_name, *email, *phone;
};

/* What to change. NULL strings and -1 flags leave a field alone. */
struct account_change {
	const char *role;
	const char *section;   /* a section name, or "" to clear it */
	int set_section;       /* 1: section applies ("" or NULL clear it) */
	const char *display_name, *email, *phone;
	const char *status;    /* active | suspended | revoked; revoked accounts stay revoked */
	int reset_password;    /* 1: a new one-time password */
	int unlock;            /* 1: forget the name's failed logins (lifts a lockout) */
};

/* Each runs in its own transaction on c and writes its audit row. */
/* Creates an account. password NULL: a one-time password is generated into otp (changed at
 * first login); else the password is checked against the policy and not forced to change. */
enum acct_err account_create(struct app *app, struct db_conn *c, const struct actor *who,
                             const struct account_spec *spec, const char *password,
                             char otp[AUTH_OTP_SIZE], struct acct_error *err);
/* Changes an account; suspending or revoking ends its sessions. With reset_password, the new
 * one-time password is written into otp. A staff member (who->id set) cannot suspend, revoke or
 * demote their own account (ACCT_INVALID, field "status" or "role"). */
enum acct_err account_change(struct app *app, struct db_conn *c, const struct actor *who,
                             const char *username, const struct account_change *ch,
                             char otp[AUTH_OTP_SIZE], struct acct_error *err);
/* Sets a chosen password (policy, and not one of the last 5) for the account username;
 * must_change as given. It ends the account's sessions (someone who knew the old password may
 * hold one), all but keep_session (a session token hash) when that is not NULL. */
enum acct_err account_set_password(struct app *app, struct db_conn *c, const struct actor *who,
                                   const char *username, const char *password, int must_change,
                                   const unsigned char *keep_session, struct acct_error *err);
/* 1 if the password of a must be changed now (first login, or older than the maximum age). */
int account_must_change(struct app *app, const struct db_account *a, int64_t now);

/* --- sections, policy overrides, notices (admin.c): shared by the admin API and pages --- */

#define CORE_SECTION_NAME_MAX 100  /* characters (code points) of a section's name */
#define CORE_SECTION_EMAIL_MAX 254 /* bytes of its e-mail address */

/* Each runs in its own transaction on c with its audit row for who. 0, or -1 with err. */
/* Adds a section (email NULL or "": none); writes its id. CORE_INVALID (field "name" or
 * "email"), CORE_CONFLICT (code_name "exists"), CORE_BUSY, CORE_ERROR. */
int core_section_add(struct app *app, struct db_conn *c, const struct actor *who, const char *name,
                     const char *email, int64_t now, int64_t *id, struct core_error *err);
/* Changes section id: name (NULL: keep), email (NULL: keep, "": none), active (-1: keep);
 * detail is the audit row's detail (NULL: "name: A -> B, email: …, active: 1 -> 0"). On success
 * fills *out when not NULL (db_section_free). CORE_INVALID, CORE_NOT_FOUND, CORE_CONFLICT
 * ("exists"), CORE_BUSY, CORE_ERROR. */
int core_section_update(struct app *app, struct db_conn *c, const struct actor *who, int64_t id,
                        const char *name, const char *email, int active, const char *detail,
                        int64_t now, struct db_section *out, struct core_error *err);
/* Overrides the keys of kind's policy whose values[k] is not NULL (text as policy_set reads it)
 * and takes the keys of the clear bits (1u << key) back to the configuration's; checks every
 * value before writing anything, then the policy as a whole (reply_extended_days at least
 * reply_days, policy_inconsistent), writes the rows and one audit row "policy_update" (detail
 * "KEY: OLD (source) -> NEW (source), …"), commits and swaps the effective policies in, under
 * app->policy_write so that swaps happen in commit order. A change applies to clocks started
 * after it. *out gets the effective policies after it (the current ones when nothing is asked).
 * CORE_INVALID (field: the key), CORE_NOT_FOUND (kind), CORE_BUSY, CORE_ERROR. */
int core_policy_change(struct app *app, struct db_conn *c, const struct actor *who, enum kind kind,
                       const char *const values[POLICY_KEY__MAX], unsigned clear, int64_t now,
                       struct policies *out, struct core_error *err);
/* A failed notice pending again from now, attempts from 0, with the whole give-up time
 * (audited "outbox_retry", target its recipient). CORE_NOT_FOUND, CORE_CONFLICT (code_name
 * "not_failed"), CORE_BUSY, CORE_ERROR. */
int core_outbox_retry(struct app *app, struct db_conn *c, const struct actor *who, int64_t id,
                      int64_t now, struct core_error *err);
/* Every notice the dispatcher gave up on (notify_give_up ran out while it kept failing) of
 * channel ("email" | "sms"; NULL: both) pending again from now as core_outbox_retry makes one,
 * in one transaction with one audit row "outbox_retry_given_up" (target the channel or "all",
 * detail the number); their number into *n (0: none, still audited). CORE_BUSY, CORE_ERROR. */
int core_outbox_retry_given_up(struct app *app, struct db_conn *c, const struct actor *who,
                               const char *channel, int64_t now, int64_t *n,
                               struct core_error *err);
/* --- the staff second factor (totp.c) --------------------------------------------------------- */

#define TOTP_DIGITS 6           /* digits of a code (RFC 6238 with HMAC-SHA1) */
#define TOTP_STEP 30            /* seconds of a time step */
#define TOTP_SECRET_TEXT 33     /* the key in base32 (32 characters) and its NUL */
#define TOTP_URI_MAX 512        /* bytes of an otpauth:// URI and its NUL */
#define TOTP_RECOVERY_CODES 10  /* recovery codes per enrolment */
#define TOTP_RECOVERY_SIZE 20   /* a recovery code "xxxx-xxxx-xxxx-xxxx" (80 bits) and its NUL */

/* 1 if accounts of role r must use a second factor (cfg.totp_roles), else 0. */
int totp_required(const struct app *app, enum role r);
/* 1 if the account has a confirmed TOTP enrolment, 0 if not, -1 on error. */
int totp_enrolled(struct db_conn *c, int64_t account_id);
/* Starts (or restarts, while unconfirmed) the enrolment of the session's account: a new random
 * key, stored unconfirmed, written into secret (base32) and uri (otpauth://totp/ISSUER:NAME?…),
 * in one transaction with an audit row. 0, or -1 with err: CORE_CONFLICT (code_name "enrolled":
 * an administrator resets it first), CORE_BUSY, CORE_ERROR. */
int core_totp_enroll(struct app *app, struct db_conn *c, const struct session *s,
                     const char *addr, int64_t now, char secret[TOTP_SECRET_TEXT],
                     char uri[TOTP_URI_MAX], struct core_error *err);
/* The enrolment the session's account started and has not confirmed yet: 1 with its key
 * (base32) in secret and its otpauth:// URI in uri (shown again to the same account until it
 * confirms), 0 when there is none (or it is confirmed), -1 on error. */
int core_totp_pending(struct app *app, struct db_conn *c, const struct session *s,
                      char secret[TOTP_SECRET_TEXT], char uri[TOTP_URI_MAX]);
/* Confirms the enrolment with a current code: the second factor is in use from now, and ten new
 * one-time recovery codes (stored hashed) are written into codes. Audited. 0, or -1 with err:
 * CORE_INVALID (field "code": wrong or reused), CORE_CONFLICT ("not_enrolling": no enrolment
 * started, or "enrolled"), CORE_BUSY, CORE_ERROR. */
int core_totp_confirm(struct app *app, struct db_conn *c, const struct session *s,
                      const char *addr, const char *code, int64_t now,
                      char codes[TOTP_RECOVERY_CODES][TOTP_RECOVERY_SIZE],
                      struct core_error *err);
/* Removes the second factor of account username (a lost phone), for an administrator or the
 * command line, audited; the account's sessions end. 0, or -1 with err: CORE_NOT_FOUND (no such
 * account, or it has no second factor), CORE_BUSY, CORE_ERROR. */
int core_totp_reset(struct app *app, struct db_conn *c, const struct actor *who,
                    const char *username, int64_t now, struct core_error *err);
/* The unused recovery codes of an account into *n. 0 or -1. */
int core_totp_recovery_left(struct db_conn *c, int64_t account_id, int64_t *n);
#define TOTP_KEY_UNAVAILABLE (-2) /* totp_check: the sealed key does not open */
/* Checks a second factor of account_id inside the caller's write transaction: code (6 digits,
 * within one step of now, never one of a step used before) or else recovery (an unused
 * recovery code, then used up). 1 accepted (*how: "totp" or "recovery code"; a used recovery
 * code is audited with the codes left), 0 refused, TOTP_KEY_UNAVAILABLE when a code cannot be
 * checked because the account's key is sealed and the key file is missing or wrong, -1
 * error. */
int totp_check(const struct app *app, struct db_conn *c, int64_t account_id,
               const char *username, const char *addr, const char *code,
               const char *recovery, int64_t now, const char **how);
/* The key file that seals the TOTP keys: secret_key_file, else civicdesk.key in the folder of
 * the database. */
void totp_key_path(const struct config *cfg, char *buf, size_t size);
/* serve's start: reads the key file into app (totp_seal, totp_seal_ok), making it (0600, a
 * random key) when it is missing and no stored key is sealed yet — never a new key over sealed
 * ones; seals the keys stored in the clear (written before schema 021) in one transaction; and
 * opens every sealed key once. A missing, unreadable or wrong key file is logged naming the
 * accounts that cannot sign in with a code (serve runs on: they are refused with a clear
 * message, enrolment is refused, recovery codes still work). 0, or -1 when the database cannot
 * be read or written. */
int totp_keys_start(struct app *app);
/* core_login with a second factor: code or recovery (either may be NULL) are checked after the
 * password for an account that enrolled one. Returns as core_login, and 3 when the password is
 * right but the account needs its second factor and neither was given (audited, not counted as
 * a failure); 4 when the password is right but a code cannot be checked because the key file
 * that seals the account's key is missing or wrong (audited, not counted; answer 503, a
 * recovery code still works). A wrong code counts as a failed login. */
int core_login_2fa(struct app *app, struct db_conn *c, const char *username, const char *password,
                   const char *code, const char *recovery, const char *addr, int64_t now,
                   char token[AUTH_TOKEN_SIZE], struct session **out);

/* --- audit (audit.c) ------------------------------------------------------------------------ */

/* Writes one audit row for who at now, inside the caller's transaction if one is open on c:
 * ok is 0 for refused attempts; detail may be NULL. 0 or -1. */
int audit_write(struct db_conn *c, int64_t now, const struct actor *who, const char *action,
                const char *target, int ok, const char *detail);
/* Archives the audit records older than cfg.audit_archive_days (at least 180) at now into a
 * new file in cfg.audit_archive_dir (default: the folder audit-archive beside the database,
 * created), which `civicdesk audit verify` checks with the live log (db_audit_archive), and
 * audits that it did. 0 (info->records 0: nothing old enough), or -1 with err. */
int core_audit_archive(struct app *app, int64_t now, struct db_archive_info *info, char *err,
                       size_t errsize);
/* The folder of audit archives: cfg.audit_archive_dir, or audit-archive beside cfg.db. */
void core_audit_archive_dir(const struct config *cfg, char *buf, size_t size);

/* --- workflow (workflow.c) ---------------------------------------------------------------- */

/* enum wf_state (the states of an item) and WF_BIT are in db.h. */

/* The actions of POST /api/v1/items/{tracking}/actions/{action}. */
enum wf_action {
	WF_ASSIGN,
	WF_ACCEPT,
	WF_FORWARD,
	WF_ASK_CITIZEN,
	WF_CITIZEN_ANSWER,
	WF_REQUEST_EXTENSION,
	WF_APPROVE_EXTENSION,
	WF_REFUSE_EXTENSION,
	WF_SEND_EXPLANATION,
	WF_DRAFT,
	WF_SUBMIT_REVIEW,
	WF_APPROVE,
	WF_RETURN,
	WF_SEND_REPLY,
	WF_CLOSE,
	WF_REJECT,
	WF_MERGE,
	WF_SEND_BACK, /* 申请退回: a section returns a mis-assigned item to the dispatcher */
	WF_ACTION__MAX
};

#define WF_TO_SAME (-1)   /* the state does not change */
#define WF_TO_RESUME (-2) /* back to the item's resume_state */

/* What the request body of an action must carry (bits of wf_transition.input; a "note" is
 * always accepted). */
enum wf_input {
	WF_IN_SECTION = 1 << 0, /* "section": name or id of the target section */
	WF_IN_NOTE = 1 << 1,    /* "reason" / "comment" / "note": non-empty text */
	WF_IN_TEXT = 1 << 2,    /* "text": draft, explanation or reply text */
	WF_IN_TARGET = 1 << 3,  /* "target": tracking number of the item merged into */
};

/* What an action does to the clocks and fields of the item (bits of wf_transition.effects). */
enum wf_effect {
	WF_FX_STOP_FORWARD = 1 << 0, /* the forward clock is satisfied */
	WF_FX_FORWARDED = 1 << 1,    /* reply clock kept or restarted per policy on_forward */
	WF_FX_PAUSE = 1 << 2,        /* running clocks stop while the citizen is asked */
	WF_FX_RESUME = 1 << 3,       /* ... and restart or resume (policy on_supplement) */
	WF_FX_OPEN_EXPLAIN = 1 << 4, /* the explain clock opens (3 WD from receipt) */
	WF_FX_EXTEND_REPLY = 1 << 5, /* reply due moves to reply_extended_days from its start */
	WF_FX_STOP_EXPLAIN = 1 << 6, /* the interim explanation was sent */
	WF_FX_STOP_ALL = 1 << 7,     /* every running clock stops (reply sent, reject, merge) */
	WF_FX_FREEZE = 1 << 8,       /* each clock's on_time / late result is frozen */
	WF_FX_RESUME_FORWARD = 1 << 9, /* a forward after acceptance resumes the forward clock with
	                                * its original due time: it runs until the section that
	                                * answers accepts the item */
};

/* One row of the transition table. */
struct wf_transition {
	enum wf_action action;
	const char *name;     /* as in the URL */
	unsigned from;        /* WF_BIT() of every state it may start from */
	int to;               /* enum wf_state, WF_TO_SAME or WF_TO_RESUME */
	unsigned roles;       /* ROLE_BIT() of the roles allowed */
	int scoped;           /* 1: handlers and section heads only on their section's items */
	unsigned input;       /* enum wf_input bits: what the body must carry */
	int citizen;          /* 1: its history row is shown to the citizen */
	unsigned effects;     /* enum wf_effect bits */
};

/* Verdict of wf_check(). */
enum wf_verdict {
	WF_OK,
	WF_ERR_ROLE,    /* 403: the role may never take this action */
	WF_ERR_SECTION, /* 403: the item belongs to another section */
	WF_ERR_STATE,   /* 409: not from the item's current state */
};

/* The state or -1. */
/* The action named s or -1. */
int wf_action_parse(const char *s);
/* The table row of an action (never NULL for a valid action). */
const struct wf_transition *wf_transition(enum wf_action a);
/* Checks an action against the caller's role and section and the item's state and section
 * (0: none). Role first, then section, then state. */
enum wf_verdict wf_check(enum wf_action a, enum wf_state state, enum role role,
                         int64_t item_section, int64_t user_section);
/* The actions the role may take from state, in table order: writes up to max of them into out
 * and returns how many there are. */
size_t wf_allowed(enum wf_state state, enum role role, enum wf_action *out, size_t max);
/* The state an action leads to from state (resume: the remembered state; -1 if none). */
int wf_next_state(enum wf_action a, enum wf_state state, int resume_state);

/* --- redaction of the public version (redact.c) ------------------------------------------ */

/* A new copy of text (UTF-8) with personal data masked for publication: the submitter's name
 * (exact, and its surname + 某 form, e.g. 张三 -> 张某; a Latin-script name also word by word,
 * "Wei Wang" finds "Wang Wei" -> W*** W***), mainland mobile numbers (1[3-9] and nine
 * digits, also with +86 / 86 and spaces or dashes) -> 138****5678, landlines (area code 0XX or
 * 0XXX, local number of 7-8 digits) -> 010-****5678, 18-digit ID numbers -> first 6
 * + ******** + last 4, e-mail addresses -> first character + *** @ domain. submitter_name may be
 * NULL or empty. Never splits a UTF-8 sequence; invalid bytes are copied as they are. Returns
 * NULL for NULL text or out of memory; the caller frees the result. */
char *redact_text(const char *text, const char *submitter_name);

/* What redact_text_opts found (bits of *found), in the order redact_found_text names them. */
enum redact_found {
	REDACT_NAME = 1u << 0,     /* the submitter's name */
	REDACT_PHONE = 1u << 1,    /* mobile or landline number */
	REDACT_ID = 1u << 2,       /* 18-digit ID number */
	REDACT_EMAIL = 1u << 3,    /* e-mail address */
	REDACT_ADDRESS = 1u << 4,  /* street address, Chinese (学院路38号3单元502室) or English */
	REDACT_CARD = 1u << 5,     /* bank card: 16-19 digits passing Luhn, or UnionPay 62… */
	REDACT_PASSPORT = 1u << 6, /* E12345678, EA1234567, G/P/S/D/C/H/K + 8 digits */
	REDACT_QQ = 1u << 7,       /* QQ 123456789 */
	REDACT_PLATE = 1u << 8,    /* licence plate 京A12345 */
	REDACT_PERSON = 1u << 9,   /* a third person named with a title: 物业经理王建国 */
};

struct redact_opts {
	const char *name; /* the submitter's name, or NULL */
	const char *keep; /* the bureau's published contacts (numbers, e-mail addresses; comma or
	                   * space separated) that are never masked, or NULL */
};

/* redact_text with options: besides the above, bank cards (last 4 kept), passports, QQ
 * numbers, licence plates (province and letter kept), street addresses (the street and what is
 * below it: 海淀区*** / ***), third persons named with a title (物业经理王某某), with
 * full-width digits and letters read as ASCII. The submitter's two-character CJK name is masked
 * only as a whole name (张三 is not found in 张三丰). Writes what it found into *found (may be
 * NULL). NULL for NULL text or out of memory; the caller frees the result. */
char *redact_text_opts(const char *text, const struct redact_opts *opts, unsigned *found);
/* Names the kinds of personal data in found ("phone number, address") into buf. */
void redact_found_text(unsigned found, char *buf, size_t size);
/* The name of one bit of enum redact_found. */
const char *redact_kind_name(unsigned bit);

/* --- actions on items (actions.c, public.c) ---------------------------------------------- */

/* What an action carries beyond its name; NULL / 0 when not given. Strings are lent. */
struct core_action_input {
	const char *note;     /* reason / comment / note */
	const char *text;     /* draft, explanation or reply text */
	const char *section;  /* target section by name ... */
	int64_t section_id;   /* ... or by id */
	const char *assignee; /* username */
	const char *target;   /* tracking number of the item merged into */
	struct db_attachment *att; /* files sent with the citizen's supplement (data lent; their
	                            * content types are set by attach_check) */
	size_t natt;
};

/* Takes action a on the item `tracking` for staff member who (role and section from s) at now:
 * the role, section and state checks, the item's fields and clocks, one history row and one
 * audit row, and what the notification hook writes, in one transaction on c. 0, or -1 with err
 * filled: CORE_NOT_FOUND, CORE_FORBIDDEN, CORE_CONFLICT (err.state, err.allowed: the actions
 * of the actor's role from the item's state), CORE_INVALID (a missing or bad input, err.field),
 * CORE_ERROR. A refused attempt (403, 409) is audited with ok = 0. */
int core_act(struct app *app, struct db_conn *c, const struct session *who, const char *addr,
             const char *tracking, enum wf_action a, const struct core_action_input *in,
             int64_t now, struct core_error *err);

/* The citizen's side of the workflow (query code instead of a session): their supplement
 * while the item waits for them (WF_CITIZEN_ANSWER, in->text required, in->att optional: the
 * checks of attach_check, the item's stored files counting towards its cap), applied in one
 * transaction like core_act, with history actor "citizen" and an audit row; the clocks resume
 * as the kind's policy says. A wrong code answers CORE_NOT_FOUND, as an unknown number does.
 * 0, or -1 with err: CORE_NOT_FOUND, CORE_INVALID, CORE_CONFLICT (not waiting), CORE_FORBIDDEN
 * (another action), CORE_ERROR. */
int core_citizen_act(struct app *app, struct db_conn *c, const char *tracking, const char *code,
                     const char *addr, enum wf_action a, const struct core_action_input *in,
                     int64_t now, struct core_error *err);

/* The citizen withdraws their consent to publication (item_too 0: off the board and Open311 at
 * once) or their item (item_too 1: consent too; an open item is closed, its clocks stopped and
 * their results frozen), with the query code, in one transaction with a citizen-visible history
 * row and an audit row. 0, or -1 with err: CORE_NOT_FOUND (unknown number or wrong code),
 * CORE_CONFLICT (code_name "not_open": replied, closed, rejected or merged), CORE_ERROR. */
int core_citizen_withdraw(struct app *app, struct db_conn *c, const char *tracking,
                          const char *code, const char *addr, int item_too, int64_t now,
                          struct core_error *err);

/* A change of one text of an item's public version. */
struct core_public_text {
	int set;          /* 0: leave it; 1: replace it with text (NULL: clear it, so that the
	                   * masked text is generated again on publication) */
	const char *text;
};

/* Code points of the public subject (an e-mail item's longer subject is cut to it in the
 * prepared public version, item_public_subject). */
#define PUBLIC_SUBJECT_MAX 200
#define PUBLIC_TEXT_MAX 20000  /* code points of the public body or reply */

/* Edits the public version of item `tracking` (subject, body, reply) and publishes (1),
 * withdraws (0) or leaves (-1) its publication, for a section head of its section or an admin,
 * in one transaction with its history and audit rows. Publishing needs the submitter's consent
 * and a sent reply, and fills what is missing with the masked text. An edited text is checked
 * with the detector of redact_text_opts (CORE_INVALID, code_name "personal_data", naming what
 * it found, unless confirmed); the texts it replaces are kept (db_public_version_add) and the
 * audit row holds the old and the new text. 0, or -1 with err: CORE_INVALID, CORE_FORBIDDEN,
 * CORE_NOT_FOUND, CORE_CONFLICT (code_name "no_consent", "not_replied", or "not_published" for
 * a withdrawal of what is not published), CORE_ERROR. */
int core_public_edit(struct app *app, struct db_conn *c, const struct session *who,
                     const char *addr, const char *tracking, const struct core_public_text *subject,
                     const struct core_public_text *body, const struct core_public_text *reply,
                     int publish, int64_t now, struct core_error *err);
/* The same; confirmed 1: the editor confirmed that the edited texts may be published although
 * the detector finds personal data in them (audited as such). */
int core_public_edit_confirmed(struct app *app, struct db_conn *c, const struct session *who,
                               const char *addr, const char *tracking,
                               const struct core_public_text *subject,
                               const struct core_public_text *body,
                               const struct core_public_text *reply, int publish, int confirmed,
                               int64_t now, struct core_error *err);

/* Fills the masked public version of an item whose submitter allows publication (fields staff
 * already wrote are kept), without publishing it (sending the reply prepares it; a section head
 * publishes it with core_public_edit); an item without consent is left alone. keep: the
 * bureau's contacts never masked, or NULL. 0, or -1 when out of memory. */
int item_make_public(struct db_item *item, const char *keep);
/* The public subject prepared from subject: masked by redact_text_opts(opts), then, when longer
 * than PUBLIC_SUBJECT_MAX (an e-mail item's), cut to PUBLIC_SUBJECT_MAX - 1 code points and "…",
 * so that the prepared version is one a section head can save and edit as it is (masked before
 * it is cut: personal data across the cut is never left half shown). A new string (free()),
 * or NULL when out of memory. */
char *item_public_subject(const char *subject, const struct redact_opts *opts);

/* --- attachments (attach.c) ------------------------------------------------------------- */

/* The content type of an attachment by its first bytes (pdf, png, jpeg, gif, webp, office
 * (zip-based documents), doc, txt: UTF-8 text as "text/plain", GB18030 (GBK, GB2312) text as
 * "text/plain; charset=gb18030", its bytes unchanged), with its short name in *name; NULL for
 * anything else (executables, HTML and other markup, the EICAR test file, unknown binaries). */
const char *attach_sniff(const void *data, size_t n, const char **name);
/* 1 if the short name is in the comma-separated list (attachment_types), else 0. */
int attach_allowed(const char *list, const char *name);
/* Fits the UTF-8 file name name (written in place) into max bytes (max > 0; the stored limit
 * is INTAKE_FILENAME_MAX): a longer one is cut before its extension (the last dot and at most
 * 16 bytes after it, no blank among them, less than half of max), on a character boundary,
 * with the blanks and dots the cut leaves at the end of the stem dropped, and the extension
 * kept; a name without one is cut at max on a character boundary. Returns the new length in
 * bytes. For the file names of every way in (mail, the API, the form: a client's can be
 * longer, RFC 2231 continuations and encoded words in mail, 255 UTF-16 units on Windows). */
size_t attach_name_fit(char *name, size_t max);
/* The kinds of file the list (attachment_types) allows, as a person names them ("PDF", "JPG",
 * "DOCX", …), joined by sep, into buf (size; cut at a whole name when full); and, when accept
 * is not NULL, the same kinds as a file input's accept attribute (".pdf,.jpg,.jpeg,…") into
 * accept (accept_size). A name not in core's table is left out of both. */
void attach_kinds(const char *list, const char *sep, char *buf, size_t size, char *accept,
                  size_t accept_size);
/* The checks of attachments for an item, whatever the way in (a submission, the citizen's
 * supplement): at most INTAKE_MAX_ATTACHMENTS, a UTF-8 file name, each at most attachment_max
 * bytes, a type allowed by attachment_types decided by content (att[i].content_type is set to
 * the sniffed type), and with the `stored` bytes the item holds already at most
 * attachment_item_max. 0, or -1 with err: CORE_INVALID or CORE_TOO_LARGE, field
 * "attachment". */
int attach_check(struct app *app, struct db_attachment *att, size_t natt, int64_t stored,
                 struct core_error *err);

/* --- virus scanning of attachments (scan.c) ------------------------------------------------ */

#define SCAN_NOTE_MAX 160 /* bytes of a scan's note (the signature found, or why it failed) */

enum scan_result {
	SCAN_CLEAN,
	SCAN_INFECTED,    /* the note names the signature */
	SCAN_UNAVAILABLE, /* clamd could not be reached or did not answer: hold the file */
};

/* What the scan of a new item's attachments found (filled by scan_intake). */
struct scan_report {
	int configured;  /* 0: no scanner (clamd_socket empty); nothing else is set */
	const char *state[INTAKE_MAX_ATTACHMENTS]; /* "clean" | "pending", of the kept files */
	char note[INTAKE_MAX_ATTACHMENTS][SCAN_NOTE_MAX];
	size_t held;     /* kept files held for a later scan */
	struct scan_refused {
		char filename[INTAKE_FILENAME_MAX + 1];
		char signature[SCAN_NOTE_MAX];
	} refused[INTAKE_MAX_ATTACHMENTS]; /* infected files, not stored */
	size_t nrefused;
};

/* Sends data[0..n) to clamd at spec (a socket path or host:port) with INSTREAM; the note says
 * what it found. */
enum scan_result scan_data(const char *spec, long timeout_ms, const void *data, size_t n,
                           char *note, size_t size);
/* Scans the attachments of in when cfg.clamd_socket is set: infected ones are taken out of
 * in->att (not stored), the others kept in order with their state. 0. */
int scan_intake(struct app *app, struct intake *in, struct scan_report *out);
/* Inside the transaction that stores item (or adds attachments to it): the scan state of each
 * kept attachment (the item's newest ones, in order), and for each refused one a history row
 * shown to the citizen and an audit row. 0 or -1. */
int scan_record(struct db_conn *c, const struct db_item *item, const struct scan_report *r,
                int64_t now);
/* serve's rescan: the held attachments scanned again, each outcome in its own transaction
 * (clean: served from now; infected: its content removed, history and audit say why); stops
 * at the first that still cannot be scanned. *done: how many were decided. 0 or -1. */
int scan_pending(struct app *app, int64_t now, int *done);
/* The scan state of an attachment ("clean", "pending", "infected"): 1, 0 when it has none (no
 * scanner was configured), -1 on error. */
int core_attachment_scan_state(struct db_conn *c, int64_t attachment_id, char state[16]);

/* --- content screening (screen.c) ------------------------------------------------------------ */

#define SCREEN_MATCHED_MAX 1024 /* bytes of the matched entries recorded for one item */

struct screen_list;
/* Builds the screening list from screen_words (comma-separated) and the file screen_file (""
 * for none; one entry a line), compiling every pattern (on characters: C.UTF-8): 0 with a new
 * list in *out (screen_list_free), or -1 with the reason in err. */
int screen_list_build(const char *words, const char *file, struct screen_list **out, char *err,
                      size_t errsize);
void screen_list_free(struct screen_list *l);
/* The entries of list (NULL: none) found in the texts (NULL texts are skipped; the first 8 are
 * looked at), written into buf comma-separated as the entries are written: how many matched.
 * A word matches the text when both, folded (NFKC, case, invisible characters left out),
 * contain it; a pattern, the text as it is or folded. Safe from any thread (the locale is the
 * thread's). */
int screen_match(const struct screen_list *list, const char *const *texts, size_t ntexts,
                 char *buf, size_t size);
/* s as screening compares it: NFKC, case-folded, the format characters (zero-width spaces, the
 * soft hyphen, marks of direction) left out. A new string (g_free), or NULL when s is not valid
 * UTF-8 or memory is short. */
char *screen_fold(const char *s);
/* Inside the transaction that stores item (or adds a citizen's mail to it): flags it with
 * matched (nothing when NULL or ""; a cleared flag is raised again), with a staff-only
 * history row and an audit row. 0 or -1. */
int screen_record(struct db_conn *c, const struct db_item *item, const char *matched,
                  int64_t now);
/* A dispatcher, supervisor or admin clears the screening flag of item `tracking` after review,
 * with a note, audited. 0, or -1 with err: CORE_INVALID ("note"), CORE_NOT_FOUND,
 * CORE_CONFLICT ("not_flagged"), CORE_BUSY, CORE_ERROR. */
int core_screen_clear(struct app *app, struct db_conn *c, const struct session *s,
                      const char *addr, const char *tracking, const char *note, int64_t now,
                      struct core_error *err);

/* --- reading items (read.c) ---------------------------------------------------------------- */

/* Item `tracking` for staff member s: handlers and section heads read their own section's items
 * only; every read, and every refusal, is audited (on a connection of its own, so that c may hold
 * a read snapshot). 0 with *out filled (db_item_free), or -1 with err: CORE_NOT_FOUND,
 * CORE_FORBIDDEN, CORE_BUSY, CORE_ERROR. */
int core_item_read(struct app *app, struct db_conn *c, const struct session *s, const char *addr,
                   const char *tracking, int64_t now, struct db_item *out,
                   struct core_error *err);
/* Attachment id of item `tracking` with its data, under the same rule and audit. 0 with *out
 * filled (db_attachment_free), or -1 with err. */
int core_attachment_read(struct app *app, struct db_conn *c, const struct session *s,
                         const char *addr, const char *tracking, int64_t id, int64_t now,
                         struct db_attachment *out, struct core_error *err);

/* What the public (the board, Open311) may see of an item: one rule for every public answer. */
enum public_view {
	PUBLIC_HIDDEN, /* no consent to publish: 404, never listed */
	PUBLIC_STATUS, /* consent, not published: status, service, dates, expected time only */
	PUBLIC_FULL,   /* published by a section head: its masked public version and reply */
};

enum public_view core_public_view(const struct db_item *item);

/* The queue's text search q as staff type it (search.c), into out: blanks of every kind at the
 * ends and between words left out, each word a word of out (a row matches when every word is in
 * its subject or body, case folded: db_fold), a text in quotation marks ("…", “…”) one word with
 * its blanks. A NULL, empty or blank q leaves out without words (no filter). 0, or -1 with err
 * CORE_INVALID naming the field "q" (400) when q is not text (UTF-8 without control characters
 * but tab and line breaks) or longer than CORE_SEARCH_MAX characters. */
#define CORE_SEARCH_MAX 100 /* characters of q */
int core_search_parse(const char *q, struct db_search *out, struct core_error *err);

/* Narrows the queue filter f to what s may see: handlers and section heads their own section
 * (CORE_FORBIDDEN, field "section", when f asks for another); others everything. 0 or -1. */
int core_queue_scope(const struct session *s, struct db_queue_filter *f, struct core_error *err);

/* --- statistics (stats.c) ------------------------------------------------------------------ */

#define STATS_LABEL_MAX 32 /* bytes of a period's label and its NUL */

/* A period of the statistics: local dates from..to, both included. */
struct stats_period {
	char label[STATS_LABEL_MAX]; /* as asked: "2026-11", "2026-Q4", "2026", "A..B" */
	sla_day from, to;
};

/* Parses "YYYY-MM", "YYYY-Qn", "YYYY" or "YYYY-MM-DD..YYYY-MM-DD" (at most 3660 days). 0 or -1. */
int stats_period_parse(const char *s, struct stats_period *out);

/* The figures of one section in a period. Rates are -1 when there is nothing to divide by. */
struct stats_section {
	int64_t section_id;
	char *name;             /* owned */
	int rank;               /* 1 = best; sections that tie share a rank */
	struct db_stats_row n;  /* the counts (db.h) */
	double on_time_rate;    /* 按时办结率: replied on time / replied */
	double completion_rate; /* 办结率: replied / reply due in the period */
	double satisfaction_rate; /* 满意率: (satisfied + basically satisfied) / ratings */
	double avg_wd, p90_wd;  /* working days from receipt to reply: mean, 90th percentile */
};

#define STATS_NO_SECTION "(no section)" /* the row of the items no section holds yet */

struct stats_report {
	struct stats_period period;
	sla_day end_day;              /* open and overdue are counted at the end of this day:
	                               * the period's last day, or today while it runs */
	struct stats_section *sections; /* ranked, best first; owned */
	size_t n;
	struct db_stats_row unassigned; /* items with no section yet */
	int64_t only_section;         /* the one section reported, or 0: every section, and then
	                               * the unassigned row too */
};

/* Checks a ranking specification (configuration key stats_rank): criteria separated by commas,
 * each once, from on_time, satisfaction, volume, completion, speed. 0, or -1 with err. */
int stats_rank_check(const char *spec, char *err, size_t errsize);
/* The statistics of period p at now for every section (only_section 0) or one, ranked by
 * cfg.stats_rank, read on c (call it inside db_begin_read, so that the figures come from one
 * snapshot). 0, or -1 with err (CORE_ERROR). */
int stats_compute(struct app *app, struct db_conn *c, const struct stats_period *p,
                  int64_t only_section, int64_t now, struct stats_report *out,
                  struct core_error *err);
void stats_report_free(struct stats_report *r);
/* The report as CSV (the UTF-8 byte order mark, then RFC 4180: a header line, one line per
 * section in rank order, CRLF; rates with four decimals, empty when missing; for every section,
 * a last line "(no section)" with no rank and the unassigned counts that `civicdesk stats`
 * and the JSON's "unassigned" give, its other cells empty): a new string the caller frees, or
 * NULL. */
char *stats_csv_new(const struct stats_report *r);
/* Brings the facts of item (as just stored, after `action` — a history action name, or NULL)
 * up to date inside the caller's transaction on c: called by every change of an item (txn.c,
 * intake.c), so that the statistics commit with it. What is frozen (the first reply, its
 * result and working days) is never rewritten. 0 or -1. */
int stats_record(struct app *app, struct db_conn *c, const struct db_item *item,
                 const char *action, int64_t at);
/* stats_record for the group-commit writer's `after` hook: between stats_batch_begin and
 * stats_batch_end of an unguarded batch (app->submit_stats, the writer's db_batch_hook), the
 * summary rows' changes are gathered and written by stats_batch_end; else as stats_record. */
int stats_record_batched(struct app *app, struct db_conn *c, const struct db_item *item,
                         const char *action, int64_t at);
/* The writer's gathering (opaque): new (NULL when out of memory), and free (NULL is fine). */
struct stats_batch *stats_batch_new(void);
void stats_batch_free(struct stats_batch *b);
/* db_batch_hook's begin and end, with cls a struct stats_batch. */
void stats_batch_begin(void *cls, int guarded);
int stats_batch_end(void *cls, struct db_conn *c);
/* Checks cfg.stats_rank and gives facts to the items stored before the statistics existed.
 * 0 or -1 (printed). */
int stats_backfill(struct app *app);

/* --- satisfaction ratings and their follow-up (rating.c) ------------------------------------ */

#define RATING_COMMENT_MAX 500 /* code points of a rating's comment */

/* The citizen with the query code `code` rates the reply of item `tracking` once per reply:
 * value "satisfied" | "basically_satisfied" | "unsatisfied", comment optional, within
 * cfg.rating_days days of the reply. An unsatisfied rating opens a follow-up for the section
 * head. One transaction with its history (shown to the citizen), audit and hook. 0, or -1 with
 * err: CORE_NOT_FOUND (unknown number or wrong code, the same), CORE_INVALID (field "value" or
 * "comment"), CORE_CONFLICT (code_name "not_replied", "rated" or "too_late"), CORE_ERROR. */
int core_rate(struct app *app, struct db_conn *c, const char *tracking, const char *code,
              const char *value, const char *comment, const char *addr, int64_t now,
              struct core_error *err);
/* The section head of the item's section closes the open follow-up of its unsatisfied rating:
 * reopen 0 confirms the rating with the note; reopen 1 reopens the item (重办): back to
 * in_progress with a new reply clock from now under the kind's policy, same tracking number.
 * 0, or -1 with err: CORE_FORBIDDEN, CORE_NOT_FOUND, CORE_INVALID ("note"), CORE_CONFLICT
 * (code_name "no_followup"), CORE_ERROR. */
int core_followup(struct app *app, struct db_conn *c, const struct session *who,
                  const char *addr, const char *tracking, int reopen, const char *note,
                  int64_t now, struct core_error *err);

/* --- supervision orders (supervise.c) ------------------------------------------------------- */

/* A supervisor marks the open item `tracking` as supervised (督办) with a note and an own due
 * date (local "YYYY-MM-DD", today or later; due at its end), one order per item; the
 * notification hook gets CORE_EV_SUPERVISED for the section head. 0, or -1 with err:
 * CORE_FORBIDDEN, CORE_NOT_FOUND, CORE_INVALID ("note", "due"), CORE_CONFLICT (code_name
 * "supervised" or "closed"), CORE_ERROR. */
int core_supervise(struct app *app, struct db_conn *c, const struct session *who,
                   const char *addr, const char *tracking, const char *note, const char *due,
                   int64_t now, struct core_error *err);

/* Wrong query codes are counted per (address, tracking number) (TRACK_FAILURES in TRACK_WINDOW),
 * per tracking number from every address (TRACK_ITEM_FAILURES: guessing one item's code from
 * many addresses) and per address over all numbers (TRACK_ADDR_FAILURES: walking the sequential
 * numbers), so that a citizen behind the same NAT address as someone who mistyped is never
 * refused. 1 when a look-up of tracking from addr is refused now (seconds to wait in *retry),
 * else 0. */
int core_track_refused(struct app *app, const char *addr, const char *tracking, int64_t now,
                       int64_t *retry);
/* 1 when an item waiting for the citizen since waiting_since (0: not waiting) has waited longer
 * than supplement_days working days at now (the queue marks it), else 0. */
int core_supplement_overdue(struct app *app, int64_t waiting_since, int64_t now);
/* Counts one wrong code (or unknown number) for tracking from addr. */
void core_track_failed(struct app *app, const char *addr, const char *tracking, int64_t now);

#endif
