/* hook.c: the notifiers as the service uses them: configuration from struct config, the
 * notification hook called by the core inside each submission's and action's transaction, and
 * the threads of `civicdesk serve` on the application's clock and calendar. */
#include <string.h>

#include "notifiers_int.h"
#include "service/core/core.h"

void
notify_config_from_app(const struct app *app, struct notify_config *out)
{
	const struct config *cfg = &app->cfg;

	notify_config_defaults(out);
	out->smtp_url = cfg->smtp_url;
	out->smtp_from = cfg->smtp_from;
	out->smtp_starttls = cfg->smtp_starttls;
	out->sms_url = cfg->sms_url;
	out->sms_quiet = cfg->sms_quiet;
	out->scan_interval = cfg->scan_interval;
	out->backoff_min = cfg->notify_backoff_min;
	out->backoff_max = cfg->notify_backoff_max;
	out->give_up = cfg->notify_give_up;
	out->poll_ms = cfg->notify_poll_ms;
	out->sms_timeout = cfg->sms_timeout_ms;
	out->sms_connect_timeout = cfg->sms_connect_timeout_ms;
	out->digest = cfg->digest;
}

/* Which citizen notice a workflow action makes (-1: none). */
static const int by_action[WF_ACTION__MAX] = {
	[WF_ASSIGN] = -1,
	[WF_ACCEPT] = -1,
	[WF_FORWARD] = -1,
	[WF_ASK_CITIZEN] = NOTIFY_EV_INFO,
	[WF_CITIZEN_ANSWER] = -1,
	[WF_REQUEST_EXTENSION] = -1,
	[WF_APPROVE_EXTENSION] = NOTIFY_EV_EXTENSION,
	[WF_REFUSE_EXTENSION] = -1,
	[WF_SEND_EXPLANATION] = NOTIFY_EV_EXPLAINED,
	[WF_DRAFT] = -1,
	[WF_SUBMIT_REVIEW] = -1,
	[WF_APPROVE] = -1,
	[WF_RETURN] = -1,
	[WF_SEND_REPLY] = NOTIFY_EV_REPLIED,
	[WF_CLOSE] = -1,
	[WF_REJECT] = NOTIFY_EV_REJECTED,
	[WF_MERGE] = NOTIFY_EV_MERGED,
	[WF_SEND_BACK] = -1,
};

int
notify_on_event(void *cls, struct db_conn *c, const struct core_event *ev)
{
	struct app *app = cls;
	struct notify_config cfg;
	struct sla_calendar *cal;
	const char *note = ev->note;
	int kind, rc;

	if (ev->kind == CORE_EV_SUBMITTED)
		kind = NOTIFY_EV_RECEIVED;
	else if (ev->action >= 0 && ev->action < WF_ACTION__MAX)
		kind = by_action[ev->action];
	else
		kind = -1;
	if (kind < 0)
		return 0;
	/* the reply and the rejection reason are what the citizen waits for: quote them */
	if (kind == NOTIFY_EV_REPLIED && ev->item->reply != NULL)
		note = ev->item->reply;
	else if (kind == NOTIFY_EV_REJECTED && ev->item->reason != NULL)
		note = ev->item->reason;
	notify_config_from_app(app, &cfg);
	cal = app_calendar(app);
	rc = notify_citizen(c, &cfg, cal, (enum notify_event)kind, ev->item, note, ev->at);
	sla_calendar_unref(cal);
	if (rc != 0)
		notify_log("cannot queue the notice of %s: %s", ev->item->tracking, db_errmsg(c));
	return rc;
}

void
notify_attach(struct app *app)
{
	app->notify.cls = app;
	app->notify.on_event = notify_on_event;
}

static int64_t
env_now(void *cls)
{
	return app_now(cls);
}

static struct sla_calendar *
env_calendar(void *cls)
{
	return app_calendar(cls);
}

int
notify_start_app(struct app *app, struct notifier **out, char *err, size_t errsize)
{
	struct notify_config cfg;
	struct notify_env env = {app, env_now, env_calendar};

	notify_config_from_app(app, &cfg);
	return notify_start(&cfg, app->db, &env, out, err, errsize);
}
