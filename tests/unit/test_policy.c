/*
 * test_policy.c: unit tests of the clock policy keys (service/policy.c): the one parser and its
 * text form, that the configuration accepts exactly what the parser accepts, the effective
 * policies built from the configuration and stored overrides, and their JSON.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service/core/core.h"
#include "service/api/api_int.h"
#include "tests/check.h"

static struct config
config_defaults(void)
{
	struct config cfg;
	char err[512];

	unsetenv("CIVICDESK_POLICY_LETTER_REPLY_DAYS");
	if (config_load(&cfg, NULL, 0, err, sizeof(err)) != 0)
		printf("# config_load: %s\n", err);
	return cfg;
}

static void
test_keys(struct t *t)
{
	int k;

	CHECK_INT(t, policy_key_parse("reply_days"), POLICY_REPLY_DAYS);
	CHECK_INT(t, policy_key_parse("on_supplement"), POLICY_ON_SUPPLEMENT);
	CHECK_INT(t, policy_key_parse("source"), -1);
	CHECK_INT(t, policy_key_parse("Reply_days"), -1);
	CHECK_INT(t, policy_key_parse(NULL), -1);
	for (k = 0; k < POLICY_KEY__MAX; k++)
		CHECK_INT(t, policy_key_parse(policy_key_name((enum policy_key)k)), k);
	CHECK(t, policy_key_is_days(POLICY_REPLY_EXTENDED_DAYS));
	CHECK(t, !policy_key_is_days(POLICY_UNIT));
}

static void
test_set_and_format(struct t *t)
{
	struct config cfg = config_defaults();
	struct policy p = cfg.policy[KIND_LETTER], before;
	char buf[POLICY_VALUE_MAX];
	const char *why = NULL;
	size_t i;
	static const struct {
		enum policy_key k;
		const char *in, *out; /* out NULL: refused */
	} cases[] = {
	    {POLICY_REPLY_DAYS, "10", "10"},
	    {POLICY_REPLY_DAYS, "1", "1"},
	    {POLICY_REPLY_DAYS, "60", "60"},
	    {POLICY_REPLY_DAYS, "366", "366"},
	    {POLICY_REPLY_DAYS, "07", "7"},
	    {POLICY_REPLY_DAYS, "0", NULL},
	    {POLICY_REPLY_DAYS, "367", NULL},
	    {POLICY_REPLY_DAYS, "-5", NULL},
	    {POLICY_REPLY_DAYS, "+5", NULL},
	    {POLICY_REPLY_DAYS, " 5", NULL},
	    {POLICY_REPLY_DAYS, "5 ", NULL},
	    {POLICY_REPLY_DAYS, "5.0", NULL},
	    {POLICY_REPLY_DAYS, "", NULL},
	    {POLICY_REPLY_DAYS, "99999999999999999999", NULL},
	    {POLICY_REPLY_EXTENDED_DAYS, "30", "30"},
	    {POLICY_UNIT, "calendar_days", "calendar_days"},
	    {POLICY_UNIT, "working_days", "working_days"},
	    {POLICY_UNIT, "days", NULL},
	    {POLICY_END_OF_DAY, "17:30", "17:30"},
	    {POLICY_END_OF_DAY, "24:00", "24:00"},
	    {POLICY_END_OF_DAY, "00:01", "00:01"},
	    {POLICY_END_OF_DAY, "00:00", NULL},
	    {POLICY_END_OF_DAY, "24:01", NULL},
	    {POLICY_END_OF_DAY, "17:60", NULL},
	    {POLICY_END_OF_DAY, "9:30", NULL},
	    {POLICY_END_OF_DAY, "17:30x", NULL},
	    {POLICY_ON_FORWARD, "restart", "restart"},
	    {POLICY_ON_FORWARD, "pause", NULL},
	    {POLICY_ON_SUPPLEMENT, "pause", "pause"},
	    {POLICY_ON_SUPPLEMENT, "keep", NULL},
	};

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		before = p;
		why = NULL;
		if (cases[i].out == NULL) {
			CHECK_INT(t, policy_set(&p, cases[i].k, cases[i].in, &why), -1);
			CHECK(t, why != NULL);
			CHECK(t, memcmp(&before, &p, sizeof(p)) == 0); /* unchanged */
			if (why == NULL || memcmp(&before, &p, sizeof(p)) != 0)
				printf("# case %s = '%s'\n", policy_key_name(cases[i].k),
				       cases[i].in);
			continue;
		}
		CHECK_INT(t, policy_set(&p, cases[i].k, cases[i].in, &why), 0);
		policy_format(&p, cases[i].k, buf);
		CHECK_STR(t, buf, cases[i].out);
	}
	CHECK_INT(t, policy_set(&p, POLICY_REPLY_DAYS, NULL, &why), -1);
	/* unit and end of day apply to the three clocks */
	CHECK_INT(t, policy_set(&p, POLICY_UNIT, "calendar_days", &why), 0);
	CHECK(t, p.forward.unit == SLA_CALENDAR_DAYS && p.reply.unit == SLA_CALENDAR_DAYS &&
	             p.explain.unit == SLA_CALENDAR_DAYS);
	CHECK_INT(t, policy_set(&p, POLICY_END_OF_DAY, "17:30", &why), 0);
	CHECK_INT(t, p.forward.end_minutes, 1050);
	CHECK_INT(t, p.explain.end_minutes, 1050);
	CHECK_INT(t, policy_set(&p, POLICY_EXPLAIN_DAYS, "4", &why), 0);
	CHECK_INT(t, p.explain.days, 4);
	CHECK_INT(t, p.reply.days, 7); /* the last accepted "07": the other keys are left alone */
	config_free(&cfg);
}

