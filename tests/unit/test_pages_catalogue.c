/* test_pages_catalogue.c: every name the pages translate from core (states, actions, kinds,
 * roles, clocks, ratings, account statuses, policy keys) and every message key the page
 * handlers name in their C source has its message in each of the three built-in catalogues
 * (web_check covers the templates' {{@key}}). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service/core/core.h"
#include "web/web.h"
#include "tests/check.h"

static struct web *w;

static void
want(struct t *t, const char *prefix, const char *name)
{
	char key[128];
	int l;

	snprintf(key, sizeof(key), "%s%s", prefix, name);
	for (l = 0; l < WEB_LANG__MAX; l++)
		if (web_msg(w, (enum web_lang)l, key) == NULL) {
			printf("# %s lacks %s\n", web_lang_tag((enum web_lang)l), key);
			t->failures++;
		}
}

static void
test_states(struct t *t)
{
	int s;

	for (s = 0; s < WF_STATE__MAX; s++) {
		want(t, "state.", wf_state_name((enum wf_state)s));
		want(t, "sstate.", wf_state_name((enum wf_state)s));
		want(t, "statetext.", wf_state_name((enum wf_state)s));
	}
}

static void
test_actions(struct t *t)
{
	int a;

	for (a = 0; a < WF_ACTION__MAX; a++)
		want(t, "action.", wf_transition((enum wf_action)a)->name);
	want(t, "action.", "submit");
	want(t, "action.", "publish");
	want(t, "action.", "unpublish");
	want(t, "action.", "edit_public");
	/* the history's actors without an account (the item page names them) */
	want(t, "actor.", "citizen");
	want(t, "actor.", "system");
}

static void
test_names(struct t *t)
{
	int i;

	for (i = 0; i < KIND__MAX; i++)
		want(t, "kind.", kind_name((enum kind)i));
	for (i = 0; i < ROLE__MAX; i++)
		want(t, "role.", role_name((enum role)i));
	for (i = 0; i < CLOCK__MAX; i++)
		want(t, "clock.", clock_label((enum clock_name)i));
	for (i = 0; i < CHANNEL__MAX; i++)
		want(t, "channel.", channel_name((enum channel)i));
}

/* The names the pages translate that core writes outside its tables: ratings, account
 * statuses, the history rows of citizens' and supervisors' actions, the admin page's ?done=. */
static void
test_more_names(struct t *t)
{
	static const char *const ratings[] = { "satisfied", "basically_satisfied", "unsatisfied" };
	static const char *const statuses[] = { "active", "suspended", "revoked" };
	static const char *const history[] = { "rate", "withdraw", "withdraw_consent",
		                               "citizen_mail", "supervise", "reopen", "merged_in" };
	static const char *const done[] = { "account_changed", "account_unlocked",
		                            "section_added", "section_changed", "policy_changed",
		                            "outbox_retried" };
	/* the admin page's failed notices: the kinds of step the notifiers write and the channels
	 * (service/pages/admin.c outbox_kinds, '-' as '_') */
	static const char *const steps[] = { "remind", "overdue", "escalate", "ack", "info",
		"extension", "explained", "replied", "rejected", "merged", "merged_replied",
		"reopened", "coverage", "digest", "followup", "supervised", "supervision_due",
		"sent_back", "other" };
	static const char *const channels[] = { "email", "sms" };
	size_t i;
	int k;

	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		want(t, "ostep.", steps[i]);
	for (i = 0; i < sizeof(channels) / sizeof(channels[0]); i++)
		want(t, "ochannel.", channels[i]);
	for (i = 0; i < sizeof(ratings) / sizeof(ratings[0]); i++)
		want(t, "rating.", ratings[i]);
	for (i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++)
		want(t, "astatus.", statuses[i]);
	for (i = 0; i < sizeof(history) / sizeof(history[0]); i++)
		want(t, "action.", history[i]);
	for (i = 0; i < sizeof(done) / sizeof(done[0]); i++)
		want(t, "admin.done_", done[i]);
	for (k = 0; k < POLICY_KEY__MAX; k++)
		want(t, "policy.", policy_key_name((enum policy_key)k));
}

/* 1 if s[0..n) looks like a catalogue key whose first part is one the catalogue uses:
 * "track.rate_done", not "pages_int.h" or "text/csv". */
static int
key_like(const char *s, size_t n)
{
	char first[32];
	size_t i, dot = 0;

	for (i = 0; i < n; i++) {
		char c = s[i];

		if (c == '.' && dot == 0)
			dot = i;
		else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.'))
			return 0;
	}
	if (dot == 0 || dot >= sizeof(first) || dot + 1 >= n || s[n - 1] == '.' || s[n - 1] == '_')
		return 0;
	memcpy(first, s, dot);
	first[dot] = '\0';
	for (i = 0; i < dot; i++)
		if (first[i] == '_')
			return 0;
	/* a prefix the catalogue has: some key starts with "first." */
	{
		static const char *const prefixes[] = { "site", "nav", "foot", "form", "home", "kind",
			"submit", "done", "track", "board", "clock", "state", "sstate", "statetext",
			"action", "left", "role", "staff", "login", "password", "queue", "item", "err",
			"explain", "dash", "admin", "rating", "astatus", "policy", "ostep", "ochannel" };

		for (i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
			if (strcmp(first, prefixes[i]) == 0)
				return 1;
	}
	return 0;
}

/* Every string literal of the .c files of service/pages that is a message key exists in all
 * three catalogues. */
static void
test_source_keys(struct t *t)
{
	DIR *d = opendir("service/pages");
	struct dirent *de;
	size_t found = 0;

	if (d == NULL) {
		printf("# service/pages cannot be read (run from the source tree)\n");
		t->failures++;
		return;
	}
	while ((de = readdir(d)) != NULL) {
		char path[512], *text, *p, *q;
		size_t n = strlen(de->d_name);
		FILE *f;
		long len;

		if (n < 3 || strcmp(de->d_name + n - 2, ".c") != 0)
			continue;
		snprintf(path, sizeof(path), "service/pages/%s", de->d_name);
		f = fopen(path, "rb");
		if (f == NULL)
			continue;
		fseek(f, 0, SEEK_END);
		len = ftell(f);
		fseek(f, 0, SEEK_SET);
		text = calloc(1, (size_t)len + 1);
		if (text == NULL || fread(text, 1, (size_t)len, f) != (size_t)len) {
			free(text);
			fclose(f);
			t->failures++;
			continue;
		}
		fclose(f);
		for (p = strchr(text, '"'); p != NULL; p = q ? strchr(q + 1, '"') : NULL) {
			q = strchr(p + 1, '"');
			if (q == NULL)
				break;
			if (key_like(p + 1, (size_t)(q - p - 1))) {
				char key[128];

				snprintf(key, sizeof(key), "%.*s", (int)(q - p - 1), p + 1);
				want(t, "", key);
				found++;
			}
		}
		free(text);
	}
	closedir(d);
	if (found < 50) {
		printf("# only %zu message keys found in service/pages\n", found);
		t->failures++;
	}
}

int
main(void)
{
	struct t t = { 0, 0, 0 };
	char err[256];

	w = web_new(NULL, err, sizeof(err));
	if (w == NULL) {
		printf("# %s\nnot ok 1 - web_new\n", err);
		return 1;
	}
	RUN(&t, test_states);
	RUN(&t, test_actions);
	RUN(&t, test_names);
	RUN(&t, test_more_names);
	RUN(&t, test_source_keys);
	web_free(w);
	return t_done(&t);
}
