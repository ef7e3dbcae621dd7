/* notify.c: the call into the notifiers' hook, from inside the transaction of a change. */
#include "core_int.h"

int
core_notify_event(struct app *app, struct db_conn *c, const struct core_event *ev)
{
	if (app->notify.on_event == NULL)
		return 0;
	return app->notify.on_event(app->notify.cls, c, ev);
}

int
core_notify_batch(struct app *app, struct db_conn *c, const struct core_event *ev, size_t n)
{
	if (n == 0)
		return 0;
	if (app->notify.on_batch != NULL)
		return app->notify.on_batch(app->notify.cls, c, ev, n);
	for (size_t i = 0; i < n; i++) /* not gathered without on_batch; fail safe */
		if (core_notify_event(app, c, &ev[i]) != 0)
			return -1;
	return 0;
}