/* The configuration accepts exactly what the API's parser accepts. */
static void
test_config_agrees(struct t *t)
{
	struct config cfg;
	char err[512];

	setenv("CIVICDESK_POLICY_LETTER_REPLY_DAYS", "12", 1);
	CHECK_INT(t, config_load(&cfg, NULL, 0, err, sizeof(err)), 0);
	CHECK_INT(t, cfg.policy[KIND_LETTER].reply.days, 12);
	CHECK_INT(t, cfg.policy[KIND_COMPLAINT].reply.days, 5);
	config_free(&cfg);
	setenv("CIVICDESK_POLICY_LETTER_REPLY_DAYS", "367", 1);
	CHECK_INT(t, config_load(&cfg, NULL, 0, err, sizeof(err)), -1);
	CHECK(t, strstr(err, "CIVICDESK_POLICY_LETTER_REPLY_DAYS") != NULL);
	CHECK(t, strstr(err, "an integer from 1 to 366") != NULL);
	/* an extension never shorter than the reply limit */
	setenv("CIVICDESK_POLICY_LETTER_REPLY_DAYS", "20", 1);
	CHECK_INT(t, config_load(&cfg, NULL, 0, err, sizeof(err)), -1);
	CHECK(t, strstr(err, "policy.letter.reply_extended_days (15) must be at least "
	                     "policy.letter.reply_days (20)") != NULL);
	setenv("CIVICDESK_POLICY_LETTER_REPLY_EXTENDED_DAYS", "30", 1);
	CHECK_INT(t, config_load(&cfg, NULL, 0, err, sizeof(err)), 0);
	config_free(&cfg);
	unsetenv("CIVICDESK_POLICY_LETTER_REPLY_EXTENDED_DAYS");
	setenv("CIVICDESK_POLICY_LETTER_REPLY_DAYS", "0", 1);
	CHECK_INT(t, config_load(&cfg, NULL, 0, err, sizeof(err)), -1);
	unsetenv("CIVICDESK_POLICY_LETTER_REPLY_DAYS");
	setenv("CIVICDESK_POLICY_COMPLAINT_END_OF_DAY", "9:30", 1);
	CHECK_INT(t, config_load(&cfg, NULL, 0, err, sizeof(err)), -1);
	setenv("CIVICDESK_POLICY_COMPLAINT_END_OF_DAY", "09:30", 1);
	CHECK_INT(t, config_load(&cfg, NULL, 0, err, sizeof(err)), 0);
	CHECK_INT(t, cfg.policy[KIND_COMPLAINT].reply.end_minutes, 570);
	config_free(&cfg);
	unsetenv("CIVICDESK_POLICY_COMPLAINT_END_OF_DAY");
}

