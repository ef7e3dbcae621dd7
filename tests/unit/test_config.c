/*
 * test_config.c: unit tests of civicdesk.conf's reading (service/core/config.c): where a '#'
 * starts a comment and where it is part of the value, and the files refused because they could
 * be read two ways (naming the key and the line, never a password).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "service/core/core.h"
#include "tests/check.h"

/* The environment variables these tests' keys read, unset so that only the file counts. */
static const char *const vars[] = {
    "CIVICDESK_MAX_CONNECTIONS",    "CIVICDESK_LISTEN",
    "CIVICDESK_SMTP_URL",           "CIVICDESK_SMTP_PASSWORD",
    "CIVICDESK_SMTP_FROM",          "CIVICDESK_PUBLIC_URL",
    "CIVICDESK_SMS_QUIET",          "CIVICDESK_DB",
    "CIVICDESK_POLICY_LETTER_UNIT", "CIVICDESK_SCREEN_WORDS",
    "CIVICDESK_SMTP_USER",          "CIVICDESK_DEMO",
    "CIVICDESK_TOTP_ROLES",         "CIVICDESK_SMTP_STARTTLS",
};

/* Loads text as a configuration file: config_load's result, the message in err. */
static int
load(const char *text, struct config *cfg, char *err, size_t errsize)
{
	char path[] = "/tmp/civicdesk-test-conf-XXXXXX";
	int fd = mkstemp(path), rc;
	FILE *f;
	size_t i;

	err[0] = '\0';
	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		unsetenv(vars[i]);
	if (fd < 0)
		return -2;
	f = fdopen(fd, "w");
	if (f == NULL) {
		close(fd);
		unlink(path);
		return -2;
	}
	fputs(text, f);
	fclose(f);
	rc = config_load(cfg, path, 1, err, errsize);
	unlink(path);
	return rc;
}

/* After a value with a syntax (a number, a switch, an address, a URL, a policy word), a '#'
 * that starts the value or follows a blank is a comment; one inside a word stays. */
static void
test_comment_after_typed_values(struct t *t)
{
	struct config cfg;
	char err[1024];

	CHECK_INT(t,
	          load("max_connections = 100  # the most at once\n"
	               "listen = 127.0.0.1:8081\t# the port\n"
	               "smtp_url = smtp://127.0.0.1:25 # the relay\n"
	               "sms_quiet = 22:00-07:00 rest-days # nights and holidays\n"
	               "policy.letter.unit = calendar_days # as the bureau counts\n"
	               "demo = 0 # no demo accounts\n"
	               "public_url = https://xf.example.gov.cn/#board\n"
	               "smtp_starttls = # the default\n",
	               &cfg, err, sizeof(err)),
	          0);
	if (err[0] != '\0')
		printf("# %s\n", err);
	CHECK_INT(t, cfg.max_connections, 100);
	CHECK_STR(t, cfg.listen, "127.0.0.1:8081");
	CHECK_STR(t, cfg.smtp_url, "smtp://127.0.0.1:25");
	CHECK_STR(t, cfg.sms_quiet, "22:00-07:00 rest-days");
	CHECK_INT(t, cfg.demo, 0);
	CHECK_INT(t, cfg.policy[KIND_LETTER].reply.unit, SLA_CALENDAR_DAYS);
	CHECK_STR(t, cfg.public_url, "https://xf.example.gov.cn/#board"); /* no blank before */
	CHECK_STR(t, cfg.smtp_starttls, "");
	config_free(&cfg);
}

/* A value that does not parse names the file's line, the key and what was expected. */
static void
test_bad_typed_value_names_line_key_expected(struct t *t)
{
	struct config cfg;
	char err[1024];

	CHECK_INT(t, load("# civicdesk\n\nmax_connections = 100#most\n", &cfg, err, sizeof(err)),
	          -1);
	CHECK(t, strstr(err, ":3: max_connections: invalid value '100#most': expected a whole "
	                     "number from 1 to 65535") != NULL);
	CHECK_INT(t, load("demo = yes # please\n", &cfg, err, sizeof(err)), -1);
	CHECK(t, strstr(err, ":1: demo: invalid value 'yes': expected a whole number from 0 to "
	                     "1") != NULL);
	CHECK_INT(t, load("policy.letter.unit = days # c\n", &cfg, err, sizeof(err)), -1);
	CHECK(t, strstr(err, ":1: policy.letter.unit: invalid value 'days' (expected: "
	                     "working_days or calendar_days)") != NULL);
}

