/* names.c: the names of roles, kinds, channels and clocks as stored and as the API spells them. */
#include <string.h>

#include "core_int.h"

static const char *const roles[ROLE__MAX] = {
	[ROLE_HANDLER] = "handler",       [ROLE_SECTION_HEAD] = "section_head",
	[ROLE_DISPATCHER] = "dispatcher", [ROLE_SUPERVISOR] = "supervisor",
	[ROLE_ADMIN] = "admin",
};

static const char *const kinds[KIND__MAX] = {
	[KIND_LETTER] = "letter",
	[KIND_COMPLAINT] = "complaint",
	[KIND_CONSULTATION] = "consultation",
};

static const char *const channels[CHANNEL__MAX] = {
	[CHANNEL_WEB] = "web",
	[CHANNEL_EMAIL] = "email",
	[CHANNEL_POST] = "post",
	[CHANNEL_PHONE] = "phone",
};

static const char *const clocks[CLOCK__MAX] = {
	[CLOCK_FORWARD] = "forward",
	[CLOCK_REPLY] = "reply",
	[CLOCK_EXPLAIN] = "explain",
};

static int
find(const char *const *table, int n, const char *s)
{
	int i;

	if (s == NULL)
		return -1;
	for (i = 0; i < n; i++)
		if (strcmp(table[i], s) == 0)
			return i;
	return -1;
}

const char *
role_name(enum role r)
{
	return (unsigned)r < ROLE__MAX ? roles[r] : "?";
}

int
role_parse(const char *s)
{
	return find(roles, ROLE__MAX, s);
}

const char *
kind_name(enum kind k)
{
	return (unsigned)k < KIND__MAX ? kinds[k] : "?";
}

int
kind_parse(const char *s)
{
	return find(kinds, KIND__MAX, s);
}

const char *
channel_name(enum channel c)
{
	return (unsigned)c < CHANNEL__MAX ? channels[c] : "?";
}

int
channel_parse(const char *s)
{
	return find(channels, CHANNEL__MAX, s);
}

const char *
clock_label(enum clock_name c)
{
	return (unsigned)c < CLOCK__MAX ? clocks[c] : "?";
}

int
clock_parse(const char *s)
{
	return find(clocks, CLOCK__MAX, s);
}