static void
test_build(struct t *t)
{
	struct config cfg = config_defaults();
	struct policies p, untouched;
	char err[512];
	struct db_policy rows[] = {
	    {KIND_COMPLAINT, (char *)"on_forward", (char *)"restart", 0, 1, (char *)"root"},
	    {KIND_LETTER, (char *)"end_of_day", (char *)"17:30", 0, 1, (char *)"root"},
	    {KIND_LETTER, (char *)"reply_days", (char *)"10", 0, 1, (char *)"root"},
	};
	struct db_policy bad_value = {KIND_LETTER, (char *)"reply_days", (char *)"ten", 0, 1,
	                              (char *)"root"};
	struct db_policy bad_key = {KIND_LETTER, (char *)"colour", (char *)"red", 0, 0, NULL};
	struct db_policy bad_kind = {KIND__MAX, (char *)"reply_days", (char *)"5", 0, 0, NULL};

	cfg.policy[KIND_LETTER].forward.days = 2; /* as if from the configuration file */
	CHECK_INT(t, policies_build(&cfg, NULL, 0, &p, err, sizeof(err)), 0);
	CHECK(t, memcmp(p.kind, cfg.policy, sizeof(p.kind)) == 0);
	CHECK_INT(t, p.admin[KIND_LETTER] | p.admin[KIND_COMPLAINT] | p.admin[KIND_CONSULTATION],
	          0);

	CHECK_INT(t, policies_build(&cfg, rows, 3, &p, err, sizeof(err)), 0);
	CHECK_INT(t, p.kind[KIND_LETTER].reply.days, 10);
	CHECK_INT(t, p.kind[KIND_LETTER].reply.end_minutes, 1050);
	CHECK_INT(t, p.kind[KIND_LETTER].forward.days, 2); /* the configuration's */
	CHECK_INT(t, p.admin[KIND_LETTER], (1u << POLICY_REPLY_DAYS) | (1u << POLICY_END_OF_DAY));
	CHECK_INT(t, p.kind[KIND_COMPLAINT].on_forward, ON_FORWARD_RESTART);
	CHECK_INT(t, p.kind[KIND_COMPLAINT].reply.days, 5);
	CHECK_INT(t, p.admin[KIND_COMPLAINT], 1u << POLICY_ON_FORWARD);
	CHECK_INT(t, p.admin[KIND_CONSULTATION], 0);
	CHECK_INT(t, cfg.policy[KIND_LETTER].reply.days, 5); /* the defaults stay as they were */

	/* a row the parser refuses: -1, named, and *out untouched */
	untouched = p;
	CHECK_INT(t, policies_build(&cfg, &bad_value, 1, &p, err, sizeof(err)), -1);
	CHECK(t, strstr(err, "letter.reply_days = 'ten'") != NULL);
	CHECK(t, strstr(err, "root") != NULL);
	CHECK(t, memcmp(&untouched, &p, sizeof(p)) == 0);
	CHECK_INT(t, policies_build(&cfg, &bad_key, 1, &p, err, sizeof(err)), -1);
	CHECK(t, strstr(err, "letter.colour") != NULL && strstr(err, "unknown key") != NULL);
	CHECK_INT(t, policies_build(&cfg, &bad_kind, 1, &p, err, sizeof(err)), -1);
	CHECK(t, strstr(err, "unknown kind") != NULL);
	config_free(&cfg);
}

static void
test_json(struct t *t)
{
	struct config cfg = config_defaults();
	struct policy p = cfg.policy[KIND_LETTER];
	const char *why;
	json_t *j;
	char *s;

	policy_set(&p, POLICY_REPLY_DAYS, "10", &why);
	j = policy_json(&p, 1u << POLICY_REPLY_DAYS);
	s = j ? json_dumps(j, JSON_COMPACT) : NULL;
	CHECK_STR(
	    t, s,
	    "{\"forward_days\":3,\"reply_days\":10,\"explain_days\":3,"
	    "\"reply_extended_days\":15,\"unit\":\"working_days\",\"end_of_day\":\"24:00\","
	    "\"on_forward\":\"keep\",\"on_supplement\":\"restart\",\"source\":{"
	    "\"forward_days\":\"config\",\"reply_days\":\"admin\",\"explain_days\":\"config\","
	    "\"reply_extended_days\":\"config\",\"unit\":\"config\",\"end_of_day\":\"config\","
	    "\"on_forward\":\"config\",\"on_supplement\":\"config\"}}");
	free(s);
	json_decref(j);
	config_free(&cfg);
}

int
main(void)
{
	struct t t = {0, 0, 0};

	RUN(&t, test_keys);
	RUN(&t, test_set_and_format);
	RUN(&t, test_config_agrees);
	RUN(&t, test_build);
	RUN(&t, test_json);
	return t_done(&t);
}
