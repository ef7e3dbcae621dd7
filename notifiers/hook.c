/* hook.c: the notifiers as the service uses them: configuration from struct config, the
 * notification hook called by the core inside each submission's and action's transaction, and
 * the threads of `civicdesk serve` on the application's clock and calendar. */
#include <stdio.h>
#include <stdlib.h>
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
	out->smtp_user = cfg->smtp_user;
	out->smtp_password = cfg->smtp_password;
	out->sms_method = cfg->sms_method;
	out->sms_headers = cfg->sms_headers;
	out->sms_format = cfg->sms_format;
	out->sms_body = cfg->sms_body;
	out->sms_success = cfg->sms_success;
	out->sms_segment_chars = cfg->sms_segment_chars;
	out->sms_max_segments = cfg->sms_max_segments;
	out->sms_citizens = cfg->sms_citizens != 0;
	out->public_url = cfg->public_url;
	out->listen = cfg->listen;
	out->combine_max = cfg->notify_combine_max;
	out->smtp_timeout = cfg->smtp_timeout;
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

/* The reply of the item merged's target, sent (core's send_reply event on each item merged
 * into it, before or after the reply): one notice to merged's citizen saying which item was
 * answered, with its reply. 0 or -1. */
static int
merged_replied(struct db_conn *c, const struct notify_config *cfg,
               const struct sla_calendar *cal, const struct db_item *merged, int64_t at)
{
	char note[8192], *stored;
	struct db_item target;
	int r = db_item_get_id(c, merged->merged_into, &target);

	if (r <= 0)
		return r;
	/* the reply as core gave it to merged: the target's row may not hold it yet (its own
	 * send_reply is stored in the same transaction) */
	stored = target.reply;
	if (merged->reply != NULL)
		target.reply = merged->reply;
	notify_merged_note(merged, &target, note, sizeof(note));
	target.reply = stored;
	r = notify_citizen(c, cfg, cal, NOTIFY_EV_MERGED_REPLIED, merged, note, at);
	db_item_free(&target);
	return r;
}

/* An unsatisfied rating: the follow-up notice to the section heads, with the comment. */
static int
rated(struct db_conn *c, const struct notify_config *cfg, const struct sla_calendar *cal,
      const struct core_event *ev)
{
	struct db_rating r;
	int rc;

	if (ev->note == NULL || strcmp(ev->note, "unsatisfied") != 0)
		return 0;
	memset(&r, 0, sizeof(r));
	rc = db_rating_last(c, ev->item->id, &r);
	if (rc < 0)
		return -1;
	rc = notify_followup(c, cfg, cal, ev->item, rc > 0 ? r.comment : NULL, ev->at);
	db_rating_free(&r);
	return rc;
}

/* A polled message too large to be received: the notice to its sender. */
static int
too_large(struct app *app, struct db_conn *c, const struct core_event *ev)
{
	struct notify_config cfg;
	struct notify_too_large t;
	struct sla_calendar *cal;
	int rc;

	memset(&t, 0, sizeof(t));
	t.to = ev->to;
	t.key = ev->key;
	t.subject = ev->note;
	t.size = ev->size;
	t.limit = ev->limit;
	t.files = INTAKE_MAX_ATTACHMENTS;
	t.file_max = app->cfg.attachment_max < INTAKE_ATTACHMENT_MAX ? app->cfg.attachment_max
	                                                             : INTAKE_ATTACHMENT_MAX;
	t.item_max = app->cfg.attachment_item_max;
	notify_config_from_app(app, &cfg);
	cal = app_calendar(app);
	rc = notify_mail_too_large(c, &cfg, cal, &t, ev->at);
	sla_calendar_unref(cal);
	if (rc != 0)
		notify_log("cannot queue the notice of a message too large: %s", db_errmsg(c));
	return rc;
}

/* A supervisor appointed (or given an address): today's escalations reach them too. */
static int
supervisor_ready(struct app *app, struct db_conn *c, const struct core_event *ev)
{
	struct sla_calendar *cal = app_calendar(app);
	int rc = notify_supervisor_ready(c, cal, ev->at);

	sla_calendar_unref(cal);
	if (rc != 0)
		notify_log("cannot bring today's escalations to %s: %s", ev->to, db_errmsg(c));
	return rc;
}

