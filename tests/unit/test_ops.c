/* test_ops.c: the pieces of issue 19 that need no daemon: the screening list and its matching,
 * which roles need a second factor, and a scan against a clamd that is not there. */
#include <stdlib.h>
#include <string.h>

#include "service/core/core.h"
#include "tests/check.h"

static void
screening(struct t *t)
{
	char *list = NULL, err[256], buf[SCREEN_MATCHED_MAX];
	const char *texts[2] = {"有人在网上开 Casino", "私藏炸药"};
	const char *clean[2] = {"路灯坏了", NULL};

	CHECK_INT(t, screen_list_build("casino, re:炸(药|弹), # a comment", "", &list, err,
	                               sizeof(err)),
	          0);
	CHECK_INT(t, screen_match(list, texts, 2, buf, sizeof(buf)), 2);
	CHECK_STR(t, buf, "casino, re:炸(药|弹)");
	CHECK_INT(t, screen_match(list, clean, 2, buf, sizeof(buf)), 0);
	CHECK_STR(t, buf, "");
	free(list);
	list = NULL;
	/* an empty list matches nothing; a bad pattern or a missing file is refused */
	CHECK_INT(t, screen_list_build("", "", &list, err, sizeof(err)), 0);
	CHECK_INT(t, screen_match(list, texts, 2, buf, sizeof(buf)), 0);
	free(list);
	list = NULL;
	CHECK_INT(t, screen_list_build("re:([a", "", &list, err, sizeof(err)), -1);
	CHECK(t, strstr(err, "pattern") != NULL);
	CHECK_INT(t, screen_list_build("", "/nonexistent/words.txt", &list, err, sizeof(err)), -1);
	CHECK(t, list == NULL);
}

static void
second_factor_roles(struct t *t)
{
	struct app app;

	memset(&app, 0, sizeof(app));
	app.cfg.totp_roles = (char *)"admin, supervisor";
	CHECK_INT(t, totp_required(&app, ROLE_ADMIN), 1);
	CHECK_INT(t, totp_required(&app, ROLE_SUPERVISOR), 1);
	CHECK_INT(t, totp_required(&app, ROLE_HANDLER), 0);
	app.cfg.totp_roles = (char *)"";
	CHECK_INT(t, totp_required(&app, ROLE_ADMIN), 0);
	app.cfg.totp_roles = (char *)"section_head";
	CHECK_INT(t, totp_required(&app, ROLE_SECTION_HEAD), 1);
	CHECK_INT(t, totp_required(&app, ROLE_HANDLER), 0);
}

static void
scanner_away(struct t *t)
{
	char note[SCAN_NOTE_MAX];

	CHECK_INT(t, scan_data("/nonexistent/clamd.sock", 1000, "x", 1, note, sizeof(note)),
	          SCAN_UNAVAILABLE);
	CHECK(t, strstr(note, "clamd") != NULL);
	CHECK_INT(t, scan_data("127.0.0.1:1", 1000, "x", 1, note, sizeof(note)), SCAN_UNAVAILABLE);
	CHECK_INT(t, scan_data("no-port", 1000, "x", 1, note, sizeof(note)), SCAN_UNAVAILABLE);
}

int
main(void)
{
	struct t t = {0, 0, 0};

	RUN(&t, screening);
	RUN(&t, second_factor_roles);
	RUN(&t, scanner_away);
	return t_done(&t);
}
