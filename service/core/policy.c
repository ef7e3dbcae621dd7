/*
 * policy.c: the keys of a kind's clock policy — their one parser and text form, shared by the
 * configuration file, the environment, the admin API and the stored overrides — and the
 * effective policies: the configuration's with the administrators' overrides on top.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "core_int.h"

enum ptype {
	PT_DAYS,          /* an int of struct policy (offset), POLICY_DAYS_MIN..MAX */
	PT_UNIT,          /* the unit of the three rules */
	PT_END_OF_DAY,    /* the end_minutes of the three rules */
	PT_ON_FORWARD,    /* enum on_forward */
	PT_ON_SUPPLEMENT, /* enum on_supplement */
};

struct pkey {
	const char *name;
	enum ptype type;
	size_t offset;             /* PT_DAYS: of the int in struct policy */
	const char *const *values; /* the names of an enumeration, by value; NULL-terminated */
	const char *accepts;       /* what a valid value is, for messages */
};

static const char *const units[] = {
    [SLA_WORKING_DAYS] = "working_days", [SLA_CALENDAR_DAYS] = "calendar_days", NULL};
static const char *const forwards[] = {
    [ON_FORWARD_KEEP] = "keep", [ON_FORWARD_RESTART] = "restart", NULL};
static const char *const supplements[] = {
    [ON_SUPPLEMENT_RESTART] = "restart", [ON_SUPPLEMENT_PAUSE] = "pause", NULL};

#define DAYS_ACCEPTS "an integer from " POLICY_DAYS_RANGE
#define DAYS(n, f)                                                                                 \
	{                                                                                          \
		n, PT_DAYS, offsetof(struct policy, f), NULL, DAYS_ACCEPTS                         \
	}

static const struct pkey pkeys[POLICY_KEY__MAX] = {
    [POLICY_FORWARD_DAYS] = DAYS("forward_days", forward.days),
    [POLICY_REPLY_DAYS] = DAYS("reply_days", reply.days),
    [POLICY_EXPLAIN_DAYS] = DAYS("explain_days", explain.days),
    [POLICY_REPLY_EXTENDED_DAYS] = DAYS("reply_extended_days", reply_extended_days),
    [POLICY_UNIT] = {"unit", PT_UNIT, 0, units, "working_days or calendar_days"},
    [POLICY_END_OF_DAY] = {"end_of_day", PT_END_OF_DAY, 0, NULL,
                           "a time HH:MM from 00:01 to 24:00"},
    [POLICY_ON_FORWARD] = {"on_forward", PT_ON_FORWARD, 0, forwards, "keep or restart"},
    [POLICY_ON_SUPPLEMENT] = {"on_supplement", PT_ON_SUPPLEMENT, 0, supplements,
                              "restart or pause"},
};

const char *
policy_key_name(enum policy_key k)
{
	return (unsigned)k < POLICY_KEY__MAX ? pkeys[k].name : "?";
}

int
policy_key_parse(const char *s)
{
	int i;

	if (s == NULL)
		return -1;
	for (i = 0; i < POLICY_KEY__MAX; i++)
		if (strcmp(pkeys[i].name, s) == 0)
			return i;
	return -1;
}

int
policy_key_is_days(enum policy_key k)
{
	return (unsigned)k < POLICY_KEY__MAX && pkeys[k].type == PT_DAYS;
}

const char *const *
policy_key_values(enum policy_key k)
{
	return (unsigned)k < POLICY_KEY__MAX ? pkeys[k].values : NULL;
}

/* Decimal digits only (no sign, no blanks), POLICY_DAYS_MIN..MAX: 0 and *out, or -1. */
static int
parse_days(const char *s, int *out)
{
	int v = 0;
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] < '0' || s[i] > '9' || i >= 4)
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (i == 0 || v < POLICY_DAYS_MIN || v > POLICY_DAYS_MAX)
		return -1;
	*out = v;
	return 0;
}

/* "HH:MM", two digits each, 00:01..24:00: 0 and the minutes after midnight, or -1. */
static int
parse_end_of_day(const char *s, int *out)
{
	int h, m;

	if (strlen(s) != 5 || s[2] != ':')
		return -1;
	if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9' || s[3] < '0' || s[3] > '9' ||
	    s[4] < '0' || s[4] > '9')
		return -1;
	h = (s[0] - '0') * 10 + (s[1] - '0');
	m = (s[3] - '0') * 10 + (s[4] - '0');
	if (m > 59 || h * 60 + m > 1440 || h * 60 + m == 0)
		return -1;
	*out = h * 60 + m;
	return 0;
}

/* The index of s in a NULL-terminated table of names, or -1. */
static int
parse_name(const char *const *values, const char *s)
{
	int i;

	for (i = 0; values[i] != NULL; i++)
		if (strcmp(values[i], s) == 0)
			return i;
	return -1;
}