int
notify_on_event(void *cls, struct db_conn *c, const struct core_event *ev)
{
	struct app *app = cls;
	struct notify_config cfg;
	struct sla_calendar *cal;
	const char *note = ev->note;
	int kind = -1, rc = 0;

	if (ev->kind == CORE_EV_MAIL_TOO_LARGE) /* no item: its sender alone */
		return too_large(app, c, ev);
	if (ev->kind == CORE_EV_SUPERVISOR_READY) /* no item: today's escalations */
		return supervisor_ready(app, c, ev);
	if (ev->kind == CORE_EV_SUBMITTED)
		kind = NOTIFY_EV_RECEIVED;
	else if (ev->kind == CORE_EV_ACTION && ev->action >= 0 && ev->action < WF_ACTION__MAX)
		kind = by_action[ev->action];
	else if (ev->kind == CORE_EV_REOPENED)
		kind = NOTIFY_EV_REOPENED;
	else if (ev->kind != CORE_EV_RATED && ev->kind != CORE_EV_SUPERVISED &&
	         ev->kind != CORE_EV_CITIZEN_MAIL)
		return 0;
	/* the reply and the rejection reason are what the citizen waits for: quote them */
	if (kind == NOTIFY_EV_REPLIED && ev->item->reply != NULL)
		note = ev->item->reply;
	else if (kind == NOTIFY_EV_REJECTED && ev->item->reason != NULL)
		note = ev->item->reason;
	notify_config_from_app(app, &cfg);
	cal = app_calendar(app);
	/* an item merged into one whose reply was sent: that reply, said as such, once */
	if (kind == NOTIFY_EV_REPLIED && ev->item->state == WF_MERGED &&
	    ev->item->merged_into != 0)
		rc = merged_replied(c, &cfg, cal, ev->item, ev->at);
	else if (kind == NOTIFY_EV_RECEIVED && ev->query_code != NULL)
		rc = notify_citizen_received_mail(c, &cfg, cal, ev->item, note, ev->query_code,
		                                  ev->to, ev->ack_at, ev->at);
	else if (kind >= 0)
		rc = notify_citizen(c, &cfg, cal, (enum notify_event)kind, ev->item, note, ev->at);
	if (rc == 0 && ev->kind == CORE_EV_RATED)
		rc = rated(c, &cfg, cal, ev);
	if (rc == 0 && ev->kind == CORE_EV_SUPERVISED)
		rc = notify_supervised(c, &cfg, cal, ev->item, ev->at);
	if (rc == 0 && ev->kind == CORE_EV_CITIZEN_MAIL)
		rc = notify_citizen_wrote(c, &cfg, cal, ev->item, ev->from_state, ev->note, ev->at);
	if (rc == 0 && ev->kind == CORE_EV_CITIZEN_MAIL)
		rc = notify_citizen_ended_mail(c, &cfg, cal, ev->item, ev->at);
	if (rc == 0 && ev->kind == CORE_EV_ACTION && ev->action == WF_SEND_BACK)
		rc = notify_sent_back(c, &cfg, cal, ev->item, ev->note, ev->at);
	sla_calendar_unref(cal);
	if (rc != 0)
		notify_log("cannot queue the notice of %s: %s", ev->item->tracking, db_errmsg(c));
	return rc;
}

int
notify_on_batch(void *cls, struct db_conn *c, const struct core_event *ev, size_t n)
{
	struct app *app = cls;
	struct notify_config cfg;
	struct sla_calendar *cal;
	struct notify_bare *b = calloc(2 * n, sizeof(*b));
	struct db_notice *v = calloc(2 * n, sizeof(*v));
	size_t i, k = 0, added;
	int rc = -1, r;

	if (b == NULL || v == NULL)
		goto out;
	notify_config_from_app(app, &cfg);
	cal = app_calendar(app);
	for (i = 0; i < n; i++) {
		/* only the submissions' acknowledgements, queued without their text: anything else
		 * fails the batch, which is then stored one submission at a time (on_event) */
		r = ev[i].kind == CORE_EV_SUBMITTED ?
		        notify_citizen_bare(&cfg, cal, NOTIFY_EV_RECEIVED, ev[i].item, ev[i].at, &b[k]) :
		        -1;
		if (r < 0)
			break;
		k += (size_t)r;
	}
	sla_calendar_unref(cal);
	if (i < n)
		goto out;
	for (i = 0; i < k; i++)
		v[i] = b[i].n;
	rc = db_outbox_add_bare(c, v, k, &added);
	if (rc != 0)
		notify_log("cannot queue the acknowledgements of %zu submissions: %s", n, db_errmsg(c));
out:
	free(v);
	free(b);
	return rc;
}

void
notify_attach(struct app *app)
{
	app->notify.cls = app;
	app->notify.on_event = notify_on_event;
	app->notify.on_batch = notify_on_batch;
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
