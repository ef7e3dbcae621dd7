/*
 * read.c: who may read what. Staff read an item or one of its files through core_item_read and
 * core_attachment_read: handlers and section heads their own section's items only; dispatchers,
 * supervisors and admins all; every read is audited (who, what). The public (the board,
 * Open311) sees an item through core_public_view: one rule for every public answer.
 */
#include <stdio.h>
#include <string.h>

#include "core_int.h"

/* The audit row of a read, on a connection of its own: the reader's connection holds a read
 * snapshot, in which nothing may be written. 0 or -1. */
static int
audit_read(struct app *app, int64_t now, const struct actor *who, const char *action,
           const char *target, int ok, const char *detail)
{
	struct db_conn *c = db_acquire(app->db);
	int rc;

	if (c == NULL)
		return -1;
	rc = audit_write(c, now, who, action, target, ok, detail);
	db_release(app->db, c);
	return rc;
}

/* 1 if s may read item (its role, its section). */
static int
may_read(const struct session *s, const struct db_item *item)
{
	if (s->role != ROLE_HANDLER && s->role != ROLE_SECTION_HEAD)
		return 1;
	return item->section_id != 0 && item->section_id == s->section_id;
}

int
core_item_read(struct app *app, struct db_conn *c, const struct session *s, const char *addr,
               const char *tracking, int64_t now, struct db_item *out, struct core_error *err)
{
	struct actor who = {s->account_id, s->username, addr};
	struct db_item item;
	int rc = db_item_get(c, tracking, &item);

	if (rc < 0)
		return core_fail(err, CORE_ERROR, NULL, "the item cannot be read");
	if (rc == 0)
		return core_fail(err, CORE_NOT_FOUND, NULL, "no item %s", tracking);
	if (!may_read(s, &item)) {
		audit_read(app, now, &who, "read_item", item.tracking, 0, "another section's item");
		db_item_free(&item);
		return core_fail(err, CORE_FORBIDDEN, NULL, "item %s belongs to another section",
		                 tracking);
	}
	if (audit_read(app, now, &who, "read_item", item.tracking, 1, NULL) != 0) {
		db_item_free(&item);
		return core_fail(err, CORE_BUSY, NULL, "the read cannot be audited; try again");
	}
	*out = item;
	return 0;
}

int
core_attachment_read(struct app *app, struct db_conn *c, const struct session *s,
                     const char *addr, const char *tracking, int64_t id, int64_t now,
                     struct db_attachment *out, struct core_error *err)
{
	struct actor who = {s->account_id, s->username, addr};
	struct db_item item;
	char detail[64];
	int rc = db_item_get(c, tracking, &item);

	if (rc < 0)
		return core_fail(err, CORE_ERROR, NULL, "the item cannot be read");
	if (rc == 0)
		return core_fail(err, CORE_NOT_FOUND, NULL, "no item %s", tracking);
	snprintf(detail, sizeof(detail), "attachment %lld", (long long)id);
	if (!may_read(s, &item)) {
		audit_read(app, now, &who, "read_attachment", item.tracking, 0, detail);
		db_item_free(&item);
		return core_fail(err, CORE_FORBIDDEN, NULL, "item %s belongs to another section",
		                 tracking);
	}
	rc = db_attachment_get(c, item.id, id, out);
	if (rc <= 0) {
		db_item_free(&item);
		return rc == 0 ? core_fail(err, CORE_NOT_FOUND, NULL, "no such attachment")
		               : core_fail(err, CORE_ERROR, NULL, "the attachment cannot be read");
	}
	/* a file the virus scanner has not cleared is never served (scan.c) */
	{
		char state[16];

		rc = core_attachment_scan_state(c, id, state);
		if (rc != 0 && (rc < 0 || strcmp(state, "clean") != 0)) {
			db_attachment_free(out);
			db_item_free(&item);
			if (rc < 0)
				return core_fail(err, CORE_ERROR, NULL, "the attachment cannot be read");
			core_fail(err, CORE_CONFLICT, NULL,
			          strcmp(state, "pending") == 0
			              ? "the attachment is held until the virus scanner has checked it"
			              : "the virus scanner found something harmful in the attachment; "
			                "its content was removed");
			err->code_name = strcmp(state, "pending") == 0 ? "scan_pending" : "infected";
			err->state = -1;
			err->allowed = 0;
			return -1;
		}
	}
	if (audit_read(app, now, &who, "read_attachment", item.tracking, 1, detail) != 0) {
		db_attachment_free(out);
		db_item_free(&item);
		return core_fail(err, CORE_BUSY, NULL, "the read cannot be audited; try again");
	}
	db_item_free(&item);
	return 0;
}

enum public_view
core_public_view(const struct db_item *item)
{
	if (!item->publish)
		return PUBLIC_HIDDEN;
	if (item->published && item->replied_at != 0)
		return PUBLIC_FULL;
	return PUBLIC_STATUS;
}

int
core_queue_scope(const struct session *s, struct db_queue_filter *f, struct core_error *err)
{
	if (s->role != ROLE_HANDLER && s->role != ROLE_SECTION_HEAD)
		return 0;
	if (f->section_id != 0 && f->section_id != s->section_id)
		return core_fail(err, CORE_FORBIDDEN, "section",
		                 "handlers and section heads see their own section's items only");
	f->section_id = s->section_id != 0 ? s->section_id : -1; /* no section: nothing */
	return 0;
}

/* The key of (address, tracking number) in the pair table: both, separated by a space (neither
 * holds one), cut to the buffer. */
static void
pair_key(const char *addr, const char *tracking, char *buf, size_t size)
{
	snprintf(buf, size, "%s %s", addr ? addr : "", tracking ? tracking : "");
}

int
core_track_refused(struct app *app, const char *addr, const char *tracking, int64_t now,
                   int64_t *retry)
{
	char key[192];

	pair_key(addr, tracking, key, sizeof(key));
	return ratelimit_check(app->track_pair_limit, key, now, retry) ||
	       ratelimit_check(app->track_item_limit, tracking ? tracking : "", now, retry) ||
	       ratelimit_check(app->track_addr_limit, addr ? addr : "", now, retry);
}

void
core_track_failed(struct app *app, const char *addr, const char *tracking, int64_t now)
{
	char key[192];
	int64_t retry;

	pair_key(addr, tracking, key, sizeof(key));
	ratelimit_hit(app->track_pair_limit, key, now, &retry);
	ratelimit_hit(app->track_item_limit, tracking ? tracking : "", now, &retry);
	ratelimit_hit(app->track_addr_limit, addr ? addr : "", now, &retry);
}

int
core_supplement_overdue(struct app *app, int64_t waiting_since, int64_t now)
{
	struct sla_calendar *cal;
	sla_day limit;

	if (waiting_since == 0)
		return 0;
	cal = app_calendar(app);
	limit = sla_add_working_days(cal, sla_local_day(waiting_since),
	                             (int)app->cfg.supplement_days);
	sla_calendar_unref(cal);
	return sla_local_day(now) > limit;
}
