/* test_pages_catalogue.c: every name the pages translate from core (states, actions, kinds,
 * roles, clocks) has its message in each of the three built-in catalogues. */
#include <stdio.h>
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
	web_free(w);
	return t_done(&t);
}
