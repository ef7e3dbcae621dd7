/* db_names.c: the names of roles, kinds, channels, item states, clocks and languages, as the store holds
 * them and as the API spells them. The one table of each; everything above db/ passes enums. */
#include <string.h>

#include "db.h"

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

static const char *const states[WF_STATE__MAX] = {
	[WF_RECEIVED] = "received",
	[WF_ASSIGNED] = "assigned",
	[WF_IN_PROGRESS] = "in_progress",
	[WF_WAITING_CITIZEN] = "waiting_citizen",
	[WF_EXTENSION_REQUESTED] = "extension_requested",
	[WF_DRAFTED] = "drafted",
	[WF_IN_REVIEW] = "in_review",
	[WF_RETURNED] = "returned",
	[WF_APPROVED] = "approved",
	[WF_REPLIED] = "replied",
	[WF_CLOSED] = "closed",
	[WF_FORWARDED] = "forwarded",
	[WF_REJECTED] = "rejected",
	[WF_MERGED] = "merged",
};

static const char *const clocks[CLOCK__MAX] = {
	[CLOCK_FORWARD] = "forward",
	[CLOCK_REPLY] = "reply",
	[CLOCK_EXPLAIN] = "explain",
};

static const char *const langs[LANG__MAX] = {
	[LANG_ZH_HANS] = "zh-Hans",
	[LANG_ZH_HANT] = "zh-Hant",
	[LANG_EN] = "en",
};

static int
find(const char *const *table, int n, const char *s)
{
	int i;

	if (s == NULL)
		return -1;
	for (i = 0; i < n; i++)
		if (table[i] != NULL && strcmp(table[i], s) == 0)
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
wf_state_name(enum wf_state s)
{
	return (unsigned)s < WF_STATE__MAX ? states[s] : "?";
}

int
wf_state_parse(const char *s)
{
	return find(states, WF_STATE__MAX, s);
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

const char *
lang_name(enum lang l)
{
	return (unsigned)l < LANG__MAX ? langs[l] : NULL;
}

int
lang_parse(const char *s)
{
	return find(langs, LANG__MAX, s);
}