/* In free text (passwords, names, paths) '#' is data: pa#ss is the password. */
static void
test_hash_in_text_is_data(struct t *t)
{
	struct config cfg;
	char err[1024];

	CHECK_INT(t,
	          load("smtp_user = civic#1\nsmtp_password = pa#ss#\n"
	               "smtp_from = \"信访办\" <xf#1@bureau.example>\n"
	               "screen_words = re:[0-9]#x,word\n",
	               &cfg, err, sizeof(err)),
	          0);
	if (err[0] != '\0')
		printf("# %s\n", err);
	CHECK_STR(t, cfg.smtp_user, "civic#1");
	CHECK_STR(t, cfg.smtp_password, "pa#ss#");
	CHECK_STR(t, cfg.smtp_from, "\"信访办\" <xf#1@bureau.example>");
	CHECK_STR(t, cfg.screen_words, "re:[0-9]#x,word");
	config_free(&cfg);
}

/* A '#' that begins a text value or follows a blank in it could be a comment or the value: the
 * file is refused, naming the line, the key and the environment variable that takes such a
 * value as written; the message never holds the value (a password). */
static void
test_ambiguous_text_is_refused(struct t *t)
{
	static const char *const files[] = {
	    "smtp_password = S3cret-pw  # the relay's\n",
	    "smtp_password = # S3cret-pw\n",
	    "smtp_password = #S3cret-pw\n",
	    "smtp_password = S3cret\t#pw\n",
	};
	struct config cfg;
	char err[1024];
	size_t i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		CHECK_INT(t, load(files[i], &cfg, err, sizeof(err)), -1);
		CHECK(t, strstr(err, ":1: smtp_password: a '#' ") != NULL);
		CHECK(t, strstr(err, "CIVICDESK_SMTP_PASSWORD") != NULL);
		CHECK(t, strstr(err, "S3cret") == NULL);
	}
	CHECK_INT(t,
	          load("demo = 0\ndb = /var/lib/civicdesk/civicdesk.db # the database\n", &cfg, err,
	               sizeof(err)),
	          -1);
	CHECK(t, strstr(err, ":2: db: a '#' after a blank in the value") != NULL);
	/* the environment takes the value as written, ' #' and all */
	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		unsetenv(vars[i]);
	setenv("CIVICDESK_SMTP_PASSWORD", "#S3cret #pw", 1);
	CHECK_INT(t, config_load(&cfg, NULL, 0, err, sizeof(err)), 0);
	CHECK_STR(t, cfg.smtp_password, "#S3cret #pw");
	unsetenv("CIVICDESK_SMTP_PASSWORD");
	config_free(&cfg);
}

/* A string value in quotes would keep them: refused, typed or text. */
static void
test_quoted_string_is_refused(struct t *t)
{
	struct config cfg;
	char err[1024];

	CHECK_INT(t, load("smtp_password = \"S3cret\"\n", &cfg, err, sizeof(err)), -1);
	CHECK(t, strstr(err, ":1: smtp_password: the value is in quotes") != NULL);
	CHECK(t, strstr(err, "S3cret") == NULL);
	CHECK_INT(t, load("public_url = 'https://x.example' # the link\n", &cfg, err, sizeof(err)),
	          -1);
	CHECK(t, strstr(err, ":1: public_url: the value is in quotes") != NULL);
}

/* Other ways a file could be misread: a key set twice, a line too long to read whole; and an
 * editor's byte order mark, which is skipped. */
static void
test_misreadings_refused(struct t *t)
{
	struct config cfg;
	char err[1024], *big;
	size_t n = 5000;

	CHECK_INT(t, load("demo = 1\n# later\ndemo = 0\n", &cfg, err, sizeof(err)), -1);
	CHECK(t, strstr(err, ":3: demo is set again (first on line 1)") != NULL);
	big = malloc(n + 64);
	if (big != NULL) {
		strcpy(big, "screen_words = ");
		memset(big + strlen(big), 'a', n);
		strcpy(big + 15 + n, "\ndemo = 0\n");
		CHECK_INT(t, load(big, &cfg, err, sizeof(err)), -1);
		CHECK(t, strstr(err, ":1: the line is longer than 4094 bytes") != NULL);
		free(big);
	}
	CHECK_INT(t,
	          load("\xEF\xBB\xBF"
	               "demo = 0\n",
	               &cfg, err, sizeof(err)),
	          0);
	CHECK_INT(t, cfg.demo, 0);
	config_free(&cfg);
}

int
main(void)
{
	struct t t = {0, 0, 0};

	RUN(&t, test_comment_after_typed_values);
	RUN(&t, test_bad_typed_value_names_line_key_expected);
	RUN(&t, test_hash_in_text_is_data);
	RUN(&t, test_ambiguous_text_is_refused);
	RUN(&t, test_quoted_string_is_refused);
	RUN(&t, test_misreadings_refused);
	return t_done(&t);
}