int
policy_set(struct policy *p, enum policy_key k, const char *value, const char **why)
{
	const struct pkey *pk;
	int v;

	if ((unsigned)k >= POLICY_KEY__MAX) {
		*why = "an unknown key";
		return -1;
	}
	pk = &pkeys[k];
	if (value == NULL)
		goto bad;
	switch (pk->type) {
	case PT_DAYS:
		if (parse_days(value, &v) != 0)
			goto bad;
		*(int *)((char *)p + pk->offset) = v;
		return 0;
	case PT_END_OF_DAY:
		if (parse_end_of_day(value, &v) != 0)
			goto bad;
		p->forward.end_minutes = p->reply.end_minutes = p->explain.end_minutes = v;
		return 0;
	case PT_UNIT:
	case PT_ON_FORWARD:
	case PT_ON_SUPPLEMENT:
		v = parse_name(pk->values, value);
		if (v < 0)
			goto bad;
		if (pk->type == PT_UNIT)
			p->forward.unit = p->reply.unit = p->explain.unit = (enum sla_unit)v;
		else if (pk->type == PT_ON_FORWARD)
			p->on_forward = (enum on_forward)v;
		else
			p->on_supplement = (enum on_supplement)v;
		return 0;
	}
bad:
	*why = pk->accepts;
	return -1;
}

void
policy_format(const struct policy *p, enum policy_key k, char buf[POLICY_VALUE_MAX])
{
	const struct pkey *pk;
	int m;

	buf[0] = '\0';
	if ((unsigned)k >= POLICY_KEY__MAX)
		return;
	pk = &pkeys[k];
	switch (pk->type) {
	case PT_DAYS:
		snprintf(buf, POLICY_VALUE_MAX, "%d", *(const int *)((const char *)p + pk->offset));
		break;
	case PT_END_OF_DAY:
		/* a zeroed rule means 24:00 (sla.h) */
		m = p->reply.end_minutes > 0 && p->reply.end_minutes <= 1440 ? p->reply.end_minutes
		                                                             : 1440;
		snprintf(buf, POLICY_VALUE_MAX, "%02d:%02d", m / 60, m % 60);
		break;
	case PT_UNIT:
		snprintf(buf, POLICY_VALUE_MAX, "%s",
		         pk->values[p->reply.unit == SLA_CALENDAR_DAYS]);
		break;
	case PT_ON_FORWARD:
		snprintf(buf, POLICY_VALUE_MAX, "%s",
		         pk->values[p->on_forward == ON_FORWARD_RESTART]);
		break;
	case PT_ON_SUPPLEMENT:
		snprintf(buf, POLICY_VALUE_MAX, "%s",
		         pk->values[p->on_supplement == ON_SUPPLEMENT_PAUSE]);
		break;
	}
}

int
policies_build(const struct config *cfg, const struct db_policy *rows, size_t n,
               struct policies *out, char *err, size_t errsize)
{
	struct policies t;
	const char *why;
	size_t i;
	int kind, key;

	memset(&t, 0, sizeof(t));
	memcpy(t.kind, cfg->policy, sizeof(t.kind));
	for (i = 0; i < n; i++) {
		const struct db_policy *r = &rows[i];

		kind = (unsigned)r->kind < KIND__MAX ? (int)r->kind : -1;
		key = policy_key_parse(r->key);
		if (kind < 0 || key < 0) {
			snprintf(err, errsize, "stored policy %s.%s (set by %s): unknown %s",
			         kind_name(r->kind), r->key, r->updated_by_name ? r->updated_by_name : "?",
			         kind < 0 ? "kind" : "key");
			return -1;
		}
		if (policy_set(&t.kind[kind], (enum policy_key)key, r->value, &why) != 0) {
			snprintf(
			    err, errsize,
			    "stored policy %s.%s = '%s' (set by %s): invalid value, expected %s",
			    kind_name(r->kind), r->key, r->value,
			    r->updated_by_name ? r->updated_by_name : "?", why);
			return -1;
		}
		t.admin[kind] |= 1u << key;
	}
	*out = t;
	return 0;
}

int
policies_read(const struct config *cfg, struct db_conn *c, struct policies *out, char *err,
              size_t errsize)
{
	struct db_policy *rows = NULL;
	size_t n = 0;
	int rc;

	if (db_policy_list(c, &rows, &n) != 0) {
		snprintf(err, errsize, "the stored policies cannot be read: %s", db_errmsg(c));
		return -1;
	}
	rc = policies_build(cfg, rows, n, out, err, errsize);
	db_policies_free(rows, n);
	return rc;
}


const char *
policy_inconsistent(const struct policy *p, const char **field)
{
	if (p->forward.days > p->reply.days && p->forward.unit == p->reply.unit) {
		*field = "forward_days";
		return "forward_days must not be longer than reply_days: an item is forwarded "
		       "before it is answered";
	}
	return NULL;
}
