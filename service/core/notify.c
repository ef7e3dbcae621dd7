/* notify.c: the call into the notifiers' hook, from inside the transaction of a change. */
#include "core_int.h"

int
core_notify_event(struct app *app, struct db_conn *c, const struct core_event *ev)
{
	if (app->notify.on_event == NULL)
		return 0;
	return app->notify.on_event(app->notify.cls, c, ev);
}
